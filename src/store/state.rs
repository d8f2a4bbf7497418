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
pub const SCHEMA_VERSION: i64 = 2;

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
    // 2: a row id is not a person (SQLite reuses the ids of deleted rows).
    r#"
-- 1 once the subject row was deleted: the run belongs to that row, not to
-- a new row given the same id (re-entry does not count it).
ALTER TABLE flow_runs ADD COLUMN subject_gone INTEGER NOT NULL DEFAULT 0;
-- For a delete: the last flow_events.seq committed before it, so events
-- meant for the deleted row are told from those for a new row with its id.
ALTER TABLE flow_changes ADD COLUMN events_seq INTEGER;
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
    Sqlite(rusqlite::Error),
}

impl std::fmt::Display for StateError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StateError::TooNew { found, known } => write!(
                f,
                "this database's flowc state is version {found}, but this flowc only knows versions up to {known}; \
                 use a newer flowc"
            ),
            StateError::Sqlite(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for StateError {}

impl From<rusqlite::Error> for StateError {
    fn from(e: rusqlite::Error) -> StateError {
        StateError::Sqlite(e)
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
    Ok(())
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
                conn.execute_batch("ROLLBACK")?;
                return Err(e.into());
            }
        }
    }
    Ok(())
}

/// A value in `flow_meta`.
pub fn meta(conn: &Connection, key: &str) -> rusqlite::Result<Option<String>> {
    conn.query_row("SELECT value FROM flow_meta WHERE key = ?1", [key], |r| {
        r.get(0)
    })
    .optional()
}

pub fn set_meta(conn: &Connection, key: &str, value: &str) -> rusqlite::Result<()> {
    conn.execute(
        "INSERT INTO flow_meta (key, value) VALUES (?1, ?2) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        params![key, value],
    )?;
    Ok(())
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
}
