//! The untyped syntax tree: what the user wrote, with spans, nothing resolved.
//!
//! Every node the formatter prints on its own line carries a span so that
//! comments can be put back next to it.

use crate::source::Span;

/// A name as written, with where it was written.
#[derive(Clone, Debug, PartialEq)]
pub struct Ident {
    pub name: String,
    pub span: Span,
}

/// A double-quoted text literal, escapes resolved.
#[derive(Clone, Debug, PartialEq)]
pub struct Text {
    pub value: String,
    pub span: Span,
}

/// One parsed `.flow` file.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct Module {
    pub items: Vec<Item>,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Item {
    Timezone(TimezoneDecl),
    Sender(SenderDecl),
    Enum(EnumDecl),
    Record(RecordDecl),
    List(ListDecl),
    Segment(SegmentDecl),
    Template(TemplateDecl),
    Calendar(CalendarDecl),
    Event(EventDecl),
    Form(FormDecl),
    Fn(FnDecl),
    Rule(Box<RuleDecl>),
    Test(TestDecl),
}

impl Item {
    pub fn span(&self) -> Span {
        match self {
            Item::Timezone(d) => d.span,
            Item::Sender(d) => d.span,
            Item::Enum(d) => d.span,
            Item::Record(d) => d.span,
            Item::List(d) => d.span,
            Item::Segment(d) => d.span,
            Item::Template(d) => d.span,
            Item::Calendar(d) => d.span,
            Item::Event(d) => d.span,
            Item::Form(d) => d.span,
            Item::Fn(d) => d.span,
            Item::Rule(d) => d.span,
            Item::Test(d) => d.span,
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct TimezoneDecl {
    pub zone: Text,
    pub span: Span,
}

/// `sender { from: "…", reply_to: "…", postal_address: "…" }`: who the
/// project's email comes from. The keys are checked later.
#[derive(Clone, Debug, PartialEq)]
pub struct SenderDecl {
    pub fields: Vec<SenderField>,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq)]
pub struct SenderField {
    pub key: Ident,
    pub value: Text,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq)]
pub struct EnumDecl {
    pub name: Ident,
    pub values: Vec<Text>,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq)]
pub struct RecordDecl {
    pub name: Ident,
    pub fields: Vec<FieldDecl>,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq)]
pub struct FieldDecl {
    pub name: Ident,
    pub ty: TypeExpr,
    pub span: Span,
}

/// `event form_submitted on contact { form: text, utm_source: text? }`: a
/// declared event and the typed keys of its payload (written like fields).
#[derive(Clone, Debug, PartialEq)]
pub struct EventDecl {
    pub name: Ident,
    pub record: Ident,
    pub keys: Vec<FieldDecl>,
    pub span: Span,
}

/// `int`, `contact?`, `stage`: a type name, maybe nullable.
#[derive(Clone, Debug, PartialEq)]
pub struct TypeExpr {
    pub name: Ident,
    pub nullable: bool,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq)]
pub struct ListDecl {
    pub name: Ident,
    pub of: Ident,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq)]
pub struct SegmentDecl {
    pub name: Ident,
    pub of: Ident,
    pub condition: Expr,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq)]
pub struct TemplateDecl {
    pub name: Ident,
    /// `template NAME transactional { … }`; without it, marketing email.
    pub transactional: bool,
    pub fields: Vec<TemplateField>,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq)]
pub struct TemplateField {
    pub key: Ident,
    pub value: TemplateText,
    pub span: Span,
}

/// A template part: inline text, or `file "path"` relative to the project.
#[derive(Clone, Debug, PartialEq)]
pub enum TemplateText {
    Inline(Text),
    File(Text),
}

/// The inside of one `{{ … }}` in a template's text: an expression and at
/// most one format. Parsed by [`crate::syntax::parse_placeholder`].
#[derive(Clone, Debug, PartialEq)]
pub struct Placeholder {
    pub expr: Expr,
    pub format: Option<FormatSpec>,
}

/// `| yen`, `| date "YYYY/MM/DD"`, `| or '—'`: a format's name and its
/// argument, not yet checked.
#[derive(Clone, Debug, PartialEq)]
pub struct FormatSpec {
    pub name: Ident,
    pub arg: Option<Text>,
    /// From the `|` to the end of the argument.
    pub span: Span,
}

