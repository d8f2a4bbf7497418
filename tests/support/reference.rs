//! A deliberately plain tree-walking evaluator: the reference the VM and
//! the JIT are compared with. It re-implements the language's rules on its
//! own (128-bit arithmetic for overflow, explicit null checks everywhere)
//! instead of calling `flowc::eval::ops`, so a mistake there shows up as a
//! disagreement here.
#![allow(dead_code)]

use super::memenv::MemEnv;
use flowc::eval::{Env, EvalError};
use flowc::ir::{
    AggFunc, ArithOp, Builtin, CmpOp, CmpType, Expr, ExprKind as K, Literal, Num, Program, Type,
};
use flowc::value::Value;
use std::cmp::Ordering;
use std::collections::HashMap;

pub struct Reference<'p> {
    pub program: &'p Program,
    pub vars: HashMap<u32, Value>,
}

fn int(v: i128, op: &'static str) -> Result<Value, EvalError> {
    i64::try_from(v)
        .map(Value::Int)
        .map_err(|_| EvalError::Overflow(op))
}

fn finite(v: f64) -> Value {
    if v.is_finite() {
        Value::Decimal(v)
    } else {
        Value::Null
    }
}

fn key(ty: CmpType, v: &Value) -> Option<Key> {
    match (ty, v) {
        (_, Value::Null) => None,
        (CmpType::Text, Value::Text(t)) => Some(Key::Text(t.to_string())),
        (CmpType::Decimal, Value::Decimal(d)) => Some(Key::Dec(*d)),
        (CmpType::Decimal, Value::Int(i)) => Some(Key::Dec(*i as f64)),
        (CmpType::Int, Value::Int(i) | Value::DateTime(i) | Value::Duration(i) | Value::Ref(i)) => {
            Some(Key::Int(*i))
        }
        (CmpType::Int, Value::Date(d)) => Some(Key::Int(*d as i64)),
        (CmpType::Int, Value::Enum(e)) => Some(Key::Int(*e as i64)),
        (CmpType::Int, Value::Bool(b)) => Some(Key::Int(*b as i64)),
        _ => None,
    }
}

#[derive(PartialEq, PartialOrd)]
enum Key {
    Int(i64),
    Dec(f64),
    Text(String),
}

fn order(ty: CmpType, a: &Value, b: &Value) -> Option<Ordering> {
    key(ty, a)?.partial_cmp(&key(ty, b)?)
}

