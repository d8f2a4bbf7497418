//! Reading the user's table definitions from PostgreSQL's catalog: the
//! tables visible on the connection's `search_path` (flowc's own schema
//! `flowc` and the system schemas excluded), with PostgreSQL's type names.

use super::super::introspect::{Column, Table};
use postgres::Client;

/// Every visible column of the user's tables, in table and column order.
/// `$1` narrows it to one table (NULL: all).
const COLUMNS: &str = "
SELECT c.relname,
       a.attname,
       format_type(a.atttypid, a.atttypmod),
       a.attnotnull,
       EXISTS (SELECT 1 FROM pg_index i
               WHERE i.indrelid = c.oid AND i.indisprimary AND i.indnatts = 1 AND i.indkey[0] = a.attnum),
       (SELECT r.relname FROM pg_constraint k JOIN pg_class r ON r.oid = k.confrelid
        WHERE k.conrelid = c.oid AND k.contype = 'f' AND k.conkey = ARRAY[a.attnum] LIMIT 1),
       t.typtype = 'e'
FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace
JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
JOIN pg_type t ON t.oid = a.atttypid
WHERE c.relkind IN ('r', 'p')
  AND pg_table_is_visible(c.oid)
  AND n.nspname NOT IN ('pg_catalog', 'information_schema', 'flowc')
  AND ($1::text IS NULL OR c.relname = $1)
ORDER BY c.relname, a.attnum";

fn read(client: &mut Client, only: Option<&str>) -> Result<Vec<Table>, postgres::Error> {
    let mut tables: Vec<Table> = Vec::new();
    for row in client.query(COLUMNS, &[&only])? {
        let table: String = row.get(0);
        let column = Column {
            name: row.get(1),
            declared_type: row.get(2),
            not_null: row.get(3),
            primary_key: row.get(4),
            references: row.get(5),
            is_enum: row.get(6),
        };
        match tables.last_mut() {
            Some(last) if last.name == table => last.columns.push(column),
            _ => tables.push(Table {
                name: table,
                columns: vec![column],
            }),
        }
    }
    Ok(tables)
}

/// The user's tables, by name.
pub fn tables(client: &mut Client) -> Result<Vec<Table>, postgres::Error> {
    read(client, None)
}

/// One table's columns, or an empty column list if it does not exist.
pub fn table(client: &mut Client, name: &str) -> Result<Table, postgres::Error> {
    Ok(read(client, Some(name))?.pop().unwrap_or_else(|| Table {
        name: name.to_string(),
        columns: Vec::new(),
    }))
}
