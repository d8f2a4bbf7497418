//! [`Outbox`] on PostgreSQL: the same delivery states, transitions and
//! guards as SQLite's (`store::outbox`), for workers on several machines
//! delivering at once.
//!
//! - Claiming locks the rows it takes with `FOR UPDATE SKIP LOCKED`: a row
//!   another worker is claiming (or recording, or renewing) is skipped,
//!   never waited for, and a row that changed since the statement began
//!   is checked again against the claim's condition before it is taken.
//!   The `UPDATE` repeats the condition, so a message is claimed by one
//!   worker at a time.
//! - Every transition is guarded by the state it starts from and, for a
//!   worker's own, by `worker`: a worker whose lease expired and whose
//!   message was taken over changes nothing of it (`apply` returns false).
//! - The pause of delivery is the `delivery_paused` row of `flow_meta`,
//!   locked while it is changed; resuming deletes it, and only the worker
//!   that deleted it logs the resumption.
//!
//! Statements that belong together run in one transaction (`READ
//! COMMITTED`); these methods are never called inside a unit of work.

use super::super::delivery::Outbox;
use super::super::outbox::{
    ABANDONED, Abandoned, Claim, Claimed, Listed, Message, OutboxError, Outcome, PAUSE_KEY, Pause,
    Resolution, Result, State, Transition, describe, settle, update,
};
use super::super::state::StateError;
use super::super::suppressions::{
    CHANGES, Reason, Suppression, added_line, decode_reason, normalize, removed_line,
};
use super::super::workers::{Registration, Seen};
use super::store::Pg;
use postgres::{GenericClient, Row};

/// How long after its last heartbeat a worker's row is removed by the
/// next worker to start (as on SQLite: `store::workers`).
const FORGET_AFTER_SECONDS: i64 = 86_400;

/// The columns [`message`] reads, in its order (of `flow_outbox o`).
const MESSAGE_COLUMNS: &str = "o.id, o.message_id, o.to_addr, o.from_addr, o.reply_to, o.subject, o.body, o.attempts::bigint, o.created_at, o.html, o.list_unsubscribe";

impl Outbox for Pg {
    fn register_worker(&self, worker: &Registration, now: i64) -> Result<()> {
        let s = &self.s;
        let mut c = self.c();
        let mut tx = c.transaction()?;
        tx.execute(
            &format!("DELETE FROM {s}.flow_workers WHERE heartbeat_at < $1::bigint"),
            &[&(now - FORGET_AFTER_SECONDS)],
        )?;
        tx.execute(
            &format!(
                "INSERT INTO {s}.flow_workers (id, host, pid, started_at, heartbeat_at, lease_seconds, watching)
                 VALUES ($1::text, $2::text, $3::bigint, $4::bigint, $4::bigint, $5::bigint, $6::boolean)"
            ),
            &[
                &worker.id,
                &worker.host,
                &i64::from(worker.pid),
                &now,
                &worker.lease,
                &worker.watching,
            ],
        )?;
        tx.commit()?;
        Ok(())
    }
    fn heartbeat_worker(&self, id: &str, now: i64) -> Result<()> {
        let s = &self.s;
        self.c().execute(
            &format!("UPDATE {s}.flow_workers SET heartbeat_at = $2::bigint WHERE id = $1::text"),
            &[&id, &now],
        )?;
        Ok(())
    }
    fn live_workers(&self, now: i64) -> Result<Vec<Seen>> {
        let s = &self.s;
        let rows = self.c().query(
            &format!(
                "SELECT id, host, pid, heartbeat_at, lease_seconds FROM {s}.flow_workers
                 WHERE watching AND heartbeat_at + lease_seconds > $1::bigint
                 ORDER BY heartbeat_at DESC, id"
            ),
            &[&now],
        )?;
        Ok(rows
            .iter()
            .map(|r| Seen {
                id: r.get(0),
                host: r.get(1),
                pid: r.get(2),
                heartbeat_at: r.get(3),
                lease: r.get(4),
            })
            .collect())
    }
    fn retire_worker(&self, id: &str) -> Result<()> {
        let s = &self.s;
        self.c().execute(
            &format!("DELETE FROM {s}.flow_workers WHERE id = $1::text"),
            &[&id],
        )?;
        Ok(())
    }

