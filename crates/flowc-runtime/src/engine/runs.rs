//! Runs: starting one (if the rule's re-entry policy allows), executing its
//! steps until it waits or ends, and recording every transition.

use super::env::Context;
use super::pc::{self, Pc};
use super::run::{Flow, Run};
use super::{Engine, EngineError, RunError};
use crate::store::captured::Captured;
use crate::store::changes::Payload;
use crate::store::events::EventData;
use crate::store::runs::{self as stored, RunState, Transition};
use crate::store::state::StateError;
use flowc_check::ir::{Reenter, RuleDef, RuleId};
use std::rc::Rc;

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
    fn context(
        &self,
        run: i64,
        rule: &RuleDef,
        subject: i64,
        started_at: i64,
        cause: &Cause,
    ) -> Context {
        Context {
            subject: Some((rule.subject, subject)),
            recipient: None,
            old: self.old_values(rule.subject, subject, cause),
            event: cause.event.clone(),
            since: started_at,
            run: Some(run),
        }
    }

    /// The subject's values before the change that started the run (`old.f`).
    pub(crate) fn old_values(
        &self,
        record: flowc_check::ir::RecordId,
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
        self.settle_runs_of(rule.subject, subject)?;
        let (active, last) = self.db.entry_history(table, subject, &rule.name)?;
        if active {
            return Ok(false);
        }
        Ok(match (rule.reenter, last) {
            (_, None) | (Reenter::WhenEnded, _) => true,
            (Reenter::Never, Some(_)) => false,
            (Reenter::After(d), Some(t)) => self.clock.get() >= t.saturating_add(d),
            (Reenter::AfterMonths(m), Some(t)) => {
                flowc_syntax::time::add_months_local(t, m, self.program.schema.timezone)
                    .is_some_and(|due| self.clock.get() >= due)
            }
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
        let trigger = cause.to_json();
        let id = self.db.insert_run(
            &self.new_run(rule, subject, cause, &trigger),
            stored::Start::Running,
        )?;
        let run = Run {
            id,
            rule: rule_id,
            subject,
            depth: cause.depth,
            ctx: self.context(id, rule, subject, now, cause),
            version: rule.version.clone(),
            step: String::new(),
            wake_at: None,
            awaited: None,
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
        if let Some(goal) = rule.goal.as_ref().filter(|g| g.ends_run) {
            // A goal already met when the run starts: nothing to do.
            match self.holds(&goal.condition, &run.ctx) {
                Ok(true) => {
                    self.end_at_goal(&run, "ended: the goal was already met")?;
                    return Ok(Some(id));
                }
                Ok(false) => {}
                Err(e) => {
                    self.log(Some(&run), "", "failed", &format!("the goal: {e}"))?;
                    self.fail(&run, &format!("the goal: {e}"))?;
                    return Ok(Some(id));
                }
            }
        }
        if rule.steps.is_empty() {
            self.finish(&run, RunState::Done, "")?;
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
        if let Some((previous, at)) = self.same_failure(rule, subject, error)? {
            let when = flowc_syntax::time::format_datetime(at, self.program.schema.timezone);
            let detail = format!("the same problem as run #{previous} ({when}): {error}");
            return self.problem(rule_id, Some(subject), Some(previous), "", &detail);
        }
        let trigger = cause.to_json();
        let id = self.db.insert_run(
            &self.new_run(rule, subject, cause, &trigger),
            stored::Start::Failed(error),
        )?;
        let run = Run {
            id,
            rule: rule_id,
            subject,
            depth: cause.depth,
            ctx: Context::default(),
            version: rule.version.clone(),
            step: String::new(),
            wake_at: None,
            awaited: None,
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

    /// The subject's latest run of `rule`, if it failed with `error`: a
    /// sweep meeting the same bad row every day reports it as the same
    /// problem instead of failing a new run each time.
    fn same_failure(
        &self,
        rule: &RuleDef,
        subject: i64,
        error: &str,
    ) -> Result<Option<(i64, i64)>, EngineError> {
        let table = self.table_name(rule.subject);
        self.settle_runs_of(rule.subject, subject)?;
        Ok(self.db.same_failure(table, subject, &rule.name, error)?)
    }

    /// The row a run of `rule` on `subject` starts as.
    fn new_run<'a>(
        &'a self,
        rule: &'a RuleDef,
        subject: i64,
        cause: &Cause,
        trigger: &'a str,
    ) -> stored::NewRun<'a> {
        stored::NewRun {
            rule: &rule.name,
            version: &rule.version,
            subject_table: self.table_name(rule.subject),
            subject,
            at: self.clock.get(),
            trigger,
            start_seq: cause.seq,
            depth: cause.depth,
        }
    }

    /// Logs a problem that fails no run (or no new one): counted per rule
    /// by `flowc stats` and in the run's summary.
    pub(crate) fn problem(
        &self,
        rule_id: RuleId,
        subject: Option<i64>,
        run_id: Option<i64>,
        step: &str,
        detail: &str,
    ) -> Result<(), EngineError> {
        let rule = self.rule(rule_id);
        let subject = subject.map(|id| format!("{} #{id}", self.table_name(rule.subject)));
        self.write_log(
            run_id,
            Some(&rule.name),
            subject.as_deref(),
            step,
            "problem",
            detail,
        )?;
        let line = match &subject {
            Some(s) => format!("{} {s}: {detail}", rule.name),
            None => format!("{}: {detail}", rule.name),
        };
        self.report.borrow_mut().problems.push(line);
        Ok(())
    }

    /// Loads a run. A run that cannot be read (a damaged position,
    /// trigger or wait) is failed with the reason naming its row, and
    /// `None` returned: it never goes on as if nothing happened.
    pub(crate) fn load_run(&self, id: i64) -> Result<Option<(Run, Pc, RunState)>, EngineError> {
        let preloaded = self.preloaded.borrow_mut().remove(&id);
        let loaded = match preloaded {
            Some(run) => run.map(Some),
            None => {
                self.settle_runs()?;
                self.db.load_run(id)
            }
        };
        let stored = match loaded {
            Ok(Some(run)) => run,
            Ok(None) => return Ok(None),
            Err(StateError::Corrupt {
                table,
                row,
                value,
                expected,
            }) => {
                let error = StateError::Corrupt {
                    table,
                    row,
                    value,
                    expected,
                }
                .to_string();
                self.db.fail_unreadable(id, self.clock.get(), &error)?;
                self.write_log(Some(id), None, None, "", "failed", &error)?;
                self.report
                    .borrow_mut()
                    .failures
                    .push(format!("run {id}: {error}"));
                return Ok(None);
            }
            Err(e) => return Err(e.into()),
        };
        let Some(rule_id) = self.program.rule_named(&stored.rule) else {
            if matches!(stored.state, RunState::Waiting | RunState::Running) {
                let error = format!("the rule `{}` no longer exists", stored.rule);
                self.db.apply_transition(
                    id,
                    self.clock.get(),
                    &Transition::Fail { error: &error },
                )?;
            }
            return Ok(None);
        };
        let cause = Cause::from_json(&stored.trigger, stored.start_seq, stored.depth);
        let rule = self.rule(rule_id);
        let ctx = self.context(id, rule, stored.subject_id, stored.started_at, &cause);
        Ok(Some((
            Run {
                id,
                rule: rule_id,
                subject: stored.subject_id,
                depth: stored.depth,
                ctx,
                version: stored.version,
                step: stored.step,
                wake_at: stored.wake_at,
                awaited: stored.awaited,
            },
            stored.pc,
            stored.state,
        )))
    }

    /// Executes steps from `pc` until the run waits or ends.
    pub(crate) fn execute(&self, run: &Run, mut pc: Pc) -> Result<(), EngineError> {
        let rule = self.rule(run.rule);
        loop {
            let Some(step) = pc::step_at(&rule.steps, &pc) else {
                return self.finish_at(run, &pc, "");
            };
            self.covered
                .borrow_mut()
                .insert((rule.name.clone(), step.name.clone()));
            match self.step(run, step, &pc) {
                Ok(Flow::Next) => match pc::next(&rule.steps, &pc) {
                    Some(next) => pc = next,
                    None => return self.finish_at(run, &pc, ""),
                },
                Ok(Flow::Enter(block)) => match pc::enter(&rule.steps, &pc, block) {
                    Some(inside) => pc = inside,
                    None => return self.finish_at(run, &pc, ""),
                },
                Ok(Flow::Wait { wake_at, awaited }) => {
                    let wait = Transition::Wait {
                        pc: &pc,
                        step: &step.name,
                        wake_at,
                        awaited: &awaited,
                    };
                    self.db.apply_transition(run.id, self.clock.get(), &wait)?;
                    let until = wake_at.map(|t| {
                        flowc_syntax::time::format_datetime(t, self.program.schema.timezone)
                    });
                    self.log(
                        Some(run),
                        &step.name,
                        "waiting",
                        &until.map(|u| format!("until {u}")).unwrap_or_default(),
                    )?;
                    return Ok(());
                }
                Ok(Flow::End(note)) => return self.finish_at(run, &pc, &note),
                // Lost a race with another worker: not the run's fault; the
                // whole unit of work is run again (`Engine::transaction`).
                Err(RunError::Database(e)) if e.is_retryable() => {
                    return Err(EngineError::Database(e));
                }
                Err(e) => {
                    self.log(Some(run), &step.name, "failed", &e.to_string())?;
                    return self.fail(run, &e.to_string());
                }
            }
        }
    }

    /// Marks a run finished (`done` or `rejected`), recording whether its
    /// subject met the rule's goal.
    pub(crate) fn finish(&self, run: &Run, state: RunState, note: &str) -> Result<(), EngineError> {
        let rule = self.rule(run.rule);
        let converted = match &rule.goal {
            Some(goal) => self.holds(&goal.condition, &run.ctx).unwrap_or(false),
            None => false,
        };
        self.record_finish(run, state, converted)?;
        self.log(Some(run), "", state.as_str(), note)?;
        self.report.borrow_mut().finished += 1;
        Ok(())
    }

    /// Ends a run whose steps ran out (or stopped) at `pc`: as rejected
    /// inside an `on reject` block, its log line saying so, else as done.
    fn finish_at(&self, run: &Run, pc: &[u32], note: &str) -> Result<(), EngineError> {
        if pc::in_on_reject(&self.rule(run.rule).steps, pc) {
            let note = if note.is_empty() {
                "after its `on reject` steps"
            } else {
                note
            };
            return self.finish(run, RunState::Rejected, note);
        }
        self.finish(run, RunState::Done, note)
    }

    /// Ends a run that cannot go on through no fault of its own (its
    /// subject was deleted), saying why; it does not count as converted.
    pub(crate) fn end_run(&self, run: &Run, why: &str) -> Result<(), EngineError> {
        self.db
            .apply_transition(run.id, self.clock.get(), &Transition::Ended)?;
        self.log(Some(run), "", "done", why)?;
        self.report.borrow_mut().finished += 1;
        Ok(())
    }

    pub(crate) fn fail(&self, run: &Run, error: &str) -> Result<(), EngineError> {
        self.db
            .apply_transition(run.id, self.clock.get(), &Transition::Fail { error })?;
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
        self.write_log(run_id, rule, subject.as_deref(), step, action, detail)
    }

    /// Appends one line to the audit trail (and to a dry run's log).
    fn write_log(
        &self,
        run_id: Option<i64>,
        rule: Option<&str>,
        subject: Option<&str>,
        step: &str,
        action: &str,
        detail: &str,
    ) -> Result<(), EngineError> {
        let entry = crate::store::log::Entry {
            at: self.clock.get(),
            run: run_id,
            rule: rule.map(str::to_string),
            subject: subject.map(str::to_string),
            step: step.to_string(),
            action: action.to_string(),
            detail: detail.to_string(),
        };
        if self.options.dry_run {
            let line = crate::engine::format_log_line(
                &flowc_syntax::time::format_datetime(
                    self.clock.get(),
                    self.program.schema.timezone,
                ),
                run_id,
                rule,
                subject,
                step,
                action,
                detail,
            );
            self.dry_log.borrow_mut().push(line);
        }
        self.append_log(entry)
    }

    /// Continues a waiting run after the step it waited at.
    pub(crate) fn continue_after(&self, run: &Run, pc: &[u32]) -> Result<(), EngineError> {
        // No need to record `running`: the run ends or waits again before
        // this transaction commits, and that write says where it is.
        match pc::next(&self.rule(run.rule).steps, pc) {
            Some(next) => self.execute(run, next),
            None => self.finish_at(run, pc, ""),
        }
    }
}
