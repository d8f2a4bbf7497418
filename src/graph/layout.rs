//! The layout of a chart for SVG: a layered drawing (Sugiyama's method,
//! as Graphviz's `dot` does it), small enough to read in one sitting.
//!
//! 1. **Ranks.** Every node gets a rank, its longest distance from the
//!    trigger, doubled: each edge spans at least two ranks, so that the
//!    rank just below its source can hold its label.
//! 2. **Chains.** An edge is cut into hops between adjacent ranks through
//!    a *dummy* vertex in each rank it crosses. The dummy just below the
//!    source is its label's box (a plain dummy has no width), so labels are
//!    placed like nodes: never over a node, another label or the canvas's
//!    edge.
//! 3. **Order.** Within a rank, vertices start in depth-first order from the
//!    trigger (a decision's first branch on the left) and are then sorted
//!    by the mean position of their neighbours, sweeping down and up,
//!    keeping the order with the fewest crossings.
//! 4. **Positions.** Sugiyama's priority method: sweeping down, up and
//!    down again, each rank's vertices move towards where their edges come
//!    from (or go to), dummies first so that long edges run straight, a
//!    vertex pushing aside those of lower priority but never one placed
//!    before it, keeping the order and a gap between vertices.
//! 5. **Routes.** Edges are drawn orthogonally: down from a port on the
//!    bottom of the source, along a track in the channel between two ranks
//!    to the x of the next vertex, down through the dummy (whose place in
//!    its rank is the edge's alone), and so on to the top of the target.
//!    Vertical lines thus run only under their own source, over their own
//!    target or through their own dummies, and horizontal ones only in the
//!    channels between ranks, where there are no boxes: no edge crosses a
//!    box. Horizontal runs that would overlap get different tracks.

use super::Shape;

/// Space around the drawing.
pub const MARGIN: f64 = 16.0;
/// Space between the boxes of a rank.
const NODE_GAP: f64 = 28.0;
/// Space beside a dummy (an edge passing a rank, or its label).
const DUMMY_GAP: f64 = 12.0;
/// Space from a box to the first and last track of a channel.
const CHANNEL_PAD: f64 = 12.0;
/// Space between the tracks of a channel.
const TRACK_GAP: f64 = 8.0;
/// Space between the ports on the bottom of a box.
const PORT_GAP: f64 = 24.0;
/// Space between a label and its edge's line.
const LABEL_GAP: f64 = 4.0;

/// A node to place: its size and shape.
#[derive(Clone, Copy, Debug)]
pub struct NodeBox {
    pub width: f64,
    pub height: f64,
    pub shape: Shape,
}

/// An edge to route, with the size of its label, if any.
#[derive(Clone, Copy, Debug)]
pub struct Link {
    pub from: usize,
    pub to: usize,
    pub label: Option<(f64, f64)>,
}

/// A rectangle: left, top, width, height.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Rect {
    pub x: f64,
    pub y: f64,
    pub width: f64,
    pub height: f64,
}

/// Where an edge's label goes.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Label {
    pub rect: Rect,
    /// Whether it is on the left of its edge's line (else on the right).
    pub left: bool,
}

/// Where everything goes.
#[derive(Clone, Debug, Default)]
pub struct Layout {
    pub width: f64,
    pub height: f64,
    /// Per node: its centre.
    pub centers: Vec<(f64, f64)>,
    /// Per edge: its line, from the source's boundary to the target's
    /// (empty for an edge from a node to itself, which charts do not have).
    pub paths: Vec<Vec<(f64, f64)>>,
    /// Per edge: its label's box.
    pub labels: Vec<Option<Label>>,
}

/// A vertex of the layered graph: a node, or a dummy on an edge's way.
#[derive(Clone, Debug)]
struct Vertex {
    rank: usize,
    width: f64,
    height: f64,
    /// Where the edges meet it, from its left side.
    anchor: f64,
    /// The node it is; `None` for a dummy.
    node: Option<usize>,
    /// The edge whose label it carries.
    label_of: Option<usize>,
}

/// An edge between vertices of adjacent ranks.
#[derive(Clone, Debug)]
struct Hop {
    upper: usize,
    lower: usize,
    /// Where it leaves the upper vertex, from its anchor (ports of a node
    /// with several edges out are spread along its bottom).
    port: f64,
}