/// `calendar NAME { weekends: …  holidays: …  hours: … }`: when the
/// business named NAME is open. Keys and values are checked later.
#[derive(Clone, Debug, PartialEq)]
pub struct CalendarDecl {
    pub name: Ident,
    pub fields: Vec<CalendarField>,
    pub span: Span,
}

/// `holidays: japan, file "h.txt"`: a key and its comma-separated items.
#[derive(Clone, Debug, PartialEq)]
pub struct CalendarField {
    pub key: Ident,
    pub items: Vec<CalendarItem>,
    pub span: Span,
}

/// `form NAME on RECORD by FIELD redirect "URL"`: what `POST /forms/NAME`
/// fills (`flowc serve`). The record, field and URL are checked later.
#[derive(Clone, Debug, PartialEq)]
pub struct FormDecl {
    pub name: Ident,
    pub record: Ident,
    /// The field that finds an existing record (`email`).
    pub by: Ident,
    /// Where the browser goes after a submission; without it, a thank-you page.
    pub redirect: Option<Text>,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq)]
pub enum CalendarItem {
    /// `saturday`, `japan`
    Name(Ident),
    /// `file "company_holidays.txt"`, relative to the project
    File(Text),
    /// `"09:00" to "18:00"`
    Hours(Text, Text),
}

