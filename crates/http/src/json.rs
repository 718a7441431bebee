//! The JSON body flattener: one pass over the bytes, straight to named leaves.
//!
//! Every scalar becomes an argument named by its path (`user.address.city`, `items.0.sku`;
//! a scalar document is named `json`), in document order, duplicate keys kept. Strings are
//! unescaped; numbers keep their text as sent (`1e2` stays `1e2`, as ModSecurity reports
//! them); `true`/`false` are their words and `null` is empty. The grammar is strict RFC 8259
//! (a WAF must not see a different document than the application), with two allowances: a
//! leading UTF-8 byte order mark is skipped, and nesting deeper than [`MAX_DEPTH`] is an
//! error rather than a stack overflow (containers are tracked on an explicit stack).
//!
//! Written by hand rather than through a generic deserializer because it runs over every
//! JSON request body: no intermediate values, unescaped strings borrowed when they hold no
//! escape, array indices written without formatting machinery.

use crate::model::Arg;
use crate::small::{ArgName, ArgValue};

/// Deepest nesting of arrays and objects accepted (serde_json's default limit).
pub const MAX_DEPTH: usize = 128;

/// Why flattening stopped. Leaves read before the error are kept by the caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JsonError {
    /// More than the caller's leaf limit.
    TooManyLeaves,
    /// Not JSON: what was wrong and the byte offset where it was noticed.
    Syntax { message: &'static str, at: usize },
}

/// Appends the leaves of the JSON document `raw` to `args`, stopping with an error once
/// `args` would exceed `max_leaves`.
pub fn flatten(raw: &[u8], max_leaves: usize, args: &mut Vec<Arg>) -> Result<(), JsonError> {
    let mut f = Flattener {
        raw,
        pos: 0,
        // (room for a few segments and `push_short`'s 16-byte writes: most paths never
        // grow it)
        path: String::with_capacity(64),
        arrays: Vec::new(),
        args,
        max_leaves,
    };
    // About one leaf per comma: reserving up front saves growing a large vector by
    // copying it several times (memchr counts them with vector instructions).
    let commas = memchr::memchr_iter(b',', raw).count();
    f.args
        .reserve((commas + 1).min(max_leaves.saturating_sub(f.args.len())));
    if f.raw.starts_with(b"\xef\xbb\xbf") {
        f.pos = 3;
    }
    f.document()
}

enum Frame {
    /// Inside an object; the path length before this object's key segment.
    Object { base: usize },
    /// Inside an array (its state is the last of `Flattener::arrays`).
    Array,
}

/// An open array, for finding leaves whose names repeat an earlier element's.
struct OpenArray {
    /// The path length before the index segment, and after it.
    base: usize,
    index_end: usize,
    index: usize,
    /// Index in `args` of the first leaf of element 0, and how many leaves element 0 had
    /// (known once element 1 starts).
    first_leaf: usize,
    width: usize,
    /// Index in `args` of the first leaf of the current element.
    element_start: usize,
}

struct Flattener<'r, 'a> {
    raw: &'r [u8],
    pos: usize,
    path: String,
    /// Open arrays, innermost last.
    arrays: Vec<OpenArray>,
    args: &'a mut Vec<Arg>,
    max_leaves: usize,
}

