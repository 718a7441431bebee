//! The OWASP Core Rule Set in Palisade: `[crs]` settings, `--crs` flags, the CRS detector and
//! `palisade crs-test`.

use std::sync::Arc;

use anyhow::{anyhow, Result};
use clap::Args;
use palisade_engine::Detector;
use serde::Deserialize;

use crate::config::Config;

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CrsSettings {}

/// Flags of `serve` and `check` that override `[crs]`.
#[derive(Args, Clone, Debug, Default)]
pub struct CrsArgs {}

impl CrsArgs {
    pub fn apply(&self, _config: &mut Config) -> Result<()> {
        Ok(())
    }
}

/// Arguments of `palisade crs-test`.
#[derive(Args, Debug)]
pub struct CrsTestArgs {}

pub fn detectors(_config: &Config) -> Result<Vec<Arc<dyn Detector>>> {
    Ok(Vec::new())
}

pub fn crs_test(_args: CrsTestArgs) -> Result<std::process::ExitCode> {
    Err(anyhow!("crs-test is not available yet"))
}
