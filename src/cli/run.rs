//! `flowc run`: execute the rules against a database.

use crate::engine::{Advance, Engine, Options, Outcome};
use crate::eval::compiled::Backend;
use crate::mail::{Courier, Delivery, Security, SmtpConfig, Transport};
use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;

/// Process pending changes, events, due timers and sweeps, then deliver
/// the outbox.
///
/// Without --now or --until the wall clock is used. --until fast-forwards
/// through every due timer in time order (the time machine). The clock
/// never goes backwards.
///
/// Every message is DKIM-signed when FLOWC_DKIM_KEY (a PEM private key
/// file), FLOWC_DKIM_SELECTOR and FLOWC_DKIM_DOMAIN are set.
///
/// Examples:
///   flowc run --db crm.sqlite rules/ --mail-dir outbox/
///   flowc run --db crm.sqlite rules/ --until 2025-02-01 --dry-run
///   FLOWC_SMTP_USER=… FLOWC_SMTP_PASSWORD=… flowc run --db crm.sqlite rules/ --smtp smtps://mail.example.jp --watch
///   PGPASSWORD=… flowc run --db postgresql://flowc@db.example.jp/crm rules/ --watch
#[derive(clap::Args)]
#[command(verbatim_doc_comment)]
pub struct Args {
    #[command(flatten)]
    common: Common,
    /// Process once and exit (the default).
    #[arg(long, conflicts_with = "watch")]
    once: bool,
    /// Keep running, checking for work every --interval seconds.
    #[arg(long)]
    watch: bool,
    /// Run at this time instead of the wall clock.
    #[arg(long, value_name = "TIME", conflicts_with = "until")]
    now: Option<String>,
    /// Fast-forward to this time, processing every due item at its time.
    /// A simulation (this, or --now in the past) is refused while a
    /// --watch worker runs on the database.
    #[arg(long, value_name = "TIME")]
    until: Option<String>,
    /// Print what would happen (and what happens to waiting runs of edited
    /// rules); change nothing and send nothing.
    #[arg(long)]
    dry_run: bool,
}

/// What `flowc run` and `flowc serve` share: the database, the rules and
/// how email goes out.
#[derive(clap::Args, Clone)]
pub struct Common {
    /// The database holding the records (and flowc's state): a SQLite
    /// file or a postgresql:// URL (the password from PGPASSWORD).
    #[arg(long, value_name = "FILE|URL")]
    pub db: PathBuf,
    /// On PostgreSQL: the schema flowc's own tables live in.
    #[arg(long, value_name = "NAME", default_value = "flowc")]
    pub state_schema: String,
    /// The rules project; default: the current folder.
    pub paths: Vec<PathBuf>,
    /// Seconds between checks with --watch (and `flowc serve`).
    #[arg(long, default_value_t = 1, value_name = "SECONDS")]
    interval: u64,
    /// Deliver email through this SMTP server: smtp://HOST:PORT or
    /// smtps://HOST:PORT. Credentials come from FLOWC_SMTP_USER and
    /// FLOWC_SMTP_PASSWORD; FLOWC_SMTP_CA names a PEM certificate to trust
    /// besides the usual roots.
    #[arg(long, value_name = "URL", conflicts_with = "mail_dir")]
    smtp: Option<String>,
    /// SMTP transport security (default: auto for smtp://, STARTTLS when
    /// the server offers it and required with credentials; tls for smtps://).
    #[arg(long, value_enum)]
    smtp_security: Option<SecurityArg>,
    /// Allow sending the SMTP password over an unencrypted connection
    /// (only on a network you trust).
    #[arg(long)]
    smtp_insecure_auth: bool,
    /// Seconds to wait for the SMTP server at each step.
    #[arg(long, value_name = "SECONDS", env = "FLOWC_SMTP_TIMEOUT", default_value_t = crate::mail::DEFAULT_TIMEOUT_SECONDS)]
    smtp_timeout: u64,
    /// Seconds a claim on a message lasts without renewal: a crashed
    /// runner's messages are sent by another one after this. A --watch
    /// worker counts as running (refusing simulations) until this long
    /// after its last heartbeat.
    #[arg(long, value_name = "SECONDS", env = "FLOWC_LEASE_SECONDS", default_value_t = crate::mail::DEFAULT_LEASE_SECONDS)]
    lease: i64,
    /// Write each email as an .eml file into this folder instead.
    #[arg(long, value_name = "DIR")]
    mail_dir: Option<PathBuf>,
    /// The sender of emails whose template has no `from`.
    #[arg(
        long,
        value_name = "ADDRESS",
        default_value = "flowc <flowc@localhost>",
        env = "FLOWC_MAIL_FROM"
    )]
    from: String,
    /// The public https address of `flowc serve` (§8): marketing mail then
    /// carries the one-click opt-out link `URL/u/TOKEN` (List-Unsubscribe,
    /// List-Unsubscribe-Post and the footer), an open-tracking image and
    /// tracked links. Needs FLOWC_SECRET.
    #[arg(long, value_name = "URL")]
    pub public_url: Option<String>,
    /// Evaluation backend: the bytecode VM, the Cranelift JIT, or the VM
    /// until an expression is hot (1,000 evaluations), then the JIT.
    #[arg(long, default_value_t = Backend::Auto)]
    backend: Backend,
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum SecurityArg {
    Auto,
    None,
    Starttls,
    Tls,
}

