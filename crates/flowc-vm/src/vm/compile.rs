//! Typed IR → bytecode. One `compile_*` per IR node; registers are
//! allocated like a stack (a node's temporaries are freed when it is done),
//! functions are inlined, and aggregates' per-row blocks are laid out in
//! the same code, jumped over by the main block.

use super::Code;
use super::op::{AggregateCode, Op, Reg};
use crate::value::Value;
use flowc_check::ir::{self, Expr, ExprKind as K, Literal, Type, VarId};
use std::collections::HashMap;

/// Why an expression cannot be compiled (it did not pass the checker).
#[derive(Clone, Debug, PartialEq)]
pub struct CompileError(pub String);

impl std::fmt::Display for CompileError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "cannot compile: {}", self.0)
    }
}

impl std::error::Error for CompileError {}

/// How a variable is reached in the current (possibly inlined) scope.
#[derive(Clone, Copy)]
enum Place {
    Reg(Reg),
    Var(u32),
}

pub(super) struct Compiler<'p> {
    functions: &'p [ir::FnDef],
    code: Vec<Op>,
    consts: Vec<Value>,
    aggregates: Vec<AggregateCode>,
    next_reg: Reg,
    max_reg: Reg,
    next_var: u32,
    /// Innermost last: how each variable of the scope is reached.
    scopes: Vec<HashMap<u32, Place>>,
    /// Whether `subject.f` may read the subject row directly.
    subject_row: bool,
    depth: usize,
}

/// Inlining deeper than this means a function cycle slipped through.
const MAX_INLINE_DEPTH: usize = 64;

