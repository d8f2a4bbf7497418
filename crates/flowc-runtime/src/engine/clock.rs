//! The engine's clock and the main loop that moves it.
//!
//! The clock is stored in the database (`flow_meta.clock`) and never goes
//! backwards. [`Advance::To`] sets it to a time (the wall clock, or
//! `--now`) and processes everything due by then; [`Advance::Until`] walks
//! it through every due time up to the target, so that each wait wakes at
//! its own time (the time machine simulations and tests use).
//!
//! At any one time, pending changes are processed first (in commit order),
//! then due items in time order; at the same instant events come before
//! timers, so an event stamped exactly at the end of a `wait … unless`
//! still counts as arriving during the wait.

use super::{Engine, EngineError};
use chrono_tz::Tz;

/// How far to move the clock.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Advance {
    /// Jump to this time and process everything due by then.
    To(i64),
    /// Walk to this time through every due item, each at its own time.
    Until(i64),
}

/// Parses a TIME argument: `YYYY-MM-DD`, `YYYY-MM-DDTHH:MM[:SS]` in the
/// project's time zone, or RFC 3339 with an offset.
pub fn parse_time(text: &str, zone: Tz) -> Result<i64, String> {
    flowc_syntax::time::parse_datetime(text.trim(), zone).ok_or_else(|| {
        format!("`{text}` is not a time; write YYYY-MM-DD, YYYY-MM-DDTHH:MM[:SS] or an RFC 3339 time with an offset")
    })
}

/// What is due next, in processing order at equal times.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Item {
    Event(i64),
    Timer(i64),
    Sweep(u32),
}

/// How many due items one transaction processes.
const BATCH: usize = 256;

/// The least time a batch holds the write lock before it gives way to
/// waiting requests (see `process_batch`).
const SLICE: std::time::Duration = std::time::Duration::from_millis(4);

impl Engine {
    /// Moves the clock to `t`, or to the stored clock if another process
    /// has already moved it further: the clock never goes backwards.
    fn set_clock(&self, t: i64) -> Result<(), EngineError> {
        let now = if self.options.dry_run {
            t
        } else {
            self.db.advance_clock(t)?
        };
        self.clock.set(now);
        Ok(())
    }

    fn format(&self, t: i64) -> String {
        flowc_syntax::time::format_datetime(t, self.program.schema.timezone)
    }

    /// Moves the clock and processes everything due on the way.
    pub fn advance(&self, how: Advance) -> Result<(), EngineError> {
        let target = match how {
            Advance::To(t) | Advance::Until(t) => t,
        };
        if let Some(current) = self.clock()
            && target < current
        {
            return Err(EngineError::ClockBackwards {
                clock: self.format(current),
                requested: self.format(target),
            });
        }
        use crate::store::tx::Scope;
        if self.options.dry_run {
            self.db.begin(Scope::Transaction)?;
        }
        let result = self.advance_inner(how, target);
        if self.options.dry_run {
            self.db.rollback(Scope::Transaction)?;
        }
        result
    }

    fn advance_inner(&self, how: Advance, target: i64) -> Result<(), EngineError> {
        let start = match (how, self.clock()) {
            (Advance::Until(_), Some(current)) => current,
            _ => target,
        };
        self.set_clock(start)?;
        self.remember_versions()?;
        self.ensure_schedules()?;
        loop {
            self.drain()?;
            if matches!(how, Advance::To(_)) {
                break;
            }
            match self.next_due_after(self.clock.get())? {
                Some(t) if t <= target => self.set_clock(t)?,
                _ => break,
            }
        }
        if self.clock.get() < target {
            self.set_clock(target)?;
            self.drain()?;
        }
        Ok(())
    }

    /// Processes everything due at or before the clock.
    fn drain(&self) -> Result<(), EngineError> {
        loop {
            let mut worked = self.process_changes()?;
            worked |= self.process_decisions()?;
            // Something is due: the items are chosen again inside the unit
            // of work that handles them, after claiming them (PostgreSQL: a
            // shard no other worker holds), so no two workers take the same.
            let due = self.next_batch()?.is_some();
            let batched = due
                && self.transaction(|| {
                    self.db.claim_due(self.clock.get())?;
                    let Some(batch) = self.next_batch()? else {
                        return Ok(false);
                    };
                    self.process_batch(&batch)?;
                    Ok(true)
                })?;
            if batched {
                self.tick();
                continue;
            }
            if !worked {
                return Ok(());
            }
        }
    }

