//! Finding `#` comments in a source text: the parser drops them, so the
//! printer puts them back from here.

/// One `#` comment in a source text.
#[derive(Clone, Copy, Debug)]
pub(super) struct Comment<'s> {
    /// Offset of the `#`.
    pub start: usize,
    /// Offset just after the last character of `text`.
    pub end: usize,
    /// From `#` to the end of the line, trailing whitespace removed.
    pub text: &'s str,
}

/// Every comment of a text that parses, in source order.
pub(super) fn scan(text: &str) -> Vec<Comment<'_>> {
    let mut found = Vec::new();
    let mut offset = 0;
    for line in text.split_inclusive('\n') {
        if let Some(hash) = crate::syntax::comment_start(line) {
            let body = line[hash..].trim_end();
            found.push(Comment {
                start: offset + hash,
                end: offset + hash + body.len(),
                text: body,
            });
        }
        offset += line.len();
    }
    found
}

/// The texts of a file's comments, in order, each from `#` to the end of its
/// line without trailing whitespace. The formatter keeps this list unchanged.
pub fn comments(text: &str) -> Vec<String> {
    scan(text).iter().map(|c| c.text.to_string()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_comments_outside_text_only() {
        let text = "list a of b  # one \n# two\ntemplate t { s: \"x # y \\\" # z\" } # three\n";
        assert_eq!(comments(text), ["# one", "# two", "# three"]);
    }
}
