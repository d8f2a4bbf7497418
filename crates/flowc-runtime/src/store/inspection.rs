//! Read-only questions about what the engine did, for `flowc test`'s
//! expectations and its explanations of a failure: one typed method per
//! question, answered by each backend (SQLite: `inspect.rs`; PostgreSQL:
//! `pg/inspect.rs`).

use super::error::DbResult;
use super::inspect::{RunSummary, SentEmail, Task};

pub trait Inspect {
    /// How many tasks titled `title` are assigned to row `assignee`.
    fn count_tasks(&self, title: &str, assignee: i64) -> DbResult<i64>;
    /// Every task, oldest first.
    fn tasks(&self) -> DbResult<Vec<Task>>;
    /// Pending approvals (of runs on `subject`, if given).
    fn count_pending_approvals(&self, subject: Option<i64>) -> DbResult<i64>;
    /// Every approval as `rule for table #id: status`, oldest first.
    fn approvals(&self) -> DbResult<Vec<String>>;
    /// The state of the latest run of `rule` on row `subject`, as stored.
    fn latest_run_state(&self, rule: &str, subject: i64) -> DbResult<Option<String>>;
    /// When the latest waiting run of `rule` on `subject` wakes, if on a timer.
    fn waiting_until(&self, rule: &str, subject: i64) -> DbResult<Option<i64>>;
    /// How many emails went (or are queued) to `address` (of `template`).
    fn count_emails(&self, address: &str, template: Option<&str>) -> DbResult<i64>;
    /// Every email as `template to address: subject`, oldest first.
    fn emails(&self) -> DbResult<Vec<String>>;
    /// Every email that went (or is queued) to `address`, oldest first.
    fn emails_to(&self, address: &str) -> DbResult<Vec<SentEmail>>;
    /// A row's tags, by name.
    fn tags(&self, table: &str, row: i64) -> DbResult<Vec<String>>;
    /// If `row` is in `list`: the rule that added it (`""` if none did).
    fn list_adder(&self, list: &str, row: i64) -> DbResult<Option<String>>;
    /// Every run of `rule`, oldest first.
    fn runs_of(&self, rule: &str) -> DbResult<Vec<RunSummary>>;
}

impl Inspect for super::sqlite::Sqlite {
    fn count_tasks(&self, title: &str, assignee: i64) -> DbResult<i64> {
        Ok(super::inspect::count_tasks(
            self.connection(),
            title,
            assignee,
        )?)
    }
    fn tasks(&self) -> DbResult<Vec<Task>> {
        Ok(super::inspect::tasks(self.connection())?)
    }
    fn count_pending_approvals(&self, subject: Option<i64>) -> DbResult<i64> {
        Ok(super::inspect::count_pending_approvals(
            self.connection(),
            subject,
        )?)
    }
    fn approvals(&self) -> DbResult<Vec<String>> {
        Ok(super::inspect::approvals(self.connection())?)
    }
    fn latest_run_state(&self, rule: &str, subject: i64) -> DbResult<Option<String>> {
        Ok(super::inspect::latest_run_state(
            self.connection(),
            rule,
            subject,
        )?)
    }
    fn waiting_until(&self, rule: &str, subject: i64) -> DbResult<Option<i64>> {
        Ok(super::inspect::waiting_until(
            self.connection(),
            rule,
            subject,
        )?)
    }
    fn count_emails(&self, address: &str, template: Option<&str>) -> DbResult<i64> {
        Ok(super::inspect::count_emails(
            self.connection(),
            address,
            template,
        )?)
    }
    fn emails(&self) -> DbResult<Vec<String>> {
        Ok(super::inspect::emails(self.connection())?)
    }
    fn emails_to(&self, address: &str) -> DbResult<Vec<SentEmail>> {
        Ok(super::inspect::emails_to(self.connection(), address)?)
    }
    fn tags(&self, table: &str, row: i64) -> DbResult<Vec<String>> {
        Ok(super::inspect::tags(self.connection(), table, row)?)
    }
    fn list_adder(&self, list: &str, row: i64) -> DbResult<Option<String>> {
        Ok(super::inspect::list_adder(self.connection(), list, row)?)
    }
    fn runs_of(&self, rule: &str) -> DbResult<Vec<RunSummary>> {
        Ok(super::inspect::runs_of(self.connection(), rule)?)
    }
}
