//! The IR of email: templates, the sender, and the messages steps send.

use super::{Expr, TemplateId};
use flowc_syntax::source::Span;

/// A template as declared; its placeholders are resolved at each use.
#[derive(Clone, Debug)]
pub struct TemplateDef {
    pub name: String,
    pub kind: TemplateKind,
    /// The parts' texts as written, placeholders included.
    pub subject: String,
    /// The plain-text part (`text:`, or its synonym `body:`).
    pub body: String,
    /// The HTML part, if the template has one.
    pub html: Option<String>,
    /// Sender address, overriding the `sender` and the engine's default.
    pub from: Option<String>,
    pub reply_to: Option<String>,
    pub span: Span,
}

impl TemplateDef {
    pub fn has_html(&self) -> bool {
        self.html.is_some()
    }
}

/// Whether email is advertising (the default) or a transactional message.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TemplateKind {
    /// Carries the opt-out, and is never sent to a suppressed address.
    Marketing,
    /// `template NAME transactional`, and every `notify`: receipts,
    /// confirmations, internal alerts. Sent unless the address bounced or
    /// complained; has no opt-out.
    Transactional,
}

/// `sender { from: …, reply_to: …, postal_address: … }`: who the project's
/// email comes from, and the lines the law wants in advertising email.
#[derive(Clone, Debug, PartialEq)]
pub struct SenderDef {
    /// A mailbox: `株式会社サンプル 営業部 <sales@example.jp>` or an address.
    pub from: String,
    pub reply_to: Option<String>,
    /// Required when the project has a marketing template.
    pub postal_address: Option<String>,
    pub span: Span,
}

impl SenderDef {
    /// The display name of `from` (`株式会社サンプル 営業部`), or its address
    /// when it has none: what `{{sender.name}}` prints.
    pub fn name(&self) -> &str {
        match self.from.split_once('<') {
            Some((name, _)) if !name.trim().is_empty() => name.trim().trim_matches('"').trim(),
            _ => self.address(),
        }
    }

    /// The address of `from`, without its display name.
    pub fn address(&self) -> &str {
        match self.from.split_once('<') {
            Some((_, rest)) => rest.split('>').next().unwrap_or(rest).trim(),
            None => self.from.trim(),
        }
    }

    /// Where an opt-out by email goes: `reply_to`'s address, else `from`'s.
    pub fn opt_out_address(&self) -> &str {
        match &self.reply_to {
            Some(r) => match r.split_once('<') {
                Some((_, rest)) => rest.split('>').next().unwrap_or(rest).trim(),
                None => r.trim(),
            },
            None => self.address(),
        }
    }
}

/// A message as one step sends it: its parts as literal pieces and
/// placeholder values, resolved where the template is used.
#[derive(Clone, Debug, PartialEq)]
pub struct Message {
    pub template: Option<TemplateId>,
    /// The template's kind for `send email`; always transactional for `notify`.
    pub kind: TemplateKind,
    pub subject: Vec<Part>,
    /// The plain-text part.
    pub body: Vec<Part>,
    /// The HTML part: literal pieces are markup, values are HTML-escaped
    /// when rendered.
    pub html: Option<Vec<Part>>,
}

impl Message {
    /// Whether some part places `{{unsubscribe_url}}` itself (then no
    /// opt-out footer is added, and the template gives the sender lines).
    pub fn places_unsubscribe_url(&self) -> bool {
        let parts = [Some(&self.subject), Some(&self.body), self.html.as_ref()];
        parts
            .into_iter()
            .flatten()
            .flatten()
            .any(|p| matches!(p, Part::UnsubscribeUrl))
    }

    /// The placeholder values of every part, in order.
    pub fn values(&self) -> impl Iterator<Item = &Expr> {
        let parts = [Some(&self.subject), Some(&self.body), self.html.as_ref()];
        parts
            .into_iter()
            .flatten()
            .flatten()
            .filter_map(|p| match p {
                Part::Value { expr, .. } => Some(expr),
                _ => None,
            })
    }
}

/// A piece of a message: literal text or a placeholder's value.
#[derive(Clone, Debug, PartialEq)]
pub enum Part {
    /// Literal text (markup, in an HTML part).
    Text(String),
    /// `{{ EXPR }}` or `{{ EXPR | FORMAT }}`.
    Value { expr: Expr, format: Option<Format> },
    /// `{{unsubscribe_url}}`: the opt-out link, known only when the message
    /// is rendered for its recipient. Only in marketing messages.
    UnsubscribeUrl,
    /// `{{approval_url}}`: the link deciding the approval, in the
    /// `approval_request` template a `require approval` step sends.
    ApprovalUrl,
}

