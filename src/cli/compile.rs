//! `flowc compile`: what each rule's expressions compile to — the typed IR,
//! the VM's bytecode or the JIT's Cranelift IR — and which backend runs
//! them, for people debugging rules and for golden tests.

use crate::eval::{Backend, Compiled};
use crate::ir::{self, Expr, ExprKind as K, Literal, Program, RuleDef, Step, StepKind, Trigger};
use crate::project::Project;
use crate::vm::{self, Frame};
use std::fmt::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;
use std::rc::Rc;

/// Show what rules compile to: typed IR, bytecode or Cranelift IR.
///
/// Every expression of every rule (trigger condition, filter, goal, step
/// values and conditions) and every segment's condition is printed with
/// what it compiles to. With `--explain-backend`, says instead which
/// backend evaluates each expression, and why.
///
/// Example:
///   flowc compile --emit bytecode --rule welcome rules/
#[derive(clap::Args)]
#[command(verbatim_doc_comment)]
pub struct Args {
    /// Files or folders (searched recursively for .flow files); default: the current folder.
    paths: Vec<PathBuf>,
    /// What to print for each expression.
    #[arg(long, value_enum, default_value_t = Emit::Ir)]
    emit: Emit,
    /// Only the rule (or segment) of this name.
    #[arg(long, value_name = "NAME")]
    rule: Option<String>,
    /// Say which backend runs each expression, and why, instead of code.
    #[arg(long)]
    explain_backend: bool,
    /// The backend whose choices `--explain-backend` explains: vm, jit or auto.
    #[arg(long, default_value_t = Backend::Auto)]
    backend: Backend,
}

#[derive(Clone, Copy, PartialEq, clap::ValueEnum)]
enum Emit {
    /// The typed IR, one node per line.
    Ir,
    /// The VM's register bytecode.
    Bytecode,
    /// The JIT's Cranelift IR, before optimization.
    Clif,
}

pub fn run(args: Args) -> Result<ExitCode, String> {
    let Some((project, program)) = super::checked_project(&args.paths)? else {
        return Ok(ExitCode::from(1));
    };
    let functions: Rc<[ir::FnDef]> = program.functions.clone().into();
    let wanted = |name: &str| args.rule.as_deref().is_none_or(|r| r == name);
    let mut out = String::new();
    let mut found = false;
    for rule in program.rules.iter().filter(|r| wanted(&r.name)) {
        found = true;
        let subject = &program.schema.record(rule.subject).name;
        let _ = writeln!(out, "rule {} ({subject})", rule.name);
        for (label, expr) in rule_expressions(rule) {
            show(
                &args, &project, &program, &functions, &label, expr, &mut out,
            )?;
        }
    }
    for segment in program.schema.segments.iter().filter(|s| wanted(&s.name)) {
        found = true;
        let of = &program.schema.record(segment.of).name;
        let _ = writeln!(out, "segment {} ({of})", segment.name);
        let label = "condition".to_string();
        show(
            &args,
            &project,
            &program,
            &functions,
            &label,
            &segment.condition,
            &mut out,
        )?;
    }
    if let (Some(name), false) = (&args.rule, found) {
        return Err(format!("no rule or segment named `{name}`"));
    }
    print!("{out}");
    Ok(ExitCode::SUCCESS)
}

/// Prints one expression: its label and source, then its code (or the
/// backend that runs it).
fn show(
    args: &Args,
    project: &Project,
    program: &Program,
    functions: &Rc<[ir::FnDef]>,
    label: &str,
    expr: &Expr,
    out: &mut String,
) -> Result<(), String> {
    let source = one_line(project.sources.snippet(expr.span));
    if args.explain_backend {
        let compiled = Compiled::new(functions.clone(), expr, Frame::RULE, args.backend)
            .map_err(|e| format!("{label}: {e}"))?;
        let _ = writeln!(out, "  {label}: {}", compiled.placement());
        return Ok(());
    }
    let _ = writeln!(out, "  {label}: {source}");
    let code = match args.emit {
        Emit::Ir => {
            let mut text = String::new();
            ir_tree(program, expr, 0, &mut text);
            text
        }
        Emit::Bytecode => vm::compile(functions, expr, Frame::RULE)
            .map_err(|e| format!("{label}: {e}"))?
            .listing(),
        Emit::Clif => match crate::jit::clif(functions, expr, Frame::RULE) {
            Ok(text) => text,
            Err(why) => format!("; the jit declines: {why}\n"),
        },
    };
    for line in code.lines() {
        if line.is_empty() {
            out.push('\n');
        } else {
            let _ = writeln!(out, "    {line}");
        }
    }
    Ok(())
}

/// Source text on one line, whitespace runs collapsed.
fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

