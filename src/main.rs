//! The `flowc` command: argument parsing and dispatch live in `flowc::cli`.

#![forbid(unsafe_code)]
#![deny(clippy::unwrap_used)]

fn main() -> std::process::ExitCode {
    flowc::cli::main()
}
