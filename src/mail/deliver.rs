//! Delivering the outbox.

use super::{Outgoing, Transport};
use rusqlite::{Connection, OptionalExtension, params};

/// What one delivery pass did.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Delivery {
    pub sent: usize,
    pub failed: usize,
    pub deferred: usize,
    /// One line per message that failed or was deferred.
    pub problems: Vec<String>,
}

/// How long a claim lasts before another process may take the message over
/// (sooner if the claiming process is gone).
const LEASE_SECONDS: i64 = 300;
/// After this many attempts a message is marked failed.
const MAX_ATTEMPTS: i64 = 12;

fn wall_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

/// Capped exponential backoff: 1 min, 2, 4, … at most one hour.
pub fn backoff(attempts: i64) -> i64 {
    60i64
        .saturating_mul(1 << attempts.clamp(1, 7).saturating_sub(1))
        .min(3600)
}

fn process_alive(pid: i64) -> bool {
    pid == i64::from(std::process::id()) || std::path::Path::new(&format!("/proc/{pid}")).exists()
}

/// Claims the next message to send, in its own transaction.
/// `everything`: ignore backoff (the first pass of a `flowc run`).
fn claim(conn: &Connection, everything: bool) -> rusqlite::Result<Option<Outgoing>> {
    conn.execute_batch("BEGIN IMMEDIATE")?;
    let now = wall_now();
    let result = (|| {
        abandon_finalizing(conn, now)?;
        let candidate: Option<(i64, String, Option<i64>, Option<i64>)> = conn
            .query_row(
                "SELECT id, status, claimed_by, lease_until FROM flow_outbox \
                 WHERE (status = 'queued' AND (?1 OR next_attempt_at <= ?2)) OR status = 'sending' \
                 ORDER BY status = 'sending', id LIMIT 1",
                params![everything, now],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
            )
            .optional()?;
        let Some((id, status, owner, lease)) = candidate else {
            return Ok(None);
        };
        if status == "sending" {
            // Another process holds it, unless it died or its lease ran out.
            let abandoned =
                owner.is_none_or(|pid| !process_alive(pid)) || lease.is_some_and(|l| l < now);
            if !abandoned {
                return Ok(None);
            }
        }
        conn.execute(
            "UPDATE flow_outbox SET status = 'sending', claimed_by = ?2, lease_until = ?3, attempts = attempts + 1 WHERE id = ?1",
            params![id, i64::from(std::process::id()), now + LEASE_SECONDS],
        )?;
        conn.query_row(
            "SELECT id, message_id, to_addr, from_addr, reply_to, subject, body FROM flow_outbox WHERE id = ?1",
            [id],
            |r| {
                Ok(Some(Outgoing {
                    id: r.get(0)?,
                    message_id: r.get(1)?,
                    to: r.get(2)?,
                    from: r.get(3)?,
                    reply_to: r.get(4)?,
                    subject: r.get(5)?,
                    body: r.get(6)?,
                }))
            },
        )
    })();
    match result {
        Ok(v) => {
            conn.execute_batch("COMMIT")?;
            Ok(v)
        }
        Err(e) => {
            let _ = conn.execute_batch("ROLLBACK");
            Err(e)
        }
    }
}

use super::smtp::Outcome;

/// Messages a dead process left `finalizing`: the server may have them,
/// so they are never resent; they become `unconfirmed` for a person to check.
fn abandon_finalizing(conn: &Connection, now: i64) -> rusqlite::Result<()> {
    let mut stmt = conn.prepare_cached(
        "SELECT id, claimed_by, lease_until FROM flow_outbox WHERE status = 'finalizing'",
    )?;
    let stuck: Vec<(i64, Option<i64>, Option<i64>)> = stmt
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
        .collect::<Result<_, _>>()?;
    for (id, owner, lease) in stuck {
        let abandoned =
            owner.is_none_or(|pid| !process_alive(pid)) || lease.is_some_and(|l| l < now);
        if abandoned {
            conn.execute(
                "UPDATE flow_outbox SET status = 'unconfirmed', claimed_by = NULL, last_error = ?2 WHERE id = ?1",
                params![id, "delivery was interrupted after the message was handed to the server; \
                             it was most likely delivered, and is not sent again"],
            )?;
        }
    }
    Ok(())
}

fn send(
    conn: &Connection,
    transport: &Transport,
    message: &Outgoing,
    default_from: &str,
) -> Outcome {
    let email = match super::build(message, default_from) {
        Ok(e) => e,
        Err(e) => return Outcome::Permanent(e.0),
    };
    match transport {
        Transport::None => {
            Outcome::Temporary("no mail transport configured (use --smtp or --mail-dir)".into())
        }
        Transport::Folder(dir) => {
            let name = super::file_name(&message.message_id);
            let path = dir.join(&name);
            let tmp = dir.join(format!(".{name}.tmp"));
            let written = std::fs::create_dir_all(dir)
                .and_then(|_| std::fs::write(&tmp, email.formatted()))
                .and_then(|_| std::fs::rename(&tmp, &path));
            match written {
                Ok(()) => Outcome::Sent,
                Err(e) => Outcome::Temporary(format!("{}: {e}", path.display())),
            }
        }
        Transport::Smtp(config) => super::smtp::send(config, &email, || {
            conn.execute(
                "UPDATE flow_outbox SET status = 'finalizing' WHERE id = ?1",
                [message.id],
            )
            .is_ok()
        }),
    }
}

