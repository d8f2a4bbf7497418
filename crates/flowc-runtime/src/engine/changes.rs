//! Processing captured changes in commit order: starting the runs they
//! trigger (`is created`, `changes`, `becomes`, …) and re-checking the
//! waits and `becomes` conditions that depend on what changed.

use super::deps::{self, Dep, Reach, Source};
use super::env::Context;
use super::runs::Cause;
use super::{Engine, EngineError};
use crate::store::captured::Stored;
pub(crate) use crate::store::changes::Change;
use crate::store::changes::Payload;
use crate::store::rows::{self, Decoded};
use flowc_check::ir::{RecordId, RuleId, Trigger};
use flowc_vm::value::Value;
use std::collections::BTreeSet;
use std::rc::Rc;

/// How many changes one transaction processes (group commit).
const BATCH: usize = 512;

/// Why a rule watches changes: to start runs, for its waits, or for a
/// goal that ends its runs.
#[derive(Clone, Debug)]
pub(crate) struct Watch {
    pub rule: RuleId,
    pub dep: Dep,
    /// `true`: the rule's `becomes` condition; `false`: its waits (or
    /// its goal, with `goal`).
    pub becomes: bool,
    /// The rule's `goal` (one that ends runs).
    pub goal: bool,
}

impl Engine {
    /// Every rule's dependencies, indexed by the changed table's name.
    pub(crate) fn watches(&self) -> std::collections::HashMap<String, Vec<Watch>> {
        let mut out: std::collections::HashMap<String, Vec<Watch>> =
            std::collections::HashMap::new();
        for (i, rule) in self.program.rules.iter().enumerate() {
            let id = RuleId(i as u32);
            if let Trigger::Becomes { condition } = &rule.trigger {
                for dep in deps::of(&self.program, condition) {
                    out.entry(dep.source.change_table(&self.program))
                        .or_default()
                        .push(Watch {
                            rule: id,
                            dep,
                            becomes: true,
                            goal: false,
                        });
                }
            }
            // Before the waits: a change that meets the goal and a `wait
            // until` at once ends the run rather than waking it.
            if let Some(goal) = rule.goal.as_ref().filter(|g| g.ends_run) {
                for dep in deps::of(&self.program, &goal.condition) {
                    out.entry(dep.source.change_table(&self.program))
                        .or_default()
                        .push(Watch {
                            rule: id,
                            dep,
                            becomes: false,
                            goal: true,
                        });
                }
            }
            let mut conditions = Vec::new();
            collect_wait_conditions(&rule.steps, &mut conditions);
            for c in conditions {
                for dep in deps::of(&self.program, c) {
                    out.entry(dep.source.change_table(&self.program))
                        .or_default()
                        .push(Watch {
                            rule: id,
                            dep,
                            becomes: false,
                            goal: false,
                        });
                }
            }
        }
        out
    }

    /// Processes all pending changes, a batch per transaction; returns
    /// whether there were any.
    pub(crate) fn process_changes(&self) -> Result<bool, EngineError> {
        let mut any = false;
        loop {
            let done = self.transaction(|| {
                let batch = self.db.next_changes(BATCH)?;
                if batch.is_empty() {
                    return Ok(true);
                }
                for change in &batch {
                    self.on_change(change)?;
                }
                self.db.changes_done(&batch)?;
                self.report.borrow_mut().changes += batch.len();
                Ok(false)
            })?;
            if done {
                return Ok(any);
            }
            any = true;
            self.tick();
        }
    }

    /// A row's captured values, decoded. Fields the change did not capture
    /// (declared since) come from the row as it is now, for new values.
    fn decode_payload(
        &self,
        record: RecordId,
        id: i64,
        payload: &Payload,
        current: bool,
    ) -> Result<Rc<Decoded>, EngineError> {
        let def = self.program.schema.record(record);
        let decoded = match payload {
            Ok(captured) => {
                let fallback = if current && rows::lacks_fields(def, captured) {
                    self.load_row(record, id)?
                } else {
                    None
                };
                rows::decode_captured(&self.program.schema, def, id, captured, fallback.as_ref())
            }
            Err(why) => rows::unreadable(def, id, why),
        };
        Ok(Rc::new(decoded))
    }

