//! Reading and writing the user's rows, with the declared types.
//!
//! SQLite lets any column hold any value; flowc does not. A value that does
//! not fit its declared type (text in an int column, `"lost"` in a `stage`
//! column, null in a non-null field) is recorded as bad data on the row and
//! fails only the run that reads that field, with a message naming the
//! table, row and column.

use super::captured::{Captured, Stored};
use super::sql::ident;
use chrono_tz::Tz;
use flowc_check::ir::{FieldId, RecordDef, RecordId, Schema, Type};
use flowc_vm::value::{Row, Value};
use rusqlite::types::ValueRef;
use rusqlite::{Connection, OptionalExtension};

/// A stored value before it is given its declared type.
#[derive(Clone, Copy, Debug)]
pub enum Raw<'a> {
    Null,
    Int(i64),
    /// Possibly infinite (SQLite stores `1e999` as infinity).
    Real(f64),
    Text(&'a str),
    /// TEXT whose bytes are not UTF-8 (a Shift_JIS or Latin-1 import).
    BadText(&'a [u8]),
    Blob,
    /// A value that cannot be read at all, and why.
    Unreadable(&'a str),
}

impl<'a> From<ValueRef<'a>> for Raw<'a> {
    fn from(v: ValueRef<'a>) -> Raw<'a> {
        match v {
            ValueRef::Null => Raw::Null,
            ValueRef::Integer(i) => Raw::Int(i),
            ValueRef::Real(f) => Raw::Real(f),
            ValueRef::Text(t) => std::str::from_utf8(t).map_or(Raw::BadText(t), Raw::Text),
            ValueRef::Blob(_) => Raw::Blob,
        }
    }
}

impl<'a> From<&'a Stored> for Raw<'a> {
    fn from(v: &'a Stored) -> Raw<'a> {
        match v {
            Stored::Null => Raw::Null,
            Stored::Int(i) => Raw::Int(*i),
            Stored::Real(f) => Raw::Real(*f),
            Stored::Text(t) => Raw::Text(t),
            Stored::BadText(b) => Raw::BadText(b),
            Stored::Blob(_) => Raw::Blob,
            Stored::Odd(why) => Raw::Unreadable(why),
        }
    }
}

/// A decoded row: the values that fit, and what was wrong with the others.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Decoded {
    pub row: Row,
    /// `(field, message)` for each value that did not fit.
    pub bad: Vec<(FieldId, String)>,
}

impl Decoded {
    /// The problem with a field, if it holds bad data.
    pub fn problem(&self, field: FieldId) -> Option<&str> {
        self.bad
            .iter()
            .find(|(f, _)| *f == field)
            .map(|(_, m)| m.as_str())
    }
}

fn describe(raw: Raw) -> String {
    match raw {
        Raw::Null => "null".into(),
        Raw::Int(i) => format!("the number {i}"),
        Raw::Real(f) if f.is_nan() => "a value that is not a number".into(),
        Raw::Real(f) if f.is_infinite() => "an infinite number".into(),
        Raw::Real(f) => format!("the number {f}"),
        Raw::Text(t) => format!("the text {t:?}"),
        Raw::BadText(b) => describe_bytes(b),
        Raw::Blob => "a blob".into(),
        Raw::Unreadable(why) => why.into(),
    }
}

/// "text that is not valid UTF-8 (bytes 93 FA 96 7B)": the first bytes, so
/// that the value can be found and its encoding guessed.
pub fn describe_bytes(bytes: &[u8]) -> String {
    const SHOWN: usize = 16;
    let mut shown: Vec<String> = bytes
        .iter()
        .take(SHOWN)
        .map(|b| format!("{b:02X}"))
        .collect();
    if bytes.len() > SHOWN {
        shown.push(format!("… {} bytes in all", bytes.len()));
    }
    format!("text that is not valid UTF-8 (bytes {})", shown.join(" "))
}

/// Gives a stored value its declared type; `Err` says why it does not fit.
pub fn decode(
    raw: Raw,
    ty: flowc_check::ir::Ty,
    schema: &Schema,
    zone: Tz,
) -> Result<Value, String> {
    let mismatch = || {
        format!(
            "{} in a field of type `{}`",
            describe(raw),
            schema.type_name(ty.with_nullable(false))
        )
    };
    let value = match (ty.base, raw) {
        // Not a value of any type: say what it is, not what it is not.
        (_, Raw::BadText(_) | Raw::Unreadable(_)) => return Err(describe(raw)),
        (_, Raw::Null) => {
            return if ty.nullable {
                Ok(Value::Null)
            } else {
                Err(format!(
                    "null in a field declared `{}` (not `{0}?`)",
                    schema.type_name(ty)
                ))
            };
        }
        (Type::Int, Raw::Int(i)) => Value::Int(i),
        (Type::Duration, Raw::Int(i)) => Value::Duration(i),
        (Type::Record(_), Raw::Int(i)) => Value::Ref(i),
        (Type::Bool, Raw::Int(i @ (0 | 1))) => Value::Bool(i == 1),
        (Type::Decimal, Raw::Int(i)) => Value::Decimal(i as f64),
        (Type::Decimal, Raw::Real(f)) if f.is_finite() => Value::Decimal(f),
        (Type::Decimal, Raw::Text(t)) => match t.trim().parse::<f64>() {
            Ok(f) if f.is_finite() => Value::Decimal(f),
            _ => return Err(mismatch()),
        },
        (Type::Text, Raw::Text(t)) => Value::text(t),
        (Type::Text, Raw::Int(i)) => Value::text(&i.to_string()),
        (Type::Text, Raw::Real(f)) if f.is_finite() => {
            Value::text(&flowc_vm::value::format_decimal(f))
        }
        (Type::Date, Raw::Text(t)) => flowc_syntax::time::parse_date(t)
            .map(Value::Date)
            .ok_or_else(mismatch)?,
        (Type::DateTime, Raw::Text(t)) => flowc_syntax::time::parse_datetime(t, zone)
            .map(Value::DateTime)
            .ok_or_else(mismatch)?,
        (Type::Enum(e), Raw::Text(t)) => {
            let def = schema.enum_def(e);
            match def.values.iter().position(|v| v == t) {
                Some(i) => Value::Enum(i as u32),
                None => {
                    return Err(format!(
                        "{} is not a value of `{}`",
                        describe(raw),
                        def.name
                    ));
                }
            }
        }
        _ => return Err(mismatch()),
    };
    Ok(value)
}

/// Decodes a row from raw values in field order.
pub fn decode_row<'a>(
    schema: &Schema,
    record: &RecordDef,
    id: i64,
    raws: impl IntoIterator<Item = Raw<'a>>,
) -> Decoded {
    let mut decoded = Decoded {
        row: Row::new(id),
        bad: Vec::new(),
    };
    for (i, (field, raw)) in record.fields.iter().zip(raws).enumerate() {
        match decode(raw, field.ty, schema, schema.timezone) {
            Ok(v) => decoded.row.push(v),
            Err(message) => {
                decoded.row.push(Value::Null);
                decoded.bad.push((FieldId(i as u32), message));
            }
        }
    }
    decoded
}

