//! Expressions and literals, with the fewest parentheses that keep the tree,
//! plus every pair the author wrote (`not (r has tag "T")`, `a or (b and c)`):
//! they say how the author reads it. Numbers keep their digit separators.

use super::printer::{INDENT, Printer};
use crate::source::Span;
use crate::syntax::ast::{BinaryOp, Expr, ExprKind};
use crate::time::{format_date, format_duration, format_months};

/// How tightly an expression binds, loosest first; the grammar's levels.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(super) enum Prec {
    /// `if … then … else …`
    If,
    Or,
    And,
    Not,
    /// Comparisons and the predicates (`in`, `between`, `is null`, …).
    Compare,
    /// `DATE at "HH:MM"`
    At,
    Add,
    Mul,
    /// Unary minus, and negative literals.
    Unary,
    /// Field access and everything atomic.
    Postfix,
}

fn prec(e: &Expr) -> Prec {
    match &e.kind {
        ExprKind::Int(v) if *v < 0 => Prec::Unary,
        ExprKind::Duration(v) if *v < 0 => Prec::Unary,
        ExprKind::Months(v) if *v < 0 => Prec::Unary,
        ExprKind::Decimal(v) if v.is_sign_negative() => Prec::Unary,
        ExprKind::Neg(_) => Prec::Unary,
        ExprKind::Not(_) => Prec::Not,
        ExprKind::If { .. } => Prec::If,
        ExprKind::At { .. } => Prec::At,
        ExprKind::Binary { op, .. } => binary_prec(*op),
        ExprKind::Between { .. }
        | ExprKind::In { .. }
        | ExprKind::InList { .. }
        | ExprKind::InSegment { .. }
        | ExprKind::Contains { .. }
        | ExprKind::StartsWith { .. }
        | ExprKind::IsNull { .. }
        | ExprKind::Unsubscribed { .. }
        | ExprKind::HasTag { .. }
        | ExprKind::Opened { .. }
        | ExprKind::Clicked { .. } => Prec::Compare,
        _ => Prec::Postfix,
    }
}

fn binary_prec(op: BinaryOp) -> Prec {
    match op {
        BinaryOp::Or => Prec::Or,
        BinaryOp::And => Prec::And,
        BinaryOp::Add | BinaryOp::Sub => Prec::Add,
        BinaryOp::Mul | BinaryOp::Div | BinaryOp::Rem => Prec::Mul,
        _ => Prec::Compare,
    }
}

/// `not ` before a negated predicate's keyword.
fn not(negated: bool) -> &'static str {
    if negated { "not " } else { "" }
}

