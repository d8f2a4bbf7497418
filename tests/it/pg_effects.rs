//! What steps leave behind, on PostgreSQL, where the conformance suite
//! cannot look: the rows as stored (a lock's rule and time, tasks, queued
//! email, synthetic changes' shard and run), the lock trigger refusing a
//! locked row, the capture context in transaction-local settings, events
//! of a deleted row when changes carry no `events_seq`, and the audit
//! trail appended in one statement.

use crate::pg_store::connect;
use crate::support::pg;
use flowc::store::Store;
use flowc::store::tx::Scope;

/// The state schema of every test here (each test has a database of its own).
const STATE: &str = "fx";

/// How SQL names it.
fn s() -> String {
    flowc::store::pg::state::schema_name(STATE)
}

const SCHEMA: &str = "record contact {\n  name: text\n}\n";

/// A database with SCHEMA's table, and a store on it whose state tables
/// and triggers are made.
fn captured(server: &pg::Server, name: &str) -> (String, flowc::store::pg::Pg) {
    let url = server.create_database(name);
    let checked = flowc::project::Project::from_texts([("schema.flow", SCHEMA)]).check();
    assert!(!checked.has_errors());
    let schema = checked.program.schema;
    flowc::store::pg::ddl::create_missing(&mut connect(&url), &schema).expect("tables");
    let store = flowc::store::pg::Pg::new(connect(&url), STATE);
    store.prepare(&schema).expect("state tables and triggers");
    (url, store)
}

/// A database with only flowc's state tables.
fn bare(server: &pg::Server, name: &str) -> (String, flowc::store::pg::Pg) {
    let url = server.create_database(name);
    let store = flowc::store::pg::Pg::new(connect(&url), STATE);
    store
        .prepare(&flowc::ir::Schema::default())
        .expect("state tables");
    (url, store)
}

fn new_run(rule: &str, subject: i64) -> flowc::store::runs::NewRun<'_> {
    flowc::store::runs::NewRun {
        rule,
        version: "v1",
        subject_table: "contact",
        subject,
        at: 1,
        trigger: "{}",
        start_seq: 0,
        depth: 0,
    }
}

/// A lock names the rule of the run that took it (found in `flow_runs`)
/// and the time, as a timestamp; the row then refuses everyone's writes
/// with SQLSTATE FL001 naming that rule, until unlocked. Locking a locked
/// row changes nothing; a run not in `flow_runs` still locks.
#[test]
fn a_lock_names_its_rule_and_refuses_writes_until_unlocked() {
    let Some(server) = pg::shared("a_lock_names_its_rule_and_refuses_writes_until_unlocked") else {
        return;
    };
    let (url, store) = captured(server, "effects_locks");
    server.psql(
        &url,
        "INSERT INTO contact (name) VALUES ('a'), ('b'), ('c')",
    );
    let run = store
        .insert_run(&new_run("won_lock", 1), flowc::store::runs::Start::Running)
        .expect("run");
    store
        .lock_row("contact", 1, run, 1_700_000_000)
        .expect("lock");
    store.lock_row("contact", 1, run + 1, 5).expect("again");
    store.lock_row("contact", 3, 999, 7).expect("no such run");
    let s = s();
    assert_eq!(
        server.psql(
            &url,
            &format!(
                "SELECT string_agg(concat_ws(' ', tbl, row_id, rule, run_id, extract(epoch FROM locked_at)::bigint), \
                 E'\\n' ORDER BY row_id) FROM {s}.flow_locks"
            )
        ),
        format!("contact 1 won_lock {run} 1700000000\ncontact 3 of run #999 999 7")
    );
    let mut client = connect(&url);
    for sql in [
        "UPDATE contact SET name = 'x' WHERE id = 1",
        "DELETE FROM contact WHERE id = 1",
    ] {
        let err = client.batch_execute(sql).expect_err(sql);
        let db = err.as_db_error().expect("a database error");
        assert_eq!(db.code().code(), "FL001", "{sql}");
        assert!(db.message().contains("won_lock"), "{sql}: {}", db.message());
    }
    client
        .batch_execute("UPDATE contact SET name = 'y' WHERE id = 2")
        .expect("another row is free");
    store.unlock_row("contact", 1).expect("unlock");
    store
        .unlock_row("contact", 2)
        .expect("unlock what is not locked");
    client
        .batch_execute("UPDATE contact SET name = 'x' WHERE id = 1")
        .expect("unlocked");
    assert_eq!(
        server.psql(&url, &format!("SELECT count(*) FROM {s}.flow_locks")),
        "1"
    );
}

