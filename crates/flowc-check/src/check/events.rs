//! Declared events: `event paid on invoice { amount: int, note: text? }`.
//! Their keys type `event.KEY` in the rules they trigger and the payloads
//! of tests' `event` steps; an event used without a declaration stays
//! untyped, with a warning (W0105) unless flowc itself records it.

use super::scope::Scope;
use super::{Checker, Problem, error_expr};
use crate::ir::{self, ExprKind as K, Type};
use flowc_syntax::source::Span;
use flowc_syntax::syntax::ast;

/// Events that flowc and `flowc serve` record themselves (`email_sent` on
/// delivery, `email_opened` / `email_clicked` from tracking, `unsubscribed`
/// from the opt-out page, `form_submitted` from forms): using them
/// undeclared is not worth a warning.
pub(crate) const BUILT_IN_EVENTS: &[&str] = &[
    "email_sent",
    "email_opened",
    "email_clicked",
    "unsubscribed",
    "form_submitted",
];

/// Resolves every `event` declaration into `Schema::events`: its record
/// (an unknown one is E0102) and each key's type (E0109); a key declared
/// twice is E0110.
pub(crate) fn declare_events(cx: &mut Checker, decls: &[&ast::EventDecl]) {
    for decl in decls {
        let Some(record) = super::declare::record_named(cx, &decl.record) else {
            // Its uses are not "undeclared": the declaration is just wrong.
            cx.broken.insert(decl.name.name.clone());
            continue;
        };
        let mut keys: Vec<ir::EventKey> = Vec::new();
        for key in &decl.keys {
            if let Some(first) = keys.iter().find(|k| k.name == key.name.name) {
                cx.report(Problem::Duplicate {
                    span: key.name.span,
                    what: "event key",
                    name: key.name.name.clone(),
                    first: first.span,
                });
                continue;
            }
            let ty = super::declare::resolve_type(cx, &key.ty);
            keys.push(ir::EventKey {
                name: key.name.name.clone(),
                ty,
                span: key.name.span,
            });
        }
        cx.schema.events.push(ir::EventDef {
            name: decl.name.name.clone(),
            record,
            keys,
            span: decl.name.span,
        });
    }
}

/// `when event NAME on R`: the declaration that types `event.KEY` in the
/// rule. E0218 when it is declared on another record; W0105 when it is not
/// declared at all (and not one flowc records itself).
pub(crate) fn trigger(
    cx: &mut Checker,
    name: &ast::Ident,
    record: &ast::Ident,
    subject: ir::RecordId,
) -> Option<usize> {
    let Some(index) = cx.schema.events.iter().position(|e| e.name == name.name) else {
        if !BUILT_IN_EVENTS.contains(&name.name.as_str()) && !cx.broken.contains(&name.name) {
            cx.report(Problem::UndeclaredEvent {
                span: name.span,
                event: name.name.clone(),
                record: record.name.clone(),
            });
        }
        return None;
    };
    on_declared_record(cx, index, record.span, subject);
    Some(index)
}

/// E0218 unless the event is declared on `subject`'s record.
fn on_declared_record(cx: &mut Checker, index: usize, span: Span, subject: ir::RecordId) {
    let def = &cx.schema.events[index];
    if def.record != subject {
        let problem = Problem::EventRecord {
            span,
            event: def.name.clone(),
            declared_record: cx.schema.record(def.record).name.clone(),
            found: cx.schema.record(subject).name.clone(),
            declared: def.span,
        };
        cx.report(problem);
    }
}

/// `event.KEY` in a rule triggered by declared event number `event`: the
/// payload value converted to the key's type (nullable for `KEY: T?`), or
/// E0117 with the closest key.
pub(crate) fn typed_key(
    cx: &mut Checker,
    event: usize,
    key: &ast::Ident,
    untyped: ir::Expr,
) -> ir::Expr {
    let def = &cx.schema.events[event];
    match def.key_named(&key.name) {
        Some(k) if k.ty.base == Type::Error => error_expr(untyped.span),
        Some(k) => {
            let (ty, span) = (k.ty, untyped.span);
            ir::Expr::new(K::Cast(Box::new(untyped)), ty, span)
        }
        None => {
            unknown_key(cx, event, key);
            error_expr(untyped.span)
        }
    }
}

fn unknown_key(cx: &mut Checker, event: usize, key: &ast::Ident) {
    let def = &cx.schema.events[event];
    let keys: Vec<String> = def.keys.iter().map(|k| k.name.clone()).collect();
    let suggestion = flowc_syntax::suggest::closest(&key.name, keys.iter().map(String::as_str))
        .map(str::to_string);
    let problem = Problem::UnknownEventKey {
        span: key.span,
        event: def.name.clone(),
        key: key.name.clone(),
        suggestion,
        keys,
    };
    cx.report(problem);
}

/// A test's `event NAME on x { key: value, … }`: each value typed; for a
/// declared event, checked against the declaration (E0117 an unknown key,
/// E0203 a value of the wrong type, E0118 a missing required key, E0218
/// another record) and converted to the key's type.
pub(crate) fn test_payload(
    cx: &mut Checker,
    name: &ast::Ident,
    record: ir::RecordId,
    data: &[ast::FieldValue],
    scope: &mut Scope,
    span: Span,
) -> Vec<(String, ir::Expr)> {
    let declared = cx.schema.events.iter().position(|e| e.name == name.name);
    let Some(index) = declared else {
        return data
            .iter()
            .map(|fv| (fv.field.name.clone(), cx.expr(&fv.value, scope)))
            .collect();
    };
    on_declared_record(cx, index, name.span, record);
    let mut typed = Vec::with_capacity(data.len());
    for fv in data {
        let value = cx.expr(&fv.value, scope);
        let key = cx.schema.events[index].key_named(&fv.field.name).cloned();
        let value = match key {
            Some(k) => {
                let context = format!("the key `{}` of event `{}`", k.name, name.name);
                cx.coerce(value, k.ty, &context, None)
            }
            None => {
                unknown_key(cx, index, &fv.field);
                value
            }
        };
        typed.push((fv.field.name.clone(), value));
    }
    let def = &cx.schema.events[index];
    let missing: Vec<String> = def
        .keys
        .iter()
        .filter(|k| !k.ty.nullable && !data.iter().any(|fv| fv.field.name == k.name))
        .map(|k| k.name.clone())
        .collect();
    if !missing.is_empty() {
        let problem = Problem::MissingEventKeys {
            span,
            event: def.name.clone(),
            keys: missing,
        };
        cx.report(problem);
    }
    typed
}
