//! Rules: the trigger decides the subject and what is in scope, then each
//! step is checked in order.

use super::calendar::months_of;
use super::scope::Scope;
use super::{Checker, NameKind, Problem, TypeDecl, nulls, placeholders};
use crate::ir::{self, ExprKind as K, Ty, Type};
use flowc_syntax::source::Span;
use flowc_syntax::syntax::ast;
use std::collections::HashMap;

pub(crate) fn check_rule(cx: &mut Checker, decl: &ast::RuleDecl) -> ir::RuleDef {
    let version = version_of(cx.sources.snippet(decl.span));
    let mut rule = ir::RuleDef {
        name: decl.name.name.clone(),
        subject: ir::RecordId(u32::MAX),
        trigger: ir::Trigger::Created,
        filter: None,
        reenter: ir::Reenter::WhenEnded,
        goal: None,
        send_during: None,
        steps: Vec::new(),
        version,
        span: decl.span,
        trigger_span: decl.trigger.span,
    };
    let Some((subject, mut scope)) = trigger(cx, decl, &mut rule) else {
        return rule;
    };
    rule.subject = subject;
    if let Some(filter) = &decl.filter {
        rule.filter = Some(cx.condition(filter, &mut scope, "a `where` condition"));
        scope.not_null.extend(nulls::facts(filter, true));
    }
    options(cx, decl, &mut rule, &mut scope);
    let mut namer = StepNamer::default();
    rule.steps = steps(cx, &decl.steps, &mut scope, &mut namer);
    rule
}

/// A stable hash of a rule's text, ignoring comments and layout.
fn version_of(text: &str) -> String {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    let mut last_space = true;
    for line in text.lines() {
        let code = strip_comment(line);
        for c in code.chars().chain(std::iter::once(' ')) {
            let space = c.is_whitespace();
            if space && last_space {
                continue;
            }
            last_space = space;
            let mut buf = [0u8; 4];
            for b in c.encode_utf8(&mut buf).bytes() {
                hash ^= b as u64;
                hash = hash.wrapping_mul(0x0100_0000_01b3);
            }
        }
    }
    format!("{hash:016x}")
}

fn strip_comment(line: &str) -> &str {
    let mut in_text = false;
    let mut escaped = false;
    for (i, c) in line.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' if in_text => escaped = true,
            '"' => in_text = !in_text,
            '#' if !in_text => return &line[..i],
            _ => {}
        }
    }
    line
}

/// Resolves the trigger: the subject record and the scope its steps see.
fn trigger(
    cx: &mut Checker,
    decl: &ast::RuleDecl,
    rule: &mut ir::RuleDef,
) -> Option<(ir::RecordId, Scope)> {
    use ast::TriggerKind as T;
    match &decl.trigger.kind {
        T::Record { record, what } => {
            let subject = super::declare::record_named(cx, record)?;
            let mut scope = Scope::for_subject(&record.name, subject);
            rule.trigger = match what {
                ast::Lifecycle::Created => ir::Trigger::Created,
                ast::Lifecycle::Updated => {
                    scope.old = Some(subject);
                    ir::Trigger::Updated
                }
                ast::Lifecycle::Deleted => ir::Trigger::Deleted,
            };
            Some((subject, scope))
        }
        T::Changes {
            record,
            field,
            from,
            to,
        } => {
            let subject = super::declare::record_named(cx, record)?;
            let mut scope = Scope::for_subject(&record.name, subject);
            scope.old = Some(subject);
            let base = ir::Expr::new(
                K::Var(ir::VarId(0)),
                Ty::new(Type::Record(subject)),
                record.span,
            );
            let typed = cx.field(base, field, field.span);
            let K::Field { field: fid, .. } = typed.kind else {
                return Some((subject, scope));
            };
            let fty = typed.ty.with_nullable(true);
            let name = format!("{}.{}", record.name, field.name);
            let value =
                |cx: &mut Checker, e: &Option<ast::Expr>, which: &str, scope: &mut Scope| {
                    e.as_ref().map(|e| {
                        let v = cx.expr(e, scope);
                        cx.coerce(v, fty, &format!("the `{which}` value of `{name}`"), None)
                    })
                };
            let from = value(cx, from, "from", &mut scope);
            let to = value(cx, to, "to", &mut scope);
            rule.trigger = ir::Trigger::Changes {
                field: fid,
                from,
                to,
            };
            Some((subject, scope))
        }
        T::Becomes { record, condition } => {
            let subject = super::declare::record_named(cx, record)?;
            let mut scope = Scope::for_subject(&record.name, subject);
            let condition = cx.condition(condition, &mut scope, "a `becomes` condition");
            rule.trigger = ir::Trigger::Becomes { condition };
            Some((subject, scope))
        }
        T::Event { name, record } => {
            let subject = super::declare::record_named(cx, record)?;
            let mut scope = Scope::for_subject(&record.name, subject);
            scope.event = true;
            scope.event_decl = super::events::trigger(cx, name, record, subject);
            rule.trigger = ir::Trigger::Event {
                name: name.name.clone(),
            };
            Some((subject, scope))
        }
        T::Every { schedule, each } => {
            let schedule = self::schedule(cx, schedule, decl.trigger.span);
            let Some(each) = each else {
                cx.report(Problem::SweepWithoutEach {
                    span: decl.trigger.span,
                });
                return None;
            };
            let subject = super::declare::record_named(cx, each)?;
            rule.trigger = ir::Trigger::Every {
                schedule: schedule?,
            };
            Some((subject, Scope::for_subject(&each.name, subject)))
        }
    }
}

