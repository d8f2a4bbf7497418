//! The user's tables on PostgreSQL (found on the connection's
//! `search_path`): reading a row as the engine's values, the writes rules
//! and tests make, and a sweep's candidate rows. The same typed operations
//! as `store::rows` and `store::pushdown`, with PostgreSQL's types
//! (DESIGN.md §10).
//!
//! **Reading.** A row is selected as its columns are, without casts
//! (`SELECT "a", "b" FROM "t" WHERE "id" = $1::bigint`), and each value is
//! read in PostgreSQL's binary form by the type the server says the column
//! has, so neither the SQL nor the reader needs the catalog: the column's
//! actual type decides. Each (field type, column type) pair that §10 maps
//! (the pairs `flowc check --db` accepts, see `store::drift`) becomes the
//! raw value SQLite would hold and goes through the same
//! [`rows::decode_row`] (nullability, enum values, the project's time zone):
//!
//! - `bigint`, `integer`, `smallint` → an integer (int, duration, reference);
//! - `boolean` → 0 or 1 (bool);
//! - `numeric` → its text, exactly as `numeric::text` prints it (`12.50`),
//!   parsed by the code SQLite's text decimals go through; `double
//!   precision` → its value; `real` → the shortest decimal that reads back
//!   as the same `real` (`0.1`, not `0.10000000149011612`);
//! - `text`, `varchar`, a PostgreSQL enum type → the text (bytes that are
//!   not UTF-8, possible in a `SQL_ASCII` database, are bad data) (text,
//!   enums);
//! - `date` → `YYYY-MM-DD`;
//! - `timestamptz` → the instant; `timestamp` (without time zone) → its
//!   wall-clock time, read in the project's time zone (`schema.timezone`),
//!   as SQLite's zone-less text is; fractions of a second are dropped.
//!
//! Any other pair (a `boolean` column for an `int` field, `jsonb`, …), a
//! `NaN` or infinite number, an infinite date or timestamp, or a value
//! whose binary form cannot be read is bad data on that field, never an
//! error: the message names the column's type.
//!
//! **Writing.** Values arrive in SQLite's form ([`SqlValue`], what
//! `rows::to_sql` makes: integers, reals, text for dates, datetimes
//! (`2025-01-02T09:30:00+09:00`, with the offset) and enums, null). Each is
//! bound in PostgreSQL's *text* format, for a parameter whose type the
//! server infers from the column, so it is read by that column's own input
//! function as a literal would be: `1`/`0` into a `boolean`, a real into
//! `numeric` exactly as printed, text into an enum type, a datetime with its
//! offset into a `timestamptz`. A `timestamp` column keeps the wall-clock
//! time of the text, which `to_sql` wrote in the project's zone: the same
//! reading as above. No catalog lookup, nothing cached.
//!
//! **Sweeps.** [`pushdown::plan`](super::super::pushdown::plan) renders
//! the rule's `where` for PostgreSQL too; [`sweep_candidates`] runs it.

use super::super::backend::SqlValue;
use super::super::pushdown::Plan;
use super::super::rows::{self, Decoded, Raw};
use super::super::sql::ident;
use super::conn::Conn;
use super::pending::{Histories, History};
use flowc_check::ir::{RecordDef, RecordId, Schema, Ty, Type};
use flowc_vm::value::Value;
use postgres::types::{FromSql, Kind, ToSql, Type as PgType};

type R<T> = Result<T, postgres::Error>;
type BoxError = Box<dyn std::error::Error + Sync + Send>;

/// Seconds from the Unix epoch to PostgreSQL's (2000-01-01 00:00 UTC).
const PG_EPOCH_SECONDS: i64 = 946_684_800;
/// Days from the Unix epoch to PostgreSQL's.
const PG_EPOCH_DAYS: i32 = 10_957;

