//! Property tests for `flowc fmt`: random syntax trees are printed, and the
//! text must parse back to the same tree and be a fixed point of the
//! formatter; with random comments and blank lines sprinkled in, formatting
//! must keep the tree and every comment, and be idempotent; with
//! parentheses and digit separators added at random, formatting must keep
//! every one of them.
//!
//! The generator makes only trees the parser can produce: no minus applied
//! to a number literal (the parser folds it into the literal), no `else`
//! block starting with an unlabelled `if` (that reads as `else if`), at
//! least one case per `assign`, durations for `every`.

use flowc::fmt::{comments, fingerprint, format_module, format_source};
use flowc::source::{FileId, Span};
use flowc::syntax::ast::*;
use flowc::syntax::parse;
use proptest::collection::vec;
use proptest::option;
use proptest::prelude::*;
use proptest::sample::select;

/// Names, including words that are keywords only in some places.
const NAMES: &str = "a b contact owner x1 _y role email emails task no run approval pending day \
    at each most with monday file of becomes changes created never ending index order then_ endless";
/// Field names may also be keywords.
const FIELDS: &str = "name score end from to if null email x_2";
const WEEKDAYS: &str = "monday tuesday wednesday thursday friday saturday sunday";
const DATETIMES: &str =
    "2024-04-01T09:00 2024-04-01T09:00:30 2024-12-31T23:59Z 2025-01-01T00:00:00+09:00";
#[rustfmt::skip]
const TEXTS: &[&str] = &[
    "", "a b", "見込み", "{{contact.name}}", "# not a comment", "quote \" and \\ backslash",
    "line\nbreak\ttab", "\u{7}bell", "\\{{x}}", "end", "rule x",
];
#[rustfmt::skip]
const OPS: &[BinaryOp] = &[
    BinaryOp::Add, BinaryOp::Sub, BinaryOp::Mul, BinaryOp::Div, BinaryOp::Rem, BinaryOp::Eq,
    BinaryOp::Ne, BinaryOp::Lt, BinaryOp::Le, BinaryOp::Gt, BinaryOp::Ge, BinaryOp::And,
    BinaryOp::Or,
];

