//! Palisade's decision engine: findings, detectors, policy and verdicts.
//!
//! Data flows one way: a [`RequestModel`](palisade_http::RequestModel) goes through every
//! [`Detector`]; their [`Finding`]s are filtered by the route's exclusions, summed into an
//! anomaly score, and the [`Policy`] turns the score into a [`Verdict`]. The audit record
//! ([`audit::AuditRecord`]) is built from a verdict, with secrets redacted.

pub mod audit;
pub mod finding;
pub mod policy;
pub mod response;
pub mod value_cache;

use std::sync::Arc;
use std::time::Instant;

pub use finding::{Finding, Severity};
pub use policy::{Mode, Policy, PolicyError, RoutePolicy, TargetPattern};
pub use response::ResponseModel;

use palisade_http::RequestModel;

/// Something that looks at requests (and optionally responses) and reports findings.
///
/// Detectors are immutable after construction and shared between threads; per-request
/// state lives on the stack of `inspect_request`.
pub trait Detector: Send + Sync {
    /// Short name used in logs (`signatures`, `body-parser`, ...).
    fn name(&self) -> &str;
    /// Appends findings for `request`. `paranoia` is the configured level (1–4): checks
    /// above it must be skipped.
    fn inspect_request(&self, request: &RequestModel, paranoia: u8, out: &mut Vec<Finding>);
    /// True when `inspect_request` may block its thread for a while (waiting for an
    /// inference worker): async callers then run the inspection on a blocking thread.
    fn blocks(&self) -> bool {
        false
    }
    /// Appends findings for a buffered text response. Most detectors have none.
    fn inspect_response(
        &self,
        _request: &RequestModel,
        _response: &ResponseModel,
        _paranoia: u8,
        _out: &mut Vec<Finding>,
    ) {
    }
    /// True when `inspect_response` reads the request's parsed body (its arguments and
    /// files): the proxy keeps them until the response is inspected. False by default.
    fn reads_request_body_with_response(&self) -> bool {
        false
    }
}

/// What to do with a request or response.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    /// No finding at all, or the mode is `off`.
    Allow,
    /// Findings below the threshold, or over it in `detect` mode: forward, but log.
    Flag,
    /// Over the threshold in `block` mode.
    Block,
}

/// The outcome of inspecting one request or response.
#[derive(Debug, Clone)]
pub struct Verdict {
    pub action: Action,
    pub mode: Mode,
    /// Sum of the scores of the (non-excluded) findings.
    pub score: u32,
    pub threshold: u32,
    pub findings: Vec<Finding>,
    /// Whether the threshold was reached (true also in detect mode).
    pub over_threshold: bool,
    pub elapsed_us: u64,
}

impl Verdict {
    pub fn allow(mode: Mode, threshold: u32) -> Verdict {
        Verdict {
            action: Action::Allow,
            mode,
            score: 0,
            threshold,
            findings: Vec::new(),
            over_threshold: false,
            elapsed_us: 0,
        }
    }

    pub fn is_block(&self) -> bool {
        self.action == Action::Block
    }
}

/// Detectors plus policy: the immutable unit that is swapped atomically on reload.
pub struct Engine {
    detectors: Vec<Arc<dyn Detector>>,
    policy: Policy,
}

impl Engine {
    pub fn new(detectors: Vec<Arc<dyn Detector>>, policy: Policy) -> Engine {
        Engine { detectors, policy }
    }

    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    pub fn detector_names(&self) -> Vec<String> {
        self.detectors
            .iter()
            .map(|d| d.name().to_string())
            .collect()
    }

    /// Whether some detector may block the calling thread ([`Detector::blocks`]): async
    /// callers should then call [`inspect_request`](Self::inspect_request) off the executor.
    pub fn has_blocking_detectors(&self) -> bool {
        self.detectors.iter().any(|d| d.blocks())
    }

    /// Inspects a request (head plus whatever body prefix is attached to the model).
    pub fn inspect_request(&self, request: &RequestModel) -> Verdict {
        let started = Instant::now();
        let route = self.policy.route_for(&request.host, &request.path);
        let mode = route.mode;
        if mode == Mode::Off {
            return Verdict::allow(mode, route.inbound_threshold);
        }
        let mut findings = Vec::new();
        for detector in &self.detectors {
            detector.inspect_request(request, route.paranoia, &mut findings);
        }
        route.retain_applicable(&mut findings);
        let mut verdict = self.verdict(findings, route.inbound_threshold, mode);
        verdict.elapsed_us = started.elapsed().as_micros() as u64;
        verdict
    }

