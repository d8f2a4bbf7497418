//! flowc against the expression evaluators users would otherwise embed:
//! zen-expression (GoRules), cel (formerly cel-interpreter), rhai and
//! evalexpr, on the twelve conditions of flowc's `benches/support/conditions.rs`,
//! next to a hand-written Rust closure (the floor) and flowc's VM and JIT.
//!
//! Every engine gets the same condition in its own syntax and the same
//! records, prepared once as a user embedding it would: the expression
//! compiled (parsed) once; per record, the context (zen scope, CEL
//! context, rhai scope, evalexpr context) built once, outside the timed
//! loop. Each iteration evaluates one condition on the next of 64 records.
//! Before timing, every engine's answer is checked against the closure's
//! on every record. flowc is measured through the engine's interface for
//! conditions (`Compiled::eval_condition`, one call per evaluation) and,
//! for sweeps, `Compiled::eval_conditions` over the 64 records, next to
//! the closure looping over them. Run (from this folder):
//!
//! ```text
//! cargo bench --bench peers | tee peers.txt && python3 table.py < peers.txt
//! ```
//!
//! Data as the peers see it: dates are day numbers and datetimes Unix
//! seconds (plain integers: the peers' cheapest representation), stages
//! their names, nullable fields null (evalexpr, which has neither null
//! nor short-circuit `&&`, gets a value and a `has_…` flag instead).

#[path = "../../../benches/support/conditions.rs"]
mod conditions;

use conditions::{BenchEnv, CLOCK, CONDITIONS, Deal, STAGES};
use divan::{Bencher, black_box};
use flowc::eval::{Backend, Compiled};
use flowc::value::{Row, Value};
use flowc::vm::{Frame, Machine};
use std::collections::HashMap;

fn main() {
    check_agreement();
    divan::main();
}

const NAMES: [&str; 12] = [
    "compare",
    "in_list",
    "between",
    "date_math",
    "and_chain",
    "or_chain",
    "contains",
    "nullable",
    "datetime_math",
    "arithmetic",
    "text_or",
    "weekday",
];

const RECORDS: usize = 64;

/// One condition in each peer's syntax.
struct Peer {
    zen: &'static str,
    cel: &'static str,
    rhai: &'static str,
    evalexpr: &'static str,
}

#[rustfmt::skip]
const PEERS: [Peer; 12] = [
    Peer { // compare
        zen: "deal.amount > 1000000",
        cel: "deal.amount > 1000000.0",
        rhai: "deal.amount > 1000000.0",
        evalexpr: "amount > 1000000.0",
    },
    Peer { // in_list
        zen: r#"deal.stage in ["提案", "交渉"]"#,
        cel: r#"deal.stage in ["提案", "交渉"]"#,
        rhai: r#"deal.stage in ["提案", "交渉"]"#,
        evalexpr: r#"contains(("提案", "交渉"), stage)"#,
    },
    Peer { // between
        zen: "deal.probability in [30..70]",
        cel: "deal.probability >= 30 && deal.probability <= 70",
        rhai: "deal.probability in 30..=70",
        evalexpr: "probability >= 30 && probability <= 70",
    },
    Peer { // date_math
        zen: "deal.close_date - today in [0..14]",
        cel: "deal.close_date - today >= 0 && deal.close_date - today <= 14",
        rhai: "(deal.close_date - today) in 0..=14",
        evalexpr: "close_date - today >= 0 && close_date - today <= 14",
    },
    Peer { // and_chain
        zen: r#"deal.amount >= 500000 and deal.probability >= 50 and deal.stage != "失注""#,
        cel: r#"deal.amount >= 500000.0 && deal.probability >= 50 && deal.stage != "失注""#,
        rhai: r#"deal.amount >= 500000.0 && deal.probability >= 50 && deal.stage != "失注""#,
        evalexpr: r#"amount >= 500000.0 && probability >= 50 && stage != "失注""#,
    },
    Peer { // or_chain
        zen: r#"deal.region == "関東" or deal.region == "関西" or (deal.employees != null and deal.employees > 1000)"#,
        cel: r#"deal.region == "関東" || deal.region == "関西" || (deal.employees != null && deal.employees > 1000)"#,
        rhai: r#"deal.region == "関東" || deal.region == "関西" || (deal.employees != () && deal.employees > 1000)"#,
        evalexpr: r#"region == "関東" || region == "関西" || (has_employees && employees > 1000)"#,
    },
    Peer { // contains
        zen: r#"contains(deal.name, "株式会社")"#,
        cel: r#"deal.name.contains("株式会社")"#,
        rhai: r#"deal.name.contains("株式会社")"#,
        evalexpr: r#"text_contains(name, "株式会社")"#,
    },
    Peer { // nullable
        zen: "deal.discount != null and deal.discount > 0.2",
        cel: "deal.discount != null && deal.discount > 0.2",
        rhai: "deal.discount != () && deal.discount > 0.2",
        evalexpr: "has_discount && discount > 0.2",
    },
    Peer { // datetime_math
        zen: "deal.created_at + 2592000 < now",
        cel: "deal.created_at + 2592000 < now",
        rhai: "deal.created_at + 2592000 < now",
        evalexpr: "created_at + 2592000 < now",
    },
    Peer { // arithmetic
        zen: "deal.amount * (1 - (deal.discount ?? 0)) > 800000",
        cel: "deal.amount * (1.0 - (deal.discount != null ? deal.discount : 0.0)) > 800000.0",
        rhai: "deal.amount * (1.0 - (deal.discount ?? 0.0)) > 800000.0",
        evalexpr: "amount * (1.0 - discount) > 800000.0",
    },
    Peer { // text_or
        zen: r#"contains(deal.email, "@gmail.com") or contains(deal.email, "@yahoo.co.jp")"#,
        cel: r#"deal.email.contains("@gmail.com") || deal.email.contains("@yahoo.co.jp")"#,
        rhai: r#"deal.email.contains("@gmail.com") || deal.email.contains("@yahoo.co.jp")"#,
        evalexpr: r#"text_contains(email, "@gmail.com") || text_contains(email, "@yahoo.co.jp")"#,
    },
    Peer { // weekday
        zen: "deal.close_date < today and (deal.close_date + 3) % 7 < 5",
        cel: "deal.close_date < today && (deal.close_date + 3) % 7 < 5",
        rhai: "deal.close_date < today && (deal.close_date + 3) % 7 < 5",
        evalexpr: "close_date < today && (close_date + 3) % 7 < 5",
    },
];

