//! Reading SecLang configuration text into directives: line continuations, comments,
//! quoting, and the three parts of a `SecRule` (variables, operator, actions).
//!
//! This module only splits text; what the pieces mean is decided by `variables`,
//! `operators`, `actions` and `ruleset`. Every directive keeps the file and line where it
//! started, so that any later error can name them.

use std::path::{Path, PathBuf};

/// Where a directive came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    pub file: PathBuf,
    pub line: usize,
}

impl std::fmt::Display for Origin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.file.display(), self.line)
    }
}

/// A load error: file, line and what is wrong.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{origin}: {message}")]
pub struct LoadError {
    pub origin: Origin,
    pub message: String,
}

impl LoadError {
    pub fn new(origin: &Origin, message: impl Into<String>) -> LoadError {
        LoadError {
            origin: origin.clone(),
            message: message.into(),
        }
    }
}

/// One directive: its name and arguments with quotes removed.
#[derive(Debug, Clone)]
pub struct Directive {
    pub name: String,
    pub args: Vec<String>,
    pub origin: Origin,
}

/// Splits configuration text into directives. Lines ending in `\` continue on the next
/// line; `#` starts a comment only at the beginning of a (logical) line.
pub fn directives(text: &str, file: &Path) -> Result<Vec<Directive>, LoadError> {
    let mut out = Vec::new();
    let mut logical = String::new();
    let mut start_line = 0;
    for (i, line) in text.lines().enumerate() {
        let line_no = i + 1;
        if logical.is_empty() {
            start_line = line_no;
            let trimmed = line.trim_start();
            if trimmed.is_empty() || trimmed.starts_with('#') {
                continue;
            }
        }
        let line = line.strip_suffix('\r').unwrap_or(line);
        if let Some(cont) = line.strip_suffix('\\') {
            logical.push_str(cont);
            continue;
        }
        logical.push_str(line);
        let origin = Origin {
            file: file.to_path_buf(),
            line: start_line,
        };
        if let Some(d) = split_directive(&logical, &origin)? {
            out.push(d);
        }
        logical.clear();
    }
    if !logical.trim().is_empty() {
        let origin = Origin {
            file: file.to_path_buf(),
            line: start_line,
        };
        if let Some(d) = split_directive(&logical, &origin)? {
            out.push(d);
        }
    }
    Ok(out)
}

/// Splits one logical line into a directive name and its arguments. Arguments are separated
/// by whitespace; a double-quoted argument may contain whitespace, and `\"` inside it is a
/// quote (other backslashes are kept, since regexes need them).
fn split_directive(line: &str, origin: &Origin) -> Result<Option<Directive>, LoadError> {
    let mut words = Vec::new();
    let bytes = line.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        while i < bytes.len() && bytes[i].is_ascii_whitespace() {
            i += 1;
        }
        if i >= bytes.len() {
            break;
        }
        if bytes[i] == b'"' {
            i += 1;
            let mut word = Vec::new();
            let mut closed = false;
            while i < bytes.len() {
                match bytes[i] {
                    b'\\' if bytes.get(i + 1) == Some(&b'"') => {
                        word.push(b'"');
                        i += 2;
                    }
                    b'"' => {
                        closed = true;
                        i += 1;
                        break;
                    }
                    b => {
                        word.push(b);
                        i += 1;
                    }
                }
            }
            if !closed {
                return Err(LoadError::new(
                    origin,
                    "unterminated double-quoted argument",
                ));
            }
            words.push(String::from_utf8_lossy(&word).into_owned());
        } else {
            let start = i;
            while i < bytes.len() && !bytes[i].is_ascii_whitespace() {
                i += 1;
            }
            words.push(line[start..i].to_string());
        }
    }
    if words.is_empty() {
        return Ok(None);
    }
    let name = words.remove(0);
    Ok(Some(Directive {
        name,
        args: words,
        origin: origin.clone(),
    }))
}

/// Splits an action list (`id:1,phase:2,msg:'a, b',t:none`) at commas outside single
/// quotes, into `(name, argument)` pairs with one level of single quotes removed from the
/// argument.
pub fn split_actions(
    text: &str,
    origin: &Origin,
) -> Result<Vec<(String, Option<String>)>, LoadError> {
    let mut parts = Vec::new();
    let mut current = String::new();
    let mut in_quote = false;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' if in_quote => {
                // `\'` inside a quoted value is a literal quote.
                if let Some(&next) = chars.peek() {
                    if next == '\'' {
                        current.push('\\');
                        current.push('\'');
                        chars.next();
                        continue;
                    }
                }
                current.push(c);
            }
            '\'' => {
                in_quote = !in_quote;
                current.push(c);
            }
            ',' if !in_quote => {
                parts.push(std::mem::take(&mut current));
            }
            _ => current.push(c),
        }
    }
    if in_quote {
        return Err(LoadError::new(
            origin,
            format!("unterminated single quote in actions {text:?}"),
        ));
    }
    parts.push(current);
    let mut out = Vec::new();
    for part in parts {
        let part = part.trim();
        if part.is_empty() {
            continue;
        }
        match part.find(':') {
            None => out.push((part.to_string(), None)),
            Some(colon) => {
                let name = part[..colon].trim().to_string();
                let arg = unquote(part[colon + 1..].trim());
                out.push((name, Some(arg)));
            }
        }
    }
    Ok(out)
}

/// Removes one level of surrounding single quotes and unescapes `\'`.
fn unquote(s: &str) -> String {
    let inner = if s.len() >= 2 && s.starts_with('\'') && s.ends_with('\'') {
        &s[1..s.len() - 1]
    } else {
        s
    };
    inner.replace("\\'", "'")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn origin() -> Origin {
        Origin {
            file: PathBuf::from("t.conf"),
            line: 1,
        }
    }

    #[test]
    fn continuations_comments_and_quotes() {
        let text = "# comment\nSecRule ARGS \"@rx a\\\"b c\" \\\n    \"id:1,\\\n    phase:2\"\n\nSecMarker END\n";
        let ds = directives(text, Path::new("x.conf")).unwrap();
        assert_eq!(ds.len(), 2);
        assert_eq!(ds[0].name, "SecRule");
        assert_eq!(ds[0].args, vec!["ARGS", "@rx a\"b c", "id:1,    phase:2"]);
        assert_eq!(ds[0].origin.line, 2);
        assert_eq!(ds[1].args, vec!["END"]);
        assert_eq!(ds[1].origin.line, 6);
    }

    #[test]
    fn unterminated_quote_names_the_line() {
        let err = directives("\n\nSecRule ARGS \"@rx a", Path::new("bad.conf")).unwrap_err();
        assert_eq!(
            err.to_string(),
            "bad.conf:3: unterminated double-quoted argument"
        );
    }

    #[test]
    fn actions_split_outside_quotes() {
        let a = split_actions(
            "id:1, msg:'a, b: c',t:none,setvar:'tx.x=+%{tx.y}',nolog,tag:'it\\'s'",
            &origin(),
        )
        .unwrap();
        assert_eq!(a[0], ("id".into(), Some("1".into())));
        assert_eq!(a[1], ("msg".into(), Some("a, b: c".into())));
        assert_eq!(a[2], ("t".into(), Some("none".into())));
        assert_eq!(a[3], ("setvar".into(), Some("tx.x=+%{tx.y}".into())));
        assert_eq!(a[4], ("nolog".into(), None));
        assert_eq!(a[5], ("tag".into(), Some("it's".into())));
    }
}