    fn claim_messages(
        &self,
        worker: &str,
        now: i64,
        lease_until: i64,
        clock: i64,
        limit: usize,
    ) -> Result<Claimed> {
        let s = &self.s;
        let take = Transition::Claim {
            worker: worker.to_string(),
            lease_until,
        };
        let u = update(State::Queued, &take).ok_or_else(|| OutboxError::NotAllowed {
            id: 0,
            from: State::Queued,
            what: "claim".into(),
        })?;
        let mut c = self.c();
        let mut tx = c.transaction()?;
        let abandoned = unconfirm_abandoned(&mut tx, s, now, clock)?;
        // The condition twice: the CTE picks (and locks, skipping rows
        // other workers lock), the UPDATE checks again on the row it
        // writes. MATERIALIZED: picked once, so that LIMIT holds (a
        // subquery in the UPDATE's WHERE may be run again per row, and
        // would then pick further rows).
        let due = |o: &str| {
            format!(
                "(({o}status = 'queued' AND {o}next_attempt_at <= $5::bigint)
                  OR ({o}status = 'sending'
                      AND ({o}lease_until IS NULL OR {o}lease_until < $6::bigint)))"
            )
        };
        let (picking, writing) = (due(""), due("o."));
        let rows = tx.query(
            &format!(
                "WITH picked AS MATERIALIZED (
                   SELECT id FROM {s}.flow_outbox WHERE {picking}
                   ORDER BY id LIMIT $7::bigint FOR UPDATE SKIP LOCKED)
                 UPDATE {s}.flow_outbox o
                 SET status = $1::text, attempts = o.attempts + $2::bigint, worker = $3::text,
                     lease_until = $4::bigint
                 FROM picked
                 WHERE o.id = picked.id AND {writing}
                 RETURNING {MESSAGE_COLUMNS}"
            ),
            &[
                &u.state.as_str(),
                &u.attempts,
                &worker,
                &lease_until,
                &clock,
                &now,
                &i64::try_from(limit).unwrap_or(i64::MAX),
            ],
        )?;
        let mut messages = rows.iter().map(message).collect::<Result<Vec<_>>>()?;
        tx.commit()?;
        messages.sort_by_key(|m| m.id);
        Ok(Claimed {
            messages,
            abandoned,
        })
    }
    fn hold_messages(&self, worker: &str, id: i64, now: i64, lease_until: i64) -> Result<bool> {
        let s = &self.s;
        let mut c = self.c();
        let mut tx = c.transaction()?;
        tx.execute(
            &format!("UPDATE {s}.flow_workers SET heartbeat_at = $2::bigint WHERE id = $1::text"),
            &[&worker, &now],
        )?;
        // Every message the worker holds is renewed; it holds `id` if that
        // one is among them, still `sending`.
        let renewed = tx.query(
            &format!(
                "UPDATE {s}.flow_outbox SET lease_until = $2::bigint
                 WHERE worker = $1::text AND status IN ('sending', 'finalizing')
                 RETURNING id, status"
            ),
            &[&worker, &lease_until],
        )?;
        let mut held = false;
        for row in &renewed {
            let (renewed_id, status): (i64, String) = (row.try_get(0)?, row.try_get(1)?);
            if renewed_id == id && State::decode(&status, renewed_id)? == State::Sending {
                held = true;
            }
        }
        tx.commit()?;
        Ok(held)
    }
    fn finalize_message(&self, worker: &str, id: i64) -> Result<bool> {
        apply(
            &mut **self.c(),
            &self.s,
            id,
            State::Sending,
            Some(worker),
            &Transition::Finalize,
        )
    }
    fn release_messages(&self, worker: &str) -> Result<usize> {
        let s = &self.s;
        let mut c = self.c();
        let mut tx = c.transaction()?;
        let held = tx.query(
            &format!(
                "SELECT id FROM {s}.flow_outbox WHERE worker = $1::text AND status = 'sending'
                 ORDER BY id"
            ),
            &[&worker],
        )?;
        let mut released = 0;
        for row in &held {
            let id: i64 = row.try_get(0)?;
            if apply(
                &mut tx,
                s,
                id,
                State::Sending,
                Some(worker),
                &Transition::Release,
            )? {
                released += 1;
            }
        }
        tx.commit()?;
        Ok(released)
    }
    fn record_outcome(
        &self,
        worker: &str,
        message: &Message,
        from: State,
        outcome: &Outcome,
        clock: i64,
    ) -> Result<bool> {
        let s = &self.s;
        let (transition, action, detail) = describe(message, outcome, clock);
        let mut c = self.c();
        let mut tx = c.transaction()?;
        if !apply(&mut tx, s, message.id, from, Some(worker), &transition)? {
            return Ok(false); // the transaction rolls back: nothing changed
        }
        if matches!(outcome, Outcome::Sent) {
            sent_event(&mut tx, s, message.id, clock)?;
        }
        log(&mut tx, s, clock, message.id, action, &detail)?;
        if let Outcome::Failed {
            error,
            bounced: Some(address),
        } = outcome
        {
            let source = format!("{} answered: {error}", message.message_id);
            if add_bounce(&mut tx, s, address, clock, &source)? {
                log(
                    &mut tx,
                    s,
                    clock,
                    message.id,
                    "address suppressed",
                    &format!("{address}: bounced ({error})"),
                )?;
            }
        }
        tx.commit()?;
        Ok(true)
    }

    fn delivery_paused(&self) -> Result<Option<Pause>> {
        let s = &self.s;
        let row = self.c().query_opt(
            &format!("SELECT value FROM {s}.flow_meta WHERE key = $1::text"),
            &[&PAUSE_KEY],
        )?;
        match row {
            None => Ok(None),
            Some(row) => Pause::decode(row.try_get(0)?).map(Some),
        }
    }
    fn pause_delivery(&self, error: &str, clock: i64) -> Result<()> {
        let s = &self.s;
        let mut c = self.c();
        let mut tx = c.transaction()?;
        // Two tries: when another worker stores the first pause between
        // this one's read and its insert, the second read sees (and locks) it.
        for _ in 0..2 {
            let before = tx
                .query_opt(
                    &format!("SELECT value FROM {s}.flow_meta WHERE key = $1::text FOR UPDATE"),
                    &[&PAUSE_KEY],
                )?
                .map(|row| row.try_get(0))
                .transpose()?
                .map(Pause::decode)
                .transpose()?;
            if before.as_ref().is_some_and(|p| p.error == error) {
                return Ok(());
            }
            let since = before.as_ref().map_or(clock, |p| p.since);
            let value = serde_json::json!({ "since": since, "error": error }).to_string();
            let stored = if before.is_some() {
                tx.execute(
                    &format!("UPDATE {s}.flow_meta SET value = $2::text WHERE key = $1::text"),
                    &[&PAUSE_KEY, &value],
                )?
            } else {
                tx.execute(
                    &format!(
                        "INSERT INTO {s}.flow_meta (key, value) VALUES ($1::text, $2::text)
                         ON CONFLICT (key) DO NOTHING"
                    ),
                    &[&PAUSE_KEY, &value],
                )?
            };
            if stored == 1 {
                log_delivery(&mut tx, s, clock, "delivery paused", error)?;
                tx.commit()?;
                return Ok(());
            }
        }
        Err(OutboxError::State(StateError::Corrupt {
            table: "flow_meta",
            row: format!("`{PAUSE_KEY}`"),
            value: "a row that appeared and vanished while delivery was being paused".into(),
            expected: "a pause that stays put within a transaction",
        }))
    }
    fn resume_delivery(&self, clock: i64) -> Result<()> {
        let s = &self.s;
        let mut c = self.c();
        let mut tx = c.transaction()?;
        let deleted = tx.query_opt(
            &format!("DELETE FROM {s}.flow_meta WHERE key = $1::text RETURNING value"),
            &[&PAUSE_KEY],
        )?;
        let Some(row) = deleted else {
            return Ok(());
        };
        // A damaged pause is an error (and stays), as on SQLite.
        let p = Pause::decode(row.try_get(0)?)?;
        log_delivery(
            &mut tx,
            s,
            clock,
            "delivery resumed",
            &format!("after: {}", p.error),
        )?;
        tx.commit()?;
        Ok(())
    }

    fn list_messages(&self, state: Option<State>) -> Result<Vec<Listed>> {
        let s = &self.s;
        let rows = self.c().query(
            &format!(
                "SELECT id, status, message_id, to_addr, subject, attempts::bigint,
                        next_attempt_at, last_error
                 FROM {s}.flow_outbox WHERE $1::text IS NULL OR status = $1::text ORDER BY id"
            ),
            &[&state.map(State::as_str)],
        )?;
        let mut listed = Vec::with_capacity(rows.len());
        for r in &rows {
            let id: i64 = r.try_get(0)?;
            let status: String = r.try_get(1)?;
            listed.push(Listed {
                id,
                state: State::decode(&status, id)?,
                message_id: r.try_get(2)?,
                to: r.try_get(3)?,
                subject: r.try_get(4)?,
                attempts: r.try_get(5)?,
                next_attempt_at: r.try_get(6)?,
                last_error: r.try_get(7)?,
            });
        }
        listed.sort_by_key(|m| (m.state, m.id));
        Ok(listed)
    }
    fn find_message(&self, key: &str) -> Result<(i64, State)> {
        let s = &self.s;
        let key = key.trim();
        let bare = key.trim_start_matches('<').trim_end_matches('>');
        let found = self.c().query_opt(
            &format!(
                "SELECT id, status FROM {s}.flow_outbox
                 WHERE ($1::bigint IS NOT NULL AND id = $1::bigint)
                    OR message_id IN ($2::text, '<' || $2::text || '>')
                 ORDER BY id LIMIT 1"
            ),
            &[&key.parse::<i64>().ok(), &bare],
        )?;
        let row = found.ok_or_else(|| OutboxError::NotFound(key.to_string()))?;
        let id: i64 = row.try_get(0)?;
        let status: String = row.try_get(1)?;
        Ok((id, State::decode(&status, id)?))
    }
    fn resolve_message(&self, id: i64, resolution: Resolution, clock: i64) -> Result<()> {
        let s = &self.s;
        let mut c = self.c();
        let mut tx = c.transaction()?;
        let status: Option<String> = tx
            .query_opt(
                &format!("SELECT status FROM {s}.flow_outbox WHERE id = $1::bigint FOR UPDATE"),
                &[&id],
            )?
            .map(|row| row.try_get(0))
            .transpose()?;
        let state = match status {
            Some(status) => State::decode(&status, id)?,
            None => return Err(OutboxError::NotFound(id.to_string())),
        };
        if state != State::Unconfirmed {
            return Err(OutboxError::NotUnconfirmed { id, state });
        }
        let (transition, detail) = settle(resolution, clock);
        apply(&mut tx, s, id, state, None, &transition)?;
        if resolution == Resolution::Sent {
            sent_event(&mut tx, s, id, clock)?;
        }
        log(&mut tx, s, clock, id, "email resolved", detail)?;
        tx.commit()?;
        Ok(())
    }

    fn suppression(&self, address: &str) -> Result<Option<Suppression>> {
        let s = &self.s;
        let row = self.c().query_opt(
            &format!(
                "SELECT address, reason, at, source FROM {s}.flow_suppressions
                 WHERE address = $1::text"
            ),
            &[&normalize(address)],
        )?;
        row.as_ref().map(suppression).transpose()
    }
    fn suppressions(&self) -> Result<Vec<Suppression>> {
        let s = &self.s;
        let rows = self.c().query(
            &format!(
                "SELECT address, reason, at, source FROM {s}.flow_suppressions
                 ORDER BY address COLLATE \"C\""
            ),
            &[],
        )?;
        rows.iter().map(suppression).collect()
    }
    fn suppress(
        &self,
        address: &str,
        reason: Reason,
        source: Option<&str>,
        clock: i64,
    ) -> Result<Option<Reason>> {
        let mut c = self.c();
        let mut tx = c.transaction()?;
        let before = suppress_within(&mut tx, &self.s, address, reason, source, clock)?;
        tx.commit()?;
        Ok(before)
    }
    fn unsuppress(&self, address: &str, clock: i64) -> Result<Option<Reason>> {
        let s = &self.s;
        let address = normalize(address);
        let mut c = self.c();
        let mut tx = c.transaction()?;
        let removed = tx
            .query_opt(
                &format!(
                    "DELETE FROM {s}.flow_suppressions WHERE address = $1::text
                     RETURNING address, reason, at, source"
                ),
                &[&address],
            )?
            .as_ref()
            .map(suppression)
            .transpose()?;
        let Some(removed) = removed else {
            return Ok(None);
        };
        let (action, detail) = removed_line(&address, removed.reason);
        log_delivery(&mut tx, s, clock, action, &detail)?;
        suppressions_changed(&mut tx, s)?;
        tx.commit()?;
        Ok(Some(removed.reason))
    }
}

