//! `flowc check --db`: differences between the declared schema and a
//! database, as diagnostics pointing at the declarations.

use super::introspect;
use super::sql::{Affinity, affinity};
use flowc_check::ir::{Schema, Type};
use flowc_syntax::diagnostic::{Diagnostic, Label};
use flowc_syntax::source::Span;
use std::path::Path;

/// A difference between a declaration and the database.
#[derive(Clone, Debug, PartialEq)]
pub enum Drift {
    /// E0701. `record contact { … }` but the database has no `contact` table.
    MissingTable { span: Span, table: String },
    /// E0702. A declared field without a column.
    MissingColumn {
        span: Span,
        table: String,
        column: String,
    },
    /// E0703. A column whose declared SQL type cannot hold the field's values.
    IncompatibleColumn {
        span: Span,
        table: String,
        column: String,
        field_type: String,
        sql_type: String,
        why: &'static str,
    },
    /// E0704. A table without the `id INTEGER PRIMARY KEY` every record needs.
    NoIdColumn { span: Span, table: String },
}

impl Drift {
    pub fn to_diagnostic(&self) -> Diagnostic {
        match self {
            Drift::MissingTable { span, table } => Diagnostic::error(
                "E0701",
                format!("the database has no table `{table}`"),
                Label::new(*span, "declared here"),
            )
            .with_hint("create it with `flowc schema --db FILE --create`, or fix the record's name"),
            Drift::MissingColumn { span, table, column } => Diagnostic::error(
                "E0702",
                format!("the table `{table}` has no column `{column}`"),
                Label::new(*span, "declared here"),
            )
            .with_hint(format!("add it (`ALTER TABLE {table} ADD COLUMN {column} …`) or remove the field")),
            Drift::IncompatibleColumn { span, table, column, field_type, sql_type, why } => Diagnostic::error(
                "E0703",
                format!("`{table}.{column}` is declared `{field_type}`, but its column is `{sql_type}`"),
                Label::new(*span, format!("declared `{field_type}` here")),
            )
            .with_hint(why.to_string()),
            Drift::NoIdColumn { span, table } => Diagnostic::error(
                "E0704",
                format!("the table `{table}` has no `id INTEGER PRIMARY KEY` column"),
                Label::new(*span, "declared here"),
            )
            .with_hint("every record's table needs an integer `id` primary key; flowc refers to rows by it"),
        }
    }
}

/// Compares `schema` with the database at `path` (opened read-only).
pub fn compare(path: &Path, schema: &Schema) -> Result<Vec<Diagnostic>, String> {
    if !path.is_file() {
        return Err(format!("{}: no such database file", path.display()));
    }
    let conn = introspect::open_read_only(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut out = Vec::new();
    for record in &schema.records {
        let table = introspect::table(&conn, &record.name)
            .map_err(|e| format!("{}: {e}", path.display()))?;
        if table.columns.is_empty() {
            out.push(Drift::MissingTable {
                span: record.span,
                table: record.name.clone(),
            });
            continue;
        }
        let id_ok = table.columns.iter().any(|c| {
            c.name == "id" && c.primary_key && affinity(&c.declared_type) == Affinity::Integer
        });
        if !id_ok {
            out.push(Drift::NoIdColumn {
                span: record.span,
                table: record.name.clone(),
            });
        }
        for field in &record.fields {
            let Some(column) = table.columns.iter().find(|c| c.name == field.name) else {
                out.push(Drift::MissingColumn {
                    span: field.span,
                    table: record.name.clone(),
                    column: field.name.clone(),
                });
                continue;
            };
            if let Some(why) = incompatible(field.ty.base, affinity(&column.declared_type)) {
                out.push(Drift::IncompatibleColumn {
                    span: field.span,
                    table: record.name.clone(),
                    column: field.name.clone(),
                    field_type: schema.type_name(field.ty.with_nullable(false)),
                    sql_type: column.declared_type.clone(),
                    why,
                });
            }
        }
    }
    Ok(out.iter().map(Drift::to_diagnostic).collect())
}

/// Why a column of this affinity cannot faithfully hold the field's values.
fn incompatible(ty: Type, affinity: Affinity) -> Option<&'static str> {
    use Affinity::*;
    match (ty, affinity) {
        (_, Blob) => None,
        (Type::Int | Type::Duration | Type::Record(_) | Type::Bool, Integer | Numeric) => None,
        (Type::Int | Type::Duration | Type::Record(_) | Type::Bool, _) => {
            Some("integers (and ids, durations, bools) need an INTEGER or NUMERIC column")
        }
        (Type::Decimal, Real | Numeric | Text) => None,
        (Type::Decimal, _) => {
            Some("an INTEGER column rounds nothing but reads back mixed types; use REAL or NUMERIC")
        }
        (Type::Text | Type::Enum(_), Text) => None,
        (Type::Text | Type::Enum(_), _) => Some(
            "text in a numeric column is converted (\"05\" becomes 5); declare the column TEXT",
        ),
        (Type::Date | Type::DateTime, Text | Numeric) => None,
        (Type::Date | Type::DateTime, _) => {
            Some("dates are stored as ISO 8601 text; declare the column TEXT")
        }
        (Type::Null | Type::Any | Type::Error, _) => None,
    }
}
