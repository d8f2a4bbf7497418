//! Who may use the admin pages and API (§9): a request carrying
//! `Authorization: Bearer $FLOWC_ADMIN_TOKEN` (compared in constant time),
//! or a browser holding the session cookie the login page `/login` sets.
//!
//! The cookie is `v1.EXPIRES.NONCE.MAC`: when it expires (Unix seconds), a
//! nonce, and the first 128 bits of HMAC-SHA256 over both and a hash of the
//! admin token, keyed with a key derived from `FLOWC_SECRET`. It cannot be
//! forged or extended without the secret, never contains the admin token,
//! and stops working when either secret changes (changing the admin token
//! logs every browser out). It is `HttpOnly`, `SameSite=Strict`, `Path=/`,
//! and `Secure` when the public URL is https.
//!
//! Every form of a cookie session carries a CSRF token: HMAC of the
//! cookie's value with the same key, so it is tied to that session and
//! cannot be computed by another site. A POST with a session but without
//! the right token is refused (`403`); Bearer requests need none (a
//! browser never adds that header by itself).

use super::form;
use super::layout;
use crate::{AdminToken, App};
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{KeyInit, Mac};
use maud::html;
use sha2::{Digest, Sha256};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

type HmacSha256 = hmac::Hmac<Sha256>;

/// The session cookie's name.
pub const COOKIE: &str = "flowc_admin";

/// How long a login lasts.
pub const SESSION_SECONDS: i64 = 12 * 3600;

/// The form field (and, for the API, the header) carrying the CSRF token.
pub const CSRF_FIELD: &str = "csrf";
pub const CSRF_HEADER: &str = "x-csrf-token";

/// How long a wrong token's answer waits (slows guessing down).
const WRONG_TOKEN_DELAY: std::time::Duration = std::time::Duration::from_millis(400);

/// The bytes of a MAC a cookie or CSRF token keeps.
const TAG: usize = 16;

/// The admin pages' key, derived from `FLOWC_SECRET` (so that a session
/// MAC is never a token of another purpose). Its `Debug` hides it.
#[derive(Clone)]
pub struct Keys(HmacSha256);

impl std::fmt::Debug for Keys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Keys(<hidden>)")
    }
}

fn hmac(key: &[u8]) -> HmacSha256 {
    // HMAC takes a key of any length.
    HmacSha256::new_from_slice(key).unwrap_or_else(|_| unreachable!())
}

impl Keys {
    pub fn new(secret: &[u8]) -> Keys {
        let mut derive = hmac(secret);
        derive.update(b"flowc admin sessions v1");
        Keys(hmac(&derive.finalize().into_bytes()))
    }

    fn mac(&self, parts: &[&[u8]]) -> [u8; TAG] {
        let mut mac = self.0.clone();
        for part in parts {
            mac.update(&(part.len() as u64).to_be_bytes());
            mac.update(part);
        }
        let full = mac.finalize().into_bytes();
        let mut tag = [0u8; TAG];
        tag.copy_from_slice(&full[..TAG]);
        tag
    }

    /// A new session's cookie value for `token`, valid until `expires`.
    fn session(&self, token: &AdminToken, expires: i64) -> String {
        let nonce = URL_SAFE_NO_PAD.encode(nonce());
        let expires = expires.to_string();
        let tag = self.mac(&[
            b"session",
            &token.fingerprint(),
            expires.as_bytes(),
            nonce.as_bytes(),
        ]);
        format!("v1.{expires}.{nonce}.{}", URL_SAFE_NO_PAD.encode(tag))
    }