fn index(name: &str) -> usize {
    NAMES
        .iter()
        .position(|n| *n == name)
        .expect("a known condition")
}

fn deals() -> Vec<Deal> {
    conditions::deals(RECORDS)
}

// ---------------------------------------------------------------- flowc

struct Flowc {
    program: flowc::ir::Program,
    expr: flowc::ir::Expr,
    rows: Vec<Row>,
    env: BenchEnv,
}

fn flowc(name: &str) -> Flowc {
    let (program, expr) = conditions::typed(CONDITIONS[index(name)].flow);
    let rows = deals()
        .iter()
        .enumerate()
        .map(|(i, d)| conditions::row(i as i64 + 1, d))
        .collect();
    let env = BenchEnv {
        schema: program.schema.clone(),
        clock: CLOCK,
    };
    Flowc {
        program,
        expr,
        rows,
        env,
    }
}

// ---------------------------------------------------------------- zen

mod zen {
    use super::*;
    use zen_expression::expression::Standard;
    use zen_expression::scope::Scope;
    use zen_expression::variable::Variable;
    use zen_expression::vm::VM;
    use zen_expression::{Expression, compile_expression};

    pub fn compile(source: &str) -> Expression<Standard> {
        compile_expression(source).expect("zen compiles")
    }

    /// The record as a zen scope: `deal`, `today`, `now`.
    pub fn scope(d: &Deal) -> Scope {
        let json = serde_json::json!({
            "deal": {
                "name": d.name, "amount": d.amount, "stage": STAGES[d.stage as usize],
                "probability": d.probability, "close_date": d.close_date,
                "created_at": d.created_at, "region": d.region, "employees": d.employees,
                "discount": d.discount, "owner": d.owner, "email": d.email,
            },
            "today": CLOCK.today,
            "now": CLOCK.now,
        });
        Scope::new(Variable::from(json))
    }

    pub fn eval(e: &Expression<Standard>, scope: &Scope, vm: &mut VM) -> bool {
        matches!(e.evaluate_with_scope(scope, vm), Ok(Variable::Bool(true)))
    }
}

// ---------------------------------------------------------------- cel

mod cel_peer {
    use super::*;
    use cel::objects::Key;
    use cel::{Context, Program, Value as V};

    pub fn compile(source: &str) -> Program {
        Program::compile(source).expect("cel compiles")
    }

