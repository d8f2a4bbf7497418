//! The links in the email flowc sends (§8, §9): the open-tracking image
//! `GET /o/TOKEN`, tracked links `GET /c/TOKEN` and the opt-out page
//! `GET`/`POST /u/TOKEN`. Each token is verified here (HMAC with
//! `FLOWC_SECRET`, for its purpose only); the writer finds the message it
//! names and records what happened on the record the message went to.

use crate::App;
use crate::pages;
use crate::writer::{Failed, Job, Named};
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use flowc_runtime::mail::token::{self, Purpose};
use std::sync::Arc;

/// A transparent 1×1 GIF.
const PIXEL: &[u8] = &[
    0x47, 0x49, 0x46, 0x38, 0x39, 0x61, 0x01, 0x00, 0x01, 0x00, 0x80, 0x00, 0x00, 0x00, 0x00, 0x00,
    0xff, 0xff, 0xff, 0x21, 0xf9, 0x04, 0x01, 0x00, 0x00, 0x00, 0x00, 0x2c, 0x00, 0x00, 0x00, 0x00,
    0x01, 0x00, 0x01, 0x00, 0x00, 0x02, 0x02, 0x44, 0x01, 0x00, 0x3b,
];

/// The token in the path, if the path could be read at all.
fn token(path: Result<Path<String>, PathRejection>) -> Option<String> {
    path.ok().map(|Path(t)| t)
}

/// The message a token of `purpose` names.
fn named(app: &App, purpose: Purpose, path: Result<Path<String>, PathRejection>) -> Option<Named> {
    let payload = token::verify(&app.secret, purpose, &token(path)?)?;
    Named::from_key(&payload)
}

fn pixel(status: StatusCode) -> Response {
    (
        status,
        [
            (header::CONTENT_TYPE, HeaderValue::from_static("image/gif")),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
        ],
        PIXEL,
    )
        .into_response()
}

/// `GET /o/TOKEN`: records `email_opened`; always the image (also for a
/// token that is not valid, which records nothing). Answered once the
/// event is committed; `503` (still the image) when the database fails.
pub async fn open(
    State(app): State<Arc<App>>,
    path: Result<Path<String>, PathRejection>,
) -> Response {
    let Some(named) = named(&app, Purpose::Open, path) else {
        return pixel(StatusCode::OK);
    };
    match app.writer.ask(|r| Job::Open(named, r)).await {
        Ok(()) => pixel(StatusCode::OK),
        Err(Failed) => pixel(StatusCode::SERVICE_UNAVAILABLE),
    }
}

/// `GET /c/TOKEN`: records `email_clicked` and redirects to the link's
/// original URL, one of those stored with the message; `404` for anything
/// else.
pub async fn click(
    State(app): State<Arc<App>>,
    path: Result<Path<String>, PathRejection>,
) -> Response {
    let Some(payload) = token(path).and_then(|t| token::verify(&app.secret, Purpose::Click, &t))
    else {
        return pages::not_found();
    };
    let Some((key, link)) = token::split_click(&payload) else {
        return pages::not_found();
    };
    let Some(named) = Named::from_key(key) else {
        return pages::not_found();
    };
    match app.writer.ask(|r| Job::Click(named, link, r)).await {
        Ok(Some(url)) => redirect(&url),
        Ok(None) => pages::not_found(),
        Err(Failed) => pages::unavailable(),
    }
}

/// A `302` to `url`, which must be an http(s) URL a header can carry (the
/// engine stored only such); anything else is not followed.
fn redirect(url: &str) -> Response {
    let lower = url.get(..8).unwrap_or(url).to_ascii_lowercase();
    if !(lower.starts_with("https://") || lower.starts_with("http://")) {
        return pages::not_found();
    }
    match HeaderValue::from_str(url) {
        Ok(location) => (
            StatusCode::FOUND,
            [
                (header::LOCATION, location),
                (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
                (
                    header::REFERRER_POLICY,
                    HeaderValue::from_static("no-referrer"),
                ),
            ],
        )
            .into_response(),
        Err(_) => pages::not_found(),
    }
}

/// `GET /u/TOKEN`: the page that asks to confirm the opt-out. Changes
/// nothing (mail scanners fetch links).
pub async fn opt_out_page(
    State(app): State<Arc<App>>,
    path: Result<Path<String>, PathRejection>,
) -> Response {
    let Some(named) = named(&app, Purpose::Unsubscribe, path) else {
        return pages::not_found();
    };
    match app.writer.ask(|r| Job::OptOutPage(named, r)).await {
        Ok(Some(m)) => pages::confirm_opt_out(&m.address, &m.subject),
        Ok(None) => pages::not_found(),
        Err(Failed) => pages::unavailable(),
    }
}

/// `POST /u/TOKEN`: suppresses the address (`unsubscribed`) and records an
/// `unsubscribed` event on the record, once. The body is not read: the
/// page's button and RFC 8058's one-click `List-Unsubscribe=One-Click`
/// alike.
pub async fn opt_out(
    State(app): State<Arc<App>>,
    path: Result<Path<String>, PathRejection>,
) -> Response {
    let Some(named) = named(&app, Purpose::Unsubscribe, path) else {
        return pages::not_found();
    };
    match app.writer.ask(|r| Job::OptOut(named, r)).await {
        Ok(Some(m)) => pages::opted_out(&m.address),
        Ok(None) => pages::not_found(),
        Err(Failed) => pages::unavailable(),
    }
}
