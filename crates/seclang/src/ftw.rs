//! The OWASP CRS regression suite (go-ftw YAML files), run in-process.
//!
//! Each test stage is turned into the bytes go-ftw would send (same header completion and
//! form encoding), parsed the way a lenient web server would, run through the rule set in
//! detection-only mode with a response like the suite's `albedo` backend gives, and judged
//! on the rule ids that were logged (`expect_ids`, `no_expect_ids`), the log text
//! (`match_regex`, `no_match_regex`) and the status where one is given.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use base64::Engine as _;
use palisade_http::{Headers, RequestModel};
use serde_yaml::Value;

use crate::ruleset::RuleSet;
use crate::transaction::{Response, Transaction};

/// What a stage must produce.
#[derive(Debug, Default, Clone)]
pub struct Expect {
    pub ids: Vec<u64>,
    pub no_ids: Vec<u64>,
    pub match_regex: Option<String>,
    pub no_match_regex: Option<String>,
    pub status: Vec<u16>,
}

#[derive(Debug, Clone)]
pub struct Stage {
    /// The request bytes, as go-ftw would send them.
    pub request: Vec<u8>,
    pub expect: Expect,
}

#[derive(Debug, Clone)]
pub struct FtwTest {
    pub file: PathBuf,
    /// `942100-3`
    pub name: String,
    pub stages: Vec<Stage>,
}

/// The outcome of one test.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub name: String,
    pub file: PathBuf,
    pub passed: bool,
    /// Why it failed.
    pub detail: String,
}

/// Reads every `*.yaml` under `dir` (recursively), sorted by path.
pub fn load_dir(dir: &Path) -> Result<Vec<FtwTest>, String> {
    let mut files = Vec::new();
    collect_yaml(dir, &mut files).map_err(|e| format!("{}: {e}", dir.display()))?;
    files.sort();
    let mut out = Vec::new();
    for f in files {
        out.extend(load_file(&f)?);
    }
    Ok(out)
}

fn collect_yaml(dir: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    for e in std::fs::read_dir(dir)? {
        let p = e?.path();
        if p.is_dir() {
            collect_yaml(&p, out)?;
        } else if p.extension().is_some_and(|x| x == "yaml" || x == "yml") {
            out.push(p);
        }
    }
    Ok(())
}

fn as_str(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

fn ids(v: Option<&Value>) -> Vec<u64> {
    match v {
        Some(Value::Sequence(items)) => items
            .iter()
            .filter_map(|i| as_str(i).and_then(|s| s.trim().parse().ok()))
            .collect(),
        Some(other) => as_str(other)
            .and_then(|s| s.trim().parse().ok())
            .into_iter()
            .collect(),
        None => Vec::new(),
    }
}

pub fn load_file(path: &Path) -> Result<Vec<FtwTest>, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let doc: Value = serde_yaml::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
    let rule_id = doc.get("rule_id").and_then(as_str).unwrap_or_default();
    let mut out = Vec::new();
    let Some(Value::Sequence(tests)) = doc.get("tests") else {
        return Ok(Vec::new()); // a file of comments only
    };
    for (n, t) in tests.iter().enumerate() {
        let test_id = t
            .get("test_id")
            .and_then(as_str)
            .unwrap_or_else(|| (n + 1).to_string());
        let mut stages = Vec::new();
        if let Some(Value::Sequence(ss)) = t.get("stages") {
            for s in ss {
                // older files wrap each stage in `stage:`
                let s = s.get("stage").unwrap_or(s);
                let input = s.get("input").cloned().unwrap_or(Value::Null);
                let output = s.get("output").cloned().unwrap_or(Value::Null);
                let log = output.get("log");
                let pick = |k: &str| log.and_then(|l| l.get(k)).or_else(|| output.get(k));
                let mut expect = Expect {
                    ids: ids(pick("expect_ids")),
                    no_ids: ids(pick("no_expect_ids")),
                    match_regex: pick("match_regex").and_then(as_str),
                    no_match_regex: pick("no_match_regex").and_then(as_str),
                    status: Vec::new(),
                };
                if let Some(lc) = pick("log_contains").and_then(as_str) {
                    expect.match_regex = Some(lc);
                }
                if let Some(nlc) = pick("no_log_contains").and_then(as_str) {
                    expect.no_match_regex = Some(nlc);
                }
                match output.get("status") {
                    Some(Value::Sequence(v)) => {
                        expect.status = v.iter().filter_map(|x| as_str(x)?.parse().ok()).collect()
                    }
                    Some(v) => {
                        expect.status = as_str(v).and_then(|s| s.parse().ok()).into_iter().collect()
                    }
                    None => {}
                }
                let request = build_request(&input)
                    .map_err(|e| format!("{}: test {test_id}: {e}", path.display()))?;
                stages.push(Stage { request, expect });
            }
        }
        out.push(FtwTest {
            file: path.to_path_buf(),
            name: format!("{rule_id}-{test_id}"),
            stages,
        });
    }
    Ok(out)
}

