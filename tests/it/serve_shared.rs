//! Several `flowc serve` processes on one database (DESIGN.md §9: "several
//! may serve one database, sharing the work as `run` processes do"): each
//! answers its requests, the events they record are each processed once,
//! and each email goes out once — on SQLite and on PostgreSQL.

use crate::support::db::Db;
use crate::support::pg;
use crate::support::serve::{self, Served, now, signature, wait_until};
use crate::support::smtp;
use crate::support::world::World;

const SECRET: &str = "two servers share this secret, long enough";

const PROJECT: &str = r#"
timezone "Asia/Tokyo"

record contact {
  name: text
  email: text
}

event paid on contact { amount: int }

template receipt transactional {
  subject: "領収書 {{event.amount}}円"
  text: "{{contact.name}} 様、お支払いを確認しました。"
}

rule receipt
  when event paid on contact
  send email receipt to contact
end
"#;

/// How many contacts pay, half through each server.
const PAYMENTS: i64 = 24;

fn serve(world: &World, db: &Db, smtp: &smtp::Server) -> Served {
    Served::start(serve::command(
        world,
        db,
        &["--smtp", &smtp.url(), "--interval", "1"],
        &[("FLOWC_SECRET", SECRET)],
    ))
}

fn two_servers_share_one_database(world: &World, db: &Db) {
    let rows: Vec<String> = (1..=PAYMENTS)
        .map(|i| format!("({i}, 'c{i}', 'c{i}@example.jp')"))
        .collect();
    db.sql(&format!(
        "INSERT INTO contact (id, name, email) VALUES {}",
        rows.join(", ")
    ));
    let smtp = smtp::Server::start(&world.path("smtp"));
    let servers = [serve(world, db, &smtp), serve(world, db, &smtp)];
    assert_ne!(servers[0].base, servers[1].base);

    // Each payment through one server or the other, in turn.
    for i in 1..=PAYMENTS {
        let body = format!(
            r#"{{"on": "contact:{i}", "data": {{"amount": {}}}}}"#,
            i * 100
        );
        let served = &servers[(i % 2) as usize];
        let a = served.post_with(
            "/hooks/paid",
            &[
                ("content-type", "application/json"),
                ("x-flowc-signature", &signature(SECRET, now(), &body)),
            ],
            body.as_str(),
        );
        assert_eq!(a.status, 202, "{}", a.body);
    }
    assert_eq!(
        db.count("SELECT count(*) FROM {s}flow_events WHERE name = 'paid'"),
        PAYMENTS
    );
    // Both run the engine: two live workers share the rules' work.
    assert_eq!(db.count("SELECT count(*) FROM {s}flow_workers"), 2);

    // Every event starts one run and one email, whichever server's engine
    // takes it; none twice.
    wait_until("every receipt is delivered", || {
        smtp.messages().len() as i64 >= PAYMENTS
    });
    std::thread::sleep(std::time::Duration::from_secs(3));
    let mut to: Vec<String> = smtp
        .messages()
        .iter()
        .map(|m| m["to"].as_str().unwrap_or_default().to_string())
        .collect();
    to.sort();
    let mut expected: Vec<String> = (1..=PAYMENTS).map(|i| format!("c{i}@example.jp")).collect();
    expected.sort();
    assert_eq!(to.len(), expected.len(), "{to:?}");
    for (got, want) in to.iter().zip(&expected) {
        assert!(got.contains(want.as_str()), "{got} is not {want}: {to:?}");
    }
    assert_eq!(
        db.count("SELECT count(*) FROM {s}flow_runs WHERE rule = 'receipt'"),
        PAYMENTS
    );
    assert_eq!(
        db.count("SELECT count(*) FROM {s}flow_events WHERE NOT processed"),
        0
    );
}

#[test]
fn two_servers_share_one_sqlite_file() {
    let world = World::files(&[("main.flow", PROJECT)]);
    two_servers_share_one_database(&world, &Db::Sqlite(&world));
}

#[test]
fn two_servers_share_one_postgres_database() {
    let Some(server) = pg::shared("two_servers_share_one_postgres_database") else {
        return;
    };
    let world = World::files(&[("main.flow", PROJECT)]);
    let url = server.create_database("serve_shared");
    world.ok(&["schema", "--db", &url, "--create", "rules"]);
    two_servers_share_one_database(&world, &Db::Pg(server, url));
}
