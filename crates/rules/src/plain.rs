//! Which regexes can match a *plain* value, and how to find the ones that can without
//! running them over every plain byte.
//!
//! A plain value ([`palisade_http::transform::plain_kind`]) is made of ASCII letters,
//! digits, `_ @ : ,`, and single inner spaces, dots and dashes: names, SKUs, e-mail
//! addresses, prose. The regexes of a group that have no required literal share one lazy
//! DFA that walks every byte of every value (~2.5 ns per byte however many there are: 6%
//! of the CPU a 20 KB JSON order or a 2 KB contact form costs). Most of those regexes need
//! a byte no plain value holds (`'`, `<`, `(`, `;`), and the few that can match a plain
//! value either start at the value's start (SQL tautologies such as `or 1 like 1`) or
//! begin with one of a few words (`nc `, `bash -i 0`). So plain values are not walked by
//! the shared DFA: the first kind is tried at a plain value's start when its first byte can
//! begin a match, the second on the plain values that hold one of its first words.

use std::collections::HashSet;

use regex_automata::dfa::{dense, Automaton, StartKind};
use regex_automata::util::start;
use regex_automata::{meta, Anchored, MatchKind};
use regex_syntax::hir::literal::{ExtractKind, Extractor};
use regex_syntax::hir::{Class, Hir, HirKind, Look};

/// How a plain value's bytes are classed, as `plain_kind` judges them: `None` for a byte no
/// plain value holds; `Some(Single(b))` for the space, `.` and `-`, which a plain value
/// neither starts with nor doubles (nor, for the space, ends with).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum PlainByte {
    Any,
    Single(u8),
}

pub(crate) fn plain_byte(b: u8) -> Option<PlainByte> {
    match b {
        b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'_' | b'@' | b':' | b',' => Some(PlainByte::Any),
        b' ' | b'.' | b'-' => Some(PlainByte::Single(b)),
        _ => None,
    }
}

/// The patterns of a group's shared DFA that can match a plain value, ready to be tried on
/// plain values only where a match can start.
pub(crate) struct PlainScan {
    /// Patterns whose every match starts at a value's start (`^`).
    pub anchored: Option<AtStart>,
    /// Patterns whose every match inside a plain value holds one of a few literals.
    pub prefixed: Option<Prefixed>,
}

/// See [`PlainScan::anchored`].
pub(crate) struct AtStart {
    pub regex: meta::Regex,
    /// Index in the group's regexes of each of `regex`'s patterns.
    pub ids: Vec<usize>,
    /// Whether a value starting with this byte can start a match of some pattern.
    pub first: [bool; 256],
}

/// See [`PlainScan::prefixed`].
pub(crate) struct Prefixed {
    /// Every match of every pattern inside a plain value holds one of these (ASCII case
    /// ignored): what its literal beginnings hold past their leading spaces. The group's
    /// literal scan looks for them with its own needles, at no cost of its own.
    pub words: Vec<Vec<u8>>,
    pub regex: meta::Regex,
    /// Index in the group's regexes of each of `regex`'s patterns.
    pub ids: Vec<usize>,
}

/// The syntax the group's shared DFA is built with.
pub(crate) fn syntax() -> regex_automata::util::syntax::Config {
    regex_automata::util::syntax::Config::new()
        .case_insensitive(true)
        .unicode(false)
        .utf8(false)
        .multi_line(true)
}

/// A multi-pattern regex as the group's shared DFA is built.
pub(crate) fn build_set(patterns: &[&str]) -> Result<meta::Regex, String> {
    meta::Regex::builder()
        .syntax(syntax())
        .configure(
            meta::Config::new()
                .match_kind(MatchKind::All)
                .utf8_empty(false)
                .hybrid_cache_capacity(16 << 20)
                .nfa_size_limit(Some(64 << 20)),
        )
        .build_many(patterns)
        .map_err(|e| e.to_string())
}

fn parse(pattern: &str, case_insensitive: bool) -> Option<Hir> {
    regex_syntax::ParserBuilder::new()
        .unicode(false)
        .utf8(false)
        .case_insensitive(case_insensitive)
        .multi_line(true)
        .build()
        .parse(pattern)
        .ok()
}