fn schedule(cx: &mut Checker, schedule: &ast::Schedule, span: Span) -> Option<ir::Schedule> {
    let time = |cx: &mut Checker, at: &ast::Text| {
        let t = flowc_syntax::time::parse_time_of_day(&at.value);
        if t.is_none() {
            cx.report(Problem::BadTimeOfDay {
                span: at.span,
                text: at.value.clone(),
            });
        }
        t
    };
    let local = matches!(
        schedule,
        ast::Schedule::Daily { .. } | ast::Schedule::Weekly { .. }
    );
    if local && !cx.schema.timezone_declared {
        cx.report(Problem::NoTimezone { span });
    }
    match schedule {
        ast::Schedule::Daily { at } => Some(ir::Schedule::Daily { at: time(cx, at)? }),
        ast::Schedule::Weekly { day, at } => {
            let weekday = [
                "monday",
                "tuesday",
                "wednesday",
                "thursday",
                "friday",
                "saturday",
                "sunday",
            ]
            .iter()
            .position(|d| *d == day.name)? as u32
                + 1;
            Some(ir::Schedule::Weekly {
                weekday,
                at: time(cx, at)?,
            })
        }
        ast::Schedule::Interval { every } => match every.kind {
            ast::ExprKind::Duration(seconds) if seconds > 0 => {
                Some(ir::Schedule::Interval { seconds })
            }
            ast::ExprKind::Months(_) => {
                cx.report(Problem::MonthsWithoutLength {
                    span: every.span,
                    hint: "a sweep's interval is a fixed length; for once a month write \
                           `every day at \"09:00\" for each R where day(today) == 1`"
                        .into(),
                });
                None
            }
            _ => {
                cx.report(Problem::BadInterval {
                    span: every.span,
                    what: "a sweep interval",
                });
                None
            }
        },
    }
}

fn options(cx: &mut Checker, decl: &ast::RuleDecl, rule: &mut ir::RuleDef, scope: &mut Scope) {
    let mut reenter_at: Option<Span> = None;
    let mut goal_at: Option<Span> = None;
    let mut send_during_at: Option<Span> = None;
    for option in &decl.options {
        match option {
            ast::RuleOption::Reenter { after, span } => {
                if let Some(first) = reenter_at {
                    cx.report(Problem::DuplicateOption {
                        span: *span,
                        what: "reenter",
                        first,
                    });
                    continue;
                }
                reenter_at = Some(*span);
                rule.reenter = match after {
                    None => ir::Reenter::Never,
                    Some(e) if months_of(e).is_some() => {
                        let months = months_of(e).unwrap_or(0);
                        if months <= 0 {
                            cx.report(Problem::BadInterval {
                                span: e.span,
                                what: "`reenter after`",
                            });
                            ir::Reenter::WhenEnded
                        } else {
                            ir::Reenter::AfterMonths(months)
                        }
                    }
                    Some(e) => match constant_duration(cx, e, scope, "`reenter after`") {
                        Some(seconds) if seconds <= 0 => {
                            cx.report(Problem::BadInterval {
                                span: e.span,
                                what: "`reenter after`",
                            });
                            ir::Reenter::WhenEnded
                        }
                        Some(seconds) => ir::Reenter::After(seconds),
                        None => ir::Reenter::WhenEnded,
                    },
                };
            }
            ast::RuleOption::Goal {
                condition,
                continues,
                span,
            } => {
                if let Some(first) = goal_at {
                    cx.report(Problem::DuplicateOption {
                        span: *span,
                        what: "goal",
                        first,
                    });
                    continue;
                }
                goal_at = Some(*span);
                rule.goal = Some(ir::Goal {
                    condition: cx.condition(condition, scope, "a `goal`"),
                    ends_run: !continues,
                });
            }
            ast::RuleOption::SendDuring { calendar, span } => {
                if let Some(first) = send_during_at {
                    cx.report(Problem::DuplicateOption {
                        span: *span,
                        what: "send during",
                        first,
                    });
                    continue;
                }
                send_during_at = Some(*span);
                rule.send_during = cx.send_during(calendar);
            }
        }
    }
}

