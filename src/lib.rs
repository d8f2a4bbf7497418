//! flowc: rules-as-code for sales and marketing automation.
//!
//! The pipeline: [`syntax`] (text → AST) → [`check`] (AST + schema → typed
//! [`ir`]) → `vm` / `jit` (IR → executable code) → `engine` (runs against
//! SQLite). See ARCHITECTURE.md for the map.

#![deny(clippy::unwrap_used)]
#![deny(unsafe_code)]

pub mod bench;
pub mod check;
pub mod cli;
pub mod demo;
pub mod diagnostic;
pub mod engine;
pub mod eval;
pub mod fmt;
pub mod graph;
pub mod ir;
pub mod jit;
pub mod mail;
pub mod project;
pub mod source;
pub mod stdlib;
pub mod store;
pub mod suggest;
pub mod syntax;
pub mod tester;
pub mod time;
pub mod value;
pub mod vm;
