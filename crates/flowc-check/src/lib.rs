//! flowc-check: names and types. [`check`] turns the AST and the schema
//! into the typed [`ir`] every backend consumes, plus problems;
//! [`project`] finds and reads a project's files and adds the
//! [`stdlib`] (the only part of the front end that reads files).
//!
//! It depends only on flowc-syntax: no database, no code generation.

#![forbid(unsafe_code)]
#![deny(clippy::unwrap_used)]

pub mod check;
pub mod holidays;
pub mod ir;
pub mod project;
pub mod stdlib;
