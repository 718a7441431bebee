//! Detection quality of the default configuration on the hand-written corpora in `corpus/`:
//! attacks of every category, in every request location, with evasions, must be blocked;
//! modern benign traffic must pass. Rates per file are printed (`--nocapture`).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use palisade::config::Config;
use palisade::corpus::{load, CorpusEntry};
use palisade::detectors::build_engine;
use palisade_engine::Engine;
use palisade_http::{RequestModel, Transform};

fn corpus_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../corpus")
}

fn files(sub: &str) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(corpus_dir().join(sub))
        .unwrap_or_else(|e| panic!("corpus/{sub}: {e}"))
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "jsonl"))
        .collect();
    v.sort();
    v
}

fn engine() -> Engine {
    build_engine(&Config::load(None).expect("default config")).expect("engine")
}

struct Tally {
    total: usize,
    blocked: usize,
    misses: Vec<String>,
}

fn run(engine: &Engine, entries: &[CorpusEntry], file: &Path) -> Tally {
    let mut t = Tally {
        total: 0,
        blocked: 0,
        misses: Vec::new(),
    };
    for (i, e) in entries.iter().enumerate() {
        let model = e
            .to_model()
            .unwrap_or_else(|err| panic!("{}: entry {}: {err}", file.display(), i + 1));
        let v = engine.inspect_request(&model);
        t.total += 1;
        if v.over_threshold {
            t.blocked += 1;
        }
        if v.over_threshold != e.is_attack() {
            let ids: Vec<String> = v
                .findings
                .iter()
                .map(|f| format!("{} @ {}", f.id, f.target))
                .collect();
            t.misses.push(format!(
                "{} {} {} {} [{}] {:?}",
                file.file_name()
                    .map(|n| n.to_string_lossy())
                    .unwrap_or_default(),
                e.category,
                e.method,
                e.path.chars().take(100).collect::<String>(),
                e.evasion.clone().unwrap_or_default(),
                ids
            ));
        }
    }
    t
}

/// Every file of `corpus/<sub>` (benign entries only), with a line per file printed.
fn run_benign(engine: &Engine, sub: &str) -> Tally {
    let mut all = Tally {
        total: 0,
        blocked: 0,
        misses: Vec::new(),
    };
    for file in files(sub) {
        let entries = load(&file).expect("load corpus");
        assert!(
            entries.iter().all(|e| !e.is_attack()),
            "{}: attack in benign corpus",
            file.display()
        );
        let t = run(engine, &entries, &file);
        println!(
            "{:<28} {:>4} requests, {:>3} blocked (FPR {:.3})",
            file.file_name().unwrap_or_default().to_string_lossy(),
            t.total,
            t.blocked,
            t.blocked as f64 / t.total.max(1) as f64
        );
        all.total += t.total;
        all.blocked += t.blocked;
        all.misses.extend(t.misses);
    }
    all
}

#[test]
fn benign_modern_traffic_passes() {
    let Tally {
        total,
        blocked,
        misses,
    } = run_benign(&engine(), "benign");
    let fpr = blocked as f64 / total.max(1) as f64;
    println!("benign total: {total} requests, {blocked} blocked, FPR {fpr:.4}");
    for m in &misses {
        println!("  FP {m}");
    }
    assert!(total >= 300, "benign corpus too small: {total}");
    assert!(fpr <= 0.005, "benign FPR {fpr:.4} above 0.5%: {misses:#?}");
}

/// Most blocked requests allowed in `corpus/benign_wild/`, per mille (18 of 258 on
/// 2026-12-02, 18 of 327 with apps.jsonl: code and SQL posted to code hosts, Q&A sites, SQL consoles and CMS editors —
/// `<script>` in a tutorial, `; DROP TABLE` in a migration, `UNION ALL SELECT` in an answer —
/// which content alone cannot tell from an attack and a route exclusion is for; a Kubernetes
/// manifest's `mountPath: /etc/ledger`; a SendGrid inbound-parse `headers` field, which
/// holds raw mail headers; a Salesforce SOQL query with `'O\'Brien%'`, whose backslash
/// the SQL lists must also read as PostgreSQL does, as no escape).
const MAX_WILD_FPR_PERMILLE: usize = 70;

