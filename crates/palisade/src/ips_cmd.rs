//! The packet layer in Palisade: `[ips]` settings and the `palisade ips ...` commands.

use anyhow::{anyhow, Result};
use clap::Args;
use serde::Deserialize;

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct IpsSettings {}

/// Arguments of `palisade ips`.
#[derive(Args, Debug)]
pub struct IpsArgs {}

pub fn run(_args: IpsArgs) -> Result<std::process::ExitCode> {
    Err(anyhow!("ips is not available yet"))
}
