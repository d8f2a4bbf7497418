//! Aggregates over reverse references:
//! `sum(line_item.sale_price for line_item.opportunity == opportunity)`.
//!
//! The rows are those of the record named at the root of the value
//! (`line_item`); that name is bound to each row inside the aggregate, and
//! shadows any outer name it equals.

use super::scope::Scope;
use super::{Checker, Problem, TypeDecl, error_expr};
use crate::ir::{self, AggFunc, ExprKind as K, Ty, Type};
use flowc_syntax::source::Span;
use flowc_syntax::syntax::ast;

pub(crate) fn aggregate(
    cx: &mut Checker,
    function: &ast::Ident,
    value: &ast::Expr,
    condition: &ast::Expr,
    scope: &mut Scope,
    span: Span,
) -> ir::Expr {
    let func = match function.name.as_str() {
        "sum" => AggFunc::Sum,
        "count" => AggFunc::Count,
        "avg" => AggFunc::Avg,
        "min" => AggFunc::Min,
        "max" => AggFunc::Max,
        other => {
            let candidates = ["sum", "count", "avg", "min", "max"]
                .map(String::from)
                .to_vec();
            let hint = Some("the aggregates are sum, count, avg, min and max".to_string());
            cx.unknown(
                function.span,
                super::NameKind::Function,
                other,
                candidates,
                hint,
            );
            return error_expr(span);
        }
    };
    let Some(row_name) = root_name(value) else {
        cx.report(Problem::AggregateRows {
            span: value.span,
            hint: "start the value with the record to aggregate: `sum(line_item.price for line_item.order == order)`".into(),
        });
        return error_expr(span);
    };
    let Some(TypeDecl::Record(record)) = cx.names.types.get(&row_name.name).copied() else {
        cx.report(Problem::AggregateRows {
            span: row_name.span,
            hint: format!("`{}` is not a record; the value must start with the record whose rows are aggregated", row_name.name),
        });
        return error_expr(span);
    };
    let row = scope.push(&row_name.name, Ty::new(Type::Record(record)));
    let typed_value = cx.expr(value, scope);
    let typed_condition = cx.condition(condition, scope, "an aggregate's condition");
    scope.pop();

    let (value, ty) = match func {
        AggFunc::Count => (None, Ty::INT),
        _ => match typed_value.ty.base {
            Type::Error => return error_expr(span),
            Type::Int | Type::Decimal | Type::Duration if func == AggFunc::Sum => {
                let ty = Ty::new(typed_value.ty.base);
                (Some(typed_value), ty)
            }
            Type::Int | Type::Decimal if func == AggFunc::Avg => {
                let v = cx.coerce(
                    typed_value,
                    Ty::nullable(Type::Decimal),
                    "the value of `avg`",
                    None,
                );
                (Some(v), Ty::nullable(Type::Decimal))
            }
            Type::Int
            | Type::Decimal
            | Type::Duration
            | Type::Date
            | Type::DateTime
            | Type::Text
            | Type::Enum(_)
                if matches!(func, AggFunc::Min | AggFunc::Max) =>
            {
                let ty = Ty::nullable(typed_value.ty.base);
                (Some(typed_value), ty)
            }
            _ => {
                let found = cx.schema.type_name(typed_value.ty);
                cx.report(Problem::Mismatch {
                    span: typed_value.span,
                    context: format!("the value of `{}`", function.name),
                    expected: if matches!(func, AggFunc::Min | AggFunc::Max) {
                        "an ordered value (number, text, date, duration or enum)".into()
                    } else {
                        "a number or a duration".into()
                    },
                    found,
                    hint: Some("to count rows, write `count(ROW for CONDITION)`".into()),
                });
                return error_expr(span);
            }
        },
    };
    let (key, filter) = split_key(typed_condition, row);
    let agg = ir::Aggregate {
        function: func,
        record,
        row,
        key,
        filter,
        value,
    };
    ir::Expr::new(K::Aggregate(Box::new(agg)), ty, span)
}

/// The first name the value reads: `line_item` in `line_item.price` and in
/// `line_item.price * line_item.qty`.
fn root_name(e: &ast::Expr) -> Option<&ast::Ident> {
    use ast::ExprKind as A;
    match &e.kind {
        A::Name(id) => Some(id),
        A::Field { base, .. } => root_name(base),
        A::Neg(x) | A::Not(x) => root_name(x),
        A::Binary { left, right, .. } => root_name(left).or_else(|| root_name(right)),
        A::If {
            condition,
            then,
            otherwise,
        } => root_name(then)
            .or_else(|| root_name(otherwise))
            .or_else(|| root_name(condition)),
        A::Call { args, .. } => args.iter().find_map(root_name),
        _ => None,
    }
}

/// Splits `row.ref == OUTER and REST` into an index key and a residual filter.
fn split_key(
    condition: ir::Expr,
    row: ir::VarId,
) -> (Option<(ir::FieldId, ir::Expr)>, Option<ir::Expr>) {
    let mut conjuncts = Vec::new();
    flatten_and(condition, &mut conjuncts);
    let mut key = None;
    let mut rest = Vec::new();
    for c in conjuncts {
        if key.is_none()
            && let Some(k) = as_key(&c, row)
        {
            key = Some(k);
            continue;
        }
        rest.push(c);
    }
    let filter = rest.into_iter().reduce(|a, b| {
        let span = a.span.to(b.span);
        ir::Expr::new(K::And(Box::new(a), Box::new(b)), Ty::BOOL, span)
    });
    (key, filter)
}

fn flatten_and(e: ir::Expr, out: &mut Vec<ir::Expr>) {
    match e.kind {
        K::And(a, b) => {
            flatten_and(*a, out);
            flatten_and(*b, out);
        }
        _ => out.push(e),
    }
}

/// `row.f == outer` or `outer == row.f`, where `outer` does not read the row.
fn as_key(c: &ir::Expr, row: ir::VarId) -> Option<(ir::FieldId, ir::Expr)> {
    let K::Compare {
        op: ir::CmpOp::Eq,
        left,
        right,
        ..
    } = &c.kind
    else {
        return None;
    };
    let row_field = |e: &ir::Expr| match &e.kind {
        K::Field { base, field, .. } if base.kind == K::Var(row) => Some(*field),
        _ => None,
    };
    if let Some(f) = row_field(left)
        && !reads_var(right, row)
    {
        return Some((f, (**right).clone()));
    }
    if let Some(f) = row_field(right)
        && !reads_var(left, row)
    {
        return Some((f, (**left).clone()));
    }
    None
}

fn reads_var(e: &ir::Expr, var: ir::VarId) -> bool {
    let mut found = false;
    e.walk(&mut |x| found |= x.kind == K::Var(var));
    found
}
