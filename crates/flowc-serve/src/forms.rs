//! Declared forms (§9): `POST /forms/NAME` with an
//! `application/x-www-form-urlencoded` body, posted from the project's web
//! pages (on other sites: there is no CSRF token).
//!
//! For `form seminar on contact by email redirect "https://…"`, posted
//! fields named like `contact`'s fields fill them, converted to their
//! types (a bad value is a `400` page naming the field); the row is found
//! by `email` (trimmed and case-insensitive for a record's `email`, as
//! webhooks find it) and updated, or inserted (a required field missing is
//! a `400` page naming it); then `form_submitted` is recorded on it with
//! every posted field (record fields with their converted values, the
//! others as posted text, or converted to the type a declared `event
//! form_submitted` gives their key) plus `"form": "seminar"`, checked
//! against that declaration (a payload that does not fit it is a `400`). The answer is a `303`
//! to the form's `redirect`, or a thank-you page. A filled honeypot field
//! `website` (hidden from people, filled by bots) is answered with the
//! thank-you page (`200`, also where the form redirects) and nothing is
//! stored. A field posted twice keeps its
//! last value.

use crate::App;
use crate::writer::{Failed, FormDone, Job, Submission};
use axum::body::Bytes;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use flowc_check::ir::{FormDef, RecordDef, Schema, Ty, Type};
use flowc_runtime::store::backend::SqlValue;
use flowc_runtime::store::suppressions;
use flowc_runtime::store::web::Lookup;
use serde_json::{Map, Value};
use std::sync::Arc;

/// The honeypot field: people never see it, bots fill it.
pub const HONEYPOT: &str = "website";

/// The event a submission records.
pub const EVENT: &str = "form_submitted";

/// The most fields one submission may post, and the longest field name.
const MAX_FIELDS: usize = 200;
const MAX_NAME: usize = 100;

/// Why a submission is refused: the `400` page says it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// The body is not a form's (`application/x-www-form-urlencoded`,
    /// UTF-8, well percent-encoded).
    Encoding(String),
    /// A field's value does not fit its type.
    BadValue {
        field: String,
        value: String,
        expected: String,
    },
    /// Required fields without a value, for a new record.
    Missing(Vec<String>),
    /// The payload does not fit the declared event.
    Event(String),
}

/// `POST /forms/NAME`.
pub async fn submit(
    State(app): State<Arc<App>>,
    path: Result<Path<String>, PathRejection>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let Ok(Path(name)) = path else {
        return crate::pages::no_such_form();
    };
    let Some(form) = app.forms.iter().find(|f| f.name == name) else {
        return crate::pages::no_such_form();
    };
    let fields = match content_type_ok(&headers).and_then(|()| decode(&body)) {
        Ok(fields) => fields,
        Err(refusal) => return crate::pages::form_refused(&refusal),
    };
    if fields
        .iter()
        .any(|(k, v)| k == HONEYPOT && !v.trim().is_empty())
    {
        // A bot: thanked (never redirected), nothing stored.
        return crate::pages::form_thanks();
    }
    let submission = match prepare(&app.schema, form, &fields) {
        Ok(s) => s,
        Err(refusal) => return crate::pages::form_refused(&refusal),
    };
    let missing = submission.missing.clone();
    match app.writer.ask(|r| Job::Form(Box::new(submission), r)).await {
        Ok(FormDone::Saved { .. }) => thanks(form),
        Ok(FormDone::Missing) => crate::pages::form_refused(&Refusal::Missing(missing)),
        Err(Failed) => crate::pages::unavailable(),
    }
}

