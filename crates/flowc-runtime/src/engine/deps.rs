//! What a condition depends on, so that a change re-checks only the runs it
//! can affect: the work is proportional to what changed, not to how many
//! runs are waiting.
//!
//! A dependency is a source (a table, a list, a table's tags or events) and
//! how the subject reaches it: a path of reference fields from the subject
//! (empty: the subject itself), or an aggregate key (rows whose reference
//! field points at the subject). Unknown paths mean "every subject".

use flowc_check::ir::{Expr, ExprKind as K, FieldId, Program, RecordId, Type, VarId};
use std::collections::HashMap;

/// The `flow_changes.tbl` of a change to the suppression list, which the
/// store records with every change to it. The change names no address:
/// every run waiting on `R is unsubscribed` is re-checked, which is cheap
/// because suppressions are rare.
const SUPPRESSIONS: &str = crate::store::suppressions::CHANGES;

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(crate) enum Source {
    Table(RecordId),
    List(String),
    Tags(String),
    Events(String),
    /// `flow_suppressions`: any address, reached from any subject.
    Suppressions,
}

impl Source {
    /// The `flow_changes.tbl` name a change to this source carries.
    pub fn change_table(&self, program: &Program) -> String {
        match self {
            Source::Table(r) => program.schema.record(*r).name.clone(),
            Source::List(name) => format!("list:{name}"),
            Source::Tags(table) => format!("tag:{table}"),
            Source::Events(table) => format!("event:{table}"),
            Source::Suppressions => SUPPRESSIONS.to_string(),
        }
    }
}

/// How the subject reaches the changed row.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(crate) enum Reach {
    /// Follow these reference fields from the subject: `[(subject, contact)]`
    /// reaches `opportunity.contact`.
    Path(Vec<(RecordId, FieldId)>),
    /// Rows of the table whose field refers to the subject (an aggregate's key).
    ReferencedBy(FieldId),
    /// Unknown: any subject may be affected.
    Any,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(crate) struct Dep {
    pub source: Source,
    pub reach: Reach,
}

/// The dependencies of a condition evaluated for a subject (variable 0).
pub(crate) fn of(program: &Program, expr: &Expr) -> Vec<Dep> {
    let mut vars = HashMap::new();
    vars.insert(0, Reach::Path(Vec::new()));
    let mut out = Vec::new();
    walk(program, expr, &vars, &mut out, 0);
    out.sort_by_key(|d| format!("{d:?}"));
    out.dedup();
    out
}

/// How `e` (a record-valued expression) is reached from the subject.
fn reach(e: &Expr, vars: &HashMap<u32, Reach>) -> Reach {
    match &e.kind {
        K::Var(VarId(v)) => vars.get(v).cloned().unwrap_or(Reach::Any),
        K::Field {
            base,
            record,
            field,
        } => match reach(base, vars) {
            Reach::Path(mut p) => {
                p.push((*record, *field));
                Reach::Path(p)
            }
            _ => Reach::Any,
        },
        _ => Reach::Any,
    }
}

fn record_of(e: &Expr) -> Option<RecordId> {
    match e.ty.base {
        Type::Record(r) => Some(r),
        _ => None,
    }
}

fn walk(program: &Program, e: &Expr, vars: &HashMap<u32, Reach>, out: &mut Vec<Dep>, depth: usize) {
    if depth > 64 {
        return;
    }
    match &e.kind {
        K::Field { base, record, .. } => {
            out.push(Dep {
                source: Source::Table(*record),
                reach: reach(base, vars),
            });
        }
        K::InList { value, list, .. } => {
            let name = program.schema.lists[list.index()].name.clone();
            out.push(Dep {
                source: Source::List(name),
                reach: reach(value, vars),
            });
        }
        K::HasTag { value, .. } => {
            if let Some(r) = record_of(value) {
                out.push(Dep {
                    source: Source::Tags(program.schema.record(r).name.clone()),
                    reach: reach(value, vars),
                });
            }
        }
        K::Engaged { record, .. } => {
            if let Some(r) = record_of(record) {
                out.push(Dep {
                    source: Source::Events(program.schema.record(r).name.clone()),
                    reach: reach(record, vars),
                });
            }
        }
        K::Unsubscribed { record, .. } => {
            // The address is a field of the row, and the list is global.
            if let Some(r) = record_of(record) {
                out.push(Dep {
                    source: Source::Table(r),
                    reach: reach(record, vars),
                });
            }
            out.push(Dep {
                source: Source::Suppressions,
                reach: Reach::Any,
            });
        }
        K::InSegment { value, segment, .. } => {
            let mut inner = HashMap::new();
            inner.insert(0, reach(value, vars));
            walk(
                program,
                &program.schema.segments[segment.index()].condition,
                &inner,
                out,
                depth + 1,
            );
        }
        K::Lookup { record, .. } => {
            out.push(Dep {
                source: Source::Table(*record),
                reach: Reach::Any,
            });
        }
        K::Aggregate(a) => {
            let keyed_on_subject = match &a.key {
                Some((field, key)) => match reach(key, vars) {
                    Reach::Path(p) if p.is_empty() => Some(*field),
                    _ => None,
                },
                None => None,
            };
            let reach_rows = keyed_on_subject.map_or(Reach::Any, Reach::ReferencedBy);
            out.push(Dep {
                source: Source::Table(a.record),
                reach: reach_rows.clone(),
            });

            // Fields the per-row value and filter read on other tables.
            // The rows themselves are reached like the aggregate.
            let mut inner = vars.clone();
            inner.insert(a.row.0, reach_rows);
            for part in [&a.filter, &a.value].into_iter().flatten() {
                walk(program, part, &inner, out, depth + 1);
            }
            if let Some((_, key)) = &a.key {
                walk(program, key, vars, out, depth + 1);
            }
            return;
        }
        K::CallFn { function, args } => {
            let def = &program.functions[function.index()];
            let mut inner = HashMap::new();
            for (i, arg) in args.iter().enumerate() {
                if record_of(arg).is_some() {
                    inner.insert(i as u32, reach(arg, vars));
                }
                walk(program, arg, vars, out, depth + 1);
            }
            walk(program, &def.body, &inner, out, depth + 1);
            return;
        }
        _ => {}
    }
    e.for_each_child(|c| walk(program, c, vars, out, depth + 1));
}
