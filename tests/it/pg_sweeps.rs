//! A sweep's `where` pushed down to PostgreSQL selects what flow means:
//! for each condition of a table covering every operator the pushdown
//! translates, over rows with nulls, bytes that sort differently under a
//! linguistic collation, month and year ends, the runs a daily sweep
//! starts on PostgreSQL are those it starts on SQLite, and the rows the VM
//! alone says the `where` holds for.

use crate::support::pg;
use flowc::eval::Backend;
use flowc::store::Store;
use flowc::store::backend::SqlValue;
use std::rc::Rc;
use std::sync::atomic::{AtomicUsize, Ordering};

const SCHEMA: &str = r#"
timezone "Asia/Tokyo"
enum tier { "gold", "silver", "bronze" }
record item {
  name: text
  note: text?
  score: int
  bonus: int?
  rate: decimal?
  vip: bool
  tier: tier
  due: date
  ends: date?
}
fn hot(i: item) -> bool = i.score >= 50 and i.vip
"#;

/// Conditions on `item`; each a rule of its own.
const CONDITIONS: &[&str] = &[
    "item.score >= 50",
    "item.score != 10",
    "not (item.score < 20)",
    "item.bonus > 3",
    "not (item.bonus > 3)",
    "item.bonus is null",
    "item.bonus is not null and item.bonus <= 7",
    "item.rate > 9",
    "item.rate between 1.5 and 10",
    "item.rate not between 1.5 and 10",
    "item.note > \"Z\"",
    "item.note < \"a\"",
    "item.note contains \"ab\"",
    "not (item.note contains \"ab\")",
    "item.name starts with \"Ä\"",
    "item.name in [\"Ä\", \"Z\", \"zz\"]",
    "item.name not in [\"Ä\", \"Z\"]",
    "item.vip",
    "not item.vip",
    "item.tier == \"gold\"",
    "item.tier in [\"gold\", \"bronze\"]",
    "item.tier != \"silver\" or item.score > 90",
    "item.due < today",
    "item.due >= 2025-01-31",
    "days_until(item.due) between 0 and 31",
    "item.due + 30d > 2025-03-01",
    "item.ends - 1d == 2024-12-31",
    "hot(item)",
    "item.score > 10 and item.note contains \"a\"",
];

/// Rows: (name, note, score, bonus, rate, vip, tier, due, ends).
type Row = (
    &'static str,
    Option<&'static str>,
    i64,
    Option<i64>,
    Option<f64>,
    bool,
    &'static str,
    &'static str,
    Option<&'static str>,
);

const ROWS: &[Row] = &[
    (
        "Ä",
        Some("Äpfel"),
        10,
        None,
        Some(9.5),
        true,
        "gold",
        "2025-01-31",
        Some("2025-01-01"),
    ),
    (
        "Z",
        Some("Z"),
        50,
        Some(3),
        Some(10.0),
        false,
        "silver",
        "2024-12-31",
        None,
    ),
    (
        "a",
        Some("abc"),
        90,
        Some(7),
        Some(1.5),
        true,
        "bronze",
        "2025-02-28",
        Some("2024-02-29"),
    ),
    (
        "zz",
        None,
        0,
        Some(-4),
        None,
        false,
        "gold",
        "2025-03-01",
        Some("2025-12-31"),
    ),
    (
        "日本",
        Some("ab"),
        51,
        Some(8),
        Some(-0.5),
        true,
        "silver",
        "2025-01-01",
        None,
    ),
    (
        "e",
        Some(""),
        19,
        None,
        Some(1e12),
        false,
        "bronze",
        "2026-01-01",
        Some("2025-01-31"),
    ),
];

fn project() -> flowc::ir::Program {
    let mut text = SCHEMA.to_string();
    for (i, condition) in CONDITIONS.iter().enumerate() {
        text.push_str(&format!(
            "rule c{i}\n  every day at \"09:00\" for each item\n    where {condition}\n  tag item \"c{i}\"\nend\n"
        ));
    }
    let checked = flowc::project::Project::from_texts([("main.flow", text.as_str())]).check();
    assert!(!checked.has_errors(), "{:?}", checked.diagnostics);
    checked.program
}

