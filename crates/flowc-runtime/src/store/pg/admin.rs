//! [`Admin`] on PostgreSQL: the admin pages' questions, in the state
//! schema, with the same results as SQLite's (`store/admin.rs`).

use super::super::admin::{
    Admin, ApprovalRow, Engagement, EventRow, History, ListRow, LogLine, MessageRow, RunRow,
    TagRow, TaskRow, Waiting, sorted_engagement, sql_limit,
};
use super::super::error::DbResult;
use super::Pg;
use postgres::Row;

const RUN_COLUMNS: &str = "id, rule, subject_tbl, subject_id, status, step, started_at, updated_at, \
     wake_at, wait_kind, wait_name, wait_tbl, wait_row, wait_clicked, wait_approval, error, converted";

fn run_row(r: &Row) -> DbResult<RunRow> {
    Ok(RunRow {
        id: r.try_get(0)?,
        rule: r.try_get(1)?,
        subject_table: r.try_get(2)?,
        subject_id: r.try_get(3)?,
        status: r.try_get(4)?,
        step: r.try_get(5)?,
        started_at: r.try_get(6)?,
        updated_at: r.try_get(7)?,
        wake_at: r.try_get(8)?,
        waiting: Waiting {
            kind: r.try_get(9)?,
            name: r.try_get(10)?,
            table: r.try_get(11)?,
            row: r.try_get(12)?,
            clicked: r.try_get(13)?,
            approval: r.try_get(14)?,
        },
        error: r.try_get(15)?,
        converted: r.try_get(16)?,
    })
}

const MESSAGE_COLUMNS: &str = "id, message_id, run_id, rule, template, kind, to_addr, subject, status, \
     attempts::bigint, created_at, sent_at, last_error, recipient_tbl, recipient_id";

fn message_row(r: &Row) -> DbResult<MessageRow> {
    Ok(MessageRow {
        id: r.try_get(0)?,
        message_id: r.try_get(1)?,
        run: r.try_get(2)?,
        rule: r.try_get(3)?,
        template: r.try_get(4)?,
        kind: r.try_get(5)?,
        to: r.try_get(6)?,
        subject: r.try_get(7)?,
        status: r.try_get(8)?,
        attempts: r.try_get(9)?,
        created_at: r.try_get(10)?,
        sent_at: r.try_get(11)?,
        last_error: r.try_get(12)?,
        recipient_table: r.try_get(13)?,
        recipient_id: r.try_get(14)?,
    })
}

const TASK_COLUMNS: &str = "t.id, t.run_id, t.rule, t.title, t.assignee_tbl, t.assignee_id, t.due, t.status, \
     t.created_at, r.subject_tbl, r.subject_id";

fn task_row(r: &Row) -> DbResult<TaskRow> {
    Ok(TaskRow {
        id: r.try_get(0)?,
        run: r.try_get(1)?,
        rule: r.try_get(2)?,
        title: r.try_get(3)?,
        assignee_table: r.try_get(4)?,
        assignee_id: r.try_get(5)?,
        due: r.try_get(6)?,
        status: r.try_get(7)?,
        created_at: r.try_get(8)?,
        subject_table: r.try_get(9)?,
        subject_id: r.try_get(10)?,
    })
}

const APPROVAL_COLUMNS: &str = "a.id, a.run_id, a.rule, a.approver_tbl, a.approver_id, a.status, \
     a.requested_at, a.decided_at, a.note, r.subject_tbl, r.subject_id, a.decided_by";

fn approval_row(r: &Row) -> DbResult<ApprovalRow> {
    Ok(ApprovalRow {
        id: r.try_get(0)?,
        run: r.try_get(1)?,
        rule: r.try_get(2)?,
        approver_table: r.try_get(3)?,
        approver_id: r.try_get(4)?,
        status: r.try_get(5)?,
        requested_at: r.try_get(6)?,
        decided_at: r.try_get(7)?,
        note: r.try_get(8)?,
        subject_table: r.try_get(9)?,
        subject_id: r.try_get(10)?,
        decided_by: r.try_get(11)?,
    })
}

