//! Per-request inspection cost on the anchor scenarios (GET with a query string, 2 KB form,
//! 20 KB JSON), built-in signatures (and the classifier, and with BENCH_CRS the OWASP CRS)
//! at paranoia 1. Baseline in the same run: building the
//! request model and parsing the body without detectors. Run: `cargo bench -p palisade`.

use std::hint::black_box;
use std::time::Instant;

use palisade::config::Config;
use palisade::detectors::build_engine;
use palisade_http::bench_scenarios::request as build;

/// The binary's allocator: a request's model and findings are many small allocations, and
/// glibc's malloc would make them a third of the time measured here.
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

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
