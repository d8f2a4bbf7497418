//! `flow_approvals`: approvals requested by `require approval`, decided by
//! a person (`flowc approvals`), then applied to the waiting run once.

use rusqlite::{Connection, OptionalExtension, params};

/// A person's decision.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Decision {
    Approved,
    Rejected,
}

impl Decision {
    pub fn as_str(self) -> &'static str {
        match self {
            Decision::Approved => "approved",
            Decision::Rejected => "rejected",
        }
    }
}

/// A decided approval not yet applied to its run.
#[derive(Clone, Debug, PartialEq)]
pub struct Decided {
    pub approval: i64,
    pub run: i64,
    pub decision: Decision,
}

/// Decided approvals the engine has not applied, in the order decided.
/// A stored status other than `approved`/`rejected` is an error naming
/// the row.
pub fn decided(conn: &Connection) -> Result<Vec<Decided>, super::state::StateError> {
    let rows: Vec<(i64, i64, String)> = conn
        .prepare_cached(
            "SELECT id, run_id, status FROM flow_approvals WHERE applied = 0 AND status != 'pending' \
             ORDER BY decided_at, id",
        )?
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
        .collect::<Result<_, _>>()?;
    rows.into_iter()
        .map(|(approval, run, status)| decided_row(approval, run, status))
        .collect()
}

/// A row of [`decided`]'s query (both backends): its stored status must
/// name a decision; anything else is an error naming the row.
pub(crate) fn decided_row(
    approval: i64,
    run: i64,
    status: String,
) -> Result<Decided, super::state::StateError> {
    let decision = match status.as_str() {
        "approved" => Decision::Approved,
        "rejected" => Decision::Rejected,
        _ => {
            return Err(super::state::StateError::Corrupt {
                table: "flow_approvals",
                row: format!("#{approval} (column `status`)"),
                value: status,
                expected: "pending, approved or rejected",
            });
        }
    };
    Ok(Decided {
        approval,
        run,
        decision,
    })
}

/// Claims a decided approval for applying; `false` if another process
/// already did.
pub fn claim_decided(conn: &Connection, approval: i64) -> rusqlite::Result<bool> {
    let n = conn
        .prepare_cached("UPDATE flow_approvals SET applied = 1 WHERE id = ?1 AND applied = 0")?
        .execute([approval])?;
    Ok(n > 0)
}

/// Cancels a pending approval (its run ended without it), saying why in
/// its note; false if it was not pending.
pub fn cancel(conn: &Connection, approval: i64, at: i64, note: &str) -> rusqlite::Result<bool> {
    let n = conn
        .prepare_cached(
            "UPDATE flow_approvals SET status = 'cancelled', decided_at = ?2, applied = 1, note = ?3 \
             WHERE id = ?1 AND status = 'pending'",
        )?
        .execute(params![approval, at, note])?;
    Ok(n > 0)
}

/// Why a decision could not be recorded.
#[derive(Debug, PartialEq)]
pub enum DecideError {
    AlreadyDecided,
    /// Its run ended before anyone decided (its record was deleted).
    Cancelled,
    NoSuchApproval,
}

/// A person's decision, as recorded: who made it and their comment.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DecidedBy<'a> {
    /// Who decided (`田中 <tanaka@example.jp> (user #3)`, `flowc approvals`).
    pub who: Option<&'a str>,
    /// The comment (`--note`, the approval page's comment box).
    pub note: Option<&'a str>,
}

/// Records a person's decision on a pending approval at engine time `at`.
pub fn decide(
    conn: &Connection,
    approval: i64,
    decision: Decision,
    at: i64,
    by: DecidedBy,
) -> rusqlite::Result<Result<(), DecideError>> {
    let changed = conn.execute(
        "UPDATE flow_approvals SET status = ?2, decided_at = ?3, note = ?4, decided_by = ?5 \
         WHERE id = ?1 AND status = 'pending'",
        params![approval, decision.as_str(), at, by.note, by.who],
    )?;
    if changed > 0 {
        return Ok(Ok(()));
    }
    let status: Option<String> = conn
        .query_row(
            "SELECT status FROM flow_approvals WHERE id = ?1",
            [approval],
            |r| r.get(0),
        )
        .optional()?;
    Ok(Err(match status.as_deref() {
        None => DecideError::NoSuchApproval,
        Some("cancelled") => DecideError::Cancelled,
        Some(_) => DecideError::AlreadyDecided,
    }))
}

