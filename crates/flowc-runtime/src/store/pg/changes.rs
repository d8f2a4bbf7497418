//! Consuming captured changes on PostgreSQL: a worker claims one shard no
//! other worker holds and takes that shard's oldest changes off the queue,
//! in its own transaction, in one statement. If the transaction rolls back (the worker failed
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
use super::conn::Conn;
use super::pending::{Histories, History};
use super::state::schema_name;
use postgres::types::ToSql;
use postgres::{GenericClient, Row};
use std::rc::Rc;

/// A shard's changes, taken off the queue inside `tx`.
#[derive(Debug)]
pub struct Claimed {
    pub shard: i16,
    /// Oldest first.
    pub changes: Vec<Change>,
}

/// How many of the oldest changes the claim looks at to find a shard: the
/// shards of these, oldest first, are tried in turn (one held by another
/// worker is skipped). Only when every one of them is held does the claim
/// look at every shard (one index probe per shard: 2.6 ms at 100,000
/// changes queued, where the window takes under one).
///
/// The window starts at the oldest change the connection's last window
/// saw (`Conn::changes_from`), not at the head of the queue's index, which
/// is a run of deleted entries until vacuum. A change below it (one whose
/// transaction took its number early and committed late) is not missed
/// for long: every [`FULL_EVERY`]th claim, and any claim after a window
/// that looked empty, starts from the head. Order is not at stake: the
/// window only chooses the shard, whose changes are always taken oldest
/// first.
const WINDOW: i64 = 256;

/// How often a claim looks from the start of the queue.
const FULL_EVERY: u64 = 16;

/// Claims and takes in one statement (one round trip): the shard of the
/// oldest change among the oldest [`WINDOW`] whose shard no other worker
/// holds, locked, and up to `$1` of its changes, oldest first, deleted and
/// returned; then one more row, all null but its last columns: how many
/// changes the window held (0: the queue is empty) and its oldest, and the
/// run history of the changed rows (per row and rule: active runs, last
/// start), which re-entry asks for each run a change may start. The
/// changes are deleted as a range of the shard's index (up to its `$1`-th
/// sequence number), a third of the time of deleting them by sequence
/// number.
fn take_sql(s: &str) -> String {
    format!(
        "WITH w AS (SELECT shard, seq FROM {s}.flow_changes WHERE seq >= $2
                    ORDER BY seq LIMIT {WINDOW}),
              first AS (SELECT shard, min(seq) AS seq FROM w GROUP BY shard),
              held AS (SELECT s.shard FROM {s}.flow_shards s JOIN first f ON f.shard = s.shard
                       ORDER BY f.seq LIMIT 1 FOR UPDATE OF s SKIP LOCKED),
              last AS (SELECT coalesce(
                         (SELECT seq FROM {s}.flow_changes WHERE shard = (SELECT shard FROM held)
                          ORDER BY seq OFFSET $1::bigint - 1 LIMIT 1), {MAX_SEQ}) AS seq),
              taken AS (DELETE FROM {s}.flow_changes
                        WHERE shard = (SELECT shard FROM held) AND seq <= (SELECT seq FROM last)
                        RETURNING seq, tbl, row_id, op, old, new, depth, shard)
         SELECT seq, tbl, row_id, op, old, new, depth, shard, NULL::json, NULL::bigint, NULL::bigint
         FROM taken
         UNION ALL
         SELECT NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
           (SELECT coalesce(json_agg(json_build_array(d.tbl, d.row_id, h.rule, h.active, h.last)),
                            '[]'::json)
            FROM (SELECT DISTINCT tbl, row_id FROM taken) d
            JOIN LATERAL (SELECT r.rule, count(*) FILTER (WHERE r.status IN ('running', 'waiting')) AS active,
                                 max(r.started_at) AS last
                          FROM {s}.flow_runs r
                          WHERE r.subject_id = d.row_id AND r.subject_tbl = d.tbl AND NOT r.subject_gone
                          GROUP BY r.rule) h ON true),
           (SELECT count(*) FROM w), (SELECT min(seq) FROM w)"
    )
}

/// Every shard with changes, by its oldest: for when the window's are all
/// held by other workers.
fn shard_sql(s: &str) -> String {
    format!(
        "SELECT s.shard FROM {s}.flow_shards s
         WHERE EXISTS (SELECT 1 FROM {s}.flow_changes c WHERE c.shard = s.shard)
         ORDER BY (SELECT min(c.seq) FROM {s}.flow_changes c WHERE c.shard = s.shard)
         LIMIT 1 FOR UPDATE OF s SKIP LOCKED"
    )
}

/// Takes up to `$2` of shard `$1`'s changes, oldest first.
fn take_shard_sql(s: &str) -> String {
    format!(
        "DELETE FROM {s}.flow_changes
         WHERE shard = $1 AND seq <= coalesce(
           (SELECT seq FROM {s}.flow_changes WHERE shard = $1 ORDER BY seq OFFSET $2::bigint - 1 LIMIT 1),
           {MAX_SEQ})
         RETURNING seq, tbl, row_id, op, old, new, depth, shard"
    )
}

/// Above every sequence number: "all of the shard's changes".
const MAX_SEQ: i64 = i64::MAX;

/// One way to run a statement: uncached on any client (tests, tools), or
/// through the connection's prepared statements (the engine), which also
/// keeps the run history read with the changes.
trait Run {
    fn rows(
        &mut self,
        sql: &str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<Vec<Row>, postgres::Error>;
    fn histories(
        &mut self,
        _s: &str,
        _changes: &[Row],
        _histories: &serde_json::Value,
    ) -> Result<(), postgres::Error> {
        Ok(())
    }
}

struct Any<'a, C>(&'a mut C);

