//! Lines, indentation, blank lines and comments: the machinery every part
//! of the formatter prints through.
//!
//! Each printed line stands for a range of the source, `start..end`. Before
//! the line goes out, every comment that starts before `end` and has not been
//! printed yet is printed on its own line (the ones before `start` lead the
//! node; the ones inside it move up); after it, a comment on the same source
//! line as `end` is appended. Comments thus come out in source order, each
//! exactly once; [`Printer::finish`] prints those left at the end of the file.

use super::comments::{Comment, scan};
use crate::source::Span;

/// Spaces per indentation level.
pub(super) const INDENT: usize = 2;
/// The widest line the layout aims for, in columns.
const WIDTH: usize = 100;

pub(super) struct Printer<'s> {
    pub(super) source: &'s str,
    comments: Vec<Comment<'s>>,
    /// Index of the first comment not printed yet.
    next_comment: usize,
    lines: Vec<String>,
    /// Source offset up to which everything has been printed; blank lines
    /// are looked for between here and the next thing printed.
    cursor: usize,
    /// Nothing has been printed since the line that opened the current block
    /// (or since the start of the file), so no blank line may come next.
    pub(super) fresh: bool,
    /// The next line must be preceded by a blank line (between declarations).
    pub(super) force_blank: bool,
}

impl<'s> Printer<'s> {
    pub(super) fn new(source: &'s str) -> Printer<'s> {
        Printer {
            source,
            comments: scan(source),
            next_comment: 0,
            lines: Vec::new(),
            cursor: 0,
            fresh: true,
            force_blank: false,
        }
    }

    /// Prints the comments left over and returns the text.
    pub(super) fn finish(mut self) -> String {
        self.force_blank = false;
        self.comments_until(usize::MAX, 0);
        if self.lines.is_empty() {
            return String::new();
        }
        let mut out = self.lines.join("\n");
        out.push('\n');
        out
    }

    /// Prints one line standing for `start..end` of the source, with the
    /// comments that lead it, are inside it, or follow it on its line.
    /// `blank`: a blank line the author left before it may be kept.
    pub(super) fn line(&mut self, indent: usize, range: (u32, u32), text: &str, blank: bool) {
        let (start, end) = (range.0 as usize, range.1 as usize);
        self.comments_until(end, indent);
        if blank {
            self.blank_before(start);
        }
        self.push(indent, text);
        self.trailing(end);
    }

    /// [`Printer::line`] for a line standing for a span.
    pub(super) fn span_line(&mut self, indent: usize, span: Span, text: &str, blank: bool) {
        self.line(indent, (span.start, span.end), text, blank);
    }

    /// Closes a block with `text` (`end`, `}`) at `outer` indentation; the
    /// block's own comments before `pos` go first, at `inner` indentation.
    pub(super) fn close(&mut self, pos: u32, inner: usize, outer: usize, text: &str) {
        self.comments_until(pos as usize, inner);
        self.push(outer, text);
        self.trailing(pos as usize);
    }

    /// Prints, each on its own line, the comments that start before `pos`.
    pub(super) fn comments_before(&mut self, pos: u32, indent: usize) {
        self.comments_until(pos as usize, indent);
    }

    fn comments_until(&mut self, pos: usize, indent: usize) {
        while let Some(comment) = self.comments.get(self.next_comment).copied() {
            if comment.start >= pos {
                break;
            }
            self.next_comment += 1;
            self.blank_before(comment.start);
            self.push(indent, comment.text);
            self.cursor = self.cursor.max(comment.end);
        }
    }

    /// Where the next comment not printed yet starts, if before `pos`.
    pub(super) fn next_comment_before(&self, pos: u32) -> Option<u32> {
        let comment = self.comments.get(self.next_comment)?;
        (comment.start < pos as usize).then_some(comment.start as u32)
    }

    /// Bytes between the start of `pos`'s source line and `pos`.
    pub(super) fn column(&self, pos: u32) -> usize {
        let before = self.source.get(..pos as usize).unwrap_or_default();
        before.len() - before.rfind('\n').map_or(0, |i| i + 1)
    }

    /// Whether a comment not printed yet starts in `from..to`.
    pub(super) fn has_comment(&self, from: u32, to: u32) -> bool {
        let (from, to) = (from as usize, to as usize);
        self.comments
            .get(self.next_comment..)
            .unwrap_or_default()
            .iter()
            .any(|c| from <= c.start && c.start < to)
    }

    /// Whether `text` fits on a line at `indent`.
    pub(super) fn fits(indent: usize, text: &str) -> bool {
        indent + width(text) <= WIDTH
    }

    fn push(&mut self, indent: usize, text: &str) {
        self.lines.push(format!("{:indent$}{text}", ""));
        self.fresh = false;
        self.force_blank = false;
    }

    fn blank_before(&mut self, start: usize) {
        let wanted = self.force_blank || (!self.fresh && self.gap_has_blank(start));
        self.force_blank = false;
        if wanted && self.lines.last().is_some_and(|l| !l.is_empty()) {
            self.lines.push(String::new());
        }
    }

    /// Whether the source has an empty line between the cursor and `start`.
    fn gap_has_blank(&self, start: usize) -> bool {
        let Some(gap) = self.source.get(self.cursor..start) else {
            return false;
        };
        let pieces: Vec<&str> = gap.split('\n').collect();
        pieces.len() > 2
            && pieces[1..pieces.len() - 1]
                .iter()
                .any(|l| l.trim().is_empty())
    }

    /// Appends the comment on the source line where `end` is, if any.
    fn trailing(&mut self, end: usize) {
        self.cursor = self.cursor.max(end);
        let line_end = self
            .source
            .get(end..)
            .and_then(|rest| rest.find('\n'))
            .map_or(self.source.len(), |i| end + i);
        let Some(comment) = self.comments.get(self.next_comment).copied() else {
            return;
        };
        if comment.start >= line_end {
            return;
        }
        self.next_comment += 1;
        match self.lines.last_mut() {
            Some(last) => {
                last.push_str("  ");
                last.push_str(comment.text);
            }
            None => self.lines.push(comment.text.to_string()),
        }
        self.cursor = self.cursor.max(comment.end);
    }
}

/// Display width: East Asian wide and fullwidth characters count two.
pub(super) fn width(text: &str) -> usize {
    text.chars().map(|c| if is_wide(c) { 2 } else { 1 }).sum()
}

fn is_wide(c: char) -> bool {
    matches!(
        c as u32,
        0x1100..=0x115F
            | 0x2E80..=0x303E
            | 0x3041..=0x33FF
            | 0x3400..=0x4DBF
            | 0x4E00..=0x9FFF
            | 0xA000..=0xA4CF
            | 0xAC00..=0xD7A3
            | 0xF900..=0xFAFF
            | 0xFE30..=0xFE4F
            | 0xFF00..=0xFF60
            | 0xFFE0..=0xFFE6
            | 0x1F300..=0x1F64F
            | 0x1F900..=0x1F9FF
            | 0x20000..=0x3FFFD
    )
}