    /// Processes one change with the row as it was at that change (its
    /// captured values), whatever happened to the row since.
    fn on_change(&self, change: &Change) -> Result<(), EngineError> {
        if let Some(record) = self.record_named(&change.table) {
            for payload in [&change.old, &change.new].into_iter().flatten() {
                if let Err(why) = payload {
                    // Never dropped silently: the runs that read the row
                    // fail with `why`, and the log says it even if none does.
                    self.log(
                        None,
                        "",
                        "problem",
                        &format!(
                            "{why} ({} of {} #{})",
                            change.op, change.table, change.row_id
                        ),
                    )?;
                }
            }
            let old = match &change.old {
                Some(p) => Some(self.decode_payload(record, change.row_id, p, false)?),
                None => None,
            };
            let new = match &change.new {
                Some(p) => Some(self.decode_payload(record, change.row_id, p, true)?),
                None => None,
            };
            let deleted = change.op == "delete";
            // The row as it was at this change is what this change's runs
            // read, even if it has changed, or been deleted, since.
            if let Some(row) = if deleted { &old } else { &new } {
                self.rows_insert(record, row.clone());
            }
            if deleted {
                self.deleting.set(Some((record, change.row_id)));
            }
            let started = self.start_triggered(record, change, old.as_ref(), new.as_ref());
            self.deleting.set(None);
            started?;
            if deleted {
                self.end_deleted_row(record, change)?;
                self.forget_row(record, change.row_id);
            }
        }
        self.recheck_for(change)?;
        // The row as captured belongs to this change only: the runs of
        // later changes in the unit of work (another record's rule reading
        // this row, `set x.n = x.n + 1`) read it as it is now, or they
        // would write back a value computed from an old one.
        if let Some(record) = self.record_named(&change.table) {
            self.forget_row(record, change.row_id);
        }
        Ok(())
    }

    /// A row was deleted: what belonged to it ends, so that nothing meant
    /// for it reaches a new row given its id (SQLite reuses ids), and the
    /// new row starts with no run, re-entry or `becomes` history.
    fn end_deleted_row(&self, record: RecordId, change: &Change) -> Result<(), EngineError> {
        use crate::store::deleted;
        let table = self.table_name(record).to_string();
        let id = change.row_id;
        let why = format!("ended: {table} #{id} was deleted");
        for run_id in self.db.deleted_row_runs(&table, id)? {
            if let Some((run, _, _)) = self.load_run(run_id)? {
                self.end_run(&run, &why)?;
            }
        }
        let schema = &self.program.schema;
        let row = deleted::DeletedRow {
            table: &table,
            row_id: id,
            lists: schema
                .lists
                .iter()
                .filter(|l| l.of == record)
                .map(|l| l.name.as_str())
                .collect(),
            becomes: self
                .rules_of
                .get(&record)
                .into_iter()
                .flatten()
                .map(|&r| self.rule(r))
                .filter(|r| matches!(r.trigger, Trigger::Becomes { .. }))
                .map(|r| r.name.as_str())
                .collect(),
            events_up_to: change.events_seq,
            at: self.clock.get(),
        };
        for event in self.db.forget_deleted_row(&row)? {
            self.log(
                None,
                "",
                "event ignored",
                &format!(
                    "flow_events #{} ({} on {table} #{id}): the record was deleted before the event was processed",
                    event.seq, event.name
                ),
            )?;
        }
        Ok(())
    }

    /// Starts the runs a change on a record triggers.
    fn start_triggered(
        &self,
        record: RecordId,
        change: &Change,
        old: Option<&Rc<Decoded>>,
        new: Option<&Rc<Decoded>>,
    ) -> Result<(), EngineError> {
        let Some(rules) = self.rules_of.get(&record) else {
            return Ok(());
        };
        for &rule_id in rules {
            let rule = self.rule(rule_id);
            let fires = match (&rule.trigger, change.op.as_str()) {
                (Trigger::Created, "insert")
                | (Trigger::Updated, "update")
                | (Trigger::Deleted, "delete") => true,
                (Trigger::Changes { field, from, to }, "update") => {
                    let (Some(old), Some(new)) = (old, new) else {
                        continue;
                    };
                    let unreadable = old.problem(*field).is_some() || new.problem(*field).is_some();
                    if unreadable && !self.captured_differ(record, change, *field) {
                        // Another field changed; this one holds the same
                        // (unreadable) value as before.
                        continue;
                    }
                    match self.changed_as_expected(
                        record,
                        change.row_id,
                        *field,
                        (from, to),
                        (old, new),
                    ) {
                        Ok(fires) => fires,
                        Err(Unmatched::BadData(problem)) => {
                            // A value the trigger needs cannot be read: a
                            // failed run naming the row and column, never a
                            // dropped change.
                            let cause = self.cause_of(change, Some(old));
                            let error = self.bad_data(record, change.row_id, *field, &problem);
                            self.start_failed(
                                rule_id,
                                change.row_id,
                                &cause,
                                "the trigger",
                                &error.to_string(),
                            )?;
                            false
                        }
                        Err(Unmatched::Expected(problem)) => {
                            let detail = format!(
                                "the change #{} could not be matched: {problem}",
                                change.seq
                            );
                            self.problem(rule_id, Some(change.row_id), None, "", &detail)?;
                            false
                        }
                    }
                }
                // `becomes` is handled with the other dependents.
                _ => false,
            };
            if !fires {
                continue;
            }
            let cause = self.cause_of(change, old);
            self.start_if(rule_id, change.row_id, &cause)?;
        }
        Ok(())
    }

