//! Declared events (`event paid on invoice { amount: int, note: text? }`)
//! and the one check of a payload against its declaration, which `flowc
//! event`, webhooks (`POST /hooks/EVENT`) and forms (`POST /forms/NAME`,
//! for `form_submitted`) all make before recording anything.
//!
//! A payload is a JSON object. Each declared key must be present with a
//! value of its type unless it is optional (`?`), where it may also be
//! missing or `null`. Keys the declaration does not name are accepted and
//! stored, but rules cannot read them (`event.KEY` of an undeclared key is
//! a checker error).

use super::{Schema, Ty, Type};
use flowc_syntax::source::Span;
use std::fmt;

/// A declared event: its name, the record it happens on and its typed keys.
#[derive(Clone, Debug)]
pub struct EventDef {
    pub name: String,
    pub record: super::RecordId,
    pub keys: Vec<EventKey>,
    /// Where the event's name is declared.
    pub span: Span,
}

/// One key of a declared event's payload; `ty.nullable` for `key: T?`.
#[derive(Clone, Debug)]
pub struct EventKey {
    pub name: String,
    pub ty: Ty,
    pub span: Span,
}

/// Why a payload does not fit its event's declaration. Its `Display` names
/// the key and the type the declaration expects.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PayloadError {
    /// The payload is not a JSON object (`found`: what it is).
    NotAnObject { event: String, found: String },
    /// A required key is missing or `null`.
    Missing {
        event: String,
        key: String,
        expected: String,
    },
    /// A key's value is not of its declared type.
    WrongType {
        event: String,
        key: String,
        expected: String,
        found: String,
    },
    /// `email_opened` or `email_clicked` names a template the project does
    /// not declare (`R opened T` would never see it).
    UnknownTemplate {
        event: String,
        name: String,
        suggestion: Option<String>,
    },
}

impl PayloadError {
    /// The key at fault, if the problem is one key's.
    pub fn key(&self) -> Option<&str> {
        match self {
            PayloadError::NotAnObject { .. } => None,
            PayloadError::Missing { key, .. } | PayloadError::WrongType { key, .. } => Some(key),
            PayloadError::UnknownTemplate { .. } => Some("template"),
        }
    }
}

impl fmt::Display for PayloadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PayloadError::NotAnObject { event, found } => write!(
                f,
                "the payload of event `{event}` must be a JSON object, found {found}"
            ),
            PayloadError::Missing {
                event,
                key,
                expected,
            } => write!(
                f,
                "the payload of event `{event}` has no key `{key}`, which is required ({expected})"
            ),
            PayloadError::WrongType {
                event,
                key,
                expected,
                found,
            } => write!(
                f,
                "key `{key}` of event `{event}` must be {expected}, found {found}"
            ),
            PayloadError::UnknownTemplate {
                event,
                name,
                suggestion,
            } => {
                write!(
                    f,
                    "event `{event}` names template {name:?}, which the project does not declare"
                )?;
                match suggestion {
                    Some(s) => write!(f, " (did you mean {s:?}?)"),
                    None => Ok(()),
                }
            }
        }
    }
}

impl std::error::Error for PayloadError {}

impl Schema {
    /// The declared event of that name, if the project declares one.
    pub fn event_named(&self, name: &str) -> Option<&EventDef> {
        self.events.iter().find(|e| e.name == name)
    }

    /// Checks an event's payload against its declaration; an undeclared
    /// event takes any payload (it is untyped). `None` is no payload, as
    /// `flowc event` without `--data`: an empty object.
    pub fn check_event_payload(
        &self,
        event: &str,
        payload: Option<&serde_json::Value>,
    ) -> Result<(), PayloadError> {
        match self.event_named(event) {
            Some(def) => {
                let empty = serde_json::Value::Object(serde_json::Map::new());
                def.validate_payload(payload.unwrap_or(&empty), self)
            }
            None if TRACKING_EVENTS.contains(&event) => self.check_tracking(event, payload),
            None => Ok(()),
        }
    }

