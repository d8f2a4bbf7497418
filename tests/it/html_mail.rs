//! HTML mail and the opt-out of DESIGN.md §8 through the built `flowc` and
//! a real SMTP server: a template with `html` arrives multipart/alternative
//! (text, then HTML) with its values escaped only in the HTML; marketing
//! mail carries `List-Unsubscribe` (and, with `--public-url`, the one-click
//! link and `List-Unsubscribe-Post`) and the sender's footer in every part,
//! unless the template places `{{unsubscribe_url}}`; transactional mail
//! carries neither. `--public-url` without `FLOWC_SECRET` is refused.

use crate::support::eml::parse;
use crate::support::smtp;
use crate::support::world::{World, text};

const PROJECT: &str = r#"
timezone "Asia/Tokyo"
record contact {
  name: text
  email: text
  amount: decimal
}
sender {
  from: "株式会社サンプル 営業部 <sales@example.jp>"
  reply_to: "optout@example.jp"
  postal_address: "〒100-0001 東京都千代田区千代田1-1"
}
template offer {
  subject: "{{contact.name}} 様へのご案内"
  text: "{{contact.name}} 様\nお見積り: {{contact.amount | yen}}"
  html: "<html><body><p>{{contact.name}} 様</p><p>{{contact.amount | yen}}</p></body></html>"
}
template own_footer {
  subject: "Own footer"
  text: "Hi {{contact.name}}. Stop: {{unsubscribe_url}}"
  html: "<p>Stop: <a href=\"{{unsubscribe_url}}\">here</a></p>"
}
template receipt transactional {
  subject: "Receipt"
  text: "Thank you {{contact.name}}"
  html: "<p>Thank you {{contact.name}}</p>"
}
rule welcome
  when contact is created
  send email offer to contact
  send email own_footer to contact
  send email receipt to contact
end
"#;

const SECRET: &str = "a test secret of enough length";

fn header(m: &serde_json::Value, name: &str) -> Option<String> {
    m["headers"].as_array()?.iter().find_map(|h| {
        (h[0].as_str()?.eq_ignore_ascii_case(name)).then(|| h[1].as_str().unwrap_or("").to_string())
    })
}

/// Runs the project for one contact named `<b>&"` through a real SMTP
/// server; the parsed messages by subject.
fn deliver(extra_env: &[(&str, &str)], extra: &[&str]) -> Vec<(String, serde_json::Value)> {
    let world = World::files(&[("main.flow", PROJECT)]);
    let dir = world.path("smtp");
    let server = smtp::Server::start(&dir);
    world.run(&["--now", "2025-01-01T09:00"]);
    world.sql(
        "INSERT INTO contact (id, name, email, amount) VALUES (1, '<b>&\"', 'c1@example.jp', 1234567)",
    );
    let mut args = vec![
        "run",
        "--db",
        "crm.sqlite",
        "rules",
        "--now",
        "2025-01-01T10:00",
        "--smtp",
    ];
    let url = server.url();
    args.push(&url);
    args.extend_from_slice(extra);
    let out = world.flowc_env(&args, extra_env);
    assert!(
        out.status.success(),
        "{}\n{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    let mut messages: Vec<(String, serde_json::Value)> = server
        .messages()
        .iter()
        .map(|m| {
            (
                m["subject"].as_str().unwrap_or("").to_string(),
                parse(&server.raw(m)),
            )
        })
        .collect();
    messages.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(messages.len(), 3, "{messages:?}");
    messages
}

fn find<'a>(messages: &'a [(String, serde_json::Value)], subject: &str) -> &'a serde_json::Value {
    &messages
        .iter()
        .find(|(s, _)| s.contains(subject))
        .unwrap_or_else(|| panic!("no message {subject:?} in {messages:?}"))
        .1
}

/// `(text, html)` of a multipart/alternative message, checked to be that,
/// text first, both UTF-8.
fn alternative(m: &serde_json::Value) -> (String, String) {
    assert_eq!(m["type"], "multipart/alternative", "{m}");
    let parts = m["parts"].as_array().expect("parts");
    assert_eq!(parts.len(), 2, "{m}");
    assert_eq!(parts[0][0], "text/plain");
    assert_eq!(parts[1][0], "text/html");
    assert_eq!(parts[0][1], "utf-8");
    assert_eq!(parts[1][1], "utf-8");
    let content = |i: usize| parts[i][2].as_str().unwrap().replace("\r\n", "\n");
    (content(0), content(1))
}

