//! Consuming captured changes on PostgreSQL: a worker claims one shard no
//! other worker holds and takes that shard's oldest changes off the queue,
//! in its own transaction. If the transaction rolls back (the worker failed
//! or was killed), the changes are back in the queue and the shard free.
//!
//! Order: one record's changes are in one shard, taken oldest first by one
//! worker at a time, and a row trigger takes its sequence number under the
//! row's lock, so one record's changes are handled in commit order. Changes
//! of different records may be handled concurrently and in any order
//! (DESIGN.md §10). Nothing reads "sequence above a watermark": sequence
//! numbers commit out of order.

use super::super::captured::Captured;
use super::super::changes::Change;
use super::state::schema_name;
use postgres::GenericClient;
use std::rc::Rc;

/// A shard's changes, taken off the queue inside `tx`.
#[derive(Debug)]
pub struct Claimed {
    pub shard: i16,
    /// Oldest first.
    pub changes: Vec<Change>,
}

/// Locks the shard with the oldest change among those no other worker
/// holds, and takes up to `limit` of its changes, oldest first; `None` if
/// no unheld shard has any.
pub fn claim(
    tx: &mut impl GenericClient,
    state_schema: &str,
    limit: i64,
) -> Result<Option<Claimed>, postgres::Error> {
    let s = schema_name(state_schema);
    let shard: Option<i16> = tx
        .query_opt(
            &format!(
                "SELECT s.shard FROM {s}.flow_shards s
                 WHERE EXISTS (SELECT 1 FROM {s}.flow_changes c WHERE c.shard = s.shard)
                 ORDER BY (SELECT min(c.seq) FROM {s}.flow_changes c WHERE c.shard = s.shard)
                 LIMIT 1 FOR UPDATE OF s SKIP LOCKED"
            ),
            &[],
        )?
        .map(|row| row.get(0));
    let Some(shard) = shard else {
        return Ok(None);
    };
    let rows = tx.query(
        &format!(
            "DELETE FROM {s}.flow_changes WHERE seq IN
               (SELECT seq FROM {s}.flow_changes WHERE shard = $1 ORDER BY seq LIMIT $2)
             RETURNING seq, tbl, row_id, op, old, new, depth"
        ),
        &[&shard, &limit],
    )?;
    let payload = |value: Option<serde_json::Value>| {
        value.map(|json| Ok(Rc::new(Captured::from_json(&json))))
    };
    let mut changes: Vec<Change> = rows
        .iter()
        .map(|row| Change {
            seq: row.get(0),
            table: row.get(1),
            row_id: row.get(2),
            op: row.get(3),
            old: payload(row.get(4)),
            new: payload(row.get(5)),
            depth: i64::from(row.get::<_, i32>(6)),
            events_seq: None,
        })
        .collect();
    changes.sort_by_key(|c| c.seq);
    Ok(Some(Claimed { shard, changes }))
}
