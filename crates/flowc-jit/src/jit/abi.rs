//! The contract between compiled code and the Rust runtime: what compiled
//! functions are passed, what they return, and how values travel.
//!
//! Every compiled function (the expression itself, and each aggregate's
//! per-row filter and value) has the signature
//!
//! ```text
//! extern "C" fn(ctx: *mut Context, slots: *const Slot, frame: *const Cell, row: i64) -> u32
//! ```
//!
//! - `ctx` is the [`Context`] of this evaluation: its first two fields are
//!   the *return slot* (a null flag and 64 bits) that both compiled
//!   functions and runtime calls write their result into; the next two
//!   are `today` and `now`, which compiled code reads directly;
//! - `slots` are the subject row's fields (null when there is no subject row,
//!   and in aggregate blocks, which never read it);
//! - `frame` holds variables as [`Cell`]s: the caller's variables in the
//!   main function, the enclosing scope captured by the parent in a block;
//! - `row` is the aggregate row a block runs for (0 in the main function);
//! - the result is a status: [`OK`], [`ERROR`] (the error is in the
//!   context), [`BAIL`] (the data is not what the code was compiled for: run
//!   the VM instead), [`PANIC`] (a runtime call panicked; the payload is in
//!   the context), or [`OVERFLOW`]` + k` (integer overflow in
//!   [`OVERFLOW_OPS`]`[k]`).
//!
//! Inside compiled code a value is a null flag (`i8`) and its bits: an
//! `i64` for ints, bools (0/1), dates (day numbers), datetimes, durations,
//! enums and references; an `f64` for decimals; a *text handle* for text
//! (see [`TEXT_CONST`]); a handle into [`Spill::values`] for event
//! payload values of unknown type.

use cranelift_codegen::ir::types::{F64, I64};
use flowc_check::ir::Type;
use flowc_vm::eval::{Env, EvalError};
use flowc_vm::value::{Row, Slot, Tag, Value};
use std::any::Any;
use std::rc::Rc;

/// The compiled code finished; its result is in the return slot.
pub const OK: u32 = 0;
/// Evaluation failed; the error is in [`Spill::error`].
pub const ERROR: u32 = 1;
/// The data is not what the code was compiled for (a slot whose tag does
/// not match the field's declared type, a value of an unexpected kind from
/// the environment): the caller evaluates with the VM instead, which gives
/// the exact same result the VM always gives. Nothing has been changed:
/// expressions only read.
pub const BAIL: u32 = 2;
/// A runtime call panicked; the payload is in [`Spill::panic`] and is
/// resumed once the compiled code has returned.
pub const PANIC: u32 = 3;
/// `OVERFLOW + k`: integer overflow in the operation `OVERFLOW_OPS[k]`
/// (the name [`EvalError::Overflow`] carries).
pub const OVERFLOW: u32 = 16;

/// The operations that can overflow, as [`EvalError::Overflow`] names them.
pub const OVERFLOW_OPS: [&str; 8] = [
    "+",
    "-",
    "*",
    "date arithmetic",
    "div",
    "abs",
    "floor",
    "ceil",
];

/// The status for an overflow in `op` (one of [`OVERFLOW_OPS`]).
pub fn overflow_status(op: &str) -> u32 {
    let k = OVERFLOW_OPS.iter().position(|o| *o == op).unwrap_or(0);
    OVERFLOW + k as u32
}

/// A text handle's kind lives in bits 32 and up, its index below:
/// kind 0 is an index into the subject row's texts (so a text slot's bits
/// are already a handle), kind 1 ([`TEXT_CONST`]) a text written in the
/// expression, kind 2 ([`TEXT_ARENA`]) a text made during this evaluation.
pub const TEXT_CONST: u64 = 1 << 32;
/// See [`TEXT_CONST`].
pub const TEXT_ARENA: u64 = 2 << 32;
/// The handle compiled code passes for a null text (the runtime answers
/// "no ordering" / false; the code masks the answer with the null flag).
pub const TEXT_NULL: u64 = u64::MAX;

