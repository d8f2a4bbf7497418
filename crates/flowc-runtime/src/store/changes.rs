//! Reading captured changes (`flow_changes`) in commit order.

use super::captured::Captured;
use rusqlite::types::ValueRef;
use rusqlite::{Connection, params};
use std::rc::Rc;

/// A row's captured values, or why they cannot be read (naming the change:
/// `flow_changes #12: the captured new values cannot be read (…)`).
pub type Payload = Result<Rc<Captured>, String>;

/// One row of `flow_changes`.
#[derive(Clone, Debug)]
pub struct Change {
    pub seq: i64,
    /// The table, or `list:NAME` / `event:TABLE` for the engine's own.
    pub table: String,
    pub row_id: i64,
    /// `insert`, `update` or `delete`.
    pub op: String,
    pub old: Option<Payload>,
    pub new: Option<Payload>,
    /// How many rule-made changes led to this one.
    pub depth: i64,
    /// For a delete: the last `flow_events.seq` committed before it, so
    /// that events meant for the deleted row are told from those meant for
    /// a new row given its id.
    pub events_seq: Option<i64>,
}

impl Change {
    /// The row as it was at this change: the new values, or the old ones
    /// for a delete.
    pub fn values(&self) -> Option<&Payload> {
        if self.op == "delete" {
            self.old.as_ref()
        } else {
            self.new.as_ref()
        }
    }
}

/// Text written by flowc's own triggers; lossy rather than failing.
fn text(value: ValueRef) -> String {
    match value {
        ValueRef::Text(t) | ValueRef::Blob(t) => String::from_utf8_lossy(t).into_owned(),
        ValueRef::Integer(i) => i.to_string(),
        _ => String::new(),
    }
}

/// How many captured changes have not been processed yet.
pub fn unprocessed(conn: &Connection) -> rusqlite::Result<i64> {
    conn.query_row(
        "SELECT count(*) FROM flow_changes WHERE seq > \
         coalesce((SELECT value FROM flow_meta WHERE key = 'changes_done'), 0)",
        [],
        |r| r.get(0),
    )
}

/// Up to `limit` changes after `after`, oldest first.
pub fn pending(conn: &Connection, after: i64, limit: i64) -> rusqlite::Result<Vec<Change>> {
    // A literal limit: see `runs::due_timers`.
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT seq, tbl, row_id, op, old, new, depth, events_seq FROM flow_changes \
         WHERE seq > ?1 ORDER BY seq LIMIT {limit}"
    ))?;
    let rows = stmt.query_map(params![after], |r| {
        let seq: i64 = r.get(0)?;
        let payload = |i: usize, which: &str| -> rusqlite::Result<Option<Payload>> {
            Ok(match r.get_ref(i)? {
                ValueRef::Null => None,
                ValueRef::Text(bytes) | ValueRef::Blob(bytes) => Some(
                    Captured::read(bytes).map(Rc::new).map_err(|why| {
                        format!(
                            "flow_changes #{seq}: the captured {which} values cannot be read ({why})"
                        )
                    }),
                ),
                _ => Some(Err(format!(
                    "flow_changes #{seq}: the captured {which} values cannot be read (not a JSON object)"
                ))),
            })
        };
        Ok(Change {
            seq,
            table: text(r.get_ref(1)?),
            row_id: r.get(2)?,
            op: text(r.get_ref(3)?),
            old: payload(4, "old")?,
            new: payload(5, "new")?,
            depth: r.get::<_, Option<i64>>(6)?.unwrap_or(0),
            events_seq: r.get(7)?,
        })
    })?;
    rows.collect()
}
