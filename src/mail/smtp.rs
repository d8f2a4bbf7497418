//! One SMTP delivery, with the outbox told just before the point of no
//! return.
//!
//! A message is only delivered when the server receives the final `.` of
//! DATA. flowc records `finalizing` in the outbox (and commits) after
//! sending everything else and before writing that `.`. So after a crash:
//! - a message still `sending` never reached the server: it is sent again;
//! - a message `finalizing` may have: it is never sent again, but marked
//!   `unconfirmed` for a person to check, instead of risking a duplicate.
//!
//! The only email a crash can leave in doubt is one killed in the
//! microseconds between that commit and the write of `.`.

use super::SmtpConfig;
use lettre::transport::smtp::authentication::{Credentials, DEFAULT_MECHANISMS};
use lettre::transport::smtp::client::{SmtpConnection, TlsParameters};
use lettre::transport::smtp::commands::{Data, Mail, Rcpt};
use lettre::transport::smtp::extension::{ClientId, Extension, MailBodyParameter, MailParameter};
use std::time::Duration;

/// How one attempt ended.
pub(super) enum Outcome {
    Sent,
    Temporary(String),
    Permanent(String),
}

fn classify(e: lettre::transport::smtp::Error) -> Outcome {
    if e.is_permanent() {
        Outcome::Permanent(e.to_string())
    } else {
        Outcome::Temporary(e.to_string())
    }
}

/// Yields the message, then calls `last` before the terminating `.` is
/// written (lettre writes it when the iterator ends).
struct Finalizing<'a, F: FnMut() -> bool> {
    body: Option<&'a [u8]>,
    last: F,
    /// Whether `last` succeeded.
    committed: &'a mut bool,
}

impl<'a, F: FnMut() -> bool> Iterator for Finalizing<'a, F> {
    type Item = &'a [u8];

    fn next(&mut self) -> Option<&'a [u8]> {
        match self.body.take() {
            Some(b) => Some(b),
            None => {
                if !*self.committed {
                    *self.committed = (self.last)();
                }
                None
            }
        }
    }
}

fn connect(config: &SmtpConfig) -> Result<SmtpConnection, lettre::transport::smtp::Error> {
    let hello = ClientId::default();
    let timeout = Some(Duration::from_secs(config.timeout_seconds));
    let tls = match config.security {
        super::Security::Tls => Some(TlsParameters::new(config.host.clone())?),
        _ => None,
    };
    let mut conn = SmtpConnection::connect(
        (config.host.as_str(), config.port),
        timeout,
        &hello,
        tls.as_ref(),
        None,
    )?;
    if config.security == super::Security::StartTls {
        conn.starttls(&TlsParameters::new(config.host.clone())?, &hello)?;
    }
    if let Some((user, password)) = &config.credentials {
        conn.auth(
            DEFAULT_MECHANISMS,
            &Credentials::new(user.clone(), password.clone()),
        )?;
    }
    Ok(conn)
}

/// Sends one message. `finalize` is called (and must commit `finalizing`)
/// right before the server can accept the message.
pub(super) fn send(
    config: &SmtpConfig,
    email: &lettre::Message,
    mut finalize: impl FnMut() -> bool,
) -> Outcome {
    let mut conn = match connect(config) {
        Ok(c) => c,
        Err(e) => return classify(e),
    };
    let bytes = email.formatted();
    let envelope = email.envelope();
    let mut options = Vec::new();
    if !bytes.is_ascii() {
        if !conn.server_info().supports_feature(Extension::EightBitMime) {
            return Outcome::Permanent(
                "the message is not ASCII and the server lacks 8BITMIME".into(),
            );
        }
        options.push(MailParameter::Body(MailBodyParameter::EightBitMime));
    }
    let steps = conn
        .command(Mail::new(envelope.from().cloned(), options))
        .and_then(|_| {
            envelope
                .to()
                .iter()
                .try_for_each(|to| conn.command(Rcpt::new(to.clone(), vec![])).map(|_| ()))
        })
        .and_then(|_| conn.command(Data));
    if let Err(e) = steps {
        conn.abort();
        return classify(e);
    }
    // If `finalize` fails the `.` is still written (lettre writes it when
    // the iterator ends): the outcome below then records the truth.
    let mut committed = false;
    let result = conn.message_iter(Finalizing {
        body: Some(&bytes),
        last: &mut finalize,
        committed: &mut committed,
    });
    let outcome = match result {
        Ok(_) => Outcome::Sent,
        Err(e) => classify(e),
    };
    let _ = conn.quit();
    outcome
}
