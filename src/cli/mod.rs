//! The command line: clap definitions and dispatch, one file per subcommand.

mod check;
mod fmt;
mod schema;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

/// Exit status for usage errors and unreadable input.
pub const EXIT_USAGE: u8 = 2;

#[derive(Parser)]
#[command(
    name = "flowc",
    version,
    about = "Rules-as-code for sales and marketing automation",
    long_about = "flowc checks, tests and runs automation rules written as .flow files \
                  against a SQLite database.\n\nStart with `flowc demo`."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    Check(check::Args),
    Fmt(fmt::Args),
    Schema(schema::Args),
}

/// Parses the arguments and runs the subcommand.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Check(args) => check::run(args),
        Command::Fmt(args) => fmt::run(args),
        Command::Schema(args) => schema::run(args),
    };
    match result {
        Ok(code) => code,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::from(EXIT_USAGE)
        }
    }
}

/// Whether to color output written to stderr.
pub fn color_stderr() -> bool {
    use std::io::IsTerminal;
    std::env::var_os("NO_COLOR").is_none() && std::io::stderr().is_terminal()
}
