//! The walkthrough a new user takes (issue 11's "done when"): `flowc demo`
//! with FLOWC_SECRET set, then `flowc serve` on the demo database; log
//! in, see the month's rules with their counts, approve a waiting
//! discount from the approval email in the mail folder, opt out of a
//! marketing email, and see both reflected. Over HTTP always, and again
//! in headless Chromium when it is there.

use crate::support::browser::{self, Browser};
use crate::support::serve::{Served, eml_text, free_port, link_tokens, wait_until};
use crate::support::world::{World, text};
use flowc::mail::token::{self, Purpose, Secret};
use std::path::PathBuf;

const SECRET: &str = "the demo walkthrough's secret, long enough";
const ADMIN: &str = "demo-admin-password";
/// A project for the world's folder, which the demo's own goes beside.
const PLACE: &str = "record contact {\n  email: text\n}\n";

/// The path printed after `label` in the demo's summary (relative to the
/// world's folder).
fn printed_path(summary: &str, label: &str) -> PathBuf {
    let line = summary
        .lines()
        .find(|l| l.trim_start().starts_with(label))
        .unwrap_or_else(|| panic!("no {label:?} line in\n{summary}"));
    PathBuf::from(line.trim_start()[label.len()..].trim())
}

/// Every message in the demo's mail folder with a `PUBLIC/u/…` link: the
/// marketing mail, each with its opt-out token and recipient.
fn marketing_mail(world: &World, public: &str) -> Vec<(String, String)> {
    let mut found = Vec::new();
    let dir = world.path("demo/mail");
    let mut paths: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("the mail folder")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    paths.sort();
    for path in paths {
        let raw = std::fs::read_to_string(&path).unwrap_or_default();
        if !raw.contains("List-Unsubscribe:") {
            continue;
        }
        let to = raw
            .lines()
            .find_map(|l| l.strip_prefix("To: "))
            .expect("a To header")
            .trim()
            .to_string();
        let tokens = link_tokens(&eml_text(&path), &format!("{public}/u/"));
        assert_eq!(tokens.len(), 1, "{}", path.display());
        found.push((tokens[0].clone(), to));
    }
    found
}

fn approval_id(token: &str) -> i64 {
    let secret = Secret::new(SECRET).expect("secret");
    let payload = token::verify(&secret, Purpose::Approval, token).expect("a valid token");
    token::split_approval(&payload)
        .expect("an approval payload")
        .0
}

/// The value of the approval page's hidden `check` field.
fn check_field(page: &str) -> String {
    let marker = "name=\"check\" value=\"";
    let at = page
        .find(marker)
        .unwrap_or_else(|| panic!("no check field in {page}"));
    let rest = &page[at + marker.len()..];
    rest[..rest.find('"').expect("the value's end")].to_string()
}

struct Walk {
    world: World,
    served: Served,
    public: String,
    approvals: Vec<String>,
    marketing: Vec<(String, String)>,
}

impl Walk {
    fn api(&self, path: &str) -> serde_json::Value {
        let auth = format!("Bearer {ADMIN}");
        let a = self.served.get_with(path, &[("authorization", &auth)]);
        assert_eq!(a.status, 200, "{path}: {}", a.body);
        a.json()
    }

    fn approval_status(&self, id: i64) -> String {
        let all = self.api("/api/approvals");
        let found = all["approvals"]
            .as_array()
            .expect("approvals")
            .iter()
            .find(|a| a["id"] == id)
            .unwrap_or_else(|| panic!("approval {id} in {all}"))
            .clone();
        found["status"].as_str().unwrap_or_default().to_string()
    }

    fn suppressed(&self, address: &str) -> Option<String> {
        let all = self.api("/api/suppressions");
        all["suppressions"]
            .as_array()
            .expect("suppressions")
            .iter()
            .find(|s| s["address"] == address)
            .map(|s| s["reason"].as_str().unwrap_or_default().to_string())
    }
}

