//! Precision and recall of the detectors on the project's labelled corpora
//! (`corpus/benign/*.jsonl`, `corpus/attacks/{sqli,xss}.jsonl`), evaluated the way the CRS
//! rules use them: 942100 (`@detectSQLi`) and 941100 + 941101 (`@detectXSS`), each over its
//! own variables and transformation pipeline as read from the CRS rule files.
//!
//! libinjection is known to flag some benign text; these tests measure how much and fail
//! when it gets worse, rather than hiding it. Run with `--nocapture` to see the numbers and
//! every flagged benign value.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use base64::Engine as _;
use common::{evaluate, load_rule, request, Hit, Rule};
use palisade_http::transform::{apply_all, Transform};
use palisade_http::RequestModel;
use serde::Deserialize;

/// One corpus line (the format `crates/palisade/src/corpus.rs` reads).
#[derive(Debug, Deserialize)]
struct Entry {
    #[serde(default = "get")]
    method: String,
    path: String,
    #[serde(default)]
    headers: BTreeMap<String, String>,
    #[serde(default)]
    body: String,
    #[serde(default)]
    body_base64: bool,
    #[serde(default)]
    location: Option<String>,
    #[serde(default)]
    evasion: Option<String>,
}

fn get() -> String {
    "GET".into()
}

fn corpus_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../corpus")
}

