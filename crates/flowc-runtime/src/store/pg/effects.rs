//! What steps leave behind, on PostgreSQL: list members, tags, tasks,
//! approvals, locks, `becomes` values, sweep schedules, the audit trail,
//! rule versions, queued email, and forgetting a deleted row. The same
//! typed operations as SQLite's (`store::effects`, `approvals`, `becomes`,
//! `schedule`, `log`, `versions`, `outbox::enqueue`, `deleted`), in the
//! state schema `s` (quoted). The caller holds the transaction.
//!
//! Names sort as SQLite sorts them (`COLLATE "C"`: by bytes), whatever the
//! database's collation.

use super::super::approvals::{self, Approval, DecideError, Decided, DecidedBy, Decision, Pending};
use super::super::deleted::{DeletedRow, DroppedEvent};
use super::super::effects::NewTask;
use super::super::error::DbError;
use super::super::log::{Entry, Filter};
use super::super::outbox::NewMessage;
use super::super::state::StateError;
use super::conn::Conn;

type R<T> = Result<T, postgres::Error>;

/// Adds `row` to `list`; `false` if it was already a member. In a unit of
/// work that knows the row's lists (it read them with a run), the insert is
/// held back and written with the unit's others.
pub fn add_list_member(c: &mut Conn, s: &str, list: &str, row: i64, at: i64, run: i64) -> R<bool> {
    if let Some(added) = c.pending.add_member(list, row, at, run) {
        return Ok(added);
    }
    let n = c.keeping().execute(
        &format!(
            "INSERT INTO {s}.flow_list_members (list, row_id, added_at, run_id)
             VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING"
        ),
        &[&list, &row, &at, &run],
    )?;
    Ok(n > 0)
}

/// Removes `row` from `list`; `false` if it was not a member.
pub fn remove_list_member(c: &mut Conn, s: &str, list: &str, row: i64) -> R<bool> {
    let n = c.execute(
        &format!("DELETE FROM {s}.flow_list_members WHERE list = $1 AND row_id = $2"),
        &[&list, &row],
    )?;
    Ok(n > 0)
}

pub fn is_list_member(c: &mut Conn, s: &str, list: &str, row: i64) -> R<bool> {
    if let Some(member) = c.pending.is_member(list, row) {
        return Ok(member);
    }
    c.keeping().query_one(
        &format!(
            "SELECT EXISTS (SELECT 1 FROM {s}.flow_list_members WHERE list = $1 AND row_id = $2)"
        ),
        &[&list, &row],
    )?
    .try_get(0)
}

pub fn has_tag(c: &mut Conn, s: &str, table: &str, row: i64, tag: &str) -> R<bool> {
    if let Some(has) = c.pending.has_tag(table, row, tag) {
        return Ok(has);
    }
    c.keeping().query_one(
        &format!(
            "SELECT EXISTS (SELECT 1 FROM {s}.flow_tags WHERE tbl = $1 AND row_id = $2 AND tag = $3)"
        ),
        &[&table, &row, &tag],
    )?
    .try_get(0)
}

/// Tags a row; `false` if it already had the tag. In a unit of work that
/// knows the row's tags (it read them with a run), the insert is held back
/// and written with the unit's others.
pub fn add_tag(c: &mut Conn, s: &str, table: &str, row: i64, tag: &str, at: i64) -> R<bool> {
    if let Some(added) = c.pending.add_tag(table, row, tag, at) {
        return Ok(added);
    }
    let n = c.keeping().execute(
        &format!(
            "INSERT INTO {s}.flow_tags (tbl, row_id, tag, at) VALUES ($1, $2, $3, $4)
             ON CONFLICT DO NOTHING"
        ),
        &[&table, &row, &tag, &at],
    )?;
    Ok(n > 0)
}

/// Removes a tag; `false` if the row did not have it.
pub fn remove_tag(c: &mut Conn, s: &str, table: &str, row: i64, tag: &str) -> R<bool> {
    let n = c.execute(
        &format!("DELETE FROM {s}.flow_tags WHERE tbl = $1 AND row_id = $2 AND tag = $3"),
        &[&table, &row, &tag],
    )?;
    Ok(n > 0)
}

/// Records a task; returns its id.
pub fn insert_task(c: &mut Conn, s: &str, task: &NewTask) -> R<i64> {
    c.keeping().query_one(
        &format!(
            "INSERT INTO {s}.flow_tasks (run_id, rule, title, assignee_tbl, assignee_id, due, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id"
        ),
        &[
            &task.run,
            &task.rule,
            &task.title,
            &task.assignee_table,
            &task.assignee,
            &task.due,
            &task.at,
        ],
    )?
    .try_get(0)
}

