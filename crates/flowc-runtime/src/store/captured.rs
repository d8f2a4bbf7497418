//! The values a capture trigger records for a row (`flow_changes.old` and
//! `.new`), and how they are read back.
//!
//! SQLite lets any column hold any value, and other programs write to the
//! watched tables, so the trigger must be able to record anything without
//! failing (a trigger that fails refuses the other program's write). Each
//! captured row is a JSON object keyed by field name, whose values are:
//!
//! - null, an integer, a finite real or a string: the stored value (a
//!   string is copied byte for byte, even when it is not UTF-8);
//! - `{"blob": "HEX"}`: a BLOB, in hexadecimal;
//! - `{"real": "inf"}` / `{"real": "-inf"}`: an infinite REAL (`1e999`);
//! - `{"text_hex": "HEX"}`: a TEXT whose bytes are not UTF-8, as flowc
//!   itself writes it back (into `flow_runs.trigger`), where JSON must be
//!   valid.
//!
//! The trigger uses only SQLite's built-in functions (`typeof`, `hex`,
//! `json_object`), so any program's SQLite runs it. Reading is done on the
//! bytes, field by field: a value that cannot be decoded is bad data on that
//! field (it fails only a run that reads it).

use super::lenient::{self, Loose};

/// One captured value, as stored.
#[derive(Clone, Debug, PartialEq)]
pub enum Stored {
    Null,
    Int(i64),
    /// Possibly infinite.
    Real(f64),
    Text(String),
    /// TEXT whose bytes are not UTF-8.
    BadText(Vec<u8>),
    Blob(Vec<u8>),
    /// Something no trigger writes (a hand-edited payload); says what.
    Odd(String),
}

impl Stored {
    pub fn as_i64(&self) -> Option<i64> {
        match self {
            Stored::Int(i) => Some(*i),
            _ => None,
        }
    }

    fn from_loose(value: Loose) -> Stored {
        match value {
            Loose::Null => Stored::Null,
            Loose::Bool(b) => Stored::Int(i64::from(b)),
            Loose::Int(i) => Stored::Int(i),
            Loose::Real(f) => Stored::Real(f),
            Loose::Text(t) => Stored::Text(t),
            Loose::Bytes(b) => Stored::BadText(b),
            Loose::Object(fields) => match <[_; 1]>::try_from(fields) {
                Ok([(kind, Loose::Text(value))]) => tagged(&kind, &value),
                _ => Stored::Odd("a JSON object, which no capture trigger writes".into()),
            },
            Loose::Array(_) => Stored::Odd("a JSON array, which no capture trigger writes".into()),
        }
    }

    fn to_json(&self) -> serde_json::Value {
        use serde_json::{Value, json};
        match self {
            Stored::Null => Value::Null,
            Stored::Int(i) => json!(i),
            Stored::Real(f) if f.is_finite() => json!(f),
            Stored::Real(f) if f.is_nan() => json!({ "real": "nan" }),
            Stored::Real(f) if *f > 0.0 => json!({ "real": "inf" }),
            Stored::Real(_) => json!({ "real": "-inf" }),
            Stored::Text(t) => json!(t),
            Stored::BadText(b) => json!({ "text_hex": hex(b) }),
            Stored::Blob(b) => json!({ "blob": hex(b) }),
            Stored::Odd(why) => json!({ "odd": why }),
        }
    }
}

/// `{"blob": HEX}`, `{"real": "inf"}`, `{"text_hex": HEX}`.
fn tagged(kind: &str, value: &str) -> Stored {
    match (kind, value) {
        ("blob", hex) => unhex(hex).map_or_else(|| odd_tag(kind), Stored::Blob),
        ("text_hex", hex) => match unhex(hex).map(String::from_utf8) {
            Some(Ok(text)) => Stored::Text(text),
            Some(Err(e)) => Stored::BadText(e.into_bytes()),
            None => odd_tag(kind),
        },
        ("real", "inf") => Stored::Real(f64::INFINITY),
        ("real", "-inf") => Stored::Real(f64::NEG_INFINITY),
        ("real", "nan") => Stored::Real(f64::NAN),
        ("odd", why) => Stored::Odd(why.to_string()),
        _ => odd_tag(kind),
    }
}

fn odd_tag(kind: &str) -> Stored {
    Stored::Odd(format!(
        "a JSON object with the key {kind:?}, which no capture trigger writes"
    ))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02X}")).collect()
}

fn unhex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok())
        .collect()
}

/// A row's values as one change captured them.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Captured {
    fields: Vec<(String, Stored)>,
}

