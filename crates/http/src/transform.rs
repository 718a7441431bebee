//! Value transformations: the ModSecurity / OWASP CRS `t:` functions, on raw bytes.
//!
//! This module owns the transformation vocabulary that rules name (`t:urlDecodeUni`,
//! `t:lowercase`, ...), their byte-level semantics, path normalization (also used when the
//! request model is built), and a per-request memo ([`TransformCache`]) so that each distinct
//! (value, pipeline) pair is computed once.
//!
//! Semantics follow ModSecurity v3 (the OWASP CRS regression tests were written against it);
//! deliberate deviations are documented on the variant. Every function here is total on
//! arbitrary bytes: no panics, no assumption of UTF-8. [`Transform::apply`] returns
//! `Cow::Borrowed` whenever the value is left unchanged, so a pipeline over a clean value
//! does not allocate.

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::Arc;

use md5::Md5;
use sha1::{Digest, Sha1};

/// One transformation function. See [`Transform::name`] for the rule-language spelling.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Transform {
    /// `none`: identity. In a rule it resets the pipeline (handled by the rule parser).
    None,
    /// `urlDecode`: `%XX` and `+` → space; invalid or truncated escapes are kept literally.
    UrlDecode,
    /// `urlDecodeUni`: like `urlDecode`, plus IIS `%uXXXX`: the low byte of the code point,
    /// as in ModSecurity, except for code points that stand in for ASCII syntax, which become
    /// that ASCII byte (deviation, as IIS's best-fit mapping does: the full-width forms
    /// `%uFF01`–`%uFF5E` as in ModSecurity, and also `%u2215`/`%u2044` → `/`, `%u2216` →
    /// `\`, `%u3000` → space, the small form variants `%uFE50`–`%uFE6B`).
    UrlDecodeUni,
    /// `htmlEntityDecode`: numeric (`&#60;`, `&#x3c;`) and named (`&lt;`, `&quot;`,
    /// `&colon;`, ...) references, with or without the trailing `;`. Numeric references
    /// yield one byte (the low byte of the value), as in ModSecurity; `&nbsp;` yields 0xA0.
    HtmlEntityDecode,
    /// `jsDecode`: `\xHH`, `\uHHHH` (reduced to one byte as in `urlDecodeUni`), octal
    /// `\OOO`, and the C single-character escapes; any other `\c` becomes `c`.
    JsDecode,
    /// `cssDecode`: CSS 2 escapes `\H` … `\HHHHHH` (one byte as in `urlDecodeUni`, one
    /// following whitespace swallowed), `\` + newline removed, `\c` → `c`.
    CssDecode,
    /// `base64Decode`: decodes the leading run of valid Base64 (stops at the first character
    /// outside the alphabet, `=` included); a partial last quantum yields its whole bytes.
    Base64Decode,
    /// `base64DecodeExt`: forgiving Base64: characters outside the alphabet are skipped.
    Base64DecodeExt,
    /// `base64Encode`: standard alphabet with padding.
    Base64Encode,
    /// `hexDecode`: every pair of hex digits becomes one byte; bytes that are not part of a
    /// valid pair are kept as they are (ModSecurity would produce garbage for them).
    HexDecode,
    /// `hexEncode`: each byte as two lowercase hex digits.
    HexEncode,
    /// `sqlHexDecode`: SQL hex literals `0x414243` → `ABC`; everything else untouched.
    SqlHexDecode,
    /// `lowercase`: ASCII letters only.
    Lowercase,
    /// `uppercase`: ASCII letters only.
    Uppercase,
    /// `normalizePath` (alias `normalisePath`): see [`normalize_path`].
    NormalizePath,
    /// `normalizePathWin` (alias `normalisePathWin`): also treats `\` as `/`.
    NormalizePathWin,
    /// `removeNulls`: drops NUL bytes.
    RemoveNulls,
    /// `replaceNulls`: NUL → space.
    ReplaceNulls,
    /// `compressWhitespace`: each run of `\t \n \v \f \r`, space or 0xA0 → one space.
    CompressWhitespace,
    /// `removeWhitespace`: drops `\t \n \v \f \r`, space and 0xA0.
    RemoveWhitespace,
    /// `replaceComments`: each C comment `/* … */` → one space; an unterminated comment runs
    /// to the end and is replaced by one space. A lone `*/` is kept.
    ReplaceComments,
    /// `removeComments`: removes `/* … */` and `<!-- … -->` (an unterminated one runs to the
    /// end and leaves one space), and `--` / `#` comments up to the end of the line (the
    /// newline is kept; ModSecurity cuts to the end of the whole value instead).
    RemoveComments,
    /// `removeCommentsChar`: deletes the comment markers `/*`, `*/`, `<!--`, `-->`, `--`, `#`.
    RemoveCommentsChar,
    /// `cmdLine`: deletes `\ " ' ^`; runs of space, tab, CR, LF, `,` and `;` become one space;
    /// a space before `/` or `(` is dropped; ASCII lowercased.
    CmdLine,
    /// `utf8toUnicode`: every valid multibyte UTF-8 character → `%uXXXX` (lowercase hex, at
    /// least four digits); ASCII and invalid bytes are kept.
    Utf8ToUnicode,
    /// `trim`: strips `\t \n \v \f \r` and space at both ends.
    Trim,
    /// `trimLeft`: strips leading whitespace.
    TrimLeft,
    /// `trimRight`: strips trailing whitespace.
    TrimRight,
    /// `length`: the input length in bytes, as decimal text.
    Length,
    /// `md5`: the raw 16-byte digest.
    Md5,
    /// `sha1`: the raw 20-byte digest.
    Sha1,
    /// `escapeSeqDecode`: ANSI C escapes `\a \b \f \n \r \t \v \\ \? \' \"`, `\xHH`, `\OOO`;
    /// an unknown escape `\c` becomes `c`.
    EscapeSeqDecode,
    /// `urlEncode`: letters, digits and `*` kept, space → `+`, the rest → `%xx`.
    UrlEncode,
    /// `unicodeNormalize` (Palisade): full-width ASCII U+FF01–U+FF5E and U+3000 → ASCII,
    /// overlong UTF-8 encodings of ASCII (`C0 AE`, `E0 80 AE`, `F0 80 80 AE`, and the RFC 2279
    /// five- and six-byte forms `F8 80 80 80 AE`, `FC 80 80 80 80 AE` → `.`), and a
    /// few evasion confusables (division/fraction slash → `/`, small form variants such as
    /// U+FE64/U+FE65 → `<`/`>`). All other bytes are left untouched.
    UnicodeNormalize,
}

/// An ordered list of transformations, applied left to right.
pub type Pipeline = Vec<Transform>;

impl Transform {
    /// Every transformation, in declaration order.
    pub const ALL: [Transform; 34] = [
        Transform::None,
        Transform::UrlDecode,
        Transform::UrlDecodeUni,
        Transform::HtmlEntityDecode,
        Transform::JsDecode,
        Transform::CssDecode,
        Transform::Base64Decode,
        Transform::Base64DecodeExt,
        Transform::Base64Encode,
        Transform::HexDecode,
        Transform::HexEncode,
        Transform::SqlHexDecode,
        Transform::Lowercase,
        Transform::Uppercase,
        Transform::NormalizePath,
        Transform::NormalizePathWin,
        Transform::RemoveNulls,
        Transform::ReplaceNulls,
        Transform::CompressWhitespace,
        Transform::RemoveWhitespace,
        Transform::ReplaceComments,
        Transform::RemoveComments,
        Transform::RemoveCommentsChar,
        Transform::CmdLine,
        Transform::Utf8ToUnicode,
        Transform::Trim,
        Transform::TrimLeft,
        Transform::TrimRight,
        Transform::Length,
        Transform::Md5,
        Transform::Sha1,
        Transform::EscapeSeqDecode,
        Transform::UrlEncode,
        Transform::UnicodeNormalize,
    ];

    /// Looks a transformation up by its CRS/ModSecurity name, ignoring ASCII case and
    /// surrounding whitespace. The name is given without the `t:` prefix. The British
    /// spellings `normalisePath` / `normalisePathWin` are accepted. Unknown → `None`.
    pub fn from_name(name: &str) -> Option<Transform> {
        let name = name.trim();
        if name.eq_ignore_ascii_case("normalisePath") {
            return Some(Transform::NormalizePath);
        }
        if name.eq_ignore_ascii_case("normalisePathWin") {
            return Some(Transform::NormalizePathWin);
        }
        Transform::ALL
            .iter()
            .copied()
            .find(|t| t.name().eq_ignore_ascii_case(name))
    }

    /// The canonical CRS spelling (`urlDecodeUni`, `normalizePathWin`, ...).
    pub fn name(&self) -> &'static str {
        match self {
            Transform::None => "none",
            Transform::UrlDecode => "urlDecode",
            Transform::UrlDecodeUni => "urlDecodeUni",
            Transform::HtmlEntityDecode => "htmlEntityDecode",
            Transform::JsDecode => "jsDecode",
            Transform::CssDecode => "cssDecode",
            Transform::Base64Decode => "base64Decode",
            Transform::Base64DecodeExt => "base64DecodeExt",
            Transform::Base64Encode => "base64Encode",
            Transform::HexDecode => "hexDecode",
            Transform::HexEncode => "hexEncode",
            Transform::SqlHexDecode => "sqlHexDecode",
            Transform::Lowercase => "lowercase",
            Transform::Uppercase => "uppercase",
            Transform::NormalizePath => "normalizePath",
            Transform::NormalizePathWin => "normalizePathWin",
            Transform::RemoveNulls => "removeNulls",
            Transform::ReplaceNulls => "replaceNulls",
            Transform::CompressWhitespace => "compressWhitespace",
            Transform::RemoveWhitespace => "removeWhitespace",
            Transform::ReplaceComments => "replaceComments",
            Transform::RemoveComments => "removeComments",
            Transform::RemoveCommentsChar => "removeCommentsChar",
            Transform::CmdLine => "cmdLine",
            Transform::Utf8ToUnicode => "utf8toUnicode",
            Transform::Trim => "trim",
            Transform::TrimLeft => "trimLeft",
            Transform::TrimRight => "trimRight",
            Transform::Length => "length",
            Transform::Md5 => "md5",
            Transform::Sha1 => "sha1",
            Transform::EscapeSeqDecode => "escapeSeqDecode",
            Transform::UrlEncode => "urlEncode",
            Transform::UnicodeNormalize => "unicodeNormalize",
        }
    }

    /// Applies the transformation. Returns `Cow::Borrowed(input)` when the value is unchanged;
    /// the only other borrowed results are the trims, which return a sub-slice of `input`
    /// (so a borrowed result of the same length as `input` is `input` itself).
    pub fn apply<'a>(&self, input: &'a [u8]) -> Cow<'a, [u8]> {
        match self {
            Transform::None => Cow::Borrowed(input),
            Transform::UrlDecode => url_decode(input, false),
            Transform::UrlDecodeUni => url_decode(input, true),
            Transform::HtmlEntityDecode => html_entity_decode(input),
            Transform::JsDecode => js_decode(input),
            Transform::CssDecode => css_decode(input),
            Transform::Base64Decode => owned_if_changed(input, base64_decode(input, false)),
            Transform::Base64DecodeExt => owned_if_changed(input, base64_decode(input, true)),
            Transform::Base64Encode => base64_encode(input),
            Transform::HexDecode => hex_decode(input),
            Transform::HexEncode => hex_encode(input),
            Transform::SqlHexDecode => sql_hex_decode(input),
            Transform::Lowercase => {
                if input.iter().any(u8::is_ascii_uppercase) {
                    Cow::Owned(input.to_ascii_lowercase())
                } else {
                    Cow::Borrowed(input)
                }
            }
            Transform::Uppercase => {
                if input.iter().any(u8::is_ascii_lowercase) {
                    Cow::Owned(input.to_ascii_uppercase())
                } else {
                    Cow::Borrowed(input)
                }
            }
            Transform::NormalizePath if path_is_normal(input, false) => Cow::Borrowed(input),
            Transform::NormalizePath => owned_if_changed(input, normalize_path(input, false)),
            Transform::NormalizePathWin if path_is_normal(input, true) => Cow::Borrowed(input),
            Transform::NormalizePathWin => owned_if_changed(input, normalize_path(input, true)),
            Transform::RemoveNulls => {
                if memchr::memchr(0, input).is_some() {
                    Cow::Owned(keep_bytes(input, |b| b != 0))
                } else {
                    Cow::Borrowed(input)
                }
            }
            Transform::ReplaceNulls => {
                if memchr::memchr(0, input).is_some() {
                    Cow::Owned(
                        input
                            .iter()
                            .map(|&b| if b == 0 { b' ' } else { b })
                            .collect(),
                    )
                } else {
                    Cow::Borrowed(input)
                }
            }
            Transform::CompressWhitespace => compress_whitespace(input),
            Transform::RemoveWhitespace => {
                if has_ws_nbsp(input) {
                    Cow::Owned(drop_bytes(input, &WS_NBSP))
                } else {
                    Cow::Borrowed(input)
                }
            }
            Transform::ReplaceComments => replace_comments(input),
            Transform::RemoveComments => remove_comments(input),
            Transform::RemoveCommentsChar => remove_comments_char(input),
            Transform::CmdLine => owned_if_changed(input, cmd_line(input)),
            Transform::Utf8ToUnicode => utf8_to_unicode(input),
            Transform::Trim => Cow::Borrowed(trim_right(trim_left(input))),
            Transform::TrimLeft => Cow::Borrowed(trim_left(input)),
            Transform::TrimRight => Cow::Borrowed(trim_right(input)),
            Transform::Length => Cow::Owned(input.len().to_string().into_bytes()),
            Transform::Md5 => Cow::Owned(Md5::digest(input).to_vec()),
            Transform::Sha1 => Cow::Owned(Sha1::digest(input).to_vec()),
            Transform::EscapeSeqDecode => escape_seq_decode(input),
            Transform::UrlEncode => url_encode(input),
            Transform::UnicodeNormalize => unicode_normalize(input),
        }
    }
}

impl std::fmt::Display for Transform {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// Applies `pipeline` left to right. `Transform::None` entries are no-ops here (the rule
/// parser implements the `t:none` reset). Borrowed when no step changed anything.
pub fn apply_all<'a>(pipeline: &[Transform], input: &'a [u8]) -> Cow<'a, [u8]> {
    // Most values on the wire are plain words; one pass proves no decoder can change them.
    if is_plain(input) && pipeline.iter().all(|t| t.identity_on_plain()) {
        return Cow::Borrowed(input);
    }
    apply_steps(pipeline, input)
}

