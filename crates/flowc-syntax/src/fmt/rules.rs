//! Rules: the trigger, its `where`, the options and the steps.

use super::printer::{INDENT, Printer};
use crate::syntax::ast::{
    Block, Branch, BusinessUnit, ExprKind, Lifecycle, Message, NotifyTarget, RuleDecl, RuleOption,
    Schedule, Step, StepKind, Trigger, TriggerKind, Unless, Wait,
};

impl Printer<'_> {
    pub(super) fn rule(&mut self, d: &RuleDecl) {
        let head = format!("rule {}", d.name.name);
        self.line(0, (d.span.start, d.name.span.end), &head, true);
        self.fresh = true;
        let trigger = self.trigger(&d.trigger);
        self.span_line(INDENT, d.trigger.span, &trigger, false);
        if let Some(filter) = &d.filter {
            self.clause(2 * INDENT, "where ", filter);
        }
        self.fresh = true;
        for option in &d.options {
            let (line, span) = match option {
                RuleOption::Reenter { after: None, span } => ("reenter never".to_string(), span),
                RuleOption::Reenter {
                    after: Some(after),
                    span,
                } => (format!("reenter after {}", self.expr(after)), span),
                RuleOption::Goal {
                    condition,
                    continues,
                    span,
                } => {
                    let tail = if *continues { ", continue" } else { "" };
                    (format!("goal {}{tail}", self.expr(condition)), span)
                }
                RuleOption::SendDuring { calendar, span } => {
                    (format!("send during {}", calendar.name), span)
                }
            };
            self.span_line(INDENT, *span, &line, true);
        }
        self.steps(INDENT, &d.steps);
        self.close(d.span.end, INDENT, 0, "end");
    }

    fn trigger(&self, trigger: &Trigger) -> String {
        match &trigger.kind {
            TriggerKind::Record { record, what } => {
                let what = match what {
                    Lifecycle::Created => "created",
                    Lifecycle::Updated => "updated",
                    Lifecycle::Deleted => "deleted",
                };
                format!("when {} is {what}", record.name)
            }
            TriggerKind::Changes {
                record,
                field,
                from,
                to,
            } => {
                let mut line = format!("when {}.{} changes", record.name, field.name);
                if let Some(from) = from {
                    line.push_str(&format!(" from {}", self.expr(from)));
                }
                if let Some(to) = to {
                    line.push_str(&format!(" to {}", self.expr(to)));
                }
                line
            }
            TriggerKind::Becomes { record, condition } => {
                format!("when {} becomes {}", record.name, self.expr(condition))
            }
            TriggerKind::Event { name, record } => {
                format!("when event {} on {}", name.name, record.name)
            }
            TriggerKind::Every { schedule, each } => {
                let mut line = match schedule {
                    Schedule::Daily { at } => {
                        format!("every day at {}", self.text(&at.value, at.span))
                    }
                    Schedule::Weekly { day, at } => {
                        format!("every {} at {}", day.name, self.text(&at.value, at.span))
                    }
                    Schedule::Interval { every } => format!("every {}", self.expr(every)),
                };
                if let Some(each) = each {
                    line.push_str(&format!(" for each {}", each.name));
                }
                line
            }
        }
    }

    /// A block's steps at `indent`.
    pub(super) fn steps(&mut self, indent: usize, steps: &[Step]) {
        for step in steps {
            self.step(indent, step);
        }
    }

    fn step(&mut self, indent: usize, step: &Step) {
        let label = match &step.label {
            Some(label) => format!("{}: ", label.name),
            None => String::new(),
        };
        let line = match &step.kind {
            StepKind::Assign {
                target,
                cases,
                otherwise,
            } => {
                let head = format!("{label}assign {}", self.expr(target));
                let start = step.span.start;
                self.line(indent, (start, target.span.end), &head, true);
                self.fresh = true;
                for case in cases {
                    let line = format!(
                        "when {} to {}",
                        self.expr(&case.condition),
                        self.expr(&case.value)
                    );
                    self.span_line(indent + INDENT, case.span, &line, true);
                }
                if let Some(value) = otherwise {
                    let line = format!("otherwise {}", self.expr(value));
                    self.span_line(indent + INDENT, value.span, &line, true);
                }
                return;
            }
            StepKind::If {
                branches,
                otherwise,
            } => return self.if_step(indent, step, &label, branches, otherwise.as_ref()),
            StepKind::RequireApproval {
                from,
                on_reject: Some(block),
            } => {
                let head = format!("{label}require approval from {}", self.expr(from));
                let start = step.span.start;
                self.line(indent, (start, from.span.end), &head, true);
                return self.on_reject(indent + INDENT, block);
            }
            StepKind::RequireApproval {
                from,
                on_reject: None,
            } => format!("require approval from {}", self.expr(from)),
            StepKind::AddToList { item, list } => {
                format!("add {} to list {}", self.expr(item), list.name)
            }
            StepKind::RemoveFromList { item, list } => {
                format!("remove {} from list {}", self.expr(item), list.name)
            }
            StepKind::Tag { target, tag } => {
                format!(
                    "tag {} {}",
                    self.expr(target),
                    self.text(&tag.value, tag.span)
                )
            }
            StepKind::Untag { target, tag } => {
                format!(
                    "untag {} {}",
                    self.expr(target),
                    self.text(&tag.value, tag.span)
                )
            }
            StepKind::Set { target, value } => {
                format!("set {} = {}", self.expr(target), self.expr(value))
            }
            StepKind::SendEmail { template, to } => {
                format!("send email {} to {}", template.name, self.expr(to))
            }
            StepKind::Notify { to, message } => self.notify(to, message),
            StepKind::CreateTask {
                title,
                assignee,
                due,
            } => {
                let mut line = format!(
                    "create task {} for {}",
                    self.text(&title.value, title.span),
                    self.expr(assignee)
                );
                if let Some(due) = due {
                    line.push_str(&format!(" due {}", self.expr(due)));
                }
                line
            }
            StepKind::Wait(wait) => self.wait(wait),
            StepKind::Lock(e) => format!("lock {}", self.expr(e)),
            StepKind::Unlock(e) => format!("unlock {}", self.expr(e)),
            StepKind::Stop => "stop".into(),
        };
        self.span_line(indent, step.span, &format!("{label}{line}"), true);
    }

    /// `if`, its `else if`s and `else`, each with its steps, and `end`.
    fn if_step(
        &mut self,
        indent: usize,
        step: &Step,
        label: &str,
        branches: &[Branch],
        otherwise: Option<&Block>,
    ) {
        for (i, branch) in branches.iter().enumerate() {
            let condition = self.expr(&branch.condition);
            let end = branch.condition.span.end;
            if i == 0 {
                let start = step.span.start;
                self.line(
                    indent,
                    (start, end),
                    &format!("{label}if {condition}"),
                    true,
                );
            } else {
                let start = branch.span.start;
                self.comments_before_else(start, end, indent);
                self.line(indent, (start, end), &format!("else if {condition}"), false);
            }
            self.fresh = true;
            self.steps(indent + INDENT, &branch.steps);
        }
        if let Some(block) = otherwise {
            let start = block.span.start;
            self.comments_before_else(start, start, indent);
            self.line(indent, (start, start + 4), "else", false);
            self.fresh = true;
            self.steps(indent + INDENT, &block.steps);
        }
        self.close(step.span.end, indent + INDENT, indent, "end");
    }

    /// The comments before an `else` at `else_at` (and inside `else if …`,
    /// up to `end`): at the `else`'s indentation if written no further
    /// right than it, else at the indentation of the steps above, where
    /// they read as the end of that branch.
    fn comments_before_else(&mut self, else_at: u32, end: u32, indent: usize) {
        let pivot = self.column(else_at);
        while let Some(start) = self.next_comment_before(end) {
            let deeper = self.column(start) > pivot;
            self.comments_before(start + 1, if deeper { indent + INDENT } else { indent });
        }
    }

    /// `on reject`, its steps and its `end`, under a `require approval`.
    fn on_reject(&mut self, indent: usize, block: &Block) {
        let start = block.span.start;
        self.line(indent, (start, start + 2), "on reject", false);
        self.fresh = true;
        self.steps(indent + INDENT, &block.steps);
        self.close(block.span.end, indent + INDENT, indent, "end");
    }

    fn notify(&self, to: &NotifyTarget, message: &Message) -> String {
        let to = match to {
            NotifyTarget::Role(role) => format!("role {}", self.text(&role.value, role.span)),
            // A bare `role` would read as the start of `role "…"`.
            NotifyTarget::Expr(e) if matches!(&e.kind, ExprKind::Name(n) if n.name == "role") => {
                "(role)".to_string()
            }
            NotifyTarget::Expr(e) => self.expr(e),
        };
        let message = match message {
            Message::Inline(text) => self.text(&text.value, text.span),
            Message::Template(name) => name.name.clone(),
        };
        format!("notify {to} {message}")
    }

    fn wait(&self, wait: &Wait) -> String {
        match wait {
            Wait::For { duration, unless } => {
                let mut line = format!("wait {}", self.expr(duration));
                match unless {
                    Some(Unless::Event(name)) => {
                        line.push_str(&format!(" unless event {}", name.name));
                    }
                    Some(Unless::Condition(c)) => {
                        line.push_str(&format!(" unless {}", self.expr(c)));
                    }
                    None => {}
                }
                line
            }
            Wait::Until { target, at_most } => {
                let mut line = format!("wait until {}", self.expr(target));
                if let Some(limit) = at_most {
                    line.push_str(&format!(", at most {}", self.expr(limit)));
                }
                line
            }
            Wait::Business {
                amount,
                count,
                calendar,
                unit,
                ..
            } => {
                let unit = match unit {
                    BusinessUnit::Days => "days",
                    BusinessUnit::Hours => "hours",
                };
                match count {
                    Some(e) => format!("wait ({}) {} {unit}", self.expr(e), calendar.name),
                    None => format!("wait {amount} {} {unit}", calendar.name),
                }
            }
        }
    }
}
