//! `flowc stats`: per rule, what its runs did.

use std::path::PathBuf;
use std::process::ExitCode;

/// Per rule: runs started, waiting, done, failed and rejected, emails sent,
/// and conversions (runs whose subject met the rule's `goal`). Every email
/// is accounted for: queued + sent + unconfirmed + failed = all emails
/// (unconfirmed: a crash struck while the server was accepting it).
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

#[derive(serde::Serialize)]
struct RuleStats {
    rule: String,
    started: i64,
    waiting: i64,
    done: i64,
    failed: i64,
    rejected: i64,
    emails_sent: i64,
    emails_queued: i64,
    emails_failed: i64,
    /// Interrupted mid-hand-over by a crash: most likely delivered, never resent.
    emails_unconfirmed: i64,
    conversions: i64,
}

pub fn run(args: Args) -> Result<ExitCode, String> {
    let conn = super::open_db(&args.db)?;
    let mut stmt = conn
        .prepare(
            "WITH rules AS (SELECT rule FROM flow_runs UNION SELECT rule FROM flow_outbox WHERE rule IS NOT NULL)
             SELECT rules.rule,
               (SELECT count(*) FROM flow_runs r WHERE r.rule = rules.rule),
               (SELECT count(*) FROM flow_runs r WHERE r.rule = rules.rule AND r.status = 'waiting'),
               (SELECT count(*) FROM flow_runs r WHERE r.rule = rules.rule AND r.status = 'done'),
               (SELECT count(*) FROM flow_runs r WHERE r.rule = rules.rule AND r.status = 'failed'),
               (SELECT count(*) FROM flow_runs r WHERE r.rule = rules.rule AND r.status = 'rejected'),
               (SELECT count(*) FROM flow_outbox o WHERE o.rule = rules.rule AND o.status = 'sent'),
               (SELECT count(*) FROM flow_outbox o WHERE o.rule = rules.rule AND o.status IN ('queued', 'sending', 'finalizing')),
               (SELECT count(*) FROM flow_outbox o WHERE o.rule = rules.rule AND o.status = 'failed'),
               (SELECT count(*) FROM flow_runs r WHERE r.rule = rules.rule AND r.converted = 1),
               (SELECT count(*) FROM flow_outbox o WHERE o.rule = rules.rule AND o.status = 'unconfirmed')
             FROM rules ORDER BY rules.rule",
        )
        .map_err(|e| e.to_string())?;
    let stats: Vec<RuleStats> = stmt
        .query_map([], |r| {
            Ok(RuleStats {
                rule: r.get(0)?,
                started: r.get(1)?,
                waiting: r.get(2)?,
                done: r.get(3)?,
                failed: r.get(4)?,
                rejected: r.get(5)?,
                emails_sent: r.get(6)?,
                emails_queued: r.get(7)?,
                emails_failed: r.get(8)?,
                conversions: r.get(9)?,
                emails_unconfirmed: r.get(10)?,
            })
        })
        .and_then(|rows| rows.collect())
        .map_err(|e| e.to_string())?;
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
        "{:width$}  {:>7} {:>7} {:>7} {:>7} {:>8}  {:>6} {:>6} {:>6} {:>11}  {:>11}",
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
        "conversions"
    );
    for s in &stats {
        println!(
            "{:width$}  {:>7} {:>7} {:>7} {:>7} {:>8}  {:>6} {:>6} {:>6} {:>11}  {:>11}",
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
            s.conversions
        );
    }
    Ok(ExitCode::SUCCESS)
}
