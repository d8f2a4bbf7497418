//! Runs: starting one (if the rule's re-entry policy allows), executing its
//! steps until it waits or ends, and recording every transition.

use super::env::Context;
use super::pc::{self, Pc};
use super::steps::Flow;
use super::{Engine, EngineError};
use crate::ir::{Reenter, RuleDef, RuleId};
use crate::store::captured::Captured;
use crate::store::changes::Payload;
use crate::store::events::EventData;
use rusqlite::{OptionalExtension, params};
use std::rc::Rc;

/// A run being executed.
#[derive(Clone, Debug)]
pub(crate) struct Run {
    pub id: i64,
    pub rule: RuleId,
    pub subject: i64,
    /// How many rule-made changes led to this run.
    pub depth: i64,
    pub ctx: Context,
    /// The rule version the run is on, and the step it last waited at.
    pub version: String,
    pub step: String,
    /// When its current wait ends on a timer, as loaded.
    pub wake_at: Option<i64>,
}

/// What started a run: the change's old values or the event's payload,
/// stored with the run so that a run resumed days later still has them.
#[derive(Clone, Debug, Default)]
pub(crate) struct Cause {
    /// The changed row's old values as captured, stored with the run.
    pub old: Option<Payload>,
    /// The same, decoded once for every rule the change triggers.
    pub old_row: Option<Rc<crate::store::rows::Decoded>>,
    pub event: Option<Rc<EventData>>,
    pub seq: i64,
    pub depth: i64,
}

impl Cause {
    /// `flow_runs.trigger`: `old` (or `old_unreadable`, why), and the
    /// event's payload (see [`EventData::store_in`]).
    fn to_json(&self) -> String {
        let mut o = serde_json::Map::new();
        match &self.old {
            Some(Ok(old)) => {
                o.insert("old".into(), old.to_json());
            }
            Some(Err(why)) => {
                o.insert("old_unreadable".into(), why.clone().into());
            }
            None => {}
        }
        if let Some(event) = &self.event {
            event.store_in(&mut o);
        }
        serde_json::Value::Object(o).to_string()
    }

    /// Reads what [`Cause::to_json`] stored.
    fn from_json(json: &serde_json::Value, seq: i64, depth: i64) -> Cause {
        let old = match (json.get("old"), json.get("old_unreadable")) {
            (Some(old), _) => Some(Ok(Rc::new(Captured::from_json(old)))),
            (None, Some(why)) => Some(Err(why.as_str().unwrap_or_default().to_string())),
            (None, None) => None,
        };
        Cause {
            old,
            old_row: None,
            event: EventData::stored_in(json, seq).map(Rc::new),
            seq,
            depth,
        }
    }
}

impl Engine {
    pub(crate) fn rule(&self, id: RuleId) -> &RuleDef {
        &self.program.rules[id.index()]
    }

    /// The context a run's expressions see.
    fn context(&self, rule: &RuleDef, subject: i64, started_at: i64, cause: &Cause) -> Context {
        Context {
            subject: Some((rule.subject, subject)),
            recipient: None,
            old: self.old_values(rule.subject, subject, cause),
            event: cause.event.clone(),
            since: started_at,
        }
    }

    /// The subject's values before the change that started the run (`old.f`).
    pub(crate) fn old_values(
        &self,
        record: crate::ir::RecordId,
        subject: i64,
        cause: &Cause,
    ) -> Option<Rc<crate::store::rows::Decoded>> {
        cause.old_row.clone().or_else(|| {
            let def = self.program.schema.record(record);
            cause.old.as_ref().map(|payload| {
                Rc::new(match payload {
                    Ok(captured) => crate::store::rows::decode_captured(
                        &self.program.schema,
                        def,
                        subject,
                        captured,
                        None,
                    ),
                    Err(why) => crate::store::rows::unreadable(def, subject, why),
                })
            })
        })
    }