/// The depth and run the capture trigger records come from settings of
/// the writing transaction only: another session writing meanwhile, a
/// rolled-back savepoint's setting and writes after the commit record
/// none.
#[test]
fn the_capture_context_belongs_to_its_transaction() {
    let Some(server) = pg::shared("the_capture_context_belongs_to_its_transaction") else {
        return;
    };
    let (url, _store) = captured(server, "effects_context");
    let s = s();
    let set = |client: &mut flowc::store::pg::conn::Conn, depth, run| {
        flowc::store::pg::effects::set_capture_context(client, &s, depth, run).expect("set");
    };
    let insert = |client: &mut flowc::store::pg::conn::Conn, name: &str| {
        client
            .execute("INSERT INTO contact (name) VALUES ($1)", &[&name])
            .expect("insert");
    };
    let mut client = flowc::store::pg::conn::Conn::new(connect(&url));
    let mut other = flowc::store::pg::conn::Conn::new(connect(&url));
    client.batch_execute("BEGIN").expect("begin");
    set(&mut client, 2, Some(17));
    insert(&mut client, "a");
    insert(&mut other, "other session");
    set(&mut client, 0, None);
    insert(&mut client, "b");
    set(&mut client, 3, Some(18));
    insert(&mut client, "c");
    client.batch_execute("SAVEPOINT p").expect("savepoint");
    set(&mut client, 5, Some(19));
    client
        .batch_execute("ROLLBACK TO SAVEPOINT p")
        .expect("rollback");
    insert(&mut client, "d");
    client.batch_execute("COMMIT").expect("commit");
    insert(&mut client, "after commit");
    assert_eq!(
        server.psql(
            &url,
            &format!(
                "SELECT string_agg(concat_ws(' ', new->>'name', depth, coalesce(run_id::text, '-')), \
                 E'\\n' ORDER BY seq) FROM {s}.flow_changes"
            )
        ),
        "a 2 17\nother session 0 -\nb 0 -\nc 3 18\nd 3 18\nafter commit 0 -"
    );
}

/// A list or tag change is queued with the run that made it and the
/// shard of its name and row, so that the worker holding that shard
/// takes it.
#[test]
fn synthetic_changes_carry_their_run_and_shard() {
    let Some(server) = pg::shared("synthetic_changes_carry_their_run_and_shard") else {
        return;
    };
    let (url, store) = bare(server, "effects_synthetic");
    store
        .record_synthetic_change("list:vip", 1, true, 2, 7)
        .expect("added");
    store
        .record_synthetic_change("tag:contact", 2, false, 0, 8)
        .expect("removed");
    let s = s();
    assert_eq!(
        server.psql(
            &url,
            &format!(
                "SELECT string_agg(concat_ws(' ', tbl, row_id, op, depth, run_id, \
                   shard = {s}.flow_shard(tbl, row_id), old IS NULL AND new IS NULL), \
                 E'\\n' ORDER BY seq) FROM {s}.flow_changes"
            )
        ),
        "list:vip 1 insert 2 7 t t\ntag:contact 2 delete 0 8 t t"
    );
}

/// Tasks, approvals and queued email are stored with what was given and
/// their defaults; a message queued again keeps its first version.
#[test]
fn tasks_approvals_and_email_are_stored_as_given() {
    let Some(server) = pg::shared("tasks_approvals_and_email_are_stored_as_given") else {
        return;
    };
    let (url, store) = bare(server, "effects_rows");
    let task = |title, due| flowc::store::effects::NewTask {
        run: 4,
        rule: "follow_up",
        title,
        assignee_table: "user",
        assignee: 2,
        due,
        at: 50,
    };
    let first = store
        .insert_task(&task("call 山田", Some("2025-01-02")))
        .expect("task");
    let second = store.insert_task(&task("write", None)).expect("task");
    let s = s();
    assert_eq!(
        server.psql(
            &url,
            &format!(
                "SELECT string_agg(concat_ws('|', id, run_id, rule, title, assignee_tbl, assignee_id, \
                   coalesce(due, '-'), status, created_at), E'\\n' ORDER BY id) FROM {s}.flow_tasks"
            )
        ),
        format!(
            "{first}|4|follow_up|call 山田|user|2|2025-01-02|open|50\n{second}|4|follow_up|write|user|2|-|open|50"
        )
    );
    let approval = store
        .request_approval(4, "discount", "user", 9, 60)
        .expect("approval");
    assert_eq!(
        server.psql(
            &url,
            &format!(
                "SELECT concat_ws('|', id, run_id, rule, approver_tbl, approver_id, status, requested_at, \
                   coalesce(decided_at::text, '-'), coalesce(note, '-'), applied) FROM {s}.flow_approvals"
            )
        ),
        format!("{approval}|4|discount|user|9|pending|60|-|-|f")
    );
    let message = |body| flowc::store::outbox::NewMessage {
        message_id: "<4.send@flowc>",
        run_id: 4,
        rule: "welcome",
        template: Some("hello"),
        kind: "email",
        to: "a@example.com",
        from: None,
        reply_to: Some("b@example.com"),
        subject: "Hi",
        body,
        html: None,
        list_unsubscribe: None,
        created_at: 70,
        not_before: 0,
        subject_table: "contact",
        subject_id: 1,
        recipient: None,
        links: None,
    };
    assert_eq!(store.enqueue_email(&message("first")).ok(), Some(true));
    assert_eq!(store.enqueue_email(&message("second")).ok(), Some(false));
    assert_eq!(
        server.psql(
            &url,
            &format!(
                "SELECT string_agg(concat_ws('|', message_id, run_id, rule, template, kind, to_addr, \
                   coalesce(from_addr, '-'), reply_to, subject, body, status, attempts, next_attempt_at, \
                   created_at, subject_tbl, subject_id), E'\\n') FROM {s}.flow_outbox"
            )
        ),
        "<4.send@flowc>|4|welcome|hello|email|a@example.com|-|b@example.com|Hi|first|queued|0|0|70|contact|1"
    );
}

