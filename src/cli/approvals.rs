//! `flowc approvals`: the approval queue of semi-automatic rules.

use crate::store::approvals::{DecideError, Decision};
use std::path::PathBuf;
use std::process::ExitCode;

/// List pending approvals, or approve or reject one. The waiting run goes
/// on (approve) or ends, running its `on reject` block (reject), at the
/// next `flowc run`.
///
/// Examples:
///   flowc approvals --db crm.sqlite
///   flowc approvals --db crm.sqlite approve 3
///   flowc approvals --db postgresql://sales@db/crm reject 4 --note "too early"
#[derive(clap::Args)]
#[command(verbatim_doc_comment)]
pub struct Args {
    /// The database: a SQLite file or a postgresql:// URL.
    #[arg(long, value_name = "FILE|URL")]
    db: PathBuf,
    /// On PostgreSQL: the schema flowc's own tables live in.
    #[arg(long, value_name = "NAME", default_value = "flowc")]
    state_schema: String,
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
    let access = match action {
        Action::List => super::Access::Look,
        _ => super::Access::Settle,
    };
    let store = super::open_state(&args.db, &args.state_schema, access)?;
    let store = store.as_ref();
    match action {
        Action::List => {
            let zone = super::state_zone(store);
            let pending = store.pending_approvals().map_err(|e| e.to_string())?;
            if pending.is_empty() {
                println!("no approvals pending");
            }
            for p in pending {
                println!(
                    "{}  {}  {} #{}  approver {} #{}  requested {}",
                    p.id,
                    p.rule,
                    p.subject_table,
                    p.subject,
                    p.approver_table,
                    p.approver,
                    crate::time::format_datetime(p.requested_at, zone)
                );
            }
        }
        Action::Approve { id, note } => decide(store, id, Decision::Approved, note)?,
        Action::Reject { id, note } => decide(store, id, Decision::Rejected, note)?,
    }
    Ok(ExitCode::SUCCESS)
}

fn decide(
    store: &dyn crate::store::Store,
    id: i64,
    decision: Decision,
    note: Option<String>,
) -> Result<(), String> {
    let at = super::state_clock(store)?;
    match store.decide_approval(id, decision, at, note.as_deref()) {
        Ok(Ok(())) => {}
        Ok(Err(DecideError::AlreadyDecided)) => {
            return Err(format!("approval {id} was already decided"));
        }
        Ok(Err(DecideError::NoSuchApproval)) => return Err(format!("there is no approval {id}")),
        Ok(Err(DecideError::Cancelled)) => {
            return Err(format!(
                "approval {id} was cancelled: its run ended when its record was deleted"
            ));
        }
        Err(e) => return Err(e.to_string()),
    }
    println!(
        "approval {id} {}; the run goes on at the next `flowc run`",
        decision.as_str()
    );
    Ok(())
}
