//! Waiting: registering a wait, waking on the timer, and waking early when
//! the awaited thing happens (an event, an engagement, a condition that a
//! change made true). Waits and events live in one database, ordered by
//! sequence, so an event committed after a wait began always reaches it.

use super::run::{Flow, Run};
use super::versions::Placement;
use super::{Engine, EngineError, RunError};
use crate::store::approvals::Decision;
use crate::store::runs::{Awaited, RunState, Transition};
use flowc_check::ir::{self, StepKind, Unless, Wait};
use flowc_vm::eval::EvalError;
use flowc_vm::value::Value;

impl Engine {
    /// Begins a `wait` step: continue at once if there is nothing to wait
    /// for, end the run if the `unless` already happened, or pause.
    pub(crate) fn wait_step(&self, run: &Run, wait: &Wait) -> Result<Flow, RunError> {
        let now = self.clock.get();
        let ctx = &run.ctx;
        match wait {
            Wait::For { duration, unless } => {
                let seconds = match self.eval(duration, ctx)? {
                    Value::Duration(s) => s.max(0),
                    _ => {
                        return Err(RunError::Eval(EvalError::Unsupported(
                            "the wait's duration is null".into(),
                        )));
                    }
                };
                let wake_at = now.saturating_add(seconds);
                let awaited = match unless {
                    None => Awaited::Time,
                    Some(Unless::Event(name)) => Awaited::Event { name: name.clone() },
                    Some(Unless::Engagement {
                        record,
                        template,
                        clicked,
                    }) => {
                        let Some(row_id) = self.reference(record, ctx)? else {
                            return Ok(Flow::Wait {
                                wake_at: Some(wake_at),
                                awaited: Awaited::Time,
                            });
                        };
                        let table = self.table_of(record);
                        let mut env = super::env::DbEnv { engine: self, ctx };
                        let (ir::Type::Record(rec), t) = (record.ty.base, *template) else {
                            return Ok(Flow::Next);
                        };
                        if flowc_vm::eval::Env::engaged(&mut env, rec, row_id, t, *clicked)? {
                            return Ok(Flow::End(format!(
                                "ended: {} before the wait",
                                if *clicked { "clicked" } else { "opened" }
                            )));
                        }
                        Awaited::Engagement {
                            table: table.to_string(),
                            row: row_id,
                            template: self.program.schema.templates[template.index()].name.clone(),
                            clicked: *clicked,
                        }
                    }
                    Some(Unless::Condition(c)) => {
                        if self.holds(c, ctx)? {
                            return Ok(Flow::End(
                                "ended: the `unless` condition already held".into(),
                            ));
                        }
                        Awaited::Unless
                    }
                };
                Ok(Flow::Wait {
                    wake_at: Some(wake_at),
                    awaited,
                })
            }
            Wait::UntilCondition { condition, at_most } => {
                if self.holds(condition, ctx)? {
                    return Ok(Flow::Next);
                }
                let wake_at = match at_most {
                    Some(d) => match self.eval(d, ctx)? {
                        Value::Duration(s) => Some(now.saturating_add(s.max(0))),
                        _ => None,
                    },
                    None => None,
                };
                Ok(Flow::Wait {
                    wake_at,
                    awaited: Awaited::Until,
                })
            }
            Wait::UntilTime { time } => {
                let wake_at = match self.eval(time, ctx)? {
                    Value::Date(d) => {
                        flowc_syntax::time::start_of_day(d, self.program.schema.timezone)
                    }
                    Value::DateTime(t) => Some(t),
                    _ => {
                        return Err(RunError::Eval(EvalError::Unsupported(
                            "`wait until` got a null date".into(),
                        )));
                    }
                };
                match wake_at {
                    Some(t) if t > now => Ok(Flow::Wait {
                        wake_at: Some(t),
                        awaited: Awaited::Time,
                    }),
                    _ => Ok(Flow::Next),
                }
            }
        }
    }

