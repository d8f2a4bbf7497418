//! Reading table definitions from a SQLite database.

use rusqlite::{Connection, OpenFlags};
use std::path::Path;

/// A column as SQLite describes it.
#[derive(Clone, Debug, PartialEq)]
pub struct Column {
    pub name: String,
    pub declared_type: String,
    pub not_null: bool,
    pub primary_key: bool,
    /// The table this column references, from a FOREIGN KEY clause.
    pub references: Option<String>,
    /// A PostgreSQL enum type (always `false` on SQLite).
    pub is_enum: bool,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Table {
    pub name: String,
    pub columns: Vec<Column>,
}

/// Opens an existing database without creating or changing it.
pub fn open_read_only(path: &Path) -> rusqlite::Result<Connection> {
    Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
}

/// Whether the user (not flowc) has a table of this name.
pub fn user_table_exists(conn: &Connection, name: &str) -> rusqlite::Result<bool> {
    conn.query_row(
        "SELECT count(*) > 0 FROM sqlite_schema WHERE type = 'table' AND name = ?1 \
         AND name NOT LIKE 'flow\\_%' ESCAPE '\\'",
        [name],
        |r| r.get(0),
    )
}

/// The user's tables (not SQLite's own, not flowc's `flow_*` state), by name.
pub fn tables(conn: &Connection) -> rusqlite::Result<Vec<Table>> {
    let mut stmt = conn.prepare(
        "SELECT name FROM sqlite_schema WHERE type = 'table' \
         AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' AND name NOT LIKE 'flow\\_%' ESCAPE '\\' ORDER BY name",
    )?;
    let names: Vec<String> = stmt
        .query_map([], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    names.into_iter().map(|name| table(conn, &name)).collect()
}

/// One table's columns, or an empty column list if it does not exist.
pub fn table(conn: &Connection, name: &str) -> rusqlite::Result<Table> {
    let mut columns = Vec::new();
    let mut stmt = conn.prepare("SELECT name, type, \"notnull\", pk FROM pragma_table_info(?1)")?;
    let rows = stmt.query_map([name], |r| {
        Ok(Column {
            name: r.get(0)?,
            declared_type: r.get(1)?,
            not_null: r.get::<_, i64>(2)? != 0,
            primary_key: r.get::<_, i64>(3)? != 0,
            references: None,
            is_enum: false,
        })
    })?;
    for row in rows {
        columns.push(row?);
    }
    let mut fks = conn.prepare("SELECT \"from\", \"table\" FROM pragma_foreign_key_list(?1)")?;
    let links: Vec<(String, String)> = fks
        .query_map([name], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<Result<_, _>>()?;
    for (from, to) in links {
        if let Some(c) = columns.iter_mut().find(|c| c.name == from) {
            c.references = Some(to);
        }
    }
    Ok(Table {
        name: name.to_string(),
        columns,
    })
}
