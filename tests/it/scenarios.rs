//! The ten scenarios of DESIGN.md §1, each driven through `flowc run
//! --until` with seed data and a real SMTP server, asserting everything it
//! must produce and that nothing else is produced: first on a real SQLite
//! file, then the same steps on a real PostgreSQL the harness starts, with
//! the same assertions (written once, run on each backend) and the same
//! observable outcomes compared between the two after every run.

use crate::support::pg;
use crate::support::smtp;
use crate::support::world::{World, text};
use std::cell::RefCell;

/// Where a scenario's records and flowc's state live.
enum Backend {
    Sqlite,
    Postgres {
        server: &'static pg::Server,
        url: String,
    },
}

/// What a person sees after a run: what the SMTP server received, `flowc
/// outbox`, `flowc stats` and `flowc log` (Message-IDs without their
/// database's random instance), and which rule and record each run is.
struct Checkpoint {
    after: String,
    received: Vec<String>,
    outbox: String,
    stats: String,
    log: String,
    runs: Vec<(String, String)>,
}

/// How two backends' checkpoints must agree.
#[derive(Clone, Copy, PartialEq)]
enum Order {
    /// Line for line, ids and all: where different records' work falls
    /// at different instants, or where PostgreSQL's one worker takes it in
    /// SQLite's order anyway (it takes changes by their shard's oldest
    /// change, due events and timers by time then shard number: a fixed
    /// order, so such a check never flakes).
    Exact,
    /// Up to the order of different records' work due at the same
    /// instant, which PostgreSQL may handle in another order than SQLite
    /// (DESIGN.md §10; one worker takes the shards in shard order): the
    /// same lines of `outbox` and `log` as sorted multisets, with every
    /// run id written as its rule and record, and without outbox ids.
    SameInstantAnyOrder,
}

impl Checkpoint {
    /// The checkpoint as `order` compares it.
    fn compared(&self, order: Order) -> (Vec<String>, String, Vec<String>, Vec<String>) {
        match order {
            Order::Exact => (
                self.received.clone(),
                self.stats.clone(),
                self.outbox.lines().map(str::to_string).collect(),
                self.log.lines().map(str::to_string).collect(),
            ),
            Order::SameInstantAnyOrder => {
                let mut outbox: Vec<String> = self
                    .outbox
                    .lines()
                    .map(|line| self.by_record(line.split_once("  ").map_or(line, |(_, l)| l)))
                    .collect();
                outbox.sort();
                let mut log: Vec<String> = self.log.lines().map(|l| self.by_record(l)).collect();
                log.sort();
                (self.received.clone(), self.stats.clone(), outbox, log)
            }
        }
    }

    /// `line` with each run id (`run 7`, `<7.send-1.0.…@flowc>`) written
    /// as the run's rule and record.
    fn by_record(&self, line: &str) -> String {
        let mut line = line.to_string();
        for (id, label) in &self.runs {
            line = line
                .replace(&format!("run {id}  "), &format!("run [{label}]  "))
                .replace(&format!("<{id}."), &format!("<[{label}]."));
        }
        line
    }
}

/// An example project with its database on one backend and an SMTP server
/// on 127.0.0.1 that every `run` delivers to.
struct Scenario {
    world: World,
    backend: Backend,
    server: smtp::Server,
    checkpoints: RefCell<Vec<Checkpoint>>,
}

impl Scenario {
    /// Starts an example at 2025-01-01 09:00 (change capture installed),
    /// then loads `seed` as changes made by another program.
    fn start(backend: Backend, name: &str, seed: &str) -> Scenario {
        let world = World::example(name);
        if let Backend::Postgres { url, .. } = &backend {
            let out = world.flowc(&["schema", "--db", url, "--create", "rules"]);
            assert!(
                out.status.success(),
                "schema --create on PostgreSQL: {}",
                text(&out.stderr)
            );
        }
        let server = smtp::Server::start(&world.path("received"));
        let s = Scenario {
            world,
            backend,
            server,
            checkpoints: RefCell::new(Vec::new()),
        };
        s.run(&["--now", "2025-01-01T09:00"]);
        s.sql(seed);
        s
    }

