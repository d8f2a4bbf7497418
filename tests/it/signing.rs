//! What a message carries about where and when it comes from (DESIGN.md
//! §8), through the built `flowc` and a real SMTP server: its `Date:` is
//! the engine time at which it became due, so a simulated month shows
//! simulated dates (on SQLite and PostgreSQL); with `FLOWC_DKIM_*` every
//! message is DKIM-signed, and the signature verifies with an independent
//! verifier (dkimpy, the public key handed over in place of DNS) and fails
//! once the message is tampered with.

use crate::support::pg;
use crate::support::smtp;
use crate::support::world::{World, text};
use std::path::PathBuf;

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

fn dkim_file(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/support/dkim")
        .join(name)
}

/// The TXT record publishing the test key `name` (`rsa`, `ed25519`).
fn record(name: &str) -> String {
    let p = std::fs::read_to_string(dkim_file(&format!("{name}.pub.b64"))).expect("public key");
    format!("v=DKIM1; k={name}; p={}", p.trim())
}

/// `bytes` with `from` replaced once by `to` (which must be there).
fn replaced(bytes: &[u8], from: &[u8], to: &[u8]) -> Vec<u8> {
    let at = bytes
        .windows(from.len())
        .position(|w| w == from)
        .unwrap_or_else(|| panic!("{:?} not in the message", String::from_utf8_lossy(from)));
    [&bytes[..at], to, &bytes[at + from.len()..]].concat()
}

#[test]
fn every_message_is_dkim_signed_and_verifies_until_tampered_with() {
    if !smtp::ensure_dkimpy("every_message_is_dkim_signed_and_verifies_until_tampered_with") {
        return;
    }
    let world = World::files(&[("main.flow", PROJECT)]);
    let smtp = smtp::Server::start(&world.path("received"));
    let url = smtp.url();
    ok(
        &world,
        &[
            "run",
            "--db",
            "crm.sqlite",
            "rules",
            "--now",
            "2025-03-01T09:00",
        ],
        &[],
    );
    for (id, key) in [(1, "rsa"), (2, "ed25519")] {
        insert_contact(&world, None, "crm.sqlite", id, "佐藤");
        let pem = dkim_file(&format!("{key}.pem"));
        let env = [
            ("FLOWC_DKIM_KEY", pem.to_str().expect("utf-8 path")),
            ("FLOWC_DKIM_SELECTOR", key),
            ("FLOWC_DKIM_DOMAIN", "example.jp"),
        ];
        let now = format!("2025-03-01T1{id}:00");
        let said = ok(
            &world,
            &[
                "run",
                "--db",
                "crm.sqlite",
                "rules",
                "--now",
                &now,
                "--smtp",
                &url,
            ],
            &env,
        );
        let secret = std::fs::read_to_string(&pem).expect("key");
        for line in secret.lines().filter(|l| !l.starts_with("-----")) {
            assert!(!said.contains(line), "the key is never printed:\n{said}");
        }
    }
    let messages = smtp.messages();
    assert_eq!(messages.len(), 2, "{messages:?}");
    for (message, key) in messages.iter().zip(["rsa", "ed25519"]) {
        let eml = smtp.raw(message);
        let bytes = std::fs::read(&eml).expect("raw message");
        let signature = String::from_utf8_lossy(&bytes)
            .lines()
            .find(|l| l.starts_with("DKIM-Signature:"))
            .map(str::to_string)
            .unwrap_or_default();
        assert!(
            signature.contains(&format!("a={key}-sha256"))
                && signature.contains("d=example.jp")
                && signature.contains(&format!("s={key}")),
            "{signature}"
        );
        let name = format!("{key}._domainkey.example.jp");
        let verified = smtp::dkim_verify(&eml, &name, &record(key));
        assert_eq!(
            verified,
            Ok(()),
            "{key}: {}",
            String::from_utf8_lossy(&bytes)
        );

        // One byte more in the body, a signed header changed, or another
        // key published: each fails.
        let tampered = world.path(&format!("tampered-{key}.eml"));
        let body_changed = replaced(&bytes, b"\r\n\r\n", b"\r\n\r\nX");
        std::fs::write(&tampered, &body_changed).expect("write");
        let failed = smtp::dkim_verify(&tampered, &name, &record(key));
        assert!(failed.is_err(), "{key}: a changed body verified");
        let date_changed = replaced(&bytes, b" 2025 ", b" 2024 ");
        std::fs::write(&tampered, &date_changed).expect("write");
        let failed = smtp::dkim_verify(&tampered, &name, &record(key));
        assert!(failed.is_err(), "{key}: a changed Date: verified");
        let other = if key == "rsa" { "ed25519" } else { "rsa" };
        let failed = smtp::dkim_verify(&eml, &name, &record(other));
        assert!(failed.is_err(), "{key}: verified with the {other} key");
    }
}

#[test]
fn a_partial_dkim_configuration_stops_flowc_run_before_anything_is_sent() {
    let world = World::files(&[("main.flow", PROJECT)]);
    let smtp = smtp::Server::start(&world.path("received"));
    let url = smtp.url();
    ok(
        &world,
        &[
            "run",
            "--db",
            "crm.sqlite",
            "rules",
            "--now",
            "2025-03-01T09:00",
        ],
        &[],
    );
    insert_contact(&world, None, "crm.sqlite", 1, "Sato");
    let pem = dkim_file("rsa.pem");
    let pem = pem.to_str().expect("utf-8 path");
    let run = |env: &[(&str, &str)]| {
        world.flowc_env(
            &[
                "run",
                "--db",
                "crm.sqlite",
                "rules",
                "--now",
                "2025-03-01T10:00",
                "--smtp",
                &url,
            ],
            env,
        )
    };
    let cases: [(&[(&str, &str)], &str); 3] = [
        (
            &[("FLOWC_DKIM_SELECTOR", "s1")],
            "FLOWC_DKIM_KEY and FLOWC_DKIM_DOMAIN not set",
        ),
        (
            &[("FLOWC_DKIM_KEY", pem), ("FLOWC_DKIM_DOMAIN", "example.jp")],
            "FLOWC_DKIM_SELECTOR not set",
        ),
        (
            &[
                ("FLOWC_DKIM_KEY", "/nowhere/key.pem"),
                ("FLOWC_DKIM_SELECTOR", "s1"),
                ("FLOWC_DKIM_DOMAIN", "example.jp"),
            ],
            "FLOWC_DKIM_KEY: /nowhere/key.pem:",
        ),
    ];
    for (env, expected) in cases {
        let out = run(env);
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{env:?}: {stderr}");
        assert!(stderr.contains(expected), "{env:?}: {stderr}");
    }
    assert!(smtp.messages().is_empty(), "nothing was sent");
    assert_eq!(
        world.count("SELECT count(*) FROM flow_runs"),
        0,
        "nothing was run"
    );
}
