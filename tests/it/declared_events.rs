//! Declared events (DESIGN.md §11): `event paid on invoice { amount: int, … }`
//! types `event.KEY` on every backend, and `flowc event` refuses a payload
//! that does not fit the declaration, recording nothing. (`POST
//! /hooks/EVENT`'s `400` is in `serve.rs`, with the other webhook answers.)

use crate::support::memenv::MemEnv;
use crate::support::world::{World, text};
use flowc::ir::{self, Type};
use flowc::jit::Outcome as JitOutcome;
use flowc::project::Project;
use flowc::value::{Row, Value};
use flowc::vm::Frame;

const PROJECT: &str = r#"
timezone "Asia/Tokyo"

enum plan { "free", "pro" }

record invoice {
  total: int
  plan: plan?
  due: date?
}

event paid on invoice { amount: int, plan: plan?, on: date, note: text? }

rule record_payment
  when event paid on invoice where event.amount > 3
  set invoice.total = event.amount
  set invoice.plan = event.plan
  set invoice.due = event.on + 30d
end
"#;

/// The rule's filter and the value `event.amount + 1`, typed by the
/// declaration: an `int` (not the untyped event value of an undeclared event).
fn typed() -> (ir::Program, ir::Expr, ir::Expr) {
    let project = Project::from_texts([("main.flow", PROJECT)]);
    let checked = project.check();
    assert!(!checked.has_errors(), "{:?}", checked.diagnostics);
    let program = checked.program;
    let filter = program.rules[0].filter.clone().expect("a where clause");
    let set = match &program.rules[0].steps[0].kind {
        ir::StepKind::Set { value, .. } => value.clone(),
        other => panic!("not a set: {other:?}"),
    };
    (program, filter, set)
}

fn env(program: &ir::Program, payload: serde_json::Value) -> MemEnv {
    let serde_json::Value::Object(event) = payload else {
        panic!("an object")
    };
    MemEnv {
        schema: program.schema.clone(),
        event,
        ..MemEnv::default()
    }
}

/// `(vm, jit)` results of `e` with that payload.
fn both(program: &ir::Program, e: &ir::Expr, payload: serde_json::Value) -> (Value, Value) {
    let row = Row::from_values(1, [Value::Int(0), Value::Null, Value::Null]);
    let vm = flowc::vm::compile(&program.functions, e, Frame::RULE).expect("the vm compiles it");
    let mut machine = flowc::vm::Machine::new();
    machine.set_var(0, Value::Ref(1));
    let mut vm_env = env(program, payload.clone());
    let by_vm = vm
        .eval(&mut machine, Some(&row), &mut vm_env)
        .expect("the vm evaluates it");
    let jit = flowc::jit::compile(&program.functions, e, Frame::RULE)
        .expect("the jit compiles a typed event value");
    let mut jit_env = env(program, payload);
    let by_jit = match jit.eval(&[Value::Ref(1), Value::Ref(1)], Some(&row), &mut jit_env) {
        JitOutcome::Done(v) => v.expect("the jit evaluates it"),
        JitOutcome::Bail => panic!("the jit bailed out on a typed event value"),
    };
    (by_vm, by_jit)
}

#[test]
fn a_declared_key_is_typed_the_same_on_the_vm_and_the_jit() {
    let (program, filter, set) = typed();
    assert_eq!(set.ty.base, Type::Int, "event.amount is the declared int");
    assert!(!set.ty.nullable, "a required key is not nullable");
    for (amount, holds) in [(5, true), (4, true), (3, false), (-10, false)] {
        let payload = serde_json::json!({"amount": amount, "on": "2025-04-01"});
        let (vm, jit) = both(&program, &filter, payload.clone());
        assert_eq!(vm, Value::Bool(holds), "vm, amount {amount}");
        assert_eq!(jit, Value::Bool(holds), "jit, amount {amount}");
        let (vm, jit) = both(&program, &set, payload);
        assert_eq!(vm, Value::Int(amount), "vm");
        assert_eq!(jit, Value::Int(amount), "jit");
    }
    // A payload another program stored without the key: null, so the
    // comparison is false on both (nothing is guessed).
    let (vm, jit) = both(&program, &filter, serde_json::json!({"on": "2025-04-01"}));
    assert_eq!((vm, jit), (Value::Bool(false), Value::Bool(false)));
}

fn world() -> World {
    let w = World::files(&[("main.flow", PROJECT)]);
    w.sql("INSERT INTO invoice (id, total) VALUES (1, 0);");
    w
}

fn event(w: &World, on: &str, data: &str) -> std::process::Output {
    w.flowc(&[
        "event",
        "--db",
        "crm.sqlite",
        "paid",
        "--on",
        on,
        "--data",
        data,
        "rules",
    ])
}

