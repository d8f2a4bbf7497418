//! Declared forms through a real `flowc serve` (DESIGN.md §9): `POST
//! /forms/NAME` with a real HTTP client (redirects not followed), on
//! SQLite and on PostgreSQL when the harness has it, and a form on another
//! page submitted by a real browser (headless Chromium). What each
//! submission left in the database is counted: rows, their values, the
//! `form_submitted` events and their payloads, and the email the rule
//! listening for them sent.

use crate::support::browser::{self, Browser};
use crate::support::db::Db;
use crate::support::pg;
use crate::support::serve::{self, Answer, Served};
use crate::support::world::World;
use std::time::{Duration, Instant};

const SECRET: &str = "a forms test secret: 32 bytes at least, surely";

const PROJECT: &str = r#"
timezone "Asia/Tokyo"
enum plan { "free", "pro" }
record contact {
  name: text
  email: text
  company: text?
  employees: int?
  plan: plan?
}
sender {
  from: "株式会社サンプル <sales@example.jp>"
  postal_address: "〒100-0001 東京都千代田区千代田1-1"
}
template seminar_reply transactional {
  subject: "{{contact.name}} 様 セミナーのお申し込みありがとうございます"
  text: "{{contact.name}} 様、お申し込みを受け付けました。"
}
form seminar on contact by email redirect "https://example.jp/thanks"
form newsletter on contact by email
rule reply_to_seminar
  when event form_submitted on contact
  where event.form == "seminar"
  send email seminar_reply to contact
end
"#;

/// Installs change capture (and, on PostgreSQL, the tables), adds the
/// contact that forms find, and starts `flowc serve` on a free port.
fn start(world: &World, db: &Db) -> Served {
    let db_arg = db.arg();
    if let Db::Pg(..) = db {
        world.ok(&["schema", "--db", &db_arg, "--create", "rules"]);
    }
    world.ok(&["run", "--db", &db_arg, "rules"]);
    db.sql("INSERT INTO contact (id, name, email) VALUES (1, '山田', 'Yamada@Example.jp')");
    let mail_dir = world.path("mail").to_string_lossy().into_owned();
    Served::start(serve::command(
        world,
        db,
        &["--mail-dir", &mail_dir],
        &[("FLOWC_SECRET", SECRET)],
    ))
}

/// Submitting a form as a browser does.
trait Submit {
    /// POSTs a form's fields, percent-encoded as a browser does.
    fn submit(&self, form: &str, fields: &[(&str, &str)]) -> Answer;
}

impl Submit for Served {
    fn submit(&self, form: &str, fields: &[(&str, &str)]) -> Answer {
        self.post_form(&format!("/forms/{form}"), fields)
    }
}

/// The `form_submitted` payloads, oldest first.
fn payloads(db: &Db) -> Vec<serde_json::Value> {
    let (data, order) = match db {
        Db::Sqlite(_) => ("data", "seq"),
        Db::Pg(..) => ("data::text", "id"),
    };
    db.rows(&format!(
        "SELECT {data} FROM {{s}}flow_events WHERE name = 'form_submitted' ORDER BY {order}"
    ))
    .iter()
    .map(|d| serde_json::from_str(d).unwrap_or_else(|e| panic!("{d}: {e}")))
    .collect()
}

/// Every contact as `id|name|email|company|employees|plan` (null as ``).
fn contacts(db: &Db) -> Vec<String> {
    db.rows(
        "SELECT CAST(id AS TEXT) || '|' || name || '|' || email || '|' || coalesce(company, '') \
         || '|' || coalesce(CAST(employees AS TEXT), '') || '|' || coalesce(CAST(plan AS TEXT), '') \
         FROM contact ORDER BY id",
    )
}

/// The recipients of the messages written to the mail folder.
fn mailed(world: &World) -> Vec<String> {
    let mut to: Vec<String> = std::fs::read_dir(world.path("mail"))
        .map(|entries| entries.filter_map(|e| e.ok()).map(|e| e.path()).collect())
        .unwrap_or_else(|_| Vec::new())
        .into_iter()
        .filter_map(|path: std::path::PathBuf| {
            let eml = std::fs::read(&path).ok()?;
            String::from_utf8_lossy(&eml)
                .lines()
                .find_map(|l| l.strip_prefix("To:"))
                .map(|v| v.trim().to_string())
        })
        .collect();
    to.sort();
    to
}

