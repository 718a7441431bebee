//! Writes every request of a go-ftw suite, as go-ftw sends it, to a file of its own: the
//! seed corpus of the `crs_shortcuts` fuzz target (engine development aid).
//!
//! `cargo run --release -p palisade-seclang --example ftw_requests -- TESTS_DIR OUT_DIR`
fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [tests, out] = args.as_slice() else {
        eprintln!("usage: ftw_requests TESTS_DIR OUT_DIR");
        std::process::exit(2);
    };
    let suite = match palisade_seclang::ftw::load_dir(std::path::Path::new(tests)) {
        Ok(suite) => suite,
        Err(e) => {
            eprintln!("error: {e}");
            std::process::exit(1);
        }
    };
    let out = std::path::Path::new(out);
    if let Err(e) = std::fs::create_dir_all(out) {
        eprintln!("error: {}: {e}", out.display());
        std::process::exit(1);
    }
    let mut written = 0;
    for test in &suite {
        for (i, stage) in test.stages.iter().enumerate() {
            let path = out.join(format!("{}-{i}", test.name));
            if let Err(e) = std::fs::write(&path, &stage.request) {
                eprintln!("error: {}: {e}", path.display());
                std::process::exit(1);
            }
            written += 1;
        }
    }
    println!("{written} requests written to {}", out.display());
}