    /// Whether some detector reads the request's parsed body again with the response (see
    /// [`Detector::reads_request_body_with_response`]).
    pub fn reads_request_body_with_response(&self) -> bool {
        self.detectors
            .iter()
            .any(|d| d.reads_request_body_with_response())
    }

    /// Inspects a buffered response (outbound threshold).
    pub fn inspect_response(&self, request: &RequestModel, response: &ResponseModel) -> Verdict {
        let started = Instant::now();
        let route = self.policy.route_for(&request.host, &request.path);
        let mode = route.mode;
        if mode == Mode::Off {
            return Verdict::allow(mode, route.outbound_threshold);
        }
        let mut findings = Vec::new();
        for detector in &self.detectors {
            detector.inspect_response(request, response, route.paranoia, &mut findings);
        }
        route.retain_applicable(&mut findings);
        let mut verdict = self.verdict(findings, route.outbound_threshold, mode);
        verdict.elapsed_us = started.elapsed().as_micros() as u64;
        verdict
    }

    fn verdict(&self, findings: Vec<Finding>, threshold: u32, mode: Mode) -> Verdict {
        let score: u32 = findings.iter().map(|f| f.score).sum();
        let over_threshold = threshold > 0 && score >= threshold;
        let action = if findings.is_empty() {
            Action::Allow
        } else if over_threshold && mode == Mode::Block {
            Action::Block
        } else {
            Action::Flag
        };
        Verdict {
            action,
            mode,
            score,
            threshold,
            findings,
            over_threshold,
            elapsed_us: 0,
        }
    }
}

/// Reports body parse errors (malformed JSON, multipart, XML) as findings.
///
/// A body that does not parse is not inspected field by field, which is what evasions
/// exploit; so a parse error scores on its own (a warning: it blocks together with any
/// other finding, not alone). A body whose `Content-Encoding` does not decode (unknown
/// coding, corrupt data) is a critical finding `body-encoding`.
pub struct BodyParseErrors;

impl Detector for BodyParseErrors {
    fn name(&self) -> &str {
        "body-parser"
    }

    fn inspect_request(&self, request: &RequestModel, _paranoia: u8, out: &mut Vec<Finding>) {
        let Some(body) = &request.body else { return };
        // A body in a coding that does not decode is not inspected at all, while the
        // application may read it (a client that lies about the coding gets an error from
        // the application anyway): critical, it blocks alone.
        if let Some(error) = &body.encoding_error {
            out.push(Finding {
                id: "body-encoding".to_string(),
                source: "body-parser".to_string(),
                message: format!("request body not inspectable: {error}"),
                category: "protocol".to_string(),
                severity: Severity::Critical,
                score: Severity::Critical.score(),
                target: "REQUEST_HEADERS:Content-Encoding".to_string(),
                excerpt: String::new(),
                paranoia: 1,
            });
        }
        for error in &body.errors {
            out.push(Finding {
                id: "body-parse-error".to_string(),
                source: "body-parser".to_string(),
                message: format!("request body could not be parsed: {error}"),
                category: "protocol".to_string(),
                severity: Severity::Warning,
                score: Severity::Warning.score(),
                target: "REQUEST_BODY".to_string(),
                excerpt: String::new(),
                paranoia: 1,
            });
        }
    }
}

/// Refuses request bodies declared in a charset that byte matching cannot read (see
/// [`palisade_http::charset`]) unless the policy accepts it (`allowed_charsets`): a
/// critical finding `policy:charset` on `REQUEST_HEADERS:Content-Type`.
pub struct BodyCharsets {
    /// Canonical names ([`palisade_http::charset::canonical`]) accepted anyway.
    allowed: Vec<String>,
}

impl BodyCharsets {
    pub fn new(allowed: &[String]) -> BodyCharsets {
        BodyCharsets {
            allowed: allowed
                .iter()
                .map(|c| palisade_http::charset::canonical(c))
                .collect(),
        }
    }
}

impl Detector for BodyCharsets {
    fn name(&self) -> &str {
        "charset"
    }

