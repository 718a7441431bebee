//! libinjection-class SQL injection and XSS detection.
//!
//! This crate owns the two detectors behind the SecLang operators `@detectSQLi` and
//! `@detectXSS` (CRS rules 942100, 941100, 941101): given one already-transformed value, say
//! whether it is SQL injection (and with which libinjection fingerprint, e.g. `s&1c`, which
//! CRS logs as `TX:0`) or cross-site scripting. It does not know about requests, variables or
//! transformations; callers extract and decode the values first (CRS 942100 applies
//! `utf8toUnicode,urlDecodeUni,removeNulls`).
//!
//! ```
//! use palisade_injection::{detect_sqli, detect_xss};
//!
//! assert_eq!(detect_sqli(b"1' or '1'='1").unwrap().as_str(), "s&sos");
//! assert_eq!(detect_sqli(b"O'Reilly"), None);
//! assert!(detect_xss(b"<img src=x onerror=alert(1)>"));
//! assert!(!detect_xss(b"<b>bold</b>"));
//! ```
//!
//! # Semantics
//!
//! * **SQLi** is libinjection's: the input is tokenized as SQL as-is, then as if it followed a
//!   single quote, then a double quote (each with ANSI and, when comments call for it, MySQL
//!   comment rules); tokens are folded into a fingerprint of at most five token types, looked
//!   up in libinjection's fingerprint table and checked against its false-positive
//!   heuristics. Verdicts and fingerprints are identical to the C library v3.9.2 (what
//!   ModSecurity 3 bundles) on ~1.1 million differential inputs (payload collections,
//!   benign query values, their random mutations, NUL-byte insertions) and the known-answer
//!   tests, except one input with a NUL right after `$` (see `nul_as_space`).
//! * **XSS** is libinjection's HTML5 tokenizer run in five contexts (text, unquoted /
//!   single-quoted / double-quoted attribute value, after a backtick), flagging dangerous
//!   tags (`script`, `iframe`, `svg*`, `xsl*`, ...), `style` and URL-taking attributes with
//!   `javascript:` / `data:` / `vbscript:` / `view-source:` values, and `on*` attributes
//!   whose rest is a known DOM event name. That last rule follows libinjection 4.x and
//!   Coraza's port (an exact event list); 3.9.x builds differ among themselves there (any
//!   `on*` name vs a prefix list), which is the only disagreement with the C 3.9.2 reference
//!   in the differential run (93 of ~1 million inputs, all `on*` names).
//!
//! # Cost
//!
//! Linear in the input, no recursion that depends on it (1 MiB inputs run on a 256 KiB
//! stack in the tests). Release build, `cargo bench -p palisade-injection --bench detect`
//! (2026-12-06, the shared 2-core machine; the SQLi engine's ratio to the `libinjectionrs`
//! port it replaced is measured in the same run):
//!
//! | values                             | `detect_sqli` | engine vs port | `detect_xss` |
//! |------------------------------------|---------------|----------------|--------------|
//! | `corpus/benign` args (2012, 43 B)  | 134 MB/s      | 4.7x           | 463 MB/s     |
//! | those reaching the engine (74 B)   | 132 MB/s      | 4.5x           | 463 MB/s     |
//! | typical benign args (avg 50 B)     | 188 MB/s      | 7.8x           | 731 MB/s     |
//! | typical attack args (avg 35 B)     | 91 MB/s       | 7.0x           | 509 MB/s     |
//! | 2 KiB plain phrase                 | 3500 MB/s     | 7.4x           | 40000 MB/s   |
//! | 4 KiB prose                        | 8100 MB/s     | 6.5x           | 52000 MB/s   |
//! | 64 KiB adversarial runs (worst)    | 50 MB/s       | 0.9x–17x       | 158 MB/s     |
//!
//! Values that cannot match skip the engines (see `is_single_word`, `is_plain_phrase` and
//! `may_be_xss`).
//!
//! # Known gaps
//!
//! * libinjection's own blind spots stay blind: bare `javascript:` URLs outside an
//!   attribute, split tags such as `<scr<script>ipt>`, JavaScript string break-outs
//!   (`';alert(1)//`), keyword splitting with inline comments (`UN/**/ION`). Other CRS rules
//!   cover those; the attack-corpus test lists every miss.
//! * libinjection flags some benign text (see `tests/corpus.rs` for the measured rate and
//!   every case): prose with quotes and `or`, SQL-looking API parameters, HTML with `style`
//!   attributes or `<iframe>`.
//!
//! # Implementation
//!
//! The SQLi engine is our own (`src/sqli.rs`): libinjection's algorithm over the data tables
//! of the pure-Rust `libinjectionrs` port (BSD-3-Clause, pinned to 0.1.1), which it replaced
//! because of the port's per-call costs (keyword lookups through upper-cased `String`s and a
//! binary search, tokens zeroed and cloned). The port stays as the reference:
//! `tests/sqli_differential.rs` requires the same verdict and fingerprint on ~1.3 million
//! values per run (payload collections, benign traffic, mutations, random SQL fragments;
//! `SQLI_DIFF_SCALE=20` runs twenty times as many). The XSS engine is still the port's HTML5
//! tokenizer. The port was checked here for panics (millions of random and mutated inputs
//! with overflow checks on, plus `fuzz/fuzz_targets/injection.rs`) and for time and stack use
//! on pathological inputs before it was adopted; none of those found a problem, so no
//! `catch_unwind` is used.

