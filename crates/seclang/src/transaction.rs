//! One request (and its response) going through a [`RuleSet`]: the variables a rule sees,
//! the TX collection, chains, flow control (`skip`, `skipAfter`, `allow`), `ctl` changes
//! for this transaction only, and the list of rules that matched.
//!
//! Phases run in order: 1 (request headers), 2 (request body), 3 (response headers),
//! 4 (response body), 5 (logging). The request body is parsed between phases 1 and 2 so
//! that a phase-1 `ctl:requestBodyProcessor` takes effect, as in ModSecurity.

use std::borrow::Cow;
use std::collections::HashMap;
use std::time::Instant;

use palisade_http::{parse_body, Arg, BodyKind, RequestModel, Transform};

use crate::actions::{Ctl, Disruptive, EngineMode, IdRange, SetVarOp};
use crate::macros::Resolve;
use crate::operators::Captures;
use crate::ruleset::{Entry, Rule, RuleSet};
use crate::variables::{Selector, Target};

/// What a response phase sees.
#[derive(Debug, Clone, Default)]
pub struct Response {
    pub status: u16,
    pub protocol: String,
    pub headers: Vec<(String, Vec<u8>)>,
    pub body: Vec<u8>,
}

/// A rule that matched (the whole chain), as logged.
#[derive(Debug, Clone)]
pub struct RuleMatch {
    pub id: u64,
    pub phase: u8,
    pub msg: String,
    pub logdata: String,
    pub tags: Vec<String>,
    /// ModSecurity severity number (0 emergency … 7 debug), if the rule has one.
    pub severity: Option<u8>,
    pub paranoia: Option<u8>,
    /// `ARGS:q`, `REQUEST_HEADERS:User-Agent`, ... of the last matched variable.
    pub target: String,
    /// The matched value (after transformations).
    pub value: Vec<u8>,
    /// Whether the rule logs (`nolog` rules match silently).
    pub logged: bool,
    pub disruptive: Disruptive,
}

/// A disruptive action that was carried out (engine `On` only).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Interruption {
    pub rule_id: u64,
    pub status: u16,
    pub action: Disruptive,
}

/// Per-transaction changes made by `ctl`.
#[derive(Default)]
struct Overrides {
    removed_ids: Vec<IdRange>,
    removed_tags: Vec<regex::Regex>,
    removed_targets_by_id: Vec<(Vec<IdRange>, Vec<Target>)>,
    removed_targets_by_tag: Vec<(regex::Regex, Vec<Target>)>,
}

/// The request body as the rules see it.
#[derive(Default)]
struct BodyView {
    processed: bool,
    processor: &'static str,
    args: Vec<Arg>,
    files: Vec<palisade_http::FilePart>,
    errors: Vec<String>,
    xml: Vec<Arg>,
}

pub struct Transaction<'a> {
    rules: &'a RuleSet,
    req: &'a RequestModel,
    raw_body: &'a [u8],
    response: Option<&'a Response>,
    tx: HashMap<String, Vec<u8>>,
    env: HashMap<String, Vec<u8>>,
    engine: EngineMode,
    body_access: bool,
    force_body_variable: bool,
    body_processor: Option<String>,
    body: BodyView,
    overrides: Overrides,
    matched_var: Vec<u8>,
    matched_var_name: String,
    matched_vars: Vec<(String, Vec<u8>)>,
    current_rule: Option<(u64, String)>,
    highest_severity: Option<u8>,
    started: Instant,
    unique_id: String,
    /// Rules left to skip (`skip:N`).
    skip: u32,
    /// `allow` ended rule processing: 0 none, else the last phase it covers.
    allowed_through: u8,
    pub matches: Vec<RuleMatch>,
    pub interruption: Option<Interruption>,
    phases_done: u8,
}

