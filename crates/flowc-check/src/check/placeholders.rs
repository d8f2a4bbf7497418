//! Placeholders resolved where a template is used: each is an expression
//! checked in the scope of the step that sends the message (plus
//! `recipient`, `sender.…`, `unsubscribe_url`, and `approval_url` in the
//! approval email), its format checked against the expression's type.

use super::scope::Scope;
use super::templates::{self, Piece};
use super::{Checker, NameKind, Problem};
use crate::ir::{self, DatePattern, Format, Part, TemplateKind, Ty, Type};
use flowc_syntax::source::Span;
use flowc_syntax::syntax::ast;

/// The formats, in the order hints list them.
const FORMATS: &[&str] = &["yen", "number", "date_ja", "date", "or"];

/// The template a `require approval` step sends the approver, when the
/// project declares one (else a built-in one).
pub(crate) const APPROVAL_TEMPLATE: &str = "approval_request";

/// Where placeholders are being resolved.
struct Use {
    /// The template's name; `None` for an inline text.
    template: Option<String>,
    kind: TemplateKind,
    /// The template itself is transactional, so a `{{unsubscribe_url}}` in
    /// it was reported where it was declared.
    declared_transactional: bool,
    /// What an inline text is, for messages: "a `notify` message".
    what: &'static str,
    use_site: Span,
    /// The record the message goes to, if it goes to a record.
    recipient: Option<ir::RecordId>,
    /// The approval email of a `require approval` step: `{{approval_url}}`
    /// is the link deciding it.
    approval: bool,
}

/// Resolves a template's placeholders at one use site. `notify`: the
/// message is a `notify` (always transactional).
pub(crate) fn message(
    cx: &mut Checker,
    id: ir::TemplateId,
    scope: &mut Scope,
    recipient: Option<ir::RecordId>,
    use_site: Span,
    notify: bool,
) -> ir::Message {
    let source = cx.templates[id.index()].clone();
    let def = &cx.schema.templates[id.index()];
    let kind = if notify {
        TemplateKind::Transactional
    } else {
        def.kind
    };
    let at = Use {
        template: Some(def.name.clone()),
        kind,
        declared_transactional: def.kind == TemplateKind::Transactional,
        what: "a `notify` message",
        use_site,
        recipient,
        approval: false,
    };
    ir::Message {
        template: Some(id),
        kind,
        subject: resolve(cx, &source.subject, &at, scope),
        body: resolve(cx, &source.body, &at, scope),
        html: source.html.as_ref().map(|h| resolve(cx, h, &at, scope)),
    }
}

/// Resolves the `approval_request` template where a `require approval`
/// step sends it to the approver (`recipient`, when a record): always
/// transactional, with `{{approval_url}}`.
pub(crate) fn approval_message(
    cx: &mut Checker,
    id: ir::TemplateId,
    scope: &mut Scope,
    recipient: Option<ir::RecordId>,
    use_site: Span,
) -> ir::Message {
    let source = cx.templates[id.index()].clone();
    let def = &cx.schema.templates[id.index()];
    let at = Use {
        template: Some(def.name.clone()),
        kind: TemplateKind::Transactional,
        declared_transactional: def.kind == TemplateKind::Transactional,
        what: "an approval request",
        use_site,
        recipient,
        approval: true,
    };
    ir::Message {
        template: Some(id),
        kind: TemplateKind::Transactional,
        subject: resolve(cx, &source.subject, &at, scope),
        body: resolve(cx, &source.body, &at, scope),
        html: source.html.as_ref().map(|h| resolve(cx, h, &at, scope)),
    }
}

/// Resolves an inline text with placeholders: a `notify` message
/// (`task: false`) or a task title.
pub(crate) fn inline(
    cx: &mut Checker,
    text: &ast::Text,
    scope: &mut Scope,
    recipient: Option<ir::RecordId>,
    task: bool,
) -> Vec<Part> {
    let raw = cx.sources.snippet(text.span);
    let inner = raw
        .strip_prefix('"')
        .and_then(|r| r.strip_suffix('"'))
        .unwrap_or(raw)
        .to_string();
    let start = text.span.start as usize + 1;
    let Some(pieces) = templates::split(cx, &inner, text.span.file, start, true) else {
        return vec![Part::Text(text.value.clone())];
    };
    let at = Use {
        template: None,
        kind: TemplateKind::Transactional,
        declared_transactional: false,
        what: if task {
            "a task's title"
        } else {
            "a `notify` message"
        },
        use_site: text.span,
        recipient,
        approval: false,
    };
    resolve(cx, &pieces, &at, scope)
}

