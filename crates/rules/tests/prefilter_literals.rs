//! The prefilter's promise, checked on the real signature set: whenever a regex of the
//! built-in set matches an input, one of its required literals occurs in that input
//! (ASCII case-insensitively). Inputs: every payload of the repository's attack and benign
//! corpora, raw and decoded the way values are before matching, plus the patterns' own
//! tricky cases. A literal set that misses a match would silently disable a signature.

use std::path::{Path, PathBuf};

use palisade_http::transform::apply_all;
use palisade_http::Transform;
use palisade_rules::parse_pipeline;
use palisade_rules::prefilter::{
    compresses_whitespace, required_literals_with, required_rare_byte, RARE_BYTES,
};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Every regex line of the built-in signature files, with whether its pipeline compresses
/// whitespace last.
fn regexes() -> Vec<(String, String, bool)> {
    let mut out = Vec::new();
    let root = repo().join("signatures/default");
    for target in std::fs::read_dir(&root).expect("signature dir") {
        let target = target.expect("entry").path();
        for file in std::fs::read_dir(&target).expect("target dir") {
            let file = file.expect("entry").path();
            if file.extension().is_none_or(|e| e != "re") {
                continue;
            }
            let text = std::fs::read_to_string(&file).expect("readable");
            let mut compressed = false;
            for (i, line) in text.lines().enumerate() {
                let l = line.trim();
                if let Some(spec) = l.strip_prefix("#@ transforms:") {
                    let pipeline = parse_pipeline(spec).expect("valid pipeline");
                    compressed = compresses_whitespace(&pipeline);
                }
                if l.is_empty() || l.starts_with('#') {
                    continue;
                }
                out.push((
                    format!("{}:{}", file.display(), i + 1),
                    l.to_string(),
                    compressed,
                ));
            }
        }
    }
    out
}

fn strings(v: &serde_json::Value, out: &mut Vec<Vec<u8>>) {
    match v {
        serde_json::Value::String(s) => out.push(s.as_bytes().to_vec()),
        serde_json::Value::Array(a) => a.iter().for_each(|x| strings(x, out)),
        serde_json::Value::Object(o) => o.values().for_each(|x| strings(x, out)),
        _ => {}
    }
}

fn inputs() -> Vec<Vec<u8>> {
    let decode = [
        Transform::UrlDecodeUni,
        Transform::UrlDecodeUni,
        Transform::HtmlEntityDecode,
        Transform::JsDecode,
        Transform::CssDecode,
        Transform::RemoveNulls,
        Transform::UnicodeNormalize,
        Transform::ReplaceComments,
        Transform::CompressWhitespace,
    ];
    let mut raw = Vec::new();
    for dir in ["corpus/attacks", "corpus/benign", "corpus/edge"] {
        let Ok(entries) = std::fs::read_dir(repo().join(dir)) else {
            continue;
        };
        for e in entries {
            let path = e.expect("entry").path();
            let text = std::fs::read_to_string(&path).expect("readable");
            for line in text.lines() {
                if let Ok(v) = serde_json::from_str::<serde_json::Value>(line) {
                    strings(&v, &mut raw);
                }
            }
        }
    }
    let mut out = Vec::new();
    for r in raw {
        let decoded = apply_all(&decode, &r).into_owned();
        // form and query values too, one by one
        for part in decoded.split(|&b| b == b'&') {
            if let Some(eq) = part.iter().position(|&b| b == b'=') {
                out.push(part[eq + 1..].to_vec());
            }
        }
        out.push(decoded);
        out.push(r);
    }
    for extra in [
        "${jndi:ldap://x}",
        "#{T(java.lang.Runtime)}",
        "*{t(org.x.Y)}",
        "user[$ne]=1",
        "x' || 'a'=='a",
        "%{(#_memberAccess)}",
        "<?= `id` ?>",
        "file:///etc/passwd",
        "php://filter/convert.base64-encode/resource=index",
    ] {
        out.push(extra.as_bytes().to_vec());
    }
    out
}

/// A built-in regex as the matcher compiles it (case-insensitive, ASCII classes).
fn compile(place: &str, pattern: &str) -> regex::bytes::Regex {
    regex::bytes::RegexBuilder::new(pattern)
        .case_insensitive(true)
        .unicode(false)
        .build()
        .unwrap_or_else(|e| panic!("{place}: {e}"))
}

#[test]
fn every_match_of_a_builtin_regex_contains_one_of_its_literals() {
    let inputs = inputs();
    assert!(
        inputs.len() > 1000,
        "corpora not found: {} inputs",
        inputs.len()
    );
    // values as a compressing pipeline leaves them
    let compressed: Vec<Vec<u8>> = inputs
        .iter()
        .map(|i| Transform::CompressWhitespace.apply(i).into_owned())
        .collect();
    let mut checked = 0;
    let mut matched = 0;
    for (place, pattern, ws) in regexes() {
        let Some(set) = required_literals_with(&pattern, ws) else {
            continue;
        };
        let inputs = if ws { &compressed } else { &inputs };
        let lowered: Vec<Vec<u8>> = inputs.iter().map(|i| i.to_ascii_lowercase()).collect();
        let re = compile(&place, &pattern);
        checked += 1;
        for (input, lower) in inputs.iter().zip(lowered.iter()) {
            if !re.is_match(input) {
                continue;
            }
            matched += 1;
            assert!(
                set.iter()
                    .any(|l| lower.windows(l.len()).any(|w| w == &l[..])),
                "{place}: matched {:?} without any of {:?}",
                String::from_utf8_lossy(input),
                set.iter()
                    .map(|l| String::from_utf8_lossy(l).into_owned())
                    .collect::<Vec<_>>()
            );
        }
    }
    assert!(checked > 500, "only {checked} regexes had literals");
    assert!(matched > 500, "only {matched} matches exercised");
}

/// The gate's promise on the same inputs: a byte that `required_rare_byte` names for a
/// regex occurs in every input the regex matches (else a skipped scan would hide a match).
#[test]
fn every_match_of_a_builtin_regex_contains_its_required_rare_byte() {
    let inputs = inputs();
    let (mut checked, mut matched) = (0, 0);
    for (place, pattern, _) in regexes() {
        let Some(byte) = required_rare_byte(&pattern, RARE_BYTES) else {
            continue;
        };
        let re = compile(&place, &pattern);
        checked += 1;
        for input in &inputs {
            if let Some(m) = re.find(input) {
                matched += 1;
                assert!(
                    m.as_bytes().contains(&byte),
                    "{place}: match {:?} without {:?}",
                    String::from_utf8_lossy(m.as_bytes()),
                    char::from(byte)
                );
            }
        }
    }
    assert!(checked > 300, "only {checked} regexes had a rare byte");
    assert!(matched > 300, "only {matched} matches exercised");
}