/// Every row of §9's forms line, with what each left in the database.
fn forms(world: &World, db: &Db, served: &Served) {
    let events = || db.count("SELECT count(*) FROM {s}flow_events WHERE name = 'form_submitted'");

    // A new contact: created, the event recorded with every posted field
    // (converted where it fills a field) and the form's name; 303 to the
    // form's redirect.
    let a = served.submit(
        "seminar",
        &[
            ("name", "新規 花子"),
            ("email", "hanako@example.jp"),
            ("employees", "12"),
            ("plan", "pro"),
            ("utm_source", "ad"),
        ],
    );
    assert_eq!(a.status, 303, "{}", a.body);
    assert_eq!(a.header("location"), Some("https://example.jp/thanks"));
    assert_eq!(
        contacts(db),
        [
            "1|山田|Yamada@Example.jp|||",
            "2|新規 花子|hanako@example.jp||12|pro"
        ]
    );
    assert_eq!(
        payloads(db),
        [serde_json::json!({
            "name": "新規 花子",
            "email": "hanako@example.jp",
            "employees": 12,
            "plan": "pro",
            "utm_source": "ad",
            "form": "seminar",
        })]
    );
    // The rule listening for seminar submissions replies to the new contact.
    let deadline = Instant::now() + Duration::from_secs(60);
    while mailed(world) != ["hanako@example.jp"] {
        assert!(
            Instant::now() < deadline,
            "no reply to the seminar form: {:?}",
            mailed(world)
        );
        std::thread::sleep(Duration::from_millis(200));
    }

    // An existing contact, found by email trimmed and case-insensitively
    // and updated (its email kept as stored); no redirect: the thank-you
    // page. The newsletter form is no seminar: no reply.
    let a = served.submit(
        "newsletter",
        &[
            ("email", "  YAMADA@example.JP "),
            ("company", "株式会社ACME"),
            ("employees", ""),
        ],
    );
    assert_eq!(a.status, 200, "{}", a.body);
    assert!(a.body.contains("Thank you"), "{}", a.body);
    assert_eq!(a.header("location"), None);
    assert_eq!(
        contacts(db),
        [
            "1|山田|Yamada@Example.jp|株式会社ACME||",
            "2|新規 花子|hanako@example.jp||12|pro"
        ]
    );
    let last = payloads(db).pop().expect("an event");
    assert_eq!(
        last,
        serde_json::json!({
            "email": "  YAMADA@example.JP ",
            "company": "株式会社ACME",
            "employees": null,
            "form": "newsletter",
        })
    );
    let on: Vec<String> = db.rows(
        "SELECT tbl || ':' || CAST(row_id AS TEXT) FROM {s}flow_events \
         WHERE name = 'form_submitted' ORDER BY row_id",
    );
    assert_eq!(on, ["contact:1", "contact:2"]);
    assert_eq!(events(), 2);

    // A filled honeypot: thanked with a 200 (no redirect), nothing stored.
    let a = served.submit(
        "seminar",
        &[
            ("name", "Bot"),
            ("email", "bot@example.jp"),
            ("website", "https://spam.example"),
        ],
    );
    assert_eq!(a.status, 200, "{}", a.body);
    assert!(a.body.contains("Thank you"), "{}", a.body);
    // An empty honeypot is a person: accepted, the honeypot not recorded.
    let a = served.submit(
        "newsletter",
        &[
            ("name", "佐藤"),
            ("email", "sato@example.jp"),
            ("website", ""),
        ],
    );
    assert_eq!(a.status, 200, "{}", a.body);
    assert!(
        !payloads(db)[2]
            .as_object()
            .expect("object")
            .contains_key("website")
    );
    assert_eq!(
        db.count("SELECT count(*) FROM contact WHERE name = 'Bot'"),
        0
    );
    assert_eq!(events(), 3);
    assert_eq!(db.count("SELECT count(*) FROM contact"), 3);

    // A bad value: 400 naming the field; nothing stored.
    let a = served.submit(
        "seminar",
        &[
            ("name", "田中"),
            ("email", "tanaka@example.jp"),
            ("employees", "many"),
        ],
    );
    assert_eq!(a.status, 400, "{}", a.body);
    assert!(a.body.contains("employees"), "{}", a.body);
    assert!(a.body.contains("many"), "{}", a.body);
    let a = served.submit(
        "seminar",
        &[
            ("name", "田中"),
            ("email", "tanaka@example.jp"),
            ("plan", "gold"),
        ],
    );
    assert_eq!(a.status, 400, "{}", a.body);
    assert!(
        a.body.contains("plan") && a.body.contains("free, pro"),
        "{}",
        a.body
    );
    // A required field missing for a new contact: 400 naming it.
    let a = served.submit("seminar", &[("email", "tanaka@example.jp")]);
    assert_eq!(a.status, 400, "{}", a.body);
    assert!(a.body.contains("`name`"), "{}", a.body);
    // Without the field that finds the record: 400 naming it.
    let a = served.submit("seminar", &[("name", "田中")]);
    assert_eq!(a.status, 400, "{}", a.body);
    assert!(a.body.contains("`email`"), "{}", a.body);
    // Bodies that are no form's: bad escapes, bytes that are not UTF-8,
    // another content type.
    for (content_type, body) in [
        (
            "application/x-www-form-urlencoded",
            &b"name=%zz&email=a%40b.jp"[..],
        ),
        (
            "application/x-www-form-urlencoded",
            b"name=%FF%FE&email=a%40b.jp",
        ),
        ("application/json", br#"{"name": "a", "email": "a@b.jp"}"#),
    ] {
        let a = served.post("/forms/seminar", content_type, body);
        assert_eq!(a.status, 400, "{content_type} {body:?}: {}", a.body);
    }
    // An unknown form: 404.
    let a = served.submit("seminr", &[("name", "x"), ("email", "x@example.jp")]);
    assert_eq!(a.status, 404, "{}", a.body);
    // Opening the form's address: 405, a page saying it takes POSTs.
    let a = served.get("/forms/seminar");
    assert_eq!(a.status, 405, "{}", a.body);
    assert_eq!(a.header("allow"), Some("POST"));
    assert!(
        a.body.contains("This address takes form submissions"),
        "{}",
        a.body
    );
    assert_eq!(events(), 3);
    assert_eq!(db.count("SELECT count(*) FROM contact"), 3);

    // Markup is data: stored as posted, escaped on the 400 page.
    let script = "<script>alert(1)</script>";
    let a = served.submit("newsletter", &[("name", script), ("email", "x@example.jp")]);
    assert_eq!(a.status, 200, "{}", a.body);
    assert_eq!(
        db.rows("SELECT name FROM contact WHERE email = 'x@example.jp'"),
        [script]
    );
    let a = served.submit(
        "newsletter",
        &[("email", "x@example.jp"), ("employees", script)],
    );
    assert_eq!(a.status, 400, "{}", a.body);
    assert!(!a.body.contains("<script>"), "{}", a.body);
    assert!(
        a.body.contains("&lt;script&gt;alert(1)&lt;/script&gt;"),
        "{}",
        a.body
    );
    assert_eq!(events(), 4);

    // Many submissions of one new address at once (one group commit, or
    // several): one contact, each submission's event on it.
    std::thread::scope(|scope| {
        for i in 0..12 {
            scope.spawn(move || {
                let a = served.submit(
                    "newsletter",
                    &[
                        ("name", &format!("連打 {i}")),
                        ("email", "burst@example.jp"),
                    ],
                );
                assert_eq!(a.status, 200, "{}", a.body);
            });
        }
    });
    assert_eq!(
        db.count("SELECT count(*) FROM contact WHERE email = 'burst@example.jp'"),
        1
    );
    assert_eq!(events(), 16);
    // Only the seminar's new contact got the reply.
    assert_eq!(mailed(world), ["hanako@example.jp"]);
}

#[test]
fn forms_create_and_update_records_and_record_their_event_on_sqlite() {
    let world = World::files(&[("main.flow", PROJECT)]);
    let db = Db::Sqlite(&world);
    let served = start(&world, &db);
    forms(&world, &db, &served);
}

#[test]
fn forms_create_and_update_records_and_record_their_event_on_postgres() {
    let Some(server) =
        pg::shared("forms_create_and_update_records_and_record_their_event_on_postgres")
    else {
        return;
    };
    let world = World::files(&[("main.flow", PROJECT)]);
    let url = server.create_database("forms");
    let db = Db::Pg(server, url);
    let served = start(&world, &db);
    forms(&world, &db, &served);
}

/// docs/serve.md's form on another site's page (a file here), filled in
/// and submitted by headless Chromium: the thank-you page, and the record
/// and event stored. The screenshot is `target/screenshots/forms-thanks.png`.
#[test]
fn a_form_on_a_web_page_is_submitted_in_a_browser() {
    let Some(browser) = Browser::start("a_form_on_a_web_page_is_submitted_in_a_browser") else {
        return;
    };
    let world = World::files(&[("main.flow", PROJECT)]);
    let db = Db::Sqlite(&world);
    let served = start(&world, &db);
    // The form of docs/serve.md, as written, posting to this server.
    let doc = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/serve.md"))
        .expect("docs/serve.md");
    let form = doc
        .split("```html\n")
        .nth(1)
        .and_then(|rest| rest.split("```").next())
        .filter(|f| f.contains("/forms/newsletter"))
        .expect("docs/serve.md's ```html form");
    let page = world.path("signup.html");
    std::fs::write(
        &page,
        format!(
            "<!DOCTYPE html>\n<html lang=\"ja\"><head><meta charset=\"utf-8\">\
             <title>ニュースレター</title></head>\n<body>\n{}</body></html>\n",
            form.replace("https://flow.example.jp", &served.base)
        ),
    )
    .expect("page written");
    browser.open(&format!("file://{}", page.display()));
    browser.type_into("#name", "鈴木 一郎");
    browser.type_into("#email", "suzuki@example.jp");
    browser.type_into("#company", "鈴木商店 & Co.");
    browser.click("button[type=submit]");
    browser.wait_text("Thank you");
    assert_eq!(browser.url(), format!("{}/forms/newsletter", served.base));
    assert_eq!(browser.alert(), None);
    let path = browser.screenshot("forms-thanks");
    assert!(browser::looks_drawn(&path), "{} is blank", path.display());
    assert_eq!(
        contacts(&db),
        [
            "1|山田|Yamada@Example.jp|||",
            "2|鈴木 一郎|suzuki@example.jp|鈴木商店 & Co.||"
        ]
    );
    assert_eq!(
        payloads(&db),
        [serde_json::json!({
            "name": "鈴木 一郎",
            "email": "suzuki@example.jp",
            "company": "鈴木商店 & Co.",
            "utm_source": "site",
            "form": "newsletter",
        })]
    );
}

/// With `event form_submitted` declared, a posted field that is no record
/// field is converted to its key's type, and a submission whose payload
/// does not fit the declaration is a `400` page naming the key, nothing
/// stored.
#[test]
fn a_declared_form_submitted_event_checks_what_forms_record() {
    let project = r#"
record contact { name: text, email: text }
event form_submitted on contact { form: text, seats: int, utm_source: text? }
form seminar on contact by email
"#;
    let world = World::files(&[("main.flow", project)]);
    let db = Db::Sqlite(&world);
    let served = start(&world, &db);
    let a = served.submit(
        "seminar",
        &[
            ("name", "青木"),
            ("email", "aoki@example.jp"),
            ("seats", " 2 "),
        ],
    );
    assert_eq!(a.status, 200, "{}", a.body);
    assert_eq!(
        payloads(&db),
        [serde_json::json!({
            "name": "青木",
            "email": "aoki@example.jp",
            "seats": 2,
            "form": "seminar",
        })]
    );
    // A required key missing: 400 naming it; no contact, no event.
    let a = served.submit("seminar", &[("name", "伊藤"), ("email", "ito@example.jp")]);
    assert_eq!(a.status, 400, "{}", a.body);
    assert!(a.body.contains("`seats`"), "{}", a.body);
    // A value that is not of the key's type: 400 naming it.
    let a = served.submit(
        "seminar",
        &[
            ("name", "伊藤"),
            ("email", "ito@example.jp"),
            ("seats", "two"),
        ],
    );
    assert_eq!(a.status, 400, "{}", a.body);
    assert!(
        a.body.contains("seats") && a.body.contains("two"),
        "{}",
        a.body
    );
    assert_eq!(
        db.count("SELECT count(*) FROM contact WHERE name = '伊藤'"),
        0
    );
    assert_eq!(payloads(&db).len(), 1);
}
