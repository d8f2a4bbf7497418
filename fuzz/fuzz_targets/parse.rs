//! Any text through the parser alone (faster than `check`, so it goes deeper
//! into the grammar and `syntax::lower`).

#![no_main]

use flowc::source::FileId;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let _ = flowc::syntax::parse(FileId(0), text);
});