    /// Whether a field changed `from` → `to` (either may be absent: any
    /// value). `Err` when that cannot be told: a value the trigger needs is
    /// bad data (an enum column holding a value outside the enum), or an
    /// expected value cannot be evaluated. An old value the trigger does
    /// not need (no `from`) may be bad: the change to `to` still counts.
    fn changed_as_expected(
        &self,
        record: RecordId,
        row_id: i64,
        field: flowc_check::ir::FieldId,
        (from, to): (
            &Option<flowc_check::ir::Expr>,
            &Option<flowc_check::ir::Expr>,
        ),
        (old, new): (&Decoded, &Decoded),
    ) -> Result<bool, Unmatched> {
        if let Some(bad) = new.problem(field) {
            return Err(Unmatched::BadData(bad.to_string()));
        }
        let after = new.row.get(field.index());
        let ctx = Context::subject(record, row_id);
        let matches = |expected: &Option<flowc_check::ir::Expr>, actual: &Value| match expected {
            None => Ok(true),
            Some(e) => self
                .eval(e, &ctx)
                .map(|v| v.compare(actual) == Some(std::cmp::Ordering::Equal))
                .map_err(|e| Unmatched::Expected(e.to_string())),
        };
        if let Some(bad) = old.problem(field) {
            return match from {
                None => matches(to, &after),
                Some(_) => Err(Unmatched::BadData(bad.to_string())),
            };
        }
        let before = old.row.get(field.index());
        Ok(before != after && matches(from, &before)? && matches(to, &after)?)
    }

    /// What a run started by `change` keeps of it.
    fn cause_of(&self, change: &Change, old: Option<&Rc<Decoded>>) -> Cause {
        Cause {
            old: change.old.clone(),
            old_row: old.cloned(),
            event: None,
            seq: change.seq,
            depth: change.depth,
        }
    }

