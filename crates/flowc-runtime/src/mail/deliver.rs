//! Delivering the outbox, one pass at a time.
//!
//! A pass claims due messages in batches (the store hands out only
//! messages that are queued and due in engine time, or whose claim
//! expired), sends them over one connection, and records each outcome as
//! it happens. One message's temporary failure defers that message only.
//! A failure of the configuration (login, TLS, an unreachable server, an
//! unwritable mail folder) ends the pass without blaming any message:
//! what this worker holds goes back to the queue and delivery pauses.

use super::smtp::{self, Sending, Session};
use super::{Outgoing, Transport};
use crate::store::Outbox;
use crate::store::outbox::{OutboxError, Outcome, State};
use std::cell::RefCell;
use std::collections::HashSet;
use std::time::{Duration, Instant};

/// How long a claim lasts without renewal (wall-clock seconds) unless
/// configured (`FLOWC_LEASE_SECONDS`). A worker renews its claims before
/// each message, so this must exceed the time one message can take (a
/// few SMTP timeouts); a crashed worker's claims are taken over after it.
pub const DEFAULT_LEASE_SECONDS: i64 = 300;
/// After this many attempts a temporarily failing message is failed.
const MAX_ATTEMPTS: i64 = 12;
/// Messages claimed at once.
const BATCH: usize = 32;

/// Capped exponential backoff in seconds: 1 min, 2, 4, … at most one hour.
pub fn backoff(attempts: i64) -> i64 {
    60i64
        .saturating_mul(1 << attempts.clamp(1, 7).saturating_sub(1))
        .min(3600)
}

fn wall_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

/// What delivery did (in one pass, or several added up).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Delivery {
    pub sent: usize,
    pub deferred: usize,
    pub failed: usize,
    pub unconfirmed: usize,
    /// Set when delivery is paused by its configuration.
    pub paused: Option<Paused>,
    /// One line per message that was not sent, with why.
    pub problems: Vec<String>,
}

/// Delivery is paused by its configuration.
#[derive(Clone, Debug, PartialEq)]
pub struct Paused {
    pub error: String,
    /// Whether this pass tried again (rather than waiting to).
    pub tried: bool,
}

impl Delivery {
    /// Adds what a later pass did.
    pub fn absorb(&mut self, other: Delivery) {
        self.sent += other.sent;
        self.deferred += other.deferred;
        self.failed += other.failed;
        self.unconfirmed += other.unconfirmed;
        if let Some(p) = other.paused {
            let tried = p.tried || self.paused.as_ref().is_some_and(|q| q.tried);
            self.paused = Some(Paused { tried, ..p });
        }
        self.problems.extend(other.problems);
    }

    /// Whether there is nothing to report: nothing happened, and a paused
    /// delivery was not tried again.
    pub fn is_quiet(&self) -> bool {
        let Delivery {
            sent,
            deferred,
            failed,
            unconfirmed,
            paused,
            problems,
        } = self;
        *sent + *deferred + *failed + *unconfirmed == 0
            && problems.is_empty()
            && paused.as_ref().is_none_or(|p| !p.tried)
    }
}

/// Delivers the outbox for one process: its worker identity, its
/// transport, and what it knows about a paused delivery.
pub struct Courier {
    transport: Transport,
    default_from: String,
    lease_seconds: i64,
    /// How long to wait before trying a paused delivery again; `None`:
    /// one attempt per process (`flowc run` without `--watch`).
    retry_paused: Option<Duration>,
    worker: Option<String>,
    /// This process's last configuration failure, and when.
    failing: Option<(String, Instant)>,
    /// Signs every message, when configured (`FLOWC_DKIM_*`).
    dkim: Option<super::Dkim>,
}

/// A connection (or a folder) a pass delivers through.
enum Link {
    Smtp(Box<Session>),
    Folder,
}

/// What became of one claimed message.
enum Step {
    Done,
    Paused(String),
}

impl Courier {
    pub fn new(
        transport: Transport,
        default_from: &str,
        lease_seconds: i64,
        retry_paused: Option<Duration>,
    ) -> Courier {
        Courier {
            transport,
            default_from: default_from.to_string(),
            lease_seconds: lease_seconds.max(1),
            retry_paused,
            worker: None,
            failing: None,
            dkim: None,
        }
    }

