//! Property test: random well-typed expressions over the expression
//! fixture's schema (`tests/expr/schema.flow`: fields of every type,
//! nullable ones, references, lists, aggregates, `fn` calls, event and old
//! values) give the same result on the reference evaluator, the VM, the
//! JIT and the `Compiled` interface with each backend: the same value, or
//! an error everywhere (the same message from the VM and the JIT), on a
//! row whose nullable fields are all null and on one where none is.
//!
//! Expressions are generated as source text by a typed generator and
//! checked with `Project::check_expression`, so the checker's conversions
//! are exercised too. 256 cases by default; more with
//! `PROPTEST_CASES=5000 cargo test --test backends_props`.

use crate::support::exprs;

use proptest::prelude::*;
use proptest::sample::select;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use std::collections::HashMap;

/// The types the generator makes expressions of.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum G {
    Int,
    Dec,
    Text,
    Bool,
    Date,
    DateTime,
    Dur,
    Stage,
    User,
}

const ALL: [G; 9] = [
    G::Int,
    G::Dec,
    G::Text,
    G::Bool,
    G::Date,
    G::DateTime,
    G::Dur,
    G::Stage,
    G::User,
];

/// Types `==` and `<` apply to, and `between` / `in`.
const ORDERED: [G; 7] = [
    G::Int,
    G::Dec,
    G::Text,
    G::Date,
    G::DateTime,
    G::Dur,
    G::Stage,
];

type S = BoxedStrategy<String>;

/// Expressions that need no smaller expression.
fn leaves(g: G) -> S {
    let words: &[&str] = match g {
        G::Int => &[
            "0",
            "1",
            "-1",
            "7",
            "42",
            "9223372036854775807",
            "(-9223372036854775807 - 1)",
            "t.i",
            "t.j",
            "t.ni",
            "old.i",
            "t.id",
            "t.owner.id",
            "t.nowner.id",
            "count(item for item.t == t)",
            "sum(item.price for item.t == t)",
            "count(item for item.qty is null)",
        ],
        G::Dec => &[
            "2.5",
            "0.1",
            "-3.0",
            "0.0",
            "1000000000000000000000.0",
            "t.d",
            "t.nd",
            "avg(item.price for item.t == t)",
            "avg(item.price for item.price < 0)",
            "sum(item.qty for true)",
            "discount(t)",
            "max(item.qty for true)",
        ],
        G::Text => &[
            "\"\"",
            "\"abc\"",
            "\"東京\"",
            "\" x \"",
            "\"a@b.jp\"",
            "t.s",
            "t.ns",
            "t.owner.name",
            "t.owner.email",
            "t.nowner.name",
            "lower(event.form)",
        ],
        G::Bool => &[
            "true",
            "false",
            "t.b",
            "t.nb",
            "(t in list vip)",
            "(t not in list other)",
            "(t in segment big)",
            "(t has tag \"hot\")",
            "(t has tag \"cold\")",
            "(t opened hello)",
            "(t clicked hello)",
            "(t.owner is unsubscribed)",
            "(t.nowner is not unsubscribed)",
            "(event.n > 2)",
            "(event.form == \"seminar\")",
            "(event.missing is null)",
            "(t.owner == t.owner)",
        ],
        G::Date => &[
            "2024-02-29",
            "1970-01-01",
            "2023-12-31",
            "t.day",
            "t.nday",
            "today",
            "(event.when + 0d)",
        ],
        G::DateTime => &["2024-03-31T09:00", "now", "t.at", "t.nat"],
        G::Dur => &["1d", "36h", "90m", "0s", "1w", "t.dur", "t.ndur"],
        G::Stage => &["t.st", "t.nst", "old.st"],
        G::User => &[
            "t.owner",
            "t.nowner",
            "user(email: \"kato@example.jp\")",
            "user(role: \"sales\")",
        ],
    };
    select(words.to_vec()).prop_map(str::to_string).boxed()
}

/// `f(a)` for `a` from `s`.
fn un(s: &S, f: fn(&str) -> String) -> S {
    s.clone().prop_map(move |a| f(&a)).boxed()
}

