//! Reading events (`flow_events`), which other programs insert directly:
//! whatever bytes they wrote, one event's bad data is that event's problem.

use super::lenient::{self, Loose};
use super::rows::describe_bytes;
use rusqlite::types::ValueRef;
use rusqlite::{Connection, OptionalExtension, params};
use serde_json::{Map, Value};

/// An event's payload (`flow_events.data`): the values that could be read,
/// and what was wrong with the others.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct EventData {
    /// The event's `seq`, for messages.
    pub seq: i64,
    pub values: Map<String, Value>,
    /// `(key, why)` for each top-level value that could not be read.
    pub bad: Vec<(String, String)>,
    /// Why the payload as a whole cannot be read (it is not a JSON object).
    pub unreadable: Option<String>,
}

impl EventData {
    /// Reads a payload as stored (text or blob bytes).
    pub fn read(seq: i64, bytes: &[u8]) -> EventData {
        let mut data = EventData {
            seq,
            ..EventData::default()
        };
        match lenient::parse(bytes) {
            Ok(Loose::Object(fields)) => {
                for (key, value) in fields {
                    match strict(value) {
                        Ok(v) => {
                            data.values.insert(key, v);
                        }
                        Err(why) => data.bad.push((key, why)),
                    }
                }
            }
            Ok(_) => data.unreadable = Some("not a JSON object".into()),
            Err(why) => data.unreadable = Some(format!("not a JSON object ({why})")),
        }
        data
    }

    /// A value of the payload (`event.KEY`); `Err` says why it cannot be read.
    pub fn get(&self, key: &str) -> Result<Option<&Value>, String> {
        if let Some(why) = &self.unreadable {
            return Err(why.clone());
        }
        if let Some((_, why)) = self.bad.iter().find(|(k, _)| k == key) {
            return Err(format!("the value of {key:?} is {why}"));
        }
        Ok(self.values.get(key))
    }

    /// Stored with a run (`flow_runs.trigger`) under `event`, `event_bad`
    /// and `event_unreadable`, so a run resumed later reads the same.
    pub fn store_in(&self, out: &mut Map<String, Value>) {
        out.insert("event".into(), Value::Object(self.values.clone()));
        if !self.bad.is_empty() {
            let bad = self
                .bad
                .iter()
                .map(|(k, why)| (k.clone(), Value::String(why.clone())))
                .collect();
            out.insert("event_bad".into(), Value::Object(bad));
        }
        if let Some(why) = &self.unreadable {
            out.insert("event_unreadable".into(), Value::String(why.clone()));
        }
    }

    /// Reads what [`EventData::store_in`] stored; `None` if no event.
    pub fn stored_in(json: &Value, seq: i64) -> Option<EventData> {
        let values = json.get("event")?.as_object()?.clone();
        let bad = json
            .get("event_bad")
            .and_then(Value::as_object)
            .map(|o| {
                o.iter()
                    .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string()))
                    .collect()
            })
            .unwrap_or_default();
        let unreadable = json
            .get("event_unreadable")
            .and_then(Value::as_str)
            .map(str::to_string);
        Some(EventData {
            seq,
            values,
            bad,
            unreadable,
        })
    }
}

/// A value as strict JSON, or why it cannot be one.
fn strict(value: Loose) -> Result<Value, String> {
    Ok(match value {
        Loose::Null => Value::Null,
        Loose::Bool(b) => Value::Bool(b),
        Loose::Int(i) => Value::from(i),
        Loose::Real(f) => match serde_json::Number::from_f64(f) {
            Some(n) => Value::Number(n),
            None if f.is_nan() => return Err("a value that is not a number".into()),
            None => return Err("an infinite number".into()),
        },
        Loose::Text(t) => Value::String(t),
        Loose::Bytes(b) => return Err(describe_bytes(&b)),
        Loose::Array(items) => {
            Value::Array(items.into_iter().map(strict).collect::<Result<_, _>>()?)
        }
        Loose::Object(fields) => Value::Object(
            fields
                .into_iter()
                .map(|(k, v)| Ok((k, strict(v)?)))
                .collect::<Result<_, String>>()?,
        ),
    })
}

