//! A message's parts as text: placeholder values written with their
//! formats (§8), into plain text ([`render_text`]) or into HTML, escaped
//! ([`render_html`]). Pure functions: the caller evaluates expressions.
//!
//! The formats:
//!
//! - `| yen`: an int or decimal as whole yen with thousands separators,
//!   `12,000,000円`; a decimal is rounded half away from zero (四捨五入, as
//!   Japanese invoices round), so `1234.5` is `1,235円` and `-0.5` is `-1円`.
//! - `| number`: thousands separators, decimals kept as they are:
//!   `12,000,000`, `1,234.5`.
//! - `| date_ja`: `2025年8月1日`; a datetime shows its date in the project's
//!   time zone.
//! - `| date "PATTERN"`: `YYYY` year, `MM` / `M` month with / without a
//!   leading zero, `DD` / `D` day, `HH` hour (24-hour), `mm` minute, `曜` the
//!   weekday in Japanese (月 … 日); everything else is printed as written.
//! - `| or "TEXT"`: TEXT when the value is null, else the value as usual.
//!
//! Without a format, or when a value does not fit its format (data that
//! changed type), a value prints as its plain text; null prints nothing.

use chrono::{Datelike, TimeZone, Timelike, Utc};
use chrono_tz::Tz;
use flowc_check::ir::{DatePattern, DatePiece, Expr, Format, Part, Schema, Type};
use flowc_vm::value::Value;

/// What rendering needs besides the values of the expressions.
#[derive(Clone, Copy, Debug)]
pub struct Render<'a> {
    pub schema: &'a Schema,
    /// What `{{unsubscribe_url}}` becomes in this message.
    pub unsubscribe_url: &'a str,
    /// What `{{approval_url}}` becomes (the approval email only).
    pub approval_url: &'a str,
}

/// The parts as plain text (a subject, a text part, a task's title).
pub fn render_text<E>(
    parts: &[Part],
    cx: &Render,
    eval: impl FnMut(&Expr) -> Result<Value, E>,
) -> Result<String, E> {
    render(parts, cx, eval, false)
}

/// The parts of an HTML part: literal pieces are the template's markup,
/// kept as written; every value, the opt-out link included, is escaped.
pub fn render_html<E>(
    parts: &[Part],
    cx: &Render,
    eval: impl FnMut(&Expr) -> Result<Value, E>,
) -> Result<String, E> {
    render(parts, cx, eval, true)
}

fn render<E>(
    parts: &[Part],
    cx: &Render,
    mut eval: impl FnMut(&Expr) -> Result<Value, E>,
    html: bool,
) -> Result<String, E> {
    let mut out = String::new();
    for part in parts {
        let value = match part {
            Part::Text(t) => {
                out.push_str(t);
                continue;
            }
            Part::Value { expr, format } => {
                let value = eval(expr)?;
                format_value(&value, expr.ty.base, format.as_ref(), cx.schema)
            }
            Part::UnsubscribeUrl => cx.unsubscribe_url.to_string(),
            Part::ApprovalUrl => cx.approval_url.to_string(),
        };
        if html {
            out.push_str(&escape_html(&value));
        } else {
            out.push_str(&value);
        }
    }
    Ok(out)
}

/// One value as a placeholder prints it: `ty` is its type (for enum
/// values), `format` what the placeholder asks for.
pub fn format_value(value: &Value, ty: Type, format: Option<&Format>, schema: &Schema) -> String {
    let zone = schema.timezone;
    let formatted = match format {
        None => None,
        Some(Format::Or(text)) if value.is_null() => return text.clone(),
        Some(Format::Or(_)) => None,
        Some(Format::Yen) => yen(value),
        Some(Format::Number) => number(value),
        Some(Format::DateJa) => date_ja(value, zone),
        Some(Format::Date(pattern)) => date_pattern(value, pattern, zone),
    };
    formatted
        .or_else(|| value.to_text(ty, schema))
        .unwrap_or_default()
}

/// `12,000,000円`; `None` unless an int or a finite decimal.
pub fn yen(value: &Value) -> Option<String> {
    let digits = match value {
        Value::Int(v) => v.to_string(),
        Value::Decimal(v) if v.is_finite() => {
            // `round` is half away from zero; `+ 0.0` turns -0 into 0.
            format!("{:.0}", v.round() + 0.0)
        }
        _ => return None,
    };
    Some(format!("{}円", group(&digits)))
}

/// `12,000,000`, `1,234.5`; `None` unless an int or a finite decimal.
pub fn number(value: &Value) -> Option<String> {
    let text = match value {
        Value::Int(v) => v.to_string(),
        // Display never uses an exponent, and gives the shortest digits
        // that read back the same number.
        Value::Decimal(v) if v.is_finite() => format!("{}", v + 0.0),
        _ => return None,
    };
    Some(match text.split_once('.') {
        Some((whole, fraction)) => format!("{}.{fraction}", group(whole)),
        None => group(&text),
    })
}

