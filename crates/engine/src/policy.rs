//! Policy: mode, anomaly thresholds, paranoia level, and per-route overrides with
//! exclusions (disabled rule ids, excluded targets) for false positives.
//!
//! Deserialized straight from the `[policy]` table of the config file; `compile` must be
//! called once after loading to validate regexes and target patterns.

use regex::Regex;
use serde::{Deserialize, Serialize};

use crate::finding::Finding;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// Block requests whose anomaly score reaches the threshold.
    #[default]
    Block,
    /// Inspect and log, never block.
    Detect,
    /// No inspection.
    Off,
}

#[derive(Debug)]
pub enum PolicyError {
    InvalidRegex { route: usize, error: String },
    InvalidTarget { target: String, why: String },
    InvalidParanoia(u8),
    InvalidMethod(String),
}

impl std::fmt::Display for PolicyError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PolicyError::InvalidRegex { route, error } => {
                write!(f, "route #{route}: invalid path_regex: {error}")
            }
            PolicyError::InvalidTarget { target, why } => {
                write!(f, "invalid excluded target {target:?}: {why}")
            }
            PolicyError::InvalidParanoia(p) => {
                write!(f, "paranoia level must be 1 to 4, got {p}")
            }
            PolicyError::InvalidMethod(m) => {
                write!(f, "blocked_methods: {m:?} is not an HTTP method name")
            }
        }
    }
}

impl std::error::Error for PolicyError {}

/// An excluded target: `ARGS:content`, `REQUEST_HEADERS:Referer`, `REQUEST_COOKIES`,
/// `ARGS:/^comment_/` (regex on the name). Collections and names compare case-insensitively.
#[derive(Debug, Clone)]
pub struct TargetPattern {
    collection: String,
    name: NameMatch,
}

#[derive(Debug, Clone)]
enum NameMatch {
    Any,
    Exact(String),
    Regex(Regex),
}

impl TargetPattern {
    pub fn parse(text: &str) -> Result<TargetPattern, PolicyError> {
        let invalid = |why: &str| PolicyError::InvalidTarget {
            target: text.to_string(),
            why: why.to_string(),
        };
        let (collection, name) = match text.split_once(':') {
            Some((c, n)) => (c.trim(), Some(n.trim())),
            None => (text.trim(), None),
        };
        if collection.is_empty()
            || !collection
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_')
        {
            return Err(invalid("expected COLLECTION or COLLECTION:name"));
        }
        let name = match name {
            None | Some("") => NameMatch::Any,
            Some(n) if n.len() >= 2 && n.starts_with('/') && n.ends_with('/') => {
                let re = Regex::new(&format!("(?i){}", &n[1..n.len() - 1]))
                    .map_err(|e| invalid(&e.to_string()))?;
                NameMatch::Regex(re)
            }
            Some(n) => NameMatch::Exact(n.to_ascii_lowercase()),
        };
        Ok(TargetPattern {
            collection: collection.to_ascii_uppercase(),
            name,
        })
    }

    /// Does this pattern cover a finding's target (`COLLECTION` or `COLLECTION:name`)?
    pub fn matches(&self, target: &str) -> bool {
        let (collection, name) = match target.split_once(':') {
            Some((c, n)) => (c, n),
            None => (target, ""),
        };
        if !collection.eq_ignore_ascii_case(&self.collection) {
            return false;
        }
        match &self.name {
            NameMatch::Any => true,
            NameMatch::Exact(n) => name.eq_ignore_ascii_case(n),
            NameMatch::Regex(re) => re.is_match(name),
        }
    }
}

/// Per-route overrides. A route matches by host and/or path; the first matching route wins.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RoutePolicy {
    /// Exact host (port ignored) or `*.example.com`.
    pub host: Option<String>,
    pub path_prefix: Option<String>,
    pub path_regex: Option<String>,
    pub mode: Option<Mode>,
    pub inbound_threshold: Option<u32>,
    pub outbound_threshold: Option<u32>,
    pub paranoia: Option<u8>,
    /// Rule ids to drop: exact (`args/sqli.re:12`) or a prefix ending the id's file part
    /// (`args/sqli.re` drops every rule of that file).
    pub disabled_rules: Vec<String>,
    /// Targets whose findings are dropped: `ARGS:content`, `REQUEST_HEADERS:Referer`.
    pub excluded_targets: Vec<String>,
    /// Upstream URL for this route (used by the proxy; the engine ignores it).
    pub upstream: Option<String>,
    #[serde(skip)]
    compiled_regex: Option<Regex>,
    #[serde(skip)]
    compiled_targets: Vec<TargetPattern>,
}

impl RoutePolicy {
    pub fn builder() -> RouteBuilder {
        RouteBuilder(RoutePolicy::default())
    }

    fn compile(&mut self, index: usize) -> Result<(), PolicyError> {
        if let Some(re) = &self.path_regex {
            self.compiled_regex = Some(Regex::new(re).map_err(|e| PolicyError::InvalidRegex {
                route: index,
                error: e.to_string(),
            })?);
        }
        if let Some(p) = self.paranoia {
            check_paranoia(p)?;
        }
        self.compiled_targets = compile_targets(&self.excluded_targets)?;
        Ok(())
    }

