//! What `flowc serve` (DESIGN.md §9) asks of a database: one typed method
//! per question or write, so that the web edge never sees SQL and works
//! on every backend. Every [`super::Store`] is one ([`super::Store::web`]).
//!
//! Reads ([`Web::run_messages`], [`Web::record_exists`],
//! [`Web::records_where`]) run outside a transaction. Writes come in
//! batches ([`Web::write`]): `flowc serve` hands every request's writes to
//! one writer, which commits many requests' writes in one transaction
//! (group commit) before any of them is answered. A batch is all or
//! nothing; each write's outcome comes back in order.
//!
//! The types and the rules that decide a write are every backend's; the
//! SQL here is SQLite's (PostgreSQL's is in `pg/web.rs`).

use super::backend::SqlValue;
use super::outbox::OutboxError;
use super::sql::ident;
use super::state::StateError;
use super::suppressions::{self, Reason};
use super::{events, sqlite::Sqlite};
use rusqlite::{Connection, OptionalExtension, params};

/// A message a run queued, as `flowc serve` needs it to answer a token
/// naming it (§8: a token names its run and a hash of its Message-ID).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SentMessage {
    /// As stored: with angle brackets.
    pub message_id: String,
    pub template: Option<String>,
    /// The address it went to.
    pub to: String,
    pub subject: String,
    /// The record it went to (table, id), where its opens, clicks and
    /// opt-out are recorded; `None` for an address that is no record.
    pub recipient: Option<(String, i64)>,
    /// The original URLs of its tracked links (`flow_outbox.links`), by
    /// link number: a click redirects only to one of them.
    pub links: Vec<String>,
}

/// An event to record (`flow_events`).
#[derive(Clone, Copy, Debug)]
pub struct NewEvent<'a> {
    pub name: &'a str,
    pub table: &'a str,
    pub row: i64,
    /// A JSON object.
    pub data: &'a str,
    /// Engine time.
    pub at: i64,
}

/// How a webhook names its record by a field's value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Lookup {
    Int(i64),
    Text(String),
    /// An email address: compared trimmed and case-insensitively.
    Address(String),
}

/// One write of a batch.
#[derive(Clone, Copy, Debug)]
pub enum WebWrite<'a> {
    /// Records an event.
    Event(NewEvent<'a>),
    /// Records `event` under an `Idempotency-Key` (`key` within `scope`,
    /// the endpoint), unless the key was first used at or after
    /// `used_since` (wall-clock seconds): then nothing is recorded and the
    /// event recorded then is the answer. `now` is this use's wall time.
    Keyed {
        scope: &'a str,
        key: &'a str,
        used_since: i64,
        now: i64,
        event: NewEvent<'a>,
    },
    /// The recipient of a message opted out: `address` is suppressed as
    /// `unsubscribed` (engine time `clock`, `source` saying how) and
    /// `event` recorded, unless the address is suppressed already for any
    /// reason (then nothing changes: repeating it is harmless).
    Unsubscribe {
        address: &'a str,
        source: &'a str,
        clock: i64,
        event: Option<NewEvent<'a>>,
    },
    /// A program reports a bounce or complaint (`Reason::Bounced`,
    /// `Reason::Complained`): suppressed for it when that is stronger than
    /// what the address has ([`reported_replaces`]).
    Report {
        address: &'a str,
        reason: Reason,
        source: &'a str,
        clock: i64,
    },
    /// A form's submission (`POST /forms/NAME`): finds `table`'s row whose
    /// `by` column holds `key` (the lowest id) and sets `values` on it (the
    /// `by` column itself is left as stored), or inserts a row of `values`
    /// when there is none and `can_create`; then records the event `event`
    /// (`data`, a JSON object, at engine time `at`) on that row. On
    /// PostgreSQL two submissions naming one key are serialized, so that
    /// they make one row.
    UpsertByField {
        table: &'a str,
        by: &'a str,
        key: &'a Lookup,
        values: &'a [(String, SqlValue)],
        can_create: bool,
        event: &'a str,
        data: &'a str,
        at: i64,
    },
}

