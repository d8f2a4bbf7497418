//! One evaluation interface for the engine: a compiled expression that
//! runs on the VM or on the JIT, chosen by a [`Backend`].
//!
//! Every expression is compiled to bytecode up front (cheap: a few
//! microseconds). Native code is compiled lazily, when the backend asks
//! for it, and cached in the [`Compiled`] value:
//! - [`Backend::Vm`] never compiles native code;
//! - [`Backend::Jit`] compiles it at the first evaluation;
//! - [`Backend::Auto`] compiles it once the expression has been evaluated
//!   [`JIT_AFTER`] times, or at once when the caller announces a sweep of
//!   at least that many rows ([`Compiled::prepare`]): the point where the
//!   JIT's compile time is paid back by its faster evaluations (see
//!   docs/performance.md, "Break-even", for the measurement).
//!
//! Whatever the backend, the result is the VM's: where the JIT declines an
//! expression, or bails out on data it was not compiled for, the VM runs.

use crate::jit::{self, Decline, JitCode, Outcome};
use flowc_check::ir::{Expr, FnDef};
use flowc_vm::eval::{Env, EvalError};
use flowc_vm::value::{Row, Value};
use flowc_vm::vm::{self, CompileError, Frame, Machine};
use std::cell::{Cell, OnceCell};
use std::fmt;
use std::rc::Rc;
use std::str::FromStr;

/// Evaluations after which `Auto` compiles native code. The measured
/// break-even point (JIT compile time ÷ VM time saved per evaluation) of
/// the benchmark's conditions is 430 to 2,300 evaluations (841 geometric
/// mean, docs/performance.md): switching once the time spent on the VM is
/// about what compiling costs keeps `Auto` within a small factor of the
/// better backend for every expression (the ski-rental rule), and spares
/// expressions evaluated only a few times a compile they would never repay.
pub const JIT_AFTER: u32 = 1_000;

/// Which backend evaluates compiled expressions (`--backend`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Backend {
    /// The bytecode VM only.
    Vm,
    /// Native code from the first evaluation (the VM where the JIT declines).
    Jit,
    /// The VM until an expression is hot, then native code.
    #[default]
    Auto,
}

impl Backend {
    pub const ALL: [Backend; 3] = [Backend::Vm, Backend::Jit, Backend::Auto];

    pub fn as_str(self) -> &'static str {
        match self {
            Backend::Vm => "vm",
            Backend::Jit => "jit",
            Backend::Auto => "auto",
        }
    }
}

impl fmt::Display for Backend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Backend {
    type Err = String;
    fn from_str(s: &str) -> Result<Backend, String> {
        Backend::ALL
            .into_iter()
            .find(|b| b.as_str() == s)
            .ok_or_else(|| format!("unknown backend `{s}` (expected vm, jit or auto)"))
    }
}

/// Which backend an expression runs on, and why.
#[derive(Debug)]
pub enum Placement<'a> {
    /// The VM, because the backend is `Vm`.
    Vm,
    /// Native code (from the start, or once `Auto` finds it hot after
    /// `after` evaluations), making `runtime_calls` calls into Rust.
    Jit { after: u32, runtime_calls: usize },
    /// The VM, because the JIT declines the expression.
    Declined(&'a Decline),
}

impl fmt::Display for Placement<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Placement::Vm => write!(f, "vm (backend vm)"),
            Placement::Jit {
                after,
                runtime_calls,
            } => {
                match after {
                    0 => write!(f, "jit")?,
                    n => write!(f, "jit after {n} evaluations (vm before)")?,
                }
                match runtime_calls {
                    0 => write!(f, "; all native"),
                    1 => write!(f, "; 1 runtime call"),
                    n => write!(f, "; {n} runtime calls"),
                }
            }
            Placement::Declined(why) => write!(f, "vm (the jit declines: {why})"),
        }
    }
}

/// An expression compiled for evaluation.
pub struct Compiled {
    code: vm::Code,
    backend: Backend,
    /// What native compilation needs, kept for when it happens.
    functions: Rc<[FnDef]>,
    expr: Expr,
    frame: Frame,
    /// The native code, or why there is none; set once compiled.
    jit: OnceCell<Result<JitCode, Decline>>,
    /// Evaluations so far (for `Auto`, until native code exists).
    evaluations: Cell<u32>,
}

impl fmt::Debug for Compiled {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Compiled")
            .field("backend", &self.backend)
            .field("jit", &self.jit.get().map(|j| j.is_ok()))
            .finish()
    }
}

impl Compiled {
    /// Compiles `expr` (bytecode now, native code when `backend` asks).
    /// `functions` are the program's `fn`s.
    pub fn new(
        functions: Rc<[FnDef]>,
        expr: &Expr,
        frame: Frame,
        backend: Backend,
    ) -> Result<Compiled, CompileError> {
        let code = vm::compile(&functions, expr, frame)?;
        Ok(Compiled {
            code,
            backend,
            functions,
            expr: expr.clone(),
            frame,
            jit: OnceCell::new(),
            evaluations: Cell::new(0),
        })
    }

