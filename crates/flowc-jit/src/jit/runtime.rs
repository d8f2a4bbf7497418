//! The Rust functions compiled code calls: everything that is not plain
//! arithmetic on numbers, dates and booleans. Each does exactly what the
//! VM does for the same operation (`vm/exec.rs`), on boxed values, by
//! calling the same [`ops`] and [`Env`](flowc_vm::eval::Env) methods.
//!
//! There are three, so that the code imports little:
//! - `flowc_jit_call(ctx, index, args)`: the call described by
//!   `plan.calls[index]`, with its arguments in `args` (one [`Cell`] each);
//! - `flowc_jit_aggregate(ctx, index, frame)`: the aggregate
//!   `plan.aggregates[index]`, running its block functions per row;
//! - `flowc_jit_text(ctx, op, a, b)`: comparison, `contains` and `starts
//!   with` on two text handles, the text operations conditions use most;
//!   it returns its answer directly, so that the code needs no branch.
//!
//! None lets a panic unwind into compiled code (which has no unwind
//! tables): a panic is caught, parked in the context and resumed by the
//! caller once the compiled code has returned.

use super::abi::{BAIL, Cell, Context, ERROR, OK, PANIC, TEXT_NULL};
use super::plan::{CallOp, CallPlan};
use cranelift_codegen::ir::types;
use flowc_check::ir::Type;
use flowc_vm::eval::{EvalError, ops};
use flowc_vm::value::{self, Value};
use std::ffi::c_void;
use std::panic::{AssertUnwindSafe, catch_unwind};

/// A runtime function as compiled code imports it.
pub struct RuntimeFn {
    pub name: &'static str,
    pub address: *const u8,
    /// Parameter types (pointers are `i64`: the JIT only runs on 64-bit hosts).
    pub params: &'static [types::Type],
    pub ret: types::Type,
}

/// Index of `flowc_jit_call` in [`RUNTIME`] (and its import number).
pub const CALL: usize = 0;
/// Index of `flowc_jit_aggregate`.
pub const AGGREGATE: usize = 1;
/// Index of `flowc_jit_text`.
pub const TEXT: usize = 2;

/// `flowc_jit_text` operations. Compare returns 0 (less), 1 (equal), 2
/// (greater) or 3 (no ordering: a null); the others 0 or 1.
pub const TEXT_COMPARE: i64 = 0;
pub const TEXT_CONTAINS: i64 = 1;
pub const TEXT_STARTS_WITH: i64 = 2;

/// Every runtime function, in import order.
pub fn functions() -> [RuntimeFn; 3] {
    use types::{I32, I64};
    [
        RuntimeFn {
            name: "flowc_jit_call",
            address: flowc_jit_call as *const u8,
            params: &[I64, I32, I64],
            ret: I32,
        },
        RuntimeFn {
            name: "flowc_jit_aggregate",
            address: flowc_jit_aggregate as *const u8,
            params: &[I64, I32, I64],
            ret: I32,
        },
        RuntimeFn {
            name: "flowc_jit_text",
            address: flowc_jit_text as *const u8,
            params: &[I64, I32, I64, I64],
            ret: I32,
        },
    ]
}