impl<'p> Compiler<'p> {
    pub(super) fn new(functions: &'p [ir::FnDef], vars: u32, subject_row: bool) -> Compiler<'p> {
        let top: HashMap<u32, Place> = (0..vars).map(|v| (v, Place::Var(v))).collect();
        Compiler {
            functions,
            code: Vec::new(),
            consts: Vec::new(),
            aggregates: Vec::new(),
            next_reg: 0,
            max_reg: 0,
            next_var: vars,
            scopes: vec![top],
            subject_row,
            depth: 0,
        }
    }

    pub(super) fn finish(mut self, expr: &Expr) -> Result<Code, CompileError> {
        let dst = self.alloc()?;
        self.expr(expr, dst)?;
        self.emit(Op::Return { src: dst });
        Ok(Code {
            ops: self.code,
            consts: self.consts,
            aggregates: self.aggregates,
            registers: usize::from(self.max_reg),
            vars: self.next_var as usize,
            ty: expr.ty,
        })
    }

    fn alloc(&mut self) -> Result<Reg, CompileError> {
        let r = self.next_reg;
        self.next_reg = self
            .next_reg
            .checked_add(1)
            .ok_or_else(|| CompileError("expression too large".into()))?;
        self.max_reg = self.max_reg.max(self.next_reg);
        Ok(r)
    }

    fn emit(&mut self, op: Op) -> u32 {
        self.code.push(op);
        self.code.len() as u32 - 1
    }

    fn here(&self) -> u32 {
        self.code.len() as u32
    }

    /// Points the jump at `at` to the current position.
    fn patch(&mut self, at: u32) {
        let here = self.here();
        match &mut self.code[at as usize] {
            Op::Jump { to }
            | Op::JumpIfFalse { to, .. }
            | Op::JumpIfTrue { to, .. }
            | Op::JumpIfNull { to, .. } => *to = here,
            _ => {}
        }
    }

    fn constant(&mut self, value: Value) -> u32 {
        if let Some(i) = self.consts.iter().position(|c| *c == value) {
            return i as u32;
        }
        self.consts.push(value);
        self.consts.len() as u32 - 1
    }

    fn load(&mut self, value: Value, dst: Reg) {
        let index = self.constant(value);
        self.emit(Op::Const { dst, index });
    }

    fn place(&self, var: VarId) -> Place {
        self.scopes
            .last()
            .and_then(|s| s.get(&var.0).copied())
            .unwrap_or(Place::Var(var.0))
    }

    /// Compiles `e` into a new register.
    fn temp(&mut self, e: &Expr) -> Result<Reg, CompileError> {
        let r = self.alloc()?;
        self.expr(e, r)?;
        Ok(r)
    }

    /// Compiles `e`, leaving its value in `dst`.
    fn expr(&mut self, e: &Expr, dst: Reg) -> Result<(), CompileError> {
        if e.ty.is_error() {
            return Err(CompileError("the expression has type errors".into()));
        }
        let mark = self.next_reg;
        self.node(e, dst)?;
        self.next_reg = mark;
        Ok(())
    }

    fn node(&mut self, e: &Expr, dst: Reg) -> Result<(), CompileError> {
        match &e.kind {
            K::Lit(lit) => self.load(literal(lit), dst),
            K::Var(v) => match self.place(*v) {
                Place::Reg(src) => {
                    self.emit(Op::Move { dst, src });
                }
                Place::Var(var) => {
                    self.emit(Op::Var { dst, var });
                }
            },
            K::Field {
                base,
                record,
                field,
            } => {
                let subject =
                    self.subject_row && self.scopes.len() == 1 && base.kind == K::Var(VarId(0));
                if subject {
                    self.emit(Op::Subject {
                        dst,
                        field: field.0,
                    });
                } else {
                    let src = self.temp(base)?;
                    self.emit(Op::Field {
                        dst,
                        src,
                        record: *record,
                        field: *field,
                    });
                }
            }
            K::Old { record, field } => {
                self.emit(Op::Old {
                    dst,
                    record: *record,
                    field: *field,
                });
            }
            K::EventField(key) => {
                let key = self.constant(Value::text(key));
                self.emit(Op::Event { dst, key });
            }
            // A literal's conversion gives the same value on every
            // evaluation: done once here (text may need the schema or zone).
            K::Cast(inner)
                if matches!(&inner.kind, K::Lit(lit) if !matches!(lit, Literal::Text(_)))
                    && e.ty.base != Type::Text =>
            {
                if let K::Lit(lit) = &inner.kind {
                    let schema = ir::Schema::default();
                    let value =
                        crate::value::convert(literal(lit), e.ty.base, &schema, chrono_tz::UTC);
                    self.load(value, dst);
                }
            }
            K::Cast(inner) => {
                self.expr(inner, dst)?;
                self.emit(Op::Cast {
                    dst,
                    src: dst,
                    ty: e.ty.base,
                });
            }
            K::Neg(inner) => {
                self.expr(inner, dst)?;
                self.emit(Op::Neg { dst, src: dst });
            }
            K::Not(inner) => {
                self.expr(inner, dst)?;
                self.emit(Op::Not { dst, src: dst });
            }
            K::And(a, b) | K::Or(a, b) => self.logic(matches!(e.kind, K::And(..)), a, b, dst)?,
            K::Arith { op, left, right } => {
                self.expr(left, dst)?;
                let b = self.temp(right)?;
                self.emit(Op::Arith {
                    op: *op,
                    dst,
                    a: dst,
                    b,
                });
            }
            K::Compare {
                op,
                ty,
                left,
                right,
            } => {
                let a = self.temp(left)?;
                let b = self.temp(right)?;
                self.emit(Op::Cmp {
                    op: *op,
                    ty: *ty,
                    dst,
                    a,
                    b,
                });
            }
            K::Between {
                value,
                low,
                high,
                ty,
                negated,
            } => {
                let v = self.temp(value)?;
                let lo = self.temp(low)?;
                let hi = self.temp(high)?;
                self.emit(Op::Between {
                    ty: *ty,
                    negated: *negated,
                    dst,
                    value: v,
                    low: lo,
                    high: hi,
                });
            }
            K::In {
                value,
                items,
                ty,
                negated,
            } => {
                let v = self.temp(value)?;
                let (first, count) = self.consecutive(items)?;
                self.emit(Op::In {
                    ty: *ty,
                    negated: *negated,
                    dst,
                    value: v,
                    first,
                    count,
                });
            }
            K::Contains {
                text,
                part,
                negated,
            } => {
                let t = self.temp(text)?;
                let p = self.temp(part)?;
                self.emit(Op::Contains {
                    negated: *negated,
                    dst,
                    text: t,
                    part: p,
                });
            }
            K::StartsWith { text, prefix } => {
                let t = self.temp(text)?;
                let p = self.temp(prefix)?;
                self.emit(Op::StartsWith {
                    dst,
                    text: t,
                    prefix: p,
                });
            }
            K::IsNull { value, negated } => {
                let src = self.temp(value)?;
                self.emit(Op::IsNull {
                    negated: *negated,
                    dst,
                    src,
                });
            }
            K::If {
                condition,
                then,
                otherwise,
            } => {
                self.expr(condition, dst)?;
                let to_else = self.emit(Op::JumpIfFalse { cond: dst, to: 0 });
                self.expr(then, dst)?;
                let to_end = self.emit(Op::Jump { to: 0 });
                self.patch(to_else);
                self.expr(otherwise, dst)?;
                self.patch(to_end);
            }
            K::InList {
                value,
                list,
                negated,
            } => {
                let src = self.temp(value)?;
                self.emit(Op::InList {
                    negated: *negated,
                    dst,
                    src,
                    list: *list,
                });
            }
            K::InSegment {
                value,
                segment,
                negated,
            } => {
                let src = self.temp(value)?;
                self.emit(Op::InSegment {
                    negated: *negated,
                    dst,
                    src,
                    segment: *segment,
                });
            }
            K::HasTag { value, tag } => {
                let src = self.temp(value)?;
                let t = self.temp(tag)?;
                let record = record_of(value)?;
                self.emit(Op::HasTag {
                    dst,
                    src,
                    record,
                    tag: t,
                });
            }
            K::Engaged {
                record,
                template,
                clicked,
            } => {
                let src = self.temp(record)?;
                let rec = record_of(record)?;
                self.emit(Op::Engaged {
                    dst,
                    src,
                    record: rec,
                    template: *template,
                    clicked: *clicked,
                });
            }
            K::Unsubscribed {
                record,
                email_field,
                negated,
            } => {
                let src = self.temp(record)?;
                let rec = record_of(record)?;
                self.emit(Op::Unsubscribed {
                    negated: *negated,
                    dst,
                    src,
                    record: rec,
                    email_field: *email_field,
                });
            }
            K::Call {
                function: ir::Builtin::ToText,
                args,
            } => {
                let arg = args
                    .first()
                    .ok_or_else(|| CompileError("text() without an argument".into()))?;
                self.expr(arg, dst)?;
                self.emit(Op::ToText {
                    dst,
                    src: dst,
                    ty: arg.ty.base,
                });
            }
            K::Call { function, args } => {
                let (first, count) = self.consecutive(args)?;
                self.emit(Op::Builtin {
                    f: *function,
                    dst,
                    first,
                    count,
                });
            }
            K::CallFn { function, args } => self.inline(*function, args, dst)?,
            K::Lookup {
                record,
                field,
                value,
            } => {
                let src = self.temp(value)?;
                self.emit(Op::Lookup {
                    dst,
                    record: *record,
                    field: *field,
                    src,
                });
            }
            K::Aggregate(a) => self.aggregate(a, e.ty.base, dst)?,
            K::Today => {
                self.emit(Op::Today { dst });
            }
            K::Now => {
                self.emit(Op::Now { dst });
            }
        }
        Ok(())
    }

    /// Compiles `items` into consecutive registers (all allocated before
    /// any is computed, so no item's temporaries land between them).
    fn consecutive(&mut self, items: &[Expr]) -> Result<(Reg, u16), CompileError> {
        let first = self.next_reg;
        let count =
            u16::try_from(items.len()).map_err(|_| CompileError("too many values".into()))?;
        for _ in items {
            self.alloc()?;
        }
        for (i, item) in items.iter().enumerate() {
            self.expr(item, first + i as Reg)?;
        }
        Ok((first, count))
    }

    /// `a and b` / `a or b`, short-circuit, always a bool.
    fn logic(&mut self, and: bool, a: &Expr, b: &Expr, dst: Reg) -> Result<(), CompileError> {
        let short = |cond| {
            if and {
                Op::JumpIfFalse { cond, to: 0 }
            } else {
                Op::JumpIfTrue { cond, to: 0 }
            }
        };
        self.expr(a, dst)?;
        let first = self.emit(short(dst));
        self.expr(b, dst)?;
        let second = self.emit(short(dst));
        self.load(Value::Bool(and), dst);
        let end = self.emit(Op::Jump { to: 0 });
        self.patch(first);
        self.patch(second);
        self.load(Value::Bool(!and), dst);
        self.patch(end);
        Ok(())
    }

    /// Inlines a `fn`: arguments in registers, the body compiled with the
    /// parameters bound to them; a null for a non-nullable parameter makes
    /// the call null without running the body.
    fn inline(&mut self, function: ir::FnId, args: &[Expr], dst: Reg) -> Result<(), CompileError> {
        let def = self
            .functions
            .get(function.index())
            .ok_or_else(|| CompileError(format!("unknown function #{}", function.0)))?;
        if self.depth >= MAX_INLINE_DEPTH {
            return Err(CompileError(format!(
                "`{}` is nested too deeply (a cycle?)",
                def.name
            )));
        }
        let mut scope = HashMap::new();
        let mut strict = Vec::new();
        for (i, arg) in args.iter().enumerate() {
            let r = self.alloc()?;
            self.expr(arg, r)?;
            scope.insert(i as u32, Place::Reg(r));
            if def.params.get(i).is_some_and(|(_, ty)| !ty.nullable) && arg.ty.nullable {
                strict.push(r);
            }
        }
        // Every argument is computed (as for primitives) before a null one
        // for a non-nullable parameter skips the body.
        let null_checks: Vec<u32> = strict
            .into_iter()
            .map(|src| self.emit(Op::JumpIfNull { src, to: 0 }))
            .collect();
        // Variables the body binds itself (aggregate rows) get fresh slots.
        let mut body_vars = Vec::new();
        def.body.walk(&mut |x| {
            if let K::Aggregate(a) = &x.kind {
                body_vars.push(a.row.0);
            }
        });
        for v in body_vars {
            scope.insert(v, Place::Var(self.next_var));
            self.next_var += 1;
        }
        self.scopes.push(scope);
        self.depth += 1;
        let result = self.expr(&def.body, dst);
        self.depth -= 1;
        self.scopes.pop();
        result?;
        if !null_checks.is_empty() {
            let end = self.emit(Op::Jump { to: 0 });
            for at in null_checks {
                self.patch(at);
            }
            self.load(Value::Null, dst);
            self.patch(end);
        }
        Ok(())
    }

    fn aggregate(&mut self, a: &ir::Aggregate, result: Type, dst: Reg) -> Result<(), CompileError> {
        let row_var = self.next_var;
        self.next_var += 1;
        let mut scope = self.scopes.last().cloned().unwrap_or_default();
        scope.insert(a.row.0, Place::Var(row_var));
        self.scopes.push(scope);
        let skip = self.emit(Op::Jump { to: 0 });
        let filter = self.block(a.filter.as_ref())?;
        let value = self.block(a.value.as_ref())?;
        self.patch(skip);
        self.scopes.pop();
        let key = match &a.key {
            Some((_, key)) => self.temp(key)?,
            None => dst,
        };
        self.aggregates.push(AggregateCode {
            function: a.function,
            result,
            record: a.record,
            row_var,
            key_field: a.key.as_ref().map(|(f, _)| *f),
            filter,
            value,
        });
        let index = self.aggregates.len() as u32 - 1;
        self.emit(Op::Aggregate { dst, index, key });
        Ok(())
    }

    /// A separately callable block ending in `Return`; its start.
    fn block(&mut self, e: Option<&Expr>) -> Result<Option<u32>, CompileError> {
        let Some(e) = e else {
            return Ok(None);
        };
        let start = self.here();
        let r = self.temp(e)?;
        self.emit(Op::Return { src: r });
        self.next_reg = r;
        Ok(Some(start))
    }
}

fn record_of(e: &Expr) -> Result<ir::RecordId, CompileError> {
    match e.ty.base {
        Type::Record(r) => Ok(r),
        _ => Err(CompileError("expected a record".into())),
    }
}

pub(crate) fn literal(lit: &Literal) -> Value {
    match lit {
        Literal::Null => Value::Null,
        Literal::Int(v) => Value::Int(*v),
        Literal::Decimal(v) => Value::Decimal(*v),
        Literal::Text(t) => Value::text(t),
        Literal::Bool(b) => Value::Bool(*b),
        Literal::Date(d) => Value::Date(*d),
        Literal::DateTime(t) => Value::DateTime(*t),
        Literal::Duration(s) => Value::Duration(*s),
        Literal::Enum(_, i) => Value::Enum(*i),
    }
}