/// The one-row SELECT for `record` (what `Store::row_query` holds): its
/// declared fields in order, as stored.
pub fn select_sql(record: &RecordDef) -> String {
    let columns: Vec<String> = record.fields.iter().map(|f| ident(&f.name)).collect();
    let list = if columns.is_empty() {
        "1".to_string()
    } else {
        columns.join(", ")
    };
    format!(
        "SELECT {list} FROM {} WHERE {} = $1::bigint",
        ident(&record.name),
        ident("id")
    )
}

/// Loads one row with [`select_sql`]'s query; `None` if it does not exist.
pub fn load(
    c: &mut Conn,
    sql: &str,
    schema: &Schema,
    record: RecordId,
    id: i64,
) -> R<Option<Decoded>> {
    let def = schema.record(record);
    // One round trip: the statement is parsed, bound and run at once. A
    // user's table: what the unit holds back need not be written first.
    let rows = c.keeping().query_typed(sql, &[(&id, PgType::INT8)])?;
    let Some(row) = rows.first() else {
        return Ok(None);
    };
    let cells: Vec<Cell> = def
        .fields
        .iter()
        .enumerate()
        .map(|(i, field)| cell(row, i, field.ty, schema))
        .collect();
    Ok(Some(rows::decode_row(
        schema,
        def,
        id,
        cells.iter().map(Cell::raw),
    )))
}

/// `UPDATE table SET column = value WHERE id = row`; `false` if there is
/// no such row.
pub fn update_field(c: &mut Conn, table: &str, column: &str, row: i64, value: SqlValue) -> R<bool> {
    let sql = format!(
        "UPDATE {} SET {} = $1 WHERE {} = $2::bigint",
        ident(table),
        ident(column),
        ident("id")
    );
    let n = c.execute(&sql, &[&Param::from(&value), &row])?;
    Ok(n > 0)
}

/// The users (rows of `table`) whose `role` is `role`, by id, with their
/// email decoded: a value that is not text is bad data on that user (the
/// message), not a database error.
pub fn users_with_role(
    c: &mut Conn,
    schema: &Schema,
    table: &str,
    role: &str,
) -> R<Vec<(i64, Result<Value, String>)>> {
    let sql = format!(
        "SELECT {0}::bigint, {1} FROM {2} WHERE {3} = $1 ORDER BY {0}",
        ident("id"),
        ident("email"),
        ident(table),
        ident("role")
    );
    let ty = Ty::nullable(Type::Text);
    let mut users = Vec::new();
    for row in c.keeping().query(&sql, &[&Param(Some(role.to_string()))])? {
        let id: i64 = row.try_get(0)?;
        let email = cell(&row, 1, ty, schema);
        users.push((id, rows::decode(email.raw(), ty, schema, schema.timezone)));
    }
    Ok(users)
}

/// The ids of `table`'s rows whose `column` equals the value (all rows
/// without a key), in id order, at most `limit` (a negative limit is none,
/// as on SQLite).
pub fn ids_where(
    c: &mut Conn,
    table: &str,
    key: Option<(&str, SqlValue)>,
    limit: Option<i64>,
) -> R<Vec<i64>> {
    let limit = limit.filter(|l| *l >= 0);
    let rows = match key {
        Some((column, value)) => {
            let sql = format!(
                "SELECT {0}::bigint FROM {1} WHERE {2} = $1 ORDER BY {0} LIMIT $2::bigint",
                ident("id"),
                ident(table),
                ident(column)
            );
            c.keeping().query(&sql, &[&Param::from(&value), &limit])?
        }
        None => {
            let sql = format!(
                "SELECT {0}::bigint FROM {1} ORDER BY {0} LIMIT $1::bigint",
                ident("id"),
                ident(table)
            );
            c.keeping().query(&sql, &[&limit])?
        }
    };
    rows.iter().map(|r| r.try_get(0)).collect()
}

