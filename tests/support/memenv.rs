//! An in-memory [`Env`] for expression tests and benchmarks: rows in hash
//! maps, lists and tags in sets, a fixed clock.
#![allow(dead_code)]

use flowc::eval::{Env, EvalError};
use flowc::ir::{FieldId, ListId, RecordId, Schema, SegmentId, TemplateId};
use flowc::value::{Row, Value};
use std::collections::{BTreeMap, HashMap, HashSet};

#[derive(Default)]
pub struct MemEnv {
    pub schema: Schema,
    /// Rows by record, ordered by id.
    pub tables: HashMap<RecordId, BTreeMap<i64, Row>>,
    pub lists: HashSet<(ListId, i64)>,
    pub segments: HashSet<(SegmentId, i64)>,
    pub tags: HashSet<(RecordId, i64, String)>,
    pub engaged: HashSet<(RecordId, i64, TemplateId, bool)>,
    /// Suppressed addresses, trimmed and lowercased.
    pub suppressed: HashSet<String>,
    pub old: Row,
    pub event: serde_json::Map<String, serde_json::Value>,
    pub today: i32,
    pub now: i64,
}

impl MemEnv {
    pub fn insert(&mut self, record: RecordId, row: Row) {
        self.tables.entry(record).or_default().insert(row.id, row);
    }

    pub fn row(&self, record: RecordId, id: i64) -> Option<&Row> {
        self.tables.get(&record).and_then(|t| t.get(&id))
    }

    fn table_name(&self, record: RecordId) -> String {
        self.schema
            .records
            .get(record.index())
            .map(|r| r.name.clone())
            .unwrap_or_default()
    }
}

impl Env for MemEnv {
    fn schema(&self) -> &Schema {
        &self.schema
    }
    fn today(&self) -> i32 {
        self.today
    }
    fn now(&self) -> i64 {
        self.now
    }
    fn field(&mut self, record: RecordId, id: i64, field: FieldId) -> Result<Value, EvalError> {
        match self.row(record, id) {
            Some(row) => Ok(row.get(field.index())),
            None => Err(EvalError::Dangling {
                table: self.table_name(record),
                id,
            }),
        }
    }
    fn old(&mut self, _record: RecordId, field: FieldId) -> Result<Value, EvalError> {
        Ok(self.old.get(field.index()))
    }
    fn event_field(&mut self, key: &str) -> Result<Value, EvalError> {
        Ok(match self.event.get(key) {
            Some(serde_json::Value::String(s)) => Value::text(s),
            Some(serde_json::Value::Bool(b)) => Value::Bool(*b),
            Some(serde_json::Value::Number(n)) => match n.as_i64() {
                Some(i) => Value::Int(i),
                None => n.as_f64().map_or(Value::Null, Value::Decimal),
            },
            _ => Value::Null,
        })
    }
    fn in_list(&mut self, list: ListId, id: i64) -> Result<bool, EvalError> {
        Ok(self.lists.contains(&(list, id)))
    }
    fn in_segment(&mut self, segment: SegmentId, id: i64) -> Result<bool, EvalError> {
        Ok(self.segments.contains(&(segment, id)))
    }
    fn has_tag(&mut self, record: RecordId, id: i64, tag: &str) -> Result<bool, EvalError> {
        Ok(self.tags.contains(&(record, id, tag.to_string())))
    }
    fn engaged(
        &mut self,
        record: RecordId,
        id: i64,
        template: TemplateId,
        clicked: bool,
    ) -> Result<bool, EvalError> {
        Ok(self.engaged.contains(&(record, id, template, clicked)))
    }
    fn unsubscribed(
        &mut self,
        record: RecordId,
        id: i64,
        email_field: FieldId,
    ) -> Result<bool, EvalError> {
        let address = self.field(record, id, email_field)?;
        Ok(address
            .as_str()
            .map(|a| a.trim().to_lowercase())
            .is_some_and(|a| !a.is_empty() && self.suppressed.contains(&a)))
    }
    fn lookup(
        &mut self,
        record: RecordId,
        field: FieldId,
        value: &Value,
    ) -> Result<i64, EvalError> {
        let ids: Vec<i64> = self
            .tables
            .get(&record)
            .map(|t| {
                t.values()
                    .filter(|r| r.get(field.index()) == *value)
                    .map(|r| r.id)
                    .collect()
            })
            .unwrap_or_default();
        match ids.as_slice() {
            [one] => Ok(*one),
            _ => Err(EvalError::Lookup {
                table: self.table_name(record),
                column: self.schema.field(record, field).name.clone(),
                value: format!("{value:?}"),
                found: ids.len(),
            }),
        }
    }
    fn rows(
        &mut self,
        record: RecordId,
        key: Option<(FieldId, &Value)>,
    ) -> Result<Vec<i64>, EvalError> {
        Ok(self
            .tables
            .get(&record)
            .map(|t| {
                t.values()
                    .filter(|r| key.is_none_or(|(f, v)| r.get(f.index()) == *v))
                    .map(|r| r.id)
                    .collect()
            })
            .unwrap_or_default())
    }
}