/// `flowc demo` with the secret and a public URL on a free port, then
/// `flowc serve` on its database there.
fn walk() -> Walk {
    let world = World::files(&[("main.flow", PLACE)]);
    let port = free_port();
    let public = format!("http://127.0.0.1:{port}");
    let out = world.flowc_env(
        &["demo", "--dir", "demo", "--public-url", &public],
        &[("FLOWC_SECRET", SECRET)],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let summary = text(&out.stdout);
    assert!(
        summary.contains(&format!("the mail's links point to {public}")),
        "{summary}"
    );
    assert!(
        summary.contains(&format!(
            "flowc serve --db demo/crm.sqlite demo/rules --mail-dir demo/mail --public-url {public}"
        )),
        "{summary}"
    );
    let approval_mail =
        world.path(&printed_path(&summary, "approve a discount from:").to_string_lossy());
    let first = link_tokens(&eml_text(&approval_mail), &format!("{public}/a/"));
    assert_eq!(first.len(), 1, "{}", approval_mail.display());
    // Every approval email of the month, the printed one first.
    let mut approvals = first;
    for entry in std::fs::read_dir(world.path("demo/mail")).expect("mail") {
        let path = entry.expect("entry").path();
        if path.to_string_lossy().contains(".approval-") {
            for t in link_tokens(&eml_text(&path), &format!("{public}/a/")) {
                if !approvals.contains(&t) {
                    approvals.push(t);
                }
            }
        }
    }
    let waiting = number_after(&summary, "Approvals waiting:");
    assert!(waiting >= 2, "{summary}");
    assert_eq!(approvals.len() as i64, waiting, "one email per approval");
    let marketing = marketing_mail(&world, &public);
    assert!(marketing.len() >= 2, "{marketing:?}");

    let mut command = world.command(
        &[
            "serve",
            "--db",
            "demo/crm.sqlite",
            "demo/rules",
            "--mail-dir",
            "demo/mail",
            "--public-url",
            &public,
            "--listen",
            &format!("127.0.0.1:{port}"),
        ],
        &[("FLOWC_SECRET", SECRET), ("FLOWC_ADMIN_TOKEN", ADMIN)],
    );
    command.env("NO_COLOR", "1");
    let served = Served::start(command);
    assert_eq!(served.base, public);
    Walk {
        world,
        served,
        public,
        approvals,
        marketing,
    }
}

fn number_after(summary: &str, label: &str) -> i64 {
    summary
        .lines()
        .find_map(|l| l.strip_prefix(label))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no number after {label:?} in\n{summary}"))
}

#[test]
fn a_new_user_serves_the_demo_approves_from_the_mail_and_opts_out() {
    if !crate::support::slow_tests_enabled(
        "a_new_user_serves_the_demo_approves_from_the_mail_and_opts_out",
    ) {
        return;
    }
    let mut walk = walk();
    let served = &walk.served;

    // The month's rules with their counts.
    let rules = walk.api("/api/rules");
    let rule = |name: &str| {
        rules["rules"]
            .as_array()
            .expect("rules")
            .iter()
            .find(|r| r["rule"] == name)
            .unwrap_or_else(|| panic!("{name} in {rules}"))
            .clone()
    };
    assert!(rule("seminar")["started"].as_i64() > Some(100), "{rules}");
    let discounts = rule("discount_approval");
    assert_eq!(
        discounts["waiting"].as_i64(),
        Some(walk.approvals.len() as i64),
        "{discounts}"
    );

    // Approve the printed approval email's discount from its link.
    let token = &walk.approvals[0];
    let id = approval_id(token);
    assert_eq!(walk.approval_status(id), "pending");
    let page = served.get(&format!("/a/{token}"));
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.body.contains("discount_approval"), "{}", page.body);
    let done = served.post_form(
        &format!("/a/{token}"),
        &[
            ("decision", "approve"),
            ("comment", "OK"),
            ("check", &check_field(&page.body)),
        ],
    );
    assert_eq!(done.status, 200, "{}", done.body);
    assert_eq!(walk.approval_status(id), "approved");
    // The run went on past the approval: one fewer waits there.
    let waiting = |walk: &Walk| {
        walk.api("/api/rules")["rules"]
            .as_array()
            .and_then(|rs| {
                rs.iter()
                    .find(|r| r["rule"] == "discount_approval")
                    .cloned()
            })
            .and_then(|r| r["waiting"].as_i64())
    };
    wait_until("the approved run goes on", || {
        waiting(&walk) == Some(walk.approvals.len() as i64 - 1)
    });

    // Opt out of a marketing email from its link.
    let (unsubscribe, address) = &walk.marketing[0];
    assert_eq!(walk.suppressed(address), None, "{address}");
    let page = served.get(&format!("/u/{unsubscribe}"));
    assert_eq!(page.status, 200, "{}", page.body);
    let first = address.chars().next().expect("an address");
    let domain = address.split('@').nth(1).expect("a domain");
    assert!(
        page.body.contains(&format!("{first}***@{domain}")),
        "{}",
        page.body
    );
    let done = served.post_form(
        &format!("/u/{unsubscribe}"),
        &[("List-Unsubscribe", "One-Click")],
    );
    assert_eq!(done.status, 200, "{}", done.body);
    assert_eq!(walk.suppressed(address).as_deref(), Some("unsubscribed"));

    browse(&walk);

    // SIGTERM: the server stops after the engine's pass, and the worker
    // retires (no live worker left behind until its lease ends).
    let db = walk.world.path("demo/crm.sqlite");
    let workers = || {
        let conn = rusqlite::Connection::open(&db).expect("db");
        conn.query_row("SELECT count(*) FROM flow_workers", [], |r| {
            r.get::<_, i64>(0)
        })
        .expect("flow_workers")
    };
    assert_eq!(workers(), 1);
    // After the engine's first pass (catching up from the demo's month to
    // today, which takes a while on a loaded machine): a pass in progress
    // longer than serve's 10 s grace is cut off, not retired.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
    loop {
        match walk
            .served
            .lines
            .recv_timeout(std::time::Duration::from_millis(200))
        {
            Ok(line) if line.contains(" runs started") => break,
            Ok(_) => {}
            Err(_) => assert!(
                std::time::Instant::now() < deadline,
                "the engine's first pass did not end"
            ),
        }
    }
    let (status, printed) = walk.served.terminate();
    assert!(status.success(), "{status}: {printed:?}");
    assert!(
        printed.iter().any(|l| l == "flowc serve: stopped"),
        "{printed:?}"
    );
    assert_eq!(workers(), 0);
}

