//! The storage boundary holds: outside `crates/flowc-runtime/src/store/`,
//! no source file has SQL text (test modules excepted, at a file's end or
//! a whole file that says `#![cfg(test)]`, where tests set up a database
//! the way another program would). A new
//! backend is then one new set of store modules, and nothing else changes.

use std::path::{Path, PathBuf};

/// Words that start an SQL statement, as they appear in a string literal.
const SQL_STARTS: &[&str] = &[
    "SELECT ",
    "INSERT INTO",
    "INSERT OR",
    "UPDATE ",
    "DELETE FROM",
    "CREATE TABLE",
    "CREATE INDEX",
    "CREATE TRIGGER",
    "DROP ",
    "ALTER TABLE",
    "PRAGMA ",
    "BEGIN",
    "COMMIT",
    "ROLLBACK",
    "SAVEPOINT",
];

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The string literals on a line that begin like an SQL statement.
fn sql_literals(line: &str) -> Vec<String> {
    line.split('"')
        .skip(1)
        .step_by(2)
        .filter(|lit| SQL_STARTS.iter().any(|s| lit.trim_start().starts_with(s)))
        .map(str::to_string)
        .collect()
}

/// `file:line: literal` for SQL text in a file before its test module
/// (`#[cfg(test)]`), or before `#![cfg(test)]` in a file of tests.
fn offences(path: &Path, text: &str) -> Vec<String> {
    text.lines()
        .take_while(|l| !matches!(l.trim(), "#[cfg(test)]" | "#![cfg(test)]"))
        .enumerate()
        .flat_map(|(i, line)| {
            sql_literals(line)
                .into_iter()
                .map(move |lit| format!("{}:{}: \"{lit}\"", path.display(), i + 1))
        })
        .collect()
}

#[test]
fn no_sql_outside_the_store() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let store = root.join("crates/flowc-runtime/src/store");
    let mut files = Vec::new();
    rust_files(&root.join("src"), &mut files);
    rust_files(&root.join("crates"), &mut files);
    assert!(files.len() > 50, "found only {} source files", files.len());
    let mut found = Vec::new();
    for path in files.iter().filter(|p| !p.starts_with(&store)) {
        let text = std::fs::read_to_string(path).expect("read source");
        found.extend(offences(path, &text));
    }
    assert!(
        found.is_empty(),
        "SQL outside the store (move it into a typed operation under store/):\n{}",
        found.join("\n")
    );
}

#[test]
fn the_scan_finds_sql_where_there_is_some() {
    let text = "fn f() {\n    conn.execute(\"UPDATE contact SET score = 1\", []);\n}\n#[cfg(test)]\nmod tests { \"SELECT 1\" }\n";
    let found = offences(Path::new("x.rs"), text);
    assert_eq!(
        found,
        vec!["x.rs:2: \"UPDATE contact SET score = 1\"".to_string()]
    );
}
