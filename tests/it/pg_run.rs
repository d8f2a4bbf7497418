//! `flowc run --db postgresql://…`: the seminar scenario through the CLI on
//! a real PostgreSQL, beside the same commands on a SQLite file; the same
//! emails go out, the same runs end the same way.

use crate::support::pg;
use crate::support::world::World;
use std::path::Path;

/// The subjects and recipients of the .eml files in `dir`, sorted.
fn mail(dir: &Path) -> Vec<String> {
    let mut found: Vec<String> = std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(|e| e.ok())
                .map(|e| std::fs::read_to_string(e.path()).unwrap_or_default())
                .map(|eml| {
                    eml.lines()
                        .filter(|l| l.starts_with("To:") || l.starts_with("Subject:"))
                        .collect::<Vec<_>>()
                        .join(" | ")
                })
                .collect()
        })
        .unwrap_or_default();
    found.sort();
    found
}

/// The seminar: two sign-ups, one pays; a week later the other is reminded
/// and the unopened auto-reply goes again.
fn seminar(world: &World, db: &str) -> Vec<String> {
    let mail_dir = world.path(&format!(
        "mail-{}",
        if db.contains("://") { "pg" } else { "sqlite" }
    ));
    let mail_arg = mail_dir.to_string_lossy().into_owned();
    for (id, who) in [(1, "佐藤"), (2, "Smith")] {
        world.ok(&[
            "event",
            "--db",
            db,
            "form_submitted",
            "--on",
            &format!("contact:{id}"),
            "--data",
            r#"{"form": "seminar"}"#,
            "--at",
            "2025-04-01T10:00",
        ]);
        let _ = who;
    }
    world.ok(&[
        "run",
        "--db",
        db,
        "rules",
        "--now",
        "2025-04-01T10:00",
        "--mail-dir",
        &mail_arg,
    ]);
    world.ok(&[
        "event",
        "--db",
        db,
        "payment_received",
        "--on",
        "contact:1",
        "--at",
        "2025-04-02T09:00",
    ]);
    world.ok(&[
        "run",
        "--db",
        db,
        "rules",
        "--until",
        "2025-04-10T00:00",
        "--mail-dir",
        &mail_arg,
    ]);
    mail(&mail_dir)
}

#[test]
fn the_seminar_runs_on_postgres_as_on_sqlite() {
    let Some(server) = pg::shared("the_seminar_runs_on_postgres_as_on_sqlite") else {
        return;
    };
    let world = World::example("seminar");
    let url = server.create_database("seminar");
    world.ok(&["schema", "--db", &url, "--create", "rules"]);
    let contacts = "INSERT INTO contact (id, name, email) VALUES \
                    (1, '佐藤', 'sato@example.jp'), (2, 'Smith', 'smith@example.com')";
    server.psql(&url, contacts);
    world.sql(contacts);
    let on_sqlite = seminar(&world, "crm.sqlite");
    let on_pg = seminar(&world, &url);
    assert_eq!(on_sqlite.len(), 6, "{on_sqlite:#?}");
    assert_eq!(on_pg, on_sqlite);
    let runs = |rows: Vec<String>| rows.join(", ");
    assert_eq!(
        runs(
            server
                .psql(&url, "SELECT rule || ' ' || subject_id || ' ' || status FROM flowc.flow_runs ORDER BY rule, subject_id")
                .lines()
                .map(str::to_string)
                .collect()
        ),
        runs(world.strings(
            "SELECT rule || ' ' || subject_id || ' ' || status FROM flow_runs ORDER BY rule, subject_id"
        ))
    );
    assert_eq!(
        server
            .psql(
                &url,
                "SELECT count(*) FROM flowc.flow_outbox WHERE status <> 'sent'"
            )
            .trim(),
        "0"
    );
}

#[test]
fn an_event_inserted_by_another_program_fires_its_rules_on_postgres() {
    let Some(server) =
        pg::shared("an_event_inserted_by_another_program_fires_its_rules_on_postgres")
    else {
        return;
    };
    let world = World::example("seminar");
    let url = server.create_database("psql_events");
    world.ok(&["schema", "--db", &url, "--create", "rules"]);
    server.psql(
        &url,
        "INSERT INTO contact (id, name, email) VALUES (7, '田中', 'tanaka@example.jp')",
    );
    let mail_dir = world.path("mail");
    let mail_arg = mail_dir.to_string_lossy().into_owned();
    // The first run makes flowc's tables; nothing is due yet.
    world.ok(&["run", "--db", &url, "rules", "--mail-dir", &mail_arg]);
    assert!(mail(&mail_dir).is_empty());
    // What a web form's backend would do: only what it knows, the id, the
    // time and the shard are filled in by the database.
    server.psql(
        &url,
        r#"INSERT INTO flowc.flow_events (name, tbl, row_id, data)
           VALUES ('form_submitted', 'contact', 7, '{"form": "seminar"}')"#,
    );
    world.ok(&["run", "--db", &url, "rules", "--mail-dir", &mail_arg]);
    let sent = mail(&mail_dir);
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert!(sent[0].starts_with("To: tanaka@example.jp"), "{sent:?}");
    assert_eq!(
        server
            .psql(
                &url,
                "SELECT processed FROM flowc.flow_events WHERE name = 'form_submitted'"
            )
            .trim(),
        "t"
    );
}