/// The answer to a stored (or ignored) submission.
fn thanks(form: &FormDef) -> Response {
    match form
        .redirect
        .as_deref()
        .and_then(|u| HeaderValue::from_str(u).ok())
    {
        Some(location) => (
            StatusCode::SEE_OTHER,
            [
                (header::LOCATION, location),
                (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
            ],
        )
            .into_response(),
        None => crate::pages::form_thanks(),
    }
}

/// A form's body is `application/x-www-form-urlencoded` (a missing
/// Content-Type is taken as one: some clients send none).
fn content_type_ok(headers: &HeaderMap) -> Result<(), Refusal> {
    let Some(value) = headers.get(header::CONTENT_TYPE) else {
        return Ok(());
    };
    let essence = value
        .to_str()
        .unwrap_or("")
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    if essence == "application/x-www-form-urlencoded" {
        Ok(())
    } else {
        Err(Refusal::Encoding(format!(
            "the form must be sent as application/x-www-form-urlencoded, not {essence}"
        )))
    }
}

/// The posted fields in order, decoded strictly: a bad `%` escape or
/// bytes that are not UTF-8 are refused, not replaced.
pub fn decode(body: &[u8]) -> Result<Vec<(String, String)>, Refusal> {
    let mut fields = Vec::new();
    for pair in body.split(|b| *b == b'&').filter(|p| !p.is_empty()) {
        if fields.len() == MAX_FIELDS {
            return Err(Refusal::Encoding(format!(
                "a form may post at most {MAX_FIELDS} fields"
            )));
        }
        let (name, value) = match pair.iter().position(|b| *b == b'=') {
            Some(i) => (&pair[..i], &pair[i + 1..]),
            None => (pair, &[][..]),
        };
        let name = unescape(name)?;
        if name.is_empty() || name.chars().count() > MAX_NAME {
            return Err(Refusal::Encoding(format!(
                "a field name must have 1 to {MAX_NAME} characters"
            )));
        }
        fields.push((name, unescape(value)?));
    }
    Ok(fields)
}

fn unescape(bytes: &[u8]) -> Result<String, Refusal> {
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = bytes
                    .get(i + 1..i + 3)
                    .and_then(|h| std::str::from_utf8(h).ok())
                    .and_then(|h| u8::from_str_radix(h, 16).ok())
                    .ok_or_else(|| {
                        Refusal::Encoding("a `%` escape is not followed by two hex digits".into())
                    })?;
                out.push(hex);
                i += 2;
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8(out).map_err(|_| Refusal::Encoding("the form's text is not UTF-8".into()))
}

/// The record's row to write and the event to record, from the posted
/// fields (the honeypot already empty).
fn prepare(
    schema: &Schema,
    form: &FormDef,
    fields: &[(String, String)],
) -> Result<Submission, Refusal> {
    let record = schema.record(form.record);
    // Last value wins; in the order first posted.
    let mut posted: Vec<(&str, &str)> = Vec::new();
    for (k, v) in fields {
        if k == HONEYPOT {
            continue;
        }
        match posted.iter_mut().find(|(name, _)| *name == k.as_str()) {
            Some(slot) => slot.1 = v,
            None => posted.push((k, v)),
        }
    }
    let declared = schema.event_named(EVENT);
    let mut values: Vec<(String, SqlValue)> = Vec::new();
    let mut data = Map::new();
    for (name, text) in &posted {
        let Some(id) = record.field_named(name) else {
            // Not a field: as posted, or converted to the declared event's
            // type for that key.
            let key = declared.and_then(|d| d.keys.iter().find(|k| k.name == *name));
            let json = match key {
                Some(key) => convert(schema, key.ty, name, text)?.map_or(Value::Null, |(_, j)| j),
                None => Value::String((*text).to_string()),
            };
            data.insert((*name).to_string(), json);
            continue;
        };
        let ty = record.fields[id.index()].ty;
        match convert(schema, ty, name, text)? {
            Some((sql, json)) => {
                values.push(((*name).to_string(), sql));
                data.insert((*name).to_string(), json);
            }
            // Empty: null where the field may be, else not given.
            None if ty.nullable => {
                values.push(((*name).to_string(), SqlValue::Null));
                data.insert((*name).to_string(), Value::Null);
            }
            None => {
                data.insert((*name).to_string(), Value::String((*text).to_string()));
            }
        }
    }
    data.insert("form".into(), Value::String(form.name.clone()));
    let data = Value::Object(data);
    // A declared `event form_submitted on …` refuses a payload that does
    // not fit it, as webhooks and `flowc event` do.
    if let Some(def) = declared {
        if def.record != form.record {
            return Err(Refusal::Event(format!(
                "the event `{EVENT}` happens on a `{}`, not on a `{}`",
                schema.record(def.record).name,
                record.name
            )));
        }
        def.validate_payload(&data, schema)
            .map_err(|e| Refusal::Event(e.to_string()))?;
    }
    let by = &record.fields[form.by_field.index()];
    let Some(key) = values
        .iter()
        .find(|(c, v)| *c == by.name && *v != SqlValue::Null)
        .map(|(_, v)| lookup(record, &by.name, v))
    else {
        return Err(Refusal::Missing(vec![by.name.clone()]));
    };
    let missing: Vec<String> = record
        .fields
        .iter()
        .filter(|f| !f.ty.nullable && !values.iter().any(|(c, _)| *c == f.name))
        .map(|f| f.name.clone())
        .collect();
    Ok(Submission {
        table: record.name.clone(),
        by: by.name.clone(),
        key,
        can_create: missing.is_empty(),
        missing,
        values,
        data: data.to_string(),
    })
}

/// How the `by` field's value finds the row.
fn lookup(record: &RecordDef, field: &str, value: &SqlValue) -> Lookup {
    match value {
        SqlValue::Integer(i) => Lookup::Int(*i),
        SqlValue::Text(t)
            if record
                .email_field()
                .map(|f| record.fields[f.index()].name.as_str())
                == Some(field) =>
        {
            Lookup::Address(suppressions::normalize(t))
        }
        SqlValue::Text(t) => Lookup::Text(t.clone()),
        SqlValue::Real(r) => Lookup::Text(r.to_string()),
        SqlValue::Null | SqlValue::Blob(_) => Lookup::Text(String::new()),
    }
}

/// A posted value in its field's (or declared key's) type: the stored
/// value and the event's; `None` for an empty value.
fn convert(
    schema: &Schema,
    ty: Ty,
    name: &str,
    text: &str,
) -> Result<Option<(SqlValue, Value)>, Refusal> {
    let trimmed = text.trim();
    if trimmed.is_empty() {
        return Ok(None);
    }
    let bad = |expected: &str| Refusal::BadValue {
        field: name.to_string(),
        value: text.to_string(),
        expected: expected.to_string(),
    };
    Ok(Some(match ty.base {
        Type::Text => (
            SqlValue::Text(text.to_string()),
            Value::String(text.to_string()),
        ),
        Type::Int => {
            let i: i64 = trimmed.parse().map_err(|_| bad("a whole number"))?;
            (SqlValue::Integer(i), Value::from(i))
        }
        Type::Decimal => {
            let f: f64 = trimmed
                .parse()
                .ok()
                .filter(|f: &f64| f.is_finite())
                .ok_or_else(|| bad("a number"))?;
            (SqlValue::Real(f), Value::from(f))
        }
        Type::Bool => {
            let b = match trimmed.to_ascii_lowercase().as_str() {
                "true" | "on" | "yes" | "1" => true,
                "false" | "off" | "no" | "0" => false,
                _ => return Err(bad("true or false")),
            };
            (SqlValue::Integer(i64::from(b)), Value::Bool(b))
        }
        Type::Date => {
            let d =
                flowc_syntax::time::parse_date(trimmed).ok_or_else(|| bad("a date, YYYY-MM-DD"))?;
            let text = flowc_syntax::time::format_date(d);
            (SqlValue::Text(text.clone()), Value::String(text))
        }
        Type::DateTime => {
            let t = flowc_syntax::time::parse_datetime(trimmed, schema.timezone)
                .ok_or_else(|| bad("a time, YYYY-MM-DDTHH:MM"))?;
            let text = flowc_syntax::time::format_datetime(t, schema.timezone);
            (SqlValue::Text(text.clone()), Value::String(text))
        }
        Type::Enum(e) => {
            let values = &schema.enum_def(e).values;
            if !values.iter().any(|v| v == trimmed) {
                return Err(bad(&format!("one of {}", values.join(", "))));
            }
            (
                SqlValue::Text(trimmed.to_string()),
                Value::String(trimmed.to_string()),
            )
        }
        Type::Duration | Type::Record(_) | Type::Null | Type::Any | Type::Error => {
            return Err(bad("a value a form cannot set"));
        }
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_are_decoded_strictly() {
        assert_eq!(
            decode(b"name=%E5%B1%B1%E7%94%B0+%E5%A4%AA%E9%83%8E&email=a%40example.jp&x").ok(),
            Some(vec![
                ("name".into(), "山田 太郎".into()),
                ("email".into(), "a@example.jp".into()),
                ("x".into(), String::new()),
            ])
        );
        assert!(matches!(decode(b"a=%zz"), Err(Refusal::Encoding(_))));
        assert!(matches!(decode(b"a=%E5"), Err(Refusal::Encoding(_))));
        assert!(matches!(decode(b"a=%4"), Err(Refusal::Encoding(_))));
        assert!(matches!(decode(b"=x"), Err(Refusal::Encoding(_))));
    }
}
