//! Approvals as people see them (§9): the approval email a `require
//! approval` step sends the approver (built in, in Japanese and English,
//! text and HTML, unless the project declares an `approval_request`
//! template), and how an approval's record is shown there, on `flowc
//! serve`'s approval page and by `flowc approvals list`: every field by
//! name, its value formatted (`12,000,000円`, `佐藤 (user #2)`).
//!
//! Which fields are money is read from their names (`amount`, `price`,
//! `total`, `売上`…): the schema has no money type.

use super::format::{self, escape_html};
use crate::store::rows::Decoded;
use crate::store::{DbResult, Store};
use chrono::TimeZone;
use chrono_tz::Tz;
use flowc_check::ir::{FieldDef, RecordId, Schema, Type};
use flowc_vm::value::Value;

/// The longest text a field shows before it is cut (`…`).
const LONGEST: usize = 300;

/// One field as shown: its name and its value, formatted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Field {
    pub name: String,
    pub value: String,
}

/// A record as an approval shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Shown {
    pub table: String,
    pub id: i64,
    /// Its name (`name`, `title`… or its first text field), if it has one.
    pub label: Option<String>,
    /// Its `email` field.
    pub email: Option<String>,
    /// Its first money field, formatted (`12,000,000円`).
    pub money: Option<String>,
    /// Every field, in declaration order.
    pub fields: Vec<Field>,
}

impl Shown {
    /// A record that cannot be read (no longer in the rules, or deleted):
    /// its table and id only.
    pub fn bare(table: &str, id: i64) -> Shown {
        Shown {
            table: table.to_string(),
            id,
            label: None,
            email: None,
            money: None,
            fields: Vec::new(),
        }
    }

    /// `opportunity #48 「大型案件」`, on one line.
    pub fn title(&self) -> String {
        match &self.label {
            Some(label) => format!("{} #{} 「{}」", self.table, self.id, one_line(label)),
            None => format!("{} #{}", self.table, self.id),
        }
    }

    /// A person: `田中 (tanaka@example.jp)`, `田中`, `tanaka@example.jp`,
    /// else `user #3`.
    pub fn person(&self) -> String {
        match (&self.label, &self.email) {
            (Some(name), Some(email)) => format!("{} ({})", one_line(name), one_line(email)),
            (Some(name), None) => one_line(name),
            (None, Some(email)) => one_line(email),
            (None, None) => format!("{} #{}", self.table, self.id),
        }
    }

    /// Who decided, as recorded: `田中 <tanaka@example.jp> (user #3)`.
    pub fn decider(&self) -> String {
        let who = format!("{} #{}", self.table, self.id);
        match (&self.label, &self.email) {
            (Some(name), Some(email)) => {
                format!("{} <{}> ({who})", one_line(name), one_line(email))
            }
            (Some(one), None) | (None, Some(one)) => format!("{} ({who})", one_line(one)),
            (None, None) => who,
        }
    }

    /// The key fields on one line: `opportunity #48 "大型案件" 12,000,000円`;
    /// a record without a name shows its first two fields that are set
    /// (`discount_request #1 [opportunity: 大型案件 (opportunity #1), rate: 0.15]`).
    pub fn key_fields(&self) -> String {
        let mut line = format!("{} #{}", self.table, self.id);
        match &self.label {
            Some(label) => {
                line.push_str(&format!(" \"{}\"", one_line(label)));
                if let Some(money) = &self.money {
                    line.push(' ');
                    line.push_str(money);
                }
            }
            None => {
                let first: Vec<String> = self
                    .fields
                    .iter()
                    .filter(|f| f.value != "—")
                    .take(2)
                    .map(|f| format!("{}: {}", f.name, one_line(&f.value)))
                    .collect();
                if !first.is_empty() {
                    line.push_str(&format!(" [{}]", first.join(", ")));
                }
            }
        }
        line
    }
}

/// Text without line breaks or other control characters (a subject, a
/// one-line listing).
pub fn one_line(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect::<String>()
        .trim()
        .to_string()
}

