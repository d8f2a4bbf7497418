//! A run in memory ([`Run`]) and what a step tells it to do next
//! ([`Flow`]): the two types `runs.rs` (which drives a run from step to
//! step) and `steps.rs` (which executes one step) share.

use super::env::Context;
use crate::store::runs::Awaited;
use flowc_check::ir::RuleId;

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
    /// What else its current wait ends on, as loaded.
    pub awaited: Option<Awaited>,
}

/// What the run does after a step.
#[derive(Debug)]
pub(crate) enum Flow {
    Next,
    /// Continue inside block `n` of this step (an `if` branch).
    Enter(u32),
    /// Pause until `wake_at` (if any) or until what it awaits.
    Wait {
        wake_at: Option<i64>,
        awaited: Awaited,
    },
    /// The run ends here (`stop`, or a `wait … unless` that happened).
    End(String),
}
