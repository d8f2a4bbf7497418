//! The benchmark's rule conditions, records and clock, shared by
//! `benches/eval.rs` and the peer comparison in `bench/peers/`.
//!
//! Twelve conditions of the kinds sales rules are made of (comparisons,
//! `in` lists, `between`, date and datetime arithmetic, `and`/`or` chains,
//! `contains` on text, nullable fields, a primitive), each written in flow
//! and as a hand-written Rust closure over a plain struct: the floor any
//! evaluator can hope for. The records are generated deterministically so
//! that every run sees the same data, with enough variety that branches
//! are not trivially predicted.
#![allow(dead_code)]

use flowc::value::{Row, Value};

/// The project the conditions are checked against.
pub const SCHEMA: &str = r#"
timezone "Asia/Tokyo"

enum stage { "見込み", "提案", "交渉", "受注", "失注" }

record user {
  name: text
  email: text
}

record deal {
  name: text
  amount: decimal
  stage: stage
  probability: int
  close_date: date
  created_at: datetime
  region: text
  employees: int?
  discount: decimal?
  owner: user
  email: text
}
"#;

/// The stages, in declaration order (an enum value is its index).
pub const STAGES: [&str; 5] = ["見込み", "提案", "交渉", "受注", "失注"];

/// A deal as a Rust program would hold it.
#[derive(Clone, Debug)]
pub struct Deal {
    pub name: String,
    pub amount: f64,
    pub stage: u32,
    pub probability: i64,
    /// Day number (days since 1970-01-01).
    pub close_date: i32,
    /// Unix seconds.
    pub created_at: i64,
    pub region: String,
    pub employees: Option<i64>,
    pub discount: Option<f64>,
    pub owner: i64,
    pub email: String,
}

/// The evaluation's clock: today (day number) and now (Unix seconds).
#[derive(Clone, Copy, Debug)]
pub struct Clock {
    pub today: i32,
    pub now: i64,
}

/// 2024-06-03 (a Monday), 10:00 in Tokyo.
pub const CLOCK: Clock = Clock {
    today: 19_877,
    now: 1_717_376_400,
};

/// One condition: its name, its flow text, and the same meaning in Rust.
pub struct Condition {
    pub name: &'static str,
    pub flow: &'static str,
    pub native: fn(&Deal, &Clock) -> bool,
}

const DAY: i64 = 86_400;

pub const CONDITIONS: [Condition; 12] = [
    Condition {
        name: "compare",
        flow: "deal.amount > 1000000",
        native: |d, _| d.amount > 1_000_000.0,
    },
    Condition {
        name: "in_list",
        flow: r#"deal.stage in ["提案", "交渉"]"#,
        native: |d, _| d.stage == 1 || d.stage == 2,
    },
    Condition {
        name: "between",
        flow: "deal.probability between 30 and 70",
        native: |d, _| (30..=70).contains(&d.probability),
    },
    Condition {
        name: "date_math",
        flow: "deal.close_date - today between 0 and 14",
        native: |d, c| (0..=14).contains(&(i64::from(d.close_date) - i64::from(c.today))),
    },
    Condition {
        name: "and_chain",
        flow: r#"deal.amount >= 500000 and deal.probability >= 50 and deal.stage != "失注""#,
        native: |d, _| d.amount >= 500_000.0 && d.probability >= 50 && d.stage != 4,
    },
    Condition {
        name: "or_chain",
        flow: r#"deal.region == "関東" or deal.region == "関西" or deal.employees > 1000"#,
        native: |d, _| {
            d.region == "関東" || d.region == "関西" || d.employees.is_some_and(|e| e > 1000)
        },
    },
    Condition {
        name: "contains",
        flow: r#"deal.name contains "株式会社""#,
        native: |d, _| d.name.contains("株式会社"),
    },
    Condition {
        name: "nullable",
        flow: "deal.discount is not null and deal.discount > 0.2",
        native: |d, _| d.discount.is_some_and(|x| x > 0.2),
    },
    Condition {
        name: "datetime_math",
        flow: "deal.created_at + 30d < now",
        native: |d, c| d.created_at + 30 * DAY < c.now,
    },
    Condition {
        name: "arithmetic",
        flow: "deal.amount * (1 - coalesce(deal.discount, 0.0)) > 800000",
        native: |d, _| d.amount * (1.0 - d.discount.unwrap_or(0.0)) > 800_000.0,
    },
    Condition {
        name: "text_or",
        flow: r#"deal.email contains "@gmail.com" or deal.email contains "@yahoo.co.jp""#,
        native: |d, _| d.email.contains("@gmail.com") || d.email.contains("@yahoo.co.jp"),
    },
    Condition {
        name: "weekday",
        flow: "deal.close_date < today and weekday(deal.close_date) <= 5",
        native: |d, c| d.close_date < c.today && (i64::from(d.close_date) + 3).rem_euclid(7) < 5,
    },
];

/// A small deterministic generator (xorshift), so every run sees the
/// same records.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len() as u64) as usize]
    }
}

