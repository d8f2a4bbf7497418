//! What one `flowc run` did, for its summary line.

/// Counts of what the engine did (since the last `take_report`).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Report {
    pub changes: usize,
    pub events: usize,
    pub timers: usize,
    pub sweeps: usize,
    pub started: usize,
    pub finished: usize,
    pub queued: usize,
    pub tasks: usize,
    pub approvals: usize,
    /// One line per run that failed, with why.
    pub failures: Vec<String>,
    /// One line per problem logged without failing a run (a repeated
    /// failure, a `notify role` nobody has, a value a trigger cannot read).
    pub problems: Vec<String>,
}

impl Report {
    pub fn summary(&self) -> String {
        format!(
            "{} changes, {} events, {} timers, {} sweeps: {} runs started, {} finished, {} failed; \
             {} emails queued, {} tasks, {} approvals requested",
            self.changes,
            self.events,
            self.timers,
            self.sweeps,
            self.started,
            self.finished,
            self.failures.len(),
            self.queued,
            self.tasks,
            self.approvals
        ) + &match self.problems.len() {
            0 => String::new(),
            1 => "; 1 problem".into(),
            n => format!("; {n} problems"),
        }
    }
}

/// How far a [`Report`] had counted (`Report::mark`), to forget what a
/// unit of work that is run again counted (`Report::rollback`).
#[derive(Clone, Debug)]
pub(crate) struct Mark {
    counts: [usize; 9],
    failures: usize,
    problems: usize,
}

impl Report {
    fn counts(&self) -> [usize; 9] {
        [
            self.changes,
            self.events,
            self.timers,
            self.sweeps,
            self.started,
            self.finished,
            self.queued,
            self.tasks,
            self.approvals,
        ]
    }

    pub(crate) fn mark(&self) -> Mark {
        Mark {
            counts: self.counts(),
            failures: self.failures.len(),
            problems: self.problems.len(),
        }
    }

    /// Back to what was counted at `mark`.
    pub(crate) fn rollback(&mut self, mark: &Mark) {
        [
            self.changes,
            self.events,
            self.timers,
            self.sweeps,
            self.started,
            self.finished,
            self.queued,
            self.tasks,
            self.approvals,
        ] = mark.counts;
        self.failures.truncate(mark.failures);
        self.problems.truncate(mark.problems);
    }
}

impl Report {
    /// Adds what another engine (an old rule version's) did.
    pub(crate) fn absorb(&mut self, other: Report) {
        self.changes += other.changes;
        self.events += other.events;
        self.timers += other.timers;
        self.sweeps += other.sweeps;
        self.started += other.started;
        self.finished += other.finished;
        self.queued += other.queued;
        self.tasks += other.tasks;
        self.approvals += other.approvals;
        self.failures.extend(other.failures);
        self.problems.extend(other.problems);
    }
}