/// [`apply_all`] without its first question (is the value plain?), for a caller that
/// has already asked it of this value and knows the answer is no, or that `pipeline`
/// changes plain values.
pub fn apply_steps<'a>(pipeline: &[Transform], input: &'a [u8]) -> Cow<'a, [u8]> {
    let mut cur: Cow<'a, [u8]> = Cow::Borrowed(input);
    for t in pipeline {
        if *t == Transform::None {
            continue;
        }
        cur = match cur {
            Cow::Borrowed(b) => t.apply(b),
            Cow::Owned(o) => {
                let changed = match t.apply(&o) {
                    Cow::Owned(n) => Some(n),
                    // A borrowed result is a sub-slice of the input (the trims).
                    Cow::Borrowed(b) if b.len() != o.len() => Some(b.to_vec()),
                    Cow::Borrowed(_) => None,
                };
                Cow::Owned(changed.unwrap_or(o))
            }
        };
    }
    cur
}

/// True for values made only of ASCII letters, digits, `_ @ : ,`, single inner spaces, and
/// single `.` or `-` (not leading, not doubled): every transformation with
/// [`Transform::identity_on_plain`] leaves such a value unchanged.
pub fn is_plain(input: &[u8]) -> bool {
    plain_kind(input).is_some()
}

/// [`is_plain`], and for plain values whether they hold a `,` (the one plain byte that
/// `cmdLine` changes): `None` = not plain, `Some(has_comma)`. One pass.
pub fn plain_kind(input: &[u8]) -> Option<bool> {
    // This runs on every value, several times per request.
    match (input.first(), input.last()) {
        (Some(b' ' | b'.' | b'-'), _) | (_, Some(b' ')) => return None,
        _ => {}
    }
    // Sixteen bytes at a time where SSE2 is there (every x86-64): prose values (spaces
    // every few bytes, where the scalar groups fall back to the byte rules) take a handful
    // of vector operations per block.
    // Thirty-two bytes at a time where the processor has AVX2 (checked once, then a
    // cached flag): a 2 KB message in a sixth of the SSE2 path's instructions.
    #[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
    if input.len() >= 32 && std::is_x86_feature_detected!("avx2") {
        // SAFETY: AVX2 is there (checked just above); the length is at least 32.
        return unsafe { avx2::plain_kind(input) };
    }
    #[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
    // SAFETY: the build targets SSE2 (checked by the cfg above).
    return unsafe { sse2::plain_kind(input) };
    #[cfg(not(all(target_arch = "x86_64", target_feature = "sse2")))]
    plain_kind_scalar(input)
}

/// [`plain_kind`] without vector instructions, once its first and last byte rules passed.
#[cfg_attr(all(target_arch = "x86_64", target_feature = "sse2"), allow(dead_code))]
fn plain_kind_scalar(input: &[u8]) -> Option<bool> {
    let mut comma = false;
    let mut i = 0;
    // Four bytes at a time: a group of letters, digits and `_ @ :` only (most of a value)
    // costs four lookups and one branch; any other group goes through the byte rules.
    let any = |x: u8| PLAIN_BYTE[x as usize] == PLAIN_ANY;
    let mut byte_rule = |i: usize, b: u8| match PLAIN_BYTE[b as usize] {
        PLAIN_ANY => true,
        PLAIN_COMMA => {
            comma = true;
            true
        }
        PLAIN_SINGLE => i == 0 || input[i - 1] != b,
        _ => false,
    };
    while let Some(&[a, b, c, d]) = input.get(i..i + 4) {
        let plain = (any(a) & any(b) & any(c) & any(d))
            || (byte_rule(i, a)
                && byte_rule(i + 1, b)
                && byte_rule(i + 2, c)
                && byte_rule(i + 3, d));
        if !plain {
            return None;
        }
        i += 4;
    }
    for (k, &b) in input.iter().enumerate().skip(i) {
        if !byte_rule(k, b) {
            return None;
        }
    }
    Some(comma)
}

/// [`plain_kind`] sixteen bytes at a time.
#[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
mod sse2 {
    use std::arch::x86_64::{
        __m128i, _mm_and_si128, _mm_cmpeq_epi8, _mm_loadu_si128, _mm_movemask_epi8, _mm_or_si128,
        _mm_set_epi64x, _mm_slli_si128,
    };

    use crate::byte_classes::{equal, letter, within};

    fn load(bytes: &[u8; 16]) -> __m128i {
        // SAFETY: an unaligned load of exactly the 16 bytes of the array.
        unsafe { _mm_loadu_si128(bytes.as_ptr().cast()) }
    }

    /// [`super::plain_kind`] once its first and last byte rules passed: blocks of sixteen
    /// bytes, the last one overlapping the one before when the length is no multiple of 16
    /// (checking a byte twice changes nothing); a value shorter than 16 bytes is copied into
    /// a zeroed block whose padding is left out of the masks.
    #[target_feature(enable = "sse2")]
    pub(super) fn plain_kind(input: &[u8]) -> Option<bool> {
        let n = input.len();
        if n < 16 {
            // (from registers: a copy into a zeroed block stalled the block's load)
            let (low, high) = crate::small::le_words(input);
            let v = _mm_set_epi64x(high as i64, low as i64);
            // a zero byte before the value repeats no single byte
            let [allowed, doubled, comma] = masks(v, _mm_slli_si128::<1>(v));
            let live = (1u32 << n) - 1;
            return (allowed & live == live && doubled & live == 0).then_some(comma & live != 0);
        }
        let mut comma = false;
        let mut at = 0;
        loop {
            let v = load(input.get(at..at + 16)?.try_into().ok()?);
            let prev = match at.checked_sub(1) {
                Some(p) => load(input.get(p..p + 16)?.try_into().ok()?),
                None => _mm_slli_si128::<1>(v),
            };
            let [allowed, doubled, has_comma] = masks(v, prev);
            if allowed != 0xffff || doubled != 0 {
                return None;
            }
            comma |= has_comma != 0;
            if at + 16 == n {
                return Some(comma);
            }
            at = (at + 16).min(n - 16);
        }
    }

    /// Bit masks over the sixteen bytes of `v` (`prev`: the byte before each): plain
    /// bytes, single bytes (` . -`) equal to the byte before, and commas.
    #[inline]
    #[target_feature(enable = "sse2")]
    fn masks(v: __m128i, prev: __m128i) -> [u32; 3] {
        let is = |b: u8| equal(v, b);
        // ASCII letters of either case, then digits and `:` (0x30..=0x3a), `_`, `@`
        let any = _mm_or_si128(
            _mm_or_si128(letter(v), within(v, b'0', b':')),
            _mm_or_si128(is(b'_'), is(b'@')),
        );
        let comma = is(b',');
        let single = _mm_or_si128(_mm_or_si128(is(b' '), is(b'.')), is(b'-'));
        let allowed = _mm_or_si128(_mm_or_si128(any, comma), single);
        let doubled = _mm_and_si128(single, _mm_cmpeq_epi8(v, prev));
        [allowed, doubled, comma].map(|m| _mm_movemask_epi8(m) as u32)
    }
}

/// [`plain_kind`] thirty-two bytes at a time, each byte classed by two table lookups
/// ([`crate::byte_classes::nibbles`]) rather than a comparison per range.
#[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
mod avx2 {
    use std::arch::x86_64::{
        _mm256_alignr_epi8, _mm256_and_si256, _mm256_cmpeq_epi8, _mm256_movemask_epi8,
        _mm256_permute2x128_si256, _mm256_set1_epi8, _mm256_setzero_si256,
    };

    use crate::byte_classes::nibbles::{load, one, span, tables, Classifier};

    /// `0-9 :` (high 3), `P-Z` (5), `p-z` (7): low 0..=0xa.
    const DIGIT_PZ: u8 = 1;
    /// `@ A-O`: high 4, any low.
    const AT_AO: u8 = 2;
    /// `a-o`: high 6, low 1..=0xf.
    const LOWER_AO: u8 = 4;
    /// `_` (0x5f).
    const UNDERSCORE: u8 = 8;
    /// `,` (0x2c).
    const COMMA: u8 = 16;
    /// ` ` `-` `.` (0x20, 0x2d, 0x2e): the bytes a plain value never doubles.
    const SINGLE: u8 = 32;

    const TABLES: ([u8; 16], [u8; 16]) = tables(&[
        (DIGIT_PZ, one(3) | one(5) | one(7), span(0, 0xa)),
        (AT_AO, one(4), span(0, 0xf)),
        (LOWER_AO, one(6), span(1, 0xf)),
        (UNDERSCORE, one(5), one(0xf)),
        (COMMA, one(2), one(0xc)),
        (SINGLE, one(2), one(0) | one(0xd) | one(0xe)),
    ]);

    /// [`super::plain_kind`] for a value of at least 32 bytes whose first and last byte
    /// rules passed: blocks of 32 bytes, the last one overlapping the one before when the
    /// length is no multiple of 32 (checking a byte twice changes nothing).
    #[target_feature(enable = "avx2")]
    pub(super) fn plain_kind(input: &[u8]) -> Option<bool> {
        let n = input.len();
        let classifier = Classifier::new(&TABLES);
        let zero = _mm256_setzero_si256();
        let (comma_bit, single_bit) = (
            _mm256_set1_epi8(COMMA as i8),
            _mm256_set1_epi8(SINGLE as i8),
        );
        let mut comma = false;
        let mut at = 0;
        loop {
            let v = load(input.get(at..at + 32)?.try_into().ok()?);
            let prev = match at.checked_sub(1) {
                Some(p) => load(input.get(p..p + 32)?.try_into().ok()?),
                // the block shifted up one byte, a zero first (no single byte repeats it)
                None => _mm256_alignr_epi8::<15>(v, _mm256_permute2x128_si256::<0x08>(v, v)),
            };
            let class = classifier.classes(v);
            let outside = _mm256_movemask_epi8(_mm256_cmpeq_epi8(class, zero));
            let single = _mm256_cmpeq_epi8(_mm256_and_si256(class, single_bit), single_bit);
            let doubled =
                _mm256_movemask_epi8(_mm256_and_si256(single, _mm256_cmpeq_epi8(v, prev)));
            if outside != 0 || doubled != 0 {
                return None;
            }
            let commas = _mm256_cmpeq_epi8(_mm256_and_si256(class, comma_bit), comma_bit);
            comma |= _mm256_movemask_epi8(commas) != 0;
            if at + 32 == n {
                return Some(comma);
            }
            at = (at + 32).min(n - 32);
        }
    }
}

const PLAIN_NO: u8 = 0;
/// Allowed anywhere.
const PLAIN_ANY: u8 = 1;
/// Allowed, but not twice in a row (` `, `.`, `-`).
const PLAIN_SINGLE: u8 = 2;
/// `,`: allowed anywhere, reported by [`plain_kind`].
const PLAIN_COMMA: u8 = 3;
/// [`is_plain`]'s byte classes.
static PLAIN_BYTE: [u8; 256] = {
    let mut t = [PLAIN_NO; 256];
    let mut b = 0;
    while b < 256 {
        let c = b as u8;
        t[b] = match c {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'_' | b'@' | b':' => PLAIN_ANY,
            b',' => PLAIN_COMMA,
            b' ' | b'.' | b'-' => PLAIN_SINGLE,
            _ => PLAIN_NO,
        };
        b += 1;
    }
    t
};

/// Which of the plain bytes that some steps change a plain value holds (see
/// [`Transform::identity_on_plain_with`]): capitals (`lowercase`, `cmdLine`), spaces
/// (`removeWhitespace`; a plain value's single spaces between words `cmdLine` keeps) and
/// commas (`cmdLine`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PlainTraits {
    pub upper: bool,
    pub space: bool,
    pub comma: bool,
}

impl PlainTraits {
    /// The traits of `value` (one pass; meaningful for a plain value).
    pub fn of(value: &[u8]) -> PlainTraits {
        let (mut upper, mut space, mut comma) = (false, false, false);
        for &b in value {
            upper |= b.is_ascii_uppercase();
            space |= b == b' ';
            comma |= b == b',';
        }
        PlainTraits {
            upper,
            space,
            comma,
        }
    }

    /// The traits as a number below 8 (for tables indexed by them).
    pub fn index(self) -> usize {
        usize::from(self.upper) | usize::from(self.space) << 1 | usize::from(self.comma) << 2
    }

    /// The traits of [`PlainTraits::index`] `i`.
    pub fn from_index(i: usize) -> PlainTraits {
        PlainTraits {
            upper: i & 1 != 0,
            space: i & 2 != 0,
            comma: i & 4 != 0,
        }
    }
}

impl Transform {
    /// Whether this transformation leaves a plain value with `traits` as it is: the
    /// [`Transform::identity_on_plain`] ones, and those that change only capitals, spaces or
    /// commas when it has none (CRS lowercases and `cmdLine`s values that mostly have none).
    pub fn identity_on_plain_with(self, traits: PlainTraits) -> bool {
        self.identity_on_plain()
            || match self {
                Transform::Lowercase => !traits.upper,
                Transform::RemoveWhitespace => !traits.space,
                Transform::CmdLine => !traits.upper && !traits.comma,
                _ => false,
            }
    }

    /// Whether this transformation's result is never longer than its input: decoders (an
    /// escape or reference becomes fewer bytes), removals and case changes. A prefilter may
    /// then leave out a value already shorter than anything a pipeline's patterns can match
    /// after it, whatever the rest of the pipeline does.
    pub fn never_lengthens(self) -> bool {
        use Transform::*;
        !matches!(
            self,
            Base64Encode | HexEncode | Utf8ToUnicode | Length | Md5 | Sha1 | UrlEncode
        )
    }

    /// The longest result this transformation gives a value of `len` bytes, when it never
    /// lengthens one (None otherwise). Base64 decoding shrinks: four symbols are three
    /// bytes, anything else is dropped or ends the decoding, so CRS 934100's chain turns a
    /// 5-byte value into at most 3 bytes, too few for any of its patterns.
    pub fn max_output_len(self, len: usize) -> Option<usize> {
        match self {
            Transform::Base64Decode | Transform::Base64DecodeExt => Some(len.saturating_mul(3) / 4),
            t if t.never_lengthens() => Some(len),
            _ => None,
        }
    }

    /// Whether this transformation leaves a plain value with `traits` as it is or only
    /// lowercases it: [`Transform::identity_on_plain_with`], `lowercase`, and `cmdLine` on
    /// a value without commas (its other changes are to bytes a plain value has none of,
    /// or has singly). A pipeline of such steps turns a plain value into the value itself
    /// or the value lowercased.
    pub fn at_most_lowercases_plain_with(self, traits: PlainTraits) -> bool {
        self.identity_on_plain_with(traits)
            || match self {
                Transform::Lowercase => true,
                Transform::CmdLine => !traits.comma,
                _ => false,
            }
    }

    /// Whether this transformation never changes a value for which [`is_plain`] holds.
    pub fn identity_on_plain(self) -> bool {
        use Transform::*;
        matches!(
            self,
            None | UrlDecode
                | UrlDecodeUni
                | HtmlEntityDecode
                | JsDecode
                | CssDecode
                | NormalizePath
                | NormalizePathWin
                | RemoveNulls
                | ReplaceNulls
                | CompressWhitespace
                | ReplaceComments
                | RemoveComments
                | RemoveCommentsChar
                | UnicodeNormalize
                | EscapeSeqDecode
                | Trim
                | TrimLeft
                | TrimRight
                | Utf8ToUnicode
        )
    }
}

