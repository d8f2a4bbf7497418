//! The meaning of every operator and primitive, on [`Value`]s.
//!
//! The VM calls these directly; the JIT compiles the numeric ones to native
//! code with the same rules and calls these for the rest. The rules:
//! - a comparison with null is false (negated forms too);
//! - arithmetic with null is null; int overflow is an error;
//! - division (always decimal) and `%` by zero give null, as in SQLite;
//! - a decimal result that is not finite is null;
//! - `date ± duration` moves by whole days, truncated toward zero;
//! - months move a date to the same day of the month, or the month's last
//!   day when it is shorter, and a datetime keeps its local time.

use super::EvalError;
use crate::value::Value;
use flowc_check::ir::{AggFunc, ArithOp, Builtin, CmpOp, CmpType, Num, Schema, Type};
use std::cmp::Ordering;
use std::rc::Rc;

const DAY: i64 = 86_400;

/// A decimal result, or null when it is not finite.
pub fn decimal(v: f64) -> Value {
    if v.is_finite() {
        Value::Decimal(v)
    } else {
        Value::Null
    }
}

fn overflow(op: &'static str) -> EvalError {
    EvalError::Overflow(op)
}

/// `date + days`, failing outside the representable range.
pub fn add_days(date: i32, days: i64) -> Result<i32, EvalError> {
    i64::from(date)
        .checked_add(days)
        .and_then(|d| i32::try_from(d).ok())
        .ok_or(overflow("date arithmetic"))
}

pub fn arith(op: ArithOp, a: &Value, b: &Value) -> Result<Value, EvalError> {
    use Value::*;
    if a.is_null() || b.is_null() {
        return Ok(Null);
    }
    Ok(match (op, a, b) {
        (ArithOp::Add(Num::Int), Int(x), Int(y)) => Int(x.checked_add(*y).ok_or(overflow("+"))?),
        (ArithOp::Sub(Num::Int), Int(x), Int(y)) => Int(x.checked_sub(*y).ok_or(overflow("-"))?),
        (ArithOp::Mul(Num::Int), Int(x), Int(y)) => Int(x.checked_mul(*y).ok_or(overflow("*"))?),
        (ArithOp::Add(Num::Decimal), Decimal(x), Decimal(y)) => decimal(x + y),
        (ArithOp::Sub(Num::Decimal), Decimal(x), Decimal(y)) => decimal(x - y),
        (ArithOp::Mul(Num::Decimal), Decimal(x), Decimal(y)) => decimal(x * y),
        (ArithOp::Div, Decimal(x), Decimal(y)) => {
            if *y == 0.0 {
                Null
            } else {
                decimal(x / y)
            }
        }
        (ArithOp::Rem, Int(x), Int(y)) => rem(*x, *y),
        (ArithOp::Concat, Text(x), Text(y)) => {
            let mut s = String::with_capacity(x.len() + y.len());
            s.push_str(x);
            s.push_str(y);
            Text(Rc::from(s))
        }
        (ArithOp::DateAdd, Date(d), Duration(s)) => Date(add_days(*d, s / DAY)?),
        (ArithOp::DateSub, Date(d), Duration(s)) => Date(add_days(*d, -(s / DAY))?),
        (ArithOp::DateDiff, Date(x), Date(y)) => Int(i64::from(*x) - i64::from(*y)),
        (ArithOp::DateTimeAdd, DateTime(t), Duration(s)) => {
            DateTime(t.checked_add(*s).ok_or(overflow("+"))?)
        }
        (ArithOp::DateTimeSub, DateTime(t), Duration(s)) => {
            DateTime(t.checked_sub(*s).ok_or(overflow("-"))?)
        }
        (ArithOp::DateTimeDiff, DateTime(x), DateTime(y)) => {
            Duration(x.checked_sub(*y).ok_or(overflow("-"))?)
        }
        (ArithOp::DurationAdd, Duration(x), Duration(y)) => {
            Duration(x.checked_add(*y).ok_or(overflow("+"))?)
        }
        (ArithOp::DurationSub, Duration(x), Duration(y)) => {
            Duration(x.checked_sub(*y).ok_or(overflow("-"))?)
        }
        (ArithOp::DurationMul, Duration(x), Int(y)) => {
            Duration(x.checked_mul(*y).ok_or(overflow("*"))?)
        }
        _ => return Err(EvalError::Unsupported(format!("{op:?} on {a:?} and {b:?}"))),
    })
}