/// The walkthrough's second half in headless Chromium (when it is there).
fn browse(walk: &Walk) {
    // The same in a browser: log in, the dashboard, approve the next
    // approval from its email's link, opt out of the next marketing email.
    let Some(browser) =
        Browser::start("a_new_user_serves_the_demo_approves_from_the_mail_and_opts_out")
    else {
        return;
    };
    let base = &walk.public;
    let shot = |name: &str| {
        assert_eq!(browser.alert(), None, "a script ran on {name}");
        let path = browser.screenshot(name);
        assert!(browser::looks_drawn(&path), "{} is blank", path.display());
    };
    browser.open(&format!("{base}/"));
    assert!(browser.url().contains("/login"), "{}", browser.url());
    browser.type_into("#token", ADMIN);
    browser.click("button[type=submit]");
    browser.wait(&format!("the dashboard at {base}/"), |b| {
        b.url() == format!("{base}/")
    });
    assert!(browser.source().contains("discount_approval"));
    shot("demo-1-dashboard");

    let token = &walk.approvals[1];
    let id = approval_id(token);
    browser.open(&format!("{base}/a/{token}"));
    shot("demo-2-approval");
    browser.click("button[value=approve]");
    browser.wait_text("Approved");
    shot("demo-3-approved");
    assert_eq!(walk.approval_status(id), "approved");

    let (unsubscribe, address) = &walk.marketing[1];
    browser.open(&format!("{base}/u/{unsubscribe}"));
    shot("demo-4-opt-out");
    browser.click("button[type=submit]");
    wait_until("the browser's opt-out is recorded", || {
        walk.suppressed(address).is_some()
    });
    shot("demo-5-opted-out");

    // Both are reflected in the admin pages.
    browser.open(&format!("{base}/approvals"));
    assert!(browser.source().contains("approved"));
    browser.open(&format!("{base}/suppressions"));
    assert!(browser.source().contains(address.as_str()));
    shot("demo-6-suppressions");
}

/// Without FLOWC_SECRET the demo's mail carries no links flowc serve would
/// answer, and the summary says how to get them.
#[test]
fn without_a_secret_the_demo_says_how_to_get_links() {
    if !crate::support::slow_tests_enabled("without_a_secret_the_demo_says_how_to_get_links") {
        return;
    }
    let world = World::files(&[("main.flow", PLACE)]);
    let out = world.flowc(&["demo", "--dir", "demo"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let summary = text(&out.stdout);
    assert!(
        summary.contains("export FLOWC_SECRET=$(openssl rand -hex 32); flowc demo --dir demo"),
        "{summary}"
    );
    for entry in std::fs::read_dir(world.path("demo/mail")).expect("mail") {
        let path = entry.expect("entry").path();
        let raw = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(!raw.contains("http://127.0.0.1"), "{}", path.display());
    }

    // A secret too short is refused rather than quietly ignored.
    let out = world.flowc_env(&["demo", "--dir", "demo2"], &[("FLOWC_SECRET", "short")]);
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("FLOWC_SECRET is too short"),
        "{}",
        text(&out.stderr)
    );
}
