//! `flow_runs`: a run's life, typed. A run's state is a [`RunState`]; what
//! a waiting run waits for is an [`Awaited`], kept in typed columns
//! (`wait_kind`, `wait_name`, `wait_tbl`, `wait_row`, `wait_clicked`,
//! `wait_approval`); every change of state is one [`Transition`] applied by
//! [`apply`]. Reading a run that cannot be decoded (a damaged position, an
//! unknown state, a waiting run without what it waits for) is an error
//! naming the row, never a default.

use super::state::StateError;
pub use flowc_check::ir::RunState;
use rusqlite::{Connection, OptionalExtension, params};

/// What a waiting run waits for, besides its timer (`wake_at`).
#[derive(Clone, Debug, PartialEq)]
pub enum Awaited {
    /// Only its timer.
    Time,
    /// `wait until CONDITION`: re-checked when what it reads changes.
    Until,
    /// `wait … unless CONDITION`: likewise; ends the run when true.
    Unless,
    /// `wait … unless event NAME` on the run's subject.
    Event { name: String },
    /// `wait … unless R opened T` (or `clicked`).
    Engagement {
        table: String,
        row: i64,
        template: String,
        clicked: bool,
    },
    /// `require approval`: the approval's id.
    Approval(i64),
}

impl Awaited {
    fn kind(&self) -> &'static str {
        match self {
            Awaited::Time => "time",
            Awaited::Until => "until",
            Awaited::Unless => "unless",
            Awaited::Event { .. } => "event",
            Awaited::Engagement { .. } => "engagement",
            Awaited::Approval(_) => "approval",
        }
    }
}

/// The columns of `flow_runs` that hold an [`Awaited`].
pub(in crate::store) struct AwaitedColumns<'a> {
    pub kind: &'static str,
    pub name: Option<&'a str>,
    pub table: Option<&'a str>,
    pub row: Option<i64>,
    pub clicked: Option<bool>,
    pub approval: Option<i64>,
}

impl Awaited {
    pub(in crate::store) fn columns(&self) -> AwaitedColumns<'_> {
        let mut c = AwaitedColumns {
            kind: self.kind(),
            name: None,
            table: None,
            row: None,
            clicked: None,
            approval: None,
        };
        match self {
            Awaited::Time | Awaited::Until | Awaited::Unless => {}
            Awaited::Event { name } => c.name = Some(name),
            Awaited::Engagement {
                table,
                row,
                template,
                clicked,
            } => {
                c.name = Some(template);
                c.table = Some(table);
                c.row = Some(*row);
                c.clicked = Some(*clicked);
            }
            Awaited::Approval(id) => c.approval = Some(*id),
        }
        c
    }

    fn decode(
        kind: &str,
        name: Option<String>,
        table: Option<String>,
        row: Option<i64>,
        clicked: Option<bool>,
        approval: Option<i64>,
    ) -> Option<Awaited> {
        Some(match kind {
            "time" => Awaited::Time,
            "until" => Awaited::Until,
            "unless" => Awaited::Unless,
            "event" => Awaited::Event { name: name? },
            "engagement" => Awaited::Engagement {
                table: table?,
                row: row?,
                template: name?,
                clicked: clicked?,
            },
            "approval" => Awaited::Approval(approval?),
            _ => return None,
        })
    }
}

/// One row of `flow_runs`, decoded.
#[derive(Clone, Debug, PartialEq)]
pub struct StoredRun {
    pub id: i64,
    pub rule: String,
    pub version: String,
    pub subject_id: i64,
    pub state: RunState,
    /// Where the run is: a path of step indices (see `engine::pc`).
    pub pc: Vec<u32>,
    /// The stable name of the step it is at.
    pub step: String,
    pub wake_at: Option<i64>,
    /// What else may wake it, while waiting.
    pub awaited: Option<Awaited>,
    pub started_at: i64,
    /// What started it (old values, event payload), as stored.
    pub trigger: serde_json::Value,
    pub start_seq: i64,
    pub depth: i64,
}

