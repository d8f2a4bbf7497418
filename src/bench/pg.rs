//! The bench's workloads on PostgreSQL (`flowc bench --db postgresql://…`):
//! the same rules, data and measured `advance` as on SQLite, on the
//! engine's PostgreSQL store, each workload in a fresh schema of its own
//! (its user tables and flowc's tables, the session's `search_path`),
//! dropped afterwards. Fixtures are written set-based before the engine
//! starts (`store::pg::baseline`), as SQLite's are before its triggers
//! exist; the baselines are PostgreSQL doing the same work alone.
//!
//! Each measurement also says how many statements the engine ran, per unit
//! of work (a batch of changes or due items) and per item: on a server,
//! every statement is a round trip.

use super::{
    Measure, START, Statements, TimerShape, changes_rows, changes_text, err, options, project,
    shape_text, sweep_text,
};
use crate::engine::{Advance, Engine};
use crate::eval::compiled::Backend;
use crate::store::backend::Store;
use crate::store::pg::{self, Pg, baseline, postgres};
use crate::store::target::PgTarget;
use std::rc::Rc;
use std::time::{Duration, Instant};

const POSTGRES: &str = "PostgreSQL";

/// A connection with `schema` as its `search_path`.
fn connect(target: &PgTarget, schema: &str) -> Result<postgres::Client, String> {
    let mut client = pg::connect(target)?;
    baseline::use_schema(&mut client, schema).map_err(|e| failed(target, e))?;
    Ok(client)
}

fn failed(target: &PgTarget, e: postgres::Error) -> String {
    format!("{target}: {}", pg::error_text(&e))
}

/// The schema a workload runs in: unique to this process.
fn schema_name(workload: &str) -> String {
    format!("flowc_bench_{}_{workload}", std::process::id())
}

/// Runs `work` with a fresh schema named after `workload` (created on the
/// `admin` connection it is given, which keeps it as its `search_path`),
/// and drops the schema afterwards, whatever happened.
fn in_schema<T>(
    target: &PgTarget,
    workload: &str,
    work: impl FnOnce(&mut postgres::Client, &str) -> Result<T, String>,
) -> Result<T, String> {
    let schema = schema_name(workload);
    let mut admin = pg::connect(target)?;
    baseline::create_schema(&mut admin, &schema).map_err(|e| failed(target, e))?;
    let result = work(&mut admin, &schema);
    let dropped = baseline::drop_schema(&mut admin, &schema).map_err(|e| failed(target, e));
    let value = result?;
    dropped?;
    Ok(value)
}

/// An engine on `schema` (flowc's tables there too), and its store, whose
/// statements the bench counts.
fn engine(
    target: &PgTarget,
    schema: &str,
    program: crate::ir::Program,
    backend: Backend,
) -> Result<(Engine, Rc<Pg>), String> {
    let store = Rc::new(Pg::new(connect(target, schema)?, schema));
    let engine = Engine::with_store(store.clone() as Rc<dyn Store>, program, options(backend))
        .map_err(err)?;
    Ok((engine, store))
}

/// The statements `store` ran since `before` (statements, units of work).
fn counted(store: &Pg, before: (u64, u64), items: usize) -> Statements {
    Statements {
        statements: store.statements() - before.0,
        batches: store.units() - before.1,
        items: items as u64,
    }
}

fn marks(store: &Pg) -> (u64, u64) {
    (store.statements(), store.units())
}

/// The changes workload's data: contacts, the engine's triggers, then `n`
/// updates; returns how many changes are waiting.
fn changes_fixture(
    target: &PgTarget,
    admin: &mut postgres::Client,
    schema: &str,
    n: usize,
    backend: Backend,
) -> Result<i64, String> {
    let program = project(&changes_text())?;
    pg::ddl::create_missing(admin, &program.schema).map_err(|e| failed(target, e))?;
    let rows = changes_rows(n) as i64;
    baseline::insert_contacts(admin, rows).map_err(|e| failed(target, e))?;
    baseline::settle(admin, schema).map_err(|e| failed(target, e))?;
    // The engine installs its triggers and takes its clock to the start.
    let (engine, _) = engine(target, schema, program, backend)?;
    engine.advance(Advance::To(START)).map_err(err)?;
    drop(engine);
    baseline::update_scores(admin, rows, n as i64).map_err(|e| failed(target, e))?;
    baseline::pending_changes(admin, schema).map_err(|e| failed(target, e))
}

