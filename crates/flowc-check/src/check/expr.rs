//! Typing expressions: AST expressions in a scope → typed IR expressions.

use super::scope::Scope;
use super::{Checker, NameKind, Problem, TypeDecl, builtins, error_expr, nulls};
use crate::ir::{self, CmpType, ExprKind as K, Literal, Ty, Type};
use flowc_syntax::source::Span;
use flowc_syntax::syntax::ast;

pub(super) fn lit(value: Literal, ty: Ty, span: Span) -> ir::Expr {
    ir::Expr::new(K::Lit(value), ty, span)
}

/// How two values compare once unified.
pub(crate) fn cmp_type(base: Type) -> CmpType {
    match base {
        Type::Decimal => CmpType::Decimal,
        Type::Text | Type::Any => CmpType::Text,
        _ => CmpType::Int,
    }
}

pub(super) fn boxed(e: ir::Expr) -> Box<ir::Expr> {
    Box::new(e)
}

impl Checker<'_> {
    /// A condition: a `bool`. A nullable bool counts as false when null,
    /// which the checker points out (W0101).
    pub(crate) fn condition(
        &mut self,
        e: &ast::Expr,
        scope: &mut Scope,
        context: &str,
    ) -> ir::Expr {
        let typed = self.expr(e, scope);
        if typed.ty.nullable && typed.ty.base == Type::Bool {
            self.warn_nullable(e, &typed, scope, "a condition");
        }
        self.coerce(typed, Ty::nullable(Type::Bool), context, None)
    }

    pub(crate) fn expr(&mut self, e: &ast::Expr, scope: &mut Scope) -> ir::Expr {
        use ast::ExprKind as A;
        let span = e.span;
        match &e.kind {
            A::Int(v) => lit(Literal::Int(*v), Ty::INT, span),
            A::Decimal(v) => lit(Literal::Decimal(*v), Ty::DECIMAL, span),
            A::Text(v) => lit(Literal::Text(v.clone()), Ty::TEXT, span),
            A::Bool(v) => lit(Literal::Bool(*v), Ty::BOOL, span),
            A::Null => lit(Literal::Null, Ty::NULL, span),
            A::Date(d) => lit(Literal::Date(*d), Ty::DATE, span),
            // The lowering already rejected impossible datetimes (E0002).
            A::DateTime(text) => {
                match flowc_syntax::time::parse_datetime(text, self.schema.timezone) {
                    Some(t) => lit(Literal::DateTime(t), Ty::DATETIME, span),
                    None => error_expr(span),
                }
            }
            A::Duration(s) => lit(Literal::Duration(*s), Ty::DURATION, span),
            A::Months(_) => {
                self.report(Problem::MonthsWithoutLength {
                    span,
                    hint: super::calendar::MONTHS_HINT.into(),
                });
                error_expr(span)
            }
            A::At { date, time } => self.at_time(date, time, scope, span),
            A::Today => ir::Expr::new(K::Today, Ty::DATE, span),
            A::Now => ir::Expr::new(K::Now, Ty::DATETIME, span),
            A::Name(id) => self.name(id, scope),
            A::Field { base, field } => {
                let base = self.expr(base, scope);
                let mut typed = self.field(base, field, span);
                // `x is not null and …`: x is known to have a value here.
                if typed.ty.nullable && nulls::path(e).is_some_and(|p| scope.not_null.contains(&p))
                {
                    typed.ty.nullable = false;
                }
                typed
            }
            A::Old(field) => self.old(field, scope, span),
            A::EventField(key) => {
                if !scope.event {
                    self.report(Problem::OutOfContext {
                        span,
                        what: format!("`event.{}`", key.name),
                        hint: "`event.KEY` reads the payload of the event that started the run, in rules triggered by `when event …`".into(),
                    });
                    return error_expr(span);
                }
                let untyped = ir::Expr::new(
                    K::EventField(key.name.clone()),
                    Ty::nullable(Type::Any),
                    span,
                );
                match scope.event_decl {
                    Some(event) => super::events::typed_key(self, event, key, untyped),
                    None => untyped,
                }
            }
            A::Neg(inner) => {
                let inner = self.expr(inner, scope);
                match inner.ty.base {
                    Type::Int | Type::Decimal | Type::Duration | Type::Error => {
                        let ty = inner.ty;
                        ir::Expr::new(K::Neg(boxed(inner)), ty, span)
                    }
                    Type::Any => {
                        let inner = self.coerce(
                            inner,
                            Ty::nullable(Type::Decimal),
                            "a negated value",
                            None,
                        );
                        ir::Expr::new(K::Neg(boxed(inner)), Ty::nullable(Type::Decimal), span)
                    }
                    _ => {
                        let found = self.schema.type_name(inner.ty);
                        self.report(Problem::Mismatch {
                            span,
                            context: "a negated value".into(),
                            expected: "int, decimal or duration".into(),
                            found,
                            hint: None,
                        });
                        error_expr(span)
                    }
                }
            }
            A::Not(inner) => {
                let inner = self.condition(inner, scope, "the operand of `not`");
                ir::Expr::new(K::Not(boxed(inner)), Ty::BOOL, span)
            }
            A::Binary { op, left, right } => self.binary(*op, left, right, scope, span),
            A::If {
                condition,
                then,
                otherwise,
            } => {
                let c = self.condition(condition, scope, "an `if` condition");
                let then = self.narrowed(condition, true, then, scope);
                let otherwise = self.narrowed(condition, false, otherwise, scope);
                let nullable = then.ty.nullable || otherwise.ty.nullable;
                let (then, otherwise, base) = self.unify(then, otherwise, "if … then … else", span);
                ir::Expr::new(
                    K::If {
                        condition: boxed(c),
                        then: boxed(then),
                        otherwise: boxed(otherwise),
                    },
                    Ty { base, nullable },
                    span,
                )
            }
            A::ListLit(_) => {
                self.report(Problem::Mismatch {
                    span,
                    context: "a list of values".into(),
                    expected: "used after `in`".into(),
                    found: "a list".into(),
                    hint: Some("`[a, b]` can only follow `in` or `not in`".into()),
                });
                error_expr(span)
            }
            A::Between {
                value,
                low,
                high,
                negated,
            } => {
                let v = self.expr(value, scope);
                if *negated {
                    self.warn_nullable(value, &v, scope, "`not between`");
                }
                let l = self.expr(low, scope);
                let h = self.expr(high, scope);
                let (v, l, _) = self.unify(v, l, "between", span);
                let (v, h, base) = self.unify(v, h, "between", span);
                let (v, l) = if base == Type::Decimal && l.ty.base != Type::Decimal {
                    // `int between decimal and …`: every side must share the type.
                    let l = self.coerce(l, Ty::nullable(base), "a bound", None);
                    (v, l)
                } else {
                    (v, l)
                };
                ir::Expr::new(
                    K::Between {
                        value: boxed(v),
                        low: boxed(l),
                        high: boxed(h),
                        ty: cmp_type(base),
                        negated: *negated,
                    },
                    Ty::BOOL,
                    span,
                )
            }
            A::In {
                value,
                set,
                negated,
            } => self.in_values(value, set, *negated, scope, span),
            A::InList {
                value,
                list,
                negated,
            } => {
                let v = self.expr(value, scope);
                let Some(id) = self.names.lists.get(&list.name).copied() else {
                    let candidates = self.names.lists.keys().cloned().collect();
                    self.unknown(list.span, NameKind::List, &list.name, candidates, None);
                    return error_expr(span);
                };
                let of = self.schema.lists[id.index()].of;
                let declared = self.schema.lists[id.index()].span;
                self.member_of(&v, "list", &list.name, of, declared);
                ir::Expr::new(
                    K::InList {
                        value: boxed(v),
                        list: id,
                        negated: *negated,
                    },
                    Ty::BOOL,
                    span,
                )
            }
            A::InSegment {
                value,
                segment,
                negated,
            } => {
                let v = self.expr(value, scope);
                let Some(id) = self.names.segments.get(&segment.name).copied() else {
                    let candidates = self.names.segments.keys().cloned().collect();
                    self.unknown(
                        segment.span,
                        NameKind::Segment,
                        &segment.name,
                        candidates,
                        None,
                    );
                    return error_expr(span);
                };
                let of = self.schema.segments[id.index()].of;
                let declared = self.schema.segments[id.index()].span;
                self.member_of(&v, "segment", &segment.name, of, declared);
                ir::Expr::new(
                    K::InSegment {
                        value: boxed(v),
                        segment: id,
                        negated: *negated,
                    },
                    Ty::BOOL,
                    span,
                )
            }
            A::Contains {
                text,
                part,
                negated,
            } => {
                let t = self.expr(text, scope);
                if *negated {
                    self.warn_nullable(text, &t, scope, "`not contains`");
                }
                let t = self.coerce(
                    t,
                    Ty::nullable(Type::Text),
                    "the left side of `contains`",
                    None,
                );
                let p = self.expr(part, scope);
                let p = self.coerce(
                    p,
                    Ty::nullable(Type::Text),
                    "the right side of `contains`",
                    None,
                );
                ir::Expr::new(
                    K::Contains {
                        text: boxed(t),
                        part: boxed(p),
                        negated: *negated,
                    },
                    Ty::BOOL,
                    span,
                )
            }
            A::StartsWith { text, prefix } => {
                let t = self.expr(text, scope);
                let t = self.coerce(
                    t,
                    Ty::nullable(Type::Text),
                    "the left side of `starts with`",
                    None,
                );
                let p = self.expr(prefix, scope);
                let p = self.coerce(
                    p,
                    Ty::nullable(Type::Text),
                    "the right side of `starts with`",
                    None,
                );
                ir::Expr::new(
                    K::StartsWith {
                        text: boxed(t),
                        prefix: boxed(p),
                    },
                    Ty::BOOL,
                    span,
                )
            }
            A::IsNull { value, negated } => {
                let v = self.expr(value, scope);
                ir::Expr::new(
                    K::IsNull {
                        value: boxed(v),
                        negated: *negated,
                    },
                    Ty::BOOL,
                    span,
                )
            }
            A::HasTag { value, tag } => {
                let v = self.expr(value, scope);
                self.expect_record(&v, "the value before `has tag`");
                let t = self.expr(tag, scope);
                let t = self.coerce(t, Ty::TEXT, "a tag", None);
                ir::Expr::new(
                    K::HasTag {
                        value: boxed(v),
                        tag: boxed(t),
                    },
                    Ty::BOOL,
                    span,
                )
            }
            A::Unsubscribed { record, negated } => self.unsubscribed(record, *negated, scope, span),
            A::Opened { record, template } | A::Clicked { record, template } => {
                let clicked = matches!(e.kind, A::Clicked { .. });
                let r = self.expr(record, scope);
                self.expect_record(&r, "the value before `opened`/`clicked`");
                let Some(id) = self.template_named(template) else {
                    return error_expr(span);
                };
                ir::Expr::new(
                    K::Engaged {
                        record: boxed(r),
                        template: id,
                        clicked,
                    },
                    Ty::BOOL,
                    span,
                )
            }
            A::Call { function, args } => self.call(function, args, scope, span),
            A::Lookup {
                record,
                field,
                value,
            } => self.lookup(record, field, value, scope, span),
            A::Aggregate {
                function,
                value,
                condition,
            } => super::aggregate::aggregate(self, function, value, condition, scope, span),
        }
    }

    /// Checks `e` with the facts `guard` proves when it is `when`.
    fn narrowed(
        &mut self,
        guard: &ast::Expr,
        when: bool,
        e: &ast::Expr,
        scope: &mut Scope,
    ) -> ir::Expr {
        let facts = nulls::facts(guard, when);
        let before = scope.not_null.len();
        scope.not_null.extend(facts);
        let typed = self.expr(e, scope);
        scope.not_null.truncate(before);
        typed
    }

    pub(crate) fn template_named(&mut self, name: &ast::Ident) -> Option<ir::TemplateId> {
        let id = self.names.templates.get(&name.name).copied();
        if id.is_none() {
            let candidates = self.names.templates.keys().cloned().collect();
            self.unknown(name.span, NameKind::Template, &name.name, candidates, None);
        }
        id
    }

    fn name(&mut self, id: &ast::Ident, scope: &Scope) -> ir::Expr {
        if let Some(var) = scope.lookup(&id.name) {
            return ir::Expr::new(K::Var(var.id), var.ty, id.span);
        }
        let hint = self.name_hint(&id.name, scope);
        self.unknown(id.span, NameKind::Variable, &id.name, scope.names(), hint);
        error_expr(id.span)
    }

    /// Explains a name that is not in scope but means something elsewhere.
    fn name_hint(&self, name: &str, scope: &Scope) -> Option<String> {
        let subject = scope.subject().map(|r| self.schema.record(r));
        if let Some(TypeDecl::Record(target)) = self.names.types.get(name) {
            let subject = subject?;
            let via: Vec<String> = subject
                .fields
                .iter()
                .filter(|f| f.ty.base == Type::Record(*target))
                .map(|f| format!("`{}.{}`", subject.name, f.name))
                .collect();
            return Some(if via.is_empty() {
                format!(
                    "this runs for `{}`, which has no reference to a `{name}`",
                    subject.name
                )
            } else {
                format!(
                    "this runs for `{}`; reach the `{name}` through {}",
                    subject.name,
                    via.join(" or ")
                )
            });
        }
        if let Some(subject) = subject
            && subject.field_named(name).is_some()
        {
            return Some(format!(
                "fields are read through their record: `{}.{name}`",
                subject.name
            ));
        }
        if self.names.lists.contains_key(name) {
            return Some(format!("to test membership, write `RECORD in list {name}`"));
        }
        if self.names.segments.contains_key(name) {
            return Some(format!(
                "to test membership, write `RECORD in segment {name}`"
            ));
        }
        None
    }

    pub(crate) fn field(&mut self, base: ir::Expr, field: &ast::Ident, span: Span) -> ir::Expr {
        let record = match base.ty.base {
            Type::Record(r) => r,
            Type::Error => return error_expr(span),
            _ => {
                let found = self.schema.type_name(base.ty);
                let hint = super::builtins::NAMES
                    .contains(&field.name.as_str())
                    .then(|| {
                        format!(
                            "`{0}` is a function: write `{0}(…)` around the value",
                            field.name
                        )
                    });
                self.report(Problem::NotARecord {
                    span: field.span,
                    found,
                    field: field.name.clone(),
                    hint,
                });
                return error_expr(span);
            }
        };
        if field.name == "id" {
            let ty = Ty {
                base: Type::Int,
                nullable: base.ty.nullable,
            };
            return ir::Expr::new(K::Cast(boxed(base)), ty, span);
        }
        let def = self.schema.record(record);
        let Some(fid) = def.field_named(&field.name) else {
            let fields: Vec<String> = def.fields.iter().map(|f| f.name.clone()).collect();
            let suggestion =
                flowc_syntax::suggest::closest(&field.name, fields.iter().map(String::as_str))
                    .map(str::to_string);
            self.report(Problem::UnknownField {
                span: field.span,
                record: def.name.clone(),
                field: field.name.clone(),
                suggestion,
                fields,
            });
            return error_expr(span);
        };
        let fty = def.fields[fid.index()].ty;
        let ty = fty.with_nullable(fty.nullable || base.ty.nullable);
        ir::Expr::new(
            K::Field {
                base: boxed(base),
                record,
                field: fid,
            },
            ty,
            span,
        )
    }

    fn old(&mut self, field: &ast::Ident, scope: &Scope, span: Span) -> ir::Expr {
        let Some(record) = scope.old else {
            self.report(Problem::OutOfContext {
                span,
                what: format!("`old.{}`", field.name),
                hint: "`old.FIELD` is the value before the change, in rules triggered by `when R.f changes` or `when R is updated`".into(),
            });
            return error_expr(span);
        };
        let subject = ir::Expr::new(K::Var(ir::VarId(0)), Ty::new(Type::Record(record)), span);
        match self.field(subject, field, span) {
            ir::Expr {
                kind: K::Field { record, field, .. },
                ty,
                ..
            } => ir::Expr::new(K::Old { record, field }, ty, span),
            other => other,
        }
    }

    /// `R is [not] unsubscribed`: R must be a record with an `email` field,
    /// the address `send email … to R` would use.
    fn unsubscribed(
        &mut self,
        record: &ast::Expr,
        negated: bool,
        scope: &mut Scope,
        span: Span,
    ) -> ir::Expr {
        let r = self.expr(record, scope);
        let Some(id) = self.expect_record(&r, "the value before `is unsubscribed`") else {
            return error_expr(span);
        };
        let def = self.schema.record(id);
        let Some(email_field) = def.email_field() else {
            let record_name = def.name.clone();
            self.report(Problem::NoEmailToCheck {
                span: record.span,
                record: record_name,
            });
            return error_expr(span);
        };
        ir::Expr::new(
            K::Unsubscribed {
                record: boxed(r),
                email_field,
                negated,
            },
            Ty::BOOL,
            span,
        )
    }

    fn expect_record(&mut self, e: &ir::Expr, context: &str) -> Option<ir::RecordId> {
        match e.ty.base {
            Type::Record(r) => Some(r),
            Type::Error => None,
            _ => {
                let found = self.schema.type_name(e.ty);
                self.report(Problem::Mismatch {
                    span: e.span,
                    context: context.to_string(),
                    expected: "a record".into(),
                    found,
                    hint: None,
                });
                None
            }
        }
    }

    /// Checks that `value` is a record of the list's (or segment's) type.
    fn member_of(
        &mut self,
        value: &ir::Expr,
        what: &'static str,
        name: &str,
        of: ir::RecordId,
        declared: Span,
    ) {
        let Some(found) = self.expect_record(value, &format!("a member of a {what}")) else {
            return;
        };
        if found != of && of.0 != u32::MAX {
            self.report(Problem::WrongListRecord {
                span: value.span,
                what,
                list: name.to_string(),
                list_record: self.schema.record(of).name.clone(),
                found: self.schema.record(found).name.clone(),
                declared,
            });
        }
    }

    pub(crate) fn list_member(
        &mut self,
        value: &ir::Expr,
        list: &ast::Ident,
    ) -> Option<ir::ListId> {
        let Some(id) = self.names.lists.get(&list.name).copied() else {
            let candidates = self.names.lists.keys().cloned().collect();
            self.unknown(list.span, NameKind::List, &list.name, candidates, None);
            return None;
        };
        let of = self.schema.lists[id.index()].of;
        let declared = self.schema.lists[id.index()].span;
        self.member_of(value, "list", &list.name, of, declared);
        Some(id)
    }

    fn call(
        &mut self,
        function: &ast::Ident,
        args: &[ast::Expr],
        scope: &mut Scope,
        span: Span,
    ) -> ir::Expr {
        if let Some(e) = self.business_call(function, args, scope, span) {
            return e;
        }
        let typed: Vec<ir::Expr> = args.iter().map(|a| self.expr(a, scope)).collect();
        if let Some(&id) = self.names.functions.get(&function.name) {
            let sig = self.fns[id.index()].clone();
            if sig.params.len() != typed.len() {
                self.report(Problem::ArgumentCount {
                    span,
                    function: function.name.clone(),
                    expected: sig.params.len(),
                    found: typed.len(),
                });
                return error_expr(span);
            }
            // Functions are strict: a null where a value is needed gives null.
            let mut nullable = sig.ret.nullable;
            let args = typed
                .into_iter()
                .zip(&sig.params)
                .map(|(arg, (pname, pty))| {
                    nullable |= arg.ty.nullable && !pty.nullable;
                    let context = format!("the argument `{pname}` of `{}`", function.name);
                    self.coerce(arg, pty.with_nullable(true), &context, None)
                })
                .collect();
            return ir::Expr::new(
                K::CallFn { function: id, args },
                sig.ret.with_nullable(nullable),
                span,
            );
        }
        if let Some(e) = builtins::call(self, &function.name, typed, span) {
            return e;
        }
        let mut candidates: Vec<String> = self.names.functions.keys().cloned().collect();
        candidates.extend(builtins::NAMES.iter().map(|s| s.to_string()));
        candidates.extend(["sum", "count", "avg"].map(String::from));
        let hint = if matches!(
            self.names.types.get(&function.name),
            Some(TypeDecl::Record(_))
        ) {
            Some(format!(
                "to look a row up, name the field: `{}(email: \"…\")`",
                function.name
            ))
        } else if ["sum", "count", "avg"].contains(&function.name.as_str()) {
            Some(format!(
                "an aggregate names its rows: `{}(line_item.price for line_item.order == order)`",
                function.name
            ))
        } else {
            None
        };
        self.unknown(
            function.span,
            NameKind::Function,
            &function.name,
            candidates,
            hint,
        );
        error_expr(span)
    }

    fn lookup(
        &mut self,
        record: &ast::Ident,
        field: &ast::Ident,
        value: &ast::Expr,
        scope: &mut Scope,
        span: Span,
    ) -> ir::Expr {
        let v = self.expr(value, scope);
        let Some(rid) = super::declare::record_named(self, record) else {
            return error_expr(span);
        };
        let row = ir::Expr::new(
            K::Lit(Literal::Null),
            Ty::new(Type::Record(rid)),
            record.span,
        );
        let K::Field { field: fid, .. } = self.field(row, field, field.span).kind else {
            return error_expr(span);
        };
        let fty = self.schema.field(rid, fid).ty;
        let v = self.coerce(
            v,
            fty.with_nullable(true),
            &format!("the value looked up in `{}.{}`", record.name, field.name),
            None,
        );
        ir::Expr::new(
            K::Lookup {
                record: rid,
                field: fid,
                value: boxed(v),
            },
            Ty::new(Type::Record(rid)),
            span,
        )
    }
}
