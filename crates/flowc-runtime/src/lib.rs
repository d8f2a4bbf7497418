//! flowc-runtime: everything that runs rules for real. [`engine`] moves
//! the clock and runs rules against SQLite, [`store`] holds every query
//! and the state tables, [`mail`] builds and delivers email, [`tester`]
//! runs `test` blocks on in-memory databases with the real engine.
//!
//! It depends on every compiler crate (flowc-syntax, flowc-check,
//! flowc-vm, flowc-jit); only it (and the binary) may touch SQLite, SMTP
//! or the clock.

#![forbid(unsafe_code)]
#![deny(clippy::unwrap_used)]

pub mod engine;
pub mod mail;
pub mod store;
pub mod tester;
