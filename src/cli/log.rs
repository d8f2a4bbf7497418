//! `flowc log`: the audit trail.

use std::path::PathBuf;
use std::process::ExitCode;

/// Print the audit trail: every run started, step taken, wait, email and
/// failure, oldest first.
///
/// Examples:
///   flowc log --db crm.sqlite --rule seminar
///   flowc log --db crm.sqlite --run 42
///   flowc log --db postgresql://sales@db/crm --tail 20
#[derive(clap::Args)]
#[command(verbatim_doc_comment)]
pub struct Args {
    /// The database: a SQLite file or a postgresql:// URL.
    #[arg(long, value_name = "FILE|URL")]
    db: PathBuf,
    /// On PostgreSQL: the schema flowc's own tables live in.
    #[arg(long, value_name = "NAME", default_value = "flowc")]
    state_schema: String,
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
    let store = super::open_state(&args.db, &args.state_schema, super::Access::Look)?;
    let store = store.as_ref();
    if let Some(rule) = &args.rule {
        known_rule(store, rule)?;
    }
    let zone = super::state_zone(store);
    let filter = crate::store::log::Filter {
        run: args.run,
        rule: args.rule.as_deref(),
        tail: args.tail,
    };
    let entries = store.read_log(&filter).map_err(|e| e.to_string())?;
    for e in entries {
        let at = crate::time::format_datetime(e.at, zone);
        println!(
            "{}",
            crate::engine::format_log_line(
                &at,
                e.run,
                e.rule.as_deref(),
                e.subject.as_deref(),
                &e.step,
                &e.action,
                &e.detail
            )
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// A rule name the engine never ran with is most likely a typo: say so,
/// with the names it knows (from `flow_versions`, which is small), rather
/// than print nothing.
fn known_rule(store: &dyn crate::store::Store, rule: &str) -> Result<(), String> {
    let names = store.rule_names().map_err(|e| e.to_string())?;
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