/// A duration that must be known without any record: `60d`, `2w`.
/// Reports a fixed duration (`0s`, `-1d`) where only a positive one makes
/// sense; computed durations are checked when the run gets there.
/// The duration of a `wait` or its `at most`: a fixed duration, or a month
/// literal (from now to the same local time that many months later).
fn wait_duration(
    cx: &mut Checker,
    e: &ast::Expr,
    scope: &mut Scope,
    what: &'static str,
) -> ir::Expr {
    if let Some(months) = months_of(e) {
        if months <= 0 {
            cx.report(Problem::BadInterval { span: e.span, what });
        }
        return cx.months_from_now(months, e.span);
    }
    let d = cx.expr(e, scope);
    let d = cx.coerce(d, Ty::DURATION, what, None);
    positive(cx, &d, e.span, what);
    d
}

fn positive(cx: &mut Checker, d: &ir::Expr, span: Span, what: &'static str) {
    if fixed_seconds(d).is_some_and(|s| s <= 0) {
        cx.report(Problem::BadInterval { span, what });
    }
}

/// A duration literal's seconds, negated or not (`7d`, `-1d`).
fn fixed_seconds(d: &ir::Expr) -> Option<i64> {
    match &d.kind {
        K::Lit(ir::Literal::Duration(s)) => Some(*s),
        K::Neg(inner) => fixed_seconds(inner).map(|s| -s),
        _ => None,
    }
}

pub(crate) fn constant_duration(
    cx: &mut Checker,
    e: &ast::Expr,
    scope: &mut Scope,
    context: &str,
) -> Option<i64> {
    let typed = cx.expr(e, scope);
    match fixed_seconds(&typed) {
        Some(s) => Some(s),
        None if typed.ty.is_error() => None,
        _ => {
            let found = cx.schema.type_name(typed.ty);
            cx.report(Problem::Mismatch {
                span: e.span,
                context: context.to_string(),
                expected: "a duration literal".into(),
                found,
                hint: Some("write a fixed duration such as `60d` or `2w`".into()),
            });
            None
        }
    }
}

/// Gives each step its stable name: its label, or `kind#n`.
#[derive(Default)]
struct StepNamer {
    counts: HashMap<&'static str, u32>,
    labels: HashMap<String, Span>,
}

impl StepNamer {
    fn name(&mut self, cx: &mut Checker, step: &ast::Step) -> String {
        if let Some(label) = &step.label {
            if let Some(&first) = self.labels.get(&label.name) {
                cx.report(Problem::DuplicateLabel {
                    span: label.span,
                    label: label.name.clone(),
                    first,
                });
            } else {
                self.labels.insert(label.name.clone(), label.span);
            }
            return label.name.clone();
        }
        let kind = kind_word(&step.kind);
        let n = self.counts.entry(kind).or_insert(0);
        *n += 1;
        format!("{kind}#{n}")
    }
}

fn kind_word(kind: &ast::StepKind) -> &'static str {
    use ast::StepKind as S;
    match kind {
        S::AddToList { .. } => "add",
        S::RemoveFromList { .. } => "remove",
        S::Tag { .. } => "tag",
        S::Untag { .. } => "untag",
        S::Set { .. } => "set",
        S::SendEmail { .. } => "send",
        S::Notify { .. } => "notify",
        S::CreateTask { .. } => "task",
        S::Assign { .. } => "assign",
        S::Wait(_) => "wait",
        S::If { .. } => "if",
        S::RequireApproval { .. } => "approval",
        S::Lock(_) => "lock",
        S::Unlock(_) => "unlock",
        S::Stop => "stop",
    }
}

fn steps(
    cx: &mut Checker,
    steps: &[ast::Step],
    scope: &mut Scope,
    namer: &mut StepNamer,
) -> Vec<ir::Step> {
    let mut out = Vec::with_capacity(steps.len());
    let mut stopped: Option<Span> = None;
    for step in steps {
        if let Some(stop) = stopped.take() {
            cx.report(Problem::UnreachableStep {
                span: step.span,
                stop,
            });
        }
        if matches!(step.kind, ast::StepKind::Stop) {
            stopped = Some(step.span);
        }
        let name = namer.name(cx, step);
        let kind = self::step(cx, step, scope, namer);
        out.push(ir::Step {
            name,
            kind,
            span: step.span,
        });
    }
    out
}

