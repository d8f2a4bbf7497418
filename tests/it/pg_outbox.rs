//! Email delivery's state (`flowc::store::Outbox`) on PostgreSQL, where
//! workers on several machines deliver at once, and the same checks on
//! SQLite: claims that never overlap, an expired lease taken over and its
//! old holder fenced out, a message left finalizing becoming unconfirmed
//! (then settled by a person), backoff in engine time, a bounce
//! suppressing its address, the pause of delivery, and whole passes of
//! `mail::Courier` into a mail folder. Each worker is a store on a
//! connection of its own.

use crate::pg_store::connect;
use crate::support::pg;
use flowc::mail::{Courier, Transport};
use flowc::store::outbox::{NewMessage, OutboxError, Outcome, Resolution, State};
use flowc::store::{Outbox, Store};
use std::cell::RefCell;
use std::collections::BTreeSet;
use std::sync::{Arc, Barrier};

/// The state schema on PostgreSQL (each check has a database of its own).
const STATE: &str = "mail";

type Open = Arc<dyn Fn() -> Box<dyn Store> + Send + Sync>;

/// One database: a way to open another connection on it (another
/// worker), and a way to ask it for a number (plain SQL, flowc's tables
/// unqualified).
struct Db {
    name: &'static str,
    open: Open,
    count: Box<dyn Fn(&str) -> i64>,
    /// Keeps the SQLite file.
    _dir: Option<tempfile::TempDir>,
}

impl Db {
    fn sqlite() -> Db {
        let dir = tempfile::tempdir().expect("tmp");
        let path = dir.path().join("crm.sqlite");
        let opened = path.clone();
        let open: Open = Arc::new(move || {
            let conn = rusqlite::Connection::open(&opened).expect("open");
            Box::new(flowc::store::sqlite::Sqlite::new(conn).expect("store"))
        });
        open()
            .prepare(&flowc::ir::Schema::default())
            .expect("state tables");
        let conn = rusqlite::Connection::open(&path).expect("open");
        let count =
            Box::new(move |sql: &str| -> i64 { conn.query_row(sql, [], |r| r.get(0)).expect(sql) });
        Db {
            name: "SQLite",
            open,
            count,
            _dir: Some(dir),
        }
    }

    fn postgres(server: &pg::Server, name: &str) -> Db {
        let url = server.create_database(name);
        let store = flowc::store::pg::Pg::new(connect(&url), STATE);
        store
            .prepare(&flowc::ir::Schema::default())
            .expect("state tables");
        let mut client = connect(&url);
        client
            .batch_execute(&format!(
                "SET search_path = {}",
                flowc::store::pg::state::schema_name(STATE)
            ))
            .expect("search_path");
        let client = RefCell::new(client);
        let opened = url.clone();
        Db {
            name: "PostgreSQL",
            open: Arc::new(move || Box::new(flowc::store::pg::Pg::new(connect(&opened), STATE))),
            count: Box::new(move |sql: &str| -> i64 {
                client
                    .borrow_mut()
                    .query_one(sql, &[])
                    .expect(sql)
                    .get::<_, i64>(0)
            }),
            _dir: None,
        }
    }

    fn count(&self, sql: &str) -> i64 {
        (self.count)(sql)
    }

    /// Message `id`'s state, as `flowc outbox` lists it.
    fn state(&self, store: &dyn Store, id: i64) -> State {
        let listed = store.list_messages(None).expect("list");
        let found = listed.iter().find(|m| m.id == id);
        found.map(|m| m.state).expect("listed")
    }
}

/// SQLite, and PostgreSQL when the harness has it.
fn databases(test: &str) -> Vec<Db> {
    let mut dbs = vec![Db::sqlite()];
    if let Some(server) = pg::shared(test) {
        dbs.push(Db::postgres(server, test));
    }
    dbs
}

/// Queues `n` messages (ids 1..=n, to r1@example.jp …) at engine time 0.
fn queue(store: &dyn Store, n: usize) {
    for i in 1..=n {
        let message_id = format!("<{i}@t>");
        let to = format!("r{i}@example.jp");
        let queued = store
            .enqueue_email(&NewMessage {
                message_id: &message_id,
                run_id: 0,
                rule: "welcome",
                template: Some("hello"),
                kind: "email",
                to: &to,
                from: None,
                reply_to: None,
                subject: "Hello",
                body: "Hi there",
                html: None,
                list_unsubscribe: None,
                created_at: 0,
                not_before: 0,
                subject_table: "contact",
                subject_id: i as i64,
                recipient: None,
                links: None,
            })
            .expect("enqueue");
        assert!(queued);
    }
}

