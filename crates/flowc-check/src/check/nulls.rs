//! Which nullable paths an expression has proven not null.
//!
//! `contact.employees is not null and contact.employees > 100` must not warn:
//! when the left side of `and` holds, the path is known not null on the
//! right. Paths are compared as text (`contact.employees`).

use flowc_syntax::syntax::ast::{BinaryOp, Expr, ExprKind};

/// The path an expression reads, if it is a plain path: `contact.owner.name`,
/// `old.stage`, `event.form`.
pub(crate) fn path(expr: &Expr) -> Option<String> {
    match &expr.kind {
        ExprKind::Name(id) => Some(id.name.clone()),
        ExprKind::Field { base, field } => Some(format!("{}.{}", path(base)?, field.name)),
        ExprKind::Old(f) => Some(format!("old.{}", f.name)),
        ExprKind::EventField(f) => Some(format!("event.{}", f.name)),
        _ => None,
    }
}

/// Paths known not null when `expr` evaluates to `when`.
pub(crate) fn facts(expr: &Expr, when: bool) -> Vec<String> {
    let mut out = Vec::new();
    collect(expr, when, &mut out);
    out
}

fn collect(expr: &Expr, when: bool, out: &mut Vec<String>) {
    match &expr.kind {
        ExprKind::IsNull { value, negated } if *negated == when => out.extend(path(value)),
        ExprKind::Not(inner) => collect(inner, !when, out),
        ExprKind::Binary {
            op: BinaryOp::And,
            left,
            right,
        } if when => {
            collect(left, true, out);
            collect(right, true, out);
        }
        ExprKind::Binary {
            op: BinaryOp::Or,
            left,
            right,
        } if !when => {
            collect(left, false, out);
            collect(right, false, out);
        }
        // A comparison that holds proves both sides were not null.
        ExprKind::Binary { op, left, right } if when && op.is_comparison() => {
            out.extend(path(left));
            out.extend(path(right));
        }
        ExprKind::Between {
            value,
            negated: false,
            ..
        }
        | ExprKind::In {
            value,
            negated: false,
            ..
        }
        | ExprKind::Contains {
            text: value,
            negated: false,
            ..
        }
        | ExprKind::StartsWith { text: value, .. }
            if when =>
        {
            out.extend(path(value));
        }
        _ => {}
    }
}
