//! flowc-serve: the web edge of `flowc serve` (DESIGN.md §9). The command
//! (`src/cli/serve.rs`) runs the engine and delivery on a thread of their
//! own, as `flowc run --watch` does, and hands this crate a listener; this
//! crate answers HTTP:
//!
//! - [`public`]: the links in email: the open-tracking image `/o/TOKEN`,
//!   tracked links `/c/TOKEN`, the opt-out page and one-click opt-out
//!   `/u/TOKEN`;
//! - [`approvals`]: the approval page `/a/TOKEN` of the approval email:
//!   GET shows the record, POST approves or rejects;
//! - [`forms`]: declared forms `POST /forms/NAME` (create or update the
//!   record, record `form_submitted`);
//! - [`hooks`]: signed webhooks `/hooks/EVENT` (with `Idempotency-Key`)
//!   and `/bounces`;
//! - [`pages`]: the HTML people see (maud: compile-time-checked,
//!   auto-escaping), in Japanese and English;
//! - [`admin`]: the admin pages and their JSON twins `/api/…`, behind
//!   `FLOWC_ADMIN_TOKEN` (a Bearer token, or the login page's signed
//!   session cookie with CSRF tokens on every form); they read through
//!   the store's typed operations on connections of their own.
//!
//! Every database access goes through the runtime's typed store
//! operations (`store::Web`) on one writer thread ([`writer`]) that
//! commits many requests' writes in one transaction before answering
//! them (group commit). The HTTP stack is axum on tokio, served connection
//! by connection with hyper ([`server`]): bodies bounded, requests and
//! header reads timed out, idle connections closed.
//!
//! Later work slots in beside these: more routes in [`server::router`]
//! over more `Web` operations and [`writer::Job`]s, as forms are.

#![forbid(unsafe_code)]
#![deny(clippy::unwrap_used)]

pub mod admin;
pub mod approvals;
pub mod checkpoint;
pub mod forms;
pub mod hooks;
pub mod pages;
pub mod public;
pub mod server;
pub mod signature;
pub mod writer;

use flowc_check::ir::{FormDef, Schema};
use flowc_runtime::mail::token;
use std::sync::Arc;

pub use server::{Listener, Shutdown, serve};
pub use writer::Opener;

/// The variable of the admin token (the admin pages and API).
pub const ADMIN_TOKEN_VARIABLE: &str = "FLOWC_ADMIN_TOKEN";

/// The shortest `FLOWC_SECRET` `flowc serve` accepts (it also verifies
/// webhooks, so it must be a strong key).
pub const MIN_SECRET: usize = 32;

/// `FLOWC_SECRET`, for both of its uses: tokens and webhook signatures.
/// Never printed.
#[derive(Clone, Debug)]
pub struct Secrets {
    pub tokens: token::Secret,
    pub webhooks: signature::SigningKey,
    /// Signs the admin pages' session cookies and CSRF tokens.
    pub sessions: admin::Keys,
}

impl Secrets {
    /// From the bytes of `FLOWC_SECRET`; the error never quotes them.
    pub fn new(secret: &[u8]) -> Result<Secrets, String> {
        if secret.len() < MIN_SECRET {
            return Err(format!(
                "{} is too short for flowc serve: it signs tokens and verifies webhooks, so use at least \
                 {MIN_SECRET} random bytes (for example `openssl rand -base64 32`), the same value as \
                 `flowc run --public-url` uses",
                token::SECRET_VARIABLE
            ));
        }
        Ok(Secrets {
            tokens: token::Secret::new(secret.to_vec())?,
            webhooks: signature::SigningKey::new(secret),
            sessions: admin::Keys::new(secret),
        })
    }

    /// From the environment; `flowc serve` refuses to start without it.
    pub fn from_env() -> Result<Secrets, String> {
        match std::env::var_os(token::SECRET_VARIABLE) {
            Some(v) if !v.is_empty() => Secrets::new(v.as_encoded_bytes()),
            _ => Err(format!(
                "flowc serve needs {} in the environment: the key that signs the tokens in email \
                 links and verifies webhooks (at least {MIN_SECRET} random bytes, for example \
                 `openssl rand -base64 32`, the same value as `flowc run --public-url` uses)",
                token::SECRET_VARIABLE
            )),
        }
    }
}

/// `FLOWC_ADMIN_TOKEN`: without it the admin pages and API are off. Its
/// `Debug` hides it.
#[derive(Clone)]
pub struct AdminToken(String);

impl std::fmt::Debug for AdminToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AdminToken(<hidden>)")
    }
}

impl AdminToken {
    /// From the environment, if set (and not empty).
    pub fn from_env() -> Option<AdminToken> {
        std::env::var(ADMIN_TOKEN_VARIABLE)
            .ok()
            .filter(|t| !t.trim().is_empty())
            .map(AdminToken)
    }

    /// The token `token` (trimmed as the login form trims what is typed).
    pub fn new(token: &str) -> AdminToken {
        AdminToken(token.trim().to_string())
    }

    /// SHA-256 of the token: sessions are signed over it, so that a new
    /// token ends every session made with the old one.
    pub fn fingerprint(&self) -> [u8; 32] {
        use sha2::Digest;
        sha2::Sha256::digest(self.0.as_bytes()).into()
    }

    /// Whether `presented` is the token, compared in constant time.
    pub fn matches(&self, presented: &str) -> bool {
        use sha2::Digest;
        let (a, b) = (
            sha2::Sha256::digest(self.0.as_bytes()),
            sha2::Sha256::digest(presented.as_bytes()),
        );
        a.iter().zip(b.iter()).fold(0u8, |d, (x, y)| d | (x ^ y)) == 0
    }
}

/// What the server is configured with.
pub struct Config {
    pub secrets: Secrets,
    pub admin: Option<AdminToken>,
    /// The project's records (webhooks name them) and time zone.
    pub schema: Schema,
    /// The rules and their charts, for the admin pages.
    pub project: admin::Project,
    /// The session cookie is `Secure` (the public URL is https).
    pub secure_cookies: bool,
    /// The project's `form`s (`POST /forms/NAME`).
    pub forms: Vec<FormDef>,
}

/// What every handler shares.
pub struct App {
    pub secret: token::Secret,
    pub signing: signature::SigningKey,
    pub schema: Arc<Schema>,
    pub admin: Option<AdminToken>,
    pub writer: writer::Writer,
    /// The project's `form`s.
    pub forms: Vec<FormDef>,
    /// The admin pages' state.
    pub console: admin::Console,
}
