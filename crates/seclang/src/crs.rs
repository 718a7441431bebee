//! Locating the files of an OWASP Core Rule Set checkout and loading them in CRS order:
//! settings, the user's before-CRS exclusions, `rules/*.conf`, the after-CRS exclusions.

use std::path::{Path, PathBuf};

use crate::parse::{LoadError, Origin};
use crate::ruleset::{RuleSet, Source};

/// What to load besides the CRS directory itself.
#[derive(Debug, Clone, Default)]
pub struct CrsLoad {
    /// The CRS directory (holding `rules/` and `crs-setup.conf[.example]`).
    pub dir: PathBuf,
    /// A `crs-setup.conf` to use instead of the directory's own.
    pub setup: Option<PathBuf>,
    /// SecLang text loaded first (engine settings, `tx.*` settings).
    pub preamble: String,
    /// User files loaded before the CRS rules (the REQUEST-900 convention).
    pub before: Vec<PathBuf>,
    /// User files loaded after the CRS rules (the RESPONSE-999 convention).
    pub after: Vec<PathBuf>,
}

impl CrsLoad {
    /// The ordered list of sources.
    pub fn sources(&self) -> Result<Vec<Source>, LoadError> {
        let err = |p: &Path, m: String| LoadError {
            origin: Origin {
                file: p.to_path_buf(),
                line: 0,
            },
            message: m,
        };
        let rules_dir = self.dir.join("rules");
        if !rules_dir.is_dir() {
            return Err(err(
                &self.dir,
                "not a CRS directory (no rules/ inside)".into(),
            ));
        }
        let mut out = Vec::new();
        if !self.preamble.trim().is_empty() {
            out.push(Source::Text(
                self.preamble.clone(),
                self.dir.join("<palisade settings>"),
            ));
        }
        let setup = match &self.setup {
            Some(s) => s.clone(),
            None => {
                let own = self.dir.join("crs-setup.conf");
                if own.is_file() {
                    own
                } else {
                    self.dir.join("crs-setup.conf.example")
                }
            }
        };
        if !setup.is_file() {
            return Err(err(&setup, "CRS setup file not found".into()));
        }
        out.push(Source::File(setup));
        out.extend(self.before.iter().cloned().map(Source::File));
        let mut rules: Vec<PathBuf> = std::fs::read_dir(&rules_dir)
            .map_err(|e| err(&rules_dir, e.to_string()))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "conf"))
            .collect();
        rules.sort();
        out.extend(rules.into_iter().map(Source::File));
        out.extend(self.after.iter().cloned().map(Source::File));
        Ok(out)
    }

    pub fn load(&self) -> Result<RuleSet, LoadError> {
        RuleSet::load(&self.sources()?)
    }
}