fn ids(claimed: &flowc::store::outbox::Claimed) -> Vec<i64> {
    claimed.messages.iter().map(|m| m.id).collect()
}

#[test]
fn workers_claiming_at_once_never_get_the_same_message() {
    const MESSAGES: usize = 300;
    const WORKERS: usize = 4;
    for db in databases("workers_claiming_at_once_never_get_the_same_message") {
        queue(&*(db.open)(), MESSAGES);
        let start = Arc::new(Barrier::new(WORKERS));
        let workers: Vec<_> = (0..WORKERS)
            .map(|w| {
                let (open, start) = (db.open.clone(), start.clone());
                std::thread::spawn(move || {
                    let store = open();
                    let worker = format!("w{w}");
                    let mut mine = Vec::new();
                    start.wait();
                    loop {
                        let claimed = store
                            .claim_messages(&worker, 100, 400, 0, 7)
                            .expect("claim");
                        if claimed.messages.is_empty() {
                            return mine;
                        }
                        assert!(claimed.messages.len() <= 7, "at most the limit");
                        for m in &claimed.messages {
                            let sent = store
                                .record_outcome(&worker, m, State::Sending, &Outcome::Sent, 0)
                                .expect("record");
                            assert!(sent, "{worker} holds {}", m.id);
                            mine.push(m.id);
                        }
                    }
                })
            })
            .collect();
        let mut all = BTreeSet::new();
        for w in workers {
            for id in w.join().expect("worker") {
                assert!(all.insert(id), "{}: message {id} claimed twice", db.name);
            }
        }
        assert_eq!(all.len(), MESSAGES, "{}", db.name);
        let sent =
            db.count("SELECT count(*) FROM flow_outbox WHERE status = 'sent' AND attempts = 1");
        assert_eq!(sent, MESSAGES as i64, "{}", db.name);
        let events = db.count("SELECT count(*) FROM flow_events WHERE name = 'email_sent'");
        assert_eq!(events, MESSAGES as i64, "{}", db.name);
    }
}

#[test]
fn an_expired_lease_is_taken_over_and_the_old_worker_is_fenced_out() {
    for db in databases("an_expired_lease_is_taken_over_and_the_old_worker_is_fenced_out") {
        let (a_store, b_store) = ((db.open)(), (db.open)());
        let (a_db, b_db): (&dyn Outbox, &dyn Outbox) = (&*a_store, &*b_store);
        queue(&*a_store, 2);
        let a = a_db.claim_messages("a", 100, 400, 0, 10).expect("claim");
        assert_eq!(ids(&a), [1, 2], "{}", db.name);
        assert_eq!(a.messages[0].attempts, 1);
        let early = b_db.claim_messages("b", 400, 700, 0, 10).expect("claim");
        assert!(early.messages.is_empty(), "{}: a's lease holds", db.name);
        let b = b_db.claim_messages("b", 401, 700, 0, 10).expect("claim");
        assert_eq!(ids(&b), [1, 2], "{}", db.name);
        assert_eq!(
            b.messages[0].attempts, 2,
            "{}: the take-over counts",
            db.name
        );

        let sent = a_db
            .record_outcome("a", &a.messages[0], State::Sending, &Outcome::Sent, 0)
            .expect("record");
        assert!(!sent, "{}: a no longer holds it", db.name);
        assert!(!a_db.hold_messages("a", 1, 402, 702).expect("hold"));
        assert!(
            !a_db.finalize_message("a", 1).expect("finalize"),
            "{}",
            db.name
        );
        assert_eq!(a_db.release_messages("a").expect("release"), 0);
        assert_eq!(db.state(&*a_store, 1), State::Sending);

        assert!(b_db.hold_messages("b", 1, 402, 702).expect("hold"));
        assert!(
            b_db.finalize_message("b", 1).expect("finalize"),
            "{}",
            db.name
        );
        assert!(
            !b_db.hold_messages("b", 1, 403, 703).expect("hold"),
            "finalizing"
        );
        assert_eq!(
            b_db.release_messages("b").expect("release"),
            1,
            "{}",
            db.name
        );
        assert_eq!(db.state(&*b_store, 1), State::Finalizing);
        assert_eq!(db.state(&*b_store, 2), State::Queued);
        let attempts = db.count("SELECT CAST(attempts AS bigint) FROM flow_outbox WHERE id = 2");
        assert_eq!(attempts, 1, "{}: a release is not an attempt", db.name);
        let held = db.count("SELECT count(*) FROM flow_outbox WHERE worker = 'a'");
        assert_eq!(held, 0, "{}", db.name);
    }
}