    /// Signs every message it delivers with `dkim` (none: unsigned).
    pub fn with_dkim(mut self, dkim: Option<super::Dkim>) -> Courier {
        self.dkim = dkim;
        self
    }

    /// This process's worker id, registered on first use (as a worker
    /// that does not keep running, unless [`Courier::start`] said so).
    fn worker(&mut self, db: &dyn Outbox) -> Result<String, OutboxError> {
        self.start(db, false)
    }

    /// Registers this process's worker now, unless it is already:
    /// `watching`, it keeps running (`flowc run --watch`), and a
    /// simulation is refused while its heartbeat is younger than its lease.
    /// Returns its id.
    pub fn start(&mut self, db: &dyn Outbox, watching: bool) -> Result<String, OutboxError> {
        if let Some(id) = &self.worker {
            return Ok(id.clone());
        }
        let id = format!("{}{}", super::random_id(), super::random_id());
        let host = lettre::transport::smtp::extension::ClientId::default().to_string();
        let registration = crate::store::workers::Registration {
            id: &id,
            host: &host,
            pid: std::process::id(),
            lease: self.lease_seconds,
            watching,
        };
        db.register_worker(&registration, wall_now())?;
        self.worker = Some(id.clone());
        Ok(id)
    }

    /// Renews this process's heartbeat, if it is registered.
    pub fn heartbeat(&self, db: &dyn Outbox) -> Result<(), OutboxError> {
        match &self.worker {
            Some(id) => db.heartbeat_worker(id, wall_now()),
            None => Ok(()),
        }
    }

    /// Ends this process's worker: gives back what it holds.
    pub fn retire(&mut self, db: &dyn Outbox) -> Result<(), OutboxError> {
        if let Some(id) = self.worker.take() {
            db.release_messages(&id)?;
            db.retire_worker(&id)?;
        }
        Ok(())
    }