fn corrupt(id: i64, column: &str, value: impl Into<String>, expected: &'static str) -> StateError {
    StateError::Corrupt {
        table: "flow_runs",
        row: format!("#{id} (column `{column}`)"),
        value: value.into(),
        expected,
    }
}

/// A position as stored: `2.1.0`.
pub fn pc_text(pc: &[u32]) -> String {
    pc.iter().map(u32::to_string).collect::<Vec<_>>().join(".")
}

fn parse_pc(text: &str) -> Option<Vec<u32>> {
    text.split('.').map(|p| p.parse().ok()).collect()
}

/// A `flow_runs` row's columns as stored, before decoding: what each
/// backend reads (in [`RUN_COLUMNS`]' order) and hands to [`decode`].
pub(in crate::store) struct RawRun {
    pub rule: String,
    pub version: String,
    pub subject_id: i64,
    pub status: String,
    pub wake_at: Option<i64>,
    pub pc: String,
    pub step: String,
    pub started_at: i64,
    pub trigger: String,
    pub start_seq: i64,
    pub depth: i64,
    pub wait_kind: Option<String>,
    pub wait_name: Option<String>,
    pub wait_tbl: Option<String>,
    pub wait_row: Option<i64>,
    pub wait_clicked: Option<bool>,
    pub wait_approval: Option<i64>,
}

/// The columns [`load`] and [`load_many`] read, in [`RawRun`]'s order.
pub(in crate::store) const RUN_COLUMNS: &str = "rule, version, subject_id, status, wake_at, \
     pc, step, started_at, trigger, start_seq, \
     depth, wait_kind, wait_name, wait_tbl, wait_row, \
     wait_clicked, wait_approval";

fn raw_run(r: &rusqlite::Row, at: usize) -> rusqlite::Result<RawRun> {
    Ok(RawRun {
        rule: r.get(at)?,
        version: r.get(at + 1)?,
        subject_id: r.get(at + 2)?,
        status: r.get(at + 3)?,
        wake_at: r.get(at + 4)?,
        pc: r.get(at + 5)?,
        step: r.get(at + 6)?,
        started_at: r.get(at + 7)?,
        trigger: r.get(at + 8)?,
        start_seq: r.get(at + 9)?,
        depth: r.get(at + 10)?,
        wait_kind: r.get(at + 11)?,
        wait_name: r.get(at + 12)?,
        wait_tbl: r.get(at + 13)?,
        wait_row: r.get(at + 14)?,
        wait_clicked: r.get(at + 15)?,
        wait_approval: r.get(at + 16)?,
    })
}

/// A run by id: `Ok(None)` if there is none, `Err(Corrupt)` naming the row
/// and column if it cannot be decoded.
pub fn load(conn: &Connection, id: i64) -> Result<Option<StoredRun>, StateError> {
    let raw: Option<RawRun> = conn
        .prepare_cached(&format!(
            "SELECT {RUN_COLUMNS} FROM flow_runs WHERE id = ?1"
        ))?
        .query_row([id], |r| raw_run(r, 0))
        .optional()?;
    let Some(raw) = raw else {
        return Ok(None);
    };
    decode(id, raw).map(Some)
}

/// Several runs by id in one statement (a batch of due timers), each
/// decoded as [`load`] does; runs that do not exist are missing.
pub fn load_many(
    conn: &Connection,
    ids: &[i64],
) -> rusqlite::Result<Vec<(i64, Result<StoredRun, StateError>)>> {
    let json = serde_json::Value::from(ids.to_vec()).to_string();
    conn.prepare_cached(&format!(
        // CROSS JOIN: look each id up by rowid; never scan flow_runs.
        "SELECT r.id, {RUN_COLUMNS} FROM json_each(?1) AS j CROSS JOIN flow_runs AS r ON r.id = j.value"
    ))?
    .query_map([json], |r| {
        let id: i64 = r.get(0)?;
        Ok((id, raw_run(r, 1)?))
    })?
    .map(|row| row.map(|(id, raw)| (id, decode(id, raw))))
    .collect()
}

