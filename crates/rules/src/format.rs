//! The signature list format: directories per target, one pattern per line, `#@` directives.

use std::fmt;
use std::path::{Path, PathBuf};

use palisade_engine::Severity;
use palisade_http::Transform;

/// Where a list's patterns are matched.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Target {
    /// The raw request target (path and query).
    Url,
    /// The `User-Agent` header.
    Agents,
    /// Every argument name and value, cookie, and user-controlled header value.
    Args,
    /// The raw request body (text types).
    Body,
    /// Every request header value.
    Headers,
    /// The response body (text types).
    Response,
}

impl Target {
    pub const ALL: [Target; 6] = [
        Target::Url,
        Target::Agents,
        Target::Args,
        Target::Body,
        Target::Headers,
        Target::Response,
    ];

    pub fn dir_name(self) -> &'static str {
        match self {
            Target::Url => "url",
            Target::Agents => "agents",
            Target::Args => "args",
            Target::Body => "body",
            Target::Headers => "headers",
            Target::Response => "response",
        }
    }

    pub fn from_dir_name(name: &str) -> Option<Target> {
        Target::ALL.into_iter().find(|t| t.dir_name() == name)
    }

    pub(crate) fn bit(self) -> u8 {
        1 << (self as u8)
    }
}

/// How a file's lines are read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileKind {
    /// `*.txt`: literal substrings.
    Literal,
    /// `*.re`: regular expressions (Rust `regex` syntax, case-insensitive, ASCII classes).
    Regex,
    /// `*.list`: the bad-user-agent list format: regex-escaped tokens, matched on word
    /// boundaries (`\bTOKEN\b`).
    EscapedWords,
}

impl FileKind {
    pub fn from_path(path: &str) -> Option<FileKind> {
        if path.ends_with(".re") {
            Some(FileKind::Regex)
        } else if path.ends_with(".txt") {
            Some(FileKind::Literal)
        } else if path.ends_with(".list") {
            Some(FileKind::EscapedWords)
        } else {
            None
        }
    }
}

/// One signature file, already read into memory.
#[derive(Debug, Clone)]
pub struct SignatureSource {
    /// Prefix of rule ids and error messages, e.g. `builtin:args/sqli.re`.
    pub label: String,
    /// Where the file came from, for error messages.
    pub origin: PathBuf,
    pub target: Target,
    pub kind: FileKind,
    pub text: String,
}

/// A load failure, naming the file and line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadError {
    pub file: PathBuf,
    pub line: usize,
    pub message: String,
}

impl fmt::Display for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line > 0 {
            write!(f, "{}:{}: {}", self.file.display(), self.line, self.message)
        } else {
            write!(f, "{}: {}", self.file.display(), self.message)
        }
    }
}

impl std::error::Error for LoadError {}

/// One pattern with the metadata in force on its line.
#[derive(Debug, Clone)]
pub(crate) struct PatternSpec {
    pub id: String,
    pub origin: PathBuf,
    pub line: usize,
    pub regex: String,
    pub literal: Option<String>,
    pub target: Target,
    pub pipeline: Vec<Transform>,
    pub category: String,
    pub severity: Severity,
    pub message: String,
    pub paranoia: u8,
}

/// The pipeline `default` expands to.
pub(crate) const DEFAULT_PIPELINE: &[&str] = &[
    "urlDecodeUni",
    "htmlEntityDecode",
    "jsDecode",
    "cssDecode",
    "removeNulls",
    "unicodeNormalize",
    "compressWhitespace",
];

/// The transformations of a `#@ transforms:` list (`default` expanded, `none` clears, case
/// steps dropped: matching ignores ASCII case).
pub fn parse_pipeline(spec: &str) -> Result<Vec<Transform>, String> {
    let mut out = Vec::new();
    for name in spec.split(|c: char| c.is_whitespace() || c == ',') {
        let name = name.trim().trim_start_matches("t:");
        if name.is_empty() {
            continue;
        }
        if name.eq_ignore_ascii_case("default") {
            for n in DEFAULT_PIPELINE {
                out.push(
                    Transform::from_name(n)
                        .ok_or_else(|| format!("built-in transformation {n} is missing"))?,
                );
            }
        } else if name.eq_ignore_ascii_case("none") {
            out.clear();
        } else if name.eq_ignore_ascii_case("lowercase") || name.eq_ignore_ascii_case("uppercase") {
            // Signatures always match case-insensitively: a case step would only cost a
            // copy of every value.
            continue;
        } else {
            out.push(
                Transform::from_name(name)
                    .ok_or_else(|| format!("unknown transformation {name:?}"))?,
            );
        }
    }
    Ok(out)
}