    /// One delivery pass at engine time `clock`: every message due then.
    pub fn pass(&mut self, db: &dyn Outbox, clock: i64) -> Result<Delivery, OutboxError> {
        let mut report = Delivery::default();
        if matches!(self.transport, Transport::None) {
            return Ok(report);
        }
        if let Some((error, since)) = &self.failing {
            let due = self
                .retry_paused
                .is_some_and(|wait| since.elapsed() >= wait);
            if !due {
                report.paused = Some(Paused {
                    error: error.clone(),
                    tried: false,
                });
                return Ok(report);
            }
        }
        let worker = self.worker(db)?;
        let mut link = None;
        let mut handled = HashSet::new();
        'pass: loop {
            let now = wall_now();
            let claimed =
                db.claim_messages(&worker, now, now + self.lease_seconds, clock, BATCH)?;
            for a in &claimed.abandoned {
                report.unconfirmed += 1;
                report.problems.push(format!(
                    "{} to {}: unconfirmed: interrupted after it was handed to the server; \
                     check whether it arrived, then `flowc outbox resolve {} sent` or `resend`",
                    a.message_id, a.to, a.id
                ));
            }
            if claimed.messages.is_empty() {
                break;
            }
            for message in &claimed.messages {
                if !handled.insert(message.id) {
                    // Claimed twice in one pass: leave the rest for later.
                    db.release_messages(&worker)?;
                    break 'pass;
                }
                // Renews what this worker holds, so that a long batch
                // keeps its claims, and checks that it still holds this one.
                let now = wall_now();
                if !db.hold_messages(&worker, message.id, now, now + self.lease_seconds)? {
                    report.problems.push(format!(
                        "{} to {}: skipped: another worker took it over",
                        message.message_id, message.to
                    ));
                    continue;
                }
                let step = self.attempt(db, &worker, &mut link, message, clock, &mut report)?;
                if let Step::Paused(error) = step {
                    db.release_messages(&worker)?;
                    db.pause_delivery(&error, clock)?;
                    self.failing = Some((error.clone(), Instant::now()));
                    report.paused = Some(Paused { error, tried: true });
                    if let Some(Link::Smtp(session)) = link {
                        session.quit();
                    }
                    return Ok(report);
                }
            }
        }
        if let Some(Link::Smtp(session)) = link {
            session.quit();
        }
        Ok(report)
    }

    /// Makes sure `link` is open (connecting at most once per message);
    /// the first success after a pause resumes delivery.
    fn open(
        &mut self,
        db: &dyn Outbox,
        link: &mut Option<Link>,
        clock: i64,
    ) -> Result<Result<(), String>, OutboxError> {
        if let Some(Link::Smtp(session)) = link {
            if session.usable() {
                return Ok(Ok(()));
            }
        } else if link.is_some() {
            return Ok(Ok(()));
        }
        let opened = match &self.transport {
            Transport::Smtp(config) => smtp::connect(config).map(|s| Link::Smtp(Box::new(s))),
            Transport::Folder(dir) => std::fs::create_dir_all(dir)
                .map(|_| Link::Folder)
                .map_err(|e| format!("cannot create the mail folder {}: {e}", dir.display())),
            Transport::None => Err("no mail transport".into()),
        };
        match opened {
            Ok(l) => {
                if let Some(Link::Smtp(old)) = link.replace(l) {
                    old.quit();
                }
                self.failing = None;
                db.resume_delivery(clock)?;
                Ok(Ok(()))
            }
            Err(error) => Ok(Err(error)),
        }
    }

    /// Sends one claimed message through the open `link` and records how
    /// it went.
    fn attempt(
        &mut self,
        db: &dyn Outbox,
        worker: &str,
        link: &mut Option<Link>,
        message: &Outgoing,
        clock: i64,
        report: &mut Delivery,
    ) -> Result<Step, OutboxError> {
        let email = match super::build(message, &self.default_from) {
            Ok(mut e) => {
                if let Some(dkim) = &self.dkim {
                    dkim.sign(&mut e);
                }
                e
            }
            Err(e) => {
                let outcome = Outcome::Failed {
                    error: e.0,
                    bounced: None,
                };
                self.record(db, worker, message, State::Sending, outcome, clock, report)?;
                return Ok(Step::Done);
            }
        };
        let folder = match &self.transport {
            Transport::Folder(dir) => Some(dir.clone()),
            Transport::Smtp(_) | Transport::None => None,
        };
        let attempt = match folder {
            None => {
                let mut reconnected = false;
                loop {
                    if let Err(error) = self.open(db, link, clock)? {
                        return Ok(Step::Paused(error));
                    }
                    let Some(Link::Smtp(session)) = link.as_mut() else {
                        return Ok(Step::Paused("no SMTP connection".into()));
                    };
                    let reused = session.used();
                    let attempt = self.send_smtp(db, worker, session, message, &email)?;
                    match attempt.sending {
                        // The server closed the connection between
                        // messages: connect again, once.
                        Sending::Stale(_) if reused && !reconnected => reconnected = true,
                        Sending::Stale(error) => {
                            break smtp::Attempt {
                                sending: Sending::Temporary(error),
                                finalized: false,
                            };
                        }
                        _ => break attempt,
                    }
                }
            }
            Some(dir) => {
                if let Err(error) = self.open(db, link, clock)? {
                    return Ok(Step::Paused(error));
                }
                let name = super::file_name(&message.message_id);
                let prepared = match super::folder::prepare(&dir, &name, &email.formatted()) {
                    Ok(prepared) => prepared,
                    Err(e) => {
                        let error =
                            format!("cannot write to the mail folder {}: {e}", dir.display());
                        return Ok(Step::Paused(error));
                    }
                };
                // As before the final `.` of DATA: placed only while this
                // worker still holds the claim, and never placed again once
                // it may have been (a worker stopped for longer than its
                // lease must not place a message another worker took over
                // and sent).
                if !db.finalize_message(worker, message.id)? {
                    prepared.discard();
                    smtp::Attempt {
                        sending: Sending::LostClaim,
                        finalized: false,
                    }
                } else {
                    match prepared.place() {
                        Ok(_) => smtp::Attempt {
                            sending: Sending::Sent,
                            finalized: true,
                        },
                        Err(e) => smtp::Attempt {
                            sending: Sending::Unconfirmed(format!(
                                "cannot move it into the mail folder {}: {e}",
                                dir.display()
                            )),
                            finalized: true,
                        },
                    }
                }
            }
        };
        let from = if attempt.finalized {
            State::Finalizing
        } else {
            State::Sending
        };
        let about = format!("{} to {}", message.message_id, message.to);
        let outcome = match attempt.sending {
            Sending::Sent => Outcome::Sent,
            Sending::Temporary(error) if message.attempts >= MAX_ATTEMPTS => Outcome::Failed {
                error: format!("gave up after {} attempts: {error}", message.attempts),
                bounced: None,
            },
            Sending::Temporary(error) => Outcome::Deferred {
                retry_at: clock.saturating_add(backoff(message.attempts)),
                error,
            },
            Sending::Rejected { error, recipient } => Outcome::Failed {
                error,
                bounced: recipient.then(|| recipient_address(&email, message)),
            },
            Sending::Unconfirmed(error) => Outcome::Unconfirmed {
                error: format!(
                    "the final `.` of DATA was written, then: {error}; the server may have the \
                     message, so it is not sent again automatically"
                ),
            },
            Sending::LostClaim => {
                report
                    .problems
                    .push(format!("{about}: skipped: another worker took it over"));
                return Ok(Step::Done);
            }
            Sending::Configuration(error) => return Ok(Step::Paused(error)),
            Sending::Stale(error) => Outcome::Deferred {
                retry_at: clock.saturating_add(backoff(message.attempts)),
                error,
            },
        };
        self.record(db, worker, message, from, outcome, clock, report)?;
        Ok(Step::Done)
    }

    fn send_smtp(
        &self,
        db: &dyn Outbox,
        worker: &str,
        session: &mut Session,
        message: &Outgoing,
        email: &lettre::Message,
    ) -> Result<smtp::Attempt, OutboxError> {
        let failure: RefCell<Option<OutboxError>> = RefCell::new(None);
        let keep = |r: Result<bool, OutboxError>| match r {
            Ok(held) => held,
            Err(e) => {
                failure.borrow_mut().get_or_insert(e);
                false
            }
        };
        let attempt = session.send(
            email,
            || {
                let now = wall_now();
                keep(db.hold_messages(worker, message.id, now, now + self.lease_seconds))
            },
            || keep(db.finalize_message(worker, message.id)),
        );
        match failure.into_inner() {
            // The database failed before anything was handed over: stop.
            Some(e) if !matches!(attempt.sending, Sending::Sent | Sending::Unconfirmed(_)) => {
                Err(e)
            }
            _ => Ok(attempt),
        }
    }

    /// Records an outcome and counts it.
    #[allow(clippy::too_many_arguments)]
    fn record(
        &self,
        db: &dyn Outbox,
        worker: &str,
        message: &Outgoing,
        from: State,
        outcome: Outcome,
        clock: i64,
        report: &mut Delivery,
    ) -> Result<(), OutboxError> {
        let about = format!("{} to {}", message.message_id, message.to);
        if !db.record_outcome(worker, message, from, &outcome, clock)? {
            report.problems.push(format!(
                "{about}: its outcome could not be recorded: another worker took it over"
            ));
            return Ok(());
        }
        match outcome {
            Outcome::Sent => report.sent += 1,
            Outcome::Deferred { retry_at, error } => {
                report.deferred += 1;
                report.problems.push(format!(
                    "{about}: will retry in {} min: {error}",
                    (retry_at - clock).max(0) / 60
                ));
            }
            Outcome::Failed { error, bounced } => {
                report.failed += 1;
                let suppressed = match bounced {
                    Some(address) => format!("; {address} is suppressed"),
                    None => String::new(),
                };
                let verb = if error.starts_with("gave up") {
                    ""
                } else {
                    "rejected: "
                };
                report
                    .problems
                    .push(format!("{about}: {verb}{error}{suppressed}"));
            }
            Outcome::Unconfirmed { error } => {
                report.unconfirmed += 1;
                report.problems.push(format!(
                    "{about}: unconfirmed: {error}; check whether it arrived, then \
                     `flowc outbox resolve {} sent` or `resend`",
                    message.id
                ));
            }
        }
        Ok(())
    }
}

/// The address the server refused: the envelope's recipient.
fn recipient_address(email: &lettre::Message, message: &Outgoing) -> String {
    email
        .envelope()
        .to()
        .first()
        .map_or_else(|| message.to.clone(), |a| a.to_string())
}
