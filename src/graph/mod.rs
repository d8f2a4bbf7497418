//! `flowc graph`: a rule as a flow chart, like the canvases of Engagement
//! Studio or Mautic: the trigger, the conditions, the waits with their
//! durations, the branches and the actions. Rendered as Mermaid, Graphviz
//! DOT, or a self-contained SVG (laid out here, no external program).

mod counts;

pub use counts::counts;

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

fn xml_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// Display width of a text in pixels (CJK characters are wide).
fn text_width(s: &str) -> f64 {
    s.chars()
        .map(|c| if (c as u32) > 0x2E80 { 13.0 } else { 7.2 })
        .sum()
}

/// Space above each chart for its title.
const TITLE_HEIGHT: f64 = 36.0;

/// One self-contained SVG document with the charts one below the other,
/// each in a group (`class="chart"`) under a title naming its rule. One
/// document whatever the number of rules: XML allows one root element.
pub fn svg(charts: &[(&Graph, &Counts)]) -> String {
    let drawn: Vec<Chart> = charts.iter().map(|(g, c)| chart(g, c)).collect();
    let width = drawn.iter().map(|c| c.width).fold(240.0, f64::max);
    let height: f64 = drawn
        .iter()
        .map(|c| TITLE_HEIGHT + c.height)
        .sum::<f64>()
        .max(40.0);
    let names: Vec<String> = charts
        .iter()
        .map(|(g, _)| format!("rule {}", g.rule))
        .collect();
    let mut out = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width:.0}\" height=\"{height:.0}\" viewBox=\"0 0 {width:.0} {height:.0}\" \
         font-family=\"sans-serif\" font-size=\"12\">\n<title>{}</title>\n\
         <defs><marker id=\"arrow\" viewBox=\"0 0 10 10\" refX=\"10\" refY=\"5\" markerWidth=\"8\" markerHeight=\"8\" orient=\"auto\">\
         <path d=\"M0,0 L10,5 L0,10 z\" fill=\"#555\"/></marker></defs>\n",
        xml_escape(&names.join(", "))
    );
    let mut y = 0.0;
    for (c, name) in drawn.iter().zip(&names) {
        let _ = writeln!(
            out,
            "<g class=\"chart\" transform=\"translate(0,{y:.1})\">\n\
             <text class=\"title\" x=\"12\" y=\"24\" font-size=\"15\" font-weight=\"bold\">{}</text>\n\
             <g transform=\"translate(0,{TITLE_HEIGHT:.1})\">\n{}</g>\n</g>",
            xml_escape(name),
            c.body
        );
        y += TITLE_HEIGHT + c.height;
    }
    out.push_str("</svg>\n");
    out
}

/// One rule's chart: SVG elements in a `width` × `height` box at the origin.
struct Chart {
    width: f64,
    height: f64,
    body: String,
}

