//! The store's conformance suite: what every backend's [`Store`] must do,
//! stated once. Each check takes a fresh store from `backend` (its state
//! tables made), so every backend runs the same checks by providing its
//! own: SQLite here, PostgreSQL in `pg/` (on a server the tests start).

use super::backend::Store;
use super::{approvals, log, runs};

/// A fresh SQLite store in memory.
#[cfg(test)]
fn sqlite() -> Box<dyn Store> {
    let conn = rusqlite::Connection::open_in_memory().expect("memory db");
    let store = super::sqlite::Sqlite::new(conn).expect("store");
    store
        .prepare(&flowc_check::ir::Schema::default())
        .expect("state tables");
    Box::new(store)
}

/// Every check by name, each taking a fresh store.
pub const CHECKS: &[(&str, fn(&dyn Store))] = &[
    ("run_lifecycle", run_lifecycle),
    ("events_in_time_order", events_in_time_order),
    ("effects_are_idempotent", effects_are_idempotent),
    ("becomes_remembers_per_rule_and_row", becomes_remembers_per_rule_and_row),
    ("approvals_are_decided_once", approvals_are_decided_once),
    ("schedules_and_next_due_times", schedules_and_next_due_times),
    ("versions_and_the_log", versions_and_the_log),
    ("clock_only_forward", clock_only_forward),
];

/// Every check, against one backend; panics naming each check that failed
/// (all are run, so one failure does not hide another).
pub fn conformance(backend: &dyn Fn() -> Box<dyn Store>) {
    let failed: Vec<&str> = CHECKS
        .iter()
        .filter(|(_, check)| {
            let store = backend();
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| check(&*store))).is_err()
        })
        .map(|(name, _)| *name)
        .collect();
    assert!(failed.is_empty(), "the store fails these checks: {failed:?}");
}

#[test]
fn sqlite_conforms() {
    conformance(&sqlite);
}

fn new_run<'a>(rule: &'a str, subject: i64, at: i64) -> runs::NewRun<'a> {
    runs::NewRun {
        rule,
        version: "v1",
        subject_table: "contact",
        subject,
        at,
        trigger: "{}",
        start_seq: 0,
        depth: 0,
    }
}

/// A run starts, waits, is found by its timer, resumes and ends; a
/// transition from the wrong state changes nothing; re-entry history and
/// repeated failures are what was stored.
fn run_lifecycle(db: &dyn Store) {
    let id = db
        .insert_run(&new_run("welcome", 7, 10), runs::Start::Running)
        .expect("insert");
    assert_eq!(
        db.entry_history("contact", 7, "welcome").ok(),
        Some((true, Some(10)))
    );
    let wait = runs::Transition::Wait {
        pc: &[1, 0, 2],
        step: "pause",
        wake_at: Some(100),
        awaited: &runs::Awaited::Event {
            name: "replied".into(),
        },
    };
    assert_eq!(db.apply_transition(id, 11, &wait).ok(), Some(true));
    assert_eq!(db.due_timers(99, 10).ok(), Some(vec![]));
    assert_eq!(db.due_timers(100, 10).ok(), Some(vec![(id, 100)]));
    assert_eq!(
        db.waiting_for_event("contact", 7, "replied").ok(),
        Some(vec![id])
    );
    assert_eq!(
        db.waiting_for_event("contact", 7, "other").ok(),
        Some(vec![])
    );
    let loaded = db.load_runs(&[id, 999]).expect("load many");
    assert_eq!(loaded.len(), 1);
    let run = db.load_run(id).expect("load").expect("run");
    assert_eq!(
        (run.state, run.pc.as_slice(), run.step.as_str(), run.wake_at),
        (runs::RunState::Waiting, &[1, 0, 2][..], "pause", Some(100))
    );
    assert_eq!(
        db.apply_transition(id, 12, &runs::Transition::Resume).ok(),
        Some(true)
    );
    let done = runs::Transition::Finish {
        state: runs::RunState::Done,
        converted: true,
    };
    assert_eq!(db.apply_transition(id, 13, &done).ok(), Some(true));
    // Ended: neither waits again nor fails.
    assert_eq!(db.apply_transition(id, 14, &wait).ok(), Some(false));
    assert_eq!(
        db.apply_transition(id, 14, &runs::Transition::Fail { error: "x" })
            .ok(),
        Some(false)
    );
    assert_eq!(db.due_timers(1000, 10).ok(), Some(vec![]));
    assert_eq!(
        db.entry_history("contact", 7, "welcome").ok(),
        Some((false, Some(10)))
    );
    let failed = db
        .insert_run(&new_run("welcome", 8, 20), runs::Start::Failed("bad data"))
        .expect("failed");
    assert_eq!(
        db.same_failure("contact", 8, "welcome", "bad data").ok(),
        Some(Some((failed, 20)))
    );
    assert_eq!(
        db.same_failure("contact", 8, "welcome", "other").ok(),
        Some(None)
    );
}

