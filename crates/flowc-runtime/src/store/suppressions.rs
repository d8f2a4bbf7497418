//! `flow_suppressions`: addresses that get no marketing email (§8), with
//! why. Delivery adds the addresses a server refused permanently; people
//! add and remove them with `flowc suppress`; a step that sends asks
//! before it queues. The types here are every backend's; the SQL is
//! SQLite's (PostgreSQL's is in `pg/outbox.rs`).

use super::outbox::OutboxError;
use super::state::StateError;
use flowc_check::ir::TemplateKind;
use rusqlite::{Connection, OptionalExtension, params};

/// The `flow_changes.tbl` of a change to the suppression list (the colon
/// keeps it apart from every record's table name). Every change to the
/// list records one, in the same transaction, so that runs waiting on
/// `R is unsubscribed` are re-checked whoever changed it: `flowc
/// suppress`, a bounce, an opt-out through `flowc serve`.
pub const CHANGES: &str = "suppression:";

/// Records that the suppression list changed (SQLite).
fn changed(conn: &Connection) -> rusqlite::Result<()> {
    super::effects::record_synthetic_change(conn, CHANGES, 0, true, 0, 0)
}

/// The form an address is kept and compared in: trimmed, lowercased.
pub fn normalize(address: &str) -> String {
    address.trim().to_lowercase()
}

/// An address a person gave (`flowc suppress add`), in the form it is
/// kept: an error saying why when it is not an email address.
pub fn parse_address(text: &str) -> Result<String, String> {
    let address = normalize(text);
    if address.is_empty() {
        return Err("the address is empty".into());
    }
    address
        .parse::<lettre::Address>()
        .map_err(|e| format!("`{}` is not an email address: {e}", text.trim()))?;
    Ok(address)
}

/// Why an address is suppressed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Reason {
    /// The recipient opted out (an unsubscribe link or reply).
    Unsubscribed,
    /// A server refused the address permanently.
    Bounced,
    /// The recipient marked a message as spam.
    Complained,
    /// A person added it (`flowc suppress add`).
    Manual,
}

impl Reason {
    pub const ALL: [Reason; 4] = [
        Reason::Unsubscribed,
        Reason::Bounced,
        Reason::Complained,
        Reason::Manual,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Reason::Unsubscribed => "unsubscribed",
            Reason::Bounced => "bounced",
            Reason::Complained => "complained",
            Reason::Manual => "manual",
        }
    }

    pub fn parse(text: &str) -> Option<Reason> {
        Reason::ALL.into_iter().find(|r| r.as_str() == text)
    }

    /// Whether an address suppressed for this reason gets no email of
    /// `kind`: no marketing email at all; transactional email only when
    /// the address bounced or complained (§8).
    pub fn stops(self, kind: TemplateKind) -> bool {
        match kind {
            TemplateKind::Marketing => true,
            TemplateKind::Transactional => matches!(self, Reason::Bounced | Reason::Complained),
        }
    }
}

impl std::fmt::Display for Reason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.pad(self.as_str())
    }
}

/// One suppressed address.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Suppression {
    /// Trimmed and lowercased.
    pub address: String,
    pub reason: Reason,
    /// Engine time.
    pub at: i64,
    /// Where it came from: the server's answer and the message, a person…
    pub source: Option<String>,
}

/// Decodes a stored reason; anything else is an error naming the row.
pub(in crate::store) fn decode_reason(address: &str, text: String) -> Result<Reason, OutboxError> {
    Reason::parse(&text).ok_or_else(|| {
        StateError::Corrupt {
            table: "flow_suppressions",
            row: format!("`{address}`"),
            value: text,
            expected: "unsubscribed, bounced, complained or manual",
        }
        .into()
    })
}

/// The `flow_log` line of a suppression added by a person or a program:
/// action and detail (both backends).
pub(in crate::store) fn added_line(
    address: &str,
    reason: Reason,
    before: Option<Reason>,
    source: Option<&str>,
) -> (&'static str, String) {
    let mut detail = format!("{address}: {reason}");
    if let Some(before) = before {
        detail.push_str(&format!(" (was {before})"));
    }
    if let Some(source) = source {
        detail.push_str(&format!(" by {source}"));
    }
    ("address suppressed", detail)
}

/// The `flow_log` line of a suppression lifted (both backends).
pub(in crate::store) fn removed_line(address: &str, reason: Reason) -> (&'static str, String) {
    ("address unsuppressed", format!("{address}: was {reason}"))
}

fn suppression(r: &rusqlite::Row) -> rusqlite::Result<(String, String, i64, Option<String>)> {
    Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
}

fn decode(
    (address, reason, at, source): (String, String, i64, Option<String>),
) -> Result<Suppression, OutboxError> {
    let reason = decode_reason(&address, reason)?;
    Ok(Suppression {
        address,
        reason,
        at,
        source,
    })
}

/// Whether (and why) `address` is suppressed.
pub fn find(conn: &Connection, address: &str) -> Result<Option<Suppression>, OutboxError> {
    conn.prepare_cached(
        "SELECT address, reason, at, source FROM flow_suppressions WHERE address = ?1",
    )?
    .query_row([normalize(address)], suppression)
    .optional()?
    .map(decode)
    .transpose()
}

