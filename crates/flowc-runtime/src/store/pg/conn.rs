//! A PostgreSQL connection that prepares each statement text once: the
//! client's `query(&str)` parses and describes the text on every call (a
//! round trip, ~22 µs on loopback) before running it; a cached
//! [`Statement`] runs in one. It also counts the statements it runs, and
//! the units of work that wrote, for `flowc bench` (statements per batch).
//!
//! It also holds what a unit of work knows and holds back ([`Pending`],
//! see `pending.rs`: the ends of runs it started, new tags and list
//! memberships, what it read ahead). The held-back writes are written, one
//! statement per kind, before any statement that is not marked as leaving
//! them be ([`Conn::keeping`]: statements that touch none of it, such as
//! the writes of steps to other tables), and before the unit commits; a
//! rollback forgets them.
//!
//! Everything else of the client (`transaction`, …) is reached through
//! `Deref`, which neither counts nor writes what is held back: it is for
//! work outside the engine's units of work.

use super::pending::Pending;
use postgres::types::ToSql;
use postgres::{Client, Error, Row, Statement};
use std::collections::HashMap;

pub struct Conn {
    client: Client,
    prepared: HashMap<String, Statement>,
    /// Statements run so far (each one round trip).
    pub statements: u64,
    /// Transactions committed after writing something (`flowc bench`'s
    /// batches: a unit of work that only looked is not one).
    pub units: u64,
    /// Whether the open transaction has written.
    pub(super) wrote: bool,
    /// Whether a transaction is open (`BEGIN` ran, no `COMMIT` or
    /// `ROLLBACK` since).
    in_transaction: bool,
    /// Whether statements run now leave what is held back unwritten.
    keep: bool,
    /// What the connection knows and holds back in its unit of work.
    pub(super) pending: Pending,
    /// Where the next claim of changes starts looking (`changes::claim_on`),
    /// and how many claims it made.
    pub(super) changes_from: i64,
    pub(super) claims: u64,
}

