//! pest pairs → AST steps: what a rule does, with nested `if` blocks.

use super::Rule;
use super::ast::*;
use super::lower::{Lower, Parts};
use crate::source::Span;
use pest::iterators::Pair;

impl Lower {
    fn steps(&mut self, parts: &mut Parts) -> Vec<Step> {
        let mut steps = Vec::new();
        while let Some(p) = parts.next_if(Rule::step) {
            steps.push(self.step(p));
        }
        steps
    }

    pub(super) fn step(&mut self, pair: Pair<Rule>) -> Step {
        let span = self.span(&pair);
        if !self.deeper(span, 1) {
            return Step {
                label: None,
                kind: StepKind::Stop,
                span,
            };
        }
        let step = self.step_inner(pair, span);
        self.depth -= 1;
        step
    }

    fn step_inner(&mut self, pair: Pair<Rule>, span: Span) -> Step {
        let mut outer = Parts::of(pair);
        let label = outer.next_if(Rule::step_label).map(|p| {
            let s = self.span(&p);
            self.expect_ident(&mut Parts::of(p), s)
        });
        let kind = match outer.next() {
            Some(p) => self.step_kind(p),
            None => {
                self.missing(span, "step");
                StepKind::Stop
            }
        };
        Step { label, kind, span }
    }

    fn step_kind(&mut self, pair: Pair<Rule>) -> StepKind {
        let span = self.span(&pair);
        let rule = pair.as_rule();
        let mut parts = Parts::of(pair);
        match rule {
            Rule::add_step => {
                let item = self.expect_expr(&mut parts, span);
                let list = self.expect_ident(&mut parts, span);
                StepKind::AddToList { item, list }
            }
            Rule::remove_step => {
                let item = self.expect_expr(&mut parts, span);
                let list = self.expect_ident(&mut parts, span);
                StepKind::RemoveFromList { item, list }
            }
            Rule::tag_step | Rule::untag_step => {
                let target = self.expect_expr(&mut parts, span);
                let tag = self.expect_text(&mut parts, span);
                if rule == Rule::tag_step {
                    StepKind::Tag { target, tag }
                } else {
                    StepKind::Untag { target, tag }
                }
            }
            Rule::set_step => {
                let target = self.expect_expr(&mut parts, span);
                let value = self.expect_expr(&mut parts, span);
                StepKind::Set { target, value }
            }
            Rule::send_step => {
                let template = self.expect_ident(&mut parts, span);
                let to = self.expect_expr(&mut parts, span);
                StepKind::SendEmail { template, to }
            }
            Rule::notify_step => {
                let to = match parts.next() {
                    Some(p) if p.as_rule() == Rule::notify_role => {
                        let s = self.span(&p);
                        NotifyTarget::Role(self.expect_text(&mut Parts::of(p), s))
                    }
                    Some(p) => NotifyTarget::Expr(self.expr(p)),
                    None => NotifyTarget::Expr(self.missing(span, "recipient")),
                };
                let message = match parts.next() {
                    Some(p) if p.as_rule() == Rule::string => Message::Inline(self.text(p)),
                    Some(p) => Message::Template(self.ident(p)),
                    None => Message::Inline(self.expect_text(&mut parts, span)),
                };
                StepKind::Notify { to, message }
            }
            Rule::task_step => {
                let title = self.expect_text(&mut parts, span);
                let assignee = self.expect_expr(&mut parts, span);
                let due = parts.next_if(Rule::task_due).map(|p| {
                    let s = self.span(&p);
                    self.expect_expr(&mut Parts::of(p), s)
                });
                StepKind::CreateTask {
                    title,
                    assignee,
                    due,
                }
            }
            Rule::assign_step => {
                let target = self.expect_expr(&mut parts, span);
                let mut cases = Vec::new();
                let mut otherwise = None;
                for p in parts.rest.by_ref() {
                    let s = self.span(&p);
                    let is_case = p.as_rule() == Rule::assign_case;
                    let mut inner = Parts::of(p);
                    if is_case {
                        let condition = self.expect_expr(&mut inner, s);
                        let value = self.expect_expr(&mut inner, s);
                        cases.push(AssignCase {
                            condition,
                            value,
                            span: s,
                        });
                    } else {
                        otherwise = Some(self.expect_expr(&mut inner, s));
                    }
                }
                StepKind::Assign {
                    target,
                    cases,
                    otherwise,
                }
            }
            Rule::wait_step => StepKind::Wait(self.wait(parts, span)),
            Rule::if_step => self.if_step(parts, span),
            Rule::approval_step => {
                let from = self.expect_expr(&mut parts, span);
                let on_reject = parts.next_if(Rule::on_reject).map(|p| {
                    let s = self.span(&p);
                    let mut inner = Parts::of(p);
                    Block {
                        steps: self.steps(&mut inner),
                        span: s,
                    }
                });
                StepKind::RequireApproval { from, on_reject }
            }
            Rule::lock_step => StepKind::Lock(self.expect_expr(&mut parts, span)),
            Rule::unlock_step => StepKind::Unlock(self.expect_expr(&mut parts, span)),
            _ => StepKind::Stop,
        }
    }

