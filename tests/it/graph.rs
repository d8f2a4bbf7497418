//! `flowc graph`: golden Mermaid and DOT charts of the example rules, SVG
//! that parses as XML, and `--db` counts that match the database.

use crate::support::golden;
use crate::support::pg;
use crate::support::world;

use std::path::PathBuf;
use std::process::Command;

const CHARTS: &[(&str, &str)] = &[
    ("seminar", "seminar"),
    ("seminar", "seminar_payment"),
    ("invoice_reminder", "invoice_reminder"),
    ("renewal", "renewal"),
    ("lead_assignment", "assign_web_lead"),
    ("undecided_followup", "undecided_followup"),
];

fn graph(example: &str, rule: &str, format: &str) -> String {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let out = Command::new(env!("CARGO_BIN_EXE_flowc"))
        .args([
            "graph",
            rule,
            &format!("examples/{example}"),
            "--format",
            format,
        ])
        .current_dir(&root)
        .output()
        .expect("flowc graph");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn mermaid_and_dot_charts_match_their_golden_files() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let mut failures = Vec::new();
    for (example, rule) in CHARTS {
        for (format, ext) in [("mermaid", "mmd"), ("dot", "dot")] {
            let path = root.join(format!("tests/graph/{rule}.{ext}"));
            if let Err(e) = golden::compare(&path, &graph(example, rule, format)) {
                failures.push(e);
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn svg_charts_are_well_formed_xml_with_every_step() {
    for (example, rule) in CHARTS {
        let svg = graph(example, rule, "svg");
        let mut child = Command::new("python3")
            .args([
                "-c",
                "import sys, xml.etree.ElementTree as ET; r = ET.fromstring(sys.stdin.read()); \
                          print(r.tag, len([e for e in r.iter() if e.tag.endswith('text')]))",
            ])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .expect("python3");
        use std::io::Write;
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(svg.as_bytes())
            .expect("write");
        let out = child.wait_with_output().expect("parse");
        let printed = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success() && printed.starts_with("{http://www.w3.org/2000/svg}svg"),
            "{rule}: {printed}"
        );
        let mermaid = graph(example, rule, "mermaid");
        let nodes = mermaid
            .lines()
            .filter(|l| l.trim_start().starts_with('n') && !l.contains("-->"))
            .count();
        let texts: usize = printed
            .split_whitespace()
            .nth(1)
            .and_then(|n| n.parse().ok())
            .unwrap_or(0);
        assert!(texts >= nodes, "{rule}: {texts} texts for {nodes} nodes");
    }
}

/// Runs a Python script with `input` on its stdin; its stdout, or a panic
/// with its stderr.
fn python(script: &str, input: &str) -> String {
    use std::io::Write;
    let mut child = Command::new("python3")
        .args(["-c", script])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("python3");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(input.as_bytes())
        .expect("write");
    let out = child.wait_with_output().expect("python3 runs");
    assert!(
        out.status.success(),
        "python3 failed: {}\n{input}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Prints the title of each chart of an SVG document, checking that it is
/// one document whose charts are groups placed one below the other.
const CHART_TITLES: &str = r#"
import sys, re, xml.etree.ElementTree as ET
root = ET.fromstring(sys.stdin.read())
ns = '{http://www.w3.org/2000/svg}'
assert root.tag == ns + 'svg', root.tag
height = float(root.get('viewBox').split()[3])
last = -1.0
for g in root:
    if g.tag != ns + 'g' or g.get('class') != 'chart':
        continue
    y = float(re.fullmatch(r'translate\(([-0-9.]+),([-0-9.]+)\)', g.get('transform')).group(2))
    assert last < y < height, (y, last, height)
    last = y
    titles = [t for t in g if t.get('class') == 'title']
    print(''.join(titles[0].itertext()))
"#;

/// A folder's rules in one SVG: one document (XML allows one root), each
/// rule's chart in a group of its own under a title naming the rule, one
/// below the other.
#[test]
fn several_rules_make_one_svg_document_with_a_chart_per_rule() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let out = Command::new(env!("CARGO_BIN_EXE_flowc"))
        .args(["graph", "examples/seminar", "--format", "svg"])
        .current_dir(&root)
        .output()
        .expect("flowc graph");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let svg = String::from_utf8_lossy(&out.stdout);
    let printed = python(CHART_TITLES, &svg);
    assert_eq!(
        printed.lines().collect::<Vec<_>>(),
        [
            "rule seminar",
            "rule seminar_payment",
            "rule payment_received"
        ],
        "{svg}"
    );
}

#[test]
fn a_rule_name_that_does_not_exist_gets_a_suggestion() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let out = Command::new(env!("CARGO_BIN_EXE_flowc"))
        .args(["graph", "seminr", "examples/seminar"])
        .current_dir(&root)
        .output()
        .expect("flowc graph");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("did you mean `seminar`?"));
}

/// Three sign-ups: all three got the auto-reply; one opened it (and went
/// on), two still wait, which the wait shows apart from the one that
/// passed.
#[test]
fn with_a_database_each_step_shows_its_runs() {
    let w = world::World::example("seminar");
    w.run(&["--now", "2025-01-01T09:00"]);
    w.sql("INSERT INTO contact (id, name, email) VALUES (1, 'A', 'a@example.jp'), (2, 'B', 'b@example.jp'), (3, 'C', 'c@example.jp');");
    for id in 1..=3 {
        w.event(
            "form_submitted",
            &format!("contact:{id}"),
            r#"{"form": "seminar"}"#,
            None,
        );
    }
    w.event(
        "email_opened",
        "contact:1",
        r#"{"template": "autoreply"}"#,
        Some("2025-01-02"),
    );
    w.run(&["--until", "2025-01-03"]);
    let out = w.flowc(&["graph", "seminar", "rules", "--db", "crm.sqlite"]);
    let chart = world::text(&out.stdout);
    assert!(
        chart.contains("n1[\"send email autoreply to contact<br/>3 passed\"]"),
        "{chart}"
    );
    assert!(
        chart
            .contains("n2{{\"wait 7d unless contact opened autoreply<br/>1 passed · 2 waiting\"}}"),
        "{chart}"
    );
}

/// Leads assigned by rules whose branches write a rep found by a lookup,
/// a literal, or (`assign_note`) a value that depends on the lead.
const ASSIGN_PROJECT: &[(&str, &str)] = &[
    (
        "schema.flow",
        r#"timezone "Asia/Tokyo"

record user {
  name: text
  email: text
}

record lead {
  name: text
  prefecture: text?
  employees: int?
  industry: text?
  rank: text?
  note: text?
  owner: user?
}
"#,
    ),
    (
        "rules.flow",
        r#"rule assign_owner
  when lead is created
  assign lead.owner
    when lead.prefecture == "北海道" to user(email: "sato@example.jp")
    when lead.employees >= 1000 to user(email: "kato@example.jp")
    when lead.industry == "物流" to user(email: "sato@example.jp")
    otherwise user(email: "inside@example.jp")
end

rule assign_rank
  when lead is created
  assign lead.rank
    when lead.employees >= 1000 to "A"
    when lead.employees >= 100 to "B"
    otherwise "C"
end

rule assign_note
  when lead is created
  assign lead.note
    when lead.industry is not null to lead.industry
    otherwise "none"
end
"#,
    ),
];

/// The users and seven leads: two from 北海道 (one also large), three
/// large, one in 物流, one of none of these.
const ASSIGN_ROWS: &str = "INSERT INTO \"user\" (id, name, email) VALUES \
    (1, 'Sato', 'sato@example.jp'), (2, 'Kato', 'kato@example.jp'), \
    (3, 'Inside', 'inside@example.jp'); \
    INSERT INTO lead (id, name, prefecture, employees, industry) VALUES \
    (1, 'a', '北海道', 5000, NULL), (2, 'b', '北海道', 10, NULL), \
    (3, 'c', '東京都', 1200, NULL), (4, 'd', '大阪府', 3000, '製造業'), \
    (5, 'e', NULL, 2000, NULL), (6, 'f', NULL, 150, '物流'), (7, 'g', NULL, NULL, NULL);";

/// The Mermaid line of the node whose label starts with `label`.
fn node_line<'a>(chart: &'a str, label: &str) -> &'a str {
    chart
        .lines()
        .find(|l| l.contains(&format!("\"{label}")))
        .unwrap_or_else(|| panic!("no node {label:?} in:\n{chart}"))
}

