//! pest pairs → AST. The only place that sees pest types.

use super::ast::*;
use super::errors::SyntaxError;
use super::{FlowParser, Rule};
use crate::source::{FileId, Span};
use pest::Parser;
use pest::iterators::Pair;

/// Parses one chunk of a file (the text from `offset` on) into items.
pub(super) fn parse_chunk(
    file: FileId,
    text: &str,
    offset: usize,
) -> Result<Vec<Item>, Vec<SyntaxError>> {
    let pairs = match FlowParser::parse(Rule::file, text) {
        Ok(pairs) => pairs,
        Err(error) => {
            let pos = match error.location {
                pest::error::InputLocation::Pos(p) => p,
                pest::error::InputLocation::Span((s, _)) => s,
            };
            if let Some(mistake) = SyntaxError::mistake_at(file, text, offset, pos) {
                return Err(vec![mistake]);
            }
            let mut e = SyntaxError::from_pest(file, text, offset, &error);
            if e.expects_nothing()
                && let Some(better) = detailed_error(file, text, offset)
            {
                e = better;
            }
            return Err(vec![e]);
        }
    };
    let mut lower = Lower {
        file,
        offset,
        errors: Vec::new(),
        depth: 0,
    };
    let mut items = Vec::new();
    for file_pair in pairs {
        for pair in file_pair.into_inner() {
            if pair.as_rule() != Rule::EOI {
                items.push(lower.item(pair));
            }
        }
    }
    if lower.errors.is_empty() {
        Ok(items)
    } else {
        Err(lower.errors)
    }
}

/// Parses the chunk again with pest's detailed error tracking, which also
/// records punctuation that was expected. Only done after a failure whose
/// plain error says nothing useful, since the tracking slows parsing.
fn detailed_error(file: FileId, text: &str, offset: usize) -> Option<SyntaxError> {
    pest::set_error_detail(true);
    let result = FlowParser::parse(Rule::file, text);
    pest::set_error_detail(false);
    let attempts = result.err()?.parse_attempts()?;
    // pest does not export its token type: keep the literal texts, which
    // its Debug form marks `Sensitive`, and print them with Display.
    let literals: Vec<String> = attempts
        .expected_tokens()
        .iter()
        .filter(|t| format!("{t:?}").starts_with("Sensitive"))
        .map(|t| t.to_string())
        .collect();
    SyntaxError::from_attempts(file, text, offset, attempts.max_position, &literals)
}

/// Deeper nesting than this is refused with E0006: every later phase walks
/// the tree recursively, and this limit keeps them all within the stack.
pub(super) const MAX_DEPTH: usize = 200;

pub(super) struct Lower {
    pub(super) file: FileId,
    pub(super) offset: usize,
    pub(super) errors: Vec<SyntaxError>,
    /// How deep the tree being built is here.
    pub(super) depth: usize,
}

/// Keywords that only punctuate: their presence carries no information.
/// (`true`, `false`, `null`, `today` and `now` are values, not punctuation.)
fn is_keyword(rule: Rule) -> bool {
    use Rule::*;
    matches!(
        rule,
        kw_add
            | kw_after
            | kw_and
            | kw_approval
            | kw_approve
            | kw_assign
            | kw_at
            | kw_becomes
            | kw_between
            | kw_changes
            | kw_clicked
            | kw_contains
            | kw_create
            | kw_created
            | kw_day
            | kw_delete
            | kw_deleted
            | kw_due
            | kw_each
            | kw_else
            | kw_email
            | kw_emails
            | kw_end
            | kw_enum
            | kw_event
            | kw_every
            | kw_expect
            | kw_file
            | kw_fn
            | kw_for
            | kw_from
            | kw_given
            | kw_goal
            | kw_calendar
            | kw_during
            | kw_continue
            | kw_form
            | kw_by
            | kw_redirect
            | kw_has
            | kw_if
            | kw_in
            | kw_is
            | kw_list
            | kw_lock
            | kw_most
            | kw_never
            | kw_no
            | kw_not
            | kw_notify
            | kw_of
            | kw_old
            | kw_on
            | kw_opened
            | kw_or
            | kw_otherwise
            | kw_pending
            | kw_record
            | kw_reenter
            | kw_reject
            | kw_remove
            | kw_require
            | kw_role
            | kw_rule
            | kw_run
            | kw_segment
            | kw_send
            | kw_sender
            | kw_set
            | kw_starts
            | kw_stop
            | kw_tag
            | kw_task
            | kw_tasks
            | kw_refused
            | kw_template
            | kw_test
            | kw_then
            | kw_timezone
            | kw_to
            | kw_transactional
            | kw_unless
            | kw_unlock
            | kw_unsubscribed
            | kw_untag
            | kw_until
            | kw_update
            | kw_updated
            | kw_wait
            | kw_when
            | kw_where
            | kw_with
    )
}