/// `f(a, b)`.
fn bin(a: &S, b: &S, f: fn(&str, &str) -> String) -> S {
    (a.clone(), b.clone())
        .prop_map(move |(a, b)| f(&a, &b))
        .boxed()
}

/// `f(a, b, c)`.
fn tri(a: &S, b: &S, c: &S, f: fn(&str, &str, &str) -> String) -> S {
    (a.clone(), b.clone(), c.clone())
        .prop_map(move |(a, b, c)| f(&a, &b, &c))
        .boxed()
}

/// Month literals: calendar months and years, negative ones too.
fn months() -> S {
    select(vec![
        "1mo", "4mo", "11mo", "1y", "1y6mo", "-1mo", "-2y", "0mo", "13mo",
    ])
    .prop_map(str::to_string)
    .boxed()
}

/// Durations of whole days (a date moves only by those), or read from a
/// field, whose value the checker cannot know.
fn whole_days(i: &S) -> S {
    let fixed = select(vec!["1d", "7d", "0d", "1w", "-3d", "t.dur", "t.ndur"])
        .prop_map(str::to_string)
        .boxed();
    proptest::strategy::Union::new(vec![fixed, un(i, |n| format!("(({n} % 400) * 1d)"))]).boxed()
}

/// Times of day for `DATE at "HH:MM"`.
fn times_of_day() -> S {
    select(vec![
        "\"00:00\"",
        "\"09:00\"",
        "\"10:30\"",
        "\"23:59\"",
        "\"12:00:30\"",
    ])
    .prop_map(str::to_string)
    .boxed()
}