    fn is_postgres(&self) -> bool {
        matches!(self.backend, Backend::Postgres { .. })
    }

    /// What `--db` names: the SQLite file or the PostgreSQL URL.
    fn db(&self) -> &str {
        match &self.backend {
            Backend::Sqlite => "crm.sqlite",
            Backend::Postgres { url, .. } => url,
        }
    }

    /// `flowc COMMAND --db DB REST…`, unchecked.
    fn flowc(&self, command: &str, rest: &[&str]) -> std::process::Output {
        let mut args = vec![command, "--db", self.db()];
        args.extend_from_slice(rest);
        self.world.flowc(&args)
    }

    /// `flowc COMMAND --db DB REST…`, which must succeed; its stdout.
    fn ok(&self, command: &str, rest: &[&str]) -> String {
        let out = self.flowc(command, rest);
        assert!(
            out.status.success(),
            "flowc {command} --db {} {rest:?}:\n{}\n{}",
            self.db(),
            text(&out.stdout),
            text(&out.stderr)
        );
        text(&out.stdout)
    }

    /// `flowc run --db DB rules EXTRA… --smtp SERVER`, which must succeed;
    /// then notes what the inspection commands show.
    fn run(&self, extra: &[&str]) -> String {
        let url = self.server.url();
        let mut args = vec!["rules"];
        args.extend_from_slice(extra);
        args.extend_from_slice(&["--smtp", &url]);
        let out = self.ok("run", &args);
        self.checkpoint(&format!("run {extra:?}"));
        out
    }

    fn checkpoint(&self, after: &str) {
        let checkpoint = Checkpoint {
            after: after.to_string(),
            received: self.server.summary(),
            outbox: without_instance(&self.ok("outbox", &[])),
            stats: self.ok("stats", &[]),
            log: without_instance(&self.ok("log", &[])),
            runs: self
                .strings("SELECT id || ' ' || rule || ' ' || subject_tbl || ' #' || subject_id FROM flow_runs ORDER BY id")
                .iter()
                .map(|row| {
                    let (id, label) = row.split_once(' ').expect("id and label");
                    (id.to_string(), label.to_string())
                })
                .collect(),
        };
        self.checkpoints.borrow_mut().push(checkpoint);
    }

    fn event(&self, name: &str, on: &str, data: &str, at: Option<&str>) {
        let mut rest = vec![name, "--on", on, "--data", data];
        if let Some(at) = at {
            rest.extend(["--at", at]);
        }
        self.ok("event", &rest);
    }

    /// SQL statements run by another program. The records' tables are
    /// named alike on both backends (`"user"` quoted: a reserved word on
    /// PostgreSQL); flowc's `flow_…` tables are in schema `flowc` there.
    fn sql(&self, batch: &str) {
        match &self.backend {
            Backend::Sqlite => self.world.sql(batch),
            Backend::Postgres { server, url } => {
                server.psql(url, &on_postgres(batch));
            }
        }
    }

    /// The first column of every row of `query`, as text.
    fn strings(&self, query: &str) -> Vec<String> {
        match &self.backend {
            Backend::Sqlite => self.world.strings(query),
            Backend::Postgres { server, url } => {
                let out = server.psql(url, &on_postgres(query));
                if out.is_empty() {
                    Vec::new()
                } else {
                    out.lines().map(str::to_string).collect()
                }
            }
        }
    }

    fn count(&self, query: &str) -> i64 {
        match &self.backend {
            Backend::Sqlite => self.world.count(query),
            Backend::Postgres { server, url } => {
                let out = server.psql(url, &on_postgres(query));
                out.parse()
                    .unwrap_or_else(|_| panic!("{query}: not a number: {out:?}"))
            }
        }
    }

    /// Runs one statement as another program would: the error's SQLSTATE
    /// (`None` on SQLite, which has none) and message when it is refused.
    fn write(&self, statement: &str) -> Result<(), (Option<String>, String)> {
        match &self.backend {
            Backend::Sqlite => self
                .world
                .conn()
                .execute(statement, [])
                .map(drop)
                .map_err(|e| (None, e.to_string())),
            Backend::Postgres { url, .. } => {
                let mut client = crate::pg_store::connect(url);
                client
                    .batch_execute(statement)
                    .map_err(|e| match e.as_db_error() {
                        Some(db) => (Some(db.code().code().to_string()), db.message().to_string()),
                        None => (None, e.to_string()),
                    })
            }
        }
    }