impl<'r> Flattener<'r, '_> {
    fn error<T>(&self, message: &'static str) -> Result<T, JsonError> {
        Err(JsonError::Syntax {
            message,
            at: self.pos,
        })
    }

    #[inline(always)]
    fn skip_whitespace(&mut self) {
        // (called five times per leaf, nearly always at a byte that is no whitespace: one
        // comparison says so, as every JSON whitespace byte is at most a space)
        if self.raw.get(self.pos).is_some_and(|&b| b > b' ') {
            return;
        }
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.raw.get(self.pos) {
            self.pos += 1;
        }
    }

    fn peek(&self) -> Option<u8> {
        self.raw.get(self.pos).copied()
    }

    fn document(&mut self) -> Result<(), JsonError> {
        let mut stack: Vec<Frame> = Vec::new();
        'value: loop {
            self.skip_whitespace();
            match self.peek() {
                Some(open @ (b'{' | b'[')) => {
                    self.pos += 1;
                    self.skip_whitespace();
                    let object = open == b'{';
                    if self.peek() == Some(if object { b'}' } else { b']' }) {
                        // empty: no leaf
                        self.pos += 1;
                    } else {
                        if stack.len() >= MAX_DEPTH {
                            return self.error("nesting too deep");
                        }
                        let base = self.path.len();
                        if object {
                            stack.push(Frame::Object { base });
                            self.key()?;
                        } else {
                            stack.push(Frame::Array);
                            push_index(&mut self.path, 0);
                            self.arrays.push(OpenArray {
                                base,
                                index_end: self.path.len(),
                                index: 0,
                                first_leaf: self.args.len(),
                                width: 0,
                                element_start: self.args.len(),
                            });
                        }
                        continue 'value;
                    }
                }
                Some(b'"') => match self.plain_string() {
                    Some(value) => self.leaf(value)?,
                    None => {
                        let value = self.string_general()?;
                        self.leaf_owned(value)?;
                    }
                },
                Some(b't') => self.word(b"true", b"true")?,
                Some(b'f') => self.word(b"false", b"false")?,
                Some(b'n') => self.word(b"null", b"")?,
                Some(b'-' | b'0'..=b'9') => {
                    let start = self.pos;
                    self.number()?;
                    self.leaf(&self.raw[start..self.pos])?;
                }
                Some(_) => return self.error("expected a value"),
                None => return self.error("end of input while expecting a value"),
            }
            // A value ended: close every container it completes, or move to the next slot.
            loop {
                self.skip_whitespace();
                match stack.last_mut() {
                    None => {
                        return if self.pos == self.raw.len() {
                            Ok(())
                        } else {
                            self.error("trailing characters after the document")
                        };
                    }
                    Some(Frame::Object { base }) => {
                        truncate_path(&mut self.path, *base);
                        match self.peek() {
                            Some(b',') => {
                                self.pos += 1;
                                self.skip_whitespace();
                                self.key()?;
                                continue 'value;
                            }
                            Some(b'}') => {
                                self.pos += 1;
                                stack.pop();
                            }
                            Some(_) => return self.error("expected `,` or `}` in an object"),
                            None => return self.error("end of input inside an object"),
                        }
                    }
                    Some(Frame::Array) => {
                        let next = self.peek();
                        let leaves = self.args.len();
                        let Some(array) = self.arrays.last_mut() else {
                            return self.error("internal: array state lost");
                        };
                        truncate_path(&mut self.path, array.base);
                        match next {
                            Some(b',') => {
                                self.pos += 1;
                                if array.index == 0 {
                                    array.width = leaves - array.first_leaf;
                                }
                                array.index += 1;
                                array.element_start = leaves;
                                push_index(&mut self.path, array.index);
                                array.index_end = self.path.len();
                                continue 'value;
                            }
                            Some(b']') => {
                                self.pos += 1;
                                stack.pop();
                                self.arrays.pop();
                            }
                            Some(_) => return self.error("expected `,` or `]` in an array"),
                            None => return self.error("end of input inside an array"),
                        }
                    }
                }
            }
        }
    }

    /// An object key and its `:`; the key is appended to the path as a segment.
    #[inline(always)]
    fn key(&mut self) -> Result<(), JsonError> {
        if self.peek() != Some(b'"') {
            return self.error("expected a string key");
        }
        if !self.path.is_empty() {
            self.path.push('.');
        }
        // A key from the fast path is printable ASCII, UTF-8 as it is (no check per key,
        // which cost ~70 instructions apiece on short keys, nor of the whole document);
        // others (escaped or non-ASCII, always valid UTF-8) are checked on their own.
        match self.plain_string() {
            Some(key) => {
                // SAFETY: `plain_string` returns only bytes 0x20..=0x7f (STRING_PLAIN, and
                // `sse2::first_stop` stops at every other byte), each a UTF-8 character:
                // the path stays UTF-8.
                push_short(unsafe { self.path.as_mut_vec() }, key, self.raw);
            }
            None => {
                let key = self.string_general()?;
                self.path
                    .push_str(std::str::from_utf8(&key).unwrap_or_default());
            }
        }
        self.skip_whitespace();
        if self.peek() != Some(b':') {
            return self.error("expected `:` after a key");
        }
        self.pos += 1;
        Ok(())
    }

    #[inline(always)]
    fn leaf(&mut self, value: &[u8]) -> Result<(), JsonError> {
        self.leaf_with(|slot| slot.set(value))
    }

    fn leaf_owned(&mut self, value: Vec<u8>) -> Result<(), JsonError> {
        self.leaf_with(|slot| slot.set_vec(value))
    }

    /// Appends a leaf named by the current path, its value written by `set_value`.
    #[inline(always)]
    fn leaf_with(&mut self, set_value: impl FnOnce(&mut ArgValue)) -> Result<(), JsonError> {
        if self.args.len() >= self.max_leaves {
            return Err(JsonError::TooManyLeaves);
        }
        let name_repeats = self.earlier_leaf_named_alike();
        let name = if self.path.is_empty() {
            "json"
        } else {
            &self.path
        };
        // Written into its slot rather than pushed: `push` builds the 64-byte argument on
        // the stack (its growing path is a call) and copies it in wider pieces than it was
        // written in, which the processor cannot forward from its store buffer (a stall per
        // leaf, ~6% of a 700-leaf order's time). For the same reason the name and value
        // are copied into the slot's own bytes, not built first and moved there.
        self.args.reserve(1);
        let len = self.args.len();
        // (`reserve(1)` leaves room for one: the slot is always there)
        if let Some(slot) = self.args.spare_capacity_mut().first_mut() {
            let arg = slot.write(Arg {
                name: ArgName::new(),
                value: ArgValue::new(),
                name_repeats,
            });
            arg.name.set(name);
            set_value(&mut arg.value);
            // SAFETY: the element at `len` was just written, within the capacity.
            unsafe { self.args.set_len(len + 1) };
        }
        Ok(())
    }

    /// An earlier leaf whose name is the current path but for the index of an enclosing
    /// array: the leaf at the same place in element 0 of that array, when the rest of its
    /// name is the same bytes (elements of one shape, the common case; anything else gets
    /// None). Bytes, not structure: `[[5],{"0":6}]` names `0.0` and `1.0` alike.
    #[inline(always)]
    fn earlier_leaf_named_alike(&self) -> Option<u32> {
        let here = self.args.len();
        for array in self.arrays.iter().rev() {
            if array.index == 0 {
                continue;
            }
            let offset = here - array.element_start;
            if offset >= array.width {
                continue;
            }
            let candidate = array.first_leaf + offset;
            let earlier = &self.args[candidate].name;
            // both are `prefix.INDEX.rest` with the same prefix: compare the rests
            let sep = usize::from(array.base > 0);
            let rest_here = self.path.as_bytes().get(array.index_end..);
            let rest_earlier = earlier.as_bytes().get(array.base + sep + 1..);
            let same = match (rest_here, rest_earlier) {
                (Some(here), Some(earlier)) => same_short_bytes(here, earlier),
                _ => false,
            };
            if same {
                let first = self.args[candidate]
                    .name_repeats
                    .unwrap_or(candidate as u32);
                return Some(first);
            }
        }
        None
    }

    fn word(&mut self, word: &[u8], value: &[u8]) -> Result<(), JsonError> {
        if !self.raw[self.pos..].starts_with(word) {
            return self.error("invalid literal");
        }
        self.pos += word.len();
        self.leaf(value)
    }

    /// Checks the number grammar from `pos` (`-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?`).
    fn number(&mut self) -> Result<(), JsonError> {
        let digits = |f: &mut Self| {
            let start = f.pos;
            while f.peek().is_some_and(|b| b.is_ascii_digit()) {
                f.pos += 1;
            }
            f.pos > start
        };
        if self.peek() == Some(b'-') {
            self.pos += 1;
        }
        match self.peek() {
            Some(b'0') => self.pos += 1,
            Some(b'1'..=b'9') => {
                digits(self);
            }
            _ => return self.error("invalid number"),
        }
        if self.peek() == Some(b'.') {
            self.pos += 1;
            if !digits(self) {
                return self.error("invalid number: no digit after `.`");
            }
        }
        if let Some(b'e' | b'E') = self.peek() {
            self.pos += 1;
            if let Some(b'+' | b'-') = self.peek() {
                self.pos += 1;
            }
            if !digits(self) {
                return self.error("invalid number: no digit in the exponent");
            }
        }
        Ok(())
    }

    /// The string starting at `pos` (a `"`) when it is what most strings are, printable
    /// ASCII with no escape (then valid UTF-8 and its own unescaped value); else None
    /// with `pos` unchanged, for [`Self::string_general`].
    ///
    /// Inlined, and a slice rather than a `Result<Cow>`: returned from a call, such a
    /// result went through memory, written in 8-byte pieces and read back in a 16-byte one
    /// that the processor cannot forward from its store buffer (a stall per string, ~18% of
    /// the flattener's time).
    #[inline(always)]
    fn plain_string(&mut self) -> Option<&'r [u8]> {
        let raw = self.raw;
        let start = self.pos + 1;
        let i = plain_run_end(raw, start);
        if raw.get(i) == Some(&b'"') {
            self.pos = i + 1;
            Some(&raw[start..i])
        } else {
            None
        }
    }

    /// The string starting at `pos` (a `"`), unescaped; always valid UTF-8.
    #[inline(never)]
    fn string_general(&mut self) -> Result<Vec<u8>, JsonError> {
        let raw = self.raw;
        self.pos += 1;
        let mut out: Vec<u8> = Vec::with_capacity(32);
        loop {
            let Some(off) = memchr::memchr2(b'"', b'\\', &raw[self.pos..]) else {
                self.pos = raw.len();
                return self.error("end of input inside a string");
            };
            let chunk = &raw[self.pos..self.pos + off];
            if chunk.iter().any(|&b| b < 0x20) {
                return self.error("control character inside a string");
            }
            out.extend_from_slice(chunk);
            self.pos += off;
            if raw[self.pos] == b'"' {
                self.pos += 1;
                // Escapes only add valid UTF-8, so checking the whole result checks the
                // raw chunks.
                if std::str::from_utf8(&out).is_err() {
                    return self.error("invalid UTF-8 inside a string");
                }
                return Ok(out);
            }
            self.pos += 1;
            self.escape(&mut out)?;
        }
    }

    /// The escape whose letter is at `pos` (after `\`).
    fn escape(&mut self, out: &mut Vec<u8>) -> Result<(), JsonError> {
        let Some(c) = self.peek() else {
            return self.error("end of input inside an escape");
        };
        self.pos += 1;
        let simple = match c {
            b'"' => b'"',
            b'\\' => b'\\',
            b'/' => b'/',
            b'b' => 0x08,
            b'f' => 0x0c,
            b'n' => b'\n',
            b'r' => b'\r',
            b't' => b'\t',
            b'u' => {
                let hi = self.hex4()?;
                let code = match hi {
                    0xd800..=0xdbff => {
                        if self.raw.get(self.pos..self.pos + 2) != Some(b"\\u") {
                            return self.error("lone leading surrogate in a \\u escape");
                        }
                        self.pos += 2;
                        let lo = self.hex4()?;
                        if !(0xdc00..=0xdfff).contains(&lo) {
                            return self.error("invalid trailing surrogate in a \\u escape");
                        }
                        0x10000 + ((hi - 0xd800) << 10) + (lo - 0xdc00)
                    }
                    0xdc00..=0xdfff => {
                        return self.error("lone trailing surrogate in a \\u escape")
                    }
                    other => other,
                };
                let Some(ch) = char::from_u32(code) else {
                    return self.error("invalid \\u escape");
                };
                let mut buf = [0u8; 4];
                out.extend_from_slice(ch.encode_utf8(&mut buf).as_bytes());
                return Ok(());
            }
            _ => return self.error("invalid escape"),
        };
        out.push(simple);
        Ok(())
    }

    fn hex4(&mut self) -> Result<u32, JsonError> {
        let Some(digits) = self.raw.get(self.pos..self.pos + 4) else {
            return self.error("end of input inside a \\u escape");
        };
        let mut code = 0u32;
        for &d in digits {
            let v = match d {
                b'0'..=b'9' => d - b'0',
                b'a'..=b'f' => d - b'a' + 10,
                b'A'..=b'F' => d - b'A' + 10,
                _ => return self.error("invalid hex digit in a \\u escape"),
            };
            code = code * 16 + u32::from(v);
        }
        self.pos += 4;
        Ok(code)
    }
}