/// One row of `flow_events`.
#[derive(Clone, Debug)]
pub struct StoredEvent {
    pub seq: i64,
    pub name: String,
    pub table: String,
    pub row_id: i64,
    pub data: EventData,
    pub processed: bool,
}

/// Text another program wrote, or why it is not.
fn text_column(value: ValueRef, column: &str) -> Result<String, String> {
    match value {
        ValueRef::Text(t) => std::str::from_utf8(t)
            .map(str::to_string)
            .map_err(|_| format!("its {column} is {}", describe_bytes(t))),
        _ => Err(format!("its {column} is not text")),
    }
}

/// Loads an event; the inner `Err` says which column cannot be read (the
/// event cannot be delivered to anything).
pub fn load(conn: &Connection, seq: i64) -> rusqlite::Result<Option<Result<StoredEvent, String>>> {
    conn.prepare_cached(
        "SELECT name, tbl, row_id, data, processed, at FROM flow_events WHERE seq = ?1",
    )?
    .query_row([seq], |r| {
        let at = match r.get_ref(5)? {
            ValueRef::Integer(_) | ValueRef::Real(_) => Ok(()),
            ValueRef::Text(t) => Err(format!(
                "its at is not a time in Unix seconds but the text {:?}",
                String::from_utf8_lossy(t)
            )),
            _ => Err("its at is not a time in Unix seconds".to_string()),
        };
        let name = text_column(r.get_ref(0)?, "name");
        let table = text_column(r.get_ref(1)?, "tbl");
        let row_id = match r.get_ref(2)? {
            ValueRef::Integer(i) => Ok(i),
            _ => Err("its row_id is not an integer".to_string()),
        };
        let data = match r.get_ref(3)? {
            ValueRef::Text(b) | ValueRef::Blob(b) => EventData::read(seq, b),
            _ => EventData::read(seq, b"null"),
        };
        let processed = !matches!(r.get_ref(4)?, ValueRef::Integer(0));
        Ok((|| {
            at?;
            Ok(StoredEvent {
                seq,
                name: name?,
                table: table?,
                row_id: row_id?,
                data,
                processed,
            })
        })())
    })
    .optional()
}

/// Marks an event processed.
pub fn mark_processed(conn: &Connection, seq: i64) -> rusqlite::Result<()> {
    conn.prepare_cached("UPDATE flow_events SET processed = 1 WHERE seq = ?1")?
        .execute([seq])?;
    Ok(())
}

/// Unprocessed events stamped at or before `clock`, earliest first, with
/// their time; then those whose `at` is not a number at all (text or a
/// blob another program wrote, which SQLite sorts after every number), due
/// at `clock` so that they are looked at (and logged) rather than kept
/// pending for ever.
pub fn due(conn: &Connection, clock: i64, limit: usize) -> rusqlite::Result<Vec<(i64, i64)>> {
    // `CAST`: another program may have written a real number.
    // A literal limit: see `runs::due_timers`.
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT seq, CAST(at AS INTEGER) FROM flow_events WHERE processed = 0 AND at <= ?1 \
         ORDER BY at, seq LIMIT {limit}"
    ))?;
    let mut due: Vec<(i64, i64)> = stmt
        .query_map(params![clock], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<rusqlite::Result<_>>()?;
    let left = limit.saturating_sub(due.len());
    if left > 0 {
        // The same literal limit, cut to what is left: one statement.
        let mut stmt = conn.prepare_cached(&format!(
            "SELECT seq FROM flow_events WHERE processed = 0 AND at >= '' ORDER BY seq LIMIT {limit}"
        ))?;
        let odd = stmt.query_map([], |r| Ok((r.get(0)?, clock)))?;
        for row in odd.take(left) {
            due.push(row?);
        }
    }
    Ok(due)
}

/// The time of the earliest unprocessed event stamped after `t`, rounded
/// up to a whole second (another program may have written a real number).
pub fn next_after(conn: &Connection, t: i64) -> rusqlite::Result<Option<i64>> {
    // `at < ''`: numbers only (SQLite sorts text after every number); the
    // range keeps `min` on the index.
    conn.prepare_cached(
        "SELECT CAST(x AS INTEGER) + (x > CAST(x AS INTEGER)) FROM \
         (SELECT min(at) AS x FROM flow_events WHERE processed = 0 AND at > ?1 AND at < '')",
    )?
    .query_row([t], |r| r.get(0))
}

