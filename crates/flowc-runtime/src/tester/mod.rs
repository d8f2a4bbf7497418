//! `flowc test`: runs the `test "…" … end` blocks of a project.
//!
//! Each test gets a fresh in-memory SQLite database with the project's
//! tables (or a fresh store of another backend, [`run_on`]), and the engine's clock starts at [`START`] (2025-01-01 09:00 in
//! the project's time zone, a Wednesday). Every step is processed by the
//! real engine: `given`/`update`/`delete` are ordinary writes seen through
//! change capture, `event` records an event, `approve`/`reject` decide
//! pending approvals, and `after D` moves the clock with the time machine.

mod explain;

use crate::engine::{Advance, Engine, Options};
use crate::store::Store;
use crate::store::approvals::Decision;
use crate::store::inspect::SentEmail;
use flowc_check::ir::{
    EmailPart, Program, RecordId, StepKind, TestDef, TestStep, TestStepKind, Type,
};
use flowc_jit::compiled::Backend;
use flowc_syntax::source::Span;
use flowc_syntax::syntax::ast::EmailCount;
use flowc_vm::eval::EvalError;
use flowc_vm::value::Value;
use rusqlite::Connection;
use std::collections::HashSet;
use std::rc::Rc;

/// When every test starts, in the project's time zone.
pub const START: &str = "2025-01-01T09:00";

/// Why a test failed: the step, what was expected, what happened.
#[derive(Clone, Debug, PartialEq)]
pub struct Failure {
    pub span: Span,
    pub message: String,
    /// What actually happened, one fact per line.
    pub actual: Vec<String>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Outcome {
    pub name: String,
    pub span: Span,
    pub failure: Option<Failure>,
    /// `(rule, step)` pairs the test executed.
    pub covered: HashSet<(String, String)>,
}

struct Runner<'p> {
    program: &'p Program,
    engine: Engine,
    vars: Vec<Value>,
    /// The test's names for its `given` records, by variable.
    names: Vec<(String, RecordId)>,
    /// Rules the test expects to fail (`expect run R on x is failed`): their
    /// failures do not fail the test by themselves.
    may_fail: Vec<String>,
}

/// Runs one test on a fresh in-memory SQLite database.
pub fn run(program: &Program, test: &TestDef, backend: Backend) -> Outcome {
    run_on(program, test, backend, &|| in_memory(program))
}

/// A fresh in-memory SQLite store with the project's tables.
fn in_memory(program: &Program) -> Result<Rc<dyn Store>, String> {
    let conn = Connection::open_in_memory().map_err(|e| e.to_string())?;
    crate::store::state::migrate(&conn).map_err(|e| e.to_string())?;
    crate::store::ddl::create_missing(&conn, &program.schema).map_err(|e| e.to_string())?;
    let store = crate::store::sqlite::Sqlite::new(conn).map_err(|e| e.to_string())?;
    Ok(Rc::new(store))
}

/// Runs one test on the store `fresh` makes: empty, with the project's
/// tables (the same tests on another backend).
pub fn run_on(
    program: &Program,
    test: &TestDef,
    backend: Backend,
    fresh: &dyn Fn() -> Result<Rc<dyn Store>, String>,
) -> Outcome {
    let runner = fresh().and_then(|store| Runner::new(program, backend, store));
    let (failure, covered) = match runner {
        Ok(mut runner) => {
            runner.names = test.vars.clone();
            runner.may_fail = test
                .steps
                .iter()
                .filter_map(|s| match &s.kind {
                    TestStepKind::ExpectRun {
                        rule,
                        state: flowc_check::ir::RunState::Failed,
                        ..
                    } => Some(program.rules[rule.index()].name.clone()),
                    _ => None,
                })
                .collect();
            let failure = test
                .steps
                .iter()
                .find_map(|step| runner.step(test, step).err());
            (failure, runner.engine.coverage())
        }
        Err(message) => (
            Some(Failure {
                span: test.span,
                message,
                actual: Vec::new(),
            }),
            HashSet::new(),
        ),
    };
    Outcome {
        name: test.name.clone(),
        span: test.span,
        failure,
        covered,
    }
}

fn fail(span: Span, message: impl Into<String>) -> Failure {
    Failure {
        span,
        message: message.into(),
        actual: Vec::new(),
    }
}

