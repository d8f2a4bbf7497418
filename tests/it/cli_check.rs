//! `flowc check` and `flowc schema` through the built binary: exit codes,
//! JSON output, and schema drift against real SQLite files.

use std::path::Path;
use std::process::{Command, Output};

fn flowc(args: &[&str], dir: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_flowc"))
        .args(args)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .output()
        .expect("flowc runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

const SCHEMA: &str = r#"
timezone "Asia/Tokyo"
enum stage { "提案", "受注", "失注" }
record contact {
  name: text
  email: text
  score: int
}
record opportunity {
  name: text
  stage: stage
  amount: int
  contact: contact
}
list followup of contact
rule lost
  when opportunity.stage changes to "失注"
  add opportunity.contact to list followup
end
"#;

fn project(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    for (name, body) in files {
        let path = dir.path().join(name);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).expect("mkdir");
        }
        std::fs::write(path, body).expect("write");
    }
    dir
}

#[test]
fn clean_project_exits_zero_and_says_so() {
    let dir = project(&[("rules/main.flow", SCHEMA)]);
    let out = flowc(&["check", "rules"], dir.path());
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(text(&out.stderr), "checked 1 file: no problems\n");
}

#[test]
fn default_path_is_the_current_folder_searched_recursively() {
    let dir = project(&[
        ("a/b/main.flow", SCHEMA),
        ("a/other.flow", "list extra of contact\n"),
    ]);
    let out = flowc(&["check"], dir.path());
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(text(&out.stderr), "checked 2 files: no problems\n");
}

#[test]
fn errors_in_several_files_are_all_reported_and_exit_one() {
    let broken = SCHEMA
        .replace("\"失注\"\n  add", "\"失注 \"\n  add")
        .replace("opportunity.contact to", "opportunity.contcat to");
    let dir = project(&[
        ("a.flow", &broken),
        ("b.flow", "segment s of contact where contact.scor > 1\n"),
    ]);
    let out = flowc(&["check", "."], dir.path());
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("error[E0106]: \"失注 \" is not a value of `stage`"),
        "{stderr}"
    );
    assert!(stderr.contains("hint: did you mean \"失注\"?"), "{stderr}");
    assert!(
        stderr.contains("error[E0101]: unknown field `contcat` on `opportunity`"),
        "{stderr}"
    );
    assert!(stderr.contains("b.flow:1:"), "{stderr}");
    assert!(
        stderr.ends_with("checked 2 files: 3 errors, 0 warnings\n"),
        "{stderr}"
    );
    // Sorted by file, then position.
    let a = stderr.find("a.flow").unwrap_or(usize::MAX);
    let b = stderr.find("b.flow").unwrap_or(0);
    assert!(a < b, "{stderr}");
}

#[test]
fn warnings_alone_exit_zero() {
    let dir = project(&[(
        "w.flow",
        "record c { p: text? }\nsegment s of c where c.p != \"x\"\n",
    )]);
    let out = flowc(&["check", "w.flow"], dir.path());
    assert_eq!(out.status.code(), Some(0));
    assert!(text(&out.stderr).contains("warning[W0101]"));
}

#[test]
fn missing_path_is_a_usage_error() {
    let dir = project(&[]);
    let out = flowc(&["check", "nowhere"], dir.path());
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        text(&out.stderr),
        "error: nowhere: no such file or folder\n"
    );
    let empty = flowc(&["check", "."], dir.path());
    assert_eq!(empty.status.code(), Some(2));
    assert!(text(&empty.stderr).contains("no .flow files found"));
}

#[test]
fn unknown_format_is_a_usage_error() {
    let dir = project(&[("a.flow", SCHEMA)]);
    let out = flowc(&["check", "--format", "xml", "a.flow"], dir.path());
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn json_format_prints_one_object_per_diagnostic() {
    let dir = project(&[(
        "a.flow",
        "record c { n: int }\nsegment s of c where c.m > 1 and c.n == \"x\"\n",
    )]);
    let out = flowc(&["check", "--format", "json", "a.flow"], dir.path());
    assert_eq!(out.status.code(), Some(1));
    let lines: Vec<serde_json::Value> = text(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("each line is JSON"))
        .collect();
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[0]["code"], "E0101");
    assert_eq!(lines[0]["severity"], "error");
    assert_eq!(lines[0]["file"], "a.flow");
    assert_eq!(
        (lines[0]["line"].as_u64(), lines[0]["column"].as_u64()),
        (Some(2), Some(24))
    );
    assert_eq!(
        (
            lines[0]["end_line"].as_u64(),
            lines[0]["end_column"].as_u64()
        ),
        (Some(2), Some(25))
    );
    assert_eq!(lines[1]["code"], "E0201");
    assert!(text(&out.stderr).is_empty(), "json mode keeps stderr quiet");
}

