//! Bridge to the libinjection-class detectors behind `@detectSQLi` / `@detectXSS`.
//! (Until the `palisade-injection` crate lands, these never match: the crs-test numbers
//! for 941100/942100 reflect that.)

pub fn detect_sqli(_value: &[u8]) -> Option<String> {
    None
}

pub fn detect_xss(_value: &[u8]) -> bool {
    false
}
