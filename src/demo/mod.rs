//! `flowc demo`: a demo CRM, the example rules, and a simulated month.
//!
//! The project (`DIR/rules/`) is written once and then kept, so a user can
//! edit the rules and run the demo again; the database (`DIR/crm.sqlite`)
//! and the mail folder (`DIR/mail/`) start over on every run.

mod data;

use crate::engine::{Advance, Engine, Options};
use crate::mail::Transport;
use crate::mail::token::PublicLinks;
use crate::project::Project;
use crate::store::suppressions::Reason;
use std::io::Write;
use std::path::{Path, PathBuf};

/// The demo project, embedded from `examples/demo/`.
const FILES: &[(&str, &str)] = &[
    (
        "schema.flow",
        include_str!("../../examples/demo/schema.flow"),
    ),
    (
        "templates.flow",
        include_str!("../../examples/demo/templates.flow"),
    ),
    ("rules.flow", include_str!("../../examples/demo/rules.flow")),
    ("tests.flow", include_str!("../../examples/demo/tests.flow")),
    (
        "templates/autoreply.txt",
        include_str!("../../examples/demo/templates/autoreply.txt"),
    ),
    (
        "templates/autoreply.html",
        include_str!("../../examples/demo/templates/autoreply.html"),
    ),
    (
        "templates/payment_confirmed.txt",
        include_str!("../../examples/demo/templates/payment_confirmed.txt"),
    ),
    (
        "templates/payment_confirmed.html",
        include_str!("../../examples/demo/templates/payment_confirmed.html"),
    ),
    (
        "templates/renewal_notice.txt",
        include_str!("../../examples/demo/templates/renewal_notice.txt"),
    ),
    (
        "templates/renewal_notice.html",
        include_str!("../../examples/demo/templates/renewal_notice.html"),
    ),
];

/// The simulated month.
const START: &str = "2025-04-01T09:00:00+09:00";
const DAYS: i64 = 30;

/// What the demo did, read back from the database.
#[derive(Debug, Default, PartialEq)]
pub struct Summary {
    pub runs_by_rule: Vec<(String, i64)>,
    pub emails: i64,
    pub example_email: Option<PathBuf>,
    /// One email of each marketing template that sent any (template,
    /// file), in the order declared: they carry the sender's opt-out footer.
    pub marketing_emails: Vec<(String, PathBuf)>,
    /// Marketing emails not sent: the address had unsubscribed.
    pub suppressed: i64,
    /// Contacts who had unsubscribed before the month.
    pub unsubscribed: usize,
    pub tasks: i64,
    pub approvals_waiting: i64,
    /// One approval email of an approval still waiting.
    pub approval_email: Option<PathBuf>,
    pub failed_runs: i64,
}

fn write_project(rules: &Path) -> Result<bool, String> {
    if rules.exists() {
        return Ok(false);
    }
    for (name, text) in FILES {
        let path = rules.join(name);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(|e| format!("{}: {e}", parent.display()))?;
        }
        std::fs::write(&path, text).map_err(|e| format!("{}: {e}", path.display()))?;
    }
    Ok(true)
}

fn remove(path: &Path) -> Result<(), String> {
    let result = if path.is_dir() {
        std::fs::remove_dir_all(path)
    } else {
        std::fs::remove_file(path)
    };
    match result {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
            Err(format!("{}: {e}", path.display()))
        }
        _ => Ok(()),
    }
}

