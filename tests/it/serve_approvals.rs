//! Approvals by email (DESIGN.md §9) through the built binary: a run that
//! reaches `require approval from opportunity.owner` sends the owner a
//! transactional email listing the record's fields, with the link
//! `PUBLIC/a/TOKEN` (`flowc run --public-url … --mail-dir DIR`, and once
//! through a real SMTP server); a real `flowc serve` answers the link:
//! GET shows the record and decides nothing, POST approves or rejects
//! (with the page's check field) and records who, when and the comment,
//! and the engine then goes on with the run (or runs `on reject`); a
//! decided link shows the decision and a second POST changes nothing;
//! forged and other-purpose tokens are 404. `flowc approvals list` names
//! the record and the approver. On SQLite, and on PostgreSQL when the
//! harness has it.

use crate::support::db::Db;
use crate::support::eml::parse;
use crate::support::pg;
use crate::support::serve::{self, Served, link_tokens, wait_until};
use crate::support::smtp;
use crate::support::world::{World, text};
use flowc::mail::token::{self, Purpose, Secret};
use std::path::Path;
use std::time::Duration;

const SECRET: &str = "an approvals test secret: 32 bytes at least";
const PUBLIC: &str = "https://flow.example.jp";

const PROJECT: &str = r#"
timezone "Asia/Tokyo"
record user {
  name: text
  email: text
}
record opportunity {
  name: text
  amount: int
  status: text
  close_date: date?
  owner: user
}
sender {
  from: "株式会社サンプル <sales@example.jp>"
  postal_address: "〒100-0001 東京都千代田区千代田1-1"
}
rule big_deal
  when opportunity is created
  require approval from opportunity.owner
    on reject
      set opportunity.status = "rejected"
    end
  set opportunity.status = "approved"
end
"#;

const ROWS: &str = r#"INSERT INTO "user" (id, name, email) VALUES
    (1, '田中', 'tanaka@example.jp'), (2, '佐藤', 'sato@example.jp');
  INSERT INTO opportunity (id, name, amount, status, close_date, owner) VALUES
    (48, '<script>alert(1)</script>', 12000000, 'open', '2025-05-01', 1);
  INSERT INTO opportunity (id, name, amount, status, close_date, owner) VALUES
    (49, '小型案件', 300000, 'open', NULL, 2);"#;

impl Db<'_> {
    /// Each approval as `opportunity status decided_by | note`, by
    /// opportunity (line breaks in the note as `⏎`).
    fn approvals(&self) -> Vec<String> {
        let newline = match self {
            Db::Sqlite(_) => "char(10)",
            Db::Pg(..) => "chr(10)",
        };
        self.rows(&format!(
            "SELECT r.subject_id || ' ' || a.status || ' ' || coalesce(a.decided_by, '-') || ' | ' \
             || replace(coalesce(a.note, '-'), {newline}, '⏎') \
             FROM {{s}}flow_approvals a JOIN {{s}}flow_runs r ON r.id = a.run_id ORDER BY r.subject_id",
        ))
    }

    /// Each run's status, by opportunity.
    fn runs(&self) -> Vec<String> {
        self.rows("SELECT status FROM {s}flow_runs ORDER BY subject_id")
    }

    fn status(&self, opportunity: i64) -> String {
        self.rows(&format!(
            "SELECT status FROM opportunity WHERE id = {opportunity}"
        ))
        .concat()
    }
}

/// One approval email as received.
#[derive(Debug)]
struct Mail {
    headers: Vec<(String, String)>,
    text: String,
    html: String,
}

