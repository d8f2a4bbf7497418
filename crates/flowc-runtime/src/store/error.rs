//! A database error from either backend, as the code above the store sees
//! it: its message, and the few kinds the engine treats differently.

use std::fmt;

#[derive(Debug)]
pub enum DbError {
    Sqlite(rusqlite::Error),
    Postgres(postgres::Error),
}

impl DbError {
    /// The database refused a write to a row that a `lock` step holds
    /// (SQLite's trigger message, PostgreSQL's SQLSTATE `FL001`).
    pub fn is_locked_row(&self) -> bool {
        match self {
            DbError::Sqlite(e) => e.to_string().contains(super::capture::LOCKED),
            DbError::Postgres(e) => e.code().map(|c| c.code()) == Some(super::pg::capture::LOCKED),
        }
    }

    /// The transaction lost a race with another one and is worth trying
    /// again as a whole: a deadlock or a serialization failure.
    pub fn is_retryable(&self) -> bool {
        match self {
            DbError::Sqlite(_) => false,
            DbError::Postgres(e) => {
                use postgres::error::SqlState;
                matches!(
                    e.code(),
                    Some(c) if *c == SqlState::T_R_DEADLOCK_DETECTED
                        || *c == SqlState::T_R_SERIALIZATION_FAILURE
                )
            }
        }
    }
}

impl DbError {
    /// The connection to the database is gone: closed, or ended by the
    /// server (a session stopped for too long in a transaction, an
    /// administrator's command, a restart). A new connection may work.
    pub fn is_connection_lost(&self) -> bool {
        match self {
            DbError::Sqlite(_) => false,
            DbError::Postgres(e) => {
                e.is_closed()
                    || e.code().is_some_and(|c| {
                        let code = c.code();
                        // 08: connection exception; 57P0x: operator
                        // intervention; 25P03: idle in transaction too long.
                        code.starts_with("08") || code.starts_with("57P") || code == "25P03"
                    })
            }
        }
    }
}

impl fmt::Display for DbError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DbError::Sqlite(e) => write!(f, "{e}"),
            DbError::Postgres(e) => write!(f, "{}", super::pg::error_text(e)),
        }
    }
}

impl std::error::Error for DbError {}

impl From<rusqlite::Error> for DbError {
    fn from(e: rusqlite::Error) -> DbError {
        DbError::Sqlite(e)
    }
}

impl From<postgres::Error> for DbError {
    fn from(e: postgres::Error) -> DbError {
        DbError::Postgres(e)
    }
}

/// What a store operation returns.
pub type DbResult<T> = Result<T, DbError>;
