//! Shared helpers of the integration tests: reading a CRS rule's targets and transformations
//! from the rule files themselves, building request models and evaluating `@detectSQLi` /
//! `@detectXSS` the way the CRS rule would on one request.
//!
//! The CRS data lives outside the repository (`/work/shared/data/crs`, also present in CI);
//! it is read at test time, never copied.

#![allow(dead_code)] // each test binary uses a different subset

use std::path::PathBuf;

use palisade_http::transform::{apply_all, Transform};
use palisade_http::{BodyKind, Headers, RequestModel};

/// `shared/data` of the checkout: three levels above this crate's manifest.
pub fn shared_data() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data")
}

pub fn crs_dir() -> PathBuf {
    shared_data().join("crs")
}

/// Which libinjection operator a rule runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    DetectSqli,
    DetectXss,
}

/// The parts of one CRS `SecRule` that decide whether it fires on a request.
#[derive(Debug, Clone)]
pub struct Rule {
    pub id: u32,
    pub variables: Vec<String>,
    pub transforms: Vec<Transform>,
    pub op: Op,
}

/// Finds `SecRule ... "id:<id>,..."` in the CRS rule files and extracts its variables,
/// operator and `t:` pipeline. Panics (failing the test) when the rule is missing or uses a
/// transformation or operator these tests do not model: a silent fallback would make the
/// regression numbers meaningless.
pub fn load_rule(id: u32) -> Rule {
    let rules_dir = crs_dir().join("rules");
    let mut entries: Vec<PathBuf> = std::fs::read_dir(&rules_dir)
        .unwrap_or_else(|e| panic!("reading {}: {e}", rules_dir.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "conf"))
        .collect();
    entries.sort();
    let needle = format!("\"id:{id},");
    for path in entries {
        let text = std::fs::read_to_string(&path).unwrap_or_default();
        // Join backslash-continued lines into whole directives.
        let joined = text.replace("\\\n", " ");
        for line in joined.lines() {
            let line = line.trim();
            if line.starts_with("SecRule ") && line.contains(&needle) {
                return parse_secrule(id, line);
            }
        }
    }
    panic!("rule {id} not found under {}", rules_dir.display());
}

fn parse_secrule(id: u32, line: &str) -> Rule {
    let rest = line.trim_start_matches("SecRule ").trim_start();
    let (vars, rest) = rest
        .split_once(char::is_whitespace)
        .unwrap_or_else(|| panic!("rule {id}: no operator"));
    let rest = rest.trim_start();
    let op_text = quoted(rest).unwrap_or_else(|| panic!("rule {id}: unquoted operator"));
    let op = match op_text.trim() {
        "@detectSQLi" => Op::DetectSqli,
        "@detectXSS" => Op::DetectXss,
        other => panic!("rule {id}: operator {other} is not a libinjection operator"),
    };
    let after_op = &rest[op_text.len() + 2..];
    let actions = quoted(after_op.trim_start()).unwrap_or_else(|| panic!("rule {id}: no actions"));
    let mut transforms = Vec::new();
    for action in actions.split(',') {
        let action = action.trim();
        if let Some(name) = action.strip_prefix("t:") {
            if name.eq_ignore_ascii_case("none") {
                transforms.clear();
                continue;
            }
            let t = Transform::from_name(name)
                .unwrap_or_else(|| panic!("rule {id}: unknown transformation {name}"));
            transforms.push(t);
        }
    }
    Rule {
        id,
        variables: vars.split('|').map(str::to_string).collect(),
        transforms,
        op,
    }
}

/// The content of a leading `"..."` (no escapes occur in the rules we read).
fn quoted(s: &str) -> Option<&str> {
    let s = s.strip_prefix('"')?;
    let end = s.find('"')?;
    Some(&s[..end])
}

/// Builds a request model from its parts, as the proxy would see it.
pub fn request(method: &str, uri: &str, headers: &[(String, String)], body: &[u8]) -> RequestModel {
    let mut h = Headers::default();
    for (n, v) in headers {
        h.push(n.clone(), v.as_bytes().to_vec());
    }
    let mut model = RequestModel::from_head(method, uri, "HTTP/1.1", h);
    if !body.is_empty() {
        model.attach_body(body.to_vec(), false);
    }
    model
}

