//! Running compiled code: checking that the subject row fits what the code
//! reads, building the context and the frame, calling the main function,
//! and turning the return slot (or the status) into a result.
//!
//! This is the per-evaluation path, so it is written for speed: nothing is
//! allocated unless a runtime call needs to, the frame is built only when
//! the code reads variables, and results are written straight into the
//! caller's slot (assembling a `Value` and copying it costs a
//! store-forwarding stall, about as much as the compiled code itself).

use super::abi::{self, Cell, Spill};
use super::{JitCode, Outcome};
use flowc_check::ir::Type;
use flowc_vm::eval::{Env, EvalError};
use flowc_vm::value::{Row, Slot, Tag, Value};
use std::ffi::c_void;

impl JitCode {
    /// Runs the code. `vars` are the caller's variables (the VM machine's),
    /// `subject` the subject row when the frame passes it.
    #[inline]
    pub fn eval(&self, vars: &[Value], subject: Option<&Row>, env: &mut dyn Env) -> Outcome {
        let mut spill = None;
        let raw = self.execute(vars, subject, env, &mut spill, |status, ctx| {
            if status != abi::OK {
                Raw::Failed(status)
            } else if matches!(
                self.result,
                Type::Text | Type::Any | Type::Null | Type::Error
            ) {
                Raw::Boxed(ctx.ret(self.result))
            } else {
                Raw::Slot(ctx.ret_null != 0, ctx.ret_bits)
            }
        });
        let (null, bits) = match raw {
            Raw::Slot(null, bits) => (null, bits),
            Raw::Boxed(value) => return boxed_result(value, spill),
            Raw::Failed(status) => return failed(status, spill),
        };
        if let Some(spill) = spill {
            drop_spill(spill);
        }
        if null {
            return Outcome::Done(Ok(Value::Null));
        }
        // Each arm builds the outcome in the caller's slot.
        match self.result {
            Type::Bool => Outcome::Done(Ok(Value::Bool(bits != 0))),
            Type::Int => Outcome::Done(Ok(Value::Int(bits as i64))),
            Type::Decimal => Outcome::Done(Ok(Value::Decimal(f64::from_bits(bits)))),
            Type::Date => Outcome::Done(Ok(Value::Date(bits as i64 as i32))),
            Type::DateTime => Outcome::Done(Ok(Value::DateTime(bits as i64))),
            Type::Duration => Outcome::Done(Ok(Value::Duration(bits as i64))),
            Type::Enum(_) => Outcome::Done(Ok(Value::Enum(bits as u32))),
            Type::Record(_) => Outcome::Done(Ok(Value::Ref(bits as i64))),
            _ => Outcome::Bail,
        }
    }

    /// Runs the code as a condition: whether the result is true (null
    /// and false both count as false, as `Value::truthy` says).
    #[inline]
    pub fn eval_condition(
        &self,
        vars: &[Value],
        subject: Option<&Row>,
        env: &mut dyn Env,
    ) -> Outcome<bool> {
        let mut spill = None;
        let done = self.execute(vars, subject, env, &mut spill, |status, ctx| {
            if status != abi::OK {
                return Err(status);
            }
            Ok(match self.result {
                Type::Bool => ctx.ret_null == 0 && ctx.ret_bits != 0,
                // An event value: true only if it is a true bool.
                Type::Any => match ctx.ret(Type::Any) {
                    Some(v) => v.truthy(),
                    None => return Err(abi::BAIL),
                },
                _ => false,
            })
        });
        match done {
            Ok(truth) => {
                if let Some(spill) = spill {
                    drop_spill(spill);
                }
                Outcome::Done(Ok(truth))
            }
            Err(status) => failed(status, spill),
        }
    }

