//! Templates: their text is split into pieces once, and each placeholder is
//! resolved against the names in scope wherever the template is used.

use super::scope::Scope;
use super::{Checker, Problem};
use crate::ir::{self, Part, Type};
use flowc_syntax::source::{FileId, Span};
use flowc_syntax::syntax::ast;

/// A piece of template text.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Piece {
    Text(String),
    /// `{{ contact.owner.name }}`: the path's words and where it is written.
    Placeholder {
        path: Vec<String>,
        span: Span,
    },
}

/// Declares a template: reads its parts (inline or from a file the loader
/// provided) and splits them into pieces.
pub(crate) fn declare(
    cx: &mut Checker,
    decl: &ast::TemplateDecl,
    file: FileId,
) -> (ir::TemplateDef, super::TemplateSource) {
    let mut source = super::TemplateSource::default();
    let mut subject_text = String::new();
    let mut body_text = String::new();
    let (mut has_subject, mut has_body) = (false, false);
    let (mut from, mut reply_to) = (None, None);
    for field in &decl.fields {
        // A part that failed to read still counts as present.
        match field.key.name.as_str() {
            "subject" => has_subject = true,
            "body" => has_body = true,
            _ => {}
        }
        let (text, pieces) = match template_text(cx, &field.value, file) {
            Some(parsed) => parsed,
            None => continue,
        };
        match field.key.name.as_str() {
            "subject" => {
                if text.contains(['\r', '\n']) {
                    cx.report(Problem::TemplateShape {
                        span: field.span,
                        message: "an email subject must be one line".into(),
                    });
                }
                subject_text = text;
                source.subject = pieces;
            }
            "body" => {
                body_text = text;
                source.body = pieces;
            }
            "from" | "reply_to" => {
                if pieces
                    .iter()
                    .any(|p| matches!(p, Piece::Placeholder { .. }))
                {
                    cx.report(Problem::TemplateShape {
                        span: field.span,
                        message: format!(
                            "`{}` is an address and cannot hold placeholders",
                            field.key.name
                        ),
                    });
                }
                if field.key.name == "from" {
                    from = Some(text);
                } else {
                    reply_to = Some(text);
                }
            }
            other => cx.report(Problem::TemplateShape {
                span: field.key.span,
                message: format!("a template has no part called `{other}`"),
            }),
        }
    }
    for (present, part) in [(has_subject, "subject"), (has_body, "body")] {
        if !present {
            cx.report(Problem::TemplateShape {
                span: decl.name.span,
                message: format!("the template `{}` has no {part}", decl.name.name),
            });
        }
    }
    let def = ir::TemplateDef {
        name: decl.name.name.clone(),
        subject: subject_text,
        body: body_text,
        from,
        reply_to,
        span: decl.span,
    };
    (def, source)
}

/// The full text of a template part and its pieces.
fn template_text(
    cx: &mut Checker,
    value: &ast::TemplateText,
    file: FileId,
) -> Option<(String, Vec<Piece>)> {
    match value {
        ast::TemplateText::Inline(text) => {
            // Placeholders are found in the literal as written, so their spans
            // point at the right columns even when the text has escapes.
            let raw = cx.sources.snippet(text.span);
            let inner = raw
                .strip_prefix('"')
                .and_then(|r| r.strip_suffix('"'))
                .unwrap_or(raw);
            let start = text.span.start as usize + 1;
            let pieces = split(cx, inner, text.span.file, start, true)?;
            Some((text.value.clone(), pieces))
        }
        ast::TemplateText::File(path) => {
            let loaded = cx.template_file(file, &path.value);
            match loaded {
                Ok(id) => {
                    // Files end with a newline that is not part of the text.
                    let text = &cx.sources.file(id).text;
                    let content = text
                        .strip_suffix('\n')
                        .map(|t| t.strip_suffix('\r').unwrap_or(t))
                        .unwrap_or(text)
                        .to_string();
                    let pieces = split(cx, &content, id, 0, false)?;
                    Some((content, pieces))
                }
                Err(reason) => {
                    cx.report(Problem::TemplateFile {
                        span: path.span,
                        path: path.value.clone(),
                        reason,
                    });
                    None
                }
            }
        }
    }
}

/// Splits text into literal pieces and `{{ path }}` placeholders.
/// `escaped`: the text is a literal's source, whose escapes are resolved.
fn split(
    cx: &mut Checker,
    text: &str,
    file: FileId,
    offset: usize,
    escaped: bool,
) -> Option<Vec<Piece>> {
    let mut pieces = Vec::new();
    let mut literal = String::new();
    let mut rest = text;
    let mut pos = 0;
    while let Some(open) = rest.find("{{") {
        let escaped_brace =
            escaped && rest[..open].ends_with('\\') && !rest[..open].ends_with("\\\\");
        literal.push_str(&rest[..open]);
        if escaped_brace {
            literal.push_str("{{");
            rest = &rest[open + 2..];
            pos += open + 2;
            continue;
        }
        let after = &rest[open + 2..];
        let Some(close) = after.find("}}") else {
            cx.report(Problem::UnclosedPlaceholder {
                span: Span::new(file, offset + pos + open, offset + pos + open + 2),
            });
            return None;
        };
        let inner = &after[..close];
        let start = offset + pos + open;
        let span = Span::new(file, start, start + close + 4);
        flush(&mut pieces, &mut literal, escaped);
        let path = inner
            .trim()
            .split('.')
            .map(|w| w.trim().to_string())
            .collect();
        pieces.push(Piece::Placeholder { path, span });
        rest = &after[close + 2..];
        pos += open + 2 + close + 2;
    }
    literal.push_str(rest);
    flush(&mut pieces, &mut literal, escaped);
    Some(pieces)
}

