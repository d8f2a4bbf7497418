//! [`Outbox`] on SQLite: each method one of `outbox`'s and `workers`'
//! functions (where the SQL is), on the store's connection.

use super::delivery::Outbox;
use super::outbox::{
    self, Claimed, Listed, Message, OutboxError, Outcome, Pause, Resolution, State,
};
use super::sqlite::Sqlite;
use super::suppressions::{self, Reason, Suppression};
use super::workers;

impl Outbox for Sqlite {
    fn register_worker(&self, worker: &workers::Registration, now: i64) -> Result<(), OutboxError> {
        Ok(workers::register(self.connection(), worker, now)?)
    }
    fn heartbeat_worker(&self, id: &str, now: i64) -> Result<(), OutboxError> {
        Ok(workers::heartbeat(self.connection(), id, now)?)
    }
    fn live_workers(&self, now: i64) -> Result<Vec<workers::Seen>, OutboxError> {
        Ok(workers::live(self.connection(), now)?)
    }
    fn retire_worker(&self, id: &str) -> Result<(), OutboxError> {
        Ok(workers::retire(self.connection(), id)?)
    }

    fn claim_messages(
        &self,
        worker: &str,
        now: i64,
        lease_until: i64,
        clock: i64,
        limit: usize,
    ) -> Result<Claimed, OutboxError> {
        outbox::claim(self.connection(), worker, now, lease_until, clock, limit)
    }
    fn hold_messages(
        &self,
        worker: &str,
        id: i64,
        now: i64,
        lease_until: i64,
    ) -> Result<bool, OutboxError> {
        outbox::hold(self.connection(), worker, id, now, lease_until)
    }
    fn finalize_message(&self, worker: &str, id: i64) -> Result<bool, OutboxError> {
        outbox::finalize(self.connection(), worker, id)
    }
    fn release_messages(&self, worker: &str) -> Result<usize, OutboxError> {
        outbox::release(self.connection(), worker)
    }
    fn record_outcome(
        &self,
        worker: &str,
        message: &Message,
        from: State,
        outcome: &Outcome,
        clock: i64,
    ) -> Result<bool, OutboxError> {
        outbox::record(self.connection(), worker, message, from, outcome, clock)
    }

    fn delivery_paused(&self) -> Result<Option<Pause>, OutboxError> {
        outbox::paused(self.connection())
    }
    fn pause_delivery(&self, error: &str, clock: i64) -> Result<(), OutboxError> {
        outbox::pause(self.connection(), error, clock)
    }
    fn resume_delivery(&self, clock: i64) -> Result<(), OutboxError> {
        outbox::resume(self.connection(), clock)
    }

    fn list_messages(&self, state: Option<State>) -> Result<Vec<Listed>, OutboxError> {
        outbox::list(self.connection(), state)
    }
    fn find_message(&self, key: &str) -> Result<(i64, State), OutboxError> {
        outbox::find(self.connection(), key)
    }
    fn resolve_message(
        &self,
        id: i64,
        resolution: Resolution,
        clock: i64,
    ) -> Result<(), OutboxError> {
        outbox::resolve(self.connection(), id, resolution, clock)
    }

    fn suppression(&self, address: &str) -> Result<Option<Suppression>, OutboxError> {
        suppressions::find(self.connection(), address)
    }
    fn suppressions(&self) -> Result<Vec<Suppression>, OutboxError> {
        suppressions::list(self.connection())
    }
    fn suppress(
        &self,
        address: &str,
        reason: Reason,
        source: Option<&str>,
        clock: i64,
    ) -> Result<Option<Reason>, OutboxError> {
        suppressions::add(self.connection(), address, reason, source, clock)
    }
    fn unsuppress(&self, address: &str, clock: i64) -> Result<Option<Reason>, OutboxError> {
        suppressions::remove(self.connection(), address, clock)
    }
}
