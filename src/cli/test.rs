//! `flowc test`: run the project's rule tests.

use crate::diagnostic::{Diagnostic, Label};
use crate::eval::compiled::Backend;
use std::collections::HashSet;
use std::path::PathBuf;
use std::process::ExitCode;

/// Run every `test "…" … end` block: each in a fresh in-memory database with
/// the project's tables, the clock starting at 2025-01-01 09:00 local time.
///
/// Examples:
///   flowc test rules/
///   flowc test --filter "lost deals" --coverage
///   flowc test --format github rules/     (failures also as GitHub annotations)
#[derive(clap::Args)]
#[command(verbatim_doc_comment)]
pub struct Args {
    /// Files or folders; default: the current folder.
    paths: Vec<PathBuf>,
    /// Only tests whose name contains this text.
    #[arg(long)]
    filter: Option<String>,
    /// Report the rules and steps no test reached.
    #[arg(long)]
    coverage: bool,
    /// Evaluation backend: vm, jit or auto (as for `flowc run`).
    #[arg(long, default_value_t = Backend::Auto)]
    backend: Backend,
    /// `github` also prints each failure as a workflow command, which
    /// GitHub Actions shows on the test's line in a pull request.
    #[arg(long, value_enum, default_value_t = Format::Human)]
    format: Format,
}

#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum Format {
    Human,
    Github,
}

pub fn run(args: Args) -> Result<ExitCode, String> {
    let Some((project, program)) = super::checked_project(&args.paths)? else {
        return Ok(ExitCode::from(1));
    };
    let tests: Vec<_> = program
        .tests
        .iter()
        .filter(|t| {
            args.filter
                .as_ref()
                .is_none_or(|f| t.name.contains(f.as_str()))
        })
        .collect();
    println!(
        "running {} test{}",
        tests.len(),
        if tests.len() == 1 { "" } else { "s" }
    );
    let mut failures = Vec::new();
    let mut covered: HashSet<(String, String)> = HashSet::new();
    for test in &tests {
        let outcome = crate::tester::run(&program, test, args.backend);
        println!(
            "test {} ... {}",
            outcome.name,
            if outcome.failure.is_some() {
                "FAILED"
            } else {
                "ok"
            }
        );
        covered.extend(outcome.covered.iter().cloned());
        if let Some(failure) = outcome.failure {
            failures.push((outcome.name, failure));
        }
    }
    let mut reported = Vec::new();
    if !failures.is_empty() {
        println!("\nfailures:\n");
        for (name, failure) in &failures {
            println!("---- {name} ----");
            let mut d = Diagnostic::error(
                "test",
                failure.message.clone(),
                Label::new(failure.span, "here"),
            );
            if !failure.actual.is_empty() {
                d = d.with_hint(format!("what happened:\n{}", failure.actual.join("\n")));
            }
            let shown =
                crate::diagnostic::render_human(&project.sources, std::slice::from_ref(&d), false);
            println!("{}\n", shown.trim_end());
            reported.push(d);
        }
    } else {
        println!();
    }
    let passed = tests.len() - failures.len();
    let verdict = if failures.is_empty() { "ok" } else { "FAILED" };
    println!(
        "test result: {verdict}. {passed} passed, {} failed",
        failures.len()
    );
    if args.coverage {
        print_coverage(&program, &covered);
    }
    if args.format == Format::Github {
        print!(
            "{}",
            crate::diagnostic::render_github(&project.sources, &reported)
        );
    }
    Ok(ExitCode::from(u8::from(!failures.is_empty())))
}

fn print_coverage(program: &crate::ir::Program, covered: &HashSet<(String, String)>) {
    let mut missing = Vec::new();
    for rule in &program.rules {
        let mut steps = Vec::new();
        collect(&rule.steps, &mut steps);
        let reached = steps
            .iter()
            .filter(|s| covered.contains(&(rule.name.clone(), s.to_string())))
            .count();
        if reached == 0 {
            missing.push(format!("rule {}: never ran", rule.name));
        } else {
            for step in steps
                .iter()
                .filter(|s| !covered.contains(&(rule.name.clone(), s.to_string())))
            {
                missing.push(format!("rule {}: step {step} never reached", rule.name));
            }
        }
    }
    println!(
        "\ncoverage: {} of {} rules reached",
        program.rules.len() - missing.iter().filter(|m| m.ends_with("never ran")).count(),
        program.rules.len()
    );
    for m in missing {
        println!("  {m}");
    }
}

fn collect<'a>(steps: &'a [crate::ir::Step], out: &mut Vec<&'a str>) {
    for step in steps {
        out.push(&step.name);
        let mut b = 0;
        while let Some(inner) = crate::engine::pc::block(step, b) {
            collect(inner, out);
            b += 1;
        }
    }
}
