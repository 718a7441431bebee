//! Owned bytes and text that keep short contents inline: the types of an argument's name
//! and value ([`crate::Arg`]).
//!
//! A request model holds hundreds of arguments (a 20 KB JSON order has ~700 leaves), and
//! most of their names (`items.7.sku`) and many of their values (ids, numbers, flags) are
//! a few bytes long. As `String`/`Vec<u8>` each was an allocation to make, copy into and
//! free again: two per leaf, about half of what flattening such an order cost. Here a
//! content of up to `N` bytes lives in the value itself; a longer one is one exactly sized
//! heap block. Both read as a plain slice (`Deref`), so code that looks at arguments does
//! not care which.

use std::borrow::Borrow;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::ops::Deref;

/// Inline capacity of an argument name (the type is 24 bytes, as a `String` is).
pub const NAME_INLINE: usize = 22;
/// Inline capacity of an argument value (the type is 32 bytes).
pub const VALUE_INLINE: usize = 30;

/// An argument name.
pub type ArgName = SmallStr<NAME_INLINE>;
/// An argument value.
pub type ArgValue = SmallBytes<VALUE_INLINE>;

/// Owned bytes, inline up to `N` (at most 255) bytes.
#[derive(Clone)]
pub struct SmallBytes<const N: usize>(Repr<N>);

#[derive(Clone)]
enum Repr<const N: usize> {
    Inline { len: u8, bytes: [u8; N] },
    Heap(Box<[u8]>),
}

impl<const N: usize> SmallBytes<N> {
    const FITS_U8: () = assert!(N <= u8::MAX as usize, "inline length is a u8");

    /// Empty (inline).
    pub const fn new() -> Self {
        #[allow(clippy::let_unit_value)]
        let () = Self::FITS_U8;
        SmallBytes(Repr::Inline {
            len: 0,
            bytes: [0; N],
        })
    }

    /// A copy of `bytes`: inline when it fits, else one heap block of its length.
    #[inline]
    pub fn from_slice(bytes: &[u8]) -> Self {
        #[allow(clippy::let_unit_value)]
        let () = Self::FITS_U8;
        if bytes.len() <= N {
            SmallBytes(Repr::Inline {
                len: bytes.len() as u8,
                bytes: copy_short(bytes),
            })
        } else {
            SmallBytes(Repr::Heap(bytes.into()))
        }
    }

    /// Replaces the contents with a copy of `bytes`, in place. Building an argument where
    /// it is stored and then setting its name and value this way writes each byte once:
    /// returning a new value from [`Self::from_slice`] copies it again, and that copy
    /// reads in wider pieces than the short copy wrote it in, which the processor cannot
    /// forward from its store buffer (a stall per argument).
    ///
    /// The inline case is inlined into the caller (a call per JSON leaf cost more than the
    /// copy); a heap block is made out of line.
    #[inline(always)]
    pub fn set(&mut self, bytes: &[u8]) {
        match &mut self.0 {
            Repr::Inline { len, bytes: inline } if bytes.len() <= N => {
                copy_short_into(inline, bytes);
                *len = bytes.len() as u8;
            }
            _ => self.set_long(bytes),
        }
    }

    #[inline(never)]
    fn set_long(&mut self, bytes: &[u8]) {
        *self = Self::from_slice(bytes);
    }

    /// [`Self::set`] from a vector, whose block is kept when the contents do not fit inline.
    #[inline]
    pub fn set_vec(&mut self, bytes: Vec<u8>) {
        if bytes.len() <= N {
            self.set(&bytes);
        } else {
            *self = Self::from(bytes);
        }
    }

    #[inline]
    pub fn as_slice(&self) -> &[u8] {
        match &self.0 {
            Repr::Inline { len, bytes } => {
                debug_assert!(usize::from(*len) <= N);
                // SAFETY: `len` is set only in `new` (0), `from_slice` and `set`, each time
                // to the length of bytes that fit (`<= N`). Read on every use of an
                // argument's name or value: without the bounds check a read is a branch
                // less (thousands per JSON order).
                unsafe { bytes.get_unchecked(..usize::from(*len)) }
            }
            Repr::Heap(b) => b,
        }
    }

    /// The contents as a vector (copied when inline).
    pub fn into_vec(self) -> Vec<u8> {
        match self.0 {
            Repr::Inline { len, bytes } => bytes[..usize::from(len)].to_vec(),
            Repr::Heap(b) => b.into_vec(),
        }
    }

    /// Whether the contents are on the heap (for tests of the representation).
    #[cfg(test)]
    fn is_heap(&self) -> bool {
        matches!(self.0, Repr::Heap(_))
    }
}

