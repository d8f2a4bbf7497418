//! Syntax errors, written the way a person would explain them.

use super::Rule;
use super::mistakes::Mistake;
use crate::diagnostic::{Diagnostic, Label};
use crate::source::{FileId, Span};
use crate::suggest;

/// What can be wrong with the text of a file before any name is looked up.
#[derive(Clone, Debug, PartialEq)]
pub enum SyntaxError {
    /// E0001. Something other than what the grammar allows here:
    /// `rule r when contact is created sned email x to contact end`.
    Unexpected {
        span: Span,
        expected: Vec<String>,
        found: String,
        suggestion: Option<&'static str>,
        at_end: bool,
    },
    /// E0002. A literal that cannot mean anything: `fn f() -> date = 2023-02-30`.
    BadLiteral { span: Span, reason: String },
    /// E0003. A name outside `[a-z_][a-z0-9_]*`: `record Contact { }`.
    BadName { span: Span, found: String },
    /// E0004. A text literal without its closing quote: `timezone "Asia/Tokyo`.
    UnterminatedText { span: Span },
    /// E0005. An aggregate with more than one value: `fn f() -> int = sum(1, 2 for true)`.
    BadAggregate { span: Span },
    /// E0006. Nesting too deep to check safely: 300 nested parentheses.
    TooDeep { span: Span },
    /// E0009. The grammar and the lowering disagree: a bug in flowc.
    Internal { span: Span, what: String },
    /// E0010–E0017. A mistake people make often, recognised where the
    /// parser stopped (see [`Mistake`]).
    Mistake { span: Span, mistake: Mistake },
}

impl SyntaxError {
    pub(super) fn from_pest(
        file: FileId,
        text: &str,
        offset: usize,
        error: &pest::error::Error<Rule>,
    ) -> SyntaxError {
        let pos = match error.location {
            pest::error::InputLocation::Pos(p) => p,
            pest::error::InputLocation::Span((s, _)) => s,
        };
        let positives: &[Rule] = match &error.variant {
            pest::error::ErrorVariant::ParsingError { positives, .. } => positives,
            // pest's own guard against running out of stack.
            pest::error::ErrorVariant::CustomError { message } if message.contains("limit") => {
                return SyntaxError::TooDeep {
                    span: Span::new(file, offset + pos, offset + pos + 1),
                };
            }
            pest::error::ErrorVariant::CustomError { .. } => &[],
        };
        SyntaxError::unexpected_at(file, text, offset, pos, positives, Vec::new())
    }

    /// A better error for a parse whose rule-level expectations say
    /// nothing (`subject "…"` where `subject: "…"` is wanted): pest's
    /// detailed attempts, which include punctuation, at their farthest
    /// position. `None` when they say nothing either.
    pub(super) fn from_attempts(
        file: FileId,
        text: &str,
        offset: usize,
        pos: usize,
        expected: &[String],
    ) -> Option<SyntaxError> {
        let mut tokens: Vec<String> = Vec::new();
        // Blanks and comment starts are allowed almost everywhere: noise.
        let noise = |t: &str| {
            t.trim_matches(['\u{feff}', ' ', '\t', '\r', '\n'])
                .is_empty()
                || t.starts_with('#')
        };
        for token in expected.iter().filter(|t| !noise(t)) {
            let token = format!("`{token}`");
            if !tokens.contains(&token) {
                tokens.push(token);
            }
        }
        if tokens.is_empty() {
            return None;
        }
        tokens.sort();
        tokens.truncate(5);
        Some(SyntaxError::unexpected_at(
            file,
            text,
            offset,
            pos,
            &[],
            tokens,
        ))
    }

