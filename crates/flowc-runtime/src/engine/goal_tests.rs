//! Goals (DESIGN §11): `goal COND` ends a run, converted, when COND holds
//! as it starts or becomes true while it is active (on changes, as `wait
//! until` sees them); `goal COND, continue` only counts. Through the real
//! engine on SQLite (what `flow_runs`, the outbox and the log hold), and as
//! `test` blocks run by the tester on both expression backends.

#![cfg(test)]

use super::test_support::test_blocks_pass;
use super::{Advance, Engine, Options};

const DAY: i64 = 86_400;

/// `nurture` waits a week, then sends; `goal` is its goal option.
fn project(goal: &str) -> String {
    format!(
        "record contact {{\n  email: text\n  score: int\n}}\n\
         template hello transactional {{\n  subject: \"Hi\"\n  body: \"Hello\"\n}}\n\
         rule nurture\n  when contact is created\n  {goal}\n  wait 7d\n  \
         send email hello to contact\nend\n"
    )
}

/// An engine for `text` on an in-memory database with its tables, its
/// clock at 0.
fn started(text: &str) -> Engine {
    let checked = flowc_check::project::Project::from_texts([("main.flow", text)]).check();
    assert!(!checked.has_errors(), "{text}");
    let conn = rusqlite::Connection::open_in_memory().expect("memory db");
    crate::store::state::migrate(&conn).expect("state tables");
    crate::store::ddl::create_missing(&conn, &checked.program.schema).expect("tables");
    let engine =
        Engine::with_connection(conn, checked.program, Options::default()).expect("engine");
    engine.advance(Advance::To(0)).expect("start");
    engine
}

fn sql(engine: &Engine, statement: &str) {
    engine
        .connection()
        .expect("sqlite")
        .execute_batch(statement)
        .expect("statement");
}

fn strings(engine: &Engine, query: &str) -> Vec<String> {
    let conn = engine.connection().expect("sqlite");
    let mut stmt = conn.prepare(query).expect("query");
    stmt.query_map([], |r| r.get(0))
        .expect("rows")
        .collect::<Result<_, _>>()
        .expect("strings")
}

/// `status converted` of every run, and how many emails were queued.
fn outcome(engine: &Engine) -> (Vec<String>, Vec<String>) {
    (
        strings(
            engine,
            "SELECT status || ' ' || converted FROM flow_runs ORDER BY id",
        ),
        strings(engine, "SELECT count(*) || '' FROM flow_outbox"),
    )
}

/// The score reaches the goal during the week's wait: the run ends there,
/// converted, and the email is never sent. A change that does not meet
/// the goal leaves it waiting.
#[test]
fn a_goal_met_during_a_wait_ends_the_run_converted() {
    let engine = started(&project("goal contact.score > 5"));
    sql(
        &engine,
        "INSERT INTO contact (id, email, score) VALUES (1, 'a@example.jp', 0)",
    );
    engine.advance(Advance::To(60)).expect("starts and waits");
    assert_eq!(outcome(&engine).0, ["waiting 0"]);
    sql(&engine, "UPDATE contact SET score = 3 WHERE id = 1");
    engine.advance(Advance::To(DAY)).expect("not yet");
    assert_eq!(outcome(&engine).0, ["waiting 0"]);
    sql(&engine, "UPDATE contact SET score = 6 WHERE id = 1");
    engine.advance(Advance::To(2 * DAY)).expect("goal met");
    assert_eq!(outcome(&engine), (vec!["done 1".into()], vec!["0".into()]));
    engine
        .advance(Advance::Until(9 * DAY))
        .expect("past the week");
    assert_eq!(outcome(&engine), (vec!["done 1".into()], vec!["0".into()]));
    assert_eq!(
        strings(
            &engine,
            "SELECT action || ': ' || detail FROM flow_log WHERE run_id = 1 ORDER BY id"
        ),
        [
            "started: ",
            "waiting: until 1970-01-08T00:01:00+00:00",
            "done: ended: the goal was met"
        ]
    );
    // Stats count it as a conversion (`converted` is what they count).
    assert_eq!(
        strings(
            &engine,
            "SELECT count(*) || '' FROM flow_runs WHERE converted = 1"
        ),
        ["1"]
    );
}

/// A goal already met when the run starts: no step runs, converted.
#[test]
fn a_goal_met_at_the_start_ends_the_run_before_any_step() {
    let engine = started(&project("goal contact.score > 5"));
    sql(
        &engine,
        "INSERT INTO contact (id, email, score) VALUES (1, 'a@example.jp', 9), (2, 'b@example.jp', 1)",
    );
    engine.advance(Advance::Until(8 * DAY)).expect("a week on");
    assert_eq!(
        outcome(&engine),
        (vec!["done 1".into(), "done 0".into()], vec!["1".into()])
    );
    assert_eq!(
        strings(
            &engine,
            "SELECT action || ': ' || detail FROM flow_log WHERE run_id = 1 ORDER BY id"
        ),
        ["started: ", "done: ended: the goal was already met"]
    );
}