    fn wait(&mut self, mut parts: Parts, span: Span) -> Wait {
        let Some(form) = parts.next() else {
            let duration = self.missing(span, "wait");
            return Wait::For {
                duration,
                unless: None,
            };
        };
        let form_span = self.span(&form);
        if form.as_rule() == Rule::wait_business {
            return self.business_wait(form, form_span);
        }
        let is_until = form.as_rule() == Rule::wait_until;
        let mut inner = Parts::of(form);
        let first = self.expect_expr(&mut inner, form_span);
        if is_until {
            let at_most = inner.next_if(Rule::wait_at_most).map(|p| {
                let s = self.span(&p);
                self.expect_expr(&mut Parts::of(p), s)
            });
            return Wait::Until {
                target: first,
                at_most,
            };
        }
        let unless = inner.next_if(Rule::wait_unless).map(|p| {
            let s = self.span(&p);
            let mut u = Parts::of(p);
            match u.next() {
                Some(e) if e.as_rule() == Rule::unless_event => {
                    let es = self.span(&e);
                    Unless::Event(self.expect_ident(&mut Parts::of(e), es))
                }
                Some(e) => Unless::Condition(self.expr(e)),
                None => Unless::Condition(self.missing(s, "condition")),
            }
        });
        Wait::For {
            duration: first,
            unless,
        }
    }

    /// `wait 3 business days`: an amount the grammar made digits, a
    /// calendar and a unit.
    fn business_wait(&mut self, form: Pair<Rule>, span: Span) -> Wait {
        let mut inner = Parts::of(form);
        let count = inner
            .next_if(Rule::business_count)
            .map(|p| self.expect_expr(&mut Parts::of(p), span));
        let amount = match inner.next_if(Rule::int_lit) {
            Some(p) => {
                let digits: String = p.as_str().chars().filter(|c| *c != '_').collect();
                match digits.parse::<i64>() {
                    Ok(n) => n,
                    Err(_) => {
                        self.errors.push(super::errors::SyntaxError::BadLiteral {
                            span: self.span(&p),
                            reason: format!("`{}` is too large a number", p.as_str()),
                        });
                        0
                    }
                }
            }
            None => 0,
        };
        let calendar = self.expect_ident(&mut inner, span);
        let unit = match inner.next().map(|p| p.as_str().to_string()) {
            Some(u) if u == "hours" => BusinessUnit::Hours,
            _ => BusinessUnit::Days,
        };
        Wait::Business {
            amount,
            count,
            calendar,
            unit,
            span,
        }
    }

    fn if_step(&mut self, mut parts: Parts, span: Span) -> StepKind {
        let condition = self.expect_expr(&mut parts, span);
        let steps = self.steps(&mut parts);
        let mut branches = vec![Branch {
            condition,
            steps,
            span,
        }];
        let mut otherwise = None;
        for p in parts.rest.by_ref() {
            let s = self.span(&p);
            let is_else_if = p.as_rule() == Rule::else_if;
            let mut inner = Parts::of(p);
            if is_else_if {
                let condition = self.expect_expr(&mut inner, s);
                let steps = self.steps(&mut inner);
                branches.push(Branch {
                    condition,
                    steps,
                    span: s,
                });
            } else {
                otherwise = Some(Block {
                    steps: self.steps(&mut inner),
                    span: s,
                });
            }
        }
        StepKind::If {
            branches,
            otherwise,
        }
    }

    // ------------------------------------------------------------ tests
}