impl<'p> Runner<'p> {
    fn new(
        program: &'p Program,
        backend: Backend,
        store: Rc<dyn Store>,
    ) -> Result<Runner<'p>, String> {
        let options = Options {
            backend,
            ..Options::default()
        };
        let engine =
            Engine::with_store(store, program.clone(), options).map_err(|e| e.to_string())?;
        let start = flowc_syntax::time::parse_datetime(START, program.schema.timezone).unwrap_or(0);
        engine
            .advance(Advance::To(start))
            .map_err(|e| e.to_string())?;
        Ok(Runner {
            program,
            engine,
            vars: Vec::new(),
            names: Vec::new(),
            may_fail: Vec::new(),
        })
    }

    /// Lets the engine process what the last step did, at the current time.
    fn settle(&self, span: Span) -> Result<(), Failure> {
        let now = self.engine.clock().unwrap_or(0);
        self.engine
            .advance(Advance::To(now))
            .map_err(|e| fail(span, format!("the engine failed: {e}")))?;
        let report = self.engine.take_report();
        let unexpected: Vec<String> = report
            .failures
            .iter()
            .filter(|f| {
                !self
                    .may_fail
                    .iter()
                    .any(|rule| f.starts_with(&format!("rule {rule} ")))
            })
            .map(|f| format!("failed: {f}"))
            .collect();
        if unexpected.is_empty() {
            return Ok(());
        }
        Err(Failure {
            span,
            message: "a run failed".into(),
            actual: unexpected,
        })
    }

    fn value(&self, e: &flowc_check::ir::Expr) -> Result<Value, Failure> {
        self.engine
            .eval_test(e, &self.vars)
            .map_err(|err| eval_failure(e.span, err))
    }

    fn id_of(&self, e: &flowc_check::ir::Expr) -> Result<i64, Failure> {
        match self.value(e)? {
            Value::Ref(id) => Ok(id),
            other => Err(fail(
                e.span,
                format!("expected a record here, found {other:?}"),
            )),
        }
    }

    fn fields(
        &self,
        record: RecordId,
        fields: &[(flowc_check::ir::FieldId, flowc_check::ir::Expr)],
    ) -> Result<Vec<(String, rusqlite::types::Value)>, Failure> {
        fields
            .iter()
            .map(|(field, e)| {
                let def = self.program.schema.field(record, *field);
                let v = self.value(e)?;
                Ok((
                    def.name.clone(),
                    crate::store::rows::to_sql(&v, def.ty.base, &self.program.schema),
                ))
            })
            .collect()
    }

    fn step(&mut self, test: &TestDef, step: &TestStep) -> Result<(), Failure> {
        let span = step.span;
        match &step.kind {
            TestStepKind::Given { record, fields, .. } => {
                let columns = self.fields(*record, fields)?;
                let table = &self.program.schema.record(*record).name;
                let id = self
                    .engine
                    .store()
                    .insert_row(table, &columns)
                    .map_err(|e| refused(span, e))?;
                self.vars.push(Value::Ref(id));
                self.settle(span)
            }
            TestStepKind::Update {
                var,
                record,
                fields,
            } => {
                let id = self.vars.get(var.index()).and_then(ref_id).unwrap_or(0);
                let columns = self.fields(*record, fields)?;
                let table = &self.program.schema.record(*record).name;
                self.engine
                    .store()
                    .update_row(table, id, &columns)
                    .map_err(|e| refused(span, e))?;
                self.settle(span)
            }
            TestStepKind::Delete { var, record } => {
                let id = self.vars.get(var.index()).and_then(ref_id).unwrap_or(0);
                let table = &self.program.schema.record(*record).name;
                self.engine
                    .store()
                    .delete_row(table, id)
                    .map_err(|e| refused(span, e))?;
                self.settle(span)
            }
            TestStepKind::Event { name, var, data } => {
                let id = self.vars.get(var.index()).and_then(ref_id).unwrap_or(0);
                let table = self.table_of_var(test, var.index());
                let mut payload = serde_json::Map::new();
                for (key, e) in data {
                    payload.insert(
                        key.clone(),
                        to_json(&self.value(e)?, e.ty.base, self.program),
                    );
                }
                let at = self.engine.clock().unwrap_or(0);
                self.engine
                    .store()
                    .record_event(
                        name,
                        &table,
                        id,
                        &serde_json::Value::Object(payload).to_string(),
                        at,
                    )
                    .map_err(|e| fail(span, e.to_string()))?;
                self.settle(span)
            }
            TestStepKind::Approve { subject, approve } => {
                let subject = match subject {
                    Some(e) => Some(self.id_of(e)?),
                    None => None,
                };
                let decision = if *approve {
                    Decision::Approved
                } else {
                    Decision::Rejected
                };
                let at = self.engine.clock().unwrap_or(0);
                let changed = self
                    .engine
                    .store()
                    .decide_pending(decision, at, subject)
                    .map_err(|e| fail(span, e.to_string()))?;
                if changed == 0 {
                    return Err(fail(span, "there is no pending approval to decide"));
                }
                self.settle(span)
            }
            TestStepKind::After { months, seconds } => {
                let now = self.engine.clock().unwrap_or(0);
                let moved = match *months {
                    0 => Some(now),
                    m => flowc_syntax::time::add_months_local(now, m, self.program.schema.timezone),
                };
                let Some(moved) = moved else {
                    return Err(fail(span, "the clock cannot move that many months"));
                };
                let target = moved.saturating_add(*seconds);
                self.engine
                    .advance(Advance::Until(target))
                    .map_err(|e| fail(span, format!("the engine failed: {e}")))?;
                self.settle(span)
            }
            TestStepKind::ExpectCondition(e) => match self.value(e)? {
                Value::Bool(true) => Ok(()),
                _ => Err(Failure {
                    span: e.span,
                    message: "this expectation does not hold".into(),
                    actual: self.explain(e),
                }),
            },
            TestStepKind::ExpectEmail {
                count,
                template,
                to,
                contains,
            } => self.expect_email(span, *count, *template, to, contains.as_ref()),
            TestStepKind::ExpectTask {
                count,
                title,
                assignee,
            } => self.expect_task(span, *count, title.as_deref(), assignee),
            TestStepKind::ExpectRefused {
                var,
                record,
                fields,
            } => {
                let id = self.vars.get(var.index()).and_then(ref_id).unwrap_or(0);
                let columns = self.fields(*record, fields)?;
                let table = &self.program.schema.record(*record).name;
                let who = self.who(*record, id);
                match self.engine.store().update_row(table, id, &columns) {
                    Err(e) if e.is_locked_row() => Ok(()),
                    Err(e) => Err(fail(
                        span,
                        format!("the update of {who} was refused, but not by a lock: {e}"),
                    )),
                    Ok(_) => {
                        let mut actual = vec![format!("the update of {who} went through")];
                        actual.extend(self.producers(|s| matches!(s, StepKind::Lock(_))));
                        Err(Failure {
                            span,
                            message: format!("expected the update of {who} to be refused"),
                            actual,
                        })
                    }
                }
            }
            TestStepKind::ExpectApproval { negated, subject } => {
                let subject = match subject {
                    Some(e) => Some(self.id_of(e)?),
                    None => None,
                };
                let found = self
                    .engine
                    .store()
                    .inspect()
                    .count_pending_approvals(subject)
                    .map_err(|e| fail(span, e.to_string()))?;
                if (found > 0) != *negated {
                    return Ok(());
                }
                let pending = self
                    .engine
                    .store()
                    .inspect()
                    .approvals()
                    .unwrap_or_default();
                let message = if *negated {
                    "expected no pending approval"
                } else {
                    "expected a pending approval"
                };
                Err(Failure {
                    span,
                    message: message.into(),
                    actual: facts("approvals", pending),
                })
            }
            TestStepKind::ExpectRun {
                rule,
                subject,
                state,
            } => {
                let id = self.id_of(subject)?;
                let name = &self.program.rules[rule.index()].name;
                let status = self
                    .engine
                    .store()
                    .inspect()
                    .latest_run_state(name, id)
                    .map_err(|e| fail(span, e.to_string()))?;
                if status.as_deref() == Some(state.as_str()) {
                    return Ok(());
                }
                Err(Failure {
                    span,
                    message: format!(
                        "expected the run of `{name}` on {} to be {}",
                        self.who_expr(subject, id),
                        state.as_str()
                    ),
                    actual: vec![match status {
                        Some(s) => format!("it is {s}{}", self.waiting_until(name, id)),
                        None => "the rule never ran for it".into(),
                    }],
                })
            }
        }
    }

    /// `who` for a record-valued expression.
    fn who_expr(&self, e: &flowc_check::ir::Expr, id: i64) -> String {
        match e.ty.base {
            Type::Record(record) => self.who(record, id),
            _ => format!("#{id}"),
        }
    }

    /// ` until …` for a waiting run: when it will wake, if on a timer.
    fn waiting_until(&self, rule: &str, id: i64) -> String {
        let wake = self
            .engine
            .store()
            .inspect()
            .waiting_until(rule, id)
            .ok()
            .flatten();
        let zone = self.program.schema.timezone;
        wake.map(|at| format!(" until {}", flowc_syntax::time::format_datetime(at, zone)))
            .unwrap_or_default()
    }

    /// Every task, for a failure: `"title" for u (user #1), due …`.
    fn tasks(&self) -> Vec<String> {
        self.engine
            .store()
            .inspect()
            .tasks()
            .unwrap_or_default()
            .into_iter()
            .map(|t| {
                let record = t
                    .assignee_table
                    .as_deref()
                    .and_then(|name| self.program.schema.record_named(name));
                let who = match (record, t.assignee) {
                    (Some(record), Some(id)) => self.who(record, id),
                    (_, Some(id)) => format!("#{id}"),
                    _ => "nobody".into(),
                };
                let due = t.due.map(|d| format!(", due {d}")).unwrap_or_default();
                format!("{:?} for {who}{due}", t.title)
            })
            .collect()
    }

    fn table_of_var(&self, test: &TestDef, var: usize) -> String {
        test.vars
            .get(var)
            .map(|(_, r)| self.program.schema.record(*r).name.clone())
            .unwrap_or_default()
    }

    fn expect_email(
        &self,
        span: Span,
        count: EmailCount,
        template: Option<flowc_check::ir::TemplateId>,
        to: &flowc_check::ir::Expr,
        contains: Option<&(EmailPart, flowc_check::ir::Expr)>,
    ) -> Result<(), Failure> {
        let address = self.address_of(span, to)?;
        let template_name = template.map(|t| self.program.schema.templates[t.index()].name.clone());
        let filter = match contains {
            Some((part, e)) => match self.value(e)? {
                Value::Text(t) => Some((*part, t.to_string())),
                other => {
                    return Err(fail(
                        e.span,
                        format!("expected a text, found {}", shown(&other)),
                    ));
                }
            },
            None => None,
        };
        let sent = self
            .engine
            .store()
            .inspect()
            .emails_to(&address)
            .map_err(|e| fail(span, e.to_string()))?;
        let of_template: Vec<&SentEmail> = sent
            .iter()
            .filter(|m| template_name.as_ref().is_none_or(|t| m.template == *t))
            .collect();
        let found = of_template
            .iter()
            .filter(|m| {
                filter.as_ref().is_none_or(|(part, text)| match part {
                    EmailPart::Subject => m.subject.contains(text.as_str()),
                    EmailPart::Body => m.body.contains(text.as_str()),
                })
            })
            .count() as i64;
        let ok = match count {
            EmailCount::Some => found > 0,
            EmailCount::None => found == 0,
            EmailCount::Exactly(n) => found == i64::from(n),
        };
        if ok {
            return Ok(());
        }
        let what = template_name.map(|t| format!("`{t}` ")).unwrap_or_default();
        let with = filter
            .as_ref()
            .map(|(part, text)| format!(" with {} containing {text:?}", part.as_str()))
            .unwrap_or_default();
        let message = match count {
            EmailCount::Some => format!("expected an email {what}to {address}{with}"),
            EmailCount::None => {
                format!("expected no email {what}to {address}{with}, found {found}")
            }
            EmailCount::Exactly(n) => {
                let emails = if n == 1 { "email" } else { "emails" };
                format!("expected {n} {emails} {what}to {address}{with}, found {found}")
            }
        };
        let mut actual = match filter {
            // What the emails to that address say, so the near miss shows.
            Some((part, _)) if !sent.is_empty() => sent
                .iter()
                .map(|m| match part {
                    EmailPart::Subject => {
                        format!("{} to {address}: subject {:?}", m.template, m.subject)
                    }
                    EmailPart::Body => {
                        format!("{} to {address}: body {:?}", m.template, excerpt(&m.body))
                    }
                })
                .collect(),
            _ => facts(
                "emails",
                self.engine.store().inspect().emails().unwrap_or_default(),
            ),
        };
        let too_few = match count {
            EmailCount::Some => found == 0,
            EmailCount::None => false,
            EmailCount::Exactly(n) => found < i64::from(n),
        };
        if too_few {
            actual.extend(self.producers(|s| match (s, template) {
                (StepKind::SendEmail { template: t, .. }, Some(wanted)) => *t == wanted,
                (StepKind::SendEmail { .. } | StepKind::Notify { .. }, None) => true,
                _ => false,
            }));
        }
        Err(Failure {
            span,
            message,
            actual,
        })
    }

    /// The address an `expect … email to X` means: X's `email`, or X.
    fn address_of(&self, span: Span, to: &flowc_check::ir::Expr) -> Result<String, Failure> {
        Ok(match (self.value(to)?, to.ty.base) {
            (Value::Ref(id), Type::Record(record)) => {
                let def = self.program.schema.record(record);
                let field = def
                    .field_named("email")
                    .ok_or_else(|| fail(to.span, format!("`{}` has no email field", def.name)))?;
                let row = self
                    .engine
                    .load_row(record, id)
                    .map_err(|e| fail(span, e.to_string()))?
                    .ok_or_else(|| fail(to.span, "the record no longer exists"))?;
                row.row
                    .get(field.index())
                    .as_str()
                    .map(str::to_string)
                    .unwrap_or_default()
            }
            (Value::Text(t), _) => t.to_string(),
            (other, _) => {
                return Err(fail(
                    to.span,
                    format!("expected a record or an address, found {}", shown(&other)),
                ));
            }
        })
    }

    /// `expect task "T" for u`, `expect 2 tasks for u`, `expect no task for u`.
    fn expect_task(
        &self,
        span: Span,
        count: EmailCount,
        title: Option<&str>,
        assignee: &flowc_check::ir::Expr,
    ) -> Result<(), Failure> {
        let id = self.id_of(assignee)?;
        let table = match assignee.ty.base {
            Type::Record(record) => Some(self.program.schema.record(record).name.as_str()),
            _ => None,
        };
        let all = self
            .engine
            .store()
            .inspect()
            .tasks()
            .map_err(|e| fail(span, e.to_string()))?;
        let found = all
            .iter()
            .filter(|t| {
                t.assignee == Some(id)
                    && (table.is_none() || t.assignee_table.as_deref() == table)
                    && title.is_none_or(|title| t.title == title)
            })
            .count() as i64;
        let ok = match count {
            EmailCount::Some => found > 0,
            EmailCount::None => found == 0,
            EmailCount::Exactly(n) => found == i64::from(n),
        };
        if ok {
            return Ok(());
        }
        let who = self.who_expr(assignee, id);
        let titled = title.map(|t| format!(" {t:?}")).unwrap_or_default();
        let message = match count {
            EmailCount::Some => format!("expected a task{titled} for {who}"),
            EmailCount::None => format!("expected no task{titled} for {who}, found {found}"),
            EmailCount::Exactly(n) => {
                let tasks = if n == 1 { "task" } else { "tasks" };
                format!("expected {n} {tasks}{titled} for {who}, found {found}")
            }
        };
        let mut actual = facts("tasks", self.tasks());
        let too_few = match count {
            EmailCount::Some => found == 0,
            EmailCount::None => false,
            EmailCount::Exactly(n) => found < i64::from(n),
        };
        if too_few {
            actual.extend(self.producers(|s| matches!(s, StepKind::CreateTask { .. })));
        }
        Err(Failure {
            span,
            message,
            actual,
        })
    }
}

