//! `flowc graph`: a rule as a flow chart, like the canvases of Engagement
//! Studio or Mautic: the trigger, the conditions, the waits with their
//! durations, the branches and the actions. Rendered as Mermaid, Graphviz
//! DOT, or a self-contained SVG (laid out here, no external program).

mod counts;
mod layout;
mod svg;

pub use counts::counts;
pub use svg::svg;

use crate::ir::{RuleDef, Step, StepKind, Unless, Wait};
use crate::source::{SourceMap, Span};
use std::collections::HashMap;
use std::fmt::Write as _;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Shape {
    /// The trigger.
    Start,
    /// An action.
    Action,
    /// A condition or an approval: branches.
    Decision,
    /// A wait.
    Wait,
    /// The end of the run.
    End,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Node {
    pub shape: Shape,
    pub label: String,
    /// The runs it counts with `--db`.
    pub tally: Option<Tally>,
}

/// Which runs a node counts, with `--db`: each names its step by its
/// stable name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Tally {
    /// The runs at a step.
    Step(String),
    /// The runs that reached an `assign`'s `index`th `when` line: those
    /// that matched no line before it.
    Case { step: String, index: usize },
    /// The runs that took an `assign`'s `index`th branch (its `when`
    /// lines, then `otherwise`).
    Branch { step: String, index: usize },
}

#[derive(Clone, Debug, PartialEq)]
pub struct Edge {
    pub from: usize,
    pub to: usize,
    pub label: Option<String>,
}

/// A rule's flow chart.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Graph {
    pub rule: String,
    pub nodes: Vec<Node>,
    pub edges: Vec<Edge>,
}

/// Runs at a node.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Runs {
    /// Runs that went through it.
    pub passed: i64,
    /// Runs waiting there now (not among `passed`).
    pub waiting: i64,
}

/// What a database says about a rule's runs, for `--db`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Counts {
    /// Per step, by its stable name.
    pub steps: HashMap<String, Runs>,
    /// Per `assign` step: the runs that took each branch (its `when` lines,
    /// then `otherwise`), where the log tells them apart (`None` where it
    /// does not).
    pub branches: HashMap<String, Vec<Option<i64>>>,
}

impl Counts {
    /// The runs a node counts, if known.
    pub fn runs(&self, tally: &Tally) -> Option<Runs> {
        match tally {
            Tally::Step(step) => self.steps.get(step).copied(),
            Tally::Case { step, index } => {
                let at_step = self.steps.get(step)?.passed;
                let before = self.branches.get(step).map_or(&[][..], Vec::as_slice);
                let mut took = 0;
                for i in 0..*index {
                    took += before.get(i).copied().flatten()?;
                }
                Some(Runs {
                    passed: (at_step - took).max(0),
                    waiting: 0,
                })
            }
            Tally::Branch { step, index } => Some(Runs {
                passed: self.branches.get(step)?.get(*index).copied().flatten()?,
                waiting: 0,
            }),
        }
    }
}

/// The first line of the source a span covers, trimmed.
fn text(sources: &SourceMap, span: Span) -> String {
    let snippet = sources.snippet(span);
    let first = snippet.lines().next().unwrap_or("").trim();
    let mut out: String = first.chars().take(60).collect();
    if first.chars().count() > 60 || snippet.lines().nth(1).is_some_and(|l| !l.trim().is_empty()) {
        out.push('…');
    }
    out
}

struct Builder<'a> {
    sources: &'a SourceMap,
    graph: Graph,
    end: Option<usize>,
    /// Field names, for `assign` labels.
    fields: HashMap<(crate::ir::RecordId, crate::ir::FieldId), String>,
}

/// Open edges: where control leaves a part of the chart, and the label the
/// edge into the next node gets.
type Exits = Vec<(usize, Option<String>)>;