    /// `email_opened` and `email_clicked` carry `{"template": "NAME"}`
    /// (DESIGN.md §2): a template of the project.
    fn check_tracking(
        &self,
        event: &str,
        payload: Option<&serde_json::Value>,
    ) -> Result<(), PayloadError> {
        let template = payload.and_then(|p| p.get("template"));
        match template {
            Some(serde_json::Value::String(name)) => {
                if self.templates.iter().any(|t| &t.name == name) {
                    return Ok(());
                }
                let suggestion = flowc_syntax::suggest::closest(
                    name,
                    self.templates.iter().map(|t| t.name.as_str()),
                )
                .map(str::to_string);
                Err(PayloadError::UnknownTemplate {
                    event: event.to_string(),
                    name: name.clone(),
                    suggestion,
                })
            }
            None | Some(serde_json::Value::Null) => Err(PayloadError::Missing {
                event: event.to_string(),
                key: "template".into(),
                expected: "a template's name".into(),
            }),
            Some(other) => Err(PayloadError::WrongType {
                event: event.to_string(),
                key: "template".into(),
                expected: "a template's name".into(),
                found: shown(other),
            }),
        }
    }
}

impl EventDef {
    pub fn key_named(&self, name: &str) -> Option<&EventKey> {
        self.keys.iter().find(|k| k.name == name)
    }

    /// Checks a payload against this declaration: a JSON object with every
    /// required key, each declared key's value of its type (see
    /// [`fits`]); keys not declared are allowed. The first problem, in
    /// declaration order.
    pub fn validate_payload(
        &self,
        payload: &serde_json::Value,
        schema: &Schema,
    ) -> Result<(), PayloadError> {
        let empty = serde_json::Map::new();
        let object = match payload {
            serde_json::Value::Object(o) => o,
            serde_json::Value::Null => &empty,
            other => {
                return Err(PayloadError::NotAnObject {
                    event: self.name.clone(),
                    found: json_kind(other).to_string(),
                });
            }
        };
        for key in &self.keys {
            let expected = || expected_type(key.ty, schema);
            match object.get(&key.name) {
                None | Some(serde_json::Value::Null) if key.ty.nullable => {}
                None | Some(serde_json::Value::Null) => {
                    return Err(PayloadError::Missing {
                        event: self.name.clone(),
                        key: key.name.clone(),
                        expected: expected(),
                    });
                }
                Some(value) if fits(value, key.ty.base, schema) => {}
                Some(value) => {
                    return Err(PayloadError::WrongType {
                        event: self.name.clone(),
                        key: key.name.clone(),
                        expected: expected(),
                        found: shown(value),
                    });
                }
            }
        }
        Ok(())
    }
}

/// The engagement events whose payload names a template, checked without
/// a declaration.
const TRACKING_EVENTS: [&str; 2] = ["email_opened", "email_clicked"];

/// Whether a (non-null) JSON value is one of type `ty`: `int` a JSON
/// integer; `decimal` any JSON number; `text` a string; `bool` `true` or
/// `false`; `date` a `"YYYY-MM-DD"` string; `datetime` an ISO 8601 / RFC
/// 3339 string (without an offset it is in the project's time zone);
/// `duration` an integer of seconds; an enum one of its values (a string);
/// a record reference an integer id.
pub fn fits(value: &serde_json::Value, ty: Type, schema: &Schema) -> bool {
    use serde_json::Value as J;
    match (ty, value) {
        (Type::Int | Type::Duration | Type::Record(_), J::Number(n)) => n.as_i64().is_some(),
        (Type::Decimal, J::Number(_)) => true,
        (Type::Text, J::String(_)) => true,
        (Type::Bool, J::Bool(_)) => true,
        (Type::Date, J::String(s)) => flowc_syntax::time::parse_date(s).is_some(),
        (Type::DateTime, J::String(s)) => {
            flowc_syntax::time::parse_datetime(s, schema.timezone).is_some()
        }
        (Type::Enum(e), J::String(s)) => schema
            .enums
            .get(e.index())
            .is_some_and(|def| def.values.iter().any(|v| v == s)),
        (Type::Any | Type::Error, _) => true,
        _ => false,
    }
}

