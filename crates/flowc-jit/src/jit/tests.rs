//! The JIT's paths the expression suite does not reach (it runs on
//! well-formed data): bailing out to the VM on data the code was not
//! compiled for, errors and panics from the environment, memory.

use super::{Outcome, compile};
use crate::compiled::{Backend, Compiled};
use flowc_check::ir::{Expr, FieldId, ListId, Program, RecordId, Schema, SegmentId, TemplateId};
use flowc_check::project::Project;
use flowc_vm::eval::{Env, EvalError};
use flowc_vm::value::{Row, Slot, Tag, Value};
use flowc_vm::vm::{Frame, Machine};
use std::rc::Rc;

const SCHEMA: &str = "
record user {
  name: text
}
record deal {
  amount: int
  name: text
  owner: user
}
record line {
  deal: deal
  price: int
}
";

fn typed(expr: &str) -> (Program, Expr) {
    let mut project = Project::from_texts([("schema.flow", SCHEMA)]);
    let checked = project.check_expression("deal", expr);
    assert!(!checked.has_errors(), "{:?}", checked.diagnostics);
    let probe = checked.probe.clone();
    (checked.program, probe.unwrap_or_else(|| panic!("no probe")))
}

/// An environment whose other rows and aggregates are scripted.
#[derive(Default)]
struct TestEnv {
    schema: Schema,
    /// What `field` answers for these (record, field) pairs…
    fields: Vec<((u32, u32), Value)>,
    /// …and for any other.
    field: Option<Value>,
    /// `rows` fails with this.
    rows_error: Option<EvalError>,
    /// `field` panics.
    panic: bool,
}

impl Env for TestEnv {
    fn schema(&self) -> &Schema {
        &self.schema
    }
    fn today(&self) -> i32 {
        0
    }
    fn now(&self) -> i64 {
        0
    }
    fn field(&mut self, record: RecordId, _: i64, field: FieldId) -> Result<Value, EvalError> {
        assert!(!self.panic, "the environment panics");
        let known = self.fields.iter().find(|(k, _)| *k == (record.0, field.0));
        Ok(known.map_or_else(
            || self.field.clone().unwrap_or_default(),
            |(_, v)| v.clone(),
        ))
    }
    fn old(&mut self, _: RecordId, _: FieldId) -> Result<Value, EvalError> {
        Ok(Value::Null)
    }
    fn event_field(&mut self, _: &str) -> Result<Value, EvalError> {
        Ok(Value::Null)
    }
    fn in_list(&mut self, _: ListId, _: i64) -> Result<bool, EvalError> {
        Ok(false)
    }
    fn in_segment(&mut self, _: SegmentId, _: i64) -> Result<bool, EvalError> {
        Ok(false)
    }
    fn has_tag(&mut self, _: RecordId, _: i64, _: &str) -> Result<bool, EvalError> {
        Ok(false)
    }
    fn engaged(&mut self, _: RecordId, _: i64, _: TemplateId, _: bool) -> Result<bool, EvalError> {
        Ok(false)
    }
    fn unsubscribed(&mut self, _: RecordId, _: i64, _: FieldId) -> Result<bool, EvalError> {
        Ok(false)
    }
    fn lookup(&mut self, _: RecordId, _: FieldId, _: &Value) -> Result<i64, EvalError> {
        Ok(1)
    }
    fn rows(&mut self, _: RecordId, _: Option<(FieldId, &Value)>) -> Result<Vec<i64>, EvalError> {
        match &self.rows_error {
            Some(e) => Err(e.clone()),
            None => Ok(vec![1, 2]),
        }
    }
}

fn deal(amount: Value) -> Row {
    Row::from_values(7, [amount, Value::text("株式会社"), Value::Ref(1)])
}

fn refs() -> [Value; 2] {
    [Value::Ref(7), Value::Ref(7)]
}

