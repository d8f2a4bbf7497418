//! What `flowc serve`'s admin pages and API (DESIGN.md §9) ask of a
//! database beyond [`super::Report`] and the outbox's operations: opens and
//! clicks per rule, the runs waiting in a rule, everything flowc did with
//! one record, and the approvals, tasks and messages to list. Read-only,
//! one typed method per question, answered by each backend (SQLite here,
//! PostgreSQL in `pg/admin.rs`); a store hands it out as
//! [`super::Store::admin`]. Times are engine time (Unix seconds).

use super::error::DbResult;
use rusqlite::{Connection, params};
use serde::Serialize;

/// Opens and clicks of one rule's messages.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Engagement {
    pub rule: String,
    /// Messages with an `email_opened` or `email_clicked` event (a click
    /// counts as an open).
    pub opened: i64,
    /// Messages with an `email_clicked` event.
    pub clicked: i64,
}

/// What a waiting run waits for (`flow_runs.wait_*`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Waiting {
    /// `time`, `until`, `unless`, `event`, `engagement` or `approval`.
    pub kind: Option<String>,
    /// The event's name, or the template whose open or click ends it.
    pub name: Option<String>,
    /// The record whose open or click ends it.
    pub table: Option<String>,
    pub row: Option<i64>,
    /// A click (not only an open) ends it.
    pub clicked: Option<bool>,
    /// The approval it waits for.
    pub approval: Option<i64>,
}

/// A run as the admin pages show it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RunRow {
    pub id: i64,
    pub rule: String,
    pub subject_table: String,
    pub subject_id: i64,
    /// `running`, `waiting`, `done`, `failed` or `rejected`.
    pub status: String,
    /// The step's stable name.
    pub step: String,
    pub started_at: i64,
    pub updated_at: i64,
    /// When it wakes, if on a timer.
    pub wake_at: Option<i64>,
    pub waiting: Waiting,
    pub error: Option<String>,
    pub converted: bool,
}

/// A line of the audit trail.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct LogLine {
    pub id: i64,
    pub at: i64,
    pub run: Option<i64>,
    pub rule: Option<String>,
    pub step: String,
    pub action: String,
    pub detail: String,
}

/// A message of the outbox.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct MessageRow {
    pub id: i64,
    pub message_id: String,
    pub run: Option<i64>,
    pub rule: Option<String>,
    pub template: Option<String>,
    /// `email` or `notify`.
    pub kind: String,
    pub to: String,
    pub subject: String,
    /// The outbox state (`queued`, …, `unconfirmed`, `failed`).
    pub status: String,
    pub attempts: i64,
    pub created_at: i64,
    pub sent_at: Option<i64>,
    pub last_error: Option<String>,
    /// The record it went to.
    pub recipient_table: Option<String>,
    pub recipient_id: Option<i64>,
}

/// An event recorded on a record.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct EventRow {
    pub id: i64,
    pub name: String,
    /// A JSON object, as stored.
    pub data: String,
    pub at: i64,
    pub processed: bool,
}

/// A tag on a record.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct TagRow {
    pub tag: String,
    pub at: i64,
}

/// A list membership of a row id (lists hold ids of one record each: the
/// caller keeps the lists of the record asked about).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ListRow {
    pub list: String,
    pub added_at: i64,
    pub run: Option<i64>,
}

/// A task a step created.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct TaskRow {
    pub id: i64,
    pub run: Option<i64>,
    pub rule: Option<String>,
    pub title: String,
    pub assignee_table: String,
    pub assignee_id: i64,
    pub due: Option<String>,
    pub status: String,
    pub created_at: i64,
    /// The record the run that created it ran for.
    pub subject_table: Option<String>,
    pub subject_id: Option<i64>,
}

/// An approval a step asked for.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ApprovalRow {
    pub id: i64,
    pub run: i64,
    pub rule: String,
    pub approver_table: String,
    pub approver_id: i64,
    /// `pending`, `approved`, `rejected` or `cancelled`.
    pub status: String,
    pub requested_at: i64,
    pub decided_at: Option<i64>,
    /// Who decided (the approver's name and address from the approval
    /// page, `flowc approvals`).
    pub decided_by: Option<String>,
    pub note: Option<String>,
    /// The record its run is for.
    pub subject_table: Option<String>,
    pub subject_id: Option<i64>,
}

