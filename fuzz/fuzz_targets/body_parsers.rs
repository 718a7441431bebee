#![no_main]
//! Every body parser on arbitrary bytes, complete and truncated: must never panic.
use libfuzzer_sys::fuzz_target;
use palisade_http::parse_body;

fuzz_target!(|data: &[u8]| {
    for ct in [
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=xYzZY",
        "application/json",
        "application/xml",
        "text/plain",
    ] {
        let _ = parse_body(Some(ct), data, false);
        let _ = parse_body(Some(ct), data, true);
    }
});
