//! What `flowc bench --db postgresql://…` needs besides the engine: each
//! workload's schema of its own, its fixtures written set-based
//! (`generate_series`: a million rows in one statement, before the capture
//! triggers exist, as `store::baseline`'s SQLite fixtures are), and what the
//! engine is compared with, PostgreSQL doing the same work alone by
//! hand-written SQL. Kept here so that all SQL text is in the store;
//! nothing else uses it.
//!
//! A workload's user tables and flowc's tables live in one schema, named
//! by the bench, which is also the session's `search_path`; dropping the
//! schema removes everything the workload wrote.

use super::super::sql::ident;
use super::conn::Conn;
use postgres::Client;

type R<T> = Result<T, postgres::Error>;

/// Creates `schema` afresh (dropping one left by an interrupted bench) and
/// makes it the session's `search_path`.
pub fn create_schema(client: &mut Client, schema: &str) -> R<()> {
    let s = ident(schema);
    client.batch_execute(&format!(
        "DROP SCHEMA IF EXISTS {s} CASCADE; CREATE SCHEMA {s}; SET search_path = {s}"
    ))
}

/// Makes `schema` the session's `search_path` (a worker's connection).
pub fn use_schema(client: &mut Client, schema: &str) -> R<()> {
    client.batch_execute(&format!("SET search_path = {}", ident(schema)))
}

/// Drops `schema` and everything in it.
pub fn drop_schema(client: &mut Client, schema: &str) -> R<()> {
    client.batch_execute(&format!("DROP SCHEMA IF EXISTS {} CASCADE", ident(schema)))
}

/// Vacuums and analyzes the schema's tables after a bulk load, so that the
/// engine meets them as a long-running database would be (statistics
/// known, visibility settled), not freshly written.
pub fn settle(client: &mut Client, schema: &str) -> R<()> {
    let tables: Vec<String> = client
        .query(
            "SELECT c.relname::text FROM pg_catalog.pg_class c
             JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
             WHERE n.nspname = $1::text AND c.relkind = 'r' ORDER BY 1",
            &[&schema],
        )?
        .iter()
        .map(|r| r.get(0))
        .collect();
    let s = ident(schema);
    let list: Vec<String> = tables.iter().map(|t| format!("{s}.{}", ident(t))).collect();
    if list.is_empty() {
        return Ok(());
    }
    client.batch_execute(&format!("VACUUM (ANALYZE) {}", list.join(", ")))
}

/// The `changes` workload's contacts: ids `0..rows`, score 0, region
/// `id % 100`.
pub fn insert_contacts(client: &mut Client, rows: i64) -> R<u64> {
    client.execute(
        "INSERT INTO contact (id, name, score, region)
         SELECT i, 'c', 0, i % 100 FROM generate_series(0::bigint, $1::bigint - 1) i",
        &[&rows],
    )
}

/// `n` updates of the contacts' scores, as the SQLite fixture writes them
/// one by one (update `i` sets contact `i % rows` to `i % 97`): a round of
/// `rows` updates per statement, all in one transaction. The capture
/// triggers record each update that changes the value.
pub fn update_scores(client: &mut Client, rows: i64, n: i64) -> R<()> {
    let mut tx = client.transaction()?;
    let mut round = 0;
    while round * rows < n {
        tx.execute(
            "UPDATE contact SET score = (id + $1::bigint) % 97 WHERE id < $2::bigint",
            &[&(round * rows), &(n - round * rows).min(rows)],
        )?;
        round += 1;
    }
    tx.commit()
}

/// Changes captured and not yet taken by a worker.
pub fn pending_changes(client: &mut Client, state_schema: &str) -> R<i64> {
    let s = ident(state_schema);
    Ok(client
        .query_one(&format!("SELECT count(*) FROM {s}.flow_changes"), &[])?
        .get(0))
}

/// Where the timers workload's due runs are (see `flowc bench`).
#[derive(Clone, Copy, Debug)]
pub struct Waiting<'a> {
    pub rule: &'a str,
    pub version: &'a str,
    pub step: &'a str,
    /// Runs waiting, on contacts `0..waiting` (one each).
    pub waiting: i64,
    /// Of which due.
    pub due: i64,
    /// Due runs are every `waiting / due`-th, not the first `due`.
    pub spread: bool,
    /// Due runs wake at their own seconds, not all at one.
    pub own_seconds: bool,
    /// The bench's start: due runs wake at `start + 60` (or `start + 1 +
    /// i % 100,000`), the others 30 days later; all started an hour before.
    pub start: i64,
}