    /// Runs the code as a condition on each row of a sweep: `rows[i]` is
    /// the subject (variable 0 refers to it; the other caller variables
    /// are `vars`), and `each(i, outcome)` gets its truth. The context,
    /// the frame and the clock are prepared once for the whole sweep, so
    /// a row costs little more than the compiled code itself.
    pub fn eval_conditions(
        &self,
        vars: &[Value],
        rows: &[Row],
        env: &mut dyn Env,
        mut each: impl FnMut(usize, Outcome<bool>),
    ) {
        let today = if self.plan.reads_today {
            i64::from(env.today())
        } else {
            0
        };
        let now = if self.plan.reads_now { env.now() } else { 0 };
        let mut spill = None;
        let mut ctx = abi::Context {
            ret_null: 1,
            ret_bits: 0,
            today,
            now,
            bailed: false,
            code: self,
            env,
            subject: None,
            spill: &mut spill,
        };
        let mut small = [Cell::NULL; 4];
        let mut large = Vec::new();
        let frame: &mut [Cell] = if !self.plan.reads_frame {
            &mut []
        } else if self.vars <= 4 {
            &mut small
        } else {
            large.resize(self.vars as usize, Cell::NULL);
            &mut large
        };
        // Variables other than the subject are the same for every row.
        let mut fixed = true;
        for (var, ty) in self.plan.vars.iter().enumerate().skip(1) {
            let (Some(ty), Some(cell)) = (ty, frame.get_mut(var)) else {
                continue;
            };
            let value = vars.get(var).cloned().unwrap_or_default();
            match ctx.unboxed(value, *ty) {
                Some(c) => *cell = c,
                None => fixed = false,
            }
        }
        let subject_ty = self.plan.vars.first().copied().flatten();
        for (i, row) in rows.iter().enumerate() {
            if !fixed || !self.fits(row) {
                each(i, Outcome::Bail);
                continue;
            }
            if let (Some(ty), Some(cell)) = (subject_ty, frame.first_mut()) {
                match ctx.unboxed(Value::Ref(row.id), ty) {
                    Some(c) => *cell = c,
                    None => {
                        each(i, Outcome::Bail);
                        continue;
                    }
                }
            }
            ctx.subject = Some(row);
            ctx.ret_null = 1;
            let status = self.run(&mut ctx, row.slots.as_ptr(), frame);
            let status = if ctx.bailed { abi::BAIL } else { status };
            if status != abi::OK || ctx.spill.is_some() {
                // Rare: an error, a bail-out, or runtime calls that left
                // texts behind; start the next row clean.
                ctx.bailed = false;
                let left = ctx.spill.take();
                if status != abi::OK {
                    each(i, failed(status, left));
                    continue;
                }
                if let Some(left) = left {
                    drop_spill(left);
                }
            }
            let truth = match self.result {
                Type::Bool => ctx.ret_null == 0 && ctx.ret_bits != 0,
                _ => {
                    each(i, Outcome::Bail);
                    continue;
                }
            };
            each(i, Outcome::Done(Ok(truth)));
        }
    }

    /// Runs the main function, then `then` with its status and the
    /// context holding the return slot (read in place: copying the context
    /// out would stall on the stores the compiled code just made).
    #[inline(always)]
    fn execute<'a, R>(
        &'a self,
        vars: &[Value],
        subject: Option<&'a Row>,
        env: &'a mut dyn Env,
        spill: &'a mut Option<Box<Spill>>,
        then: impl FnOnce(u32, &mut abi::Context<'a>) -> R,
    ) -> R {
        let (slots, fits) = match subject {
            Some(row) => (row.slots.as_ptr(), self.fits(row)),
            None => (std::ptr::null(), !self.plan.reads_subject),
        };
        // Read once per evaluation (the VM asks at each use; a clock is not
        // expected to move within one evaluation).
        let today = if self.plan.reads_today {
            i64::from(env.today())
        } else {
            0
        };
        let now = if self.plan.reads_now { env.now() } else { 0 };
        let mut ctx = abi::Context {
            ret_null: 1,
            ret_bits: 0,
            today,
            now,
            bailed: false,
            code: self,
            env,
            subject,
            spill,
        };
        let status = if !fits {
            abi::BAIL
        } else if self.plan.reads_frame {
            self.run_with_frame(&mut ctx, slots, vars)
        } else {
            self.run(&mut ctx, slots, &[])
        };
        let status = if ctx.bailed { abi::BAIL } else { status };
        then(status, &mut ctx)
    }

