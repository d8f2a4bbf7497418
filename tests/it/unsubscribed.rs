//! `R is unsubscribed` (DESIGN.md §8) end to end, on a SQLite file and on a
//! real PostgreSQL, through the built `flowc`: after `flowc suppress add`
//! an `if` takes the right branch (the address compared trimmed and
//! case-insensitively, any reason counting, a null address never
//! suppressed), and runs waiting on `wait until R is unsubscribed` or
//! `wait … unless R is unsubscribed` are re-checked when an address is
//! suppressed later, whoever suppressed it: `flowc suppress`, or a
//! server's permanent refusal (a bounce) during delivery.

use crate::support::pg;
use crate::support::smtp;
use crate::support::world::World;

const PROJECT: &str = r#"
timezone "Asia/Tokyo"
record contact {
  name: text
  email: text?
  branch: text?
  woke: text?
  nurtured: text?
}
rule check
  when contact is created
  if contact is unsubscribed
    set contact.branch = "unsubscribed"
  else
    set contact.branch = "subscribed"
  end
  wait until contact is unsubscribed
  set contact.woke = "yes"
end
rule nurture
  when contact is created
  wait 7d unless contact is unsubscribed
  set contact.nurtured = "yes"
end
"#;

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

/// Runs `sql` on `db` (SQLite or PostgreSQL); its rows as `a|b|…` lines.
fn sql(world: &World, server: Option<&pg::Server>, db: &str, sql: &str) -> Vec<String> {
    match server {
        Some(server) if db.contains("://") => server
            .psql(db, sql)
            .lines()
            .map(str::to_string)
            .filter(|l| !l.is_empty())
            .collect(),
        _ => {
            let conn = world.conn();
            let mut stmt = conn.prepare(sql).unwrap_or_else(|e| panic!("{sql}: {e}"));
            let columns = stmt.column_count();
            stmt.query_map([], |r| {
                let mut cells = Vec::new();
                for i in 0..columns {
                    cells.push(r.get::<_, Option<String>>(i)?.unwrap_or_default());
                }
                Ok(cells.join("|"))
            })
            .and_then(|rows| rows.collect())
            .unwrap_or_else(|e| panic!("{sql}: {e}"))
        }
    }
}

/// `id|branch|woke|nurtured` of every contact, by id.
fn contacts(world: &World, server: Option<&pg::Server>, db: &str) -> Vec<String> {
    sql(
        world,
        server,
        db,
        "SELECT CAST(id AS TEXT), branch, woke, nurtured FROM contact ORDER BY id",
    )
}

/// `flowc run --db DB rules --now TIME`.
fn run(world: &World, db: &str, now: &str) {
    world.ok(&["run", "--db", db, "rules", "--now", now]);
}

#[test]
fn is_unsubscribed_reads_the_suppression_list_and_suppress_rechecks_waits() {
    let (world, dbs, server) = databases("is_unsubscribed_reads_the_suppression_list");
    for db in &dbs {
        // Change capture installed before any contact.
        run(&world, db, "2025-01-01T09:00");
        world.ok(&["suppress", "--db", db, "add", " Sato@Example.JP "]);
        sql(
            &world,
            server,
            db,
            "INSERT INTO contact (id, name, email) VALUES \
             (1, 'Sato', '  SATO@example.jp '), \
             (2, 'Suzuki', 'suzuki@example.jp'), \
             (3, 'Tanaka', NULL), \
             (4, 'Ito', '')",
        );
        run(&world, db, "2025-01-01T10:00");
        assert_eq!(
            contacts(&world, server, db),
            [
                // Suppressed in another case and with spaces around it: the
                // `if` takes the first branch, and the condition already
                // holds at both waits.
                "1|unsubscribed|yes|",
                "2|subscribed||",
                // A null or empty address is never suppressed.
                "3|subscribed||",
                "4|subscribed||",
            ],
            "{db}"
        );

        // Suppressing an address later (for any reason) re-checks the runs
        // waiting on the condition: `wait until` goes on, `unless` ends.
        world.ok(&[
            "suppress",
            "--db",
            db,
            "add",
            "SUZUKI@example.jp",
            "--reason",
            "bounced",
        ]);
        run(&world, db, "2025-01-01T11:00");
        assert_eq!(
            contacts(&world, server, db),
            [
                "1|unsubscribed|yes|",
                "2|subscribed|yes|",
                "3|subscribed||",
                "4|subscribed||",
            ],
            "{db}"
        );

        // The waits that nothing ended run out as usual.
        run(&world, db, "2025-01-09T10:00");
        // Removed from the list: a new contact with that address is not
        // unsubscribed.
        world.ok(&["suppress", "--db", db, "remove", "sato@example.jp"]);
        sql(
            &world,
            server,
            db,
            "INSERT INTO contact (id, name, email) VALUES (5, 'Sato 2', 'sato@example.jp')",
        );
        run(&world, db, "2025-01-09T10:05");
        assert_eq!(
            contacts(&world, server, db),
            [
                "1|unsubscribed|yes|",
                "2|subscribed|yes|",
                "3|subscribed||yes",
                "4|subscribed||yes",
                "5|subscribed||",
            ],
            "{db}"
        );
    }
}

const MAILED: &str = r#"
timezone "Asia/Tokyo"
record contact {
  name: text
  email: text?
  woke: text?
}
template hello transactional {
  subject: "Hello"
  text: "Hello {{contact.name}}"
}
rule hello
  when contact is created
  send email hello to contact
  wait until contact is unsubscribed, at most 30d
  if contact is unsubscribed
    set contact.woke = "bounced"
  end
end
"#;

/// A bounce suppresses the address in the store, which records the change
/// itself: the run waiting on `contact is unsubscribed` goes on at the next
/// pass, without anyone running `flowc suppress` (before, only the CLI
/// recorded it, so the wait sat until its deadline).
#[test]
fn a_bounce_rechecks_the_waits_that_read_is_unsubscribed() {
    let world = World::files(&[("main.flow", MAILED)]);
    let mut dbs = vec!["crm.sqlite".to_string()];
    let server = pg::shared("a_bounce_rechecks_the_waits");
    if let Some(server) = server {
        let url = server.create_database("a_bounce_rechecks_the_waits");
        world.ok(&["schema", "--db", &url, "--create", "rules"]);
        dbs.push(url);
    }
    for db in &dbs {
        let mail = smtp::Server::start(&world.path(&format!("smtp-{}", dbs.len())));
        let url = mail.url();
        world.ok(&["run", "--db", db, "rules", "--now", "2025-01-01T09:00"]);
        sql(
            &world,
            server,
            db,
            "INSERT INTO contact (id, name, email) VALUES \
             (1, 'Gone', 'reject-me@example.jp'), (2, 'Here', 'here@example.jp')",
        );
        world.ok(&[
            "run",
            "--db",
            db,
            "rules",
            "--now",
            "2025-01-01T10:00",
            "--smtp",
            &url,
        ]);
        world.ok(&["run", "--db", db, "rules", "--now", "2025-01-01T10:01"]);
        assert_eq!(
            sql(
                &world,
                server,
                db,
                "SELECT CAST(id AS TEXT), coalesce(woke, '') FROM contact ORDER BY id"
            ),
            ["1|bounced", "2|"],
            "{db}"
        );
    }
}
