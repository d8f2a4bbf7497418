//! Transactions. Every unit of engine work is one write transaction
//! (`BEGIN IMMEDIATE`, so that two processes take turns rather than fail
//! on upgrade); a dry run wraps the whole advance in one transaction that
//! is rolled back, with a savepoint per unit inside it.

use rusqlite::Connection;

/// How a unit of work is enclosed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scope {
    /// Its own write transaction.
    Transaction,
    /// A savepoint inside an enclosing transaction (dry runs).
    Savepoint,
}

pub fn begin(conn: &Connection, scope: Scope) -> rusqlite::Result<()> {
    conn.execute_batch(match scope {
        Scope::Transaction => "BEGIN IMMEDIATE",
        Scope::Savepoint => "SAVEPOINT flow_step",
    })
}

pub fn commit(conn: &Connection, scope: Scope) -> rusqlite::Result<()> {
    conn.execute_batch(match scope {
        Scope::Transaction => "COMMIT",
        Scope::Savepoint => "RELEASE flow_step",
    })
}

pub fn rollback(conn: &Connection, scope: Scope) -> rusqlite::Result<()> {
    conn.execute_batch(match scope {
        Scope::Transaction => "ROLLBACK",
        Scope::Savepoint => "ROLLBACK TO flow_step; RELEASE flow_step",
    })
}

/// Checks foreign keys at commit rather than per statement, for the rest
/// of the open transaction (rows that refer to rows inserted later).
pub fn defer_foreign_keys(conn: &Connection) -> rusqlite::Result<()> {
    conn.execute_batch("PRAGMA defer_foreign_keys = ON")
}