/// Each branch of an `assign` shows the runs that took it, and each
/// question the runs that reached it (before, each showed the step's
/// total), on SQLite and on PostgreSQL alike. Where a branch's value
/// depends on the run, the branches cannot be told apart by the value in
/// the log: only the first question shows the total.
#[test]
fn with_a_database_each_assign_branch_shows_its_own_runs() {
    let w = world::World::files(ASSIGN_PROJECT);
    w.run(&["--now", "2025-01-01T09:00"]);
    w.sql(ASSIGN_ROWS);
    w.run(&["--now", "2025-01-01T10:00"]);
    let mut databases = vec!["crm.sqlite".to_string()];
    if let Some(server) = pg::shared("with_a_database_each_assign_branch_shows_its_own_runs") {
        let url = server.create_database("graph_assign");
        w.ok(&["schema", "--db", &url, "--create", "rules"]);
        w.ok(&["run", "--db", &url, "rules", "--now", "2025-01-01T09:00"]);
        server.psql(&url, ASSIGN_ROWS);
        w.ok(&["run", "--db", &url, "rules", "--now", "2025-01-01T10:00"]);
        databases.push(url);
    }
    for db in &databases {
        let owner = w.ok(&["graph", "assign_owner", "rules", "--db", db]);
        let has = |chart: &str, label: &str, count: &str| {
            let line = node_line(chart, label);
            assert!(
                line.contains(&format!("<br/>{count}\"")),
                "{db}: {line}\n{chart}"
            );
        };
        // Sato is the first and the third branch's value: those two
        // cannot be told apart, nor can the questions after the first.
        has(&owner, "lead.prefecture", "7 passed");
        assert!(
            !node_line(&owner, "lead.employees").contains("passed"),
            "{owner}"
        );
        assert!(
            !node_line(&owner, "lead.industry").contains("passed"),
            "{owner}"
        );
        assert!(
            !node_line(&owner, "lead.owner = user(email: #quot;sato").contains("passed"),
            "{owner}"
        );
        has(&owner, "lead.owner = user(email: #quot;kato", "3 passed");
        has(&owner, "lead.owner = user(email: #quot;inside", "1 passed");

        let rank = w.ok(&["graph", "assign_rank", "rules", "--db", db]);
        has(&rank, "lead.employees >= 1000", "7 passed");
        has(&rank, "lead.employees >= 100<", "3 passed");
        has(&rank, "lead.rank = #quot;A#quot;", "4 passed");
        has(&rank, "lead.rank = #quot;B#quot;", "1 passed");
        has(&rank, "lead.rank = #quot;C#quot;", "2 passed");

        let note = w.ok(&["graph", "assign_note", "rules", "--db", db]);
        has(&note, "lead.industry is not null", "7 passed");
        assert!(
            !node_line(&note, "lead.note = lead.industry").contains("passed"),
            "{note}"
        );
        assert!(
            !node_line(&note, "lead.note = #quot;none").contains("passed"),
            "{note}"
        );
    }
}

