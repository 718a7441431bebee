//! The OWASP CRS regression tests of the libinjection rules (942100 `@detectSQLi`, 941100 and
//! 941101 `@detectXSS`), run against this crate without the SecLang engine.
//!
//! Each go-ftw test sends one request and says whether the rule must fire
//! (`expect_ids` / `log_contains`) or must not (`no_expect_ids` / `no_log_contains`). We build
//! the request as go-ftw would send it, extract the variables the rule names (read from the
//! rule file, with its `t:` pipeline), transform each value and run the detector.

mod common;

use common::{evaluate, load_rule, request, Rule};
use serde_yaml::Value;

/// What a test says about one rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Expect {
    Fire,
    Silent,
}

struct Case {
    name: String,
    method: String,
    uri: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
    expect: Expect,
}

fn as_string(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// Whether an `output` block expects `id` to fire, to stay silent, or says nothing about it.
fn expectation(output: &Value, id: u32) -> Option<Expect> {
    let lists = |v: Option<&Value>| -> bool {
        v.and_then(Value::as_sequence)
            .is_some_and(|s| s.iter().any(|x| x.as_u64() == Some(u64::from(id))))
    };
    let log = output.get("log");
    if lists(log.and_then(|l| l.get("expect_ids"))) {
        return Some(Expect::Fire);
    }
    if lists(log.and_then(|l| l.get("no_expect_ids"))) {
        return Some(Expect::Silent);
    }
    // Older go-ftw format: a regex over the error log such as `id "942100"`.
    let mentions = |key: &str| {
        output
            .get(key)
            .and_then(as_string)
            .is_some_and(|s| s.contains(&id.to_string()))
    };
    if mentions("log_contains") {
        return Some(Expect::Fire);
    }
    if mentions("no_log_contains") {
        return Some(Expect::Silent);
    }
    None
}

/// Go's `url.QueryEscape`.
fn query_escape(s: &[u8]) -> String {
    let mut out = String::with_capacity(s.len());
    for &b in s {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char)
            }
            b' ' => out.push('+'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// Go's `url.QueryUnescape`; `None` for a malformed escape.
fn query_unescape(s: &[u8]) -> Option<Vec<u8>> {
    let hex = |c: u8| (c as char).to_digit(16);
    let mut out = Vec::with_capacity(s.len());
    let mut i = 0;
    while i < s.len() {
        match s[i] {
            b'%' => {
                let hi = s.get(i + 1).copied().and_then(hex)?;
                let lo = s.get(i + 2).copied().and_then(hex)?;
                out.push((hi * 16 + lo) as u8);
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
    Some(out)
}

/// go-ftw sends form data URL-encoded when it is not already encoded (unescaping it changes
/// nothing), and as written otherwise. It also adds the form content type when the test
/// gives data but no `Content-Type`.
fn ftw_body(headers: &mut Vec<(String, String)>, data: &[u8]) -> Vec<u8> {
    if data.is_empty() {
        return Vec::new();
    }
    if !headers
        .iter()
        .any(|(k, _)| k.eq_ignore_ascii_case("content-type"))
    {
        headers.push((
            "Content-Type".into(),
            "application/x-www-form-urlencoded".into(),
        ));
    }
    let form = headers.iter().any(|(k, v)| {
        k.eq_ignore_ascii_case("content-type") && v == "application/x-www-form-urlencoded"
    });
    if !form || query_unescape(data).as_deref() != Some(data) {
        return data.to_vec();
    }
    let parts: Vec<String> = data
        .split(|&b| b == b'&')
        .map(|token| match token.iter().position(|&b| b == b'=') {
            Some(eq) => format!(
                "{}={}",
                query_escape(&token[..eq]),
                query_escape(&token[eq + 1..])
            ),
            None => query_escape(token),
        })
        .collect();
    parts.join("&").into_bytes()
}

/// Every stage of every test in `file` that says something about `rule_id`.
fn load_cases(file: &str, rule_id: u32) -> Vec<Case> {
    let path = common::crs_dir().join("tests/regression/tests").join(file);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    let doc: Value =
        serde_yaml::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut cases = Vec::new();
    let tests = doc
        .get("tests")
        .and_then(Value::as_sequence)
        .unwrap_or_else(|| panic!("{}: no tests", path.display()));
    for test in tests {
        let test_id = test
            .get("test_id")
            .or_else(|| test.get("test_title"))
            .and_then(as_string)
            .unwrap_or_default();
        let stages = test
            .get("stages")
            .and_then(Value::as_sequence)
            .cloned()
            .unwrap_or_default();
        for (n, stage) in stages.iter().enumerate() {
            // Old go-ftw nests the stage under `stage:`.
            let stage = stage.get("stage").unwrap_or(stage);
            let (Some(input), Some(output)) = (stage.get("input"), stage.get("output")) else {
                continue;
            };
            let Some(expect) = expectation(output, rule_id) else {
                continue;
            };
            assert!(
                input.get("encoded_request").is_none() && input.get("raw_request").is_none(),
                "{rule_id}-{test_id}: raw requests are not modelled"
            );
            let mut headers: Vec<(String, String)> = input
                .get("headers")
                .and_then(Value::as_mapping)
                .map(|m| {
                    m.iter()
                        .filter_map(|(k, v)| Some((as_string(k)?, as_string(v)?)))
                        .collect()
                })
                .unwrap_or_default();
            let data = input
                .get("data")
                .and_then(as_string)
                .unwrap_or_default()
                .into_bytes();
            let body = ftw_body(&mut headers, &data);
            cases.push(Case {
                name: if stages.len() > 1 {
                    format!("{rule_id}-{test_id}/{n}")
                } else {
                    format!("{rule_id}-{test_id}")
                },
                method: input
                    .get("method")
                    .and_then(as_string)
                    .unwrap_or_else(|| "GET".into()),
                uri: input
                    .get("uri")
                    .and_then(as_string)
                    .unwrap_or_else(|| "/".into()),
                headers,
                body,
                expect,
            });
        }
    }
    cases
}

/// Runs every case of `file` for `rule`; returns (passed, failures).
fn run(rule: &Rule, file: &str) -> (usize, Vec<String>) {
    let cases = load_cases(file, rule.id);
    assert!(!cases.is_empty(), "{file}: no test mentions {}", rule.id);
    let mut passed = 0;
    let mut failures = Vec::new();
    for case in &cases {
        let model = request(&case.method, &case.uri, &case.headers, &case.body);
        let hits = evaluate(rule, &model);
        let fired = !hits.is_empty();
        let ok = fired == (case.expect == Expect::Fire);
        let detail = match hits.first() {
            Some(h) => format!(
                "fired on {} = {:?} (fingerprint {:?})",
                h.variable,
                String::from_utf8_lossy(&h.value),
                h.fingerprint
            ),
            None => "did not fire".to_string(),
        };
        println!(
            "{} {:<10} expect {:?}: {detail}",
            if ok { "PASS" } else { "FAIL" },
            case.name,
            case.expect
        );
        if ok {
            passed += 1;
        } else {
            failures.push(format!(
                "{}: expected {:?}, {detail}",
                case.name, case.expect
            ));
        }
    }
    println!("{}: {passed}/{} passed", rule.id, cases.len());
    (passed, failures)
}

#[test]
fn rule_942100_detect_sqli() {
    let rule = load_rule(942100);
    let (passed, failures) = run(&rule, "REQUEST-942-APPLICATION-ATTACK-SQLI/942100.yaml");
    assert!(
        failures.is_empty(),
        "{passed} passed; failures:\n{}",
        failures.join("\n")
    );
}

#[test]
fn rule_941100_detect_xss() {
    let rule = load_rule(941100);
    let (passed, failures) = run(&rule, "REQUEST-941-APPLICATION-ATTACK-XSS/941100.yaml");
    assert!(
        failures.is_empty(),
        "{passed} passed; failures:\n{}",
        failures.join("\n")
    );
}

#[test]
fn rule_941101_detect_xss_filename_referer() {
    let rule = load_rule(941101);
    let (passed, failures) = run(&rule, "REQUEST-941-APPLICATION-ATTACK-XSS/941101.yaml");
    assert!(
        failures.is_empty(),
        "{passed} passed; failures:\n{}",
        failures.join("\n")
    );
}

/// The loader must see the rules as CRS writes them; a parse slip would make every test
/// above vacuous.
#[test]
fn rules_are_read_from_crs() {
    let sqli = load_rule(942100);
    assert_eq!(sqli.op, common::Op::DetectSqli);
    assert!(sqli.variables.iter().any(|v| v == "ARGS"));
    assert!(sqli
        .variables
        .iter()
        .any(|v| v == "REQUEST_HEADERS:User-Agent"));
    assert_eq!(sqli.transforms.len(), 3, "{:?}", sqli.transforms);
    let xss = load_rule(941100);
    assert_eq!(xss.op, common::Op::DetectXss);
    assert!(!xss.variables.iter().any(|v| v == "REQUEST_HEADERS:Referer"));
    assert_eq!(xss.transforms.len(), 6, "{:?}", xss.transforms);
}

#[test]
fn go_ftw_form_encoding() {
    let mut h = Vec::new();
    // Plain data is encoded, so `+` in a value would survive as a literal plus ...
    assert_eq!(ftw_body(&mut h, b"a=1 OR 1=1"), b"a=1+OR+1%3D1".to_vec());
    assert_eq!(h[0].1, "application/x-www-form-urlencoded");
    // ... while data that already contains escapes or `+` is sent as written.
    assert_eq!(ftw_body(&mut h, b"a=1+or+2"), b"a=1+or+2".to_vec());
    assert_eq!(ftw_body(&mut h, b"a=%zz"), b"a=%zz".to_vec());
}
