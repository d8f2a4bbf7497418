//! `flowc bench`: measure the engine on this machine.

use std::process::ExitCode;

/// Measure the engine on generated workloads (in a temporary folder): change
/// processing, waking timers, a sweep beside SQLite's own count, and plain
/// commits. Prints a Markdown table.
///
/// Examples:
///   flowc bench                     (the full sizes: about a minute)
///   flowc bench --small             (seconds)
///   flowc bench sweep --backend vm  (one workload, one backend)
#[derive(clap::Args)]
#[command(verbatim_doc_comment)]
pub struct Args {
    /// Small workloads, for a quick look.
    #[arg(long)]
    small: bool,
    /// Only these benchmarks: changes, timers, sweep, commits.
    only: Vec<String>,
    /// Evaluation backend: vm, jit or auto (as for `flowc run`).
    #[arg(long, default_value_t = crate::eval::compiled::Backend::Auto)]
    backend: crate::eval::compiled::Backend,
}

pub fn run(args: Args) -> Result<ExitCode, String> {
    let scale = if args.small {
        crate::bench::Scale::SMALL
    } else {
        crate::bench::Scale::FULL
    };
    let measures = crate::bench::run_all(scale, &args.only, args.backend)?;
    print!("{}", crate::bench::table(&measures));
    Ok(ExitCode::SUCCESS)
}