/// `, continue`: the goal only counts. The email still goes out after the
/// week, and the run counts as converted when it ends.
#[test]
fn a_goal_that_continues_only_counts() {
    let engine = started(&project("goal contact.score > 5, continue"));
    sql(
        &engine,
        "INSERT INTO contact (id, email, score) VALUES (1, 'a@example.jp', 0), (2, 'b@example.jp', 9)",
    );
    engine.advance(Advance::To(60)).expect("starts and waits");
    sql(&engine, "UPDATE contact SET score = 6 WHERE id = 1");
    engine
        .advance(Advance::To(DAY))
        .expect("goal met, run goes on");
    assert_eq!(outcome(&engine).0, ["waiting 0", "waiting 0"]);
    engine.advance(Advance::Until(8 * DAY)).expect("a week on");
    assert_eq!(
        outcome(&engine),
        (vec!["done 1".into(), "done 1".into()], vec!["2".into()])
    );
}

/// One change that meets both the goal and the `wait until` the run
/// waits at: the goal wins, the run ends without taking the next step.
#[test]
fn a_change_that_meets_the_goal_and_a_wait_until_ends_the_run() {
    let text = "record contact {\n  email: text\n  score: int\n}\n\
        template hello transactional {\n  subject: \"Hi\"\n  body: \"Hello\"\n}\n\
        rule nurture\n  when contact is created\n  goal contact.score > 5\n  \
        wait until contact.score > 3, at most 7d\n  send email hello to contact\nend\n";
    let engine = started(text);
    sql(
        &engine,
        "INSERT INTO contact (id, email, score) VALUES (1, 'a@example.jp', 0), (2, 'b@example.jp', 0)",
    );
    engine.advance(Advance::To(60)).expect("both wait");
    sql(
        &engine,
        "UPDATE contact SET score = 6 WHERE id = 1; UPDATE contact SET score = 4 WHERE id = 2",
    );
    engine
        .advance(Advance::To(120))
        .expect("one ends, one wakes");
    assert_eq!(
        outcome(&engine),
        (vec!["done 1".into(), "done 0".into()], vec!["1".into()])
    );
    assert_eq!(
        strings(
            &engine,
            "SELECT recipient_id || '' FROM flow_outbox ORDER BY id"
        ),
        ["2"]
    );
}

/// A goal read through a reference: a change to the other row ends the
/// runs of the rows that reach it, and only those.
#[test]
fn a_goal_through_a_reference_is_rechecked_on_the_referenced_row() {
    let text = "record account {\n  won: bool\n}\nrecord contact {\n  email: text\n  account: account\n}\n\
        template hello transactional {\n  subject: \"Hi\"\n  body: \"Hello\"\n}\n\
        rule nurture\n  when contact is created\n  goal contact.account.won\n  wait 7d\n  \
        send email hello to contact\nend\n";
    let engine = started(text);
    sql(
        &engine,
        "INSERT INTO account (id, won) VALUES (1, 0), (2, 0);
         INSERT INTO contact (id, email, account) VALUES (1, 'a@example.jp', 1), (2, 'b@example.jp', 2)",
    );
    engine.advance(Advance::To(60)).expect("both wait");
    sql(&engine, "UPDATE account SET won = 1 WHERE id = 1");
    engine.advance(Advance::Until(8 * DAY)).expect("a week on");
    assert_eq!(
        outcome(&engine),
        (vec!["done 1".into(), "done 0".into()], vec!["1".into()])
    );
}

const FLOWS: &str = r#"
record user {
  email: text
}

record contact {
  email: text
  score: int
  owner: user
}

list paid of contact

template hello transactional {
  subject: "Hi"
  body: "Hello"
}

rule nurture
  when contact is created
  goal contact.score > 5
  wait 7d
  send email hello to contact
end

rule counted
  when contact is created
  goal contact.score > 5, continue
  wait 7d
  send email hello to contact.owner
end

rule offer
  when contact.score changes to 1
  goal contact in list paid
  require approval from contact.owner
  send email hello to contact
end

rule pay
  when contact.score changes to 2
  add contact to list paid
end

test "the goal met during the wait: no email, the run is done"
  given user u = { email: "u@example.jp" }
  given contact c = { email: "c@example.jp", score: 0, owner: u }
  after 1d
  update c set score = 6
  after 7d
  expect no email to c
  expect run nurture on c is done
  expect email to u
end

test "the goal met at the start: no step runs"
  given user u = { email: "u@example.jp" }
  given contact c = { email: "c@example.jp", score: 9, owner: u }
  expect run nurture on c is done
  after 8d
  expect no email to c
  expect email to u
end

test "the goal not met: the email goes out"
  given user u = { email: "u@example.jp" }
  given contact c = { email: "c@example.jp", score: 0, owner: u }
  after 8d
  expect email to c
  expect email to u
end

test "a goal met while an approval waits cancels the approval"
  given user u = { email: "u@example.jp" }
  given contact c = { email: "c@example.jp", score: 0, owner: u }
  update c set score = 1
  expect approval pending for c
  update c set score = 2
  expect no approval pending
  expect run offer on c is done
  expect no email hello to c
end
"#;

/// The same, as `test` blocks (`flowc test`), on both backends.
#[test]
fn goals_in_test_blocks_on_both_backends() {
    test_blocks_pass(FLOWS, 4);
}
