//! [`Store`] on SQLite: one connection, each method one of this folder's
//! operations (where the SQL is).

use super::approvals::{self, DecideError, Decided, Decision, Pending};
use super::backend::{RowQuery, SqlValue, Store};
use super::changes::{self, Change};
use super::deleted::{self, DeletedRow, DroppedEvent};
use super::error::DbResult;
use super::events::{self, StoredEvent};
use super::log::{self, Entry, Filter};
use super::outbox::{self, NewMessage};
use super::pushdown::{self, Plan};
use super::rows::{self, Decoded};
use super::runs::{self, NewRun, RunState, Start, StoredRun, Transition, WaitingAt};
use super::state::{self, StateError};
use super::tx::{self, Scope};
use super::{becomes, capture, effects, schedule, versions};
use flowc_check::ir::{RecordDef, RecordId, Schema};
use flowc_vm::value::Value;
use rusqlite::Connection;

/// The `flow_meta` key of the last change processed.
const CHANGES_DONE: &str = "changes_done";

pub struct Sqlite {
    conn: Connection,
}

impl Sqlite {
    /// A store on `conn`, configured for the engine (WAL, busy timeout,
    /// room for the engine's prepared statements).
    pub fn new(conn: Connection) -> Result<Sqlite, StateError> {
        state::configure(&conn)?;
        conn.set_prepared_statement_cache_capacity(256);
        Ok(Sqlite { conn })
    }

    /// A store on a connection opened read-only ([`state::open_read_only`]),
    /// for the commands that only look: nothing is configured, so the file
    /// is never changed (not even switched to WAL). Every write fails.
    pub fn read_only(conn: Connection) -> Sqlite {
        Sqlite { conn }
    }

    pub fn connection(&self) -> &Connection {
        &self.conn
    }
}

impl Store for Sqlite {
    fn begin(&self, scope: Scope) -> DbResult<()> {
        Ok(tx::begin(&self.conn, scope)?)
    }
    fn commit(&self, scope: Scope) -> DbResult<()> {
        Ok(tx::commit(&self.conn, scope)?)
    }
    fn rollback(&self, scope: Scope) -> DbResult<()> {
        Ok(tx::rollback(&self.conn, scope)?)
    }
    fn when_idle(&self) -> DbResult<()> {
        Ok(state::checkpoint(&self.conn)?)
    }
    fn others_wait(&self) -> bool {
        tx::priority_waiting()
    }
    fn inspect(&self) -> &dyn super::inspection::Inspect {
        self
    }
    fn report(&self) -> &dyn super::report::Report {
        self
    }
    fn web(&self) -> &dyn super::web::Web {
        self
    }
    fn admin(&self) -> &dyn super::admin::Admin {
        self
    }
    fn sqlite(&self) -> Option<&Connection> {
        Some(&self.conn)
    }

    fn prepare(&self, schema: &Schema) -> Result<(), StateError> {
        state::migrate(&self.conn)?;
        capture::install(&self.conn, schema)?;
        Ok(())
    }
    fn meta(&self, key: &str) -> DbResult<Option<String>> {
        Ok(state::meta(&self.conn, key)?)
    }
    fn set_meta(&self, key: &str, value: &str) -> DbResult<()> {
        Ok(state::set_meta(&self.conn, key, value)?)
    }
    fn clock(&self) -> Result<Option<i64>, StateError> {
        state::clock(&self.conn)
    }
    fn advance_clock(&self, t: i64) -> Result<i64, StateError> {
        state::advance_clock(&self.conn, t)
    }