    /// Whether this route applies to `host` (port ignored) and normalized `path`.
    pub fn matches(&self, host: &str, path: &str) -> bool {
        if let Some(want) = &self.host {
            let host = host.rsplit_once(':').map_or(host, |(h, port)| {
                if port.bytes().all(|b| b.is_ascii_digit()) {
                    h
                } else {
                    host
                }
            });
            let ok = match want.strip_prefix("*.") {
                Some(suffix) => {
                    host.len() > suffix.len() + 1
                        && host[host.len() - suffix.len()..].eq_ignore_ascii_case(suffix)
                        && host.as_bytes()[host.len() - suffix.len() - 1] == b'.'
                }
                None => host.eq_ignore_ascii_case(want),
            };
            if !ok {
                return false;
            }
        }
        if let Some(prefix) = &self.path_prefix {
            if !path.starts_with(prefix.as_str()) {
                return false;
            }
        }
        if let Some(re) = &self.compiled_regex {
            if !re.is_match(path) {
                return false;
            }
        }
        true
    }
}

pub struct RouteBuilder(RoutePolicy);

impl RouteBuilder {
    pub fn host(mut self, host: &str) -> Self {
        self.0.host = Some(host.to_string());
        self
    }
    pub fn path_prefix(mut self, prefix: &str) -> Self {
        self.0.path_prefix = Some(prefix.to_string());
        self
    }
    pub fn path_regex(mut self, re: &str) -> Self {
        self.0.path_regex = Some(re.to_string());
        self
    }
    pub fn mode(mut self, mode: Mode) -> Self {
        self.0.mode = Some(mode);
        self
    }
    pub fn disable_rule(mut self, id: &str) -> Self {
        self.0.disabled_rules.push(id.to_string());
        self
    }
    pub fn exclude_target(mut self, target: &str) -> Self {
        self.0.excluded_targets.push(target.to_string());
        self
    }
    pub fn build(mut self) -> Result<RoutePolicy, PolicyError> {
        self.0.compile(0)?;
        Ok(self.0)
    }
}

/// The global policy.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Policy {
    pub mode: Mode,
    /// Anomaly points at which a request is blocked (CRS default 5: one critical finding).
    pub inbound_threshold: u32,
    /// Anomaly points at which a response is blocked (CRS default 4).
    pub outbound_threshold: u32,
    /// Paranoia level 1–4: higher enables noisier checks.
    pub paranoia: u8,
    pub disabled_rules: Vec<String>,
    pub excluded_targets: Vec<String>,
    /// Request methods refused with a critical finding (`policy:method`), compared without
    /// regard to case. TRACE and TRACK echo the request back (cross-site tracing reads
    /// HttpOnly cookies and Authorization that way) and DEBUG starts IIS/ASP.NET debugging;
    /// no application behind a WAF needs them. Every other method, custom ones included,
    /// is forwarded.
    pub blocked_methods: Vec<String>,
    /// Request body charsets accepted besides those Palisade reads correctly (the
    /// ASCII-compatible ones and UTF-16/32, read as bytes): a body declared in
    /// any other charset (EBCDIC `ibm037`, `utf-7`, …), which byte signatures cannot read
    /// while IIS/ASP.NET decodes it, is refused with a critical finding (`policy:charset`).
    pub allowed_charsets: Vec<String>,
    pub routes: Vec<RoutePolicy>,
    #[serde(skip)]
    compiled_targets: Vec<TargetPattern>,
}

/// [`Policy::blocked_methods`] when the config names none.
pub const DEFAULT_BLOCKED_METHODS: &[&str] = &["TRACE", "TRACK", "DEBUG"];

impl Default for Policy {
    fn default() -> Self {
        Policy {
            mode: Mode::Block,
            inbound_threshold: 5,
            outbound_threshold: 4,
            paranoia: 1,
            disabled_rules: Vec::new(),
            excluded_targets: Vec::new(),
            blocked_methods: DEFAULT_BLOCKED_METHODS
                .iter()
                .map(|m| m.to_string())
                .collect(),
            allowed_charsets: Vec::new(),
            routes: Vec::new(),
            compiled_targets: Vec::new(),
        }
    }
}

fn check_paranoia(p: u8) -> Result<(), PolicyError> {
    if (1..=4).contains(&p) {
        Ok(())
    } else {
        Err(PolicyError::InvalidParanoia(p))
    }
}

fn compile_targets(targets: &[String]) -> Result<Vec<TargetPattern>, PolicyError> {
    targets.iter().map(|t| TargetPattern::parse(t)).collect()
}

fn rule_disabled(list: &[String], id: &str) -> bool {
    list.iter().any(|entry| rule_id_covers(entry, id))
}

/// Whether a `disabled_rules` entry covers the rule `id`: the id itself, or a prefix of
/// it ending where a `:` follows (`builtin:args/sqli.re` covers `builtin:args/sqli.re:12`).
pub fn rule_id_covers(entry: &str, id: &str) -> bool {
    id == entry
        || (id.len() > entry.len() && id.starts_with(entry) && id.as_bytes()[entry.len()] == b':')
}

