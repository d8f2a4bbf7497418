//! What the engine asks of a database: one typed method per question or
//! write, so that the engine never sees SQL and a backend is one
//! implementation of [`Store`]. SQLite's is [`super::sqlite::Sqlite`]
//! (its SQL in this folder's modules); PostgreSQL's grows in `pg/`. The
//! conformance suite (`conformance.rs`) states what every implementation
//! must do.
//!
//! Methods take `&self`: a store is one connection, used by one engine
//! (and the engines of its rules' old versions) on one thread.

use super::approvals::{Approval, DecideError, Decided, DecidedBy, Decision, Pending};
use super::changes::Change;
use super::deleted::{DeletedRow, DroppedEvent};
use super::error::DbResult;
use super::events::{Engagement, StoredEvent};
use super::log::{Entry, Filter};
use super::outbox::NewMessage;
use super::pushdown::Plan;
use super::rows::Decoded;
use super::runs::{NewRun, RunState, Start, StoredRun, Transition, WaitingAt};
use super::state::StateError;
use super::tx::Scope;
use flowc_check::ir::{RecordDef, RecordId, Schema};
use flowc_vm::value::Value;

/// A value as the store binds it into a user's table.
pub type SqlValue = rusqlite::types::Value;

/// A prepared way to read one record's rows, made once per record by
/// [`Store::row_query`] and handed back to [`Store::load_row`]; what it
/// holds is the backend's business.
#[derive(Clone, Debug)]
pub struct RowQuery {
    pub(in crate::store) sql: String,
}

/// Everything the engine reads and writes. Each unit of work is enclosed
/// in [`Store::begin`] … [`Store::commit`] (or [`Store::rollback`]).
pub trait Store: super::delivery::Outbox {
    // The unit of work.

    fn begin(&self, scope: Scope) -> DbResult<()>;
    fn commit(&self, scope: Scope) -> DbResult<()>;
    fn rollback(&self, scope: Scope) -> DbResult<()>;
    /// At the start of a unit of work that processes due events and
    /// timers: takes the part of the work this process may do alone (on
    /// PostgreSQL, one shard no other worker holds, until the unit of work
    /// ends); [`Store::due_events`] and [`Store::due_timers`] then return
    /// only that part. SQLite has one writer at a time: all of it.
    fn claim_due(&self, _now: i64) -> DbResult<()> {
        Ok(())
    }
    /// Housekeeping for when nothing is due (SQLite: a checkpoint).
    fn when_idle(&self) -> DbResult<()>;
    /// Whether a writer whose callers wait for its commit (`flowc
    /// serve`'s requests) waits for the lock this unit of work holds: a
    /// batch then ends early, leaving the rest due for the next one.
    /// SQLite has one write lock; PostgreSQL locks rows, so never.
    fn others_wait(&self) -> bool {
        false
    }
    /// The read-only questions `flowc test` asks of this store.
    fn inspect(&self) -> &dyn super::inspection::Inspect;
    /// The read-only questions of `flowc stats`, `flowc graph --db` and
    /// the demo's summary.
    fn report(&self) -> &dyn super::report::Report;
    /// The questions and writes of `flowc serve`'s web edge.
    fn web(&self) -> &dyn super::web::Web;
    /// The questions of `flowc serve`'s admin pages.
    fn admin(&self) -> &dyn super::admin::Admin;
    /// The SQLite connection underneath, for the parts of flowc that do
    /// not go through this interface yet; `None` on other backends.
    fn sqlite(&self) -> Option<&rusqlite::Connection> {
        None
    }

    // flowc's own state: its tables, settings and clock.

    /// Creates or upgrades the state tables and installs change capture
    /// for the schema's records.
    fn prepare(&self, schema: &Schema) -> Result<(), StateError>;
    fn meta(&self, key: &str) -> DbResult<Option<String>>;
    fn set_meta(&self, key: &str, value: &str) -> DbResult<()>;
    /// The stored clock, if the engine ever ran.
    fn clock(&self) -> Result<Option<i64>, StateError>;
    /// Moves the stored clock to `t` unless it is further already; returns
    /// the clock as it then is.
    fn advance_clock(&self, t: i64) -> Result<i64, StateError>;

    // Changes captured from the user's tables.

    /// The oldest changes not yet processed, at most `limit`.
    fn next_changes(&self, limit: usize) -> Result<Vec<Change>, StateError>;
    /// Marks `batch` (from [`Store::next_changes`]) processed, in the same
    /// unit of work.
    fn changes_done(&self, batch: &[Change]) -> DbResult<()>;
    /// The newest change and event: when either moves, the unit of work
    /// wrote something that must be processed before later items.
    fn activity(&self) -> DbResult<(i64, i64)>;
    /// The earliest time after `t` at which an event, timer or schedule is due.
    fn next_due_after(&self, t: i64) -> DbResult<Option<i64>>;
    /// Runs still active on a deleted row.
    fn deleted_row_runs(&self, table: &str, row: i64) -> DbResult<Vec<i64>>;
    /// Forgets what belonged to a deleted row (after its runs ended): its
    /// runs no longer count for re-entry; its `becomes` state, list
    /// memberships, tags and locks go; its unprocessed events are marked
    /// processed and returned, for the log.
    fn forget_deleted_row(&self, row: &DeletedRow) -> DbResult<Vec<DroppedEvent>>;
    /// A `becomes` condition's last value for a row.
    fn becomes_last(&self, rule: &str, row: i64) -> DbResult<Option<bool>>;
    fn becomes_remember(&self, rule: &str, row: i64, value: bool) -> DbResult<()>;
    fn becomes_forget(&self, rule: &str, row: i64) -> DbResult<()>;

