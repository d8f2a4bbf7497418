//! `flowc outbox`: the messages in the outbox by delivery state, and
//! settling the unconfirmed ones.

use crate::store::outbox::{self, Resolution, State};
use std::path::PathBuf;
use std::process::ExitCode;

/// List the outbox by delivery state, one message per line starting with
/// its id, or settle an unconfirmed message: one whose final `.` of DATA
/// was written but whose answer never came, so the server may or may not
/// have it. flowc never sends such a message again by itself: check
/// whether it arrived, then mark it `sent`, or `resend` it.
///
/// Examples:
///   flowc outbox --db crm.sqlite
///   flowc outbox --db crm.sqlite --state unconfirmed
///   flowc outbox --db crm.sqlite resolve 12 sent
///   flowc outbox --db crm.sqlite resolve '<7.send-1.0.3f2a@flowc>' resend
#[derive(clap::Args)]
#[command(verbatim_doc_comment)]
pub struct Args {
    #[arg(long, value_name = "FILE")]
    db: PathBuf,
    /// Only messages in this state.
    #[arg(long, value_enum)]
    state: Option<StateArg>,
    #[command(subcommand)]
    action: Option<Action>,
}

#[derive(clap::Subcommand)]
enum Action {
    /// List messages (the default).
    List {
        /// Only messages in this state.
        #[arg(long, value_enum)]
        state: Option<StateArg>,
    },
    /// Settle an unconfirmed message.
    Resolve {
        /// The outbox id, or the Message-ID (with or without < >).
        id: String,
        /// `sent`: it arrived; `resend`: send it again.
        resolution: ResolutionArg,
    },
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum StateArg {
    Queued,
    Sending,
    Finalizing,
    Sent,
    Unconfirmed,
    Failed,
}

impl StateArg {
    fn state(self) -> State {
        match self {
            StateArg::Queued => State::Queued,
            StateArg::Sending => State::Sending,
            StateArg::Finalizing => State::Finalizing,
            StateArg::Sent => State::Sent,
            StateArg::Unconfirmed => State::Unconfirmed,
            StateArg::Failed => State::Failed,
        }
    }
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum ResolutionArg {
    Sent,
    Resend,
}

pub fn run(args: Args) -> Result<ExitCode, String> {
    super::sqlite_only(&args.db, "outbox")?;
    match args.action {
        None => list(&args.db, args.state),
        Some(Action::List { state }) => list(&args.db, state.or(args.state)),
        Some(Action::Resolve { id, resolution }) => {
            if args.state.is_some() {
                return Err("--state only filters the list".into());
            }
            resolve(&args.db, &id, resolution)
        }
    }
}

fn list(db: &std::path::Path, state: Option<StateArg>) -> Result<ExitCode, String> {
    let conn = super::open_db_read_only(db)?;
    let zone = super::db_zone(&conn);
    let shown = |e: outbox::OutboxError| format!("{}: {e}", db.display());
    if let Some(pause) = outbox::paused(&conn).map_err(shown)? {
        eprintln!(
            "delivery is paused since {}: {}",
            crate::time::format_datetime(pause.since, zone),
            pause.error
        );
    }
    for m in outbox::list(&conn, state.map(StateArg::state)).map_err(shown)? {
        let mut line = format!(
            "{}  {:<11}  {}  to {}  {:?}",
            m.id, m.state, m.message_id, m.to, m.subject
        );
        match (m.state, &m.last_error) {
            (State::Queued, Some(error)) => line.push_str(&format!(
                "  (attempt {} failed: {error}; next attempt at {})",
                m.attempts,
                crate::time::format_datetime(m.next_attempt_at, zone)
            )),
            (State::Unconfirmed | State::Failed, Some(error)) => {
                line.push_str(&format!("  ({error})"))
            }
            _ => {}
        }
        println!("{line}");
    }
    Ok(ExitCode::SUCCESS)
}

fn resolve(db: &std::path::Path, key: &str, resolution: ResolutionArg) -> Result<ExitCode, String> {
    let conn = super::open_db(db)?;
    let at = super::db_clock(&conn)?;
    let (id, _) = outbox::find(&conn, key).map_err(|e| e.to_string())?;
    let resolution = match resolution {
        ResolutionArg::Sent => Resolution::Sent,
        ResolutionArg::Resend => Resolution::Resend,
    };
    outbox::resolve(&conn, id, resolution, at).map_err(|e| e.to_string())?;
    match resolution {
        Resolution::Sent => println!("message {id} marked sent"),
        Resolution::Resend => {
            println!("message {id} queued again; the next `flowc run` with a transport sends it")
        }
    }
    Ok(ExitCode::SUCCESS)
}