fn words(list: &'static str) -> Vec<&'static str> {
    list.split_whitespace().collect()
}

fn sp() -> Span {
    Span::default()
}

fn ident(name: &str) -> Ident {
    Ident {
        name: name.to_string(),
        span: sp(),
    }
}

fn e(kind: ExprKind) -> Expr {
    Expr { kind, span: sp() }
}

fn name() -> impl Strategy<Value = Ident> + Clone {
    select(words(NAMES)).prop_map(ident)
}

fn field() -> impl Strategy<Value = Ident> + Clone {
    select(words(FIELDS)).prop_map(ident)
}

fn text_value() -> impl Strategy<Value = String> + Clone {
    prop_oneof![
        select(TEXTS).prop_map(String::from),
        "[a-z 日本#{}\"\\\\\n\t]{0,8}",
    ]
}

fn text() -> impl Strategy<Value = Text> + Clone {
    text_value().prop_map(|value| Text { value, span: sp() })
}

fn decimal() -> impl Strategy<Value = f64> {
    prop_oneof![
        (any::<i32>(), 0i32..8).prop_map(|(m, k)| f64::from(m) / 10f64.powi(k)),
        any::<f64>().prop_filter("finite", |v| v.is_finite()),
        Just(-0.0),
        Just(1e20),
    ]
}

fn literal() -> impl Strategy<Value = Expr> {
    prop_oneof![
        any::<i64>()
            .prop_filter("not MIN", |v| *v != i64::MIN)
            .prop_map(ExprKind::Int),
        (-1000i64..1000).prop_map(ExprKind::Int),
        decimal().prop_map(ExprKind::Decimal),
        text_value().prop_map(ExprKind::Text),
        any::<bool>().prop_map(ExprKind::Bool),
        Just(ExprKind::Null),
        Just(ExprKind::Today),
        Just(ExprKind::Now),
        (-25_567i32..47_482).prop_map(ExprKind::Date),
        select(words(DATETIMES)).prop_map(|d| ExprKind::DateTime(d.to_string())),
        (-10_000_000i64..10_000_000).prop_map(ExprKind::Duration),
        (-40i64..40).prop_map(ExprKind::Months),
        name().prop_map(ExprKind::Name),
        name().prop_map(ExprKind::Name),
        field().prop_map(ExprKind::Old),
        field().prop_map(ExprKind::EventField),
    ]
    .prop_map(e)
}

fn is_number(x: &Expr) -> bool {
    matches!(
        x.kind,
        ExprKind::Int(_) | ExprKind::Decimal(_) | ExprKind::Duration(_) | ExprKind::Months(_)
    )
}

fn expr() -> BoxedStrategy<Expr> {
    literal()
        .prop_recursive(3, 24, 3, |inner| {
            let b = inner.clone().prop_map(Box::new);
            prop_oneof![
                (inner.clone(), field()).prop_map(|(base, field)| ExprKind::Field {
                    base: Box::new(base),
                    field
                }),
                inner.clone().prop_map(|x| {
                    let x = if is_number(&x) {
                        e(ExprKind::Name(ident("a")))
                    } else {
                        x
                    };
                    ExprKind::Neg(Box::new(x))
                }),
                b.clone().prop_map(ExprKind::Not),
                (select(OPS), b.clone(), b.clone())
                    .prop_map(|(op, left, right)| ExprKind::Binary { op, left, right }),
                (b.clone(), b.clone(), b.clone()).prop_map(|(condition, then, otherwise)| {
                    ExprKind::If {
                        condition,
                        then,
                        otherwise,
                    }
                }),
                vec(inner.clone(), 0..3).prop_map(ExprKind::ListLit),
                (b.clone(), text()).prop_map(|(date, time)| ExprKind::At { date, time }),
                (b.clone(), b.clone(), b.clone(), any::<bool>()).prop_map(
                    |(value, low, high, negated)| ExprKind::Between {
                        value,
                        low,
                        high,
                        negated
                    }
                ),
                (b.clone(), b.clone(), any::<bool>()).prop_map(|(value, set, negated)| {
                    ExprKind::In {
                        value,
                        set,
                        negated,
                    }
                }),
                (b.clone(), name(), any::<bool>()).prop_map(|(value, list, negated)| {
                    ExprKind::InList {
                        value,
                        list,
                        negated,
                    }
                }),
                (b.clone(), name(), any::<bool>()).prop_map(|(value, segment, negated)| {
                    ExprKind::InSegment {
                        value,
                        segment,
                        negated,
                    }
                }),
                (b.clone(), b.clone(), any::<bool>()).prop_map(|(text, part, negated)| {
                    ExprKind::Contains {
                        text,
                        part,
                        negated,
                    }
                }),
                (b.clone(), b.clone())
                    .prop_map(|(text, prefix)| ExprKind::StartsWith { text, prefix }),
                (b.clone(), any::<bool>())
                    .prop_map(|(value, negated)| ExprKind::IsNull { value, negated }),
                (b.clone(), b.clone()).prop_map(|(value, tag)| ExprKind::HasTag { value, tag }),
                (b.clone(), any::<bool>())
                    .prop_map(|(record, negated)| ExprKind::Unsubscribed { record, negated }),
                (b.clone(), name())
                    .prop_map(|(record, template)| ExprKind::Opened { record, template }),
                (b.clone(), name())
                    .prop_map(|(record, template)| ExprKind::Clicked { record, template }),
                (name(), vec(inner.clone(), 0..3))
                    .prop_map(|(function, args)| ExprKind::Call { function, args }),
                (name(), field(), b.clone()).prop_map(|(record, field, value)| ExprKind::Lookup {
                    record,
                    field,
                    value
                }),
                (name(), b.clone(), b).prop_map(|(function, value, condition)| {
                    ExprKind::Aggregate {
                        function,
                        value,
                        condition,
                    }
                }),
            ]
            .prop_map(e)
        })
        .boxed()
}

fn simple_step() -> impl Strategy<Value = StepKind> {
    let x = expr();
    prop_oneof![
        (x.clone(), name()).prop_map(|(item, list)| StepKind::AddToList { item, list }),
        (x.clone(), name()).prop_map(|(item, list)| StepKind::RemoveFromList { item, list }),
        (x.clone(), text()).prop_map(|(target, tag)| StepKind::Tag { target, tag }),
        (x.clone(), text()).prop_map(|(target, tag)| StepKind::Untag { target, tag }),
        (x.clone(), x.clone()).prop_map(|(target, value)| StepKind::Set { target, value }),
        (name(), x.clone()).prop_map(|(template, to)| StepKind::SendEmail { template, to }),
        (
            prop_oneof![
                text().prop_map(NotifyTarget::Role),
                x.clone().prop_map(NotifyTarget::Expr)
            ],
            prop_oneof![
                text().prop_map(Message::Inline),
                name().prop_map(Message::Template)
            ],
        )
            .prop_map(|(to, message)| StepKind::Notify { to, message }),
        (text(), x.clone(), option::of(x.clone())).prop_map(|(title, assignee, due)| {
            StepKind::CreateTask {
                title,
                assignee,
                due,
            }
        }),
        (
            x.clone(),
            vec((x.clone(), x.clone()), 1..3),
            option::of(x.clone()),
        )
            .prop_map(|(target, cases, otherwise)| StepKind::Assign {
                target,
                cases: cases
                    .into_iter()
                    .map(|(condition, value)| AssignCase {
                        condition,
                        value,
                        span: sp()
                    })
                    .collect(),
                otherwise,
            }),
        (
            x.clone(),
            option::of(prop_oneof![
                name().prop_map(Unless::Event),
                x.clone().prop_map(Unless::Condition)
            ]),
        )
            .prop_map(|(duration, unless)| StepKind::Wait(Wait::For { duration, unless })),
        (x.clone(), option::of(x.clone()))
            .prop_map(|(target, at_most)| StepKind::Wait(Wait::Until { target, at_most })),
        x.clone().prop_map(|from| StepKind::RequireApproval {
            from,
            on_reject: None
        }),
        x.clone().prop_map(StepKind::Lock),
        x.prop_map(StepKind::Unlock),
        Just(StepKind::Stop),
    ]
}

fn block(steps: Vec<Step>) -> Block {
    let mut steps = steps;
    // An unlabelled `if` first in an `else` would read as `else if`.
    if let Some(first) = steps.first_mut()
        && first.label.is_none()
        && matches!(first.kind, StepKind::If { .. })
    {
        first.label = Some(ident("inner"));
    }
    Block { steps, span: sp() }
}

fn steps() -> impl Strategy<Value = Vec<Step>> {
    let step = (option::weighted(0.1, name()), simple_step())
        .prop_map(|(label, kind)| Step {
            label,
            kind,
            span: sp(),
        })
        .prop_recursive(2, 12, 3, |inner| {
            let nested = vec(inner, 0..3);
            let kind = prop_oneof![
                (
                    vec((expr(), nested.clone()), 1..3),
                    option::of(nested.clone())
                )
                    .prop_map(|(branches, otherwise)| StepKind::If {
                        branches: branches
                            .into_iter()
                            .map(|(condition, steps)| Branch {
                                condition,
                                steps,
                                span: sp()
                            })
                            .collect(),
                        otherwise: otherwise.map(block),
                    }),
                (expr(), nested).prop_map(|(from, steps)| StepKind::RequireApproval {
                    from,
                    on_reject: Some(block(steps)),
                }),
            ];
            (option::weighted(0.1, name()), kind).prop_map(|(label, kind)| Step {
                label,
                kind,
                span: sp(),
            })
        });
    vec(step, 0..4)
}

fn trigger() -> impl Strategy<Value = Trigger> {
    let lifecycle = prop_oneof![
        Just(Lifecycle::Created),
        Just(Lifecycle::Updated),
        Just(Lifecycle::Deleted)
    ];
    let schedule = prop_oneof![
        text().prop_map(|at| Schedule::Daily { at }),
        (select(words(WEEKDAYS)).prop_map(ident), text())
            .prop_map(|(day, at)| Schedule::Weekly { day, at }),
        (0i64..10_000_000).prop_map(|s| Schedule::Interval {
            every: e(ExprKind::Duration(s))
        }),
    ];
    prop_oneof![
        (name(), lifecycle).prop_map(|(record, what)| TriggerKind::Record { record, what }),
        (name(), field(), option::of(expr()), option::of(expr())).prop_map(
            |(record, field, from, to)| TriggerKind::Changes {
                record,
                field,
                from,
                to
            }
        ),
        (name(), expr()).prop_map(|(record, condition)| TriggerKind::Becomes { record, condition }),
        (name(), name()).prop_map(|(name, record)| TriggerKind::Event { name, record }),
        (schedule, option::of(name()))
            .prop_map(|(schedule, each)| TriggerKind::Every { schedule, each }),
    ]
    .prop_map(|kind| Trigger { kind, span: sp() })
}

fn rule() -> impl Strategy<Value = Item> {
    let option = prop_oneof![
        option::of(expr()).prop_map(|after| RuleOption::Reenter { after, span: sp() }),
        (expr(), any::<bool>()).prop_map(|(condition, continues)| RuleOption::Goal {
            condition,
            continues,
            span: sp()
        }),
    ];
    (
        name(),
        trigger(),
        option::of(expr()),
        vec(option, 0..2),
        steps(),
    )
        .prop_map(|(name, trigger, filter, options, steps)| {
            Item::Rule(Box::new(RuleDecl {
                name,
                trigger,
                filter,
                options,
                steps,
                span: sp(),
            }))
        })
}

fn field_values() -> impl Strategy<Value = Vec<FieldValue>> {
    vec(
        (field(), expr()).prop_map(|(field, value)| FieldValue { field, value }),
        0..3,
    )
}

fn test_step() -> impl Strategy<Value = TestStep> {
    let count = prop_oneof![
        Just(EmailCount::Some),
        Just(EmailCount::None),
        (0u32..5).prop_map(EmailCount::Exactly)
    ];
    let state = select(&["waiting", "done", "end", "active"][..]).prop_map(ident);
    let expectation = prop_oneof![
        expr().prop_map(Expectation::Condition),
        (
            count.clone(),
            option::of(name()),
            expr(),
            option::of((select(&["subject", "body"][..]).prop_map(ident), expr()))
        )
            .prop_map(|(count, template, to, with)| Expectation::Email {
                count,
                template,
                to,
                with: with.map(|(part, text)| EmailFilter { part, text }),
            }),
        (count, option::of(text()), expr()).prop_map(|(count, title, assignee)| {
            Expectation::Task {
                count,
                title,
                assignee,
            }
        }),
        (
            name(),
            field_values().prop_filter("one at least", |f| !f.is_empty())
        )
            .prop_map(|(var, fields)| Expectation::Refused { var, fields }),
        (any::<bool>(), option::of(expr()))
            .prop_map(|(negated, subject)| Expectation::Approval { negated, subject }),
        (name(), expr(), state).prop_map(|(rule, subject, state)| Expectation::Run {
            rule,
            subject,
            state
        }),
    ];
    prop_oneof![
        (name(), name(), field_values()).prop_map(|(record, var, fields)| TestStepKind::Given {
            record,
            var,
            fields
        }),
        (
            name(),
            field_values().prop_filter("one at least", |f| !f.is_empty())
        )
            .prop_map(|(var, fields)| TestStepKind::Update { var, fields }),
        name().prop_map(|var| TestStepKind::Delete { var }),
        (name(), name(), field_values()).prop_map(|(name, on, data)| TestStepKind::Event {
            name,
            on,
            data
        }),
        option::of(expr()).prop_map(|target| TestStepKind::Approve { target }),
        option::of(expr()).prop_map(|target| TestStepKind::Reject { target }),
        expr().prop_map(|duration| TestStepKind::After { duration }),
        expectation.prop_map(TestStepKind::Expect),
    ]
    .prop_map(|kind| TestStep { kind, span: sp() })
}

fn type_expr() -> impl Strategy<Value = TypeExpr> {
    (
        select(&["int", "text", "decimal", "date", "contact", "stage"][..]),
        any::<bool>(),
    )
        .prop_map(|(name, nullable)| TypeExpr {
            name: ident(name),
            nullable,
            span: sp(),
        })
}

fn item() -> impl Strategy<Value = Item> {
    let template_text = prop_oneof![
        text().prop_map(TemplateText::Inline),
        text().prop_map(TemplateText::File)
    ];
    prop_oneof![
        text().prop_map(|zone| Item::Timezone(TimezoneDecl { zone, span: sp() })),
        (name(), vec(text(), 0..12)).prop_map(|(name, values)| Item::Enum(EnumDecl {
            name,
            values,
            span: sp()
        })),
        (name(), vec((field(), type_expr()), 0..3)).prop_map(|(name, fields)| Item::Record(
            RecordDecl {
                name,
                fields: fields
                    .into_iter()
                    .map(|(name, ty)| FieldDecl {
                        name,
                        ty,
                        span: sp()
                    })
                    .collect(),
                span: sp(),
            }
        )),
        (name(), name(), vec((field(), type_expr()), 0..4)).prop_map(|(name, record, keys)| {
            Item::Event(EventDecl {
                name,
                record,
                keys: keys
                    .into_iter()
                    .map(|(name, ty)| FieldDecl {
                        name,
                        ty,
                        span: sp(),
                    })
                    .collect(),
                span: sp(),
            })
        }),
        (name(), name(), field(), option::of(text())).prop_map(|(name, record, by, redirect)| {
            Item::Form(FormDecl {
                name,
                record,
                by,
                redirect,
                span: sp(),
            })
        }),
        (name(), name()).prop_map(|(name, of)| Item::List(ListDecl {
            name,
            of,
            span: sp()
        })),
        (name(), name(), expr()).prop_map(|(name, of, condition)| Item::Segment(SegmentDecl {
            name,
            of,
            condition,
            span: sp()
        })),
        (name(), any::<bool>(), vec((field(), template_text), 0..3)).prop_map(
            |(name, transactional, fields)| Item::Template(TemplateDecl {
                name,
                transactional,
                fields: fields
                    .into_iter()
                    .map(|(key, value)| TemplateField {
                        key,
                        value,
                        span: sp()
                    })
                    .collect(),
                span: sp(),
            })
        ),
        vec((field(), text()), 0..3).prop_map(|fields| Item::Sender(SenderDecl {
            fields: fields
                .into_iter()
                .map(|(key, value)| SenderField {
                    key,
                    value,
                    span: sp()
                })
                .collect(),
            span: sp(),
        })),
        (
            name(),
            vec((name(), type_expr()), 0..3),
            type_expr(),
            expr()
        )
            .prop_map(|(name, params, ret, body)| {
                Item::Fn(FnDecl {
                    name,
                    params: params
                        .into_iter()
                        .map(|(name, ty)| Param { name, ty })
                        .collect(),
                    ret,
                    body,
                    span: sp(),
                })
            }),
        rule(),
        rule(),
        (text(), vec(test_step(), 0..5)).prop_map(|(name, steps)| Item::Test(TestDecl {
            name,
            steps,
            span: sp()
        })),
    ]
}

fn module() -> impl Strategy<Value = Module> {
    vec(item(), 0..5).prop_map(|items| Module { items })
}

/// `text` with comments at the ends of lines, comment lines, blank lines,
/// and lines broken between two tokens (with a comment or not) put in where
/// `picks` say.
fn sprinkle(text: &str, picks: &[(usize, u8)]) -> String {
    let mut lines: Vec<String> = text.lines().map(String::from).collect();
    for (n, &(at, how)) in picks.iter().enumerate() {
        let i = at % (lines.len() + 1);
        let indent = usize::from(how) % 7;
        match how % 4 {
            0 if i < lines.len() => lines[i].push_str(&format!(" # after {n} \"q\" # x")),
            3 if i < lines.len() => {
                let spaces = spaces_between_tokens(&lines[i]);
                if spaces.is_empty() {
                    continue;
                }
                let cut = spaces[at / 7 % spaces.len()];
                let rest = lines[i].split_off(cut);
                if how % 8 == 3 {
                    lines[i].push_str(&format!(" # inside {n}"));
                }
                // Indented, so that no declaration keyword starts a line.
                lines.insert(
                    i + 1,
                    format!("{:width$}{}", "", rest.trim_start(), width = indent + 1),
                );
            }
            0 | 1 | 3 => lines.insert(i, format!("{:indent$}# own line {n}", "")),
            _ => lines.insert(i, String::new()),
        }
    }
    let mut out = lines.join("\n");
    out.push('\n');
    out
}

/// Byte offsets of the spaces of a line that are not inside text literals
/// or comments: every one separates two tokens.
fn spaces_between_tokens(line: &str) -> Vec<usize> {
    let mut found = Vec::new();
    let (mut in_text, mut escaped) = (false, false);
    for (i, c) in line.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' if in_text => escaped = true,
            '"' => in_text = !in_text,
            '#' if !in_text => break,
            ' ' if !in_text && !line[..i].trim_start().is_empty() => found.push(i),
            _ => {}
        }
    }
    found
}

