//! Per-request inspection cost on the anchor scenarios (GET with a query string, 2 KB form,
//! 20 KB JSON), built-in signatures (and the classifier, and with BENCH_CRS the OWASP CRS)
//! at paranoia 1. Baseline in the same run: building the
//! request model and parsing the body without detectors. Run: `cargo bench -p palisade`.
//!
//! `BENCH_CORPUS=corpus/benign` also times inspection over each JSONL corpus of that
//! directory (models built beforehand): mean µs per request per kind, and how many of the
//! kind's requests are blocked, e.g. `BENCH_CRS=../shared/data/crs BENCH_NO_BUILTIN=1
//! BENCH_NO_ML=1 BENCH_CORPUS=corpus/benign cargo bench -p palisade` for CRS alone on
//! realistic traffic. Its last line, `mixed`, takes the kinds' requests in turn, once per
//! round, as varied traffic comes (the per-kind lines repeat a kind's few requests).

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
    if let Ok(dir) = std::env::var("BENCH_CORPUS") {
        corpus(&engine, std::path::Path::new(&dir));
    }
}

/// Inspection cost per request over each `*.jsonl` corpus in `dir`.
fn corpus(engine: &palisade_engine::Engine, dir: &std::path::Path) {
    let mut files: Vec<std::path::PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "jsonl"))
        .collect();
    files.sort();
    println!(
        "\n{:<14} {:>8} {:>14} {:>8}",
        "corpus", "requests", "inspect µs", "blocked"
    );
    let (mut all_requests, mut all_us) = (0, 0.0);
    let mut kinds: Vec<Vec<palisade_http::RequestModel>> = Vec::new();
    for file in files {
        let kind = file
            .file_stem()
            .map_or_else(String::new, |s| s.to_string_lossy().into());
        let models: Vec<palisade_http::RequestModel> = palisade::corpus::load(&file)
            .unwrap_or_else(|e| panic!("{}: {e}", file.display()))
            .iter()
            .filter_map(|e| e.to_model().ok())
            .collect();
        if models.is_empty() {
            continue;
        }
        let blocked = models
            .iter()
            .filter(|m| engine.inspect_request(m).is_block())
            .count();
        // (per round: every request of the kind once)
        let rounds = (2000 / models.len()).max(1);
        let mut best = f64::INFINITY;
        for _ in 0..3 {
            let t = Instant::now();
            for _ in 0..rounds {
                for m in &models {
                    black_box(engine.inspect_request(black_box(m)));
                }
            }
            best = best.min(t.elapsed().as_secs_f64() * 1e6 / (rounds * models.len()) as f64);
        }
        all_requests += models.len();
        all_us += best * models.len() as f64;
        println!("{kind:<14} {:>8} {best:>14.1} {blocked:>8}", models.len());
        kinds.push(models);
    }
    if all_requests > 0 {
        println!(
            "{:<14} {all_requests:>8} {:>14.1}",
            "all",
            all_us / all_requests as f64
        );
    }
    // The kinds' requests taken in turn, as varied traffic arrives: a kind's few dozen
    // requests repeated let the regex DFAs keep every state they need, while all of them
    // mixed once make new states most of the way (see `DfaPart::split` in the seclang
    // crate), so this is the figure for traffic that does not repeat itself.
    let longest = kinds.iter().map(Vec::len).max().unwrap_or(0);
    let mixed: Vec<&palisade_http::RequestModel> = (0..longest)
        .flat_map(|i| kinds.iter().filter_map(move |k| k.get(i)))
        .collect();
    if !mixed.is_empty() {
        let mut best = f64::INFINITY;
        for _ in 0..3 {
            let t = Instant::now();
            for m in &mixed {
                black_box(engine.inspect_request(black_box(m)));
            }
            best = best.min(t.elapsed().as_secs_f64() * 1e6 / mixed.len() as f64);
        }
        println!("{:<14} {:>8} {best:>14.1}", "mixed", mixed.len());
    }
}
