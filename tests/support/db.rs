//! The database a test runs `flowc` on — a SQLite file of a [`World`] or
//! a PostgreSQL database — and how the test reads and writes it directly.

use super::pg;
use super::world::World;

/// Where the database is, and how the test reads it.
pub enum Db<'a> {
    Sqlite(&'a World),
    Pg(&'a pg::Server, String),
}

impl Db<'_> {
    /// The `--db` argument.
    pub fn arg(&self) -> String {
        match self {
            Db::Sqlite(_) => "crm.sqlite".into(),
            Db::Pg(_, url) => url.clone(),
        }
    }

    /// `sql` (`{s}` the state tables' schema), one string per row.
    pub fn rows(&self, sql: &str) -> Vec<String> {
        match self {
            Db::Sqlite(world) => world.strings(&sql.replace("{s}", "")),
            Db::Pg(server, url) => server
                .psql(url, &sql.replace("{s}", "flowc."))
                .lines()
                .map(str::to_string)
                .collect(),
        }
    }

    /// The one number `sql` selects.
    pub fn count(&self, sql: &str) -> i64 {
        let rows = self.rows(&format!("SELECT CAST(({sql}) AS TEXT)"));
        rows.first()
            .and_then(|r| r.trim().parse().ok())
            .unwrap_or_else(|| panic!("{sql}: {rows:?}"))
    }

    /// Runs `sql` (a batch) on the database.
    pub fn sql(&self, sql: &str) {
        match self {
            Db::Sqlite(world) => world.sql(sql),
            Db::Pg(server, url) => {
                server.psql(url, sql);
            }
        }
    }
}
