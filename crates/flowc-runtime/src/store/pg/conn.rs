//! A PostgreSQL connection that prepares each statement text once: the
//! client's `query(&str)` parses and describes the text on every call (a
//! round trip, ~22 µs on loopback) before running it; a cached
//! [`Statement`] runs in one. It also counts the statements it runs, for
//! `flowc bench` (statements per batch must not grow with the batch).
//!
//! Everything else of the client (`transaction`, `batch_execute`,
//! `query_typed`, …) is reached through `Deref`.

use postgres::types::ToSql;
use postgres::{Client, Error, Row, Statement};
use std::collections::HashMap;

pub struct Conn {
    client: Client,
    prepared: HashMap<String, Statement>,
    /// Statements run through the cache so far.
    pub statements: u64,
}

type Params<'a> = &'a [&'a (dyn ToSql + Sync)];

impl Conn {
    pub fn new(client: Client) -> Conn {
        Conn {
            client,
            prepared: HashMap::new(),
            statements: 0,
        }
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

    /// Runs `run` on `sql`'s statement; a statement the server no longer
    /// accepts as prepared (a table it reads was altered) is forgotten, to
    /// be prepared again by the next unit of work.
    fn with<T>(
        &mut self,
        sql: &str,
        run: impl FnOnce(&mut Client, &Statement) -> Result<T, Error>,
    ) -> Result<T, Error> {
        self.statements += 1;
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
    pub fn batch_execute(&mut self, sql: &str) -> Result<(), Error> {
        self.statements += 1;
        self.client.batch_execute(sql)
    }
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
