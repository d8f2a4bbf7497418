//! Trust under faults (DESIGN.md §7): bytes that are not what their column
//! says, and row ids that SQLite reuses. The built `flowc` on real SQLite
//! files; other programs' writes are made with plain SQL, as theirs would be.

use crate::support::world;

use world::{World, text};

/// `To:` and `Subject:` of every message in a `--mail-dir` folder, sorted.
fn mails(w: &World, dir: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir(w.path(dir)) else {
        return out;
    };
    for entry in entries.flatten() {
        let body = std::fs::read_to_string(entry.path()).expect("an .eml file");
        let header = |name: &str| {
            body.lines()
                .find_map(|l| l.strip_prefix(name))
                .unwrap_or_default()
                .trim()
                .to_string()
        };
        out.push((header("To:"), header("Subject:")));
    }
    out.sort();
    out
}

const CONTACTS: &str = r#"
timezone "Asia/Tokyo"
record contact {
  name: text
  email: text
  prefecture: text?
  score: int
}
rule scored
  when contact.score changes
  tag contact "scored"
end
rule tokyo
  when contact.score changes where contact.prefecture == "東京都"
  tag contact "tokyo"
end
rule touched
  when contact is updated
  tag contact "touched"
end
"#;

/// A world with contacts 1 and 2 (in 東京都), capture installed.
fn contacts() -> World {
    let w = World::files(&[("main.flow", CONTACTS)]);
    w.run(&["--now", "2025-01-01"]);
    w.sql(
        "INSERT INTO contact (id, name, email, prefecture, score) VALUES
           (1, 'A', 'a@example.jp', '東京都', 1), (2, 'B', 'b@example.jp', '東京都', 1);",
    );
    w.run(&["--now", "2025-01-01T00:10"]);
    w
}

fn tags(w: &World, id: i64) -> Vec<String> {
    w.strings(&format!(
        "SELECT tag FROM flow_tags WHERE tbl = 'contact' AND row_id = {id} ORDER BY tag"
    ))
}

fn errors(w: &World, rule: &str) -> Vec<String> {
    w.strings(&format!(
        "SELECT subject_id || ': ' || error FROM flow_runs WHERE rule = '{rule}' AND status = 'failed' ORDER BY id"
    ))
}

/// Fault: Shift_JIS bytes in a column no rule reads made every later
/// `flowc run` exit 2 ("invalid utf-8 sequence"), for ever.
#[test]
fn shift_jis_bytes_fail_only_the_run_that_reads_them() {
    let w = contacts();
    // 日本 in Shift_JIS, written as text by an import.
    w.sql(
        "UPDATE contact SET prefecture = CAST(X'93FA967B' AS TEXT) WHERE id = 1;
         UPDATE contact SET score = 5 WHERE id = 1;
         UPDATE contact SET score = 5 WHERE id = 2;",
    );
    let out = w.run(&["--now", "2025-01-01T01:00"]);
    // `scored` and `touched` do not read the prefecture: they ran.
    assert_eq!(tags(&w, 1), ["scored", "touched"]);
    assert_eq!(tags(&w, 2), ["scored", "tokyo", "touched"]);
    // `tokyo` reads it: that one run failed, naming table, row and column.
    let expected = "1: bad data in contact #1, column prefecture: text that is not valid UTF-8 (bytes 93 FA 96 7B)";
    assert_eq!(errors(&w, "tokyo"), [expected]);
    assert!(out.contains(expected), "{out}");
    // Later changes are processed; fixing the row is enough.
    w.sql(
        "UPDATE contact SET prefecture = '東京都' WHERE id = 1;
         UPDATE contact SET score = 6 WHERE id = 1;",
    );
    w.run(&["--now", "2025-01-01T02:00"]);
    assert_eq!(tags(&w, 1), ["scored", "tokyo", "touched"]);
    assert_eq!(errors(&w, "tokyo").len(), 1);
}

