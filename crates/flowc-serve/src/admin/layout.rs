//! The admin pages' shared layout: the page shell with its navigation, the
//! headers every page carries, the error pages, and small pieces every
//! page uses (times, links to records, status badges). maud escapes
//! everything inserted; the only markup inserted as it is is the style
//! sheet below and the chart's SVG, which `flowc graph` escapes itself.
//! Labels are bilingual, Japanese first: "ルール / Rules".

use super::auth::{CSRF_FIELD, Who};
use super::form;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono_tz::Tz;
use maud::{DOCTYPE, Markup, PreEscaped, html};
use serde_json::{Value, json};

const STYLE: &str = "\
*{box-sizing:border-box}\
body{font-family:system-ui,-apple-system,'Hiragino Sans','Noto Sans JP',sans-serif;margin:0;color:#1f2328;background:#f6f8fa;line-height:1.5;font-size:15px}\
header.top{background:#1f2d3d;color:#fff;padding:.5rem 1.5rem;display:flex;flex-wrap:wrap;align-items:center;gap:.25rem 1.5rem}\
header.top .brand{font-weight:bold;color:#fff;text-decoration:none;margin-right:1rem}\
header.top nav{display:flex;flex-wrap:wrap;gap:.25rem 1rem;flex:1}\
header.top nav a{color:#cfe0f5;text-decoration:none;padding:.25rem 0;border-bottom:2px solid transparent}\
header.top nav a:hover{color:#fff}\
header.top nav a.here{color:#fff;border-bottom-color:#7fb3ff}\
header.top form{margin:0}\
header.top button{background:transparent;color:#cfe0f5;border:1px solid #52667d;border-radius:4px;padding:.2rem .7rem;font-size:.85rem;cursor:pointer}\
main{max-width:82rem;margin:0 auto;padding:1.25rem 1.5rem 3rem}\
h1{font-size:1.45rem;margin:.5rem 0 1rem}\
h2{font-size:1.1rem;margin:1.8rem 0 .6rem;border-bottom:1px solid #d0d7de;padding-bottom:.25rem}\
a{color:#0b5cad}\
table{border-collapse:collapse;width:100%;background:#fff;border:1px solid #d0d7de;font-size:.9rem}\
th,td{padding:.4rem .6rem;border-bottom:1px solid #e5e9ee;text-align:left;vertical-align:top}\
th{background:#eef2f6;font-weight:600;white-space:nowrap}\
th small{display:block;font-weight:normal;color:#57606a}\
td.n,th.n{text-align:right;font-variant-numeric:tabular-nums}\
td.zero{color:#9aa4ae}\
tr:hover td{background:#fafcff}\
.badge{display:inline-block;padding:0 .45rem;border-radius:1rem;font-size:.8rem;background:#e5e9ee;white-space:nowrap}\
.s-waiting,.s-pending,.s-queued,.s-sending,.s-finalizing,.s-open{background:#fff1c2}\
.s-done,.s-sent,.s-approved{background:#d6f5dd}\
.s-failed,.s-rejected,.s-bounced,.s-complained{background:#ffd9d9}\
.s-unconfirmed{background:#ffe2c2}\
.muted{color:#57606a}\
.note{color:#57606a;font-size:.85rem}\
.error{background:#ffebe9;border:1px solid #ff8182;padding:.5rem .8rem;border-radius:6px}\
.said{background:#dafbe1;border:1px solid #4ac26b;padding:.5rem .8rem;border-radius:6px}\
.chart{background:#fff;border:1px solid #d0d7de;padding:.5rem;overflow-x:auto}\
.chart svg{max-width:none}\
code,pre{font-family:ui-monospace,SFMono-Regular,Menlo,monospace;font-size:.85em}\
pre{white-space:pre-wrap;word-break:break-all;margin:0}\
dl.fields{display:grid;grid-template-columns:max-content 1fr;gap:.2rem 1rem;background:#fff;border:1px solid #d0d7de;padding:.75rem 1rem;margin:0}\
dl.fields dt{font-weight:600}dl.fields dd{margin:0;word-break:break-word}\
form.inline{display:inline;margin:0}\
button{font-size:.85rem;padding:.25rem .7rem;cursor:pointer;border:1px solid #8c959f;border-radius:4px;background:#f6f8fa}\
button.primary{background:#1f6feb;border-color:#1f6feb;color:#fff}\
form.add{display:flex;flex-wrap:wrap;gap:.5rem;align-items:end;background:#fff;border:1px solid #d0d7de;padding:.75rem 1rem;margin-bottom:1rem}\
form.add label{display:flex;flex-direction:column;font-size:.85rem}\
input,select{font-size:.95rem;padding:.3rem .4rem;border:1px solid #8c959f;border-radius:4px}\
.login{max-width:24rem;margin:4rem auto;background:#fff;border:1px solid #d0d7de;border-radius:8px;padding:1.5rem 2rem}\
.login h1{font-size:1.2rem}\
form.sign-in{display:flex;flex-direction:column;gap:.6rem;margin:1rem 0}\
form.sign-in button{padding:.5rem;font-size:1rem}\
time,td.actions,.nw{white-space:nowrap}\
.tags span{margin-right:.3rem}\
";

/// The headers every admin page (and answer) carries: no caching, no
/// framing, no script, no outside resource, forms only to this server.
pub fn secure(mut response: Response) -> Response {
    let headers = response.headers_mut();
    for (name, value) in [
        (header::CACHE_CONTROL, "no-store"),
        (
            header::CONTENT_SECURITY_POLICY,
            "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
        ),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::REFERRER_POLICY, "no-referrer"),
        (header::X_FRAME_OPTIONS, "DENY"),
    ] {
        headers.insert(name, HeaderValue::from_static(value));
    }
    response
}

