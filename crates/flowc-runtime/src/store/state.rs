//! The engine's state tables (`flow_*`), created and upgraded by versioned
//! migrations, in the same SQLite database as the user's records so that a
//! step's effects and the run's progress commit in one transaction.
//!
//! Other programs may read these tables, and may insert into `flow_events`
//! (columns: `name`, `tbl`, `row_id`, `data` JSON, `at` Unix seconds).

use rusqlite::{Connection, OptionalExtension, params};
use std::path::Path;
use std::time::Duration;

/// The newest state layout this flowc knows. A database written by a newer
/// flowc (a higher version) is refused rather than misread.
pub const SCHEMA_VERSION: i64 = 15;

/// Each migration takes the database from version `i` to `i + 1`.
const MIGRATIONS: &[&str] = &[
    r#"
CREATE TABLE IF NOT EXISTS flow_meta (
  key   TEXT PRIMARY KEY,
  value TEXT NOT NULL
);

-- Filled by the capture triggers `flowc run` installs on watched tables.
CREATE TABLE IF NOT EXISTS flow_changes (
  seq    INTEGER PRIMARY KEY AUTOINCREMENT,
  tbl    TEXT NOT NULL,
  row_id INTEGER NOT NULL,
  op     TEXT NOT NULL CHECK (op IN ('insert', 'update', 'delete')),
  old    TEXT,
  new    TEXT,
  -- How many rule-made changes led to this one (0: made outside flowc).
  depth  INTEGER NOT NULL DEFAULT 0,
  run_id INTEGER
);

-- Set by the engine inside its own transactions, read by the capture
-- triggers, so that a change made by a rule carries its cascade depth.
CREATE TABLE IF NOT EXISTS flow_context (
  key   TEXT PRIMARY KEY,
  value INTEGER
);
INSERT OR IGNORE INTO flow_context (key, value) VALUES ('depth', 0), ('run', NULL);

CREATE TABLE IF NOT EXISTS flow_events (
  seq       INTEGER PRIMARY KEY AUTOINCREMENT,
  name      TEXT NOT NULL,
  tbl       TEXT NOT NULL,
  row_id    INTEGER NOT NULL,
  data      TEXT NOT NULL DEFAULT '{}',
  at        INTEGER NOT NULL,
  processed INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS flow_events_pending ON flow_events (processed, at, seq);
CREATE INDEX IF NOT EXISTS flow_events_row ON flow_events (tbl, row_id, name, seq);

CREATE TABLE IF NOT EXISTS flow_runs (
  id          INTEGER PRIMARY KEY,
  rule        TEXT NOT NULL,
  version     TEXT NOT NULL,
  subject_tbl TEXT NOT NULL,
  subject_id  INTEGER NOT NULL,
  status      TEXT NOT NULL CHECK (status IN ('running', 'waiting', 'done', 'failed', 'rejected')),
  -- Where the run is: a path of step indices, and that step's stable name.
  pc          TEXT NOT NULL DEFAULT '',
  step        TEXT NOT NULL DEFAULT '',
  -- While waiting: when it wakes, and what else may wake it (JSON).
  wake_at     INTEGER,
  waiting_for TEXT,
  started_at  INTEGER NOT NULL,
  updated_at  INTEGER NOT NULL,
  -- The event or change that started it (payload, old values), as JSON.
  trigger     TEXT NOT NULL DEFAULT '{}',
  -- The change or event sequence number the run started at.
  start_seq   INTEGER NOT NULL DEFAULT 0,
  depth       INTEGER NOT NULL DEFAULT 0,
  converted   INTEGER NOT NULL DEFAULT 0,
  error       TEXT,
  -- For `wait … unless R opened T`: the record whose engagement ends the wait.
  wait_tbl    TEXT,
  wait_row    INTEGER
);
CREATE INDEX IF NOT EXISTS flow_runs_engagement ON flow_runs (wait_tbl, wait_row) WHERE wait_tbl IS NOT NULL;
-- Narrow and partial indexes: a run changes status several times, and
-- every index it is in must be updated each time.
CREATE INDEX IF NOT EXISTS flow_runs_wake ON flow_runs (wake_at) WHERE status = 'waiting';
CREATE INDEX IF NOT EXISTS flow_runs_waiting ON flow_runs (rule) WHERE status = 'waiting';
CREATE INDEX IF NOT EXISTS flow_runs_subject ON flow_runs (subject_id, subject_tbl);

-- The project text a run's rule version came from, so a waiting run can
-- finish on its old version after the rules change.
CREATE TABLE IF NOT EXISTS flow_versions (
  version TEXT PRIMARY KEY,
  rule    TEXT NOT NULL,
  project TEXT NOT NULL,
  seen_at INTEGER NOT NULL
);

CREATE TABLE IF NOT EXISTS flow_outbox (
  id              INTEGER PRIMARY KEY,
  message_id      TEXT NOT NULL UNIQUE,
  run_id          INTEGER,
  rule            TEXT,
  template        TEXT,
  kind            TEXT NOT NULL DEFAULT 'email',
  to_addr         TEXT NOT NULL,
  from_addr       TEXT,
  reply_to        TEXT,
  subject         TEXT NOT NULL,
  body            TEXT NOT NULL,
  status          TEXT NOT NULL CHECK (status IN ('queued', 'sending', 'finalizing', 'sent', 'unconfirmed', 'failed')),
  attempts        INTEGER NOT NULL DEFAULT 0,
  next_attempt_at INTEGER NOT NULL DEFAULT 0,
  lease_until     INTEGER,
  -- The process (id) delivering it while `sending`.
  claimed_by      INTEGER,
  last_error      TEXT,
  created_at      INTEGER NOT NULL,
  sent_at         INTEGER,
  subject_tbl     TEXT,
  subject_id      INTEGER
);
CREATE INDEX IF NOT EXISTS flow_outbox_due ON flow_outbox (status, next_attempt_at);

CREATE TABLE IF NOT EXISTS flow_list_members (
  list     TEXT NOT NULL,
  row_id   INTEGER NOT NULL,
  added_at INTEGER NOT NULL,
  run_id   INTEGER,
  PRIMARY KEY (list, row_id)
);

CREATE TABLE IF NOT EXISTS flow_tags (
  tbl    TEXT NOT NULL,
  row_id INTEGER NOT NULL,
  tag    TEXT NOT NULL,
  at     INTEGER NOT NULL,
  PRIMARY KEY (tbl, row_id, tag)
);

CREATE TABLE IF NOT EXISTS flow_tasks (
  id           INTEGER PRIMARY KEY,
  run_id       INTEGER,
  rule         TEXT,
  title        TEXT NOT NULL,
  assignee_tbl TEXT NOT NULL,
  assignee_id  INTEGER NOT NULL,
  due          TEXT,
  status       TEXT NOT NULL DEFAULT 'open',
  created_at   INTEGER NOT NULL
);

CREATE TABLE IF NOT EXISTS flow_approvals (
  id           INTEGER PRIMARY KEY,
  run_id       INTEGER NOT NULL,
  rule         TEXT NOT NULL,
  approver_tbl TEXT NOT NULL,
  approver_id  INTEGER NOT NULL,
  status       TEXT NOT NULL CHECK (status IN ('pending', 'approved', 'rejected')),
  requested_at INTEGER NOT NULL,
  decided_at   INTEGER,
  note         TEXT,
  -- Set once the engine has acted on the decision.
  applied      INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS flow_approvals_todo ON flow_approvals (applied, status);

CREATE TABLE IF NOT EXISTS flow_locks (
  tbl       TEXT NOT NULL,
  row_id    INTEGER NOT NULL,
  run_id    INTEGER,
  locked_at INTEGER NOT NULL,
  PRIMARY KEY (tbl, row_id)
);

-- For `when R becomes COND`: the condition's last known value per row.
CREATE TABLE IF NOT EXISTS flow_becomes (
  rule   TEXT NOT NULL,
  row_id INTEGER NOT NULL,
  value  INTEGER NOT NULL,
  PRIMARY KEY (rule, row_id)
);

-- For `every …` sweeps: when each rule's sweep is next due.
CREATE TABLE IF NOT EXISTS flow_schedule (
  rule    TEXT PRIMARY KEY,
  next_at INTEGER NOT NULL
);

CREATE TABLE IF NOT EXISTS flow_log (
  id      INTEGER PRIMARY KEY,
  at      INTEGER NOT NULL,
  run_id  INTEGER,
  rule    TEXT,
  subject TEXT,
  step    TEXT,
  action  TEXT NOT NULL,
  detail  TEXT
);
CREATE INDEX IF NOT EXISTS flow_log_run ON flow_log (run_id);
"#,
    // 2: problems logged without failing a run, counted per rule by `flowc stats`.
    r#"
CREATE INDEX IF NOT EXISTS flow_log_problems ON flow_log (rule) WHERE action = 'problem';
"#,
    // 3: what a run waits for, in typed columns instead of JSON (see
    // `store::runs::Awaited`).
    r#"
-- No CHECK: SQLite builds a temporary table for `IN (…)` on every update of
-- the column, doubling the cost of a run's transitions; store::runs decodes
-- the value and names the row when it is not one of the kinds.
ALTER TABLE flow_runs ADD COLUMN wait_kind TEXT;
ALTER TABLE flow_runs ADD COLUMN wait_name TEXT;
ALTER TABLE flow_runs ADD COLUMN wait_clicked INTEGER;
ALTER TABLE flow_runs ADD COLUMN wait_approval INTEGER;
UPDATE flow_runs SET
  wait_kind = json_extract(waiting_for, '$.kind'),
  wait_name = coalesce(json_extract(waiting_for, '$.name'), json_extract(waiting_for, '$.template')),
  wait_clicked = json_extract(waiting_for, '$.clicked'),
  wait_approval = json_extract(waiting_for, '$.approval')
WHERE status = 'waiting' AND json_valid(waiting_for)
  AND json_extract(waiting_for, '$.kind') IN ('time', 'until', 'unless', 'event', 'engagement', 'approval');
UPDATE flow_runs SET waiting_for = NULL;
CREATE INDEX flow_runs_event_waits ON flow_runs (subject_id, subject_tbl, wait_name)
  WHERE status = 'waiting' AND wait_kind = 'event';
"#,
    // 4: delivery workers, claims owned by a worker with a lease, backoff in
    // engine time, and the suppression list (store/outbox.rs, workers.rs,
    // suppressions.rs).
    r#"
-- One row per delivering process: a random id, never a process id (a pid
-- means nothing in another container or on another machine). `host` and
-- `pid` are for people reading the table.
CREATE TABLE IF NOT EXISTS flow_workers (
  id           TEXT PRIMARY KEY,
  host         TEXT NOT NULL,
  pid          INTEGER NOT NULL,
  started_at   INTEGER NOT NULL,
  heartbeat_at INTEGER NOT NULL
);

-- The worker holding a `sending` or `finalizing` message, until
-- `lease_until` (wall-clock seconds); only an expired lease is taken over.
-- `claimed_by` (a process id) is no longer used.
ALTER TABLE flow_outbox ADD COLUMN worker TEXT;
-- A worker finds what it holds (to renew or give back) without a scan;
-- only claimed messages have a worker.
CREATE INDEX IF NOT EXISTS flow_outbox_worker ON flow_outbox (worker) WHERE worker IS NOT NULL;

-- `next_attempt_at` now counts in engine time: retry what waited in wall
-- time at the next pass.
UPDATE flow_outbox SET next_attempt_at = 0 WHERE status = 'queued';

-- Addresses that get no marketing email (trimmed, lowercased).
CREATE TABLE IF NOT EXISTS flow_suppressions (
  address TEXT PRIMARY KEY COLLATE NOCASE,
  reason  TEXT NOT NULL CHECK (reason IN ('unsubscribed', 'bounced', 'complained', 'manual')),
  at      INTEGER NOT NULL,
  -- Where it came from: the server's answer and the message, a person, …
  source  TEXT
);
"#,
    // 5: a row id is not a person (SQLite reuses the ids of deleted rows).
    r#"
-- 1 once the subject row was deleted: the run belongs to that row, not to
-- a new row given the same id (re-entry does not count it).
ALTER TABLE flow_runs ADD COLUMN subject_gone INTEGER NOT NULL DEFAULT 0;
-- For a delete: the last flow_events.seq committed before it, so events
-- meant for the deleted row are told from those for a new row with its id.
ALTER TABLE flow_changes ADD COLUMN events_seq INTEGER;
"#,
    // 6: the CHECK constraints of the two hottest tables rewritten as `=`
    // chains. SQLite builds a temporary table for `x IN (a, b, c)` each time
    // it checks one, which doubled the cost of every run transition and of
    // every change a capture trigger records (measured: 9.9 µs → 6.1 µs per
    // run update). The tables are rebuilt with the same columns, indexes and
    // rows; flow_changes keeps its sequence (the engine's watermark counts
    // on it). `legacy_alter_table` lets the rename leave the capture
    // triggers, which insert into flow_changes by name, as they are.
    r#"
PRAGMA legacy_alter_table = ON;

CREATE TABLE flow_runs_new (
  id            INTEGER PRIMARY KEY,
  rule          TEXT NOT NULL,
  version       TEXT NOT NULL,
  subject_tbl   TEXT NOT NULL,
  subject_id    INTEGER NOT NULL,
  status        TEXT NOT NULL CHECK (status = 'running' OR status = 'waiting' OR status = 'done'
                                     OR status = 'failed' OR status = 'rejected'),
  -- Where the run is: a path of step indices, and that step's stable name.
  pc            TEXT NOT NULL DEFAULT '',
  step          TEXT NOT NULL DEFAULT '',
  -- While waiting: when it wakes (what else may wake it: wait_*).
  wake_at       INTEGER,
  -- No longer written (state version 3 moved it into wait_*).
  waiting_for   TEXT,
  started_at    INTEGER NOT NULL,
  updated_at    INTEGER NOT NULL,
  -- The event or change that started it (payload, old values), as JSON.
  trigger       TEXT NOT NULL DEFAULT '{}',
  -- The change or event sequence number the run started at.
  start_seq     INTEGER NOT NULL DEFAULT 0,
  depth         INTEGER NOT NULL DEFAULT 0,
  converted     INTEGER NOT NULL DEFAULT 0,
  error         TEXT,
  -- What a waiting run waits for (store::runs::Awaited).
  wait_tbl      TEXT,
  wait_row      INTEGER,
  wait_kind     TEXT CHECK (wait_kind = 'time' OR wait_kind = 'until' OR wait_kind = 'unless'
                            OR wait_kind = 'event' OR wait_kind = 'engagement' OR wait_kind = 'approval'),
  wait_name     TEXT,
  wait_clicked  INTEGER,
  wait_approval INTEGER,
  -- 1 once the subject row was deleted (its id may be reused).
  subject_gone  INTEGER NOT NULL DEFAULT 0
);
INSERT INTO flow_runs_new (id, rule, version, subject_tbl, subject_id, status, pc, step, wake_at, waiting_for,
  started_at, updated_at, trigger, start_seq, depth, converted, error, wait_tbl, wait_row,
  wait_kind, wait_name, wait_clicked, wait_approval, subject_gone)
SELECT id, rule, version, subject_tbl, subject_id, status, pc, step, wake_at, waiting_for,
  started_at, updated_at, trigger, start_seq, depth, converted, error, wait_tbl, wait_row,
  CASE WHEN wait_kind IN ('time', 'until', 'unless', 'event', 'engagement', 'approval') THEN wait_kind END,
  wait_name, wait_clicked, wait_approval, subject_gone
FROM flow_runs;
DROP TABLE flow_runs;
ALTER TABLE flow_runs_new RENAME TO flow_runs;
CREATE INDEX flow_runs_engagement ON flow_runs (wait_tbl, wait_row) WHERE wait_tbl IS NOT NULL;
CREATE INDEX flow_runs_wake ON flow_runs (wake_at) WHERE status = 'waiting';
CREATE INDEX flow_runs_waiting ON flow_runs (rule) WHERE status = 'waiting';
CREATE INDEX flow_runs_subject ON flow_runs (subject_id, subject_tbl);
CREATE INDEX flow_runs_event_waits ON flow_runs (subject_id, subject_tbl, wait_name)
  WHERE status = 'waiting' AND wait_kind = 'event';

CREATE TABLE flow_changes_new (
  seq        INTEGER PRIMARY KEY AUTOINCREMENT,
  tbl        TEXT NOT NULL,
  row_id     INTEGER NOT NULL,
  op         TEXT NOT NULL CHECK (op = 'insert' OR op = 'update' OR op = 'delete'),
  old        TEXT,
  new        TEXT,
  -- How many rule-made changes led to this one (0: made outside flowc).
  depth      INTEGER NOT NULL DEFAULT 0,
  run_id     INTEGER,
  -- For a delete: the last flow_events.seq committed before it.
  events_seq INTEGER
);
INSERT INTO flow_changes_new (seq, tbl, row_id, op, old, new, depth, run_id, events_seq)
SELECT seq, tbl, row_id, op, old, new, depth, run_id, events_seq FROM flow_changes;
-- The sequence goes on from where it was, even past deleted rows.
INSERT INTO sqlite_sequence (name, seq)
SELECT 'flow_changes_new', 0 WHERE NOT EXISTS (SELECT 1 FROM sqlite_sequence WHERE name = 'flow_changes_new');
UPDATE sqlite_sequence
SET seq = max(seq, coalesce((SELECT seq FROM sqlite_sequence WHERE name = 'flow_changes'), 0))
WHERE name = 'flow_changes_new';
DROP TABLE flow_changes;
ALTER TABLE flow_changes_new RENAME TO flow_changes;

PRAGMA legacy_alter_table = OFF;
"#,
    // 7: rows holding a value not in the form flowc reads (kept by the
    // capture install and the `flow_odd_*` triggers; store::capture).
    r#"
CREATE TABLE IF NOT EXISTS flow_odd_rows (
  tbl    TEXT NOT NULL,
  row_id INTEGER NOT NULL,
  PRIMARY KEY (tbl, row_id)
) WITHOUT ROWID;
"#,
    // 8: an approval can be `cancelled` (its run ended because its subject
    // row was deleted), and its CHECK is an `=` chain (see version 6).
    r#"
CREATE TABLE flow_approvals_new (
  id           INTEGER PRIMARY KEY,
  run_id       INTEGER NOT NULL,
  rule         TEXT NOT NULL,
  approver_tbl TEXT NOT NULL,
  approver_id  INTEGER NOT NULL,
  status       TEXT NOT NULL CHECK (status = 'pending' OR status = 'approved' OR status = 'rejected'
                                    OR status = 'cancelled'),
  requested_at INTEGER NOT NULL,
  decided_at   INTEGER,
  note         TEXT,
  -- Set once the engine has acted on the decision.
  applied      INTEGER NOT NULL DEFAULT 0
);
INSERT INTO flow_approvals_new (id, run_id, rule, approver_tbl, approver_id, status, requested_at, decided_at, note, applied)
SELECT id, run_id, rule, approver_tbl, approver_id, status, requested_at, decided_at, note, applied FROM flow_approvals;
DROP TABLE flow_approvals;
ALTER TABLE flow_approvals_new RENAME TO flow_approvals;
CREATE INDEX flow_approvals_todo ON flow_approvals (applied, status);
"#,
    // 9: every waiting run was in an index by rule, so each wake also
    // rewrote a page of it (a third of the pages a wake dirties). Only runs
    // waiting for a condition are looked up by rule; the few commands that
    // count all waiting runs by rule scan the table instead.
    r#"
DROP INDEX IF EXISTS flow_runs_waiting;
CREATE INDEX flow_runs_conditions ON flow_runs (rule)
  WHERE status = 'waiting' AND (wait_kind = 'until' OR wait_kind = 'unless');
"#,
    // 10: a worker's lease, and whether it keeps running (`flowc run
    // --watch`): a simulation needs the database to itself and is refused
    // while a watching worker's heartbeat is younger than its lease.
    r#"
ALTER TABLE flow_workers ADD COLUMN lease_seconds INTEGER NOT NULL DEFAULT 300;
ALTER TABLE flow_workers ADD COLUMN watching INTEGER NOT NULL DEFAULT 0;
"#,
    // 11: email a step did not send because its address is suppressed (§8),
    // counted per rule by `flowc stats` without reading the whole log.
    r#"
CREATE INDEX IF NOT EXISTS flow_log_suppressed ON flow_log (rule) WHERE action = 'suppressed';
"#,
    // 12: a message's HTML part (§8: text and HTML make it
    // multipart/alternative) and its `List-Unsubscribe` value (marketing
    // mail only), both rendered when the step queued it.
    r#"
ALTER TABLE flow_outbox ADD COLUMN html TEXT;
ALTER TABLE flow_outbox ADD COLUMN list_unsubscribe TEXT;
"#,
    // 13: engagement is per message (§8): the record a message went to
    // (where its opens and clicks are recorded), the original URLs of its
    // tracked links (a click redirects only to one of them), and the run's
    // messages of a template found without a scan.
    r#"
ALTER TABLE flow_outbox ADD COLUMN recipient_tbl TEXT;
ALTER TABLE flow_outbox ADD COLUMN recipient_id INTEGER;
ALTER TABLE flow_outbox ADD COLUMN links TEXT;
CREATE INDEX IF NOT EXISTS flow_outbox_run ON flow_outbox (run_id, template);
"#,
    // 14: `flowc serve` (§9): a webhook's `Idempotency-Key`, kept a day so
    // that a repeated request gets the first answer (the event it
    // recorded) and records nothing new, whichever serve process it
    // reaches. `at` is wall-clock seconds of the first use; `event_id` is
    // set in the transaction that inserts the row.
    r#"
CREATE TABLE IF NOT EXISTS flow_idempotency_keys (
  scope    TEXT NOT NULL,
  key      TEXT NOT NULL,
  event_id INTEGER,
  at       INTEGER NOT NULL,
  PRIMARY KEY (scope, key)
);
CREATE INDEX IF NOT EXISTS flow_idempotency_keys_at ON flow_idempotency_keys (at);
"#,
    // 15: approvals by email (§9): who decided an approval (the approver
    // its link was sent to, or `flowc approvals`); `note` holds the comment.
    r#"
ALTER TABLE flow_approvals ADD COLUMN decided_by TEXT;
"#,
];

/// Why the state tables cannot be used.
#[derive(Debug)]
pub enum StateError {
    /// The database was written by a newer flowc.
    TooNew {
        found: i64,
        known: i64,
    },
    /// A stored value that cannot be read: the table, the row (its key or
    /// id) and what it holds. Never replaced by a default.
    Corrupt {
        table: &'static str,
        row: String,
        value: String,
        expected: &'static str,
    },
    /// A read-only command was pointed at a database flowc never ran on.
    NoState,
    Database(super::error::DbError),
}

impl std::fmt::Display for StateError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StateError::TooNew { found, known } => write!(
                f,
                "this database's flowc state is version {found}, but this flowc only knows versions up to {known}; \
                 use a newer flowc"
            ),
            StateError::Corrupt {
                table,
                row,
                value,
                expected,
            } => write!(
                f,
                "{table} row {row} holds {value:?}, which is not {expected}; \
                 the stored state is damaged (fix or delete that row)"
            ),
            StateError::NoState => write!(
                f,
                "this database has no flowc state (`flowc run` has never run on it)"
            ),
            StateError::Database(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for StateError {}

impl From<rusqlite::Error> for StateError {
    fn from(e: rusqlite::Error) -> StateError {
        StateError::Database(e.into())
    }
}

impl From<super::error::DbError> for StateError {
    fn from(e: super::error::DbError) -> StateError {
        StateError::Database(e)
    }
}

/// Opens (creating if needed) a database for the engine: WAL mode, a busy
/// timeout so that two processes take turns, foreign keys off (flowc
/// reports dangling references itself), and the state tables migrated.
pub fn open(path: &Path) -> Result<Connection, StateError> {
    let conn = Connection::open(path)?;
    configure(&conn)?;
    migrate(&conn)?;
    Ok(conn)
}

/// Opens a database flowc has run on, for the commands that only look:
/// read-only, so that a mistyped path or a stray file (an empty one
/// included) is never turned into a database, and nothing is migrated.
pub fn open_read_only(path: &Path) -> Result<Connection, StateError> {
    let conn = Connection::open_with_flags(
        path,
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    conn.busy_timeout(Duration::from_secs(30))?;
    match version(&conn)? {
        0 => Err(StateError::NoState),
        found if found > SCHEMA_VERSION => Err(StateError::TooNew {
            found,
            known: SCHEMA_VERSION,
        }),
        _ => Ok(conn),
    }
}

/// Connection settings every engine connection uses.
pub fn configure(conn: &Connection) -> rusqlite::Result<()> {
    conn.busy_timeout(Duration::from_secs(30))?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    // In WAL mode a commit survives the process being killed; NORMAL only
    // risks the last commits on an operating-system crash or power loss.
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    // A 64 MiB page cache and memory-mapped reads: large tables (a million
    // waiting runs) would otherwise be read page by page with a syscall each.
    conn.pragma_update(None, "cache_size", -65_536)?;
    conn.pragma_update(None, "mmap_size", 268_435_456)?;
    // Copy the write-ahead log into the database (a checkpoint, with its
    // fsyncs) when the engine is idle ([`checkpoint`]) rather than every
    // 4 MiB in the middle of a batch; 64 MiB bounds the log in between.
    conn.pragma_update(None, "wal_autocheckpoint", WAL_PAGES)?;
    Ok(())
}

/// Pages the write-ahead log may reach before a commit checkpoints it.
const WAL_PAGES: i64 = 16_384;

/// Copies what the write-ahead log holds into the database file, as far
/// as readers allow (`PASSIVE`: it never waits for another process).
/// Called when the engine has nothing due.
pub fn checkpoint(conn: &Connection) -> rusqlite::Result<()> {
    conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()))
}

/// The state layout version stored in the database (0 if none).
pub fn version(conn: &Connection) -> rusqlite::Result<i64> {
    let exists: bool = conn.query_row(
        "SELECT EXISTS (SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = 'flow_meta')",
        [],
        |r| r.get(0),
    )?;
    if !exists {
        return Ok(0);
    }
    let v: Option<String> = conn
        .query_row(
            "SELECT value FROM flow_meta WHERE key = 'schema_version'",
            [],
            |r| r.get(0),
        )
        .optional()?;
    Ok(v.and_then(|v| v.parse().ok()).unwrap_or(0))
}

/// Brings the state tables to [`SCHEMA_VERSION`], one migration per
/// transaction; refuses a newer database.
pub fn migrate(conn: &Connection) -> Result<(), StateError> {
    let found = version(conn)?;
    if found > SCHEMA_VERSION {
        return Err(StateError::TooNew {
            found,
            known: SCHEMA_VERSION,
        });
    }
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(found as usize) {
        let next = i as i64 + 1;
        conn.execute_batch("BEGIN IMMEDIATE")?;
        let applied = conn.execute_batch(sql).and_then(|_| {
            conn.execute(
                "INSERT INTO flow_meta (key, value) VALUES ('schema_version', ?1)
                 ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                params![next.to_string()],
            )
        });
        match applied {
            Ok(_) => conn.execute_batch("COMMIT")?,
            Err(e) => {
                conn.execute_batch("ROLLBACK; PRAGMA legacy_alter_table = OFF")?;
                return Err(e.into());
            }
        }
    }
    Ok(())
}

/// A value in `flow_meta`.
pub fn meta(conn: &Connection, key: &str) -> rusqlite::Result<Option<String>> {
    // Cached: the engine asks for its instance id once per message queued.
    conn.prepare_cached("SELECT value FROM flow_meta WHERE key = ?1")?
        .query_row([key], |r| r.get(0))
        .optional()
}

pub fn set_meta(conn: &Connection, key: &str, value: &str) -> rusqlite::Result<()> {
    conn.execute(
        "INSERT INTO flow_meta (key, value) VALUES (?1, ?2) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        params![key, value],
    )?;
    Ok(())
}

/// An integer kept in `flow_meta`: `None` when absent, an error naming the
/// row when it holds anything but an integer.
pub fn int_meta(conn: &Connection, key: &str) -> Result<Option<i64>, StateError> {
    meta(conn, key)?
        .map(|text| parse_int_meta(key, text))
        .transpose()
}

/// The integer `flow_meta` row `key` holds as `text`, or an error naming
/// the row (on either backend).
pub fn parse_int_meta(key: &str, text: String) -> Result<i64, StateError> {
    text.trim().parse().map_err(|_| StateError::Corrupt {
        table: "flow_meta",
        row: format!("`{key}`"),
        value: text,
        expected: "an integer",
    })
}

/// The engine's stored clock (Unix seconds), `None` before the first run.
pub fn clock(conn: &Connection) -> Result<Option<i64>, StateError> {
    int_meta(conn, "clock")
}

/// Moves the stored clock forward to `t` and returns the stored clock,
/// which is later than `t` when another process has already moved it
/// further: the clock only ever moves forward (`max`), whatever the
/// interleaving of processes. One statement, so atomic on its own.
pub fn advance_clock(conn: &Connection, t: i64) -> Result<i64, StateError> {
    clock(conn)?; // a damaged clock is an error, not something to overwrite
    let stored: String = conn
        .prepare_cached(
            "INSERT INTO flow_meta (key, value) VALUES ('clock', ?1) \
             ON CONFLICT (key) DO UPDATE SET value = CAST(max(CAST(value AS INTEGER), CAST(excluded.value AS INTEGER)) AS TEXT) \
             RETURNING value",
        )?
        .query_row(params![t.to_string()], |r| r.get(0))?;
    parse_int_meta("clock", stored)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migrates_once_and_refuses_newer_databases() {
        let dir = tempfile::tempdir().expect("tmp");
        let path = dir.path().join("db.sqlite");
        let conn = open(&path).expect("open");
        assert_eq!(version(&conn).ok(), Some(SCHEMA_VERSION));
        drop(conn);
        let conn = open(&path).expect("reopen");
        set_meta(&conn, "schema_version", "99").expect("set");
        drop(conn);
        match open(&path) {
            Err(StateError::TooNew { found: 99, .. }) => {}
            other => panic!("expected TooNew, got {other:?}"),
        }
    }

    /// A run waiting in a version-1 database (what it waits for as JSON)
    /// is read with typed columns after the upgrade.
    #[test]
    fn waits_stored_as_json_survive_the_upgrade() {
        let conn = Connection::open_in_memory().expect("memory db");
        conn.execute_batch(MIGRATIONS[0]).expect("version 1");
        set_meta(&conn, "schema_version", "1").expect("version");
        conn.execute_batch(
            "INSERT INTO flow_runs (id, rule, version, subject_tbl, subject_id, status, pc, step, started_at, updated_at, waiting_for)
             VALUES (1, 'r', 'v', 'contact', 7, 'waiting', '1', 'w', 0, 0, '{\"kind\":\"event\",\"name\":\"replied\"}'),
                    (2, 'r', 'v', 'contact', 8, 'waiting', '1', 'w', 0, 0, '{\"kind\":\"approval\",\"approval\":4}'),
                    (3, 'r', 'v', 'contact', 9, 'waiting', '1', 'w', 0, 0, 'not json');",
        )
        .expect("runs");
        migrate(&conn).expect("upgrade");
        let awaited = |id| super::super::runs::load(&conn, id).map(|r| r.and_then(|r| r.awaited));
        assert_eq!(
            awaited(1).ok(),
            Some(Some(super::super::runs::Awaited::Event {
                name: "replied".into()
            }))
        );
        assert_eq!(
            awaited(2).ok(),
            Some(Some(super::super::runs::Awaited::Approval(4)))
        );
        // A wait that could not be read before is an error now, not a default.
        assert!(awaited(3).is_err());
    }

    /// Version 6 rebuilds flow_runs and flow_changes: rows, indexes and the
    /// change sequence survive, the capture triggers go on recording into
    /// the new table, and the CHECKs no longer build a table per write.
    #[test]
    fn the_rebuild_of_version_6_keeps_rows_sequence_and_triggers() {
        let conn = Connection::open_in_memory().expect("memory db");
        for sql in &MIGRATIONS[..5] {
            conn.execute_batch(sql).expect("versions 1 to 5");
        }
        set_meta(&conn, "schema_version", "5").expect("version");
        conn.execute_batch(
            "CREATE TABLE contact (id INTEGER PRIMARY KEY, name TEXT);
             CREATE TRIGGER capture AFTER INSERT ON contact BEGIN
               INSERT INTO flow_changes (tbl, row_id, op, new) VALUES ('contact', NEW.id, 'insert', '{}');
             END;
             INSERT INTO contact VALUES (1, 'a'), (2, 'b'), (3, 'c');
             DELETE FROM flow_changes WHERE seq = 3;
             INSERT INTO flow_runs (id, rule, version, subject_tbl, subject_id, status, pc, step, started_at,
               updated_at, wake_at, wait_kind) VALUES (9, 'r', 'v', 'contact', 1, 'waiting', '1', 'w', 0, 0, 60, 'time');",
        )
        .expect("version 5 data");
        migrate(&conn).expect("upgrade");
        conn.execute("INSERT INTO contact VALUES (4, 'd')", [])
            .expect("captured");
        let seqs: Vec<i64> = conn
            .prepare("SELECT seq FROM flow_changes ORDER BY seq")
            .and_then(|mut s| s.query_map([], |r| r.get(0))?.collect())
            .expect("changes");
        assert_eq!(seqs, [1, 2, 4], "the deleted seq 3 is not handed out again");
        let run = super::super::runs::load(&conn, 9)
            .expect("load")
            .expect("run");
        assert_eq!(run.awaited, Some(super::super::runs::Awaited::Time));
        let schema: String = conn
            .query_row(
                "SELECT group_concat(sql, ' ') FROM sqlite_schema WHERE tbl_name IN ('flow_runs', 'flow_changes')",
                [],
                |r| r.get(0),
            )
            .expect("schema");
        assert!(!schema.contains(" IN ("), "{schema}");
        assert_eq!(schema.matches("CREATE INDEX").count(), 5, "{schema}");
        let legacy: i64 = conn
            .query_row("PRAGMA legacy_alter_table", [], |r| r.get(0))
            .expect("pragma");
        assert_eq!(legacy, 0);
    }

    #[test]
    fn the_clock_only_moves_forward_and_a_damaged_one_is_an_error() {
        let conn = Connection::open_in_memory().expect("memory db");
        migrate(&conn).expect("migrate");
        assert_eq!(clock(&conn).ok(), Some(None));
        assert_eq!(advance_clock(&conn, 100).ok(), Some(100));
        // A slower process writing back an earlier time leaves it alone.
        assert_eq!(advance_clock(&conn, 50).ok(), Some(100));
        assert_eq!(clock(&conn).ok(), Some(Some(100)));
        set_meta(&conn, "clock", "soon").expect("set");
        let err = clock(&conn).expect_err("damaged");
        assert!(
            err.to_string()
                .contains("flow_meta row `clock` holds \"soon\""),
            "{err}"
        );
        assert!(advance_clock(&conn, 200).is_err());
    }
}
