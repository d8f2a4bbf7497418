//! Engagement tracking in outgoing marketing mail (§8): with a public URL,
//! every http(s) link of the HTML part (`href`) and of the text part is
//! replaced by a tracked link `PUBLIC/c/TOKEN`, and the HTML part gets a
//! 1×1 image `PUBLIC/o/TOKEN`. The original URLs are kept with the message
//! (a click redirects only to one of them). flowc's own links (the opt-out
//! link above all) are never rewritten.

use super::format::escape_html;
use super::token::PublicLinks;

/// The most distinct links of one message that are tracked; any further
/// ones are left as they are.
pub const MAX_LINKS: usize = 1000;

/// The tracked parts of a message and the original URLs its tracked links
/// stand for (a click token carries the index into `links`).
#[derive(Debug, Default, PartialEq)]
pub struct Tracked {
    pub text: String,
    pub html: Option<String>,
    pub links: Vec<String>,
}

/// Rewrites the links of one message (run `run_id`, `message_id`) and adds
/// its open image.
pub fn track(
    public: &PublicLinks,
    run_id: i64,
    message_id: &str,
    text: &str,
    html: Option<&str>,
) -> Tracked {
    let mut links = Links {
        public,
        run_id,
        message_id,
        originals: Vec::new(),
    };
    let html = html.map(|html| {
        let mut html = rewrite_hrefs(html, &mut links);
        let image = format!(
            "<img src=\"{}\" width=\"1\" height=\"1\" alt=\"\" style=\"border:0;width:1px;height:1px\">\n",
            escape_html(&public.open(run_id, message_id))
        );
        match html.to_ascii_lowercase().rfind("</body>") {
            Some(at) => html.insert_str(at, &image),
            None => {
                if !html.is_empty() && !html.ends_with('\n') {
                    html.push('\n');
                }
                html.push_str(&image);
            }
        }
        html
    });
    let text = rewrite_text(text, &mut links);
    Tracked {
        text,
        html,
        links: links.originals,
    }
}

/// The links of one message, numbered in the order first seen.
struct Links<'a> {
    public: &'a PublicLinks,
    run_id: i64,
    message_id: &'a str,
    originals: Vec<String>,
}

impl Links<'_> {
    /// The tracked link standing for `url`, or `None` to leave it.
    fn tracked(&mut self, url: &str) -> Option<String> {
        if !is_web_url(url) || self.public.is_own(url) {
            return None;
        }
        let index = match self.originals.iter().position(|u| u == url) {
            Some(i) => i,
            None if self.originals.len() < MAX_LINKS => {
                self.originals.push(url.to_string());
                self.originals.len() - 1
            }
            None => return None,
        };
        let index = u16::try_from(index).ok()?;
        Some(self.public.click(self.run_id, self.message_id, index))
    }
}

fn is_web_url(url: &str) -> bool {
    let lower = url
        .get(..8)
        .map(str::to_ascii_lowercase)
        .unwrap_or_default();
    (lower.starts_with("http://") && url.len() > 7) || (lower == "https://" && url.len() > 8)
}

/// Replaces the value of every `href` attribute that is an http(s) URL.
fn rewrite_hrefs(html: &str, links: &mut Links) -> String {
    let mut out = String::with_capacity(html.len() + 256);
    let lower = html.to_ascii_lowercase();
    let mut rest = 0;
    let mut from = 0;
    while let Some(found) = lower[from..].find("href") {
        let at = from + found;
        from = at + 4;
        // An attribute name: after whitespace, not inside another name.
        let before = html[..at].chars().next_back();
        if !before.is_some_and(char::is_whitespace) {
            continue;
        }
        let Some((start, end)) = attribute_value(html, at + 4) else {
            continue;
        };
        let url = unescape_html(&html[start..end]);
        if let Some(tracked) = links.tracked(url.trim()) {
            out.push_str(&html[rest..start]);
            out.push_str(&escape_html(&tracked));
            rest = end;
        }
        from = end;
    }
    out.push_str(&html[rest..]);
    out
}

/// The byte range of the value of the attribute whose name ends at `at`:
/// `= "…"`, `= '…'` or an unquoted value.
fn attribute_value(html: &str, at: usize) -> Option<(usize, usize)> {
    let bytes = html.as_bytes();
    let mut i = at;
    while bytes.get(i).is_some_and(u8::is_ascii_whitespace) {
        i += 1;
    }
    if bytes.get(i) != Some(&b'=') {
        return None;
    }
    i += 1;
    while bytes.get(i).is_some_and(u8::is_ascii_whitespace) {
        i += 1;
    }
    match bytes.get(i)? {
        q @ (b'"' | b'\'') => {
            let start = i + 1;
            let len = html[start..].find(*q as char)?;
            Some((start, start + len))
        }
        _ => {
            let start = i;
            let len = html[start..]
                .find(|c: char| c.is_ascii_whitespace() || c == '>')
                .unwrap_or(html.len() - start);
            Some((start, start + len))
        }
    }
}