use std::fmt;

mod sqli;

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
        // `from_raw` only admits token-type characters (ASCII), so this cannot fail; fall
        // back to "" rather than panic should that invariant ever be broken.
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

/// Fingerprint reported if the engine ever said "SQLi" without a well-formed fingerprint:
/// `X`, libinjection's own "unparsable" token type. A WAF fails closed, and this never
/// happened in testing (the tests check every fingerprint against the alphabet).
const FALLBACK: Fingerprint = Fingerprint {
    bytes: [b'X', 0, 0, 0, 0],
    len: 1,
};

/// Detects SQL injection the way libinjection's `libinjection_sqli()` does.
///
/// Returns the fingerprint of the context that matched when `input` is SQLi, `None`
/// otherwise (also for empty input). Runs in time linear in `input.len()`.
///
/// ```
/// let fp = palisade_injection::detect_sqli(b"1 UNION SELECT password FROM users--");
/// assert_eq!(fp.map(|f| f.to_string()).as_deref(), Some("1UEnk"));
/// ```
pub fn detect_sqli(input: &[u8]) -> Option<Fingerprint> {
    if sqli_is_trivial(input) || is_plain_phrase(input) {
        return None;
    }
    engine_sqli(input)
}

/// True when [`detect_sqli`] answers `None` for `input` without running the engine (empty
/// input, or a single word as `is_single_word` describes): a caller that caches verdicts
/// need not cache these.
pub fn sqli_is_trivial(input: &[u8]) -> bool {
    input.is_empty() || is_single_word(input) || is_decimal(input) || is_dotted_bareword(input)
}

/// True when [`detect_sqli`] runs the engine for `input`: neither trivial
/// ([`sqli_is_trivial`]) nor a plain phrase. A caller keeping verdicts across requests
/// checks this first and calls [`sqli_engine`] on a miss.
pub fn sqli_runs_engine(input: &[u8]) -> bool {
    !sqli_is_trivial(input) && !is_plain_phrase(input)
}

/// The engine's verdict alone, without [`detect_sqli`]'s shortcuts: for input
/// [`sqli_runs_engine`] holds for, the same answer as [`detect_sqli`].
pub fn sqli_engine(input: &[u8]) -> Option<Fingerprint> {
    engine_sqli(input)
}

/// True when [`detect_xss`] answers `false` for `input` without running the engine (no
/// `<` and no `=`, see `may_be_xss`).
pub fn xss_is_trivial(input: &[u8]) -> bool {
    !may_be_xss(input)
}

/// True when `input` is only ASCII letters, digits and `_`: most identifiers, numbers and
/// tokens an application receives. libinjection cannot call such input SQLi: the SQL
/// tokenizer turns it into at most two tokens (an optional number, then one word that
/// swallows every following word character), none of the quote or comment re-parses apply,
/// and the only blacklisted fingerprint of that shape, `1U` (`1union`), is whitelisted when
/// the input has exactly two tokens. Skipping the engine saves its per-call cost on such
/// values (~0.5 µs for a short value; a few µs with the port it replaced);
/// `tests::single_words_are_never_sqli` checks the claim against the engine.
fn is_single_word(input: &[u8]) -> bool {
    input
        .iter()
        .all(|&b| b.is_ascii_alphanumeric() || b == b'_')
}

/// True for `123`, `45.99` and `7.`: ASCII digits with at most one `.` after the first
/// digit. The SQL tokenizer reads such input as one number token (`parse_number`: the
/// digits, the `.` and the digits after it; no `0x`/`0b` prefix, exponent or `d`/`f`
/// suffix can start without a letter), so the fingerprint is `1`, which is not
/// blacklisted; no quote or comment re-parse applies. `tests::sqli_shortcuts_agree_with_the_engine`
/// checks the claim against the engine.
fn is_decimal(input: &[u8]) -> bool {
    let Some((first, rest)) = input.split_first() else {
        return false;
    };
    let mut dots = 0;
    first.is_ascii_digit()
        && rest.iter().all(|&b| {
            dots += usize::from(b == b'.');
            b.is_ascii_digit() || (b == b'.' && dots == 1)
        })
}

/// True for dotted names such as `items.12.sku` or `customer.email` that the SQL
/// tokenizer reads as one bareword: ASCII letters, digits, `_` and `.`, starting with a
/// byte the tokenizer's character map sends straight to `parse_word`, where no text before
/// a `.` and not the whole input is a SQL keyword. `parse_word` takes the whole input as
/// one word (none of these bytes ends a word) and splits it only at a `.` whose prefix
/// is a keyword; the word's own lookup then keeps it a bareword. A one-token fingerprint
/// `n` is not blacklisted, and no quote or comment re-parse applies, so the verdict is
/// "not SQLi" without running the engine (which does these same keyword lookups and much
/// more). `tests::sqli_shortcuts_agree_with_the_engine` checks the claim.
fn is_dotted_bareword(input: &[u8]) -> bool {
    use libinjectionrs::sqli::sqli_data::{get_char_type, CharType};
    let Some(&first) = input.first() else {
        return false;
    };
    if get_char_type(first) != CharType::Word
        || !input
            .iter()
            .all(|&b| b.is_ascii_alphanumeric() || b == b'_' || b == b'.')
    {
        return false;
    }
    let keywords = keywords();
    let mut dots = input
        .iter()
        .enumerate()
        .filter(|&(_, &b)| b == b'.')
        .map(|(i, _)| i);
    let Some(first) = dots.next() else {
        return !keywords.contains(input);
    };
    let head = &input[..first];
    if keywords.contains(head) {
        return false;
    }
    // every longer prefix, and the input, holds a `.` after this same head: no keyword
    // unless a dotted one starts so (one lookup for `items.12.sku` instead of three)
    if !keywords
        .dotted_heads
        .iter()
        .any(|h| h.eq_ignore_ascii_case(head))
    {
        return true;
    }
    dots.all(|i| !keywords.contains(&input[..i])) && !keywords.contains(input)
}

