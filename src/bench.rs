//! `flowc bench`: the engine's speed on generated workloads, each measured
//! beside the baseline it should be compared with, in the same run.
//!
//! - changes: N updates against 50 rules, processed end to end;
//! - timers: M waiting runs, of which K are due and woken;
//! - sweep: an `every day … for each` over R rows, beside SQLite's own
//!   `SELECT count(*) … WHERE` with the same condition;
//! - commits: single-row commits per second (the reason changes are
//!   processed in batches);
//! - emails: a campaign rendering and queueing E marketing emails (HTML and
//!   text, formats, the opt-out footer, tracked links), beside SQLite
//!   inserting the same messages, rendered already, into the outbox.
//!
//! With `--db postgresql://…` each workload also runs on that database
//! ([`pg`]), in the same run, each in a schema of its own; `--workers N`
//! adds the changes workload processed by N workers at once.

use crate::engine::{Advance, Engine, Options};
use crate::eval::compiled::Backend;
use crate::project::Project;
use crate::store::rows::insert_row;
use crate::store::tx::{self, Scope};
use rusqlite::Connection;
use rusqlite::types::Value as Sql;
use std::path::Path;
use std::time::{Duration, Instant};

pub mod pg;

/// Sizes of the workloads.
#[derive(Clone, Copy, Debug)]
pub struct Scale {
    pub changes: usize,
    pub waiting: usize,
    pub due: usize,
    pub rows: usize,
    pub emails: usize,
}

impl Scale {
    /// The sizes the issue's targets are stated for.
    pub const FULL: Scale = Scale {
        changes: 100_000,
        waiting: 1_000_000,
        due: 10_000,
        rows: 1_000_000,
        emails: 100_000,
    };
    /// A quick run for tests.
    pub const SMALL: Scale = Scale {
        changes: 2_000,
        waiting: 20_000,
        due: 500,
        rows: 20_000,
        emails: 2_000,
    };
}

fn options(backend: Backend) -> Options {
    Options {
        backend,
        ..Options::default()
    }
}

/// One measurement and its baseline.
#[derive(Clone, Debug)]
pub struct Measure {
    pub name: &'static str,
    /// Where it ran: `SQLite` or `PostgreSQL`.
    pub store: &'static str,
    pub work: String,
    pub took: Duration,
    pub rate: String,
    pub baseline: Option<(String, Duration)>,
    /// On PostgreSQL: the statements the engine ran for the measured work.
    pub statements: Option<Statements>,
}

/// The statements (round trips) the engine ran on PostgreSQL for the
/// measured work, and the units of work (transactions, each one batch of
/// changes or due items) they were in.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Statements {
    pub statements: u64,
    pub batches: u64,
    /// Changes, wakes or rows the work was about.
    pub items: u64,
}

impl Statements {
    pub fn per_batch(&self) -> f64 {
        self.statements as f64 / self.batches.max(1) as f64
    }
    pub fn per_item(&self) -> f64 {
        self.statements as f64 / self.items.max(1) as f64
    }
    pub fn items_per_batch(&self) -> f64 {
        self.items as f64 / self.batches.max(1) as f64
    }
}

const SQLITE: &str = "SQLite";

fn project(text: &str) -> Result<crate::ir::Program, String> {
    let project = Project::from_texts([("bench.flow", text)]);
    let checked = project.check();
    if checked.has_errors() {
        return Err(crate::diagnostic::render_human(
            &project.sources,
            &checked.diagnostics,
            false,
        ));
    }
    Ok(checked.program)
}

fn open(dir: &Path, name: &str, program: &crate::ir::Program) -> Result<Connection, String> {
    let conn = crate::store::state::open(&dir.join(name)).map_err(|e| e.to_string())?;
    crate::store::ddl::create_missing(&conn, &program.schema).map_err(|e| e.to_string())?;
    Ok(conn)
}

fn err(e: impl std::fmt::Display) -> String {
    e.to_string()
}

const START: i64 = 1_735_689_600; // 2025-01-01T00:00:00Z

/// The changes workload's rules: 50 of them on one field, a few fire.
fn changes_text() -> String {
    let mut text = String::from(
        "record contact {\n  name: text\n  score: int\n  region: int\n}\nlist top of contact\n",
    );
    for i in 0..50 {
        text.push_str(&format!(
            "rule r{i}\n  when contact.score changes where contact.region == {i} and contact.score > 90\n  add contact to list top\nend\n"
        ));
    }
    text
}

