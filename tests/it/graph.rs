//! `flowc graph`: golden Mermaid and DOT charts of the example rules, SVG
//! that parses as XML, and `--db` counts that match the database.

use crate::support::golden;
use crate::support::pg;
use crate::support::world;

use std::path::PathBuf;
use std::process::Command;

const CHARTS: &[(&str, &str)] = &[
    ("seminar", "seminar"),
    ("seminar", "seminar_payment"),
    ("invoice_reminder", "invoice_reminder"),
    ("renewal", "renewal"),
    ("lead_assignment", "assign_web_lead"),
    ("undecided_followup", "undecided_followup"),
];

fn graph(example: &str, rule: &str, format: &str) -> String {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let out = Command::new(env!("CARGO_BIN_EXE_flowc"))
        .args([
            "graph",
            rule,
            &format!("examples/{example}"),
            "--format",
            format,
        ])
        .current_dir(&root)
        .output()
        .expect("flowc graph");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn mermaid_and_dot_charts_match_their_golden_files() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let mut failures = Vec::new();
    for (example, rule) in CHARTS {
        for (format, ext) in [("mermaid", "mmd"), ("dot", "dot")] {
            let path = root.join(format!("tests/graph/{rule}.{ext}"));
            if let Err(e) = golden::compare(&path, &graph(example, rule, format)) {
                failures.push(e);
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn svg_charts_are_well_formed_xml_with_every_step() {
    for (example, rule) in CHARTS {
        let svg = graph(example, rule, "svg");
        let mut child = Command::new("python3")
            .args([
                "-c",
                "import sys, xml.etree.ElementTree as ET; r = ET.fromstring(sys.stdin.read()); \
                          print(r.tag, len([e for e in r.iter() if e.tag.endswith('text')]))",
            ])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .expect("python3");
        use std::io::Write;
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(svg.as_bytes())
            .expect("write");
        let out = child.wait_with_output().expect("parse");
        let printed = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success() && printed.starts_with("{http://www.w3.org/2000/svg}svg"),
            "{rule}: {printed}"
        );
        let mermaid = graph(example, rule, "mermaid");
        let nodes = mermaid
            .lines()
            .filter(|l| l.trim_start().starts_with('n') && !l.contains("-->"))
            .count();
        let texts: usize = printed
            .split_whitespace()
            .nth(1)
            .and_then(|n| n.parse().ok())
            .unwrap_or(0);
        assert!(texts >= nodes, "{rule}: {texts} texts for {nodes} nodes");
    }
}

/// Runs a Python script with `input` on its stdin; its stdout, or a panic
/// with its stderr.
fn python(script: &str, input: &str) -> String {
    use std::io::Write;
    let mut child = Command::new("python3")
        .args(["-c", script])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("python3");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(input.as_bytes())
        .expect("write");
    let out = child.wait_with_output().expect("python3 runs");
    assert!(
        out.status.success(),
        "python3 failed: {}\n{input}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Prints the title of each chart of an SVG document, checking that it is
/// one document whose charts are groups placed one below the other.
const CHART_TITLES: &str = r#"
import sys, re, xml.etree.ElementTree as ET
root = ET.fromstring(sys.stdin.read())
ns = '{http://www.w3.org/2000/svg}'
assert root.tag == ns + 'svg', root.tag
height = float(root.get('viewBox').split()[3])
last = -1.0
for g in root:
    if g.tag != ns + 'g' or g.get('class') != 'chart':
        continue
    y = float(re.fullmatch(r'translate\(([-0-9.]+),([-0-9.]+)\)', g.get('transform')).group(2))
    assert last < y < height, (y, last, height)
    last = y
    titles = [t for t in g if t.get('class') == 'title']
    print(''.join(titles[0].itertext()))
"#;

/// A folder's rules in one SVG: one document (XML allows one root), each
/// rule's chart in a group of its own under a title naming the rule, one
/// below the other.
#[test]
fn several_rules_make_one_svg_document_with_a_chart_per_rule() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let out = Command::new(env!("CARGO_BIN_EXE_flowc"))
        .args(["graph", "examples/seminar", "--format", "svg"])
        .current_dir(&root)
        .output()
        .expect("flowc graph");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let svg = String::from_utf8_lossy(&out.stdout);
    let printed = python(CHART_TITLES, &svg);
    assert_eq!(
        printed.lines().collect::<Vec<_>>(),
        [
            "rule seminar",
            "rule seminar_payment",
            "rule payment_received"
        ],
        "{svg}"
    );
}

#[test]
fn a_rule_name_that_does_not_exist_gets_a_suggestion() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let out = Command::new(env!("CARGO_BIN_EXE_flowc"))
        .args(["graph", "seminr", "examples/seminar"])
        .current_dir(&root)
        .output()
        .expect("flowc graph");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("did you mean `seminar`?"));
}

/// Three sign-ups: all three got the auto-reply; one opened it (and went
/// on), two still wait, which the wait shows apart from the one that
/// passed.
#[test]
fn with_a_database_each_step_shows_its_runs() {
    let w = world::World::example("seminar");
    w.run(&["--now", "2025-01-01T09:00"]);
    w.sql("INSERT INTO contact (id, name, email) VALUES (1, 'A', 'a@example.jp'), (2, 'B', 'b@example.jp'), (3, 'C', 'c@example.jp');");
    for id in 1..=3 {
        w.event(
            "form_submitted",
            &format!("contact:{id}"),
            r#"{"form": "seminar"}"#,
            None,
        );
    }
    w.event(
        "email_opened",
        "contact:1",
        r#"{"template": "autoreply"}"#,
        Some("2025-01-02"),
    );
    w.run(&["--until", "2025-01-03"]);
    let out = w.flowc(&["graph", "seminar", "rules", "--db", "crm.sqlite"]);
    let chart = world::text(&out.stdout);
    assert!(
        chart.contains("n1[\"send email autoreply to contact<br/>3 passed\"]"),
        "{chart}"
    );
    assert!(
        chart
            .contains("n2{{\"wait 7d unless contact opened autoreply<br/>1 passed · 2 waiting\"}}"),
        "{chart}"
    );
}

/// Leads assigned by rules whose branches write a rep found by a lookup,
/// a literal, or (`assign_note`) a value that depends on the lead.
const ASSIGN_PROJECT: &[(&str, &str)] = &[
    (
        "schema.flow",
        r#"timezone "Asia/Tokyo"

record user {
  name: text
  email: text
}

record lead {
  name: text
  prefecture: text?
  employees: int?
  industry: text?
  rank: text?
  note: text?
  owner: user?
}
"#,
    ),
    (
        "rules.flow",
        r#"rule assign_owner
  when lead is created
  assign lead.owner
    when lead.prefecture == "北海道" to user(email: "sato@example.jp")
    when lead.employees >= 1000 to user(email: "kato@example.jp")
    when lead.industry == "物流" to user(email: "sato@example.jp")
    otherwise user(email: "inside@example.jp")
end

rule assign_rank
  when lead is created
  assign lead.rank
    when lead.employees >= 1000 to "A"
    when lead.employees >= 100 to "B"
    otherwise "C"
end

rule assign_note
  when lead is created
  assign lead.note
    when lead.industry is not null to lead.industry
    otherwise "none"
end
"#,
    ),
];

/// The users and seven leads: two from 北海道 (one also large), three
/// large, one in 物流, one of none of these.
const ASSIGN_ROWS: &str = "INSERT INTO \"user\" (id, name, email) VALUES \
    (1, 'Sato', 'sato@example.jp'), (2, 'Kato', 'kato@example.jp'), \
    (3, 'Inside', 'inside@example.jp'); \
    INSERT INTO lead (id, name, prefecture, employees, industry) VALUES \
    (1, 'a', '北海道', 5000, NULL), (2, 'b', '北海道', 10, NULL), \
    (3, 'c', '東京都', 1200, NULL), (4, 'd', '大阪府', 3000, '製造業'), \
    (5, 'e', NULL, 2000, NULL), (6, 'f', NULL, 150, '物流'), (7, 'g', NULL, NULL, NULL);";

/// The Mermaid line of the node whose label starts with `label`.
fn node_line<'a>(chart: &'a str, label: &str) -> &'a str {
    chart
        .lines()
        .find(|l| l.contains(&format!("\"{label}")))
        .unwrap_or_else(|| panic!("no node {label:?} in:\n{chart}"))
}

