//! The Cranelift backend: one IR expression (with the program's `fn`s
//! inlined, as the VM does) compiled to native code.
//!
//! Numbers, booleans, dates, datetimes, durations, enums and references are
//! computed natively, with the rules of `eval/ops.rs` (null propagation,
//! overflow errors tested only on non-null operands, null for division by
//! zero and non-finite decimals, whole-day date arithmetic); the subject's
//! own fields are read straight from its row's slots, and `today` / `now`
//! are read from the environment once per evaluation. Text tests,
//! other records' fields, lists, segments, tags, engagement, lookups,
//! aggregates, event and old values, conversions from event values and the
//! rarer primitives are runtime calls into Rust (`runtime.rs`) that do
//! exactly what the VM does. `abi.rs` documents the calling convention and
//! how values are held; `translate.rs` is the translator; `entry.rs` runs
//! compiled code ([`JitCode::eval`], [`JitCode::eval_condition`], and
//! [`JitCode::eval_conditions`] for sweeps).
//!
//! The JIT *declines* ([`Decline`]) what it cannot hold in one compiled
//! value (branches giving values of different kinds, event values used
//! untyped); the caller then uses the VM. At run time it *bails* (returns
//! [`Outcome::Bail`]) when the data is not what the code was compiled for
//! (a slot whose tag does not match its field's type, a value of an
//! unexpected kind from the environment): the caller then evaluates the
//! same expression with the VM, so the answer is always the VM's.
//!
//! This is the only module allowed `unsafe`: calling compiled code, the
//! runtime functions' access to the context it passes them, and freeing
//! the code's memory.

#![allow(unsafe_code)]

mod abi;
mod emit;
mod entry;
mod plan;
mod runtime;
mod translate;
mod translate_ops;

pub use abi::Cell;

use cranelift_codegen::isa::OwnedTargetIsa;
use cranelift_codegen::settings::{self, Configurable};
use cranelift_frontend::FunctionBuilderContext;
use cranelift_jit::{JITBuilder, JITModule};
use cranelift_module::{Linkage, Module, ModuleError, default_libcall_names};
use flowc_check::ir::{Expr, FnDef, Ty, Type};
use flowc_vm::eval::EvalError;
use flowc_vm::value::{Slot, Value};
use flowc_vm::vm::Frame;
use std::cell::RefCell;
use std::ffi::c_void;
use std::fmt;

/// A compiled function: `(ctx, subject slots, frame, row) -> status` (see `abi`).
type JitFn = unsafe extern "C" fn(*mut c_void, *const Slot, *const Cell, i64) -> u32;

/// Why the JIT leaves an expression to the VM.
#[derive(Debug)]
pub enum Decline {
    /// The expression has type errors (the VM refuses it too).
    TypeErrors,
    /// A variable that is not in scope (the checker lets none through).
    UnboundVariable(u32),
    /// A call to a `fn` the program does not have.
    UnknownFunction(u32),
    /// `fn` calls nested deeper than the VM inlines (a cycle?).
    TooDeep,
    /// Branches (of `if`, `coalesce`, a strict call) that give values of
    /// different kinds, which one compiled value cannot hold.
    Mixed(Type, Type),
    /// A value whose kind is only known at run time (an event payload
    /// value, a caller variable of no declared type) used where the kind
    /// decides what happens.
    Untyped(&'static str),
    /// More calls, cells or fields than the tables can number.
    TooLarge,
    /// Cranelift does not support this machine (or it is not 64-bit).
    Host(&'static str),
    /// Cranelift refused the generated code (a translator bug).
    Codegen(Box<ModuleError>),
}

impl fmt::Display for Decline {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Decline::TypeErrors => write!(f, "the expression has type errors"),
            Decline::UnboundVariable(v) => write!(f, "variable #{v} is not in scope"),
            Decline::UnknownFunction(id) => write!(f, "unknown function #{id}"),
            Decline::TooDeep => write!(f, "functions nested too deeply"),
            Decline::Mixed(a, b) => {
                write!(f, "branches give values of different kinds ({a:?}, {b:?})")
            }
            Decline::Untyped(what) => write!(f, "{what} whose kind is only known at run time"),
            Decline::TooLarge => write!(f, "the expression is too large"),
            Decline::Host(why) => write!(f, "this machine is not supported: {why}"),
            Decline::Codegen(e) => write!(f, "code generation failed: {e}"),
        }
    }
}

