//! `flowc test` through the built binary: a fixture project whose tests pass
//! and fail in known ways; the failure report is a golden file.

use crate::support::golden;

use std::path::PathBuf;
use std::process::{Command, Output};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn flowc_test(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_flowc"))
        .arg("test")
        .args(args)
        .env("NO_COLOR", "1")
        .current_dir(root())
        .output()
        .expect("flowc test")
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn failure_report_matches_golden() {
    let out = flowc_test(&["tests/flowtest/failing"]);
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    let text = stdout(&out);
    assert!(text.contains("1 passed, 8 failed"), "{text}");
    if let Err(e) = golden::compare(&root().join("tests/flowtest/failing.stdout"), &text) {
        panic!("{e}");
    }
}

#[test]
fn filter_selects_tests_by_name() {
    let out = flowc_test(&["tests/flowtest/failing", "--filter", "passes:"]);
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(text.contains("running 1 test"), "{text}");
    assert!(text.contains("1 passed, 0 failed"), "{text}");
    assert!(!text.contains("FAILED"), "{text}");
}

#[test]
fn every_backend_reports_the_same_failures() {
    let reports: Vec<String> = ["vm", "jit"]
        .iter()
        .map(|b| stdout(&flowc_test(&["tests/flowtest/failing", "--backend", b])))
        .collect();
    assert_eq!(reports[0], reports[1]);
    assert!(reports[0].contains("1 passed, 8 failed"), "{}", reports[0]);
}

#[test]
fn github_format_annotates_each_failure_on_its_line() {
    let out = flowc_test(&["tests/flowtest/failing", "--format", "github"]);
    assert_eq!(out.status.code(), Some(1));
    let text = stdout(&out);
    let annotations: Vec<&str> = text.lines().filter(|l| l.starts_with("::error ")).collect();
    assert_eq!(annotations.len(), 8, "{text}");
    assert!(
        annotations[0].starts_with(
            "::error file=tests/flowtest/failing/tests.flow,line=28,col=10,endLine=28,endColumn=32,title=flowc test::this expectation does not hold"
        ),
        "{}",
        annotations[0]
    );
    // The human report is still there, unchanged.
    assert!(
        text.contains("test result: FAILED. 1 passed, 8 failed"),
        "{text}"
    );
}

/// Counting and inspecting: `expect 2 emails`, `with subject contains`,
/// `expect 1 task for u`, `expect update … is refused`; each failure says
/// what was expected and what was found.
#[test]
fn inspecting_expectations_report_matches_golden() {
    let out = flowc_test(&["tests/flowtest/inspect"]);
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(text.contains("1 passed, 5 failed"), "{text}");
    if let Err(e) = golden::compare(&root().join("tests/flowtest/inspect.stdout"), &text) {
        panic!("{e}");
    }
}

/// `wait (contact.sla_days) business days`: a count computed from the
/// record when the wait starts, in business days and in open hours.
#[test]
fn computed_business_waits_pass() {
    let out = flowc_test(&["tests/flowtest/business_count"]);
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(text.contains("2 passed, 0 failed"), "{text}");
}
