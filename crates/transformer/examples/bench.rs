//! Per-request inference cost on this machine's CPU, with generated random weights:
//! the tiny test model and a DistilBERT-base-sized one (6 layers, hidden 768, 12 heads,
//! FFN 3072: the real model's 66M parameters less most of its 23M-weight embedding table,
//! as the generated vocabulary is small; a table lookup costs nothing measurable).
//!
//! `cargo run --release -p palisade-transformer --example bench`

use std::time::{Duration, Instant};

use palisade_transformer::tiny::{self, TinySpec, Weights};
use palisade_transformer::{Architecture, Classifier, ModelOptions};

fn time(c: &Classifier, texts: &[&str], budget: Duration) -> f64 {
    c.probabilities(texts).expect("warm-up");
    let started = Instant::now();
    let mut runs = 0u32;
    while started.elapsed() < budget || runs < 3 {
        c.probabilities(texts).expect("inference");
        runs += 1;
    }
    started.elapsed().as_secs_f64() * 1000.0 / f64::from(runs)
}

fn main() {
    let dir = std::env::temp_dir().join(format!("palisade-tf-bench-{}", std::process::id()));
    let query = "/search?q=trail running shoes&page=2&sort=price";
    let long = "the trail running shoes from www mozilla com page name login ".repeat(40);
    let specs = [
        ("tiny BERT (2x32)", TinySpec::bert()),
        (
            "DistilBERT-base size (6x768)",
            TinySpec {
                architecture: Architecture::DistilBert,
                hidden: 768,
                intermediate: 3072,
                layers: 6,
                heads: 12,
                weights: Weights::Random,
                ..TinySpec::bert()
            },
        ),
    ];
    for (name, spec) in specs {
        tiny::write(&dir, &spec).expect("writing the model");
        let c = Classifier::load(&dir, &ModelOptions::default()).expect("loading");
        let budget = Duration::from_millis(1500);
        let one = time(&c, &[query], budget);
        let one_long = time(&c, &[long.as_str()], budget);
        let eight: Vec<&str> = vec![query; 8];
        let batch = time(&c, &eight, budget);
        println!(
            "{name}: 1 short text (~20 tokens) {one:.2} ms; 1 text of 256 tokens {one_long:.2} ms; \
             8 short texts in one pass {batch:.2} ms ({:.2} ms each)",
            batch / 8.0
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}
