//! One SMTP connection per delivery pass, and each message sent over it
//! with the outbox told at the two moments that matter.
//!
//! A message is only delivered when the server receives the final `.` of
//! DATA. Before DATA, the worker checks that it still holds the message
//! (and renews its lease): up to there a send can be abandoned without a
//! trace. Right before writing the `.`, it records `finalizing` (and
//! commits). So, whatever happens next:
//! - a message still `sending` never reached the server: it may be sent
//!   again;
//! - a message `finalizing` may have: it is never sent again automatically
//!   but becomes `unconfirmed` (a dropped connection, no answer in time) for
//!   a person to check, instead of risking a duplicate.
//!
//! Connecting is where the configuration shows: an unreachable server, a
//! TLS failure, a refused login, or a password that would have to travel
//! unencrypted. Those are errors of `connect`, which blame no message.

use super::{Security, SmtpConfig};
use lettre::transport::smtp::Error;
use lettre::transport::smtp::authentication::{Credentials, DEFAULT_MECHANISMS};
use lettre::transport::smtp::client::{Certificate, SmtpConnection, TlsParameters};
use lettre::transport::smtp::commands::{Data, Mail, Rcpt, Rset};
use lettre::transport::smtp::extension::{ClientId, Extension, MailBodyParameter, MailParameter};
use std::time::Duration;

/// How one message's attempt ended.
pub(super) enum Sending {
    /// The server accepted it (2xx after the final `.`).
    Sent,
    /// It was not handed over (4xx before the `.`, a connection that broke
    /// before it): it may be sent again.
    Temporary(String),
    /// A 5xx. `recipient`: the server refused the recipient (RCPT) or the
    /// message (DATA), not the sender.
    Rejected { error: String, recipient: bool },
    /// The final `.` was written and no definite answer came (or a 4xx).
    Unconfirmed(String),
    /// This worker no longer holds the message: nothing was sent.
    LostClaim,
    /// The server asks something of the configuration (530: log in first).
    Configuration(String),
    /// The connection was gone before the server answered MAIL (a server
    /// that closes idle connections): nothing was sent.
    Stale(String),
}

/// An attempt's outcome, and whether `finalizing` was recorded for it.
pub(super) struct Attempt {
    pub sending: Sending,
    pub finalized: bool,
}

/// An open connection, ready for MAIL.
pub(super) struct Session {
    conn: SmtpConnection,
    broken: bool,
    /// Whether a message was already sent (or tried) over it.
    used: bool,
}

fn tls_parameters(config: &SmtpConfig) -> Result<TlsParameters, String> {
    let mut builder = TlsParameters::builder(config.host.clone());
    if let Some(pem) = &config.extra_root {
        let cert = Certificate::from_pem(pem)
            .map_err(|e| format!("FLOWC_SMTP_CA holds no usable certificate: {e}"))?;
        builder = builder.add_root_certificate(cert);
    }
    builder
        .build()
        .map_err(|e| format!("cannot set up TLS for {}: {e}", config.host))
}

/// Opens a connection: TLS as the configuration asks (STARTTLS when the
/// server offers it, unless told otherwise), then the login. Every error
/// here is the configuration's, with a message that says what to fix.
pub(super) fn connect(config: &SmtpConfig) -> Result<Session, String> {
    let server = format!("{}:{}", config.host, config.port);
    let hello = ClientId::default();
    let timeout = Some(Duration::from_secs(config.timeout_seconds));
    let implicit = match config.security {
        Security::Tls => Some(tls_parameters(config)?),
        _ => None,
    };
    let mut conn = SmtpConnection::connect(
        (config.host.as_str(), config.port),
        timeout,
        &hello,
        implicit.as_ref(),
        None,
    )
    .map_err(|e| {
        if e.is_tls() {
            format!("TLS with the SMTP server {server} failed: {e}")
        } else {
            format!("cannot reach the SMTP server {server}: {e}")
        }
    })?;
    let offered = conn.can_starttls();
    let upgrade = match config.security {
        Security::StartTls if !offered => {
            conn.abort();
            return Err(format!(
                "the SMTP server {server} does not offer STARTTLS, which --smtp-security starttls requires"
            ));
        }
        Security::StartTls => true,
        Security::Auto => offered,
        Security::None | Security::Tls => false,
    };
    if upgrade {
        let tls = tls_parameters(config)?;
        conn.starttls(&tls, &hello)
            .map_err(|e| format!("STARTTLS with the SMTP server {server} failed: {e}"))?;
    }
    if let Some(login) = &config.credentials {
        if !conn.is_encrypted() && !config.insecure_auth {
            conn.abort();
            return Err(format!(
                "the SMTP server {server} offers no encryption (no STARTTLS), and flowc never sends \
                 the password unencrypted: use smtps://, a server that offers STARTTLS, or \
                 --smtp-insecure-auth on a network you trust"
            ));
        }
        let credentials = Credentials::new(login.user.clone(), login.password.clone());
        if let Err(e) = conn.auth(DEFAULT_MECHANISMS, &credentials) {
            conn.abort();
            return Err(format!(
                "the SMTP server {server} refused the login of `{}`: {e}",
                login.user
            ));
        }
    }
    Ok(Session {
        conn,
        broken: false,
        used: false,
    })
}

