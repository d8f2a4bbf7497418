//! The data-driven suites, in one test binary: golden diagnostics
//! (`tests/check/`), `flowc compile` output (`tests/compile/`), and every
//! expression case on the VM, the JIT and the reference evaluator
//! (`tests/expr/`). One trial per fixture; `UPDATE_EXPECT=1` rewrites the
//! golden files.

#[path = "../support/mod.rs"]
mod support;

mod check;
mod compile;
mod expr;

fn main() {
    let args = libtest_mimic::Arguments::from_args();
    let mut trials = check::trials();
    trials.extend(compile::trials());
    trials.extend(expr::trials());
    libtest_mimic::run(&args, trials).exit();
}
