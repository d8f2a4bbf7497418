//! [`Store`] on PostgreSQL: one connection, flowc's tables in the state
//! schema, the user's on the `search_path`. Each method is one of this
//! folder's operations.
//!
//! A unit of work is `BEGIN ISOLATION LEVEL REPEATABLE READ` … `COMMIT` on
//! the connection. Changes are claimed a shard at a time
//! (`changes::claim`): taken off the queue in the unit of work, so a
//! rolled-back or killed worker's changes go back.
//!
//! Why `REPEATABLE READ`: a unit of work reads rows and writes values
//! computed from them (`set contact.partner.pings = contact.partner.pings
//! + 1`), while other workers handle other records that may write the same
//! rows. Under `READ COMMITTED` the second writer would wait for the first,
//! then overwrite its value with one computed from what it read before (a
//! lost update); under `REPEATABLE READ` it fails with a serialization
//! failure instead, and the engine runs the whole unit again
//! (`Engine::transaction`), reading the new value.
//!
//! A write to a user's row (`set`, a rule's insert) is a savepoint of its
//! own: when the database refuses it (a locked row, a constraint), only
//! that write is undone, the run fails, and the unit of work goes on, as
//! on SQLite. PostgreSQL would otherwise abort the whole transaction.

use super::super::approvals::{Approval, DecideError, Decided, DecidedBy, Decision, Pending};
use super::super::backend::{RowQuery, SqlValue, Store};
use super::super::changes::Change;
use super::super::deleted::{DeletedRow, DroppedEvent};
use super::super::effects::NewTask;
use super::super::error::DbResult;
use super::super::events::{Engagement, EventData, StoredEvent};
use super::super::log::{Entry, Filter};
use super::super::outbox::NewMessage;
use super::super::pushdown::Plan;
use super::super::rows::Decoded;
use super::super::runs::{NewRun, RunState, Start, StoredRun, Transition, WaitingAt};
use super::super::state::StateError;
use super::super::tx::Scope;
use super::conn::Conn;
use super::state::schema_name;
use super::{effects, rows, runs};
use flowc_check::ir::{RecordDef, RecordId, Schema};
use flowc_vm::value::Value;
use postgres::Client;
use std::cell::{Cell, RefCell, RefMut};

/// What the current unit of work claimed of the due events and timers.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Claim {
    /// Nothing asked: everything due is visible (tools and tests).
    NotAsked,
    /// These shards, locked until the unit of work ends.
    Shards(super::due::Shards),
    /// Every shard with due work is held by another worker.
    Nothing,
}

pub struct Pg {
    client: RefCell<Conn>,
    claim: Cell<Claim>,
    /// Whether a unit of work's transaction is open.
    in_transaction: Cell<bool>,
    /// The state schema's name as written, and quoted for SQL.
    state_schema: String,
    pub(in crate::store) s: String,
}

impl Pg {
    /// A store on a connected client, flowc's tables in `state_schema`.
    pub fn new(client: Client, state_schema: &str) -> Pg {
        Pg {
            client: RefCell::new(Conn::new(client)),
            claim: Cell::new(Claim::NotAsked),
            in_transaction: Cell::new(false),
            state_schema: state_schema.to_string(),
            s: schema_name(state_schema),
        }
    }

    /// Statements run on the connection so far (each one round trip; a
    /// unit of work's `BEGIN` and `COMMIT` count), for `flowc bench`.
    pub fn statements(&self) -> u64 {
        self.client.borrow().statements
    }

    /// Units of work that wrote (transactions committed after a write:
    /// batches of changes or due items, not a look that found nothing),
    /// for `flowc bench`.
    pub fn units(&self) -> u64 {
        self.client.borrow().units
    }

