//! `flow_suppressions`: addresses that get no marketing email (§8), with
//! why. Delivery adds the addresses a server refused permanently.

use rusqlite::{Connection, params};

/// The form an address is kept and compared in: trimmed, lowercased.
pub fn normalize(address: &str) -> String {
    address.trim().to_lowercase()
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
    Ok(changed > 0)
}
