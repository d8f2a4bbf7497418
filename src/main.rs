//! The `flowc` command: argument parsing and dispatch live in `flowc::cli`.

fn main() -> std::process::ExitCode {
    flowc::cli::main()
}