/// A rule that watches the field itself: a change to bytes that cannot be
/// read is a failed run, not a change that silently did not match.
#[test]
fn a_change_to_unreadable_bytes_fails_the_rule_that_watches_the_field() {
    let w = World::files(&[(
        "main.flow",
        &format!(
            "{CONTACTS}\nrule moved\n  when contact.prefecture changes\n  tag contact \"moved\"\nend\n"
        ),
    )]);
    w.run(&["--now", "2025-01-01"]);
    w.sql("INSERT INTO contact (id, name, email, prefecture, score) VALUES (1, 'A', 'a@example.jp', '東京都', 1);");
    w.run(&["--now", "2025-01-01T00:10"]);
    w.sql("UPDATE contact SET prefecture = CAST(X'93FA967B' AS TEXT) WHERE id = 1;");
    w.run(&["--now", "2025-01-01T01:00"]);
    assert_eq!(
        errors(&w, "moved"),
        [
            "1: bad data in contact #1, column prefecture: text that is not valid UTF-8 (bytes 93 FA 96 7B)"
        ]
    );
    assert_eq!(tags(&w, 1), ["touched"]);
}

const EVENTS: &str = r#"
timezone "Asia/Tokyo"
record contact {
  name: text
  email: text
}
template thanks {
  subject: "Thanks for {{event.form}}"
  body: "Hello {{contact.name}}"
}
rule thanks
  when event form_submitted on contact
  send email thanks to contact
end
rule submitted
  when event form_submitted on contact
  tag contact "submitted"
end
"#;

