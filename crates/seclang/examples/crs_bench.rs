//! Profiling harness for the CRS engine alone (engine development aid): the anchor
//! scenarios of `crates/palisade/benches/inspect.rs` (GET with a query, 2 KB form, 20 KB
//! JSON) through [`CrsDetector`] at paranoia 1, many times, so that `perf record` sees the
//! per-request work rather than the rule loading.
//!
//! `cargo run --release -p palisade-seclang --example crs_bench -- CRS_DIR [get|form|json] [ITERS]`
//!
//! Instructions per request (deterministic, unlike time on a shared machine):
//! `valgrind --tool=callgrind --toggle-collect=crs_bench::timed target/release/examples/crs_bench CRS_DIR get 20`,
//! total divided by ITERS.
use std::hint::black_box;
use std::sync::Arc;
use std::time::Instant;

use palisade_engine::Detector;
use palisade_http::{Headers, RequestModel};
use palisade_seclang::{CrsDetector, CrsLoad};

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

/// CPU time of this thread (ns), from `/proc/thread-self/schedstat`: unlike wall time it
/// does not count time the (shared) machine spent running other processes.
fn thread_cpu_ns() -> u64 {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}

/// One inspection, in µs. A function of its own so that callgrind can count the measured
/// requests only (`--toggle-collect=crs_bench::timed`), without the first one, which
/// fills the lazy DFAs' caches.
#[inline(never)]
fn timed(det: &CrsDetector, model: &RequestModel) -> f64 {
    let t = Instant::now();
    let mut out = Vec::new();
    det.inspect_request(black_box(model), 1, &mut out);
    black_box(out);
    t.elapsed().as_secs_f64() * 1e6
}

const PREAMBLE: &str =
    "SecRuleEngine DetectionOnly\nSecRequestBodyAccess On\nSecResponseBodyAccess On\n";

fn main() {
    let mut args = std::env::args().skip(1);
    let dir = args.next().unwrap_or_else(|| "../shared/data/crs".into());
    let scenarios = args.next().unwrap_or_else(|| "get,form,json".into());
    let iters: usize = args.next().and_then(|n| n.parse().ok()).unwrap_or(200);
    let rules = CrsLoad {
        dir: dir.into(),
        preamble: PREAMBLE.into(),
        ..Default::default()
    }
    .load()
    .unwrap_or_else(|e| panic!("{e}"));
    let det = CrsDetector::new(Arc::new(rules), 0, true);
    println!("rss after load {} MB", rss_mb());
    for scenario in scenarios.split(',') {
        let model = build(scenario);
        let mut out = Vec::new();
        det.inspect_request(&model, 1, &mut out);
        let ids: Vec<&str> = out.iter().map(|f| f.id.as_str()).collect();
        let cpu0 = thread_cpu_ns();
        let mut times: Vec<f64> = (0..iters).map(|_| timed(&det, &model)).collect();
        let cpu = thread_cpu_ns().saturating_sub(cpu0) as f64 / 1e3 / iters as f64;
        times.sort_by(f64::total_cmp);
        println!(
            "{scenario:<5} cpu {cpu:>9.1} µs  p50 {:>9.1} µs  min {:>9.1} µs  findings {ids:?}",
            times[times.len() / 2],
            times[0]
        );
    }
    println!("rss at the end {} MB", rss_mb());
}

/// Resident memory of this process (MB), from `/proc/self/status`.
fn rss_mb() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            let line = s.lines().find(|l| l.starts_with("VmRSS:"))?;
            line.split_whitespace().nth(1)?.parse::<u64>().ok()
        })
        .map_or(0, |kb| kb / 1024)
}
