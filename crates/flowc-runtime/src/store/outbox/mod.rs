//! `flow_outbox` after a step queued a message: its delivery state, the
//! one function that says how a state changes, and every query delivery
//! and `flowc outbox` make.
//!
//! ```text
//!  queued ──claim──► sending ──finalize──► finalizing ──► sent
//!    ▲                │  │                   │  │
//!    └─defer/release──┘  └─fail──► failed ◄──┘  └─unconfirm──► unconfirmed
//!    └──────────────────────── resend (a person) ◄──────────────┘ (or sent)
//! ```
//!
//! Two clocks: `next_attempt_at` (backoff) is engine time, so cron runs
//! with `--now` spend retries as `--watch` would; `lease_until` is wall
//! time, because it guards a real process that may have died.

mod inspect;
mod lifecycle;

pub(in crate::store) use inspect::settle;
pub use inspect::{Listed, Resolution, find, list, resolve};
pub use lifecycle::{Claim, State, Transition, Update, update};

use super::state::StateError;
use rusqlite::{Connection, Row, params};

const TABLE: &str = "flow_outbox";

/// A rendered message a step puts in the outbox.
#[derive(Clone, Copy, Debug)]
pub struct NewMessage<'a> {
    /// Made from the run and the step, so that doing the step again
    /// cannot queue it twice.
    pub message_id: &'a str,
    pub run_id: i64,
    pub rule: &'a str,
    pub template: Option<&'a str>,
    /// `email` or `notify`.
    pub kind: &'a str,
    pub to: &'a str,
    pub from: Option<&'a str>,
    pub reply_to: Option<&'a str>,
    pub subject: &'a str,
    pub body: &'a str,
    /// The HTML part: with it the message is multipart/alternative.
    pub html: Option<&'a str>,
    /// The `List-Unsubscribe` header's value (marketing mail, §8); with an
    /// https link in it the message also says `List-Unsubscribe-Post`.
    pub list_unsubscribe: Option<&'a str>,
    /// Engine time.
    pub created_at: i64,
    /// Engine time before which it is not sent (`send during`, §11: held
    /// until the calendar opens); 0 or `created_at` for at once.
    pub not_before: i64,
    pub subject_table: &'a str,
    pub subject_id: i64,
    /// The record the message went to (table and id), where its opens and
    /// clicks are recorded; `None` for an address that is no record.
    pub recipient: Option<(&'a str, i64)>,
    /// The original URLs of its tracked links, as a JSON array (§8).
    pub links: Option<&'a str>,
}

/// Queues a message; `false` if one with its Message-ID is already queued
/// (the step is being done again after a crash).
pub fn enqueue(conn: &Connection, m: &NewMessage) -> rusqlite::Result<bool> {
    let inserted = conn
        .prepare_cached(
            "INSERT OR IGNORE INTO flow_outbox (message_id, run_id, rule, template, kind, to_addr, from_addr, \
             reply_to, subject, body, status, created_at, subject_tbl, subject_id, html, list_unsubscribe, \
             recipient_tbl, recipient_id, links, next_attempt_at) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, 'queued', ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19)",
        )?
        .execute(params![
            m.message_id,
            m.run_id,
            m.rule,
            m.template,
            m.kind,
            m.to,
            m.from,
            m.reply_to,
            m.subject,
            m.body,
            m.created_at,
            m.subject_table,
            m.subject_id,
            m.html,
            m.list_unsubscribe,
            m.recipient.map(|(table, _)| table),
            m.recipient.map(|(_, id)| id),
            m.links,
            m.not_before
        ])?;
    Ok(inserted > 0)
}

/// Why the outbox could not do what was asked.
#[derive(Debug)]
pub enum OutboxError {
    State(StateError),
    /// A transition that does not apply to the state (a bug in the caller).
    NotAllowed {
        id: i64,
        from: State,
        what: String,
    },
    /// `flowc outbox resolve` on a message that is not unconfirmed.
    NotUnconfirmed {
        id: i64,
        state: State,
    },
    /// No message has this id or Message-ID.
    NotFound(String),
}

impl OutboxError {
    /// The connection to the database is gone (see
    /// [`super::DbError::is_connection_lost`]).
    pub fn is_connection_lost(&self) -> bool {
        matches!(self, OutboxError::State(StateError::Database(e)) if e.is_connection_lost())
    }
}