fn resolve(cx: &mut Checker, pieces: &[Piece], at: &Use, scope: &mut Scope) -> Vec<Part> {
    pieces
        .iter()
        .map(|piece| match piece {
            Piece::Text(t) => Part::Text(t.clone()),
            Piece::Broken => Part::Text(String::new()),
            Piece::Placeholder { placeholder, span } => {
                self::placeholder(cx, placeholder, *span, at, scope)
            }
        })
        .collect()
}

/// One placeholder as a part of the message.
fn placeholder(
    cx: &mut Checker,
    p: &ast::Placeholder,
    span: Span,
    at: &Use,
    scope: &mut Scope,
) -> Part {
    let written = written(cx, span);
    if at.approval
        && matches!(&p.expr.kind, ast::ExprKind::Name(n) if n.name == "approval_url")
        && scope.lookup("approval_url").is_none()
    {
        if let Some(spec) = &p.format {
            let url = super::expr::lit(ir::Literal::Null, Ty::TEXT, p.expr.span);
            format(cx, spec, url, at);
        }
        return Part::ApprovalUrl;
    }
    if templates::is_unsubscribe_url(&p.expr) && scope.lookup("unsubscribe_url").is_none() {
        if at.kind == TemplateKind::Transactional && !at.declared_transactional {
            cx.report(Problem::UnsubscribeInTransactional {
                span,
                what: match &at.template {
                    Some(t) => format!("the template `{t}`, sent by `notify`"),
                    None => at.what.to_string(),
                },
            });
        }
        let url = super::expr::lit(ir::Literal::Null, Ty::TEXT, p.expr.span);
        if let Some(spec) = &p.format {
            format(cx, spec, url, at);
        }
        return Part::UnsubscribeUrl;
    }
    let typed = match sender_value(cx, &p.expr, scope) {
        Some(Ok(value)) => value,
        Some(Err(reason)) => {
            return bad(cx, span, written, reason, at);
        }
        None => match value(cx, &p.expr, span, &written, at, scope) {
            Some(typed) => typed,
            None => return Part::Text(String::new()),
        },
    };
    if let Type::Record(r) = typed.ty.base {
        let record = cx.schema.record(r);
        let field = record.fields.first().map_or("id", |f| f.name.as_str());
        let reason = format!(
            "is a `{}` record, not a value; name one of its fields, like `{{{{{}.{field}}}}}`",
            record.name,
            written.trim()
        );
        return bad(cx, span, written, reason, at);
    }
    let found = typed.ty;
    let (expr, format) = match &p.format {
        Some(spec) => format(cx, spec, typed, at),
        None => (typed, None),
    };
    let shows_null = matches!(format, Some(Format::Or(_)));
    if found.nullable && !shows_null && !matches!(found.base, Type::Null | Type::Error | Type::Any)
    {
        let expr_text = cx.sources.snippet(p.expr.span).to_string();
        let hint = if p.format.is_some() {
            format!("say what null means: `coalesce({expr_text}, …)`")
        } else {
            format!("say what to print instead: `{{{{{expr_text} | or \"…\"}}}}`")
        };
        cx.report(Problem::NullablePlaceholder {
            span,
            placeholder: written,
            found: cx.schema.type_name(found),
            hint,
            template: at.template.clone(),
            use_site: at.use_site,
        });
    }
    Part::Value { expr, format }
}

/// The placeholder as written between its braces, trimmed.
fn written(cx: &Checker, span: Span) -> String {
    let raw = cx.sources.snippet(span);
    raw.strip_prefix("{{")
        .and_then(|r| r.strip_suffix("}}"))
        .unwrap_or(raw)
        .trim()
        .to_string()
}

fn bad(cx: &mut Checker, span: Span, written: String, reason: String, at: &Use) -> Part {
    cx.report(Problem::BadPlaceholder {
        span,
        placeholder: written,
        template: at.template.clone(),
        reason,
        use_site: at.use_site,
    });
    Part::Text(String::new())
}

