//! flowc-syntax: the front end's first step and what every later step
//! shares. Source files and spans ([`source`]), diagnostics and their
//! rendering ([`diagnostic`], the only codespan-reporting import), dates
//! and zones ([`time`]), "did you mean" ([`suggest`]), the parser
//! ([`syntax`]: text → untyped AST, the only pest import) and the
//! formatter ([`fmt`], which needs nothing but the AST).
//!
//! It depends on no other flowc crate, and touches no file, clock or
//! database.

#![forbid(unsafe_code)]
#![deny(clippy::unwrap_used)]

pub mod diagnostic;
pub mod fmt;
pub mod source;
pub mod suggest;
pub mod syntax;
pub mod time;
