//! The commands that inspect or settle the engine's state — `flowc
//! approvals`, `log`, `outbox`, `stats` and `graph --db` — on a real
//! PostgreSQL, beside the same commands on a SQLite file that went through
//! the same steps: the same output, line for line, and the same effect of
//! a person's decision on the runs.

use crate::support::pg;
use crate::support::world::{World, text};

/// `flowc COMMAND… --db DB REST…`.
fn args<'a>(command: &[&'a str], db: &'a str, rest: &[&'a str]) -> Vec<&'a str> {
    let mut all = command.to_vec();
    all.extend(["--db", db]);
    all.extend_from_slice(rest);
    all
}

/// `text` with each Message-ID's last part, the database's random
/// instance (`<RUN.STEP.N.INSTANCE@flowc>`), made `INSTANCE`: the one
/// thing that rightly differs between two databases.
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

/// Runs the command on the SQLite file and on PostgreSQL; both must
/// succeed and print the same (but for the Message-IDs' instance). Returns
/// what SQLite's printed.
fn same(world: &World, url: &str, command: &[&str], rest: &[&str]) -> String {
    let on_sqlite = without_instance(&world.ok(&args(command, "crm.sqlite", rest)));
    let on_pg = without_instance(&world.ok(&args(command, url, rest)));
    assert_eq!(
        on_pg, on_sqlite,
        "flowc {command:?} … {rest:?}: PostgreSQL (left) and SQLite (right) differ"
    );
    on_sqlite
}

/// Runs the command on both; both must fail with exit status 2 and the
/// same message (the database named the same way). Returns the message.
fn same_error(world: &World, url: &str, command: &[&str], rest: &[&str]) -> String {
    let run = |db: &str| {
        let out = world.flowc(&args(command, db, rest));
        assert_eq!(
            out.status.code(),
            Some(2),
            "flowc {command:?} --db {db} {rest:?}: {}",
            text(&out.stderr)
        );
        assert!(out.stdout.is_empty(), "{}", text(&out.stdout));
        text(&out.stderr).replace(db, "DB")
    };
    let on_sqlite = run("crm.sqlite");
    assert_eq!(run(url), on_sqlite, "flowc {command:?} … {rest:?}");
    on_sqlite
}

/// SQL on both databases (flowc's tables named `T.flow_…`: bare on
/// SQLite, in the state schema `flowc` on PostgreSQL).
fn sql_both(world: &World, server: &pg::Server, url: &str, sql: &str) {
    world.sql(&sql.replace("T.", ""));
    server.psql(url, &sql.replace("T.", "flowc."));
}

/// `flowc run` with these arguments on both databases.
fn run_both(world: &World, url: &str, rest: &[&str]) {
    for db in ["crm.sqlite", url] {
        let mut all = vec!["run", "--db", db, "rules"];
        all.extend_from_slice(rest);
        world.ok(&all);
    }
}

/// The line of `flowc stats` for `rule`, as its columns.
fn stats_of(stats: &str, rule: &str) -> Vec<String> {
    stats
        .lines()
        .map(|l| l.split_whitespace().map(str::to_string).collect::<Vec<_>>())
        .find(|cols| cols.first().map(String::as_str) == Some(rule))
        .unwrap_or_else(|| panic!("no line for {rule} in:\n{stats}"))
}

/// The seminar's world, its tables created on both databases with the
/// same two contacts.
fn seminar(server: &pg::Server, name: &str) -> (World, String) {
    let world = World::example("seminar");
    let url = server.create_database(name);
    world.ok(&["schema", "--db", &url, "--create", "rules"]);
    let contacts = "INSERT INTO contact (id, name, email) VALUES \
                    (1, '佐藤', 'sato@example.jp'), (2, 'Smith', 'smith@example.com')";
    server.psql(&url, contacts);
    world.sql(contacts);
    (world, url)
}

/// Two seminar sign-ups five minutes apart, each run at once (no
/// transport: the auto-replies stay queued). Apart, so that every later
/// step is due at a different time: PostgreSQL may take what is due at
/// the same time for different records in any order (DESIGN.md §10), and
/// the outputs compared here show the order.
fn sign_ups(world: &World, url: &str) {
    for db in ["crm.sqlite", url] {
        for (id, at) in [(1, "2025-04-01T10:00"), (2, "2025-04-01T10:05")] {
            let on = format!("contact:{id}");
            let at_offset = format!("{at}:00+09:00");
            world.ok(&[
                "event",
                "--db",
                db,
                "form_submitted",
                "--on",
                &on,
                "--data",
                r#"{"form": "seminar"}"#,
                "--at",
                &at_offset,
            ]);
            world.ok(&["run", "--db", db, "rules", "--now", at]);
        }
    }
}

