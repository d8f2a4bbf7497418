//! `flow_workers`: one row per delivering process. A worker is a random
//! id, never a process id: a pid means nothing in another container or on
//! another machine, and is reused. Claims in `flow_outbox` name their
//! worker and carry a lease; `host` and `pid` are only for people.

use rusqlite::{Connection, params};

/// How long after its last heartbeat a worker's row is removed by the
/// next worker to start (its claims expired long before).
const FORGET_AFTER_SECONDS: i64 = 86_400;

/// Records worker `id` as started at wall time `now`, and forgets workers
/// silent for a day (processes that were killed before they could retire).
pub fn register(
    conn: &Connection,
    id: &str,
    host: &str,
    pid: u32,
    now: i64,
) -> rusqlite::Result<()> {
    conn.prepare_cached("DELETE FROM flow_workers WHERE heartbeat_at < ?1")?
        .execute([now - FORGET_AFTER_SECONDS])?;
    conn.prepare_cached(
        "INSERT INTO flow_workers (id, host, pid, started_at, heartbeat_at) VALUES (?1, ?2, ?3, ?4, ?4)",
    )?
    .execute(params![id, host, pid, now])?;
    Ok(())
}

/// The worker is alive at wall time `now`.
pub fn heartbeat(conn: &Connection, id: &str, now: i64) -> rusqlite::Result<()> {
    conn.prepare_cached("UPDATE flow_workers SET heartbeat_at = ?2 WHERE id = ?1")?
        .execute(params![id, now])?;
    Ok(())
}

/// The worker is done (its process exits).
pub fn retire(conn: &Connection, id: &str) -> rusqlite::Result<()> {
    conn.prepare_cached("DELETE FROM flow_workers WHERE id = ?1")?
        .execute([id])?;
    Ok(())
}
