//! `flowc stats`'s figures: per rule, what its runs and emails did.

use rusqlite::Connection;

/// One rule's counts.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct RuleStats {
    pub rule: String,
    pub started: i64,
    pub waiting: i64,
    pub done: i64,
    pub failed: i64,
    pub rejected: i64,
    pub emails_sent: i64,
    pub emails_queued: i64,
    pub emails_failed: i64,
    /// Interrupted mid-hand-over by a crash: most likely delivered, never resent.
    pub emails_unconfirmed: i64,
    pub conversions: i64,
    /// Problems logged without failing a run (`flow_log` action `problem`).
    pub problems: i64,
}

/// Every rule that has runs, emails or problems, by name.
pub fn per_rule(conn: &Connection) -> rusqlite::Result<Vec<RuleStats>> {
    let mut stmt = conn.prepare(
        "WITH rules AS (SELECT rule FROM flow_runs
                        UNION SELECT rule FROM flow_outbox WHERE rule IS NOT NULL
                        UNION SELECT rule FROM flow_log WHERE action = 'problem' AND rule IS NOT NULL)
         SELECT rules.rule,
           (SELECT count(*) FROM flow_runs r WHERE r.rule = rules.rule),
           (SELECT count(*) FROM flow_runs r WHERE r.rule = rules.rule AND r.status = 'waiting'),
           (SELECT count(*) FROM flow_runs r WHERE r.rule = rules.rule AND r.status = 'done'),
           (SELECT count(*) FROM flow_runs r WHERE r.rule = rules.rule AND r.status = 'failed'),
           (SELECT count(*) FROM flow_runs r WHERE r.rule = rules.rule AND r.status = 'rejected'),
           (SELECT count(*) FROM flow_outbox o WHERE o.rule = rules.rule AND o.status = 'sent'),
           (SELECT count(*) FROM flow_outbox o WHERE o.rule = rules.rule AND o.status IN ('queued', 'sending', 'finalizing')),
           (SELECT count(*) FROM flow_outbox o WHERE o.rule = rules.rule AND o.status = 'failed'),
           (SELECT count(*) FROM flow_runs r WHERE r.rule = rules.rule AND r.converted = 1),
           (SELECT count(*) FROM flow_outbox o WHERE o.rule = rules.rule AND o.status = 'unconfirmed'),
           (SELECT count(*) FROM flow_log l WHERE l.rule = rules.rule AND l.action = 'problem')
         FROM rules ORDER BY rules.rule",
    )?;
    stmt.query_map([], |r| {
        Ok(RuleStats {
            rule: r.get(0)?,
            started: r.get(1)?,
            waiting: r.get(2)?,
            done: r.get(3)?,
            failed: r.get(4)?,
            rejected: r.get(5)?,
            emails_sent: r.get(6)?,
            emails_queued: r.get(7)?,
            emails_failed: r.get(8)?,
            conversions: r.get(9)?,
            emails_unconfirmed: r.get(10)?,
            problems: r.get(11)?,
        })
    })?
    .collect()
}