    /// Runs the code with the caller's variables converted to cells.
    #[inline(never)]
    fn run_with_frame(
        &self,
        ctx: &mut abi::Context<'_>,
        slots: *const Slot,
        vars: &[Value],
    ) -> u32 {
        let mut small;
        let mut large;
        let frame: &mut [Cell] = if self.vars <= 4 {
            small = [Cell::NULL; 4];
            &mut small
        } else {
            large = vec![Cell::NULL; self.vars as usize];
            &mut large
        };
        for (var, ty) in self.plan.vars.iter().enumerate() {
            let (Some(ty), Some(cell)) = (ty, frame.get_mut(var)) else {
                continue;
            };
            let value = vars.get(var).cloned().unwrap_or_default();
            match ctx.unboxed(value, *ty) {
                Some(c) => *cell = c,
                None => return abi::BAIL,
            }
        }
        self.run(ctx, slots, frame)
    }

    /// Calls the main function.
    #[inline(always)]
    fn run(&self, ctx: &mut abi::Context<'_>, slots: *const Slot, frame: &[Cell]) -> u32 {
        let Some(entry) = self.functions.first() else {
            return abi::BAIL;
        };
        let ctx_ptr = std::ptr::from_mut(ctx).cast::<c_void>();
        // SAFETY: `entry` was compiled for this plan with the `JitFn`
        // signature (see `compile`). It reads `slots` only below
        // `plan.subject_len`, which `fits` checked (and only with text
        // handles `fits` checked), and only if `plan.reads_subject`, in
        // which case `slots` is the subject row's (not null); it reads the frame only if
        // `plan.reads_frame`, and then below `self.vars` cells, which
        // `run_with_frame` provides; it passes `ctx_ptr` to the runtime,
        // which makes short-lived references from it while no reference
        // to the context is in use here (we touch `ctx` again only after
        // the call). Every instruction that could trap (division, float
        // to int) is guarded in the generated code.
        unsafe { entry(ctx_ptr, slots, frame.as_ptr(), 0) }
    }

    /// Whether the code can read `row`'s slots directly: every slot it
    /// reads exists, and is null or of its field's declared kind (a text
    /// slot's handle pointing into the row's texts).
    #[inline]
    fn fits(&self, row: &Row) -> bool {
        row.slots.len() >= self.plan.subject_len
            && self.plan.subject_fields.iter().all(|&(f, tag)| {
                row.slots.get(f).is_some_and(|s| {
                    s.tag == Tag::Null
                        || (s.tag == tag
                            && (tag != Tag::Text || (s.bits as usize) < row.texts.len()))
                })
            })
    }

    /// How many functions the expression compiled to (1 + aggregate blocks).
    pub fn function_count(&self) -> usize {
        self.functions.len()
    }

    /// How many call sites into the Rust runtime the code has (other
    /// records' fields, text functions, lists, aggregates, …); 0 when it
    /// runs entirely natively (text comparisons aside).
    pub fn runtime_calls(&self) -> usize {
        self.plan.calls.len() + self.plan.aggregates.len()
    }
}

/// What the return slot held, read while the context is alive.
enum Raw {
    /// Null flag and bits of a value of a plain kind.
    Slot(bool, u64),
    /// A text or event value, resolved (`None`: a bad handle).
    Boxed(Option<Value>),
    /// A status other than `OK`.
    Failed(u32),
}

/// A text or event-value result.
#[inline(never)]
fn boxed_result(value: Option<Value>, spill: Option<Box<Spill>>) -> Outcome {
    if let Some(spill) = spill {
        drop_spill(spill);
    }
    match value {
        Some(v) => Outcome::Done(Ok(v)),
        None => Outcome::Bail,
    }
}

/// Drops what runtime calls left behind (out of line: it is rare).
#[cold]
#[inline(never)]
fn drop_spill(spill: Box<Spill>) {
    drop(spill);
}

/// The outcome of a run that did not return `OK`: an error, an overflow,
/// a bail-out, or a panic to resume.
#[cold]
#[inline(never)]
fn failed<T>(status: u32, spill: Option<Box<Spill>>) -> Outcome<T> {
    let (error, panic) = spill.map_or((None, None), |s| (s.error, s.panic));
    if let Some(payload) = panic {
        std::panic::resume_unwind(payload);
    }
    Outcome::Done(Err(match status {
        abi::ERROR => {
            error.unwrap_or_else(|| EvalError::Unsupported("a failure without an error".into()))
        }
        s if s >= abi::OVERFLOW => {
            let op = abi::OVERFLOW_OPS
                .get((s - abi::OVERFLOW) as usize)
                .copied()
                .unwrap_or("?");
            EvalError::Overflow(op)
        }
        _ => return Outcome::Bail,
    }))
}