/// The declared type as an error message states it: `int`, `a date
/// ("YYYY-MM-DD")`, `one of "a", "b" (stage)`.
fn expected_type(ty: Ty, schema: &Schema) -> String {
    let name = schema.type_name(ty.with_nullable(false));
    match ty.base {
        Type::Date => "a date (\"YYYY-MM-DD\")".into(),
        Type::DateTime => "a datetime (\"YYYY-MM-DDTHH:MM:SS+09:00\")".into(),
        Type::Duration => "a duration (an integer of seconds)".into(),
        Type::Record(_) => format!("a `{name}` id (an integer)"),
        Type::Enum(e) => match schema.enums.get(e.index()) {
            Some(def) => {
                let values: Vec<String> = def.values.iter().map(|v| format!("\"{v}\"")).collect();
                format!("one of {} (`{name}`)", values.join(", "))
            }
            None => name,
        },
        Type::Int => "an int".into(),
        Type::Decimal => "a decimal (a number)".into(),
        Type::Text => "a text (a string)".into(),
        Type::Bool => "a bool (true or false)".into(),
        _ => name,
    }
}

fn json_kind(value: &serde_json::Value) -> &'static str {
    match value {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "a bool",
        serde_json::Value::Number(_) => "a number",
        serde_json::Value::String(_) => "a string",
        serde_json::Value::Array(_) => "an array",
        serde_json::Value::Object(_) => "an object",
    }
}