impl<C: GenericClient> Run for Any<'_, C> {
    fn rows(
        &mut self,
        sql: &str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<Vec<Row>, postgres::Error> {
        self.0.query(sql, params)
    }
}

impl Run for Conn {
    fn rows(
        &mut self,
        sql: &str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<Vec<Row>, postgres::Error> {
        self.query(sql, params)
    }
    fn histories(
        &mut self,
        s: &str,
        changes: &[Row],
        histories: &serde_json::Value,
    ) -> Result<(), postgres::Error> {
        if !self.in_transaction() {
            return Ok(());
        }
        let mut subjects: Histories = Vec::new();
        for change in changes {
            let key: (String, i64) = (change.try_get(1)?, change.try_get(2)?);
            if !subjects.iter().any(|(k, _)| *k == key) {
                subjects.push((key, Vec::new()));
            }
        }
        for entry in histories.as_array().into_iter().flatten() {
            let field = |i: usize| entry.get(i);
            let (Some(table), Some(row), Some(rule), Some(active)) = (
                field(0).and_then(|v| v.as_str()),
                field(1).and_then(|v| v.as_i64()),
                field(2).and_then(|v| v.as_str()),
                field(3).and_then(|v| v.as_i64()),
            ) else {
                // Not what the statement writes: know nothing.
                return Ok(());
            };
            let last = field(4).and_then(|v| v.as_i64());
            if let Some((_, rules)) = subjects
                .iter_mut()
                .find(|((t, r), _)| t == table && *r == row)
            {
                rules.push((rule.to_string(), History { active, last }));
            }
        }
        self.pending.know_histories(s, subjects);
        Ok(())
    }
}

/// Locks the shard with the oldest change among those no other worker
/// holds, and takes up to `limit` of its changes, oldest first; `None` if
/// no unheld shard has any.
pub fn claim(
    tx: &mut impl GenericClient,
    state_schema: &str,
    limit: i64,
) -> Result<Option<Claimed>, postgres::Error> {
    Ok(claim_with(&mut Any(tx), &schema_name(state_schema), limit, 0)?.0)
}

/// [`claim`] through the connection's prepared statements; `s` is the
/// quoted state schema. Normally one statement.
pub fn claim_on(c: &mut Conn, s: &str, limit: i64) -> Result<Option<Claimed>, postgres::Error> {
    c.claims += 1;
    // Taking nothing off the queue is no write (for `flowc bench`'s count
    // of units of work that did something).
    let wrote = c.wrote;
    let mut from = if c.claims.is_multiple_of(FULL_EVERY) {
        0
    } else {
        c.changes_from
    };
    loop {
        let (claimed, window) = claim_with(c, s, limit, from)?;
        c.changes_from = window.unwrap_or(0);
        if claimed.is_none() && window.is_none() && from > 0 {
            // Nothing from the hint on: look from the start.
            from = 0;
            continue;
        }
        c.wrote = wrote || claimed.is_some();
        return Ok(claimed);
    }
}

/// The claim, looking from change `from` on; with the oldest change the
/// window saw (`None`: it saw none).
fn claim_with(
    c: &mut impl Run,
    s: &str,
    limit: i64,
    from: i64,
) -> Result<(Option<Claimed>, Option<i64>), postgres::Error> {
    let (marker, mut rows): (Vec<Row>, Vec<Row>) = c
        .rows(&take_sql(s), &[&limit, &from])?
        .into_iter()
        .partition(|row| matches!(row.try_get::<_, Option<i64>>(0), Ok(None)));
    // The row without a change says how many the window held.
    let window: i64 = match marker.first() {
        Some(row) => row.try_get(9)?,
        None => 0,
    };
    let histories: Option<serde_json::Value> = match marker.first() {
        Some(row) => row.try_get(8)?,
        None => None,
    };
    let oldest: Option<i64> = match marker.first() {
        Some(row) => row.try_get(10)?,
        None => None,
    };
    if rows.is_empty() {
        if window == 0 {
            return Ok((None, None));
        }
        // Every shard in the window is held: look at all of them.
        let Some(shard) = c
            .rows(&shard_sql(s), &[])?
            .first()
            .map(|r| r.try_get(0))
            .transpose()?
        else {
            return Ok((None, oldest));
        };
        let shard: i16 = shard;
        rows = c.rows(&take_shard_sql(s), &[&shard, &limit])?;
        if rows.is_empty() {
            return Ok((None, oldest));
        }
    } else if let Some(histories) = histories {
        c.histories(s, &rows, &histories)?;
    }
    let payload = |value: Option<serde_json::Value>| {
        value.map(|json| Ok(Rc::new(Captured::from_json(&json))))
    };
    let shard: i16 = rows[0].try_get(7)?;
    let mut changes: Vec<Change> = rows
        .iter()
        .map(|row| {
            Ok(Change {
                seq: row.try_get(0)?,
                table: row.try_get(1)?,
                row_id: row.try_get(2)?,
                op: row.try_get(3)?,
                old: payload(row.try_get(4)?),
                new: payload(row.try_get(5)?),
                depth: i64::from(row.try_get::<_, i32>(6)?),
                events_seq: None,
            })
        })
        .collect::<Result<_, postgres::Error>>()?;
    changes.sort_by_key(|c| c.seq);
    Ok((Some(Claimed { shard, changes }), oldest))
}