/// The bottom of a shape `dx` right of its centre (`dx` within its ports'
/// range), from its centre.
fn bottom(shape: Shape, width: f64, height: f64, dx: f64) -> f64 {
    match shape {
        Shape::Decision => height / 2.0 * (1.0 - 2.0 * dx.abs() / width).max(0.0),
        Shape::End => {
            let r = height / 2.0;
            (r * r - dx * dx).max(0.0).sqrt()
        }
        _ => height / 2.0,
    }
}

/// How far from its centre a shape's ports may be.
fn port_range(shape: Shape, width: f64, height: f64) -> f64 {
    let range = match shape {
        Shape::Decision => width / 4.0,
        Shape::Start => width / 2.0 - height / 2.0 - 2.0,
        Shape::Wait => width / 2.0 - 16.0,
        Shape::End => height / 4.0,
        Shape::Action => width / 2.0 - 8.0,
    };
    range.max(0.0)
}

/// Each node's rank (its longest distance from a node without edges in),
/// in steps of two, and the edges turned around to break cycles (charts
/// have none; a cycle would only make a drawing odd, never loop).
fn ranks(nodes: usize, links: &[Link]) -> (Vec<usize>, Vec<bool>) {
    let mut reversed = vec![false; links.len()];
    let mut done = vec![false; nodes];
    let mut order = Vec::with_capacity(nodes);
    let mut waiting_for: Vec<usize> = vec![0; nodes];
    for l in links.iter().filter(|l| l.from != l.to) {
        waiting_for[l.to] += 1;
    }
    while order.len() < nodes {
        // The next node all of whose edges in come from placed nodes; if
        // none (a cycle), the first unplaced one, its edges from unplaced
        // nodes turned around.
        let next = (0..nodes)
            .find(|&n| !done[n] && waiting_for[n] == 0)
            .or_else(|| (0..nodes).find(|&n| !done[n]));
        let Some(n) = next else { break };
        if waiting_for[n] > 0 {
            for (i, l) in links.iter().enumerate() {
                if l.to == n && l.from != n && !done[l.from] {
                    reversed[i] = true;
                    waiting_for[n] -= 1;
                    waiting_for[l.from] += 1;
                }
            }
        }
        done[n] = true;
        order.push(n);
        for (i, l) in links.iter().enumerate() {
            let (from, to) = if reversed[i] {
                (l.to, l.from)
            } else {
                (l.from, l.to)
            };
            if from == n && to != n && !done[to] {
                waiting_for[to] = waiting_for[to].saturating_sub(1);
            }
        }
    }
    let mut rank = vec![0usize; nodes];
    for &n in &order {
        for (i, l) in links.iter().enumerate() {
            let (from, to) = if reversed[i] {
                (l.to, l.from)
            } else {
                (l.from, l.to)
            };
            if from == n && to != n {
                rank[to] = rank[to].max(rank[n] + 2);
            }
        }
    }
    (rank, reversed)
}

/// The number of crossings between the hops of adjacent ranks.
fn crossings(hops: &[Hop], vertices: &[Vertex], pos: &[usize]) -> usize {
    let mut by_rank: Vec<Vec<(usize, usize)>> = Vec::new();
    for h in hops {
        let r = vertices[h.upper].rank;
        if by_rank.len() <= r {
            by_rank.resize(r + 1, Vec::new());
        }
        by_rank[r].push((pos[h.upper], pos[h.lower]));
    }
    let mut count = 0;
    for list in &by_rank {
        for (i, a) in list.iter().enumerate() {
            for b in &list[i + 1..] {
                if (a.0 < b.0 && a.1 > b.1) || (a.0 > b.0 && a.1 < b.1) {
                    count += 1;
                }
            }
        }
    }
    count
}