/// `bytes` (at most `N` long) at the start of an otherwise zeroed array. Up to 32 bytes as
/// two overlapping fixed-size copies, which compile to a few moves: a general copy of a
/// variable length is a call into `memcpy`, longer than the copy itself for an argument
/// name.
#[inline(always)]
fn copy_short<const N: usize>(bytes: &[u8]) -> [u8; N] {
    let mut out = [0; N];
    copy_short_into(&mut out, bytes);
    out
}

/// Writes `bytes` (at most `N` long) at the start of `out`, as [`copy_short`] does; the
/// rest of `out` is left as it was. (Public for the vectorized checks that copy a short
/// value into a zeroed block: `copy_from_slice` of a variable length is a `memcpy` call.)
#[inline(always)]
pub fn copy_short_into<const N: usize>(out: &mut [u8; N], bytes: &[u8]) {
    #[inline(always)]
    fn overlapping<const W: usize, const N: usize>(out: &mut [u8; N], bytes: &[u8]) {
        let len = bytes.len();
        let (head, tail) = (&bytes[..W], &bytes[len - W..]);
        out[..W].copy_from_slice(head);
        out[len - W..len].copy_from_slice(tail);
    }
    let len = bytes.len();
    if N > 32 {
        out[..len].copy_from_slice(bytes);
    } else if len >= 16 {
        overlapping::<16, N>(out, bytes);
    } else if len >= 8 {
        overlapping::<8, N>(out, bytes);
    } else if len >= 4 {
        overlapping::<4, N>(out, bytes);
    } else if len > 0 {
        // 1 to 3 bytes: the first, the middle and the last cover them
        out[0] = bytes[0];
        out[len / 2] = bytes[len / 2];
        out[len - 1] = bytes[len - 1];
    }
}

/// `bytes` (at most 8) as a little-endian word, zero-padded: read with overlapping loads
/// straight into a register. (Copied into a zeroed buffer first, the word's load waits for
/// the copy's stores to retire: a store-forwarding stall per short value, which hashing
/// and the vectorized checks meet on most of a request's values.)
#[inline(always)]
pub fn le_word(bytes: &[u8]) -> u64 {
    let n = bytes.len();
    debug_assert!(n <= 8, "le_word reads at most 8 bytes");
    if let Ok(all) = <[u8; 8]>::try_from(bytes) {
        return u64::from_le_bytes(all);
    }
    match (bytes.first_chunk::<4>(), bytes.last_chunk::<4>()) {
        (Some(first), Some(last)) => {
            u64::from(u32::from_le_bytes(*first))
                | u64::from(u32::from_le_bytes(*last)) << ((n - 4) * 8)
        }
        _ if n == 0 => 0,
        _ => {
            u64::from(bytes[0])
                | u64::from(bytes[n / 2]) << (n / 2 * 8)
                | u64::from(bytes[n - 1]) << ((n - 1) * 8)
        }
    }
}

/// `bytes` (at most 16) as two little-endian words (low, high), zero-padded, as
/// [`le_word`] reads them.
#[inline(always)]
pub fn le_words(bytes: &[u8]) -> (u64, u64) {
    match bytes.split_first_chunk::<8>() {
        Some((low, rest)) => (u64::from_le_bytes(*low), le_word(rest)),
        None => (le_word(bytes), 0),
    }
}

impl<const N: usize> Default for SmallBytes<N> {
    fn default() -> Self {
        Self::new()
    }
}

impl<const N: usize> Deref for SmallBytes<N> {
    type Target = [u8];
    #[inline]
    fn deref(&self) -> &[u8] {
        self.as_slice()
    }
}

impl<const N: usize> Borrow<[u8]> for SmallBytes<N> {
    fn borrow(&self) -> &[u8] {
        self.as_slice()
    }
}

impl<const N: usize> From<&[u8]> for SmallBytes<N> {
    fn from(bytes: &[u8]) -> Self {
        Self::from_slice(bytes)
    }
}

impl<const N: usize, const K: usize> From<&[u8; K]> for SmallBytes<N> {
    fn from(bytes: &[u8; K]) -> Self {
        Self::from_slice(bytes)
    }
}

impl<const N: usize> From<&str> for SmallBytes<N> {
    fn from(text: &str) -> Self {
        Self::from_slice(text.as_bytes())
    }
}