/// Records a pending approval; returns its id.
pub fn request_approval(
    c: &mut Conn,
    s: &str,
    run: i64,
    rule: &str,
    approver_table: &str,
    approver: i64,
    at: i64,
) -> R<i64> {
    c.keeping().query_one(
        &format!(
            "INSERT INTO {s}.flow_approvals (run_id, rule, approver_tbl, approver_id, status, requested_at)
             VALUES ($1, $2, $3, $4, 'pending', $5) RETURNING id"
        ),
        &[&run, &rule, &approver_table, &approver, &at],
    )?
    .try_get(0)
}

/// Locks a row (the lock trigger then refuses every write to it, naming
/// the rule: the rule of run `run`). A row already locked stays locked by
/// whoever locked it first. A run that is not in `flow_runs` (never, from
/// the engine) still locks the row, its rule named `of run #N`.
pub fn lock(c: &mut Conn, s: &str, table: &str, row: i64, run: i64, at: i64) -> R<()> {
    c.execute(
        &format!(
            "INSERT INTO {s}.flow_locks (tbl, row_id, rule, run_id, locked_at)
             VALUES ($1, $2,
                     coalesce((SELECT rule FROM {s}.flow_runs WHERE id = $3::bigint),
                              'of run #' || $3::bigint),
                     $3::bigint, to_timestamp($4::bigint))
             ON CONFLICT DO NOTHING"
        ),
        &[&table, &row, &run, &at],
    )?;
    Ok(())
}

pub fn unlock(c: &mut Conn, s: &str, table: &str, row: i64) -> R<()> {
    c.execute(
        &format!("DELETE FROM {s}.flow_locks WHERE tbl = $1 AND row_id = $2"),
        &[&table, &row],
    )?;
    Ok(())
}

/// Tells the capture trigger who is writing, for the rest of the
/// transaction (or until set again): the transaction-local settings
/// `flowc.depth` and `flowc.run` (empty: no run), never a shared row, so
/// that concurrent workers do not see each other's.
pub fn set_capture_context(c: &mut Conn, _s: &str, depth: i64, run: Option<i64>) -> R<()> {
    let depth = depth.to_string();
    let run = run.map(|r| r.to_string()).unwrap_or_default();
    c.keeping().execute(
        "SELECT set_config('flowc.depth', $1::text, true), set_config('flowc.run', $2::text, true)",
        &[&depth, &run],
    )?;
    Ok(())
}

/// Records a list or tag change (`table` is `list:NAME` or `tag:TABLE`) as
/// a change, in the shard of that name and row, so that conditions reading
/// lists and tags are re-checked.
pub fn record_synthetic_change(
    c: &mut Conn,
    s: &str,
    table: &str,
    row: i64,
    added: bool,
    depth: i64,
    run: i64,
) -> R<()> {
    let op = if added { "insert" } else { "delete" };
    c.keeping().execute(
        &format!(
            "INSERT INTO {s}.flow_changes (shard, tbl, row_id, op, depth, run_id)
             VALUES ({s}.flow_shard($1::text, $2::bigint), $1::text, $2::bigint, $3::text,
                     $4::bigint, $5::bigint)"
        ),
        &[&table, &row, &op, &depth, &run],
    )?;
    c.pending.changed();
    Ok(())
}

/// Queues a message; `false` if one with its Message-ID is already queued.
pub fn enqueue(c: &mut Conn, s: &str, m: &NewMessage) -> R<bool> {
    let n = c.keeping().execute(
        &format!(
            "INSERT INTO {s}.flow_outbox (message_id, run_id, rule, template, kind, to_addr, from_addr,
               reply_to, subject, body, status, created_at, subject_tbl, subject_id, html, list_unsubscribe,
               recipient_tbl, recipient_id, links, next_attempt_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 'queued', $11, $12, $13, $14, $15, $16, $17, $18, $19)
             ON CONFLICT DO NOTHING"
        ),
        &[
            &m.message_id,
            &m.run_id,
            &m.rule,
            &m.template,
            &m.kind,
            &m.to,
            &m.from,
            &m.reply_to,
            &m.subject,
            &m.body,
            &m.created_at,
            &m.subject_table,
            &m.subject_id,
            &m.html,
            &m.list_unsubscribe,
            &m.recipient.map(|(table, _)| table),
            &m.recipient.map(|(_, id)| id),
            &m.links,
            &m.not_before,
        ],
    )?;
    Ok(n > 0)
}

