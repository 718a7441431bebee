//! Runs the CRS regression suite without the `palisade` binary (for engine development):
//! `cargo run --release -p palisade-seclang --example ftw -- TESTS_DIR CRS_DIR [ONLY] [-v]`
fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let verbose = args.iter().any(|a| a == "-v");
    let pos: Vec<&String> = args.iter().filter(|a| !a.starts_with('-')).collect();
    let (Some(tests), Some(crs)) = (pos.first(), pos.get(1)) else {
        eprintln!("usage: ftw TESTS_DIR CRS_DIR [ONLY] [-v]");
        std::process::exit(2);
    };
    let only = pos.get(2).map(|s| s.as_str());
    let report = match palisade_seclang::ftw::run_suite(
        std::path::Path::new(tests),
        std::path::Path::new(crs),
        &Default::default(),
        only,
    ) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: {e}");
            std::process::exit(2);
        }
    };
    for o in &report.failed {
        if verbose {
            println!("FAIL {}: {}", o.name, o.detail);
        } else {
            println!("FAIL {}", o.name);
        }
    }
    eprintln!(
        "{} rules, load {} ms, run {} ms, {:.2}%",
        report.rules,
        report.load_ms,
        report.run_ms,
        report.pass_rate()
    );
    println!("{}", report.summary());
}
