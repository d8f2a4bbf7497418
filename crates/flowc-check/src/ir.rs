//! The typed IR: what the checker produces and every backend consumes.
//!
//! Names are resolved to indices, every expression carries its type, every
//! operator says which types it works on, and implicit conversions (int to
//! decimal, event payload to a typed value) are explicit [`ExprKind::Cast`]
//! nodes. Nothing here refers back to the syntax tree except spans.

use chrono_tz::Tz;
use flowc_syntax::source::Span;
use std::fmt;

mod calendar;
mod events;
mod mail;
pub use calendar::{CalendarDef, MAX_BUSINESS_WALK};
pub use events::{EventDef, EventKey, PayloadError};
pub use mail::{
    DatePattern, DatePiece, Format, Message, Part, SenderDef, TemplateDef, TemplateKind,
};

macro_rules! id_type {
    ($($(#[$doc:meta])* $name:ident),* $(,)?) => {$(
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
        pub struct $name(pub u32);
        impl $name {
            pub fn index(self) -> usize { self.0 as usize }
        }
    )*};
}

id_type!(
    /// An `enum` declaration.
    EnumId,
    /// A `record` declaration (and the SQLite table of the same name).
    RecordId,
    /// A static `list`.
    ListId,
    /// A dynamic `segment`.
    SegmentId,
    /// A `template`.
    TemplateId,
    /// A `fn` (standard library functions included).
    FnId,
    /// A `rule`.
    RuleId,
    /// A local variable slot in an expression's frame.
    VarId,
);

/// A field's position in its record's declaration (0-based; `id` is not a field).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
pub struct FieldId(pub u32);

impl FieldId {
    pub fn index(self) -> usize {
        self.0 as usize
    }
}

/// The shape of a value, ignoring nullability.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Type {
    Int,
    Decimal,
    Text,
    Bool,
    Date,
    DateTime,
    Duration,
    Enum(EnumId),
    /// A reference to a row of the record.
    Record(RecordId),
    /// The type of the `null` literal: fits any nullable type.
    Null,
    /// An event payload value, converted where it is used.
    Any,
    /// The type of an expression that already failed to check; fits anything,
    /// so that one mistake is reported once.
    Error,
}

/// A type and whether it may be null.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Ty {
    pub base: Type,
    pub nullable: bool,
}

impl Ty {
    pub const fn new(base: Type) -> Ty {
        Ty {
            base,
            nullable: false,
        }
    }
    pub const fn nullable(base: Type) -> Ty {
        Ty {
            base,
            nullable: true,
        }
    }
    pub const INT: Ty = Ty::new(Type::Int);
    pub const DECIMAL: Ty = Ty::new(Type::Decimal);
    pub const TEXT: Ty = Ty::new(Type::Text);
    pub const BOOL: Ty = Ty::new(Type::Bool);
    pub const DATE: Ty = Ty::new(Type::Date);
    pub const DATETIME: Ty = Ty::new(Type::DateTime);
    pub const DURATION: Ty = Ty::new(Type::Duration);
    pub const NULL: Ty = Ty::nullable(Type::Null);
    pub const ERROR: Ty = Ty::nullable(Type::Error);

    pub fn with_nullable(self, nullable: bool) -> Ty {
        Ty { nullable, ..self }
    }

    pub fn is_error(self) -> bool {
        self.base == Type::Error
    }
}

// ---------------------------------------------------------------- schema

/// The declarations every part of the program is checked against.
#[derive(Clone, Debug)]
pub struct Schema {
    pub timezone: Tz,
    /// Whether `timezone` was declared (schedules warn when it was not).
    pub timezone_declared: bool,
    pub enums: Vec<EnumDef>,
    pub records: Vec<RecordDef>,
    pub lists: Vec<ListDef>,
    pub segments: Vec<SegmentDef>,
    pub templates: Vec<TemplateDef>,
    /// The project's `sender`, if it declares one.
    pub sender: Option<SenderDef>,
    /// The project's `calendar`s; business-day builtins name one by index.
    pub calendars: Vec<CalendarDef>,
    /// The project's declared events (`event NAME on R { key: type }`).
    pub events: Vec<EventDef>,
}

impl Default for Schema {
    fn default() -> Schema {
        Schema {
            timezone: Tz::UTC,
            timezone_declared: false,
            enums: Vec::new(),
            records: Vec::new(),
            lists: Vec::new(),
            segments: Vec::new(),
            templates: Vec::new(),
            sender: None,
            calendars: Vec::new(),
            events: Vec::new(),
        }
    }
}

