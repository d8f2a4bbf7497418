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
/// Examples:
///   flowc run --db crm.sqlite rules/ --mail-dir outbox/
///   flowc run --db crm.sqlite rules/ --until 2025-02-01 --dry-run
///   FLOWC_SMTP_USER=… FLOWC_SMTP_PASSWORD=… flowc run --db crm.sqlite rules/ --smtp smtps://mail.example.jp --watch
///   PGPASSWORD=… flowc run --db postgresql://flowc@db.example.jp/crm rules/ --watch
#[derive(clap::Args)]
#[command(verbatim_doc_comment)]
pub struct Args {
    /// The database holding the records (and flowc's state): a SQLite
    /// file or a postgresql:// URL (the password from PGPASSWORD).
    #[arg(long, value_name = "FILE|URL")]
    db: PathBuf,
    /// On PostgreSQL: the schema flowc's own tables live in.
    #[arg(long, value_name = "NAME", default_value = "flowc")]
    state_schema: String,
    /// The rules project; default: the current folder.
    paths: Vec<PathBuf>,
    /// Process once and exit (the default).
    #[arg(long, conflicts_with = "watch")]
    once: bool,
    /// Keep running, checking for work every --interval seconds.
    #[arg(long)]
    watch: bool,
    /// Seconds between checks with --watch.
    #[arg(long, default_value_t = 1, value_name = "SECONDS")]
    interval: u64,
    /// Run at this time instead of the wall clock.
    #[arg(long, value_name = "TIME", conflicts_with = "until")]
    now: Option<String>,
    /// Fast-forward to this time, processing every due item at its time.
    #[arg(long, value_name = "TIME")]
    until: Option<String>,
    /// Print what would happen (and what happens to waiting runs of edited
    /// rules); change nothing and send nothing.
    #[arg(long)]
    dry_run: bool,
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
    /// runner's messages are sent by another one after this.
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

fn transport(args: &Args) -> Result<Transport, String> {
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

pub fn run(args: Args) -> Result<ExitCode, String> {
    let Some((project, program)) = super::checked_project(&args.paths)? else {
        return Ok(ExitCode::from(1));
    };
    let _ = args.once;
    let transport = transport(&args)?;
    let zone = program.schema.timezone;
    let options = Options {
        dry_run: args.dry_run,
        project_text: super::project_text(&project),
        backend: args.backend,
    };
    let paths = paths_shown(&args.paths);
    let Some(engine) = super::open::engine(
        &args.db,
        &args.state_schema,
        &project,
        program,
        options,
        &paths,
    )?
    else {
        return Ok(ExitCode::from(1));
    };
    let parse = |t: &String| crate::engine::parse_time(t, zone);
    let how = match (&args.now, &args.until) {
        (Some(now), _) => Advance::To(parse(now)?),
        (None, Some(until)) => Advance::Until(parse(until)?),
        (None, None) => Advance::To(wall_clock()),
    };
    if args.dry_run {
        dry_run(&engine, how)?;
        return Ok(ExitCode::SUCCESS);
    }
    // Without --watch a paused delivery is tried once per run; with it,
    // once a minute.
    let retry_paused = args.watch.then_some(std::time::Duration::from_secs(60));
    let mut courier = Courier::new(transport, &args.from, args.lease, retry_paused);
    let result = run_and_deliver(&engine, &mut courier, how, args.watch, args.interval);
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

/// Delivers what is due, advances the engine, delivers again and prints
/// the summary; with `watch`, forever. Returns why delivery is paused, if
/// it is.
fn run_and_deliver(
    engine: &Engine,
    courier: &mut Courier,
    how: Advance,
    watch: bool,
    interval: u64,
) -> Result<Option<String>, String> {
    let zone = engine.program().schema.timezone;
    let mut delivery = deliver(engine, courier)?;
    let terminal = std::io::stdout().is_terminal();
    if terminal {
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
    advance(engine, how, terminal)?;
    delivery.absorb(deliver(engine, courier)?);
    report(engine, &delivery);
    engine.when_idle().map_err(|e| e.to_string())?;
    if !watch {
        return Ok(delivery.paused.map(|p| p.error));
    }
    if let Some(p) = &delivery.paused {
        eprintln!("error: email delivery is paused: {}", p.error);
    }
    loop {
        std::thread::sleep(std::time::Duration::from_secs(interval.max(1)));
        let now = wall_clock().max(engine.clock().unwrap_or(i64::MIN));
        advance(engine, Advance::To(now), terminal)?;
        let delivery = deliver(engine, courier)?;
        if let Some(p) = delivery.paused.as_ref().filter(|p| p.tried) {
            eprintln!("error: email delivery is paused: {}", p.error);
        }
        report(engine, &delivery);
        engine.when_idle().map_err(|e| e.to_string())?;
    }
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
fn advance(engine: &Engine, how: Advance, terminal: bool) -> Result<(), String> {
    let advanced = engine.advance(how).map_err(|e| e.to_string());
    if terminal {
        print!("\r\x1b[K");
        let _ = std::io::stdout().flush();
    }
    advanced
}

/// One delivery pass at the engine's clock.
fn deliver(engine: &Engine, courier: &mut Courier) -> Result<Delivery, String> {
    let clock = engine.clock().unwrap_or(0);
    courier
        .pass(engine.store(), clock)
        .map_err(|e| e.to_string())
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
