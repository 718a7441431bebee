//! The OWASP Core Rule Set in Palisade: `[crs]` settings, `--crs` flags, the CRS detector and
//! `palisade crs-test`.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{anyhow, Result};
use clap::Args;
use palisade_engine::Detector;
use palisade_seclang::ftw;
use palisade_seclang::CrsLoad;
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

pub fn detectors(_config: &Config) -> Result<Vec<Arc<dyn Detector>>> {
    Ok(Vec::new())
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
    let load = CrsLoad {
        dir: crs_dir,
        preamble: ftw::TEST_PREAMBLE.to_string(),
        ..CrsLoad::default()
    };
    let started = std::time::Instant::now();
    let rules = load.load().map_err(|e| anyhow!("loading CRS: {e}"))?;
    let load_ms = started.elapsed().as_millis();
    let overrides = match &args.overrides {
        Some(p) => ftw::load_overrides(p).map_err(|e| anyhow!(e))?,
        None => Default::default(),
    };
    let tests = ftw::load_dir(&args.tests).map_err(|e| anyhow!(e))?;
    let started = std::time::Instant::now();
    let (mut passed, mut failed, mut skipped) = (0usize, 0usize, 0usize);
    let mut by_file: BTreeMap<String, Vec<ftw::Outcome>> = BTreeMap::new();
    for test in &tests {
        if let Some(only) = &args.only {
            if !test.name.contains(only.as_str())
                && !test.file.to_string_lossy().contains(only.as_str())
            {
                continue;
            }
        }
        if overrides.contains_key(&test.name) {
            skipped += 1;
            continue;
        }
        let outcome = ftw::run_test(&rules, test);
        if outcome.passed {
            passed += 1;
        } else {
            failed += 1;
            let file = test
                .file
                .file_name()
                .map(|f| f.to_string_lossy().into_owned())
                .unwrap_or_default();
            by_file.entry(file).or_default().push(outcome);
        }
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
    let runnable = passed + failed;
    let rate = if runnable == 0 {
        0.0
    } else {
        100.0 * passed as f64 / runnable as f64
    };
    eprintln!(
        "{} rules loaded in {load_ms} ms; {} tests in {} ms; pass rate {rate:.2}%",
        rules.rule_count(),
        runnable,
        started.elapsed().as_millis()
    );
    if skipped > 0 {
        println!("{passed} passed, {failed} failed, {skipped} skipped");
    } else {
        println!("{passed} passed, {failed} failed");
    }
    match args.min_pass_rate {
        Some(min) if rate < min => Ok(ExitCode::from(1)),
        _ => Ok(ExitCode::SUCCESS),
    }
}