    pub(in crate::store) fn c(&self) -> RefMut<'_, Conn> {
        self.client.borrow_mut()
    }

    /// The connection, for this folder's other implementations.
    pub(super) fn client(&self) -> RefMut<'_, Conn> {
        self.client.borrow_mut()
    }

    /// The state schema, quoted for SQL.
    pub(super) fn state(&self) -> &str {
        &self.s
    }

    /// Runs `sql` with no parameters and no result.
    fn batch(&self, sql: &str) -> DbResult<()> {
        Ok(self.c().batch_execute(sql)?)
    }

    /// A write to a user's table: inside a unit of work, in a savepoint of
    /// its own, so that a refused write (a locked row, a constraint, a
    /// lost race) undoes only itself and leaves the transaction usable.
    fn user_write<T>(&self, write: impl FnOnce(&mut Conn) -> DbResult<T>) -> DbResult<T> {
        if !self.in_transaction.get() {
            return write(&mut self.c());
        }
        self.batch("SAVEPOINT flow_write")?;
        let result = write(&mut self.c());
        match result {
            Ok(value) => {
                self.batch("RELEASE SAVEPOINT flow_write")?;
                Ok(value)
            }
            Err(e) => {
                // The write's error is the one to report.
                let _ =
                    self.batch("ROLLBACK TO SAVEPOINT flow_write; RELEASE SAVEPOINT flow_write");
                Err(e)
            }
        }
    }

    fn int_meta(&self, key: &str) -> Result<Option<i64>, StateError> {
        self.meta(key)?
            .map(|text| super::super::state::parse_int_meta(key, text))
            .transpose()
    }
}

/// A message for a failure outside SQL (migrations report text).
fn state_text(e: String) -> StateError {
    StateError::Corrupt {
        table: "flow_meta",
        row: "`schema_version`".into(),
        value: e,
        expected: "a state layout this flowc can use",
    }
}

impl Store for Pg {
    fn begin(&self, scope: Scope) -> DbResult<()> {
        self.claim.set(Claim::NotAsked);
        self.batch(match scope {
            Scope::Transaction => "BEGIN ISOLATION LEVEL REPEATABLE READ",
            Scope::Savepoint => "SAVEPOINT flow_step",
        })?;
        if scope == Scope::Transaction {
            self.in_transaction.set(true);
        }
        Ok(())
    }
    fn commit(&self, scope: Scope) -> DbResult<()> {
        self.claim.set(Claim::NotAsked);
        if scope == Scope::Transaction {
            self.in_transaction.set(false);
        }
        self.batch(match scope {
            Scope::Transaction => "COMMIT",
            Scope::Savepoint => "RELEASE SAVEPOINT flow_step",
        })
    }
    fn rollback(&self, scope: Scope) -> DbResult<()> {
        self.claim.set(Claim::NotAsked);
        if scope == Scope::Transaction {
            self.in_transaction.set(false);
        }
        self.batch(match scope {
            Scope::Transaction => "ROLLBACK",
            Scope::Savepoint => "ROLLBACK TO SAVEPOINT flow_step; RELEASE SAVEPOINT flow_step",
        })
    }
    fn claim_due(&self, now: i64) -> DbResult<()> {
        // The shards of the earliest due items, among those no other
        // worker holds; their locks end with the unit of work.
        let shards = super::due::claim(&mut self.c(), &self.s, now)?;
        self.claim.set(if shards.is_empty() {
            Claim::Nothing
        } else {
            Claim::Shards(shards)
        });
        Ok(())
    }
    fn when_idle(&self) -> DbResult<()> {
        Ok(())
    }
    fn inspect(&self) -> &dyn super::super::inspection::Inspect {
        self
    }
    fn report(&self) -> &dyn super::super::report::Report {
        self
    }
    fn web(&self) -> &dyn super::super::web::Web {
        self
    }
    fn admin(&self) -> &dyn super::super::admin::Admin {
        self
    }