    /// Evaluates the expression: the same inputs and result as
    /// [`vm::Code::eval`] (variables set on the machine beforehand).
    #[inline]
    pub fn eval(
        &self,
        m: &mut Machine,
        subject: Option<&Row>,
        env: &mut dyn Env,
    ) -> Result<Value, EvalError> {
        if let Some(jit) = self.native()
            && let Outcome::Done(result) = jit.eval(m.vars(), subject, env)
        {
            return result;
        }
        self.code.eval(m, subject, env)
    }

    /// Evaluates the expression as a condition: whether its value is true
    /// (null counts as false, as [`Value::truthy`] says). The same as
    /// `eval(…).map(|v| v.truthy())`, without building the value.
    #[inline]
    pub fn eval_condition(
        &self,
        m: &mut Machine,
        subject: Option<&Row>,
        env: &mut dyn Env,
    ) -> Result<bool, EvalError> {
        if let Some(jit) = self.native()
            && let Outcome::Done(result) = jit.eval_condition(m.vars(), subject, env)
        {
            return result;
        }
        self.code.eval(m, subject, env).map(|v| v.truthy())
    }

    /// Evaluates the expression as a condition on each row of a sweep:
    /// `rows[i]` is the subject (variable 0 is set to it, as the engine
    /// does row by row; other variables are the machine's), and
    /// `each(i, truth)` gets its result. The same as calling
    /// [`Compiled::eval_condition`] per row, but native code prepares
    /// once per sweep rather than once per row; rows the JIT leaves to the
    /// VM are reported after the others. `Auto` counts the rows as
    /// evaluations, so a large sweep compiles native code at once.
    pub fn eval_conditions(
        &self,
        m: &mut Machine,
        rows: &[Row],
        env: &mut dyn Env,
        mut each: impl FnMut(usize, Result<bool, EvalError>),
    ) {
        let native = match self.backend {
            Backend::Vm => None,
            Backend::Jit => self.compiled().ok(),
            Backend::Auto => match self.jit.get() {
                Some(done) => done.as_ref().ok(),
                None => {
                    let n = u32::try_from(rows.len()).unwrap_or(u32::MAX);
                    let n = self.evaluations.get().saturating_add(n);
                    self.evaluations.set(n);
                    (n >= JIT_AFTER).then(|| self.compiled().ok()).flatten()
                }
            },
        };
        let mut left = Vec::new();
        match native {
            Some(jit) => jit.eval_conditions(m.vars(), rows, env, |i, outcome| match outcome {
                Outcome::Done(result) => each(i, result),
                Outcome::Bail => left.push(i),
            }),
            None => left.extend(0..rows.len()),
        }
        for i in left {
            let Some(row) = rows.get(i) else { continue };
            m.set_var(0, Value::Ref(row.id));
            each(i, self.code.eval(m, Some(row), env).map(|v| v.truthy()));
        }
    }

    /// Tells `Auto` that about `evaluations` evaluations are coming (a
    /// sweep over that many rows): worth compiling native code now when
    /// they reach the break-even point.
    pub fn prepare(&self, evaluations: u64) {
        if self.backend == Backend::Auto && evaluations >= u64::from(JIT_AFTER) {
            // A declined expression simply stays on the VM.
            let _ = self.compiled();
        }
    }

    /// The native code to run now, if any.
    #[inline]
    fn native(&self) -> Option<&JitCode> {
        match self.jit.get() {
            Some(done) if self.backend != Backend::Vm => done.as_ref().ok(),
            _ => self.native_first(),
        }
    }

    /// The native code before it exists: compiled now for `Jit`, counted
    /// towards [`JIT_AFTER`] for `Auto`.
    #[cold]
    #[inline(never)]
    fn native_first(&self) -> Option<&JitCode> {
        match self.backend {
            Backend::Vm => None,
            Backend::Jit => self.compiled().ok(),
            Backend::Auto => {
                let n = self.evaluations.get().saturating_add(1);
                self.evaluations.set(n);
                if n >= JIT_AFTER {
                    self.compiled().ok()
                } else {
                    None
                }
            }
        }
    }

    /// The native code, compiling it if not done yet.
    fn compiled(&self) -> Result<&JitCode, &Decline> {
        self.jit
            .get_or_init(|| jit::compile(&self.functions, &self.expr, self.frame))
            .as_ref()
    }

    /// Where the expression runs under its backend, and why (compiling
    /// native code to find out, except for `Vm`).
    pub fn placement(&self) -> Placement<'_> {
        match self.backend {
            Backend::Vm => Placement::Vm,
            Backend::Jit | Backend::Auto => match self.compiled() {
                Ok(code) => Placement::Jit {
                    after: if self.backend == Backend::Auto {
                        JIT_AFTER
                    } else {
                        0
                    },
                    runtime_calls: code.runtime_calls(),
                },
                Err(why) => Placement::Declined(why),
            },
        }
    }

    /// Whether native code has been compiled and is in use.
    pub fn is_native(&self) -> bool {
        self.backend != Backend::Vm && matches!(self.jit.get(), Some(Ok(_)))
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// The bytecode.
    pub fn code(&self) -> &vm::Code {
        &self.code
    }
}