fn flush(pieces: &mut Vec<Piece>, literal: &mut String, escaped: bool) {
    if literal.is_empty() {
        return;
    }
    let text = if escaped {
        flowc_syntax::syntax::unescape(&literal.replace("\\{{", "{{"))
            .unwrap_or_else(|_| literal.clone())
    } else {
        literal.clone()
    };
    pieces.push(Piece::Text(text));
    literal.clear();
}

/// Resolves a template's placeholders at one use site.
/// `recipient` is the record type the email goes to, if it is a record.
pub(crate) fn message(
    cx: &mut Checker,
    id: ir::TemplateId,
    scope: &mut Scope,
    recipient: Option<ir::RecordId>,
    use_site: Span,
) -> ir::Message {
    let source = cx.templates[id.index()].clone();
    let name = cx.schema.templates[id.index()].name.clone();
    let subject = resolve(cx, &source.subject, &name, scope, recipient, use_site);
    let body = resolve(cx, &source.body, &name, scope, recipient, use_site);
    ir::Message {
        template: Some(id),
        subject,
        body,
    }
}

/// Resolves an inline text with placeholders (a `notify` message, a task title).
pub(crate) fn inline(
    cx: &mut Checker,
    text: &ast::Text,
    scope: &mut Scope,
    recipient: Option<ir::RecordId>,
) -> Vec<Part> {
    let raw = cx.sources.snippet(text.span);
    let inner = raw
        .strip_prefix('"')
        .and_then(|r| r.strip_suffix('"'))
        .unwrap_or(raw)
        .to_string();
    let Some(pieces) = split(
        cx,
        &inner,
        text.span.file,
        text.span.start as usize + 1,
        true,
    ) else {
        return vec![Part::Text(text.value.clone())];
    };
    resolve(cx, &pieces, "(inline)", scope, recipient, text.span)
}

fn resolve(
    cx: &mut Checker,
    pieces: &[Piece],
    template: &str,
    scope: &mut Scope,
    recipient: Option<ir::RecordId>,
    use_site: Span,
) -> Vec<Part> {
    pieces
        .iter()
        .map(|piece| match piece {
            Piece::Text(t) => Part::Text(t.clone()),
            Piece::Placeholder { path, span } => {
                match placeholder(cx, path, *span, scope, recipient) {
                    Ok(expr) => Part::Value(expr),
                    Err(reason) => {
                        cx.report(Problem::BadPlaceholder {
                            span: *span,
                            placeholder: path.join("."),
                            template: template.to_string(),
                            reason,
                            use_site,
                        });
                        Part::Text(String::new())
                    }
                }
            }
        })
        .collect()
}

/// One placeholder as a typed expression, or why it names nothing.
fn placeholder(
    cx: &mut Checker,
    path: &[String],
    span: Span,
    scope: &mut Scope,
    recipient: Option<ir::RecordId>,
) -> Result<ir::Expr, String> {
    let Some((root, fields)) = path.split_first() else {
        return Err("is empty".into());
    };
    let mut expr = if root == "event" {
        if !scope.event {
            return Err("names `event`, but this rule is not triggered by an event".into());
        }
        let Some(key) = fields.first() else {
            return Err("names `event` itself; name one of its keys, like `event.form`".into());
        };
        if fields.len() > 1 {
            return Err(format!("goes past `event.{key}`, which is a plain value"));
        }
        return Ok(ir::Expr::new(
            ir::ExprKind::EventField(key.clone()),
            ir::Ty::nullable(Type::Any),
            span,
        ));
    } else if root == "recipient" {
        let Some(record) = recipient else {
            return Err("names `recipient`, but this message is not sent to a record".into());
        };
        ir::Expr::new(
            ir::ExprKind::Var(super::scope::RECIPIENT),
            ir::Ty::new(Type::Record(record)),
            span,
        )
    } else if let Some(var) = scope.lookup(root) {
        ir::Expr::new(ir::ExprKind::Var(var.id), var.ty, span)
    } else {
        let names = scope.names().join("`, `");
        return Err(format!(
            "names `{root}`, which is not in scope here (in scope: `{names}`)"
        ));
    };
    for field in fields {
        let Type::Record(record) = expr.ty.base else {
            return Err(format!(
                "goes past a `{}` value with `.{field}`",
                cx.schema.type_name(expr.ty)
            ));
        };
        let def = cx.schema.record(record);
        let Some(fid) = def.field_named(field) else {
            let suggestion =
                flowc_syntax::suggest::closest(field, def.fields.iter().map(|f| f.name.as_str()));
            let hint = suggestion
                .map(|s| format!(" (did you mean `{s}`?)"))
                .unwrap_or_default();
            return Err(format!(
                "names `{field}`, but `{}` has no such field{hint}",
                def.name
            ));
        };
        let fty = def.fields[fid.index()].ty;
        let ty = fty.with_nullable(fty.nullable || expr.ty.nullable);
        expr = ir::Expr::new(
            ir::ExprKind::Field {
                base: Box::new(expr),
                record,
                field: fid,
            },
            ty,
            span,
        );
    }
    if let Type::Record(r) = expr.ty.base {
        return Err(format!(
            "is a `{}` record, not a value; name one of its fields, like `{{{{{}.{}}}}}`",
            cx.schema.record(r).name,
            path.join("."),
            cx.schema
                .record(r)
                .fields
                .first()
                .map_or("id", |f| f.name.as_str())
        ));
    }
    Ok(expr)
}
