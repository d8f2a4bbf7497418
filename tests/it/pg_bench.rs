//! `flowc bench --db postgresql://…`: every workload on SQLite and on the
//! harness's PostgreSQL in one run, side by side, with the statements the
//! engine ran there; the workloads' schemas are dropped afterwards; and a
//! batch of due timers costs the same statements whatever its size. No
//! timing is asserted: only that the numbers are there and make sense. The
//! emails workload, which runs on SQLite only, is checked here too.

use crate::support::pg;
use crate::support::world::text;
use std::process::Command;

/// One row of the table: its cells, trimmed.
type Row = Vec<String>;

/// Runs `flowc bench ARGS`; it must succeed. Returns the table's rows.
fn bench(args: &[&str]) -> (Vec<String>, Vec<Row>) {
    let out = Command::new(env!("CARGO_BIN_EXE_flowc"))
        .arg("bench")
        .args(args)
        .output()
        .expect("run flowc bench");
    let stdout = text(&out.stdout);
    assert!(
        out.status.success(),
        "flowc bench {args:?}:\n{stdout}\n{}",
        text(&out.stderr)
    );
    let mut lines = stdout.lines().filter(|l| l.starts_with('|'));
    let cells = |line: &str| -> Row {
        line.trim()
            .trim_matches('|')
            .split('|')
            .map(|c| c.trim().to_string())
            .collect()
    };
    let header = cells(lines.next().expect("a header"));
    let rows: Vec<Row> = lines.skip(1).map(cells).collect();
    for row in &rows {
        assert_eq!(row.len(), header.len(), "{row:?} in\n{stdout}");
    }
    (header, rows)
}

/// The first number in `text` (digits, `.`).
fn number(text: &str) -> f64 {
    let start = text
        .find(|c: char| c.is_ascii_digit())
        .unwrap_or_else(|| panic!("a number in {text:?}"));
    let digits: String = text[start..]
        .chars()
        .take_while(|c| c.is_ascii_digit() || *c == '.')
        .collect();
    digits.parse().expect("a number")
}

/// Statements per batch, items per batch and statements per item, from a
/// statements cell ("18.0 per batch of 123.5; 0.07 per item (…)").
fn statements(cell: &str) -> (f64, f64, f64) {
    let (batch, item) = cell.split_once(';').expect("per batch; per item");
    let (per_batch, items) = batch.split_once(" per batch of ").expect("per batch");
    (number(per_batch), number(items), number(item))
}

#[test]
fn bench_runs_every_workload_on_postgres_beside_sqlite() {
    let Some(server) = pg::shared("bench_runs_every_workload_on_postgres_beside_sqlite") else {
        return;
    };
    let url = server.create_database("bench");
    let (header, rows) = bench(&[
        "--small",
        "--changes",
        "600",
        "--waiting",
        "4000",
        "--due",
        "200",
        "--rows",
        "4000",
        "--db",
        &url,
        "--workers",
        "2",
    ]);
    assert_eq!(
        header,
        [
            "benchmark",
            "store",
            "work",
            "time",
            "rate",
            "statements",
            "baseline",
            "ratio"
        ]
    );
    let of = |store: &str| -> Vec<&Row> { rows.iter().filter(|r| r[1] == store).collect() };
    let (sqlite, postgres) = (of("SQLite"), of("PostgreSQL"));
    assert_eq!(sqlite.len() + postgres.len(), rows.len(), "{rows:?}");
    // Each workload on both, in the same order, each PostgreSQL row right
    // after its SQLite row; then the workers' rows. The emails workload
    // runs on SQLite only, last.
    let names = |rows: &[&Row]| -> Vec<String> { rows.iter().map(|r| r[0].clone()).collect() };
    assert_eq!(
        names(&sqlite),
        [
            "changes", "timers", "timers", "timers", "timers", "sweep", "sweep", "commits",
            "emails"
        ]
    );
    assert_eq!(
        names(&postgres),
        [
            "changes", "changes", "changes", "timers", "timers", "timers", "timers", "sweep",
            "sweep", "commits"
        ]
    );
    let (plain, workers): (Vec<&Row>, Vec<&Row>) =
        postgres.iter().partition(|r| !r[2].contains("worker"));
    for (s, p) in sqlite.iter().zip(&plain) {
        // The same work: the same changes captured, the same rows matched.
        assert_eq!(s[2], p[2], "{s:?}\n{p:?}");
        assert!(number(&p[3]) > 0.0, "{p:?}");
        assert!(number(&p[4]) > 0.0, "{p:?}");
        assert!(s[5].is_empty(), "{s:?}");
        if p[0] == "commits" {
            continue;
        }
        let (per_batch, _, per_item) = statements(&p[5]);
        assert!(per_batch >= 1.0 && per_item > 0.0, "{p:?}");
        if p[0] != "changes" {
            assert!(p[6].starts_with("PostgreSQL"), "{p:?}");
            assert!(p[7].ends_with('×'), "{p:?}");
        }
    }
    // `--workers 2`: one worker, then two, on the same changes.
    assert_eq!(workers.len(), 2, "{workers:?}");
    assert!(workers[0][2].ends_with(", 1 worker"), "{workers:?}");
    assert!(workers[1][2].ends_with(", 2 workers"), "{workers:?}");
    assert!(workers[1][4].contains("× one worker's"), "{workers:?}");
    assert_eq!(workers[1][6].split(':').next(), Some("1 worker"));
    for row in workers {
        assert!(row[2].starts_with(&sqlite[0][2]), "{row:?}");
        assert!(number(&row[4]) > 0.0, "{row:?}");
    }
    // Every workload's schema is gone.
    assert_eq!(
        server.psql(
            &url,
            "SELECT count(*) FROM pg_namespace WHERE nspname LIKE 'flowc_bench_%'"
        ),
        "0"
    );
}