/// Records an event; returns its sequence number.
pub fn record(
    conn: &Connection,
    name: &str,
    table: &str,
    row: i64,
    data: &str,
    at: i64,
) -> rusqlite::Result<i64> {
    conn.prepare_cached(
        "INSERT INTO flow_events (name, tbl, row_id, data, at) VALUES (?1, ?2, ?3, ?4, ?5)",
    )?
    .execute(rusqlite::params![name, table, row, data, at])?;
    Ok(conn.last_insert_rowid())
}

/// An engagement with one template's email by one record (§8): asked by
/// `R opened T` / `R clicked T`, or seen in an `email_opened` /
/// `email_clicked` event.
#[derive(Clone, Copy, Debug)]
pub struct Engagement<'a> {
    pub table: &'a str,
    pub row: i64,
    pub template: &'a str,
    /// Asked: only a click counts (else an open or a click does). Seen:
    /// the event is a click (which is an open too).
    pub clicked: bool,
}

/// Whether `asked` happened within `(since, until)`, both included. Once
/// `run` sent the record a message of the template, only the opens of its
/// own messages count (and events without a `message`, recorded by other
/// programs); before that, any message of the template does.
pub fn engaged(
    conn: &Connection,
    asked: &Engagement,
    run: Option<i64>,
    (since, until): (i64, i64),
) -> rusqlite::Result<bool> {
    conn.prepare_cached(
        "SELECT EXISTS (SELECT 1 FROM flow_events e WHERE e.tbl = ?1 AND e.row_id = ?2 \
         AND (e.name = 'email_clicked' OR (?4 = 0 AND e.name = 'email_opened')) \
         AND CASE WHEN json_valid(e.data) THEN json_extract(e.data, '$.template') END = ?3 \
         AND e.at >= ?5 AND e.at <= ?6 \
         AND (?7 IS NULL \
           OR NOT EXISTS (SELECT 1 FROM flow_outbox o WHERE o.run_id = ?7 AND o.template = ?3 \
                          AND o.recipient_tbl = ?1 AND o.recipient_id = ?2) \
           OR CASE WHEN json_valid(e.data) THEN json_extract(e.data, '$.message') END IS NULL \
           OR EXISTS (SELECT 1 FROM flow_outbox o WHERE o.run_id = ?7 \
                      AND o.message_id = '<' || json_extract(e.data, '$.message') || '>')))",
    )?
    .query_row(
        rusqlite::params![
            asked.table,
            asked.row,
            asked.template,
            asked.clicked,
            since,
            until,
            run
        ],
        |r| r.get(0),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_bad_value_is_bad_data_on_that_key_only() {
        let data = EventData::read(
            7,
            b"{\"form\":\"caf\xE9\",\"n\":1e999,\"ok\":\"seminar\",\"x\":[1]}",
        );
        assert_eq!(data.get("ok"), Ok(Some(&Value::from("seminar"))));
        assert_eq!(data.get("x"), Ok(Some(&serde_json::json!([1]))));
        assert_eq!(data.get("missing"), Ok(None));
        assert_eq!(
            data.get("form"),
            Err("the value of \"form\" is text that is not valid UTF-8 (bytes 63 61 66 E9)".into())
        );
        assert_eq!(
            data.get("n"),
            Err("the value of \"n\" is an infinite number".into())
        );
        // A run stores it and reads back the same.
        let mut stored = Map::new();
        data.store_in(&mut stored);
        assert_eq!(EventData::stored_in(&Value::Object(stored), 7), Some(data));
    }

    #[test]
    fn a_payload_that_is_not_an_object_fails_every_read() {
        let data = EventData::read(3, b"\x00\xFF");
        assert_eq!(
            data.get("form"),
            Err("not a JSON object (expected a value at byte 0)".into())
        );
        assert_eq!(
            EventData::read(3, b"[1]").get("a"),
            Err("not a JSON object".into())
        );
    }
}
