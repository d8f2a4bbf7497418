//! Recording events on PostgreSQL (`flowc event --db postgresql://…`).
//! Other programs may insert into `flowc.flow_events` themselves.

use super::super::sql::ident;
use super::state::schema_name;
use postgres::{Client, GenericClient};

/// Whether the user's table `table` (as the search_path finds it) has a
/// row with this id; `None` if there is no such table.
pub fn row_exists(
    client: &mut Client,
    table: &str,
    id: i64,
) -> Result<Option<bool>, postgres::Error> {
    let visible: bool = client
        .query_one("SELECT to_regclass($1) IS NOT NULL", &[&ident(table)])?
        .get(0);
    if !visible {
        return Ok(None);
    }
    let sql = format!(
        "SELECT EXISTS (SELECT 1 FROM {} WHERE {} = $1)",
        ident(table),
        ident("id")
    );
    Ok(Some(client.query_one(&sql, &[&id])?.get(0)))
}

/// Appends an event; `at` in Unix seconds, or the database's `now()`.
/// Returns its id.
pub fn record(
    client: &mut Client,
    state_schema: &str,
    name: &str,
    table: &str,
    row_id: i64,
    data: &serde_json::Value,
    at: Option<i64>,
) -> Result<i64, postgres::Error> {
    let s = schema_name(state_schema);
    let at = at.map(|t| t as f64);
    let row = client.query_one(
        &format!(
            "INSERT INTO {s}.flow_events (name, tbl, row_id, data, at)
             VALUES ($1, $2, $3, $4, coalesce(to_timestamp($5), now())) RETURNING id"
        ),
        &[&name, &table, &row_id, data, &at],
    )?;
    Ok(row.get(0))
}

/// An event taken for processing.
#[derive(Clone, Debug, PartialEq)]
pub struct DueEvent {
    pub id: i64,
    pub name: String,
    pub table: String,
    pub row_id: i64,
    pub data: serde_json::Value,
    /// Unix seconds.
    pub at: i64,
}

/// Locks a shard no other worker holds that has events due at or before
/// `now` (Unix seconds), and marks up to `limit` of them processed in
/// `tx`, earliest first (by time, then id); `None` if no unheld shard has
/// any. Rolled back, they are due again. Events stay in the table (rules
/// ask what happened before), marked.
pub fn claim_due(
    tx: &mut impl GenericClient,
    state_schema: &str,
    now: i64,
    limit: i64,
) -> Result<Option<(i16, Vec<DueEvent>)>, postgres::Error> {
    let s = schema_name(state_schema);
    let now = now as f64;
    let shard: Option<i16> = tx
        .query_opt(
            &format!(
                "SELECT s.shard FROM {s}.flow_shards s
                 WHERE EXISTS (SELECT 1 FROM {s}.flow_events e
                               WHERE e.shard = s.shard AND NOT e.processed AND e.at <= to_timestamp($1))
                 ORDER BY (SELECT min(e.at) FROM {s}.flow_events e
                           WHERE e.shard = s.shard AND NOT e.processed)
                 LIMIT 1 FOR UPDATE OF s SKIP LOCKED"
            ),
            &[&now],
        )?
        .map(|row| row.get(0));
    let Some(shard) = shard else {
        return Ok(None);
    };
    let rows = tx.query(
        &format!(
            "UPDATE {s}.flow_events SET processed = true WHERE id IN
               (SELECT id FROM {s}.flow_events
                WHERE shard = $1 AND NOT processed AND at <= to_timestamp($2)
                ORDER BY at, id LIMIT $3)
             RETURNING id, name, tbl, row_id, data, extract(epoch FROM at)::bigint"
        ),
        &[&shard, &now, &limit],
    )?;
    let mut events: Vec<DueEvent> = rows
        .iter()
        .map(|row| DueEvent {
            id: row.get(0),
            name: row.get(1),
            table: row.get(2),
            row_id: row.get(3),
            data: row.get(4),
            at: row.get(5),
        })
        .collect();
    events.sort_by_key(|e| (e.at, e.id));
    Ok(Some((shard, events)))
}