// ---------------------------------------------------------------- which expressions

/// A rule's expressions, each with what it is for (`filter`,
/// `trigger condition`, `set#2 value`, …), in the order they appear.
pub fn rule_expressions(rule: &RuleDef) -> Vec<(String, &Expr)> {
    let mut out = Vec::new();
    match &rule.trigger {
        Trigger::Changes { from, to, .. } => {
            if let Some(e) = from {
                out.push(("trigger from".to_string(), e));
            }
            if let Some(e) = to {
                out.push(("trigger to".to_string(), e));
            }
        }
        Trigger::Becomes { condition } => out.push(("trigger condition".to_string(), condition)),
        _ => {}
    }
    if let Some(e) = &rule.filter {
        out.push(("filter".to_string(), e));
    }
    if let Some(goal) = &rule.goal {
        out.push(("goal".to_string(), &goal.condition));
    }
    step_expressions(&rule.steps, &mut out);
    out
}

fn step_expressions<'a>(steps: &'a [Step], out: &mut Vec<(String, &'a Expr)>) {
    for step in steps {
        let mut push = |what: &str, e: &'a Expr| out.push((format!("{} {what}", step.name), e));
        match &step.kind {
            StepKind::AddToList { item, .. } | StepKind::RemoveFromList { item, .. } => {
                push("item", item)
            }
            StepKind::Tag { target, .. } | StepKind::Untag { target, .. } => push("target", target),
            StepKind::Set { target, value, .. } => {
                push("target", target);
                push("value", value);
            }
            StepKind::SendEmail { to, message, .. } => {
                recipient(to, &mut push);
                message_parts(message, &mut push);
            }
            StepKind::Notify { to, message } => {
                if let ir::NotifyTarget::Recipient(to) = to {
                    recipient(to, &mut push);
                }
                message_parts(message, &mut push);
            }
            StepKind::CreateTask {
                title,
                assignee,
                due,
            } => {
                parts("title", title, &mut push);
                push("assignee", assignee);
                if let Some(due) = due {
                    push("due", due);
                }
            }
            StepKind::Assign {
                target,
                cases,
                otherwise,
                ..
            } => {
                push("target", target);
                for (i, (when, value)) in cases.iter().enumerate() {
                    push(&format!("case {} condition", i + 1), when);
                    push(&format!("case {} value", i + 1), value);
                }
                if let Some(e) = otherwise {
                    push("otherwise", e);
                }
            }
            StepKind::Wait(wait) => match wait {
                ir::Wait::For { duration, unless } => {
                    push("duration", duration);
                    match unless {
                        Some(ir::Unless::Condition(e)) => push("unless", e),
                        Some(ir::Unless::Engagement { record, .. }) => {
                            push("unless record", record)
                        }
                        _ => {}
                    }
                }
                ir::Wait::UntilCondition { condition, at_most } => {
                    push("condition", condition);
                    if let Some(e) = at_most {
                        push("at most", e);
                    }
                }
                ir::Wait::UntilTime { time } => push("time", time),
            },
            StepKind::If {
                branches,
                otherwise,
            } => {
                for (i, (condition, _)) in branches.iter().enumerate() {
                    push(&format!("branch {} condition", i + 1), condition);
                }
                for (_, steps) in branches {
                    step_expressions(steps, out);
                }
                step_expressions(otherwise, out);
            }
            StepKind::RequireApproval {
                from,
                on_reject,
                message,
            } => {
                push("from", from);
                if let Some(message) = message {
                    message_parts(message, &mut push);
                }
                step_expressions(on_reject, out);
            }
            StepKind::Lock(e) | StepKind::Unlock(e) => push("target", e),
            StepKind::Stop => {}
        }
    }
}

fn recipient<'a>(to: &'a ir::Recipient, push: &mut impl FnMut(&str, &'a Expr)) {
    match to {
        ir::Recipient::Record { expr, .. } => push("to", expr),
        ir::Recipient::Address(expr) => push("to", expr),
    }
}

fn message_parts<'a>(message: &'a ir::Message, push: &mut impl FnMut(&str, &'a Expr)) {
    parts("subject", &message.subject, push);
    parts("body", &message.body, push);
    if let Some(html) = &message.html {
        parts("html", html, push);
    }
}

fn parts<'a>(what: &str, parts: &'a [ir::Part], push: &mut impl FnMut(&str, &'a Expr)) {
    let values = parts.iter().filter_map(|p| match p {
        ir::Part::Value { expr, .. } => Some(expr),
        ir::Part::Text(_) | ir::Part::UnsubscribeUrl | ir::Part::ApprovalUrl => None,
    });
    for (i, e) in values.enumerate() {
        push(&format!("{what} value {}", i + 1), e);
    }
}

