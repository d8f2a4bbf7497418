//! pest pairs → AST expressions. The grammar keeps binary operators flat
//! (`logic`, `arith`); precedence is applied here.

use super::Rule;
use super::ast::*;
use super::errors::SyntaxError;
use super::lower::{Lower, Parts};
use crate::source::Span;
use pest::iterators::Pair;

/// Binding strength of binary operators: higher binds tighter.
fn precedence(op: BinaryOp) -> u8 {
    match op {
        BinaryOp::Or => 1,
        BinaryOp::And => 2,
        BinaryOp::Add | BinaryOp::Sub => 3,
        BinaryOp::Mul | BinaryOp::Div | BinaryOp::Rem => 4,
        _ => 0,
    }
}

fn binary(op: BinaryOp, left: Expr, right: Expr) -> Expr {
    let span = left.span.to(right.span);
    Expr {
        kind: ExprKind::Binary {
            op,
            left: Box::new(left),
            right: Box::new(right),
        },
        span,
    }
}

/// Folds `a op b op c …` into a tree, left-associative, by precedence.
fn climb(operands: Vec<Expr>, ops: Vec<BinaryOp>) -> Option<Expr> {
    let mut operands = operands.into_iter();
    let mut ops = ops.into_iter().peekable();
    let first = operands.next()?;
    Some(climb_from(first, 0, &mut operands, &mut ops))
}

fn climb_from(
    mut left: Expr,
    min: u8,
    operands: &mut std::vec::IntoIter<Expr>,
    ops: &mut std::iter::Peekable<std::vec::IntoIter<BinaryOp>>,
) -> Expr {
    while let Some(&op) = ops.peek() {
        if precedence(op) < min {
            break;
        }
        ops.next();
        let Some(mut right) = operands.next() else {
            return left;
        };
        while let Some(&next) = ops.peek() {
            if precedence(next) <= precedence(op) {
                break;
            }
            right = climb_from(right, precedence(op) + 1, operands, ops);
        }
        left = binary(op, left, right);
    }
    left
}

impl Lower {
    pub(super) fn boxed(&mut self, parts: &mut Parts, span: Span) -> Box<Expr> {
        Box::new(self.expect_expr(parts, span))
    }

    pub(super) fn expr(&mut self, pair: Pair<Rule>) -> Expr {
        let span = self.span(&pair);
        // Flat chains (`a + b + …`, `x.a.b…`, `- - x`) become as deep as
        // they are long.
        let length = match pair.as_rule() {
            // Operands and operators alternate.
            Rule::logic | Rule::arith => pair.clone().into_inner().count().div_ceil(2),
            Rule::postfix_expr | Rule::unary_expr => pair.clone().into_inner().count(),
            _ => 1,
        };
        if !self.deeper(span, length.max(1)) {
            return Expr {
                kind: ExprKind::Null,
                span,
            };
        }
        let e = self.expr_inner(pair, span);
        self.depth -= length.max(1);
        e
    }

    fn expr_inner(&mut self, pair: Pair<Rule>, span: Span) -> Expr {
        match pair.as_rule() {
            Rule::expr => {
                let mut parts = Parts::of(pair);
                self.expect_expr(&mut parts, span)
            }
            // `( … )` leaves no node of its own: the expression inside
            // takes the span of the parentheses, which is how `flowc fmt`
            // knows the author wrote them (and keeps them).
            Rule::paren => {
                let mut parts = Parts::of(pair);
                let inner = self.expect_expr(&mut parts, span);
                Expr { span, ..inner }
            }
            Rule::logic => self.chain(pair),
            Rule::arith => self.arith(pair),
            Rule::not_expr => {
                let mut parts = Parts::of(pair);
                let negated = parts.has(Rule::kw_not);
                let inner = self.expect_expr(&mut parts, span);
                if negated {
                    Expr {
                        kind: ExprKind::Not(Box::new(inner)),
                        span,
                    }
                } else {
                    inner
                }
            }
            Rule::cmp_expr => self.comparison(pair),
            Rule::if_expr => {
                let mut parts = Parts::of(pair);
                let condition = self.boxed(&mut parts, span);
                let then = self.boxed(&mut parts, span);
                let otherwise = self.boxed(&mut parts, span);
                Expr {
                    kind: ExprKind::If {
                        condition,
                        then,
                        otherwise,
                    },
                    span,
                }
            }
            Rule::unary_expr => self.unary(pair),
            Rule::postfix_expr => {
                let mut parts = Parts::of(pair);
                let mut base = self.expect_expr(&mut parts, span);
                for field in parts.rest.by_ref() {
                    let field = self.ident(field);
                    let span = base.span.to(field.span);
                    base = Expr {
                        kind: ExprKind::Field {
                            base: Box::new(base),
                            field,
                        },
                        span,
                    };
                }
                base
            }
            _ => self.primary(pair),
        }
    }

