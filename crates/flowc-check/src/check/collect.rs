//! First pass: every declared name gets an id, duplicates are reported.

use super::{Checker, Decls, Input, Problem, TypeDecl};
use crate::ir;
use flowc_syntax::source::Span;
use flowc_syntax::syntax::ast;
use std::collections::HashMap;

pub(crate) fn collect<'a>(cx: &mut Checker, input: &Input<'a>) -> Decls<'a> {
    let mut decls = Decls::default();
    let mut seen = Seen::default();
    for module in &input.modules {
        for item in &module.ast.items {
            match item {
                ast::Item::Timezone(t) => decls.timezones.push(t),
                ast::Item::Sender(s) => decls.senders.push(s),
                ast::Item::Enum(e) => {
                    if !reserved_type(cx, &e.name) && seen.first(cx, "type", &e.name) {
                        let id = ir::EnumId(decls.enums.len() as u32);
                        cx.names
                            .types
                            .insert(e.name.name.clone(), TypeDecl::Enum(id));
                        decls.enums.push(e);
                    }
                }
                ast::Item::Record(r) => {
                    if !reserved_type(cx, &r.name) && seen.first(cx, "type", &r.name) {
                        let id = ir::RecordId(decls.records.len() as u32);
                        cx.names
                            .types
                            .insert(r.name.name.clone(), TypeDecl::Record(id));
                        decls.records.push(r);
                    }
                }
                ast::Item::List(l) => {
                    if seen.first(cx, "list", &l.name) {
                        let id = ir::ListId(decls.lists.len() as u32);
                        cx.names.lists.insert(l.name.name.clone(), id);
                        decls.lists.push(l);
                    }
                }
                ast::Item::Segment(s) => {
                    if seen.first(cx, "segment", &s.name) {
                        let id = ir::SegmentId(decls.segments.len() as u32);
                        cx.names.segments.insert(s.name.name.clone(), id);
                        decls.segments.push(s);
                    }
                }
                ast::Item::Template(t) => {
                    if seen.first(cx, "template", &t.name) {
                        let id = ir::TemplateId(decls.templates.len() as u32);
                        cx.names.templates.insert(t.name.name.clone(), id);
                        decls.templates.push((t, module.file));
                    }
                }
                ast::Item::Calendar(c) => {
                    if seen.first(cx, "calendar", &c.name) {
                        decls.calendars.push((c, module.file));
                    }
                }
                ast::Item::Event(e) => {
                    if seen.first(cx, "event", &e.name) {
                        decls.events.push(e);
                    }
                }
                ast::Item::Form(f) => {
                    if seen.first(cx, "form", &f.name) {
                        decls.forms.push(f);
                    }
                }
                ast::Item::Fn(f) => {
                    // A project may redefine a standard library function.
                    let shadows_stdlib = !module.stdlib
                        && cx
                            .names
                            .functions
                            .get(&f.name.name)
                            .is_some_and(|id| decls.functions[id.index()].1);
                    let primitive = super::builtins::NAMES.contains(&f.name.name.as_str())
                        || ["sum", "count", "avg"].contains(&f.name.name.as_str());
                    if primitive {
                        cx.report(Problem::Reserved {
                            span: f.name.span,
                            message: format!("`{}` is a built-in function", f.name.name),
                            hint: "give your function another name".into(),
                        });
                    } else if shadows_stdlib || seen.first(cx, "function", &f.name) {
                        let id = ir::FnId(decls.functions.len() as u32);
                        cx.names.functions.insert(f.name.name.clone(), id);
                        decls.functions.push((f, module.stdlib));
                    }
                }
                ast::Item::Rule(r) => {
                    if seen.first(cx, "rule", &r.name) {
                        let id = ir::RuleId(decls.rules.len() as u32);
                        cx.names.rules.insert(r.name.name.clone(), id);
                        decls.rules.push(r);
                    }
                }
                ast::Item::Test(t) => decls.tests.push(t),
            }
        }
    }
    decls
}

/// Reports E0114 for a record or enum named like a built-in type.
fn reserved_type(cx: &mut Checker, name: &ast::Ident) -> bool {
    if !super::declare::PRIMITIVE_TYPES.contains(&name.name.as_str()) {
        return false;
    }
    cx.report(Problem::Reserved {
        span: name.span,
        message: format!("`{}` is a built-in type", name.name),
        hint: "give the declaration another name".into(),
    });
    true
}

/// Where each name was first declared, per namespace.
#[derive(Default)]
struct Seen(HashMap<(&'static str, String), Span>);

impl Seen {
    /// Records a declaration; reports E0110 and returns false if the name was
    /// already declared in the same namespace.
    fn first(&mut self, cx: &mut Checker, what: &'static str, name: &ast::Ident) -> bool {
        let key = (what, name.name.clone());
        if let Some(&first) = self.0.get(&key) {
            cx.report(Problem::Duplicate {
                span: name.span,
                what,
                name: name.name.clone(),
                first,
            });
            return false;
        }
        self.0.insert(key, name.span);
        true
    }
}
