//! [`Report`] on PostgreSQL: `flowc stats`'s figures, the demo's summary
//! and `flowc graph --db`'s counts, in the state schema, with the same
//! results as SQLite's (`stats.rs`, `log.rs`); and opening a database
//! flowc already ran on for the commands that inspect or settle its state,
//! without creating its tables.

use super::super::error::DbResult;
use super::super::report::{
    Report, SetCount, StepCount, TaskLine, sorted_set_counts, sorted_tasks,
};
use super::super::state::StateError;
use super::super::stats::{RuleStats, Totals};
use super::Pg;
use postgres::Client;

/// The first layout version with the engine's tables (runs, the log, the
/// outbox): an older one means the engine never ran there.
const ENGINE_VERSION: i64 = 4;

impl Pg {
    /// A store on a database whose flowc tables (in `state_schema`) exist
    /// already, for the commands that inspect (`read_only`: the session
    /// refuses every write) or settle (an approval, an unconfirmed email)
    /// the engine's state. Creates and upgrades nothing: a database flowc
    /// never ran on is [`StateError::NoState`], one a newer flowc wrote
    /// [`StateError::TooNew`].
    pub fn existing(
        mut client: Client,
        state_schema: &str,
        read_only: bool,
    ) -> Result<Pg, StateError> {
        if read_only {
            client
                .batch_execute("SET default_transaction_read_only = on")
                .map_err(super::super::DbError::from)?;
        }
        match super::state::version(&mut client, state_schema)? {
            None => return Err(StateError::NoState),
            Some(found) if found < ENGINE_VERSION => return Err(StateError::NoState),
            Some(found) if found > super::state::VERSION => {
                return Err(StateError::TooNew {
                    found,
                    known: super::state::VERSION,
                });
            }
            Some(_) => {}
        }
        Ok(Pg::new(client, state_schema))
    }
}