/// A record-typed expression, or a report that it is not one.
pub(super) fn record(
    cx: &mut Checker,
    e: &ast::Expr,
    scope: &mut Scope,
    context: &str,
) -> (ir::Expr, Option<ir::RecordId>) {
    let typed = cx.expr(e, scope);
    match typed.ty.base {
        Type::Record(r) => (typed, Some(r)),
        Type::Error => (typed, None),
        _ => {
            let found = cx.schema.type_name(typed.ty);
            cx.report(Problem::Mismatch {
                span: e.span,
                context: context.to_string(),
                expected: "a record".into(),
                found,
                hint: None,
            });
            (typed, None)
        }
    }
}

/// A field to write: `set R.f = …`, `assign R.f`.
fn target(
    cx: &mut Checker,
    e: &ast::Expr,
    scope: &mut Scope,
) -> Option<(ir::Expr, ir::RecordId, ir::FieldId, Ty)> {
    let ast::ExprKind::Field { .. } = &e.kind else {
        cx.report(Problem::NotAssignable { span: e.span });
        return None;
    };
    let typed = cx.expr(e, scope);
    match typed.kind {
        K::Field {
            base,
            record,
            field,
        } => {
            let ty = cx.schema.field(record, field).ty;
            Some((*base, record, field, ty))
        }
        K::Cast(_) => {
            cx.report(Problem::NotAssignable { span: e.span });
            None
        }
        _ => None,
    }
}

fn step(
    cx: &mut Checker,
    step: &ast::Step,
    scope: &mut Scope,
    namer: &mut StepNamer,
) -> ir::StepKind {
    use ast::StepKind as S;
    use ir::StepKind as I;
    let span = step.span;
    match &step.kind {
        S::AddToList { item, list } | S::RemoveFromList { item, list } => {
            let value = cx.expr(item, scope);
            let Some(id) = cx.list_member(&value, list) else {
                return I::Stop;
            };
            if matches!(step.kind, S::AddToList { .. }) {
                I::AddToList {
                    item: value,
                    list: id,
                }
            } else {
                I::RemoveFromList {
                    item: value,
                    list: id,
                }
            }
        }
        S::Tag { target, tag } | S::Untag { target, tag } => {
            let (value, _) = record(cx, target, scope, "the record to tag");
            if matches!(step.kind, S::Tag { .. }) {
                I::Tag {
                    target: value,
                    tag: tag.value.clone(),
                }
            } else {
                I::Untag {
                    target: value,
                    tag: tag.value.clone(),
                }
            }
        }
        S::Set { target: t, value } => {
            let Some((base, record, field, ty)) = target(cx, t, scope) else {
                return I::Stop;
            };
            let v = cx.expr(value, scope);
            let context = format!("the value of `{}`", nulls::path(t).unwrap_or_default());
            let v = cx.coerce(v, ty, &context, None);
            I::Set {
                target: base,
                record,
                field,
                value: v,
            }
        }
        S::SendEmail { template, to } => {
            let recipient = recipient(cx, to, scope);
            let Some(id) = cx.template_named(template) else {
                return I::Stop;
            };
            let Some(recipient) = recipient else {
                return I::Stop;
            };
            let record = match &recipient {
                ir::Recipient::Record { record, .. } => Some(*record),
                ir::Recipient::Address(_) => None,
            };
            let message = placeholders::message(cx, id, scope, record, span, false);
            I::SendEmail {
                template: id,
                to: recipient,
                message,
            }
        }
        S::Notify { to, message } => notify(cx, to, message, scope, span),
        S::CreateTask {
            title,
            assignee,
            due,
        } => {
            let (who, _) = record(cx, assignee, scope, "the task's assignee");
            let title = placeholders::inline(cx, title, scope, None, true);
            let due = due.as_ref().map(|d| {
                let typed = cx.expr(d, scope);
                match typed.ty.base {
                    Type::Date | Type::DateTime | Type::Error => typed,
                    _ => cx.coerce(
                        typed,
                        Ty::nullable(Type::Date),
                        "a task's due date",
                        Some("write a date such as `today + 3d`".into()),
                    ),
                }
            });
            I::CreateTask {
                title,
                assignee: who,
                due,
            }
        }
        S::Assign {
            target: t,
            cases,
            otherwise,
        } => {
            let Some((base, record, field, ty)) = target(cx, t, scope) else {
                return I::Stop;
            };
            let path = nulls::path(t).unwrap_or_default();
            let mut typed_cases = Vec::with_capacity(cases.len());
            for case in cases {
                let c = cx.condition(&case.condition, scope, "an `assign … when` condition");
                let v = cx.expr(&case.value, scope);
                let v = cx.coerce(v, ty, &format!("the value assigned to `{path}`"), None);
                typed_cases.push((c, v));
            }
            let otherwise = otherwise.as_ref().map(|o| {
                let v = cx.expr(o, scope);
                cx.coerce(v, ty, &format!("the value assigned to `{path}`"), None)
            });
            I::Assign {
                target: base,
                record,
                field,
                cases: typed_cases,
                otherwise,
            }
        }
        S::Wait(wait) => I::Wait(self::wait(cx, wait, scope)),
        S::If {
            branches,
            otherwise,
        } => {
            let before = scope.not_null.len();
            let mut typed = Vec::with_capacity(branches.len());
            for branch in branches {
                let c = cx.condition(&branch.condition, scope, "an `if` condition");
                let inner_before = scope.not_null.len();
                scope.not_null.extend(nulls::facts(&branch.condition, true));
                let body = steps(cx, &branch.steps, scope, namer);
                scope.not_null.truncate(inner_before);
                scope
                    .not_null
                    .extend(nulls::facts(&branch.condition, false));
                typed.push((c, body));
            }
            let otherwise = otherwise
                .as_ref()
                .map_or_else(Vec::new, |b| steps(cx, &b.steps, scope, namer));
            scope.not_null.truncate(before);
            I::If {
                branches: typed,
                otherwise,
            }
        }
        S::RequireApproval { from, on_reject } => {
            let (who, approver) = record(cx, from, scope, "the approver");
            // The project's own approval email, if it declares one (§9).
            let message = cx
                .names
                .templates
                .get(placeholders::APPROVAL_TEMPLATE)
                .copied()
                .map(|id| placeholders::approval_message(cx, id, scope, approver, span));
            let on_reject = on_reject
                .as_ref()
                .map_or_else(Vec::new, |b| steps(cx, &b.steps, scope, namer));
            I::RequireApproval {
                from: who,
                on_reject,
                message,
            }
        }
        S::Lock(e) => I::Lock(record(cx, e, scope, "the record to lock").0),
        S::Unlock(e) => I::Unlock(record(cx, e, scope, "the record to unlock").0),
        S::Stop => I::Stop,
    }
}

