//! Calendars (DESIGN §11): the `calendar` declaration, the business-day
//! functions, `wait N business days|hours` and `send during`.
//!
//! A calendar becomes an [`ir::CalendarDef`] in the schema: its weekends,
//! its holidays as dates (the national holidays and those of its files,
//! read by the loader like template files and embedded here) and its hours.
//! The functions and waits name it by index, as an int literal argument.

use super::expr::lit;
use super::scope::Scope;
use super::{Checker, NameKind, Problem, TemplateFileError, error_expr};
use crate::ir::{self, Builtin, CalendarDef, ExprKind as K, Literal, Ty, Type};
use flowc_syntax::source::{FileId, Span};
use flowc_syntax::syntax::ast::{self, BusinessUnit, CalendarItem};

const WEEKDAYS: [&str; 7] = [
    "monday",
    "tuesday",
    "wednesday",
    "thursday",
    "friday",
    "saturday",
    "sunday",
];

/// The built-in holiday sets a calendar may name.
const HOLIDAY_SETS: [&str; 1] = ["japan"];

/// The calendar the business-day functions use when none is named.
pub(super) const DEFAULT_CALENDAR: &str = "business";

/// The functions that count on a calendar, with their arguments before the
/// optional calendar.
const FUNCTIONS: [(&str, usize); 3] = [
    ("is_business_day", 1),
    ("next_business_day", 1),
    ("add_business_days", 2),
];

const DECLARE_HINT: &str = "declare it: `calendar business { weekends: saturday, sunday  holidays: japan  hours: \"09:00\" to \"18:00\" }`";