fn sqlite(dir: &Path, sql: &str) -> std::path::PathBuf {
    let path = dir.join("crm.sqlite");
    let conn = rusqlite::Connection::open(&path).expect("open db");
    conn.execute_batch(sql).expect("create tables");
    path
}

#[test]
fn db_drift_reports_missing_tables_columns_and_bad_types() {
    let dir = project(&[("a.flow", SCHEMA)]);
    sqlite(
        dir.path(),
        "CREATE TABLE contact (id INTEGER PRIMARY KEY, name TEXT, score TEXT);",
    );
    let out = flowc(
        &["check", "--format", "json", "--db", "crm.sqlite", "a.flow"],
        dir.path(),
    );
    assert_eq!(out.status.code(), Some(1));
    let codes: Vec<String> = text(&out.stdout)
        .lines()
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l).expect("json")["code"]
                .as_str()
                .unwrap_or("")
                .to_string()
        })
        .collect();
    // contact.email is missing, contact.score is TEXT, opportunity has no table.
    assert_eq!(codes, ["E0702", "E0703", "E0701"]);
}

#[test]
fn db_drift_accepts_a_matching_database_and_refuses_a_missing_one() {
    let dir = project(&[("a.flow", SCHEMA)]);
    let created = flowc(
        &["schema", "--db", "crm.sqlite", "--create", "a.flow"],
        dir.path(),
    );
    assert_eq!(created.status.code(), Some(0), "{}", text(&created.stderr));
    assert_eq!(
        text(&created.stderr),
        "created table \"contact\"\ncreated table \"opportunity\"\n"
    );
    let out = flowc(&["check", "--db", "crm.sqlite", "a.flow"], dir.path());
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let again = flowc(
        &["schema", "--db", "crm.sqlite", "--create", "a.flow"],
        dir.path(),
    );
    assert_eq!(text(&again.stderr), "every declared table already exists\n");
    let missing = flowc(&["check", "--db", "nope.sqlite", "a.flow"], dir.path());
    assert_eq!(missing.status.code(), Some(2));
    assert!(
        !dir.path().join("nope.sqlite").exists(),
        "check never creates a database"
    );
}

#[test]
fn schema_prints_a_flow_schema_that_checks_clean() {
    let dir = project(&[]);
    sqlite(
        dir.path(),
        "CREATE TABLE account (id INTEGER PRIMARY KEY, name TEXT NOT NULL, founded DATE, active BOOLEAN NOT NULL);
         CREATE TABLE deal (id INTEGER PRIMARY KEY, account_id INTEGER NOT NULL REFERENCES account(id),
                            amount REAL, closed_at DATETIME, \"Weird Name\" TEXT);
         CREATE TABLE flow_runs (id INTEGER PRIMARY KEY);",
    );
    let out = flowc(&["schema", "--db", "crm.sqlite"], dir.path());
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let schema = text(&out.stdout);
    assert!(
        schema.contains("record account {\n  name: text\n  founded: date?\n  active: bool\n}"),
        "{schema}"
    );
    assert!(
        schema.contains("  account_id: account\n  amount: decimal?\n  closed_at: datetime?\n"),
        "{schema}"
    );
    assert!(
        schema.contains("# column \"Weird Name\" skipped"),
        "{schema}"
    );
    assert!(
        !schema.contains("flow_runs"),
        "flowc's own tables are not user records"
    );
    std::fs::write(dir.path().join("schema.flow"), &schema).expect("write");
    let check = flowc(&["check", "--db", "crm.sqlite", "schema.flow"], dir.path());
    assert_eq!(check.status.code(), Some(0), "{}", text(&check.stderr));
}

#[test]
fn fmt_check_lists_unformatted_files_and_fmt_fixes_them() {
    let messy = "rule  lost\n when opportunity.stage changes to \"失注\"   # lost deals\n    add opportunity.contact to list followup\nend\n";
    let dir = project(&[("a.flow", messy), ("b.flow", "list followup of contact\n")]);
    let out = flowc(&["fmt", "--check"], dir.path());
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(text(&out.stdout), "./a.flow\n");
    assert_eq!(
        std::fs::read_to_string(dir.path().join("a.flow"))
            .ok()
            .as_deref(),
        Some(messy),
        "--check changes nothing"
    );
    let out = flowc(&["fmt"], dir.path());
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let formatted = std::fs::read_to_string(dir.path().join("a.flow")).unwrap_or_default();
    assert_eq!(
        formatted,
        "rule lost\n  when opportunity.stage changes to \"失注\"  # lost deals\n  add opportunity.contact to list followup\nend\n"
    );
    let again = flowc(&["fmt", "--check"], dir.path());
    assert_eq!(again.status.code(), Some(0));
}

#[test]
fn fmt_leaves_a_file_with_syntax_errors_alone() {
    let broken = "rule x\n  when contact is created\n  sned email a to contact\nend\n";
    let dir = project(&[("x.flow", broken)]);
    let out = flowc(&["fmt", "x.flow"], dir.path());
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("error[E0001]"));
    assert_eq!(
        std::fs::read_to_string(dir.path().join("x.flow"))
            .ok()
            .as_deref(),
        Some(broken)
    );
}