    /// Waiting runs whose timer is due at or before the clock, earliest first.
    pub(crate) fn due_timers(&self, limit: usize) -> Result<Vec<(i64, i64)>, EngineError> {
        Ok(self.db.due_timers(self.clock.get(), limit)?)
    }

    /// A timer due at `due` fired: that wait is over, the run goes on
    /// after it. Checked again here, inside the transaction: another
    /// process may have woken the run since the timer was read, and the
    /// run may already wait again, on a later timer.
    pub(crate) fn wake(&self, run_id: i64, due: i64) -> Result<(), EngineError> {
        let Some((run, pc, status)) = self.load_run(run_id)? else {
            return Ok(());
        };
        if status != RunState::Waiting || run.wake_at != Some(due) {
            return Ok(());
        }
        match self.place(run, pc)? {
            Placement::Here(run, pc) => {
                self.report.borrow_mut().timers += 1;
                // The next step's log line (at the wake time) records the wake.
                self.continue_after(&run, &pc)
            }
            Placement::Old(old) => self.on_old_version(&old, |e| e.wake(run_id, due)),
            Placement::Gone => {
                self.report.borrow_mut().timers += 1;
                Ok(())
            }
        }
    }

    /// A waiting run's awaited thing happened (`unless`): the run ends.
    pub(crate) fn end_wait(&self, run_id: i64, why: &str) -> Result<(), EngineError> {
        let Some((run, _, status)) = self.load_run(run_id)? else {
            return Ok(());
        };
        if status == RunState::Waiting {
            self.finish(&run, RunState::Done, why)?;
        }
        Ok(())
    }

    /// Re-checks the condition of a waiting run after a change it may
    /// depend on: `until` continues the run, `unless` ends it.
    pub(crate) fn recheck(&self, run_id: i64) -> Result<(), EngineError> {
        let Some((run, pc, status)) = self.load_run(run_id)? else {
            return Ok(());
        };
        if status != RunState::Waiting {
            return Ok(());
        }
        let (run, pc) = match self.place(run, pc)? {
            Placement::Here(run, pc) => (*run, pc),
            Placement::Old(old) => return self.on_old_version(&old, |e| e.recheck(run_id)),
            Placement::Gone => return Ok(()),
        };
        let rule = self.rule(run.rule);
        let Some(step) = super::pc::step_at(&rule.steps, &pc) else {
            return Ok(());
        };
        let (condition, until) = match &step.kind {
            StepKind::Wait(Wait::UntilCondition { condition, .. }) => (condition, true),
            StepKind::Wait(Wait::For {
                unless: Some(Unless::Condition(c)),
                ..
            }) => (c, false),
            _ => return Ok(()),
        };
        match self.holds(condition, &run.ctx) {
            Ok(false) => Ok(()),
            Ok(true) if until => {
                self.log(Some(&run), &step.name, "woke", "the condition became true")?;
                self.continue_after(&run, &pc)
            }
            Ok(true) => self.finish(
                &run,
                RunState::Done,
                "ended: the `unless` condition became true",
            ),
            Err(e) => {
                self.log(Some(&run), &step.name, "failed", &e.to_string())?;
                self.fail(&run, &e.to_string())
            }
        }
    }

    /// The waiting runs of `rule` that a change to `subjects` (`None`:
    /// any) may have brought to their goal.
    pub(crate) fn goal_candidates(
        &self,
        table: &str,
        subjects: Option<std::collections::BTreeSet<i64>>,
        rule: &str,
    ) -> Result<Vec<i64>, EngineError> {
        self.settle_runs()?;
        Ok(match subjects {
            Some(ids) => {
                let mut runs = Vec::new();
                for id in ids {
                    runs.extend(self.db.waiting_runs_of(table, Some(id), rule)?);
                }
                runs
            }
            None => self.db.waiting_runs_of(table, None, rule)?,
        })
    }

