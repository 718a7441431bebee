//! The audit record: one JSON line per blocked or flagged request, with secrets redacted.
//!
//! Redaction happens here, once, so every consumer (the audit log, `palisade check`) gets the
//! same safe view: `Authorization`-like headers, every cookie value and arguments whose name
//! looks like a secret never leave the process in clear.

use serde::Serialize;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use crate::finding::Finding;
use crate::{Action, Mode, Verdict};
use palisade_http::RequestModel;

pub const REDACTED: &str = "[redacted]";

/// `name=value`, `"name": "value"`, `name: value` inside free text (bodies, URIs).
static KEY_VALUE: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
    regex::Regex::new(r#"([A-Za-z0-9_.\[\]-]+)("?\s*[:=]\s*"?)([^&"\s,;}]*)"#)
        .expect("static regex is valid")
});

/// Which values count as secrets.
#[derive(Debug, Clone)]
pub struct Redactor {
    /// Lowercased header names whose values are always redacted.
    headers: Vec<String>,
    /// Lowercased substrings: an argument whose name contains one is redacted.
    arg_name_parts: Vec<String>,
}

impl Default for Redactor {
    fn default() -> Self {
        Redactor::new(&[])
    }
}

impl Redactor {
    /// `extra` adds argument-name substrings (from the config's `redact_args`).
    pub fn new(extra: &[String]) -> Redactor {
        let mut arg_name_parts: Vec<String> = [
            "pass",
            "pwd",
            "secret",
            "token",
            "api_key",
            "apikey",
            "auth",
            "session",
            "credential",
            "private_key",
            "otp",
            "ssn",
            "card",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        arg_name_parts.extend(extra.iter().map(|s| s.to_ascii_lowercase()));
        Redactor {
            headers: [
                "authorization",
                "proxy-authorization",
                "cookie",
                "set-cookie",
                "x-api-key",
                "x-auth-token",
                "x-csrf-token",
            ]
            .iter()
            .map(|s| s.to_string())
            .collect(),
            arg_name_parts,
        }
    }

    pub fn is_secret_arg(&self, name: &str) -> bool {
        let lower = name.to_ascii_lowercase();
        self.arg_name_parts
            .iter()
            .any(|p| lower.contains(p.as_str()))
    }

    pub fn is_secret_header(&self, name: &str) -> bool {
        self.headers.iter().any(|h| h.eq_ignore_ascii_case(name))
    }

    /// Whether the value at a finding's target must not be logged.
    pub fn is_secret_target(&self, target: &str) -> bool {
        let (collection, name) = target.split_once(':').unwrap_or((target, ""));
        match collection {
            "REQUEST_COOKIES" | "REQUEST_COOKIES_NAMES" => collection == "REQUEST_COOKIES",
            "REQUEST_HEADERS" => self.is_secret_header(name),
            "ARGS" | "ARGS_GET" | "ARGS_POST" => self.is_secret_arg(name),
            _ => false,
        }
    }

    /// Replaces the values of secret-named `key=value` / `"key": "value"` pairs inside free
    /// text, such as a finding's excerpt of a raw body.
    pub fn scrub(&self, text: &str) -> String {
        KEY_VALUE
            .replace_all(text, |c: &regex::Captures<'_>| {
                if self.is_secret_arg(&c[1]) && !c[3].is_empty() {
                    format!("{}{}{REDACTED}", &c[1], &c[2])
                } else {
                    c[0].to_string()
                }
            })
            .into_owned()
    }