/// The children of a pair, split into "was keyword K present" and the rest.
pub(super) struct Parts<'i> {
    keywords: Vec<Rule>,
    pub(super) rest: std::vec::IntoIter<Pair<'i, Rule>>,
}

impl<'i> Parts<'i> {
    pub(super) fn of(pair: Pair<'i, Rule>) -> Parts<'i> {
        let mut keywords = Vec::new();
        let mut rest = Vec::new();
        for p in pair.into_inner() {
            if is_keyword(p.as_rule()) {
                keywords.push(p.as_rule());
            } else {
                rest.push(p);
            }
        }
        Parts {
            keywords,
            rest: rest.into_iter(),
        }
    }

    pub(super) fn has(&self, kw: Rule) -> bool {
        self.keywords.contains(&kw)
    }

    /// The next significant child. The grammar guarantees it exists wherever
    /// this is called; a default pair is never needed in practice.
    pub(super) fn next(&mut self) -> Option<Pair<'i, Rule>> {
        self.rest.next()
    }

    pub(super) fn next_if(&mut self, rule: Rule) -> Option<Pair<'i, Rule>> {
        if self.rest.as_slice().first().map(|p| p.as_rule()) == Some(rule) {
            self.rest.next()
        } else {
            None
        }
    }
}

impl Lower {
    /// The span of a pair without the whitespace and comments pest leaves
    /// at the end of rules that finish with an optional part.
    pub(super) fn span(&self, pair: &Pair<Rule>) -> Span {
        let s = pair.as_span();
        let end = s.start() + meaningful_len(s.as_str());
        Span::new(self.file, s.start() + self.offset, end + self.offset)
    }

    pub(super) fn ident(&self, pair: Pair<Rule>) -> Ident {
        Ident {
            span: self.span(&pair),
            name: pair.as_str().to_string(),
        }
    }

    /// A placeholder for a child the grammar promised but that is missing;
    /// reaching it means the grammar and this file disagree.
    pub(super) fn missing(&mut self, span: Span, what: &str) -> Expr {
        self.errors.push(SyntaxError::Internal {
            span,
            what: what.to_string(),
        });
        Expr {
            kind: ExprKind::Null,
            span,
        }
    }

    pub(super) fn expect_ident(&mut self, parts: &mut Parts, span: Span) -> Ident {
        match parts.next() {
            Some(p) => self.ident(p),
            None => {
                self.missing(span, "name");
                Ident {
                    name: String::new(),
                    span,
                }
            }
        }
    }

    pub(super) fn expect_expr(&mut self, parts: &mut Parts, span: Span) -> Expr {
        match parts.next() {
            Some(p) => self.expr(p),
            None => self.missing(span, "expression"),
        }
    }

    pub(super) fn expect_text(&mut self, parts: &mut Parts, span: Span) -> Text {
        match parts.next() {
            Some(p) => self.text(p),
            None => {
                self.missing(span, "text");
                Text {
                    value: String::new(),
                    span,
                }
            }
        }
    }

