//! SQLite: reading the user's tables, the engine's `flow_*` state tables,
//! migrations and change-capture triggers.

pub mod capture;
pub mod captured;
pub mod changes;
pub mod ddl;
pub mod deleted;
pub mod drift;
pub mod events;
pub mod introspect;
pub mod lenient;
pub mod rows;
pub mod sql;
pub mod state;