    /// `found` at `pos` where `positives` (or, failing those, `tokens`)
    /// were expected.
    fn unexpected_at(
        file: FileId,
        text: &str,
        offset: usize,
        pos: usize,
        positives: &[Rule],
        tokens: Vec<String>,
    ) -> SyntaxError {
        let rest = &text[pos.min(text.len())..];
        let found_word = word_at(rest);
        // At the end of the text, point just after the last token rather
        // than at the blank line below it.
        let at_end = text[pos.min(text.len())..].trim().is_empty();
        let pos = if at_end {
            text.trim_end().len().min(pos)
        } else {
            pos
        };
        let span_of = |len: usize| Span::new(file, offset + pos, offset + pos + len);

        if rest.starts_with('"') && !rest[1..].lines().next().unwrap_or("").contains('"') {
            let line_len = rest.lines().next().map_or(1, str::len);
            return SyntaxError::UnterminatedText {
                span: span_of(line_len),
            };
        }
        let wants_name = positives.iter().any(|r| {
            matches!(
                r,
                Rule::ident | Rule::field_name | Rule::reference | Rule::type_expr
            )
        });
        if wants_name && !found_word.is_empty() && !is_valid_name(found_word) {
            return SyntaxError::BadName {
                span: span_of(found_word.len()),
                found: found_word.to_string(),
            };
        }
        let mut keywords: Vec<&'static str> =
            positives.iter().filter_map(|r| keyword_text(*r)).collect();
        // pest reports a category rule (`step`) rather than each keyword
        // that could start one; offer those keywords as corrections too.
        for phrase in describe(positives) {
            keywords.extend(category_keywords(&phrase));
        }
        let suggestion = if found_word.is_empty() {
            None
        } else {
            suggest::closest(found_word, keywords.iter().copied())
        };
        let (found, len) = if at_end {
            ("the end of the file".to_string(), 0)
        } else if !found_word.is_empty() {
            (format!("`{found_word}`"), found_word.len())
        } else if rest.starts_with('"') {
            ("a text".to_string(), 1)
        } else {
            let c = rest.chars().next().unwrap_or(' ');
            (format!("`{c}`"), c.len_utf8())
        };
        let mut expected = describe(positives);
        if expected.is_empty() {
            expected = tokens;
        }
        SyntaxError::Unexpected {
            span: span_of(len),
            expected,
            found,
            suggestion,
            at_end,
        }
    }

    /// Whether this is an `Unexpected` that cannot say what was expected.
    pub(super) fn expects_nothing(&self) -> bool {
        matches!(self, SyntaxError::Unexpected { expected, .. } if expected.is_empty())
    }

    pub fn span(&self) -> Span {
        match self {
            SyntaxError::Unexpected { span, .. }
            | SyntaxError::BadLiteral { span, .. }
            | SyntaxError::BadName { span, .. }
            | SyntaxError::UnterminatedText { span }
            | SyntaxError::BadAggregate { span }
            | SyntaxError::TooDeep { span }
            | SyntaxError::Internal { span, .. }
            | SyntaxError::Mistake { span, .. } => *span,
        }
    }

    pub fn to_diagnostic(&self) -> Diagnostic {
        match self {
            SyntaxError::Unexpected {
                span,
                expected,
                found,
                suggestion,
                at_end,
            } => {
                let wanted = join_or(expected);
                let hint = match suggestion {
                    Some(s) => Some(format!("did you mean `{s}`?")),
                    None if *at_end && expected.iter().any(|e| e == "`end`") => Some(
                        "every `rule`, `if`, `on reject` and `test` block closes with `end`".into(),
                    ),
                    None => None,
                };
                Diagnostic::error(
                    "E0001",
                    format!("expected {wanted}, found {found}"),
                    Label::new(*span, format!("expected {}", short(expected))),
                )
                .maybe_hint(hint)
            }
            SyntaxError::BadLiteral { span, reason } => Diagnostic::error(
                "E0002",
                "invalid literal",
                Label::new(*span, reason.clone()),
            ),
            SyntaxError::BadName { span, found } => {
                let fixed = found.to_lowercase();
                let hint = if is_valid_name(&fixed) {
                    format!("names use lowercase ASCII letters, digits and `_`: write `{fixed}`")
                } else {
                    "names use lowercase ASCII letters, digits and `_`; Japanese and other text \
                     belongs in double quotes"
                        .to_string()
                };
                Diagnostic::error(
                    "E0003",
                    format!("`{found}` is not a valid name"),
                    Label::new(*span, "not a name"),
                )
                .with_hint(hint)
            }
            SyntaxError::UnterminatedText { span } => Diagnostic::error(
                "E0004",
                "this text has no closing `\"`",
                Label::new(*span, "text starts here"),
            )
            .with_hint("a text literal ends on the line it starts; write `\\n` for a line break"),
            SyntaxError::BadAggregate { span } => Diagnostic::error(
                "E0005",
                "an aggregate takes one value and one condition",
                Label::new(*span, "write it as `sum(VALUE for CONDITION)`"),
            ),
            SyntaxError::TooDeep { span } => Diagnostic::error(
                "E0006",
                "this is nested too deeply",
                Label::new(*span, "more than 200 levels of nesting start here"),
            )
            .with_hint("split it up: give parts of a long expression their own `fn`, or flatten nested `if`s"),
            SyntaxError::Internal { span, what } => Diagnostic::error(
                "E0009",
                format!("internal error: the parser lost a {what}"),
                Label::new(*span, "here"),
            )
            .with_hint("this is a bug in flowc; please report it with this file"),
            SyntaxError::Mistake { span, mistake } => mistake_diagnostic(*span, mistake),
        }
    }

