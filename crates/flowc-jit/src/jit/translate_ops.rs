//! The translator's operator nodes: arithmetic, comparisons, `between`,
//! `in`, text tests and primitive calls. Each follows `eval/ops.rs`
//! exactly; where the operands are not the kinds the native code is
//! written for, the node becomes a runtime call to the same `ops` function
//! the VM uses.

use super::Decline;
use super::abi::{self, clif_type, int_like, overflow_status, same_kind};
use super::plan::CallOp;
use super::runtime::{self, TEXT_COMPARE};
use super::translate::{JValue, Null, Translator};
use cranelift_codegen::ir::condcodes::{FloatCC, IntCC};
use cranelift_codegen::ir::types::{F64, I8, I32, I64};
use cranelift_codegen::ir::{InstBuilder, Value};
use flowc_check::ir::{ArithOp, Builtin, CmpOp, CmpType, Expr, Num, Type};

const DAY: i64 = 86_400;

fn int_cc(op: CmpOp) -> IntCC {
    match op {
        CmpOp::Eq => IntCC::Equal,
        CmpOp::Ne => IntCC::NotEqual,
        CmpOp::Lt => IntCC::SignedLessThan,
        CmpOp::Le => IntCC::SignedLessThanOrEqual,
        CmpOp::Gt => IntCC::SignedGreaterThan,
        CmpOp::Ge => IntCC::SignedGreaterThanOrEqual,
    }
}

/// Ordered comparisons: false when either side is NaN, as
/// `partial_cmp` giving `None` makes every comparison false.
fn float_cc(op: CmpOp) -> FloatCC {
    match op {
        CmpOp::Eq => FloatCC::Equal,
        CmpOp::Ne => FloatCC::OrderedNotEqual,
        CmpOp::Lt => FloatCC::LessThan,
        CmpOp::Le => FloatCC::LessThanOrEqual,
        CmpOp::Gt => FloatCC::GreaterThan,
        CmpOp::Ge => FloatCC::GreaterThanOrEqual,
    }
}