    /// `-x`, `--x`; a minus on a literal folds into it (`-5` is the int -5).
    fn unary(&mut self, pair: Pair<Rule>) -> Expr {
        let span = self.span(&pair);
        let mut negations = 0;
        let mut operand = None;
        for p in pair.into_inner() {
            if p.as_rule() == Rule::neg {
                negations += 1;
            } else {
                operand = Some(self.expr(p));
            }
        }
        let mut e = operand.unwrap_or_else(|| self.missing(span, "operand"));
        for _ in 0..negations {
            let kind = match e.kind {
                ExprKind::Int(v) => ExprKind::Int(v.wrapping_neg()),
                ExprKind::Decimal(v) => ExprKind::Decimal(-v),
                ExprKind::Duration(v) => ExprKind::Duration(-v),
                ExprKind::Months(v) => ExprKind::Months(-v),
                other => ExprKind::Neg(Box::new(Expr {
                    kind: other,
                    span: e.span,
                })),
            };
            e = Expr { kind, span };
        }
        e
    }

    /// An `arith` chain, and the `at "HH:MM"` that may end it.
    fn arith(&mut self, pair: Pair<Rule>) -> Expr {
        let span = self.span(&pair);
        let mut parts: Vec<Pair<Rule>> = pair.into_inner().collect();
        let at = match parts.last() {
            Some(last) if last.as_rule() == Rule::at_time => parts.pop(),
            _ => None,
        };
        let chain = self.chain_of(span, parts);
        let Some(at) = at else {
            return chain;
        };
        let at_span = self.span(&at);
        let mut inner = Parts::of(at);
        let time = match inner.next_if(Rule::string) {
            Some(p) => self.text(p),
            None => {
                self.errors.push(SyntaxError::Internal {
                    span: at_span,
                    what: "time of day".into(),
                });
                Text {
                    value: String::new(),
                    span: at_span,
                }
            }
        };
        Expr {
            kind: ExprKind::At {
                date: Box::new(chain),
                time,
            },
            span,
        }
    }

    /// A flat `logic` or `arith` chain → a tree by precedence.
    fn chain(&mut self, pair: Pair<Rule>) -> Expr {
        let span = self.span(&pair);
        let parts = pair.into_inner().collect();
        self.chain_of(span, parts)
    }

    fn chain_of(&mut self, span: Span, parts: Vec<Pair<Rule>>) -> Expr {
        let mut operands = Vec::new();
        let mut ops = Vec::new();
        for p in parts {
            let op = match (p.as_rule(), p.as_str()) {
                (Rule::kw_or, _) => BinaryOp::Or,
                (Rule::kw_and, _) => BinaryOp::And,
                (Rule::arith_op, "+") => BinaryOp::Add,
                (Rule::arith_op, "-") => BinaryOp::Sub,
                (Rule::arith_op, "*") => BinaryOp::Mul,
                (Rule::arith_op, "/") => BinaryOp::Div,
                (Rule::arith_op, _) => BinaryOp::Rem,
                _ => {
                    operands.push(self.expr(p));
                    continue;
                }
            };
            ops.push(op);
        }
        climb(operands, ops).unwrap_or_else(|| self.missing(span, "operand"))
    }