/// Log lines escape control characters as ModSecurity does (`\x0d`), so one match is
/// one line.
fn escape_log(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if (c as u32) < 0x20 || c as u32 == 0x7f {
            out.push_str(&format!("\\x{:02x}", c as u32));
        } else {
            out.push(c);
        }
    }
    out
}

/// The bytes go-ftw sends for a stage's `input`.
pub fn build_request(input: &Value) -> Result<Vec<u8>, String> {
    if let Some(enc) = input.get("encoded_request").and_then(as_str) {
        let clean: String = enc.chars().filter(|c| !c.is_whitespace()).collect();
        return base64::engine::general_purpose::STANDARD
            .decode(clean)
            .map_err(|e| format!("encoded_request: {e}"));
    }
    if let Some(raw) = input.get("raw_request").and_then(as_str) {
        return Ok(raw.into_bytes());
    }
    let method = input
        .get("method")
        .and_then(as_str)
        .unwrap_or_else(|| "GET".into());
    let uri = input
        .get("uri")
        .and_then(as_str)
        .unwrap_or_else(|| "/".into());
    let version = input
        .get("version")
        .and_then(as_str)
        .unwrap_or_else(|| "HTTP/1.1".into());
    let autocomplete = input
        .get("autocomplete_headers")
        .and_then(Value::as_bool)
        .unwrap_or(true);
    let mut headers: Vec<(String, String)> = Vec::new();
    if let Some(Value::Mapping(m)) = input.get("headers") {
        for (k, v) in m {
            if let (Some(k), Some(v)) = (as_str(k), as_str(v)) {
                headers.push((k, v));
            }
        }
    }
    let has = |headers: &[(String, String)], name: &str| {
        headers.iter().any(|(k, _)| k.eq_ignore_ascii_case(name))
    };
    let mut data: Vec<u8> = input
        .get("data")
        .and_then(as_str)
        .map(String::into_bytes)
        .unwrap_or_default();
    if !data.is_empty() && autocomplete {
        if !has(&headers, "Content-Type") {
            headers.push((
                "Content-Type".into(),
                "application/x-www-form-urlencoded".into(),
            ));
        }
        let ct = headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case("Content-Type"))
            .map(|(_, v)| v.clone())
            .unwrap_or_default();
        if ct == "application/x-www-form-urlencoded" {
            data = encode_form_like_go_ftw(&data);
        }
    }
    let ct = headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("Content-Type"))
        .map(|(_, v)| v.clone())
        .unwrap_or_default();
    if ct.starts_with("multipart/form-data;") {
        let mut v = Vec::with_capacity(data.len() + 64);
        for &b in &data {
            if b == b'\n' {
                v.push(b'\r');
            }
            v.push(b);
        }
        // the replacement is of every LF, so an existing CRLF becomes CR CR LF, as in go-ftw
        data = v;
    }
    if autocomplete {
        if !has(&headers, "Connection") {
            headers.push(("Connection".into(), "close".into()));
        }
        let body_method = method.starts_with("POST")
            || method.contains("PUT")
            || method.contains("PATCH")
            || method.ends_with("DELETE");
        if (!data.is_empty() || body_method) && !has(&headers, "Content-Length") {
            headers.push(("Content-Length".into(), data.len().to_string()));
        }
    }
    let mut out = format!("{method} {uri} {version}\r\n").into_bytes();
    for (k, v) in &headers {
        out.extend_from_slice(format!("{k}: {v}\r\n").as_bytes());
    }
    out.extend_from_slice(b"\r\n");
    out.extend_from_slice(&data);
    Ok(out)
}