/// What one write did, in the order of the batch.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Written {
    /// The event recorded.
    Event(i64),
    /// The event recorded under the key, or (`replayed`) the one recorded
    /// when the key was first used.
    Keyed { event: i64, replayed: bool },
    /// Whether the address was newly suppressed, and the event recorded.
    Unsubscribed { changed: bool, event: Option<i64> },
    /// The address's reason before, and whether the report changed it.
    Reported {
        before: Option<Reason>,
        changed: bool,
    },
    /// The row found or made and the event recorded on it; `row: None`
    /// when there was no row and none could be made (`can_create` false:
    /// nothing was written).
    Upserted {
        row: Option<i64>,
        created: bool,
        event: Option<i64>,
    },
}

/// Whether a reported bounce or complaint replaces the reason an address
/// has (none, or `before`): a complaint replaces every other reason; a
/// bounce replaces none, `unsubscribed` and `manual` (transactional email
/// stops too), not `complained`. Both backends decide with this.
pub fn reported_replaces(before: Option<Reason>, reported: Reason) -> bool {
    match (before, reported) {
        (None, _) => true,
        (Some(b), r) if b == r => false,
        (Some(_), Reason::Complained) => true,
        (Some(b), Reason::Bounced) => matches!(b, Reason::Unsubscribed | Reason::Manual),
        _ => false,
    }
}

/// The web edge's questions and writes.
pub trait Web {
    /// The messages run `run` queued, oldest first.
    fn run_messages(&self, run: i64) -> Result<Vec<SentMessage>, OutboxError>;
    /// Whether the user's table `table` has a row with this id.
    fn record_exists(&self, table: &str, id: i64) -> Result<bool, OutboxError>;
    /// The ids of `table`'s rows whose `column` holds `value`, lowest
    /// first, at most `limit`.
    fn records_where(
        &self,
        table: &str,
        column: &str,
        value: &Lookup,
        limit: usize,
    ) -> Result<Vec<i64>, OutboxError>;
    /// Does `writes` in one transaction, all or nothing; what each did.
    fn write(&self, writes: &[WebWrite]) -> Result<Vec<Written>, OutboxError>;
    /// Forgets `Idempotency-Key`s first used before `before` (wall-clock
    /// seconds); how many.
    fn forget_keys(&self, before: i64) -> Result<usize, OutboxError>;
    /// From now on this connection's commits never copy the write-ahead
    /// log into the database (SQLite's automatic checkpoint, which would
    /// make the requests of the commit that crosses its threshold wait for
    /// it); another connection does it (`flowc serve`'s checkpointer).
    fn leave_checkpoints(&self) -> Result<(), OutboxError>;
}

/// Decodes `flow_outbox.links` (a JSON array of URLs, or nothing), naming
/// the row when it is anything else.
pub(in crate::store) fn decode_links(
    message_id: &str,
    links: Option<String>,
) -> Result<Vec<String>, OutboxError> {
    let Some(text) = links else {
        return Ok(Vec::new());
    };
    serde_json::from_str(&text).map_err(|_| {
        StateError::Corrupt {
            table: "flow_outbox",
            row: format!("`{message_id}` (links)"),
            value: text,
            expected: "a JSON array of URLs",
        }
        .into()
    })
}

/// A key's row without its event (only inside the transaction that made it).
pub(in crate::store) fn key_without_event(scope: &str, key: &str) -> OutboxError {
    StateError::Corrupt {
        table: "flow_idempotency_keys",
        row: format!("`{scope}` `{key}`"),
        value: "NULL".into(),
        expected: "the id of the event recorded under the key",
    }
    .into()
}