    fn next_changes(&self, limit: usize) -> Result<Vec<Change>, StateError> {
        let done = state::int_meta(&self.conn, CHANGES_DONE)?.unwrap_or(0);
        Ok(changes::pending(&self.conn, done, limit as i64)?)
    }
    fn changes_done(&self, batch: &[Change]) -> DbResult<()> {
        match batch.last() {
            Some(last) => Ok(state::set_meta(
                &self.conn,
                CHANGES_DONE,
                &last.seq.to_string(),
            )?),
            None => Ok(()),
        }
    }
    fn activity(&self) -> DbResult<(i64, i64)> {
        Ok(schedule::activity(&self.conn)?)
    }
    fn next_due_after(&self, t: i64) -> DbResult<Option<i64>> {
        Ok(schedule::next_due_after(&self.conn, t)?)
    }
    fn deleted_row_runs(&self, table: &str, row: i64) -> DbResult<Vec<i64>> {
        Ok(deleted::active_runs(&self.conn, table, row)?)
    }
    fn forget_deleted_row(&self, row: &DeletedRow) -> DbResult<Vec<DroppedEvent>> {
        Ok(deleted::forget(&self.conn, row)?)
    }
    fn becomes_last(&self, rule: &str, row: i64) -> DbResult<Option<bool>> {
        Ok(becomes::last(&self.conn, rule, row)?)
    }
    fn becomes_remember(&self, rule: &str, row: i64, value: bool) -> DbResult<()> {
        Ok(becomes::remember(&self.conn, rule, row, value)?)
    }
    fn becomes_forget(&self, rule: &str, row: i64) -> DbResult<()> {
        Ok(becomes::forget(&self.conn, rule, row)?)
    }

    fn due_events(&self, clock: i64, limit: usize) -> DbResult<Vec<(i64, i64)>> {
        Ok(events::due(&self.conn, clock, limit)?)
    }
    fn load_event(&self, seq: i64) -> DbResult<Option<Result<StoredEvent, String>>> {
        Ok(events::load(&self.conn, seq)?)
    }
    fn mark_event_processed(&self, seq: i64) -> DbResult<()> {
        Ok(events::mark_processed(&self.conn, seq)?)
    }
    fn record_event(
        &self,
        name: &str,
        table: &str,
        row: i64,
        data: &str,
        at: i64,
    ) -> DbResult<i64> {
        Ok(events::record(&self.conn, name, table, row, data, at)?)
    }
    fn engaged(
        &self,
        asked: &events::Engagement,
        run: Option<i64>,
        window: (i64, i64),
    ) -> DbResult<bool> {
        Ok(events::engaged(&self.conn, asked, run, window)?)
    }

