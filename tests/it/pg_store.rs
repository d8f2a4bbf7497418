//! The store on PostgreSQL (`flowc::store::pg::Pg`) against the same
//! conformance suite as SQLite's, on a real server the harness starts.
//! Each check gets a state schema of its own in one database.

use crate::support::pg;
use flowc::store::Store;
use std::sync::atomic::{AtomicUsize, Ordering};

/// A client for `url`, through flowc's own connect.
pub fn connect(url: &str) -> flowc::store::pg::postgres::Client {
    let Ok(flowc::store::target::Target::Postgres(target)) =
        flowc::store::target::Target::parse(url)
    else {
        panic!("{url} is a PostgreSQL URL");
    };
    flowc::store::pg::connect(&target).expect("connect")
}

/// A fresh store on `url`, its state in a schema of its own.
pub fn fresh_store(url: &str, prefix: &str) -> Box<dyn Store> {
    static N: AtomicUsize = AtomicUsize::new(0);
    let schema = format!("{prefix}_{}", N.fetch_add(1, Ordering::Relaxed));
    let store = flowc::store::pg::Pg::new(connect(url), &schema);
    store
        .prepare(&flowc::ir::Schema::default())
        .expect("state tables");
    Box::new(store)
}

#[test]
fn postgres_conforms_to_the_store_suite() {
    let Some(server) = pg::shared("postgres_conforms_to_the_store_suite") else {
        return;
    };
    let url = server.create_database("conformance");
    flowc::store::conformance::conformance(&|| fresh_store(&url, "conformance"));
}
