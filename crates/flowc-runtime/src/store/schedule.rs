//! What is due when: `flow_schedule` (when each sweep is next due), due
//! timers, and the next due time of anything.

use rusqlite::{Connection, OptionalExtension, params};

/// Gives a sweep rule its first due time unless it has one.
pub fn ensure(conn: &Connection, rule: &str, next_at: i64) -> rusqlite::Result<()> {
    conn.prepare_cached("INSERT OR IGNORE INTO flow_schedule (rule, next_at) VALUES (?1, ?2)")?
        .execute(params![rule, next_at])?;
    Ok(())
}

/// Sweeps due at or before `now`, earliest first (rule names).
pub fn due(conn: &Connection, now: i64) -> rusqlite::Result<Vec<(String, i64)>> {
    conn.prepare_cached(
        "SELECT rule, next_at FROM flow_schedule WHERE next_at <= ?1 ORDER BY next_at, rule",
    )?
    .query_map([now], |r| Ok((r.get(0)?, r.get(1)?)))?
    .collect()
}

/// When `rule`'s sweep is next due.
pub fn next_at(conn: &Connection, rule: &str) -> rusqlite::Result<Option<i64>> {
    conn.prepare_cached("SELECT next_at FROM flow_schedule WHERE rule = ?1")?
        .query_row([rule], |r| r.get(0))
        .optional()
}

pub fn set_next_at(conn: &Connection, rule: &str, next_at: i64) -> rusqlite::Result<()> {
    conn.prepare_cached("UPDATE flow_schedule SET next_at = ?2 WHERE rule = ?1")?
        .execute(params![rule, next_at])?;
    Ok(())
}

/// The earliest time after `t` at which an event, a timer or a sweep is due.
pub fn next_due_after(conn: &Connection, t: i64) -> rusqlite::Result<Option<i64>> {
    let next: Option<i64> = conn
        .prepare_cached(
            "SELECT min(x) FROM (
               SELECT min(wake_at) AS x FROM flow_runs WHERE status = 'waiting' AND wake_at > ?1
               UNION ALL SELECT min(next_at) FROM flow_schedule WHERE next_at > ?1)",
        )?
        .query_row([t], |r| r.get(0))?;
    let event = super::events::next_after(conn, t)?;
    Ok(match (next, event) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    })
}

/// The newest change and event sequence numbers: when either moves,
/// processing wrote something that must be looked at before later items.
pub fn activity(conn: &Connection) -> rusqlite::Result<(i64, i64)> {
    conn.prepare_cached(
        "SELECT (SELECT coalesce(max(seq), 0) FROM flow_changes), (SELECT coalesce(max(seq), 0) FROM flow_events)",
    )?
    .query_row([], |r| Ok((r.get(0)?, r.get(1)?)))
}