impl Web for Sqlite {
    fn run_messages(&self, run: i64) -> Result<Vec<SentMessage>, OutboxError> {
        let rows = self
            .connection()
            .prepare_cached(
                "SELECT message_id, template, to_addr, subject, recipient_tbl, recipient_id, links \
                 FROM flow_outbox WHERE run_id = ?1 ORDER BY id",
            )?
            .query_map([run], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, Option<String>>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, String>(3)?,
                    r.get::<_, Option<String>>(4)?,
                    r.get::<_, Option<i64>>(5)?,
                    r.get::<_, Option<String>>(6)?,
                ))
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        rows.into_iter()
            .map(
                |(message_id, template, to, subject, table, id, links)| -> Result<_, OutboxError> {
                    let links = decode_links(&message_id, links)?;
                    Ok(SentMessage {
                        message_id,
                        template,
                        to,
                        subject,
                        recipient: table.zip(id),
                        links,
                    })
                },
            )
            .collect()
    }

    fn record_exists(&self, table: &str, id: i64) -> Result<bool, OutboxError> {
        let sql = format!(
            "SELECT EXISTS (SELECT 1 FROM {} WHERE {} = ?1)",
            ident(table),
            ident("id")
        );
        Ok(self
            .connection()
            .prepare_cached(&sql)?
            .query_row([id], |r| r.get(0))?)
    }

    fn records_where(
        &self,
        table: &str,
        column: &str,
        value: &Lookup,
        limit: usize,
    ) -> Result<Vec<i64>, OutboxError> {
        let (id, table, column) = (ident("id"), ident(table), ident(column));
        let (test, value) = match value {
            Lookup::Int(i) => (
                format!("{column} = ?1"),
                rusqlite::types::Value::Integer(*i),
            ),
            Lookup::Text(t) => (
                format!("{column} = ?1"),
                rusqlite::types::Value::Text(t.clone()),
            ),
            Lookup::Address(a) => (
                format!("lower(trim({column})) = ?1"),
                rusqlite::types::Value::Text(suppressions::normalize(a)),
            ),
        };
        let sql = format!("SELECT {id} FROM {table} WHERE {test} ORDER BY {id} LIMIT ?2");
        Ok(self
            .connection()
            .prepare_cached(&sql)?
            .query_map(params![value, limit as i64], |r| r.get(0))?
            .collect::<rusqlite::Result<Vec<i64>>>()?)
    }

    fn write(&self, writes: &[WebWrite]) -> Result<Vec<Written>, OutboxError> {
        let conn = self.connection();
        crate::store::tx::begin_first(conn)?;
        let done = writes.iter().map(|w| write_one(conn, w)).collect();
        match done {
            Ok(done) => {
                conn.execute_batch("COMMIT")?;
                Ok(done)
            }
            Err(e) => {
                let _ = conn.execute_batch("ROLLBACK");
                Err(e)
            }
        }
    }

    fn forget_keys(&self, before: i64) -> Result<usize, OutboxError> {
        Ok(self
            .connection()
            .prepare_cached("DELETE FROM flow_idempotency_keys WHERE at < ?1")?
            .execute([before])?)
    }

    fn leave_checkpoints(&self) -> Result<(), OutboxError> {
        Ok(self
            .connection()
            .pragma_update(None, "wal_autocheckpoint", 0)?)
    }
}

fn record(conn: &Connection, e: &NewEvent) -> Result<i64, OutboxError> {
    Ok(events::record(conn, e.name, e.table, e.row, e.data, e.at)?)
}