#[test]
fn statements_per_batch_of_due_timers_do_not_grow_with_the_batch() {
    let Some(server) = pg::shared("statements_per_batch_of_due_timers_do_not_grow_with_the_batch")
    else {
        return;
    };
    let url = server.create_database("bench_batches");
    // 100 due runs are one batch; 2,000 are batches of up to 256.
    let together = |due: &str| -> (f64, f64, f64) {
        let (_, rows) = bench(&[
            "timers",
            "--small",
            "--waiting",
            "20000",
            "--due",
            due,
            "--db",
            &url,
        ]);
        let row = rows
            .iter()
            .find(|r| {
                r[1] == "PostgreSQL" && r[2].contains("of 20000 waiting runs, started together")
            })
            .unwrap_or_else(|| panic!("the PostgreSQL row in {rows:?}"));
        statements(&row[5])
    };
    let (small_batch, small_items, small_item) = together("100");
    let (large_batch, large_items, large_item) = together("2000");
    assert!(
        large_items > 2.0 * small_items,
        "batches of {small_items} and {large_items} timers"
    );
    // The statements of a unit of work do not depend on how many timers it
    // wakes (the wakes' reads and writes are set-based): the same per batch,
    // far fewer per timer.
    assert!(
        large_batch <= small_batch + 1.0,
        "{small_batch} statements per batch of {small_items}, {large_batch} per batch of {large_items}"
    );
    assert!(
        large_item < small_item,
        "{small_item} vs {large_item} per timer"
    );
}

/// The emails workload (SQLite): a campaign's marketing emails rendered
/// and queued with tracked links, beside plain INSERTs of the same
/// messages. No timing is asserted.
#[test]
fn bench_renders_and_queues_marketing_emails_beside_plain_inserts() {
    let (header, rows) = bench(&["emails", "--emails", "300"]);
    assert_eq!(
        header,
        ["benchmark", "work", "time", "rate", "baseline", "ratio"]
    );
    assert_eq!(rows.len(), 1, "{rows:?}");
    let row = &rows[0];
    assert_eq!(row[0], "emails");
    assert_eq!(
        row[1],
        "render and queue 300 marketing emails (HTML + text + tracking)"
    );
    assert!(
        row[3].ends_with(" emails/s") && number(&row[3]) > 0.0,
        "{row:?}"
    );
    assert!(
        row[4].starts_with("SQLite alone, the same messages rendered, plain INSERTs: "),
        "{row:?}"
    );
    assert!(row[5].ends_with('×'), "{row:?}");
}