/// Whether [`normalize_path`] would return `input` unchanged because there is nothing to
/// normalize: no `\\` (with `windows`), no empty segment but a leading or trailing one, no
/// `.` or `..` segment. (False does not mean it changes: `../a` stays.)
fn path_is_normal(input: &[u8], windows: bool) -> bool {
    if windows && memchr::memchr(b'\\', input).is_some() {
        return false;
    }
    // (the separators by vector search: CRS normalizes every argument's path, and a form's
    // prose has no `/` in 2 KB, which a byte loop read one at a time)
    let mut start = 0;
    let ends = memchr::memchr_iter(b'/', input).chain(std::iter::once(input.len()));
    for end in ends {
        let (first, last) = (start == 0, end == input.len());
        match &input[start..end] {
            b"" if first || last => {}
            b"" | b"." | b".." => return false,
            _ => {}
        }
        start = end + 1;
    }
    true
}

/// Normalizes a path: collapses repeated `/`, drops `.` segments and resolves `..` against
/// the previous segment. An absolute path never climbs above the root (`/../etc` → `/etc`);
/// a relative path keeps the `..` segments it cannot resolve (`../a` stays). A trailing `/`
/// is kept only when the input had one. With `windows`, `\` is a separator too and is
/// written as `/`.
pub fn normalize_path(input: &[u8], windows: bool) -> Vec<u8> {
    let is_sep = |b: u8| b == b'/' || (windows && b == b'\\');
    let (first, last) = match (input.first(), input.last()) {
        (Some(&f), Some(&l)) => (f, l),
        _ => return Vec::new(),
    };
    let absolute = is_sep(first);
    let trailing = is_sep(last);
    let mut segments: Vec<&[u8]> = Vec::new();
    for seg in input.split(|&b| is_sep(b)) {
        match seg {
            b"" | b"." => {}
            b".." => match segments.last() {
                Some(prev) if *prev != b".." => {
                    segments.pop();
                }
                _ => {
                    if !absolute {
                        segments.push(seg);
                    }
                }
            },
            _ => segments.push(seg),
        }
    }
    let mut out = Vec::with_capacity(input.len());
    if absolute {
        out.push(b'/');
    }
    for (i, seg) in segments.iter().enumerate() {
        if i > 0 {
            out.push(b'/');
        }
        out.extend_from_slice(seg);
    }
    if trailing && !segments.is_empty() {
        out.push(b'/');
    }
    out
}

// ---------------------------------------------------------------------------------------
// Per-request memo
// ---------------------------------------------------------------------------------------

/// Per-request memo of transformed values.
///
/// Results are shared as `Arc<[u8]>` (cheap to clone, `Send`, so a request's findings can
/// cross threads). Pipelines are interned, and every prefix of a computed pipeline is cached
/// too, so `[A, B]` followed by `[A, B, C]` computes `C` once on top of the cached `[A, B]`.
/// `Transform::None` entries are ignored, exactly as in [`apply_all`]. Steps that leave the
/// value unchanged share the previous `Arc` instead of copying.
///
/// The cache trusts `value_id`: the caller must give each distinct value of a request its
/// own id and always pass the same bytes with it. Create one cache per request (or
/// [`clear`](TransformCache::clear) it between requests).
#[derive(Debug, Default)]
pub struct TransformCache {
    /// Interned pipelines (and pipeline prefixes) → small id.
    pipelines: HashMap<Vec<Transform>, u32>,
    /// (value id, pipeline id) → transformed value.
    values: HashMap<(u32, u32), Arc<[u8]>>,
    /// Reused buffer for pipelines that contain `None` entries.
    scratch: Vec<Transform>,
}

impl TransformCache {
    pub fn new() -> Self {
        Self::default()
    }

    /// Returns `input` (the value known as `value_id`) transformed by `pipeline`, computing
    /// only the steps not already cached for that value.
    pub fn get(&mut self, value_id: u32, pipeline: &[Transform], input: &[u8]) -> Arc<[u8]> {
        if pipeline.contains(&Transform::None) {
            let mut steps = std::mem::take(&mut self.scratch);
            steps.clear();
            steps.extend(pipeline.iter().copied().filter(|t| *t != Transform::None));
            let out = self.get_steps(value_id, &steps, input);
            self.scratch = steps;
            out
        } else {
            self.get_steps(value_id, pipeline, input)
        }
    }

    fn get_steps(&mut self, value_id: u32, steps: &[Transform], input: &[u8]) -> Arc<[u8]> {
        // Longest cached prefix (the full pipeline first).
        let mut done = steps.len();
        let mut cur: Option<Arc<[u8]>> = None;
        loop {
            if let Some(&pid) = self.pipelines.get(&steps[..done]) {
                if let Some(v) = self.values.get(&(value_id, pid)) {
                    cur = Some(Arc::clone(v));
                    break;
                }
            }
            if done == 0 {
                break;
            }
            done -= 1;
        }
        let mut cur = match cur {
            Some(v) => v,
            None => {
                let v: Arc<[u8]> = Arc::from(input);
                let pid = self.intern(&steps[..0]);
                self.values.insert((value_id, pid), Arc::clone(&v));
                v
            }
        };
        for end in done..steps.len() {
            let next = match steps[end].apply(&cur) {
                Cow::Borrowed(b) if b.len() != cur.len() => Arc::from(b),
                Cow::Borrowed(_) => Arc::clone(&cur),
                Cow::Owned(v) => Arc::from(v),
            };
            let pid = self.intern(&steps[..=end]);
            self.values.insert((value_id, pid), Arc::clone(&next));
            cur = next;
        }
        cur
    }

    fn intern(&mut self, steps: &[Transform]) -> u32 {
        if let Some(&id) = self.pipelines.get(steps) {
            return id;
        }
        let id = u32::try_from(self.pipelines.len()).unwrap_or(u32::MAX);
        self.pipelines.insert(steps.to_vec(), id);
        id
    }

    /// Number of cached (value, pipeline) results.
    pub fn len(&self) -> usize {
        self.values.len()
    }

    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    /// Forgets all cached values (interned pipelines are kept; they do not depend on values).
    pub fn clear(&mut self) {
        self.values.clear();
    }
}

// ---------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------

fn owned_if_changed(input: &[u8], out: Vec<u8>) -> Cow<'_, [u8]> {
    if out == input {
        Cow::Borrowed(input)
    } else {
        Cow::Owned(out)
    }
}

fn hex_digit(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

fn hex_at(input: &[u8], i: usize) -> Option<u8> {
    input.get(i).copied().and_then(hex_digit)
}

/// Two hex digits at `i` as one byte.
fn hex_pair(input: &[u8], i: usize) -> Option<u8> {
    Some(hex_at(input, i)? << 4 | hex_at(input, i + 1)?)
}

/// Four hex digits at `i` as a 16-bit code.
fn hex_quad(input: &[u8], i: usize) -> Option<u16> {
    Some(u16::from(hex_pair(input, i)?) << 8 | u16::from(hex_pair(input, i + 2)?))
}

/// ModSecurity's reduction of a 16-bit code to one byte: the low byte, with the full-width
/// forms U+FF01–U+FF5E mapped to ASCII. One departure: the other code points that stand in
/// for ASCII syntax ([`confusable`]: `%u2215` DIVISION SLASH, `%u2216` SET MINUS, the small
/// form variants) become that ASCII byte, as IIS's best-fit mapping makes them, rather than
/// their low byte (0x15, 0x16: control characters no rule looks for), so that
/// `%uff0e%uff0e%u2215etc%u2215passwd` reads `../etc/passwd`.
fn unicode_low_byte(code: u32) -> u8 {
    confusable(code).unwrap_or((code & 0xff) as u8)
}

const HEX_LOWER: &[u8; 16] = b"0123456789abcdef";

/// C `isspace` in the C locale.
const fn is_c_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')
}

/// The bytes of `input` that `keep` accepts, in a buffer sized once (a filtered iterator
/// collects from an empty vector and reallocates it as it grows: CRS runs
/// `removeWhitespace` on every value with a space, 900 of them on a 20 KB JSON body).
fn keep_bytes(input: &[u8], keep: impl Fn(u8) -> bool) -> Vec<u8> {
    let mut out = Vec::with_capacity(input.len());
    out.extend(input.iter().copied().filter(|&b| keep(b)));
    out
}

const fn is_ws_nbsp(b: u8) -> bool {
    is_c_space(b) || b == 0xa0
}

/// [`is_ws_nbsp`] as a table.
static WS_NBSP: [bool; 256] = {
    let mut t = [false; 256];
    let mut b = 0;
    while b < 256 {
        t[b] = is_ws_nbsp(b as u8);
        b += 1;
    }
    t
};

/// Whether `input` holds a byte [`is_ws_nbsp`] takes: by vectorized searches when long,
/// by table when short (where three searches cost more than the bytes).
fn has_ws_nbsp(input: &[u8]) -> bool {
    if input.len() < 64 {
        return input.iter().any(|&b| WS_NBSP[usize::from(b)]);
    }
    memchr::memchr3(b' ', b'\t', b'\n', input).is_some()
        || memchr::memchr3(0x0b, 0x0c, b'\r', input).is_some()
        || memchr::memchr(0xa0, input).is_some()
}

/// `input` without the bytes `drop` marks, without a branch per byte: prose has a space
/// every few bytes, where a branch mispredicts (CRS's `removeWhitespace` runs over every
/// value holding one).
fn drop_bytes(input: &[u8], drop: &[bool; 256]) -> Vec<u8> {
    let mut out = vec![0u8; input.len()];
    let mut kept = 0;
    for &b in input {
        // (`kept` is at most the index of `b`: always within `out`)
        if let Some(slot) = out.get_mut(kept) {
            *slot = b;
        }
        kept += usize::from(!drop[usize::from(b)]);
    }
    out.truncate(kept);
    out
}

fn is_odigit(b: u8) -> bool {
    (b'0'..=b'7').contains(&b)
}

fn trim_left(input: &[u8]) -> &[u8] {
    let start = input
        .iter()
        .position(|&b| !is_c_space(b))
        .unwrap_or(input.len());
    &input[start..]
}

fn trim_right(input: &[u8]) -> &[u8] {
    let end = input
        .iter()
        .rposition(|&b| !is_c_space(b))
        .map_or(0, |p| p + 1);
    &input[..end]
}

// ---------------------------------------------------------------------------------------
// Decoders
// ---------------------------------------------------------------------------------------

fn url_decode(input: &[u8], uni: bool) -> Cow<'_, [u8]> {
    let Some(first) = memchr::memchr2(b'%', b'+', input) else {
        return Cow::Borrowed(input);
    };
    // Written into a buffer of the input's length (the result is never longer), the bytes
    // before the first escape in one copy, then run by run between `%`s: a run is copied
    // with `+` as a space in a loop the compiler vectorizes (prose in a urlencoded body has
    // a `+` every few bytes and a `%` rarely; byte by byte it cost ~5 instructions a byte,
    // and several CRS pipelines decode a 2 KB body).
    let mut out = vec![0u8; input.len()];
    out[..first].copy_from_slice(&input[..first]);
    // (j <= i throughout: no step writes more bytes than it reads)
    let (mut i, mut j) = (first, first);
    while i < input.len() {
        let end = memchr::memchr(b'%', &input[i..]).map_or(input.len(), |k| i + k);
        let run = &input[i..end];
        if let Some(dst) = out.get_mut(j..j + run.len()) {
            for (o, &b) in dst.iter_mut().zip(run) {
                *o = if b == b'+' { b' ' } else { b };
            }
        }
        j += run.len();
        i = end;
        if i >= input.len() {
            break;
        }
        // a `%` at i
        let (byte, read) = if uni && matches!(input.get(i + 1), Some(b'u' | b'U')) {
            match hex_quad(input, i + 2) {
                Some(code) => (unicode_low_byte(u32::from(code)), 6),
                // Invalid or truncated: keep "%" (and the "u" after it) and go on.
                None => (b'%', 1),
            }
        } else if let Some(v) = hex_pair(input, i + 1) {
            (v, 3)
        } else {
            (b'%', 1)
        };
        if let Some(slot) = out.get_mut(j) {
            *slot = byte;
        }
        j += 1;
        i += read;
    }
    out.truncate(j);
    Cow::Owned(out)
}

/// Named references decoded by `htmlEntityDecode` (matched ignoring ASCII case, like
/// ModSecurity). Those that matter for evasion all map to ASCII, except `nbsp` (0xA0).
fn named_entity(name: &[u8]) -> Option<u8> {
    // Every `&name` in a value reaches here (most are query-string separators such as
    // `&page=2`): a compiled `match` on the lowercased name, not a scan of a table.
    let mut buf = [0u8; 7];
    Some(match ascii_lowercase_in(name, &mut buf)? {
        b"quot" => b'"',
        b"amp" => b'&',
        b"lt" => b'<',
        b"gt" => b'>',
        b"nbsp" => 0xa0,
        b"apos" => b'\'',
        b"colon" => b':',
        b"semi" => b';',
        b"sol" => b'/',
        b"bsol" => b'\\',
        b"lpar" => b'(',
        b"rpar" => b')',
        b"tab" => b'\t',
        b"newline" => b'\n',
        b"excl" => b'!',
        b"num" => b'#',
        b"dollar" => b'$',
        b"percnt" => b'%',
        b"ast" | b"midast" => b'*',
        b"plus" => b'+',
        b"comma" => b',',
        b"period" => b'.',
        b"equals" => b'=',
        b"quest" => b'?',
        b"commat" => b'@',
        b"lsqb" | b"lbrack" => b'[',
        b"rsqb" | b"rbrack" => b']',
        b"hat" => b'^',
        b"lowbar" => b'_',
        b"grave" => b'`',
        b"lcub" | b"lbrace" => b'{',
        b"rcub" | b"rbrace" => b'}',
        b"verbar" | b"vert" => b'|',
        _ => return None,
    })
}

/// `name` lowercased into `buf`, for matching short names against a compiled `match`
/// without allocating; None when it does not fit (longer than every name matched).
pub(crate) fn ascii_lowercase_in<'b>(name: &[u8], buf: &'b mut [u8]) -> Option<&'b [u8]> {
    let lower = buf.get_mut(..name.len())?;
    lower.copy_from_slice(name);
    lower.make_ascii_lowercase();
    Some(lower)
}

fn html_entity_decode(input: &[u8]) -> Cow<'_, [u8]> {
    // Most `&` in values separate query-string pairs (`&page=2`) and decode to nothing:
    // only a reference that decodes makes a copy.
    let decoded_at = |i: usize| (input[i] == b'&').then(|| entity_at(input, i)).flatten();
    let Some(first) = memchr::memchr_iter(b'&', input).find(|&i| decoded_at(i).is_some()) else {
        return Cow::Borrowed(input);
    };
    let mut out = Vec::with_capacity(input.len());
    out.extend_from_slice(&input[..first]);
    let mut i = first;
    while i < input.len() {
        match decoded_at(i) {
            Some((v, j)) => {
                out.push(v);
                i = j;
            }
            None => {
                // Not a reference we decode: copy the byte and go on after it.
                out.push(input[i]);
                i += 1;
            }
        }
    }
    Cow::Owned(out)
}

