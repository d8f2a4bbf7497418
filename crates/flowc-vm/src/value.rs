//! Runtime values, and rows in the fixed layout both backends read.
//!
//! A [`Value`] is what the VM computes with: numbers, booleans, dates,
//! durations, enums and references are plain words; text is shared (`Rc`),
//! so copying a value never allocates. A [`Row`] holds a record's fields as
//! [`Slot`]s, a `#[repr(C)]` layout the JIT reads directly, with texts kept
//! beside the slots.

use chrono_tz::Tz;
use flowc_check::ir::{EnumId, Schema, Type};
use std::cmp::Ordering;
use std::rc::Rc;

#[derive(Clone, Debug, PartialEq, Default)]
pub enum Value {
    #[default]
    Null,
    Int(i64),
    Decimal(f64),
    Bool(bool),
    Text(Rc<str>),
    /// Day number (days since 1970-01-01).
    Date(i32),
    /// Unix seconds.
    DateTime(i64),
    /// Seconds.
    Duration(i64),
    /// Index into the enum's values.
    Enum(u32),
    /// A row id.
    Ref(i64),
}

impl Value {
    pub fn text(s: &str) -> Value {
        Value::Text(Rc::from(s))
    }

    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }

    /// A condition's truth: `true` only for `Bool(true)`; null counts as false.
    pub fn truthy(&self) -> bool {
        matches!(self, Value::Bool(true))
    }

    /// The integer representation of int-like values (int, bool, date,
    /// datetime, duration, enum, reference), as comparisons use it.
    pub fn as_i64(&self) -> Option<i64> {
        match *self {
            Value::Int(v) | Value::DateTime(v) | Value::Duration(v) | Value::Ref(v) => Some(v),
            Value::Bool(b) => Some(i64::from(b)),
            Value::Date(d) => Some(i64::from(d)),
            Value::Enum(i) => Some(i64::from(i)),
            _ => None,
        }
    }

    pub fn as_f64(&self) -> Option<f64> {
        match *self {
            Value::Decimal(v) => Some(v),
            Value::Int(v) => Some(v as f64),
            _ => None,
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::Text(t) => Some(t),
            _ => None,
        }
    }

    /// Orders two non-null values of the same type; `None` if either is
    /// null or they cannot be compared.
    pub fn compare(&self, other: &Value) -> Option<Ordering> {
        match (self, other) {
            (Value::Null, _) | (_, Value::Null) => None,
            (Value::Decimal(_), _) | (_, Value::Decimal(_)) => {
                self.as_f64()?.partial_cmp(&other.as_f64()?)
            }
            (Value::Text(a), Value::Text(b)) => Some(a.as_ref().cmp(b.as_ref())),
            _ => Some(self.as_i64()?.cmp(&other.as_i64()?)),
        }
    }

    /// The text form a template placeholder or `text(…)` shows.
    pub fn to_text(&self, ty: Type, schema: &Schema) -> Option<String> {
        Some(match self {
            Value::Null => return None,
            Value::Int(v) => v.to_string(),
            Value::Decimal(v) => format_decimal(*v),
            Value::Bool(b) => b.to_string(),
            Value::Text(t) => t.to_string(),
            Value::Date(d) => flowc_syntax::time::format_date(*d),
            Value::DateTime(t) => flowc_syntax::time::format_datetime(*t, schema.timezone),
            Value::Duration(s) => flowc_syntax::time::format_duration(*s),
            Value::Enum(i) => match ty {
                Type::Enum(e) => enum_text(schema, e, *i),
                _ => i.to_string(),
            },
            Value::Ref(id) => id.to_string(),
        })
    }
}

/// A decimal without a needless exponent or trailing zeros: `1.5`, `3`, `0.1`.
pub fn format_decimal(v: f64) -> String {
    if v == v.trunc() && v.abs() < 1e15 {
        format!("{}", v as i64)
    } else {
        format!("{v}")
    }
}