/// True for phrases such as `Trail running shoe model 17`: words of ASCII letters, digits
/// and `_` separated by spaces, where each word is digits alone (a number token) or starts
/// with a byte the tokenizer sends to `parse_word` and is no keyword, and no two adjacent
/// words joined by a space are a keyword either (the folder merges two barewords into a
/// multi-word keyword such as `ORDER BY`). Every token is then a bareword or a number, so
/// the fingerprint is made of `n` and `1` alone, and no such fingerprint is blacklisted
/// (`tests::no_fingerprint_of_barewords_and_numbers_is_blacklisted`); no quote or comment
/// re-parse applies. Product names, addresses and free-text fields of JSON bodies are
/// mostly such phrases, each distinct one a full engine run (~4 µs) before.
/// `tests::plain_phrases_are_never_sqli` checks the claim against the engine. Part of
/// `detect_sqli`, not of `sqli_is_trivial`: with a lookup per word it costs more than the
/// cached verdict a caller keeps per distinct value (a JSON array repeats the same note).
fn is_plain_phrase(input: &[u8]) -> bool {
    use libinjectionrs::sqli::sqli_data::{get_char_type, CharType};
    if !all_phrase_bytes(input) {
        return false;
    }
    let keywords = keywords();
    let mut previous: Option<&[u8]> = None;
    for word in input.split(|&b| b == b' ').filter(|w| !w.is_empty()) {
        if word[0].is_ascii_digit() {
            // `1e5`, `0x1f`, `1union`: the number parser's business
            if !word.iter().all(u8::is_ascii_digit) {
                return false;
            }
            previous = None;
            continue;
        }
        // long words: token values are truncated; leave them to the engine
        if get_char_type(word[0]) != CharType::Word || word.len() > 24 || keywords.contains(word) {
            return false;
        }
        if let Some(p) = previous.filter(|p| {
            // (the pair's shape first: most pairs of a phrase have none of an entry)
            let n = p.len() + 1 + word.len();
            keywords
                .pair_shapes
                .may_hold_shape(n, p[0], word[word.len() - 1])
        }) {
            let mut pair = [0u8; 64];
            let n = p.len() + 1 + word.len();
            pair[..p.len()].copy_from_slice(p);
            pair[p.len()] = b' ';
            pair[p.len() + 1..n].copy_from_slice(word);
            pair[..n].make_ascii_uppercase();
            let pair = &pair[..n];
            if keywords.contains(pair) || multi_word_entries().contains(pair) {
                return false;
            }
        }
        previous = Some(word);
    }
    true
}

/// Whether every byte of `input` is an ASCII letter, digit, `_` or space: in blocks of 32
/// bytes tested without a branch per byte, which the compiler turns into vector compares
/// (a byte loop that stops at the first other byte cost ~2 cycles a byte on a form's 2 KB
/// message).
fn all_phrase_bytes(input: &[u8]) -> bool {
    let phrase = |bytes: &[u8]| {
        bytes.iter().fold(true, |all, &b| {
            let letter = (b | 0x20).wrapping_sub(b'a') < 26;
            let digit = b.wrapping_sub(b'0') < 10;
            all & (letter | digit | (b == b'_') | (b == b' '))
        })
    };
    let mut blocks = input.chunks_exact(32);
    blocks.all(phrase) && phrase(blocks.remainder())
}

/// Every multi-word entry of the keyword table, whatever its type, upper case: the folder
/// merges two words whenever their pair is an entry, a bareword one included (`AT TIME`,
/// which then merges with `ZONE` into a keyword).
fn multi_word_entries() -> &'static std::collections::HashSet<&'static [u8], KeywordHash> {
    use libinjectionrs::sqli::sqli_data::SQL_KEYWORDS;
    static ENTRIES: std::sync::OnceLock<std::collections::HashSet<&'static [u8], KeywordHash>> =
        std::sync::OnceLock::new();
    ENTRIES.get_or_init(|| {
        SQL_KEYWORDS
            .iter()
            .map(|k| k.word.as_bytes())
            .filter(|w| w.contains(&b' '))
            .collect()
    })
}

/// The words the SQL tokenizer's keyword lookup (`lookup_word`: the word in upper case,
/// searched in the keyword table) may give a type other than bareword, upper case.
struct Keywords {
    words: std::collections::HashSet<&'static [u8], KeywordHash>,
    longest: usize,
    /// What comes before the first `.` of the dotted words (`SYS` of `SYS.STRAGG`): a word
    /// holding a `.` can only be a keyword if it starts with one of these.
    dotted_heads: Vec<&'static [u8]>,
    /// The shapes of `words`, and of `words` and the multi-word entries (for word pairs).
    shapes: Shapes,
    pair_shapes: Shapes,
}