    fn item(&mut self, pair: Pair<Rule>) -> Item {
        let span = self.span(&pair);
        let rule = pair.as_rule();
        let mut parts = Parts::of(pair);
        match rule {
            Rule::timezone_decl => Item::Timezone(TimezoneDecl {
                zone: self.expect_text(&mut parts, span),
                span,
            }),
            Rule::enum_decl => {
                let name = self.expect_ident(&mut parts, span);
                let values = parts.rest.by_ref().map(|p| self.text(p)).collect();
                Item::Enum(EnumDecl { name, values, span })
            }
            Rule::record_decl => {
                let name = self.expect_ident(&mut parts, span);
                let fields = parts.rest.by_ref().map(|p| self.field_decl(p)).collect();
                Item::Record(RecordDecl { name, fields, span })
            }
            Rule::list_decl => {
                let name = self.expect_ident(&mut parts, span);
                let of = self.expect_ident(&mut parts, span);
                Item::List(ListDecl { name, of, span })
            }
            Rule::segment_decl => {
                let name = self.expect_ident(&mut parts, span);
                let of = self.expect_ident(&mut parts, span);
                let condition = self.expect_expr(&mut parts, span);
                Item::Segment(SegmentDecl {
                    name,
                    of,
                    condition,
                    span,
                })
            }
            Rule::sender_decl => {
                let fields = parts.rest.by_ref().map(|p| self.sender_field(p)).collect();
                Item::Sender(SenderDecl { fields, span })
            }
            Rule::template_decl => {
                let name = self.expect_ident(&mut parts, span);
                let transactional = parts.has(Rule::kw_transactional);
                let fields = parts
                    .rest
                    .by_ref()
                    .map(|p| self.template_field(p))
                    .collect();
                Item::Template(TemplateDecl {
                    name,
                    transactional,
                    fields,
                    span,
                })
            }
            Rule::calendar_decl => {
                let name = self.expect_ident(&mut parts, span);
                let fields = parts
                    .rest
                    .by_ref()
                    .map(|p| self.calendar_field(p))
                    .collect();
                Item::Calendar(CalendarDecl { name, fields, span })
            }
            Rule::form_decl => {
                let name = self.expect_ident(&mut parts, span);
                let record = self.expect_ident(&mut parts, span);
                let by = self.expect_ident(&mut parts, span);
                let redirect = parts
                    .next_if(Rule::form_redirect)
                    .map(|p| self.expect_text(&mut Parts::of(p), span));
                Item::Form(FormDecl {
                    name,
                    record,
                    by,
                    redirect,
                    span,
                })
            }
            Rule::event_decl => {
                let name = self.expect_ident(&mut parts, span);
                let record = self.expect_ident(&mut parts, span);
                let keys = parts.rest.by_ref().map(|p| self.field_decl(p)).collect();
                Item::Event(EventDecl {
                    name,
                    record,
                    keys,
                    span,
                })
            }
            Rule::fn_decl => Item::Fn(self.fn_decl(parts, span)),
            Rule::rule_decl => Item::Rule(Box::new(self.rule_decl(parts, span))),
            _ => Item::Test(self.test_decl(parts, span)),
        }
    }

    fn field_decl(&mut self, pair: Pair<Rule>) -> FieldDecl {
        let span = self.span(&pair);
        let mut parts = Parts::of(pair);
        let name = self.expect_ident(&mut parts, span);
        let ty = self.type_expr(parts.next(), span);
        FieldDecl { name, ty, span }
    }

    fn type_expr(&mut self, pair: Option<Pair<Rule>>, fallback: Span) -> TypeExpr {
        let Some(pair) = pair else {
            self.missing(fallback, "type");
            return TypeExpr {
                name: Ident {
                    name: String::new(),
                    span: fallback,
                },
                nullable: false,
                span: fallback,
            };
        };
        let span = self.span(&pair);
        let mut parts = Parts::of(pair);
        let name = self.expect_ident(&mut parts, span);
        let nullable = parts.next_if(Rule::nullable).is_some();
        TypeExpr {
            name,
            nullable,
            span,
        }
    }

    fn sender_field(&mut self, pair: Pair<Rule>) -> SenderField {
        let span = self.span(&pair);
        let mut parts = Parts::of(pair);
        let key = self.expect_ident(&mut parts, span);
        let value = self.expect_text(&mut parts, span);
        SenderField { key, value, span }
    }

    fn template_field(&mut self, pair: Pair<Rule>) -> TemplateField {
        let span = self.span(&pair);
        let mut parts = Parts::of(pair);
        let key = self.expect_ident(&mut parts, span);
        let value = match parts.next() {
            Some(p) if p.as_rule() == Rule::template_file => {
                let mut inner = Parts::of(p);
                TemplateText::File(self.expect_text(&mut inner, span))
            }
            Some(p) => TemplateText::Inline(self.text(p)),
            None => TemplateText::Inline(self.expect_text(&mut parts, span)),
        };
        TemplateField { key, value, span }
    }