#[derive(Clone, Debug, PartialEq)]
pub struct FnDecl {
    pub name: Ident,
    pub params: Vec<Param>,
    pub ret: TypeExpr,
    pub body: Expr,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Param {
    pub name: Ident,
    pub ty: TypeExpr,
}

#[derive(Clone, Debug, PartialEq)]
pub struct RuleDecl {
    pub name: Ident,
    pub trigger: Trigger,
    pub filter: Option<Expr>,
    pub options: Vec<RuleOption>,
    pub steps: Vec<Step>,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Trigger {
    pub kind: TriggerKind,
    pub span: Span,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lifecycle {
    Created,
    Updated,
    Deleted,
}

#[derive(Clone, Debug, PartialEq)]
pub enum TriggerKind {
    /// `when R is created|updated|deleted`
    Record { record: Ident, what: Lifecycle },
    /// `when R.f changes [from V] [to W]`
    Changes {
        record: Ident,
        field: Ident,
        from: Option<Expr>,
        to: Option<Expr>,
    },
    /// `when R becomes COND`
    Becomes { record: Ident, condition: Expr },
    /// `when event NAME on R`
    Event { name: Ident, record: Ident },
    /// `every SCHEDULE [for each R]`
    Every {
        schedule: Schedule,
        each: Option<Ident>,
    },
}

#[derive(Clone, Debug, PartialEq)]
pub enum Schedule {
    /// `every day at "09:00"`
    Daily { at: Text },
    /// `every monday at "09:00"`
    Weekly { day: Ident, at: Text },
    /// `every 1h`
    Interval { every: Expr },
}

#[derive(Clone, Debug, PartialEq)]
pub enum RuleOption {
    /// `reenter after 60d`; `reenter never` has no duration.
    Reenter { after: Option<Expr>, span: Span },
    /// `goal COND`: when the subject meets it, the run ends and counts as
    /// a conversion; with `, continue` (`continues`) it only counts.
    Goal {
        condition: Expr,
        continues: bool,
        span: Span,
    },
    /// `send during CALENDAR`: the rule's email is held until it is open.
    SendDuring { calendar: Ident, span: Span },
}

#[derive(Clone, Debug, PartialEq)]
pub struct Step {
    pub label: Option<Ident>,
    pub kind: StepKind,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq)]
pub enum StepKind {
    AddToList {
        item: Expr,
        list: Ident,
    },
    RemoveFromList {
        item: Expr,
        list: Ident,
    },
    Tag {
        target: Expr,
        tag: Text,
    },
    Untag {
        target: Expr,
        tag: Text,
    },
    Set {
        target: Expr,
        value: Expr,
    },
    SendEmail {
        template: Ident,
        to: Expr,
    },
    Notify {
        to: NotifyTarget,
        message: Message,
    },
    CreateTask {
        title: Text,
        assignee: Expr,
        due: Option<Expr>,
    },
    Assign {
        target: Expr,
        cases: Vec<AssignCase>,
        otherwise: Option<Expr>,
    },
    Wait(Wait),
    If {
        branches: Vec<Branch>,
        otherwise: Option<Block>,
    },
    RequireApproval {
        from: Expr,
        on_reject: Option<Block>,
    },
    Lock(Expr),
    Unlock(Expr),
    Stop,
}

#[derive(Clone, Debug, PartialEq)]
pub enum NotifyTarget {
    Role(Text),
    Expr(Expr),
}

/// What `notify` says: an inline text with placeholders, or a template.
#[derive(Clone, Debug, PartialEq)]
pub enum Message {
    Inline(Text),
    Template(Ident),
}

#[derive(Clone, Debug, PartialEq)]
pub struct AssignCase {
    pub condition: Expr,
    pub value: Expr,
    pub span: Span,
}

/// `if COND` (or `else if COND`) and its steps.
#[derive(Clone, Debug, PartialEq)]
pub struct Branch {
    pub condition: Expr,
    pub steps: Vec<Step>,
    pub span: Span,
}

/// A run of steps with the span of the keyword that opened it.
#[derive(Clone, Debug, PartialEq)]
pub struct Block {
    pub steps: Vec<Step>,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Wait {
    /// `wait DURATION [unless …]`
    For {
        duration: Expr,
        unless: Option<Unless>,
    },
    /// `wait until COND, at most DURATION` or `wait until DATE`
    Until { target: Expr, at_most: Option<Expr> },
    /// `wait 3 business days`, `wait 4 business hours`: counted on the
    /// calendar named `calendar`.
    Business {
        amount: i64,
        /// `wait (contact.sla_days) business days`: the count, computed
        /// when the wait starts (`amount` is then 0).
        count: Option<Expr>,
        calendar: Ident,
        unit: BusinessUnit,
        span: Span,
    },
}

/// What a business wait counts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BusinessUnit {
    /// Business days, waking at the same local time.
    Days,
    /// Open hours only.
    Hours,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Unless {
    /// `unless event NAME`: an event of that name on the run's subject.
    Event(Ident),
    /// `unless COND` (including `R opened T`).
    Condition(Expr),
}

// ---------------------------------------------------------------- tests

#[derive(Clone, Debug, PartialEq)]
pub struct TestDecl {
    pub name: Text,
    pub steps: Vec<TestStep>,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq)]
pub struct TestStep {
    pub kind: TestStepKind,
    pub span: Span,
}

/// `field: value` in a record literal, or `field = value` in `update … set`.
#[derive(Clone, Debug, PartialEq)]
pub struct FieldValue {
    pub field: Ident,
    pub value: Expr,
}

#[derive(Clone, Debug, PartialEq)]
pub enum TestStepKind {
    Given {
        record: Ident,
        var: Ident,
        fields: Vec<FieldValue>,
    },
    Update {
        var: Ident,
        fields: Vec<FieldValue>,
    },
    Delete {
        var: Ident,
    },
    Event {
        name: Ident,
        on: Ident,
        data: Vec<FieldValue>,
    },
    Approve {
        target: Option<Expr>,
    },
    Reject {
        target: Option<Expr>,
    },
    After {
        duration: Expr,
    },
    Expect(Expectation),
}

/// How many emails (or tasks) an `expect … email` (`expect … task`) means.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EmailCount {
    /// `expect email …`: at least one.
    Some,
    /// `expect no email …`
    None,
    /// `expect 2 emails …`
    Exactly(u32),
}

/// `with subject contains "更新"` after `expect … email … to …`: a part
/// of the rendered email (`subject`, `body`; checked later) and the text
/// it must contain.
#[derive(Clone, Debug, PartialEq)]
pub struct EmailFilter {
    pub part: Ident,
    pub text: Expr,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Expectation {
    Condition(Expr),
    Email {
        count: EmailCount,
        template: Option<Ident>,
        to: Expr,
        with: Option<EmailFilter>,
    },
    /// `expect task "T" for u`, `expect 1 task for u`, `expect no task for u`.
    Task {
        count: EmailCount,
        title: Option<Text>,
        assignee: Expr,
    },
    /// `expect update o set amount = 1 is refused`.
    Refused {
        var: Ident,
        fields: Vec<FieldValue>,
    },
    Approval {
        negated: bool,
        subject: Option<Expr>,
    },
    Run {
        rule: Ident,
        subject: Expr,
        state: Ident,
    },
}

// ---------------------------------------------------------------- expressions

#[derive(Clone, Debug, PartialEq)]
pub struct Expr {
    pub kind: ExprKind,
    pub span: Span,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum BinaryOp {
    Add,
    Sub,
    Mul,
    Div,
    Rem,
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    And,
    Or,
}

impl BinaryOp {
    pub fn symbol(self) -> &'static str {
        match self {
            BinaryOp::Add => "+",
            BinaryOp::Sub => "-",
            BinaryOp::Mul => "*",
            BinaryOp::Div => "/",
            BinaryOp::Rem => "%",
            BinaryOp::Eq => "==",
            BinaryOp::Ne => "!=",
            BinaryOp::Lt => "<",
            BinaryOp::Le => "<=",
            BinaryOp::Gt => ">",
            BinaryOp::Ge => ">=",
            BinaryOp::And => "and",
            BinaryOp::Or => "or",
        }
    }