impl std::error::Error for Decline {}

impl From<ModuleError> for Decline {
    fn from(e: ModuleError) -> Decline {
        Decline::Codegen(Box::new(e))
    }
}

/// What running compiled code gave.
#[derive(Debug, PartialEq)]
pub enum Outcome<T = Value> {
    /// The value (or the condition's truth), or the error, the VM would give.
    Done(Result<T, EvalError>),
    /// The data is not what the code was compiled for: evaluate with the VM.
    Bail,
}

/// One compiled expression. Its machine code lives as long as it does.
pub struct JitCode {
    /// The compiled functions: 0 is the expression, then aggregate blocks.
    functions: Vec<JitFn>,
    /// The tables the code and the runtime share.
    plan: plan::Plan,
    /// The expression's type.
    pub ty: Ty,
    /// The IR type the result is boxed as.
    result: Type,
    /// Variables the caller provides.
    vars: u32,
    /// Owns the memory `functions` point into; freed on drop.
    _module: OwnedModule,
}

impl fmt::Debug for JitCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JitCode")
            .field("functions", &self.functions.len())
            .field("plan", &self.plan)
            .field("ty", &self.ty)
            .finish()
    }
}

/// A `JITModule` whose code and data are freed when it is dropped.
struct OwnedModule(Option<JITModule>);

impl Drop for OwnedModule {
    fn drop(&mut self) {
        if let Some(module) = self.0.take() {
            // SAFETY: the module belongs to one `JitCode`, which is being
            // dropped: no function pointer into its memory survives (they
            // are private to `JitCode`, and nothing runs while it drops).
            unsafe { module.free_memory() };
        }
    }
}

/// Reused from one compilation to the next on a thread: the host's
/// instruction set (with our settings) and Cranelift's scratch contexts.
struct Workspace {
    isa: OwnedTargetIsa,
    context: cranelift_codegen::Context,
    builder: FunctionBuilderContext,
}

thread_local! {
    static WORKSPACE: RefCell<Option<Workspace>> = const { RefCell::new(None) };
}

fn host_isa() -> Result<OwnedTargetIsa, Decline> {
    if std::mem::size_of::<usize>() != 8 {
        return Err(Decline::Host("the JIT needs a 64-bit machine"));
    }
    let mut flags = settings::builder();
    // The translator already folds what matters (null flags known at
    // compile time, literal conversions); Cranelift's e-graph pass would
    // cost a quarter of the compile time for code no faster in our
    // measurements (docs/performance.md).
    flags.set("opt_level", "none").map_err(ModuleError::from)?;
    flags.set("is_pic", "false").map_err(ModuleError::from)?;
    flags
        .set("use_colocated_libcalls", "false")
        .map_err(ModuleError::from)?;
    let verify = if cfg!(debug_assertions) {
        "true"
    } else {
        "false"
    };
    flags
        .set("enable_verifier", verify)
        .map_err(ModuleError::from)?;
    let isa = cranelift_native::builder()
        .map_err(Decline::Host)?
        .finish(settings::Flags::new(flags))
        .map_err(ModuleError::from)?;
    Ok(isa)
}

/// Runs `f` with this thread's workspace.
fn with_workspace<T>(f: impl FnOnce(&mut Workspace) -> Result<T, Decline>) -> Result<T, Decline> {
    WORKSPACE.with(|cell| {
        let mut slot = cell.borrow_mut();
        let workspace = match slot.take() {
            Some(w) => w,
            None => Workspace {
                isa: host_isa()?,
                context: cranelift_codegen::Context::new(),
                builder: FunctionBuilderContext::new(),
            },
        };
        let mut workspace = workspace;
        let result = f(&mut workspace);
        if result.is_err() {
            // A translation that stopped half way leaves the builder
            // context dirty; start the next one from a clean one.
            workspace.builder = FunctionBuilderContext::new();
        }
        *slot = Some(workspace);
        result
    })
}