/// How a placeholder's value is written (`{{x | yen}}`); without one, as
/// its plain text form, and null as nothing.
#[derive(Clone, Debug, PartialEq)]
pub enum Format {
    /// int or decimal: `12,000,000円`, rounded half away from zero to whole yen.
    Yen,
    /// int or decimal: `12,000,000`, `1,234.5`.
    Number,
    /// date or datetime (in the project's zone): `2025年8月1日`.
    DateJa,
    /// date or datetime with a pattern: `| date "YYYY/MM/DD"`.
    Date(DatePattern),
    /// Any value; this text when it is null.
    Or(String),
}

/// A `| date "…"` pattern, split into its fields and literal text.
#[derive(Clone, Debug, PartialEq)]
pub struct DatePattern {
    pub pieces: Vec<DatePiece>,
}

/// One piece of a date pattern.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DatePiece {
    Literal(String),
    /// `YYYY`: 2025
    Year,
    /// `MM`: 08
    Month2,
    /// `M`: 8
    Month,
    /// `DD`: 01
    Day2,
    /// `D`: 1
    Day,
    /// `HH`: 09 (24-hour)
    Hour2,
    /// `mm`: 05
    Minute2,
    /// `曜`: the weekday in Japanese, one character (月 火 水 木 金 土 日).
    WeekdayJa,
}

impl DatePattern {
    /// The tokens, longest first where they overlap; anything else is literal.
    const TOKENS: &[(&str, DatePiece)] = &[
        ("YYYY", DatePiece::Year),
        ("MM", DatePiece::Month2),
        ("DD", DatePiece::Day2),
        ("HH", DatePiece::Hour2),
        ("mm", DatePiece::Minute2),
        ("M", DatePiece::Month),
        ("D", DatePiece::Day),
        ("曜", DatePiece::WeekdayJa),
    ];

    /// Splits a pattern: `YYYY年M月D日（曜）` → year, `年`, month, `月`, ….
    pub fn parse(pattern: &str) -> DatePattern {
        let mut pieces = Vec::new();
        let mut literal = String::new();
        let mut rest = pattern;
        'outer: while let Some(c) = rest.chars().next() {
            for (token, piece) in Self::TOKENS {
                if let Some(after) = rest.strip_prefix(token) {
                    if !literal.is_empty() {
                        pieces.push(DatePiece::Literal(std::mem::take(&mut literal)));
                    }
                    pieces.push(piece.clone());
                    rest = after;
                    continue 'outer;
                }
            }
            literal.push(c);
            rest = &rest[c.len_utf8()..];
        }
        if !literal.is_empty() {
            pieces.push(DatePiece::Literal(literal));
        }
        DatePattern { pieces }
    }

    /// Whether the pattern shows a time of day, which a `date` lacks.
    pub fn has_time(&self) -> bool {
        self.pieces
            .iter()
            .any(|p| matches!(p, DatePiece::Hour2 | DatePiece::Minute2))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn date_patterns_split_into_tokens_and_text() {
        use DatePiece::*;
        let lit = |s: &str| Literal(s.to_string());
        assert_eq!(
            DatePattern::parse("YYYY年M月D日（曜）").pieces,
            [
                Year,
                lit("年"),
                Month,
                lit("月"),
                Day,
                lit("日（"),
                WeekdayJa,
                lit("）")
            ]
        );
        assert_eq!(
            DatePattern::parse("YYYY/MM/DD HH:mm").pieces,
            [
                Year,
                lit("/"),
                Month2,
                lit("/"),
                Day2,
                lit(" "),
                Hour2,
                lit(":"),
                Minute2
            ]
        );
        assert!(DatePattern::parse("HH時").has_time());
        assert!(!DatePattern::parse("YYYY").has_time());
        assert_eq!(DatePattern::parse("").pieces, []);
    }

    #[test]
    fn a_sender_has_a_name_and_an_opt_out_address() {
        let sender = |from: &str, reply_to: Option<&str>| SenderDef {
            from: from.into(),
            reply_to: reply_to.map(str::to_string),
            postal_address: None,
            span: Span::new(flowc_syntax::source::FileId(0), 0, 0),
        };
        let s = sender("株式会社サンプル 営業部 <sales@example.jp>", None);
        assert_eq!(s.name(), "株式会社サンプル 営業部");
        assert_eq!(s.address(), "sales@example.jp");
        assert_eq!(s.opt_out_address(), "sales@example.jp");
        let s = sender("\"Sample\" <a@example.jp>", Some("Desk <b@example.jp>"));
        assert_eq!(s.name(), "Sample");
        assert_eq!(s.opt_out_address(), "b@example.jp");
        let s = sender("a@example.jp", Some("c@example.jp"));
        assert_eq!(s.name(), "a@example.jp");
        assert_eq!(s.opt_out_address(), "c@example.jp");
    }
}