/// What was found, briefly: `the string "abc"`, `the number 1.5`, `an array`.
fn shown(value: &serde_json::Value) -> String {
    match value {
        serde_json::Value::String(s) => {
            let short: String = s.chars().take(40).collect();
            let more = if short.len() < s.len() { "…" } else { "" };
            format!("the string {:?}", format!("{short}{more}"))
        }
        serde_json::Value::Number(n) => format!("the number {n}"),
        serde_json::Value::Bool(b) => format!("{b}"),
        other => json_kind(other).to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ir::{EnumDef, EnumId, RecordId};
    use serde_json::json;

    fn schema() -> Schema {
        Schema {
            enums: vec![EnumDef {
                name: "plan".into(),
                values: vec!["free".into(), "pro".into()],
                span: Span::default(),
            }],
            ..Schema::default()
        }
    }

    fn paid() -> EventDef {
        let key = |name: &str, ty: Ty| EventKey {
            name: name.into(),
            ty,
            span: Span::default(),
        };
        EventDef {
            name: "paid".into(),
            record: RecordId(0),
            keys: vec![
                key("amount", Ty::INT),
                key("rate", Ty::nullable(Type::Decimal)),
                key("on", Ty::DATE),
                key("at", Ty::nullable(Type::DateTime)),
                key("plan", Ty::nullable(Type::Enum(EnumId(0)))),
                key("note", Ty::nullable(Type::Text)),
                key("first", Ty::nullable(Type::Bool)),
            ],
            span: Span::default(),
        }
    }

    fn check(payload: serde_json::Value) -> Result<(), String> {
        paid()
            .validate_payload(&payload, &schema())
            .map_err(|e| e.to_string())
    }

    #[test]
    fn accepts_a_payload_of_the_declared_types() {
        assert_eq!(check(json!({"amount": 3, "on": "2025-04-01"})), Ok(()));
        assert_eq!(
            check(json!({
                "amount": -7, "rate": 1.5, "on": "2025-04-01",
                "at": "2025-04-01T10:00:00+09:00", "plan": "pro",
                "note": null, "first": true, "extra": [1, 2]
            })),
            Ok(())
        );
        // An int is a decimal too.
        assert_eq!(
            check(json!({"amount": 3, "on": "2025-04-01", "rate": 2})),
            Ok(())
        );
    }

    #[test]
    fn names_a_missing_required_key() {
        assert_eq!(
            check(json!({"on": "2025-04-01"})),
            Err(
                "the payload of event `paid` has no key `amount`, which is required (an int)"
                    .into()
            )
        );
        assert_eq!(
            check(json!({"amount": 1, "on": null})),
            Err("the payload of event `paid` has no key `on`, which is required (a date (\"YYYY-MM-DD\"))".into())
        );
        assert!(check(json!(null)).is_err());
    }

    #[test]
    fn names_a_key_of_the_wrong_type() {
        assert_eq!(
            check(json!({"amount": "3", "on": "2025-04-01"})),
            Err("key `amount` of event `paid` must be an int, found the string \"3\"".into())
        );
        assert_eq!(
            check(json!({"amount": 1.5, "on": "2025-04-01"})),
            Err("key `amount` of event `paid` must be an int, found the number 1.5".into())
        );
        assert_eq!(
            check(json!({"amount": 1, "on": "2025-02-30"})),
            Err("key `on` of event `paid` must be a date (\"YYYY-MM-DD\"), found the string \"2025-02-30\"".into())
        );
        assert_eq!(
            check(json!({"amount": 1, "on": "2025-02-03", "plan": "gold"})),
            Err("key `plan` of event `paid` must be one of \"free\", \"pro\" (`plan`), found the string \"gold\"".into())
        );
        assert_eq!(
            check(json!({"amount": 1, "on": "2025-02-03", "first": 1})),
            Err(
                "key `first` of event `paid` must be a bool (true or false), found the number 1"
                    .into()
            )
        );
        assert_eq!(
            check(json!({"amount": 1, "on": "2025-02-03", "at": "yesterday"})),
            Err("key `at` of event `paid` must be a datetime (\"YYYY-MM-DDTHH:MM:SS+09:00\"), found the string \"yesterday\"".into())
        );
        assert_eq!(
            check(json!([1])),
            Err("the payload of event `paid` must be a JSON object, found an array".into())
        );
    }

    #[test]
    fn an_undeclared_event_takes_anything_but_engagement_names_a_template() {
        let schema = Schema {
            events: vec![paid()],
            ..schema()
        };
        assert!(
            schema
                .check_event_payload("other", Some(&json!([1])))
                .is_ok()
        );
        assert!(schema.check_event_payload("paid", None).is_err());
        // The engagement events name a template of the project.
        let mut with_template = schema.clone();
        with_template.templates.push(crate::ir::TemplateDef {
            name: "seminar_autoreply".into(),
            kind: crate::ir::TemplateKind::Transactional,
            subject: String::new(),
            body: String::new(),
            html: None,
            from: None,
            reply_to: None,
            span: Span::default(),
        });
        assert_eq!(
            with_template
                .check_event_payload(
                    "email_opened",
                    Some(&json!({"template": "seminar_autoreplyy"}))
                )
                .map_err(|e| e.to_string()),
            Err(
                "event `email_opened` names template \"seminar_autoreplyy\", which the project \
                 does not declare (did you mean \"seminar_autoreply\"?)"
                    .to_string()
            )
        );
        assert!(
            with_template
                .check_event_payload(
                    "email_clicked",
                    Some(&json!({"template": "seminar_autoreply"}))
                )
                .is_ok()
        );
        assert!(
            with_template
                .check_event_payload("email_opened", None)
                .is_err()
        );
        let e = schema
            .check_event_payload("paid", Some(&json!({"amount": "x", "on": "2025-01-01"})))
            .err();
        assert_eq!(e.as_ref().and_then(PayloadError::key), Some("amount"));
    }
}
