//! The runtime: rules executed against the database (through [`Store`]).
//!
//! [`Engine::advance`] moves the engine's clock to a target time and, on the
//! way, processes everything that is due, in time order: record changes
//! (captured by triggers into `flow_changes`), events (`flow_events`),
//! timers of waiting runs, decided approvals and scheduled sweeps. Each item
//! is processed in one transaction together with the steps it causes, so a
//! crash loses nothing and repeats nothing; emails wait in `flow_outbox`
//! and are delivered after the commit (see `crate::mail`).

mod approval_mail;
#[cfg(test)]
mod calendar_tests;
mod changes;
mod clock;
mod deps;
mod env;
mod events;
#[cfg(test)]
mod goal_tests;
mod journal;
pub mod pc;
mod report;
mod run;
mod runs;
mod schedule;
mod steps;
mod sweeps;
#[cfg(test)]
mod test_support;
mod versions;
mod waits;

pub use clock::{Advance, parse_time};
pub use report::Report;
pub use versions::{Migration, Outcome};

use crate::store::backend::RowQuery;
use crate::store::rows::Decoded;
use crate::store::state::StateError;
use crate::store::{DbError, Store};
use flowc_check::ir::{Expr, Program, RecordId, RuleId};
use flowc_jit::compiled::Compiled;
use flowc_vm::eval::EvalError;
use flowc_vm::value::Value;
use flowc_vm::vm;
use journal::Journal;
use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::fmt;
use std::path::Path;
use std::rc::Rc;

/// A hash map for small integer keys on the hot path (expression
/// addresses, row ids): a multiplicative hash instead of SipHash. The keys
/// are not chosen by users, so hash flooding is not a concern.
type FastMap<K, V> = HashMap<K, V, std::hash::BuildHasherDefault<FastHasher>>;

#[derive(Default)]
pub(crate) struct FastHasher(u64);

impl std::hash::Hasher for FastHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.write_u64(u64::from(b));
        }
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = (self.0.rotate_left(5) ^ n).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
    fn write_u32(&mut self, n: u32) {
        self.write_u64(u64::from(n));
    }
    fn write_i64(&mut self, n: i64) {
        self.write_u64(n as u64);
    }
    fn write_usize(&mut self, n: usize) {
        self.write_u64(n as u64);
    }
}

/// How far rule-made changes may trigger further rules (Salesforce's bound).
pub const CASCADE_LIMIT: i64 = 5;

/// Why the engine as a whole cannot go on (one run's failure is not one of
/// these: it is logged and the run is marked failed).
#[derive(Debug)]
pub enum EngineError {
    Database(DbError),
    State(StateError),
    /// The requested time is before the engine's clock.
    ClockBackwards {
        clock: String,
        requested: String,
    },
    Compile(String),
}

impl fmt::Display for EngineError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EngineError::Database(e) => write!(f, "database error: {e}"),
            EngineError::State(e) => write!(f, "{e}"),
            EngineError::ClockBackwards { clock, requested } => write!(
                f,
                "the engine's clock is at {clock}; it cannot go back to {requested} (the clock never goes backwards)"
            ),
            EngineError::Compile(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for EngineError {}

impl EngineError {
    /// The unit of work lost a race with another worker (a deadlock, a
    /// serialization failure) and is worth running again as a whole.
    pub fn is_retryable(&self) -> bool {
        match self {
            EngineError::Database(e) | EngineError::State(StateError::Database(e)) => {
                e.is_retryable()
            }
            _ => false,
        }
    }

    /// The connection to the database is gone (see
    /// [`DbError::is_connection_lost`]).
    pub fn is_connection_lost(&self) -> bool {
        match self {
            EngineError::Database(e) | EngineError::State(StateError::Database(e)) => {
                e.is_connection_lost()
            }
            _ => false,
        }
    }
}

impl From<DbError> for EngineError {
    fn from(e: DbError) -> EngineError {
        EngineError::Database(e)
    }
}

impl From<rusqlite::Error> for EngineError {
    fn from(e: rusqlite::Error) -> EngineError {
        EngineError::Database(e.into())
    }
}

impl From<StateError> for EngineError {
    fn from(e: StateError) -> EngineError {
        EngineError::State(e)
    }
}

/// Shows the clock and the counts so far.
type ShowProgress = Box<dyn FnMut(i64, &Report)>;

/// A progress callback and how often to call it.
struct Progress {
    every: std::time::Duration,
    last: std::time::Instant,
    show: ShowProgress,
}

/// How the engine was asked to run.
#[derive(Clone, Debug, Default)]
pub struct Options {
    /// Print what would happen and change nothing.
    pub dry_run: bool,
    /// The project's source text, stored with each rule version so that a
    /// waiting run can finish on its old version after an edit.
    pub project_text: String,
    /// Which backend evaluates expressions (`--backend`).
    pub backend: flowc_jit::compiled::Backend,
    /// `--public-url` with `FLOWC_SECRET`: marketing mail's opt-out link
    /// `PUBLIC/u/TOKEN` (§8). Without it, opt-out is by reply.
    pub public_links: Option<crate::mail::token::PublicLinks>,
}

/// A failure inside one run: logged, the run marked failed, others go on.
#[derive(Debug)]
pub(crate) enum RunError {
    Eval(EvalError),
    Database(DbError),
}

impl fmt::Display for RunError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RunError::Eval(e) => write!(f, "{e}"),
            RunError::Database(e) => write!(f, "{}", describe_db_error(e)),
        }
    }
}