    /// The query string with the values of secret arguments replaced.
    pub fn query(&self, query_raw: &str) -> String {
        if query_raw.is_empty() {
            return String::new();
        }
        query_raw
            .split('&')
            .map(|pair| match pair.split_once('=') {
                Some((name, _)) if self.is_secret_arg(name) => format!("{name}={REDACTED}"),
                _ => pair.to_string(),
            })
            .collect::<Vec<_>>()
            .join("&")
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct AuditFinding {
    pub id: String,
    pub source: String,
    pub message: String,
    pub category: String,
    pub severity: crate::Severity,
    pub score: u32,
    pub target: String,
    pub excerpt: String,
    pub paranoia: u8,
}

#[derive(Debug, Clone, Serialize)]
pub struct AuditRecord {
    pub timestamp: String,
    pub request_id: String,
    pub client_ip: String,
    pub method: String,
    pub host: String,
    pub path: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub query: String,
    /// `request` or `response`.
    pub phase: &'static str,
    pub action: Action,
    pub mode: Mode,
    pub score: u32,
    pub threshold: u32,
    pub findings: Vec<AuditFinding>,
    /// Microseconds spent inspecting.
    pub inspect_us: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

impl AuditRecord {
    pub fn new(
        request_id: &str,
        request: &RequestModel,
        verdict: &Verdict,
        phase: &'static str,
        redactor: &Redactor,
    ) -> AuditRecord {
        AuditRecord {
            timestamp: now_rfc3339(),
            request_id: request_id.to_string(),
            client_ip: request
                .client_ip
                .map(|ip| ip.to_string())
                .unwrap_or_default(),
            method: request.method.clone(),
            host: request.host.clone(),
            path: request.path_raw.clone(),
            query: redactor.query(&request.query_raw),
            phase,
            action: verdict.action,
            mode: verdict.mode,
            score: verdict.score,
            threshold: verdict.threshold,
            findings: verdict
                .findings
                .iter()
                .map(|f| audit_finding(f, redactor))
                .collect(),
            inspect_us: verdict.elapsed_us,
            status: None,
            note: None,
        }
    }

    pub fn to_json_line(&self) -> String {
        // Serialization of these plain types cannot fail; fall back to a minimal line anyway.
        serde_json::to_string(self).unwrap_or_else(|_| {
            format!(
                "{{\"request_id\":\"{}\",\"error\":\"serialize\"}}",
                self.request_id
            )
        })
    }
}

fn audit_finding(f: &Finding, redactor: &Redactor) -> AuditFinding {
    AuditFinding {
        id: f.id.clone(),
        source: f.source.clone(),
        message: f.message.clone(),
        category: f.category.clone(),
        severity: f.severity,
        score: f.score,
        target: f.target.clone(),
        excerpt: if redactor.is_secret_target(&f.target) {
            REDACTED.to_string()
        } else {
            redactor.scrub(&f.excerpt)
        },
        paranoia: f.paranoia,
    }
}

pub fn now_rfc3339() -> String {
    OffsetDateTime::now_utc()
        .format(&Rfc3339)
        .unwrap_or_else(|_| String::from("1970-01-01T00:00:00Z"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Severity;
    use palisade_http::Headers;

    #[test]
    fn secrets_are_redacted_in_findings_and_query() {
        let r = Redactor::new(&["ccnum".to_string()]);
        let req = RequestModel::from_head(
            "GET",
            "/login?user=bob&password=hunter2&ccnum=4111",
            "HTTP/1.1",
            Headers::default(),
        );
        let verdict = Verdict {
            action: Action::Block,
            mode: Mode::Block,
            score: 10,
            threshold: 5,
            findings: vec![
                Finding::new(
                    "a",
                    "s",
                    "m",
                    "c",
                    Severity::Critical,
                    "ARGS:password",
                    b"hunter2' or 1=1",
                    1,
                ),
                Finding::new(
                    "b",
                    "s",
                    "m",
                    "c",
                    Severity::Critical,
                    "REQUEST_COOKIES:sid",
                    b"abc",
                    1,
                ),
                Finding::new(
                    "c",
                    "s",
                    "m",
                    "c",
                    Severity::Critical,
                    "REQUEST_HEADERS:Authorization",
                    b"Basic x",
                    1,
                ),
                Finding::new(
                    "d",
                    "s",
                    "m",
                    "c",
                    Severity::Critical,
                    "ARGS:user",
                    b"bob",
                    1,
                ),
            ],
            over_threshold: true,
            elapsed_us: 3,
        };
        let rec = AuditRecord::new("rid", &req, &verdict, "request", &r);
        let line = rec.to_json_line();
        assert!(!line.contains("hunter2"), "{line}");
        assert!(!line.contains("4111"), "{line}");
        assert!(!line.contains("Basic x"), "{line}");
        assert!(!line.contains("\"abc\""), "{line}");
        assert!(line.contains("\"excerpt\":\"bob\""), "{line}");
        assert_eq!(rec.query, "user=bob&password=[redacted]&ccnum=[redacted]");
    }

    #[test]
    fn secrets_inside_body_excerpts_are_scrubbed() {
        let r = Redactor::default();
        assert_eq!(
            r.scrub("user=bob&password=hunter2&x=<script>"),
            "user=bob&password=[redacted]&x=<script>"
        );
        assert_eq!(
            r.scrub(r#"{"login":"bob","api_key": "sk-123", "q":"1 union select"}"#),
            r#"{"login":"bob","api_key": "[redacted]", "q":"1 union select"}"#
        );
        assert_eq!(r.scrub("no secrets here"), "no secrets here");
    }
}
