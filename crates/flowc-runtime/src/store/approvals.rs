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

/// Why a decision could not be recorded.
#[derive(Debug, PartialEq)]
pub enum DecideError {
    AlreadyDecided,
    /// Its run ended before anyone decided (its record was deleted).
    Cancelled,
    NoSuchApproval,
}

/// Records a person's decision on a pending approval at engine time `at`.
pub fn decide(
    conn: &Connection,
    approval: i64,
    decision: Decision,
    at: i64,
    note: Option<&str>,
) -> rusqlite::Result<Result<(), DecideError>> {
    let changed = conn.execute(
        "UPDATE flow_approvals SET status = ?2, decided_at = ?3, note = ?4 WHERE id = ?1 AND status = 'pending'",
        params![approval, decision.as_str(), at, note],
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