/// Euclidean remainder; null for a zero divisor.
pub fn rem(x: i64, y: i64) -> Value {
    if y == 0 {
        return Value::Null;
    }
    Value::Int(x.checked_rem_euclid(y).unwrap_or(0))
}

/// Floor division; null for a zero divisor.
pub fn floor_div(x: i64, y: i64) -> Result<Value, EvalError> {
    if y == 0 {
        return Ok(Value::Null);
    }
    let q = x.checked_div(y).ok_or(overflow("div"))?;
    let adjust = (x % y != 0) && ((x < 0) != (y < 0));
    Ok(Value::Int(if adjust { q - 1 } else { q }))
}

pub fn negate(v: &Value) -> Result<Value, EvalError> {
    Ok(match v {
        Value::Int(x) => Value::Int(x.checked_neg().ok_or(overflow("-"))?),
        Value::Decimal(x) => Value::Decimal(-x),
        Value::Duration(x) => Value::Duration(x.checked_neg().ok_or(overflow("-"))?),
        _ => Value::Null,
    })
}

fn ordering(ty: CmpType, a: &Value, b: &Value) -> Option<Ordering> {
    match ty {
        CmpType::Int => Some(a.as_i64()?.cmp(&b.as_i64()?)),
        CmpType::Decimal => a.as_f64()?.partial_cmp(&b.as_f64()?),
        CmpType::Text => Some(a.as_str()?.cmp(b.as_str()?)),
    }
}

/// `a OP b`: false whenever either side is null.
pub fn compare(op: CmpOp, ty: CmpType, a: &Value, b: &Value) -> bool {
    let Some(ord) = ordering(ty, a, b) else {
        return false;
    };
    match op {
        CmpOp::Eq => ord == Ordering::Equal,
        CmpOp::Ne => ord != Ordering::Equal,
        CmpOp::Lt => ord == Ordering::Less,
        CmpOp::Le => ord != Ordering::Greater,
        CmpOp::Gt => ord == Ordering::Greater,
        CmpOp::Ge => ord != Ordering::Less,
    }
}

/// `low <= value <= high`; false if any is null, negated or not.
pub fn between(ty: CmpType, value: &Value, low: &Value, high: &Value, negated: bool) -> bool {
    let (Some(lo), Some(hi)) = (ordering(ty, value, low), ordering(ty, value, high)) else {
        return false;
    };
    let inside = lo != Ordering::Less && hi != Ordering::Greater;
    inside != negated
}

/// `value [not] in items`: false when `value` is null; null items never match.
pub fn in_items<'a>(
    ty: CmpType,
    value: &Value,
    items: impl IntoIterator<Item = &'a Value>,
    negated: bool,
) -> bool {
    if value.is_null() {
        return false;
    }
    let found = items
        .into_iter()
        .any(|i| ordering(ty, value, i) == Some(Ordering::Equal));
    found != negated
}

/// `text [not] contains part`; false if either is null.
pub fn contains(text: &Value, part: &Value, negated: bool) -> bool {
    match (text.as_str(), part.as_str()) {
        (Some(t), Some(p)) => t.contains(p) != negated,
        _ => false,
    }
}

pub fn starts_with(text: &Value, prefix: &Value) -> bool {
    matches!((text.as_str(), prefix.as_str()), (Some(t), Some(p)) if t.starts_with(p))
}

fn text_value(s: impl Into<Rc<str>>) -> Value {
    Value::Text(s.into())
}