/// Updates against 50 rules on PostgreSQL: as [`super::changes`].
pub fn changes(target: &PgTarget, n: usize, backend: Backend) -> Result<Measure, String> {
    in_schema(target, "changes", |admin, schema| {
        let captured = changes_fixture(target, admin, schema, n, backend)?;
        let (engine, store) = engine(target, schema, project(&changes_text())?, backend)?;
        let before = marks(&store);
        let began = Instant::now();
        engine.advance(Advance::To(START + 1)).map_err(err)?;
        let took = began.elapsed();
        let processed = engine.take_report().changes;
        if (processed as i64) < captured {
            return Err(format!(
                "processed {processed} changes, expected {captured}"
            ));
        }
        Ok(Measure {
            name: "changes",
            store: POSTGRES,
            work: format!("{captured} changes against 50 rules"),
            took,
            rate: format!("{:.0} changes/s", processed as f64 / took.as_secs_f64()),
            baseline: None,
            statements: Some(counted(&store, before, processed)),
        })
    })
}

/// The changes workload processed by each number of `workers` at once
/// (threads, each with its own connection and engine), and by one: one
/// row each, the time from their start to the last one's end. Nothing
/// when `workers` is empty.
pub fn workers(
    target: &PgTarget,
    n: usize,
    backend: Backend,
    workers: &[usize],
) -> Result<Vec<Measure>, String> {
    if workers.is_empty() {
        return Ok(Vec::new());
    }
    let mut counts: Vec<usize> = workers.iter().copied().chain([1]).collect();
    counts.sort_unstable();
    counts.dedup();
    let mut out: Vec<Measure> = Vec::new();
    let mut one: Option<Duration> = None;
    for count in counts {
        let measure = in_schema(target, &format!("workers{count}"), |admin, schema| {
            let captured = changes_fixture(target, admin, schema, n, backend)?;
            let (took, processed, statements) = together(target, schema, backend, count)?;
            if (processed as i64) < captured {
                return Err(format!(
                    "{count} workers processed {processed} changes, expected {captured}"
                ));
            }
            let rate = processed as f64 / took.as_secs_f64();
            Ok(Measure {
                name: "changes",
                store: POSTGRES,
                work: format!(
                    "{captured} changes against 50 rules, {count} worker{}",
                    if count == 1 { "" } else { "s" }
                ),
                took,
                rate: match one {
                    Some(t) => format!(
                        "{rate:.0} changes/s, {:.2}× one worker's",
                        t.as_secs_f64() / took.as_secs_f64()
                    ),
                    None => format!("{rate:.0} changes/s"),
                },
                baseline: one.map(|t| ("1 worker".to_string(), t)),
                statements: Some(statements),
            })
        })?;
        if one.is_none() {
            one = Some(measure.took);
        }
        out.push(measure);
    }
    Ok(out)
}

/// `count` threads, each an engine on its own connection, started
/// together; each processes changes until no shard it can claim has any.
/// Returns the time until the last ended, the changes processed and the
/// statements run, by all.
fn together(
    target: &PgTarget,
    schema: &str,
    backend: Backend,
    count: usize,
) -> Result<(Duration, usize, Statements), String> {
    let start = std::sync::Barrier::new(count + 1);
    std::thread::scope(|scope| {
        let threads: Vec<_> = (0..count)
            .map(|_| {
                let start = &start;
                scope.spawn(move || {
                    // The engine is not `Send`: each thread builds its own.
                    let built = project(&changes_text())
                        .and_then(|program| engine(target, schema, program, backend));
                    start.wait();
                    let (engine, store) = built?;
                    let before = marks(&store);
                    engine.advance(Advance::To(START + 1)).map_err(err)?;
                    let processed = engine.take_report().changes;
                    Ok::<_, String>((processed, counted(&store, before, processed)))
                })
            })
            .collect();
        start.wait();
        let began = Instant::now();
        let mut processed = 0;
        let mut total = Statements {
            statements: 0,
            batches: 0,
            items: 0,
        };
        let mut failure = None;
        for thread in threads {
            match thread.join() {
                Ok(Ok((n, s))) => {
                    processed += n;
                    total.statements += s.statements;
                    total.batches += s.batches;
                    total.items += s.items;
                }
                Ok(Err(e)) => failure = Some(e),
                Err(_) => failure = Some("a worker thread panicked".to_string()),
            }
        }
        let took = began.elapsed();
        match failure {
            Some(e) => Err(e),
            None => Ok((took, processed, total)),
        }
    })
}

