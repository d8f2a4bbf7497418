//! The names an expression can see, and what it may use.

use crate::ir::{RecordId, Ty, Type, VarId};

/// The variable messages use for the record an email goes to.
pub const RECIPIENT: VarId = VarId(1);
/// The first variable an aggregate's row can take (0 is the subject).
const FIRST_FREE: u32 = 2;

#[derive(Clone, Debug)]
pub(crate) struct Var {
    pub name: String,
    pub ty: Ty,
    pub id: VarId,
}

/// Names in scope, innermost last, and the context's permissions.
#[derive(Clone, Debug)]
pub(crate) struct Scope {
    vars: Vec<Var>,
    next: u32,
    /// `old.f` is allowed: the subject's record in a `changes` trigger.
    pub old: Option<RecordId>,
    /// `event.k` is allowed: the rule is triggered by an event.
    pub event: bool,
    /// The triggering event's declaration (its index in `Schema::events`):
    /// `event.k` is typed by it. `None`: an undeclared event, untyped.
    pub event_decl: Option<usize>,
    /// Paths known not to be null here (`contact.employees`), from
    /// `is not null` tests that guard this expression.
    pub not_null: Vec<String>,
}

impl Scope {
    fn empty() -> Scope {
        Scope {
            vars: Vec::new(),
            next: FIRST_FREE,
            old: None,
            event: false,
            event_decl: None,
            not_null: Vec::new(),
        }
    }

    /// A rule or segment: the subject, named after its record, is variable 0.
    pub fn for_subject(name: &str, record: RecordId) -> Scope {
        let mut scope = Scope::empty();
        scope.vars.push(Var {
            name: name.to_string(),
            ty: Ty::new(Type::Record(record)),
            id: VarId(0),
        });
        scope
    }

    /// A function: its parameters are variables `0..n`.
    pub fn for_function(params: &[(String, Ty)]) -> Scope {
        let mut scope = Scope::empty();
        for (i, (name, ty)) in params.iter().enumerate() {
            scope.vars.push(Var {
                name: name.clone(),
                ty: *ty,
                id: VarId(i as u32),
            });
        }
        scope.next = scope.next.max(params.len() as u32);
        scope
    }

    /// A test: its `given` variables.
    pub fn for_test(vars: &[(String, RecordId)]) -> Scope {
        let mut scope = Scope::empty();
        for (i, (name, record)) in vars.iter().enumerate() {
            scope.vars.push(Var {
                name: name.clone(),
                ty: Ty::new(Type::Record(*record)),
                id: VarId(i as u32),
            });
        }
        scope.next = scope.next.max(vars.len() as u32);
        scope
    }

    pub fn lookup(&self, name: &str) -> Option<&Var> {
        self.vars.iter().rev().find(|v| v.name == name)
    }

    /// Brings a new variable into scope (an aggregate's row); undo with `pop`.
    pub fn push(&mut self, name: &str, ty: Ty) -> VarId {
        let id = VarId(self.next);
        self.next += 1;
        self.vars.push(Var {
            name: name.to_string(),
            ty,
            id,
        });
        id
    }

    /// Brings `recipient`, the record a message goes to, into scope as
    /// [`RECIPIENT`]; undo with `pop`.
    pub fn push_recipient(&mut self, record: RecordId) {
        self.vars.push(Var {
            name: "recipient".to_string(),
            ty: Ty::new(Type::Record(record)),
            id: RECIPIENT,
        });
    }

    pub fn pop(&mut self) {
        self.vars.pop();
    }

    pub fn names(&self) -> Vec<String> {
        let mut names: Vec<String> = self.vars.iter().map(|v| v.name.clone()).collect();
        names.dedup();
        names
    }

    /// The subject's record, for rules and segments.
    pub fn subject(&self) -> Option<RecordId> {
        match self.vars.first() {
            Some(Var {
                id: VarId(0),
                ty:
                    Ty {
                        base: Type::Record(r),
                        ..
                    },
                ..
            }) => Some(*r),
            _ => None,
        }
    }
}
