//! Cycles: functions that call each other (an error: bodies are inlined),
//! and rules whose writes trigger each other (a warning: the engine stops
//! cascades after a bound).

use super::{Checker, Decls, Problem};
use crate::ir::{self, ExprKind as K};
use flowc_syntax::source::Span;

/// Reports each cycle of `fn` calls once (E0504).
pub(crate) fn function_cycles(cx: &mut Checker, functions: &[ir::FnDef], _decls: &Decls) {
    let calls: Vec<Vec<(usize, Span)>> = functions
        .iter()
        .map(|f| {
            let mut out = Vec::new();
            f.body.walk(&mut |e| {
                if let K::CallFn { function, .. } = &e.kind {
                    out.push((function.index(), e.span));
                }
            });
            out
        })
        .collect();
    let names: Vec<&str> = functions.iter().map(|f| f.name.as_str()).collect();
    for cycle in cycles(&calls) {
        let path: Vec<String> = cycle.nodes.iter().map(|&i| names[i].to_string()).collect();
        cx.report(Problem::FunctionCycle {
            span: cycle.closing,
            cycle: path,
        });
    }
}

/// Warns about rules that may trigger each other endlessly (W0102).
pub(crate) fn rule_cycles(cx: &mut Checker, rules: &[ir::RuleDef]) {
    let watches: Vec<Vec<(ir::RecordId, Option<ir::FieldId>)>> =
        rules.iter().map(watched).collect();
    let edges: Vec<Vec<(usize, Span)>> = rules
        .iter()
        .map(|rule| {
            let mut out = Vec::new();
            for (record, field, span) in writes(&rule.steps) {
                for (j, w) in watches.iter().enumerate() {
                    if w.iter()
                        .any(|&(r, f)| r == record && f.is_none_or(|f| f == field))
                    {
                        out.push((j, span));
                    }
                }
            }
            out
        })
        .collect();
    for cycle in cycles(&edges) {
        let path: Vec<String> = cycle.nodes.iter().map(|&i| rules[i].name.clone()).collect();
        cx.report(Problem::RuleCycle {
            span: cycle.closing,
            cycle: path,
        });
    }
}

/// The fields whose change can start a rule (`None`: any field).
fn watched(rule: &ir::RuleDef) -> Vec<(ir::RecordId, Option<ir::FieldId>)> {
    match &rule.trigger {
        ir::Trigger::Changes { field, .. } => vec![(rule.subject, Some(*field))],
        ir::Trigger::Updated => vec![(rule.subject, None)],
        ir::Trigger::Becomes { condition } => {
            let mut out = Vec::new();
            condition.walk(&mut |e| {
                if let K::Field { record, field, .. } = &e.kind {
                    out.push((*record, Some(*field)));
                }
            });
            out
        }
        _ => Vec::new(),
    }
}

/// The fields a rule's steps write, with the step that writes each.
fn writes(steps: &[ir::Step]) -> Vec<(ir::RecordId, ir::FieldId, Span)> {
    let mut out = Vec::new();
    for step in steps {
        match &step.kind {
            ir::StepKind::Set { record, field, .. }
            | ir::StepKind::Assign { record, field, .. } => {
                out.push((*record, *field, step.span));
            }
            ir::StepKind::If {
                branches,
                otherwise,
            } => {
                for (_, body) in branches {
                    out.extend(writes(body));
                }
                out.extend(writes(otherwise));
            }
            ir::StepKind::RequireApproval { on_reject, .. } => out.extend(writes(on_reject)),
            _ => {}
        }
    }
    out
}

struct Cycle {
    nodes: Vec<usize>,
    closing: Span,
}

/// One cycle per strongly connected group of nodes (self-loops included),
/// found by depth-first search; `closing` is the edge that returns to the
/// cycle's first node.
fn cycles(edges: &[Vec<(usize, Span)>]) -> Vec<Cycle> {
    #[derive(Clone, Copy, PartialEq)]
    enum Mark {
        New,
        Active,
        Done,
    }
    fn visit(
        n: usize,
        edges: &[Vec<(usize, Span)>],
        marks: &mut [Mark],
        stack: &mut Vec<usize>,
        found: &mut Vec<Cycle>,
        reported: &mut [bool],
    ) {
        marks[n] = Mark::Active;
        stack.push(n);
        for &(m, span) in &edges[n] {
            match marks[m] {
                Mark::New => visit(m, edges, marks, stack, found, reported),
                Mark::Active => {
                    let start = stack.iter().position(|&x| x == m).unwrap_or(0);
                    let mut nodes: Vec<usize> = stack[start..].to_vec();
                    if nodes.iter().any(|&x| reported[x]) {
                        continue;
                    }
                    nodes.iter().for_each(|&x| reported[x] = true);
                    nodes.push(m);
                    found.push(Cycle {
                        nodes,
                        closing: span,
                    });
                }
                Mark::Done => {}
            }
        }
        stack.pop();
        marks[n] = Mark::Done;
    }
    let mut marks = vec![Mark::New; edges.len()];
    let mut reported = vec![false; edges.len()];
    let mut found = Vec::new();
    for n in 0..edges.len() {
        if marks[n] == Mark::New {
            visit(
                n,
                edges,
                &mut marks,
                &mut Vec::new(),
                &mut found,
                &mut reported,
            );
        }
    }
    found
}