fn enum_text(schema: &Schema, e: EnumId, i: u32) -> String {
    schema
        .enums
        .get(e.index())
        .and_then(|def| def.values.get(i as usize))
        .cloned()
        .unwrap_or_else(|| format!("#{i}"))
}

/// Converts an event payload value (or any value) to `ty`; `Null` when it
/// does not fit. Used for `event.KEY` and by `Cast`.
pub fn convert(value: Value, ty: Type, schema: &Schema, zone: Tz) -> Value {
    match (ty, value) {
        (_, Value::Null) => Value::Null,
        (Type::Int, Value::Int(v)) => Value::Int(v),
        (Type::Int, Value::Decimal(v)) if v == v.trunc() && v.abs() < 9.2e18 => {
            Value::Int(v as i64)
        }
        (Type::Int, Value::Ref(id)) => Value::Int(id),
        (Type::Int, Value::Text(t)) => t.trim().parse().map(Value::Int).unwrap_or(Value::Null),
        (Type::Decimal, v @ (Value::Int(_) | Value::Decimal(_))) => {
            v.as_f64().map_or(Value::Null, Value::Decimal)
        }
        (Type::Decimal, Value::Text(t)) => match t.trim().parse::<f64>() {
            Ok(v) if v.is_finite() => Value::Decimal(v),
            _ => Value::Null,
        },
        (Type::Text, Value::Text(t)) => Value::Text(t),
        (Type::Text, other) => other
            .to_text(Type::Any, schema)
            .map_or(Value::Null, |s| Value::Text(Rc::from(s))),
        (Type::Bool, Value::Bool(b)) => Value::Bool(b),
        (Type::Date, Value::Date(d)) => Value::Date(d),
        (Type::Date, Value::Text(t)) => {
            flowc_syntax::time::parse_date(&t).map_or(Value::Null, Value::Date)
        }
        (Type::DateTime, Value::DateTime(t)) => Value::DateTime(t),
        (Type::DateTime, Value::Text(t)) => {
            flowc_syntax::time::parse_datetime(&t, zone).map_or(Value::Null, Value::DateTime)
        }
        (Type::Duration, Value::Duration(s) | Value::Int(s)) => Value::Duration(s),
        (Type::Enum(_), Value::Enum(i)) => Value::Enum(i),
        (Type::Enum(e), Value::Text(t)) => schema
            .enums
            .get(e.index())
            .and_then(|def| def.values.iter().position(|v| **v == *t))
            .map_or(Value::Null, |i| Value::Enum(i as u32)),
        (Type::Record(_), Value::Ref(id) | Value::Int(id)) => Value::Ref(id),
        _ => Value::Null,
    }
}

// ---------------------------------------------------------------- rows

/// What a [`Slot`] holds. The numbering is part of the JIT's ABI.
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tag {
    Null = 0,
    Int = 1,
    Decimal = 2,
    Bool = 3,
    Text = 4,
    Date = 5,
    DateTime = 6,
    Duration = 7,
    Enum = 8,
    Ref = 9,
}

/// One field of a row: a tag and 64 bits (an integer, the bits of a
/// decimal, or for text the index into [`Row::texts`]).
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Slot {
    pub tag: Tag,
    pub bits: u64,
}

impl Slot {
    pub const NULL: Slot = Slot {
        tag: Tag::Null,
        bits: 0,
    };
}

/// A record's row: its id and one slot per declared field, in order.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Row {
    pub id: i64,
    pub slots: Vec<Slot>,
    pub texts: Vec<Rc<str>>,
}

impl Row {
    pub fn new(id: i64) -> Row {
        Row {
            id,
            slots: Vec::new(),
            texts: Vec::new(),
        }
    }

    /// Builds a row from values, in field order.
    pub fn from_values(id: i64, values: impl IntoIterator<Item = Value>) -> Row {
        let mut row = Row::new(id);
        for v in values {
            row.push(v);
        }
        row
    }