/// The contacts `n` updates go to (each updated `n / rows` times).
fn changes_rows(n: usize) -> usize {
    10_000.min(n.max(1))
}

/// The timers workload's rule: wake after a week, tag the contact.
const TIMERS_TEXT: &str = "record contact {\n  name: text\n}\nrule nurture\n  when contact is created\n  pause: wait 7d\n  tag contact \"woken\"\nend\n";

/// What the timers workload says of a shape.
fn shape_text(shape: TimerShape) -> &'static str {
    match shape {
        TimerShape::Together => "started together",
        TimerShape::OwnSeconds => "each due at its own second",
        TimerShape::Spread => "spread through the table",
    }
}

/// The sweep workload's rule: tag the east's accounts with `score >=
/// min_score` and a renewal in 45 to 75 days.
fn sweep_text(min_score: i64) -> String {
    format!(
        "timezone \"UTC\"\nrecord account {{\n  name: text\n  score: int\n  region: text\n  renewal: date\n}}\n\
         rule renew\n  every day at \"09:00\" for each account\n    where account.score >= {min_score} and account.region == \"east\"\n      \
         and days_until(account.renewal) between 45 and 75\n  tag account \"renewal\"\nend\n"
    )
}

/// The first renewal day of the sweep's accounts (and the sweep's today):
/// 2025-01-01 in days since 1970.
const SWEEP_DAY: i32 = 20_089;

/// Updates against 50 rules: a few fire, most only look.
pub fn changes(dir: &Path, n: usize, backend: Backend) -> Result<Measure, String> {
    let program = project(&changes_text())?;
    let conn = open(dir, "changes.sqlite", &program)?;
    let rows = changes_rows(n);
    tx::begin(&conn, Scope::Transaction).map_err(err)?;
    for i in 0..rows {
        insert_row(
            &conn,
            "contact",
            &[
                ("id".into(), Sql::Integer(i as i64)),
                ("name".into(), Sql::Text("c".into())),
                ("score".into(), Sql::Integer(0)),
                ("region".into(), Sql::Integer((i % 100) as i64)),
            ],
        )
        .map_err(err)?;
    }
    tx::commit(&conn, Scope::Transaction).map_err(err)?;
    let engine = Engine::with_connection(conn, program, options(backend)).map_err(err)?;
    engine.advance(Advance::To(START)).map_err(err)?;
    let conn = crate::cli::sqlite(&engine)?;
    tx::begin(conn, Scope::Transaction).map_err(err)?;
    for i in 0..n {
        crate::store::rows::update_field(
            conn,
            "contact",
            "score",
            (i % rows) as i64,
            Sql::Integer((i % 97) as i64),
        )
        .map_err(err)?;
    }
    tx::commit(conn, Scope::Transaction).map_err(err)?;
    // An update that sets a value it already had is no change.
    let captured = crate::store::changes::unprocessed(conn).map_err(err)?;
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
        store: SQLITE,
        statements: None,
        work: format!("{captured} changes against 50 rules"),
        took,
        rate: format!("{:.0} changes/s", processed as f64 / took.as_secs_f64()),
        baseline: None,
    })
}

/// Where the due runs of the timers workload are, and when they are due.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TimerShape {
    /// Neighbours in the table, due at the same second (a campaign's runs).
    Together,
    /// Neighbours, each due at its own second (runs started one by one).
    OwnSeconds,
    /// Every hundredth run (the worst case for the disk).
    Spread,
}

