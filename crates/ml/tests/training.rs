//! Training on the shared data (`../shared/data`, as in CI): determinism on a small subset,
//! what a subset model learns, and (ignored by default, run with `--release --ignored`)
//! byte-for-byte reproduction of the shipped model.

use std::path::{Path, PathBuf};

use palisade_ml::train::{train, TrainConfig};
use palisade_ml::Model;

fn data_root() -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data");
    assert!(
        root.join("fwaf/badqueries.txt").is_file(),
        "training data not found at {} (the shared data directory is required)",
        root.display()
    );
    root
}

fn small(seed: u64) -> TrainConfig {
    TrainConfig {
        data_root: data_root(),
        seed,
        bits: 16,
        epochs: 2,
        limit: Some(4000),
        generated: 6000,
        ..TrainConfig::default()
    }
}

#[test]
fn same_seed_gives_identical_weights_and_another_seed_does_not() {
    let a = train(&small(7)).expect("train");
    let b = train(&small(7)).expect("train");
    assert_eq!(a.model.to_bytes(), b.model.to_bytes());
    assert_eq!(a.test, b.test);
    let c = train(&small(8)).expect("train");
    assert_ne!(a.model.to_bytes(), c.model.to_bytes());
}

#[test]
fn subset_model_separates_held_out_attacks_from_benign_values() {
    let r = train(&small(1)).expect("train");
    // Metrics are on the test split, which the model never saw.
    assert!(r.test.roc_auc > 0.98, "{}", r.test);
    assert!(r.test.recall > 0.85, "{}", r.test);
    assert!(r.test.fpr < 0.01, "{}", r.test);
    // Every attack outranks every benign value.
    let m = &r.model;
    let attacks = [
        "1' UNION SELECT username, password FROM users--",
        "<script>alert(document.cookie)</script>",
        "../../../../etc/passwd",
        "; cat /etc/passwd",
    ];
    let benign = [
        "trail running shoes",
        "Anna O'Neil",
        "2024-05-01T12:00:00Z",
        "Please select the union option",
    ];
    let lowest_attack = attacks
        .iter()
        .map(|a| m.probability(a.as_bytes()))
        .fold(1.0, f32::min);
    let highest_benign = benign
        .iter()
        .map(|b| m.probability(b.as_bytes()))
        .fold(0.0, f32::max);
    assert!(
        lowest_attack > highest_benign,
        "{lowest_attack} <= {highest_benign}"
    );
    // The card names every data file with its hash and the metrics.
    let card = r.card("palisade train --limit 1500");
    assert!(card.contains("fwaf/badqueries.txt"));
    assert!(card.contains(&palisade_ml::data::sha256_hex(
        &std::fs::read(data_root().join("fwaf/badqueries.txt")).expect("read")
    )));
    assert!(card.contains("ROC-AUC"));
}

#[test]
fn missing_data_is_a_clear_error() {
    let cfg = TrainConfig {
        data_root: PathBuf::from("/nonexistent/data"),
        ..small(1)
    };
    let err = train(&cfg).err().expect("error").to_string();
    assert!(err.contains("/nonexistent/data"), "{err}");
}

/// `cargo test -p palisade-ml --release -- --ignored`: the full default training run
/// reproduces `models/default/model.bin` exactly.
#[test]
#[ignore]
fn full_training_reproduces_the_shipped_model() {
    let cfg = TrainConfig {
        data_root: data_root(),
        ..TrainConfig::default()
    };
    let r = train(&cfg).expect("train");
    let shipped = Model::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../../models/default"))
        .expect("shipped model");
    assert_eq!(r.model.to_bytes(), shipped.to_bytes());
}