/// Decodes a row as a change captured it (`flow_changes.old` / `.new`).
/// A field the change did not capture (it was declared later) comes from
/// `fallback` (the row as it is now) when there is one, else is bad data.
pub fn decode_captured(
    schema: &Schema,
    record: &RecordDef,
    id: i64,
    captured: &Captured,
    fallback: Option<&Decoded>,
) -> Decoded {
    const MISSING: &str = "not captured: the change was recorded before this field was declared";
    let mut decoded = decode_row(
        schema,
        record,
        id,
        record.fields.iter().map(|f| {
            captured
                .get(&f.name)
                .map_or(Raw::Unreadable(MISSING), Raw::from)
        }),
    );
    if let Some(now) = fallback {
        for (i, field) in record.fields.iter().enumerate() {
            let id = FieldId(i as u32);
            if captured.get(&field.name).is_none() {
                decoded.row.set(i, now.row.get(i));
                decoded.bad.retain(|(f, _)| *f != id);
                if let Some(problem) = now.problem(id) {
                    decoded.bad.push((id, problem.to_string()));
                }
            }
        }
    }
    decoded
}

/// Whether a captured row lacks some declared field.
pub fn lacks_fields(record: &RecordDef, captured: &Captured) -> bool {
    record
        .fields
        .iter()
        .any(|f| captured.get(&f.name).is_none())
}

