//! `flowc schema`: read a schema from a database, or create missing tables.

use crate::project::Project;
use crate::store::target::Target;
use crate::store::{ddl, introspect, pg, sql};
use std::path::PathBuf;
use std::process::ExitCode;

/// Print a .flow schema read from an existing database, or create the
/// tables a project declares.
///
/// Examples:
///   flowc schema --db crm.sqlite > schema.flow
///   flowc schema --db crm.sqlite --create rules/
///   flowc schema --db postgresql://sales@db.example.jp/crm > schema.flow
#[derive(clap::Args)]
#[command(verbatim_doc_comment)]
pub struct Args {
    /// The database: a SQLite file, or a postgresql:// URL (the password
    /// from the URL or PGPASSWORD; user tables are those on its search_path).
    #[arg(long, value_name = "FILE|URL")]
    db: String,
    /// Create the tables the project declares but the database lacks
    /// (existing tables are never changed).
    #[arg(long)]
    create: bool,
    /// The project (with --create); default: the current folder.
    paths: Vec<PathBuf>,
}

pub fn run(args: Args) -> Result<ExitCode, String> {
    let target = Target::parse(&args.db)?;
    if args.create {
        return create(&args, &target);
    }
    let tables = match &target {
        Target::Sqlite(path) => {
            if !path.is_file() {
                return Err(format!("{}: no such database file", path.display()));
            }
            let conn = introspect::open_read_only(path).map_err(|e| e.to_string())?;
            introspect::tables(&conn).map_err(|e| e.to_string())?
        }
        Target::Postgres(url) => {
            let mut client = pg::connect(url)?;
            pg::introspect::tables(&mut client)
                .map_err(|e| format!("{url}: {}", pg::error_text(&e)))?
        }
    };
    print!("{}", to_flow(&tables));
    Ok(ExitCode::SUCCESS)
}

fn create(args: &Args, target: &Target) -> Result<ExitCode, String> {
    let project = Project::load(&args.paths).map_err(|e| e.to_string())?;
    let checked = project.check();
    if checked.has_errors() {
        return Err("the project has errors; run `flowc check` first".into());
    }
    let created = match target {
        Target::Sqlite(path) => {
            let conn = rusqlite::Connection::open(path).map_err(|e| e.to_string())?;
            ddl::create_missing(&conn, &checked.program.schema).map_err(|e| e.to_string())?
        }
        Target::Postgres(url) => {
            let mut client = pg::connect(url)?;
            pg::ddl::create_missing(&mut client, &checked.program.schema)
                .map_err(|e| format!("{url}: {}", pg::error_text(&e)))?
        }
    };
    if created.is_empty() {
        eprintln!("every declared table already exists");
    }
    for name in created {
        eprintln!("created table {}", sql::ident(&name));
    }
    Ok(ExitCode::SUCCESS)
}

fn is_flow_name(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some('a'..='z' | '_'))
        && chars.all(|c| matches!(c, 'a'..='z' | '0'..='9' | '_'))
}

/// A `.flow` schema for the tables, ready to refine by hand.
pub fn to_flow(tables: &[introspect::Table]) -> String {
    let mut out = String::from(
        "# Read from the database by `flowc schema`. Refine the types:\n# enums for fixed values, `date`/`datetime` for text dates, `bool` for 0/1.\n",
    );
    for table in tables {
        out.push('\n');
        if !is_flow_name(&table.name) {
            out.push_str(&format!(
                "# table \"{}\" skipped: not a valid flow name\n",
                table.name
            ));
            continue;
        }
        let has_id = table
            .columns
            .iter()
            .any(|c| c.name == "id" && c.primary_key);
        if !has_id {
            out.push_str(
                "# this table has no `id INTEGER PRIMARY KEY`; flowc needs one to refer to rows\n",
            );
        }
        out.push_str(&format!("record {} {{\n", table.name));
        for column in &table.columns {
            if column.name == "id" {
                continue;
            }
            if !is_flow_name(&column.name) {
                out.push_str(&format!(
                    "  # column \"{}\" skipped: not a valid flow name\n",
                    column.name
                ));
                continue;
            }
            let ty = match &column.references {
                Some(target) if is_flow_name(target) => target.clone(),
                // A PostgreSQL enum type: its values make a flow enum.
                _ if column.is_enum => "text".to_string(),
                _ => guess_type(&column.declared_type).to_string(),
            };
            let nullable = if column.not_null { "" } else { "?" };
            out.push_str(&format!("  {}: {ty}{nullable}\n", column.name));
        }
        out.push_str("}\n");
    }
    out
}

fn guess_type(declared: &str) -> &'static str {
    let upper = declared.to_ascii_uppercase();
    if upper.contains("BOOL") {
        return "bool";
    }
    if upper.contains("DATETIME") || upper.contains("TIMESTAMP") {
        return "datetime";
    }
    if upper.contains("DATE") {
        return "date";
    }
    match sql::affinity(declared) {
        sql::Affinity::Integer => "int",
        sql::Affinity::Real | sql::Affinity::Numeric => "decimal",
        sql::Affinity::Text | sql::Affinity::Blob => "text",
    }
}
