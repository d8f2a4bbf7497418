//! Opening `--db` for the commands that run the engine: a SQLite file or a
//! PostgreSQL URL, refused when its tables do not match the rules.

use crate::engine::{Engine, Options};
use crate::store::target::Target;
use std::path::Path;
use std::rc::Rc;

/// How long a PostgreSQL session may sit in an open transaction: a worker
/// stopped (or cut off) mid-transaction loses its claims after this, so
/// another takes its shard over well within the 30 s DESIGN.md §10 allows.
const IDLE_IN_TRANSACTION: &str = "15s";

/// The engine on `db`, after checking that its tables match `program`;
/// `Ok(None)` after printing the differences when they do not.
pub(crate) fn engine(
    db: &Path,
    state_schema: &str,
    project: &crate::project::Project,
    program: crate::ir::Program,
    options: Options,
    paths: &str,
) -> Result<Option<Engine>, String> {
    let target = Target::parse(&db.to_string_lossy())?;
    if let Target::Sqlite(path) = &target
        && !path.is_file()
    {
        return Err(format!(
            "{}: no such database file; to create the tables the rules declare: flowc schema --db {} --create {paths}",
            path.display(),
            path.display(),
        ));
    }
    // Running rules against tables that do not match them would act on
    // misread data: refuse, showing what differs.
    let drift: Vec<_> = crate::store::drift::compare(&target, &program.schema)?
        .into_iter()
        .filter(|d| d.is_error())
        .collect();
    if !drift.is_empty() {
        eprint!(
            "{}",
            crate::diagnostic::render_human(&project.sources, &drift, super::color_stderr())
        );
        eprintln!(
            "the database does not match the rules (see `flowc check --db`); nothing was run"
        );
        return Ok(None);
    }
    let engine = match &target {
        Target::Sqlite(path) => Engine::open(path, program, options),
        Target::Postgres(pg) => {
            let mut client = crate::store::pg::connect(pg)?;
            client
                .batch_execute(&format!(
                    "SET idle_in_transaction_session_timeout = '{IDLE_IN_TRANSACTION}'"
                ))
                .map_err(|e| format!("{pg}: {}", crate::store::pg::error_text(&e)))?;
            let store = crate::store::pg::Pg::new(client, state_schema);
            Engine::with_store(Rc::new(store), program, options)
        }
    };
    engine.map(Some).map_err(|e| format!("{target}: {e}"))
}

/// A store on `db` for `flowc serve`'s writer: its own connection to a
/// database whose state tables the engine has made (a SQLite file, or a
/// PostgreSQL URL with flowc's tables in `state_schema`).
pub(crate) fn store(db: &Path, state_schema: &str) -> Result<Box<dyn crate::store::Store>, String> {
    let target = Target::parse(&db.to_string_lossy())?;
    match &target {
        Target::Sqlite(path) => {
            let conn = crate::store::state::open(path).map_err(|e| format!("{target}: {e}"))?;
            let store =
                crate::store::sqlite::Sqlite::new(conn).map_err(|e| format!("{target}: {e}"))?;
            Ok(Box::new(store))
        }
        Target::Postgres(pg) => {
            let mut client = crate::store::pg::connect(pg)?;
            client
                .batch_execute(&format!(
                    "SET idle_in_transaction_session_timeout = '{IDLE_IN_TRANSACTION}'"
                ))
                .map_err(|e| format!("{pg}: {}", crate::store::pg::error_text(&e)))?;
            Ok(Box::new(crate::store::pg::Pg::new(client, state_schema)))
        }
    }
}