/// Runs the demo in `dir`, printing progress and the summary to `out`.
/// With `links`, the mail carries the links `flowc serve` answers there
/// (approval pages, opt-out, tracking).
pub fn run(
    dir: &Path,
    out: &mut dyn Write,
    progress: bool,
    links: Option<PublicLinks>,
) -> Result<Summary, String> {
    let rules = dir.join("rules");
    let db = dir.join("crm.sqlite");
    let mail = dir.join("mail");
    let created = write_project(&rules)?;
    let project = Project::load(std::slice::from_ref(&rules)).map_err(|e| e.to_string())?;
    let checked = project.check();
    if checked.has_errors() {
        let shown = crate::diagnostic::render_human(&project.sources, &checked.diagnostics, false);
        return Err(format!(
            "the demo rules in {} have errors:\n{shown}",
            rules.display()
        ));
    }
    for path in [
        db.clone(),
        dir.join("crm.sqlite-wal"),
        dir.join("crm.sqlite-shm"),
        mail.clone(),
    ] {
        remove(&path)?;
    }
    let say = |out: &mut dyn Write, text: String| {
        let _ = writeln!(out, "{text}");
    };
    say(
        out,
        format!(
            "flowc demo: a month of automation rules on a demo CRM ({})",
            checked.program.schema.timezone.name()
        ),
    );
    say(out, String::new());
    let verb = if created { "written to" } else { "kept in" };
    say(
        out,
        format!(
            "  rules     {} rules {verb} {}",
            checked.program.rules.len(),
            rules.display()
        ),
    );

    let conn = crate::store::state::open(&db).map_err(|e| format!("{}: {e}", db.display()))?;
    crate::store::ddl::create_missing(&conn, &checked.program.schema).map_err(|e| e.to_string())?;
    let zone = checked.program.schema.timezone;
    let start = crate::time::parse_datetime(START, zone).ok_or("bad start time")?;
    let mut rng = data::Rng::new(20_250_401);
    data::seed(&conn, &mut rng, crate::time::local_date(start, zone)).map_err(|e| e.to_string())?;
    drop(conn);
    let s = &data::SIZE;
    say(
        out,
        format!(
            "  database  {} ({} users, {} companies, {} contacts, {} opportunities, {} contracts)",
            db.display(),
            data::USERS.len(),
            s.companies,
            s.contacts,
            s.opportunities,
            s.contracts
        ),
    );
    let public_url = links.as_ref().map(|l| l.base().to_string());
    let options = Options {
        dry_run: false,
        project_text: String::new(),
        public_links: links,
        ..Options::default()
    };
    let marketing: Vec<String> = checked
        .program
        .schema
        .templates
        .iter()
        .filter(|t| t.kind == crate::ir::TemplateKind::Marketing)
        .map(|t| t.name.clone())
        .collect();
    let engine = Engine::open(&db, checked.program, options).map_err(|e| e.to_string())?;
    let courier = std::cell::RefCell::new(crate::mail::Courier::new(
        Transport::Folder(mail.clone()),
        "flowc demo <demo@example.jp>",
        crate::mail::DEFAULT_LEASE_SECONDS,
        None,
    ));
    let deliver = |engine: &Engine| {
        courier
            .borrow_mut()
            .pass(engine.store(), engine.clock().unwrap_or(0))
            .map_err(|e| e.to_string())
    };
    engine
        .advance(Advance::To(start))
        .map_err(|e| e.to_string())?;
    // Some contacts unsubscribed before the month (as `flowc suppress add
    // ADDRESS --reason unsubscribed` records it): they get no marketing
    // email, but still their confirmations.
    let unsubscribed =
        data::unsubscribed(crate::cli::sqlite(&engine)?).map_err(|e| e.to_string())?;
    for address in &unsubscribed {
        engine
            .store()
            .suppress(address, Reason::Unsubscribed, Some("flowc demo"), start)
            .map_err(|e| e.to_string())?;
    }
    let (mut lead, mut opportunity) = (0i64, s.opportunities as i64);
    for day in 0..DAYS {
        let day_start = start + day * 86_400;
        if progress {
            let _ = write!(
                out,
                "\r  simulating {} …",
                crate::time::format_date(crate::time::local_date(day_start, zone))
            );
            let _ = out.flush();
        }
        data::day(
            crate::cli::sqlite(&engine)?,
            &mut rng,
            day_start,
            &mut lead,
            &mut opportunity,
        )
        .map_err(|e| e.to_string())?;
        engine
            .advance(Advance::Until(day_start + 86_400 - 1))
            .map_err(|e| e.to_string())?;
        deliver(&engine)?;
    }
    engine
        .advance(Advance::Until(start + DAYS * 86_400))
        .map_err(|e| e.to_string())?;
    deliver(&engine)?;
    courier
        .borrow_mut()
        .retire(engine.store())
        .map_err(|e| e.to_string())?;
    if progress {
        let _ = write!(out, "\r{:40}\r", "");
    }
    let end = crate::time::format_date(crate::time::local_date(start + DAYS * 86_400, zone));
    say(
        out,
        format!(
            "  simulated 2025-04-01 → {end}, with mail delivered into {}",
            mail.display()
        ),
    );
    let mut summary = summarize(&engine, &mail, &marketing)?;
    summary.unsubscribed = unsubscribed.len();
    print_summary(out, &summary, dir, &db);
    print_serve(out, &summary, dir, &db, public_url.as_deref());
    Ok(summary)
}

fn summarize(engine: &Engine, mail: &Path, marketing: &[String]) -> Result<Summary, String> {
    let report = engine.store().report();
    let totals = report.totals("autoreply").map_err(|e| e.to_string())?;
    let file = |id: Option<String>| id.map(|id| mail.join(crate::mail::file_name(&id)));
    let mut marketing_emails = Vec::new();
    for template in marketing {
        let example = report
            .totals(template)
            .map_err(|e| e.to_string())?
            .example_message;
        if let Some(path) = file(example) {
            marketing_emails.push((template.clone(), path));
        }
    }
    let approval_email = file(
        report
            .totals("approval_request")
            .map_err(|e| e.to_string())?
            .example_message,
    );
    let suppressed = report
        .rule_stats()
        .map_err(|e| e.to_string())?
        .iter()
        .map(|r| r.emails_suppressed)
        .sum();
    Ok(Summary {
        runs_by_rule: totals.runs_by_rule,
        emails: totals.emails_sent,
        example_email: file(totals.example_message),
        marketing_emails,
        suppressed,
        unsubscribed: 0,
        tasks: totals.tasks,
        approvals_waiting: totals.approvals_pending,
        approval_email,
        failed_runs: totals.failed_runs,
    })
}

