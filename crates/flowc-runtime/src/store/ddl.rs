//! CREATE TABLE statements for declared records (`flowc schema --create`,
//! `flowc test`, `flowc demo`). flowc never creates or drops a user's table
//! unless asked to.

use super::sql::ident;
use flowc_check::ir::{RecordDef, Schema, Type};
use rusqlite::Connection;

/// The column type a field is stored as (DESIGN.md §2, normative).
pub fn column_type(ty: Type) -> &'static str {
    match ty {
        Type::Int | Type::Bool | Type::Duration | Type::Record(_) => "INTEGER",
        Type::Decimal => "REAL",
        Type::Text | Type::Enum(_) | Type::Date | Type::DateTime => "TEXT",
        Type::Null | Type::Any | Type::Error => "",
    }
}

/// `CREATE TABLE IF NOT EXISTS "contact" ("id" INTEGER PRIMARY KEY, …)`.
pub fn create_table(schema: &Schema, record: &RecordDef) -> String {
    let mut columns = vec![format!("{} INTEGER PRIMARY KEY", ident("id"))];
    for field in &record.fields {
        let mut column = format!("{} {}", ident(&field.name), column_type(field.ty.base));
        if !field.ty.nullable {
            column.push_str(" NOT NULL");
        }
        if let Type::Record(target) = field.ty.base {
            column.push_str(&format!(
                " REFERENCES {}({})",
                ident(&schema.record(target).name),
                ident("id")
            ));
        }
        columns.push(column);
    }
    format!(
        "CREATE TABLE IF NOT EXISTS {} (\n  {}\n)",
        ident(&record.name),
        columns.join(",\n  ")
    )
}

/// Creates the tables of `schema` that the database lacks; returns their names.
pub fn create_missing(conn: &Connection, schema: &Schema) -> rusqlite::Result<Vec<String>> {
    let mut created = Vec::new();
    for record in &schema.records {
        let exists: bool = conn.query_row(
            "SELECT EXISTS (SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = ?1)",
            [&record.name],
            |r| r.get(0),
        )?;
        if !exists {
            conn.execute(&create_table(schema, record), [])?;
            created.push(record.name.clone());
        }
    }
    Ok(created)
}
