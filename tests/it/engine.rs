//! The engine end to end: the built `flowc`, real SQLite files, and a real
//! SMTP server on 127.0.0.1.

use crate::support::smtp;
use crate::support::world;

use world::{World, text};

fn seminar() -> World {
    let w = World::example("seminar");
    w.run(&["--now", "2025-01-01T09:00"]);
    w.sql("INSERT INTO contact (id, name, email) VALUES (1, '山田 花子', 'hanako@example.jp'), (2, '鈴木 一郎', 'ichiro@example.jp');");
    w
}

#[test]
fn emails_reach_a_real_smtp_server_with_their_headers_and_body() {
    let w = seminar();
    let server = smtp::Server::start(&w.path("received"));
    w.event(
        "form_submitted",
        "contact:1",
        r#"{"form": "seminar"}"#,
        None,
    );
    w.run(&[
        "--now",
        "2025-01-01T10:00",
        "--smtp",
        &server.url(),
        "--from",
        "Seminar <seminar@example.jp>",
    ]);
    let messages = server.messages();
    assert_eq!(messages.len(), 1, "{messages:?}");
    let m = &messages[0];
    assert_eq!(m["rcpt_tos"], serde_json::json!(["hanako@example.jp"]));
    assert_eq!(m["to"], "hanako@example.jp");
    assert_eq!(m["from"], "Seminar <seminar@example.jp>");
    assert_eq!(
        m["subject"],
        "お申し込みありがとうございます / Thank you for applying, 山田 花子"
    );
    let body = m["body"].as_str().unwrap_or_default();
    assert!(body.contains("山田 花子 様"), "{body}");
    assert!(
        body.contains("seminar へのお申し込みを受け付けました。"),
        "{body}"
    );
    let id = m["message_id"].as_str().unwrap_or_default();
    assert_eq!(
        w.strings("SELECT message_id FROM flow_outbox WHERE status = 'sent'"),
        [id]
    );
    // The engine records that it sent the email.
    assert_eq!(
        w.count("SELECT count(*) FROM flow_events WHERE name = 'email_sent' AND row_id = 1"),
        1
    );
    // Running again sends nothing new.
    w.run(&["--now", "2025-01-01T11:00", "--smtp", &server.url()]);
    assert_eq!(server.messages().len(), 1);
}

#[test]
fn smtp_down_then_up_delivers_every_queued_email_exactly_once() {
    let w = seminar();
    let port = smtp::free_port();
    let url = format!("smtp://127.0.0.1:{port}");
    w.event(
        "form_submitted",
        "contact:1",
        r#"{"form": "seminar"}"#,
        None,
    );
    w.event(
        "form_submitted",
        "contact:2",
        r#"{"form": "seminar"}"#,
        None,
    );
    // An unreachable server is the configuration's fault, not the
    // messages': delivery pauses, the run says so and exits non-zero.
    let out = w.flowc(&[
        "run",
        "--db",
        "crm.sqlite",
        "rules",
        "--now",
        "2025-01-01T10:00",
        "--smtp",
        &url,
    ]);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("cannot reach the SMTP server"),
        "{}",
        text(&out.stderr)
    );
    assert_eq!(
        w.count("SELECT count(*) FROM flow_outbox WHERE status = 'queued' AND attempts = 0"),
        2,
        "no message is blamed"
    );
    // Still down: nothing lost, nothing marked sent.
    let out = w.flowc(&[
        "run",
        "--db",
        "crm.sqlite",
        "rules",
        "--now",
        "2025-01-01T10:05",
        "--smtp",
        &url,
    ]);
    assert_eq!(out.status.code(), Some(3));
    assert_eq!(
        w.count("SELECT count(*) FROM flow_outbox WHERE status = 'queued'"),
        2
    );
    let server = smtp::Server::start_on(port, &w.path("received"));
    w.run(&["--now", "2025-01-01T10:10", "--smtp", &url]);
    w.run(&["--now", "2025-01-01T10:15", "--smtp", &url]);
    let ids: Vec<String> = server
        .messages()
        .iter()
        .map(|m| m["message_id"].as_str().unwrap_or_default().to_string())
        .collect();
    assert_eq!(ids.len(), 2, "{ids:?}");
    assert_ne!(ids[0], ids[1]);
    assert_eq!(
        w.count("SELECT count(*) FROM flow_outbox WHERE status = 'sent'"),
        2
    );
}

#[test]
fn a_permanent_rejection_fails_the_email_once_and_is_never_retried() {
    let w = seminar();
    w.sql("INSERT INTO contact (id, name, email) VALUES (3, 'Reject', 'reject@example.jp');");
    let server = smtp::Server::start(&w.path("received"));
    w.event(
        "form_submitted",
        "contact:3",
        r#"{"form": "seminar"}"#,
        None,
    );
    w.event(
        "form_submitted",
        "contact:1",
        r#"{"form": "seminar"}"#,
        None,
    );
    let out = w.run(&["--now", "2025-01-01T10:00", "--smtp", &server.url()]);
    assert!(out.contains("rejected"), "{out}");
    assert_eq!(w.count("SELECT count(*) FROM flow_outbox WHERE status = 'failed' AND to_addr = 'reject@example.jp'"), 1);
    assert_eq!(
        w.count("SELECT attempts FROM flow_outbox WHERE to_addr = 'reject@example.jp'"),
        1
    );
    for hour in ["11", "12", "13"] {
        w.run(&[
            "--now",
            &format!("2025-01-01T{hour}:00"),
            "--smtp",
            &server.url(),
        ]);
    }
    assert_eq!(
        w.count("SELECT attempts FROM flow_outbox WHERE to_addr = 'reject@example.jp'"),
        1,
        "never retried"
    );
    assert_eq!(server.messages().len(), 1, "the other email still went out");
    let log = text(&w.flowc(&["log", "--db", "crm.sqlite"]).stdout);
    assert!(log.contains("email failed") && log.contains("550"), "{log}");
}

