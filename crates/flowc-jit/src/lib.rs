//! flowc-jit: the Cranelift backend ([`jit`]) and [`compiled`], the one
//! evaluation interface the runtime uses: a [`Compiled`] expression runs on
//! the VM or on native code, as its [`Backend`] says, with the VM's answer
//! whatever happens.
//!
//! It depends on flowc-check (the IR) and flowc-vm (the semantics and the
//! fallback). It is the only crate that allows `unsafe`, and only inside
//! [`jit`]: everywhere else it is denied.

#![deny(unsafe_code)]
#![deny(clippy::unwrap_used)]

pub mod compiled;
pub mod jit;

pub use compiled::{Backend, Compiled};