    pub fn is_comparison(self) -> bool {
        matches!(
            self,
            BinaryOp::Eq | BinaryOp::Ne | BinaryOp::Lt | BinaryOp::Le | BinaryOp::Gt | BinaryOp::Ge
        )
    }
}

#[derive(Clone, Debug, PartialEq)]
pub enum ExprKind {
    Int(i64),
    Decimal(f64),
    Text(String),
    Bool(bool),
    Null,
    /// Days since 1970-01-01.
    Date(i32),
    /// A datetime literal as written; its zone is applied by the checker.
    DateTime(String),
    /// Seconds.
    Duration(i64),
    /// Calendar months: `4mo`, `1y` (12), `-1y6mo` (-18). They have no
    /// length in seconds; the checker allows them only where a date or a
    /// local time is moved by them.
    Months(i64),
    Today,
    Now,
    /// A bare name: a record subject, a variable, a parameter.
    Name(Ident),
    /// `base.field`
    Field {
        base: Box<Expr>,
        field: Ident,
    },
    /// `old.field` inside a change trigger.
    Old(Ident),
    /// `event.key` inside an event rule.
    EventField(Ident),
    Neg(Box<Expr>),
    Not(Box<Expr>),
    Binary {
        op: BinaryOp,
        left: Box<Expr>,
        right: Box<Expr>,
    },
    If {
        condition: Box<Expr>,
        then: Box<Expr>,
        otherwise: Box<Expr>,
    },
    /// `DATE at "HH:MM"`: that local time on that date.
    At {
        date: Box<Expr>,
        time: Text,
    },
    /// `[a, b, c]`, only meaningful after `in`.
    ListLit(Vec<Expr>),
    Between {
        value: Box<Expr>,
        low: Box<Expr>,
        high: Box<Expr>,
        negated: bool,
    },
    In {
        value: Box<Expr>,
        set: Box<Expr>,
        negated: bool,
    },
    InList {
        value: Box<Expr>,
        list: Ident,
        negated: bool,
    },
    InSegment {
        value: Box<Expr>,
        segment: Ident,
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
    HasTag {
        value: Box<Expr>,
        tag: Box<Expr>,
    },
    /// `R is unsubscribed`: R's email address is suppressed (§8).
    Unsubscribed {
        record: Box<Expr>,
        negated: bool,
    },
    Opened {
        record: Box<Expr>,
        template: Ident,
    },
    Clicked {
        record: Box<Expr>,
        template: Ident,
    },
    Call {
        function: Ident,
        args: Vec<Expr>,
    },
    /// `user(email: "x")`
    Lookup {
        record: Ident,
        field: Ident,
        value: Box<Expr>,
    },
    /// `sum(line_item.price for line_item.opportunity == opportunity)`
    Aggregate {
        function: Ident,
        value: Box<Expr>,
        condition: Box<Expr>,
    },
}
