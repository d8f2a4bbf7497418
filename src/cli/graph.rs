//! `flowc graph`: draw a rule.

use std::path::PathBuf;
use std::process::ExitCode;

/// Draw a rule as a flow chart: its trigger, conditions, waits, branches and
/// actions. With --db, each step shows how many runs wait there now and how
/// many went through it.
///
/// Examples:
///   flowc graph seminar rules/                  (Mermaid, for Markdown and GitHub)
///   flowc graph seminar rules/ --format svg > seminar.svg
///   flowc graph rules/ --format svg > rules.svg    (every rule, one document)
///   flowc graph rules/seminar.flow --format dot | dot -Tpng > seminar.png
///   flowc graph seminar rules/ --db crm.sqlite
///   flowc graph seminar rules/ --db postgresql://sales@db/crm
#[derive(clap::Args)]
#[command(verbatim_doc_comment)]
pub struct Args {
    /// A rule's name, or a file or folder (then every rule in it is drawn).
    target: String,
    /// The project (when TARGET is a rule's name); default: the current folder.
    paths: Vec<PathBuf>,
    #[arg(long, value_enum, default_value_t = Format::Mermaid)]
    format: Format,
    /// Annotate each step with its runs in this database: a SQLite file or
    /// a postgresql:// URL.
    #[arg(long, value_name = "FILE|URL")]
    db: Option<PathBuf>,
    /// On PostgreSQL: the schema flowc's own tables live in.
    #[arg(long, value_name = "NAME", default_value = "flowc")]
    state_schema: String,
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum Format {
    Mermaid,
    Dot,
    Svg,
}

pub fn run(args: Args) -> Result<ExitCode, String> {
    let target_is_path = std::path::Path::new(&args.target).exists();
    let paths: Vec<PathBuf> = if target_is_path {
        std::iter::once(PathBuf::from(&args.target))
            .chain(args.paths.iter().cloned())
            .collect()
    } else {
        args.paths.clone()
    };
    let Some((project, program)) = super::checked_project(&paths)? else {
        return Ok(ExitCode::from(1));
    };
    let rules: Vec<&crate::ir::RuleDef> = if target_is_path {
        let files: Vec<crate::source::FileId> = project.user_files().map(|f| f.file).collect();
        program
            .rules
            .iter()
            .filter(|r| files.contains(&r.span.file))
            .collect()
    } else {
        match program.rules.iter().find(|r| r.name == args.target) {
            Some(r) => vec![r],
            None => {
                let names: Vec<&str> = program.rules.iter().map(|r| r.name.as_str()).collect();
                let hint = crate::suggest::closest(&args.target, names.iter().copied())
                    .map(|s| format!(" (did you mean `{s}`?)"))
                    .unwrap_or_default();
                return Err(format!(
                    "there is no rule `{}`{hint}; the rules are {}",
                    args.target,
                    names.join(", ")
                ));
            }
        }
    };
    let store = match &args.db {
        Some(db) => Some(super::open_state(
            db,
            &args.state_schema,
            super::Access::Look,
        )?),
        None => None,
    };
    let mut charts = Vec::new();
    for rule in rules {
        let graph = crate::graph::build(rule, &program.schema, &project.sources);
        let counts = match &store {
            Some(store) => crate::graph::counts(rule, &program.schema, store.as_ref())
                .map_err(|e| e.to_string())?,
            None => crate::graph::Counts::default(),
        };
        charts.push((graph, counts));
    }
    match args.format {
        Format::Mermaid => charts
            .iter()
            .for_each(|(g, c)| print!("{}", crate::graph::mermaid(g, c))),
        Format::Dot => charts
            .iter()
            .for_each(|(g, c)| print!("{}", crate::graph::dot(g, c))),
        // One document for all the rules: XML has one root element.
        Format::Svg => {
            let charts: Vec<_> = charts.iter().map(|(g, c)| (g, c)).collect();
            print!("{}", crate::graph::svg(&charts));
        }
    }
    Ok(ExitCode::SUCCESS)
}
