//! SQLite: reading the user's tables, the engine's `flow_*` state tables,
//! migrations and change-capture triggers, and the outbox's delivery state
//! (`outbox`, `workers`, `suppressions`).

pub mod capture;
pub mod ddl;
pub mod drift;
pub mod introspect;
pub mod outbox;
pub mod rows;
pub mod sql;
pub mod state;
pub mod suppressions;
pub mod workers;
