//! The third lowering of a condition: to an SQL `WHERE`, for sweeps.
//!
//! Only what SQLite computes exactly as flow does is translated, and SQL
//! decides only rows whose values are stored the way flowc reads them.
//! SQLite lets any column hold any value and compares by its own affinity
//! rules (a decimal stored as text compares as text; an untyped column's
//! text is greater than every number); the rows holding such a value are
//! listed in `flow_odd_rows` by the capture triggers (see
//! `store::capture::canonical_sql`), and [`candidates`] hands them to the
//! VM whatever the SQL says, so a bad value is reported, never skipped and
//! never misjudged, at no cost per row scanned. Text is compared with
//! `COLLATE BINARY`, flow's byte order, whatever the column's collation.
//!
//! A comparison with null is false in flow and `not` of it is true;
//! SQL's NULL only differs under `NOT`, so comparisons there become
//! two-valued (`coalesce(a < b, 0)`). Conjuncts that cannot be translated
//! are left to the VM on the rows SQL returns.
//!
//! The same translation is rendered for PostgreSQL ([`Dialect`]): `$N`
//! parameters cast to the literal's type, `COLLATE "C"` (byte order),
//! booleans, `strpos`, date arithmetic on `date`. PostgreSQL's columns hold
//! only values of their type, but some of those are bad data to flow (a
//! null in a non-nullable field, a `NaN` or out-of-range number, an
//! infinite date, an enum text the project does not declare): such rows
//! are selected and left to the VM by a condition on the pushed columns
//! themselves, the part `flow_odd_rows` plays on SQLite.

use super::sql::ident;
use flowc_check::ir::{
    ArithOp, CmpOp, Expr, ExprKind as K, Literal, Program, RecordId, Type, VarId,
};
use rusqlite::types::Value as SqlValue;
use std::collections::BTreeSet;

/// Which SQL a plan is rendered in.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Dialect {
    Sqlite,
    Postgres,
}

/// A sweep's selection in one dialect.
#[derive(Debug, PartialEq)]
pub struct Rendered {
    /// Rows to look at: those meeting the pushed conjuncts (and, on
    /// PostgreSQL, those whose pushed columns hold bad data).
    pub where_sql: String,
    /// Per row, true when SQL alone decided the whole condition (the row's
    /// pushed `columns` still have to decode cleanly).
    pub exact_sql: String,
    pub params: Vec<SqlValue>,
}

/// How a sweep selects its rows.
#[derive(Debug, PartialEq)]
pub struct Plan {
    pub sqlite: Rendered,
    pub postgres: Rendered,
    /// The subject's fields the pushed SQL reads.
    pub columns: Vec<flowc_check::ir::FieldId>,
    /// Whether one of them is text: SQL cannot tell whether a text is
    /// valid UTF-8, so a row SQL decided must still be decoded. For every
    /// other type, the canonical-form check already proves the value reads.
    pub text_columns: bool,
}

/// The rows of `table` the plan selects, in id order: `(id, exact)`,
/// `exact` when SQL alone decided the whole condition for that row. The
/// rows listed in `flow_odd_rows` are always among them, never exact.
pub fn candidates(
    conn: &rusqlite::Connection,
    table: &str,
    plan: &Plan,
) -> rusqlite::Result<Vec<(i64, bool)>> {
    let plan = &plan.sqlite;
    let sql = format!(
        "SELECT {0}, {1} FROM {2} WHERE {3} ORDER BY {0}",
        ident("id"),
        plan.exact_sql,
        ident(table),
        plan.where_sql
    );
    let mut stmt = conn.prepare(&sql)?;
    let rows = stmt.query_map(rusqlite::params_from_iter(plan.params.iter()), |r| {
        Ok((r.get(0)?, r.get::<_, i64>(1)? != 0))
    })?;
    let mut selected: std::collections::BTreeMap<i64, bool> =
        rows.collect::<rusqlite::Result<_>>()?;
    let mut odd = conn.prepare_cached("SELECT row_id FROM flow_odd_rows WHERE tbl = ?1")?;
    for id in odd.query_map([table], |r| r.get::<_, i64>(0))? {
        selected.insert(id?, false);
    }
    Ok(selected.into_iter().collect())
}

pub fn plan(program: &Program, subject: RecordId, filter: Option<&Expr>, now: i64) -> Plan {
    let sqlite = render(program, subject, filter, now, Dialect::Sqlite);
    let postgres = render(program, subject, filter, now, Dialect::Postgres);
    let record = program.schema.record(subject);
    let text_columns = sqlite
        .columns
        .iter()
        .any(|&f| record.fields[f as usize].ty.base == Type::Text);
    Plan {
        columns: sqlite
            .columns
            .iter()
            .map(|&f| flowc_check::ir::FieldId(f))
            .collect(),
        text_columns,
        sqlite: sqlite.sql,
        postgres: postgres.sql,
    }
}

