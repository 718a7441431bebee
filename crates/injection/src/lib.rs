//! libinjection-class SQL injection and XSS detection.
//!
//! This crate owns the two detectors behind the SecLang operators `@detectSQLi` and
//! `@detectXSS` (CRS rules 942100, 941100, 941101): given one already-transformed value, say
//! whether it is SQL injection (and with which libinjection fingerprint, e.g. `s&1c`, which
//! CRS logs as `TX:0`) or cross-site scripting. It does not know about requests, variables or
//! transformations; callers extract and decode the values first.
//!
//! Semantics follow libinjection 3.9.x (the version bundled with ModSecurity 3 and ported by
//! Coraza): the SQLi detector tokenizes the input as SQL in up to five contexts (as-is, after a
//! single quote, after a double quote; ANSI and MySQL comment rules), folds the tokens into a
//! fingerprint of at most five token types and looks it up in libinjection's fingerprint
//! table; the XSS detector runs an HTML5 tokenizer in five contexts and flags dangerous tags,
//! attributes and URL schemes.
//!
//! The tokenizing and fingerprint data come from the pure-Rust `libinjectionrs` port
//! (BSD-3-Clause). This module wraps it so callers depend on a small stable API; it is the
//! one place to fix deviations from the C library.

use std::fmt;

/// Longest fingerprint libinjection produces: five token types.
const MAX_FINGERPRINT: usize = 5;

/// The characters a fingerprint is made of, one per libinjection token type: `k` keyword,
/// `U` union, `B` group-by-like, `E` expression keyword, `t` SQL type, `f` function, `n`
/// bareword, `1` number, `v` variable, `s` string, `o` operator, `&` logic operator, `c`
/// comment, `A` collate, `(` `)` `{` `}` `.` `,` `:` `;` punctuation, `T` T-SQL, `?` unknown,
/// `X` unparsable (evil), `\` backslash.
const TOKEN_TYPES: &[u8] = b"kUBEtfn1vso&cA(){}.,:;T?X\\";

/// A libinjection SQLi fingerprint: up to five token-type characters such as `s&1c`
/// (string, logic operator, number, comment). CRS 942100 logs it as the matched data.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Fingerprint {
    bytes: [u8; MAX_FINGERPRINT],
    len: u8,
}

impl Fingerprint {
    /// Builds a fingerprint from libinjection's NUL-terminated buffer. Returns `None` for an
    /// empty one (no tokens) or bytes outside the token-type alphabet, which would mean the
    /// underlying engine misbehaved: we never hand out a fingerprint that is not a sequence of
    /// token types (callers log it verbatim).
    fn from_raw(raw: &[u8]) -> Option<Fingerprint> {
        let len = raw
            .iter()
            .position(|&b| b == 0)
            .unwrap_or(raw.len())
            .min(MAX_FINGERPRINT);
        if len == 0 || !raw[..len].iter().all(|b| TOKEN_TYPES.contains(b)) {
            return None;
        }
        let mut bytes = [0u8; MAX_FINGERPRINT];
        bytes[..len].copy_from_slice(&raw[..len]);
        Some(Fingerprint {
            bytes,
            len: len as u8,
        })
    }

    /// The fingerprint as text, e.g. `"s&1c"`.
    pub fn as_str(&self) -> &str {
        // `from_raw` only admits printable ASCII, so this cannot fail; fall back to "" rather
        // than panic should that invariant ever be broken.
        std::str::from_utf8(self.as_bytes()).unwrap_or("")
    }

    /// The fingerprint as bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes[..usize::from(self.len)]
    }
}

impl fmt::Display for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Fingerprint({:?})", self.as_str())
    }
}

impl PartialEq<str> for Fingerprint {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

impl PartialEq<&str> for Fingerprint {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl AsRef<str> for Fingerprint {
    fn as_ref(&self) -> &str {
        self.as_str()
    }
}

/// Detects SQL injection the way libinjection's `libinjection_sqli()` does.
///
/// Returns the fingerprint of the context that matched when `input` is SQLi, `None`
/// otherwise (also for empty input). Runs in time linear in `input.len()`.
pub fn detect_sqli(input: &[u8]) -> Option<Fingerprint> {
    if input.is_empty() {
        return None;
    }
    let mut state = libinjectionrs::SqliState::new(input, libinjectionrs::SqliFlags::FLAG_NONE);
    if state.detect() {
        // After a positive `detect`, the state's fingerprint buffer holds the fingerprint of
        // the context that matched (as in C, where `sql_state.fingerprint` is read).
        Fingerprint::from_raw(&state.fingerprint)
    } else {
        None
    }
}

/// Detects cross-site scripting the way libinjection's `libinjection_xss()` does.
pub fn detect_xss(input: &[u8]) -> bool {
    if input.is_empty() {
        return false;
    }
    libinjectionrs::detect_xss(input).is_injection()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classic_sqli_has_fingerprint() {
        let fp = detect_sqli(b"1' or '1'='1").map(|f| f.to_string());
        assert_eq!(fp.as_deref(), Some("s&sos"));
    }

    #[test]
    fn plain_text_is_not_sqli() {
        assert_eq!(detect_sqli(b"hello world"), None);
        assert_eq!(detect_sqli(b""), None);
    }

    #[test]
    fn script_tag_is_xss() {
        assert!(detect_xss(b"<script>alert(1)</script>"));
        assert!(!detect_xss(b"hello <b>world</b>"));
        assert!(!detect_xss(b""));
    }

    #[test]
    fn fingerprint_rejects_garbage() {
        assert!(Fingerprint::from_raw(&[0; 8]).is_none());
        assert!(Fingerprint::from_raw(&[0xff, 0, 0]).is_none());
        assert!(Fingerprint::from_raw(b"s<1\0").is_none());
        let fp = Fingerprint::from_raw(b"s&1c\0\0\0\0");
        assert_eq!(fp.map(|f| f.to_string()).as_deref(), Some("s&1c"));
    }
}