    /// Recognises a common mistake at `pos` of `text` (a chunk starting at
    /// `offset` in its file), where the parser stopped.
    pub(super) fn mistake_at(
        file: FileId,
        text: &str,
        offset: usize,
        pos: usize,
    ) -> Option<SyntaxError> {
        let (start, end, mistake) = super::mistakes::recognize(text, pos)?;
        Some(SyntaxError::Mistake {
            span: Span::new(file, offset + start, offset + end),
            mistake,
        })
    }
}

/// The diagnostic of each [`Mistake`], with its own code.
fn mistake_diagnostic(span: Span, mistake: &Mistake) -> Diagnostic {
    match mistake {
        Mistake::SingleEquals => Diagnostic::error(
            "E0010",
            "`=` does not compare: write `==`",
            Label::new(span, "write `==`"),
        )
        .with_hint("`=` only assigns, in `set record.field = value`; a condition compares with `==` (and `!=`, `<`, `<=`, `>`, `>=`)"),
        Mistake::ThenInStepIf => Diagnostic::error(
            "E0011",
            "a step `if` has no `then`",
            Label::new(span, "remove `then`"),
        )
        .with_hint("the steps on the lines below the condition are its branch, closed by `end`: `if opportunity.amount > 100` … `end`; `if … then … else …` is the expression form, which always has an `else`"),
        Mistake::SpacedDuration { written, literal } => Diagnostic::error(
            "E0012",
            format!("a duration is written as one word: `{literal}`, not `{written}`"),
            Label::new(span, format!("write `{literal}`")),
        )
        .with_hint("the units are `s`, `m` (minutes), `h`, `d`, `w`, `mo` (calendar months) and `y`: `3d`, `1h30m`, `4mo`"),
        Mistake::SymbolOperator { written, word } => Diagnostic::error(
            "E0013",
            format!("`{written}` is written `{word}` in flow"),
            Label::new(span, format!("write `{word}`")),
        )
        .with_hint("conditions combine with the words `and`, `or` and `not`: `a > 1 and not b`"),
        Mistake::Elsif { written } => Diagnostic::error(
            "E0014",
            format!("`{written}` is written `else if`"),
            Label::new(span, "write `else if`"),
        )
        .with_hint("`if COND` … `else if COND` … `else` … `end`: one `end` closes the whole chain"),
        Mistake::LookAlike { found, name, ascii } => {
            let code = format!("U+{:04X}", u32::from(*found));
            let (message, fix) = if *ascii == ' ' {
                (
                    format!("`{found}` ({code} {name}) is not a space flowc reads"),
                    "replace it with an ordinary space; a Japanese input method types a full-width space when it is in full-width mode".to_string(),
                )
            } else {
                (
                    format!("`{found}` ({code}, {name} of `{ascii}`) is not `{ascii}`"),
                    format!("write the ASCII `{ascii}`; outside double-quoted text, flow is written in half-width characters"),
                )
            };
            let label = if *ascii == ' ' {
                "not a space".to_string()
            } else {
                format!("not `{ascii}`")
            };
            Diagnostic::error("E0015", message, Label::new(span, label)).with_hint(fix)
        }
        Mistake::SendToRole { template, role } => Diagnostic::error(
            "E0016",
            "`send email` sends to a record or an address, not to a role",
            Label::new(span, "only `notify` takes a role"),
        )
        .with_hint(format!(
            "`notify` sends to the users of a role: `notify role \"{role}\" {template}`"
        )),
        Mistake::ConditionTrigger {
            record,
            path,
            condition,
        } => Diagnostic::error(
            "E0017",
            "a `when` trigger names a change or an event, not a condition",
            Label::new(span, "a condition"),
        )
        .with_hint(format!(
            "to start a run when the condition becomes true, write `when {record} becomes {condition}`; to run on every change of the field while it holds, `when {path} changes where {condition}`"
        )),
    }
}

fn is_valid_name(word: &str) -> bool {
    let mut chars = word.chars();
    matches!(chars.next(), Some('a'..='z' | '_'))
        && chars.all(|c| matches!(c, 'a'..='z' | '0'..='9' | '_'))
}

/// The word-like run of characters at the start of `rest`.
fn word_at(rest: &str) -> &str {
    let end = rest
        .char_indices()
        .find(|&(_, c)| !(c.is_alphanumeric() || c == '_'))
        .map_or(rest.len(), |(i, _)| i);
    &rest[..end]
}

