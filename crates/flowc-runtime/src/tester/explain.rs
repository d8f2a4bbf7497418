//! What a failed expectation saw: the values a condition compared, the
//! records it was about, by the names the test gave them.

use super::Runner;
use flowc_check::ir::{Expr, ExprKind, Step, StepKind, Type};
use flowc_vm::value::Value;

impl Runner<'_> {
    /// A record by the test's name for it: `c (contact #1)`, or
    /// `contact #7` for a row the test did not name.
    pub(super) fn who(&self, record: flowc_check::ir::RecordId, id: i64) -> String {
        let table = &self.program.schema.record(record).name;
        let named = self
            .names
            .iter()
            .zip(&self.vars)
            .find(|((_, r), v)| *r == record && **v == Value::Ref(id));
        match named {
            Some(((name, _), _)) => format!("{name} ({table} #{id})"),
            None => format!("{table} #{id}"),
        }
    }

    /// A value as the test would write it.
    pub(super) fn show(&self, value: &Value, ty: Type) -> String {
        match (value, ty) {
            (Value::Null, _) => "null".into(),
            (Value::Ref(id), Type::Record(record)) => self.who(record, *id),
            (Value::Text(t), Type::Text | Type::Any) => format!("\"{t}\""),
            (v, ty) => match v.to_text(ty, &self.program.schema) {
                Some(text) if matches!(ty, Type::Enum(_)) => format!("\"{text}\""),
                Some(text) => text,
                None => format!("{v:?}"),
            },
        }
    }

    /// Why the condition `e` is not true, one fact per line.
    pub(super) fn explain(&self, e: &Expr) -> Vec<String> {
        let mut facts = vec![match self.engine_value(e) {
            Some(Value::Null) => "it is null".to_string(),
            Some(v) => format!("it is {}", self.show(&v, e.ty.base)),
            None => "it cannot be evaluated".to_string(),
        }];
        self.operands(e, &mut facts);
        facts
    }

    /// The values the condition `e` is made of.
    fn operands(&self, e: &Expr, facts: &mut Vec<String>) {
        let mut operand = |label: &str, part: &Expr| {
            if let Some(v) = self.engine_value(part) {
                facts.push(format!("{label}: {}", self.show(&v, part.ty.base)));
            }
        };
        match &e.kind {
            ExprKind::Compare { left, right, .. } => {
                operand("left side", left);
                operand("right side", right);
            }
            ExprKind::Between {
                value, low, high, ..
            } => {
                operand("value", value);
                operand("low", low);
                operand("high", high);
            }
            ExprKind::In { value, .. } | ExprKind::IsNull { value, .. } => operand("value", value),
            ExprKind::Contains { text, part, .. } => {
                operand("text", text);
                operand("part", part);
            }
            ExprKind::StartsWith { text, prefix } => {
                operand("text", text);
                operand("prefix", prefix);
            }
            ExprKind::Not(inner) => {
                facts.push("the condition after `not` is true".into());
                self.operands(inner, facts);
            }
            ExprKind::And(left, right) | ExprKind::Or(left, right) => {
                for (side, part) in [("left", left), ("right", right)] {
                    if self.engine_value(part) != Some(Value::Bool(true)) {
                        facts.push(format!("the {side} part is not true"));
                        self.operands(part, facts);
                    }
                }
            }
            ExprKind::InList { value, list, .. } => {
                let list = &self.program.schema.lists[list.index()];
                self.membership(value, &list.name, list.of, facts);
            }
            ExprKind::InSegment { value, segment, .. } => {
                if let Some(Value::Ref(id)) = self.engine_value(value) {
                    let segment = &self.program.schema.segments[segment.index()];
                    let member = self.engine_value(e) == Some(Value::Bool(true));
                    let is = if member { "is" } else { "is not" };
                    let who = self.who(segment.of, id);
                    facts.push(format!("{who} {is} in segment {}", segment.name));
                }
            }
            ExprKind::HasTag { value, tag } => {
                if let (Some(Value::Ref(id)), Type::Record(record)) =
                    (self.engine_value(value), value.ty.base)
                {
                    let table = &self.program.schema.record(record).name;
                    let tags = self
                        .engine
                        .store()
                        .inspect()
                        .tags(table, id)
                        .unwrap_or_default();
                    let who = self.who(record, id);
                    facts.push(match tags.is_empty() {
                        true => format!("{who} has no tags"),
                        false => format!("{who} has tags: {}", tags.join(", ")),
                    });
                    if let Some(Value::Text(wanted)) = self.engine_value(tag)
                        && !tags.iter().any(|t| **t == *wanted)
                    {
                        facts.extend(self.producers(
                            |s| matches!(s, StepKind::Tag { tag, .. } if **tag == *wanted),
                        ));
                    }
                }
            }
            _ => {}
        }
    }

    /// Whether the row is in the list, and which rule put it there.
    fn membership(
        &self,
        value: &Expr,
        list: &str,
        of: flowc_check::ir::RecordId,
        facts: &mut Vec<String>,
    ) {
        let Some(Value::Ref(id)) = self.engine_value(value) else {
            return;
        };
        let who = self.who(of, id);
        let added_by = self
            .engine
            .store()
            .inspect()
            .list_adder(list, id)
            .ok()
            .flatten();
        facts.push(match added_by.as_deref() {
            None => {
                facts.push(format!("{who} is not in list {list}"));
                facts.extend(self.producers(|s| {
                    matches!(s, StepKind::AddToList { list: l, .. } if self.program.schema.lists[l.index()].name == list)
                }));
                return;
            }
            Some("") => format!("{who} is in list {list}"),
            Some(rule) => format!("{who} is in list {list}, added by rule {rule}"),
        });
    }

    /// For something that did not happen: each rule with a step that could
    /// have done it, and how far its runs got (`rule welcome: did not start`,
    /// `rule welcome: waiting at wait#1 until …`).
    pub(super) fn producers(&self, does_it: impl Fn(&StepKind) -> bool) -> Vec<String> {
        let zone = self.program.schema.timezone;
        let mut facts = Vec::new();
        for (i, rule) in self.program.rules.iter().enumerate() {
            let id = flowc_check::ir::RuleId(i as u32);
            if !any_step(&rule.steps, &does_it) {
                continue;
            }
            let runs = self
                .engine
                .store()
                .inspect()
                .runs_of(&rule.name)
                .unwrap_or_default();
            if runs.is_empty() {
                let why = match self.engine.held_back(id) {
                    (0, 0) => "its trigger never fired".to_string(),
                    (filtered, 0) => format!(
                        "its trigger fired {}, and its `where` was false",
                        times(filtered)
                    ),
                    (0, refused) => format!("`reenter` refused it {}", times(refused)),
                    (filtered, refused) => format!(
                        "its `where` was false {}, and `reenter` refused it {}",
                        times(filtered),
                        times(refused)
                    ),
                };
                facts.push(format!(
                    "rule {} (which could do it) did not start: {why}",
                    rule.name
                ));
            }
            for run in runs {
                let who = self.who(rule.subject, run.subject);
                let step = run.step;
                let state = match run.status.as_str() {
                    "waiting" => match run.wake_at {
                        Some(at) => format!(
                            "waiting at {step} until {}",
                            flowc_syntax::time::format_datetime(at, zone)
                        ),
                        None => format!("waiting at {step}"),
                    },
                    "failed" => format!("failed: {}", run.error.unwrap_or_default()),
                    other => other.to_string(),
                };
                facts.push(format!("rule {} on {who}: {state}", rule.name));
            }
        }
        facts
    }

    /// Evaluates a part of an expectation, `None` when it fails.
    fn engine_value(&self, e: &Expr) -> Option<Value> {
        self.engine.eval_test(e, &self.vars).ok()
    }
}

fn times(n: u32) -> String {
    if n == 1 {
        "once".into()
    } else {
        format!("{n} times")
    }
}

/// Whether any step, in any branch, satisfies `does_it`.
fn any_step(steps: &[Step], does_it: &impl Fn(&StepKind) -> bool) -> bool {
    steps.iter().any(|step| {
        does_it(&step.kind)
            || match &step.kind {
                StepKind::If {
                    branches,
                    otherwise,
                } => {
                    branches.iter().any(|(_, b)| any_step(b, does_it))
                        || any_step(otherwise, does_it)
                }
                StepKind::RequireApproval { on_reject, .. } => any_step(on_reject, does_it),
                _ => false,
            }
    })
}