impl Reference<'_> {
    pub fn eval(&mut self, e: &Expr, env: &mut MemEnv) -> Result<Value, EvalError> {
        use Value as V;
        Ok(match &e.kind {
            K::Lit(l) => match l {
                Literal::Null => V::Null,
                Literal::Int(v) => V::Int(*v),
                Literal::Decimal(v) => V::Decimal(*v),
                Literal::Text(t) => V::text(t),
                Literal::Bool(b) => V::Bool(*b),
                Literal::Date(d) => V::Date(*d),
                Literal::DateTime(t) => V::DateTime(*t),
                Literal::Duration(s) => V::Duration(*s),
                Literal::Enum(_, i) => V::Enum(*i),
            },
            K::Var(v) => self.vars.get(&v.0).cloned().unwrap_or(V::Null),
            K::Field {
                base,
                record,
                field,
            } => match self.eval(base, env)? {
                V::Ref(id) => env.field(*record, id, *field)?,
                _ => V::Null,
            },
            K::Old { record, field } => env.old(*record, *field)?,
            K::EventField(k) => env.event_field(k)?,
            K::Cast(inner) => {
                let v = self.eval(inner, env)?;
                match (v, e.ty.base) {
                    (V::Ref(id), Type::Int) => V::Int(id),
                    (v, ty) => flowc::value::convert(
                        v,
                        ty,
                        &self.program.schema,
                        self.program.schema.timezone,
                    ),
                }
            }
            K::Neg(inner) => match self.eval(inner, env)? {
                V::Int(x) => int(-(x as i128), "-")?,
                V::Decimal(x) => V::Decimal(-x),
                V::Duration(x) => match int(-(x as i128), "-")? {
                    V::Int(y) => V::Duration(y),
                    other => other,
                },
                _ => V::Null,
            },
            K::Not(inner) => V::Bool(self.eval(inner, env)? != V::Bool(true)),
            K::And(a, b) => {
                V::Bool(self.eval(a, env)? == V::Bool(true) && self.eval(b, env)? == V::Bool(true))
            }
            K::Or(a, b) => {
                V::Bool(self.eval(a, env)? == V::Bool(true) || self.eval(b, env)? == V::Bool(true))
            }
            K::Arith { op, left, right } => {
                let a = self.eval(left, env)?;
                let b = self.eval(right, env)?;
                self.arith(*op, a, b)?
            }
            K::Compare {
                op,
                ty,
                left,
                right,
            } => {
                let a = self.eval(left, env)?;
                let b = self.eval(right, env)?;
                V::Bool(match order(*ty, &a, &b) {
                    None => false,
                    Some(o) => match op {
                        CmpOp::Eq => o.is_eq(),
                        CmpOp::Ne => o.is_ne(),
                        CmpOp::Lt => o.is_lt(),
                        CmpOp::Le => o.is_le(),
                        CmpOp::Gt => o.is_gt(),
                        CmpOp::Ge => o.is_ge(),
                    },
                })
            }
            K::Between {
                value,
                low,
                high,
                ty,
                negated,
            } => {
                let v = self.eval(value, env)?;
                let lo = self.eval(low, env)?;
                let hi = self.eval(high, env)?;
                match (order(*ty, &v, &lo), order(*ty, &v, &hi)) {
                    (Some(a), Some(b)) => V::Bool((a.is_ge() && b.is_le()) != *negated),
                    _ => V::Bool(false),
                }
            }
            K::In {
                value,
                items,
                ty,
                negated,
            } => {
                let v = self.eval(value, env)?;
                let mut found = false;
                for item in items {
                    let i = self.eval(item, env)?;
                    found |= order(*ty, &v, &i) == Some(Ordering::Equal);
                }
                V::Bool(!v.is_null() && found != *negated)
            }
            K::Contains {
                text,
                part,
                negated,
            } => match (self.eval(text, env)?, self.eval(part, env)?) {
                (V::Text(t), V::Text(p)) => V::Bool(t.contains(&*p) != *negated),
                _ => V::Bool(false),
            },
            K::StartsWith { text, prefix } => {
                match (self.eval(text, env)?, self.eval(prefix, env)?) {
                    (V::Text(t), V::Text(p)) => V::Bool(t.starts_with(&*p)),
                    _ => V::Bool(false),
                }
            }
            K::IsNull { value, negated } => V::Bool(self.eval(value, env)?.is_null() != *negated),
            K::If {
                condition,
                then,
                otherwise,
            } => {
                if self.eval(condition, env)? == V::Bool(true) {
                    self.eval(then, env)?
                } else {
                    self.eval(otherwise, env)?
                }
            }
            K::InList {
                value,
                list,
                negated,
            } => match self.eval(value, env)? {
                V::Ref(id) => V::Bool(env.in_list(*list, id)? != *negated),
                _ => V::Bool(false),
            },
            K::InSegment {
                value,
                segment,
                negated,
            } => match self.eval(value, env)? {
                V::Ref(id) => V::Bool(env.in_segment(*segment, id)? != *negated),
                _ => V::Bool(false),
            },
            K::HasTag { value, tag } => {
                match (self.eval(value, env)?, self.eval(tag, env)?, value.ty.base) {
                    (V::Ref(id), V::Text(t), Type::Record(r)) => V::Bool(env.has_tag(r, id, &t)?),
                    _ => V::Bool(false),
                }
            }
            K::Engaged {
                record,
                template,
                clicked,
            } => match (self.eval(record, env)?, record.ty.base) {
                (V::Ref(id), Type::Record(r)) => V::Bool(env.engaged(r, id, *template, *clicked)?),
                _ => V::Bool(false),
            },
            K::Unsubscribed {
                record,
                email_field,
                negated,
            } => match (self.eval(record, env)?, record.ty.base) {
                (V::Ref(id), Type::Record(r)) => {
                    V::Bool(env.unsubscribed(r, id, *email_field)? != *negated)
                }
                _ => V::Bool(false),
            },
            K::Call { function, args } => {
                let mut values = Vec::new();
                for a in args {
                    values.push(self.eval(a, env)?);
                }
                let arg_ty = args.first().map_or(Type::Any, |a| a.ty.base);
                self.builtin(*function, values, arg_ty)?
            }
            K::CallFn { function, args } => {
                let def = &self.program.functions[function.index()];
                let mut frame = HashMap::new();
                let mut null_strict = false;
                for (i, a) in args.iter().enumerate() {
                    let v = self.eval(a, env)?;
                    null_strict |= v.is_null() && !def.params[i].1.nullable;
                    frame.insert(i as u32, v);
                }
                if null_strict {
                    V::Null
                } else {
                    let saved = std::mem::replace(&mut self.vars, frame);
                    let result = self.eval(&def.body, env);
                    self.vars = saved;
                    result?
                }
            }
            K::Lookup {
                record,
                field,
                value,
            } => match self.eval(value, env)? {
                V::Null => V::Null,
                v => V::Ref(env.lookup(*record, *field, &v)?),
            },
            K::Aggregate(a) => {
                let key = match &a.key {
                    Some((f, k)) => Some((*f, self.eval(k, env)?)),
                    None => None,
                };
                let ids = match &key {
                    Some((_, V::Null)) => Vec::new(),
                    Some((f, v)) => env.rows(a.record, Some((*f, v)))?,
                    None => env.rows(a.record, None)?,
                };
                let mut values = Vec::new();
                let mut rows = 0i64;
                for id in ids {
                    let saved = self.vars.insert(a.row.0, V::Ref(id));
                    let keep = match &a.filter {
                        Some(f) => self.eval(f, env)? == V::Bool(true),
                        None => true,
                    };
                    if keep {
                        rows += 1;
                        if let Some(v) = &a.value {
                            let v = self.eval(v, env)?;
                            if !v.is_null() {
                                values.push(v);
                            }
                        }
                    }
                    match saved {
                        Some(s) => self.vars.insert(a.row.0, s),
                        None => self.vars.remove(&a.row.0),
                    };
                }
                match a.function {
                    AggFunc::Count => V::Int(rows),
                    AggFunc::Sum => match e.ty.base {
                        Type::Int | Type::Duration => {
                            let total: i128 =
                                values.iter().map(|v| v.as_i64().unwrap_or(0) as i128).sum();
                            let total =
                                i64::try_from(total).map_err(|_| EvalError::Overflow("sum"))?;
                            if e.ty.base == Type::Int {
                                V::Int(total)
                            } else {
                                V::Duration(total)
                            }
                        }
                        _ => finite(values.iter().map(|v| v.as_f64().unwrap_or(0.0)).sum()),
                    },
                    AggFunc::Avg if values.is_empty() => V::Null,
                    AggFunc::Avg => finite(
                        values
                            .iter()
                            .map(|v| v.as_f64().unwrap_or(0.0))
                            .sum::<f64>()
                            / values.len() as f64,
                    ),
                    AggFunc::Min | AggFunc::Max => {
                        let mut best: Option<Value> = None;
                        for v in values {
                            let better = match &best {
                                None => true,
                                Some(b) => match v.compare(b) {
                                    Some(Ordering::Less) => a.function == AggFunc::Min,
                                    Some(Ordering::Greater) => a.function == AggFunc::Max,
                                    _ => false,
                                },
                            };
                            if better {
                                best = Some(v);
                            }
                        }
                        best.unwrap_or(V::Null)
                    }
                }
            }
            K::Today => V::Date(env.today()),
            K::Now => V::DateTime(env.now()),
        })
    }

    fn arith(&self, op: ArithOp, a: Value, b: Value) -> Result<Value, EvalError> {
        use Value as V;
        if a.is_null() || b.is_null() {
            return Ok(V::Null);
        }
        let days = |d: i32, n: i128| -> Result<Value, EvalError> {
            i32::try_from(d as i128 + n)
                .map(V::Date)
                .map_err(|_| EvalError::Overflow("date arithmetic"))
        };
        let wide = |v: &Value| v.as_i64().unwrap_or(0) as i128;
        Ok(match op {
            ArithOp::Add(Num::Int) => int(wide(&a) + wide(&b), "+")?,
            ArithOp::Sub(Num::Int) => int(wide(&a) - wide(&b), "-")?,
            ArithOp::Mul(Num::Int) => int(wide(&a) * wide(&b), "*")?,
            ArithOp::Add(Num::Decimal) => {
                finite(a.as_f64().unwrap_or(0.0) + b.as_f64().unwrap_or(0.0))
            }
            ArithOp::Sub(Num::Decimal) => {
                finite(a.as_f64().unwrap_or(0.0) - b.as_f64().unwrap_or(0.0))
            }
            ArithOp::Mul(Num::Decimal) => {
                finite(a.as_f64().unwrap_or(0.0) * b.as_f64().unwrap_or(0.0))
            }
            ArithOp::Div => {
                let d = b.as_f64().unwrap_or(0.0);
                if d == 0.0 {
                    V::Null
                } else {
                    finite(a.as_f64().unwrap_or(0.0) / d)
                }
            }
            ArithOp::Rem => {
                let (x, y) = (wide(&a), wide(&b));
                if y == 0 {
                    V::Null
                } else {
                    V::Int((((x % y) + y.abs()) % y.abs()) as i64)
                }
            }
            ArithOp::Concat => V::text(&format!(
                "{}{}",
                a.as_str().unwrap_or(""),
                b.as_str().unwrap_or("")
            )),
            ArithOp::DateAdd => match (a, b) {
                (V::Date(d), V::Duration(s)) => days(d, s as i128 / 86_400)?,
                _ => V::Null,
            },
            ArithOp::DateSub => match (a, b) {
                (V::Date(d), V::Duration(s)) => days(d, -(s as i128 / 86_400))?,
                _ => V::Null,
            },
            ArithOp::DateDiff => V::Int(wide(&a) as i64 - wide(&b) as i64),
            ArithOp::DateTimeAdd => match int(wide(&a) + wide(&b), "+")? {
                V::Int(t) => V::DateTime(t),
                other => other,
            },
            ArithOp::DateTimeSub => match int(wide(&a) - wide(&b), "-")? {
                V::Int(t) => V::DateTime(t),
                other => other,
            },
            ArithOp::DateTimeDiff | ArithOp::DurationSub => match int(wide(&a) - wide(&b), "-")? {
                V::Int(t) => V::Duration(t),
                other => other,
            },
            ArithOp::DurationAdd => match int(wide(&a) + wide(&b), "+")? {
                V::Int(t) => V::Duration(t),
                other => other,
            },
            ArithOp::DurationMul => match int(wide(&a) * wide(&b), "*")? {
                V::Int(t) => V::Duration(t),
                other => other,
            },
        })
    }

    fn builtin(&self, f: Builtin, args: Vec<Value>, arg_ty: Type) -> Result<Value, EvalError> {
        use Value as V;
        let schema = &self.program.schema;
        if f == Builtin::Coalesce {
            return Ok(if args[0].is_null() {
                args[1].clone()
            } else {
                args[0].clone()
            });
        }
        if f == Builtin::ToText {
            return Ok(args[0]
                .to_text(arg_ty, schema)
                .map_or(V::Null, |s| V::text(&s)));
        }
        if args.iter().any(Value::is_null) {
            return Ok(V::Null);
        }
        let date = |v: &Value| match v {
            V::Date(d) => chrono::NaiveDate::from_ymd_opt(1970, 1, 1)
                .and_then(|e| e.checked_add_signed(chrono::Duration::days(*d as i64))),
            _ => None,
        };
        let to_int = |x: f64, op: &'static str| -> Result<Value, EvalError> {
            if (-9.223372036854776e18..9.223372036854776e18).contains(&x) {
                Ok(V::Int(x as i64))
            } else {
                Err(EvalError::Overflow(op))
            }
        };
        use chrono::Datelike;
        Ok(match f {
            Builtin::Weekday => {
                date(&args[0]).map_or(V::Null, |d| V::Int(d.weekday().number_from_monday() as i64))
            }
            Builtin::Year => date(&args[0]).map_or(V::Null, |d| V::Int(d.year() as i64)),
            Builtin::Month => date(&args[0]).map_or(V::Null, |d| V::Int(d.month() as i64)),
            Builtin::Day => date(&args[0]).map_or(V::Null, |d| V::Int(d.day() as i64)),
            Builtin::DateOf => match args[0] {
                V::DateTime(t) => {
                    use chrono::TimeZone;
                    let local = schema
                        .timezone
                        .timestamp_opt(t, 0)
                        .single()
                        .map(|dt| dt.date_naive());
                    local.map_or(V::Null, |d| {
                        V::Date(
                            (d - chrono::NaiveDate::from_ymd_opt(1970, 1, 1).unwrap_or_default())
                                .num_days() as i32,
                        )
                    })
                }
                _ => V::Null,
            },
            Builtin::AddMonths => {
                let n = args[1].as_i64().unwrap_or(0);
                match &args[0] {
                    V::Date(_) => match date(&args[0]).and_then(|d| shift_months(d, n)) {
                        Some(d) => V::Date(day_number(d)),
                        None => return Err(EvalError::Overflow("months")),
                    },
                    V::DateTime(t) => match local_months(*t, n, schema.timezone) {
                        Some(t) => V::DateTime(t),
                        None => return Err(EvalError::Overflow("months")),
                    },
                    _ => V::Null,
                }
            }
            Builtin::AtTime => {
                let seconds = args[1].as_i64().unwrap_or(-1);
                let time = u32::try_from(seconds)
                    .ok()
                    .and_then(|s| chrono::NaiveTime::from_num_seconds_from_midnight_opt(s, 0));
                match (date(&args[0]), time) {
                    (Some(d), Some(time)) => local_instant(d.and_time(time), schema.timezone)
                        .map_or(V::Null, V::DateTime),
                    _ => V::Null,
                }
            }
            Builtin::IsBusinessDay
            | Builtin::NextBusinessDay
            | Builtin::AddBusinessDays
            | Builtin::AddBusinessSeconds => business(f, &args, schema)?,
            Builtin::Days => V::Int(args[0].as_i64().unwrap_or(0) / 86_400),
            Builtin::Hours => V::Int(args[0].as_i64().unwrap_or(0) / 3_600),
            Builtin::Minutes => V::Int(args[0].as_i64().unwrap_or(0) / 60),
            Builtin::Div => {
                let (x, y) = (
                    args[0].as_i64().unwrap_or(0) as i128,
                    args[1].as_i64().unwrap_or(0) as i128,
                );
                if y == 0 {
                    V::Null
                } else {
                    let q = x / y;
                    int(
                        if x % y != 0 && ((x < 0) != (y < 0)) {
                            q - 1
                        } else {
                            q
                        },
                        "div",
                    )?
                }
            }
            Builtin::AbsInt => int((args[0].as_i64().unwrap_or(0) as i128).abs(), "abs")?,
            Builtin::AbsDecimal => V::Decimal(args[0].as_f64().unwrap_or(0.0).abs()),
            Builtin::Round => to_int(args[0].as_f64().unwrap_or(0.0).round(), "round")?,
            Builtin::Floor => to_int(args[0].as_f64().unwrap_or(0.0).floor(), "floor")?,
            Builtin::Ceil => to_int(args[0].as_f64().unwrap_or(0.0).ceil(), "ceil")?,
            Builtin::Lower => V::text(&args[0].as_str().unwrap_or("").to_lowercase()),
            Builtin::Upper => V::text(&args[0].as_str().unwrap_or("").to_uppercase()),
            Builtin::Trim => V::text(args[0].as_str().unwrap_or("").trim()),
            Builtin::Length => V::Int(args[0].as_str().unwrap_or("").chars().count() as i64),
            Builtin::After | Builtin::Before => {
                let t = args[0].as_str().unwrap_or("");
                let sep = args[1].as_str().unwrap_or("");
                match t.find(sep) {
                    Some(i) if f == Builtin::After => V::text(&t[i + sep.len()..]),
                    Some(i) => V::text(&t[..i]),
                    None => V::text(""),
                }
            }
            Builtin::MinOf | Builtin::MaxOf => match args[0].compare(&args[1]) {
                Some(Ordering::Greater) if f == Builtin::MinOf => args[1].clone(),
                Some(Ordering::Less) if f == Builtin::MaxOf => args[1].clone(),
                Some(_) => args[0].clone(),
                None => V::Null,
            },
            Builtin::Coalesce | Builtin::ToText => V::Null,
        })
    }
}

