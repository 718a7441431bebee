#![no_main]
//! Raw request parsing and the request model on arbitrary bytes: must never panic.
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok((mut model, body)) = palisade_http::raw::parse_request(data) {
        model.attach_body(body, false);
    }
});