/// Runs asleep on PostgreSQL, some due: as [`super::timers`], beside
/// PostgreSQL alone doing the same writes set-based, in a schema of its
/// own with the same data.
pub fn timers(
    target: &PgTarget,
    waiting: usize,
    due: usize,
    shape: TimerShape,
    backend: Backend,
) -> Result<Measure, String> {
    let program = project(super::TIMERS_TEXT)?;
    let version = program.rules[0].version.clone();
    let data = baseline::Waiting {
        rule: "nurture",
        version: &version,
        step: "pause",
        waiting: waiting as i64,
        due: due as i64,
        spread: shape == TimerShape::Spread,
        own_seconds: shape == TimerShape::OwnSeconds,
        start: START,
    };
    let fixture = |admin: &mut postgres::Client, schema: &str| -> Result<(), String> {
        pg::ddl::create_missing(admin, &program.schema).map_err(|e| failed(target, e))?;
        pg::state::migrate(admin, schema).map_err(|e| format!("{target}: {e}"))?;
        baseline::insert_waiting(admin, schema, &data).map_err(|e| failed(target, e))?;
        baseline::settle(admin, schema).map_err(|e| failed(target, e))
    };
    let now = START + 100_001;
    let alone = in_schema(
        target,
        &format!("timers_{shape:?}_alone"),
        |admin, schema| {
            fixture(admin, schema)?;
            let mut conn = pg::conn::Conn::new(connect(target, schema)?);
            let began = Instant::now();
            let woke = baseline::wake_alone(&mut conn, schema, now, "woken", 256)
                .map_err(|e| failed(target, e))?;
            let took = began.elapsed();
            if woke != due {
                return Err(format!("PostgreSQL alone woke {woke} runs, expected {due}"));
            }
            Ok(took)
        },
    )?;
    in_schema(target, &format!("timers_{shape:?}"), |admin, schema| {
        fixture(admin, schema)?;
        let (engine, store) = engine(target, schema, program.clone(), backend)?;
        engine.advance(Advance::To(START)).map_err(err)?;
        let before = marks(&store);
        let began = Instant::now();
        engine.advance(Advance::To(now)).map_err(err)?;
        let took = began.elapsed();
        let woke = engine.take_report().timers;
        if woke != due {
            return Err(format!("woke {woke} runs, expected {due}"));
        }
        Ok(Measure {
            name: "timers",
            store: POSTGRES,
            work: format!("{due} due of {waiting} waiting runs, {}", shape_text(shape)),
            took,
            rate: format!("{:.0} wakes/s", due as f64 / took.as_secs_f64()),
            baseline: Some(("PostgreSQL alone, same writes, set-based".into(), alone)),
            statements: Some(counted(&store, before, woke)),
        })
    })
}

/// A daily sweep over `rows` rows on PostgreSQL: as [`super::sweep`],
/// beside PostgreSQL counting the same rows.
pub fn sweep(
    target: &PgTarget,
    rows: usize,
    backend: Backend,
    min_score: i64,
) -> Result<Measure, String> {
    in_schema(target, &format!("sweep{min_score}"), |admin, schema| {
        let program = project(&sweep_text(min_score))?;
        pg::ddl::create_missing(admin, &program.schema).map_err(|e| failed(target, e))?;
        baseline::insert_accounts(admin, rows as i64, super::SWEEP_DAY)
            .map_err(|e| failed(target, e))?;
        baseline::settle(admin, schema).map_err(|e| failed(target, e))?;
        let today = crate::time::format_date(super::SWEEP_DAY);
        let mut counting = connect(target, schema)?;
        let began = Instant::now();
        let matching = baseline::renewal_count(&mut counting, min_score, &today)
            .map_err(|e| failed(target, e))?;
        let alone = began.elapsed();
        drop(counting);
        let (engine, store) = engine(target, schema, program, backend)?;
        engine.advance(Advance::To(START)).map_err(err)?;
        let before = marks(&store);
        let began = Instant::now();
        engine
            .advance(Advance::To(START + 10 * 3600))
            .map_err(err)?;
        let took = began.elapsed();
        let started = engine.take_report().started as i64;
        if started != matching {
            return Err(format!(
                "the sweep started {started} runs, PostgreSQL counts {matching} rows"
            ));
        }
        Ok(Measure {
            name: "sweep",
            store: POSTGRES,
            work: format!("{rows} rows, {matching} match"),
            took,
            rate: format!("{:.0} ns/row", took.as_nanos() as f64 / rows as f64),
            baseline: Some(("PostgreSQL's own count(*), same WHERE".into(), alone)),
            statements: Some(counted(&store, before, matching as usize)),
        })
    })
}

/// Single-row commits per second on PostgreSQL (one prepared `INSERT`,
/// autocommit): the floor for one transaction per change.
pub fn commits(target: &PgTarget, n: usize) -> Result<Measure, String> {
    in_schema(target, "commits", |admin, schema| {
        baseline::create_commit_table(admin).map_err(|e| failed(target, e))?;
        let mut conn = pg::conn::Conn::new(connect(target, schema)?);
        let began = Instant::now();
        for i in 0..n {
            baseline::commit_one(&mut conn, i as i64).map_err(|e| failed(target, e))?;
        }
        let took = began.elapsed();
        Ok(Measure {
            name: "commits",
            store: POSTGRES,
            work: format!("{n} single-row commits"),
            took,
            rate: format!("{:.0} commits/s", n as f64 / took.as_secs_f64()),
            baseline: None,
            statements: None,
        })
    })
}
