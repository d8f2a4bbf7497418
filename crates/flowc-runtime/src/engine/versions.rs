//! Editing live rules. A run records the version of its rule it started on
//! (a hash of the rule's text); every version is kept in `flow_versions`
//! with the whole project's text. When the rules change, a waiting run
//! moves to the step of the same name in the new version (steps are named
//! by their label, or `kind#n`: `wait#2` is the rule's second `wait`). If
//! that step is gone, the run finishes on its old version: the old
//! project's text is checked again and an engine for it, sharing this
//! engine's connection and clock, takes the run's next steps. Only when
//! the old text cannot be rebuilt (or the rule was deleted) does the run
//! end as failed, saying why. `flowc run --dry-run` lists what will happen
//! to each waiting run before anything does.

use super::pc;
use super::run::Run;
use super::{Engine, EngineError};
use flowc_check::project::Project;
use std::rc::Rc;

/// What the new rules mean for one waiting run.
#[derive(Clone, Debug, PartialEq)]
pub struct Migration {
    pub run: i64,
    pub rule: String,
    pub step: String,
    pub outcome: Outcome,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Outcome {
    /// Same version: nothing changes.
    Unchanged,
    /// Continues at the same-named step of the new version.
    Moved,
    /// The step is gone from the new version: the run finishes on the
    /// version it started on.
    FinishesOnOld,
    /// The rule was deleted: the run will end as failed when it next wakes.
    Deleted,
    /// The step is gone and the old version cannot be rebuilt (why): the
    /// run will end as failed when it next wakes.
    Orphaned(String),
}

/// An engine for an old version of the rules, or why there is none.
pub(crate) type OldVersion = Result<Rc<Engine>, String>;

/// Where a waiting run goes on.
pub(crate) enum Placement {
    /// On this engine's rules, at `pc`.
    Here(Box<Run>, pc::Pc),
    /// On the engine of the version it started on.
    Old(Rc<Engine>),
    /// Nowhere: it was failed, saying why.
    Gone,
}

impl Engine {
    /// Records the current version of every rule with the project's text.
    pub(crate) fn remember_versions(&self) -> Result<(), EngineError> {
        if self.options.dry_run {
            return Ok(());
        }
        if !self.options.project_text.is_empty() {
            self.db.remember_project(&self.options.project_text)?;
        }
        for rule in &self.program.rules {
            self.db.remember_version(
                &rule.version,
                &rule.name,
                &self.options.project_text,
                self.clock.get().max(0),
            )?;
        }
        Ok(())
    }

    /// What the current rules mean for every waiting run.
    pub fn plan_migrations(&self) -> Result<Vec<Migration>, EngineError> {
        let mut plan = Vec::new();
        for waiting in self.db.waiting_runs()? {
            let crate::store::runs::WaitingAt {
                id: run,
                rule,
                version,
                step,
            } = waiting;
            let outcome = match self.program.rule_named(&rule).map(|id| self.rule(id)) {
                None => Outcome::Deleted,
                Some(def) if def.version == version => Outcome::Unchanged,
                Some(def) if pc::find(&def.steps, &step).is_some() => Outcome::Moved,
                Some(_) => match self.old_version(&rule, &version)? {
                    Ok(_) => Outcome::FinishesOnOld,
                    Err(why) => Outcome::Orphaned(why),
                },
            };
            plan.push(Migration {
                run,
                rule,
                step,
                outcome,
            });
        }
        Ok(plan)
    }

    /// The engine for `version` of `rule`, built from the project text
    /// stored with it (once per version).
    pub(crate) fn old_version(&self, rule: &str, version: &str) -> Result<OldVersion, EngineError> {
        if let Some(old) = self.old_versions.borrow().get(version) {
            return Ok(old.clone());
        }
        let text = self.db.version_project(rule, version)?;
        let old = match text {
            Some(text) if !text.is_empty() => self.rebuild(rule, version, &text),
            _ => Err("its old version was not kept".to_string()),
        };
        self.old_versions
            .borrow_mut()
            .insert(version.to_string(), old.clone());
        Ok(old)
    }

    fn rebuild(&self, rule: &str, version: &str, text: &str) -> OldVersion {
        let name = format!("{rule} (version {version})");
        let project = Project::from_snapshot(text)
            .unwrap_or_else(|| Project::from_texts([(name.as_str(), text)]));
        let checked = project.check();
        if let Some(error) = checked.diagnostics.iter().find(|d| d.is_error()) {
            return Err(format!(
                "its old version no longer checks: {}",
                error.message
            ));
        }
        let program = checked.program;
        match program
            .rule_named(rule)
            .map(|id| &program.rules[id.0 as usize])
        {
            Some(def) if def.version == version => {}
            _ => return Err("its old version could not be rebuilt".into()),
        }
        let options = self.options.clone();
        Ok(Rc::new(Engine::assemble(
            self.db.clone(),
            self.journal.clone(),
            program,
            options,
            self.clock.get(),
        )))
    }

    /// Lets the engine of an old version take a run's next steps, inside
    /// the current transaction, and folds what it did into this engine's
    /// report.
    pub(crate) fn on_old_version(
        &self,
        old: &Engine,
        work: impl FnOnce(&Engine) -> Result<(), EngineError>,
    ) -> Result<(), EngineError> {
        old.clock.set(self.clock.get());
        old.forget_rows();
        let result = work(old);
        old.forget_rows();
        // The old version's writes may touch rows this engine has cached.
        self.forget_rows();
        self.report
            .borrow_mut()
            .absorb(std::mem::take(&mut old.report.borrow_mut()));
        self.dry_log
            .borrow_mut()
            .append(&mut old.dry_log.borrow_mut());
        self.covered
            .borrow_mut()
            .extend(old.covered.borrow_mut().drain());
        result
    }

    /// Where a waiting run goes on: here (moved to the same-named step if
    /// its rule was edited), on its old version, or nowhere (then it has
    /// been failed, saying why).
    pub(crate) fn place(&self, run: Run, pc: pc::Pc) -> Result<Placement, EngineError> {
        let (version, step) = (run.version.clone(), run.step.clone());
        let rule = self.rule(run.rule);
        if rule.version == version {
            return Ok(Placement::Here(Box::new(run), pc));
        }
        if let Some(new_pc) = pc::find(&rule.steps, &step) {
            let moved = crate::store::runs::Transition::Move {
                version: &rule.version,
                pc: &new_pc,
            };
            self.db.apply_transition(run.id, self.clock.get(), &moved)?;
            self.log(
                Some(&run),
                &step,
                "moved to new version",
                &format!("rule version {}", rule.version),
            )?;
            return Ok(Placement::Here(Box::new(run), new_pc));
        }
        match self.old_version(&rule.name, &version)? {
            Ok(old) => {
                self.log(
                    Some(&run),
                    &step,
                    "stays on its old version",
                    &format!("rule version {version}: the new version has no step `{step}`"),
                )?;
                Ok(Placement::Old(old))
            }
            Err(why) => {
                let message = format!(
                    "the rule was edited and its step `{step}`, where this run was waiting, no longer exists; {why}"
                );
                self.log(Some(&run), &step, "failed", &message)?;
                self.fail(&run, &message)?;
                Ok(Placement::Gone)
            }
        }
    }
}