/// Moves a rank's vertices (at `x`, in order, each at least `gap[i]` right
/// of the one before) to where they want to be, by priority (Sugiyama's
/// priority method): each goes as near as it can, pushing aside vertices
/// of lower priority but never one placed before it.
fn place(x: &mut [f64], want: &[Option<f64>], priority: &[usize], gap: &[f64]) {
    let n = x.len();
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by(|a, b| priority[*b].cmp(&priority[*a]).then(a.cmp(b)));
    let mut fixed = vec![false; n];
    for i in order {
        if let Some(target) = want[i] {
            if target > x[i] {
                let mut limit = f64::INFINITY;
                let mut space = 0.0;
                for j in i + 1..n {
                    space += gap[j - 1];
                    if fixed[j] {
                        limit = x[j] - space;
                        break;
                    }
                }
                x[i] = target.min(limit).max(x[i]);
                for j in i + 1..n {
                    let least = x[j - 1] + gap[j - 1];
                    if x[j] >= least {
                        break;
                    }
                    x[j] = least;
                }
            } else if target < x[i] {
                let mut limit = f64::NEG_INFINITY;
                let mut space = 0.0;
                for j in (0..i).rev() {
                    space += gap[j];
                    if fixed[j] {
                        limit = x[j] + space;
                        break;
                    }
                }
                x[i] = target.max(limit).min(x[i]);
                for j in (0..i).rev() {
                    let most = x[j + 1] - gap[j];
                    if x[j] <= most {
                        break;
                    }
                    x[j] = most;
                }
            }
        }
        fixed[i] = true;
    }
}

/// The layered graph: the nodes and the dummies, and the hops between
/// them.
struct Layered {
    vertices: Vec<Vertex>,
    hops: Vec<Hop>,
    /// Per edge: its hops from its (upper) source to its target.
    chains: Vec<Vec<usize>>,
    /// Per vertex: its hops down and up.
    down: Vec<Vec<usize>>,
    up: Vec<Vec<usize>>,
    ranks: usize,
}

impl Layered {
    /// Cuts each edge into hops through a dummy per rank it crosses, the
    /// first of them carrying its label.
    fn new(nodes: &[NodeBox], links: &[Link], rank: &[usize], reversed: &[bool]) -> Layered {
        let mut vertices: Vec<Vertex> = nodes
            .iter()
            .enumerate()
            .map(|(i, n)| Vertex {
                rank: rank[i],
                width: n.width,
                height: n.height,
                anchor: n.width / 2.0,
                node: Some(i),
                label_of: None,
            })
            .collect();
        let mut hops: Vec<Hop> = Vec::new();
        let mut chains: Vec<Vec<usize>> = Vec::with_capacity(links.len());
        for (i, l) in links.iter().enumerate() {
            if l.from == l.to {
                chains.push(Vec::new());
                continue;
            }
            let (from, to) = if reversed[i] {
                (l.to, l.from)
            } else {
                (l.from, l.to)
            };
            let mut upper = from;
            let mut chain = Vec::new();
            for r in rank[from] + 1..=rank[to] {
                let lower = if r == rank[to] {
                    to
                } else {
                    let label = if r == rank[from] + 1 { l.label } else { None };
                    vertices.push(Vertex {
                        rank: r,
                        width: label.map_or(0.0, |(w, _)| w + LABEL_GAP),
                        height: label.map_or(0.0, |(_, h)| h),
                        anchor: 0.0,
                        node: None,
                        label_of: label.map(|_| i),
                    });
                    vertices.len() - 1
                };
                hops.push(Hop {
                    upper,
                    lower,
                    port: 0.0,
                });
                chain.push(hops.len() - 1);
                upper = lower;
            }
            chains.push(chain);
        }
        let mut down: Vec<Vec<usize>> = vec![Vec::new(); vertices.len()];
        let mut up: Vec<Vec<usize>> = vec![Vec::new(); vertices.len()];
        for (h, hop) in hops.iter().enumerate() {
            down[hop.upper].push(h);
            up[hop.lower].push(h);
        }
        let ranks = vertices.iter().map(|v| v.rank).max().map_or(0, |r| r + 1);
        Layered {
            vertices,
            hops,
            chains,
            down,
            up,
            ranks,
        }
    }

