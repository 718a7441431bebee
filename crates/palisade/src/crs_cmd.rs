//! The OWASP Core Rule Set in Palisade: `[crs]` settings, `--crs` flags, the CRS detector and
//! `palisade crs-test`.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{anyhow, Result};
use clap::Args;
use palisade_engine::Detector;
use palisade_seclang::{ftw, CrsDetector, CrsLoad};
use serde::Deserialize;

use crate::config::Config;

/// `[crs]`: run an OWASP CRS v4 checkout natively. The blocking paranoia level is the
/// policy's (`[policy] paranoia`, per route); the anomaly threshold is the policy's
/// `inbound_threshold` (CRS's default, 5, is Palisade's too).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CrsSettings {
    /// The CRS directory (with `rules/` and `crs-setup.conf[.example]`). Unset: CRS off.
    pub dir: Option<PathBuf>,
    /// Your `crs-setup.conf` (default: the directory's `crs-setup.conf`, else the example).
    pub setup: Option<PathBuf>,
    /// SecLang files loaded before the CRS rules (REQUEST-900 exclusions).
    pub before: Vec<PathBuf>,
    /// SecLang files loaded after the CRS rules (RESPONSE-999 exclusions, removals).
    pub after: Vec<PathBuf>,
    /// Rules up to this paranoia level are reported but not scored when above the
    /// blocking level (CRS's detection paranoia level). 0: same as blocking.
    pub detection_paranoia: u8,
    /// Run the RESPONSE-95x rules on buffered text responses.
    pub inspect_responses: Option<bool>,
}

/// Flags of `serve` and `check` that override `[crs]`.
#[derive(Args, Clone, Debug, Default)]
pub struct CrsArgs {
    /// Load the OWASP Core Rule Set from DIR (a CRS v4 checkout).
    #[arg(long = "crs", value_name = "DIR")]
    pub crs: Option<PathBuf>,
    /// SecLang file loaded before the CRS rules (repeatable).
    #[arg(long = "crs-before", value_name = "FILE")]
    pub before: Vec<PathBuf>,
    /// SecLang file loaded after the CRS rules (repeatable).
    #[arg(long = "crs-after", value_name = "FILE")]
    pub after: Vec<PathBuf>,
}

impl CrsArgs {
    pub fn apply(&self, config: &mut Config) -> Result<()> {
        if let Some(dir) = &self.crs {
            config.crs.dir = Some(dir.clone());
        }
        config.crs.before.extend(self.before.iter().cloned());
        config.crs.after.extend(self.after.iter().cloned());
        if config.crs.detection_paranoia > 4 {
            return Err(anyhow!("[crs] detection_paranoia must be 0-4"));
        }
        Ok(())
    }
}

/// Engine settings Palisade puts before the CRS: the rules report, Palisade's policy
/// decides (so `SecRuleEngine` never interrupts by itself), bodies are inspected.
const SERVE_PREAMBLE: &str =
    "SecRuleEngine DetectionOnly\nSecRequestBodyAccess On\nSecResponseBodyAccess On\n";

/// Loads the rule set `[crs]` names (none when `dir` is unset).
pub fn load_rules(config: &Config) -> Result<Option<palisade_seclang::RuleSet>> {
    let Some(dir) = &config.crs.dir else {
        return Ok(None);
    };
    let load = CrsLoad {
        dir: dir.clone(),
        setup: config.crs.setup.clone(),
        preamble: SERVE_PREAMBLE.to_string(),
        before: config.crs.before.clone(),
        after: config.crs.after.clone(),
    };
    let rules = load.load().map_err(|e| anyhow!("CRS: {e}"))?;
    tracing::info!(rules = rules.rule_count(), dir = %dir.display(), "OWASP CRS loaded");
    Ok(Some(rules))
}

pub fn detectors(config: &Config) -> Result<Vec<Arc<dyn Detector>>> {
    let Some(rules) = load_rules(config)? else {
        return Ok(Vec::new());
    };
    Ok(vec![Arc::new(CrsDetector::new(
        Arc::new(rules),
        config.crs.detection_paranoia,
        config.crs.inspect_responses.unwrap_or(true),
    ))])
}

/// Arguments of `palisade crs-test`.
#[derive(Args, Debug)]
pub struct CrsTestArgs {
    /// Directory of go-ftw YAML tests (CRS: tests/regression/tests).
    pub tests: PathBuf,
    /// The CRS directory (default: three levels above TESTS, as in a CRS checkout).
    #[arg(long)]
    pub crs: Option<PathBuf>,
    /// Documented parsing differences: lines `TEST-NAME reason`; such tests count as skipped.
    #[arg(long)]
    pub overrides: Option<PathBuf>,
    /// Run only tests whose name (`942100-3`) or file path contains this text.
    #[arg(long)]
    pub only: Option<String>,
    /// Print every failure with its reason (default: failures grouped by file).
    #[arg(long, short)]
    pub verbose: bool,
    /// Exit with status 1 when the pass rate (of runnable tests) is below this percentage.
    #[arg(long, value_name = "PERCENT")]
    pub min_pass_rate: Option<f64>,
}

pub fn crs_test(args: CrsTestArgs) -> Result<ExitCode> {
    let crs_dir = match &args.crs {
        Some(d) => d.clone(),
        None => args
            .tests
            .ancestors()
            .nth(3)
            .map(PathBuf::from)
            .ok_or_else(|| anyhow!("cannot guess the CRS directory; pass --crs DIR"))?,
    };
    let overrides = match &args.overrides {
        Some(p) => ftw::load_overrides(p).map_err(|e| anyhow!(e))?,
        None => Default::default(),
    };
    let report = ftw::run_suite(&args.tests, &crs_dir, &overrides, args.only.as_deref())
        .map_err(|e| anyhow!(e))?;
    let mut by_file: BTreeMap<String, Vec<&ftw::Outcome>> = BTreeMap::new();
    for o in &report.failed {
        let file = o
            .file
            .file_name()
            .map(|f| f.to_string_lossy().into_owned())
            .unwrap_or_default();
        by_file.entry(file).or_default().push(o);
    }
    for (file, outcomes) in &by_file {
        if args.verbose {
            for o in outcomes {
                println!("FAIL {} ({file}): {}", o.name, o.detail);
            }
        } else {
            let names: Vec<&str> = outcomes.iter().map(|o| o.name.as_str()).collect();
            println!("{file}: {}", names.join(" "));
        }
    }
    eprintln!(
        "{} rules loaded in {} ms; tests ran in {} ms; pass rate {:.2}%",
        report.rules,
        report.load_ms,
        report.run_ms,
        report.pass_rate()
    );
    println!("{}", report.summary());
    match args.min_pass_rate {
        Some(min) if report.pass_rate() < min => Ok(ExitCode::from(1)),
        _ => Ok(ExitCode::SUCCESS),
    }
}
