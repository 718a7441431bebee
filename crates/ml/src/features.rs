//! Turning one input value into hashed features: the normalization every value goes through
//! before scoring, and the feature families the linear model weighs.
//!
//! The same code runs at training and at inference, so a model is only valid for the
//! [`FEATURE_VERSION`] it was trained with (checked when a model file is loaded).

use std::borrow::Cow;

use palisade_http::transform::apply_all;
use palisade_http::Transform;

/// Bumped whenever normalization or feature extraction changes meaning.
pub const FEATURE_VERSION: u32 = 2;

/// Longest stretch of a (normalized) value scored as one unit. Longer values are scored in
/// overlapping windows and the worst window counts: a short payload inside a long benign
/// text is not diluted by the text around it, and nothing past any length goes unseen.
pub const WINDOW: usize = 256;
/// Distance between window starts (windows overlap by `WINDOW - STRIDE` bytes so a payload
/// up to that length is always whole in some window).
pub const STRIDE: usize = 192;

/// Decoding applied before feature extraction: a second URL-decoding layer (the request
/// model already decoded one), HTML entities, NULs, case and whitespace runs. Evasions that
/// stack encodings land on the same features as the plain payload. After these, every
/// ASCII digit becomes `0` ([`zero_digits`]).
const NORMALIZE: &[Transform] = &[
    Transform::UrlDecodeUni,
    Transform::HtmlEntityDecode,
    Transform::RemoveNulls,
    Transform::Lowercase,
    Transform::CompressWhitespace,
];

/// How a byte matters to [`NORMALIZE`] when nothing else in the value does (one bit per
/// kind, so that a value's bytes are summed up by OR-ing them).
const NORM_PLAIN: u8 = 0;
/// ASCII upper case: only `Lowercase` changes it.
const NORM_UPPER: u8 = 1;
/// A space: unchanged unless another follows it.
const NORM_SPACE: u8 = 2;
/// `%` `+` `&` NUL and whitespace other than a space: some decoding step may act on it.
const NORM_OTHER: u8 = 4;
/// An ASCII digit other than `0`: written as `0`.
const NORM_DIGIT: u8 = 8;
const NORM_CLASS: [u8; 256] = {
    let mut t = [NORM_PLAIN; 256];
    let mut b = b'A';
    while b <= b'Z' {
        t[b as usize] = NORM_UPPER;
        b += 1;
    }
    let mut d = b'1';
    while d <= b'9' {
        t[d as usize] = NORM_DIGIT;
        d += 1;
    }
    t[b' ' as usize] = NORM_SPACE;
    let others = [b'%', b'+', b'&', 0, b'\t', b'\n', 0x0b, 0x0c, b'\r', 0xa0];
    let mut i = 0;
    while i < others.len() {
        t[others[i] as usize] = NORM_OTHER;
        i += 1;
    }
    t
};

/// The normalized form of a value (borrowed when normalization changes nothing).
pub fn normalize(value: &[u8]) -> Cow<'_, [u8]> {
    let mut scratch = Vec::new();
    // `normalize_in` answers with `value` itself when nothing changes, else with `scratch`
    let unchanged = {
        let n = normalize_in(value, &mut scratch);
        n.as_ptr() == value.as_ptr() && n.len() == value.len()
    };
    if unchanged {
        Cow::Borrowed(value)
    } else {
        Cow::Owned(scratch)
    }
}

/// The decoding steps of [`normalize`] with digits kept, for checks on what a value says
/// (the training data's noisy-label filter looks for `%00`, which zeroed digits would
/// also make of `%27`).
pub fn decode_keeping_digits(value: &[u8]) -> Cow<'_, [u8]> {
    apply_all(NORMALIZE, value)
}

/// [`normalize`], writing a changed value into `scratch` (kept from value to value by a
/// caller scoring many: most changed values only need lowercasing, and then no allocation).
pub fn normalize_in<'a>(value: &'a [u8], scratch: &'a mut Vec<u8>) -> &'a [u8] {
    match change_needed(value) {
        Change::None => value,
        Change::Simple { digits } => {
            scratch.clear();
            scratch.extend_from_slice(value);
            scratch.make_ascii_lowercase();
            if digits {
                zero_digits(scratch);
            }
            scratch
        }
        Change::Decode => match apply_all(NORMALIZE, value) {
            Cow::Borrowed(unchanged) if !has_nonzero_digits(unchanged) => unchanged,
            Cow::Borrowed(unchanged) => {
                scratch.clear();
                scratch.extend_from_slice(unchanged);
                zero_digits(scratch);
                scratch
            }
            Cow::Owned(decoded) => {
                *scratch = decoded;
                zero_digits(scratch);
                scratch
            }
        },
    }
}

/// Whether normalizing `value` is ASCII lowercasing and digits written as `0` at most (no
/// decoding step acts on it). Then two such values equal but for digits where both have
/// one normalize alike: the classes [`change_needed`] reads are the same byte for byte.
pub fn normalizes_by_case_and_digits(value: &[u8]) -> bool {
    !matches!(change_needed(value), Change::Decode)
}