#[test]
fn flowc_event_refuses_a_payload_that_does_not_fit_its_declaration() {
    let w = world();
    for (on, data, says) in [
        (
            "invoice:1",
            r#"{"on": "2025-04-01"}"#,
            "--data: the payload of event `paid` has no key `amount`, which is required (an int); nothing was recorded",
        ),
        (
            "invoice:1",
            r#"{"amount": "5", "on": "2025-04-01"}"#,
            "--data: key `amount` of event `paid` must be an int, found the string \"5\"; nothing was recorded",
        ),
        (
            "invoice:1",
            r#"{"amount": 5, "on": "1 April"}"#,
            "key `on` of event `paid` must be a date (\"YYYY-MM-DD\"), found the string \"1 April\"",
        ),
        (
            "invoice:1",
            r#"{"amount": 5, "on": "2025-04-01", "plan": "gold"}"#,
            "key `plan` of event `paid` must be one of \"free\", \"pro\" (`plan`), found the string \"gold\"",
        ),
    ] {
        let out = event(&w, on, data);
        assert_eq!(out.status.code(), Some(2), "{data}: {}", text(&out.stderr));
        assert!(
            text(&out.stderr).contains(says),
            "{data}: {}",
            text(&out.stderr)
        );
    }
    // Refused before the database is touched: not even flowc's tables.
    assert_eq!(
        w.count("SELECT count(*) FROM sqlite_master WHERE name = 'flow_events'"),
        0
    );
}

#[test]
fn flowc_event_records_a_good_payload_and_the_typed_rule_runs() {
    let w = world();
    // Extra keys are kept; a small amount does not pass the rule's filter.
    let small = event(
        &w,
        "invoice:1",
        r#"{"amount": 2, "on": "2025-04-01", "memo": "x"}"#,
    );
    assert!(small.status.success(), "{}", text(&small.stderr));
    w.run(&["--now", "2025-04-01T10:00"]);
    assert_eq!(w.strings("SELECT CAST(total AS TEXT) FROM invoice"), ["0"]);
    let big = event(
        &w,
        "invoice:1",
        r#"{"amount": 7000, "on": "2025-04-01", "plan": "pro"}"#,
    );
    assert!(big.status.success(), "{}", text(&big.stderr));
    w.run(&["--now", "2025-04-01T11:00"]);
    assert_eq!(
        w.strings("SELECT total || ' ' || plan || ' ' || due FROM invoice"),
        ["7000 pro 2025-05-01"]
    );
    assert_eq!(w.count("SELECT count(*) FROM flow_events"), 2);
}

/// Without the project's PATHs and before any `flowc run` on the
/// database, there is nothing to check against: any object is recorded.
#[test]
fn without_the_project_flowc_event_records_any_object() {
    let w = world();
    let out = event_without_paths(&w, "{}");
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(w.count("SELECT count(*) FROM flow_events"), 1);
}

fn event_without_paths(w: &World, data: &str) -> std::process::Output {
    w.flowc(&[
        "event",
        "--db",
        "crm.sqlite",
        "paid",
        "--on",
        "invoice:1",
        "--data",
        data,
    ])
}

/// Without the project's PATHs, once `flowc run` has run the rules on the
/// database, a payload is checked against those rules (DESIGN.md §11:
/// `flowc event` refuses a payload that does not fit), saying so.
#[test]
fn without_paths_flowc_event_checks_against_the_rules_last_run() {
    let w = world();
    w.run(&["--now", "2025-04-01T09:00"]);
    let out = event_without_paths(&w, r#"{"on": "2025-04-01"}"#);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    let said = text(&out.stderr);
    assert!(
        said.contains(
            "--data: the payload of event `paid` has no key `amount`, which is required (an int); \
             nothing was recorded"
        ),
        "{said}"
    );
    assert!(
        said.contains("checked against the rules flowc last ran on this database"),
        "{said}"
    );
    assert_eq!(w.count("SELECT count(*) FROM flow_events"), 0);
    let out = event_without_paths(&w, r#"{"amount": 5, "on": "2025-04-01"}"#);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(w.count("SELECT count(*) FROM flow_events"), 1);
}

/// `email_opened` and `email_clicked` need no declaration, but name a
/// template: one the project does not declare is refused, with the
/// nearest name (`R opened T` would never see the event).
#[test]
fn flowc_event_refuses_an_engagement_event_for_an_unknown_template() {
    let w = World::files(&[(
        "main.flow",
        "record contact {\n  email: text\n}\n\
         template seminar_autoreply transactional {\n  subject: \"ok\"\n  text: \"ok\"\n}\n",
    )]);
    w.sql("INSERT INTO contact (id, email) VALUES (1, 'a@example.jp');");
    let opened = |data: &str| {
        w.flowc(&[
            "event",
            "--db",
            "crm.sqlite",
            "email_opened",
            "--on",
            "contact:1",
            "--data",
            data,
            "rules",
        ])
    };
    let out = opened(r#"{"template": "seminar_autoreplyy"}"#);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains(
            "--data: event `email_opened` names template \"seminar_autoreplyy\", which the project \
             does not declare (did you mean \"seminar_autoreply\"?); nothing was recorded"
        ),
        "{}",
        text(&out.stderr)
    );
    let out = opened("{}");
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("has no key `template`"),
        "{}",
        text(&out.stderr)
    );
    let out = opened(r#"{"template": "seminar_autoreply"}"#);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(w.count("SELECT count(*) FROM flow_events"), 1);
}