fn transport(args: &Common) -> Result<Transport, String> {
    let security = args.smtp_security.map(|s| match s {
        SecurityArg::Auto => Security::Auto,
        SecurityArg::None => Security::None,
        SecurityArg::Starttls => Security::StartTls,
        SecurityArg::Tls => Security::Tls,
    });
    Ok(match (&args.smtp, &args.mail_dir) {
        (Some(url), _) => Transport::Smtp(SmtpConfig::parse(
            url,
            security,
            args.smtp_insecure_auth,
            args.smtp_timeout,
        )?),
        (None, Some(dir)) => Transport::Folder(dir.clone()),
        (None, None) => Transport::None,
    })
}

fn wall_clock() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

/// How email goes out, checked before anything runs: the transport, DKIM
/// signing and the public links.
pub(crate) struct Outgoing {
    transport: Transport,
    dkim: Option<crate::mail::Dkim>,
    public_links: Option<crate::mail::token::PublicLinks>,
}

impl Outgoing {
    /// From the arguments and the environment; `secret` gives
    /// `FLOWC_SECRET` when --public-url asks for it.
    pub(crate) fn new(
        common: &Common,
        secret: impl FnOnce() -> Result<crate::mail::token::Secret, String>,
    ) -> Result<Outgoing, String> {
        let transport = transport(common)?;
        let dkim = crate::mail::Dkim::from_env()?;
        let public_links = match &common.public_url {
            Some(url) => Some(crate::mail::token::PublicLinks::new(url, secret()?)?),
            None => None,
        };
        Ok(Outgoing {
            transport,
            dkim,
            public_links,
        })
    }
}

/// What to do: when to run to, whether to keep running, whether to only
/// show what would happen.
pub(crate) struct Plan {
    now: Option<String>,
    until: Option<String>,
    watch: bool,
    dry_run: bool,
    /// Watching, set from outside to stop after the pass in progress
    /// (`flowc serve` on SIGTERM): the worker then retires.
    stop: Option<std::sync::Arc<std::sync::atomic::AtomicBool>>,
}

impl Plan {
    /// `flowc serve`'s: at the wall clock, until `stop` is set (`run
    /// --watch`).
    pub(crate) fn watch(stop: std::sync::Arc<std::sync::atomic::AtomicBool>) -> Plan {
        Plan {
            now: None,
            until: None,
            watch: true,
            dry_run: false,
            stop: Some(stop),
        }
    }
}

pub fn run(args: Args) -> Result<ExitCode, String> {
    let Some((project, program)) = super::checked_project(&args.common.paths)? else {
        return Ok(ExitCode::from(1));
    };
    let _ = args.once;
    let outgoing = Outgoing::new(&args.common, || {
        crate::mail::token::Secret::from_env("--public-url")
    })?;
    let plan = Plan {
        now: args.now,
        until: args.until,
        watch: args.watch,
        dry_run: args.dry_run,
        stop: None,
    };
    work(&args.common, &project, program, outgoing, plan, &mut || {})
}

