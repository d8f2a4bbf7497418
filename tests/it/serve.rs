//! `flowc serve` (DESIGN.md §9) through the built binary: a project is run
//! with `--public-url` and `--mail-dir`, so real tokens sit in the written
//! .eml files; then `flowc serve` is started on a free port of 127.0.0.1
//! against the same database and asked with a real HTTP client (redirects
//! not followed). Every row of the public endpoints and every failure
//! answer, with what each left in the database; attacks (forged,
//! truncated, altered and other-purpose tokens, bad and stale signatures,
//! a replayed webhook, a 10 MB body, hundreds of idle connections, a
//! record named `<script>`); and the engine serving runs as
//! `run --watch` does. On SQLite, and on PostgreSQL when the harness has
//! it.

use crate::support::db::Db;
use crate::support::pg;
use crate::support::serve::{
    self, Answer, Served, agent, answer, eml_raw, link_tokens, now, signature,
};
use crate::support::world::{World, text};
use flowc::mail::token::{self, Purpose, Secret};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

const SECRET: &str = "a serve test secret: 32 bytes at least, surely";
const PUBLIC: &str = "https://flow.example.jp";

const PROJECT: &str = r#"
timezone "Asia/Tokyo"
record contact {
  name: text
  email: text
}
sender {
  from: "株式会社サンプル <sales@example.jp>"
  postal_address: "〒100-0001 東京都千代田区千代田1-1"
}
template offer {
  subject: "{{contact.name}} 様へのご案内"
  text: "{{contact.name}} 様: https://example.jp/seminar?a=1&b=2 をご覧ください。"
  html: "<html><body><p><a href=\"https://example.jp/seminar?a=1&amp;b=2\">{{contact.name}} 様</a> <a href=\"https://example.jp/other\">other</a></p></body></html>"
}
rule welcome
  when contact is created
  send email offer to contact
end
rule paid
  when event paid on contact
  set contact.name = "paid"
end
event refunded on contact { amount: int, reason: text? }
"#;

impl Db<'_> {
    fn events(&self, name: &str) -> i64 {
        self.count(&format!(
            "SELECT count(*) FROM {{s}}flow_events WHERE name = '{name}'"
        ))
    }

    /// The data of the events called `name`, oldest first.
    fn event_data(&self, name: &str) -> Vec<serde_json::Value> {
        let cast = match self {
            Db::Sqlite(_) => "data",
            Db::Pg(..) => "data::text",
        };
        let order = match self {
            Db::Sqlite(_) => "seq",
            Db::Pg(..) => "id",
        };
        self.rows(&format!(
            "SELECT {cast} FROM {{s}}flow_events WHERE name = '{name}' ORDER BY {order}"
        ))
        .iter()
        .map(|d| serde_json::from_str(d).unwrap_or_else(|e| panic!("{d}: {e}")))
        .collect()
    }

    fn suppressions(&self) -> Vec<String> {
        self.rows("SELECT address || ' ' || reason FROM {s}flow_suppressions ORDER BY address")
    }
}

/// One marketing message as written into the mail folder.
#[derive(Debug)]
struct Mail {
    to: String,
    /// Without angle brackets.
    message_id: String,
    open: String,
    clicks: Vec<String>,
    unsubscribe: String,
}

/// The tokens of `PUBLIC/KIND/TOKEN` links in `text`.
fn tokens(text: &str, kind: &str) -> Vec<String> {
    let mut found = link_tokens(text, &format!("{PUBLIC}/{kind}/"));
    found.sort();
    found
}

/// The messages in `dir`, by recipient.
fn mails(dir: &std::path::Path) -> Vec<Mail> {
    let mut found: Vec<Mail> = std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(|e| e.ok())
                .map(|e| e.path())
                .collect::<Vec<_>>()
        })
        .unwrap_or_default()
        .into_iter()
        .map(|path| {
            let eml = eml_raw(&path);
            let header = |name: &str| {
                eml.lines()
                    .find_map(|l| l.strip_prefix(name))
                    .map(|v| v.trim().to_string())
                    .unwrap_or_else(|| panic!("{name} in {}", path.display()))
            };
            let one = |kind| {
                let t = tokens(&eml, kind);
                assert_eq!(t.len(), 1, "{kind} tokens in {}: {t:?}", path.display());
                t[0].clone()
            };
            Mail {
                to: header("To:"),
                message_id: header("Message-ID:")
                    .trim_matches(|c| c == '<' || c == '>')
                    .to_string(),
                open: one("o"),
                clicks: tokens(&eml, "c"),
                unsubscribe: one("u"),
            }
        })
        .collect();
    found.sort_by(|a, b| a.to.cmp(&b.to));
    found
}