    pub fn push(&mut self, value: Value) {
        let slot = match value {
            Value::Null => Slot::NULL,
            Value::Int(v) => Slot {
                tag: Tag::Int,
                bits: v as u64,
            },
            Value::Decimal(v) => Slot {
                tag: Tag::Decimal,
                bits: v.to_bits(),
            },
            Value::Bool(b) => Slot {
                tag: Tag::Bool,
                bits: u64::from(b),
            },
            Value::Text(t) => {
                self.texts.push(t);
                Slot {
                    tag: Tag::Text,
                    bits: self.texts.len() as u64 - 1,
                }
            }
            Value::Date(d) => Slot {
                tag: Tag::Date,
                bits: d as i64 as u64,
            },
            Value::DateTime(t) => Slot {
                tag: Tag::DateTime,
                bits: t as u64,
            },
            Value::Duration(s) => Slot {
                tag: Tag::Duration,
                bits: s as u64,
            },
            Value::Enum(i) => Slot {
                tag: Tag::Enum,
                bits: u64::from(i),
            },
            Value::Ref(id) => Slot {
                tag: Tag::Ref,
                bits: id as u64,
            },
        };
        self.slots.push(slot);
    }

    /// The value of field `index` (`Null` past the end).
    pub fn get(&self, index: usize) -> Value {
        let Some(slot) = self.slots.get(index) else {
            return Value::Null;
        };
        match slot.tag {
            Tag::Null => Value::Null,
            Tag::Int => Value::Int(slot.bits as i64),
            Tag::Decimal => Value::Decimal(f64::from_bits(slot.bits)),
            Tag::Bool => Value::Bool(slot.bits != 0),
            Tag::Text => self
                .texts
                .get(slot.bits as usize)
                .map_or(Value::Null, |t| Value::Text(t.clone())),
            Tag::Date => Value::Date(slot.bits as i64 as i32),
            Tag::DateTime => Value::DateTime(slot.bits as i64),
            Tag::Duration => Value::Duration(slot.bits as i64),
            Tag::Enum => Value::Enum(slot.bits as u32),
            Tag::Ref => Value::Ref(slot.bits as i64),
        }
    }

    pub fn set(&mut self, index: usize, value: Value) {
        let mut scratch = Row::new(self.id);
        scratch.push(value);
        let mut slot = scratch.slots[0];
        if let Some(text) = scratch.texts.pop() {
            self.texts.push(text);
            slot.bits = self.texts.len() as u64 - 1;
        }
        if index >= self.slots.len() {
            self.slots.resize(index + 1, Slot::NULL);
        }
        self.slots[index] = slot;
    }

    pub fn values(&self) -> Vec<Value> {
        (0..self.slots.len()).map(|i| self.get(i)).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_round_trip_every_kind_of_value() {
        let values = vec![
            Value::Null,
            Value::Int(-7),
            Value::Decimal(1.25),
            Value::Bool(true),
            Value::text("受注"),
            Value::Date(-3),
            Value::DateTime(1_700_000_000),
            Value::Duration(86_400),
            Value::Enum(4),
            Value::Ref(42),
        ];
        let mut row = Row::from_values(1, values.clone());
        assert_eq!(row.values(), values);
        row.set(4, Value::text("失注"));
        assert_eq!(row.get(4), Value::text("失注"));
        row.set(12, Value::Int(1));
        assert_eq!(row.get(11), Value::Null);
        assert_eq!(row.get(12), Value::Int(1));
    }

    #[test]
    fn compares_like_sql_without_nulls() {
        assert_eq!(
            Value::Int(1).compare(&Value::Decimal(1.5)),
            Some(Ordering::Less)
        );
        assert_eq!(Value::Null.compare(&Value::Int(1)), None);
        assert_eq!(
            Value::text("b").compare(&Value::text("a")),
            Some(Ordering::Greater)
        );
        assert_eq!(
            Value::Date(3).compare(&Value::Date(3)),
            Some(Ordering::Equal)
        );
    }

    #[test]
    fn decimals_print_without_noise() {
        assert_eq!(format_decimal(3.0), "3");
        assert_eq!(format_decimal(0.1), "0.1");
        assert_eq!(format_decimal(-2.5), "-2.5");
    }
}
