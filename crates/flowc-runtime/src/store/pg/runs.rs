//! `flow_runs` on PostgreSQL: the same typed operations as `store::runs`
//! (see there for what each does), in `{s}.flow_runs`.

use super::super::runs::{NewRun, RunState, Start, StoredRun, Transition, WaitingAt};
use super::super::state::StateError;
use postgres::Client;

type R<T> = Result<T, postgres::Error>;

pub fn insert(c: &mut Client, s: &str, run: &NewRun, start: Start) -> R<i64> {
    todo!()
}
pub fn load(c: &mut Client, s: &str, id: i64) -> Result<Option<StoredRun>, StateError> {
    todo!()
}
pub fn load_many(c: &mut Client, s: &str, ids: &[i64]) -> R<Vec<(i64, Result<StoredRun, StateError>)>> {
    todo!()
}
pub fn apply(c: &mut Client, s: &str, id: i64, at: i64, t: &Transition) -> R<bool> {
    todo!()
}
pub fn finish_all(c: &mut Client, s: &str, ids: &[i64], state: RunState, converted: bool, at: i64) -> R<()> {
    todo!()
}
pub fn entry_history(c: &mut Client, s: &str, table: &str, subject: i64, rule: &str) -> R<(bool, Option<i64>)> {
    todo!()
}
pub fn same_failure(c: &mut Client, s: &str, table: &str, subject: i64, rule: &str, error: &str) -> R<Option<(i64, i64)>> {
    todo!()
}
pub fn fail_unreadable(c: &mut Client, s: &str, id: i64, at: i64, error: &str) -> R<()> {
    todo!()
}
pub fn waiting_for_event(c: &mut Client, s: &str, table: &str, subject: i64, name: &str) -> R<Vec<i64>> {
    todo!()
}
pub fn waiting_for_engagement(c: &mut Client, s: &str, table: &str, row: i64, template: &str, clicked: bool) -> R<Vec<i64>> {
    todo!()
}
pub fn waiting_for_condition(c: &mut Client, s: &str, table: &str, subject: Option<i64>, rule: &str) -> R<Vec<i64>> {
    todo!()
}
pub fn due_timers(c: &mut Client, s: &str, now: i64, limit: usize) -> R<Vec<(i64, i64)>> {
    todo!()
}
pub fn waiting(c: &mut Client, s: &str) -> R<Vec<WaitingAt>> {
    todo!()
}