/// Decides every pending approval (of runs on `subject`, if given), as a
/// `flowc test` step does; returns how many.
pub fn decide_pending(
    conn: &Connection,
    decision: Decision,
    at: i64,
    subject: Option<i64>,
) -> rusqlite::Result<usize> {
    conn.execute(
        "UPDATE flow_approvals SET status = ?1, decided_at = ?2 WHERE status = 'pending' \
         AND (?3 IS NULL OR run_id IN (SELECT id FROM flow_runs WHERE subject_id = ?3))",
        params![decision.as_str(), at, subject],
    )
}

/// A pending approval, for `flowc approvals list`.
#[derive(Clone, Debug, PartialEq)]
pub struct Pending {
    pub id: i64,
    pub rule: String,
    pub subject_table: String,
    pub subject: i64,
    pub approver_table: String,
    pub approver: i64,
    pub requested_at: i64,
}

pub fn pending(conn: &Connection) -> rusqlite::Result<Vec<Pending>> {
    conn.prepare(
        "SELECT a.id, a.rule, r.subject_tbl, r.subject_id, a.approver_tbl, a.approver_id, a.requested_at \
         FROM flow_approvals a JOIN flow_runs r ON r.id = a.run_id WHERE a.status = 'pending' ORDER BY a.id",
    )?
    .query_map([], |r| {
        Ok(Pending {
            id: r.get(0)?,
            rule: r.get(1)?,
            subject_table: r.get(2)?,
            subject: r.get(3)?,
            approver_table: r.get(4)?,
            approver: r.get(5)?,
            requested_at: r.get(6)?,
        })
    })?
    .collect()
}

/// Where an approval stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    Pending,
    Approved,
    Rejected,
    /// Its run ended before anyone decided (its record was deleted).
    Cancelled,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Pending => "pending",
            Status::Approved => "approved",
            Status::Rejected => "rejected",
            Status::Cancelled => "cancelled",
        }
    }

    /// A stored status; anything else is an error naming the row.
    pub fn parse(approval: i64, text: String) -> Result<Status, super::state::StateError> {
        Ok(match text.as_str() {
            "pending" => Status::Pending,
            "approved" => Status::Approved,
            "rejected" => Status::Rejected,
            "cancelled" => Status::Cancelled,
            _ => {
                return Err(super::state::StateError::Corrupt {
                    table: "flow_approvals",
                    row: format!("#{approval} (column `status`)"),
                    value: text,
                    expected: "pending, approved, rejected or cancelled",
                });
            }
        })
    }
}

/// One approval with its run's subject: what the approval page and
/// `flowc approvals list` show.
#[derive(Clone, Debug, PartialEq)]
pub struct Approval {
    pub id: i64,
    pub run: i64,
    pub rule: String,
    /// The version of the rule the run follows (`flow_versions` keeps its
    /// project text).
    pub version: String,
    pub subject_table: String,
    pub subject: i64,
    pub approver_table: String,
    pub approver: i64,
    pub status: Status,
    pub requested_at: i64,
    pub decided_at: Option<i64>,
    pub decided_by: Option<String>,
    /// The comment given with the decision.
    pub note: Option<String>,
}

/// The columns [`approval`] reads (both backends), in [`Approval`]'s order.
pub(crate) const APPROVAL_COLUMNS: &str = "a.id, a.run_id, a.rule, r.version, r.subject_tbl, r.subject_id, \
     a.approver_tbl, a.approver_id, a.status, a.requested_at, a.decided_at, a.decided_by, a.note";

/// Approval `id` with its run's subject; `None` if there is none (or its
/// run is gone).
pub fn approval(conn: &Connection, id: i64) -> Result<Option<Approval>, super::state::StateError> {
    let row = conn
        .prepare_cached(&format!(
            "SELECT {APPROVAL_COLUMNS} FROM flow_approvals a JOIN flow_runs r ON r.id = a.run_id \
             WHERE a.id = ?1"
        ))?
        .query_row([id], |r| {
            Ok((
                Approval {
                    id: r.get(0)?,
                    run: r.get(1)?,
                    rule: r.get(2)?,
                    version: r.get(3)?,
                    subject_table: r.get(4)?,
                    subject: r.get(5)?,
                    approver_table: r.get(6)?,
                    approver: r.get(7)?,
                    status: Status::Pending,
                    requested_at: r.get(9)?,
                    decided_at: r.get(10)?,
                    decided_by: r.get(11)?,
                    note: r.get(12)?,
                },
                r.get::<_, String>(8)?,
            ))
        })
        .optional()?;
    row.map(|(approval, status)| {
        Ok(Approval {
            status: Status::parse(approval.id, status)?,
            ..approval
        })
    })
    .transpose()
}
