//! The file and its declarations other than rules and tests.

use super::printer::{INDENT, Printer};
use crate::syntax::ast::{
    CalendarDecl, CalendarItem, EnumDecl, EventDecl, FnDecl, FormDecl, Item, Module, RecordDecl,
    SegmentDecl, SenderDecl, TemplateDecl, TemplateText, TypeExpr,
};

impl Printer<'_> {
    /// Prints a whole file.
    pub(super) fn module(mut self, module: &Module) -> String {
        let mut previous: Option<&Item> = None;
        let mut previous_one_line = false;
        for item in &module.items {
            let one_line = self.one_line(item).is_some();
            // Adjacent one-liners of one kind keep the author's grouping;
            // anything else is set apart by a blank line.
            let same_kind =
                previous.is_some_and(|p| std::mem::discriminant(p) == std::mem::discriminant(item));
            if previous.is_some() && !(same_kind && previous_one_line && one_line) {
                self.force_blank = true;
            }
            self.item(item);
            previous = Some(item);
            previous_one_line = one_line;
        }
        self.finish()
    }

    fn item(&mut self, item: &Item) {
        if let Some(line) = self.one_line(item) {
            self.span_line(0, item.span(), &line, true);
            return;
        }
        match item {
            Item::Enum(d) => self.enum_values(d),
            Item::Record(d) => self.record(d),
            Item::Template(d) => self.template(d),
            Item::Sender(d) => self.sender(d),
            Item::Calendar(d) => self.calendar(d),
            Item::Event(d) => self.event(d),
            Item::Form(d) => self.form(d),
            Item::Segment(d) => {
                let head = format!("segment {} of {}", d.name.name, d.of.name);
                self.line(0, (d.span.start, d.of.span.end), &head, true);
                self.clause(INDENT, "where ", &d.condition);
            }
            Item::Fn(d) => {
                self.line(0, (d.span.start, d.ret.span.end), &fn_head(d), true);
                self.clause(INDENT, "", &d.body);
            }
            Item::Rule(d) => self.rule(d),
            Item::Test(d) => self.test(d),
            // One-line declarations were printed above.
            Item::Timezone(_) | Item::List(_) => {}
        }
    }

    /// The declaration on one line, if that is its layout.
    fn one_line(&self, item: &Item) -> Option<String> {
        let line = match item {
            Item::Timezone(d) => format!("timezone {}", self.text(&d.zone.value, d.zone.span)),
            Item::List(d) => format!("list {} of {}", d.name.name, d.of.name),
            Item::Segment(d) => self.flat_segment(d)?,
            Item::Fn(d) => self.flat_fn(d)?,
            Item::Enum(d) => self.flat_enum(d)?,
            Item::Record(d) if d.fields.is_empty() => self.flat_if_quiet(
                d.name.span.end,
                d.span.end,
                format!("record {} {{}}", d.name.name),
            )?,
            Item::Template(d) if d.fields.is_empty() => self.flat_if_quiet(
                d.name.span.end,
                d.span.end,
                format!("{} {{}}", template_head(d)),
            )?,
            Item::Calendar(d) if d.fields.is_empty() => self.flat_if_quiet(
                d.name.span.end,
                d.span.end,
                format!("calendar {} {{}}", d.name.name),
            )?,
            Item::Event(d) => self.flat_event(d)?,
            Item::Sender(d) if d.fields.is_empty() => {
                self.flat_if_quiet(d.span.start, d.span.end, "sender {}".to_string())?
            }
            Item::Form(d) => {
                let line = match &d.redirect {
                    Some(url) => format!(
                        "{} redirect {}",
                        form_head(d),
                        self.text(&url.value, url.span)
                    ),
                    None => form_head(d),
                };
                // A comment inside the head goes above the form in either
                // layout; only one before `redirect` keeps it on its own line.
                self.flat_if_quiet(d.by.span.end, d.span.end, line)?
            }
            _ => return None,
        };
        Some(line)
    }

    /// `line` if it fits and no comment in `from..to` needs a line of its own.
    fn flat_if_quiet(&self, from: u32, to: u32, line: String) -> Option<String> {
        (Printer::fits(0, &line) && !self.has_comment(from, to)).then_some(line)
    }

    fn flat_segment(&self, d: &SegmentDecl) -> Option<String> {
        let line = format!(
            "segment {} of {} where {}",
            d.name.name,
            d.of.name,
            self.expr(&d.condition)
        );
        self.flat_if_quiet(d.of.span.end, d.span.end, line)
    }

    fn flat_fn(&self, d: &FnDecl) -> Option<String> {
        let line = format!("{} {}", fn_head(d), self.expr(&d.body));
        self.flat_if_quiet(d.ret.span.end, d.span.end, line)
    }

    fn flat_enum(&self, d: &EnumDecl) -> Option<String> {
        let values: Vec<String> = d
            .values
            .iter()
            .map(|v| self.text(&v.value, v.span))
            .collect();
        let line = if values.is_empty() {
            format!("enum {} {{}}", d.name.name)
        } else {
            format!("enum {} {{ {} }}", d.name.name, values.join(", "))
        };
        self.flat_if_quiet(d.name.span.end, d.span.end, line)
    }

    fn enum_values(&mut self, d: &EnumDecl) {
        let head = format!("enum {} {{", d.name.name);
        self.line(0, (d.span.start, d.name.span.end), &head, true);
        self.fresh = true;
        for value in &d.values {
            let line = format!("{},", self.text(&value.value, value.span));
            self.span_line(INDENT, value.span, &line, true);
        }
        self.close(d.span.end, INDENT, 0, "}");
    }

    /// A form too long for one line, or with a comment inside: its
    /// `redirect` on a line of its own.
    fn form(&mut self, d: &FormDecl) {
        self.line(0, (d.span.start, d.by.span.end), &form_head(d), true);
        if let Some(url) = &d.redirect {
            let line = format!("redirect {}", self.text(&url.value, url.span));
            self.line(INDENT, (url.span.start, url.span.end), &line, false);
        }
    }

    /// `event paid on invoice { amount: int, note: text? }` when it fits.
    fn flat_event(&self, d: &EventDecl) -> Option<String> {
        let keys: Vec<String> = d
            .keys
            .iter()
            .map(|k| format!("{}: {}", k.name.name, type_expr(&k.ty)))
            .collect();
        let line = if keys.is_empty() {
            format!("{} {{}}", event_head(d))
        } else {
            format!("{} {{ {} }}", event_head(d), keys.join(", "))
        };
        self.flat_if_quiet(d.record.span.end, d.span.end, line)
    }

    /// A declared event too long for one line, or with a comment inside:
    /// one key a line, like a record's fields.
    fn event(&mut self, d: &EventDecl) {
        let head = format!("{} {{", event_head(d));
        self.line(0, (d.span.start, d.record.span.end), &head, true);
        self.fresh = true;
        for key in &d.keys {
            let line = format!("{}: {}", key.name.name, type_expr(&key.ty));
            self.span_line(INDENT, key.span, &line, true);
        }
        self.close(d.span.end, INDENT, 0, "}");
    }

    fn record(&mut self, d: &RecordDecl) {
        let head = format!("record {} {{", d.name.name);
        self.line(0, (d.span.start, d.name.span.end), &head, true);
        self.fresh = true;
        for field in &d.fields {
            let line = format!("{}: {}", field.name.name, type_expr(&field.ty));
            self.span_line(INDENT, field.span, &line, true);
        }
        self.close(d.span.end, INDENT, 0, "}");
    }

    fn sender(&mut self, d: &SenderDecl) {
        // The line stands for the keyword, as a template's for its name.
        let keyword_end = d.span.start + "sender".len() as u32;
        self.line(0, (d.span.start, keyword_end), "sender {", true);
        self.fresh = true;
        for field in &d.fields {
            let value = self.text(&field.value.value, field.value.span);
            let line = format!("{}: {value}", field.key.name);
            self.span_line(INDENT, field.span, &line, true);
        }
        self.close(d.span.end, INDENT, 0, "}");
    }

    fn calendar(&mut self, d: &CalendarDecl) {
        let head = format!("calendar {} {{", d.name.name);
        self.line(0, (d.span.start, d.name.span.end), &head, true);
        self.fresh = true;
        for field in &d.fields {
            let items: Vec<String> = field
                .items
                .iter()
                .map(|item| match item {
                    CalendarItem::Name(name) => name.name.clone(),
                    CalendarItem::File(path) => {
                        format!("file {}", self.text(&path.value, path.span))
                    }
                    CalendarItem::Hours(from, to) => format!(
                        "{} to {}",
                        self.text(&from.value, from.span),
                        self.text(&to.value, to.span)
                    ),
                })
                .collect();
            let line = format!("{}: {}", field.key.name, items.join(", "));
            self.span_line(INDENT, field.span, &line, true);
        }
        self.close(d.span.end, INDENT, 0, "}");
    }

    fn template(&mut self, d: &TemplateDecl) {
        let head = format!("{} {{", template_head(d));
        self.line(0, (d.span.start, d.name.span.end), &head, true);
        self.fresh = true;
        for field in &d.fields {
            let value = match &field.value {
                TemplateText::Inline(text) => self.text(&text.value, text.span),
                TemplateText::File(path) => format!("file {}", self.text(&path.value, path.span)),
            };
            let line = format!("{}: {value}", field.key.name);
            self.span_line(INDENT, field.span, &line, true);
        }
        self.close(d.span.end, INDENT, 0, "}");
    }
}

/// `template name` or `template name transactional`.
fn template_head(d: &TemplateDecl) -> String {
    if d.transactional {
        format!("template {} transactional", d.name.name)
    } else {
        format!("template {}", d.name.name)
    }
}

/// `fn name(a: int, b: text) -> int =`
fn fn_head(d: &FnDecl) -> String {
    let params: Vec<String> = d
        .params
        .iter()
        .map(|p| format!("{}: {}", p.name.name, type_expr(&p.ty)))
        .collect();
    format!(
        "fn {}({}) -> {} =",
        d.name.name,
        params.join(", "),
        type_expr(&d.ret)
    )
}

fn type_expr(ty: &TypeExpr) -> String {
    if ty.nullable {
        format!("{}?", ty.name.name)
    } else {
        ty.name.name.clone()
    }
}

/// `form NAME on RECORD by FIELD`
fn form_head(d: &FormDecl) -> String {
    format!("form {} on {} by {}", d.name.name, d.record.name, d.by.name)
}

/// `event NAME on RECORD`
fn event_head(d: &EventDecl) -> String {
    format!("event {} on {}", d.name.name, d.record.name)
}