/// `waiting` runs asleep on a timer, `due` of them overdue, placed as
/// `shape` says.
pub fn timers(
    dir: &Path,
    waiting: usize,
    due: usize,
    shape: TimerShape,
    backend: Backend,
) -> Result<Measure, String> {
    let program = project(TIMERS_TEXT)?;
    let conn = open(dir, &format!("timers-{waiting}-{shape:?}.sqlite"), &program)?;
    let version = program.rules[0].version.clone();
    tx::begin(&conn, Scope::Transaction).map_err(err)?;
    {
        let step = (waiting / due.max(1)).max(1);
        for i in 0..waiting {
            let is_due = if shape == TimerShape::Spread {
                i % step == 0 && i / step < due
            } else {
                i < due
            };
            let wake = if is_due && shape == TimerShape::OwnSeconds {
                // Each run started at its own second: every due time differs.
                START + 1 + i as i64 % 100_000
            } else if is_due {
                START + 60
            } else {
                START + 86_400 * 30
            };
            let run = crate::store::runs::Sleeping {
                rule: "nurture",
                version: &version,
                subject_table: "contact",
                subject: i as i64,
                step: "pause",
                wake_at: wake,
                started_at: START - 3600,
            };
            crate::store::runs::insert_sleeping(&conn, &run).map_err(err)?;
            insert_row(
                &conn,
                "contact",
                &[
                    ("id".into(), Sql::Integer(i as i64)),
                    ("name".into(), Sql::Text("c".into())),
                ],
            )
            .map_err(err)?;
        }
    }
    tx::commit(&conn, Scope::Transaction).map_err(err)?;
    // The same database, for SQLite to do the same writes alone.
    let path = dir.join(format!("timers-{waiting}-{shape:?}.sqlite"));
    let alone_path = dir.join(format!("timers-{waiting}-{shape:?}-alone.sqlite"));
    crate::store::baseline::settle(&conn).map_err(err)?;
    std::fs::copy(&path, &alone_path).map_err(err)?;
    // Both start from a fresh connection, with nothing in its page cache.
    drop(conn);
    let conn = crate::store::state::open(&path).map_err(err)?;
    let engine = Engine::with_connection(conn, program, options(backend)).map_err(err)?;
    engine.advance(Advance::To(START)).map_err(err)?;
    let began = Instant::now();
    engine.advance(Advance::To(START + 100_001)).map_err(err)?;
    let took = began.elapsed();
    let woke = engine.take_report().timers;
    if woke != due {
        return Err(format!("woke {woke} runs, expected {due}"));
    }
    let began = Instant::now();
    engine.when_idle().map_err(err)?;
    let idle = began.elapsed();
    drop(engine);
    let alone = crate::store::state::open(&alone_path).map_err(err)?;
    let began = Instant::now();
    let woke =
        crate::store::baseline::wake_alone(&alone, START + 100_001, "woken", 256).map_err(err)?;
    let sqlite = began.elapsed();
    if woke != due {
        return Err(format!("SQLite alone woke {woke} runs, expected {due}"));
    }
    Ok(Measure {
        name: "timers",
        store: SQLITE,
        statements: None,
        work: format!("{due} due of {waiting} waiting runs, {}", shape_text(shape)),
        took,
        rate: format!(
            "{:.0} wakes/s, then {:.0} ms checkpoint when idle",
            due as f64 / took.as_secs_f64(),
            idle.as_secs_f64() * 1e3
        ),
        baseline: Some(("SQLite alone, same writes, set-based".into(), sqlite)),
    })
}

/// A daily sweep over `rows` rows, beside SQLite counting the same rows;
/// the rule tags the accounts with `score >= min_score` (among others).
/// With `min_score` above every score, nothing matches and what is left is
/// the scan; otherwise the time includes running the matched runs.
pub fn sweep(dir: &Path, rows: usize, backend: Backend, min_score: i64) -> Result<Measure, String> {
    let program = project(&sweep_text(min_score))?;
    let conn = open(dir, &format!("sweep{min_score}.sqlite"), &program)?;
    tx::begin(&conn, Scope::Transaction).map_err(err)?;
    for i in 0..rows {
        let region = if i % 2 == 0 { "east" } else { "west" };
        let renewal = crate::time::format_date(SWEEP_DAY + (i % 120) as i32);
        insert_row(
            &conn,
            "account",
            &[
                ("id".into(), Sql::Integer(i as i64)),
                ("name".into(), Sql::Text("a".into())),
                ("score".into(), Sql::Integer((i * 7919 % 1000) as i64)),
                ("region".into(), Sql::Text(region.into())),
                ("renewal".into(), Sql::Text(renewal)),
            ],
        )
        .map_err(err)?;
    }
    tx::commit(&conn, Scope::Transaction).map_err(err)?;
    let today = crate::time::format_date(SWEEP_DAY);
    let began = Instant::now();
    let matching = crate::store::baseline::renewal_count(&conn, min_score, &today).map_err(err)?;
    let sqlite = began.elapsed();
    let engine = Engine::with_connection(conn, program, options(backend)).map_err(err)?;
    engine.advance(Advance::To(START)).map_err(err)?;
    let began = Instant::now();
    engine
        .advance(Advance::To(START + 10 * 3600))
        .map_err(err)?;
    let took = began.elapsed();
    let started = engine.take_report().started as i64;
    if started != matching {
        return Err(format!(
            "the sweep started {started} runs, SQLite counts {matching} rows"
        ));
    }
    Ok(Measure {
        name: "sweep",
        store: SQLITE,
        statements: None,
        work: format!("{rows} rows, {matching} match"),
        took,
        rate: format!("{:.0} ns/row", took.as_nanos() as f64 / rows as f64),
        baseline: Some(("SQLite's own count(*), same WHERE".into(), sqlite)),
    })
}

