#![allow(dead_code)]
//! Golden files: compare output with a file beside the fixture; a missing
//! expectation is written on first run, `UPDATE_EXPECT=1` rewrites them all.

use std::path::{Path, PathBuf};

/// Compares `actual` with the file at `expected_path`.
pub fn compare(expected_path: &Path, actual: &str) -> Result<(), String> {
    let update = std::env::var_os("UPDATE_EXPECT").is_some();
    match std::fs::read_to_string(expected_path) {
        Ok(expected) if expected == actual => Ok(()),
        Ok(_) if update => write(expected_path, actual),
        Ok(expected) => Err(format!(
            "{} differs (run with UPDATE_EXPECT=1 to accept):\n{}",
            expected_path.display(),
            diff(&expected, actual)
        )),
        Err(_) if std::env::var_os("CI").is_some() => Err(format!(
            "{} is missing; run the tests locally to create it and commit it",
            expected_path.display()
        )),
        Err(_) => write(expected_path, actual),
    }
}

fn write(path: &Path, contents: &str) -> Result<(), String> {
    std::fs::write(path, contents).map_err(|e| format!("{}: {e}", path.display()))
}

/// A line diff good enough to read in a test failure.
fn diff(expected: &str, actual: &str) -> String {
    let e: Vec<&str> = expected.lines().collect();
    let a: Vec<&str> = actual.lines().collect();
    let mut out = String::new();
    for i in 0..e.len().max(a.len()) {
        match (e.get(i), a.get(i)) {
            (Some(x), Some(y)) if x == y => out.push_str(&format!("  {x}\n")),
            (x, y) => {
                if let Some(x) = x {
                    out.push_str(&format!("- {x}\n"));
                }
                if let Some(y) = y {
                    out.push_str(&format!("+ {y}\n"));
                }
            }
        }
    }
    out
}

/// Files in `dir` with extension `ext`, sorted.
pub fn fixtures(dir: &Path, ext: &str) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|entries| entries.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default();
    files.retain(|p| p.extension().is_some_and(|e| e == ext));
    files.sort();
    files
}
