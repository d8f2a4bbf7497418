//! Loading a project: finding its `.flow` files, reading them and the
//! template files they name, parsing, and handing everything to the checker.
//! The only part of the front end that touches the file system.

use crate::check::{self, Checked, TemplateFileError};
use flowc_syntax::diagnostic::{self, Diagnostic};
use flowc_syntax::source::{FileId, SourceMap};
use flowc_syntax::syntax::{self, Parsed, ast};
use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};

/// A loaded, parsed project.
pub struct Project {
    pub sources: SourceMap,
    pub files: Vec<LoadedFile>,
    pub template_files: HashMap<(FileId, String), Result<FileId, TemplateFileError>>,
}

pub struct LoadedFile {
    pub file: FileId,
    pub parsed: Parsed,
    pub stdlib: bool,
    /// Where it was read from (`None` for the standard library and tests).
    pub path: Option<PathBuf>,
}

/// Why a project could not be read at all.
#[derive(Debug)]
pub enum LoadError {
    NotFound(PathBuf),
    Unreadable(PathBuf, std::io::Error),
    NoFlowFiles(PathBuf),
}

impl fmt::Display for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LoadError::NotFound(p) => write!(f, "{}: no such file or folder", p.display()),
            LoadError::Unreadable(p, e) => write!(f, "{}: {e}", p.display()),
            LoadError::NoFlowFiles(p) => write!(f, "{}: no .flow files found", p.display()),
        }
    }
}

impl std::error::Error for LoadError {}

/// The `.flow` files named by `paths` (folders are searched recursively),
/// in a stable order.
pub fn flow_files(paths: &[PathBuf]) -> Result<Vec<PathBuf>, LoadError> {
    let mut out = Vec::new();
    for path in paths {
        if path.is_dir() {
            let before = out.len();
            walk(path, &mut out)?;
            if out.len() == before {
                return Err(LoadError::NoFlowFiles(path.clone()));
            }
        } else if path.is_file() {
            out.push(path.clone());
        } else {
            return Err(LoadError::NotFound(path.clone()));
        }
    }
    Ok(out)
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) -> Result<(), LoadError> {
    let entries =
        std::fs::read_dir(dir).map_err(|e| LoadError::Unreadable(dir.to_path_buf(), e))?;
    let mut paths: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
    paths.sort();
    for path in paths {
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
        if name.starts_with('.') || name == "target" || name == "node_modules" {
            continue;
        }
        if path.is_dir() {
            walk(&path, out)?;
        } else if path.extension().is_some_and(|e| e == "flow") {
            out.push(path);
        }
    }
    Ok(())
}

impl Project {
    /// Loads the project made of `paths` (the current folder if empty).
    pub fn load(paths: &[PathBuf]) -> Result<Project, LoadError> {
        let default = [PathBuf::from(".")];
        let paths = if paths.is_empty() {
            &default[..]
        } else {
            paths
        };
        let mut texts = Vec::new();
        for path in flow_files(paths)? {
            let text = std::fs::read_to_string(&path)
                .map_err(|e| LoadError::Unreadable(path.clone(), e))?;
            texts.push((path, text));
        }
        Ok(Project::build(texts.into_iter().map(|(p, t)| (Some(p), t))))
    }

