//! Typed IR → Cranelift IR, one `translate_<node>` per IR node.
//!
//! The story: [`translate`] builds the expression's main function, and one
//! function per aggregate filter or value block it meets (blocks are
//! queued as [`Job`]s and built after their parent, since they run once
//! per row, called back from the runtime). Each function starts with its
//! parameters (context, subject slots, frame, row), ends by storing its
//! result in the context's return slot and returning `OK`, and sends every
//! failure to one `exit` block that returns the status it is given.
//!
//! Values are [`JValue`]s: the IR type of the value the VM would hold (the
//! *actual* kind, which decides how the result is boxed), whether it is
//! null (known at compile time when it can be, so that non-null paths
//! carry no null tests), and its bits. The arithmetic and comparison nodes
//! are in `translate_ops.rs`; the building blocks (runtime calls, cells,
//! null flags, joins, exits) in `emit.rs`.
//!
//! Two choices keep the code small, which matters as much for compile time
//! (Cranelift's cost grows with values and blocks) as for speed: the
//! entry checks the subject slots' tags once (so a field read is two
//! loads), and `and` / `or` whose right side cannot fail or call the
//! runtime combine both sides without a branch.

use super::Decline;
use super::abi::{self, clif_type, int_like};
use super::plan::{AggregatePlan, CallOp, Plan};
use super::runtime;
use cranelift_codegen::ir::condcodes::IntCC;
use cranelift_codegen::ir::types::{F64, I8, I32, I64};
use cranelift_codegen::ir::{
    AbiParam, Block, FuncRef, Function, InstBuilder, MemFlagsData, Signature, UserFuncName, Value,
};
use cranelift_codegen::isa::{CallConv, TargetFrontendConfig};
use cranelift_frontend::{FunctionBuilder, FunctionBuilderContext};
use flowc_check::ir::{self, Expr, ExprKind as K, FieldId, FnDef, Literal, RecordId, Type, VarId};
use flowc_vm::value::Tag;
use flowc_vm::vm::Frame;
use std::collections::HashMap;

/// Inlining deeper than this means a function cycle slipped through (the
/// VM's limit too).
const MAX_INLINE_DEPTH: usize = 64;

/// What is known about a value's nullness.
#[derive(Clone, Copy, Debug)]
pub(super) enum Null {
    /// Never null: no test needed.
    Never,
    /// Always null (a `null` literal, an operation on one).
    Always,
    /// Null when this `i8` is 1.
    Maybe(Value),
}

/// A value in compiled code.
#[derive(Clone, Copy, Debug)]
pub(super) struct JValue {
    /// The IR type of the value the VM would hold here (when not null).
    pub ty: Type,
    pub null: Null,
    /// `i64` bits, or an `f64` for decimals; meaningless when null.
    pub bits: Value,
}

/// How a variable is reached.
#[derive(Clone, Copy, Debug)]
pub(super) enum Binding {
    /// Cell `index` of the function's frame. `caller` is the caller's
    /// variable it holds, if it is one (its type is the type it is read
    /// at, which the entry converts it to); otherwise the cell holds a
    /// captured value of type `ty`.
    Cell {
        index: u32,
        caller: Option<u32>,
        ty: Type,
    },
    /// A value computed in this function (an inlined `fn`'s argument).
    Value(JValue),
    /// The row a block runs for (the function's `row` parameter).
    Row(RecordId),
}

/// An aggregate block waiting for its own function.
#[derive(Clone, Debug)]
pub(super) struct Job<'p> {
    /// The filter or value expression.
    expr: &'p Expr,
    /// The scope the block sees: the parent's, captured into frame cells,
    /// plus the row variable.
    scope: HashMap<u32, Binding>,
    /// The inlining depth at the aggregate.
    depth: usize,
}