    /// Whether the rule's re-entry policy lets `subject` start a new run now.
    fn may_enter(&self, rule: &RuleDef, subject: i64) -> Result<bool, EngineError> {
        let table = self.table_name(rule.subject);
        let (active, last): (bool, Option<i64>) = self
            .conn
            .prepare_cached(
                "SELECT coalesce(max(status IN ('running', 'waiting')), 0), max(started_at) FROM flow_runs \
                 WHERE subject_id = ?2 AND subject_tbl = ?1 AND rule = ?3 AND subject_gone = 0",
            )?
            .query_row(params![table, subject, rule.name], |r| Ok((r.get(0)?, r.get(1)?)))?;
        if active {
            return Ok(false);
        }
        Ok(match (rule.reenter, last) {
            (_, None) | (Reenter::WhenEnded, _) => true,
            (Reenter::Never, Some(_)) => false,
            (Reenter::After(d), Some(t)) => self.clock.get() >= t.saturating_add(d),
        })
    }

    /// Starts a run of `rule` for `subject` unless re-entry forbids it;
    /// the run executes until it waits or ends.
    pub(crate) fn start_run(
        &self,
        rule_id: RuleId,
        subject: i64,
        cause: &Cause,
    ) -> Result<Option<i64>, EngineError> {
        let rule = self.rule(rule_id);
        if !self.may_enter(rule, subject)? {
            if let Some((_, refused)) = self.held_back.get(rule_id.index()) {
                refused.set(refused.get().saturating_add(1));
            }
            return Ok(None);
        }
        let now = self.clock.get();
        let table = self.table_name(rule.subject).to_string();
        self.sql(
            "INSERT INTO flow_runs (rule, version, subject_tbl, subject_id, status, pc, step, started_at, updated_at, \
             trigger, start_seq, depth) VALUES (?1, ?2, ?3, ?4, 'running', '0', '', ?5, ?5, ?6, ?7, ?8)",
            params![rule.name, rule.version, table, subject, now, cause.to_json(), cause.seq, cause.depth],
        )?;
        let id = self.conn.last_insert_rowid();
        let run = Run {
            id,
            rule: rule_id,
            subject,
            depth: cause.depth,
            ctx: self.context(rule, subject, now, cause),
            version: rule.version.clone(),
            step: String::new(),
            wake_at: None,
        };
        self.log(Some(&run), "", "started", "")?;
        self.report.borrow_mut().started += 1;
        if cause.depth > super::CASCADE_LIMIT {
            let message = format!(
                "stopped a cascade deeper than {} rounds: rules kept changing records that trigger rules \
                 (see `flowc check` warning W0102)",
                super::CASCADE_LIMIT
            );
            self.fail(&run, &message)?;
            return Ok(Some(id));
        }
        if rule.steps.is_empty() {
            self.finish(&run, "done", "")?;
        } else {
            self.execute(&run, vec![0])?;
        }
        Ok(Some(id))
    }

    /// Records a run that failed before its first step: `what` (its
    /// trigger, or its `where`) could not be evaluated.
    pub(crate) fn start_failed(
        &self,
        rule_id: RuleId,
        subject: i64,
        cause: &Cause,
        what: &str,
        error: &str,
    ) -> Result<(), EngineError> {
        let rule = self.rule(rule_id);
        let now = self.clock.get();
        self.sql(
            "INSERT INTO flow_runs (rule, version, subject_tbl, subject_id, status, pc, step, started_at, updated_at, \
             trigger, start_seq, depth, error) VALUES (?1, ?2, ?3, ?4, 'failed', '', '', ?5, ?5, ?6, ?7, ?8, ?9)",
            params![rule.name, rule.version, self.table_name(rule.subject), subject, now, cause.to_json(), cause.seq, cause.depth, error],
        )?;
        let run = Run {
            id: self.conn.last_insert_rowid(),
            rule: rule_id,
            subject,
            depth: cause.depth,
            ctx: Context::default(),
            version: rule.version.clone(),
            step: String::new(),
            wake_at: None,
        };
        self.log(
            Some(&run),
            "",
            "failed",
            &format!("{what} could not be evaluated: {error}"),
        )?;
        self.report.borrow_mut().started += 1;
        self.fail(&run, error)
    }

