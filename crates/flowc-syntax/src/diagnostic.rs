//! Diagnostics as data, and their two renderings: codespan-reporting for
//! people, JSON lines for machines. This is the only module that knows
//! codespan-reporting.

use crate::source::{FileId, SourceMap, Span};
use codespan_reporting::diagnostic as cs;
use codespan_reporting::files::{Error as FilesError, Files};
use codespan_reporting::term;
use serde::Serialize;
use std::ops::Range;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Error,
    Warning,
}

/// A span with a short message, drawn under the source line.
#[derive(Clone, Debug, PartialEq)]
pub struct Label {
    pub span: Span,
    pub message: String,
}

impl Label {
    pub fn new(span: Span, message: impl Into<String>) -> Label {
        Label {
            span,
            message: message.into(),
        }
    }
}

/// One problem found in the user's files.
///
/// `code` is stable across releases (`E0101`), so CI scripts and docs can
/// refer to it; `message` says what is wrong, `hint` what to do about it.
#[derive(Clone, Debug, PartialEq)]
pub struct Diagnostic {
    pub code: &'static str,
    pub severity: Severity,
    pub message: String,
    pub primary: Label,
    pub secondary: Vec<Label>,
    pub hint: Option<String>,
}

impl Diagnostic {
    pub fn error(code: &'static str, message: impl Into<String>, primary: Label) -> Diagnostic {
        Diagnostic {
            code,
            severity: Severity::Error,
            message: message.into(),
            primary,
            secondary: Vec::new(),
            hint: None,
        }
    }

    pub fn warning(code: &'static str, message: impl Into<String>, primary: Label) -> Diagnostic {
        Diagnostic {
            severity: Severity::Warning,
            ..Diagnostic::error(code, message, primary)
        }
    }

    pub fn with_hint(mut self, hint: impl Into<String>) -> Diagnostic {
        self.hint = Some(hint.into());
        self
    }

    pub fn maybe_hint(mut self, hint: Option<String>) -> Diagnostic {
        self.hint = hint;
        self
    }

    pub fn with_label(mut self, span: Span, message: impl Into<String>) -> Diagnostic {
        self.secondary.push(Label::new(span, message));
        self
    }

    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }

    fn to_codespan(&self) -> cs::Diagnostic<FileId> {
        let severity = match self.severity {
            Severity::Error => cs::Severity::Error,
            Severity::Warning => cs::Severity::Warning,
        };
        let mut labels = vec![
            cs::Label::primary(self.primary.span.file, self.primary.span.range())
                .with_message(&self.primary.message),
        ];
        labels.extend(
            self.secondary.iter().map(|l| {
                cs::Label::secondary(l.span.file, l.span.range()).with_message(&l.message)
            }),
        );
        let notes = self.hint.iter().map(|h| format!("hint: {h}")).collect();
        cs::Diagnostic::new(severity)
            .with_code(self.code)
            .with_message(&self.message)
            .with_labels(labels)
            .with_notes(notes)
    }
}

/// Sorts diagnostics by file and position, the order people read them in.
pub fn sort(diagnostics: &mut [Diagnostic]) {
    diagnostics.sort_by(|a, b| {
        (a.primary.span.file, a.primary.span.start, a.code).cmp(&(
            b.primary.span.file,
            b.primary.span.start,
            b.code,
        ))
    });
}

impl<'a> Files<'a> for SourceMap {
    type FileId = FileId;
    type Name = &'a str;
    type Source = &'a str;