/// The direct subexpressions of `e`.
fn children(e: &Expr) -> Vec<&Expr> {
    match &e.kind {
        ExprKind::Field { base: x, .. }
        | ExprKind::Neg(x)
        | ExprKind::Not(x)
        | ExprKind::At { date: x, .. }
        | ExprKind::InList { value: x, .. }
        | ExprKind::InSegment { value: x, .. }
        | ExprKind::IsNull { value: x, .. }
        | ExprKind::Unsubscribed { record: x, .. }
        | ExprKind::Opened { record: x, .. }
        | ExprKind::Clicked { record: x, .. }
        | ExprKind::Lookup { value: x, .. } => vec![x],
        ExprKind::Binary { left, right, .. } => vec![left, right],
        ExprKind::In { value, set, .. } => vec![value, set],
        ExprKind::Contains { text, part, .. } => vec![text, part],
        ExprKind::StartsWith { text, prefix } => vec![text, prefix],
        ExprKind::HasTag { value, tag } => vec![value, tag],
        ExprKind::Aggregate {
            value, condition, ..
        } => vec![value, condition],
        ExprKind::If {
            condition,
            then,
            otherwise,
        } => vec![condition, then, otherwise],
        ExprKind::Between {
            value, low, high, ..
        } => vec![value, low, high],
        ExprKind::ListLit(items) | ExprKind::Call { args: items, .. } => items.iter().collect(),
        _ => Vec::new(),
    }
}