/// Checks the drawing of an SVG document from `flowc graph`: within each
/// chart (a group of class `chart`), no node overlaps another or leaves
/// the chart; no edge label (text of class `label`, its extent estimated
/// as the layout does: 7.2px a character, 13px a wide one, at 12px) lies
/// outside the canvas, over a node or over another label; every edge (a
/// path or line) joins two nodes and no segment of it passes through a
/// node other than those two. Node boxes are the bounding boxes of their
/// shapes. Prints a summary line per chart, and a `PROBLEM` line per fault.
const GEOMETRY: &str = r#"
import re, sys, xml.etree.ElementTree as ET

NS = '{http://www.w3.org/2000/svg}'
root = ET.fromstring(sys.stdin.read())
vx, vy, vw, vh = (float(v) for v in root.get('viewBox').split())
problems = []


def offset(el, dx, dy):
    t = el.get('transform')
    if not t:
        return dx, dy
    m = re.fullmatch(r'\s*translate\(\s*([-0-9.e]+)[ ,]+([-0-9.e]+)\s*\)\s*', t)
    assert m, 'only translate() is supported: ' + t
    return dx + float(m.group(1)), dy + float(m.group(2))


def text_width(s, size):
    return sum(13.0 if ord(c) > 0x2E80 else 7.2 for c in s) * size / 12.0