    /// A project from texts in memory (tests, `flowc test` fixtures).
    pub fn from_texts<'a>(files: impl IntoIterator<Item = (&'a str, &'a str)>) -> Project {
        let files: Vec<(String, String)> = files
            .into_iter()
            .map(|(n, t)| (n.to_string(), t.to_string()))
            .collect();
        let mut project = Project::empty();
        for (name, text) in files {
            project.add(name, text, None, false);
        }
        project
    }

    fn empty() -> Project {
        let mut project = Project {
            sources: SourceMap::new(),
            files: Vec::new(),
            template_files: HashMap::new(),
        };
        for (name, text) in crate::stdlib::FILES {
            project.add(name.to_string(), text.to_string(), None, true);
        }
        project
    }

    fn build(files: impl Iterator<Item = (Option<PathBuf>, String)>) -> Project {
        let mut project = Project::empty();
        for (path, text) in files {
            let name = path.as_ref().map(|p| display_path(p)).unwrap_or_default();
            project.add(name, text, path, false);
        }
        project
    }

    /// Everything a rule version needs to be rebuilt later: every user
    /// `.flow` file and every template file they name, as they are now
    /// (kept in `flow_versions`, so that a waiting run can finish on its
    /// old version after the files change).
    pub fn snapshot(&self) -> String {
        let files: Vec<serde_json::Value> = self
            .user_files()
            .map(|f| {
                let source = self.sources.file(f.file);
                serde_json::json!({ "name": source.name, "text": source.text })
            })
            .collect();
        let mut templates: Vec<serde_json::Value> = self
            .template_files
            .iter()
            .filter_map(|((file, wanted), loaded)| {
                let loaded = loaded.as_ref().ok()?;
                Some(serde_json::json!({
                    "file": self.sources.file(*file).name,
                    "path": wanted,
                    "text": self.sources.file(*loaded).text,
                }))
            })
            .collect();
        templates.sort_by_key(|t| (t["file"].to_string(), t["path"].to_string()));
        serde_json::json!({ "snapshot": 1, "files": files, "templates": templates }).to_string()
    }

    /// A project rebuilt from [`Project::snapshot`]'s text; `None` if the
    /// text is not a snapshot (versions kept before snapshots existed
    /// hold the `.flow` files' text only).
    pub fn from_snapshot(text: &str) -> Option<Project> {
        let json: serde_json::Value = serde_json::from_str(text).ok()?;
        json.get("snapshot")?;
        let mut templates = HashMap::new();
        for t in json.get("templates")?.as_array()? {
            let key = (
                t.get("file")?.as_str()?.to_string(),
                t.get("path")?.as_str()?.to_string(),
            );
            templates.insert(key, t.get("text")?.as_str()?.to_string());
        }
        let mut project = Project::empty();
        for f in json.get("files")?.as_array()? {
            let name = f.get("name")?.as_str()?.to_string();
            let text = f.get("text")?.as_str()?.to_string();
            project.add_from(name, text, false, &Templates::Kept(&templates));
        }
        Some(project)
    }

    fn add(&mut self, name: String, text: String, path: Option<PathBuf>, stdlib: bool) {
        self.add_from(name, text, stdlib, &Templates::Disk(path));
    }

    fn add_from(&mut self, name: String, text: String, stdlib: bool, templates: &Templates) {
        let path = match templates {
            Templates::Disk(path) => path.clone(),
            Templates::Kept(_) => None,
        };
        let file = self.sources.add(name, text);
        let parsed = syntax::parse(file, &self.sources.file(file).text);
        let wanted = template_paths(&parsed.module);
        self.files.push(LoadedFile {
            file,
            parsed,
            stdlib,
            path: path.clone(),
        });
        for wanted_path in wanted {
            let loaded = match (templates, &path) {
                (Templates::Kept(kept), _) => {
                    let key = (self.sources.file(file).name.clone(), wanted_path.clone());
                    match kept.get(&key) {
                        Some(text) => Ok(self.sources.add(wanted_path.clone(), text.clone())),
                        None => Err(TemplateFileError::Unreadable(format!(
                            "{wanted_path} was not kept with this version"
                        ))),
                    }
                }
                (Templates::Disk(_), None) => Err(TemplateFileError::Unreadable(
                    "templates in files need a project on disk".to_string(),
                )),
                (Templates::Disk(_), Some(p)) => {
                    let full = p.parent().unwrap_or(Path::new(".")).join(&wanted_path);
                    match std::fs::read(&full).map(String::from_utf8) {
                        Ok(Ok(text)) => Ok(self.sources.add(display_path(&full), text)),
                        Ok(Err(e)) => Err(TemplateFileError::not_utf8(e.as_bytes())),
                        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                            Err(TemplateFileError::Unreadable(format!(
                                "no file at {}",
                                display_path(&full)
                            )))
                        }
                        Err(e) => Err(TemplateFileError::Unreadable(e.to_string())),
                    }
                }
            };
            self.template_files.insert((file, wanted_path), loaded);
        }
    }

    /// Parses and checks everything: the program and every diagnostic,
    /// syntax errors included, sorted by position.
    pub fn check(&self) -> Checked {
        self.check_with(None)
    }

    /// Checks the project and one expression written as if in a rule for
    /// `subject` (a record name); the expression's problems are among the
    /// diagnostics, and its typed form is in `Checked::probe`.
    pub fn check_expression(&mut self, subject: &str, expr: &str) -> Checked {
        let wrapper = format!("fn probe() -> int =\n{expr}\n");
        let file = self.sources.add("<expression>", wrapper);
        let parsed = syntax::parse(file, &self.sources.file(file).text);
        let body = parsed.module.items.iter().find_map(|i| match i {
            ast::Item::Fn(f) => Some(f.body.clone()),
            _ => None,
        });
        let mut checked = match &body {
            Some(body) => self.check_with(Some((subject, body))),
            None => self.check_with(None),
        };
        checked
            .diagnostics
            .extend(parsed.errors.iter().map(|e| e.to_diagnostic()));
        checked
    }

    fn check_with(&self, probe: Option<(&str, &ast::Expr)>) -> Checked {
        let input = check::Input {
            sources: &self.sources,
            modules: self
                .files
                .iter()
                .map(|f| check::Module {
                    file: f.file,
                    ast: &f.parsed.module,
                    stdlib: f.stdlib,
                })
                .collect(),
            broken: self
                .files
                .iter()
                .flat_map(|f| f.parsed.broken.iter().cloned())
                .collect(),
            template_files: &self.template_files,
            probe,
        };
        let mut checked = check::check(&input);
        let syntax: Vec<Diagnostic> = self
            .files
            .iter()
            .flat_map(|f| f.parsed.errors.iter().map(|e| e.to_diagnostic()))
            .collect();
        checked.diagnostics.extend(syntax);
        diagnostic::sort(&mut checked.diagnostics);
        checked
    }

    /// The user's files (not the standard library).
    pub fn user_files(&self) -> impl Iterator<Item = &LoadedFile> {
        self.files.iter().filter(|f| !f.stdlib)
    }
}

/// Where a project's template files come from.
enum Templates<'a> {
    /// Beside the `.flow` file at this path (none: a project in memory).
    Disk(Option<PathBuf>),
    /// From a snapshot: text by (`.flow` file name, path as written).
    Kept(&'a HashMap<(String, String), String>),
}

fn display_path(p: &Path) -> String {
    let s = p.display().to_string();
    s.strip_prefix("./").map(str::to_string).unwrap_or(s)
}

fn template_paths(module: &ast::Module) -> Vec<String> {
    let mut out = Vec::new();
    for item in &module.items {
        if let ast::Item::Template(t) = item {
            for f in &t.fields {
                if let ast::TemplateText::File(path) = &f.value {
                    out.push(path.value.clone());
                }
            }
        }
        // A calendar's holiday files are read and kept as template files are.
        if let ast::Item::Calendar(c) = item {
            for f in &c.fields {
                for i in &f.items {
                    if let ast::CalendarItem::File(path) = i {
                        out.push(path.value.clone());
                    }
                }
            }
        }
    }
    out
}