    /// The record as a CEL context: `deal` (a map), `today`, `now`.
    pub fn context(d: &Deal) -> Context<'static, 'static> {
        let mut deal: HashMap<Key, V> = HashMap::new();
        let mut put = |k: &str, v: V| {
            deal.insert(Key::from(k), v);
        };
        put("name", V::from(d.name.clone()));
        put("amount", V::Float(d.amount));
        put("stage", V::from(STAGES[d.stage as usize]));
        put("probability", V::Int(d.probability));
        put("close_date", V::Int(i64::from(d.close_date)));
        put("created_at", V::Int(d.created_at));
        put("region", V::from(d.region.clone()));
        put("employees", d.employees.map_or(V::Null, V::Int));
        put("discount", d.discount.map_or(V::Null, V::Float));
        put("owner", V::Int(d.owner));
        put("email", V::from(d.email.clone()));
        let mut ctx = Context::default();
        ctx.add_variable_from_value("deal", V::Map(deal.into()));
        ctx.add_variable_from_value("today", V::Int(i64::from(CLOCK.today)));
        ctx.add_variable_from_value("now", V::Int(CLOCK.now));
        ctx
    }

    pub fn eval(p: &Program, ctx: &Context) -> bool {
        matches!(p.execute(ctx), Ok(V::Bool(true)))
    }
}

// ---------------------------------------------------------------- rhai

mod rhai_peer {
    use super::*;
    use rhai::{AST, Dynamic, Engine, Map, Scope};

    pub fn engine() -> Engine {
        Engine::new()
    }

    pub fn compile(engine: &Engine, source: &str) -> AST {
        engine.compile_expression(source).expect("rhai compiles")
    }

    /// The record as a rhai scope: `deal` (an object map), `today`, `now`.
    pub fn scope(d: &Deal) -> Scope<'static> {
        let mut deal = Map::new();
        let mut put = |k: &str, v: Dynamic| {
            deal.insert(k.into(), v);
        };
        put("name", d.name.clone().into());
        put("amount", d.amount.into());
        put("stage", STAGES[d.stage as usize].into());
        put("probability", d.probability.into());
        put("close_date", i64::from(d.close_date).into());
        put("created_at", d.created_at.into());
        put("region", d.region.clone().into());
        put(
            "employees",
            d.employees.map_or(Dynamic::UNIT, Dynamic::from),
        );
        put("discount", d.discount.map_or(Dynamic::UNIT, Dynamic::from));
        put("owner", d.owner.into());
        put("email", d.email.clone().into());
        let mut scope = Scope::new();
        scope.push("deal", deal);
        scope.push("today", i64::from(CLOCK.today));
        scope.push("now", CLOCK.now);
        scope
    }

    pub fn eval(engine: &Engine, ast: &AST, scope: &mut Scope) -> bool {
        engine
            .eval_ast_with_scope::<bool>(scope, ast)
            .unwrap_or(false)
    }
}

// ---------------------------------------------------------------- evalexpr

mod evalexpr_peer {
    use super::*;
    use evalexpr::{
        ContextWithMutableFunctions, ContextWithMutableVariables, DefaultNumericTypes, Function,
        HashMapContext, Node, Value as V, build_operator_tree,
    };

    pub fn compile(source: &str) -> Node<DefaultNumericTypes> {
        build_operator_tree(source).expect("evalexpr compiles")
    }

    /// The record as an evalexpr context: one variable per field (no maps),
    /// nullable fields as a value and a `has_…` flag, and the substring
    /// test evalexpr lacks as a function.
    pub fn context(d: &Deal) -> HashMapContext<DefaultNumericTypes> {
        let mut ctx = HashMapContext::new();
        let mut set = |k: &str, v: V| {
            ctx.set_value(k.into(), v).expect("a value");
        };
        set("name", V::from(d.name.as_str()));
        set("amount", V::Float(d.amount));
        set("stage", V::from(STAGES[d.stage as usize]));
        set("probability", V::Int(d.probability));
        set("close_date", V::Int(i64::from(d.close_date)));
        set("created_at", V::Int(d.created_at));
        set("region", V::from(d.region.as_str()));
        set("has_employees", V::Boolean(d.employees.is_some()));
        set("employees", V::Int(d.employees.unwrap_or(0)));
        set("has_discount", V::Boolean(d.discount.is_some()));
        set("discount", V::Float(d.discount.unwrap_or(0.0)));
        set("owner", V::Int(d.owner));
        set("email", V::from(d.email.as_str()));
        set("today", V::Int(i64::from(CLOCK.today)));
        set("now", V::Int(CLOCK.now));
        ctx.set_function(
            "text_contains".into(),
            Function::new(|arg| {
                let args = arg.as_fixed_len_tuple(2)?;
                Ok(V::Boolean(
                    args[0].as_string()?.contains(&args[1].as_string()?),
                ))
            }),
        )
        .expect("a function");
        ctx
    }