/// The seminar on both databases: `log`, `stats`, `outbox` and `graph
/// --db` agree at every stage; an email a crash left unconfirmed is
/// listed and resolved alike.
#[test]
fn the_inspection_commands_show_the_same_on_postgres_as_on_sqlite() {
    let Some(server) = pg::shared("the_inspection_commands_show_the_same_on_postgres_as_on_sqlite")
    else {
        return;
    };
    let (world, url) = seminar(server, "inspect");
    sign_ups(&world, &url);

    // Without the project's PATHs, `flowc event` checks a payload against
    // the rules flowc last ran on the database, on both alike.
    let refused = same_error(
        &world,
        &url,
        &["event"],
        &[
            "payment_received",
            "--on",
            "contact:1",
            "--data",
            r#"{"amount": "1,000"}"#,
        ],
    );
    assert!(
        refused.contains("key `amount` of event `payment_received` must be an int")
            && refused.contains("checked against the rules flowc last ran on this database"),
        "{refused}"
    );
    let refused = same_error(
        &world,
        &url,
        &["event"],
        &[
            "email_opened",
            "--on",
            "contact:1",
            "--data",
            r#"{"template": "autoreplyy"}"#,
        ],
    );
    assert!(refused.contains("did you mean \"autoreply\"?"), "{refused}");

    let stats = same(&world, &url, &["stats"], &[]);
    assert!(stats.starts_with("rule "), "{stats}");
    assert_eq!(
        stats_of(&stats, "seminar"),
        [
            "seminar", "2", "2", "0", "0", "0", "0", "2", "0", "0", "0", "0", "0"
        ],
        "{stats}"
    );
    assert_eq!(
        stats_of(&stats, "seminar_payment")[..3],
        ["seminar_payment", "2", "2"]
    );
    let json = same(&world, &url, &["stats"], &["--json"]);
    assert!(json.contains("\"emails_queued\": 2"), "{json}");

    let outbox = same(&world, &url, &["outbox"], &[]);
    let lines: Vec<&str> = outbox.lines().collect();
    assert_eq!(lines.len(), 2, "{outbox}");
    assert!(lines[0].starts_with("1  queued "), "{outbox}");
    assert!(lines[0].contains("to sato@example.jp"), "{outbox}");
    assert!(lines[1].starts_with("2  queued "), "{outbox}");
    assert!(lines[1].contains("to smith@example.com"), "{outbox}");

    let log = same(&world, &url, &["log"], &[]);
    assert!(log.lines().count() >= 6, "{log}");
    assert!(log.contains("seminar"), "{log}");
    assert!(log.contains("contact #2"), "{log}");
    let run_2 = same(&world, &url, &["log"], &["--run", "2"]);
    assert!(!run_2.is_empty() && run_2.len() < log.len(), "{run_2}");
    let tail = same(&world, &url, &["log"], &["--tail", "2"]);
    assert_eq!(tail.lines().count(), 2, "{tail}");
    assert!(log.ends_with(&tail), "{tail}\nis not the end of\n{log}");
    let by_rule = same(&world, &url, &["log"], &["--rule", "seminar_payment"]);
    assert!(
        by_rule.lines().all(|l| l.contains("seminar_payment")),
        "{by_rule}"
    );
    let typo = same_error(&world, &url, &["log"], &["--rule", "seminr"]);
    assert!(typo.contains("did you mean `seminar`?"), "{typo}");

    let graph = same(&world, &url, &["graph", "seminar", "rules"], &[]);
    assert!(graph.contains("2 waiting"), "{graph}");
    let graph = same(
        &world,
        &url,
        &["graph", "seminar_payment", "rules"],
        &["--format", "dot"],
    );
    assert!(graph.contains("2 waiting"), "{graph}");

    // A crash while the server was taking message 1: unconfirmed.
    sql_both(
        &world,
        server,
        &url,
        "UPDATE T.flow_outbox SET status = 'unconfirmed', \
         last_error = 'the connection dropped after the final dot' WHERE id = 1",
    );
    let unconfirmed = same(&world, &url, &["outbox"], &["--state", "unconfirmed"]);
    assert_eq!(unconfirmed.lines().count(), 1, "{unconfirmed}");
    assert!(
        unconfirmed.starts_with("1  unconfirmed  ")
            && unconfirmed.contains("(the connection dropped after the final dot)"),
        "{unconfirmed}"
    );
    let queued = same(&world, &url, &["outbox"], &["list", "--state", "queued"]);
    assert!(queued.starts_with("2  queued "), "{queued}");
    let stats = same(&world, &url, &["stats"], &[]);
    assert_eq!(
        stats_of(&stats, "seminar")[7..10],
        ["1", "0", "1"],
        "{stats}"
    );
    // Only an unconfirmed message can be resolved.
    let refused = same_error(&world, &url, &["outbox"], &["resolve", "2", "sent"]);
    assert!(
        refused.contains("message 2 is queued, not unconfirmed"),
        "{refused}"
    );
    let missing = same_error(
        &world,
        &url,
        &["outbox"],
        &["resolve", "<nobody@flowc>", "sent"],
    );
    assert_eq!(
        missing,
        "error: no message in the outbox has the id or Message-ID `<nobody@flowc>`\n"
    );
    // Resolved by its Message-ID, each database's own.
    for db in ["crm.sqlite", url.as_str()] {
        let listed = world.ok(&["outbox", "--db", db, "--state", "unconfirmed"]);
        let message_id = listed.split_whitespace().nth(2).unwrap_or_default();
        assert!(message_id.starts_with("<1.send-1.0."), "{listed}");
        let resolved = world.ok(&["outbox", "--db", db, "resolve", message_id, "sent"]);
        assert_eq!(resolved, "message 1 marked sent\n", "{db}");
    }
    let outbox = same(&world, &url, &["outbox"], &[]);
    assert!(outbox.starts_with("2  queued "), "{outbox}");
    assert!(outbox.contains("\n1  sent "), "{outbox}");
    let tail = same(&world, &url, &["log"], &["--tail", "1"]);
    assert!(tail.contains("email resolved"), "{tail}");

    // One pays; a week later the other is reminded and the auto-reply
    // that was never opened goes again.
    for db in ["crm.sqlite", url.as_str()] {
        world.ok(&[
            "event",
            "--db",
            db,
            "payment_received",
            "--on",
            "contact:1",
            "--at",
            "2025-04-02T09:00:00+09:00",
        ]);
    }
    let mail = world.path("mail");
    let mail = mail.to_string_lossy();
    run_both(
        &world,
        &url,
        &["--until", "2025-04-10T00:00", "--mail-dir", &mail],
    );
    let stats = same(&world, &url, &["stats"], &[]);
    assert_eq!(
        stats_of(&stats, "seminar"),
        [
            "seminar", "2", "0", "2", "0", "0", "4", "0", "0", "0", "0", "0", "0"
        ],
        "{stats}"
    );
    assert_eq!(
        stats_of(&stats, "seminar_payment"),
        [
            "seminar_payment",
            "2",
            "0",
            "2",
            "0",
            "0",
            "2",
            "0",
            "0",
            "0",
            "0",
            "0",
            "0"
        ],
        "{stats}"
    );
    assert_eq!(
        stats_of(&stats, "payment_received")[..4],
        ["payment_received", "1", "0", "1"]
    );
    let outbox = same(&world, &url, &["outbox"], &["--state", "sent"]);
    assert_eq!(outbox.lines().count(), 6, "{outbox}");
    assert!(outbox.contains("to smith@example.com"), "{outbox}");
    let log = same(&world, &url, &["log"], &[]);
    assert!(log.contains("payment_received"), "{log}");
    same(&world, &url, &["log"], &["--rule", "seminar"]);
    same(&world, &url, &["log"], &["--run", "3", "--tail", "4"]);
    let graph = same(&world, &url, &["graph", "seminar_payment", "rules"], &[]);
    assert!(
        graph.contains("passed") && !graph.contains("waiting"),
        "{graph}"
    );
    same(&world, &url, &["graph", "rules"], &["--format", "svg"]);
    same(&world, &url, &["approvals"], &[]);

    // The demo's summary, through the library: the same on both.
    let sqlite = flowc::store::sqlite::Sqlite::read_only(
        flowc::store::state::open_read_only(&world.db).expect("open read-only"),
    );
    let pg_store = flowc::store::pg::Pg::existing(crate::pg_store::connect(&url), "flowc", true)
        .expect("existing");
    use flowc::store::Store;
    let totals = |store: &dyn Store| {
        let mut totals = store.report().totals("autoreply").expect("totals");
        totals.example_message = totals.example_message.as_deref().map(without_instance);
        totals
    };
    let on_sqlite = totals(&sqlite);
    assert_eq!(totals(&pg_store), on_sqlite);
    assert_eq!(on_sqlite.emails_sent, 6);
    assert_eq!(
        on_sqlite.runs_by_rule,
        [
            ("payment_received".to_string(), 1),
            ("seminar".to_string(), 2),
            ("seminar_payment".to_string(), 2)
        ]
    );
    assert_eq!(
        on_sqlite.example_message.as_deref(),
        Some("<1.send-1.0.INSTANCE@flowc>")
    );
    assert_eq!(
        pg_store.report().rule_stats().expect("stats"),
        sqlite.report().rule_stats().expect("stats")
    );
}