/// Decided approvals not yet applied, in the order decided; a stored
/// status other than `approved`/`rejected` is an error naming the row.
pub fn decided(c: &mut Conn, s: &str) -> Result<Vec<Decided>, StateError> {
    let db = |e: postgres::Error| StateError::from(DbError::from(e));
    let rows = c
        .query(
            &format!(
                "SELECT id, run_id, status FROM {s}.flow_approvals
                 WHERE NOT applied AND status <> 'pending' ORDER BY decided_at, id"
            ),
            &[],
        )
        .map_err(db)?;
    rows.iter()
        .map(|r| {
            let approval: i64 = r.try_get(0).map_err(db)?;
            let run: i64 = r.try_get(1).map_err(db)?;
            let status: String = r.try_get(2).map_err(db)?;
            approvals::decided_row(approval, run, status)
        })
        .collect()
}

/// Claims a decided approval for applying; `false` if another process
/// already did.
pub fn claim_decided(c: &mut Conn, s: &str, approval: i64) -> R<bool> {
    let n = c.execute(
        &format!("UPDATE {s}.flow_approvals SET applied = true WHERE id = $1 AND NOT applied"),
        &[&approval],
    )?;
    Ok(n > 0)
}

/// Cancels a pending approval (its run ended without it), as
/// `store::approvals::cancel` does.
pub fn cancel_approval(c: &mut Conn, s: &str, approval: i64, at: i64, note: &str) -> R<bool> {
    let n = c.execute(
        &format!(
            "UPDATE {s}.flow_approvals SET status = 'cancelled', decided_at = $2, applied = true, note = $3
             WHERE id = $1 AND status = 'pending'"
        ),
        &[&approval, &at, &note],
    )?;
    Ok(n > 0)
}

/// Decides every pending approval (of runs on `subject`, if given);
/// returns how many.
pub fn decide_pending(
    c: &mut Conn,
    s: &str,
    decision: Decision,
    at: i64,
    subject: Option<i64>,
) -> R<usize> {
    let n = c.execute(
        &format!(
            "UPDATE {s}.flow_approvals SET status = $1, decided_at = $2 WHERE status = 'pending'
             AND ($3::bigint IS NULL
                  OR run_id IN (SELECT id FROM {s}.flow_runs WHERE subject_id = $3::bigint))"
        ),
        &[&decision.as_str(), &at, &subject],
    )?;
    Ok(n as usize)
}

/// Pending approvals with their run's subject, by id.
pub fn pending(c: &mut Conn, s: &str) -> R<Vec<Pending>> {
    c.query(
        &format!(
            "SELECT a.id, a.rule, r.subject_tbl, r.subject_id, a.approver_tbl, a.approver_id, a.requested_at
             FROM {s}.flow_approvals a JOIN {s}.flow_runs r ON r.id = a.run_id
             WHERE a.status = 'pending' ORDER BY a.id"
        ),
        &[],
    )?
    .iter()
    .map(|r| {
        Ok(Pending {
            id: r.try_get(0)?,
            rule: r.try_get(1)?,
            subject_table: r.try_get(2)?,
            subject: r.try_get(3)?,
            approver_table: r.try_get(4)?,
            approver: r.try_get(5)?,
            requested_at: r.try_get(6)?,
        })
    })
    .collect()
}

/// Records a person's decision on a pending approval at engine time `at`.
pub fn decide(
    c: &mut Conn,
    s: &str,
    approval: i64,
    decision: Decision,
    at: i64,
    by: DecidedBy,
) -> R<Result<(), DecideError>> {
    let changed = c.execute(
        &format!(
            "UPDATE {s}.flow_approvals SET status = $2, decided_at = $3, note = $4, decided_by = $5
             WHERE id = $1 AND status = 'pending'"
        ),
        &[&approval, &decision.as_str(), &at, &by.note, &by.who],
    )?;
    if changed > 0 {
        return Ok(Ok(()));
    }
    let status: Option<String> = c
        .query_opt(
            &format!("SELECT status FROM {s}.flow_approvals WHERE id = $1"),
            &[&approval],
        )?
        .map(|r| r.try_get(0))
        .transpose()?;
    Ok(Err(match status.as_deref() {
        None => DecideError::NoSuchApproval,
        Some("cancelled") => DecideError::Cancelled,
        Some(_) => DecideError::AlreadyDecided,
    }))
}

