//! Second pass: the schema. Types of fields, lists, templates, function
//! signatures and the time zone, all resolved before any expression is read.

use super::{Checker, Decls, FnSig, NameKind, Problem, TypeDecl, error_expr, sender, templates};
use crate::ir::{self, Ty, Type};
use flowc_syntax::syntax::ast;

/// The built-in type names, in the order hints list them.
pub(crate) const PRIMITIVE_TYPES: &[&str] = &[
    "int", "decimal", "text", "bool", "date", "datetime", "duration",
];

pub(crate) fn declare(cx: &mut Checker, decls: &Decls) {
    timezone(cx, decls);
    for e in &decls.enums {
        let mut values: Vec<String> = Vec::new();
        for v in &e.values {
            if values.contains(&v.value) {
                let first = e
                    .values
                    .iter()
                    .find(|w| w.value == v.value)
                    .map_or(v.span, |w| w.span);
                cx.report(Problem::Duplicate {
                    span: v.span,
                    what: "enum value",
                    name: v.value.clone(),
                    first,
                });
            } else {
                values.push(v.value.clone());
            }
        }
        cx.schema.enums.push(ir::EnumDef {
            name: e.name.name.clone(),
            values,
            span: e.span,
        });
    }
    // Records first get their names, so fields can refer to any record.
    for r in &decls.records {
        cx.schema.records.push(ir::RecordDef {
            name: r.name.name.clone(),
            fields: Vec::new(),
            span: r.name.span,
        });
    }
    for (i, r) in decls.records.iter().enumerate() {
        let fields = record_fields(cx, r);
        cx.schema.records[i].fields = fields;
    }
    for l in &decls.lists {
        let of = record_named(cx, &l.of);
        cx.schema.lists.push(ir::ListDef {
            name: l.name.name.clone(),
            of: of.unwrap_or(ir::RecordId(u32::MAX)),
            span: l.span,
        });
    }
    for s in &decls.segments {
        let of = record_named(cx, &s.of);
        cx.schema.segments.push(ir::SegmentDef {
            name: s.name.name.clone(),
            of: of.unwrap_or(ir::RecordId(u32::MAX)),
            condition: error_expr(s.condition.span),
            span: s.span,
        });
    }
    // The sender first: placeholders may name it.
    sender::declare(cx, &decls.senders);
    for (t, file) in &decls.templates {
        let (def, source) = templates::declare(cx, t, *file);
        cx.schema.templates.push(def);
        cx.templates.push(source);
    }
    sender::marketing_needs(cx, &decls.templates, !decls.senders.is_empty());
    for (f, stdlib) in &decls.functions {
        let params = f
            .params
            .iter()
            .map(|p| (p.name.name.clone(), resolve_type(cx, &p.ty)))
            .collect();
        let ret = resolve_type(cx, &f.ret);
        cx.fns.push(FnSig {
            name: f.name.name.clone(),
            params,
            ret,
            stdlib: *stdlib,
        });
    }
}

fn timezone(cx: &mut Checker, decls: &Decls) {
    let mut first: Option<&ast::TimezoneDecl> = None;
    for t in &decls.timezones {
        match first {
            Some(f) if f.zone.value != t.zone.value => {
                cx.report(Problem::ConflictingTimezone {
                    span: t.zone.span,
                    first: f.zone.span,
                });
                continue;
            }
            Some(_) => continue,
            None => first = Some(t),
        }
        match flowc_syntax::time::parse_zone(&t.zone.value) {
            Some(zone) => {
                cx.schema.timezone = zone;
                cx.schema.timezone_declared = true;
            }
            None => {
                let names = chrono_tz::TZ_VARIANTS.iter().map(|z| z.name());
                let suggestion =
                    flowc_syntax::suggest::closest(&t.zone.value, names).map(str::to_string);
                cx.report(Problem::UnknownTimezone {
                    span: t.zone.span,
                    zone: t.zone.value.clone(),
                    suggestion,
                });
            }
        }
    }
}

fn record_fields(cx: &mut Checker, r: &ast::RecordDecl) -> Vec<ir::FieldDef> {
    let mut fields: Vec<ir::FieldDef> = Vec::new();
    for f in &r.fields {
        if f.name.name == "id" {
            cx.report(Problem::Reserved {
                span: f.name.span,
                message: format!("`{}` cannot declare a field named `id`", r.name.name),
                hint:
                    "every record has an implicit `id` (its INTEGER PRIMARY KEY); remove this field"
                        .into(),
            });
            continue;
        }
        if let Some(first) = fields.iter().find(|g| g.name == f.name.name) {
            cx.report(Problem::Duplicate {
                span: f.name.span,
                what: "field",
                name: f.name.name.clone(),
                first: first.span,
            });
            continue;
        }
        let ty = resolve_type(cx, &f.ty);
        fields.push(ir::FieldDef {
            name: f.name.name.clone(),
            ty,
            span: f.name.span,
        });
    }
    fields
}

/// Looks a record up by name, reporting E0102 (or a better hint when the
/// name is an enum) if there is none.
pub(crate) fn record_named(cx: &mut Checker, name: &ast::Ident) -> Option<ir::RecordId> {
    match cx.names.types.get(&name.name) {
        Some(TypeDecl::Record(id)) => Some(*id),
        Some(TypeDecl::Enum(_)) => {
            let hint = format!("`{}` is an enum; only records have rows", name.name);
            cx.unknown(
                name.span,
                NameKind::Record,
                &name.name,
                Vec::new(),
                Some(hint),
            );
            None
        }
        None => {
            let candidates = record_names(cx);
            cx.unknown(name.span, NameKind::Record, &name.name, candidates, None);
            None
        }
    }
}

pub(crate) fn record_names(cx: &Checker) -> Vec<String> {
    cx.schema.records.iter().map(|r| r.name.clone()).collect()
}

/// Resolves a written type; unknown names become `Error` after E0109.
pub(crate) fn resolve_type(cx: &mut Checker, ty: &ast::TypeExpr) -> Ty {
    let base = match ty.name.name.as_str() {
        "int" => Type::Int,
        "decimal" => Type::Decimal,
        "text" => Type::Text,
        "bool" => Type::Bool,
        "date" => Type::Date,
        "datetime" => Type::DateTime,
        "duration" => Type::Duration,
        name => match cx.names.types.get(name) {
            Some(TypeDecl::Enum(e)) => Type::Enum(*e),
            Some(TypeDecl::Record(r)) => Type::Record(*r),
            None => {
                let mut candidates: Vec<String> =
                    PRIMITIVE_TYPES.iter().map(|s| s.to_string()).collect();
                candidates.extend(cx.names.types.keys().cloned());
                let hint = match common_type_alias(name) {
                    Some(t) => format!("flow calls this type `{t}`"),
                    None => format!(
                        "types are {}, or a declared enum or record",
                        PRIMITIVE_TYPES.join(", ")
                    ),
                };
                cx.unknown(ty.name.span, NameKind::Type, name, candidates, Some(hint));
                Type::Error
            }
        },
    };
    Ty {
        base,
        nullable: ty.nullable || base == Type::Error,
    }
}

fn common_type_alias(name: &str) -> Option<&'static str> {
    Some(match name {
        "string" | "str" | "varchar" => "text",
        "integer" | "number" | "long" | "i64" => "int",
        "float" | "double" | "real" | "money" | "numeric" => "decimal",
        "boolean" => "bool",
        "timestamp" | "time" => "datetime",
        "interval" => "duration",
        _ => return None,
    })
}