/// go-ftw encodes `key=value&...` form data when unescaping it changes nothing (so data
/// that is already encoded is sent as is).
fn encode_form_like_go_ftw(data: &[u8]) -> Vec<u8> {
    let text = String::from_utf8_lossy(data);
    match query_unescape(&text) {
        Some(u) if u == text => {}
        _ => return data.to_vec(),
    }
    let mut parts = Vec::new();
    for token in text.split('&') {
        match token.split_once('=') {
            None => parts.push(query_escape(token)),
            Some((k, v)) => parts.push(format!("{}={}", query_escape(k), query_escape(v))),
        }
    }
    parts.join("&").into_bytes()
}

/// Go's `url.QueryUnescape`: `+` is a space; a bad escape is an error.
fn query_unescape(s: &str) -> Option<String> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'%' => {
                let h = |c: u8| (c as char).to_digit(16);
                let (Some(a), Some(c)) = (
                    b.get(i + 1).and_then(|&c| h(c)),
                    b.get(i + 2).and_then(|&c| h(c)),
                ) else {
                    return None;
                };
                out.push((a * 16 + c) as u8);
                i += 3;
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            c => {
                out.push(c);
                i += 1;
            }
        }
    }
    Some(String::from_utf8_lossy(&out).into_owned())
}

/// Go's `url.QueryEscape`.
fn query_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for &c in s.as_bytes() {
        match c {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(c as char)
            }
            b' ' => out.push('+'),
            _ => out.push_str(&format!("%{c:02X}")),
        }
    }
    out
}

/// A request as a lenient HTTP/1.x server reads it, or the status it answers with.
pub struct Parsed {
    pub model: RequestModel,
    pub body: Vec<u8>,
}

pub fn parse_lenient(raw: &[u8]) -> Result<Parsed, u16> {
    let (head_end, sep) = match find(raw, b"\r\n\r\n") {
        Some(i) => (i, 4),
        None => match find(raw, b"\n\n") {
            Some(i) => (i, 2),
            None => (raw.len(), 0),
        },
    };
    let head = String::from_utf8_lossy(&raw[..head_end]).into_owned();
    let rest = &raw[(head_end + sep).min(raw.len())..];
    let mut lines = head.split('\n').map(|l| l.strip_suffix('\r').unwrap_or(l));
    let request_line = lines.next().ok_or(400u16)?;
    let mut parts = request_line.split(' ').filter(|p| !p.is_empty());
    let method = parts.next().ok_or(400u16)?.to_string();
    let target = parts.next().ok_or(400u16)?.to_string();
    let protocol = parts.next().unwrap_or("HTTP/0.9").to_string();
    if parts.next().is_some() {
        return Err(400);
    }
    let mut headers = Headers::default();
    let mut last: Option<usize> = None;
    for line in lines {
        if line.starts_with(' ') || line.starts_with('\t') {
            // obsolete line folding: continue the previous header
            if let Some(i) = last {
                let v = &mut headers.0[i].1;
                v.push(b' ');
                v.extend_from_slice(line.trim().as_bytes());
                continue;
            }
            return Err(400);
        }
        let (name, value) = line.split_once(':').ok_or(400u16)?;
        if name.is_empty() || name.contains(' ') {
            return Err(400);
        }
        headers.push(name, value.trim().as_bytes().to_vec());
        last = Some(headers.0.len() - 1);
    }
    let chunked = headers.get_all("transfer-encoding").any(|v| {
        String::from_utf8_lossy(v)
            .to_ascii_lowercase()
            .contains("chunked")
    });
    if chunked {
        // A server that decodes chunked framing ignores (and does not pass on) a
        // Content-Length sent beside it (RFC 9112 §6.3).
        headers
            .0
            .retain(|(k, _)| !k.eq_ignore_ascii_case("content-length"));
    }
    let body = if chunked {
        decode_chunked(rest).ok_or(400u16)?
    } else if let Some(cl) = headers.get_str("content-length") {
        let n: usize = cl.trim().parse().map_err(|_| 400u16)?;
        rest[..n.min(rest.len())].to_vec()
    } else {
        Vec::new()
    };
    let model = RequestModel::from_head(&method, &target, &protocol, headers);
    Ok(Parsed { model, body })
}