impl Schema {
    pub fn record(&self, id: RecordId) -> &RecordDef {
        &self.records[id.index()]
    }
    pub fn field(&self, record: RecordId, field: FieldId) -> &FieldDef {
        &self.records[record.index()].fields[field.index()]
    }
    pub fn record_named(&self, name: &str) -> Option<RecordId> {
        self.records
            .iter()
            .position(|r| r.name == name)
            .map(|i| RecordId(i as u32))
    }
    pub fn enum_def(&self, id: EnumId) -> &EnumDef {
        &self.enums[id.index()]
    }

    /// A type as the user writes it: `int?`, `stage`, `contact`.
    pub fn type_name(&self, ty: Ty) -> String {
        let base = match ty.base {
            Type::Int => "int".to_string(),
            Type::Decimal => "decimal".to_string(),
            Type::Text => "text".to_string(),
            Type::Bool => "bool".to_string(),
            Type::Date => "date".to_string(),
            Type::DateTime => "datetime".to_string(),
            Type::Duration => "duration".to_string(),
            Type::Enum(e) => self.enums[e.index()].name.clone(),
            Type::Record(r) => self.records[r.index()].name.clone(),
            Type::Null => return "null".to_string(),
            Type::Any => "event value".to_string(),
            Type::Error => "?".to_string(),
        };
        if ty.nullable {
            format!("{base}?")
        } else {
            base
        }
    }
}

#[derive(Clone, Debug)]
pub struct EnumDef {
    pub name: String,
    pub values: Vec<String>,
    pub span: Span,
}

#[derive(Clone, Debug)]
pub struct RecordDef {
    pub name: String,
    pub fields: Vec<FieldDef>,
    /// Where the record's name is declared.
    pub span: Span,
}

impl RecordDef {
    pub fn field_named(&self, name: &str) -> Option<FieldId> {
        self.fields
            .iter()
            .position(|f| f.name == name)
            .map(|i| FieldId(i as u32))
    }

    /// The field holding a row's email address, the one `send email … to
    /// R` sends to and `R is unsubscribed` checks: `email`, a text.
    pub fn email_field(&self) -> Option<FieldId> {
        self.field_named("email")
            .filter(|f| self.fields[f.index()].ty.base == Type::Text)
    }
}

#[derive(Clone, Debug)]
pub struct FieldDef {
    pub name: String,
    pub ty: Ty,
    pub span: Span,
}

#[derive(Clone, Debug)]
pub struct ListDef {
    pub name: String,
    pub of: RecordId,
    pub span: Span,
}

#[derive(Clone, Debug)]
pub struct SegmentDef {
    pub name: String,
    pub of: RecordId,
    /// The membership condition; variable 0 is the candidate row.
    pub condition: Expr,
    pub span: Span,
}

// ---------------------------------------------------------------- program

/// A whole checked project.
#[derive(Clone, Debug, Default)]
pub struct Program {
    pub schema: Schema,
    pub functions: Vec<FnDef>,
    pub rules: Vec<RuleDef>,
    pub tests: Vec<TestDef>,
    /// The project's `form`s, which `POST /forms/NAME` fills (`flowc serve`).
    pub forms: Vec<FormDef>,
}

impl Program {
    pub fn rule_named(&self, name: &str) -> Option<RuleId> {
        self.rules
            .iter()
            .position(|r| r.name == name)
            .map(|i| RuleId(i as u32))
    }
}

/// `form NAME on RECORD by FIELD redirect "URL"`.
#[derive(Clone, Debug)]
pub struct FormDef {
    pub name: String,
    pub record: RecordId,
    /// The field whose posted value finds an existing row.
    pub by_field: FieldId,
    /// An absolute http(s) URL answered with `303`; without it a thank-you page.
    pub redirect: Option<String>,
    pub span: Span,
}

impl Program {
    pub fn form_named(&self, name: &str) -> Option<&FormDef> {
        self.forms.iter().find(|f| f.name == name)
    }
}

#[derive(Clone, Debug)]
pub struct FnDef {
    pub name: String,
    pub params: Vec<(String, Ty)>,
    pub ret: Ty,
    /// Parameters are variables `0..params.len()`.
    pub body: Expr,
    pub span: Span,
    /// Declared in `stdlib/`.
    pub builtin_library: bool,
}

