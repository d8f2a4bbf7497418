//! The delivery states of a message and the one function that says how a
//! transition changes them.

use super::TABLE;
use crate::store::state::StateError;

/// Where a message is in its delivery.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum State {
    /// Waiting to be sent (again), from `next_attempt_at` on.
    Queued,
    /// Claimed by a worker, which is talking to the server.
    Sending,
    /// The worker is writing (or wrote) the final `.` of DATA: the server
    /// may have the message, so it is never sent again automatically.
    Finalizing,
    Sent,
    /// The final `.` was written but no answer came: for a person to settle.
    Unconfirmed,
    Failed,
}

impl State {
    /// Every state, in lifecycle order.
    pub const ALL: [State; 6] = [
        State::Queued,
        State::Sending,
        State::Finalizing,
        State::Sent,
        State::Unconfirmed,
        State::Failed,
    ];

    /// The name stored in `flow_outbox.status`.
    pub fn as_str(self) -> &'static str {
        match self {
            State::Queued => "queued",
            State::Sending => "sending",
            State::Finalizing => "finalizing",
            State::Sent => "sent",
            State::Unconfirmed => "unconfirmed",
            State::Failed => "failed",
        }
    }

    /// The state named `text`, if any.
    pub fn parse(text: &str) -> Option<State> {
        State::ALL.into_iter().find(|s| s.as_str() == text)
    }

    /// Decodes a stored status: anything but a state's name is an error
    /// naming the row, never a default.
    pub fn decode(text: &str, id: i64) -> std::result::Result<State, StateError> {
        State::parse(text).ok_or_else(|| StateError::Corrupt {
            table: TABLE,
            row: id.to_string(),
            value: text.to_string(),
            expected: "a delivery state (queued, sending, finalizing, sent, unconfirmed, failed)",
        })
    }
}

impl std::fmt::Display for State {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.pad(self.as_str())
    }
}

/// A change of a message's delivery state.
#[derive(Clone, Debug, PartialEq)]
pub enum Transition {
    /// A worker takes a due message, or one whose lease expired, to send it.
    /// The attempt is counted now, so a message that crashes its worker
    /// every time still runs out of attempts.
    Claim { worker: String, lease_until: i64 },
    /// The worker is about to write the final `.` of DATA.
    Finalize,
    /// The server accepted it, or a person says it did.
    Sent { at: i64 },
    /// A temporary failure before the final `.`: try again at `retry_at`
    /// (engine time).
    Defer { retry_at: i64, error: String },
    /// A permanent failure.
    Fail { error: String },
    /// The final `.` was written and no definite answer came.
    Unconfirm { error: String },
    /// Claimed but not attempted after all (delivery paused): back to the
    /// queue, the attempt not counted.
    Release,
    /// A person asks for an unconfirmed message to be sent again.
    Resend { at: i64 },
}

/// What happens to `worker` and `lease_until`.
#[derive(Clone, Debug, PartialEq)]
pub enum Claim {
    Keep,
    Set { worker: String, lease_until: i64 },
    Clear,
}

/// What a transition writes: the new state and the columns that change
/// (`None`: unchanged).
#[derive(Clone, Debug, PartialEq)]
pub struct Update {
    pub state: State,
    /// Added to `attempts`.
    pub attempts: i64,
    pub claim: Claim,
    pub next_attempt_at: Option<i64>,
    /// `Some(None)` clears `last_error`.
    pub last_error: Option<Option<String>>,
    pub sent_at: Option<i64>,
}

/// The lifecycle: what `transition` does to a message in state `from`, or
/// `None` when it does not apply there.
pub fn update(from: State, transition: &Transition) -> Option<Update> {
    use State::*;
    let to = |state: State| Update {
        state,
        attempts: 0,
        claim: Claim::Clear,
        next_attempt_at: None,
        last_error: None,
        sent_at: None,
    };
    Some(match (from, transition) {
        (
            Queued | Sending,
            Transition::Claim {
                worker,
                lease_until,
            },
        ) => Update {
            attempts: 1,
            claim: Claim::Set {
                worker: worker.clone(),
                lease_until: *lease_until,
            },
            ..to(Sending)
        },
        (Sending, Transition::Finalize) => Update {
            claim: Claim::Keep,
            ..to(Finalizing)
        },
        (Sending | Finalizing | Unconfirmed, Transition::Sent { at }) => Update {
            last_error: Some(None),
            sent_at: Some(*at),
            ..to(Sent)
        },
        (Sending, Transition::Defer { retry_at, error }) => Update {
            next_attempt_at: Some(*retry_at),
            last_error: Some(Some(error.clone())),
            ..to(Queued)
        },
        (Sending | Finalizing, Transition::Fail { error }) => Update {
            last_error: Some(Some(error.clone())),
            ..to(Failed)
        },
        (Finalizing, Transition::Unconfirm { error }) => Update {
            last_error: Some(Some(error.clone())),
            ..to(Unconfirmed)
        },
        (Sending, Transition::Release) => Update {
            attempts: -1,
            ..to(Queued)
        },
        (Unconfirmed, Transition::Resend { at }) => Update {
            next_attempt_at: Some(*at),
            ..to(Queued)
        },
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_state_round_trips_and_nothing_else_decodes() {
        for s in State::ALL {
            assert_eq!(State::decode(s.as_str(), 1).ok(), Some(s));
        }
        let e = State::decode("delivered", 42).err().map(|e| e.to_string());
        let e = e.unwrap_or_default();
        assert!(
            e.contains("flow_outbox row 42") && e.contains("delivered"),
            "{e}"
        );
    }

    #[test]
    fn only_the_lifecycle_transitions_apply() {
        use State::*;
        let claim = Transition::Claim {
            worker: "w".into(),
            lease_until: 9,
        };
        assert!(update(Queued, &claim).is_some());
        assert!(update(Finalizing, &claim).is_none(), "never resent");
        assert!(update(Unconfirmed, &claim).is_none(), "never resent");
        let defer = Transition::Defer {
            retry_at: 1,
            error: "451".into(),
        };
        assert!(update(Sending, &defer).is_some());
        assert!(
            update(Finalizing, &defer).is_none(),
            "after the final `.` a message is never queued again automatically"
        );
        assert!(update(Sent, &Transition::Resend { at: 0 }).is_none());
        assert_eq!(
            update(Finalizing, &Transition::Finalize),
            None,
            "finalized once"
        );
        let finalize = update(Sending, &Transition::Finalize);
        assert_eq!(
            finalize.map(|u| u.claim),
            Some(Claim::Keep),
            "keeps its lease"
        );
        let release = update(Sending, &Transition::Release);
        assert_eq!(release.map(|u| u.attempts), Some(-1), "not counted");
    }
}