/// Writes every ASCII digit as `0`, the last normalization step. Numbers (ids, counts,
/// prices, versions, dates) change from request to request while the text around them does
/// not, and their digits say little about whether that text is an attack: values differing
/// only in digits (`Trail running shoe model 17`, `... model 42`) are one normalized value,
/// scored once per request. Lengths are kept: collapsing each run of digits to one `0` made
/// the benign corpus's false positives three times as many. The cost: escapes left after
/// the second decoding layer lose what they encode (`%2527` ends as `%00`, `\u0027` as
/// `\u0000`); the model alone caught 282 of 297 injection attacks against 291 before, the
/// model with the signatures as many as before (601 of 602).
fn zero_digits(v: &mut [u8]) {
    for b in v {
        if matches!(b, b'1'..=b'9') {
            *b = b'0';
        }
    }
}

/// Whether [`zero_digits`] would change `v`: a digit other than `0`.
fn has_nonzero_digits(v: &[u8]) -> bool {
    v.iter().any(|b| matches!(b, b'1'..=b'9'))
}

/// What normalizing a value takes.
enum Change {
    None,
    /// ASCII lowercasing and, when `digits`, digits as `0` alone.
    Simple {
        digits: bool,
    },
    /// The decoding steps.
    Decode,
}

fn change_needed(value: &[u8]) -> Change {
    // Most values (words, ids, prose with single spaces) hold nothing the decoding steps act
    // on: one pass over the bytes proves it, and lowercasing (with digits written as `0`)
    // is then the whole result. Five transformations each scanning the value cost ~1.5k
    // instructions on a short one.
    // Without a branch per byte: a `match` on the class compiled to a jump table whose
    // target changes from byte to byte (mispredicted: a quarter of this function's time
    // in the proxy's JSON profile). The classes are OR-ed together, and two spaces in a
    // row show as the space bit in `pairs`.
    let (mut seen, mut pairs, mut previous) = (NORM_PLAIN, NORM_PLAIN, NORM_PLAIN);
    for &b in value {
        let class = NORM_CLASS[b as usize];
        seen |= class;
        pairs |= previous & class;
        previous = class;
    }
    if seen & NORM_OTHER != 0 || pairs & NORM_SPACE != 0 {
        Change::Decode
    } else if seen & (NORM_UPPER | NORM_DIGIT) != 0 {
        Change::Simple {
            digits: seen & NORM_DIGIT != 0,
        }
    } else {
        Change::None
    }
}

/// Window start offsets for a normalized value of length `len` (at least one window).
pub fn windows(len: usize) -> impl Iterator<Item = (usize, usize)> {
    let count = if len <= WINDOW {
        1
    } else {
        (len - WINDOW).div_ceil(STRIDE) + 1
    };
    (0..count).map(move |i| {
        let start = (i * STRIDE).min(len.saturating_sub(WINDOW));
        (start, (start + WINDOW).min(len))
    })
}

// FNV-1a style mixing: stable across platforms and releases (a model's weights are indexed
// by these hashes, so `std`'s randomized hashers cannot be used).
const PRIME: u64 = 0x0000_0100_0000_01b3;
const NS_BYTES: u64 = 0xcbf2_9ce4_8422_2325;
const NS_SHAPE: u64 = 0x9e37_79b9_7f4a_7c15;
const NS_WORD: u64 = 0xc2b2_ae3d_27d4_eb4f;
const NS_BIGRAM: u64 = 0x1656_67b1_9e37_79f9;
const NS_STATS: u64 = 0x27d4_eb2f_1656_67c5;

#[inline]
const fn mix(h: u64, b: u64) -> u64 {
    (h ^ b).wrapping_mul(PRIME)
}

#[inline]
fn slot(h: u64, bits: u32) -> u32 {
    // Final avalanche so nearby FNV states spread over the whole table.
    (h.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> (64 - bits)) as u32
}

/// Character class used by the shape string: runs of letters and of digits collapse to one
/// symbol, punctuation stays itself, so `' or 1=1--` and `' OR 42=42 --` share a shape.
#[inline]
const fn shape_of(b: u8) -> u8 {
    match b {
        b'a'..=b'z' | b'A'..=b'Z' => b'a',
        b'0'..=b'9' => b'0',
        b' ' | b'\t' | b'\r' | b'\n' => b' ',
        0x80..=0xff => b'u',
        other => other,
    }
}

/// `shape_of` for every byte.
const SHAPE: [u8; 256] = {
    let mut t = [0u8; 256];
    let mut i = 0;
    while i < 256 {
        t[i] = shape_of(i as u8);
        i += 1;
    }
    t
};

/// Byte-class flags: `WORD` for `[A-Za-z0-9_]`, `SPECIAL` for what the statistics count
/// as special (neither ASCII alphanumeric nor a space).
const WORD: u8 = 1;
const SPECIAL: u8 = 2;
const CLASS: [u8; 256] = {
    let mut t = [0u8; 256];
    let mut i = 0;
    while i < 256 {
        let b = i as u8;
        let mut c = 0;
        if b.is_ascii_alphanumeric() || b == b'_' {
            c |= WORD;
        }
        if !b.is_ascii_alphanumeric() && b != b' ' {
            c |= SPECIAL;
        }
        t[i] = c;
        i += 1;
    }
    t
};

