//! The fixture behind the expression suite and the backend property tests:
//! the schema in `tests/expr/schema.flow`, a few rows, and one function to
//! evaluate an expression with every backend.
#![allow(dead_code)]

use super::memenv::MemEnv;
use super::reference::Reference;
use flowc::eval::{Backend, Compiled};
use flowc::ir::{self, ListId, Program, RecordId, SegmentId, TemplateId};
use flowc::jit::Outcome as JitOutcome;
use flowc::project::Project;
use flowc::value::{Row, Value};
use flowc::vm::Frame;
use std::collections::HashMap;

/// A backend's name and what it computed.
pub type Outcome = (&'static str, Result<Value, String>);

pub struct Fixture {
    pub project: Project,
    pub program: Program,
    pub env: MemEnv,
}

fn date(text: &str) -> Value {
    Value::Date(flowc::time::parse_date(text).unwrap_or(0))
}

fn datetime(text: &str) -> Value {
    Value::DateTime(flowc::time::parse_datetime(text, chrono_tz::Asia::Tokyo).unwrap_or(0))
}

/// Two results are the same value (decimals compared exactly).
pub fn same(a: &Value, b: &Value) -> bool {
    a == b
}

impl Fixture {
    pub fn load() -> Fixture {
        let root = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"));
        let text =
            std::fs::read_to_string(root.join("tests/expr/schema.flow")).expect("schema.flow");
        let project = Project::from_texts([("schema.flow", text.as_str())]);
        let checked = project.check();
        assert!(
            !checked.has_errors(),
            "the expression schema must check clean: {:?}",
            checked.diagnostics
        );
        let program = checked.program;
        let mut env = MemEnv {
            schema: program.schema.clone(),
            ..MemEnv::default()
        };
        let (user, t, item) = (RecordId(0), RecordId(1), RecordId(2));
        env.insert(
            user,
            Row::from_values(
                1,
                [
                    Value::text("佐藤"),
                    Value::text("sato@example.jp"),
                    Value::text("sales"),
                ],
            ),
        );
        env.insert(
            user,
            Row::from_values(
                2,
                [
                    Value::text("加藤"),
                    Value::text("kato@example.jp"),
                    Value::text("manager"),
                ],
            ),
        );
        let null = || Value::Null;
        let mut t1 = vec![
            Value::Int(42),
            Value::Int(-7),
            Value::Decimal(2.5),
            Value::text("東京都港区"),
            Value::Bool(true),
            date("2024-02-28"),
            datetime("2024-03-31T09:00"),
            Value::Duration(3 * 86_400),
            Value::Enum(1),
            Value::Ref(1),
        ];
        t1.extend((0..9).map(|_| null()));
        env.insert(t, Row::from_values(1, t1.clone()));
        env.insert(
            t,
            Row::from_values(
                2,
                [
                    Value::Int(5),
                    Value::Int(0),
                    Value::Decimal(0.1),
                    Value::text("abc"),
                    Value::Bool(false),
                    date("2024-12-31"),
                    datetime("2024-12-31T23:30"),
                    Value::Duration(0),
                    Value::Enum(2),
                    Value::Ref(2),
                    Value::Int(7),
                    Value::Decimal(1.5),
                    Value::text("x"),
                    Value::Bool(false),
                    date("2025-01-01"),
                    datetime("2025-01-01T00:00"),
                    Value::Duration(3600),
                    Value::Enum(3),
                    Value::Ref(1),
                ],
            ),
        );
        env.insert(
            item,
            Row::from_values(
                1,
                [
                    Value::Ref(1),
                    Value::Int(800),
                    Value::Int(1000),
                    Value::Decimal(1.5),
                ],
            ),
        );
        env.insert(
            item,
            Row::from_values(
                2,
                [Value::Ref(1), Value::Int(150), Value::Int(200), Value::Null],
            ),
        );
        env.insert(
            item,
            Row::from_values(
                3,
                [
                    Value::Ref(2),
                    Value::Int(5),
                    Value::Int(10),
                    Value::Decimal(2.0),
                ],
            ),
        );
        env.lists.insert((ListId(0), 1));
        env.segments.insert((SegmentId(0), 1));
        env.tags.insert((t, 1, "hot".to_string()));
        env.engaged.insert((t, 1, TemplateId(0), false));
        env.suppressed.insert("sato@example.jp".to_string());
        let mut old = t1;
        old[0] = Value::Int(40);
        old[8] = Value::Enum(0);
        env.old = Row::from_values(1, old);
        env.event = serde_json::json!({
            "form": "seminar", "n": 3, "x": 2.5, "flag": true, "when": "2024-05-01", "stage": "受注"
        })
        .as_object()
        .cloned()
        .unwrap_or_default();
        env.today = flowc::time::parse_date("2024-02-28").unwrap_or(0);
        env.now =
            flowc::time::parse_datetime("2024-02-28T12:00", chrono_tz::Asia::Tokyo).unwrap_or(0);
        Fixture {
            project,
            program,
            env,
        }
    }

    /// Type-checks `expr` in a rule for `t` (with `event` and `old` allowed).
    pub fn typed(&self, expr: &str) -> Result<(Program, ir::Expr), String> {
        let root = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"));
        let text = std::fs::read_to_string(root.join("tests/expr/schema.flow"))
            .map_err(|e| e.to_string())?;
        let mut project = Project::from_texts([("schema.flow", text.as_str())]);
        let checked = project.check_expression("t", expr);
        if checked.has_errors() {
            let rendered =
                flowc::diagnostic::render_human(&project.sources, &checked.diagnostics, false);
            return Err(format!("`{expr}` does not check:\n{rendered}"));
        }
        let typed = checked.probe.ok_or("no expression")?;
        Ok((checked.program, typed))
    }

    pub fn subject(&self) -> Row {
        self.subject_row(1)
    }

    fn subject_row(&self, id: i64) -> Row {
        self.env.row(RecordId(1), id).cloned().unwrap_or_default()
    }

    /// `(backend, result)` for every backend, on row t#1.
    pub fn evaluate_all(&self, expr: &str) -> Result<Vec<Outcome>, String> {
        self.evaluate_all_on(expr, 1)
    }

    /// `(backend, result)` for every backend, on row t#`id` (subject and
    /// recipient).
    pub fn evaluate_all_on(&self, expr: &str, id: i64) -> Result<Vec<Outcome>, String> {
        let (program, typed) = self.typed(expr)?;
        let mut out = Vec::new();
        let mut env = self.clone_env();
        let mut reference = Reference {
            program: &program,
            vars: HashMap::from([(0, Value::Ref(id)), (1, Value::Ref(id))]),
        };
        out.push((
            "reference",
            reference.eval(&typed, &mut env).map_err(|e| e.to_string()),
        ));
        let code = flowc::vm::compile(&program.functions, &typed, flowc::vm::Frame::RULE)
            .map_err(|e| e.to_string())?;
        let mut machine = flowc::vm::Machine::new();
        machine.set_var(0, Value::Ref(id));
        machine.set_var(1, Value::Ref(id));
        let row = self.subject_row(id);
        let mut env = self.clone_env();
        out.push((
            "vm",
            code.eval(&mut machine, Some(&row), &mut env)
                .map_err(|e| e.to_string()),
        ));
        // Twice on the same machine: leftover registers must not leak in.
        out.push((
            "vm (reused)",
            code.eval(&mut machine, Some(&row), &mut env)
                .map_err(|e| e.to_string()),
        ));
        out.push(("jit", self.jit(&program, &typed, &row)));
        let functions: std::rc::Rc<[ir::FnDef]> = program.functions.clone().into();
        for (name, backend) in [
            ("compiled (vm)", Backend::Vm),
            ("compiled (jit)", Backend::Jit),
            ("compiled (auto)", Backend::Auto),
        ] {
            let compiled = Compiled::new(functions.clone(), &typed, Frame::RULE, backend)
                .map_err(|e| e.to_string())?;
            let mut env = self.clone_env();
            let value = compiled.eval(&mut machine, Some(&row), &mut env);
            let condition = compiled.eval_condition(&mut machine, Some(&row), &mut env);
            if condition != value.as_ref().map(Value::truthy).map_err(Clone::clone) {
                return Err(format!("{name}: condition {condition:?}, value {value:?}"));
            }
            // The sweep entry, on this row alone, agrees too.
            let mut swept = Vec::new();
            let rows = std::slice::from_ref(&row);
            compiled.eval_conditions(&mut machine, rows, &mut env, |i, r| swept.push((i, r)));
            if swept != [(0, condition.clone())] {
                return Err(format!("{name}: sweep {swept:?}, condition {condition:?}"));
            }
            out.push((name, value.map_err(|e| e.to_string())));
        }
        Ok(out)
    }

    /// The JIT alone: declining or bailing out to the VM counts as a
    /// failure here, so that the suite shows what runs natively.
    fn jit(&self, program: &Program, typed: &ir::Expr, row: &Row) -> Result<Value, String> {
        let id = row.id;
        let code = flowc::jit::compile(&program.functions, typed, Frame::RULE)
            .map_err(|e| format!("the jit declines: {e}"))?;
        let mut env = self.clone_env();
        let vars = [Value::Ref(id), Value::Ref(id)];
        let first = code.eval(&vars, Some(row), &mut env);
        // Twice: nothing may carry over from one evaluation to the next.
        let second = code.eval(&vars, Some(row), &mut env);
        if first != second {
            return Err(format!(
                "the jit changed its mind: {first:?}, then {second:?}"
            ));
        }
        // The condition entry agrees with the value's truth.
        let condition = code.eval_condition(&vars, Some(row), &mut env);
        let truth = match &first {
            JitOutcome::Done(r) => {
                JitOutcome::Done(r.as_ref().map(Value::truthy).map_err(Clone::clone))
            }
            JitOutcome::Bail => JitOutcome::Bail,
        };
        if condition != truth {
            return Err(format!(
                "the jit's condition entry says {condition:?}, its value {first:?}"
            ));
        }
        match first {
            JitOutcome::Done(result) => result.map_err(|e| e.to_string()),
            JitOutcome::Bail => Err("the jit bailed out to the vm".into()),
        }
    }

    /// The value of a literal-like expected result (`43`, `"x"`, `2024-03-01`).
    pub fn evaluate_literal(&self, expected: &str) -> Result<Value, String> {
        let (program, typed) = self.typed(expected)?;
        let mut env = self.clone_env();
        let mut reference = Reference {
            program: &program,
            vars: HashMap::from([(0, Value::Ref(1))]),
        };
        reference.eval(&typed, &mut env).map_err(|e| e.to_string())
    }

    pub fn clone_env(&self) -> MemEnv {
        MemEnv {
            schema: self.env.schema.clone(),
            tables: self.env.tables.clone(),
            lists: self.env.lists.clone(),
            segments: self.env.segments.clone(),
            tags: self.env.tags.clone(),
            engaged: self.env.engaged.clone(),
            suppressed: self.env.suppressed.clone(),
            old: self.env.old.clone(),
            event: self.env.event.clone(),
            today: self.env.today,
            now: self.env.now,
        }
    }
}