#[test]
fn a_message_left_finalizing_becomes_unconfirmed_until_a_person_settles_it() {
    for db in databases("a_message_left_finalizing_becomes_unconfirmed") {
        let (a_store, b_store) = ((db.open)(), (db.open)());
        queue(&*a_store, 2);
        let a = a_store.claim_messages("a", 100, 400, 0, 1).expect("claim");
        assert_eq!(ids(&a), [1], "{}: at most the limit", db.name);
        assert!(a_store.finalize_message("a", 1).expect("finalize"));
        let b = b_store.claim_messages("b", 200, 500, 0, 10).expect("claim");
        assert_eq!(ids(&b), [2], "{}: a's lease holds message 1", db.name);
        assert!(b.abandoned.is_empty());
        let sent = b_store.record_outcome("b", &b.messages[0], State::Sending, &Outcome::Sent, 0);
        assert!(sent.expect("record"));
        let b = b_store
            .claim_messages("b", 401, 700, 50, 10)
            .expect("claim");
        assert!(b.messages.is_empty(), "{}: never sent again", db.name);
        let abandoned: Vec<_> = b.abandoned.iter().map(|a| (a.id, a.to.as_str())).collect();
        assert_eq!(abandoned, [(1, "r1@example.jp")], "{}", db.name);
        assert_eq!(db.state(&*b_store, 1), State::Unconfirmed);
        let logged = db.count(
            "SELECT count(*) FROM flow_log WHERE action = 'email unconfirmed' AND at = 50 \
             AND rule = 'welcome' AND detail LIKE '<1@t> to r1@example.jp: %'",
        );
        assert_eq!(logged, 1, "{}", db.name);
        let again = b_store.claim_messages("c", 10_000, 10_300, 10_000, 10);
        let again = again.expect("claim");
        assert!(again.messages.is_empty() && again.abandoned.is_empty());

        // `flowc outbox`: found by id or Message-ID, settled only when
        // unconfirmed.
        for key in ["1", "<1@t>", "1@t", " <1@t> "] {
            let found = b_store.find_message(key).expect("found");
            assert_eq!(found, (1, State::Unconfirmed), "{}: {key}", db.name);
        }
        assert!(matches!(
            b_store.find_message("<9@t>"),
            Err(OutboxError::NotFound(_))
        ));
        assert!(matches!(
            b_store.resolve_message(2, Resolution::Sent, 60),
            Err(OutboxError::NotUnconfirmed {
                id: 2,
                state: State::Sent
            })
        ));
        b_store
            .resolve_message(1, Resolution::Resend, 60)
            .expect("resend");
        let listed = b_store
            .list_messages(Some(State::Queued))
            .expect("list queued");
        assert_eq!(listed.len(), 1, "{}", db.name);
        assert_eq!((listed[0].id, listed[0].next_attempt_at), (1, 60));
        let early = b_store.claim_messages("c", 10_000, 10_300, 59, 10);
        assert!(early.expect("claim").messages.is_empty(), "{}", db.name);
        let resent = b_store.claim_messages("c", 10_000, 10_300, 60, 10);
        assert_eq!(ids(&resent.expect("claim")), [1], "{}", db.name);
        assert!(b_store.finalize_message("c", 1).expect("finalize"));
        let c = b_store.claim_messages("d", 10_301, 10_600, 60, 10);
        assert_eq!(c.expect("claim").abandoned.len(), 1);
        b_store
            .resolve_message(1, Resolution::Sent, 70)
            .expect("mark sent");
        assert_eq!(db.state(&*b_store, 1), State::Sent);
        let resolved = db.count("SELECT count(*) FROM flow_log WHERE action = 'email resolved'");
        assert_eq!(resolved, 2, "{}", db.name);
        let events = db.count("SELECT count(*) FROM flow_events WHERE name = 'email_sent'");
        assert_eq!(
            events, 2,
            "{}: message 2 sent, message 1 marked sent",
            db.name
        );
    }
}