/// Approval `id` with its run's subject; `None` if there is none.
pub fn approval(c: &mut Conn, s: &str, id: i64) -> Result<Option<Approval>, StateError> {
    let db = |e: postgres::Error| StateError::from(DbError::from(e));
    let Some(r) = c
        .query_opt(
            &format!(
                "SELECT {} FROM {s}.flow_approvals a JOIN {s}.flow_runs r ON r.id = a.run_id
                 WHERE a.id = $1",
                approvals::APPROVAL_COLUMNS
            ),
            &[&id],
        )
        .map_err(db)?
    else {
        return Ok(None);
    };
    let status: String = r.try_get(8).map_err(db)?;
    Ok(Some(Approval {
        id: r.try_get(0).map_err(db)?,
        run: r.try_get(1).map_err(db)?,
        rule: r.try_get(2).map_err(db)?,
        version: r.try_get(3).map_err(db)?,
        subject_table: r.try_get(4).map_err(db)?,
        subject: r.try_get(5).map_err(db)?,
        approver_table: r.try_get(6).map_err(db)?,
        approver: r.try_get(7).map_err(db)?,
        status: approvals::Status::parse(id, status)?,
        requested_at: r.try_get(9).map_err(db)?,
        decided_at: r.try_get(10).map_err(db)?,
        decided_by: r.try_get(11).map_err(db)?,
        note: r.try_get(12).map_err(db)?,
    }))
}

/// The last value seen for `rule` on `row` (`None`: never looked at).
pub fn becomes_last(c: &mut Conn, s: &str, rule: &str, row: i64) -> R<Option<bool>> {
    c.keeping()
        .query_opt(
            &format!("SELECT value FROM {s}.flow_becomes WHERE rule = $1 AND row_id = $2"),
            &[&rule, &row],
        )?
        .map(|r| r.try_get(0))
        .transpose()
}

pub fn becomes_remember(c: &mut Conn, s: &str, rule: &str, row: i64, value: bool) -> R<()> {
    c.keeping().execute(
        &format!(
            "INSERT INTO {s}.flow_becomes (rule, row_id, value) VALUES ($1, $2, $3)
             ON CONFLICT (rule, row_id) DO UPDATE SET value = excluded.value"
        ),
        &[&rule, &row, &value],
    )?;
    Ok(())
}

/// Forgets what was seen for `rule` on `row` (the row was deleted).
pub fn becomes_forget(c: &mut Conn, s: &str, rule: &str, row: i64) -> R<()> {
    c.keeping().execute(
        &format!("DELETE FROM {s}.flow_becomes WHERE rule = $1 AND row_id = $2"),
        &[&rule, &row],
    )?;
    Ok(())
}

/// Gives a sweep rule its first due time unless it has one.
pub fn ensure_schedule(c: &mut Conn, s: &str, rule: &str, next_at: i64) -> R<()> {
    c.execute(
        &format!(
            "INSERT INTO {s}.flow_schedule (rule, next_at) VALUES ($1, $2) ON CONFLICT DO NOTHING"
        ),
        &[&rule, &next_at],
    )?;
    Ok(())
}

/// Sweeps due at or before `now`, earliest first (then by name).
pub fn due_schedules(c: &mut Conn, s: &str, now: i64) -> R<Vec<(String, i64)>> {
    c.query(
        &format!(
            "SELECT rule, next_at FROM {s}.flow_schedule WHERE next_at <= $1
             ORDER BY next_at, rule COLLATE \"C\""
        ),
        &[&now],
    )?
    .iter()
    .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
    .collect()
}

/// When `rule`'s sweep is next due, the schedule's row locked until the
/// unit of work ends; `None` when another worker holds it (it is running
/// that sweep). Without the lock two workers that both saw the sweep due
/// would both run it: the second's update of `next_at` would wait for the
/// first's, then go through.
pub fn schedule_next_at(c: &mut Conn, s: &str, rule: &str) -> R<Option<i64>> {
    c.query_opt(
        &format!("SELECT next_at FROM {s}.flow_schedule WHERE rule = $1 FOR UPDATE SKIP LOCKED"),
        &[&rule],
    )?
    .map(|r| r.try_get(0))
    .transpose()
}

pub fn set_schedule_next_at(c: &mut Conn, s: &str, rule: &str, next_at: i64) -> R<()> {
    c.execute(
        &format!("UPDATE {s}.flow_schedule SET next_at = $2 WHERE rule = $1"),
        &[&rule, &next_at],
    )?;
    Ok(())
}

