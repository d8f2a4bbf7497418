//! Golden tests for `flowc fmt`: `tests/fmt/NAME.flow` formatted must equal
//! `tests/fmt/NAME.expected` (written on first run, rewritten with
//! `UPDATE_EXPECT=1`). Every case also checks that the expected text is a
//! fixed point, and that formatting kept the tree and the comments.

use crate::support::golden;

use flowc::fmt::{comments, fingerprint, format_source};
use flowc::source::FileId;
use flowc::syntax::parse;
use std::path::{Path, PathBuf};

/// One `#[test]` per fixture, all through [`check`].
macro_rules! fixtures {
    ($($name:ident),* $(,)?) => {
        $(
            #[test]
            fn $name() {
                check(stringify!($name));
            }
        )*
        const FIXTURES: &[&str] = &[$(stringify!($name)),*];
    };
}

fixtures!(
    assign_and_approval,
    blank_lines,
    calendars,
    comments_everywhere,
    declarations,
    email,
    events,
    expressions,
    forms,
    if_else,
    japanese,
    long_lines,
    messy_layout,
    parens_and_separators,
    steps,
    test_blocks,
    triggers,
);

fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fmt")
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Formats `tests/fmt/NAME.flow` and holds the result against its promises.
fn check(name: &str) {
    let input_path = dir().join(format!("{name}.flow"));
    let expected_path = input_path.with_extension("expected");
    let input = read(&input_path);
    let formatted = format_source(&input)
        .unwrap_or_else(|errors| panic!("{name}.flow does not parse: {errors:?}"));
    assert_keeps_meaning(&input, &formatted);
    if let Err(message) = golden::compare(&expected_path, &formatted) {
        panic!("{message}");
    }
    let expected = read(&expected_path);
    let again = format_source(&expected)
        .unwrap_or_else(|errors| panic!("{name}.expected does not parse: {errors:?}"));
    assert_eq!(
        again, expected,
        "{name}.expected is not a fixed point of the formatter"
    );
}

/// Same tree modulo spans, same comments in the same order, idempotent.
fn assert_keeps_meaning(input: &str, formatted: &str) {
    let before = parse(FileId(0), input);
    let after = parse(FileId(0), formatted);
    assert!(
        after.errors.is_empty(),
        "output does not parse: {:?}\n{formatted}",
        after.errors
    );
    assert_eq!(
        fingerprint(&before.module),
        fingerprint(&after.module),
        "tree changed:\n{formatted}"
    );
    assert_eq!(
        comments(input),
        comments(formatted),
        "comments changed:\n{formatted}"
    );
    let twice = format_source(formatted).unwrap_or_else(|e| panic!("{e:?}"));
    assert_eq!(twice, formatted, "not idempotent");
    assert!(formatted.is_empty() || formatted.ends_with('\n') && !formatted.ends_with("\n\n"));
    for line in formatted.lines() {
        assert_eq!(line, line.trim_end(), "trailing whitespace in {line:?}");
    }
}

#[test]
fn every_fixture_has_a_test() {
    let mut on_disk: Vec<String> = golden::fixtures(&dir(), "flow")
        .iter()
        .filter_map(|p| p.file_stem().map(|s| s.to_string_lossy().into_owned()))
        .collect();
    on_disk.sort();
    let mut listed: Vec<&str> = FIXTURES.to_vec();
    listed.sort_unstable();
    assert_eq!(on_disk, listed, "list each tests/fmt/*.flow in `fixtures!`");
}

#[test]
fn design_example() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/design/design.flow");
    let input = read(&path);
    let formatted = format_source(&input).unwrap_or_else(|e| panic!("{e:?}"));
    assert_keeps_meaning(&input, &formatted);
}

#[test]
fn syntax_errors_come_back() {
    let errors = format_source("rule r\n  when x is created\n  stop\n").err();
    assert!(errors.is_some_and(|e| !e.is_empty()));
}

#[test]
fn empty_and_comment_only_files() {
    assert_eq!(format_source("").ok().as_deref(), Some(""));
    assert_eq!(format_source("\n\n  \n").ok().as_deref(), Some(""));
    assert_eq!(
        format_source("  # only\n\n\n# comments   \n")
            .ok()
            .as_deref(),
        Some("# only\n\n# comments\n")
    );
}

#[test]
fn crlf_tabs_and_bom_become_canonical() {
    let input = "\u{feff}list a of b\r\n# note\r\n\r\nrule r\r\n\twhen b is created # why\r\n\tstop\r\nend\r\n";
    let expected = "list a of b\n\n# note\n\nrule r\n  when b is created  # why\n  stop\nend\n";
    assert_eq!(format_source(input).ok().as_deref(), Some(expected));
    assert_keeps_meaning(input, expected);
}
