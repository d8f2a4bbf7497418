//! Per-message engagement (DESIGN.md §8) through the built `flowc`: with
//! `--public-url`, marketing mail arrives at a real SMTP server with its
//! links rewritten to signed tracking links and a 1×1 open image, while
//! the opt-out link and transactional mail are left alone; the outbox
//! keeps the original URLs and the recipient record. Two runs that sent
//! the same template to one contact are each ended only by the open (or
//! click) of their own message.

use crate::support::smtp;
use crate::support::world::{World, text};

const SECRET: &str = "a test secret of enough length";
const PUBLIC: &str = "https://flow.example.jp";

const MAIL: &str = r#"
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
  subject: "Offer"
  text: "{{contact.name}} 様: https://example.jp/seminar?a=1&b=2 をご覧ください。"
  html: "<html><body><p><a href=\"https://example.jp/seminar?a=1&amp;b=2\">{{contact.name}} 様</a></p><a href='mailto:sales@example.jp'>mail</a></body></html>"
}
template receipt transactional {
  subject: "Receipt"
  text: "Details: https://example.jp/receipt"
  html: "<p><a href=\"https://example.jp/receipt\">details</a></p>"
}
rule welcome
  when contact is created
  send email offer to contact
  send email receipt to contact
end
"#;

#[test]
fn marketing_mail_is_tracked_and_transactional_mail_is_not() {
    let world = World::files(&[("main.flow", MAIL)]);
    let server = smtp::Server::start(&world.path("smtp"));
    world.run(&["--now", "2025-01-01T09:00"]);
    world.sql("INSERT INTO contact (id, name, email) VALUES (1, '山田', 'c1@example.jp')");
    let url = server.url();
    let out = world.flowc_env(
        &[
            "run",
            "--db",
            "crm.sqlite",
            "rules",
            "--now",
            "2025-01-01T10:00",
            "--smtp",
            &url,
            "--public-url",
            PUBLIC,
        ],
        &[("FLOWC_SECRET", SECRET)],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let messages = server.messages();
    let raw = |subject: &str| {
        let m = messages
            .iter()
            .find(|m| m["subject"] == subject)
            .unwrap_or_else(|| panic!("no {subject}: {messages:?}"));
        let bytes = std::fs::read(server.raw(m)).expect("message");
        // Quoted-printable soft breaks and `=3D` undone, enough to read links.
        String::from_utf8_lossy(&bytes)
            .replace("=\r\n", "")
            .replace("=\n", "")
            .replace("=3D", "=")
    };
    let offer = raw("Offer");
    assert!(
        !offer.contains("https://example.jp/seminar"),
        "the original link is replaced in both parts:\n{offer}"
    );
    let clicks = offer.matches(&format!("{PUBLIC}/c/")).count();
    assert!(clicks >= 2, "a tracked link in text and in HTML:\n{offer}");
    assert_eq!(
        offer.matches(&format!("<img src=\"{PUBLIC}/o/")).count(),
        1,
        "one open image:\n{offer}"
    );
    assert!(offer.contains("href='mailto:sales@example.jp'"), "{offer}");
    assert!(
        offer.contains(&format!("{PUBLIC}/u/")),
        "the opt-out link is kept as it is:\n{offer}"
    );
    let receipt = raw("Receipt");
    assert!(receipt.contains("https://example.jp/receipt"), "{receipt}");
    assert!(!receipt.contains(&format!("{PUBLIC}/c/")), "{receipt}");
    assert!(!receipt.contains(&format!("{PUBLIC}/o/")), "{receipt}");
    // The outbox keeps the original URL and where an open is recorded.
    assert_eq!(
        world.strings(
            "SELECT links || ' ' || recipient_tbl || ':' || recipient_id FROM flow_outbox \
             WHERE template = 'offer'"
        ),
        vec![r#"["https://example.jp/seminar?a=1&b=2"] contact:1"#]
    );
    assert_eq!(
        world
            .count("SELECT count(*) FROM flow_outbox WHERE template = 'receipt' AND links IS NULL"),
        1
    );
}

/// Two registrations of one contact, each followed up unless the contact
/// opens that registration's message.
const FOLLOW_UP: &str = r#"
timezone "Asia/Tokyo"
record contact {
  name: text
  email: text
}
record registration {
  contact: contact
  seminar: text
}
sender {
  from: "Seminars <seminars@example.jp>"
  postal_address: "〒100-0001 東京都千代田区千代田1-1"
}
template invitation {
  subject: "{{registration.seminar}}"
  text: "See you at {{registration.seminar}}"
}
rule follow_up
  when registration is created
  send email invitation to registration.contact
  wait 7d unless registration.contact opened invitation
  send email invitation to registration.contact
end
"#;

/// The world after two registrations (ids 1 and 2) of contact 1 were
/// processed on 2025-01-01: two invitations queued, two runs waiting.
fn two_registrations() -> World {
    let world = World::files(&[("main.flow", FOLLOW_UP)]);
    world.run(&["--now", "2025-01-01T09:00"]);
    world.sql(
        "INSERT INTO contact (id, name, email) VALUES (1, 'A', 'a@example.jp');
         INSERT INTO registration (id, contact, seminar) VALUES (1, 1, 'Tokyo'), (2, 1, 'Osaka');",
    );
    world.run(&["--now", "2025-01-01T10:00"]);
    assert_eq!(
        world.count("SELECT count(*) FROM flow_runs WHERE status = 'waiting'"),
        2
    );
    world
}

/// The Message-ID (without angle brackets) of the invitation sent for
/// `seminar`.
fn message_of(world: &World, seminar: &str) -> String {
    let ids = world.strings(&format!(
        "SELECT trim(message_id, '<>') FROM flow_outbox WHERE subject = '{seminar}'"
    ));
    assert_eq!(ids.len(), 1, "{ids:?}");
    ids[0].clone()
}

/// How many invitations each seminar got, after the week has passed.
fn invitations_after_a_week(world: &World) -> Vec<String> {
    world.run(&["--now", "2025-01-09T10:00"]);
    world.strings(
        "SELECT subject || ' ' || count(*) FROM flow_outbox GROUP BY subject ORDER BY subject",
    )
}

#[test]
fn an_open_ends_only_the_run_that_sent_that_message() {
    let world = two_registrations();
    let tokyo = message_of(&world, "Tokyo");
    world.event(
        "email_opened",
        "contact:1",
        &format!(r#"{{"template": "invitation", "message": "{tokyo}"}}"#),
        Some("2025-01-02T10:00"),
    );
    world.run(&["--now", "2025-01-02T11:00"]);
    assert_eq!(
        world.count("SELECT count(*) FROM flow_runs WHERE status = 'waiting'"),
        1,
        "only Tokyo's run ended"
    );
    assert_eq!(
        invitations_after_a_week(&world),
        vec!["Osaka 2", "Tokyo 1"],
        "Osaka's invitation was not opened, so it is sent again"
    );
}

#[test]
fn a_click_is_an_open_of_its_own_message() {
    let world = two_registrations();
    let osaka = message_of(&world, "Osaka");
    world.event(
        "email_clicked",
        "contact:1",
        &format!(
            r#"{{"template": "invitation", "message": "{osaka}", "url": "https://example.jp/"}}"#
        ),
        Some("2025-01-02T10:00"),
    );
    assert_eq!(invitations_after_a_week(&world), vec!["Osaka 1", "Tokyo 2"]);
}

#[test]
fn an_event_naming_no_message_ends_every_wait_as_before() {
    let world = two_registrations();
    world.event(
        "email_opened",
        "contact:1",
        r#"{"template": "invitation"}"#,
        Some("2025-01-02T10:00"),
    );
    assert_eq!(invitations_after_a_week(&world), vec!["Osaka 1", "Tokyo 1"]);
}

#[test]
fn an_open_of_another_message_ends_nothing() {
    let world = two_registrations();
    world.event(
        "email_opened",
        "contact:1",
        r#"{"template": "invitation", "message": "1.elsewhere@example.jp"}"#,
        Some("2025-01-02T10:00"),
    );
    assert_eq!(invitations_after_a_week(&world), vec!["Osaka 2", "Tokyo 2"]);
}