/// The byte a character reference at `input[i] == b'&'` decodes to, and the index after it
/// (its `;` included when present); None when it is not one we decode.
fn entity_at(input: &[u8], i: usize) -> Option<(u8, usize)> {
    let n = input.len();
    if i + 1 >= n {
        return None;
    }
    let mut j = i + 1;
    let decoded = if input[j] == b'#' {
        j += 1;
        let hex = matches!(input.get(j), Some(b'x' | b'X'));
        if hex {
            j += 1;
        }
        let start = j;
        let mut value: u64 = 0;
        while let Some(&d) = input.get(j) {
            let digit = if hex {
                hex_digit(d)
            } else if d.is_ascii_digit() {
                Some(d - b'0')
            } else {
                None
            };
            let Some(digit) = digit else { break };
            let radix = if hex { 16 } else { 10 };
            value = value.saturating_mul(radix).saturating_add(u64::from(digit));
            j += 1;
        }
        // Like strtol + (unsigned char): the low byte (0xFF once saturated).
        (j > start).then_some((value & 0xff) as u8)
    } else {
        let start = j;
        while input.get(j).is_some_and(u8::is_ascii_alphanumeric) {
            j += 1;
        }
        if j > start {
            named_entity(&input[start..j])
        } else {
            None
        }
    }?;
    if input.get(j) == Some(&b';') {
        j += 1;
    }
    Some((decoded, j))
}

fn js_decode(input: &[u8]) -> Cow<'_, [u8]> {
    if !input.contains(&b'\\') {
        return Cow::Borrowed(input);
    }
    let mut out = Vec::with_capacity(input.len());
    let mut i = 0;
    while let Some(&b) = input.get(i) {
        if b != b'\\' {
            out.push(b);
            i += 1;
            continue;
        }
        let Some(&c) = input.get(i + 1) else {
            // Lone trailing backslash: kept.
            out.push(b);
            i += 1;
            continue;
        };
        if c == b'u' {
            if let Some(code) = hex_quad(input, i + 2) {
                out.push(unicode_low_byte(u32::from(code)));
                i += 6;
                continue;
            }
        }
        if c == b'x' {
            if let Some(v) = hex_pair(input, i + 2) {
                out.push(v);
                i += 4;
                continue;
            }
        }
        if is_odigit(c) {
            let mut len = 1;
            while len < 3 && input.get(i + 1 + len).copied().is_some_and(is_odigit) {
                len += 1;
            }
            // Three digits only while the value fits in a byte (\377).
            if len == 3 && c > b'3' {
                len = 2;
            }
            let value = input[i + 1..i + 1 + len]
                .iter()
                .fold(0u32, |acc, &d| acc * 8 + u32::from(d - b'0'));
            out.push((value & 0xff) as u8);
            i += 1 + len;
            continue;
        }
        out.push(match c {
            b'a' => 0x07,
            b'b' => 0x08,
            b'f' => 0x0c,
            b'n' => b'\n',
            b'r' => b'\r',
            b't' => b'\t',
            b'v' => 0x0b,
            other => other,
        });
        i += 2;
    }
    Cow::Owned(out)
}

fn css_decode(input: &[u8]) -> Cow<'_, [u8]> {
    if !input.contains(&b'\\') {
        return Cow::Borrowed(input);
    }
    let mut out = Vec::with_capacity(input.len());
    let mut i = 0;
    while let Some(&b) = input.get(i) {
        if b != b'\\' {
            out.push(b);
            i += 1;
            continue;
        }
        i += 1; // the backslash itself is never kept
        let Some(&c) = input.get(i) else { break };
        let mut len = 0;
        let mut value: u32 = 0;
        while len < 6 {
            match hex_at(input, i + len) {
                Some(d) => value = value << 4 | u32::from(d),
                None => break,
            }
            len += 1;
        }
        if len > 0 {
            out.push(unicode_low_byte(value));
            i += len;
            // One whitespace after a hex escape belongs to the escape.
            if input.get(i).copied().is_some_and(is_c_space) {
                i += 1;
            }
        } else if c == b'\n' {
            i += 1;
        } else {
            out.push(c);
            i += 1;
        }
    }
    Cow::Owned(out)
}

fn base64_value(b: u8) -> Option<u8> {
    let v = BASE64_VALUE[usize::from(b)];
    (v != BASE64_INVALID).then_some(v)
}

const BASE64_INVALID: u8 = 0xff;
/// Each byte's base64 symbol value, or [`BASE64_INVALID`].
static BASE64_VALUE: [u8; 256] = {
    let mut t = [BASE64_INVALID; 256];
    let mut i = 0;
    while i < 26 {
        t[b'A' as usize + i] = i as u8;
        t[b'a' as usize + i] = 26 + i as u8;
        i += 1;
    }
    let mut d = 0;
    while d < 10 {
        t[b'0' as usize + d] = 52 + d as u8;
        d += 1;
    }
    t[b'+' as usize] = 62;
    t[b'/' as usize] = 63;
    t
};

/// Shortest value [`base64_text`] decodes: 12 symbols are 9 bytes, shorter than nearly any
/// payload, and shorter values are mostly words and identifiers.
pub const BASE64_TEXT_MIN_LEN: usize = 12;

/// The text a value holds in base64 (standard or URL-safe alphabet, padded or not), when
/// it is text: an attacker who knows the application decodes a parameter can hide any
/// payload in it, and base64 of random bytes (tokens, hashes, ids that happen to use only
/// base64 letters) almost never decodes to printable UTF-8. Bytes outside the alphabet
/// between the symbols (whitespace, dots, `=` before the end, a no-break space) are
/// skipped, as the decoders applications call skip them (PHP's non-strict
/// `base64_decode`, Python's `b64decode`, MIME decoders): line-wrapped base64, or a
/// separator slipped in to get past a strict decoder. `None` for anything else: fewer than
/// [`BASE64_TEXT_MIN_LEN`] symbols, fewer symbols than other bytes among the first twelve,
/// a length no encoder writes, both alphabets mixed, control bytes or invalid UTF-8 in the
/// result.
#[inline]
pub fn base64_text(value: &[u8]) -> Option<Vec<u8>> {
    // Runs on every argument value: short ones, those whose first four bytes are symbols
    // that decode to no start of text (most words: `Trai` is `N\xb6\xa2`, a UTF-8
    // continuation byte where a character must begin), and those whose first bytes are
    // mostly not symbols (`/`-less punctuation, non-ASCII text) are rejected without a
    // call. Whatever else is among the symbols, those four are the first group both
    // decoders below decode, and its three bytes the start of their result.
    let head = value.get(..BASE64_TEXT_MIN_LEN)?;
    if let Some(&[s0, s1, s2, s3]) = head.get(..4) {
        let group = [s0, s1, s2, s3].map(|s| BASE64_ANY_VALUE[usize::from(s)]);
        if group.iter().all(|&v| v != BASE64_INVALID) {
            let n = group.iter().fold(0u32, |n, &v| n << 6 | u32::from(v));
            if !starts_like_text(&[(n >> 16) as u8, (n >> 8) as u8, n as u8]) {
                return None;
            }
        }
    }
    base64_text_past_its_first_group(value, head)
}

/// [`base64_text`] but for its first check; `head` is the value's first
/// [`BASE64_TEXT_MIN_LEN`] bytes.
#[inline]
fn base64_text_past_its_first_group(value: &[u8], head: &[u8]) -> Option<Vec<u8>> {
    let mut others = 0;
    for &b in head {
        if !BASE64_ANY_SYMBOL[usize::from(b)] {
            others += 1;
            if others > BASE64_TEXT_MIN_LEN / 2 {
                return None;
            }
        }
    }
    if others > 0 {
        return base64_text_spaced(value);
    }
    base64_text_checked(value).or_else(|| {
        // a separator further on (line-wrapped base64, padding in the middle)
        if value.iter().any(|&b| !BASE64_ANY_SYMBOL[usize::from(b)]) {
            base64_text_spaced(value)
        } else {
            None
        }
    })
}

/// [`base64_text`] of a value with other bytes among its symbols, which are skipped.
/// Prose gets here too (`Trail running shoe model 17`, `jane.doe@example.com`): it is
/// turned away by its first twelve symbols, whose nine decoded bytes are seldom printable
/// UTF-8 for letters that were not encoded from text, before anything is copied.
#[inline(never)]
fn base64_text_spaced(value: &[u8]) -> Option<Vec<u8>> {
    // The first twelve symbols, decoded a group of four (three bytes) at a time and
    // checked as they come: letters of prose mostly fail at the first or second byte.
    let mut prefix = [0u8; BASE64_TEXT_MIN_LEN / 4 * 3];
    let mut group = 0u32;
    let mut n = 0;
    for &b in value {
        if !BASE64_ANY_SYMBOL[usize::from(b)] {
            continue;
        }
        // a symbol of either alphabet (checked above): always a valid value
        let v = BASE64_ANY_VALUE[usize::from(b)];
        group = group << 6 | u32::from(v);
        n += 1;
        if n % 4 == 0 {
            let at = n / 4 * 3 - 3;
            prefix[at..at + 3].copy_from_slice(&[
                (group >> 16) as u8,
                (group >> 8) as u8,
                group as u8,
            ]);
            if !starts_like_text(&prefix[..at + 3]) {
                return None;
            }
            if n == BASE64_TEXT_MIN_LEN {
                break;
            }
        }
    }
    if n < BASE64_TEXT_MIN_LEN {
        return None;
    }
    let mut joined = Vec::with_capacity(value.len());
    joined.extend(value.iter().filter(|&&b| BASE64_ANY_SYMBOL[usize::from(b)]));
    base64_text_checked(&joined)
}

/// Whether `bytes` may begin a text [`base64_text`] accepts: UTF-8 up to a character cut
/// off at the end, and no control character but tab, line feed and carriage return.
fn starts_like_text(bytes: &[u8]) -> bool {
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        let len = match b {
            b'\t' | b'\n' | b'\r' | 0x20..=0x7e => 1,
            0xc2..=0xdf => 2,
            0xe0..=0xef => 3,
            0xf0..=0xf4 => 4,
            _ => return false,
        };
        let end = (i + len).min(bytes.len());
        if !bytes[i + 1..end]
            .iter()
            .all(|&c| (0x80..=0xbf).contains(&c))
        {
            return false;
        }
        i += len;
    }
    true
}

/// The value of a symbol of either base64 alphabet (`-` as `+`, `_` as `/`), or
/// [`BASE64_INVALID`].
static BASE64_ANY_VALUE: [u8; 256] = {
    let mut t = BASE64_VALUE;
    t[b'-' as usize] = 62;
    t[b'_' as usize] = 63;
    t
};

/// The symbols of both base64 alphabets (standard `+/`, URL-safe `-_`).
static BASE64_ANY_SYMBOL: [bool; 256] = {
    let mut t = [false; 256];
    let mut b = 0;
    while b < 256 {
        t[b] = (b as u8).is_ascii_alphanumeric() || matches!(b as u8, b'+' | b'/' | b'-' | b'_');
        b += 1;
    }
    t
};

#[inline(never)]
fn base64_text_checked(value: &[u8]) -> Option<Vec<u8>> {
    if value.len() > 1 << 20 {
        return None;
    }
    let symbols = value
        .strip_suffix(b"==")
        .or_else(|| value.strip_suffix(b"="))
        .unwrap_or(value);
    if (symbols.len() != value.len() && !value.len().is_multiple_of(4)) || symbols.len() % 4 == 1 {
        return None;
    }
    let (mut standard, mut url_safe) = (false, false);
    for &b in symbols {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' => {}
            b'+' | b'/' => standard = true,
            b'-' | b'_' => url_safe = true,
            _ => return None,
        }
    }
    if standard && url_safe {
        return None;
    }
    let decoded = if url_safe {
        let mapped: Vec<u8> = symbols
            .iter()
            .map(|&b| match b {
                b'-' => b'+',
                b'_' => b'/',
                b => b,
            })
            .collect();
        base64_decode(&mapped, false)
    } else {
        base64_decode(symbols, false)
    };
    let text = std::str::from_utf8(&decoded).ok()?;
    let printable = text
        .chars()
        .all(|c| !c.is_control() || matches!(c, '\t' | '\n' | '\r'));
    printable.then_some(decoded)
}

fn base64_decode(input: &[u8], forgiving: bool) -> Vec<u8> {
    let mut out = Vec::with_capacity(input.len() / 4 * 3 + 3);
    let mut acc: u32 = 0;
    let mut bits: u32 = 0;
    let mut i = 0;
    while let Some(&b) = input.get(i) {
        // Eight valid symbols from a group boundary are six whole bytes, four are three:
        // decoded together, without the per-symbol bookkeeping (CRS base64-decodes every
        // argument, and a form's prose message without its spaces is ~1.5 KB of symbols).
        // `acc` is not updated: at a group boundary its bits are never read again.
        if bits == 0 {
            if let Some(chunk) = input.get(i..i + 8) {
                let (mut n, mut seen) = (0u64, 0u8);
                for &s in chunk {
                    let v = BASE64_VALUE[usize::from(s)];
                    seen |= v;
                    n = n << 6 | u64::from(v);
                }
                // (a valid symbol's value is below 64; BASE64_INVALID has the top bits set)
                if seen < 64 {
                    out.extend_from_slice(&n.to_be_bytes()[2..]);
                    i += 8;
                    continue;
                }
            }
            if let Some(&[s0, s1, s2, s3]) = input.get(i..i + 4) {
                let v = [s0, s1, s2, s3].map(|s| BASE64_VALUE[usize::from(s)]);
                if v.iter().all(|&x| x != BASE64_INVALID) {
                    let n = v.iter().fold(0u32, |n, &x| n << 6 | u32::from(x));
                    out.extend_from_slice(&[(n >> 16) as u8, (n >> 8) as u8, n as u8]);
                    i += 4;
                    continue;
                }
            }
        }
        i += 1;
        match base64_value(b) {
            Some(v) => {
                acc = (acc << 6 | u32::from(v)) & 0xffff;
                bits += 6;
                if bits >= 8 {
                    bits -= 8;
                    out.push((acc >> bits) as u8);
                }
            }
            None if forgiving => {}
            None => break,
        }
    }
    out
}

fn base64_encode(input: &[u8]) -> Cow<'_, [u8]> {
    use base64::Engine as _;
    if input.is_empty() {
        return Cow::Borrowed(input);
    }
    Cow::Owned(
        base64::engine::general_purpose::STANDARD
            .encode(input)
            .into_bytes(),
    )
}

