//! Building the detection engine from the configuration.

use std::sync::Arc;

use anyhow::{anyhow, Result};
use palisade_engine::{BlockedMethods, BodyCharsets, BodyParseErrors, Detector, Engine};
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
    warn_of_unknown_signature_ids(config, &set);
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
        Arc::new(BlockedMethods::new(&config.policy.blocked_methods)),
        Arc::new(BodyCharsets::new(&config.policy.allowed_charsets)),
    ];
    detectors.extend(crate::crs_cmd::detectors(config)?);
    detectors.extend(crate::ml_cmd::detectors(config)?);
    Ok(Engine::new(detectors, config.policy.clone()))
}

/// `disabled_rules` entries that look like signature ids (`FILE` or `FILE:LINE`, with a
/// `/`, or anything under `builtin`) but name no loaded pattern disable nothing: a typo,
/// a file removed, or lines added above the pattern in its file (ids are file and line).
/// Said at every load, so that an exclusion that silently stopped working is seen.
fn warn_of_unknown_signature_ids(config: &Config, set: &SignatureSet) {
    let policy = &config.policy;
    let lists = std::iter::once(("global", &policy.disabled_rules))
        .chain(policy.routes.iter().map(|r| ("route", &r.disabled_rules)));
    let signature_like =
        |id: &&String| id.contains('/') || id.as_str() == "builtin" || id.starts_with("builtin:");
    for (scope, list) in lists {
        for id in list.iter().filter(signature_like) {
            if !set.has_rule(id) {
                tracing::warn!(
                    rule = %id,
                    scope,
                    "disabled_rules names no loaded signature: nothing is disabled by it \
                     (signature ids are SOURCE:FILE:LINE, and lines added above a pattern move it; \
                     `palisade check --show fp,fn` lists the ids that matched)"
                );
            }
        }
    }
}
