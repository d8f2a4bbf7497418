//! `--db` counts: how many runs of a rule went through each step, wait
//! there now, and took each branch of an `assign`.
//!
//! The log names the step of each line, but an `assign` is one step: its
//! line (`set`, `lead #7.owner = 3`) shows the value written, not the
//! branch that chose it. A branch is told apart by its value where that
//! value is the same for every run (a literal, or a lookup by a literal:
//! `user(email: "sato@example.jp")`, found in the database now) and no
//! other branch can write it; where some branch's value depends on the run
//! (`lead.region.manager`), none is counted, since that branch may write
//! any other's value.

use super::{Counts, Runs};
use crate::ir::{Expr, ExprKind, Literal, RuleDef, Schema, Step, StepKind};
use crate::store::{DbResult, Store};
use crate::value::Value;
use std::collections::HashMap;

/// The counts of `rule`'s steps in the database `store`.
pub fn counts(rule: &RuleDef, schema: &Schema, store: &dyn Store) -> DbResult<Counts> {
    let report = store.report();
    let mut out = Counts::default();
    for c in report.step_counts(&rule.name)? {
        // A run that waits at a step logged `waiting` there, so the runs
        // the log shows at a wait or an approval include those still
        // waiting: they have not passed it yet.
        out.steps.insert(
            c.step,
            Runs {
                passed: (c.passed - c.waiting).max(0),
                waiting: c.waiting,
            },
        );
    }
    let mut assigns = Vec::new();
    assign_steps(&rule.steps, &mut assigns);
    if assigns.iter().all(|s| !out.steps.contains_key(&s.name)) {
        return Ok(out);
    }
    let mut written: HashMap<String, HashMap<String, i64>> = HashMap::new();
    for c in report.set_counts(&rule.name)? {
        written.entry(c.step).or_default().insert(c.value, c.runs);
    }
    let no_values = HashMap::new();
    for step in assigns {
        let StepKind::Assign {
            record,
            field,
            cases,
            otherwise,
            ..
        } = &step.kind
        else {
            continue;
        };
        if !out.steps.contains_key(&step.name) {
            continue;
        }
        let ty = schema.field(*record, *field).ty.base;
        let shown: Option<Vec<String>> = cases
            .iter()
            .map(|(_, value)| value)
            .chain(otherwise)
            .map(|value| {
                constant(value, schema, store)
                    .map(|v| v.to_text(ty, schema).unwrap_or("null".into()))
            })
            .collect();
        let Some(shown) = shown else {
            continue;
        };
        let values = written.get(&step.name).unwrap_or(&no_values);
        let branches = shown
            .iter()
            .map(|v| {
                // Two branches that write the same value cannot be told apart.
                let alone = shown.iter().filter(|w| *w == v).count() == 1;
                alone.then(|| values.get(v).copied().unwrap_or(0))
            })
            .collect();
        out.branches.insert(step.name.clone(), branches);
    }
    Ok(out)
}

/// The `assign` steps of a block and of the blocks inside it.
fn assign_steps<'a>(steps: &'a [Step], out: &mut Vec<&'a Step>) {
    for step in steps {
        match &step.kind {
            StepKind::Assign { .. } => out.push(step),
            StepKind::If {
                branches,
                otherwise,
            } => {
                for (_, body) in branches {
                    assign_steps(body, out);
                }
                assign_steps(otherwise, out);
            }
            StepKind::RequireApproval { on_reject, .. } => assign_steps(on_reject, out),
            _ => {}
        }
    }
}

/// The value of an expression that is the same for every run: a literal,
/// a conversion or negation of one, a lookup by one (in the database now).
/// `None` for anything else, or a lookup that finds no single row.
fn constant(e: &Expr, schema: &Schema, store: &dyn Store) -> Option<Value> {
    match &e.kind {
        ExprKind::Lit(lit) => Some(match lit {
            Literal::Null => Value::Null,
            Literal::Int(v) => Value::Int(*v),
            Literal::Decimal(v) => Value::Decimal(*v),
            Literal::Text(t) => Value::text(t),
            Literal::Bool(b) => Value::Bool(*b),
            Literal::Date(d) => Value::Date(*d),
            Literal::DateTime(t) => Value::DateTime(*t),
            Literal::Duration(s) => Value::Duration(*s),
            Literal::Enum(_, i) => Value::Enum(*i),
        }),
        ExprKind::Cast(inner) => {
            let v = constant(inner, schema, store)?;
            Some(crate::value::convert(v, e.ty.base, schema, schema.timezone))
        }
        ExprKind::Neg(inner) => crate::eval::ops::negate(&constant(inner, schema, store)?).ok(),
        ExprKind::Lookup {
            record,
            field,
            value,
        } => {
            let v = constant(value, schema, store)?;
            if v.is_null() {
                return None;
            }
            let def = schema.record(*record);
            let column = &def.fields.get(field.index())?.name;
            let ty = def.fields.get(field.index())?.ty.base;
            let key = crate::store::rows::to_sql(&v, ty, schema);
            match store
                .ids_where(&def.name, Some((column, key)), Some(2))
                .ok()?
                .as_slice()
            {
                [one] => Some(Value::Ref(*one)),
                _ => None,
            }
        }
        _ => None,
    }
}