/// Approving and rejecting from the command line on PostgreSQL: the
/// listing, the answers and what the engine then does are those of SQLite.
#[test]
fn approvals_are_listed_and_decided_on_postgres_as_on_sqlite() {
    let Some(server) = pg::shared("approvals_are_listed_and_decided_on_postgres_as_on_sqlite")
    else {
        return;
    };
    let world = World::example("won_lock_discount_approval");
    let url = server.create_database("approvals");
    world.ok(&["schema", "--db", &url, "--create", "rules"]);
    run_both(&world, &url, &["--now", "2025-01-01T09:00"]);
    let none = same(&world, &url, &["approvals"], &[]);
    assert_eq!(none, "no approvals pending\n");
    let rows = "INSERT INTO \"user\" (id, name, email, role, manager) VALUES
                  (1, '部長', 'bucho@example.jp', 'manager', NULL),
                  (2, '佐藤', 'sato@example.jp', 'sales', 1);
                INSERT INTO opportunity (id, name, stage, amount, owner)
                  VALUES (1, '大型案件', '提案', 5000000, 2);
                INSERT INTO discount_request (id, opportunity, rate, requested_by)
                  VALUES (1, 1, 0.15, 2);";
    world.sql(rows);
    server.psql(&url, rows);
    run_both(&world, &url, &["--now", "2025-01-01T10:00"]);
    // One at a time: the order PostgreSQL takes changes of different
    // records in is free (DESIGN.md §10), so the approvals' ids would be.
    let rows = "INSERT INTO discount_request (id, opportunity, rate, requested_by)
                  VALUES (2, 1, 0.3, 2), (3, 1, 0.05, 2);";
    world.sql(rows);
    server.psql(&url, rows);
    run_both(&world, &url, &["--now", "2025-01-01T10:30"]);

    let pending = same(&world, &url, &["approvals"], &[]);
    assert_eq!(
        pending,
        "1  discount_approval  discount_request #1 [opportunity: 大型案件 (opportunity #1), rate: 0.15] \
         — approver 部長 (bucho@example.jp), requested 2025-01-01 10:00\n\
         2  discount_approval  discount_request #2 [opportunity: 大型案件 (opportunity #1), rate: 0.3] \
         — approver 部長 (bucho@example.jp), requested 2025-01-01 10:30\n"
    );
    assert_eq!(same(&world, &url, &["approvals"], &["list"]), pending);
    let graph = same(&world, &url, &["graph", "discount_approval", "rules"], &[]);
    assert!(graph.contains("2 waiting"), "{graph}");

    let approved = same(
        &world,
        &url,
        &["approvals"],
        &["approve", "1", "--note", "OK 部長"],
    );
    assert_eq!(
        approved,
        "approval 1 approved; the run goes on at the next `flowc run`\n"
    );
    let rejected = same(&world, &url, &["approvals"], &["reject", "2"]);
    assert_eq!(
        rejected,
        "approval 2 rejected; the run goes on at the next `flowc run`\n"
    );
    let again = same_error(&world, &url, &["approvals"], &["approve", "1"]);
    assert_eq!(again, "error: approval 1 was already decided\n");
    let missing = same_error(&world, &url, &["approvals"], &["reject", "7"]);
    assert_eq!(missing, "error: there is no approval 7\n");
    assert_eq!(
        server.psql(
            &url,
            "SELECT id || ' ' || status || ' ' || coalesce(note, '-') FROM flowc.flow_approvals ORDER BY id"
        ),
        "1 approved OK 部長\n2 rejected -"
    );
    assert_eq!(
        same(&world, &url, &["approvals"], &[]),
        "no approvals pending\n"
    );

    // The engine acts on the decisions at its next run.
    run_both(&world, &url, &["--now", "2025-01-02T10:00"]);
    assert_eq!(
        server.psql(
            &url,
            "SELECT id || ' ' || coalesce(approved_on::text, '-') FROM discount_request ORDER BY id"
        ),
        "1 2025-01-02\n2 -\n3 -"
    );
    assert_eq!(
        world.strings(
            "SELECT id || ' ' || coalesce(approved_on, '-') FROM discount_request ORDER BY id"
        ),
        ["1 2025-01-02", "2 -", "3 -"]
    );
    let stats = same(&world, &url, &["stats"], &[]);
    assert_eq!(
        stats_of(&stats, "discount_approval")[..6],
        ["discount_approval", "2", "0", "1", "0", "1"],
        "{stats}"
    );
    let log = same(&world, &url, &["log"], &["--rule", "discount_approval"]);
    assert!(log.contains("discount_request #1"), "{log}");
    assert!(log.contains("discount_request #2"), "{log}");
    same(&world, &url, &["log"], &[]);
    let graph = same(&world, &url, &["graph", "discount_approval", "rules"], &[]);
    assert!(!graph.contains("waiting"), "{graph}");
}