impl<'a> Transaction<'a> {
    pub fn new(rules: &'a RuleSet, req: &'a RequestModel, raw_body: &'a [u8]) -> Transaction<'a> {
        static COUNTER: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
        let n = COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        Transaction {
            rules,
            req,
            raw_body,
            response: None,
            tx: HashMap::new(),
            env: HashMap::new(),
            engine: rules.settings.engine,
            body_access: rules.settings.request_body_access,
            force_body_variable: false,
            body_processor: None,
            body: BodyView::default(),
            overrides: Overrides::default(),
            matched_var: Vec::new(),
            matched_var_name: String::new(),
            matched_vars: Vec::new(),
            current_rule: None,
            highest_severity: None,
            started: Instant::now(),
            unique_id: format!("{:x}{n:08x}", std::process::id()),
            skip: 0,
            allowed_through: 0,
            matches: Vec::new(),
            interruption: None,
            phases_done: 0,
        }
    }

    /// Sets a TX variable before the rules run (e.g. the paranoia level).
    pub fn set_tx(&mut self, key: &str, value: &str) {
        self.tx
            .insert(key.to_ascii_lowercase(), value.as_bytes().to_vec());
    }

    pub fn tx(&self, key: &str) -> Option<&[u8]> {
        self.tx.get(&key.to_ascii_lowercase()).map(Vec::as_slice)
    }

    pub fn set_response(&mut self, response: &'a Response) {
        self.response = Some(response);
    }

    /// Runs phases 1 and 2 (headers, then body).
    pub fn process_request(&mut self) {
        self.run_phase(1);
        self.prepare_body();
        self.run_phase(2);
    }

    /// Runs phases 3 and 4 on a response set with [`Transaction::set_response`].
    pub fn process_response(&mut self) {
        self.run_phase(3);
        self.run_phase(4);
    }

    pub fn process_logging(&mut self) {
        self.run_phase(5);
    }

    pub fn run_phase(&mut self, phase: u8) {
        if self.engine == EngineMode::Off || self.phases_done >= phase {
            return;
        }
        self.phases_done = phase;
        if self.interruption.is_some() && phase < 5 {
            return;
        }
        if self.allowed_through >= phase && phase < 5 {
            return;
        }
        let rules = self.rules;
        let entries = &rules.phases[phase as usize];
        self.skip = 0;
        let mut i = 0;
        while i < entries.len() {
            let Entry::Rule(rule) = &entries[i] else {
                i += 1;
                continue;
            };
            if self.skip > 0 {
                self.skip -= 1;
                i += 1;
                continue;
            }
            if self.is_removed(rule) {
                i += 1;
                continue;
            }
            if self.eval_chain(rule) {
                self.after_match(rule);
                if let Some(marker) = &rule.actions.skip_after {
                    i = match rules.marker_index(phase, marker) {
                        Some(m) if m > i => m + 1,
                        _ => entries.len(),
                    };
                    if self.stop_phase(phase) {
                        return;
                    }
                    continue;
                }
                if let Some(n) = rule.actions.skip {
                    self.skip = n;
                }
                if self.stop_phase(phase) {
                    return;
                }
            }
            i += 1;
        }
    }

    fn stop_phase(&self, phase: u8) -> bool {
        (self.interruption.is_some() && phase < 5) || (self.allowed_through >= phase && phase < 5)
    }

    fn is_removed(&self, rule: &Rule) -> bool {
        self.overrides
            .removed_ids
            .iter()
            .any(|r| r.contains(rule.id))
            || self.overrides.removed_tags.iter().any(|t| rule.has_tag(t))
    }

    /// Evaluates a rule and its chain; true when every link matched.
    fn eval_chain(&mut self, rule: &Rule) -> bool {
        // MATCHED_VARS holds what this rule (and its chain so far) matched, nothing older.
        self.matched_vars.clear();
        let mut link = Some(rule);
        let head_id = rule.id;
        let head_tags = &rule.actions.tags;
        while let Some(r) = link {
            self.current_rule = Some((head_id, rule.msg_text()));
            if !self.eval_link(r, head_id, head_tags) {
                return false;
            }
            link = r.chained.as_deref();
        }
        true
    }

    /// One link: every selected value, transformed, through the operator. Per-match actions
    /// (`capture`, `setvar`, `setenv`) run for each matching value, as in ModSecurity.
    fn eval_link(&mut self, r: &Rule, head_id: u64, head_tags: &[String]) -> bool {
        let values: Vec<(String, Vec<u8>)> = if r.unconditional {
            vec![(String::new(), Vec::new())]
        } else {
            self.select(r, head_id, head_tags)
        };
        let mut any = false;
        let mut caps: Captures = Vec::new();
        for (name, value) in values {
            let candidates: Vec<Cow<[u8]>> = if r.actions.multi_match {
                let mut v: Vec<Cow<[u8]>> = vec![Cow::Borrowed(&value[..])];
                let mut cur: Vec<u8> = value.clone();
                for t in &r.transforms {
                    let next = t.apply(&cur).into_owned();
                    if next != cur {
                        v.push(Cow::Owned(next.clone()));
                    }
                    cur = next;
                }
                v
            } else {
                vec![apply_all(&r.transforms, &value)]
            };
            for candidate in candidates {
                if r.operator.eval(&candidate, self, &mut caps) {
                    any = true;
                    if r.actions.capture {
                        for i in 0..10 {
                            let key = i.to_string();
                            match caps.get(i) {
                                Some(c) => {
                                    self.tx.insert(key, c.clone());
                                }
                                None => {
                                    self.tx.remove(&key);
                                }
                            }
                        }
                    }
                    self.matched_var = candidate.to_vec();
                    self.matched_var_name = name.clone();
                    self.matched_vars.push((name.clone(), candidate.to_vec()));
                    self.run_setvars(r);
                    break;
                }
            }
        }
        any
    }

    fn run_setvars(&mut self, r: &Rule) {
        for sv in &r.actions.setvars {
            // IP/GLOBAL/SESSION collections are not persisted; writes to them are ignored.
            let is_tx = match sv.collection.as_str() {
                "TX" => true,
                "ENV" => false,
                _ => continue,
            };
            let key = String::from_utf8_lossy(&sv.key.expand(self)).to_ascii_lowercase();
            match &sv.op {
                SetVarOp::Delete => {
                    self.map_mut(is_tx).remove(&key);
                }
                SetVarOp::Set(t) => {
                    let v = t.expand(self);
                    self.map_mut(is_tx).insert(key, v);
                }
                SetVarOp::Add(t) | SetVarOp::Sub(t) => {
                    let delta = atoi(&t.expand(self));
                    let map = self.map_mut(is_tx);
                    let cur = map.get(&key).map(|v| atoi(v)).unwrap_or(0);
                    let new = if matches!(sv.op, SetVarOp::Add(_)) {
                        cur.saturating_add(delta)
                    } else {
                        cur.saturating_sub(delta)
                    };
                    map.insert(key, new.to_string().into_bytes());
                }
            }
        }
        for (k, t) in &r.actions.setenvs {
            let v = t.expand(self);
            self.env.insert(k.to_ascii_lowercase(), v);
        }
    }

    fn map_mut(&mut self, tx: bool) -> &mut HashMap<String, Vec<u8>> {
        if tx {
            &mut self.tx
        } else {
            &mut self.env
        }
    }

    /// Actions after a full match: ctl, logging, disruptive.
    fn after_match(&mut self, rule: &Rule) {
        let mut link = Some(rule);
        while let Some(r) = link {
            for c in &r.actions.ctls {
                self.apply_ctl(c);
            }
            link = r.chained.as_deref();
        }
        if let Some(s) = rule.actions.severity {
            self.highest_severity = Some(self.highest_severity.map_or(s, |h| h.min(s)));
        }
        let msg = rule
            .actions
            .msg
            .as_ref()
            .map(|t| String::from_utf8_lossy(&t.expand(self)).into_owned())
            .unwrap_or_default();
        let logdata = rule
            .actions
            .logdata
            .as_ref()
            .map(|t| String::from_utf8_lossy(&t.expand(self)).into_owned())
            .unwrap_or_default();
        self.matches.push(RuleMatch {
            id: rule.id,
            phase: rule.phase,
            msg,
            logdata,
            tags: rule.actions.tags.clone(),
            severity: rule.actions.severity,
            paranoia: rule.paranoia,
            target: self.matched_var_name.clone(),
            value: self.matched_var.clone(),
            logged: rule.log,
            disruptive: rule.disruptive,
        });
        self.matched_vars.clear();
        match rule.disruptive {
            Disruptive::Allow => {
                if self.engine == EngineMode::On {
                    self.allowed_through = 4;
                }
            }
            Disruptive::AllowRequest => {
                if self.engine == EngineMode::On {
                    self.allowed_through = 2;
                }
            }
            Disruptive::AllowPhase => {
                if self.engine == EngineMode::On {
                    self.allowed_through = rule.phase;
                }
            }
            Disruptive::Deny | Disruptive::Drop | Disruptive::Redirect => {
                if self.engine == EngineMode::On && self.interruption.is_none() {
                    self.interruption = Some(Interruption {
                        rule_id: rule.id,
                        status: rule.actions.status.unwrap_or(403),
                        action: rule.disruptive,
                    });
                }
            }
            Disruptive::Pass | Disruptive::Block => {}
        }
    }

    fn apply_ctl(&mut self, c: &Ctl) {
        match c {
            Ctl::RuleRemoveById(ids) => self.overrides.removed_ids.extend(ids.iter().copied()),
            Ctl::RuleRemoveByTag(t) => self.overrides.removed_tags.push(t.clone()),
            Ctl::RuleRemoveTargetById(ids, targets) => self
                .overrides
                .removed_targets_by_id
                .push((ids.clone(), targets.clone())),
            Ctl::RuleRemoveTargetByTag(tag, targets) => self
                .overrides
                .removed_targets_by_tag
                .push((tag.clone(), targets.clone())),
            Ctl::RuleEngine(m) => self.engine = *m,
            Ctl::RequestBodyProcessor(p) => self.body_processor = Some(p.clone()),
            Ctl::RequestBodyAccess(on) => self.body_access = *on,
            Ctl::ForceRequestBodyVariable(on) => self.force_body_variable = *on,
            Ctl::ResponseBodyAccess(_) | Ctl::Ignored => {}
        }
    }

    /// The body processor: set by `ctl:requestBodyProcessor`, else chosen by content type
    /// (what ModSecurity's recommended configuration does for XML and JSON).
    fn body_kind(&self) -> BodyKind {
        match self.body_processor.as_deref() {
            Some("URLENCODED") => BodyKind::UrlEncoded,
            Some("JSON") => BodyKind::Json,
            Some("XML") => BodyKind::Xml,
            Some("MULTIPART") => BodyKind::Multipart,
            _ => palisade_http::body::kind_of(&self.req.mime_type().unwrap_or_default()),
        }
    }

    fn processor_name(&self) -> &'static str {
        match self.body_kind() {
            BodyKind::UrlEncoded => "URLENCODED",
            BodyKind::Json => "JSON",
            BodyKind::Xml => "XML",
            BodyKind::Multipart => "MULTIPART",
            _ => "",
        }
    }

