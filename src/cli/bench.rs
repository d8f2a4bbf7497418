//! `flowc bench`: measure the engine on this machine.

use std::process::ExitCode;

/// Measure the engine on generated workloads (in a temporary folder): change
/// processing, waking timers, a sweep beside SQLite's own count, plain
/// commits, and a campaign rendering and queueing marketing emails (HTML,
/// text, tracked links) beside inserting the same messages. Prints a
/// Markdown table.
///
/// With --db postgresql://USER@HOST:PORT/DATABASE each workload also runs
/// on that database, right after SQLite, in a schema of its own that is
/// dropped afterwards (flowc_bench_PID_WORKLOAD), and the table says how
/// many statements the engine ran per batch and per item there.
/// --workers N adds the changes workload processed there by N workers at
/// once (threads, each with its own connection), and by one, to compare.
///
/// Examples:
///   flowc bench                     (the full sizes: about a minute)
///   flowc bench --small             (seconds)
///   flowc bench sweep --backend vm  (one workload, one backend)
///   flowc bench --db postgresql://postgres@127.0.0.1:5432/bench --workers 2
///   flowc bench timers --waiting 100000 --due 2000   (other sizes)
///   flowc bench emails --emails 20000
#[derive(clap::Args)]
#[command(verbatim_doc_comment)]
pub struct Args {
    /// Small workloads, for a quick look.
    #[arg(long)]
    small: bool,
    /// How many changes the changes workload makes (default 100,000; 2,000
    /// with --small).
    #[arg(long, value_name = "N")]
    changes: Option<usize>,
    /// How many runs wait in the timers workload (default 1,000,000).
    #[arg(long, value_name = "N")]
    waiting: Option<usize>,
    /// How many of them are due (default 10,000).
    #[arg(long, value_name = "N")]
    due: Option<usize>,
    /// How many rows the sweep workload sweeps (default 1,000,000).
    #[arg(long, value_name = "N")]
    rows: Option<usize>,
    /// How many marketing emails the emails workload renders and queues
    /// (default 100,000; 2,000 with --small).
    #[arg(long, value_name = "N")]
    emails: Option<usize>,
    /// Only these benchmarks: changes, timers, sweep, commits, emails.
    only: Vec<String>,
    /// Evaluation backend: vm, jit or auto (as for `flowc run`).
    #[arg(long, default_value_t = crate::eval::compiled::Backend::Auto)]
    backend: crate::eval::compiled::Backend,
    /// Also run every workload on this PostgreSQL database (the password
    /// from the URL or PGPASSWORD).
    #[arg(long, value_name = "URL")]
    db: Option<String>,
    /// With --db: the changes workload processed by N workers at once,
    /// beside one worker (repeat or separate by commas for several).
    #[arg(long, value_name = "N", value_delimiter = ',', value_parser = clap::value_parser!(u16).range(1..=256))]
    workers: Vec<u16>,
}

pub fn run(args: Args) -> Result<ExitCode, String> {
    let mut scale = if args.small {
        crate::bench::Scale::SMALL
    } else {
        crate::bench::Scale::FULL
    };
    scale.changes = args.changes.unwrap_or(scale.changes).max(1);
    scale.waiting = args.waiting.unwrap_or(scale.waiting).max(1);
    scale.due = args.due.unwrap_or(scale.due).max(1);
    scale.rows = args.rows.unwrap_or(scale.rows).max(1);
    scale.emails = args.emails.unwrap_or(scale.emails).max(1);
    if scale.due > scale.waiting / 10 {
        return Err(format!(
            "--due {} is more than a tenth of --waiting {} (the timers workload also runs with a tenth of the waiting runs)",
            scale.due, scale.waiting
        ));
    }
    for name in &args.only {
        if !["changes", "timers", "sweep", "commits", "emails"].contains(&name.as_str()) {
            return Err(format!(
                "no benchmark `{name}`; the benchmarks are changes, timers, sweep, commits and emails"
            ));
        }
    }
    let postgres = match &args.db {
        None if !args.workers.is_empty() => {
            return Err(
                "--workers needs --db postgresql://…: workers share a PostgreSQL database".into(),
            );
        }
        None => None,
        Some(url) => match crate::store::target::Target::parse(url)? {
            crate::store::target::Target::Postgres(target) => Some(crate::bench::Postgres {
                target: *target,
                workers: args.workers.iter().map(|&n| usize::from(n)).collect(),
            }),
            crate::store::target::Target::Sqlite(_) => {
                return Err(format!(
                    "--db {url}: expected a PostgreSQL URL (postgresql://USER@HOST:PORT/DATABASE); \
                     the SQLite workloads always run, in a temporary folder"
                ));
            }
        },
    };
    let measures = crate::bench::run_all(scale, &args.only, args.backend, postgres.as_ref())?;
    print!("{}", crate::bench::table(&measures));
    Ok(ExitCode::SUCCESS)
}