    fn inspect_request(&self, request: &RequestModel, _paranoia: u8, out: &mut Vec<Finding>) {
        use palisade_http::charset::{canonical, charset_params, kind, CharsetKind};
        let Some(body) = request.body.as_ref().filter(|b| !b.raw.is_empty()) else {
            return;
        };
        let declared = request
            .headers
            .get_str("content-type")
            .map(|ct| charset_params(&ct))
            .unwrap_or_default()
            .into_iter()
            .filter(|c| kind(c) == CharsetKind::Unreadable)
            .map(|c| (c, "REQUEST_HEADERS:Content-Type"));
        let parts = body
            .part_charsets
            .iter()
            .map(|c| (c.clone(), "MULTIPART_PART_HEADERS"));
        for (charset, target) in declared.into_iter().chain(parts) {
            if self.allowed.contains(&canonical(&charset)) {
                continue;
            }
            out.push(Finding::new(
                "policy:charset",
                "charset",
                "request body in a charset the WAF cannot read (allowed_charsets)",
                "protocol",
                Severity::Critical,
                target,
                charset.as_bytes(),
                1,
            ));
        }
    }
}

/// Refuses the request methods a policy lists (see [`Policy::blocked_methods`]) with a
/// critical finding, so detect mode logs them and a route can allow one by disabling
/// `policy:method` (not a signature: `disabled_rules = ["builtin"]` leaves it on).
pub struct BlockedMethods {
    methods: Vec<String>,
}

impl BlockedMethods {
    pub fn new(methods: &[String]) -> BlockedMethods {
        BlockedMethods {
            methods: methods.to_vec(),
        }
    }
}

impl Detector for BlockedMethods {
    fn name(&self) -> &str {
        "method"
    }