    fn prepare_body(&mut self) {
        if !self.body_access {
            return;
        }
        let ct_header = self.req.headers.get_str("content-type");
        let kind = self.body_kind();
        let forced_ct = match kind {
            BodyKind::UrlEncoded => "application/x-www-form-urlencoded".to_string(),
            BodyKind::Json => "application/json".to_string(),
            BodyKind::Xml => "application/xml".to_string(),
            BodyKind::Multipart => ct_header.clone().unwrap_or_default(),
            _ => String::new(),
        };
        self.body.processor = match kind {
            BodyKind::UrlEncoded => "URLENCODED",
            BodyKind::Json => "JSON",
            BodyKind::Xml => "XML",
            BodyKind::Multipart => "MULTIPART",
            _ => "",
        };
        if self.raw_body.is_empty() {
            self.body.processed = true;
            return;
        }
        let parsed = parse_body(Some(&forced_ct), self.raw_body, false);
        self.body.errors = parsed.errors;
        self.body.files = parsed.files;
        if kind == BodyKind::Xml {
            self.body.xml = parsed.args;
        } else {
            self.body.args = parsed.args;
        }
        self.body.processed = true;
    }

    /// The values a rule link inspects, with exclusions applied.
    fn select(&self, r: &Rule, head_id: u64, head_tags: &[String]) -> Vec<(String, Vec<u8>)> {
        let mut out = Vec::new();
        let removed: Vec<&Target> = self
            .overrides
            .removed_targets_by_id
            .iter()
            .filter(|(ids, _)| ids.iter().any(|i| i.contains(head_id)))
            .flat_map(|(_, t)| t.iter())
            .chain(
                self.overrides
                    .removed_targets_by_tag
                    .iter()
                    .filter(|(tag, _)| head_tags.iter().any(|t| tag.is_match(t)))
                    .flat_map(|(_, t)| t.iter()),
            )
            .collect();
        for target in r.targets.iter().filter(|t| !t.exclude) {
            let excluded = |key: &str| {
                r.targets
                    .iter()
                    .filter(|t| t.exclude)
                    .chain(removed.iter().copied())
                    .any(|e| {
                        e.collection == target.collection
                            && (matches!(e.selector, Selector::All) || e.selector.matches(key))
                    })
            };
            if removed
                .iter()
                .any(|e| e.collection == target.collection && matches!(e.selector, Selector::All))
            {
                continue;
            }
            let items = self.collection(&target.collection, &target.selector);
            let items: Vec<(String, Vec<u8>)> = items
                .into_iter()
                .filter(|(k, _)| {
                    target.selector.matches(k)
                        || matches!(target.selector, Selector::All)
                        || k.is_empty()
                })
                .filter(|(k, _)| k.is_empty() || !excluded(k))
                .collect();
            if target.count {
                let name = match &target.selector {
                    Selector::All => target.collection.clone(),
                    s => format!("{}:{}", target.collection, s.text()),
                };
                out.push((name, items.len().to_string().into_bytes()));
                continue;
            }
            for (k, v) in items {
                let name = if target.collection == "MATCHED_VARS" {
                    k
                } else if target.collection == "MATCHED_VAR" {
                    // a chained check of the previous match keeps reporting its origin
                    self.matched_var_name.clone()
                } else if k.is_empty() {
                    target.collection.clone()
                } else {
                    format!("{}:{}", target.collection, k)
                };
                out.push((name, v));
            }
        }
        out
    }

