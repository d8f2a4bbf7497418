//! `flowc demo` end to end: it finishes, writes emails, and its summary
//! matches the database; a second run keeps edited rules.

use std::process::Command;

fn demo(dir: &std::path::Path) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_flowc"))
        .args(["demo", "--dir"])
        .arg(dir)
        .output()
        .expect("flowc demo");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn number_after(summary: &str, label: &str) -> i64 {
    summary
        .lines()
        .find_map(|l| l.strip_prefix(label))
        .and_then(|rest| rest.trim().parse().ok())
        .unwrap_or_else(|| panic!("no `{label}` in:\n{summary}"))
}

#[test]
fn the_demo_summary_matches_its_database() {
    let tmp = tempfile::tempdir().expect("tmp");
    let dir = tmp.path().join("demo");
    let summary = demo(&dir);
    let conn = rusqlite::Connection::open(dir.join("crm.sqlite")).expect("db");
    let count = |sql: &str| conn.query_row(sql, [], |r| r.get::<_, i64>(0)).expect(sql);
    let emails = number_after(&summary, "Emails written:");
    assert!(emails > 100, "{summary}");
    assert_eq!(
        emails,
        count("SELECT count(*) FROM flow_outbox WHERE status = 'sent'")
    );
    let files = std::fs::read_dir(dir.join("mail"))
        .expect("mail")
        .filter(|e| {
            e.as_ref()
                .is_ok_and(|e| e.path().extension().is_some_and(|x| x == "eml"))
        })
        .count();
    assert_eq!(files as i64, emails, "one .eml per email");
    assert_eq!(
        number_after(&summary, "Tasks created:"),
        count("SELECT count(*) FROM flow_tasks")
    );
    assert_eq!(
        number_after(&summary, "Approvals waiting:"),
        count("SELECT count(*) FROM flow_approvals WHERE status = 'pending'")
    );
    assert_eq!(number_after(&summary, "Failed runs:"), 0);
    for line in summary
        .lines()
        .filter(|l| l.ends_with(" runs") && l.starts_with("  "))
    {
        let mut words = line.split_whitespace();
        let (rule, runs) = (
            words.next().unwrap_or_default(),
            words.next().unwrap_or_default(),
        );
        let actual = count(&format!(
            "SELECT count(*) FROM flow_runs WHERE rule = '{rule}'"
        ));
        assert_eq!(runs.parse::<i64>().ok(), Some(actual), "{rule}");
    }
    let example = summary
        .lines()
        .find_map(|l| l.trim().strip_prefix("open one:"))
        .map(str::trim)
        .expect("an example email");
    let eml = std::fs::read_to_string(example).expect("the example email exists");
    assert!(
        eml.contains("Message-ID: <") && eml.contains("To: contact"),
        "{eml}"
    );
}

#[test]
fn a_second_demo_run_keeps_edited_rules_and_starts_the_data_over() {
    let tmp = tempfile::tempdir().expect("tmp");
    let dir = tmp.path().join("demo");
    let first = demo(&dir);
    assert!(first.contains("rules written to"));
    let rules = dir.join("rules/rules.flow");
    let mut edited = std::fs::read_to_string(&rules).expect("rules");
    edited.push_str("\nrule won_tag\n  when opportunity.stage changes to \"受注\"\n  tag opportunity \"won\"\nend\n");
    std::fs::write(&rules, edited).expect("edit");
    let second = demo(&dir);
    assert!(second.contains("rules kept in"), "{second}");
    assert!(second.contains("won_tag "), "the new rule ran:\n{second}");
    let conn = rusqlite::Connection::open(dir.join("crm.sqlite")).expect("db");
    let count = |sql: &str| -> i64 { conn.query_row(sql, [], |r| r.get(0)).expect("count") };
    let lost_runs = |summary: &str| number_after_rule(summary, "lost_followup");
    assert_eq!(
        count("SELECT count(*) FROM flow_runs WHERE rule = 'lost_followup'"),
        lost_runs(&first),
        "the database started over: the same runs again, not twice as many"
    );
    assert_eq!(lost_runs(&second), lost_runs(&first));
    assert_eq!(
        count("SELECT count(*) FROM flow_tags WHERE tag = 'won'"),
        number_after_rule(&second, "won_upsell"),
        "the new rule fired with the old one on every won deal"
    );
}

/// The number of runs the summary's "What fired" lists for `rule`.
fn number_after_rule(summary: &str, rule: &str) -> i64 {
    summary
        .lines()
        .find_map(|l| {
            let mut words = l.split_whitespace();
            (words.next() == Some(rule)).then(|| words.next()?.parse().ok())?
        })
        .unwrap_or_else(|| panic!("no runs of `{rule}` in:\n{summary}"))
}
