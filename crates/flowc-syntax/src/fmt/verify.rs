//! The checks that the formatter keeps its promises: same tree, same
//! comments, same output when run again.

use crate::syntax::ast::Module;

/// The tree as text with every span left out: two modules with the same
/// fingerprint differ at most in where their nodes were written.
pub fn fingerprint(module: &Module) -> String {
    erase_spans(&format!("{module:?}"))
}

/// Replaces each `Span { … }` of a `Debug` text with `_`.
fn erase_spans(debug: &str) -> String {
    const OPEN: &str = "Span { file: FileId(";
    let mut out = String::with_capacity(debug.len() / 2);
    let mut rest = debug;
    while let Some(at) = rest.find(OPEN) {
        out.push_str(&rest[..at]);
        out.push('_');
        let after = &rest[at..];
        rest = after.find('}').map_or("", |close| &after[close + 1..]);
    }
    out.push_str(rest);
    out
}

/// Panics if the formatted text loses or reorders a comment, means another
/// tree, or would change if formatted again. Debug builds only: a bug here
/// is the formatter's, never the user's.
#[cfg(debug_assertions)]
pub(super) fn debug_check(input: &str, module: &Module, formatted: &str) {
    use super::comments::comments;
    use crate::source::FileId;
    assert_eq!(
        comments(input),
        comments(formatted),
        "the formatter changed the comments"
    );
    let again = crate::syntax::parse(FileId(0), formatted);
    assert!(
        again.errors.is_empty(),
        "the formatted text does not parse: {:?}\n{formatted}",
        again.errors
    );
    assert_eq!(
        fingerprint(module),
        fingerprint(&again.module),
        "the formatted text means something else:\n{formatted}"
    );
    let twice = super::printer::Printer::new(formatted).module(&again.module);
    assert_eq!(formatted, twice, "the formatter is not idempotent");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn erases_spans_and_nothing_else() {
        let debug = "Ident { name: \"a\", span: Span { file: FileId(0), start: 1, end: 2 } }";
        assert_eq!(erase_spans(debug), "Ident { name: \"a\", span: _ }");
    }
}