    /// `(key, value)` pairs of a collection; scalars give one pair with an empty key.
    /// `selector` lets keyed lookups (TX, headers) avoid building whole collections.
    fn collection(&self, name: &str, selector: &Selector) -> Vec<(String, Vec<u8>)> {
        let req = self.req;
        let scalar = |v: Vec<u8>| vec![(String::new(), v)];
        let args_get = || {
            req.args_get
                .iter()
                .map(|a| (a.name.clone(), a.value.clone()))
        };
        let args_post = || {
            self.body
                .args
                .iter()
                .map(|a| (a.name.clone(), a.value.clone()))
        };
        let names = |it: Vec<(String, Vec<u8>)>| {
            it.into_iter()
                .map(|(k, _)| (k.clone(), k.into_bytes()))
                .collect::<Vec<_>>()
        };
        match name {
            "ARGS" => args_get().chain(args_post()).collect(),
            "ARGS_GET" => args_get().collect(),
            "ARGS_POST" => args_post().collect(),
            "ARGS_NAMES" => names(args_get().chain(args_post()).collect()),
            "ARGS_GET_NAMES" => names(args_get().collect()),
            "ARGS_POST_NAMES" => names(args_post().collect()),
            "ARGS_COMBINED_SIZE" => {
                let n: usize = args_get()
                    .chain(args_post())
                    .map(|(k, v)| k.len() + v.len())
                    .sum();
                scalar(n.to_string().into_bytes())
            }
            "REQUEST_HEADERS" => match selector {
                Selector::Key(k) => req
                    .headers
                    .iter()
                    .filter(|(name, _)| name.eq_ignore_ascii_case(k))
                    .map(|(name, v)| (name.to_string(), v.to_vec()))
                    .collect(),
                _ => req
                    .headers
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.to_vec()))
                    .collect(),
            },
            "REQUEST_HEADERS_NAMES" => req
                .headers
                .iter()
                .map(|(k, _)| (k.to_string(), k.as_bytes().to_vec()))
                .collect(),
            "REQUEST_COOKIES" => req
                .cookies
                .iter()
                .map(|a| (a.name.clone(), a.value.clone()))
                .collect(),
            "REQUEST_COOKIES_NAMES" => req
                .cookies
                .iter()
                .map(|a| (a.name.clone(), a.name.clone().into_bytes()))
                .collect(),
            "REQUEST_FILENAME" => scalar(request_filename(req)),
            "REQUEST_BASENAME" => {
                let f = request_filename(req);
                let base = match f.iter().rposition(|&b| b == b'/') {
                    Some(i) => f[i + 1..].to_vec(),
                    None => f,
                };
                scalar(base)
            }
            "REQUEST_URI" => scalar(req.uri_raw.as_bytes().to_vec()),
            "REQUEST_URI_RAW" => scalar(req.uri_raw.as_bytes().to_vec()),
            "REQUEST_LINE" => {
                scalar(format!("{} {} {}", req.method, req.uri_raw, req.protocol).into_bytes())
            }
            "REQUEST_METHOD" => scalar(req.method.as_bytes().to_vec()),
            "REQUEST_PROTOCOL" => scalar(req.protocol.as_bytes().to_vec()),
            "QUERY_STRING" => scalar(req.query_raw.as_bytes().to_vec()),
            "REQUEST_BODY" => {
                // ModSecurity and Coraza fill it for URL-encoded and JSON bodies (CRS rules
                // look for JSON keys in it), or when a rule forces it; not for XML/multipart.
                if self.body.processed
                    && (matches!(self.body.processor, "URLENCODED" | "JSON")
                        || self.force_body_variable)
                {
                    scalar(self.raw_body.to_vec())
                } else {
                    Vec::new()
                }
            }
            "REQUEST_BODY_LENGTH" => scalar(self.raw_body.len().to_string().into_bytes()),
            "FULL_REQUEST_LENGTH" => scalar(self.raw_body.len().to_string().into_bytes()),
            "FILES" => self
                .body
                .files
                .iter()
                .map(|f| (f.field.clone(), f.filename.clone().into_bytes()))
                .collect(),
            "FILES_NAMES" => self
                .body
                .files
                .iter()
                .map(|f| (f.field.clone(), f.field.clone().into_bytes()))
                .collect(),
            "FILES_SIZES" => self
                .body
                .files
                .iter()
                .map(|f| (f.field.clone(), f.size.to_string().into_bytes()))
                .collect(),
            "FILES_COMBINED_SIZE" => scalar(
                self.body
                    .files
                    .iter()
                    .map(|f| f.size)
                    .sum::<usize>()
                    .to_string()
                    .into_bytes(),
            ),
            "REQBODY_ERROR" | "REQBODY_PROCESSOR_ERROR" => scalar(if self.body.errors.is_empty() {
                b"0".to_vec()
            } else {
                b"1".to_vec()
            }),
            "REQBODY_ERROR_MSG" => scalar(self.body.errors.join("; ").into_bytes()),
            "REQBODY_PROCESSOR" => scalar(self.processor_name().as_bytes().to_vec()),
            "XML" => self
                .body
                .xml
                .iter()
                .map(|a| (String::new(), a.value.clone()))
                .collect(),
            "TX" => match selector {
                Selector::Key(k) => self
                    .tx
                    .get(k)
                    .map(|v| vec![(k.clone(), v.clone())])
                    .unwrap_or_default(),
                _ => self
                    .tx
                    .iter()
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect(),
            },
            "ENV" => self
                .env
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
            "UNIQUE_ID" => scalar(self.unique_id.clone().into_bytes()),
            "REMOTE_ADDR" => scalar(
                req.client_ip
                    .map(|ip| ip.to_string())
                    .unwrap_or_else(|| "127.0.0.1".into())
                    .into_bytes(),
            ),
            "SERVER_NAME" => scalar(req.host.as_bytes().to_vec()),
            "MATCHED_VAR" => scalar(self.matched_var.clone()),
            "MATCHED_VAR_NAME" => scalar(self.matched_var_name.clone().into_bytes()),
            "MATCHED_VARS" => self.matched_vars.clone(),
            "MATCHED_VARS_NAMES" => self
                .matched_vars
                .iter()
                .map(|(k, _)| (k.clone(), k.clone().into_bytes()))
                .collect(),
            "DURATION" => scalar(self.started.elapsed().as_micros().to_string().into_bytes()),
            "HIGHEST_SEVERITY" => scalar(
                self.highest_severity
                    .map_or(255, u32::from)
                    .to_string()
                    .into_bytes(),
            ),
            "TIME_EPOCH" => scalar(
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map(|d| d.as_secs())
                    .unwrap_or(0)
                    .to_string()
                    .into_bytes(),
            ),
            "RESPONSE_STATUS" => self
                .response
                .map(|r| scalar(r.status.to_string().into_bytes()))
                .unwrap_or_default(),
            "RESPONSE_PROTOCOL" => self
                .response
                .map(|r| scalar(r.protocol.clone().into_bytes()))
                .unwrap_or_default(),
            "RESPONSE_HEADERS" => self
                .response
                .map(|r| {
                    r.headers
                        .iter()
                        .map(|(k, v)| (k.clone(), v.clone()))
                        .collect()
                })
                .unwrap_or_default(),
            "RESPONSE_HEADERS_NAMES" => self
                .response
                .map(|r| {
                    r.headers
                        .iter()
                        .map(|(k, _)| (k.clone(), k.clone().into_bytes()))
                        .collect()
                })
                .unwrap_or_default(),
            "RESPONSE_BODY" => self
                .response
                .filter(|_| self.rules.settings.response_body_access)
                .map(|r| scalar(r.body.clone()))
                .unwrap_or_default(),
            "RESPONSE_CONTENT_TYPE" => self
                .response
                .and_then(|r| {
                    r.headers
                        .iter()
                        .find(|(k, _)| k.eq_ignore_ascii_case("content-type"))
                })
                .map(|(_, v)| scalar(v.clone()))
                .unwrap_or_default(),
            "RESPONSE_CONTENT_LENGTH" => self
                .response
                .map(|r| scalar(r.body.len().to_string().into_bytes()))
                .unwrap_or_default(),
            "MULTIPART_PART_HEADERS" => {
                if self.body.processed && self.body.processor == "MULTIPART" {
                    let ct = self.req.headers.get_str("content-type").unwrap_or_default();
                    multipart_part_headers(&ct, self.raw_body)
                } else {
                    Vec::new()
                }
            }
            n if n.starts_with("MULTIPART_")
                && n != "MULTIPART_PART_HEADERS"
                && n != "MULTIPART_FILENAME"
                && n != "MULTIPART_NAME" =>
            {
                scalar(b"0".to_vec())
            }
            // Collections Palisade does not fill (persistent storage, GEO, ...): empty.
            _ => Vec::new(),
        }
    }
}