fn hex_decode(input: &[u8]) -> Cow<'_, [u8]> {
    if input.is_empty() {
        return Cow::Borrowed(input);
    }
    let mut out = Vec::with_capacity(input.len() / 2 + 1);
    let mut i = 0;
    while let Some(&b) = input.get(i) {
        if let Some(v) = hex_pair(input, i) {
            out.push(v);
            i += 2;
        } else {
            out.push(b);
            i += 1;
        }
    }
    owned_if_changed(input, out)
}

fn hex_encode(input: &[u8]) -> Cow<'_, [u8]> {
    if input.is_empty() {
        return Cow::Borrowed(input);
    }
    let mut out = Vec::with_capacity(input.len() * 2);
    for &b in input {
        out.push(HEX_LOWER[usize::from(b >> 4)]);
        out.push(HEX_LOWER[usize::from(b & 0x0f)]);
    }
    Cow::Owned(out)
}

fn sql_hex_decode(input: &[u8]) -> Cow<'_, [u8]> {
    let starts_literal =
        |i: usize| input.get(i) == Some(&b'0') && matches!(input.get(i + 1), Some(b'x' | b'X'));
    if !(0..input.len()).any(|i| starts_literal(i) && hex_pair(input, i + 2).is_some()) {
        return Cow::Borrowed(input);
    }
    let mut out = Vec::with_capacity(input.len());
    let mut i = 0;
    while let Some(&b) = input.get(i) {
        if starts_literal(i) && hex_pair(input, i + 2).is_some() {
            i += 2;
            while let Some(v) = hex_pair(input, i) {
                out.push(v);
                i += 2;
            }
        } else {
            out.push(b);
            i += 1;
        }
    }
    Cow::Owned(out)
}

fn escape_seq_decode(input: &[u8]) -> Cow<'_, [u8]> {
    if !input.contains(&b'\\') {
        return Cow::Borrowed(input);
    }
    let mut out = Vec::with_capacity(input.len());
    let mut i = 0;
    while let Some(&b) = input.get(i) {
        let next = input.get(i + 1).copied();
        let (b'\\', Some(c)) = (b, next) else {
            out.push(b);
            i += 1;
            continue;
        };
        let simple = match c {
            b'a' => Some(0x07),
            b'b' => Some(0x08),
            b'f' => Some(0x0c),
            b'n' => Some(b'\n'),
            b'r' => Some(b'\r'),
            b't' => Some(b'\t'),
            b'v' => Some(0x0b),
            b'\\' | b'?' | b'\'' | b'"' => Some(c),
            _ => None,
        };
        if let Some(v) = simple {
            out.push(v);
            i += 2;
        } else if matches!(c, b'x' | b'X') && hex_pair(input, i + 2).is_some() {
            out.push(hex_pair(input, i + 2).unwrap_or(c));
            i += 4;
        } else if is_odigit(c) {
            let mut len = 1;
            while len < 3 && input.get(i + 1 + len).copied().is_some_and(is_odigit) {
                len += 1;
            }
            let value = input[i + 1..i + 1 + len]
                .iter()
                .fold(0u32, |acc, &d| acc * 8 + u32::from(d - b'0'));
            out.push((value & 0xff) as u8);
            i += 1 + len;
        } else {
            // Unknown escape: drop the backslash.
            out.push(c);
            i += 2;
        }
    }
    Cow::Owned(out)
}

fn utf8_to_unicode(input: &[u8]) -> Cow<'_, [u8]> {
    if input.is_ascii() {
        return Cow::Borrowed(input);
    }
    let mut out = Vec::with_capacity(input.len() * 2);
    for chunk in input.utf8_chunks() {
        for ch in chunk.valid().chars() {
            let code = u32::from(ch);
            if code < 0x80 {
                out.push(code as u8);
            } else {
                out.extend_from_slice(format!("%u{code:04x}").as_bytes());
            }
        }
        out.extend_from_slice(chunk.invalid());
    }
    owned_if_changed(input, out)
}

fn url_encode(input: &[u8]) -> Cow<'_, [u8]> {
    let keep = |b: u8| b.is_ascii_alphanumeric() || b == b'*';
    if input.iter().all(|&b| keep(b)) {
        return Cow::Borrowed(input);
    }
    let mut out = Vec::with_capacity(input.len() * 3);
    for &b in input {
        if b == b' ' {
            out.push(b'+');
        } else if keep(b) {
            out.push(b);
        } else {
            out.push(b'%');
            out.push(HEX_LOWER[usize::from(b >> 4)]);
            out.push(HEX_LOWER[usize::from(b & 0x0f)]);
        }
    }
    Cow::Owned(out)
}

// ---------------------------------------------------------------------------------------
// Whitespace, comments, command lines
// ---------------------------------------------------------------------------------------

fn compress_whitespace(input: &[u8]) -> Cow<'_, [u8]> {
    // Vectorized searches first: most values have no whitespace but single spaces.
    let needs = memchr::memchr3(b'\t', b'\n', b'\r', input).is_some()
        || memchr::memchr3(0x0b, 0x0c, 0xa0, input).is_some()
        || memchr::memmem::find(input, b"  ").is_some();
    if !needs {
        return Cow::Borrowed(input);
    }
    let mut out = Vec::with_capacity(input.len());
    let mut in_ws = false;
    for &b in input {
        if is_ws_nbsp(b) {
            if !in_ws {
                out.push(b' ');
                in_ws = true;
            }
        } else {
            out.push(b);
            in_ws = false;
        }
    }
    Cow::Owned(out)
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    let Some((&first, _)) = needle.split_first() else {
        return Some(0);
    };
    // (a vectorized search for the first byte, then a comparison there: the needles here
    // are two or three bytes, whose first byte is rare in values)
    memchr::memchr_iter(first, haystack).find(|&i| haystack[i..].starts_with(needle))
}

fn replace_comments(input: &[u8]) -> Cow<'_, [u8]> {
    if find(input, b"/*").is_none() {
        return Cow::Borrowed(input);
    }
    let mut out = Vec::with_capacity(input.len());
    let mut i = 0;
    while i < input.len() {
        let rest = &input[i..];
        if rest.starts_with(b"/*") {
            out.push(b' ');
            match find(&rest[2..], b"*/") {
                Some(end) => i += 2 + end + 2,
                None => break,
            }
        } else {
            out.push(rest[0]);
            i += 1;
        }
    }
    Cow::Owned(out)
}

fn remove_comments(input: &[u8]) -> Cow<'_, [u8]> {
    let has_marker =
        input.contains(&b'#') || find(input, b"/*").is_some() || find(input, b"--").is_some();
    if !has_marker {
        return Cow::Borrowed(input);
    }
    let mut out = Vec::with_capacity(input.len());
    let mut i = 0;
    while i < input.len() {
        let rest = &input[i..];
        let block = if rest.starts_with(b"/*") {
            Some((2, &b"*/"[..]))
        } else if rest.starts_with(b"<!--") {
            Some((4, &b"-->"[..]))
        } else {
            None
        };
        if let Some((open, close)) = block {
            match find(&rest[open..], close) {
                Some(end) => i += open + end + close.len(),
                None => {
                    out.push(b' ');
                    break;
                }
            }
        } else if rest.starts_with(b"--") || rest[0] == b'#' {
            // Line comment: up to (not including) the end of the line.
            match rest.iter().position(|&b| b == b'\n' || b == b'\r') {
                Some(end) => i += end,
                None => break,
            }
        } else {
            out.push(rest[0]);
            i += 1;
        }
    }
    Cow::Owned(out)
}

fn remove_comments_char(input: &[u8]) -> Cow<'_, [u8]> {
    const MARKERS: [&[u8]; 5] = [b"/*", b"*/", b"<!--", b"-->", b"--"];
    let marker_at = |rest: &[u8]| -> Option<usize> {
        if rest.first() == Some(&b'#') {
            return Some(1);
        }
        MARKERS
            .iter()
            .find(|m| rest.starts_with(m))
            .map(|m| m.len())
    };
    if !(0..input.len()).any(|i| marker_at(&input[i..]).is_some()) {
        return Cow::Borrowed(input);
    }
    let mut out = Vec::with_capacity(input.len());
    let mut i = 0;
    while i < input.len() {
        match marker_at(&input[i..]) {
            Some(len) => i += len,
            None => {
                out.push(input[i]);
                i += 1;
            }
        }
    }
    Cow::Owned(out)
}

fn cmd_line(input: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(input.len());
    let mut space = false;
    for &b in input {
        match b {
            b'"' | b'\'' | b'\\' | b'^' => {}
            b' ' | b',' | b';' | b'\t' | b'\r' | b'\n' => {
                if !space {
                    out.push(b' ');
                    space = true;
                }
            }
            b'/' | b'(' => {
                if space {
                    out.pop();
                }
                space = false;
                out.push(b);
            }
            _ => {
                out.push(b.to_ascii_lowercase());
                space = false;
            }
        }
    }
    out
}

// ---------------------------------------------------------------------------------------
// unicodeNormalize
// ---------------------------------------------------------------------------------------

/// ASCII stand-in for a code point used to smuggle ASCII syntax past filters.
fn confusable(code: u32) -> Option<u8> {
    let c = match code {
        0xff01..=0xff5e => return Some((code - 0xfee0) as u8),
        0x3000 => b' ',
        0x2215 | 0x2044 | 0x29f8 => b'/',
        0x2216 | 0xfe68 => b'\\',
        0xfe50 => b',',
        0xfe52 => b'.',
        0xfe54 => b';',
        0xfe55 => b':',
        0xfe56 => b'?',
        0xfe57 => b'!',
        0xfe59 => b'(',
        0xfe5a => b')',
        0xfe5b => b'{',
        0xfe5c => b'}',
        0xfe5f => b'#',
        0xfe60 => b'&',
        0xfe61 => b'*',
        0xfe62 => b'+',
        0xfe63 => b'-',
        0xfe64 => b'<',
        0xfe65 => b'>',
        0xfe66 => b'=',
        0xfe69 => b'$',
        0xfe6a => b'%',
        0xfe6b => b'@',
        _ => return None,
    };
    Some(c)
}

fn is_cont(b: Option<&u8>) -> bool {
    b.is_some_and(|&b| b & 0xc0 == 0x80)
}

/// Decodes the (possibly overlong) sequence at `i` whose lead byte is 0xC0–0xFD, without
/// validating anything but the continuation bytes. Returns (code point, length).
fn decode_loose(input: &[u8], i: usize) -> Option<(u32, usize)> {
    let lead = *input.get(i)?;
    let len = match lead {
        0xc0..=0xdf => 2,
        0xe0..=0xef => 3,
        0xf0..=0xf7 => 4,
        // the five- and six-byte forms of the original UTF-8 (RFC 2279), which lenient
        // decoders still accept: `%f8%80%80%80%ae` is an overlong `.`
        0xf8..=0xfb => 5,
        0xfc..=0xfd => 6,
        _ => return None,
    };
    let mut code = u32::from(lead) & (0x7f >> len);
    for k in 1..len {
        let b = input.get(i + k);
        if !is_cont(b) {
            return None;
        }
        code = code << 6 | u32::from(b.copied().unwrap_or(0) & 0x3f);
    }
    Some((code, len))
}