/// A row whose captured values cannot be read at all: every field is bad
/// data, with `why` (which names the change).
pub fn unreadable(record: &RecordDef, id: i64, why: &str) -> Decoded {
    let mut decoded = Decoded {
        row: Row::new(id),
        bad: Vec::new(),
    };
    for i in 0..record.fields.len() {
        decoded.row.push(Value::Null);
        decoded.bad.push((FieldId(i as u32), why.to_string()));
    }
    decoded
}

/// `SELECT "a", "b", … FROM "t" WHERE id = ?`, the columns in field order.
pub fn select_sql(record: &RecordDef) -> String {
    let columns: Vec<String> = record.fields.iter().map(|f| ident(&f.name)).collect();
    let list = if columns.is_empty() {
        "1".to_string()
    } else {
        columns.join(", ")
    };
    format!(
        "SELECT {list} FROM {} WHERE {} = ?1",
        ident(&record.name),
        ident("id")
    )
}

/// Loads one row; `None` if it does not exist.
pub fn load(
    conn: &Connection,
    schema: &Schema,
    record: RecordId,
    id: i64,
) -> rusqlite::Result<Option<Decoded>> {
    load_with(conn, &select_sql(schema.record(record)), schema, record, id)
}

/// [`load`] with the record's [`select_sql`] made beforehand (building it
/// costs as much as the query, for code that loads rows one by one).
pub fn load_with(
    conn: &Connection,
    select_sql: &str,
    schema: &Schema,
    record: RecordId,
    id: i64,
) -> rusqlite::Result<Option<Decoded>> {
    let def = schema.record(record);
    let mut stmt = conn.prepare_cached(select_sql)?;
    stmt.query_row([id], |r| {
        let raws: Vec<Raw> = (0..def.fields.len())
            .map(|i| {
                r.get_ref(i)
                    .map(Raw::from)
                    .unwrap_or(Raw::Unreadable("the column cannot be read"))
            })
            .collect();
        Ok(decode_row(schema, def, id, raws))
    })
    .optional()
}

/// The SQLite form of a value (DESIGN.md §2 storage, normative).
pub fn to_sql(value: &Value, ty: Type, schema: &Schema) -> rusqlite::types::Value {
    use rusqlite::types::Value as S;
    match value {
        Value::Null => S::Null,
        Value::Int(i) | Value::Duration(i) | Value::Ref(i) => S::Integer(*i),
        Value::Decimal(f) => S::Real(*f),
        Value::Bool(b) => S::Integer(i64::from(*b)),
        Value::Text(t) => S::Text(t.to_string()),
        Value::Date(d) => S::Text(flowc_syntax::time::format_date(*d)),
        Value::DateTime(t) => S::Text(flowc_syntax::time::format_datetime(*t, schema.timezone)),
        Value::Enum(_) => value.to_text(ty, schema).map_or(S::Null, S::Text),
    }
}

