//! `flowc log`: the audit trail.

use std::path::PathBuf;
use std::process::ExitCode;

/// Print the audit trail: every run started, step taken, wait, email and
/// failure, oldest first.
///
/// Examples:
///   flowc log --db crm.sqlite --rule seminar
///   flowc log --db crm.sqlite --run 42
#[derive(clap::Args)]
#[command(verbatim_doc_comment)]
pub struct Args {
    #[arg(long, value_name = "FILE")]
    db: PathBuf,
    /// Only this run.
    #[arg(long)]
    run: Option<i64>,
    /// Only this rule.
    #[arg(long)]
    rule: Option<String>,
    /// Only the last N entries.
    #[arg(long, value_name = "N")]
    tail: Option<i64>,
}

pub fn run(args: Args) -> Result<ExitCode, String> {
    let conn = super::open_db_read_only(&args.db)?;
    if let Some(rule) = &args.rule {
        known_rule(&conn, rule)?;
    }
    let zone = super::db_zone(&conn);
    let mut stmt = conn
        .prepare(
            "SELECT at, run_id, rule, subject, coalesce(step, ''), action, coalesce(detail, '') FROM (
               SELECT * FROM flow_log WHERE (?1 IS NULL OR run_id = ?1) AND (?2 IS NULL OR rule = ?2)
               ORDER BY id DESC LIMIT ?3) ORDER BY id",
        )
        .map_err(|e| e.to_string())?;
    let rows = stmt
        .query_map(
            rusqlite::params![args.run, args.rule, args.tail.unwrap_or(-1)],
            |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, Option<i64>>(1)?,
                    r.get::<_, Option<String>>(2)?,
                    r.get::<_, Option<String>>(3)?,
                    r.get::<_, String>(4)?,
                    r.get::<_, String>(5)?,
                    r.get::<_, String>(6)?,
                ))
            },
        )
        .map_err(|e| e.to_string())?;
    for row in rows {
        let (at, run, rule, subject, step, action, detail) = row.map_err(|e| e.to_string())?;
        let at = crate::time::format_datetime(at, zone);
        println!(
            "{}",
            crate::engine::format_log_line(
                &at,
                run,
                rule.as_deref(),
                subject.as_deref(),
                &step,
                &action,
                &detail
            )
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// A rule name the engine never ran with is most likely a typo: say so,
/// with the names it knows (from `flow_versions`, which is small), rather
/// than print nothing.
fn known_rule(conn: &rusqlite::Connection, rule: &str) -> Result<(), String> {
    let mut stmt = conn
        .prepare("SELECT DISTINCT rule FROM flow_versions ORDER BY rule")
        .map_err(|e| e.to_string())?;
    let names: Vec<String> = stmt
        .query_map([], |r| r.get(0))
        .and_then(|rows| rows.collect())
        .map_err(|e| e.to_string())?;
    if names.iter().any(|n| n == rule) {
        return Ok(());
    }
    let hint = crate::suggest::closest(rule, names.iter().map(String::as_str))
        .map(|s| format!(" (did you mean `{s}`?)"))
        .unwrap_or_default();
    Err(if names.is_empty() {
        format!("no rules have run on this database yet, so nothing is logged for `{rule}`")
    } else {
        format!(
            "there is no rule `{rule}` in this database{hint}; its rules are {}",
            names.join(", ")
        )
    })
}