def points(d):
    """The points of a path's M/L/H/V commands (absolute), a curve sampled."""
    out = []
    tokens = re.findall(r'[MLHVCZmlhvcz]|-?[0-9.]+(?:e-?[0-9]+)?', d)
    i, cmd, cur = 0, None, (0.0, 0.0)
    while i < len(tokens):
        if tokens[i].isalpha():
            cmd = tokens[i]
            i += 1
            if cmd in 'Zz':
                continue
        assert cmd in 'MLHVC', 'unsupported path command ' + cmd
        if cmd in 'ML':
            cur = (float(tokens[i]), float(tokens[i + 1]))
            i += 2
            out.append(cur)
        elif cmd == 'H':
            cur = (float(tokens[i]), cur[1])
            i += 1
            out.append(cur)
        elif cmd == 'V':
            cur = (cur[0], float(tokens[i]))
            i += 1
            out.append(cur)
        else:
            c = [float(t) for t in tokens[i:i + 6]]
            i += 6
            p0, p1, p2, p3 = cur, (c[0], c[1]), (c[2], c[3]), (c[4], c[5])
            for k in range(1, 21):
                t = k / 20
                out.append(tuple((1 - t) ** 3 * a + 3 * (1 - t) ** 2 * t * b + 3 * (1 - t) * t * t * e + t ** 3 * f
                                 for a, b, e, f in zip(p0, p1, p2, p3)))
            cur = p3
    return out


def bbox_of_shape(el, dx, dy):
    tag = el.tag[len(NS):]
    if tag == 'rect':
        x, y = float(el.get('x')), float(el.get('y'))
        return (x + dx, y + dy, x + dx + float(el.get('width')), y + dy + float(el.get('height')))
    if tag == 'circle':
        cx, cy, r = float(el.get('cx')), float(el.get('cy')), float(el.get('r'))
        return (cx - r + dx, cy - r + dy, cx + r + dx, cy + r + dy)
    if tag == 'polygon':
        ps = [tuple(float(v) for v in p.split(',')) for p in el.get('points').split()]
        xs, ys = [p[0] for p in ps], [p[1] for p in ps]
        return (min(xs) + dx, min(ys) + dy, max(xs) + dx, max(ys) + dy)
    return None


charts = []  # per chart: its top, nodes, edges, labels


def walk(el, dx, dy, chart, in_label):
    tag = el.tag[len(NS):]
    if tag == 'defs':
        return
    dx, dy = offset(el, dx, dy)
    cls = el.get('class') or ''
    if tag == 'g' and cls == 'chart':
        chart = {'top': dy, 'nodes': [], 'edges': [], 'labels': [], 'texts': []}
        charts.append(chart)
    if chart is None:
        for child in el:
            walk(child, dx, dy, chart, in_label)
        return
    if cls == 'title':
        chart['texts'].append(el)
        return
    if tag in ('rect', 'circle', 'polygon') and 'label' not in cls and not in_label:
        chart['nodes'].append(bbox_of_shape(el, dx, dy))
    elif tag == 'line':
        chart['edges'].append([(float(el.get('x1')) + dx, float(el.get('y1')) + dy),
                               (float(el.get('x2')) + dx, float(el.get('y2')) + dy)])
    elif tag == 'path':
        chart['edges'].append([(x + dx, y + dy) for x, y in points(el.get('d'))])
    elif tag == 'text' and ('label' in cls or in_label or el.get('font-style') == 'italic'):
        size = float(el.get('font-size') or 12)
        s = ''.join(el.itertext())
        w = text_width(s, size)
        x, y = float(el.get('x')) + dx, float(el.get('y')) + dy
        anchor = el.get('text-anchor') or 'start'
        left = x - w / 2 if anchor == 'middle' else x - w if anchor == 'end' else x
        chart['labels'].append((s, (left, y - size * 0.92, left + w, y + size * 0.25)))
    for child in el:
        walk(child, dx, dy, chart, in_label or (tag == 'g' and 'label' in cls))


