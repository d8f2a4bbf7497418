//! The ten scenarios of DESIGN.md §1, each driven through `flowc run
//! --until` on a real SQLite file with seed data and a real SMTP server,
//! asserting everything it must produce and that nothing else is produced.
//! (The seminar and the invoice reminder are in tests/engine.rs.)

use crate::support::smtp;
use crate::support::world;

use world::World;

/// An example project with its database and an SMTP server on 127.0.0.1
/// that every `run` delivers to.
struct Scenario {
    world: World,
    server: smtp::Server,
}

impl std::ops::Deref for Scenario {
    type Target = World;
    fn deref(&self) -> &World {
        &self.world
    }
}

impl Scenario {
    fn run(&self, extra: &[&str]) -> String {
        let url = self.server.url();
        let mut args = extra.to_vec();
        args.extend_from_slice(&["--smtp", &url]);
        self.world.run(&args)
    }

    /// Every email in the outbox was sent, and the SMTP server received
    /// exactly those.
    fn assert_delivered(&self) {
        assert_eq!(
            self.count("SELECT count(*) FROM flow_outbox WHERE status != 'sent'"),
            0,
            "undelivered: {:?}",
            self.strings("SELECT to_addr || ' ' || status || ' ' || coalesce(error, '') FROM flow_outbox WHERE status != 'sent'")
        );
        let mut sent = self.strings("SELECT to_addr || ' | ' || subject FROM flow_outbox");
        sent.sort();
        assert_eq!(self.server.summary(), sent);
    }
}

/// Starts an example at 2025-01-01 09:00 (change capture installed), then
/// loads `seed` as changes made by another program.
fn scenario(name: &str, seed: &str) -> Scenario {
    let world = World::example(name);
    let server = smtp::Server::start(&world.path("received"));
    let s = Scenario { world, server };
    s.run(&["--now", "2025-01-01T09:00"]);
    s.sql(seed);
    s
}

fn outbox(w: &World) -> Vec<String> {
    w.strings("SELECT coalesce(template, kind) || ' -> ' || to_addr FROM flow_outbox ORDER BY id")
}

#[test]
fn scenario_1_lost_and_won_deals_go_to_their_lists() {
    let w = scenario(
        "lost_won_lists",
        "INSERT INTO user VALUES (1, '佐藤', 'sato@example.jp', 'sales');
         INSERT INTO contact VALUES (1, '山田', 'yamada@example.jp'), (2, '鈴木', 'suzuki@example.jp'), (3, '田中', 'tanaka@example.jp');
         INSERT INTO opportunity VALUES (1, 'A', '提案', 100, 1, 1), (2, 'B', '提案', 100, 2, 1), (3, 'C', '提案', 100, 3, 1);",
    );
    w.run(&["--until", "2025-01-02"]);
    w.sql("UPDATE opportunity SET stage = '失注' WHERE id = 1; UPDATE opportunity SET stage = '受注' WHERE id = 2; UPDATE opportunity SET stage = '06' WHERE id = 3;");
    w.run(&["--until", "2025-01-03"]);
    assert_eq!(
        w.strings("SELECT list || ':' || row_id FROM flow_list_members ORDER BY list, row_id"),
        ["followup:1", "upsell:2"]
    );
    assert!(outbox(&w).is_empty());
    w.assert_delivered();
}

#[test]
fn scenario_2_big_deals_alert_the_executives() {
    let w = scenario(
        "big_deal_alert",
        "INSERT INTO user VALUES (1, '佐藤', 'sato@example.jp', 'sales'), (2, '社長', 'ceo@example.jp', 'executive'), (3, '専務', 'senmu@example.jp', 'executive');
         INSERT INTO opportunity VALUES (1, '全社導入', 15000000, 1), (2, '小口', 300000, 1);",
    );
    w.run(&["--until", "2025-01-02"]);
    assert_eq!(
        outbox(&w),
        ["notify -> ceo@example.jp", "notify -> senmu@example.jp"]
    );
    assert_eq!(
        w.strings("SELECT DISTINCT subject FROM flow_outbox"),
        ["Big deal: 全社導入 (15000000 円, 佐藤)"]
    );
    w.assert_delivered();
}

#[test]
fn scenario_4_renewals_enter_daily_at_nine_local_time() {
    let w = scenario(
        "renewal",
        "INSERT INTO contact VALUES (1, '山田', 'yamada@example.jp'), (2, '鈴木', 'suzuki@example.jp'), (3, '田中', 'tanaka@example.jp');
         INSERT INTO opportunity VALUES (1, '保守', '提案', 1), (2, '交渉中', '07', 2), (3, '更新', '見込み', 3);
         INSERT INTO contract VALUES (1, 1, 1, '2025-03-03', NULL), (2, 2, 2, '2025-03-03', NULL), (3, 3, 3, '2025-04-01', NULL);",
    );
    w.run(&["--until", "2025-02-28"]);
    assert_eq!(
        outbox(&w),
        [
            "renewal_notice -> yamada@example.jp",
            "renewal_notice -> tanaka@example.jp"
        ]
    );
    assert_eq!(
        w.strings("SELECT list || ':' || row_id FROM flow_list_members ORDER BY row_id"),
        ["renewal:1", "renewal:3"]
    );
    assert_eq!(
        w.strings("SELECT id || ':' || coalesce(scenario_end_date, '-') FROM contract ORDER BY id"),
        ["1:2025-01-02", "2:-", "3:2025-01-16"]
    );
    assert_eq!(
        w.strings("SELECT row_id || ':' || tag FROM flow_tags ORDER BY row_id"),
        ["1:renewal_done", "3:renewal_done"]
    );
    // 09:00 in Tokyo is 00:00 UTC.
    assert_eq!(
        w.strings("SELECT DISTINCT CAST(at % 86400 AS TEXT) FROM flow_log WHERE action = 'sweep'"),
        ["0"]
    );
    assert_eq!(
        w.count("SELECT count(*) FROM flow_log WHERE action = 'sweep'"),
        57,
        "one sweep a day, 2025-01-02 to 2025-02-27 (09:00)"
    );
    w.assert_delivered();
}