fn join_or(items: &[String]) -> String {
    match items {
        [] => "something else".to_string(),
        [one] => one.clone(),
        // A comma keeps "a step such as … or …, or `end`" readable.
        [first, second] if !first.contains(" or ") => format!("{first} or {second}"),
        [init @ .., last] => format!("{}, or {last}", init.join(", ")),
    }
}

/// The label under the caret: the first expectation only, to stay short.
fn short(items: &[String]) -> String {
    match items {
        [] => "something else".into(),
        [one] => one.to_string(),
        [first, ..] => format!("{first}, …"),
    }
}

const STEP: &str = "a step such as `send email`, `wait` or `add … to list`";
const DECLARATION: &str = "a declaration such as `record`, `rule` or `list`";
const TEST_STEP: &str = "a test step such as `given`, `update`, `after` or `expect`";
const TRIGGER: &str = "a trigger (`when …` or `every …`)";
const EXPRESSION: &str = "an expression";
const OPERATOR: &str = "an operator";

/// The keywords that can start something of a category.
fn category_keywords(phrase: &str) -> &'static [&'static str] {
    match phrase {
        STEP => &[
            "add", "remove", "tag", "untag", "set", "send", "notify", "create", "assign", "wait",
            "if", "require", "lock", "unlock", "stop",
        ],
        DECLARATION => &[
            "timezone", "sender", "enum", "record", "list", "segment", "template", "calendar",
            "fn", "rule", "test", "form",
        ],
        TEST_STEP => &[
            "given", "update", "delete", "event", "approve", "reject", "after", "expect",
        ],
        TRIGGER => &["when", "every"],
        _ => &[],
    }
}

fn category(rule: Rule) -> Option<&'static str> {
    use Rule::*;
    Some(match rule {
        kw_add | kw_remove | kw_tag | kw_untag | kw_set | kw_send | kw_notify | kw_create
        | kw_assign | kw_wait | kw_if | kw_require | kw_lock | kw_unlock | kw_stop | step
        | step_label => STEP,
        kw_timezone | kw_sender | kw_enum | kw_record | kw_list | kw_segment | kw_template
        | kw_fn | kw_rule | kw_test | kw_form => DECLARATION,
        kw_given | kw_update | kw_delete | kw_approve | kw_reject | kw_after | kw_expect => {
            TEST_STEP
        }
        kw_when | kw_every => TRIGGER,
        expr | paren | list_lit | datetime_lit | date_lit | duration_lit | decimal_lit
        | int_lit | kw_true | kw_false | kw_null | kw_today | kw_now | old_ref | event_ref
        | reference | neg | unary_expr | not_expr | if_expr | postfix_expr | logic | arith
        | cmp_expr => EXPRESSION,
        cmp_op | arith_op | kw_and | kw_or | kw_between | kw_in | kw_not | kw_contains
        | kw_starts | kw_is | kw_has | kw_opened | kw_clicked => OPERATOR,
        ident | field_name => "a name",
        string => "a text in double quotes",
        sq_string => "a text in single quotes",
        placeholder_format => "a format such as `| yen`",
        type_expr => "a type",
        EOI => "the end of the file",
        reenter_option => "`reenter`",
        goal_option => "`goal`",
        where_clause => "`where`",
        nullable => "`?`",
        _ => return None,
    })
}

/// How a rule reads in "expected …": its category, or the keyword quoted.
fn phrase(rule: Rule) -> Option<String> {
    if let Some(c) = category(rule) {
        return Some(c.to_string());
    }
    let word = keyword_text(rule)?;
    Some(match word {
        "created" | "updated" | "deleted" => "`created`, `updated` or `deleted`".to_string(),
        "day" => "`day` or a weekday".to_string(),
        _ => format!("`{word}`"),
    })
}

/// Turns pest's positive attempts into a short, ordered list of phrases.
fn describe(positives: &[Rule]) -> Vec<String> {
    let mut phrases: Vec<String> = Vec::new();
    for &rule in positives {
        if let Some(p) = phrase(rule)
            && !phrases.contains(&p)
        {
            phrases.push(p);
        }
    }
    let structural = phrases
        .iter()
        .any(|p| [STEP, DECLARATION, TEST_STEP, "`end`"].contains(&p.as_str()));
    if structural {
        phrases.retain(|p| p != OPERATOR);
    }
    let rank = |p: &String| match p.as_str() {
        STEP | DECLARATION | TEST_STEP | TRIGGER => 0,
        EXPRESSION => 1,
        "`end`" => 2,
        OPERATOR => 4,
        _ => 3,
    };
    phrases.sort_by_key(rank);
    phrases.truncate(5);
    phrases
}