/// A translation in progress: the expression's functions are translated
/// one at a time ([`Translation::next`]) into a Cranelift function the
/// caller reuses, so that each can be compiled (or printed) before the
/// next is translated, and no function's buffers are allocated anew.
pub(super) struct Translation<'p> {
    /// The program's `fn`s, inlined where they are called.
    functions: &'p [FnDef],
    /// The tables the functions share.
    plan: Plan,
    /// The main function's job, then the aggregate blocks met so far.
    jobs: Vec<Job<'p>>,
    /// The next function to translate.
    next: usize,
    /// Whether the main function may read the subject's slots.
    subject_row: bool,
    config: TargetFrontendConfig,
    call_conv: CallConv,
}

/// The signature every compiled function has (see `abi`).
pub(super) fn signature(call_conv: CallConv) -> Signature {
    let mut sig = Signature::new(call_conv);
    for _ in 0..4 {
        sig.params.push(AbiParam::new(I64));
    }
    sig.returns.push(AbiParam::new(I32));
    sig
}

impl<'p> Translation<'p> {
    /// Starts translating `expr` (with `functions` inlined) for a caller
    /// laid out as `frame`, for a target configured as `config`.
    pub fn new(
        functions: &'p [FnDef],
        expr: &'p Expr,
        frame: Frame,
        config: TargetFrontendConfig,
        call_conv: CallConv,
    ) -> Translation<'p> {
        let caller: HashMap<u32, Binding> = (0..frame.vars)
            .map(|v| {
                let cell = Binding::Cell {
                    index: v,
                    caller: Some(v),
                    ty: Type::Null,
                };
                (v, cell)
            })
            .collect();
        Translation {
            functions,
            plan: Plan::default(),
            jobs: vec![Job {
                expr,
                scope: caller,
                depth: 0,
            }],
            next: 0,
            subject_row: frame.subject_row,
            config,
            call_conv,
        }
    }

    /// Translates the next function into `func` (cleared first); false
    /// when every function has been translated. `builder` must be fresh;
    /// it is left fresh unless this fails.
    pub fn next(
        &mut self,
        func: &mut Function,
        builder: &mut FunctionBuilderContext,
    ) -> Result<bool, Decline> {
        let Some(job) = self.jobs.get(self.next).cloned() else {
            return Ok(false);
        };
        let index = u32::try_from(self.next).map_err(|_| Decline::TooLarge)?;
        func.clear();
        func.name = UserFuncName::user(1, index);
        func.signature = signature(self.call_conv);
        build(self, func, builder, &job)?;
        self.next += 1;
        Ok(true)
    }

    /// The tables, once every function is translated.
    pub fn finish(self) -> Plan {
        self.plan
    }
}

/// Builds the function for `job` (number `t.next`) into `func`.
fn build<'p>(
    session: &mut Translation<'p>,
    func: &mut Function,
    builder: &mut FunctionBuilderContext,
    job: &Job<'p>,
) -> Result<(), Decline> {
    let config = session.config;
    let mut b = FunctionBuilder::new(func, builder);
    let entry = b.create_block();
    b.append_block_params_for_function_params(entry);
    b.switch_to_block(entry);
    let params = b.block_params(entry).to_vec();
    let [ctx, slots, frame, row] = params[..] else {
        return Err(Decline::TooLarge);
    };
    let mut t = Translator {
        functions: session.functions,
        plan: &mut session.plan,
        jobs: &mut session.jobs,
        b,
        call_conv: session.call_conv,
        ctx,
        slots,
        frame,
        row,
        exit: None,
        flags: HashMap::new(),
        scopes: vec![job.scope.clone()],
        subject_row: session.subject_row && session.next == 0,
        depth: job.depth,
        imports: [None; 3],
    };
    let result = t.translate(job.expr)?;
    t.store_result(result);
    if let Some(exit) = t.exit {
        let status = t.b.block_params(exit)[0];
        t.b.switch_to_block(exit);
        t.b.ins().return_(&[status]);
    }
    t.b.seal_all_blocks();
    t.b.finalize(config);
    Ok(())
}

