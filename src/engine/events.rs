//! External events (`flow_events`): starting `when event …` rules, ending
//! waits whose `unless` they satisfy, and re-checking conditions that read
//! `opened` / `clicked`.

use super::changes::Change;
use super::runs::Cause;
use super::{Engine, EngineError};
use crate::ir::Trigger;
use rusqlite::{OptionalExtension, params};

impl Engine {
    /// Unprocessed events stamped at or before the clock, earliest first.
    pub(crate) fn due_events(&self, limit: usize) -> Result<Vec<(i64, i64)>, EngineError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT seq, at FROM flow_events WHERE processed = 0 AND at <= ?1 ORDER BY at, seq LIMIT ?2",
        )?;
        let rows = stmt.query_map(params![self.clock.get(), limit as i64], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    pub(crate) fn on_event(&self, seq: i64) -> Result<(), EngineError> {
        let row: Option<(String, String, i64, String, i64)> = self
            .conn
            .prepare_cached(
                "SELECT name, tbl, row_id, data, processed FROM flow_events WHERE seq = ?1",
            )?
            .query_row([seq], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
            })
            .optional()?;
        let Some((name, table, row_id, data, processed)) = row else {
            return Ok(());
        };
        if processed != 0 {
            return Ok(());
        }
        self.conn
            .execute("UPDATE flow_events SET processed = 1 WHERE seq = ?1", [seq])?;
        self.report.borrow_mut().events += 1;
        let payload: std::rc::Rc<serde_json::Map<String, serde_json::Value>> =
            match serde_json::from_str(&data) {
                Ok(serde_json::Value::Object(map)) => std::rc::Rc::new(map),
                _ => {
                    self.log(
                        None,
                        "",
                        "event ignored",
                        &format!("event #{seq} {name}: its data is not a JSON object"),
                    )?;
                    return Ok(());
                }
            };
        let Some(record) = self.record_named(&table) else {
            return Ok(());
        };
        if let Some(rules) = self.rules_of.get(&record) {
            for &rule_id in rules {
                if matches!(&self.rule(rule_id).trigger, Trigger::Event { name: n } if *n == name) {
                    let cause = Cause {
                        old: None,
                        old_row: None,
                        event: Some(payload.clone()),
                        seq,
                        depth: 0,
                    };
                    self.start_if(rule_id, row_id, &cause)?;
                }
            }
        }
        // `wait … unless event NAME` on this subject.
        for run in crate::store::runs::waiting_for_event(&self.conn, &table, row_id, &name)? {
            self.end_wait(run, &format!("ended: event {name} arrived"))?;
        }
        // `wait … unless R opened T` / `clicked`.
        if name == "email_opened" || name == "email_clicked" {
            let template = payload
                .get("template")
                .and_then(|t| t.as_str())
                .unwrap_or_default()
                .to_string();
            let clicked = name == "email_clicked";
            for run in crate::store::runs::waiting_for_engagement(
                &self.conn, &table, row_id, &template, clicked,
            )? {
                let what = if clicked { "clicked" } else { "opened" };
                self.end_wait(run, &format!("ended: {template} was {what}"))?;
            }
        }
        // Conditions that read engagement (`if contact opened t`, `wait until …`).
        let change = Change {
            seq,
            table: format!("event:{table}"),
            row_id,
            op: "insert".into(),
            old: None,
            new: None,
            depth: 0,
        };
        self.recheck_for(&change)
    }

    /// Records an event (what `flowc event` and the engine's own
    /// `email_sent` do).
    pub fn record_event(
        conn: &rusqlite::Connection,
        name: &str,
        table: &str,
        row_id: i64,
        data: &str,
        at: i64,
    ) -> rusqlite::Result<i64> {
        conn.execute(
            "INSERT INTO flow_events (name, tbl, row_id, data, at) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![name, table, row_id, data, at],
        )?;
        Ok(conn.last_insert_rowid())
    }
}