/// Runs the engine and delivery as `plan` says: what `flowc run` does,
/// and `flowc serve` on a thread of its own. `started` is called once the
/// database is open (and, watching, this worker registered): from then on
/// the state tables are ready for others. Returns the exit status; an
/// `Err` stops the process.
pub(crate) fn work(
    common: &Common,
    project: &crate::project::Project,
    program: crate::ir::Program,
    outgoing: Outgoing,
    plan: Plan,
    started: &mut dyn FnMut(),
) -> Result<ExitCode, String> {
    let zone = program.schema.timezone;
    let options = Options {
        dry_run: plan.dry_run,
        project_text: super::project_text(project),
        backend: common.backend,
        public_links: outgoing.public_links,
    };
    let paths = paths_shown(&common.paths);
    let open = || {
        super::open::engine(
            &common.db,
            &common.state_schema,
            project,
            program.clone(),
            options.clone(),
            &paths,
        )
    };
    let Some(mut engine) = open()? else {
        return Ok(ExitCode::from(1));
    };
    let parse = |t: &String| crate::engine::parse_time(t, zone);
    let how = match (&plan.now, &plan.until) {
        (Some(now), _) => Advance::To(parse(now)?),
        (None, Some(until)) => Advance::Until(parse(until)?),
        (None, None) => Advance::To(wall_clock()),
    };
    if plan.dry_run {
        dry_run(&engine, how)?;
        return Ok(ExitCode::SUCCESS);
    }
    let simulation = match how {
        Advance::Until(_) => Some("--until"),
        Advance::To(t) if plan.now.is_some() && t < wall_clock() => Some("--now in the past"),
        Advance::To(_) => None,
    };
    if let Some(what) = simulation {
        alone(engine.store(), what)?;
    }
    // Without --watch a paused delivery is tried once per run; with it,
    // once a minute.
    let retry_paused = plan.watch.then_some(std::time::Duration::from_secs(60));
    let mut courier = Courier::new(outgoing.transport, &common.from, common.lease, retry_paused)
        .with_dkim(outgoing.dkim);
    if plan.watch {
        // Registered now, delivering or not: a simulation started while
        // this worker runs sees it and is refused.
        courier
            .start(engine.store(), true)
            .map_err(|e| e.to_string())?;
    }
    started();
    let watch = plan.watch.then_some(Watch {
        interval: common.interval,
        reopen: &open,
        stop: plan.stop.as_deref(),
    });
    let result = run_and_deliver(&mut engine, &mut courier, how, watch);
    let retired = courier.retire(engine.store()).map_err(|e| e.to_string());
    let paused = result?;
    retired?;
    match paused {
        Some(error) => {
            eprintln!(
                "error: email delivery is paused: {error}\n\
                 no message was marked failed; the next `flowc run` tries again"
            );
            Ok(ExitCode::from(super::EXIT_DELIVERY_PAUSED))
        }
        None => Ok(ExitCode::SUCCESS),
    }
}

/// Refuses a simulation (`what`: `--until`, or `--now` in the past) while
/// a watching worker is alive on the database: it needs the database to
/// itself (DESIGN.md §10), or the workers would act at its times and it at
/// theirs.
fn alone(store: &dyn crate::store::Store, what: &str) -> Result<(), String> {
    let now = wall_clock();
    let live = store.live_workers(now).map_err(|e| e.to_string())?;
    if live.is_empty() {
        return Ok(());
    }
    let seen: Vec<String> = live
        .iter()
        .map(|w| {
            format!(
                "  on {} (pid {}): last seen {} s ago, lease {} s",
                w.host,
                w.pid,
                (now - w.heartbeat_at).max(0),
                w.lease
            )
        })
        .collect();
    let (count, verb, them) = match live.len() {
        1 => ("1 worker".to_string(), "is", "it"),
        n => (format!("{n} workers"), "are", "them"),
    };
    Err(format!(
        "a simulation ({what}) needs the database to itself, but {count} (`flowc run --watch`) {verb} running on it:\n{}\n\
         stop {them} and run the simulation again (a worker that was killed counts until its last heartbeat is older than its lease)",
        seen.join("\n")
    ))
}

/// What a `--watch` worker needs besides the engine: how long to wait
/// between passes, and how to open the database again when its connection
/// is lost.
struct Watch<'a> {
    interval: u64,
    reopen: &'a dyn Fn() -> Result<Option<Engine>, String>,
    stop: Option<&'a std::sync::atomic::AtomicBool>,
}