impl<const N: usize> From<Vec<u8>> for SmallBytes<N> {
    /// Short contents move inline (the vector is freed); long ones keep the vector's
    /// block, shrunk to fit.
    fn from(bytes: Vec<u8>) -> Self {
        if bytes.len() <= N {
            Self::from_slice(&bytes)
        } else {
            SmallBytes(Repr::Heap(bytes.into_boxed_slice()))
        }
    }
}

impl<const N: usize> From<SmallBytes<N>> for Vec<u8> {
    fn from(bytes: SmallBytes<N>) -> Self {
        bytes.into_vec()
    }
}

impl<const N: usize> fmt::Debug for SmallBytes<N> {
    /// As text where it is UTF-8 (what an argument value nearly always is), else as bytes.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match std::str::from_utf8(self) {
            Ok(text) => write!(f, "b{text:?}"),
            Err(_) => fmt::Debug::fmt(self.as_slice(), f),
        }
    }
}

impl<const N: usize> PartialEq for SmallBytes<N> {
    fn eq(&self, other: &Self) -> bool {
        self.as_slice() == other.as_slice()
    }
}

impl<const N: usize> Eq for SmallBytes<N> {}

impl<const N: usize> Hash for SmallBytes<N> {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.as_slice().hash(state)
    }
}

impl<const N: usize, const K: usize> PartialEq<&[u8; K]> for SmallBytes<N> {
    fn eq(&self, other: &&[u8; K]) -> bool {
        self.as_slice() == *other
    }
}

/// Owned UTF-8 text, inline up to `N` (at most 255) bytes. Hashes as its `str` does, so
/// that a map keyed by it is looked up with a `&str` (`Borrow<str>`).
#[derive(Clone, Default, PartialEq, Eq)]
pub struct SmallStr<const N: usize>(SmallBytes<N>);

impl<const N: usize> Hash for SmallStr<N> {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.as_str().hash(state)
    }
}

impl<const N: usize> Borrow<str> for SmallStr<N> {
    fn borrow(&self) -> &str {
        self.as_str()
    }
}

impl<const N: usize> SmallStr<N> {
    pub const fn new() -> Self {
        SmallStr(SmallBytes::new())
    }

    /// Replaces the text in place (see [`SmallBytes::set`]).
    #[inline]
    pub fn set(&mut self, text: &str) {
        self.0.set(text.as_bytes())
    }

    #[inline]
    pub fn as_str(&self) -> &str {
        // SAFETY: every constructor takes the bytes of a `str` or `String`, and nothing
        // changes them afterwards.
        unsafe { std::str::from_utf8_unchecked(self.0.as_slice()) }
    }

    #[inline]
    pub fn as_bytes(&self) -> &[u8] {
        self.0.as_slice()
    }

    #[cfg(test)]
    fn is_heap(&self) -> bool {
        self.0.is_heap()
    }
}

impl<const N: usize> Deref for SmallStr<N> {
    type Target = str;
    #[inline]
    fn deref(&self) -> &str {
        self.as_str()
    }
}

impl<const N: usize> From<&str> for SmallStr<N> {
    #[inline]
    fn from(text: &str) -> Self {
        SmallStr(SmallBytes::from_slice(text.as_bytes()))
    }
}

impl<const N: usize> From<String> for SmallStr<N> {
    fn from(text: String) -> Self {
        SmallStr(SmallBytes::from(text.into_bytes()))
    }
}

impl<const N: usize> From<std::borrow::Cow<'_, str>> for SmallStr<N> {
    fn from(text: std::borrow::Cow<'_, str>) -> Self {
        match text {
            std::borrow::Cow::Borrowed(t) => Self::from(t),
            std::borrow::Cow::Owned(t) => Self::from(t),
        }
    }
}

impl<const N: usize> From<SmallStr<N>> for String {
    fn from(text: SmallStr<N>) -> Self {
        // SAFETY: the bytes are UTF-8 (see `as_str`).
        unsafe { String::from_utf8_unchecked(text.0.into_vec()) }
    }
}

impl<const N: usize> fmt::Debug for SmallStr<N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl<const N: usize> fmt::Display for SmallStr<N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self.as_str(), f)
    }
}

impl<const N: usize> PartialEq<&str> for SmallStr<N> {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every byte of a value of 0 to 16 bytes lands in its place of the words, the rest
    /// zero.
    #[test]
    fn le_words_are_the_padded_little_endian_words() {
        let bytes: Vec<u8> = (0..16u8).map(|i| 0x81u8.wrapping_mul(i + 1) ^ i).collect();
        for n in 0..=16 {
            let mut padded = [0u8; 16];
            padded[..n].copy_from_slice(&bytes[..n]);
            let low = u64::from_le_bytes(padded[..8].try_into().unwrap());
            let high = u64::from_le_bytes(padded[8..].try_into().unwrap());
            assert_eq!(le_words(&bytes[..n]), (low, high), "{n} bytes");
            if n <= 8 {
                assert_eq!(le_word(&bytes[..n]), low, "{n} bytes");
            }
        }
    }