/// Appends one line of the audit trail.
pub fn append_log(c: &mut Conn, s: &str, entry: &Entry) -> R<()> {
    c.keeping().execute(
        &format!(
            "INSERT INTO {s}.flow_log (at, run_id, rule, subject, step, action, detail)
             VALUES ($1, $2, $3, $4, $5, $6, $7)"
        ),
        &[
            &entry.at,
            &entry.run,
            &entry.rule,
            &entry.subject,
            &entry.step,
            &entry.action,
            &entry.detail,
        ],
    )?;
    Ok(())
}

/// Appends lines in order, all in one statement (a round trip costs more
/// than a row): one array per column, unnested together, in their order.
pub fn append_logs(c: &mut Conn, s: &str, entries: &[Entry]) -> R<()> {
    if entries.is_empty() {
        return Ok(());
    }
    let at: Vec<i64> = entries.iter().map(|e| e.at).collect();
    let run: Vec<Option<i64>> = entries.iter().map(|e| e.run).collect();
    let rule: Vec<Option<&str>> = entries.iter().map(|e| e.rule.as_deref()).collect();
    let subject: Vec<Option<&str>> = entries.iter().map(|e| e.subject.as_deref()).collect();
    let step: Vec<&str> = entries.iter().map(|e| e.step.as_str()).collect();
    let action: Vec<&str> = entries.iter().map(|e| e.action.as_str()).collect();
    let detail: Vec<&str> = entries.iter().map(|e| e.detail.as_str()).collect();
    c.keeping().execute(
        &format!(
            "INSERT INTO {s}.flow_log (at, run_id, rule, subject, step, action, detail)
             SELECT at, run_id, rule, subject, step, action, detail
             FROM unnest($1::bigint[], $2::bigint[], $3::text[], $4::text[], $5::text[],
                         $6::text[], $7::text[])
                  WITH ORDINALITY AS l (at, run_id, rule, subject, step, action, detail, n)
             ORDER BY n"
        ),
        &[&at, &run, &rule, &subject, &step, &action, &detail],
    )?;
    Ok(())
}

/// The lines that pass `filter`, oldest first (a negative `tail`, like
/// SQLite's negative `LIMIT`, is no limit).
pub fn read_log(c: &mut Conn, s: &str, filter: &Filter) -> R<Vec<Entry>> {
    let tail = filter.tail.filter(|n| *n >= 0);
    c.query(
        &format!(
            "SELECT at, run_id, rule, subject, coalesce(step, ''), action, coalesce(detail, '') FROM (
               SELECT * FROM {s}.flow_log
               WHERE ($1::bigint IS NULL OR run_id = $1::bigint)
                 AND ($2::text IS NULL OR rule = $2::text)
               ORDER BY id DESC LIMIT $3::bigint) l
             ORDER BY id"
        ),
        &[&filter.run, &filter.rule, &tail],
    )?
    .iter()
    .map(|r| {
        Ok(Entry {
            at: r.try_get(0)?,
            run: r.try_get(1)?,
            rule: r.try_get(2)?,
            subject: r.try_get(3)?,
            step: r.try_get(4)?,
            action: r.try_get(5)?,
            detail: r.try_get(6)?,
        })
    })
    .collect()
}

/// Keeps `version` of `rule` with its project snapshot (once).
pub fn remember_version(
    c: &mut Conn,
    s: &str,
    version: &str,
    rule: &str,
    project: &str,
    at: i64,
) -> R<()> {
    c.execute(
        &format!(
            "INSERT INTO {s}.flow_versions (version, rule, project, seen_at) VALUES ($1, $2, $3, $4)
             ON CONFLICT DO NOTHING"
        ),
        &[&version, &rule, &project, &at],
    )?;
    Ok(())
}

/// The project snapshot kept with `version` of `rule`.
pub fn version_project(c: &mut Conn, s: &str, rule: &str, version: &str) -> R<Option<String>> {
    c.query_opt(
        &format!("SELECT project FROM {s}.flow_versions WHERE version = $1 AND rule = $2"),
        &[&version, &rule],
    )?
    .map(|r| r.try_get(0))
    .transpose()
}

/// Keeps `project` in `flow_meta` as the last project, unless it is the
/// one kept.
pub fn remember_project(c: &mut Conn, s: &str, project: &str) -> R<()> {
    c.execute(
        &format!(
            "INSERT INTO {s}.flow_meta (key, value) VALUES ('project', $1)
             ON CONFLICT (key) DO UPDATE SET value = excluded.value
             WHERE {s}.flow_meta.value IS DISTINCT FROM excluded.value"
        ),
        &[&project],
    )?;
    Ok(())
}