/// Bytes [`Flattener::string`]'s fast path takes as they are: printable ASCII (and DEL)
/// but `"` and `\`.
static STRING_PLAIN: [bool; 256] = {
    let mut t = [false; 256];
    let mut b = 0x20;
    while b < 0x80 {
        t[b] = true;
        b += 1;
    }
    t[b'"' as usize] = false;
    t[b'\\' as usize] = false;
    t
};

/// The offset of the first byte from `from` on that [`STRING_PLAIN`] does not take (`"`,
/// `\`, a control character, a non-ASCII byte), or `raw.len()`.
fn plain_run_end(raw: &[u8], from: usize) -> usize {
    let mut i = from;
    // Sixteen bytes at a time where SSE2 is there (every x86-64): names, prose and ids
    // pass in a few vector operations per block instead of a lookup and branch per byte.
    #[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
    while let Some(block) = raw
        .get(i..i + 16)
        .and_then(|b| <&[u8; 16]>::try_from(b).ok())
    {
        // SAFETY: the build targets SSE2 (checked by the cfg above).
        match unsafe { sse2::first_stop(block) } {
            Some(k) => return i + k,
            None => i += 16,
        }
    }
    while raw.get(i).is_some_and(|&b| STRING_PLAIN[b as usize]) {
        i += 1;
    }
    i
}