    /// Processes due items in order in one transaction. Items due at the
    /// batch's first time all go; a later one goes only while nothing done
    /// so far wrote a change or an event, which must be processed before
    /// anything due later (the rest stays due for the next batch). A batch
    /// also ends once it has had its [`SLICE`] and requests wait for the
    /// write lock it holds (`Store::others_wait`: `flowc serve` on SQLite):
    /// they wait for a slice, not for a whole batch, and the engine still
    /// gets its share of the lock under a flood of requests.
    fn process_batch(&self, batch: &[(i64, Item)]) -> Result<(), EngineError> {
        let Some(&(first_time, _)) = batch.first() else {
            return Ok(());
        };
        // Read the due runs in one statement. Within a batch of timers only
        // a run's own wake changes its row, so each read stays true until
        // its wake takes it.
        let timers: Vec<i64> = batch
            .iter()
            .filter_map(|(_, item)| match item {
                Item::Timer(run) => Some(*run),
                _ => None,
            })
            .collect();
        if timers.len() > 1 {
            let mut preloaded = self.preloaded.borrow_mut();
            preloaded.extend(self.db.load_runs(&timers)?);
        }
        // Runs that finish go in one statement per chunk (Engine::record_finish).
        let sweep = batch.iter().any(|(_, item)| matches!(item, Item::Sweep(_)));
        self.journal
            .collect_finishes
            .set(!timers.is_empty() || sweep);
        let result = self.process_items(batch, first_time);
        self.journal.collect_finishes.set(false);
        self.preloaded.borrow_mut().clear();
        result
    }

    fn process_items(&self, batch: &[(i64, Item)], first_time: i64) -> Result<(), EngineError> {
        let started = std::time::Instant::now();
        let quiet = self.activity()?;
        for &(time, item) in batch {
            if time != first_time && self.activity()? != quiet {
                break;
            }
            match item {
                Item::Event(seq) => self.on_event(seq)?,
                Item::Timer(run) => self.wake(run, time)?,
                Item::Sweep(rule) => self.sweep(flowc_check::ir::RuleId(rule))?,
            }
            if started.elapsed() >= SLICE && self.db.others_wait() {
                break;
            }
        }
        Ok(())
    }

    /// The newest change and event: when either moves, processing wrote
    /// something that must be looked at before later items.
    fn activity(&self) -> Result<(i64, i64), EngineError> {
        Ok(self.db.activity()?)
    }

    /// The next due items (all at or before the clock), in processing
    /// order: events or timers, as many of one kind as come in a row (up to
    /// a batch), or a single sweep.
    fn next_batch(&self) -> Result<Option<Vec<(i64, Item)>>, EngineError> {
        let events = self.due_events(BATCH)?;
        let timers = self.due_timers(BATCH)?;
        let sweeps = self.due_sweeps()?;
        let mut candidates: Vec<(i64, Item)> = Vec::new();
        candidates.extend(events.iter().map(|&(seq, at)| (at, Item::Event(seq))));
        candidates.extend(timers.iter().map(|&(run, at)| (at, Item::Timer(run))));
        candidates.extend(sweeps.iter().map(|&(rule, at)| (at, Item::Sweep(rule.0))));
        candidates.sort();
        let Some(&(_, first)) = candidates.first() else {
            return Ok(None);
        };
        let same = |item: &Item| std::mem::discriminant(item) == std::mem::discriminant(&first);
        let batch: Vec<(i64, Item)> = candidates
            .into_iter()
            .take_while(|(_, item)| same(item))
            .take(if matches!(first, Item::Sweep(_)) {
                1
            } else {
                BATCH
            })
            .collect();
        Ok(Some(batch))
    }

