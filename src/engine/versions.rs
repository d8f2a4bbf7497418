//! Editing live rules. A run records the version of its rule it started on
//! (a hash of the rule's text). When the rules change, a waiting run moves
//! to the step of the same name in the new version (steps are named by
//! their label, or `kind#n`: `wait#2` is the rule's second `wait`); if that
//! step is gone, the run cannot continue safely and ends as failed, saying
//! so. `flowc run --dry-run` lists what will happen to each waiting run
//! before anything does.

use super::pc;
use super::runs::Run;
use super::{Engine, EngineError};
use rusqlite::params;

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
    /// The step is gone from the new version (or the rule is): the run
    /// will end as failed when it next wakes.
    Orphaned,
}

impl Engine {
    /// Records the current version of every rule with the project's text.
    pub(crate) fn remember_versions(&self) -> Result<(), EngineError> {
        if self.options.dry_run {
            return Ok(());
        }
        for rule in &self.program.rules {
            self.sql(
                "INSERT OR IGNORE INTO flow_versions (version, rule, project, seen_at) VALUES (?1, ?2, ?3, ?4)",
                params![rule.version, rule.name, self.options.project_text, self.clock.get().max(0)],
            )?;
        }
        Ok(())
    }

    /// What the current rules mean for every waiting run.
    pub fn plan_migrations(&self) -> Result<Vec<Migration>, EngineError> {
        let mut stmt = self.conn.prepare(
            "SELECT id, rule, version, step FROM flow_runs WHERE status = 'waiting' ORDER BY id",
        )?;
        let rows: Vec<(i64, String, String, String)> = stmt
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))?
            .collect::<Result<_, _>>()?;
        Ok(rows
            .into_iter()
            .map(|(run, rule, version, step)| {
                let outcome = match self.program.rule_named(&rule).map(|id| self.rule(id)) {
                    Some(def) if def.version == version => Outcome::Unchanged,
                    Some(def) if pc::find(&def.steps, &step).is_some() => Outcome::Moved,
                    _ => Outcome::Orphaned,
                };
                Migration {
                    run,
                    rule,
                    step,
                    outcome,
                }
            })
            .collect())
    }

    /// The run on the current version of its rule, with its position there;
    /// `None` (and the run failed) if its step no longer exists.
    pub(crate) fn current_version(
        &self,
        run: Run,
        pc: pc::Pc,
    ) -> Result<Option<(Run, pc::Pc)>, EngineError> {
        let (version, step) = (run.version.clone(), run.step.clone());
        let rule = self.rule(run.rule);
        if rule.version == version {
            return Ok(Some((run, pc)));
        }
        match pc::find(&rule.steps, &step) {
            Some(new_pc) => {
                self.sql(
                    "UPDATE flow_runs SET version = ?2, pc = ?3 WHERE id = ?1",
                    params![run.id, rule.version, pc::to_text(&new_pc)],
                )?;
                self.log(
                    Some(&run),
                    &step,
                    "moved to new version",
                    &format!("rule version {}", rule.version),
                )?;
                Ok(Some((run, new_pc)))
            }
            None => {
                let message = format!(
                    "the rule was edited and its step `{step}`, where this run was waiting, no longer exists"
                );
                self.log(Some(&run), &step, "failed", &message)?;
                self.fail(&run, &message)?;
                Ok(None)
            }
        }
    }
}
