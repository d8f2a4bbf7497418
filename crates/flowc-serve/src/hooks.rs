//! Programs telling flowc something (§9): `POST /hooks/EVENT` records an
//! event on a record, `POST /bounces` a bounce or complaint. Both are
//! signed ([`crate::signature`]); answers are JSON, an error naming the
//! problem.
//!
//! A webhook's body: `{"on": "contact:42", "data": {…}, "at": …}` or
//! `{"on": {"contact": {"email": "a@example.jp"}}, …}`. `on` names a
//! record of the project, by id or by one text or integer field (an
//! `email` field compared trimmed and case-insensitively; the lowest id
//! when several rows match); `data` is an object (default `{}`); `at` is
//! Unix seconds or a time as `flowc event --at` takes it (default: now).

use crate::App;
use crate::signature::HEADER;
use crate::writer::{Failed, Hook, HookDone, Job, On};
use axum::body::Bytes;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use flowc_check::ir::{RecordDef, Type};
use flowc_runtime::store::suppressions::{self, Reason};
use flowc_runtime::store::web::Lookup;
use serde_json::{Map, Value, json};
use std::sync::Arc;

/// The header that makes a webhook idempotent.
const IDEMPOTENCY_KEY: &str = "idempotency-key";

/// The longest `Idempotency-Key` and event name accepted.
const MAX_KEY: usize = 255;
const MAX_NAME: usize = 64;

fn answer(status: StatusCode, body: Value) -> Response {
    let mut response = (status, body.to_string()).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// A refused request: its status, and the message naming the problem
/// (answered as `{"error": message}`).
pub struct Problem {
    status: StatusCode,
    message: String,
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        answer(self.status, json!({ "error": self.message }))
    }
}

fn error(status: StatusCode, message: impl Into<String>) -> Problem {
    Problem {
        status,
        message: message.into(),
    }
}

fn bad(message: impl Into<String>) -> Problem {
    error(StatusCode::BAD_REQUEST, message)
}

fn unavailable() -> Response {
    let mut response = error(
        StatusCode::SERVICE_UNAVAILABLE,
        "the database is not available; try again",
    )
    .into_response();
    response
        .headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from_static("5"));
    response
}

fn wall_clock() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

/// Checks the signature; the 401 when it does not hold.
fn signed(app: &App, headers: &HeaderMap, body: &[u8]) -> Result<(), Problem> {
    let header = headers.get(HEADER).map(HeaderValue::as_bytes);
    app.signing
        .verify(header, body, wall_clock())
        .map_err(|refused| error(StatusCode::UNAUTHORIZED, refused.to_string()))
}

/// The body as a JSON object whose keys are among `known`.
fn object(body: &[u8], known: &[&str]) -> Result<Map<String, Value>, Problem> {
    let value: Value =
        serde_json::from_slice(body).map_err(|e| bad(format!("the body is not JSON: {e}")))?;
    let Value::Object(fields) = value else {
        return Err(bad("the body must be a JSON object"));
    };
    if let Some(unknown) = fields.keys().find(|k| !known.contains(&k.as_str())) {
        return Err(bad(format!(
            "unknown field `{unknown}`; expected {}",
            known
                .iter()
                .map(|k| format!("`{k}`"))
                .collect::<Vec<_>>()
                .join(", ")
        )));
    }
    Ok(fields)
}

/// Whether `name` may name an event: letters, digits and `_`, not
/// starting with a digit.
fn is_event_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= MAX_NAME
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
        && !name.as_bytes()[0].is_ascii_digit()
}

/// `POST /hooks/EVENT`.
pub async fn hook(
    State(app): State<Arc<App>>,
    path: Result<Path<String>, PathRejection>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let hook = match signed(&app, &headers, &body).and_then(|()| {
        let Ok(Path(event)) = path else {
            return Err(bad("the event name in the path cannot be read"));
        };
        read_hook(&app, event, idempotency_key(&headers)?, &body)
    }) {
        Ok(hook) => hook,
        Err(problem) => return problem.into_response(),
    };
    match app.writer.ask(|r| Job::Hook(Box::new(hook), r)).await {
        Ok(HookDone::Recorded { event, replayed }) => {
            let mut response = answer(StatusCode::ACCEPTED, json!({ "event": event }));
            if replayed {
                response
                    .headers_mut()
                    .insert("idempotent-replayed", HeaderValue::from_static("true"));
            }
            response
        }
        Ok(HookDone::NoRecord) => error(StatusCode::NOT_FOUND, "no such record").into_response(),
        Err(Failed) => unavailable(),
    }
}