    /// Every email in the outbox was sent, and the SMTP server received
    /// exactly those.
    fn assert_delivered(&self) {
        assert_eq!(
            self.count("SELECT count(*) FROM flow_outbox WHERE status != 'sent'"),
            0,
            "undelivered: {:?}",
            self.strings("SELECT to_addr || ' ' || status || ' ' || coalesce(last_error, '') FROM flow_outbox WHERE status != 'sent'")
        );
        let mut sent = self.strings("SELECT to_addr || ' | ' || subject FROM flow_outbox");
        sent.sort();
        assert_eq!(self.server.summary(), sent);
    }
}

/// `sql` for PostgreSQL: flowc's tables (`flow_…`) qualified with their
/// schema, `flowc`.
fn on_postgres(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len() + 16);
    let mut rest = sql;
    while let Some(at) = rest.find("flow_") {
        let before = rest[..at].chars().next_back().or(out.chars().next_back());
        out.push_str(&rest[..at]);
        if !before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == '.') {
            out.push_str("flowc.");
        }
        out.push_str("flow_");
        rest = &rest[at + "flow_".len()..];
    }
    out.push_str(rest);
    out
}

/// `text` with each Message-ID's last part, the database's random
/// instance (`<RUN.STEP.N.INSTANCE@flowc>`), made `INSTANCE`: the one
/// thing that rightly differs between two databases.
fn without_instance(text: &str) -> String {
    const END: &str = "@flowc>";
    let mut out = String::new();
    let mut rest = text;
    while let Some(at) = rest.find(END) {
        out.push_str(rest[..at].trim_end_matches(|c: char| c.is_ascii_hexdigit()));
        out.push_str("INSTANCE");
        out.push_str(END);
        rest = &rest[at + END.len()..];
    }
    out.push_str(rest);
    out
}

/// Runs `body` on a scenario on a SQLite file, then (when PostgreSQL is
/// installed; the harness says loudly when it skips) on a fresh
/// PostgreSQL database; both must pass every assertion of `body`, and
/// after every run both must show the same, compared as `order` says: the
/// emails the SMTP server received, `flowc outbox`, `flowc stats` and
/// `flowc log`.
fn on_both(test: &str, example: &str, order: Order, seed: &str, body: impl Fn(&Scenario)) {
    eprintln!("{test} on SQLite");
    let sqlite = Scenario::start(Backend::Sqlite, example, seed);
    body(&sqlite);
    let Some(server) = pg::shared(test) else {
        return;
    };
    eprintln!("{test} on PostgreSQL");
    let url = server.create_database(example);
    let postgres = Scenario::start(Backend::Postgres { server, url }, example, seed);
    body(&postgres);
    let on_sqlite = sqlite.checkpoints.borrow();
    let on_pg = postgres.checkpoints.borrow();
    assert_eq!(on_pg.len(), on_sqlite.len());
    for (pg, lite) in on_pg.iter().zip(on_sqlite.iter()) {
        assert_eq!(
            pg.compared(order),
            lite.compared(order),
            "{test}: PostgreSQL (left) and SQLite (right) differ after {}",
            lite.after
        );
    }
}

fn outbox(w: &Scenario) -> Vec<String> {
    w.strings("SELECT coalesce(template, kind) || ' -> ' || to_addr FROM flow_outbox ORDER BY id")
}