/// Every suppressed address, by address.
pub fn list(conn: &Connection) -> Result<Vec<Suppression>, OutboxError> {
    conn.prepare_cached(
        "SELECT address, reason, at, source FROM flow_suppressions ORDER BY address COLLATE BINARY",
    )?
    .query_map([], suppression)?
    .collect::<rusqlite::Result<Vec<_>>>()?
    .into_iter()
    .map(decode)
    .collect()
}

/// Suppresses `address` for `reason` at engine time `at` (replacing
/// another reason), with a `flow_log` line, in one transaction. Returns
/// the reason it had before, if any (the same reason: nothing changed).
pub fn add(
    conn: &Connection,
    address: &str,
    reason: Reason,
    source: Option<&str>,
    at: i64,
) -> Result<Option<Reason>, OutboxError> {
    transaction(conn, || add_within(conn, address, reason, source, at))
}

/// [`add`] inside a transaction the caller holds (`flowc serve` records an
/// unsubscription with its event, many in one transaction).
pub(in crate::store) fn add_within(
    conn: &Connection,
    address: &str,
    reason: Reason,
    source: Option<&str>,
    at: i64,
) -> Result<Option<Reason>, OutboxError> {
    let address = normalize(address);
    let before = find(conn, &address)?.map(|s| s.reason);
    if before == Some(reason) {
        return Ok(before);
    }
    conn.prepare_cached(
        "INSERT INTO flow_suppressions (address, reason, at, source) VALUES (?1, ?2, ?3, ?4) \
         ON CONFLICT (address) DO UPDATE SET reason = excluded.reason, at = excluded.at, \
         source = excluded.source",
    )?
    .execute(params![address, reason.as_str(), at, source])?;
    let (action, detail) = added_line(&address, reason, before, source);
    log(conn, at, action, &detail)?;
    changed(conn)?;
    Ok(before)
}

/// Lifts the suppression of `address`, with a `flow_log` line, in one
/// transaction. Returns the reason it had, if it was suppressed.
pub fn remove(conn: &Connection, address: &str, at: i64) -> Result<Option<Reason>, OutboxError> {
    let address = normalize(address);
    transaction(conn, || {
        let Some(before) = find(conn, &address)? else {
            return Ok(None);
        };
        conn.prepare_cached("DELETE FROM flow_suppressions WHERE address = ?1")?
            .execute([&address])?;
        let (action, detail) = removed_line(&address, before.reason);
        log(conn, at, action, &detail)?;
        changed(conn)?;
        Ok(Some(before.reason))
    })
}

fn log(conn: &Connection, at: i64, action: &str, detail: &str) -> Result<(), OutboxError> {
    conn.prepare_cached("INSERT INTO flow_log (at, step, action, detail) VALUES (?1, '', ?2, ?3)")?
        .execute(params![at, action, detail])?;
    Ok(())
}

fn transaction<T>(
    conn: &Connection,
    body: impl FnOnce() -> Result<T, OutboxError>,
) -> Result<T, OutboxError> {
    conn.execute_batch("BEGIN IMMEDIATE")?;
    match body() {
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

/// Suppresses `address` because a server refused it (`bounced`), at engine
/// time `at`; `source` says which message and what the server answered.
/// An address suppressed for another reason keeps it, except
/// `unsubscribed`, which a bounce outranks (transactional email stops
/// too). Returns whether anything changed.
pub fn add_bounce(
    conn: &Connection,
    address: &str,
    at: i64,
    source: &str,
) -> rusqlite::Result<bool> {
    let changed = conn
        .prepare_cached(
            "INSERT INTO flow_suppressions (address, reason, at, source) VALUES (?1, 'bounced', ?2, ?3) \
             ON CONFLICT (address) DO UPDATE SET reason = 'bounced', at = excluded.at, source = excluded.source \
             WHERE flow_suppressions.reason = 'unsubscribed'",
        )?
        .execute(params![normalize(address), at, source])?;
    if changed > 0 {
        self::changed(conn)?;
    }
    Ok(changed > 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn marketing_stops_for_every_reason_transactional_only_for_bounces_and_complaints() {
        let stops: Vec<(Reason, bool, bool)> = Reason::ALL
            .into_iter()
            .map(|r| {
                let kinds = [TemplateKind::Marketing, TemplateKind::Transactional];
                (r, r.stops(kinds[0]), r.stops(kinds[1]))
            })
            .collect();
        assert_eq!(
            stops,
            [
                (Reason::Unsubscribed, true, false),
                (Reason::Bounced, true, true),
                (Reason::Complained, true, true),
                (Reason::Manual, true, false),
            ]
        );
        for r in Reason::ALL {
            assert_eq!(Reason::parse(r.as_str()), Some(r));
        }
        assert_eq!(Reason::parse("Manual"), None);
    }

    #[test]
    fn an_address_is_kept_trimmed_and_lowercased_and_must_be_one() {
        assert_eq!(
            parse_address("  Sato@Example.JP ").as_deref(),
            Ok("sato@example.jp")
        );
        assert!(parse_address("  ").is_err_and(|e| e.contains("empty")));
        assert!(parse_address("sato").is_err_and(|e| e.contains("`sato` is not an email address")));
    }
}