/// The settings in force for one request: the global policy with its route's overrides.
pub struct RouteView<'a> {
    pub mode: Mode,
    pub inbound_threshold: u32,
    pub outbound_threshold: u32,
    pub paranoia: u8,
    policy: &'a Policy,
    route: Option<&'a RoutePolicy>,
}

impl RouteView<'_> {
    /// Drops findings whose rule is disabled or whose target is excluded.
    pub fn retain_applicable(&self, findings: &mut Vec<Finding>) {
        findings.retain(|f| {
            let disabled = rule_disabled(&self.policy.disabled_rules, &f.id)
                || self
                    .route
                    .is_some_and(|r| rule_disabled(&r.disabled_rules, &f.id));
            let excluded = self
                .policy
                .compiled_targets
                .iter()
                .any(|t| t.matches(&f.target))
                || self
                    .route
                    .is_some_and(|r| r.compiled_targets.iter().any(|t| t.matches(&f.target)));
            !disabled && !excluded
        });
    }
}

impl Policy {
    /// Validates and compiles regexes and target patterns. Call once after loading.
    pub fn compile(&mut self) -> Result<(), PolicyError> {
        check_paranoia(self.paranoia)?;
        // A method is an RFC 9110 token: `" TRACE"` or `""` would silently match nothing.
        if let Some(bad) = self.blocked_methods.iter().find(|m| {
            m.is_empty()
                || !m
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
        }) {
            return Err(PolicyError::InvalidMethod(bad.clone()));
        }
        self.compiled_targets = compile_targets(&self.excluded_targets)?;
        for (i, route) in self.routes.iter_mut().enumerate() {
            route.compile(i)?;
        }
        Ok(())
    }

    /// The first route matching `host` and `path`, if any.
    pub fn matching_route(&self, host: &str, path: &str) -> Option<&RoutePolicy> {
        self.routes.iter().find(|r| r.matches(host, path))
    }

    pub fn route_for(&self, host: &str, path: &str) -> RouteView<'_> {
        let route = self.matching_route(host, path);
        RouteView {
            mode: route.and_then(|r| r.mode).unwrap_or(self.mode),
            inbound_threshold: route
                .and_then(|r| r.inbound_threshold)
                .unwrap_or(self.inbound_threshold),
            outbound_threshold: route
                .and_then(|r| r.outbound_threshold)
                .unwrap_or(self.outbound_threshold),
            paranoia: route.and_then(|r| r.paranoia).unwrap_or(self.paranoia),
            policy: self,
            route,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocked_methods_must_be_method_names() {
        for bad in [" TRACE", "", "TRA CE", "TRACE\r"] {
            let mut p = Policy {
                blocked_methods: vec!["TRACK".to_string(), bad.to_string()],
                ..Policy::default()
            };
            let err = p.compile().expect_err(bad);
            assert!(err.to_string().contains("blocked_methods"), "{err}");
        }
        let mut p = Policy {
            blocked_methods: vec!["TRACE".into(), "X-DEBUG".into(), "M-SEARCH".into()],
            ..Policy::default()
        };
        p.compile().expect("tokens are accepted");
    }

    #[test]
    fn target_patterns() {
        let t = TargetPattern::parse("ARGS:content").unwrap();
        assert!(t.matches("ARGS:content"));
        assert!(t.matches("args:Content"));
        assert!(!t.matches("ARGS:contents"));
        assert!(!t.matches("ARGS_NAMES:content"));
        let t = TargetPattern::parse("REQUEST_COOKIES").unwrap();
        assert!(t.matches("REQUEST_COOKIES:session"));
        let t = TargetPattern::parse("ARGS:/^comment_/").unwrap();
        assert!(t.matches("ARGS:comment_body"));
        assert!(!t.matches("ARGS:body"));
        assert!(TargetPattern::parse("bad target!").is_err());
        assert!(TargetPattern::parse("ARGS:/(/").is_err());
    }

    #[test]
    fn routes_match_host_and_path() {
        let r = RoutePolicy::builder()
            .host("*.example.com")
            .path_prefix("/api/")
            .build()
            .unwrap();
        assert!(r.matches("shop.example.com:8443", "/api/x"));
        assert!(!r.matches("example.com", "/api/x"));
        assert!(!r.matches("shop.example.com", "/web"));
        let r = RoutePolicy::builder()
            .path_regex("^/u/[0-9]+$")
            .build()
            .unwrap();
        assert!(r.matches("h", "/u/12"));
        assert!(!r.matches("h", "/u/12/x"));
    }

    #[test]
    fn policy_rejects_bad_paranoia_and_regex() {
        let mut p = Policy {
            paranoia: 7,
            ..Policy::default()
        };
        assert!(p.compile().is_err());
        let mut p = Policy::default();
        p.routes.push(RoutePolicy {
            path_regex: Some("(".into()),
            ..RoutePolicy::default()
        });
        assert!(p.compile().is_err());
    }
}