/// `2025年8月1日`; `None` unless a date or a datetime.
pub fn date_ja(value: &Value, zone: Tz) -> Option<String> {
    let t = Local::of(value, zone)?;
    Some(format!("{}年{}月{}日", t.year, t.month, t.day))
}

/// The value through a `| date "…"` pattern; `None` unless a date or a
/// datetime.
pub fn date_pattern(value: &Value, pattern: &DatePattern, zone: Tz) -> Option<String> {
    let t = Local::of(value, zone)?;
    let mut out = String::new();
    for piece in &pattern.pieces {
        match piece {
            DatePiece::Literal(text) => out.push_str(text),
            DatePiece::Year => out.push_str(&format!("{:04}", t.year)),
            DatePiece::Month2 => out.push_str(&format!("{:02}", t.month)),
            DatePiece::Month => out.push_str(&t.month.to_string()),
            DatePiece::Day2 => out.push_str(&format!("{:02}", t.day)),
            DatePiece::Day => out.push_str(&t.day.to_string()),
            DatePiece::Hour2 => out.push_str(&format!("{:02}", t.hour)),
            DatePiece::Minute2 => out.push_str(&format!("{:02}", t.minute)),
            DatePiece::WeekdayJa => {
                const DAYS: [&str; 7] = ["月", "火", "水", "木", "金", "土", "日"];
                out.push_str(DAYS[t.weekday as usize]);
            }
        }
    }
    Some(out)
}

/// The opt-out footer of a marketing message that does not place
/// `{{unsubscribe_url}}` itself (§8): the sender's name and postal address
/// and the opt-out link, or, without one, how to opt out by reply.
#[derive(Clone, Copy, Debug)]
pub struct Footer<'a> {
    pub name: Option<&'a str>,
    pub postal_address: Option<&'a str>,
    /// The https opt-out link (`--public-url`).
    pub link: Option<&'a str>,
    /// Where an opt-out by reply goes.
    pub opt_out: Option<&'a str>,
}

impl Footer<'_> {
    /// The footer's lines, as plain text.
    fn lines(&self) -> Vec<(String, Option<&str>)> {
        let mut lines: Vec<(String, Option<&str>)> = Vec::new();
        for line in [self.name, self.postal_address].into_iter().flatten() {
            lines.push((line.trim().to_string(), None));
        }
        match (self.link, self.opt_out) {
            (Some(link), _) => {
                lines.push(("配信停止はこちら: ".to_string(), Some(link)));
                lines.push(("Unsubscribe: ".to_string(), Some(link)));
            }
            (None, Some(address)) => {
                lines.push((
                    format!(
                        "配信停止をご希望の方は、件名を「unsubscribe」として {address} 宛にご返信ください。"
                    ),
                    None,
                ));
                lines.push((
                    format!(
                        "To unsubscribe, reply to this email ({address}) with the subject \"unsubscribe\"."
                    ),
                    None,
                ));
            }
            (None, None) => {
                lines.push((
                    "配信停止をご希望の方は、件名を「unsubscribe」としてこのメールにご返信ください。"
                        .to_string(),
                    None,
                ));
                lines.push((
                    "To unsubscribe, reply to this email with the subject \"unsubscribe\"."
                        .to_string(),
                    None,
                ));
            }
        }
        lines
    }

    /// Appends the footer to a text part, after a `-- ` separator line.
    pub fn append_text(&self, text: &mut String) {
        if !text.is_empty() && !text.ends_with('\n') {
            text.push('\n');
        }
        text.push_str("\n-- \n");
        for (line, link) in self.lines() {
            text.push_str(&line);
            if let Some(link) = link {
                text.push_str(link);
            }
            text.push('\n');
        }
    }

    /// Appends the footer to an HTML part, everything escaped: before its
    /// `</body>` when it has one, else at the end.
    pub fn append_html(&self, html: &mut String) {
        let mut footer = String::from(
            "<hr>\n<p class=\"flowc-footer\" style=\"font-size:12px;color:#666666\">\n",
        );
        let lines = self.lines();
        for (i, (line, link)) in lines.iter().enumerate() {
            footer.push_str(&escape_html(line));
            if let Some(link) = link {
                let link = escape_html(link);
                footer.push_str(&format!("<a href=\"{link}\">{link}</a>"));
            }
            footer.push_str(if i + 1 < lines.len() { "<br>\n" } else { "\n" });
        }
        footer.push_str("</p>\n");
        let at = html.to_ascii_lowercase().rfind("</body>");
        match at {
            Some(at) => html.insert_str(at, &footer),
            None => {
                if !html.is_empty() && !html.ends_with('\n') {
                    html.push('\n');
                }
                html.push_str(&footer);
            }
        }
    }
}

