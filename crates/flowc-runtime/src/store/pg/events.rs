//! Recording events on PostgreSQL (`flowc event --db postgresql://…`).
//! Other programs may insert into `flowc.flow_events` themselves.

use super::super::sql::ident;
use super::state::schema_name;
use postgres::Client;

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

/// The engine's clock (Unix seconds, as stored) and time zone as its last
/// run left them in `flow_meta`; each `None` before the first run. An
/// event recorded without a time is stamped with that clock, and a time
/// without an offset is read in that zone, as on SQLite.
pub fn engine_time(
    client: &mut Client,
    state_schema: &str,
) -> Result<(Option<String>, Option<String>), postgres::Error> {
    let s = schema_name(state_schema);
    let row = client.query_one(
        &format!(
            "SELECT (SELECT value FROM {s}.flow_meta WHERE key = 'clock'),
                    (SELECT value FROM {s}.flow_meta WHERE key = 'timezone')"
        ),
        &[],
    )?;
    Ok((row.get(0), row.get(1)))
}