impl Printer<'_> {
    /// An expression where any expression may stand.
    pub(super) fn expr(&self, e: &Expr) -> String {
        self.expr_at(e, Prec::If)
    }

    /// An expression where only one binding at least as tightly as `level`
    /// may stand: anything looser is parenthesized. The parentheses the
    /// author wrote around it are kept, and then it needs no others.
    pub(super) fn expr_at(&self, e: &Expr, level: Prec) -> String {
        let text = self.bare(e);
        let written = self.written_parens(e.span);
        if written > 0 {
            format!("{}{text}{}", "(".repeat(written), ")".repeat(written))
        } else if prec(e) < level {
            format!("({text})")
        } else {
            text
        }
    }

    /// How many pairs of parentheses the author wrote around the
    /// expression at `span` (the parser gives a parenthesized expression
    /// the span of its parentheses): `((a))` is 2, `(a) + (b)` is 0.
    pub(super) fn written_parens(&self, span: Span) -> usize {
        self.unwrapped(span).0
    }

    /// The pairs of parentheses around the text at `span`, and the text
    /// inside them.
    fn unwrapped(&self, span: Span) -> (usize, &str) {
        peel(self.source.get(span.range()).unwrap_or_default())
    }

    /// A number as written, if it has digit separators and means `value`
    /// (`10_000_000`, `-1_234.5`); `None` to print it canonically.
    fn written_number(&self, span: Span, means: impl Fn(&str) -> bool) -> Option<String> {
        let written = self.unwrapped(span).1;
        // `-5` and `-(5)` are both the literal -5.
        let (sign, layers, digits) = match written.strip_prefix('-') {
            Some(rest) => {
                let (layers, digits) = peel(rest.trim_start());
                ("-", layers, digits)
            }
            None => ("", 0, written),
        };
        let plain = digits
            .chars()
            .all(|c| c.is_ascii_digit() || c == '_' || c == '.');
        let (open, close) = ("(".repeat(layers), ")".repeat(layers));
        (plain && digits.contains('_') && means(&format!("{sign}{}", digits.replace('_', ""))))
            .then(|| format!("{sign}{open}{digits}{close}"))
    }

    /// One match over every kind, so that a new kind cannot be forgotten.
    fn bare(&self, e: &Expr) -> String {
        // An operand of a comparison or a predicate.
        let add = |x: &Expr| self.expr_at(x, Prec::At);
        match &e.kind {
            ExprKind::Int(v) => self
                .written_number(e.span, |t| t.parse::<i64>().ok() == Some(*v))
                .unwrap_or_else(|| v.to_string()),
            ExprKind::Decimal(v) => self
                .written_number(e.span, |t| t.parse::<f64>().ok() == Some(*v))
                .unwrap_or_else(|| decimal(*v)),
            ExprKind::Text(value) => self.text(value, e.span),
            ExprKind::Bool(b) => b.to_string(),
            ExprKind::Null => "null".into(),
            ExprKind::Date(days) => format_date(*days),
            ExprKind::DateTime(written) => written.clone(),
            ExprKind::Duration(seconds) => self.duration(*seconds, e.span),
            ExprKind::Months(months) => format_months(*months),
            ExprKind::Today => "today".into(),
            ExprKind::Now => "now".into(),
            ExprKind::Name(name) => name.name.clone(),
            ExprKind::Field { base, field } => {
                format!("{}.{}", self.expr_at(base, Prec::Postfix), field.name)
            }
            ExprKind::Old(field) => format!("old.{}", field.name),
            ExprKind::EventField(key) => format!("event.{}", key.name),
            ExprKind::Neg(inner) => {
                let inner = self.expr_at(inner, Prec::Unary);
                if inner.starts_with('-') {
                    format!("-({inner})")
                } else {
                    format!("-{inner}")
                }
            }
            ExprKind::Not(inner) => format!("not {}", self.expr_at(inner, Prec::Not)),
            ExprKind::Binary { op, left, right } => {
                let (l, r) = match binary_prec(*op) {
                    Prec::Compare => (Prec::At, Prec::At),
                    Prec::Or => (Prec::Or, Prec::And),
                    Prec::And => (Prec::And, Prec::Not),
                    Prec::Add => (Prec::Add, Prec::Mul),
                    _ => (Prec::Mul, Prec::Unary),
                };
                let (left, right) = (self.expr_at(left, l), self.expr_at(right, r));
                format!("{left} {} {right}", op.symbol())
            }
            ExprKind::If {
                condition,
                then,
                otherwise,
            } => format!(
                "if {} then {} else {}",
                self.expr_at(condition, Prec::Or),
                self.expr_at(then, Prec::Or),
                self.expr(otherwise)
            ),
            ExprKind::At { date, time } => format!(
                "{} at {}",
                self.expr_at(date, Prec::Add),
                self.text(&time.value, time.span)
            ),
            ExprKind::ListLit(items) => format!("[{}]", self.list(items)),
            ExprKind::Between {
                value,
                low,
                high,
                negated,
            } => format!(
                "{} {}between {} and {}",
                add(value),
                not(*negated),
                add(low),
                add(high)
            ),
            ExprKind::In {
                value,
                set,
                negated,
            } => format!("{} {}in {}", add(value), not(*negated), add(set)),
            ExprKind::InList {
                value,
                list,
                negated,
            } => format!("{} {}in list {}", add(value), not(*negated), list.name),
            ExprKind::InSegment {
                value,
                segment,
                negated,
            } => format!(
                "{} {}in segment {}",
                add(value),
                not(*negated),
                segment.name
            ),
            ExprKind::Contains {
                text,
                part,
                negated,
            } => format!("{} {}contains {}", add(text), not(*negated), add(part)),
            ExprKind::StartsWith { text, prefix } => {
                format!("{} starts with {}", add(text), add(prefix))
            }
            ExprKind::IsNull { value, negated } => {
                format!("{} is {}null", add(value), not(*negated))
            }
            ExprKind::Unsubscribed { record, negated } => {
                format!("{} is {}unsubscribed", add(record), not(*negated))
            }
            ExprKind::HasTag { value, tag } => format!("{} has tag {}", add(value), add(tag)),
            ExprKind::Opened { record, template } => {
                format!("{} opened {}", add(record), template.name)
            }
            ExprKind::Clicked { record, template } => {
                format!("{} clicked {}", add(record), template.name)
            }
            ExprKind::Call { function, args } => {
                format!("{}({})", function.name, self.list(args))
            }
            ExprKind::Lookup {
                record,
                field,
                value,
            } => format!("{}({}: {})", record.name, field.name, self.expr(value)),
            ExprKind::Aggregate {
                function,
                value,
                condition,
            } => format!(
                "{}({} for {})",
                function.name,
                self.expr(value),
                self.expr(condition)
            ),
        }
    }

    /// Comma-separated expressions.
    pub(super) fn list(&self, items: &[Expr]) -> String {
        items
            .iter()
            .map(|e| self.expr(e))
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// A text literal: as written in the source if `span` points at it (its
    /// escapes carry meaning for placeholders), else escaped from `value`.
    pub(super) fn text(&self, value: &str, span: Span) -> String {
        let written = self
            .source
            .get(span.range())
            .and_then(|raw| raw.strip_prefix('"'))
            .and_then(|raw| raw.strip_suffix('"'))
            .filter(|raw| crate::syntax::unescape(raw).as_deref() == Ok(value));
        match written {
            Some(raw) => {
                let mut out = String::with_capacity(raw.len() + 2);
                out.push('"');
                for c in raw.chars() {
                    push_char(&mut out, c, false);
                }
                out.push('"');
                out
            }
            None => escape(value),
        }
    }
}

