//! What compiled code refers to by number, and what its entry checks.
//!
//! The translator fills a [`Plan`] while it emits code: a text literal
//! becomes an index into [`Plan::texts`], a runtime call an index into
//! [`Plan::calls`], an aggregate an index into [`Plan::aggregates`]. The
//! runtime reads the same plan through the context, so the code itself
//! holds no pointers but the ones it is passed.

use flowc_check::ir::{
    AggFunc, ArithOp, Builtin, CmpOp, CmpType, FieldId, ListId, RecordId, SegmentId, TemplateId,
    Type,
};
use flowc_vm::value::Tag;
use std::rc::Rc;

/// The tables of one compiled expression.
#[derive(Debug, Default)]
pub struct Plan {
    /// Texts written in the expression (handles of kind `TEXT_CONST`).
    pub texts: Vec<Rc<str>>,
    /// What each `flowc_jit_call` site asks for.
    pub calls: Vec<CallPlan>,
    /// What each `flowc_jit_aggregate` site computes.
    pub aggregates: Vec<AggregatePlan>,
    /// For each compiled function (0 = the expression, then the aggregate
    /// blocks in order): the IR type its result is boxed as.
    pub results: Vec<Type>,
    /// For each caller variable the code reads: the type it is read as.
    pub vars: Vec<Option<Type>>,
    /// Whether the code reads the caller's frame of variables (if not,
    /// the entry passes none).
    pub reads_frame: bool,
    /// Whether the code reads `today` / `now` (from the context).
    pub reads_today: bool,
    pub reads_now: bool,
    /// Whether the code reads the subject row's slots.
    pub reads_subject: bool,
    /// How many slots the subject row must have for the code to read them.
    pub subject_len: usize,
    /// The subject fields read directly, with the tag each must have when
    /// not null: checked on entry (a mismatch bails out to the VM), so
    /// that the code only loads; a text slot's handle is checked too, so
    /// that the runtime never meets a bad one.
    pub subject_fields: Vec<(usize, Tag)>,
}

impl Plan {
    /// The handle of a text literal (reusing an equal one).
    pub fn text(&mut self, text: &str) -> u64 {
        let index = match self.texts.iter().position(|t| **t == *text) {
            Some(i) => i,
            None => {
                self.texts.push(Rc::from(text));
                self.texts.len() - 1
            }
        };
        super::abi::TEXT_CONST | index as u64
    }

    /// Notes that the code reads subject field `field`, whose non-null
    /// slots have tag `tag`.
    pub fn read_subject(&mut self, field: usize, tag: Tag) {
        self.reads_subject = true;
        self.subject_len = self.subject_len.max(field + 1);
        if !self.subject_fields.contains(&(field, tag)) {
            self.subject_fields.push((field, tag));
        }
    }

    /// Notes that caller variable `var` is read as `ty`; false if it is
    /// already read as a type of another kind.
    pub fn read_var(&mut self, var: usize, ty: Type) -> bool {
        if self.vars.len() <= var {
            self.vars.resize(var + 1, None);
        }
        match self.vars[var] {
            None => {
                self.vars[var] = Some(ty);
                true
            }
            Some(seen) => super::abi::tag_of(seen) == super::abi::tag_of(ty),
        }
    }
}

/// One runtime call site: the operation, the IR types its arguments are
/// boxed as, and the type its result is unboxed as.
#[derive(Debug)]
pub struct CallPlan {
    pub op: CallOp,
    pub args: Vec<Type>,
    pub result: Type,
}

/// What a runtime call does: exactly what the VM instruction of the same
/// name does (see `vm/exec.rs`), on boxed values.
#[derive(Debug)]
pub enum CallOp {
    /// A field of the row the argument refers to.
    Field {
        record: RecordId,
        field: FieldId,
    },
    Old {
        record: RecordId,
        field: FieldId,
    },
    Event {
        key: Rc<str>,
    },
    /// `Cast` to the result type.
    Convert,
    Neg,
    Arith(ArithOp),
    Compare(CmpOp, CmpType),
    Builtin(Builtin),
    /// `text(x)` of a value of this type.
    ToText(Type),
    InList {
        list: ListId,
        negated: bool,
    },
    InSegment {
        segment: SegmentId,
        negated: bool,
    },
    HasTag {
        record: RecordId,
    },
    Engaged {
        record: RecordId,
        template: TemplateId,
        clicked: bool,
    },
    Unsubscribed {
        record: RecordId,
        email_field: FieldId,
        negated: bool,
    },
    Lookup {
        record: RecordId,
        field: FieldId,
    },
}

/// One aggregate: the rows of `record` (matching the key), each run
/// through the filter and value blocks.
#[derive(Debug)]
pub struct AggregatePlan {
    pub function: AggFunc,
    /// The aggregate's IR result type (the empty sum's zero, the unboxing).
    pub result: Type,
    pub record: RecordId,
    /// The key field and the IR type of the key value, which the parent
    /// stores in frame cell `key_cell`.
    pub key: Option<(FieldId, Type)>,
    pub key_cell: usize,
    /// The compiled functions of the filter and value blocks.
    pub filter: Option<usize>,
    pub value: Option<usize>,
}