/// The database's message, or a clearer one for the cases users meet.
fn describe_db_error(e: &DbError) -> String {
    if e.is_locked_row() {
        "the row is locked (`lock` step); unlock it before changing it".into()
    } else {
        e.to_string()
    }
}

impl From<EvalError> for RunError {
    fn from(e: EvalError) -> RunError {
        RunError::Eval(e)
    }
}

impl From<DbError> for RunError {
    fn from(e: DbError) -> RunError {
        RunError::Database(e)
    }
}

pub struct Engine {
    pub(crate) program: Program,
    /// The database; shared with the engines of old rule versions
    /// (`versions.rs`).
    pub(crate) db: Rc<dyn Store>,
    pub(crate) options: Options,
    /// The engine's time (Unix seconds); stored in `flow_meta.clock`.
    pub(crate) clock: Cell<i64>,
    /// Compiled code per expression, keyed by the expression's address in
    /// `program` (which never moves while the engine lives).
    codes: RefCell<FastMap<usize, Rc<Compiled>>>,
    /// The program's `fn`s, shared by every compiled expression.
    functions: Rc<[flowc_check::ir::FnDef]>,
    /// Spare VM machines: nested evaluations (a segment inside a condition)
    /// each take their own.
    machines: RefCell<Vec<vm::Machine>>,
    /// Rows read in the current transaction; while a change is processed,
    /// its row as captured at that change (which the database may no longer
    /// hold: it may have changed since, or been deleted and its id reused).
    rows: RefCell<FastMap<(RecordId, i64), Rc<Decoded>>>,
    /// The row whose delete is being processed: its rules read its last
    /// values, but may not write to a row with its id (a new one).
    pub(crate) deleting: Cell<Option<(RecordId, i64)>>,
    pub(crate) report: RefCell<Report>,
    /// `(rule, step)` pairs executed, for `flowc test --coverage`.
    pub(crate) covered: RefCell<std::collections::HashSet<(String, String)>>,
    /// In a dry run, the audit trail that would have been written.
    pub(crate) dry_log: RefCell<Vec<String>>,
    /// Runs read ahead for a batch of due timers, each taken by its wake.
    pub(crate) preloaded: RefCell<FastMap<i64, Result<crate::store::runs::StoredRun, StateError>>>,
    /// Rules by the record they run for.
    pub(crate) rules_of: HashMap<RecordId, Vec<RuleId>>,
    /// What each rule's `becomes` condition and waits read, by changed table.
    pub(crate) watch_index: HashMap<String, Vec<changes::Watch>>,
    /// Per rule: triggers whose `where` was false, and starts refused by
    /// `reenter`; for `flowc test` to say why a rule did not run.
    pub(crate) held_back: Vec<(Cell<u32>, Cell<u32>)>,
    /// Called now and then during a long `advance` (`on_progress`).
    progress: RefCell<Option<Progress>>,
    /// Engines for rule versions that waiting runs finish on, by version.
    pub(crate) old_versions: RefCell<HashMap<String, versions::OldVersion>>,
    /// The current unit of work's writes that wait for its commit; shared
    /// with the old versions' engines, so that the lines keep their order.
    pub(crate) journal: Rc<Journal>,
    /// Per record, how the store reads one row.
    row_queries: Vec<RowQuery>,
    /// Units of work run again after losing a race with another worker.
    retried: Cell<u64>,
}