/// A benign request to shop.example.com built the way corpus entries are.
fn shop_request(
    method: &str,
    path: &str,
    content_type: Option<&str>,
    body: String,
) -> RequestModel {
    let mut headers = BTreeMap::from([("Host".to_string(), "shop.example.com".to_string())]);
    if let Some(ct) = content_type {
        headers.insert("Content-Type".to_string(), ct.to_string());
    }
    CorpusEntry {
        method: method.to_string(),
        path: path.to_string(),
        headers,
        body,
        body_base64: false,
        label: "benign".to_string(),
        category: String::new(),
        evasion: None,
    }
    .to_model()
    .expect("model")
}

/// TRACE, TRACK and DEBUG are refused by the default policy (their findings name the
/// method); an empty `blocked_methods` forwards them like any other method.
#[test]
fn tracing_and_debugging_methods_are_refused_by_default() {
    let request = |method: &str| shop_request(method, "/", None, String::new());
    let default = engine();
    for method in ["TRACE", "TRACK", "DEBUG"] {
        let v = default.inspect_request(&request(method));
        assert!(v.over_threshold, "{method} passed: {:?}", v.findings);
        assert!(v.findings.iter().any(|f| f.id == "policy:method"));
    }
    for method in ["GET", "OPTIONS", "PROPFIND", "PURGE"] {
        assert!(
            !default.inspect_request(&request(method)).over_threshold,
            "{method}"
        );
    }
    let mut config = Config::load(None).expect("default config");
    config.policy.blocked_methods.clear();
    let open = build_engine(&config).expect("engine");
    assert!(!open.inspect_request(&request("TRACE")).over_threshold);
}

/// Passwords as password managers generate them (letters, digits and the symbols of their
/// character sets, seeded so the run is the same every time), posted to a login form and
/// to a JSON login. A random password can spell an attack by chance only at its start or
/// end (`;id…`, `x'#…` after letters only: `admin'#` itself); anything more (`$@` inside it,
/// `<%` and a backtick, `%{#`) is a signature reading too little context. 2 of 6,000 blocked
/// on 12-02 (one password starting `i4O"#`, in both forms); the signatures before that day's
/// fixes blocked 16 (`$@` inside a password, a backtick and `#`).
#[test]
fn generated_passwords_pass() {
    const SYMBOLS: &[&[u8]] = &[
        b"!@#$%^&*",                           // Bitwarden's default symbols
        b"!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~", // every printable ASCII symbol
    ];
    let engine = engine();
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = move || {
        // xorshift64*: deterministic, no dependency
        state ^= state >> 12;
        state ^= state << 25;
        state ^= state >> 27;
        state.wrapping_mul(0x2545_f491_4f6c_dd1d)
    };
    let (mut total, mut blocked, mut misses) = (0usize, 0usize, Vec::new());
    for i in 0..3000 {
        let symbols = SYMBOLS[i % SYMBOLS.len()];
        let alphabet: Vec<u8> = (b'a'..=b'z')
            .chain(b'A'..=b'Z')
            .chain(b'0'..=b'9')
            .chain(symbols.iter().copied())
            .collect();
        let len = 12 + (next() % 21) as usize;
        let password: String = (0..len)
            .map(|_| alphabet[(next() % alphabet.len() as u64) as usize] as char)
            .collect();
        let form = format!(
            "email=jane.doe%40example.com&password={}&remember=1",
            String::from_utf8_lossy(&Transform::UrlEncode.apply(password.as_bytes()))
        );
        let json = serde_json::json!({ "username": "jane", "password": password }).to_string();
        for (path, content_type, body) in [
            ("/account/login", "application/x-www-form-urlencoded", form),
            ("/api/session", "application/json", json),
        ] {
            let v = engine.inspect_request(&shop_request("POST", path, Some(content_type), body));
            total += 1;
            if v.over_threshold {
                blocked += 1;
                let ids: Vec<&str> = v.findings.iter().map(|f| f.id.as_str()).collect();
                misses.push(format!("{path} {password:?} {ids:?}"));
            }
        }
    }
    for m in &misses {
        println!("  FP {m}");
    }
    println!("generated passwords: {blocked}/{total} blocked");
    assert!(
        blocked * 1000 <= total,
        "{blocked}/{total} generated passwords blocked (bound: 1 per mille)"
    );
}