    /// Whether `value` is a cookie [`Keys::session`] made for `token` that
    /// has not expired at `now`.
    fn valid(&self, token: &AdminToken, value: &str, now: i64) -> bool {
        let mut parts = value.split('.');
        let (Some("v1"), Some(expires), Some(nonce), Some(tag), None) = (
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
        ) else {
            return false;
        };
        let Ok(until) = expires.parse::<i64>() else {
            return false;
        };
        let Ok(tag) = URL_SAFE_NO_PAD.decode(tag) else {
            return false;
        };
        let want = self.mac(&[
            b"session",
            &token.fingerprint(),
            expires.as_bytes(),
            nonce.as_bytes(),
        ]);
        equal(&want, &tag) && now < until && until <= now + SESSION_SECONDS + 60
    }

    /// The CSRF token of the session whose cookie is `value`.
    fn csrf(&self, value: &str) -> String {
        URL_SAFE_NO_PAD.encode(self.mac(&[b"csrf", value.as_bytes()]))
    }
}

/// Constant-time equality of two byte strings (their lengths are not
/// secret).
fn equal(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |d, (x, y)| d | (x ^ y)) == 0
}

/// 16 bytes no other session has: a per-process random key (the standard
/// library seeds it from the operating system) hashed with a counter and
/// the time. Not secret: the MAC is what makes a cookie unforgeable.
fn nonce() -> [u8; 16] {
    use std::hash::{BuildHasher, Hasher};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let count = COUNTER.fetch_add(1, Ordering::Relaxed);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let mut random = std::collections::hash_map::RandomState::new().build_hasher();
    random.write_u64(count);
    let mut digest = Sha256::new();
    digest.update(random.finish().to_be_bytes());
    digest.update(count.to_be_bytes());
    digest.update(nanos.to_be_bytes());
    digest.update(std::process::id().to_be_bytes());
    let full = digest.finalize();
    let mut out = [0u8; 16];
    out.copy_from_slice(&full[..16]);
    out
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

/// Who is asking.
#[derive(Clone, Debug)]
pub enum Who {
    /// `Authorization: Bearer` with the admin token.
    Bearer,
    /// A browser's session; its forms carry `csrf`.
    Session { csrf: String },
}

impl Who {
    /// The CSRF token the session's forms carry (`None` for Bearer).
    pub fn csrf(&self) -> Option<&str> {
        match self {
            Who::Bearer => None,
            Who::Session { csrf } => Some(csrf),
        }
    }

    /// Whether a POST may change something: Bearer, or a session whose
    /// CSRF token `presented` is.
    pub fn may_post(&self, presented: Option<&str>) -> bool {
        match self {
            Who::Bearer => true,
            Who::Session { csrf } => {
                presented.is_some_and(|p| equal(p.as_bytes(), csrf.as_bytes()))
            }
        }
    }
}

/// Why a request is not let in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Denied {
    /// `FLOWC_ADMIN_TOKEN` is not set: the admin side does not exist.
    Off,
    /// No credentials (or an expired or forged session).
    Missing,
    /// An `Authorization` header with the wrong token.
    Wrong,
}

/// The value of cookie `name` in the request's `Cookie` headers.
fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(n, _)| *n == name)
        .map(|(_, v)| v.trim())
}

/// Who the request comes from, or why it is not let in.
pub fn check(app: &App, headers: &HeaderMap) -> Result<Who, Denied> {
    let Some(token) = &app.admin else {
        return Err(Denied::Off);
    };
    if let Some(authorization) = headers.get(header::AUTHORIZATION) {
        let presented = authorization
            .to_str()
            .ok()
            .and_then(|v| {
                let (scheme, rest) = v.trim().split_once(' ')?;
                scheme.eq_ignore_ascii_case("bearer").then(|| rest.trim())
            })
            .unwrap_or("");
        return if token.matches(presented) {
            Ok(Who::Bearer)
        } else {
            Err(Denied::Wrong)
        };
    }
    match cookie(headers, COOKIE) {
        Some(value) if app.console.keys.valid(token, value, now()) => Ok(Who::Session {
            csrf: app.console.keys.csrf(value),
        }),
        _ => Err(Denied::Missing),
    }
}