#[test]
fn scenario_1_lost_and_won_deals_go_to_their_lists() {
    on_both(
        "scenario_1_lost_and_won_deals_go_to_their_lists",
        "lost_won_lists",
        Order::Exact,
        r#"INSERT INTO "user" VALUES (1, '佐藤', 'sato@example.jp', 'sales');
         INSERT INTO contact VALUES (1, '山田', 'yamada@example.jp'), (2, '鈴木', 'suzuki@example.jp'), (3, '田中', 'tanaka@example.jp');
         INSERT INTO opportunity VALUES (1, 'A', '提案', 100, 1, 1), (2, 'B', '提案', 100, 2, 1), (3, 'C', '提案', 100, 3, 1);"#,
        |w| {
            w.run(&["--until", "2025-01-02"]);
            w.sql("UPDATE opportunity SET stage = '失注' WHERE id = 1; UPDATE opportunity SET stage = '受注' WHERE id = 2; UPDATE opportunity SET stage = '06' WHERE id = 3;");
            w.run(&["--until", "2025-01-03"]);
            assert_eq!(
                w.strings(
                    "SELECT list || ':' || row_id FROM flow_list_members ORDER BY list, row_id"
                ),
                ["followup:1", "upsell:2"]
            );
            assert!(outbox(w).is_empty());
            w.assert_delivered();
        },
    );
}

#[test]
fn scenario_2_big_deals_alert_the_executives() {
    on_both(
        "scenario_2_big_deals_alert_the_executives",
        "big_deal_alert",
        Order::Exact,
        r#"INSERT INTO "user" VALUES (1, '佐藤', 'sato@example.jp', 'sales'), (2, '社長', 'ceo@example.jp', 'executive'), (3, '専務', 'senmu@example.jp', 'executive');
         INSERT INTO opportunity VALUES (1, '全社導入', 15000000, 1), (2, '小口', 300000, 1);"#,
        |w| {
            w.run(&["--until", "2025-01-02"]);
            assert_eq!(
                outbox(w),
                ["notify -> ceo@example.jp", "notify -> senmu@example.jp"]
            );
            assert_eq!(
                w.strings("SELECT DISTINCT subject FROM flow_outbox"),
                ["Big deal: 全社導入 (15,000,000円, 佐藤)"]
            );
            w.assert_delivered();
        },
    );
}

/// The seminar: two sign-ups; one contact opens the auto-reply on day 2
/// and pays on day 3 (both loaded in advance, stamped in the future); the
/// other is reminded and sent the auto-reply again.
#[test]
fn scenario_3_seminar_applications_run_with_the_time_machine() {
    on_both(
        "scenario_3_seminar_applications_run_with_the_time_machine",
        "seminar",
        // Both sign-ups, and both 7-day waits, fall at the same instant.
        Order::SameInstantAnyOrder,
        "INSERT INTO contact (id, name, email) VALUES (1, '山田 花子', 'hanako@example.jp'), (2, '鈴木 一郎', 'ichiro@example.jp');",
        |w| {
            w.event(
                "form_submitted",
                "contact:1",
                r#"{"form": "seminar"}"#,
                None,
            );
            w.event(
                "form_submitted",
                "contact:2",
                r#"{"form": "seminar"}"#,
                None,
            );
            w.event(
                "email_opened",
                "contact:2",
                r#"{"template": "autoreply"}"#,
                Some("2025-01-03T12:00"),
            );
            w.event(
                "payment_received",
                "contact:2",
                "{}",
                Some("2025-01-04T15:00"),
            );
            w.run(&["--until", "2025-01-20"]);
            let sent = |template: &str, to: &str| {
                w.count(&format!("SELECT count(*) FROM flow_outbox WHERE template = '{template}' AND to_addr = '{to}' AND status = 'sent'"))
            };
            assert_eq!(sent("autoreply", "hanako@example.jp"), 2);
            assert_eq!(sent("payment_reminder", "hanako@example.jp"), 1);
            assert_eq!(sent("payment_confirmed", "hanako@example.jp"), 0);
            assert_eq!(sent("autoreply", "ichiro@example.jp"), 1);
            assert_eq!(sent("payment_confirmed", "ichiro@example.jp"), 1);
            assert_eq!(sent("payment_reminder", "ichiro@example.jp"), 0);
            assert_eq!(
                w.count("SELECT count(*) FROM flow_outbox"),
                5,
                "and nothing else"
            );
            // The confirmation went out the moment the payment arrived.
            assert_eq!(
                w.count("SELECT created_at FROM flow_outbox WHERE template = 'payment_confirmed'"),
                1_735_970_400,
                "2025-01-04T15:00+09:00"
            );
            w.assert_delivered();
            assert_eq!(
                w.count(
                    "SELECT count(*) FROM flow_list_members WHERE list = 'paid' AND row_id = 2"
                ),
                1
            );
            assert_eq!(
                w.count("SELECT count(*) FROM flow_runs WHERE status != 'done'"),
                0
            );
        },
    );
}

