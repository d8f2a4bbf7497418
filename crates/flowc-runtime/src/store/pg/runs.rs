//! `flow_runs` on PostgreSQL: the same typed operations as `store::runs`
//! (see there for what each does), in `{s}.flow_runs`. Rows are decoded by
//! `store::runs::decode`, as SQLite's are; batches are one statement over
//! an array of ids.
//!
//! Inside a unit of work, a run the unit inserted that ends (done,
//! rejected, failed) is not updated at once: its end is pending
//! (`pending.rs`), written with the unit's other ends in one statement
//! before anything else reads or writes runs, and at the latest at commit.

use super::super::runs::{
    NewRun, RUN_COLUMNS, RawRun, RunState, Start, StoredRun, Transition, WaitingAt, decode, pc_text,
};
use super::super::state::StateError;
use super::conn::Conn;
use super::pending::{History, Inserted};
use postgres::Row;

type R<T> = Result<T, postgres::Error>;

/// Reads [`RUN_COLUMNS`] from `r`, starting at column `at`. The table's
/// types hold each value (`depth` is an `integer`); a value of another
/// type (a table altered by hand) is a postgres error, never a default.
fn raw_run(r: &Row, at: usize) -> R<RawRun> {
    Ok(RawRun {
        rule: r.try_get(at)?,
        version: r.try_get(at + 1)?,
        subject_id: r.try_get(at + 2)?,
        status: r.try_get(at + 3)?,
        wake_at: r.try_get(at + 4)?,
        pc: r.try_get(at + 5)?,
        step: r.try_get(at + 6)?,
        started_at: r.try_get(at + 7)?,
        trigger: r.try_get(at + 8)?,
        start_seq: r.try_get(at + 9)?,
        depth: i64::from(r.try_get::<_, i32>(at + 10)?),
        wait_kind: r.try_get(at + 11)?,
        wait_name: r.try_get(at + 12)?,
        wait_tbl: r.try_get(at + 13)?,
        wait_row: r.try_get(at + 14)?,
        wait_clicked: r.try_get(at + 15)?,
        wait_approval: r.try_get(at + 16)?,
    })
}

fn database(e: postgres::Error) -> StateError {
    StateError::Database(e.into())
}

/// The ids in the first column of `rows`.
fn ids(rows: Vec<Row>) -> R<Vec<i64>> {
    rows.iter().map(|r| r.try_get(0)).collect()
}

pub fn insert(c: &mut Conn, s: &str, run: &NewRun, start: Start) -> R<i64> {
    let (status, pc, error) = match start {
        Start::Running => ("running", "0", None),
        Start::Failed(error) => ("failed", "", Some(error)),
    };
    // `depth` is an `integer`: bound as bigint and converted by the
    // server, so that a depth out of its range is an error, not wrapped.
    // A new row: what the unit holds back need not be written first. The
    // subject's tags and lists come back with the id (the run's steps may
    // tag it, add it to a list).
    let lists = c.pending.lists_of(run.subject_table);
    let row = c.keeping().query_one(
        &format!(
            "INSERT INTO {s}.flow_runs (rule, version, subject_tbl, subject_id, status, pc, step, \
             started_at, updated_at, trigger, start_seq, depth, error) \
             VALUES ($1, $2, $3, $4, $5, $6, '', $7, $7, $8, $9, $10::bigint, $11) \
             RETURNING id, {}",
            marks_of_subject(s, "$12::text[]")
        ),
        &[
            &run.rule,
            &run.version,
            &run.subject_table,
            &run.subject,
            &status,
            &pc,
            &run.at,
            &run.trigger,
            &run.start_seq,
            &run.depth,
            &error,
            &lists,
        ],
    )?;
    let id = row.try_get(0)?;
    if c.in_transaction() {
        c.pending.inserted(
            s,
            Inserted {
                id,
                rule: run.rule,
                table: run.subject_table,
                subject: run.subject,
                status,
                at: run.at,
                tags: row.try_get(1)?,
                lists: row.try_get(2)?,
            },
        );
    }
    Ok(id)
}

/// Two columns for a row of `flow_runs`: its subject's tags, and the
/// lists it is in among those of its record, `lists` (a `text[]`
/// parameter) or, with `pairs` (two: tables and their lists), those of
/// the subject's table.
fn marks_of_subject(s: &str, lists: &str) -> String {
    format!(
        "ARRAY(SELECT t.tag FROM {s}.flow_tags t \
               WHERE t.tbl = flow_runs.subject_tbl AND t.row_id = flow_runs.subject_id), \
         ARRAY(SELECT m.list FROM {s}.flow_list_members m \
               WHERE m.list = ANY({lists}) AND m.row_id = flow_runs.subject_id)"
    )
}