#[test]
fn html_mail_is_multipart_and_marketing_mail_can_be_opted_out_of_by_reply() {
    let messages = deliver(&[], &[]);
    let offer = find(&messages, "様へのご案内");
    let (plain, html) = alternative(offer);
    // Values raw in the text, escaped in the HTML; formats in both.
    assert!(
        plain.starts_with("<b>&\" 様\nお見積り: 1,234,567円"),
        "{plain}"
    );
    assert!(
        html.contains("<p>&lt;b&gt;&amp;&quot; 様</p><p>1,234,567円</p>"),
        "{html}"
    );
    assert!(!html.contains("<b>&"), "{html}");
    // The footer, in every part, after the content (before </body>).
    for part in [&plain, &html] {
        assert!(part.contains("株式会社サンプル 営業部"), "{part}");
        assert!(
            part.contains("〒100-0001 東京都千代田区千代田1-1"),
            "{part}"
        );
        assert!(part.contains("「unsubscribe」"), "{part}");
        assert!(part.contains("optout@example.jp"), "{part}");
    }
    assert!(
        plain.find("1,234,567円").unwrap() < plain.find("〒100-0001").unwrap(),
        "{plain}"
    );
    let footer_at = html.find("〒100-0001").unwrap();
    assert!(html.find("1,234,567円").unwrap() < footer_at, "{html}");
    assert!(footer_at < html.find("</body>").unwrap(), "{html}");
    assert_eq!(
        header(offer, "List-Unsubscribe").as_deref(),
        Some("<mailto:optout@example.jp?subject=unsubscribe>")
    );
    assert_eq!(header(offer, "List-Unsubscribe-Post"), None);

    // A template that places {{unsubscribe_url}} gets no footer.
    let own = find(&messages, "Own footer");
    let (plain, html) = alternative(own);
    assert_eq!(
        plain.trim_end(),
        "Hi <b>&\". Stop: mailto:optout@example.jp?subject=unsubscribe"
    );
    assert!(!html.contains("〒100-0001"), "{html}");
    assert!(header(own, "List-Unsubscribe").is_some());

    // Transactional: HTML, but no footer and no List-Unsubscribe.
    let receipt = find(&messages, "Receipt");
    let (plain, html) = alternative(receipt);
    assert_eq!(plain.trim_end(), "Thank you <b>&\"");
    assert_eq!(html.trim_end(), "<p>Thank you &lt;b&gt;&amp;&quot;</p>");
    assert_eq!(header(receipt, "List-Unsubscribe"), None);
    assert_eq!(header(receipt, "List-Unsubscribe-Post"), None);
}

#[test]
fn with_a_public_url_marketing_mail_has_one_click_opt_out() {
    let messages = deliver(
        &[("FLOWC_SECRET", SECRET)],
        &["--public-url", "https://mail.example.jp/"],
    );
    let offer = find(&messages, "様へのご案内");
    let list = header(offer, "List-Unsubscribe").expect("List-Unsubscribe");
    let (link, mailto) = list.split_once(", ").expect("two URIs");
    assert_eq!(mailto, "<mailto:optout@example.jp?subject=unsubscribe>");
    let link = link
        .strip_prefix("<https://mail.example.jp/u/")
        .and_then(|l| l.strip_suffix('>'))
        .unwrap_or_else(|| panic!("{list}"));
    assert!(
        link.len() <= 64
            && link
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'),
        "{link}"
    );
    assert_eq!(
        header(offer, "List-Unsubscribe-Post").as_deref(),
        Some("List-Unsubscribe=One-Click")
    );
    let url = format!("https://mail.example.jp/u/{link}");
    let (plain, html) = alternative(offer);
    assert!(plain.contains(&url), "{plain}");
    assert!(html.contains(&format!("<a href=\"{url}\">")), "{html}");
    assert!(plain.contains("〒100-0001"), "{plain}");
    // The secret is never in the mail.
    assert!(!plain.contains(SECRET) && !html.contains(SECRET));

    // {{unsubscribe_url}} is the link; each message has its own.
    let own = find(&messages, "Own footer");
    let (plain, _) = alternative(own);
    let own_link = plain.trim_end().rsplit(' ').next().unwrap().to_string();
    assert!(
        own_link.starts_with("https://mail.example.jp/u/"),
        "{plain}"
    );
    assert_ne!(own_link, url);
    let receipt = find(&messages, "Receipt");
    assert_eq!(header(receipt, "List-Unsubscribe"), None);
    assert_eq!(header(receipt, "List-Unsubscribe-Post"), None);
}

#[test]
fn a_public_url_needs_the_secret() {
    let world = World::files(&[("main.flow", PROJECT)]);
    let out = world.flowc(&[
        "run",
        "--db",
        "crm.sqlite",
        "rules",
        "--public-url",
        "https://mail.example.jp",
    ]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    let stderr = text(&out.stderr);
    assert!(stderr.contains("FLOWC_SECRET"), "{stderr}");
    let out = world.flowc_env(
        &[
            "run",
            "--db",
            "crm.sqlite",
            "rules",
            "--public-url",
            "https://mail.example.jp",
        ],
        &[("FLOWC_SECRET", "short-secret")],
    );
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("too short") && !stderr.contains("short-secret"),
        "{stderr}"
    );
}
