//! A chart as SVG: one self-contained document (no scripts, no external
//! fonts or images), laid out by [`super::layout`].

use super::layout::{self, Link, NodeBox, Rect};
use super::{Counts, Graph, Shape, label};
use std::fmt::Write as _;

/// Space above each chart for its title.
const TITLE_HEIGHT: f64 = 36.0;
/// Height of a line of text in a node.
const LINE_HEIGHT: f64 = 18.0;
/// Height of an edge's label.
const LABEL_HEIGHT: f64 = 16.0;

fn xml_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// Display width of a text in pixels at 12px (CJK characters are wide).
fn text_width(s: &str) -> f64 {
    s.chars()
        .map(|c| if (c as u32) > 0x2E80 { 13.0 } else { 7.2 })
        .sum()
}

/// One self-contained SVG document with the charts one below the other,
/// each in a group (`class="chart"`) under a title naming its rule. One
/// document whatever the number of rules: XML allows one root element.
pub fn svg(charts: &[(&Graph, &Counts)]) -> String {
    let names: Vec<String> = charts
        .iter()
        .map(|(g, _)| format!("rule {}", g.rule))
        .collect();
    let drawn: Vec<Chart> = charts.iter().map(|(g, c)| chart(g, c)).collect();
    let width = drawn
        .iter()
        .map(|c| c.width)
        .chain(
            names
                .iter()
                .map(|n| text_width(n) * 1.25 + 2.0 * layout::MARGIN),
        )
        .fold(240.0, f64::max);
    let height: f64 = drawn
        .iter()
        .map(|c| TITLE_HEIGHT + c.height)
        .sum::<f64>()
        .max(40.0);
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
             <text class=\"title\" x=\"{:.1}\" y=\"24\" font-size=\"15\" font-weight=\"bold\">{}</text>\n\
             <g transform=\"translate(0,{TITLE_HEIGHT:.1})\">\n{}</g>\n</g>",
            layout::MARGIN,
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

/// A rule's chart.
fn chart(g: &Graph, counts: &Counts) -> Chart {
    let labels: Vec<Vec<String>> = g
        .nodes
        .iter()
        .map(|n| label(n, counts).lines().map(str::to_string).collect())
        .collect();
    let boxes: Vec<NodeBox> = g
        .nodes
        .iter()
        .zip(&labels)
        .map(|(n, lines)| {
            let text = lines.iter().map(|l| text_width(l)).fold(0.0, f64::max);
            let w = text.max(40.0) + 32.0;
            let h = LINE_HEIGHT * lines.len() as f64 + 20.0;
            let (width, height) = match n.shape {
                Shape::Decision => (w * 1.3, h * 1.6),
                // A circle around its text.
                Shape::End => {
                    let d = h.max(text + 12.0);
                    (d, d)
                }
                _ => (w, h),
            };
            NodeBox {
                width,
                height,
                shape: n.shape,
            }
        })
        .collect();
    let links: Vec<Link> = g
        .edges
        .iter()
        .map(|e| Link {
            from: e.from,
            to: e.to,
            label: e
                .label
                .as_ref()
                .map(|l| (text_width(l) + 4.0, LABEL_HEIGHT)),
        })
        .collect();
    let at = layout::layout(&boxes, &links);
    let mut out = String::new();
    for (i, e) in g.edges.iter().enumerate() {
        let Some(path) = at.paths.get(i).filter(|p| p.len() >= 2) else {
            continue;
        };
        let d: Vec<String> = path
            .iter()
            .enumerate()
            .map(|(k, (x, y))| format!("{}{x:.1},{y:.1}", if k == 0 { "M" } else { "L" }))
            .collect();
        let _ = writeln!(
            out,
            "<g class=\"edge\" data-from=\"{}\" data-to=\"{}\">\n\
             <path d=\"{}\" fill=\"none\" stroke=\"#555\" marker-end=\"url(#arrow)\"/>",
            e.from,
            e.to,
            d.join(" ")
        );
        if let (Some(text), Some(Some(label))) = (&e.label, at.labels.get(i)) {
            // Against its edge's line, whatever the font's widths.
            let Rect {
                x,
                y,
                width,
                height,
            } = label.rect;
            let (tx, anchor) = if label.left {
                (x + width - 2.0, "end")
            } else {
                (x + 2.0, "start")
            };
            let _ = writeln!(
                out,
                "<text class=\"label\" x=\"{tx:.1}\" y=\"{:.1}\" text-anchor=\"{anchor}\" fill=\"#333\" font-style=\"italic\">{}</text>",
                y + height - 4.0,
                xml_escape(text)
            );
        }
        out.push_str("</g>\n");
    }
    for (i, n) in g.nodes.iter().enumerate() {
        let (Some(&(cx, cy)), Some(b)) = (at.centers.get(i), boxes.get(i)) else {
            continue;
        };
        let (w, h) = (b.width, b.height);
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
        let _ = writeln!(out, "<g class=\"node\" data-node=\"{i}\">\n{shape}");
        let lines = &labels[i];
        for (k, line) in lines.iter().enumerate() {
            let ly =
                cy - LINE_HEIGHT / 2.0 * (lines.len() as f64 - 1.0) + LINE_HEIGHT * k as f64 + 4.0;
            let _ = writeln!(
                out,
                "<text x=\"{cx:.1}\" y=\"{ly:.1}\" text-anchor=\"middle\">{}</text>",
                xml_escape(line)
            );
        }
        out.push_str("</g>\n");
    }
    Chart {
        width: at.width,
        height: at.height,
        body: out,
    }
}