/// The placeholder's expression, checked in the step's scope with
/// `recipient` added; `None` if it failed (reported). Naming mistakes are
/// E0401 at the placeholder, other problems keep their codes and gain the
/// use site.
fn value(
    cx: &mut Checker,
    expr: &ast::Expr,
    span: Span,
    written: &str,
    at: &Use,
    scope: &mut Scope,
) -> Option<ir::Expr> {
    if let Some(record) = at.recipient {
        scope.push_recipient(record);
    }
    let names = scope.names();
    let before = cx.problems.len();
    let typed = cx.expr(expr, scope);
    if at.recipient.is_some() {
        scope.pop();
    }
    let problems: Vec<Problem> = cx.problems.drain(before..).collect();
    let failed = !problems.is_empty() && typed.ty.is_error();
    for problem in problems {
        let reported = match naming_reason(&problem, &names, at) {
            Some(reason) => Problem::BadPlaceholder {
                span,
                placeholder: written.to_string(),
                template: at.template.clone(),
                reason,
                use_site: at.use_site,
            },
            None => Problem::InTemplate {
                problem: Box::new(problem),
                template: at.template.clone(),
                use_site: at.use_site,
            },
        };
        cx.report(reported);
    }
    (!failed).then_some(typed)
}

/// What E0401 says for a problem that is a placeholder naming nothing;
/// `None` for any other problem.
fn naming_reason(problem: &Problem, names: &[String], at: &Use) -> Option<String> {
    match problem {
        Problem::UnknownField {
            record,
            field,
            suggestion,
            ..
        } => {
            let hint = suggestion
                .as_ref()
                .map(|s| format!(" (did you mean `{s}`?)"))
                .unwrap_or_default();
            Some(format!(
                "names `{field}`, but `{record}` has no such field{hint}"
            ))
        }
        Problem::UnknownName {
            kind: NameKind::Variable,
            name,
            suggestion,
            hint,
            ..
        } => Some(if name == "recipient" && at.recipient.is_none() {
            "names `recipient`, but this message is not sent to a record".to_string()
        } else if name == "approval_url" {
            format!(
                "names `approval_url`, which only the `{APPROVAL_TEMPLATE}` template has, \
                 where `require approval` sends it"
            )
        } else {
            let hint = suggestion
                .as_ref()
                .map(|s| format!("did you mean `{s}`?"))
                .or_else(|| hint.clone())
                .map(|h| format!("; {h}"))
                .unwrap_or_default();
            format!(
                "names `{name}`, which is not in scope here (in scope: `{}`){hint}",
                names.join("`, `")
            )
        }),
        Problem::OutOfContext { what, .. } if what.starts_with("`event.") => {
            Some("names `event`, but this rule is not triggered by an event".to_string())
        }
        _ => None,
    }
}

/// `sender.name`, `sender.postal_address`: the declared sender's text, or
/// why not; `None` when the placeholder is not about the sender.
fn sender_value(cx: &Checker, expr: &ast::Expr, scope: &Scope) -> Option<Result<ir::Expr, String>> {
    const FIELDS: &[&str] = &["name", "postal_address"];
    let field = match &expr.kind {
        ast::ExprKind::Name(n) if n.name == "sender" => None,
        ast::ExprKind::Field { base, field } => match &base.kind {
            ast::ExprKind::Name(n) if n.name == "sender" => Some(field),
            _ => return None,
        },
        _ => return None,
    };
    if scope.lookup("sender").is_some() {
        return None;
    }
    let Some(sender) = &cx.schema.sender else {
        return Some(Err(
            "names `sender`, but the project declares no `sender`".into()
        ));
    };
    let Some(field) = field else {
        return Some(Err(
            "names `sender` itself; write `sender.name` or `sender.postal_address`".into(),
        ));
    };
    let text = match field.name.as_str() {
        "name" => sender.name().to_string(),
        "postal_address" => match &sender.postal_address {
            Some(a) => a.clone(),
            None => {
                return Some(Err(
                    "names `sender.postal_address`, but the `sender` has no `postal_address`"
                        .into(),
                ));
            }
        },
        other => {
            let hint = flowc_syntax::suggest::closest(other, FIELDS.iter().copied())
                .map(|s| format!(" (did you mean `{s}`?)"))
                .unwrap_or_default();
            return Some(Err(format!(
                "names `sender.{other}`, but the sender has only `name` and `postal_address`{hint}"
            )));
        }
    };
    Some(Ok(super::expr::lit(
        ir::Literal::Text(text),
        Ty::TEXT,
        expr.span,
    )))
}

