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