#[test]
fn a_deferred_message_waits_for_engine_time_and_a_bounce_suppresses_its_address() {
    for db in databases("a_deferred_message_waits_and_a_bounce_suppresses") {
        let store = (db.open)();
        queue(&*store, 2);
        let a = store
            .claim_messages("a", 100, 400, 1_000, 10)
            .expect("claim");
        let deferred = Outcome::Deferred {
            retry_at: 1_060,
            error: "451 busy".into(),
        };
        let recorded = store.record_outcome("a", &a.messages[0], State::Sending, &deferred, 1_000);
        assert!(recorded.expect("record"));
        let failed = Outcome::Failed {
            error: "550 no such user".into(),
            bounced: Some(" R2@Example.JP ".into()),
        };
        let recorded = store.record_outcome("a", &a.messages[1], State::Sending, &failed, 1_000);
        assert!(recorded.expect("record"));

        let later = store.claim_messages("a", 99_999, 100_300, 1_059, 10);
        assert!(
            later.expect("claim").messages.is_empty(),
            "{}: engine time",
            db.name
        );
        let due = store
            .claim_messages("a", 100, 400, 1_060, 10)
            .expect("claim");
        assert_eq!(ids(&due), [1], "{}", db.name);
        assert_eq!(due.messages[0].attempts, 2);

        let listed = store.list_messages(None).expect("list");
        let states: Vec<_> = listed.iter().map(|m| (m.id, m.state)).collect();
        assert_eq!(
            states,
            [(1, State::Sending), (2, State::Failed)],
            "{}",
            db.name
        );
        assert_eq!(listed[1].last_error.as_deref(), Some("550 no such user"));
        let suppressed = db.count(
            "SELECT count(*) FROM flow_suppressions \
             WHERE address = 'r2@example.jp' AND reason = 'bounced' AND at = 1000",
        );
        assert_eq!(suppressed, 1, "{}", db.name);
        let logged = db.count(
            "SELECT count(*) FROM flow_log WHERE action IN ('email deferred', 'email failed', 'address suppressed')",
        );
        assert_eq!(logged, 3, "{}", db.name);
        let stored = db.count("SELECT next_attempt_at FROM flow_outbox WHERE id = 1");
        assert_eq!(stored, 1_060, "{}", db.name);
    }
}

#[test]
fn delivery_pauses_once_per_reason_and_resumes() {
    for db in databases("delivery_pauses_once_per_reason_and_resumes") {
        let (a, b) = ((db.open)(), (db.open)());
        assert_eq!(a.delivery_paused().expect("paused"), None);
        a.pause_delivery("535 login failed", 10).expect("pause");
        b.pause_delivery("535 login failed", 20).expect("pause");
        let p = b.delivery_paused().expect("paused").expect("a pause");
        assert_eq!(
            (p.since, p.error.as_str()),
            (10, "535 login failed"),
            "{}",
            db.name
        );
        b.pause_delivery("connection refused", 30).expect("pause");
        let p = a.delivery_paused().expect("paused").expect("a pause");
        assert_eq!(
            (p.since, p.error.as_str()),
            (10, "connection refused"),
            "{}",
            db.name
        );
        let paused = db.count("SELECT count(*) FROM flow_log WHERE action = 'delivery paused'");
        assert_eq!(paused, 2, "{}: logged once per reason", db.name);
        a.resume_delivery(40).expect("resume");
        b.resume_delivery(41).expect("resume");
        assert_eq!(b.delivery_paused().expect("paused"), None);
        let resumed = db.count(
            "SELECT count(*) FROM flow_log WHERE action = 'delivery resumed' \
             AND detail = 'after: connection refused' AND at = 40",
        );
        assert_eq!(resumed, 1, "{}", db.name);
        let all = db.count("SELECT count(*) FROM flow_log WHERE action = 'delivery resumed'");
        assert_eq!(all, 1, "{}: resumed once", db.name);
    }
}

/// The messages in a mail folder.
fn eml_files(dir: &std::path::Path) -> usize {
    std::fs::read_dir(dir)
        .expect("mail folder")
        .filter(|e| {
            e.as_ref()
                .is_ok_and(|e| e.file_name().to_string_lossy().ends_with(".eml"))
        })
        .count()
}