/// Each branch of an `assign` shows the runs that took it, and each
/// question the runs that reached it (before, each showed the step's
/// total), on SQLite and on PostgreSQL alike. Where a branch's value
/// depends on the run, the branches cannot be told apart by the value in
/// the log: only the first question shows the total.
#[test]
fn with_a_database_each_assign_branch_shows_its_own_runs() {
    let w = world::World::files(ASSIGN_PROJECT);
    w.run(&["--now", "2025-01-01T09:00"]);
    w.sql(ASSIGN_ROWS);
    w.run(&["--now", "2025-01-01T10:00"]);
    let mut databases = vec!["crm.sqlite".to_string()];
    if let Some(server) = pg::shared("with_a_database_each_assign_branch_shows_its_own_runs") {
        let url = server.create_database("graph_assign");
        w.ok(&["schema", "--db", &url, "--create", "rules"]);
        w.ok(&["run", "--db", &url, "rules", "--now", "2025-01-01T09:00"]);
        server.psql(&url, ASSIGN_ROWS);
        w.ok(&["run", "--db", &url, "rules", "--now", "2025-01-01T10:00"]);
        databases.push(url);
    }
    for db in &databases {
        let owner = w.ok(&["graph", "assign_owner", "rules", "--db", db]);
        let has = |chart: &str, label: &str, count: &str| {
            let line = node_line(chart, label);
            assert!(
                line.contains(&format!("<br/>{count}\"")),
                "{db}: {line}\n{chart}"
            );
        };
        // Sato is the first and the third branch's value: those two
        // cannot be told apart, nor can the questions after the first.
        has(&owner, "lead.prefecture", "7 passed");
        assert!(
            !node_line(&owner, "lead.employees").contains("passed"),
            "{owner}"
        );
        assert!(
            !node_line(&owner, "lead.industry").contains("passed"),
            "{owner}"
        );
        assert!(
            !node_line(&owner, "lead.owner = user(email: #quot;sato").contains("passed"),
            "{owner}"
        );
        has(&owner, "lead.owner = user(email: #quot;kato", "3 passed");
        has(&owner, "lead.owner = user(email: #quot;inside", "1 passed");

        let rank = w.ok(&["graph", "assign_rank", "rules", "--db", db]);
        has(&rank, "lead.employees >= 1000", "7 passed");
        has(&rank, "lead.employees >= 100<", "3 passed");
        has(&rank, "lead.rank = #quot;A#quot;", "4 passed");
        has(&rank, "lead.rank = #quot;B#quot;", "1 passed");
        has(&rank, "lead.rank = #quot;C#quot;", "2 passed");

        let note = w.ok(&["graph", "assign_note", "rules", "--db", db]);
        has(&note, "lead.industry is not null", "7 passed");
        assert!(
            !node_line(&note, "lead.note = lead.industry").contains("passed"),
            "{note}"
        );
        assert!(
            !node_line(&note, "lead.note = #quot;none").contains("passed"),
            "{note}"
        );
    }
}