// Hash states after the namespace and the n-gram length (the common prefix of every byte
// n-gram of that length).
const C1: u64 = mix(NS_BYTES, 1);
const C2: u64 = mix(NS_BYTES, 2);
const C3: u64 = mix(NS_BYTES, 3);
const C4: u64 = mix(NS_BYTES, 4);

/// `mix(Cn, b)` for n = 1..4 and every byte `b`: the 1-gram's hash and the starts of the
/// 2-, 3- and 4-gram hashes at that byte, looked up rather than multiplied out per byte.
static BYTE_MIX: [[u64; 4]; 256] = {
    let mut t = [[0u64; 4]; 256];
    let mut b = 0;
    while b < 256 {
        t[b] = [
            mix(C1, b as u64),
            mix(C2, b as u64),
            mix(C3, b as u64),
            mix(C4, b as u64),
        ];
        b += 1;
    }
    t
};

/// Calls `emit(slot)` for every feature of one normalized window, and returns how many
/// were emitted (the caller scales by `1/sqrt(count)`).
///
/// Families: byte n-grams (n = 1..4, with start/end markers), shape n-grams (n = 2..5 over
/// the collapsed shape string), word unigrams and bigrams (runs of `[a-z0-9_]`), and two
/// coarse statistics (length bucket, share of non-alphanumeric bytes).
///
/// The order of the emitted features is part of the contract: a model sums their weights
/// in this order, so any reordering would change margins in the last bits.
#[inline]
pub fn for_each_feature(window: &[u8], bits: u32, mut emit: impl FnMut(u32)) -> usize {
    let len = window.len();
    let mut count = 0usize;
    let mut put = |h: u64| {
        emit(slot(h, bits));
        count += 1;
    };

    // Byte n-grams ending at each byte (and at the end marker), n = 1..4. `a2`, `a3`, `a4`
    // are the hash states of the (n-1)-gram before the current byte; `x3`, `x4`, `y4` the
    // shorter prefixes they extend into at the next byte.
    let mut special = 0usize;
    let (mut a2, mut a3, mut a4) = (mix(C2, 2), mix(mix(C3, 2), 2), mix(mix(mix(C4, 2), 2), 2));
    let (mut x3, mut x4, mut y4) = (mix(C3, 2), mix(mix(C4, 2), 2), mix(C4, 2));
    let head = len.min(2);
    for (i, &byte) in window[..head].iter().enumerate() {
        special += (CLASS[byte as usize] & SPECIAL != 0) as usize;
        let b = byte as u64;
        let [m1, m2, m3, m4] = BYTE_MIX[byte as usize];
        put(m1);
        put(mix(a2, b));
        if i >= 1 {
            put(mix(a3, b));
        }
        a2 = m2;
        a3 = mix(x3, b);
        a4 = mix(x4, b);
        x3 = m3;
        x4 = mix(y4, b);
        y4 = m4;
    }
    for &byte in &window[head..] {
        special += (CLASS[byte as usize] & SPECIAL != 0) as usize;
        let b = byte as u64;
        let [m1, m2, m3, m4] = BYTE_MIX[byte as usize];
        put(m1);
        put(mix(a2, b));
        put(mix(a3, b));
        put(mix(a4, b));
        a2 = m2;
        a3 = mix(x3, b);
        a4 = mix(x4, b);
        x3 = m3;
        x4 = mix(y4, b);
        y4 = m4;
    }
    // End marker.
    put(mix(a2, 3));
    if len >= 1 {
        put(mix(a3, 3));
    }
    if len >= 2 {
        put(mix(a4, 3));
    }

    // Shape n-grams over the collapsed shape string.
    let mut shape: [u64; 5] = [2; 5];
    let mut prev_class = 0u8;
    let mut n_shape = 0usize;
    for &b in window.iter().chain(std::iter::once(&3u8)) {
        let c = SHAPE[b as usize];
        if (c == b'a' || c == b'0' || c == b' ') && c == prev_class {
            continue;
        }
        prev_class = c;
        shape = [c as u64, shape[0], shape[1], shape[2], shape[3]];
        n_shape += 1;
        let h1 = mix(mix(NS_SHAPE, shape[0]), shape[1]);
        put(mix(h1, 1));
        if n_shape >= 4 {
            let h2 = mix(h1, shape[2]);
            put(mix(h2, 2));
            let h3 = mix(h2, shape[3]);
            put(mix(h3, 3));
            put(mix(mix(h3, shape[4]), 4));
        } else if n_shape >= 2 {
            let h2 = mix(h1, shape[2]);
            put(mix(h2, 2));
            if n_shape >= 3 {
                put(mix(mix(h2, shape[3]), 3));
            }
        }
    }

    // Words and word bigrams.
    let mut prev_word: Option<u64> = None;
    let mut rest = window;
    while let Some((&first, tail)) = rest.split_first() {
        if CLASS[first as usize] & WORD == 0 {
            rest = tail;
            continue;
        }
        let run = rest
            .iter()
            .position(|&b| CLASS[b as usize] & WORD == 0)
            .unwrap_or(rest.len());
        let (word, after) = rest.split_at(run);
        rest = after;
        // Long runs are ids and tokens, not words: one shared feature per length bucket.
        let h = if run > 24 {
            mix(NS_WORD, 0x100 + (run as u64).ilog2() as u64)
        } else {
            word.iter().fold(NS_WORD, |h, &b| mix(h, b as u64))
        };
        put(h);
        if let Some(p) = prev_word {
            put(mix(mix(NS_BIGRAM, p), h));
        }
        prev_word = Some(h);
    }

    // Coarse statistics.
    let len_bucket = (len as u64 + 1).ilog2() as u64;
    put(mix(NS_STATS, len_bucket));
    let share = (special * 8 / len.max(1)) as u64;
    put(mix(mix(NS_STATS, 0x40), share));
    count
}

