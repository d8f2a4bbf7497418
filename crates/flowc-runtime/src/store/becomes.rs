//! `flow_becomes`: for `when R becomes COND`, the condition's last known
//! value per rule and row, so that the rule fires when it turns true.

use rusqlite::{Connection, OptionalExtension, params};

/// The last value seen for `rule` on `row` (`None`: never looked at).
pub fn last(conn: &Connection, rule: &str, row: i64) -> rusqlite::Result<Option<bool>> {
    conn.prepare_cached("SELECT value FROM flow_becomes WHERE rule = ?1 AND row_id = ?2")?
        .query_row(params![rule, row], |r| r.get(0))
        .optional()
}

pub fn remember(conn: &Connection, rule: &str, row: i64, value: bool) -> rusqlite::Result<()> {
    conn.prepare_cached(
        "INSERT INTO flow_becomes (rule, row_id, value) VALUES (?1, ?2, ?3) \
         ON CONFLICT (rule, row_id) DO UPDATE SET value = excluded.value",
    )?
    .execute(params![rule, row, value])?;
    Ok(())
}

/// Forgets what was seen for `rule` on `row` (the row was deleted).
pub fn forget(conn: &Connection, rule: &str, row: i64) -> rusqlite::Result<()> {
    conn.prepare_cached("DELETE FROM flow_becomes WHERE rule = ?1 AND row_id = ?2")?
        .execute(params![rule, row])?;
    Ok(())
}
