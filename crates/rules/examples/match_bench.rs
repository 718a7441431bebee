//! Runs the built-in signature set over one of the proxy benchmark's requests (bench/proxy.sh:
//! `get`, `form` or `json`) many times, for `valgrind --tool=callgrind` or a stopwatch:
//! `cargo run --release -p palisade-rules --example match_bench -- json 200`.
use palisade_http::bench_scenarios::request;
use palisade_rules::SignatureSet;

/// The binary's allocator: the matcher's per-request vectors cost what they cost there.
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

fn main() {
    let mut args = std::env::args().skip(1);
    let scenario = args.next().unwrap_or_else(|| "json".into());
    let iterations: usize = args.next().and_then(|n| n.parse().ok()).unwrap_or(200);
    let set = match SignatureSet::builtin() {
        Ok(set) => set,
        Err(e) => {
            eprintln!("built-in signatures: {e}");
            std::process::exit(1);
        }
    };
    let model = request(&scenario);
    let mut findings = Vec::new();
    let start = std::time::Instant::now();
    for _ in 0..iterations {
        findings.clear();
        set.match_request(std::hint::black_box(&model), 1, &mut findings);
    }
    let per = start.elapsed() / iterations as u32;
    println!(
        "{scenario}: {} findings, {per:?} per request",
        findings.len()
    );
}