/// `INSERT INTO table (columns…) VALUES ($1, …) RETURNING id`, the
/// columns' values bound in order.
pub(super) fn insert_sql<'a>(
    table: &str,
    columns: impl ExactSizeIterator<Item = &'a str>,
) -> String {
    if columns.len() == 0 {
        return format!(
            "INSERT INTO {} DEFAULT VALUES RETURNING {}::bigint",
            ident(table),
            ident("id")
        );
    }
    let count = columns.len();
    let names: Vec<String> = columns.map(ident).collect();
    let marks: Vec<String> = (1..=count).map(|i| format!("${i}")).collect();
    format!(
        "INSERT INTO {} ({}) VALUES ({}) RETURNING {}::bigint",
        ident(table),
        names.join(", "),
        marks.join(", "),
        ident("id")
    )
}

/// `UPDATE table SET column = $2, … WHERE id = $1`.
pub(super) fn update_sql<'a>(table: &str, columns: impl Iterator<Item = &'a str>) -> String {
    let sets: Vec<String> = columns
        .enumerate()
        .map(|(i, n)| format!("{} = ${}", ident(n), i + 2))
        .collect();
    format!(
        "UPDATE {} SET {} WHERE {} = $1::bigint",
        ident(table),
        sets.join(", "),
        ident("id")
    )
}

/// Inserts a row with these columns (names as declared; `id` among them
/// when the caller chooses it); returns its id.
pub fn insert_row(c: &mut Conn, table: &str, columns: &[(String, SqlValue)]) -> R<i64> {
    let sql = insert_sql(table, columns.iter().map(|(n, _)| n.as_str()));
    let values: Vec<Param> = columns.iter().map(|(_, v)| Param::from(v)).collect();
    let params: Vec<&(dyn ToSql + Sync)> =
        values.iter().map(|p| p as &(dyn ToSql + Sync)).collect();
    c.query_one(&sql, &params)?.try_get(0)
}

/// Sets these columns of row `id`.
pub fn update_row(c: &mut Conn, table: &str, id: i64, columns: &[(String, SqlValue)]) -> R<()> {
    if columns.is_empty() {
        return Ok(());
    }
    let sql = update_sql(table, columns.iter().map(|(n, _)| n.as_str()));
    let values: Vec<Param> = columns.iter().map(|(_, v)| Param::from(v)).collect();
    let mut params: Vec<&(dyn ToSql + Sync)> = Vec::with_capacity(values.len() + 1);
    params.push(&id);
    params.extend(values.iter().map(|p| p as &(dyn ToSql + Sync)));
    c.execute(&sql, &params)?;
    Ok(())
}

pub fn delete_row(c: &mut Conn, table: &str, id: i64) -> R<()> {
    let sql = format!(
        "DELETE FROM {} WHERE {} = $1::bigint",
        ident(table),
        ident("id")
    );
    c.execute(&sql, &[&id])?;
    Ok(())
}

/// The rows of `table` a sweep looks at, in id order: `(id, decided)`,
/// by the plan's PostgreSQL rendering: its pushed conditions, plus the rows
/// whose pushed columns hold bad data to flow, never decided (see
/// `store::pushdown`).
pub fn sweep_candidates(c: &mut Conn, table: &str, plan: &Plan) -> R<Vec<(i64, bool)>> {
    let plan = &plan.postgres;
    let sql = format!(
        "SELECT {0}::bigint, {1} FROM {2} WHERE {3} ORDER BY {0}",
        ident("id"),
        plan.exact_sql,
        ident(table),
        plan.where_sql
    );
    let params: Vec<Param> = plan.params.iter().map(Param::from).collect();
    let refs: Vec<&(dyn ToSql + Sync)> = params.iter().map(|p| p as &(dyn ToSql + Sync)).collect();
    c.keeping()
        .query(&sql, &refs)?
        .iter()
        .map(|r| {
            Ok((
                r.try_get(0)?,
                r.try_get::<_, Option<bool>>(1)?.unwrap_or(false),
            ))
        })
        .collect()
}

