//! The admin side of `flowc serve` (DESIGN.md §9) through the built
//! binary and a real HTTP client (redirects not followed): a project runs
//! with `--public-url` and `--mail-dir`, two recipients of four open (one
//! through another program's event) and one clicks, one message is left
//! unconfirmed; then `flowc serve` with
//! `FLOWC_ADMIN_TOKEN` answers the pages and their JSON twins. Bearer
//! access, the login page and its cookie's flags, CSRF refusals, `401`
//! and the redirect to the login page, `404`s, counts that match the
//! database, a record named `<script>alert(1)</script>` escaped on every
//! page that shows records, and the whole admin side off without the
//! token. On SQLite and on PostgreSQL; then in headless Chromium (log in,
//! the dashboard, a rule's chart, a record's history, the outbox, and an
//! opt-out from a received marketing email), with screenshots saved under
//! `target/screenshots/`.

use crate::support::browser::{self, Browser};
use crate::support::db::Db;
use crate::support::pg;
use crate::support::serve::{
    self, Answer, Served, agent, answer, eml_raw, link_tokens, wait_until,
};
use crate::support::world::{World, text};
use serde_json::Value;
use std::time::Duration;

const SECRET: &str = "an admin test secret: 32 bytes at least, surely";
const TOKEN: &str = "the-admin-token-of-the-tests-0123456789";
const PUBLIC: &str = "https://flow.example.jp";
const SCRIPT: &str = "<script>alert(1)</script>";
const ESCAPED: &str = "&lt;script&gt;alert(1)&lt;/script&gt;";

const PROJECT: &str = r#"
timezone "Asia/Tokyo"
record user {
  name: text
  email: text
  role: text
}
record contact {
  name: text
  email: text
  owner: user
}
list newsletter of contact
sender {
  from: "株式会社サンプル <sales@example.jp>"
  postal_address: "〒100-0001 東京都千代田区千代田1-1"
}
template offer {
  subject: "{{contact.name}} 様へのご案内"
  text: "{{contact.name}} 様: https://example.jp/seminar?a=1&b=2 をご覧ください。"
  html: "<html><body><p><a href=\"https://example.jp/seminar?a=1&amp;b=2\">{{contact.name}} 様</a></p></body></html>"
}
rule welcome
  when contact is created
  send email offer to contact
  tag contact "welcomed"
  add contact to list newsletter
  create task "フォロー: {{contact.name}}" for contact.owner due today + 7d
  wait 3d unless contact opened offer
  set contact.name = "followed up"
end
rule paid
  when event paid on contact
  require approval from contact.owner
  set contact.name = "paid"
end
"#;

impl Db<'_> {
    fn truth(&self) -> &'static str {
        match self {
            Db::Sqlite(_) => "1",
            Db::Pg(..) => "true",
        }
    }
}

/// The `PUBLIC/KIND/TOKEN` link of `kind` in the .eml at `path`.
fn link(path: &std::path::Path, kind: &str) -> Option<String> {
    let eml = eml_raw(path);
    let prefix = format!("{PUBLIC}/{kind}/");
    let token = link_tokens(&eml, &prefix).into_iter().next()?;
    Some(format!("/{kind}/{token}"))
}

/// The marketing email that went to `address`.
fn mail_to(world: &World, address: &str) -> std::path::PathBuf {
    std::fs::read_dir(world.path("mail"))
        .expect("the mail folder")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .find(|p| {
            let text = std::fs::read_to_string(p).unwrap_or_default();
            text.contains(&format!("To: {address}")) && text.contains("/u/")
        })
        .unwrap_or_else(|| panic!("no marketing email to {address}"))
}

