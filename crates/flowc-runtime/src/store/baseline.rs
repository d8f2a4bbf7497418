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