/// [`sweep_candidates`] for the engine, whose state is in schema `s`: and
/// the run history per rule (active runs, last start) of the decided rows,
/// what re-entry asks before a run starts for each, then known in the unit
/// of work: one statement more, where asking per row was one per run. (In
/// the candidates' statement itself, a subquery per row would keep
/// PostgreSQL from scanning the table in parallel: 2.5× slower.)
pub fn sweep_candidates_knowing(
    c: &mut Conn,
    s: &str,
    table: &str,
    plan: &Plan,
) -> R<Vec<(i64, bool)>> {
    let candidates = sweep_candidates(c, table, plan)?;
    let decided: Vec<i64> = candidates
        .iter()
        .filter(|(_, exact)| *exact)
        .map(|(id, _)| *id)
        .collect();
    if !c.in_transaction() || decided.is_empty() || decided.len() > MOST_HISTORIES {
        return Ok(candidates);
    }
    // It reads runs: what the unit holds back is written first.
    let rows = c.query(
        &format!(
            "SELECT d.id, coalesce(json_agg(json_build_array(h.rule, h.active, h.last))
                                  FILTER (WHERE h.rule IS NOT NULL), '[]'::json)
             FROM unnest($2::bigint[]) AS d (id)
             LEFT JOIN LATERAL (
               SELECT r.rule, count(*) FILTER (WHERE r.status IN ('running', 'waiting')) AS active,
                      max(r.started_at) AS last
               FROM {s}.flow_runs r
               WHERE r.subject_id = d.id AND r.subject_tbl = $1 AND NOT r.subject_gone
               GROUP BY r.rule) h ON true
             GROUP BY d.id"
        ),
        &[&table, &decided],
    )?;
    let mut histories: Histories = Vec::with_capacity(rows.len());
    for r in &rows {
        let id: i64 = r.try_get(0)?;
        let json: serde_json::Value = r.try_get(1)?;
        let Some(rules) = history_entries(&json) else {
            return Ok(candidates);
        };
        histories.push(((table.to_string(), id), rules));
    }
    c.pending.know_histories(s, histories);
    Ok(candidates)
}

/// The most decided rows whose run history a sweep reads ahead.
const MOST_HISTORIES: usize = 100_000;

/// `[[rule, active, last], …]` as written by the statements that read run
/// histories; `None` if it is not that.
pub(super) fn history_entries(json: &serde_json::Value) -> Option<Vec<(String, History)>> {
    json.as_array()?
        .iter()
        .map(|entry| {
            Some((
                entry.get(0)?.as_str()?.to_string(),
                History {
                    active: entry.get(1)?.as_i64()?,
                    last: entry.get(2).and_then(|v| v.as_i64()),
                },
            ))
        })
        .collect()
}

/// A value bound in PostgreSQL's text format, for a parameter of whatever
/// type the statement gives it (the column's): the server reads it with
/// that type's input function, as it would a literal.
#[derive(Debug)]
pub(super) struct Param(Option<String>);

impl From<&SqlValue> for Param {
    fn from(value: &SqlValue) -> Param {
        Param(match value {
            SqlValue::Null => None,
            SqlValue::Integer(i) => Some(i.to_string()),
            // Rust prints the shortest text that reads back as the same
            // f64, without an exponent: `numeric` keeps exactly that.
            SqlValue::Real(f) => Some(f.to_string()),
            SqlValue::Text(t) => Some(t.clone()),
            // `bytea`'s text form (flow has no blobs; for completeness).
            SqlValue::Blob(b) => Some(format!(
                "\\x{}",
                b.iter().map(|x| format!("{x:02x}")).collect::<String>()
            )),
        })
    }
}