/// Who an email goes to: a record with an `email` field, or a text address.
pub(super) fn recipient(
    cx: &mut Checker,
    to: &ast::Expr,
    scope: &mut Scope,
) -> Option<ir::Recipient> {
    let typed = cx.expr(to, scope);
    match typed.ty.base {
        Type::Record(r) => {
            let def = cx.schema.record(r);
            match def.email_field() {
                Some(f) => Some(ir::Recipient::Record {
                    expr: typed,
                    record: r,
                    email_field: f,
                }),
                None => {
                    let record = def.name.clone();
                    cx.report(Problem::NoEmailField {
                        span: to.span,
                        record,
                    });
                    None
                }
            }
        }
        Type::Text | Type::Any => {
            let typed = cx.coerce(typed, Ty::nullable(Type::Text), "an email address", None);
            Some(ir::Recipient::Address(typed))
        }
        Type::Error => None,
        _ => {
            let found = cx.schema.type_name(typed.ty);
            cx.report(Problem::Mismatch {
                span: to.span,
                context: "an email's recipient".into(),
                expected: "a record with an `email` field, or a text address".into(),
                found,
                hint: None,
            });
            None
        }
    }
}

/// `notify role "R"` when `user.role` is an enum: R must be one of its
/// values (E0121).
fn role_value(cx: &mut Checker, user: Option<ir::RecordId>, role: &ast::Text) {
    let Some(user) = user else { return };
    let def = cx.schema.record(user);
    let Some(Type::Enum(id)) = def
        .field_named("role")
        .map(|f| def.fields[f.index()].ty.base)
    else {
        return;
    };
    let roles = cx.schema.enum_def(id);
    if roles.values.contains(&role.value) {
        return;
    }
    let problem = Problem::UnknownRole {
        span: role.span,
        enum_name: roles.name.clone(),
        role: role.value.clone(),
        suggestion: flowc_syntax::suggest::closest(
            &role.value,
            roles.values.iter().map(String::as_str),
        )
        .map(str::to_string),
        values: roles.values.clone(),
    };
    cx.report(problem);
}