/// Every expression of the tree below `e` (and `e`), outermost first.
fn all_expressions<'e>(e: &'e Expr, out: &mut Vec<&'e Expr>) {
    out.push(e);
    for child in children(e) {
        all_expressions(child, out);
    }
}

/// `digits` (of an int, or the whole part of a decimal) with a `_` every
/// `group` digits from the right: `1000000`, 3 → `1_000_000`.
fn separated(digits: &str, group: usize) -> String {
    let n = digits.len();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (n - i).is_multiple_of(group) {
            out.push('_');
        }
        out.push(c);
    }
    out
}

/// A number literal as printed (`-1234`, `1234.5`) with separators in its
/// whole part.
fn with_separators(number: &str, group: usize) -> String {
    let (sign, rest) = number.strip_prefix('-').map_or(("", number), |r| ("-", r));
    let (whole, fraction) = rest.split_at(rest.find('.').unwrap_or(rest.len()));
    format!("{sign}{}{fraction}", separated(whole, group))
}

/// `text` with parentheses around the expressions `wrap` picks and
/// separators in the numbers `group` picks (edits by source offset).
fn noisy(text: &str, body: &Expr, picks: &[u8]) -> String {
    let mut nodes = Vec::new();
    all_expressions(body, &mut nodes);
    let mut opens = std::collections::BTreeMap::<usize, usize>::new();
    let mut closes = std::collections::BTreeMap::<usize, usize>::new();
    let mut numbers = std::collections::BTreeMap::<usize, (usize, String)>::new();
    for (i, node) in nodes.iter().enumerate() {
        let Some(&pick) = picks.get(i) else { break };
        let (start, end) = (node.span.start as usize, node.span.end as usize);
        if pick % 3 == 0 {
            *opens.entry(start).or_default() += 1;
            *closes.entry(end).or_default() += 1;
        }
        let number = matches!(node.kind, ExprKind::Int(_) | ExprKind::Decimal(_));
        if number && pick % 2 == 0 {
            // The literal itself, inside any parentheses around it.
            let slice = &text[start..end];
            let from = slice.find(|c: char| c == '-' || c.is_ascii_digit());
            let to = slice.rfind(|c: char| c.is_ascii_digit());
            if let (Some(from), Some(to)) = (from, to) {
                let group = 1 + usize::from(pick / 6) % 4;
                let digits = with_separators(&slice[from..=to], group);
                numbers.insert(start + from, (start + to + 1, digits));
            }
        }
    }
    let mut out = String::new();
    let mut i = 0;
    while i <= text.len() {
        out.push_str(&")".repeat(closes.get(&i).copied().unwrap_or(0)));
        out.push_str(&"(".repeat(opens.get(&i).copied().unwrap_or(0)));
        if let Some((end, digits)) = numbers.get(&i) {
            out.push_str(digits);
            i = *end;
            continue;
        }
        let Some(c) = text[i..].chars().next() else {
            break;
        };
        out.push(c);
        i += c.len_utf8();
    }
    out
}

