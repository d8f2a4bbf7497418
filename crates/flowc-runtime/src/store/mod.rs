//! The database: the engine's typed operations ([`backend::Store`]) and
//! their backends. SQLite's SQL is in this folder's modules (the user's
//! tables, the engine's `flow_*` state tables, migrations and
//! change-capture triggers, the outbox's delivery state), put together as
//! [`sqlite::Sqlite`]; PostgreSQL's is in `pg/`.

pub mod admin;
pub mod approvals;
pub mod backend;
pub mod baseline;
pub mod becomes;
pub mod capture;
pub mod captured;
pub mod changes;
#[doc(hidden)]
pub mod conformance;
pub mod ddl;
pub mod deleted;
pub mod delivery;
pub mod drift;
pub mod effects;
pub mod error;
pub mod events;
pub mod inspect;
pub mod inspection;
pub mod introspect;
pub mod lenient;
pub mod log;
pub mod outbox;
pub mod pg;
pub mod pushdown;
pub mod report;
pub mod rows;
pub mod runs;
pub mod schedule;
pub mod sql;
pub mod sqlite;
mod sqlite_outbox;
pub mod state;
pub mod stats;
pub mod suppressions;
pub mod target;
pub mod tx;
pub mod versions;
pub mod web;
pub mod workers;

pub use admin::Admin;
pub use backend::Store;
pub use delivery::Outbox;
pub use error::{DbError, DbResult};
pub use inspection::Inspect;
pub use report::Report;
pub use web::Web;