#[test]
fn scenario_4_renewals_enter_daily_at_nine_local_time() {
    on_both(
        "scenario_4_renewals_enter_daily_at_nine_local_time",
        "renewal",
        Order::Exact,
        "INSERT INTO contact VALUES (1, '山田', 'yamada@example.jp'), (2, '鈴木', 'suzuki@example.jp'), (3, '田中', 'tanaka@example.jp');
         INSERT INTO opportunity VALUES (1, '保守', '提案', 1), (2, '交渉中', '07', 2), (3, '更新', '見込み', 3);
         INSERT INTO contract VALUES (1, 1, 1, '2025-03-03', NULL), (2, 2, 2, '2025-03-03', NULL), (3, 3, 3, '2025-04-01', NULL);",
        |w| {
            w.run(&["--until", "2025-02-28"]);
            assert_eq!(
                outbox(w),
                [
                    "renewal_notice -> yamada@example.jp",
                    "renewal_notice -> tanaka@example.jp"
                ]
            );
            assert_eq!(
                w.strings("SELECT list || ':' || row_id FROM flow_list_members ORDER BY row_id"),
                ["renewal:1", "renewal:3"]
            );
            // A date is text on SQLite, `date` on PostgreSQL.
            assert_eq!(
                w.strings("SELECT id || ':' || coalesce(CAST(scenario_end_date AS TEXT), '-') FROM contract ORDER BY id"),
                ["1:2025-01-02", "2:-", "3:2025-01-16"]
            );
            assert_eq!(
                w.strings("SELECT row_id || ':' || tag FROM flow_tags ORDER BY row_id"),
                ["1:renewal_done", "3:renewal_done"]
            );
            // 09:00 in Tokyo is 00:00 UTC.
            assert_eq!(
                w.strings(
                    "SELECT DISTINCT CAST(at % 86400 AS TEXT) FROM flow_log WHERE action = 'sweep'"
                ),
                ["0"]
            );
            assert_eq!(
                w.count("SELECT count(*) FROM flow_log WHERE action = 'sweep'"),
                57,
                "one sweep a day, 2025-01-02 to 2025-02-27 (09:00)"
            );
            w.assert_delivered();
        },
    );
}

/// The invoice reminder: no reply within 3 days, so the owner must approve
/// the reminder; approved, it goes out at the next run. The other account
/// replied in time and gets nothing.
#[test]
fn scenario_5_invoice_reminders_wait_for_the_owners_approval() {
    on_both(
        "scenario_5_invoice_reminders_wait_for_the_owners_approval",
        "invoice_reminder",
        Order::Exact,
        r#"INSERT INTO "user" (id, name, email, role) VALUES (1, '佐藤', 'sato@example.jp', 'sales');
         INSERT INTO account (id, name, email, owner) VALUES (1, 'ABC', 'abc@example.jp', 1), (2, 'XYZ', 'xyz@example.jp', 1);"#,
        |w| {
            w.event(
                "invoice_sent",
                "account:1",
                r#"{"invoice": "INV-001"}"#,
                None,
            );
            w.event(
                "invoice_sent",
                "account:2",
                r#"{"invoice": "INV-002"}"#,
                None,
            );
            w.event(
                "reply_received",
                "account:2",
                "{}",
                Some("2025-01-02T10:00"),
            );
            w.run(&["--until", "2025-01-05"]);
            assert_eq!(
                w.ok("approvals", &[]),
                "1  invoice_reminder  account #1 \"ABC\" — approver 佐藤 (sato@example.jp), requested 2025-01-04 09:00\n"
            );
            w.ok("approvals", &["approve", "1"]);
            let again = w.flowc("approvals", &["approve", "1"]);
            assert_eq!(again.status.code(), Some(2));
            assert!(text(&again.stderr).contains("approval 1 was already decided"));
            assert_eq!(
                w.flowc("approvals", &["reject", "7"]).status.code(),
                Some(2)
            );
            w.run(&["--now", "2025-01-05T10:00"]);
            // The owner was asked by email (§9), then the reminder went.
            assert_eq!(
                w.strings("SELECT to_addr FROM flow_outbox WHERE status = 'sent' ORDER BY id"),
                ["sato@example.jp", "abc@example.jp"]
            );
            let received: Vec<String> = w
                .server
                .messages()
                .iter()
                .map(|m| m["to"].as_str().unwrap_or_default().to_string())
                .collect();
            assert_eq!(received, ["sato@example.jp", "abc@example.jp"]);
            assert_eq!(
                w.strings("SELECT status FROM flow_runs ORDER BY id"),
                ["done", "done"]
            );
            w.assert_delivered();
        },
    );
}

