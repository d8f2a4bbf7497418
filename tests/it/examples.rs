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

#[test]
fn every_example_is_formatted() {
    let out = Command::new(env!("CARGO_BIN_EXE_flowc"))
        .args(["fmt", "--check"])
        .arg(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("examples"))
        .output()
        .expect("flowc");
    assert!(
        out.status.success(),
        "files that `flowc fmt` would change:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The example rules repository's CI workflow: each `run: flowc …` step,
/// run as written (with the built `flowc` first on PATH) in a copy of the
/// repository, succeeds and leaves SARIF where the upload step looks.
#[test]
fn rules_repo_workflow_steps_pass() {
    let repo = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("examples/rules_repo");
    let workflow = std::fs::read_to_string(repo.join(".github/workflows/flowc.yml"))
        .expect("the workflow file");
    let steps: Vec<&str> = workflow
        .lines()
        .filter_map(|l| l.trim().strip_prefix("run: "))
        .filter(|cmd| cmd.starts_with("flowc "))
        .collect();
    let commands: Vec<&str> = steps
        .iter()
        .map(|s| s.split(' ').nth(1).unwrap_or(""))
        .collect();
    assert_eq!(commands, ["fmt", "check", "check", "test"], "{steps:?}");

    let work = tempfile::tempdir().expect("temp dir");
    copy_dir(&repo, work.path());
    let bin_dir = PathBuf::from(env!("CARGO_BIN_EXE_flowc"));
    let bin_dir = bin_dir.parent().expect("the binary's folder");
    let path = std::env::join_paths(std::iter::once(bin_dir.to_path_buf()).chain(
        std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default()),
    ))
    .expect("PATH");
    for step in &steps {
        let out = Command::new("sh")
            .args(["-c", step])
            .current_dir(work.path())
            .env("PATH", &path)
            .env("NO_COLOR", "1")
            .output()
            .expect("sh");
        assert!(
            out.status.success(),
            "`{step}` failed:\n{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let sarif = std::fs::read_to_string(work.path().join("flowc.sarif")).expect("flowc.sarif");
    assert!(sarif.contains("\"version\": \"2.1.0\"") || sarif.contains("\"version\":\"2.1.0\""));
    assert!(
        sarif.contains("\"results\": []") || sarif.contains("\"results\":[]"),
        "{sarif}"
    );
}

fn copy_dir(from: &std::path::Path, to: &std::path::Path) {
    for entry in std::fs::read_dir(from).expect("read_dir").flatten() {
        let target = to.join(entry.file_name());
        if entry.path().is_dir() {
            std::fs::create_dir_all(&target).expect("mkdir");
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).expect("copy");
        }
    }
}