#[test]
fn runs_natively_on_well_formed_rows() {
    let (program, expr) = typed("deal.amount > 10 and deal.name contains \"株式\"");
    let code = compile(&program.functions, &expr, Frame::RULE).expect("compiles");
    let mut env = TestEnv::default();
    let row = deal(Value::Int(11));
    assert_eq!(
        code.eval(&refs(), Some(&row), &mut env),
        Outcome::Done(Ok(Value::Bool(true)))
    );
    assert_eq!(
        code.eval_condition(&refs(), Some(&deal(Value::Null)), &mut env),
        Outcome::Done(Ok(false))
    );
}

#[test]
fn bails_out_on_a_slot_of_another_kind_and_the_vm_answers() {
    let (program, expr) = typed("deal.amount > 10");
    let code = compile(&program.functions, &expr, Frame::RULE).expect("compiles");
    let mut env = TestEnv::default();
    // A decimal where the schema says int: what the VM does with it is the answer.
    let row = deal(Value::Decimal(11.5));
    assert_eq!(code.eval(&refs(), Some(&row), &mut env), Outcome::Bail);
    let functions: Rc<[_]> = program.functions.clone().into();
    let compiled = Compiled::new(functions, &expr, Frame::RULE, Backend::Jit).expect("compiles");
    let vm = flowc_vm::vm::compile(&program.functions, &expr, Frame::RULE).expect("compiles");
    let mut m = Machine::new();
    assert_eq!(
        compiled.eval(&mut m, Some(&row), &mut env),
        vm.eval(&mut m, Some(&row), &mut env)
    );
}

#[test]
fn bails_out_on_short_rows_bad_text_handles_and_a_missing_subject() {
    let (program, expr) = typed("deal.name == \"x\"");
    let code = compile(&program.functions, &expr, Frame::RULE).expect("compiles");
    let mut env = TestEnv::default();
    let short = Row::from_values(7, [Value::Int(1)]);
    assert_eq!(code.eval(&refs(), Some(&short), &mut env), Outcome::Bail);
    let mut bad = deal(Value::Int(1));
    bad.slots[1] = Slot {
        tag: Tag::Text,
        bits: 99,
    };
    assert_eq!(code.eval(&refs(), Some(&bad), &mut env), Outcome::Bail);
    assert_eq!(code.eval(&refs(), None, &mut env), Outcome::Bail);
}

#[test]
fn bails_out_when_the_environment_gives_another_kind_of_value() {
    let (program, expr) = typed("deal.owner.name == \"佐藤\"");
    let code = compile(&program.functions, &expr, Frame::RULE).expect("compiles");
    let mut env = TestEnv {
        field: Some(Value::Int(3)),
        ..TestEnv::default()
    };
    let row = deal(Value::Int(1));
    assert_eq!(code.eval(&refs(), Some(&row), &mut env), Outcome::Bail);
    env.field = Some(Value::text("佐藤"));
    assert_eq!(
        code.eval(&refs(), Some(&row), &mut env),
        Outcome::Done(Ok(Value::Bool(true)))
    );
}

#[test]
fn environment_errors_come_back_as_errors() {
    let (program, expr) = typed("sum(line.price for line.deal == deal) > 3");
    let code = compile(&program.functions, &expr, Frame::RULE).expect("compiles");
    let error = EvalError::Database("disk on fire".into());
    let mut env = TestEnv {
        rows_error: Some(error.clone()),
        ..TestEnv::default()
    };
    let row = deal(Value::Int(1));
    assert_eq!(
        code.eval(&refs(), Some(&row), &mut env),
        Outcome::Done(Err(error))
    );
}

#[test]
fn a_panic_in_the_environment_unwinds_to_the_caller() {
    let (program, expr) = typed("deal.owner.name == \"佐藤\"");
    let code = compile(&program.functions, &expr, Frame::RULE).expect("compiles");
    let mut env = TestEnv {
        panic: true,
        ..TestEnv::default()
    };
    let row = deal(Value::Int(1));
    let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        code.eval(&refs(), Some(&row), &mut env)
    }));
    assert!(caught.is_err(), "the panic went missing: {caught:?}");
}