/// Compiles `expr` for a caller laid out as `frame`; `functions` are the
/// program's `fn`s, inlined.
pub fn compile(functions: &[FnDef], expr: &Expr, frame: Frame) -> Result<JitCode, Decline> {
    with_workspace(|w| {
        let mut translation = translate::Translation::new(
            functions,
            expr,
            frame,
            w.isa.frontend_config(),
            w.isa.default_call_conv(),
        );
        let mut builder = JITBuilder::with_isa(w.isa.clone(), default_libcall_names());
        let runtime = runtime::functions();
        for rt in &runtime {
            builder.symbol(rt.name, rt.address);
        }
        let mut module = OwnedModule(Some(JITModule::new(builder)));
        let Some(jit) = module.0.as_mut() else {
            return Err(Decline::TooLarge);
        };
        for (i, rt) in runtime.iter().enumerate() {
            let mut sig = jit.make_signature();
            sig.params.extend(
                rt.params
                    .iter()
                    .map(|t| cranelift_codegen::ir::AbiParam::new(*t)),
            );
            sig.returns
                .push(cranelift_codegen::ir::AbiParam::new(rt.ret));
            let id = jit.declare_function(rt.name, Linkage::Import, &sig)?;
            // The translator refers to runtime function `i` as import `i`.
            if id.as_u32() as usize != i {
                return Err(Decline::TooLarge);
            }
        }
        // Each function is translated into the reused context, compiled,
        // and the context cleared (keeping its buffers) for the next.
        let signature = translate::signature(w.isa.default_call_conv());
        let mut ids = Vec::new();
        while translation.next(&mut w.context.func, &mut w.builder)? {
            let id = jit.declare_anonymous_function(&signature)?;
            let defined = jit.define_function(id, &mut w.context);
            jit.clear_context(&mut w.context);
            defined?;
            ids.push(id);
        }
        jit.finalize_definitions()?;
        let functions = ids
            .into_iter()
            .map(|id| {
                let address = jit.get_finalized_function(id);
                // SAFETY: `address` is the entry of a function just compiled
                // with `translate::signature`, i.e. four 64-bit integer
                // parameters and an `i32` result in the host's default
                // calling convention, which is what `extern "C"` means for
                // `JitFn`; the memory stays mapped until `module` drops,
                // and `module` is stored beside these pointers.
                unsafe { std::mem::transmute::<*const u8, JitFn>(address) }
            })
            .collect();
        let plan = translation.finish();
        let result = plan.results.first().copied().unwrap_or(Type::Null);
        Ok(JitCode {
            functions,
            result,
            plan,
            ty: expr.ty,
            vars: frame.vars,
            _module: module,
        })
    })
}

/// The Cranelift IR `expr` translates to, one function after the other,
/// for `flowc compile --emit clif`.
pub fn clif(functions: &[FnDef], expr: &Expr, frame: Frame) -> Result<String, Decline> {
    with_workspace(|w| {
        let mut translation = translate::Translation::new(
            functions,
            expr,
            frame,
            w.isa.frontend_config(),
            w.isa.default_call_conv(),
        );
        let mut text = String::new();
        let mut func = cranelift_codegen::ir::Function::new();
        while translation.next(&mut func, &mut w.builder)? {
            text.push_str(&func.display().to_string());
        }
        let plan = translation.finish();
        let mut out = String::from(
            "; imports: u0:0 = flowc_jit_call, u0:1 = flowc_jit_aggregate, u0:2 = flowc_jit_text\n",
        );
        for (i, t) in plan.texts.iter().enumerate() {
            out.push_str(&format!(
                "; text {:#x} = {t:?}\n",
                abi::TEXT_CONST | i as u64
            ));
        }
        for (i, call) in plan.calls.iter().enumerate() {
            out.push_str(&format!(
                "; call {i} = {:?} {:?} -> {:?}\n",
                call.op, call.args, call.result
            ));
        }
        for (i, a) in plan.aggregates.iter().enumerate() {
            out.push_str(&format!("; aggregate {i} = {a:?}\n"));
        }
        out.push_str(&text);
        Ok(out)
    })
}

#[cfg(test)]
mod tests;