fn day_number(d: chrono::NaiveDate) -> i32 {
    (d - chrono::NaiveDate::from_ymd_opt(1970, 1, 1).unwrap_or_default()).num_days() as i32
}

/// chrono's own month arithmetic, which clamps to the month's end.
fn shift_months(d: chrono::NaiveDate, n: i64) -> Option<chrono::NaiveDate> {
    let months = chrono::Months::new(u32::try_from(n.unsigned_abs()).ok()?);
    if n < 0 {
        d.checked_sub_months(months)
    } else {
        d.checked_add_months(months)
    }
}

/// A wall-clock time in `zone`: the earlier instant of an overlap, the first
/// whole minute after a gap.
fn local_instant(naive: chrono::NaiveDateTime, zone: chrono_tz::Tz) -> Option<i64> {
    use chrono::TimeZone;
    match zone.from_local_datetime(&naive) {
        chrono::LocalResult::Single(t) => Some(t.timestamp()),
        chrono::LocalResult::Ambiguous(early, _) => Some(early.timestamp()),
        chrono::LocalResult::None => (1..=1440).find_map(|m| {
            let later = naive + chrono::Duration::minutes(m);
            zone.from_local_datetime(&later)
                .earliest()
                .map(|t| t.timestamp() - t.timestamp().rem_euclid(60))
        }),
    }
}