    /// The vertices of each rank, left to right: depth first from the
    /// roots, then sorted by their neighbours' mean position, sweeping down
    /// and up; the order with the fewest crossings.
    fn order(&self) -> Vec<Vec<usize>> {
        let mut layers: Vec<Vec<usize>> = vec![Vec::new(); self.ranks];
        let mut seen = vec![false; self.vertices.len()];
        for root in (0..self.vertices.len()).filter(|&v| self.up[v].is_empty()) {
            let mut stack = vec![root];
            while let Some(v) = stack.pop() {
                if seen[v] {
                    continue;
                }
                seen[v] = true;
                layers[self.vertices[v].rank].push(v);
                for &h in self.down[v].iter().rev() {
                    stack.push(self.hops[h].lower);
                }
            }
        }
        let mut pos = positions(&layers, self.vertices.len());
        let mut best = (crossings(&self.hops, &self.vertices, &pos), layers.clone());
        for sweep in 0..12 {
            let downward = sweep % 2 == 0;
            let ranks: Vec<usize> = if downward {
                (1..self.ranks).collect()
            } else {
                (0..self.ranks.saturating_sub(1)).rev().collect()
            };
            for r in ranks {
                let mut keyed: Vec<(f64, usize)> = layers[r]
                    .iter()
                    .map(|&v| {
                        let near: Vec<usize> = if downward {
                            self.up[v].iter().map(|&h| self.hops[h].upper).collect()
                        } else {
                            self.down[v].iter().map(|&h| self.hops[h].lower).collect()
                        };
                        let key = if near.is_empty() {
                            pos[v] as f64
                        } else {
                            near.iter().map(|&n| pos[n] as f64).sum::<f64>() / near.len() as f64
                        };
                        (key, v)
                    })
                    .collect();
                // Stable: ties keep their order (a decision's branches).
                keyed.sort_by(|a, b| a.0.total_cmp(&b.0));
                layers[r] = keyed.into_iter().map(|(_, v)| v).collect();
                pos = positions(&layers, self.vertices.len());
            }
            let c = crossings(&self.hops, &self.vertices, &pos);
            if c < best.0 {
                best = (c, layers.clone());
            }
        }
        best.1
    }

    /// Spreads the ports of each node's edges out along its bottom, in the
    /// order of where they go, and puts a label on the outer side of its
    /// edge: the left of the leftmost of several, else the right.
    fn ports(&mut self, nodes: &[NodeBox], pos: &[usize]) {
        for v in 0..self.vertices.len() {
            let Some(n) = self.vertices[v].node else {
                continue;
            };
            let mut outs = self.down[v].clone();
            outs.sort_by_key(|&h| pos[self.hops[h].lower]);
            let k = outs.len();
            let range = port_range(nodes[n].shape, nodes[n].width, nodes[n].height);
            let step = if k > 1 {
                PORT_GAP.min(2.0 * range / (k - 1) as f64)
            } else {
                0.0
            };
            for (i, &h) in outs.iter().enumerate() {
                self.hops[h].port = (i as f64 - (k as f64 - 1.0) / 2.0) * step;
                let lower = &mut self.vertices[self.hops[h].lower];
                if k > 1 && i == 0 && lower.label_of.is_some() {
                    lower.anchor = lower.width;
                }
            }
        }
    }

    /// The least distance between the anchors of two neighbours in a rank.
    fn gap(&self, a: usize, b: usize) -> f64 {
        let (a, b) = (&self.vertices[a], &self.vertices[b]);
        let space = if a.node.is_some() && b.node.is_some() {
            NODE_GAP
        } else {
            DUMMY_GAP
        };
        (a.width - a.anchor) + space + b.anchor
    }

    /// Each vertex's anchor's x: packed, then placed by priority sweeping
    /// down (each vertex under where its edges come from), up (over where
    /// they go), …, and down last. Dummies go first, so that long edges
    /// run straight; then the nodes with the most edges that way.
    fn xs(&self, layers: &[Vec<usize>]) -> Vec<f64> {
        let mut x = vec![0.0f64; self.vertices.len()];
        for layer in layers {
            let mut at = 0.0;
            for (i, &v) in layer.iter().enumerate() {
                if i > 0 {
                    at += self.gap(layer[i - 1], v);
                }
                x[v] = at;
            }
        }
        for sweep in 0..5 {
            let from_above = sweep % 2 == 0;
            let ranks: Vec<usize> = if from_above {
                (0..self.ranks).collect()
            } else {
                (0..self.ranks).rev().collect()
            };
            for r in ranks {
                let layer = &layers[r];
                let mut want = Vec::with_capacity(layer.len());
                let mut priority = Vec::with_capacity(layer.len());
                for &v in layer {
                    let near: Vec<f64> = if from_above {
                        self.up[v]
                            .iter()
                            .map(|&h| x[self.hops[h].upper] + self.hops[h].port)
                            .collect()
                    } else {
                        self.down[v]
                            .iter()
                            .map(|&h| x[self.hops[h].lower] - self.hops[h].port)
                            .collect()
                    };
                    want.push(
                        (!near.is_empty()).then(|| near.iter().sum::<f64>() / near.len() as f64),
                    );
                    priority.push(match self.vertices[v].node {
                        None => usize::MAX,
                        Some(_) => near.len(),
                    });
                }
                let gaps: Vec<f64> = layer.windows(2).map(|p| self.gap(p[0], p[1])).collect();
                let mut at: Vec<f64> = layer.iter().map(|&v| x[v]).collect();
                place(&mut at, &want, &priority, &gaps);
                for (&v, placed) in layer.iter().zip(at) {
                    x[v] = placed;
                }
            }
        }
        let left = self
            .vertices
            .iter()
            .zip(&x)
            .map(|(v, x)| x - v.anchor)
            .fold(f64::INFINITY, f64::min);
        let shift = if left.is_finite() { MARGIN - left } else { 0.0 };
        x.iter().map(|x| x + shift).collect()
    }