/// Whether a numeric field named `name` holds money (shown as yen).
pub fn is_money(name: &str) -> bool {
    const WORDS: &[&str] = &[
        "amount", "price", "total", "subtotal", "revenue", "budget", "cost", "fee", "fees", "yen",
        "sales", "mrr", "arr", "payment", "paid", "invoice", "salary",
    ];
    const JA: &[&str] = &["金額", "価格", "売上", "予算", "費用", "料金", "単価", "円"];
    let lower = name.to_lowercase();
    lower.split('_').any(|w| WORDS.contains(&w)) || JA.iter().any(|w| name.contains(w))
}

/// A field's name that looks like a name (the record's label), in order
/// of preference.
const LABELS: &[&str] = &[
    "name",
    "title",
    "full_name",
    "display_name",
    "company_name",
    "subject",
    "company",
];

/// A row's name: its `name` (or `title`, …) field, else its first text
/// field other than `email`; `None` when it has none or it is empty.
pub fn label(schema: &Schema, record: RecordId, row: &Decoded) -> Option<String> {
    let def = schema.record(record);
    let text_field = |i: usize| {
        let value = row.row.get(i);
        match value.as_str().map(str::trim) {
            Some(t)
                if !t.is_empty() && row.problem(flowc_check::ir::FieldId(i as u32)).is_none() =>
            {
                Some(t.to_string())
            }
            _ => None,
        }
    };
    let is_text = |f: &FieldDef| f.ty.base == Type::Text;
    for wanted in LABELS {
        if let Some(i) = def
            .fields
            .iter()
            .position(|f| f.name == *wanted && is_text(f))
            && let Some(t) = text_field(i)
        {
            return Some(t);
        }
    }
    def.fields
        .iter()
        .enumerate()
        .filter(|(_, f)| is_text(f) && f.name != "email")
        .find_map(|(i, _)| text_field(i))
}

/// A record's row as shown: every field formatted; references by the
/// name `label_of` finds for the row they point to (`佐藤 (user #2)`).
pub fn show(
    schema: &Schema,
    record: RecordId,
    row: &Decoded,
    mut label_of: impl FnMut(RecordId, i64) -> Option<String>,
) -> Shown {
    let def = schema.record(record);
    let mut fields = Vec::with_capacity(def.fields.len());
    let mut money = None;
    let mut email = None;
    for (i, field) in def.fields.iter().enumerate() {
        let value = row.row.get(i);
        let shown = match row.problem(flowc_check::ir::FieldId(i as u32)) {
            Some(problem) => format!("(unreadable: {problem})"),
            None => value_text(schema, field, &value, &mut label_of),
        };
        if money.is_none()
            && is_money(&field.name)
            && matches!(value, Value::Int(_) | Value::Decimal(_))
        {
            money = Some(shown.clone());
        }
        if field.name == "email"
            && let Some(address) = value.as_str().map(str::trim).filter(|a| !a.is_empty())
        {
            email = Some(address.to_string());
        }
        fields.push(Field {
            name: field.name.clone(),
            value: shown,
        });
    }
    Shown {
        table: def.name.clone(),
        id: row.row.id,
        label: label(schema, record, row),
        email,
        money,
        fields,
    }
}