impl Mail {
    fn read(eml: &Path) -> Mail {
        let m = parse(eml);
        assert_eq!(m["type"], "multipart/alternative", "{m}");
        let parts = m["parts"].as_array().expect("parts");
        assert_eq!(parts.len(), 2, "{m}");
        assert_eq!(
            (&parts[0][0], &parts[1][0]),
            (&"text/plain".into(), &"text/html".into())
        );
        let part = |i: usize| {
            parts[i][2]
                .as_str()
                .expect("a text part")
                .replace("\r\n", "\n")
        };
        let headers = m["headers"]
            .as_array()
            .expect("headers")
            .iter()
            .map(|h| {
                (
                    h[0].as_str().unwrap_or_default().to_string(),
                    h[1].as_str().unwrap_or_default().to_string(),
                )
            })
            .collect();
        Mail {
            headers,
            text: part(0),
            html: part(1),
        }
    }

    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The token of the one `PUBLIC/a/TOKEN` link (in both parts).
    fn token(&self) -> String {
        let prefix = format!("{PUBLIC}/a/");
        let tokens = link_tokens(&self.text, &prefix);
        assert_eq!(tokens.len(), 1, "{}", self.text);
        assert_eq!(link_tokens(&self.html, &prefix), tokens, "{}", self.html);
        tokens[0].clone()
    }
}

/// The approval emails in `dir` (`.eml` files), by recipient.
fn mails(dir: &Path) -> Vec<Mail> {
    let mut found: Vec<Mail> = std::fs::read_dir(dir)
        .map(|d| {
            d.filter_map(|e| e.ok().map(|e| e.path()))
                .collect::<Vec<_>>()
        })
        .unwrap_or_default()
        .iter()
        .filter(|p| p.extension().is_some_and(|e| e == "eml"))
        .map(|p| Mail::read(p))
        .collect();
    found.sort_by(|a, b| a.header("To").cmp(&b.header("To")));
    found
}