/// On a PostgreSQL database flowc never ran on (or whose flowc tables are
/// in another schema), every command says so and creates nothing; with
/// `--state-schema` they read the schema named.
#[test]
fn the_commands_never_create_flowc_state_on_postgres() {
    let Some(server) = pg::shared("the_commands_never_create_flowc_state_on_postgres") else {
        return;
    };
    let (world, url) = seminar(server, "nostate");
    let commands: [&[&str]; 8] = [
        &["stats", "--db", &url],
        &["log", "--db", &url],
        &["approvals", "--db", &url],
        &["approvals", "--db", &url, "approve", "1"],
        &["outbox", "--db", &url],
        &["outbox", "--db", &url, "resolve", "1", "sent"],
        &["graph", "seminar", "rules", "--db", &url],
        &["stats", "--db", &url, "--state-schema", "crm_state"],
    ];
    let schemas =
        "SELECT count(*) FROM pg_catalog.pg_namespace WHERE nspname IN ('flowc', 'crm_state')";
    for args in commands {
        let out = world.flowc(args);
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(
            stderr.contains("this database has no flowc state (`flowc run` has never run on it)"),
            "{args:?}: {stderr}"
        );
        assert!(
            stderr.contains("postgresql://postgres@127.0.0.1"),
            "{stderr}"
        );
        assert_eq!(server.psql(&url, schemas), "0", "{args:?}");
    }

    // The engine in a schema of its own: the commands find it there only.
    for (id, at) in [
        (1, "2025-04-01T10:00:00+09:00"),
        (2, "2025-04-01T10:05:00+09:00"),
    ] {
        let on = format!("contact:{id}");
        world.ok(&[
            "event",
            "--db",
            &url,
            "--state-schema",
            "crm_state",
            "form_submitted",
            "--on",
            &on,
            "--data",
            r#"{"form": "seminar"}"#,
            "--at",
            at,
        ]);
    }
    world.ok(&[
        "run",
        "--db",
        &url,
        "--state-schema",
        "crm_state",
        "rules",
        "--now",
        "2025-04-01T10:10",
    ]);
    let out = world.flowc(&["stats", "--db", &url]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("has no flowc state") && stderr.contains("schema `flowc`"),
        "{stderr}"
    );
    let stats = world.ok(&["stats", "--db", &url, "--state-schema", "crm_state"]);
    assert_eq!(
        stats_of(&stats, "seminar")[..3],
        ["seminar", "2", "2"],
        "{stats}"
    );
    let pending = world.ok(&["outbox", "--db", &url, "--state-schema", "crm_state"]);
    assert_eq!(pending.lines().count(), 2, "{pending}");
    assert_eq!(server.psql(&url, schemas), "1");

    // A session opened to look cannot write, even through the store's
    // writing methods.
    use flowc::store::Store;
    let looking = flowc::store::pg::Pg::existing(crate::pg_store::connect(&url), "crm_state", true)
        .expect("existing");
    let refused = looking.set_meta("probe", "x").err().map(|e| e.to_string());
    assert!(
        refused
            .as_deref()
            .is_some_and(|e| e.contains("read-only transaction")),
        "{refused:?}"
    );
}