/// One field's value as shown: null as `—`, money as yen, other numbers
/// with thousands separators, dates as `2025-04-01`, times as
/// `2025-04-01 09:00` in the project's zone, enums by name, references by
/// the name of the row (`佐藤 (user #2)`), long texts cut.
pub fn value_text(
    schema: &Schema,
    field: &FieldDef,
    value: &Value,
    label_of: &mut impl FnMut(RecordId, i64) -> Option<String>,
) -> String {
    let plain = |v: &Value| v.to_text(field.ty.base, schema).unwrap_or_default();
    match (value, field.ty.base) {
        (Value::Null, _) => "—".into(),
        (Value::Int(_) | Value::Decimal(_), _) if is_money(&field.name) => {
            format::yen(value).unwrap_or_else(|| plain(value))
        }
        (Value::Int(_), _) if is_code(&field.name) => plain(value),
        (Value::Int(_) | Value::Decimal(_), _) => {
            format::number(value).unwrap_or_else(|| plain(value))
        }
        (Value::DateTime(t), _) => when(*t, schema.timezone),
        (Value::Ref(id), Type::Record(r)) => {
            let table = &schema.record(r).name;
            match label_of(r, *id) {
                Some(name) => format!("{} ({table} #{id})", one_line(&name)),
                None => format!("{table} #{id}"),
            }
        }
        (Value::Text(t), _) => {
            let t: &str = t;
            if t.chars().count() > LONGEST {
                let cut: String = t.chars().take(LONGEST).collect();
                format!("{cut}…")
            } else {
                t.to_string()
            }
        }
        _ => plain(value),
    }
}

/// Whether an int field named `name` is a number that is not a quantity
/// (a year, a code): shown without separators.
fn is_code(name: &str) -> bool {
    let lower = name.to_lowercase();
    lower == "id"
        || lower.ends_with("_id")
        || lower.split('_').any(|w| {
            matches!(
                w,
                "year" | "code" | "zip" | "postal" | "phone" | "tel" | "no" | "number"
            )
        })
}

/// An engine time as people read it: `2025-04-01 09:00` in `zone`,
/// rounded to the nearest minute (the demo's days end at 08:59:59, which
/// shows as 09:00, not 08:59), the same in the approval email, its page and
/// `flowc approvals`.
pub fn when(t: i64, zone: Tz) -> String {
    let minute = t
        .div_euclid(60)
        .saturating_add(i64::from(t.rem_euclid(60) >= 30));
    match chrono::Utc.timestamp_opt(minute.saturating_mul(60), 0) {
        chrono::LocalResult::Single(at) => {
            at.with_timezone(&zone).format("%Y-%m-%d %H:%M").to_string()
        }
        _ => t.to_string(),
    }
}

/// Row `id` of the record called `table`, as shown, read through `store`
/// with `schema`; `None` when the rules have no such record or the row is
/// gone.
pub fn load(store: &dyn Store, schema: &Schema, table: &str, id: i64) -> DbResult<Option<Shown>> {
    let Some(record) = schema.record_named(table) else {
        return Ok(None);
    };
    let query = store.row_query(schema.record(record));
    let Some(row) = store.load_row(&query, schema, record, id)? else {
        return Ok(None);
    };
    let label_of = |r: RecordId, id: i64| {
        let query = store.row_query(schema.record(r));
        store
            .load_row(&query, schema, r, id)
            .ok()
            .flatten()
            .and_then(|row| label(schema, r, &row))
    };
    Ok(Some(show(schema, record, &row, label_of)))
}

/// What the built-in approval email says.
#[derive(Clone, Copy, Debug)]
pub struct Request<'a> {
    pub approval: i64,
    pub rule: &'a str,
    /// The approver's name, for the greeting.
    pub approver: Option<&'a str>,
    /// The run's subject record.
    pub subject: &'a Shown,
    /// `PUBLIC/a/TOKEN`; `None` without `--public-url`: the email says to
    /// use `flowc approvals` instead.
    pub url: Option<&'a str>,
    /// When it was requested, as people read it.
    pub requested_at: &'a str,
}

