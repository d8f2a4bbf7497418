//! Typing operators: comparisons, `in`, arithmetic, and the conversions
//! between types they need (`unify`, `coerce`).

use super::expr::{boxed, cmp_type, lit};
use super::scope::Scope;
use super::{Checker, Problem, error_expr, nulls};
use crate::ir::{self, ArithOp, CmpOp, ExprKind as K, Literal, Num, Ty, Type};
use flowc_syntax::source::Span;
use flowc_syntax::syntax::ast::{self, BinaryOp};

impl Checker<'_> {
    pub(super) fn binary(
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
                if let Some(shifted) = self.months_arith(op, left, right, scope, span) {
                    return shifted;
                }
                let l = self.expr(left, scope);
                let r = self.expr(right, scope);
                self.arith(op, l, r, span)
            }
        }
    }

    pub(super) fn compare(
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

    pub(super) fn in_values(
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
    pub(super) fn arith(&mut self, op: BinaryOp, l: ir::Expr, r: ir::Expr, span: Span) -> ir::Expr {
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
            (BinaryOp::Add, Date, Duration) if !self.whole_days(&r) => return error_expr(span),
            (BinaryOp::Add, Duration, Date) if !self.whole_days(&l) => return error_expr(span),
            (BinaryOp::Sub, Date, Duration) if !self.whole_days(&r) => return error_expr(span),
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
    pub(super) fn enum_literal(&mut self, e: ir::Expr, id: ir::EnumId) -> ir::Expr {
        let K::Lit(Literal::Text(text)) = &e.kind else {
            return e;
        };
        let def = self.schema.enum_def(id);
        match def.values.iter().position(|v| v == text) {
            Some(i) => lit(Literal::Enum(id, i as u32), Ty::new(Type::Enum(id)), e.span),
            None => {
                let suggestion =
                    flowc_syntax::suggest::closest(text, def.values.iter().map(String::as_str))
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
