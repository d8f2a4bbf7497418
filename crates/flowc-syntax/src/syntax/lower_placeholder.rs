//! The inside of a template's `{{ … }}` → [`Placeholder`]: an expression and
//! at most one format. Template texts are plain text to the file grammar;
//! the checker finds their placeholders and parses each with this.

use super::ast::*;
use super::errors::SyntaxError;
use super::lower::{Lower, Parts};
use super::{FlowParser, Rule};
use crate::source::FileId;
use pest::Parser;
use pest::iterators::Pair;

/// Parses the text between `{{` and `}}`, which starts at byte `offset` of
/// `file`: spans in the result and in the errors point into that file.
pub fn parse_placeholder(
    file: FileId,
    text: &str,
    offset: usize,
) -> Result<Placeholder, Vec<SyntaxError>> {
    let pairs = FlowParser::parse(Rule::placeholder, text).map_err(|error| {
        vec![in_placeholder(SyntaxError::from_pest(
            file, text, offset, &error,
        ))]
    })?;
    let mut lower = Lower {
        file,
        offset,
        errors: Vec::new(),
        depth: 0,
    };
    let Some(pair) = pairs.into_iter().next() else {
        return Err(vec![SyntaxError::Internal {
            span: crate::source::Span::new(file, offset, offset + text.len()),
            what: "placeholder".into(),
        }]);
    };
    let span = lower.span(&pair);
    let mut parts = Parts::of(pair);
    let expr = lower.expect_expr(&mut parts, span);
    let format = parts
        .next_if(Rule::placeholder_format)
        .map(|p| lower.format_spec(p));
    if lower.errors.is_empty() {
        Ok(Placeholder { expr, format })
    } else {
        Err(lower.errors)
    }
}

/// The inside of a placeholder written in an inline (double-quoted) template
/// text, as [`parse_placeholder`] should read it: there `\"` stands for a
/// double quote. The result is as long as `raw`, so spans stay exact: the
/// backslash becomes a blank outside the quoted text the `"` opens or
/// closes. Other backslashes are kept as written.
pub fn placeholder_source(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    let mut in_text = false;
    let mut chars = raw.chars().peekable();
    while let Some(c) = chars.next() {
        match (c, chars.peek()) {
            ('\\', Some('"')) => {
                chars.next();
                out.push_str(if in_text { "\" " } else { " \"" });
                in_text = !in_text;
            }
            ('\\', Some(&next)) => {
                chars.next();
                out.push(c);
                out.push(next);
            }
            _ => out.push(c),
        }
    }
    out
}

/// A parse error read as one inside `{{ … }}`: its end is `}}`.
fn in_placeholder(error: SyntaxError) -> SyntaxError {
    match error {
        SyntaxError::Unexpected {
            span,
            expected,
            found,
            suggestion,
            at_end,
        } => SyntaxError::Unexpected {
            span,
            expected: expected
                .into_iter()
                .map(|e| {
                    if e == "the end of the file" {
                        "`}}`".to_string()
                    } else {
                        e
                    }
                })
                .collect(),
            found: if at_end {
                "the end of the placeholder".to_string()
            } else {
                found
            },
            suggestion,
            at_end: false,
        },
        other => other,
    }
}

impl Lower {
    /// `| name`, `| name "argument"`, `| name 'argument'`.
    fn format_spec(&mut self, pair: Pair<Rule>) -> FormatSpec {
        let span = self.span(&pair);
        let mut parts = Parts::of(pair);
        let name = self.expect_ident(&mut parts, span);
        let arg = parts.next().map(|p| match p.as_rule() {
            Rule::sq_string => {
                let span = self.span(&p);
                let value = p
                    .into_inner()
                    .next()
                    .map(|i| i.as_str().to_string())
                    .unwrap_or_default();
                Text { value, span }
            }
            _ => self.text(p),
        });
        FormatSpec { name, arg, span }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Placeholder, Vec<SyntaxError>> {
        parse_placeholder(FileId(0), text, 10)
    }

    #[test]
    fn an_expression_with_or_without_a_format() {
        let p = parse(" contact.name ").expect("parses");
        assert!(matches!(p.expr.kind, ExprKind::Field { .. }));
        assert_eq!(p.expr.span.start, 11);
        assert!(p.format.is_none());
        let p = parse("days_until(contract.renewal_date) | number").expect("parses");
        assert!(matches!(p.expr.kind, ExprKind::Call { .. }));
        let format = p.format.expect("a format");
        assert_eq!(format.name.name, "number");
        assert!(format.arg.is_none());
        let p = parse("x | date \"YYYY/MM/DD\"").expect("parses");
        assert_eq!(
            p.format.and_then(|f| f.arg).map(|a| a.value),
            Some("YYYY/MM/DD".into())
        );
        let p = parse("x | or '—'").expect("parses");
        let format = p.format.expect("a format");
        assert_eq!(format.name.name, "or");
        assert_eq!(format.arg.map(|a| a.value), Some("—".into()));
        // `or` between conditions is still the operator.
        let p = parse("a or b").expect("parses");
        assert!(p.format.is_none());
        let p = parse("today").expect("parses");
        assert_eq!(p.expr.kind, ExprKind::Today);
    }

    #[test]
    fn errors_speak_of_the_placeholder() {
        let errors = parse("contact.name +").expect_err("fails");
        let shown = errors[0].to_diagnostic().message;
        assert!(shown.contains("the end of the placeholder"), "{shown}");
        assert!(parse("x | yen | or 'a'").is_err());
        assert!(parse("").is_err());
        assert!(parse("x |").is_err());
    }

    #[test]
    fn escaped_quotes_keep_their_columns() {
        let raw = r#"x | or \"なし\""#;
        let source = placeholder_source(raw);
        assert_eq!(source.len(), raw.len());
        assert_eq!(source, "x | or  \"なし\" ");
        let p = parse(&source).expect("parses");
        let arg = p.format.and_then(|f| f.arg).expect("an argument");
        assert_eq!(arg.value, "なし");
        // From the quote after the first backslash to the second backslash.
        assert_eq!((arg.span.start, arg.span.end), (18, 26));
    }
}