/// The two statistics features of a window of `len` bytes holding `special` special bytes
/// (the last two [`for_each_feature`] emits).
#[inline]
pub fn stat_slots(len: usize, special: usize, bits: u32) -> [u32; 2] {
    let len_bucket = (len as u64 + 1).ilog2() as u64;
    let share = (special * 8 / len.max(1)) as u64;
    [
        slot(mix(NS_STATS, len_bucket), bits),
        slot(mix(mix(NS_STATS, 0x40), share), bits),
    ]
}

/// Whether `b` counts as special for the statistics (neither alphanumeric nor a space).
#[inline]
pub fn is_special(b: u8) -> bool {
    CLASS[b as usize] & SPECIAL != 0
}

/// The features of a whole normalized value, summed per byte: `acc[i]` and `cnt[i]` get the
/// weight and the number of the features anchored at byte `i` (a byte n-gram at its last
/// byte, a shape n-gram at the byte that starts its newest symbol, a word and its bigram at
/// the word's first byte, the end-marker features at the last byte). The statistics, which
/// belong to a window and not to a byte, are left out ([`stat_slots`]).
///
/// A long value's windows are then scored from these per-byte sums, each byte's features
/// computed once instead of once per overlapping window. A window counts the features
/// anchored inside it: the n-grams across its start are the text's own (not a start marker),
/// and a word belongs to the window where it starts; a window's edges are no longer read
/// as the start or end of a value. The families and hashes are [`for_each_feature`]'s.
#[inline(always)]
pub fn anchored_features(
    value: &[u8],
    bits: u32,
    weight: impl Fn(u32) -> f32,
    acc: &mut Vec<f32>,
    cnt: &mut Vec<u8>,
) {
    let len = value.len();
    acc.clear();
    cnt.clear();
    if len == 0 {
        return;
    }
    acc.resize(len, 0.0);
    // four byte n-grams end at every byte but the first two
    cnt.resize(len, 4);
    let w = |h: u64| weight(slot(h, bits));

    // Byte n-grams: the four ending at each byte (two at the first, three at the second).
    let (mut a2, mut a3, mut a4) = (mix(C2, 2), mix(mix(C3, 2), 2), mix(mix(mix(C4, 2), 2), 2));
    let (mut x3, mut x4, mut y4) = (mix(C3, 2), mix(mix(C4, 2), 2), mix(C4, 2));
    let head = len.min(2);
    for (i, &byte) in value[..head].iter().enumerate() {
        let b = byte as u64;
        let [m1, m2, m3, m4] = BYTE_MIX[byte as usize];
        acc[i] = w(m1) + w(mix(a2, b));
        cnt[i] = 2;
        if i == 1 {
            acc[i] += w(mix(a3, b));
            cnt[i] = 3;
        }
        a2 = m2;
        a3 = mix(x3, b);
        a4 = mix(x4, b);
        x3 = m3;
        x4 = mix(y4, b);
        y4 = m4;
    }
    for (out, &byte) in acc[head..].iter_mut().zip(&value[head..]) {
        let b = byte as u64;
        let [m1, m2, m3, m4] = BYTE_MIX[byte as usize];
        *out = w(m1) + w(mix(a2, b)) + w(mix(a3, b)) + w(mix(a4, b));
        a2 = m2;
        a3 = mix(x3, b);
        a4 = mix(x4, b);
        x3 = m3;
        x4 = mix(y4, b);
        y4 = m4;
    }
    let last = len - 1;
    acc[last] += w(mix(a2, 3));
    cnt[last] += 1;
    acc[last] += w(mix(a3, 3));
    cnt[last] += 1;
    if len >= 2 {
        acc[last] += w(mix(a4, 3));
        cnt[last] += 1;
    }

    // Shape n-grams, at the byte that starts each new symbol.
    let mut shape: [u64; 5] = [2; 5];
    let mut prev_class = 0u8;
    let mut n_shape = 0usize;
    for (i, &b) in value.iter().chain(std::iter::once(&3u8)).enumerate() {
        let c = SHAPE[b as usize];
        if (c == b'a' || c == b'0' || c == b' ') && c == prev_class {
            continue;
        }
        prev_class = c;
        shape = [c as u64, shape[0], shape[1], shape[2], shape[3]];
        n_shape += 1;
        let at = i.min(last);
        let h1 = mix(mix(NS_SHAPE, shape[0]), shape[1]);
        let mut sum = w(mix(h1, 1));
        let mut n = 1;
        if n_shape >= 2 {
            let h2 = mix(h1, shape[2]);
            sum += w(mix(h2, 2));
            n += 1;
            if n_shape >= 3 {
                let h3 = mix(h2, shape[3]);
                sum += w(mix(h3, 3));
                n += 1;
                if n_shape >= 4 {
                    sum += w(mix(mix(h3, shape[4]), 4));
                    n += 1;
                }
            }
        }
        acc[at] += sum;
        cnt[at] += n;
    }

    // Words and word bigrams, at the word's first byte.
    let mut prev_word: Option<u64> = None;
    let mut i = 0;
    while i < len {
        if CLASS[value[i] as usize] & WORD == 0 {
            i += 1;
            continue;
        }
        let start = i;
        let run = value[i..]
            .iter()
            .position(|&b| CLASS[b as usize] & WORD == 0)
            .unwrap_or(len - i);
        i += run;
        let h = if run > 24 {
            mix(NS_WORD, 0x100 + (run as u64).ilog2() as u64)
        } else {
            value[start..i]
                .iter()
                .fold(NS_WORD, |h, &b| mix(h, b as u64))
        };
        acc[start] += w(h);
        cnt[start] += 1;
        if let Some(p) = prev_word {
            acc[start] += w(mix(mix(NS_BIGRAM, p), h));
            cnt[start] += 1;
        }
        prev_word = Some(h);
    }
}

