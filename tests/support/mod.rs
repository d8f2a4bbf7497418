//! What the test binaries share: a project on a real SQLite file driven by
//! the built `flowc` (`world`), a real SMTP server (`smtp`), a real
//! browser (`browser`), golden files, and the expression fixtures with
//! their reference evaluator.
#![allow(dead_code)]

pub mod browser;
pub mod db;
pub mod eml;
pub mod exprs;
pub mod golden;
pub mod memenv;
pub mod pg;
pub mod reference;
pub mod serve;
pub mod smtp;
pub mod world;

/// Whether to run a slow test (kill -9 at random points, the demo month):
/// with `FLOWC_SLOW_TESTS=1`, as `.ci/run` sets. Otherwise it says loudly
/// that it skipped and how to enable it; under `CI=true` a skip fails.
pub fn slow_tests_enabled(name: &str) -> bool {
    if std::env::var_os("FLOWC_SLOW_TESTS").is_some_and(|v| !v.is_empty() && v != "0") {
        return true;
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "{name} is a slow test and CI must run it: set FLOWC_SLOW_TESTS=1"
    );
    // Straight to the process's stderr: the test harness captures
    // `eprintln!` of passing tests, and this must be seen.
    use std::io::Write;
    let _ = writeln!(
        std::io::stderr(),
        "SKIPPED {name}: a slow test; run it with FLOWC_SLOW_TESTS=1 cargo test (as .ci/run does)"
    );
    false
}
