//! Typing expressions: AST expressions in a scope → typed IR expressions.

use super::scope::Scope;
use super::{Checker, NameKind, Problem, TypeDecl, builtins, nulls};
use crate::ir::{self, ArithOp, CmpOp, CmpType, ExprKind as K, Literal, Num, Ty, Type};
use crate::source::Span;
use crate::syntax::ast::{self, BinaryOp};

/// An expression that already failed to check: typed `Error`, fits anywhere.
pub(crate) fn error_expr(span: Span) -> ir::Expr {
    ir::Expr::new(K::Lit(Literal::Null), Ty::ERROR, span)
}

fn lit(value: Literal, ty: Ty, span: Span) -> ir::Expr {
    ir::Expr::new(K::Lit(value), ty, span)
}

/// How two values compare once unified.
pub(crate) fn cmp_type(base: Type) -> CmpType {
    match base {
        Type::Decimal => CmpType::Decimal,
        Type::Text | Type::Any => CmpType::Text,
        _ => CmpType::Int,
    }
}

fn boxed(e: ir::Expr) -> Box<ir::Expr> {
    Box::new(e)
}

impl Checker<'_> {
    /// A condition: a `bool`. A nullable bool counts as false when null,
    /// which the checker points out (W0101).
    pub(crate) fn condition(
        &mut self,
        e: &ast::Expr,
        scope: &mut Scope,
        context: &str,
    ) -> ir::Expr {
        let typed = self.expr(e, scope);
        if typed.ty.nullable && typed.ty.base == Type::Bool {
            self.warn_nullable(e, &typed, scope, "a condition");
        }
        self.coerce(typed, Ty::nullable(Type::Bool), context, None)
    }

    pub(crate) fn expr(&mut self, e: &ast::Expr, scope: &mut Scope) -> ir::Expr {
        use ast::ExprKind as A;
        let span = e.span;
        match &e.kind {
            A::Int(v) => lit(Literal::Int(*v), Ty::INT, span),
            A::Decimal(v) => lit(Literal::Decimal(*v), Ty::DECIMAL, span),
            A::Text(v) => lit(Literal::Text(v.clone()), Ty::TEXT, span),
            A::Bool(v) => lit(Literal::Bool(*v), Ty::BOOL, span),
            A::Null => lit(Literal::Null, Ty::NULL, span),
            A::Date(d) => lit(Literal::Date(*d), Ty::DATE, span),
            // The lowering already rejected impossible datetimes (E0002).
            A::DateTime(text) => match crate::time::parse_datetime(text, self.schema.timezone) {
                Some(t) => lit(Literal::DateTime(t), Ty::DATETIME, span),
                None => error_expr(span),
            },
            A::Duration(s) => lit(Literal::Duration(*s), Ty::DURATION, span),
            A::Today => ir::Expr::new(K::Today, Ty::DATE, span),
            A::Now => ir::Expr::new(K::Now, Ty::DATETIME, span),
            A::Name(id) => self.name(id, scope),
            A::Field { base, field } => {
                let base = self.expr(base, scope);
                let mut typed = self.field(base, field, span);
                // `x is not null and …`: x is known to have a value here.
                if typed.ty.nullable && nulls::path(e).is_some_and(|p| scope.not_null.contains(&p))
                {
                    typed.ty.nullable = false;
                }
                typed
            }
            A::Old(field) => self.old(field, scope, span),
            A::EventField(key) => {
                if !scope.event {
                    self.report(Problem::OutOfContext {
                        span,
                        what: format!("`event.{}`", key.name),
                        hint: "`event.KEY` reads the payload of the event that started the run, in rules triggered by `when event …`".into(),
                    });
                    return error_expr(span);
                }
                ir::Expr::new(
                    K::EventField(key.name.clone()),
                    Ty::nullable(Type::Any),
                    span,
                )
            }
            A::Neg(inner) => {
                let inner = self.expr(inner, scope);
                match inner.ty.base {
                    Type::Int | Type::Decimal | Type::Duration | Type::Error => {
                        let ty = inner.ty;
                        ir::Expr::new(K::Neg(boxed(inner)), ty, span)
                    }
                    Type::Any => {
                        let inner = self.coerce(
                            inner,
                            Ty::nullable(Type::Decimal),
                            "a negated value",
                            None,
                        );
                        ir::Expr::new(K::Neg(boxed(inner)), Ty::nullable(Type::Decimal), span)
                    }
                    _ => {
                        let found = self.schema.type_name(inner.ty);
                        self.report(Problem::Mismatch {
                            span,
                            context: "a negated value".into(),
                            expected: "int, decimal or duration".into(),
                            found,
                            hint: None,
                        });
                        error_expr(span)
                    }
                }
            }
            A::Not(inner) => {
                let inner = self.condition(inner, scope, "the operand of `not`");
                ir::Expr::new(K::Not(boxed(inner)), Ty::BOOL, span)
            }
            A::Binary { op, left, right } => self.binary(*op, left, right, scope, span),
            A::If {
                condition,
                then,
                otherwise,
            } => {
                let c = self.condition(condition, scope, "an `if` condition");
                let then = self.narrowed(condition, true, then, scope);
                let otherwise = self.narrowed(condition, false, otherwise, scope);
                let nullable = then.ty.nullable || otherwise.ty.nullable;
                let (then, otherwise, base) = self.unify(then, otherwise, "if … then … else", span);
                ir::Expr::new(
                    K::If {
                        condition: boxed(c),
                        then: boxed(then),
                        otherwise: boxed(otherwise),
                    },
                    Ty { base, nullable },
                    span,
                )
            }
            A::ListLit(_) => {
                self.report(Problem::Mismatch {
                    span,
                    context: "a list of values".into(),
                    expected: "used after `in`".into(),
                    found: "a list".into(),
                    hint: Some("`[a, b]` can only follow `in` or `not in`".into()),
                });
                error_expr(span)
            }
            A::Between {
                value,
                low,
                high,
                negated,
            } => {
                let v = self.expr(value, scope);
                if *negated {
                    self.warn_nullable(value, &v, scope, "`not between`");
                }
                let l = self.expr(low, scope);
                let h = self.expr(high, scope);
                let (v, l, _) = self.unify(v, l, "between", span);
                let (v, h, base) = self.unify(v, h, "between", span);
                let (v, l) = if base == Type::Decimal && l.ty.base != Type::Decimal {
                    // `int between decimal and …`: every side must share the type.
                    let l = self.coerce(l, Ty::nullable(base), "a bound", None);
                    (v, l)
                } else {
                    (v, l)
                };
                ir::Expr::new(
                    K::Between {
                        value: boxed(v),
                        low: boxed(l),
                        high: boxed(h),
                        ty: cmp_type(base),
                        negated: *negated,
                    },
                    Ty::BOOL,
                    span,
                )
            }
            A::In {
                value,
                set,
                negated,
            } => self.in_values(value, set, *negated, scope, span),
            A::InList {
                value,
                list,
                negated,
            } => {
                let v = self.expr(value, scope);
                let Some(id) = self.names.lists.get(&list.name).copied() else {
                    let candidates = self.names.lists.keys().cloned().collect();
                    self.unknown(list.span, NameKind::List, &list.name, candidates, None);
                    return error_expr(span);
                };
                let of = self.schema.lists[id.index()].of;
                let declared = self.schema.lists[id.index()].span;
                self.member_of(&v, "list", &list.name, of, declared);
                ir::Expr::new(
                    K::InList {
                        value: boxed(v),
                        list: id,
                        negated: *negated,
                    },
                    Ty::BOOL,
                    span,
                )
            }
            A::InSegment {
                value,
                segment,
                negated,
            } => {
                let v = self.expr(value, scope);
                let Some(id) = self.names.segments.get(&segment.name).copied() else {
                    let candidates = self.names.segments.keys().cloned().collect();
                    self.unknown(
                        segment.span,
                        NameKind::Segment,
                        &segment.name,
                        candidates,
                        None,
                    );
                    return error_expr(span);
                };
                let of = self.schema.segments[id.index()].of;
                let declared = self.schema.segments[id.index()].span;
                self.member_of(&v, "segment", &segment.name, of, declared);
                ir::Expr::new(
                    K::InSegment {
                        value: boxed(v),
                        segment: id,
                        negated: *negated,
                    },
                    Ty::BOOL,
                    span,
                )
            }
            A::Contains {
                text,
                part,
                negated,
            } => {
                let t = self.expr(text, scope);
                if *negated {
                    self.warn_nullable(text, &t, scope, "`not contains`");
                }
                let t = self.coerce(
                    t,
                    Ty::nullable(Type::Text),
                    "the left side of `contains`",
                    None,
                );
                let p = self.expr(part, scope);
                let p = self.coerce(
                    p,
                    Ty::nullable(Type::Text),
                    "the right side of `contains`",
                    None,
                );
                ir::Expr::new(
                    K::Contains {
                        text: boxed(t),
                        part: boxed(p),
                        negated: *negated,
                    },
                    Ty::BOOL,
                    span,
                )
            }
            A::StartsWith { text, prefix } => {
                let t = self.expr(text, scope);
                let t = self.coerce(
                    t,
                    Ty::nullable(Type::Text),
                    "the left side of `starts with`",
                    None,
                );
                let p = self.expr(prefix, scope);
                let p = self.coerce(
                    p,
                    Ty::nullable(Type::Text),
                    "the right side of `starts with`",
                    None,
                );
                ir::Expr::new(
                    K::StartsWith {
                        text: boxed(t),
                        prefix: boxed(p),
                    },
                    Ty::BOOL,
                    span,
                )
            }
            A::IsNull { value, negated } => {
                let v = self.expr(value, scope);
                ir::Expr::new(
                    K::IsNull {
                        value: boxed(v),
                        negated: *negated,
                    },
                    Ty::BOOL,
                    span,
                )
            }
            A::HasTag { value, tag } => {
                let v = self.expr(value, scope);
                self.expect_record(&v, "the value before `has tag`");
                let t = self.expr(tag, scope);
                let t = self.coerce(t, Ty::TEXT, "a tag", None);
                ir::Expr::new(
                    K::HasTag {
                        value: boxed(v),
                        tag: boxed(t),
                    },
                    Ty::BOOL,
                    span,
                )
            }
            A::Opened { record, template } | A::Clicked { record, template } => {
                let clicked = matches!(e.kind, A::Clicked { .. });
                let r = self.expr(record, scope);
                self.expect_record(&r, "the value before `opened`/`clicked`");
                let Some(id) = self.template_named(template) else {
                    return error_expr(span);
                };
                ir::Expr::new(
                    K::Engaged {
                        record: boxed(r),
                        template: id,
                        clicked,
                    },
                    Ty::BOOL,
                    span,
                )
            }
            A::Call { function, args } => self.call(function, args, scope, span),
            A::Lookup {
                record,
                field,
                value,
            } => self.lookup(record, field, value, scope, span),
            A::Aggregate {
                function,
                value,
                condition,
            } => super::aggregate::aggregate(self, function, value, condition, scope, span),
        }
    }

    /// Checks `e` with the facts `guard` proves when it is `when`.
    fn narrowed(
        &mut self,
        guard: &ast::Expr,
        when: bool,
        e: &ast::Expr,
        scope: &mut Scope,
    ) -> ir::Expr {
        let facts = nulls::facts(guard, when);
        let before = scope.not_null.len();
        scope.not_null.extend(facts);
        let typed = self.expr(e, scope);
        scope.not_null.truncate(before);
        typed
    }

    pub(crate) fn template_named(&mut self, name: &ast::Ident) -> Option<ir::TemplateId> {
        let id = self.names.templates.get(&name.name).copied();
        if id.is_none() {
            let candidates = self.names.templates.keys().cloned().collect();
            self.unknown(name.span, NameKind::Template, &name.name, candidates, None);
        }
        id
    }

    fn name(&mut self, id: &ast::Ident, scope: &Scope) -> ir::Expr {
        if let Some(var) = scope.lookup(&id.name) {
            return ir::Expr::new(K::Var(var.id), var.ty, id.span);
        }
        let hint = self.name_hint(&id.name, scope);
        self.unknown(id.span, NameKind::Variable, &id.name, scope.names(), hint);
        error_expr(id.span)
    }

    /// Explains a name that is not in scope but means something elsewhere.
    fn name_hint(&self, name: &str, scope: &Scope) -> Option<String> {
        let subject = scope.subject().map(|r| self.schema.record(r));
        if let Some(TypeDecl::Record(target)) = self.names.types.get(name) {
            let subject = subject?;
            let via: Vec<String> = subject
                .fields
                .iter()
                .filter(|f| f.ty.base == Type::Record(*target))
                .map(|f| format!("`{}.{}`", subject.name, f.name))
                .collect();
            return Some(if via.is_empty() {
                format!(
                    "this runs for `{}`, which has no reference to a `{name}`",
                    subject.name
                )
            } else {
                format!(
                    "this runs for `{}`; reach the `{name}` through {}",
                    subject.name,
                    via.join(" or ")
                )
            });
        }
        if let Some(subject) = subject
            && subject.field_named(name).is_some()
        {
            return Some(format!(
                "fields are read through their record: `{}.{name}`",
                subject.name
            ));
        }
        if self.names.lists.contains_key(name) {
            return Some(format!("to test membership, write `RECORD in list {name}`"));
        }
        if self.names.segments.contains_key(name) {
            return Some(format!(
                "to test membership, write `RECORD in segment {name}`"
            ));
        }
        None
    }

    pub(crate) fn field(&mut self, base: ir::Expr, field: &ast::Ident, span: Span) -> ir::Expr {
        let record = match base.ty.base {
            Type::Record(r) => r,
            Type::Error => return error_expr(span),
            _ => {
                let found = self.schema.type_name(base.ty);
                let hint = super::builtins::NAMES
                    .contains(&field.name.as_str())
                    .then(|| {
                        format!(
                            "`{0}` is a function: write `{0}(…)` around the value",
                            field.name
                        )
                    });
                self.report(Problem::NotARecord {
                    span: field.span,
                    found,
                    field: field.name.clone(),
                    hint,
                });
                return error_expr(span);
            }
        };
        if field.name == "id" {
            let ty = Ty {
                base: Type::Int,
                nullable: base.ty.nullable,
            };
            return ir::Expr::new(K::Cast(boxed(base)), ty, span);
        }
        let def = self.schema.record(record);
        let Some(fid) = def.field_named(&field.name) else {
            let fields: Vec<String> = def.fields.iter().map(|f| f.name.clone()).collect();
            let suggestion =
                crate::suggest::closest(&field.name, fields.iter().map(String::as_str))
                    .map(str::to_string);
            self.report(Problem::UnknownField {
                span: field.span,
                record: def.name.clone(),
                field: field.name.clone(),
                suggestion,
                fields,
            });
            return error_expr(span);
        };
        let fty = def.fields[fid.index()].ty;
        let ty = fty.with_nullable(fty.nullable || base.ty.nullable);
        ir::Expr::new(
            K::Field {
                base: boxed(base),
                record,
                field: fid,
            },
            ty,
            span,
        )
    }

    fn old(&mut self, field: &ast::Ident, scope: &Scope, span: Span) -> ir::Expr {
        let Some(record) = scope.old else {
            self.report(Problem::OutOfContext {
                span,
                what: format!("`old.{}`", field.name),
                hint: "`old.FIELD` is the value before the change, in rules triggered by `when R.f changes` or `when R is updated`".into(),
            });
            return error_expr(span);
        };
        let subject = ir::Expr::new(K::Var(ir::VarId(0)), Ty::new(Type::Record(record)), span);
        match self.field(subject, field, span) {
            ir::Expr {
                kind: K::Field { record, field, .. },
                ty,
                ..
            } => ir::Expr::new(K::Old { record, field }, ty, span),
            other => other,
        }
    }

    fn expect_record(&mut self, e: &ir::Expr, context: &str) -> Option<ir::RecordId> {
        match e.ty.base {
            Type::Record(r) => Some(r),
            Type::Error => None,
            _ => {
                let found = self.schema.type_name(e.ty);
                self.report(Problem::Mismatch {
                    span: e.span,
                    context: context.to_string(),
                    expected: "a record".into(),
                    found,
                    hint: None,
                });
                None
            }
        }
    }

    /// Checks that `value` is a record of the list's (or segment's) type.
    fn member_of(
        &mut self,
        value: &ir::Expr,
        what: &'static str,
        name: &str,
        of: ir::RecordId,
        declared: Span,
    ) {
        let Some(found) = self.expect_record(value, &format!("a member of a {what}")) else {
            return;
        };
        if found != of && of.0 != u32::MAX {
            self.report(Problem::WrongListRecord {
                span: value.span,
                what,
                list: name.to_string(),
                list_record: self.schema.record(of).name.clone(),
                found: self.schema.record(found).name.clone(),
                declared,
            });
        }
    }

    pub(crate) fn list_member(
        &mut self,
        value: &ir::Expr,
        list: &ast::Ident,
    ) -> Option<ir::ListId> {
        let Some(id) = self.names.lists.get(&list.name).copied() else {
            let candidates = self.names.lists.keys().cloned().collect();
            self.unknown(list.span, NameKind::List, &list.name, candidates, None);
            return None;
        };
        let of = self.schema.lists[id.index()].of;
        let declared = self.schema.lists[id.index()].span;
        self.member_of(value, "list", &list.name, of, declared);
        Some(id)
    }

    fn binary(
        &mut self,
        op: BinaryOp,
        left: &ast::Expr,
        right: &ast::Expr,
        scope: &mut Scope,
        span: Span,
    ) -> ir::Expr {
        match op {
            BinaryOp::And | BinaryOp::Or => {
                let l = self.condition(left, scope, &format!("the left side of `{}`", op.symbol()));
                let facts = nulls::facts(left, op == BinaryOp::And);
                let before = scope.not_null.len();
                scope.not_null.extend(facts);
                let r = self.condition(
                    right,
                    scope,
                    &format!("the right side of `{}`", op.symbol()),
                );
                scope.not_null.truncate(before);
                let kind = if op == BinaryOp::And {
                    K::And(boxed(l), boxed(r))
                } else {
                    K::Or(boxed(l), boxed(r))
                };
                ir::Expr::new(kind, Ty::BOOL, span)
            }
            _ if op.is_comparison() => self.compare(op, left, right, scope, span),
            _ => {
                let l = self.expr(left, scope);
                let r = self.expr(right, scope);
                self.arith(op, l, r, span)
            }
        }
    }

    fn compare(
        &mut self,
        op: BinaryOp,
        left: &ast::Expr,
        right: &ast::Expr,
        scope: &mut Scope,
        span: Span,
    ) -> ir::Expr {
        let l = self.expr(left, scope);
        let r = self.expr(right, scope);
        if l.ty.base == Type::Null || r.ty.base == Type::Null {
            self.report(Problem::CompareWithNull {
                span,
                op: op.symbol(),
            });
            return error_expr(span);
        }
        if op == BinaryOp::Ne {
            self.warn_nullable(left, &l, scope, "`!=`");
            self.warn_nullable(right, &r, scope, "`!=`");
        }
        let (l, r, base) = self.unify(l, r, op.symbol(), span);
        let ordered = !matches!(op, BinaryOp::Eq | BinaryOp::Ne);
        if ordered && matches!(base, Type::Bool | Type::Record(_)) {
            let t = self.schema.type_name(Ty::new(base));
            self.report(Problem::OperandMismatch {
                span,
                op: op.symbol().into(),
                left: t.clone(),
                right: t,
                hint: Some("only numbers, text, dates, durations and enums are ordered".into()),
            });
            return error_expr(span);
        }
        let cmp = match op {
            BinaryOp::Eq => CmpOp::Eq,
            BinaryOp::Ne => CmpOp::Ne,
            BinaryOp::Lt => CmpOp::Lt,
            BinaryOp::Le => CmpOp::Le,
            BinaryOp::Gt => CmpOp::Gt,
            _ => CmpOp::Ge,
        };
        ir::Expr::new(
            K::Compare {
                op: cmp,
                ty: cmp_type(base),
                left: boxed(l),
                right: boxed(r),
            },
            Ty::BOOL,
            span,
        )
    }

    fn in_values(
        &mut self,
        value: &ast::Expr,
        set: &ast::Expr,
        negated: bool,
        scope: &mut Scope,
        span: Span,
    ) -> ir::Expr {
        let mut v = self.expr(value, scope);
        if negated {
            self.warn_nullable(value, &v, scope, "`not in`");
        }
        let ast::ExprKind::ListLit(items) = &set.kind else {
            let s = self.expr(set, scope);
            let found = self.schema.type_name(s.ty);
            self.report(Problem::Mismatch {
                span: set.span,
                context: "the right side of `in`".into(),
                expected: "a list of values like [\"a\", \"b\"]".into(),
                found,
                hint: Some(
                    "for a static list write `in list NAME`, for a segment `in segment NAME`"
                        .into(),
                ),
            });
            return error_expr(span);
        };
        let mut typed = Vec::with_capacity(items.len());
        let mut base = v.ty.base;
        for item in items {
            let i = self.expr(item, scope);
            let (nv, ni, b) = self.unify(v, i, "in", item.span);
            v = nv;
            base = b;
            typed.push(ni);
        }
        // An int value among decimals: every item must share the final type.
        let typed = typed
            .into_iter()
            .map(|i| {
                if i.ty.base != base && base == Type::Decimal {
                    self.coerce(i, Ty::nullable(base), "a list item", None)
                } else {
                    i
                }
            })
            .collect();
        ir::Expr::new(
            K::In {
                value: boxed(v),
                items: typed,
                ty: cmp_type(base),
                negated,
            },
            Ty::BOOL,
            span,
        )
    }

    /// Types arithmetic; reports E0201 with a hint for common mistakes.
    fn arith(&mut self, op: BinaryOp, l: ir::Expr, r: ir::Expr, span: Span) -> ir::Expr {
        use Type::*;
        let nullable = l.ty.nullable || r.ty.nullable;
        if l.ty.is_error() || r.ty.is_error() {
            return error_expr(span);
        }
        // Event payload values take the other side's type (or a number).
        let (l, r) = match (l.ty.base, r.ty.base) {
            (Any, Any) => {
                let l = self.coerce(l, Ty::nullable(Decimal), "an event value", None);
                let r = self.coerce(r, Ty::nullable(Decimal), "an event value", None);
                (l, r)
            }
            (Any, Int) | (Int, Any) => {
                let l = self.coerce(l, Ty::nullable(Decimal), "an event value", None);
                let r = self.coerce(r, Ty::nullable(Decimal), "an event value", None);
                (l, r)
            }
            (Any, t) => (self.coerce(l, Ty::nullable(t), "an event value", None), r),
            (t, Any) => {
                let r = self.coerce(r, Ty::nullable(t), "an event value", None);
                (l, r)
            }
            _ => (l, r),
        };
        let (lb, rb) = (l.ty.base, r.ty.base);
        let (op_ir, ret, l, r) = match (op, lb, rb) {
            (BinaryOp::Add | BinaryOp::Sub | BinaryOp::Mul, Int, Int) => {
                (num_op(op, Num::Int), Int, l, r)
            }
            (BinaryOp::Add | BinaryOp::Sub | BinaryOp::Mul, Int | Decimal, Int | Decimal) => {
                let l = self.coerce(l, Ty::nullable(Decimal), "a number", None);
                let r = self.coerce(r, Ty::nullable(Decimal), "a number", None);
                (num_op(op, Num::Decimal), Decimal, l, r)
            }
            (BinaryOp::Div, Int | Decimal, Int | Decimal) => {
                let l = self.coerce(l, Ty::nullable(Decimal), "a number", None);
                let r = self.coerce(r, Ty::nullable(Decimal), "a number", None);
                (ArithOp::Div, Decimal, l, r)
            }
            (BinaryOp::Rem, Int, Int) => (ArithOp::Rem, Int, l, r),
            (BinaryOp::Add, Text, Text) => (ArithOp::Concat, Text, l, r),
            (BinaryOp::Add, Date, Duration) => (ArithOp::DateAdd, Date, l, r),
            (BinaryOp::Add, Duration, Date) => (ArithOp::DateAdd, Date, r, l),
            (BinaryOp::Sub, Date, Duration) => (ArithOp::DateSub, Date, l, r),
            (BinaryOp::Sub, Date, Date) => (ArithOp::DateDiff, Int, l, r),
            (BinaryOp::Add, DateTime, Duration) => (ArithOp::DateTimeAdd, DateTime, l, r),
            (BinaryOp::Add, Duration, DateTime) => (ArithOp::DateTimeAdd, DateTime, r, l),
            (BinaryOp::Sub, DateTime, Duration) => (ArithOp::DateTimeSub, DateTime, l, r),
            (BinaryOp::Sub, DateTime, DateTime) => (ArithOp::DateTimeDiff, Duration, l, r),
            (BinaryOp::Add, Duration, Duration) => (ArithOp::DurationAdd, Duration, l, r),
            (BinaryOp::Sub, Duration, Duration) => (ArithOp::DurationSub, Duration, l, r),
            (BinaryOp::Mul, Duration, Int) => (ArithOp::DurationMul, Duration, l, r),
            (BinaryOp::Mul, Int, Duration) => (ArithOp::DurationMul, Duration, r, l),
            _ => {
                let hint = arith_hint(op, lb, rb);
                self.report(Problem::OperandMismatch {
                    span,
                    op: op.symbol().into(),
                    left: self.schema.type_name(l.ty.with_nullable(false)),
                    right: self.schema.type_name(r.ty.with_nullable(false)),
                    hint,
                });
                return error_expr(span);
            }
        };
        ir::Expr::new(
            K::Arith {
                op: op_ir,
                left: boxed(l),
                right: boxed(r),
            },
            Ty {
                base: ret,
                nullable,
            },
            span,
        )
    }

    /// Makes two values comparable: returns both (converted where needed)
    /// and their common type, or reports E0201 and returns `Error`.
    pub(crate) fn unify(
        &mut self,
        a: ir::Expr,
        b: ir::Expr,
        op: &str,
        span: Span,
    ) -> (ir::Expr, ir::Expr, Type) {
        use Type::*;
        match (a.ty.base, b.ty.base) {
            (Error, _) | (_, Error) => (a, b, Error),
            (x, y) if x == y && x != Any => (a, b, x),
            // An event number may have a fraction: compare as decimals.
            (Any, Int) | (Int, Any) => {
                let a = self.coerce(a, Ty::nullable(Decimal), "a number", None);
                let b = self.coerce(b, Ty::nullable(Decimal), "a number", None);
                (a, b, Decimal)
            }
            (Null, t) | (Any, t) if t != Any && t != Null => {
                let a = self.coerce(a, Ty::nullable(t), "a value", None);
                (a, b, t)
            }
            (t, Null) | (t, Any) if t != Any && t != Null => {
                let b = self.coerce(b, Ty::nullable(t), "a value", None);
                (a, b, t)
            }
            (Any | Null, Any | Null) => {
                let a = self.coerce(a, Ty::nullable(Text), "a value", None);
                let b = self.coerce(b, Ty::nullable(Text), "a value", None);
                (a, b, Text)
            }
            (Int, Decimal) | (Decimal, Int) => {
                let a = self.coerce(a, Ty::nullable(Decimal), "a number", None);
                let b = self.coerce(b, Ty::nullable(Decimal), "a number", None);
                (a, b, Decimal)
            }
            (Enum(e), Text) if is_text_literal(&b) => {
                let b = self.enum_literal(b, e);
                (a, b, Enum(e))
            }
            (Text, Enum(e)) if is_text_literal(&a) => {
                let a = self.enum_literal(a, e);
                (a, b, Enum(e))
            }
            (x, y) => {
                let hint = compare_hint(x, y);
                self.report(Problem::OperandMismatch {
                    span,
                    op: op.to_string(),
                    left: self.schema.type_name(Ty::new(x)),
                    right: self.schema.type_name(Ty::new(y)),
                    hint,
                });
                (a, b, Error)
            }
        }
    }

    /// Converts `e` to `expected`, or reports E0203. `context` names the
    /// place that needs the type ("the `to` value").
    pub(crate) fn coerce(
        &mut self,
        e: ir::Expr,
        expected: Ty,
        context: &str,
        hint: Option<String>,
    ) -> ir::Expr {
        use Type::*;
        let span = e.span;
        let fits_null = e.ty.nullable && !expected.nullable;
        let found_ty = e.ty;
        let was_literal = matches!(e.kind, K::Lit(_));
        let converted = match (e.ty.base, expected.base) {
            (Error, _) | (_, Error) => return e,
            (Null, _) if expected.nullable => {
                return ir::Expr::new(e.kind, expected, span);
            }
            (x, y) if x == y => Some(e),
            (Any, t) if t != Null => Some(ir::Expr::new(K::Cast(boxed(e)), Ty::nullable(t), span)),
            (Int, Decimal) => {
                let ty = Ty {
                    base: Decimal,
                    nullable: e.ty.nullable,
                };
                Some(ir::Expr::new(K::Cast(boxed(e)), ty, span))
            }
            (Text, Enum(id)) if is_text_literal(&e) => Some(self.enum_literal(e, id)),
            _ => None,
        };
        match converted {
            Some(c) if !fits_null || c.ty.is_error() => c,
            Some(c) => {
                let found = self.schema.type_name(c.ty);
                self.report(Problem::Mismatch {
                    span,
                    context: context.to_string(),
                    expected: self.schema.type_name(expected),
                    found,
                    hint: hint.or(Some(
                        "this may be null; give a fallback with `coalesce(VALUE, FALLBACK)`".into(),
                    )),
                });
                error_expr(span)
            }
            None => {
                let found = self.schema.type_name(found_ty);
                let hint = hint.or_else(|| coerce_hint(found_ty.base, expected.base, was_literal));
                self.report(Problem::Mismatch {
                    span,
                    context: context.to_string(),
                    expected: self.schema.type_name(expected.with_nullable(false)),
                    found,
                    hint,
                });
                error_expr(span)
            }
        }
    }

    /// A text literal used as an enum value: its index, or E0106.
    fn enum_literal(&mut self, e: ir::Expr, id: ir::EnumId) -> ir::Expr {
        let K::Lit(Literal::Text(text)) = &e.kind else {
            return e;
        };
        let def = self.schema.enum_def(id);
        match def.values.iter().position(|v| v == text) {
            Some(i) => lit(Literal::Enum(id, i as u32), Ty::new(Type::Enum(id)), e.span),
            None => {
                let suggestion =
                    crate::suggest::closest(text, def.values.iter().map(String::as_str))
                        .map(str::to_string);
                self.report(Problem::UnknownEnumValue {
                    span: e.span,
                    enum_name: def.name.clone(),
                    value: text.clone(),
                    suggestion,
                    values: def.values.clone(),
                });
                error_expr(e.span)
            }
        }
    }

    /// W0101 when a nullable path is used where null cannot be meant: a
    /// negative test (`!=`, `not in`, …) that null makes false, which reads
    /// as true to most people, or a nullable bool used as a condition.
    pub(crate) fn warn_nullable(
        &mut self,
        e: &ast::Expr,
        typed: &ir::Expr,
        scope: &Scope,
        op: &str,
    ) {
        if !typed.ty.nullable || matches!(typed.ty.base, Type::Null | Type::Error | Type::Any) {
            return;
        }
        let Some(path) = nulls::path(e) else {
            return;
        };
        if scope.not_null.contains(&path) {
            return;
        }
        self.report(Problem::MaybeNull {
            span: e.span,
            what: path,
            op: op.to_string(),
        });
    }

    fn call(
        &mut self,
        function: &ast::Ident,
        args: &[ast::Expr],
        scope: &mut Scope,
        span: Span,
    ) -> ir::Expr {
        let typed: Vec<ir::Expr> = args.iter().map(|a| self.expr(a, scope)).collect();
        if let Some(&id) = self.names.functions.get(&function.name) {
            let sig = self.fns[id.index()].clone();
            if sig.params.len() != typed.len() {
                self.report(Problem::ArgumentCount {
                    span,
                    function: function.name.clone(),
                    expected: sig.params.len(),
                    found: typed.len(),
                });
                return error_expr(span);
            }
            // Functions are strict: a null where a value is needed gives null.
            let mut nullable = sig.ret.nullable;
            let args = typed
                .into_iter()
                .zip(&sig.params)
                .map(|(arg, (pname, pty))| {
                    nullable |= arg.ty.nullable && !pty.nullable;
                    let context = format!("the argument `{pname}` of `{}`", function.name);
                    self.coerce(arg, pty.with_nullable(true), &context, None)
                })
                .collect();
            return ir::Expr::new(
                K::CallFn { function: id, args },
                sig.ret.with_nullable(nullable),
                span,
            );
        }
        if let Some(e) = builtins::call(self, &function.name, typed, span) {
            return e;
        }
        let mut candidates: Vec<String> = self.names.functions.keys().cloned().collect();
        candidates.extend(builtins::NAMES.iter().map(|s| s.to_string()));
        candidates.extend(["sum", "count", "avg"].map(String::from));
        let hint = if matches!(
            self.names.types.get(&function.name),
            Some(TypeDecl::Record(_))
        ) {
            Some(format!(
                "to look a row up, name the field: `{}(email: \"…\")`",
                function.name
            ))
        } else if ["sum", "count", "avg"].contains(&function.name.as_str()) {
            Some(format!(
                "an aggregate names its rows: `{}(line_item.price for line_item.order == order)`",
                function.name
            ))
        } else {
            None
        };
        self.unknown(
            function.span,
            NameKind::Function,
            &function.name,
            candidates,
            hint,
        );
        error_expr(span)
    }

    fn lookup(
        &mut self,
        record: &ast::Ident,
        field: &ast::Ident,
        value: &ast::Expr,
        scope: &mut Scope,
        span: Span,
    ) -> ir::Expr {
        let v = self.expr(value, scope);
        let Some(rid) = super::declare::record_named(self, record) else {
            return error_expr(span);
        };
        let row = ir::Expr::new(
            K::Lit(Literal::Null),
            Ty::new(Type::Record(rid)),
            record.span,
        );
        let K::Field { field: fid, .. } = self.field(row, field, field.span).kind else {
            return error_expr(span);
        };
        let fty = self.schema.field(rid, fid).ty;
        let v = self.coerce(
            v,
            fty.with_nullable(true),
            &format!("the value looked up in `{}.{}`", record.name, field.name),
            None,
        );
        ir::Expr::new(
            K::Lookup {
                record: rid,
                field: fid,
                value: boxed(v),
            },
            Ty::new(Type::Record(rid)),
            span,
        )
    }
}