/// How to scan plain values for `patterns` (a group's regexes without a required literal,
/// each with its index in the group): None when one that can match a plain value is
/// neither anchored nor prefixed, or nothing could be built; then plain values stay in the
/// shared DFA's scan.
pub(crate) fn plain_scan(patterns: &[(&str, usize)]) -> Option<PlainScan> {
    let mut anchored: Vec<(&str, usize)> = Vec::new();
    let mut first = [false; 256];
    let mut prefixed: Vec<(&str, usize)> = Vec::new();
    let mut needles: Vec<Vec<u8>> = Vec::new();
    for &(pattern, id) in patterns {
        if !can_match_plain(pattern) {
            continue;
        }
        let hir = parse(pattern, true)?;
        let starts_at_value_start = {
            let prefix = hir.properties().look_set_prefix();
            prefix.contains(Look::StartLF) || prefix.contains(Look::Start)
        };
        if starts_at_value_start {
            let (bytes, nullable) = first_bytes(&hir);
            for b in 0..=255u8 {
                first[usize::from(b)] |= nullable || bytes[usize::from(b)];
            }
            anchored.push((pattern, id));
            continue;
        }
        for literal in prefixes(pattern)? {
            let start = literal.iter().position(|&b| b != b' ')?;
            needles.push(literal[start..].to_vec());
        }
        prefixed.push((pattern, id));
    }
    let anchored = if anchored.is_empty() {
        None
    } else {
        let texts: Vec<&str> = anchored.iter().map(|p| p.0).collect();
        Some(AtStart {
            regex: build_set(&texts).ok()?,
            ids: anchored.iter().map(|p| p.1).collect(),
            first,
        })
    };
    let prefixed = if prefixed.is_empty() {
        None
    } else {
        let texts: Vec<&str> = prefixed.iter().map(|p| p.0).collect();
        Some(Prefixed {
            words: without_superstrings(needles),
            regex: build_set(&texts).ok()?,
            ids: prefixed.iter().map(|p| p.1).collect(),
        })
    };
    Some(PlainScan { anchored, prefixed })
}

/// Literals one of which begins every match of `pattern` inside a plain value (lowercase),
/// or None when unknown. A literal that holds a byte no plain value holds cannot begin a
/// match inside one (it is the match or its beginning) and is left out.
fn prefixes(pattern: &str) -> Option<Vec<Vec<u8>>> {
    // Case-sensitive: literals come out as written, not in every case variant, and are
    // matched ignoring case (a superset of what the case-insensitive pattern starts with).
    let hir = parse(pattern, false)?;
    let seq = Extractor::new().kind(ExtractKind::Prefix).extract(&hir);
    let literals = seq.literals()?;
    if literals.is_empty() || literals.iter().any(|l| l.as_bytes().is_empty()) {
        return None;
    }
    Some(
        literals
            .iter()
            .filter(|l| l.as_bytes().iter().all(|&b| plain_byte(b).is_some()))
            .map(|l| l.as_bytes().to_ascii_lowercase())
            .collect(),
    )
}

/// `needles` without those that hold another one: a value holding the longer holds the
/// shorter.
fn without_superstrings(mut needles: Vec<Vec<u8>>) -> Vec<Vec<u8>> {
    needles.sort_by_key(|n| n.len());
    needles.dedup();
    let mut kept: Vec<Vec<u8>> = Vec::new();
    for n in needles {
        if !kept.iter().any(|k| n.windows(k.len()).any(|w| w == &k[..])) {
            kept.push(n);
        }
    }
    kept.sort();
    kept
}

/// Bytes a match of `hir` can start with, and whether it can match the empty string.
fn first_bytes(hir: &Hir) -> ([bool; 256], bool) {
    let mut set = [false; 256];
    let nullable = add_first_bytes(hir, &mut set);
    (set, nullable)
}

