//! The store's conformance suite: what every backend's [`Store`] must do,
//! stated once. Each check takes a fresh store from `backend` (its state
//! tables made), so every backend runs the same checks by providing its
//! own: SQLite here, PostgreSQL in `pg/` (on a server the tests start).

use super::backend::Store;
use super::state::StateError;
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

/// The project the engine last opened the database with is kept, the
/// newest replacing the one before (`flowc event` checks payloads against
/// it).
fn the_last_project_is_kept(db: &dyn Store) {
    assert_eq!(db.last_project().expect("read"), None);
    db.remember_project("{\"snapshot\": 1}").expect("kept");
    db.remember_project("{\"snapshot\": 1}")
        .expect("kept again");
    assert_eq!(
        db.last_project().expect("read").as_deref(),
        Some("{\"snapshot\": 1}")
    );
    db.remember_project("{\"snapshot\": 2}").expect("replaced");
    assert_eq!(
        db.last_project().expect("read").as_deref(),
        Some("{\"snapshot\": 2}")
    );
}

/// A check, by name: it takes a fresh store and panics if it fails.
pub type Check = (&'static str, fn(&dyn Store));

/// Every check by name, each taking a fresh store.
pub const CHECKS: &[Check] = &[
    ("run_lifecycle", run_lifecycle),
    ("runs_keep_what_started_them", runs_keep_what_started_them),
    ("runs_finish_together", runs_finish_together),
    (
        "damaged_runs_are_named_not_guessed",
        damaged_runs_are_named_not_guessed,
    ),
    (
        "waits_are_found_by_what_they_await",
        waits_are_found_by_what_they_await,
    ),
    ("events_in_time_order", events_in_time_order),
    ("the_last_project_is_kept", the_last_project_is_kept),
    ("effects_are_idempotent", effects_are_idempotent),
    (
        "becomes_remembers_per_rule_and_row",
        becomes_remembers_per_rule_and_row,
    ),
    ("approvals_are_decided_once", approvals_are_decided_once),
    ("schedules_and_next_due_times", schedules_and_next_due_times),
    ("versions_and_the_log", versions_and_the_log),
    ("clock_only_forward", clock_only_forward),
    (
        "the_log_filters_and_keeps_the_tail",
        the_log_filters_and_keeps_the_tail,
    ),
    (
        "email_is_queued_once_per_message_id",
        email_is_queued_once_per_message_id,
    ),
    (
        "tasks_and_approvals_get_new_ids",
        tasks_and_approvals_get_new_ids,
    ),
    (
        "synthetic_changes_are_read_as_changes",
        synthetic_changes_are_read_as_changes,
    ),
    (
        "pending_approvals_are_decided_by_subject",
        pending_approvals_are_decided_by_subject,
    ),
    ("a_deleted_row_is_forgotten", a_deleted_row_is_forgotten),
    ("names_sort_by_their_bytes", names_sort_by_their_bytes),
    (
        "suppressions_are_kept_per_address",
        suppressions_are_kept_per_address,
    ),
    ("engagement_is_per_message", engagement_is_per_message),
    ("the_web_edge_records_once", the_web_edge_records_once),
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
    assert!(
        failed.is_empty(),
        "the store fails these checks: {failed:?}"
    );
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

/// A run reads back as it was inserted (its trigger, depth and start);
/// a run that failed before its first step has no position; only the
/// latest run counts as a repeated failure; a finished run is rejected
/// once, and only from done.
fn runs_keep_what_started_them(db: &dyn Store) {
    assert_eq!(
        db.entry_history("contact", 7, "welcome").ok(),
        Some((false, None))
    );
    let run = runs::NewRun {
        trigger: r#"{"old": {"score": 3}}"#,
        start_seq: 41,
        depth: 3,
        ..new_run("welcome", 7, 10)
    };
    let id = db.insert_run(&run, runs::Start::Running).expect("insert");
    let loaded = db.load_run(id).expect("load").expect("run");
    assert_eq!(
        loaded,
        runs::StoredRun {
            id,
            rule: "welcome".into(),
            version: "v1".into(),
            subject_id: 7,
            state: runs::RunState::Running,
            pc: vec![0],
            step: String::new(),
            wake_at: None,
            awaited: None,
            started_at: 10,
            trigger: serde_json::json!({"old": {"score": 3}}),
            start_seq: 41,
            depth: 3,
        }
    );
    assert_eq!(db.load_run(id + 1000).ok(), Some(None));
    let failed = db
        .insert_run(&new_run("welcome", 7, 20), runs::Start::Failed("bad data"))
        .expect("failed");
    let loaded = db.load_run(failed).expect("load").expect("run");
    assert_eq!(
        (loaded.state, loaded.pc, loaded.awaited),
        (runs::RunState::Failed, vec![], None)
    );
    // The row's runs: one running (so active), the latest started at 20.
    assert_eq!(
        db.entry_history("contact", 7, "welcome").ok(),
        Some((true, Some(20)))
    );
    assert_eq!(
        db.entry_history("user", 7, "welcome").ok(),
        Some((false, None))
    );
    assert_eq!(
        db.same_failure("contact", 7, "welcome", "bad data").ok(),
        Some(Some((failed, 20)))
    );
    // A later run that did not fail: the failure is no longer the latest.
    db.insert_run(&new_run("welcome", 7, 30), runs::Start::Running)
        .expect("later");
    assert_eq!(
        db.same_failure("contact", 7, "welcome", "bad data").ok(),
        Some(None)
    );
    // Rejected only from done; Resume only from waiting; Ended is done.
    let rejected = runs::Transition::Rejected;
    assert_eq!(db.apply_transition(id, 31, &rejected).ok(), Some(false));
    assert_eq!(
        db.apply_transition(id, 31, &runs::Transition::Resume).ok(),
        Some(false)
    );
    assert_eq!(
        db.apply_transition(id, 32, &runs::Transition::Ended).ok(),
        Some(true)
    );
    let state = |id| db.load_run(id).expect("load").expect("run").state;
    assert_eq!(state(id), runs::RunState::Done);
    assert_eq!(db.apply_transition(id, 33, &rejected).ok(), Some(true));
    assert_eq!(state(id), runs::RunState::Rejected);
    assert_eq!(db.apply_transition(id, 34, &rejected).ok(), Some(false));
    assert_eq!(
        db.apply_transition(id, 34, &runs::Transition::Ended).ok(),
        Some(false)
    );
}

/// Ending many runs at once (more than any batch a backend makes) ends
/// each running or waiting one, and leaves those that already ended, and
/// ids that are no run, alone.
fn runs_finish_together(db: &dyn Store) {
    let ids: Vec<i64> = (0..150)
        .map(|subject| {
            db.insert_run(&new_run("r", subject, 0), runs::Start::Running)
                .expect("run")
        })
        .collect();
    let wait = runs::Transition::Wait {
        pc: &[1],
        step: "w",
        wake_at: Some(50),
        awaited: &runs::Awaited::Time,
    };
    for &id in ids.iter().step_by(2) {
        assert_eq!(db.apply_transition(id, 1, &wait).ok(), Some(true));
    }
    let (failed, rejected) = (ids[5], ids[140]);
    let fail = runs::Transition::Fail { error: "x" };
    assert_eq!(db.apply_transition(failed, 2, &fail).ok(), Some(true));
    let done = runs::Transition::Finish {
        state: runs::RunState::Done,
        converted: false,
    };
    assert_eq!(db.apply_transition(rejected, 2, &done).ok(), Some(true));
    let reject = runs::Transition::Rejected;
    assert_eq!(db.apply_transition(rejected, 3, &reject).ok(), Some(true));
    db.finish_runs(&[], runs::RunState::Done, true, 4)
        .expect("none");
    // Every other run waits, less the one now rejected.
    assert_eq!(db.due_timers(50, 1000).map(|d| d.len()).ok(), Some(74));
    let mut with_missing = ids.clone();
    with_missing.push(ids[149] + 1000);
    db.finish_runs(&with_missing, runs::RunState::Done, true, 70)
        .expect("finish");
    for &id in &ids {
        let run = db.load_run(id).expect("load").expect("run");
        let expected = match id {
            _ if id == failed => runs::RunState::Failed,
            _ if id == rejected => runs::RunState::Rejected,
            _ => runs::RunState::Done,
        };
        assert_eq!(
            (run.state, run.wake_at, run.awaited),
            (expected, None, None),
            "run {id}"
        );
    }
    assert_eq!(db.due_timers(1000, 1000).ok(), Some(vec![]));
    assert_eq!(db.waiting_runs().ok(), Some(vec![]));
    let loaded = db.load_runs(&ids).expect("load many");
    assert_eq!(loaded.len(), ids.len());
    assert!(loaded.iter().all(|(_, run)| run.is_ok()));
}

/// A run whose stored position cannot be read is an error naming its row
/// and column, alone in a batch of runs; marked failed, it reads again.
fn damaged_runs_are_named_not_guessed(db: &dyn Store) {
    let wait = |wake_at| runs::Transition::Wait {
        pc: &[2, 0],
        step: "pause",
        wake_at: Some(wake_at),
        awaited: &runs::Awaited::Until,
    };
    let damaged = db
        .insert_run(&new_run("r", 1, 0), runs::Start::Running)
        .expect("run");
    let sound = db
        .insert_run(&new_run("r", 2, 0), runs::Start::Running)
        .expect("run");
    assert_eq!(db.apply_transition(damaged, 1, &wait(40)).ok(), Some(true));
    assert_eq!(db.apply_transition(sound, 1, &wait(60)).ok(), Some(true));
    // Move applies to waiting runs only.
    let running = db
        .insert_run(&new_run("r", 3, 0), runs::Start::Running)
        .expect("run");
    let moved = runs::Transition::Move {
        version: "v2",
        pc: &[3],
    };
    assert_eq!(db.apply_transition(running, 2, &moved).ok(), Some(false));
    assert_eq!(db.apply_transition(sound, 2, &moved).ok(), Some(true));
    let run = db.load_run(sound).expect("load").expect("run");
    assert_eq!(
        (run.version.as_str(), run.pc.as_slice(), run.awaited),
        ("v2", &[3][..], Some(runs::Awaited::Until))
    );
    // A waiting run at no position cannot be resumed: damaged.
    let nowhere = runs::Transition::Move {
        version: "v2",
        pc: &[],
    };
    assert_eq!(db.apply_transition(damaged, 2, &nowhere).ok(), Some(true));
    let is_damage = |e: &StateError| {
        matches!(e, StateError::Corrupt { table: "flow_runs", row, .. }
            if *row == format!("#{damaged} (column `pc`)"))
    };
    match db.load_run(damaged) {
        Err(e) => assert!(is_damage(&e), "{e}"),
        other => panic!("a damaged run read as {other:?}"),
    }
    let mut loaded = db.load_runs(&[sound, damaged]).expect("load many");
    loaded.sort_by_key(|(id, _)| *id);
    assert_eq!(loaded.len(), 2);
    assert_eq!(loaded[0].0, damaged);
    assert!(loaded[0].1.as_ref().is_err_and(is_damage));
    assert_eq!(loaded[1].0, sound);
    assert_eq!(loaded[1].1.as_ref().ok().map(|r| r.id), Some(sound));
    // Still due (its timer is readable), until marked failed.
    assert_eq!(
        db.due_timers(100, 10).ok(),
        Some(vec![(damaged, 40), (sound, 60)])
    );
    db.fail_unreadable(damaged, 50, "damaged position")
        .expect("fail");
    let run = db.load_run(damaged).expect("load").expect("run");
    assert_eq!(
        (run.state, run.wake_at, run.awaited),
        (runs::RunState::Failed, None, None)
    );
    assert_eq!(db.due_timers(100, 10).ok(), Some(vec![(sound, 60)]));
    assert_eq!(
        db.waiting_for_condition("contact", None, "r").ok(),
        Some(vec![sound])
    );
    assert_eq!(
        db.same_failure("contact", 1, "r", "damaged position").ok(),
        Some(Some((damaged, 50)))
    );
}

/// Each kind of wait reads back as it was written, and waiting runs are
/// found by what they await: a condition (on a subject or any), an
/// engagement (opened or clicked), their timer (earliest first, limited);
/// a run that stops waiting is no longer found.
fn waits_are_found_by_what_they_await(db: &dyn Store) {
    let waiting = |rule, subject, wake_at, awaited: runs::Awaited| {
        let id = db
            .insert_run(&new_run(rule, subject, 0), runs::Start::Running)
            .expect("run");
        let wait = runs::Transition::Wait {
            pc: &[4, 1],
            step: "w",
            wake_at,
            awaited: &awaited,
        };
        assert_eq!(db.apply_transition(id, 1, &wait).ok(), Some(true));
        let run = db.load_run(id).expect("load").expect("run");
        assert_eq!(
            (run.state, run.pc, run.wake_at, run.awaited),
            (runs::RunState::Waiting, vec![4, 1], wake_at, Some(awaited)),
        );
        id
    };
    let engagement = |row, template: &str, clicked| runs::Awaited::Engagement {
        table: "contact".into(),
        row,
        template: template.into(),
        clicked,
    };
    let until = waiting("r", 7, None, runs::Awaited::Until);
    let unless = waiting("r", 8, Some(90), runs::Awaited::Unless);
    let other_rule = waiting("other", 7, None, runs::Awaited::Until);
    let timer = waiting("r", 7, Some(50), runs::Awaited::Time);
    let clicked = waiting("r", 9, Some(40), engagement(9, "welcome", true));
    let opened = waiting("r", 10, Some(40), engagement(9, "welcome", false));
    let approval = waiting("r", 11, None, runs::Awaited::Approval(3));
    let condition = |subject, rule| db.waiting_for_condition("contact", subject, rule).ok();
    assert_eq!(condition(Some(7), "r"), Some(vec![until]));
    assert_eq!(condition(Some(8), "r"), Some(vec![unless]));
    assert_eq!(condition(None, "r"), Some(vec![until, unless]));
    assert_eq!(condition(Some(7), "other"), Some(vec![other_rule]));
    assert_eq!(condition(Some(9), "r"), Some(vec![]));
    assert_eq!(
        db.waiting_for_condition("user", Some(7), "r").ok(),
        Some(vec![])
    );
    let seen = |table, row, template, clicked| super::events::Engagement {
        table,
        row,
        template,
        clicked,
    };
    let engaged = |row, template, clicked| {
        db.waiting_for_engagement(&seen("contact", row, template, clicked), None)
            .ok()
    };
    // A click is an open too.
    assert_eq!(engaged(9, "welcome", true), Some(vec![clicked, opened]));
    assert_eq!(engaged(9, "welcome", false), Some(vec![opened]));
    assert_eq!(engaged(9, "other", true), Some(vec![]));
    assert_eq!(engaged(10, "welcome", false), Some(vec![]));
    assert_eq!(
        db.waiting_for_engagement(&seen("user", 9, "welcome", true), None)
            .ok(),
        Some(vec![])
    );
    assert_eq!(db.due_timers(39, 10).ok(), Some(vec![]));
    assert_eq!(
        db.due_timers(50, 2).ok(),
        Some(vec![(clicked, 40), (opened, 40)])
    );
    assert_eq!(
        db.due_timers(100, 10).ok(),
        Some(vec![(clicked, 40), (opened, 40), (timer, 50), (unless, 90)])
    );
    // What a goal can end: every waiting run of the rule, whatever it
    // waits for (on one subject, or on any of the table's).
    let of_rule = |subject, rule| db.waiting_runs_of("contact", subject, rule).ok();
    assert_eq!(of_rule(Some(7), "r"), Some(vec![until, timer]));
    assert_eq!(of_rule(Some(11), "r"), Some(vec![approval]));
    assert_eq!(of_rule(Some(7), "other"), Some(vec![other_rule]));
    assert_eq!(of_rule(Some(12), "r"), Some(vec![]));
    assert_eq!(
        of_rule(None, "r"),
        Some(vec![until, unless, timer, clicked, opened, approval])
    );
    assert_eq!(db.waiting_runs_of("user", Some(7), "r").ok(), Some(vec![]));
    let everyone = [until, unless, other_rule, timer, clicked, opened, approval];
    assert_eq!(
        db.waiting_runs().ok(),
        Some(
            everyone
                .iter()
                .map(|&id| runs::WaitingAt {
                    id,
                    rule: if id == other_rule { "other" } else { "r" }.into(),
                    version: "v1".into(),
                    step: "w".into(),
                })
                .collect()
        )
    );
    // No longer waiting, no longer found.
    let done = runs::Transition::Finish {
        state: runs::RunState::Done,
        converted: false,
    };
    assert_eq!(db.apply_transition(until, 2, &done).ok(), Some(true));
    assert_eq!(
        db.apply_transition(unless, 2, &runs::Transition::Resume)
            .ok(),
        Some(true)
    );
    assert_eq!(
        db.apply_transition(clicked, 2, &runs::Transition::Fail { error: "x" })
            .ok(),
        Some(true)
    );
    assert_eq!(condition(None, "r"), Some(vec![]));
    assert_eq!(engaged(9, "welcome", true), Some(vec![opened]));
    assert_eq!(
        db.due_timers(100, 10).ok(),
        Some(vec![(opened, 40), (timer, 50)])
    );
    // A run that waits again waits for what it now awaits.
    let again = runs::Transition::Wait {
        pc: &[5],
        step: "w2",
        wake_at: None,
        awaited: &runs::Awaited::Event {
            name: "replied".into(),
        },
    };
    assert_eq!(db.apply_transition(opened, 3, &again).ok(), Some(true));
    assert_eq!(engaged(9, "welcome", false), Some(vec![]));
    assert_eq!(
        db.waiting_for_event("contact", 10, "replied").ok(),
        Some(vec![opened])
    );
    assert_eq!(db.due_timers(100, 10).ok(), Some(vec![(timer, 50)]));
}

/// Events are due in time order, not before their time; processed ones
/// are not due again.
fn events_in_time_order(db: &dyn Store) {
    let late = db
        .record_event("paid", "contact", 1, "{}", 50)
        .expect("late");
    let early = db
        .record_event("email_opened", "contact", 1, r#"{"template": "t"}"#, 30)
        .expect("early");
    assert_eq!(db.due_events(40, 10).ok(), Some(vec![(early, 30)]));
    assert_eq!(db.next_due_after(30).ok(), Some(Some(50)));
    let opened = super::events::Engagement {
        table: "contact",
        row: 1,
        template: "t",
        clicked: false,
    };
    assert_eq!(db.engaged(&opened, None, (0, 40)).ok(), Some(true));
    assert_eq!(db.engaged(&opened, None, (31, 40)).ok(), Some(false));
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
    let pending = db.approval(id).expect("approval").expect("found");
    assert_eq!(
        (pending.status, pending.run, pending.requested_at),
        (approvals::Status::Pending, run, 5)
    );
    assert_eq!(
        (&*pending.subject_table, pending.subject, &*pending.rule),
        ("contact", 3, "discount")
    );
    assert_eq!((pending.decided_at, pending.decided_by), (None, None));
    let by = approvals::DecidedBy {
        who: Some("部長 <bucho@example.jp> (user #9)"),
        note: Some("ok"),
    };
    let decide = |d| db.decide_approval(id, d, 6, by).expect("decide");
    assert_eq!(decide(approvals::Decision::Approved), Ok(()));
    let decided = db.approval(id).expect("approval").expect("found");
    assert_eq!(decided.status, approvals::Status::Approved);
    assert_eq!(decided.decided_at, Some(6));
    assert_eq!(
        decided.decided_by.as_deref(),
        Some("部長 <bucho@example.jp> (user #9)")
    );
    assert_eq!(decided.note.as_deref(), Some("ok"));
    assert_eq!(db.approval(id + 1000).ok(), Some(None));
    assert_eq!(
        decide(approvals::Decision::Rejected),
        Err(approvals::DecideError::AlreadyDecided)
    );
    assert_eq!(
        db.decide_approval(999, approvals::Decision::Approved, 6, Default::default())
            .expect("decide"),
        Err(approvals::DecideError::NoSuchApproval)
    );
    let decided = db.decided_approvals().expect("decided");
    assert_eq!(decided.len(), 1);
    assert_eq!(decided[0].decision, approvals::Decision::Approved);
    assert_eq!(db.claim_decided_approval(id).ok(), Some(true));
    assert_eq!(db.claim_decided_approval(id).ok(), Some(false));
    assert_eq!(db.decided_approvals().ok(), Some(vec![]));
    // A decided approval cannot be cancelled; a pending one (its run met
    // its goal) is, once, and is no longer pending nor to be applied.
    assert_eq!(db.cancel_approval(id, 7, "goal").ok(), Some(false));
    let other = db
        .request_approval(run, "discount", "user", 9, 8)
        .expect("request");
    assert_eq!(db.pending_approvals().map(|p| p.len()).ok(), Some(1));
    let why = "its run ended: its goal was met";
    assert_eq!(db.cancel_approval(other, 9, why).ok(), Some(true));
    assert_eq!(db.cancel_approval(other, 10, why).ok(), Some(false));
    let cancelled = db.approval(other).expect("approval").expect("found");
    assert_eq!(
        (
            cancelled.status,
            cancelled.decided_at,
            cancelled.note.as_deref()
        ),
        (approvals::Status::Cancelled, Some(9), Some(why))
    );
    assert_eq!(db.pending_approvals().map(|p| p.len()).ok(), Some(0));
    assert_eq!(db.decided_approvals().ok(), Some(vec![]));
    assert_eq!(
        db.decide_approval(other, approvals::Decision::Approved, 11, Default::default())
            .expect("decide"),
        Err(approvals::DecideError::Cancelled)
    );
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

/// Lines appended together keep their order and their nulls, across
/// SQLite's chunks; the filters combine and `tail` keeps the newest lines.
fn the_log_filters_and_keeps_the_tail(db: &dyn Store) {
    let lines: Vec<log::Entry> = (0..70)
        .map(|n| log::Entry {
            at: n,
            run: (n % 3 != 0).then_some(n % 4),
            rule: (n % 2 == 0).then(|| format!("rule{}", n % 5)),
            subject: (n % 7 != 0).then(|| format!("contact #{n}")),
            step: if n % 2 == 0 {
                format!("step{n}")
            } else {
                String::new()
            },
            action: "tagged".into(),
            detail: format!("{n} 値 \"quoted\"\nline"),
        })
        .collect();
    db.append_logs(&lines).expect("append");
    db.append_logs(&[]).expect("nothing");
    let read = |filter: log::Filter| db.read_log(&filter).expect("read");
    let expected = |keep: &dyn Fn(&log::Entry) -> bool| -> Vec<log::Entry> {
        lines.iter().filter(|e| keep(e)).cloned().collect()
    };
    assert_eq!(read(log::Filter::default()), lines);
    assert_eq!(
        read(log::Filter {
            rule: Some("rule2"),
            ..log::Filter::default()
        }),
        expected(&|e| e.rule.as_deref() == Some("rule2"))
    );
    let both = expected(&|e| e.rule.as_deref() == Some("rule2") && e.run == Some(2));
    assert!(!both.is_empty());
    assert_eq!(
        read(log::Filter {
            run: Some(2),
            rule: Some("rule2"),
            tail: None,
        }),
        both
    );
    let of_run_1 = expected(&|e| e.run == Some(1));
    assert_eq!(
        read(log::Filter {
            run: Some(1),
            tail: Some(3),
            ..log::Filter::default()
        }),
        of_run_1[of_run_1.len() - 3..]
    );
    let tail = |n| {
        read(log::Filter {
            tail: Some(n),
            ..log::Filter::default()
        })
    };
    assert_eq!(tail(1000), lines);
    assert_eq!(tail(0), vec![]);
    assert_eq!(tail(-1), lines, "a negative tail is no limit");
    db.append_log(&lines[0]).expect("one more");
    assert_eq!(tail(2), vec![lines[69].clone(), lines[0].clone()]);
}

/// A message is queued once per Message-ID.
fn email_is_queued_once_per_message_id(db: &dyn Store) {
    let message = |message_id| super::outbox::NewMessage {
        message_id,
        run_id: 1,
        rule: "welcome",
        template: Some("hello"),
        kind: "email",
        to: "a@example.com",
        from: None,
        reply_to: None,
        subject: "Hi",
        body: "Hello",
        html: None,
        list_unsubscribe: None,
        created_at: 5,
        not_before: 0,
        subject_table: "contact",
        subject_id: 1,
        recipient: None,
        links: None,
    };
    assert_eq!(db.enqueue_email(&message("<1@flowc>")).ok(), Some(true));
    assert_eq!(db.enqueue_email(&message("<1@flowc>")).ok(), Some(false));
    assert_eq!(db.enqueue_email(&message("<2@flowc>")).ok(), Some(true));
    // A marketing message keeps its HTML part and opt-out header.
    let html = super::outbox::NewMessage {
        html: Some("<p>Hello &amp; welcome</p>"),
        list_unsubscribe: Some("<mailto:sales@example.jp?subject=unsubscribe>"),
        ..message("<3@flowc>")
    };
    assert_eq!(db.enqueue_email(&html).ok(), Some(true));
    let claimed = db.claim_messages("w", 100, 200, 100, 10).expect("claim");
    let third = claimed
        .messages
        .iter()
        .find(|m| m.message_id == "<3@flowc>")
        .expect("claimed");
    assert_eq!(
        (third.html.as_deref(), third.list_unsubscribe.as_deref()),
        (
            Some("<p>Hello &amp; welcome</p>"),
            Some("<mailto:sales@example.jp?subject=unsubscribe>")
        )
    );
}

/// Tasks and approvals get ids of their own, in the order made.
fn tasks_and_approvals_get_new_ids(db: &dyn Store) {
    let task = |title| super::effects::NewTask {
        run: 1,
        rule: "follow_up",
        title,
        assignee_table: "user",
        assignee: 2,
        due: Some("2025-01-02"),
        at: 5,
    };
    let first = db.insert_task(&task("call")).expect("task");
    let second = db.insert_task(&task("write")).expect("task");
    assert!(first < second, "{first} then {second}");
    let a = db.request_approval(1, "discount", "user", 2, 5).expect("a");
    let b = db.request_approval(1, "discount", "user", 2, 5).expect("b");
    assert!(a < b, "{a} then {b}");
}

/// A list or tag change is a change like a row's: read back with its
/// table, row, operation and depth, and no values.
fn synthetic_changes_are_read_as_changes(db: &dyn Store) {
    db.record_synthetic_change("list:vip", 1, true, 2, 7)
        .expect("added");
    db.record_synthetic_change("tag:contact", 2, false, 0, 8)
        .expect("removed");
    // PostgreSQL hands out one shard's changes at a time.
    let mut changes = Vec::new();
    loop {
        let batch = db.next_changes(10).expect("changes");
        if batch.is_empty() {
            break;
        }
        db.changes_done(&batch).expect("done");
        changes.extend(batch);
    }
    changes.sort_by_key(|c| c.seq);
    let seen: Vec<(&str, i64, &str, i64, bool)> = changes
        .iter()
        .map(|c| {
            let valueless = c.old.is_none() && c.new.is_none();
            (
                c.table.as_str(),
                c.row_id,
                c.op.as_str(),
                c.depth,
                valueless,
            )
        })
        .collect();
    assert_eq!(
        seen,
        [
            ("list:vip", 1, "insert", 2, true),
            ("tag:contact", 2, "delete", 0, true)
        ]
    );
}

/// A `flowc test` step decides pending approvals, of one subject's runs
/// or all; decided ones are not decided again.
fn pending_approvals_are_decided_by_subject(db: &dyn Store) {
    let run3 = db
        .insert_run(&new_run("discount", 3, 0), runs::Start::Running)
        .expect("run");
    let run4 = db
        .insert_run(&new_run("discount", 4, 0), runs::Start::Running)
        .expect("run");
    let on3 = db
        .request_approval(run3, "discount", "user", 9, 5)
        .expect("3");
    let on4 = db
        .request_approval(run4, "discount", "user", 9, 6)
        .expect("4");
    let pending = db.pending_approvals().expect("pending");
    assert_eq!(
        pending,
        [
            approvals::Pending {
                id: on3,
                rule: "discount".into(),
                subject_table: "contact".into(),
                subject: 3,
                approver_table: "user".into(),
                approver: 9,
                requested_at: 5,
            },
            approvals::Pending {
                id: on4,
                rule: "discount".into(),
                subject_table: "contact".into(),
                subject: 4,
                approver_table: "user".into(),
                approver: 9,
                requested_at: 6,
            }
        ]
    );
    assert_eq!(
        db.decide_pending(approvals::Decision::Rejected, 7, Some(3))
            .ok(),
        Some(1)
    );
    assert_eq!(
        db.pending_approvals()
            .map(|p| p.iter().map(|a| a.id).collect::<Vec<_>>())
            .ok(),
        Some(vec![on4])
    );
    assert_eq!(
        db.decide_pending(approvals::Decision::Approved, 8, None)
            .ok(),
        Some(1)
    );
    assert_eq!(
        db.decide_pending(approvals::Decision::Approved, 9, None)
            .ok(),
        Some(0)
    );
    let decided = |approval, run, decision| approvals::Decided {
        approval,
        run,
        decision,
    };
    assert_eq!(
        db.decided_approvals().ok(),
        Some(vec![
            decided(on3, run3, approvals::Decision::Rejected),
            decided(on4, run4, approvals::Decision::Approved),
        ])
    );
}

/// When a row's delete is processed, what flowc kept under its id goes:
/// its runs stop counting, its pending approvals are cancelled, its
/// `becomes` values, lists, tags and events up to the delete are
/// forgotten; other rows', and later events, stay.
fn a_deleted_row_is_forgotten(db: &dyn Store) {
    let running = db
        .insert_run(&new_run("welcome", 5, 10), runs::Start::Running)
        .expect("running");
    let waiting = db
        .insert_run(&new_run("nurture", 5, 11), runs::Start::Running)
        .expect("waiting");
    let wait = runs::Transition::Wait {
        pc: &[0],
        step: "w",
        wake_at: Some(100),
        awaited: &runs::Awaited::Time,
    };
    assert_eq!(db.apply_transition(waiting, 12, &wait).ok(), Some(true));
    let done = db
        .insert_run(&new_run("welcome", 5, 12), runs::Start::Running)
        .expect("done");
    let finish = runs::Transition::Finish {
        state: runs::RunState::Done,
        converted: false,
    };
    assert_eq!(db.apply_transition(done, 13, &finish).ok(), Some(true));
    let other = db
        .insert_run(&new_run("welcome", 6, 10), runs::Start::Running)
        .expect("other row");
    assert_eq!(
        db.deleted_row_runs("contact", 5).ok(),
        Some(vec![running, waiting])
    );
    assert_eq!(db.deleted_row_runs("company", 5).ok(), Some(vec![]));
    let approval = db
        .request_approval(running, "welcome", "user", 9, 14)
        .expect("approval");
    let kept_approval = db
        .request_approval(other, "welcome", "user", 9, 14)
        .expect("approval");
    db.add_list_member("vip", 5, 14, running).expect("list");
    db.add_list_member("other_list", 5, 14, running)
        .expect("list");
    db.add_list_member("vip", 6, 14, other).expect("list");
    db.add_tag("contact", 5, "hot", 14).expect("tag");
    db.add_tag("contact", 6, "hot", 14).expect("tag");
    db.add_tag("company", 5, "hot", 14).expect("tag");
    db.becomes_remember("hot", 5, true).expect("becomes");
    db.becomes_remember("cold", 5, true).expect("becomes");
    db.becomes_remember("hot", 6, true).expect("becomes");
    db.lock_row("contact", 5, running, 14).expect("lock");
    let before = db
        .record_event("paid", "contact", 5, "{}", 15)
        .expect("event");
    let elsewhere = db
        .record_event("paid", "contact", 6, "{}", 15)
        .expect("event");
    let after = db
        .record_event("opened", "contact", 5, "{}", 16)
        .expect("event");
    for id in [running, waiting] {
        let fail = runs::Transition::Fail { error: "deleted" };
        assert_eq!(db.apply_transition(id, 17, &fail).ok(), Some(true));
    }
    let row = super::deleted::DeletedRow {
        table: "contact",
        row_id: 5,
        lists: vec!["vip"],
        becomes: vec!["hot"],
        events_up_to: Some(before),
        at: 17,
    };
    assert_eq!(
        db.forget_deleted_row(&row).ok(),
        Some(vec![super::deleted::DroppedEvent {
            seq: before,
            name: "paid".into()
        }])
    );
    assert_eq!(
        db.decide_approval(
            approval,
            approvals::Decision::Approved,
            18,
            Default::default()
        )
        .ok(),
        Some(Err(approvals::DecideError::Cancelled))
    );
    assert_eq!(
        db.pending_approvals()
            .map(|p| p.iter().map(|a| a.id).collect::<Vec<_>>())
            .ok(),
        Some(vec![kept_approval])
    );
    assert_eq!(db.decided_approvals().ok(), Some(vec![]));
    assert_eq!(
        db.entry_history("contact", 5, "welcome").ok(),
        Some((false, None))
    );
    assert_eq!(
        db.entry_history("contact", 6, "welcome").ok(),
        Some((true, Some(10)))
    );
    assert_eq!(db.is_list_member("vip", 5).ok(), Some(false));
    assert_eq!(db.is_list_member("other_list", 5).ok(), Some(true));
    assert_eq!(db.is_list_member("vip", 6).ok(), Some(true));
    assert_eq!(db.has_tag("contact", 5, "hot").ok(), Some(false));
    assert_eq!(db.has_tag("contact", 6, "hot").ok(), Some(true));
    assert_eq!(db.has_tag("company", 5, "hot").ok(), Some(true));
    assert_eq!(db.becomes_last("hot", 5).ok(), Some(None));
    assert_eq!(db.becomes_last("cold", 5).ok(), Some(Some(true)));
    assert_eq!(db.becomes_last("hot", 6).ok(), Some(Some(true)));
    assert_eq!(
        db.due_events(100, 10).ok(),
        Some(vec![(elsewhere, 15), (after, 16)])
    );
    // Forgetting again finds nothing more.
    assert_eq!(db.forget_deleted_row(&row).ok(), Some(vec![]));
}

/// Names sort by their bytes (SQLite's order), whatever the database's
/// collation: rule names, and sweeps due at the same time.
fn names_sort_by_their_bytes(db: &dyn Store) {
    for rule in ["beta", "Zeta", "alpha", "Beta", "_x", "äbc"] {
        db.remember_version(&format!("v-{rule}"), rule, "{}", 1)
            .expect("remember");
        db.ensure_schedule(rule, 10).expect("ensure");
    }
    db.remember_version("v2-beta", "beta", "{}", 2)
        .expect("another version");
    let sorted = ["Beta", "Zeta", "_x", "alpha", "beta", "äbc"];
    assert_eq!(
        db.rule_names().ok(),
        Some(sorted.map(String::from).to_vec())
    );
    db.set_schedule_next_at("Beta", 5).expect("earlier");
    let due: Vec<(String, i64)> = ["Zeta", "_x", "alpha", "beta", "äbc"]
        .iter()
        .map(|r| (r.to_string(), 10))
        .collect();
    assert_eq!(
        db.due_schedules(10).ok(),
        Some([vec![("Beta".to_string(), 5)], due].concat())
    );
    assert_eq!(db.schedule_next_at("nothing").ok(), Some(None));
}

/// The suppression list: one entry per address (trimmed, lowercased),
/// a reason replaced by another, a bounce outranking only `unsubscribed`,
/// each change a line in the log.
fn suppressions_are_kept_per_address(db: &dyn Store) {
    use super::outbox::{Outcome, State};
    use super::suppressions::Reason;
    let reasons = |db: &dyn Store| -> Vec<(String, Reason)> {
        db.suppressions()
            .expect("list")
            .into_iter()
            .map(|s| (s.address, s.reason))
            .collect()
    };
    assert_eq!(db.suppression("a@example.jp").expect("find"), None);
    assert_eq!(
        db.suppress(" A@Example.JP ", Reason::Manual, Some("flowc suppress"), 10)
            .expect("add"),
        None
    );
    let found = db
        .suppression("a@EXAMPLE.jp")
        .expect("find")
        .expect("found");
    assert_eq!(
        (
            found.address.as_str(),
            found.reason,
            found.at,
            found.source.as_deref()
        ),
        ("a@example.jp", Reason::Manual, 10, Some("flowc suppress"))
    );
    assert_eq!(
        db.suppress("a@example.jp", Reason::Manual, None, 11)
            .expect("again"),
        Some(Reason::Manual)
    );
    assert_eq!(
        db.suppression("a@example.jp").expect("find").map(|s| s.at),
        Some(10)
    );
    assert_eq!(
        db.suppress("a@example.jp", Reason::Unsubscribed, None, 12)
            .expect("change"),
        Some(Reason::Manual)
    );
    db.suppress("B@example.jp", Reason::Complained, None, 13)
        .expect("add b");
    assert_eq!(
        reasons(db),
        [
            ("a@example.jp".to_string(), Reason::Unsubscribed),
            ("b@example.jp".to_string(), Reason::Complained),
        ]
    );
    // A bounce recorded by delivery outranks `unsubscribed`, not `complained`.
    for (n, to) in ["A@example.jp", "b@example.jp"].into_iter().enumerate() {
        let message_id = format!("<{n}@flowc>");
        let queued = super::outbox::NewMessage {
            message_id: &message_id,
            run_id: 1,
            rule: "welcome",
            template: Some("hello"),
            kind: "email",
            to,
            from: None,
            reply_to: None,
            subject: "Hi",
            body: "Hello",
            html: None,
            list_unsubscribe: None,
            created_at: 20,
            not_before: 0,
            subject_table: "contact",
            subject_id: 1,
            recipient: None,
            links: None,
        };
        assert_eq!(db.enqueue_email(&queued).ok(), Some(true));
    }
    let claimed = db.claim_messages("w", 100, 400, 30, 10).expect("claim");
    assert_eq!(
        claimed.messages.iter().map(|m| m.date).collect::<Vec<_>>(),
        [20, 20],
        "a message's date is when it was queued"
    );
    for m in &claimed.messages {
        let bounced = Outcome::Failed {
            error: "550 no such user".into(),
            bounced: Some(m.to.clone()),
        };
        assert_eq!(
            db.record_outcome("w", m, State::Sending, &bounced, 30).ok(),
            Some(true)
        );
    }
    assert_eq!(
        reasons(db),
        [
            ("a@example.jp".to_string(), Reason::Bounced),
            ("b@example.jp".to_string(), Reason::Complained),
        ]
    );
    assert_eq!(
        db.unsuppress("a@example.jp", 40).expect("remove"),
        Some(Reason::Bounced)
    );
    assert_eq!(db.unsuppress("a@example.jp", 41).expect("again"), None);
    assert_eq!(
        reasons(db),
        [("b@example.jp".to_string(), Reason::Complained)]
    );
    let actions: Vec<(String, String)> = db
        .read_log(&log::Filter::default())
        .expect("log")
        .into_iter()
        .filter(|e| e.action.starts_with("address"))
        .map(|e| (e.action, e.detail))
        .collect();
    assert_eq!(
        actions,
        [
            (
                "address suppressed".to_string(),
                "a@example.jp: manual by flowc suppress".to_string()
            ),
            (
                "address suppressed".to_string(),
                "a@example.jp: unsubscribed (was manual)".to_string()
            ),
            (
                "address suppressed".to_string(),
                "b@example.jp: complained".to_string()
            ),
            (
                "address suppressed".to_string(),
                "A@example.jp: bounced (550 no such user)".to_string()
            ),
            (
                "address unsuppressed".to_string(),
                "a@example.jp: was bounced".to_string()
            ),
        ]
    );
}

/// §8: once a run sent a record messages of a template, only the opens and
/// clicks of its own messages (or events that name no message) count for
/// it; a run that sent none counts any message of the template.
fn engagement_is_per_message(db: &dyn Store) {
    let waiting = |subject| {
        let id = db
            .insert_run(&new_run("r", subject, 0), runs::Start::Running)
            .expect("run");
        let wait = runs::Transition::Wait {
            pc: &[1],
            step: "w",
            wake_at: Some(1000),
            awaited: &runs::Awaited::Engagement {
                table: "contact".into(),
                row: 9,
                template: "seminar".into(),
                clicked: false,
            },
        };
        assert_eq!(db.apply_transition(id, 1, &wait).ok(), Some(true));
        id
    };
    let (a, b, none) = (waiting(1), waiting(2), waiting(3));
    let sent = |run, message_id: &str, template| {
        let message = super::outbox::NewMessage {
            message_id,
            run_id: run,
            rule: "r",
            template: Some(template),
            kind: "email",
            to: "c9@example.jp",
            from: None,
            reply_to: None,
            subject: "s",
            body: "b",
            html: None,
            list_unsubscribe: None,
            created_at: 5,
            not_before: 0,
            subject_table: "contact",
            subject_id: 1,
            recipient: Some(("contact", 9)),
            links: None,
        };
        assert_eq!(db.enqueue_email(&message).ok(), Some(true));
    };
    sent(a, "<a@flowc>", "seminar");
    sent(b, "<b@flowc>", "seminar");
    // A message of another template does not make `none` a sender.
    sent(none, "<n@flowc>", "other");
    let seen = |clicked| super::events::Engagement {
        table: "contact",
        row: 9,
        template: "seminar",
        clicked,
    };
    let ended = |message, clicked| db.waiting_for_engagement(&seen(clicked), message).ok();
    assert_eq!(ended(Some("a@flowc"), false), Some(vec![a, none]));
    assert_eq!(ended(Some("b@flowc"), true), Some(vec![b, none]));
    assert_eq!(ended(Some("x@flowc"), false), Some(vec![none]));
    assert_eq!(ended(None, false), Some(vec![a, b, none]));
    // The condition `contact opened seminar`, asked by each run.
    db.record_event(
        "email_clicked",
        "contact",
        9,
        r#"{"template": "seminar", "message": "b@flowc", "url": "https://example.jp/"}"#,
        20,
    )
    .expect("click");
    let asked = seen(false);
    let window = (0, 30);
    assert_eq!(db.engaged(&asked, Some(a), window).ok(), Some(false));
    assert_eq!(db.engaged(&asked, Some(b), window).ok(), Some(true));
    assert_eq!(db.engaged(&asked, Some(none), window).ok(), Some(true));
    assert_eq!(db.engaged(&asked, None, window).ok(), Some(true));
    assert_eq!(db.engaged(&asked, Some(b), (21, 30)).ok(), Some(false));
    // Another program's event names no message: it counts for every run.
    db.record_event(
        "email_opened",
        "contact",
        9,
        r#"{"template": "seminar"}"#,
        25,
    )
    .expect("open");
    assert_eq!(db.engaged(&asked, Some(a), window).ok(), Some(true));
    // `clicked` asks for a click only.
    assert_eq!(db.engaged(&seen(true), Some(a), window).ok(), Some(false));
    assert_eq!(db.engaged(&seen(true), Some(b), window).ok(), Some(true));
}

/// `flowc serve`'s operations (`store::Web`): a run's messages with their
/// recipient and links; a batch's events, keyed events replayed (also
/// within one batch) until the key expires, an unsubscription once per
/// address, reported bounces and complaints by rank.
fn the_web_edge_records_once(db: &dyn Store) {
    use super::suppressions::Reason;
    use super::web::{NewEvent, WebWrite, Written};
    let web = db.web();
    for (id, links) in [
        ("<1.a@flowc>", None),
        (
            "<1.b@flowc>",
            Some(r#"["https://a.jp/x?y=1","https://b.jp"]"#),
        ),
    ] {
        let message = super::outbox::NewMessage {
            message_id: id,
            run_id: 1,
            rule: "r",
            template: Some("offer"),
            kind: "email",
            to: "A@example.jp",
            from: None,
            reply_to: None,
            subject: "<b>Offer</b>",
            body: "b",
            html: None,
            list_unsubscribe: None,
            created_at: 5,
            not_before: 0,
            subject_table: "contact",
            subject_id: 1,
            recipient: links.map(|_| ("contact", 9)),
            links,
        };
        assert_eq!(db.enqueue_email(&message).ok(), Some(true));
    }
    let sent = web.run_messages(1).expect("messages");
    let seen: Vec<_> = sent
        .iter()
        .map(|m| {
            (
                m.message_id.as_str(),
                m.template.as_deref(),
                m.to.as_str(),
                m.subject.as_str(),
                m.recipient.clone(),
                m.links.clone(),
            )
        })
        .collect();
    assert_eq!(
        seen,
        [
            (
                "<1.a@flowc>",
                Some("offer"),
                "A@example.jp",
                "<b>Offer</b>",
                None,
                vec![]
            ),
            (
                "<1.b@flowc>",
                Some("offer"),
                "A@example.jp",
                "<b>Offer</b>",
                Some(("contact".to_string(), 9)),
                vec!["https://a.jp/x?y=1".to_string(), "https://b.jp".to_string()]
            ),
        ]
    );
    assert_eq!(web.run_messages(2).expect("none").len(), 0);

    let event = |name, data| NewEvent {
        name,
        table: "contact",
        row: 9,
        data,
        at: 50,
    };
    let keyed = |key, used_since, now| WebWrite::Keyed {
        scope: "hooks/paid",
        key,
        used_since,
        now,
        event: event("paid", r#"{"amount": 1}"#),
    };
    let unsubscribe = WebWrite::Unsubscribe {
        address: " a@EXAMPLE.jp",
        source: "the opt-out link of <1.b@flowc>",
        clock: 40,
        event: Some(event("unsubscribed", r#"{"message": "1.b@flowc"}"#)),
    };
    let report = |address, reason| WebWrite::Report {
        address,
        reason,
        source: "POST /bounces",
        clock: 41,
    };
    let done = web
        .write(&[
            WebWrite::Event(event(
                "email_opened",
                r#"{"template": "offer", "message": "1.b@flowc"}"#,
            )),
            keyed("k1", 0, 1000),
            keyed("k1", 0, 1001),
            keyed("k2", 0, 1002),
            unsubscribe,
            unsubscribe,
            report("a@example.jp", Reason::Bounced),
            report("A@example.jp", Reason::Bounced),
            report("c@example.jp", Reason::Complained),
        ])
        .expect("batch");
    let id = |w: &Written| match w {
        Written::Event(e) | Written::Keyed { event: e, .. } => *e,
        Written::Unsubscribed { event: Some(e), .. } => *e,
        other => panic!("no event: {other:?}"),
    };
    let (opened, k1, k2, unsubscribed) = (id(&done[0]), id(&done[1]), id(&done[3]), id(&done[4]));
    assert_eq!(
        done[1..],
        [
            Written::Keyed {
                event: k1,
                replayed: false
            },
            Written::Keyed {
                event: k1,
                replayed: true
            },
            Written::Keyed {
                event: k2,
                replayed: false
            },
            Written::Unsubscribed {
                changed: true,
                event: Some(unsubscribed)
            },
            Written::Unsubscribed {
                changed: false,
                event: None
            },
            Written::Reported {
                before: Some(Reason::Unsubscribed),
                changed: true
            },
            Written::Reported {
                before: Some(Reason::Bounced),
                changed: false
            },
            Written::Reported {
                before: None,
                changed: true
            },
        ]
    );
    let mut ids = vec![opened, k1, k2, unsubscribed];
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), 4, "four events: {ids:?}");
    let stored = |seq| {
        let e = db
            .load_event(seq)
            .expect("load")
            .expect("stored")
            .expect("readable");
        (
            e.name,
            e.table,
            e.row_id,
            serde_json::Value::Object(e.data.values),
        )
    };
    assert_eq!(
        stored(opened),
        (
            "email_opened".into(),
            "contact".into(),
            9,
            serde_json::json!({"template": "offer", "message": "1.b@flowc"})
        )
    );
    assert_eq!(stored(unsubscribed).0, "unsubscribed");
    let reasons: Vec<(String, Reason, Option<String>)> = db
        .suppressions()
        .expect("list")
        .into_iter()
        .map(|s| (s.address, s.reason, s.source))
        .collect();
    assert_eq!(
        reasons,
        [
            (
                "a@example.jp".into(),
                Reason::Bounced,
                Some("POST /bounces".into())
            ),
            (
                "c@example.jp".into(),
                Reason::Complained,
                Some("POST /bounces".into())
            ),
        ]
    );
    // A key first used before `used_since` is forgotten: a new event.
    let again = web
        .write(&[keyed("k1", 1001, 2000), keyed("k2", 0, 2001)])
        .expect("again");
    assert!(
        matches!(again[0], Written::Keyed { replayed: false, event } if event != k1),
        "{again:?}"
    );
    assert_eq!(
        again[1],
        Written::Keyed {
            event: k2,
            replayed: true
        }
    );
    // k2 (first used at 1002) goes; k1 (used again at 2000) stays.
    assert_eq!(web.forget_keys(1500).expect("forget"), 1);
    assert_eq!(web.forget_keys(1500).expect("forget again"), 0);
    assert!(matches!(
        web.write(&[keyed("k2", 0, 3000)]).expect("k2 anew")[0],
        Written::Keyed {
            replayed: false,
            ..
        }
    ));
}