/// Text made safe for HTML, in element content and in quoted attributes.
pub fn escape_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

/// Digits with a comma every three from the right, sign kept: `-1,234`.
fn group(digits: &str) -> String {
    let (sign, digits) = match digits.strip_prefix('-') {
        Some(rest) => ("-", rest),
        None => ("", digits),
    };
    let mut out = String::with_capacity(digits.len() + digits.len() / 3 + 1);
    out.push_str(sign);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// A date, or a datetime seen in the project's zone.
struct Local {
    year: i32,
    month: u32,
    day: u32,
    hour: u32,
    minute: u32,
    /// Days from Monday (0) to Sunday (6).
    weekday: u32,
}

impl Local {
    fn of(value: &Value, zone: Tz) -> Option<Local> {
        match value {
            Value::Date(days) => {
                let d = flowc_syntax::time::days_to_date(*days)?;
                Some(Local {
                    year: d.year(),
                    month: d.month(),
                    day: d.day(),
                    hour: 0,
                    minute: 0,
                    weekday: d.weekday().num_days_from_monday(),
                })
            }
            Value::DateTime(t) => {
                let dt = Utc.timestamp_opt(*t, 0).single()?.with_timezone(&zone);
                Some(Local {
                    year: dt.year(),
                    month: dt.month(),
                    day: dt.day(),
                    hour: dt.hour(),
                    minute: dt.minute(),
                    weekday: dt.weekday().num_days_from_monday(),
                })
            }
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use flowc_check::ir::{self, ExprKind, Literal, Ty};
    use flowc_syntax::source::{FileId, Span};

    fn date(text: &str) -> Value {
        Value::Date(flowc_syntax::time::parse_date(text).expect("a date"))
    }

    fn tokyo() -> Schema {
        Schema {
            timezone: chrono_tz::Asia::Tokyo,
            ..Schema::default()
        }
    }

    #[test]
    fn formats_against_a_table_of_values() {
        let schema = tokyo();
        let pattern = |p: &str| Format::Date(DatePattern::parse(p));
        // 2025-12-31T15:00:00Z is 2026-01-01 00:00 in Tokyo.
        let new_year_in_tokyo = Value::DateTime(1_767_193_200);
        let cases: Vec<(Value, Type, Format, &str)> = vec![
            (Value::Int(0), Type::Int, Format::Yen, "0円"),
            (
                Value::Int(12_000_000),
                Type::Int,
                Format::Yen,
                "12,000,000円",
            ),
            (Value::Int(-12_000), Type::Int, Format::Yen, "-12,000円"),
            (Value::Int(999), Type::Int, Format::Yen, "999円"),
            (Value::Int(1000), Type::Int, Format::Yen, "1,000円"),
            (
                Value::Int(i64::MAX),
                Type::Int,
                Format::Yen,
                "9,223,372,036,854,775,807円",
            ),
            (
                Value::Int(i64::MIN),
                Type::Int,
                Format::Yen,
                "-9,223,372,036,854,775,808円",
            ),
            (
                Value::Decimal(1234.5),
                Type::Decimal,
                Format::Yen,
                "1,235円",
            ),
            (
                Value::Decimal(1234.49),
                Type::Decimal,
                Format::Yen,
                "1,234円",
            ),
            (
                Value::Decimal(-1234.5),
                Type::Decimal,
                Format::Yen,
                "-1,235円",
            ),
            (Value::Decimal(-0.4), Type::Decimal, Format::Yen, "0円"),
            (Value::Decimal(0.5), Type::Decimal, Format::Yen, "1円"),
            (
                Value::Decimal(1e20),
                Type::Decimal,
                Format::Yen,
                "100,000,000,000,000,000,000円",
            ),
            (Value::Null, Type::Int, Format::Yen, ""),
            (Value::Int(0), Type::Int, Format::Number, "0"),
            (
                Value::Int(-1_234_567),
                Type::Int,
                Format::Number,
                "-1,234,567",
            ),
            (
                Value::Int(i64::MAX),
                Type::Int,
                Format::Number,
                "9,223,372,036,854,775,807",
            ),
            (
                Value::Decimal(1234.5),
                Type::Decimal,
                Format::Number,
                "1,234.5",
            ),
            (
                Value::Decimal(-1234567.25),
                Type::Decimal,
                Format::Number,
                "-1,234,567.25",
            ),
            (
                Value::Decimal(0.125),
                Type::Decimal,
                Format::Number,
                "0.125",
            ),
            (Value::Decimal(-0.0), Type::Decimal, Format::Number, "0"),
            (Value::Decimal(3.0), Type::Decimal, Format::Number, "3"),
            (Value::Null, Type::Decimal, Format::Number, ""),
            (
                date("2025-08-01"),
                Type::Date,
                Format::DateJa,
                "2025年8月1日",
            ),
            (
                date("2025-01-31"),
                Type::Date,
                Format::DateJa,
                "2025年1月31日",
            ),
            (
                date("2024-02-29"),
                Type::Date,
                Format::DateJa,
                "2024年2月29日",
            ),
            (
                date("2025-12-31"),
                Type::Date,
                Format::DateJa,
                "2025年12月31日",
            ),
            (
                date("2026-01-01"),
                Type::Date,
                Format::DateJa,
                "2026年1月1日",
            ),
            (
                new_year_in_tokyo.clone(),
                Type::DateTime,
                Format::DateJa,
                "2026年1月1日",
            ),
            (Value::Null, Type::Date, Format::DateJa, ""),
            (
                date("2025-08-01"),
                Type::Date,
                pattern("YYYY/MM/DD"),
                "2025/08/01",
            ),
            (
                date("2025-08-01"),
                Type::Date,
                pattern("M月D日（曜）"),
                "8月1日（金）",
            ),
            (
                date("2025-12-31"),
                Type::Date,
                pattern("YYYY-MM-DD 曜"),
                "2025-12-31 水",
            ),
            (
                date("2025-03-09"),
                Type::Date,
                pattern("D.M.YYYY"),
                "9.3.2025",
            ),
            (
                new_year_in_tokyo.clone(),
                Type::DateTime,
                pattern("YYYY/MM/DD HH:mm"),
                "2026/01/01 00:00",
            ),
            (
                Value::DateTime(1_767_193_200 - 60),
                Type::DateTime,
                pattern("YYYY年M月D日 HH時mm分"),
                "2025年12月31日 23時59分",
            ),
            (Value::Null, Type::Text, Format::Or("—".into()), "—"),
            (
                Value::text("あり"),
                Type::Text,
                Format::Or("—".into()),
                "あり",
            ),
            (Value::Int(5), Type::Int, Format::Or("—".into()), "5"),
            (Value::Null, Type::Date, Format::Or("未定".into()), "未定"),
            // A value that does not fit its format prints plainly.
            (Value::text("x"), Type::Text, Format::Yen, "x"),
        ];
        for (value, ty, format, expected) in cases {
            assert_eq!(
                format_value(&value, ty, Some(&format), &schema),
                expected,
                "{value:?} | {format:?}"
            );
        }
        assert_eq!(
            format_value(&Value::Int(1000), Type::Int, None, &schema),
            "1000"
        );
        assert_eq!(format_value(&Value::Null, Type::Int, None, &schema), "");
    }

    #[test]
    fn datetimes_are_read_in_the_project_zone() {
        let utc = Schema::default();
        let t = Value::DateTime(1_767_193_200);
        assert_eq!(date_ja(&t, utc.timezone).as_deref(), Some("2025年12月31日"));
        assert_eq!(
            date_ja(&t, tokyo().timezone).as_deref(),
            Some("2026年1月1日")
        );
    }

    fn lit(value: Literal, ty: Ty) -> Expr {
        Expr::new(ExprKind::Lit(value), ty, Span::new(FileId(0), 0, 0))
    }

    fn eval(e: &Expr) -> Result<Value, ()> {
        Ok(match &e.kind {
            ExprKind::Lit(Literal::Text(t)) => Value::text(t),
            ExprKind::Lit(Literal::Int(i)) => Value::Int(*i),
            _ => Value::Null,
        })
    }

    #[test]
    fn html_escapes_values_but_not_markup() {
        let name = "<b>&\"'</b>";
        let parts = vec![
            Part::Text("<p>".into()),
            Part::Value {
                expr: lit(Literal::Text(name.into()), Ty::TEXT),
                format: None,
            },
            Part::Text(" ".into()),
            Part::Value {
                expr: lit(Literal::Int(1_500_000), Ty::INT),
                format: Some(ir::Format::Yen),
            },
            Part::Text(" <a href=\"".into()),
            Part::UnsubscribeUrl,
            Part::Text("\">配信停止</a></p>".into()),
        ];
        let schema = tokyo();
        let cx = Render {
            schema: &schema,
            unsubscribe_url: "https://x.jp/u/a?b=1&c=2",
            approval_url: "",
        };
        assert_eq!(
            render_html(&parts, &cx, eval),
            Ok("<p>&lt;b&gt;&amp;&quot;&#39;&lt;/b&gt; 1,500,000円 \
                <a href=\"https://x.jp/u/a?b=1&amp;c=2\">配信停止</a></p>"
                .to_string())
        );
        assert_eq!(
            render_text(&parts, &cx, eval),
            Ok(format!(
                "<p>{name} 1,500,000円 <a href=\"https://x.jp/u/a?b=1&c=2\">配信停止</a></p>"
            ))
        );
    }
}
