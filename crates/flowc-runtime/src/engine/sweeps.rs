//! `every … for each R` sweeps: at each scheduled time, every row of R that
//! meets the `where` starts a run (rows that existed before flowc was
//! installed included). The `where` is pushed down to SQLite where its
//! meaning is exactly expressible, so SQLite filters the rows before any is
//! decoded; what cannot be pushed down is evaluated on the rows SQL returns.

use super::runs::Cause;
use super::{Engine, EngineError};
use flowc_check::ir::{RuleId, Trigger};

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
                    self.db.ensure_schedule(&rule.name, next)?;
                }
            }
            Ok(())
        })
    }

    /// Sweeps due at or before the clock, earliest first.
    pub(crate) fn due_sweeps(&self) -> Result<Vec<(RuleId, i64)>, EngineError> {
        let rows = self.db.due_schedules(self.clock.get())?;
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
        let due = self.db.schedule_next_at(&rule.name)?;
        if due.is_none_or(|at| at > self.clock.get()) {
            return Ok(());
        }
        let next =
            super::schedule::next_after(schedule, self.clock.get(), self.program.schema.timezone);
        self.db.set_schedule_next_at(&rule.name, next)?;
        let plan = crate::store::pushdown::plan(
            &self.program,
            rule.subject,
            rule.filter.as_ref(),
            self.clock.get(),
        );
        let candidates = self
            .db
            .sweep_candidates(self.table_name(rule.subject), &plan)?;
        let rows = candidates.len();
        let before = (self.report.borrow().started, self.held_back(rule_id));
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
            // values of their declared types: its canonical-form check
            // says so, except for text, which may not be UTF-8.
            let clean = exact
                && (!plan.text_columns
                    || match self.row(rule.subject, id) {
                        Ok(Some(row)) => plan.columns.iter().all(|f| row.problem(*f).is_none()),
                        _ => false,
                    });
            if clean {
                self.start_run(rule_id, id, &cause)?;
            } else {
                self.start_if(rule_id, id, &cause)?;
            }
        }
        let (started, (filtered, refused)) =
            (self.report.borrow().started, self.held_back(rule_id));
        let outcome = SweepOutcome {
            rows,
            started: started.saturating_sub(before.0),
            filtered: filtered.saturating_sub(before.1.0) as usize,
            refused: refused.saturating_sub(before.1.1) as usize,
        };
        self.log(None, "", "sweep", &format!("rule {}: {outcome}", rule.name))?;
        self.report.borrow_mut().sweeps += 1;
        Ok(())
    }
}

/// What a sweep did with its candidate rows (those its `where`, as SQL,
/// may select), for its log line.
struct SweepOutcome {
    rows: usize,
    started: usize,
    /// Its `where` was false.
    filtered: usize,
    /// A run of the rule on the row is active, or `reenter` does not allow
    /// another yet.
    refused: usize,
}

impl std::fmt::Display for SweepOutcome {
    /// `3 candidate rows, 1 run started; 2 not started: 1 with `where` false, 1 refused by re-entry (…)`
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let plural =
            |n: usize, one: &str, many: &str| format!("{n} {}", if n == 1 { one } else { many });
        write!(
            f,
            "{}, {} started",
            plural(self.rows, "candidate row", "candidate rows"),
            plural(self.started, "run", "runs")
        )?;
        let left = self.rows.saturating_sub(self.started);
        if left == 0 {
            return Ok(());
        }
        let mut why = Vec::new();
        if self.filtered > 0 {
            why.push(format!("{} with `where` false", self.filtered));
        }
        if self.refused > 0 {
            why.push(format!(
                "{} refused re-entry (a run of the rule on the row is active, or `reenter` does not allow another yet)",
                self.refused
            ));
        }
        let other = left.saturating_sub(self.filtered + self.refused);
        if other > 0 {
            why.push(format!(
                "{other} whose `where` could not be evaluated (see the problem lines)"
            ));
        }
        write!(f, "; {left} not started: {}", why.join(", "))
    }
}

#[cfg(test)]
mod tests {
    use crate::engine::{Advance, Engine, Options};