#[test]
fn overflow_is_an_error_only_when_both_sides_are_there() {
    let (program, expr) = typed("deal.amount * 9223372036854775807");
    let code = compile(&program.functions, &expr, Frame::RULE).expect("compiles");
    let mut env = TestEnv::default();
    assert_eq!(
        code.eval(&refs(), Some(&deal(Value::Int(2))), &mut env),
        Outcome::Done(Err(EvalError::Overflow("*")))
    );
    assert_eq!(
        code.eval(&refs(), Some(&deal(Value::Null)), &mut env),
        Outcome::Done(Ok(Value::Null))
    );
}

#[test]
fn code_is_freed_when_dropped() {
    // Thousands of modules compiled and dropped: their memory is unmapped
    // (a leak would show as growth in a profiler; here it must not crash).
    let (program, expr) = typed("deal.amount between 1 and 5 or deal.amount > 100");
    for _ in 0..2_000 {
        let code = compile(&program.functions, &expr, Frame::RULE).expect("compiles");
        drop(code);
    }
}

#[test]
fn sweeps_agree_with_row_by_row_evaluation_and_hand_odd_rows_to_the_vm() {
    let (program, expr) = typed("deal.amount > 10 and deal.id != 3");
    let functions: Rc<[_]> = program.functions.clone().into();
    let compiled = Compiled::new(functions, &expr, Frame::RULE, Backend::Jit).expect("compiles");
    let mut rows: Vec<Row> = [
        Value::Int(11),
        Value::Null,
        Value::Decimal(50.0),
        Value::Int(99),
    ]
    .into_iter()
    .map(deal)
    .collect();
    for (i, row) in rows.iter_mut().enumerate() {
        row.id = i as i64 + 1;
    }
    let mut env = TestEnv::default();
    let mut m = Machine::new();
    let mut swept = vec![None; rows.len()];
    compiled.eval_conditions(&mut m, &rows, &mut env, |i, r| swept[i] = Some(r));
    let vm = flowc_vm::vm::compile(&program.functions, &expr, Frame::RULE).expect("compiles");
    for (i, row) in rows.iter().enumerate() {
        m.set_var(0, Value::Ref(row.id));
        let want = vm.eval(&mut m, Some(row), &mut env).map(|v| v.truthy());
        assert_eq!(swept[i], Some(want), "row {i}");
    }
}

#[test]
fn wide_frames_without_a_subject_row_read_variables_and_ask_the_environment() {
    // As a test block's expression: variables are the `given` records,
    // and even the first one's fields come from the environment.
    let (program, expr) = typed("deal.owner.name == \"佐藤\" and deal.id == 7");
    let frame = Frame {
        vars: 6,
        subject_row: false,
    };
    let code = compile(&program.functions, &expr, frame).expect("compiles");
    // deal (record 1).owner (field 2) is user #1, whose name (field 0) is 佐藤.
    let mut env = TestEnv {
        fields: vec![((1, 2), Value::Ref(1)), ((0, 0), Value::text("佐藤"))],
        ..TestEnv::default()
    };
    let mut vars = vec![Value::Null; 6];
    vars[0] = Value::Ref(7);
    assert_eq!(
        code.eval(&vars, None, &mut env),
        Outcome::Done(Ok(Value::Bool(true)))
    );
    vars[0] = Value::Ref(8);
    assert_eq!(
        code.eval(&vars, None, &mut env),
        Outcome::Done(Ok(Value::Bool(false)))
    );
    // An owner that is not a reference: the VM decides what that means.
    env.fields[0].1 = Value::text("佐藤");
    assert_eq!(code.eval(&vars, None, &mut env), Outcome::Bail);
}