/// The timers workload: `waiting` contacts and a run asleep on each, in
/// two statements, in flowc's tables in `state_schema` (migrated, without
/// capture triggers yet: these inserts are not changes).
pub fn insert_waiting(client: &mut Client, state_schema: &str, w: &Waiting) -> R<()> {
    let s = ident(state_schema);
    let mut tx = client.transaction()?;
    tx.execute(
        "INSERT INTO contact (id, name) SELECT i, 'c' FROM generate_series(0::bigint, $1::bigint - 1) i",
        &[&w.waiting],
    )?;
    let step = (w.waiting / w.due.max(1)).max(1);
    tx.execute(
        &format!(
            "INSERT INTO {s}.flow_runs (rule, version, subject_tbl, subject_id, status, pc, step, \
             wake_at, wait_kind, started_at, updated_at)
             SELECT $1::text, $2::text, 'contact', i, 'waiting', '0', $3::text,
                    CASE WHEN NOT due THEN $9::bigint + 86400 * 30
                         WHEN $8::boolean THEN $9::bigint + 1 + i % 100000
                         ELSE $9::bigint + 60 END,
                    'time', $9::bigint - 3600, $9::bigint - 3600
             FROM (SELECT i, CASE WHEN $7::boolean THEN i % $6::bigint = 0 AND i / $6::bigint < $5::bigint
                                  ELSE i < $5::bigint END AS due
                   FROM generate_series(0::bigint, $4::bigint - 1) i) g
             ORDER BY i"
        ),
        &[
            &w.rule,
            &w.version,
            &w.step,
            &w.waiting,
            &w.due,
            &step,
            &w.spread,
            &w.own_seconds,
            &w.start,
        ],
    )?;
    tx.commit()
}

/// The writes the bench's timer rule makes, done by PostgreSQL alone and
/// set-based: per `batch` due runs, one statement (autocommit) ends them,
/// tags their subjects and writes their two audit lines. The floor for
/// waking runs on this database; returns how many woke.
pub fn wake_alone(c: &mut Conn, state_schema: &str, now: i64, tag: &str, batch: i64) -> R<usize> {
    let s = ident(state_schema);
    let sql = format!(
        "WITH due AS (
           SELECT id FROM {s}.flow_runs WHERE status = 'waiting' AND wake_at <= $1
           ORDER BY wake_at, id LIMIT $3 FOR UPDATE SKIP LOCKED),
         ended AS (
           UPDATE {s}.flow_runs r SET status = 'done', wake_at = NULL, updated_at = $1,
             converted = false, wait_kind = NULL, wait_name = NULL, wait_tbl = NULL,
             wait_row = NULL, wait_clicked = NULL, wait_approval = NULL
           FROM due WHERE r.id = due.id
           RETURNING r.id, r.rule, r.subject_tbl, r.subject_id),
         tagged AS (
           INSERT INTO {s}.flow_tags (tbl, row_id, tag, at)
           SELECT subject_tbl, subject_id, $2, $1 FROM ended ON CONFLICT DO NOTHING),
         logged AS (
           INSERT INTO {s}.flow_log (at, run_id, rule, subject, step, action, detail)
           SELECT $1, e.id, e.rule, e.subject_tbl || ' #' || e.subject_id, a.step, a.action,
                  CASE a.action WHEN 'tagged' THEN e.subject_tbl || ' #' || e.subject_id || ': ' || $2
                                ELSE '' END
           FROM ended e, (VALUES ('tag', 'tagged'), ('', 'done')) a (step, action)
           ORDER BY e.id, a.action DESC)
         SELECT count(*) FROM ended"
    );
    let mut woke = 0;
    loop {
        let n: i64 = c.query_one(&sql, &[&now, &tag, &batch])?.get(0);
        if n == 0 {
            return Ok(woke);
        }
        woke += n as usize;
    }
}

/// The sweep workload's accounts: `rows` of them, half in the east, scores
/// spread over 0–999, renewals over 120 days from day `first_day`.
pub fn insert_accounts(client: &mut Client, rows: i64, first_day: i32) -> R<u64> {
    client.execute(
        "INSERT INTO account (id, name, score, region, renewal)
         SELECT i, 'a', i * 7919 % 1000, CASE WHEN i % 2 = 0 THEN 'east' ELSE 'west' END,
                date '1970-01-01' + ($2::integer + (i % 120)::integer)
         FROM generate_series(0::bigint, $1::bigint - 1) i",
        &[&rows, &first_day],
    )
}

/// `SELECT count(*)` of the accounts the bench's renewal sweep selects:
/// `score >= min_score`, region `east`, renewal 45 to 75 days after `today`
/// (`YYYY-MM-DD`).
pub fn renewal_count(client: &mut Client, min_score: i64, today: &str) -> R<i64> {
    Ok(client
        .query_one(
            "SELECT count(*) FROM account WHERE score >= $1 AND region = 'east'
             AND renewal - $2::text::date BETWEEN 45 AND 75",
            &[&min_score, &today],
        )?
        .get(0))
}

/// Creates the table that [`commit_one`] writes to.
pub fn create_commit_table(client: &mut Client) -> R<()> {
    client.batch_execute(
        "CREATE TABLE t (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, v bigint)",
    )
}

/// One single-row insert, committed on its own (autocommit), prepared once.
pub fn commit_one(c: &mut Conn, v: i64) -> R<()> {
    c.execute("INSERT INTO t (v) VALUES ($1)", &[&v])?;
    Ok(())
}
