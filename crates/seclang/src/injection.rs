//! Bridge to the libinjection-class detectors behind `@detectSQLi` / `@detectXSS`.

use std::sync::LazyLock;

use palisade_engine::value_cache::ValueCache;
use palisade_injection::Fingerprint;

/// Engine verdicts remembered across requests. Both detectors are functions of the bytes
/// alone, and browsers send the same `User-Agent` and `Referer` with every request (942100
/// and the XSS rules read them): without this, every CRS GET ran libinjection's SQLi engine
/// on both (~25k instructions each with the libinjectionrs port, about a twentieth of the
/// request; our own engine has since cut that about fourfold). Shared by every rule
/// set (a verdict does not depend on the rules); bounded by [`ValueCache`], keyed by the
/// full bytes with a random seed.
static SQLI_VERDICTS: LazyLock<ValueCache<Option<Fingerprint>>> =
    LazyLock::new(ValueCache::default);
static XSS_VERDICTS: LazyLock<ValueCache<bool>> = LazyLock::new(ValueCache::default);

/// The fingerprint when `value` is SQL injection.
pub fn detect_sqli(value: &[u8]) -> Option<String> {
    if !palisade_injection::sqli_runs_engine(value) {
        return None;
    }
    let verdict = SQLI_VERDICTS.get(value).unwrap_or_else(|| {
        let v = palisade_injection::sqli_engine(value);
        SQLI_VERDICTS.insert(value, v);
        v
    });
    verdict.map(|fp| fp.to_string())
}

pub fn detect_xss(value: &[u8]) -> bool {
    if palisade_injection::xss_is_trivial(value) {
        return false;
    }
    XSS_VERDICTS.get(value).unwrap_or_else(|| {
        let v = palisade_injection::detect_xss(value);
        XSS_VERDICTS.insert(value, v);
        v
    })
}

/// Whether `detect_sqli` answers at once (no engine run) for `value`.
pub fn sqli_is_trivial(value: &[u8]) -> bool {
    palisade_injection::sqli_is_trivial(value)
}

/// Whether `detect_sqli` runs the engine for `value` (else it answers no at once: trivial
/// input or a plain phrase).
pub fn sqli_runs_engine(value: &[u8]) -> bool {
    palisade_injection::sqli_runs_engine(value)
}

/// Whether `detect_xss` answers at once (no engine run) for `value`.
pub fn xss_is_trivial(value: &[u8]) -> bool {
    palisade_injection::xss_is_trivial(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remembered_verdicts_are_the_detectors_verdicts() {
        let values: [&[u8]; 6] = [
            b"1' UNION SELECT password FROM users--",
            b"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko)",
            b"<script>alert(1)</script>",
            b"https://shop.example.com/category/sports?page=1",
            b"x\" onmouseover=alert(1) y=\"",
            b"1 or 1=1",
        ];
        // twice: the first call fills the caches, the second answers from them
        for _ in 0..2 {
            for v in values {
                let direct = palisade_injection::detect_sqli(v).map(|fp| fp.to_string());
                assert_eq!(detect_sqli(v), direct, "{}", String::from_utf8_lossy(v));
                assert_eq!(
                    detect_xss(v),
                    palisade_injection::detect_xss(v),
                    "{}",
                    String::from_utf8_lossy(v)
                );
            }
        }
        assert!(detect_sqli(values[0]).is_some() && detect_xss(values[2]));
    }
}
