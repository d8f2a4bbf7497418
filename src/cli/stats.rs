//! `flowc stats`: per rule, what its runs did.

use std::path::PathBuf;
use std::process::ExitCode;

/// Per rule: runs started, waiting, done, failed and rejected, emails sent,
/// and conversions (runs whose subject met the rule's `goal`). Every email
/// is accounted for: queued + sent + unconfirmed + failed = all emails
/// (unconfirmed: a crash struck while the server was accepting it).
/// `suppressed` counts email not sent, and never queued, because its
/// address is on the suppression list (`flowc suppress`).
/// `problems` counts what was logged without failing a run: a sweep
/// meeting the same bad row again, `notify role` with nobody in the role.
///
/// Examples:
///   flowc stats --db crm.sqlite
///   flowc stats --db postgresql://sales@db/crm --json
#[derive(clap::Args)]
#[command(verbatim_doc_comment)]
pub struct Args {
    /// The database: a SQLite file or a postgresql:// URL.
    #[arg(long, value_name = "FILE|URL")]
    db: PathBuf,
    /// On PostgreSQL: the schema flowc's own tables live in.
    #[arg(long, value_name = "NAME", default_value = "flowc")]
    state_schema: String,
    /// Print JSON instead of a table.
    #[arg(long)]
    json: bool,
}

pub fn run(args: Args) -> Result<ExitCode, String> {
    let store = super::open_state(&args.db, &args.state_schema, super::Access::Look)?;
    let stats = store.report().rule_stats().map_err(|e| e.to_string())?;
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
        "{:width$}  {:>7} {:>7} {:>7} {:>7} {:>8}  {:>6} {:>6} {:>6} {:>11} {:>10}  {:>11}  {:>8}",
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
        "suppressed",
        "conversions",
        "problems"
    );
    for s in &stats {
        println!(
            "{:width$}  {:>7} {:>7} {:>7} {:>7} {:>8}  {:>6} {:>6} {:>6} {:>11} {:>10}  {:>11}  {:>8}",
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
            s.emails_suppressed,
            s.conversions,
            s.problems
        );
    }
    Ok(ExitCode::SUCCESS)
}
