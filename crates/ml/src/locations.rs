//! Which parts of a request the classifier scores, one decoded value at a time: the path,
//! argument values and unusual argument names (query and body), cookies, free-form header
//! values, upload file names, and the raw body when it has no parsed fields.

use palisade_http::{BodyKind, RequestModel};

/// Where a value was found; turned into a ModSecurity-style target name only when reported.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Place<'r> {
    Path,
    ArgValue(&'r str),
    ArgName(&'r str),
    CookieValue(&'r str),
    CookieName(&'r str),
    Header(&'r str),
    FileName(&'r str),
    FileContent(&'r str),
    Body,
}

impl Place<'_> {
    pub fn target_name(&self) -> String {
        match self {
            Place::Path => "REQUEST_FILENAME".to_string(),
            Place::ArgValue(n) => format!("ARGS:{n}"),
            Place::ArgName(n) => format!("ARGS_NAMES:{n}"),
            Place::CookieValue(n) => format!("REQUEST_COOKIES:{n}"),
            Place::CookieName(n) => format!("REQUEST_COOKIES_NAMES:{n}"),
            Place::Header(n) => format!("REQUEST_HEADERS:{n}"),
            Place::FileName(n) => format!("FILES:{n}"),
            Place::FileContent(n) => format!("FILES_CONTENT:{n}"),
            Place::Body => "REQUEST_BODY".to_string(),
        }
    }
}

/// True for values no injection can be written in: only ASCII letters, digits and `_ - . , @`
/// (numbers, ids, slugs, plain words). They are not scored at all, which is both the
/// common case on the wire and a source of zero false positives.
pub fn is_trivial(value: &[u8]) -> bool {
    // Runs on every value of every request (~700 on a 20 KB JSON body): sixteen bytes at a
    // time where SSE2 is there (every x86-64), where a byte at a time took ~12
    // instructions per byte, ~45k per such body.
    if value.len() > MAX_TRIVIAL {
        return false;
    }
    #[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
    // SAFETY: the build targets SSE2 (checked by the cfg above).
    return unsafe { trivial_sse2::is_trivial(value) };
    #[cfg(not(all(target_arch = "x86_64", target_feature = "sse2")))]
    is_trivial_by_bytes(value)
}

/// [`is_trivial`] a byte at a time: its definition, which the SSE2 path must agree with.
#[cfg_attr(all(target_arch = "x86_64", target_feature = "sse2"), allow(dead_code))]
fn is_trivial_by_bytes(value: &[u8]) -> bool {
    if value.len() > MAX_TRIVIAL {
        return false;
    }
    let mut after_dot = false;
    for &b in value {
        if !TRIVIAL_VALUE_BYTE[b as usize] {
            return false;
        }
        let dot = b == b'.';
        if dot && after_dot {
            return false;
        }
        after_dot = dot;
    }
    true
}

#[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
mod trivial_sse2 {
    use std::arch::x86_64::{__m128i, _mm_loadu_si128, _mm_movemask_epi8, _mm_or_si128};

    use palisade_http::byte_classes::{equal, letter, within};
    use palisade_http::small::copy_short_into;

    /// [`super::is_trivial`] for a value of at most `MAX_TRIVIAL` bytes. Blocks of sixteen
    /// bytes, each starting fifteen after the one before (every pair of neighbouring bytes,
    /// a possible `..`, lies inside one block) and the last ending at the value's end; a
    /// value shorter than a block is copied into a zeroed one, its padding masked off.
    #[target_feature(enable = "sse2")]
    pub(super) fn is_trivial(value: &[u8]) -> bool {
        let n = value.len();
        if n < 16 {
            let mut block = [0u8; 16];
            copy_short_into(&mut block, value);
            return untrivial(&block) & ((1 << n) - 1) == 0;
        }
        let mut at = 0;
        loop {
            let Some(block) = value
                .get(at..at + 16)
                .and_then(|b| <&[u8; 16]>::try_from(b).ok())
            else {
                return false;
            };
            if untrivial(block) != 0 {
                return false;
            }
            if at + 16 == n {
                return true;
            }
            at = (at + 15).min(n - 16);
        }
    }

    /// One bit per byte of `block` that no trivial value holds, or that is a `.` followed by
    /// another.
    #[inline]
    #[target_feature(enable = "sse2")]
    fn untrivial(block: &[u8; 16]) -> u32 {
        // SAFETY: an unaligned load of exactly the 16 bytes of the array.
        let v: __m128i = unsafe { _mm_loadu_si128(block.as_ptr().cast()) };
        // letters, digits, `, - .` (one range), `_` and `@`
        let words = _mm_or_si128(letter(v), within(v, b'0', b'9'));
        let marks = _mm_or_si128(
            within(v, b',', b'.'),
            _mm_or_si128(equal(v, b'_'), equal(v, b'@')),
        );
        let trivial = _mm_movemask_epi8(_mm_or_si128(words, marks)) as u32;
        let dots = _mm_movemask_epi8(equal(v, b'.')) as u32;
        (!trivial & 0xffff) | (dots & (dots >> 1))
    }
}

/// Shortest normalized value that [`is_long_prose`] may skip, in bytes.
pub const MIN_PROSE_LEN: usize = 64;

/// True for a normalized value of at least [`MIN_PROSE_LEN`] bytes made only of ASCII
/// letters, digits, spaces and `. , ! ? -`, in words no longer than [`MAX_PROSE_WORD`]:
/// a paragraph of plain words (a message, a product note, a review); a long token (base64
/// or hex without padding, an encrypted cookie) is no paragraph and is scored. No
/// injection grammar but SQL's keyword-only forms (`order by 1`, `or true`, `union all
/// select 1,2,3`) can be written in those bytes, and those are short or carry keywords the
/// signatures match; the classifier, which reads a payload inside a paragraph as mostly
/// paragraph, adds nothing there. Scoring such a value cost ~140 instructions per byte (a
/// 2 KB message: more than the rest of the request's inspection), so it is not scored.
///
/// Two spaces in a row are refused too. A normalized value never has them (whitespace runs
/// are compressed), and with that rule the answer for a value *as sent* is the one for its
/// normalized form, so the classifier asks before normalizing (a copy and two passes over
/// a 2 KB message): such a value is only lowercased and its digits written as `0`, which
/// keeps its length, its words and every byte's class. Anything else is false here, and is
/// asked about again once normalized (`%20`, `&amp;`, double spaces).
pub fn is_long_prose(text: &[u8]) -> bool {
    if text.len() < MIN_PROSE_LEN {
        return false;
    }
    // Sixteen bytes at a time where SSE2 is there (every x86-64): a 2 KB message is checked
    // in a few vector operations per block instead of a lookup and two branches per byte.
    // Thirty-two bytes at a time where the processor has AVX2 (checked once, then a
    // cached flag).
    #[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
    if std::is_x86_feature_detected!("avx2") {
        // SAFETY: AVX2 is there (checked just above).
        return unsafe { avx2::prose(text) };
    }
    #[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
    // SAFETY: the build targets SSE2 (checked by the cfg above).
    return unsafe { sse2::prose(text) };
    #[cfg(not(all(target_arch = "x86_64", target_feature = "sse2")))]
    prose_from(text, ProseRun::default())
}

/// Where a scan of [`is_long_prose`] stands: the length of the word being read,
/// and whether the last byte was a space.
#[derive(Default, Clone, Copy)]
struct ProseRun {
    word: usize,
    after_space: bool,
}

/// [`is_long_prose`]'s byte rules over `bytes`, from `run` (the length was checked).
#[cfg_attr(all(target_arch = "x86_64", target_feature = "sse2"), allow(dead_code))]
fn prose_from(bytes: &[u8], mut run: ProseRun) -> bool {
    for &b in bytes {
        if !PROSE_BYTE[b as usize] {
            return false;
        }
        if b == b' ' {
            if run.after_space {
                return false;
            }
            run = ProseRun {
                word: 0,
                after_space: true,
            };
        } else {
            run.after_space = false;
            run.word += 1;
            if run.word > MAX_PROSE_WORD {
                return false;
            }
        }
    }
    true
}

#[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
mod sse2 {
    use std::arch::x86_64::{__m128i, _mm_loadu_si128, _mm_movemask_epi8, _mm_or_si128};

    use palisade_http::byte_classes::{equal, letter, within};

    use super::{prose_from, ProseRun, MAX_PROSE_WORD};

    /// [`super::is_long_prose`] past its length check: whole blocks of sixteen
    /// bytes as vectors, the rest (under sixteen) by the byte rules, from where the blocks
    /// left off.
    #[target_feature(enable = "sse2")]
    pub(super) fn prose(text: &[u8]) -> bool {
        let mut run = ProseRun::default();
        let mut blocks = text.chunks_exact(16);
        for block in blocks.by_ref() {
            // SAFETY: an unaligned load of exactly the sixteen bytes of the chunk.
            let v = unsafe { _mm_loadu_si128(block.as_ptr().cast()) };
            let (allowed, spaces) = masks(v);
            if !block_of_prose(&mut run, allowed, spaces) {
                return false;
            }
        }
        prose_from(blocks.remainder(), run)
    }

    /// The byte rules over one block of sixteen bytes, given as masks (bit i for byte i)
    /// of its prose bytes and its spaces, from `run`, which is updated.
    #[inline]
    pub(super) fn block_of_prose(run: &mut ProseRun, allowed: u32, spaces: u32) -> bool {
        // a byte outside prose, or two spaces in a row (within the block or across)
        if allowed != 0xffff || spaces & (spaces << 1) != 0 || (run.after_space && spaces & 1 != 0)
        {
            return false;
        }
        // The word running into the block goes on up to its first space (through the
        // whole block when there is none); the words between spaces are shorter than a
        // block, and the last one runs on into the next.
        let before_first_space = spaces.trailing_zeros().min(16) as usize;
        if run.word + before_first_space > MAX_PROSE_WORD {
            return false;
        }
        run.word = match spaces {
            0 => run.word + 16,
            _ => 15 - (31 - spaces.leading_zeros()) as usize,
        };
        run.after_space = spaces & 0x8000 != 0;
        true
    }

    /// Bit masks over the sixteen bytes of `v`: prose bytes (ASCII letters, digits, space
    /// and `. , ! ? -`), and spaces.
    #[inline]
    #[target_feature(enable = "sse2")]
    fn masks(v: __m128i) -> (u32, u32) {
        let is = |b: u8| equal(v, b);
        let space = is(b' ');
        // `,` `-` `.` are 0x2c..=0x2e
        let punctuation = _mm_or_si128(within(v, b',', b'.'), _mm_or_si128(is(b'!'), is(b'?')));
        let allowed = _mm_or_si128(
            _mm_or_si128(letter(v), within(v, b'0', b'9')),
            _mm_or_si128(space, punctuation),
        );
        (
            _mm_movemask_epi8(allowed) as u32,
            _mm_movemask_epi8(space) as u32,
        )
    }
}

/// [`is_long_prose`] with bytes classed thirty-two at a time by two table lookups
/// ([`palisade_http::byte_classes::nibbles`]), then the block rules applied to each half
/// as the SSE2 path applies them to its blocks.
#[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
mod avx2 {
    use std::arch::x86_64::{
        _mm256_cmpeq_epi8, _mm256_movemask_epi8, _mm256_set1_epi8, _mm256_setzero_si256,
    };

    use palisade_http::byte_classes::nibbles::{load, one, span, tables, Classifier};

    use super::sse2::block_of_prose;
    use super::{prose_from, ProseRun};

    /// Prose bytes, in rectangles of high × low halves: `A-O` `a-o`, `P-Z` `p-z`, digits,
    /// ` ! , - .` and `?`; the bits are not told apart.
    const TABLES: ([u8; 16], [u8; 16]) = tables(&[
        (1, one(4) | one(6), span(1, 0xf)),
        (2, one(5) | one(7), span(0, 0xa)),
        (4, one(3), span(0, 9)),
        (8, one(2), one(0) | one(1) | span(0xc, 0xe)),
        (16, one(3), one(0xf)),
    ]);

    /// [`super::is_long_prose`] past its length check: whole blocks of 32 bytes as
    /// vectors, the rest (under 32) by the byte rules, from where the blocks left off.
    #[target_feature(enable = "avx2")]
    pub(super) fn prose(text: &[u8]) -> bool {
        let classifier = Classifier::new(&TABLES);
        let (zero, space) = (_mm256_setzero_si256(), _mm256_set1_epi8(b' ' as i8));
        let mut run = ProseRun::default();
        let mut blocks = text.chunks_exact(32);
        for block in blocks.by_ref() {
            // (`chunks_exact`: every block is 32 bytes)
            let Ok(block) = block.try_into() else {
                return false;
            };
            let v = load(block);
            let outside = _mm256_cmpeq_epi8(classifier.classes(v), zero);
            let allowed = !(_mm256_movemask_epi8(outside) as u32);
            let spaces = _mm256_movemask_epi8(_mm256_cmpeq_epi8(v, space)) as u32;
            if !(block_of_prose(&mut run, allowed & 0xffff, spaces & 0xffff)
                && block_of_prose(&mut run, allowed >> 16, spaces >> 16))
            {
                return false;
            }
        }
        prose_from(blocks.remainder(), run)
    }
}

/// Longest word of an [`is_long_prose`] value, in bytes.
pub const MAX_PROSE_WORD: usize = 24;

/// Bytes of [`is_long_prose`] values.
const PROSE_BYTE: [bool; 256] = byte_set(b" .,!?-");

/// Longest value or name never scored, in bytes (see [`for_each_location`]).
pub const MAX_UNSCORED_LEN: usize = 2;

/// Longest trivial value or name, in bytes.
const MAX_TRIVIAL: usize = 128;

/// Bytes of trivial values: ASCII letters, digits and `_ - . , @`.
const TRIVIAL_VALUE_BYTE: [bool; 256] = byte_set(b"_-.,@");
/// Bytes of trivial names: ASCII letters, digits and `_ - . [ ] $`.
const TRIVIAL_NAME_BYTE: [bool; 256] = byte_set(b"_-.[]$");

/// ASCII letters and digits, and `extra`.
const fn byte_set(extra: &[u8]) -> [bool; 256] {
    let mut t = [false; 256];
    let mut i = 0;
    while i < 256 {
        t[i] = (i as u8).is_ascii_alphanumeric();
        i += 1;
    }
    let mut j = 0;
    while j < extra.len() {
        t[extra[j] as usize] = true;
        j += 1;
    }
    t
}

/// Calls `visit` for every location the classifier scores, in a fixed order.
pub fn for_each_location<'r>(
    request: &'r RequestModel,
    mut visit: impl FnMut(Place<'r>, &'r [u8]),
) {
    for_each_location_in(request, |place, value, _| visit(place, value));
}

/// A body argument's value being visited: its index in the body's arguments, and the
/// first argument of its name's chain (`Arg::name_repeats`: the same name but for array
/// index digits), when it has one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BodyArgValue {
    pub index: usize,
    pub first: Option<usize>,
}

/// [`for_each_location`], telling `visit_any` which body argument a value is, when it is
/// one: the values of a JSON array's items at one name are scored alike when they differ
/// only in digits (see `detector::worst_locations_remembering`).
pub fn for_each_location_in<'r>(
    request: &'r RequestModel,
    mut visit_any: impl FnMut(Place<'r>, &'r [u8], Option<BodyArgValue>),
) {
    // A value of one or two bytes carries no payload: `'`, `;`, `|` or `/` alone is a probe
    // at most, and far more often a form's delimiter or separator choice (a CSV import's
    // `delimiter=;`), which the model, trained on probes, scored as an attack on its own.
    let mut visit = |place: Place<'r>, value: &'r [u8], arg: Option<BodyArgValue>| {
        if value.len() > MAX_UNSCORED_LEN {
            visit_any(place, value, arg);
        }
    };
    let path = request.path_raw.as_bytes();
    if !is_trivial_path(path) {
        visit(Place::Path, path, None);
    }
    for arg in &request.args_get {
        if !is_trivial_name(&arg.name) {
            visit(Place::ArgName(&arg.name), arg.name.as_bytes(), None);
        }
        if !is_trivial(&arg.value) {
            visit(Place::ArgValue(&arg.name), &arg.value, None);
        }
    }
    if let Some(body) = &request.body {
        // Whether each body argument's name is trivial. A name that repeats an earlier one
        // but for array index digits (`Arg::name_repeats`, 700 of them in a 140-item order)
        // is trivial when that one is, digits being trivial bytes, as long as it is within
        // the length bound; other names are checked byte by byte.
        let mut trivial_names: Vec<bool> = Vec::with_capacity(body.args.len());
        for (index, arg) in body.args.iter().enumerate() {
            let first_trivial = arg
                .name_repeats
                .and_then(|first| trivial_names.get(first as usize).copied());
            let trivial_name = if first_trivial == Some(true) && arg.name.len() <= MAX_TRIVIAL {
                true
            } else {
                is_trivial_name(&arg.name)
            };
            debug_assert_eq!(trivial_name, is_trivial_name(&arg.name), "{}", arg.name);
            trivial_names.push(trivial_name);
            if !trivial_name {
                visit(Place::ArgName(&arg.name), arg.name.as_bytes(), None);
            }
            // (an inline-or-heap value: read once; the length first, as `visit` would)
            let value: &[u8] = &arg.value;
            if value.len() > MAX_UNSCORED_LEN && !is_trivial(value) {
                let first = arg.name_repeats.map(|first| first as usize);
                visit(
                    Place::ArgValue(&arg.name),
                    value,
                    Some(BodyArgValue { index, first }),
                );
            }
        }
    }
    // string literals of GraphQL documents sent as a `query` argument
    for arg in &request.graphql_args {
        if !is_trivial_name(&arg.name) {
            visit(Place::ArgName(&arg.name), arg.name.as_bytes(), None);
        }
        if !is_trivial(&arg.value) {
            visit(Place::ArgValue(&arg.name), &arg.value, None);
        }
    }
    for c in &request.cookies {
        if !is_trivial_name(&c.name) {
            visit(Place::CookieName(&c.name), c.name.as_bytes(), None);
        }
        if !is_trivial(&c.value) {
            visit(Place::CookieValue(&c.name), &c.value, None);
        }
    }
    for (name, value) in request.headers.iter() {
        if !palisade_http::is_structural_header(name) && !is_trivial(value) {
            visit(Place::Header(name), value, None);
        }
    }
    // A Cookie header that does not split into `name=value` pairs is not a cookie jar
    // (Shellshock's `() { :; };` splits into meaningless fragments): score it whole.
    if request
        .cookies
        .iter()
        .any(|c| c.value.is_empty() && !is_trivial_name(&c.name))
    {
        for value in request.headers.get_all("cookie") {
            visit(Place::Header("Cookie"), value, None);
        }
    }
    if let Some(body) = &request.body {
        for f in &body.files {
            if !is_trivial(f.filename.as_bytes()) {
                visit(Place::FileName(&f.field), f.filename.as_bytes(), None);
            }
            // Uploaded text (scripts, templates, config files) is where web shells travel;
            // binary uploads are skipped.
            let binary_part = f
                .content_type
                .as_deref()
                .is_some_and(|m| palisade_http::is_binary_media_type(&m.to_ascii_lowercase()))
                && !looks_like_text(&f.content);
            // a PDF is binary by format even when its bytes are ASCII (`<< /Type /Page >>`
            // is no text a person wrote); the upload lists still read it
            let pdf = f.content.starts_with(b"%PDF-");
            if !binary_part && !pdf && looks_like_text(&f.content) && !is_trivial(&f.content) {
                visit(Place::FileContent(&f.field), &f.content, None);
            }
        }
        let binary = request
            .mime_type()
            .is_some_and(|m| palisade_http::is_binary_media_type(&m));
        // Parsed bodies are scored field by field (above); the raw bytes are scored when
        // there are no fields, when parsing failed, for XML (a DOCTYPE is no field) and for
        // GraphQL (the document around its string arguments is what the client wrote).
        let raw_needed = matches!(body.kind, BodyKind::Raw | BodyKind::Xml | BodyKind::GraphQl)
            || !body.errors.is_empty();
        if raw_needed && !binary && !body.raw.is_empty() && !is_trivial(&body.raw) {
            visit(Place::Body, &body.raw, None);
        }
    }
}

/// No NUL bytes and at most 5% control bytes (other than whitespace) in the first 1 KB.
pub fn looks_like_text(v: &[u8]) -> bool {
    let head = &v[..v.len().min(1024)];
    let controls = head
        .iter()
        .filter(|&&b| b == 0 || (b < 0x20 && !matches!(b, b'\t' | b'\n' | b'\r')) || b == 0x7f)
        .count();
    !head.contains(&0) && controls * 20 <= head.len()
}

/// Argument names like `user[first_name]` or `items.0.sku` (form arrays, JSON leaf paths).
/// A per-byte test and a length bound: `for_each_location` relies on it to judge a name that
/// differs from an earlier one only in digits by that one.
pub fn is_trivial_name(name: &str) -> bool {
    name.len() <= MAX_TRIVIAL && name.bytes().all(|b| TRIVIAL_NAME_BYTE[b as usize])
}

/// Paths made of trivial segments separated by `/` (the vast majority) are not scored.
pub fn is_trivial_path(path: &[u8]) -> bool {
    path.split(|&b| b == b'/').all(is_trivial)
}

#[cfg(test)]
mod tests {
    use super::*;
    use palisade_http::Headers;

    #[test]
    fn trivial_checked_by_blocks_is_trivial_checked_by_bytes() {
        // Values over an alphabet of trivial bytes and their neighbours (`+ / : ? [ ^ {`,
        // bytes 0x80 and up, NUL), lengths across the block sizes and the length bound, and
        // `..` at every position of a trivial value.
        let alphabet = b"aZ09,-._@+/:?[^`{ \x00\x80\xff";
        let mut rng = xorshift(0x5851_f42d_4c95_7f2d);
        let (mut trivial, mut cases) = (0, 0);
        let mut check = |v: &[u8]| {
            let expected = is_trivial_by_bytes(v);
            assert_eq!(is_trivial(v), expected, "{:?}", String::from_utf8_lossy(v));
            trivial += usize::from(expected);
            cases += 1;
        };
        for _ in 0..50_000 {
            let len = (rng() % 140) as usize;
            // mostly trivial bytes, so that long trivial values occur
            let v: Vec<u8> = (0..len)
                .map(|_| {
                    let r = rng() as usize;
                    if r.is_multiple_of(8) {
                        alphabet[r / 8 % alphabet.len()]
                    } else {
                        b"ab9.-_"[r / 8 % 6]
                    }
                })
                .collect();
            check(&v);
        }
        for len in [2, 15, 16, 17, 30, 31, 32, 33, 47, 128, 129] {
            let base: Vec<u8> = (0..len).map(|i| b"abc1_-@"[i % 7]).collect();
            check(&base);
            for at in 0..len - 1 {
                let mut v = base.clone();
                v[at] = b'.';
                v[at + 1] = b'.';
                check(&v);
            }
        }
        // both answers occur in quantity
        assert!(
            trivial > 2_000 && cases - trivial > 2_000,
            "{trivial} of {cases}"
        );
    }

    /// A seeded xorshift64 generator.
    fn xorshift(mut seed: u64) -> impl FnMut() -> u64 {
        move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        }
    }

    #[test]
    fn prose_checked_by_blocks_is_prose_checked_by_bytes() {
        // words of every length around the limit, at every offset from a block boundary,
        // double spaces and foreign bytes at every position
        let mut cases: Vec<Vec<u8>> = Vec::new();
        for word in [1usize, 15, 16, 17, 23, 24, 25, 31, 32, 40] {
            for offset in 0..20 {
                let mut v = "ab ".repeat(offset).into_bytes();
                v.extend(std::iter::repeat_n(b'W', word));
                v.extend_from_slice(" the end of it all, said she!".repeat(3).as_bytes());
                cases.push(v);
            }
        }
        let base = "Hello team, I would like to change the delivery address for order 17? ";
        let base = base.repeat(2).into_bytes();
        for at in 0..base.len() {
            for b in [b' ', b'\'', 0xc3, b'_', b'Z'] {
                let mut v = base.clone();
                v[at] = b;
                cases.push(v.clone());
                v.insert(at, b' ');
                cases.push(v);
            }
        }
        let mut claimed = 0;
        for v in &cases {
            let by_bytes = v.len() >= MIN_PROSE_LEN && prose_from(v, ProseRun::default());
            assert_eq!(is_long_prose(v), by_bytes, "{}", String::from_utf8_lossy(v));
            // the SSE2 path too where AVX2 took the call above
            #[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
            if v.len() >= MIN_PROSE_LEN {
                // SAFETY: the build targets SSE2 (checked by the cfg above).
                let by_sse2 = unsafe { sse2::prose(v) };
                assert_eq!(by_sse2, by_bytes, "{}", String::from_utf8_lossy(v));
            }
            claimed += usize::from(by_bytes);
        }
        // both answers occur
        assert!(claimed > 100 && claimed < cases.len() - 100, "{claimed}");
    }

    #[test]
    fn prose_as_sent_is_prose_once_normalized() {
        let para = "Hello team, I would like to change the delivery address for order 17. ";
        let long = para.repeat(2);
        let cases = [
            long.clone(),
            long.to_uppercase(),
            long.replace(' ', "  "),      // normalizing compresses them
            long.replace("17", "%31%37"), // and decodes these
            long.replace(',', "&#44;"),   // and these
            format!("{long}x{}", "y".repeat(30)), // a word too long
            long[..MIN_PROSE_LEN - 1].to_string(), // too short
            format!("{long}'"),           // not a prose byte
            format!("{}{}", "ab ".repeat(20), "  c d"), // short once compressed
        ];
        for value in &cases {
            let v = value.as_bytes();
            let normalized = is_long_prose(&crate::features::normalize(v));
            // never claimed where normalizing would disagree
            assert!(!is_long_prose(v) || normalized, "{value}");
            // and claimed for what needs no more than lowercasing and zeroing digits
            let simple = !value.contains("  ") && !value.contains(['%', '&']);
            assert_eq!(is_long_prose(v), normalized && simple, "{value}");
        }
        assert!(is_long_prose(long.as_bytes()));
    }

    #[test]
    fn trivial_values_and_names_match_their_definitions() {
        let value_def = |v: &[u8]| {
            v.len() <= 128
                && v.iter().all(|&b| {
                    b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.' | b',' | b'@')
                })
                && !v.windows(2).any(|w| w == b"..")
        };
        let name_def = |v: &[u8]| {
            v.len() <= 128
                && v.iter().all(|&b| {
                    b.is_ascii_alphanumeric()
                        || matches!(b, b'_' | b'-' | b'.' | b'[' | b']' | b'$')
                })
        };
        let alphabet = b"aZ09_-.,@[]$ '%\xc3";
        let mut state = 0x2545_f491_4f6c_dd1du64;
        let mut next = || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        for i in 0..20_000 {
            let len = (next() % if i % 50 == 0 { 200 } else { 12 }) as usize;
            let v: Vec<u8> = (0..len)
                .map(|_| alphabet[(next() % alphabet.len() as u64) as usize])
                .collect();
            assert_eq!(
                is_trivial(&v),
                value_def(&v),
                "{:?}",
                String::from_utf8_lossy(&v)
            );
            if let Ok(name) = std::str::from_utf8(&v) {
                assert_eq!(is_trivial_name(name), name_def(&v), "{name:?}");
            }
        }
        // every single byte
        for b in 0..=255u8 {
            assert_eq!(is_trivial(&[b]), value_def(&[b]), "{b}");
        }
        assert!(is_trivial(&[b'a'; 128]) && !is_trivial(&[b'a'; 129]));
    }

    #[test]
    fn repeated_json_names_are_judged_as_if_checked_one_by_one() {
        // Keys trivial and not, and long ones whose names cross the length bound only
        // once the index has more digits (items.9.k is 1 byte shorter than items.10.k).
        let long = "k".repeat(MAX_TRIVIAL - "items.0.".len());
        for key in ["sku", "my key", "a$b", long.as_str(), &long[1..]] {
            for count in [1, 2, 11, 101] {
                let items: Vec<String> = (0..count)
                    .map(|i| format!(r#"{{"{key}":"v{i}","n":{i}}}"#))
                    .collect();
                let body = format!(r#"{{"items":[{}]}}"#, items.join(","));
                let mut h = Headers::default();
                h.push("Content-Type", b"application/json".to_vec());
                let mut r = RequestModel::from_head("POST", "/orders", "HTTP/1.1", h);
                r.attach_body(body.into_bytes(), false);
                let mut names = Vec::new();
                for_each_location(&r, |p, _| {
                    if let Place::ArgName(n) = p {
                        names.push(n.to_string());
                    }
                });
                let args = &r.body.as_ref().expect("body").args;
                assert!(count < 2 || args.iter().any(|a| a.name_repeats.is_some()));
                let expected: Vec<String> = args
                    .iter()
                    .filter(|a| !is_trivial_name(&a.name))
                    .map(|a| a.name.to_string())
                    .collect();
                assert_eq!(names, expected, "key {key:?}, {count} items");
            }
        }
    }

    #[test]
    fn visits_decoded_arguments_cookies_and_free_headers_only() {
        let mut h = Headers::default();
        h.push("Host", b"x".to_vec());
        h.push("User-Agent", b"Mozilla/5.0 (X11)".to_vec());
        h.push("Cookie", b"sid=abc123; pref=%7B%22a%22%3A1%7D".to_vec());
        h.push(
            "Content-Type",
            b"application/x-www-form-urlencoded".to_vec(),
        );
        let mut r = RequestModel::from_head("POST", "/a/b.php?id=1&q=x%27+or+1%3D1", "HTTP/1.1", h);
        r.attach_body(b"comment=hi+there%21".to_vec(), false);
        let mut seen = Vec::new();
        for_each_location(&r, |p, v| {
            seen.push((p.target_name(), String::from_utf8_lossy(v).into_owned()))
        });
        assert_eq!(
            seen,
            vec![
                ("ARGS:q".to_string(), "x' or 1=1".to_string()),
                ("ARGS:comment".to_string(), "hi there!".to_string()),
                (
                    "REQUEST_COOKIES:pref".to_string(),
                    "%7B%22a%22%3A1%7D".to_string()
                ),
                (
                    "REQUEST_HEADERS:User-Agent".to_string(),
                    "Mozilla/5.0 (X11)".to_string()
                ),
            ]
        );
    }

    #[test]
    fn values_of_one_or_two_bytes_are_not_scored() {
        let mut h = Headers::default();
        h.push(
            "Content-Type",
            b"application/x-www-form-urlencoded".to_vec(),
        );
        let mut r = RequestModel::from_head("POST", "/import?sep=%3B&q=%27", "HTTP/1.1", h);
        r.attach_body(b"delimiter=%7C%7C&quote=%27--&%3C=x".to_vec(), false);
        let mut seen = Vec::new();
        for_each_location(&r, |p, v| {
            seen.push((p.target_name(), String::from_utf8_lossy(v).into_owned()))
        });
        // `;`, `'`, `||` and the name `<` are left out; three bytes are scored
        assert_eq!(seen, vec![("ARGS:quote".to_string(), "'--".to_string())]);
    }
}