fn notify(
    cx: &mut Checker,
    to: &ast::NotifyTarget,
    message: &ast::Message,
    scope: &mut Scope,
    span: Span,
) -> ir::StepKind {
    let (target, record) = match to {
        ast::NotifyTarget::Role(role) => {
            let user = match cx.names.types.get("user") {
                Some(TypeDecl::Record(u)) => Some(*u),
                _ => None,
            };
            let ok = user.is_some_and(|u| {
                let def = cx.schema.record(u);
                let field = |f: &str| def.field_named(f).map(|id| def.fields[id.index()].ty.base);
                field("email") == Some(Type::Text)
                    && matches!(field("role"), Some(Type::Text | Type::Enum(_)))
            });
            if ok {
                role_value(cx, user, role);
            }
            if !ok {
                cx.unknown(
                    role.span,
                    NameKind::Record,
                    "user",
                    Vec::new(),
                    Some("`notify role` writes to every `user` whose `role` matches; declare `record user { email: text, role: text }`".into()),
                );
            }
            (Some(ir::NotifyTarget::Role(role.value.clone())), user)
        }
        ast::NotifyTarget::Expr(e) => {
            let r = recipient(cx, e, scope);
            let record = match &r {
                Some(ir::Recipient::Record { record, .. }) => Some(*record),
                _ => None,
            };
            (r.map(ir::NotifyTarget::Recipient), record)
        }
    };
    let message = match message {
        ast::Message::Inline(text) => {
            let parts = placeholders::inline(cx, text, scope, record, false);
            ir::Message {
                template: None,
                kind: ir::TemplateKind::Transactional,
                subject: parts.clone(),
                body: parts,
                html: None,
            }
        }
        ast::Message::Template(name) => match cx.template_named(name) {
            Some(id) => placeholders::message(cx, id, scope, record, span, true),
            None => ir::Message {
                template: None,
                kind: ir::TemplateKind::Transactional,
                subject: Vec::new(),
                body: Vec::new(),
                html: None,
            },
        },
    };
    match target {
        Some(to) => ir::StepKind::Notify { to, message },
        None => ir::StepKind::Stop,
    }
}

fn wait(cx: &mut Checker, wait: &ast::Wait, scope: &mut Scope) -> ir::Wait {
    match wait {
        ast::Wait::For { duration, unless } => {
            let d = wait_duration(cx, duration, scope, "a wait's duration");
            let unless = unless.as_ref().map(|u| match u {
                ast::Unless::Event(name) => ir::Unless::Event(name.name.clone()),
                ast::Unless::Condition(c) => {
                    let typed = cx.condition(c, scope, "an `unless` condition");
                    match typed.kind {
                        K::Engaged {
                            record,
                            template,
                            clicked,
                        } => ir::Unless::Engagement {
                            record: *record,
                            template,
                            clicked,
                        },
                        _ => ir::Unless::Condition(typed),
                    }
                }
            });
            ir::Wait::For {
                duration: d,
                unless,
            }
        }
        ast::Wait::Business {
            amount,
            count,
            calendar,
            unit,
            span,
        } => {
            let count = count.as_ref().map(|e| {
                let typed = cx.expr(e, scope);
                cx.coerce(typed, Ty::INT, "the count of a business wait", None)
            });
            cx.business_wait(*amount, count, calendar, *unit, *span)
        }
        ast::Wait::Until { target, at_most } => {
            let typed = cx.expr(target, scope);
            match typed.ty.base {
                Type::Date | Type::DateTime => {
                    if let Some(m) = at_most {
                        cx.report(Problem::Mismatch {
                            span: m.span,
                            context: "`at most`".into(),
                            expected: "used with a condition".into(),
                            found: "a date".into(),
                            hint: Some("`wait until DATE` already ends at that date".into()),
                        });
                    }
                    ir::Wait::UntilTime { time: typed }
                }
                _ => {
                    if typed.ty.base == Type::Bool && typed.ty.nullable {
                        cx.warn_nullable(target, &typed, scope, "a condition");
                    }
                    let condition = cx.coerce(typed, Ty::nullable(Type::Bool), "`wait until`", Some("wait until a condition (`contact in list paid`) or a date (`opportunity.close_date - 7d`)".into()));
                    if !condition.ty.is_error() && !depends_on_records(&condition) {
                        cx.report(Problem::UnwakeableWait { span: target.span });
                    }
                    let at_most = at_most
                        .as_ref()
                        .map(|m| wait_duration(cx, m, scope, "`at most`"));
                    ir::Wait::UntilCondition { condition, at_most }
                }
            }
        }
    }
}

/// Whether any change to a record, list, tag or event could change `e`.
pub(crate) fn depends_on_records(e: &ir::Expr) -> bool {
    let mut found = false;
    e.walk(&mut |x| {
        found |= matches!(
            x.kind,
            K::Field { .. }
                | K::InList { .. }
                | K::InSegment { .. }
                | K::HasTag { .. }
                | K::Engaged { .. }
                | K::Unsubscribed { .. }
                | K::Aggregate(_)
                | K::Lookup { .. }
        )
    });
    found
}