/// Everything flowc did with one record, newest first in each part, at
/// most the limit asked for in each.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct History {
    /// Runs for it.
    pub runs: Vec<RunRow>,
    /// The lines of its runs, and lines naming it outside a run.
    pub log: Vec<LogLine>,
    /// Messages its runs queued, or that went to it.
    pub messages: Vec<MessageRow>,
    pub events: Vec<EventRow>,
    pub tags: Vec<TagRow>,
    pub lists: Vec<ListRow>,
    /// Tasks its runs created, or assigned to it.
    pub tasks: Vec<TaskRow>,
    /// Approvals its runs asked for, or asked of it.
    pub approvals: Vec<ApprovalRow>,
}

pub trait Admin {
    /// Per rule whose messages were opened or clicked, by name (byte
    /// order): how many of its messages were. An event names its message
    /// (`data.message`, the Message-ID without angle brackets, as `flowc
    /// serve` records it); one that does not (`flowc event email_opened
    /// --data '{"template": …}'`) counts for the latest message of its
    /// template that went to its record before it.
    fn engagement(&self) -> DbResult<Vec<Engagement>>;
    /// Runs of `rule` waiting now, those waking first first (then by id),
    /// at most `limit`.
    fn waiting_runs(&self, rule: &str, limit: usize) -> DbResult<Vec<RunRow>>;
    /// Everything flowc did with row `id` of `table`.
    fn history(&self, table: &str, id: i64, limit: usize) -> DbResult<History>;
    /// Approvals, pending ones first, then newest first; at most `limit`.
    fn approval_list(&self, limit: usize) -> DbResult<Vec<ApprovalRow>>;
    /// Tasks, open ones first, then newest first; at most `limit`.
    fn task_list(&self, limit: usize) -> DbResult<Vec<TaskRow>>;
    /// Messages, unconfirmed ones first (a person must settle them), then
    /// newest first; at most `limit`.
    fn message_list(&self, limit: usize) -> DbResult<Vec<MessageRow>>;
}

/// `limit` as SQL binds it.
pub(in crate::store) fn sql_limit(limit: usize) -> i64 {
    i64::try_from(limit).unwrap_or(i64::MAX)
}

/// [`Engagement`]s by rule name (byte order), whatever order the database
/// returned.
pub(in crate::store) fn sorted_engagement(mut rows: Vec<Engagement>) -> Vec<Engagement> {
    rows.sort_by(|a, b| a.rule.cmp(&b.rule));
    rows
}

const RUN_COLUMNS: &str = "id, rule, subject_tbl, subject_id, status, step, started_at, updated_at, \
     wake_at, wait_kind, wait_name, wait_tbl, wait_row, wait_clicked, wait_approval, error, converted";

fn run_row(r: &rusqlite::Row) -> rusqlite::Result<RunRow> {
    Ok(RunRow {
        id: r.get(0)?,
        rule: r.get(1)?,
        subject_table: r.get(2)?,
        subject_id: r.get(3)?,
        status: r.get(4)?,
        step: r.get(5)?,
        started_at: r.get(6)?,
        updated_at: r.get(7)?,
        wake_at: r.get(8)?,
        waiting: Waiting {
            kind: r.get(9)?,
            name: r.get(10)?,
            table: r.get(11)?,
            row: r.get(12)?,
            clicked: r.get::<_, Option<i64>>(13)?.map(|c| c != 0),
            approval: r.get(14)?,
        },
        error: r.get(15)?,
        converted: r.get::<_, i64>(16)? != 0,
    })
}

const MESSAGE_COLUMNS: &str = "id, message_id, run_id, rule, template, kind, to_addr, subject, status, \
     attempts, created_at, sent_at, last_error, recipient_tbl, recipient_id";

fn message_row(r: &rusqlite::Row) -> rusqlite::Result<MessageRow> {
    Ok(MessageRow {
        id: r.get(0)?,
        message_id: r.get(1)?,
        run: r.get(2)?,
        rule: r.get(3)?,
        template: r.get(4)?,
        kind: r.get(5)?,
        to: r.get(6)?,
        subject: r.get(7)?,
        status: r.get(8)?,
        attempts: r.get(9)?,
        created_at: r.get(10)?,
        sent_at: r.get(11)?,
        last_error: r.get(12)?,
        recipient_table: r.get(13)?,
        recipient_id: r.get(14)?,
    })
}

const TASK_COLUMNS: &str = "t.id, t.run_id, t.rule, t.title, t.assignee_tbl, t.assignee_id, t.due, t.status, \
     t.created_at, r.subject_tbl, r.subject_id";