impl ToSql for Param {
    fn to_sql(
        &self,
        _: &PgType,
        out: &mut postgres::types::private::BytesMut,
    ) -> Result<postgres::types::IsNull, BoxError> {
        match &self.0 {
            None => Ok(postgres::types::IsNull::Yes),
            Some(text) => {
                out.extend_from_slice(text.as_bytes());
                Ok(postgres::types::IsNull::No)
            }
        }
    }

    fn accepts(_: &PgType) -> bool {
        true
    }

    fn encode_format(&self, _: &PgType) -> postgres::types::Format {
        postgres::types::Format::Text
    }

    postgres::types::to_sql_checked!();
}

/// A column's value in its binary form, whatever its type (`None`: null).
struct Bytes<'a>(Option<&'a [u8]>);

impl<'a> FromSql<'a> for Bytes<'a> {
    fn from_sql(_: &PgType, raw: &'a [u8]) -> Result<Self, BoxError> {
        Ok(Bytes(Some(raw)))
    }

    fn from_sql_null(_: &PgType) -> Result<Self, BoxError> {
        Ok(Bytes(None))
    }

    fn accepts(_: &PgType) -> bool {
        true
    }
}

/// A stored value ready for [`rows::decode`]: a raw value (borrowing the
/// row's bytes or text made here), or why it cannot be one.
enum Cell<'a> {
    Raw(Raw<'a>),
    Text(String),
    Bad(String),
}

impl Cell<'_> {
    fn raw(&self) -> Raw<'_> {
        match self {
            Cell::Raw(raw) => *raw,
            Cell::Text(text) => Raw::Text(text),
            Cell::Bad(why) => Raw::Unreadable(why),
        }
    }
}

/// Column `i` of `row` for a field of type `ty` (see the module comment).
fn cell<'a>(row: &'a postgres::Row, i: usize, ty: Ty, schema: &Schema) -> Cell<'a> {
    let Some(column) = row.columns().get(i) else {
        return Cell::Bad("the column cannot be read".into());
    };
    let pg = column.type_();
    let bytes = match row.try_get::<_, Bytes>(i) {
        Ok(Bytes(Some(bytes))) => bytes,
        Ok(Bytes(None)) => return Cell::Raw(Raw::Null),
        Err(_) => return Cell::Bad("the column cannot be read".into()),
    };
    let field_type = || schema.type_name(ty.with_nullable(false));
    let unreadable = || {
        Cell::Bad(format!(
            "a `{}` value that cannot be read ({} bytes)",
            pg.name(),
            bytes.len()
        ))
    };
    let infinite = |what: &str, value: &str| {
        Cell::Bad(format!(
            "the {what} {value} in a field of type `{}`",
            field_type()
        ))
    };
    let textual =
        *pg == PgType::TEXT || *pg == PgType::VARCHAR || matches!(pg.kind(), Kind::Enum(_));
    match ty.base {
        Type::Int | Type::Duration | Type::Record(_) if integer_type(pg) => {
            integer(bytes).map_or_else(unreadable, |i| Cell::Raw(Raw::Int(i)))
        }
        Type::Bool if *pg == PgType::BOOL => match bytes {
            [b] => Cell::Raw(Raw::Int(i64::from(*b != 0))),
            _ => unreadable(),
        },
        Type::Decimal if *pg == PgType::NUMERIC => {
            numeric_text(bytes).map_or_else(unreadable, Cell::Text)
        }
        Type::Decimal if *pg == PgType::FLOAT8 => match <[u8; 8]>::try_from(bytes) {
            Ok(b) => Cell::Raw(Raw::Real(f64::from_be_bytes(b))),
            Err(_) => unreadable(),
        },
        Type::Decimal if *pg == PgType::FLOAT4 => match <[u8; 4]>::try_from(bytes) {
            Ok(b) => {
                let f = f32::from_be_bytes(b);
                // The decimal the `real` was written as, not its binary
                // expansion: `0.1` stays 0.1.
                let f = if f.is_finite() {
                    f.to_string().parse::<f64>().unwrap_or(f64::from(f))
                } else {
                    f64::from(f)
                };
                Cell::Raw(Raw::Real(f))
            }
            Err(_) => unreadable(),
        },
        Type::Text | Type::Enum(_) if textual => {
            Cell::Raw(std::str::from_utf8(bytes).map_or(Raw::BadText(bytes), Raw::Text))
        }
        Type::Date if *pg == PgType::DATE => {
            match <[u8; 4]>::try_from(bytes).map(i32::from_be_bytes) {
                Ok(i32::MAX) => infinite("date", "infinity"),
                Ok(i32::MIN) => infinite("date", "-infinity"),
                Ok(days) => match days.checked_add(PG_EPOCH_DAYS) {
                    Some(days) => Cell::Text(flowc_syntax::time::format_date(days)),
                    None => unreadable(),
                },
                Err(_) => unreadable(),
            }
        }
        Type::DateTime if *pg == PgType::TIMESTAMPTZ || *pg == PgType::TIMESTAMP => {
            let what = if *pg == PgType::TIMESTAMPTZ {
                "timestamptz"
            } else {
                "timestamp"
            };
            let micros = match <[u8; 8]>::try_from(bytes).map(i64::from_be_bytes) {
                Ok(i64::MAX) => return infinite(what, "infinity"),
                Ok(i64::MIN) => return infinite(what, "-infinity"),
                Ok(micros) => micros,
                Err(_) => return unreadable(),
            };
            let seconds = micros.div_euclid(1_000_000).checked_add(PG_EPOCH_SECONDS);
            let Some(time) = seconds.and_then(|s| chrono::DateTime::from_timestamp(s, 0)) else {
                return unreadable();
            };
            // Text that `rows::decode` reads as SQLite's: an instant (`Z`),
            // or a wall-clock time in the project's zone.
            Cell::Text(if *pg == PgType::TIMESTAMPTZ {
                time.format("%Y-%m-%dT%H:%M:%SZ").to_string()
            } else {
                time.naive_utc().format("%Y-%m-%dT%H:%M:%S").to_string()
            })
        }
        _ => Cell::Bad(format!(
            "a value of PostgreSQL type `{}` in a field of type `{}`",
            pg.name(),
            field_type()
        )),
    }
}

