//! Building the detection engine from the configuration.

use std::sync::Arc;

use anyhow::{anyhow, Result};
use palisade_engine::{BodyParseErrors, Detector, Engine};
use palisade_rules::{agent_list, builtin, from_dir, SignatureDetector, SignatureSet};

use crate::config::Config;

pub fn build_engine(config: &Config) -> Result<Engine> {
    let mut sources = Vec::new();
    if config.signatures.builtin {
        sources.extend(builtin().map_err(|e| anyhow!("built-in signatures: {e}"))?);
    }
    for dir in &config.signatures.dirs {
        sources.extend(from_dir(dir).map_err(|e| anyhow!("{e}"))?);
    }
    for list in &config.signatures.agent_lists {
        sources.push(agent_list(list).map_err(|e| anyhow!("{e}"))?);
    }
    let set = SignatureSet::from_sources(sources).map_err(|e| anyhow!("{e}"))?;
    let stats = set.stats().clone();
    tracing::info!(
        files = stats.files,
        literals = stats.literals,
        regexes = stats.regexes,
        groups = stats.groups,
        "signatures loaded"
    );
    let mut detectors: Vec<Arc<dyn Detector>> = vec![
        Arc::new(SignatureDetector::new(set)),
        Arc::new(BodyParseErrors),
    ];
    detectors.extend(crate::crs_cmd::detectors(config)?);
    detectors.extend(crate::ml_cmd::detectors(config)?);
    Ok(Engine::new(detectors, config.policy.clone()))
}