    pub fn eval(
        node: &Node<DefaultNumericTypes>,
        ctx: &HashMapContext<DefaultNumericTypes>,
    ) -> bool {
        node.eval_boolean_with_context(ctx).unwrap_or(false)
    }
}

// ---------------------------------------------------------------- agreement

/// Every engine answers what the closure answers, on every record.
fn check_agreement() {
    let deals = deals();
    let rhai_engine = rhai_peer::engine();
    for (c, peer) in CONDITIONS.iter().zip(&PEERS) {
        let mut f = flowc(c.name);
        let code = flowc::vm::compile(&f.program.functions, &f.expr, Frame::RULE).expect("vm");
        let jit = flowc::jit::compile(&f.program.functions, &f.expr, Frame::RULE).expect("jit");
        let zen = zen::compile(peer.zen);
        let cel = cel_peer::compile(peer.cel);
        let rhai = rhai_peer::compile(&rhai_engine, peer.rhai);
        let evalexpr = evalexpr_peer::compile(peer.evalexpr);
        let mut machine = Machine::new();
        let mut vm = zen_expression::vm::VM::new();
        for (d, row) in deals.iter().zip(&f.rows) {
            let want = (c.native)(d, &CLOCK);
            let got = [
                (
                    "vm",
                    code.eval(&mut machine, Some(row), &mut f.env) == Ok(Value::Bool(true)),
                ),
                (
                    "jit",
                    jit.eval(&[], Some(row), &mut f.env)
                        == flowc::jit::Outcome::Done(Ok(Value::Bool(true))),
                ),
                ("zen", zen::eval(&zen, &zen::scope(d), &mut vm)),
                ("cel", cel_peer::eval(&cel, &cel_peer::context(d))),
                (
                    "rhai",
                    rhai_peer::eval(&rhai_engine, &rhai, &mut rhai_peer::scope(d)),
                ),
                (
                    "evalexpr",
                    evalexpr_peer::eval(&evalexpr, &evalexpr_peer::context(d)),
                ),
            ];
            for (engine, answer) in got {
                assert_eq!(answer, want, "{engine} on `{}` for {d:?}", c.name);
            }
        }
    }
}

// ---------------------------------------------------------------- evaluation

#[divan::bench(args = NAMES)]
fn closure(bencher: Bencher, name: &str) {
    let c = &CONDITIONS[index(name)];
    let deals = deals();
    let mut i = 0;
    bencher.bench_local(|| {
        i = (i + 1) % RECORDS;
        (c.native)(black_box(&deals[i]), black_box(&CLOCK))
    });
}

/// flowc through the engine's interface for a condition, one call per
/// evaluation (native code compiled before timing).
fn flowc_call(bencher: Bencher, name: &str, backend: Backend) {
    let mut f = flowc(name);
    let functions = f.program.functions.clone().into();
    let code = Compiled::new(functions, &f.expr, Frame::RULE, backend).expect("compiles");
    let mut machine = Machine::new();
    let _ = code.eval_condition(&mut machine, Some(&f.rows[0]), &mut f.env);
    let mut i = 0;
    bencher.bench_local(|| {
        i = (i + 1) % RECORDS;
        code.eval_condition(&mut machine, Some(black_box(&f.rows[i])), &mut f.env)
    });
}

#[divan::bench(args = NAMES)]
fn flowc_vm(bencher: Bencher, name: &str) {
    flowc_call(bencher, name, Backend::Vm);
}

#[divan::bench(args = NAMES)]
fn flowc_jit(bencher: Bencher, name: &str) {
    flowc_call(bencher, name, Backend::Jit);
}

/// Sweeps: one iteration evaluates the condition on all 64 records
/// (per evaluation: the time divided by 64).
mod sweep {
    use super::*;

    #[divan::bench(args = NAMES)]
    fn closure(bencher: Bencher, name: &str) {
        let c = &CONDITIONS[index(name)];
        let deals = deals();
        bencher.bench_local(|| {
            black_box(&deals)
                .iter()
                .filter(|d| (c.native)(d, black_box(&CLOCK)))
                .count()
        });
    }

