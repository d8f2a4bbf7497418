//! `flowc check --db`: differences between the declared schema and a
//! database, as diagnostics pointing at the declarations.

use super::introspect::{self, Column, Table};
use super::sql::{Affinity, affinity};
use super::target::Target;
use flowc_check::ir::{Schema, Type};
use flowc_syntax::diagnostic::{Diagnostic, Label};
use flowc_syntax::source::Span;

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
    /// E0704. A table without the integer `id` primary key every record
    /// needs (`expected`: how the backend spells it).
    NoIdColumn {
        span: Span,
        table: String,
        expected: &'static str,
    },
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
            Drift::NoIdColumn { span, table, expected } => Diagnostic::error(
                "E0704",
                format!("the table `{table}` has no `{expected}` column"),
                Label::new(*span, "declared here"),
            )
            .with_hint("every record's table needs an integer `id` primary key; flowc refers to rows by it"),
        }
    }
}

/// How a backend's columns are judged.
struct Judge {
    /// How the `id` column must be declared, as the message says it.
    id: &'static str,
    id_ok: fn(&Column) -> bool,
    /// Why a column cannot hold a field's values, if it cannot.
    incompatible: fn(Type, &Column) -> Option<&'static str>,
}

const SQLITE: Judge = Judge {
    id: "id INTEGER PRIMARY KEY",
    id_ok: |c| c.primary_key && affinity(&c.declared_type) == Affinity::Integer,
    incompatible: |ty, c| incompatible(ty, affinity(&c.declared_type)),
};

const POSTGRES: Judge = Judge {
    id: "id bigint PRIMARY KEY",
    id_ok: |c| c.primary_key && matches!(c.declared_type.as_str(), "bigint" | "integer"),
    incompatible: incompatible_pg,
};

/// Compares `schema` with the database (a SQLite file opened read-only, or
/// a PostgreSQL database, only read).
pub fn compare(target: &Target, schema: &Schema) -> Result<Vec<Diagnostic>, String> {
    match target {
        Target::Sqlite(path) => {
            if !path.is_file() {
                return Err(format!("{}: no such database file", path.display()));
            }
            let conn =
                introspect::open_read_only(path).map_err(|e| format!("{}: {e}", path.display()))?;
            judge(schema, &SQLITE, |name| {
                introspect::table(&conn, name).map_err(|e| format!("{}: {e}", path.display()))
            })
        }
        Target::Postgres(pg) => {
            let mut client = super::pg::connect(pg)?;
            judge(schema, &POSTGRES, |name| {
                super::pg::introspect::table(&mut client, name)
                    .map_err(|e| format!("{pg}: {}", super::pg::error_text(&e)))
            })
        }
    }
}

fn judge(
    schema: &Schema,
    judge: &Judge,
    mut table: impl FnMut(&str) -> Result<Table, String>,
) -> Result<Vec<Diagnostic>, String> {
    let mut out = Vec::new();
    for record in &schema.records {
        let table = table(&record.name)?;
        if table.columns.is_empty() {
            out.push(Drift::MissingTable {
                span: record.span,
                table: record.name.clone(),
            });
            continue;
        }
        if !table
            .columns
            .iter()
            .any(|c| c.name == "id" && (judge.id_ok)(c))
        {
            out.push(Drift::NoIdColumn {
                span: record.span,
                table: record.name.clone(),
                expected: judge.id,
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
            if let Some(why) = (judge.incompatible)(field.ty.base, column) {
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

/// Why a PostgreSQL column cannot faithfully hold the field's values
/// (DESIGN.md §10's type mapping).
fn incompatible_pg(ty: Type, column: &Column) -> Option<&'static str> {
    let t = column.declared_type.as_str();
    let integer = matches!(t, "bigint" | "integer" | "smallint");
    match ty {
        Type::Int | Type::Duration | Type::Record(_) if integer => None,
        Type::Int | Type::Duration | Type::Record(_) => {
            Some("integers (and ids, durations) need a bigint, integer or smallint column")
        }
        Type::Bool if t == "boolean" => None,
        Type::Bool => Some("a bool needs a boolean column"),
        Type::Decimal if t.starts_with("numeric") || t == "real" || t == "double precision" => None,
        Type::Decimal => Some("a decimal needs a numeric, real or double precision column"),
        Type::Text | Type::Enum(_)
            if column.is_enum || t == "text" || t.starts_with("character varying") =>
        {
            None
        }
        Type::Text | Type::Enum(_) => Some("text needs a text or varchar column (or an enum type)"),
        Type::Date if t == "date" => None,
        Type::Date => Some("a date needs a date column"),
        Type::DateTime if t.starts_with("timestamp") => None,
        Type::DateTime => Some(
            "a datetime needs a timestamptz column (timestamp without time zone is read in the project's time zone)",
        ),
        Type::Null | Type::Any | Type::Error => None,
    }
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
