//! Transactions. Every unit of engine work is one write transaction
//! (`BEGIN IMMEDIATE`, so that two processes take turns rather than fail
//! on upgrade); a dry run wraps the whole advance in one transaction that
//! is rolled back, with a savepoint per unit inside it.

use rusqlite::Connection;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// Connections of this process waiting for SQLite's write lock with
/// priority ([`begin_first`]: `flowc serve`'s writer, whose requests wait
/// for their commit).
static WAITING_FIRST: AtomicUsize = AtomicUsize::new(0);

/// The longest a background transaction (the engine's, delivery's) stands
/// aside for a waiting priority writer.
const STAND_ASIDE: Duration = Duration::from_millis(50);

/// How often a priority writer looks at the lock again while it is held.
const POLL: Duration = Duration::from_micros(200);

/// SQLite hands its write lock to whoever asks first after it is freed:
/// the engine, which begins its next unit the moment it commits the last,
/// would nearly always win against a request's writer, whose busy handler
/// sleeps ever longer between looks (up to 100 ms). So, within one
/// process, background work stands aside while a priority writer waits
/// (at most [`STAND_ASIDE`]), and that writer looks every [`POLL`].
fn stand_aside() {
    if WAITING_FIRST.load(Ordering::Acquire) == 0 {
        return;
    }
    let until = Instant::now() + STAND_ASIDE;
    while WAITING_FIRST.load(Ordering::Acquire) > 0 && Instant::now() < until {
        std::thread::sleep(POLL);
    }
}

/// `BEGIN IMMEDIATE` for a writer whose callers wait on its commit (HTTP
/// requests): background transactions of this process stand aside while
/// it waits, and it looks at the lock every [`POLL`] (for as long as the
/// 30 s busy timeout other connections use) rather than with SQLite's
/// growing sleeps.
pub fn begin_first(conn: &Connection) -> rusqlite::Result<()> {
    WAITING_FIRST.fetch_add(1, Ordering::AcqRel);
    let begun = begin_polling(conn);
    WAITING_FIRST.fetch_sub(1, Ordering::AcqRel);
    let restored = conn.busy_timeout(BUSY_TIMEOUT);
    begun.and(restored)
}

/// The busy timeout every engine connection has (`state::configure`).
const BUSY_TIMEOUT: Duration = Duration::from_secs(30);

fn begin_polling(conn: &Connection) -> rusqlite::Result<()> {
    conn.busy_timeout(Duration::ZERO)?;
    let deadline = Instant::now() + BUSY_TIMEOUT;
    loop {
        match conn.execute_batch("BEGIN IMMEDIATE") {
            Err(e)
                if e.sqlite_error_code() == Some(rusqlite::ErrorCode::DatabaseBusy)
                    && Instant::now() < deadline =>
            {
                std::thread::sleep(POLL);
            }
            done => return done,
        }
    }
}

/// Whether a priority writer of this process waits for the write lock.
pub fn priority_waiting() -> bool {
    WAITING_FIRST.load(Ordering::Acquire) > 0
}

/// `BEGIN IMMEDIATE` for background work: after any priority writer
/// waiting in this process.
pub fn begin_background(conn: &Connection) -> rusqlite::Result<()> {
    stand_aside();
    conn.execute_batch("BEGIN IMMEDIATE")
}

/// How a unit of work is enclosed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scope {
    /// Its own write transaction.
    Transaction,
    /// A savepoint inside an enclosing transaction (dry runs).
    Savepoint,
}

pub fn begin(conn: &Connection, scope: Scope) -> rusqlite::Result<()> {
    match scope {
        Scope::Transaction => begin_background(conn),
        Scope::Savepoint => conn.execute_batch("SAVEPOINT flow_step"),
    }
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
