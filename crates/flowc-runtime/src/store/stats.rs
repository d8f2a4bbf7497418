//! `flowc stats`'s figures: per rule, what its runs and emails did.

use rusqlite::{Connection, OptionalExtension};

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
    /// Not sent because the address is suppressed (§8): the step logged
    /// `suppressed` and the run went on. Not in the outbox.
    pub emails_suppressed: i64,
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
           (SELECT count(*) FROM flow_log l WHERE l.rule = rules.rule AND l.action = 'problem'),
           (SELECT count(*) FROM flow_log l WHERE l.rule = rules.rule AND l.action = 'suppressed')
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
            emails_suppressed: r.get(12)?,
        })
    })?
    .collect()
}

/// What a whole database's runs did, for the demo's summary.
#[derive(Clone, Debug, PartialEq)]
pub struct Totals {
    /// Runs per rule, by rule name.
    pub runs_by_rule: Vec<(String, i64)>,
    pub emails_sent: i64,
    /// The Message-ID of the first sent email of the example template.
    pub example_message: Option<String>,
    pub tasks: i64,
    pub approvals_pending: i64,
    pub failed_runs: i64,
}

pub fn totals(conn: &Connection, example_template: &str) -> rusqlite::Result<Totals> {
    let runs_by_rule = conn
        .prepare("SELECT rule, count(*) FROM flow_runs GROUP BY rule ORDER BY rule")?
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<Result<_, _>>()?;
    let count = |sql: &str| conn.query_row(sql, [], |r| r.get::<_, i64>(0));
    let example_message = conn
        .query_row(
            "SELECT message_id FROM flow_outbox WHERE template = ?1 AND status = 'sent' ORDER BY id LIMIT 1",
            [example_template],
            |r| r.get(0),
        )
        .optional()?;
    Ok(Totals {
        runs_by_rule,
        emails_sent: count("SELECT count(*) FROM flow_outbox WHERE status = 'sent'")?,
        example_message,
        tasks: count("SELECT count(*) FROM flow_tasks")?,
        approvals_pending: count("SELECT count(*) FROM flow_approvals WHERE status = 'pending'")?,
        failed_runs: count("SELECT count(*) FROM flow_runs WHERE status = 'failed'")?,
    })
}