fn local_months(t: i64, n: i64, zone: chrono_tz::Tz) -> Option<i64> {
    use chrono::TimeZone;
    let local = zone.timestamp_opt(t, 0).single()?.naive_local();
    let date = shift_months(local.date(), n)?;
    local_instant(date.and_time(local.time()), zone)
}

/// The business-day builtins, walked one day (or one open stretch) at a
/// time with chrono; the calendar's index comes last.
fn business(f: Builtin, args: &[Value], schema: &flowc::ir::Schema) -> Result<Value, EvalError> {
    use Value as V;
    use chrono::{Datelike, TimeZone};
    let zone = schema.timezone;
    let index = args.last().and_then(Value::as_i64).unwrap_or(-1);
    let Some(cal) = usize::try_from(index)
        .ok()
        .and_then(|i| schema.calendars.get(i))
    else {
        return Err(EvalError::Unsupported("no calendar".into()));
    };
    let epoch = chrono::NaiveDate::from_ymd_opt(1970, 1, 1).unwrap_or_default();
    let open = |d: chrono::NaiveDate| {
        let bit = 1u8 << d.weekday().num_days_from_monday();
        cal.weekends & bit == 0 && !cal.holidays.contains(&day_number(d))
    };
    let overflow = || EvalError::Overflow("business days");
    let walk = |from: chrono::NaiveDate, n: i64| -> Result<chrono::NaiveDate, EvalError> {
        if n.unsigned_abs() > flowc::ir::MAX_BUSINESS_WALK as u64 {
            return Err(overflow());
        }
        let mut d = from;
        let mut guard = 0;
        while !open(d) {
            d = d.pred_opt().ok_or_else(overflow)?;
            guard += 1;
            if guard > 10_000 {
                return Err(overflow());
            }
        }
        for _ in 0..n.unsigned_abs() {
            loop {
                d = if n < 0 { d.pred_opt() } else { d.succ_opt() }.ok_or_else(overflow)?;
                if open(d) {
                    break;
                }
            }
        }
        Ok(d)
    };
    let date = |v: &Value| match v {
        V::Date(d) => epoch.checked_add_signed(chrono::Duration::days(*d as i64)),
        _ => None,
    };
    let local = |t: i64| zone.timestamp_opt(t, 0).single().map(|x| x.naive_local());
    Ok(match f {
        Builtin::IsBusinessDay => date(&args[0]).map_or(V::Null, |d| V::Bool(open(d))),
        Builtin::NextBusinessDay => match date(&args[0]) {
            Some(d) => {
                let mut next = d.succ_opt().ok_or_else(overflow)?;
                while !open(next) {
                    next = next.succ_opt().ok_or_else(overflow)?;
                }
                V::Date(day_number(next))
            }
            None => V::Null,
        },
        Builtin::AddBusinessDays => {
            let n = args[1].as_i64().unwrap_or(0);
            match &args[0] {
                V::Date(_) => match date(&args[0]) {
                    Some(d) => V::Date(day_number(walk(d, n)?)),
                    None => V::Null,
                },
                V::DateTime(t) => match local(*t) {
                    Some(l) => {
                        let d = walk(l.date(), n)?;
                        local_instant(d.and_time(l.time()), zone).map_or(V::Null, V::DateTime)
                    }
                    None => V::Null,
                },
                _ => V::Null,
            }
        }
        _ => {
            // Seconds of open time after an instant.
            let (V::DateTime(t), Some(mut left)) = (&args[0], args[1].as_i64()) else {
                return Ok(V::Null);
            };
            if left <= 0 {
                return Ok(V::DateTime(*t));
            }
            let Some(mut l) = local(*t) else {
                return Ok(V::Null);
            };
            let mut at = *t;
            loop {
                let d = l.date();
                if open(d) {
                    let bounds = match cal.hours {
                        Some((from, until)) => (
                            local_instant(
                                d.and_time(
                                    chrono::NaiveTime::from_num_seconds_from_midnight_opt(from, 0)
                                        .unwrap_or_default(),
                                ),
                                zone,
                            ),
                            local_instant(
                                d.and_time(
                                    chrono::NaiveTime::from_num_seconds_from_midnight_opt(until, 0)
                                        .unwrap_or_default(),
                                ),
                                zone,
                            ),
                        ),
                        None => (
                            local_instant(d.and_time(chrono::NaiveTime::MIN), zone),
                            local_instant(
                                d.succ_opt()
                                    .ok_or_else(overflow)?
                                    .and_time(chrono::NaiveTime::MIN),
                                zone,
                            ),
                        ),
                    };
                    if let (Some(o), Some(c)) = bounds {
                        let from = at.max(o);
                        if from < c {
                            if left <= c - from {
                                return Ok(V::DateTime(from + left));
                            }
                            left -= c - from;
                        }
                    }
                }
                let next = d.succ_opt().ok_or_else(overflow)?;
                if (next - epoch).num_days() > 3_000_000 {
                    return Err(overflow());
                }
                l = next.and_time(chrono::NaiveTime::MIN);
                at = local_instant(l, zone).ok_or_else(overflow)?;
            }
        }
    })
}