/// The `Idempotency-Key` header, if any.
fn idempotency_key(headers: &HeaderMap) -> Result<Option<String>, Problem> {
    match headers.get(IDEMPOTENCY_KEY).map(HeaderValue::to_str) {
        None => Ok(None),
        Some(Ok(k)) if !k.trim().is_empty() && k.len() <= MAX_KEY => Ok(Some(k.trim().to_string())),
        Some(_) => Err(bad(format!(
            "the Idempotency-Key header must be 1 to {MAX_KEY} visible ASCII characters"
        ))),
    }
}

/// The webhook's event name and body, checked against the project.
fn read_hook(app: &App, event: String, key: Option<String>, body: &[u8]) -> Result<Hook, Problem> {
    if !is_event_name(&event) {
        return Err(bad(format!(
            "`{event}` is not an event name: letters, digits and _, at most {MAX_NAME}, not starting with a digit"
        )));
    }
    let mut fields = object(body, &["on", "data", "at"])?;
    let on = match fields.remove("on") {
        Some(on) => read_on(app, &on)?,
        None => {
            return Err(bad(
                "missing `on`: the record, as \"contact:42\" or {\"contact\": {\"email\": \"a@example.jp\"}}",
            ));
        }
    };
    let data = match fields.remove("data") {
        None | Some(Value::Null) => Value::Object(Map::new()),
        Some(data @ Value::Object(_)) => data,
        Some(_) => return Err(bad("`data` must be a JSON object")),
    };
    declared(app, &event, &on, &data)?;
    let data = data.to_string();
    let at = match fields.remove("at") {
        None | Some(Value::Null) => None,
        Some(Value::Number(n)) => Some(n.as_i64().ok_or_else(|| {
            bad("`at` must be whole Unix seconds or a time like \"2025-01-03T10:00\"")
        })?),
        Some(Value::String(t)) => Some(
            flowc_runtime::engine::parse_time(&t, app.schema.timezone)
                .map_err(|e| bad(format!("`at`: {e}")))?,
        ),
        Some(_) => {
            return Err(bad(
                "`at` must be whole Unix seconds or a time like \"2025-01-03T10:00\"",
            ));
        }
    };
    Ok(Hook {
        event,
        on,
        data,
        at,
        key,
    })
}

/// A declared event (`event paid on invoice { amount: int }`) refuses a
/// payload without a required key or with a value of the wrong type, and
/// a record other than its own: `400` naming the problem.
fn declared(app: &App, event: &str, on: &On, data: &Value) -> Result<(), Problem> {
    let Some(def) = app.schema.event_named(event) else {
        // Undeclared: only the engagement events' template is checked.
        return app
            .schema
            .check_event_payload(event, Some(data))
            .map_err(|e| bad(format!("`data`: {e}")));
    };
    let table = match on {
        On::Id { table, .. } | On::Field { table, .. } => table,
    };
    let record = &app.schema.record(def.record).name;
    if table != record {
        return Err(bad(format!(
            "`on`: the event `{event}` happens on a `{record}`, not on a `{table}`"
        )));
    }
    def.validate_payload(data, &app.schema)
        .map_err(|e| bad(format!("`data`: {e}")))
}

/// The record a webhook names: `404` when the project has no such record.
fn read_on(app: &App, on: &Value) -> Result<On, Problem> {
    let record = |name: &str| -> Result<&RecordDef, Problem> {
        app.schema
            .records
            .iter()
            .find(|r| r.name == name)
            .ok_or_else(|| {
                error(
                    StatusCode::NOT_FOUND,
                    format!("the project has no record `{name}`"),
                )
            })
    };
    match on {
        Value::String(text) => {
            let (table, id) = text
                .split_once(':')
                .and_then(|(t, i)| Some((t.trim(), i.trim().parse::<i64>().ok()?)))
                .ok_or_else(|| {
                    bad(format!(
                        "`on`: `{text}` is not RECORD:ID, like \"contact:42\""
                    ))
                })?;
            let record = record(table)?;
            Ok(On::Id {
                table: record.name.clone(),
                id,
            })
        }
        Value::Object(named) => {
            let shape = || {
                bad(
                    "`on` names one record by one field, like {\"contact\": {\"email\": \"a@example.jp\"}}",
                )
            };
            let (table, by) = match named.iter().next() {
                Some(entry) if named.len() == 1 => entry,
                _ => return Err(shape()),
            };
            let record = record(table)?;
            let Some((field, value)) = by.as_object().and_then(|by| {
                let entry = by.iter().next()?;
                (by.len() == 1).then_some(entry)
            }) else {
                return Err(shape());
            };
            lookup(record, field, value).map(|(column, value)| On::Field {
                table: record.name.clone(),
                column,
                value,
            })
        }
        _ => Err(bad(
            "`on` must be \"RECORD:ID\" or {\"RECORD\": {\"FIELD\": VALUE}}",
        )),
    }
}