/// [`Outbox::suppress`] inside a transaction the caller holds (`flowc
/// serve` records an unsubscription with its event, many in one
/// transaction): the address's row is locked until it ends.
pub(super) fn suppress_within(
    c: &mut impl GenericClient,
    s: &str,
    address: &str,
    reason: Reason,
    source: Option<&str>,
    clock: i64,
) -> Result<Option<Reason>> {
    let address = normalize(address);
    let before = suppression_for_update(c, s, &address)?.map(|x| x.reason);
    if before == Some(reason) {
        return Ok(before);
    }
    c.execute(
        &format!(
            "INSERT INTO {s}.flow_suppressions AS x (address, reason, at, source)
             VALUES ($1::text, $2::text, $3::bigint, $4::text)
             ON CONFLICT (address) DO UPDATE
               SET reason = excluded.reason, at = excluded.at, source = excluded.source"
        ),
        &[&address, &reason.as_str(), &clock, &source],
    )?;
    let (action, detail) = added_line(&address, reason, before, source);
    log_delivery(c, s, clock, action, &detail)?;
    suppressions_changed(c, s)?;
    Ok(before)
}

/// Records that the suppression list changed, in the caller's transaction
/// (see [`CHANGES`]).
fn suppressions_changed(c: &mut impl GenericClient, s: &str) -> Result<()> {
    c.execute(
        &format!(
            "INSERT INTO {s}.flow_changes (shard, tbl, row_id, op, depth, run_id)
             VALUES ({s}.flow_shard($1::text, 0), $1::text, 0, 'insert', 0, 0)"
        ),
        &[&CHANGES],
    )?;
    Ok(())
}