impl std::fmt::Display for OutboxError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            OutboxError::State(e) => write!(f, "{e}"),
            OutboxError::NotAllowed { id, from, what } => {
                write!(
                    f,
                    "flow_outbox row {id}: cannot {what} a message that is {from}"
                )
            }
            OutboxError::NotUnconfirmed { id, state } => write!(
                f,
                "message {id} is {state}, not unconfirmed: only an unconfirmed message can be resolved"
            ),
            OutboxError::NotFound(key) => {
                write!(
                    f,
                    "no message in the outbox has the id or Message-ID `{key}`"
                )
            }
        }
    }
}

impl std::error::Error for OutboxError {}

impl From<rusqlite::Error> for OutboxError {
    fn from(e: rusqlite::Error) -> OutboxError {
        OutboxError::State(StateError::Database(e.into()))
    }
}

impl From<StateError> for OutboxError {
    fn from(e: StateError) -> OutboxError {
        OutboxError::State(e)
    }
}

impl From<super::error::DbError> for OutboxError {
    fn from(e: super::error::DbError) -> OutboxError {
        OutboxError::State(StateError::Database(e))
    }
}

impl From<postgres::Error> for OutboxError {
    fn from(e: postgres::Error) -> OutboxError {
        OutboxError::State(StateError::Database(e.into()))
    }
}

pub(in crate::store) type Result<T> = std::result::Result<T, OutboxError>;

/// Runs `body` in a `BEGIN IMMEDIATE` transaction.
fn transaction<T>(conn: &Connection, body: impl FnOnce() -> Result<T>) -> Result<T> {
    crate::store::tx::begin_background(conn)?;
    match body() {
        Ok(v) => {
            conn.execute_batch("COMMIT")?;
            Ok(v)
        }
        Err(e) => {
            let _ = conn.execute_batch("ROLLBACK");
            Err(e)
        }
    }
}

/// Applies `transition` to message `id` if it is still in state `from`
/// (and, with `owner`, still claimed by that worker). Returns whether it
/// was: another worker may have taken the message over meanwhile.
pub fn apply(
    conn: &Connection,
    id: i64,
    from: State,
    owner: Option<&str>,
    transition: &Transition,
) -> Result<bool> {
    let Some(u) = update(from, transition) else {
        return Err(OutboxError::NotAllowed {
            id,
            from,
            what: format!("{transition:?}"),
        });
    };
    let (claim, worker, lease) = match &u.claim {
        Claim::Keep => (0, None, None),
        Claim::Set {
            worker,
            lease_until,
        } => (1, Some(worker.as_str()), Some(*lease_until)),
        Claim::Clear => (2, None, None),
    };
    let changed = conn
        .prepare_cached(
            "UPDATE flow_outbox SET status = ?1, attempts = attempts + ?2, \
               worker = CASE ?3 WHEN 0 THEN worker ELSE ?4 END, \
               lease_until = CASE ?3 WHEN 0 THEN lease_until ELSE ?5 END, \
               next_attempt_at = coalesce(?6, next_attempt_at), \
               last_error = CASE WHEN ?7 THEN ?8 ELSE last_error END, \
               sent_at = coalesce(?9, sent_at) \
             WHERE id = ?10 AND status = ?11 AND (?12 IS NULL OR worker = ?12)",
        )?
        .execute(params![
            u.state.as_str(),
            u.attempts,
            claim,
            worker,
            lease,
            u.next_attempt_at,
            u.last_error.is_some(),
            u.last_error.flatten(),
            u.sent_at,
            id,
            from.as_str(),
            owner
        ])?;
    Ok(changed == 1)
}

/// A message a worker claimed, with what sending it needs.
#[derive(Clone, Debug, PartialEq)]
pub struct Message {
    pub id: i64,
    pub message_id: String,
    pub to: String,
    pub from: Option<String>,
    pub reply_to: Option<String>,
    pub subject: String,
    pub body: String,
    /// The HTML part, if the template has one.
    pub html: Option<String>,
    /// The `List-Unsubscribe` header's value (marketing mail).
    pub list_unsubscribe: Option<String>,
    /// Attempts so far, this one included.
    pub attempts: i64,
    /// The engine time at which it became due for delivery, its `Date:`
    /// (§8): when it was queued (`created_at`).
    pub date: i64,
}

