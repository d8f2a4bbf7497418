//! Email: building messages and delivering the outbox with lettre, over
//! SMTP or into a folder of `.eml` files.
//!
//! Delivery happens after the transaction that queued a message commits,
//! in passes (`deliver::Courier`): a worker claims due messages (with a
//! lease, in the store), sends them over one connection, and records each
//! outcome. A temporary failure puts that message back in the queue with
//! backoff in engine time; a permanent one fails it for good; a message
//! whose final `.` of DATA was written is never sent again automatically.
//! A failure of the configuration (login, TLS, an unreachable server)
//! blames no message: delivery pauses. The Message-ID is made from the run
//! and the step, so a message is queued once however often its step is
//! retried, and a message resent after a crash carries the same Message-ID.

pub mod approval;
mod deliver;
pub mod dkim;
mod folder;
pub mod format;
mod smtp;
pub mod token;
pub mod tracking;

pub use deliver::{Courier, DEFAULT_LEASE_SECONDS, Delivery, Paused, backoff};
pub use dkim::Dkim;

use lettre::message::header::{ContentType, HeaderName, HeaderValue};
use lettre::message::{Mailbox, MultiPart};
use std::path::PathBuf;

/// Where mail goes.
#[derive(Clone, Debug)]
pub enum Transport {
    Smtp(SmtpConfig),
    /// One `.eml` file per message (dry runs, demos, tests).
    Folder(PathBuf),
    /// Keep messages queued (no `--smtp` or `--mail-dir` given).
    None,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Security {
    /// STARTTLS when the server offers it; required when there are
    /// credentials (unless plain-text login is explicitly allowed).
    Auto,
    /// Plain text: never STARTTLS (a relay on the same machine).
    None,
    /// STARTTLS, required (port 587).
    StartTls,
    /// TLS from the first byte (port 465).
    Tls,
}

/// A user name and password, from the environment. Never printed: its
/// `Debug` hides the password.
#[derive(Clone)]
pub struct Login {
    pub user: String,
    pub password: String,
}

impl std::fmt::Debug for Login {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Login {{ user: {:?}, password: <hidden> }}", self.user)
    }
}

#[derive(Clone, Debug)]
pub struct SmtpConfig {
    pub host: String,
    pub port: u16,
    pub security: Security,
    /// From the environment (`FLOWC_SMTP_USER`, `FLOWC_SMTP_PASSWORD`),
    /// never from files or arguments.
    pub credentials: Option<Login>,
    /// Send credentials over an unencrypted connection
    /// (`--smtp-insecure-auth`).
    pub insecure_auth: bool,
    /// How long to wait for the server at each step (`FLOWC_SMTP_TIMEOUT`).
    pub timeout_seconds: u64,
    /// A certificate (PEM) to trust besides the usual roots, for a server
    /// with a private CA (`FLOWC_SMTP_CA`).
    pub extra_root: Option<Vec<u8>>,
}

/// The seconds flowc waits for an SMTP server at each step by default.
pub const DEFAULT_TIMEOUT_SECONDS: u64 = 30;

impl SmtpConfig {
    /// Parses `smtp://host:port` (STARTTLS when offered, unless `security`
    /// says otherwise) or `smtps://host:port` (TLS), with the credentials
    /// and extra root certificate from the environment.
    pub fn parse(
        url: &str,
        security: Option<Security>,
        insecure_auth: bool,
        timeout_seconds: u64,
    ) -> Result<SmtpConfig, String> {
        let (scheme, rest) = url
            .split_once("://")
            .ok_or_else(|| format!("`{url}`: expected smtp://HOST:PORT or smtps://HOST:PORT"))?;
        if rest.contains('@') {
            return Err(
                "put SMTP credentials in FLOWC_SMTP_USER and FLOWC_SMTP_PASSWORD, not in the URL"
                    .into(),
            );
        }
        let default_security = match scheme {
            "smtp" => Security::Auto,
            "smtps" => Security::Tls,
            other => return Err(format!("unknown scheme `{other}`; use smtp:// or smtps://")),
        };
        let security = security.unwrap_or(default_security);
        let rest = rest.trim_end_matches('/');
        let (host, port) = match rest.rsplit_once(':') {
            Some((h, p)) => (
                h.to_string(),
                p.parse::<u16>()
                    .map_err(|_| format!("`{p}` is not a port number"))?,
            ),
            None => (
                rest.to_string(),
                match security {
                    Security::Auto | Security::None => 25,
                    Security::StartTls => 587,
                    Security::Tls => 465,
                },
            ),
        };
        if host.is_empty() {
            return Err(format!("`{url}` names no host"));
        }
        let credentials = match (
            std::env::var("FLOWC_SMTP_USER"),
            std::env::var("FLOWC_SMTP_PASSWORD"),
        ) {
            (Ok(user), Ok(password)) => Some(Login { user, password }),
            _ => None,
        };
        if credentials.is_some() && security == Security::None && !insecure_auth {
            return Err(
                "--smtp-security none sends the SMTP password unencrypted: add --smtp-insecure-auth \
                 to allow that (only on a network you trust), or use STARTTLS or smtps://"
                    .into(),
            );
        }
        let extra_root =
            match std::env::var_os("FLOWC_SMTP_CA") {
                Some(path) => Some(std::fs::read(&path).map_err(|e| {
                    format!("FLOWC_SMTP_CA: {}: {e}", PathBuf::from(&path).display())
                })?),
                None => None,
            };
        Ok(SmtpConfig {
            host,
            port,
            security,
            credentials,
            insecure_auth,
            timeout_seconds: timeout_seconds.max(1),
            extra_root,
        })
    }
}