    /// Loads a waiting or running run.
    pub(crate) fn load_run(&self, id: i64) -> Result<Option<(Run, Pc, String)>, EngineError> {
        let row = self
            .conn
            .prepare_cached(
                "SELECT rule, subject_id, started_at, trigger, depth, pc, status, start_seq, version, step, wake_at \
                 FROM flow_runs WHERE id = ?1",
            )?
            .query_row([id], |r| {
                Ok((
                    (r.get::<_, String>(0)?, r.get::<_, i64>(1)?, r.get::<_, i64>(2)?, r.get::<_, String>(3)?, r.get::<_, i64>(4)?),
                    (r.get::<_, String>(5)?, r.get::<_, String>(6)?, r.get::<_, i64>(7)?, r.get::<_, String>(8)?, r.get::<_, String>(9)?),
                    r.get::<_, Option<i64>>(10)?,
                ))
            })
            .optional()?;
        let Some((
            (rule_name, subject, started_at, trigger, depth),
            (pc_text, status, seq, version, step),
            wake_at,
        )) = row
        else {
            return Ok(None);
        };
        let Some(rule_id) = self.program.rule_named(&rule_name) else {
            if status == "waiting" || status == "running" {
                self.sql(
                    "UPDATE flow_runs SET status = 'failed', wake_at = NULL, error = ?2, updated_at = ?3 WHERE id = ?1",
                    params![id, format!("the rule `{rule_name}` no longer exists"), self.clock.get()],
                )?;
            }
            return Ok(None);
        };
        let json: serde_json::Value = serde_json::from_str(&trigger).unwrap_or_default();
        let cause = Cause::from_json(&json, seq, depth);
        let rule = self.rule(rule_id);
        let ctx = self.context(rule, subject, started_at, &cause);
        let pc = pc::parse(&pc_text).unwrap_or_default();
        Ok(Some((
            Run {
                id,
                rule: rule_id,
                subject,
                depth,
                ctx,
                version,
                step,
                wake_at,
            },
            pc,
            status,
        )))
    }

    /// Executes steps from `pc` until the run waits or ends.
    pub(crate) fn execute(&self, run: &Run, mut pc: Pc) -> Result<(), EngineError> {
        let rule = self.rule(run.rule);
        loop {
            let Some(step) = pc::step_at(&rule.steps, &pc) else {
                return self.finish(run, "done", "");
            };
            self.covered
                .borrow_mut()
                .insert((rule.name.clone(), step.name.clone()));
            match self.step(run, step, &pc) {
                Ok(Flow::Next) => match pc::next(&rule.steps, &pc) {
                    Some(next) => pc = next,
                    None => return self.finish(run, "done", ""),
                },
                Ok(Flow::Enter(block)) => match pc::enter(&rule.steps, &pc, block) {
                    Some(inside) => pc = inside,
                    None => return self.finish(run, "done", ""),
                },
                Ok(Flow::Wait {
                    wake_at,
                    waiting_for,
                }) => {
                    self.sql(
                        "UPDATE flow_runs SET status = 'waiting', pc = ?2, step = ?3, wake_at = ?4, waiting_for = ?5, \
                         updated_at = ?6, wait_tbl = ?7, wait_row = ?8 WHERE id = ?1",
                        params![
                            run.id,
                            pc::to_text(&pc),
                            step.name,
                            wake_at,
                            waiting_for.to_string(),
                            self.clock.get(),
                            waiting_for.get("tbl").and_then(|v| v.as_str()),
                            waiting_for.get("row_id").and_then(|v| v.as_i64())
                        ],
                    )?;
                    let until = wake_at
                        .map(|t| crate::time::format_datetime(t, self.program.schema.timezone));
                    self.log(
                        Some(run),
                        &step.name,
                        "waiting",
                        &until.map(|u| format!("until {u}")).unwrap_or_default(),
                    )?;
                    return Ok(());
                }
                Ok(Flow::End(note)) => return self.finish(run, "done", &note),
                Err(e) => {
                    self.log(Some(run), &step.name, "failed", &e.to_string())?;
                    return self.fail(run, &e.to_string());
                }
            }
        }
    }

