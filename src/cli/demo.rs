//! `flowc demo`: the first command a new user runs.

use std::path::PathBuf;
use std::process::ExitCode;

/// Create a demo CRM database, write the example rules, and run them through
/// a simulated month (April 2025, Asia/Tokyo), delivering mail into a
/// folder. The rules are kept between runs: edit them and run again.
///
/// With FLOWC_SECRET set, the mail carries the links `flowc serve`
/// answers (approve from the approval email, opt out of marketing mail),
/// pointing at --public-url; the summary then shows how to serve it.
///
/// Examples:
///   flowc demo --dir flowc-demo
///   FLOWC_SECRET=$(openssl rand -hex 32) flowc demo
#[derive(clap::Args)]
#[command(verbatim_doc_comment)]
pub struct Args {
    /// Where the demo project, database and mail go.
    #[arg(long, default_value = "flowc-demo", value_name = "DIR")]
    dir: PathBuf,
    /// Where `flowc serve` will answer the demo mail's links (used only
    /// with FLOWC_SECRET set).
    #[arg(long, default_value = "http://127.0.0.1:8080", value_name = "URL")]
    public_url: String,
}

pub fn run(args: Args) -> Result<ExitCode, String> {
    use std::io::IsTerminal;
    let progress = std::io::stdout().is_terminal();
    let links = match crate::mail::token::Secret::from_env("flowc demo") {
        Ok(secret) => Some(crate::mail::token::PublicLinks::new(
            &args.public_url,
            secret,
        )?),
        Err(_)
            if std::env::var_os(crate::mail::token::SECRET_VARIABLE)
                .is_none_or(|v| v.is_empty()) =>
        {
            None
        }
        // Set but unusable (too short): say so rather than quietly
        // writing mail without links.
        Err(e) => return Err(e),
    };
    crate::demo::run(&args.dir, &mut std::io::stdout(), progress, links)?;
    Ok(ExitCode::SUCCESS)
}