fn squashed(text: &str) -> String {
    text.split_whitespace().collect()
}

proptest! {
    // No regression files: the failing input is printed, and the generator
    // has no seed worth keeping.
    #![proptest_config(ProptestConfig {
        cases: 256,
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn printed_trees_parse_back_and_are_fixed_points(module in module()) {
        let text = format_module(&module);
        let parsed = parse(FileId(0), &text);
        prop_assert!(parsed.errors.is_empty(), "{:?}\n{}", parsed.errors, text);
        prop_assert_eq!(fingerprint(&parsed.module), fingerprint(&module), "{}", text);
        let again = format_source(&text);
        prop_assert_eq!(again.as_deref(), Ok(text.as_str()));
    }

    #[test]
    fn comments_and_blank_lines_survive(
        module in module(),
        picks in vec((any::<usize>(), any::<u8>()), 0..12),
    ) {
        let noisy = sprinkle(&format_module(&module), &picks);
        let formatted = format_source(&noisy);
        prop_assert!(formatted.is_ok(), "{:?}\n{}", formatted, noisy);
        let formatted = formatted.unwrap_or_default();
        let before = parse(FileId(0), &noisy);
        let after = parse(FileId(0), &formatted);
        prop_assert!(after.errors.is_empty(), "{:?}\n{}", after.errors, formatted);
        prop_assert_eq!(fingerprint(&before.module), fingerprint(&after.module));
        prop_assert_eq!(comments(&noisy), comments(&formatted), "{}\n---\n{}", noisy, formatted);
        let again = format_source(&formatted);
        prop_assert_eq!(again.as_deref(), Ok(formatted.as_str()), "from\n{}", noisy);
    }

    /// `flowc fmt` keeps the parentheses the author wrote, needed or not,
    /// and the digit separators: an expression printed canonically, then
    /// given extra parentheses and separators at random, formats back to
    /// itself, spaces and line breaks aside.
    #[test]
    fn written_parentheses_and_digit_separators_survive(
        body in expr(),
        picks in vec(any::<u8>(), 0..48),
    ) {
        let f = FnDecl {
            name: ident("f"),
            params: Vec::new(),
            ret: TypeExpr { name: ident("int"), nullable: false, span: sp() },
            body,
            span: sp(),
        };
        let text = format_module(&Module { items: vec![Item::Fn(f)] });
        let parsed = parse(FileId(0), &text);
        let Some(Item::Fn(f)) = parsed.module.items.first() else {
            return Err(TestCaseError::fail(format!("not a fn: {text}")));
        };
        let noisy = noisy(&text, &f.body, &picks);
        let reparsed = parse(FileId(0), &noisy);
        prop_assert!(reparsed.errors.is_empty(), "{:?}\n{}", reparsed.errors, noisy);
        prop_assert_eq!(fingerprint(&reparsed.module), fingerprint(&parsed.module), "{}", noisy);
        let formatted = format_source(&noisy);
        prop_assert!(formatted.is_ok(), "{:?}\n{}", formatted, noisy);
        let formatted = formatted.unwrap_or_default();
        prop_assert_eq!(squashed(&formatted), squashed(&noisy), "{}", formatted);
        let again = format_source(&formatted);
        prop_assert_eq!(again.as_deref(), Ok(formatted.as_str()));
    }
}