fn load(path: &Path) -> Vec<Entry> {
    let text =
        std::fs::read_to_string(path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .enumerate()
        .map(|(i, l)| {
            serde_json::from_str(l).unwrap_or_else(|e| panic!("{}:{}: {e}", path.display(), i + 1))
        })
        .collect()
}

fn model(e: &Entry) -> RequestModel {
    let mut headers: Vec<(String, String)> = e
        .headers
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    if !headers.iter().any(|(k, _)| k.eq_ignore_ascii_case("host")) {
        headers.push(("Host".into(), "app.example.com".into()));
    }
    let body = if e.body_base64 {
        base64::engine::general_purpose::STANDARD
            .decode(e.body.trim())
            .unwrap_or_else(|err| panic!("{}: body_base64: {err}", e.path))
    } else {
        e.body.clone().into_bytes()
    };
    request(&e.method, &e.path, &headers, &body)
}

/// The three CRS rules backed by this crate.
struct Rules {
    sqli: Rule,
    xss: Vec<Rule>,
}

fn rules() -> Rules {
    Rules {
        sqli: load_rule(942100),
        xss: vec![load_rule(941100), load_rule(941101)],
    }
}

/// Every value of the request, wherever it is (path, every header, every argument name and
/// value, raw body), through the rule's pipeline: what the detector would catch if a rule
/// looked everywhere. Separates "the detector misses it" from "the rule does not look there".
fn anywhere(transforms: &[Transform], m: &RequestModel, op: common::Op) -> bool {
    let mut values: Vec<Vec<u8>> = vec![
        m.path_raw.as_bytes().to_vec(),
        m.uri_raw.as_bytes().to_vec(),
    ];
    values.extend(m.headers.iter().map(|(_, v)| v.to_vec()));
    values.extend(
        m.cookies
            .iter()
            .flat_map(|c| [c.name.as_bytes().to_vec(), c.value.to_vec()]),
    );
    values.extend(
        m.args()
            .flat_map(|(_, a)| [a.name.as_bytes().to_vec(), a.value.to_vec()]),
    );
    if let Some(b) = &m.body {
        values.push(b.raw.to_vec());
        values.extend(b.files.iter().map(|f| f.content.clone()));
    }
    values
        .iter()
        .any(|v| common::run_op(op, &apply_all(transforms, v)).is_some())
}

#[derive(Default)]
struct Tally {
    values: usize,
    sqli_values: usize,
    xss_values: usize,
    requests: usize,
    sqli_requests: usize,
    xss_requests: usize,
}

fn count_targets(rule: &Rule, m: &RequestModel) -> usize {
    rule.variables
        .iter()
        .map(|v| common::variable_values(v, m).len())
        .sum()
}

fn show(kind: &str, file: &str, hits: &[Hit]) {
    for h in hits {
        println!(
            "  {kind} {file}: {} = {:?} {}",
            h.variable,
            String::from_utf8_lossy(&h.value),
            h.fingerprint.as_deref().unwrap_or("")
        );
    }
}

/// Measured on the 539 benign requests of the corpus as of this commit (`--nocapture` prints
/// each hit): 6020 values inspected by 942100's targets.
///
/// `detect_sqli` flags 9 values in 7 requests, all known libinjection behaviour (the same
/// fingerprints the C library produces): prose with a quoted token followed by `or` /
/// operators (`Unexpected token '<'`, `"where" or "select"`), a password `x' or 'y`, SQL-ish
/// API parameters (`sum(amount) desc`), CSS starting with a MySQL comment `/*!`, and a
/// Markdown code block quoting SQL.
///
/// `detect_xss` flags 10 values in 10 requests: rich-text HTML that libinjection rejects by
/// design (any `style` attribute, `<iframe>`, `<meta>`, `<style>`, a quoted `<script ...>` in
/// a code sample) and a search for the literal text `"onload="`.
///
/// 2026-12-02 (stop 21): 14 SQLi values of 6,533 — the added numeric search near-misses
/// (`2 or 3 -- whichever is cheaper`, `3 and not 4`, …) are SQL to libinjection, as to
/// CRS; 12 XSS values. That is 21 and 18 per 10 000; the SQLi bound moved to 23.
///
/// 2026-12-02 (stop 23): 16 SQLi values of 6,772 (23.6 per 10 000) — the added OData
/// `$filter` values (`Status eq 'Open' and contains(Title,'select')`) are SQL to
/// libinjection, as to CRS 942100; the SQLi bound moved to 25.
///
/// 2026-12-02 (stop 26): 15 XSS values of 7,023 (21.4 per 10 000) — two added look-alikes
/// are markup libinjection rejects by design: rich text with `<img src="data:image/png…">`
/// and `<a href="data:text/csv…">`, and a comment quoting `<meta charset="utf-8">`; the
/// XSS bound moved to 22.
///
/// Before, 15 and 17 false positives per 10 000 inspected values. The bounds are rates, so
/// that benign requests added to the corpus by others do not break this test by their count
/// alone, with little slack (20 per 10 000 each): a change in detector semantics that
/// flags more ordinary text fails it. Update the numbers above, with the reason, when the
/// measured counts change.
const MAX_BENIGN_SQLI_PER_10K: usize = 25;
const MAX_BENIGN_XSS_PER_10K: usize = 22;

#[test]
fn benign_corpus_false_positives() {
    let rules = rules();
    let mut files: Vec<PathBuf> = std::fs::read_dir(corpus_dir().join("benign"))
        .expect("corpus/benign")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "jsonl"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no benign corpora");
    let mut t = Tally::default();
    for path in &files {
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        for e in load(path) {
            let m = model(&e);
            t.requests += 1;
            t.values += count_targets(&rules.sqli, &m);
            let s = evaluate(&rules.sqli, &m);
            let x: Vec<Hit> = rules.xss.iter().flat_map(|r| evaluate(r, &m)).collect();
            show("SQLi", &name, &s);
            show("XSS", &name, &x);
            t.sqli_values += s.len();
            t.xss_values += x.len();
            t.sqli_requests += usize::from(!s.is_empty());
            t.xss_requests += usize::from(!x.is_empty());
        }
    }
    println!(
        "benign: {} requests, {} values inspected by 942100; detect_sqli flagged {} values in {} requests; \
         detect_xss (941100+941101) flagged {} values in {} requests",
        t.requests, t.values, t.sqli_values, t.sqli_requests, t.xss_values, t.xss_requests
    );
    assert!(
        t.requests > 100 && t.values > t.requests,
        "corpus unexpectedly small"
    );
    assert!(
        t.sqli_values * 10_000 <= t.values * MAX_BENIGN_SQLI_PER_10K,
        "detect_sqli false positives rose to {} of {} values (bound {MAX_BENIGN_SQLI_PER_10K} per 10 000)",
        t.sqli_values,
        t.values
    );
    assert!(
        t.xss_values * 10_000 <= t.values * MAX_BENIGN_XSS_PER_10K,
        "detect_xss false positives rose to {} of {} values (bound {MAX_BENIGN_XSS_PER_10K} per 10 000)",
        t.xss_values,
        t.values
    );
}

/// Detection rates on the attack corpora, by where the payload sits. Rates are reported twice:
/// through the CRS rules' own variables (what 942100 / 941100+941101 would block), and with
/// the detector applied to every value of the request (what the detector itself recognises).
fn attack_rates(file: &str, sqli: bool) -> (usize, usize, usize) {
    let rules = rules();
    let entries = load(&corpus_dir().join("attacks").join(file));
    let (mut total, mut by_rule, mut by_detector) = (0, 0, 0);
    let mut per_location: BTreeMap<String, (usize, usize)> = BTreeMap::new();
    for e in &entries {
        let m = model(e);
        let (hit, any) = if sqli {
            let hits = evaluate(&rules.sqli, &m);
            (
                !hits.is_empty(),
                anywhere(&rules.sqli.transforms, &m, common::Op::DetectSqli),
            )
        } else {
            let hit = rules.xss.iter().any(|r| !evaluate(r, &m).is_empty());
            (
                hit,
                anywhere(&rules.xss[0].transforms, &m, common::Op::DetectXss),
            )
        };
        total += 1;
        by_rule += usize::from(hit);
        by_detector += usize::from(hit || any);
        let loc = e.location.clone().unwrap_or_else(|| "?".into());
        let slot = per_location.entry(loc.clone()).or_default();
        slot.0 += 1;
        slot.1 += usize::from(hit);
        if !hit {
            println!(
                "  missed by rule ({loc}, evasion {:?}, detector anywhere: {any}): {} {} {:?}",
                e.evasion,
                e.method,
                e.path,
                e.body.chars().take(120).collect::<String>()
            );
        }
    }
    let pct = |n: usize| 100.0 * n as f64 / total.max(1) as f64;
    println!(
        "{file}: {total} attacks; CRS rule targets detect {by_rule} ({:.1}%); detector on any value detects {by_detector} ({:.1}%)",
        pct(by_rule),
        pct(by_detector)
    );
    for (loc, (n, hit)) in &per_location {
        println!("  {loc:10} {hit}/{n}");
    }
    (total, by_rule, by_detector)
}

/// Measured as of this commit: SQLi 78/99 (78.8%) through 942100's targets, 86/99 (86.9%)
/// with the detector on every value; XSS 80/96 (83.3%) through 941100+941101, 82/96 (85.4%)
/// on every value. (The 2026-12-02 numeric-parameter additions lowered the SQLi rates:
/// libinjection reads `1 or true` and `3||true` as no injection, and finds `1 xor 1` only
/// outside 942100's targets and pipeline.) Payloads in other headers than User-Agent/Referer (and, for SQLi, in the
/// path) are outside the rules' targets by CRS design; the rest of the misses are payloads
/// libinjection does not recognise (bare `javascript:` URLs, `<scr<script>ipt>`, JS string
/// break-outs, `UN/**/ION` keyword splitting). The bounds sit just under the measured rates
/// so that a detector regression fails the test.
#[test]
fn sqli_attack_detection_rate() {
    let (total, by_rule, by_detector) = attack_rates("sqli.jsonl", true);
    assert!(total >= 50);
    assert!(
        by_rule * 100 >= total * 78,
        "942100 detected only {by_rule}/{total}"
    );
    assert!(
        by_detector * 100 >= total * 86,
        "detect_sqli detected only {by_detector}/{total}"
    );
}

#[test]
fn xss_attack_detection_rate() {
    let (total, by_rule, by_detector) = attack_rates("xss.jsonl", false);
    assert!(total >= 50);
    assert!(
        // 80/98: the misses are script without markup (`self[atob('YWxlcnQ=')](1)`,
        // `top[8680439..toString(30)](1)`, `Reflect.apply(self[…],null,[…])`), which
        // libinjection's XSS tokenizer leaves alone; 83/103 since stop 26 added UTF-7
        // markup (`+ADw-script+AD4-`), `[1].find(alert)` and a base64 data: URL in an
        // entity-spaced href, none of them markup to the tokenizer; 85/110 since stop 27
        // added seven more of those kinds (callbacks through `top.`, `print`, a one-run
        // UTF-7 tag, base64 data: URLs)
        by_rule * 100 >= total * 77,
        "941100/941101 detected only {by_rule}/{total}"
    );
    assert!(
        // 82/98, the same script-without-markup misses; 85/103 with stop 26's three; 87/110
        // with stop 27's seven; 90/114 with stop 32's four (`<img src="mocha:…">` is no
        // markup-borne script to the tokenizer, the three others are found)
        by_detector * 100 >= total * 78,
        "detect_xss detected only {by_detector}/{total}"
    );
}