pub fn load(c: &mut Conn, s: &str, id: i64) -> Result<Option<StoredRun>, StateError> {
    let row = c
        .query_opt(
            &format!("SELECT {RUN_COLUMNS} FROM {s}.flow_runs WHERE id = $1"),
            &[&id],
        )
        .map_err(database)?;
    let Some(row) = row else {
        return Ok(None);
    };
    let raw = raw_run(&row, 0).map_err(database)?;
    decode(id, raw).map(Some)
}

pub fn load_many(
    c: &mut Conn,
    s: &str,
    ids: &[i64],
) -> R<Vec<(i64, Result<StoredRun, StateError>)>> {
    // With each run, its subject's tags and lists: the steps a batch of
    // woken runs takes (`tag contact …`) then cost no round trip each.
    let (tables, lists) = c.pending.all_lists();
    let rows = c.query(
        &format!(
            "SELECT id, {RUN_COLUMNS}, subject_tbl, {} FROM {s}.flow_runs \
             WHERE id = ANY($1::bigint[])",
            marks_of_subject(
                s,
                "ARRAY(SELECT l FROM unnest($2::text[], $3::text[]) AS k (t, l) \
                       WHERE k.t = flow_runs.subject_tbl)"
            )
        ),
        &[&ids, &tables, &lists],
    )?;
    let marks_at = 1 + RUN_FIELDS;
    let mut runs = Vec::with_capacity(rows.len());
    for r in &rows {
        let id: i64 = r.try_get(0)?;
        runs.push((id, decode(id, raw_run(r, 1)?)));
        if c.in_transaction() {
            let table: String = r.try_get(marks_at)?;
            let subject: i64 = r.try_get(3)?;
            c.pending
                .know_tags(s, &table, subject, r.try_get(marks_at + 1)?);
            c.pending
                .know_lists(&table, subject, r.try_get(marks_at + 2)?);
        }
    }
    Ok(runs)
}

/// How many columns [`raw_run`] reads.
const RUN_FIELDS: usize = 17;

pub fn apply(c: &mut Conn, s: &str, id: i64, at: i64, t: &Transition) -> R<bool> {
    // A run this unit inserted ends later, with the unit's other ends.
    let end = match t {
        Transition::Finish { state, converted } => Some((state.as_str(), *converted, None)),
        Transition::Fail { error } => Some(("failed", false, Some(*error))),
        Transition::Ended => Some(("done", false, None)),
        _ => None,
    };
    if let Some((status, converted, error)) = end
        && let Some(changed) = c.pending.end(id, status, at, converted, error)
    {
        return Ok(changed);
    }
    let changed = match t {
        Transition::Wait {
            pc,
            step,
            wake_at,
            awaited,
        } => {
            let w = awaited.columns();
            c.execute(
                &format!(
                    "UPDATE {s}.flow_runs SET status = 'waiting', pc = $2, step = $3, wake_at = $4, \
                     updated_at = $5, wait_kind = $6, wait_name = $7, wait_tbl = $8, wait_row = $9, \
                     wait_clicked = $10, wait_approval = $11 \
                     WHERE id = $1 AND status IN ('running', 'waiting')"
                ),
                &[
                    &id,
                    &pc_text(pc),
                    step,
                    wake_at,
                    &at,
                    &w.kind,
                    &w.name,
                    &w.table,
                    &w.row,
                    &w.clicked,
                    &w.approval,
                ],
            )?
        }
        Transition::Resume => c.execute(
            &format!(
                "UPDATE {s}.flow_runs SET status = 'running', updated_at = $2 \
                 WHERE id = $1 AND status = 'waiting'"
            ),
            &[&id, &at],
        )?,
        Transition::Finish { state, converted } => c.execute(
            &format!(
                "UPDATE {s}.flow_runs SET status = $2, wake_at = NULL, updated_at = $3, converted = $4, \
                 wait_kind = NULL, wait_name = NULL, wait_tbl = NULL, wait_row = NULL, \
                 wait_clicked = NULL, wait_approval = NULL \
                 WHERE id = $1 AND status IN ('running', 'waiting')"
            ),
            &[&id, &state.as_str(), &at, converted],
        )?,
        Transition::Fail { error } => c.execute(
            &format!(
                "UPDATE {s}.flow_runs SET status = 'failed', wake_at = NULL, updated_at = $2, error = $3, \
                 wait_kind = NULL, wait_name = NULL, wait_tbl = NULL, wait_row = NULL, \
                 wait_clicked = NULL, wait_approval = NULL \
                 WHERE id = $1 AND status IN ('running', 'waiting')"
            ),
            &[&id, &at, error],
        )?,
        Transition::Ended => c.execute(
            &format!(
                "UPDATE {s}.flow_runs SET status = 'done', wake_at = NULL, updated_at = $2, converted = false, \
                 wait_kind = NULL, wait_name = NULL, wait_tbl = NULL, wait_row = NULL, \
                 wait_clicked = NULL, wait_approval = NULL \
                 WHERE id = $1 AND status IN ('running', 'waiting')"
            ),
            &[&id, &at],
        )?,
        Transition::Rejected => c.execute(
            &format!(
                "UPDATE {s}.flow_runs SET status = 'rejected', updated_at = $2 \
                 WHERE id = $1 AND status = 'done'"
            ),
            &[&id, &at],
        )?,
        Transition::Move { version, pc } => c.execute(
            &format!(
                "UPDATE {s}.flow_runs SET version = $2, pc = $3, updated_at = $4 \
                 WHERE id = $1 AND status = 'waiting'"
            ),
            &[&id, version, &pc_text(pc), &at],
        )?,
    };
    Ok(changed > 0)
}