/// Events are due in time order, not before their time; processed ones
/// are not due again.
fn events_in_time_order(db: &dyn Store) {
    let late = db
        .record_event("paid", "contact", 1, "{}", 50)
        .expect("late");
    let early = db
        .record_event("opened", "contact", 1, r#"{"template": "t"}"#, 30)
        .expect("early");
    assert_eq!(db.due_events(40, 10).ok(), Some(vec![(early, 30)]));
    assert_eq!(db.next_due_after(30).ok(), Some(Some(50)));
    assert_eq!(
        db.engaged("contact", 1, "opened", "t", (0, 40)).ok(),
        Some(true)
    );
    assert_eq!(
        db.engaged("contact", 1, "opened", "t", (31, 40)).ok(),
        Some(false)
    );
    db.mark_event_processed(early).expect("processed");
    assert_eq!(db.due_events(100, 10).ok(), Some(vec![(late, 50)]));
}

/// Adding what is there, or removing what is not, changes nothing and
/// says so.
fn effects_are_idempotent(db: &dyn Store) {
    assert_eq!(db.add_list_member("vip", 1, 5, 1).ok(), Some(true));
    assert_eq!(db.add_list_member("vip", 1, 6, 2).ok(), Some(false));
    assert_eq!(db.is_list_member("vip", 1).ok(), Some(true));
    assert_eq!(db.remove_list_member("vip", 1).ok(), Some(true));
    assert_eq!(db.remove_list_member("vip", 1).ok(), Some(false));
    assert_eq!(db.add_tag("contact", 1, "hot", 5).ok(), Some(true));
    assert_eq!(db.add_tag("contact", 1, "hot", 6).ok(), Some(false));
    assert_eq!(db.has_tag("contact", 1, "hot").ok(), Some(true));
    assert_eq!(db.has_tag("contact", 2, "hot").ok(), Some(false));
    assert_eq!(db.remove_tag("contact", 1, "hot").ok(), Some(true));
    assert_eq!(db.remove_tag("contact", 1, "hot").ok(), Some(false));
}

fn becomes_remembers_per_rule_and_row(db: &dyn Store) {
    assert_eq!(db.becomes_last("hot", 1).ok(), Some(None));
    db.becomes_remember("hot", 1, true).expect("remember");
    db.becomes_remember("hot", 1, false).expect("again");
    assert_eq!(db.becomes_last("hot", 1).ok(), Some(Some(false)));
    assert_eq!(db.becomes_last("cold", 1).ok(), Some(None));
    db.becomes_forget("hot", 1).expect("forget");
    assert_eq!(db.becomes_last("hot", 1).ok(), Some(None));
}

/// A pending approval is decided once, then applied once.
fn approvals_are_decided_once(db: &dyn Store) {
    let run = db
        .insert_run(&new_run("discount", 3, 0), runs::Start::Running)
        .expect("run");
    let id = db
        .request_approval(run, "discount", "user", 9, 5)
        .expect("request");
    assert_eq!(db.pending_approvals().map(|p| p.len()).ok(), Some(1));
    assert_eq!(db.decided_approvals().ok(), Some(vec![]));
    let decide = |d| db.decide_approval(id, d, 6, Some("ok")).expect("decide");
    assert_eq!(decide(approvals::Decision::Approved), Ok(()));
    assert_eq!(
        decide(approvals::Decision::Rejected),
        Err(approvals::DecideError::AlreadyDecided)
    );
    assert_eq!(
        db.decide_approval(999, approvals::Decision::Approved, 6, None)
            .expect("decide"),
        Err(approvals::DecideError::NoSuchApproval)
    );
    let decided = db.decided_approvals().expect("decided");
    assert_eq!(decided.len(), 1);
    assert_eq!(decided[0].decision, approvals::Decision::Approved);
    assert_eq!(db.claim_decided_approval(id).ok(), Some(true));
    assert_eq!(db.claim_decided_approval(id).ok(), Some(false));
    assert_eq!(db.decided_approvals().ok(), Some(vec![]));
}

fn schedules_and_next_due_times(db: &dyn Store) {
    db.ensure_schedule("daily", 100).expect("ensure");
    db.ensure_schedule("daily", 500).expect("kept");
    assert_eq!(db.schedule_next_at("daily").ok(), Some(Some(100)));
    assert_eq!(db.due_schedules(99).ok(), Some(vec![]));
    assert_eq!(
        db.due_schedules(100).ok(),
        Some(vec![("daily".to_string(), 100)])
    );
    db.set_schedule_next_at("daily", 200).expect("next");
    let run = db
        .insert_run(&new_run("r", 1, 0), runs::Start::Running)
        .expect("run");
    let wait = runs::Transition::Wait {
        pc: &[0],
        step: "w",
        wake_at: Some(150),
        awaited: &runs::Awaited::Time,
    };
    db.apply_transition(run, 0, &wait).expect("wait");
    db.record_event("e", "contact", 1, "{}", 120)
        .expect("event");
    assert_eq!(db.next_due_after(100).ok(), Some(Some(120)));
    assert_eq!(db.next_due_after(120).ok(), Some(Some(150)));
    assert_eq!(db.next_due_after(150).ok(), Some(Some(200)));
    assert_eq!(db.next_due_after(200).ok(), Some(None));
}

fn versions_and_the_log(db: &dyn Store) {
    db.remember_version("v1", "welcome", "{\"snapshot\": 1}", 5)
        .expect("remember");
    db.remember_version("v1", "welcome", "changed", 6)
        .expect("kept");
    assert_eq!(
        db.version_project("welcome", "v1").ok(),
        Some(Some("{\"snapshot\": 1}".to_string()))
    );
    assert_eq!(db.rule_names().ok(), Some(vec!["welcome".to_string()]));
    let line = |run: i64, action: &str| log::Entry {
        at: 5,
        run: Some(run),
        rule: Some("welcome".into()),
        subject: Some("contact #1".into()),
        step: String::new(),
        action: action.into(),
        detail: String::new(),
    };
    for entry in [line(1, "started"), line(2, "started"), line(1, "done")] {
        db.append_log(&entry).expect("append");
    }
    let of_run_1 = log::Filter {
        run: Some(1),
        ..log::Filter::default()
    };
    assert_eq!(
        db.read_log(&of_run_1).ok(),
        Some(vec![line(1, "started"), line(1, "done")])
    );
    let last = log::Filter {
        tail: Some(1),
        ..log::Filter::default()
    };
    assert_eq!(db.read_log(&last).ok(), Some(vec![line(1, "done")]));
}

fn clock_only_forward(db: &dyn Store) {
    assert_eq!(db.clock().ok(), Some(None));
    assert_eq!(db.advance_clock(10).ok(), Some(10));
    assert_eq!(db.advance_clock(5).ok(), Some(10));
    assert_eq!(db.clock().ok(), Some(Some(10)));
}