    /// A map keyed by text is looked up by `&str` (the hashes agree), inline or not.
    #[test]
    fn text_keys_are_found_by_str() {
        let mut map = std::collections::HashMap::new();
        let short = "paranoia_level";
        let long = "header_name_920450_x-a-header-name-longer-than-inline";
        map.insert(SmallStr::<NAME_INLINE>::from(short), 1);
        map.insert(SmallStr::<NAME_INLINE>::from(long), 2);
        assert!(!map.keys().all(|k| k.is_heap()));
        assert!(map.keys().any(|k| k.is_heap()));
        assert_eq!(map.get(short), Some(&1));
        assert_eq!(map.get(long), Some(&2));
        assert_eq!(map.get("paranoia"), None);
    }

    #[test]
    fn contents_survive_either_representation() {
        let mut rng = crate::TestRng(0x5eed_1234);
        for _ in 0..2000 {
            let bytes = rng.bytes_from(b"ab\x00\xff%", 70);
            let small = SmallBytes::<VALUE_INLINE>::from_slice(&bytes);
            assert_eq!(small.as_slice(), &bytes[..]);
            assert_eq!(
                small.is_heap(),
                bytes.len() > VALUE_INLINE,
                "{}",
                bytes.len()
            );
            let moved = SmallBytes::<VALUE_INLINE>::from(bytes.clone());
            assert_eq!(moved, small);
            assert_eq!(moved.clone().into_vec(), bytes);
        }
    }

    #[test]
    fn every_short_length_is_copied_exactly() {
        let source: Vec<u8> = (1..=40).collect();
        for len in 0..=VALUE_INLINE {
            let value = ArgValue::from_slice(&source[..len]);
            assert_eq!(value.as_slice(), &source[..len], "length {len}");
            assert!(!value.is_heap());
        }
        for len in 0..=NAME_INLINE {
            let text: String = "abcdefghijklmnopqrstuvwxyz".chars().take(len).collect();
            assert_eq!(ArgName::from(text.as_str()).as_str(), text, "length {len}");
        }
    }

    #[test]
    fn setting_in_place_replaces_the_whole_contents() {
        // longer, shorter, across the inline limit both ways: no byte of an earlier,
        // longer content may show
        let mut rng = crate::TestRng(0xfeed_beef);
        let mut value = ArgValue::new();
        let mut name = ArgName::new();
        for _ in 0..3000 {
            let bytes = rng.bytes_from(b"abcXYZ019", 45);
            if rng.next().is_multiple_of(2) {
                value.set(&bytes);
            } else {
                value.set_vec(bytes.clone());
            }
            assert_eq!(value.as_slice(), &bytes[..]);
            assert_eq!(value.is_heap(), bytes.len() > VALUE_INLINE);
            let text = String::from_utf8(bytes).expect("ascii");
            name.set(&text);
            assert_eq!(name.as_str(), text);
        }
    }

    #[test]
    fn boundary_lengths() {
        for len in [0, 1, NAME_INLINE - 1, NAME_INLINE, NAME_INLINE + 1, 200] {
            let text = "é".repeat(len / 2) + &"x".repeat(len % 2);
            let name = ArgName::from(text.as_str());
            assert_eq!(name.as_str(), text);
            assert_eq!(name.is_heap(), text.len() > NAME_INLINE);
            assert_eq!(String::from(name.clone()), text);
            assert_eq!(ArgName::from(text.clone()), name);
        }
    }

    #[test]
    fn sizes_are_those_of_the_types_they_replace_or_one_word_more() {
        assert_eq!(
            std::mem::size_of::<ArgName>(),
            std::mem::size_of::<String>()
        );
        assert_eq!(std::mem::size_of::<ArgValue>(), 32);
    }

    #[test]
    fn equal_contents_hash_alike_whatever_the_source() {
        use std::collections::HashSet;
        let mut set = HashSet::new();
        set.insert(ArgValue::from(b"x".repeat(40)));
        assert!(set.contains(&ArgValue::from_slice(&b"x".repeat(40))));
        // looked up by the slice it borrows as: `Hash` must agree with `[u8]`'s
        let borrowed: &[u8] = &b"x".repeat(40);
        assert!(set.contains(borrowed));
        assert!(!set.contains(&b"x".repeat(39)[..]));
    }
}