/// `UPDATE table SET column = value WHERE id = row`; `false` if there is
/// no such row.
pub fn update_field(
    conn: &Connection,
    table: &str,
    column: &str,
    row: i64,
    value: rusqlite::types::Value,
) -> rusqlite::Result<bool> {
    let sql = format!(
        "UPDATE {} SET {} = ?1 WHERE {} = ?2",
        ident(table),
        ident(column),
        ident("id")
    );
    let n = conn
        .prepare_cached(&sql)?
        .execute(rusqlite::params![value, row])?;
    Ok(n > 0)
}

/// The users (rows of `table`) whose `role` is `role`, by id, with their
/// email decoded: whatever another program stored, a value that is not
/// text is bad data on that user (the message), not a database error.
pub fn users_with_role(
    conn: &Connection,
    schema: &Schema,
    table: &str,
    role: &str,
) -> rusqlite::Result<Vec<(i64, Result<Value, String>)>> {
    let sql = format!(
        "SELECT {}, {} FROM {} WHERE {} = ?1 ORDER BY {}",
        ident("id"),
        ident("email"),
        ident(table),
        ident("role"),
        ident("id")
    );
    conn.prepare_cached(&sql)?
        .query_map([role], |r| {
            let email = decode(
                Raw::from(r.get_ref(1)?),
                flowc_check::ir::Ty::nullable(Type::Text),
                schema,
                schema.timezone,
            );
            Ok((r.get(0)?, email))
        })?
        .collect()
}

/// The ids of `table`'s rows whose `column` equals `value` (all rows
/// without a key), in id order, at most `limit`.
pub fn ids_where(
    conn: &Connection,
    table: &str,
    key: Option<(&str, rusqlite::types::Value)>,
    limit: Option<i64>,
) -> rusqlite::Result<Vec<i64>> {
    let limit = limit.unwrap_or(-1);
    match key {
        Some((column, value)) => {
            let sql = format!(
                "SELECT {0} FROM {1} WHERE {2} = ?1 ORDER BY {0} LIMIT ?2",
                ident("id"),
                ident(table),
                ident(column)
            );
            conn.prepare_cached(&sql)?
                .query_map(rusqlite::params![value, limit], |r| r.get(0))?
                .collect()
        }
        None => {
            let sql = format!(
                "SELECT {0} FROM {1} ORDER BY {0} LIMIT ?1",
                ident("id"),
                ident(table)
            );
            conn.prepare_cached(&sql)?
                .query_map([limit], |r| r.get(0))?
                .collect()
        }
    }
}

/// Whether `table` has a row with this id.
pub fn exists(conn: &Connection, table: &str, id: i64) -> rusqlite::Result<bool> {
    let sql = format!(
        "SELECT count(*) > 0 FROM {} WHERE {} = ?1",
        ident(table),
        ident("id")
    );
    conn.query_row(&sql, [id], |r| r.get(0))
}

/// Inserts a row with these columns (names as declared); returns its id.
pub fn insert_row(
    conn: &Connection,
    table: &str,
    columns: &[(String, rusqlite::types::Value)],
) -> rusqlite::Result<i64> {
    let sql = if columns.is_empty() {
        format!("INSERT INTO {} DEFAULT VALUES", ident(table))
    } else {
        let names: Vec<String> = columns.iter().map(|(n, _)| ident(n)).collect();
        let marks: Vec<String> = (1..=columns.len()).map(|i| format!("?{i}")).collect();
        format!(
            "INSERT INTO {} ({}) VALUES ({})",
            ident(table),
            names.join(", "),
            marks.join(", ")
        )
    };
    conn.prepare_cached(&sql)?
        .execute(rusqlite::params_from_iter(columns.iter().map(|(_, v)| v)))?;
    Ok(conn.last_insert_rowid())
}

