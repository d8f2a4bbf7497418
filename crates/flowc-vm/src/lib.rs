//! flowc-vm: what evaluation means and the bytecode VM that does it.
//! [`value`] holds runtime values and rows, [`eval`] the operations both
//! backends share, the [`eval::Env`] trait through which an expression
//! reads the world, and evaluation errors; [`vm`] compiles IR to register
//! bytecode and interprets it.
//!
//! It depends on flowc-syntax and flowc-check (the IR), never on the JIT
//! or the runtime.

#![forbid(unsafe_code)]
#![deny(clippy::unwrap_used)]

pub mod eval;
pub mod value;
pub mod vm;
