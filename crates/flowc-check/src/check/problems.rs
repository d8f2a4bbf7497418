//! Everything the checker can find wrong, as data, and how each reads.
//!
//! Each variant's doc comment gives its code and the smallest text that
//! produces it; that text is the variant's golden test in `tests/check/`.

use flowc_syntax::diagnostic::{Diagnostic, Label};
use flowc_syntax::source::Span;
use flowc_syntax::syntax::SyntaxError;

/// What kind of name could not be found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NameKind {
    Record,
    List,
    Segment,
    Template,
    Function,
    Type,
    Variable,
    Rule,
    Calendar,
}

impl NameKind {
    fn noun(self) -> &'static str {
        match self {
            NameKind::Record => "record",
            NameKind::List => "list",
            NameKind::Segment => "segment",
            NameKind::Template => "template",
            NameKind::Function => "function",
            NameKind::Type => "type",
            NameKind::Variable => "name",
            NameKind::Rule => "rule",
            NameKind::Calendar => "calendar",
        }
    }

    fn code(self) -> &'static str {
        match self {
            NameKind::Record => "E0102",
            NameKind::List => "E0103",
            NameKind::Template => "E0104",
            NameKind::Function => "E0105",
            NameKind::Variable => "E0107",
            NameKind::Segment => "E0108",
            NameKind::Type => "E0109",
            NameKind::Rule => "E0115",
            NameKind::Calendar => "E0116",
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub enum Problem {
    /// E0101. `record r { a: int }  segment s of r where r.b > 1`
    UnknownField {
        span: Span,
        record: String,
        field: String,
        suggestion: Option<String>,
        fields: Vec<String>,
    },
    /// E0102 record, E0103 list, E0104 template, E0105 function, E0107 name,
    /// E0108 segment, E0109 type, E0115 rule, E0116 calendar
    /// (`wait 3 busines days`; `is_business_day(d)` without `calendar business`).
    /// `record r { a: contact }`
    UnknownName {
        span: Span,
        kind: NameKind,
        name: String,
        suggestion: Option<String>,
        hint: Option<String>,
    },
    /// E0106. `enum s { "a" }  record r { x: s }  segment g of r where r.x == "b"`
    UnknownEnumValue {
        span: Span,
        enum_name: String,
        value: String,
        suggestion: Option<String>,
        values: Vec<String>,
    },
    /// E0121. `notify role "manger"` when `user.role` is an enum without
    /// that value.
    UnknownRole {
        span: Span,
        enum_name: String,
        role: String,
        suggestion: Option<String>,
        values: Vec<String>,
    },
    /// E0110. `list a of r` twice.
    Duplicate {
        span: Span,
        what: &'static str,
        name: String,
        first: Span,
    },
    /// E0114. A name the language keeps for itself: `record r { id: int }`
    /// (every record has its `id`), `record date { }`, `fn day(x: int) -> int = x`.
    Reserved {
        span: Span,
        message: String,
        hint: String,
    },
    /// E0112. `timezone "Asia/Tokio"`
    UnknownTimezone {
        span: Span,
        zone: String,
        suggestion: Option<String>,
    },
    /// E0113. Two `timezone` declarations that disagree.
    ConflictingTimezone { span: Span, first: Span },
    /// E0117. `event.amout` in a rule for `event paid on invoice { amount: int }`,
    /// or a test's `event paid on i { amout: 1 }`: a key the event does not declare.
    UnknownEventKey {
        span: Span,
        event: String,
        key: String,
        suggestion: Option<String>,
        keys: Vec<String>,
    },
    /// E0118. A test's `event paid on i {}` without a required key of the
    /// declared event.
    MissingEventKeys {
        span: Span,
        event: String,
        keys: Vec<String>,
    },
    /// E0218. `when event paid on contact` where `paid` is declared `on invoice`
    /// (also a test's `event paid on c`).
    EventRecord {
        span: Span,
        event: String,
        declared_record: String,
        found: String,
        declared: Span,
    },
    /// W0105. `when event paid on invoice` with no `event paid on invoice { … }`:
    /// the payload is untyped.
    UndeclaredEvent {
        span: Span,
        event: String,
        record: String,
    },
    /// E0201. `fn f() -> int = 1 + "a"`
    OperandMismatch {
        span: Span,
        op: String,
        left: String,
        right: String,
        hint: Option<String>,
    },
    /// E0202. `fn f() -> int = weekday()`
    ArgumentCount {
        span: Span,
        function: String,
        expected: usize,
        found: usize,
    },
    /// E0203. A value of the wrong type where a specific one is needed:
    /// `fn f() -> int = weekday("x")`.
    Mismatch {
        span: Span,
        context: String,
        expected: String,
        found: String,
        hint: Option<String>,
    },
    /// E0207. `add opportunity to list followup` where followup is `of contact`.
    WrongListRecord {
        span: Span,
        what: &'static str,
        list: String,
        list_record: String,
        found: String,
        declared: Span,
    },
    /// E0208. `fn f(d: date) -> int = d.year`
    NotARecord {
        span: Span,
        found: String,
        field: String,
        hint: Option<String>,
    },
    /// E0211. `segment s of r where r.a == null`
    CompareWithNull { span: Span, op: &'static str },
    /// E0212. `count(x for true)`: the aggregate's rows are not named.
    AggregateRows { span: Span, hint: String },
    /// E0213. `old.x` outside a `changes` trigger, `event.x` outside an event rule.
    OutOfContext {
        span: Span,
        what: String,
        hint: String,
    },
    /// E0214. `set contact = …`: only a field can be set.
    NotAssignable { span: Span },
    /// E0215. `fn f() -> bool = 1mo > 30d`: calendar months have no length
    /// in seconds, so they only move a date or a datetime, or set a wait.
    /// `hint` fits the place they were used.
    MonthsWithoutLength { span: Span, hint: String },
    /// E0216. `fn f(d: date) -> date = d + 10h`: a date has no time of day,
    /// so a duration that is not whole days cannot be added to one.
    /// `time`: the time of day the duration would mean (`"10:00"`), when
    /// it is less than a day.
    PartOfADay {
        span: Span,
        duration: String,
        time: Option<String>,
    },
    /// E0401. A placeholder naming something that does not exist:
    /// `subject: "Hi {{contact.nmae}}"`. `template` is `None` for the inline
    /// text of a `notify` or a task.
    BadPlaceholder {
        span: Span,
        placeholder: String,
        template: Option<String>,
        reason: String,
        use_site: Span,
    },
    /// E0415. `calendar c { weekends: saturday, sundy }`
    UnknownWeekday {
        span: Span,
        name: String,
        suggestion: Option<String>,
    },
    /// E0416. `calendar c { hours: "9:00" to "25:00" }`, or hours that end
    /// before they start.
    BadHours { span: Span, message: String },
    /// E0417. `calendar c { holidays: file "missing.txt" }`
    HolidayFile {
        span: Span,
        path: String,
        reason: String,
    },
    /// E0418. A holiday file with a line that is not `YYYY-MM-DD`.
    HolidayFileLine {
        span: Span,
        path: String,
        line: usize,
        text: String,
    },
    /// E0419. `calendar c { holidays: usa }`, an unknown key, a key given
    /// twice, or every day a weekend.
    CalendarShape {
        span: Span,
        message: String,
        hint: String,
    },
    /// E0217. `wait 4 business hours` on a calendar without `hours`.
    NoBusinessHours { span: Span, calendar: String },
    /// E0402. `send email t to opportunity` where opportunity has no `email`.
    NoEmailField { span: Span, record: String },
    /// E0403. `subject: "Hi {{contact.name"`
    UnclosedPlaceholder { span: Span },
    /// E0404. `body: file "missing.txt"`
    TemplateFile {
        span: Span,
        path: String,
        reason: String,
    },
    /// E0414. `text: file "welcome.txt"` where the file is saved in
    /// Shift_JIS (or another encoding that is not UTF-8).
    TemplateNotUtf8 {
        span: Span,
        path: String,
        encoding: Option<&'static str>,
    },
    /// E0405. A template without a subject or text, with an unknown part,
    /// or with a part given twice.
    TemplateShape { span: Span, message: String },
    /// E0406. `template t { subject: "s"  html: "<p>x</p>" }`: an HTML part
    /// without the plain-text part every email needs beside it.
    HtmlWithoutText { span: Span, template: String },
    /// E0407. `{{contact.score | yne}}`: a format flowc does not know.
    UnknownFormat {
        span: Span,
        name: String,
        suggestion: Option<String>,
    },
    /// E0407. `{{x | date}}`, `{{x | yen "a"}}`: a format without the
    /// argument it needs, or with one it does not take.
    FormatArgument { span: Span, message: String },
    /// E0408. `{{contact.name | yen}}`: a format for another type.
    FormatType {
        span: Span,
        format: String,
        expected: String,
        found: String,
        fits: Vec<String>,
        template: Option<String>,
        use_site: Span,
    },
    /// E0409. `{{unsubscribe_url}}` in a transactional template, a `notify`
    /// or a task: only marketing email has an opt-out link.
    UnsubscribeInTransactional { span: Span, what: String },
    /// E0410. `sender { from: "a@b.jp" }` and a marketing template: the
    /// sender has no `postal_address`.
    NoPostalAddress {
        span: Span,
        template: String,
        template_span: Span,
    },
    /// E0411. Two `sender` declarations.
    DuplicateSender { span: Span, first: Span },
    /// E0412. `sender { reply_to: "a@b.jp" }`: a sender without `from`,
    /// with an unknown or repeated field, or an address that is not one.
    SenderShape { span: Span, message: String },
    /// E0413. `opportunity is unsubscribed` where opportunity has no
    /// `email` field: there is no address to look up.
    NoEmailToCheck { span: Span, record: String },
    /// A syntax error inside a placeholder (its E000x code).
    PlaceholderSyntax(SyntaxError),
    /// A problem of a placeholder's expression, at one use of its template.
    InTemplate {
        problem: Box<Problem>,
        template: Option<String>,
        use_site: Span,
    },
    /// E0501. `stop` followed by another step.
    UnreachableStep { span: Span, stop: Span },
    /// E0502. `wait until today > 2025-01-01`: no record change can make it true.
    UnwakeableWait { span: Span },
    /// E0503. `every day at "09:00"` without `for each`.
    SweepWithoutEach { span: Span },
    /// E0504. `fn a() -> int = b()  fn b() -> int = a()`
    FunctionCycle { span: Span, cycle: Vec<String> },
    /// E0505. `every day at "25:00"`
    BadTimeOfDay { span: Span, text: String },
    /// E0506. Two `reenter` options, or two `goal`s.
    DuplicateOption {
        span: Span,
        what: &'static str,
        first: Span,
    },
    /// E0507. `every 0s for each r`, `wait -1d`: a fixed duration that
    /// must be positive is not.
    BadInterval { span: Span, what: &'static str },
    /// E0508. Two steps with the same label.
    DuplicateLabel {
        span: Span,
        label: String,
        first: Span,
    },
    /// E0509. A test step naming a variable no `given` declared.
    TestVariable { span: Span, message: String },
    /// E0511. `given contact c = { name: "A" }` when contact also needs `email`.
    MissingFields {
        span: Span,
        record: String,
        fields: Vec<String>,
    },
    /// E0516. `expect email to c with sender contains "a"`: an email is
    /// inspected by its `subject` or its `body`.
    UnknownEmailPart {
        span: Span,
        part: String,
        suggestion: Option<String>,
    },
    /// E0517. `expect update o set amount = 1 is refused` when no rule
    /// locks an `opportunity`: the update can never be refused.
    NeverLocked { span: Span, record: String },
    /// E0518. `expect email to c with subject contains ""`: every email
    /// contains the empty text.
    EmptyEmailFilter { span: Span },
    /// E0510. `expect run r on c is sleeping`
    UnknownRunState { span: Span, state: String },
    /// E0514. `form f on contact by email redirect "/thanks"`: a form's
    /// `redirect` must be an absolute `http://` or `https://` URL.
    FormRedirect { span: Span, url: String },
    /// E0515. `form f on contact by active` with `active: bool`: a form finds
    /// its record by a text, int, date or enum field.
    FormByType {
        span: Span,
        record: String,
        field: String,
        ty: String,
    },
    /// E0220. `form f on lead by email` with `event form_submitted on
    /// contact { … }`: a form records `form_submitted` on the record it fills.
    FormEventRecord {
        span: Span,
        form: String,
        record: String,
        declared_record: String,
        declared: Span,
    },
    /// W0101. `segment s of contact where contact.prefecture != "東京都"` with `prefecture: text?`.
    MaybeNull {
        span: Span,
        what: String,
        op: String,
    },
    /// W0102. Rules that trigger each other in a loop.
    RuleCycle { span: Span, cycle: Vec<String> },
    /// W0103. `every day at "09:00"` with no `timezone` declared.
    NoTimezone { span: Span },
    /// W0104. `when contract becomes days_until(contract.renewal_date) < 30`
    /// (or such a `goal`, or `wait until`): re-evaluated on changes to what
    /// it reads, not as days pass, so `today` (`now`) moving on never makes
    /// it true.
    BecomesReadsTime {
        span: Span,
        record: String,
        what: &'static str,
        /// `becomes`, `goal` or `wait until`.
        construct: &'static str,
    },
    /// W0401. `template t { subject: "s"  text: "t" }` and no `sender`:
    /// marketing email without the sender lines the law requires.
    NoSender { span: Span, templates: usize },
    /// W0402. `{{contact.employees}}` with `employees: int?`: prints nothing
    /// when null.
    NullablePlaceholder {
        span: Span,
        placeholder: String,
        found: String,
        hint: String,
        template: Option<String>,
        use_site: Span,
    },
}

/// `the placeholder `{{x}}` in template `t``, or without the template for
/// an inline text.
fn placeholder_phrase(placeholder: &str, template: &Option<String>) -> String {
    match template {
        Some(t) => format!("the placeholder `{{{{{placeholder}}}}}` in template `{t}`"),
        None => format!("the placeholder `{{{{{placeholder}}}}}`"),
    }
}

/// Adds "the template is used here" where a template (not an inline text) is used.
fn used_here(d: Diagnostic, template: &Option<String>, use_site: Span) -> Diagnostic {
    match template {
        Some(t) => d.with_label(use_site, format!("the template `{t}` is used here")),
        None => d,
    }
}

/// `a contact`, `an opportunity`.
fn a(word: &str) -> String {
    // "a user", "a unit": a `u` sounding like "you" takes "a".
    let you = ["us", "uni", "uti", "ur"]
        .iter()
        .any(|p| word.starts_with(p));
    let vowel = word.starts_with(['a', 'e', 'i', 'o', 'u']) && !you;
    format!("{} `{word}`", if vowel { "an" } else { "a" })
}

fn did_you_mean(suggestion: &Option<String>) -> Option<String> {
    suggestion.as_ref().map(|s| format!("did you mean `{s}`?"))
}

fn quoted_list(values: &[String], quote: &str) -> String {
    let shown: Vec<String> = values
        .iter()
        .take(12)
        .map(|v| format!("{quote}{v}{quote}"))
        .collect();
    let more = if values.len() > 12 { ", …" } else { "" };
    format!("{}{more}", shown.join(", "))
}

impl Problem {
    pub fn span(&self) -> Span {
        self.to_diagnostic().primary.span
    }

    pub fn to_diagnostic(&self) -> Diagnostic {
        use Problem::*;
        match self {
            UnknownField {
                span,
                record,
                field,
                suggestion,
                fields,
            } => {
                let hint = did_you_mean(suggestion).unwrap_or_else(|| {
                    if fields.is_empty() {
                        format!("`{record}` has no fields")
                    } else {
                        format!("the fields of `{record}` are {}", quoted_list(fields, "`"))
                    }
                });
                Diagnostic::error(
                    "E0101",
                    format!("unknown field `{field}` on `{record}`"),
                    Label::new(*span, format!("`{record}` has no field `{field}`")),
                )
                .with_hint(hint)
            }
            UnknownName {
                span,
                kind,
                name,
                suggestion,
                hint,
            } => Diagnostic::error(
                kind.code(),
                format!("unknown {} `{name}`", kind.noun()),
                Label::new(*span, format!("no {} is called `{name}`", kind.noun())),
            )
            .maybe_hint(did_you_mean(suggestion).or_else(|| hint.clone())),
            UnknownEnumValue {
                span,
                enum_name,
                value,
                suggestion,
                values,
            } => {
                let hint = match suggestion {
                    Some(s) => format!("did you mean \"{s}\"?"),
                    None => format!("the values of `{enum_name}` are {}", quoted_list(values, "\"")),
                };
                Diagnostic::error(
                    "E0106",
                    format!("\"{value}\" is not a value of `{enum_name}`"),
                    Label::new(*span, format!("not a `{enum_name}`")),
                )
                .with_hint(hint)
            }
            UnknownRole {
                span,
                enum_name,
                role,
                suggestion,
                values,
            } => {
                let hint = match suggestion {
                    Some(s) => format!("did you mean \"{s}\"?"),
                    None => format!(
                        "`user.role` is a `{enum_name}`: {}",
                        quoted_list(values, "\"")
                    ),
                };
                Diagnostic::error(
                    "E0121",
                    format!("no user can have the role \"{role}\""),
                    Label::new(*span, format!("not a `{enum_name}`")),
                )
                .with_hint(hint)
            }
            Duplicate {
                span,
                what,
                name,
                first,
            } => Diagnostic::error(
                "E0110",
                format!("the {what} `{name}` is declared twice"),
                Label::new(*span, "declared again here"),
            )
            .with_label(*first, "first declared here")
            .with_hint(format!("rename one of them or remove the second {what}")),
            Reserved { span, message, hint } => {
                Diagnostic::error("E0114", message.clone(), Label::new(*span, "reserved")).with_hint(hint.clone())
            }
            UnknownTimezone {
                span,
                zone,
                suggestion,
            } => Diagnostic::error(
                "E0112",
                format!("unknown time zone \"{zone}\""),
                Label::new(*span, "not an IANA time zone name"),
            )
            .with_hint(match suggestion {
                Some(s) => format!("did you mean \"{s}\"?"),
                None => "use a name from the IANA database, such as \"Asia/Tokyo\" or \"UTC\"".into(),
            }),
            ConflictingTimezone { span, first } => Diagnostic::error(
                "E0113",
                "the project declares two different time zones",
                Label::new(*span, "second time zone"),
            )
            .with_label(*first, "first declared here")
            .with_hint("a project has one time zone; keep one `timezone` declaration"),
            UnknownEventKey {
                span,
                event,
                key,
                suggestion,
                keys,
            } => {
                let hint = did_you_mean(suggestion).unwrap_or_else(|| {
                    let declared = if keys.is_empty() {
                        format!("the event `{event}` declares no keys")
                    } else {
                        format!("the keys of `{event}` are {}", quoted_list(keys, "`"))
                    };
                    format!("{declared}; add `{key}` to its declaration to use it")
                });
                Diagnostic::error(
                    "E0117",
                    format!("the event `{event}` has no key `{key}`"),
                    Label::new(*span, format!("not a key of `{event}`")),
                )
                .with_hint(hint)
            }
            MissingEventKeys { span, event, keys } => Diagnostic::error(
                "E0118",
                format!(
                    "this `{event}` event lacks the required key{} {}",
                    if keys.len() == 1 { "" } else { "s" },
                    quoted_list(keys, "`")
                ),
                Label::new(*span, "missing keys"),
            )
            .with_hint(format!(
                "give every key `{event}` declares without `?`, e.g. `{{ {}: … }}`",
                keys.first().map_or("key", String::as_str)
            )),
            EventRecord {
                span,
                event,
                declared_record,
                found,
                declared,
            } => Diagnostic::error(
                "E0218",
                format!(
                    "the event `{event}` happens on {}, not on {}",
                    a(declared_record),
                    a(found)
                ),
                Label::new(*span, format!("declared on `{declared_record}`")),
            )
            .with_label(*declared, "declared here")
            .with_hint(format!(
                "write `event {event} on {declared_record}`, or declare another event for `{found}`"
            )),
            UndeclaredEvent {
                span,
                event,
                record,
            } => Diagnostic::warning(
                "W0105",
                format!("the event `{event}` is not declared, so its payload is not checked"),
                Label::new(*span, "undeclared event"),
            )
            .with_hint(format!(
                "declare its keys and their types, e.g. `event {event} on {record} {{ amount: int, note: text? }}`; then `event.KEY` is typed and bad payloads are refused"
            )),
            OperandMismatch {
                span,
                op,
                left,
                right,
                hint,
            } => Diagnostic::error(
                "E0201",
                format!("`{op}` cannot combine `{left}` and `{right}`"),
                Label::new(*span, format!("`{left}` {op} `{right}`")),
            )
            .maybe_hint(hint.clone()),
            ArgumentCount {
                span,
                function,
                expected,
                found,
            } => Diagnostic::error(
                "E0202",
                format!(
                    "`{function}` takes {expected} argument{}, but {found} {} given",
                    if *expected == 1 { "" } else { "s" },
                    if *found == 1 { "was" } else { "were" }
                ),
                Label::new(*span, format!("expected {expected}")),
            ),
            Mismatch {
                span,
                context,
                expected,
                found,
                hint,
            } => Diagnostic::error(
                "E0203",
                // A type is quoted; a description ("a duration literal") is not.
                if expected.contains(' ') {
                    format!("{context} must be {expected}, but this is `{found}`")
                } else {
                    format!("{context} must be `{expected}`, but this is `{found}`")
                },
                Label::new(*span, format!("this is `{found}`")),
            )
            .maybe_hint(hint.clone()),
            WrongListRecord {
                span,
                what,
                list,
                list_record,
                found,
                declared,
            } => Diagnostic::error(
                "E0207",
                format!("the {what} `{list}` holds `{list_record}` records, not `{found}`"),
                Label::new(*span, format!("this is {}", a(found))),
            )
            .with_label(*declared, format!("`{list}` is declared `of {list_record}` here"))
            .with_hint(format!(
                "use a `{list_record}` (perhaps a field of this `{found}`), or declare a {what} of `{found}`"
            )),
            NotARecord { span, found, field, hint } => Diagnostic::error(
                "E0208",
                format!("`{found}` has no fields"),
                Label::new(*span, format!("`.{field}` on {}", a(found))),
            )
            .with_hint(hint.clone().unwrap_or_else(|| "only records (and references to them) have fields".into())),
            CompareWithNull { span, op } => Diagnostic::error(
                "E0211",
                "a comparison with `null` is never true",
                Label::new(*span, "always false"),
            )
            .with_hint(match *op {
                "==" => "write `is null`",
                "!=" => "write `is not null`",
                _ => "compare with a value; to test for a missing value, write `is null`",
            }),
            AggregateRows { span, hint } => Diagnostic::error(
                "E0212",
                "cannot tell which rows this aggregate runs over",
                Label::new(*span, "no record to aggregate"),
            )
            .with_hint(hint.clone()),
            OutOfContext { span, what, hint } => Diagnostic::error(
                "E0213",
                format!("{what} is not available here"),
                Label::new(*span, "not available here"),
            )
            .with_hint(hint.clone()),
            NotAssignable { span } => Diagnostic::error(
                "E0214",
                "only a field can be set",
                Label::new(*span, "not a field"),
            )
            .with_hint("write `set record.field = value`"),
            MonthsWithoutLength { span, hint } => Diagnostic::error(
                "E0215",
                "months have no fixed length",
                Label::new(*span, "calendar months"),
            )
            .with_hint(hint.clone()),
            PartOfADay {
                span,
                duration,
                time,
            } => Diagnostic::error(
                "E0216",
                format!("a date has no time of day, and `{duration}` is not a whole number of days"),
                Label::new(*span, "a date moved by part of a day"),
            )
            .with_hint(match time {
                Some(t) => format!(
                    "for {t} on that date, write `DATE at \"{t}\"` (a datetime): `quote.sent_on + 3d at \"{t}\"`"
                ),
                None => "move a date by whole days (`3d`), or give it a time of day with `at`: `quote.sent_on + 3d at \"10:00\"`".into(),
            }),
            BadPlaceholder {
                span,
                placeholder,
                template,
                reason,
                use_site,
            } => used_here(
                Diagnostic::error(
                    "E0401",
                    format!("{} {reason}", placeholder_phrase(placeholder, template)),
                    Label::new(*span, "in this placeholder"),
                ),
                template,
                *use_site,
            )
            .with_hint(
                "a placeholder is an expression the rule could write where the template is used, or `recipient`, `sender.name`, `sender.postal_address` or `unsubscribe_url`",
            ),
            NoEmailField { span, record } => Diagnostic::error(
                "E0402",
                format!("`{record}` has no `email` field to send to"),
                Label::new(*span, a(record)),
            )
            .with_hint(format!(
                "send to a record with an `email: text` field, such as a reference field of `{record}`"
            )),
            UnclosedPlaceholder { span } => Diagnostic::error(
                "E0403",
                "a placeholder is not closed",
                Label::new(*span, "`{{` without `}}`"),
            )
            .with_hint("placeholders look like `{{contact.name}}`; write `\\{{` for a literal brace"),
            UnknownWeekday {
                span,
                name,
                suggestion,
            } => Diagnostic::error(
                "E0415",
                format!("`{name}` is not a day of the week"),
                Label::new(*span, "not a weekday"),
            )
            .with_hint(match suggestion {
                Some(s) => format!("did you mean `{s}`?"),
                None => "name weekdays in English: `weekends: saturday, sunday`".into(),
            }),
            BadHours { span, message } => Diagnostic::error(
                "E0416",
                format!("a calendar's hours are wrong: {message}"),
                Label::new(*span, "bad hours"),
            )
            .with_hint("write the opening and closing times of one day, `HH:MM`: `hours: \"09:00\" to \"18:00\"`"),
            HolidayFile { span, path, reason } => Diagnostic::error(
                "E0417",
                format!("cannot read the holiday file `{path}`: {reason}"),
                Label::new(*span, "this file"),
            )
            .with_hint("the path is relative to the `.flow` file that names it; the file holds one date (YYYY-MM-DD) per line"),
            HolidayFileLine {
                span,
                path,
                line,
                text,
            } => Diagnostic::error(
                "E0418",
                format!("line {line} of the holiday file `{path}` is not a date: `{text}`"),
                Label::new(*span, format!("line {line} of this file")),
            )
            .with_hint("write one date per line as YYYY-MM-DD (`2025-12-29`); `#` starts a comment"),
            CalendarShape { span, message, hint } => Diagnostic::error(
                "E0419",
                message.clone(),
                Label::new(*span, "here"),
            )
            .with_hint(hint.clone()),
            NoBusinessHours { span, calendar } => Diagnostic::error(
                "E0217",
                format!("the calendar `{calendar}` has no hours to count"),
                Label::new(*span, "counts open hours"),
            )
            .with_hint(format!(
                "give `{calendar}` its hours (`hours: \"09:00\" to \"18:00\"`), or wait business days"
            )),
            TemplateFile { span, path, reason } => Diagnostic::error(
                "E0404",
                format!("cannot read the template file \"{path}\""),
                Label::new(*span, reason.clone()),
            )
            .with_hint("paths are relative to the file that declares the template"),
            TemplateNotUtf8 {
                span,
                path,
                encoding,
            } => {
                let (looks, from) = match encoding {
                    Some(e) => (format!(": it looks like {e}"), e.to_uppercase()),
                    None => (String::new(), "SHIFT_JIS".to_string()),
                };
                Diagnostic::error(
                    "E0414",
                    format!("the template file \"{path}\" is not UTF-8{looks}"),
                    Label::new(*span, "not UTF-8 text"),
                )
                .with_hint(format!(
                    "flowc reads template files as UTF-8; convert it, from the folder of this .flow file: `iconv -f {from} -t UTF-8 {path} > converted.txt && mv converted.txt {path}` (or save it as UTF-8 in your editor)"
                ))
            }
            TemplateShape { span, message } => Diagnostic::error(
                "E0405",
                message.clone(),
                Label::new(*span, "in this template"),
            )
            .with_hint("a template has a `subject` and a `text` (or `body`), and may have `html`, `from` and `reply_to`"),
            HtmlWithoutText { span, template } => Diagnostic::error(
                "E0406",
                format!("the template `{template}` has an `html` part but no `text`"),
                Label::new(*span, "HTML only"),
            )
            .with_hint("every email with HTML also carries a plain-text version for mail programs that do not show HTML; add `text: …`"),
            UnknownFormat { span, name, suggestion } => Diagnostic::error(
                "E0407",
                format!("unknown format `{name}`"),
                Label::new(*span, "no such format"),
            )
            .with_hint(did_you_mean(suggestion).unwrap_or_else(|| {
                "the formats are `yen`, `number`, `date_ja`, `date \"PATTERN\"` and `or \"TEXT\"`".into()
            })),
            FormatArgument { span, message } => Diagnostic::error(
                "E0407",
                message.clone(),
                Label::new(*span, "in this format"),
            )
            .with_hint("`date` and `or` take a text: `| date \"YYYY/MM/DD\"`, `| or \"—\"`; the other formats take none"),
            FormatType {
                span,
                format,
                expected,
                found,
                fits,
                template,
                use_site,
            } => used_here(
                Diagnostic::error(
                    "E0408",
                    format!("`| {format}` formats {expected}, but this is `{found}`"),
                    Label::new(*span, format!("not for `{found}`")),
                ),
                template,
                *use_site,
            )
            .with_hint(format!("for `{found}`, use {}", fits.join(", "))),
            UnsubscribeInTransactional { span, what } => Diagnostic::error(
                "E0409",
                format!("`{{{{unsubscribe_url}}}}` in {what}"),
                Label::new(*span, "only marketing email has an opt-out link"),
            )
            .with_hint("transactional email (receipts, `notify`, tasks) is sent even to addresses that opted out; remove the link, or drop `transactional` if this is advertising"),
            NoPostalAddress {
                span,
                template,
                template_span,
            } => Diagnostic::error(
                "E0410",
                "the `sender` has no `postal_address`, which marketing email must show",
                Label::new(*span, "no `postal_address`"),
            )
            .with_label(*template_span, format!("`{template}` is marketing email"))
            .with_hint("Japan's 特定電子メール法 requires the sender's name, postal address and a way to opt out in every advertising email: add `postal_address: \"…\"`, or mark receipts and confirmations `transactional`"),
            DuplicateSender { span, first } => Diagnostic::error(
                "E0411",
                "the project declares `sender` twice",
                Label::new(*span, "second `sender`"),
            )
            .with_label(*first, "first declared here")
            .with_hint("a project has one sender; a template may still set its own `from`"),
            SenderShape { span, message } => Diagnostic::error(
                "E0412",
                message.clone(),
                Label::new(*span, "in this sender"),
            )
            .with_hint("a sender has `from` (`\"Name <address>\"` or an address), and may have `reply_to` and `postal_address`"),
            NoEmailToCheck { span, record } => Diagnostic::error(
                "E0413",
                format!("`{record}` has no `email` field, so it cannot be unsubscribed"),
                Label::new(*span, a(record)),
            )
            .with_hint(format!(
                "`is unsubscribed` looks up the address in an `email: text` field; ask it of a record that has one, such as a reference field of `{record}`"
            )),
            PlaceholderSyntax(error) => error.to_diagnostic(),
            InTemplate {
                problem,
                template,
                use_site,
            } => used_here(problem.to_diagnostic(), template, *use_site),
            UnreachableStep { span, stop } => Diagnostic::error(
                "E0501",
                "this step can never run",
                Label::new(*span, "unreachable"),
            )
            .with_label(*stop, "the run always ends here")
            .with_hint("remove the step, or move it before `stop`"),
            UnwakeableWait { span } => Diagnostic::error(
                "E0502",
                "no change to any record can make this condition true",
                Label::new(*span, "depends on no field, list, tag or event"),
            )
            .with_hint(
                "`wait until COND` wakes when something COND reads changes; to wait for a time, write `wait until DATE` or `wait DURATION`",
            ),
            SweepWithoutEach { span } => Diagnostic::error(
                "E0503",
                "an `every` sweep needs `for each RECORD`",
                Label::new(*span, "which records does this run for?"),
            )
            .with_hint("write for example `every day at \"09:00\" for each contract`"),
            FunctionCycle { span, cycle } => Diagnostic::error(
                "E0504",
                format!("functions call each other in a cycle: {}", cycle.join(" → ")),
                Label::new(*span, "this call closes the cycle"),
            )
            .with_hint("functions cannot be recursive; compute the value without calling back"),
            BadTimeOfDay { span, text } => Diagnostic::error(
                "E0505",
                format!("\"{text}\" is not a time of day"),
                Label::new(*span, "expected \"HH:MM\""),
            )
            .with_hint("write a 24-hour time such as \"09:00\" or \"17:30\""),
            DuplicateOption { span, what, first } => Diagnostic::error(
                "E0506",
                format!("`{what}` is given twice"),
                Label::new(*span, "again here"),
            )
            .with_label(*first, "first here"),
            BadInterval { span, what } => Diagnostic::error(
                "E0507",
                format!("{what} must be positive"),
                Label::new(*span, "zero or negative"),
            ),
            DuplicateLabel { span, label, first } => Diagnostic::error(
                "E0508",
                format!("two steps are labelled `{label}`"),
                Label::new(*span, "again here"),
            )
            .with_label(*first, "first here")
            .with_hint("labels name steps across versions of a rule; each must be unique"),
            TestVariable { span, message } => Diagnostic::error(
                "E0509",
                message.clone(),
                Label::new(*span, "here"),
            )
            .with_hint("declare it first with `given RECORD NAME = { … }`"),
            MissingFields { span, record, fields } => Diagnostic::error(
                "E0511",
                format!("this `{record}` has no value for {}", quoted_list(fields, "`")),
                Label::new(*span, "missing fields"),
            )
            .with_hint("fields that are not nullable (`T?`) need a value"),
            UnknownEmailPart {
                span,
                part,
                suggestion,
            } => Diagnostic::error(
                "E0516",
                format!("an email has no part `{part}` to inspect"),
                Label::new(*span, "not `subject` or `body`"),
            )
            .with_hint(did_you_mean(suggestion).unwrap_or_else(|| {
                "write `with subject contains \"…\"` or `with body contains \"…\"`".into()
            })),
            NeverLocked { span, record } => Diagnostic::error(
                "E0517",
                format!("no rule locks a `{record}`, so this update can never be refused"),
                Label::new(*span, "always allowed"),
            )
            .with_hint(format!(
                "`is refused` expects a write to fail because a rule's `lock` step locked the row; lock the `{record}` in a rule, or expect the update to go through"
            )),
            EmptyEmailFilter { span } => Diagnostic::error(
                "E0518",
                "every email contains the empty text",
                Label::new(*span, "empty"),
            )
            .with_hint("write the words the email must contain, or drop `with … contains`"),
            UnknownRunState { span, state } => Diagnostic::error(
                "E0510",
                format!("`{state}` is not a run state"),
                Label::new(*span, "unknown state"),
            )
            .with_hint("a run is `running`, `waiting`, `done`, `failed` or `rejected`"),
            FormRedirect { span, url } => Diagnostic::error(
                "E0514",
                format!("a form's `redirect` must be an absolute http(s) URL, not \"{url}\""),
                Label::new(*span, "not an absolute URL"),
            )
            .with_hint("write the whole address: `redirect \"https://example.jp/thanks\"`"),
            FormByType {
                span,
                record,
                field,
                ty,
            } if ty == "id" => Diagnostic::error(
                "E0515",
                format!("a form cannot find a `{record}` by its `{field}`"),
                Label::new(*span, "anyone could post any id and change that record"),
            )
            .with_hint("find the record by a field people type in a form, such as `email`"),
            FormByType {
                span,
                record,
                field,
                ty,
            } => Diagnostic::error(
                "E0515",
                format!("a form cannot find a `{record}` by `{field}`, a `{ty}`"),
                Label::new(*span, "not a text, int, date or enum field"),
            )
            .with_hint("find the record by a field people type in a form, such as `email`"),
            FormEventRecord {
                span,
                form,
                record,
                declared_record,
                declared,
            } => Diagnostic::error(
                "E0220",
                format!(
                    "the form `{form}` fills a `{record}`, but `form_submitted` is declared on `{declared_record}`"
                ),
                Label::new(*span, format!("records `form_submitted` on a `{record}`")),
            )
            .with_label(*declared, "declared here")
            .with_hint(format!(
                "a form records `form_submitted` on the record it fills: make the form fill a `{declared_record}`, or declare the event `on {record}`"
            )),
            MaybeNull { span, what, op } => Diagnostic::warning(
                "W0101",
                if op == "a condition" {
                    format!("`{what}` may be null, and a null condition counts as false")
                } else {
                    format!("`{what}` may be null, and {op} with null is never true")
                },
                Label::new(*span, "may be null"),
            )
            .with_hint(format!(
                "say what null means: `{what} is not null and …`, or `coalesce({what}, …)`"
            )),
            RuleCycle { span, cycle } => Diagnostic::warning(
                "W0102",
                format!("these rules may trigger each other in a loop: {}", cycle.join(" → ")),
                Label::new(*span, "this change starts the loop again"),
            )
            .with_hint("at run time the cascade stops after 5 rounds; add a condition that breaks the loop"),
            NoTimezone { span } => Diagnostic::warning(
                "W0103",
                "this schedule runs in UTC because the project declares no time zone",
                Label::new(*span, "UTC"),
            )
            .with_hint("declare the project's time zone, e.g. `timezone \"Asia/Tokyo\"`"),
            BecomesReadsTime {
                span,
                record,
                what,
                construct,
            } => Diagnostic::warning(
                "W0104",
                format!(
                    "this `{construct}` reads `{what}`, but it is re-evaluated only when what it \
                     reads changes, not as time passes"
                ),
                Label::new(*span, format!("reads `{what}`")),
            )
            .with_hint(match *construct {
                "wait until" => "to wait for a date, wait for the time itself: `wait until DATE` \
                                 (e.g. `wait until contract.renewal_date - 30d`)"
                    .to_string(),
                "goal" => "the goal still counts when the run ends; to end runs on a date, \
                           `wait until DATE` and then `stop`"
                    .to_string(),
                _ => format!(
                    "to act on dates, use a daily sweep: `every day at \"09:00\" for each \
                     {record} where …`, with `reenter never` to act once per {record}"
                ),
            }),
            NoSender { span, templates } => Diagnostic::warning(
                "W0401",
                if *templates == 1 {
                    "a marketing template, but no `sender`".to_string()
                } else {
                    format!("{templates} marketing templates, but no `sender`")
                },
                Label::new(*span, "marketing email"),
            )
            .with_hint("advertising email must show the sender's name, postal address and a way to opt out: declare `sender { from: \"…\", postal_address: \"…\" }`, or mark receipts and confirmations `transactional`"),
            NullablePlaceholder {
                span,
                placeholder,
                found,
                hint,
                template,
                use_site,
            } => used_here(
                Diagnostic::warning(
                    "W0402",
                    format!(
                        "{} is `{found}`, and prints nothing when null",
                        placeholder_phrase(placeholder, template)
                    ),
                    Label::new(*span, "may be null"),
                ),
                template,
                *use_site,
            )
            .with_hint(hint.clone()),
        }
    }
}
