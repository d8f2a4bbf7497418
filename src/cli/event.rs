//! `flowc event`: record an external event.

use std::path::PathBuf;
use std::process::ExitCode;

/// Record an event on a record (a form submitted, an invoice sent, an email
/// opened…). Rules see it on the next `flowc run`; an event stamped later
/// than the engine's clock waits until the clock reaches it.
///
/// Other programs may insert into `flow_events` directly (columns: name,
/// tbl, row_id, data, at).
///
/// Examples:
///   flowc event --db crm.sqlite form_submitted --on contact:42 --data '{"form": "seminar"}'
///   flowc event --db crm.sqlite email_opened --on contact:42 --data '{"template": "autoreply"}' --at 2025-01-03T10:00
#[derive(clap::Args)]
#[command(verbatim_doc_comment)]
pub struct Args {
    #[arg(long, value_name = "FILE")]
    db: PathBuf,
    /// The event's name.
    name: String,
    /// The record it happened to: TABLE:ID.
    #[arg(long, value_name = "TABLE:ID")]
    on: String,
    /// The payload: a JSON object.
    #[arg(long, value_name = "JSON", default_value = "{}")]
    data: String,
    /// When it happened (default: the engine's clock).
    #[arg(long, value_name = "TIME")]
    at: Option<String>,
}

pub fn run(args: Args) -> Result<ExitCode, String> {
    super::sqlite_only(&args.db, "event")?;
    let (table, id) = args
        .on
        .split_once(':')
        .and_then(|(t, i)| Some((t.to_string(), i.parse::<i64>().ok()?)))
        .ok_or_else(|| format!("--on `{}`: expected TABLE:ID, like contact:42", args.on))?;
    let data: serde_json::Value =
        serde_json::from_str(&args.data).map_err(|e| format!("--data is not JSON: {e}"))?;
    if !data.is_object() {
        return Err("--data must be a JSON object, like '{\"form\": \"seminar\"}'".into());
    }
    if args.name.trim().is_empty() {
        return Err("the event needs a name".into());
    }
    let conn = super::open_db(&args.db)?;
    check_target(&conn, &table, id).map_err(|e| format!("--on {}: {e}", args.on))?;
    let at = match &args.at {
        Some(t) => crate::engine::parse_time(t, super::db_zone(&conn))?,
        None => super::db_clock(&conn)?,
    };
    let seq =
        crate::engine::Engine::record_event(&conn, &args.name, &table, id, &data.to_string(), at)
            .map_err(|e| e.to_string())?;
    println!(
        "event {seq}: {} on {table} #{id} at {}",
        args.name,
        crate::time::format_datetime(at, super::db_zone(&conn))
    );
    Ok(ExitCode::SUCCESS)
}

/// The event's record must exist: a typo in TABLE:ID would otherwise be an
/// event no rule ever sees.
fn check_target(conn: &rusqlite::Connection, table: &str, id: i64) -> Result<(), String> {
    let known =
        crate::store::introspect::user_table_exists(conn, table).map_err(|e| e.to_string())?;
    if !known {
        return Err(format!("the database has no table `{table}`"));
    }
    let exists = crate::store::rows::exists(conn, table, id).map_err(|e| e.to_string())?;
    if !exists {
        return Err(format!("{table} #{id} does not exist"));
    }
    Ok(())
}
