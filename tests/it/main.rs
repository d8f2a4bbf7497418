//! Every integration test but the data-driven suites, in one binary (so a
//! test run links the whole stack once): the CLI, the engine end to end on
//! real SQLite files with a real SMTP server, crashes and faults, the
//! formatter, the docs' examples. Slow tests (kill -9 at random points,
//! the demo month) run only with `FLOWC_SLOW_TESTS=1`, which `.ci/run` sets.

#[path = "../support/mod.rs"]
mod support;

mod backends_props;
mod ci_formats;
mod cli_check;
mod declared_events;
mod delivery;
mod demo;
mod docs;
mod engagement;
mod engine;
mod examples;
mod faults;
mod flowtest;
mod fmt;
mod fmt_props;
mod graph;
mod html_mail;
mod layering;
mod pg_bench;
mod pg_commands;
mod pg_effects;
mod pg_engine;
mod pg_harness;
mod pg_outbox;
mod pg_rows;
mod pg_run;
mod pg_store;
mod pg_sweeps;
mod pg_workers;
mod postgres;
mod reliability;
mod scenarios;
mod serve;
mod serve_admin;
mod serve_approvals;
mod serve_demo;
mod serve_forms;
mod serve_shared;
mod signing;
mod suppression;
mod tasks;
mod unsubscribed;