impl<'p> Translator<'p, '_> {
    // ------------------------------------------------------------ arithmetic

    /// `a OP b`: null when either side is null; int overflow is an error
    /// (tested only when both sides are not null).
    pub fn translate_arith(
        &mut self,
        op: ArithOp,
        left: &'p Expr,
        right: &'p Expr,
        ty: Type,
    ) -> Result<JValue, Decline> {
        let a = self.translate(left)?;
        let b = self.translate(right)?;
        let null = self.either(a.null, b.null);
        if matches!(null, Null::Always) {
            return Ok(self.null_of(ty));
        }
        use Type as T;
        let (x, y) = (a.bits, b.bits);
        let (result, bits) = match (op, a.ty, b.ty) {
            (ArithOp::Add(Num::Int), T::Int, T::Int) => (T::Int, self.checked(op, x, y, null)),
            (ArithOp::Sub(Num::Int), T::Int, T::Int) => (T::Int, self.checked(op, x, y, null)),
            (ArithOp::Mul(Num::Int), T::Int, T::Int) => (T::Int, self.checked(op, x, y, null)),
            (ArithOp::Add(Num::Decimal), T::Decimal, T::Decimal) => {
                let r = self.b.ins().fadd(x, y);
                return Ok(self.finite(r, null));
            }
            (ArithOp::Sub(Num::Decimal), T::Decimal, T::Decimal) => {
                let r = self.b.ins().fsub(x, y);
                return Ok(self.finite(r, null));
            }
            (ArithOp::Mul(Num::Decimal), T::Decimal, T::Decimal) => {
                let r = self.b.ins().fmul(x, y);
                return Ok(self.finite(r, null));
            }
            (ArithOp::Div, T::Decimal, T::Decimal) => return Ok(self.divide(x, y, null)),
            (ArithOp::Rem, T::Int, T::Int) => return Ok(self.remainder(x, y, null)),
            (ArithOp::DateAdd | ArithOp::DateSub, T::Date, T::Duration) => {
                (T::Date, self.move_date(op == ArithOp::DateAdd, x, y, null))
            }
            (ArithOp::DateDiff, T::Date, T::Date) => (T::Int, self.b.ins().isub(x, y)),
            (ArithOp::DateTimeAdd, T::DateTime, T::Duration)
            | (ArithOp::DateTimeSub, T::DateTime, T::Duration) => {
                (T::DateTime, self.checked(op, x, y, null))
            }
            (ArithOp::DateTimeDiff, T::DateTime, T::DateTime)
            | (ArithOp::DurationAdd | ArithOp::DurationSub, T::Duration, T::Duration)
            | (ArithOp::DurationMul, T::Duration, T::Int) => {
                (T::Duration, self.checked(op, x, y, null))
            }
            _ => return self.call(CallOp::Arith(op), &[a, b], ty),
        };
        Ok(JValue {
            ty: result,
            null,
            bits,
        })
    }

    /// An `i64` add, subtract or multiply that fails on overflow.
    fn checked(&mut self, op: ArithOp, x: Value, y: Value, null: Null) -> Value {
        let ins = self.b.ins();
        let (r, overflowed, name) = match op {
            ArithOp::Add(_) | ArithOp::DateTimeAdd | ArithOp::DurationAdd => {
                let (r, o) = ins.sadd_overflow(x, y);
                (r, o, "+")
            }
            ArithOp::Mul(_) | ArithOp::DurationMul => {
                let (r, o) = ins.smul_overflow(x, y);
                (r, o, "*")
            }
            _ => {
                let (r, o) = ins.ssub_overflow(x, y);
                (r, o, "-")
            }
        };
        self.fail_if(overflowed, null, name);
        r
    }

    /// Leaves with an overflow in `op` when `cond` holds and the operands
    /// are not null.
    fn fail_if(&mut self, cond: Value, null: Null, op: &str) {
        let cond = self.unless_null(null, cond);
        self.exit_if(cond, overflow_status(op));
    }

    /// A decimal result: null unless finite.
    fn finite(&mut self, r: Value, null: Null) -> JValue {
        let magnitude = self.b.ins().fabs(r);
        let infinity = self.b.ins().f64const(f64::INFINITY);
        let finite = self.b.ins().fcmp(FloatCC::LessThan, magnitude, infinity);
        let not_finite = self.b.ins().bxor_imm_s(finite, 1);
        let null = self.either(null, Null::Maybe(not_finite));
        JValue {
            ty: Type::Decimal,
            null,
            bits: r,
        }
    }

    /// `x / y` on decimals: null for a zero divisor or a non-finite result.
    fn divide(&mut self, x: Value, y: Value, null: Null) -> JValue {
        let zero = self.b.ins().f64const(0.0);
        let by_zero = self.b.ins().fcmp(FloatCC::Equal, y, zero);
        let null = self.either(null, Null::Maybe(by_zero));
        let r = self.b.ins().fdiv(x, y);
        self.finite(r, null)
    }

    /// The Euclidean remainder; null for a zero divisor, 0 for `MIN % -1`.
    fn remainder(&mut self, x: Value, y: Value, null: Null) -> JValue {
        let ins = self.b.ins();
        let by_zero = ins.icmp_imm_s(IntCC::Equal, y, 0);
        let minus_one = self.b.ins().icmp_imm_s(IntCC::Equal, y, -1);
        let unsafe_divisor = self.b.ins().bor(by_zero, minus_one);
        let one = self.b.ins().iconst(I64, 1);
        let divisor = self.b.ins().select(unsafe_divisor, one, y);
        let r = self.b.ins().srem(x, divisor);
        // r + |y| when r < 0 (|y| = divisor's magnitude; y = -1 gave r = 0).
        let negative = self.b.ins().icmp_imm_s(IntCC::SignedLessThan, r, 0);
        let magnitude = self.b.ins().iabs(divisor);
        let lifted = self.b.ins().iadd(r, magnitude);
        let bits = self.b.ins().select(negative, lifted, r);
        let null = self.either(null, Null::Maybe(by_zero));
        JValue {
            ty: Type::Int,
            null,
            bits,
        }
    }

    /// `date ± duration`: whole days (truncated toward zero); the date
    /// must stay in the 32-bit day range.
    fn move_date(&mut self, add: bool, date: Value, seconds: Value, null: Null) -> Value {
        let days = self.b.ins().sdiv_imm_s(seconds, DAY);
        let moved = if add {
            self.b.ins().iadd(date, days)
        } else {
            self.b.ins().isub(date, days)
        };
        let low = self.b.ins().ireduce(I32, moved);
        let wide = self.b.ins().sextend(I64, low);
        let out_of_range = self.b.ins().icmp(IntCC::NotEqual, wide, moved);
        self.fail_if(out_of_range, null, "date arithmetic");
        moved
    }

    pub fn translate_neg(&mut self, inner: &'p Expr, ty: Type) -> Result<JValue, Decline> {
        let v = self.translate(inner)?;
        match (v.null, v.ty) {
            (Null::Always, _) => Ok(self.null_of(ty)),
            (_, Type::Int | Type::Duration) => {
                let min = self.b.ins().icmp_imm_s(IntCC::Equal, v.bits, i64::MIN);
                self.fail_if(min, v.null, "-");
                let bits = self.b.ins().ineg(v.bits);
                Ok(JValue { bits, ..v })
            }
            (_, Type::Decimal) => {
                let bits = self.b.ins().fneg(v.bits);
                Ok(JValue { bits, ..v })
            }
            _ => self.call(CallOp::Neg, &[v], ty),
        }
    }

    // ------------------------------------------------------------ comparisons

    /// The operand as the comparison type's machine value, or `None` when
    /// the native code does not cover its kind.
    fn comparable(&mut self, ty: CmpType, v: JValue) -> Option<Value> {
        match ty {
            CmpType::Int if int_like(v.ty) => Some(v.bits),
            CmpType::Decimal if v.ty == Type::Decimal => Some(v.bits),
            CmpType::Decimal if v.ty == Type::Int => Some(self.b.ins().fcvt_from_sint(F64, v.bits)),
            CmpType::Text if v.ty == Type::Text => Some(self.handle(v)),
            _ => None,
        }
    }

    /// A text's handle, or [`abi::TEXT_NULL`] when it is null (selected,
    /// not branched: the runtime answers for a null, the caller masks).
    fn handle(&mut self, v: JValue) -> Value {
        match v.null {
            Null::Never => v.bits,
            Null::Always => self.b.ins().iconst(I64, abi::TEXT_NULL as i64),
            Null::Maybe(n) => {
                let none = self.b.ins().iconst(I64, abi::TEXT_NULL as i64);
                self.b.ins().select(n, none, v.bits)
            }
        }
    }

    /// `ordering(a, b) OP 0` for two comparable values, as an `i8`
    /// (meaningless where either is null: the caller masks it).
    fn compare_bits(&mut self, op: CmpOp, ty: CmpType, a: Value, b: Value) -> Value {
        match ty {
            CmpType::Int => self.b.ins().icmp(int_cc(op), a, b),
            CmpType::Decimal => self.b.ins().fcmp(float_cc(op), a, b),
            CmpType::Text => {
                // 0 less, 1 equal, 2 greater: compare that with 1.
                let order = self.text_op(TEXT_COMPARE, a, b);
                self.b.ins().icmp_imm_s(int_cc(op), order, 1)
            }
        }
    }

    /// `a OP b`: false when either side is null.
    pub fn translate_compare(
        &mut self,
        op: CmpOp,
        ty: CmpType,
        left: &'p Expr,
        right: &'p Expr,
    ) -> Result<JValue, Decline> {
        let a = self.translate(left)?;
        let b = self.translate(right)?;
        let null = self.either(a.null, b.null);
        if matches!(null, Null::Always) {
            let no = self.b.ins().iconst(I8, 0);
            return Ok(self.bool_value(no));
        }
        let (Some(x), Some(y)) = (self.comparable(ty, a), self.comparable(ty, b)) else {
            return self.call(CallOp::Compare(op, ty), &[a, b], Type::Bool);
        };
        let r = self.compare_bits(op, ty, x, y);
        let flag = self.unless_null(null, r);
        Ok(self.bool_value(flag))
    }

    /// `value [not] between low and high`: false when any is null.
    pub fn translate_between(
        &mut self,
        ty: CmpType,
        value: &'p Expr,
        low: &'p Expr,
        high: &'p Expr,
        negated: bool,
    ) -> Result<JValue, Decline> {
        let v = self.translate(value)?;
        let lo = self.translate(low)?;
        let hi = self.translate(high)?;
        let (x, l, h) = (
            self.comparable(ty, v),
            self.comparable(ty, lo),
            self.comparable(ty, hi),
        );
        let (Some(x), Some(l), Some(h)) = (x, l, h) else {
            return Err(Decline::Untyped("`between`"));
        };
        let null = self.either(v.null, lo.null);
        let null = self.either(null, hi.null);
        let above = self.compare_bits(CmpOp::Ge, ty, x, l);
        let below = self.compare_bits(CmpOp::Le, ty, x, h);
        let inside = self.b.ins().band(above, below);
        let mut flag = if negated {
            self.b.ins().bxor_imm_s(inside, 1)
        } else {
            inside
        };
        if ty == CmpType::Decimal {
            // NaN on either side: no ordering, so false even negated.
            let a = self.b.ins().fcmp(FloatCC::Ordered, x, l);
            let b = self.b.ins().fcmp(FloatCC::Ordered, x, h);
            let ordered = self.b.ins().band(a, b);
            flag = self.b.ins().band(flag, ordered);
        }
        let flag = self.unless_null(null, flag);
        Ok(self.bool_value(flag))
    }

    /// `value [not] in [items]`: false when `value` is null; null items
    /// never match. Every item is computed first.
    pub fn translate_in(
        &mut self,
        ty: CmpType,
        value: &'p Expr,
        items: &'p [Expr],
        negated: bool,
    ) -> Result<JValue, Decline> {
        let v = self.translate(value)?;
        let mut values = Vec::with_capacity(items.len());
        for item in items {
            values.push(self.translate(item)?);
        }
        let x = self.comparable(ty, v);
        let x = x.ok_or(Decline::Untyped("`in`"))?;
        let mut bits = Vec::with_capacity(values.len());
        for item in &values {
            let b = self.comparable(ty, *item);
            bits.push((b.ok_or(Decline::Untyped("`in`"))?, item.null));
        }
        let mut found = self.b.ins().iconst(I8, 0);
        for (y, null) in bits {
            let eq = self.compare_bits(CmpOp::Eq, ty, x, y);
            let equal = self.unless_null(null, eq);
            found = self.b.ins().bor(found, equal);
        }
        let flag = if negated {
            self.b.ins().bxor_imm_s(found, 1)
        } else {
            found
        };
        let flag = self.unless_null(v.null, flag);
        Ok(self.bool_value(flag))
    }

    /// `text [not] contains part`, `text starts with prefix`: false when
    /// either is null.
    pub fn translate_text_test(
        &mut self,
        op: i64,
        text: &'p Expr,
        part: &'p Expr,
        negated: bool,
    ) -> Result<JValue, Decline> {
        let a = self.translate(text)?;
        let b = self.translate(part)?;
        if a.ty == Type::Any || b.ty == Type::Any {
            return Err(Decline::Untyped("a text test"));
        }
        let null = self.either(a.null, b.null);
        let flag = if a.ty == Type::Text && b.ty == Type::Text {
            let (x, y) = (self.handle(a), self.handle(b));
            let r = self.text_op(op, x, y);
            let r = self.b.ins().ireduce(I8, r);
            let r = if negated {
                self.b.ins().bxor_imm_s(r, 1)
            } else {
                r
            };
            self.unless_null(null, r)
        } else {
            self.b.ins().iconst(I8, 0)
        };
        Ok(self.bool_value(flag))
    }

    /// Calls `flowc_jit_text`; its (non-negative) `i32` answer.
    fn text_op(&mut self, op: i64, a: Value, b: Value) -> Value {
        let op = self.b.ins().iconst(I32, op);
        self.call_runtime(runtime::TEXT, &[self.ctx, op, a, b])
    }

    // ------------------------------------------------------------ primitives

    /// A primitive call: every argument computed, then the numeric and
    /// date primitives natively, the others through the runtime.
    pub fn translate_builtin_call(
        &mut self,
        f: Builtin,
        args: &'p [Expr],
        ty: Type,
    ) -> Result<JValue, Decline> {
        if f == Builtin::ToText {
            // The VM formats by the argument's declared type.
            let arg = args.first().ok_or(Decline::Untyped("`text()`"))?;
            let v = self.translate(arg)?;
            return self.call(CallOp::ToText(arg.ty.base), &[v], Type::Text);
        }
        let mut values = Vec::with_capacity(args.len());
        for a in args {
            values.push(self.translate(a)?);
        }
        if f == Builtin::Coalesce {
            return self.coalesce(&values, ty);
        }
        let mut null = Null::Never;
        for v in &values {
            null = self.either(null, v.null);
        }
        if matches!(null, Null::Always) {
            return Ok(self.null_of(ty));
        }
        let native = match (f, values.as_slice()) {
            (Builtin::Weekday, [d]) if d.ty == Type::Date => Some(self.weekday(d.bits)),
            (Builtin::Days | Builtin::Hours | Builtin::Minutes, [s]) if s.ty == Type::Duration => {
                let unit = match f {
                    Builtin::Days => DAY,
                    Builtin::Hours => 3600,
                    _ => 60,
                };
                Some(self.b.ins().sdiv_imm_s(s.bits, unit))
            }
            (Builtin::AbsInt, [x]) if x.ty == Type::Int => {
                let min = self.b.ins().icmp_imm_s(IntCC::Equal, x.bits, i64::MIN);
                self.fail_if(min, null, "abs");
                Some(self.b.ins().iabs(x.bits))
            }
            (Builtin::AbsDecimal, [x]) if x.ty == Type::Decimal => {
                let bits = self.b.ins().fabs(x.bits);
                return Ok(JValue { bits, null, ..*x });
            }
            (Builtin::Floor | Builtin::Ceil, [x]) if x.ty == Type::Decimal => {
                Some(self.round_to_int(f, x.bits, null))
            }
            (Builtin::Div, [x, y]) if x.ty == Type::Int && y.ty == Type::Int => {
                return Ok(self.floor_div(x.bits, y.bits, null));
            }
            (Builtin::MinOf | Builtin::MaxOf, [a, b])
                if same_kind(a.ty, b.ty) && (int_like(a.ty) || a.ty == Type::Decimal) =>
            {
                return Ok(self.min_max(f == Builtin::MinOf, *a, *b, null));
            }
            _ => None,
        };
        match native {
            Some(bits) => Ok(JValue {
                ty: Type::Int,
                null,
                bits,
            }),
            None => self.call(CallOp::Builtin(f), &values, ty),
        }
    }

    /// `coalesce(a, b)`: `a` unless it is null.
    fn coalesce(&mut self, values: &[JValue], ty: Type) -> Result<JValue, Decline> {
        let [a, b] = values else {
            return self.call(CallOp::Builtin(Builtin::Coalesce), values, ty);
        };
        match a.null {
            Null::Never => return Ok(*a),
            Null::Always => return Ok(*b),
            Null::Maybe(_) => {}
        }
        let Null::Maybe(a_null) = a.null else {
            return Ok(*a);
        };
        if !matches!(b.null, Null::Always)
            && (!same_kind(a.ty, b.ty) || clif_type(a.ty) != clif_type(b.ty))
        {
            return self.call(CallOp::Builtin(Builtin::Coalesce), values, ty);
        }
        let b_bits = match b.null {
            Null::Always => self.zero(a.ty),
            _ => b.bits,
        };
        let bits = self.b.ins().select(a_null, b_bits, a.bits);
        let b_null = self.null_flag(b.null);
        let null = self.b.ins().band(a_null, b_null);
        Ok(JValue {
            ty: a.ty,
            null: Null::Maybe(null),
            bits,
        })
    }

    /// ISO weekday (1 = Monday) of a day number: `(d + 3) mod 7 + 1`.
    /// Day numbers are 32-bit, so adding 3 and a multiple of 7 above 2³²
    /// makes the dividend positive: an unsigned remainder, which is what
    /// the Euclidean one is for positive numbers, with no sign fix-up.
    fn weekday(&mut self, days: Value) -> Value {
        const LIFT: i64 = 3 + 7 * (1 << 32);
        let shifted = self.b.ins().iadd_imm_s(days, LIFT);
        let r = self.b.ins().urem_imm_u(shifted, 7);
        self.b.ins().iadd_imm_s(r, 1)
    }

    /// `floor(x)` / `ceil(x)` as an int; overflow when out of range.
    fn round_to_int(&mut self, f: Builtin, x: Value, null: Null) -> Value {
        let (rounded, name) = if f == Builtin::Floor {
            (self.b.ins().floor(x), "floor")
        } else {
            (self.b.ins().ceil(x), "ceil")
        };
        let min = self.b.ins().f64const(i64::MIN as f64);
        let max = self.b.ins().f64const(i64::MAX as f64);
        let above = self.b.ins().fcmp(FloatCC::GreaterThanOrEqual, rounded, min);
        let below = self.b.ins().fcmp(FloatCC::LessThan, rounded, max);
        let fits = self.b.ins().band(above, below);
        let out = self.b.ins().bxor_imm_s(fits, 1);
        self.fail_if(out, null, name);
        self.b.ins().fcvt_to_sint_sat(I64, rounded)
    }

    /// `div(x, y)`: floor division; null for `y = 0`, overflow for `MIN / -1`.
    fn floor_div(&mut self, x: Value, y: Value, null: Null) -> JValue {
        let by_zero = self.b.ins().icmp_imm_s(IntCC::Equal, y, 0);
        let minus_one = self.b.ins().icmp_imm_s(IntCC::Equal, y, -1);
        let min = self.b.ins().icmp_imm_s(IntCC::Equal, x, i64::MIN);
        let overflow = self.b.ins().band(minus_one, min);
        self.fail_if(overflow, null, "div");
        let unsafe_divisor = self.b.ins().bor(by_zero, minus_one);
        let one = self.b.ins().iconst(I64, 1);
        let divisor = self.b.ins().select(unsafe_divisor, one, y);
        let q = self.b.ins().sdiv(x, divisor);
        let r = self.b.ins().srem(x, divisor);
        let negated = self.b.ins().ineg(x);
        let q = self.b.ins().select(minus_one, negated, q);
        // Round toward minus infinity: one less when inexact and the signs differ.
        let inexact = self.b.ins().icmp_imm_s(IntCC::NotEqual, r, 0);
        let signs = self.b.ins().bxor(x, y);
        let differ = self.b.ins().icmp_imm_s(IntCC::SignedLessThan, signs, 0);
        let adjust = self.b.ins().band(inexact, differ);
        let adjust = self.b.ins().uextend(I64, adjust);
        let bits = self.b.ins().isub(q, adjust);
        let null = self.either(null, Null::Maybe(by_zero));
        JValue {
            ty: Type::Int,
            null,
            bits,
        }
    }

    /// `min(a, b)` / `max(a, b)` of two values of one kind (`Value::compare`):
    /// `a` unless `b` is strictly better; null when unordered (NaN).
    fn min_max(&mut self, min: bool, a: JValue, b: JValue, null: Null) -> JValue {
        let (better, null) = if a.ty == Type::Decimal {
            let cc = if min {
                FloatCC::GreaterThan
            } else {
                FloatCC::LessThan
            };
            let better = self.b.ins().fcmp(cc, a.bits, b.bits);
            let unordered = self.b.ins().fcmp(FloatCC::Unordered, a.bits, b.bits);
            (better, self.either(null, Null::Maybe(unordered)))
        } else {
            let cc = if min {
                IntCC::SignedGreaterThan
            } else {
                IntCC::SignedLessThan
            };
            (self.b.ins().icmp(cc, a.bits, b.bits), null)
        };
        let bits = self.b.ins().select(better, b.bits, a.bits);
        JValue {
            ty: a.ty,
            null,
            bits,
        }
    }
}