/// The project the engine last opened the database with.
pub fn last_project(c: &mut Conn, s: &str) -> R<Option<String>> {
    c.query_opt(
        &format!("SELECT value FROM {s}.flow_meta WHERE key = 'project'"),
        &[],
    )?
    .map(|r| r.try_get(0))
    .transpose()
}

/// Every rule name the engine ever ran, by name.
pub fn rule_names(c: &mut Conn, s: &str) -> R<Vec<String>> {
    c.query(
        &format!("SELECT rule FROM {s}.flow_versions GROUP BY rule ORDER BY rule COLLATE \"C\""),
        &[],
    )?
    .iter()
    .map(|r| r.try_get(0))
    .collect()
}

/// The runs of the row that are still running or waiting.
pub fn deleted_row_runs(c: &mut Conn, s: &str, table: &str, row: i64) -> R<Vec<i64>> {
    c.query(
        &format!(
            "SELECT id FROM {s}.flow_runs WHERE subject_id = $2 AND subject_tbl = $1
             AND status IN ('running', 'waiting') ORDER BY id"
        ),
        &[&table, &row],
    )?
    .iter()
    .map(|r| r.try_get(0))
    .collect()
}

/// Forgets what belonged to the row (call after ending its runs), as
/// `store::deleted::forget` does: its pending approvals are cancelled, its
/// runs no longer count for re-entry, its `becomes` state, list
/// memberships, tags and locks go, and its unprocessed events are marked
/// processed. Returns those events, for the log.
///
/// Which events: on SQLite, those up to `events_up_to` (the last event
/// committed before the delete), and none without it. PostgreSQL's
/// `flow_changes` has no `events_seq` (claimed changes carry `None`), so
/// here `None` means every unprocessed event of the row is taken as meant
/// for the deleted row (ids of PostgreSQL rows come from sequences and are
/// not reused as SQLite's are); `Some(up_to)` is honoured as on SQLite.
pub fn forget_deleted_row(c: &mut Conn, s: &str, row: &DeletedRow) -> R<Vec<DroppedEvent>> {
    let (table, id) = (row.table, row.row_id);
    // Approvals nobody can act on any more: their run has ended.
    c.execute(
        &format!(
            "UPDATE {s}.flow_approvals SET status = 'cancelled', decided_at = $3, applied = true,
               note = 'its run ended: the record was deleted'
             WHERE status = 'pending' AND run_id IN
               (SELECT id FROM {s}.flow_runs
                WHERE subject_id = $2 AND subject_tbl = $1 AND NOT subject_gone)"
        ),
        &[&table, &id, &row.at],
    )?;
    c.execute(
        &format!(
            "UPDATE {s}.flow_runs SET subject_gone = true
             WHERE subject_id = $2 AND subject_tbl = $1 AND NOT subject_gone"
        ),
        &[&table, &id],
    )?;
    if !row.becomes.is_empty() {
        c.execute(
            &format!("DELETE FROM {s}.flow_becomes WHERE rule = ANY ($1::text[]) AND row_id = $2"),
            &[&row.becomes, &id],
        )?;
    }
    if !row.lists.is_empty() {
        c.execute(
            &format!(
                "DELETE FROM {s}.flow_list_members WHERE list = ANY ($1::text[]) AND row_id = $2"
            ),
            &[&row.lists, &id],
        )?;
    }
    c.execute(
        &format!("DELETE FROM {s}.flow_tags WHERE tbl = $1 AND row_id = $2"),
        &[&table, &id],
    )?;
    c.execute(
        &format!("DELETE FROM {s}.flow_locks WHERE tbl = $1 AND row_id = $2"),
        &[&table, &id],
    )?;
    let mut dropped: Vec<DroppedEvent> = c
        .query(
            &format!(
                "UPDATE {s}.flow_events SET processed = true
                 WHERE tbl = $1 AND row_id = $2 AND NOT processed
                   AND ($3::bigint IS NULL OR id <= $3::bigint)
                 RETURNING id, name"
            ),
            &[&table, &id, &row.events_up_to],
        )?
        .iter()
        .map(|r| {
            Ok(DroppedEvent {
                seq: r.try_get(0)?,
                name: r.try_get(1)?,
            })
        })
        .collect::<R<_>>()?;
    dropped.sort_by_key(|e| e.seq);
    Ok(dropped)
}