    // Events.

    /// Events due at or before `clock` (sequence, time), earliest first.
    fn due_events(&self, clock: i64, limit: usize) -> DbResult<Vec<(i64, i64)>>;
    /// An event; `Err` with a description if its stored data is unreadable.
    fn load_event(&self, seq: i64) -> DbResult<Option<Result<StoredEvent, String>>>;
    fn mark_event_processed(&self, seq: i64) -> DbResult<()>;
    fn record_event(&self, name: &str, table: &str, row: i64, data: &str, at: i64)
    -> DbResult<i64>;
    /// Whether the row had an engagement event with `template` in `window`.
    /// Whether `asked` happened in `window` (see [`events::engaged`]).
    fn engaged(&self, asked: &Engagement, run: Option<i64>, window: (i64, i64)) -> DbResult<bool>;

    // Runs.

    fn insert_run(&self, run: &NewRun, start: Start) -> DbResult<i64>;
    fn load_run(&self, id: i64) -> Result<Option<StoredRun>, StateError>;
    /// Several runs in one read; each decoded on its own.
    fn load_runs(&self, ids: &[i64]) -> DbResult<Vec<(i64, Result<StoredRun, StateError>)>>;
    /// Applies a transition at engine time `at`; whether the run was in a
    /// state it starts from (else nothing changed).
    fn apply_transition(&self, id: i64, at: i64, t: &Transition) -> DbResult<bool>;
    /// Ends many running or waiting runs alike.
    fn finish_runs(&self, ids: &[i64], state: RunState, converted: bool, at: i64) -> DbResult<()>;
    /// For re-entry: whether `rule` has an active run on the subject, and
    /// when its latest run started (runs of a deleted row with the same id
    /// do not count).
    fn entry_history(&self, table: &str, subject: i64, rule: &str)
    -> DbResult<(bool, Option<i64>)>;
    /// The subject's latest run of `rule`, if it failed with `error`:
    /// (run id, when it failed).
    fn same_failure(
        &self,
        table: &str,
        subject: i64,
        rule: &str,
        error: &str,
    ) -> DbResult<Option<(i64, i64)>>;
    /// Fails a run whose stored state cannot be read.
    fn fail_unreadable(&self, id: i64, at: i64, error: &str) -> DbResult<()>;
    fn waiting_for_event(&self, table: &str, subject: i64, name: &str) -> DbResult<Vec<i64>>;
    /// Waiting runs an open or click ends (see [`runs::waiting_for_engagement`]).
    fn waiting_for_engagement(
        &self,
        seen: &Engagement,
        message: Option<&str>,
    ) -> DbResult<Vec<i64>>;
    /// Runs of `rule` waiting on a condition (of one subject, or all).
    fn waiting_for_condition(
        &self,
        table: &str,
        subject: Option<i64>,
        rule: &str,
    ) -> DbResult<Vec<i64>>;
    /// Every waiting run of `rule` (on `subject` of `table`, or on any),
    /// whatever it waits for, by id: the runs a goal can end.
    fn waiting_runs_of(&self, table: &str, subject: Option<i64>, rule: &str) -> DbResult<Vec<i64>>;
    /// Timers due at or before `now` (run, time), earliest first.
    fn due_timers(&self, now: i64, limit: usize) -> DbResult<Vec<(i64, i64)>>;
    /// Every waiting run, with its rule, version and step.
    fn waiting_runs(&self) -> DbResult<Vec<WaitingAt>>;

    // The user's tables.

    /// How to read one record's rows (made once per record).
    fn row_query(&self, record: &RecordDef) -> RowQuery;
    fn load_row(
        &self,
        query: &RowQuery,
        schema: &Schema,
        record: RecordId,
        id: i64,
    ) -> DbResult<Option<Decoded>>;
    /// Sets one column; whether the row exists.
    fn update_field(&self, table: &str, column: &str, row: i64, value: SqlValue) -> DbResult<bool>;
    /// Users whose `role` field is `role`, with their `email` decoded.
    fn users_with_role(
        &self,
        schema: &Schema,
        table: &str,
        role: &str,
    ) -> DbResult<Vec<(i64, Result<Value, String>)>>;
    /// Ids of rows (whose `column` is the value), in id order.
    fn ids_where(
        &self,
        table: &str,
        key: Option<(&str, SqlValue)>,
        limit: Option<i64>,
    ) -> DbResult<Vec<i64>>;
    fn insert_row(&self, table: &str, columns: &[(String, SqlValue)]) -> DbResult<i64>;
    fn update_row(&self, table: &str, id: i64, columns: &[(String, SqlValue)]) -> DbResult<()>;
    fn delete_row(&self, table: &str, id: i64) -> DbResult<()>;
    /// A sweep's rows: each id, and whether the pushed-down filter already
    /// decided it (else the engine evaluates the rule's `where`).
    fn sweep_candidates(&self, table: &str, plan: &Plan) -> DbResult<Vec<(i64, bool)>>;