/// A rule's `goal`: a condition on the run's subject.
#[derive(Clone, Debug)]
pub struct Goal {
    pub condition: Expr,
    /// `goal COND` (true): once it holds, the run ends, converted.
    /// `goal COND, continue` (false): it only counts when the run ends.
    pub ends_run: bool,
}

#[derive(Clone, Debug)]
pub struct RuleDef {
    pub name: String,
    /// The record the rule runs for: variable 0 in every expression.
    pub subject: RecordId,
    pub trigger: Trigger,
    pub filter: Option<Expr>,
    pub reenter: Reenter,
    pub goal: Option<Goal>,
    /// `send during CALENDAR`: the index of the calendar in
    /// [`Schema::calendars`] whose open hours the rule's email waits for.
    pub send_during: Option<usize>,
    pub steps: Vec<Step>,
    /// A hash of the rule's meaning; runs remember the version they started on.
    pub version: String,
    pub span: Span,
    /// Where the trigger (`when …`, `every …`) is written.
    pub trigger_span: Span,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Trigger {
    Created,
    Updated,
    Deleted,
    Changes {
        field: FieldId,
        from: Option<Expr>,
        to: Option<Expr>,
    },
    Becomes {
        condition: Expr,
    },
    Event {
        name: String,
    },
    Every {
        schedule: Schedule,
    },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Schedule {
    /// Every day at this many seconds after local midnight.
    Daily { at: u32 },
    /// ISO weekday (1 = Monday) and seconds after local midnight.
    Weekly { weekday: u32, at: u32 },
    /// Every this many seconds.
    Interval { seconds: i64 },
}

/// When a record may start a new run of the same rule.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reenter {
    /// The default: not while a run is active; as soon as it has ended.
    WhenEnded,
    /// Not within this many seconds of the previous run's start.
    After(i64),
    /// Not before this many calendar months after the previous run's start
    /// (`reenter after 11mo`), at the same local time, clamped to the
    /// month's end.
    AfterMonths(i64),
    /// Once per record, ever.
    Never,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Step {
    /// The step's stable name: its label, or `kind#n` (`wait#2`). Waiting
    /// runs are moved to the step of the same name when a rule is edited.
    pub name: String,
    pub kind: StepKind,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq)]
pub enum StepKind {
    AddToList {
        item: Expr,
        list: ListId,
    },
    RemoveFromList {
        item: Expr,
        list: ListId,
    },
    Tag {
        target: Expr,
        tag: String,
    },
    Untag {
        target: Expr,
        tag: String,
    },
    Set {
        target: Expr,
        record: RecordId,
        field: FieldId,
        value: Expr,
    },
    SendEmail {
        template: TemplateId,
        to: Recipient,
        message: Message,
    },
    Notify {
        to: NotifyTarget,
        message: Message,
    },
    CreateTask {
        title: Vec<Part>,
        assignee: Expr,
        due: Option<Expr>,
    },
    Assign {
        target: Expr,
        record: RecordId,
        field: FieldId,
        cases: Vec<(Expr, Expr)>,
        otherwise: Option<Expr>,
    },
    Wait(Wait),
    If {
        branches: Vec<(Expr, Vec<Step>)>,
        otherwise: Vec<Step>,
    },
    RequireApproval {
        from: Expr,
        on_reject: Vec<Step>,
        /// The project's `approval_request` template as this step sends it
        /// to the approver (its placeholders resolved in the step's scope,
        /// `recipient` being the approver); `None`: the built-in one.
        message: Option<Message>,
    },
    Lock(Expr),
    Unlock(Expr),
    Stop,
}

/// Who an email goes to: a record with an `email` field, or an address.
#[derive(Clone, Debug, PartialEq)]
pub enum Recipient {
    /// The expression evaluates to a reference to a row of `record`.
    Record {
        expr: Expr,
        record: RecordId,
        email_field: FieldId,
    },
    Address(Expr),
}

#[derive(Clone, Debug, PartialEq)]
pub enum NotifyTarget {
    Role(String),
    Recipient(Recipient),
}

#[derive(Clone, Debug, PartialEq)]
pub enum Wait {
    /// `wait D` / `wait D unless …`
    For {
        duration: Expr,
        unless: Option<Unless>,
    },
    /// `wait until COND[, at most D]`: re-checked whenever something it
    /// depends on changes.
    UntilCondition {
        condition: Expr,
        at_most: Option<Expr>,
    },
    /// `wait until DATE_OR_DATETIME`
    UntilTime { time: Expr },
}

#[derive(Clone, Debug, PartialEq)]
pub enum Unless {
    /// An event of this name on the run's subject.
    Event(String),
    /// An `email_opened` / `email_clicked` event for the template.
    Engagement {
        record: Expr,
        template: TemplateId,
        clicked: bool,
    },
    Condition(Expr),
}

// ---------------------------------------------------------------- tests

#[derive(Clone, Debug)]
pub struct TestDef {
    pub name: String,
    /// Variable `i` is a reference to a row of `vars[i].1`.
    pub vars: Vec<(String, RecordId)>,
    pub steps: Vec<TestStep>,
    pub span: Span,
}

#[derive(Clone, Debug)]
pub struct TestStep {
    pub kind: TestStepKind,
    pub span: Span,
}

#[derive(Clone, Debug)]
pub enum TestStepKind {
    Given {
        var: VarId,
        record: RecordId,
        fields: Vec<(FieldId, Expr)>,
    },
    Update {
        var: VarId,
        record: RecordId,
        fields: Vec<(FieldId, Expr)>,
    },
    Delete {
        var: VarId,
        record: RecordId,
    },
    Event {
        name: String,
        var: VarId,
        data: Vec<(String, Expr)>,
    },
    Approve {
        subject: Option<Expr>,
        approve: bool,
    },
    /// `after 3d`, `after 1mo`: the clock moves `months` calendar months
    /// (local time kept), then `seconds`.
    After {
        months: i64,
        seconds: i64,
    },
    ExpectCondition(Expr),
    ExpectEmail {
        count: flowc_syntax::syntax::ast::EmailCount,
        template: Option<TemplateId>,
        to: Expr,
        /// `with subject contains "更新"`: only emails whose rendered part
        /// contains the text count.
        contains: Option<(EmailPart, Expr)>,
    },
    /// `expect task "T" for u`, `expect 1 task for u` (any title).
    ExpectTask {
        count: flowc_syntax::syntax::ast::EmailCount,
        title: Option<String>,
        assignee: Expr,
    },
    /// `expect update o set amount = 1 is refused`: the write must fail.
    ExpectRefused {
        var: VarId,
        record: RecordId,
        fields: Vec<(FieldId, Expr)>,
    },
    ExpectApproval {
        negated: bool,
        subject: Option<Expr>,
    },
    ExpectRun {
        rule: RuleId,
        subject: Expr,
        state: RunState,
    },
}

/// The part of a sent email `expect … with PART contains …` looks at.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EmailPart {
    Subject,
    Body,
}

