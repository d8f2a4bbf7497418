//! Where a run is in its rule's steps.
//!
//! Steps form a tree (`if` branches, `on reject` blocks), so a position is a
//! path: `[i]` is the i-th top-level step; `[i, b, j]` is the j-th step of
//! block `b` of step `i` (for an `if`, block `b` is its b-th branch and the
//! last block is `else`; for `require approval`, block 0 is `on reject`).
//! Stored in `flow_runs.pc` as `i.b.j`.

use flowc_check::ir::{Step, StepKind};

pub type Pc = Vec<u32>;

pub fn to_text(pc: &[u32]) -> String {
    pc.iter().map(u32::to_string).collect::<Vec<_>>().join(".")
}

pub fn parse(text: &str) -> Option<Pc> {
    if text.is_empty() {
        return Some(Vec::new());
    }
    text.split('.').map(|p| p.parse().ok()).collect()
}

/// The steps of block `b` of a compound step.
pub fn block(step: &Step, b: u32) -> Option<&[Step]> {
    match &step.kind {
        StepKind::If {
            branches,
            otherwise,
        } => {
            let b = b as usize;
            if b < branches.len() {
                Some(&branches[b].1)
            } else if b == branches.len() {
                Some(otherwise)
            } else {
                None
            }
        }
        StepKind::RequireApproval { on_reject, .. } if b == 0 => Some(on_reject),
        _ => None,
    }
}

/// Whether `pc` is inside a `require approval`'s `on reject` block: a run
/// that ends there ends as rejected.
pub fn in_on_reject(steps: &[Step], pc: &[u32]) -> bool {
    let mut steps = steps;
    let mut rest = pc;
    while let [first, b, tail @ ..] = rest {
        let Some(step) = steps.get(*first as usize) else {
            return false;
        };
        if *b == 0 && matches!(step.kind, StepKind::RequireApproval { .. }) {
            return true;
        }
        let Some(inner) = block(step, *b) else {
            return false;
        };
        steps = inner;
        rest = tail;
    }
    false
}

/// The step at `pc`, if the path is valid.
pub fn step_at<'a>(steps: &'a [Step], pc: &[u32]) -> Option<&'a Step> {
    let (&first, rest) = pc.split_first()?;
    let step = steps.get(first as usize)?;
    match rest {
        [] => Some(step),
        [b, tail @ ..] => step_at(block(step, *b)?, tail),
    }
}

/// The position after finishing the step at `pc`: its next sibling, or
/// after the compound step that contains it. `None` at the end of the rule.
/// Leaving an `on reject` block ends the run (the rule goes no further).
pub fn next(steps: &[Step], pc: &[u32]) -> Option<Pc> {
    let mut pc = pc.to_vec();
    loop {
        let last = pc.pop()?;
        let (siblings, in_on_reject): (&[Step], bool) = if pc.is_empty() {
            (steps, false)
        } else {
            let b = *pc.last()?;
            let parent = step_at(steps, &pc[..pc.len() - 1])?;
            (
                block(parent, b)?,
                matches!(parent.kind, StepKind::RequireApproval { .. }),
            )
        };
        if (last as usize) + 1 < siblings.len() {
            pc.push(last + 1);
            return Some(pc);
        }
        if pc.is_empty() || in_on_reject {
            return None;
        }
        // Leave the block: continue after its parent step.
        pc.pop();
    }
}

/// The first position inside block `b` of the step at `pc`, or after the
/// step if the block is empty.
pub fn enter(steps: &[Step], pc: &[u32], b: u32) -> Option<Pc> {
    let step = step_at(steps, pc)?;
    let inner = block(step, b)?;
    if inner.is_empty() {
        if matches!(step.kind, StepKind::RequireApproval { .. }) {
            return None;
        }
        return next(steps, pc);
    }
    let mut inside = pc.to_vec();
    inside.extend([b, 0]);
    Some(inside)
}

/// Finds the position of the step called `name` (for moving a waiting run
/// to a new version of its rule).
pub fn find(steps: &[Step], name: &str) -> Option<Pc> {
    for (i, step) in steps.iter().enumerate() {
        if step.name == name {
            return Some(vec![i as u32]);
        }
        let mut b = 0;
        while let Some(inner) = block(step, b) {
            if let Some(mut path) = find(inner, name) {
                let mut full = vec![i as u32, b];
                full.append(&mut path);
                return Some(full);
            }
            b += 1;
        }
    }
    None
}
