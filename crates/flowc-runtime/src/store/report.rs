//! What the commands that report on a database ask of it beyond the
//! engine's own questions: `flowc stats`'s figures, the demo's summary and
//! `flowc graph --db`'s counts per step. Read-only, one typed method per
//! question, answered by each backend (SQLite: `stats.rs` and `log.rs`;
//! PostgreSQL: `pg/report.rs`); a store hands it out as
//! [`super::Store::report`].

use super::error::DbResult;
use super::stats::{RuleStats, Totals};

/// How many runs of a rule wait at a step now, and how many reached it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct StepCount {
    /// The step's stable name.
    pub step: String,
    pub waiting: i64,
    /// Runs with a line in the log at the step, other than its failure:
    /// those waiting there now among them (a wait logs `waiting`).
    pub passed: i64,
}

/// How many runs of a rule wrote a value at a step that sets a field: the
/// `set` lines of the log (`TABLE #ID.FIELD = VALUE`), by the value as the
/// log shows it (`null` for null): the text after the first ` = `, which
/// ends the field's name (names have no spaces).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SetCount {
    /// The step's stable name.
    pub step: String,
    pub value: String,
    pub runs: i64,
}

/// A task a step created, with what `flowc tasks` shows beside it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TaskLine {
    pub id: i64,
    pub title: String,
    pub assignee_table: String,
    pub assignee_id: i64,
    /// As the step wrote it (`2025-04-08`).
    pub due: Option<String>,
    /// `open`, or whatever another program set (`done`).
    pub status: String,
    pub created_at: i64,
    /// The rule whose run created it, that run's rule version, and the
    /// record it ran for (none when the run is gone).
    pub rule: Option<String>,
    pub version: Option<String>,
    pub subject_table: Option<String>,
    pub subject_id: Option<i64>,
}

/// [`TaskLine`]s grouped by assignee (table, then id), each assignee's by
/// due date (those without one last), then id, whatever order the
/// database returned.
pub(crate) fn sorted_tasks(mut tasks: Vec<TaskLine>) -> Vec<TaskLine> {
    tasks.sort_by(|a, b| {
        (
            &a.assignee_table,
            a.assignee_id,
            a.due.is_none(),
            &a.due,
            a.id,
        )
            .cmp(&(
                &b.assignee_table,
                b.assignee_id,
                b.due.is_none(),
                &b.due,
                b.id,
            ))
    });
    tasks
}

pub trait Report {
    /// Per rule that has runs, emails or problems, by name (byte order):
    /// what its runs and emails did (`flowc stats`).
    fn rule_stats(&self) -> DbResult<Vec<RuleStats>>;
    /// What the whole database's runs did (the demo's summary);
    /// `example_template` picks the example email.
    fn totals(&self, example_template: &str) -> DbResult<Totals>;
    /// Per step of `rule` (by name, byte order): runs waiting there now and
    /// runs that passed it (`flowc graph --db`).
    fn step_counts(&self, rule: &str) -> DbResult<Vec<StepCount>>;
    /// Per step of `rule` that set a field and value it wrote (by step,
    /// then value, byte order): how many runs wrote it (`flowc graph
    /// --db` tells an `assign`'s branches apart by their values).
    fn set_counts(&self, rule: &str) -> DbResult<Vec<SetCount>>;
    /// Open tasks (every task with `all`), grouped by assignee as
    /// [`sorted_tasks`] orders them (`flowc tasks`).
    fn tasks(&self, all: bool) -> DbResult<Vec<TaskLine>>;
}

/// [`SetCount`]s in byte order, whatever order the database returned.
pub(crate) fn sorted_set_counts(mut counts: Vec<SetCount>) -> Vec<SetCount> {
    counts.sort_by(|a, b| (&a.step, &a.value).cmp(&(&b.step, &b.value)));
    counts
}

impl Report for super::sqlite::Sqlite {
    fn rule_stats(&self) -> DbResult<Vec<RuleStats>> {
        Ok(super::stats::per_rule(self.connection())?)
    }
    fn totals(&self, example_template: &str) -> DbResult<Totals> {
        Ok(super::stats::totals(self.connection(), example_template)?)
    }
    fn step_counts(&self, rule: &str) -> DbResult<Vec<StepCount>> {
        Ok(super::log::step_counts(self.connection(), rule)?
            .into_iter()
            .map(|(step, waiting, passed)| StepCount {
                step,
                waiting,
                passed,
            })
            .collect())
    }
    fn set_counts(&self, rule: &str) -> DbResult<Vec<SetCount>> {
        let mut statement = self.connection().prepare(
            "SELECT coalesce(step, ''), substr(detail, instr(detail, ' = ') + 3), count(DISTINCT run_id)
             FROM flow_log WHERE rule = ?1 AND action = 'set' AND instr(detail, ' = ') > 0
             GROUP BY 1, 2",
        )?;
        let counts = statement
            .query_map([rule], |r| {
                Ok(SetCount {
                    step: r.get(0)?,
                    value: r.get(1)?,
                    runs: r.get(2)?,
                })
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(sorted_set_counts(counts))
    }
    fn tasks(&self, all: bool) -> DbResult<Vec<TaskLine>> {
        let mut statement = self.connection().prepare(
            "SELECT t.id, t.title, t.assignee_tbl, t.assignee_id, t.due, t.status, t.created_at,
                    t.rule, r.version, r.subject_tbl, r.subject_id
             FROM flow_tasks t LEFT JOIN flow_runs r ON r.id = t.run_id
             WHERE ?1 OR t.status = 'open'",
        )?;
        let tasks = statement
            .query_map([all], |r| {
                Ok(TaskLine {
                    id: r.get(0)?,
                    title: r.get(1)?,
                    assignee_table: r.get(2)?,
                    assignee_id: r.get(3)?,
                    due: r.get(4)?,
                    status: r.get(5)?,
                    created_at: r.get(6)?,
                    rule: r.get(7)?,
                    version: r.get(8)?,
                    subject_table: r.get(9)?,
                    subject_id: r.get(10)?,
                })
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(sorted_tasks(tasks))
    }
}