/// The feature extraction and scoring as first written (before the speed work), kept to
/// check that the fast path emits the same features in the same order and so gives
/// bit-identical margins.
#[cfg(test)]
pub(crate) mod reference {
    const PRIME: u64 = 0x0000_0100_0000_01b3;
    const NS_BYTES: u64 = 0xcbf2_9ce4_8422_2325;
    const NS_SHAPE: u64 = 0x9e37_79b9_7f4a_7c15;
    const NS_WORD: u64 = 0xc2b2_ae3d_27d4_eb4f;
    const NS_BIGRAM: u64 = 0x1656_67b1_9e37_79f9;
    const NS_STATS: u64 = 0x27d4_eb2f_1656_67c5;

    #[inline]
    fn mix(h: u64, b: u64) -> u64 {
        (h ^ b).wrapping_mul(PRIME)
    }

    #[inline]
    fn slot(h: u64, bits: u32) -> u32 {
        // Final avalanche so nearby FNV states spread over the whole table.
        (h.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> (64 - bits)) as u32
    }

    /// Character class used by the shape string: runs of letters and of digits collapse to one
    /// symbol, punctuation stays itself, so `' or 1=1--` and `' OR 42=42 --` share a shape.
    #[inline]
    fn shape_of(b: u8) -> u8 {
        match b {
            b'a'..=b'z' | b'A'..=b'Z' => b'a',
            b'0'..=b'9' => b'0',
            b' ' | b'\t' | b'\r' | b'\n' => b' ',
            0x80..=0xff => b'u',
            other => other,
        }
    }

    /// Calls `emit(slot)` for every feature of one normalized window, and returns how many
    /// were emitted (the caller scales by `1/sqrt(count)`).
    ///
    /// Families: byte n-grams (n = 1..4, with start/end markers), shape n-grams (n = 2..5 over
    /// the collapsed shape string), word unigrams and bigrams (runs of `[a-z0-9_]`), and two
    /// coarse statistics (length bucket, share of non-alphanumeric bytes).
    pub fn for_each_feature(window: &[u8], bits: u32, mut emit: impl FnMut(u32)) -> usize {
        let mut count = 0usize;
        let mut put = |h: u64| {
            emit(slot(h, bits));
            count += 1;
        };

        // Byte n-grams ending at each byte (and at the end marker), n = 1..4.
        let mut prev = [2u64; 3]; // start marker
        for (i, &b) in window.iter().chain(std::iter::once(&3u8)).enumerate() {
            let b = b as u64;
            // n-gram of length n ending here = previous (n-1)-gram extended by b.
            let h1 = mix(mix(NS_BYTES, 1), b);
            let h2 = mix(mix(mix(NS_BYTES, 2), prev[0]), b);
            let h3 = mix(mix(mix(mix(NS_BYTES, 3), prev[1]), prev[0]), b);
            let h4 = mix(
                mix(mix(mix(mix(NS_BYTES, 4), prev[2]), prev[1]), prev[0]),
                b,
            );
            if i < window.len() {
                put(h1);
            }
            put(h2);
            if i >= 1 {
                put(h3);
            }
            if i >= 2 {
                put(h4);
            }
            prev = [b, prev[0], prev[1]];
        }

        // Shape n-grams over the collapsed shape string.
        let mut shape: [u64; 5] = [2; 5];
        let mut prev_class = 0u8;
        let mut n_shape = 0usize;
        for &b in window.iter().chain(std::iter::once(&3u8)) {
            let c = if b == 3 { 3 } else { shape_of(b) };
            if (c == b'a' || c == b'0' || c == b' ') && c == prev_class {
                continue;
            }
            prev_class = c;
            shape = [c as u64, shape[0], shape[1], shape[2], shape[3]];
            n_shape += 1;
            let mut h = mix(NS_SHAPE, shape[0]);
            for (n, s) in shape.iter().enumerate().skip(1) {
                h = mix(h, *s);
                if n < n_shape + 1 {
                    put(mix(h, n as u64));
                }
            }
        }

        // Words and word bigrams.
        let mut prev_word: Option<u64> = None;
        let mut i = 0;
        while i < window.len() {
            if is_word(window[i]) {
                let start = i;
                let mut h = NS_WORD;
                while i < window.len() && is_word(window[i]) {
                    h = mix(h, window[i] as u64);
                    i += 1;
                }
                // Long runs are ids and tokens, not words: one shared feature per length bucket.
                let h = if i - start > 24 {
                    mix(NS_WORD, 0x100 + ((i - start) as u64).ilog2() as u64)
                } else {
                    h
                };
                put(h);
                if let Some(p) = prev_word {
                    put(mix(mix(NS_BIGRAM, p), h));
                }
                prev_word = Some(h);
            } else {
                i += 1;
            }
        }

        // Coarse statistics.
        let len_bucket = (window.len() as u64 + 1).ilog2() as u64;
        put(mix(NS_STATS, len_bucket));
        let special = window
            .iter()
            .filter(|b| !b.is_ascii_alphanumeric() && **b != b' ')
            .count();
        let share = (special * 8 / window.len().max(1)) as u64;
        put(mix(mix(NS_STATS, 0x40), share));
        count
    }

