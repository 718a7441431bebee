#![no_main]
//! libinjection-class detectors on arbitrary bytes, raw and after CRS 942100's pipeline
//! (`utf8toUnicode,urlDecodeUni,removeNulls`, so the fuzzer can reach decoded payloads):
//! must never panic, must be deterministic, a fingerprint must be 1-5 token-type
//! characters, and our SQLi engine must agree with the `libinjectionrs` port it replaced.
use libfuzzer_sys::fuzz_target;
use palisade_http::transform::{apply_all, Transform};
use palisade_injection::{detect_sqli, detect_xss, port_sqli, sqli_engine};

const TOKEN_TYPES: &[u8] = b"kUBEtfn1vso&cA(){}.,:;T?X\\";

fn check(input: &[u8]) {
    let fp = detect_sqli(input);
    assert_eq!(fp, detect_sqli(input));
    if let Some(fp) = fp {
        let b = fp.as_bytes();
        assert!((1..=5).contains(&b.len()) && b.iter().all(|c| TOKEN_TYPES.contains(c)));
    }
    assert_eq!(sqli_engine(input), port_sqli(input));
    let x = detect_xss(input);
    assert_eq!(x, detect_xss(input));
}

fuzz_target!(|data: &[u8]| {
    check(data);
    let pipeline = [
        Transform::Utf8ToUnicode,
        Transform::UrlDecodeUni,
        Transform::RemoveNulls,
    ];
    let decoded = apply_all(&pipeline, data);
    if decoded.as_ref() != data {
        check(&decoded);
    }
});
