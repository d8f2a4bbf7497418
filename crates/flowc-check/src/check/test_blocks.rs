//! `test "…" … end` blocks: variables come from `given`, and every step and
//! expectation is checked against the schema like rule code.

use super::scope::Scope;
use super::{Checker, NameKind, Problem};
use crate::ir::{self, Ty, Type};
use flowc_syntax::syntax::ast;

pub(crate) fn check_test(cx: &mut Checker, decl: &ast::TestDecl) -> ir::TestDef {
    let mut test = ir::TestDef {
        name: decl.name.value.clone(),
        vars: Vec::new(),
        steps: Vec::new(),
        span: decl.span,
    };
    for step in &decl.steps {
        if let Some(kind) = test_step(cx, &mut test, step) {
            test.steps.push(ir::TestStep {
                kind,
                span: step.span,
            });
        }
    }
    test
}

fn var(
    cx: &mut Checker,
    test: &ir::TestDef,
    name: &ast::Ident,
) -> Option<(ir::VarId, ir::RecordId)> {
    match test.vars.iter().position(|(n, _)| *n == name.name) {
        Some(i) => Some((ir::VarId(i as u32), test.vars[i].1)),
        None => {
            cx.report(Problem::TestVariable {
                span: name.span,
                message: format!("no `given` declares `{}` before this step", name.name),
            });
            None
        }
    }
}

/// Field values of a `given` or `update`, typed against the record.
fn field_values(
    cx: &mut Checker,
    record: ir::RecordId,
    fields: &[ast::FieldValue],
    scope: &mut Scope,
) -> Vec<(ir::FieldId, ir::Expr)> {
    let mut out = Vec::with_capacity(fields.len());
    for fv in fields {
        let row = ir::Expr::new(
            ir::ExprKind::Lit(ir::Literal::Null),
            Ty::new(Type::Record(record)),
            fv.field.span,
        );
        let ir::ExprKind::Field { field, .. } = cx.field(row, &fv.field, fv.field.span).kind else {
            continue;
        };
        let ty = cx.schema.field(record, field).ty;
        let value = cx.expr(&fv.value, scope);
        let context = format!("the value of `{}`", fv.field.name);
        out.push((field, cx.coerce(value, ty, &context, None)));
    }
    out
}

fn test_step(
    cx: &mut Checker,
    test: &mut ir::TestDef,
    step: &ast::TestStep,
) -> Option<ir::TestStepKind> {
    use ast::TestStepKind as S;
    use ir::TestStepKind as I;
    let mut scope = Scope::for_test(&test.vars);
    Some(match &step.kind {
        S::Given {
            record,
            var: name,
            fields,
        } => {
            let rid = super::declare::record_named(cx, record)?;
            let values = field_values(cx, rid, fields, &mut scope);
            let def = cx.schema.record(rid);
            let missing: Vec<String> = def
                .fields
                .iter()
                .enumerate()
                .filter(|(i, f)| !f.ty.nullable && !values.iter().any(|(id, _)| id.index() == *i))
                .map(|(_, f)| f.name.clone())
                .collect();
            if !missing.is_empty() && fields.len() == values.len() {
                cx.report(Problem::MissingFields {
                    span: step.span,
                    record: def.name.clone(),
                    fields: missing,
                });
            }
            if test.vars.iter().any(|(n, _)| *n == name.name) {
                cx.report(Problem::TestVariable {
                    span: name.span,
                    message: format!("`{}` is already declared in this test", name.name),
                });
                return None;
            }
            test.vars.push((name.name.clone(), rid));
            I::Given {
                var: ir::VarId(test.vars.len() as u32 - 1),
                record: rid,
                fields: values,
            }
        }
        S::Update { var: name, fields } => {
            let (var, record) = var(cx, test, name)?;
            let fields = field_values(cx, record, fields, &mut scope);
            I::Update {
                var,
                record,
                fields,
            }
        }
        S::Delete { var: name } => {
            let (var, record) = var(cx, test, name)?;
            I::Delete { var, record }
        }
        S::Event { name, on, data } => {
            let (var, record) = var(cx, test, on)?;
            let data = super::events::test_payload(cx, name, record, data, &mut scope, step.span);
            I::Event {
                name: name.name.clone(),
                var,
                data,
            }
        }
        S::Approve { target } | S::Reject { target } => {
            let subject = target.as_ref().map(|t| cx.expr(t, &mut scope));
            I::Approve {
                subject,
                approve: matches!(step.kind, S::Approve { .. }),
            }
        }
        S::After { duration } => match super::calendar::months_of(duration) {
            Some(months) => I::After { months, seconds: 0 },
            None => {
                let seconds = super::rules::constant_duration(cx, duration, &mut scope, "`after`")?;
                I::After { months: 0, seconds }
            }
        },
        S::Expect(expectation) => expect(cx, test, expectation, &mut scope)?,
    })
}