    /// Whether a field's stored value differs between a change's old and
    /// new values, compared as stored (two unreadable values may be equal).
    /// A field a payload lacks was not watched when the change was
    /// captured: no difference.
    fn captured_differ(
        &self,
        record: RecordId,
        change: &Change,
        field: flowc_check::ir::FieldId,
    ) -> bool {
        let name = &self.program.schema.field(record, field).name;
        fn stored<'a>(p: &'a Option<Payload>, name: &str) -> Result<Option<&'a Stored>, ()> {
            match p {
                Some(Ok(captured)) => Ok(captured.get(name)),
                _ => Err(()),
            }
        }
        match (stored(&change.old, name), stored(&change.new, name)) {
            (Ok(Some(a)), Ok(Some(b))) => a != b,
            (Ok(None), _) | (_, Ok(None)) => false,
            _ => true,
        }
    }

    /// Starts a run if the rule's `where` holds for the subject.
    pub(crate) fn start_if(
        &self,
        rule_id: RuleId,
        subject: i64,
        cause: &Cause,
    ) -> Result<(), EngineError> {
        let rule = self.rule(rule_id);
        if let Some(filter) = &rule.filter {
            let ctx = Context {
                subject: Some((rule.subject, subject)),
                old: self.old_values(rule.subject, subject, cause),
                event: cause.event.clone(),
                since: self.clock.get(),
                recipient: None,
                run: None,
            };
            match self.holds(filter, &ctx) {
                Ok(true) => {}
                Ok(false) => {
                    if let Some((filtered, _)) = self.held_back.get(rule_id.index()) {
                        filtered.set(filtered.get().saturating_add(1));
                    }
                    return Ok(());
                }
                Err(e) => {
                    // The run could not even decide whether to start: it
                    // counts as a run that failed, with the reason.
                    return self.start_failed(
                        rule_id,
                        subject,
                        cause,
                        "the `where`",
                        &e.to_string(),
                    );
                }
            }
        }
        self.start_run(rule_id, subject, cause)?;
        Ok(())
    }

    /// Re-checks waiting runs and `becomes` conditions that read what changed.
    pub(crate) fn recheck_for(&self, change: &Change) -> Result<(), EngineError> {
        let table = change.table.clone();
        let watches = self.watch_index.get(&table).cloned().unwrap_or_default();
        for watch in watches {
            let subjects = self.affected(&watch.dep, change)?;
            let rule = self.rule(watch.rule);
            if watch.becomes {
                self.recheck_becomes(watch.rule, subjects, change)?;
                continue;
            }
            let subject_table = self.table_name(rule.subject).to_string();
            if watch.goal {
                for run in self.goal_candidates(&subject_table, subjects, &rule.name)? {
                    self.recheck_goal(run)?;
                }
                continue;
            }
            let runs = match subjects {
                Some(ids) => {
                    let mut runs = Vec::new();
                    for id in ids {
                        runs.extend(self.condition_waiters(
                            &subject_table,
                            Some(id),
                            &rule.name,
                        )?);
                    }
                    runs
                }
                None => self.condition_waiters(&subject_table, None, &rule.name)?,
            };
            for run in runs {
                self.recheck(run)?;
            }
        }
        Ok(())
    }

    /// The subjects a change can affect through a dependency (`None`: all).
    fn affected(&self, dep: &Dep, change: &Change) -> Result<Option<BTreeSet<i64>>, EngineError> {
        match &dep.reach {
            Reach::Any => Ok(None),
            Reach::ReferencedBy(field) => {
                let Source::Table(record) = dep.source else {
                    return Ok(None);
                };
                let name = &self.program.schema.field(record, *field).name;
                let ids = [&change.old, &change.new]
                    .into_iter()
                    .flatten()
                    .filter_map(|p| p.as_ref().ok())
                    .filter_map(|row| row.get(name).and_then(Stored::as_i64))
                    .collect();
                Ok(Some(ids))
            }
            Reach::Path(path) => {
                // Walk the references back from the changed row to subjects.
                let mut ids: BTreeSet<i64> = BTreeSet::from([change.row_id]);
                for (record, field) in path.iter().rev() {
                    let def = self.program.schema.record(*record);
                    let column = def.fields[field.index()].name.as_str();
                    let mut next = BTreeSet::new();
                    for &id in &ids {
                        let key = Some((column, rusqlite::types::Value::Integer(id)));
                        next.extend(self.db.ids_where(&def.name, key, None)?);
                    }
                    ids = next;
                }
                Ok(Some(ids))
            }
        }
    }

    /// `when R becomes COND`: fires for each subject whose condition went
    /// from false to true (or that was created with it true).
    fn recheck_becomes(
        &self,
        rule_id: RuleId,
        subjects: Option<BTreeSet<i64>>,
        change: &Change,
    ) -> Result<(), EngineError> {
        let rule = self.rule(rule_id);
        let Trigger::Becomes { condition } = &rule.trigger else {
            return Ok(());
        };
        let own_row = self.record_named(&change.table) == Some(rule.subject);
        let ids: Vec<i64> = match subjects {
            Some(ids) => ids.into_iter().collect(),
            None => self.all_ids(rule.subject)?,
        };
        for id in ids {
            if own_row && change.op == "delete" && id == change.row_id {
                self.db.becomes_forget(&rule.name, id)?;
                continue;
            }
            let ctx = Context::subject(rule.subject, id);
            let now = match self.holds(condition, &ctx) {
                Ok(v) => v,
                Err(e) => {
                    let table = self.table_name(rule.subject).to_string();
                    self.log(
                        None,
                        "",
                        "failed",
                        &format!("rule {}: the `becomes` of {table} #{id}: {e}", rule.name),
                    )?;
                    continue;
                }
            };
            let before = self.db.becomes_last(&rule.name, id)?;
            let before = match before {
                Some(b) => b,
                // Never seen: created rows start false; for an update of the
                // row itself, the old values tell.
                None if own_row && change.op == "update" && id == change.row_id => {
                    self.was_true_before(rule_id, change).unwrap_or(false)
                }
                None => false,
            };
            if now != before {
                self.db.becomes_remember(&rule.name, id, now)?;
            }
            if now && !before {
                let cause = Cause {
                    old: if id == change.row_id {
                        change.old.clone()
                    } else {
                        None
                    },
                    old_row: None,
                    event: None,
                    seq: change.seq,
                    depth: change.depth,
                };
                self.start_if(rule_id, id, &cause)?;
            }
        }
        Ok(())
    }

    /// The `becomes` condition evaluated on the row's old values.
    fn was_true_before(&self, rule_id: RuleId, change: &Change) -> Option<bool> {
        let rule = self.rule(rule_id);
        let Trigger::Becomes { condition } = &rule.trigger else {
            return None;
        };
        let old = change.old.as_ref()?;
        let decoded = self
            .decode_payload(rule.subject, change.row_id, old, false)
            .ok()?;
        self.with_row(rule.subject, decoded, || {
            self.holds(condition, &Context::subject(rule.subject, change.row_id))
                .ok()
        })
    }

    pub(crate) fn all_ids(&self, record: RecordId) -> Result<Vec<i64>, EngineError> {
        Ok(self.db.ids_where(self.table_name(record), None, None)?)
    }
}