impl Request<'_> {
    /// `承認のお願い / Approval requested: opportunity #48 「大型案件」`.
    pub fn subject_line(&self) -> String {
        one_line(&format!(
            "承認のお願い / Approval requested: {}",
            self.subject.title()
        ))
    }

    /// The plain-text part.
    pub fn text(&self) -> String {
        let mut out = String::new();
        if let Some(name) = self.approver.map(one_line).filter(|n| !n.is_empty()) {
            out.push_str(&format!("{name} 様 / Dear {name},\n\n"));
        }
        let table = &self.subject.table;
        out.push_str(&format!(
            "ルール {rule} が、次の {table} の承認をお待ちしています。\n\
             The rule {rule} is waiting for your approval of this {table}.\n\n",
            rule = self.rule
        ));
        out.push_str(&self.subject.title());
        out.push('\n');
        for field in &self.subject.fields {
            out.push_str(&format!(
                "  {}: {}\n",
                field.name,
                field.value.replace('\n', "\n    ")
            ));
        }
        out.push('\n');
        match self.url {
            Some(url) => {
                out.push_str("承認または却下はこちらから / Approve or reject here:\n");
                out.push_str(url);
                out.push_str(
                    "\n\nリンクを開いただけでは決まりません。ページのボタンでお決めください。\n\
                     Opening the link decides nothing: choose on the page.\n",
                );
            }
            None => {
                let id = self.approval;
                out.push_str(&format!(
                    "承認または却下は flowc のコマンドで / Approve or reject with flowc:\n\
                     \x20 flowc approvals --db DATABASE approve {id}\n\
                     \x20 flowc approvals --db DATABASE reject {id} --note \"理由 / why\"\n"
                ));
            }
        }
        out.push_str(&format!(
            "\n承認依頼 #{id} ({at})\nApproval #{id}, requested {at}\n",
            id = self.approval,
            at = self.requested_at
        ));
        out
    }

    /// The HTML part: everything shown is escaped.
    pub fn html(&self) -> String {
        let e = escape_html;
        let mut out = String::from(
            "<!DOCTYPE html>\n<html lang=\"ja\">\n<head><meta charset=\"utf-8\"></head>\n\
             <body style=\"font-family:sans-serif;line-height:1.6;color:#222222\">\n",
        );
        if let Some(name) = self.approver.map(one_line).filter(|n| !n.is_empty()) {
            out.push_str(&format!("<p>{0} 様 / Dear {0},</p>\n", e(&name)));
        }
        let (rule, table) = (e(self.rule), e(&self.subject.table));
        out.push_str(&format!(
            "<p>ルール <b>{rule}</b> が、次の {table} の承認をお待ちしています。<br>\n\
             The rule <b>{rule}</b> is waiting for your approval of this {table}.</p>\n"
        ));
        out.push_str(&format!(
            "<h2 style=\"font-size:16px\">{}</h2>\n",
            e(&self.subject.title())
        ));
        out.push_str("<table cellpadding=\"4\" style=\"border-collapse:collapse\">\n");
        for field in &self.subject.fields {
            out.push_str(&format!(
                "<tr><th align=\"left\" style=\"color:#555555;font-weight:normal\">{}</th><td>{}</td></tr>\n",
                e(&field.name),
                e(&field.value)
            ));
        }
        out.push_str("</table>\n");
        match self.url {
            Some(url) => {
                let url = e(url);
                out.push_str(&format!(
                    "<p><a href=\"{url}\" style=\"display:inline-block;padding:8px 20px;background:#1a5fb4;\
                     color:#ffffff;text-decoration:none;border-radius:4px\">承認または却下 / Approve or reject</a></p>\n\
                     <p style=\"font-size:12px;color:#666666\">{url}<br>\n\
                     リンクを開いただけでは決まりません。ページのボタンでお決めください。<br>\n\
                     Opening the link decides nothing: choose on the page.</p>\n"
                ));
            }
            None => {
                let id = self.approval;
                out.push_str(&format!(
                    "<p>承認または却下は flowc のコマンドで / Approve or reject with flowc:</p>\n\
                     <pre>flowc approvals --db DATABASE approve {id}\n\
                     flowc approvals --db DATABASE reject {id} --note \"理由 / why\"</pre>\n"
                ));
            }
        }
        out.push_str(&format!(
            "<p style=\"font-size:12px;color:#666666\">承認依頼 #{id} ({at})<br>\n\
             Approval #{id}, requested {at}</p>\n</body>\n</html>\n",
            id = self.approval,
            at = e(self.requested_at)
        ));
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Times show in the zone, rounded to the nearest minute (before:
    /// 08:59:59 showed as 08:59).
    #[test]
    fn times_show_in_the_zone_rounded_to_the_minute() {
        let tokyo = chrono_tz::Asia::Tokyo;
        // 2025-04-01 09:00:00 in Tokyo.
        let nine = 1_743_465_600;
        assert_eq!(when(nine - 1, tokyo), "2025-04-01 09:00");
        assert_eq!(when(nine, tokyo), "2025-04-01 09:00");
        assert_eq!(when(nine + 29, tokyo), "2025-04-01 09:00");
        assert_eq!(when(nine + 30, tokyo), "2025-04-01 09:01");
        assert_eq!(when(nine - 31, tokyo), "2025-04-01 08:59");
        assert_eq!(when(nine, chrono_tz::Tz::UTC), "2025-04-01 00:00");
    }

    #[test]
    fn money_is_told_by_its_name() {
        for name in [
            "amount",
            "total_price",
            "annual_revenue",
            "fee",
            "金額",
            "売上高",
        ] {
            assert!(is_money(name), "{name}");
        }
        for name in ["employees", "rate", "stage", "amounts_count_x", "feedback"] {
            assert!(!is_money(name), "{name}");
        }
        assert!(is_code("year") && is_code("owner_id") && is_code("zip_code"));
        assert!(!is_code("employees"));
    }

    fn shown() -> Shown {
        Shown {
            table: "opportunity".into(),
            id: 48,
            label: Some("<script>大型\n案件</script>".into()),
            email: None,
            money: Some("12,000,000円".into()),
            fields: vec![
                Field {
                    name: "name".into(),
                    value: "<script>大型\n案件</script>".into(),
                },
                Field {
                    name: "amount".into(),
                    value: "12,000,000円".into(),
                },
            ],
        }
    }

    #[test]
    fn the_email_lists_the_fields_and_escapes_them_in_html() {
        let subject = shown();
        let request = Request {
            approval: 3,
            rule: "discount_approval",
            approver: Some("田中"),
            subject: &subject,
            url: Some("https://flow.example.jp/a/abc?x=1&y=2"),
            requested_at: "2025-04-01 09:00",
        };
        let line = request.subject_line();
        assert!(!line.contains('\n'), "{line}");
        assert!(line.contains("opportunity #48"), "{line}");
        let text = request.text();
        assert!(text.starts_with("田中 様 / Dear 田中,"), "{text}");
        assert!(text.contains("  amount: 12,000,000円\n"), "{text}");
        assert!(
            text.contains("https://flow.example.jp/a/abc?x=1&y=2\n"),
            "{text}"
        );
        let html = request.html();
        assert!(!html.contains("<script>"), "{html}");
        assert!(html.contains("&lt;script&gt;大型"), "{html}");
        assert!(
            html.contains("href=\"https://flow.example.jp/a/abc?x=1&amp;y=2\""),
            "{html}"
        );
        let without = Request {
            url: None,
            ..request
        };
        assert!(
            without
                .text()
                .contains("flowc approvals --db DATABASE approve 3"),
            "{}",
            without.text()
        );
    }

    #[test]
    fn people_and_key_fields_read_on_one_line() {
        let mut s = shown();
        assert_eq!(
            s.key_fields(),
            "opportunity #48 \"<script>大型 案件</script>\" 12,000,000円"
        );
        s.label = Some("田中".into());
        s.email = Some("tanaka@example.jp".into());
        assert_eq!(s.person(), "田中 (tanaka@example.jp)");
        assert_eq!(s.decider(), "田中 <tanaka@example.jp> (opportunity #48)");
        assert_eq!(Shown::bare("user", 3).person(), "user #3");
        assert_eq!(
            when(1_743_465_600, chrono_tz::Asia::Tokyo),
            "2025-04-01 09:00"
        );
    }
}