/// Decodes run `id`'s stored columns, whichever backend read them; an
/// error names the row and the column that cannot be decoded.
pub(in crate::store) fn decode(id: i64, raw: RawRun) -> Result<StoredRun, StateError> {
    let RawRun {
        rule,
        version,
        subject_id,
        status,
        wake_at,
        pc,
        step,
        started_at,
        trigger,
        start_seq,
        depth,
        wait_kind: kind,
        wait_name: name,
        wait_tbl: table,
        wait_row: row,
        wait_clicked: clicked,
        wait_approval: approval,
    } = raw;
    let state = RunState::parse(&status)
        .ok_or_else(|| corrupt(id, "status", status.clone(), "a run state"))?;
    let active = matches!(state, RunState::Waiting | RunState::Running);
    let pc = match parse_pc(&pc) {
        Some(p) if !(active && p.is_empty()) => p,
        _ if !active => Vec::new(),
        _ => return Err(corrupt(id, "pc", pc, "a step position such as `2.1.0`")),
    };
    let trigger = serde_json::from_str(&trigger)
        .map_err(|_| corrupt(id, "trigger", trigger, "a JSON object"))?;
    let awaited = match (state, kind) {
        (RunState::Waiting, None) => {
            return Err(corrupt(id, "wait_kind", "null", "what the run waits for"));
        }
        (RunState::Waiting, Some(kind)) => Some(
            Awaited::decode(&kind, name, table, row, clicked, approval).ok_or_else(|| {
                corrupt(
                    id,
                    "wait_kind",
                    kind,
                    "what the run waits for, with its columns",
                )
            })?,
        ),
        _ => None,
    };
    Ok(StoredRun {
        id,
        rule,
        version,
        subject_id,
        state,
        pc,
        step,
        wake_at,
        awaited,
        started_at,
        trigger,
        start_seq,
        depth,
    })
}

/// A change of a run's state, and the columns it writes.
#[derive(Clone, Debug)]
pub enum Transition<'a> {
    /// Running → waiting at `pc`, until `wake_at` or what it awaits.
    Wait {
        pc: &'a [u32],
        step: &'a str,
        wake_at: Option<i64>,
        awaited: &'a Awaited,
    },
    /// Waiting → running (an approval was rejected and `on reject` runs).
    Resume,
    /// → done or rejected, with whether its subject met the goal.
    Finish { state: RunState, converted: bool },
    /// → failed, with why.
    Fail { error: &'a str },
    /// Done → rejected: its `on reject` steps ran to the end.
    Rejected,
    /// Moved to another version of its rule, at `pc`.
    Move { version: &'a str, pc: &'a [u32] },
    /// → done without its goal counting: its subject row was deleted.
    Ended,
}

/// Runs per multi-row statement in [`finish_all`].
const CHUNK: usize = 64;

/// [`Transition::Finish`] for many runs that end alike, with one `UPDATE`
/// per chunk of ids; runs no longer running or waiting are left alone.
pub fn finish_all(
    conn: &Connection,
    ids: &[i64],
    state: RunState,
    converted: bool,
    at: i64,
) -> rusqlite::Result<()> {
    let mut chunks = ids.chunks_exact(CHUNK);
    if chunks.len() > 0 {
        let marks = vec!["?"; CHUNK].join(", ");
        let sql = format!(
            "UPDATE flow_runs SET status = ?, wake_at = NULL, updated_at = ?, converted = ?, \
             wait_kind = NULL, wait_name = NULL, wait_tbl = NULL, wait_row = NULL, wait_clicked = NULL, \
             wait_approval = NULL WHERE status IN ('running', 'waiting') AND id IN ({marks})"
        );
        let mut stmt = conn.prepare_cached(&sql)?;
        for chunk in &mut chunks {
            let head: [&dyn rusqlite::ToSql; 3] = [&state.as_str(), &at, &converted];
            let values: Vec<&dyn rusqlite::ToSql> = head
                .into_iter()
                .chain(chunk.iter().map(|id| id as &dyn rusqlite::ToSql))
                .collect();
            stmt.execute(values.as_slice())?;
        }
    }
    for &id in chunks.remainder() {
        apply(conn, id, at, &Transition::Finish { state, converted })?;
    }
    Ok(())
}

