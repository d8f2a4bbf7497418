//! External events (`flow_events`): starting `when event …` rules, ending
//! waits whose `unless` they satisfy, and re-checking conditions that read
//! `opened` / `clicked`.

use super::changes::Change;
use super::runs::Cause;
use super::{Engine, EngineError};
use crate::store::events::StoredEvent;
use flowc_check::ir::Trigger;
use std::rc::Rc;

impl Engine {
    /// Unprocessed events stamped at or before the clock, earliest first.
    pub(crate) fn due_events(&self, limit: usize) -> Result<Vec<(i64, i64)>, EngineError> {
        Ok(self.db.due_events(self.clock.get(), limit)?)
    }

    /// Processes one event (checked again here: another process may have).
    /// Whatever another program stored in it, only this event's runs can
    /// fail for it: a payload that cannot be read fails the runs that read
    /// it, and a row the event cannot name is a logged problem.
    pub(crate) fn on_event(&self, seq: i64) -> Result<(), EngineError> {
        let Some(event) = self.db.load_event(seq)? else {
            return Ok(());
        };
        let event = match event {
            Ok(event) => event,
            Err(why) => {
                self.db.mark_event_processed(seq)?;
                self.log(
                    None,
                    "",
                    "event ignored",
                    &format!("flow_events #{seq}: {why}"),
                )?;
                return Ok(());
            }
        };
        if event.processed {
            return Ok(());
        }
        self.db.mark_event_processed(seq)?;
        self.report.borrow_mut().events += 1;
        let StoredEvent {
            name,
            table,
            row_id,
            data,
            ..
        } = event;
        if let Some(why) = &data.unreadable {
            self.log(
                None,
                "",
                "problem",
                &format!("flow_events #{seq} ({name} on {table} #{row_id}): its data is {why}"),
            )?;
        }
        let payload = Rc::new(data);
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
        self.settle_runs()?;
        for run in self.db.waiting_for_event(&table, row_id, &name)? {
            self.end_wait(run, &format!("ended: event {name} arrived"))?;
        }
        // `wait … unless R opened T` / `clicked`: a click is an open too,
        // and an event naming its message ends only the runs that sent it
        // (or sent this record none of the template: §8).
        if name == "email_opened" || name == "email_clicked" {
            let text = |key: &str| {
                payload
                    .get(key)
                    .ok()
                    .flatten()
                    .and_then(|t| t.as_str())
                    .map(str::to_string)
            };
            let template = text("template").unwrap_or_default();
            let message = text("message");
            let seen = crate::store::events::Engagement {
                table: &table,
                row: row_id,
                template: &template,
                clicked: name == "email_clicked",
            };
            self.settle_runs()?;
            let what = if seen.clicked { "clicked" } else { "opened" };
            for run in self.db.waiting_for_engagement(&seen, message.as_deref())? {
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
            events_seq: None,
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
        crate::store::events::record(conn, name, table, row_id, data, at)
    }
}
