//! Shared by the CRS integration tests: where the repository and the CRS are, and an engine
//! that runs the CRS alone.

use std::path::{Path, PathBuf};

use palisade::config::Config;
use palisade::detectors::build_engine;
use palisade_engine::Engine;

pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

pub fn crs_dir() -> PathBuf {
    root().join("../shared/data/crs")
}

/// CRS only (no built-in signatures, no classifier), at `paranoia`.
pub fn crs_engine(paranoia: u8, extra: impl FnOnce(&mut Config)) -> Engine {
    let mut config = Config::load(None).expect("default config");
    config.signatures.builtin = false;
    config.crs.dir = Some(crs_dir());
    config.policy.paranoia = paranoia;
    config.policy.compile().expect("policy");
    config.ml.enabled = false;
    extra(&mut config);
    build_engine(&config).expect("engine with CRS")
}