fn columns(row: &Row) -> Vec<(String, SqlValue)> {
    let text = |t: &str| SqlValue::Text(t.to_string());
    let opt = |v: Option<SqlValue>| v.unwrap_or(SqlValue::Null);
    vec![
        ("name".into(), text(row.0)),
        ("note".into(), opt(row.1.map(text))),
        ("score".into(), SqlValue::Integer(row.2)),
        ("bonus".into(), opt(row.3.map(SqlValue::Integer))),
        ("rate".into(), opt(row.4.map(SqlValue::Real))),
        ("vip".into(), SqlValue::Integer(i64::from(row.5))),
        ("tier".into(), text(row.6)),
        ("due".into(), text(row.7)),
        ("ends".into(), opt(row.8.map(text))),
    ]
}

/// Each rule's tagged rows after one daily sweep on `store`, and how
/// many rows the sweep's SQL left to the VM, per rule.
fn sweep(store: Rc<dyn Store>, program: &flowc::ir::Program) -> Vec<String> {
    for row in ROWS {
        store.insert_row("item", &columns(row)).expect("insert");
    }
    let engine = flowc::engine::Engine::with_store(
        store,
        program.clone(),
        flowc::engine::Options {
            backend: Backend::Vm,
            ..Default::default()
        },
    )
    .expect("engine");
    let start = flowc::engine::parse_time("2025-01-30T08:00", program.schema.timezone).expect("t");
    engine
        .advance(flowc::engine::Advance::To(start))
        .expect("start");
    engine
        .advance(flowc::engine::Advance::Until(start + 3600 * 2))
        .expect("sweep");
    (0..CONDITIONS.len())
        .map(|i| {
            let tagged: Vec<i64> = (1..=ROWS.len() as i64)
                .filter(|&id| {
                    engine
                        .store()
                        .inspect()
                        .tags("item", id)
                        .expect("tags")
                        .contains(&format!("c{i}"))
                })
                .collect();
            // What the VM alone says of each row.
            let rule = &program.rules[i];
            let filter = rule.filter.as_ref().expect("a where");
            let by_vm: Vec<i64> = (1..=ROWS.len() as i64)
                .filter(|&id| {
                    engine.eval_test(filter, &[flowc::value::Value::Ref(id)])
                        == Ok(flowc::value::Value::Bool(true))
                })
                .collect();
            assert_eq!(tagged, by_vm, "{}", CONDITIONS[i]);
            format!("{}: {tagged:?}", CONDITIONS[i])
        })
        .collect()
}

fn sqlite(program: &flowc::ir::Program) -> Rc<dyn Store> {
    let conn = rusqlite::Connection::open_in_memory().expect("memory");
    flowc::store::state::migrate(&conn).expect("state");
    flowc::store::ddl::create_missing(&conn, &program.schema).expect("tables");
    Rc::new(flowc::store::sqlite::Sqlite::new(conn).expect("store"))
}

fn postgres(url: &str, program: &flowc::ir::Program) -> Rc<dyn Store> {
    static N: AtomicUsize = AtomicUsize::new(0);
    let n = N.fetch_add(1, Ordering::Relaxed);
    let mut client = crate::pg_store::connect(url);
    client
        .batch_execute(&format!("CREATE SCHEMA s{n}; SET search_path = s{n}"))
        .expect("schema");
    flowc::store::pg::ddl::create_missing(&mut client, &program.schema).expect("tables");
    Rc::new(flowc::store::pg::Pg::new(client, &format!("s{n}_flowc")))
}

#[test]
fn pushed_down_sweeps_select_on_postgres_what_they_select_on_sqlite() {
    let Some(server) =
        pg::shared("pushed_down_sweeps_select_on_postgres_what_they_select_on_sqlite")
    else {
        return;
    };
    // A linguistic collation, so that only `COLLATE "C"` gives flow's order.
    let url = server.create_database("sweeps");
    let program = project();
    let on_sqlite = sweep(sqlite(&program), &program);
    let on_pg = sweep(postgres(&url, &program), &program);
    assert_eq!(on_pg, on_sqlite);
    // Not vacuous: conditions select some rows and not others.
    let selecting = on_sqlite.iter().filter(|l| !l.ends_with("[]")).count();
    assert!(selecting > CONDITIONS.len() / 2, "{on_sqlite:#?}");
    for (line, expected) in [
        (0, "item.score >= 50: [2, 3, 5]"),
        (10, "item.note > \"Z\": [1, 3, 5]"),
        (17, "item.vip: [1, 3, 5]"),
    ] {
        assert_eq!(on_sqlite[line], expected);
    }
}