/// One dialect's rendering, and the columns it reads (the same in every
/// dialect: a conjunct translates in all or none).
struct Translated {
    sql: Rendered,
    columns: BTreeSet<u32>,
}

fn render(
    program: &Program,
    subject: RecordId,
    filter: Option<&Expr>,
    now: i64,
    dialect: Dialect,
) -> Translated {
    let (yes, no) = match dialect {
        Dialect::Sqlite => ("1", "0"),
        Dialect::Postgres => ("true", "false"),
    };
    let everything = |exact: &str| Translated {
        sql: Rendered {
            where_sql: yes.into(),
            exact_sql: exact.into(),
            params: Vec::new(),
        },
        columns: BTreeSet::new(),
    };
    let Some(filter) = filter else {
        return everything(yes);
    };
    let mut conjuncts = Vec::new();
    flatten(filter, &mut conjuncts);
    let mut t = Translator {
        program,
        subject,
        dialect,
        params: Vec::new(),
        columns: BTreeSet::new(),
        now,
        args: Vec::new(),
        negated: 0,
    };
    let mut pushed = Vec::new();
    let mut residual = false;
    for c in conjuncts {
        let mark = (t.params.len(), t.columns.clone());
        match t.condition(c) {
            Some(sql) => pushed.push(sql),
            None => {
                residual = true;
                t.params.truncate(mark.0);
                t.columns = mark.1;
            }
        }
    }
    if pushed.is_empty() {
        return everything(no);
    }
    let condition = pushed.join(" AND ");
    let exact = if residual { no } else { yes };
    let (where_sql, exact_sql) = match t.bad_data() {
        Some(bad) => (
            format!("({condition}) OR {bad}"),
            format!("({exact} AND NOT {bad})"),
        ),
        None => (condition, format!("({exact})")),
    };
    Translated {
        sql: Rendered {
            where_sql,
            exact_sql,
            params: t.params,
        },
        columns: t.columns,
    }
}

fn flatten<'a>(e: &'a Expr, out: &mut Vec<&'a Expr>) {
    match &e.kind {
        K::And(a, b) => {
            flatten(a, out);
            flatten(b, out);
        }
        _ => out.push(e),
    }
}

struct Translator<'p> {
    program: &'p Program,
    subject: RecordId,
    dialect: Dialect,
    params: Vec<SqlValue>,
    /// The subject's columns the pushed SQL reads (field indices).
    columns: BTreeSet<u32>,
    now: i64,
    /// Arguments of the functions being inlined, innermost last.
    args: Vec<Vec<&'p Expr>>,
    /// How many `not`s the current condition is under.
    negated: usize,
}

impl<'p> Translator<'p> {
    /// A comparison: SQLite's NULL result already means "no row" unless a
    /// `NOT` above would turn it into true, so only there is it made 0.
    fn two_valued(&self, sql: String) -> String {
        if self.negated > 0 {
            format!("coalesce({sql}, {})", self.no())
        } else {
            format!("({sql})")
        }
    }