/// `n` deals with varied, realistic values (some nullable fields null).
pub fn deals(n: usize) -> Vec<Deal> {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let companies = [
        "株式会社青葉",
        "山田商店",
        "株式会社みなと",
        "Acme Inc.",
        "合同会社ひかり",
    ];
    let regions = ["関東", "関西", "九州", "東北", "中部"];
    let domains = [
        "gmail.com",
        "example.co.jp",
        "yahoo.co.jp",
        "corp.example.com",
    ];
    (0..n)
        .map(|i| Deal {
            name: format!("{} 案件{i}", rng.pick(&companies)),
            amount: (rng.below(300) * 10_000) as f64 + 0.5,
            stage: rng.below(5) as u32,
            probability: rng.below(101) as i64,
            close_date: CLOCK.today - 20 + rng.below(60) as i32,
            created_at: CLOCK.now - (rng.below(90) as i64) * DAY,
            region: rng.pick(&regions).to_string(),
            employees: (rng.below(4) != 0).then(|| rng.below(5000) as i64),
            discount: (rng.below(2) == 0).then(|| rng.below(40) as f64 / 100.0),
            owner: 1 + rng.below(3) as i64,
            email: format!("user{i}@{}", rng.pick(&domains)),
        })
        .collect()
}

/// The deal as flowc's row (fields in declaration order).
pub fn row(id: i64, d: &Deal) -> Row {
    Row::from_values(
        id,
        [
            Value::text(&d.name),
            Value::Decimal(d.amount),
            Value::Enum(d.stage),
            Value::Int(d.probability),
            Value::Date(d.close_date),
            Value::DateTime(d.created_at),
            Value::text(&d.region),
            d.employees.map_or(Value::Null, Value::Int),
            d.discount.map_or(Value::Null, Value::Decimal),
            Value::Ref(d.owner),
            Value::text(&d.email),
        ],
    )
}

/// The environment the conditions run in: only the clock is asked for.
pub struct BenchEnv {
    pub schema: flowc::ir::Schema,
    pub clock: Clock,
}

impl flowc::eval::Env for BenchEnv {
    fn schema(&self) -> &flowc::ir::Schema {
        &self.schema
    }
    fn today(&self) -> i32 {
        self.clock.today
    }
    fn now(&self) -> i64 {
        self.clock.now
    }
    fn field(
        &mut self,
        _: flowc::ir::RecordId,
        id: i64,
        _: flowc::ir::FieldId,
    ) -> Result<Value, flowc::eval::EvalError> {
        Err(unsupported(id))
    }
    fn old(
        &mut self,
        _: flowc::ir::RecordId,
        _: flowc::ir::FieldId,
    ) -> Result<Value, flowc::eval::EvalError> {
        Err(unsupported(0))
    }
    fn event_field(&mut self, _: &str) -> Result<Value, flowc::eval::EvalError> {
        Ok(Value::Null)
    }
    fn in_list(&mut self, _: flowc::ir::ListId, _: i64) -> Result<bool, flowc::eval::EvalError> {
        Ok(false)
    }
    fn in_segment(
        &mut self,
        _: flowc::ir::SegmentId,
        _: i64,
    ) -> Result<bool, flowc::eval::EvalError> {
        Ok(false)
    }
    fn has_tag(
        &mut self,
        _: flowc::ir::RecordId,
        _: i64,
        _: &str,
    ) -> Result<bool, flowc::eval::EvalError> {
        Ok(false)
    }
    fn engaged(
        &mut self,
        _: flowc::ir::RecordId,
        _: i64,
        _: flowc::ir::TemplateId,
        _: bool,
    ) -> Result<bool, flowc::eval::EvalError> {
        Ok(false)
    }
    fn unsubscribed(
        &mut self,
        _: flowc::ir::RecordId,
        _: i64,
        _: flowc::ir::FieldId,
    ) -> Result<bool, flowc::eval::EvalError> {
        Ok(false)
    }
    fn lookup(
        &mut self,
        _: flowc::ir::RecordId,
        _: flowc::ir::FieldId,
        _: &Value,
    ) -> Result<i64, flowc::eval::EvalError> {
        Err(unsupported(0))
    }
    fn rows(
        &mut self,
        _: flowc::ir::RecordId,
        _: Option<(flowc::ir::FieldId, &Value)>,
    ) -> Result<Vec<i64>, flowc::eval::EvalError> {
        Ok(Vec::new())
    }
}

fn unsupported(id: i64) -> flowc::eval::EvalError {
    flowc::eval::EvalError::Unsupported(format!("the benchmark has no other rows (#{id})"))
}

/// A condition checked against [`SCHEMA`] as if in a rule for `deal`: the
/// program (for its functions) and the typed expression.
pub fn typed(flow: &str) -> (flowc::ir::Program, flowc::ir::Expr) {
    let mut project = flowc::project::Project::from_texts([("schema.flow", SCHEMA)]);
    let checked = project.check_expression("deal", flow);
    assert!(
        !checked.has_errors(),
        "`{flow}` does not check: {:?}",
        checked.diagnostics
    );
    let expr = checked.probe.expect("a checked expression");
    (checked.program, expr)
}
