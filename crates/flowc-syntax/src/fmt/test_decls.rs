//! `test` blocks and their steps.

use super::expr::Prec;
use super::printer::{INDENT, Printer};
use crate::syntax::ast::{
    EmailCount, Expectation, FieldValue, Ident, TestDecl, TestStep, TestStepKind,
};

impl Printer<'_> {
    pub(super) fn test(&mut self, d: &TestDecl) {
        let head = format!("test {}", self.text(&d.name.value, d.name.span));
        self.line(0, (d.span.start, d.name.span.end), &head, true);
        self.fresh = true;
        for step in &d.steps {
            self.test_step(INDENT, step);
        }
        self.close(d.span.end, INDENT, 0, "end");
    }

    fn test_step(&mut self, indent: usize, step: &TestStep) {
        let line = match &step.kind {
            TestStepKind::Given {
                record,
                var,
                fields,
            } => {
                let head = format!("given {} {} =", record.name, var.name);
                return self.with_record(indent, step, &head, var, fields);
            }
            TestStepKind::Event { name, on, data } if !data.is_empty() => {
                let head = format!("event {} on {}", name.name, on.name);
                return self.with_record(indent, step, &head, on, data);
            }
            TestStepKind::Event { name, on, .. } => format!("event {} on {}", name.name, on.name),
            TestStepKind::Update { var, fields } => {
                let assignments: Vec<String> = fields
                    .iter()
                    .map(|f| format!("{} = {}", f.field.name, self.expr(&f.value)))
                    .collect();
                format!("update {} set {}", var.name, assignments.join(", "))
            }
            TestStepKind::Delete { var } => format!("delete {}", var.name),
            TestStepKind::Approve { target: None } => "approve".into(),
            TestStepKind::Approve { target: Some(e) } => format!("approve {}", self.expr(e)),
            TestStepKind::Reject { target: None } => "reject".into(),
            TestStepKind::Reject { target: Some(e) } => format!("reject {}", self.expr(e)),
            TestStepKind::After { duration } => format!("after {}", self.expr(duration)),
            TestStepKind::Expect(expectation) => {
                format!("expect {}", self.expectation(expectation))
            }
        };
        self.span_line(indent, step.span, &line, true);
    }

    /// `head { field: value, … }`, on one line if it fits and no comment
    /// inside the braces needs a line, else one field per line. `last` is
    /// the last name before the braces.
    fn with_record(
        &mut self,
        indent: usize,
        step: &TestStep,
        head: &str,
        last: &Ident,
        fields: &[FieldValue],
    ) {
        let pairs: Vec<String> = fields
            .iter()
            .map(|f| format!("{}: {}", f.field.name, self.expr(&f.value)))
            .collect();
        let flat = if pairs.is_empty() {
            format!("{head} {{}}")
        } else {
            format!("{head} {{ {} }}", pairs.join(", "))
        };
        if Printer::fits(indent, &flat) && !self.has_comment(last.span.end, step.span.end) {
            self.span_line(indent, step.span, &flat, true);
            return;
        }
        let start = step.span.start;
        self.line(indent, (start, last.span.end), &format!("{head} {{"), true);
        self.fresh = true;
        for (field, pair) in fields.iter().zip(&pairs) {
            let range = (field.field.span.start, field.value.span.end);
            self.line(indent + INDENT, range, &format!("{pair},"), true);
        }
        self.close(step.span.end, indent + INDENT, indent, "}");
    }

    fn expectation(&self, expectation: &Expectation) -> String {
        match expectation {
            Expectation::Condition(e) => self.expr(e),
            Expectation::Email {
                count,
                template,
                to,
                with,
            } => {
                let mut line = counted(*count, "email", "emails");
                if let Some(t) = template {
                    line.push_str(&format!(" {}", t.name));
                }
                line.push_str(&format!(" to {}", self.expr(to)));
                if let Some(with) = with {
                    line.push_str(&format!(
                        " with {} contains {}",
                        with.part.name,
                        self.expr_at(&with.text, Prec::At)
                    ));
                }
                line
            }
            Expectation::Task {
                count,
                title,
                assignee,
            } => {
                let mut line = counted(*count, "task", "tasks");
                if let Some(title) = title {
                    line.push_str(&format!(" {}", self.text(&title.value, title.span)));
                }
                format!("{line} for {}", self.expr(assignee))
            }
            Expectation::Refused { var, fields } => {
                let assignments: Vec<String> = fields
                    .iter()
                    .map(|f| format!("{} = {}", f.field.name, self.expr(&f.value)))
                    .collect();
                format!(
                    "update {} set {} is refused",
                    var.name,
                    assignments.join(", ")
                )
            }
            Expectation::Approval { negated, subject } => {
                let mut line = format!("{}approval pending", if *negated { "no " } else { "" });
                if let Some(subject) = subject {
                    line.push_str(&format!(" for {}", self.expr(subject)));
                }
                line
            }
            Expectation::Run {
                rule,
                subject,
                state,
            } => format!(
                "run {} on {} is {}",
                rule.name,
                self.expr(subject),
                state.name
            ),
        }
    }
}

/// `email`, `no email`, `1 email`, `2 emails` (or tasks).
fn counted(count: EmailCount, one: &str, many: &str) -> String {
    match count {
        EmailCount::Some => one.to_string(),
        EmailCount::None => format!("no {one}"),
        EmailCount::Exactly(1) => format!("1 {one}"),
        EmailCount::Exactly(n) => format!("{n} {many}"),
    }
}