/// The (length, first byte, last byte) shapes of a set of words, ASCII case ignored and
/// bytes taken modulo 64, lengths modulo 32: a word whose shape is not in the set is not in
/// the set, which most words of a product name or a sentence learn without being
/// upper-cased and hashed (a plain phrase's words and pairs were ~3 k instructions).
struct Shapes(Box<[u64; 2048]>);

impl Shapes {
    fn of(words: impl IntoIterator<Item = &'static [u8]>) -> Shapes {
        let mut table = Box::new([0u64; 2048]);
        for w in words {
            if let Some((row, bit)) = Shapes::key(w) {
                table[row] |= bit;
            }
        }
        Shapes(table)
    }

    fn key(word: &[u8]) -> Option<(usize, u64)> {
        let (first, last) = (word.first()?, word.last()?);
        Some(Shapes::key_of(word.len(), *first, *last))
    }

    fn key_of(len: usize, first: u8, last: u8) -> (usize, u64) {
        let row = (len & 31) << 6 | usize::from(first.to_ascii_uppercase() & 63);
        (row, 1u64 << (last.to_ascii_uppercase() & 63))
    }

    /// [`Shapes::may_hold`] for a word of `len` bytes from `first` to `last`.
    fn may_hold_shape(&self, len: usize, first: u8, last: u8) -> bool {
        let (row, bit) = Shapes::key_of(len, first, last);
        self.0[row] & bit != 0
    }

    /// False only when `word` is not in the set.
    fn may_hold(&self, word: &[u8]) -> bool {
        Shapes::key(word).is_none_or(|(row, bit)| self.0[row] & bit != 0)
    }
}

/// The keyword set's hasher: a multiply-rotate over 8-byte words (rustc's Fx scheme).
/// The keys are the fixed keyword table and lookups only ask whether a word is in it, so
/// the flooding resistance of the default SipHash buys nothing here, while its cost was
/// most of `sqli_is_trivial` on a JSON body's ~700 dotted names (`items.12.sku`).
#[derive(Default, Clone, Copy)]
struct KeywordHasher(u64);

impl std::hash::Hasher for KeywordHasher {
    fn write(&mut self, bytes: &[u8]) {
        let mut add =
            |w: u64| self.0 = (self.0.rotate_left(5) ^ w).wrapping_mul(0x517c_c1b7_2722_0a95);
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            let mut w = [0u8; 8];
            w.copy_from_slice(c);
            add(u64::from_le_bytes(w));
        }
        let rest = chunks.remainder();
        let mut w = [0u8; 8];
        w[..rest.len()].copy_from_slice(rest);
        add(u64::from_le_bytes(w) ^ ((rest.len() as u64) << 59));
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

type KeywordHash = std::hash::BuildHasherDefault<KeywordHasher>;

impl Keywords {
    /// Whether `word` may be a keyword (an over-approximation is harmless: the caller
    /// then leaves the verdict to the engine).
    fn contains(&self, word: &[u8]) -> bool {
        if word.len() > self.longest {
            return false;
        }
        if word.len() > 64 {
            return true;
        }
        if !self.shapes.may_hold(word) {
            return false;
        }
        let mut upper = [0u8; 64];
        let upper = &mut upper[..word.len()];
        upper.copy_from_slice(word);
        upper.make_ascii_uppercase();
        self.words.contains(&upper[..])
    }
}

fn keywords() -> &'static Keywords {
    use libinjectionrs::sqli::sqli_data::{lookup_word, SQL_KEYWORDS};
    use libinjectionrs::sqli::TokenType;
    static KEYWORDS: std::sync::OnceLock<Keywords> = std::sync::OnceLock::new();
    KEYWORDS.get_or_init(|| {
        let words: std::collections::HashSet<&'static [u8]> = SQL_KEYWORDS
            .iter()
            .filter(|k| lookup_word(k.word) != TokenType::Bareword)
            .map(|k| k.word.as_bytes())
            .collect();
        // a table entry the lookup cannot find is a bareword to it; keep it anyway
        let words: std::collections::HashSet<&'static [u8], KeywordHash> = words
            .into_iter()
            .chain(
                SQL_KEYWORDS
                    .iter()
                    .filter(|k| !matches!(k.token_type, b'n'))
                    .map(|k| k.word.as_bytes()),
            )
            .collect();
        let longest = words.iter().map(|w| w.len()).max().unwrap_or(0);
        let mut dotted_heads: Vec<&'static [u8]> = words
            .iter()
            .filter_map(|w| w.split(|&b| b == b'.').next().filter(|h| h.len() < w.len()))
            .collect();
        dotted_heads.sort_unstable();
        dotted_heads.dedup();
        let shapes = Shapes::of(words.iter().copied());
        let pair_shapes = Shapes::of(
            words
                .iter()
                .copied()
                .chain(multi_word_entries().iter().copied()),
        );
        Keywords {
            words,
            longest,
            dotted_heads,
            shapes,
            pair_shapes,
        }
    })
}