/// Applies a transition to run `id` at engine time `at`. Returns whether
/// the run was in a state the transition starts from (else nothing changed).
pub fn apply(conn: &Connection, id: i64, at: i64, t: &Transition) -> rusqlite::Result<bool> {
    let changed = match t {
        Transition::Wait {
            pc,
            step,
            wake_at,
            awaited,
        } => {
            let c = awaited.columns();
            conn.prepare_cached(
                "UPDATE flow_runs SET status = 'waiting', pc = ?2, step = ?3, wake_at = ?4, updated_at = ?5, \
                 wait_kind = ?6, wait_name = ?7, wait_tbl = ?8, wait_row = ?9, wait_clicked = ?10, wait_approval = ?11 \
                 WHERE id = ?1 AND status IN ('running', 'waiting')",
            )?
            .execute(params![
                id,
                pc_text(pc),
                step,
                wake_at,
                at,
                c.kind,
                c.name,
                c.table,
                c.row,
                c.clicked,
                c.approval
            ])?
        }
        Transition::Resume => conn
            .prepare_cached(
                "UPDATE flow_runs SET status = 'running', updated_at = ?2 WHERE id = ?1 AND status = 'waiting'",
            )?
            .execute(params![id, at])?,
        Transition::Finish { state, converted } => conn
            .prepare_cached(
                "UPDATE flow_runs SET status = ?2, wake_at = NULL, updated_at = ?3, converted = ?4, \
                 wait_kind = NULL, wait_name = NULL, wait_tbl = NULL, wait_row = NULL, wait_clicked = NULL, wait_approval = NULL \
                 WHERE id = ?1 AND status IN ('running', 'waiting')",
            )?
            .execute(params![id, state.as_str(), at, converted])?,
        Transition::Fail { error } => conn
            .prepare_cached(
                "UPDATE flow_runs SET status = 'failed', wake_at = NULL, updated_at = ?2, error = ?3, \
                 wait_kind = NULL, wait_name = NULL, wait_tbl = NULL, wait_row = NULL, wait_clicked = NULL, wait_approval = NULL \
                 WHERE id = ?1 AND status IN ('running', 'waiting')",
            )?
            .execute(params![id, at, error])?,
        Transition::Ended => conn
            .prepare_cached(
                "UPDATE flow_runs SET status = 'done', wake_at = NULL, updated_at = ?2, converted = 0, \
                 wait_kind = NULL, wait_name = NULL, wait_tbl = NULL, wait_row = NULL, wait_clicked = NULL, wait_approval = NULL \
                 WHERE id = ?1 AND status IN ('running', 'waiting')",
            )?
            .execute(params![id, at])?,
        Transition::Rejected => conn
            .prepare_cached(
                "UPDATE flow_runs SET status = 'rejected', updated_at = ?2 WHERE id = ?1 AND status = 'done'",
            )?
            .execute(params![id, at])?,
        Transition::Move { version, pc } => conn
            .prepare_cached(
                "UPDATE flow_runs SET version = ?2, pc = ?3, updated_at = ?4 WHERE id = ?1 AND status = 'waiting'",
            )?
            .execute(params![id, version, pc_text(pc), at])?,
    };
    Ok(changed > 0)
}

/// A run to insert: what started it, and the state it starts in.
#[derive(Clone, Debug)]
pub struct NewRun<'a> {
    pub rule: &'a str,
    pub version: &'a str,
    pub subject_table: &'a str,
    pub subject: i64,
    pub at: i64,
    /// What started it (old values, event payload), as JSON.
    pub trigger: &'a str,
    pub start_seq: i64,
    pub depth: i64,
}

/// How a run starts.
#[derive(Clone, Copy, Debug)]
pub enum Start<'a> {
    /// `running`, at its first step.
    Running,
    /// `failed` before its first step, with why.
    Failed(&'a str),
}

