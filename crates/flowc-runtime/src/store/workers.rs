//! `flow_workers`: one row per delivering process. A worker is a random
//! id, never a process id: a pid means nothing in another container or on
//! another machine, and is reused. Claims in `flow_outbox` name their
//! worker and carry a lease; `host` and `pid` are only for people.

use rusqlite::{Connection, params};

/// How long after its last heartbeat a worker's row is removed by the
/// next worker to start (its claims expired long before).
const FORGET_AFTER_SECONDS: i64 = 86_400;

/// A worker as it registers: `host` and `pid` are for people; `lease` is
/// how long its claims last without renewal (seconds), and so how long
/// after its last heartbeat it may still be alive; `watching`: it keeps
/// running (`flowc run --watch`).
#[derive(Clone, Copy, Debug)]
pub struct Registration<'a> {
    pub id: &'a str,
    pub host: &'a str,
    pub pid: u32,
    pub lease: i64,
    pub watching: bool,
}

/// A watching worker that may still be alive, as `live` finds it.
#[derive(Clone, Debug, PartialEq)]
pub struct Seen {
    pub id: String,
    pub host: String,
    pub pid: i64,
    /// Wall-clock Unix seconds.
    pub heartbeat_at: i64,
    pub lease: i64,
}

/// Records a worker as started at wall time `now`, and forgets workers
/// silent for a day (processes that were killed before they could retire).
pub fn register(conn: &Connection, worker: &Registration, now: i64) -> rusqlite::Result<()> {
    conn.prepare_cached("DELETE FROM flow_workers WHERE heartbeat_at < ?1")?
        .execute([now - FORGET_AFTER_SECONDS])?;
    conn.prepare_cached(
        "INSERT INTO flow_workers (id, host, pid, started_at, heartbeat_at, lease_seconds, watching)
         VALUES (?1, ?2, ?3, ?4, ?4, ?5, ?6)",
    )?
    .execute(params![
        worker.id,
        worker.host,
        worker.pid,
        now,
        worker.lease,
        worker.watching
    ])?;
    Ok(())
}

/// The watching workers whose last heartbeat is younger than their lease
/// at wall time `now`, the latest seen first.
pub fn live(conn: &Connection, now: i64) -> rusqlite::Result<Vec<Seen>> {
    let mut stmt = conn.prepare_cached(
        "SELECT id, host, pid, heartbeat_at, lease_seconds FROM flow_workers
         WHERE watching AND heartbeat_at + lease_seconds > ?1
         ORDER BY heartbeat_at DESC, id",
    )?;
    stmt.query_map([now], |r| {
        Ok(Seen {
            id: r.get(0)?,
            host: r.get(1)?,
            pid: r.get(2)?,
            heartbeat_at: r.get(3)?,
            lease: r.get(4)?,
        })
    })?
    .collect()
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