/// The suppression of a normalized `address`, its row locked until the
/// transaction ends.
pub(super) fn suppression_for_update(
    c: &mut impl GenericClient,
    s: &str,
    address: &str,
) -> Result<Option<Suppression>> {
    c.query_opt(
        &format!(
            "SELECT address, reason, at, source FROM {s}.flow_suppressions
             WHERE address = $1::text FOR UPDATE"
        ),
        &[&address],
    )?
    .as_ref()
    .map(suppression)
    .transpose()
}

/// A `flow_suppressions` row (address, reason, at, source).
fn suppression(r: &Row) -> Result<Suppression> {
    let address: String = r.try_get(0)?;
    let reason = decode_reason(&address, r.try_get(1)?)?;
    Ok(Suppression {
        address,
        reason,
        at: r.try_get(2)?,
        source: r.try_get(3)?,
    })
}

/// Applies `transition` to message `id` if it is still in state `from`
/// (and, with `owner`, still claimed by that worker); whether it was.
fn apply(
    c: &mut impl GenericClient,
    s: &str,
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
    let (claim, worker, lease): (i64, Option<&str>, Option<i64>) = match &u.claim {
        Claim::Keep => (0, None, None),
        Claim::Set {
            worker,
            lease_until,
        } => (1, Some(worker.as_str()), Some(*lease_until)),
        Claim::Clear => (2, None, None),
    };
    let changed = c.execute(
        &format!(
            "UPDATE {s}.flow_outbox SET status = $1::text, attempts = attempts + $2::bigint,
               worker = CASE $3::bigint WHEN 0 THEN worker ELSE $4::text END,
               lease_until = CASE $3::bigint WHEN 0 THEN lease_until ELSE $5::bigint END,
               next_attempt_at = coalesce($6::bigint, next_attempt_at),
               last_error = CASE WHEN $7::boolean THEN $8::text ELSE last_error END,
               sent_at = coalesce($9::bigint, sent_at)
             WHERE id = $10::bigint AND status = $11::text
               AND ($12::text IS NULL OR worker = $12::text)"
        ),
        &[
            &u.state.as_str(),
            &u.attempts,
            &claim,
            &worker,
            &lease,
            &u.next_attempt_at,
            &u.last_error.is_some(),
            &u.last_error.flatten(),
            &u.sent_at,
            &id,
            &from.as_str(),
            &owner,
        ],
    )?;
    Ok(changed == 1)
}

