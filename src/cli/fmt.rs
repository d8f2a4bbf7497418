//! `flowc fmt`: rewrite .flow files in the canonical layout.

use crate::diagnostic;
use crate::project;
use crate::source::SourceMap;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// Format .flow files in place (comments are kept; formatting twice changes
/// nothing). With --check, change nothing and list the files that would
/// change (exit 1 if any). `flowc fmt -` formats standard input to standard
/// output.
///
/// Examples:
///   flowc fmt rules/
///   flowc fmt --check
#[derive(clap::Args)]
#[command(verbatim_doc_comment)]
pub struct Args {
    /// Report files that are not formatted instead of rewriting them.
    #[arg(long)]
    check: bool,
    /// Files or folders; default: the current folder. `-` reads standard input.
    paths: Vec<PathBuf>,
}

pub fn run(args: Args) -> Result<ExitCode, String> {
    if args.paths.len() == 1 && args.paths[0] == Path::new("-") {
        return stdin(args.check);
    }
    let default = [PathBuf::from(".")];
    let paths = if args.paths.is_empty() {
        &default[..]
    } else {
        &args.paths
    };
    let files = project::flow_files(paths).map_err(|e| e.to_string())?;
    let mut unformatted = 0;
    let mut broken = 0;
    for path in files {
        let text =
            std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        match crate::fmt::format_source(&text) {
            Ok(formatted) if formatted == text => {}
            Ok(_) if args.check => {
                println!("{}", path.display());
                unformatted += 1;
            }
            Ok(formatted) => {
                write_atomically(&path, &formatted)?;
                eprintln!("formatted {}", path.display());
            }
            Err(errors) => {
                broken += 1;
                report(&path, &text, &errors);
            }
        }
    }
    if args.check && unformatted > 0 {
        eprintln!(
            "{unformatted} file{} would be reformatted by `flowc fmt`",
            if unformatted == 1 { "" } else { "s" }
        );
    }
    Ok(ExitCode::from(u8::from(unformatted > 0 || broken > 0)))
}

fn stdin(check: bool) -> Result<ExitCode, String> {
    let mut text = String::new();
    std::io::stdin()
        .read_to_string(&mut text)
        .map_err(|e| format!("standard input: {e}"))?;
    match crate::fmt::format_source(&text) {
        Ok(formatted) if check => Ok(ExitCode::from(u8::from(formatted != text))),
        Ok(formatted) => {
            std::io::stdout()
                .write_all(formatted.as_bytes())
                .map_err(|e| e.to_string())?;
            Ok(ExitCode::SUCCESS)
        }
        Err(errors) => {
            report(Path::new("<stdin>"), &text, &errors);
            Ok(ExitCode::from(1))
        }
    }
}

/// A file that does not parse is left alone; its errors are shown.
fn report(path: &Path, text: &str, errors: &[crate::syntax::SyntaxError]) {
    let mut sources = SourceMap::new();
    sources.add(path.display().to_string(), text);
    let diagnostics: Vec<_> = errors.iter().map(|e| e.to_diagnostic()).collect();
    eprint!(
        "{}",
        diagnostic::render_human(&sources, &diagnostics, super::color_stderr())
    );
    eprintln!(
        "{}: not formatted (fix the syntax errors first)",
        path.display()
    );
}

/// Writes through a temporary file and a rename, so a crash never leaves a
/// half-written rules file.
fn write_atomically(path: &Path, contents: &str) -> Result<(), String> {
    let tmp = path.with_extension("flow.fmt-tmp");
    std::fs::write(&tmp, contents).map_err(|e| format!("{}: {e}", tmp.display()))?;
    std::fs::rename(&tmp, path).map_err(|e| format!("{}: {e}", path.display()))
}