impl Captured {
    /// Reads a payload as the trigger stored it; `Err` if it is not a JSON
    /// object at all (then nothing of it can be trusted).
    pub fn read(bytes: &[u8]) -> Result<Captured, String> {
        match lenient::parse(bytes)? {
            Loose::Object(fields) => Ok(Captured {
                fields: fields
                    .into_iter()
                    .map(|(k, v)| (k, Stored::from_loose(v)))
                    .collect(),
            }),
            _ => Err("not a JSON object".into()),
        }
    }

    /// Reads the form [`Captured::to_json`] wrote (a run's stored cause).
    pub fn from_json(json: &serde_json::Value) -> Captured {
        match Loose::from(json) {
            Loose::Object(fields) => Captured {
                fields: fields
                    .into_iter()
                    .map(|(k, v)| (k, Stored::from_loose(v)))
                    .collect(),
            },
            _ => Captured::default(),
        }
    }

    /// The captured value of a field; `None` if it was not captured (the
    /// change was recorded before the field was declared).
    pub fn get(&self, field: &str) -> Option<&Stored> {
        self.fields.iter().find(|(k, _)| k == field).map(|(_, v)| v)
    }

    /// Valid JSON for the same values (bytes that are not UTF-8 in hex).
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::Value::Object(
            self.fields
                .iter()
                .map(|(k, v)| (k.clone(), v.to_json()))
                .collect(),
        )
    }
}

/// The SQL a trigger captures one value with (`NEW."a"`): never fails,
/// whatever its storage class.
pub fn capture_sql(value: &str) -> String {
    format!(
        "CASE typeof({value}) \
         WHEN 'blob' THEN json_object('blob', hex({value})) \
         WHEN 'real' THEN CASE WHEN abs({value}) < 1e999 THEN {value} \
         ELSE json_object('real', CASE WHEN {value} > 0 THEN 'inf' ELSE '-inf' END) END \
         ELSE {value} END"
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use rusqlite::Connection;

    /// What SQLite's own `json_object` makes of each storage class through
    /// [`capture_sql`], read back.
    fn captured(conn: &Connection, value_sql: &str) -> Stored {
        let sql = format!(
            "SELECT json_object('v', {}) FROM (SELECT {value_sql} AS v)",
            capture_sql("v")
        );
        let bytes: Vec<u8> = conn
            .query_row(&sql, [], |r| Ok(r.get_ref(0)?.as_bytes()?.to_vec()))
            .expect("the capture SQL never fails");
        let row = Captured::read(&bytes).expect("a JSON object");
        let value = row.get("v").cloned().expect("captured");
        // And the run's stored copy reads back the same.
        let json = row.to_json().to_string();
        let again = Captured::from_json(&serde_json::from_str(&json).expect("valid JSON"));
        if !matches!(value, Stored::Real(f) if f.is_nan()) {
            assert_eq!(again.get("v"), Some(&value), "{json}");
        }
        value
    }

    #[test]
    fn every_storage_class_is_captured_as_itself() {
        let conn = Connection::open_in_memory().expect("db");
        assert_eq!(captured(&conn, "NULL"), Stored::Null);
        assert_eq!(captured(&conn, "42"), Stored::Int(42));
        assert_eq!(captured(&conn, "2.5"), Stored::Real(2.5));
        assert_eq!(captured(&conn, "'東京都'"), Stored::Text("東京都".into()));
        assert_eq!(
            captured(&conn, "'{\"blob\": \"00\"}'"),
            Stored::Text("{\"blob\": \"00\"}".into()),
            "a text that looks like the blob form stays a text"
        );
        assert_eq!(
            captured(&conn, "CAST(X'93FA967B' AS TEXT)"),
            Stored::BadText(vec![0x93, 0xFA, 0x96, 0x7B])
        );
        assert_eq!(captured(&conn, "X'00FF'"), Stored::Blob(vec![0x00, 0xFF]));
        assert_eq!(captured(&conn, "X''"), Stored::Blob(vec![]));
        assert_eq!(captured(&conn, "1e999"), Stored::Real(f64::INFINITY));
        assert_eq!(captured(&conn, "-1e999"), Stored::Real(f64::NEG_INFINITY));
        assert_eq!(
            captured(&conn, "1.7976931348623157e308"),
            Stored::Real(f64::MAX)
        );
    }

    #[test]
    fn a_payload_that_is_not_an_object_is_refused_whole() {
        assert!(Captured::read(b"not json").is_err());
        assert_eq!(Captured::read(b"[1]"), Err("not a JSON object".to_string()));
        let odd = Captured::read(br#"{"a": [1], "b": {"blob": "XYZ"}}"#).expect("object");
        assert!(matches!(odd.get("a"), Some(Stored::Odd(_))));
        assert!(matches!(odd.get("b"), Some(Stored::Odd(_))));
        assert_eq!(odd.get("c"), None);
    }
}