    fn comparison(&mut self, pair: Pair<Rule>) -> Expr {
        let span = self.span(&pair);
        let mut inner = pair.into_inner();
        let left = match inner.next() {
            Some(p) => self.expr(p),
            None => return self.missing(span, "operand"),
        };
        let Some(suffix) = inner.next() else {
            return left;
        };
        let value = Box::new(left);
        let rule = suffix.as_rule();
        let mut parts = Parts::of(suffix);
        let negated = parts.has(Rule::kw_not);
        let kind = match rule {
            Rule::compare => {
                let op = match parts.next_if(Rule::cmp_op).map(|p| p.as_str()) {
                    Some("==") => BinaryOp::Eq,
                    Some("!=") => BinaryOp::Ne,
                    Some("<=") => BinaryOp::Le,
                    Some(">=") => BinaryOp::Ge,
                    Some("<") => BinaryOp::Lt,
                    _ => BinaryOp::Gt,
                };
                ExprKind::Binary {
                    op,
                    left: value,
                    right: self.boxed(&mut parts, span),
                }
            }
            Rule::between => {
                let low = self.boxed(&mut parts, span);
                let high = self.boxed(&mut parts, span);
                ExprKind::Between {
                    value,
                    low,
                    high,
                    negated,
                }
            }
            Rule::in_list => ExprKind::InList {
                value,
                list: self.expect_ident(&mut parts, span),
                negated,
            },
            Rule::in_segment => ExprKind::InSegment {
                value,
                segment: self.expect_ident(&mut parts, span),
                negated,
            },
            Rule::in_values => ExprKind::In {
                value,
                set: self.boxed(&mut parts, span),
                negated,
            },
            Rule::contains => ExprKind::Contains {
                text: value,
                part: self.boxed(&mut parts, span),
                negated,
            },
            Rule::starts_with => ExprKind::StartsWith {
                text: value,
                prefix: self.boxed(&mut parts, span),
            },
            Rule::is_null => ExprKind::IsNull { value, negated },
            Rule::is_unsubscribed => ExprKind::Unsubscribed {
                record: value,
                negated,
            },
            Rule::has_tag => ExprKind::HasTag {
                value,
                tag: self.boxed(&mut parts, span),
            },
            Rule::opened => ExprKind::Opened {
                record: value,
                template: self.expect_ident(&mut parts, span),
            },
            _ => ExprKind::Clicked {
                record: value,
                template: self.expect_ident(&mut parts, span),
            },
        };
        Expr { kind, span }
    }

    fn primary(&mut self, pair: Pair<Rule>) -> Expr {
        let span = self.span(&pair);
        let kind = match pair.as_rule() {
            Rule::int_lit => match pair.as_str().replace('_', "").parse::<i64>() {
                Ok(v) => ExprKind::Int(v),
                Err(_) => {
                    self.errors.push(SyntaxError::BadLiteral {
                        span,
                        reason: format!(
                            "`{}` is larger than the largest int, {}",
                            pair.as_str(),
                            i64::MAX
                        ),
                    });
                    ExprKind::Int(0)
                }
            },
            Rule::decimal_lit => match pair.as_str().replace('_', "").parse::<f64>() {
                Ok(v) if v.is_finite() => ExprKind::Decimal(v),
                _ => {
                    self.errors.push(SyntaxError::BadLiteral {
                        span,
                        reason: format!("`{}` is not a decimal number", pair.as_str()),
                    });
                    ExprKind::Decimal(0.0)
                }
            },
            Rule::string => ExprKind::Text(self.text(pair).value),
            Rule::kw_true => ExprKind::Bool(true),
            Rule::kw_false => ExprKind::Bool(false),
            Rule::kw_null => ExprKind::Null,
            Rule::kw_today => ExprKind::Today,
            Rule::kw_now => ExprKind::Now,
            Rule::date_lit => match crate::time::parse_date(pair.as_str()) {
                Some(days) => ExprKind::Date(days),
                None => {
                    self.errors.push(SyntaxError::BadLiteral {
                        span,
                        reason: format!("`{}` is not a date in the calendar", pair.as_str()),
                    });
                    ExprKind::Date(0)
                }
            },
            Rule::datetime_lit => {
                if crate::time::parse_datetime(pair.as_str(), chrono_tz::Tz::UTC).is_none() {
                    self.errors.push(SyntaxError::BadLiteral {
                        span,
                        reason: format!(
                            "`{}` is not a date and time in the calendar",
                            pair.as_str()
                        ),
                    });
                }
                ExprKind::DateTime(pair.as_str().to_string())
            }
            Rule::duration_lit => return self.duration(pair),
            Rule::old_ref => {
                let mut parts = Parts::of(pair);
                ExprKind::Old(self.expect_ident(&mut parts, span))
            }
            Rule::event_ref => {
                let mut parts = Parts::of(pair);
                ExprKind::EventField(self.expect_ident(&mut parts, span))
            }
            Rule::list_lit => ExprKind::ListLit(pair.into_inner().map(|p| self.expr(p)).collect()),
            Rule::reference => return self.reference(pair),
            _ => return self.expr(pair),
        };
        Expr { kind, span }
    }