/// Delivers every due message. `clock` stamps the `email_sent` events the
/// engine records; `everything` retries deferred messages at once.
pub fn deliver(
    conn: &Connection,
    transport: &Transport,
    default_from: &str,
    clock: i64,
    everything: bool,
) -> rusqlite::Result<Delivery> {
    let mut report = Delivery::default();
    if matches!(transport, Transport::None) {
        return Ok(report);
    }
    let mut first_pass = everything;
    let mut seen = std::collections::HashSet::new();
    while let Some(message) = claim(conn, first_pass)? {
        if !seen.insert(message.id) {
            // Claimed again in this pass: it was deferred; stop here.
            conn.execute(
                "UPDATE flow_outbox SET status = 'queued' WHERE id = ?1 AND status = 'sending'",
                [message.id],
            )?;
            first_pass = false;
            continue;
        }
        let outcome = send(conn, transport, &message, default_from);
        conn.execute_batch("BEGIN IMMEDIATE")?;
        let recorded = record(conn, &message, &outcome, clock, &mut report);
        match recorded {
            Ok(()) => conn.execute_batch("COMMIT")?,
            Err(e) => {
                let _ = conn.execute_batch("ROLLBACK");
                return Err(e);
            }
        }
        if matches!(outcome, Outcome::Temporary(_)) && matches!(transport, Transport::Smtp(_)) {
            // The server is down or busy: leave the rest for later.
            break;
        }
    }
    Ok(report)
}

fn record(
    conn: &Connection,
    message: &Outgoing,
    outcome: &Outcome,
    clock: i64,
    report: &mut Delivery,
) -> rusqlite::Result<()> {
    let now = wall_now();
    let subject: Option<(String, i64, Option<String>, Option<i64>)> = conn
        .query_row(
            "SELECT subject_tbl, subject_id, template, run_id FROM flow_outbox WHERE id = ?1",
            [message.id],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
        )
        .optional()?
        .and_then(
            |(t, i, template, run): (Option<String>, Option<i64>, Option<String>, Option<i64>)| {
                Some((t?, i?, template, run))
            },
        );
    match outcome {
        Outcome::Sent => {
            conn.execute(
                "UPDATE flow_outbox SET status = 'sent', sent_at = ?2, claimed_by = NULL, lease_until = NULL, last_error = NULL WHERE id = ?1",
                params![message.id, now],
            )?;
            if let Some((table, id, template, run)) = subject {
                let data = serde_json::json!({ "template": template, "message_id": message.message_id, "to": message.to });
                conn.execute(
                    "INSERT INTO flow_events (name, tbl, row_id, data, at) VALUES ('email_sent', ?1, ?2, ?3, ?4)",
                    params![table, id, data.to_string(), clock],
                )?;
                log(
                    conn,
                    clock,
                    run,
                    "email sent",
                    &format!("{} to {}", message.message_id, message.to),
                )?;
            }
            report.sent += 1;
        }
        Outcome::Temporary(error) => {
            let attempts: i64 = conn.query_row(
                "SELECT attempts FROM flow_outbox WHERE id = ?1",
                [message.id],
                |r| r.get(0),
            )?;
            if attempts >= MAX_ATTEMPTS {
                conn.execute(
                    "UPDATE flow_outbox SET status = 'failed', claimed_by = NULL, last_error = ?2 WHERE id = ?1",
                    params![message.id, format!("gave up after {attempts} attempts: {error}")],
                )?;
                report.failed += 1;
                report.problems.push(format!(
                    "{} to {}: gave up after {attempts} attempts: {error}",
                    message.message_id, message.to
                ));
            } else {
                conn.execute(
                    "UPDATE flow_outbox SET status = 'queued', claimed_by = NULL, lease_until = NULL, next_attempt_at = ?2, last_error = ?3 WHERE id = ?1",
                    params![message.id, now + backoff(attempts), error],
                )?;
                report.deferred += 1;
                report.problems.push(format!(
                    "{} to {}: will retry: {error}",
                    message.message_id, message.to
                ));
            }
        }
        Outcome::Permanent(error) => {
            conn.execute(
                "UPDATE flow_outbox SET status = 'failed', claimed_by = NULL, lease_until = NULL, last_error = ?2 WHERE id = ?1",
                params![message.id, error],
            )?;
            let run = subject.and_then(|s| s.3);
            log(
                conn,
                clock,
                run,
                "email failed",
                &format!("{} to {}: {error}", message.message_id, message.to),
            )?;
            report.failed += 1;
            report.problems.push(format!(
                "{} to {}: rejected: {error}",
                message.message_id, message.to
            ));
        }
    }
    Ok(())
}

fn log(
    conn: &Connection,
    at: i64,
    run: Option<i64>,
    action: &str,
    detail: &str,
) -> rusqlite::Result<()> {
    conn.execute(
        "INSERT INTO flow_log (at, run_id, rule, subject, action, detail) \
         SELECT ?1, ?2, r.rule, r.subject_tbl || ' #' || r.subject_id, ?3, ?4 FROM (SELECT 1) \
         LEFT JOIN flow_runs r ON r.id = ?2",
        params![at, run, action, detail],
    )?;
    Ok(())
}
