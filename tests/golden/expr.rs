//! The expression suite: every case in `tests/expr/cases.txt` is checked
//! against `tests/expr/schema.flow`, evaluated on row t#1 by the VM, the JIT
//! and a plain reference evaluator, and all must give the expected value
//! (or all fail when `error` is expected; `type error` means the
//! checker must reject the case). One test per case.

use crate::support::exprs;

use libtest_mimic::{Failed, Trial};

/// One trial per fixture.
pub fn trials() -> Vec<Trial> {
    let root = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let cases = std::fs::read_to_string(root.join("tests/expr/cases.txt")).expect("cases.txt");
    let mut trials = Vec::new();
    for (n, line) in cases.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let Some((expr, expected)) = line.rsplit_once("=>") else {
            panic!("line {}: expected `EXPR => RESULT`", n + 1);
        };
        let (expr, expected) = (expr.trim().to_string(), expected.trim().to_string());
        trials.push(Trial::test(
            format!("line_{:03}: {expr}", n + 1),
            move || run(&expr, &expected),
        ));
    }
    trials
}

fn run(expr: &str, expected: &str) -> Result<(), Failed> {
    let fixture = exprs::Fixture::load();
    if expected == "type error" {
        return match fixture.typed(expr) {
            Err(_) => Ok(()),
            Ok(_) => Err(format!("`{expr}` should not type-check").into()),
        };
    }
    let results = fixture.evaluate_all(expr).map_err(Failed::from)?;
    let want = if expected == "error" {
        None
    } else {
        Some(fixture.evaluate_literal(expected).map_err(Failed::from)?)
    };
    for (backend, result) in &results {
        match (&want, result) {
            (None, Err(_)) => {}
            (None, Ok(v)) => return Err(format!("{backend}: expected an error, got {v:?}").into()),
            (Some(w), Ok(v)) if exprs::same(w, v) => {}
            (Some(w), other) => {
                return Err(format!("{backend}: expected {w:?}, got {other:?}").into());
            }
        }
    }
    Ok(())
}
