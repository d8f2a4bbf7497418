//! Golden tests for `flowc compile`: each `tests/compile/NAME.flow` is
//! compiled with the real binary, and what it prints with `--emit ir`,
//! `--emit bytecode`, `--emit clif` and `--explain-backend --backend jit`
//! compared with `NAME.ir`, `NAME.bytecode`, `NAME.clif` and
//! `NAME.explain`. A missing expectation is written on first run;
//! `UPDATE_EXPECT=1` rewrites them all.

use crate::support::golden;

use libtest_mimic::{Failed, Trial};
use std::path::{Path, PathBuf};
use std::process::Command;

/// Expectation file extension and the arguments that produce it.
const MODES: [(&str, &[&str]); 4] = [
    ("ir", &["--emit", "ir"]),
    ("bytecode", &["--emit", "bytecode"]),
    ("clif", &["--emit", "clif"]),
    ("explain", &["--explain-backend", "--backend", "jit"]),
];

/// One trial per fixture.
pub fn trials() -> Vec<Trial> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let mut trials = Vec::new();
    for fixture in golden::fixtures(&root.join("tests/compile"), "flow") {
        let name = fixture
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        for (ext, flags) in MODES {
            let (f, r) = (fixture.clone(), root.clone());
            trials.push(Trial::test(format!("compile::{name}::{ext}"), move || {
                run(&r, &f, ext, flags)
            }));
        }
    }
    trials
}

fn run(root: &Path, fixture: &Path, ext: &str, flags: &[&str]) -> Result<(), Failed> {
    let relative = fixture.strip_prefix(root).unwrap_or(fixture);
    let out = Command::new(env!("CARGO_BIN_EXE_flowc"))
        .arg("compile")
        .args(flags)
        .arg(relative)
        .current_dir(root)
        .env("NO_COLOR", "1")
        .output()
        .map_err(|e| format!("flowc does not run: {e}"))?;
    if !out.status.success() {
        let stderr = String::from_utf8_lossy(&out.stderr);
        return Err(format!("flowc compile failed ({}):\n{stderr}", out.status).into());
    }
    let stdout = String::from_utf8_lossy(&out.stdout);
    golden::compare(&fixture.with_extension(ext), &stdout).map_err(Failed::from)
}