/// A message left `finalizing` by a worker whose lease ran out: it became
/// `unconfirmed`.
#[derive(Clone, Debug, PartialEq)]
pub struct Abandoned {
    pub id: i64,
    pub message_id: String,
    pub to: String,
}

/// What one claim took.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Claimed {
    pub messages: Vec<Message>,
    pub abandoned: Vec<Abandoned>,
}

pub(in crate::store) const ABANDONED: &str = "delivery was interrupted after the message was handed to the server; \
                         it was most likely delivered, and is not sent again";

/// Claims up to `limit` messages for `worker`, in one transaction: those
/// queued and due at engine time `clock`, and those whose claim expired
/// (wall time `now`). First, messages left `finalizing` under an expired
/// lease become `unconfirmed` (logged): the server may have them.
pub fn claim(
    conn: &Connection,
    worker: &str,
    now: i64,
    lease_until: i64,
    clock: i64,
    limit: usize,
) -> Result<Claimed> {
    transaction(conn, || {
        let abandoned = unconfirm_abandoned(conn, now, clock)?;
        let take = Transition::Claim {
            worker: worker.to_string(),
            lease_until,
        };
        let u = update(State::Queued, &take).ok_or_else(|| OutboxError::NotAllowed {
            id: 0,
            from: State::Queued,
            what: "claim".into(),
        })?;
        let mut stmt = conn.prepare_cached(
            "UPDATE flow_outbox SET status = ?1, attempts = attempts + ?2, worker = ?3, lease_until = ?4 \
             WHERE id IN (SELECT id FROM flow_outbox \
                          WHERE (status = 'queued' AND next_attempt_at <= ?5) \
                             OR (status = 'sending' AND (lease_until IS NULL OR lease_until < ?6)) \
                          ORDER BY id LIMIT ?7) \
             RETURNING id, message_id, to_addr, from_addr, reply_to, subject, body, attempts, created_at, html, list_unsubscribe",
        )?;
        let mut messages: Vec<Message> = stmt
            .query_map(
                params![
                    u.state.as_str(),
                    u.attempts,
                    worker,
                    lease_until,
                    clock,
                    now,
                    limit as i64
                ],
                message,
            )?
            .collect::<rusqlite::Result<_>>()?;
        messages.sort_by_key(|m| m.id);
        Ok(Claimed {
            messages,
            abandoned,
        })
    })
}

fn message(r: &Row) -> rusqlite::Result<Message> {
    Ok(Message {
        id: r.get(0)?,
        message_id: r.get(1)?,
        to: r.get(2)?,
        from: r.get(3)?,
        reply_to: r.get(4)?,
        subject: r.get(5)?,
        body: r.get(6)?,
        attempts: r.get(7)?,
        date: r.get(8)?,
        html: r.get(9)?,
        list_unsubscribe: r.get(10)?,
    })
}

