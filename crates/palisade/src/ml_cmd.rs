//! Machine-learned detection in Palisade: `[ml]` settings, flags, the detectors, and the
//! `train`, `eval` and `learn` commands.

use std::sync::Arc;

use anyhow::{anyhow, Result};
use clap::Args;
use palisade_engine::Detector;
use serde::Deserialize;

use crate::config::Config;

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MlSettings {}

/// Flags of `serve` and `check` that override `[ml]`.
#[derive(Args, Clone, Debug, Default)]
pub struct MlArgs {}

impl MlArgs {
    pub fn apply(&self, _config: &mut Config) -> Result<()> {
        Ok(())
    }
}

/// Arguments of `palisade train`.
#[derive(Args, Debug)]
pub struct TrainArgs {}

/// Arguments of `palisade eval`.
#[derive(Args, Debug)]
pub struct EvalArgs {}

/// Arguments of `palisade learn`.
#[derive(Args, Debug)]
pub struct LearnArgs {}

pub fn learn(_args: LearnArgs) -> Result<std::process::ExitCode> {
    Err(anyhow!("learn is not available yet"))
}

pub fn detectors(_config: &Config) -> Result<Vec<Arc<dyn Detector>>> {
    Ok(Vec::new())
}

pub fn train(_args: TrainArgs) -> Result<std::process::ExitCode> {
    Err(anyhow!("train is not available yet"))
}

pub fn eval(_args: EvalArgs) -> Result<std::process::ExitCode> {
    Err(anyhow!("eval is not available yet"))
}
