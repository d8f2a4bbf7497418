//! The Rust primitives under the standard library: their names and types.
//!
//! Every primitive is strict: if an argument is null where the primitive
//! needs a value, the result is null (and the result type nullable). The
//! only exception is `coalesce`, whose job is nulls.

use super::{Checker, Problem, error_expr};
use crate::ir::{self, Builtin, Ty, Type};
use flowc_syntax::source::Span;

/// Names of the primitives, for "did you mean" and for docs.
pub(crate) const NAMES: &[&str] = &[
    "weekday",
    "year",
    "month",
    "day",
    "date",
    "days",
    "hours",
    "minutes",
    "div",
    "abs",
    "round",
    "floor",
    "ceil",
    "lower",
    "upper",
    "trim",
    "length",
    "text_after",
    "text_before",
    "text",
    "coalesce",
    "min",
    "max",
    "add_months",
];

/// What one parameter accepts.
#[derive(Clone, Copy)]
enum Param {
    Exactly(Type),
    /// int or decimal (ints are converted where the result is decimal)
    Number,
}

/// Types a primitive call; `None` if `name` is not a primitive.
pub(crate) fn call(
    cx: &mut Checker,
    name: &str,
    args: Vec<ir::Expr>,
    span: Span,
) -> Option<ir::Expr> {
    use Type::*;
    let (builtin, params, ret): (Builtin, &[Param], Type) = match name {
        "weekday" => (Builtin::Weekday, &[Param::Exactly(Date)], Int),
        "year" => (Builtin::Year, &[Param::Exactly(Date)], Int),
        "month" => (Builtin::Month, &[Param::Exactly(Date)], Int),
        "day" => (Builtin::Day, &[Param::Exactly(Date)], Int),
        "date" => (Builtin::DateOf, &[Param::Exactly(DateTime)], Date),
        "days" => (Builtin::Days, &[Param::Exactly(Duration)], Int),
        "hours" => (Builtin::Hours, &[Param::Exactly(Duration)], Int),
        "minutes" => (Builtin::Minutes, &[Param::Exactly(Duration)], Int),
        "div" => (
            Builtin::Div,
            &[Param::Exactly(Int), Param::Exactly(Int)],
            Int,
        ),
        "round" => (Builtin::Round, &[Param::Number], Int),
        "floor" => (Builtin::Floor, &[Param::Number], Int),
        "ceil" => (Builtin::Ceil, &[Param::Number], Int),
        "lower" => (Builtin::Lower, &[Param::Exactly(Text)], Text),
        "upper" => (Builtin::Upper, &[Param::Exactly(Text)], Text),
        "trim" => (Builtin::Trim, &[Param::Exactly(Text)], Text),
        "length" => (Builtin::Length, &[Param::Exactly(Text)], Int),
        "text_after" => (
            Builtin::After,
            &[Param::Exactly(Text), Param::Exactly(Text)],
            Text,
        ),
        "text_before" => (
            Builtin::Before,
            &[Param::Exactly(Text), Param::Exactly(Text)],
            Text,
        ),
        "abs" => return Some(abs(cx, args, span)),
        "text" => return Some(to_text(cx, args, span)),
        "coalesce" => return Some(coalesce(cx, args, span)),
        "min" | "max" => return Some(min_max(cx, name, args, span)),
        "add_months" => return Some(add_months(cx, args, span)),
        _ => return None,
    };
    if !arity(cx, name, params.len(), args.len(), span) {
        return Some(error_expr(span));
    }
    let mut nullable = false;
    let mut typed = Vec::with_capacity(args.len());
    for (arg, param) in args.into_iter().zip(params) {
        nullable |= arg.ty.nullable;
        let context = format!("the argument of `{name}`");
        let arg = match param {
            Param::Exactly(t) => cx.coerce(arg, Ty::nullable(*t), &context, None),
            Param::Number => cx.coerce(arg, Ty::nullable(Decimal), &context, None),
        };
        typed.push(arg);
    }
    Some(ir::Expr::new(
        ir::ExprKind::Call {
            function: builtin,
            args: typed,
        },
        Ty {
            base: ret,
            nullable,
        },
        span,
    ))
}

