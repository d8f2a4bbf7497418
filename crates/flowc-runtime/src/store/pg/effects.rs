//! What steps leave behind, on PostgreSQL: list members, tags, tasks,
//! approvals, locks, `becomes` values, sweep schedules, the audit trail,
//! rule versions, queued email, and forgetting a deleted row. The same
//! typed operations as SQLite's (`store::effects`, `approvals`, `becomes`,
//! `schedule`, `log`, `versions`, `outbox::enqueue`, `deleted`), in the
//! state schema `s`.

use super::super::approvals::{DecideError, Decided, Decision, Pending};
use super::super::deleted::{DeletedRow, DroppedEvent};
use super::super::effects::NewTask;
use super::super::log::{Entry, Filter};
use super::super::outbox::NewMessage;
use super::super::state::StateError;
use postgres::Client;

type R<T> = Result<T, postgres::Error>;

pub fn add_list_member(c: &mut Client, s: &str, list: &str, row: i64, at: i64, run: i64) -> R<bool> { todo!() }
pub fn remove_list_member(c: &mut Client, s: &str, list: &str, row: i64) -> R<bool> { todo!() }
pub fn is_list_member(c: &mut Client, s: &str, list: &str, row: i64) -> R<bool> { todo!() }
pub fn has_tag(c: &mut Client, s: &str, table: &str, row: i64, tag: &str) -> R<bool> { todo!() }
pub fn add_tag(c: &mut Client, s: &str, table: &str, row: i64, tag: &str, at: i64) -> R<bool> { todo!() }
pub fn remove_tag(c: &mut Client, s: &str, table: &str, row: i64, tag: &str) -> R<bool> { todo!() }
pub fn insert_task(c: &mut Client, s: &str, task: &NewTask) -> R<i64> { todo!() }
pub fn request_approval(c: &mut Client, s: &str, run: i64, rule: &str, approver_table: &str, approver: i64, at: i64) -> R<i64> { todo!() }
pub fn lock(c: &mut Client, s: &str, table: &str, row: i64, run: i64, at: i64) -> R<()> { todo!() }
pub fn unlock(c: &mut Client, s: &str, table: &str, row: i64) -> R<()> { todo!() }
pub fn set_capture_context(c: &mut Client, s: &str, depth: i64, run: Option<i64>) -> R<()> { todo!() }
pub fn record_synthetic_change(c: &mut Client, s: &str, table: &str, row: i64, added: bool, depth: i64, run: i64) -> R<()> { todo!() }
pub fn enqueue(c: &mut Client, s: &str, m: &NewMessage) -> R<bool> { todo!() }
pub fn decided(c: &mut Client, s: &str) -> Result<Vec<Decided>, StateError> { todo!() }
pub fn claim_decided(c: &mut Client, s: &str, approval: i64) -> R<bool> { todo!() }
pub fn decide_pending(c: &mut Client, s: &str, decision: Decision, at: i64, subject: Option<i64>) -> R<usize> { todo!() }
pub fn pending(c: &mut Client, s: &str) -> R<Vec<Pending>> { todo!() }
pub fn decide(c: &mut Client, s: &str, approval: i64, decision: Decision, at: i64, note: Option<&str>) -> R<Result<(), DecideError>> { todo!() }
pub fn becomes_last(c: &mut Client, s: &str, rule: &str, row: i64) -> R<Option<bool>> { todo!() }
pub fn becomes_remember(c: &mut Client, s: &str, rule: &str, row: i64, value: bool) -> R<()> { todo!() }
pub fn becomes_forget(c: &mut Client, s: &str, rule: &str, row: i64) -> R<()> { todo!() }
pub fn ensure_schedule(c: &mut Client, s: &str, rule: &str, next_at: i64) -> R<()> { todo!() }
pub fn due_schedules(c: &mut Client, s: &str, now: i64) -> R<Vec<(String, i64)>> { todo!() }
pub fn schedule_next_at(c: &mut Client, s: &str, rule: &str) -> R<Option<i64>> { todo!() }
pub fn set_schedule_next_at(c: &mut Client, s: &str, rule: &str, next_at: i64) -> R<()> { todo!() }
pub fn append_log(c: &mut Client, s: &str, entry: &Entry) -> R<()> { todo!() }
pub fn append_logs(c: &mut Client, s: &str, entries: &[Entry]) -> R<()> { todo!() }
pub fn read_log(c: &mut Client, s: &str, filter: &Filter) -> R<Vec<Entry>> { todo!() }
pub fn remember_version(c: &mut Client, s: &str, version: &str, rule: &str, project: &str, at: i64) -> R<()> { todo!() }
pub fn version_project(c: &mut Client, s: &str, rule: &str, version: &str) -> R<Option<String>> { todo!() }
pub fn rule_names(c: &mut Client, s: &str) -> R<Vec<String>> { todo!() }
pub fn deleted_row_runs(c: &mut Client, s: &str, table: &str, row: i64) -> R<Vec<i64>> { todo!() }
pub fn forget_deleted_row(c: &mut Client, s: &str, row: &DeletedRow) -> R<Vec<DroppedEvent>> { todo!() }