    fn name(&'a self, id: FileId) -> Result<&'a str, FilesError> {
        self.get(id)
            .map(|f| f.name.as_str())
            .ok_or(FilesError::FileMissing)
    }

    fn source(&'a self, id: FileId) -> Result<&'a str, FilesError> {
        self.get(id)
            .map(|f| f.text.as_str())
            .ok_or(FilesError::FileMissing)
    }

    fn line_index(&'a self, id: FileId, byte_index: usize) -> Result<usize, FilesError> {
        self.get(id)
            .map(|f| f.line_index(byte_index))
            .ok_or(FilesError::FileMissing)
    }

    fn line_range(&'a self, id: FileId, line_index: usize) -> Result<Range<usize>, FilesError> {
        self.get(id)
            .map(|f| f.line_range(line_index))
            .ok_or(FilesError::FileMissing)
    }
}

/// Renders diagnostics for a person: source excerpt, caret, labels, hint.
pub fn render_human(sources: &SourceMap, diagnostics: &[Diagnostic], color: bool) -> String {
    let config = term::Config::default();
    let mut out = Vec::new();
    for d in diagnostics {
        let cs = d.to_codespan();
        let written = if color {
            let mut w = term::termcolor::Ansi::new(&mut out);
            term::emit_to_write_style(&mut w, &config, sources, &cs)
        } else {
            term::emit_to_io_write(&mut out, &config, sources, &cs)
        };
        if written.is_err() {
            // A span outside its file is a bug in flowc, but the message must
            // still reach the user.
            out.extend_from_slice(
                format!("{}[{}]: {}\n", severity_word(d), d.code, d.message).as_bytes(),
            );
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn severity_word(d: &Diagnostic) -> &'static str {
    match d.severity {
        Severity::Error => "error",
        Severity::Warning => "warning",
    }
}

/// The machine-readable form of one diagnostic (`--format json`).
#[derive(Serialize, Debug, Clone, PartialEq)]
pub struct JsonDiagnostic<'a> {
    pub code: &'a str,
    pub severity: Severity,
    pub file: &'a str,
    pub line: usize,
    pub column: usize,
    pub end_line: usize,
    pub end_column: usize,
    pub message: &'a str,
    pub hint: Option<&'a str>,
}

/// Positions of a diagnostic in editor terms: file name, 1-based lines and
/// character columns.
pub fn locate<'a>(sources: &'a SourceMap, d: &'a Diagnostic) -> JsonDiagnostic<'a> {
    let span = d.primary.span;
    let (file, (line, column), (end_line, end_column)) = match sources.get(span.file) {
        Some(f) => (
            f.name.as_str(),
            f.line_col(span.start as usize),
            f.line_col(span.end as usize),
        ),
        None => ("", (0, 0), (0, 0)),
    };
    JsonDiagnostic {
        code: d.code,
        severity: d.severity,
        file,
        line,
        column,
        end_line,
        end_column,
        message: &d.message,
        hint: d.hint.as_deref(),
    }
}

/// Renders diagnostics as JSON lines: one object per diagnostic.
pub fn render_json(sources: &SourceMap, diagnostics: &[Diagnostic]) -> String {
    let mut out = String::new();
    for d in diagnostics {
        let line = serde_json::to_string(&locate(sources, d)).unwrap_or_default();
        out.push_str(&line);
        out.push('\n');
    }
    out
}

/// Escapes a GitHub workflow command's message.
fn github_data(text: &str) -> String {
    text.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// Escapes a GitHub workflow command's property value.
fn github_property(text: &str) -> String {
    github_data(text).replace(':', "%3A").replace(',', "%2C")
}

/// Renders diagnostics as GitHub Actions workflow commands, so that errors
/// show inline on the pull request (`--format github`).
pub fn render_github(sources: &SourceMap, diagnostics: &[Diagnostic]) -> String {
    let mut out = String::new();
    for d in diagnostics {
        let at = locate(sources, d);
        let kind = match d.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        let mut message = d.message.clone();
        if let Some(hint) = &d.hint {
            message.push_str(&format!("\nhint: {hint}"));
        }
        out.push_str(&format!(
            "::{kind} file={},line={},col={},endLine={},endColumn={},title={}::{}\n",
            github_property(at.file),
            at.line,
            at.column,
            at.end_line,
            at.end_column,
            github_property(&format!("flowc {}", d.code)),
            github_data(&message)
        ));
    }
    out
}

/// Renders diagnostics as a SARIF 2.1.0 log (`--format sarif`), the format
/// code-scanning tools read.
pub fn render_sarif(sources: &SourceMap, diagnostics: &[Diagnostic]) -> String {
    let mut codes: Vec<&str> = diagnostics.iter().map(|d| d.code).collect();
    codes.sort_unstable();
    codes.dedup();
    let rules: Vec<serde_json::Value> = codes
        .iter()
        .map(|code| {
            let first = diagnostics.iter().find(|d| d.code == *code);
            serde_json::json!({
                "id": code,
                "shortDescription": { "text": first.map_or("", |d| d.message.as_str()) },
                "helpUri": format!("https://github.com/flowc/flowc/blob/main/docs/diagnostics.md#{}", code.to_lowercase()),
            })
        })
        .collect();
    let results: Vec<serde_json::Value> = diagnostics
        .iter()
        .map(|d| {
            let at = locate(sources, d);
            let text = match &d.hint {
                Some(hint) => format!("{} (hint: {hint})", d.message),
                None => d.message.clone(),
            };
            serde_json::json!({
                "ruleId": d.code,
                "ruleIndex": codes.iter().position(|c| *c == d.code).unwrap_or(0),
                "level": match d.severity { Severity::Error => "error", Severity::Warning => "warning" },
                "message": { "text": text },
                "locations": [{
                    "physicalLocation": {
                        "artifactLocation": { "uri": at.file.replace('\\', "/") },
                        "region": {
                            "startLine": at.line.max(1),
                            "startColumn": at.column.max(1),
                            "endLine": at.end_line.max(1),
                            "endColumn": at.end_column.max(1),
                        }
                    }
                }],
            })
        })
        .collect();
    let log = serde_json::json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": { "driver": {
                "name": "flowc",
                "version": env!("CARGO_PKG_VERSION"),
                "informationUri": "https://github.com/flowc/flowc",
                "rules": rules,
            }},
            "results": results,
        }],
    });
    serde_json::to_string_pretty(&log).unwrap_or_default() + "\n"
}