/// Every header line of every multipart part, keyed by the part's name (from its
/// `Content-Disposition`), as ModSecurity's MULTIPART_PART_HEADERS.
fn multipart_part_headers(content_type: &str, body: &[u8]) -> Vec<(String, Vec<u8>)> {
    let Some(boundary) = content_type.split(';').find_map(|p| {
        let (k, v) = p.split_once('=')?;
        k.trim()
            .eq_ignore_ascii_case("boundary")
            .then(|| v.trim().trim_matches('"').to_string())
    }) else {
        return Vec::new();
    };
    if boundary.is_empty() {
        return Vec::new();
    }
    let delimiter = format!("--{boundary}").into_bytes();
    let mut positions = Vec::new();
    let mut from = 0;
    while let Some(i) = memchr::memmem::find(&body[from..], &delimiter) {
        positions.push(from + i);
        from += i + delimiter.len();
    }
    let mut out = Vec::new();
    for w in positions.windows(2) {
        let part = &body[w[0] + delimiter.len()..w[1]];
        if part.starts_with(b"--") {
            break;
        }
        // the line end after the delimiter, then header lines up to a blank line
        let mut rest = part
            .strip_prefix(b"\r\n")
            .or_else(|| part.strip_prefix(b"\n"))
            .unwrap_or(part);
        let mut lines = Vec::new();
        loop {
            let end = rest.iter().position(|&b| b == b'\n').unwrap_or(rest.len());
            let line = &rest[..end];
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            if line.is_empty() {
                break;
            }
            lines.push(line.to_vec());
            if end >= rest.len() {
                break;
            }
            rest = &rest[end + 1..];
        }
        let name = lines.iter().find_map(|l| part_name(l)).unwrap_or_default();
        out.extend(lines.into_iter().map(|l| (name.clone(), l)));
    }
    out
}