impl EmailPart {
    pub const ALL: [EmailPart; 2] = [EmailPart::Subject, EmailPart::Body];
    pub fn as_str(self) -> &'static str {
        match self {
            EmailPart::Subject => "subject",
            EmailPart::Body => "body",
        }
    }
}

/// The life of a run, as `flow_runs.status` stores it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RunState {
    Running,
    Waiting,
    Done,
    Failed,
    Rejected,
}

impl RunState {
    pub const ALL: [RunState; 5] = [
        RunState::Running,
        RunState::Waiting,
        RunState::Done,
        RunState::Failed,
        RunState::Rejected,
    ];
    pub fn as_str(self) -> &'static str {
        match self {
            RunState::Running => "running",
            RunState::Waiting => "waiting",
            RunState::Done => "done",
            RunState::Failed => "failed",
            RunState::Rejected => "rejected",
        }
    }
    pub fn parse(text: &str) -> Option<RunState> {
        RunState::ALL.into_iter().find(|s| s.as_str() == text)
    }
}

// ---------------------------------------------------------------- expressions

#[derive(Clone, Debug, PartialEq)]
pub struct Expr {
    pub kind: ExprKind,
    pub ty: Ty,
    pub span: Span,
}

/// A constant value in the IR.
#[derive(Clone, Debug, PartialEq)]
pub enum Literal {
    Null,
    Int(i64),
    Decimal(f64),
    Text(String),
    Bool(bool),
    /// Day number (days since 1970-01-01).
    Date(i32),
    /// Unix seconds.
    DateTime(i64),
    /// Seconds.
    Duration(i64),
    /// Index into the enum's values.
    Enum(EnumId, u32),
}