/// The state of one function's translation.
pub(super) struct Translator<'p, 'a> {
    /// The program's `fn`s, inlined where they are called.
    pub functions: &'p [FnDef],
    /// The tables every function of this expression shares.
    pub plan: &'a mut Plan,
    /// Aggregate blocks met so far that still need their own function.
    pub jobs: &'a mut Vec<Job<'p>>,
    /// Emits instructions into the function being built.
    pub b: FunctionBuilder<'a>,
    /// The calling convention of the host (for imported signatures).
    pub call_conv: CallConv,
    /// The function's parameters: the context pointer, the subject's slots,
    /// the frame of cells, and the row id of a block.
    pub ctx: Value,
    pub slots: Value,
    pub frame: Value,
    pub row: Value,
    /// Returns its `i32` parameter as the function's status: where every
    /// error, overflow and bail-out jumps (made when first needed).
    pub exit: Option<Block>,
    /// The `i8` truth behind each bool made from one, so that a condition
    /// of a condition does not widen and test it again.
    pub flags: HashMap<Value, Value>,
    /// How each variable in scope is reached; innermost scope last (only
    /// the innermost is visible, as in the VM).
    pub scopes: Vec<HashMap<u32, Binding>>,
    /// Whether `subject.field` reads the subject's slots directly: in the
    /// main function when the caller passes the row (the VM's rule).
    pub subject_row: bool,
    /// How many `fn` calls deep the translation is.
    pub depth: usize,
    /// The runtime functions imported into this function so far.
    pub imports: [Option<FuncRef>; 3],
}