impl Admin for Pg {
    fn engagement(&self) -> DbResult<Vec<Engagement>> {
        let s = self.state();
        let rows = self.client().query(
            &format!(
                "WITH seen AS (
                   SELECT name, tbl, row_id, extract(epoch FROM at)::bigint AS at,
                     CASE WHEN jsonb_typeof(data) = 'object' THEN data ->> 'message' END AS message,
                     CASE WHEN jsonb_typeof(data) = 'object' THEN data ->> 'template' END AS template
                   FROM {s}.flow_events WHERE name IN ('email_opened', 'email_clicked')),
                 matched AS (
                   SELECT s.name, CASE
                     WHEN s.message IS NOT NULL THEN
                       (SELECT o.id FROM {s}.flow_outbox o WHERE o.message_id = '<' || s.message || '>')
                     ELSE
                       (SELECT max(o.id) FROM {s}.flow_outbox o
                        WHERE o.recipient_tbl = s.tbl AND o.recipient_id = s.row_id
                          AND o.template = s.template AND o.created_at <= s.at)
                     END AS message
                   FROM seen s)
                 SELECT o.rule,
                   count(DISTINCT o.id),
                   count(DISTINCT o.id) FILTER (WHERE m.name = 'email_clicked')
                 FROM matched m JOIN {s}.flow_outbox o ON o.id = m.message
                 WHERE o.rule IS NOT NULL
                 GROUP BY o.rule"
            ),
            &[],
        )?;
        let rows = rows
            .iter()
            .map(|r| {
                Ok(Engagement {
                    rule: r.try_get(0)?,
                    opened: r.try_get(1)?,
                    clicked: r.try_get(2)?,
                })
            })
            .collect::<DbResult<Vec<_>>>()?;
        Ok(sorted_engagement(rows))
    }

    fn waiting_runs(&self, rule: &str, limit: usize) -> DbResult<Vec<RunRow>> {
        let s = self.state();
        self.client()
            .query(
                &format!(
                    "SELECT {RUN_COLUMNS} FROM {s}.flow_runs WHERE rule = $1::text AND status = 'waiting'
                     ORDER BY wake_at IS NULL, wake_at, id LIMIT $2::bigint"
                ),
                &[&rule, &sql_limit(limit)],
            )?
            .iter()
            .map(run_row)
            .collect()
    }

    fn history(&self, table: &str, id: i64, limit: usize) -> DbResult<History> {
        let s = self.state();
        let limit = sql_limit(limit);
        let subject = format!("{table} #{id}");
        let mut c = self.client();
        let runs = c
            .query(
                &format!(
                    "SELECT {RUN_COLUMNS} FROM {s}.flow_runs
                     WHERE subject_tbl = $1::text AND subject_id = $2::bigint
                     ORDER BY id DESC LIMIT $3::bigint"
                ),
                &[&table, &id, &limit],
            )?
            .iter()
            .map(run_row)
            .collect::<DbResult<Vec<_>>>()?;
        let log = c
            .query(
                &format!(
                    "SELECT id, at, run_id, rule, coalesce(step, ''), action, coalesce(detail, '')
                     FROM {s}.flow_log
                     WHERE run_id IN (SELECT id FROM {s}.flow_runs
                                      WHERE subject_tbl = $1::text AND subject_id = $2::bigint)
                        OR (run_id IS NULL AND subject = $3::text)
                     ORDER BY id DESC LIMIT $4::bigint"
                ),
                &[&table, &id, &subject, &limit],
            )?
            .iter()
            .map(|r| {
                Ok(LogLine {
                    id: r.try_get(0)?,
                    at: r.try_get(1)?,
                    run: r.try_get(2)?,
                    rule: r.try_get(3)?,
                    step: r.try_get(4)?,
                    action: r.try_get(5)?,
                    detail: r.try_get(6)?,
                })
            })
            .collect::<DbResult<Vec<_>>>()?;
        let messages = c
            .query(
                &format!(
                    "SELECT {MESSAGE_COLUMNS} FROM {s}.flow_outbox
                     WHERE run_id IN (SELECT id FROM {s}.flow_runs
                                      WHERE subject_tbl = $1::text AND subject_id = $2::bigint)
                        OR (recipient_tbl = $1::text AND recipient_id = $2::bigint)
                     ORDER BY id DESC LIMIT $3::bigint"
                ),
                &[&table, &id, &limit],
            )?
            .iter()
            .map(message_row)
            .collect::<DbResult<Vec<_>>>()?;
        let events = c
            .query(
                &format!(
                    "SELECT id, name, data::text, extract(epoch FROM at)::bigint, processed
                     FROM {s}.flow_events WHERE tbl = $1::text AND row_id = $2::bigint
                     ORDER BY id DESC LIMIT $3::bigint"
                ),
                &[&table, &id, &limit],
            )?
            .iter()
            .map(|r| {
                Ok(EventRow {
                    id: r.try_get(0)?,
                    name: r.try_get(1)?,
                    data: r.try_get(2)?,
                    at: r.try_get(3)?,
                    processed: r.try_get(4)?,
                })
            })
            .collect::<DbResult<Vec<_>>>()?;
        let tags = c
            .query(
                &format!(
                    "SELECT tag, at FROM {s}.flow_tags WHERE tbl = $1::text AND row_id = $2::bigint
                     ORDER BY tag COLLATE \"C\""
                ),
                &[&table, &id],
            )?
            .iter()
            .map(|r| {
                Ok(TagRow {
                    tag: r.try_get(0)?,
                    at: r.try_get(1)?,
                })
            })
            .collect::<DbResult<Vec<_>>>()?;
        let lists = c
            .query(
                &format!(
                    "SELECT list, added_at, run_id FROM {s}.flow_list_members WHERE row_id = $1::bigint
                     ORDER BY list COLLATE \"C\""
                ),
                &[&id],
            )?
            .iter()
            .map(|r| {
                Ok(ListRow {
                    list: r.try_get(0)?,
                    added_at: r.try_get(1)?,
                    run: r.try_get(2)?,
                })
            })
            .collect::<DbResult<Vec<_>>>()?;
        let tasks = c
            .query(
                &format!(
                    "SELECT {TASK_COLUMNS} FROM {s}.flow_tasks t LEFT JOIN {s}.flow_runs r ON r.id = t.run_id
                     WHERE (r.subject_tbl = $1::text AND r.subject_id = $2::bigint)
                        OR (t.assignee_tbl = $1::text AND t.assignee_id = $2::bigint)
                     ORDER BY t.id DESC LIMIT $3::bigint"
                ),
                &[&table, &id, &limit],
            )?
            .iter()
            .map(task_row)
            .collect::<DbResult<Vec<_>>>()?;
        let approvals = c
            .query(
                &format!(
                    "SELECT {APPROVAL_COLUMNS} FROM {s}.flow_approvals a
                     LEFT JOIN {s}.flow_runs r ON r.id = a.run_id
                     WHERE (r.subject_tbl = $1::text AND r.subject_id = $2::bigint)
                        OR (a.approver_tbl = $1::text AND a.approver_id = $2::bigint)
                     ORDER BY a.id DESC LIMIT $3::bigint"
                ),
                &[&table, &id, &limit],
            )?
            .iter()
            .map(approval_row)
            .collect::<DbResult<Vec<_>>>()?;
        Ok(History {
            runs,
            log,
            messages,
            events,
            tags,
            lists,
            tasks,
            approvals,
        })
    }

    fn approval_list(&self, limit: usize) -> DbResult<Vec<ApprovalRow>> {
        let s = self.state();
        self.client()
            .query(
                &format!(
                    "SELECT {APPROVAL_COLUMNS} FROM {s}.flow_approvals a
                     LEFT JOIN {s}.flow_runs r ON r.id = a.run_id
                     ORDER BY a.status <> 'pending', a.id DESC LIMIT $1::bigint"
                ),
                &[&sql_limit(limit)],
            )?
            .iter()
            .map(approval_row)
            .collect()
    }

    fn task_list(&self, limit: usize) -> DbResult<Vec<TaskRow>> {
        let s = self.state();
        self.client()
            .query(
                &format!(
                    "SELECT {TASK_COLUMNS} FROM {s}.flow_tasks t LEFT JOIN {s}.flow_runs r ON r.id = t.run_id
                     ORDER BY t.status <> 'open', t.id DESC LIMIT $1::bigint"
                ),
                &[&sql_limit(limit)],
            )?
            .iter()
            .map(task_row)
            .collect()
    }

    fn message_list(&self, limit: usize) -> DbResult<Vec<MessageRow>> {
        let s = self.state();
        self.client()
            .query(
                &format!(
                    "SELECT {MESSAGE_COLUMNS} FROM {s}.flow_outbox
                     ORDER BY status <> 'unconfirmed', id DESC LIMIT $1::bigint"
                ),
                &[&sql_limit(limit)],
            )?
            .iter()
            .map(message_row)
            .collect()
    }
}