#[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
mod sse2 {
    use std::arch::x86_64::{
        _mm_cmpeq_epi8, _mm_cmpgt_epi8, _mm_loadu_si128, _mm_movemask_epi8, _mm_or_si128,
        _mm_set1_epi8,
    };

    /// The first of the sixteen bytes of `block` that a string's fast path stops at: `"`,
    /// `\`, below 0x20 or from 0x80 up.
    #[inline]
    #[target_feature(enable = "sse2")]
    pub(super) fn first_stop(block: &[u8; 16]) -> Option<usize> {
        // SAFETY: an unaligned load of exactly the 16 bytes of the array.
        let v = unsafe { _mm_loadu_si128(block.as_ptr().cast()) };
        // signed: bytes from 0x80 up are negative, so below 0x20 too
        let control_or_high = _mm_cmpgt_epi8(_mm_set1_epi8(0x20), v);
        let quote = _mm_cmpeq_epi8(v, _mm_set1_epi8(b'"' as i8));
        let backslash = _mm_cmpeq_epi8(v, _mm_set1_epi8(b'\\' as i8));
        let stops = _mm_movemask_epi8(_mm_or_si128(
            control_or_high,
            _mm_or_si128(quote, backslash),
        ));
        (stops != 0).then(|| stops.trailing_zeros() as usize)
    }
}

/// `a == b` for the few bytes of a name's rest (`.sku`), compared in line (the general
/// comparison is a call into `memcmp`, longer than such a comparison itself): up to eight
/// bytes as two overlapping four-byte words, up to three byte by byte.
#[inline]
fn same_short_bytes(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let n = a.len();
    let word = |s: &[u8], at: usize| {
        s.get(at..at + 4)
            .map(|w| u32::from_ne_bytes([w[0], w[1], w[2], w[3]]))
    };
    match n {
        0 => true,
        // (0, n/2 and n-1 are every position of up to three)
        1..=3 => a[0] == b[0] && a[n / 2] == b[n / 2] && a[n - 1] == b[n - 1],
        4..=8 => word(a, 0) == word(b, 0) && word(a, n - 4) == word(b, n - 4),
        _ => a.iter().zip(b).all(|(x, y)| x == y),
    }
}

/// Cuts `path` back to `len`, a length it had before (`String::truncate` checks that `len`
/// is on a character boundary: a load, compare and branch per value closed).
#[inline(always)]
fn truncate_path(path: &mut String, len: usize) {
    debug_assert!(path.is_char_boundary(len));
    // SAFETY: `len` is a length the path had earlier (an object's or array's base, recorded
    // before a segment was appended), so the bytes kept are a whole UTF-8 string.
    unsafe { path.as_mut_vec() }.truncate(len);
}

/// Appends `bytes`, a part of `raw`, to `path`. An object key is a few bytes: where 16
/// bytes can be read from its start (the document goes on past it) and written at the end
/// of `path` (within its capacity), they are copied as one 16-byte move and the length set
/// to the key's. `extend_from_slice` calls `memcpy` for a length not known when compiling,
/// a call as long as the rest of reading the key (~30 instructions per key).
#[inline(always)]
fn push_short(path: &mut Vec<u8>, bytes: &[u8], raw: &[u8]) {
    const BLOCK: usize = 16;
    let len = path.len();
    let start = (bytes.as_ptr() as usize).wrapping_sub(raw.as_ptr() as usize);
    let source = raw.get(start..start.wrapping_add(BLOCK));
    match source {
        Some(source) if bytes.len() <= BLOCK && path.capacity() - len >= BLOCK => {
            debug_assert_eq!(&source[..bytes.len()], bytes);
            // SAFETY: `source` is 16 readable bytes and the vector has room for 16 more
            // after its length (checked above); the bytes past `bytes.len()` are written to
            // spare capacity, outside the vector's contents. `source` starts with `bytes`
            // (`bytes` is the part of `raw` at offset `start`), so the new contents are the
            // old ones followed by `bytes`.
            unsafe {
                std::ptr::copy_nonoverlapping(source.as_ptr(), path.as_mut_ptr().add(len), BLOCK);
                path.set_len(len + bytes.len());
            }
        }
        _ => path.extend_from_slice(bytes),
    }
}