    fn insert_run(&self, run: &NewRun, start: Start) -> DbResult<i64> {
        Ok(runs::insert(&self.conn, run, start)?)
    }
    fn load_run(&self, id: i64) -> Result<Option<StoredRun>, StateError> {
        runs::load(&self.conn, id)
    }
    fn load_runs(&self, ids: &[i64]) -> DbResult<Vec<(i64, Result<StoredRun, StateError>)>> {
        Ok(runs::load_many(&self.conn, ids)?)
    }
    fn apply_transition(&self, id: i64, at: i64, t: &Transition) -> DbResult<bool> {
        Ok(runs::apply(&self.conn, id, at, t)?)
    }
    fn finish_runs(&self, ids: &[i64], state: RunState, converted: bool, at: i64) -> DbResult<()> {
        Ok(runs::finish_all(&self.conn, ids, state, converted, at)?)
    }
    fn entry_history(
        &self,
        table: &str,
        subject: i64,
        rule: &str,
    ) -> DbResult<(bool, Option<i64>)> {
        Ok(runs::entry_history(&self.conn, table, subject, rule)?)
    }
    fn same_failure(
        &self,
        table: &str,
        subject: i64,
        rule: &str,
        error: &str,
    ) -> DbResult<Option<(i64, i64)>> {
        Ok(runs::same_failure(&self.conn, table, subject, rule, error)?)
    }
    fn fail_unreadable(&self, id: i64, at: i64, error: &str) -> DbResult<()> {
        Ok(runs::fail_unreadable(&self.conn, id, at, error)?)
    }
    fn waiting_for_event(&self, table: &str, subject: i64, name: &str) -> DbResult<Vec<i64>> {
        Ok(runs::waiting_for_event(&self.conn, table, subject, name)?)
    }
    fn waiting_for_engagement(
        &self,
        seen: &events::Engagement,
        message: Option<&str>,
    ) -> DbResult<Vec<i64>> {
        Ok(runs::waiting_for_engagement(&self.conn, seen, message)?)
    }
    fn waiting_for_condition(
        &self,
        table: &str,
        subject: Option<i64>,
        rule: &str,
    ) -> DbResult<Vec<i64>> {
        Ok(runs::waiting_for_condition(
            &self.conn, table, subject, rule,
        )?)
    }
    fn waiting_runs_of(&self, table: &str, subject: Option<i64>, rule: &str) -> DbResult<Vec<i64>> {
        Ok(runs::waiting_runs_of(&self.conn, table, subject, rule)?)
    }
    fn due_timers(&self, now: i64, limit: usize) -> DbResult<Vec<(i64, i64)>> {
        Ok(runs::due_timers(&self.conn, now, limit)?)
    }
    fn waiting_runs(&self) -> DbResult<Vec<WaitingAt>> {
        Ok(runs::waiting(&self.conn)?)
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
        Ok(rows::load_with(&self.conn, &query.sql, schema, record, id)?)
    }
    fn update_field(&self, table: &str, column: &str, row: i64, value: SqlValue) -> DbResult<bool> {
        Ok(rows::update_field(&self.conn, table, column, row, value)?)
    }
    fn users_with_role(
        &self,
        schema: &Schema,
        table: &str,
        role: &str,
    ) -> DbResult<Vec<(i64, Result<Value, String>)>> {
        Ok(rows::users_with_role(&self.conn, schema, table, role)?)
    }
    fn ids_where(
        &self,
        table: &str,
        key: Option<(&str, SqlValue)>,
        limit: Option<i64>,
    ) -> DbResult<Vec<i64>> {
        Ok(rows::ids_where(&self.conn, table, key, limit)?)
    }
    fn insert_row(&self, table: &str, columns: &[(String, SqlValue)]) -> DbResult<i64> {
        Ok(rows::insert_row(&self.conn, table, columns)?)
    }
    fn update_row(&self, table: &str, id: i64, columns: &[(String, SqlValue)]) -> DbResult<()> {
        Ok(rows::update_row(&self.conn, table, id, columns)?)
    }
    fn delete_row(&self, table: &str, id: i64) -> DbResult<()> {
        Ok(rows::delete_row(&self.conn, table, id)?)
    }
    fn sweep_candidates(&self, table: &str, plan: &Plan) -> DbResult<Vec<(i64, bool)>> {
        Ok(pushdown::candidates(&self.conn, table, plan)?)
    }