#[test]
fn scenario_6_web_leads_are_assigned_by_the_first_matching_line() {
    let w = scenario(
        "lead_assignment",
        "INSERT INTO user VALUES (1, '佐藤', 'sato@example.jp', 'sales'), (2, '加藤', 'kato@example.jp', 'sales'),
           (3, '大手', 'enterprise@example.jp', 'sales'), (4, '業界', 'industry@example.jp', 'sales'), (5, 'インサイド', 'inside@example.jp', 'sales');
         INSERT INTO lead (id, name, email, prefecture, interest, employees, industry) VALUES
           (1, '札幌', 'a@x.jp', '北海道', '商材X', 9000, '物流'),
           (2, '東京', 'b@x.jp', '東京都', '商材X と Y', NULL, NULL),
           (3, '大阪', 'c@x.jp', '大阪府', 'その他', 1000, NULL),
           (4, '名古屋', 'd@x.jp', NULL, 'その他', 10, '物流'),
           (5, '福岡', 'e@x.jp', '福岡県', 'その他', NULL, 'IT');",
    );
    w.run(&["--until", "2025-01-02"]);
    assert_eq!(
        w.strings("SELECT id || ':' || owner FROM lead ORDER BY id"),
        ["1:1", "2:2", "3:3", "4:4", "5:5"]
    );
    assert!(outbox(&w).is_empty());
    w.assert_delivered();
}

#[test]
fn scenario_7_undecided_deals_get_a_task_ninety_days_later() {
    let w = scenario(
        "undecided_followup",
        "INSERT INTO user VALUES (1, '佐藤', 'sato@example.jp', 'sales');
         INSERT INTO opportunity VALUES (1, '展示会', '提案', 1), (2, '決定済み', '提案', 1);",
    );
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
}

#[test]
fn scenario_8_won_deals_lock_and_big_discounts_need_the_manager() {
    let w = scenario(
        "won_lock_discount_approval",
        "INSERT INTO user VALUES (1, '部長', 'bucho@example.jp', 'manager', NULL), (2, '佐藤', 'sato@example.jp', 'sales', 1);
         INSERT INTO opportunity VALUES (1, '大型', '提案', 5000000, 2), (2, '小型', '提案', 100, 2);
         INSERT INTO discount_request (id, opportunity, rate, requested_by) VALUES (1, 1, 0.2, 2), (2, 2, 0.05, 2);",
    );
    w.run(&["--until", "2025-01-02"]);
    assert_eq!(
        w.strings("SELECT run_id || ':' || approver_id || ':' || status FROM flow_approvals"),
        ["1:1:pending"]
    );
    let out = w.flowc(&["approvals", "--db", "crm.sqlite", "approve", "1"]);
    assert!(out.status.success());
    w.run(&["--until", "2025-01-03"]);
    assert_eq!(
        w.strings(
            "SELECT id || ':' || coalesce(approved_on, '-') FROM discount_request ORDER BY id"
        ),
        ["1:2025-01-02", "2:-"],
        "approved when the next run saw the decision"
    );
    w.sql("UPDATE opportunity SET stage = '受注' WHERE id = 1;");
    w.run(&["--until", "2025-01-04"]);
    assert!(
        w.conn()
            .execute("UPDATE opportunity SET amount = 1 WHERE id = 1", [])
            .is_err(),
        "locked"
    );
    assert!(
        w.conn()
            .execute("UPDATE opportunity SET amount = 1 WHERE id = 2", [])
            .is_ok(),
        "not locked"
    );
    w.assert_delivered();
}

#[test]
fn scenario_9_the_owner_hears_when_the_discount_crosses_half() {
    let w = scenario(
        "discount_alert",
        "INSERT INTO user VALUES (1, '佐藤', 'sato@example.jp', 'sales');
         INSERT INTO opportunity VALUES (1, '値引き', 1), (2, '通常', 1);
         INSERT INTO line_item VALUES (1, 1, 1000, 1000), (2, 2, 900, 1000);",
    );
    w.run(&["--until", "2025-01-02"]);
    assert!(outbox(&w).is_empty());
    w.sql("INSERT INTO line_item VALUES (3, 1, 100, 2000);");
    w.run(&["--until", "2025-01-03"]);
    w.sql("INSERT INTO line_item VALUES (4, 1, 0, 100);");
    w.run(&["--until", "2025-01-04"]);
    assert_eq!(outbox(&w), ["notify -> sato@example.jp"]);
    assert_eq!(
        w.strings("SELECT subject FROM flow_outbox"),
        ["値引率が50%を超えました: 値引き"]
    );
    w.assert_delivered();
}

#[test]
fn scenario_10_far_close_dates_are_confirmed_with_the_owner() {
    let w = scenario(
        "close_date_check",
        "INSERT INTO user VALUES (1, '佐藤', 'sato@example.jp', 'sales');
         INSERT INTO opportunity VALUES (1, '遠い', '2026-06-01', 1), (2, '近い', '2025-06-01', 1);",
    );
    w.run(&["--until", "2025-01-02"]);
    w.sql("UPDATE opportunity SET close_date = '2027-01-01' WHERE id = 2;");
    w.run(&["--until", "2025-01-03"]);
    assert_eq!(
        outbox(&w),
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
}
