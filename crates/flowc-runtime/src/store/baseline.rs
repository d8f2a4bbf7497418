//! What `flowc bench` compares the engine with: SQLite doing the same work
//! alone, by hand-written SQL. Kept here so that all SQL text is in the
//! store; nothing else uses it.

use rusqlite::Connection;

/// `SELECT count(*)` of the accounts the bench's renewal sweep selects:
/// `score >= min_score`, region `east`, renewal 45 to 75 days after `today`.
pub fn renewal_count(conn: &Connection, min_score: i64, today: &str) -> rusqlite::Result<i64> {
    conn.query_row(
        "SELECT count(*) FROM account WHERE score >= ?1 AND region = 'east' \
         AND julianday(renewal) - julianday(?2) BETWEEN 45 AND 75",
        rusqlite::params![min_score, today],
        |r| r.get(0),
    )
}

/// Creates the table that [`commit_one`] writes to.
pub fn create_commit_table(conn: &Connection) -> rusqlite::Result<()> {
    conn.execute_batch("CREATE TABLE t (id INTEGER PRIMARY KEY, v INTEGER)")
}

/// One single-row insert, committed on its own (autocommit).
pub fn commit_one(conn: &Connection, v: i64) -> rusqlite::Result<()> {
    conn.prepare_cached("INSERT INTO t (v) VALUES (?1)")?
        .execute([v])?;
    Ok(())
}

/// The writes the bench's timer rule makes, done by SQLite alone and set
/// based: in transactions of `batch` due runs, one `UPDATE` ends them, one
/// `INSERT` tags their subjects, one `INSERT` writes their two log lines.
/// The floor for waking runs on this database; returns how many woke.
pub fn wake_alone(conn: &Connection, now: i64, tag: &str, batch: i64) -> rusqlite::Result<usize> {
    let mut woke = 0;
    loop {
        conn.execute_batch("BEGIN IMMEDIATE")?;
        let ids: Vec<i64> = conn
            .prepare_cached(
                "SELECT id FROM flow_runs WHERE status = 'waiting' AND wake_at <= ?1 \
                 ORDER BY wake_at, id LIMIT ?2",
            )?
            .query_map(rusqlite::params![now, batch], |r| r.get(0))?
            .collect::<rusqlite::Result<_>>()?;
        if ids.is_empty() {
            conn.execute_batch("COMMIT")?;
            return Ok(woke);
        }
        let json = serde_json::to_string(&ids).unwrap_or_default();
        conn.prepare_cached(
            "UPDATE flow_runs SET status = 'done', wake_at = NULL, updated_at = ?2, converted = 0, \
             wait_kind = NULL, wait_name = NULL, wait_tbl = NULL, wait_row = NULL, wait_clicked = NULL, \
             wait_approval = NULL WHERE id IN (SELECT value FROM json_each(?1)) AND status = 'waiting'",
        )?
        .execute(rusqlite::params![json, now])?;
        conn.prepare_cached(
            "INSERT OR IGNORE INTO flow_tags (tbl, row_id, tag, at) \
             SELECT r.subject_tbl, r.subject_id, ?2, ?3 FROM json_each(?1) j JOIN flow_runs r ON r.id = j.value",
        )?
        .execute(rusqlite::params![json, tag, now])?;
        conn.prepare_cached(
            "INSERT INTO flow_log (at, run_id, rule, subject, step, action, detail) \
             SELECT ?2, r.id, r.rule, r.subject_tbl || ' #' || r.subject_id, a.step, a.action, \
                    CASE a.action WHEN 'tagged' THEN r.subject_tbl || ' #' || r.subject_id || ': ' || ?3 ELSE '' END \
             FROM json_each(?1) j JOIN flow_runs r ON r.id = j.value, \
                  (SELECT 'tag' AS step, 'tagged' AS action UNION ALL SELECT '', 'done') a \
             ORDER BY r.id, a.action DESC",
        )?
        .execute(rusqlite::params![json, now, tag])?;
        conn.execute_batch("COMMIT")?;
        woke += ids.len();
    }
}

/// Moves the whole write-ahead log into the database file and empties it,
/// so that the file can be copied.
pub fn settle(conn: &Connection) -> rusqlite::Result<()> {
    conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))
}

/// The `email` of every `n`th `contact` by id (the demo's contacts who
/// unsubscribed before its month).
pub fn every_nth_contact_email(conn: &Connection, n: i64) -> rusqlite::Result<Vec<String>> {
    conn.prepare("SELECT email FROM contact WHERE id % ?1 = 0 ORDER BY id")?
        .query_map([n], |r| r.get(0))?
        .collect()
}

/// How many queued messages have an HTML part and a `List-Unsubscribe`
/// header (the emails workload checks that every one it queued has both).
pub fn queued_marketing(conn: &Connection) -> rusqlite::Result<i64> {
    conn.query_row(
        "SELECT count(*) FROM flow_outbox WHERE status = 'queued' AND html IS NOT NULL \
         AND list_unsubscribe IS NOT NULL",
        [],
        |r| r.get(0),
    )
}

/// The outbox's columns a queued message fills, for the emails workload's
/// baseline copy.
const OUTBOX_COLUMNS: &str = "message_id, run_id, rule, template, kind, to_addr, from_addr, \
     reply_to, subject, body, status, attempts, next_attempt_at, created_at, subject_tbl, \
     subject_id, html, list_unsubscribe, recipient_tbl, recipient_id, links";
const OUTBOX_WIDTH: usize = 21;

/// Every outbox row as the engine stored it ([`OUTBOX_COLUMNS`]).
pub fn outbox_rows(conn: &Connection) -> rusqlite::Result<Vec<Vec<rusqlite::types::Value>>> {
    conn.prepare(&format!(
        "SELECT {OUTBOX_COLUMNS} FROM flow_outbox ORDER BY id"
    ))?
    .query_map([], |r| (0..OUTBOX_WIDTH).map(|i| r.get(i)).collect())?
    .collect()
}

/// Inserts rows [`outbox_rows`] read, one prepared INSERT each (in the
/// caller's transaction).
pub fn insert_outbox_rows(
    conn: &Connection,
    rows: &[Vec<rusqlite::types::Value>],
) -> rusqlite::Result<()> {
    let marks = vec!["?"; OUTBOX_WIDTH].join(", ");
    let mut insert = conn.prepare(&format!(
        "INSERT INTO flow_outbox ({OUTBOX_COLUMNS}) VALUES ({marks})"
    ))?;
    for row in rows {
        insert.execute(rusqlite::params_from_iter(row))?;
    }
    Ok(())
}