/// The libinjection SQLi engine itself, without the shortcut.
fn engine_sqli(input: &[u8]) -> Option<Fingerprint> {
    let input = nul_as_space(input);
    sqli::detect(&input).map(|fp| Fingerprint::from_raw(&fp).unwrap_or(FALLBACK))
}

/// The `libinjectionrs` port's verdict, with the same NUL handling as [`detect_sqli`]'s
/// engine: the reference our own engine (`src/sqli.rs`) is tested against. Not for
/// production use (several times slower).
#[doc(hidden)]
pub fn port_sqli(input: &[u8]) -> Option<Fingerprint> {
    let input = nul_as_space(input);
    let mut state = libinjectionrs::SqliState::new(&input, libinjectionrs::SqliFlags::FLAG_NONE);
    if state.detect() {
        // After a positive `detect`, the state's fingerprint buffer holds the fingerprint of
        // the context that matched (as in C, where `sql_state.fingerprint` is read).
        Some(Fingerprint::from_raw(&state.fingerprint).unwrap_or(FALLBACK))
    } else {
        None
    }
}

/// Detects cross-site scripting the way libinjection's `libinjection_xss()` does.
///
/// ```
/// assert!(palisade_injection::detect_xss(b"\"><svg/onload=alert(1)>"));
/// assert!(!palisade_injection::detect_xss(b"5 > 3 and 2 < 4"));
/// ```
pub fn detect_xss(input: &[u8]) -> bool {
    if !may_be_xss(input) {
        return false;
    }
    engine_xss(input)
}

/// libinjection's XSS verdicts all come from a tag (`<tag`, `<!DOCTYPE`, `<!--`, `<?`: a
/// `<` is needed) or from an attribute value that follows a dangerous attribute name, and
/// the HTML5 tokenizer only enters an attribute value after a name on `=` (the value the
/// input starts with in the attribute contexts has no name before it). So input with
/// neither byte is never XSS; most benign values have neither, and this check is a single
/// fast scan. `tests::no_lt_or_eq_is_never_xss` checks the claim against the engine.
fn may_be_xss(input: &[u8]) -> bool {
    // (a vector search: the byte loop was a tenth of a form's scan, on its long message)
    memchr::memchr2(b'<', b'=', input).is_some()
}

/// NUL bytes as spaces, for the SQL tokenizer. The C library scans words, variables and
/// other runs with `strchr`-based character sets, and `strchr` finds the terminating NUL of
/// its set, so to C a NUL byte ends a word (and is then skipped as whitespace: the character
/// map classes it as white). The Rust port treats NUL as an ordinary word character, so
/// `@@V\0ERSION` was one variable instead of `@@V`, `ERSION`, and its verdicts differed on
/// NUL-bearing input (13 of 150 000 mutated values in a differential run; 1 after this
/// mapping, a `$` followed by NUL where C counts the NUL as a digit of a money literal).
/// Outside words the mapping is neutral: NUL was already whitespace, and string and comment
/// contents do not affect fingerprints. CRS runs `t:removeNulls` first, so this only matters
/// to direct callers. Borrows unless the input has a NUL.
fn nul_as_space(input: &[u8]) -> std::borrow::Cow<'_, [u8]> {
    if input.contains(&0) {
        std::borrow::Cow::Owned(
            input
                .iter()
                .map(|&b| if b == 0 { b' ' } else { b })
                .collect(),
        )
    } else {
        std::borrow::Cow::Borrowed(input)
    }
}

/// The libinjection XSS engine itself, without the shortcut.
fn engine_xss(input: &[u8]) -> bool {
    !input.is_empty() && libinjectionrs::detect_xss(input).is_injection()
}

#[cfg(test)]
mod tests {
    /// The block test agrees with the byte rule on every byte, at every position of
    /// values around the block size.
    #[test]
    fn phrase_bytes_agree_with_the_byte_rule() {
        let rule = |b: u8| b.is_ascii_alphanumeric() || b == b'_' || b == b' ';
        for b in 0..=255u8 {
            for len in [1usize, 31, 32, 33, 64, 70] {
                for at in [0, len / 2, len - 1] {
                    let mut value = vec![b'a'; len];
                    value[at] = b;
                    assert_eq!(
                        super::all_phrase_bytes(&value),
                        rule(b),
                        "{b:#x} at {at} of {len}"
                    );
                }
            }
        }
        assert!(super::all_phrase_bytes(b""));
    }

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

    /// What the trivial checks promise: no engine run is needed, the answer is "no".
    #[test]
    fn trivial_inputs_are_the_engine_free_negatives() {
        for v in [&b""[..], b"abc_1", b"SELECT", b"1union"] {
            assert!(sqli_is_trivial(v), "{v:?}");
            assert_eq!(detect_sqli(v), None);
            assert_eq!(engine_sqli(v).filter(|_| !v.is_empty()), None);
        }
        for v in [&b"1 or 1=1"[..], b"a;b", b"1.2.3", b"x'"] {
            assert!(!sqli_is_trivial(v), "{v:?}");
        }
        for v in [&b"onload alert(1)"[..], b"javascript:x", b""] {
            assert!(xss_is_trivial(v) && !detect_xss(v), "{v:?}");
        }
        for v in [&b"<script>"[..], b"a=b"] {
            assert!(!xss_is_trivial(v), "{v:?}");
        }
    }

