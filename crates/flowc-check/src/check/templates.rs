//! Templates as declared: their parts are read (inline or from a file),
//! split into literal pieces and placeholders, and each placeholder parsed
//! once. Placeholders are resolved wherever the template is used
//! ([`super::placeholders`]).

use super::{Checker, Problem, TemplateFileError};
use crate::ir::{self, TemplateKind};
use flowc_syntax::source::{FileId, Span};
use flowc_syntax::syntax::{self, ast};

/// A piece of template text.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Piece {
    Text(String),
    /// `{{ contact.owner.name | or "—" }}`, parsed; `span` covers the braces.
    Placeholder {
        placeholder: Box<ast::Placeholder>,
        span: Span,
    },
    /// A placeholder that failed to parse (already reported): prints nothing.
    Broken,
}

/// A template's parts, split into pieces.
#[derive(Clone, Debug, Default)]
pub(crate) struct TemplateSource {
    pub subject: Vec<Piece>,
    pub body: Vec<Piece>,
    pub html: Option<Vec<Piece>>,
}

/// The parts a template may have, in the order hints list them.
const PARTS: &[&str] = &["subject", "text", "body", "html", "from", "reply_to"];

/// Declares a template: reads its parts (inline or from a file the loader
/// provided) and splits them into pieces.
pub(crate) fn declare(
    cx: &mut Checker,
    decl: &ast::TemplateDecl,
    file: FileId,
) -> (ir::TemplateDef, TemplateSource) {
    let kind = if decl.transactional {
        TemplateKind::Transactional
    } else {
        TemplateKind::Marketing
    };
    let mut source = TemplateSource::default();
    let mut def = ir::TemplateDef {
        name: decl.name.name.clone(),
        kind,
        subject: String::new(),
        body: String::new(),
        html: None,
        from: None,
        reply_to: None,
        span: decl.span,
    };
    // Parts present, by the name they are stored under (`body` is `text`);
    // a part that failed to read still counts as present.
    let mut seen: Vec<(&str, Span)> = Vec::new();
    for field in &decl.fields {
        let key = field.key.name.as_str();
        let Some(part) = PARTS.iter().find(|p| **p == key) else {
            let suggestion = flowc_syntax::suggest::closest(key, PARTS.iter().copied());
            cx.report(Problem::TemplateShape {
                span: field.key.span,
                message: match suggestion {
                    Some(s) => {
                        format!("a template has no part called `{key}` (did you mean `{s}`?)")
                    }
                    None => format!("a template has no part called `{key}`"),
                },
            });
            continue;
        };
        let stored = if *part == "body" { "text" } else { part };
        if seen.iter().any(|(p, _)| *p == stored) {
            cx.report(Problem::TemplateShape {
                span: field.key.span,
                message: if stored == "text" {
                    format!(
                        "the template `{}` has two text parts (`body` is another name for `text`)",
                        decl.name.name
                    )
                } else {
                    format!("the template `{}` has two `{stored}` parts", decl.name.name)
                },
            });
            continue;
        }
        seen.push((stored, field.key.span));
        let Some((text, pieces)) = template_text(cx, &field.value, file) else {
            continue;
        };
        match stored {
            "subject" => {
                if text.contains(['\r', '\n']) {
                    cx.report(Problem::TemplateShape {
                        span: field.span,
                        message: "an email subject must be one line".into(),
                    });
                }
                def.subject = text;
                source.subject = pieces;
            }
            "text" => {
                def.body = text;
                source.body = pieces;
            }
            "html" => {
                def.html = Some(text);
                source.html = Some(pieces);
            }
            _ => {
                if pieces.iter().any(|p| !matches!(p, Piece::Text(_))) {
                    cx.report(Problem::TemplateShape {
                        span: field.span,
                        message: format!("`{stored}` is an address and cannot hold placeholders"),
                    });
                }
                if stored == "from" {
                    def.from = Some(text);
                } else {
                    def.reply_to = Some(text);
                }
            }
        }
    }
    let has = |part: &str| seen.iter().any(|(p, _)| *p == part);
    if !has("subject") {
        cx.report(Problem::TemplateShape {
            span: decl.name.span,
            message: format!("the template `{}` has no subject", decl.name.name),
        });
    }
    if !has("text") {
        match seen.iter().find(|(p, _)| *p == "html") {
            Some((_, html)) => cx.report(Problem::HtmlWithoutText {
                span: *html,
                template: decl.name.name.clone(),
            }),
            None => cx.report(Problem::TemplateShape {
                span: decl.name.span,
                message: format!("the template `{}` has no text", decl.name.name),
            }),
        }
    }
    if kind == TemplateKind::Transactional {
        let parts = [
            Some(&source.subject),
            Some(&source.body),
            source.html.as_ref(),
        ];
        for piece in parts.into_iter().flatten().flatten() {
            if let Piece::Placeholder { placeholder, span } = piece
                && is_unsubscribe_url(&placeholder.expr)
            {
                cx.report(Problem::UnsubscribeInTransactional {
                    span: *span,
                    what: format!("the transactional template `{}`", decl.name.name),
                });
            }
        }
    }
    (def, source)
}

/// `{{unsubscribe_url}}`, written as a bare name.
pub(crate) fn is_unsubscribe_url(expr: &ast::Expr) -> bool {
    matches!(&expr.kind, ast::ExprKind::Name(n) if n.name == "unsubscribe_url")
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
                Err(TemplateFileError::Unreadable(reason)) => {
                    cx.report(Problem::TemplateFile {
                        span: path.span,
                        path: path.value.clone(),
                        reason,
                    });
                    None
                }
                Err(TemplateFileError::NotUtf8 { encoding }) => {
                    cx.report(Problem::TemplateNotUtf8 {
                        span: path.span,
                        path: path.value.clone(),
                        encoding,
                    });
                    None
                }
            }
        }
    }
}

/// Splits text into literal pieces and `{{ … }}` placeholders, each parsed.
/// `escaped`: the text is a literal's source, whose escapes are resolved.
pub(crate) fn split(
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
        let source = if escaped {
            syntax::placeholder_source(inner)
        } else {
            inner.to_string()
        };
        match syntax::parse_placeholder(file, &source, start + 2) {
            Ok(placeholder) => pieces.push(Piece::Placeholder {
                placeholder: Box::new(placeholder),
                span,
            }),
            Err(errors) => {
                for error in errors {
                    cx.report(Problem::PlaceholderSyntax(error));
                }
                pieces.push(Piece::Broken);
            }
        }
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
        syntax::unescape(&literal.replace("\\{{", "{{")).unwrap_or_else(|_| literal.clone())
    } else {
        literal.clone()
    };
    pieces.push(Piece::Text(text));
    literal.clear();
}