fn integer_type(pg: &PgType) -> bool {
    *pg == PgType::INT8 || *pg == PgType::INT4 || *pg == PgType::INT2
}

/// An `int2`, `int4` or `int8` in binary form.
fn integer(bytes: &[u8]) -> Option<i64> {
    match bytes.len() {
        2 => <[u8; 2]>::try_from(bytes)
            .ok()
            .map(|b| i16::from_be_bytes(b).into()),
        4 => <[u8; 4]>::try_from(bytes)
            .ok()
            .map(|b| i32::from_be_bytes(b).into()),
        8 => <[u8; 8]>::try_from(bytes).ok().map(i64::from_be_bytes),
        _ => None,
    }
}

/// A `numeric` in binary form as `numeric::text` prints it (`-12.50`,
/// `NaN`, `Infinity`); `None` if the bytes are not a numeric.
///
/// The form: digit count, weight (of the first base-10000 digit), sign,
/// display scale (digits after the point), then the base-10000 digits.
fn numeric_text(bytes: &[u8]) -> Option<String> {
    use std::fmt::Write;
    let word = |i: usize| {
        bytes
            .get(2 * i..2 * i + 2)
            .map(|w| u16::from_be_bytes([w[0], w[1]]))
    };
    let count = usize::from(word(0)?);
    let weight = i64::from(word(1)? as i16);
    let sign = word(2)?;
    let scale = usize::from(word(3)?);
    if bytes.len() != 8 + 2 * count {
        return None;
    }
    let digits: Vec<u16> = (0..count).map(|i| word(4 + i)).collect::<Option<_>>()?;
    if digits.iter().any(|&d| d > 9999) {
        return None;
    }
    let mut text = String::new();
    match sign {
        0x0000 => {}
        0x4000 => text.push('-'),
        0xC000 => return Some("NaN".into()),
        0xD000 => return Some("Infinity".into()),
        0xF000 => return Some("-Infinity".into()),
        _ => return None,
    }
    let digit = |i: i64| {
        usize::try_from(i)
            .ok()
            .and_then(|i| digits.get(i).copied())
            .unwrap_or(0)
    };
    if weight < 0 {
        text.push('0');
    } else {
        for i in 0..=weight {
            let _ = if i == 0 {
                write!(text, "{}", digit(i))
            } else {
                write!(text, "{:04}", digit(i))
            };
        }
    }
    if scale > 0 {
        let mut fraction = String::with_capacity(scale + 4);
        for k in 0..scale.div_ceil(4) {
            let _ = write!(fraction, "{:04}", digit(weight + 1 + k as i64));
        }
        fraction.truncate(scale);
        text.push('.');
        text.push_str(&fraction);
    }
    Some(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn numeric(count: u16, weight: i16, sign: u16, scale: u16, digits: &[u16]) -> Vec<u8> {
        let mut out = Vec::new();
        for w in [count, weight as u16, sign, scale]
            .into_iter()
            .chain(digits.iter().copied())
        {
            out.extend_from_slice(&w.to_be_bytes());
        }
        out
    }

    #[test]
    fn numerics_print_as_postgresql_prints_them() {
        let cases: [(Vec<u8>, &str); 9] = [
            (numeric(0, 0, 0, 0, &[]), "0"),
            (numeric(0, 0, 0, 2, &[]), "0.00"),
            (numeric(2, 0, 0, 2, &[12, 5000]), "12.50"),
            (numeric(2, 0, 0x4000, 2, &[12, 5000]), "-12.50"),
            (numeric(1, -1, 0, 4, &[1]), "0.0001"),
            (numeric(1, -2, 0, 5, &[1000]), "0.00001"),
            (numeric(2, 1, 0, 0, &[1, 2345]), "12345"),
            (numeric(1, 2, 0, 0, &[1]), "100000000"),
            (numeric(0, 0, 0xC000, 0, &[]), "NaN"),
        ];
        for (bytes, text) in cases {
            assert_eq!(numeric_text(&bytes).as_deref(), Some(text));
        }
        assert_eq!(numeric_text(&[0, 1]), None);
        assert_eq!(numeric_text(&numeric(1, 0, 0, 0, &[10_000])), None);
        assert_eq!(numeric_text(&numeric(2, 0, 0, 0, &[1])), None);
    }

    #[test]
    fn values_are_bound_as_the_text_a_column_reads() {
        assert_eq!(Param::from(&SqlValue::Real(0.1)).0.as_deref(), Some("0.1"));
        assert_eq!(
            Param::from(&SqlValue::Real(1e21)).0.as_deref(),
            Some("1000000000000000000000")
        );
        assert_eq!(Param::from(&SqlValue::Integer(-3)).0.as_deref(), Some("-3"));
        assert_eq!(Param::from(&SqlValue::Null).0, None);
        assert_eq!(
            Param::from(&SqlValue::Blob(vec![0xde, 0xad])).0.as_deref(),
            Some("\\xdead")
        );
    }

    #[test]
    fn the_row_query_selects_declared_fields_by_id() {
        let checked = flowc_check::project::Project::from_texts([(
            "s.flow",
            "record contact {\n  name: text\n  score: int?\n}\n",
        )])
        .check();
        assert!(!checked.has_errors());
        let schema = &checked.program.schema;
        let id = schema.record_named("contact");
        assert!(id.is_some());
        let sql = id.map(|id| select_sql(schema.record(id)));
        assert_eq!(
            sql.as_deref(),
            Some("SELECT \"name\", \"score\" FROM \"contact\" WHERE \"id\" = $1::bigint")
        );
    }
}
