//! The standard library: `stdlib/*.flow`, embedded in the binary and loaded
//! by every project before its own files.

/// `(name, text)` of each standard library file.
pub const FILES: &[(&str, &str)] = &[
    (
        "<stdlib>/dates.flow",
        include_str!("../../../stdlib/dates.flow"),
    ),
    (
        "<stdlib>/text.flow",
        include_str!("../../../stdlib/text.flow"),
    ),
];