/// A project run on `db` with `--public-url` and `--mail-dir mail`: two
/// contacts got the offer (the first named `<script>alert(1)</script>`).
fn prepare(world: &World, db: &Db) -> Vec<Mail> {
    let db_arg = db.arg();
    if let Db::Pg(..) = db {
        world.ok(&["schema", "--db", &db_arg, "--create", "rules"]);
    }
    // The first run installs change capture.
    world.ok(&["run", "--db", &db_arg, "rules"]);
    db.sql(
        "INSERT INTO contact (id, name, email) VALUES \
         (1, '<script>alert(1)</script>', 'yamada@example.jp'), (2, 'Smith', 'smith@example.com')",
    );
    let mail_dir = world.path("mail");
    let out = world.flowc_env(
        &[
            "run",
            "--db",
            &db_arg,
            "rules",
            "--public-url",
            PUBLIC,
            "--mail-dir",
            &mail_dir.to_string_lossy(),
        ],
        &[("FLOWC_SECRET", SECRET)],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let found = mails(&mail_dir);
    assert_eq!(found.len(), 2, "{found:#?}");
    assert_eq!(found[1].to, "yamada@example.jp");
    found
}

/// Starts `flowc serve` on `db` (a free port), waiting until it listens.
fn serve(world: &World, db: &Db) -> Served {
    let mail_dir = world.path("mail").to_string_lossy().into_owned();
    Served::start(serve::command(
        world,
        db,
        &["--public-url", PUBLIC, "--mail-dir", &mail_dir],
        &[("FLOWC_SECRET", SECRET)],
    ))
}

/// What these tests send besides GETs and forms: signed webhooks.
trait Webhooks {
    /// POST `body` signed now with the server's secret.
    fn hook(&self, path: &str, body: &str, headers: &[(&str, &str)]) -> Answer;

    /// `127.0.0.1:PORT`, to connect to.
    fn port_address(&self) -> String;
}

impl Webhooks for Served {
    fn hook(&self, path: &str, body: &str, headers: &[(&str, &str)]) -> Answer {
        signed(self, path, body, now(), SECRET, headers)
    }

    fn port_address(&self) -> String {
        self.base.trim_start_matches("http://").to_string()
    }
}

/// POST `body` signed at `t` with `secret`, with extra headers.
fn signed(
    served: &Served,
    path: &str,
    body: &str,
    t: i64,
    secret: &str,
    headers: &[(&str, &str)],
) -> Answer {
    let signature = signature(secret, t, body);
    let mut all = vec![
        ("content-type", "application/json"),
        ("x-flowc-signature", signature.as_str()),
    ];
    all.extend_from_slice(headers);
    served.post_with(path, &all, body)
}

fn secret() -> Secret {
    Secret::new(SECRET).expect("secret")
}

/// Flips one character of a token.
fn altered(token: &str, at: usize) -> String {
    let mut bytes = token.as_bytes().to_vec();
    bytes[at] = if bytes[at] == b'A' { b'B' } else { b'A' };
    String::from_utf8(bytes).expect("ascii")
}

/// The pixel, `no-store`, for every open-tracking request.
fn assert_pixel(a: &Answer) {
    assert_eq!(a.status, 200, "{}", a.body);
    assert_eq!(a.header("content-type"), Some("image/gif"));
    assert_eq!(a.header("cache-control"), Some("no-store"));
    assert!(a.body.starts_with("GIF89a"), "{:?}", a.body);
}

/// The tracking links: opens and clicks recorded on the recipient, the
/// pixel for anything, redirects only to the message's own links.
fn tracking(db: &Db, served: &Served, mails: &[Mail]) {
    let yamada = &mails[1];
    let smith = &mails[0];
    // A valid open: the event on the recipient record, committed before
    // the answer.
    assert_pixel(&served.get(&format!("/o/{}", yamada.open)));
    assert_eq!(db.events("email_opened"), 1);
    assert_eq!(
        db.event_data("email_opened"),
        [serde_json::json!({"template": "offer", "message": yamada.message_id})]
    );
    assert_eq!(
        db.rows("SELECT tbl || ':' || row_id FROM {s}flow_events WHERE name = 'email_opened'"),
        ["contact:1"]
    );
    // Anything else gets the same pixel and records nothing.
    let forged = token::make(
        &secret(),
        Purpose::Open,
        &token::message_key(999, "<nope@flowc>"),
    );
    let other_secret = Secret::new("another secret that is long enough").expect("secret");
    let other = token::make(
        &other_secret,
        Purpose::Open,
        &token::message_key(1, &format!("<{}>", yamada.message_id)),
    );
    for bad in [
        altered(&yamada.open, 3),
        yamada.open[..yamada.open.len() - 2].to_string(),
        yamada.unsubscribe.clone(),
        yamada.clicks[0].clone(),
        forged,
        other,
        "x".repeat(200),
        "%ff%fe".into(),
    ] {
        assert_pixel(&served.get(&format!("/o/{bad}")));
    }
    assert_eq!(db.events("email_opened"), 1);

    // Each click redirects to its own link's original URL.
    let links: Vec<String> = serde_json::from_str(
        &db.rows(&format!(
            "SELECT links FROM {{s}}flow_outbox WHERE message_id = '<{}>'",
            yamada.message_id
        ))[0],
    )
    .expect("links");
    assert_eq!(links.len(), 2, "{links:?}");
    for click in &yamada.clicks {
        let payload = token::verify(&secret(), Purpose::Click, click).expect("a click token");
        let (_, link) = token::split_click(&payload).expect("click payload");
        let a = served.get(&format!("/c/{click}"));
        assert_eq!(a.status, 302, "{}", a.body);
        assert_eq!(
            a.header("location"),
            Some(links[usize::from(link)].as_str())
        );
        assert_eq!(a.header("cache-control"), Some("no-store"));
    }
    let clicked = db.event_data("email_clicked");
    assert_eq!(clicked.len(), yamada.clicks.len());
    assert!(
        clicked.contains(&serde_json::json!({
            "template": "offer",
            "message": yamada.message_id,
            "url": "https://example.jp/seminar?a=1&b=2",
        })),
        "{clicked:?}"
    );
    // A click token altered (its link number, its tag), truncated, of
    // another purpose or naming a link the message does not have: 404,
    // never a redirect, nothing recorded.
    let run: i64 = db.rows(&format!(
        "SELECT CAST(run_id AS TEXT) FROM {{s}}flow_outbox WHERE message_id = '<{}>'",
        yamada.message_id
    ))[0]
        .parse()
        .expect("run");
    let message_id = format!("<{}>", yamada.message_id);
    let beyond = token::make(
        &secret(),
        Purpose::Click,
        &token::click_payload(run, &message_id, 7),
    );
    let other_message = token::make(
        &secret(),
        Purpose::Click,
        &token::click_payload(run + 100, &message_id, 0),
    );
    let click = &yamada.clicks[0];
    for bad in [
        altered(click, 22),
        altered(click, 23),
        altered(click, click.len() - 1),
        click[..click.len() - 1].to_string(),
        click[..30].to_string(),
        yamada.open.clone(),
        yamada.unsubscribe.clone(),
        beyond,
        other_message,
        "garbage".into(),
    ] {
        let a = served.get(&format!("/c/{bad}"));
        assert_eq!(a.status, 404, "/c/{bad}: {}", a.body);
        assert_eq!(a.header("location"), None);
    }
    assert_eq!(db.events("email_clicked"), clicked.len() as i64);
    // The other recipient's open is recorded on its own record.
    assert_pixel(&served.get(&format!("/o/{}", smith.open)));
    assert_eq!(
        db.rows("SELECT tbl || ':' || row_id FROM {s}flow_events WHERE name = 'email_opened' ORDER BY at, tbl, row_id"),
        ["contact:1", "contact:2"]
    );
}

/// The opt-out page and the one-click opt-out.
fn opt_out(db: &Db, served: &Served, mails: &[Mail]) {
    let yamada = &mails[1];
    let page = served.get(&format!("/u/{}", yamada.unsubscribe));
    assert_eq!(page.status, 200);
    assert_eq!(
        page.header("content-type"),
        Some("text/html; charset=utf-8")
    );
    assert!(page.body.contains("y***@example.jp"), "{}", page.body);
    assert!(!page.body.contains("yamada@"), "{}", page.body);
    assert!(page.body.contains("配信を停止") && page.body.contains("Unsubscribe"));
    assert!(page.body.contains("<form method=\"post\""), "{}", page.body);
    // The record's name (in the subject) is escaped.
    assert!(
        page.body.contains("&lt;script&gt;alert(1)&lt;/script&gt;"),
        "{}",
        page.body
    );
    assert!(!page.body.contains("<script>"), "{}", page.body);
    assert!(
        page.header("content-security-policy")
            .is_some_and(|c| c.contains("default-src 'none'"))
    );
    // Looking changes nothing.
    assert_eq!(db.suppressions(), Vec::<String>::new());
    assert_eq!(db.events("unsubscribed"), 0);
    // Not valid: 404, on GET and POST alike, and nothing changes.
    for bad in [
        altered(&yamada.unsubscribe, 5),
        yamada.unsubscribe[..20].to_string(),
        yamada.open.clone(),
        yamada.clicks[0].clone(),
        token::make(
            &secret(),
            Purpose::Unsubscribe,
            &token::message_key(999, "<x@flowc>"),
        ),
    ] {
        assert_eq!(served.get(&format!("/u/{bad}")).status, 404);
        let a = served.post_form(&format!("/u/{bad}"), &[("List-Unsubscribe", "One-Click")]);
        assert_eq!(a.status, 404, "{}", a.body);
    }
    assert_eq!(db.suppressions(), Vec::<String>::new());
    // RFC 8058's one-click POST; again: nothing more.
    for _ in 0..2 {
        let done = served.post_form(
            &format!("/u/{}", yamada.unsubscribe),
            &[("List-Unsubscribe", "One-Click")],
        );
        assert_eq!(done.status, 200, "{}", done.body);
        assert!(done.body.contains("y***@example.jp"), "{}", done.body);
        assert_eq!(db.suppressions(), ["yamada@example.jp unsubscribed"]);
        assert_eq!(db.events("unsubscribed"), 1);
    }
    assert_eq!(
        db.rows("SELECT tbl || ':' || row_id FROM {s}flow_events WHERE name = 'unsubscribed'"),
        ["contact:1"]
    );
    assert_eq!(
        db.event_data("unsubscribed"),
        [serde_json::json!({"template": "offer", "message": yamada.message_id})]
    );
}

/// Signed webhooks and bounces.
fn webhooks(db: &Db, served: &Served) {
    // By id, and by email (trimmed, any case): 202 {"event": ID}.
    let a = served.hook(
        "/hooks/paid",
        r#"{"on": "contact:2", "data": {"amount": 12000}}"#,
        &[],
    );
    assert_eq!(a.status, 202, "{}", a.body);
    assert_eq!(a.header("content-type"), Some("application/json"));
    let first = a.json()["event"].as_i64().expect("event id");
    let b = served.hook(
        "/hooks/paid",
        r#"{"on": {"contact": {"email": " SMITH@example.com"}}, "at": "2030-01-02T10:00"}"#,
        &[],
    );
    assert_eq!(b.status, 202, "{}", b.body);
    assert_eq!(db.events("paid"), 2);
    assert_eq!(
        db.rows("SELECT tbl || ':' || row_id FROM {s}flow_events WHERE name = 'paid' ORDER BY at"),
        ["contact:2", "contact:2"]
    );
    assert_eq!(
        db.event_data("paid")[0],
        serde_json::json!({"amount": 12000})
    );
    // 2030-01-02T10:00 in Asia/Tokyo.
    let at = match db {
        Db::Sqlite(_) => "SELECT CAST(max(at) AS TEXT) FROM flow_events WHERE name = 'paid'",
        Db::Pg(..) => {
            "SELECT CAST(extract(epoch FROM max(at))::bigint AS TEXT) FROM {s}flow_events WHERE name = 'paid'"
        }
    };
    assert_eq!(db.rows(at), ["1893546000"]);
    // An Idempotency-Key repeated: the first answer, nothing new.
    let key = [("idempotency-key", "invoice-42")];
    let once = served.hook("/hooks/paid", r#"{"on": "contact:1"}"#, &key);
    assert_eq!(once.status, 202, "{}", once.body);
    for _ in 0..2 {
        let again = served.hook("/hooks/paid", r#"{"on": "contact:1"}"#, &key);
        assert_eq!((again.status, again.json()), (202, once.json()));
        assert_eq!(again.header("idempotent-replayed"), Some("true"));
    }
    assert_eq!(db.events("paid"), 3);
    assert!(once.json()["event"].as_i64() > Some(first));
    assert_eq!(db.count("SELECT count(*) FROM {s}flow_idempotency_keys"), 1);

    // Signatures: wrong secret, stale, from the future, missing, another
    // body: 401, nothing recorded.
    let body = r#"{"on": "contact:2"}"#;
    for (t, secret) in [
        (now(), "the wrong secret, long enough to be one"),
        (now() - 301, SECRET),
        (now() + 400, SECRET),
    ] {
        let a = signed(served, "/hooks/paid", body, t, secret, &[]);
        assert_eq!(a.status, 401, "{}", a.body);
        assert!(a.json()["error"].is_string());
    }
    let unsigned = answer(
        agent()
            .post(format!("{}/hooks/paid", served.base))
            .send(body),
    );
    assert_eq!(unsigned.status, 401, "{}", unsigned.body);
    let tampered = answer(
        agent()
            .post(format!("{}/hooks/paid", served.base))
            .header("x-flowc-signature", signature(SECRET, now(), body))
            .send(r#"{"on": "contact:1"}"#),
    );
    assert_eq!(tampered.status, 401, "{}", tampered.body);
    assert!(
        tampered.json()["error"]
            .as_str()
            .is_some_and(|e| e.contains("does not match"))
    );
    assert_eq!(db.events("paid"), 3);

    // Bad bodies: 400 naming the problem; unknown records: 404.
    for (body, status, says) in [
        ("{\"on\": ", 400, "not JSON"),
        ("[1]", 400, "JSON object"),
        (
            r#"{"on": "contact:2", "dta": {}}"#,
            400,
            "unknown field `dta`",
        ),
        (r#"{"data": {}}"#, 400, "missing `on`"),
        (
            r#"{"on": "contact:2", "data": [1]}"#,
            400,
            "`data` must be a JSON object",
        ),
        (r#"{"on": "contact:2", "at": "yesterday"}"#, 400, "`at`"),
        (r#"{"on": "contact"}"#, 400, "RECORD:ID"),
        (
            r#"{"on": {"contact": {"phone": "1"}}}"#,
            400,
            "no field `phone`",
        ),
        (r#"{"on": {"contact": {"email": 1}}}"#, 400, "is a text"),
        (r#"{"on": "deal:1"}"#, 404, "no record `deal`"),
        (r#"{"on": "contact:99"}"#, 404, "no such record"),
        (
            r#"{"on": {"contact": {"email": "nobody@example.jp"}}}"#,
            404,
            "no such record",
        ),
    ] {
        let a = served.hook("/hooks/paid", body, &[]);
        assert_eq!(a.status, status, "{body}: {}", a.body);
        let error = a.json()["error"].as_str().unwrap_or_default().to_string();
        assert!(error.contains(says), "{body}: {error}");
    }
    let a = served.hook("/hooks/not-a-name", body, &[]);
    assert_eq!(a.status, 400, "{}", a.body);
    assert_eq!(db.events("paid"), 3);

    // A declared event (`event refunded on contact { amount: int, reason:
    // text? }`): a payload without a required key or with a value of the
    // wrong type is a 400 naming the key, and nothing is recorded.
    for (body, says) in [
        (
            r#"{"on": "contact:2"}"#,
            "`data`: the payload of event `refunded` has no key `amount`, which is required (an int)",
        ),
        (
            r#"{"on": "contact:2", "data": {"amount": "12000"}}"#,
            "`data`: key `amount` of event `refunded` must be an int, found the string \"12000\"",
        ),
        (
            r#"{"on": "contact:2", "data": {"amount": 1, "reason": 7}}"#,
            "`data`: key `reason` of event `refunded` must be a text (a string), found the number 7",
        ),
    ] {
        let a = served.hook("/hooks/refunded", body, &[]);
        assert_eq!(a.status, 400, "{body}: {}", a.body);
        assert_eq!(a.json()["error"].as_str(), Some(says), "{body}");
    }
    assert_eq!(db.events("refunded"), 0);
    let a = served.hook(
        "/hooks/refunded",
        r#"{"on": "contact:2", "data": {"amount": 12000, "reason": null, "memo": "x"}}"#,
        &[],
    );
    assert_eq!(a.status, 202, "{}", a.body);
    assert_eq!(db.events("refunded"), 1);

    // Bounces: hard → bounced, complaint → complained, soft → nothing.
    for (body, changed) in [
        (r#"{"address": "Hard@Example.jp", "kind": "hard"}"#, true),
        (
            r#"{"address": "spam@example.jp", "kind": "complaint"}"#,
            true,
        ),
        (r#"{"address": "soft@example.jp", "kind": "soft"}"#, false),
        (r#"{"address": "hard@example.jp", "kind": "hard"}"#, false),
    ] {
        let a = served.hook("/bounces", body, &[]);
        assert_eq!(a.status, 202, "{body}: {}", a.body);
        assert_eq!(a.json()["changed"], changed, "{body}: {}", a.body);
    }
    assert!(
        db.suppressions()
            .contains(&"hard@example.jp bounced".to_string())
    );
    assert!(
        db.suppressions()
            .contains(&"spam@example.jp complained".to_string())
    );
    assert!(!db.suppressions().iter().any(|s| s.starts_with("soft@")));
    for body in [
        r#"{"address": "x@example.jp", "kind": "bad"}"#,
        r#"{"address": "not an address", "kind": "hard"}"#,
        r#"{"kind": "hard"}"#,
    ] {
        assert_eq!(served.hook("/bounces", body, &[]).status, 400, "{body}");
    }
    let stale = signed(
        served,
        "/bounces",
        r#"{"address": "y@example.jp", "kind": "hard"}"#,
        now() - 1000,
        SECRET,
        &[],
    );
    assert_eq!(stale.status, 401);
    assert!(!db.suppressions().iter().any(|s| s.starts_with("y@")));
}

#[test]
fn the_public_endpoints_answer_as_documented_on_sqlite() {
    let world = World::files(&[("main.flow", PROJECT)]);
    let db = Db::Sqlite(&world);
    let mails = prepare(&world, &db);
    let served = serve(&world, &db);
    tracking(&db, &served, &mails);
    opt_out(&db, &served, &mails);
    webhooks(&db, &served);
    // Anything else: 404.
    assert_eq!(served.get("/nothing/here").status, 404);
    assert_eq!(served.get("/o/").status, 404);
}

#[test]
fn the_public_endpoints_answer_as_documented_on_postgres() {
    let Some(server) = pg::shared("the_public_endpoints_answer_as_documented_on_postgres") else {
        return;
    };
    let world = World::files(&[("main.flow", PROJECT)]);
    let url = server.create_database("serve");
    let db = Db::Pg(server, url);
    let mails = prepare(&world, &db);
    let served = serve(&world, &db);
    tracking(&db, &served, &mails);
    opt_out(&db, &served, &mails);
    webhooks(&db, &served);
}

#[test]
fn many_hits_at_once_are_each_recorded() {
    let world = World::files(&[("main.flow", PROJECT)]);
    let db = Db::Sqlite(&world);
    let mails = prepare(&world, &db);
    let served = serve(&world, &db);
    let path = format!("{}/o/{}", served.base, mails[1].open);
    std::thread::scope(|scope| {
        for _ in 0..8 {
            scope.spawn(|| {
                let agent = agent();
                for _ in 0..40 {
                    let a = answer(agent.get(&path).call());
                    assert_pixel(&a);
                }
            });
        }
    });
    assert_eq!(db.events("email_opened"), 320);
}

#[test]
fn big_bodies_slow_and_idle_clients_do_not_stop_the_server() {
    let world = World::files(&[("main.flow", PROJECT)]);
    let db = Db::Sqlite(&world);
    let mails = prepare(&world, &db);
    let served = serve(&world, &db);
    let address = served.port_address();

    // 10 MB with its length declared: 413 (or the connection closed).
    let big = "x".repeat(10 * 1024 * 1024);
    match agent()
        .post(format!("{}/hooks/paid", served.base))
        .header("x-flowc-signature", signature(SECRET, now(), &big))
        .send(&big)
    {
        Ok(r) => assert_eq!(r.status().as_u16(), 413),
        Err(e) => eprintln!("the 10 MB body: the connection closed ({e})"),
    }
    // 2 MB without a declared length (chunked): 413 once over 1 MiB.
    let mut stream = TcpStream::connect(&address).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .expect("timeout");
    let head = "POST /hooks/paid HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n";
    let mut wrote = stream.write_all(head.as_bytes()).is_ok();
    let chunk = format!("{:x}\r\n{}\r\n", 64 * 1024, "y".repeat(64 * 1024));
    for _ in 0..32 {
        wrote &= stream.write_all(chunk.as_bytes()).is_ok();
        if !wrote {
            break;
        }
    }
    let mut reply = String::new();
    let _ = stream.read_to_string(&mut reply);
    assert!(
        reply.is_empty() || reply.starts_with("HTTP/1.1 413"),
        "{reply}"
    );
    assert_eq!(db.events("paid"), 0);

    // Hundreds of idle connections, and a client stuck in its request's
    // head: the server keeps answering.
    let idle: Vec<TcpStream> = (0..200)
        .map(|_| TcpStream::connect(&address).expect("idle connection"))
        .collect();
    let mut slow = TcpStream::connect(&address).expect("slow connection");
    slow.write_all(b"GET /o/x HTTP/1.1\r\nHost: x\r\nX-Slow: ")
        .expect("half a head");
    let started = Instant::now();
    assert_pixel(&served.get(&format!("/o/{}", mails[1].open)));
    let a = served.hook("/hooks/paid", r#"{"on": "contact:1"}"#, &[]);
    assert_eq!(a.status, 202, "{}", a.body);
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(db.events("email_opened"), 1);
    // The slow client is cut off after the header timeout (10 s).
    slow.set_read_timeout(Some(Duration::from_secs(30)))
        .expect("timeout");
    let mut rest = Vec::new();
    let _ = slow.read_to_end(&mut rest);
    let waited = started.elapsed();
    assert!(
        waited >= Duration::from_secs(8) && waited < Duration::from_secs(25),
        "{waited:?}"
    );
    drop(idle);
    assert_pixel(&served.get("/o/still-serving"));
}

#[test]
fn serve_runs_the_engine_as_run_watch_does() {
    let world = World::files(&[("main.flow", PROJECT)]);
    let db = Db::Sqlite(&world);
    prepare(&world, &db);
    let served = serve(&world, &db);
    // A new contact: its welcome email is queued and written by serve.
    world.sql("INSERT INTO contact (id, name, email) VALUES (3, 'Tanaka', 'tanaka@example.jp')");
    // A webhook's event runs its rule.
    let a = served.hook("/hooks/paid", r#"{"on": "contact:2"}"#, &[]);
    assert_eq!(a.status, 202, "{}", a.body);
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let mailed = mails(&world.path("mail"))
            .iter()
            .any(|m| m.to == "tanaka@example.jp");
        let paid = world.strings("SELECT name FROM contact WHERE id = 2") == ["paid"];
        // The file is placed before its message is recorded as sent.
        let sent = world.count("SELECT count(*) FROM flow_outbox WHERE status = 'sent'");
        if mailed && paid && sent == 3 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "mailed {mailed}, paid {paid}, sent {sent}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    assert_eq!(
        world.count("SELECT count(*) FROM flow_workers WHERE watching = 1"),
        1,
        "serve registers as a watching worker"
    );
    let _ = served.lines.try_recv();
}

#[test]
fn serve_refuses_to_start_without_a_strong_secret() {
    let world = World::files(&[("main.flow", PROJECT)]);
    world.ok(&["run", "--db", "crm.sqlite", "rules"]);
    let args = [
        "serve",
        "--db",
        "crm.sqlite",
        "rules",
        "--listen",
        "127.0.0.1:0",
    ];
    let none = world.flowc_env(&args, &[]);
    assert!(!none.status.success());
    assert!(
        text(&none.stderr).contains("needs FLOWC_SECRET"),
        "{}",
        text(&none.stderr)
    );
    let short = "a secret of 31 bytes, too short";
    assert_eq!(short.len(), 31);
    let refused = world.flowc_env(&args, &[("FLOWC_SECRET", short)]);
    assert!(!refused.status.success());
    let err = text(&refused.stderr);
    assert!(err.contains("too short") && err.contains("32"), "{err}");
    assert!(
        !err.contains(short) && !text(&refused.stdout).contains(short),
        "{err}"
    );
}

/// The fenced block of docs/serve.md opened with ```` ```INFO ```` that
/// contains `marker`.
fn doc_block(info: &str, marker: &str) -> String {
    let doc = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/serve.md"))
        .expect("docs/serve.md");
    let fence = format!("```{info}\n");
    doc.split(&fence)
        .skip(1)
        .filter_map(|rest| rest.split("\n```").next())
        .find(|block| block.contains(marker))
        .unwrap_or_else(|| panic!("no ```{info} block with {marker} in docs/serve.md"))
        .to_string()
}

fn have(program: &str) -> bool {
    std::process::Command::new("sh")
        .args(["-c", &format!("command -v {program}")])
        .output()
        .is_ok_and(|o| o.status.success())
}

/// The signed webhook examples of docs/serve.md, run as written (curl and
/// openssl in the shell; Python's standard library) against a server:
/// both are accepted, and as they share an Idempotency-Key, one event.
#[test]
fn the_documented_webhook_examples_work() {
    let world = World::files(&[("main.flow", PROJECT)]);
    let db = Db::Sqlite(&world);
    prepare(&world, &db);
    world.sql("INSERT INTO contact (id, name, email) VALUES (42, '佐藤', 'sato@example.jp')");
    let served = serve(&world, &db);
    let examples = [
        (
            "sh",
            doc_block("sh", "openssl dgst"),
            &["sh", "curl", "openssl"][..],
        ),
        (
            "python3",
            doc_block("python", "def send_event"),
            &["python3"][..],
        ),
    ];
    let mut ids = Vec::new();
    for (program, code, needs) in examples {
        if let Some(missing) = needs.iter().find(|p| !have(p)) {
            eprintln!("SKIPPED the {program} example of docs/serve.md: no {missing} here");
            continue;
        }
        let out = std::process::Command::new(program)
            .args(["-c", &code])
            .env("FLOWC_URL", &served.base)
            .env("FLOWC_SECRET", SECRET)
            .output()
            .expect("runs");
        let said = text(&out.stdout);
        assert!(
            out.status.success(),
            "{program}: {said}\n{}",
            text(&out.stderr)
        );
        let id: String = said
            .trim()
            .trim_start_matches(['{', '\''])
            .trim_start_matches("\"event\":")
            .trim_start_matches("event': ")
            .chars()
            .take_while(char::is_ascii_digit)
            .collect();
        assert!(!id.is_empty(), "{program}: {said}");
        ids.push(id);
    }
    ids.dedup();
    assert!(ids.len() <= 1, "one event, replayed: {ids:?}");
    if !ids.is_empty() {
        assert_eq!(
            db.rows("SELECT tbl || ':' || row_id || ' ' || data FROM flow_events WHERE name = 'payment_received'"),
            [r#"contact:42 {"amount":12000,"invoice":"2025-0042"}"#]
        );
    }
}

/// Rules that do not match the database: serve says so and stops before
/// it listens, as `flowc run` does.
#[test]
fn serve_refuses_rules_that_do_not_match_the_database() {
    let world = World::files(&[("main.flow", PROJECT)]);
    world.ok(&["run", "--db", "crm.sqlite", "rules"]);
    let edited = PROJECT.replace("  email: text\n", "  email: text\n  phone: text\n");
    std::fs::write(world.project.join("main.flow"), edited).expect("edit");
    let out = world.flowc_env(
        &[
            "serve",
            "--db",
            "crm.sqlite",
            "rules",
            "--listen",
            "127.0.0.1:0",
        ],
        &[("FLOWC_SECRET", SECRET)],
    );
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("does not match the rules"),
        "{}",
        text(&out.stderr)
    );
    assert!(
        !text(&out.stdout).contains("listening"),
        "{}",
        text(&out.stdout)
    );
}
