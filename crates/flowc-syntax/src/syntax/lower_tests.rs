//! pest pairs → AST `test` blocks: `given`, `update`, `after`, `expect` ….

use super::Rule;
use super::ast::*;
use super::errors::SyntaxError;
use super::lower::{Lower, Parts};
use crate::source::Span;
use pest::iterators::Pair;

impl Lower {
    pub(super) fn test_decl(&mut self, mut parts: Parts, span: Span) -> TestDecl {
        let name = self.expect_text(&mut parts, span);
        let steps = parts.rest.by_ref().map(|p| self.test_step(p)).collect();
        TestDecl { name, steps, span }
    }

    fn field_values(&mut self, pair: Pair<Rule>) -> Vec<FieldValue> {
        Parts::of(pair)
            .rest
            .map(|p| {
                let s = self.span(&p);
                let mut inner = Parts::of(p);
                let field = self.expect_ident(&mut inner, s);
                let value = self.expect_expr(&mut inner, s);
                FieldValue { field, value }
            })
            .collect()
    }

    fn test_step(&mut self, pair: Pair<Rule>) -> TestStep {
        let span = self.span(&pair);
        let rule = pair.as_rule();
        let mut parts = Parts::of(pair);
        let kind = match rule {
            Rule::given_step => {
                let record = self.expect_ident(&mut parts, span);
                let var = self.expect_ident(&mut parts, span);
                let fields = match parts.next() {
                    Some(p) => self.field_values(p),
                    None => Vec::new(),
                };
                TestStepKind::Given {
                    record,
                    var,
                    fields,
                }
            }
            Rule::update_step => {
                let (var, fields) = self.update(parts, span);
                TestStepKind::Update { var, fields }
            }
            Rule::delete_step => TestStepKind::Delete {
                var: self.expect_ident(&mut parts, span),
            },
            Rule::test_event_step => {
                let name = self.expect_ident(&mut parts, span);
                let on = self.expect_ident(&mut parts, span);
                let data = match parts.next() {
                    Some(p) => self.field_values(p),
                    None => Vec::new(),
                };
                TestStepKind::Event { name, on, data }
            }
            Rule::approve_step => TestStepKind::Approve {
                target: parts.next().map(|p| self.expr(p)),
            },
            Rule::reject_step => TestStepKind::Reject {
                target: parts.next().map(|p| self.expr(p)),
            },
            Rule::after_step => TestStepKind::After {
                duration: self.expect_expr(&mut parts, span),
            },
            _ => TestStepKind::Expect(match parts.next() {
                Some(p) => self.expectation(p),
                None => Expectation::Condition(self.missing(span, "expectation")),
            }),
        };
        TestStep { kind, span }
    }

    /// `update VAR set f = v, …`: the variable and the assignments.
    fn update(&mut self, mut parts: Parts, span: Span) -> (Ident, Vec<FieldValue>) {
        let var = self.expect_ident(&mut parts, span);
        let fields = parts
            .rest
            .by_ref()
            .map(|p| {
                let s = self.span(&p);
                let mut inner = Parts::of(p);
                let field = self.expect_ident(&mut inner, s);
                let value = self.expect_expr(&mut inner, s);
                FieldValue { field, value }
            })
            .collect();
        (var, fields)
    }

    /// `no`, `2` before `emails` or `tasks`; none: at least one.
    fn count(&mut self, parts: &mut Parts) -> EmailCount {
        match parts.next_if(Rule::expect_count) {
            None => EmailCount::Some,
            Some(p) => {
                let text = p.as_str().replace('_', "");
                match text.parse::<u32>() {
                    Ok(n) => EmailCount::Exactly(n),
                    Err(_) if text == "no" => EmailCount::None,
                    Err(_) => {
                        let s = self.span(&p);
                        self.errors.push(SyntaxError::BadLiteral {
                            span: s,
                            reason: "this count is too large".into(),
                        });
                        EmailCount::Some
                    }
                }
            }
        }
    }

    fn expectation(&mut self, pair: Pair<Rule>) -> Expectation {
        let span = self.span(&pair);
        let rule = pair.as_rule();
        if !matches!(
            rule,
            Rule::expect_email
                | Rule::expect_task
                | Rule::expect_approval
                | Rule::expect_run
                | Rule::expect_refused
        ) {
            return Expectation::Condition(self.expr(pair));
        }
        let mut parts = Parts::of(pair);
        match rule {
            Rule::expect_email => {
                let count = self.count(&mut parts);
                let template = match parts.rest.as_slice().first().map(|p| p.as_rule()) {
                    Some(Rule::ident) => parts.next().map(|p| self.ident(p)),
                    _ => None,
                };
                let to = self.expect_expr(&mut parts, span);
                let with = parts.next_if(Rule::expect_with).map(|p| {
                    let s = self.span(&p);
                    let mut inner = Parts::of(p);
                    let part = self.expect_ident(&mut inner, s);
                    let text = self.expect_expr(&mut inner, s);
                    EmailFilter { part, text }
                });
                Expectation::Email {
                    count,
                    template,
                    to,
                    with,
                }
            }
            Rule::expect_task => {
                let count = self.count(&mut parts);
                let title = match parts.rest.as_slice().first().map(|p| p.as_rule()) {
                    Some(Rule::string) => Some(self.expect_text(&mut parts, span)),
                    _ => None,
                };
                let assignee = self.expect_expr(&mut parts, span);
                Expectation::Task {
                    count,
                    title,
                    assignee,
                }
            }
            Rule::expect_refused => {
                let (var, fields) = match parts.next() {
                    Some(update) => self.update(Parts::of(update), span),
                    None => (self.expect_ident(&mut parts, span), Vec::new()),
                };
                Expectation::Refused { var, fields }
            }
            Rule::expect_approval => {
                let negated = parts.has(Rule::kw_no);
                let subject = parts.next().map(|p| self.expr(p));
                Expectation::Approval { negated, subject }
            }
            _ => {
                let rule = self.expect_ident(&mut parts, span);
                let subject = self.expect_expr(&mut parts, span);
                let state = self.expect_ident(&mut parts, span);
                Expectation::Run {
                    rule,
                    subject,
                    state,
                }
            }
        }
    }
}