impl Printer<'_> {
    /// A duration literal: as written if it is tidy (units largest first,
    /// each once, none zero, each after the first below the next larger
    /// unit: `60d`, `1h30m`), else the canonical spelling (`1d25h` → `2d1h`).
    fn duration(&self, seconds: i64, span: Span) -> String {
        let written = self.source.get(span.range()).unwrap_or_default();
        let (negative, digits) = match written.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, written),
        };
        let means_it = crate::time::parse_duration(digits)
            .is_some_and(|v| (if negative { -v } else { v }) == seconds);
        if means_it && tidy_duration(digits) {
            written.to_string()
        } else {
            format_duration(seconds)
        }
    }
}

/// See [`Printer::duration`].
fn tidy_duration(text: &str) -> bool {
    // Each unit with how many of it make the next larger one.
    const UNITS: [(char, u64); 5] = [('w', u64::MAX), ('d', 7), ('h', 24), ('m', 60), ('s', 60)];
    let mut previous: Option<usize> = None;
    let mut rest = text;
    while !rest.is_empty() {
        let digits = rest
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(rest.len());
        let (number, after) = rest.split_at(digits);
        let Some(unit) = after.chars().next() else {
            return false;
        };
        let Some(index) = UNITS.iter().position(|(u, _)| *u == unit) else {
            return false;
        };
        let Ok(value) = number.parse::<u64>() else {
            return false;
        };
        let leading_zero = number.len() > 1 && number.starts_with('0');
        let whole = previous.is_none() && after.len() == 1;
        let in_order = previous.is_none_or(|p| p < index && value < UNITS[index].1);
        if leading_zero || !in_order || (value == 0 && !whole) {
            return false;
        }
        previous = Some(index);
        rest = &after[unit.len_utf8()..];
    }
    previous.is_some()
}

/// `value` as a text literal, quotes included.
pub(super) fn escape(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 2);
    out.push('"');
    for c in value.chars() {
        push_char(&mut out, c, true);
    }
    out.push('"');
    out
}

/// One character of a literal's inside. `quote`: `"` and `\` are the
/// characters themselves, not already part of escapes.
fn push_char(out: &mut String, c: char, quote: bool) {
    match c {
        '"' | '\\' if quote => {
            out.push('\\');
            out.push(c);
        }
        '\n' => out.push_str("\\n"),
        '\t' => out.push_str("\\t"),
        c if c.is_control() => out.push_str(&format!("\\u{{{:x}}}", c as u32)),
        c => out.push(c),
    }
}

/// The shortest digits that read back as `v`, never in exponent form, with
/// a `.` so that they read back as a decimal.
fn decimal(v: f64) -> String {
    let text = format!("{v}");
    if text.contains('.') {
        text
    } else {
        format!("{text}.0")
    }
}

