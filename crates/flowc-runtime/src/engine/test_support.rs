//! What the engine's tests share.

#![cfg(test)]

use flowc_jit::compiled::Backend;

/// Checks `text` (as `main.flow`), which declares `count` `test` blocks,
/// and runs each through the tester on both expression backends: all pass.
pub(super) fn test_blocks_pass(text: &str, count: usize) {
    let checked = flowc_check::project::Project::from_texts([("main.flow", text)]).check();
    assert!(!checked.has_errors(), "{:?}", checked.diagnostics);
    let program = &checked.program;
    assert_eq!(program.tests.len(), count);
    for backend in [Backend::Vm, Backend::Jit] {
        for test in &program.tests {
            let outcome = crate::tester::run(program, test, backend);
            assert!(
                outcome.failure.is_none(),
                "{} ({backend:?}): {:?}",
                test.name,
                outcome.failure
            );
        }
    }
}