    /// Marks a run finished (`done` or `rejected`), recording whether its
    /// subject met the rule's goal.
    pub(crate) fn finish(&self, run: &Run, status: &str, note: &str) -> Result<(), EngineError> {
        let rule = self.rule(run.rule);
        let converted = match &rule.goal {
            Some(goal) => self.holds(goal, &run.ctx).unwrap_or(false),
            None => false,
        };
        self.sql(
            "UPDATE flow_runs SET status = ?2, wake_at = NULL, waiting_for = NULL, wait_tbl = NULL, wait_row = NULL, \
             updated_at = ?3, converted = ?4 \
             WHERE id = ?1",
            params![run.id, status, self.clock.get(), converted],
        )?;
        self.log(Some(run), "", status, note)?;
        self.report.borrow_mut().finished += 1;
        Ok(())
    }

    /// Ends a run that cannot go on through no fault of its own (its
    /// subject was deleted), saying why; it does not count as converted.
    pub(crate) fn end_run(&self, run: &Run, why: &str) -> Result<(), EngineError> {
        self.sql(
            "UPDATE flow_runs SET status = 'done', wake_at = NULL, waiting_for = NULL, wait_tbl = NULL, wait_row = NULL, \
             updated_at = ?2, converted = 0 WHERE id = ?1",
            params![run.id, self.clock.get()],
        )?;
        self.log(Some(run), "", "done", why)?;
        self.report.borrow_mut().finished += 1;
        Ok(())
    }

    pub(crate) fn fail(&self, run: &Run, error: &str) -> Result<(), EngineError> {
        self.sql(
            "UPDATE flow_runs SET status = 'failed', wake_at = NULL, waiting_for = NULL, wait_tbl = NULL, updated_at = ?2, error = ?3 \
             WHERE id = ?1",
            params![run.id, self.clock.get(), error],
        )?;
        let subject = format!(
            "{} #{}",
            self.table_name(self.rule(run.rule).subject),
            run.subject
        );
        self.report.borrow_mut().failures.push(format!(
            "rule {} on {subject}: {error}",
            self.rule(run.rule).name
        ));
        Ok(())
    }

    /// Appends to the audit trail.
    pub(crate) fn log(
        &self,
        run: Option<&Run>,
        step: &str,
        action: &str,
        detail: &str,
    ) -> Result<(), EngineError> {
        let (run_id, rule, subject) = match run {
            Some(r) => {
                let def = self.rule(r.rule);
                (
                    Some(r.id),
                    Some(def.name.as_str()),
                    Some(format!("{} #{}", self.table_name(def.subject), r.subject)),
                )
            }
            None => (None, None, None),
        };
        self.conn
            .prepare_cached("INSERT INTO flow_log (at, run_id, rule, subject, step, action, detail) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)")?
            .execute(params![self.clock.get(), run_id, rule, subject, step, action, detail])?;
        if self.options.dry_run {
            let line = crate::engine::format_log_line(
                &crate::time::format_datetime(self.clock.get(), self.program.schema.timezone),
                run_id,
                rule,
                subject.as_deref(),
                step,
                action,
                detail,
            );
            self.dry_log.borrow_mut().push(line);
        }
        Ok(())
    }

    /// Continues a waiting run after the step it waited at.
    pub(crate) fn continue_after(&self, run: &Run, pc: &[u32]) -> Result<(), EngineError> {
        // No need to record `running`: the run ends or waits again before
        // this transaction commits, and that write says where it is.
        match pc::next(&self.rule(run.rule).steps, pc) {
            Some(next) => self.execute(run, next),
            None => self.finish(run, "done", ""),
        }
    }
}