/// `name` of a `Content-Disposition: form-data; name="x"; filename="y"` line.
fn part_name(line: &[u8]) -> Option<String> {
    let text = String::from_utf8_lossy(line);
    let lower = text.to_ascii_lowercase();
    if !lower.starts_with("content-disposition") {
        return None;
    }
    // `filename=` contains `name=`: take the one not preceded by a letter
    let bytes = lower.as_bytes();
    let mut search = 0;
    let idx = loop {
        let k = search + lower[search..].find("name=")?;
        if k == 0 || !bytes[k - 1].is_ascii_alphabetic() {
            break k;
        }
        search = k + 5;
    };
    let v = text[idx + 5..].trim_start();
    Some(match v.strip_prefix('"') {
        Some(q) => q.split('"').next().unwrap_or("").to_string(),
        None => v.split(';').next().unwrap_or("").trim().to_string(),
    })
}

fn request_filename(req: &RequestModel) -> Vec<u8> {
    palisade_http::urlencoded::percent_decode(req.path_raw.as_bytes(), false)
}

fn apply_all<'v>(pipeline: &[Transform], value: &'v [u8]) -> Cow<'v, [u8]> {
    palisade_http::transform::apply_all(pipeline, value)
}

fn atoi(v: &[u8]) -> i64 {
    let s = String::from_utf8_lossy(v);
    let s = s.trim();
    let (neg, digits) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    let end = digits
        .bytes()
        .position(|b| !b.is_ascii_digit())
        .unwrap_or(digits.len());
    let n: i64 = digits[..end].parse().unwrap_or(0);
    if neg {
        -n
    } else {
        n
    }
}

impl Resolve for Transaction<'_> {
    fn resolve(&self, collection: &str, key: &str) -> Option<Vec<u8>> {
        match collection {
            "RULE" => {
                let (id, msg) = self.current_rule.as_ref()?;
                return match key.to_ascii_lowercase().as_str() {
                    "id" => Some(id.to_string().into_bytes()),
                    "msg" => Some(msg.clone().into_bytes()),
                    _ => None,
                };
            }
            "TX" => return self.tx.get(&key.to_ascii_lowercase()).cloned(),
            _ => {}
        }
        let selector = if key.is_empty() {
            Selector::All
        } else {
            Selector::Key(key.to_ascii_lowercase())
        };
        self.collection(collection, &selector)
            .into_iter()
            .find(|(k, _)| key.is_empty() || k.is_empty() || k.eq_ignore_ascii_case(key))
            .map(|(_, v)| v)
    }
}