impl Builder<'_> {
    fn node(&mut self, shape: Shape, label: String, step: Option<&Step>) -> usize {
        self.tallied(shape, label, step.map(|s| Tally::Step(s.name.clone())))
    }

    fn tallied(&mut self, shape: Shape, label: String, tally: Option<Tally>) -> usize {
        self.graph.nodes.push(Node {
            shape,
            label,
            tally,
        });
        self.graph.nodes.len() - 1
    }

    fn connect(&mut self, exits: Exits, to: usize) {
        for (from, label) in exits {
            self.graph.edges.push(Edge { from, to, label });
        }
    }

    fn field_name(&self, record: crate::ir::RecordId, field: crate::ir::FieldId) -> String {
        self.fields
            .get(&(record, field))
            .cloned()
            .unwrap_or_default()
    }

    fn end(&mut self) -> usize {
        if let Some(end) = self.end {
            return end;
        }
        let end = self.node(Shape::End, "end".into(), None);
        self.end = Some(end);
        end
    }

    fn block(&mut self, steps: &[Step], mut exits: Exits) -> Exits {
        for step in steps {
            if exits.is_empty() {
                break;
            }
            exits = self.step(step, exits);
        }
        exits
    }

    fn step(&mut self, step: &Step, exits: Exits) -> Exits {
        let label = text(self.sources, step.span);
        match &step.kind {
            StepKind::If {
                branches,
                otherwise,
            } => {
                let mut pending = exits;
                let mut out = Exits::new();
                for (condition, body) in branches {
                    let decision = self.node(
                        Shape::Decision,
                        text(self.sources, condition.span),
                        Some(step),
                    );
                    self.connect(pending, decision);
                    out.extend(self.block(body, vec![(decision, Some("yes".into()))]));
                    pending = vec![(decision, Some("no".into()))];
                }
                out.extend(self.block(otherwise, pending));
                out
            }
            StepKind::RequireApproval { on_reject, .. } => {
                let decision = self.node(Shape::Decision, label, Some(step));
                self.connect(exits, decision);
                let rejected = self.block(on_reject, vec![(decision, Some("rejected".into()))]);
                let end = self.end();
                self.connect(rejected, end);
                vec![(decision, Some("approved".into()))]
            }
            StepKind::Wait(wait) => {
                let node = self.node(Shape::Wait, label, Some(step));
                self.connect(exits, node);
                match wait {
                    Wait::For {
                        unless: Some(unless),
                        ..
                    } => {
                        let end = self.end();
                        let why = match unless {
                            Unless::Event(name) => format!("event {name}"),
                            Unless::Engagement { clicked, .. } => {
                                if *clicked { "clicked" } else { "opened" }.to_string()
                            }
                            Unless::Condition(c) => text(self.sources, c.span),
                        };
                        self.graph.edges.push(Edge {
                            from: node,
                            to: end,
                            label: Some(format!("unless {why}")),
                        });
                        vec![(node, Some("time is up".into()))]
                    }
                    Wait::UntilCondition {
                        at_most: Some(limit),
                        ..
                    } => {
                        let after = format!("true, or after {}", text(self.sources, limit.span));
                        vec![(node, Some(after))]
                    }
                    _ => vec![(node, None)],
                }
            }
            StepKind::Assign {
                target,
                cases,
                otherwise,
                record,
                field,
            } => {
                // The first matching line wins: a chain of decisions.
                let name = format!(
                    "{}.{}",
                    text(self.sources, target.span),
                    self.field_name(*record, *field)
                );
                let mut pending = exits;
                let mut out = Exits::new();
                let case = |index| {
                    Some(Tally::Case {
                        step: step.name.clone(),
                        index,
                    })
                };
                let branch = |index| {
                    Some(Tally::Branch {
                        step: step.name.clone(),
                        index,
                    })
                };
                for (index, (condition, value)) in cases.iter().enumerate() {
                    let decision = self.tallied(
                        Shape::Decision,
                        text(self.sources, condition.span),
                        case(index),
                    );
                    self.connect(pending, decision);
                    let action = self.tallied(
                        Shape::Action,
                        format!("{name} = {}", text(self.sources, value.span)),
                        branch(index),
                    );
                    self.graph.edges.push(Edge {
                        from: decision,
                        to: action,
                        label: Some("yes".into()),
                    });
                    out.push((action, None));
                    pending = vec![(decision, Some("no".into()))];
                }
                if let Some(value) = otherwise {
                    let action = self.tallied(
                        Shape::Action,
                        format!("{name} = {}", text(self.sources, value.span)),
                        branch(cases.len()),
                    );
                    self.connect(pending, action);
                    out.push((action, None));
                } else {
                    out.extend(pending);
                }
                out
            }
            StepKind::Stop => {
                let end = self.end();
                self.connect(exits, end);
                Vec::new()
            }
            _ => {
                let node = self.node(Shape::Action, label, Some(step));
                self.connect(exits, node);
                vec![(node, None)]
            }
        }
    }
}

