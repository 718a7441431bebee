//! A finding: one detector's report about one location of a request or response.

use serde::Serialize;

/// CRS severities and their anomaly scores.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Notice,
    Warning,
    Error,
    Critical,
}

impl Severity {
    /// Anomaly points, as in the OWASP CRS (critical 5, error 4, warning 3, notice 2).
    pub fn score(self) -> u32 {
        match self {
            Severity::Critical => 5,
            Severity::Error => 4,
            Severity::Warning => 3,
            Severity::Notice => 2,
        }
    }

    pub fn parse(name: &str) -> Option<Severity> {
        match name.trim().to_ascii_lowercase().as_str() {
            "critical" | "2" => Some(Severity::Critical),
            "error" | "3" => Some(Severity::Error),
            "warning" | "4" => Some(Severity::Warning),
            "notice" | "5" => Some(Severity::Notice),
            _ => None,
        }
    }
}

/// Longest excerpt kept in a finding, in bytes of the source value.
pub const EXCERPT_MAX: usize = 120;

#[derive(Debug, Clone, Serialize)]
pub struct Finding {
    /// Rule id: `args/sqli.re:12`, a CRS id, `body-parse-error`, ...
    pub id: String,
    /// The detector that raised it.
    pub source: String,
    pub message: String,
    pub category: String,
    pub severity: Severity,
    pub score: u32,
    /// Where it matched, in ModSecurity variable syntax: `ARGS:q`, `REQUEST_HEADERS:User-Agent`.
    pub target: String,
    /// The matched text (truncated, lossy UTF-8). Redacted in the audit log for secret targets.
    pub excerpt: String,
    pub paranoia: u8,
}

impl Finding {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        id: &str,
        source: &str,
        message: &str,
        category: &str,
        severity: Severity,
        target: &str,
        matched: &[u8],
        paranoia: u8,
    ) -> Finding {
        Finding {
            id: id.to_string(),
            source: source.to_string(),
            message: message.to_string(),
            category: category.to_string(),
            severity,
            score: severity.score(),
            target: target.to_string(),
            excerpt: excerpt(matched),
            paranoia,
        }
    }
}

/// Lossy, truncated, control characters escaped: safe to print and to log.
pub fn excerpt(bytes: &[u8]) -> String {
    let cut = &bytes[..bytes.len().min(EXCERPT_MAX)];
    let mut out = String::with_capacity(cut.len());
    for ch in String::from_utf8_lossy(cut).chars() {
        if ch.is_control() {
            out.extend(ch.escape_default());
        } else {
            out.push(ch);
        }
    }
    if bytes.len() > EXCERPT_MAX {
        out.push('…');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn excerpt_truncates_and_escapes_controls() {
        assert_eq!(excerpt(b"a\r\nb"), "a\\r\\nb");
        let long = vec![b'x'; 500];
        let e = excerpt(&long);
        assert!(e.ends_with('…'));
        assert_eq!(e.chars().count(), EXCERPT_MAX + 1);
    }
}