    #[divan::bench(args = NAMES)]
    fn flowc_jit(bencher: Bencher, name: &str) {
        let mut f = super::flowc(name);
        let functions = f.program.functions.clone().into();
        let code = Compiled::new(functions, &f.expr, Frame::RULE, Backend::Jit).expect("compiles");
        let mut machine = Machine::new();
        code.eval_conditions(&mut machine, &f.rows, &mut f.env, |_, _| {});
        bencher.bench_local(|| {
            let mut n = 0;
            code.eval_conditions(&mut machine, black_box(&f.rows), &mut f.env, |_, r| {
                n += usize::from(r == Ok(true))
            });
            n
        });
    }
}

#[divan::bench(args = NAMES)]
fn zen(bencher: Bencher, name: &str) {
    let e = zen::compile(PEERS[index(name)].zen);
    let scopes: Vec<_> = deals().iter().map(zen::scope).collect();
    let mut vm = zen_expression::vm::VM::new();
    let mut i = 0;
    bencher.bench_local(|| {
        i = (i + 1) % RECORDS;
        zen::eval(&e, black_box(&scopes[i]), &mut vm)
    });
}

#[divan::bench(args = NAMES)]
fn cel(bencher: Bencher, name: &str) {
    let p = cel_peer::compile(PEERS[index(name)].cel);
    let contexts: Vec<_> = deals().iter().map(cel_peer::context).collect();
    let mut i = 0;
    bencher.bench_local(|| {
        i = (i + 1) % RECORDS;
        cel_peer::eval(&p, black_box(&contexts[i]))
    });
}

#[divan::bench(args = NAMES)]
fn rhai(bencher: Bencher, name: &str) {
    let engine = rhai_peer::engine();
    let ast = rhai_peer::compile(&engine, PEERS[index(name)].rhai);
    let mut scopes: Vec<_> = deals().iter().map(rhai_peer::scope).collect();
    let mut i = 0;
    bencher.bench_local(|| {
        i = (i + 1) % RECORDS;
        rhai_peer::eval(&engine, &ast, black_box(&mut scopes[i]))
    });
}

#[divan::bench(args = NAMES)]
fn evalexpr(bencher: Bencher, name: &str) {
    let node = evalexpr_peer::compile(PEERS[index(name)].evalexpr);
    let contexts: Vec<_> = deals().iter().map(evalexpr_peer::context).collect();
    let mut i = 0;
    bencher.bench_local(|| {
        i = (i + 1) % RECORDS;
        evalexpr_peer::eval(&node, black_box(&contexts[i]))
    });
}

// ---------------------------------------------------------------- compile time

mod compile {
    use super::*;

    #[divan::bench(args = NAMES)]
    fn flowc_vm(bencher: Bencher, name: &str) {
        let f = super::flowc(name);
        bencher.bench_local(|| {
            flowc::vm::compile(&f.program.functions, black_box(&f.expr), Frame::RULE)
        });
    }

    #[divan::bench(args = NAMES, sample_count = 30)]
    fn flowc_jit(bencher: Bencher, name: &str) {
        let f = super::flowc(name);
        bencher.bench_local(|| {
            flowc::jit::compile(&f.program.functions, black_box(&f.expr), Frame::RULE)
                .map(|code| code.function_count())
        });
    }

    #[divan::bench(args = NAMES)]
    fn zen(bencher: Bencher, name: &str) {
        let source = PEERS[index(name)].zen;
        bencher.bench_local(|| super::zen::compile(black_box(source)));
    }

    #[divan::bench(args = NAMES)]
    fn cel(bencher: Bencher, name: &str) {
        let source = PEERS[index(name)].cel;
        bencher.bench_local(|| cel_peer::compile(black_box(source)));
    }

    #[divan::bench(args = NAMES)]
    fn rhai(bencher: Bencher, name: &str) {
        let engine = rhai_peer::engine();
        let source = PEERS[index(name)].rhai;
        bencher.bench_local(|| rhai_peer::compile(&engine, black_box(source)));
    }

    #[divan::bench(args = NAMES)]
    fn evalexpr(bencher: Bencher, name: &str) {
        let source = PEERS[index(name)].evalexpr;
        bencher.bench_local(|| evalexpr_peer::compile(black_box(source)));
    }
}