fn arity(cx: &mut Checker, name: &str, expected: usize, found: usize, span: Span) -> bool {
    if expected == found {
        return true;
    }
    cx.report(Problem::ArgumentCount {
        span,
        function: name.to_string(),
        expected,
        found,
    });
    false
}

fn abs(cx: &mut Checker, args: Vec<ir::Expr>, span: Span) -> ir::Expr {
    if !arity(cx, "abs", 1, args.len(), span) {
        return error_expr(span);
    }
    let mut args = args;
    let arg = args.remove(0);
    let (function, base) = match arg.ty.base {
        Type::Int => (Builtin::AbsInt, Type::Int),
        Type::Error => return error_expr(span),
        _ => (Builtin::AbsDecimal, Type::Decimal),
    };
    let arg = cx.coerce(arg, Ty::nullable(base), "the argument of `abs`", None);
    let ty = Ty {
        base,
        nullable: arg.ty.nullable,
    };
    ir::Expr::new(
        ir::ExprKind::Call {
            function,
            args: vec![arg],
        },
        ty,
        span,
    )
}

fn to_text(cx: &mut Checker, args: Vec<ir::Expr>, span: Span) -> ir::Expr {
    if !arity(cx, "text", 1, args.len(), span) {
        return error_expr(span);
    }
    let nullable = args[0].ty.nullable;
    ir::Expr::new(
        ir::ExprKind::Call {
            function: Builtin::ToText,
            args,
        },
        Ty {
            base: Type::Text,
            nullable,
        },
        span,
    )
}

fn coalesce(cx: &mut Checker, args: Vec<ir::Expr>, span: Span) -> ir::Expr {
    if !arity(cx, "coalesce", 2, args.len(), span) {
        return error_expr(span);
    }
    let mut args = args.into_iter();
    let (Some(first), Some(second)) = (args.next(), args.next()) else {
        return error_expr(span);
    };
    let (first, second, base) = cx.unify(first, second, "coalesce", span);
    let ty = Ty {
        base,
        nullable: second.ty.nullable,
    };
    ir::Expr::new(
        ir::ExprKind::Call {
            function: Builtin::Coalesce,
            args: vec![first, second],
        },
        ty,
        span,
    )
}

fn min_max(cx: &mut Checker, name: &str, args: Vec<ir::Expr>, span: Span) -> ir::Expr {
    if !arity(cx, name, 2, args.len(), span) {
        return error_expr(span);
    }
    let mut args = args.into_iter();
    let (Some(first), Some(second)) = (args.next(), args.next()) else {
        return error_expr(span);
    };
    let nullable = first.ty.nullable || second.ty.nullable;
    let (first, second, base) = cx.unify(first, second, name, span);
    let function = if name == "min" {
        Builtin::MinOf
    } else {
        Builtin::MaxOf
    };
    ir::Expr::new(
        ir::ExprKind::Call {
            function,
            args: vec![first, second],
        },
        Ty { base, nullable },
        span,
    )
}

/// `add_months(d, n)`: a date or a datetime moved by `n` calendar months,
/// what `d + 4mo` means with a number of months computed at run time.
fn add_months(cx: &mut Checker, args: Vec<ir::Expr>, span: Span) -> ir::Expr {
    if !arity(cx, "add_months", 2, args.len(), span) {
        return error_expr(span);
    }
    let mut args = args.into_iter();
    let (Some(base), Some(months)) = (args.next(), args.next()) else {
        return error_expr(span);
    };
    let base = match base.ty.base {
        Type::Date | Type::DateTime | Type::Error => base,
        _ => cx.coerce(
            base,
            Ty::nullable(Type::Date),
            "the first argument of `add_months`",
            Some("`add_months` moves a date or a datetime".into()),
        ),
    };
    let months = cx.coerce(
        months,
        Ty::nullable(Type::Int),
        "the second argument of `add_months`",
        Some("the number of months, an int: `add_months(d, contract.term_months)`".into()),
    );
    if base.ty.is_error() || months.ty.is_error() {
        return error_expr(span);
    }
    let ty = Ty {
        base: base.ty.base,
        nullable: base.ty.nullable || months.ty.nullable,
    };
    ir::Expr::new(
        ir::ExprKind::Call {
            function: Builtin::AddMonths,
            args: vec![base, months],
        },
        ty,
        span,
    )
}