/// W0104: a condition the engine watches for turning true — a `becomes`,
/// a `goal` that ends runs, a `wait until` condition — that time passing
/// can make true: it reads `today` or `now` (through functions and
/// segments too), and not only in a way that days passing can only make
/// false (`days_until(d) > 365` becomes true only when `d` is edited). The
/// engine re-evaluates these only on changes to what they read
/// (docs/runtime.md), never as time passes.
pub(super) fn becomes_and_time(cx: &mut Checker, rules: &[ir::RuleDef], functions: &[ir::FnDef]) {
    for rule in rules {
        let mut watched: Vec<(&'static str, &ir::Expr)> = Vec::new();
        if let ir::Trigger::Becomes { condition } = &rule.trigger {
            watched.push(("becomes", condition));
        }
        if let Some(goal) = rule.goal.as_ref().filter(|g| g.ends_run) {
            watched.push(("goal", &goal.condition));
        }
        wait_conditions(&rule.steps, &mut watched);
        // A rule whose record is unknown (already an error) has no name to
        // suggest a sweep over.
        let Some(record) = cx.schema.records.get(rule.subject.index()) else {
            continue;
        };
        let record = record.name.clone();
        for (construct, condition) in watched {
            let time = Time {
                segments: &cx.schema.segments,
                functions,
            };
            if !time.moves(condition, &[], 0).rises {
                continue;
            }
            let mut seen = std::collections::HashSet::new();
            if let Some(what) = reads_time(cx, condition, functions, &mut seen) {
                cx.report(Problem::BecomesReadsTime {
                    span: condition.span,
                    record: record.clone(),
                    what,
                    construct,
                });
            }
        }
    }
}

/// The `wait until COND` conditions of `steps`, nested ones included.
fn wait_conditions<'a>(steps: &'a [ir::Step], out: &mut Vec<(&'static str, &'a ir::Expr)>) {
    for step in steps {
        match &step.kind {
            // One that reads no record at all is E0502 already.
            ir::StepKind::Wait(ir::Wait::UntilCondition { condition, .. })
                if depends_on_records(condition) =>
            {
                out.push(("wait until", condition));
            }
            ir::StepKind::If {
                branches,
                otherwise,
            } => {
                for (_, body) in branches {
                    wait_conditions(body, out);
                }
                wait_conditions(otherwise, out);
            }
            ir::StepKind::RequireApproval { on_reject, .. } => wait_conditions(on_reject, out),
            _ => {}
        }
    }
}

/// How a value moves as time passes, all else unchanged.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Trend {
    Still,
    Up,
    Down,
    Unknown,
}

impl Trend {
    fn plus(self, other: Trend) -> Trend {
        match (self, other) {
            (Trend::Still, t) | (t, Trend::Still) => t,
            (Trend::Up, Trend::Up) => Trend::Up,
            (Trend::Down, Trend::Down) => Trend::Down,
            _ => Trend::Unknown,
        }
    }

    fn negated(self) -> Trend {
        match self {
            Trend::Up => Trend::Down,
            Trend::Down => Trend::Up,
            t => t,
        }
    }
}

/// Whether time passing can turn a condition true (`rises`) or false.
#[derive(Clone, Copy, Debug, Default)]
struct Moves {
    rises: bool,
    falls: bool,
}

impl Moves {
    fn both() -> Moves {
        Moves {
            rises: true,
            falls: true,
        }
    }
}

/// A small analysis of how expressions move with `today` and `now`;
/// `vars` are the trends of a function's parameters (the subject: still).
struct Time<'a> {
    segments: &'a [ir::SegmentDef],
    functions: &'a [ir::FnDef],
}