impl Checker<'_> {
    /// Every calendar of the project, in order, into the schema.
    pub(super) fn declare_calendars(&mut self, decls: &[(&ast::CalendarDecl, FileId)]) {
        for (decl, file) in decls {
            let calendar = self.calendar(decl, *file);
            self.schema.calendars.push(calendar);
        }
    }

    fn calendar(&mut self, decl: &ast::CalendarDecl, file: FileId) -> CalendarDef {
        let mut calendar = CalendarDef {
            name: decl.name.name.clone(),
            ..CalendarDef::default()
        };
        let mut seen: Vec<&str> = Vec::new();
        for field in &decl.fields {
            let key = field.key.name.as_str();
            if seen.contains(&key) {
                self.shape(
                    field.key.span,
                    format!("`{key}` is given twice"),
                    "give each key once, with its items separated by commas",
                );
                continue;
            }
            seen.push(key);
            match key {
                "weekends" => calendar.weekends = self.weekends(field),
                "holidays" => self.holidays(field, file, &mut calendar.holidays),
                "hours" => calendar.hours = self.hours(field),
                _ => {
                    let hint = match flowc_syntax::suggest::closest(
                        key,
                        ["weekends", "holidays", "hours"],
                    ) {
                        Some(s) => format!(
                            "did you mean `{s}`? A calendar has `weekends`, `holidays` and `hours`"
                        ),
                        None => "a calendar has `weekends`, `holidays` and `hours`".into(),
                    };
                    self.shape(field.key.span, format!("a calendar has no `{key}`"), &hint);
                }
            }
        }
        if calendar.weekends == 0b111_1111 {
            self.shape(
                decl.name.span,
                format!("every day is a weekend in `{}`", decl.name.name),
                "leave at least one weekday open",
            );
        }
        calendar.holidays.sort_unstable();
        calendar.holidays.dedup();
        calendar
    }

    fn shape(&mut self, span: Span, message: String, hint: &str) {
        self.report(Problem::CalendarShape {
            span,
            message,
            hint: hint.to_string(),
        });
    }

    /// `weekends: saturday, sunday` → the closed weekdays' bits.
    fn weekends(&mut self, field: &ast::CalendarField) -> u8 {
        let mut bits = 0u8;
        for item in &field.items {
            match item {
                CalendarItem::Name(name) => match WEEKDAYS.iter().position(|w| *w == name.name) {
                    Some(i) => bits |= 1 << i,
                    None => self.report(Problem::UnknownWeekday {
                        span: name.span,
                        name: name.name.clone(),
                        suggestion: flowc_syntax::suggest::closest(&name.name, WEEKDAYS)
                            .map(str::to_string),
                    }),
                },
                _ => self.shape(
                    field.span,
                    "`weekends` names weekdays".into(),
                    "write `weekends: saturday, sunday`",
                ),
            }
        }
        bits
    }

    /// `holidays: japan, file "h.txt"` → the dates, appended to `out`.
    fn holidays(&mut self, field: &ast::CalendarField, file: FileId, out: &mut Vec<i32>) {
        for item in &field.items {
            match item {
                CalendarItem::Name(name) if HOLIDAY_SETS.contains(&name.name.as_str()) => {
                    out.extend(crate::holidays::japan().into_iter().map(|(d, _)| d));
                }
                CalendarItem::Name(name) => self.shape(
                    name.span,
                    format!("flowc has no holidays called `{}`", name.name),
                    "the built-in holidays are `japan` (Japan's national holidays); list others in a file: `holidays: japan, file \"company_holidays.txt\"` with one YYYY-MM-DD per line",
                ),
                CalendarItem::File(path) => self.holiday_file(file, path, out),
                CalendarItem::Hours(..) => self.shape(field.span, "`holidays` names holiday sets and files".into(), "write `holidays: japan, file \"company_holidays.txt\"`"),
            }
        }
    }

    fn holiday_file(&mut self, file: FileId, path: &ast::Text, out: &mut Vec<i32>) {
        let loaded = match self.template_file(file, &path.value) {
            Ok(id) => id,
            Err(e) => {
                let reason = match e {
                    TemplateFileError::Unreadable(why) => why,
                    TemplateFileError::NotUtf8 { encoding } => match encoding {
                        Some(enc) => {
                            format!("it is not UTF-8 (it looks like {enc}); save it as UTF-8")
                        }
                        None => "it is not UTF-8; save it as UTF-8".into(),
                    },
                };
                self.report(Problem::HolidayFile {
                    span: path.span,
                    path: path.value.clone(),
                    reason,
                });
                return;
            }
        };
        let text = self.sources.file(loaded).text.clone();
        for (n, line) in text.lines().enumerate() {
            let date = line.split('#').next().unwrap_or("").trim();
            if date.is_empty() {
                continue;
            }
            match flowc_syntax::time::parse_date(date) {
                Some(day) => out.push(day),
                None => {
                    self.report(Problem::HolidayFileLine {
                        span: path.span,
                        path: path.value.clone(),
                        line: n + 1,
                        text: line.trim().to_string(),
                    });
                    return;
                }
            }
        }
    }

    /// `hours: "09:00" to "18:00"` → seconds after midnight.
    fn hours(&mut self, field: &ast::CalendarField) -> Option<(u32, u32)> {
        let [CalendarItem::Hours(from, to)] = field.items.as_slice() else {
            self.report(Problem::BadHours {
                span: field.span,
                message: "`hours` is one range of the day".into(),
            });
            return None;
        };
        let mut time = |t: &ast::Text| match flowc_syntax::time::parse_time_of_day(&t.value) {
            Some(s) => Some(s),
            None => {
                self.report(Problem::BadHours {
                    span: t.span,
                    message: format!("\"{}\" is not a time of day", t.value),
                });
                None
            }
        };
        let (from_s, to_s) = (time(from), time(to));
        let (from_s, to_s) = (from_s?, to_s?);
        if from_s >= to_s {
            self.report(Problem::BadHours {
                span: field.span,
                message: format!(
                    "the hours end (\"{}\") before they start (\"{}\")",
                    to.value, from.value
                ),
            });
            return None;
        }
        Some((from_s, to_s))
    }

    /// The calendar called `name`, or E0116.
    pub(super) fn calendar_named(&mut self, name: &str, span: Span) -> Option<usize> {
        if let Some(i) = self.schema.calendars.iter().position(|c| c.name == name) {
            return Some(i);
        }
        let names = self
            .schema
            .calendars
            .iter()
            .map(|c| c.name.clone())
            .collect();
        let hint = (name == DEFAULT_CALENDAR).then(|| DECLARE_HINT.to_string());
        self.unknown(span, NameKind::Calendar, name, names, hint);
        None
    }

    /// `is_business_day(d)`, `next_business_day(d)`, `add_business_days(d,
    /// n)`, each with an optional calendar name last. `None` when `name` is
    /// not one of them, or for `add_business_days(d, n)` in a project
    /// without a `business` calendar (the standard library's Monday to
    /// Friday version answers).
    pub(super) fn business_call(
        &mut self,
        function: &ast::Ident,
        args: &[ast::Expr],
        scope: &mut Scope,
        span: Span,
    ) -> Option<ir::Expr> {
        let &(name, arity) = FUNCTIONS.iter().find(|(n, _)| *n == function.name)?;
        let user_defined = self
            .names
            .functions
            .get(name)
            .is_some_and(|id| !self.fns[id.index()].stdlib);
        if user_defined {
            return None;
        }
        let (values, calendar) = match args {
            [values @ .., last] if args.len() == arity + 1 => match &last.kind {
                ast::ExprKind::Name(id) => (values, Some((id.name.as_str(), id.span))),
                _ => {
                    self.report(Problem::Mismatch {
                        span: last.span,
                        context: format!("the last argument of `{name}`"),
                        expected: "a calendar's name".into(),
                        found: "an expression".into(),
                        hint: Some(format!("name a calendar: `{name}(…, business)`")),
                    });
                    return Some(error_expr(span));
                }
            },
            _ => (args, None),
        };
        if values.len() != arity {
            self.report(Problem::ArgumentCount {
                span,
                function: name.to_string(),
                expected: arity,
                found: args.len(),
            });
            return Some(error_expr(span));
        }
        let index = match calendar {
            Some((cal, cal_span)) => self.calendar_named(cal, cal_span),
            None if name == "add_business_days"
                && !self
                    .schema
                    .calendars
                    .iter()
                    .any(|c| c.name == DEFAULT_CALENDAR) =>
            {
                return None;
            }
            None => self.calendar_named(DEFAULT_CALENDAR, function.span),
        };
        let mut typed: Vec<ir::Expr> = values.iter().map(|a| self.expr(a, scope)).collect();
        let Some(index) = index else {
            return Some(error_expr(span));
        };
        let mut nullable = false;
        let context = format!("the argument of `{name}`");
        let date = self.coerce(typed.remove(0), Ty::nullable(Type::Date), &context, None);
        nullable |= date.ty.nullable;
        let mut call_args = vec![date];
        if let Some(n) = typed.pop() {
            let n = self.coerce(n, Ty::nullable(Type::Int), &context, None);
            nullable |= n.ty.nullable;
            call_args.push(n);
        }
        call_args.push(calendar_arg(index, span));
        let (function, ret) = match name {
            "is_business_day" => (Builtin::IsBusinessDay, Type::Bool),
            "next_business_day" => (Builtin::NextBusinessDay, Type::Date),
            _ => (Builtin::AddBusinessDays, Type::Date),
        };
        Some(ir::Expr::new(
            K::Call {
                function,
                args: call_args,
            },
            Ty {
                base: ret,
                nullable,
            },
            span,
        ))
    }

    /// `wait 3 business days` / `wait 4 business hours`: a wait until the
    /// instant counted from `now` on the calendar.
    pub(super) fn business_wait(
        &mut self,
        amount: i64,
        computed: Option<ir::Expr>,
        calendar: &ast::Ident,
        unit: BusinessUnit,
        span: Span,
    ) -> ir::Wait {
        let Some(index) = self.calendar_named(&calendar.name, calendar.span) else {
            return ir::Wait::UntilTime {
                time: error_expr(span),
            };
        };
        let (function, count) = match unit {
            BusinessUnit::Days => (Builtin::AddBusinessDays, Some(amount)),
            BusinessUnit::Hours => {
                if self.schema.calendars[index].hours.is_none() {
                    self.report(Problem::NoBusinessHours {
                        span,
                        calendar: calendar.name.clone(),
                    });
                }
                (Builtin::AddBusinessSeconds, amount.checked_mul(3600))
            }
        };
        let Some(count) = count else {
            self.report(Problem::BadInterval {
                span,
                what: "a business wait",
            });
            return ir::Wait::UntilTime {
                time: error_expr(span),
            };
        };
        let now = ir::Expr::new(K::Now, Ty::DATETIME, span);
        let count = match computed {
            // `wait (EXPR) business …`: evaluated as the wait starts.
            Some(e) if unit == BusinessUnit::Hours => ir::Expr::new(
                K::Arith {
                    op: ir::ArithOp::Mul(ir::Num::Int),
                    left: Box::new(e),
                    right: Box::new(lit(Literal::Int(3600), Ty::INT, span)),
                },
                Ty::INT,
                span,
            ),
            Some(e) => e,
            None => lit(Literal::Int(count), Ty::INT, span),
        };
        let time = ir::Expr::new(
            K::Call {
                function,
                args: vec![now, count, calendar_arg(index, span)],
            },
            Ty::nullable(Type::DateTime),
            span,
        );
        ir::Wait::UntilTime { time }
    }

    /// `send during CALENDAR`.
    pub(super) fn send_during(&mut self, calendar: &ast::Ident) -> Option<usize> {
        self.calendar_named(&calendar.name, calendar.span)
    }
}

/// A calendar's index as the int literal a business builtin takes last.
fn calendar_arg(index: usize, span: Span) -> ir::Expr {
    lit(Literal::Int(index as i64), Ty::INT, span)
}