/// The project run on `db` with `--public-url` and `--mail-dir mail`:
/// two opportunities wait for their owners' approval (#48, named
/// `<script>…`, for 田中; #49 for 佐藤). Their emails, 佐藤's first.
fn prepare(world: &World, db: &Db) -> Vec<Mail> {
    let db_arg = db.arg();
    if let Db::Pg(..) = db {
        world.ok(&["schema", "--db", &db_arg, "--create", "rules"]);
    }
    // The first run installs change capture.
    world.ok(&["run", "--db", &db_arg, "rules", "--now", "2025-04-01T08:00"]);
    db.sql(ROWS);
    let mail_dir = world.path("mail");
    let out = world.flowc_env(
        &[
            "run",
            "--db",
            &db_arg,
            "rules",
            "--now",
            "2025-04-01T09:00",
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
    assert_eq!(found[0].header("To"), Some("sato@example.jp"));
    assert_eq!(found[1].header("To"), Some("tanaka@example.jp"));
    found
}

/// Starts `flowc serve` on `db` (a free port, the engine looking for work
/// every second), waiting until it listens.
fn serve(world: &World, db: &Db) -> Served {
    let mail_dir = world.path("mail").to_string_lossy().into_owned();
    Served::start(serve::command(
        world,
        db,
        &[
            "--public-url",
            PUBLIC,
            "--mail-dir",
            &mail_dir,
            "--interval",
            "1",
        ],
        &[("FLOWC_SECRET", SECRET)],
    ))
}

/// The value of the page's hidden `check` field.
fn check_field(page: &str) -> String {
    let at = page
        .find("name=\"check\" value=\"")
        .unwrap_or_else(|| panic!("no check field in {page}"));
    let rest = &page[at + "name=\"check\" value=\"".len()..];
    rest[..rest.find('"').expect("the value's end")].to_string()
}

fn secret() -> Secret {
    Secret::new(SECRET).expect("a secret")
}

/// `token` with its `i`-th character changed.
fn altered(token: &str, i: usize) -> String {
    let mut bytes = token.as_bytes().to_vec();
    bytes[i] = if bytes[i] == b'A' { b'B' } else { b'A' };
    String::from_utf8(bytes).expect("ascii")
}

#[test]
fn the_approval_email_is_transactional_and_lists_the_record() {
    let world = World::files(&[("main.flow", PROJECT)]);
    let db = Db::Sqlite(&world);
    let mails = prepare(&world, &db);
    let tanaka = &mails[1];
    assert!(
        tanaka
            .header("Subject")
            .is_some_and(|s| s.contains("Approval requested") && s.contains("opportunity #48")),
        "{:?}",
        tanaka.headers
    );
    assert_eq!(
        tanaka.header("From"),
        Some("株式会社サンプル <sales@example.jp>")
    );
    // Transactional: no opt-out, no footer, nothing tracked.
    assert_eq!(tanaka.header("List-Unsubscribe"), None);
    assert_eq!(tanaka.header("List-Unsubscribe-Post"), None);
    for part in [&tanaka.text, &tanaka.html] {
        assert!(!part.contains("/o/") && !part.contains("/c/"), "{part}");
        assert!(!part.contains("〒100-0001"), "{part}");
    }
    // Every field by name, formatted; the owner by name.
    assert!(
        tanaka.text.starts_with("田中 様 / Dear 田中,"),
        "{}",
        tanaka.text
    );
    for line in [
        "  name: <script>alert(1)</script>\n",
        "  amount: 12,000,000円\n",
        "  status: open\n",
        "  close_date: 2025-05-01\n",
        "  owner: 田中 (user #1)\n",
    ] {
        assert!(tanaka.text.contains(line), "{line:?} in {}", tanaka.text);
    }
    assert!(
        mails[0].text.contains("  close_date: —\n"),
        "{}",
        mails[0].text
    );
    // Escaped in HTML.
    assert!(!tanaka.html.contains("<script>"), "{}", tanaka.html);
    assert!(
        tanaka
            .html
            .contains("<td>&lt;script&gt;alert(1)&lt;/script&gt;</td>"),
        "{}",
        tanaka.html
    );
    assert!(
        tanaka.html.contains("<td>12,000,000円</td>"),
        "{}",
        tanaka.html
    );
    // The link names 田中's approval and its run.
    let payload =
        token::verify(&secret(), Purpose::Approval, &tanaka.token()).expect("an approval token");
    let (approval, run) = token::split_approval(&payload).expect("an approval payload");
    assert_eq!(
        world.strings(&format!(
            "SELECT approver_tbl || ' ' || approver_id || ' ' || status FROM flow_approvals \
             WHERE id = {approval} AND run_id = {run}"
        )),
        ["user 1 pending"]
    );
    // Queued once per run and step, as the approval email, and logged.
    assert_eq!(
        world.strings(
            "SELECT kind || ' ' || template || ' ' || to_addr || ' ' || status FROM flow_outbox ORDER BY id"
        ),
        [
            "approval approval_request tanaka@example.jp sent",
            "approval approval_request sato@example.jp sent"
        ]
    );
    assert_eq!(
        world.count("SELECT count(*) FROM flow_log WHERE action = 'queued' AND detail LIKE 'approval email #%'"),
        2
    );
    // Another run changes nothing: each email is queued once.
    world.run(&["--now", "2025-04-01T10:00"]);
    assert_eq!(world.count("SELECT count(*) FROM flow_outbox"), 2);
}

/// GET, POST approve and reject, a second POST, forged tokens; the runs
/// go on. `db` holds the prepared project.
fn decide_from_the_links(world: &World, db: &Db) {
    let mails = prepare(world, db);
    let (sato, tanaka) = (mails[0].token(), mails[1].token());
    let served = serve(world, db);

    // GET shows the approval and the record, escaped, and decides nothing.
    let page = served.get(&format!("/a/{tanaka}"));
    assert_eq!(page.status, 200, "{}", page.body);
    for shown in [
        "big_deal",
        "2025-04-01 09:00",
        "田中 (tanaka@example.jp)",
        "opportunity #48",
        "<th>amount</th><td>12,000,000円</td>",
        "<td>&lt;script&gt;alert(1)&lt;/script&gt;</td>",
        "<form method=\"post\"",
        "name=\"comment\"",
        "value=\"approve\"",
        "value=\"reject\"",
    ] {
        assert!(page.body.contains(shown), "{shown:?} in {}", page.body);
    }
    assert!(!page.body.contains("<script>"), "{}", page.body);
    let check = check_field(&page.body);
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(db.approvals()[0], "48 pending - | -");
    assert_eq!(db.status(48), "open");

    // Not valid: 404 on GET and POST, and nothing changes.
    let (approval, run) = token::split_approval(
        &token::verify(&secret(), Purpose::Approval, &tanaka).expect("valid"),
    )
    .expect("payload");
    let payload = token::approval_payload(approval, run);
    for bad in [
        altered(&tanaka, 3),
        tanaka[..tanaka.len() - 2].to_string(),
        check.clone(),
        token::make(&secret(), Purpose::Unsubscribe, &payload),
        token::make(&secret(), Purpose::Open, &payload),
        token::make(
            &secret(),
            Purpose::Approval,
            &token::approval_payload(approval, run + 100),
        ),
        token::make(
            &secret(),
            Purpose::Approval,
            &token::approval_payload(999, run),
        ),
        token::make(
            &Secret::new("another secret of enough length, surely").expect("secret"),
            Purpose::Approval,
            &payload,
        ),
    ] {
        assert_eq!(served.get(&format!("/a/{bad}")).status, 404, "{bad}");
        let a = served.post_form(
            &format!("/a/{bad}"),
            &[("decision", "approve"), ("check", &check)],
        );
        assert_eq!(a.status, 404, "{bad}: {}", a.body);
    }
    // A form without the page's check (from another site), or with
    // another approval's: refused.
    for fields in [
        vec![("decision", "approve")],
        vec![("decision", "approve"), ("check", "x")],
        vec![("decision", "approve"), ("check", &tanaka)],
    ] {
        assert_eq!(
            served.post_form(&format!("/a/{tanaka}"), &fields).status,
            403
        );
    }
    let sato_check = check_field(&served.get(&format!("/a/{sato}")).body);
    let crossed = served.post_form(
        &format!("/a/{tanaka}"),
        &[("decision", "approve"), ("check", &sato_check)],
    );
    assert_eq!(crossed.status, 403, "{}", crossed.body);
    let bad = served.post_form(
        &format!("/a/{tanaka}"),
        &[("decision", "maybe"), ("check", &check)],
    );
    assert_eq!(bad.status, 400, "{}", bad.body);
    assert_eq!(db.approvals()[0], "48 pending - | -");

    // Approve with a comment: recorded with who and when; the run goes on.
    let comment = "OK です <b>& go</b>\n二行目";
    let done = served.post_form(
        &format!("/a/{tanaka}"),
        &[
            ("decision", "approve"),
            ("comment", comment),
            ("check", &check),
        ],
    );
    assert_eq!(done.status, 200, "{}", done.body);
    assert!(
        done.body.contains("承認されました / Approved"),
        "{}",
        done.body
    );
    assert_eq!(
        db.approvals()[0],
        "48 approved 田中 <tanaka@example.jp> (user #1) | OK です <b>& go</b>⏎二行目"
    );
    wait_until("the approved run set the status", || {
        db.status(48) == "approved"
    });
    assert_eq!(db.runs(), ["done", "waiting"]);
    // The link now shows the decision: who, when, the comment; no form.
    let decided = served.get(&format!("/a/{tanaka}"));
    assert_eq!(decided.status, 200);
    for shown in [
        "承認されました / Approved",
        "<td class=\"decided-by\">田中 &lt;tanaka@example.jp&gt; (user #1)</td>",
        "<td class=\"comment\">OK です &lt;b&gt;&amp; go&lt;/b&gt;\n二行目</td>",
        "<td class=\"decided-at\">",
    ] {
        assert!(
            decided.body.contains(shown),
            "{shown:?} in {}",
            decided.body
        );
    }
    assert!(!decided.body.contains("<form"), "{}", decided.body);
    // A second POST changes nothing.
    let again = served.post_form(
        &format!("/a/{tanaka}"),
        &[("decision", "reject"), ("comment", "no"), ("check", &check)],
    );
    assert_eq!(again.status, 409, "{}", again.body);
    assert!(
        again.body.contains("承認されました / Approved"),
        "{}",
        again.body
    );
    assert_eq!(
        db.approvals()[0],
        "48 approved 田中 <tanaka@example.jp> (user #1) | OK です <b>& go</b>⏎二行目"
    );

    // Reject without a comment: the run's `on reject` runs.
    let done = served.post_form(
        &format!("/a/{sato}"),
        &[
            ("decision", "reject"),
            ("comment", "  "),
            ("check", &sato_check),
        ],
    );
    assert_eq!(done.status, 200, "{}", done.body);
    assert!(
        done.body.contains("却下されました / Rejected"),
        "{}",
        done.body
    );
    assert_eq!(
        db.approvals()[1],
        "49 rejected 佐藤 <sato@example.jp> (user #2) | -"
    );
    wait_until("the rejected run's `on reject` set the status", || {
        db.status(49) == "rejected"
    });
    wait_until("the rejected run ended as rejected", || {
        db.runs() == ["done", "rejected"]
    });
    assert_eq!(db.status(48), "approved");
}

#[test]
fn an_approval_is_decided_from_its_link() {
    let world = World::files(&[("main.flow", PROJECT)]);
    decide_from_the_links(&world, &Db::Sqlite(&world));
}

#[test]
fn an_approval_is_decided_from_its_link_on_postgres() {
    let Some(server) = pg::shared("an_approval_is_decided_from_its_link_on_postgres") else {
        return;
    };
    let world = World::files(&[("main.flow", PROJECT)]);
    let url = server.create_database("approvals_by_email");
    decide_from_the_links(&world, &Db::Pg(server, url));
}

/// Without `--public-url` the email names the command that decides; over
/// SMTP as into the folder.
#[test]
fn without_a_public_url_the_email_names_the_command_and_goes_by_smtp() {
    let world = World::files(&[("main.flow", PROJECT)]);
    let dir = world.path("smtp");
    let server = smtp::Server::start(&dir);
    world.run(&["--now", "2025-04-01T08:00"]);
    world.sql(ROWS);
    world.run(&["--now", "2025-04-01T09:00", "--smtp", &server.url()]);
    let messages = server.messages();
    assert_eq!(messages.len(), 2, "{messages:?}");
    let tanaka = messages
        .iter()
        .find(|m| {
            m["to"]
                .as_str()
                .is_some_and(|t| t.contains("tanaka@example.jp"))
        })
        .expect("田中's email");
    let mail = Mail::read(&server.raw(tanaka));
    assert_eq!(mail.header("List-Unsubscribe"), None);
    assert!(!mail.text.contains("/a/"), "{}", mail.text);
    assert!(
        mail.text
            .contains("flowc approvals --db DATABASE approve 1\n"),
        "{}",
        mail.text
    );
    assert!(
        mail.text.contains("  amount: 12,000,000円\n"),
        "{}",
        mail.text
    );
    assert!(
        mail.html
            .contains("flowc approvals --db DATABASE approve 1"),
        "{}",
        mail.html
    );
}

/// A project template `approval_request` replaces the built-in email: its
/// placeholders read the run's record and the approver (`recipient`), and
/// `{{approval_url}}` is the link; elsewhere `{{approval_url}}` is an error.
#[test]
fn a_project_template_replaces_the_built_in_email() {
    let template = r#"
template approval_request transactional {
  subject: "承認: {{opportunity.name}} ({{opportunity.amount | yen}})"
  text: "{{recipient.name}} さん、{{opportunity.name}} を承認してください: {{approval_url}}"
  html: "<p>{{recipient.name}} さん <a href=\"{{approval_url}}\">{{opportunity.name}}</a></p>"
}
"#;
    let world = World::files(&[("main.flow", PROJECT), ("approval.flow", template)]);
    world.run(&["--now", "2025-04-01T08:00"]);
    world.sql(ROWS);
    let mail_dir = world.path("mail");
    let out = world.flowc_env(
        &[
            "run",
            "--db",
            "crm.sqlite",
            "rules",
            "--now",
            "2025-04-01T09:00",
            "--public-url",
            PUBLIC,
            "--mail-dir",
            &mail_dir.to_string_lossy(),
        ],
        &[("FLOWC_SECRET", SECRET)],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let mails = mails(&mail_dir);
    let tanaka = &mails[1];
    assert_eq!(
        tanaka.header("Subject"),
        Some("承認: <script>alert(1)</script> (12,000,000円)")
    );
    let token = tanaka.token();
    assert_eq!(
        tanaka.text.trim_end(),
        format!("田中 さん、<script>alert(1)</script> を承認してください: {PUBLIC}/a/{token}")
    );
    assert_eq!(
        tanaka.html.trim_end(),
        format!(
            "<p>田中 さん <a href=\"{PUBLIC}/a/{token}\">&lt;script&gt;alert(1)&lt;/script&gt;</a></p>"
        )
    );
    assert_eq!(tanaka.header("List-Unsubscribe"), None);
    assert!(token::verify(&secret(), Purpose::Approval, &token).is_some());

    // `{{approval_url}}` in a template another step sends: E0401.
    std::fs::create_dir_all(world.path("misuse")).expect("mkdir");
    std::fs::write(
        world.path("misuse/main.flow"),
        r#"
record contact {
  name: text
  email: text
}
template hello transactional {
  subject: "Hello"
  text: "Decide here: {{approval_url}}"
}
rule welcome
  when contact is created
  send email hello to contact
end
"#,
    )
    .expect("write");
    let out = world.flowc(&["check", "misuse"]);
    assert!(!out.status.success());
    let said = text(&out.stderr) + &text(&out.stdout);
    assert!(said.contains("E0401"), "{said}");
    assert!(
        said.contains("names `approval_url`, which only the `approval_request` template has"),
        "{said}"
    );
}

/// `flowc approvals list` names the record by its key fields and the
/// approver by name and address, on both backends alike.
#[test]
fn approvals_list_names_the_record_and_the_approver() {
    let expected = "1  big_deal  opportunity #48 \"<script>alert(1)</script>\" 12,000,000円 — approver 田中 (tanaka@example.jp), requested 2025-04-01 09:00\n\
                    2  big_deal  opportunity #49 \"小型案件\" 300,000円 — approver 佐藤 (sato@example.jp), requested 2025-04-01 09:00\n";
    let world = World::files(&[("main.flow", PROJECT)]);
    prepare(&world, &Db::Sqlite(&world));
    assert_eq!(world.ok(&["approvals", "--db", "crm.sqlite"]), expected);
    assert_eq!(
        world.ok(&["approvals", "--db", "crm.sqlite", "list"]),
        expected
    );
    // A decision from the command line records who made it.
    let out = world.flowc_env(
        &[
            "approvals",
            "--db",
            "crm.sqlite",
            "approve",
            "1",
            "--note",
            "OK",
        ],
        &[("USER", "bucho")],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(
        Db::Sqlite(&world).approvals()[0],
        "48 approved flowc approvals (user bucho) | OK"
    );

    let Some(server) = pg::shared("approvals_list_names_the_record_and_the_approver") else {
        return;
    };
    let world = World::files(&[("main.flow", PROJECT)]);
    let url = server.create_database("approvals_list");
    prepare(&world, &Db::Pg(server, url.clone()));
    assert_eq!(world.ok(&["approvals", "--db", &url]), expected);
}
