//! `flowc serve`: `flowc run --watch` and the web edge in one process
//! (DESIGN.md §9). The engine and delivery run on a thread of their own
//! with their own connection, exactly as `run --watch` runs them
//! (`run::work`); the HTTP side (crates/flowc-serve) has its own connection
//! on its writer thread.

use super::run::{Common, Outgoing, Plan};
use std::process::ExitCode;

/// Run the rules as `flowc run --watch` does and answer HTTP: the
/// open-tracking image /o/TOKEN, tracked links /c/TOKEN, the opt-out page
/// and one-click opt-out /u/TOKEN, the project's forms /forms/NAME, signed
/// webhooks /hooks/EVENT and /bounces, and the admin pages (/, /rules/NAME, /records/TABLE/ID,
/// /approvals, /tasks, /outbox, /suppressions; JSON under /api/).
///
/// Secrets come from the environment only: FLOWC_SECRET (required, at
/// least 32 bytes; the same value as `flowc run --public-url` used: it
/// signs the links' tokens and verifies webhooks) and FLOWC_ADMIN_TOKEN
/// (the admin pages' password: log in at /login, or send
/// `Authorization: Bearer TOKEN`; without it the admin pages are off).
///
/// It listens on 127.0.0.1 unless told otherwise: put a TLS proxy in
/// front and give its address as --public-url (docs/serve.md).
///
/// Examples:
///   FLOWC_SECRET=… flowc serve --db crm.sqlite rules/ --public-url https://flow.example.jp --mail-dir outbox/
///   FLOWC_SECRET=… flowc serve --db postgresql://flowc@db.example.jp/crm rules/ --listen 127.0.0.1:9000 --smtp smtps://mail.example.jp
#[derive(clap::Args)]
#[command(verbatim_doc_comment)]
pub struct Args {
    #[command(flatten)]
    common: Common,
    /// The address to answer HTTP on (HOST:PORT; port 0 picks a free one).
    #[arg(long, value_name = "HOST:PORT", default_value = "127.0.0.1:8080")]
    listen: String,
}

pub fn run(args: Args) -> Result<ExitCode, String> {
    let secrets = flowc_serve::Secrets::from_env()?;
    let admin = flowc_serve::AdminToken::from_env();
    let Some((project, program)) = super::checked_project(&args.common.paths)? else {
        return Ok(ExitCode::from(1));
    };
    let tokens = secrets.tokens.clone();
    let outgoing = Outgoing::new(&args.common, || Ok(tokens))?;
    let listener = flowc_serve::Listener::bind(&args.listen)?;
    let address = listener.local_addr()?;
    let schema = program.schema.clone();
    let forms = program.forms.clone();
    let pages = admin_project(&project, &program);

    // The engine and delivery, on their own thread (`run --watch`).
    let shutdown = flowc_serve::Shutdown::new();
    let (ready, started) = std::sync::mpsc::channel::<()>();
    let engine_stopped = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let stop_engine = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let engine = {
        let common = args.common.clone();
        let shutdown = shutdown.clone();
        let stopped = engine_stopped.clone();
        let stop = stop_engine.clone();
        std::thread::Builder::new()
            .name("flowc-engine".into())
            .spawn(move || {
                let result = super::run::work(
                    &common,
                    &project,
                    program,
                    outgoing,
                    Plan::watch(stop),
                    &mut || {
                        let _ = ready.send(());
                    },
                );
                // The engine stopped (an error): so does the server.
                stopped.store(true, std::sync::atomic::Ordering::SeqCst);
                shutdown.trigger();
                result
            })
            .map_err(|e| format!("cannot start the engine thread: {e}"))?
    };
    if started.recv().is_err() {
        // It stopped before it started: the rules do not match the
        // database, or the database cannot be opened.
        return engine
            .join()
            .unwrap_or_else(|_| Err("the engine thread panicked".into()));
    }

    let db = args.common.db.clone();
    let state_schema = args.common.state_schema.clone();
    let open: flowc_serve::Opener =
        std::sync::Arc::new(move || super::open::store(&db, &state_schema));
    println!("flowc serve: listening on http://{address}");
    match &args.common.public_url {
        Some(url) => println!("flowc serve: links in email point to {url}"),
        None => println!(
            "flowc serve: no --public-url: new email carries no tracking or one-click opt-out links"
        ),
    }
    match &admin {
        Some(_) => println!(
            "flowc serve: admin pages at http://{address}/ (log in with FLOWC_ADMIN_TOKEN)"
        ),
        None => println!("flowc serve: FLOWC_ADMIN_TOKEN is not set: the admin pages are off"),
    }
    let secure_cookies = args
        .common
        .public_url
        .as_deref()
        .is_some_and(|u| u.trim().to_ascii_lowercase().starts_with("https://"));
    let config = flowc_serve::Config {
        secrets,
        admin,
        schema,
        project: pages,
        secure_cookies,
        forms,
    };
    flowc_serve::serve(listener, config, open, shutdown)?;
    if engine_stopped.load(std::sync::atomic::Ordering::SeqCst) {
        return engine
            .join()
            .unwrap_or_else(|_| Err("the engine thread panicked".into()));
    }
    // Stopped by a signal: the engine finishes its pass and retires this
    // worker (its claims go back at once, not when its lease ends). A pass
    // that takes longer is cut off with the process, which loses nothing
    // (each step commits on its own; DESIGN.md §7).
    stop_engine.store(true, std::sync::atomic::Ordering::SeqCst);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while !engine.is_finished() && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    if !engine.is_finished() {
        eprintln!("flowc serve: the engine's pass did not end within 10 s; stopping anyway");
        return Ok(ExitCode::SUCCESS);
    }
    match engine.join() {
        Ok(result) => {
            result?;
            println!("flowc serve: stopped");
            Ok(ExitCode::SUCCESS)
        }
        Err(_) => Err("the engine thread panicked".into()),
    }
}

/// The rules as the admin pages show them, and their charts (`flowc
/// graph`'s SVG with the database's counts, drawn per request).
fn admin_project(
    project: &crate::project::Project,
    program: &crate::ir::Program,
) -> flowc_serve::admin::Project {
    let schema = program.schema.clone();
    let mut rules = Vec::new();
    let mut charts = Vec::new();
    for rule in &program.rules {
        let graph = crate::graph::build(rule, &schema, &project.sources);
        let mut steps: Vec<(String, String)> = Vec::new();
        for node in &graph.nodes {
            if let Some(crate::graph::Tally::Step(step)) = &node.tally
                && !steps.iter().any(|(s, _)| s == step)
            {
                steps.push((step.clone(), node.label.clone()));
            }
        }
        let trigger = project.sources.snippet(rule.trigger_span);
        let trigger = trigger.lines().next().unwrap_or("").trim();
        let trigger = if trigger.starts_with("every") || trigger.starts_with("when") {
            trigger.to_string()
        } else {
            format!("when {trigger}")
        };
        rules.push(flowc_serve::admin::Rule {
            name: rule.name.clone(),
            record: schema.record(rule.subject).name.clone(),
            trigger,
            steps,
        });
        charts.push((rule.clone(), graph));
    }
    let chart: flowc_serve::admin::Chart =
        std::sync::Arc::new(move |name: &str, store: &dyn crate::store::Store| {
            let Some((rule, graph)) = charts.iter().find(|(r, _)| r.name == name) else {
                return Ok(None);
            };
            let counts = crate::graph::counts(rule, &schema, store).map_err(|e| e.to_string())?;
            Ok(Some(crate::graph::svg(&[(graph, &counts)])))
        });
    flowc_serve::admin::Project {
        rules,
        chart: Some(chart),
    }
}
