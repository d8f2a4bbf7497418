//! The pages people see, in Japanese and English, from maud templates
//! (checked when compiled; everything inserted is HTML-escaped). They work
//! without JavaScript and load nothing else: the Content-Security-Policy
//! allows no script, no outside resource, and forms only to this server.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use maud::{DOCTYPE, Markup, html};

/// The address as a page shows it: its first character, `***`, and the
/// domain (`y***@example.jp`), so that a forwarded link does not reveal
/// whose it is.
pub fn mask(address: &str) -> String {
    let address = address.trim();
    let (local, domain) = match address.rsplit_once('@') {
        Some((local, domain)) => (local, Some(domain)),
        None => (address, None),
    };
    let first: String = local.chars().take(1).collect();
    match domain {
        Some(domain) => format!("{first}***@{domain}"),
        None => format!("{first}***"),
    }
}

const STYLE: &str = "body{font-family:system-ui,-apple-system,'Hiragino Sans','Noto Sans JP',sans-serif;\
max-width:36rem;margin:3rem auto;padding:0 1rem;line-height:1.7;color:#222}\
h1{font-size:1.3rem}p.en{color:#555}button{font-size:1rem;padding:.6rem 1.4rem;cursor:pointer}\
.subject{font-weight:bold}";

/// A whole page with the headers every page carries.
pub(crate) fn page(status: StatusCode, title: &str, body: Markup) -> Response {
    let markup = html! {
        (DOCTYPE)
        html lang="ja" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                meta name="robots" content="noindex";
                title { (title) }
                style { (maud::PreEscaped(STYLE)) }
            }
            body { (body) }
        }
    };
    let mut response = (status, markup.into_string()).into_response();
    let headers = response.headers_mut();
    for (name, value) in [
        (header::CONTENT_TYPE, "text/html; charset=utf-8"),
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

/// `GET /u/TOKEN`: asks to confirm the opt-out.
pub fn confirm_opt_out(address: &str, subject: &str) -> Response {
    let masked = mask(address);
    page(
        StatusCode::OK,
        "配信停止 / Unsubscribe",
        html! {
            h1 { "配信停止 / Unsubscribe" }
            p {
                (masked) " 宛のお知らせメールの配信を停止しますか？"
                @if !subject.is_empty() {
                    " (件名: " span.subject { (subject) } ")"
                }
            }
            p.en lang="en" {
                "Stop marketing email to " (masked) "?"
                @if !subject.is_empty() {
                    " (subject: " span.subject { (subject) } ")"
                }
            }
            form method="post" {
                input type="hidden" name="List-Unsubscribe" value="One-Click";
                button type="submit" { "配信を停止する / Unsubscribe" }
            }
            p.en lang="en" {
                "Receipts and other transactional email still arrive. "
                "ご契約・お支払いなどに関する連絡メールは引き続き届きます。"
            }
        },
    )
}

/// `POST /u/TOKEN`: the opt-out is done (also when it was already).
pub fn opted_out(address: &str) -> Response {
    let masked = mask(address);
    page(
        StatusCode::OK,
        "配信を停止しました / Unsubscribed",
        html! {
            h1 { "配信を停止しました / Unsubscribed" }
            p { (masked) " 宛のお知らせメールの配信を停止しました。" }
            p.en lang="en" { (masked) " will get no more marketing email from us." }
        },
    )
}

/// A link that is not (or no longer) valid.
pub fn not_found() -> Response {
    page(
        StatusCode::NOT_FOUND,
        "無効なリンク / Link not valid",
        html! {
            h1 { "無効なリンクです / This link is not valid" }
            p { "リンクが途中で切れていないか、メールの本文からもう一度お試しください。" }
            p.en lang="en" { "Check that the whole link was copied, or follow it again from the email." }
        },
    )
}

/// `POST /forms/NAME`: the submission is received.
pub fn form_thanks() -> Response {
    page(
        StatusCode::OK,
        "送信しました / Thank you",
        html! {
            h1 { "送信しました / Thank you" }
            p { "お送りいただいた内容を受け付けました。ありがとうございます。" }
            p.en lang="en" { "We have received your submission. Thank you." }
        },
    )
}

/// `GET /forms/NAME` (someone opened the form's address): `405`, saying
/// the address takes submissions from a form on a web page.
pub fn form_takes_posts() -> Response {
    let mut response = page(
        StatusCode::METHOD_NOT_ALLOWED,
        "送信先です / Form submissions only",
        html! {
            h1 { "フォームの送信先です / This address takes form submissions" }
            p { "このアドレスはウェブページのフォームから送信された内容を受け付けます。フォームのページからお送りください。" }
            p.en lang="en" { "It takes what a form on a web page posts here. Please send the form from its page." }
        },
    );
    response
        .headers_mut()
        .insert(header::ALLOW, HeaderValue::from_static("POST"));
    response
}

/// `POST /forms/NAME` for a form the project does not declare.
pub fn no_such_form() -> Response {
    page(
        StatusCode::NOT_FOUND,
        "フォームが見つかりません / No such form",
        html! {
            h1 { "フォームが見つかりません / No such form" }
            p { "送信先のフォームがありません。ページを開き直してからもう一度お試しください。" }
            p.en lang="en" { "This form does not exist. Reload the page and try again." }
        },
    )
}

/// `POST /forms/NAME` refused: the `400` page naming the field.
pub fn form_refused(refusal: &crate::forms::Refusal) -> Response {
    use crate::forms::Refusal;
    let (ja, en) = match refusal {
        Refusal::Encoding(why) => (
            format!("フォームの内容を読み取れませんでした（{why}）。"),
            format!("The form could not be read: {why}."),
        ),
        Refusal::BadValue {
            field,
            value,
            expected,
        } => (
            format!("「{field}」の値「{value}」が正しくありません（{expected}）。"),
            format!("The value \"{value}\" of `{field}` is not valid: expected {expected}."),
        ),
        Refusal::Missing(fields) => {
            let names = fields
                .iter()
                .map(|f| format!("`{f}`"))
                .collect::<Vec<_>>()
                .join(", ");
            (
                format!("必須項目 {names} が入力されていません。"),
                format!("Required: {names}."),
            )
        }
        Refusal::Event(why) => (
            format!("送信内容が正しくありません（{why}）。"),
            format!("The submission is not valid: {why}."),
        ),
    };
    page(
        StatusCode::BAD_REQUEST,
        "入力内容をご確認ください / Please check the form",
        html! {
            h1 { "入力内容をご確認ください / Please check the form" }
            p.problem { (ja) }
            p.en lang="en" { (en) }
            p { "ブラウザの「戻る」で入力画面に戻り、修正して送信してください。" }
            p.en lang="en" { "Go back, correct it and send the form again." }
        },
    )
}

/// The database failed; the person may try again.
pub fn unavailable() -> Response {
    let mut response = page(
        StatusCode::SERVICE_UNAVAILABLE,
        "一時的なエラー / Temporary error",
        html! {
            h1 { "一時的なエラーです / Temporary error" }
            p { "しばらくしてからもう一度お試しください。" }
            p.en lang="en" { "Please try again in a moment." }
        },
    );
    response
        .headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from_static("5"));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_are_masked_after_their_first_character() {
        assert_eq!(mask("yamada@example.jp"), "y***@example.jp");
        assert_eq!(mask(" 山田@example.jp "), "山***@example.jp");
        assert_eq!(mask("a@b@example.jp"), "a***@example.jp");
        assert_eq!(mask("nobody"), "n***");
        assert_eq!(mask(""), "***");
    }
}
