//! What `flowc outbox` asks: the list by state, finding a message by id or
//! Message-ID, and a person settling an unconfirmed message.

use super::{OutboxError, Result, State, Transition, apply, log, sent_event, transaction};
use rusqlite::{Connection, OptionalExtension, params};

/// One message as `flowc outbox` lists it.
#[derive(Clone, Debug, PartialEq)]
pub struct Listed {
    pub id: i64,
    pub state: State,
    pub message_id: String,
    pub to: String,
    pub subject: String,
    pub attempts: i64,
    /// Engine time.
    pub next_attempt_at: i64,
    pub last_error: Option<String>,
}

/// Every message (or those in `state`), by state in lifecycle order, then
/// by id. Reads only columns every state version has, so it works on a
/// database opened read-only.
pub fn list(conn: &Connection, state: Option<State>) -> Result<Vec<Listed>> {
    let mut stmt = conn.prepare(
        "SELECT id, status, message_id, to_addr, subject, attempts, next_attempt_at, last_error \
         FROM flow_outbox WHERE ?1 IS NULL OR status = ?1 ORDER BY id",
    )?;
    let rows: Vec<(Listed, String)> = stmt
        .query_map([state.map(State::as_str)], |r| {
            let listed = Listed {
                id: r.get(0)?,
                state: State::Queued,
                message_id: r.get(2)?,
                to: r.get(3)?,
                subject: r.get(4)?,
                attempts: r.get(5)?,
                next_attempt_at: r.get(6)?,
                last_error: r.get(7)?,
            };
            Ok((listed, r.get(1)?))
        })?
        .collect::<rusqlite::Result<_>>()?;
    // The state is decoded outside the row mapping, so that a bad one is
    // an error naming the row rather than a conversion failure.
    let mut listed = rows
        .into_iter()
        .map(|(m, status)| {
            Ok(Listed {
                state: State::decode(&status, m.id)?,
                ..m
            })
        })
        .collect::<Result<Vec<_>>>()?;
    listed.sort_by_key(|m| (m.state, m.id));
    Ok(listed)
}

/// The message whose outbox id, or Message-ID (with or without angle
/// brackets), is `key`.
pub fn find(conn: &Connection, key: &str) -> Result<(i64, State)> {
    let key = key.trim();
    let bare = key.trim_start_matches('<').trim_end_matches('>');
    let found: Option<(i64, String)> = conn
        .prepare_cached(
            "SELECT id, status FROM flow_outbox \
             WHERE (?1 IS NOT NULL AND id = ?1) OR message_id IN (?2, '<' || ?2 || '>') \
             ORDER BY id LIMIT 1",
        )?
        .query_row(params![key.parse::<i64>().ok(), bare], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .optional()?;
    let (id, status) = found.ok_or_else(|| OutboxError::NotFound(key.to_string()))?;
    Ok((id, State::decode(&status, id)?))
}

/// How a person settles an unconfirmed message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Resolution {
    /// It did arrive: mark it sent (and record `email_sent`).
    Sent,
    /// It did not: queue it to be sent again.
    Resend,
}

/// Settles unconfirmed message `id`; refuses any other state.
pub fn resolve(conn: &Connection, id: i64, resolution: Resolution, clock: i64) -> Result<()> {
    transaction(conn, || {
        let status: Option<String> = conn
            .prepare_cached("SELECT status FROM flow_outbox WHERE id = ?1")?
            .query_row([id], |r| r.get(0))
            .optional()?;
        let state = match status {
            Some(s) => State::decode(&s, id)?,
            None => return Err(OutboxError::NotFound(id.to_string())),
        };
        if state != State::Unconfirmed {
            return Err(OutboxError::NotUnconfirmed { id, state });
        }
        let (transition, detail) = settle(resolution, clock);
        apply(conn, id, state, None, &transition)?;
        if resolution == Resolution::Sent {
            sent_event(conn, id, clock)?;
        }
        log(conn, clock, id, "email resolved", detail)
    })
}

/// What settling an unconfirmed message does: the transition, and the
/// `flow_log` detail of its `email resolved` line (both backends).
pub(in crate::store) fn settle(resolution: Resolution, clock: i64) -> (Transition, &'static str) {
    match resolution {
        Resolution::Sent => (
            Transition::Sent { at: clock },
            "a person confirmed it arrived",
        ),
        Resolution::Resend => (
            Transition::Resend { at: clock },
            "a person asked for it to be sent again",
        ),
    }
}
