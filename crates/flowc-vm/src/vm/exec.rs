//! The interpreter loop.

use super::op::Op;
use super::{Code, Machine};
use crate::eval::{Env, EvalError, ops};
use crate::value::{Row, Value};
use flowc_check::ir::Type;

impl Code {
    /// Evaluates the code. `subject` is the subject's row when the code was
    /// compiled with [`super::Frame::subject_row`]; variables are set on
    /// the machine beforehand.
    pub fn eval(
        &self,
        m: &mut Machine,
        subject: Option<&Row>,
        env: &mut dyn Env,
    ) -> Result<Value, EvalError> {
        if m.regs.len() < self.registers {
            m.regs.resize(self.registers, Value::Null);
        }
        if m.vars.len() < self.vars {
            m.vars.resize(self.vars, Value::Null);
        }
        self.run(0, m, subject, env)
    }

    fn run(
        &self,
        start: u32,
        m: &mut Machine,
        subject: Option<&Row>,
        env: &mut dyn Env,
    ) -> Result<Value, EvalError> {
        let mut pc = start as usize;
        loop {
            let Some(&op) = self.ops.get(pc) else {
                return Err(EvalError::Unsupported("code ended without a result".into()));
            };
            pc += 1;
            let regs = &mut m.regs;
            match op {
                Op::Const { dst, index } => {
                    regs[usize::from(dst)] =
                        self.consts.get(index as usize).cloned().unwrap_or_default();
                }
                Op::Var { dst, var } => {
                    regs[usize::from(dst)] = m.vars.get(var as usize).cloned().unwrap_or_default()
                }
                Op::SetVar { var, src } => {
                    let v = regs[usize::from(src)].clone();
                    m.set_var(var as usize, v);
                }
                Op::Subject { dst, field } => {
                    let row =
                        subject.ok_or_else(|| EvalError::Unsupported("no subject row".into()))?;
                    regs[usize::from(dst)] = row.get(field as usize);
                }
                Op::Field {
                    dst,
                    src,
                    record,
                    field,
                } => {
                    let v = match regs[usize::from(src)] {
                        Value::Null => Value::Null,
                        Value::Ref(id) => env.field(record, id, field)?,
                        ref other => {
                            return Err(EvalError::Unsupported(format!("a field of {other:?}")));
                        }
                    };
                    regs[usize::from(dst)] = v;
                }
                Op::Old { dst, record, field } => {
                    regs[usize::from(dst)] = env.old(record, field)?
                }
                Op::Event { dst, key } => {
                    let key = self
                        .consts
                        .get(key as usize)
                        .and_then(Value::as_str)
                        .unwrap_or("");
                    regs[usize::from(dst)] = env.event_field(key)?;
                }
                Op::Cast { dst, src, ty } => {
                    let v = std::mem::take(&mut regs[usize::from(src)]);
                    regs[usize::from(dst)] = match (v, ty) {
                        (Value::Ref(id), Type::Int) => Value::Int(id),
                        (v, ty) => {
                            let schema = env.schema();
                            crate::value::convert(v, ty, schema, schema.timezone)
                        }
                    };
                }
                Op::Neg { dst, src } => {
                    regs[usize::from(dst)] = ops::negate(&regs[usize::from(src)])?
                }
                Op::Not { dst, src } => {
                    regs[usize::from(dst)] = Value::Bool(!regs[usize::from(src)].truthy())
                }
                Op::Arith { op, dst, a, b } => {
                    regs[usize::from(dst)] =
                        ops::arith(op, &regs[usize::from(a)], &regs[usize::from(b)])?;
                }
                Op::Cmp { op, ty, dst, a, b } => {
                    regs[usize::from(dst)] = Value::Bool(ops::compare(
                        op,
                        ty,
                        &regs[usize::from(a)],
                        &regs[usize::from(b)],
                    ));
                }
                Op::Between {
                    ty,
                    negated,
                    dst,
                    value,
                    low,
                    high,
                } => {
                    let r = ops::between(
                        ty,
                        &regs[usize::from(value)],
                        &regs[usize::from(low)],
                        &regs[usize::from(high)],
                        negated,
                    );
                    regs[usize::from(dst)] = Value::Bool(r);
                }
                Op::In {
                    ty,
                    negated,
                    dst,
                    value,
                    first,
                    count,
                } => {
                    let items = &regs[usize::from(first)..usize::from(first) + usize::from(count)];
                    let r = ops::in_items(ty, &regs[usize::from(value)], items, negated);
                    regs[usize::from(dst)] = Value::Bool(r);
                }
                Op::Contains {
                    negated,
                    dst,
                    text,
                    part,
                } => {
                    let r =
                        ops::contains(&regs[usize::from(text)], &regs[usize::from(part)], negated);
                    regs[usize::from(dst)] = Value::Bool(r);
                }
                Op::StartsWith { dst, text, prefix } => {
                    let r = ops::starts_with(&regs[usize::from(text)], &regs[usize::from(prefix)]);
                    regs[usize::from(dst)] = Value::Bool(r);
                }
                Op::IsNull { negated, dst, src } => {
                    regs[usize::from(dst)] =
                        Value::Bool(regs[usize::from(src)].is_null() != negated);
                }
                Op::InList {
                    negated,
                    dst,
                    src,
                    list,
                } => {
                    let r = match regs[usize::from(src)] {
                        Value::Ref(id) => env.in_list(list, id)? != negated,
                        _ => false,
                    };
                    regs[usize::from(dst)] = Value::Bool(r);
                }
                Op::InSegment {
                    negated,
                    dst,
                    src,
                    segment,
                } => {
                    let r = match regs[usize::from(src)] {
                        Value::Ref(id) => env.in_segment(segment, id)? != negated,
                        _ => false,
                    };
                    regs[usize::from(dst)] = Value::Bool(r);
                }
                Op::HasTag {
                    dst,
                    src,
                    record,
                    tag,
                } => {
                    let r = match (&regs[usize::from(src)], &regs[usize::from(tag)]) {
                        (Value::Ref(id), Value::Text(t)) => env.has_tag(record, *id, t)?,
                        _ => false,
                    };
                    regs[usize::from(dst)] = Value::Bool(r);
                }
                Op::Engaged {
                    dst,
                    src,
                    record,
                    template,
                    clicked,
                } => {
                    let r = match regs[usize::from(src)] {
                        Value::Ref(id) => env.engaged(record, id, template, clicked)?,
                        _ => false,
                    };
                    regs[usize::from(dst)] = Value::Bool(r);
                }
                Op::Unsubscribed {
                    negated,
                    dst,
                    src,
                    record,
                    email_field,
                } => {
                    let r = match regs[usize::from(src)] {
                        Value::Ref(id) => env.unsubscribed(record, id, email_field)? != negated,
                        _ => false,
                    };
                    regs[usize::from(dst)] = Value::Bool(r);
                }
                Op::Builtin {
                    f,
                    dst,
                    first,
                    count,
                } => {
                    let args = &regs[usize::from(first)..usize::from(first) + usize::from(count)];
                    regs[usize::from(dst)] = ops::builtin(f, args, env.schema())?;
                }
                Op::ToText { dst, src, ty } => {
                    regs[usize::from(dst)] =
                        ops::to_text(&regs[usize::from(src)], ty, env.schema());
                }
                Op::Lookup {
                    dst,
                    record,
                    field,
                    src,
                } => {
                    let v = &regs[usize::from(src)];
                    regs[usize::from(dst)] = if v.is_null() {
                        Value::Null
                    } else {
                        Value::Ref(env.lookup(record, field, v)?)
                    };
                }
                Op::Aggregate { dst, index, key } => {
                    let v = self.aggregate(index, key, m, subject, env)?;
                    m.regs[usize::from(dst)] = v;
                }
                Op::Today { dst } => regs[usize::from(dst)] = Value::Date(env.today()),
                Op::Now { dst } => regs[usize::from(dst)] = Value::DateTime(env.now()),
                Op::Move { dst, src } => regs[usize::from(dst)] = regs[usize::from(src)].clone(),
                Op::Jump { to } => pc = to as usize,
                Op::JumpIfFalse { cond, to } => {
                    if !regs[usize::from(cond)].truthy() {
                        pc = to as usize;
                    }
                }
                Op::JumpIfTrue { cond, to } => {
                    if regs[usize::from(cond)].truthy() {
                        pc = to as usize;
                    }
                }
                Op::JumpIfNull { src, to } => {
                    if regs[usize::from(src)].is_null() {
                        pc = to as usize;
                    }
                }
                Op::Return { src } => return Ok(std::mem::take(&mut regs[usize::from(src)])),
            }
        }
    }

    fn aggregate(
        &self,
        index: u32,
        key: u16,
        m: &mut Machine,
        subject: Option<&Row>,
        env: &mut dyn Env,
    ) -> Result<Value, EvalError> {
        let a = self
            .aggregates
            .get(index as usize)
            .ok_or_else(|| EvalError::Unsupported("unknown aggregate".into()))?;
        let key_value = a.key_field.map(|f| (f, m.regs[usize::from(key)].clone()));
        let mut acc = ops::Accumulator::new(a.function, a.result);
        if key_value.as_ref().is_some_and(|(_, v)| v.is_null()) {
            return Ok(acc.finish());
        }
        let ids = env.rows(a.record, key_value.as_ref().map(|(f, v)| (*f, v)))?;
        for id in ids {
            m.set_var(a.row_var as usize, Value::Ref(id));
            if let Some(filter) = a.filter
                && !self.run(filter, m, subject, env)?.truthy()
            {
                continue;
            }
            let value = match a.value {
                Some(block) => Some(self.run(block, m, subject, env)?),
                None => None,
            };
            acc.add(value)?;
        }
        Ok(acc.finish())
    }
}