fn find(h: &[u8], n: &[u8]) -> Option<usize> {
    h.windows(n.len()).position(|w| w == n)
}

fn decode_chunked(mut input: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    loop {
        let end = find(input, b"\r\n").or_else(|| find(input, b"\n"))?;
        let size_text = String::from_utf8_lossy(&input[..end]);
        let size = usize::from_str_radix(size_text.split(';').next()?.trim(), 16).ok()?;
        let skip = if input.get(end) == Some(&b'\r') { 2 } else { 1 };
        input = &input[end + skip..];
        if size == 0 {
            return Some(out);
        }
        out.extend_from_slice(input.get(..size)?);
        input = &input[size..];
        input = input
            .strip_prefix(b"\r\n")
            .or_else(|| input.strip_prefix(b"\n"))
            .unwrap_or(input);
    }
}

/// Whether the request head parses with httparse, as Palisade's HTTP/1 front end does it
/// (request line, header syntax, version).
fn strict_parse_ok(raw: &[u8]) -> bool {
    let mut storage = [httparse::EMPTY_HEADER; 128];
    let mut req = httparse::Request::new(&mut storage);
    matches!(req.parse(raw), Ok(httparse::Status::Complete(_)))
}

/// What a transaction does with a request (see [`transaction_outcome`]): its matches (rule,
/// target, value, message, data), its TX but the time and the per-transaction id (which
/// differ between any two runs), and its interruption.
pub type TxOutcome = (Vec<String>, Vec<(String, Vec<u8>)>, String);

/// Runs `parsed` through `rules` at paranoia level `level`, request phases then response
/// phases on [`albedo_response`]'s answer, with the engine's shortcuts or `exhaustive`ly
/// (every rule on every value). The shortcuts must never change the outcome:
/// `tests/shortcuts.rs` and the `crs_shortcuts` fuzz target compare the two.
pub fn transaction_outcome(
    rules: &RuleSet,
    parsed: &Parsed,
    level: &str,
    exhaustive: bool,
) -> TxOutcome {
    let mut tx = Transaction::new(rules, &parsed.model, &parsed.body);
    tx.set_exhaustive(exhaustive);
    tx.set_tx("blocking_paranoia_level", level);
    tx.set_tx("detection_paranoia_level", level);
    tx.process_request();
    let resp = albedo_response(&parsed.model, &parsed.body);
    tx.set_response(&resp);
    tx.process_response();
    let matches = tx
        .matches
        .iter()
        .map(|m| {
            format!(
                "{} {} {:?} {} | {}",
                m.id,
                m.target,
                String::from_utf8_lossy(&m.value),
                m.msg,
                m.logdata
            )
        })
        .collect();
    (
        matches,
        comparable_tx_vars(&tx),
        format!("{:?}", tx.interruption),
    )
}

/// A transaction's TX variables but the time and the per-transaction id, which differ
/// between any two runs.
pub fn comparable_tx_vars(tx: &Transaction) -> Vec<(String, Vec<u8>)> {
    tx.tx_vars()
        .into_iter()
        .filter(|(k, _)| !matches!(*k, "duration" | "unique_id"))
        .map(|(k, v)| (k.to_string(), v.to_vec()))
        .collect()
}

