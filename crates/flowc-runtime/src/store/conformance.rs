//! The store's conformance suite: what every backend's operations must do,
//! stated once. Each check takes a fresh database from `backend` (with the
//! state tables migrated), so a second backend runs the same checks by
//! providing its own. Today SQLite is the one backend.

use super::{approvals, becomes, effects, events, log, runs, schedule, state, versions};
use rusqlite::Connection;

/// A fresh, migrated SQLite database in memory.
fn sqlite() -> Connection {
    let conn = Connection::open_in_memory().expect("memory db");
    state::migrate(&conn).expect("state tables");
    conn
}

/// Every check, against one backend.
fn conformance(backend: fn() -> Connection) {
    run_lifecycle(&backend());
    events_in_time_order(&backend());
    effects_are_idempotent(&backend());
    becomes_remembers_per_rule_and_row(&backend());
    approvals_are_decided_once(&backend());
    schedules_and_next_due_times(&backend());
    versions_and_the_log(&backend());
    clock_only_forward(&backend());
}

#[test]
fn sqlite_conforms() {
    conformance(sqlite);
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
fn run_lifecycle(conn: &Connection) {
    let id = runs::insert(conn, &new_run("welcome", 7, 10), runs::Start::Running).expect("insert");
    assert_eq!(
        runs::entry_history(conn, "contact", 7, "welcome").ok(),
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
    assert_eq!(runs::apply(conn, id, 11, &wait).ok(), Some(true));
    assert_eq!(runs::due_timers(conn, 99, 10).ok(), Some(vec![]));
    assert_eq!(runs::due_timers(conn, 100, 10).ok(), Some(vec![(id, 100)]));
    assert_eq!(
        runs::waiting_for_event(conn, "contact", 7, "replied").ok(),
        Some(vec![id])
    );
    assert_eq!(
        runs::waiting_for_event(conn, "contact", 7, "other").ok(),
        Some(vec![])
    );
    let loaded = runs::load_many(conn, &[id, 999]).expect("load many");
    assert_eq!(loaded.len(), 1);
    let run = runs::load(conn, id).expect("load").expect("run");
    assert_eq!(
        (run.state, run.pc.as_slice(), run.step.as_str(), run.wake_at),
        (runs::RunState::Waiting, &[1, 0, 2][..], "pause", Some(100))
    );
    assert_eq!(
        runs::apply(conn, id, 12, &runs::Transition::Resume).ok(),
        Some(true)
    );
    let done = runs::Transition::Finish {
        state: runs::RunState::Done,
        converted: true,
    };
    assert_eq!(runs::apply(conn, id, 13, &done).ok(), Some(true));
    // Ended: neither waits again nor fails.
    assert_eq!(runs::apply(conn, id, 14, &wait).ok(), Some(false));
    assert_eq!(
        runs::apply(conn, id, 14, &runs::Transition::Fail { error: "x" }).ok(),
        Some(false)
    );
    assert_eq!(runs::due_timers(conn, 1000, 10).ok(), Some(vec![]));
    assert_eq!(
        runs::entry_history(conn, "contact", 7, "welcome").ok(),
        Some((false, Some(10)))
    );
    let failed = runs::insert(
        conn,
        &new_run("welcome", 8, 20),
        runs::Start::Failed("bad data"),
    )
    .expect("failed");
    assert_eq!(
        runs::same_failure(conn, "contact", 8, "welcome", "bad data").ok(),
        Some(Some((failed, 20)))
    );
    assert_eq!(
        runs::same_failure(conn, "contact", 8, "welcome", "other").ok(),
        Some(None)
    );
}

/// Events are due in time order, not before their time; processed ones
/// are not due again.
fn events_in_time_order(conn: &Connection) {
    let late = events::record(conn, "paid", "contact", 1, "{}", 50).expect("late");
    let early =
        events::record(conn, "opened", "contact", 1, r#"{"template": "t"}"#, 30).expect("early");
    assert_eq!(events::due(conn, 40, 10).ok(), Some(vec![(early, 30)]));
    assert_eq!(events::next_after(conn, 30).ok(), Some(Some(50)));
    assert_eq!(
        events::engaged(conn, "contact", 1, "opened", "t", (0, 40)).ok(),
        Some(true)
    );
    assert_eq!(
        events::engaged(conn, "contact", 1, "opened", "t", (31, 40)).ok(),
        Some(false)
    );
    events::mark_processed(conn, early).expect("processed");
    assert_eq!(events::due(conn, 100, 10).ok(), Some(vec![(late, 50)]));
}

/// Adding what is there, or removing what is not, changes nothing and
/// says so.
fn effects_are_idempotent(conn: &Connection) {
    assert_eq!(
        effects::add_list_member(conn, "vip", 1, 5, 1).ok(),
        Some(true)
    );
    assert_eq!(
        effects::add_list_member(conn, "vip", 1, 6, 2).ok(),
        Some(false)
    );
    assert_eq!(effects::is_list_member(conn, "vip", 1).ok(), Some(true));
    assert_eq!(effects::remove_list_member(conn, "vip", 1).ok(), Some(true));
    assert_eq!(
        effects::remove_list_member(conn, "vip", 1).ok(),
        Some(false)
    );
    assert_eq!(
        effects::add_tag(conn, "contact", 1, "hot", 5).ok(),
        Some(true)
    );
    assert_eq!(
        effects::add_tag(conn, "contact", 1, "hot", 6).ok(),
        Some(false)
    );
    assert_eq!(effects::has_tag(conn, "contact", 1, "hot").ok(), Some(true));
    assert_eq!(
        effects::has_tag(conn, "contact", 2, "hot").ok(),
        Some(false)
    );
    assert_eq!(
        effects::remove_tag(conn, "contact", 1, "hot").ok(),
        Some(true)
    );
    assert_eq!(
        effects::remove_tag(conn, "contact", 1, "hot").ok(),
        Some(false)
    );
}

fn becomes_remembers_per_rule_and_row(conn: &Connection) {
    assert_eq!(becomes::last(conn, "hot", 1).ok(), Some(None));
    becomes::remember(conn, "hot", 1, true).expect("remember");
    becomes::remember(conn, "hot", 1, false).expect("again");
    assert_eq!(becomes::last(conn, "hot", 1).ok(), Some(Some(false)));
    assert_eq!(becomes::last(conn, "cold", 1).ok(), Some(None));
    becomes::forget(conn, "hot", 1).expect("forget");
    assert_eq!(becomes::last(conn, "hot", 1).ok(), Some(None));
}

/// A pending approval is decided once, then applied once.
fn approvals_are_decided_once(conn: &Connection) {
    let run = runs::insert(conn, &new_run("discount", 3, 0), runs::Start::Running).expect("run");
    let id = effects::request_approval(conn, run, "discount", "user", 9, 5).expect("request");
    assert_eq!(approvals::pending(conn).map(|p| p.len()).ok(), Some(1));
    assert_eq!(approvals::decided(conn).ok(), Some(vec![]));
    let decide = |d| approvals::decide(conn, id, d, 6, Some("ok")).expect("decide");
    assert_eq!(decide(approvals::Decision::Approved), Ok(()));
    assert_eq!(
        decide(approvals::Decision::Rejected),
        Err(approvals::DecideError::AlreadyDecided)
    );
    assert_eq!(
        approvals::decide(conn, 999, approvals::Decision::Approved, 6, None).expect("decide"),
        Err(approvals::DecideError::NoSuchApproval)
    );
    let decided = approvals::decided(conn).expect("decided");
    assert_eq!(decided.len(), 1);
    assert_eq!(decided[0].decision, approvals::Decision::Approved);
    assert_eq!(approvals::claim_decided(conn, id).ok(), Some(true));
    assert_eq!(approvals::claim_decided(conn, id).ok(), Some(false));
    assert_eq!(approvals::decided(conn).ok(), Some(vec![]));
}

fn schedules_and_next_due_times(conn: &Connection) {
    schedule::ensure(conn, "daily", 100).expect("ensure");
    schedule::ensure(conn, "daily", 500).expect("kept");
    assert_eq!(schedule::next_at(conn, "daily").ok(), Some(Some(100)));
    assert_eq!(schedule::due(conn, 99).ok(), Some(vec![]));
    assert_eq!(
        schedule::due(conn, 100).ok(),
        Some(vec![("daily".to_string(), 100)])
    );
    schedule::set_next_at(conn, "daily", 200).expect("next");
    let run = runs::insert(conn, &new_run("r", 1, 0), runs::Start::Running).expect("run");
    let wait = runs::Transition::Wait {
        pc: &[0],
        step: "w",
        wake_at: Some(150),
        awaited: &runs::Awaited::Time,
    };
    runs::apply(conn, run, 0, &wait).expect("wait");
    events::record(conn, "e", "contact", 1, "{}", 120).expect("event");
    assert_eq!(schedule::next_due_after(conn, 100).ok(), Some(Some(120)));
    assert_eq!(schedule::next_due_after(conn, 120).ok(), Some(Some(150)));
    assert_eq!(schedule::next_due_after(conn, 150).ok(), Some(Some(200)));
    assert_eq!(schedule::next_due_after(conn, 200).ok(), Some(None));
}

fn versions_and_the_log(conn: &Connection) {
    versions::remember(conn, "v1", "welcome", "{\"snapshot\": 1}", 5).expect("remember");
    versions::remember(conn, "v1", "welcome", "changed", 6).expect("kept");
    assert_eq!(
        versions::project(conn, "welcome", "v1").ok(),
        Some(Some("{\"snapshot\": 1}".to_string()))
    );
    assert_eq!(
        versions::rule_names(conn).ok(),
        Some(vec!["welcome".to_string()])
    );
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
        log::append(conn, &entry).expect("append");
    }
    let of_run_1 = log::Filter {
        run: Some(1),
        ..log::Filter::default()
    };
    assert_eq!(
        log::read(conn, &of_run_1).ok(),
        Some(vec![line(1, "started"), line(1, "done")])
    );
    let last = log::Filter {
        tail: Some(1),
        ..log::Filter::default()
    };
    assert_eq!(log::read(conn, &last).ok(), Some(vec![line(1, "done")]));
}

fn clock_only_forward(conn: &Connection) {
    assert_eq!(state::clock(conn).ok(), Some(None));
    assert_eq!(state::advance_clock(conn, 10).ok(), Some(10));
    assert_eq!(state::advance_clock(conn, 5).ok(), Some(10));
    assert_eq!(state::clock(conn).ok(), Some(Some(10)));
}