    pub(super) fn duration(&mut self, pair: Pair<Rule>) -> Expr {
        let span = self.span(&pair);
        let written = pair.as_str();
        if crate::time::is_calendar_literal(written) {
            let months = crate::time::parse_months(written);
            if months.is_none() {
                let reason = if written.contains(['w', 'd', 'h', 's'])
                    || written.replace("mo", "").contains('m')
                {
                    format!(
                        "`{written}` mixes calendar units (`mo`, `y`) with fixed ones; \
                         add them one after the other: `d + 1mo + 3d`"
                    )
                } else {
                    format!("`{written}` is too long a duration")
                };
                self.errors.push(SyntaxError::BadLiteral { span, reason });
            }
            return Expr {
                kind: ExprKind::Months(months.unwrap_or(0)),
                span,
            };
        }
        let seconds = crate::time::parse_duration(written);
        if seconds.is_none() {
            self.errors.push(SyntaxError::BadLiteral {
                span,
                reason: format!("`{}` is too long a duration", pair.as_str()),
            });
        }
        Expr {
            kind: ExprKind::Duration(seconds.unwrap_or(0)),
            span,
        }
    }

    /// A name, or a call, lookup or aggregate when followed by `(…)`.
    fn reference(&mut self, pair: Pair<Rule>) -> Expr {
        let span = self.span(&pair);
        let mut parts = Parts::of(pair);
        let name = self.expect_ident(&mut parts, span);
        let Some(call) = parts.next_if(Rule::call_parens) else {
            return Expr {
                kind: ExprKind::Name(name),
                span,
            };
        };
        let mut parts = Parts::of(call);
        if let Some(lookup) = parts.next_if(Rule::lookup_arg) {
            let s = self.span(&lookup);
            let mut inner = Parts::of(lookup);
            let field = self.expect_ident(&mut inner, s);
            let value = self.boxed(&mut inner, s);
            return Expr {
                kind: ExprKind::Lookup {
                    record: name,
                    field,
                    value,
                },
                span,
            };
        }
        let mut args = Vec::new();
        let mut aggregate = None;
        while let Some(p) = parts.next() {
            if p.as_rule() == Rule::aggregate_for {
                let s = self.span(&p);
                aggregate = Some(self.expect_expr(&mut Parts::of(p), s));
            } else {
                args.push(self.expr(p));
            }
        }
        let Some(condition) = aggregate else {
            return Expr {
                kind: ExprKind::Call {
                    function: name,
                    args,
                },
                span,
            };
        };
        if args.len() != 1 {
            self.errors.push(SyntaxError::BadAggregate { span });
        }
        let value = args.into_iter().next().unwrap_or(Expr {
            kind: ExprKind::Null,
            span,
        });
        Expr {
            kind: ExprKind::Aggregate {
                function: name,
                value: Box::new(value),
                condition: Box::new(condition),
            },
            span,
        }
    }
}