/// One value a rule inspects: the variable's name (`ARGS:q`) and the raw value.
#[derive(Debug, Clone)]
pub struct Target {
    pub name: String,
    pub value: Vec<u8>,
}

fn is_xml(model: &RequestModel) -> bool {
    model.body.as_ref().is_some_and(|b| b.kind == BodyKind::Xml)
}

/// Values of one SecLang variable in `model`. ModSecurity does not put XML bodies in ARGS,
/// only in the XML collection; palisade-http's body args hold XML text and attribute values,
/// so they answer `XML:/*` and `XML://@*` and are left out of `ARGS`.
pub fn variable_values(var: &str, model: &RequestModel) -> Vec<Target> {
    let mut out = Vec::new();
    let body_args = model
        .body
        .iter()
        .flat_map(|b| b.args.iter())
        .filter(|_| !is_xml(model));
    let all_args = model.args_get.iter().chain(body_args);
    match var {
        "ARGS" => out.extend(all_args.map(|a| Target {
            name: format!("ARGS:{}", a.name),
            value: a.value.to_vec(),
        })),
        "ARGS_NAMES" => out.extend(all_args.map(|a| Target {
            name: format!("ARGS_NAMES:{}", a.name),
            value: a.name.as_bytes().to_vec(),
        })),
        "REQUEST_COOKIES" => out.extend(model.cookies.iter().map(|a| Target {
            name: format!("REQUEST_COOKIES:{}", a.name),
            value: a.value.to_vec(),
        })),
        "REQUEST_COOKIES_NAMES" => out.extend(model.cookies.iter().map(|a| Target {
            name: format!("REQUEST_COOKIES_NAMES:{}", a.name),
            value: a.name.as_bytes().to_vec(),
        })),
        "REQUEST_FILENAME" => out.push(Target {
            name: "REQUEST_FILENAME".into(),
            value: model.path_raw.as_bytes().to_vec(),
        }),
        "XML:/*" | "XML://@*" => {
            // Both selectors together cover every XML value; emit them once.
            if var == "XML:/*" && is_xml(model) {
                if let Some(b) = &model.body {
                    out.extend(b.args.iter().map(|a| Target {
                        name: format!("XML:{}", a.name),
                        value: a.value.to_vec(),
                    }));
                }
            }
        }
        other => {
            if let Some(header) = other.strip_prefix("REQUEST_HEADERS:") {
                out.extend(model.headers.get_all(header).map(|v| Target {
                    name: format!("REQUEST_HEADERS:{header}"),
                    value: v.to_vec(),
                }));
            } else {
                panic!("variable {other} is not modelled by these tests");
            }
        }
    }
    out
}

/// What fired: the variable, the transformed value and (for SQLi) the fingerprint.
#[derive(Debug, Clone)]
pub struct Hit {
    pub variable: String,
    pub value: Vec<u8>,
    pub fingerprint: Option<String>,
}

/// Runs the rule's operator on one already-transformed value.
pub fn run_op(op: Op, value: &[u8]) -> Option<Option<String>> {
    match op {
        Op::DetectSqli => palisade_injection::detect_sqli(value).map(|fp| Some(fp.to_string())),
        Op::DetectXss => palisade_injection::detect_xss(value).then_some(None),
    }
}

/// Evaluates `rule` on `model`: every target value through the rule's transformations, then
/// the operator. Returns every hit (CRS 942100 is `multiMatch`, but whether it fires at all is
/// what the regression tests check).
pub fn evaluate(rule: &Rule, model: &RequestModel) -> Vec<Hit> {
    let mut hits = Vec::new();
    for var in &rule.variables {
        for target in variable_values(var, model) {
            let value = apply_all(&rule.transforms, &target.value);
            if let Some(fingerprint) = run_op(rule.op, &value) {
                hits.push(Hit {
                    variable: target.name.clone(),
                    value: value.into_owned(),
                    fingerprint,
                });
            }
        }
    }
    hits
}