impl Engine {
    /// Opens the SQLite database, migrates the state tables and installs
    /// change capture for the program's records.
    pub fn open(path: &Path, program: Program, options: Options) -> Result<Engine, EngineError> {
        let conn = crate::store::state::open(path)?;
        Engine::with_connection(conn, program, options)
    }

    /// An engine on an open SQLite connection.
    pub fn with_connection(
        conn: rusqlite::Connection,
        program: Program,
        options: Options,
    ) -> Result<Engine, EngineError> {
        let store = crate::store::sqlite::Sqlite::new(conn)?;
        Engine::with_store(Rc::new(store), program, options)
    }

    /// An engine on any store: prepares its state tables and change
    /// capture for the program's records.
    pub fn with_store(
        db: Rc<dyn Store>,
        program: Program,
        options: Options,
    ) -> Result<Engine, EngineError> {
        db.prepare(&program.schema)?;
        let clock = db.clock()?.unwrap_or(i64::MIN);
        let engine = Engine::assemble(db, Rc::new(Journal::default()), program, options, clock);
        let zone = engine.program.schema.timezone.name().to_string();
        if !engine.options.dry_run && engine.db.meta("timezone")?.as_deref() != Some(zone.as_str())
        {
            engine.db.set_meta("timezone", &zone)?;
        }
        Ok(engine)
    }

    /// An engine for `program` on a connection that is already set up.
    pub(crate) fn assemble(
        db: Rc<dyn Store>,
        journal: Rc<Journal>,
        program: Program,
        options: Options,
        clock: i64,
    ) -> Engine {
        let mut rules_of: HashMap<RecordId, Vec<RuleId>> = HashMap::new();
        for (i, rule) in program.rules.iter().enumerate() {
            rules_of
                .entry(rule.subject)
                .or_default()
                .push(RuleId(i as u32));
        }
        let functions: Rc<[flowc_check::ir::FnDef]> = program.functions.clone().into();
        let mut engine = Engine {
            functions,
            program,
            db,
            options,
            clock: Cell::new(clock),
            codes: RefCell::new(FastMap::default()),
            machines: RefCell::new(Vec::new()),
            rows: RefCell::new(FastMap::default()),
            deleting: Cell::new(None),
            report: RefCell::new(Report::default()),
            dry_log: RefCell::new(Vec::new()),
            preloaded: RefCell::new(FastMap::default()),
            covered: RefCell::new(std::collections::HashSet::new()),
            rules_of,
            watch_index: HashMap::new(),
            held_back: Vec::new(),
            progress: RefCell::new(None),
            old_versions: RefCell::new(HashMap::new()),
            journal,
            row_queries: Vec::new(),
            retried: Cell::new(0),
        };
        engine.row_queries = engine
            .program
            .schema
            .records
            .iter()
            .map(|record| engine.db.row_query(record))
            .collect();
        engine.held_back = (0..engine.program.rules.len())
            .map(|_| (Cell::new(0), Cell::new(0)))
            .collect();
        engine.watch_index = engine.watches();
        engine
    }

    pub fn program(&self) -> &Program {
        &self.program
    }

    /// The store the engine runs on.
    pub fn store(&self) -> &dyn Store {
        &*self.db
    }

    /// The SQLite connection underneath, when the store is SQLite (for
    /// what does not go through [`Store`] yet: the demo's data, statistics).
    pub fn connection(&self) -> Option<&rusqlite::Connection> {
        self.db.sqlite()
    }

    /// Housekeeping for when nothing is due (on SQLite: moves the
    /// write-ahead log into the database file, so that its cost is not
    /// paid inside a batch).
    pub fn when_idle(&self) -> Result<(), EngineError> {
        Ok(self.db.when_idle()?)
    }

