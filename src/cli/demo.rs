//! `flowc demo`: the first command a new user runs.

use std::path::PathBuf;
use std::process::ExitCode;

/// Create a demo CRM database, write the example rules, and run them through
/// a simulated month (April 2025, Asia/Tokyo), delivering mail into a
/// folder. The rules are kept between runs: edit them and run again.
///
/// Example:
///   flowc demo --dir flowc-demo
#[derive(clap::Args)]
#[command(verbatim_doc_comment)]
pub struct Args {
    /// Where the demo project, database and mail go.
    #[arg(long, default_value = "flowc-demo", value_name = "DIR")]
    dir: PathBuf,
}

pub fn run(args: Args) -> Result<ExitCode, String> {
    use std::io::IsTerminal;
    let progress = std::io::stdout().is_terminal();
    crate::demo::run(&args.dir, &mut std::io::stdout(), progress)?;
    Ok(ExitCode::SUCCESS)
}
