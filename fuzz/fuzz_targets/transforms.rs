#![no_main]
//! Every transformation on arbitrary bytes: must never panic.
use libfuzzer_sys::fuzz_target;
use palisade_http::Transform;

fuzz_target!(|data: &[u8]| {
    for t in Transform::ALL {
        let _ = t.apply(data);
    }
});
