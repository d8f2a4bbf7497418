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
///   flowc outbox --db postgresql://sales@db/crm --state failed
#[derive(clap::Args)]
#[command(verbatim_doc_comment)]
pub struct Args {
    /// The database: a SQLite file or a postgresql:// URL.
    #[arg(long, value_name = "FILE|URL")]
    db: PathBuf,
    /// On PostgreSQL: the schema flowc's own tables live in.
    #[arg(long, value_name = "NAME", default_value = "flowc")]
    state_schema: String,
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
    let db = (args.db.as_path(), args.state_schema.as_str());
    match args.action {
        None => list(db, args.state),
        Some(Action::List { state }) => list(db, state.or(args.state)),
        Some(Action::Resolve { id, resolution }) => {
            if args.state.is_some() {
                return Err("--state only filters the list".into());
            }
            resolve(db, &id, resolution)
        }
    }
}

/// The database and, on PostgreSQL, the schema of flowc's tables.
type Db<'a> = (&'a std::path::Path, &'a str);

fn list((db, state_schema): Db, state: Option<StateArg>) -> Result<ExitCode, String> {
    let store = super::open_state(db, state_schema, super::Access::Look)?;
    let zone = super::state_zone(store.as_ref());
    let shown = |e: outbox::OutboxError| format!("{}: {e}", shown_db(db));
    if let Some(pause) = store.delivery_paused().map_err(shown)? {
        eprintln!(
            "delivery is paused since {}: {}",
            crate::time::format_datetime(pause.since, zone),
            pause.error
        );
    }
    for m in store
        .list_messages(state.map(StateArg::state))
        .map_err(shown)?
    {
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

fn resolve(
    (db, state_schema): Db,
    key: &str,
    resolution: ResolutionArg,
) -> Result<ExitCode, String> {
    let store = super::open_state(db, state_schema, super::Access::Settle)?;
    let at = super::state_clock(store.as_ref())?;
    let (id, _) = store.find_message(key).map_err(|e| e.to_string())?;
    let resolution = match resolution {
        ResolutionArg::Sent => Resolution::Sent,
        ResolutionArg::Resend => Resolution::Resend,
    };
    store
        .resolve_message(id, resolution, at)
        .map_err(|e| e.to_string())?;
    match resolution {
        Resolution::Sent => println!("message {id} marked sent"),
        Resolution::Resend => {
            println!("message {id} queued again; the next `flowc run` with a transport sends it")
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// The database as messages name it: a URL without its password.
fn shown_db(db: &std::path::Path) -> String {
    let text = db.to_string_lossy();
    match crate::store::target::Target::parse(&text) {
        Ok(target) => target.to_string(),
        Err(_) => text.into_owned(),
    }
}
