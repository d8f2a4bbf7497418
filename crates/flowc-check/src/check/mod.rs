//! Name resolution and type checking: AST + schema → typed IR, plus problems.
//!
//! The checker never stops at the first problem: every declaration is
//! checked, a name that failed to resolve gets the type `Error` (which fits
//! anywhere), and all problems come back sorted by position.
//!
//! Order of work: [`collect`] registers every name, [`declare`] resolves
//! the schema (records, lists, function signatures), then expressions,
//! segments, templates, functions, rules and tests are checked, and finally
//! [`graph`] looks for cycles between functions and between rules.

mod aggregate;
mod builtins;
mod calendar;
mod calendars;
mod collect;
mod declare;
mod events;
mod expr;
mod forms;
mod graph;
mod nulls;
mod operators;
mod placeholders;
mod problems;
mod rules;
mod scope;
mod sender;
mod templates;
mod test_blocks;

pub use problems::{NameKind, Problem};

use crate::ir::{self, Program};
use flowc_syntax::diagnostic::Diagnostic;
use flowc_syntax::source::{FileId, SourceMap, Span};
use flowc_syntax::syntax::ast;
use std::collections::{HashMap, HashSet};

/// Everything the checker reads. It touches no file: template files are
/// read by the loader and handed over here as source files.
pub struct Input<'a> {
    pub sources: &'a SourceMap,
    /// Each parsed file, the standard library's first.
    pub modules: Vec<Module<'a>>,
    /// `(keyword, name)` of declarations that failed to parse.
    pub broken: Vec<(String, String)>,
    /// `file "path"` in a template, keyed by the declaring file and the path
    /// as written: the loaded file, or why it could not be read.
    pub template_files: &'a HashMap<(FileId, String), Result<FileId, TemplateFileError>>,
    /// An extra expression to check as if written in a rule for the named
    /// record (`flowc eval`, expression tests).
    pub probe: Option<(&'a str, &'a ast::Expr)>,
}

/// Why the file a template names could not be used.
#[derive(Clone, Debug, PartialEq)]
pub enum TemplateFileError {
    /// Missing, unreadable, or not kept with an old version: why.
    Unreadable(String),
    /// The file's bytes are not UTF-8; `encoding` is the one they look
    /// like (`Shift_JIS`, `EUC-JP`, `UTF-16`) when that can be told.
    NotUtf8 { encoding: Option<&'static str> },
}

impl TemplateFileError {
    /// For bytes that are not UTF-8: the Japanese encoding or UTF-16 they
    /// are written in, when their structure says so.
    pub fn not_utf8(bytes: &[u8]) -> TemplateFileError {
        let encoding = if bytes.starts_with(&[0xFF, 0xFE]) || bytes.starts_with(&[0xFE, 0xFF]) {
            Some("UTF-16")
        } else if is_euc_jp(bytes) {
            Some("EUC-JP")
        } else if is_shift_jis(bytes) {
            Some("Shift_JIS")
        } else {
            None
        };
        TemplateFileError::NotUtf8 { encoding }
    }
}

/// Whether every byte sequence is ASCII or a Shift_JIS character.
fn is_shift_jis(bytes: &[u8]) -> bool {
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            0x00..=0x7F | 0xA1..=0xDF => i += 1,
            0x81..=0x9F | 0xE0..=0xFC => match bytes.get(i + 1) {
                Some(0x40..=0x7E | 0x80..=0xFC) => i += 2,
                _ => return false,
            },
            _ => return false,
        }
    }
    true
}

/// Whether every byte sequence is ASCII or an EUC-JP character.
fn is_euc_jp(bytes: &[u8]) -> bool {
    let trail = |b: Option<&u8>| matches!(b, Some(0xA1..=0xFE));
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            0x00..=0x7F => i += 1,
            0x8E if matches!(bytes.get(i + 1), Some(0xA1..=0xDF)) => i += 2,
            0x8F if trail(bytes.get(i + 1)) && trail(bytes.get(i + 2)) => i += 3,
            0xA1..=0xFE if trail(bytes.get(i + 1)) => i += 2,
            _ => return false,
        }
    }
    true
}