/// Runs `f` on the context, parking a panic in it.
fn guarded(ctx: *mut c_void, f: impl FnOnce(&mut Context<'_>) -> u32) -> u32 {
    // SAFETY: `ctx` is the `&mut Context` that `JitCode::eval` passed to
    // the compiled code, which passes it on unchanged; the context lives
    // until the compiled code returns, and no other reference to it is in
    // use while a runtime function runs (compiled code holds only the
    // pointer; `flowc_jit_aggregate` drops its reference before it calls
    // a block).
    let result = catch_unwind(AssertUnwindSafe(|| {
        f(unsafe { &mut *ctx.cast::<Context>() })
    }));
    result.unwrap_or_else(|payload| {
        // SAFETY: as above; the reference made inside the closure is gone.
        let ctx = unsafe { &mut *ctx.cast::<Context>() };
        ctx.spill().panic = Some(payload);
        PANIC
    })
}

/// Stores `error` in the context; the status that reports it.
fn fail(ctx: &mut Context<'_>, error: EvalError) -> u32 {
    ctx.spill().error = Some(error);
    ERROR
}

/// `plan.calls[index]` on the cells at `args`.
extern "C" fn flowc_jit_call(ctx: *mut c_void, index: u32, args: *const Cell) -> u32 {
    guarded(ctx, |ctx| {
        let code = ctx.code;
        let Some(call) = code.plan.calls.get(index as usize) else {
            return BAIL;
        };
        // SAFETY: compiled code passes a stack slot holding one cell per
        // argument of this call site (`call.args.len()`), written just
        // before the call; it is at least one cell large, so the pointer
        // is valid and aligned even for calls without arguments.
        let cells = unsafe { std::slice::from_raw_parts(args, call.args.len()) };
        let mut values = Vec::with_capacity(cells.len());
        for (ty, cell) in call.args.iter().zip(cells) {
            let Some(v) = ctx.boxed(*ty, *cell) else {
                return BAIL;
            };
            values.push(v);
        }
        match run_call(ctx, call, &values) {
            Ok(v) => ctx.set_ret(v, call.result),
            Err(e) => fail(ctx, e),
        }
    })
}

/// What the VM instruction of the same name computes.
fn run_call(ctx: &mut Context<'_>, call: &CallPlan, args: &[Value]) -> Result<Value, EvalError> {
    let a = args.first().unwrap_or(&Value::Null);
    let b = args.get(1).unwrap_or(&Value::Null);
    let env = &mut *ctx.env;
    Ok(match &call.op {
        CallOp::Field { record, field } => match a {
            Value::Null => Value::Null,
            Value::Ref(id) => env.field(*record, *id, *field)?,
            other => return Err(EvalError::Unsupported(format!("a field of {other:?}"))),
        },
        CallOp::Old { record, field } => env.old(*record, *field)?,
        CallOp::Event { key } => env.event_field(key)?,
        CallOp::Convert => match (a, call.result) {
            (Value::Ref(id), Type::Int) => Value::Int(*id),
            (v, ty) => {
                let schema = env.schema();
                value::convert(v.clone(), ty, schema, schema.timezone)
            }
        },
        CallOp::Neg => ops::negate(a)?,
        CallOp::Arith(op) => ops::arith(*op, a, b)?,
        CallOp::Compare(op, ty) => Value::Bool(ops::compare(*op, *ty, a, b)),
        CallOp::Builtin(f) => ops::builtin(*f, args, env.schema())?,
        CallOp::ToText(ty) => ops::to_text(a, *ty, env.schema()),
        CallOp::InList { list, negated } => Value::Bool(match a {
            Value::Ref(id) => env.in_list(*list, *id)? != *negated,
            _ => false,
        }),
        CallOp::InSegment { segment, negated } => Value::Bool(match a {
            Value::Ref(id) => env.in_segment(*segment, *id)? != *negated,
            _ => false,
        }),
        CallOp::HasTag { record } => Value::Bool(match (a, b) {
            (Value::Ref(id), Value::Text(t)) => env.has_tag(*record, *id, t)?,
            _ => false,
        }),
        CallOp::Engaged {
            record,
            template,
            clicked,
        } => Value::Bool(match a {
            Value::Ref(id) => env.engaged(*record, *id, *template, *clicked)?,
            _ => false,
        }),
        CallOp::Unsubscribed {
            record,
            email_field,
            negated,
        } => Value::Bool(match a {
            Value::Ref(id) => env.unsubscribed(*record, *id, *email_field)? != *negated,
            _ => false,
        }),
        CallOp::Lookup { record, field } => {
            if a.is_null() {
                Value::Null
            } else {
                Value::Ref(env.lookup(*record, *field, a)?)
            }
        }
    })
}

/// `plan.aggregates[index]`, with the enclosing scope (and the key) in
/// `frame`.
extern "C" fn flowc_jit_aggregate(ctx: *mut c_void, index: u32, frame: *const Cell) -> u32 {
    let mut status = OK;
    let mut panicked = false;
    let result = catch_unwind(AssertUnwindSafe(|| {
        status = aggregate(ctx, index, frame);
    }));
    if let Err(payload) = result {
        panicked = true;
        // SAFETY: see `guarded`; no other reference to the context is live.
        let ctx = unsafe { &mut *ctx.cast::<Context>() };
        ctx.spill().panic = Some(payload);
    }
    if panicked { PANIC } else { status }
}

fn aggregate(ctx_ptr: *mut c_void, index: u32, frame: *const Cell) -> u32 {
    // SAFETY: see `guarded`. This reference ends before any block runs.
    let ctx = unsafe { &mut *ctx_ptr.cast::<Context>() };
    let code = ctx.code;
    let Some(plan) = code.plan.aggregates.get(index as usize) else {
        return BAIL;
    };
    let mut acc = ops::Accumulator::new(plan.function, plan.result);
    let key = match plan.key {
        Some((field, ty)) => {
            // SAFETY: the parent wrote the key into cell `key_cell` of the
            // frame it allocated for this aggregate (`key_cell + 1` cells).
            let cell = unsafe { *frame.add(plan.key_cell) };
            let Some(v) = ctx.boxed(ty, cell) else {
                return BAIL;
            };
            if v.is_null() {
                return ctx.set_ret(acc.finish(), plan.result);
            }
            Some((field, v))
        }
        None => None,
    };
    let ids = match ctx
        .env
        .rows(plan.record, key.as_ref().map(|(f, v)| (*f, v)))
    {
        Ok(ids) => ids,
        Err(e) => return fail(ctx, e),
    };
    for id in ids {
        if let Some(filter) = plan.filter {
            match run_block(ctx_ptr, filter, frame, id) {
                Ok(v) if v.truthy() => {}
                Ok(_) => continue,
                Err(status) => return status,
            }
        }
        let value = match plan.value {
            Some(block) => match run_block(ctx_ptr, block, frame, id) {
                Ok(v) => Some(v),
                Err(status) => return status,
            },
            None => None,
        };
        if let Err(e) = acc.add(value) {
            // SAFETY: see `guarded`; no block is running.
            return fail(unsafe { &mut *ctx_ptr.cast::<Context>() }, e);
        }
    }
    // SAFETY: see `guarded`; no block is running.
    let ctx = unsafe { &mut *ctx_ptr.cast::<Context>() };
    ctx.set_ret(acc.finish(), plan.result)
}

/// Runs block function `block` for row `id`; its result, or the status
/// to return.
fn run_block(
    ctx_ptr: *mut c_void,
    block: usize,
    frame: *const Cell,
    id: i64,
) -> Result<Value, u32> {
    let (function, ty) = {
        // SAFETY: see `guarded`; this shared reference ends in this scope.
        let ctx = unsafe { &*ctx_ptr.cast::<Context>() };
        let code = ctx.code;
        match (code.functions.get(block), code.plan.results.get(block)) {
            (Some(f), Some(ty)) => (*f, *ty),
            _ => return Err(BAIL),
        }
    };
    // SAFETY: `function` was compiled for this plan with the block
    // signature; the context pointer is live and unaliased (no reference
    // to the context exists during the call); `frame` is the parent's
    // frame, which outlives this call; blocks never read the slots.
    let status = unsafe { function(ctx_ptr, std::ptr::null(), frame, id) };
    if status != OK {
        return Err(status);
    }
    // SAFETY: the block has returned; no other reference is live.
    let ctx = unsafe { &*ctx_ptr.cast::<Context>() };
    ctx.ret(ty).ok_or(BAIL)
}

/// A text operation on two handles; [`TEXT_NULL`] for a null text. It
/// cannot stop the compiled code (which calls it without a status check,
/// to stay branch-free): a bad handle sets [`Context::bailed`] instead,
/// and the answer is then the one for a null.
extern "C" fn flowc_jit_text(ctx: *mut c_void, op: u32, a: u64, b: u64) -> i32 {
    let result = catch_unwind(AssertUnwindSafe(|| {
        // SAFETY: see `guarded`.
        text_op(unsafe { &mut *ctx.cast::<Context>() }, op, a, b)
    }));
    result.unwrap_or_else(|payload| {
        // SAFETY: see `guarded`; the reference made above is gone.
        let ctx = unsafe { &mut *ctx.cast::<Context>() };
        ctx.bailed = true;
        ctx.spill().panic = Some(payload);
        0
    })
}

fn text_op(ctx: &mut Context<'_>, op: u32, a: u64, b: u64) -> i32 {
    let op = i64::from(op);
    // Compare answers 0 (less), 1 (equal), 2 (greater), or 3: no ordering.
    let none = if op == TEXT_COMPARE { 3 } else { 0 };
    if a == TEXT_NULL || b == TEXT_NULL {
        return none;
    }
    let (Some(x), Some(y)) = (ctx.text(a), ctx.text(b)) else {
        ctx.bailed = true;
        return none;
    };
    let (x, y): (&str, &str) = (x, y);
    match op {
        TEXT_COMPARE => x.cmp(y) as i32 + 1,
        TEXT_CONTAINS => i32::from(x.contains(y)),
        TEXT_STARTS_WITH => i32::from(x.starts_with(y)),
        _ => {
            ctx.bailed = true;
            none
        }
    }
}
