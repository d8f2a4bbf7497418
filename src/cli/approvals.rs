//! `flowc approvals`: the approval queue of semi-automatic rules.

use rusqlite::params;
use std::path::PathBuf;
use std::process::ExitCode;

/// List pending approvals, or approve or reject one. The waiting run goes
/// on (approve) or ends, running its `on reject` block (reject), at the
/// next `flowc run`.
///
/// Examples:
///   flowc approvals --db crm.sqlite
///   flowc approvals --db crm.sqlite approve 3
#[derive(clap::Args)]
#[command(verbatim_doc_comment)]
pub struct Args {
    #[arg(long, value_name = "FILE")]
    db: PathBuf,
    #[command(subcommand)]
    action: Option<Action>,
}

#[derive(clap::Subcommand)]
enum Action {
    /// Show pending approvals (the default).
    List,
    /// Let the run go on.
    Approve {
        id: i64,
        #[arg(long)]
        note: Option<String>,
    },
    /// End the run (after its `on reject` steps).
    Reject {
        id: i64,
        #[arg(long)]
        note: Option<String>,
    },
}

pub fn run(args: Args) -> Result<ExitCode, String> {
    let action = args.action.unwrap_or(Action::List);
    let conn = match action {
        Action::List => super::open_db_read_only(&args.db)?,
        _ => super::open_db(&args.db)?,
    };
    let zone = super::db_zone(&conn);
    match action {
        Action::List => {
            let mut stmt = conn
                .prepare(
                    "SELECT a.id, a.rule, r.subject_tbl, r.subject_id, a.approver_tbl, a.approver_id, a.requested_at \
                     FROM flow_approvals a JOIN flow_runs r ON r.id = a.run_id WHERE a.status = 'pending' ORDER BY a.id",
                )
                .map_err(|e| e.to_string())?;
            let rows: Vec<(i64, String, String, i64, String, i64, i64)> = stmt
                .query_map([], |r| {
                    Ok((
                        r.get(0)?,
                        r.get(1)?,
                        r.get(2)?,
                        r.get(3)?,
                        r.get(4)?,
                        r.get(5)?,
                        r.get(6)?,
                    ))
                })
                .and_then(|rows| rows.collect())
                .map_err(|e| e.to_string())?;
            if rows.is_empty() {
                println!("no approvals pending");
            }
            for (id, rule, tbl, subject, approver_tbl, approver, at) in rows {
                println!(
                    "{id}  {rule}  {tbl} #{subject}  approver {approver_tbl} #{approver}  requested {}",
                    crate::time::format_datetime(at, zone)
                );
            }
        }
        Action::Approve { id, note } => decide(&conn, id, "approved", note)?,
        Action::Reject { id, note } => decide(&conn, id, "rejected", note)?,
    }
    Ok(ExitCode::SUCCESS)
}

fn decide(
    conn: &rusqlite::Connection,
    id: i64,
    status: &str,
    note: Option<String>,
) -> Result<(), String> {
    let at = super::db_clock(conn)?;
    let changed = conn
        .execute(
            "UPDATE flow_approvals SET status = ?2, decided_at = ?3, note = ?4 WHERE id = ?1 AND status = 'pending'",
            params![id, status, at, note],
        )
        .map_err(|e| e.to_string())?;
    if changed == 0 {
        let exists: bool = conn
            .query_row(
                "SELECT EXISTS (SELECT 1 FROM flow_approvals WHERE id = ?1)",
                [id],
                |r| r.get(0),
            )
            .map_err(|e| e.to_string())?;
        return Err(if exists {
            format!("approval {id} was already decided")
        } else {
            format!("there is no approval {id}")
        });
    }
    println!("approval {id} {status}; the run goes on at the next `flowc run`");
    Ok(())
}
