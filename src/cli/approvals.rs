//! `flowc approvals`: the approval queue of semi-automatic rules.

use crate::ir::Schema;
use crate::mail::approval::{self, Shown};
use crate::store::Store;
use crate::store::approvals::{DecideError, DecidedBy, Decision, Pending};
use std::collections::HashMap;
use std::path::PathBuf;
use std::process::ExitCode;

/// List pending approvals, or approve or reject one. The waiting run goes
/// on (approve) or ends, running its `on reject` block (reject), at the
/// next `flowc run`.
///
/// The list shows each approval's record by its key fields and its
/// approver by name and address, read with the rules the run follows.
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
            let mut schemas = Schemas::default();
            for p in pending {
                let (subject, approver) = shown(store, &mut schemas, &p)?;
                println!(
                    "{}  {}  {} — approver {}, requested {}",
                    p.id,
                    p.rule,
                    subject.key_fields(),
                    approver.person(),
                    approval::when(p.requested_at, zone)
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
    let who = match std::env::var("USER").ok().filter(|u| !u.trim().is_empty()) {
        Some(user) => format!("flowc approvals (user {})", approval::one_line(&user)),
        None => "flowc approvals".to_string(),
    };
    let by = DecidedBy {
        who: Some(&who),
        note: note.as_deref(),
    };
    match store.decide_approval(id, decision, at, by) {
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

/// The schema of each rule version the listed approvals' runs follow,
/// rebuilt from the project text kept with it (`None` when it was not kept
/// or no longer checks: the records then show by table and id).
#[derive(Default)]
struct Schemas(HashMap<(String, String), Option<Schema>>);

impl Schemas {
    fn of(&mut self, store: &dyn Store, rule: &str, version: &str) -> Option<&Schema> {
        self.0
            .entry((rule.to_string(), version.to_string()))
            .or_insert_with(|| {
                let text = store.version_project(rule, version).ok().flatten()?;
                let project = crate::project::Project::from_snapshot(&text)?;
                let checked = project.check();
                if checked.diagnostics.iter().any(|d| d.is_error()) {
                    return None;
                }
                Some(checked.program.schema)
            })
            .as_ref()
    }
}

/// A pending approval's record and approver, as the list shows them.
fn shown(store: &dyn Store, schemas: &mut Schemas, p: &Pending) -> Result<(Shown, Shown), String> {
    let bare = (
        Shown::bare(&p.subject_table, p.subject),
        Shown::bare(&p.approver_table, p.approver),
    );
    let Some(found) = store.approval(p.id).map_err(|e| e.to_string())? else {
        return Ok(bare);
    };
    let Some(schema) = schemas.of(store, &p.rule, &found.version) else {
        return Ok(bare);
    };
    let load = |table: &str, id: i64| {
        approval::load(store, schema, table, id)
            .map(|s| s.unwrap_or_else(|| Shown::bare(table, id)))
            .map_err(|e| e.to_string())
    };
    Ok((
        load(&p.subject_table, p.subject)?,
        load(&p.approver_table, p.approver)?,
    ))
}