    /// The earliest time after `t` at which something is due.
    fn next_due_after(&self, t: i64) -> Result<Option<i64>, EngineError> {
        Ok(self.db.next_due_after(t)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::Options;
    use std::cell::RefCell;
    use std::rc::Rc;

    /// An engine for `text` on an in-memory database with its tables, its
    /// clock at 0.
    pub(super) fn started(text: &str) -> Engine {
        let checked = flowc_check::project::Project::from_texts([("main.flow", text)]).check();
        assert!(!checked.has_errors());
        let conn = rusqlite::Connection::open_in_memory().expect("memory db");
        crate::store::state::migrate(&conn).expect("state tables");
        crate::store::ddl::create_missing(&conn, &checked.program.schema).expect("tables");
        let engine =
            Engine::with_connection(conn, checked.program, Options::default()).expect("engine");
        engine.advance(Advance::To(0)).expect("start");
        engine
    }

    /// The progress callback sees the counts grow between transactions of
    /// one long advance, ending with the whole.
    #[test]
    fn progress_is_reported_between_batches() {
        let text = "record contact {\n  score: int\n}\nrule hot\n  when contact.score changes\n    where contact.score > 5\n  tag contact \"hot\"\nend\n";
        let engine = started(text);
        engine
            .connection()
            .expect("sqlite")
            .execute_batch(
                "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 2000)
                 INSERT INTO contact (id, score) SELECT i, 0 FROM n;
                 UPDATE contact SET score = id % 10;",
            )
            .expect("rows");
        let seen: Rc<RefCell<Vec<usize>>> = Rc::default();
        let log = seen.clone();
        engine.on_progress(std::time::Duration::ZERO, move |_, report| {
            log.borrow_mut().push(report.changes)
        });
        engine.advance(Advance::To(60)).expect("advance");
        let seen = seen.borrow();
        // 2,000 inserts and 1,800 real updates, 512 to a transaction.
        assert!(seen.len() >= 7, "{seen:?}");
        assert!(seen.windows(2).all(|w| w[0] <= w[1]), "{seen:?}");
        assert_eq!(seen.last(), Some(&3800), "{seen:?}");
    }

    /// Runs woken in one batch and ended together are written together
    /// (Engine::record_finish): each ends as it would alone, its goal
    /// counted for its own subject, its audit lines in order.
    #[test]
    fn runs_that_end_in_one_batch_end_each_as_alone() {
        let text = "record contact {\n  score: int\n}\nrule nurture\n  when contact is created\n  goal contact.score > 5, continue\n  wait 1h\n  tag contact \"woken\"\nend\n";
        let engine = started(text);
        engine
            .connection()
            .expect("sqlite")
            .execute_batch(
                "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 300)
                 INSERT INTO contact (id, score) SELECT i, i % 10 FROM n;",
            )
            .expect("rows");
        engine.advance(Advance::To(1)).expect("runs start and wait");
        engine
            .advance(Advance::To(3601))
            .expect("they wake and end");
        let conn = engine.connection().expect("sqlite");
        let runs: Vec<(i64, String, bool)> = conn
            .prepare("SELECT subject_id, status, converted FROM flow_runs ORDER BY subject_id")
            .and_then(|mut s| {
                s.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
                    .collect()
            })
            .expect("runs");
        assert_eq!(runs.len(), 300);
        for (subject, status, converted) in &runs {
            assert_eq!(status, "done", "contact {subject}");
            assert_eq!(*converted, subject % 10 > 5, "contact {subject}");
        }
        // Each run's lines in the order it did things, runs in wake order.
        let lines: Vec<(i64, String)> = conn
            .prepare("SELECT run_id, action FROM flow_log WHERE at > 1 ORDER BY id")
            .and_then(|mut s| s.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?.collect())
            .expect("log");
        let expected: Vec<(i64, String)> = (1..=300)
            .flat_map(|run| [(run, "tagged".to_string()), (run, "done".to_string())])
            .collect();
        assert_eq!(lines, expected);
    }

    /// A process that read a timer before another one woke that run (and
    /// the run now waits again) must leave the run alone.
    #[test]
    fn a_stale_timer_does_not_wake_a_run_that_waits_again() {
        let text = "record contact {\n  score: int\n}\nrule twice\n  when contact is created\n  wait 1h\n  tag contact \"a\"\n  wait 1h\n  tag contact \"b\"\nend\n";
        let engine = started(text);
        engine
            .connection()
            .expect("sqlite")
            .execute("INSERT INTO contact (id, score) VALUES (1, 0)", [])
            .expect("row");
        engine
            .advance(Advance::To(1))
            .expect("run starts, waits until 3601");
        engine
            .advance(Advance::To(3601))
            .expect("wakes, waits until 7201");
        let tags = |engine: &Engine| -> Vec<String> {
            let mut stmt = engine
                .connection()
                .expect("sqlite")
                .prepare("SELECT tag FROM flow_tags ORDER BY tag")
                .expect("query");
            stmt.query_map([], |r| r.get(0))
                .expect("rows")
                .collect::<Result<_, _>>()
                .expect("tags")
        };
        assert_eq!(tags(&engine), ["a"]);
        engine
            .transaction(|| engine.wake(1, 3601))
            .expect("stale wake");
        assert_eq!(tags(&engine), ["a"], "the second wait was not skipped");
        engine
            .advance(Advance::To(7201))
            .expect("the real second wake");
        assert_eq!(tags(&engine), ["a", "b"]);
    }

    /// Two engines on one file: the slower one, which read the clock before
    /// the faster one moved it on, must not write its older time back.
    #[test]
    fn a_slow_process_never_moves_the_stored_clock_back() {
        let text = "record contact {\n  score: int\n}\n";
        let dir = tempfile::tempdir().expect("tmp");
        let path = dir.path().join("crm.sqlite");
        let open = || {
            let checked = flowc_check::project::Project::from_texts([("main.flow", text)]).check();
            let conn = crate::store::state::open(&path).expect("db");
            crate::store::ddl::create_missing(&conn, &checked.program.schema).expect("tables");
            Engine::with_connection(conn, checked.program, Options::default()).expect("engine")
        };
        let slow = open();
        slow.advance(Advance::To(10)).expect("first run");
        let fast = open();
        fast.advance(Advance::To(100)).expect("fast run");
        slow.advance(Advance::To(50)).expect("slow run");
        let stored = crate::store::state::clock(slow.connection().expect("sqlite")).expect("clock");
        assert_eq!(stored, Some(100));
        assert_eq!(
            slow.clock(),
            Some(100),
            "the slow engine adopts the later clock"
        );
    }

    /// A damaged watermark stops the engine with the row's name instead of
    /// processing every captured change again.
    #[test]
    fn a_damaged_watermark_is_an_error_not_zero() {
        let text = "record contact {\n  score: int\n}\nrule hot\n  when contact is created\n  tag contact \"new\"\nend\n";
        let engine = started(text);
        engine
            .connection()
            .expect("sqlite")
            .execute_batch(
                "INSERT INTO flow_meta (key, value) VALUES ('changes_done', 'x1')
                 ON CONFLICT (key) DO UPDATE SET value = excluded.value;
                 INSERT INTO contact (id, score) VALUES (1, 0);",
            )
            .expect("damage");
        let err = engine.advance(Advance::To(60)).expect_err("refused");
        assert!(
            err.to_string()
                .contains("flow_meta row `changes_done` holds \"x1\""),
            "{err}"
        );
    }
}

/// Catching up in one jump (`Advance::To`, overdue items batched) ends in
/// the same records as walking through every due time (`Advance::Until`,
/// each item at its own time), whatever order the waits fall due in. (Runs
/// that a jump starts wait from the jump's time, so the rules here start
/// waits only on creation, which both do alike.)
#[cfg(test)]
mod batching_props {
    use super::*;
    use proptest::prelude::*;

    const RULES: &str = "record contact {\n  replied: int\n  score: int\n}\n\
        rule reply\n  when contact is created\n  wait 1h\n  set contact.replied = 1\nend\n\
        rule remind\n  when contact is created\n  wait 90m unless contact.replied == 1\n  tag contact \"reminded\"\nend\n\
        rule nudge\n  when contact is created\n  wait 70m unless contact.replied == 2\n  set contact.score = contact.score + 1\nend\n\
        rule bump\n  when contact.replied changes\n  set contact.score = contact.score + 10\n  tag contact \"bumped\"\nend\n\
        rule late\n  when contact.score changes\n    where contact.replied == 1\n  tag contact \"late\"\nend\n";

    /// Contacts created at `offsets` (seconds), replies forced at
    /// `replies` (contact index, seconds); then one catch-up to 10 hours.
    fn outcome(offsets: &[i64], replies: &[(usize, i64)], walk: bool) -> Vec<String> {
        let engine = super::tests::started(RULES);
        let mut events: Vec<(i64, Option<usize>)> = offsets.iter().map(|&t| (t, None)).collect();
        events.extend(replies.iter().map(|&(i, t)| (t, Some(i % offsets.len()))));
        events.sort();
        let mut created = 0;
        for (t, reply) in events {
            engine.advance(Advance::To(t)).expect("advance");
            let sql = match reply {
                None => {
                    created += 1;
                    format!("INSERT INTO contact (id, replied, score) VALUES ({created}, 0, 0)")
                }
                Some(i) => format!("UPDATE contact SET replied = 2 WHERE id = {}", i + 1),
            };
            engine
                .connection()
                .expect("sqlite")
                .execute(&sql, [])
                .expect("write");
            engine.advance(Advance::To(t)).expect("see the write");
        }
        let end = 10 * 3600;
        let how = if walk {
            Advance::Until(end)
        } else {
            Advance::To(end)
        };
        engine.advance(how).expect("catch up");
        let mut stmt = engine
            .connection().expect("sqlite")
            .prepare(
                "SELECT 'contact ' || id || ': replied ' || replied || ', score ' || score FROM contact
                 UNION ALL SELECT row_id || ' tagged ' || tag FROM flow_tags ORDER BY 1",
            )
            .expect("query");
        stmt.query_map([], |r| r.get(0))
            .expect("rows")
            .collect::<Result<_, _>>()
            .expect("state")
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(40))]
        #[test]
        fn one_jump_ends_like_walking_every_due_time(
            offsets in prop::collection::vec(0i64..7200, 1..6),
            replies in prop::collection::vec((0usize..6, 0i64..9000), 0..4),
        ) {
            let jump = outcome(&offsets, &replies, false);
            let walk = outcome(&offsets, &replies, true);
            prop_assert_eq!(jump, walk);
        }
    }
}