    /// Per hop, the track of its horizontal run in the channel below its
    /// upper rank; per rank, the tracks of that channel. Runs that overlap
    /// get different tracks unless they go to the same vertex (there they
    /// merge).
    fn tracks(&self, x: &[f64]) -> (Vec<usize>, Vec<usize>) {
        let mut track = vec![0usize; self.hops.len()];
        let mut tracks = vec![0usize; self.ranks];
        for (r, count) in tracks.iter_mut().enumerate() {
            let mut runs: Vec<(f64, f64, usize)> = self
                .hops
                .iter()
                .enumerate()
                .filter(|(_, h)| self.vertices[h.upper].rank == r)
                .filter_map(|(i, h)| {
                    let a = x[h.upper] + h.port;
                    let b = x[h.lower];
                    ((a - b).abs() > 0.5).then_some((a.min(b), a.max(b), i))
                })
                .collect();
            runs.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.total_cmp(&b.1)));
            let mut taken: Vec<Vec<(f64, f64, usize)>> = Vec::new();
            for run in runs {
                let lower = self.hops[run.2].lower;
                let free = taken.iter().position(|t| {
                    t.iter().all(|other| {
                        self.hops[other.2].lower == lower
                            || run.0 > other.1 + TRACK_GAP
                            || other.0 > run.1 + TRACK_GAP
                    })
                });
                let t = free.unwrap_or_else(|| {
                    taken.push(Vec::new());
                    taken.len() - 1
                });
                taken[t].push(run);
                track[run.2] = t;
            }
            *count = taken.len();
        }
        (track, tracks)
    }
}

/// Each vertex's index in its rank.
fn positions(layers: &[Vec<usize>], vertices: usize) -> Vec<usize> {
    let mut pos = vec![0usize; vertices];
    for layer in layers {
        for (i, &v) in layer.iter().enumerate() {
            pos[v] = i;
        }
    }
    pos
}

/// A line without repeated points or points in the middle of a straight
/// run.
fn simplify(points: Vec<(f64, f64)>) -> Vec<(f64, f64)> {
    let same = |a: f64, b: f64| (a - b).abs() < 0.01;
    let mut out: Vec<(f64, f64)> = Vec::with_capacity(points.len());
    for p in points {
        if out.last().is_some_and(|q| same(q.0, p.0) && same(q.1, p.1)) {
            continue;
        }
        if let [.., a, b] = out[..]
            && ((same(a.0, b.0) && same(b.0, p.0)) || (same(a.1, b.1) && same(b.1, p.1)))
        {
            out.pop();
        }
        out.push(p);
    }
    out
}