fn task_row(r: &rusqlite::Row) -> rusqlite::Result<TaskRow> {
    Ok(TaskRow {
        id: r.get(0)?,
        run: r.get(1)?,
        rule: r.get(2)?,
        title: r.get(3)?,
        assignee_table: r.get(4)?,
        assignee_id: r.get(5)?,
        due: r.get(6)?,
        status: r.get(7)?,
        created_at: r.get(8)?,
        subject_table: r.get(9)?,
        subject_id: r.get(10)?,
    })
}

const APPROVAL_COLUMNS: &str = "a.id, a.run_id, a.rule, a.approver_tbl, a.approver_id, a.status, \
     a.requested_at, a.decided_at, a.note, r.subject_tbl, r.subject_id, a.decided_by";

fn approval_row(r: &rusqlite::Row) -> rusqlite::Result<ApprovalRow> {
    Ok(ApprovalRow {
        id: r.get(0)?,
        run: r.get(1)?,
        rule: r.get(2)?,
        approver_table: r.get(3)?,
        approver_id: r.get(4)?,
        status: r.get(5)?,
        requested_at: r.get(6)?,
        decided_at: r.get(7)?,
        note: r.get(8)?,
        subject_table: r.get(9)?,
        subject_id: r.get(10)?,
        decided_by: r.get(11)?,
    })
}

