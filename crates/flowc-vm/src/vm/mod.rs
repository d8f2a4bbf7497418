//! The bytecode backend: a compact register machine for the typed IR.
//!
//! [`compile`] turns one expression into [`Code`]; [`Code::eval`] runs it
//! with a reusable [`Machine`] (registers and variables, so that evaluating
//! a million rows allocates nothing for numbers, dates or booleans).

mod compile;
mod exec;
mod op;

pub use compile::CompileError;
pub use op::{AggregateCode, Op, Reg};

use crate::value::Value;
use flowc_check::ir::{self, Expr, Ty};
use std::fmt::Write as _;

/// One compiled expression.
#[derive(Clone, Debug, PartialEq)]
pub struct Code {
    pub ops: Vec<Op>,
    pub consts: Vec<Value>,
    pub aggregates: Vec<AggregateCode>,
    /// Registers the code needs.
    pub registers: usize,
    /// Variables the code needs (the caller's plus aggregate rows).
    pub vars: usize,
    /// The type of the result.
    pub ty: Ty,
}

/// What the compiled code may assume about its caller.
#[derive(Clone, Copy, Debug)]
pub struct Frame {
    /// Variables the caller provides (0 = the subject, 1 = the recipient,
    /// or a test's variables).
    pub vars: u32,
    /// Whether the caller passes the subject's row, so that `subject.f`
    /// reads it without asking the environment.
    pub subject_row: bool,
}

impl Frame {
    /// A rule's or segment's expressions: subject row and recipient.
    pub const RULE: Frame = Frame {
        vars: 2,
        subject_row: true,
    };
}

/// Compiles one expression. `functions` are the program's `fn`s, inlined.
pub fn compile(functions: &[ir::FnDef], expr: &Expr, frame: Frame) -> Result<Code, CompileError> {
    compile::Compiler::new(functions, frame.vars, frame.subject_row).finish(expr)
}

/// Registers and variables, reused from one evaluation to the next.
#[derive(Debug, Default)]
pub struct Machine {
    pub(crate) regs: Vec<Value>,
    pub(crate) vars: Vec<Value>,
}

impl Machine {
    pub fn new() -> Machine {
        Machine::default()
    }

    /// Sets a caller variable before an evaluation.
    pub fn set_var(&mut self, var: usize, value: Value) {
        if self.vars.len() <= var {
            self.vars.resize(var + 1, Value::Null);
        }
        self.vars[var] = value;
    }

    /// The caller variables set so far (the JIT reads them too).
    pub fn vars(&self) -> &[Value] {
        &self.vars
    }
}

impl Code {
    /// Whether the code reads the subject's row directly (`Op::Subject`).
    pub fn reads_subject(&self) -> bool {
        self.ops.iter().any(|op| matches!(op, Op::Subject { .. }))
    }

    /// The bytecode as text, one instruction per line (`flowc compile --emit bytecode`).
    pub fn listing(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "; {} registers, {} variables",
            self.registers, self.vars
        );
        for (i, c) in self.consts.iter().enumerate() {
            let _ = writeln!(out, "const {i} = {c:?}");
        }
        for (i, a) in self.aggregates.iter().enumerate() {
            let _ = writeln!(out, "aggregate {i} = {a:?}");
        }
        for (pc, op) in self.ops.iter().enumerate() {
            let _ = writeln!(out, "{pc:4}  {op:?}");
        }
        out
    }
}
