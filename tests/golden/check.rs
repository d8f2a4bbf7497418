//! Golden tests for diagnostics: `tests/check/NAME.flow` is checked with the
//! real `flowc check`, and its output compared with `NAME.stderr` (human
//! form) and, where `NAME.json` exists or `NAME.flow` starts with `# json`,
//! with `NAME.json` (`--format json`). Where `NAME.sql` exists, it is run
//! into a fresh SQLite file passed as `--db` (the schema drift codes).
//! One test per fixture.

use crate::support::golden;

use libtest_mimic::{Failed, Trial};
use std::path::{Path, PathBuf};
use std::process::Command;

/// One trial per fixture.
pub fn trials() -> Vec<Trial> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let mut trials = Vec::new();
    for fixture in golden::fixtures(&root.join("tests/check"), "flow") {
        let name = fixture
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        let (f, r) = (fixture.clone(), root.clone());
        trials.push(Trial::test(format!("check::{name}"), move || human(&r, &f)));
        let wants_json = fixture.with_extension("json").exists()
            || std::fs::read_to_string(&fixture).is_ok_and(|t| t.starts_with("# json"));
        if wants_json {
            let (f, r) = (fixture.clone(), root.clone());
            trials.push(Trial::test(format!("check_json::{name}"), move || {
                json(&r, &f)
            }));
        }
    }
    trials
}

fn flowc(root: &Path, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_flowc"))
        .args(args)
        .current_dir(root)
        .env("NO_COLOR", "1")
        .output()
        .expect("flowc runs")
}

fn relative(root: &Path, fixture: &Path) -> String {
    fixture
        .strip_prefix(root)
        .unwrap_or(fixture)
        .to_string_lossy()
        .replace('\\', "/")
}

/// `flowc check FIXTURE`, with `--db` on a database made from `NAME.sql`
/// when there is one.
fn check(root: &Path, fixture: &Path, format: &[&str]) -> Result<std::process::Output, Failed> {
    let mut args = vec!["check"];
    args.extend_from_slice(format);
    let sql = fixture.with_extension("sql");
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let db = dir.path().join("crm.sqlite");
    let db_arg = db.to_string_lossy().into_owned();
    if sql.exists() {
        let text = std::fs::read_to_string(&sql).map_err(|e| e.to_string())?;
        let conn = rusqlite::Connection::open(&db).map_err(|e| e.to_string())?;
        conn.execute_batch(&text).map_err(|e| e.to_string())?;
        args.extend(["--db", &db_arg]);
    }
    let fixture = relative(root, fixture);
    args.push(&fixture);
    Ok(flowc(root, &args))
}

fn human(root: &Path, fixture: &Path) -> Result<(), Failed> {
    let out = check(root, fixture, &[])?;
    let stderr = String::from_utf8_lossy(&out.stderr);
    let code = out.status.code().unwrap_or(-1);
    let has_error = stderr.contains("error[");
    if code != i32::from(has_error) {
        return Err(format!("exit status {code} does not match the diagnostics:\n{stderr}").into());
    }
    let mut expected_codes = expected_codes(fixture);
    expected_codes.sort();
    let mut found: Vec<String> = stderr
        .lines()
        .filter_map(|l| {
            l.split_once('[')
                .and_then(|(_, rest)| rest.split_once(']'))
                .map(|(c, _)| c.to_string())
        })
        .filter(|c| c.len() == 5)
        .collect();
    found.sort();
    found.dedup();
    expected_codes.dedup();
    if found != expected_codes {
        return Err(format!(
            "the fixture's `# expect:` line says {expected_codes:?}, flowc reported {found:?}"
        )
        .into());
    }
    golden::compare(&fixture.with_extension("stderr"), &stderr).map_err(Failed::from)
}

fn json(root: &Path, fixture: &Path) -> Result<(), Failed> {
    let out = check(root, fixture, &["--format", "json"])?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    for line in stdout.lines() {
        let v: serde_json::Value =
            serde_json::from_str(line).map_err(|e| format!("not JSON: {e}: {line}"))?;
        for key in [
            "code",
            "severity",
            "file",
            "line",
            "column",
            "end_line",
            "end_column",
            "message",
            "hint",
        ] {
            if v.get(key).is_none() {
                return Err(format!("missing `{key}` in {line}").into());
            }
        }
    }
    golden::compare(&fixture.with_extension("json"), &stdout).map_err(Failed::from)
}

/// The codes a fixture declares it produces: a first line `# expect: E0101 W0101`
/// (or `# json expect: …`); `# expect: none` for a clean file.
fn expected_codes(fixture: &Path) -> Vec<String> {
    let text = std::fs::read_to_string(fixture).unwrap_or_default();
    let first = text.lines().next().unwrap_or("");
    first
        .split_once("expect:")
        .map(|(_, codes)| {
            codes
                .split_whitespace()
                .filter(|c| *c != "none")
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default()
}