/// How `record`'s rows are found by `field` = `value`.
fn lookup(record: &RecordDef, field: &str, value: &Value) -> Result<(String, Lookup), Problem> {
    let name = &record.name;
    if field == "id" {
        return match value.as_i64() {
            Some(id) => Ok(("id".into(), Lookup::Int(id))),
            None => Err(bad(format!("`on`: {name}.id is an integer"))),
        };
    }
    let Some(id) = record.field_named(field) else {
        let fields: Vec<&str> = record.fields.iter().map(|f| f.name.as_str()).collect();
        return Err(bad(format!(
            "`on`: {name} has no field `{field}` (its fields: id, {})",
            fields.join(", ")
        )));
    };
    let ty = &record.fields[id.index()].ty;
    match (&ty.base, value) {
        (Type::Text, Value::String(s)) if record.email_field() == Some(id) => {
            Ok((field.into(), Lookup::Address(suppressions::normalize(s))))
        }
        (Type::Text, Value::String(s)) => Ok((field.into(), Lookup::Text(s.clone()))),
        (Type::Int | Type::Record(_), Value::Number(n)) => match n.as_i64() {
            Some(i) => Ok((field.into(), Lookup::Int(i))),
            None => Err(bad(format!("`on`: {name}.{field} is an integer"))),
        },
        (Type::Text, _) => Err(bad(format!(
            "`on`: {name}.{field} is a text: give a string"
        ))),
        (Type::Int | Type::Record(_), _) => Err(bad(format!(
            "`on`: {name}.{field} is an integer: give a number"
        ))),
        _ => Err(bad(format!(
            "`on`: a record is named by its id or by a text or integer field, and {name}.{field} is neither"
        ))),
    }
}

/// `POST /bounces`: `{"address": …, "kind": "hard" | "soft" | "complaint"}`.
/// A hard bounce suppresses the address (`bounced`), a complaint
/// (`complained`); a soft bounce is temporary and stores nothing.
pub async fn bounce(State(app): State<Arc<App>>, headers: HeaderMap, body: Bytes) -> Response {
    if let Err(refused) = signed(&app, &headers, &body) {
        return refused.into_response();
    }
    let mut fields = match object(&body, &["address", "kind"]) {
        Ok(fields) => fields,
        Err(problem) => return problem.into_response(),
    };
    let address = match fields.remove("address") {
        Some(Value::String(a)) => match suppressions::parse_address(&a) {
            Ok(a) => a,
            Err(e) => return bad(format!("`address`: {e}")).into_response(),
        },
        _ => return bad("`address` must be the email address, a string").into_response(),
    };
    let reason = match fields.remove("kind").as_ref().and_then(Value::as_str) {
        Some("hard") => Some(Reason::Bounced),
        Some("complaint") => Some(Reason::Complained),
        Some("soft") => None,
        _ => return bad("`kind` must be \"hard\", \"soft\" or \"complaint\"").into_response(),
    };
    let Some(reason) = reason else {
        return answer(
            StatusCode::ACCEPTED,
            json!({ "address": address, "suppressed": false, "changed": false }),
        );
    };
    match app
        .writer
        .ask(|r| Job::Report(address.clone(), reason, r))
        .await
    {
        Ok(changed) => answer(
            StatusCode::ACCEPTED,
            json!({ "address": address, "suppressed": true, "changed": changed }),
        ),
        Err(Failed) => unavailable(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_names_are_identifiers() {
        for ok in ["paid", "invoice_sent", "_x", "a1"] {
            assert!(is_event_name(ok), "{ok}");
        }
        for bad in ["", "1a", "a-b", "a b", "é", &"a".repeat(65)] {
            assert!(!is_event_name(bad), "{bad}");
        }
    }
}