/// Lays out nodes and edges.
pub fn layout(nodes: &[NodeBox], links: &[Link]) -> Layout {
    let (rank, reversed) = ranks(nodes.len(), links);
    let mut g = Layered::new(nodes, links, &rank, &reversed);
    let layers = g.order();
    g.ports(nodes, &positions(&layers, g.vertices.len()));
    let x = g.xs(&layers);
    let (track, tracks) = g.tracks(&x);
    let width = g
        .vertices
        .iter()
        .zip(&x)
        .map(|(v, x)| x - v.anchor + v.width)
        .fold(0.0, f64::max)
        + MARGIN;

    // Heights: each rank as tall as its tallest box, each channel as its
    // tracks need.
    let mut rank_top = vec![0.0; g.ranks];
    let mut rank_height = vec![0.0f64; g.ranks];
    for v in &g.vertices {
        rank_height[v.rank] = rank_height[v.rank].max(v.height);
    }
    let mut y = MARGIN;
    for r in 0..g.ranks {
        rank_top[r] = y;
        y += rank_height[r];
        if r + 1 < g.ranks {
            y += 2.0 * CHANNEL_PAD + tracks[r].saturating_sub(1) as f64 * TRACK_GAP;
        }
    }
    let height = y + MARGIN;
    let center_y = |v: &Vertex| rank_top[v.rank] + rank_height[v.rank] / 2.0;
    let track_y =
        |r: usize, t: usize| rank_top[r] + rank_height[r] + CHANNEL_PAD + t as f64 * TRACK_GAP;

    // Routes: from the source's bottom, per hop along its track if it
    // must move sideways, to the target's top.
    let mut paths = Vec::with_capacity(links.len());
    let mut labels = vec![None; links.len()];
    for (e, chain) in g.chains.iter().enumerate() {
        let mut points = Vec::new();
        for (k, &h) in chain.iter().enumerate() {
            let hop = &g.hops[h];
            let (upper, lower) = (&g.vertices[hop.upper], &g.vertices[hop.lower]);
            let from = x[hop.upper] + hop.port;
            let to = x[hop.lower];
            if let (0, Some(n)) = (k, upper.node) {
                let dy = bottom(nodes[n].shape, upper.width, upper.height, hop.port);
                points.push((from, center_y(upper) + dy));
            }
            if (from - to).abs() > 0.5 {
                let ty = track_y(upper.rank, track[h]);
                points.push((from, ty));
                points.push((to, ty));
            }
            if k + 1 == chain.len() {
                points.push((to, center_y(lower) - lower.height / 2.0));
            }
            if let Some(edge) = lower.label_of {
                let (w, h) = links[edge].label.unwrap_or((0.0, 0.0));
                let left = lower.anchor > 0.0;
                labels[edge] = Some(Label {
                    rect: Rect {
                        x: if left {
                            to - LABEL_GAP - w
                        } else {
                            to + LABEL_GAP
                        },
                        y: center_y(lower) - h / 2.0,
                        width: w,
                        height: h,
                    },
                    left,
                });
            }
        }
        let mut points = simplify(points);
        if reversed[e] {
            points.reverse();
        }
        paths.push(points);
    }
    let centers = (0..nodes.len())
        .map(|n| (x[n], center_y(&g.vertices[n])))
        .collect();
    Layout {
        width,
        height,
        centers,
        paths,
        labels,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placing_moves_vertices_by_priority_keeping_order_and_gaps() {
        // Nothing in the way: where wanted.
        let mut x = [0.0, 20.0];
        place(&mut x, &[Some(-50.0), Some(100.0)], &[1, 1], &[10.0]);
        assert_eq!(x, [-50.0, 100.0]);
        // Both want 50: the first placed gets it, the other goes beside.
        let mut x = [0.0, 20.0];
        place(&mut x, &[Some(50.0), Some(50.0)], &[1, 2], &[10.0]);
        assert_eq!(x, [40.0, 50.0]);
        // A vertex pushes those of lower priority aside, in order.
        let mut x = [0.0, 10.0, 20.0];
        place(&mut x, &[None, None, Some(-30.0)], &[0, 0, 1], &[5.0, 5.0]);
        assert_eq!(x, [-40.0, -35.0, -30.0]);
        // … but not one placed before it.
        let mut x = [0.0, 10.0, 20.0];
        place(
            &mut x,
            &[Some(0.0), None, Some(-30.0)],
            &[2, 0, 1],
            &[5.0, 5.0],
        );
        assert_eq!(x, [0.0, 5.0, 10.0]);
    }

    /// Whether the segment `p`–`q` (horizontal or vertical) meets the
    /// inside of `r`.
    fn crosses(p: (f64, f64), q: (f64, f64), r: &Rect) -> bool {
        let (x0, x1) = (p.0.min(q.0), p.0.max(q.0));
        let (y0, y1) = (p.1.min(q.1), p.1.max(q.1));
        x0 < r.x + r.width - 0.5 && x1 > r.x + 0.5 && y0 < r.y + r.height - 0.5 && y1 > r.y + 0.5
    }

    fn overlap(a: &Rect, b: &Rect) -> bool {
        a.x < b.x + b.width && b.x < a.x + a.width && a.y < b.y + b.height && b.y < a.y + a.height
    }

    /// A chart like a rule's: a decision whose branches end at different
    /// depths, a wait whose early end skips everything, labelled edges.
    #[test]
    fn edges_go_around_boxes_and_labels_stay_clear_and_on_the_canvas() {
        let node = |width, height, shape| NodeBox {
            width,
            height,
            shape,
        };
        let nodes = [
            node(200.0, 40.0, Shape::Start),
            node(180.0, 60.0, Shape::Wait),
            node(220.0, 80.0, Shape::Decision),
            node(300.0, 40.0, Shape::Action),
            node(120.0, 40.0, Shape::Action),
            node(160.0, 40.0, Shape::Action),
            node(38.0, 38.0, Shape::End),
        ];
        let link = |from, to, label: Option<f64>| Link {
            from,
            to,
            label: label.map(|w| (w, 16.0)),
        };
        let links = [
            link(0, 1, None),
            link(1, 6, Some(120.0)),
            link(1, 2, Some(70.0)),
            link(2, 3, Some(30.0)),
            link(2, 4, Some(20.0)),
            link(3, 6, None),
            link(4, 5, None),
            link(5, 6, None),
        ];
        let at = layout(&nodes, &links);
        let boxes: Vec<Rect> = nodes
            .iter()
            .zip(&at.centers)
            .map(|(n, (x, y))| Rect {
                x: x - n.width / 2.0,
                y: y - n.height / 2.0,
                width: n.width,
                height: n.height,
            })
            .collect();
        let canvas = Rect {
            x: 0.0,
            y: 0.0,
            width: at.width,
            height: at.height,
        };
        let within = |r: &Rect| {
            r.x >= 0.0 && r.y >= 0.0 && r.x + r.width <= at.width && r.y + r.height <= at.height
        };
        for (i, b) in boxes.iter().enumerate() {
            assert!(within(b), "node {i} {b:?} off {canvas:?}");
            for (j, c) in boxes.iter().enumerate().skip(i + 1) {
                assert!(!overlap(b, c), "nodes {i} and {j}");
            }
        }
        for (e, (path, l)) in at.paths.iter().zip(&links).enumerate() {
            assert!(path.len() >= 2, "edge {e}: {path:?}");
            for pair in path.windows(2) {
                assert!(
                    pair[0].0 == pair[1].0 || pair[0].1 == pair[1].1,
                    "edge {e} is not orthogonal: {path:?}"
                );
                for (n, b) in boxes.iter().enumerate() {
                    if n != l.from && n != l.to {
                        assert!(!crosses(pair[0], pair[1], b), "edge {e} crosses node {n}");
                    }
                }
            }
            let label = at.labels[e];
            assert_eq!(label.is_some(), l.label.is_some(), "edge {e}");
            if let Some(label) = label {
                assert!(within(&label.rect), "label {e} {label:?} off {canvas:?}");
                for (n, b) in boxes.iter().enumerate() {
                    assert!(!overlap(&label.rect, b), "label {e} over node {n}");
                }
                for (p, q) in path.iter().zip(&path[1..]) {
                    assert!(!crosses(*p, *q, &label.rect), "edge {e} through its label");
                }
            }
        }
        // The wait's early end runs straight down, past everything.
        let skip = &at.paths[1];
        assert!(skip.len() <= 4, "{skip:?}");
    }

    #[test]
    fn every_edge_spans_two_ranks_at_least_and_cycles_are_broken() {
        let link = |from, to| Link {
            from,
            to,
            label: None,
        };
        let (rank, reversed) = ranks(3, &[link(0, 1), link(1, 2), link(0, 2)]);
        assert_eq!(rank, [0, 2, 4]);
        assert_eq!(reversed, [false; 3]);
        let (rank, reversed) = ranks(2, &[link(0, 1), link(1, 0)]);
        assert_eq!(reversed.iter().filter(|r| **r).count(), 1);
        assert!(rank[0] != rank[1]);
    }
}