/// Benign traffic written by reviewers who did not run Palisade (developer platforms,
/// SaaS integrations and webhooks, CMS and telemetry, many languages): a regression bound,
/// with every false positive printed.
#[test]
fn benign_traffic_written_elsewhere_mostly_passes() {
    let Tally {
        total,
        blocked,
        misses,
    } = run_benign(&engine(), "benign_wild");
    println!("benign_wild total: {total} requests, {blocked} blocked");
    for m in &misses {
        println!("  FP {m}");
    }
    assert!(total >= 250, "corpus/benign_wild too small: {total}");
    assert!(
        blocked * 1000 <= total * MAX_WILD_FPR_PERMILLE,
        "{blocked}/{total} blocked, above {MAX_WILD_FPR_PERMILLE} per mille"
    );
}

#[test]
fn attacks_of_every_category_and_location_are_blocked() {
    let engine = engine();
    let (mut total, mut blocked) = (0, 0);
    let mut misses = Vec::new();
    let mut by_evasion: BTreeMap<String, (usize, usize)> = BTreeMap::new();
    for file in files("attacks") {
        let entries = load(&file).expect("load corpus");
        assert!(
            entries.iter().all(|e| e.is_attack()),
            "{}: benign entry in attack corpus",
            file.display()
        );
        let t = run(&engine, &entries, &file);
        let tpr = t.blocked as f64 / t.total.max(1) as f64;
        println!(
            "{:<28} {:>4} requests, {:>3} blocked (TPR {tpr:.3})",
            file.file_name().unwrap_or_default().to_string_lossy(),
            t.total,
            t.blocked
        );
        assert!(
            tpr >= 0.9,
            "{}: TPR {tpr:.3} below 0.9: {:#?}",
            file.display(),
            t.misses
        );
        for e in &entries {
            if let Some(ev) = &e.evasion {
                let v = engine.inspect_request(&e.to_model().expect("model"));
                let slot = by_evasion.entry(ev.clone()).or_default();
                slot.0 += 1;
                slot.1 += usize::from(v.over_threshold);
            }
        }
        total += t.total;
        blocked += t.blocked;
        misses.extend(t.misses);
    }
    for (ev, (n, b)) in &by_evasion {
        println!("  evasion {ev:<22} {b}/{n}");
    }
    let tpr = blocked as f64 / total.max(1) as f64;
    println!("attacks total: {total} requests, {blocked} blocked, TPR {tpr:.4}");
    for m in &misses {
        println!("  FN {m}");
    }
    assert!(total >= 300, "attack corpus too small: {total}");
    assert!(tpr >= 0.97, "attack TPR {tpr:.4} below 97%");
    assert!(
        by_evasion.len() >= 6,
        "too few evasion kinds covered: {:?}",
        by_evasion.keys()
    );
    for (ev, (n, b)) in &by_evasion {
        assert!(*b * 10 >= *n * 8, "evasion {ev}: only {b}/{n} blocked");
    }
}

/// Phrases that look like attacks to a naive substring matcher, which any WAF must let pass.
#[test]
fn precision_classics_pass() {
    let engine = engine();
    let benign = [
        "/search?q=union+was+a+great+select",
        "/search?q=Please+select+the+union+option",
        "/profile?name=O%27Brien&city=Coeur+d%27Alene",
        "/search?q=drop+table+tennis+lessons",
        "/search?q=1%3D1+is+always+true+in+math",
        "/search?q=5+%3C+6+and+7+%3E+3",
        "/review?text=I+%3C3+this+product",
        "/search?q=how+to+select+all+in+excel",
        "/ua?browser=chrome",
        "/search?q=where+is+the+union+station",
    ];
    for target in benign {
        let mut m =
            palisade_http::RequestModel::from_head("GET", target, "HTTP/1.1", Default::default());
        m.attach_body(Vec::new(), false);
        let v = engine.inspect_request(&m);
        assert!(!v.over_threshold, "{target} blocked: {:?}", v.findings);
    }
}
