//! The formatter behind `flowc fmt`: one canonical layout for every file.
//!
//! The text is parsed, and the tree printed again; comments, which the
//! parser drops, are found in the text by [`comments`] and put back next to
//! the node they were written beside. The layout:
//!
//! - Indentation is two spaces; a line is at most 100 columns wide where the
//!   layout has a choice (Japanese and other wide characters count two);
//!   no line ends in whitespace; a non-empty file ends with exactly one
//!   newline.
//! - Top-level declarations are separated by one blank line, except that
//!   one-line declarations of one kind (`list`s, short `fn`s, …) the author
//!   wrote on adjacent lines stay together. Inside a block (steps,
//!   fields, enum values, test steps, `assign` cases) one blank line is kept
//!   where the author left one or more; never right after the line that
//!   opens a block, nor before its `end`, `else` or `}`.
//! - "Fits" below means: fits in the width, and no comment inside needs a
//!   line of its own.
//! - `enum name { "a", "b" }` on one line if it fits, else one value per line,
//!   each with a trailing comma. Records, templates and the `sender` have
//!   one field per line, without commas: `  name: text?`,
//!   `  text: file "mail/body.txt"`; a template's head is
//!   `template NAME {` or `template NAME transactional {`. Template texts
//!   are literals like any other: their placeholders are kept as written.
//! - `fn f(a: int, b: text) -> int = body`; a body that does not fit goes on
//!   the next line, indented two. `segment s of r where cond` likewise breaks
//!   before `where`.
//! - Rules: `rule NAME`, then the trigger indented two, its `where` on the
//!   next line indented four, then options, then steps (indented two), then
//!   `end`. The steps of `if` / `else if` / `else` and of `on reject` (which
//!   sits under its `require approval`) and the cases of `assign` are
//!   indented one level deeper than the line that opens them.
//! - A `where` condition (or `fn` body) that does not fit, and is a chain of
//!   `and` or of `or`, is broken before each `and`/`or`, the continuation
//!   lines indented two more than the first.
//! - Tests: `test "name"`, its steps indented two, `end`. A `given` or `event`
//!   record that does not fit has one field per line, with trailing commas.
//! - Expressions have single spaces around operators and after commas, and
//!   the parentheses the author wrote (`not (r has tag "T")`, `a or (b and
//!   c)`, even `((a))`: they say how the author reads it) plus those the
//!   precedence needs where there are none (`or` < `and` < `not` <
//!   comparisons and predicates < `at` < `+ -` < `* / %` < unary minus <
//!   `.field`); an `if … then … else …` inside a condition or a `then` is
//!   parenthesized. A chain of `and`/`or` broken over lines is broken only
//!   outside the author's parentheses.
//! - Literals: text as written, its escapes kept (`\{` and `\u{…}` mean
//!   something to template placeholders), raw tabs and control characters
//!   escaped; durations as written when tidy (units largest first, each
//!   once, none zero, each after the first below the next larger unit:
//!   `60d`, `1h30m`), else in `time::format_duration`'s spelling (`1d25h`
//!   becomes `2d1h`); dates as `YYYY-MM-DD`; datetimes as written; decimals
//!   as the shortest digits that read back the same number, always with a
//!   `.`, and ints in digits; but a number written with `_` separators
//!   (`10_000_000`, `1_234.50`) as written.
//! - Comments: one on its own line stays on its own line, before the node
//!   that follows it, at that node's indentation (at the end of a block: at
//!   the block's inner indentation, before `end`; before `else`: at the
//!   `else`'s indentation if the author wrote it no further right, else at
//!   the inner indentation of the branch above); one after code stays at
//!   the end of the line of the node that ends there, two spaces after it. A
//!   comment inside a node printed on one line moves to its own line before
//!   that node. No comment is ever lost, duplicated or reordered.
//!
//! The layout is idempotent, and the printed text parses back to the same
//! tree (spans aside); debug builds check both properties, and the
//! comments, on every call of [`format_source`].

mod comments;
mod decls;
mod expr;
mod printer;
mod rules;
mod test_decls;
mod verify;

pub use comments::comments;
pub use verify::fingerprint;

use crate::source::FileId;
use crate::syntax::{self, SyntaxError, ast};
use printer::Printer;

/// Formats one file's text into the canonical layout, keeping every comment.
/// Returns the syntax errors instead if the text does not parse.
pub fn format_source(text: &str) -> Result<String, Vec<SyntaxError>> {
    let parsed = syntax::parse(FileId(0), text);
    if !parsed.errors.is_empty() {
        return Err(parsed.errors);
    }
    let formatted = Printer::new(text).module(&parsed.module);
    #[cfg(debug_assertions)]
    verify::debug_check(text, &parsed.module, &formatted);
    Ok(formatted)
}

/// Prints a syntax tree in the canonical layout, without comments.
///
/// For trees that were not parsed from text (generated code, tests): text
/// literals are escaped afresh from their values, since there is no source
/// to keep their escapes from.
pub fn format_module(module: &ast::Module) -> String {
    Printer::new("").module(module)
}