/// Appends the array index segment `index` to `path`.
fn push_index(path: &mut String, index: usize) {
    if !path.is_empty() {
        path.push('.');
    }
    let mut digits = [0u8; 20];
    let mut n = index;
    let mut i = digits.len();
    loop {
        i -= 1;
        digits[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    // (a byte at a time: `from_utf8` on the digits cost ~110 instructions per element, and
    // `String::push` encodes each as a char)
    // SAFETY: ASCII digits are UTF-8.
    let path = unsafe { path.as_mut_vec() };
    for &d in &digits[i..] {
        path.push(d);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    type Leaves = Vec<(String, Vec<u8>)>;

    fn leaves(raw: &[u8]) -> (Leaves, Result<(), JsonError>) {
        let mut args = Vec::new();
        let r = flatten(raw, 10_000, &mut args);
        (
            args.into_iter()
                .map(|a| (a.name.into(), a.value.into()))
                .collect(),
            r,
        )
    }

    fn ok(raw: &str) -> Vec<(String, String)> {
        let (args, r) = leaves(raw.as_bytes());
        assert_eq!(r, Ok(()), "{raw}");
        args.into_iter()
            .map(|(n, v)| (n, String::from_utf8(v).unwrap()))
            .collect()
    }

    fn pairs(p: &[(&str, &str)]) -> Vec<(String, String)> {
        p.iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect()
    }

    #[test]
    fn numbers_keep_their_text() {
        assert_eq!(
            ok(r#"[1e2, -0, 0.50, 12345678901234567890123, -1.5E-3]"#),
            pairs(&[
                ("0", "1e2"),
                ("1", "-0"),
                ("2", "0.50"),
                ("3", "12345678901234567890123"),
                ("4", "-1.5E-3")
            ])
        );
    }

    #[test]
    fn escapes_are_decoded() {
        assert_eq!(
            ok(r#"{"k\u00e9y":"a\"b\\c\/d\b\f\n\r\t\u0041\ud83d\ude00"}"#),
            pairs(&[("kéy", "a\"b\\c/d\u{8}\u{c}\n\r\tA\u{1f600}")])
        );
        assert_eq!(ok("\u{feff}[1]"), pairs(&[("0", "1")]));
        // an empty key is an empty segment (named `json` when the whole path is empty)
        assert_eq!(ok(r#"{"":{"":1}}"#), pairs(&[("json", "1")]));
        assert_eq!(ok(r#"{"a":{"":1}}"#), pairs(&[("a.", "1")]));
    }

    #[test]
    fn malformed_documents_are_errors_with_earlier_leaves_kept() {
        for bad in [
            "",
            " ",
            "{",
            "[",
            "[1,]",
            "{\"a\":1,}",
            "{\"a\" 1}",
            "{a:1}",
            "[01]",
            "[1.]",
            "[.5]",
            "[1e]",
            "[-]",
            "[+1]",
            "[tru]",
            "[nul]",
            "[\"a\nb\"]",
            "[\"\\x\"]",
            "[\"\\u12\"]",
            "[\"\\ud83d\"]",
            "[\"\\ude00\"]",
            "[\"\\ud83d\\u0041\"]",
            "\"abc",
            "[1] [2]",
            "{} x",
            "[1}",
            "{\"a\":1]",
            "'a'",
            "NaN",
            "[Infinity]",
        ] {
            let (_, r) = leaves(bad.as_bytes());
            assert!(matches!(r, Err(JsonError::Syntax { .. })), "{bad:?}: {r:?}");
        }
        let (args, r) = leaves(br#"{"a":"x","b":[1,2,oops]}"#);
        assert!(r.is_err());
        assert_eq!(
            args,
            vec![
                ("a".to_string(), b"x".to_vec()),
                ("b.0".to_string(), b"1".to_vec()),
                ("b.1".to_string(), b"2".to_vec())
            ]
        );
        let (_, r) = leaves(b"[\"\xff\"]");
        assert!(r.is_err());
        // invalid UTF-8 further on: the leaves before it keep their names
        let (args, r) = leaves(b"{\"order\":{\"id\":7},\"note\":\"\xff\"}");
        assert!(r.is_err());
        assert_eq!(args, vec![("order.id".to_string(), b"7".to_vec())]);
    }

    #[test]
    fn names_are_utf8_whatever_the_bytes_and_wherever_parsing_stops() {
        // Keys reach the path unchecked when the fast path takes them: arbitrary bytes in
        // and around keys must still leave only UTF-8 names, also on the leaves kept
        // before an error.
        let mut rng = crate::TestRng(0x5be0_cd19_137e_2179);
        let pieces: [&[u8]; 12] = [
            b"{\"",
            b"\":",
            b"\"",
            b",",
            b"}",
            b"[",
            b"]",
            b"1",
            b"ab",
            b"\xc3\xa9",
            b"\xff",
            b"\\u00e9",
        ];
        let mut leaves_seen = 0;
        for _ in 0..20_000 {
            let mut doc = Vec::new();
            for _ in 0..(rng.next() % 24) {
                doc.extend_from_slice(pieces[(rng.next() % pieces.len() as u64) as usize]);
            }
            let mut args = Vec::new();
            let _ = flatten(&doc, 1000, &mut args);
            for arg in &args {
                assert!(std::str::from_utf8(arg.name.as_bytes()).is_ok(), "{doc:?}");
            }
            leaves_seen += args.len();
        }
        assert!(leaves_seen > 1000, "{leaves_seen}");
    }

    #[test]
    fn short_byte_comparison_is_equality() {
        let mut rng = crate::TestRng(0x1f83_d9ab_fb41_bd6b);
        for _ in 0..20_000 {
            let a = rng.bytes_from(b"ab.", 12);
            let mut b = a.clone();
            if rng.next().is_multiple_of(2) && !b.is_empty() {
                let at = (rng.next() % b.len() as u64) as usize;
                b[at] = b"ab."[(rng.next() % 3) as usize];
            }
            if rng.next().is_multiple_of(8) {
                b.push(b'a');
            }
            assert_eq!(same_short_bytes(&a, &b), a == b, "{a:?} {b:?}");
        }
    }

    #[test]
    fn depth_is_limited_without_recursion() {
        let ok_depth = format!("{}1{}", "[".repeat(MAX_DEPTH), "]".repeat(MAX_DEPTH));
        let (args, r) = leaves(ok_depth.as_bytes());
        assert_eq!(r, Ok(()));
        assert_eq!(args.len(), 1);
        let too_deep = format!(
            "{}1{}",
            "[".repeat(MAX_DEPTH + 1),
            "]".repeat(MAX_DEPTH + 1)
        );
        assert!(leaves(too_deep.as_bytes()).1.is_err());
        assert!(leaves("{\"a\":".repeat(100_000).as_bytes()).1.is_err());
    }

    #[test]
    fn leaf_limit() {
        let mut args = Vec::new();
        assert_eq!(
            flatten(b"[1,2,3,4]", 3, &mut args),
            Err(JsonError::TooManyLeaves)
        );
        assert_eq!(args.len(), 3);
    }

    /// The flattening as first written, through serde_json's deserializer: the oracle for
    /// generated documents (numbers are generated in forms both print the same way).
    mod oracle {
        use std::borrow::Cow;
        use std::fmt;

        use serde::de::{self, DeserializeSeed, MapAccess, SeqAccess, Visitor};

        pub fn flatten(raw: &[u8]) -> Result<Vec<(String, Vec<u8>)>, String> {
            flatten_with_templates(raw).map(|(leaves, _)| leaves)
        }

        /// Also each leaf's template: its path with keys tagged and array indices left
        /// out, so two leaves share one exactly when their names differ only in indices.
        #[allow(clippy::type_complexity)]
        pub fn flatten_with_templates(
            raw: &[u8],
        ) -> Result<(Vec<(String, Vec<u8>)>, Vec<String>), String> {
            let mut out = Vec::new();
            let mut templates = Vec::new();
            let mut path = String::new();
            let mut template = String::new();
            let mut de = serde_json::Deserializer::from_slice(raw);
            Node {
                out: &mut out,
                templates: &mut templates,
                path: &mut path,
                template: &mut template,
            }
            .deserialize(&mut de)
            .and_then(|()| de.end())
            .map_err(|e| e.to_string())?;
            Ok((out, templates))
        }

        struct Node<'s> {
            out: &'s mut Vec<(String, Vec<u8>)>,
            templates: &'s mut Vec<String>,
            path: &'s mut String,
            template: &'s mut String,
        }

        impl Node<'_> {
            fn leaf<E>(self, v: Vec<u8>) -> Result<(), E> {
                let name = if self.path.is_empty() {
                    "json".to_string()
                } else {
                    self.path.clone()
                };
                self.out.push((name, v));
                self.templates.push(self.template.clone());
                Ok(())
            }
        }

        impl<'de> DeserializeSeed<'de> for Node<'_> {
            type Value = ();
            fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
                d.deserialize_any(self)
            }
        }

        impl<'de> Visitor<'de> for Node<'_> {
            type Value = ();
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<(), E> {
                self.leaf(if v {
                    b"true".to_vec()
                } else {
                    b"false".to_vec()
                })
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<(), E> {
                self.leaf(v.to_string().into_bytes())
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<(), E> {
                self.leaf(v.to_string().into_bytes())
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<(), E> {
                self.leaf(v.to_string().into_bytes())
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<(), E> {
                self.leaf(v.as_bytes().to_vec())
            }
            fn visit_unit<E: de::Error>(self) -> Result<(), E> {
                self.leaf(Vec::new())
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
                let mut index = 0usize;
                loop {
                    let len = self.path.len();
                    if !self.path.is_empty() {
                        self.path.push('.');
                    }
                    self.path.push_str(&index.to_string());
                    let template_len = self.template.len();
                    self.template.push_str("/i");
                    let item = seq.next_element_seed(Node {
                        out: &mut *self.out,
                        templates: &mut *self.templates,
                        path: &mut *self.path,
                        template: &mut *self.template,
                    });
                    self.path.truncate(len);
                    self.template.truncate(template_len);
                    match item? {
                        Some(()) => index += 1,
                        None => return Ok(()),
                    }
                }
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
                while let Some(key) = map.next_key::<Cow<'de, str>>()? {
                    let len = self.path.len();
                    if !self.path.is_empty() {
                        self.path.push('.');
                    }
                    self.path.push_str(&key);
                    let template_len = self.template.len();
                    self.template.push_str(&format!("/k{}:{key}", key.len()));
                    let value = map.next_value_seed(Node {
                        out: &mut *self.out,
                        templates: &mut *self.templates,
                        path: &mut *self.path,
                        template: &mut *self.template,
                    });
                    self.path.truncate(len);
                    self.template.truncate(template_len);
                    value?;
                }
                Ok(())
            }
        }
    }

    /// A small deterministic generator of JSON documents (and of their corruptions).
    struct Gen(crate::TestRng);

    impl Gen {
        fn next(&mut self) -> u64 {
            self.0.next()
        }
        fn below(&mut self, n: u64) -> u64 {
            self.next() % n
        }
        fn string(&mut self, out: &mut String) {
            const PIECES: &[&str] = &[
                "a",
                "Z",
                "9",
                " ",
                "'",
                "<",
                ">",
                "é",
                "日本",
                "😀",
                "\\\"",
                "\\\\",
                "\\/",
                "\\n",
                "\\t",
                "\\u0041",
                "\\u00e9",
                "\\ud83d\\ude00",
                ".",
                "-",
                "_",
                "%27",
                "\\u0000",
            ];
            out.push('"');
            for _ in 0..self.below(6) {
                out.push_str(PIECES[self.below(PIECES.len() as u64) as usize]);
            }
            out.push('"');
        }
        fn value(&mut self, depth: u32, out: &mut String) {
            let ws = |g: &mut Gen, out: &mut String| {
                for _ in 0..g.below(3) {
                    out.push([' ', '\n', '\t', '\r'][g.below(4) as usize]);
                }
            };
            ws(self, out);
            match self.below(if depth > 4 { 5 } else { 8 }) {
                0 => self.string(out),
                1 => out.push_str(&(self.next() as i64 >> self.below(60)).to_string()),
                2 => out.push_str(["true", "false", "null"][self.below(3) as usize]),
                3 => out.push_str(["0.5", "-2.25", "1.5", "100.125"][self.below(4) as usize]),
                4 => self.string(out),
                5 | 6 => {
                    out.push('{');
                    for i in 0..self.below(4) {
                        if i > 0 {
                            out.push(',');
                        }
                        ws(self, out);
                        self.string(out);
                        ws(self, out);
                        out.push(':');
                        self.value(depth + 1, out);
                    }
                    out.push('}');
                }
                _ => {
                    out.push('[');
                    for i in 0..self.below(4) {
                        if i > 0 {
                            out.push(',');
                        }
                        self.value(depth + 1, out);
                    }
                    out.push(']');
                }
            }
            ws(self, out);
        }
    }

    /// Asserts that `doc` gives serde_json's leaves, or is rejected as serde_json rejects
    /// it; returns whether it is valid JSON.
    fn agrees_with_serde_json(doc: &[u8]) -> bool {
        let (ours, result) = leaves(doc);
        let shown = String::from_utf8_lossy(doc);
        match oracle::flatten(doc) {
            Ok(expected) => {
                assert_eq!(result, Ok(()), "{shown}");
                assert_eq!(ours, expected, "{shown}");
                true
            }
            Err(e) => {
                assert!(
                    result.is_err(),
                    "serde_json rejects ({e}) but we accept: {shown}"
                );
                false
            }
        }
    }

    #[test]
    fn agrees_with_serde_json_on_generated_documents() {
        let mut g = Gen(crate::TestRng(0x9e37_79b9_7f4a_7c15));
        let (mut valid, mut invalid) = (0, 0);
        for _ in 0..4000 {
            let mut doc = String::new();
            g.value(0, &mut doc);
            let mut bytes = doc.into_bytes();
            // Half of them corrupted: a byte replaced, removed or the tail cut.
            if g.below(2) == 0 && !bytes.is_empty() {
                let at = g.below(bytes.len() as u64) as usize;
                match g.below(3) {
                    0 => bytes[at] = b"{}[],:\"\\x1 "[g.below(11) as usize],
                    1 => {
                        bytes.remove(at);
                    }
                    _ => bytes.truncate(at),
                }
            }
            if agrees_with_serde_json(&bytes) {
                valid += 1;
            } else {
                invalid += 1;
            }
        }
        // both kinds were exercised in quantity
        assert!(
            valid > 1000 && invalid > 500,
            "{valid} valid, {invalid} invalid"
        );
    }

    #[test]
    fn strings_agree_with_serde_json_whatever_byte_ends_the_fast_path_where() {
        // A byte that stops the fast path (or does not) at every offset of strings long
        // enough for its 16-byte blocks, in keys and in values.
        let inserts: [&[u8]; 9] = [
            b"\"", // ends the string early: what follows is then a syntax error
            b"\\n",
            b"\\u00e9",
            b"\\\"",
            b"\x01",
            b"\x1f",
            "é".as_bytes(),
            b"\xff",
            b"\x7f",
        ];
        let base = b"abcdefghijklmnopqrstuvwxyz 0123456789 ABCDEFGHIJ";
        for insert in inserts {
            for at in 0..=base.len() {
                let mut text = base.to_vec();
                text.splice(at..at, insert.iter().copied());
                for key in [false, true] {
                    let mut doc = Vec::new();
                    if key {
                        doc.extend_from_slice(b"{\"");
                        doc.extend_from_slice(&text);
                        doc.extend_from_slice(b"\":1}");
                    } else {
                        doc.extend_from_slice(b"{\"k\":\"");
                        doc.extend_from_slice(&text);
                        doc.extend_from_slice(b"\"}");
                    }
                    agrees_with_serde_json(&doc);
                }
            }
        }
    }

    #[test]
    fn keys_of_every_length_agree_with_serde_json_at_every_depth_and_place() {
        // Keys around the 16-byte copy's bounds, in paths short and long enough to grow
        // the path's buffer, and last in the document (fewer than 16 bytes after them).
        for len in 0..40 {
            let key: String = (0..len)
                .map(|i| char::from(b'a' + (i % 26) as u8))
                .collect();
            for depth in [1, 2, 5, 12] {
                let mut doc = String::new();
                for d in 0..depth {
                    doc.push_str(&format!("{{\"{key}{d}\":"));
                }
                doc.push('1');
                doc.push_str(&"}".repeat(depth));
                assert!(agrees_with_serde_json(doc.as_bytes()), "{doc}");
                // the same keys before another leaf, and the bare key last
                let doc = format!("{{\"{key}\":[{{\"{key}\":2,\"x\":3}}],\"{key}\":4}}");
                assert!(agrees_with_serde_json(doc.as_bytes()), "{doc}");
            }
        }
    }

    fn repeats(raw: &str) -> Vec<Option<u32>> {
        let mut args = Vec::new();
        assert_eq!(flatten(raw.as_bytes(), 10_000, &mut args), Ok(()), "{raw}");
        args.into_iter().map(|a| a.name_repeats).collect()
    }

    #[test]
    fn names_differing_only_in_array_indices_point_to_the_first() {
        // items.0.a, items.0.b.c, items.1.a, items.1.b.c, items.2.a, items.2.b.c
        assert_eq!(
            repeats(r#"{"items":[{"a":1,"b":{"c":2}},{"a":3,"b":{"c":4}},{"a":5,"b":{"c":6}}]}"#),
            [None, None, Some(0), Some(1), Some(0), Some(1)]
        );
        // nested arrays: 0.0 0.1 1.0 1.1 all one template
        assert_eq!(repeats("[[1,2],[3,4]]"), [None, Some(0), Some(0), Some(0)]);
        // elements of another shape, and object keys that are digits, never count
        assert_eq!(repeats(r#"[{"a":1},{"b":2}]"#), [None, None]);
        assert_eq!(repeats(r#"{"1":{"x":1},"2":{"x":2}}"#), [None, None]);
        // same bytes but for the index, whatever the rest is made of
        assert_eq!(repeats(r#"[[5],{"0":6}]"#), [None, Some(0)]);
        assert_eq!(
            repeats(r#"{"a":[{"k":1}],"b":[{"k":1},{"k":2}]}"#),
            [None, None, Some(1)]
        );
        // the earlier leaf is found in the previous elements' first one even when later
        // elements differ in length
        assert_eq!(
            repeats(r#"[{"a":1,"b":2},{"a":3},{"x":4,"b":5}]"#),
            [None, None, Some(0), None, Some(1)]
        );
    }

    /// Whether `a` and `b` are the same `.`-separated segments but for segments that are
    /// digits in both (indices of enclosing arrays, or digit keys).
    fn alike_but_digits(a: &[u8], b: &[u8]) -> bool {
        let digits = |s: &[u8]| !s.is_empty() && s.iter().all(u8::is_ascii_digit);
        let (sa, sb): (Vec<&[u8]>, Vec<&[u8]>) = (
            a.split(|&c| c == b'.').collect(),
            b.split(|&c| c == b'.').collect(),
        );
        sa.len() == sb.len()
            && sa
                .iter()
                .zip(&sb)
                .all(|(x, y)| x == y || (digits(x) && digits(y)))
    }

    #[test]
    fn name_repeats_agree_with_the_names_on_generated_documents() {
        // Sound: a leaf said to repeat another has the same name but for index digits, and
        // that one repeats nothing; in generated documents (no digit
        // keys next to arrays) also the same template. Useful: in documents made of arrays
        // of same-shaped objects, every element but the first repeats.
        let mut g = Gen(crate::TestRng(0x2545_f491_4f6c_dd1d));
        let (mut said, mut checked) = (0, 0);
        for round in 0..3000 {
            let mut doc = String::new();
            if round % 3 == 0 {
                // an array of objects of one shape, values random
                let mut keys = Vec::new();
                for _ in 0..1 + g.below(4) {
                    let mut k = String::new();
                    g.string(&mut k);
                    keys.push(k);
                }
                doc.push('[');
                for i in 0..2 + g.below(4) {
                    if i > 0 {
                        doc.push(',');
                    }
                    doc.push('{');
                    for (j, k) in keys.iter().enumerate() {
                        if j > 0 {
                            doc.push(',');
                        }
                        doc.push_str(k);
                        doc.push(':');
                        g.value(3, &mut doc);
                    }
                    doc.push('}');
                }
                doc.push(']');
            } else {
                g.value(0, &mut doc);
            }
            let Ok((_, templates)) = oracle::flatten_with_templates(doc.as_bytes()) else {
                continue;
            };
            let mut args = Vec::new();
            assert_eq!(flatten(doc.as_bytes(), 10_000, &mut args), Ok(()), "{doc}");
            for (i, a) in args.iter().enumerate() {
                checked += 1;
                let Some(k) = a.name_repeats else { continue };
                said += 1;
                let k = k as usize;
                assert!(k < i, "{doc}");
                assert!(
                    alike_but_digits(args[k].name.as_bytes(), a.name.as_bytes()),
                    "{doc}: leaf {i} said to repeat {k}"
                );
                assert_eq!(
                    templates[k], templates[i],
                    "{doc}: leaf {i} said to repeat {k}"
                );
                assert_eq!(args[k].name_repeats, None, "{doc}");
            }
        }
        assert!(
            said > 2000 && checked > 10_000,
            "{said} repeats of {checked} leaves"
        );
    }

    #[test]
    fn uniform_arrays_repeat_every_later_element() {
        let doc = format!(
            "[{}]",
            (0..12)
                .map(|i| format!(r#"{{"sku":"S{i}","tags":["a","b"],"dim":{{"w":{i},"h":2}}}}"#))
                .collect::<Vec<_>>()
                .join(",")
        );
        let r = repeats(&doc);
        // per element: sku, tags.0, tags.1, dim.w, dim.h
        assert_eq!(&r[..5], [None, None, Some(1), None, None]);
        for (i, x) in r.iter().enumerate().skip(5) {
            let first = [0, 1, 1, 3, 4][i % 5];
            assert_eq!(*x, Some(first), "leaf {i}");
        }
    }
}