    /// The engine's clock, or `None` if it has never run.
    pub fn clock(&self) -> Option<i64> {
        let c = self.clock.get();
        (c != i64::MIN).then_some(c)
    }

    /// How often `rule` was triggered but did not start: its `where` was
    /// false, or `reenter` refused a second run.
    pub fn held_back(&self, rule: RuleId) -> (u32, u32) {
        self.held_back
            .get(rule.index())
            .map_or((0, 0), |(filtered, refused)| {
                (filtered.get(), refused.get())
            })
    }

    /// The `(rule, step)` pairs executed so far.
    pub fn coverage(&self) -> std::collections::HashSet<(String, String)> {
        self.covered.borrow().clone()
    }

    /// Evaluates an expression of a `test` block: variable `i` is the test's
    /// i-th `given` record.
    pub fn eval_test(&self, expr: &Expr, vars: &[Value]) -> Result<Value, EvalError> {
        let key = expr as *const Expr as usize;
        let cached = self.codes.borrow().get(&key).cloned();
        let code = match cached {
            Some(c) => c,
            None => {
                let frame = vm::Frame {
                    vars: vars.len() as u32,
                    subject_row: false,
                };
                let code = Rc::new(
                    Compiled::new(self.functions.clone(), expr, frame, self.options.backend)
                        .map_err(|e| EvalError::Unsupported(e.to_string()))?,
                );
                self.codes.borrow_mut().insert(key, code.clone());
                code
            }
        };
        let mut machine = self.machines.borrow_mut().pop().unwrap_or_default();
        for (i, v) in vars.iter().enumerate() {
            machine.set_var(i, v.clone());
        }
        let ctx = env::Context {
            since: i64::MIN,
            ..env::Context::default()
        };
        let mut env = env::DbEnv {
            engine: self,
            ctx: &ctx,
        };
        self.forget_rows();
        let result = code.eval(&mut machine, None, &mut env);
        self.machines.borrow_mut().push(machine);
        result
    }

    /// The audit lines a dry run would have written.
    pub fn take_dry_log(&self) -> Vec<String> {
        std::mem::take(&mut self.dry_log.borrow_mut())
    }

    pub fn take_report(&self) -> Report {
        std::mem::take(&mut self.report.borrow_mut())
    }

    /// Has `show` called with the clock and the report so far at most every
    /// `every`, between transactions of a long `advance` (for a progress
    /// line on a terminal).
    pub fn on_progress(
        &self,
        every: std::time::Duration,
        show: impl FnMut(i64, &Report) + 'static,
    ) {
        *self.progress.borrow_mut() = Some(Progress {
            every,
            last: std::time::Instant::now(),
            show: Box::new(show),
        });
    }

    /// Reports progress if it is time to.
    pub(crate) fn tick(&self) {
        let mut progress = self.progress.borrow_mut();
        if let Some(p) = progress.as_mut()
            && p.last.elapsed() >= p.every
        {
            p.last = std::time::Instant::now();
            (p.show)(self.clock.get(), &self.report.borrow());
        }
    }

    /// The compiled code for an expression of the program.
    pub(crate) fn code(&self, expr: &Expr) -> Result<Rc<Compiled>, EvalError> {
        let key = expr as *const Expr as usize;
        if let Some(code) = self.codes.borrow().get(&key) {
            return Ok(code.clone());
        }
        let code = Compiled::new(
            self.functions.clone(),
            expr,
            vm::Frame::RULE,
            self.options.backend,
        )
        .map_err(|e| EvalError::Unsupported(e.to_string()))?;
        let code = Rc::new(code);
        self.codes.borrow_mut().insert(key, code.clone());
        Ok(code)
    }

    /// Evaluates an expression of the program in a run's (or segment's)
    /// context: variable 0 is the subject, variable 1 the recipient.
    pub(crate) fn eval(&self, expr: &Expr, ctx: &env::Context) -> Result<Value, EvalError> {
        self.evaluate(expr, ctx, |code, m, row, env| code.eval(m, row, env))
    }

