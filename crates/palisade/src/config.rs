//! The configuration file: `[proxy]`, `[policy]` and `[signatures]`, with embedded defaults.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use palisade_engine::Policy;
use palisade_proxy::ProxySettings;
use serde::Deserialize;

/// The documented default configuration (also printed by `palisade default-config`).
pub const DEFAULT_CONFIG: &str = include_str!("../../../config/palisade.toml");

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    pub proxy: ProxySettings,
    pub policy: Policy,
    pub signatures: SignatureSettings,
    /// `[crs]`: the OWASP Core Rule Set engine.
    pub crs: crate::crs_cmd::CrsSettings,
    /// `[ml]`: machine-learned detectors.
    pub ml: crate::ml_cmd::MlSettings,
    /// `[ips]`: bans raised by the WAF layer.
    pub ips: crate::ips_cmd::IpsSettings,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SignatureSettings {
    pub builtin: bool,
    pub dirs: Vec<PathBuf>,
    pub agent_lists: Vec<PathBuf>,
}

impl Default for SignatureSettings {
    fn default() -> Self {
        SignatureSettings {
            builtin: true,
            dirs: Vec::new(),
            agent_lists: Vec::new(),
        }
    }
}

impl Config {
    /// Reads `path`, or the embedded defaults when `path` is None.
    pub fn load(path: Option<&Path>) -> Result<Config> {
        match path {
            None => Config::parse(DEFAULT_CONFIG, Path::new("<built-in default config>")),
            Some(p) => {
                let text = std::fs::read_to_string(p)
                    .with_context(|| format!("reading config {}", p.display()))?;
                Config::parse(&text, p)
            }
        }
    }

    pub fn parse(text: &str, origin: &Path) -> Result<Config> {
        let mut config: Config =
            toml::from_str(text).map_err(|e| anyhow::anyhow!("{}: {}", origin.display(), e))?;
        config
            .policy
            .compile()
            .map_err(|e| anyhow::anyhow!("{}: [policy]: {e}", origin.display()))?;
        Ok(config)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_default_matches_code_defaults() {
        let from_file = Config::load(None).expect("default config parses");
        let code = Config::default();
        assert_eq!(
            format!("{:?}", from_file.proxy),
            format!("{:?}", code.proxy)
        );
        assert_eq!(
            from_file.policy.inbound_threshold,
            code.policy.inbound_threshold
        );
        assert_eq!(
            from_file.policy.outbound_threshold,
            code.policy.outbound_threshold
        );
        assert_eq!(from_file.policy.paranoia, code.policy.paranoia);
        assert_eq!(from_file.policy.mode, code.policy.mode);
        assert_eq!(
            from_file.policy.blocked_methods,
            code.policy.blocked_methods
        );
        assert_eq!(
            from_file.policy.allowed_charsets,
            code.policy.allowed_charsets
        );
        assert_eq!(from_file.signatures.builtin, code.signatures.builtin);
    }

    #[test]
    fn unknown_keys_and_bad_values_are_errors_naming_the_file() {
        let err = Config::parse("[proxy]\nlisten_addr = 1\n", Path::new("x.toml")).unwrap_err();
        assert!(err.to_string().contains("x.toml"), "{err}");
        assert!(err.to_string().contains("listen_addr"), "{err}");
        let err = Config::parse(
            "[proxy.timeouts]\nclient_body = \"3 weeks\"\n",
            Path::new("y.toml"),
        )
        .unwrap_err();
        assert!(err.to_string().contains("y.toml"), "{err}");
        let err = Config::parse("[policy]\nparanoia = 9\n", Path::new("z.toml")).unwrap_err();
        assert!(err.to_string().contains("paranoia"), "{err}");
    }
}
