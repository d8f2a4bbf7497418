//! `flowc tasks`: the tasks rules created, by assignee.

use crate::ir::Schema;
use crate::mail::approval::{self, Shown};
use crate::store::Store;
use crate::store::report::TaskLine;
use std::collections::HashMap;
use std::path::PathBuf;
use std::process::ExitCode;

/// List open tasks by assignee: who (name and address), then each task's
/// due date, title, the record it is about and the rule that created it.
///
/// Names are read from the database with the rules the creating run
/// followed; a record they no longer describe shows as `table #id`.
///
/// Examples:
///   flowc tasks --db crm.sqlite
///   flowc tasks --db crm.sqlite --all
///   flowc tasks --db postgresql://sales@db/crm
#[derive(clap::Args)]
#[command(verbatim_doc_comment)]
pub struct Args {
    /// The database: a SQLite file or a postgresql:// URL.
    #[arg(long, value_name = "FILE|URL")]
    db: PathBuf,
    /// On PostgreSQL: the schema flowc's own tables live in.
    #[arg(long, value_name = "NAME", default_value = "flowc")]
    state_schema: String,
    /// Also the tasks that are no longer open (marked done by another
    /// program).
    #[arg(long)]
    all: bool,
}

pub fn run(args: Args) -> Result<ExitCode, String> {
    let store = super::open_state(&args.db, &args.state_schema, super::Access::Look)?;
    let store = store.as_ref();
    let tasks = store.report().tasks(args.all).map_err(|e| e.to_string())?;
    if tasks.is_empty() {
        println!(
            "{}",
            if args.all {
                "no tasks"
            } else {
                "no open tasks"
            }
        );
        return Ok(ExitCode::SUCCESS);
    }
    let mut schemas = Schemas::default();
    let mut shown: HashMap<(String, i64), Shown> = HashMap::new();
    let mut groups: Vec<(&str, i64, Vec<&TaskLine>)> = Vec::new();
    for task in &tasks {
        match groups.last_mut() {
            Some((table, id, list)) if *table == task.assignee_table && *id == task.assignee_id => {
                list.push(task);
            }
            _ => groups.push((&task.assignee_table, task.assignee_id, vec![task])),
        }
    }
    for (n, (table, id, list)) in groups.iter().enumerate() {
        if n > 0 {
            println!();
        }
        let schema = match list
            .iter()
            .find_map(|t| Some((t.rule.as_deref()?, t.version.as_deref()?)))
        {
            Some((rule, version)) => schemas.of(store, rule, version),
            None => None,
        };
        let assignee = look(store, schema, &mut shown, table, *id)?;
        let open = list.iter().filter(|t| t.status == "open").count();
        let count = if args.all {
            format!("{} tasks, {open} open", list.len())
        } else {
            format!("{open} open {}", if open == 1 { "task" } else { "tasks" })
        };
        println!("{} — {table} #{id}: {count}", assignee.person());
        for t in list {
            let schema = match (&t.rule, &t.version) {
                (Some(rule), Some(version)) => schemas.of(store, rule, version),
                _ => None,
            };
            let about = match (&t.subject_table, t.subject_id) {
                (Some(table), Some(id)) => look(store, schema, &mut shown, table, id)?.title(),
                _ => "—".to_string(),
            };
            let due = t.due.as_deref().map_or("no due date".to_string(), |d| {
                format!("due {}", approval::one_line(d))
            });
            let status = if t.status == "open" {
                String::new()
            } else {
                format!(" [{}]", approval::one_line(&t.status))
            };
            println!(
                "  #{}  {due}  {}{status} — {about}, rule {}",
                t.id,
                approval::one_line(&t.title),
                t.rule
                    .as_deref()
                    .map_or("—".to_string(), approval::one_line),
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Row `id` of `table` as shown, read once.
fn look(
    store: &dyn Store,
    schema: Option<&Schema>,
    shown: &mut HashMap<(String, i64), Shown>,
    table: &str,
    id: i64,
) -> Result<Shown, String> {
    if let Some(s) = shown.get(&(table.to_string(), id)) {
        return Ok(s.clone());
    }
    let Some(schema) = schema else {
        return Ok(Shown::bare(table, id));
    };
    let s = approval::load(store, schema, table, id)
        .map_err(|e| e.to_string())?
        .unwrap_or_else(|| Shown::bare(table, id));
    shown.insert((table.to_string(), id), s.clone());
    Ok(s)
}

/// The schema of each rule version the tasks' runs follow, rebuilt from
/// the project text kept with it (`None` when it was not kept or no longer
/// checks).
#[derive(Default)]
struct Schemas(HashMap<(String, String), Option<Schema>>);

impl Schemas {
    fn of(&mut self, store: &dyn Store, rule: &str, version: &str) -> Option<&Schema> {
        self.0
            .entry((rule.to_string(), version.to_string()))
            .or_insert_with(|| {
                let text = store.version_project(rule, version).ok().flatten()?;
                let project = crate::project::Project::from_snapshot(&text)?;
                let checked = project.check();
                if checked.diagnostics.iter().any(|d| d.is_error()) {
                    return None;
                }
                Some(checked.program.schema)
            })
            .as_ref()
    }
}
