//! Text → untyped AST ([`ast::Module`]), with syntax errors as data.
//!
//! A file is cut into top-level chunks (each starting with a declaration
//! keyword at the start of a line) and each chunk is parsed on its own, so a
//! typo in one rule does not hide the errors in the next.

pub mod ast;
mod errors;
mod lower;

pub use errors::SyntaxError;
pub use lower::unescape;

use crate::source::FileId;

#[derive(pest_derive::Parser)]
#[grammar = "../grammar/flow.pest"]
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
    "timezone", "enum", "record", "list", "segment", "template", "fn", "rule", "test",
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
