//! When a message says it was written (DESIGN.md §8), through the built
//! `flowc` and a real SMTP server: its `Date:` is the engine time at which
//! it became due, so a simulated month shows simulated dates (on SQLite
//! and PostgreSQL).

use crate::support::pg;
use crate::support::smtp;
use crate::support::world::{World, text};

const PROJECT: &str = r#"
timezone "Asia/Tokyo"
record contact {
  name: text
  email: text
}
template hello {
  subject: "{{contact.name}} 様: ご登録ありがとうございます"
  body: "{{contact.name}} 様\n\nご登録ありがとうございます。\nThis line is ASCII, with  two spaces and a trailing one. \n"
}
template later {
  subject: "Ten days on"
  body: "Still there, {{contact.name}}?"
}
rule welcome
  when contact is created
  send email hello to contact
  wait 10d
  send email later to contact
end
"#;

/// Runs `flowc ARGS` with `env`; it must succeed.
fn ok(world: &World, args: &[&str], env: &[(&str, &str)]) -> String {
    let out = world.flowc_env(args, env);
    assert!(
        out.status.success(),
        "flowc {args:?}:\n{}\n{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    format!("{}{}", text(&out.stdout), text(&out.stderr))
}

fn insert_contact(world: &World, server: Option<&pg::Server>, db: &str, id: i64, name: &str) {
    let sql = format!(
        "INSERT INTO contact (id, name, email) VALUES ({id}, '{name}', 'c{id}@example.jp')"
    );
    match server {
        Some(server) if db.contains("://") => {
            server.psql(db, &sql);
        }
        _ => world.sql(&sql),
    }
}

/// `(subject, Date:)` of every message the server received, sorted.
fn dates(server: &smtp::Server) -> Vec<(String, String)> {
    let mut dates: Vec<(String, String)> = server
        .messages()
        .iter()
        .map(|m| {
            (
                m["subject"].as_str().unwrap_or_default().to_string(),
                m["date"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect();
    dates.sort();
    dates
}

#[test]
fn a_simulated_months_date_headers_are_simulated_dates() {
    let world = World::files(&[("main.flow", PROJECT)]);
    let mut dbs = vec![("crm.sqlite".to_string(), None)];
    if let Some(server) = pg::shared("a_simulated_months_date_headers") {
        let url = server.create_database("simulated_dates");
        ok(&world, &["schema", "--db", &url, "--create", "rules"], &[]);
        dbs.push((url, Some(server)));
    }
    for (db, server) in &dbs {
        let kind = if db.contains("://") { "pg" } else { "sqlite" };
        let smtp = smtp::Server::start(&world.path(&format!("received-{kind}")));
        let url = smtp.url();
        let run = |time: &[&str]| {
            let mut args = vec!["run", "--db", db.as_str(), "rules", "--smtp", &url];
            args.extend_from_slice(time);
            ok(&world, &args, &[])
        };
        run(&["--now", "2025-03-01T09:00"]);
        insert_contact(&world, *server, db, 1, "佐藤");
        run(&["--now", "2025-03-01T10:00"]);
        // A month in one go: the second email is due ten days on, at
        // 2025-03-11 10:00 in Tokyo, and is dated so, not today.
        run(&["--until", "2025-03-31T00:00"]);
        assert_eq!(
            dates(&smtp),
            [
                (
                    "Ten days on".to_string(),
                    "Tue, 11 Mar 2025 01:00:00 +0000".to_string()
                ),
                (
                    "佐藤 様: ご登録ありがとうございます".to_string(),
                    "Sat, 01 Mar 2025 01:00:00 +0000".to_string()
                ),
            ],
            "{db}"
        );
    }
}
