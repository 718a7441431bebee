//! Scores one of the proxy benchmark's requests (`get`, `form` or `json`) with the shipped
//! model many times, for `valgrind --tool=callgrind
//! --toggle-collect='palisade_ml::detector::worst_locations_remembering'` or a stopwatch:
//! `cargo run --release -p palisade-ml --example locations_bench -- json 200`.
use palisade_http::bench_scenarios::request;
use palisade_ml::detector::{worst_locations_remembering, Memory};

/// The binary's allocator, so that allocations cost what they cost there.
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

fn main() {
    let mut args = std::env::args().skip(1);
    let scenario = args.next().unwrap_or_else(|| "json".into());
    let iterations: usize = args.next().and_then(|n| n.parse().ok()).unwrap_or(200);
    let model = match palisade_ml::default_model() {
        Ok(model) => model,
        Err(e) => {
            eprintln!("built-in model: {e}");
            std::process::exit(1);
        }
    };
    let request = request(&scenario);
    // remembered across iterations as the detector remembers across requests
    let memory = Memory::default();
    let mut worst = None;
    let start = std::time::Instant::now();
    for _ in 0..iterations {
        worst =
            worst_locations_remembering(&model, std::hint::black_box(&request), Some(&memory)).0;
    }
    let per = start.elapsed() / iterations as u32;
    let score = worst.map_or(0.0, |w| w.probability);
    println!("{scenario}: worst probability {score:.4}, {per:?} per request");
}
