//! Calendar time: months and years (`d + 4mo`, `wait 1mo`), `DATE at
//! "HH:MM"`, and dates moved by part of a day.
//!
//! Months have no length in seconds, so they are not a value: a month
//! literal is allowed only as the right operand of `+`/`-` on a date or a
//! datetime (or the left of `+`), and as the whole duration of `wait`,
//! `at most`, `reenter after` and a test's `after`. Anywhere else (a
//! comparison, a sum with a fixed duration, a function's result) it is
//! E0215, with a hint for the place.

use super::expr::{boxed, lit};
use super::scope::Scope;
use super::{Checker, Problem, error_expr};
use crate::ir::{self, ArithOp, Builtin, ExprKind as K, Literal, Ty, Type};
use flowc_syntax::source::Span;
use flowc_syntax::syntax::ast::{self, BinaryOp};

const DAY: i64 = 86_400;

/// Where months may be used, for the hint of E0215 where they may not.
pub(super) const MONTHS_HINT: &str = "months move a date or a datetime (`d + 4mo`, `now - 1y`) \
     or set a wait (`wait 1mo`, `reenter after 11mo`); to compare, move the date: \
     `contract.start_date + 1mo < today`";

/// The months of a month literal, negated or not (`4mo`, `-1y`, `-(2mo)`).
pub(super) fn months_of(e: &ast::Expr) -> Option<i64> {
    match &e.kind {
        ast::ExprKind::Months(m) => Some(*m),
        ast::ExprKind::Neg(inner) => months_of(inner).map(i64::wrapping_neg),
        _ => None,
    }
}

/// The seconds of a duration the checker can compute: literals and sums,
/// differences and multiples of them.
pub(super) fn constant_seconds(e: &ir::Expr) -> Option<i64> {
    match &e.kind {
        K::Lit(Literal::Duration(s)) => Some(*s),
        K::Neg(inner) => constant_seconds(inner)?.checked_neg(),
        K::Arith { op, left, right } => {
            let (l, r) = (constant_seconds(left), constant_seconds(right));
            match op {
                ArithOp::DurationAdd => l?.checked_add(r?),
                ArithOp::DurationSub => l?.checked_sub(r?),
                ArithOp::DurationMul => match &right.kind {
                    K::Lit(Literal::Int(n)) => l?.checked_mul(*n),
                    _ => None,
                },
                _ => None,
            }
        }
        _ => None,
    }
}

impl Checker<'_> {
    /// `BASE + MONTHS`, `BASE - MONTHS` or `MONTHS + BASE`: the base moved
    /// by calendar months. `months` is already negated for `-`.
    pub(super) fn shift_by_months(
        &mut self,
        base: &ast::Expr,
        months: i64,
        months_span: Span,
        scope: &mut Scope,
        span: Span,
    ) -> ir::Expr {
        let typed = self.expr(base, scope);
        let typed = match typed.ty.base {
            Type::Date | Type::DateTime => typed,
            Type::Error => return error_expr(span),
            Type::Any => self.coerce(typed, Ty::nullable(Type::Date), "an event value", None),
            Type::Duration => {
                self.report(Problem::MonthsWithoutLength {
                    span: months_span,
                    hint: "add each to the date in turn, `d + 3d + 1mo`: at a month's end the \
                           order changes the day"
                        .into(),
                });
                return error_expr(span);
            }
            _ => {
                self.report(Problem::MonthsWithoutLength {
                    span: months_span,
                    hint: MONTHS_HINT.into(),
                });
                return error_expr(span);
            }
        };
        let ty = typed.ty;
        ir::Expr::new(
            K::Call {
                function: Builtin::AddMonths,
                args: vec![typed, lit(Literal::Int(months), Ty::INT, months_span)],
            },
            ty,
            span,
        )
    }

    /// A `+`/`-` with a month literal on a side where it may be, or `None`.
    pub(super) fn months_arith(
        &mut self,
        op: BinaryOp,
        left: &ast::Expr,
        right: &ast::Expr,
        scope: &mut Scope,
        span: Span,
    ) -> Option<ir::Expr> {
        match (op, months_of(left), months_of(right)) {
            (BinaryOp::Add, _, Some(m)) => {
                Some(self.shift_by_months(left, m, right.span, scope, span))
            }
            (BinaryOp::Sub, _, Some(m)) => {
                Some(self.shift_by_months(left, m.wrapping_neg(), right.span, scope, span))
            }
            (BinaryOp::Add, Some(m), None) => {
                Some(self.shift_by_months(right, m, left.span, scope, span))
            }
            _ => None,
        }
    }

    /// The duration of a wait written in months: from now until the same
    /// local time that many months later (`add_months(now, m) - now`), so
    /// the engine, which waits `now + duration`, wakes at the calendar date.
    pub(super) fn months_from_now(&mut self, months: i64, span: Span) -> ir::Expr {
        let now = || ir::Expr::new(K::Now, Ty::DATETIME, span);
        let later = ir::Expr::new(
            K::Call {
                function: Builtin::AddMonths,
                args: vec![now(), lit(Literal::Int(months), Ty::INT, span)],
            },
            Ty::DATETIME,
            span,
        );
        ir::Expr::new(
            K::Arith {
                op: ArithOp::DateTimeDiff,
                left: boxed(later),
                right: boxed(now()),
            },
            Ty::DURATION,
            span,
        )
    }

    /// `DATE at "HH:MM"`.
    pub(super) fn at_time(
        &mut self,
        date: &ast::Expr,
        time: &ast::Text,
        scope: &mut Scope,
        span: Span,
    ) -> ir::Expr {
        let typed = self.expr(date, scope);
        let hint = match typed.ty.base {
            Type::DateTime => Some(
                "`at` gives a date a time of day; for a datetime, take its date first: \
                 `date(t) at \"10:00\"`"
                    .to_string(),
            ),
            _ => None,
        };
        let typed = self.coerce(
            typed,
            Ty::nullable(Type::Date),
            "the left side of `at`",
            hint,
        );
        let Some(seconds) = flowc_syntax::time::parse_time_of_day(&time.value) else {
            self.report(Problem::BadTimeOfDay {
                span: time.span,
                text: time.value.clone(),
            });
            return error_expr(span);
        };
        if typed.ty.is_error() {
            return error_expr(span);
        }
        let nullable = typed.ty.nullable;
        ir::Expr::new(
            K::Call {
                function: Builtin::AtTime,
                args: vec![
                    typed,
                    lit(Literal::Int(i64::from(seconds)), Ty::INT, time.span),
                ],
            },
            Ty::nullable(Type::DateTime).with_nullable(nullable),
            span,
        )
    }

    /// E0216 when `duration`, added to or taken from a date, is a known
    /// number of seconds that is not whole days. Returns whether it is fine.
    pub(super) fn whole_days(&mut self, duration: &ir::Expr) -> bool {
        let Some(seconds) = constant_seconds(duration) else {
            return true;
        };
        if seconds % DAY == 0 {
            return true;
        }
        let rest = seconds.rem_euclid(DAY);
        let time = (seconds > 0 && seconds < DAY && rest % 60 == 0)
            .then(|| format!("{:02}:{:02}", rest / 3600, rest % 3600 / 60));
        self.report(Problem::PartOfADay {
            span: duration.span,
            duration: flowc_syntax::time::format_duration(seconds),
            time,
        });
        false
    }
}