/// Single-row commits per second in WAL mode.
pub fn commits(dir: &Path, n: usize) -> Result<Measure, String> {
    let conn = crate::store::state::open(&dir.join("commits.sqlite")).map_err(err)?;
    crate::store::baseline::create_commit_table(&conn).map_err(err)?;
    let began = Instant::now();
    for i in 0..n {
        crate::store::baseline::commit_one(&conn, i as i64).map_err(err)?;
    }
    let took = began.elapsed();
    Ok(Measure {
        name: "commits",
        store: SQLITE,
        statements: None,
        work: format!("{n} single-row commits"),
        took,
        rate: format!("{:.0} commits/s", n as f64 / took.as_secs_f64()),
        baseline: None,
    })
}

/// The emails workload's project: a sender, a marketing template with a
/// text and an HTML part, placeholders with formats (`yen`, `date_ja`,
/// `or`) and two http links, and a campaign that sends it to every
/// contact at 09:00.
const EMAILS_TEXT: &str = r#"timezone "UTC"

record user {
  name: text
  email: text
}

record contact {
  name: text
  email: text
  company: text
  amount: int
  renewal: date
  owner: user?
}

sender {
  from: "株式会社サンプル 営業部 <sales@example.jp>"
  reply_to: "sales@example.jp"
  postal_address: "〒100-0001 東京都千代田区千代田1-1"
}

template campaign {
  subject: "{{contact.name}} 様: ご契約更新のご案内（{{contact.renewal | date_ja}}）"
  text: "{{contact.company}}\n{{contact.name}} 様\n\nご契約金額: {{contact.amount | yen}}\n更新日: {{contact.renewal | date_ja}}\n担当: {{contact.owner.name | or '営業部'}}\n\n新しいプラン: https://www.example.jp/plans\nお申し込み: https://www.example.jp/renew?contact={{contact.id}}\n"
  html: "<!DOCTYPE html>\n<html lang=\"ja\">\n<body>\n<p>{{contact.company}}<br>{{contact.name}} 様</p>\n<table>\n<tr><th>ご契約金額</th><td>{{contact.amount | yen}}</td></tr>\n<tr><th>更新日</th><td>{{contact.renewal | date_ja}}</td></tr>\n<tr><th>担当</th><td>{{contact.owner.name | or '営業部'}}</td></tr>\n</table>\n<p><a href=\"https://www.example.jp/plans\">新しいプラン</a> / <a href=\"https://www.example.jp/renew?contact={{contact.id}}\">お申し込み</a></p>\n</body>\n</html>\n"
}

rule campaign
  every day at "09:00" for each contact
  send email campaign to contact
end
"#;

/// The secret the emails workload signs its links with (`FLOWC_SECRET`).
const EMAILS_SECRET: &str = "flowc bench: a fixed test secret";

/// The owners of the emails workload's contacts (every fourth has none).
const EMAILS_OWNERS: i64 = 8;

