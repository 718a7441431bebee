//! The OWASP CRS 4.28 regression suite (5,003 go-ftw tests in `../shared/data/crs`), run
//! in-process at paranoia level 4 in detection-only mode, as CRS's own CI runs it.
//! The goal of the CRS issue is >= 99.5% of the runnable tests; only the documented
//! HTTP-parsing differences in `config/crs-test-overrides.txt` are skipped.

use std::path::PathBuf;

use palisade_seclang::ftw;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

#[test]
fn crs_regression_suite_meets_the_goal() {
    let crs = root().join("../shared/data/crs");
    assert!(
        crs.join("rules").is_dir(),
        "CRS not found at {} (the shared data directory is required)",
        crs.display()
    );
    let overrides =
        ftw::load_overrides(&root().join("config/crs-test-overrides.txt")).expect("overrides file");
    let report = ftw::run_suite(&crs.join("tests/regression/tests"), &crs, &overrides, None)
        .expect("suite runs");
    for f in &report.failed {
        eprintln!("FAIL {}: {}", f.name, f.detail);
    }
    eprintln!("{}", report.summary());
    let total = report.passed + report.failed.len() + report.skipped;
    assert!(total >= 5000, "only {total} tests found");
    assert!(report.skipped <= 10, "{} skipped", report.skipped);
    assert!(
        report.pass_rate() >= 99.5,
        "pass rate {:.2}% ({})",
        report.pass_rate(),
        report.summary()
    );
    // Every runnable test passes (4,994; the 9 others are skipped with their reasons): a
    // failure is a regression in the engine, even while the rate above still meets the
    // issue's goal (a shortcut that skipped @detectSQLi on long values failed 24 tests
    // at 99.52%).
    assert!(
        report.failed.is_empty(),
        "{} runnable test(s) failed ({}); see FAIL lines above",
        report.failed.len(),
        report.summary()
    );
}

#[test]
fn a_bad_rule_file_names_file_and_line() {
    let dir = std::env::temp_dir().join(format!("palisade-seclang-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("bad.conf");
    std::fs::write(
        &file,
        "SecRule ARGS \"@rx a\" \"id:1,phase:2,pass\"\n\nSecRule ARGS \"@rx (\" \"id:2,phase:2,pass\"\n",
    )
    .unwrap();
    let err = palisade_seclang::RuleSet::load_files(std::slice::from_ref(&file)).unwrap_err();
    let text = err.to_string();
    assert!(
        text.starts_with(&format!("{}:3: @rx:", file.display())),
        "{text}"
    );
    std::fs::remove_dir_all(&dir).ok();
}
