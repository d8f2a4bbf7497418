//! Evaluating compiled expressions: the interface the engine implements
//! ([`Env`]), the errors evaluation can raise, and the operations whose
//! meaning both backends share ([`ops`]).

pub mod ops;

use crate::value::Value;
use flowc_check::ir::{FieldId, ListId, RecordId, Schema, SegmentId, TemplateId};
use std::fmt;

/// What an expression can ask of the world while it runs. The engine
/// implements it over SQLite; tests implement it in memory.
pub trait Env {
    fn schema(&self) -> &Schema;
    /// Today's date in the project's time zone (a day number).
    fn today(&self) -> i32;
    /// The current instant (Unix seconds).
    fn now(&self) -> i64;
    /// A field of the row `id` of `record`.
    fn field(&mut self, record: RecordId, id: i64, field: FieldId) -> Result<Value, EvalError>;
    /// The subject's value before the change that started the run.
    fn old(&mut self, record: RecordId, field: FieldId) -> Result<Value, EvalError>;
    /// A key of the triggering event's payload (`Null` when absent).
    fn event_field(&mut self, key: &str) -> Result<Value, EvalError>;
    fn in_list(&mut self, list: ListId, id: i64) -> Result<bool, EvalError>;
    fn in_segment(&mut self, segment: SegmentId, id: i64) -> Result<bool, EvalError>;
    fn has_tag(&mut self, record: RecordId, id: i64, tag: &str) -> Result<bool, EvalError>;
    /// Whether an `email_opened` (or `email_clicked`) event for the template
    /// arrived for the row since the run started.
    fn engaged(
        &mut self,
        record: RecordId,
        id: i64,
        template: TemplateId,
        clicked: bool,
    ) -> Result<bool, EvalError>;
    /// Whether the address in the text field `email_field` of the row is
    /// suppressed, for any reason (`R is unsubscribed`, §8): false when
    /// the address is null or empty.
    fn unsubscribed(
        &mut self,
        record: RecordId,
        id: i64,
        email_field: FieldId,
    ) -> Result<bool, EvalError>;
    /// The one row whose `field` equals `value`.
    fn lookup(&mut self, record: RecordId, field: FieldId, value: &Value)
    -> Result<i64, EvalError>;
    /// The ids of the rows of `record` (whose `key` field equals the value).
    fn rows(
        &mut self,
        record: RecordId,
        key: Option<(FieldId, &Value)>,
    ) -> Result<Vec<i64>, EvalError>;
}

/// Why an evaluation failed. It fails the run that evaluated it, with this
/// message in the log; other runs go on.
#[derive(Clone, Debug, PartialEq)]
pub enum EvalError {
    /// An int result outside the 64-bit range.
    Overflow(&'static str),
    /// A stored value that does not fit the declared type.
    BadData {
        table: String,
        id: i64,
        column: String,
        message: String,
    },
    /// A reference to a row that does not exist.
    Dangling { table: String, id: i64 },
    /// `user(email: "x")` found no row, or several.
    Lookup {
        table: String,
        column: String,
        value: String,
        found: usize,
    },
    /// The database failed.
    Database(String),
    /// Something the backend cannot do (a bug, or a missing capability).
    Unsupported(String),
}

impl fmt::Display for EvalError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EvalError::Overflow(op) => write!(f, "integer overflow in `{op}`"),
            EvalError::BadData {
                table,
                id,
                column,
                message,
            } => {
                write!(f, "bad data in {table} #{id}, column {column}: {message}")
            }
            EvalError::Dangling { table, id } => {
                write!(f, "{table} #{id} does not exist (a dangling reference)")
            }
            EvalError::Lookup {
                table,
                column,
                value,
                found: 0,
            } => {
                write!(f, "no {table} has {column} = {value}")
            }
            EvalError::Lookup {
                table,
                column,
                value,
                found,
            } => {
                write!(
                    f,
                    "{found} rows of {table} have {column} = {value}; expected exactly one"
                )
            }
            EvalError::Database(e) => write!(f, "database error: {e}"),
            EvalError::Unsupported(what) => write!(f, "cannot evaluate: {what}"),
        }
    }
}

impl std::error::Error for EvalError {}