// ---------------------------------------------------------------- the IR as text

/// The IR below `e` as an indented tree, one node per line with its type.
pub fn ir_tree(program: &Program, e: &Expr, depth: usize, out: &mut String) {
    let schema = &program.schema;
    let field = |record: ir::RecordId, field: ir::FieldId| {
        let r = schema.record(record);
        let f = r.fields.get(field.index()).map_or("?", |f| f.name.as_str());
        format!("{}.{f}", r.name)
    };
    let not = |negated: bool| if negated { "not " } else { "" };
    let head = match &e.kind {
        K::Lit(lit) => format!("lit {}", literal(program, lit)),
        K::Var(v) => format!("var {}", v.0),
        K::Field {
            record, field: f, ..
        } => format!("field {}", field(*record, *f)),
        K::Old { record, field: f } => format!("old {}", field(*record, *f)),
        K::EventField(key) => format!("event {key}"),
        K::Cast(_) => "cast".to_string(),
        K::Neg(_) => "neg".to_string(),
        K::Not(_) => "not".to_string(),
        K::And(..) => "and".to_string(),
        K::Or(..) => "or".to_string(),
        K::Arith { op, .. } => format!("arith {op:?}"),
        K::Compare { op, ty, .. } => format!("compare {op:?} {ty:?}"),
        K::Between { ty, negated, .. } => format!("{}between {ty:?}", not(*negated)),
        K::In { ty, negated, .. } => format!("{}in {ty:?}", not(*negated)),
        K::Contains { negated, .. } => format!("{}contains", not(*negated)),
        K::StartsWith { .. } => "starts with".to_string(),
        K::IsNull { negated, .. } => format!("is {}null", not(*negated)),
        K::If { .. } => "if".to_string(),
        K::InList { list, negated, .. } => {
            let name = schema
                .lists
                .get(list.index())
                .map_or("?", |l| l.name.as_str());
            format!("{}in list {name}", not(*negated))
        }
        K::InSegment {
            segment, negated, ..
        } => {
            let name = schema
                .segments
                .get(segment.index())
                .map_or("?", |s| s.name.as_str());
            format!("{}in segment {name}", not(*negated))
        }
        K::HasTag { .. } => "has tag".to_string(),
        K::Engaged {
            template, clicked, ..
        } => {
            let name = schema
                .templates
                .get(template.index())
                .map_or("?", |t| t.name.as_str());
            let verb = if *clicked { "clicked" } else { "opened" };
            format!("{verb} {name}")
        }
        K::Unsubscribed {
            record,
            email_field,
            negated,
        } => match record.ty.base {
            ir::Type::Record(r) => format!(
                "is {}unsubscribed ({})",
                not(*negated),
                field(r, *email_field)
            ),
            _ => format!("is {}unsubscribed", not(*negated)),
        },
        K::Call { function, .. } => format!("call {function:?}"),
        K::CallFn { function, .. } => {
            let name = program
                .functions
                .get(function.index())
                .map_or("?", |f| f.name.as_str());
            format!("fn {name}")
        }
        K::Lookup {
            record, field: f, ..
        } => format!("lookup {}", field(*record, *f)),
        K::Aggregate(a) => {
            let of = &schema.record(a.record).name;
            format!("{:?} {of} as var {}", a.function, a.row.0).to_lowercase()
        }
        K::Today => "today".to_string(),
        K::Now => "now".to_string(),
    };
    let indent = "  ".repeat(depth);
    let _ = writeln!(out, "{indent}{head} : {}", schema.type_name(e.ty));
    if let K::Aggregate(a) = &e.kind {
        let labelled = |label: String, child: &Expr, out: &mut String| {
            let _ = writeln!(out, "{indent}  {label}");
            ir_tree(program, child, depth + 2, out);
        };
        if let Some((f, key)) = &a.key {
            labelled(format!("key {} =", field(a.record, *f)), key, out);
        }
        if let Some(filter) = &a.filter {
            labelled("where".to_string(), filter, out);
        }
        if let Some(value) = &a.value {
            labelled("value".to_string(), value, out);
        }
        return;
    }
    e.for_each_child(|child| ir_tree(program, child, depth + 1, out));
}

fn literal(program: &Program, lit: &Literal) -> String {
    match lit {
        Literal::Enum(e, i) => program
            .schema
            .enums
            .get(e.index())
            .and_then(|def| def.values.get(*i as usize))
            .map_or_else(|| lit.to_string(), |v| format!("{v:?}")),
        Literal::DateTime(t) => crate::time::format_datetime(*t, program.schema.timezone),
        other => other.to_string(),
    }
}