/// The Message-ID of the `n`-th message a step of a run sends.
pub fn message_id(instance: &str, run: i64, step: &str, n: usize) -> String {
    let step: String = step
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    format!("<{run}.{step}.{n}.{instance}@flowc>")
}

/// The file a message is written to in a mail folder: its Message-ID,
/// made safe for file names (so writing it again replaces it).
pub fn file_name(message_id: &str) -> String {
    let name: String = message_id
        .chars()
        .filter_map(|c| match c {
            '<' | '>' => None,
            c if c.is_ascii_alphanumeric() || matches!(c, '.' | '-') => Some(c),
            _ => Some('_'),
        })
        .collect();
    format!("{name}.eml")
}

/// A random hexadecimal id (for this database's Message-IDs).
pub fn random_id() -> String {
    let mut bytes = [0u8; 8];
    let from_os = std::fs::File::open("/dev/urandom")
        .and_then(|mut f| std::io::Read::read_exact(&mut f, &mut bytes));
    if from_os.is_err() {
        let t = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        bytes = (t as u64 ^ u64::from(std::process::id()).rotate_left(32)).to_le_bytes();
    }
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A claimed message, as the store hands it over.
pub use crate::store::outbox::Message as Outgoing;

/// Why a message cannot be built (a bad address): permanent.
#[derive(Debug)]
pub struct BuildError(pub String);

/// A message's `Date:` (§8): the engine time at which it became due, not
/// the wall clock, so that a simulated month shows simulated dates. Kept
/// within what the header can say (1970 to 9999).
pub fn date(engine_time: i64) -> std::time::SystemTime {
    const LAST: i64 = 253_402_300_799; // 9999-12-31T23:59:59Z
    let seconds = engine_time.clamp(0, LAST) as u64;
    std::time::UNIX_EPOCH + std::time::Duration::from_secs(seconds)
}

/// Builds the RFC 5322 message: `text/plain` (UTF-8), or
/// `multipart/alternative` (text first, then HTML) when it has an HTML
/// part; marketing mail carries `List-Unsubscribe` (and, with an https
/// link in it, `List-Unsubscribe-Post: List-Unsubscribe=One-Click`,
/// RFC 8058). Header values with CR or LF were refused when the message was
/// queued, and are refused again here; lettre encodes the rest.
pub fn build(message: &Outgoing, default_from: &str) -> Result<lettre::Message, BuildError> {
    let mailbox = |what: &str, text: &str| -> Result<Mailbox, BuildError> {
        if text.contains(['\r', '\n']) {
            return Err(BuildError(format!(
                "the {what} address contains a line break"
            )));
        }
        text.parse::<Mailbox>()
            .map_err(|e| BuildError(format!("the {what} address {text:?} is not valid: {e}")))
    };
    if message.subject.contains(['\r', '\n']) {
        return Err(BuildError("the subject contains a line break".into()));
    }
    let mut builder = lettre::Message::builder()
        .message_id(Some(message.message_id.clone()))
        .date(date(message.date))
        .from(mailbox(
            "from",
            message.from.as_deref().unwrap_or(default_from),
        )?)
        .to(mailbox("to", &message.to)?)
        .subject(message.subject.clone());
    if let Some(reply_to) = &message.reply_to {
        builder = builder.reply_to(mailbox("reply-to", reply_to)?);
    }
    if let Some(value) = &message.list_unsubscribe {
        if value.contains(['\r', '\n']) || !value.is_ascii() {
            return Err(BuildError(
                "the List-Unsubscribe value contains a line break or is not ASCII".into(),
            ));
        }
        builder = builder.raw_header(HeaderValue::new(
            HeaderName::new_from_ascii_str("List-Unsubscribe"),
            value.clone(),
        ));
        if value.contains("<https://") || value.contains("<http://") {
            builder = builder.raw_header(HeaderValue::new(
                HeaderName::new_from_ascii_str("List-Unsubscribe-Post"),
                "List-Unsubscribe=One-Click".into(),
            ));
        }
    }
    let built = match &message.html {
        Some(html) => builder.multipart(MultiPart::alternative_plain_html(
            message.body.clone(),
            html.clone(),
        )),
        None => builder
            .header(ContentType::TEXT_PLAIN)
            .body(message.body.clone()),
    };
    built.map_err(|e| BuildError(e.to_string()))
}

/// The `List-Unsubscribe` value of a marketing message (§8): the https
/// opt-out link first when there is one, then a `mailto:` to `opt_out`
/// with the subject `unsubscribe` (non-ASCII characters percent-encoded, as
/// RFC 6068 has them).
pub fn list_unsubscribe(opt_out: &str, link: Option<&str>) -> String {
    let mut address = String::new();
    for b in opt_out.trim().bytes() {
        if b.is_ascii_graphic() && !matches!(b, b'<' | b'>' | b'%' | b'?' | b'"' | b',') {
            address.push(b as char);
        } else {
            address.push_str(&format!("%{b:02X}"));
        }
    }
    let mailto = format!("<mailto:{address}?subject=unsubscribe>");
    match link {
        Some(link) => format!("<{link}>, {mailto}"),
        None => mailto,
    }
}