    fn yes(&self) -> &'static str {
        match self.dialect {
            Dialect::Sqlite => "1",
            Dialect::Postgres => "true",
        }
    }

    fn no(&self) -> &'static str {
        match self.dialect {
            Dialect::Sqlite => "0",
            Dialect::Postgres => "false",
        }
    }

    /// A parameter; on PostgreSQL cast to the value's type (`bigint`,
    /// `numeric`, `text`, `date`, `boolean`), never left for the server to
    /// guess (two parameters compared would compare as text).
    fn param(&mut self, v: SqlValue, pg_type: &str) -> String {
        self.params.push(v);
        match self.dialect {
            Dialect::Sqlite => format!("?{}", self.params.len()),
            Dialect::Postgres => format!("${}::{pg_type}", self.params.len()),
        }
    }

    /// On PostgreSQL, the rows whose pushed columns hold what flow reads as
    /// bad data (see the module comment), as one condition; `None` when no
    /// pushed column can.
    fn bad_data(&mut self) -> Option<String> {
        if self.dialect != Dialect::Postgres {
            return None;
        }
        let record = self.program.schema.record(self.subject);
        let mut bad = Vec::new();
        for &f in &self.columns.clone() {
            let field = &record.fields[f as usize];
            let column = ident(&field.name);
            if !field.ty.nullable {
                bad.push(format!("{column} IS NULL"));
            }
            match field.ty.base {
                Type::Decimal => bad.push(format!(
                    "coalesce(NOT ({column} BETWEEN -1.7976931348623157e308 AND 1.7976931348623157e308), false)"
                )),
                Type::Date => bad.push(format!("coalesce(NOT isfinite({column}), false)")),
                Type::Enum(id) => {
                    let values: Vec<String> = self
                        .program
                        .schema
                        .enum_def(id)
                        .values
                        .clone()
                        .into_iter()
                        .map(|v| self.param(SqlValue::Text(v), "text"))
                        .collect();
                    bad.push(format!(
                        "coalesce({column}::text NOT IN ({}), false)",
                        values.join(", ")
                    ));
                }
                _ => {}
            }
        }
        (!bad.is_empty()).then(|| format!("({})", bad.join(" OR ")))
    }

    /// A boolean condition as a two-valued SQL expression (0 or 1).
    fn condition(&mut self, e: &'p Expr) -> Option<String> {
        Some(match &e.kind {
            K::And(a, b) => format!("({} AND {})", self.condition(a)?, self.condition(b)?),
            K::Or(a, b) => format!("({} OR {})", self.condition(a)?, self.condition(b)?),
            K::Not(a) => {
                self.negated += 1;
                let inner = self.condition(a);
                self.negated -= 1;
                format!("(NOT {})", inner?)
            }
            K::Lit(Literal::Bool(b)) => if *b { self.yes() } else { self.no() }.into(),
            K::Compare {
                op, left, right, ..
            } => {
                if !orderable(left.ty.base) && !matches!(op, CmpOp::Eq | CmpOp::Ne) {
                    return None;
                }
                let sym = match op {
                    CmpOp::Eq => "=",
                    CmpOp::Ne => "!=",
                    CmpOp::Lt => "<",
                    CmpOp::Le => "<=",
                    CmpOp::Gt => ">",
                    CmpOp::Ge => ">=",
                };
                let (l, r) = (self.operand(left)?, self.operand(right)?);
                self.two_valued(format!("{l} {sym} {r}"))
            }
            K::Between {
                value,
                low,
                high,
                negated,
                ..
            } if orderable(value.ty.base) => {
                let not = if *negated { "NOT " } else { "" };
                let (v, lo, hi) = (
                    self.operand(value)?,
                    self.operand(low)?,
                    self.operand(high)?,
                );
                self.two_valued(format!("{v} {not}BETWEEN {lo} AND {hi}"))
            }
            K::In {
                value,
                items,
                negated,
                ..
            } => {
                let v = self.operand(value)?;
                let mut list = Vec::new();
                for item in items {
                    let K::Lit(lit) = &item.kind else { return None };
                    if *lit == Literal::Null {
                        return None;
                    }
                    list.push(self.operand(item)?);
                }
                let not = if *negated { "NOT " } else { "" };
                self.two_valued(format!("{v} {not}IN ({})", list.join(", ")))
            }
            K::IsNull { value, negated } => {
                let v = self.operand(value)?;
                format!("({v} IS {}NULL)", if *negated { "NOT " } else { "" })
            }
            K::Contains {
                text,
                part,
                negated,
            } => {
                let cmp = if *negated { "= 0" } else { "> 0" };
                let (t, p) = (self.operand(text)?, self.operand(part)?);
                let instr = match self.dialect {
                    Dialect::Sqlite => "instr",
                    Dialect::Postgres => "strpos",
                };
                self.two_valued(format!("{instr}({t}, {p}) {cmp}"))
            }
            K::StartsWith { text, prefix } => {
                let (t, p) = (self.operand(text)?, self.operand(prefix)?);
                self.two_valued(format!("substr({t}, 1, length({p})) = {p}"))
            }
            K::Field { .. } if e.ty.base == Type::Bool => {
                let v = self.operand(e)?;
                let yes = self.yes();
                self.two_valued(format!("{v} = {yes}"))
            }
            K::CallFn { function, args } => {
                self.inline(*function, args, |t, body| t.condition(body))?
            }
            _ => return None,
        })
    }

    /// A value-producing expression as SQL, or `None`.
    fn operand(&mut self, e: &'p Expr) -> Option<String> {
        match &e.kind {
            K::Field {
                base,
                record,
                field,
            } if *record == self.subject && self.is_subject(base) => {
                let ty = self.program.schema.field(*record, *field).ty.base;
                if matches!(ty, Type::DateTime) {
                    return None;
                }
                self.columns.insert(field.0);
                let column = ident(&self.program.schema.field(*record, *field).name);
                // The column's own collation (`COLLATE NOCASE`) must not
                // apply: flow compares text byte by byte. (A PostgreSQL enum
                // type has no collation: compared as its text.)
                Some(match (self.dialect, ty) {
                    (Dialect::Sqlite, Type::Text | Type::Enum(_) | Type::Date) => {
                        format!("{column} COLLATE BINARY")
                    }
                    (Dialect::Postgres, Type::Text | Type::Enum(_)) => {
                        format!("({column}::text COLLATE \"C\")")
                    }
                    _ => column,
                })
            }
            K::Lit(lit) => {
                let (v, pg_type) = match lit {
                    Literal::Null => return None,
                    Literal::Int(i) | Literal::Duration(i) => (SqlValue::Integer(*i), "bigint"),
                    Literal::Decimal(f) => (SqlValue::Real(*f), "numeric"),
                    Literal::Text(t) => (SqlValue::Text(t.clone()), "text"),
                    Literal::Bool(b) => (SqlValue::Integer(i64::from(*b)), "boolean"),
                    Literal::Date(d) => {
                        (SqlValue::Text(flowc_syntax::time::format_date(*d)), "date")
                    }
                    Literal::DateTime(_) => return None,
                    Literal::Enum(id, i) => (
                        SqlValue::Text(
                            self.program
                                .schema
                                .enum_def(*id)
                                .values
                                .get(*i as usize)?
                                .clone(),
                        ),
                        "text",
                    ),
                };
                Some(self.param(v, pg_type))
            }
            K::Today => {
                let today = flowc_syntax::time::local_date(self.now, self.program.schema.timezone);
                Some(self.param(
                    SqlValue::Text(flowc_syntax::time::format_date(today)),
                    "date",
                ))
            }
            K::Arith {
                op: ArithOp::DateDiff,
                left,
                right,
            } => {
                let (l, r) = (self.operand(left)?, self.operand(right)?);
                Some(match self.dialect {
                    Dialect::Sqlite => {
                        format!("CAST(julianday({l}) - julianday({r}) AS INTEGER)")
                    }
                    // `date - date` is the number of days.
                    Dialect::Postgres => format!("({l} - {r})"),
                })
            }
            K::Arith {
                op: op @ (ArithOp::DateAdd | ArithOp::DateSub),
                left,
                right,
            } => {
                let K::Lit(Literal::Duration(s)) = right.kind else {
                    return None;
                };
                let days = if *op == ArithOp::DateAdd {
                    s / 86_400
                } else {
                    -(s / 86_400)
                };
                match self.dialect {
                    Dialect::Sqlite => {
                        let shift = self.param(SqlValue::Text(format!("{days:+} days")), "text");
                        Some(format!("date({}, {shift})", self.operand(left)?))
                    }
                    Dialect::Postgres => {
                        let date = self.operand(left)?;
                        let shift = self.param(SqlValue::Integer(days), "integer");
                        Some(format!("({date} + {shift})"))
                    }
                }
            }
            K::Cast(inner) if e.ty.base == Type::Decimal && inner.ty.base == Type::Int => {
                self.operand(inner)
            }
            K::Var(VarId(v)) => {
                let arg = *self.args.last()?.get(*v as usize)?;
                let saved = self.args.pop();
                let result = self.operand(arg);
                if let Some(s) = saved {
                    self.args.push(s);
                }
                result
            }
            K::CallFn { function, args } => self.inline(*function, args, |t, body| t.operand(body)),
            _ => None,
        }
    }

    /// Whether `base` is the subject (variable 0 outside any inlined function).
    fn is_subject(&self, base: &Expr) -> bool {
        match base.kind {
            K::Var(VarId(0)) if self.args.is_empty() => true,
            K::Var(VarId(v)) => self
                .args
                .last()
                .and_then(|a| a.get(v as usize))
                .is_some_and(|arg| arg.kind == K::Var(VarId(0)) && self.args.len() == 1),
            _ => false,
        }
    }

    /// Translates a `fn` body with its parameters standing for the arguments.
    /// Strict functions are null for null arguments: only pushed when every
    /// argument is non-nullable, so strictness never applies.
    fn inline(
        &mut self,
        function: flowc_check::ir::FnId,
        args: &'p [Expr],
        f: impl FnOnce(&mut Self, &'p Expr) -> Option<String>,
    ) -> Option<String> {
        if self.args.len() > 8 || args.iter().any(|a| a.ty.nullable) {
            return None;
        }
        let body = &self.program.functions.get(function.index())?.body;
        self.args.push(args.iter().collect());
        let result = f(self, body);
        self.args.pop();
        result
    }
}

/// Types whose SQLite ordering is flow's ordering (not enums: their order
/// is declaration order, not text order).
fn orderable(ty: Type) -> bool {
    matches!(
        ty,
        Type::Int | Type::Decimal | Type::Text | Type::Date | Type::Duration
    )
}
