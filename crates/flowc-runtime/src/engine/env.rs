//! The evaluation environment over SQLite: what an expression may ask while
//! a run (or a sweep, or a segment) evaluates it.

use super::Engine;
use crate::store::rows::Decoded;
use flowc_check::ir::{FieldId, ListId, RecordId, Schema, SegmentId, TemplateId};
use flowc_vm::eval::{Env, EvalError};
use flowc_vm::value::Value;
use std::rc::Rc;

/// What an evaluation knows about the run it belongs to.
#[derive(Clone, Debug, Default)]
pub(crate) struct Context {
    /// The subject: record and id (variable 0).
    pub subject: Option<(RecordId, i64)>,
    /// The recipient of the message being rendered (variable 1).
    pub recipient: Option<i64>,
    /// The subject before the change that started the run (`old.f`).
    pub old: Option<Rc<Decoded>>,
    /// The payload of the event that started the run (`event.k`).
    pub event: Option<Rc<crate::store::events::EventData>>,
    /// When the run started: `R opened T` counts events from then on.
    pub since: i64,
    /// The run, if any: `R opened T` counts the opens of its own messages
    /// of `T` to `R` once it sent any (§8: engagement is per message).
    pub run: Option<i64>,
}

impl Context {
    pub fn subject(record: RecordId, id: i64) -> Context {
        Context {
            subject: Some((record, id)),
            ..Context::default()
        }
    }
}

pub(crate) struct DbEnv<'e> {
    pub engine: &'e Engine,
    pub ctx: &'e Context,
}

fn db(e: crate::store::DbError) -> EvalError {
    EvalError::Database(e.to_string())
}

/// A JSON payload value as a flow value (objects and arrays as their text).
pub(crate) fn json_value(v: &serde_json::Value) -> Value {
    match v {
        serde_json::Value::Null => Value::Null,
        serde_json::Value::Bool(b) => Value::Bool(*b),
        serde_json::Value::Number(n) => match n.as_i64() {
            Some(i) => Value::Int(i),
            None => n.as_f64().map_or(Value::Null, Value::Decimal),
        },
        serde_json::Value::String(s) => Value::text(s),
        other => Value::text(&other.to_string()),
    }
}

impl DbEnv<'_> {
    fn schema_of(&self) -> &Schema {
        &self.engine.program.schema
    }

    fn sql_value(&self, record: RecordId, field: FieldId, value: &Value) -> rusqlite::types::Value {
        let ty = self.schema_of().field(record, field).ty.base;
        crate::store::rows::to_sql(value, ty, self.schema_of())
    }
}

impl Env for DbEnv<'_> {
    fn schema(&self) -> &Schema {
        self.schema_of()
    }

    fn today(&self) -> i32 {
        flowc_syntax::time::local_date(self.engine.clock.get(), self.schema_of().timezone)
    }

    fn now(&self) -> i64 {
        self.engine.clock.get()
    }

    fn field(&mut self, record: RecordId, id: i64, field: FieldId) -> Result<Value, EvalError> {
        let row = self
            .engine
            .row(record, id)?
            .ok_or_else(|| EvalError::Dangling {
                table: self.schema_of().record(record).name.clone(),
                id,
            })?;
        if let Some(problem) = row.problem(field) {
            return Err(self.engine.bad_data(record, id, field, problem));
        }
        Ok(row.row.get(field.index()))
    }

    fn old(&mut self, record: RecordId, field: FieldId) -> Result<Value, EvalError> {
        let Some(old) = &self.ctx.old else {
            return Ok(Value::Null);
        };
        if let Some(problem) = old.problem(field) {
            return Err(self.engine.bad_data(record, old.row.id, field, problem));
        }
        Ok(old.row.get(field.index()))
    }

    fn event_field(&mut self, key: &str) -> Result<Value, EvalError> {
        let Some(event) = &self.ctx.event else {
            return Ok(Value::Null);
        };
        match event.get(key) {
            Ok(value) => Ok(value.map_or(Value::Null, json_value)),
            Err(message) => Err(EvalError::BadData {
                table: "flow_events".into(),
                id: event.seq,
                column: "data".into(),
                message,
            }),
        }
    }

    fn in_list(&mut self, list: ListId, id: i64) -> Result<bool, EvalError> {
        let name = &self.schema_of().lists[list.index()].name;
        self.engine.db.is_list_member(name, id).map_err(db)
    }

    fn in_segment(&mut self, segment: SegmentId, id: i64) -> Result<bool, EvalError> {
        let def = &self.schema_of().segments[segment.index()];
        let ctx = Context::subject(def.of, id);
        self.engine.holds(&def.condition, &ctx)
    }

    fn has_tag(&mut self, record: RecordId, id: i64, tag: &str) -> Result<bool, EvalError> {
        let table = &self.schema_of().record(record).name;
        self.engine.db.has_tag(table, id, tag).map_err(db)
    }

    fn engaged(
        &mut self,
        record: RecordId,
        id: i64,
        template: TemplateId,
        clicked: bool,
    ) -> Result<bool, EvalError> {
        let asked = crate::store::events::Engagement {
            table: &self.schema_of().record(record).name,
            row: id,
            template: &self.schema_of().templates[template.index()].name,
            clicked,
        };
        let window = (self.ctx.since, self.engine.clock.get());
        self.engine
            .db
            .engaged(&asked, self.ctx.run, window)
            .map_err(db)
    }

    fn unsubscribed(
        &mut self,
        record: RecordId,
        id: i64,
        email_field: FieldId,
    ) -> Result<bool, EvalError> {
        // The address as `send email … to R` reads it (steps.rs), so that
        // the condition answers for the very address a send would skip.
        let address = self.field(record, id, email_field)?;
        let Some(address) = address.as_str().map(str::trim).filter(|a| !a.is_empty()) else {
            return Ok(false);
        };
        let found = self
            .engine
            .db
            .suppression(address)
            .map_err(|e| EvalError::Database(e.to_string()))?;
        Ok(found.is_some())
    }

    fn lookup(
        &mut self,
        record: RecordId,
        field: FieldId,
        value: &Value,
    ) -> Result<i64, EvalError> {
        let def = self.schema_of().record(record);
        let column = &def.fields[field.index()].name;
        let param = self.sql_value(record, field, value);
        let ids = self
            .engine
            .db
            .ids_where(&def.name, Some((column, param)), Some(2))
            .map_err(db)?;
        match ids.as_slice() {
            [one] => Ok(*one),
            _ => Err(EvalError::Lookup {
                table: def.name.clone(),
                column: column.clone(),
                value: value
                    .to_text(def.fields[field.index()].ty.base, self.schema_of())
                    .unwrap_or_default(),
                found: ids.len(),
            }),
        }
    }

    fn rows(
        &mut self,
        record: RecordId,
        key: Option<(FieldId, &Value)>,
    ) -> Result<Vec<i64>, EvalError> {
        let def = self.schema_of().record(record);
        let key = key.map(|(field, value)| {
            (
                def.fields[field.index()].name.as_str(),
                self.sql_value(record, field, value),
            )
        });
        self.engine.db.ids_where(&def.name, key, None).map_err(db)
    }
}