/// The few character references an attribute's URL may hold.
fn unescape_html(value: &str) -> String {
    if !value.contains('&') {
        return value.to_string();
    }
    value
        .replace("&quot;", "\"")
        .replace("&#34;", "\"")
        .replace("&#39;", "'")
        .replace("&#x27;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

/// Replaces every http(s) URL of plain text.
fn rewrite_text(text: &str, links: &mut Links) -> String {
    let mut out = String::with_capacity(text.len() + 128);
    let lower = text.to_ascii_lowercase();
    let mut rest = 0;
    let mut from = 0;
    while let Some(found) = lower[from..].find("http") {
        let start = from + found;
        from = start + 4;
        let before = text[..start].chars().next_back();
        if before.is_some_and(|c| c.is_ascii_alphanumeric() || c == '/' || c == '.') {
            continue;
        }
        let end = url_end(text, start);
        let url = &text[start..end];
        if let Some(tracked) = links.tracked(url) {
            out.push_str(&text[rest..start]);
            out.push_str(&tracked);
            rest = end;
        }
        from = end.max(from);
    }
    out.push_str(&text[rest..]);
    out
}

/// Where a URL starting at `start` ends: at whitespace, a character that
/// cannot be in a URL, or any non-ASCII character, less trailing
/// punctuation (and a `)` that closes nothing in the URL).
fn url_end(text: &str, start: usize) -> usize {
    let len = text[start..]
        .find(|c: char| {
            !c.is_ascii()
                || c.is_ascii_whitespace()
                || c.is_ascii_control()
                || "<>\"'`{}|\\^".contains(c)
        })
        .unwrap_or(text.len() - start);
    let mut url = &text[start..start + len];
    loop {
        let trimmed = url.trim_end_matches(['.', ',', ';', ':', '!', '?']);
        let trimmed = match trimmed.strip_suffix(')') {
            Some(t) if t.matches('(').count() <= t.matches(')').count() => t,
            _ => trimmed,
        };
        if trimmed.len() == url.len() {
            break;
        }
        url = trimmed;
    }
    start + url.len()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mail::token::{self, Purpose, Secret};

    fn public() -> PublicLinks {
        let secret = Secret::new("0123456789abcdef-test-secret").expect("secret");
        PublicLinks::new("https://flow.example.jp", secret).expect("url")
    }

    const ID: &str = "<7.send.0.abc@flowc>";

    /// The link index a tracked URL names, verified with the secret.
    fn index_of(url: &str) -> Option<u16> {
        let token = url.strip_prefix("https://flow.example.jp/c/")?;
        let payload = token::verify(public().secret(), Purpose::Click, token)?;
        let (key, link) = token::split_click(&payload)?;
        (token::message_key_names(key, ID) == Some(7)).then_some(link)
    }

    #[test]
    fn text_links_are_replaced_and_numbered_once_each() {
        let text = "見る: https://example.jp/a?x=1&y=2。 again (https://example.jp/a?x=1&y=2), \
                    then http://example.jp/b. Not: mailto:x@example.jp, xhttp://no";
        let t = track(&public(), 7, ID, text, None);
        assert_eq!(
            t.links,
            vec!["https://example.jp/a?x=1&y=2", "http://example.jp/b"]
        );
        let urls: Vec<&str> = t
            .text
            .split(|c: char| c.is_whitespace() || "(),。".contains(c))
            .filter(|w| w.starts_with("https://flow.example.jp/c/"))
            .map(|w| w.trim_end_matches('.'))
            .collect();
        assert_eq!(urls.len(), 3, "{}", t.text);
        assert_eq!(
            urls.iter().map(|u| index_of(u)).collect::<Vec<_>>(),
            vec![Some(0), Some(0), Some(1)]
        );
        assert!(t.text.contains("mailto:x@example.jp"));
        assert!(t.text.contains("xhttp://no"));
        assert!(!t.text.contains("example.jp/a"));
    }

    #[test]
    fn html_hrefs_are_replaced_unescaped_and_the_image_goes_before_body_end() {
        let html = "<html><body><a href=\"https://example.jp/p?a=1&amp;b=2\">商品</a>\
                    <a class=x HREF='http://example.jp/q'>q</a><a href=mailto:a@b.jp>m</a>\
                    <a href=\"https://flow.example.jp/u/TOKEN\">配信停止</a>\
                    <p>https://example.jp/text-in-html</p></body></html>";
        let t = track(&public(), 7, ID, "", Some(html));
        let out = t.html.expect("html");
        assert_eq!(
            t.links,
            vec!["https://example.jp/p?a=1&b=2", "http://example.jp/q"]
        );
        assert!(out.contains("href=\"https://flow.example.jp/c/"), "{out}");
        assert!(out.contains("HREF='https://flow.example.jp/c/"), "{out}");
        assert!(out.contains("href=mailto:a@b.jp"));
        assert!(out.contains("href=\"https://flow.example.jp/u/TOKEN\""));
        assert!(out.contains("<p>https://example.jp/text-in-html</p>"));
        let image = out
            .find("<img src=\"https://flow.example.jp/o/")
            .expect("image");
        assert!(image < out.find("</body>").expect("body"));
        let token = out[image..]
            .split("/o/")
            .nth(1)
            .and_then(|r| r.split('"').next())
            .expect("token");
        let payload = token::verify(public().secret(), Purpose::Open, token).expect("open token");
        assert_eq!(token::message_key_names(&payload, ID), Some(7));
        assert!(token.len() <= 64);
    }

    #[test]
    fn a_message_without_links_only_gains_the_image() {
        let t = track(&public(), 7, ID, "こんにちは", Some("<p>やあ</p>"));
        assert_eq!(t.text, "こんにちは");
        assert!(t.links.is_empty());
        let html = t.html.expect("html");
        assert!(html.starts_with("<p>やあ</p>\n<img src=\"https://flow.example.jp/o/"));
    }

    #[test]
    fn url_ends_drop_trailing_punctuation_but_keep_balanced_parentheses() {
        fn end(s: &str) -> &str {
            &s[..url_end(s, 0)]
        }
        assert_eq!(end("https://a.jp/x."), "https://a.jp/x");
        assert_eq!(end("https://a.jp/wiki/A_(b))."), "https://a.jp/wiki/A_(b)");
        assert_eq!(end("https://a.jp/x、次"), "https://a.jp/x");
        assert_eq!(end("https://a.jp/x>y"), "https://a.jp/x");
    }
}