    // What steps do.

    fn add_list_member(&self, list: &str, row: i64, at: i64, run: i64) -> DbResult<bool>;
    fn remove_list_member(&self, list: &str, row: i64) -> DbResult<bool>;
    fn is_list_member(&self, list: &str, row: i64) -> DbResult<bool>;
    fn has_tag(&self, table: &str, row: i64, tag: &str) -> DbResult<bool>;
    fn add_tag(&self, table: &str, row: i64, tag: &str, at: i64) -> DbResult<bool>;
    fn remove_tag(&self, table: &str, row: i64, tag: &str) -> DbResult<bool>;
    fn insert_task(&self, task: &super::effects::NewTask) -> DbResult<i64>;
    fn request_approval(
        &self,
        run: i64,
        rule: &str,
        approver_table: &str,
        approver: i64,
        at: i64,
    ) -> DbResult<i64>;
    fn lock_row(&self, table: &str, row: i64, run: i64, at: i64) -> DbResult<()>;
    fn unlock_row(&self, table: &str, row: i64) -> DbResult<()>;
    /// The cascade depth and run that the capture of the next writes
    /// records (until the unit of work ends).
    fn set_capture_context(&self, depth: i64, run: Option<i64>) -> DbResult<()>;
    /// A change for a tag or list membership (no row of a user's table moved).
    fn record_synthetic_change(
        &self,
        table: &str,
        row: i64,
        added: bool,
        depth: i64,
        run: i64,
    ) -> DbResult<()>;
    /// Queues an email; false if its Message-ID is queued already.
    fn enqueue_email(&self, message: &NewMessage) -> DbResult<bool>;

    // Approvals.

    /// Decided approvals whose runs still wait.
    fn decided_approvals(&self) -> Result<Vec<Decided>, StateError>;
    /// Takes a decided approval for processing; false if another did.
    fn claim_decided_approval(&self, approval: i64) -> DbResult<bool>;
    /// Cancels a pending approval whose run ended without it (its goal
    /// was met), saying why; false if it was not pending.
    fn cancel_approval(&self, approval: i64, at: i64, note: &str) -> DbResult<bool>;
    /// Decides the pending approvals (of one subject, or all); how many.
    fn decide_pending(&self, decision: Decision, at: i64, subject: Option<i64>) -> DbResult<usize>;
    /// Approvals waiting for a decision (`flowc approvals`).
    fn pending_approvals(&self) -> DbResult<Vec<Pending>>;
    /// Decides one pending approval (`flowc approvals approve`, the
    /// approval page of `flowc serve`), recording who and their comment.
    fn decide_approval(
        &self,
        approval: i64,
        decision: Decision,
        at: i64,
        by: DecidedBy,
    ) -> DbResult<Result<(), DecideError>>;
    /// One approval with its run's subject, whatever its status.
    fn approval(&self, id: i64) -> Result<Option<Approval>, StateError>;

    // Scheduled sweeps.

    fn ensure_schedule(&self, rule: &str, next_at: i64) -> DbResult<()>;
    /// Schedules due at or before `now` (rule, time).
    fn due_schedules(&self, now: i64) -> DbResult<Vec<(String, i64)>>;
    /// When `rule`'s sweep is next due. Inside a unit of work this claims
    /// the schedule until the unit ends: `None` while another worker's
    /// unit holds it (it is running that sweep), so no sweep runs twice.
    fn schedule_next_at(&self, rule: &str) -> DbResult<Option<i64>>;
    fn set_schedule_next_at(&self, rule: &str, next_at: i64) -> DbResult<()>;

    // The audit trail and rule versions.

    fn append_log(&self, entry: &Entry) -> DbResult<()>;
    fn append_logs(&self, entries: &[Entry]) -> DbResult<()>;
    fn remember_version(&self, version: &str, rule: &str, project: &str, at: i64) -> DbResult<()>;
    /// The project text a rule version was compiled from.
    fn version_project(&self, rule: &str, version: &str) -> DbResult<Option<String>>;
    /// Keeps the snapshot of the project the engine last opened this
    /// database with (`flow_meta`), when it differs from the one kept.
    fn remember_project(&self, project: &str) -> DbResult<()>;
    /// The project snapshot the engine last opened this database with:
    /// what `flowc event` checks a payload against when given no project.
    fn last_project(&self) -> DbResult<Option<String>>;
    /// The audit lines that pass `filter`, oldest first (`flowc log`).
    fn read_log(&self, filter: &Filter) -> DbResult<Vec<Entry>>;
    /// Every rule that ever had a version (`flowc log` suggests from them).
    fn rule_names(&self) -> DbResult<Vec<String>>;
}