    #[test]
    fn fingerprint_rejects_garbage() {
        assert!(Fingerprint::from_raw(&[0; 8]).is_none());
        assert!(Fingerprint::from_raw(&[0xff, 0, 0]).is_none());
        assert!(Fingerprint::from_raw(b"s<1\0").is_none());
        let fp = Fingerprint::from_raw(b"s&1c\0\0\0\0");
        assert_eq!(fp.map(|f| f.to_string()).as_deref(), Some("s&1c"));
    }

    /// xorshift64: deterministic inputs for the shortcut checks below.
    fn rng(mut seed: u64) -> impl FnMut() -> u64 {
        move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        }
    }

    /// The `is_single_word` shortcut must never hide an engine verdict: concatenations of SQL
    /// keywords, functions, number forms and the string-prefix letters without separators.
    #[test]
    fn single_words_are_never_sqli() {
        let words = [
            "union",
            "select",
            "or",
            "and",
            "xor",
            "div",
            "like",
            "sleep",
            "benchmark",
            "order",
            "by",
            "having",
            "limit",
            "waitfor",
            "exec",
            "null",
            "sp_password",
            "0x",
            "0x1",
            "0b1",
            "1e1",
            "1",
            "0",
            "x",
            "b",
            "n",
            "q",
            "u",
            "e",
            "_",
            "char",
            "version",
        ];
        let alnum = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_";
        let mut next = rng(0x1234_5678_9ABC_DEF1);
        for _ in 0..20_000 {
            let mut v = Vec::new();
            for _ in 0..1 + next() % 4 {
                // One in three pieces is a random word character, the rest SQL words.
                match next() % 3 {
                    0 => v.push(alnum[(next() % alnum.len() as u64) as usize]),
                    _ => v.extend_from_slice(
                        words[(next() % words.len() as u64) as usize].as_bytes(),
                    ),
                }
            }
            assert!(is_single_word(&v));
            assert_eq!(engine_sqli(&v), None, "{:?}", String::from_utf8_lossy(&v));
        }
        // The shortcut must not swallow anything with a separator.
        assert!(!is_single_word(b"1 or 1"));
        assert!(detect_sqli(b"1 or 1=1").is_some());
    }

    /// `is_decimal` and `is_dotted_bareword` only admit engine negatives: JSON-style
    /// argument names (`items.12.sku`), numbers, dotted names built from SQL keywords
    /// (including the dotted ones, `dbms_lock.sleep`), every keyword of the engine's table
    /// with dots around it, and emails, UUIDs and ISO dates (which the shortcuts mostly
    /// leave to the engine).
    /// The claim `is_plain_phrase` rests on: a fingerprint of bareword (`n`) and number
    /// (`1`) tokens alone, of any length up to five, is never blacklisted.
    #[test]
    fn no_fingerprint_of_barewords_and_numbers_is_blacklisted() {
        use libinjectionrs::sqli::sqli_data::lookup_word;
        use libinjectionrs::sqli::TokenType;
        let mut checked = 0;
        for len in 1..=5u32 {
            for bits in 0..(1u32 << len) {
                let fp: String = (0..len)
                    .map(|i| if bits >> i & 1 == 1 { '1' } else { 'N' })
                    .collect();
                assert_ne!(
                    lookup_word(&format!("0{fp}")),
                    TokenType::Fingerprint,
                    "{fp}"
                );
                checked += 1;
            }
        }
        assert_eq!(checked, 62);
        // and the lookup does find blacklisted fingerprints
        assert_eq!(lookup_word("0S&1"), TokenType::Fingerprint);
    }

    /// Phrases of SQL words, English words and numbers: whatever `is_plain_phrase` lets
    /// through, the engine calls not SQLi; and it lets most benign phrases through.
    #[test]
    fn plain_phrases_are_never_sqli() {
        let vocabulary = [
            "trail",
            "running",
            "shoe",
            "model",
            "order",
            "by",
            "group",
            "union",
            "select",
            "all",
            "from",
            "where",
            "and",
            "or",
            "not",
            "null",
            "is",
            "in",
            "like",
            "sounds",
            "natural",
            "join",
            "cross",
            "left",
            "outer",
            "inner",
            "sleep",
            "benchmark",
            "waitfor",
            "delay",
            "true",
            "false",
            "xor",
            "div",
            "mod",
            "between",
            "case",
            "when",
            "then",
            "else",
            "end",
            "1",
            "17",
            "0",
            "42",
            "007",
            "admin",
            "user",
            "password",
            "name",
            "_id",
            "id",
            "table",
            "drop",
            "insert",
            "into",
            "values",
            "set",
            "update",
            "delete",
            "having",
            "limit",
            "offset",
            "procedure",
            "analyse",
            "char",
            "version",
            "current_user",
            "collate",
            "binary",
            "regexp",
            "rlike",
            "escape",
            "exists",
            "any",
            "some",
            "a",
            "b",
            "x",
            "please",
            "deliver",
            "to",
            "the",
            "side",
            "door",
            "ring",
            "bell",
            "twice",
            "boolean",
            "mode",
            "lock",
            "tables",
            "at",
            "time",
            "zone",
            "double",
            "precision",
            "character",
            "utf8",
            "top",
            "declare",
            "exec",
            "execute",
            "go",
            "load_file",
            "outfile",
            "with",
            "rollup",
            "distinct",
            "asc",
            "desc",
            "Order",
            "BY",
            "Union",
            "SELECT",
            "Or",
            "at",
            "zone",
            "current",
            "date",
            "create",
            "replace",
            "full",
            "intersect",
            "for",
            "begin",
            "try",
            "varying",
            "if",
            "degree",
            "schema",
            "server",
            "timezone",
            "path",
            "nowait",
            "skip",
            "locked",
            "wait",
            "dumpfile",
            "delayed",
            "ignore",
            "login",
        ];
        let mut claimed = 0;
        let mut engine_positive = 0;
        let mut check = |v: &str| {
            let trivial = is_plain_phrase(v.as_bytes());
            let verdict = engine_sqli(v.as_bytes());
            if trivial {
                claimed += 1;
                assert_eq!(verdict, None, "{v:?}");
            } else if verdict.is_some() {
                engine_positive += 1;
            }
        };
        // every pair and every word alone
        for a in vocabulary {
            check(a);
            for b in vocabulary {
                check(&format!("{a} {b}"));
            }
        }
        // random phrases of 3 to 7 words (fixed seed)
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        for _ in 0..20_000 {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            let n = 3 + (seed % 5) as usize;
            let mut words = Vec::new();
            let mut s = seed;
            for _ in 0..n {
                s = s.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
                words.push(vocabulary[(s >> 33) as usize % vocabulary.len()]);
            }
            check(&words.join(if seed & 1 == 0 { " " } else { "  " }));
        }
        assert!(claimed > 1_000, "{claimed}");
        assert!(engine_positive > 50, "{engine_positive}");
        for v in [
            "Trail running shoe model 17",
            "Please deliver to the side door",
            "Jane Doe",
        ] {
            assert!(is_plain_phrase(v.as_bytes()), "{v}");
        }
        for v in [
            "1 union select 2",
            "admin or 1",
            "a order by 1",
            "1 group by x",
            "x order by 1",
            "x 1e5",
            "a-b c",
            "a\tb",
        ] {
            assert!(!is_plain_phrase(v.as_bytes()), "{v}");
        }
        // Words the folder merges (a multi-word table entry, `AT TIME` of `AT TIME ZONE`)
        // are never claimed, even when each word alone would be: the argument needs every
        // token to stay a bareword or a number.
        let mut merges = 0;
        for entry in multi_word_entries() {
            let phrase = String::from_utf8_lossy(entry).to_ascii_lowercase();
            if phrase.split(' ').all(|w| is_plain_phrase(w.as_bytes())) {
                merges += 1;
                assert!(!is_plain_phrase(phrase.as_bytes()), "{phrase}");
            }
        }
        assert!(merges >= 10, "{merges}");
    }

    /// The shape filter never hides a keyword or a multi-word entry, in any case, and
    /// leaves most ordinary words without a lookup.
    #[test]
    fn shapes_never_hide_a_keyword() {
        let keywords = keywords();
        for &w in keywords.words.iter() {
            let lower = w.to_ascii_lowercase();
            assert!(keywords.contains(w) && keywords.contains(&lower), "{w:?}");
            assert!(keywords.pair_shapes.may_hold(&lower));
        }
        for &w in multi_word_entries() {
            assert!(
                keywords.pair_shapes.may_hold(&w.to_ascii_lowercase()),
                "{w:?}"
            );
        }
        let ordinary =
            "please deliver to the side door and ring bell twice trail running shoe model \
                        jane doe delivery address order thanks team hello would like change";
        let skipped = ordinary
            .split(' ')
            .filter(|w| !keywords.shapes.may_hold(w.as_bytes()))
            .count();
        assert!(skipped * 2 > ordinary.split(' ').count(), "{skipped}");
    }

    /// A dotted keyword (`SYS.STRAGG`, `dbms_lock.sleep`), alone or as the prefix of a longer
    /// dotted name, is never taken for a bareword by the shortcut, whatever its case, while
    /// a name that only shares its first segment with no dotted keyword is (the shortcut
    /// looks the longer prefixes up only after a head that starts a dotted keyword).
    #[test]
    fn dotted_keywords_are_not_dotted_barewords() {
        let keywords = keywords();
        let dotted: Vec<&[u8]> = keywords
            .words
            .iter()
            .copied()
            .filter(|w| {
                w.contains(&b'.')
                    && w.iter()
                        .all(|&b| b.is_ascii_alphanumeric() || b == b'_' || b == b'.')
            })
            .collect();
        assert!(dotted.len() >= 5, "{}", dotted.len());
        for w in dotted {
            let lower = w.to_ascii_lowercase();
            let mut longer = lower.clone();
            longer.extend_from_slice(b".x");
            for v in [w, &lower[..], &longer[..]] {
                assert!(!is_dotted_bareword(v), "{}", String::from_utf8_lossy(v));
            }
        }
        for v in [
            "items.12.sku",
            "sys_x.stragg",
            "system.stragg.x",
            "customer.email",
        ] {
            assert!(is_dotted_bareword(v.as_bytes()), "{v}");
        }
    }

    #[test]
    fn sqli_shortcuts_agree_with_the_engine() {
        use libinjectionrs::sqli::sqli_data::SQL_KEYWORDS;
        let check = |v: &[u8], claimed: &mut usize| {
            if is_decimal(v) || is_dotted_bareword(v) {
                *claimed += 1;
                assert_eq!(engine_sqli(v), None, "{:?}", String::from_utf8_lossy(v));
                assert_eq!(detect_sqli(v), None);
            }
        };
        let mut claimed = 0;
        let fields = [
            "sku", "name", "qty", "price", "note", "id", "email", "x", "e", "or",
        ];
        for n in 0..3000 {
            for f in fields {
                for v in [
                    format!("items.{n}.{f}"),
                    format!("{f}.{n}"),
                    format!("{n}.{n}"),
                    format!("{n}"),
                    format!("{n}."),
                    format!("a{n}.{f}.{f}"),
                    format!("data.items.{n}.{f}"),
                ] {
                    check(v.as_bytes(), &mut claimed);
                }
            }
        }
        assert!(claimed > 15_000, "{claimed}");
        for v in [
            "items.12.sku",
            "customer.email",
            "45.99",
            "2024",
            "order_id",
            "a.b.c",
        ] {
            assert!(sqli_is_trivial(v.as_bytes()), "{v}");
        }
        for v in ["1.2.3", ".5", "1e5", "0x1f.a", "a b", "a-b", "a`b", "x'"] {
            assert!(
                !is_decimal(v.as_bytes()) && !is_dotted_bareword(v.as_bytes()),
                "{v}"
            );
        }
        // every keyword, alone and with dotted neighbours
        for k in SQL_KEYWORDS {
            let w = k.word;
            for v in [
                w.to_string(),
                w.to_ascii_lowercase(),
                format!("{w}.x"),
                format!("x.{w}"),
                format!("{w}.{w}"),
                format!("{w}.1"),
                format!("1.{w}"),
                format!("a.{w}.b"),
                format!("{w}."),
            ] {
                check(v.as_bytes(), &mut claimed);
            }
        }
        // random dotted names from SQL words, keyword pieces and digits
        let pieces = [
            "union",
            "select",
            "sys",
            "dbms_lock",
            "sleep",
            "user_lock",
            "ctxsys",
            "drithsx",
            "sn",
            "dbms_pipe",
            "receive_message",
            "database_name",
            "stragg",
            "or",
            "and",
            "1union",
            "0x1",
            "0b1",
            "1e1",
            "e",
            "n",
            "q",
            "u",
            "b",
            "x",
            "_",
            "1",
            "0",
            "12",
            "char",
            "version",
            "null",
            "exec",
            "waitfor",
            "delay",
            "information_schema",
            "tables",
            "utl_http",
            "request",
            "items",
            "sku",
            "",
        ];
        let mut next = rng(0x0DD5_EED5_1234_5678);
        for _ in 0..200_000 {
            let mut v = Vec::new();
            for i in 0..1 + next() % 5 {
                if i > 0 {
                    v.push(b'.');
                }
                v.extend_from_slice(pieces[(next() % pieces.len() as u64) as usize].as_bytes());
                if next().is_multiple_of(4) {
                    v.push(b"0123456789aZ_"[(next() % 13) as usize]);
                }
            }
            if next().is_multiple_of(3) {
                v.make_ascii_uppercase();
            }
            check(&v, &mut claimed);
        }
        // emails, UUIDs, ISO dates, prices, random digit-and-dot strings
        for _ in 0..50_000 {
            let n = next();
            let digits: String = (0..1 + n % 12)
                .map(|_| char::from(b"0123456789."[(next() % 11) as usize]))
                .collect();
            for v in [
                format!("user{}.name@example.com", n % 1000),
                format!(
                    "{:08x}-{:04x}-4{:03x}-a{:03x}-{:012x}",
                    n as u32,
                    n % 0xffff,
                    n % 0xfff,
                    (n >> 12) % 0xfff,
                    n >> 16
                ),
                format!(
                    "20{:02}-{:02}-{:02}T10:11:12Z",
                    n % 100,
                    n % 12 + 1,
                    n % 28 + 1
                ),
                format!("{}.{:02}", n % 100_000, n % 100),
                digits,
            ] {
                check(v.as_bytes(), &mut claimed);
            }
        }
    }

    /// The `may_be_xss` shortcut must never hide an engine verdict: attack vocabulary and
    /// HTML punctuation, everything except `<` and `=`.
    #[test]
    fn no_lt_or_eq_is_never_xss() {
        let pieces = [
            "onload",
            "onerror",
            "style",
            "href",
            "src",
            "javascript:",
            "data:",
            "script",
            "svg",
            "!--",
            "?xml",
            "!DOCTYPE",
            "xmlns",
            "alert(1)",
            " ",
            "\"",
            "'",
            "`",
            "/",
            ">",
            "&#",
            "&#x6a;",
            "\t",
            "\n",
            "\0",
            ";",
            "x",
        ];
        let mut next = rng(0xFEDC_BA98_7654_3211);
        for _ in 0..20_000 {
            let mut v = Vec::new();
            for _ in 0..1 + next() % 8 {
                v.extend_from_slice(pieces[(next() % pieces.len() as u64) as usize].as_bytes());
            }
            assert!(!may_be_xss(&v));
            assert!(!engine_xss(&v), "{:?}", String::from_utf8_lossy(&v));
        }
        assert!(detect_xss(b"x onload=alert(1)"));
        assert!(detect_xss(b"<script>"));
    }
}
