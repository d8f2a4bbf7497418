//! [`Inspect`] on PostgreSQL: `flowc test`'s questions, in the state schema.

use super::super::error::DbResult;
use super::super::inspect::{RunSummary, SentEmail, Task};
use super::super::inspection::Inspect;
use super::Pg;

impl Inspect for Pg {
    fn count_tasks(&self, title: &str, assignee: i64) -> DbResult<i64> {
        let s = self.state();
        let row = self.client().query_one(
            &format!("SELECT count(*) FROM {s}.flow_tasks WHERE title = $1 AND assignee_id = $2"),
            &[&title, &assignee],
        )?;
        Ok(row.get(0))
    }
    fn tasks(&self) -> DbResult<Vec<Task>> {
        let s = self.state();
        let rows = self.client().query(
            &format!(
                "SELECT title, assignee_tbl, assignee_id, due FROM {s}.flow_tasks ORDER BY id"
            ),
            &[],
        )?;
        Ok(rows
            .iter()
            .map(|r| Task {
                title: r.get(0),
                assignee_table: r.get(1),
                assignee: r.get(2),
                due: r.get(3),
            })
            .collect())
    }
    fn count_pending_approvals(&self, subject: Option<i64>) -> DbResult<i64> {
        let s = self.state();
        let row = self.client().query_one(
            &format!(
                "SELECT count(*) FROM {s}.flow_approvals a JOIN {s}.flow_runs r ON r.id = a.run_id
                 WHERE a.status = 'pending' AND ($1::bigint IS NULL OR r.subject_id = $1)"
            ),
            &[&subject],
        )?;
        Ok(row.get(0))
    }
    fn approvals(&self) -> DbResult<Vec<String>> {
        let s = self.state();
        let rows = self.client().query(
            &format!(
                "SELECT a.rule || ' for ' || r.subject_tbl || ' #' || r.subject_id || ': ' || a.status
                 FROM {s}.flow_approvals a JOIN {s}.flow_runs r ON r.id = a.run_id ORDER BY a.id"
            ),
            &[],
        )?;
        Ok(rows.iter().map(|r| r.get(0)).collect())
    }
    fn latest_run_state(&self, rule: &str, subject: i64) -> DbResult<Option<String>> {
        let s = self.state();
        let row = self.client().query_opt(
            &format!(
                "SELECT status FROM {s}.flow_runs WHERE rule = $1 AND subject_id = $2
                 ORDER BY id DESC LIMIT 1"
            ),
            &[&rule, &subject],
        )?;
        Ok(row.map(|r| r.get(0)))
    }
    fn waiting_until(&self, rule: &str, subject: i64) -> DbResult<Option<i64>> {
        let s = self.state();
        let row = self.client().query_opt(
            &format!(
                "SELECT wake_at FROM {s}.flow_runs WHERE rule = $1 AND subject_id = $2
                 AND status = 'waiting' ORDER BY id DESC LIMIT 1"
            ),
            &[&rule, &subject],
        )?;
        Ok(row.and_then(|r| r.get(0)))
    }
    fn count_emails(&self, address: &str, template: Option<&str>) -> DbResult<i64> {
        let s = self.state();
        let row = self.client().query_one(
            &format!(
                "SELECT count(*) FROM {s}.flow_outbox
                 WHERE to_addr = $1 AND ($2::text IS NULL OR template = $2)"
            ),
            &[&address, &template],
        )?;
        Ok(row.get(0))
    }
    fn emails(&self) -> DbResult<Vec<String>> {
        let s = self.state();
        let rows = self.client().query(
            &format!(
                "SELECT coalesce(template, kind) || ' to ' || to_addr || ': ' || subject
                 FROM {s}.flow_outbox ORDER BY id"
            ),
            &[],
        )?;
        Ok(rows.iter().map(|r| r.get(0)).collect())
    }
    fn emails_to(&self, address: &str) -> DbResult<Vec<SentEmail>> {
        let s = self.state();
        let rows = self.client().query(
            &format!(
                "SELECT coalesce(template, kind), subject, body
                 FROM {s}.flow_outbox WHERE to_addr = $1 ORDER BY id"
            ),
            &[&address],
        )?;
        Ok(rows
            .iter()
            .map(|r| SentEmail {
                template: r.get(0),
                subject: r.get(1),
                body: r.get(2),
            })
            .collect())
    }
    fn tags(&self, table: &str, row: i64) -> DbResult<Vec<String>> {
        let s = self.state();
        let rows = self.client().query(
            &format!("SELECT tag FROM {s}.flow_tags WHERE tbl = $1 AND row_id = $2 ORDER BY tag"),
            &[&table, &row],
        )?;
        Ok(rows.iter().map(|r| r.get(0)).collect())
    }
    fn list_adder(&self, list: &str, row: i64) -> DbResult<Option<String>> {
        let s = self.state();
        let found = self.client().query_opt(
            &format!(
                "SELECT coalesce((SELECT rule FROM {s}.flow_runs WHERE id = m.run_id), '')
                 FROM {s}.flow_list_members m WHERE m.list = $1 AND m.row_id = $2"
            ),
            &[&list, &row],
        )?;
        Ok(found.map(|r| r.get(0)))
    }
    fn runs_of(&self, rule: &str) -> DbResult<Vec<RunSummary>> {
        let s = self.state();
        let rows = self.client().query(
            &format!(
                "SELECT subject_id, status, step, wake_at, error FROM {s}.flow_runs
                 WHERE rule = $1 ORDER BY id"
            ),
            &[&rule],
        )?;
        Ok(rows
            .iter()
            .map(|r| RunSummary {
                subject: r.get(0),
                status: r.get(1),
                step: r.get(2),
                wake_at: r.get(3),
                error: r.get(4),
            })
            .collect())
    }
}