/// Inputs that once overflowed the stack (found by fuzzing): any nesting
/// depth or chain length gets E0006, never a crash.
#[test]
fn absurd_nesting_is_an_error_not_a_crash() {
    let n = 20_000;
    let shapes = [
        (
            "parens",
            format!("fn f() -> int = {}1{}\n", "(".repeat(n), ")".repeat(n)),
        ),
        ("plus", format!("fn f() -> int = 1{}\n", "+1".repeat(n))),
        (
            "or",
            format!("fn f() -> bool = true{}\n", " or true".repeat(n)),
        ),
        (
            "not",
            format!("fn f() -> bool = {}true\n", "not ".repeat(n)),
        ),
        ("minus", format!("fn f() -> int = {}1\n", "- ".repeat(n))),
        (
            "fields",
            format!(
                "record r {{ a: r? }}\nsegment s of r where r{}.a is null\n",
                ".a".repeat(n)
            ),
        ),
        (
            "ifs",
            format!(
                "record r {{ a: int }}\nrule x\n  when r is created\n{}  stop\n{}end\n",
                "  if true\n".repeat(5_000),
                "  end\n".repeat(5_000)
            ),
        ),
        (
            "list",
            format!(
                "fn f() -> bool = 1 in {}1{}\n",
                "[".repeat(n),
                "]".repeat(n)
            ),
        ),
    ];
    for (name, text) in shapes {
        let dir = project(&[("deep.flow", &text)]);
        let out = flowc(&["check", "deep.flow"], dir.path());
        let stderr = text_of(&out.stderr);
        assert_eq!(
            out.status.code(),
            Some(1),
            "{name}: {}",
            stderr.chars().take(400).collect::<String>()
        );
        assert!(
            stderr.contains("error[E0006]") || stderr.contains("error[E0001]"),
            "{name}: {}",
            stderr.chars().take(400).collect::<String>()
        );
    }
}

fn text_of(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn every_command_help_shows_an_example_on_its_own_line() {
    let dir = tempfile::tempdir().expect("temp dir");
    let commands = [
        "demo",
        "check",
        "compile",
        "fmt",
        "schema",
        "run",
        "event",
        "approvals",
        "stats",
        "log",
        "bench",
        "test",
        "graph",
    ];
    for command in commands {
        let out = flowc(&[command, "--help"], dir.path());
        let help = text(&out.stdout);
        assert!(out.status.success(), "{command}: {help}");
        let examples = help
            .lines()
            .skip_while(|l| !l.starts_with("Example"))
            .skip(1)
            .take_while(|l| !l.is_empty())
            .filter(|l| l.trim_start().contains(&format!("flowc {command}")))
            .count();
        assert!(
            examples >= 1,
            "`flowc {command} --help` shows no example line:\n{help}"
        );
    }
}