/// The emails workload's contacts, their owners, and the database they are
/// in.
fn emails_fixture(dir: &Path, n: usize) -> Result<(Connection, crate::ir::Program), String> {
    let program = project(EMAILS_TEXT)?;
    let conn = open(dir, &format!("emails-{n}.sqlite"), &program)?;
    tx::begin(&conn, Scope::Transaction).map_err(err)?;
    for i in 1..=EMAILS_OWNERS {
        insert_row(
            &conn,
            "user",
            &[
                ("id".into(), Sql::Integer(i)),
                ("name".into(), Sql::Text(format!("営業 {i}"))),
                ("email".into(), Sql::Text(format!("sales{i}@example.jp"))),
            ],
        )
        .map_err(err)?;
    }
    for i in 0..n as i64 {
        let owner = match i % 4 {
            0 => Sql::Null,
            _ => Sql::Integer(1 + i % EMAILS_OWNERS),
        };
        insert_row(
            &conn,
            "contact",
            &[
                ("id".into(), Sql::Integer(i)),
                ("name".into(), Sql::Text(format!("山田 花子 {i}"))),
                (
                    "email".into(),
                    Sql::Text(format!("contact{i}@customer{}.example.jp", i % 997)),
                ),
                (
                    "company".into(),
                    Sql::Text(format!("株式会社サンプル{}", i % 997)),
                ),
                ("amount".into(), Sql::Integer(250_000 * (1 + i % 60))),
                (
                    "renewal".into(),
                    Sql::Text(crate::time::format_date(SWEEP_DAY + 45 + (i % 30) as i32)),
                ),
                ("owner".into(), owner),
            ],
        )
        .map_err(err)?;
    }
    tx::commit(&conn, Scope::Transaction).map_err(err)?;
    Ok((conn, program))
}

/// The engine option `flowc run --public-url` sets: links are tracked and
/// the opt-out is a one-click link.
fn public_links() -> Result<crate::mail::token::PublicLinks, String> {
    use crate::mail::token::{PublicLinks, Secret};
    PublicLinks::new("https://flow.example.jp", Secret::new(EMAILS_SECRET)?)
}

/// A campaign of `n` marketing emails, rendered and queued by the engine
/// (time to the outbox, not delivery), beside SQLite inserting the same
/// messages, already rendered, into the same outbox.
pub fn emails(dir: &Path, n: usize, backend: Backend) -> Result<Measure, String> {
    let (conn, program) = emails_fixture(dir, n)?;
    // The same database, for SQLite to insert the messages alone.
    let path = dir.join(format!("emails-{n}.sqlite"));
    let alone_path = dir.join(format!("emails-{n}-alone.sqlite"));
    crate::store::baseline::settle(&conn).map_err(err)?;
    let options = Options {
        public_links: Some(public_links()?),
        ..options(backend)
    };
    let engine = Engine::with_connection(conn, program, options).map_err(err)?;
    engine.advance(Advance::To(START)).map_err(err)?;
    crate::store::baseline::settle(crate::cli::sqlite(&engine)?).map_err(err)?;
    std::fs::copy(&path, &alone_path).map_err(err)?;
    let began = Instant::now();
    engine
        .advance(Advance::To(START + 10 * 3600))
        .map_err(err)?;
    let took = began.elapsed();
    let report = engine.take_report();
    let conn = crate::cli::sqlite(&engine)?;
    let queued = crate::store::baseline::queued_marketing(conn).map_err(err)?;
    if report.queued != n || queued != n as i64 {
        return Err(format!(
            "queued {} emails ({queued} in the outbox with HTML and List-Unsubscribe), expected {n}; {}",
            report.queued,
            report.failures.first().map(String::as_str).unwrap_or("")
        ));
    }
    // The messages as the engine stored them: SQLite inserts them alone.
    let messages = crate::store::baseline::outbox_rows(conn).map_err(err)?;
    drop(engine);
    let alone = crate::store::state::open(&alone_path).map_err(err)?;
    let began = Instant::now();
    insert_messages(&alone, &messages).map_err(err)?;
    let sqlite = began.elapsed();
    Ok(Measure {
        name: "emails",
        store: SQLITE,
        statements: None,
        work: format!("render and queue {n} marketing emails (HTML + text + tracking)"),
        took,
        rate: format!("{:.0} emails/s", n as f64 / took.as_secs_f64()),
        baseline: Some((
            "SQLite alone, the same messages rendered, plain INSERTs".into(),
            sqlite,
        )),
    })
}

/// The baseline of the emails workload: the messages inserted into the
/// outbox, one prepared INSERT each, in one transaction.
fn insert_messages(conn: &Connection, messages: &[Vec<Sql>]) -> rusqlite::Result<()> {
    tx::begin(conn, Scope::Transaction)?;
    crate::store::baseline::insert_outbox_rows(conn, messages)?;
    tx::commit(conn, Scope::Transaction)
}