impl Printer<'_> {
    /// Prints `keyword` and a condition (a `where`, a `fn` body): on one
    /// line if it fits and no comment inside asks otherwise, else, if it is
    /// a chain of `and` or of `or`, one operand per line.
    pub(super) fn clause(&mut self, indent: usize, keyword: &str, condition: &Expr) {
        let flat = format!("{keyword}{}", self.expr(condition));
        let span = condition.span;
        let operands = self.chain(condition);
        let break_up = operands.as_ref().is_some_and(|(_, list)| {
            list.first()
                .is_some_and(|first| self.has_comment(first.span.end, span.end))
        }) || !Printer::fits(indent, &flat);
        match operands {
            Some((op, list)) if break_up => {
                let level = operand_level(op);
                for (i, operand) in list.iter().enumerate() {
                    let text = self.expr_at(operand, level);
                    if i == 0 {
                        self.span_line(indent, operand.span, &format!("{keyword}{text}"), false);
                    } else {
                        let line = format!("{} {text}", op.symbol());
                        self.span_line(indent + INDENT, operand.span, &line, false);
                    }
                }
            }
            _ => self.span_line(indent, span, &flat, false),
        }
    }
}

impl Printer<'_> {
    /// The operands of a chain of `and`, or of `or`, left to right; a part
    /// the author parenthesized is one operand.
    fn chain<'e>(&self, e: &'e Expr) -> Option<(BinaryOp, Vec<&'e Expr>)> {
        let ExprKind::Binary { op, .. } = &e.kind else {
            return None;
        };
        let op = *op;
        if !matches!(op, BinaryOp::And | BinaryOp::Or) || self.written_parens(e.span) > 0 {
            return None;
        }
        let mut operands = Vec::new();
        let mut node = e;
        while let ExprKind::Binary { op: o, left, right } = &node.kind {
            if *o != op || (!std::ptr::eq(node, e) && self.written_parens(node.span) > 0) {
                break;
            }
            operands.push(right.as_ref());
            node = left;
        }
        operands.push(node);
        operands.reverse();
        Some((op, operands))
    }
}

/// The pairs of parentheses around all of `text`, and what is inside them.
fn peel(mut text: &str) -> (usize, &str) {
    let mut layers = 0;
    while text.starts_with('(') && closing_paren(text) == Some(text.len() - 1) {
        layers += 1;
        text = text[1..text.len() - 1].trim();
    }
    (layers, text)
}

/// Where the `(` that `text` starts with is closed: the byte offset of its
/// `)`, skipping text literals and comments.
fn closing_paren(text: &str) -> Option<usize> {
    let mut depth = 0usize;
    let mut chars = text.char_indices();
    while let Some((i, c)) = chars.next() {
        match c {
            '(' => depth += 1,
            ')' => {
                depth = depth.checked_sub(1)?;
                if depth == 0 {
                    return Some(i);
                }
            }
            '"' => {
                while let Some((_, c)) = chars.next() {
                    match c {
                        '\\' => {
                            chars.next();
                        }
                        '"' => break,
                        _ => {}
                    }
                }
            }
            '#' => {
                for (_, c) in chars.by_ref() {
                    if c == '\n' {
                        break;
                    }
                }
            }
            _ => {}
        }
    }
    None
}

/// How tightly each operand of a broken `and`/`or` chain must bind.
fn operand_level(op: BinaryOp) -> Prec {
    if op == BinaryOp::Or {
        Prec::And
    } else {
        Prec::Not
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimals_read_back_exactly() {
        for v in [0.1 + 0.2, 1e20, 1.5e-7, 100.0, -0.0, 123_456.789] {
            let text = decimal(v);
            assert!(text.contains('.') && !text.contains('e'), "{text}");
            assert_eq!(text.parse::<f64>().ok(), Some(v));
        }
    }

    #[test]
    fn tidy_durations_are_kept() {
        for tidy in [
            "60d",
            "7d",
            "1h30m",
            "90m",
            "1w6d23h59m59s",
            "0s",
            "0d",
            "1d30m",
        ] {
            assert!(tidy_duration(tidy), "{tidy}");
        }
        for untidy in ["1d25h", "30m1h", "1h0m", "07d", "1w7d", "", "1", "1h1h"] {
            assert!(!tidy_duration(untidy), "{untidy}");
        }
    }

    #[test]
    fn escapes_what_must_be_escaped() {
        assert_eq!(
            escape("a\"b\\c\nd\te{{x}}\u{7}"),
            r#""a\"b\\c\nd\te{{x}}\u{7}""#
        );
    }
}