impl Report for Pg {
    fn rule_stats(&self) -> DbResult<Vec<RuleStats>> {
        let s = self.state();
        let rows = self.client().query(
            &format!(
                "WITH runs AS (
                   SELECT rule, count(*) AS started,
                     count(*) FILTER (WHERE status = 'waiting') AS waiting,
                     count(*) FILTER (WHERE status = 'done') AS done,
                     count(*) FILTER (WHERE status = 'failed') AS failed,
                     count(*) FILTER (WHERE status = 'rejected') AS rejected,
                     count(*) FILTER (WHERE converted) AS conversions
                   FROM {s}.flow_runs GROUP BY rule),
                 mail AS (
                   SELECT rule,
                     count(*) FILTER (WHERE status = 'sent') AS sent,
                     count(*) FILTER (WHERE status IN ('queued', 'sending', 'finalizing')) AS queued,
                     count(*) FILTER (WHERE status = 'failed') AS failed,
                     count(*) FILTER (WHERE status = 'unconfirmed') AS unconfirmed
                   FROM {s}.flow_outbox WHERE rule IS NOT NULL GROUP BY rule),
                 problems AS (
                   SELECT rule, count(*) AS problems FROM {s}.flow_log
                   WHERE action = 'problem' AND rule IS NOT NULL GROUP BY rule),
                 suppressed AS (
                   SELECT rule, count(*) AS suppressed FROM {s}.flow_log
                   WHERE action = 'suppressed' AND rule IS NOT NULL GROUP BY rule)
                 SELECT rule,
                   coalesce(runs.started, 0), coalesce(runs.waiting, 0), coalesce(runs.done, 0),
                   coalesce(runs.failed, 0), coalesce(runs.rejected, 0),
                   coalesce(mail.sent, 0), coalesce(mail.queued, 0), coalesce(mail.failed, 0),
                   coalesce(mail.unconfirmed, 0), coalesce(runs.conversions, 0),
                   coalesce(problems.problems, 0), coalesce(suppressed.suppressed, 0)
                 FROM runs FULL JOIN mail USING (rule) FULL JOIN problems USING (rule)
                   LEFT JOIN suppressed USING (rule)
                 ORDER BY rule COLLATE \"C\""
            ),
            &[],
        )?;
        rows.iter()
            .map(|r| {
                Ok(RuleStats {
                    rule: r.try_get(0)?,
                    started: r.try_get(1)?,
                    waiting: r.try_get(2)?,
                    done: r.try_get(3)?,
                    failed: r.try_get(4)?,
                    rejected: r.try_get(5)?,
                    emails_sent: r.try_get(6)?,
                    emails_queued: r.try_get(7)?,
                    emails_failed: r.try_get(8)?,
                    emails_unconfirmed: r.try_get(9)?,
                    conversions: r.try_get(10)?,
                    problems: r.try_get(11)?,
                    emails_suppressed: r.try_get(12)?,
                })
            })
            .collect()
    }

    fn totals(&self, example_template: &str) -> DbResult<Totals> {
        let s = self.state();
        let mut c = self.client();
        let runs_by_rule = c
            .query(
                &format!(
                    "SELECT rule, count(*) FROM {s}.flow_runs GROUP BY rule ORDER BY rule COLLATE \"C\""
                ),
                &[],
            )?
            .iter()
            .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
            .collect::<DbResult<Vec<(String, i64)>>>()?;
        let row = c.query_one(
            &format!(
                "SELECT
                   (SELECT count(*) FROM {s}.flow_outbox WHERE status = 'sent'),
                   (SELECT message_id FROM {s}.flow_outbox
                     WHERE template = $1::text AND status = 'sent' ORDER BY id LIMIT 1),
                   (SELECT count(*) FROM {s}.flow_tasks),
                   (SELECT count(*) FROM {s}.flow_approvals WHERE status = 'pending'),
                   (SELECT count(*) FROM {s}.flow_runs WHERE status = 'failed')"
            ),
            &[&example_template],
        )?;
        Ok(Totals {
            runs_by_rule,
            emails_sent: row.try_get(0)?,
            example_message: row.try_get(1)?,
            tasks: row.try_get(2)?,
            approvals_pending: row.try_get(3)?,
            failed_runs: row.try_get(4)?,
        })
    }

    fn step_counts(&self, rule: &str) -> DbResult<Vec<StepCount>> {
        let s = self.state();
        let mut out: std::collections::BTreeMap<String, StepCount> = Default::default();
        let mut c = self.client();
        for r in c.query(
            &format!(
                "SELECT step, count(*) FROM {s}.flow_runs
                 WHERE rule = $1::text AND status = 'waiting' GROUP BY step"
            ),
            &[&rule],
        )? {
            let step: String = r.try_get(0)?;
            out.entry(step).or_default().waiting = r.try_get(1)?;
        }
        for r in c.query(
            &format!(
                "SELECT step, count(DISTINCT run_id) FROM {s}.flow_log
                 WHERE rule = $1::text AND step <> '' AND action <> 'failed' GROUP BY step"
            ),
            &[&rule],
        )? {
            let step: String = r.try_get(0)?;
            out.entry(step).or_default().passed = r.try_get(1)?;
        }
        Ok(out
            .into_iter()
            .map(|(step, count)| StepCount { step, ..count })
            .collect())
    }

    fn set_counts(&self, rule: &str) -> DbResult<Vec<SetCount>> {
        let s = self.state();
        let mut counts = Vec::new();
        for r in self.client().query(
            &format!(
                "SELECT coalesce(step, ''), substr(detail, strpos(detail, ' = ') + 3), count(DISTINCT run_id)
                 FROM {s}.flow_log
                 WHERE rule = $1::text AND action = 'set' AND strpos(detail, ' = ') > 0
                 GROUP BY 1, 2"
            ),
            &[&rule],
        )? {
            counts.push(SetCount {
                step: r.try_get(0)?,
                value: r.try_get(1)?,
                runs: r.try_get(2)?,
            });
        }
        Ok(sorted_set_counts(counts))
    }

    fn tasks(&self, all: bool) -> DbResult<Vec<TaskLine>> {
        let s = self.state();
        let mut tasks = Vec::new();
        for r in self.client().query(
            &format!(
                "SELECT t.id, t.title, t.assignee_tbl, t.assignee_id, t.due, t.status, t.created_at,
                        t.rule, r.version, r.subject_tbl, r.subject_id
                 FROM {s}.flow_tasks t LEFT JOIN {s}.flow_runs r ON r.id = t.run_id
                 WHERE $1::boolean OR t.status = 'open'"
            ),
            &[&all],
        )? {
            tasks.push(TaskLine {
                id: r.try_get(0)?,
                title: r.try_get(1)?,
                assignee_table: r.try_get(2)?,
                assignee_id: r.try_get(3)?,
                due: r.try_get(4)?,
                status: r.try_get(5)?,
                created_at: r.try_get(6)?,
                rule: r.try_get(7)?,
                version: r.try_get(8)?,
                subject_table: r.try_get(9)?,
                subject_id: r.try_get(10)?,
            });
        }
        Ok(sorted_tasks(tasks))
    }
}