fn unconfirm_abandoned(conn: &Connection, now: i64, clock: i64) -> Result<Vec<Abandoned>> {
    let stuck: Vec<(i64, String, String)> = conn
        .prepare_cached(
            "SELECT id, message_id, to_addr FROM flow_outbox \
             WHERE status = 'finalizing' AND (lease_until IS NULL OR lease_until < ?1)",
        )?
        .query_map([now], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
        .collect::<rusqlite::Result<_>>()?;
    let mut abandoned = Vec::new();
    for (id, message_id, to) in stuck {
        let t = Transition::Unconfirm {
            error: ABANDONED.into(),
        };
        if apply(conn, id, State::Finalizing, None, &t)? {
            log(
                conn,
                clock,
                id,
                "email unconfirmed",
                &format!("{message_id} to {to}: {ABANDONED}"),
            )?;
            abandoned.push(Abandoned { id, message_id, to });
        }
    }
    Ok(abandoned)
}

/// Renews the lease on every message `worker` holds (and its heartbeat),
/// and says whether it still holds `id` in `sending`: checked right before
/// DATA, the last moment a send can still be abandoned without a trace.
pub fn hold(conn: &Connection, worker: &str, id: i64, now: i64, lease_until: i64) -> Result<bool> {
    transaction(conn, || {
        super::workers::heartbeat(conn, worker, now)?;
        conn.prepare_cached(
            "UPDATE flow_outbox SET lease_until = ?2 WHERE worker = ?1 AND status IN ('sending', 'finalizing')",
        )?
        .execute(params![worker, lease_until])?;
        let held: bool = conn
            .prepare_cached(
                "SELECT EXISTS (SELECT 1 FROM flow_outbox WHERE id = ?1 AND worker = ?2 AND status = 'sending')",
            )?
            .query_row(params![id, worker], |r| r.get(0))?;
        Ok(held)
    })
}

/// Records `finalizing` for a message `worker` holds, just before the
/// final `.` of DATA. Returns whether it still held it.
pub fn finalize(conn: &Connection, worker: &str, id: i64) -> Result<bool> {
    apply(
        conn,
        id,
        State::Sending,
        Some(worker),
        &Transition::Finalize,
    )
}

/// Puts every message `worker` still holds in `sending` back in the queue,
/// without counting the attempt. Returns how many.
pub fn release(conn: &Connection, worker: &str) -> Result<usize> {
    transaction(conn, || {
        let held: Vec<i64> = conn
            .prepare_cached("SELECT id FROM flow_outbox WHERE worker = ?1 AND status = 'sending'")?
            .query_map([worker], |r| r.get(0))?
            .collect::<rusqlite::Result<_>>()?;
        let mut released = 0;
        for id in held {
            if apply(conn, id, State::Sending, Some(worker), &Transition::Release)? {
                released += 1;
            }
        }
        Ok(released)
    })
}

/// How one attempt at a message ended.
#[derive(Clone, Debug, PartialEq)]
pub enum Outcome {
    Sent,
    Deferred {
        retry_at: i64,
        error: String,
    },
    /// `bounced`: the recipient's address, to suppress (§8), when the
    /// server refused the recipient or the message permanently.
    Failed {
        error: String,
        bounced: Option<String>,
    },
    Unconfirmed {
        error: String,
    },
}

/// Records how the attempt at `message` (in state `from`, held by
/// `worker`) ended, in one transaction with what goes with it: the
/// `email_sent` event, the `flow_log` line, the suppression of a bounced
/// address. Returns false (and records nothing) when the worker no longer
/// held the message.
pub fn record(
    conn: &Connection,
    worker: &str,
    message: &Message,
    from: State,
    outcome: &Outcome,
    clock: i64,
) -> Result<bool> {
    transaction(conn, || {
        let (transition, action, detail) = describe(message, outcome, clock);
        if !apply(conn, message.id, from, Some(worker), &transition)? {
            return Ok(false);
        }
        if matches!(outcome, Outcome::Sent) {
            sent_event(conn, message.id, clock)?;
        }
        log(conn, clock, message.id, action, &detail)?;
        if let Outcome::Failed {
            error,
            bounced: Some(address),
        } = outcome
        {
            let source = format!("{} answered: {error}", message.message_id);
            if super::suppressions::add_bounce(conn, address, clock, &source)? {
                log(
                    conn,
                    clock,
                    message.id,
                    "address suppressed",
                    &format!("{address}: bounced ({error})"),
                )?;
            }
        }
        Ok(true)
    })
}

/// What recording `outcome` for `message` does: the transition, and the
/// `flow_log` action and detail that go with it (both backends).
pub(in crate::store) fn describe(
    message: &Message,
    outcome: &Outcome,
    clock: i64,
) -> (Transition, &'static str, String) {
    let about = format!("{} to {}", message.message_id, message.to);
    match outcome {
        Outcome::Sent => (Transition::Sent { at: clock }, "email sent", about),
        Outcome::Deferred { retry_at, error } => (
            Transition::Defer {
                retry_at: *retry_at,
                error: error.clone(),
            },
            "email deferred",
            format!(
                "{about}: {error} (attempt {}; next in {} min)",
                message.attempts,
                (retry_at - clock).max(0) / 60
            ),
        ),
        Outcome::Failed { error, .. } => (
            Transition::Fail {
                error: error.clone(),
            },
            "email failed",
            format!("{about}: {error}"),
        ),
        Outcome::Unconfirmed { error } => (
            Transition::Unconfirm {
                error: error.clone(),
            },
            "email unconfirmed",
            format!("{about}: {error}"),
        ),
    }
}

/// The `email_sent` event on the message's subject record, if it has one.
fn sent_event(conn: &Connection, id: i64, clock: i64) -> Result<()> {
    conn.prepare_cached(
        "INSERT INTO flow_events (name, tbl, row_id, data, at) \
         SELECT 'email_sent', subject_tbl, subject_id, \
                json_object('template', template, 'message_id', message_id, 'to', to_addr), ?2 \
         FROM flow_outbox WHERE id = ?1 AND subject_tbl IS NOT NULL AND subject_id IS NOT NULL",
    )?
    .execute(params![id, clock])?;
    Ok(())
}

/// Appends to the audit trail, on the run that queued message `id`.
fn log(conn: &Connection, at: i64, id: i64, action: &str, detail: &str) -> Result<()> {
    conn.prepare_cached(
        "INSERT INTO flow_log (at, run_id, rule, subject, step, action, detail) \
         SELECT ?1, o.run_id, coalesce(r.rule, o.rule), r.subject_tbl || ' #' || r.subject_id, '', ?3, ?4 \
         FROM flow_outbox o LEFT JOIN flow_runs r ON r.id = o.run_id WHERE o.id = ?2",
    )?
    .execute(params![at, id, action, detail])?;
    Ok(())
}

/// Appends a line about delivery as a whole (not one message).
fn log_delivery(conn: &Connection, at: i64, action: &str, detail: &str) -> Result<()> {
    conn.prepare_cached("INSERT INTO flow_log (at, step, action, detail) VALUES (?1, '', ?2, ?3)")?
        .execute(params![at, action, detail])?;
    Ok(())
}

/// Delivery paused because of the configuration (login, TLS, an
/// unreachable server): since when (engine time) and why.
#[derive(Clone, Debug, PartialEq)]
pub struct Pause {
    pub since: i64,
    pub error: String,
}

pub(in crate::store) const PAUSE_KEY: &str = "delivery_paused";

/// The stored pause, if delivery is paused.
pub fn paused(conn: &Connection) -> Result<Option<Pause>> {
    let Some(text) = super::state::meta(conn, PAUSE_KEY)? else {
        return Ok(None);
    };
    Pause::decode(text).map(Some)
}

impl Pause {
    /// Decodes the stored pause (`flow_meta.delivery_paused`): anything
    /// but a JSON object with `since` and `error` is an error naming it.
    pub(in crate::store) fn decode(text: String) -> Result<Pause> {
        let value: Option<(i64, String)> = serde_json::from_str::<serde_json::Value>(&text)
            .ok()
            .and_then(|v| Some((v["since"].as_i64()?, v["error"].as_str()?.to_string())));
        match value {
            Some((since, error)) => Ok(Pause { since, error }),
            None => Err(StateError::Corrupt {
                table: "flow_meta",
                row: format!("`{PAUSE_KEY}`"),
                value: text,
                expected: "a JSON object with `since` and `error`",
            }
            .into()),
        }
    }
}

/// Records that delivery is paused by `error`, logging it when delivery
/// was not paused already for the same reason.
pub fn pause(conn: &Connection, error: &str, clock: i64) -> Result<()> {
    transaction(conn, || {
        let before = paused(conn)?;
        if before.as_ref().is_some_and(|p| p.error == error) {
            return Ok(());
        }
        let since = before.map_or(clock, |p| p.since);
        let value = serde_json::json!({ "since": since, "error": error });
        super::state::set_meta(conn, PAUSE_KEY, &value.to_string())?;
        log_delivery(conn, clock, "delivery paused", error)
    })
}

/// Delivery works again: clears a stored pause, logging that it resumed.
pub fn resume(conn: &Connection, clock: i64) -> Result<()> {
    if paused(conn)?.is_none() {
        return Ok(());
    }
    transaction(conn, || {
        if let Some(p) = paused(conn)? {
            conn.prepare_cached("DELETE FROM flow_meta WHERE key = ?1")?
                .execute([PAUSE_KEY])?;
            log_delivery(
                conn,
                clock,
                "delivery resumed",
                &format!("after: {}", p.error),
            )?;
        }
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn outbox(n: i64) -> Connection {
        let conn = Connection::open_in_memory().expect("db");
        crate::store::state::migrate(&conn).expect("migrate");
        for i in 1..=n {
            conn.execute(
                "INSERT INTO flow_outbox (message_id, to_addr, subject, body, status, created_at) \
                 VALUES (?1, ?2, 's', 'b', 'queued', 0)",
                params![format!("<{i}@t>"), format!("r{i}@example.jp")],
            )
            .expect("insert");
        }
        conn
    }

    fn status(conn: &Connection, id: i64) -> String {
        conn.query_row("SELECT status FROM flow_outbox WHERE id = ?1", [id], |r| {
            r.get(0)
        })
        .expect("status")
    }

    fn ids(claimed: &Claimed) -> Vec<i64> {
        claimed.messages.iter().map(|m| m.id).collect()
    }

    #[test]
    fn only_an_expired_lease_is_taken_over_and_the_old_owner_is_fenced_out() {
        let conn = outbox(2);
        let a = claim(&conn, "a", 100, 400, 0, 10).expect("claim");
        assert_eq!(ids(&a), [1, 2]);
        assert_eq!(
            ids(&claim(&conn, "b", 400, 700, 0, 10).expect("claim")),
            [] as [i64; 0]
        );
        let b = claim(&conn, "b", 401, 700, 0, 10).expect("claim");
        assert_eq!(ids(&b), [1, 2]);
        assert_eq!(b.messages[0].attempts, 2);
        let sent = record(
            &conn,
            "a",
            &a.messages[0],
            State::Sending,
            &Outcome::Sent,
            0,
        );
        assert!(!sent.expect("record"), "a no longer holds it");
        assert!(!finalize(&conn, "a", 1).expect("finalize"));
        assert!(finalize(&conn, "b", 1).expect("finalize"));
        assert_eq!(release(&conn, "b").expect("release"), 1);
        assert_eq!(status(&conn, 2), "queued");
    }

    #[test]
    fn a_finalizing_message_is_never_claimed_again_but_becomes_unconfirmed() {
        let conn = outbox(1);
        claim(&conn, "a", 100, 400, 0, 10).expect("claim");
        assert!(finalize(&conn, "a", 1).expect("finalize"));
        let b = claim(&conn, "b", 200, 500, 0, 10).expect("claim");
        assert!(
            b.messages.is_empty() && b.abandoned.is_empty(),
            "a's lease holds"
        );
        let b = claim(&conn, "b", 401, 700, 0, 10).expect("claim");
        assert!(b.messages.is_empty());
        assert_eq!(b.abandoned.len(), 1);
        assert_eq!(status(&conn, 1), "unconfirmed");
        let again = claim(&conn, "c", 10_000, 10_300, 10_000, 10).expect("claim");
        assert!(again.messages.is_empty() && again.abandoned.is_empty());
    }

    #[test]
    fn a_deferred_message_waits_for_engine_time() {
        let conn = outbox(1);
        let a = claim(&conn, "a", 100, 400, 1_000, 10).expect("claim");
        let deferred = Outcome::Deferred {
            retry_at: 1_060,
            error: "451".into(),
        };
        assert!(
            record(&conn, "a", &a.messages[0], State::Sending, &deferred, 1_000).expect("record")
        );
        let wall_clock_later = claim(&conn, "a", 99_999, 100_300, 1_059, 10).expect("claim");
        assert!(
            wall_clock_later.messages.is_empty(),
            "backoff is engine time"
        );
        assert_eq!(
            ids(&claim(&conn, "a", 100, 400, 1_060, 10).expect("claim")),
            [1]
        );
    }

    #[test]
    fn a_bounce_suppresses_the_address_trimmed_and_lowercased() {
        let conn = outbox(1);
        let a = claim(&conn, "a", 100, 400, 0, 10).expect("claim");
        let failed = Outcome::Failed {
            error: "550 no such user".into(),
            bounced: Some(" R1@Example.JP ".into()),
        };
        assert!(record(&conn, "a", &a.messages[0], State::Sending, &failed, 0).expect("record"));
        let row: (String, String) = conn
            .query_row("SELECT address, reason FROM flow_suppressions", [], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
            .expect("suppressed");
        assert_eq!(row, ("r1@example.jp".to_string(), "bounced".to_string()));
    }

    #[test]
    fn a_stored_state_that_is_not_one_is_an_error_naming_the_row() {
        let conn = outbox(1);
        conn.execute_batch(
            "PRAGMA ignore_check_constraints = ON; UPDATE flow_outbox SET status = 'delivered';",
        )
        .expect("damage");
        let e = list(&conn, None)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(
            e.contains("flow_outbox row 1") && e.contains("delivered"),
            "{e}"
        );
    }
}
