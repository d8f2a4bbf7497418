//! `form NAME on RECORD by FIELD redirect "URL"`: the record and field
//! must exist (E0102, E0101), the field must be one a form can match
//! (E0515), the redirect an absolute http(s) URL (E0514), and a declared
//! `event form_submitted` must be on the form's record (E0220).

use super::{Checker, NameKind, Problem, TypeDecl};
use crate::ir::{self, Type};
use flowc_syntax::syntax::ast;

pub(crate) fn check_forms(cx: &mut Checker, decls: &[&ast::FormDecl]) -> Vec<ir::FormDef> {
    decls.iter().filter_map(|d| check_form(cx, d)).collect()
}

fn check_form(cx: &mut Checker, d: &ast::FormDecl) -> Option<ir::FormDef> {
    let redirect = d.redirect.as_ref().and_then(|url| {
        if absolute_http_url(&url.value) {
            Some(url.value.clone())
        } else {
            cx.report(Problem::FormRedirect {
                span: url.span,
                url: url.value.clone(),
            });
            None
        }
    });
    let record = match cx.names.types.get(&d.record.name).copied() {
        Some(TypeDecl::Record(r)) => r,
        _ => {
            let records = cx.schema.records.iter().map(|r| r.name.clone()).collect();
            cx.unknown(
                d.record.span,
                NameKind::Record,
                &d.record.name,
                records,
                None,
            );
            return None;
        }
    };
    let def = cx.schema.record(record);
    if d.by.name == "id" {
        // Every record has an id, but a form must not find rows by it:
        // anyone could post any id and change that row.
        cx.report(Problem::FormByType {
            span: d.by.span,
            record: def.name.clone(),
            field: "id".into(),
            ty: "id".into(),
        });
        return None;
    }
    let Some(by_field) = def.field_named(&d.by.name) else {
        let fields: Vec<String> = def.fields.iter().map(|f| f.name.clone()).collect();
        let suggestion =
            flowc_syntax::suggest::closest(&d.by.name, fields.iter().map(String::as_str))
                .map(str::to_string);
        let record_name = def.name.clone();
        cx.report(Problem::UnknownField {
            span: d.by.span,
            record: record_name,
            field: d.by.name.clone(),
            suggestion,
            fields,
        });
        return None;
    };
    let ty = def.fields[by_field.index()].ty;
    if !matches!(ty.base, Type::Text | Type::Int | Type::Date | Type::Enum(_)) {
        let problem = Problem::FormByType {
            span: d.by.span,
            record: def.name.clone(),
            field: d.by.name.clone(),
            ty: cx.schema.type_name(ty),
        };
        cx.report(problem);
        return None;
    }
    if let Some(event) = cx.schema.events.iter().find(|e| e.name == "form_submitted")
        && event.record != record
    {
        let problem = Problem::FormEventRecord {
            span: d.record.span,
            form: d.name.name.clone(),
            record: d.record.name.clone(),
            declared_record: cx.schema.record(event.record).name.clone(),
            declared: event.span,
        };
        cx.report(problem);
    }
    Some(ir::FormDef {
        name: d.name.name.clone(),
        record,
        by_field,
        redirect,
        span: d.span,
    })
}

/// `https://host/…` or `http://host/…` with a host and no whitespace.
fn absolute_http_url(url: &str) -> bool {
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"));
    let Some(rest) = rest else {
        return false;
    };
    let host = rest.split(['/', '?', '#']).next().unwrap_or("");
    !host.is_empty()
        && !url
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || c == '"' || c == '<' || c == '>')
}

#[cfg(test)]
mod tests {
    use super::absolute_http_url;

    #[test]
    fn absolute_urls() {
        assert!(absolute_http_url("https://example.jp/thanks"));
        assert!(absolute_http_url("http://localhost:8080"));
        assert!(!absolute_http_url("/thanks"));
        assert!(!absolute_http_url("https:///thanks"));
        assert!(!absolute_http_url("javascript:alert(1)"));
        assert!(!absolute_http_url("https://example.jp/a b"));
        assert!(!absolute_http_url("ftp://example.jp/"));
    }
}