/// Waits a little before answering a wrong token.
pub async fn slow_down() {
    tokio::time::sleep(WRONG_TOKEN_DELAY).await;
}

/// Where a login goes next: a path on this server (`/…`, not `//…`),
/// else the dashboard. Never another site.
pub fn local_path(next: Option<&str>) -> String {
    match next {
        Some(p)
            if p.starts_with('/')
                && !p.starts_with("//")
                && !p.starts_with("/\\")
                && p.len() <= 2048
                && p.bytes().all(|b| b.is_ascii_graphic()) =>
        {
            p.to_string()
        }
        _ => "/".into(),
    }
}

/// A `303 See Other` to a path on this server.
pub fn see_other(path: &str) -> Response {
    let location =
        HeaderValue::from_str(&local_path(Some(path))).unwrap_or(HeaderValue::from_static("/"));
    (
        StatusCode::SEE_OTHER,
        [
            (header::LOCATION, location),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
        ],
    )
        .into_response()
}

/// The page an unauthenticated browser is sent to: the login page, coming
/// back to `uri` afterwards.
pub fn to_login(uri: &Uri) -> Response {
    let back = uri.path_and_query().map_or("/", |p| p.as_str());
    see_other(&format!(
        "/login?next={}",
        form::encode(&local_path(Some(back)))
    ))
}