/// Which numeric representation an arithmetic operator works on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Num {
    Int,
    Decimal,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ArithOp {
    /// `int + int`, `decimal + decimal`
    Add(Num),
    Sub(Num),
    Mul(Num),
    /// Always decimal: `int / int` is converted first (7 / 2 = 3.5).
    Div,
    /// Euclidean remainder of ints (never negative).
    Rem,
    /// `text + text`
    Concat,
    /// `date + duration` (whole days), `date - duration`
    DateAdd,
    DateSub,
    /// `date - date` = days (int)
    DateDiff,
    /// `datetime ± duration`, `datetime - datetime` = duration
    DateTimeAdd,
    DateTimeSub,
    DateTimeDiff,
    /// `duration ± duration`
    DurationAdd,
    DurationSub,
    /// `duration * int`
    DurationMul,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CmpOp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

/// The representation both sides of a comparison have.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CmpType {
    /// int, date (day numbers), datetime, duration, enum (declaration
    /// order), reference (row id), bool: all compare as integers.
    Int,
    Decimal,
    Text,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Builtin {
    Weekday,
    Year,
    Month,
    Day,
    /// datetime → local date
    DateOf,
    /// `d + 4mo`, `add_months(t, n)`: a date or a datetime moved by calendar
    /// months, clamped to the month's end; a datetime keeps its local time
    /// in the project's zone.
    AddMonths,
    /// `d at "10:00"`: the local time (seconds after midnight, the second
    /// argument) on the date, as a datetime in the project's zone.
    AtTime,
    Days,
    Hours,
    Minutes,
    /// `is_business_day(d)`: the last argument is the calendar's index in
    /// [`Schema::calendars`] (an int literal), as for the three below.
    IsBusinessDay,
    /// `next_business_day(d)`: the first business day strictly after `d`.
    NextBusinessDay,
    /// `add_business_days(d, n)`: a date, or a datetime keeping its local
    /// time (`wait 3 business days`), moved by business days.
    AddBusinessDays,
    /// A datetime moved by this many seconds of open hours (`wait 4
    /// business hours`).
    AddBusinessSeconds,
    /// Floor division of ints.
    Div,
    AbsInt,
    AbsDecimal,
    Round,
    Floor,
    Ceil,
    Lower,
    Upper,
    Trim,
    Length,
    After,
    Before,
    /// Any value → its text form.
    ToText,
    Coalesce,
    MinOf,
    MaxOf,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum AggFunc {
    Sum,
    Count,
    Avg,
    Min,
    Max,
}

#[derive(Clone, Debug, PartialEq)]
pub enum ExprKind {
    Lit(Literal),
    /// A local: the rule's subject (0), a test variable, an aggregate's row.
    Var(VarId),
    /// A field of the row `base` refers to.
    Field {
        base: Box<Expr>,
        record: RecordId,
        field: FieldId,
    },
    /// The subject's value before the change that triggered the rule.
    Old {
        record: RecordId,
        field: FieldId,
    },
    /// A key of the triggering event's JSON payload (type `Any`).
    EventField(String),
    /// Converts to `ty` (int → decimal, `Any` → anything; text → enum).
    Cast(Box<Expr>),
    Neg(Box<Expr>),
    Not(Box<Expr>),
    And(Box<Expr>, Box<Expr>),
    Or(Box<Expr>, Box<Expr>),
    Arith {
        op: ArithOp,
        left: Box<Expr>,
        right: Box<Expr>,
    },
    Compare {
        op: CmpOp,
        ty: CmpType,
        left: Box<Expr>,
        right: Box<Expr>,
    },
    /// `low <= value <= high`; false when any is null.
    Between {
        value: Box<Expr>,
        low: Box<Expr>,
        high: Box<Expr>,
        ty: CmpType,
        negated: bool,
    },
    /// `value in [items]`; false when `value` is null, negated or not.
    In {
        value: Box<Expr>,
        items: Vec<Expr>,
        ty: CmpType,
        negated: bool,
    },
    Contains {
        text: Box<Expr>,
        part: Box<Expr>,
        negated: bool,
    },
    StartsWith {
        text: Box<Expr>,
        prefix: Box<Expr>,
    },
    IsNull {
        value: Box<Expr>,
        negated: bool,
    },
    If {
        condition: Box<Expr>,
        then: Box<Expr>,
        otherwise: Box<Expr>,
    },
    InList {
        value: Box<Expr>,
        list: ListId,
        negated: bool,
    },
    InSegment {
        value: Box<Expr>,
        segment: SegmentId,
        negated: bool,
    },
    HasTag {
        value: Box<Expr>,
        tag: Box<Expr>,
    },
    Engaged {
        record: Box<Expr>,
        template: TemplateId,
        clicked: bool,
    },
    /// `R is [not] unsubscribed`: whether the address in R's `email_field`
    /// is suppressed, for any reason (§8). An address that is null or empty
    /// is not suppressed; a null R gives false, negated or not (like
    /// `not in list`).
    Unsubscribed {
        record: Box<Expr>,
        email_field: FieldId,
        negated: bool,
    },
    Call {
        function: Builtin,
        args: Vec<Expr>,
    },
    CallFn {
        function: FnId,
        args: Vec<Expr>,
    },
    /// The single row of `record` whose `field` equals `value`.
    Lookup {
        record: RecordId,
        field: FieldId,
        value: Box<Expr>,
    },
    Aggregate(Box<Aggregate>),
    Today,
    Now,
}

/// `sum(line_item.price for line_item.opportunity == opportunity and …)`.
///
/// The checker splits the condition into an index `key` (the row's
/// reference field equal to an outer value), which SQL can answer directly,
/// and a residual `filter` evaluated per row.
#[derive(Clone, Debug, PartialEq)]
pub struct Aggregate {
    pub function: AggFunc,
    pub record: RecordId,
    /// The variable that names the current row in `value` and `filter`.
    pub row: VarId,
    pub key: Option<(FieldId, Expr)>,
    pub filter: Option<Expr>,
    /// `None` for `count(row for …)`.
    pub value: Option<Expr>,
}

impl Expr {
    pub fn new(kind: ExprKind, ty: Ty, span: Span) -> Expr {
        Expr { kind, ty, span }
    }

    /// Calls `f` on each direct child expression.
    pub fn for_each_child(&self, mut f: impl FnMut(&Expr)) {
        match &self.kind {
            ExprKind::Lit(_)
            | ExprKind::Var(_)
            | ExprKind::Old { .. }
            | ExprKind::EventField(_)
            | ExprKind::Today
            | ExprKind::Now => {}
            ExprKind::Field { base: e, .. }
            | ExprKind::Cast(e)
            | ExprKind::Neg(e)
            | ExprKind::Not(e)
            | ExprKind::IsNull { value: e, .. }
            | ExprKind::InList { value: e, .. }
            | ExprKind::InSegment { value: e, .. }
            | ExprKind::Engaged { record: e, .. }
            | ExprKind::Unsubscribed { record: e, .. }
            | ExprKind::Lookup { value: e, .. } => f(e),
            ExprKind::And(a, b)
            | ExprKind::Or(a, b)
            | ExprKind::Arith {
                left: a, right: b, ..
            }
            | ExprKind::Compare {
                left: a, right: b, ..
            }
            | ExprKind::Contains {
                text: a, part: b, ..
            }
            | ExprKind::StartsWith { text: a, prefix: b }
            | ExprKind::HasTag { value: a, tag: b } => {
                f(a);
                f(b);
            }
            ExprKind::Between {
                value, low, high, ..
            } => {
                f(value);
                f(low);
                f(high);
            }
            ExprKind::In { value, items, .. } => {
                f(value);
                items.iter().for_each(f);
            }
            ExprKind::If {
                condition,
                then,
                otherwise,
            } => {
                f(condition);
                f(then);
                f(otherwise);
            }
            ExprKind::Call { args, .. } | ExprKind::CallFn { args, .. } => args.iter().for_each(f),
            ExprKind::Aggregate(a) => {
                if let Some((_, k)) = &a.key {
                    f(k);
                }
                if let Some(e) = &a.filter {
                    f(e);
                }
                if let Some(e) = &a.value {
                    f(e);
                }
            }
        }
    }

    /// Calls `f` on this expression and every expression below it.
    pub fn walk(&self, f: &mut impl FnMut(&Expr)) {
        f(self);
        self.for_each_child(|c| c.walk(f));
    }
}

impl fmt::Display for Literal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Literal::Null => write!(f, "null"),
            Literal::Int(v) => write!(f, "{v}"),
            Literal::Decimal(v) => write!(f, "{v:?}"),
            Literal::Text(v) => write!(f, "{v:?}"),
            Literal::Bool(v) => write!(f, "{v}"),
            Literal::Date(d) => write!(f, "{}", flowc_syntax::time::format_date(*d)),
            Literal::DateTime(t) => write!(f, "@{t}"),
            Literal::Duration(s) => write!(f, "{}", flowc_syntax::time::format_duration(*s)),
            Literal::Enum(e, i) => write!(f, "enum{}#{i}", e.0),
        }
    }
}
