//! What the read-only commands and the log tell a person: `flowc tasks`
//! (open tasks by assignee, with names), and the log line that ends a
//! rejected run.

use crate::support::pg;
use crate::support::world::{World, text};

const PROJECT: &str = r#"timezone "Asia/Tokyo"

record user {
  name: text
  email: text
}

record opportunity {
  name: text
  owner: user
}

rule followup
  when opportunity is created
  create task "フォローアップ: {{opportunity.name}}" for opportunity.owner due today + 7d
end
"#;

const ROWS: &str = "INSERT INTO \"user\" (id, name, email) VALUES (1, '田中', 'tanaka@example.jp'), (2, '佐藤', 'sato@example.jp');
     INSERT INTO opportunity (id, name, owner) VALUES (48, '大型案件', 2), (49, '小型案件', 1), (50, '展示会案件', 2);";

const LISTED: &str = "田中 (tanaka@example.jp) — user #1: 1 open task
  #2  due 2025-04-08  フォローアップ: 小型案件 — opportunity #49 「小型案件」, rule followup

佐藤 (sato@example.jp) — user #2: 2 open tasks
  #1  due 2025-04-08  フォローアップ: 大型案件 — opportunity #48 「大型案件」, rule followup
  #3  due 2025-04-08  フォローアップ: 展示会案件 — opportunity #50 「展示会案件」, rule followup
";

/// `flowc tasks` lists open tasks by assignee, naming the assignee, the
/// record each is about and its rule; `--all` adds the done ones. Before,
/// no command showed tasks at all.
#[test]
fn tasks_lists_open_tasks_by_assignee_with_names() {
    let w = World::files(&[("main.flow", PROJECT)]);
    w.run(&["--now", "2025-04-01T09:00"]);
    w.sql(ROWS);
    w.run(&["--now", "2025-04-01T10:00"]);
    assert_eq!(w.ok(&["tasks", "--db", "crm.sqlite"]), LISTED);

    // Another program marks a task done: it leaves the list, and `--all`
    // shows it with its status.
    w.sql("UPDATE flow_tasks SET status = 'done' WHERE id = 3;");
    let open = w.ok(&["tasks", "--db", "crm.sqlite"]);
    assert!(!open.contains("展示会案件"), "{open}");
    assert!(open.contains("user #2: 1 open task\n"), "{open}");
    let all = w.ok(&["tasks", "--db", "crm.sqlite", "--all"]);
    assert!(
        all.contains("  #3  due 2025-04-08  フォローアップ: 展示会案件 [done] — opportunity #50"),
        "{all}"
    );
    assert!(all.contains("user #2: 2 tasks, 1 open\n"), "{all}");

    // Nothing open says so; a missing database is an error.
    w.sql("UPDATE flow_tasks SET status = 'done';");
    assert_eq!(w.ok(&["tasks", "--db", "crm.sqlite"]), "no open tasks\n");
    let out = w.flowc(&["tasks", "--db", "typo.sqlite"]);
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("typo.sqlite: no such database file"),
        "{}",
        text(&out.stderr)
    );

    let Some(server) = pg::shared("tasks_lists_open_tasks_by_assignee_with_names") else {
        return;
    };
    let w = World::files(&[("main.flow", PROJECT)]);
    let url = server.create_database("tasks_list");
    w.ok(&["schema", "--db", &url, "--create", "rules"]);
    w.ok(&["run", "--db", &url, "rules", "--now", "2025-04-01T09:00"]);
    server.psql(&url, ROWS);
    w.ok(&["run", "--db", &url, "rules", "--now", "2025-04-01T10:00"]);
    assert_eq!(w.ok(&["tasks", "--db", &url]), LISTED);
}

/// A rejected run's last log line says `rejected`, after its `on reject`
/// steps too (before: `done`), and the run is counted as rejected.
#[test]
fn a_rejected_runs_last_log_line_says_rejected() {
    let w = World::example("invoice_reminder");
    w.run(&["--now", "2025-04-01T09:00"]);
    w.sql(
        "INSERT INTO user (id, name, email, role) VALUES (1, '佐藤', 'sato@example.jp', 'sales');
         INSERT INTO account (id, name, email, owner) VALUES (1, '株式会社DEF', 'def@example.jp', 1);",
    );
    w.event(
        "invoice_sent",
        "account:1",
        r#"{"invoice": "INV-001"}"#,
        Some("2025-04-01T09:00"),
    );
    w.run(&["--now", "2025-04-01T09:00"]);
    w.run(&["--now", "2025-04-04T10:00"]);
    w.ok(&["approvals", "--db", "crm.sqlite", "reject", "1"]);
    w.run(&["--now", "2025-04-04T11:00"]);
    let log = w.ok(&["log", "--db", "crm.sqlite", "--run", "1"]);
    let last = log.lines().last().unwrap_or_default();
    assert!(last.contains("rejected"), "{log}");
    assert!(!last.contains(" done"), "{log}");
    assert!(log.contains("tag"), "the on reject step ran:\n{log}");
    assert_eq!(w.strings("SELECT status FROM flow_runs"), ["rejected"]);
}
