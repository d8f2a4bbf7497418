//! The project's `sender`, and what marketing email needs of it.

use super::{Checker, Problem};
use crate::ir::{SenderDef, TemplateKind};
use flowc_syntax::source::{FileId, Span};
use flowc_syntax::syntax::ast;

const FIELDS: &[&str] = &["from", "reply_to", "postal_address"];

/// Resolves the `sender` declarations (at most one counts) into the schema.
pub(crate) fn declare(cx: &mut Checker, senders: &[&ast::SenderDecl]) {
    let Some((first, rest)) = senders.split_first() else {
        return;
    };
    for again in rest {
        cx.report(Problem::DuplicateSender {
            span: keyword(again),
            first: keyword(first),
        });
    }
    let mut values: Vec<(&str, &ast::SenderField)> = Vec::new();
    for field in &first.fields {
        let key = field.key.name.as_str();
        let Some(known) = FIELDS.iter().find(|f| **f == key) else {
            let hint = flowc_syntax::suggest::closest(key, FIELDS.iter().copied())
                .map(|s| format!(" (did you mean `{s}`?)"))
                .unwrap_or_default();
            cx.report(Problem::SenderShape {
                span: field.key.span,
                message: format!("a sender has no field `{key}`{hint}"),
            });
            continue;
        };
        if values.iter().any(|(k, _)| k == known) {
            cx.report(Problem::SenderShape {
                span: field.key.span,
                message: format!("the sender's `{key}` is given twice"),
            });
            continue;
        }
        values.push((known, field));
    }
    let get = |key: &str| {
        values
            .iter()
            .find(|(k, _)| *k == key)
            .map(|(_, f)| f.value.value.clone())
    };
    for key in ["from", "reply_to"] {
        if let Some((_, field)) = values.iter().find(|(k, _)| *k == key)
            && let Err(why) = mailbox(&field.value.value)
        {
            cx.report(Problem::SenderShape {
                span: field.value.span,
                message: format!("the sender's `{key}` {why}"),
            });
        }
    }
    let Some(from) = get("from") else {
        cx.report(Problem::SenderShape {
            span: keyword(first),
            message: "the sender has no `from`".into(),
        });
        return;
    };
    cx.schema.sender = Some(SenderDef {
        from,
        reply_to: get("reply_to"),
        postal_address: get("postal_address").filter(|a| !a.trim().is_empty()),
        span: first.span,
    });
}

/// Marketing templates need a sender with a postal address: an error when
/// the sender lacks one, one warning when there is no sender at all.
/// `templates` are the declarations, in id order.
pub(crate) fn marketing_needs(
    cx: &mut Checker,
    templates: &[(&ast::TemplateDecl, FileId)],
    had_sender: bool,
) {
    let marketing: Vec<&ast::Ident> = templates
        .iter()
        .zip(&cx.schema.templates)
        .filter(|(_, def)| def.kind == TemplateKind::Marketing)
        .map(|((decl, _), _)| &decl.name)
        .collect();
    let Some(first) = marketing.first() else {
        return;
    };
    let (name, template_span) = (first.name.clone(), first.span);
    match &cx.schema.sender {
        Some(sender) if sender.postal_address.is_none() => {
            cx.report(Problem::NoPostalAddress {
                span: keyword_at(sender.span),
                template: name,
                template_span,
            });
        }
        Some(_) => {}
        // A sender that failed to check was reported already.
        None if had_sender => {}
        None => cx.report(Problem::NoSender {
            span: template_span,
            templates: marketing.len(),
        }),
    }
}

/// Whether `text` reads as a mailbox: `address` or `Name <address>`.
fn mailbox(text: &str) -> Result<(), &'static str> {
    if text.contains(['\r', '\n']) {
        return Err("must be one line");
    }
    let address = match text.split_once('<') {
        Some((_, rest)) => match rest.strip_suffix('>') {
            Some(a) => a,
            None => return Err("opens `<` without closing it with `>` at the end"),
        },
        None => text,
    };
    let address = address.trim();
    match address.split_once('@') {
        Some((local, domain))
            if !local.is_empty() && !domain.is_empty() && !address.contains(' ') =>
        {
            Ok(())
        }
        _ => Err("is not an email address (`sales@example.jp` or `営業部 <sales@example.jp>`)"),
    }
}

/// The `sender` keyword of a declaration: where its diagnostics point.
fn keyword(decl: &ast::SenderDecl) -> Span {
    keyword_at(decl.span)
}

fn keyword_at(span: Span) -> Span {
    let start = span.start as usize;
    Span::new(span.file, start, start + "sender".len())
}