/// Where else to run the workloads: a PostgreSQL database, and how many
/// workers to process the changes workload with (besides one).
#[derive(Clone, Debug)]
pub struct Postgres {
    pub target: crate::store::target::PgTarget,
    pub workers: Vec<usize>,
}

/// Runs the benchmarks (all, or those named in `only`) in a temporary
/// folder, and each also on PostgreSQL when `postgres` says where, right
/// after SQLite's.
pub fn run_all(
    scale: Scale,
    only: &[String],
    backend: Backend,
    postgres: Option<&Postgres>,
) -> Result<Vec<Measure>, String> {
    let dir = std::env::temp_dir().join(format!("flowc-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(err)?;
    let wanted = |name: &str| only.is_empty() || only.iter().any(|o| o == name);
    let pg = postgres.map(|p| &p.target);
    let result = (|| {
        let mut out = Vec::new();
        if wanted("changes") {
            out.push(changes(&dir, scale.changes, backend)?);
            if let Some(target) = pg {
                out.push(pg::changes(target, scale.changes, backend)?);
            }
            if let Some(postgres) = postgres {
                out.extend(pg::workers(
                    &postgres.target,
                    scale.changes,
                    backend,
                    &postgres.workers,
                )?);
            }
        }
        if wanted("timers") {
            let shapes = [
                (scale.waiting, TimerShape::Together),
                (scale.waiting / 10, TimerShape::Together),
                (scale.waiting, TimerShape::OwnSeconds),
                (scale.waiting, TimerShape::Spread),
            ];
            for (waiting, shape) in shapes {
                out.push(timers(&dir, waiting, scale.due, shape, backend)?);
                if let Some(target) = pg {
                    out.push(pg::timers(target, waiting, scale.due, shape, backend)?);
                }
            }
        }
        if wanted("sweep") {
            for min_score in [990, 1000] {
                out.push(sweep(&dir, scale.rows, backend, min_score)?);
                if let Some(target) = pg {
                    out.push(pg::sweep(target, scale.rows, backend, min_score)?);
                }
            }
        }
        if wanted("commits") {
            out.push(commits(&dir, scale.changes.min(20_000))?);
            if let Some(target) = pg {
                out.push(pg::commits(target, scale.changes.min(20_000))?);
            }
        }
        if wanted("emails") {
            out.push(emails(&dir, scale.emails, backend)?);
        }
        Ok(out)
    })();
    let _ = std::fs::remove_dir_all(&dir);
    result
}

/// The results as a Markdown table; with measurements on PostgreSQL, with
/// a column for the store and one for the statements each ran.
pub fn table(measures: &[Measure]) -> String {
    let both = measures.iter().any(|m| m.store != SQLITE);
    let mut out = String::from(if both {
        "| benchmark | store | work | time | rate | statements | baseline | ratio |\n\
         | --- | --- | --- | --- | --- | --- | --- | --- |\n"
    } else {
        "| benchmark | work | time | rate | baseline | ratio |\n| --- | --- | --- | --- | --- | --- |\n"
    });
    for m in measures {
        let (baseline, ratio) = match &m.baseline {
            Some((what, t)) => (
                format!("{what}: {:.1} ms", t.as_secs_f64() * 1e3),
                format!("{:.2}×", m.took.as_secs_f64() / t.as_secs_f64().max(1e-9)),
            ),
            None => ("".into(), "".into()),
        };
        let time = format!("{:.1} ms", m.took.as_secs_f64() * 1e3);
        if both {
            let statements = match &m.statements {
                Some(s) => format!(
                    "{:.1} per batch of {:.1}; {:.2} per item ({} in {} batches)",
                    s.per_batch(),
                    s.items_per_batch(),
                    s.per_item(),
                    s.statements,
                    s.batches
                ),
                None => String::new(),
            };
            out.push_str(&format!(
                "| {} | {} | {} | {time} | {} | {statements} | {baseline} | {ratio} |\n",
                m.name, m.store, m.work, m.rate
            ));
        } else {
            out.push_str(&format!(
                "| {} | {} | {time} | {} | {baseline} | {ratio} |\n",
                m.name, m.work, m.rate
            ));
        }
    }
    out
}