/// Fault: Latin-1 bytes in `flow_events.data`, inserted by another program,
/// stopped the engine for ever.
#[test]
fn latin1_bytes_in_an_event_fail_only_the_runs_that_read_them() {
    let w = World::files(&[("main.flow", EVENTS)]);
    w.run(&["--now", "2025-01-01"]);
    w.sql(
        "INSERT INTO contact (id, name, email) VALUES (1, 'A', 'a@example.jp'), (2, 'B', 'b@example.jp');
         -- {\"form\":\"café\"} with é in Latin-1 (E9), then a good one.
         INSERT INTO flow_events (name, tbl, row_id, data, at)
           VALUES ('form_submitted', 'contact', 1, CAST(X'7B22666F726D223A22636166E9227D' AS TEXT), 0);
         INSERT INTO flow_events (name, tbl, row_id, data, at)
           VALUES ('form_submitted', 'contact', 2, '{\"form\":\"seminar\"}', 0);",
    );
    let out = w.run(&["--now", "2025-01-01T01:00", "--mail-dir", "mail"]);
    assert_eq!(
        w.strings("SELECT subject_id || ': ' || error FROM flow_runs WHERE status = 'failed'"),
        [
            "1: bad data in flow_events #1, column data: the value of \"form\" is text that is not valid UTF-8 (bytes 63 61 66 E9)"
        ]
    );
    assert!(out.contains("flow_events #1"), "{out}");
    assert_eq!(
        tags(&w, 1),
        ["submitted"],
        "that rule does not read the data"
    );
    assert_eq!(
        mails(&w, "mail"),
        [("b@example.jp".to_string(), "Thanks for seminar".to_string())]
    );
    // The engine goes on.
    w.event("form_submitted", "contact:1", r#"{"form": "again"}"#, None);
    w.run(&["--now", "2025-01-01T02:00", "--mail-dir", "mail"]);
    assert_eq!(mails(&w, "mail").len(), 2);
}

/// Data that is not JSON at all: runs that read it fail naming the event;
/// the others run, and the problem is in the log even if none reads it.
#[test]
fn event_data_that_is_not_json_fails_only_the_runs_that_read_it() {
    let w = World::files(&[("main.flow", EVENTS)]);
    w.run(&["--now", "2025-01-01"]);
    w.sql(
        "INSERT INTO contact (id, name, email) VALUES (1, 'A', 'a@example.jp');
         INSERT INTO flow_events (name, tbl, row_id, data, at)
           VALUES ('form_submitted', 'contact', 1, X'00FF', 0);",
    );
    w.run(&["--now", "2025-01-01T01:00", "--mail-dir", "mail"]);
    let errors = w.strings("SELECT error FROM flow_runs WHERE status = 'failed'");
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(
        errors[0].starts_with("bad data in flow_events #1, column data: not a JSON object"),
        "{errors:?}"
    );
    assert_eq!(tags(&w, 1), ["submitted"]);
    let log = text(&w.flowc(&["log", "--db", "crm.sqlite"]).stdout);
    assert!(
        log.contains(
            "problem: flow_events #1 (form_submitted on contact #1): its data is not a JSON object"
        ),
        "{log}"
    );
}

/// Fault: after capture was installed, another program's BLOB write to a
/// watched table was refused ("JSON cannot hold BLOB values").
#[test]
fn the_capture_triggers_never_refuse_a_write() {
    let w = contacts();
    // None of these may fail: plain SQL, as any other program writes.
    w.sql(
        "UPDATE contact SET prefecture = X'00FF10' WHERE id = 1;
         INSERT INTO contact (id, name, email, prefecture, score) VALUES (3, X'41', 'c@example.jp', X'', 1);
         UPDATE contact SET score = 1e999 WHERE id = 2;
         UPDATE contact SET score = -1e999, name = CAST(X'E9' AS TEXT) WHERE id = 3;
         DELETE FROM contact WHERE id = 3;",
    );
    assert_eq!(
        w.count("SELECT count(*) FROM flow_changes WHERE seq > 2"),
        5,
        "every write was captured"
    );
    w.sql("UPDATE contact SET score = 9 WHERE id = 1;");
    w.run(&["--now", "2025-01-01T01:00"]);
    let infinite = "column score: an infinite number in a field of type `int`";
    assert_eq!(
        errors(&w, "tokyo"),
        [
            format!("2: bad data in contact #2, {infinite}"),
            format!("3: bad data in contact #3, {infinite}"),
            "1: bad data in contact #1, column prefecture: a blob in a field of type `text`".into(),
        ]
    );
    assert_eq!(tags(&w, 1), ["scored", "touched"]);
    assert_eq!(tags(&w, 2), ["touched"]);
}

/// Fault: `score = 1e999` (infinity) was captured as invalid JSON and the
/// change silently dropped.
#[test]
fn infinity_is_captured_and_fails_only_the_runs_that_read_it() {
    let w = contacts();
    w.sql("UPDATE contact SET score = 1e999 WHERE id = 1;");
    w.run(&["--now", "2025-01-01T01:00"]);
    // `touched` does not read the score; `scored` and `tokyo` watch it.
    assert_eq!(tags(&w, 1), ["touched"]);
    let expected =
        "1: bad data in contact #1, column score: an infinite number in a field of type `int`";
    assert_eq!(errors(&w, "scored"), [expected]);
    assert_eq!(errors(&w, "tokyo"), [expected]);
}

/// A captured payload that cannot be read at all is never dropped silently:
/// the runs that read the row fail naming `flow_changes` and the seq, and the
/// problem is logged.
#[test]
fn an_unreadable_captured_payload_is_an_error_naming_the_change() {
    let w = contacts();
    w.sql(
        "INSERT INTO flow_changes (tbl, row_id, op, old, new)
           VALUES ('contact', 1, 'update', '{\"score\": 1}', 'not json at all');",
    );
    let seq = w.count("SELECT max(seq) FROM flow_changes");
    let out = w.run(&["--now", "2025-01-01T01:00"]);
    let message = format!(
        "bad data in contact #1, column score: flow_changes #{seq}: the captured new values cannot be read"
    );
    assert!(
        errors(&w, "scored").iter().any(|e| e.contains(&message)),
        "{:?}\n{out}",
        errors(&w, "scored")
    );
    let log = text(&w.flowc(&["log", "--db", "crm.sqlite"]).stdout);
    assert!(
        log.contains(&format!("problem: flow_changes #{seq}")),
        "{log}"
    );
    // The engine went on: a later change is processed.
    w.sql("UPDATE contact SET score = 3 WHERE id = 2;");
    w.run(&["--now", "2025-01-01T02:00"]);
    assert_eq!(tags(&w, 2), ["scored", "tokyo", "touched"]);
}

const WELCOME: &str = r#"
timezone "Asia/Tokyo"
record contact {
  name: text
  email: text
  score: int
}
list vip of contact
template welcome {
  subject: "Welcome {{contact.name}}"
  body: "Hello"
}
template followup {
  subject: "Following up, {{contact.name}}"
  body: "Hello again"
}
template renamed {
  subject: "Renamed {{contact.name}}"
  body: "Hello"
}
template thanks {
  subject: "Thanks {{contact.name}}"
  body: "Hello"
}
rule welcome
  when contact is created
  send email welcome to contact
end
rule nurture
  when contact is created
  wait 3d
  send email followup to contact
end
rule vip
  when contact becomes contact.score >= 50
  reenter never
  add contact to list vip
  tag contact "vip"
end
rule renamed
  when contact.name changes
  send email renamed to contact
end
rule thanks
  when event form_submitted on contact
  send email thanks to contact
end
"#;

fn outbox(w: &World) -> Vec<String> {
    w.strings("SELECT to_addr || ' ' || template || ' run ' || run_id FROM flow_outbox ORDER BY id")
}

/// Fault: `DELETE … WHERE id = 3; INSERT …` in one batch (SQLite reuses id
/// 3) sent the new contact's welcome to the deleted contact's address; the
/// deleted contact's waiting run later emailed the new one.
#[test]
fn a_reused_row_id_starts_clean_and_nothing_of_the_old_row_reaches_it() {
    let w = World::files(&[("main.flow", WELCOME)]);
    w.run(&["--now", "2025-01-01"]);
    w.sql(
        "INSERT INTO contact (name, email, score) VALUES
           ('One', 'one@x.jp', 10), ('Two', 'two@x.jp', 10), ('Old Person', 'old@x.jp', 80);",
    );
    w.run(&["--now", "2025-01-01T01:00", "--mail-dir", "mail"]);
    assert_eq!(
        w.strings("SELECT tag FROM flow_tags WHERE row_id = 3"),
        ["vip"]
    );
    // An event recorded for the old contact, due later.
    w.event(
        "form_submitted",
        "contact:3",
        r#"{"form": "x"}"#,
        Some("2025-01-02T00:00"),
    );
    let event = w.count("SELECT max(seq) FROM flow_events");
    w.sql(
        "DELETE FROM contact WHERE id = 3;
         INSERT INTO contact (name, email, score) VALUES ('New Person', 'new@x.jp', 10);",
    );
    assert_eq!(
        w.count("SELECT id FROM contact WHERE email = 'new@x.jp'"),
        3,
        "SQLite reused the id"
    );
    w.run(&["--until", "2025-01-05", "--mail-dir", "mail"]);
    let new_run = w.count(
        "SELECT id FROM flow_runs WHERE rule = 'nurture' AND subject_id = 3 ORDER BY id DESC LIMIT 1",
    );
    let new_welcome = w.count(
        "SELECT id FROM flow_runs WHERE rule = 'welcome' AND subject_id = 3 ORDER BY id DESC LIMIT 1",
    );
    assert_eq!(
        outbox(&w),
        [
            "one@x.jp welcome run 1".to_string(),
            "two@x.jp welcome run 3".to_string(),
            "old@x.jp welcome run 5".to_string(),
            format!("new@x.jp welcome run {new_welcome}"),
            "one@x.jp followup run 2".to_string(),
            "two@x.jp followup run 4".to_string(),
            format!("new@x.jp followup run {new_run}"),
        ]
    );
    let sent = mails(&w, "mail");
    let to_new: Vec<&str> = sent
        .iter()
        .filter(|(to, _)| to == "new@x.jp")
        .map(|(_, s)| s.as_str())
        .collect();
    assert_eq!(to_new, ["Following up, New Person", "Welcome New Person"]);
    // The old contact's waiting run ended, saying why.
    let old_run = w.count(
        "SELECT id FROM flow_runs WHERE rule = 'nurture' AND subject_id = 3 ORDER BY id LIMIT 1",
    );
    assert_ne!(old_run, new_run);
    let log = text(
        &w.flowc(&["log", "--db", "crm.sqlite", "--run", &old_run.to_string()])
            .stdout,
    );
    assert!(log.contains("done: ended: contact #3 was deleted"), "{log}");
    // The event meant for the old contact did not reach the new one.
    assert!(
        !outbox(&w).iter().any(|m| m.contains("thanks")),
        "{:?}",
        outbox(&w)
    );
    let log = text(&w.flowc(&["log", "--db", "crm.sqlite"]).stdout);
    assert!(
        log.contains(&format!("event ignored: flow_events #{event} (form_submitted on contact #3): the record was deleted before the event was processed")),
        "{log}"
    );
    // Nothing of the old row's state: not in its list, not its tag; and
    // the new row's `becomes` and `reenter never` start from nothing.
    assert_eq!(
        w.count("SELECT count(*) FROM flow_list_members WHERE row_id = 3"),
        0
    );
    assert!(tags(&w, 3).is_empty());
    w.sql("UPDATE contact SET score = 90 WHERE id = 3;");
    w.run(&["--now", "2025-01-05T01:00"]);
    assert_eq!(tags(&w, 3), ["vip"]);
    assert_eq!(
        w.count("SELECT count(*) FROM flow_runs WHERE rule = 'vip' AND subject_id = 3"),
        2
    );
}

/// A change to a row deleted before the change was processed is processed
/// with the values captured at that change.
#[test]
fn a_change_to_a_since_deleted_row_uses_the_values_captured_at_that_change() {
    let w = World::files(&[("main.flow", WELCOME)]);
    w.run(&["--now", "2025-01-01"]);
    w.sql("INSERT INTO contact (id, name, email, score) VALUES (1, 'One', 'one@x.jp', 10);");
    w.run(&["--now", "2025-01-01T01:00"]);
    w.sql(
        "UPDATE contact SET name = 'Uno' WHERE id = 1;
         UPDATE contact SET name = 'Eins', email = 'eins@x.jp' WHERE id = 1;
         DELETE FROM contact WHERE id = 1;",
    );
    w.run(&["--now", "2025-01-01T02:00", "--mail-dir", "mail"]);
    let renamed: Vec<(String, String)> = mails(&w, "mail")
        .into_iter()
        .filter(|(_, s)| s.starts_with("Renamed"))
        .collect();
    assert_eq!(
        renamed,
        [
            ("eins@x.jp".to_string(), "Renamed Eins".to_string()),
            ("one@x.jp".to_string(), "Renamed Uno".to_string()),
        ]
    );
    assert_eq!(
        w.count("SELECT count(*) FROM flow_runs WHERE status = 'failed'"),
        0
    );
}

/// After an upgrade the triggers are refreshed, and changes captured by the
/// old ones (plain `json_object`) are still read.
#[test]
fn changes_captured_by_older_triggers_are_still_read() {
    let w = contacts();
    w.sql(
        "INSERT INTO flow_changes (tbl, row_id, op, old, new)
           VALUES ('contact', 2, 'update',
                   '{\"name\":\"B\",\"email\":\"b@example.jp\",\"prefecture\":\"東京都\",\"score\":1}',
                   '{\"name\":\"B\",\"email\":\"b@example.jp\",\"prefecture\":\"東京都\",\"score\":Inf}');",
    );
    w.run(&["--now", "2025-01-01T01:00"]);
    assert_eq!(
        errors(&w, "scored"),
        ["2: bad data in contact #2, column score: an infinite number in a field of type `int`"]
    );
}

/// Two runners refreshing the triggers after a rule edit, while another
/// program writes: neither fails, and every write is captured (by the old
/// triggers or the new ones, never by neither).
#[test]
fn two_runners_refreshing_the_triggers_lose_no_concurrent_write() {
    let w = contacts();
    // The edit: a new field, so the triggers must be refreshed.
    w.sql("ALTER TABLE contact ADD COLUMN city TEXT;");
    std::fs::write(
        w.project.join("main.flow"),
        CONTACTS.replace("  score: int\n", "  score: int\n  city: text?\n"),
    )
    .expect("edit the rules");
    let before = w.count("SELECT max(seq) FROM flow_changes");
    const WRITES: i64 = 300;
    let writer = {
        let db = w.db.clone();
        std::thread::spawn(move || {
            let conn = rusqlite::Connection::open(db).expect("open");
            conn.busy_timeout(std::time::Duration::from_secs(30))
                .expect("busy timeout");
            for i in 0..WRITES {
                conn.execute("UPDATE contact SET score = ?1 WHERE id = 1", [100 + i])
                    .expect("another program's write is never refused");
            }
        })
    };
    let runners: Vec<_> = (0..2)
        .map(|_| {
            let dir = w.dir.path().to_path_buf();
            std::thread::spawn(move || {
                std::process::Command::new(env!("CARGO_BIN_EXE_flowc"))
                    .args([
                        "run",
                        "--db",
                        "crm.sqlite",
                        "rules",
                        "--now",
                        "2025-01-01T01:00",
                    ])
                    .current_dir(dir)
                    .env("NO_COLOR", "1")
                    .output()
                    .expect("flowc runs")
            })
        })
        .collect();
    writer.join().expect("writer");
    for runner in runners {
        let out = runner.join().expect("runner");
        assert!(
            out.status.success(),
            "{}{}",
            text(&out.stdout),
            text(&out.stderr)
        );
    }
    assert_eq!(
        w.count(&format!(
            "SELECT count(*) FROM flow_changes WHERE seq > {before} AND tbl = 'contact' AND op = 'update'"
        )),
        WRITES
    );
    // The new triggers capture the new field.
    w.sql("UPDATE contact SET city = '札幌' WHERE id = 2;");
    assert_eq!(
        w.strings("SELECT json_extract(new, '$.city') FROM flow_changes ORDER BY seq DESC LIMIT 1"),
        ["札幌"]
    );
    w.run(&["--now", "2025-01-01T02:00"]);
    assert_eq!(
        w.count("SELECT count(*) FROM flow_runs WHERE rule = 'scored' AND subject_id = 1"),
        WRITES
    );
}

/// An event whose `at` another program wrote as text or a real number: the
/// text one is logged and skipped, the real one processed at its time, and
/// the engine goes on (the real one used to stop `--until` for ever).
#[test]
fn an_event_time_that_is_not_whole_seconds_does_not_stop_the_engine() {
    let w = World::files(&[("main.flow", EVENTS)]);
    w.run(&["--now", "2025-01-01"]);
    w.sql(
        "INSERT INTO contact (id, name, email) VALUES (1, 'A', 'a@example.jp');
         INSERT INTO flow_events (name, tbl, row_id, data, at)
           VALUES ('form_submitted', 'contact', 1, '{\"form\":\"text\"}', '2025-01-02');
         -- 2025-01-02T00:00:00.5+09:00
         INSERT INTO flow_events (name, tbl, row_id, data, at)
           VALUES ('form_submitted', 'contact', 1, '{\"form\":\"real\"}', 1735743600.5);",
    );
    w.run(&["--until", "2025-01-03"]);
    assert_eq!(
        w.strings("SELECT subject FROM flow_outbox"),
        ["Thanks for real"]
    );
    assert_eq!(
        w.count("SELECT created_at FROM flow_outbox"),
        1_735_743_601,
        "at the first whole second after its time"
    );
    let log = text(&w.flowc(&["log", "--db", "crm.sqlite"]).stdout);
    assert!(
        log.contains("event ignored: flow_events #1: its at is not a time in Unix seconds but the text \"2025-01-02\""),
        "{log}"
    );
    assert_eq!(
        w.count("SELECT count(*) FROM flow_events WHERE processed = 0"),
        0
    );
}

/// `notify role` reads every user's email with that role: bytes that are
/// not an address fail that run, naming the user, not the database.
#[test]
fn a_role_member_whose_email_is_bytes_fails_only_that_notify() {
    let w = World::files(&[(
        "main.flow",
        r#"
record user {
  name: text
  email: text
  role: text
}
record deal {
  name: text
}
rule alert
  when deal is created
  notify role "executive" "New deal {{deal.name}}"
end
rule count
  when deal is created
  tag deal "seen"
end
"#,
    )]);
    w.run(&["--now", "2025-01-01"]);
    w.sql(
        "INSERT INTO user (id, name, email, role) VALUES (1, 'Boss', CAST(X'626F7373E9' AS TEXT), 'executive');
         INSERT INTO deal (id, name) VALUES (1, 'D');",
    );
    w.run(&["--now", "2025-01-01T01:00"]);
    assert_eq!(
        w.strings("SELECT rule || ': ' || error FROM flow_runs WHERE status = 'failed'"),
        [
            "alert: bad data in user #1, column email: text that is not valid UTF-8 (bytes 62 6F 73 73 E9)"
        ]
    );
    assert_eq!(
        w.strings("SELECT tag FROM flow_tags WHERE tbl = 'deal' AND row_id = 1"),
        ["seen"]
    );
}

/// A rule on the delete reads the deleted row's last values, and cannot
/// write to the new row that took its id.
#[test]
fn a_rule_on_a_delete_never_writes_to_the_row_that_took_its_id() {
    let w = World::files(&[(
        "main.flow",
        r#"
record contact {
  name: text
  email: text
}
template bye {
  subject: "Bye {{contact.name}}"
  body: "Goodbye"
}
rule bye
  when contact is deleted
  send email bye to contact
  set contact.name = "gone"
end
"#,
    )]);
    w.run(&["--now", "2025-01-01"]);
    w.sql("INSERT INTO contact (name, email) VALUES ('Old', 'old@x.jp');");
    w.run(&["--now", "2025-01-01T01:00"]);
    w.sql(
        "DELETE FROM contact WHERE id = 1;
         INSERT INTO contact (name, email) VALUES ('New', 'new@x.jp');",
    );
    w.run(&["--now", "2025-01-01T02:00", "--mail-dir", "mail"]);
    assert_eq!(
        mails(&w, "mail"),
        [("old@x.jp".to_string(), "Bye Old".to_string())]
    );
    assert_eq!(
        w.strings("SELECT name || ' ' || email FROM contact WHERE id = 1"),
        ["New new@x.jp"]
    );
    assert_eq!(
        w.strings("SELECT error FROM flow_runs WHERE status = 'failed'"),
        ["contact #1 does not exist (a dangling reference)"]
    );
}