#[test]
fn scenario_6_web_leads_are_assigned_by_the_first_matching_line() {
    on_both(
        "scenario_6_web_leads_are_assigned_by_the_first_matching_line",
        "lead_assignment",
        Order::Exact,
        r#"INSERT INTO "user" VALUES (1, '佐藤', 'sato@example.jp', 'sales'), (2, '加藤', 'kato@example.jp', 'sales'),
           (3, '大手', 'enterprise@example.jp', 'sales'), (4, '業界', 'industry@example.jp', 'sales'), (5, 'インサイド', 'inside@example.jp', 'sales');
         INSERT INTO lead (id, name, email, prefecture, interest, employees, industry) VALUES
           (1, '札幌', 'a@x.jp', '北海道', '商材X', 9000, '物流'),
           (2, '東京', 'b@x.jp', '東京都', '商材X と Y', NULL, NULL),
           (3, '大阪', 'c@x.jp', '大阪府', 'その他', 1000, NULL),
           (4, '名古屋', 'd@x.jp', NULL, 'その他', 10, '物流'),
           (5, '福岡', 'e@x.jp', '福岡県', 'その他', NULL, 'IT');"#,
        |w| {
            w.run(&["--until", "2025-01-02"]);
            assert_eq!(
                w.strings("SELECT id || ':' || owner FROM lead ORDER BY id"),
                ["1:1", "2:2", "3:3", "4:4", "5:5"]
            );
            assert!(outbox(w).is_empty());
            w.assert_delivered();
        },
    );
}

#[test]
fn scenario_7_undecided_deals_get_a_task_ninety_days_later() {
    on_both(
        "scenario_7_undecided_deals_get_a_task_ninety_days_later",
        "undecided_followup",
        Order::Exact,
        r#"INSERT INTO "user" VALUES (1, '佐藤', 'sato@example.jp', 'sales');
         INSERT INTO opportunity VALUES (1, '展示会', '提案', 1), (2, '決定済み', '提案', 1);"#,
        |w| {
            w.run(&["--until", "2025-01-02"]);
            w.sql("UPDATE opportunity SET stage = '未決定';");
            w.run(&["--until", "2025-01-10"]);
            w.sql("UPDATE opportunity SET stage = '受注' WHERE id = 2;");
            w.run(&["--until", "2025-04-01"]);
            assert_eq!(
                w.count("SELECT count(*) FROM flow_tasks"),
                0,
                "not before 90 days"
            );
            w.run(&["--until", "2025-04-03"]);
            assert_eq!(
                w.strings("SELECT title || ' / ' || assignee_id || ' / ' || due FROM flow_tasks"),
                ["フォローアップ: 展示会 / 1 / 2025-04-09"]
            );
            w.assert_delivered();
        },
    );
}

