//! The command line: clap definitions and dispatch, one file per subcommand.

mod approvals;
mod bench;
mod check;
mod compile;
mod demo;
mod event;
mod fmt;
mod graph;
mod log;
mod open;
mod outbox;
mod run;
mod schema;
mod serve;
mod stats;
mod suppress;
mod tasks;
mod test;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

/// Exit status for usage errors and unreadable input.
pub const EXIT_USAGE: u8 = 2;
/// Exit status of a `flowc run` whose email delivery is paused by its
/// configuration (login, TLS, an unreachable server).
pub const EXIT_DELIVERY_PAUSED: u8 = 3;

#[derive(Parser)]
#[command(
    name = "flowc",
    version,
    about = "Rules-as-code for sales and marketing automation",
    long_about = "flowc checks, tests and runs automation rules written as .flow files \
                  against a SQLite database.\n\nStart with `flowc demo`."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    Demo(demo::Args),
    Check(check::Args),
    Compile(compile::Args),
    Fmt(fmt::Args),
    Schema(schema::Args),
    Run(run::Args),
    Serve(serve::Args),
    Event(event::Args),
    Approvals(approvals::Args),
    Outbox(outbox::Args),
    Suppress(suppress::Args),
    Stats(stats::Args),
    Log(log::Args),
    Tasks(tasks::Args),
    Bench(bench::Args),
    Test(test::Args),
    Graph(graph::Args),
}

/// Parses the arguments and runs the subcommand.
pub fn main() -> ExitCode {
    quiet_on_closed_pipe();
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Demo(args) => demo::run(args),
        Command::Check(args) => check::run(args),
        Command::Compile(args) => compile::run(args),
        Command::Fmt(args) => fmt::run(args),
        Command::Run(args) => run::run(args),
        Command::Serve(args) => serve::run(args),
        Command::Event(args) => event::run(args),
        Command::Approvals(args) => approvals::run(args),
        Command::Outbox(args) => outbox::run(args),
        Command::Suppress(args) => suppress::run(args),
        Command::Stats(args) => stats::run(args),
        Command::Log(args) => log::run(args),
        Command::Tasks(args) => tasks::run(args),
        Command::Bench(args) => bench::run(args),
        Command::Test(args) => test::run(args),
        Command::Graph(args) => graph::run(args),
        Command::Schema(args) => schema::run(args),
    };
    match result {
        Ok(code) => code,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::from(EXIT_USAGE)
        }
    }
}

/// `flowc log | head` closes the pipe early: `println!` then panics with
/// "failed printing to stdout: Broken pipe". Such a reader has seen all it
/// wanted, so end quietly, as Unix tools do, instead of printing a panic.
fn quiet_on_closed_pipe() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let message = info
            .payload()
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| info.payload().downcast_ref::<&str>().copied())
            .unwrap_or_default();
        if message.starts_with("failed printing to std") && message.contains("Broken pipe") {
            std::process::exit(0);
        }
        default(info);
    }));
}

/// How a command uses the engine's state on `--db`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Access {
    /// Only looks (`stats`, `log`, lists): a SQLite file is opened
    /// read-only; a PostgreSQL session refuses writes.
    Look,
    /// Settles something a person decides (an approval, an unconfirmed
    /// email).
    Settle,
}

/// The engine's state on `db`, a SQLite file or a PostgreSQL URL (flowc's
/// tables in `state_schema`), for the commands that inspect or settle it.
/// Neither a missing file nor missing tables are ever created: a database
/// flowc never ran on is an error saying so.
pub(crate) fn open_state(
    db: &std::path::Path,
    state_schema: &str,
    access: Access,
) -> Result<Box<dyn crate::store::Store>, String> {
    use crate::store::target::Target;
    match Target::parse(&db.to_string_lossy())? {
        Target::Sqlite(path) => Ok(Box::new(match access {
            Access::Look => crate::store::sqlite::Sqlite::read_only(open_db_read_only(&path)?),
            Access::Settle => crate::store::sqlite::Sqlite::new(open_db(&path)?)
                .map_err(|e| format!("{}: {e}", path.display()))?,
        })),
        Target::Postgres(pg) => {
            if state_schema.trim().is_empty() {
                return Err("--state-schema needs a name".into());
            }
            let client = crate::store::pg::connect(&pg)?;
            let store =
                crate::store::pg::Pg::existing(client, state_schema, access == Access::Look)
                    .map_err(|e| match e {
                        crate::store::state::StateError::NoState => format!(
                            "{pg}: {e}; flowc's tables were looked for in schema `{state_schema}` \
                             (--state-schema names another)"
                        ),
                        e => format!("{pg}: {e}"),
                    })?;
            Ok(Box::new(store))
        }
    }
}

