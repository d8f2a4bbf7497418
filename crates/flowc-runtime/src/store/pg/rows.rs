//! The user's tables on PostgreSQL (found on the connection's
//! `search_path`): reading a row as the engine's values, the writes rules
//! and tests make, and a sweep's candidate rows with its filter pushed
//! down. The same typed operations as `store::rows` and
//! `store::pushdown`, with PostgreSQL's types (DESIGN.md §10).

use super::super::backend::SqlValue;
use super::super::pushdown::Plan;
use super::super::rows::Decoded;
use flowc_check::ir::{RecordDef, RecordId, Schema};
use flowc_vm::value::Value;
use postgres::Client;

type R<T> = Result<T, postgres::Error>;

/// The one-row SELECT for `record` (what `Store::row_query` holds).
pub fn select_sql(record: &RecordDef) -> String { todo!() }
pub fn load(c: &mut Client, sql: &str, schema: &Schema, record: RecordId, id: i64) -> R<Option<Decoded>> { todo!() }
pub fn update_field(c: &mut Client, table: &str, column: &str, row: i64, value: SqlValue) -> R<bool> { todo!() }
pub fn users_with_role(c: &mut Client, schema: &Schema, table: &str, role: &str) -> R<Vec<(i64, Result<Value, String>)>> { todo!() }
pub fn ids_where(c: &mut Client, table: &str, key: Option<(&str, SqlValue)>, limit: Option<i64>) -> R<Vec<i64>> { todo!() }
pub fn insert_row(c: &mut Client, table: &str, columns: &[(String, SqlValue)]) -> R<i64> { todo!() }
pub fn update_row(c: &mut Client, table: &str, id: i64, columns: &[(String, SqlValue)]) -> R<()> { todo!() }
pub fn delete_row(c: &mut Client, table: &str, id: i64) -> R<()> { todo!() }
pub fn sweep_candidates(c: &mut Client, table: &str, plan: &Plan) -> R<Vec<(i64, bool)>> { todo!() }