/// Inserts a run; returns its id.
pub fn insert(conn: &Connection, run: &NewRun, start: Start) -> rusqlite::Result<i64> {
    let (status, pc, error) = match start {
        Start::Running => ("running", "0", None),
        Start::Failed(error) => ("failed", "", Some(error)),
    };
    conn.prepare_cached(
        "INSERT INTO flow_runs (rule, version, subject_tbl, subject_id, status, pc, step, started_at, updated_at, \
         trigger, start_seq, depth, error) VALUES (?1, ?2, ?3, ?4, ?5, ?6, '', ?7, ?7, ?8, ?9, ?10, ?11)",
    )?
    .execute(params![
        run.rule,
        run.version,
        run.subject_table,
        run.subject,
        status,
        pc,
        run.at,
        run.trigger,
        run.start_seq,
        run.depth,
        error
    ])?;
    Ok(conn.last_insert_rowid())
}

/// A run asleep on a timer at step `step` (its first), as an import or a
/// benchmark creates it without running its rule up to the wait.
#[derive(Clone, Copy, Debug)]
pub struct Sleeping<'a> {
    pub rule: &'a str,
    pub version: &'a str,
    pub subject_table: &'a str,
    pub subject: i64,
    pub step: &'a str,
    pub wake_at: i64,
    pub started_at: i64,
}

/// Inserts a run that waits for `wake_at`; returns its id.
pub fn insert_sleeping(conn: &Connection, run: &Sleeping) -> rusqlite::Result<i64> {
    conn.prepare_cached(
        "INSERT INTO flow_runs (rule, version, subject_tbl, subject_id, status, pc, step, wake_at, wait_kind, \
         started_at, updated_at) VALUES (?1, ?2, ?3, ?4, 'waiting', '0', ?5, ?6, 'time', ?7, ?7)",
    )?
    .execute(params![
        run.rule,
        run.version,
        run.subject_table,
        run.subject,
        run.step,
        run.wake_at,
        run.started_at
    ])?;
    Ok(conn.last_insert_rowid())
}

/// For re-entry: whether `rule` has an active (running or waiting) run on
/// the row, and when its latest run started; runs of a deleted row that
/// had the same id do not count.
pub fn entry_history(
    conn: &Connection,
    table: &str,
    subject: i64,
    rule: &str,
) -> rusqlite::Result<(bool, Option<i64>)> {
    conn.prepare_cached(
        "SELECT coalesce(max(status IN ('running', 'waiting')), 0), max(started_at) FROM flow_runs \
         WHERE subject_id = ?2 AND subject_tbl = ?1 AND rule = ?3 AND subject_gone = 0",
    )?
    .query_row(params![table, subject, rule], |r| {
        Ok((r.get(0)?, r.get(1)?))
    })
}

/// The row's latest run of `rule`, if it failed with `error`: `(id,
/// failed at)`.
pub fn same_failure(
    conn: &Connection,
    table: &str,
    subject: i64,
    rule: &str,
    error: &str,
) -> rusqlite::Result<Option<(i64, i64)>> {
    let latest: Option<(i64, String, Option<String>, i64)> = conn
        .prepare_cached(
            "SELECT id, status, error, updated_at FROM flow_runs \
             WHERE subject_id = ?2 AND subject_tbl = ?1 AND rule = ?3 AND subject_gone = 0 ORDER BY id DESC LIMIT 1",
        )?
        .query_row(params![table, subject, rule], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
        })
        .optional()?;
    Ok(latest.and_then(|(id, status, previous, at)| {
        (status == "failed" && previous.as_deref() == Some(error)).then_some((id, at))
    }))
}

/// Marks a run that cannot be decoded as failed, whatever its columns hold.
pub fn fail_unreadable(conn: &Connection, id: i64, at: i64, error: &str) -> rusqlite::Result<()> {
    conn.prepare_cached(
        "UPDATE flow_runs SET status = 'failed', wake_at = NULL, updated_at = ?2, error = ?3, wait_kind = NULL \
         WHERE id = ?1",
    )?
    .execute(params![id, at, error])?;
    Ok(())
}

