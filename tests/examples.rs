//! Every project under `examples/` checks clean and its own `flowc test`
//! tests pass, through the built binary.

use std::path::PathBuf;
use std::process::Command;

fn examples() -> Vec<PathBuf> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("examples");
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(&root)
        .expect("examples/")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_dir())
        .collect();
    dirs.sort();
    dirs
}

#[test]
fn every_example_checks_clean() {
    let dirs = examples();
    assert!(
        dirs.len() >= 11,
        "the ten scenarios and the quickstart: {dirs:?}"
    );
    for dir in dirs {
        let out = Command::new(env!("CARGO_BIN_EXE_flowc"))
            .arg("check")
            .arg(&dir)
            .env("NO_COLOR", "1")
            .output()
            .expect("flowc");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            out.status.success() && stderr.contains("no problems"),
            "{}:\n{stderr}",
            dir.display()
        );
    }
}

/// Runs every example's tests on one backend.
fn examples_pass_on(backend: &str) {
    for dir in examples() {
        let out = Command::new(env!("CARGO_BIN_EXE_flowc"))
            .arg("test")
            .arg(&dir)
            .args(["--backend", backend])
            .env("NO_COLOR", "1")
            .output()
            .expect("flowc");
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "{}:\n{stdout}\n{}",
            dir.display(),
            String::from_utf8_lossy(&out.stderr)
        );
        let summary = stdout
            .lines()
            .find(|l| l.starts_with("test result:"))
            .unwrap_or_default();
        assert!(
            summary.starts_with("test result: ok.") && !summary.contains(" 0 passed"),
            "{} ({backend}): {summary}",
            dir.display()
        );
    }
}

#[test]
fn every_example_passes_its_tests() {
    examples_pass_on("auto");
}

/// The same scenarios with every expression on the bytecode VM, and with
/// every expression compiled to native code: the backends must agree.
#[test]
fn every_example_passes_on_the_vm() {
    examples_pass_on("vm");
}

#[test]
fn every_example_passes_on_the_jit() {
    examples_pass_on("jit");
}