    /// Re-checks the goal of a waiting run after a change it may depend
    /// on (`goal COND` without `, continue`): met, the run ends there,
    /// converted, whatever it waited for.
    pub(crate) fn recheck_goal(&self, run_id: i64) -> Result<(), EngineError> {
        let Some((run, pc, status)) = self.load_run(run_id)? else {
            return Ok(());
        };
        if status != RunState::Waiting {
            return Ok(());
        }
        let run = match self.place(run, pc)? {
            Placement::Here(run, _) => *run,
            Placement::Old(old) => return self.on_old_version(&old, |e| e.recheck_goal(run_id)),
            Placement::Gone => return Ok(()),
        };
        let Some(goal) = self.rule(run.rule).goal.as_ref().filter(|g| g.ends_run) else {
            return Ok(());
        };
        match self.holds(&goal.condition, &run.ctx) {
            Ok(false) => Ok(()),
            Ok(true) => self.end_at_goal(&run, "ended: the goal was met"),
            Err(e) => {
                self.log(Some(&run), &run.step, "failed", &format!("the goal: {e}"))?;
                self.fail(&run, &format!("the goal: {e}"))
            }
        }
    }

    /// Ends a run whose goal holds: converted, its wait given up (an
    /// approval it waited for is cancelled, so nobody is asked in vain).
    pub(crate) fn end_at_goal(&self, run: &Run, why: &str) -> Result<(), EngineError> {
        if let Some(Awaited::Approval(approval)) = &run.awaited {
            self.db.cancel_approval(
                *approval,
                self.clock.get(),
                "its run ended: its goal was met",
            )?;
        }
        self.finish(run, RunState::Done, why)
    }

    /// Waiting runs of `rules` on one subject that wait for a condition.
    pub(crate) fn condition_waiters(
        &self,
        table: &str,
        subject: Option<i64>,
        rule: &str,
    ) -> Result<Vec<i64>, EngineError> {
        self.settle_runs()?;
        Ok(self.db.waiting_for_condition(table, subject, rule)?)
    }

    /// Approvals decided since the last look, with their waiting runs.
    pub(crate) fn process_decisions(&self) -> Result<bool, EngineError> {
        let decided = self.db.decided_approvals()?;
        if decided.is_empty() {
            return Ok(false);
        }
        for d in decided {
            self.transaction(|| {
                // Another process may have acted on it since we looked.
                if !self.db.claim_decided_approval(d.approval)? {
                    return Ok(());
                }
                self.decide(d.run, d.approval, d.decision)
            })?;
        }
        Ok(true)
    }

    /// Applies a decided approval to the run waiting for it.
    fn decide(&self, run_id: i64, approval: i64, decision: Decision) -> Result<(), EngineError> {
        let Some((run, pc, run_status)) = self.load_run(run_id)? else {
            return Ok(());
        };
        if run_status != RunState::Waiting || run.awaited != Some(Awaited::Approval(approval)) {
            return Ok(());
        }
        let (run, pc) = match self.place(run, pc)? {
            Placement::Here(run, pc) => (*run, pc),
            Placement::Old(old) => {
                return self.on_old_version(&old, |e| e.decide(run_id, approval, decision));
            }
            Placement::Gone => return Ok(()),
        };
        if decision == Decision::Approved {
            self.log(Some(&run), "", "approved", &format!("approval #{approval}"))?;
            return self.continue_after(&run, &pc);
        }
        self.log(Some(&run), "", "rejected", &format!("approval #{approval}"))?;
        self.db
            .apply_transition(run.id, self.clock.get(), &Transition::Resume)?;
        let rule = self.rule(run.rule);
        let has_on_reject = super::pc::step_at(&rule.steps, &pc)
            .and_then(|s| super::pc::block(s, 0))
            .is_some_and(|b| !b.is_empty());
        if has_on_reject {
            if let Some(inside) = super::pc::enter(&rule.steps, &pc, 0) {
                self.execute(&run, inside)?;
            }
            // After `on reject`, the run ends as rejected (unless it failed).
            self.settle_runs()?;
            self.db
                .apply_transition(run.id, self.clock.get(), &Transition::Rejected)?;
            Ok(())
        } else {
            self.finish(
                &run,
                RunState::Rejected,
                &format!("approval #{approval} rejected"),
            )
        }
    }
}
