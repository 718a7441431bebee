//! Bridge to the libinjection-class detectors behind `@detectSQLi` / `@detectXSS`.

/// The fingerprint when `value` is SQL injection.
pub fn detect_sqli(value: &[u8]) -> Option<String> {
    palisade_injection::detect_sqli(value).map(|fp| fp.to_string())
}

pub fn detect_xss(value: &[u8]) -> bool {
    palisade_injection::detect_xss(value)
}

/// Whether `detect_sqli` answers at once (no engine run) for `value`.
pub fn sqli_is_trivial(value: &[u8]) -> bool {
    palisade_injection::sqli_is_trivial(value)
}

/// Whether `detect_xss` answers at once (no engine run) for `value`.
pub fn xss_is_trivial(value: &[u8]) -> bool {
    palisade_injection::xss_is_trivial(value)
}