fn int_of(v: f64, op: &'static str) -> Result<Value, EvalError> {
    if v.is_finite() && v >= i64::MIN as f64 && v < i64::MAX as f64 {
        Ok(Value::Int(v as i64))
    } else {
        Err(overflow(op))
    }
}

/// A primitive call. Strict: null in a needed argument gives null
/// (the checker's types say where), except for `coalesce`.
/// `text(x)` is [`to_text`], which needs the argument's type.
pub fn builtin(f: Builtin, args: &[Value], schema: &Schema) -> Result<Value, EvalError> {
    use Value::*;
    let arg = |i: usize| args.get(i).cloned().unwrap_or(Null);
    if f == Builtin::Coalesce {
        let first = arg(0);
        return Ok(if first.is_null() { arg(1) } else { first });
    }
    if args.iter().any(Value::is_null) {
        return Ok(Null);
    }
    let ymd = |v: &Value| match v {
        Date(d) => flowc_syntax::time::year_month_day(*d),
        _ => None,
    };
    Ok(match (f, arg(0)) {
        (Builtin::Weekday, Date(d)) => Int(flowc_syntax::time::weekday(d)),
        (Builtin::Year, v) => ymd(&v).map_or(Null, |(y, _, _)| Int(i64::from(y))),
        (Builtin::Month, v) => ymd(&v).map_or(Null, |(_, m, _)| Int(i64::from(m))),
        (Builtin::Day, v) => ymd(&v).map_or(Null, |(_, _, d)| Int(i64::from(d))),
        (Builtin::DateOf, DateTime(t)) => Date(flowc_syntax::time::local_date(t, schema.timezone)),
        (Builtin::AddMonths, Date(d)) => match arg(1) {
            Int(n) => Date(flowc_syntax::time::add_months(d, n).ok_or(overflow("months"))?),
            _ => Null,
        },
        (Builtin::AddMonths, DateTime(t)) => match arg(1) {
            Int(n) => DateTime(
                flowc_syntax::time::add_months_local(t, n, schema.timezone)
                    .ok_or(overflow("months"))?,
            ),
            _ => Null,
        },
        (Builtin::AtTime, Date(d)) => match arg(1) {
            Int(s) => u32::try_from(s)
                .ok()
                .and_then(|s| flowc_syntax::time::at_time_of_day(d, s, schema.timezone))
                .map_or(Null, DateTime),
            _ => Null,
        },
        (
            Builtin::IsBusinessDay
            | Builtin::NextBusinessDay
            | Builtin::AddBusinessDays
            | Builtin::AddBusinessSeconds,
            first,
        ) => business(f, first, args, schema)?,
        (Builtin::Days, Duration(s)) => Int(s / DAY),
        (Builtin::Hours, Duration(s)) => Int(s / 3600),
        (Builtin::Minutes, Duration(s)) => Int(s / 60),
        (Builtin::Div, Int(x)) => match arg(1) {
            Int(y) => floor_div(x, y)?,
            _ => Null,
        },
        (Builtin::AbsInt, Int(x)) => Int(x.checked_abs().ok_or(overflow("abs"))?),
        (Builtin::AbsDecimal, Decimal(x)) => Decimal(x.abs()),
        (Builtin::Round, Decimal(x)) => int_of(x.round(), "round")?,
        (Builtin::Floor, Decimal(x)) => int_of(x.floor(), "floor")?,
        (Builtin::Ceil, Decimal(x)) => int_of(x.ceil(), "ceil")?,
        (Builtin::Lower, Text(t)) => text_value(t.to_lowercase()),
        (Builtin::Upper, Text(t)) => text_value(t.to_uppercase()),
        (Builtin::Trim, Text(t)) => text_value(t.trim()),
        (Builtin::Length, Text(t)) => Int(t.chars().count() as i64),
        (Builtin::After, Text(t)) => match arg(1) {
            Text(sep) => text_value(t.split_once(&*sep).map_or("", |(_, after)| after)),
            _ => Null,
        },
        (Builtin::Before, Text(t)) => match arg(1) {
            Text(sep) => text_value(t.split_once(&*sep).map_or("", |(before, _)| before)),
            _ => Null,
        },
        (Builtin::MinOf | Builtin::MaxOf, a) => {
            let b = arg(1);
            match a.compare(&b) {
                Some(Ordering::Greater) if f == Builtin::MinOf => b,
                Some(Ordering::Less) if f == Builtin::MaxOf => b,
                Some(_) => a,
                None => Null,
            }
        }
        _ => return Err(EvalError::Unsupported(format!("{f:?} on {args:?}"))),
    })
}