#[test]
fn scenario_8_won_deals_lock_and_big_discounts_need_the_manager() {
    on_both(
        "scenario_8_won_deals_lock_and_big_discounts_need_the_manager",
        "won_lock_discount_approval",
        Order::Exact,
        r#"INSERT INTO "user" VALUES (1, '部長', 'bucho@example.jp', 'manager', NULL), (2, '佐藤', 'sato@example.jp', 'sales', 1);
         INSERT INTO opportunity VALUES (1, '大型', '提案', 5000000, 2), (2, '小型', '提案', 100, 2);
         INSERT INTO discount_request (id, opportunity, rate, requested_by) VALUES (1, 1, 0.2, 2), (2, 2, 0.05, 2);"#,
        |w| {
            w.run(&["--until", "2025-01-02"]);
            assert_eq!(
                w.strings(
                    "SELECT run_id || ':' || approver_id || ':' || status FROM flow_approvals"
                ),
                ["1:1:pending"]
            );
            w.ok("approvals", &["approve", "1"]);
            w.run(&["--until", "2025-01-03"]);
            // A date is text on SQLite, `date` on PostgreSQL.
            assert_eq!(
                w.strings(
                    "SELECT id || ':' || coalesce(CAST(approved_on AS TEXT), '-') FROM discount_request ORDER BY id"
                ),
                ["1:2025-01-02", "2:-"],
                "approved when the next run saw the decision"
            );
            w.sql("UPDATE opportunity SET stage = '受注' WHERE id = 1;");
            w.run(&["--until", "2025-01-04"]);
            let refused = w
                .write("UPDATE opportunity SET amount = 1 WHERE id = 1")
                .expect_err("locked");
            if w.is_postgres() {
                assert_eq!(refused.0.as_deref(), Some("FL001"), "{refused:?}");
                assert!(refused.1.contains("won_lock"), "{refused:?}");
            } else {
                assert!(refused.1.contains("locked"), "{refused:?}");
            }
            assert_eq!(
                w.write("UPDATE opportunity SET amount = 1 WHERE id = 2"),
                Ok(()),
                "not locked"
            );
            assert_eq!(
                w.strings("SELECT tbl || ':' || row_id FROM flow_locks"),
                ["opportunity:1"]
            );
            w.assert_delivered();
        },
    );
}

#[test]
fn scenario_9_the_owner_hears_when_the_discount_crosses_half() {
    on_both(
        "scenario_9_the_owner_hears_when_the_discount_crosses_half",
        "discount_alert",
        Order::Exact,
        r#"INSERT INTO "user" VALUES (1, '佐藤', 'sato@example.jp', 'sales');
         INSERT INTO opportunity VALUES (1, '値引き', 1), (2, '通常', 1);
         INSERT INTO line_item VALUES (1, 1, 1000, 1000), (2, 2, 900, 1000);"#,
        |w| {
            w.run(&["--until", "2025-01-02"]);
            assert!(outbox(w).is_empty());
            w.sql("INSERT INTO line_item VALUES (3, 1, 100, 2000);");
            w.run(&["--until", "2025-01-03"]);
            w.sql("INSERT INTO line_item VALUES (4, 1, 0, 100);");
            w.run(&["--until", "2025-01-04"]);
            assert_eq!(outbox(w), ["notify -> sato@example.jp"]);
            assert_eq!(
                w.strings("SELECT subject FROM flow_outbox"),
                ["値引率が50%を超えました: 値引き"]
            );
            w.assert_delivered();
        },
    );
}

#[test]
fn scenario_10_far_close_dates_are_confirmed_with_the_owner() {
    on_both(
        "scenario_10_far_close_dates_are_confirmed_with_the_owner",
        "close_date_check",
        Order::Exact,
        r#"INSERT INTO "user" VALUES (1, '佐藤', 'sato@example.jp', 'sales');
         INSERT INTO opportunity VALUES (1, '遠い', '2026-06-01', 1), (2, '近い', '2025-06-01', 1);"#,
        |w| {
            w.run(&["--until", "2025-01-02"]);
            w.sql("UPDATE opportunity SET close_date = '2027-01-01' WHERE id = 2;");
            w.run(&["--until", "2025-01-03"]);
            assert_eq!(
                outbox(w),
                [
                    "confirm_close_date -> sato@example.jp",
                    "confirm_close_date -> sato@example.jp"
                ]
            );
            assert_eq!(
                w.strings("SELECT CAST(subject_id AS TEXT) FROM flow_outbox ORDER BY id"),
                ["1", "2"]
            );
            w.assert_delivered();
        },
    );
}