/// Messages left `finalizing` under a lease that expired before `now`
/// become `unconfirmed` (logged at `clock`): the server may have them.
/// Rows another worker locks are left for later.
fn unconfirm_abandoned(
    c: &mut impl GenericClient,
    s: &str,
    now: i64,
    clock: i64,
) -> Result<Vec<Abandoned>> {
    let stuck = c.query(
        &format!(
            "SELECT id, message_id, to_addr FROM {s}.flow_outbox
             WHERE status = 'finalizing' AND (lease_until IS NULL OR lease_until < $1::bigint)
             ORDER BY id FOR UPDATE SKIP LOCKED"
        ),
        &[&now],
    )?;
    let mut abandoned = Vec::new();
    for row in &stuck {
        let (id, message_id, to): (i64, String, String) =
            (row.try_get(0)?, row.try_get(1)?, row.try_get(2)?);
        let t = Transition::Unconfirm {
            error: ABANDONED.into(),
        };
        if apply(c, s, id, State::Finalizing, None, &t)? {
            log(
                c,
                s,
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

fn message(r: &Row) -> Result<Message> {
    Ok(Message {
        id: r.try_get(0)?,
        message_id: r.try_get(1)?,
        to: r.try_get(2)?,
        from: r.try_get(3)?,
        reply_to: r.try_get(4)?,
        subject: r.try_get(5)?,
        body: r.try_get(6)?,
        attempts: r.try_get(7)?,
        date: r.try_get(8)?,
        html: r.try_get(9)?,
        list_unsubscribe: r.try_get(10)?,
    })
}

/// The `email_sent` event on the message's subject record, if it has one.
fn sent_event(c: &mut impl GenericClient, s: &str, id: i64, clock: i64) -> Result<()> {
    c.execute(
        &format!(
            "INSERT INTO {s}.flow_events (name, tbl, row_id, data, at)
             SELECT 'email_sent', subject_tbl, subject_id,
                    jsonb_build_object('template', template, 'message_id', message_id, 'to', to_addr),
                    to_timestamp($2::bigint)
             FROM {s}.flow_outbox
             WHERE id = $1::bigint AND subject_tbl IS NOT NULL AND subject_id IS NOT NULL"
        ),
        &[&id, &clock],
    )?;
    Ok(())
}

/// Appends to the audit trail, on the run that queued message `id`.
fn log(
    c: &mut impl GenericClient,
    s: &str,
    at: i64,
    id: i64,
    action: &str,
    detail: &str,
) -> Result<()> {
    c.execute(
        &format!(
            "INSERT INTO {s}.flow_log (at, run_id, rule, subject, step, action, detail)
             SELECT $1::bigint, o.run_id, coalesce(r.rule, o.rule),
                    r.subject_tbl || ' #' || r.subject_id, '', $3::text, $4::text
             FROM {s}.flow_outbox o LEFT JOIN {s}.flow_runs r ON r.id = o.run_id
             WHERE o.id = $2::bigint"
        ),
        &[&at, &id, &action, &detail],
    )?;
    Ok(())
}

/// Appends a line about delivery as a whole (not one message).
fn log_delivery(
    c: &mut impl GenericClient,
    s: &str,
    at: i64,
    action: &str,
    detail: &str,
) -> Result<()> {
    c.execute(
        &format!(
            "INSERT INTO {s}.flow_log (at, step, action, detail)
             VALUES ($1::bigint, '', $2::text, $3::text)"
        ),
        &[&at, &action, &detail],
    )?;
    Ok(())
}

/// Suppresses `address` because a server refused it, as SQLite's
/// `suppressions::add_bounce`: a bounce outranks only `unsubscribed`.
/// Whether anything changed.
fn add_bounce(
    c: &mut impl GenericClient,
    s: &str,
    address: &str,
    at: i64,
    source: &str,
) -> Result<bool> {
    let changed = c.execute(
        &format!(
            "INSERT INTO {s}.flow_suppressions AS x (address, reason, at, source)
             VALUES ($1::text, 'bounced', $2::bigint, $3::text)
             ON CONFLICT (address) DO UPDATE
               SET reason = 'bounced', at = excluded.at, source = excluded.source
               WHERE x.reason = 'unsubscribed'"
        ),
        &[&normalize(address), &at, &source],
    )?;
    if changed > 0 {
        suppressions_changed(c, s)?;
    }
    Ok(changed > 0)
}
