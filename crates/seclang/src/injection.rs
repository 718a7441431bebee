//! Bridge to the libinjection-class detectors behind `@detectSQLi` / `@detectXSS`.

/// The fingerprint when `value` is SQL injection.
pub fn detect_sqli(value: &[u8]) -> Option<String> {
    palisade_injection::detect_sqli(value).map(|fp| fp.to_string())
}

pub fn detect_xss(value: &[u8]) -> bool {
    palisade_injection::detect_xss(value)
}