impl Watch<'_> {
    /// Sleeps one interval; whether the worker should stop instead.
    fn nap(&self) -> bool {
        let end = std::time::Instant::now() + std::time::Duration::from_secs(self.interval.max(1));
        loop {
            if self
                .stop
                .is_some_and(|s| s.load(std::sync::atomic::Ordering::SeqCst))
            {
                return true;
            }
            let left = end.saturating_duration_since(std::time::Instant::now());
            if left.is_zero() {
                return false;
            }
            std::thread::sleep(left.min(std::time::Duration::from_millis(100)));
        }
    }
}

/// Why a pass stopped: the connection is gone (a watching worker opens a
/// new one), or anything else (the process stops).
enum Stop {
    ConnectionLost(String),
    Error(String),
}

impl From<crate::engine::EngineError> for Stop {
    fn from(e: crate::engine::EngineError) -> Stop {
        if e.is_connection_lost() {
            Stop::ConnectionLost(e.to_string())
        } else {
            Stop::Error(e.to_string())
        }
    }
}

impl From<crate::store::outbox::OutboxError> for Stop {
    fn from(e: crate::store::outbox::OutboxError) -> Stop {
        if e.is_connection_lost() {
            Stop::ConnectionLost(e.to_string())
        } else {
            Stop::Error(e.to_string())
        }
    }
}

impl From<Stop> for String {
    fn from(stop: Stop) -> String {
        match stop {
            Stop::ConnectionLost(e) | Stop::Error(e) => e,
        }
    }
}

/// Delivers what is due, advances the engine, delivers again and prints
/// the summary; with `watch`, forever. Returns why delivery is paused, if
/// it is.
fn run_and_deliver(
    engine: &mut Engine,
    courier: &mut Courier,
    how: Advance,
    watch: Option<Watch>,
) -> Result<Option<String>, String> {
    let terminal = std::io::stdout().is_terminal();
    show_progress(engine, terminal);
    let delivery = pass(engine, courier, how, terminal)?;
    let Some(watch) = watch else {
        return Ok(delivery.paused.map(|p| p.error));
    };
    if let Some(p) = &delivery.paused {
        eprintln!("error: email delivery is paused: {}", p.error);
    }
    loop {
        if watch.nap() {
            return Ok(None);
        }
        let now = wall_clock().max(engine.clock().unwrap_or(i64::MIN));
        match pass(engine, courier, Advance::To(now), terminal) {
            Ok(delivery) => {
                if let Some(p) = delivery.paused.as_ref().filter(|p| p.tried) {
                    eprintln!("error: email delivery is paused: {}", p.error);
                }
            }
            Err(Stop::ConnectionLost(error)) => {
                // Whatever this worker had claimed went back when its
                // transaction ended with the connection; it goes on with a
                // new one.
                eprintln!("warning: lost the database connection ({error}); connecting again");
                *engine = reconnect(&watch)?;
                show_progress(engine, terminal);
                eprintln!("connected again");
            }
            Err(Stop::Error(error)) => return Err(error),
        }
    }
}

/// One pass: renews this worker's heartbeat, delivers what is due,
/// advances the engine, delivers again and prints the summary.
fn pass(
    engine: &Engine,
    courier: &mut Courier,
    how: Advance,
    terminal: bool,
) -> Result<crate::mail::Delivery, Stop> {
    courier.heartbeat(engine.store())?;
    let mut delivery = deliver(engine, courier)?;
    advance(engine, how, terminal)?;
    delivery.absorb(deliver(engine, courier)?);
    report(engine, &delivery);
    engine.when_idle()?;
    Ok(delivery)
}

/// Opens the database again, every interval until it works (the server
/// may be restarting); an error that a new connection cannot fix (the
/// tables no longer match the rules) stops the worker.
fn reconnect(watch: &Watch) -> Result<Engine, String> {
    let mut said = None::<std::time::Instant>;
    loop {
        if watch.nap() {
            return Err("stopped while the database was unreachable".into());
        }
        match (watch.reopen)() {
            Ok(Some(engine)) => return Ok(engine),
            Ok(None) => {
                return Err("the database no longer matches the rules; the worker stops".into());
            }
            Err(error) => {
                if said.is_none_or(|t| t.elapsed() >= std::time::Duration::from_secs(60)) {
                    eprintln!(
                        "warning: {error}; trying again every {} s",
                        watch.interval.max(1)
                    );
                    said = Some(std::time::Instant::now());
                }
            }
        }
    }
}