/// One statement, however many ids.
pub fn finish_all(
    c: &mut Conn,
    s: &str,
    ids: &[i64],
    state: RunState,
    converted: bool,
    at: i64,
) -> R<()> {
    let ids: Vec<i64> = ids
        .iter()
        .copied()
        .filter(|&id| {
            c.pending
                .end(id, state.as_str(), at, converted, None)
                .is_none()
        })
        .collect();
    if ids.is_empty() {
        return Ok(());
    }
    c.execute(
        &format!(
            "UPDATE {s}.flow_runs SET status = $1, wake_at = NULL, updated_at = $2, converted = $3, \
             wait_kind = NULL, wait_name = NULL, wait_tbl = NULL, wait_row = NULL, \
             wait_clicked = NULL, wait_approval = NULL \
             WHERE status IN ('running', 'waiting') AND id = ANY($4::bigint[])"
        ),
        &[&state.as_str(), &at, &converted, &ids],
    )?;
    Ok(())
}

pub fn entry_history(
    c: &mut Conn,
    s: &str,
    table: &str,
    subject: i64,
    rule: &str,
) -> R<(bool, Option<i64>)> {
    // The pending ends of other subjects' runs do not change the answer.
    if c.pending.ends_run_of(table, subject, rule) {
        c.flush()?;
    }
    if let Some(History { active, last }) = c.pending.history(table, subject, rule) {
        return Ok((active > 0, last));
    }
    let row = c.keeping().query_one(
        &format!(
            "SELECT coalesce(bool_or(status IN ('running', 'waiting')), false), max(started_at) \
             FROM {s}.flow_runs \
             WHERE subject_id = $2 AND subject_tbl = $1 AND rule = $3 AND NOT subject_gone"
        ),
        &[&table, &subject, &rule],
    )?;
    Ok((row.try_get(0)?, row.try_get(1)?))
}

pub fn same_failure(
    c: &mut Conn,
    s: &str,
    table: &str,
    subject: i64,
    rule: &str,
    error: &str,
) -> R<Option<(i64, i64)>> {
    let Some(row) = c.query_opt(
        &format!(
            "SELECT id, status, error, updated_at FROM {s}.flow_runs \
             WHERE subject_id = $2 AND subject_tbl = $1 AND rule = $3 AND NOT subject_gone \
             ORDER BY id DESC LIMIT 1"
        ),
        &[&table, &subject, &rule],
    )?
    else {
        return Ok(None);
    };
    let status: String = row.try_get(1)?;
    let previous: Option<String> = row.try_get(2)?;
    Ok(
        if status == "failed" && previous.as_deref() == Some(error) {
            Some((row.try_get(0)?, row.try_get(3)?))
        } else {
            None
        },
    )
}

pub fn fail_unreadable(c: &mut Conn, s: &str, id: i64, at: i64, error: &str) -> R<()> {
    c.execute(
        &format!(
            "UPDATE {s}.flow_runs SET status = 'failed', wake_at = NULL, updated_at = $2, error = $3, \
             wait_kind = NULL WHERE id = $1"
        ),
        &[&id, &at, &error],
    )?;
    Ok(())
}

