//! flowc: rules-as-code for sales and marketing automation.
//!
//! The pipeline: [`syntax`] (text → AST) → [`check`] (AST + schema → typed
//! [`ir`]) → `vm` / `jit` (IR → executable code) → `engine` (runs against
//! SQLite). See ARCHITECTURE.md for the map.
//!
//! This crate is the command line (`cli`, `demo`, `bench`, `graph`); the
//! pipeline lives in the workspace's crates, re-exported here under their
//! old paths (`flowc::syntax`, `flowc::eval::Compiled`, …) so that tests,
//! benchmarks and the fuzz targets see one crate.

#![forbid(unsafe_code)]
#![deny(clippy::unwrap_used)]

pub use flowc_check::{check, ir, project, stdlib};
pub use flowc_jit::jit;
pub use flowc_runtime::{engine, mail, store, tester};
pub use flowc_syntax::{diagnostic, fmt, source, suggest, syntax, time};
pub use flowc_vm::{value, vm};

pub mod eval {
    //! Evaluation: the semantics, the [`Env`] trait and errors (flowc-vm),
    //! and [`Compiled`] / [`Backend`], which pick the VM or the JIT
    //! (flowc-jit).

    pub use flowc_jit::compiled::{self, Backend, Compiled};
    pub use flowc_vm::eval::*;
}

pub mod bench;
pub mod cli;
pub mod demo;
pub mod graph;