/// Waiting runs on `subject` waiting for event `name`.
pub fn waiting_for_event(
    conn: &Connection,
    table: &str,
    subject: i64,
    name: &str,
) -> rusqlite::Result<Vec<i64>> {
    conn.prepare_cached(
        "SELECT id FROM flow_runs WHERE subject_id = ?2 AND subject_tbl = ?1 AND status = 'waiting' \
         AND wait_kind = 'event' AND wait_name = ?3 ORDER BY id",
    )?
    .query_map(params![table, subject, name], |r| r.get(0))?
    .collect()
}

/// Waiting runs that the engagement `seen` (an open or a click of message
/// `message`, if the event names one) ends: those waiting for it on that
/// record and template, unless a run sent the record messages of the
/// template and `message` is none of them (§8: engagement is per message).
pub fn waiting_for_engagement(
    conn: &Connection,
    seen: &super::events::Engagement,
    message: Option<&str>,
) -> rusqlite::Result<Vec<i64>> {
    conn.prepare_cached(
        "SELECT r.id FROM flow_runs r WHERE r.wait_tbl = ?1 AND r.wait_row = ?2 AND r.status = 'waiting' \
         AND r.wait_kind = 'engagement' AND r.wait_name = ?3 AND (r.wait_clicked = 0 OR ?4) \
         AND (?5 IS NULL \
           OR NOT EXISTS (SELECT 1 FROM flow_outbox o WHERE o.run_id = r.id AND o.template = ?3 \
                          AND o.recipient_tbl = ?1 AND o.recipient_id = ?2) \
           OR EXISTS (SELECT 1 FROM flow_outbox o WHERE o.run_id = r.id AND o.message_id = '<' || ?5 || '>')) \
         ORDER BY r.id",
    )?
    .query_map(
        params![seen.table, seen.row, seen.template, seen.clicked, message],
        |r| r.get(0),
    )?
    .collect()
}

/// Waiting runs of `rule` (on `subject`, or on any) that wait for a
/// condition (`until` / `unless`).
pub fn waiting_for_condition(
    conn: &Connection,
    table: &str,
    subject: Option<i64>,
    rule: &str,
) -> rusqlite::Result<Vec<i64>> {
    match subject {
        Some(id) => conn
            .prepare_cached(
                "SELECT id FROM flow_runs WHERE subject_tbl = ?1 AND subject_id = ?2 AND rule = ?3 \
                 AND status = 'waiting' AND (wait_kind = 'until' OR wait_kind = 'unless') ORDER BY id",
            )?
            .query_map(params![table, id, rule], |r| r.get(0))?
            .collect(),
        None => conn
            .prepare_cached(
                // The form of `flow_runs_conditions`' WHERE, so that it is used.
                "SELECT id FROM flow_runs WHERE rule = ?1 AND status = 'waiting' \
                 AND (wait_kind = 'until' OR wait_kind = 'unless') ORDER BY id",
            )?
            .query_map(params![rule], |r| r.get(0))?
            .collect(),
    }
}

/// Every waiting run of `rule` (on `subject`, or on any), whatever it
/// waits for, by id.
pub fn waiting_runs_of(
    conn: &Connection,
    table: &str,
    subject: Option<i64>,
    rule: &str,
) -> rusqlite::Result<Vec<i64>> {
    match subject {
        Some(id) => conn
            .prepare_cached(
                "SELECT id FROM flow_runs WHERE subject_tbl = ?1 AND subject_id = ?2 AND rule = ?3 \
                 AND status = 'waiting' ORDER BY id",
            )?
            .query_map(params![table, id, rule], |r| r.get(0))?
            .collect(),
        None => conn
            .prepare_cached(
                "SELECT id FROM flow_runs WHERE subject_tbl = ?1 AND rule = ?2 \
                 AND status = 'waiting' ORDER BY id",
            )?
            .query_map(params![table, rule], |r| r.get(0))?
            .collect(),
    }
}

