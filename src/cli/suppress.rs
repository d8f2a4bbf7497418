//! `flowc suppress`: the suppression list, addresses that get no
//! marketing email (DESIGN.md §8).

use crate::store::suppressions::{self, Reason};
use std::path::PathBuf;
use std::process::ExitCode;

/// List, add or remove suppressed addresses. A suppressed address gets no
/// marketing email: a `send email` step to it sends nothing, logs
/// `suppressed` and the run goes on (`flowc stats` counts it).
/// Transactional email (`notify`) still goes unless the address
/// `bounced` or `complained`. Addresses are compared trimmed and
/// case-insensitively. A server's permanent refusal of an address adds it
/// as `bounced` by itself. Adding or removing an address re-checks the
/// waits on `R is unsubscribed` the next time the engine runs.
///
/// Examples:
///   flowc suppress --db crm.sqlite
///   flowc suppress --db crm.sqlite add sato@example.jp
///   flowc suppress --db crm.sqlite add sato@example.jp --reason unsubscribed
///   flowc suppress --db crm.sqlite remove sato@example.jp
///   flowc suppress --db postgresql://sales@db/crm list
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
    /// Show every suppressed address with why and since when (the default).
    List,
    /// Suppress an address (or change why it is suppressed).
    Add {
        address: String,
        /// Why: unsubscribed, bounced, complained or manual.
        #[arg(long, value_enum, default_value_t = ReasonArg::Manual)]
        reason: ReasonArg,
    },
    /// Let an address get marketing email again.
    Remove { address: String },
}

#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum ReasonArg {
    Unsubscribed,
    Bounced,
    Complained,
    Manual,
}

impl ReasonArg {
    fn reason(self) -> Reason {
        match self {
            ReasonArg::Unsubscribed => Reason::Unsubscribed,
            ReasonArg::Bounced => Reason::Bounced,
            ReasonArg::Complained => Reason::Complained,
            ReasonArg::Manual => Reason::Manual,
        }
    }
}

impl std::fmt::Display for ReasonArg {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.reason().as_str())
    }
}

/// Who `flowc suppress add` says suppressed an address (`flow_suppressions.source`).
const SOURCE: &str = "flowc suppress";

pub fn run(args: Args) -> Result<ExitCode, String> {
    let action = args.action.unwrap_or(Action::List);
    let access = match action {
        Action::List => super::Access::Look,
        _ => super::Access::Settle,
    };
    // The address first: a mistyped one is refused before the database
    // is opened.
    let address = match &action {
        Action::List => None,
        Action::Add { address, .. } | Action::Remove { address } => {
            Some(suppressions::parse_address(address)?)
        }
    };
    let store = super::open_state(&args.db, &args.state_schema, access)?;
    let store = store.as_ref();
    let address = address.as_deref().unwrap_or_default();
    match action {
        Action::List => {
            let zone = super::state_zone(store);
            let list = store.suppressions().map_err(|e| e.to_string())?;
            if list.is_empty() {
                println!("no address is suppressed");
            }
            let width = list
                .iter()
                .map(|s| s.address.chars().count())
                .max()
                .unwrap_or(0);
            for s in list {
                let mut line = format!(
                    "{:width$}  {:<12}  since {}",
                    s.address,
                    s.reason,
                    crate::time::format_datetime(s.at, zone)
                );
                if let Some(source) = s.source {
                    line.push_str(&format!("  ({source})"));
                }
                println!("{line}");
            }
        }
        Action::Add { reason, .. } => {
            let reason = reason.reason();
            let at = super::state_clock(store)?;
            match store
                .suppress(address, reason, Some(SOURCE), at)
                .map_err(|e| e.to_string())?
            {
                None => {
                    println!("{address} suppressed ({reason})")
                }
                Some(before) if before == reason => {
                    println!("{address} was suppressed already ({reason})")
                }
                Some(before) => println!("{address} suppressed ({reason}; was {before})"),
            }
        }
        Action::Remove { .. } => {
            let at = super::state_clock(store)?;
            match store.unsuppress(address, at).map_err(|e| e.to_string())? {
                Some(before) => {
                    println!(
                        "{address} is no longer suppressed (was {before}); it gets marketing email again"
                    )
                }
                None => return Err(format!("{address} is not suppressed")),
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