fn engagement(conn: &Connection) -> rusqlite::Result<Vec<Engagement>> {
    let rows = conn
        .prepare(
            "WITH seen AS (
               SELECT name, tbl, row_id, at,
                 CASE WHEN json_valid(data) THEN json_extract(data, '$.message') END AS message,
                 CASE WHEN json_valid(data) THEN json_extract(data, '$.template') END AS template
               FROM flow_events WHERE name IN ('email_opened', 'email_clicked')),
             matched AS (
               SELECT s.name, CASE
                 WHEN s.message IS NOT NULL THEN
                   (SELECT o.id FROM flow_outbox o WHERE o.message_id = '<' || s.message || '>')
                 ELSE
                   (SELECT max(o.id) FROM flow_outbox o
                    WHERE o.recipient_tbl = s.tbl AND o.recipient_id = s.row_id
                      AND o.template = s.template AND o.created_at <= s.at)
                 END AS message
               FROM seen s)
             SELECT o.rule,
               count(DISTINCT o.id),
               count(DISTINCT CASE WHEN m.name = 'email_clicked' THEN o.id END)
             FROM matched m JOIN flow_outbox o ON o.id = m.message
             WHERE o.rule IS NOT NULL
             GROUP BY o.rule",
        )?
        .query_map([], |r| {
            Ok(Engagement {
                rule: r.get(0)?,
                opened: r.get(1)?,
                clicked: r.get(2)?,
            })
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(sorted_engagement(rows))
}

fn history(conn: &Connection, table: &str, id: i64, limit: usize) -> rusqlite::Result<History> {
    let limit = sql_limit(limit);
    let subject = format!("{table} #{id}");
    let runs = conn
        .prepare(&format!(
            "SELECT {RUN_COLUMNS} FROM flow_runs WHERE subject_tbl = ?1 AND subject_id = ?2
             ORDER BY id DESC LIMIT ?3"
        ))?
        .query_map(params![table, id, limit], run_row)?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    let log = conn
        .prepare(
            "SELECT id, at, run_id, rule, coalesce(step, ''), action, coalesce(detail, '') FROM flow_log
             WHERE run_id IN (SELECT id FROM flow_runs WHERE subject_tbl = ?1 AND subject_id = ?2)
                OR (run_id IS NULL AND subject = ?3)
             ORDER BY id DESC LIMIT ?4",
        )?
        .query_map(params![table, id, subject, limit], |r| {
            Ok(LogLine {
                id: r.get(0)?,
                at: r.get(1)?,
                run: r.get(2)?,
                rule: r.get(3)?,
                step: r.get(4)?,
                action: r.get(5)?,
                detail: r.get(6)?,
            })
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    let messages = conn
        .prepare(&format!(
            "SELECT {MESSAGE_COLUMNS} FROM flow_outbox
             WHERE run_id IN (SELECT id FROM flow_runs WHERE subject_tbl = ?1 AND subject_id = ?2)
                OR (recipient_tbl = ?1 AND recipient_id = ?2)
             ORDER BY id DESC LIMIT ?3"
        ))?
        .query_map(params![table, id, limit], message_row)?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    let events = conn
        .prepare(
            "SELECT seq, name, data, at, processed FROM flow_events WHERE tbl = ?1 AND row_id = ?2
             ORDER BY seq DESC LIMIT ?3",
        )?
        .query_map(params![table, id, limit], |r| {
            Ok(EventRow {
                id: r.get(0)?,
                name: r.get(1)?,
                data: r.get(2)?,
                at: r.get(3)?,
                processed: r.get::<_, i64>(4)? != 0,
            })
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    let tags = conn
        .prepare("SELECT tag, at FROM flow_tags WHERE tbl = ?1 AND row_id = ?2 ORDER BY tag")?
        .query_map(params![table, id], |r| {
            Ok(TagRow {
                tag: r.get(0)?,
                at: r.get(1)?,
            })
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    let lists = conn
        .prepare(
            "SELECT list, added_at, run_id FROM flow_list_members WHERE row_id = ?1 ORDER BY list",
        )?
        .query_map(params![id], |r| {
            Ok(ListRow {
                list: r.get(0)?,
                added_at: r.get(1)?,
                run: r.get(2)?,
            })
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    let tasks = conn
        .prepare(&format!(
            "SELECT {TASK_COLUMNS} FROM flow_tasks t LEFT JOIN flow_runs r ON r.id = t.run_id
             WHERE (r.subject_tbl = ?1 AND r.subject_id = ?2) OR (t.assignee_tbl = ?1 AND t.assignee_id = ?2)
             ORDER BY t.id DESC LIMIT ?3"
        ))?
        .query_map(params![table, id, limit], task_row)?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    let approvals = conn
        .prepare(&format!(
            "SELECT {APPROVAL_COLUMNS} FROM flow_approvals a LEFT JOIN flow_runs r ON r.id = a.run_id
             WHERE (r.subject_tbl = ?1 AND r.subject_id = ?2) OR (a.approver_tbl = ?1 AND a.approver_id = ?2)
             ORDER BY a.id DESC LIMIT ?3"
        ))?
        .query_map(params![table, id, limit], approval_row)?
        .collect::<rusqlite::Result<Vec<_>>>()?;
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

impl Admin for super::sqlite::Sqlite {
    fn engagement(&self) -> DbResult<Vec<Engagement>> {
        Ok(engagement(self.connection())?)
    }

    fn waiting_runs(&self, rule: &str, limit: usize) -> DbResult<Vec<RunRow>> {
        Ok(self
            .connection()
            .prepare(&format!(
                "SELECT {RUN_COLUMNS} FROM flow_runs WHERE rule = ?1 AND status = 'waiting'
                 ORDER BY wake_at IS NULL, wake_at, id LIMIT ?2"
            ))?
            .query_map(params![rule, sql_limit(limit)], run_row)?
            .collect::<rusqlite::Result<Vec<_>>>()?)
    }

    fn history(&self, table: &str, id: i64, limit: usize) -> DbResult<History> {
        Ok(history(self.connection(), table, id, limit)?)
    }

    fn approval_list(&self, limit: usize) -> DbResult<Vec<ApprovalRow>> {
        Ok(self
            .connection()
            .prepare(&format!(
                "SELECT {APPROVAL_COLUMNS} FROM flow_approvals a LEFT JOIN flow_runs r ON r.id = a.run_id
                 ORDER BY a.status != 'pending', a.id DESC LIMIT ?1"
            ))?
            .query_map(params![sql_limit(limit)], approval_row)?
            .collect::<rusqlite::Result<Vec<_>>>()?)
    }

    fn task_list(&self, limit: usize) -> DbResult<Vec<TaskRow>> {
        Ok(self
            .connection()
            .prepare(&format!(
                "SELECT {TASK_COLUMNS} FROM flow_tasks t LEFT JOIN flow_runs r ON r.id = t.run_id
                 ORDER BY t.status != 'open', t.id DESC LIMIT ?1"
            ))?
            .query_map(params![sql_limit(limit)], task_row)?
            .collect::<rusqlite::Result<Vec<_>>>()?)
    }

    fn message_list(&self, limit: usize) -> DbResult<Vec<MessageRow>> {
        Ok(self
            .connection()
            .prepare(&format!(
                "SELECT {MESSAGE_COLUMNS} FROM flow_outbox
                 ORDER BY status != 'unconfirmed', id DESC LIMIT ?1"
            ))?
            .query_map(params![sql_limit(limit)], message_row)?
            .collect::<rusqlite::Result<Vec<_>>>()?)
    }
}