fn unicode_normalize(input: &[u8]) -> Cow<'_, [u8]> {
    // (`is_ascii` reads a word at a time: the common answer first)
    if input.is_ascii() || !input.iter().any(|&b| b >= 0xc0) {
        return Cow::Borrowed(input);
    }
    let mut out = Vec::with_capacity(input.len());
    let mut changed = false;
    let mut i = 0;
    while let Some(&b) = input.get(i) {
        if b >= 0xc0 {
            if let Some((code, len)) = decode_loose(input, i) {
                // The shortest form of `code` has this many bytes.
                let shortest = match code {
                    0..=0x7f => 1,
                    0x80..=0x7ff => 2,
                    0x800..=0xffff => 3,
                    0x10000..=0x1f_ffff => 4,
                    0x20_0000..=0x3ff_ffff => 5,
                    _ => 6,
                };
                let mapped = if code < 0x80 && len > 1 {
                    Some(code as u8) // overlong ASCII
                } else if len == shortest {
                    confusable(code)
                } else {
                    None
                };
                if let Some(ascii) = mapped {
                    out.push(ascii);
                    i += len;
                    changed = true;
                    continue;
                }
            }
        }
        out.push(b);
        i += 1;
    }
    if changed {
        Cow::Owned(out)
    } else {
        Cow::Borrowed(input)
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn plainness_by_table_matches_the_definition() {
        let reference = |input: &[u8]| -> bool {
            if matches!(input.first(), Some(b' ' | b'.' | b'-')) || input.last() == Some(&b' ') {
                return false;
            }
            input.iter().enumerate().all(|(i, &b)| match b {
                b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'_' | b'@' | b':' | b',' => true,
                b' ' | b'.' | b'-' => i == 0 || input[i - 1] != b,
                _ => false,
            })
        };
        // the vector path where there is one, and the scalar one, with the first and last
        // byte rules applied as plain_kind applies them
        let scalar = |v: &[u8]| {
            let ends_ok = !matches!(v.first(), Some(b' ' | b'.' | b'-')) && v.last() != Some(&b' ');
            ends_ok.then(|| super::plain_kind_scalar(v)).flatten()
        };
        let kind = |v: &[u8]| {
            let k = super::plain_kind(v);
            assert_eq!(k, scalar(v), "vector and scalar paths differ on {v:?}");
            // the SSE2 path too where AVX2 took the call above
            #[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
            if !matches!(v.first(), Some(b' ' | b'.' | b'-')) && v.last() != Some(&b' ') {
                // SAFETY: the build targets SSE2 (checked by the cfg above).
                let by_sse2 = unsafe { super::sse2::plain_kind(v) };
                assert_eq!(by_sse2, scalar(v), "SSE2 and scalar paths differ on {v:?}");
            }
            k
        };
        // every byte alone and after each of the special ones, and all short strings over
        // the bytes that matter
        for a in 0..=255u8 {
            for b in [b' ', b'.', b'-', b'a', a] {
                for v in [
                    vec![a],
                    vec![b, a],
                    vec![b'x', a, b],
                    vec![b'x', b, a, b'y'],
                ] {
                    assert_eq!(kind(&v).is_some(), reference(&v), "{v:?}");
                }
            }
        }
        let alphabet = [b'a', b' ', b'.', b'-', b'_', b'%'];
        for len in 0..=6u32 {
            for code in 0..6usize.pow(len) {
                let mut c = code;
                let v: Vec<u8> = (0..len)
                    .map(|_| {
                        let b = alphabet[c % 6];
                        c /= 6;
                        b
                    })
                    .collect();
                assert_eq!(kind(&v).is_some(), reference(&v), "{v:?}");
            }
        }
        // longer values: a doubled byte, a bad byte or a comma at every offset, across the
        // 4-byte groups the fast path checks
        for at in 0..40 {
            for insert in [&b".."[..], b"--", b"  ", b"%", b",", b"a.b", b"x-y z"] {
                let mut v = b"abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGH".to_vec();
                v.splice(at..at, insert.iter().copied());
                assert_eq!(kind(&v).is_some(), reference(&v), "{v:?}");
                assert_eq!(kind(&v), reference(&v).then(|| v.contains(&b',')), "{v:?}");
            }
        }
        // every length up to 80 (short values masked in one block, exact multiples of 16
        // and 32, an overlapping last block), with a byte at a range bound or a special one, once
        // and doubled, at every offset
        let bounds = [
            0u8, b'/', b'0', b'9', b':', b';', b'@', b'A', b'Z', b'[', b'_', b'`', b'a', b'z',
            b'{', 0x7f, 0x80, 0xff, b' ', b'.', b'-', b',', b'%',
        ];
        for len in 0..=80usize {
            let plain: Vec<u8> = b"Ab3_c@d:e1".iter().copied().cycle().take(len).collect();
            for &b in &bounds {
                for at in 0..len {
                    for run in [1, 2] {
                        let mut v = plain.clone();
                        let end = (at + run).min(len);
                        v[at..end].fill(b);
                        assert_eq!(kind(&v), reference(&v).then(|| v.contains(&b',')), "{v:?}");
                    }
                }
            }
        }
        // every byte at every offset of values long enough for the 16-byte blocks (the
        // range bounds of letters and digits, bytes from 0x80 up), alone and after a copy
        // of itself (a doubled single byte inside a block and across two)
        let base = b"Abc-def.ghi jkl_mno@pqr:stu,vwx yz0.123-456 789Z";
        for b in 0..=255u8 {
            for at in 0..base.len() {
                for run in [1, 2] {
                    let mut v = base.to_vec();
                    v.splice(at..at, std::iter::repeat_n(b, run));
                    assert_eq!(kind(&v), reference(&v).then(|| v.contains(&b',')), "{v:?}");
                }
            }
        }
    }

    #[test]
    fn paths_called_normal_are_left_unchanged_by_normalization() {
        // every string of up to 7 bytes over the bytes that matter
        let alphabet = [b'a', b'/', b'.', b'\\'];
        let mut normal = 0;
        for len in 0..=7u32 {
            for code in 0..4usize.pow(len) {
                let mut c = code;
                let input: Vec<u8> = (0..len)
                    .map(|_| {
                        let b = alphabet[c % 4];
                        c /= 4;
                        b
                    })
                    .collect();
                for windows in [false, true] {
                    if super::path_is_normal(&input, windows) {
                        normal += 1;
                        assert_eq!(
                            super::normalize_path(&input, windows),
                            input,
                            "{:?} windows={windows}",
                            String::from_utf8_lossy(&input)
                        );
                    }
                }
            }
        }
        assert!(normal > 1000);
    }

    #[test]
    fn every_named_entity_decodes_in_any_case_and_others_do_not() {
        let table: &[(&str, u8)] = &[
            ("quot", b'"'),
            ("amp", b'&'),
            ("lt", b'<'),
            ("gt", b'>'),
            ("nbsp", 0xa0),
            ("apos", b'\''),
            ("colon", b':'),
            ("semi", b';'),
            ("sol", b'/'),
            ("bsol", b'\\'),
            ("lpar", b'('),
            ("rpar", b')'),
            ("tab", b'\t'),
            ("newline", b'\n'),
            ("excl", b'!'),
            ("num", b'#'),
            ("dollar", b'$'),
            ("percnt", b'%'),
            ("ast", b'*'),
            ("midast", b'*'),
            ("plus", b'+'),
            ("comma", b','),
            ("period", b'.'),
            ("equals", b'='),
            ("quest", b'?'),
            ("commat", b'@'),
            ("lsqb", b'['),
            ("lbrack", b'['),
            ("rsqb", b']'),
            ("rbrack", b']'),
            ("hat", b'^'),
            ("lowbar", b'_'),
            ("grave", b'`'),
            ("lcub", b'{'),
            ("lbrace", b'{'),
            ("rcub", b'}'),
            ("rbrace", b'}'),
            ("verbar", b'|'),
            ("vert", b'|'),
        ];
        for &(name, byte) in table {
            assert_eq!(named_entity(name.as_bytes()), Some(byte), "{name}");
            let upper = name.to_ascii_uppercase();
            assert_eq!(named_entity(upper.as_bytes()), Some(byte), "{upper}");
            let text = format!("a&{name};b");
            assert_eq!(
                super::html_entity_decode(text.as_bytes()).as_ref(),
                [b'a', byte, b'b'].as_slice(),
                "{text}"
            );
        }
        for name in ["", "page", "utm", "category", "ampx", "newlines", "q", "am"] {
            assert_eq!(named_entity(name.as_bytes()), None, "{name}");
        }
    }

    /// The decoder before its copy-free fast path, to compare against.
    use super::{hex_digit, named_entity};
    use std::borrow::Cow;
    fn reference_html_entity_decode(input: &[u8]) -> Cow<'_, [u8]> {
        if !input.contains(&b'&') {
            return Cow::Borrowed(input);
        }
        let n = input.len();
        let mut out = Vec::with_capacity(n);
        let mut i = 0;
        while let Some(&b) = input.get(i) {
            if b != b'&' || i + 1 >= n {
                out.push(b);
                i += 1;
                continue;
            }
            let mut j = i + 1;
            let decoded = if input[j] == b'#' {
                j += 1;
                let hex = matches!(input.get(j), Some(b'x' | b'X'));
                if hex {
                    j += 1;
                }
                let start = j;
                let mut value: u64 = 0;
                while let Some(&d) = input.get(j) {
                    let digit = if hex {
                        hex_digit(d)
                    } else if d.is_ascii_digit() {
                        Some(d - b'0')
                    } else {
                        None
                    };
                    let Some(digit) = digit else { break };
                    let radix = if hex { 16 } else { 10 };
                    value = value.saturating_mul(radix).saturating_add(u64::from(digit));
                    j += 1;
                }
                // Like strtol + (unsigned char): the low byte (0xFF once saturated).
                (j > start).then_some((value & 0xff) as u8)
            } else {
                let start = j;
                while input.get(j).is_some_and(u8::is_ascii_alphanumeric) {
                    j += 1;
                }
                if j > start {
                    named_entity(&input[start..j])
                } else {
                    None
                }
            };
            match decoded {
                Some(v) => {
                    out.push(v);
                    if input.get(j) == Some(&b';') {
                        j += 1;
                    }
                }
                // Not a reference we decode: copy what was looked at and go on after it.
                None => out.extend_from_slice(&input[i..j]),
            }
            i = j;
        }
        Cow::Owned(out)
    }

    #[test]
    fn html_entity_decoding_matches_the_straightforward_decoder() {
        let alphabet = b"&#xX4a1mpltq;Z";
        let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
        for _ in 0..200_000 {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let len = (seed >> 60) as usize;
            let mut x = seed;
            let input: Vec<u8> = (0..len)
                .map(|_| {
                    x = x.wrapping_mul(6364136223846793005).wrapping_add(1);
                    alphabet[(x >> 33) as usize % alphabet.len()]
                })
                .collect();
            assert_eq!(
                super::html_entity_decode(&input).as_ref(),
                reference_html_entity_decode(&input).as_ref(),
                "{:?}",
                String::from_utf8_lossy(&input)
            );
        }
    }

    #[test]
    fn html_entities_decode_only_where_a_reference_is() {
        let d = |s: &str| super::html_entity_decode(s.as_bytes()).into_owned();
        assert!(matches!(
            super::html_entity_decode(b"/search?q=a&category=x&page=2&"),
            std::borrow::Cow::Borrowed(_)
        ));
        assert_eq!(d("a&category=x&lt;b&#x41;&#65&amp"), b"a&category=x<bAA&");
        assert_eq!(d("&#;&#x;&lt;"), b"&#;&#x;<");
        assert_eq!(d("x&&lt;"), b"x&<");
    }
    use super::*;

    fn t(tr: Transform, input: &[u8]) -> Vec<u8> {
        tr.apply(input).into_owned()
    }

    #[allow(clippy::ptr_arg)]
    fn is_borrowed(c: &Cow<'_, [u8]>) -> bool {
        matches!(c, Cow::Borrowed(_))
    }

    #[test]
    fn names_round_trip_and_aliases() {
        for tr in Transform::ALL {
            assert_eq!(Transform::from_name(tr.name()), Some(tr), "{}", tr.name());
            assert_eq!(
                Transform::from_name(&tr.name().to_ascii_uppercase()),
                Some(tr)
            );
        }
        assert_eq!(
            Transform::from_name("normalisePath"),
            Some(Transform::NormalizePath)
        );
        assert_eq!(
            Transform::from_name("normalisepathwin"),
            Some(Transform::NormalizePathWin)
        );
        assert_eq!(
            Transform::from_name("utf8ToUnicode"),
            Some(Transform::Utf8ToUnicode)
        );
        assert_eq!(Transform::from_name("nosuch"), None);
        assert_eq!(Transform::from_name(""), None);
    }

    #[test]
    fn url_decode() {
        let u = Transform::UrlDecode;
        assert_eq!(t(u, b"a%20b+c"), b"a b c");
        assert_eq!(t(u, b"%4"), b"%4");
        assert_eq!(t(u, b"%"), b"%");
        assert_eq!(t(u, b"%zz%41"), b"%zzA");
        assert_eq!(t(u, b"%ff"), vec![0xff]);
        assert_eq!(t(u, b"%u0041"), b"%u0041");
        assert_eq!(t(u, b"%2527"), b"%27");
        assert!(is_borrowed(&u.apply(b"plain")));
        assert!(is_borrowed(&u.apply(b"")));
    }

    #[test]
    fn url_decode_uni() {
        let u = Transform::UrlDecodeUni;
        assert_eq!(t(u, b"%u0041%u003c"), b"A<");
        assert_eq!(t(u, b"%uff1cscript%uFF1E"), b"<script>");
        assert_eq!(t(u, b"%U0027"), b"'");
        assert_eq!(t(u, b"%u12"), b"%u12");
        assert_eq!(t(u, b"%u"), b"%u");
        assert_eq!(t(u, b"%u12zz"), b"%u12zz");
        // a code point standing in for ASCII syntax is that byte, others their low byte
        assert_eq!(t(u, b"%u2215%u2216%ufe52"), b"/\\.");
        assert_eq!(t(u, b"%u2217"), vec![0x17]);
        assert_eq!(t(u, b"%41+%4"), b"A %4");
        assert_eq!(t(u, b"%uff00"), vec![0x00]);
    }

    #[test]
    fn html_entity_decode() {
        let h = Transform::HtmlEntityDecode;
        assert_eq!(t(h, b"&lt;script&gt;"), b"<script>");
        assert_eq!(t(h, b"&LT;&quot;&amp;&apos;"), b"<\"&'");
        assert_eq!(t(h, b"a&nbsp;b"), b"a\xa0b");
        assert_eq!(t(h, b"&#60;&#x3c;&#X3C;&#060"), b"<<<<");
        assert_eq!(t(h, b"&#x3cscript"), b"<script");
        assert_eq!(
            t(h, b"javascript&colon;alert&lpar;1&rpar;"),
            b"javascript:alert(1)"
        );
        assert_eq!(t(h, b"&#x;"), b"&#x;");
        assert_eq!(t(h, b"&#;"), b"&#;");
        assert_eq!(t(h, b"&#"), b"&#");
        assert_eq!(t(h, b"&"), b"&");
        assert_eq!(t(h, b"& b"), b"& b");
        assert_eq!(t(h, b"&unknown;x"), b"&unknown;x");
        assert_eq!(t(h, b"&ltx"), b"&ltx");
        assert_eq!(t(h, b"&#99999999999999999999999;"), vec![0xff]);
        assert_eq!(t(h, b"&#256;"), vec![0x00]);
        assert!(is_borrowed(&h.apply(b"no entities")));
    }

    #[test]
    fn js_decode() {
        let j = Transform::JsDecode;
        assert_eq!(t(j, br"\x41\u0042\n\t\'"), b"AB\n\t'");
        assert_eq!(t(j, br"\uff1c"), b"<");
        assert_eq!(t(j, br"\101\60\0"), b"A0\0");
        assert_eq!(t(j, br"\477"), b"'7");
        assert_eq!(t(j, br"\x4"), b"x4");
        assert_eq!(t(j, br"\u12"), b"u12");
        assert_eq!(t(j, br"abc\"), br"abc\");
        assert_eq!(t(j, br"\\"), br"\");
        assert_eq!(t(j, br"\a\b\f\v\r"), b"\x07\x08\x0c\x0b\r");
    }

    #[test]
    fn css_decode() {
        let c = Transform::CssDecode;
        assert_eq!(t(c, br"\3c script\3E"), b"<script>");
        assert_eq!(t(c, br"\00003c"), b"<");
        assert_eq!(t(c, br"\ff1c"), b"<");
        assert_eq!(t(c, br"\6a avascript"), b"javascript");
        assert_eq!(t(c, br"ja\vascript"), b"javascript");
        assert_eq!(t(c, b"a\\\nb"), b"ab");
        assert_eq!(t(c, br"abc\"), b"abc");
        assert_eq!(t(c, br"\a"), vec![0x0a]);
        assert_eq!(t(c, br"\g"), b"g");
    }

    #[test]
    fn base64() {
        let d = Transform::Base64Decode;
        assert_eq!(t(d, b"SGVsbG8="), b"Hello");
        assert_eq!(t(d, b"SGVsbG8"), b"Hello");
        assert_eq!(t(d, b"SGVs bG8="), b"Hel");
        assert_eq!(t(d, b"S"), b"");
        assert_eq!(t(d, b"!!!"), b"");
        assert_eq!(t(d, b""), b"");
        let e = Transform::Base64DecodeExt;
        assert_eq!(t(e, b"SGV s\nbG8.="), b"Hello");
        assert_eq!(t(e, b"=S=G=V=s"), b"Hel");
        let enc = Transform::Base64Encode;
        assert_eq!(t(enc, b"Hello"), b"SGVsbG8=");
        assert_eq!(t(enc, b""), b"");
        assert_eq!(t(d, &t(enc, &[0, 0xff, 0x80, 7])), vec![0, 0xff, 0x80, 7]);
    }

    /// The byte-at-a-time decoder the grouped one must agree with.
    fn base64_decode_reference(input: &[u8], forgiving: bool) -> Vec<u8> {
        let (mut out, mut acc, mut bits) = (Vec::new(), 0u32, 0u32);
        for &b in input {
            let v = match b {
                b'A'..=b'Z' => b - b'A',
                b'a'..=b'z' => b - b'a' + 26,
                b'0'..=b'9' => b - b'0' + 52,
                b'+' => 62,
                b'/' => 63,
                _ if forgiving => continue,
                _ => break,
            };
            acc = (acc << 6 | u32::from(v)) & 0xffff;
            bits += 6;
            if bits >= 8 {
                bits -= 8;
                out.push((acc >> bits) as u8);
            }
        }
        out
    }

    #[test]
    fn base64_groups_decode_as_symbol_by_symbol() {
        let alphabet = b"AZaz09+/=. -\x00\xff";
        let mut rng = crate::TestRng(0x2545_f491_4f6c_dd1d);
        for n in 0..20_000 {
            let state = rng.next();
            let len = (state % 40) as usize;
            let input: Vec<u8> = (0..len)
                .map(|k| {
                    let r = state.rotate_left(k as u32 * 5);
                    // mostly valid symbols, so groups of four are common
                    if n % 3 == 0 || !r.is_multiple_of(8) {
                        b"ABCxyz0189+/"[(r % 12) as usize]
                    } else {
                        alphabet[(r % alphabet.len() as u64) as usize]
                    }
                })
                .collect();
            for forgiving in [false, true] {
                assert_eq!(
                    base64_decode(&input, forgiving),
                    base64_decode_reference(&input, forgiving),
                    "{:?} forgiving={forgiving}",
                    String::from_utf8_lossy(&input)
                );
            }
        }
    }

    #[test]
    fn hex() {
        let d = Transform::HexDecode;
        assert_eq!(t(d, b"414243"), b"ABC");
        assert_eq!(t(d, b"4142z3"), b"ABz3");
        assert_eq!(t(d, b"414"), b"A4");
        assert_eq!(t(d, b""), b"");
        assert_eq!(t(Transform::HexEncode, b"A\xff\x00"), b"41ff00");
        let s = Transform::SqlHexDecode;
        assert_eq!(t(s, b"SELECT 0x414243,0X61"), b"SELECT ABC,a");
        assert_eq!(t(s, b"0x4"), b"0x4");
        assert_eq!(t(s, b"0x"), b"0x");
        assert_eq!(t(s, b"0x414"), b"A4");
        assert_eq!(t(s, b"10x41"), b"1A");
        assert!(is_borrowed(&s.apply(b"no hex 0xzz")));
    }

    #[test]
    fn case() {
        assert_eq!(
            t(Transform::Lowercase, b"SeLeCT\xc3\x84"),
            b"select\xc3\x84"
        );
        assert_eq!(t(Transform::Uppercase, b"select"), b"SELECT");
        assert!(is_borrowed(&Transform::Lowercase.apply(b"already lower")));
    }

    #[test]
    fn paths() {
        assert_eq!(normalize_path(b"/a/b/../c/../../etc", false), b"/etc");
        assert_eq!(normalize_path(b"/../../etc/passwd", false), b"/etc/passwd");
        assert_eq!(normalize_path(b"/a//b/./c/", false), b"/a/b/c/");
        assert_eq!(normalize_path(b"/a/b/..", false), b"/a");
        assert_eq!(normalize_path(b"/..", false), b"/");
        assert_eq!(normalize_path(b"/", false), b"/");
        assert_eq!(normalize_path(b"//", false), b"/");
        assert_eq!(normalize_path(b"", false), b"");
        assert_eq!(normalize_path(b"../a/./b", false), b"../a/b");
        assert_eq!(normalize_path(b"a/../../b", false), b"../b");
        assert_eq!(normalize_path(b"./a", false), b"a");
        assert_eq!(
            normalize_path(br"\a\..\..\windows\win.ini", false),
            br"\a\..\..\windows\win.ini"
        );
        assert_eq!(
            normalize_path(br"\a\..\..\windows\win.ini", true),
            b"/windows/win.ini"
        );
        assert_eq!(normalize_path(br"c:\x\..\y", true), b"c:/y");
        let alias = Transform::from_name("normalisePath").unwrap_or(Transform::None);
        assert_eq!(t(alias, b"/x/../y"), b"/y");
        assert!(is_borrowed(&Transform::NormalizePath.apply(b"/clean/path")));
        assert!(is_borrowed(&Transform::NormalizePathWin.apply(b"/clean/")));
    }

    #[test]
    fn nulls_and_whitespace() {
        assert_eq!(t(Transform::RemoveNulls, b"a\0b\0"), b"ab");
        assert_eq!(t(Transform::ReplaceNulls, b"a\0b"), b"a b");
        let c = Transform::CompressWhitespace;
        assert_eq!(t(c, b"a \t\r\n\x0b\x0c\xa0b  c"), b"a b c");
        assert_eq!(t(c, b"a\tb"), b"a b");
        assert!(is_borrowed(&c.apply(b"a b c")));
        assert_eq!(t(Transform::RemoveWhitespace, b" a \t b\xa0c\x0b"), b"abc");
        assert_eq!(t(Transform::Trim, b" \t a b \r\n\x0b"), b"a b");
        assert_eq!(t(Transform::TrimLeft, b"  a  "), b"a  ");
        assert_eq!(t(Transform::TrimRight, b"  a  "), b"  a");
        assert_eq!(t(Transform::Trim, b"   "), b"");
        assert_eq!(t(Transform::Trim, b""), b"");
    }

    #[test]
    fn comments() {
        let r = Transform::ReplaceComments;
        assert_eq!(t(r, b"UNION/**/SELECT"), b"UNION SELECT");
        assert_eq!(t(r, b"a/*x*/b/*unterminated"), b"a b ");
        assert_eq!(t(r, b"a*/b"), b"a*/b");
        assert_eq!(t(r, b"/*"), b" ");
        let rm = Transform::RemoveComments;
        assert_eq!(t(rm, b"UNION/**/SELECT"), b"UNIONSELECT");
        assert_eq!(t(rm, b"1 OR 1=1-- x"), b"1 OR 1=1");
        assert_eq!(t(rm, b"1 OR 1=1# x\nAND 2"), b"1 OR 1=1\nAND 2");
        assert_eq!(t(rm, b"a<!-- c -->b"), b"ab");
        assert_eq!(t(rm, b"a/*b"), b"a ");
        assert!(is_borrowed(&rm.apply(b"a-b/c")));
        let rc = Transform::RemoveCommentsChar;
        assert_eq!(t(rc, b"a/*b*/c--d#e<!--f-->"), b"abcdef");
        assert_eq!(t(rc, b"-"), b"-");
    }

    #[test]
    fn cmd_line() {
        let c = Transform::CmdLine;
        assert_eq!(t(c, br#"C^"A"T /E\TC/P'A'SS"#), b"cat/etc/pass");
        assert_eq!(t(c, b"ls ,; \t-la"), b"ls -la");
        assert_eq!(t(c, b"echo  (x)"), b"echo(x)");
        assert_eq!(t(c, b"a ' b"), b"a b");
        assert!(is_borrowed(&c.apply(b"id")));
    }

    #[test]
    fn utf8_to_unicode() {
        let u = Transform::Utf8ToUnicode;
        assert_eq!(
            t(u, "a\u{e9}\u{20ac}\u{1f600}".as_bytes()),
            b"a%u00e9%u20ac%u1f600"
        );
        assert_eq!(t(u, b"a\xffb\xc3"), b"a\xffb\xc3");
        assert!(is_borrowed(&u.apply(b"ascii")));
    }

    #[test]
    fn length_and_digests() {
        assert_eq!(t(Transform::Length, b"hello"), b"5");
        assert_eq!(t(Transform::Length, b""), b"0");
        assert_eq!(
            t(Transform::Md5, b"abc"),
            t(Transform::HexDecode, b"900150983cd24fb0d6963f7d28e17f72")
        );
        assert_eq!(
            t(Transform::Sha1, b"abc"),
            t(
                Transform::HexDecode,
                b"a9993e364706816aba3e25717850c26c9cd0d89d"
            )
        );
    }

    #[test]
    fn escape_seq_decode() {
        let e = Transform::EscapeSeqDecode;
        assert_eq!(t(e, br#"\n\t\\\?\'\"\a"#), b"\n\t\\?'\"\x07");
        assert_eq!(t(e, br"\x41\X42\101\0"), b"AB\x41\0");
        assert_eq!(t(e, br"\777"), vec![0xff]);
        assert_eq!(t(e, br"\x4"), b"x4");
        assert_eq!(t(e, br"\q"), b"q");
        assert_eq!(t(e, br"end\"), br"end\");
    }

    #[test]
    fn url_encode() {
        let u = Transform::UrlEncode;
        assert_eq!(t(u, b"a b<*>\xff"), b"a+b%3c*%3e%ff");
        assert!(is_borrowed(&u.apply(b"abc123")));
        assert_eq!(
            t(Transform::UrlDecode, &t(u, b"x=1&y='\x00")),
            b"x=1&y='\x00"
        );
    }

    #[test]
    fn unicode_normalize() {
        let n = Transform::UnicodeNormalize;
        assert_eq!(t(n, "\u{ff1c}script\u{ff1e}".as_bytes()), b"<script>");
        assert_eq!(t(n, b"\xc0\xae\xc0\xae/"), b"../");
        assert_eq!(t(n, b"\xe0\x80\xae\xf0\x80\x80\xae"), b"..");
        assert_eq!(t(n, b"\xf8\x80\x80\x80\xae\xfc\x80\x80\x80\x80\xaf"), b"./");
        // a five-byte form of a code point that needs five is no overlong: left as it is
        assert_eq!(t(n, b"\xf8\x88\x80\x80\x80"), b"\xf8\x88\x80\x80\x80");
        assert_eq!(t(n, "a\u{2215}b\u{2044}c".as_bytes()), b"a/b/c");
        assert_eq!(t(n, "\u{fe64}x\u{fe65}".as_bytes()), b"<x>");
        // Untouched: other characters, truncated sequences, overlongs of non-ASCII.
        assert_eq!(
            t(n, "\u{e9}\u{20ac}".as_bytes()),
            "\u{e9}\u{20ac}".as_bytes()
        );
        assert_eq!(t(n, b"\xc0"), b"\xc0");
        assert_eq!(t(n, b"\xef\xbc"), b"\xef\xbc");
        assert_eq!(t(n, b"\xe0\x82\x80"), b"\xe0\x82\x80");
        assert!(is_borrowed(&n.apply("caf\u{e9}".as_bytes())));
    }

    /// The plain ones among `tries` random values of up to 23 bytes over an alphabet of
    /// plain bytes, capitals, spaces and commas included (xorshift from `seed`).
    fn random_plain_values(mut seed: u64, tries: usize) -> impl Iterator<Item = Vec<u8>> {
        let alphabet = b"abcXYZ019_@:, .-";
        (0..tries).filter_map(move |_| {
            let len = (seed % 24) as usize;
            let mut v = Vec::with_capacity(len);
            for _ in 0..len {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                v.push(alphabet[(seed % alphabet.len() as u64) as usize]);
            }
            is_plain(&v).then_some(v)
        })
    }

    #[test]
    fn steps_said_at_most_to_lowercase_a_plain_value_do_no_more() {
        let mut lowered = [false; 2];
        for v in random_plain_values(0x9e37_79b9_7f4a_7c15, 5000) {
            let traits = PlainTraits::of(&v);
            let lower = v.to_ascii_lowercase();
            assert!(is_plain(&lower));
            for t in Transform::ALL {
                let out = t.apply(&v);
                if t.at_most_lowercases_plain_with(traits) {
                    assert!(
                        out.as_ref() == &v[..] || out.as_ref() == &lower[..],
                        "{t:?} on {:?} gave {:?}",
                        String::from_utf8_lossy(&v),
                        String::from_utf8_lossy(&out)
                    );
                }
                if out.as_ref() != &v[..] && out.as_ref() == &lower[..] {
                    if let Some(k) = [Transform::Lowercase, Transform::CmdLine]
                        .iter()
                        .position(|s| *s == t)
                    {
                        lowered[k] = true;
                    }
                }
            }
        }
        assert_eq!(
            lowered, [true; 2],
            "both lowercasing steps were seen lowercasing"
        );
        // a comma is what cmdLine changes besides capitals
        let traits = PlainTraits::of(b"a,B");
        assert!(!Transform::CmdLine.at_most_lowercases_plain_with(traits));
        assert_eq!(Transform::CmdLine.apply(b"a,B").as_ref(), b"a b");
        assert!(!Transform::Base64Decode.at_most_lowercases_plain_with(PlainTraits::default()));
    }

    #[test]
    fn identity_on_plain_with_traits_is_true() {
        // every step that a plain value's traits say leaves it as it is does, for real;
        // and each named step changes some plain value that has the trait
        let mut changed = [false; 3];
        for v in random_plain_values(0x2545_f491_4f6c_dd1d, 5000) {
            let traits = PlainTraits::of(&v);
            assert_eq!(PlainTraits::from_index(traits.index()), traits);
            for t in Transform::ALL {
                let same = t.apply(&v).as_ref() == &v[..];
                if t.identity_on_plain_with(traits) {
                    assert!(same, "{t:?} changed {:?}", String::from_utf8_lossy(&v));
                }
                let steps = [
                    Transform::Lowercase,
                    Transform::RemoveWhitespace,
                    Transform::CmdLine,
                ];
                if let Some(k) = steps.iter().position(|s| *s == t) {
                    changed[k] |= !same;
                }
            }
        }
        assert_eq!(changed, [true; 3], "the traits matter to each step");
        for (value, step) in [
            (&b"ab,c"[..], Transform::CmdLine),
            (b"aBc", Transform::CmdLine),
            (b"aBc", Transform::Lowercase),
            (b"a b", Transform::RemoveWhitespace),
        ] {
            assert!(is_plain(value), "{value:?}");
            assert_ne!(step.apply(value).as_ref(), value);
            assert!(
                !step.identity_on_plain_with(PlainTraits::of(value)),
                "{step:?}"
            );
        }
    }

    #[test]
    fn identity_on_plain_is_true() {
        // every transform that claims it must leave plain values untouched, for real
        for v in random_plain_values(0x9e37_79b9_7f4a_7c15, 3000) {
            for t in Transform::ALL {
                if t.identity_on_plain() {
                    assert_eq!(
                        t.apply(&v).as_ref(),
                        &v[..],
                        "{t:?} changed {:?}",
                        String::from_utf8_lossy(&v)
                    );
                }
            }
        }
        assert!(is_plain(b"Trail running shoe model 12"));
        assert!(is_plain(b"items.12.sku"));
        assert!(is_plain(b"jane.doe@example.com"));
        assert!(!is_plain(b"a..b"));
        assert!(!is_plain(b"a--b"));
        assert!(!is_plain(b"a  b"));
        assert!(!is_plain(b"a%41"));
    }

    #[test]
    fn apply_all_chains_and_borrows() {
        let p = vec![
            Transform::UrlDecodeUni,
            Transform::None,
            Transform::HtmlEntityDecode,
            Transform::Lowercase,
        ];
        assert_eq!(apply_all(&p, b"%26LT;SCRIPT%3e").as_ref(), b"<script>");
        assert!(is_borrowed(&apply_all(&p, b"clean")));
        assert!(is_borrowed(&apply_all(&[], b"x")));
    }

    /// The branch-free `removeWhitespace` and its vectorized check agree with the byte
    /// definition on every byte value, at every position and length.
    #[test]
    fn remove_whitespace_is_the_filter() {
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        for len in 0..200 {
            for _ in 0..20 {
                let input: Vec<u8> = (0..len)
                    .map(|_| {
                        x ^= x << 13;
                        x ^= x >> 7;
                        x ^= x << 17;
                        // half whitespace of every kind, half any byte
                        let ws = [b' ', b'\t', b'\n', 0x0b, 0x0c, b'\r', 0xa0];
                        if x & 1 == 0 {
                            ws[(x >> 8) as usize % ws.len()]
                        } else {
                            (x >> 16) as u8
                        }
                    })
                    .collect();
                let want: Vec<u8> = input.iter().copied().filter(|&b| !is_ws_nbsp(b)).collect();
                assert_eq!(has_ws_nbsp(&input), want.len() != input.len());
                assert_eq!(t(Transform::RemoveWhitespace, &input), want);
            }
        }
        for b in 0..=255u8 {
            assert_eq!(WS_NBSP[usize::from(b)], is_ws_nbsp(b), "{b:#x}");
        }
    }

    #[test]
    fn cache_reuses_prefixes() {
        let mut cache = TransformCache::new();
        let ab = [Transform::UrlDecode, Transform::Lowercase];
        let abc = [
            Transform::UrlDecode,
            Transform::Lowercase,
            Transform::RemoveWhitespace,
        ];
        let v1 = cache.get(1, &ab, b"A%20B");
        assert_eq!(&*v1, b"a b");
        let n = cache.len();
        let v2 = cache.get(1, &abc, b"A%20B");
        assert_eq!(&*v2, b"ab");
        assert_eq!(cache.len(), n + 1, "only the new step is computed");
        let v3 = cache.get(1, &ab, b"A%20B");
        assert!(Arc::ptr_eq(&v1, &v3));
        // None entries are ignored.
        let v4 = cache.get(
            1,
            &[Transform::None, Transform::UrlDecode, Transform::Lowercase],
            b"A%20B",
        );
        assert!(Arc::ptr_eq(&v1, &v4));
        // Another value is independent.
        assert_eq!(&*cache.get(2, &ab, b"X"), b"x");
        assert_eq!(&*cache.get(3, &[], b"raw"), b"raw");
        // Trims borrow a sub-slice: still a change.
        assert_eq!(&*cache.get(4, &[Transform::Trim], b"  x "), b"x");
        assert_eq!(
            &*cache.get(4, &[Transform::Trim, Transform::Uppercase], b"  x "),
            b"X"
        );
        assert_eq!(
            apply_all(&[Transform::Lowercase, Transform::Trim], b" A ").as_ref(),
            b"a"
        );
        cache.clear();
        assert!(cache.is_empty());
    }

    /// The bytes the decoders care about, for random inputs biased towards them.
    const SPECIAL: &[u8] = b"%u+&#;x\\/.*-<!>0123456789abcdefABCDEFuU= \t\n\r\"'^\x00\xa0\xc0\xc1\xe0\xe2\xef\xf0\x80\x81\xae\xbc\xbd\xff";

    /// xorshift64*: small deterministic PRNG for the totality test.
    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
        }
    }

    #[test]
    fn every_transform_is_total_on_random_bytes() {
        // Biased towards the bytes the decoders care about.
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
        for _ in 0..3000 {
            let len = (rng.next() % 48) as usize;
            let input: Vec<u8> = (0..len)
                .map(|_| {
                    let r = rng.next();
                    if r & 1 == 0 {
                        SPECIAL[(r >> 8) as usize % SPECIAL.len()]
                    } else {
                        (r >> 8) as u8
                    }
                })
                .collect();
            for tr in Transform::ALL {
                let out = tr.apply(&input);
                let trims = [Transform::Trim, Transform::TrimLeft, Transform::TrimRight];
                if is_borrowed(&out) && !trims.contains(&tr) {
                    // Borrowed means unchanged.
                    assert_eq!(out.as_ref(), input.as_slice(), "{}", tr.name());
                }
            }
            let _ = normalize_path(&input, true);
            let _ = apply_all(&Transform::ALL, &input);
        }
    }

    /// The byte-at-a-time `urlDecode`/`urlDecodeUni` that the indexed one must agree with.
    fn url_decode_reference(input: &[u8], uni: bool) -> Vec<u8> {
        let mut out = Vec::new();
        let mut i = 0;
        while let Some(&b) = input.get(i) {
            if b == b'%' && uni && matches!(input.get(i + 1), Some(b'u' | b'U')) {
                match hex_quad(input, i + 2) {
                    Some(code) => {
                        out.push(unicode_low_byte(u32::from(code)));
                        i += 6;
                    }
                    None => {
                        out.extend_from_slice(&input[i..i + 2]);
                        i += 2;
                    }
                }
            } else if b == b'%' {
                match hex_pair(input, i + 1) {
                    Some(v) => {
                        out.push(v);
                        i += 3;
                    }
                    None => {
                        out.push(b'%');
                        i += 1;
                    }
                }
            } else {
                out.push(if b == b'+' { b' ' } else { b });
                i += 1;
            }
        }
        out
    }

    #[test]
    fn url_decode_agrees_with_the_byte_at_a_time_reference() {
        const PIECES: &[&[u8]] = &[
            b"%", b"%4", b"%41", b"%4g", b"%u", b"%U", b"%u004", b"%u0041", b"%uff0e", b"%u2215",
            b"+", b"a", b"Z", b" ", b"\xff", b"%%", b"%u%41", b"%2B",
        ];
        let mut rng = Rng(0x5851_f42d_4c95_7f2d);
        for _ in 0..20_000 {
            let mut input = Vec::new();
            for _ in 0..rng.next() % 10 {
                input.extend_from_slice(PIECES[(rng.next() % PIECES.len() as u64) as usize]);
            }
            for uni in [false, true] {
                let out = super::url_decode(&input, uni);
                assert_eq!(
                    out.as_ref(),
                    &url_decode_reference(&input, uni)[..],
                    "{:?} uni={uni}",
                    String::from_utf8_lossy(&input)
                );
            }
        }
    }

    #[test]
    fn transforms_said_never_to_lengthen_a_value_do_not() {
        // random bytes biased towards what the decoders read, and whole escapes of every
        // kind: no result of a `never_lengthens` step is longer than its input
        const PIECES: &[&[u8]] = &[
            b"%u0041",
            b"%uff0e",
            b"%u2215",
            b"%41",
            b"%",
            b"+",
            b"&lt;",
            b"&nbsp",
            b"&#x3c;",
            b"&#60",
            b"&colon;",
            b"\\u0041",
            b"\\x41",
            b"\\101",
            b"\\n",
            b"\\41 ",
            b"/*",
            b"*/",
            b"<!--",
            b"-->",
            b"--",
            b"#",
            b"./",
            b"../",
            b"//",
            b"\\",
            b"0x41",
            b"SGVsbG8=",
            b"\xef\xbc\x8e",
            b"\xc0\xae",
            b"\xe2\x88\x95",
            b"\xf8\x80\x80\x80\xae",
            b"\xc2\xa0",
        ];
        let mut rng = Rng(0x2545_f491_4f6c_dd1d);
        let lengthening: Vec<Transform> = Transform::ALL
            .into_iter()
            .filter(|t| !t.never_lengthens())
            .collect();
        assert_eq!(lengthening.len(), 7, "{lengthening:?}");
        for _ in 0..20_000 {
            let mut input = Vec::new();
            for _ in 0..rng.next() % 12 {
                let r = rng.next();
                match r % 3 {
                    0 => input.extend_from_slice(PIECES[(r >> 8) as usize % PIECES.len()]),
                    1 => input.push(SPECIAL[(r >> 8) as usize % SPECIAL.len()]),
                    _ => input.push((r >> 8) as u8),
                }
            }
            for tr in Transform::ALL.into_iter().filter(|t| t.never_lengthens()) {
                let out = tr.apply(&input);
                assert!(
                    Some(out.len()) <= tr.max_output_len(input.len()),
                    "{} made {:?} longer than its bound",
                    tr.name(),
                    String::from_utf8_lossy(&input),
                );
                assert!(
                    out.len() <= input.len(),
                    "{} lengthened {:?} to {:?}",
                    tr.name(),
                    String::from_utf8_lossy(&input),
                    String::from_utf8_lossy(&out)
                );
            }
        }
        // (base64's bound is what a value of symbols alone decodes to)
        for n in 0..12 {
            let symbols = vec![b'Q'; n];
            let decoded = Transform::Base64Decode.apply(&symbols).len();
            assert_eq!(Some(decoded), Transform::Base64Decode.max_output_len(n));
        }
        // and the others can
        for (tr, input) in [
            (Transform::Base64Encode, &b"a"[..]),
            (Transform::HexEncode, b"a"),
            (Transform::Utf8ToUnicode, "é".as_bytes()),
            (Transform::Length, b""),
            (Transform::Md5, b""),
            (Transform::Sha1, b""),
            (Transform::UrlEncode, b"<"),
        ] {
            assert!(tr.apply(input).len() > input.len(), "{}", tr.name());
        }
    }

    #[test]
    fn base64_text_s_first_group_check_turns_away_only_what_the_decoders_do() {
        // base64 of text (ASCII and multi-byte, from every offset of a character), split
        // and spaced; prose; words; random symbols: the answer with the check is the
        // answer without it
        let mut rng = crate::TestRng(0x0bad_5eed_1234_5678);
        let texts = [
            "<script>alert(1)</script>",
            "ünïcödé téxt ½ — “quoted” 日本語のテキスト",
            "' or 1=1 -- ",
            "\tline\nbreaks\r\n",
        ];
        let mut values: Vec<Vec<u8>> = Vec::new();
        for text in texts {
            for skip in 0..6 {
                let bytes = &text.as_bytes()[skip.min(text.len())..];
                for encoded in [
                    base64_encode(bytes),
                    base64_encode(bytes).replace('+', "-").replace('/', "_"),
                ] {
                    values.push(encoded.clone().into_bytes());
                    let mut spaced = encoded.into_bytes();
                    for _ in 0..3 {
                        let at = (rng.next() % (spaced.len() as u64 + 1)) as usize;
                        spaced.insert(at, b" .\n="[(rng.next() % 4) as usize]);
                    }
                    values.push(spaced);
                }
            }
        }
        for _ in 0..3000 {
            values.push(rng.bytes_from(b"abcdefghijklmnopqrstuvwxyzABCXYZ0189+/-_= .", 40));
        }
        for prose in [
            "Trail running shoe model 17",
            "Please deliver to the side door",
            "jane.doe@example.com",
        ] {
            values.push(prose.as_bytes().to_vec());
        }
        let mut decoded = 0;
        for v in &values {
            let whole = v
                .get(..BASE64_TEXT_MIN_LEN)
                .and_then(|head| base64_text_past_its_first_group(v, head));
            assert_eq!(base64_text(v), whole, "{}", String::from_utf8_lossy(v));
            decoded += usize::from(whole.is_some());
        }
        // decoding occurs: the answers compared are not all None
        assert!(decoded >= 40, "{decoded}");
    }

    fn base64_encode(bytes: &[u8]) -> String {
        const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        let mut out = String::new();
        for chunk in bytes.chunks(3) {
            let n = chunk
                .iter()
                .enumerate()
                .fold(0u32, |n, (i, &b)| n | u32::from(b) << (16 - 8 * i));
            for i in 0..=chunk.len() {
                out.push(A[(n >> (18 - 6 * i) & 63) as usize] as char);
            }
        }
        while !out.len().is_multiple_of(4) {
            out.push('=');
        }
        out
    }

    #[test]
    fn base64_text_decodes_text_and_nothing_else() {
        let text = |v: &str| base64_text(v.as_bytes()).map(|t| String::from_utf8(t).unwrap());
        // padded, unpadded, URL-safe: the payload comes back
        assert_eq!(text("JyBPUiAxPTEgLS0=").as_deref(), Some("' OR 1=1 --"));
        assert_eq!(text("JyBPUiAxPTEgLS0").as_deref(), Some("' OR 1=1 --"));
        assert_eq!(
            text("PHN2Zy9vbmxvYWQ9YWxlcnQoMSk-").as_deref(),
            Some("<svg/onload=alert(1)>")
        );
        assert_eq!(
            text("PHN2Zy9vbmxvYWQ9YWxlcnQoMSk+").as_deref(),
            Some("<svg/onload=alert(1)>")
        );
        assert_eq!(
            text("MSB1bmlvbiBzZWxlY3QgMiwz").as_deref(),
            Some("1 union select 2,3")
        );
        // whitespace between symbols is skipped, as lenient decoders skip it
        assert_eq!(text("JyBPUiAxPTEg LS0=").as_deref(), Some("' OR 1=1 --"));
        assert_eq!(
            text("PHN2 Zy9v bmxv YWQ9 YWxl cnQo MSk+").as_deref(),
            Some("<svg/onload=alert(1)>")
        );
        assert_eq!(
            text("MSB1bmlvbiBz\r\nZWxl\x0bY3QgMiwz\n").as_deref(),
            Some("1 union select 2,3")
        );
        // not base64 text: too short, outside the alphabet, impossible length, mixed
        // alphabets, random bytes (a hex session id, a token), a word of impossible
        // length, prose
        // other separators lenient decoders skip: a dot, `=` in the middle, extra
        // padding, a no-break space
        for v in [
            "JyBPUiAx.PTEgLS0=",
            "JyBP=UiAxPTEgLS0=",
            "JyBPUiAxPTEgLS0==",
            "JyBPUiAx\u{a0}PTEgLS0=",
        ] {
            assert_eq!(text(v).as_deref(), Some("' OR 1=1 --"), "{v:?}");
        }
        for v in [
            "JyBPUiA=",
            "JyBP UiA=",
            "JyBPUiAxPTEgLS0a1",
            "PHN2Zy9vbmxvYWQ9YWxlcnQoMSk+_",
            "3f2a9c1e7b6d4a58e0c1",
            "q83vEjRWeJq83vEjRWeJq83vEjRWeJ",
            "correcthorsebatterystaple",
            "correct horse battery staple",
            "Trail running shoe model 17",
            "Please deliver to the side door and ring the bell twice",
            "Hello team I would like to change the delivery address for my last order",
            "Hello, I'd like to change the delivery address of order A10293.",
            "jane.doe@example.com",
            "https://www.example.com/products/trail-shoes?size=42",
            "2026-12-02T03:45:00.000Z",
            "Müller-Lüdenscheidt",
        ] {
            assert_eq!(text(v), None, "{v}");
        }
        // random prose of letters and spaces: nearly always turned away by its first
        // twelve symbols (a value that got further would still need all of it to decode
        // to printable text)
        let words = [
            "delivery", "Order", "team", "the", "42", "blue", "x", "Shoe", "AND", "order.", "I'd",
            "a@b.io", "-", "e.g.",
        ];
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        let mut decoded = 0;
        for _ in 0..5_000 {
            let mut v = String::new();
            for _ in 0..8 {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                v.push_str(words[(state % words.len() as u64) as usize]);
                v.push(' ');
            }
            decoded += usize::from(text(v.trim_end()).is_some());
        }
        assert_eq!(decoded, 0);
    }
}
