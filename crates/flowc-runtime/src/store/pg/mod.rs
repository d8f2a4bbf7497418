//! PostgreSQL (DESIGN.md §10). So far: connecting, reading the user's table
//! definitions (`flowc check --db`, `flowc schema`), creating the tables a
//! project declares (`flowc schema --create`), flowc's own tables for
//! changes, events and locks (`state`) and the triggers that fill and
//! enforce them (`capture`). The engine's operations come next, behind the
//! same typed operations as SQLite's.

pub mod capture;
pub mod changes;
pub mod ddl;
pub mod events;
pub mod introspect;
pub mod state;

/// The client crate, for code that holds a connection.
pub use postgres;

use super::target::PgTarget;

/// Connects, without TLS (a server on the same machine or network; TLS is
/// not supported yet). The error names the database without its password.
pub fn connect(target: &PgTarget) -> Result<postgres::Client, String> {
    target
        .config
        .connect(postgres::NoTls)
        .map_err(|e| format!("{target}: cannot connect: {}", error_text(&e)))
}

/// A PostgreSQL error as one line: the server's message when it sent one.
pub fn error_text(e: &postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => format!("{} ({})", db.message(), db.code().code()),
        None => e.to_string(),
    }
}