fn expect(
    cx: &mut Checker,
    test: &ir::TestDef,
    expectation: &ast::Expectation,
    scope: &mut Scope,
) -> Option<ir::TestStepKind> {
    use ir::TestStepKind as I;
    Some(match expectation {
        ast::Expectation::Condition(e) => {
            I::ExpectCondition(cx.condition(e, scope, "an expectation"))
        }
        ast::Expectation::Email {
            count,
            template,
            to,
            with,
        } => {
            let template = match template {
                Some(t) => Some(cx.template_named(t)?),
                None => None,
            };
            let to = match super::rules::recipient(cx, to, scope)? {
                ir::Recipient::Record { expr, .. } => expr,
                ir::Recipient::Address(expr) => expr,
            };
            let contains = match with {
                Some(with) => Some(email_filter(cx, with, scope)?),
                None => None,
            };
            I::ExpectEmail {
                count: *count,
                template,
                to,
                contains,
            }
        }
        ast::Expectation::Task {
            count,
            title,
            assignee,
        } => {
            let (assignee, _) = super::rules::record(cx, assignee, scope, "a task's assignee");
            I::ExpectTask {
                count: *count,
                title: title.as_ref().map(|t| t.value.clone()),
                assignee,
            }
        }
        ast::Expectation::Refused { var: name, fields } => {
            let (var, record) = var(cx, test, name)?;
            let fields = field_values(cx, record, fields, scope);
            I::ExpectRefused {
                var,
                record,
                fields,
            }
        }
        ast::Expectation::Approval { negated, subject } => {
            let subject = subject.as_ref().map(|s| cx.expr(s, scope));
            I::ExpectApproval {
                negated: *negated,
                subject,
            }
        }
        ast::Expectation::Run {
            rule,
            subject,
            state,
        } => {
            let Some(&id) = cx.names.rules.get(&rule.name) else {
                let candidates = cx.names.rules.keys().cloned().collect();
                cx.unknown(rule.span, NameKind::Rule, &rule.name, candidates, None);
                return None;
            };
            let subject = cx.expr(subject, scope);
            let subject = match cx.rule_subjects.get(id.0 as usize) {
                Some(&runs_for) => cx.coerce(
                    subject,
                    Ty::new(Type::Record(runs_for)),
                    "the record a run is for",
                    Some(format!(
                        "`{}` runs for `{}` records",
                        rule.name,
                        cx.schema.record(runs_for).name
                    )),
                ),
                None => subject,
            };
            let Some(state_value) = ir::RunState::parse(&state.name) else {
                cx.report(Problem::UnknownRunState {
                    span: state.span,
                    state: state.name.clone(),
                });
                return None;
            };
            I::ExpectRun {
                rule: id,
                subject,
                state: state_value,
            }
        }
    })
}

/// `with subject contains "更新"`: a part of the email and a text.
fn email_filter(
    cx: &mut Checker,
    with: &ast::EmailFilter,
    scope: &mut Scope,
) -> Option<(ir::EmailPart, ir::Expr)> {
    let text = cx.expr(&with.text, scope);
    let text = cx.coerce(
        text,
        Ty::new(Type::Text),
        "the text an email must contain",
        None,
    );
    if matches!(&text.kind, ir::ExprKind::Lit(ir::Literal::Text(t)) if t.is_empty()) {
        cx.report(Problem::EmptyEmailFilter {
            span: with.text.span,
        });
    }
    let Some(part) = ir::EmailPart::ALL
        .into_iter()
        .find(|p| p.as_str() == with.part.name)
    else {
        let names = ir::EmailPart::ALL.map(ir::EmailPart::as_str);
        cx.report(Problem::UnknownEmailPart {
            span: with.part.span,
            part: with.part.name.clone(),
            suggestion: flowc_syntax::suggest::closest(&with.part.name, names).map(str::to_string),
        });
        return None;
    };
    Some((part, text))
}

/// `expect update o set … is refused` where no rule ever locks a row of
/// `o`'s record: the expectation could never hold.
pub(crate) fn refusals(cx: &mut Checker, rules: &[ir::RuleDef], tests: &[ir::TestDef]) {
    let mut locked = Vec::new();
    for rule in rules {
        locks(&rule.steps, &mut locked);
    }
    for test in tests {
        for step in &test.steps {
            if let ir::TestStepKind::ExpectRefused { record, .. } = &step.kind
                && !locked.contains(record)
            {
                cx.report(Problem::NeverLocked {
                    span: step.span,
                    record: cx.schema.record(*record).name.clone(),
                });
            }
        }
    }
}

/// The records some `lock` step in `steps` locks.
fn locks(steps: &[ir::Step], out: &mut Vec<ir::RecordId>) {
    for step in steps {
        match &step.kind {
            ir::StepKind::Lock(target) => {
                if let Type::Record(record) = target.ty.base {
                    out.push(record);
                }
            }
            ir::StepKind::If {
                branches,
                otherwise,
            } => {
                for (_, branch) in branches {
                    locks(branch, out);
                }
                locks(otherwise, out);
            }
            ir::StepKind::RequireApproval { on_reject, .. } => locks(on_reject, out),
            _ => {}
        }
    }
}