pub fn waiting_for_event(
    c: &mut Conn,
    s: &str,
    table: &str,
    subject: i64,
    name: &str,
) -> R<Vec<i64>> {
    ids(c.query(
        &format!(
            "SELECT id FROM {s}.flow_runs WHERE subject_id = $2 AND subject_tbl = $1 \
             AND status = 'waiting' AND wait_kind = 'event' AND wait_name = $3 ORDER BY id"
        ),
        &[&table, &subject, &name],
    )?)
}

pub fn waiting_for_engagement(
    c: &mut Conn,
    s: &str,
    seen: &crate::store::events::Engagement,
    message: Option<&str>,
) -> R<Vec<i64>> {
    ids(c.query(
        &format!(
            "SELECT r.id FROM {s}.flow_runs r WHERE r.wait_tbl = $1 AND r.wait_row = $2 \
             AND r.status = 'waiting' AND r.wait_kind = 'engagement' AND r.wait_name = $3 \
             AND (NOT r.wait_clicked OR $4) \
             AND ($5::text IS NULL \
               OR NOT EXISTS (SELECT 1 FROM {s}.flow_outbox o WHERE o.run_id = r.id AND o.template = $3 \
                              AND o.recipient_tbl = $1 AND o.recipient_id = $2) \
               OR EXISTS (SELECT 1 FROM {s}.flow_outbox o WHERE o.run_id = r.id \
                          AND o.message_id = '<' || $5 || '>')) \
             ORDER BY r.id"
        ),
        &[&seen.table, &seen.row, &seen.template, &seen.clicked, &message],
    )?)
}

pub fn waiting_for_condition(
    c: &mut Conn,
    s: &str,
    table: &str,
    subject: Option<i64>,
    rule: &str,
) -> R<Vec<i64>> {
    ids(match subject {
        Some(id) => c.query(
            &format!(
                "SELECT id FROM {s}.flow_runs WHERE subject_tbl = $1 AND subject_id = $2 AND rule = $3 \
                 AND status = 'waiting' AND wait_kind IN ('until', 'unless') ORDER BY id"
            ),
            &[&table, &id, &rule],
        )?,
        None => c.query(
            // The form of `flow_runs_conditions`' WHERE, so that it is used.
            &format!(
                "SELECT id FROM {s}.flow_runs WHERE rule = $1 \
                 AND status = 'waiting' AND wait_kind IN ('until', 'unless') ORDER BY id"
            ),
            &[&rule],
        )?,
    })
}

/// Every waiting run of `rule` (on `subject`, or on any), whatever it
/// waits for, by id.
pub fn waiting_runs_of(
    c: &mut Conn,
    s: &str,
    table: &str,
    subject: Option<i64>,
    rule: &str,
) -> R<Vec<i64>> {
    ids(match subject {
        Some(id) => c.query(
            &format!(
                "SELECT id FROM {s}.flow_runs WHERE subject_tbl = $1 AND subject_id = $2 AND rule = $3 \
                 AND status = 'waiting' ORDER BY id"
            ),
            &[&table, &id, &rule],
        )?,
        None => c.query(
            &format!(
                "SELECT id FROM {s}.flow_runs WHERE subject_tbl = $1 AND rule = $2 \
                 AND status = 'waiting' ORDER BY id"
            ),
            &[&table, &rule],
        )?,
    })
}

pub fn due_timers(c: &mut Conn, s: &str, now: i64, limit: usize) -> R<Vec<(i64, i64)>> {
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    c.query(
        &format!(
            "SELECT id, wake_at FROM {s}.flow_runs \
             WHERE status = 'waiting' AND wake_at IS NOT NULL AND wake_at <= $1 \
             ORDER BY wake_at, id LIMIT $2"
        ),
        &[&now, &limit],
    )?
    .iter()
    .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
    .collect()
}

pub fn waiting(c: &mut Conn, s: &str) -> R<Vec<WaitingAt>> {
    c.query(
        &format!(
            "SELECT id, rule, version, step FROM {s}.flow_runs WHERE status = 'waiting' ORDER BY id"
        ),
        &[],
    )?
    .iter()
    .map(|r| {
        Ok(WaitingAt {
            id: r.try_get(0)?,
            rule: r.try_get(1)?,
            version: r.try_get(2)?,
            step: r.try_get(3)?,
        })
    })
    .collect()
}