/// One write, inside the batch's transaction (`BEGIN IMMEDIATE`: the
/// database's one writer, so a read and the write it decides are atomic).
fn write_one(conn: &Connection, write: &WebWrite) -> Result<Written, OutboxError> {
    match write {
        WebWrite::Event(e) => Ok(Written::Event(record(conn, e)?)),
        WebWrite::Keyed {
            scope,
            key,
            used_since,
            now,
            event,
        } => {
            let fresh = conn
                .prepare_cached(
                    "INSERT INTO flow_idempotency_keys (scope, key, at) VALUES (?1, ?2, ?3) \
                     ON CONFLICT (scope, key) DO UPDATE SET at = excluded.at, event_id = NULL \
                     WHERE flow_idempotency_keys.at < ?4 RETURNING 1",
                )?
                .query_row(params![scope, key, now, used_since], |_| Ok(()))
                .optional()?
                .is_some();
            if !fresh {
                let first: Option<i64> = conn
                    .prepare_cached(
                        "SELECT event_id FROM flow_idempotency_keys WHERE scope = ?1 AND key = ?2",
                    )?
                    .query_row(params![scope, key], |r| r.get(0))?;
                let event = first.ok_or_else(|| key_without_event(scope, key))?;
                return Ok(Written::Keyed {
                    event,
                    replayed: true,
                });
            }
            let id = record(conn, event)?;
            conn.prepare_cached(
                "UPDATE flow_idempotency_keys SET event_id = ?3 WHERE scope = ?1 AND key = ?2",
            )?
            .execute(params![scope, key, id])?;
            Ok(Written::Keyed {
                event: id,
                replayed: false,
            })
        }
        WebWrite::Unsubscribe {
            address,
            source,
            clock,
            event,
        } => {
            if suppressions::find(conn, address)?.is_some() {
                return Ok(Written::Unsubscribed {
                    changed: false,
                    event: None,
                });
            }
            suppressions::add_within(conn, address, Reason::Unsubscribed, Some(source), *clock)?;
            let event = event.as_ref().map(|e| record(conn, e)).transpose()?;
            Ok(Written::Unsubscribed {
                changed: true,
                event,
            })
        }
        WebWrite::Report {
            address,
            reason,
            source,
            clock,
        } => {
            let before = suppressions::find(conn, address)?.map(|s| s.reason);
            let changed = reported_replaces(before, *reason);
            if changed {
                suppressions::add_within(conn, address, *reason, Some(source), *clock)?;
            }
            Ok(Written::Reported { before, changed })
        }
        WebWrite::UpsertByField {
            table,
            by,
            key,
            values,
            can_create,
            event,
            data,
            at,
        } => {
            let (row, created) = match find_by(conn, table, by, key)? {
                Some(row) => {
                    let sets: Vec<(String, SqlValue)> =
                        values.iter().filter(|(c, _)| c != by).cloned().collect();
                    super::rows::update_row(conn, table, row, &sets)?;
                    (row, false)
                }
                None if *can_create => (super::rows::insert_row(conn, table, values)?, true),
                None => {
                    return Ok(Written::Upserted {
                        row: None,
                        created: false,
                        event: None,
                    });
                }
            };
            let event = record(
                conn,
                &NewEvent {
                    name: event,
                    table,
                    row,
                    data,
                    at: *at,
                },
            )?;
            Ok(Written::Upserted {
                row: Some(row),
                created,
                event: Some(event),
            })
        }
    }
}

/// The lowest id of `table`'s rows whose `column` holds `value`.
fn find_by(
    conn: &Connection,
    table: &str,
    column: &str,
    value: &Lookup,
) -> Result<Option<i64>, OutboxError> {
    let (id, table, column) = (ident("id"), ident(table), ident(column));
    let (test, value) = match value {
        Lookup::Int(i) => (format!("{column} = ?1"), SqlValue::Integer(*i)),
        Lookup::Text(t) => (format!("{column} = ?1"), SqlValue::Text(t.clone())),
        Lookup::Address(a) => (
            format!("lower(trim({column})) = ?1"),
            SqlValue::Text(suppressions::normalize(a)),
        ),
    };
    let sql = format!("SELECT {id} FROM {table} WHERE {test} ORDER BY {id} LIMIT 1");
    Ok(conn
        .prepare_cached(&sql)?
        .query_row([value], |r| r.get(0))
        .optional()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `flowc serve`'s writer leaves checkpoints to its checkpointer: its
    /// commits must never copy the log themselves.
    #[test]
    fn a_connection_that_leaves_checkpoints_never_checkpoints_on_commit() {
        let conn = Connection::open_in_memory().expect("memory db");
        crate::store::state::configure(&conn).expect("configured");
        let store = crate::store::sqlite::Sqlite::new(conn).expect("store");
        let threshold = |s: &crate::store::sqlite::Sqlite| -> i64 {
            s.connection()
                .query_row("PRAGMA wal_autocheckpoint", [], |r| r.get(0))
                .expect("pragma")
        };
        assert!(threshold(&store) > 0);
        store.leave_checkpoints().expect("left");
        assert_eq!(threshold(&store), 0);
    }

    #[test]
    fn a_complaint_outranks_everything_a_bounce_all_but_a_complaint() {
        use Reason::*;
        let table: Vec<(Option<Reason>, bool, bool)> = [
            None,
            Some(Unsubscribed),
            Some(Manual),
            Some(Bounced),
            Some(Complained),
        ]
        .into_iter()
        .map(|b| {
            (
                b,
                reported_replaces(b, Bounced),
                reported_replaces(b, Complained),
            )
        })
        .collect();
        assert_eq!(
            table,
            [
                (None, true, true),
                (Some(Unsubscribed), true, true),
                (Some(Manual), true, true),
                (Some(Bounced), false, true),
                (Some(Complained), false, false),
            ]
        );
    }
}