    /// An engine for `rules` over tables created by `ddl` (the user's own
    /// column types and collations), its clock at 2025-01-01 00:00 UTC.
    fn engine(rules: &str, ddl: &str) -> Engine {
        let checked = flowc_check::project::Project::from_texts([("main.flow", rules)]).check();
        assert!(!checked.has_errors(), "{rules}");
        let conn = rusqlite::Connection::open_in_memory().expect("memory db");
        crate::store::state::migrate(&conn).expect("state tables");
        conn.execute_batch(ddl).expect("tables");
        let engine =
            Engine::with_connection(conn, checked.program, Options::default()).expect("engine");
        engine.advance(Advance::To(1_735_689_600)).expect("start");
        engine
    }

    fn strings(engine: &Engine, sql: &str) -> Vec<String> {
        let mut stmt = engine
            .connection()
            .expect("sqlite")
            .prepare(sql)
            .expect("query");
        stmt.query_map([], |r| r.get(0))
            .expect("rows")
            .collect::<Result<_, _>>()
            .expect("strings")
    }

    const DAY: i64 = 86_400;

    /// A sweep's runs that end are written together (Engine::record_finish):
    /// each ends as alone, its goal for its own row, and the next day's
    /// sweep sees them ended and when they started (`reenter after`).
    #[test]
    fn a_sweeps_runs_end_each_as_alone_and_count_for_reentry() {
        let rules = "timezone \"UTC\"\nrecord account {\n  score: int\n}\n\
            rule hot\n  every day at \"09:00\" for each account\n    where account.score > 2\n  \
            reenter after 2d\n  goal account.score > 6\n  tag account \"hot\"\nend\n";
        let ddl = "CREATE TABLE account (id INTEGER PRIMARY KEY, score INTEGER);
            WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 200)
            INSERT INTO account (id, score) SELECT i, i % 10 FROM n;";
        let e = engine(rules, ddl);
        e.advance(Advance::To(1_735_689_600 + 10 * 3600))
            .expect("first sweep");
        let runs = strings(
            &e,
            "SELECT subject_id || ' ' || status || ' ' || converted FROM flow_runs ORDER BY subject_id",
        );
        let expected: Vec<String> = (1..=200)
            .filter(|i| i % 10 > 2)
            .map(|i| format!("{i} done {}", i32::from(i % 10 > 6)))
            .collect();
        assert_eq!(runs, expected);
        e.advance(Advance::To(1_735_689_600 + DAY + 10 * 3600))
            .expect("second sweep: too soon to re-enter");
        assert_eq!(strings(&e, "SELECT count(*) || '' FROM flow_runs"), ["140"]);
        e.advance(Advance::To(1_735_689_600 + 2 * DAY + 10 * 3600))
            .expect("third sweep: re-entered");
        assert_eq!(
            strings(
                &e,
                "SELECT count(*) || '' FROM flow_runs WHERE status = 'done'"
            ),
            ["280"]
        );
    }

    /// A sweep's log line says how many of its candidate rows started a
    /// run, and why the others did not (before: only "140 candidate rows").
    #[test]
    fn a_sweeps_log_line_says_how_many_runs_started_and_why_not() {
        let rules = "timezone \"UTC\"\nrecord account {\n  score: int\n}\n\
            rule hot\n  every day at \"09:00\" for each account\n    where account.score > 2\n  \
            reenter after 2d\n  tag account \"hot\"\nend\n";
        let ddl = "CREATE TABLE account (id INTEGER PRIMARY KEY, score INTEGER);
            INSERT INTO account (id, score) VALUES (1, 5), (2, 1), (3, 9);";
        let e = engine(rules, ddl);
        e.advance(Advance::To(1_735_689_600 + 10 * 3600))
            .expect("first sweep");
        e.advance(Advance::To(1_735_689_600 + DAY + 10 * 3600))
            .expect("two sweeps");
        assert_eq!(
            strings(
                &e,
                "SELECT detail FROM flow_log WHERE action = 'sweep' ORDER BY id"
            ),
            [
                "rule hot: 2 candidate rows, 2 runs started",
                "rule hot: 2 candidate rows, 0 runs started; 2 not started: 2 refused re-entry \
                 (a run of the rule on the row is active, or `reenter` does not allow another yet)",
            ]
        );
    }

    /// A sweep that ends more runs than the journal holds writes them as it
    /// goes: every run ends, none is lost or left running.
    #[test]
    fn a_sweep_ending_more_runs_than_the_journal_holds_ends_them_all() {
        let rules = "timezone \"UTC\"\nrecord account {\n  score: int\n}\n\
            rule all\n  every day at \"09:00\" for each account\n  tag account \"seen\"\nend\n";
        let ddl = "CREATE TABLE account (id INTEGER PRIMARY KEY, score INTEGER);
            WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 1000)
            INSERT INTO account (id, score) SELECT i, 0 FROM n;";
        let e = engine(rules, ddl);
        e.advance(Advance::To(1_735_689_600 + 10 * 3600))
            .expect("sweep");
        assert_eq!(
            strings(
                &e,
                "SELECT status || ' ' || count(*) FROM flow_runs GROUP BY status"
            ),
            ["done 1000"]
        );
    }

    /// SQLite compares by its affinity rules and the column's collation;
    /// the sweep must select exactly the rows flow's `where` selects.
    #[test]
    fn a_sweep_selects_by_flow_semantics_whatever_sqlite_stores() {
        let rules = "timezone \"UTC\"\nenum level { \"low\", \"high\" }\n\
            record job {\n  rate: decimal\n  name: text\n  due: date?\n  level: level\n}\n\
            rule pricey\n  every day at \"09:00\" for each job\n    where job.rate > 9\n  tag job \"pricey\"\nend\n\
            rule abc\n  every day at \"09:00\" for each job\n    where job.name == \"abc\"\n  tag job \"abc\"\nend\n\
            rule soon\n  every day at \"09:00\" for each job\n    where job.due < 2025-02-01\n  tag job \"soon\"\nend\n\
            rule high\n  every day at \"09:00\" for each job\n    where job.level == \"high\"\n  tag job \"high\"\nend\n";
        // `rate` is TEXT (a decimal stored as text, as the brief allows),
        // `name` ignores case in SQLite's own comparisons.
        let ddl = "CREATE TABLE job (id INTEGER PRIMARY KEY, rate TEXT, name TEXT COLLATE NOCASE, due DATE, level TEXT);
            INSERT INTO job VALUES
              (1, '9.5', 'abc', '2025-01-15', 'high'),
              (2, '10',  'ABC', '2025-1-5',   'low'),
              (3, '8',   'abd', NULL,         'high'),
              (4, 12,    'abc', '2025-03-01', 'low');";
        let e = engine(rules, ddl);
        e.advance(Advance::To(1_735_689_600 + DAY)).expect("sweep");
        let tagged = |tag: &str| {
            strings(
                &e,
                &format!(
                    "SELECT group_concat(row_id) FROM (SELECT row_id FROM flow_tags WHERE tag = '{tag}' ORDER BY row_id)"
                ),
            )
        };
        assert_eq!(tagged("pricey"), ["1,2,4"]);
        assert_eq!(tagged("abc"), ["1,4"]);
        // `2025-1-5` is the 5th of January to flowc (it reads the date).
        assert_eq!(tagged("soon"), ["1,2"]);
        assert_eq!(tagged("high"), ["1,3"]);
    }

    /// A value that cannot be read fails a run naming the row, instead of
    /// the row being skipped silently; the next day's sweep says it is the
    /// same problem rather than failing it anew.
    #[test]
    fn a_bad_value_in_a_sweep_is_reported_once_and_then_as_the_same_problem() {
        let rules = "timezone \"UTC\"\nrecord account {\n  renewal: date\n}\n\
            rule renew\n  every day at \"09:00\" for each account\n    where account.renewal < 2025-06-01\n  tag account \"renew\"\nend\n";
        let ddl = "CREATE TABLE account (id INTEGER PRIMARY KEY, renewal DATE);
            INSERT INTO account VALUES (1, '2025-05-01'), (2, 'next spring');";
        let e = engine(rules, ddl);
        e.advance(Advance::Until(1_735_689_600 + 3 * DAY))
            .expect("three sweeps");
        assert_eq!(
            strings(&e, "SELECT group_concat(row_id) FROM flow_tags"),
            ["1"]
        );
        let failed = strings(
            &e,
            "SELECT subject_id || ': ' || error FROM flow_runs WHERE status = 'failed'",
        );
        assert_eq!(failed.len(), 1, "{failed:?}");
        assert!(
            failed[0].starts_with("2: ")
                && failed[0].contains("next spring")
                && failed[0].contains("renewal"),
            "{failed:?}"
        );
        let again = strings(
            &e,
            "SELECT detail FROM flow_log WHERE action = 'problem' ORDER BY id",
        );
        assert_eq!(again.len(), 2, "{again:?}");
        assert!(again[0].contains("the same problem as run #"), "{again:?}");
    }
}
