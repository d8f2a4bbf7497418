//! `flowc check`: parse and type-check a project, report every problem.

use crate::diagnostic::{self, Diagnostic, Severity};
use crate::project::Project;
use std::path::PathBuf;
use std::process::ExitCode;

/// Check .flow files for mistakes: syntax, names, types, templates.
///
/// Exit status: 0 when there are no errors (warnings allowed), 1 when there
/// is any error, 2 when the files or the database cannot be read.
///
/// Examples:
///   flowc check rules/
///   flowc check rules/ --format json
///   flowc check rules/ --db crm.sqlite        (also compare with the database)
///   flowc check rules/ --db postgresql://sales@db.example.jp/crm
///   flowc check rules/ --format sarif > flowc.sarif
#[derive(clap::Args)]
#[command(verbatim_doc_comment)]
pub struct Args {
    /// Files or folders (searched recursively for .flow files); default: the current folder.
    paths: Vec<PathBuf>,
    /// How to print problems.
    #[arg(long, value_enum, default_value_t = Format::Human)]
    format: Format,
    /// Also compare the declared schema with this database: a SQLite file
    /// or a postgresql:// URL (the password from the URL or PGPASSWORD).
    #[arg(long, value_name = "FILE|URL")]
    db: Option<String>,
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum Format {
    /// Source excerpts with carets, for people.
    Human,
    /// One JSON object per line per problem, for tools.
    Json,
    /// A SARIF 2.1.0 log, for code-scanning tools.
    Sarif,
    /// GitHub Actions workflow commands: errors inline on pull requests.
    Github,
}

pub fn run(args: Args) -> Result<ExitCode, String> {
    let project = Project::load(&args.paths).map_err(|e| e.to_string())?;
    let checked = project.check();
    let mut diagnostics = checked.diagnostics;
    if let Some(db) = &args.db {
        let target = crate::store::target::Target::parse(db)?;
        let drift = crate::store::drift::compare(&target, &checked.program.schema)?;
        diagnostics.extend(drift);
        diagnostic::sort(&mut diagnostics);
    }
    match args.format {
        Format::Human => {
            eprint!(
                "{}",
                diagnostic::render_human(&project.sources, &diagnostics, super::color_stderr())
            );
            eprintln!("{}", summary(&diagnostics, project.user_files().count()));
        }
        Format::Json => print!(
            "{}",
            diagnostic::render_json(&project.sources, &diagnostics)
        ),
        Format::Sarif => print!(
            "{}",
            diagnostic::render_sarif(&project.sources, &diagnostics)
        ),
        Format::Github => {
            print!(
                "{}",
                diagnostic::render_github(&project.sources, &diagnostics)
            );
            eprintln!("{}", summary(&diagnostics, project.user_files().count()));
        }
    }
    let failed = diagnostics.iter().any(Diagnostic::is_error);
    Ok(ExitCode::from(u8::from(failed)))
}

/// `checked 3 files: 2 errors, 1 warning`
fn summary(diagnostics: &[Diagnostic], files: usize) -> String {
    let count = |s: Severity| diagnostics.iter().filter(|d| d.severity == s).count();
    let plural = |n: usize, word: &str| format!("{n} {word}{}", if n == 1 { "" } else { "s" });
    let (errors, warnings) = (count(Severity::Error), count(Severity::Warning));
    let files = plural(files, "file");
    if errors == 0 && warnings == 0 {
        format!("checked {files}: no problems")
    } else {
        format!(
            "checked {files}: {}, {}",
            plural(errors, "error"),
            plural(warnings, "warning")
        )
    }
}