/// Adds the bytes a match of `hir` can start with to `set`; true when it can be empty.
fn add_first_bytes(hir: &Hir, set: &mut [bool; 256]) -> bool {
    match hir.kind() {
        HirKind::Empty | HirKind::Look(_) => true,
        HirKind::Literal(lit) => match lit.0.first() {
            Some(&b) => {
                set[usize::from(b)] = true;
                false
            }
            None => true,
        },
        HirKind::Class(Class::Bytes(c)) => {
            for r in c.iter() {
                for b in r.start()..=r.end() {
                    set[usize::from(b)] = true;
                }
            }
            false
        }
        HirKind::Class(Class::Unicode(c)) => {
            for r in c.iter() {
                // (non-ASCII characters start with a byte of 0x80 or above)
                let hi = u32::from(r.end()).min(0xff);
                for b in u32::from(r.start())..=hi {
                    set[b as usize] = true;
                }
                if u32::from(r.end()) > 0x7f {
                    set[0x80..].fill(true);
                }
            }
            false
        }
        HirKind::Repetition(rep) => add_first_bytes(&rep.sub, set) || rep.min == 0,
        HirKind::Capture(cap) => add_first_bytes(&cap.sub, set),
        HirKind::Concat(parts) => parts.iter().all(|p| add_first_bytes(p, set)),
        HirKind::Alternation(alts) => alts
            .iter()
            .fold(false, |any, a| add_first_bytes(a, set) | any),
    }
}

/// Whether some plain value holds a match of `pattern` (as the group's shared DFA runs
/// it). False only when proven: every match needs a byte no plain value holds, or no plain
/// value leads the pattern's DFA to a match.
pub(crate) fn can_match_plain(pattern: &str) -> bool {
    if let Some(hir) = parse(pattern, true) {
        if let Some(needed) = needs_one_of(&hir) {
            if (0..=255u8).all(|b| !needed[usize::from(b)] || plain_byte(b).is_none()) {
                return false;
            }
        }
    }
    dfa_reaches_match_on_plain(pattern).unwrap_or(true)
}

/// A set of bytes at least one of which every match of `hir` holds, or None when none is
/// known (a match may be empty). Among the ways to pick one, one without plain bytes is
/// preferred.
fn needs_one_of(hir: &Hir) -> Option<[bool; 256]> {
    let plain_free =
        |set: &[bool; 256]| (0..=255u8).all(|b| !set[usize::from(b)] || plain_byte(b).is_none());
    match hir.kind() {
        HirKind::Literal(lit) => {
            let mut best: Option<[bool; 256]> = None;
            for &b in lit.0.iter() {
                let mut set = [false; 256];
                set[usize::from(b)] = true;
                if plain_byte(b).is_none() {
                    return Some(set);
                }
                best.get_or_insert(set);
            }
            best
        }
        HirKind::Class(_) => {
            let (set, _) = first_bytes(hir);
            Some(set)
        }
        HirKind::Repetition(rep) if rep.min >= 1 => needs_one_of(&rep.sub),
        HirKind::Capture(cap) => needs_one_of(&cap.sub),
        HirKind::Concat(parts) => {
            let mut best = None;
            for p in parts {
                if let Some(set) = needs_one_of(p) {
                    if plain_free(&set) {
                        return Some(set);
                    }
                    best.get_or_insert(set);
                }
            }
            best
        }
        HirKind::Alternation(alts) => {
            let mut union = [false; 256];
            for a in alts {
                let set = needs_one_of(a)?;
                for b in 0..256 {
                    union[b] |= set[b];
                }
            }
            Some(union)
        }
        _ => None,
    }
}

