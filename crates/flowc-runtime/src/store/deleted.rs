//! What flowc keeps about a row ends with the row.
//!
//! SQLite reuses the id of a deleted row (`INTEGER PRIMARY KEY` without
//! `AUTOINCREMENT`), so a new person can get a deleted person's id. When
//! the engine processes the delete, everything it kept under that id is
//! ended or forgotten, so that the new row starts with nothing: no run,
//! no re-entry history, no `becomes` state, no list, tag or lock, and no
//! event meant for the old row.

use rusqlite::{Connection, params};

/// A row whose delete is being processed.
#[derive(Clone, Debug)]
pub struct DeletedRow<'a> {
    pub table: &'a str,
    pub row_id: i64,
    /// The lists of that record.
    pub lists: Vec<&'a str>,
    /// The rules with a `becomes` trigger on that record.
    pub becomes: Vec<&'a str>,
    /// The last event committed before the delete (`flow_changes.events_seq`).
    pub events_up_to: Option<i64>,
    /// The engine time of the delete's processing.
    pub at: i64,
}

/// The runs of the row that are still running or waiting.
pub fn active_runs(conn: &Connection, table: &str, row_id: i64) -> rusqlite::Result<Vec<i64>> {
    let mut stmt = conn.prepare_cached(
        "SELECT id FROM flow_runs WHERE subject_id = ?2 AND subject_tbl = ?1 \
         AND status IN ('running', 'waiting') ORDER BY id",
    )?;
    let ids = stmt.query_map(params![table, row_id], |r| r.get(0))?;
    ids.collect()
}

/// An event that was meant for the deleted row.
#[derive(Clone, Debug, PartialEq)]
pub struct DroppedEvent {
    pub seq: i64,
    pub name: String,
}

/// Forgets what belonged to the row (call after ending its runs): its runs
/// no longer count for re-entry, its `becomes` state, list memberships,
/// tags and locks go, and its unprocessed events are marked processed.
/// Returns those events, for the log.
pub fn forget(conn: &Connection, row: &DeletedRow) -> rusqlite::Result<Vec<DroppedEvent>> {
    let (table, id) = (row.table, row.row_id);
    // Approvals nobody can act on any more: their run has ended.
    conn.prepare_cached(
        "UPDATE flow_approvals SET status = 'cancelled', decided_at = ?3, applied = 1, \
         note = 'its run ended: the record was deleted' \
         WHERE status = 'pending' AND run_id IN \
           (SELECT id FROM flow_runs WHERE subject_id = ?2 AND subject_tbl = ?1 AND subject_gone = 0)",
    )?
    .execute(params![table, id, row.at])?;
    conn.prepare_cached(
        "UPDATE flow_runs SET subject_gone = 1 WHERE subject_id = ?2 AND subject_tbl = ?1 AND subject_gone = 0",
    )?
    .execute(params![table, id])?;
    for rule in &row.becomes {
        conn.prepare_cached("DELETE FROM flow_becomes WHERE rule = ?1 AND row_id = ?2")?
            .execute(params![rule, id])?;
    }
    for list in &row.lists {
        conn.prepare_cached("DELETE FROM flow_list_members WHERE list = ?1 AND row_id = ?2")?
            .execute(params![list, id])?;
    }
    conn.prepare_cached("DELETE FROM flow_tags WHERE tbl = ?1 AND row_id = ?2")?
        .execute(params![table, id])?;
    conn.prepare_cached("DELETE FROM flow_locks WHERE tbl = ?1 AND row_id = ?2")?
        .execute(params![table, id])?;
    let Some(up_to) = row.events_up_to else {
        return Ok(Vec::new());
    };
    let dropped: Vec<DroppedEvent> = conn
        .prepare_cached(
            "SELECT seq, CAST(name AS TEXT) FROM flow_events \
             WHERE tbl = ?1 AND row_id = ?2 AND processed = 0 AND seq <= ?3 ORDER BY seq",
        )?
        .query_map(params![table, id, up_to], |r| {
            let name = r.get_ref(1)?.as_bytes().unwrap_or_default();
            Ok(DroppedEvent {
                seq: r.get(0)?,
                name: String::from_utf8_lossy(name).into_owned(),
            })
        })?
        .collect::<rusqlite::Result<_>>()?;
    conn.prepare_cached(
        "UPDATE flow_events SET processed = 1 WHERE tbl = ?1 AND row_id = ?2 AND processed = 0 AND seq <= ?3",
    )?
    .execute(params![table, id, up_to])?;
    Ok(dropped)
}