/// Expressions of type `g` built from smaller ones (`p`).
fn composites(g: G, p: &HashMap<G, S>) -> Vec<S> {
    let at = |g: G| p[&g].clone();
    let (i, d, t, b) = (at(G::Int), at(G::Dec), at(G::Text), at(G::Bool));
    let (day, time, dur) = (at(G::Date), at(G::DateTime), at(G::Dur));
    let cond = |x: &S| tri(&b, x, x, |c, a, e| format!("(if {c} then {a} else {e})"));
    match g {
        G::Int => vec![
            bin(&i, &i, |a, b| format!("({a} + {b})")),
            bin(&i, &i, |a, b| format!("({a} - {b})")),
            bin(&i, &i, |a, b| format!("({a} * {b})")),
            bin(&i, &i, |a, b| format!("({a} % {b})")),
            un(&i, |a| format!("(-{a})")),
            bin(&i, &i, |a, b| format!("div({a}, {b})")),
            un(&i, |a| format!("abs({a})")),
            un(&t, |a| format!("length({a})")),
            un(&day, |a| format!("weekday({a})")),
            un(&day, |a| format!("year({a})")),
            un(&day, |a| format!("day({a})")),
            un(&dur, |a| format!("days({a})")),
            un(&dur, |a| format!("hours({a})")),
            un(&d, |a| format!("round({a})")),
            un(&d, |a| format!("floor({a})")),
            un(&d, |a| format!("ceil({a})")),
            bin(&day, &day, |a, b| format!("({a} - {b})")),
            un(&i, |a| format!("double({a})")),
            un(&i, |a| format!("safe({a})")),
            un(&i, |a| format!("nested({a})")),
            bin(&i, &i, |a, b| format!("coalesce({a}, {b})")),
            bin(&i, &i, |a, b| format!("min({a}, {b})")),
            bin(&i, &i, |a, b| format!("max({a}, {b})")),
            cond(&i),
            un(&i, |a| {
                format!("sum(item.price for item.t == t and item.price > {a})")
            }),
            un(&i, |a| format!("count(item for item.list_price >= {a})")),
            un(&i, |a| format!("sum((item.price * {a}) for true)")),
            un(&day, |a| format!("days_until({a})")),
        ],
        G::Dec => vec![
            bin(&d, &d, |a, b| format!("({a} + {b})")),
            bin(&d, &d, |a, b| format!("({a} - {b})")),
            bin(&d, &d, |a, b| format!("({a} * {b})")),
            bin(&d, &d, |a, b| format!("({a} / {b})")),
            bin(&i, &i, |a, b| format!("({a} / {b})")),
            bin(&d, &i, |a, b| format!("({a} + {b})")),
            bin(&i, &d, |a, b| format!("({a} * {b})")),
            un(&d, |a| format!("(-{a})")),
            un(&d, |a| format!("abs({a})")),
            bin(&d, &d, |a, b| format!("min({a}, {b})")),
            bin(&d, &d, |a, b| format!("coalesce({a}, {b})")),
            cond(&d),
            un(&d, |a| format!("avg((item.price * {a}) for item.t == t)")),
        ],
        G::Text => vec![
            bin(&t, &t, |a, b| format!("({a} + {b})")),
            un(&t, |a| format!("lower({a})")),
            un(&t, |a| format!("upper({a})")),
            un(&t, |a| format!("trim({a})")),
            bin(&t, &t, |a, b| format!("text_after({a}, {b})")),
            bin(&t, &t, |a, b| format!("text_before({a}, {b})")),
            un(&i, |a| format!("text({a})")),
            un(&d, |a| format!("text({a})")),
            un(&day, |a| format!("text({a})")),
            un(&dur, |a| format!("text({a})")),
            un(&time, |a| format!("text({a})")),
            un(&at(G::Stage), |a| format!("text({a})")),
            un(&b, |a| format!("text({a})")),
            un(&t, |a| format!("domain_of({a})")),
            bin(&t, &t, |a, b| format!("coalesce({a}, {b})")),
            bin(&t, &t, |a, b| format!("min({a}, {b})")),
            cond(&t),
            un(&at(G::User), |a| format!("{a}.name")),
        ],
        G::Bool => {
            let mut out = vec![
                bin(&b, &b, |a, b| format!("({a} and {b})")),
                bin(&b, &b, |a, b| format!("({a} or {b})")),
                un(&b, |a| format!("(not {a})")),
                bin(&t, &t, |a, b| format!("({a} contains {b})")),
                bin(&t, &t, |a, b| format!("({a} not contains {b})")),
                bin(&t, &t, |a, b| format!("({a} starts with {b})")),
                un(&t, |a| format!("is_blank({a})")),
                un(&t, |a| format!("is_free_mail({a})")),
                un(&day, |a| format!("is_weekday({a})")),
                bin(&i, &d, |a, b| format!("({a} < {b})")),
                bin(&d, &i, |a, b| format!("({a} == {b})")),
                tri(&i, &d, &i, |a, b, c| format!("({a} between {b} and {c})")),
                un(&at(G::Stage), |a| format!("({a} == \"受注\")")),
                un(&at(G::Stage), |a| format!("({a} in [\"受注\", \"失注\"])")),
                bin(&at(G::User), &at(G::User), |a, b| format!("({a} == {b})")),
                cond(&b),
            ];
            for g in ALL {
                out.push(un(&at(g), |a| format!("({a} is null)")));
                out.push(un(&at(g), |a| format!("({a} is not null)")));
            }
            for g in ORDERED {
                let x = at(g);
                out.push(bin(&x, &x, |a, b| format!("({a} == {b})")));
                out.push(bin(&x, &x, |a, b| format!("({a} != {b})")));
                out.push(bin(&x, &x, |a, b| format!("({a} < {b})")));
                out.push(bin(&x, &x, |a, b| format!("({a} >= {b})")));
                out.push(tri(&x, &x, &x, |a, b, c| {
                    format!("({a} between {b} and {c})")
                }));
                out.push(tri(&x, &x, &x, |a, b, c| {
                    format!("({a} not between {b} and {c})")
                }));
                out.push(tri(&x, &x, &x, |a, b, c| format!("({a} in [{b}, {c}])")));
                out.push(tri(&x, &x, &x, |a, b, c| {
                    format!("({a} not in [{b}, {c}, {a}])")
                }));
            }
            out
        }
        G::Date => vec![
            bin(&day, &whole_days(&i), |a, b| format!("({a} + {b})")),
            bin(&day, &whole_days(&i), |a, b| format!("({a} - {b})")),
            bin(&day, &months(), |a, b| format!("({a} + {b})")),
            bin(&day, &months(), |a, b| format!("({a} - {b})")),
            bin(&day, &i, |a, b| format!("add_months({a}, ({b} % 1000))")),
            un(&time, |a| format!("date({a})")),
            un(&day, |a| format!("start_of_month({a})")),
            un(&day, |a| format!("add_business_days({a}, 3)")),
            bin(&day, &i, |a, b| {
                format!("add_business_days({a}, ({b} % 30))")
            }),
            bin(&day, &day, |a, b| format!("max({a}, {b})")),
            bin(&day, &day, |a, b| format!("coalesce({a}, {b})")),
            cond(&day),
        ],
        G::DateTime => vec![
            bin(&time, &dur, |a, b| format!("({a} + {b})")),
            bin(&time, &dur, |a, b| format!("({a} - {b})")),
            bin(&time, &months(), |a, b| format!("({a} + {b})")),
            bin(&time, &months(), |a, b| format!("({a} - {b})")),
            bin(&time, &i, |a, b| format!("add_months({a}, ({b} % 1000))")),
            bin(&day, &times_of_day(), |a, b| format!("({a} at {b})")),
            cond(&time),
        ],
        G::Dur => vec![
            bin(&dur, &dur, |a, b| format!("({a} + {b})")),
            bin(&dur, &dur, |a, b| format!("({a} - {b})")),
            bin(&dur, &i, |a, b| format!("({a} * {b})")),
            bin(&time, &time, |a, b| format!("({a} - {b})")),
            un(&dur, |a| format!("(-{a})")),
            cond(&dur),
        ],
        G::Stage => vec![cond(&at(G::Stage))],
        G::User => vec![cond(&at(G::User)), un(&t, |a| format!("user(email: {a})"))],
    }
}

