//! Times the JSON flattener on the benchmark's 20 KB order (bench/proxy.sh's JSON scenario):
//! `cargo run --release -p palisade-http --example flatten_bench [ITERATIONS]`.
use std::time::Instant;

fn main() {
    let iterations: usize = std::env::args()
        .nth(1)
        .and_then(|n| n.parse().ok())
        .unwrap_or(2000);
    let body = palisade_http::bench_scenarios::json_order();
    let mut leaves = 0;
    let start = Instant::now();
    for _ in 0..iterations {
        let mut args = Vec::new();
        if palisade_http::json::flatten(&body, 1000, &mut args).is_err() {
            eprintln!("the order did not parse");
            std::process::exit(1);
        }
        leaves = args.len();
        std::hint::black_box(&args);
    }
    let per = start.elapsed() / iterations as u32;
    println!("{} bytes, {leaves} leaves: {per:?} per flatten", body.len());
    if std::env::var_os("REFERENCE").is_some() {
        reference(&body, iterations);
    }
}

fn reference(body: &[u8], iterations: usize) {
    let start = Instant::now();
    for _ in 0..iterations {
        let v: serde_json::Value = serde_json::from_slice(body).expect("json");
        std::hint::black_box(&v);
    }
    println!(
        "serde_json::Value: {:?}",
        start.elapsed() / iterations as u32
    );
}
