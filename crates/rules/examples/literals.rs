//! Prints each regex of a signature directory with its required literals (or ALWAYS), as
//! the matcher extracts them for the file's pipeline.
//! `cargo run -p palisade-rules --example literals -- signatures/default`
fn main() {
    let dir = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "signatures/default".into());
    let (mut with, mut without) = (0, 0);
    for target in ["url", "args", "headers", "agents", "body", "response"] {
        let Ok(entries) = std::fs::read_dir(format!("{dir}/{target}")) else {
            continue;
        };
        for e in entries.flatten() {
            let path = e.path();
            if path.extension().is_none_or(|x| x != "re") {
                continue;
            }
            let text = std::fs::read_to_string(&path).unwrap_or_default();
            // whether the file's pipeline compresses whitespace last (`default` does)
            let mut compressed = false;
            for (i, line) in text.lines().enumerate() {
                let l = line.trim();
                if let Some(spec) = l.strip_prefix("#@ transforms:") {
                    compressed = palisade_rules::parse_pipeline(spec)
                        .is_ok_and(|p| palisade_rules::prefilter::compresses_whitespace(&p));
                }
                if l.is_empty() || l.starts_with('#') {
                    continue;
                }
                match palisade_rules::prefilter::required_literals_with(l, compressed) {
                    Some(set) => {
                        with += 1;
                        let shown: Vec<String> = set
                            .iter()
                            .map(|s| String::from_utf8_lossy(s).into_owned())
                            .collect();
                        println!("{}:{} {:?}", path.display(), i + 1, shown);
                    }
                    None => {
                        without += 1;
                        println!("{}:{} ALWAYS {}", path.display(), i + 1, l);
                    }
                }
            }
        }
    }
    eprintln!("{with} with literals, {without} always-run");
}