/// The start of an email's body on one line, for a failure.
fn excerpt(body: &str) -> String {
    let line: String = body.split_whitespace().collect::<Vec<_>>().join(" ");
    match line.char_indices().nth(80) {
        Some((i, _)) => format!("{}…", &line[..i]),
        None => line,
    }
}

fn ref_id(v: &Value) -> Option<i64> {
    match v {
        Value::Ref(id) => Some(*id),
        _ => None,
    }
}

fn facts(what: &str, items: Vec<String>) -> Vec<String> {
    if items.is_empty() {
        vec![format!("no {what} at all")]
    } else {
        items.into_iter().map(|i| format!("{what}: {i}")).collect()
    }
}

fn shown(v: &Value) -> String {
    match v {
        Value::Null => "null".into(),
        Value::Bool(b) => b.to_string(),
        other => format!("{other:?}"),
    }
}

fn eval_failure(span: Span, e: EvalError) -> Failure {
    fail(span, format!("cannot evaluate: {e}"))
}

fn to_json(v: &Value, ty: Type, program: &Program) -> serde_json::Value {
    match v {
        Value::Null => serde_json::Value::Null,
        Value::Int(i) | Value::Ref(i) | Value::Duration(i) => (*i).into(),
        Value::Decimal(f) => serde_json::Number::from_f64(*f)
            .map_or(serde_json::Value::Null, serde_json::Value::Number),
        Value::Bool(b) => (*b).into(),
        other => other
            .to_text(ty, &program.schema)
            .map_or(serde_json::Value::Null, serde_json::Value::String),
    }
}

/// A write the database refused (a lock, a constraint).
fn refused(span: Span, e: crate::store::DbError) -> Failure {
    fail(span, format!("the database refused the write: {e}"))
}