    fn inspect_request(&self, request: &RequestModel, _paranoia: u8, out: &mut Vec<Finding>) {
        let method = &request.method;
        if self.methods.iter().any(|m| m.eq_ignore_ascii_case(method)) {
            out.push(Finding::new(
                "policy:method",
                "method",
                "request method refused by policy (blocked_methods)",
                "protocol",
                Severity::Critical,
                "REQUEST_METHOD",
                method.as_bytes(),
                1,
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use palisade_http::Headers;

    struct Fixed(Vec<(&'static str, Severity, &'static str)>);
    impl Detector for Fixed {
        fn name(&self) -> &str {
            "fixed"
        }
        fn inspect_request(&self, _: &RequestModel, _: u8, out: &mut Vec<Finding>) {
            for (id, sev, target) in &self.0 {
                out.push(Finding::new(id, "test", "m", "c", *sev, target, b"x", 1));
            }
        }
    }

    fn request(path: &str) -> RequestModel {
        RequestModel::from_head("GET", path, "HTTP/1.1", Headers::default())
    }

    fn engine(findings: Vec<(&'static str, Severity, &'static str)>, policy: Policy) -> Engine {
        Engine::new(vec![Arc::new(Fixed(findings))], policy)
    }

    struct Waits;
    impl Detector for Waits {
        fn name(&self) -> &str {
            "waits"
        }
        fn inspect_request(&self, _: &RequestModel, _: u8, _: &mut Vec<Finding>) {}
        fn blocks(&self) -> bool {
            true
        }
    }

    #[test]
    fn blocking_detectors_are_reported() {
        assert!(!engine(vec![], Policy::default()).has_blocking_detectors());
        let e = Engine::new(
            vec![Arc::new(Fixed(vec![])), Arc::new(Waits)],
            Policy::default(),
        );
        assert!(e.has_blocking_detectors());
    }

    #[test]
    fn listed_methods_are_refused_whatever_their_case() {
        let detector = BlockedMethods::new(&Policy::default().blocked_methods);
        let found = |method: &str| {
            let mut out = Vec::new();
            let r = RequestModel::from_head(method, "/", "HTTP/1.1", Headers::default());
            detector.inspect_request(&r, 1, &mut out);
            out
        };
        for m in ["TRACE", "track", "Debug"] {
            let f = found(m);
            assert_eq!(f.len(), 1, "{m}");
            assert_eq!(f[0].id, "policy:method");
            assert_eq!(f[0].score, Severity::Critical.score());
            assert_eq!(f[0].target, "REQUEST_METHOD");
        }
        for m in ["GET", "POST", "PROPFIND", "PURGE", "X-CUSTOM", "TRACES"] {
            assert!(found(m).is_empty(), "{m}");
        }
        let none = BlockedMethods::new(&[]);
        let mut out = Vec::new();
        let r = RequestModel::from_head("TRACE", "/", "HTTP/1.1", Headers::default());
        none.inspect_request(&r, 1, &mut out);
        assert!(out.is_empty());
    }

    #[test]
    fn scores_sum_against_threshold() {
        let e = engine(vec![("a", Severity::Warning, "ARGS:q")], Policy::default());
        let v = e.inspect_request(&request("/"));
        assert_eq!(v.score, 3);
        assert_eq!(v.action, Action::Flag);

        let e = engine(
            vec![
                ("a", Severity::Warning, "ARGS:q"),
                ("b", Severity::Notice, "ARGS:q"),
            ],
            Policy::default(),
        );
        let v = e.inspect_request(&request("/"));
        assert_eq!(v.score, 5);
        assert_eq!(v.action, Action::Block);
    }

    #[test]
    fn detect_mode_flags_instead_of_blocking_and_off_skips() {
        let mut policy = Policy::default();
        policy.mode = Mode::Detect;
        let e = engine(vec![("a", Severity::Critical, "ARGS:q")], policy);
        let v = e.inspect_request(&request("/"));
        assert!(v.over_threshold);
        assert_eq!(v.action, Action::Flag);

        let mut policy = Policy::default();
        policy.mode = Mode::Off;
        let e = engine(vec![("a", Severity::Critical, "ARGS:q")], policy);
        assert_eq!(e.inspect_request(&request("/")).action, Action::Allow);
    }

    #[test]
    fn route_exclusion_removes_only_that_target_on_that_path() {
        let mut policy = Policy::default();
        policy.routes.push(
            RoutePolicy::builder()
                .path_prefix("/wp-admin/post.php")
                .exclude_target("ARGS:content")
                .build()
                .expect("valid route"),
        );
        let e = engine(vec![("x", Severity::Critical, "ARGS:content")], policy);
        assert_eq!(
            e.inspect_request(&request("/wp-admin/post.php?a=1")).action,
            Action::Allow
        );
        assert_eq!(e.inspect_request(&request("/other")).action, Action::Block);
    }

    #[test]
    fn disabled_rule_ids_match_exactly_or_by_file_prefix() {
        let mut policy = Policy::default();
        policy.disabled_rules = vec!["args/sqli.re".into(), "url/x.txt:3".into()];
        let e = engine(
            vec![
                ("args/sqli.re:10", Severity::Critical, "ARGS:q"),
                ("url/x.txt:3", Severity::Critical, "REQUEST_URI"),
                ("url/x.txt:30", Severity::Notice, "REQUEST_URI"),
            ],
            policy,
        );
        let v = e.inspect_request(&request("/"));
        assert_eq!(v.findings.len(), 1);
        assert_eq!(v.findings[0].id, "url/x.txt:30");
    }

    #[test]
    fn bodies_in_charsets_read_wrongly_as_bytes_are_refused_unless_allowed() {
        let post = |content_type: &str, body: &[u8]| {
            let mut h = Headers::default();
            h.push("Host", b"a".to_vec());
            h.push("Content-Type", content_type.as_bytes().to_vec());
            let mut m = RequestModel::from_head("POST", "/login", "HTTP/1.1", h);
            m.attach_body(body.to_vec(), false);
            m
        };
        let ids = |d: &BodyCharsets, m: &RequestModel| {
            let mut out = Vec::new();
            d.inspect_request(m, 1, &mut out);
            out.into_iter()
                .map(|f| (f.id, f.excerpt))
                .collect::<Vec<_>>()
        };
        let strict = BodyCharsets::new(&[]);
        let form = "application/x-www-form-urlencoded";
        for cs in ["ibm037", "IBM500", "utf-7", "cp875", "x-made-up"] {
            let m = post(&format!("{form}; charset={cs}"), b"%94%81%94%85=%7D");
            assert_eq!(
                ids(&strict, &m),
                vec![("policy:charset".to_string(), cs.to_ascii_lowercase())],
                "{cs}"
            );
        }
        for ct in [
            form.to_string(),
            format!("{form}; charset=UTF-8"),
            format!("{form}; charset=Shift_JIS"),
            "application/json; charset=utf-16le".to_string(),
        ] {
            assert!(ids(&strict, &post(&ct, b"a=b")).is_empty(), "{ct}");
        }
        // no body, nothing to misread
        assert!(ids(&strict, &post(&format!("{form}; charset=ibm037"), b"")).is_empty());
        let lenient = BodyCharsets::new(&["IBM-037".to_string()]);
        assert!(ids(&lenient, &post(&format!("{form}; charset=ibm037"), b"a=b")).is_empty());
        // a multipart text field declaring its own charset
        let part = b"--b\r\nContent-Disposition: form-data; name=\"q\"\r\n\
Content-Type: text/plain; charset=ibm500\r\n\r\n\x7d\r\n--b--\r\n";
        let m = post("multipart/form-data; boundary=b", part);
        assert_eq!(
            ids(&strict, &m),
            vec![("policy:charset".to_string(), "ibm500".to_string())]
        );
        assert!(ids(&BodyCharsets::new(&["ibm500".to_string()]), &m).is_empty());
    }
}