    #[inline]
    fn is_word(b: u8) -> bool {
        b.is_ascii_alphanumeric() || b == b'_'
    }

    /// `Model::window_margin` as first written.
    pub fn window_margin(model: &crate::model::Model, window: &[u8]) -> f32 {
        let mut sum = 0.0f32;
        let n = for_each_feature(window, model.bits, |slot| {
            sum += model.weights.get(slot as usize).copied().unwrap_or(0.0);
        });
        sum / (n.max(1) as f32).sqrt() + model.bias
    }

    /// `Model::normalized_margin` as first written, for values of up to one window (a
    /// longer value was scored window by window, each window as a value of its own).
    pub fn normalized_margin(model: &crate::model::Model, norm: &[u8]) -> f32 {
        super::windows(norm.len())
            .map(|(s, e)| window_margin(model, &norm[s..e]))
            .fold(f32::NEG_INFINITY, f32::max)
    }

    /// The features of a whole value with the byte each is anchored at, written the plain
    /// way: every n-gram of the value framed by its markers, every shape n-gram, every word.
    pub fn anchored_features(value: &[u8], bits: u32) -> Vec<(usize, u32)> {
        let mut out = Vec::new();
        let last = value.len().saturating_sub(1);
        // Byte n-grams over `2 value 3` (1-grams of the value's bytes only), each at the
        // position of its last byte (the end marker counts as the last byte).
        let mut framed = vec![2u8];
        framed.extend_from_slice(value);
        framed.push(3);
        for end in 1..framed.len() {
            let at = (end - 1).min(last);
            if end < framed.len() - 1 {
                let h = mix(mix(NS_BYTES, 1), framed[end] as u64);
                out.push((at, slot(h, bits)));
            }
            for n in 2..=4usize {
                if end + 1 >= n {
                    let gram = &framed[end + 1 - n..=end];
                    let h = gram
                        .iter()
                        .fold(mix(NS_BYTES, n as u64), |h, &b| mix(h, b as u64));
                    out.push((at, slot(h, bits)));
                }
            }
        }
        // Shape n-grams: the collapsed symbols with the byte that started each.
        let mut symbols: Vec<(usize, u64)> = Vec::new();
        for (i, &b) in value.iter().chain(std::iter::once(&3u8)).enumerate() {
            let c = if i == value.len() { 3 } else { shape_of(b) };
            let continues = symbols.last().is_some_and(|&(_, p)| p == c as u64);
            if continues && (c == b'a' || c == b'0' || c == b' ') {
                continue;
            }
            symbols.push((i.min(last), c as u64));
        }
        for k in 0..symbols.len() {
            // the newest symbol first, then the ones before it (start markers past the start)
            let sym = |j: usize| if j <= k { symbols[k - j].1 } else { 2 };
            let mut h = mix(NS_SHAPE, sym(0));
            for n in 1..=4 {
                h = mix(h, sym(n));
                if n <= k + 1 {
                    out.push((symbols[k].0, slot(mix(h, n as u64), bits)));
                }
            }
        }
        // Words and bigrams at the word's first byte.
        let mut prev_word: Option<u64> = None;
        let mut i = 0;
        while i < value.len() {
            if !is_word(value[i]) {
                i += 1;
                continue;
            }
            let start = i;
            while i < value.len() && is_word(value[i]) {
                i += 1;
            }
            let h = if i - start > 24 {
                mix(NS_WORD, 0x100 + ((i - start) as u64).ilog2() as u64)
            } else {
                value[start..i]
                    .iter()
                    .fold(NS_WORD, |h, &b| mix(h, b as u64))
            };
            out.push((start, slot(h, bits)));
            if let Some(p) = prev_word {
                out.push((start, slot(mix(mix(NS_BIGRAM, p), h), bits)));
            }
            prev_word = Some(h);
        }
        out
    }

