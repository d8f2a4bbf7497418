//! `flowc stats`: per rule, what its runs did.

use std::path::PathBuf;
use std::process::ExitCode;

/// Per rule: runs started, waiting, done, failed and rejected, emails sent,
/// and conversions (runs whose subject met the rule's `goal`). Every email
/// is accounted for: queued + sent + unconfirmed + failed = all emails
/// (unconfirmed: a crash struck while the server was accepting it).
/// `problems` counts what was logged without failing a run: a sweep
/// meeting the same bad row again, `notify role` with nobody in the role.
///
/// Example:
///   flowc stats --db crm.sqlite
#[derive(clap::Args)]
#[command(verbatim_doc_comment)]
pub struct Args {
    #[arg(long, value_name = "FILE")]
    db: PathBuf,
    /// Print JSON instead of a table.
    #[arg(long)]
    json: bool,
}

pub fn run(args: Args) -> Result<ExitCode, String> {
    super::sqlite_only(&args.db, "stats")?;
    let conn = super::open_db_read_only(&args.db)?;
    let stats = crate::store::stats::per_rule(&conn).map_err(|e| e.to_string())?;
    if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&stats).map_err(|e| e.to_string())?
        );
        return Ok(ExitCode::SUCCESS);
    }
    let width = stats
        .iter()
        .map(|s| s.rule.chars().count())
        .max()
        .unwrap_or(4)
        .max(4);
    println!(
        "{:width$}  {:>7} {:>7} {:>7} {:>7} {:>8}  {:>6} {:>6} {:>6} {:>11}  {:>11}  {:>8}",
        "rule",
        "started",
        "waiting",
        "done",
        "failed",
        "rejected",
        "sent",
        "queued",
        "failed",
        "unconfirmed",
        "conversions",
        "problems"
    );
    for s in &stats {
        println!(
            "{:width$}  {:>7} {:>7} {:>7} {:>7} {:>8}  {:>6} {:>6} {:>6} {:>11}  {:>11}  {:>8}",
            s.rule,
            s.started,
            s.waiting,
            s.done,
            s.failed,
            s.rejected,
            s.emails_sent,
            s.emails_queued,
            s.emails_failed,
            s.emails_unconfirmed,
            s.conversions,
            s.problems
        );
    }
    Ok(ExitCode::SUCCESS)
}