/// The business-day builtins: the calendar's index is the last argument.
fn business(f: Builtin, first: Value, args: &[Value], schema: &Schema) -> Result<Value, EvalError> {
    use Value::*;
    let calendar = match args.last() {
        Some(Int(i)) => usize::try_from(*i)
            .ok()
            .and_then(|i| schema.calendars.get(i)),
        _ => None,
    };
    let Some(calendar) = calendar else {
        return Err(EvalError::Unsupported(format!(
            "{f:?} without its calendar"
        )));
    };
    let count = || match args.get(1) {
        Some(Int(n)) => Ok(*n),
        _ => Err(EvalError::Unsupported(format!("{f:?} without its count"))),
    };
    let zone = schema.timezone;
    Ok(match (f, first) {
        (Builtin::IsBusinessDay, Date(d)) => Bool(calendar.is_business_day(d)),
        (Builtin::NextBusinessDay, Date(d)) => Date(
            calendar
                .next_business_day(d)
                .ok_or(overflow("business days"))?,
        ),
        (Builtin::AddBusinessDays, Date(d)) => Date(
            calendar
                .add_business_days(d, count()?)
                .ok_or(overflow("business days"))?,
        ),
        (Builtin::AddBusinessDays, DateTime(t)) => DateTime(
            calendar
                .add_business_days_local(t, count()?, zone)
                .ok_or(overflow("business days"))?,
        ),
        (Builtin::AddBusinessSeconds, DateTime(t)) => DateTime(
            calendar
                .add_business_seconds(t, count()?, zone)
                .ok_or(overflow("business hours"))?,
        ),
        _ => return Err(EvalError::Unsupported(format!("{f:?} on {args:?}"))),
    })
}

/// `text(x)`: the text form of a value of type `ty`; null stays null.
pub fn to_text(value: &Value, ty: Type, schema: &Schema) -> Value {
    value.to_text(ty, schema).map_or(Value::Null, text_value)
}

/// Running state of an aggregate.
#[derive(Debug)]
pub struct Accumulator {
    function: AggFunc,
    result: Type,
    count: i64,
    int_sum: i64,
    dec_sum: f64,
    best: Value,
}

impl Accumulator {
    /// `result` is the aggregate's result type (for the empty sum's zero).
    pub fn new(function: AggFunc, result: Type) -> Accumulator {
        Accumulator {
            function,
            result,
            count: 0,
            int_sum: 0,
            dec_sum: 0.0,
            best: Value::Null,
        }
    }

    /// Adds one row's value (`None` for `count`, which counts rows).
    pub fn add(&mut self, value: Option<Value>) -> Result<(), EvalError> {
        let Some(value) = value else {
            self.count += 1;
            return Ok(());
        };
        if value.is_null() {
            return Ok(());
        }
        self.count += 1;
        match self.function {
            AggFunc::Count => {}
            AggFunc::Sum | AggFunc::Avg => match value {
                Value::Int(v) | Value::Duration(v) => {
                    self.int_sum = self.int_sum.checked_add(v).ok_or(overflow("sum"))?;
                    self.dec_sum += v as f64;
                }
                Value::Decimal(v) => self.dec_sum += v,
                _ => {}
            },
            AggFunc::Min | AggFunc::Max => {
                let better = match value.compare(&self.best) {
                    None => true,
                    Some(Ordering::Less) => self.function == AggFunc::Min,
                    Some(Ordering::Greater) => self.function == AggFunc::Max,
                    Some(Ordering::Equal) => false,
                };
                if better {
                    self.best = value;
                }
            }
        }
        Ok(())
    }

