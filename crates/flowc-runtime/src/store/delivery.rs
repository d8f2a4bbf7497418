//! What email delivery (`mail::Courier`) and `flowc outbox` ask of a
//! database: one typed method per operation on `flow_outbox`, its
//! workers (`flow_workers`) and the pause of delivery, so that delivery
//! never sees SQL and works on every backend. Every [`super::Store`] is
//! one ([`super::Store`] requires it).
//!
//! The states and transitions are `outbox::lifecycle`'s, the same on every
//! backend; each backend guards every transition by the state it starts
//! from and, for a worker's own transitions, by the worker that holds the
//! claim, so that a worker whose lease expired can change nothing of a
//! message another worker took over. On a backend where several
//! processes deliver at once (PostgreSQL), claiming skips what another
//! worker is claiming, so that no message is claimed twice.
//!
//! Times: `now` and `lease_until` are wall-clock Unix seconds (leases
//! guard real processes); `clock` is engine time (backoff, the audit
//! trail, events).
//!
//! None of these is called inside a unit of work ([`super::Store::begin`]),
//! except [`Outbox::suppression`], a read the engine makes as a step
//! sends: each method that writes more than one row is a transaction of
//! its own.

use super::outbox::{Claimed, Listed, Message, OutboxError, Outcome, Pause, Resolution, State};
use super::suppressions::{Reason, Suppression};
use super::workers::{Registration, Seen};

/// The outbox's delivery state, as delivery and `flowc outbox` use it.
pub trait Outbox {
    // Workers.

    /// Records a worker (a random id; `host` and `pid` are for people) as
    /// started at `now`, and forgets workers silent for a day.
    fn register_worker(&self, worker: &Registration, now: i64) -> Result<(), OutboxError>;
    /// Worker `id` is alive at `now` (renewed between passes; delivery
    /// renews it with its claims, too).
    fn heartbeat_worker(&self, id: &str, now: i64) -> Result<(), OutboxError>;
    /// The watching workers (`flowc run --watch`) whose last heartbeat is
    /// younger than their lease at `now`, the latest seen first: the ones
    /// a simulation must not run beside.
    fn live_workers(&self, now: i64) -> Result<Vec<Seen>, OutboxError>;
    /// Removes worker `id` (its process exits; release its messages first).
    fn retire_worker(&self, id: &str) -> Result<(), OutboxError>;

    // Delivery.

    /// Claims up to `limit` messages for `worker` with a lease until
    /// `lease_until`: queued ones due at engine time `clock`, and `sending`
    /// ones whose lease expired before `now` (taken over; their attempt
    /// counts). First, messages left `finalizing` under a lease expired
    /// before `now` become `unconfirmed` (logged at `clock`) and are
    /// returned as abandoned. Messages come in id order.
    fn claim_messages(
        &self,
        worker: &str,
        now: i64,
        lease_until: i64,
        clock: i64,
        limit: usize,
    ) -> Result<Claimed, OutboxError>;
    /// Renews `worker`'s heartbeat and the lease on every message it holds
    /// (`sending` or `finalizing`); returns whether it still holds `id` in
    /// `sending`.
    fn hold_messages(
        &self,
        worker: &str,
        id: i64,
        now: i64,
        lease_until: i64,
    ) -> Result<bool, OutboxError>;
    /// `sending` → `finalizing` for message `id` if `worker` still holds
    /// it (just before the final `.` of DATA); whether it did.
    fn finalize_message(&self, worker: &str, id: i64) -> Result<bool, OutboxError>;
    /// Puts every message `worker` holds in `sending` back in the queue,
    /// the attempt not counted; how many.
    fn release_messages(&self, worker: &str) -> Result<usize, OutboxError>;
    /// Records how the attempt at `message` (in state `from`, held by
    /// `worker`) ended, with the `email_sent` event, the audit line and
    /// the suppression of a bounced address, all or nothing; false (and
    /// nothing recorded) when `worker` no longer held it in `from`.
    fn record_outcome(
        &self,
        worker: &str,
        message: &Message,
        from: State,
        outcome: &Outcome,
        clock: i64,
    ) -> Result<bool, OutboxError>;

    // The pause of delivery (a configuration failure: login, TLS, an
    // unreachable server).

    /// The stored pause, if delivery is paused.
    fn delivery_paused(&self) -> Result<Option<Pause>, OutboxError>;
    /// Delivery is paused by `error` (since the first pause's time),
    /// logged unless it was paused already for the same reason.
    fn pause_delivery(&self, error: &str, clock: i64) -> Result<(), OutboxError>;
    /// Delivery works again: clears the pause, logging that it resumed.
    fn resume_delivery(&self, clock: i64) -> Result<(), OutboxError>;

    // `flowc outbox`.

    /// Every message (or those in `state`), by state in lifecycle order,
    /// then by id.
    fn list_messages(&self, state: Option<State>) -> Result<Vec<Listed>, OutboxError>;
    /// The message whose id, or Message-ID (with or without angle
    /// brackets), is `key`: its id and state.
    fn find_message(&self, key: &str) -> Result<(i64, State), OutboxError>;
    /// Settles unconfirmed message `id` as a person says; refuses any other
    /// state (`OutboxError::NotUnconfirmed`).
    fn resolve_message(
        &self,
        id: i64,
        resolution: Resolution,
        clock: i64,
    ) -> Result<(), OutboxError>;

    // The suppression list (§8): addresses compared trimmed and
    // case-insensitively. A bounce suppresses through `record_outcome`.

    /// Whether (and why) `address` is suppressed. May be asked inside a
    /// unit of work (a step about to queue a message).
    fn suppression(&self, address: &str) -> Result<Option<Suppression>, OutboxError>;
    /// Every suppressed address, by address (byte order).
    fn suppressions(&self) -> Result<Vec<Suppression>, OutboxError>;
    /// Suppresses `address` for `reason` at engine time `clock`, replacing
    /// another reason, with a `flow_log` line; `source` says who (a
    /// command, a program). Returns the reason it had before, if any (the
    /// same reason: nothing changed, nothing logged).
    fn suppress(
        &self,
        address: &str,
        reason: Reason,
        source: Option<&str>,
        clock: i64,
    ) -> Result<Option<Reason>, OutboxError>;
    /// Lifts the suppression of `address`, with a `flow_log` line; the
    /// reason it had, or `None` (nothing done) when it was not suppressed.
    fn unsuppress(&self, address: &str, clock: i64) -> Result<Option<Reason>, OutboxError>;
}
