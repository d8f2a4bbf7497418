//! `every … for each R` sweeps: at each scheduled time, every row of R that
//! meets the `where` starts a run (rows that existed before flowc was
//! installed included). The `where` is pushed down to SQLite where its
//! meaning is exactly expressible, so SQLite filters the rows before any is
//! decoded; what cannot be pushed down is evaluated on the rows SQL returns.

use super::runs::Cause;
use super::{Engine, EngineError};
use crate::ir::{RuleId, Trigger};
use crate::store::sql::ident;
use rusqlite::params;

impl Engine {
    /// Gives every sweep rule its first due time (the next occurrence after
    /// the clock), and drops schedules of rules that no longer exist.
    pub(crate) fn ensure_schedules(&self) -> Result<(), EngineError> {
        self.transaction(|| {
            let now = self.clock.get();
            for rule in &self.program.rules {
                if let Trigger::Every { schedule } = rule.trigger {
                    let next =
                        super::schedule::next_after(schedule, now, self.program.schema.timezone);
                    self.sql(
                        "INSERT OR IGNORE INTO flow_schedule (rule, next_at) VALUES (?1, ?2)",
                        params![rule.name, next],
                    )?;
                }
            }
            Ok(())
        })
    }

    /// Sweeps due at or before the clock, earliest first.
    pub(crate) fn due_sweeps(&self) -> Result<Vec<(RuleId, i64)>, EngineError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT rule, next_at FROM flow_schedule WHERE next_at <= ?1 ORDER BY next_at, rule",
        )?;
        let rows: Vec<(String, i64)> = stmt
            .query_map([self.clock.get()], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<Result<_, _>>()?;
        Ok(rows
            .into_iter()
            .filter_map(|(name, at)| self.program.rule_named(&name).map(|id| (id, at)))
            .collect())
    }

    /// Runs one sweep and schedules the next (after the clock: a sweep
    /// missed while flowc was stopped runs once, not once per missed day).
    pub(crate) fn sweep(&self, rule_id: RuleId) -> Result<(), EngineError> {
        let rule = self.rule(rule_id);
        let Trigger::Every { schedule } = rule.trigger else {
            return Ok(());
        };
        // Another process may have run this sweep since we looked.
        let due: Option<i64> = self
            .conn
            .query_row(
                "SELECT next_at FROM flow_schedule WHERE rule = ?1",
                [&rule.name],
                |r| r.get(0),
            )
            .ok();
        if due.is_none_or(|at| at > self.clock.get()) {
            return Ok(());
        }
        let next =
            super::schedule::next_after(schedule, self.clock.get(), self.program.schema.timezone);
        self.sql(
            "UPDATE flow_schedule SET next_at = ?2 WHERE rule = ?1",
            params![rule.name, next],
        )?;
        let plan = super::pushdown::plan(
            &self.program,
            rule.subject,
            rule.filter.as_ref(),
            self.clock.get(),
        );
        let sql = format!(
            "SELECT {0}, {1} FROM {2} WHERE {3} ORDER BY {0}",
            ident("id"),
            plan.exact_sql,
            ident(self.table_name(rule.subject)),
            plan.where_sql
        );
        let candidates: Vec<(i64, bool)> = {
            let mut stmt = self.conn.prepare(&sql)?;
            let rows = stmt.query_map(rusqlite::params_from_iter(plan.params.iter()), |r| {
                Ok((r.get(0)?, r.get::<_, i64>(1)? != 0))
            })?;
            rows.collect::<Result<_, _>>()?
        };
        self.log(
            None,
            "",
            "sweep",
            &format!("rule {}: {} candidate rows", rule.name, candidates.len()),
        )?;
        if let Some(filter) = &rule.filter {
            // A large sweep is worth native code for the `where` at once.
            let inexact = candidates.iter().filter(|(_, exact)| !exact).count();
            if let Ok(code) = self.code(filter) {
                code.prepare(inexact as u64);
            }
        }
        let cause = Cause::default();
        for (id, exact) in candidates {
            // SQLite decided the whole `where`, if the columns it read hold
            // values of their declared types.
            let clean = exact
                && match self.row(rule.subject, id) {
                    Ok(Some(row)) => plan.columns.iter().all(|f| row.problem(*f).is_none()),
                    _ => false,
                };
            if clean {
                self.start_run(rule_id, id, &cause)?;
            } else {
                self.start_if(rule_id, id, &cause)?;
            }
        }
        self.report.borrow_mut().sweeps += 1;
        Ok(())
    }
}