    fn prepare(&self, schema: &Schema) -> Result<(), StateError> {
        let mut c = self.c();
        super::state::migrate(&mut c, &self.state_schema).map_err(state_text)?;
        super::capture::install(&mut c, schema, &self.state_schema).map_err(state_text)?;
        c.pending.lists(schema);
        Ok(())
    }
    fn meta(&self, key: &str) -> DbResult<Option<String>> {
        let s = &self.s;
        let row = self.c().query_opt(
            &format!("SELECT value FROM {s}.flow_meta WHERE key = $1"),
            &[&key],
        )?;
        Ok(row.map(|r| r.get(0)))
    }
    fn set_meta(&self, key: &str, value: &str) -> DbResult<()> {
        let s = &self.s;
        self.c().execute(
            &format!(
                "INSERT INTO {s}.flow_meta (key, value) VALUES ($1, $2)
                 ON CONFLICT (key) DO UPDATE SET value = excluded.value"
            ),
            &[&key, &value],
        )?;
        Ok(())
    }
    fn clock(&self) -> Result<Option<i64>, StateError> {
        self.int_meta("clock")
    }
    fn advance_clock(&self, t: i64) -> Result<i64, StateError> {
        self.clock()?; // a damaged clock is an error, not something to overwrite
        let s = &self.s;
        let stored: String = self
            .c()
            .query_one(
                &format!(
                    "INSERT INTO {s}.flow_meta (key, value) VALUES ('clock', $1)
                     ON CONFLICT (key) DO UPDATE
                       SET value = greatest({s}.flow_meta.value::bigint, excluded.value::bigint)::text
                     RETURNING value"
                ),
                &[&t.to_string()],
            )
            .map_err(super::super::DbError::from)?
            .get(0);
        super::super::state::parse_int_meta("clock", stored)
    }