/// Checks a format against the value's type: the value (converted where an
/// event value needs it) and the format, or no format if it does not fit.
fn format(
    cx: &mut Checker,
    spec: &ast::FormatSpec,
    value: ir::Expr,
    at: &Use,
) -> (ir::Expr, Option<Format>) {
    let name = spec.name.name.as_str();
    let Some(arg) = format_shape(cx, spec) else {
        return (value, None);
    };
    let (numeric, dated) = (
        matches!(value.ty.base, Type::Int | Type::Decimal),
        matches!(value.ty.base, Type::Date | Type::DateTime),
    );
    let (value, format) = match name {
        "yen" | "number" if numeric || value.ty.is_error() => (value, Some(number_format(name))),
        "yen" | "number" if value.ty.base == Type::Any => {
            let v = cx.coerce(value, Ty::nullable(Type::Decimal), "a number", None);
            (v, Some(number_format(name)))
        }
        "date_ja" | "date" if dated || value.ty.is_error() || value.ty.base == Type::Any => {
            let value = if value.ty.base == Type::Any {
                cx.coerce(value, Ty::nullable(Type::Date), "a date", None)
            } else {
                value
            };
            match arg {
                None => (value, Some(Format::DateJa)),
                Some(pattern) => {
                    let pattern = DatePattern::parse(&pattern);
                    if pattern.has_time() && value.ty.base == Type::Date {
                        wrong_type(
                            cx,
                            spec,
                            &value,
                            "a `datetime` (the pattern shows a time of day)",
                            at,
                        );
                        return (value, None);
                    }
                    (value, Some(Format::Date(pattern)))
                }
            }
        }
        "or" => (value, Some(Format::Or(arg.unwrap_or_default()))),
        "yen" | "number" => {
            wrong_type(cx, spec, &value, "an `int` or a `decimal`", at);
            (value, None)
        }
        _ => {
            wrong_type(cx, spec, &value, "a `date` or a `datetime`", at);
            (value, None)
        }
    };
    (value, format)
}

fn number_format(name: &str) -> Format {
    if name == "yen" {
        Format::Yen
    } else {
        Format::Number
    }
}

/// Whether the format is known and has the argument it needs: `Some(arg)`
/// if so, else `None` (reported).
fn format_shape(cx: &mut Checker, spec: &ast::FormatSpec) -> Option<Option<String>> {
    let name = spec.name.name.as_str();
    if !FORMATS.contains(&name) {
        let suggestion =
            flowc_syntax::suggest::closest(name, FORMATS.iter().copied()).map(str::to_string);
        cx.report(Problem::UnknownFormat {
            span: spec.name.span,
            name: name.to_string(),
            suggestion,
        });
        return None;
    }
    let takes = matches!(name, "date" | "or");
    match (&spec.arg, takes) {
        (Some(arg), true) => Some(Some(arg.value.clone())),
        (None, false) => Some(None),
        (None, true) => {
            cx.report(Problem::FormatArgument {
                span: spec.span,
                message: if name == "date" {
                    "`| date` needs a pattern, like `| date \"YYYY/MM/DD\"`".into()
                } else {
                    "`| or` needs the text to print for null, like `| or \"—\"`".into()
                },
            });
            None
        }
        (Some(arg), false) => {
            cx.report(Problem::FormatArgument {
                span: arg.span,
                message: format!("`| {name}` takes no argument"),
            });
            None
        }
    }
}

fn wrong_type(
    cx: &mut Checker,
    spec: &ast::FormatSpec,
    value: &ir::Expr,
    expected: &str,
    at: &Use,
) {
    let fits: Vec<String> = match value.ty.base {
        Type::Int | Type::Decimal => vec!["`| yen`", "`| number`", "`| or \"…\"`"],
        Type::Date => vec!["`| date_ja`", "`| date \"YYYY/MM/DD\"`", "`| or \"…\"`"],
        Type::DateTime => vec![
            "`| date_ja`",
            "`| date \"YYYY/MM/DD HH:mm\"`",
            "`| or \"…\"`",
        ],
        _ => vec!["`| or \"…\"` (when it may be null) or no format"],
    }
    .into_iter()
    .map(str::to_string)
    .collect();
    let written = cx.sources.snippet(spec.span);
    let format = written.trim_start_matches('|').trim().to_string();
    cx.report(Problem::FormatType {
        span: spec.span,
        format,
        expected: expected.to_string(),
        found: cx.schema.type_name(value.ty.with_nullable(false)),
        fits,
        template: at.template.clone(),
        use_site: at.use_site,
    });
}