    fn add_list_member(&self, list: &str, row: i64, at: i64, run: i64) -> DbResult<bool> {
        Ok(effects::add_list_member(&self.conn, list, row, at, run)?)
    }
    fn remove_list_member(&self, list: &str, row: i64) -> DbResult<bool> {
        Ok(effects::remove_list_member(&self.conn, list, row)?)
    }
    fn is_list_member(&self, list: &str, row: i64) -> DbResult<bool> {
        Ok(effects::is_list_member(&self.conn, list, row)?)
    }
    fn has_tag(&self, table: &str, row: i64, tag: &str) -> DbResult<bool> {
        Ok(effects::has_tag(&self.conn, table, row, tag)?)
    }
    fn add_tag(&self, table: &str, row: i64, tag: &str, at: i64) -> DbResult<bool> {
        Ok(effects::add_tag(&self.conn, table, row, tag, at)?)
    }
    fn remove_tag(&self, table: &str, row: i64, tag: &str) -> DbResult<bool> {
        Ok(effects::remove_tag(&self.conn, table, row, tag)?)
    }
    fn insert_task(&self, task: &effects::NewTask) -> DbResult<i64> {
        Ok(effects::insert_task(&self.conn, task)?)
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
            &self.conn,
            run,
            rule,
            approver_table,
            approver,
            at,
        )?)
    }
    fn lock_row(&self, table: &str, row: i64, run: i64, at: i64) -> DbResult<()> {
        Ok(effects::lock(&self.conn, table, row, run, at)?)
    }
    fn unlock_row(&self, table: &str, row: i64) -> DbResult<()> {
        Ok(effects::unlock(&self.conn, table, row)?)
    }
    fn set_capture_context(&self, depth: i64, run: Option<i64>) -> DbResult<()> {
        Ok(effects::set_capture_context(&self.conn, depth, run)?)
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
            &self.conn, table, row, added, depth, run,
        )?)
    }
    fn enqueue_email(&self, message: &NewMessage) -> DbResult<bool> {
        Ok(outbox::enqueue(&self.conn, message)?)
    }

    fn decided_approvals(&self) -> Result<Vec<Decided>, StateError> {
        approvals::decided(&self.conn)
    }
    fn claim_decided_approval(&self, approval: i64) -> DbResult<bool> {
        Ok(approvals::claim_decided(&self.conn, approval)?)
    }
    fn cancel_approval(&self, approval: i64, at: i64, note: &str) -> DbResult<bool> {
        Ok(approvals::cancel(&self.conn, approval, at, note)?)
    }
    fn decide_pending(&self, decision: Decision, at: i64, subject: Option<i64>) -> DbResult<usize> {
        Ok(approvals::decide_pending(
            &self.conn, decision, at, subject,
        )?)
    }

    fn pending_approvals(&self) -> DbResult<Vec<Pending>> {
        Ok(approvals::pending(&self.conn)?)
    }
    fn decide_approval(
        &self,
        approval: i64,
        decision: Decision,
        at: i64,
        by: approvals::DecidedBy,
    ) -> DbResult<Result<(), DecideError>> {
        Ok(approvals::decide(&self.conn, approval, decision, at, by)?)
    }
    fn approval(&self, id: i64) -> Result<Option<approvals::Approval>, StateError> {
        approvals::approval(&self.conn, id)
    }

    fn ensure_schedule(&self, rule: &str, next_at: i64) -> DbResult<()> {
        Ok(schedule::ensure(&self.conn, rule, next_at)?)
    }
    fn due_schedules(&self, now: i64) -> DbResult<Vec<(String, i64)>> {
        Ok(schedule::due(&self.conn, now)?)
    }
    fn schedule_next_at(&self, rule: &str) -> DbResult<Option<i64>> {
        Ok(schedule::next_at(&self.conn, rule)?)
    }
    fn set_schedule_next_at(&self, rule: &str, next_at: i64) -> DbResult<()> {
        Ok(schedule::set_next_at(&self.conn, rule, next_at)?)
    }

    fn append_log(&self, entry: &Entry) -> DbResult<()> {
        Ok(log::append(&self.conn, entry)?)
    }
    fn append_logs(&self, entries: &[Entry]) -> DbResult<()> {
        Ok(log::append_all(&self.conn, entries)?)
    }
    fn remember_version(&self, version: &str, rule: &str, project: &str, at: i64) -> DbResult<()> {
        Ok(versions::remember(&self.conn, version, rule, project, at)?)
    }
    fn version_project(&self, rule: &str, version: &str) -> DbResult<Option<String>> {
        Ok(versions::project(&self.conn, rule, version)?)
    }
    fn remember_project(&self, project: &str) -> DbResult<()> {
        Ok(versions::remember_project(&self.conn, project)?)
    }
    fn last_project(&self) -> DbResult<Option<String>> {
        Ok(versions::last_project(&self.conn)?)
    }
    fn read_log(&self, filter: &Filter) -> DbResult<Vec<Entry>> {
        Ok(log::read(&self.conn, filter)?)
    }
    fn rule_names(&self) -> DbResult<Vec<String>> {
        Ok(versions::rule_names(&self.conn)?)
    }
}