/// Waiting runs whose timer is due at or before `now`, earliest first:
/// `(id, wake_at)`.
pub fn due_timers(conn: &Connection, now: i64, limit: usize) -> rusqlite::Result<Vec<(i64, i64)>> {
    // The limit is written into the statement (one cached statement per
    // batch size): SQLite re-prepares a statement whose bound LIMIT may
    // change its plan every time that parameter is bound again.
    conn.prepare_cached(&format!(
        "SELECT id, wake_at FROM flow_runs WHERE status = 'waiting' AND wake_at IS NOT NULL AND wake_at <= ?1 \
         ORDER BY wake_at, id LIMIT {limit}"
    ))?
    .query_map(params![now], |r| Ok((r.get(0)?, r.get(1)?)))?
    .collect()
}

/// A waiting run's rule, version and step, for planning what an edit of
/// the rules means for it.
#[derive(Clone, Debug, PartialEq)]
pub struct WaitingAt {
    pub id: i64,
    pub rule: String,
    pub version: String,
    pub step: String,
}

/// Every waiting run, by id.
pub fn waiting(conn: &Connection) -> rusqlite::Result<Vec<WaitingAt>> {
    conn.prepare(
        "SELECT id, rule, version, step FROM flow_runs WHERE status = 'waiting' ORDER BY id",
    )?
    .query_map([], |r| {
        Ok(WaitingAt {
            id: r.get(0)?,
            rule: r.get(1)?,
            version: r.get(2)?,
            step: r.get(3)?,
        })
    })?
    .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn db() -> Connection {
        let conn = Connection::open_in_memory().expect("memory db");
        super::super::state::migrate(&conn).expect("migrate");
        conn.execute(
            "INSERT INTO flow_runs (id, rule, version, subject_tbl, subject_id, status, pc, step, started_at, updated_at) \
             VALUES (1, 'r', 'v', 'contact', 7, 'running', '0', '', 0, 0)",
            [],
        )
        .expect("run");
        conn
    }

    /// The plan SQLite makes for a query, one line per step.
    fn plan(conn: &Connection, sql: &str) -> String {
        let mut stmt = conn
            .prepare(&format!("EXPLAIN QUERY PLAN {sql}"))
            .expect("explain");
        let lines: Vec<String> = stmt
            .query_map(params!["r"], |r| r.get(3))
            .expect("plan")
            .collect::<rusqlite::Result<_>>()
            .expect("plan rows");
        lines.join("; ")
    }

    /// Looking up a rule's runs that wait for a condition uses the narrow
    /// partial index, and no index holds every waiting run by rule (each
    /// wake would rewrite a page of it).
    #[test]
    fn condition_waits_are_found_by_their_own_index() {
        let conn = db();
        let sql = "SELECT id FROM flow_runs WHERE rule = ?1 AND status = 'waiting' \
                   AND (wait_kind = 'until' OR wait_kind = 'unless') ORDER BY id";
        assert!(
            plan(&conn, sql).contains("flow_runs_conditions"),
            "{}",
            plan(&conn, sql)
        );
        let indexes: Vec<String> = conn
            .prepare(
                "SELECT name FROM sqlite_schema WHERE type = 'index' AND tbl_name = 'flow_runs'",
            )
            .and_then(|mut s| s.query_map([], |r| r.get(0))?.collect())
            .expect("indexes");
        assert!(
            !indexes.iter().any(|i| i == "flow_runs_waiting"),
            "{indexes:?}"
        );
        let id = insert_sleeping(
            &conn,
            &Sleeping {
                rule: "r",
                version: "v",
                subject_table: "contact",
                subject: 8,
                step: "w",
                wake_at: 50,
                started_at: 0,
            },
        )
        .expect("sleeping");
        assert_eq!(
            waiting_for_condition(&conn, "contact", None, "r").ok(),
            Some(vec![])
        );
        conn.execute(
            "UPDATE flow_runs SET wait_kind = 'until' WHERE id = ?1",
            [id],
        )
        .expect("until");
        assert_eq!(
            waiting_for_condition(&conn, "contact", None, "r").ok(),
            Some(vec![id])
        );
        assert_eq!(
            waiting_for_condition(&conn, "contact", Some(8), "r").ok(),
            Some(vec![id])
        );
    }

    #[test]
    fn every_awaited_round_trips_through_its_columns() {
        let conn = db();
        for awaited in [
            Awaited::Time,
            Awaited::Until,
            Awaited::Unless,
            Awaited::Event {
                name: "form_submitted".into(),
            },
            Awaited::Engagement {
                table: "contact".into(),
                row: 7,
                template: "welcome".into(),
                clicked: true,
            },
            Awaited::Approval(3),
        ] {
            let wait = Transition::Wait {
                pc: &[2, 1, 0],
                step: "pause",
                wake_at: Some(60),
                awaited: &awaited,
            };
            assert!(apply(&conn, 1, 5, &wait).expect("wait"));
            let run = load(&conn, 1).expect("load").expect("run");
            assert_eq!(
                (run.state, run.pc.as_slice(), run.awaited.as_ref()),
                (RunState::Waiting, &[2, 1, 0][..], Some(&awaited))
            );
        }
        assert!(
            apply(
                &conn,
                1,
                6,
                &Transition::Finish {
                    state: RunState::Done,
                    converted: false
                }
            )
            .expect("finish")
        );
        let run = load(&conn, 1).expect("load").expect("run");
        assert_eq!((run.state, run.awaited), (RunState::Done, None));
        // A finished run does not start waiting again.
        let wait = Transition::Wait {
            pc: &[0],
            step: "",
            wake_at: None,
            awaited: &Awaited::Time,
        };
        assert!(!apply(&conn, 1, 7, &wait).expect("refused"));
    }

    #[test]
    fn damaged_runs_are_errors_naming_row_and_column() {
        let conn = db();
        let wait = Transition::Wait {
            pc: &[1],
            step: "pause",
            wake_at: Some(60),
            awaited: &Awaited::Time,
        };
        apply(&conn, 1, 5, &wait).expect("wait");
        for (damage, column) in [
            ("UPDATE flow_runs SET pc = '1.x'", "pc"),
            ("UPDATE flow_runs SET pc = ''", "pc"),
            ("UPDATE flow_runs SET trigger = '{not json'", "trigger"),
            ("UPDATE flow_runs SET wait_kind = NULL", "wait_kind"),
            ("UPDATE flow_runs SET wait_kind = 'event'", "wait_kind"),
        ] {
            let conn = db();
            apply(&conn, 1, 5, &wait).expect("wait");
            conn.execute_batch(damage).expect("damage");
            let err = load(&conn, 1).expect_err(damage).to_string();
            assert!(
                err.contains(&format!("flow_runs row #1 (column `{column}`)")),
                "{damage}: {err}"
            );
        }
    }

    /// Finishing many runs at once does what finishing each does, across
    /// full chunks and the rest, and leaves runs that already ended alone.
    #[test]
    fn finishing_many_runs_is_finishing_each() {
        let conn = db();
        let mut ids = Vec::new();
        for subject in 0..(CHUNK as i64 + 3) {
            let run = Sleeping {
                rule: "r",
                version: "v",
                subject_table: "contact",
                subject,
                step: "w",
                wake_at: 50,
                started_at: 0,
            };
            ids.push(insert_sleeping(&conn, &run).expect("sleeping"));
        }
        let failed = ids[5];
        apply(&conn, failed, 60, &Transition::Fail { error: "x" }).expect("fail");
        let last = *ids.last().expect("ids");
        apply(&conn, last, 60, &Transition::Fail { error: "y" }).expect("fail");
        finish_all(&conn, &ids, RunState::Done, true, 70).expect("finish");
        for &id in &ids {
            let run = load(&conn, id).expect("load").expect("run");
            if id == failed || id == last {
                assert_eq!(run.state, RunState::Failed, "run {id}");
                continue;
            }
            assert_eq!(run.state, RunState::Done, "run {id}");
            assert_eq!((run.wake_at, run.awaited), (None, None), "run {id}");
            let (converted, updated): (bool, i64) = conn
                .query_row(
                    "SELECT converted, updated_at FROM flow_runs WHERE id = ?1",
                    [id],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
                .expect("row");
            assert_eq!((converted, updated), (true, 70), "run {id}");
        }
        assert_eq!(due_timers(&conn, 100, 1000).ok(), Some(vec![]));
    }
}