/// A project run on `db` with `--public-url` and `--mail-dir mail`: four
/// contacts got the offer (the first named `<script>alert(1)</script>`),
/// the second got a `paid` event, whose run waits for its owner's
/// approval; the second contact's message is left unconfirmed.
fn prepare(world: &World, db: &Db) {
    let db_arg = db.arg();
    if let Db::Pg(..) = db {
        world.ok(&["schema", "--db", &db_arg, "--create", "rules"]);
    }
    world.ok(&["run", "--db", &db_arg, "rules"]);
    db.sql(&format!(
        "INSERT INTO \"user\" (id, name, email, role) VALUES (1, 'Boss {SCRIPT}', 'boss@example.jp', 'sales'); \
         INSERT INTO contact (id, name, email, owner) VALUES \
         (1, '{SCRIPT}', 'yamada@example.jp', 1), (2, 'Smith', 'smith@example.com', 1), \
         (3, 'Tanaka', 'tanaka@example.jp', 1), (4, 'Suzuki', 'suzuki@example.jp', 1)"
    ));
    let mail_dir = world.path("mail");
    let run = |extra: &[&str]| {
        let mut args = vec![
            "run",
            "--db",
            &db_arg,
            "rules",
            "--public-url",
            PUBLIC,
            "--mail-dir",
        ];
        let dir = mail_dir.to_string_lossy().into_owned();
        args.push(&dir);
        args.extend_from_slice(extra);
        let out = world.flowc_env(&args, &[("FLOWC_SECRET", SECRET)]);
        assert!(out.status.success(), "{}", text(&out.stderr));
    };
    run(&[]);
    let out = world.flowc(&["event", "--db", &db_arg, "paid", "--on", "contact:2"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    run(&[]);
    db.sql(
        "UPDATE {s}flow_outbox SET status = 'unconfirmed' WHERE to_addr = 'smith@example.com' AND template = 'offer'"
            .replace("{s}", match db {
                Db::Sqlite(_) => "",
                Db::Pg(..) => "flowc.",
            })
            .as_str(),
    );
}

/// Starts `flowc serve` on `db` (a free port), with the admin token when
/// `admin`, waiting until it listens.
fn serve(world: &World, db: &Db, admin: bool) -> Served {
    let mail_dir = world.path("mail").to_string_lossy().into_owned();
    let mut command = serve::command(
        world,
        db,
        &["--public-url", PUBLIC, "--mail-dir", &mail_dir],
        &[("FLOWC_SECRET", SECRET)],
    );
    command.env_remove("FLOWC_ADMIN_TOKEN");
    if admin {
        command.env("FLOWC_ADMIN_TOKEN", TOKEN);
    }
    let mut served = Served::start(command);
    // What it says right after (whether the admin pages are on).
    while let Ok(line) = served.lines.recv_timeout(Duration::from_millis(300)) {
        served.said.push(line);
    }
    served
}

/// The value of the hidden `csrf` input of a page.
trait Csrf {
    fn csrf(&self) -> String;
}

impl Csrf for Answer {
    fn csrf(&self) -> String {
        let at = self
            .body
            .find("name=\"csrf\" value=\"")
            .unwrap_or_else(|| panic!("no CSRF token in {}", self.body))
            + "name=\"csrf\" value=\"".len();
        self.body[at..].chars().take_while(|c| *c != '"').collect()
    }
}

/// How a request authenticates.
#[derive(Clone, Copy)]
enum As<'a> {
    Nobody,
    Bearer(&'a str),
    Cookie(&'a str),
}

impl As<'_> {
    /// The header that says so, if any.
    fn header(self) -> Option<(&'static str, String)> {
        match self {
            As::Nobody => None,
            As::Bearer(t) => Some(("authorization", format!("Bearer {t}"))),
            As::Cookie(c) => Some(("cookie", c.to_string())),
        }
    }
}

/// Requests to the admin side, as someone.
trait AdminRequests {
    fn get_as(&self, path: &str, who: As) -> Answer;

    fn post_as(&self, path: &str, who: As, content_type: &str, body: &str) -> Answer;

    fn form(&self, path: &str, who: As, body: &str) -> Answer {
        self.post_as(path, who, "application/x-www-form-urlencoded", body)
    }

    fn api(&self, path: &str) -> Value {
        let a = self.get_as(path, As::Bearer(TOKEN));
        assert_eq!(a.status, 200, "{path}: {}", a.body);
        assert_eq!(a.header("content-type"), Some("application/json"), "{path}");
        a.json()
    }

    fn page(&self, path: &str, who: As) -> Answer {
        let a = self.get_as(path, who);
        assert_eq!(a.status, 200, "{path}: {}", a.body);
        assert_eq!(
            a.header("content-type"),
            Some("text/html; charset=utf-8"),
            "{path}"
        );
        assert_eq!(a.header("cache-control"), Some("no-store"), "{path}");
        assert!(
            a.header("content-security-policy")
                .is_some_and(|c| c.contains("default-src 'none'")),
            "{path}"
        );
        a
    }
}

impl AdminRequests for Served {
    fn get_as(&self, path: &str, who: As) -> Answer {
        let header = who.header();
        let headers: Vec<(&str, &str)> = header.iter().map(|(n, v)| (*n, v.as_str())).collect();
        self.get_with(path, &headers)
    }

    fn post_as(&self, path: &str, who: As, content_type: &str, body: &str) -> Answer {
        let header = who.header();
        let mut headers = vec![("content-type", content_type)];
        headers.extend(header.iter().map(|(n, v)| (*n, v.as_str())));
        self.post_with(path, &headers, body)
    }
}

/// Logs in with the form; the cookie to send back (`name=value`) and the
/// whole `Set-Cookie` header.
fn log_in(served: &Served, next: &str) -> (String, String) {
    let a = served.form(
        "/login",
        As::Nobody,
        &format!("token={TOKEN}&next={}", next.replace('/', "%2F")),
    );
    assert_eq!(a.status, 303, "{}", a.body);
    assert_eq!(a.header("location"), Some(next));
    let set = a
        .header("set-cookie")
        .expect("a session cookie")
        .to_string();
    let pair = set.split(';').next().unwrap_or_default().trim().to_string();
    (pair, set)
}

/// A message's id in the outbox, by recipient and template.
fn message(db: &Db, to: &str) -> i64 {
    db.count(&format!(
        "SELECT id FROM {{s}}flow_outbox WHERE to_addr = '{to}' AND template = 'offer'"
    ))
}

fn status_of(db: &Db, id: i64) -> String {
    db.rows(&format!(
        "SELECT status FROM {{s}}flow_outbox WHERE id = {id}"
    ))
    .first()
    .cloned()
    .unwrap_or_default()
    .trim()
    .to_string()
}

/// Everything the admin side answers, against what `db` holds.
fn admin(world: &World, db: &Db, served: &Served) {
    // Engagement: contact 3 opens its offer, contact 2 clicks its link;
    // contact 1 (`<script>…`) does neither.
    let tanaka = mail_to(world, "tanaka@example.jp");
    let smith = mail_to(world, "smith@example.com");
    let open = link(&tanaka, "o").expect("an open image");
    assert_eq!(served.get_as(&open, As::Nobody).status, 200);
    let click = link(&smith, "c").expect("a tracked link");
    assert_eq!(served.get_as(&click, As::Nobody).status, 302);
    // An open recorded by another program, naming only the template: it
    // counts for the latest such message to the record.
    let out = world.flowc(&[
        "event",
        "--db",
        &db.arg(),
        "email_opened",
        "--on",
        "contact:4",
        "--data",
        r#"{"template": "offer"}"#,
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    // serve's engine ends the runs whose message was seen; the counts are
    // compared once it has processed every event.
    wait_until("the engine sees the opens and the click", || {
        db.count(&format!(
            "SELECT count(*) FROM {{s}}flow_events WHERE processed <> {}",
            db.truth()
        )) == 0
            && db.count(
                "SELECT count(*) FROM {s}flow_runs WHERE rule = 'welcome' AND status = 'waiting' \
                 AND subject_id IN (2, 3)",
            ) == 0
    });

    // Nobody: the pages go to the login page (coming back afterwards),
    // the API answers 401; a wrong token is refused alike.
    let a = served.get_as("/rules/welcome", As::Nobody);
    assert_eq!(a.status, 303);
    assert_eq!(a.header("location"), Some("/login?next=%2Frules%2Fwelcome"));
    for path in [
        "/api/rules",
        "/api/rules/welcome",
        "/api/records/contact/1",
        "/api/approvals",
        "/api/tasks",
        "/api/outbox",
        "/api/suppressions",
    ] {
        let a = served.get_as(path, As::Nobody);
        assert_eq!(a.status, 401, "{path}");
        assert!(a.header("www-authenticate").is_some(), "{path}");
        assert!(a.json()["error"].is_string(), "{path}");
        assert_eq!(
            served.get_as(path, As::Bearer("wrong")).status,
            401,
            "{path}"
        );
    }
    assert_eq!(served.get_as("/", As::Bearer("wrong")).status, 401);
    assert_eq!(
        served
            .get_as("/", As::Cookie("flowc_admin=v1.9999999999.x.y"))
            .status,
        303,
        "a forged session"
    );

    // `/`: every rule with its counts, as the database has them.
    let rules = served.api("/api/rules");
    let rules = rules["rules"].as_array().expect("rules");
    assert_eq!(
        rules
            .iter()
            .map(|r| r["rule"].as_str().unwrap_or_default())
            .collect::<Vec<_>>(),
        ["welcome", "paid"]
    );
    for r in rules {
        let name = r["rule"].as_str().unwrap_or_default();
        let runs = |status: &str| {
            db.count(&format!(
                "SELECT count(*) FROM {{s}}flow_runs WHERE rule = '{name}' AND status = '{status}'"
            ))
        };
        assert_eq!(
            r["started"],
            db.count(&format!(
                "SELECT count(*) FROM {{s}}flow_runs WHERE rule = '{name}'"
            )),
            "{r}"
        );
        assert_eq!(r["waiting"], runs("waiting"), "{r}");
        assert_eq!(r["done"], runs("done"), "{r}");
        assert_eq!(r["failed"], runs("failed"), "{r}");
        assert_eq!(
            r["sent"],
            db.count(&format!(
                "SELECT count(*) FROM {{s}}flow_outbox WHERE rule = '{name}' AND status = 'sent'"
            )),
            "{r}"
        );
        assert_eq!(
            r["suppressed"],
            db.count(&format!(
                "SELECT count(*) FROM {{s}}flow_log WHERE rule = '{name}' AND action = 'suppressed'"
            )),
            "{r}"
        );
        assert_eq!(
            r["converted"],
            db.count(&format!(
                "SELECT count(*) FROM {{s}}flow_runs WHERE rule = '{name}' AND converted = {}",
                db.truth()
            )),
            "{r}"
        );
    }
    let welcome = &rules[0];
    assert_eq!(welcome["started"], 4, "{welcome}");
    // Three messages were opened (a click is an open too), one clicked.
    assert_eq!(welcome["opened"], 3, "{welcome}");
    assert_eq!(welcome["clicked"], 1, "{welcome}");
    assert_eq!(rules[1]["started"], 1);
    assert_eq!(rules[1]["opened"], 0);
    let page = served.page("/", As::Bearer(TOKEN));
    for label in ["ルール / Rules", "welcome", "paid", "Opened", "開封"] {
        assert!(page.body.contains(label), "{label}: {}", page.body);
    }

    // `/rules/NAME`: its chart, its steps, who waits where and for what.
    let rule = served.api("/api/rules/welcome");
    assert_eq!(rule["chart"], true);
    let steps = rule["steps"].as_array().expect("steps");
    assert!(
        steps
            .iter()
            .any(|s| s["step"] == "send#1" && s["passed"] == 4),
        "{rule}"
    );
    let waiting = rule["waiting_runs"].as_array().expect("waiting runs");
    // Contacts 2 and 3 engaged, which ends their runs (once serve's engine
    // has seen it); contact 1's run waits.
    assert!(
        waiting.iter().any(|w| w["record"]["title"] == SCRIPT),
        "{rule}"
    );
    for w in waiting {
        assert_eq!(w["step"], "wait#1", "{w}");
        assert_eq!(w["waiting"]["kind"], "engagement", "{w}");
        assert!(w["wake_at"].is_i64(), "{w}");
    }
    let page = served.page("/rules/welcome", As::Bearer(TOKEN));
    assert!(page.body.contains("<svg"), "the chart is inline");
    assert!(page.body.contains("wait 3d unless contact opened offer"));
    let paid = served.api("/api/rules/paid");
    let waiting = paid["waiting_runs"].as_array().expect("waiting runs");
    assert_eq!(waiting.len(), 1, "{paid}");
    assert_eq!(waiting[0]["waiting"]["kind"], "approval");
    assert_eq!(waiting[0]["record"]["title"], "Smith");

    // `/records/TABLE/ID`: everything flowc did with the record.
    let record = served.api("/api/records/contact/1");
    assert_eq!(record["record"]["title"], SCRIPT);
    assert_eq!(record["fields"]["name"], SCRIPT);
    assert!(!record["runs"].as_array().expect("runs").is_empty());
    assert!(
        record["emails"]
            .as_array()
            .expect("emails")
            .iter()
            .any(|m| m["template"] == "offer")
    );
    assert!(
        record["events"]
            .as_array()
            .expect("events")
            .iter()
            .any(|e| e["name"] == "email_sent")
    );
    assert_eq!(record["tags"][0]["tag"], "welcomed");
    assert_eq!(record["lists"][0]["list"], "newsletter");
    assert!(!record["tasks"].as_array().expect("tasks").is_empty());
    assert!(!record["log"].as_array().expect("log").is_empty());
    let boss = served.api("/api/records/user/1");
    assert!(
        !boss["tasks"].as_array().expect("tasks").is_empty(),
        "tasks assigned to the user: {boss}"
    );
    assert!(
        !boss["approvals"].as_array().expect("approvals").is_empty(),
        "approvals asked of the user: {boss}"
    );

    // The lists.
    let approvals = served.api("/api/approvals");
    let approvals = approvals["approvals"].as_array().expect("approvals");
    assert_eq!(approvals.len(), 1);
    assert_eq!(approvals[0]["status"], "pending");
    assert_eq!(approvals[0]["record"]["title"], "Smith");
    assert_eq!(approvals[0]["approver"]["title"], format!("Boss {SCRIPT}"));
    let tasks = served.api("/api/tasks");
    assert_eq!(tasks["tasks"].as_array().expect("tasks").len(), 4);
    let outbox = served.api("/api/outbox");
    let messages = outbox["messages"].as_array().expect("messages");
    assert_eq!(messages[0]["status"], "unconfirmed", "unconfirmed first");
    assert_eq!(
        served.api("/api/suppressions")["suppressions"],
        serde_json::json!([])
    );

    // A record named `<script>…` shows as text on every page that shows
    // records.
    for path in [
        "/rules/welcome",
        "/records/contact/1",
        "/records/user/1",
        "/approvals",
        "/tasks",
        "/outbox",
    ] {
        let page = served.page(path, As::Bearer(TOKEN));
        assert!(page.body.contains(ESCAPED), "{path}: {}", page.body);
        assert!(!page.body.contains("<script"), "{path}: {}", page.body);
    }

    // Unknown rules and records: 404.
    for path in [
        "/rules/nope",
        "/records/contact/999",
        "/records/nosuch/1",
        "/records/contact/abc",
    ] {
        let a = served.get_as(path, As::Bearer(TOKEN));
        assert_eq!(a.status, 404, "{path}");
        assert!(a.body.contains("Not found"), "{path}: {}", a.body);
        let api = served.get_as(&format!("/api{path}"), As::Bearer(TOKEN));
        assert_eq!(api.status, 404, "/api{path}");
        assert_eq!(api.json()["error"], "not found");
    }

    // The login page: a wrong token is refused; the right one sets an
    // HttpOnly, SameSite=Strict, Secure (the public URL is https) session
    // cookie that is not the token, and goes on to the page asked for.
    let login = served.page("/login?next=%2Foutbox", As::Nobody);
    assert!(login.body.contains("type=\"password\""));
    assert!(login.body.contains("value=\"/outbox\""));
    let wrong = served.form("/login", As::Nobody, "token=wrong&next=%2F");
    assert_eq!(wrong.status, 401);
    assert!(wrong.header("set-cookie").is_none());
    let (cookie, set) = log_in(served, "/outbox");
    for flag in [
        "HttpOnly",
        "SameSite=Strict",
        "Path=/",
        "Secure",
        "Max-Age=",
    ] {
        assert!(set.contains(flag), "{flag}: {set}");
    }
    assert!(!set.contains(TOKEN), "{set}");
    assert!(cookie.starts_with("flowc_admin="), "{cookie}");
    // Never on to another site.
    let away = served.form(
        "/login",
        As::Nobody,
        &format!("token={TOKEN}&next=https%3A%2F%2Fevil.example%2F"),
    );
    assert_eq!(away.header("location"), Some("/"));
    let away = served.form(
        "/login",
        As::Nobody,
        &format!("token={TOKEN}&next=%2F%2Fevil.example%2F"),
    );
    assert_eq!(away.header("location"), Some("/"));

    // With the cookie: the pages, each form with the session's CSRF token.
    let session = As::Cookie(&cookie);
    let page = served.page("/outbox", session);
    let csrf = page.csrf();
    assert!(csrf.len() >= 20, "{csrf}");
    assert!(page.body.contains("/outbox/"));
    assert_eq!(served.page("/suppressions", session).csrf(), csrf);
    let json = served.get_as("/api/rules", session);
    assert_eq!(json.status, 200);

    // A cookie POST without the CSRF token (or with a wrong one) is
    // refused and changes nothing; with it, it is done.
    let smith_id = message(db, "smith@example.com");
    let resolve = format!("/outbox/{smith_id}/resolve");
    for body in [
        "resolution=sent".to_string(),
        "resolution=sent&csrf=wrong".to_string(),
        format!("resolution=sent&csrf={csrf}x"),
    ] {
        let a = served.form(&resolve, session, &body);
        assert_eq!(a.status, 403, "{body}: {}", a.body);
    }
    assert_eq!(status_of(db, smith_id), "unconfirmed");
    // Without any session: to the login page, nothing done.
    let a = served.form(
        &resolve,
        As::Nobody,
        &format!("resolution=sent&csrf={csrf}"),
    );
    assert_eq!(a.status, 303);
    assert_eq!(status_of(db, smith_id), "unconfirmed");
    let a = served.form(&resolve, session, &format!("resolution=sent&csrf={csrf}"));
    assert_eq!(a.status, 303, "{}", a.body);
    assert_eq!(a.header("location"), Some("/outbox?done=sent"));
    assert_eq!(status_of(db, smith_id), "sent");
    let said = served.page("/outbox?done=sent", session);
    assert!(said.body.contains("The message was marked sent"));
    // Resolving it again: it is not unconfirmed any more.
    let again = served.form(&resolve, session, &format!("resolution=sent&csrf={csrf}"));
    assert_eq!(again.status, 409);

    // The API: Bearer needs no CSRF token; a session needs the header.
    let yamada_id = message(db, "yamada@example.jp");
    db.sql(&format!(
        "UPDATE {}flow_outbox SET status = 'unconfirmed' WHERE id = {yamada_id}",
        match db {
            Db::Sqlite(_) => "",
            Db::Pg(..) => "flowc.",
        }
    ));
    let api_resolve = format!("/api/outbox/{yamada_id}/resolve");
    let body = r#"{"resolution": "sent"}"#;
    let a = served.post_as(&api_resolve, session, "application/json", body);
    assert_eq!(a.status, 403, "{}", a.body);
    assert_eq!(status_of(db, yamada_id), "unconfirmed");
    let a = answer(
        agent()
            .post(format!("{}{api_resolve}", served.base))
            .header("cookie", &cookie)
            .header("x-csrf-token", &csrf)
            .header("content-type", "application/json")
            .send(body),
    );
    assert_eq!(a.status, 200, "{}", a.body);
    assert_eq!(a.json()["status"], "sent");
    assert_eq!(status_of(db, yamada_id), "sent");
    let a = served.post_as(&api_resolve, As::Bearer(TOKEN), "application/json", body);
    assert_eq!(a.status, 409, "{}", a.body);
    let a = served.post_as(
        "/api/outbox/999999/resolve",
        As::Bearer(TOKEN),
        "application/json",
        body,
    );
    assert_eq!(a.status, 404, "{}", a.body);
    let a = served.post_as(
        &api_resolve,
        As::Bearer(TOKEN),
        "application/json",
        r#"{"resolution": "maybe"}"#,
    );
    assert_eq!(a.status, 400, "{}", a.body);

    // Suppressions: add and remove, by form (CSRF) and by API.
    let suppressed =
        || db.rows("SELECT address || ' ' || reason FROM {s}flow_suppressions ORDER BY address");
    let a = served.form(
        "/suppressions/add",
        session,
        "address=Sato%40Example.jp&reason=manual",
    );
    assert_eq!(a.status, 403);
    assert!(suppressed().is_empty());
    let a = served.form(
        "/suppressions/add",
        session,
        &format!("address=Sato%40Example.jp&reason=manual&csrf={csrf}"),
    );
    assert_eq!(a.status, 303, "{}", a.body);
    assert_eq!(suppressed(), ["sato@example.jp manual"]);
    let a = served.form(
        "/suppressions/add",
        session,
        &format!("address=not-an-address&csrf={csrf}"),
    );
    assert_eq!(a.status, 400);
    let page = served.page("/suppressions", session);
    assert!(page.body.contains("sato@example.jp"));
    let a = served.form(
        "/suppressions/remove",
        session,
        &format!("address=sato%40example.jp&csrf={csrf}"),
    );
    assert_eq!(a.status, 303, "{}", a.body);
    assert!(suppressed().is_empty());
    let a = served.post_as(
        "/api/suppressions",
        As::Bearer(TOKEN),
        "application/json",
        r#"{"address": "tanaka@example.jp", "reason": "complained"}"#,
    );
    assert_eq!(a.status, 200, "{}", a.body);
    assert_eq!(suppressed(), ["tanaka@example.jp complained"]);
    assert_eq!(
        served.api("/api/suppressions")["suppressions"][0]["address"],
        "tanaka@example.jp"
    );
    let a = served.post_as(
        "/api/suppressions/remove",
        As::Bearer(TOKEN),
        "application/json",
        r#"{"address": "tanaka@example.jp"}"#,
    );
    assert_eq!(a.status, 200, "{}", a.body);
    assert_eq!(a.json()["was"], "complained");
    let a = served.post_as(
        "/api/suppressions/remove",
        As::Bearer(TOKEN),
        "application/json",
        r#"{"address": "tanaka@example.jp"}"#,
    );
    assert_eq!(a.status, 404);

    // A decided approval shows who decided and their comment (escaped).
    let out = world.flowc(&[
        "approvals",
        "--db",
        &db.arg(),
        "reject",
        "1",
        "--note",
        "<b>not now</b>",
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let approvals = served.api("/api/approvals");
    let decided = &approvals["approvals"][0];
    assert_eq!(decided["status"], "rejected", "{decided}");
    assert_eq!(decided["note"], "<b>not now</b>", "{decided}");
    assert!(decided["decided_at"].is_i64(), "{decided}");
    assert!(decided["decided_by"].is_string(), "{decided}");
    let page = served.page("/approvals", As::Bearer(TOKEN));
    assert!(page.body.contains("&lt;b&gt;not now&lt;/b&gt;"));

    // Logging out (a POST with the session's CSRF token) forgets the
    // cookie.
    assert_eq!(served.form("/logout", session, "").status, 403);
    let out = served.form("/logout", session, &format!("csrf={csrf}"));
    assert_eq!(out.status, 303);
    assert_eq!(out.header("location"), Some("/login"));
    assert!(
        out.header("set-cookie")
            .is_some_and(|c| c.starts_with("flowc_admin=;") && c.contains("Max-Age=0")),
        "{:?}",
        out.header("set-cookie")
    );
}

#[test]
fn the_admin_pages_answer_as_documented_on_sqlite() {
    let world = World::files(&[("main.flow", PROJECT)]);
    let db = Db::Sqlite(&world);
    prepare(&world, &db);
    let served = serve(&world, &db, true);
    assert!(
        served.said.iter().any(|l| *l
            == format!(
                "flowc serve: admin pages at {}/ (log in with FLOWC_ADMIN_TOKEN)",
                served.base
            )),
        "{:?}",
        served.said
    );
    admin(&world, &db, &served);
    documented_api_example(&served);
}

/// docs/serve.md's curl example of the API, run as written.
fn documented_api_example(served: &Served) {
    let curl = std::process::Command::new("sh")
        .args(["-c", "command -v curl"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !curl {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "the documented curl example needs curl"
        );
        use std::io::Write;
        let _ = writeln!(
            std::io::stderr(),
            "SKIPPED docs/serve.md's curl example of the admin API: no curl"
        );
        return;
    }
    let doc = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/serve.md"))
        .expect("docs/serve.md");
    let block = doc
        .split("```sh\n")
        .skip(1)
        .filter_map(|rest| rest.split("\n```").next())
        .find(|b| b.contains("Authorization: Bearer"))
        .expect("a ```sh block with the API example in docs/serve.md");
    let out = std::process::Command::new("sh")
        .args(["-c", block])
        .env("FLOWC_ADMIN_TOKEN", TOKEN)
        .env("FLOWC_URL", &served.base)
        .output()
        .expect("sh runs");
    assert!(out.status.success(), "{}", text(&out.stderr));
    let answer: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", text(&out.stdout)));
    assert_eq!(answer["rules"][0]["rule"], "welcome", "{answer}");
}

#[test]
fn the_admin_pages_answer_as_documented_on_postgres() {
    let Some(server) = pg::shared("the_admin_pages_answer_as_documented_on_postgres") else {
        return;
    };
    let world = World::files(&[("main.flow", PROJECT)]);
    let url = server.create_database("serve_admin");
    let db = Db::Pg(server, url);
    prepare(&world, &db);
    let served = serve(&world, &db, true);
    admin(&world, &db, &served);
}

/// Without `FLOWC_ADMIN_TOKEN` every admin path is a `404`, as if it did
/// not exist, whatever the request carries.
#[test]
fn the_admin_side_is_off_without_the_token() {
    let world = World::files(&[("main.flow", PROJECT)]);
    let db = Db::Sqlite(&world);
    prepare(&world, &db);
    let served = serve(&world, &db, false);
    assert!(
        served
            .said
            .iter()
            .any(|l| l.contains("FLOWC_ADMIN_TOKEN is not set: the admin pages are off")),
        "{:?}",
        served.said
    );
    let unknown = served.get_as("/no/such/page", As::Nobody);
    assert_eq!(unknown.status, 404);
    for path in [
        "/",
        "/login",
        "/logout",
        "/rules/welcome",
        "/records/contact/1",
        "/approvals",
        "/tasks",
        "/outbox",
        "/suppressions",
        "/api/rules",
        "/api/rules/welcome",
        "/api/records/contact/1",
        "/api/approvals",
        "/api/tasks",
        "/api/outbox",
        "/api/suppressions",
    ] {
        for who in [As::Nobody, As::Bearer(TOKEN), As::Bearer("")] {
            let a = served.get_as(path, who);
            assert_eq!(a.status, 404, "{path}: {}", a.body);
            // The very page of any path that does not exist.
            assert_eq!(a.body, unknown.body, "{path}");
        }
    }
    let a = served.form("/login", As::Nobody, &format!("token={TOKEN}"));
    assert_eq!(a.status, 404);
    assert_eq!(a.body, unknown.body);
    assert!(a.header("set-cookie").is_none());
    let a = served.post_as(
        "/api/suppressions",
        As::Bearer(TOKEN),
        "application/json",
        r#"{"address": "x@example.jp"}"#,
    );
    assert_eq!(a.status, 404);
    assert_eq!(
        db.count("SELECT count(*) FROM {s}flow_suppressions"),
        0,
        "nothing was suppressed"
    );
}

/// The pages in a real browser (headless Chromium): log in, the
/// dashboard, a rule's chart, a record's history, the outbox; then the
/// opt-out link of a received marketing email. No script ever runs (the
/// record named `<script>alert(1)</script>` opens no alert). Screenshots
/// of each page: `target/screenshots/admin-*.png`.
#[test]
fn the_admin_pages_work_in_a_browser() {
    let Some(browser) = Browser::start("the_admin_pages_work_in_a_browser") else {
        return;
    };
    let world = World::files(&[("main.flow", PROJECT)]);
    let db = Db::Sqlite(&world);
    prepare(&world, &db);
    let served = serve(&world, &db, true);
    let base = &served.base;
    let shot = |name: &str| {
        assert_eq!(browser.alert(), None, "a script ran on {name}");
        let path = browser.screenshot(name);
        assert!(browser::looks_drawn(&path), "{} is blank", path.display());
    };

    // The dashboard sends a browser to the login page first.
    browser.open(&format!("{base}/"));
    assert!(browser.url().contains("/login"), "{}", browser.url());
    shot("admin-1-login");
    browser.type_into("#token", "wrong");
    browser.click("button[type=submit]");
    browser.wait_text("That token is not right");
    browser.type_into("#token", TOKEN);
    browser.click("button[type=submit]");
    browser.wait(&format!("the dashboard at {base}/"), |b| {
        b.url() == format!("{base}/")
    });
    let cookie = browser
        .cookies()
        .into_iter()
        .find(|c| c["name"] == "flowc_admin")
        .expect("the session cookie");
    assert_eq!(cookie["httpOnly"], true, "{cookie}");
    assert_eq!(cookie["sameSite"], "Strict", "{cookie}");

    // The dashboard: every rule.
    assert!(browser.title().contains("Rules"), "{}", browser.title());
    assert_eq!(browser.count("tbody tr"), 2);
    shot("admin-2-dashboard");

    // A rule's chart, from the dashboard's link.
    browser.click("a[href='/rules/welcome']");
    browser.wait_url("/rules/welcome");
    assert_eq!(browser.count(".chart svg"), 1);
    assert!(browser.text("h1").contains("welcome"));
    shot("admin-3-rule");

    // A record's history, from the waiting runs' links.
    browser.open(&format!("{base}/records/contact/1"));
    assert!(
        browser.text("h1").contains(SCRIPT),
        "{}",
        browser.text("h1")
    );
    assert!(browser.source().contains("welcomed"));
    shot("admin-4-record");

    // The outbox: resolve the unconfirmed message with its button.
    browser.open(&format!("{base}/outbox"));
    shot("admin-5-outbox");
    let smith_id = message(&db, "smith@example.com");
    browser.click(&format!("form[action='/outbox/{smith_id}/resolve'] button"));
    browser.wait_url("/outbox?done=sent");
    assert_eq!(status_of(&db, smith_id), "sent");
    for page in ["approvals", "tasks", "suppressions"] {
        browser.open(&format!("{base}/{page}"));
        shot(&format!("admin-6-{page}"));
    }

    // The opt-out link of the email Yamada received, followed in the
    // browser: the page asks, the button opts out.
    let unsubscribe = link(&mail_to(&world, "yamada@example.jp"), "u").expect("an opt-out link");
    browser.open(&format!("{base}{unsubscribe}"));
    assert!(browser.source().contains("y***@example.jp"));
    shot("unsubscribe-1-page");
    browser.click("button[type=submit]");
    browser.wait_text("will get no more marketing email");
    shot("unsubscribe-2-done");
    wait_until("the opt-out is stored", || {
        db.rows("SELECT reason FROM flow_suppressions WHERE address = 'yamada@example.jp'")
            == ["unsubscribed"]
    });
    // … and the admin page shows it.
    browser.open(&format!("{base}/suppressions"));
    assert!(browser.source().contains("yamada@example.jp"));
    shot("admin-7-suppressions-after");

    // Logging out from the navigation: the pages want a login again.
    browser.click("header form button");
    browser.wait("the login page", |b| b.url().contains("/login"));
    browser.open(&format!("{base}/outbox"));
    assert!(browser.url().contains("/login"), "{}", browser.url());
}