    fn calendar_field(&mut self, pair: Pair<Rule>) -> CalendarField {
        let span = self.span(&pair);
        let mut parts = Parts::of(pair);
        let key = self.expect_ident(&mut parts, span);
        let mut items = Vec::new();
        for p in parts.rest {
            let pspan = self.span(&p);
            items.push(match p.as_rule() {
                Rule::template_file => {
                    CalendarItem::File(self.expect_text(&mut Parts::of(p), pspan))
                }
                Rule::calendar_hours => {
                    let mut inner = Parts::of(p);
                    let from = self.expect_text(&mut inner, pspan);
                    let to = self.expect_text(&mut inner, pspan);
                    CalendarItem::Hours(from, to)
                }
                _ => CalendarItem::Name(self.expect_ident(&mut Parts::of(p), pspan)),
            });
        }
        CalendarField { key, items, span }
    }

    fn fn_decl(&mut self, mut parts: Parts, span: Span) -> FnDecl {
        let name = self.expect_ident(&mut parts, span);
        let mut params = Vec::new();
        while let Some(p) = parts.next_if(Rule::fn_param) {
            let pspan = self.span(&p);
            let mut inner = Parts::of(p);
            let name = self.expect_ident(&mut inner, pspan);
            let ty = self.type_expr(inner.next(), pspan);
            params.push(Param { name, ty });
        }
        let ret = self.type_expr(parts.next(), span);
        let body = self.expect_expr(&mut parts, span);
        FnDecl {
            name,
            params,
            ret,
            body,
            span,
        }
    }

    fn rule_decl(&mut self, mut parts: Parts, span: Span) -> RuleDecl {
        let name = self.expect_ident(&mut parts, span);
        let trigger = match parts.next() {
            Some(p) => self.trigger(p),
            None => {
                self.missing(span, "trigger");
                Trigger {
                    kind: TriggerKind::Record {
                        record: name.clone(),
                        what: Lifecycle::Created,
                    },
                    span,
                }
            }
        };
        let filter = parts
            .next_if(Rule::where_clause)
            .map(|p| self.where_clause(p));
        let mut options = Vec::new();
        let mut steps = Vec::new();
        for p in parts.rest {
            match p.as_rule() {
                Rule::reenter_option => {
                    let ospan = self.span(&p);
                    let inner = Parts::of(p);
                    let after = if inner.has(Rule::kw_never) {
                        None
                    } else {
                        let mut inner = inner;
                        Some(self.expect_expr(&mut inner, ospan))
                    };
                    options.push(RuleOption::Reenter { after, span: ospan });
                }
                Rule::goal_option => {
                    let ospan = self.span(&p);
                    let mut inner = Parts::of(p);
                    let condition = self.expect_expr(&mut inner, ospan);
                    let continues = inner.next_if(Rule::goal_continue).is_some();
                    options.push(RuleOption::Goal {
                        condition,
                        continues,
                        span: ospan,
                    });
                }
                Rule::send_during => {
                    let ospan = self.span(&p);
                    let mut inner = Parts::of(p);
                    let calendar = self.expect_ident(&mut inner, ospan);
                    options.push(RuleOption::SendDuring {
                        calendar,
                        span: ospan,
                    });
                }
                _ => steps.push(self.step(p)),
            }
        }
        RuleDecl {
            name,
            trigger,
            filter,
            options,
            steps,
            span,
        }
    }

    fn where_clause(&mut self, pair: Pair<Rule>) -> Expr {
        let span = self.span(&pair);
        let mut parts = Parts::of(pair);
        self.expect_expr(&mut parts, span)
    }

    fn trigger(&mut self, pair: Pair<Rule>) -> Trigger {
        let span = self.span(&pair);
        let rule = pair.as_rule();
        let mut parts = Parts::of(pair);
        let kind = match rule {
            Rule::event_trigger => {
                let name = self.expect_ident(&mut parts, span);
                let record = self.expect_ident(&mut parts, span);
                TriggerKind::Event { name, record }
            }
            Rule::record_trigger => {
                let record = self.expect_ident(&mut parts, span);
                let what = if parts.has(Rule::kw_created) {
                    Lifecycle::Created
                } else if parts.has(Rule::kw_updated) {
                    Lifecycle::Updated
                } else {
                    Lifecycle::Deleted
                };
                TriggerKind::Record { record, what }
            }
            Rule::changes_trigger => {
                let record = self.expect_ident(&mut parts, span);
                let field = self.expect_ident(&mut parts, span);
                let from = parts.next_if(Rule::changes_from).map(|p| {
                    let s = self.span(&p);
                    self.expect_expr(&mut Parts::of(p), s)
                });
                let to = parts.next_if(Rule::changes_to).map(|p| {
                    let s = self.span(&p);
                    self.expect_expr(&mut Parts::of(p), s)
                });
                TriggerKind::Changes {
                    record,
                    field,
                    from,
                    to,
                }
            }
            Rule::becomes_trigger => {
                let record = self.expect_ident(&mut parts, span);
                let condition = self.expect_expr(&mut parts, span);
                TriggerKind::Becomes { record, condition }
            }
            _ => {
                let schedule = match parts.next() {
                    Some(p) => self.schedule(p),
                    None => {
                        let every = self.missing(span, "schedule");
                        Schedule::Interval { every }
                    }
                };
                let each = parts.next_if(Rule::for_each).map(|p| {
                    let s = self.span(&p);
                    self.expect_ident(&mut Parts::of(p), s)
                });
                TriggerKind::Every { schedule, each }
            }
        };
        Trigger { kind, span }
    }