/// Builds the chart of a rule.
pub fn build(rule: &RuleDef, schema: &crate::ir::Schema, sources: &SourceMap) -> Graph {
    let mut fields = HashMap::new();
    for (r, record) in schema.records.iter().enumerate() {
        for (f, field) in record.fields.iter().enumerate() {
            fields.insert(
                (crate::ir::RecordId(r as u32), crate::ir::FieldId(f as u32)),
                field.name.clone(),
            );
        }
    }
    let mut b = Builder {
        sources,
        graph: Graph {
            rule: rule.name.clone(),
            ..Graph::default()
        },
        end: None,
        fields,
    };
    let written = text(sources, rule.trigger_span);
    let mut trigger = match rule.trigger {
        crate::ir::Trigger::Every { .. } => written,
        _ => format!("when {written}"),
    };
    if let Some(filter) = &rule.filter {
        trigger.push_str(&format!("\nwhere {}", text(sources, filter.span)));
    }
    let start = b.node(Shape::Start, trigger, None);
    let exits = b.block(&rule.steps, vec![(start, None)]);
    let end = b.end();
    b.connect(exits, end);
    b.graph
}

/// The label with `--db` counts appended.
fn label(node: &Node, counts: &Counts) -> String {
    match node.tally.as_ref().and_then(|t| counts.runs(t)) {
        Some(Runs { passed, waiting }) if waiting > 0 => {
            format!("{}\n{passed} passed · {waiting} waiting", node.label)
        }
        Some(Runs { passed, .. }) => format!("{}\n{passed} passed", node.label),
        None => node.label.clone(),
    }
}

/// Mermaid `flowchart` text.
pub fn mermaid(g: &Graph, counts: &Counts) -> String {
    let mut out = format!("%% rule {}\nflowchart TD\n", g.rule);
    for (i, n) in g.nodes.iter().enumerate() {
        let text = label(n, counts)
            .replace('"', "#quot;")
            .replace('\n', "<br/>");
        let shape = match n.shape {
            Shape::Start => format!("([\"{text}\"])"),
            Shape::Action => format!("[\"{text}\"]"),
            Shape::Decision => format!("{{\"{text}\"}}"),
            Shape::Wait => format!("{{{{\"{text}\"}}}}"),
            Shape::End => format!("((\"{text}\"))"),
        };
        let _ = writeln!(out, "  n{i}{shape}");
    }
    for e in &g.edges {
        match &e.label {
            Some(l) => {
                let _ = writeln!(
                    out,
                    "  n{} -->|\"{}\"| n{}",
                    e.from,
                    l.replace('"', "#quot;"),
                    e.to
                );
            }
            None => {
                let _ = writeln!(out, "  n{} --> n{}", e.from, e.to);
            }
        }
    }
    out
}

fn dot_escape(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// Graphviz DOT text.
pub fn dot(g: &Graph, counts: &Counts) -> String {
    let mut out = format!(
        "digraph \"{}\" {{\n  node [fontname=\"sans-serif\"];\n",
        dot_escape(&g.rule)
    );
    for (i, n) in g.nodes.iter().enumerate() {
        let shape = match n.shape {
            Shape::Start => "box, style=rounded",
            Shape::Action => "box",
            Shape::Decision => "diamond",
            Shape::Wait => "hexagon",
            Shape::End => "doublecircle",
        };
        let _ = writeln!(
            out,
            "  n{i} [shape={shape}, label=\"{}\"];",
            dot_escape(&label(n, counts))
        );
    }
    for e in &g.edges {
        match &e.label {
            Some(l) => {
                let _ = writeln!(
                    out,
                    "  n{} -> n{} [label=\"{}\"];",
                    e.from,
                    e.to,
                    dot_escape(l)
                );
            }
            None => {
                let _ = writeln!(out, "  n{} -> n{};", e.from, e.to);
            }
        }
    }
    out.push_str("}\n");
    out
}