/// PostgreSQL's changes carry no `events_seq`: forgetting a deleted row
/// without it drops every unprocessed event of that row (due or not);
/// processed ones, and other rows', are left alone. Its lock goes too.
#[test]
fn a_deleted_row_without_events_seq_drops_all_its_unprocessed_events() {
    let Some(server) =
        pg::shared("a_deleted_row_without_events_seq_drops_all_its_unprocessed_events")
    else {
        return;
    };
    let (url, store) = bare(server, "effects_deleted");
    let event = |name, row, at| {
        store
            .record_event(name, "contact", row, "{}", at)
            .expect("event")
    };
    let processed = event("seen", 5, 5);
    store.mark_event_processed(processed).expect("processed");
    let due = event("paid", 5, 10);
    let other_row = event("paid", 6, 10);
    let later = event("opened", 5, 1_000);
    let other_table = store
        .record_event("paid", "company", 5, "{}", 10)
        .expect("event");
    store.lock_row("contact", 5, 1, 10).expect("lock");
    store.lock_row("contact", 6, 1, 10).expect("lock");
    let row = flowc::store::deleted::DeletedRow {
        table: "contact",
        row_id: 5,
        lists: vec![],
        becomes: vec![],
        events_up_to: None,
        at: 20,
    };
    let dropped = store.forget_deleted_row(&row).expect("forget");
    let dropped_event = |seq, name: &str| flowc::store::deleted::DroppedEvent {
        seq,
        name: name.into(),
    };
    assert_eq!(
        dropped,
        [dropped_event(due, "paid"), dropped_event(later, "opened")]
    );
    assert_eq!(
        store.due_events(2_000, 10).ok(),
        Some(vec![(other_row, 10), (other_table, 10)])
    );
    let s = s();
    assert_eq!(
        server.psql(
            &url,
            &format!("SELECT string_agg(row_id::text, ',') FROM {s}.flow_locks")
        ),
        "6"
    );
    assert_eq!(store.forget_deleted_row(&row).ok(), Some(vec![]));
}

/// Many lines are appended by one statement (they share a transaction id
/// outside a transaction, and its command id inside one), in order, nulls
/// and all.
#[test]
fn log_lines_are_appended_in_one_statement_in_order() {
    let Some(server) = pg::shared("log_lines_are_appended_in_one_statement_in_order") else {
        return;
    };
    let (url, store) = bare(server, "effects_log");
    let lines: Vec<flowc::store::log::Entry> = (0..3000)
        .map(|n| flowc::store::log::Entry {
            at: n,
            run: (n % 3 != 0).then_some(n),
            rule: (n % 2 == 0).then(|| format!("rule{}", n % 7)),
            subject: (n % 5 != 0).then(|| format!("contact #{n}")),
            step: if n % 4 == 0 {
                String::new()
            } else {
                format!("step{n}")
            },
            action: "tagged".into(),
            detail: format!("{n} 値 'quoted' \"twice\"\n\\"),
        })
        .collect();
    store
        .append_logs(&lines[..2000])
        .expect("outside a transaction");
    store.begin(Scope::Transaction).expect("begin");
    store.append_logs(&lines[2000..]).expect("inside one");
    store.commit(Scope::Transaction).expect("commit");
    assert_eq!(
        store
            .read_log(&flowc::store::log::Filter::default())
            .expect("read"),
        lines
    );
    let s = s();
    assert_eq!(
        server.psql(
            &url,
            &format!(
                "SELECT string_agg(n::text, ',' ORDER BY first) FROM \
                   (SELECT min(id) AS first, count(*) AS n FROM {s}.flow_log GROUP BY xmin::text, cmin::text) g"
            )
        ),
        "2000,1000"
    );
}

/// A decided approval whose stored status names no decision is an error
/// naming the row, as on SQLite, never a guess.
#[test]
fn a_damaged_approval_status_is_named_not_guessed() {
    let Some(server) = pg::shared("a_damaged_approval_status_is_named_not_guessed") else {
        return;
    };
    let (url, store) = bare(server, "effects_damaged");
    let approval = store
        .request_approval(4, "discount", "user", 9, 60)
        .expect("approval");
    let s = s();
    server.psql(
        &url,
        &format!("UPDATE {s}.flow_approvals SET status = 'cancelled', decided_at = 61"),
    );
    match store.decided_approvals() {
        Err(flowc::store::state::StateError::Corrupt {
            table,
            row,
            value,
            expected,
        }) => {
            assert_eq!(table, "flow_approvals");
            assert_eq!(row, format!("#{approval} (column `status`)"));
            assert_eq!(value, "cancelled");
            assert_eq!(expected, "pending, approved or rejected");
        }
        other => panic!("{other:?}"),
    }
}