/// A rule's chart: nodes in rows by their distance from the trigger.
fn chart(g: &Graph, counts: &Counts) -> Chart {
    // Row of each node: the longest path from the start (edges go down).
    let mut row = vec![0usize; g.nodes.len()];
    for _ in 0..g.nodes.len() {
        let mut changed = false;
        for e in &g.edges {
            if row[e.to] < row[e.from] + 1 && e.to != e.from {
                row[e.to] = row[e.from] + 1;
                changed = true;
            }
        }
        if !changed {
            break;
        }
    }
    let rows = row.iter().copied().max().unwrap_or(0) + 1;
    let mut columns: Vec<Vec<usize>> = vec![Vec::new(); rows];
    for (i, r) in row.iter().enumerate() {
        columns[*r].push(i);
    }
    let labels: Vec<Vec<String>> = g
        .nodes
        .iter()
        .map(|n| label(n, counts).lines().map(str::to_string).collect())
        .collect();
    let size = |i: usize| {
        let w = labels[i].iter().map(|l| text_width(l)).fold(40.0, f64::max) + 32.0;
        let h = 18.0 * labels[i].len() as f64 + 20.0;
        match g.nodes[i].shape {
            Shape::Decision => (w * 1.3, h * 1.6),
            _ => (w, h),
        }
    };
    let (col_gap, row_height) = (40.0, 120.0);
    let mut pos = vec![(0.0, 0.0); g.nodes.len()];
    let row_width = |nodes: &Vec<usize>| {
        nodes.iter().map(|&i| size(i).0).sum::<f64>()
            + col_gap * nodes.len().saturating_sub(1) as f64
    };
    let width = columns.iter().map(row_width).fold(0.0, f64::max) + 80.0;
    for (r, nodes) in columns.iter().enumerate() {
        let mut x = (width - row_width(nodes)) / 2.0;
        for &i in nodes {
            let (w, _) = size(i);
            pos[i] = (x + w / 2.0, 50.0 + r as f64 * row_height);
            x += w + col_gap;
        }
    }
    let height = 50.0 + rows as f64 * row_height;
    let mut out = String::new();
    for e in &g.edges {
        let (x1, y1) = pos[e.from];
        let (x2, y2) = pos[e.to];
        let (_, h1) = size(e.from);
        let (_, h2) = size(e.to);
        let (sy, ey) = if y2 > y1 {
            (y1 + h1 / 2.0, y2 - h2 / 2.0)
        } else {
            (y1 - h1 / 2.0, y2 + h2 / 2.0)
        };
        // An edge that skips rows bends to the side, around the nodes between.
        let skips = row[e.to].abs_diff(row[e.from]) > 1;
        let bend = if skips { width / 2.0 - 30.0 } else { 0.0 };
        let (mx, my) = ((x1 + x2) / 2.0 + bend * 0.75, (sy + ey) / 2.0);
        if skips {
            let _ = writeln!(
                out,
                "<path d=\"M{x1:.1},{sy:.1} C{:.1},{sy:.1} {:.1},{ey:.1} {x2:.1},{ey:.1}\" fill=\"none\" stroke=\"#555\" marker-end=\"url(#arrow)\"/>",
                x1 + bend,
                x2 + bend
            );
        } else {
            let _ = writeln!(
                out,
                "<line x1=\"{x1:.1}\" y1=\"{sy:.1}\" x2=\"{x2:.1}\" y2=\"{ey:.1}\" stroke=\"#555\" marker-end=\"url(#arrow)\"/>"
            );
        }
        if let Some(l) = &e.label {
            let _ = writeln!(
                out,
                "<text x=\"{:.1}\" y=\"{my:.1}\" text-anchor=\"middle\" fill=\"#333\" font-style=\"italic\">{}</text>",
                mx + 4.0,
                xml_escape(l)
            );
        }
    }
    for (i, n) in g.nodes.iter().enumerate() {
        let (cx, cy) = pos[i];
        let (w, h) = size(i);
        let (x, y) = (cx - w / 2.0, cy - h / 2.0);
        let shape = match n.shape {
            Shape::Start => format!(
                "<rect x=\"{x:.1}\" y=\"{y:.1}\" width=\"{w:.1}\" height=\"{h:.1}\" rx=\"{:.1}\" fill=\"#e3f2fd\" stroke=\"#1565c0\"/>",
                h / 2.0
            ),
            Shape::Action => format!(
                "<rect x=\"{x:.1}\" y=\"{y:.1}\" width=\"{w:.1}\" height=\"{h:.1}\" rx=\"4\" fill=\"#fff\" stroke=\"#333\"/>"
            ),
            Shape::Decision => format!(
                "<polygon points=\"{cx:.1},{y:.1} {:.1},{cy:.1} {cx:.1},{:.1} {x:.1},{cy:.1}\" fill=\"#fff8e1\" stroke=\"#f57f17\"/>",
                x + w,
                y + h
            ),
            Shape::Wait => format!(
                "<polygon points=\"{:.1},{y:.1} {:.1},{y:.1} {:.1},{cy:.1} {:.1},{:.1} {:.1},{:.1} {x:.1},{cy:.1}\" fill=\"#f3e5f5\" stroke=\"#6a1b9a\"/>",
                x + 12.0,
                x + w - 12.0,
                x + w,
                x + w - 12.0,
                y + h,
                x + 12.0,
                y + h
            ),
            Shape::End => format!(
                "<circle cx=\"{cx:.1}\" cy=\"{cy:.1}\" r=\"{:.1}\" fill=\"#eee\" stroke=\"#333\"/>",
                h / 2.0
            ),
        };
        let _ = writeln!(out, "{shape}");
        let lines = &labels[i];
        for (k, line) in lines.iter().enumerate() {
            let ly = cy - 9.0 * (lines.len() as f64 - 1.0) + 18.0 * k as f64 + 4.0;
            let _ = writeln!(
                out,
                "<text x=\"{cx:.1}\" y=\"{ly:.1}\" text-anchor=\"middle\">{}</text>",
                xml_escape(line)
            );
        }
    }
    Chart {
        width,
        height,
        body: out,
    }
}
