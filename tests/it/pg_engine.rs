//! The engine on PostgreSQL behaves as on SQLite: every `test` block of
//! every example project runs on both backends (`tester::run_on`), each
//! PostgreSQL test in a schema of its own, and must end the same way.

use crate::support::pg;
use flowc::eval::Backend;
use flowc::store::Store;
use std::path::PathBuf;
use std::rc::Rc;
use std::sync::atomic::{AtomicUsize, Ordering};

/// A fresh PostgreSQL store with the program's tables: its own schema for
/// the user's tables (first on the connection's search_path) and another
/// for flowc's.
fn fresh(url: &str, program: &flowc::ir::Program) -> Result<Rc<dyn Store>, String> {
    static N: AtomicUsize = AtomicUsize::new(0);
    let n = N.fetch_add(1, Ordering::Relaxed);
    let mut client = crate::pg_store::connect(url);
    client
        .batch_execute(&format!("CREATE SCHEMA t{n}; SET search_path = t{n}"))
        .map_err(|e| e.to_string())?;
    flowc::store::pg::ddl::create_missing(&mut client, &program.schema)
        .map_err(|e| e.to_string())?;
    Ok(Rc::new(flowc::store::pg::Pg::new(
        client,
        &format!("t{n}_flowc"),
    )))
}

fn examples() -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> =
        std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/examples"))
            .expect("examples")
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.is_dir())
            .collect();
    dirs.sort();
    dirs
}

#[test]
fn every_example_test_ends_the_same_on_postgres_as_on_sqlite() {
    let Some(server) = pg::shared("every_example_test_ends_the_same_on_postgres_as_on_sqlite")
    else {
        return;
    };
    let url = server.create_database("examples");
    let mut ran = 0;
    let mut differences = Vec::new();
    // And the `flowc test` fixtures whose expectations read the store
    // (emails' subjects and bodies, tasks, a refused write to a locked row).
    let fixtures = ["tests/flowtest/inspect", "tests/flowtest/business_count"]
        .map(|d| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(d));
    for dir in examples().into_iter().chain(fixtures) {
        let project = flowc::project::Project::load(std::slice::from_ref(&dir)).expect("loads");
        let checked = project.check();
        assert!(!checked.has_errors(), "{}", dir.display());
        let program = checked.program;
        for test in &program.tests {
            let on_sqlite = flowc::tester::run(&program, test, Backend::Vm);
            let on_pg =
                flowc::tester::run_on(&program, test, Backend::Vm, &|| fresh(&url, &program));
            ran += 1;
            let message =
                |o: &flowc::tester::Outcome| o.failure.as_ref().map(|f| f.message.clone());
            if message(&on_sqlite) != message(&on_pg) || on_sqlite.covered != on_pg.covered {
                differences.push(format!(
                    "{} / {}:\n  SQLite: {:?}\n  PostgreSQL: {:?}",
                    dir.display(),
                    test.name,
                    on_sqlite.failure,
                    on_pg.failure
                ));
            }
        }
    }
    assert!(ran > 20, "only {ran} tests found");
    assert!(differences.is_empty(), "{}", differences.join("\n"));
}