walk(root, 0.0, 0.0, None, False)
if not charts:
    problems.append('no chart')


def overlap(a, b, eps=0.5):
    return a[0] + eps < b[2] and b[0] + eps < a[2] and a[1] + eps < b[3] and b[1] + eps < a[3]


def inside(p, r, eps):
    return r[0] - eps <= p[0] <= r[2] + eps and r[1] - eps <= p[1] <= r[3] + eps


def crosses(p, q, r, eps=1.0):
    """Whether segment pq meets the interior of r shrunk by eps (Liang-Barsky)."""
    x0, y0, x1, y1 = r[0] + eps, r[1] + eps, r[2] - eps, r[3] - eps
    if x0 >= x1 or y0 >= y1:
        return False
    t0, t1 = 0.0, 1.0
    dx, dy = q[0] - p[0], q[1] - p[1]
    for pk, qk in ((-dx, p[0] - x0), (dx, x1 - p[0]), (-dy, p[1] - y0), (dy, y1 - p[1])):
        if pk == 0:
            if qk <= 0:
                return False
        else:
            t = qk / pk
            if pk < 0:
                t0 = max(t0, t)
            else:
                t1 = min(t1, t)
            if t0 >= t1:
                return False
    return True


for n, chart in enumerate(charts):
    bottom = charts[n + 1]['top'] if n + 1 < len(charts) else vy + vh
    area = (vx, chart['top'], vx + vw, bottom)
    name = ''.join(chart['texts'][0].itertext()) if chart['texts'] else 'chart %d' % n
    nodes = chart['nodes']
    for i, a in enumerate(nodes):
        if not (area[0] <= a[0] and a[2] <= area[2] and area[1] <= a[1] and a[3] <= area[3]):
            problems.append('%s: node %s outside its chart %s' % (name, a, area))
        for b in nodes[i + 1:]:
            if overlap(a, b):
                problems.append('%s: nodes %s and %s overlap' % (name, a, b))
    for i, (s, box) in enumerate(chart['labels']):
        if not (area[0] <= box[0] and box[2] <= area[2] and area[1] <= box[1] and box[3] <= area[3]):
            problems.append('%s: label %r %s outside the canvas %s' % (name, s, box, area))
        for a in nodes:
            if overlap(box, a):
                problems.append('%s: label %r %s over node %s' % (name, s, box, a))
        for t, other in chart['labels'][i + 1:]:
            if overlap(box, other):
                problems.append('%s: labels %r and %r overlap' % (name, s, t))
    for e in chart['edges']:
        if len(e) < 2:
            problems.append('%s: an edge without segments' % name)
            continue
        ends = [a for a in nodes if inside(e[0], a, 2.0) or inside(e[-1], a, 2.0)]
        if not any(inside(e[0], a, 2.0) for a in nodes) or not any(inside(e[-1], a, 2.0) for a in nodes):
            problems.append('%s: edge %s does not join two nodes' % (name, e))
        for p in e:
            if not inside(p, area, 0.0):
                problems.append('%s: edge point %s outside the canvas %s' % (name, p, area))
                break
        for p, q in zip(e, e[1:]):
            for a in nodes:
                if a not in ends and crosses(p, q, a):
                    problems.append('%s: edge segment %s-%s crosses node %s' % (name, p, q, a))
    print('%s: %d nodes, %d edges, %d labels' % (name, len(nodes), len(chart['edges']), len(chart['labels'])))
for p in problems:
    print('PROBLEM', p)
"#;