/// Turns a file's lines into pattern specs, applying `#@` directives.
pub(crate) fn parse_source(source: &SignatureSource) -> Result<Vec<PatternSpec>, LoadError> {
    let err = |line: usize, message: String| LoadError {
        file: source.origin.clone(),
        line,
        message,
    };
    let default_pipeline = parse_pipeline("default").map_err(|m| err(0, m))?;
    let mut pipeline = if source.kind == FileKind::EscapedWords {
        // User-agent lists match the header as sent.
        Vec::new()
    } else {
        default_pipeline
    };
    let stem = source
        .label
        .rsplit('/')
        .next()
        .unwrap_or(&source.label)
        .split('.')
        .next()
        .unwrap_or("")
        .to_string();
    let mut category = stem.clone();
    let mut severity = if source.target == Target::Response {
        Severity::Error
    } else {
        Severity::Critical
    };
    let mut message = format!("{} signature", stem);
    let mut paranoia = 1u8;
    let mut specs = Vec::new();
    for (index, raw_line) in source.text.lines().enumerate() {
        let line_no = index + 1;
        let line = raw_line.trim();
        if let Some(directive) = line.strip_prefix("#@") {
            let (key, value) = directive
                .split_once(':')
                .ok_or_else(|| err(line_no, "directive must look like `#@ key: value`".into()))?;
            let value = value.trim();
            match key.trim().to_ascii_lowercase().as_str() {
                "category" => category = value.to_string(),
                "message" => message = value.to_string(),
                "severity" => {
                    severity = Severity::parse(value).ok_or_else(|| {
                        err(
                            line_no,
                            format!(
                                "unknown severity {value:?} (critical, error, warning, notice)"
                            ),
                        )
                    })?
                }
                "paranoia" => {
                    paranoia = value
                        .parse::<u8>()
                        .ok()
                        .filter(|p| (1..=4).contains(p))
                        .ok_or_else(|| {
                            err(line_no, format!("paranoia must be 1-4, got {value:?}"))
                        })?
                }
                "transforms" => pipeline = parse_pipeline(value).map_err(|m| err(line_no, m))?,
                other => return Err(err(line_no, format!("unknown directive {other:?}"))),
            }
            continue;
        }
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (regex, literal) = match source.kind {
            FileKind::Literal => (regex::escape(line), Some(line.to_string())),
            FileKind::Regex => (line.to_string(), None),
            FileKind::EscapedWords => (format!(r"\b{line}\b"), None),
        };
        specs.push(PatternSpec {
            id: format!("{}:{}", source.label, line_no),
            origin: source.origin.clone(),
            line: line_no,
            regex,
            literal,
            target: source.target,
            pipeline: pipeline.clone(),
            category: category.clone(),
            severity,
            message: message.clone(),
            paranoia,
        });
    }
    Ok(specs)
}

/// Reads a signature directory: `DIR/<target>/<file>` for each known target directory.
/// `label_prefix` is prepended to rule ids (empty for user directories).
pub(crate) fn read_dir(dir: &Path, label_prefix: &str) -> Result<Vec<SignatureSource>, LoadError> {
    let io_err = |path: &Path, e: std::io::Error| LoadError {
        file: path.to_path_buf(),
        line: 0,
        message: e.to_string(),
    };
    let mut sources = Vec::new();
    let entries = std::fs::read_dir(dir).map_err(|e| io_err(dir, e))?;
    let mut subdirs: Vec<PathBuf> = entries.flatten().map(|e| e.path()).collect();
    subdirs.sort();
    for sub in subdirs {
        if !sub.is_dir() {
            continue;
        }
        let name = sub
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let Some(target) = Target::from_dir_name(&name) else {
            return Err(LoadError {
                file: sub.clone(),
                line: 0,
                message: format!(
                    "unknown target directory {name:?} (expected url, agents, args, body, headers, response)"
                ),
            });
        };
        let mut files: Vec<PathBuf> = std::fs::read_dir(&sub)
            .map_err(|e| io_err(&sub, e))?
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.is_file())
            .collect();
        files.sort();
        for file in files {
            let file_name = file
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            let Some(kind) = FileKind::from_path(&file_name) else {
                continue;
            };
            let text = std::fs::read_to_string(&file).map_err(|e| io_err(&file, e))?;
            sources.push(SignatureSource {
                label: format!("{label_prefix}{name}/{file_name}"),
                origin: file.clone(),
                target,
                kind,
                text,
            });
        }
    }
    Ok(sources)
}