fn is_text_literal(e: &ir::Expr) -> bool {
    matches!(e.kind, K::Lit(Literal::Text(_)))
}

fn num_op(op: BinaryOp, num: Num) -> ArithOp {
    match op {
        BinaryOp::Add => ArithOp::Add(num),
        BinaryOp::Sub => ArithOp::Sub(num),
        _ => ArithOp::Mul(num),
    }
}

fn arith_hint(op: BinaryOp, l: Type, r: Type) -> Option<String> {
    use Type::*;
    Some(match (op, l, r) {
        (_, Date, Int) | (_, Int, Date) => {
            "add days to a date as a duration: `d + 7d`, or `d + n * 1d`".into()
        }
        (_, Date, DateTime) | (_, DateTime, Date) => "convert with `date(datetime)` first".into(),
        (BinaryOp::Add, Text, _) | (BinaryOp::Add, _, Text) => {
            "convert the other side with `text(…)` first".into()
        }
        (BinaryOp::Rem, _, _) => "`%` works on ints; for decimals use `floor`".into(),
        _ => return None,
    })
}

fn compare_hint(l: Type, r: Type) -> Option<String> {
    use Type::*;
    Some(match (l, r) {
        (Date, DateTime) | (DateTime, Date) => "compare like with like: `date(t) == d`".into(),
        (Enum(_), Text) | (Text, Enum(_)) => {
            "an enum compares with one of its values written literally, like `\"受注\"`".into()
        }
        (Record(_), Int) | (Int, Record(_)) => "compare a reference's id with `.id`".into(),
        (Date, Text) | (Text, Date) => "write dates without quotes: `2025-04-01`".into(),
        (Int | Decimal, Text) | (Text, Int | Decimal) => "write numbers without quotes".into(),
        _ => return None,
    })
}

fn coerce_hint(found: Type, expected: Type, literal: bool) -> Option<String> {
    use Type::*;
    Some(match (found, expected) {
        (Text, Enum(_)) => "an enum value must be written literally, like `\"受注\"`".into(),
        (Int, Duration) => "write a duration with its unit: `7d`, `3h`, or `n * 1d`".into(),
        (Text, Date) if literal => "write dates without quotes: `2025-04-01`".into(),
        (Decimal, Int) => "round it explicitly: `round(x)`, `floor(x)` or `ceil(x)`".into(),
        (DateTime, Date) => "convert with `date(…)`".into(),
        _ => return None,
    })
}