/// One parsed file and whether it belongs to the standard library.
pub struct Module<'a> {
    pub file: FileId,
    pub ast: &'a ast::Module,
    pub stdlib: bool,
}

/// The checker's answer: the program (usable even when there are errors,
/// with failed parts typed `Error`) and the problems found.
pub struct Checked {
    pub program: Program,
    pub diagnostics: Vec<Diagnostic>,
    /// The checked [`Input::probe`], if one was given.
    pub probe: Option<ir::Expr>,
}

impl Checked {
    pub fn has_errors(&self) -> bool {
        self.diagnostics.iter().any(Diagnostic::is_error)
    }
}

/// Checks a whole project.
pub fn check(input: &Input) -> Checked {
    let mut cx = Checker::new(input);
    let decls = collect::collect(&mut cx, input);
    declare::declare(&mut cx, &decls);
    cx.declare_calendars(&decls.calendars);
    events::declare_events(&mut cx, &decls.events);
    let mut program = cx.check_bodies(&decls);
    let probe = input.probe.map(|(record, e)| {
        let subject = cx.names.types.get(record).copied();
        cx.schema = std::mem::take(&mut program.schema);
        let typed = match subject {
            Some(TypeDecl::Record(r)) => {
                // A probe may use everything a rule could: `old`, `event`.
                let mut scope = scope::Scope::for_subject(record, r);
                scope.old = Some(r);
                scope.event = true;
                cx.expr(e, &mut scope)
            }
            _ => {
                let mut scope = scope::Scope::for_function(&[]);
                cx.expr(e, &mut scope)
            }
        };
        program.schema = std::mem::take(&mut cx.schema);
        typed
    });
    let mut diagnostics: Vec<Diagnostic> = cx.problems.iter().map(Problem::to_diagnostic).collect();
    flowc_syntax::diagnostic::sort(&mut diagnostics);
    diagnostics.dedup();
    Checked {
        program,
        diagnostics,
        probe,
    }
}

/// The declarations of a project grouped by kind, in id order.
#[derive(Default)]
pub(crate) struct Decls<'a> {
    pub timezones: Vec<&'a ast::TimezoneDecl>,
    pub senders: Vec<&'a ast::SenderDecl>,
    pub enums: Vec<&'a ast::EnumDecl>,
    pub records: Vec<&'a ast::RecordDecl>,
    pub lists: Vec<&'a ast::ListDecl>,
    pub segments: Vec<&'a ast::SegmentDecl>,
    pub templates: Vec<(&'a ast::TemplateDecl, FileId)>,
    pub calendars: Vec<(&'a ast::CalendarDecl, FileId)>,
    pub events: Vec<&'a ast::EventDecl>,
    pub forms: Vec<&'a ast::FormDecl>,
    pub functions: Vec<(&'a ast::FnDecl, bool)>,
    pub rules: Vec<&'a ast::RuleDecl>,
    pub tests: Vec<&'a ast::TestDecl>,
}

/// An expression that already failed to check: typed `Error`, fits anywhere.
pub(crate) fn error_expr(span: Span) -> ir::Expr {
    ir::Expr::new(ir::ExprKind::Lit(ir::Literal::Null), ir::Ty::ERROR, span)
}

/// A declaration's name in its namespace, with where it was declared.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum TypeDecl {
    Enum(ir::EnumId),
    Record(ir::RecordId),
}

/// Every name the project declares, per namespace.
#[derive(Default)]
pub(crate) struct Names {
    pub types: HashMap<String, TypeDecl>,
    pub lists: HashMap<String, ir::ListId>,
    pub segments: HashMap<String, ir::SegmentId>,
    pub templates: HashMap<String, ir::TemplateId>,
    pub functions: HashMap<String, ir::FnId>,
    pub rules: HashMap<String, ir::RuleId>,
}

/// A function's signature, known before any body is checked.
#[derive(Clone, Debug)]
pub(crate) struct FnSig {
    pub name: String,
    pub params: Vec<(String, ir::Ty)>,
    pub ret: ir::Ty,
    pub stdlib: bool,
}

pub(crate) struct Checker<'a> {
    pub sources: &'a SourceMap,
    pub schema: ir::Schema,
    pub names: Names,
    pub fns: Vec<FnSig>,
    pub templates: Vec<templates::TemplateSource>,
    pub problems: Vec<Problem>,
    /// Names whose declarations failed to parse: not reported as unknown.
    pub broken: HashSet<String>,
    /// The record each rule runs for, by `RuleId` (known once rules are checked).
    pub rule_subjects: Vec<ir::RecordId>,
    template_files: &'a HashMap<(FileId, String), Result<FileId, TemplateFileError>>,
}