/// The response the suite's `albedo` backend gives: `POST /reflect` echoes a JSON spec.
pub fn albedo_response(req: &RequestModel, body: &[u8]) -> Response<'static> {
    let mut resp = Response {
        status: 200,
        protocol: "HTTP/1.1".into(),
        headers: Vec::new().into(),
        body: Vec::new().into(),
    };
    let path = req.path_raw.trim_end_matches('/');
    if req.method == "POST" && path == "/reflect" {
        match serde_json::from_slice::<serde_json::Value>(body) {
            Ok(spec) => {
                if let Some(s) = spec.get("status").and_then(serde_json::Value::as_u64) {
                    resp.status = s as u16;
                }
                if let Some(h) = spec.get("headers").and_then(|h| h.as_object()) {
                    for (k, v) in h {
                        let v = match v {
                            serde_json::Value::String(s) => s.clone(),
                            other => other.to_string(),
                        };
                        resp.headers.to_mut().push((k.clone(), v.into_bytes()));
                    }
                }
                if let Some(b) = spec
                    .get("body")
                    .and_then(|b| b.as_str())
                    .filter(|b| !b.is_empty())
                {
                    resp.body = b.as_bytes().to_vec().into();
                } else if let Some(b) = spec.get("encodedBody").and_then(|b| b.as_str()) {
                    resp.body = base64::engine::general_purpose::STANDARD
                        .decode(b)
                        .unwrap_or_default()
                        .into();
                }
            }
            Err(_) => {
                resp.status = 400;
                resp.body = b"Invalid JSON in request body".to_vec().into();
            }
        }
    }
    if !resp.body.is_empty()
        && !resp
            .headers
            .iter()
            .any(|(k, _)| k.eq_ignore_ascii_case("content-type"))
    {
        let ct = sniff(&resp.body);
        resp.headers
            .to_mut()
            .push(("Content-Type".into(), ct.as_bytes().to_vec()));
    }
    resp.headers.to_mut().push((
        "Content-Length".into(),
        resp.body.len().to_string().into_bytes(),
    ));
    resp
}

/// The text/* branches of Go's `http.DetectContentType`, as albedo uses it.
fn sniff(body: &[u8]) -> &'static str {
    let start = body
        .iter()
        .position(|b| !matches!(b, b'\t' | b'\n' | 0x0c | b'\r' | b' '))
        .unwrap_or(body.len());
    let head: Vec<u8> = body[start..body.len().min(start + 512)].to_ascii_lowercase();
    for p in [
        "<!doctype html",
        "<html",
        "<head",
        "<script",
        "<iframe",
        "<h1",
        "<div",
        "<font",
        "<table",
        "<a",
        "<style",
        "<title",
        "<b",
        "<body",
        "<br",
        "<p",
        "<!--",
    ] {
        if head.starts_with(p.as_bytes()) && matches!(head.get(p.len()), Some(b' ') | Some(b'>')) {
            return "text/html; charset=utf-8";
        }
    }
    if head.starts_with(b"<?xml") {
        return "text/xml; charset=utf-8";
    }
    if body[..body.len().min(512)].iter().any(|&b| {
        b <= 0x08 || b == 0x0b || (0x0e..=0x1a).contains(&b) || (0x1c..=0x1f).contains(&b)
    }) {
        return "application/octet-stream";
    }
    "text/plain; charset=utf-8"
}

/// Documented differences (test name → reason) that make a test count as skipped.
pub type Overrides = BTreeMap<String, String>;

/// Reads an overrides file: lines `TEST-NAME reason...`, `#` comments.
pub fn load_overrides(path: &Path) -> Result<Overrides, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut out = Overrides::new();
    for (i, line) in text.lines().enumerate() {
        let l = line.trim();
        if l.is_empty() || l.starts_with('#') {
            continue;
        }
        let (name, reason) = l
            .split_once(char::is_whitespace)
            .ok_or_else(|| format!("{}:{}: expected `TEST-NAME reason`", path.display(), i + 1))?;
        if reason.trim().is_empty() {
            return Err(format!(
                "{}:{}: an override needs a reason",
                path.display(),
                i + 1
            ));
        }
        out.insert(name.to_string(), reason.trim().to_string());
    }
    Ok(out)
}