/// The conditions of `wait until` and `wait … unless COND` steps.
fn collect_wait_conditions<'a>(
    steps: &'a [flowc_check::ir::Step],
    out: &mut Vec<&'a flowc_check::ir::Expr>,
) {
    use flowc_check::ir::{StepKind, Unless, Wait};
    for step in steps {
        match &step.kind {
            StepKind::Wait(Wait::UntilCondition { condition, .. }) => out.push(condition),
            StepKind::Wait(Wait::For {
                unless: Some(Unless::Condition(c)),
                ..
            }) => out.push(c),
            StepKind::If {
                branches,
                otherwise,
            } => {
                for (_, body) in branches {
                    collect_wait_conditions(body, out);
                }
                collect_wait_conditions(otherwise, out);
            }
            StepKind::RequireApproval { on_reject, .. } => collect_wait_conditions(on_reject, out),
            _ => {}
        }
    }
}

/// Why a `changes` trigger could not tell whether it matches.
enum Unmatched {
    /// A value it needs is bad data (the message).
    BadData(String),
    /// Its `from` / `to` value could not be evaluated.
    Expected(String),
}

#[cfg(test)]
mod tests {
    use crate::engine::{Advance, Engine, Options};

    /// A rule that reads another record and writes a value computed from
    /// it, after a change of that other record in the same unit of work:
    /// it must read the row as it is, not as that earlier change captured
    /// it (which would undo the first ping: a lost update).
    #[test]
    fn a_later_change_reads_a_row_as_it_is_not_as_an_earlier_change_captured_it() {
        let text = "record contact {\n  name: text\n  score: int\n  pings: int\n  partner: contact?\n}\n\
            rule ping\n  when contact.score changes\n  if contact.partner is not null\n    \
            set contact.partner.pings = contact.partner.pings + 1\n  end\nend\n";
        let checked = flowc_check::project::Project::from_texts([("main.flow", text)]).check();
        assert!(!checked.has_errors());
        let conn = rusqlite::Connection::open_in_memory().expect("memory db");
        crate::store::state::migrate(&conn).expect("state tables");
        crate::store::ddl::create_missing(&conn, &checked.program.schema).expect("tables");
        let engine =
            Engine::with_connection(conn, checked.program, Options::default()).expect("engine");
        let sql = |sql: &str| {
            engine
                .connection()
                .expect("sqlite")
                .execute_batch(sql)
                .expect(sql)
        };
        sql(
            "INSERT INTO contact (id, name, score, pings) VALUES (1, 'y', 0, 0);
             INSERT INTO contact (id, name, score, pings, partner) VALUES (2, 'x', 0, 0, 1);",
        );
        engine.advance(Advance::To(0)).expect("start");
        // x's score, then y's name (captured with 0 pings), then x's score
        // again: one unit of work.
        sql("BEGIN;
             UPDATE contact SET score = 1 WHERE id = 2;
             UPDATE contact SET name = 'y2' WHERE id = 1;
             UPDATE contact SET score = 2 WHERE id = 2;
             COMMIT;");
        engine.advance(Advance::To(60)).expect("advance");
        let pings: i64 = engine
            .connection()
            .expect("sqlite")
            .query_row("SELECT pings FROM contact WHERE id = 1", [], |r| r.get(0))
            .expect("pings");
        assert_eq!(pings, 2, "each change of x pinged y once");
    }
}
