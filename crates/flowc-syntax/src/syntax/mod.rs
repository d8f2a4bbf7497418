//! Text → untyped AST ([`ast::Module`]), with syntax errors as data.
//!
//! A file is cut into top-level chunks (each starting with a declaration
//! keyword at the start of a line) and each chunk is parsed on its own, so a
//! typo in one rule does not hide the errors in the next.

pub mod ast;
mod errors;
mod lower;
/// Where a line's `#` comment starts, outside double-quoted text (shared
/// with the formatter, which keeps comments).
pub(crate) use lower::comment_start;
mod lower_expr;
mod lower_placeholder;
mod lower_steps;
mod lower_tests;
mod mistakes;

pub use errors::SyntaxError;
pub use lower::unescape;
pub use lower_placeholder::{parse_placeholder, placeholder_source};
pub use mistakes::Mistake;

use crate::source::FileId;

#[derive(pest_derive::Parser)]
#[grammar = "../../../grammar/flow.pest"]
struct FlowParser;

/// The result of parsing one file.
#[derive(Debug, Default)]
pub struct Parsed {
    pub module: ast::Module,
    pub errors: Vec<SyntaxError>,
    /// Names declared by chunks that failed to parse (`("record", "contact")`),
    /// so that later phases do not report them as unknown.
    pub broken: Vec<(String, String)>,
}

const DECLARATION_KEYWORDS: &[&str] = &[
    "timezone", "sender", "enum", "record", "list", "segment", "template", "calendar", "fn",
    "rule", "test", "form", "event",
];

/// Parses one file.
pub fn parse(file: FileId, text: &str) -> Parsed {
    let mut parsed = Parsed::default();
    for (start, end) in chunks(text) {
        match lower::parse_chunk(file, &text[start..end], start) {
            Ok(items) => parsed.module.items.extend(items),
            Err(errors) => {
                parsed.errors.extend(errors);
                if let Some(declared) = declared_name(&text[start..end]) {
                    parsed.broken.push(declared);
                }
            }
        }
    }
    parsed
}

/// Byte ranges of the top-level chunks of a file.
fn chunks(text: &str) -> Vec<(usize, usize)> {
    let mut starts = vec![0];
    let mut offset = 0;
    for line in text.split_inclusive('\n') {
        if offset > 0 && starts_declaration(line) {
            starts.push(offset);
        }
        offset += line.len();
    }
    let mut ranges = Vec::with_capacity(starts.len());
    for (i, &s) in starts.iter().enumerate() {
        let e = starts.get(i + 1).copied().unwrap_or(text.len());
        ranges.push((s, e));
    }
    ranges
}

fn starts_declaration(line: &str) -> bool {
    let word_end = line
        .find(|c: char| !(c.is_ascii_lowercase() || c == '_'))
        .unwrap_or(line.len());
    let (word, rest) = line.split_at(word_end);
    DECLARATION_KEYWORDS.contains(&word) && rest.starts_with([' ', '\t'])
}

/// `rule foo …` → `("rule", "foo")`, found in a chunk that failed to parse.
fn declared_name(chunk: &str) -> Option<(String, String)> {
    let line = chunk
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty() && !l.starts_with('#'))?;
    let mut words = line.split_whitespace();
    let keyword = words.next()?;
    let name: String = words
        .next()?
        .chars()
        .take_while(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '_')
        .collect();
    (DECLARATION_KEYWORDS.contains(&keyword) && !name.is_empty())
        .then(|| (keyword.to_string(), name))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Parses `fn f() -> int = EXPR` and prints the expression fully parenthesised.
    fn shape(expr: &str) -> String {
        let parsed = parse(FileId(0), &format!("fn f() -> int = {expr}\n"));
        assert!(parsed.errors.is_empty(), "{:?}", parsed.errors);
        match parsed.module.items.first() {
            Some(ast::Item::Fn(f)) => show(&f.body),
            other => panic!("not a fn: {other:?}"),
        }
    }

    fn show(e: &ast::Expr) -> String {
        use ast::ExprKind as K;
        match &e.kind {
            K::Binary { op, left, right } => {
                format!("({} {} {})", show(left), op.symbol(), show(right))
            }
            K::Not(x) => format!("(not {})", show(x)),
            K::Neg(x) => format!("(-{})", show(x)),
            K::Name(n) => n.name.clone(),
            K::Int(v) => v.to_string(),
            K::Field { base, field } => format!("{}.{}", show(base), field.name),
            K::Between {
                value, low, high, ..
            } => format!("({} between {} and {})", show(value), show(low), show(high)),
            K::Call { function, args } => {
                format!(
                    "{}({})",
                    function.name,
                    args.iter().map(show).collect::<Vec<_>>().join(", ")
                )
            }
            other => format!("{other:?}"),
        }
    }

    #[test]
    fn operators_bind_by_precedence() {
        assert_eq!(shape("1 + 2 * 3 - 4"), "((1 + (2 * 3)) - 4)");
        assert_eq!(shape("1 - 2 - 3"), "((1 - 2) - 3)");
        assert_eq!(shape("8 / 2 / 2 % 3"), "(((8 / 2) / 2) % 3)");
        assert_eq!(shape("a or b and c or d"), "((a or (b and c)) or d)");
        assert_eq!(shape("not a == b and c"), "((not (a == b)) and c)");
        assert_eq!(shape("a + 1 < b * 2"), "((a + 1) < (b * 2))");
        assert_eq!(
            shape("x between 1 + 1 and 5 and y"),
            "((x between (1 + 1) and 5) and y)"
        );
        assert_eq!(shape("-x.y * -3"), "((-x.y) * -3)");
        assert_eq!(shape("(1 + 2) * 3"), "((1 + 2) * 3)");
        assert_eq!(shape("f(a, g(b)) + 1"), "(f(a, g(b)) + 1)");
    }

    #[test]
    fn keywords_are_not_names_but_fields_may_use_them() {
        let parsed = parse(
            FileId(0),
            "record r { end: int, from: text }\nsegment s of r where r.end > 1 and r.from == \"x\"\n",
        );
        assert!(parsed.errors.is_empty(), "{:?}", parsed.errors);
        let parsed = parse(FileId(0), "record end { x: int }\n");
        assert_eq!(parsed.errors.len(), 1);
        // A keyword prefix is still a name.
        let parsed = parse(FileId(0), "record endpoint { notes: text, order: int }\n");
        assert!(parsed.errors.is_empty(), "{:?}", parsed.errors);
    }

    #[test]
    fn a_broken_declaration_does_not_hide_the_next() {
        let parsed = parse(
            FileId(0),
            "rule a\n  when x is created\n  bogus\nend\n\nlist l of x\nrule b\n  when\nend\n",
        );
        assert_eq!(parsed.errors.len(), 2);
        assert_eq!(parsed.module.items.len(), 1);
        assert_eq!(
            parsed.broken,
            [
                ("rule".to_string(), "a".to_string()),
                ("rule".to_string(), "b".to_string())
            ]
        );
    }
}