/// Yields the message, then calls `last` before the terminating `.` is
/// written (lettre writes it when the iterator ends).
struct Finalizing<'a, F: FnMut() -> bool> {
    body: Option<&'a [u8]>,
    last: F,
    /// Whether the iterator ended, so that the `.` is being written.
    ended: &'a mut bool,
    /// Whether `last` succeeded.
    committed: &'a mut bool,
}

impl<'a, F: FnMut() -> bool> Iterator for Finalizing<'a, F> {
    type Item = &'a [u8];

    fn next(&mut self) -> Option<&'a [u8]> {
        match self.body.take() {
            Some(b) => Some(b),
            None => {
                if !*self.ended {
                    *self.ended = true;
                    *self.committed = (self.last)();
                }
                None
            }
        }
    }
}

/// Which command a failure answered.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Stage {
    Mail,
    Rcpt,
    Data,
}

impl Session {
    /// Whether the connection can carry another message.
    pub fn usable(&self) -> bool {
        !self.broken && !self.conn.has_broken()
    }

    /// Whether a message was already sent (or tried) over it.
    pub fn used(&self) -> bool {
        self.used
    }

    /// Says goodbye.
    pub fn quit(mut self) {
        if self.usable() {
            let _ = self.conn.quit();
        } else {
            self.conn.abort();
        }
    }

    /// Sends one message. `hold` is asked right before DATA whether the
    /// worker still holds the message; `finalize` must commit
    /// `finalizing` right before the final `.`.
    pub fn send(
        &mut self,
        email: &lettre::Message,
        hold: impl FnOnce() -> bool,
        mut finalize: impl FnMut() -> bool,
    ) -> Attempt {
        let unfinalized = |sending| Attempt {
            sending,
            finalized: false,
        };
        self.used = true;
        let bytes = email.formatted();
        let envelope = email.envelope();
        let mut options = Vec::new();
        if !bytes.is_ascii() {
            if !self
                .conn
                .server_info()
                .supports_feature(Extension::EightBitMime)
            {
                return unfinalized(Sending::Rejected {
                    error: "the message is not ASCII and the server lacks 8BITMIME".into(),
                    recipient: false,
                });
            }
            options.push(MailParameter::Body(MailBodyParameter::EightBitMime));
        }
        if let Err(e) = self
            .conn
            .command(Mail::new(envelope.from().cloned(), options))
        {
            return unfinalized(self.refused(e, Stage::Mail));
        }
        for to in envelope.to() {
            if let Err(e) = self.conn.command(Rcpt::new(to.clone(), vec![])) {
                return unfinalized(self.refused(e, Stage::Rcpt));
            }
        }
        if !hold() {
            self.reset();
            return unfinalized(Sending::LostClaim);
        }
        if let Err(e) = self.conn.command(Data) {
            return unfinalized(self.refused(e, Stage::Data));
        }
        // If `finalize` fails the `.` is still written (lettre writes it
        // when the iterator ends): the outcome then records the truth from
        // `sending`.
        let (mut ended, mut finalized) = (false, false);
        let result = self.conn.message_iter(Finalizing {
            body: Some(&bytes),
            last: &mut finalize,
            ended: &mut ended,
            committed: &mut finalized,
        });
        let sending = match result {
            Ok(_) => Sending::Sent,
            // The body could not be written: the `.` never was.
            Err(e) if !ended => {
                self.broken = true;
                Sending::Temporary(e.to_string())
            }
            Err(e) if e.is_permanent() => Sending::Rejected {
                error: e.to_string(),
                recipient: true,
            },
            Err(e) => {
                if !e.is_transient() {
                    self.broken = true;
                }
                Sending::Unconfirmed(e.to_string())
            }
        };
        Attempt { sending, finalized }
    }

    /// What a failed MAIL, RCPT or DATA command means, leaving the
    /// connection ready for the next message when it can be.
    fn refused(&mut self, e: Error, stage: Stage) -> Sending {
        let code = e.status().map(|c| c.to_string());
        let sending = if e.is_permanent() {
            if stage == Stage::Mail && code.as_deref() == Some("530") {
                Sending::Configuration(format!(
                    "the SMTP server requires a login (set FLOWC_SMTP_USER and FLOWC_SMTP_PASSWORD): {e}"
                ))
            } else {
                Sending::Rejected {
                    error: e.to_string(),
                    recipient: stage != Stage::Mail,
                }
            }
        } else if stage == Stage::Mail && !e.is_transient() {
            Sending::Stale(e.to_string())
        } else {
            Sending::Temporary(e.to_string())
        };
        if e.is_permanent() || e.is_transient() {
            if code.as_deref() == Some("421") {
                self.broken = true;
            } else {
                self.reset();
            }
        } else {
            self.broken = true;
        }
        sending
    }

    fn reset(&mut self) {
        if self.conn.command(Rset).is_err() {
            self.broken = true;
        }
    }
}