    /// A condition: true only if it evaluates to `true`.
    pub(crate) fn holds(&self, expr: &Expr, ctx: &env::Context) -> Result<bool, EvalError> {
        self.evaluate(expr, ctx, |code, m, row, env| {
            code.eval_condition(m, row, env)
        })
    }

    /// Sets up a machine, the subject's row and the environment for one
    /// evaluation of `expr`, and runs `how` on them.
    fn evaluate<T>(
        &self,
        expr: &Expr,
        ctx: &env::Context,
        how: impl FnOnce(
            &Compiled,
            &mut vm::Machine,
            Option<&flowc_vm::value::Row>,
            &mut env::DbEnv,
        ) -> Result<T, EvalError>,
    ) -> Result<T, EvalError> {
        let code = self.code(expr)?;
        let subject = match ctx.subject {
            Some((record, id)) if code.code().reads_subject() => {
                Some(self.subject_row(record, id, code.code())?)
            }
            _ => None,
        };
        let mut machine = self.machines.borrow_mut().pop().unwrap_or_default();
        machine.set_var(0, ctx.subject.map_or(Value::Null, |(_, id)| Value::Ref(id)));
        machine.set_var(1, ctx.recipient.map_or(Value::Null, Value::Ref));
        let mut env = env::DbEnv { engine: self, ctx };
        let result = how(
            &code,
            &mut machine,
            subject.as_deref().map(|d| &d.row),
            &mut env,
        );
        self.machines.borrow_mut().push(machine);
        result
    }

    /// The subject's row for code that reads it directly; fails if the code
    /// reads a field holding bad data.
    fn subject_row(
        &self,
        record: RecordId,
        id: i64,
        code: &vm::Code,
    ) -> Result<Rc<Decoded>, EvalError> {
        let decoded = self.row(record, id)?.ok_or_else(|| EvalError::Dangling {
            table: self.program.schema.record(record).name.clone(),
            id,
        })?;
        if !decoded.bad.is_empty() {
            for op in &code.ops {
                if let vm::Op::Subject { field, .. } = op
                    && let Some(problem) = decoded.problem(flowc_check::ir::FieldId(*field))
                {
                    return Err(self.bad_data(
                        record,
                        id,
                        flowc_check::ir::FieldId(*field),
                        problem,
                    ));
                }
            }
        }
        Ok(decoded)
    }

    pub(crate) fn bad_data(
        &self,
        record: RecordId,
        id: i64,
        field: flowc_check::ir::FieldId,
        message: &str,
    ) -> EvalError {
        EvalError::BadData {
            table: self.program.schema.record(record).name.clone(),
            id,
            column: self.program.schema.field(record, field).name.clone(),
            message: message.to_string(),
        }
    }

    /// A row, from the per-transaction cache or the database.
    pub(crate) fn row(&self, record: RecordId, id: i64) -> Result<Option<Rc<Decoded>>, EvalError> {
        if let Some(row) = self.rows.borrow().get(&(record, id)) {
            return Ok(Some(row.clone()));
        }
        let loaded = self
            .load_row(record, id)
            .map_err(|e| EvalError::Database(e.to_string()))?;
        Ok(loaded.map(|d| {
            let d = Rc::new(d);
            self.rows.borrow_mut().insert((record, id), d.clone());
            d
        }))
    }

    /// Reads a row from the database (not the cache).
    pub(crate) fn load_row(&self, record: RecordId, id: i64) -> Result<Option<Decoded>, DbError> {
        let query = &self.row_queries[record.index()];
        self.db.load_row(query, &self.program.schema, record, id)
    }

    /// Forgets cached rows (after a write, or between transactions).
    pub(crate) fn forget_rows(&self) {
        self.rows.borrow_mut().clear();
    }

    pub(crate) fn rows_insert(&self, record: RecordId, row: Rc<Decoded>) {
        self.rows.borrow_mut().insert((record, row.row.id), row);
    }

    pub(crate) fn forget_row(&self, record: RecordId, id: i64) {
        self.rows.borrow_mut().remove(&(record, id));
    }