/// The text of a keyword rule: `kw_send` → `send`.
fn keyword_text(rule: Rule) -> Option<&'static str> {
    KEYWORD_RULES
        .iter()
        .find(|(r, _)| *r == rule)
        .map(|(_, text)| *text)
}

const KEYWORD_RULES: &[(Rule, &str)] = &[
    (Rule::kw_add, "add"),
    (Rule::kw_after, "after"),
    (Rule::kw_and, "and"),
    (Rule::kw_approval, "approval"),
    (Rule::kw_approve, "approve"),
    (Rule::kw_assign, "assign"),
    (Rule::kw_at, "at"),
    (Rule::kw_becomes, "becomes"),
    (Rule::kw_between, "between"),
    (Rule::kw_changes, "changes"),
    (Rule::kw_clicked, "clicked"),
    (Rule::kw_contains, "contains"),
    (Rule::kw_create, "create"),
    (Rule::kw_created, "created"),
    (Rule::kw_day, "day"),
    (Rule::kw_delete, "delete"),
    (Rule::kw_deleted, "deleted"),
    (Rule::kw_due, "due"),
    (Rule::kw_each, "each"),
    (Rule::kw_else, "else"),
    (Rule::kw_email, "email"),
    (Rule::kw_emails, "emails"),
    (Rule::kw_end, "end"),
    (Rule::kw_enum, "enum"),
    (Rule::kw_event, "event"),
    (Rule::kw_every, "every"),
    (Rule::kw_expect, "expect"),
    (Rule::kw_false, "false"),
    (Rule::kw_file, "file"),
    (Rule::kw_fn, "fn"),
    (Rule::kw_for, "for"),
    (Rule::kw_from, "from"),
    (Rule::kw_given, "given"),
    (Rule::kw_goal, "goal"),
    (Rule::kw_calendar, "calendar"),
    (Rule::kw_during, "during"),
    (Rule::kw_continue, "continue"),
    (Rule::kw_form, "form"),
    (Rule::kw_by, "by"),
    (Rule::kw_redirect, "redirect"),
    (Rule::kw_has, "has"),
    (Rule::kw_if, "if"),
    (Rule::kw_in, "in"),
    (Rule::kw_is, "is"),
    (Rule::kw_list, "list"),
    (Rule::kw_lock, "lock"),
    (Rule::kw_most, "most"),
    (Rule::kw_never, "never"),
    (Rule::kw_no, "no"),
    (Rule::kw_not, "not"),
    (Rule::kw_notify, "notify"),
    (Rule::kw_now, "now"),
    (Rule::kw_null, "null"),
    (Rule::kw_of, "of"),
    (Rule::kw_old, "old"),
    (Rule::kw_on, "on"),
    (Rule::kw_opened, "opened"),
    (Rule::kw_or, "or"),
    (Rule::kw_otherwise, "otherwise"),
    (Rule::kw_pending, "pending"),
    (Rule::kw_record, "record"),
    (Rule::kw_reenter, "reenter"),
    (Rule::kw_reject, "reject"),
    (Rule::kw_remove, "remove"),
    (Rule::kw_require, "require"),
    (Rule::kw_role, "role"),
    (Rule::kw_rule, "rule"),
    (Rule::kw_run, "run"),
    (Rule::kw_segment, "segment"),
    (Rule::kw_send, "send"),
    (Rule::kw_sender, "sender"),
    (Rule::kw_set, "set"),
    (Rule::kw_starts, "starts"),
    (Rule::kw_stop, "stop"),
    (Rule::kw_tag, "tag"),
    (Rule::kw_task, "task"),
    (Rule::kw_tasks, "tasks"),
    (Rule::kw_refused, "refused"),
    (Rule::kw_template, "template"),
    (Rule::kw_test, "test"),
    (Rule::kw_then, "then"),
    (Rule::kw_timezone, "timezone"),
    (Rule::kw_to, "to"),
    (Rule::kw_today, "today"),
    (Rule::kw_transactional, "transactional"),
    (Rule::kw_true, "true"),
    (Rule::kw_unless, "unless"),
    (Rule::kw_unlock, "unlock"),
    (Rule::kw_unsubscribed, "unsubscribed"),
    (Rule::kw_untag, "untag"),
    (Rule::kw_until, "until"),
    (Rule::kw_update, "update"),
    (Rule::kw_updated, "updated"),
    (Rule::kw_wait, "wait"),
    (Rule::kw_when, "when"),
    (Rule::kw_where, "where"),
    (Rule::kw_with, "with"),
];