/// A variable or argument in memory: a null flag and 64 bits (an `f64`'s
/// bits for decimals, a handle for texts). The flag is a whole word, so
/// that reading a cell right after compiled code wrote it is one
/// forwarded store per field, not a stall.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Cell {
    /// 1 when the value is null, else 0.
    pub null: u64,
    pub bits: u64,
}

impl Cell {
    pub const NULL: Cell = Cell { null: 1, bits: 0 };
}

/// Byte offsets compiled code uses.
pub const CELL_SIZE: i32 = std::mem::size_of::<Cell>() as i32;
pub const CELL_NULL: i32 = std::mem::offset_of!(Cell, null) as i32;
pub const CELL_BITS: i32 = std::mem::offset_of!(Cell, bits) as i32;
pub const SLOT_SIZE: i32 = std::mem::size_of::<Slot>() as i32;
pub const SLOT_TAG: i32 = std::mem::offset_of!(Slot, tag) as i32;
pub const SLOT_BITS: i32 = std::mem::offset_of!(Slot, bits) as i32;
pub const RET_NULL: i32 = std::mem::offset_of!(Context<'static>, ret_null) as i32;
pub const RET_BITS: i32 = std::mem::offset_of!(Context<'static>, ret_bits) as i32;
pub const TODAY: i32 = std::mem::offset_of!(Context<'static>, today) as i32;
pub const NOW: i32 = std::mem::offset_of!(Context<'static>, now) as i32;

/// The state of one evaluation, shared by the compiled code and the
/// runtime calls it makes. Compiled code only touches the return slot.
#[repr(C)]
pub struct Context<'a> {
    /// Return slot: 1 when the result is null (a whole word, see [`Cell`]).
    pub ret_null: u64,
    /// Return slot: the result's bits.
    pub ret_bits: u64,
    /// `today` (a day number) and `now` (Unix seconds), read from the
    /// environment once per evaluation when the code uses them.
    pub today: i64,
    pub now: i64,
    /// Set by a runtime call that met data the code was not compiled for
    /// but could not stop the code (`flowc_jit_text`): the entry then
    /// bails out to the VM whatever the code returned.
    pub bailed: bool,
    /// The compiled expression (for its constant texts, calls, aggregates
    /// and block functions).
    pub code: &'a super::JitCode,
    pub env: &'a mut dyn Env,
    /// The subject row whose slots the code reads (texts of kind 0).
    pub subject: Option<&'a Row>,
    /// What only runtime calls need, allocated by the first that does:
    /// most evaluations never touch it, and then it costs nothing. The
    /// caller owns it, so that the context itself has nothing to drop.
    pub spill: &'a mut Option<Box<Spill>>,
}

/// The parts of a [`Context`] that only runtime calls use.
#[derive(Default)]
pub struct Spill {
    /// Texts made during this evaluation (kind 2 handles).
    pub arena: Vec<Rc<str>>,
    /// Values of unknown type (event payload values) by handle.
    pub values: Vec<Value>,
    /// The error behind an [`ERROR`] status.
    pub error: Option<EvalError>,
    /// The payload behind a [`PANIC`] status.
    pub panic: Option<Box<dyn Any + Send>>,
}

impl Context<'_> {
    /// The spill area, allocated on first use.
    pub fn spill(&mut self) -> &mut Spill {
        self.spill.get_or_insert_with(Box::default)
    }

    /// The text a handle stands for.
    #[inline]
    pub fn text(&self, handle: u64) -> Option<&Rc<str>> {
        let index = (handle & 0xffff_ffff) as usize;
        match handle >> 32 {
            0 => self.subject?.texts.get(index),
            1 => self.code.plan.texts.get(index),
            2 => self.spill.as_ref()?.arena.get(index),
            _ => None,
        }
    }

    /// A value of IR type `ty` from its null flag and bits; `None` for a
    /// handle that resolves to nothing.
    #[inline]
    pub fn boxed(&self, ty: Type, cell: Cell) -> Option<Value> {
        if cell.null != 0 {
            return Some(Value::Null);
        }
        let bits = cell.bits;
        Some(match ty {
            Type::Int => Value::Int(bits as i64),
            Type::Decimal => Value::Decimal(f64::from_bits(bits)),
            Type::Bool => Value::Bool(bits != 0),
            Type::Text => Value::Text(self.text(bits)?.clone()),
            Type::Date => Value::Date(bits as i64 as i32),
            Type::DateTime => Value::DateTime(bits as i64),
            Type::Duration => Value::Duration(bits as i64),
            Type::Enum(_) => Value::Enum(bits as u32),
            Type::Record(_) => Value::Ref(bits as i64),
            Type::Any => self.spill.as_ref()?.values.get(bits as usize)?.clone(),
            Type::Null => Value::Null,
            Type::Error => return None,
        })
    }

    /// The null flag and bits of `value` as IR type `ty`; `None` when the
    /// value is of another kind (the caller bails to the VM).
    pub fn unboxed(&mut self, value: Value, ty: Type) -> Option<Cell> {
        let bits = match (ty, value) {
            (_, Value::Null) => return Some(Cell::NULL),
            (Type::Any, v) => {
                let values = &mut self.spill().values;
                values.push(v);
                values.len() as u64 - 1
            }
            (Type::Int, Value::Int(v)) => v as u64,
            (Type::Decimal, Value::Decimal(v)) => v.to_bits(),
            (Type::Bool, Value::Bool(b)) => u64::from(b),
            (Type::Text, Value::Text(t)) => {
                let arena = &mut self.spill().arena;
                arena.push(t);
                TEXT_ARENA | (arena.len() as u64 - 1)
            }
            (Type::Date, Value::Date(d)) => i64::from(d) as u64,
            (Type::DateTime, Value::DateTime(t)) => t as u64,
            (Type::Duration, Value::Duration(s)) => s as u64,
            (Type::Enum(_), Value::Enum(i)) => u64::from(i),
            (Type::Record(_), Value::Ref(id)) => id as u64,
            _ => return None,
        };
        Some(Cell { null: 0, bits })
    }

    /// Writes `value` (of IR type `ty`) to the return slot; the status.
    pub fn set_ret(&mut self, value: Value, ty: Type) -> u32 {
        match self.unboxed(value, ty) {
            Some(cell) => {
                self.ret_null = cell.null;
                self.ret_bits = cell.bits;
                OK
            }
            None => BAIL,
        }
    }

    /// The return slot as a value of IR type `ty`.
    #[inline]
    pub fn ret(&self, ty: Type) -> Option<Value> {
        self.boxed(
            ty,
            Cell {
                null: self.ret_null,
                bits: self.ret_bits,
            },
        )
    }
}

/// The tag a subject slot of IR type `ty` holds when it is not null.
pub fn tag_of(ty: Type) -> Option<Tag> {
    Some(match ty {
        Type::Int => Tag::Int,
        Type::Decimal => Tag::Decimal,
        Type::Bool => Tag::Bool,
        Type::Text => Tag::Text,
        Type::Date => Tag::Date,
        Type::DateTime => Tag::DateTime,
        Type::Duration => Tag::Duration,
        Type::Enum(_) => Tag::Enum,
        Type::Record(_) => Tag::Ref,
        Type::Null | Type::Any | Type::Error => return None,
    })
}

/// The machine type holding a value of IR type `ty`.
pub(super) fn clif_type(ty: Type) -> cranelift_codegen::ir::Type {
    if ty == Type::Decimal { F64 } else { I64 }
}

/// Whether values of these types are the same kind of `Value`.
pub(super) fn same_kind(a: Type, b: Type) -> bool {
    match (a, b) {
        (Type::Any, Type::Any) => true,
        _ => tag_of(a).is_some() && tag_of(a) == tag_of(b),
    }
}

/// Whether a value of this type compares as an integer (`Value::as_i64`).
pub(super) fn int_like(ty: Type) -> bool {
    matches!(
        tag_of(ty),
        Some(
            Tag::Int | Tag::Bool | Tag::Date | Tag::DateTime | Tag::Duration | Tag::Enum | Tag::Ref
        )
    )
}