type Params<'a> = &'a [&'a (dyn ToSql + Sync)];

impl Conn {
    pub fn new(client: Client) -> Conn {
        Conn {
            client,
            prepared: HashMap::new(),
            statements: 0,
            units: 0,
            wrote: false,
            in_transaction: false,
            keep: false,
            pending: Pending::default(),
            changes_from: 0,
            claims: 0,
        }
    }

    /// Whether a unit of work's transaction is open.
    pub fn in_transaction(&self) -> bool {
        self.in_transaction
    }

    /// This connection, for statements that leave what is held back
    /// unwritten and what is known true: statements that touch neither
    /// (not `flow_runs`, `flow_tags`, `flow_list_members`; no new change or
    /// event, unless they say so with `Pending::changed`).
    pub fn keeping(&mut self) -> Keeping<'_> {
        let was = std::mem::replace(&mut self.keep, true);
        Keeping { conn: self, was }
    }

    /// Writes what is held back (one statement per kind), unless nothing.
    pub fn flush(&mut self) -> Result<(), Error> {
        if self.pending.is_empty() {
            return Ok(());
        }
        let was = std::mem::replace(&mut self.keep, true);
        let result = super::pending::write(self);
        self.keep = was;
        result
    }

    /// The prepared statement for `sql`, prepared now if it is new.
    fn statement(&mut self, sql: &str) -> Result<Statement, Error> {
        if let Some(statement) = self.prepared.get(sql) {
            return Ok(statement.clone());
        }
        let statement = self.client.prepare(sql)?;
        self.prepared.insert(sql.to_string(), statement.clone());
        Ok(statement)
    }

    /// Counts a statement about to run; unless it keeps them, writes what
    /// is held back first, and forgets what was known (the statement may
    /// change it).
    fn before(&mut self, sql: &str) -> Result<(), Error> {
        if !self.keep {
            self.flush()?;
            self.pending.unknow();
        }
        self.statements += 1;
        self.wrote |= writes(sql);
        Ok(())
    }

    /// Runs `run` on `sql`'s statement; a statement the server no longer
    /// accepts as prepared (a table it reads was altered) is forgotten, to
    /// be prepared again by the next unit of work.
    fn with<T>(
        &mut self,
        sql: &str,
        run: impl FnOnce(&mut Client, &Statement) -> Result<T, Error>,
    ) -> Result<T, Error> {
        self.before(sql)?;
        let statement = self.statement(sql)?;
        let result = run(&mut self.client, &statement);
        if let Err(e) = &result
            && e.code() == Some(&postgres::error::SqlState::FEATURE_NOT_SUPPORTED)
        {
            self.prepared.remove(sql);
        }
        result
    }

    pub fn query(&mut self, sql: &str, params: Params) -> Result<Vec<Row>, Error> {
        self.with(sql, |c, s| c.query(s, params))
    }

    pub fn query_one(&mut self, sql: &str, params: Params) -> Result<Row, Error> {
        self.with(sql, |c, s| c.query_one(s, params))
    }

    pub fn query_opt(&mut self, sql: &str, params: Params) -> Result<Option<Row>, Error> {
        self.with(sql, |c, s| c.query_opt(s, params))
    }

    pub fn execute(&mut self, sql: &str, params: Params) -> Result<u64, Error> {
        self.with(sql, |c, s| c.execute(s, params))
    }

    /// Runs statements without parameters or results (`BEGIN`, `COMMIT`).
    /// What is held back is written before a `COMMIT` (or a `SAVEPOINT`, a
    /// `RELEASE`, anything else), forgotten by a `ROLLBACK`.
    pub fn batch_execute(&mut self, sql: &str) -> Result<(), Error> {
        let text = sql.trim_start();
        let starts = |word: &str| {
            text.get(..word.len())
                .is_some_and(|t| t.eq_ignore_ascii_case(word))
        };
        if starts("ROLLBACK") {
            // Whatever was pending since the transaction (or the savepoint,
            // before which they were written) began is undone with it.
            self.pending.forget();
        } else if starts("COMMIT") {
            if let Err(e) = self.flush() {
                // The transaction is aborted: end it, report why.
                self.pending.forget();
                let _ = self.client.batch_execute("ROLLBACK");
                self.in_transaction = false;
                return Err(e);
            }
        } else if !self.keep {
            self.flush()?;
            self.pending.unknow();
        }
        self.statements += 1;
        let result = self.client.batch_execute(sql);
        if starts("BEGIN") {
            self.wrote = false;
            self.in_transaction = result.is_ok();
        } else if starts("COMMIT") {
            self.units += u64::from(std::mem::take(&mut self.wrote) && result.is_ok());
            self.in_transaction = false;
            self.pending.forget();
        } else if starts("ROLLBACK") && !starts("ROLLBACK TO") {
            self.wrote = false;
            self.in_transaction = false;
        }
        result
    }

    /// The client's `query_typed` (parsed, bound and run in one round
    /// trip, without the cache), counted.
    pub fn query_typed(
        &mut self,
        sql: &str,
        params: &[(&(dyn ToSql + Sync), postgres::types::Type)],
    ) -> Result<Vec<Row>, Error> {
        self.before(sql)?;
        self.client.query_typed(sql, params)
    }
}

/// A [`Conn`] whose statements leave what is held back unwritten, until
/// dropped.
pub struct Keeping<'a> {
    conn: &'a mut Conn,
    was: bool,
}

impl Drop for Keeping<'_> {
    fn drop(&mut self) {
        self.conn.keep = self.was;
    }
}

impl std::ops::Deref for Keeping<'_> {
    type Target = Conn;
    fn deref(&self) -> &Conn {
        self.conn
    }
}

impl std::ops::DerefMut for Keeping<'_> {
    fn deref_mut(&mut self) -> &mut Conn {
        self.conn
    }
}

/// Whether `sql` writes: an `INSERT`, `UPDATE` or `DELETE`, also inside a
/// `WITH` (a `FOR UPDATE` lock is not a write).
fn writes(sql: &str) -> bool {
    let mut previous = "";
    for word in sql.split(|c: char| c.is_whitespace() || c == '(') {
        let write = word.eq_ignore_ascii_case("INSERT")
            || word.eq_ignore_ascii_case("DELETE")
            || (word.eq_ignore_ascii_case("UPDATE")
                && !previous.eq_ignore_ascii_case("FOR")
                && !previous.eq_ignore_ascii_case("KEY"));
        if write {
            return true;
        }
        if !word.is_empty() {
            previous = word;
        }
    }
    false
}

impl std::ops::Deref for Conn {
    type Target = Client;
    fn deref(&self) -> &Client {
        &self.client
    }
}

impl std::ops::DerefMut for Conn {
    fn deref_mut(&mut self) -> &mut Client {
        &mut self.client
    }
}
