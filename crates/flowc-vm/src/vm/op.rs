//! The bytecode: a register machine. Every instruction names its
//! destination register and its operands; jumps are absolute.

use flowc_check::ir::{
    ArithOp, Builtin, CmpOp, CmpType, FieldId, ListId, RecordId, SegmentId, TemplateId, Type,
};

/// A register index.
pub type Reg = u16;

#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Op {
    /// `dst = consts[index]`
    Const {
        dst: Reg,
        index: u32,
    },
    /// `dst = vars[var]`
    Var {
        dst: Reg,
        var: u32,
    },
    /// `vars[var] = src`
    SetVar {
        var: u32,
        src: Reg,
    },
    /// `dst = subject_row[field]`: the subject's own fields, without a lookup.
    Subject {
        dst: Reg,
        field: u32,
    },
    /// `dst = field of the row src refers to` (null if src is null)
    Field {
        dst: Reg,
        src: Reg,
        record: RecordId,
        field: FieldId,
    },
    Old {
        dst: Reg,
        record: RecordId,
        field: FieldId,
    },
    /// `dst = event payload[consts[key]]`
    Event {
        dst: Reg,
        key: u32,
    },
    /// Converts to `ty` (`Record → Int` is `.id`).
    Cast {
        dst: Reg,
        src: Reg,
        ty: Type,
    },
    Neg {
        dst: Reg,
        src: Reg,
    },
    /// `dst = not truthy(src)`
    Not {
        dst: Reg,
        src: Reg,
    },
    Arith {
        op: ArithOp,
        dst: Reg,
        a: Reg,
        b: Reg,
    },
    Cmp {
        op: CmpOp,
        ty: CmpType,
        dst: Reg,
        a: Reg,
        b: Reg,
    },
    Between {
        ty: CmpType,
        negated: bool,
        dst: Reg,
        value: Reg,
        low: Reg,
        high: Reg,
    },
    /// `dst = value [not] in regs[first .. first + count]`
    In {
        ty: CmpType,
        negated: bool,
        dst: Reg,
        value: Reg,
        first: Reg,
        count: u16,
    },
    Contains {
        negated: bool,
        dst: Reg,
        text: Reg,
        part: Reg,
    },
    StartsWith {
        dst: Reg,
        text: Reg,
        prefix: Reg,
    },
    IsNull {
        negated: bool,
        dst: Reg,
        src: Reg,
    },
    InList {
        negated: bool,
        dst: Reg,
        src: Reg,
        list: ListId,
    },
    InSegment {
        negated: bool,
        dst: Reg,
        src: Reg,
        segment: SegmentId,
    },
    HasTag {
        dst: Reg,
        src: Reg,
        record: RecordId,
        tag: Reg,
    },
    Engaged {
        dst: Reg,
        src: Reg,
        record: RecordId,
        template: TemplateId,
        clicked: bool,
    },
    /// `dst = src is [not] unsubscribed`; false when `src` is null.
    Unsubscribed {
        negated: bool,
        dst: Reg,
        src: Reg,
        record: RecordId,
        email_field: FieldId,
    },
    /// `dst = f(regs[first .. first + count])`
    Builtin {
        f: Builtin,
        dst: Reg,
        first: Reg,
        count: u16,
    },
    ToText {
        dst: Reg,
        src: Reg,
        ty: Type,
    },
    Lookup {
        dst: Reg,
        record: RecordId,
        field: FieldId,
        src: Reg,
    },
    /// `dst = aggregates[index]`, with the index key in `key` (if it has one).
    Aggregate {
        dst: Reg,
        index: u32,
        key: Reg,
    },
    Today {
        dst: Reg,
    },
    Now {
        dst: Reg,
    },
    Move {
        dst: Reg,
        src: Reg,
    },
    Jump {
        to: u32,
    },
    JumpIfFalse {
        cond: Reg,
        to: u32,
    },
    JumpIfTrue {
        cond: Reg,
        to: u32,
    },
    JumpIfNull {
        src: Reg,
        to: u32,
    },
    /// Ends the current block with `src` as its value.
    Return {
        src: Reg,
    },
}

/// How one aggregate runs: the rows of `record` (matching the key), with
/// the filter and value blocks run for each row bound to `row_var`.
#[derive(Clone, Debug, PartialEq)]
pub struct AggregateCode {
    pub function: flowc_check::ir::AggFunc,
    pub result: Type,
    pub record: RecordId,
    pub row_var: u32,
    pub key_field: Option<FieldId>,
    /// Start of the block that computes the filter, if any.
    pub filter: Option<u32>,
    /// Start of the block that computes the value (`None` for `count`).
    pub value: Option<u32>,
}