/// Runs one test against `rules`.
pub fn run_test(rules: &RuleSet, test: &FtwTest) -> Outcome {
    let mut failures = Vec::new();
    for (i, stage) in test.stages.iter().enumerate() {
        // Palisade's front end (hyper, on httparse) answers 400 to what it cannot parse
        // before any rule runs; the lenient parse below still shows what the rules would do.
        let front_end_rejects = !strict_parse_ok(&stage.request);
        let (status, log, logged_ids, where_) = match parse_lenient(&stage.request) {
            Err(status) => (status, String::new(), Vec::new(), Vec::new()),
            Ok(parsed) => {
                let mut tx = Transaction::new(rules, &parsed.model, &parsed.body);
                tx.process_request();
                let resp = albedo_response(&parsed.model, &parsed.body);
                tx.set_response(&resp);
                tx.process_response();
                tx.process_logging();
                let status = tx.interruption.as_ref().map_or(resp.status, |i| i.status);
                let mut log = String::new();
                let mut ids = Vec::new();
                let mut where_ = Vec::new();
                for m in tx.matches.iter().filter(|m| m.logged) {
                    ids.push(m.id);
                    where_.push(format!("{}@{}", m.id, m.target));
                    log.push_str(&format!(
                        "ModSecurity: Warning. Matched \"{}\" [id \"{}\"] [msg \"{}\"] [data \"{}\"]\n",
                        m.target,
                        m.id,
                        escape_log(&m.msg),
                        escape_log(&m.logdata)
                    ));
                }
                (status, log, ids, where_)
            }
        };
        let status = if front_end_rejects { 400 } else { status };
        let e = &stage.expect;
        let mut why = Vec::new();
        for id in &e.ids {
            if !logged_ids.contains(id) {
                why.push(format!("expected {id}"));
            }
        }
        for id in &e.no_ids {
            if logged_ids.contains(id) {
                why.push(format!("unexpected {id}"));
            }
        }
        if let Some(re) = &e.match_regex {
            if !regex::Regex::new(re).is_ok_and(|r| r.is_match(&log)) {
                why.push(format!("log lacks /{re}/"));
            }
        }
        if let Some(re) = &e.no_match_regex {
            if regex::Regex::new(re).is_ok_and(|r| r.is_match(&log)) {
                why.push(format!("log has /{re}/"));
            }
        }
        if !e.status.is_empty() && !e.status.contains(&status) {
            why.push(format!("status {status}, expected {:?}", e.status));
        }
        if !why.is_empty() {
            let mut fired = logged_ids.clone();
            fired.sort_unstable();
            fired.dedup();
            failures.push(format!(
                "stage {}: {} (logged: {:?}; where: {})",
                i + 1,
                why.join(", "),
                fired,
                where_.join(" ")
            ));
        }
    }
    Outcome {
        name: test.name.clone(),
        file: test.file.clone(),
        passed: failures.is_empty(),
        detail: failures.join("; "),
    }
}

/// The result of a whole suite run.
#[derive(Debug, Default)]
pub struct Report {
    pub passed: usize,
    pub failed: Vec<Outcome>,
    pub skipped: usize,
    pub rules: usize,
    pub load_ms: u128,
    pub run_ms: u128,
}

impl Report {
    /// Pass rate of the runnable (not skipped) tests, in percent.
    pub fn pass_rate(&self) -> f64 {
        let runnable = self.passed + self.failed.len();
        if runnable == 0 {
            0.0
        } else {
            100.0 * self.passed as f64 / runnable as f64
        }
    }