/// Expressions of each type, up to `depth` operators deep.
fn expressions(depth: usize) -> HashMap<G, S> {
    let mut level: HashMap<G, S> = ALL.iter().map(|g| (*g, leaves(*g))).collect();
    for _ in 0..depth {
        let next = ALL
            .iter()
            .map(|g| {
                let mut options: Vec<(u32, S)> = vec![(4, leaves(*g))];
                let built = composites(*g, &level);
                let weight = (12 / built.len().max(1)).max(1) as u32;
                options.extend(built.into_iter().map(|s| (weight, s)));
                (*g, proptest::strategy::Union::new_weighted(options).boxed())
            })
            .collect();
        level = next;
    }
    level
}

fn any_expression() -> S {
    let table = expressions(3);
    let all: Vec<S> = ALL.iter().map(|g| table[g].clone()).collect();
    proptest::strategy::Union::new(all).boxed()
}

/// Every backend agrees with the reference on `text`.
fn agree(fixture: &exprs::Fixture, text: &str, id: i64) -> Result<(), TestCaseError> {
    if fixture.typed(text).is_err() {
        return Err(TestCaseError::reject("does not type-check"));
    }
    let results = fixture
        .evaluate_all_on(text, id)
        .map_err(TestCaseError::fail)?;
    let (reference, rest) = results
        .split_first()
        .ok_or_else(|| TestCaseError::fail("no results"))?;
    let vm_error = results
        .iter()
        .find(|(name, _)| *name == "vm")
        .and_then(|(_, r)| r.as_ref().err());
    for (backend, result) in rest {
        let same = match (&reference.1, result) {
            (Ok(want), Ok(got)) => exprs::same(want, got),
            (Err(_), Err(got)) => vm_error.is_none_or(|vm| vm == got),
            _ => false,
        };
        prop_assert!(
            same,
            "`{}` on t#{}\nreference: {:?}\n{}: {:?}",
            text,
            id,
            reference.1,
            backend,
            result
        );
    }
    Ok(())
}

#[test]
fn backends_agree_on_random_expressions() {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(256);
    let config = Config {
        cases,
        failure_persistence: None,
        max_global_rejects: cases * 4,
        ..Config::default()
    };
    let fixture = exprs::Fixture::load();
    let mut runner = TestRunner::new(config);
    // Row 1 has every nullable field null, row 2 none.
    let cases = (any_expression(), 1..=2i64);
    let result = runner.run(&cases, |(text, id)| agree(&fixture, &text, id));
    if let Err(failure) = result {
        panic!("{failure}");
    }
}