/// Sets these columns of row `id`.
pub fn update_row(
    conn: &Connection,
    table: &str,
    id: i64,
    columns: &[(String, rusqlite::types::Value)],
) -> rusqlite::Result<()> {
    if columns.is_empty() {
        return Ok(());
    }
    let sets: Vec<String> = columns
        .iter()
        .enumerate()
        .map(|(i, (n, _))| format!("{} = ?{}", ident(n), i + 2))
        .collect();
    let sql = format!(
        "UPDATE {} SET {} WHERE {} = ?1",
        ident(table),
        sets.join(", "),
        ident("id")
    );
    let values = std::iter::once(rusqlite::types::Value::Integer(id))
        .chain(columns.iter().map(|(_, v)| v.clone()));
    conn.prepare_cached(&sql)?
        .execute(rusqlite::params_from_iter(values))?;
    Ok(())
}

/// Column `column` of row `id` as an integer, as stored (`None` if there
/// is no such row or the value is not an integer). For code that plays
/// another program (the demo's CRM), not for the engine, which decodes.
pub fn int_column(
    conn: &Connection,
    table: &str,
    column: &str,
    id: i64,
) -> rusqlite::Result<Option<i64>> {
    let sql = format!(
        "SELECT {} FROM {} WHERE {} = ?1",
        ident(column),
        ident(table),
        ident("id")
    );
    let value = conn
        .prepare_cached(&sql)?
        .query_row([id], |r| Ok(r.get_ref(0)?.as_i64().ok()))
        .optional()?;
    Ok(value.flatten())
}

pub fn delete_row(conn: &Connection, table: &str, id: i64) -> rusqlite::Result<()> {
    let sql = format!("DELETE FROM {} WHERE {} = ?1", ident(table), ident("id"));
    conn.execute(&sql, [id])?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use flowc_check::ir::Ty;

    #[test]
    fn bad_data_is_reported_not_guessed() {
        let schema = Schema::default();
        let zone = Tz::UTC;
        assert_eq!(
            decode(Raw::Int(3), Ty::INT, &schema, zone),
            Ok(Value::Int(3))
        );
        assert_eq!(
            decode(Raw::Text("abc"), Ty::INT, &schema, zone),
            Err("the text \"abc\" in a field of type `int`".into())
        );
        assert!(decode(Raw::Null, Ty::INT, &schema, zone).is_err());
        assert_eq!(
            decode(Raw::Null, Ty::nullable(Type::Int), &schema, zone),
            Ok(Value::Null)
        );
        assert_eq!(
            decode(Raw::Text("2.5"), Ty::DECIMAL, &schema, zone),
            Ok(Value::Decimal(2.5))
        );
        assert_eq!(decode(Raw::Int(2), Ty::BOOL, &schema, zone).ok(), None);
        assert_eq!(
            decode(Raw::Text("2024-02-30"), Ty::DATE, &schema, zone).ok(),
            None
        );
    }

    #[test]
    fn bytes_that_are_no_value_say_what_they_are() {
        let schema = Schema::default();
        let zone = Tz::UTC;
        let sjis = [0x93, 0xFA, 0x96, 0x7B];
        assert_eq!(
            decode(Raw::BadText(&sjis), Ty::TEXT, &schema, zone),
            Err("text that is not valid UTF-8 (bytes 93 FA 96 7B)".into())
        );
        assert_eq!(
            describe_bytes(&[0xE9; 20]),
            "text that is not valid UTF-8 (bytes E9 E9 E9 E9 E9 E9 E9 E9 E9 E9 E9 E9 E9 E9 E9 E9 … 20 bytes in all)"
        );
        assert_eq!(
            decode(Raw::Blob, Ty::TEXT, &schema, zone),
            Err("a blob in a field of type `text`".into())
        );
        for ty in [Ty::INT, Ty::DECIMAL, Ty::TEXT] {
            let name = schema.type_name(ty);
            assert_eq!(
                decode(Raw::Real(f64::INFINITY), ty, &schema, zone),
                Err(format!("an infinite number in a field of type `{name}`"))
            );
        }
        assert_eq!(
            decode(
                Raw::Unreadable("why"),
                Ty::nullable(Type::Int),
                &schema,
                zone
            ),
            Err("why".into())
        );
    }
}
