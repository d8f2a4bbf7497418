//! The suppression list (DESIGN.md §8) end to end, on a SQLite file and
//! on a real PostgreSQL, through the built `flowc` and a real SMTP server:
//! a suppressed address gets no marketing email while its run goes on and
//! transactional email (a `transactional` template, `notify`) still
//! reaches it (unless it bounced or complained), a 550
//! suppresses the address, `flowc stats` counts what was not sent, and
//! `flowc suppress` adds, lists and removes addresses alike on both.

use crate::support::pg;
use crate::support::smtp;
use crate::support::world::{World, text};

const PROJECT: &str = r#"
timezone "Asia/Tokyo"
record contact {
  name: text
  email: text
}
list welcomed of contact
template hello {
  subject: "Hello {{contact.name}}"
  body: "Hi {{contact.name}}"
}
template receipt transactional {
  subject: "Receipt for {{contact.name}}"
  body: "Thank you"
}
rule welcome
  when contact is created
  send email hello to contact
  send email receipt to contact
  notify contact "Your account {{contact.name}} is ready"
  add contact to list welcomed
end
"#;

/// Runs `flowc ARGS`; it must fail with exit status 2. Its stderr.
fn fails(world: &World, args: &[&str]) -> String {
    let out = world.flowc(args);
    assert_eq!(
        out.status.code(),
        Some(2),
        "flowc {args:?}:\n{}\n{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    text(&out.stderr)
}

/// The world, and the databases to run on: its SQLite file, and a fresh
/// PostgreSQL database with the same tables when a server is at hand.
fn databases(test: &str) -> (World, Vec<String>, Option<&'static pg::Server>) {
    let world = World::files(&[("main.flow", PROJECT)]);
    let mut dbs = vec!["crm.sqlite".to_string()];
    let server = pg::shared(test);
    if let Some(server) = server {
        let url = server.create_database(test);
        world.ok(&["schema", "--db", &url, "--create", "rules"]);
        dbs.push(url);
    }
    (world, dbs, server)
}

/// Inserts contacts on `db` (SQLite or PostgreSQL).
fn contacts(world: &World, server: Option<&pg::Server>, db: &str, rows: &[(i64, &str)]) {
    let values: Vec<String> = rows
        .iter()
        .map(|(id, email)| format!("({id}, 'C{id}', '{email}')"))
        .collect();
    let sql = format!(
        "INSERT INTO contact (id, name, email) VALUES {}",
        values.join(", ")
    );
    match server {
        Some(server) if db.contains("://") => {
            server.psql(db, &sql);
        }
        _ => world.sql(&sql),
    }
}

/// `flowc run --db DB rules --now 2025-01-01T{time} EXTRA…`.
fn run(world: &World, db: &str, time: &str, extra: &[&str]) -> String {
    let now = format!("2025-01-01T{time}");
    let mut args = vec!["run", "--db", db, "rules", "--now", &now];
    args.extend_from_slice(extra);
    world.ok(&args)
}

/// `text` with each Message-ID's last part, the database's random
/// instance, made `INSTANCE`: the one thing that rightly differs between
/// two databases.
fn without_instance(text: &str) -> String {
    const END: &str = "@flowc>";
    let mut out = String::new();
    let mut rest = text;
    while let Some(at) = rest.find(END) {
        out.push_str(rest[..at].trim_end_matches(|c: char| c.is_ascii_hexdigit()));
        out.push_str("INSTANCE");
        out.push_str(END);
        rest = &rest[at + END.len()..];
    }
    out.push_str(rest);
    out
}

/// `to | subject` of what the server received, sorted.
fn received(server: &smtp::Server) -> Vec<String> {
    server.summary()
}

/// The lines of `flowc log --db DB` whose action is one of `actions`,
/// from the action on (without the time, run and step), sorted.
fn log_lines(world: &World, db: &str, actions: &[&str]) -> Vec<String> {
    let log = world.ok(&["log", "--db", db]);
    let mut lines: Vec<String> = log
        .lines()
        .filter_map(|l| {
            actions.iter().find_map(|a| {
                l.find(&format!("  {a}: "))
                    .map(|at| l[at + 2..].to_string())
            })
        })
        .collect();
    lines.sort();
    lines
}

#[test]
fn suppressed_addresses_get_no_marketing_email_their_runs_go_on_and_a_550_suppresses() {
    let (world, dbs, server) = databases("suppressed_addresses_get_no_marketing_email");
    let mut outcomes = Vec::new();
    for db in &dbs {
        let kind = if db.contains("://") { "pg" } else { "sqlite" };
        let smtp = smtp::Server::start(&world.path(&format!("received-{kind}")));
        // Change capture installed; then the list, before any contact.
        run(&world, db, "09:00", &[]);
        world.ok(&[
            "suppress",
            "--db",
            db,
            "add",
            " Sato@Example.JP ",
            "--reason",
            "unsubscribed",
        ]);
        world.ok(&[
            "suppress",
            "--db",
            db,
            "add",
            "angry@example.jp",
            "--reason",
            "complained",
        ]);
        contacts(
            &world,
            server,
            db,
            &[
                (1, "sato@example.jp"),
                (2, "angry@example.jp"),
                (3, "smith@example.com"),
                (4, "reject-me@example.jp"),
            ],
        );
        run(&world, db, "10:00", &["--smtp", &smtp.url()]);
        // The address refused with a 550 is suppressed now: a new contact
        // with it (another case) gets nothing at all, not even `notify`.
        contacts(&world, server, db, &[(5, "Reject-Me@example.jp")]);
        run(&world, db, "11:00", &["--smtp", &smtp.url()]);

        let got = received(&smtp);
        assert_eq!(
            got,
            [
                "sato@example.jp | Receipt for C1",
                "sato@example.jp | Your account C1 is ready",
                "smith@example.com | Hello C3",
                "smith@example.com | Receipt for C3",
                "smith@example.com | Your account C3 is ready",
            ],
            "{db}: the unsubscribed address gets only transactional email, the complained one nothing"
        );
        let mut notices: Vec<String> = smtp
            .messages()
            .iter()
            .filter(|m| m["to"] == "sato@example.jp")
            .map(|m| m["body"].as_str().unwrap_or_default().trim().to_string())
            .collect();
        notices.sort();
        assert_eq!(notices, ["Thank you", "Your account C1 is ready"], "{db}");
        let list = world.ok(&["suppress", "--db", db, "list"]);
        let reasons: Vec<String> = list
            .lines()
            .map(|l| l.split_whitespace().take(2).collect::<Vec<_>>().join(" "))
            .collect();
        assert_eq!(
            reasons,
            [
                "angry@example.jp complained",
                "reject-me@example.jp bounced",
                "sato@example.jp unsubscribed",
            ],
            "{db}:\n{list}"
        );
        let suppressed = log_lines(&world, db, &["suppressed", "address suppressed"]);
        assert_eq!(
            suppressed,
            [
                "address suppressed: angry@example.jp: complained by flowc suppress",
                "address suppressed: reject-me@example.jp: bounced (permanent error (550): 5.1.1 No such user here)",
                "address suppressed: sato@example.jp: unsubscribed by flowc suppress",
                "suppressed: email hello to Reject-Me@example.jp: the address is suppressed (bounced)",
                "suppressed: email hello to angry@example.jp: the address is suppressed (complained)",
                "suppressed: email hello to sato@example.jp: the address is suppressed (unsubscribed)",
                "suppressed: email receipt to Reject-Me@example.jp: the address is suppressed (bounced)",
                "suppressed: email receipt to angry@example.jp: the address is suppressed (complained)",
                "suppressed: notify to Reject-Me@example.jp: the address is suppressed (bounced)",
                "suppressed: notify to angry@example.jp: the address is suppressed (complained)",
            ],
            "{db}"
        );
        // Every run went on past its suppressed email to the next step.
        let stats: serde_json::Value =
            serde_json::from_str(&world.ok(&["stats", "--db", db, "--json"])).expect("json");
        let welcome = &stats[0];
        assert_eq!(welcome["rule"], "welcome", "{db}: {stats}");
        let figures: Vec<i64> = [
            "started",
            "done",
            "failed",
            "emails_sent",
            "emails_failed",
            "emails_suppressed",
        ]
        .iter()
        .map(|k| welcome[*k].as_i64().unwrap_or(-1))
        .collect();
        assert_eq!(figures, [5, 5, 0, 5, 3, 7], "{db}: {welcome}");
        let table = world.ok(&["stats", "--db", db]);
        let header: Vec<&str> = table
            .lines()
            .next()
            .unwrap_or_default()
            .split_whitespace()
            .collect();
        let row: Vec<&str> = table
            .lines()
            .nth(1)
            .unwrap_or_default()
            .split_whitespace()
            .collect();
        let column = header.iter().position(|h| *h == "suppressed");
        assert_eq!(
            column.and_then(|c| row.get(c)).copied(),
            Some("7"),
            "{db}:\n{table}"
        );
        outcomes.push((got, without_instance(&list), table));
    }
    if let [sqlite, pg] = &outcomes[..] {
        assert_eq!(pg, sqlite, "PostgreSQL (left) and SQLite (right) differ");
    }
}

#[test]
fn flowc_suppress_adds_lists_and_removes_alike_on_both_backends() {
    let (world, dbs, _server) = databases("flowc_suppress_round_trip");
    let mut outputs = Vec::new();
    for db in &dbs {
        let never_ran = fails(&world, &["suppress", "--db", db, "list"]);
        assert!(never_ran.contains("no flowc state"), "{db}: {never_ran}");
        run(&world, db, "09:00", &[]);
        let mut said = Vec::new();
        let mut say = |args: &[&str]| {
            let mut all = vec!["suppress", "--db", db.as_str()];
            all.extend_from_slice(args);
            said.push(world.ok(&all));
        };
        say(&[]);
        say(&["add", "  Sato@Example.JP "]);
        say(&["add", "sato@example.jp"]);
        say(&["add", "smith@example.com", "--reason", "bounced"]);
        say(&["list"]);
        say(&["add", "SATO@example.jp", "--reason", "unsubscribed"]);
        say(&["remove", "smith@EXAMPLE.com"]);
        say(&["list"]);
        let errors = [
            fails(
                &world,
                &["suppress", "--db", db, "remove", "smith@example.com"],
            ),
            fails(&world, &["suppress", "--db", db, "add", "not an address"]),
            fails(&world, &["suppress", "--db", db, "add", "  "]),
        ];
        let bad_reason = world.flowc(&[
            "suppress",
            "--db",
            db,
            "add",
            "a@example.jp",
            "--reason",
            "spam",
        ]);
        assert_eq!(bad_reason.status.code(), Some(2), "{db}");
        let bad_reason = text(&bad_reason.stderr);
        assert!(
            bad_reason.contains("unsubscribed") && bad_reason.contains("complained"),
            "{db}: {bad_reason}"
        );
        outputs.push((said, errors.map(|e| e.replace(db.as_str(), "DB"))));
    }
    let (said, errors) = &outputs[0];
    assert_eq!(
        said,
        &[
            "no address is suppressed\n",
            "sato@example.jp suppressed (manual)\n",
            "sato@example.jp was suppressed already (manual)\n",
            "smith@example.com suppressed (bounced)\n",
            "sato@example.jp    manual        since 2025-01-01T09:00:00+09:00  (flowc suppress)\n\
             smith@example.com  bounced       since 2025-01-01T09:00:00+09:00  (flowc suppress)\n",
            "sato@example.jp suppressed (unsubscribed; was manual)\n",
            "smith@example.com is no longer suppressed (was bounced); it gets marketing email again\n",
            "sato@example.jp  unsubscribed  since 2025-01-01T09:00:00+09:00  (flowc suppress)\n",
        ]
        .map(String::from)
    );
    assert_eq!(
        errors,
        &[
            "error: smith@example.com is not suppressed\n",
            "error: `not an address` is not an email address: Missing domain or user\n",
            "error: the address is empty\n",
        ]
        .map(String::from)
    );
    if let [sqlite, pg] = &outputs[..] {
        assert_eq!(pg, sqlite, "PostgreSQL (left) and SQLite (right) differ");
    }
}