    /// A long value's margin in context: each window weighs the whole value's features
    /// anchored inside it, plus its own statistics.
    pub fn long_margin(model: &crate::model::Model, norm: &[u8]) -> f32 {
        let features = anchored_features(norm, model.bits);
        let weight = |slot: u32| model.weights.get(slot as usize).copied().unwrap_or(0.0);
        super::windows(norm.len())
            .map(|(s, e)| {
                let inside = features.iter().filter(|(at, _)| (s..e).contains(at));
                let mut sum: f64 = inside.clone().map(|&(_, f)| f64::from(weight(f))).sum();
                let mut n = inside.count();
                let window = &norm[s..e];
                let len_bucket = (window.len() as u64 + 1).ilog2() as u64;
                let special = window
                    .iter()
                    .filter(|b| !b.is_ascii_alphanumeric() && **b != b' ')
                    .count();
                let share = (special * 8 / window.len()) as u64;
                sum += f64::from(weight(slot(mix(NS_STATS, len_bucket), model.bits)));
                sum += f64::from(weight(slot(mix(mix(NS_STATS, 0x40), share), model.bits)));
                n += 2;
                sum as f32 / (n as f32).sqrt() + model.bias
            })
            .fold(f32::NEG_INFINITY, f32::max)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_cover_long_values_with_overlap() {
        assert_eq!(windows(10).collect::<Vec<_>>(), vec![(0, 10)]);
        assert_eq!(windows(0).collect::<Vec<_>>(), vec![(0, 0)]);
        let w: Vec<_> = windows(1000).collect();
        assert_eq!(w.first(), Some(&(0, WINDOW)));
        assert_eq!(w.last().map(|x| x.1), Some(1000));
        for pair in w.windows(2) {
            assert!(pair[1].0 <= pair[0].1 - (WINDOW - STRIDE).min(pair[0].1 - pair[1].0));
        }
    }

    #[test]
    fn normalization_fast_path_matches_the_transformations() {
        use rand::{Rng, SeedableRng};
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(0x6e6f726d);
        let alphabet: &[u8] = b"aZ09 ._-@%+&;#x\x00\t\n\x0b\x0c\r\xa0\xc3lt";
        // one scratch buffer for all, as a caller scoring a request's values keeps it
        let mut scratch = Vec::new();
        for i in 0..20_000 {
            let len = rng.gen_range(0..if i % 2 == 0 { 8 } else { 40 });
            let v: Vec<u8> = if i % 7 == 0 {
                (0..len).map(|_| rng.gen()).collect()
            } else {
                (0..len)
                    .map(|_| alphabet[rng.gen_range(0..alphabet.len())])
                    .collect()
            };
            let mut expected = apply_all(NORMALIZE, &v).into_owned();
            // the reference: every digit as `0`
            for b in &mut expected {
                if b.is_ascii_digit() {
                    *b = b'0';
                }
            }
            let shown = String::from_utf8_lossy(&v);
            assert_eq!(normalize(&v).as_ref(), &expected[..], "{shown:?}");
            assert_eq!(normalize_in(&v, &mut scratch), &expected[..], "{shown:?}");
        }
        assert!(matches!(normalize(b"trail running shoe"), Cow::Borrowed(_)));
        assert!(matches!(normalize(b"size 0 of 0"), Cow::Borrowed(_)));
        assert_eq!(&*normalize(b"Trail Running"), b"trail running");
        assert_eq!(&*normalize(b"a  b"), b"a b");
    }

    #[test]
    fn digits_are_written_as_zero() {
        let a = normalize(b"Trail running shoe model 17");
        assert_eq!(&*a, b"trail running shoe model 00");
        assert_eq!(normalize(b"Trail running shoe model 42"), a);
        assert_eq!(&*normalize(b"' or 12=12--"), b"' or 00=00--");
        assert_eq!(&*normalize(b"%2527 or 1%3D1"), b"%00 or 0=0");
        assert_eq!(&*normalize(b"0x41a 00 0"), b"0x00a 00 0");
        let mut scratch = Vec::new();
        assert_eq!(normalize_in(b"V1.22.333", &mut scratch), b"v0.00.000");
    }

    #[test]
    fn normalization_undoes_stacked_encodings() {
        // two layers: the request model decodes the first; a third stays encoded (and its
        // digits are zeroed like any others)
        assert_eq!(&*normalize(b"%253Cscript%253E"), b"%0cscript%0e");
        assert_eq!(
            &*decode_keeping_digits(b"%253Cscript%253E"),
            b"%3cscript%3e"
        );
        assert_eq!(&*normalize(b"%3CScRiPt%3E"), b"<script>");
        assert_eq!(&*normalize(b"&lt;svg&gt;"), b"<svg>");
    }

    #[test]
    fn features_are_deterministic_and_case_sensitive_only_through_normalization() {
        let collect = |v: &[u8]| {
            let mut out = Vec::new();
            for_each_feature(v, 18, |s| out.push(s));
            out
        };
        assert_eq!(collect(b"' or 1=1--"), collect(b"' or 1=1--"));
        assert_ne!(collect(b"' or 1=1--"), collect(b"hello world"));
        assert!(collect(b"abc").iter().all(|&s| s < (1 << 18)));
    }

    fn inputs() -> Vec<Vec<u8>> {
        use rand::{Rng, SeedableRng};
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(0x5eed);
        let mut out: Vec<Vec<u8>> = vec![
            Vec::new(),
            b"a".to_vec(),
            b"ab".to_vec(),
            b"abc".to_vec(),
            b"\x03".to_vec(),
            b"x".repeat(2000),
            b"a_b".repeat(40),
            b"' or 1=1--".to_vec(),
        ];
        let alphabets: [&[u8]; 3] = [
            b"abcdefghijklmnopqrstuvwxyz0123456789_ ",
            b"ab01 _'\"<>()=;-/%&\x00\x02\x03\t\n\r\x80\xff",
            b"aaaa    1111____''",
        ];
        for i in 0..3000 {
            let len = match i % 4 {
                0 => rng.gen_range(0..8),
                1 => rng.gen_range(0..300),
                2 => rng.gen_range(200..1200),
                _ => rng.gen_range(0..60),
            };
            let v: Vec<u8> = if i % 5 == 4 {
                (0..len).map(|_| rng.gen()).collect()
            } else {
                let a = alphabets[i % 3];
                (0..len).map(|_| a[rng.gen_range(0..a.len())]).collect()
            };
            out.push(v);
        }
        for name in [
            "badqueries.txt",
            "goodqueries_SUBSET_from_liuzc188_UrlDetect.txt",
        ] {
            let path = std::path::Path::new("/work/shared/data/fwaf").join(name);
            let Ok(text) = std::fs::read(&path) else {
                eprintln!("{} absent: real inputs skipped", path.display());
                continue;
            };
            out.extend(
                text.split(|&b| b == b'\n')
                    .filter(|l| !l.is_empty())
                    .take(2500)
                    .map(|l| l.to_vec()),
            );
        }
        out
    }

    #[test]
    fn fast_features_match_the_reference_exactly() {
        for v in inputs() {
            for bits in [10, 18, 24] {
                let (mut new, mut old) = (Vec::new(), Vec::new());
                let n_new = for_each_feature(&v, bits, |s| new.push(s));
                let n_old = reference::for_each_feature(&v, bits, |s| old.push(s));
                assert_eq!(n_new, n_old);
                assert_eq!(
                    new,
                    old,
                    "features differ for {:?}",
                    String::from_utf8_lossy(&v)
                );
            }
        }
    }

    #[test]
    fn fast_margins_are_bit_identical_to_the_reference() {
        let model = crate::default_model().expect("built-in model");
        let mut odd = model.clone();
        odd.weights.truncate(1000);
        for v in inputs() {
            // longer ones: `long_values_are_scored_in_context`
            let norm = normalize(&v);
            for m in [&model, &odd] {
                if norm.len() <= WINDOW {
                    let new = m.normalized_margin(&norm);
                    let old = reference::normalized_margin(m, &norm);
                    assert_eq!(
                        new.to_bits(),
                        old.to_bits(),
                        "margin {new} vs {old} for {:?}",
                        String::from_utf8_lossy(&v)
                    );
                }
                if v.len() <= WINDOW {
                    let raw = m.normalized_margin(&v);
                    assert_eq!(raw.to_bits(), reference::normalized_margin(m, &v).to_bits());
                }
            }
        }
    }

    #[test]
    fn long_values_are_scored_in_context() {
        let model = crate::default_model().expect("built-in model");
        let mut odd = model.clone();
        odd.weights.truncate(1000);
        // Long values: the inputs joined into runs of 257 bytes to a few KB, so windows
        // start and end inside words, shapes, escapes and n-grams of every kind.
        let all = inputs();
        let mut long = Vec::new();
        let mut cur = Vec::new();
        for (i, v) in all.iter().enumerate() {
            cur.extend_from_slice(v);
            cur.push(if i % 2 == 0 { b' ' } else { b'&' });
            if cur.len() > WINDOW + (i * 97) % 3000 {
                long.push(std::mem::take(&mut cur));
            }
        }
        long.push(b"a".repeat(WINDOW + 1));
        assert!(long.len() > 50, "{} long values", long.len());
        for v in &long {
            let norm = normalize(v);
            assert!(norm.len() > WINDOW);
            for m in [&model, &odd] {
                let new = m.normalized_margin(&norm);
                let old = reference::long_margin(m, &norm);
                assert!(
                    (new - old).abs() <= 1e-4 * old.abs().max(1.0),
                    "margin {new} vs {old} for {:?}",
                    String::from_utf8_lossy(&norm)
                );
            }
        }
    }

    #[test]
    fn a_payload_anywhere_in_a_long_text_raises_its_margin() {
        // Every window is scored, the first and last included: a payload raises the worst
        // window's margin wherever it sits, across window starts (0, 192, ...) and ends
        // (256, 448, ...). (In 250 bytes of prose a 50-byte payload does not reach the
        // threshold: the signatures are what find it there.)
        let model = crate::default_model().expect("built-in model");
        let prose = "Hello team, I would like to change the delivery address for my last \
                     order. Thanks a lot and have a nice day! ";
        let payload = "' union select username, password from users -- ";
        let text = prose.repeat(30);
        let benign = model.normalized_margin(&normalize(text.as_bytes()));
        for at in (0..=text.len()).step_by(7).chain([text.len()]) {
            let mut v = text.clone();
            v.insert_str(at, payload);
            let m = model.normalized_margin(&normalize(v.as_bytes()));
            assert!(m > benign + 1.5, "payload at {at}: {m} vs {benign}");
        }
    }
}