/// The time zone the engine last ran with (UTC if it never ran).
pub(crate) fn state_zone(store: &dyn crate::store::Store) -> chrono_tz::Tz {
    store
        .meta("timezone")
        .ok()
        .flatten()
        .and_then(|z| crate::time::parse_zone(&z))
        .unwrap_or(chrono_tz::Tz::UTC)
}

/// The engine's clock, or the wall clock if it never ran; an error if the
/// stored clock is damaged.
pub(crate) fn state_clock(store: &dyn crate::store::Store) -> Result<i64, String> {
    let stored = store.clock().map_err(|e| e.to_string())?;
    Ok(stored.unwrap_or_else(wall_clock))
}

fn wall_clock() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

/// The engine's SQLite connection, for what does not go through the
/// store's interface yet (mail delivery, the demo's data, statistics).
pub fn sqlite(engine: &crate::engine::Engine) -> Result<&rusqlite::Connection, String> {
    engine
        .connection()
        .ok_or_else(|| "this needs a SQLite database (PostgreSQL support is not complete)".into())
}

/// Whether to color output written to stderr.
pub fn color_stderr() -> bool {
    use std::io::IsTerminal;
    std::env::var_os("NO_COLOR").is_none() && std::io::stderr().is_terminal()
}

/// Loads and checks a project; prints the diagnostics and returns `None`
/// if there are errors.
pub(crate) fn checked_project(
    paths: &[std::path::PathBuf],
) -> Result<Option<(crate::project::Project, crate::ir::Program)>, String> {
    let project = crate::project::Project::load(paths).map_err(|e| e.to_string())?;
    let checked = project.check();
    if checked.has_errors() {
        eprint!(
            "{}",
            crate::diagnostic::render_human(&project.sources, &checked.diagnostics, color_stderr())
        );
        eprintln!("the rules have errors; nothing was run");
        return Ok(None);
    }
    Ok(Some((project, checked.program)))
}

/// The project's files (templates included), kept with each rule version.
pub(crate) fn project_text(project: &crate::project::Project) -> String {
    project.snapshot()
}

/// Opens an existing database for the inspection commands.
pub(crate) fn open_db(path: &std::path::Path) -> Result<rusqlite::Connection, String> {
    if !path.is_file() {
        return Err(format!("{}: no such database file", path.display()));
    }
    crate::store::state::open(path).map_err(|e| format!("{}: {e}", path.display()))
}

/// Opens an existing database for the commands that only look (`stats`,
/// `log`, `approvals list`, `graph --db`): read-only, never created or
/// migrated.
pub(crate) fn open_db_read_only(path: &std::path::Path) -> Result<rusqlite::Connection, String> {
    if !path.is_file() {
        return Err(format!("{}: no such database file", path.display()));
    }
    crate::store::state::open_read_only(path).map_err(|e| format!("{}: {e}", path.display()))
}

/// The time zone the engine last ran with (UTC if it never ran).
pub(crate) fn db_zone(conn: &rusqlite::Connection) -> chrono_tz::Tz {
    crate::store::state::meta(conn, "timezone")
        .ok()
        .flatten()
        .and_then(|z| crate::time::parse_zone(&z))
        .unwrap_or(chrono_tz::Tz::UTC)
}

/// The engine's clock, or the wall clock if it never ran; an error if the
/// stored clock is damaged.
pub(crate) fn db_clock(conn: &rusqlite::Connection) -> Result<i64, String> {
    let stored = crate::store::state::clock(conn).map_err(|e| e.to_string())?;
    Ok(stored.unwrap_or_else(wall_clock))
}