    /// `N passed, M failed[, K skipped]`.
    pub fn summary(&self) -> String {
        let mut s = format!("{} passed, {} failed", self.passed, self.failed.len());
        if self.skipped > 0 {
            s.push_str(&format!(", {} skipped", self.skipped));
        }
        s
    }
}

/// Loads the CRS from `crs_dir` with [`TEST_PREAMBLE`] and runs the tests under `tests_dir`
/// (those whose name or path contains `only`, if given), skipping `overrides`.
pub fn run_suite(
    tests_dir: &Path,
    crs_dir: &Path,
    overrides: &Overrides,
    only: Option<&str>,
) -> Result<Report, String> {
    let load = crate::CrsLoad {
        dir: crs_dir.to_path_buf(),
        preamble: TEST_PREAMBLE.to_string(),
        ..Default::default()
    };
    let started = std::time::Instant::now();
    let rules = load.load().map_err(|e| format!("loading CRS: {e}"))?;
    let mut report = Report {
        rules: rules.rule_count(),
        load_ms: started.elapsed().as_millis(),
        ..Report::default()
    };
    let tests = load_dir(tests_dir)?;
    let started = std::time::Instant::now();
    for test in &tests {
        if let Some(only) = only {
            if !test.name.contains(only) && !test.file.to_string_lossy().contains(only) {
                continue;
            }
        }
        if overrides.contains_key(&test.name) {
            report.skipped += 1;
            continue;
        }
        let outcome = run_test(&rules, test);
        if outcome.passed {
            report.passed += 1;
        } else {
            report.failed.push(outcome);
        }
    }
    report.run_ms = started.elapsed().as_millis();
    Ok(report)
}

/// Settings the CRS project's own test deployment uses (its docker-compose environment):
/// paranoia level 4 in detection-only mode, UTF-8 validation on, and its argument limits.
pub const TEST_PREAMBLE: &str = r#"
SecRuleEngine DetectionOnly
SecRequestBodyAccess On
SecResponseBodyAccess On
SecAction "id:900005,phase:1,nolog,pass,ctl:ruleEngine=DetectionOnly,ctl:ruleRemoveById=910000,setvar:tx.blocking_paranoia_level=4,setvar:tx.crs_validate_utf8_encoding=1,setvar:tx.arg_name_length=100,setvar:tx.arg_length=400,setvar:tx.total_arg_length=64000,setvar:tx.max_num_args=255,setvar:tx.max_file_size=64100,setvar:tx.combined_file_sizes=65535"
"#;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn form_data_is_encoded_like_go_ftw() {
        assert_eq!(
            encode_form_like_go_ftw(b"var=1234 OR 1=1"),
            b"var=1234+OR+1%3D1"
        );
        // already encoded: left alone
        assert_eq!(encode_form_like_go_ftw(b"a=%27x"), b"a=%27x");
        assert_eq!(encode_form_like_go_ftw(b"a=b+c"), b"a=b+c");
    }

    #[test]
    fn builds_the_bytes_go_ftw_sends() {
        let input: Value = serde_yaml::from_str(
            "method: POST\nuri: /post\nheaders:\n  Host: localhost\ndata: \"q=1 or 1\"\n",
        )
        .unwrap();
        let raw = String::from_utf8(build_request(&input).unwrap()).unwrap();
        assert_eq!(
            raw,
            "POST /post HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/x-www-form-urlencoded\r\nConnection: close\r\nContent-Length: 8\r\n\r\nq=1+or+1"
        );
        let p = parse_lenient(raw.as_bytes()).ok().unwrap();
        assert_eq!(p.body, b"q=1+or+1");
        assert_eq!(p.model.method, "POST");
    }

    #[test]
    fn lenient_parser_rejects_what_servers_reject() {
        assert_eq!(parse_lenient(b"GET\r\n\r\n").err(), Some(400));
        assert_eq!(
            parse_lenient(b"GET / HTTP/1.1\r\nbad header\r\n\r\n").err(),
            Some(400)
        );
        assert!(parse_lenient(b"GET / HTTP/1.1\r\nX: a\r\n b\r\n\r\n").is_ok());
    }
}
