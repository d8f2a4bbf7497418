//! Read-only questions about what the engine did, for `flowc test`'s
//! expectations and its explanations of a failure.

use rusqlite::{Connection, OptionalExtension, params};

/// How many tasks titled `title` are assigned to row `assignee`.
pub fn count_tasks(conn: &Connection, title: &str, assignee: i64) -> rusqlite::Result<i64> {
    conn.query_row(
        "SELECT count(*) FROM flow_tasks WHERE title = ?1 AND assignee_id = ?2",
        params![title, assignee],
        |r| r.get(0),
    )
}

/// A task, as a failure report shows it.
#[derive(Clone, Debug, PartialEq)]
pub struct Task {
    pub title: String,
    pub assignee_table: Option<String>,
    pub assignee: Option<i64>,
    pub due: Option<String>,
}

/// Every task, oldest first.
pub fn tasks(conn: &Connection) -> rusqlite::Result<Vec<Task>> {
    conn.prepare("SELECT title, assignee_tbl, assignee_id, due FROM flow_tasks ORDER BY id")?
        .query_map([], |r| {
            Ok(Task {
                title: r.get(0)?,
                assignee_table: r.get(1)?,
                assignee: r.get(2)?,
                due: r.get(3)?,
            })
        })?
        .collect()
}

/// Pending approvals (of runs on `subject`, if given).
pub fn count_pending_approvals(conn: &Connection, subject: Option<i64>) -> rusqlite::Result<i64> {
    conn.query_row(
        "SELECT count(*) FROM flow_approvals a JOIN flow_runs r ON r.id = a.run_id \
         WHERE a.status = 'pending' AND (?1 IS NULL OR r.subject_id = ?1)",
        [subject],
        |r| r.get(0),
    )
}

/// Every approval as `rule for table #id: status`, oldest first.
pub fn approvals(conn: &Connection) -> rusqlite::Result<Vec<String>> {
    conn.prepare(
        "SELECT a.rule || ' for ' || r.subject_tbl || ' #' || r.subject_id || ': ' || a.status \
         FROM flow_approvals a JOIN flow_runs r ON r.id = a.run_id ORDER BY a.id",
    )?
    .query_map([], |r| r.get(0))?
    .collect()
}

/// The state of the latest run of `rule` on row `subject`, as stored.
pub fn latest_run_state(
    conn: &Connection,
    rule: &str,
    subject: i64,
) -> rusqlite::Result<Option<String>> {
    conn.query_row(
        "SELECT status FROM flow_runs WHERE rule = ?1 AND subject_id = ?2 ORDER BY id DESC LIMIT 1",
        params![rule, subject],
        |r| r.get(0),
    )
    .optional()
}

/// When the latest waiting run of `rule` on `subject` wakes, if on a timer.
pub fn waiting_until(conn: &Connection, rule: &str, subject: i64) -> rusqlite::Result<Option<i64>> {
    Ok(conn
        .query_row(
            "SELECT wake_at FROM flow_runs WHERE rule = ?1 AND subject_id = ?2 \
             AND status = 'waiting' ORDER BY id DESC LIMIT 1",
            params![rule, subject],
            |r| r.get(0),
        )
        .optional()?
        .flatten())
}

/// How many emails went (or are queued) to `address` (of `template`).
pub fn count_emails(
    conn: &Connection,
    address: &str,
    template: Option<&str>,
) -> rusqlite::Result<i64> {
    conn.query_row(
        "SELECT count(*) FROM flow_outbox WHERE to_addr = ?1 AND (?2 IS NULL OR template = ?2)",
        params![address, template],
        |r| r.get(0),
    )
}

/// An email to one address, as `expect … with subject contains` reads it.
#[derive(Clone, Debug, PartialEq)]
pub struct SentEmail {
    /// The template, or the kind (`notify`, …) for one without.
    pub template: String,
    pub subject: String,
    pub body: String,
}

/// Every email that went (or is queued) to `address`, oldest first.
pub fn emails_to(conn: &Connection, address: &str) -> rusqlite::Result<Vec<SentEmail>> {
    conn.prepare(
        "SELECT coalesce(template, kind), subject, body FROM flow_outbox WHERE to_addr = ?1 ORDER BY id",
    )?
    .query_map([address], |r| {
        Ok(SentEmail {
            template: r.get(0)?,
            subject: r.get(1)?,
            body: r.get(2)?,
        })
    })?
    .collect()
}

/// Every email as `template to address: subject`, oldest first.
pub fn emails(conn: &Connection) -> rusqlite::Result<Vec<String>> {
    conn.prepare("SELECT coalesce(template, kind) || ' to ' || to_addr || ': ' || subject FROM flow_outbox ORDER BY id")?
        .query_map([], |r| r.get(0))?
        .collect()
}

/// A row's tags, by name.
pub fn tags(conn: &Connection, table: &str, row: i64) -> rusqlite::Result<Vec<String>> {
    conn.prepare("SELECT tag FROM flow_tags WHERE tbl = ?1 AND row_id = ?2 ORDER BY tag")?
        .query_map(params![table, row], |r| r.get(0))?
        .collect()
}

/// If `row` is in `list`: the rule that added it (`""` if none did).
pub fn list_adder(conn: &Connection, list: &str, row: i64) -> rusqlite::Result<Option<String>> {
    conn.query_row(
        "SELECT coalesce((SELECT rule FROM flow_runs WHERE id = m.run_id), '') \
         FROM flow_list_members m WHERE m.list = ?1 AND m.row_id = ?2",
        params![list, row],
        |r| r.get(0),
    )
    .optional()
}

/// A run of a rule, as a failure report shows it.
#[derive(Clone, Debug, PartialEq)]
pub struct RunSummary {
    pub subject: i64,
    pub status: String,
    pub step: String,
    pub wake_at: Option<i64>,
    pub error: Option<String>,
}

/// Every run of `rule`, oldest first.
pub fn runs_of(conn: &Connection, rule: &str) -> rusqlite::Result<Vec<RunSummary>> {
    conn.prepare("SELECT subject_id, status, step, wake_at, error FROM flow_runs WHERE rule = ?1 ORDER BY id")?
        .query_map([rule], |r| {
            Ok(RunSummary {
                subject: r.get(0)?,
                status: r.get(1)?,
                step: r.get(2)?,
                wake_at: r.get(3)?,
                error: r.get(4)?,
            })
        })?
        .collect()
}