/// Explores every plain value through the pattern's DFA (the value preceded and followed
/// by the `\n` that separates values in the scanned haystack): whether one reaches a match.
/// None when the DFA is too large to build.
fn dfa_reaches_match_on_plain(pattern: &str) -> Option<bool> {
    let dfa = dense::Builder::new()
        .syntax(syntax())
        .configure(
            dense::Config::new()
                .start_kind(StartKind::Unanchored)
                .minimize(false)
                .dfa_size_limit(Some(16 << 20))
                .determinize_size_limit(Some(16 << 20)),
        )
        .build(pattern)
        .ok()?;
    let start = dfa
        .start_state(
            &start::Config::new()
                .anchored(Anchored::No)
                .look_behind(Some(b'\n')),
        )
        .ok()?;
    // What the value so far ends with: nothing yet, or its last byte's class.
    #[derive(Clone, Copy, PartialEq, Eq, Hash)]
    enum Last {
        Nothing,
        Any,
        Single(u8),
    }
    let mut seen = HashSet::new();
    let mut stack = vec![(start, Last::Nothing)];
    seen.insert((start, Last::Nothing));
    while let Some((state, last)) = stack.pop() {
        // the value may end here (not on a space), with the separator after it
        if !matches!(last, Last::Nothing | Last::Single(b' ')) {
            let end = dfa.next_state(state, b'\n');
            if dfa.is_match_state(end) || dfa.is_match_state(dfa.next_eoi_state(end)) {
                return Some(true);
            }
        }
        for b in 0..=255u8 {
            let next_last = match plain_byte(b) {
                None => continue,
                Some(PlainByte::Any) => Last::Any,
                Some(PlainByte::Single(s)) => {
                    if last == Last::Nothing || last == Last::Single(s) {
                        continue;
                    }
                    Last::Single(s)
                }
            };
            let next = dfa.next_state(state, b);
            // (matches are reported one byte late: this one ended before `b`)
            if dfa.is_match_state(next) {
                return Some(true);
            }
            if dfa.is_dead_state(next) {
                continue;
            }
            if seen.len() > 1_000_000 {
                return None;
            }
            if seen.insert((next, next_last)) {
                stack.push((next, next_last));
            }
        }
    }
    Some(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_bytes_are_the_ones_plain_kind_accepts() {
        for b in 0..=255u8 {
            // between two letters: only the byte itself decides
            let inner = palisade_http::transform::plain_kind(&[b'a', b, b'a']).is_some();
            assert_eq!(inner, plain_byte(b).is_some(), "byte {b:#x}");
            if let Some(PlainByte::Single(_)) = plain_byte(b) {
                assert!(palisade_http::transform::plain_kind(&[b'a', b, b, b'a']).is_none());
                assert!(palisade_http::transform::plain_kind(&[b, b'a']).is_none());
            }
            if plain_byte(b) == Some(PlainByte::Any) {
                assert!(palisade_http::transform::plain_kind(&[b, b, b]).is_some());
            }
        }
        assert!(palisade_http::transform::plain_kind(b"a ").is_none());
        assert!(palisade_http::transform::plain_kind(b"a.").is_some());
    }

    #[test]
    fn what_can_match_a_plain_value() {
        for (pattern, want) in [
            (r"<script", false),
            (r"'\s*or\s+1", false),
            (r"(?:'|\x22)\s*;", false),
            (r"^(?:[^'\n]*'|[^\x22\n]*\x22)\s*or", false),
            (r"\bunion\s+select\b", true),
            (r"^\s*(?:or|and)\s+\d+\s*$", true),
            // a space cannot be doubled, nor a value start with one
            (r"\w  \w", false),
            (r"^ \w", false),
            (r"\w \w", true),
            // a value cannot end with a space; the separator follows it
            (r"\w $", false),
            (r"\w$", true),
            (r"a\.\.b", false),
            (r"a\.-b", true),
            (r"\bnc\s+-e\s+/bin/sh", false),
            (r"\bnc\s+-e\s+sh\b", true),
        ] {
            assert_eq!(can_match_plain(pattern), want, "{pattern}");
        }
    }

    #[test]
    fn first_bytes_and_prefixes() {
        let hir = parse(r"^\s*(?:or|x)\d", true).unwrap();
        let (set, nullable) = first_bytes(&hir);
        assert!(!nullable);
        let got: Vec<u8> = (0..=255u8).filter(|&b| set[usize::from(b)]).collect();
        let mut want: Vec<u8> = b"\t\n\x0b\x0c\r OoXx".to_vec();
        want.sort();
        assert_eq!(got, want);
        // (extended through the class after them, but only by what a plain value holds)
        let mut got = prefixes(r"\b(?:nc|ncat|netcat)(?:\.exe)?\s").unwrap();
        got.sort();
        let want = [
            "nc ",
            "nc.exe ",
            "ncat ",
            "ncat.exe ",
            "netcat ",
            "netcat.exe ",
        ];
        assert_eq!(got, want.map(|w| w.as_bytes().to_vec()));
        assert_eq!(
            without_superstrings(got),
            [
                "nc ",
                "nc.exe ",
                "ncat ",
                "ncat.exe ",
                "netcat ",
                "netcat.exe "
            ]
            .map(|w| w.as_bytes().to_vec())
        );
        assert_eq!(
            without_superstrings(prefixes(r"\b(?:ba)?sh|shell").unwrap()),
            [b"sh".to_vec()]
        );
        assert_eq!(prefixes(r"x|\w+y"), None);
        assert_eq!(prefixes(r"(?-i:ADw)x"), Some(vec![b"adwx".to_vec()]));
    }
}