/// A project with nested `if`s, `assign`s in branches, waits that end the
/// run early, an approval with steps on rejection, and a `stop`.
const NESTED_PROJECT: &[(&str, &str)] = &[
    (
        "schema.flow",
        r#"timezone "Asia/Tokyo"

record user {
  name: text
  email: text
  manager: user?
}

record lead {
  name: text
  email: text
  prefecture: text?
  employees: int?
  industry: text?
  rank: text?
  score: int?
  owner: user?
}
"#,
    ),
    (
        "rules.flow",
        r#"rule nested
  when lead is created
  if lead.employees >= 1000
    assign lead.owner
      when lead.prefecture == "北海道" to user(email: "sato@example.jp")
      when lead.industry == "物流" to user(email: "kato@example.jp")
      otherwise user(email: "inside@example.jp")
    if lead.industry is null
      set lead.rank = "A"
    else if lead.industry == "製造業"
      assign lead.rank
        when lead.employees >= 5000 to "S"
        when lead.prefecture in ["東京都", "大阪府", "愛知県"] to "A+"
        otherwise "A"
    else
      tag lead "large"
      stop
    end
    wait 3d unless event reply_received
  else if lead.employees >= 100
    wait until lead.owner is not null, at most 7d
    require approval from lead.owner.manager
      on reject
        tag lead "rejected"
        if lead.score >= 50
          tag lead "hot_but_rejected"
        end
      end
    set lead.rank = "B"
  else
    assign lead.rank
      when lead.score >= 80 to "B"
      when lead.score >= 40 to "C"
    set lead.score = 0
  end
  tag lead "assigned"
end

rule drip
  when lead is created
  wait 1d unless lead.owner is not null
  tag lead "day1"
  wait 2d unless event reply_received
  if lead.rank == "A"
    tag lead "hot"
    stop
  end
  wait until lead.score >= 50, at most 14d
  tag lead "done"
end
"#,
    ),
];

/// `flowc graph TARGET --format svg` run in `dir`, checked by [`GEOMETRY`]:
/// its summary and its problems.
fn geometry(dir: &std::path::Path, args: &[&str]) -> (String, Vec<String>) {
    let mut all = vec!["graph"];
    all.extend_from_slice(args);
    all.extend(["--format", "svg"]);
    let out = Command::new(env!("CARGO_BIN_EXE_flowc"))
        .args(&all)
        .current_dir(dir)
        .output()
        .expect("flowc graph");
    assert!(
        out.status.success(),
        "flowc {all:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let printed = python(GEOMETRY, &String::from_utf8_lossy(&out.stdout));
    let problems = printed
        .lines()
        .filter(|l| l.starts_with("PROBLEM"))
        .map(|l| format!("{all:?}: {l}"))
        .collect();
    (printed, problems)
}

/// Every rule of every example, and a project of nested branches: labels
/// on the canvas and off the nodes, and edges around the nodes they do not
/// join (before, labels sat under nodes or past the right edge, and edges
/// that skipped rows curved through boxes and off the canvas).
#[test]
fn svg_labels_stay_on_the_canvas_and_off_nodes_and_edges_go_around_nodes() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let mut problems = Vec::new();
    let mut charts = 0;
    let mut examples: Vec<PathBuf> = std::fs::read_dir(root.join("examples"))
        .expect("examples")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.is_dir())
        .collect();
    examples.sort();
    assert!(examples.len() >= 10, "{examples:?}");
    for example in &examples {
        let (printed, found) = geometry(&root, &[&example.to_string_lossy()]);
        charts += printed.lines().filter(|l| l.starts_with("rule ")).count();
        problems.extend(found);
    }
    let w = world::World::files(NESTED_PROJECT);
    let (printed, found) = geometry(w.dir.path(), &["rules"]);
    assert!(
        printed.contains("rule nested: 31 nodes, 43 edges, 27 labels"),
        "{printed}"
    );
    problems.extend(found);
    assert!(charts >= 20, "{charts} charts");
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// The same with `--db`: counts make nodes taller and wider.
#[test]
fn svg_with_counts_keeps_labels_and_edges_clear() {
    let w = world::World::files(ASSIGN_PROJECT);
    w.run(&["--now", "2025-01-01T09:00"]);
    w.sql(ASSIGN_ROWS);
    w.run(&["--now", "2025-01-01T10:00"]);
    let (printed, problems) = geometry(w.dir.path(), &["rules", "--db", "crm.sqlite"]);
    assert_eq!(
        printed.lines().filter(|l| l.starts_with("rule ")).count(),
        3,
        "{printed}"
    );
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