    fn next_changes(&self, limit: usize) -> Result<Vec<Change>, StateError> {
        let claimed = super::changes::claim_on(&mut self.c(), &self.s, limit as i64)
            .map_err(super::super::DbError::from)?;
        Ok(claimed.map(|c| c.changes).unwrap_or_default())
    }
    fn changes_done(&self, _batch: &[Change]) -> DbResult<()> {
        // Claimed changes left the queue when they were claimed.
        Ok(())
    }
    fn activity(&self) -> DbResult<(i64, i64)> {
        Ok(super::pending::activity(&mut self.c(), &self.s)?)
    }
    fn next_due_after(&self, t: i64) -> DbResult<Option<i64>> {
        let s = &self.s;
        let row = self.c().query_one(
            &format!(
                "SELECT least(
                   (SELECT min(wake_at) FROM {s}.flow_runs WHERE status = 'waiting' AND wake_at > $1),
                   (SELECT min(next_at) FROM {s}.flow_schedule WHERE next_at > $1),
                   (SELECT floor(extract(epoch FROM min(at)))::bigint FROM {s}.flow_events
                     WHERE NOT processed AND at >= to_timestamp($1::bigint + 1)))"
            ),
            &[&t],
        )?;
        Ok(row.get(0))
    }
    fn deleted_row_runs(&self, table: &str, row: i64) -> DbResult<Vec<i64>> {
        Ok(effects::deleted_row_runs(
            &mut self.c(),
            &self.s,
            table,
            row,
        )?)
    }
    fn forget_deleted_row(&self, row: &DeletedRow) -> DbResult<Vec<DroppedEvent>> {
        Ok(effects::forget_deleted_row(&mut self.c(), &self.s, row)?)
    }
    fn becomes_last(&self, rule: &str, row: i64) -> DbResult<Option<bool>> {
        Ok(effects::becomes_last(&mut self.c(), &self.s, rule, row)?)
    }
    fn becomes_remember(&self, rule: &str, row: i64, value: bool) -> DbResult<()> {
        Ok(effects::becomes_remember(
            &mut self.c(),
            &self.s,
            rule,
            row,
            value,
        )?)
    }
    fn becomes_forget(&self, rule: &str, row: i64) -> DbResult<()> {
        Ok(effects::becomes_forget(&mut self.c(), &self.s, rule, row)?)
    }

    fn due_events(&self, clock: i64, limit: usize) -> DbResult<Vec<(i64, i64)>> {
        let shards = match self.claim.get() {
            Claim::NotAsked => None,
            Claim::Shards(shards) => Some(shards),
            Claim::Nothing => return Ok(Vec::new()),
        };
        Ok(super::due::events(
            &mut self.c(),
            &self.s,
            clock,
            limit,
            shards,
        )?)
    }
    fn load_event(&self, seq: i64) -> DbResult<Option<Result<StoredEvent, String>>> {
        let s = &self.s;
        let row = self.c().query_opt(
            &format!(
                "SELECT name, tbl, row_id, data::text, processed FROM {s}.flow_events WHERE id = $1"
            ),
            &[&seq],
        )?;
        Ok(row.map(|r| {
            let data: String = r.get(3);
            Ok(StoredEvent {
                seq,
                name: r.get(0),
                table: r.get(1),
                row_id: r.get(2),
                data: EventData::read(seq, data.as_bytes()),
                processed: r.get(4),
            })
        }))
    }
    fn mark_event_processed(&self, seq: i64) -> DbResult<()> {
        let s = &self.s;
        self.c().execute(
            &format!("UPDATE {s}.flow_events SET processed = true WHERE id = $1"),
            &[&seq],
        )?;
        Ok(())
    }
    fn record_event(
        &self,
        name: &str,
        table: &str,
        row: i64,
        data: &str,
        at: i64,
    ) -> DbResult<i64> {
        let s = &self.s;
        let row = self.c().query_one(
            &format!(
                "INSERT INTO {s}.flow_events (name, tbl, row_id, data, at)
                 VALUES ($1, $2, $3, $4::text::jsonb, to_timestamp($5::bigint)) RETURNING id"
            ),
            &[&name, &table, &row, &data, &at],
        )?;
        Ok(row.get(0))
    }
    fn engaged(
        &self,
        asked: &Engagement,
        run: Option<i64>,
        (since, until): (i64, i64),
    ) -> DbResult<bool> {
        let s = &self.s;
        let row = self.c().query_one(
            &format!(
                "SELECT EXISTS (SELECT 1 FROM {s}.flow_events e
                   WHERE e.tbl = $1 AND e.row_id = $2
                     AND (e.name = 'email_clicked' OR (NOT $4 AND e.name = 'email_opened'))
                     AND e.data ->> 'template' = $3
                     AND e.at >= to_timestamp($5::bigint) AND e.at < to_timestamp($6::bigint + 1)
                     AND ($7::bigint IS NULL
                       OR NOT EXISTS (SELECT 1 FROM {s}.flow_outbox o WHERE o.run_id = $7
                                      AND o.template = $3 AND o.recipient_tbl = $1 AND o.recipient_id = $2)
                       OR e.data ->> 'message' IS NULL
                       OR EXISTS (SELECT 1 FROM {s}.flow_outbox o WHERE o.run_id = $7
                                  AND o.message_id = '<' || (e.data ->> 'message') || '>')))"
            ),
            &[
                &asked.table,
                &asked.row,
                &asked.template,
                &asked.clicked,
                &since,
                &until,
                &run,
            ],
        )?;
        Ok(row.get(0))
    }

    fn insert_run(&self, run: &NewRun, start: Start) -> DbResult<i64> {
        Ok(runs::insert(&mut self.c(), &self.s, run, start)?)
    }
    fn load_run(&self, id: i64) -> Result<Option<StoredRun>, StateError> {
        runs::load(&mut self.c(), &self.s, id)
    }
    fn load_runs(&self, ids: &[i64]) -> DbResult<Vec<(i64, Result<StoredRun, StateError>)>> {
        Ok(runs::load_many(&mut self.c(), &self.s, ids)?)
    }
    fn apply_transition(&self, id: i64, at: i64, t: &Transition) -> DbResult<bool> {
        Ok(runs::apply(&mut self.c(), &self.s, id, at, t)?)
    }
    fn finish_runs(&self, ids: &[i64], state: RunState, converted: bool, at: i64) -> DbResult<()> {
        Ok(runs::finish_all(
            &mut self.c(),
            &self.s,
            ids,
            state,
            converted,
            at,
        )?)
    }
    fn entry_history(
        &self,
        table: &str,
        subject: i64,
        rule: &str,
    ) -> DbResult<(bool, Option<i64>)> {
        Ok(runs::entry_history(
            &mut self.c(),
            &self.s,
            table,
            subject,
            rule,
        )?)
    }
    fn same_failure(
        &self,
        table: &str,
        subject: i64,
        rule: &str,
        error: &str,
    ) -> DbResult<Option<(i64, i64)>> {
        Ok(runs::same_failure(
            &mut self.c(),
            &self.s,
            table,
            subject,
            rule,
            error,
        )?)
    }
    fn fail_unreadable(&self, id: i64, at: i64, error: &str) -> DbResult<()> {
        Ok(runs::fail_unreadable(
            &mut self.c(),
            &self.s,
            id,
            at,
            error,
        )?)
    }
    fn waiting_for_event(&self, table: &str, subject: i64, name: &str) -> DbResult<Vec<i64>> {
        Ok(runs::waiting_for_event(
            &mut self.c(),
            &self.s,
            table,
            subject,
            name,
        )?)
    }
    fn waiting_for_engagement(
        &self,
        seen: &Engagement,
        message: Option<&str>,
    ) -> DbResult<Vec<i64>> {
        Ok(runs::waiting_for_engagement(
            &mut self.c(),
            &self.s,
            seen,
            message,
        )?)
    }
    fn waiting_for_condition(
        &self,
        table: &str,
        subject: Option<i64>,
        rule: &str,
    ) -> DbResult<Vec<i64>> {
        Ok(runs::waiting_for_condition(
            &mut self.c(),
            &self.s,
            table,
            subject,
            rule,
        )?)
    }
    fn waiting_runs_of(&self, table: &str, subject: Option<i64>, rule: &str) -> DbResult<Vec<i64>> {
        Ok(runs::waiting_runs_of(
            &mut self.c(),
            &self.s,
            table,
            subject,
            rule,
        )?)
    }
    fn due_timers(&self, now: i64, limit: usize) -> DbResult<Vec<(i64, i64)>> {
        let shards = match self.claim.get() {
            Claim::NotAsked => None,
            Claim::Shards(shards) => Some(shards),
            Claim::Nothing => return Ok(Vec::new()),
        };
        Ok(super::due::timers(
            &mut self.c(),
            &self.s,
            now,
            limit,
            shards,
        )?)
    }
    fn waiting_runs(&self) -> DbResult<Vec<WaitingAt>> {
        Ok(runs::waiting(&mut self.c(), &self.s)?)
    }

    fn row_query(&self, record: &RecordDef) -> RowQuery {
        RowQuery {
            sql: rows::select_sql(record),
        }
    }
    fn load_row(
        &self,
        query: &RowQuery,
        schema: &Schema,
        record: RecordId,
        id: i64,
    ) -> DbResult<Option<Decoded>> {
        Ok(rows::load(&mut self.c(), &query.sql, schema, record, id)?)
    }
    fn update_field(&self, table: &str, column: &str, row: i64, value: SqlValue) -> DbResult<bool> {
        self.user_write(|c| Ok(rows::update_field(c, table, column, row, value)?))
    }
    fn users_with_role(
        &self,
        schema: &Schema,
        table: &str,
        role: &str,
    ) -> DbResult<Vec<(i64, Result<Value, String>)>> {
        Ok(rows::users_with_role(&mut self.c(), schema, table, role)?)
    }
    fn ids_where(
        &self,
        table: &str,
        key: Option<(&str, SqlValue)>,
        limit: Option<i64>,
    ) -> DbResult<Vec<i64>> {
        Ok(rows::ids_where(&mut self.c(), table, key, limit)?)
    }
    fn insert_row(&self, table: &str, columns: &[(String, SqlValue)]) -> DbResult<i64> {
        self.user_write(|c| Ok(rows::insert_row(c, table, columns)?))
    }
    fn update_row(&self, table: &str, id: i64, columns: &[(String, SqlValue)]) -> DbResult<()> {
        self.user_write(|c| Ok(rows::update_row(c, table, id, columns)?))
    }
    fn delete_row(&self, table: &str, id: i64) -> DbResult<()> {
        self.user_write(|c| Ok(rows::delete_row(c, table, id)?))
    }
    fn sweep_candidates(&self, table: &str, plan: &Plan) -> DbResult<Vec<(i64, bool)>> {
        Ok(rows::sweep_candidates_knowing(
            &mut self.c(),
            &self.s,
            table,
            plan,
        )?)
    }

    fn add_list_member(&self, list: &str, row: i64, at: i64, run: i64) -> DbResult<bool> {
        Ok(effects::add_list_member(
            &mut self.c(),
            &self.s,
            list,
            row,
            at,
            run,
        )?)
    }
    fn remove_list_member(&self, list: &str, row: i64) -> DbResult<bool> {
        Ok(effects::remove_list_member(
            &mut self.c(),
            &self.s,
            list,
            row,
        )?)
    }
    fn is_list_member(&self, list: &str, row: i64) -> DbResult<bool> {
        Ok(effects::is_list_member(&mut self.c(), &self.s, list, row)?)
    }
    fn has_tag(&self, table: &str, row: i64, tag: &str) -> DbResult<bool> {
        Ok(effects::has_tag(&mut self.c(), &self.s, table, row, tag)?)
    }
    fn add_tag(&self, table: &str, row: i64, tag: &str, at: i64) -> DbResult<bool> {
        Ok(effects::add_tag(
            &mut self.c(),
            &self.s,
            table,
            row,
            tag,
            at,
        )?)
    }
    fn remove_tag(&self, table: &str, row: i64, tag: &str) -> DbResult<bool> {
        Ok(effects::remove_tag(
            &mut self.c(),
            &self.s,
            table,
            row,
            tag,
        )?)
    }
    fn insert_task(&self, task: &NewTask) -> DbResult<i64> {
        Ok(effects::insert_task(&mut self.c(), &self.s, task)?)
    }
    fn request_approval(
        &self,
        run: i64,
        rule: &str,
        approver_table: &str,
        approver: i64,
        at: i64,
    ) -> DbResult<i64> {
        Ok(effects::request_approval(
            &mut self.c(),
            &self.s,
            run,
            rule,
            approver_table,
            approver,
            at,
        )?)
    }
    fn lock_row(&self, table: &str, row: i64, run: i64, at: i64) -> DbResult<()> {
        Ok(effects::lock(&mut self.c(), &self.s, table, row, run, at)?)
    }
    fn unlock_row(&self, table: &str, row: i64) -> DbResult<()> {
        Ok(effects::unlock(&mut self.c(), &self.s, table, row)?)
    }
    fn set_capture_context(&self, depth: i64, run: Option<i64>) -> DbResult<()> {
        Ok(effects::set_capture_context(
            &mut self.c(),
            &self.s,
            depth,
            run,
        )?)
    }
    fn record_synthetic_change(
        &self,
        table: &str,
        row: i64,
        added: bool,
        depth: i64,
        run: i64,
    ) -> DbResult<()> {
        Ok(effects::record_synthetic_change(
            &mut self.c(),
            &self.s,
            table,
            row,
            added,
            depth,
            run,
        )?)
    }
    fn enqueue_email(&self, message: &NewMessage) -> DbResult<bool> {
        Ok(effects::enqueue(&mut self.c(), &self.s, message)?)
    }

    fn decided_approvals(&self) -> Result<Vec<Decided>, StateError> {
        effects::decided(&mut self.c(), &self.s)
    }
    fn claim_decided_approval(&self, approval: i64) -> DbResult<bool> {
        Ok(effects::claim_decided(&mut self.c(), &self.s, approval)?)
    }
    fn cancel_approval(&self, approval: i64, at: i64, note: &str) -> DbResult<bool> {
        Ok(effects::cancel_approval(
            &mut self.c(),
            &self.s,
            approval,
            at,
            note,
        )?)
    }
    fn decide_pending(&self, decision: Decision, at: i64, subject: Option<i64>) -> DbResult<usize> {
        Ok(effects::decide_pending(
            &mut self.c(),
            &self.s,
            decision,
            at,
            subject,
        )?)
    }
    fn pending_approvals(&self) -> DbResult<Vec<Pending>> {
        Ok(effects::pending(&mut self.c(), &self.s)?)
    }
    fn decide_approval(
        &self,
        approval: i64,
        decision: Decision,
        at: i64,
        by: DecidedBy,
    ) -> DbResult<Result<(), DecideError>> {
        Ok(effects::decide(
            &mut self.c(),
            &self.s,
            approval,
            decision,
            at,
            by,
        )?)
    }
    fn approval(&self, id: i64) -> Result<Option<Approval>, StateError> {
        effects::approval(&mut self.c(), &self.s, id)
    }

    fn ensure_schedule(&self, rule: &str, next_at: i64) -> DbResult<()> {
        Ok(effects::ensure_schedule(
            &mut self.c(),
            &self.s,
            rule,
            next_at,
        )?)
    }
    fn due_schedules(&self, now: i64) -> DbResult<Vec<(String, i64)>> {
        Ok(effects::due_schedules(&mut self.c(), &self.s, now)?)
    }
    fn schedule_next_at(&self, rule: &str) -> DbResult<Option<i64>> {
        Ok(effects::schedule_next_at(&mut self.c(), &self.s, rule)?)
    }
    fn set_schedule_next_at(&self, rule: &str, next_at: i64) -> DbResult<()> {
        Ok(effects::set_schedule_next_at(
            &mut self.c(),
            &self.s,
            rule,
            next_at,
        )?)
    }

    fn append_log(&self, entry: &Entry) -> DbResult<()> {
        Ok(effects::append_log(&mut self.c(), &self.s, entry)?)
    }
    fn append_logs(&self, entries: &[Entry]) -> DbResult<()> {
        Ok(effects::append_logs(&mut self.c(), &self.s, entries)?)
    }
    fn remember_version(&self, version: &str, rule: &str, project: &str, at: i64) -> DbResult<()> {
        Ok(effects::remember_version(
            &mut self.c(),
            &self.s,
            version,
            rule,
            project,
            at,
        )?)
    }
    fn remember_project(&self, project: &str) -> DbResult<()> {
        Ok(effects::remember_project(&mut self.c(), &self.s, project)?)
    }
    fn last_project(&self) -> DbResult<Option<String>> {
        Ok(effects::last_project(&mut self.c(), &self.s)?)
    }
    fn version_project(&self, rule: &str, version: &str) -> DbResult<Option<String>> {
        Ok(effects::version_project(
            &mut self.c(),
            &self.s,
            rule,
            version,
        )?)
    }
    fn read_log(&self, filter: &Filter) -> DbResult<Vec<Entry>> {
        Ok(effects::read_log(&mut self.c(), &self.s, filter)?)
    }
    fn rule_names(&self) -> DbResult<Vec<String>> {
        Ok(effects::rule_names(&mut self.c(), &self.s)?)
    }
}