#[test]
fn couriers_on_two_connections_deliver_each_message_once_into_a_folder() {
    const MESSAGES: usize = 80;
    for db in databases("couriers_deliver_each_message_once_into_a_folder") {
        let mail = tempfile::tempdir().expect("tmp");
        queue(&*(db.open)(), MESSAGES);
        let start = Arc::new(Barrier::new(2));
        let couriers: Vec<_> = (0..2)
            .map(|_| {
                let (open, start) = (db.open.clone(), start.clone());
                let dir = mail.path().to_path_buf();
                std::thread::spawn(move || {
                    let store = open();
                    let mut courier = Courier::new(
                        Transport::Folder(dir),
                        "flowc <flowc@example.jp>",
                        300,
                        None,
                    );
                    start.wait();
                    let mut delivery = courier.pass(&*store, 0).expect("pass");
                    delivery.absorb(courier.pass(&*store, 0).expect("pass"));
                    courier.retire(&*store).expect("retire");
                    delivery
                })
            })
            .collect();
        let mut sent = 0;
        for c in couriers {
            let delivery = c.join().expect("courier");
            assert!(
                delivery.problems.is_empty(),
                "{}: {:?}",
                db.name,
                delivery.problems
            );
            assert_eq!(delivery.paused, None);
            sent += delivery.sent;
        }
        assert_eq!(sent, MESSAGES, "{}", db.name);
        assert_eq!(eml_files(mail.path()), MESSAGES, "{}", db.name);
        let once =
            db.count("SELECT count(*) FROM flow_outbox WHERE status = 'sent' AND attempts = 1");
        assert_eq!(once, MESSAGES as i64, "{}", db.name);
        let logged = db.count("SELECT count(*) FROM flow_log WHERE action = 'email sent'");
        assert_eq!(logged, MESSAGES as i64, "{}", db.name);
        assert_eq!(
            db.count("SELECT count(*) FROM flow_workers"),
            0,
            "{}: retired",
            db.name
        );
        let text = std::fs::read_to_string(mail.path().join(eml_name("<7@t>"))).expect("eml");
        assert!(text.contains("To: r7@example.jp"), "{text}");
    }
}

/// The file a message is written to (`mail::file_name`).
fn eml_name(message_id: &str) -> String {
    flowc::mail::file_name(message_id)
}

#[test]
fn an_unwritable_mail_folder_pauses_delivery_blames_no_message_and_resumes_once_fixed() {
    for db in databases("an_unwritable_mail_folder_pauses_delivery") {
        let tmp = tempfile::tempdir().expect("tmp");
        let mail = tmp.path().join("mail");
        std::fs::write(&mail, "a file where the folder should be").expect("file");
        let store = (db.open)();
        queue(&*store, 3);
        let courier = |dir: &std::path::Path| {
            Courier::new(
                Transport::Folder(dir.to_path_buf()),
                "flowc <flowc@example.jp>",
                300,
                None,
            )
        };
        let mut first = courier(&mail);
        let delivery = first.pass(&*store, 5).expect("pass");
        let paused = delivery.paused.expect("paused");
        assert!(
            paused.tried && paused.error.contains("mail folder"),
            "{paused:?}"
        );
        assert_eq!(delivery.sent + delivery.failed + delivery.deferred, 0);
        let queued =
            db.count("SELECT count(*) FROM flow_outbox WHERE status = 'queued' AND attempts = 0");
        assert_eq!(queued, 3, "{}: given back, no attempt counted", db.name);
        let stored = store.delivery_paused().expect("paused").expect("stored");
        assert_eq!(stored.since, 5, "{}", db.name);
        // Without a wait configured, this process does not try again.
        let again = first.pass(&*store, 6).expect("pass");
        assert!(again.paused.is_some_and(|p| !p.tried));
        first.retire(&*store).expect("retire");

        std::fs::remove_file(&mail).expect("fix");
        let mut second = courier(&mail);
        let delivery = second.pass(&*store, 7).expect("pass");
        assert_eq!((delivery.sent, delivery.paused), (3, None), "{}", db.name);
        assert_eq!(store.delivery_paused().expect("paused"), None);
        assert_eq!(eml_files(&mail), 3);
        let resumed =
            db.count("SELECT count(*) FROM flow_log WHERE action = 'delivery resumed' AND at = 7");
        assert_eq!(resumed, 1, "{}", db.name);
        second.retire(&*store).expect("retire");
    }
}