    /// Runs `work` with `row` served for its id, then serves what was
    /// served before (the `becomes` of a row's old values).
    pub(crate) fn with_row<T>(
        &self,
        record: RecordId,
        row: Rc<Decoded>,
        work: impl FnOnce() -> T,
    ) -> T {
        let key = (record, row.row.id);
        let before = self.rows.borrow_mut().insert(key, row);
        let result = work();
        let mut rows = self.rows.borrow_mut();
        match before {
            Some(row) => rows.insert(key, row),
            None => rows.remove(&key),
        };
        result
    }

    pub(crate) fn table_name(&self, record: RecordId) -> &str {
        &self.program.schema.record(record).name
    }

    pub(crate) fn record_named(&self, table: &str) -> Option<RecordId> {
        self.program.schema.record_named(table)
    }

    /// Runs `work` in one write transaction (`BEGIN IMMEDIATE` on SQLite,
    /// so two processes take turns; `REPEATABLE READ` on PostgreSQL); rolls
    /// back on error. In a dry run the whole advance is one outer
    /// transaction rolled back at the end, and this is a savepoint inside
    /// it.
    ///
    /// A unit of work that loses a race with another worker (PostgreSQL:
    /// a deadlock, or a row it read changed by another transaction before
    /// it wrote it) is rolled back and run again as a whole, a few times,
    /// with what it counted and journaled forgotten: its effects happen
    /// once, when it commits.
    pub(crate) fn transaction<T>(
        &self,
        work: impl Fn() -> Result<T, EngineError>,
    ) -> Result<T, EngineError> {
        let mut tries = 0;
        loop {
            let mark = self.report.borrow().mark();
            match self.transaction_once(&work) {
                Err(e) if e.is_retryable() && !self.options.dry_run && tries < RETRIES => {
                    tries += 1;
                    self.report.borrow_mut().rollback(&mark);
                    self.retried.set(self.retried.get() + 1);
                    std::thread::sleep(retry_pause(tries));
                }
                result => return result,
            }
        }
    }

    /// How many units of work were run again after losing a race with
    /// another worker since the last call.
    pub fn take_retried(&self) -> u64 {
        self.retried.replace(0)
    }

    fn transaction_once<T>(
        &self,
        work: &impl Fn() -> Result<T, EngineError>,
    ) -> Result<T, EngineError> {
        use crate::store::tx::Scope;
        self.forget_rows();
        let scope = if self.options.dry_run {
            Scope::Savepoint
        } else {
            Scope::Transaction
        };
        self.db.begin(scope)?;
        self.journal.open.set(true);
        let result = work().and_then(|value| {
            self.write_journal()?;
            Ok(value)
        });
        self.journal.open.set(false);
        self.forget_rows();
        match result {
            Ok(value) => match self.db.commit(scope) {
                Ok(()) => Ok(value),
                Err(e) => {
                    // PostgreSQL ends a transaction whose COMMIT failed
                    // (a serialization failure found at commit).
                    let _ = self.db.rollback(scope);
                    Err(e.into())
                }
            },
            Err(e) => {
                self.journal.discard();
                // The work's error is the one to report.
                let _ = self.db.rollback(scope);
                Err(e)
            }
        }
    }
}

/// How many times a unit of work that lost a race is run again.
const RETRIES: u32 = 25;

/// The pause before running a unit of work again for the `tries`-th time:
/// growing, capped, with jitter so that the workers that collided do not
/// collide again.
fn retry_pause(tries: u32) -> std::time::Duration {
    let base = 2u64 << tries.min(7);
    let jitter = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::from(d.subsec_nanos()))
        % base.max(1);
    std::time::Duration::from_millis(base + jitter)
}

/// One audit-trail line as `flowc log` prints it.
pub fn format_log_line(
    at: &str,
    run: Option<i64>,
    rule: Option<&str>,
    subject: Option<&str>,
    step: &str,
    action: &str,
    detail: &str,
) -> String {
    let mut line = at.to_string();
    if let Some(run) = run {
        line.push_str(&format!("  run {run}"));
    }
    if let Some(rule) = rule {
        line.push_str(&format!("  {rule}"));
    }
    if let Some(subject) = subject {
        line.push_str(&format!("  {subject}"));
    }
    if !step.is_empty() {
        line.push_str(&format!("  [{step}]"));
    }
    line.push_str(&format!("  {action}"));
    if !detail.is_empty() {
        line.push_str(&format!(": {detail}"));
    }
    line
}
