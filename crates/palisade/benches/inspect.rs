//! Per-request inspection cost on the anchor scenarios (GET with a query string, 2 KB form,
//! 20 KB JSON), built-in signatures (and the classifier, and with BENCH_CRS the OWASP CRS)
//! at paranoia 1. Baseline in the same run: building the
//! request model and parsing the body without detectors. Run: `cargo bench -p palisade`.

use std::hint::black_box;
use std::time::Instant;

use palisade::config::Config;
use palisade::detectors::build_engine;
use palisade_http::{Headers, RequestModel};

/// The binary's allocator: a request's model and findings are many small allocations, and
/// glibc's malloc would make them a third of the time measured here.
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

fn headers(content_type: Option<&str>) -> Headers {
    let mut h = Headers::default();
    for (n, v) in [
        ("Host", "shop.example.com"),
        ("User-Agent", "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36"),
        ("Accept", "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"),
        ("Accept-Language", "en-US,en;q=0.9"),
        ("Accept-Encoding", "gzip, deflate"),
        ("Cookie", "session=3f2a9c1e7b6d4a58e0c1; theme=dark; cart_id=8841203"),
        ("Referer", "https://shop.example.com/category/sports?page=1"),
    ] {
        h.push(n, v.as_bytes().to_vec());
    }
    if let Some(ct) = content_type {
        h.push("Content-Type", ct.as_bytes().to_vec());
    }
    h
}

fn form_body() -> Vec<u8> {
    let mut body = String::from("first_name=Jane&last_name=Doe&email=jane.doe%40example.com&phone=5550100&subject=Delivery+address&order=A10293&message=");
    while body.len() < 2048 {
        body.push_str(
            "Hello+team+I+would+like+to+change+the+delivery+address+for+my+last+order+thanks+",
        );
    }
    body.truncate(2048);
    body.into_bytes()
}

fn json_body() -> Vec<u8> {
    let mut items = Vec::new();
    let mut len = 0;
    let mut i = 0;
    while len < 20000 {
        i += 1;
        let item = format!(
            "{{\"sku\":\"SKU{i:05}\",\"name\":\"Trail running shoe model {i}\",\"qty\":{},\"price\":{}.99,\"note\":\"Please deliver to the side door and ring the bell twice\"}}",
            i % 5 + 1,
            40 + i % 60
        );
        len += item.len() + 1;
        items.push(item);
    }
    format!(
        "{{\"order_id\":\"A10293\",\"customer\":{{\"name\":\"Jane Doe\",\"email\":\"jane.doe@example.com\"}},\"items\":[{}]}}",
        items.join(",")
    )
    .into_bytes()
}

fn build(scenario: &str) -> RequestModel {
    match scenario {
        "get" => RequestModel::from_head(
            "GET",
            "/search?q=trail+running+shoes&category=sports&size=42&color=blue&sort=price_asc&page=2&utm_source=newsletter&utm_medium=email",
            "HTTP/1.1",
            headers(None),
        ),
        "form" => {
            let mut m = RequestModel::from_head("POST", "/contact", "HTTP/1.1", headers(Some("application/x-www-form-urlencoded")));
            m.attach_body(form_body(), false);
            m
        }
        _ => {
            let mut m = RequestModel::from_head("POST", "/api/orders", "HTTP/1.1", headers(Some("application/json")));
            m.attach_body(json_body(), false);
            m
        }
    }
}

fn time<F: FnMut()>(mut f: F) -> f64 {
    // warm up, then take the best of 5 rounds of N iterations (µs per iteration)
    // BENCH_ITERS=N: iterations per round (default 400; fewer for slow configurations).
    let n: usize = std::env::var("BENCH_ITERS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(400);
    for _ in 0..n.div_ceil(8) {
        f();
    }
    (0..5)
        .map(|_| {
            let t = Instant::now();
            for _ in 0..n {
                f();
            }
            t.elapsed().as_secs_f64() * 1e6 / n as f64
        })
        .fold(f64::INFINITY, f64::min)
}

fn main() {
    let mut config = Config::load(None).expect("default config");
    // BENCH_SIGNATURES=DIR adds a signature directory; BENCH_NO_BUILTIN=1 drops the built-in set.
    if let Ok(dir) = std::env::var("BENCH_SIGNATURES") {
        config.signatures.dirs.push(dir.into());
    }
    if std::env::var("BENCH_NO_BUILTIN").is_ok() {
        config.signatures.builtin = false;
    }
    // BENCH_CRS=DIR loads the OWASP CRS (PL1); BENCH_NO_ML=1 turns the classifier off.
    if let Ok(dir) = std::env::var("BENCH_CRS") {
        config.crs.dir = Some(dir.into());
    }
    if std::env::var("BENCH_NO_ML").is_ok() {
        config.ml.enabled = false;
    }
    let engine = build_engine(&config).expect("engine");
    println!(
        "{:<6} {:>14} {:>16} {:>14} {:>8}",
        "scen", "model µs", "model+inspect µs", "inspect µs", "blocked"
    );
    // BENCH_SCENARIOS="get json": run only these.
    let wanted = std::env::var("BENCH_SCENARIOS").unwrap_or_else(|_| "get form json".into());
    for scenario in ["get", "form", "json"] {
        if !wanted.split_whitespace().any(|w| w == scenario) {
            continue;
        }
        let model_us = time(|| {
            black_box(build(scenario));
        });
        let mut blocked = false;
        let full_us = time(|| {
            let m = build(scenario);
            let v = engine.inspect_request(black_box(&m));
            blocked = v.is_block();
            black_box(v);
        });
        println!(
            "{scenario:<6} {model_us:>14.1} {full_us:>16.1} {:>14.1} {blocked:>8}",
            full_us - model_us
        );
    }
}