#[test]
fn the_clock_never_goes_backwards() {
    let w = seminar();
    let out = w.flowc(&["run", "--db", "crm.sqlite", "rules", "--now", "2024-12-31"]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("the engine's clock is at 2025-01-01T09:00:00+09:00; it cannot go back to 2024-12-31T00:00:00+09:00"),
        "{stderr}"
    );
}

#[test]
fn time_arguments_accept_dates_local_times_and_offsets() {
    let w = seminar();
    w.run(&["--now", "2025-01-01T09:30"]);
    w.run(&["--now", "2025-01-01T10:00:30"]);
    w.run(&["--now", "2025-01-01T02:00:00Z"]);
    assert_eq!(
        w.strings("SELECT value FROM flow_meta WHERE key = 'clock'"),
        [(1_735_696_800i64).to_string()]
    );
    w.run(&["--until", "2025-01-02"]);
    let out = w.flowc(&["run", "--db", "crm.sqlite", "rules", "--now", "tomorrow"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("is not a time"));
}

#[test]
fn an_event_at_the_boundary_instant_of_an_unless_wait_counts_as_during_it() {
    let w = seminar();
    w.event(
        "form_submitted",
        "contact:1",
        r#"{"form": "seminar"}"#,
        Some("2025-01-01T09:00"),
    );
    w.run(&["--now", "2025-01-01T09:00"]);
    // The wait ends exactly at 2025-01-08T09:00; the opening is stamped then.
    w.event(
        "email_opened",
        "contact:1",
        r#"{"template": "autoreply"}"#,
        Some("2025-01-08T09:00"),
    );
    w.run(&["--until", "2025-01-10"]);
    assert_eq!(
        w.count("SELECT count(*) FROM flow_outbox WHERE template = 'autoreply'"),
        1,
        "no second auto-reply"
    );
    let log = text(
        &w.flowc(&["log", "--db", "crm.sqlite", "--rule", "seminar"])
            .stdout,
    );
    assert!(log.contains("2025-01-08T09:00:00+09:00  run 1  seminar  contact #1  done: ended: autoreply was opened"), "{log}");
}

#[test]
fn an_event_committed_right_after_a_wait_begins_reaches_it() {
    let w = seminar();
    w.event(
        "form_submitted",
        "contact:1",
        r#"{"form": "seminar"}"#,
        None,
    );
    w.run(&["--now", "2025-01-01T09:00"]);
    assert_eq!(
        w.count("SELECT count(*) FROM flow_runs WHERE rule = 'seminar' AND status = 'waiting'"),
        1
    );
    // Recorded in the same second the wait began.
    w.event(
        "email_opened",
        "contact:1",
        r#"{"template": "autoreply"}"#,
        None,
    );
    w.run(&["--now", "2025-01-01T09:00"]);
    assert_eq!(
        w.count("SELECT count(*) FROM flow_runs WHERE rule = 'seminar' AND status = 'done'"),
        1
    );
    w.run(&["--until", "2025-01-10"]);
    assert_eq!(
        w.count("SELECT count(*) FROM flow_outbox WHERE template = 'autoreply'"),
        1
    );
}

#[test]
fn a_dry_run_reports_and_changes_nothing() {
    let w = seminar();
    w.event(
        "form_submitted",
        "contact:1",
        r#"{"form": "seminar"}"#,
        None,
    );
    let before = w.count("SELECT count(*) FROM flow_log");
    let out = w.run(&["--until", "2025-01-10", "--dry-run", "--mail-dir", "mail"]);
    assert!(
        out.contains("dry run: nothing was changed or sent"),
        "{out}"
    );
    assert!(
        out.contains("queued: email autoreply to hanako@example.jp"),
        "{out}"
    );
    assert!(
        out.contains("queued: email payment_reminder to hanako@example.jp"),
        "{out}"
    );
    assert_eq!(w.count("SELECT count(*) FROM flow_log"), before);
    assert_eq!(w.count("SELECT count(*) FROM flow_outbox"), 0);
    assert_eq!(
        w.count("SELECT count(*) FROM flow_events WHERE processed = 1"),
        0
    );
    assert_eq!(
        w.strings("SELECT value FROM flow_meta WHERE key = 'clock'"),
        ["1735689600"],
        "the clock stays"
    );
    assert!(!w.path("mail").exists());
}

const BAD_DATA: &str = r#"
timezone "Asia/Tokyo"
record user {
  name: text
  email: text
}
record contact {
  name: text
  email: text
  score: int
  owner: user
}
list hot of contact
rule hot_leads
  when contact is created where contact.score >= 50
  add contact to list hot
end
rule owner_notice
  when contact is created
  notify contact.owner "New contact {{contact.name}}"
end
"#;

#[test]
fn bad_data_fails_only_that_run_with_a_readable_error() {
    let w = World::files(&[("main.flow", BAD_DATA)]);
    w.run(&["--now", "2025-01-01"]);
    // Written by a program that does not enforce foreign keys.
    w.sql(
        "PRAGMA foreign_keys = OFF;
         INSERT INTO user (id, name, email) VALUES (1, 'Rep', 'rep@example.jp');
         INSERT INTO contact (id, name, email, score, owner) VALUES (1, 'Good', 'g@example.jp', 80, 1);
         INSERT INTO contact (id, name, email, score, owner) VALUES (2, 'Text score', 't@example.jp', 'lots', 1);
         INSERT INTO contact (id, name, email, score, owner) VALUES (3, 'Dangling', 'd@example.jp', 90, 42);",
    );
    let out = w.run(&["--now", "2025-01-01T01:00", "--mail-dir", "mail"]);
    assert!(out.contains("failed: rule hot_leads on contact #2: bad data in contact #2, column score: the text \"lots\" in a field of type `int`"), "{out}");
    assert!(out.contains("failed: rule owner_notice on contact #3: user #42 does not exist (a dangling reference)"), "{out}");
    assert_eq!(
        w.count("SELECT count(*) FROM flow_list_members WHERE list = 'hot'"),
        2,
        "contacts 1 and 3"
    );
    assert_eq!(
        w.count("SELECT count(*) FROM flow_outbox WHERE to_addr = 'rep@example.jp'"),
        2,
        "contacts 1 and 2"
    );
    assert_eq!(
        w.count("SELECT count(*) FROM flow_runs WHERE status = 'failed'"),
        2
    );
    let stats = text(&w.flowc(&["stats", "--db", "crm.sqlite", "--json"]).stdout);
    let stats: serde_json::Value = serde_json::from_str(&stats).expect("json");
    assert_eq!(stats[0]["rule"], "hot_leads");
    assert_eq!(
        (stats[0]["started"].as_i64(), stats[0]["failed"].as_i64()),
        (Some(3), Some(1))
    );
    assert_eq!(stats[1]["rule"], "owner_notice");
    assert_eq!(
        (stats[1]["started"].as_i64(), stats[1]["failed"].as_i64()),
        (Some(3), Some(1))
    );
}

#[test]
fn a_null_in_a_non_null_field_fails_the_run_that_reads_it() {
    let w = World::files(&[("main.flow", BAD_DATA)]);
    w.conn()
        .execute_batch(
            "DROP TABLE contact;
             CREATE TABLE contact (id INTEGER PRIMARY KEY, name TEXT, email TEXT, score INTEGER, owner INTEGER);",
        )
        .expect("a looser table");
    w.run(&["--now", "2025-01-01"]);
    w.sql("INSERT INTO contact (id, name, email, score, owner) VALUES (1, 'No score', 'n@example.jp', NULL, NULL);");
    let out = w.run(&["--now", "2025-01-01T01:00"]);
    assert!(
        out.contains("column score: null in a field declared `int` (not `int?`)"),
        "{out}"
    );
}

const LOCKS: &str = r#"
enum stage { "提案", "受注" }
record deal {
  name: text
  stage: stage
  amount: int
}
rule lock_won
  when deal.stage changes to "受注"
  lock deal
end
rule discount
  when deal.amount changes
  set deal.name = "changed"
end
"#;

#[test]
fn a_locked_row_refuses_writes_from_any_program() {
    let w = World::files(&[("main.flow", LOCKS)]);
    w.run(&["--now", "2025-01-01"]);
    w.sql("INSERT INTO deal (id, name, stage, amount) VALUES (1, 'A', '提案', 100), (2, 'B', '提案', 100);");
    w.sql("UPDATE deal SET stage = '受注' WHERE id = 1;");
    w.run(&["--now", "2025-01-01T01:00"]);
    let refused = w
        .conn()
        .execute("UPDATE deal SET amount = 1 WHERE id = 1", []);
    let message = refused
        .expect_err("the database refuses the write")
        .to_string();
    assert!(
        message.contains("flowc: this row is locked by a rule"),
        "{message}"
    );
    assert!(
        w.conn()
            .execute("DELETE FROM deal WHERE id = 1", [])
            .is_err()
    );
    w.sql("UPDATE deal SET amount = 5 WHERE id = 2;");
    assert_eq!(
        w.count("SELECT amount FROM deal WHERE id = 2"),
        5,
        "other rows are free"
    );
}

const CASCADE: &str = r#"
record counter {
  n: int
}
rule bump
  when counter.n changes
  set counter.n = counter.n + 1
end
"#;

#[test]
fn a_cascade_deeper_than_the_bound_stops_with_a_clear_error() {
    let w = World::files(&[("main.flow", CASCADE)]);
    let check = w.flowc(&["check", "rules"]);
    assert!(
        text(&check.stderr).contains("warning[W0102]"),
        "the checker sees the loop"
    );
    w.run(&["--now", "2025-01-01"]);
    w.sql("INSERT INTO counter (id, n) VALUES (1, 0); UPDATE counter SET n = 1 WHERE id = 1;");
    let out = w.run(&["--now", "2025-01-01T00:01"]);
    assert!(
        out.contains("stopped a cascade deeper than 5 rounds"),
        "{out}"
    );
    assert_eq!(
        w.count("SELECT n FROM counter"),
        7,
        "the user's change, then 6 rule changes"
    );
    assert_eq!(
        w.count("SELECT count(*) FROM flow_runs WHERE status = 'failed'"),
        1
    );
}

const EDITED_BEFORE: &str = r#"
timezone "Asia/Tokyo"
record contact {
  name: text
  email: text
}
template a {
  subject: "A"
  body: "a"
}
template b {
  subject: "B"
  body: "b"
}
rule nurture
  when contact is created
  send email a to contact
  pause: wait 7d
  send email b to contact
end
"#;

#[test]
fn waiting_runs_move_to_the_same_named_step_of_an_edited_rule() {
    let w = World::files(&[("main.flow", EDITED_BEFORE)]);
    w.run(&["--now", "2025-01-01"]);
    w.sql("INSERT INTO contact (id, name, email) VALUES (1, 'A', 'a@example.jp');");
    w.run(&["--now", "2025-01-01T01:00"]);
    // A new step before the wait, and a changed step after it.
    let edited = EDITED_BEFORE
        .replace(
            "  send email a to contact\n  pause:",
            "  tag contact \"nurtured\"\n  send email a to contact\n  pause:",
        )
        .replace(
            "  send email b to contact\nend",
            "  tag contact \"done\"\n  send email b to contact\nend",
        );
    std::fs::write(w.project.join("main.flow"), edited).expect("edit");
    let plan = w.run(&["--now", "2025-01-02", "--dry-run"]);
    assert!(
        plan.contains("run 1 (nurture): continues at step `pause` of the new version"),
        "{plan}"
    );
    w.run(&["--until", "2025-01-09"]);
    assert_eq!(
        w.count("SELECT count(*) FROM flow_tags WHERE tag = 'done'"),
        1,
        "the new step after the wait ran"
    );
    assert_eq!(
        w.count("SELECT count(*) FROM flow_tags WHERE tag = 'nurtured'"),
        0,
        "the new step before it did not"
    );
    assert_eq!(
        w.count("SELECT count(*) FROM flow_outbox WHERE template = 'b'"),
        1
    );
}

#[test]
fn a_waiting_run_whose_step_was_removed_finishes_on_its_old_version() {
    // Two waits, so the run waits again on the old version.
    let before = EDITED_BEFORE.replace(
        "  send email b to contact\nend",
        "  send email b to contact\n  wait 7d\n  tag contact \"finished\"\nend",
    );
    let w = World::files(&[("main.flow", &before)]);
    w.run(&["--now", "2025-01-01"]);
    w.sql("INSERT INTO contact (id, name, email) VALUES (1, 'A', 'a@example.jp');");
    w.run(&["--now", "2025-01-01T01:00"]);
    // The new version has neither `pause` nor a second wait, and tags
    // differently: none of it may reach the old run.
    let edited = EDITED_BEFORE.replace("  pause: wait 7d\n", "").replace(
        "  send email b to contact\nend",
        "  tag contact \"new\"\nend",
    );
    std::fs::write(w.project.join("main.flow"), edited).expect("edit");
    let plan = w.run(&["--now", "2025-01-02", "--dry-run"]);
    assert!(
        plan.contains(
            "run 1 (nurture): step `pause` is gone from the new version: the run finishes on the version it started on"
        ),
        "{plan}"
    );
    let out = w.run(&["--until", "2025-01-20"]);
    assert_eq!(
        w.count("SELECT count(*) FROM flow_runs WHERE status = 'failed'"),
        0,
        "{out}"
    );
    assert_eq!(
        w.count("SELECT count(*) FROM flow_outbox WHERE template = 'b'"),
        1,
        "the old version's next step ran, once"
    );
    assert_eq!(
        w.count("SELECT count(*) FROM flow_tags WHERE tag = 'finished'"),
        1,
        "after its second wait, still on the old version"
    );
    assert_eq!(
        w.count("SELECT count(*) FROM flow_tags WHERE tag = 'new'"),
        0,
        "nothing of the new version ran"
    );
    assert_eq!(
        w.count("SELECT count(*) FROM flow_runs WHERE id = 1 AND status = 'done'"),
        1
    );
    let log = w.flowc(&["log", "--db", "crm.sqlite", "--run", "1"]);
    assert!(
        text(&log.stdout).contains("stays on its old version"),
        "{}",
        text(&log.stdout)
    );
    // A contact created now runs on the new version.
    w.sql("INSERT INTO contact (id, name, email) VALUES (2, 'B', 'b@example.jp');");
    w.run(&["--now", "2025-01-21"]);
    assert_eq!(
        w.count("SELECT count(*) FROM flow_tags WHERE tag = 'new'"),
        1
    );
}

#[test]
fn a_waiting_run_whose_old_version_is_lost_is_reported_and_ends_failed() {
    let w = World::files(&[("main.flow", EDITED_BEFORE)]);
    w.run(&["--now", "2025-01-01"]);
    w.sql("INSERT INTO contact (id, name, email) VALUES (1, 'A', 'a@example.jp');");
    w.run(&["--now", "2025-01-01T01:00"]);
    w.sql("UPDATE flow_versions SET project = '';");
    let edited = EDITED_BEFORE.replace("  pause: wait 7d\n", "");
    std::fs::write(w.project.join("main.flow"), edited).expect("edit");
    let plan = w.run(&["--now", "2025-01-02", "--dry-run"]);
    assert!(
        plan.contains("run 1 (nurture): step `pause` is gone from the new version and its old version was not kept: the run will fail when it wakes"),
        "{plan}"
    );
    let out = w.run(&["--until", "2025-01-09"]);
    assert!(
        out.contains("its step `pause`, where this run was waiting, no longer exists; its old version was not kept"),
        "{out}"
    );
    assert_eq!(
        w.count("SELECT count(*) FROM flow_outbox WHERE template = 'b'"),
        0,
        "nothing re-ran"
    );
}

#[test]
fn waiting_runs_of_a_deleted_rule_end_failed() {
    let w = World::files(&[("main.flow", EDITED_BEFORE)]);
    w.run(&["--now", "2025-01-01"]);
    w.sql("INSERT INTO contact (id, name, email) VALUES (1, 'A', 'a@example.jp');");
    w.run(&["--now", "2025-01-01T01:00"]);
    let start = EDITED_BEFORE.find("rule nurture").expect("the rule");
    std::fs::write(w.project.join("main.flow"), &EDITED_BEFORE[..start]).expect("edit");
    let plan = w.run(&["--now", "2025-01-02", "--dry-run"]);
    assert!(
        plan.contains("run 1 (nurture): the rule was deleted"),
        "{plan}"
    );
    w.run(&["--until", "2025-01-09"]);
    assert_eq!(
        w.count("SELECT count(*) FROM flow_runs WHERE status = 'failed' AND error LIKE '%no longer exists%'"),
        1
    );
    assert_eq!(
        w.count("SELECT count(*) FROM flow_outbox WHERE template = 'b'"),
        0
    );
}

#[test]
fn a_database_from_a_newer_flowc_is_refused() {
    let w = World::files(&[("main.flow", CASCADE)]);
    w.run(&["--now", "2025-01-01"]);
    w.sql("UPDATE flow_meta SET value = '99' WHERE key = 'schema_version';");
    let out = w.flowc(&["run", "--db", "crm.sqlite", "rules"]);
    assert_eq!(out.status.code(), Some(2));
    let known = flowc::store::state::SCHEMA_VERSION;
    assert!(
        text(&out.stderr).contains(&format!(
            "state is version 99, but this flowc only knows versions up to {known}"
        )),
        "{}",
        text(&out.stderr)
    );
}

const ORDERED: &str = r#"
timezone "Asia/Tokyo"
record contact {
  name: text
  replied: int
}
rule mark_replied
  when contact is created
  wait 1h
  set contact.replied = 1
end
rule remind
  when contact is created
  wait 2h unless contact.replied == 1
  tag contact "reminded"
end
"#;

/// Timers overdue at different times are processed in one transaction only
/// while they write nothing: here the first one's `set` must end the second
/// one's wait before that timer is looked at, as if each woke at its time.
#[test]
fn overdue_timers_see_what_earlier_ones_changed() {
    for how in [
        ["--now", "2025-01-01T12:00"],
        ["--until", "2025-01-01T12:00"],
    ] {
        let w = World::files(&[("main.flow", ORDERED)]);
        w.run(&["--now", "2025-01-01T09:00"]);
        w.sql("INSERT INTO contact (id, name, replied) VALUES (1, 'A', 0), (2, 'B', 0);");
        w.run(&["--now", "2025-01-01T09:00:30"]);
        w.run(&how);
        assert_eq!(
            w.count("SELECT count(*) FROM contact WHERE replied = 1"),
            2,
            "{how:?}"
        );
        assert_eq!(
            w.count("SELECT count(*) FROM flow_tags WHERE tag = 'reminded'"),
            0,
            "{how:?}: the reply came an hour before the reminder was due"
        );
        assert_eq!(
            w.count("SELECT count(*) FROM flow_runs WHERE status = 'done'"),
            4,
            "{how:?}"
        );
    }
}

#[test]
fn run_refuses_a_missing_database_and_one_that_does_not_match_the_rules() {
    let w = World::files(&[("main.flow", EDITED_BEFORE)]);
    let missing = w.flowc(&["run", "--db", "typo.sqlite", "rules"]);
    assert_eq!(missing.status.code(), Some(2));
    assert!(
        text(&missing.stderr).contains(
            "typo.sqlite: no such database file; to create the tables the rules declare: flowc schema --db typo.sqlite --create rules"
        ),
        "{}",
        text(&missing.stderr)
    );
    assert!(
        !w.path("typo.sqlite").exists(),
        "no empty database left behind"
    );
    w.sql("ALTER TABLE contact RENAME COLUMN email TO mail;");
    let drifted = w.flowc(&["run", "--db", "crm.sqlite", "rules"]);
    assert_eq!(drifted.status.code(), Some(1));
    let stderr = text(&drifted.stderr);
    assert!(stderr.contains("error[E0702]"), "{stderr}");
    assert!(stderr.contains("nothing was run"), "{stderr}");
    assert_eq!(
        w.count("SELECT count(*) FROM sqlite_master WHERE name = 'flow_runs'"),
        0,
        "the engine did not even set up its tables"
    );
}

#[test]
fn an_event_on_a_record_that_does_not_exist_is_refused() {
    let w = seminar();
    for (on, says) in [
        ("contact:99", "contact #99 does not exist"),
        ("contcat:1", "the database has no table `contcat`"),
        ("flow_runs:1", "the database has no table `flow_runs`"),
    ] {
        let out = w.flowc(&["event", "--db", "crm.sqlite", "form_submitted", "--on", on]);
        assert_eq!(out.status.code(), Some(2), "{on}");
        assert!(
            text(&out.stderr).contains(says),
            "{on}: {}",
            text(&out.stderr)
        );
    }
    assert_eq!(w.count("SELECT count(*) FROM flow_events"), 0);
}

/// A record value with a line break in an email header (here the subject,
/// built from the contact's name) would inject headers: that run fails,
/// saying why, and nothing reaches the server; other runs go on.
#[test]
fn a_line_break_in_an_email_header_fails_that_run_and_sends_nothing() {
    let w = seminar();
    w.sql("INSERT INTO contact (id, name, email) VALUES (3, 'Eve' || char(13, 10) || 'Bcc: all@example.com', 'eve@example.jp');");
    let server = smtp::Server::start(&w.path("received"));
    for id in [1, 3] {
        w.event(
            "form_submitted",
            &format!("contact:{id}"),
            r#"{"form": "seminar"}"#,
            None,
        );
    }
    let out = w.run(&["--now", "2025-01-01T10:00", "--smtp", &server.url()]);
    assert!(out.contains("line break"), "{out}");
    let received: Vec<String> = server
        .messages()
        .iter()
        .map(|m| m["to"].as_str().unwrap_or_default().to_string())
        .collect();
    assert_eq!(received, ["hanako@example.jp"]);
    assert_eq!(
        w.count("SELECT count(*) FROM flow_outbox WHERE to_addr = 'eve@example.jp'"),
        0
    );
    assert_eq!(
        w.count("SELECT count(*) FROM flow_runs WHERE subject_id = 3 AND status = 'failed' AND error LIKE '%line break%'"),
        1
    );
}

#[test]
fn log_of_a_misspelled_rule_suggests_the_right_one() {
    let w = seminar();
    let out = w.flowc(&["log", "--db", "crm.sqlite", "--rule", "seminr"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr)
            .contains("there is no rule `seminr` in this database (did you mean `seminar`?)"),
        "{}",
        text(&out.stderr)
    );
    let known = w.flowc(&["log", "--db", "crm.sqlite", "--rule", "seminar"]);
    assert!(known.status.success(), "{}", text(&known.stderr));
}

/// The commands that only look never turn a stray file into a database and
/// never add flowc's tables to one flowc has not run on.
#[test]
fn read_only_commands_never_create_or_change_a_database() {
    let w = World::files(&[("main.flow", "record contact {\n  name: text\n}\n")]);
    std::fs::write(w.path("empty.sqlite"), b"").expect("empty file");
    for args in [
        &["stats", "--db", "empty.sqlite"][..],
        &["log", "--db", "empty.sqlite"],
        &["approvals", "--db", "empty.sqlite", "list"],
    ] {
        let out = w.flowc(args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(
            text(&out.stderr).contains("has no flowc state"),
            "{args:?}: {}",
            text(&out.stderr)
        );
    }
    assert_eq!(
        std::fs::metadata(w.path("empty.sqlite"))
            .map(|m| m.len())
            .ok(),
        Some(0)
    );
    // crm.sqlite has the user's tables but flowc never ran on it.
    let out = w.flowc(&["stats", "--db", "crm.sqlite"]);
    assert!(
        text(&out.stderr).contains("has no flowc state"),
        "{}",
        text(&out.stderr)
    );
    assert_eq!(
        w.count("SELECT count(*) FROM sqlite_schema WHERE name LIKE 'flow_%'"),
        0
    );
    let out = w.flowc(&["log", "--db", "missing.sqlite"]);
    assert!(
        text(&out.stderr).contains("no such database file"),
        "{}",
        text(&out.stderr)
    );
    assert!(!w.path("missing.sqlite").exists());
}

/// `notify role "R"` when nobody has role R is a logged problem, counted by
/// `flowc stats`, not a silent skip.
#[test]
fn notify_a_role_nobody_has_is_a_logged_problem() {
    let w = World::files(&[(
        "main.flow",
        "record user {\n  name: text\n  email: text?\n  role: text\n}\n\
         record deal {\n  amount: int\n}\n\
         rule big_deal\n  when deal is created\n  notify role \"executive\" \"a big deal\"\nend\n",
    )]);
    w.run(&["--now", "2025-01-01T09:00"]);
    w.sql(
        "INSERT INTO user (id, name, email, role) VALUES (1, 'Sato', 'sato@example.jp', 'manager');
           INSERT INTO deal (id, amount) VALUES (1, 100);",
    );
    let out = w.run(&["--now", "2025-01-01T10:00", "--mail-dir", "mail"]);
    assert!(out.contains("1 problem"), "{out}");
    assert_eq!(
        w.strings("SELECT rule || ': ' || detail FROM flow_log WHERE action = 'problem'"),
        ["big_deal: nobody to notify: no user with role \"executive\" has an email address"]
    );
    let stats = text(&w.flowc(&["stats", "--db", "crm.sqlite", "--json"]).stdout);
    let stats: serde_json::Value = serde_json::from_str(&stats).expect("json");
    assert_eq!(stats[0]["rule"], "big_deal");
    assert_eq!(stats[0]["problems"], 1);
    assert_eq!(stats[0]["done"], 1);
}

/// A run finishing on its old version gets that version's template files
/// too: they are kept with the version, not read from today's folder.
#[test]
fn an_old_version_keeps_its_template_files() {
    let before = EDITED_BEFORE.replace("  body: \"b\"", "  body: file \"templates/b.txt\"");
    let w = World::files(&[
        ("main.flow", &before),
        ("templates/b.txt", "old body of b\n"),
    ]);
    w.run(&["--now", "2025-01-01"]);
    w.sql("INSERT INTO contact (id, name, email) VALUES (1, 'A', 'a@example.jp');");
    w.run(&["--now", "2025-01-01T01:00"]);
    // The new version drops the wait and the template file.
    let edited = EDITED_BEFORE.replace("  pause: wait 7d\n", "").replace(
        "  send email b to contact\nend",
        "  tag contact \"new\"\nend",
    );
    std::fs::write(w.project.join("main.flow"), edited).expect("edit");
    std::fs::remove_dir_all(w.project.join("templates")).expect("remove templates");
    let out = w.run(&["--until", "2025-01-20"]);
    assert_eq!(
        w.strings("SELECT status || ' ' || coalesce(error, '') FROM flow_runs WHERE id = 1"),
        ["done "],
        "{out}"
    );
    // The body, then the opt-out footer of marketing mail.
    let bodies = w.strings("SELECT body FROM flow_outbox WHERE template = 'b'");
    assert!(
        bodies.len() == 1 && bodies[0].starts_with("old body of b\n\n-- \n"),
        "{bodies:?}"
    );
}

/// A value outside the enum in the field a `changes` trigger watches never
/// makes the change vanish: the trigger fires when the value it needs is
/// readable, and logs a problem when it cannot tell.
#[test]
fn a_value_outside_the_enum_is_never_a_dropped_change() {
    let w = World::files(&[(
        "main.flow",
        "enum stage { \"商談\", \"失注\" }\nrecord opportunity {\n  name: text\n  stage: stage\n}\n\
         rule lost\n  when opportunity.stage changes to \"失注\"\n  tag opportunity \"lost\"\nend\n\
         rule lost_in_talks\n  when opportunity.stage changes from \"商談\" to \"失注\"\n  tag opportunity \"lost_in_talks\"\nend\n",
    )]);
    w.run(&["--now", "2025-01-01"]);
    w.sql("INSERT INTO opportunity (id, name, stage) VALUES (1, 'A', '商談'), (2, 'B', '商談');");
    w.run(&["--now", "2025-01-01T01:00"]);
    // 1: from a value outside the enum to 失注; 2: to a value outside it.
    w.sql("UPDATE opportunity SET stage = 'lost' WHERE id = 1;");
    w.run(&["--now", "2025-01-01T02:00"]);
    w.sql("UPDATE opportunity SET stage = '失注' WHERE id = 1; UPDATE opportunity SET stage = 'won' WHERE id = 2;");
    let out = w.run(&["--now", "2025-01-01T03:00"]);
    assert_eq!(
        w.strings("SELECT row_id || ' ' || tag FROM flow_tags ORDER BY row_id, tag"),
        ["1 lost"],
        "{out}"
    );
    // A value the trigger needs cannot be read: a failed run naming it.
    let bad = |id: i64, value: &str| {
        format!(
            "bad data in opportunity #{id}, column stage: the text \"{value}\" is not a value of `stage`"
        )
    };
    assert_eq!(
        w.strings("SELECT rule || ' ' || subject_id || ': ' || error FROM flow_runs WHERE status = 'failed' ORDER BY id"),
        [
            format!("lost 1: {}", bad(1, "lost")),
            format!("lost_in_talks 1: {}", bad(1, "lost")),
            format!("lost 2: {}", bad(2, "won")),
            format!("lost_in_talks 2: {}", bad(2, "won")),
        ]
    );
    // `changes from "商談"` meets the same unreadable value again (as the
    // old value now): the same problem, said once more, not a new failure.
    let problems = w.strings(
        "SELECT rule || ' ' || subject || ': ' || detail FROM flow_log WHERE action = 'problem' ORDER BY id",
    );
    assert_eq!(problems.len(), 1, "{problems:#?}");
    assert!(
        problems[0].starts_with("lost_in_talks opportunity #1: the same problem as run #")
            && problems[0].ends_with(&bad(1, "lost")),
        "{problems:#?}"
    );
}

/// A waiting run whose stored position is damaged fails, naming the row
/// and column; it never ends as `done` with its remaining steps skipped.
#[test]
fn a_damaged_run_position_fails_the_run_naming_the_row() {
    let w = World::files(&[(
        "main.flow",
        "record contact {\n  name: text\n}\nrule nurture\n  when contact is created\n  wait 1d\n  tag contact \"woken\"\nend\n",
    )]);
    w.run(&["--now", "2025-01-01"]);
    w.sql("INSERT INTO contact (id, name) VALUES (1, 'A'), (2, 'B');");
    w.run(&["--now", "2025-01-01T01:00"]);
    w.sql("UPDATE flow_runs SET pc = '0.x' WHERE subject_id = 1;");
    let out = w.flowc(&["run", "--db", "crm.sqlite", "rules", "--now", "2025-01-03"]);
    let stdout = text(&out.stdout);
    assert!(stdout.contains("1 failed"), "{stdout}");
    assert_eq!(
        w.strings("SELECT subject_id || ' ' || status || ': ' || coalesce(error, '') FROM flow_runs ORDER BY id"),
        [
            "1 failed: flow_runs row #1 (column `pc`) holds \"0.x\", which is not a step position such as `2.1.0`; \
             the stored state is damaged (fix or delete that row)",
            "2 done: ",
        ]
    );
    assert_eq!(
        w.strings("SELECT CAST(row_id AS TEXT) FROM flow_tags"),
        ["2"]
    );
}

/// An approval whose run ended because its record was deleted is cancelled:
/// no longer listed as pending, and deciding it says why it cannot be.
#[test]
fn an_approval_of_a_deleted_record_is_cancelled() {
    let w = World::example("won_lock_discount_approval");
    w.run(&["--now", "2025-01-01T09:00"]);
    w.sql(
        "INSERT INTO user (id, name, email, role, manager) VALUES (1, 'Boss', 'boss@example.jp', 'manager', NULL),
           (2, 'Rep', 'rep@example.jp', 'sales', 1);
         INSERT INTO opportunity (id, name, stage, amount, owner) VALUES (1, 'Deal', '提案', 1000000, 2);
         INSERT INTO discount_request (id, opportunity, rate, requested_by) VALUES (1, 1, 0.2, 2);",
    );
    w.run(&["--now", "2025-01-01T10:00"]);
    let list = text(&w.flowc(&["approvals", "--db", "crm.sqlite"]).stdout);
    assert!(list.starts_with("1  discount_approval"), "{list}");
    w.sql("DELETE FROM discount_request WHERE id = 1;");
    w.run(&["--now", "2025-01-01T11:00"]);
    let list = text(&w.flowc(&["approvals", "--db", "crm.sqlite"]).stdout);
    assert_eq!(list.trim(), "no approvals pending");
    let out = w.flowc(&["approvals", "--db", "crm.sqlite", "approve", "1"]);
    assert!(!out.status.success());
    assert!(
        text(&out.stderr)
            .contains("approval 1 was cancelled: its run ended when its record was deleted"),
        "{}",
        text(&out.stderr)
    );
    assert_eq!(
        w.strings("SELECT status || ' ' || applied FROM flow_approvals"),
        ["cancelled 1"]
    );
}

/// Placeholders are expressions with formats: rendered into the queued
/// subject and text, the sender's `from` used when the template has none,
/// and the HTML part queued with them, its values escaped.
#[test]
fn placeholders_are_formatted_into_the_queued_message() {
    let w = World::files(&[(
        "main.flow",
        r#"timezone "Asia/Tokyo"
record contact { name: text, email: text, phone: text?, amount: decimal, due: date }

sender {
  from: "株式会社サンプル <sales@example.jp>"
  reply_to: "desk@example.jp"
  postal_address: "〒100-0001 東京都千代田区千代田1-1"
}

template invoice {
  subject: "{{contact.name}} 様: {{contact.amount | yen}}（{{contact.due | date_ja}}まで）"
  text: "{{contact.due | date 'YYYY/MM/DD（曜）'}} / {{contact.amount | number}} / {{contact.phone | or '未登録'}} / {{contact.id}} / {{today | date_ja}}\n{{sender.name}} {{sender.postal_address}}\n{{unsubscribe_url}}"
  html: "<p>{{contact.name}}</p>"
}

rule bill
  when contact is created
  send email invoice to contact
end
"#,
    )]);
    w.run(&["--now", "2025-01-01T09:00"]);
    w.sql(
        "INSERT INTO contact (id, name, email, phone, amount, due) \
         VALUES (7, '<山田>', 'y@example.jp', NULL, 1234567.5, '2025-08-01');",
    );
    w.run(&["--now", "2025-01-01T10:00"]);
    assert_eq!(
        w.strings("SELECT subject FROM flow_outbox"),
        ["<山田> 様: 1,234,568円（2025年8月1日まで）"]
    );
    assert_eq!(
        w.strings("SELECT body FROM flow_outbox"),
        [
            "2025/08/01（金） / 1,234,567.5 / 未登録 / 7 / 2025年1月1日\n\
          株式会社サンプル 〒100-0001 東京都千代田区千代田1-1\n\
          mailto:desk@example.jp?subject=unsubscribe"
        ]
    );
    assert_eq!(
        w.strings("SELECT from_addr || ' ' || reply_to FROM flow_outbox"),
        ["株式会社サンプル <sales@example.jp> desk@example.jp"]
    );
    // The template places `{{unsubscribe_url}}`: no footer is added.
    assert_eq!(
        w.strings("SELECT html FROM flow_outbox"),
        ["<p>&lt;山田&gt;</p>"]
    );
    assert_eq!(
        w.strings("SELECT list_unsubscribe FROM flow_outbox"),
        ["<mailto:desk@example.jp?subject=unsubscribe>"]
    );
    let queued = w.strings("SELECT detail FROM flow_log WHERE action = 'queued'");
    assert!(
        queued.len() == 1 && !queued[0].contains("text only"),
        "{queued:?}"
    );
}

const SEND_DURING: &str = r#"
timezone "Asia/Tokyo"
record contact {
  name: text
  email: text
}
calendar business {
  weekends: saturday, sunday
  holidays: japan
  hours: "09:00" to "18:00"
}
template welcome transactional {
  subject: "ようこそ"
  body: "{{contact.name}} 様"
}
rule welcome
  when contact is created
  send during business
  send email welcome to contact
end
"#;

/// Files delivered into the mail folder so far.
fn delivered(w: &World) -> usize {
    std::fs::read_dir(w.path("mail")).map_or(0, |d| d.flatten().count())
}

/// `send during business` (DESIGN §11): an email queued at 02:00 on 元日
/// stays in the outbox, through real delivery passes into a mail folder,
/// until the calendar opens: 09:00 on Thursday 2025-01-02.
#[test]
fn send_during_business_holds_a_2am_email_until_the_calendar_opens() {
    let w = World::files(&[("main.flow", SEND_DURING)]);
    w.run(&["--now", "2025-01-01T01:00"]);
    w.sql("INSERT INTO contact (id, name, email) VALUES (1, '山田', 'yamada@example.jp');");
    w.run(&["--now", "2025-01-01T02:00", "--mail-dir", "mail"]);
    assert_eq!(
        w.count("SELECT count(*) FROM flow_outbox WHERE status = 'queued'"),
        1
    );
    assert_eq!(delivered(&w), 0, "no email at 02:00 on 元日");
    w.run(&["--now", "2025-01-01T12:00", "--mail-dir", "mail"]);
    w.run(&["--now", "2025-01-02T08:59", "--mail-dir", "mail"]);
    assert_eq!(delivered(&w), 0, "not before the calendar opens");
    w.run(&["--now", "2025-01-02T09:00", "--mail-dir", "mail"]);
    assert_eq!(delivered(&w), 1);
    assert_eq!(
        w.count("SELECT count(*) FROM flow_outbox WHERE status = 'sent'"),
        1
    );
}