impl Time<'_> {
    const DEPTH: usize = 32;

    fn trend(&self, e: &ir::Expr, vars: &[Trend], depth: usize) -> Trend {
        if depth > Self::DEPTH {
            return Trend::Unknown;
        }
        let d = depth + 1;
        match &e.kind {
            K::Today | K::Now => Trend::Up,
            K::Var(v) => vars.get(v.0 as usize).copied().unwrap_or(Trend::Still),
            K::Cast(x) => self.trend(x, vars, d),
            K::Neg(x) => self.trend(x, vars, d).negated(),
            K::Arith { op, left, right } => {
                let (l, r) = (self.trend(left, vars, d), self.trend(right, vars, d));
                match op {
                    ir::ArithOp::Add(_)
                    | ir::ArithOp::DateAdd
                    | ir::ArithOp::DateTimeAdd
                    | ir::ArithOp::DurationAdd => l.plus(r),
                    ir::ArithOp::Sub(_)
                    | ir::ArithOp::DateSub
                    | ir::ArithOp::DateDiff
                    | ir::ArithOp::DateTimeSub
                    | ir::ArithOp::DateTimeDiff
                    | ir::ArithOp::DurationSub => l.plus(r.negated()),
                    _ if l == Trend::Still && r == Trend::Still => Trend::Still,
                    _ => Trend::Unknown,
                }
            }
            K::CallFn { function, args } => {
                let args: Vec<Trend> = args.iter().map(|a| self.trend(a, vars, d)).collect();
                match self.functions.get(function.index()) {
                    Some(f) => self.trend(&f.body, &args, d),
                    None => Trend::Unknown,
                }
            }
            // Dates moved by calendar or business time keep their order.
            K::Call { function, args }
                if matches!(
                    function,
                    ir::Builtin::DateOf
                        | ir::Builtin::AddMonths
                        | ir::Builtin::AtTime
                        | ir::Builtin::AddBusinessDays
                        | ir::Builtin::AddBusinessSeconds
                        | ir::Builtin::NextBusinessDay
                ) && args
                    .iter()
                    .skip(1)
                    .all(|a| self.trend(a, vars, d) == Trend::Still) =>
            {
                args.first()
                    .map_or(Trend::Still, |a| self.trend(a, vars, d))
            }
            K::InSegment { segment, .. } => match self.segments.get(segment.index()) {
                Some(s) if self.trend(&s.condition, &[], d) == Trend::Still => Trend::Still,
                Some(_) | None => Trend::Unknown,
            },
            _ => {
                let mut all = Trend::Still;
                e.for_each_child(|c| {
                    if self.trend(c, vars, d) != Trend::Still {
                        all = Trend::Unknown;
                    }
                });
                all
            }
        }
    }

    fn moves(&self, e: &ir::Expr, vars: &[Trend], depth: usize) -> Moves {
        if depth > Self::DEPTH {
            return Moves::both();
        }
        let d = depth + 1;
        match &e.kind {
            K::Compare {
                op, left, right, ..
            } => {
                let diff = self
                    .trend(left, vars, d)
                    .plus(self.trend(right, vars, d).negated());
                let (rises, falls) = match (diff, op) {
                    (Trend::Still, _) => (false, false),
                    (Trend::Up, ir::CmpOp::Gt | ir::CmpOp::Ge)
                    | (Trend::Down, ir::CmpOp::Lt | ir::CmpOp::Le) => (true, false),
                    (Trend::Up, ir::CmpOp::Lt | ir::CmpOp::Le)
                    | (Trend::Down, ir::CmpOp::Gt | ir::CmpOp::Ge) => (false, true),
                    _ => (true, true),
                };
                Moves { rises, falls }
            }
            K::And(a, b) | K::Or(a, b) => {
                let (a, b) = (self.moves(a, vars, d), self.moves(b, vars, d));
                Moves {
                    rises: a.rises || b.rises,
                    falls: a.falls || b.falls,
                }
            }
            K::Not(a) => {
                let a = self.moves(a, vars, d);
                Moves {
                    rises: a.falls,
                    falls: a.rises,
                }
            }
            K::CallFn { function, args } => {
                let args: Vec<Trend> = args.iter().map(|a| self.trend(a, vars, d)).collect();
                match self.functions.get(function.index()) {
                    Some(f) => self.moves(&f.body, &args, d),
                    None => Moves::both(),
                }
            }
            K::InSegment {
                segment, negated, ..
            } => match self.segments.get(segment.index()) {
                Some(s) => {
                    let m = self.moves(&s.condition, &[], d);
                    if *negated {
                        Moves {
                            rises: m.falls,
                            falls: m.rises,
                        }
                    } else {
                        m
                    }
                }
                None => Moves::both(),
            },
            _ if self.trend(e, vars, d) == Trend::Still => Moves::default(),
            _ => Moves::both(),
        }
    }
}

/// `today` or `now`, if `e` reads either (`seen`: functions, `true`, and
/// segments already looked into).
fn reads_time(
    cx: &Checker,
    e: &ir::Expr,
    functions: &[ir::FnDef],
    seen: &mut std::collections::HashSet<(bool, u32)>,
) -> Option<&'static str> {
    let mut found = None;
    e.walk(&mut |x| {
        if found.is_some() {
            return;
        }
        found = match &x.kind {
            K::Today => Some("today"),
            K::Now => Some("now"),
            K::CallFn { function, .. } if seen.insert((true, function.0)) => functions
                .get(function.index())
                .and_then(|f| reads_time(cx, &f.body, functions, seen)),
            K::InSegment { segment, .. } if seen.insert((false, segment.0)) => cx
                .schema
                .segments
                .get(segment.index())
                .and_then(|s| reads_time(cx, &s.condition, functions, seen)),
            _ => None,
        };
    });
    found
}
