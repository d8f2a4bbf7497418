//! Evaluation speed: the twelve conditions of `benches/support/conditions.rs`
//! on a hand-written Rust closure (the floor), the VM, the JIT and the
//! `Compiled` interface, per evaluation (each iteration evaluates one
//! condition on the next of 64 records); and compile time per condition
//! for both backends. Run: `cargo bench --bench eval`. The comparison with
//! the evaluators users would otherwise embed is in `bench/peers/`.

#[path = "support/conditions.rs"]
mod conditions;

use conditions::{BenchEnv, CLOCK, CONDITIONS, Condition};
use divan::{Bencher, black_box};
use flowc::eval::{Backend, Compiled};
use flowc::value::{Row, Value};
use flowc::vm::{Frame, Machine};

fn main() {
    check_agreement();
    divan::main();
}

const NAMES: [&str; 12] = [
    "compare",
    "in_list",
    "between",
    "date_math",
    "and_chain",
    "or_chain",
    "contains",
    "nullable",
    "datetime_math",
    "arithmetic",
    "text_or",
    "weekday",
];

/// Records each benchmark cycles through.
const RECORDS: usize = 64;

fn condition(name: &str) -> &'static Condition {
    CONDITIONS
        .iter()
        .find(|c| c.name == name)
        .expect("a known condition")
}

struct Setup {
    program: flowc::ir::Program,
    expr: flowc::ir::Expr,
    deals: Vec<conditions::Deal>,
    rows: Vec<Row>,
    env: BenchEnv,
}

fn setup(name: &str) -> Setup {
    let (program, expr) = conditions::typed(condition(name).flow);
    let deals = conditions::deals(RECORDS);
    let rows = deals
        .iter()
        .enumerate()
        .map(|(i, d)| conditions::row(i as i64 + 1, d))
        .collect();
    let env = BenchEnv {
        schema: program.schema.clone(),
        clock: CLOCK,
    };
    Setup {
        program,
        expr,
        deals,
        rows,
        env,
    }
}

/// Every backend computes what the closure computes, on every record.
fn check_agreement() {
    for c in &CONDITIONS {
        let mut s = setup(c.name);
        let code = flowc::vm::compile(&s.program.functions, &s.expr, Frame::RULE).expect("vm");
        let jit = flowc::jit::compile(&s.program.functions, &s.expr, Frame::RULE).expect("jit");
        let mut machine = Machine::new();
        for (deal, row) in s.deals.iter().zip(&s.rows) {
            let want = Value::Bool((c.native)(deal, &CLOCK));
            let vm = code.eval(&mut machine, Some(row), &mut s.env);
            assert_eq!(vm, Ok(want.clone()), "vm: {}", c.name);
            let native = jit.eval(&[], Some(row), &mut s.env);
            assert_eq!(
                native,
                flowc::jit::Outcome::Done(Ok(want)),
                "jit: {}",
                c.name
            );
        }
    }
}

#[divan::bench(args = NAMES)]
fn closure(bencher: Bencher, name: &str) {
    let c = condition(name);
    let deals = conditions::deals(RECORDS);
    let mut i = 0;
    bencher.bench_local(|| {
        i = (i + 1) % RECORDS;
        (c.native)(black_box(&deals[i]), black_box(&CLOCK))
    });
}

#[divan::bench(args = NAMES)]
fn vm(bencher: Bencher, name: &str) {
    let mut s = setup(name);
    let code = flowc::vm::compile(&s.program.functions, &s.expr, Frame::RULE).expect("vm");
    let mut machine = Machine::new();
    let mut i = 0;
    bencher.bench_local(|| {
        i = (i + 1) % RECORDS;
        code.eval(&mut machine, Some(black_box(&s.rows[i])), &mut s.env)
    });
}

#[divan::bench(args = NAMES)]
fn jit(bencher: Bencher, name: &str) {
    let mut s = setup(name);
    let code = flowc::jit::compile(&s.program.functions, &s.expr, Frame::RULE).expect("jit");
    let mut i = 0;
    bencher.bench_local(|| {
        i = (i + 1) % RECORDS;
        code.eval(&[], Some(black_box(&s.rows[i])), &mut s.env)
    });
}

/// The JIT's condition entry: the truth of the result, no `Value` built
/// (what the closure computes, and what the engine needs of a condition).
#[divan::bench(args = NAMES)]
fn jit_condition(bencher: Bencher, name: &str) {
    let mut s = setup(name);
    let code = flowc::jit::compile(&s.program.functions, &s.expr, Frame::RULE).expect("jit");
    let mut i = 0;
    bencher.bench_local(|| {
        i = (i + 1) % RECORDS;
        code.eval_condition(&[], Some(black_box(&s.rows[i])), &mut s.env)
    });
}

/// The engine's interface for a condition, JIT backend (native code
/// compiled at the first evaluation, outside the timed loop).
#[divan::bench(args = NAMES)]
fn compiled_jit(bencher: Bencher, name: &str) {
    let mut s = setup(name);
    let functions = s.program.functions.clone().into();
    let code = Compiled::new(functions, &s.expr, Frame::RULE, Backend::Jit).expect("compile");
    let mut machine = Machine::new();
    let _ = code.eval_condition(&mut machine, Some(&s.rows[0]), &mut s.env);
    let mut i = 0;
    bencher.bench_local(|| {
        i = (i + 1) % RECORDS;
        code.eval_condition(&mut machine, Some(black_box(&s.rows[i])), &mut s.env)
    });
}

#[divan::bench(args = NAMES)]
fn compile_vm(bencher: Bencher, name: &str) {
    let s = setup(name);
    bencher
        .bench_local(|| flowc::vm::compile(&s.program.functions, black_box(&s.expr), Frame::RULE));
}

#[divan::bench(args = NAMES, sample_count = 30)]
fn compile_jit(bencher: Bencher, name: &str) {
    let s = setup(name);
    bencher.bench_local(|| {
        flowc::jit::compile(&s.program.functions, black_box(&s.expr), Frame::RULE)
            .map(|code| code.function_count())
    });
}

/// Sweeps: each iteration evaluates the condition on all 64 records (per
/// evaluation: the time divided by 64), the closure over the deals, the
/// backends through the engine's interface, `Compiled::eval_conditions`.
mod sweep {
    use super::*;

    #[divan::bench(args = NAMES)]
    fn closure(bencher: Bencher, name: &str) {
        let c = condition(name);
        let deals = conditions::deals(RECORDS);
        bencher.bench_local(|| {
            black_box(&deals)
                .iter()
                .filter(|d| (c.native)(d, black_box(&CLOCK)))
                .count()
        });
    }

    fn compiled(bencher: Bencher, name: &str, backend: Backend) {
        let mut s = setup(name);
        let functions = s.program.functions.clone().into();
        let code = Compiled::new(functions, &s.expr, Frame::RULE, backend).expect("compile");
        let mut machine = Machine::new();
        code.eval_conditions(&mut machine, &s.rows, &mut s.env, |_, _| {});
        bencher.bench_local(|| {
            let mut n = 0;
            code.eval_conditions(&mut machine, black_box(&s.rows), &mut s.env, |_, r| {
                n += usize::from(r == Ok(true))
            });
            n
        });
    }

    #[divan::bench(args = NAMES)]
    fn vm(bencher: Bencher, name: &str) {
        compiled(bencher, name, Backend::Vm);
    }

    #[divan::bench(args = NAMES)]
    fn jit(bencher: Bencher, name: &str) {
        compiled(bencher, name, Backend::Jit);
    }
}