impl<'p> Translator<'p, '_> {
    /// Translates `e`; every node's value is computed in evaluation order,
    /// as the VM computes it.
    pub fn translate(&mut self, e: &'p Expr) -> Result<JValue, Decline> {
        if e.ty.is_error() {
            return Err(Decline::TypeErrors);
        }
        match &e.kind {
            K::Lit(lit) => Ok(self.translate_literal(lit, e.ty.base)),
            K::Var(v) => self.translate_var(*v, e.ty.base),
            K::Field {
                base,
                record,
                field,
            } => self.translate_field(base, *record, *field, e.ty.base),
            K::Old { record, field } => self.call(
                CallOp::Old {
                    record: *record,
                    field: *field,
                },
                &[],
                e.ty.base,
            ),
            K::EventField(key) => {
                let key = key.as_str().into();
                self.call(CallOp::Event { key }, &[], Type::Any)
            }
            K::Cast(inner) => self.translate_cast(inner, e.ty.base),
            K::Neg(inner) => self.translate_neg(inner, e.ty.base),
            K::Not(inner) => self.translate_not(inner),
            K::And(a, b) => self.translate_logic(true, a, b),
            K::Or(a, b) => self.translate_logic(false, a, b),
            K::Arith { op, left, right } => self.translate_arith(*op, left, right, e.ty.base),
            K::Compare {
                op,
                ty,
                left,
                right,
            } => self.translate_compare(*op, *ty, left, right),
            K::Between {
                value,
                low,
                high,
                ty,
                negated,
            } => self.translate_between(*ty, value, low, high, *negated),
            K::In {
                value,
                items,
                ty,
                negated,
            } => self.translate_in(*ty, value, items, *negated),
            K::Contains {
                text,
                part,
                negated,
            } => self.translate_text_test(runtime::TEXT_CONTAINS, text, part, *negated),
            K::StartsWith { text, prefix } => {
                self.translate_text_test(runtime::TEXT_STARTS_WITH, text, prefix, false)
            }
            K::IsNull { value, negated } => self.translate_is_null(value, *negated),
            K::If {
                condition,
                then,
                otherwise,
            } => self.translate_if(condition, then, otherwise, e.ty.base),
            K::InList {
                value,
                list,
                negated,
            } => {
                let op = CallOp::InList {
                    list: *list,
                    negated: *negated,
                };
                self.translate_membership(op, value, None)
            }
            K::InSegment {
                value,
                segment,
                negated,
            } => {
                let op = CallOp::InSegment {
                    segment: *segment,
                    negated: *negated,
                };
                self.translate_membership(op, value, None)
            }
            K::HasTag { value, tag } => {
                let op = CallOp::HasTag {
                    record: record_of(value)?,
                };
                self.translate_membership(op, value, Some(tag))
            }
            K::Engaged {
                record,
                template,
                clicked,
            } => {
                let op = CallOp::Engaged {
                    record: record_of(record)?,
                    template: *template,
                    clicked: *clicked,
                };
                self.translate_membership(op, record, None)
            }
            K::Unsubscribed {
                record,
                email_field,
                negated,
            } => {
                let op = CallOp::Unsubscribed {
                    record: record_of(record)?,
                    email_field: *email_field,
                    negated: *negated,
                };
                self.translate_membership(op, record, None)
            }
            K::Call { function, args } => self.translate_builtin_call(*function, args, e.ty.base),
            K::CallFn { function, args } => self.translate_call_fn(*function, args, e.ty.base),
            K::Lookup {
                record,
                field,
                value,
            } => {
                let v = self.translate(value)?;
                let op = CallOp::Lookup {
                    record: *record,
                    field: *field,
                };
                self.call(op, &[v], e.ty.base)
            }
            K::Aggregate(a) => self.translate_aggregate(a, e.ty.base),
            K::Today => {
                self.plan.reads_today = true;
                Ok(self.load_clock(abi::TODAY, Type::Date))
            }
            K::Now => {
                self.plan.reads_now = true;
                Ok(self.load_clock(abi::NOW, Type::DateTime))
            }
        }
    }

    fn translate_literal(&mut self, lit: &Literal, ty: Type) -> JValue {
        let (ty, bits) = match lit {
            Literal::Null => return self.null_of(ty),
            Literal::Int(v) => (Type::Int, *v),
            Literal::Decimal(v) => {
                let bits = self.b.ins().f64const(*v);
                return JValue {
                    ty: Type::Decimal,
                    null: Null::Never,
                    bits,
                };
            }
            Literal::Text(text) => (Type::Text, self.plan.text(text) as i64),
            Literal::Bool(b) => (Type::Bool, i64::from(*b)),
            Literal::Date(d) => (Type::Date, i64::from(*d)),
            Literal::DateTime(t) => (Type::DateTime, *t),
            Literal::Duration(s) => (Type::Duration, *s),
            Literal::Enum(e, i) => (Type::Enum(*e), i64::from(*i)),
        };
        let bits = self.b.ins().iconst(I64, bits);
        JValue {
            ty,
            null: Null::Never,
            bits,
        }
    }

    fn translate_var(&mut self, var: VarId, ty: Type) -> Result<JValue, Decline> {
        let binding = self
            .scopes
            .last()
            .and_then(|s| s.get(&var.0).copied())
            .ok_or(Decline::UnboundVariable(var.0))?;
        match binding {
            Binding::Value(v) => Ok(v),
            Binding::Row(record) => Ok(JValue {
                ty: Type::Record(record),
                null: Null::Never,
                bits: self.row,
            }),
            Binding::Cell {
                index,
                caller,
                ty: held,
            } => {
                let ty = match caller {
                    Some(v) => {
                        if abi::tag_of(ty).is_none() || !self.plan.read_var(v as usize, ty) {
                            return Err(Decline::Untyped("a variable"));
                        }
                        ty
                    }
                    None => held,
                };
                Ok(self.load_cell(self.frame, index, ty))
            }
        }
    }

    /// `base.field`: from the subject's slots when `base` is the subject
    /// at the top scope of the main function, else through the runtime.
    fn translate_field(
        &mut self,
        base: &'p Expr,
        record: RecordId,
        field: FieldId,
        ty: Type,
    ) -> Result<JValue, Decline> {
        if self.subject_row && self.depth == 0 && base.kind == K::Var(VarId(0)) {
            return self.load_subject_field(field, ty);
        }
        let base = self.translate(base)?;
        self.call(CallOp::Field { record, field }, &[base], ty)
    }

    /// Reads a subject slot: null when its tag is `Null`, else the field's
    /// value (the entry has checked that every slot the code reads is null
    /// or of its field's declared kind).
    fn load_subject_field(&mut self, field: FieldId, ty: Type) -> Result<JValue, Decline> {
        let tag = abi::tag_of(ty).ok_or(Decline::Untyped("a field"))?;
        self.plan.read_subject(field.index(), tag);
        let offset = i32::try_from(field.index())
            .ok()
            .and_then(|i| i.checked_mul(abi::SLOT_SIZE))
            .ok_or(Decline::TooLarge)?;
        let flags = MemFlagsData::trusted().with_readonly();
        let found = self
            .b
            .ins()
            .load(I32, flags, self.slots, offset + abi::SLOT_TAG);
        let raw = self
            .b
            .ins()
            .load(clif_type(ty), flags, self.slots, offset + abi::SLOT_BITS);
        let null = self
            .b
            .ins()
            .icmp_imm_s(IntCC::Equal, found, Tag::Null as i64);
        let bits = self.normalize(ty, raw);
        Ok(JValue {
            ty,
            null: Null::Maybe(null),
            bits,
        })
    }

    /// The canonical bits of a value loaded from memory, as `Row::get`
    /// reads them: bools are 0 or 1, dates and enums 32-bit.
    fn normalize(&mut self, ty: Type, raw: Value) -> Value {
        let ins = self.b.ins();
        match ty {
            Type::Bool => {
                let set = ins.icmp_imm_s(IntCC::NotEqual, raw, 0);
                self.b.ins().uextend(I64, set)
            }
            Type::Date => {
                let low = ins.ireduce(I32, raw);
                self.b.ins().sextend(I64, low)
            }
            Type::Enum(_) => {
                let low = ins.ireduce(I32, raw);
                self.b.ins().uextend(I64, low)
            }
            _ => raw,
        }
    }

    /// `Cast`: `.id` and int → decimal natively, anything else (event
    /// values, text) through the runtime's `convert`.
    fn translate_cast(&mut self, inner: &'p Expr, ty: Type) -> Result<JValue, Decline> {
        if let (K::Lit(Literal::Int(n)), Type::Decimal) = (&inner.kind, ty) {
            // `amount > 1000000`: the constant, converted once, here.
            let bits = self.b.ins().f64const(*n as f64);
            return Ok(JValue {
                ty: Type::Decimal,
                null: Null::Never,
                bits,
            });
        }
        let v = self.translate(inner)?;
        match (v.null, v.ty, ty) {
            (Null::Always, _, _) => Ok(self.null_of(ty)),
            (_, Type::Record(_), Type::Int) => Ok(JValue { ty: Type::Int, ..v }),
            (_, Type::Int, Type::Decimal) => {
                let bits = self.b.ins().fcvt_from_sint(F64, v.bits);
                Ok(JValue {
                    ty: Type::Decimal,
                    null: v.null,
                    bits,
                })
            }
            _ => self.call(CallOp::Convert, &[v], ty),
        }
    }

    fn translate_not(&mut self, inner: &'p Expr) -> Result<JValue, Decline> {
        let v = self.translate(inner)?;
        let truth = self.truthy(v)?;
        let not = self.b.ins().bxor_imm_s(truth, 1);
        Ok(self.bool_value(not))
    }

    /// `a and b` / `a or b`: the right side runs only when needed; the
    /// result is a (non-null) bool. When the right side cannot fail (see
    /// [`Translator::infallible`]) running it anyway is unobservable, and
    /// cheaper than a branch: both sides are combined without one.
    fn translate_logic(&mut self, and: bool, a: &'p Expr, b: &'p Expr) -> Result<JValue, Decline> {
        let left = self.translate(a)?;
        let truth = self.truthy(left)?;
        if self.infallible(b) {
            let right = self.translate(b)?;
            let other = self.truthy(right)?;
            let both = if and {
                self.b.ins().band(truth, other)
            } else {
                self.b.ins().bor(truth, other)
            };
            return Ok(self.bool_value(both));
        }
        let rhs = self.b.create_block();
        let end = self.b.create_block();
        self.b.append_block_param(end, I8);
        let short = self.b.ins().iconst(I8, i64::from(!and));
        if and {
            self.b.ins().brif(truth, rhs, &[], end, &[short.into()]);
        } else {
            self.b.ins().brif(truth, end, &[short.into()], rhs, &[]);
        }
        self.b.switch_to_block(rhs);
        let right = self.translate(b)?;
        let truth = self.truthy(right)?;
        self.b.ins().jump(end, &[truth.into()]);
        self.b.switch_to_block(end);
        let result = self.b.block_params(end)[0];
        Ok(self.bool_value(result))
    }

    fn translate_is_null(&mut self, value: &'p Expr, negated: bool) -> Result<JValue, Decline> {
        let v = self.translate(value)?;
        let flag = match v.null {
            Null::Never => self.b.ins().iconst(I8, i64::from(negated)),
            Null::Always => self.b.ins().iconst(I8, i64::from(!negated)),
            Null::Maybe(n) if negated => self.b.ins().bxor_imm_s(n, 1),
            Null::Maybe(n) => n,
        };
        Ok(self.bool_value(flag))
    }

    /// `if c then a else b`: only the branch taken runs.
    fn translate_if(
        &mut self,
        condition: &'p Expr,
        then: &'p Expr,
        otherwise: &'p Expr,
        ty: Type,
    ) -> Result<JValue, Decline> {
        let c = self.translate(condition)?;
        let truth = self.truthy(c)?;
        let (then_block, else_block) = (self.b.create_block(), self.b.create_block());
        self.b.ins().brif(truth, then_block, &[], else_block, &[]);
        self.b.switch_to_block(then_block);
        let a = self.translate(then)?;
        let join = self.join_block(a, ty);
        self.jump_to_join(join, a, ty)?;
        self.b.switch_to_block(else_block);
        let b = self.translate(otherwise)?;
        self.jump_to_join(join, b, ty)?;
        self.b.switch_to_block(join);
        self.joined(join, a, b)
    }

    /// Whether `e`, translated here, is plain native code that cannot
    /// fail, bail out or call the runtime, so that running it where the VM
    /// would not (the right side of `and` / `or`) changes nothing but
    /// speed. Conservative: comparisons, `between` and `in` of numbers and
    /// other integer-like values, `is null`, `not`, `and` / `or`, decimal
    /// arithmetic, date differences, the native primitives that cannot
    /// fail, the subject's fields, variables, literals, `today` and `now`.
    fn infallible(&self, e: &Expr) -> bool {
        use flowc_check::ir::{ArithOp, CmpType};
        let ints = |es: &[&Expr]| es.iter().all(|x| int_like(x.ty.base) && self.infallible(x));
        let numbers = |es: &[&Expr]| {
            es.iter()
                .all(|x| matches!(x.ty.base, Type::Int | Type::Decimal) && self.infallible(x))
        };
        match &e.kind {
            K::Lit(_) | K::Var(_) | K::Today | K::Now => true,
            K::Field { base, .. } => {
                self.subject_row
                    && self.depth == 0
                    && base.kind == K::Var(VarId(0))
                    && abi::tag_of(e.ty.base).is_some()
            }
            K::Not(x) | K::IsNull { value: x, .. } => self.infallible(x),
            K::And(x, y) | K::Or(x, y) => self.infallible(x) && self.infallible(y),
            K::Compare {
                ty: CmpType::Int,
                left,
                right,
                ..
            } => ints(&[left, right]),
            K::Compare {
                ty: CmpType::Decimal,
                left,
                right,
                ..
            } => numbers(&[left, right]),
            K::Between {
                ty: CmpType::Int,
                value,
                low,
                high,
                ..
            } => ints(&[value, low, high]),
            K::Between {
                ty: CmpType::Decimal,
                value,
                low,
                high,
                ..
            } => numbers(&[value, low, high]),
            K::In {
                ty, value, items, ..
            } => {
                let mut all: Vec<&Expr> = items.iter().collect();
                all.push(value);
                match ty {
                    CmpType::Int => ints(&all),
                    CmpType::Decimal => numbers(&all),
                    CmpType::Text => false,
                }
            }
            K::Arith { op, left, right } => match op {
                ArithOp::Add(flowc_check::ir::Num::Decimal)
                | ArithOp::Sub(flowc_check::ir::Num::Decimal)
                | ArithOp::Mul(flowc_check::ir::Num::Decimal)
                | ArithOp::Div => {
                    left.ty.base == Type::Decimal
                        && right.ty.base == Type::Decimal
                        && self.infallible(left)
                        && self.infallible(right)
                }
                ArithOp::DateDiff => {
                    left.ty.base == Type::Date
                        && right.ty.base == Type::Date
                        && self.infallible(left)
                        && self.infallible(right)
                }
                _ => false,
            },
            K::Cast(x) => {
                matches!(
                    (x.ty.base, e.ty.base),
                    (Type::Int, Type::Decimal) | (Type::Record(_), Type::Int)
                ) && self.infallible(x)
            }
            K::Call { function, args } => {
                use flowc_check::ir::Builtin as B;
                let all = args.iter().all(|a| self.infallible(a));
                let one_kind = args.windows(2).all(|w| w[0].ty.base == w[1].ty.base);
                let first = args.first().map(|a| a.ty.base);
                all && match function {
                    B::Weekday => first == Some(Type::Date),
                    B::Days | B::Hours | B::Minutes => first == Some(Type::Duration),
                    B::AbsDecimal => first == Some(Type::Decimal),
                    B::Coalesce => one_kind && first.is_some_and(|t| abi::tag_of(t).is_some()),
                    B::MinOf | B::MaxOf => {
                        one_kind && first.is_some_and(|t| int_like(t) || t == Type::Decimal)
                    }
                    _ => false,
                }
            }
            _ => false,
        }
    }

    /// `InList`, `InSegment`, `HasTag`, `Engaged`: a runtime call on the
    /// record (and the tag).
    fn translate_membership(
        &mut self,
        op: CallOp,
        value: &'p Expr,
        tag: Option<&'p Expr>,
    ) -> Result<JValue, Decline> {
        let mut args = vec![self.translate(value)?];
        if let Some(tag) = tag {
            args.push(self.translate(tag)?);
        }
        self.call(op, &args, Type::Bool)
    }

    /// `f(args)` for a `fn`: inlined with the arguments bound to its
    /// parameters. All arguments are computed; if one given for a
    /// non-nullable parameter is null, the call is null and the body
    /// does not run.
    fn translate_call_fn(
        &mut self,
        function: ir::FnId,
        args: &'p [Expr],
        ty: Type,
    ) -> Result<JValue, Decline> {
        let def = self
            .functions
            .get(function.index())
            .ok_or(Decline::UnknownFunction(function.0))?;
        if self.depth >= MAX_INLINE_DEPTH {
            return Err(Decline::TooDeep);
        }
        let mut scope = HashMap::new();
        let mut strict = Null::Never;
        for (i, arg) in args.iter().enumerate() {
            let v = self.translate(arg)?;
            if def.params.get(i).is_some_and(|(_, t)| !t.nullable) && arg.ty.nullable {
                strict = self.either(strict, v.null);
            }
            scope.insert(i as u32, Binding::Value(v));
        }
        let body = |t: &mut Self| -> Result<JValue, Decline> {
            t.scopes.push(scope);
            t.depth += 1;
            let v = t.translate(&def.body);
            t.depth -= 1;
            t.scopes.pop();
            v
        };
        match strict {
            Null::Never => body(self),
            Null::Always => Ok(self.null_of(ty)),
            Null::Maybe(any_null) => {
                let body_block = self.b.create_block();
                let null = self.null_of(ty);
                let join = self.join_block(null, ty);
                let (one, zero) = (self.b.ins().iconst(I8, 1), self.zero(ty));
                self.b
                    .ins()
                    .brif(any_null, join, &[one.into(), zero.into()], body_block, &[]);
                self.b.switch_to_block(body_block);
                let v = body(self)?;
                self.jump_to_join(join, v, ty)?;
                self.b.switch_to_block(join);
                self.joined(join, null, v)
            }
        }
    }

    /// An aggregate: the enclosing scope is captured into a frame of cells
    /// (plus the key), the filter and value become block functions, and
    /// the runtime loops over the rows.
    fn translate_aggregate(&mut self, a: &'p ir::Aggregate, ty: Type) -> Result<JValue, Decline> {
        let scope = self.scopes.last().cloned().unwrap_or_default();
        let mut vars: Vec<u32> = scope.keys().copied().collect();
        vars.sort_unstable();
        let key_cell = vars.len();
        let frame = self.cells(key_cell + 1)?;
        let mut inner = HashMap::new();
        for (i, var) in vars.iter().enumerate() {
            let binding = match scope.get(var) {
                Some(Binding::Cell { index, caller, ty }) => {
                    self.copy_cell(*index, frame, i);
                    Binding::Cell {
                        index: i as u32,
                        caller: *caller,
                        ty: *ty,
                    }
                }
                Some(Binding::Value(v)) => {
                    self.store_cell(frame, i, *v);
                    Binding::Cell {
                        index: i as u32,
                        caller: None,
                        ty: v.ty,
                    }
                }
                Some(Binding::Row(record)) => {
                    let v = JValue {
                        ty: Type::Record(*record),
                        null: Null::Never,
                        bits: self.row,
                    };
                    self.store_cell(frame, i, v);
                    Binding::Cell {
                        index: i as u32,
                        caller: None,
                        ty: v.ty,
                    }
                }
                None => continue,
            };
            inner.insert(*var, binding);
        }
        inner.insert(a.row.0, Binding::Row(a.record));
        let filter = a.filter.as_ref().map(|f| self.queue(f, &inner));
        let value = a.value.as_ref().map(|v| self.queue(v, &inner));
        let key = match &a.key {
            Some((field, k)) => {
                let v = self.translate(k)?;
                self.store_cell(frame, key_cell, v);
                Some((*field, v.ty))
            }
            None => None,
        };
        let index = i64::try_from(self.plan.aggregates.len()).map_err(|_| Decline::TooLarge)?;
        self.plan.aggregates.push(AggregatePlan {
            function: a.function,
            result: ty,
            record: a.record,
            key,
            key_cell,
            filter,
            value,
        });
        let index = self.b.ins().iconst(I32, index);
        let frame = self.b.ins().stack_addr(I64, frame, 0);
        let status = self.call_runtime(runtime::AGGREGATE, &[self.ctx, index, frame]);
        self.exit_unless_ok(status);
        Ok(self.load_ret(ty))
    }

    /// `today` or `now`, which the entry read from the environment.
    fn load_clock(&mut self, offset: i32, ty: Type) -> JValue {
        let flags = MemFlagsData::trusted().with_readonly();
        let bits = self.b.ins().load(I64, flags, self.ctx, offset);
        JValue {
            ty,
            null: Null::Never,
            bits,
        }
    }

    /// Queues a block; its function number.
    fn queue(&mut self, expr: &'p Expr, scope: &HashMap<u32, Binding>) -> usize {
        self.jobs.push(Job {
            expr,
            scope: scope.clone(),
            depth: self.depth,
        });
        self.jobs.len() - 1
    }
}

fn record_of(e: &Expr) -> Result<RecordId, Decline> {
    match e.ty.base {
        Type::Record(r) => Ok(r),
        _ => Err(Decline::Untyped("a record operation")),
    }
}