/// On a terminal, a progress line during long passes.
fn show_progress(engine: &Engine, terminal: bool) {
    if !terminal {
        return;
    }
    let zone = engine.program().schema.timezone;
    engine.on_progress(std::time::Duration::from_millis(200), move |clock, r| {
        print!(
            "\r{}  {} changes, {} events, {} timers, {} sweeps: {} runs started \x1b[K",
            crate::time::format_datetime(clock, zone),
            r.changes,
            r.events,
            r.timers,
            r.sweeps,
            r.started
        );
        let _ = std::io::stdout().flush();
    });
}

/// The project paths as the user would type them again.
fn paths_shown(paths: &[PathBuf]) -> String {
    if paths.is_empty() {
        return ".".into();
    }
    let shown: Vec<String> = paths.iter().map(|p| p.display().to_string()).collect();
    shown.join(" ")
}

/// Advances the engine; on a terminal, the progress line it printed (if
/// any) is cleared afterwards so the summary line replaces it.
fn advance(engine: &Engine, how: Advance, terminal: bool) -> Result<(), Stop> {
    let advanced = engine.advance(how).map_err(Stop::from);
    if terminal {
        print!("\r\x1b[K");
        let _ = std::io::stdout().flush();
    }
    advanced
}

/// One delivery pass at the engine's clock.
fn deliver(engine: &Engine, courier: &mut Courier) -> Result<Delivery, Stop> {
    let clock = engine.clock().unwrap_or(0);
    Ok(courier.pass(engine.store(), clock)?)
}

/// Prints the summary line of what the engine and delivery did (nothing
/// when neither did anything), then a line per failed run and per email
/// that was not sent.
fn report(engine: &Engine, delivery: &Delivery) {
    let report = engine.take_report();
    if report == crate::engine::Report::default() && delivery.is_quiet() {
        return;
    }
    let clock = engine
        .clock()
        .map(|c| crate::time::format_datetime(c, engine.program().schema.timezone))
        .unwrap_or_default();
    let paused = if delivery.paused.is_some() {
        "; delivery paused"
    } else {
        ""
    };
    println!(
        "{clock}  {}; {} sent, {} deferred, {} failed, {} unconfirmed{paused}",
        report.summary(),
        delivery.sent,
        delivery.deferred,
        delivery.failed,
        delivery.unconfirmed,
    );
    let retried = engine.take_retried();
    if retried > 0 {
        println!(
            "  retried: {retried} units of work lost a race with another worker (a deadlock or a row changed meanwhile) and ran again"
        );
    }
    for failure in &report.failures {
        println!("  failed: {failure}");
    }
    for problem in &delivery.problems {
        println!("  email: {problem}");
    }
    if let Some(p) = &delivery.paused {
        println!("  email: delivery paused: {}", p.error);
    }
}

fn dry_run(engine: &Engine, how: Advance) -> Result<(), String> {
    let migrations = engine.plan_migrations().map_err(|e| e.to_string())?;
    let changed: Vec<_> = migrations
        .iter()
        .filter(|m| m.outcome != Outcome::Unchanged)
        .collect();
    if !changed.is_empty() {
        println!("waiting runs of edited rules:");
        for m in changed {
            let what = match &m.outcome {
                Outcome::Moved => format!("continues at step `{}` of the new version", m.step),
                Outcome::FinishesOnOld => format!(
                    "step `{}` is gone from the new version: the run finishes on the version it started on",
                    m.step
                ),
                Outcome::Orphaned(why) => format!(
                    "step `{}` is gone from the new version and {why}: the run will fail when it wakes",
                    m.step
                ),
                Outcome::Deleted => "the rule was deleted: the run will fail when it wakes".into(),
                Outcome::Unchanged => continue,
            };
            println!("  run {} ({}): {what}", m.run, m.rule);
        }
    }
    engine.advance(how).map_err(|e| e.to_string())?;
    println!("dry run: nothing was changed or sent");
    for line in engine.take_dry_log() {
        println!("  {line}");
    }
    println!("{}", engine.take_report().summary());
    Ok(())
}
