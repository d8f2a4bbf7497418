//! Any text, parsed and checked as a one-file project, and its diagnostics
//! rendered both ways: none of it may panic, overflow the stack or hang.

#![no_main]

use flowc::diagnostic::{render_human, render_json};
use flowc::project::Project;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // Only valid UTF-8: the CLI reads files with `read_to_string`, so invalid
    // bytes never reach the parser.
    let Ok(text) = std::str::from_utf8(data) else { return };
    let project = Project::from_texts([("fuzz.flow", text)]);
    let checked = project.check();
    let _ = render_human(&project.sources, &checked.diagnostics, false);
    let _ = render_json(&project.sources, &checked.diagnostics);
});