fn print_summary(out: &mut dyn Write, s: &Summary, dir: &Path, db: &Path) {
    let mut lines = vec![String::new(), "What fired:".to_string()];
    let width = s
        .runs_by_rule
        .iter()
        .map(|(r, _)| r.len())
        .max()
        .unwrap_or(0);
    for (rule, runs) in &s.runs_by_rule {
        lines.push(format!("  {rule:width$}  {runs} runs"));
    }
    lines.push(String::new());
    lines.push(format!("Emails written:     {}", s.emails));
    if let Some(path) = &s.example_email {
        lines.push(format!("  open one:         {}", path.display()));
    }
    for (template, path) in &s.marketing_emails {
        lines.push(format!(
            "  marketing:        {}  ({template}, with the opt-out footer)",
            path.display()
        ));
    }
    lines.push(format!(
        "Suppressed:         {}  (marketing email not sent: {} contacts had unsubscribed)",
        s.suppressed, s.unsubscribed
    ));
    lines.push(format!("Tasks created:      {}", s.tasks));
    lines.push(format!("Approvals waiting:  {}", s.approvals_waiting));
    lines.push(format!("Failed runs:        {}", s.failed_runs));
    let db = db.display();
    let rules = dir.join("rules");
    let rules = rules.display();
    lines.extend([
        String::new(),
        "Next, try (with `cargo run --release --` in place of `flowc` if it is not installed):"
            .to_string(),
        format!("  flowc stats --db {db}"),
        format!("  flowc log --db {db} --rule seminar"),
        format!("  flowc approvals --db {db}"),
        format!("  flowc tasks --db {db}"),
        format!("  flowc suppress --db {db}"),
        format!("  flowc check {rules}"),
        format!("  flowc test {rules}"),
        format!("  flowc graph seminar {rules}"),
        "Then edit the rules and run `flowc demo` again; docs/tutorial.md walks through it."
            .to_string(),
    ]);
    for line in lines {
        let _ = writeln!(out, "{line}");
    }
}

/// The web walkthrough: `flowc serve` on the demo database, or how to get
/// mail whose links it answers.
fn print_serve(out: &mut dyn Write, s: &Summary, dir: &Path, db: &Path, public_url: Option<&str>) {
    let rules = dir.join("rules");
    let mail = dir.join("mail");
    let mut lines = vec![String::new()];
    match public_url {
        Some(url) => {
            lines.push(format!(
                "On the web: the mail's links point to {url}; answer them with flowc serve \
                 (docs/serve.md):"
            ));
            // A local URL on another port than serve's default: listen there.
            let listen = ["http://127.0.0.1:", "http://localhost:"]
                .iter()
                .find_map(|p| url.strip_prefix(p))
                .filter(|port| *port != "8080")
                .map(|port| format!(" --listen 127.0.0.1:{port}"))
                .unwrap_or_default();
            lines.push(format!(
                "  FLOWC_ADMIN_TOKEN=choose-a-password flowc serve --db {} {} --mail-dir {} \
                 --public-url {url}{listen}",
                db.display(),
                rules.display(),
                mail.display()
            ));
            lines.push(format!(
                "  then log in at {url}/login with that password and see the month's rules."
            ));
            if let Some(path) = &s.approval_email {
                lines.push(format!(
                    "  approve a discount from:        {}",
                    path.display()
                ));
            }
            if let Some((_, path)) = s.marketing_emails.first() {
                lines.push(format!(
                    "  opt out of marketing mail from: {}",
                    path.display()
                ));
            }
            lines.push(
                "  (serve runs the rules at today's date: waits that ended since the demo's \
                 month fire first.)"
                    .to_string(),
            );
        }
        None => lines.extend([
            "On the web: set FLOWC_SECRET and run the demo again, and its mail carries the links \
             flowc serve answers"
                .to_string(),
            "(approve from the approval email, opt out of marketing mail, opens and clicks):"
                .to_string(),
            format!(
                "  export FLOWC_SECRET=$(openssl rand -hex 32); flowc demo --dir {}",
                dir.display()
            ),
        ]),
    }
    for line in lines {
        let _ = writeln!(out, "{line}");
    }
}