fn set_cookie(response: &mut Response, value: &str) {
    if let Ok(value) = HeaderValue::from_str(value) {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
}

fn session_cookie(value: &str, max_age: i64, secure: bool) -> String {
    format!(
        "{COOKIE}={value}; Path=/; Max-Age={max_age}; HttpOnly; SameSite=Strict{}",
        if secure { "; Secure" } else { "" }
    )
}

/// `GET /login`: the form (or, already logged in, on to `next`).
pub async fn login_page(State(app): State<Arc<App>>, headers: HeaderMap, uri: Uri) -> Response {
    let next = uri.query().map(|q| form::parse(q.as_bytes()));
    let next = local_path(next.as_deref().and_then(|f| form::get(f, "next")));
    match check(&app, &headers) {
        // Off: as if there were no such path.
        Err(Denied::Off) => crate::pages::not_found(),
        Ok(_) => see_other(&next),
        Err(_) => login_form(StatusCode::OK, &next, false),
    }
}

fn login_form(status: StatusCode, next: &str, wrong: bool) -> Response {
    layout::bare(
        status,
        "ログイン / Log in",
        html! {
            h1 { "flowc 管理画面 / flowc admin" }
            @if wrong {
                p.error role="alert" { "トークンが違います。 / That token is not right." }
            }
            form.sign-in method="post" action="/login" {
                input type="hidden" name="next" value=(next);
                label for="token" { "管理トークン / Admin token" }
                input #token type="password" name="token" autocomplete="current-password" required autofocus;
                button.primary type="submit" { "ログイン / Log in" }
            }
            p.note {
                "FLOWC_ADMIN_TOKEN の値を入力してください。 / Enter the value of FLOWC_ADMIN_TOKEN."
            }
        },
    )
}

/// `POST /login`: the token right, a session cookie and on to `next`;
/// wrong, the form again (after a pause).
pub async fn login(State(app): State<Arc<App>>, body: Bytes) -> Response {
    let Some(token) = &app.admin else {
        return crate::pages::not_found();
    };
    let fields = form::parse(&body);
    let next = local_path(form::get(&fields, "next"));
    let presented = form::get(&fields, "token").unwrap_or("").trim();
    if presented.is_empty() || !token.matches(presented) {
        slow_down().await;
        return login_form(StatusCode::UNAUTHORIZED, &next, true);
    }
    let value = app.console.keys.session(token, now() + SESSION_SECONDS);
    let mut response = see_other(&next);
    set_cookie(
        &mut response,
        &session_cookie(&value, SESSION_SECONDS, app.console.secure_cookies),
    );
    response
}

/// `GET /logout`: a button that logs out (a link alone must not: pages
/// are fetched by link checkers too).
pub async fn logout_page(State(app): State<Arc<App>>, headers: HeaderMap) -> Response {
    match check(&app, &headers) {
        // Off: as if there were no such path.
        Err(Denied::Off) => crate::pages::not_found(),
        Ok(Who::Session { csrf }) => layout::bare(
            StatusCode::OK,
            "ログアウト / Log out",
            html! {
                h1 { "ログアウト / Log out" }
                form method="post" action="/logout" {
                    input type="hidden" name=(CSRF_FIELD) value=(csrf);
                    button type="submit" { "ログアウトする / Log out" }
                }
            },
        ),
        Ok(Who::Bearer) | Err(_) => see_other("/login"),
    }
}

/// `POST /logout`: forgets the session cookie (with the session's CSRF
/// token), then the login page.
pub async fn logout(State(app): State<Arc<App>>, headers: HeaderMap, body: Bytes) -> Response {
    match check(&app, &headers) {
        // Off: as if there were no such path.
        Err(Denied::Off) => crate::pages::not_found(),
        Ok(who) => {
            let fields = form::parse(&body);
            if !who.may_post(form::get(&fields, CSRF_FIELD)) {
                return layout::forbidden();
            }
            let mut response = see_other("/login");
            set_cookie(
                &mut response,
                &session_cookie("", 0, app.console.secure_cookies),
            );
            response
        }
        Err(_) => see_other("/login"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn token(t: &str) -> AdminToken {
        AdminToken::new(t)
    }

    #[test]
    fn sessions_verify_until_they_expire_and_only_for_their_token() {
        let keys = Keys::new(b"a secret of at least thirty-two bytes!!");
        let admin = token("the admin token");
        let value = keys.session(&admin, 1_000 + SESSION_SECONDS);
        assert!(!value.contains("the admin token"));
        assert!(keys.valid(&admin, &value, 1_000));
        assert!(!keys.valid(&admin, &value, 1_000 + SESSION_SECONDS));
        assert!(!keys.valid(&token("another token"), &value, 1_000));
        let other = Keys::new(b"another secret of at least thirty-two bytes");
        assert!(!other.valid(&admin, &value, 1_000));
        // Extending the expiry breaks the MAC.
        let parts: Vec<&str> = value.split('.').collect();
        let longer = format!("v1.{}.{}.{}", 2_000 + SESSION_SECONDS, parts[2], parts[3]);
        assert!(!keys.valid(&admin, &longer, 1_000));
        for bad in ["", "v1", "v1...", "v2.1.2.3", &format!("{value}.x")] {
            assert!(!keys.valid(&admin, bad, 1_000), "{bad}");
        }
        // Each session its own value and CSRF token.
        let again = keys.session(&admin, 1_000 + SESSION_SECONDS);
        assert_ne!(value, again);
        assert_ne!(keys.csrf(&value), keys.csrf(&again));
    }

    #[test]
    fn logins_go_on_only_to_local_paths() {
        assert_eq!(local_path(Some("/rules/welcome?x=1")), "/rules/welcome?x=1");
        for bad in [
            None,
            Some("https://evil.example"),
            Some("//evil.example/"),
            Some("/\\evil.example"),
            Some("rules"),
            Some("/a b"),
            Some("/\r\nSet-Cookie: x"),
        ] {
            assert_eq!(local_path(bad), "/", "{bad:?}");
        }
    }

    #[test]
    fn cookies_are_found_among_others() {
        let mut headers = HeaderMap::new();
        headers.append(
            header::COOKIE,
            HeaderValue::from_static("a=1; flowc_admin=v1.x; b=2"),
        );
        assert_eq!(cookie(&headers, COOKIE), Some("v1.x"));
        assert_eq!(cookie(&headers, "c"), None);
    }
}