impl<'a> Checker<'a> {
    fn new(input: &Input<'a>) -> Checker<'a> {
        Checker {
            sources: input.sources,
            schema: ir::Schema::default(),
            names: Names::default(),
            fns: Vec::new(),
            templates: Vec::new(),
            problems: Vec::new(),
            broken: input.broken.iter().map(|(_, n)| n.clone()).collect(),
            rule_subjects: Vec::new(),
            template_files: input.template_files,
        }
    }

    /// The file a template's `file "path"` names, as the loader read it.
    pub fn template_file(
        &self,
        declared_in: FileId,
        path: &str,
    ) -> Result<FileId, TemplateFileError> {
        self.template_files
            .get(&(declared_in, path.to_string()))
            .cloned()
            .unwrap_or_else(|| {
                Err(TemplateFileError::Unreadable(
                    "the file was not loaded".into(),
                ))
            })
    }

    pub fn report(&mut self, problem: Problem) {
        self.problems.push(problem);
    }

    /// Reports an unknown name unless its declaration merely failed to parse.
    pub fn unknown(
        &mut self,
        span: Span,
        kind: NameKind,
        name: &str,
        candidates: Vec<String>,
        hint: Option<String>,
    ) {
        if self.broken.contains(name) {
            return;
        }
        let suggestion =
            flowc_syntax::suggest::closest(name, candidates.iter().map(String::as_str))
                .map(str::to_string);
        self.report(Problem::UnknownName {
            span,
            kind,
            name: name.to_string(),
            suggestion,
            hint,
        });
    }

    fn check_bodies(&mut self, decls: &Decls) -> Program {
        let segments = decls
            .segments
            .iter()
            .map(|s| self.check_segment(s))
            .collect::<Vec<_>>();
        for (i, seg) in segments.into_iter().enumerate() {
            self.schema.segments[i].condition = seg;
        }
        let functions = decls
            .functions
            .iter()
            .enumerate()
            .map(|(i, (f, _))| self.check_fn(ir::FnId(i as u32), f))
            .collect::<Vec<_>>();
        graph::function_cycles(self, &functions, decls);
        let rules = decls
            .rules
            .iter()
            .map(|r| rules::check_rule(self, r))
            .collect::<Vec<_>>();
        graph::rule_cycles(self, &rules);
        rules::becomes_and_time(self, &rules, &functions);
        self.rule_subjects = rules.iter().map(|r| r.subject).collect();
        let tests = decls
            .tests
            .iter()
            .map(|t| test_blocks::check_test(self, t))
            .collect::<Vec<_>>();
        test_blocks::refusals(self, &rules, &tests);
        let forms = forms::check_forms(self, &decls.forms);
        Program {
            schema: std::mem::take(&mut self.schema),
            functions,
            rules,
            tests,
            forms,
        }
    }

    fn check_segment(&mut self, decl: &ast::SegmentDecl) -> ir::Expr {
        let Some(TypeDecl::Record(record)) = self.names.types.get(&decl.of.name).copied() else {
            return error_expr(decl.condition.span);
        };
        let mut scope = scope::Scope::for_subject(&decl.of.name, record);
        self.condition(&decl.condition, &mut scope, "a segment's condition")
    }

    fn check_fn(&mut self, id: ir::FnId, decl: &ast::FnDecl) -> ir::FnDef {
        let sig = self.fns[id.index()].clone();
        let mut scope = scope::Scope::for_function(&sig.params);
        let body = self.expr(&decl.body, &mut scope);
        let body = self.coerce(body, sig.ret, "the function's result", None);
        ir::FnDef {
            name: sig.name,
            params: sig.params,
            ret: sig.ret,
            body,
            span: decl.span,
            builtin_library: sig.stdlib,
        }
    }
}