    fn schedule(&mut self, pair: Pair<Rule>) -> Schedule {
        let span = self.span(&pair);
        let rule = pair.as_rule();
        let mut parts = Parts::of(pair);
        match rule {
            Rule::daily_schedule => Schedule::Daily {
                at: self.expect_text(&mut parts, span),
            },
            Rule::weekly_schedule => {
                let day = self.expect_ident(&mut parts, span);
                let at = self.expect_text(&mut parts, span);
                Schedule::Weekly { day, at }
            }
            _ => {
                let every = match parts.next() {
                    Some(p) => self.duration(p),
                    None => self.missing(span, "duration"),
                };
                Schedule::Interval { every }
            }
        }
    }

    /// Goes `levels` deeper, or reports E0006 (once) and returns false.
    pub(super) fn deeper(&mut self, span: Span, levels: usize) -> bool {
        if self.depth + levels > MAX_DEPTH {
            if !self
                .errors
                .iter()
                .any(|e| matches!(e, SyntaxError::TooDeep { .. }))
            {
                self.errors.push(SyntaxError::TooDeep { span });
            }
            return false;
        }
        self.depth += levels;
        true
    }

    pub(super) fn text(&mut self, pair: Pair<Rule>) -> Text {
        let span = self.span(&pair);
        let raw = pair
            .into_inner()
            .next()
            .map(|p| p.as_str())
            .unwrap_or_default();
        let value = match unescape(raw) {
            Ok(v) => v,
            Err(reason) => {
                self.errors.push(SyntaxError::BadLiteral { span, reason });
                raw.to_string()
            }
        };
        Text { value, span }
    }
}

/// Length of `text` without trailing whitespace and `#` comments.
fn meaningful_len(text: &str) -> usize {
    let mut end = text.trim_end().len();
    loop {
        let line_start = text[..end].rfind('\n').map_or(0, |i| i + 1);
        match comment_start(&text[line_start..end]) {
            Some(hash) => end = text[..line_start + hash].trim_end().len(),
            None => return end,
        }
    }
}

/// Where a `#` comment starts on one line, skipping `#` inside text literals.
pub(crate) fn comment_start(line: &str) -> Option<usize> {
    let mut in_text = false;
    let mut escaped = false;
    for (i, c) in line.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' if in_text => escaped = true,
            '"' => in_text = !in_text,
            '#' if !in_text => return Some(i),
            _ => {}
        }
    }
    None
}

/// Resolves `\"`, `\\`, `\n`, `\t` and `\u{…}` in a text literal.
pub fn unescape(raw: &str) -> Result<String, String> {
    if !raw.contains('\\') {
        return Ok(raw.to_string());
    }
    let mut out = String::with_capacity(raw.len());
    let mut chars = raw.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('"') => out.push('"'),
            Some('\\') => out.push('\\'),
            Some('n') => out.push('\n'),
            Some('t') => out.push('\t'),
            Some('{') => out.push('{'),
            Some('u') => {
                let rest: String = chars.by_ref().take_while(|&c| c != '}').collect();
                let code = rest
                    .strip_prefix('{')
                    .and_then(|hex| u32::from_str_radix(hex, 16).ok())
                    .and_then(char::from_u32);
                match code {
                    Some(c) => out.push(c),
                    None => return Err(format!("`\\u{rest}}}` is not a Unicode character")),
                }
            }
            Some(other) => {
                return Err(format!(
                    "`\\{other}` is not an escape; write `\\\\` for a backslash"
                ));
            }
            None => return Err("a text cannot end with a lone `\\`".into()),
        }
    }
    Ok(out)
}