fn document(status: StatusCode, title: &str, body: Markup) -> Response {
    let markup = html! {
        (DOCTYPE)
        html lang="ja" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                meta name="robots" content="noindex";
                title { (title) " — flowc" }
                style { (PreEscaped(STYLE)) }
            }
            body { (body) }
        }
    };
    let mut response = (status, markup.into_string()).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    secure(response)
}

/// The pages of the navigation: path, Japanese, English.
const NAV: &[(&str, &str, &str)] = &[
    ("/", "ルール", "Rules"),
    ("/approvals", "承認", "Approvals"),
    ("/tasks", "タスク", "Tasks"),
    ("/outbox", "送信箱", "Outbox"),
    ("/suppressions", "配信停止", "Suppressions"),
];

/// A page of the admin side: the navigation (`here` marked), and a
/// logout button for a browser session.
pub fn page(who: &Who, here: &str, title: &str, body: Markup) -> Response {
    document(
        StatusCode::OK,
        title,
        html! {
            header.top {
                a.brand href="/" { "flowc" }
                nav {
                    @for (path, ja, en) in NAV {
                        a href=(path) class=[(*path == here).then_some("here")] { (ja) " / " (en) }
                    }
                }
                @if let Some(csrf) = who.csrf() {
                    form method="post" action="/logout" {
                        input type="hidden" name=(CSRF_FIELD) value=(csrf);
                        button type="submit" { "ログアウト / Log out" }
                    }
                }
            }
            main { (body) }
        },
    )
}

/// A page without navigation (login, logout, errors before login).
pub fn bare(status: StatusCode, title: &str, body: Markup) -> Response {
    document(status, title, html! { main { div.login { (body) } } })
}

/// A page with a status of its own and a message in both languages.
pub fn message(status: StatusCode, title: &str, ja: &str, en: &str) -> Response {
    document(
        status,
        title,
        html! {
            main {
                h1 { (title) }
                p { (ja) }
                p lang="en" { (en) }
                p { a href="/" { "ルール一覧へ / Back to the rules" } }
            }
        },
    )
}

pub fn not_found() -> Response {
    message(
        StatusCode::NOT_FOUND,
        "見つかりません / Not found",
        "そのページはありません。",
        "There is no such page.",
    )
}

pub fn forbidden() -> Response {
    message(
        StatusCode::FORBIDDEN,
        "拒否されました / Refused",
        "フォームの有効期限が切れたか、別のサイトから送信されました。ページを開き直してもう一度お試しください。",
        "The form was not sent from this site's current page (its CSRF token is missing or wrong). Reload the page and try again.",
    )
}

pub fn unavailable() -> Response {
    let mut response = message(
        StatusCode::SERVICE_UNAVAILABLE,
        "一時的なエラー / Temporary error",
        "データベースに接続できません。しばらくしてからもう一度お試しください。",
        "The database is not available. Please try again in a moment.",
    );
    response
        .headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from_static("5"));
    response
}

/// A JSON answer with the admin headers.
pub fn json_answer(status: StatusCode, body: &Value) -> Response {
    let mut response = (status, body.to_string()).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    secure(response)
}

/// A JSON error: `{"error": message}`.
pub fn json_error(status: StatusCode, message: &str) -> Response {
    json_answer(status, &json!({ "error": message }))
}

/// An engine time in the rules' time zone, to the minute
/// (`2025-01-03 10:00`); the whole time with its offset when pointed at.
pub fn time(at: i64, zone: Tz) -> Markup {
    let full = flowc_syntax::time::format_datetime(at, zone);
    let short: String = full
        .chars()
        .take(16)
        .collect::<String>()
        .replacen('T', " ", 1);
    html! { time datetime=(full) title=(full) { (short) } }
}

/// An optional time; `—` when none.
pub fn maybe_time(at: Option<i64>, zone: Tz) -> Markup {
    match at {
        Some(t) => time(t, zone),
        None => html! { "—" },
    }
}

/// A status as a coloured badge.
pub fn badge(status: &str) -> Markup {
    let class = format!(
        "badge s-{}",
        status
            .chars()
            .filter(char::is_ascii_alphanumeric)
            .collect::<String>()
    );
    html! { span class=(class) { (status) } }
}

/// The path of a record's page.
pub fn record_path(table: &str, id: i64) -> String {
    format!("/records/{}/{id}", form::segment(table))
}

/// The path of a rule's page.
pub fn rule_path(rule: &str) -> String {
    format!("/rules/{}", form::segment(rule))
}

/// A link to a record: `contact #1`, and its title when it has one.
pub fn record_link(table: &str, id: i64, title: Option<&str>) -> Markup {
    html! {
        a href=(record_path(table, id)) {
            (table) " #" (id)
            @if let Some(title) = title.filter(|t| !t.is_empty()) {
                " " span.muted { "(" (title) ")" }
            }
        }
    }
}

/// A count in a table cell (zero greyed).
pub fn count(n: i64) -> Markup {
    html! { td.n.zero[n == 0] { (n) } }
}

/// A table header with the label in both languages.
pub fn th(ja: &str, en: &str) -> Markup {
    html! { th { (ja) small lang="en" { (en) } } }
}

/// As [`th`], right-aligned (a column of numbers).
pub fn th_n(ja: &str, en: &str) -> Markup {
    html! { th.n { (ja) small lang="en" { (en) } } }
}
