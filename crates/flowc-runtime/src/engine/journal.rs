//! The unit of work's journal: writes held until the unit commits, so that
//! they go to the database set-based (several rows to a statement): the
//! audit lines always, the runs that end during a batch of timers or a
//! sweep. Anything that reads runs settles the pending ones first; a
//! rolled-back unit discards them with its transaction.

use super::{Engine, EngineError, run};
use crate::store::runs::RunState;
use flowc_check::ir::RecordId;
use std::cell::{Cell, RefCell};

/// Ended runs held at most (four of `runs::finish_all`'s chunks).
const PENDING_FINISHES: usize = 256;

/// A run that ended, not written yet.
#[derive(Clone, Copy)]
struct Finished {
    run: i64,
    subject: (RecordId, i64),
    state: RunState,
    converted: bool,
}

/// Writes waiting for their unit of work to commit: audit lines always,
/// and, during a batch of timers or a sweep, the runs that finished
/// (written before anything reads a run again).
#[derive(Default)]
pub(crate) struct Journal {
    /// Whether a unit of work (transaction or savepoint) is open.
    pub(super) open: Cell<bool>,
    lines: RefCell<Vec<crate::store::log::Entry>>,
    /// Whether finished runs are collected (a batch of timers or a sweep
    /// is running).
    pub(crate) collect_finishes: Cell<bool>,
    finishes: RefCell<Vec<Finished>>,
}

impl Journal {
    /// Forgets what the unit wrote (it is being rolled back).
    pub(super) fn discard(&self) {
        self.lines.borrow_mut().clear();
        self.finishes.borrow_mut().clear();
    }
}

impl Engine {
    /// Appends one audit line: at the end of the unit of work if one is
    /// open (all of its lines in a few statements), at once otherwise.
    pub(crate) fn append_log(&self, entry: crate::store::log::Entry) -> Result<(), EngineError> {
        if self.journal.open.get() {
            self.journal.lines.borrow_mut().push(entry);
            Ok(())
        } else {
            Ok(self.db.append_log(&entry)?)
        }
    }

    /// Finishes a run (`done` or `rejected`): in a batch of timers or a
    /// sweep, with the others of the batch that end alike; at once otherwise.
    pub(crate) fn record_finish(
        &self,
        run: &run::Run,
        state: RunState,
        converted: bool,
    ) -> Result<(), EngineError> {
        if self.journal.open.get() && self.journal.collect_finishes.get() {
            // A sweep may end a million runs in one unit: write them every
            // few chunks, which also bounds `settle_runs_of`'s scan.
            if self.journal.finishes.borrow().len() >= PENDING_FINISHES {
                self.settle_runs()?;
            }
            self.journal.finishes.borrow_mut().push(Finished {
                run: run.id,
                subject: (self.rule(run.rule).subject, run.subject),
                state,
                converted,
            });
            return Ok(());
        }
        let finish = crate::store::runs::Transition::Finish { state, converted };
        self.db
            .apply_transition(run.id, self.clock.get(), &finish)?;
        Ok(())
    }

    /// Writes the finished runs collected so far; called before anything
    /// reads runs.
    pub(crate) fn settle_runs(&self) -> Result<(), EngineError> {
        let finishes = std::mem::take(&mut *self.journal.finishes.borrow_mut());
        if finishes.is_empty() {
            return Ok(());
        }
        let mut groups: Vec<((RunState, bool), Vec<i64>)> = Vec::new();
        for f in finishes {
            let key = (f.state, f.converted);
            match groups.iter_mut().find(|(k, _)| *k == key) {
                Some((_, ids)) => ids.push(f.run),
                None => groups.push((key, vec![f.run])),
            }
        }
        for ((state, converted), ids) in groups {
            self.db
                .finish_runs(&ids, state, converted, self.clock.get())?;
        }
        Ok(())
    }

    /// [`Engine::settle_runs`] before reading only the runs of one subject:
    /// needed only if one of them has ended unwritten (a sweep's runs are
    /// each on a subject of their own).
    pub(crate) fn settle_runs_of(&self, record: RecordId, subject: i64) -> Result<(), EngineError> {
        let pending = self
            .journal
            .finishes
            .borrow()
            .iter()
            .any(|f| f.subject == (record, subject));
        if pending {
            self.settle_runs()?;
        }
        Ok(())
    }

    pub(super) fn write_journal(&self) -> Result<(), EngineError> {
        self.settle_runs()?;
        let lines = std::mem::take(&mut *self.journal.lines.borrow_mut());
        Ok(self.db.append_logs(&lines)?)
    }
}