    pub fn finish(self) -> Value {
        match self.function {
            AggFunc::Count => Value::Int(self.count),
            AggFunc::Sum => match self.result {
                Type::Int => Value::Int(self.int_sum),
                Type::Duration => Value::Duration(self.int_sum),
                _ => decimal(self.dec_sum),
            },
            AggFunc::Avg if self.count == 0 => Value::Null,
            AggFunc::Avg => decimal(self.dec_sum / self.count as f64),
            AggFunc::Min | AggFunc::Max => self.best,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn division_and_remainder_follow_the_documented_rules() {
        assert_eq!(
            arith(ArithOp::Div, &Value::Decimal(7.0), &Value::Decimal(2.0)),
            Ok(Value::Decimal(3.5))
        );
        assert_eq!(
            arith(ArithOp::Div, &Value::Decimal(7.0), &Value::Decimal(0.0)),
            Ok(Value::Null)
        );
        assert_eq!(rem(-7, 3), Value::Int(2));
        assert_eq!(rem(7, -3), Value::Int(1));
        assert_eq!(rem(i64::MIN, -1), Value::Int(0));
        assert_eq!(rem(1, 0), Value::Null);
        assert_eq!(floor_div(-7, 2), Ok(Value::Int(-4)));
        assert_eq!(floor_div(7, -2), Ok(Value::Int(-4)));
        assert_eq!(floor_div(6, 3), Ok(Value::Int(2)));
        assert!(floor_div(i64::MIN, -1).is_err());
    }

    #[test]
    fn int_overflow_is_an_error() {
        let max = Value::Int(i64::MAX);
        assert_eq!(
            arith(ArithOp::Add(Num::Int), &max, &Value::Int(1)),
            Err(EvalError::Overflow("+"))
        );
        assert_eq!(negate(&Value::Int(i64::MIN)), Err(EvalError::Overflow("-")));
    }

    #[test]
    fn dates_move_by_whole_days() {
        let d = Value::Date(100);
        assert_eq!(
            arith(ArithOp::DateAdd, &d, &Value::Duration(DAY * 2 + 3600)),
            Ok(Value::Date(102))
        );
        assert_eq!(
            arith(ArithOp::DateSub, &d, &Value::Duration(3600)),
            Ok(Value::Date(100))
        );
        assert_eq!(
            arith(ArithOp::DateAdd, &d, &Value::Duration(-DAY)),
            Ok(Value::Date(99))
        );
    }

    #[test]
    fn comparisons_with_null_are_false_even_negated() {
        let n = Value::Null;
        let one = Value::Int(1);
        assert!(!compare(CmpOp::Ne, CmpType::Int, &n, &one));
        assert!(!between(CmpType::Int, &n, &one, &one, true));
        assert!(!in_items(CmpType::Int, &n, [&one], true));
        assert!(in_items(CmpType::Int, &one, [&n, &Value::Int(2)], true));
        assert!(!contains(&n, &Value::text("a"), true));
    }

    #[test]
    fn empty_aggregates() {
        assert_eq!(
            Accumulator::new(AggFunc::Sum, Type::Int).finish(),
            Value::Int(0)
        );
        assert_eq!(
            Accumulator::new(AggFunc::Avg, Type::Decimal).finish(),
            Value::Null
        );
        assert_eq!(
            Accumulator::new(AggFunc::Max, Type::Int).finish(),
            Value::Null
        );
        let mut sum = Accumulator::new(AggFunc::Sum, Type::Decimal);
        sum.add(Some(Value::Decimal(1.5))).ok();
        sum.add(Some(Value::Null)).ok();
        sum.add(Some(Value::Decimal(2.0))).ok();
        assert_eq!(sum.finish(), Value::Decimal(3.5));
    }
}
