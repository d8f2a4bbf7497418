//! `flowc event`: record an external event.

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
///   flowc event --db postgresql://sales@db/crm form_submitted --on contact:42
///   flowc event --db crm.sqlite paid --on invoice:7 --data '{"amount": 5000}' rules/
///
/// A declared event (`event paid on invoice { amount: int }`) refuses a
/// payload without a required key or with a value of the wrong type, and
/// records nothing; `email_opened` and `email_clicked` must name a
/// template of the project. It is checked against the project's files when
/// given (as `flowc run` takes them), else against the rules `flowc run`
/// last ran on the database (none yet: nothing is checked).
#[derive(clap::Args)]
#[command(verbatim_doc_comment)]
pub struct Args {
    /// The database: a SQLite file or a postgresql:// URL.
    #[arg(long, value_name = "FILE|URL")]
    db: String,
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
    /// On PostgreSQL: the schema flowc's own tables live in.
    #[arg(long, value_name = "NAME", default_value = "flowc")]
    state_schema: String,
    /// The project's .flow files or folders: a declared event's payload is
    /// checked against its declaration before anything is recorded
    /// (default: the rules `flowc run` last ran on the database).
    #[arg(value_name = "PATH")]
    paths: Vec<std::path::PathBuf>,
}

pub fn run(args: Args) -> Result<ExitCode, String> {
    let target = crate::store::target::Target::parse(&args.db)?;
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
    if !args.paths.is_empty() {
        let Some((_, program)) = super::checked_project(&args.paths)? else {
            return Ok(ExitCode::FAILURE);
        };
        declared(&program.schema, &args.name, &table, &data)?;
    }
    let path = match target {
        crate::store::target::Target::Sqlite(path) => path,
        crate::store::target::Target::Postgres(pg) => {
            return on_postgres(&pg, &args, &table, id, &data);
        }
    };
    let conn = super::open_db(&path)?;
    check_target(&conn, &table, id).map_err(|e| format!("--on {}: {e}", args.on))?;
    if args.paths.is_empty() {
        let last = crate::store::versions::last_project(&conn).map_err(|e| e.to_string())?;
        declared_last(last.as_deref(), &args.name, &table, &data)?;
    }
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

/// Without the project's PATHs: the payload checked against the project
/// the engine last ran on this database with (none yet, or one that no
/// longer checks: nothing to check against).
fn declared_last(
    snapshot: Option<&str>,
    name: &str,
    table: &str,
    data: &serde_json::Value,
) -> Result<(), String> {
    let Some(project) = snapshot.and_then(crate::project::Project::from_snapshot) else {
        return Ok(());
    };
    let checked = project.check();
    if checked.has_errors() {
        return Ok(());
    }
    declared(&checked.program.schema, name, table, data).map_err(|e| {
        format!(
            "{e}\n(checked against the rules flowc last ran on this database; give the \
             project's PATHs to check against others)"
        )
    })
}

/// A declared event's record and payload: refused (naming the key and
/// the type it needs) when they do not fit the declaration.
fn declared(
    schema: &crate::ir::Schema,
    name: &str,
    table: &str,
    data: &serde_json::Value,
) -> Result<(), String> {
    let Some(def) = schema.event_named(name) else {
        // Undeclared: only the engagement events' template is checked.
        return schema
            .check_event_payload(name, Some(data))
            .map_err(|e| format!("--data: {e}; nothing was recorded"));
    };
    let record = &schema.record(def.record).name;
    if table != record {
        return Err(format!(
            "--on: the event `{name}` happens on a `{record}`, not on a `{table}`; nothing was recorded"
        ));
    }
    def.validate_payload(data, schema)
        .map_err(|e| format!("--data: {e}; nothing was recorded"))
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

/// `flowc event` on PostgreSQL: into `flowc.flow_events`, stamped `--at`
/// (a time without an offset in the zone the engine last ran with, UTC
/// until it runs there) or the engine's clock (the database's `now()`
/// until it runs there), as on SQLite.
fn on_postgres(
    pg: &crate::store::target::PgTarget,
    args: &Args,
    table: &str,
    id: i64,
    data: &serde_json::Value,
) -> Result<ExitCode, String> {
    use crate::store::pg;
    let mut client = pg::connect(pg)?;
    let failed = |e: pg::postgres::Error| format!("{pg}: {}", pg::error_text(&e));
    match pg::events::row_exists(&mut client, table, id).map_err(failed)? {
        None => {
            return Err(format!(
                "--on {}: the database has no table `{table}`",
                args.on
            ));
        }
        Some(false) => return Err(format!("--on {}: {table} #{id} does not exist", args.on)),
        Some(true) => {}
    }
    let state = args.state_schema.as_str();
    if state.trim().is_empty() {
        return Err("--state-schema needs a name".into());
    }
    pg::state::migrate(&mut client, state).map_err(|e| format!("{pg}: {e}"))?;
    if args.paths.is_empty() {
        let store = super::open::store(std::path::Path::new(&args.db), state)?;
        let last = store.last_project().map_err(|e| format!("{pg}: {e}"))?;
        declared_last(last.as_deref(), &args.name, table, data)?;
    }
    let (clock, zone) = pg::events::engine_time(&mut client, state).map_err(failed)?;
    let zone = zone
        .and_then(|z| crate::time::parse_zone(&z))
        .unwrap_or(chrono_tz::Tz::UTC);
    let at = match &args.at {
        Some(t) => Some(crate::engine::parse_time(t, zone)?),
        None => clock
            .map(|text| crate::store::state::parse_int_meta("clock", text))
            .transpose()
            .map_err(|e| format!("{pg}: {e}"))?,
    };
    let event_id =
        pg::events::record(&mut client, state, &args.name, table, id, data, at).map_err(failed)?;
    println!("event {event_id}: {} on {table} #{id}", args.name);
    Ok(ExitCode::SUCCESS)
}
