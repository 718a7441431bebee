//! Required literals of a regex: a set of strings such that every match of the regex
//! contains at least one of them.
//!
//! The matcher scans a request once with one Aho-Corasick automaton over the required
//! literals of all patterns; only patterns whose literal occurred are then run. Patterns with
//! no usable literal go into a multi-pattern DFA that always runs. This is the decomposition
//! Hyperscan uses, kept simple: literals are compared ASCII case-insensitively, as patterns are.

use palisade_http::Transform;
use regex_syntax::hir::{Class, Hir, HirKind};

/// Literals shorter than this are too common to filter anything, unless they are made of
/// rare bytes (see [`usable`]).
const MIN_LITERAL: usize = 3;
/// An alternation of more literals than this is not worth a prefilter.
const MAX_LITERALS: usize = 64;
/// A byte class of at most this many bytes (`[$*#]`) is expanded into literals.
const MAX_CLASS_BYTES: usize = 4;
/// A set whose estimated hit rate is at most this is usable whatever its lengths: `${`,
/// `#{`, `<?` are as selective as a long word.
const RARE_ENOUGH: f64 = 1e-4;
/// Above this estimated hit rate a set is too common to be worth a prefilter.
const COMMON: f64 = 1e-3;

/// The required literals of `pattern` (lowercased), or None when no useful set exists.
pub fn required_literals(pattern: &str) -> Option<Vec<Vec<u8>>> {
    required_literals_with(pattern, false)
}

/// [`required_literals`] for a pattern matched only on values whose whitespace runs were
/// compressed to one space (a pipeline ending with `compressWhitespace`): there `\s+` can
/// only match `" "`, so `order\s+by` requires `"order by"`, far rarer than `order`.
pub fn required_literals_with(pattern: &str, whitespace_compressed: bool) -> Option<Vec<Vec<u8>>> {
    let hir = regex_syntax::ParserBuilder::new()
        .unicode(false)
        .utf8(false)
        .case_insensitive(false)
        .build()
        .parse(pattern)
        .ok()?;
    let set = required(&hir, whitespace_compressed)?;
    usable(&set).then_some(set)
}

/// The fewest bytes a match of `pattern` spans (0 when it does not parse here: no bound).
/// None: the pattern can never match.
pub fn minimum_len(pattern: &str) -> Option<usize> {
    match regex_syntax::ParserBuilder::new()
        .unicode(false)
        .utf8(false)
        .case_insensitive(false)
        .build()
        .parse(pattern)
    {
        Ok(hir) => hir.properties().minimum_len(),
        Err(_) => Some(0),
    }
}

/// Bytes seldom seen in ordinary request values, rarest first: the candidates the
/// matcher asks [`required_rare_byte`] about for a group's gate.
pub const RARE_BYTES: &[u8] = b"<>()=%\\|`^~$!*;'&#+?/[]{}\"";

/// The part of [`RARE_BYTES`] that the syntax of form-encoded bodies, query strings and
/// JSON documents does not use (`= & % + ? /`, `" { } [ ]` are in nearly every one of
/// those): a gate on these stays shut for ordinary structured bodies.
pub const STRONG_RARE_BYTES: &[u8] = b"<>()\\|`^~$!*;'#";

/// The first byte of `candidates` that every match of `pattern` contains, or None. The
/// matcher skips a group's literal scan when none of its patterns' such bytes occurs.
pub fn required_rare_byte(pattern: &str, candidates: &[u8]) -> Option<u8> {
    let hir = regex_syntax::ParserBuilder::new()
        .unicode(false)
        .utf8(false)
        .case_insensitive(false)
        .build()
        .parse(pattern)
        .ok()?;
    let bytes = required_bytes(&hir);
    candidates.iter().copied().find(|&b| bytes.contains(b))
}

/// A set of bytes.
#[derive(Clone, Copy, Default, PartialEq, Eq, Debug)]
struct ByteSet([u64; 4]);

impl ByteSet {
    fn insert(&mut self, b: u8) {
        self.0[usize::from(b >> 6)] |= 1 << (b & 63);
    }
    fn contains(&self, b: u8) -> bool {
        self.0[usize::from(b >> 6)] & (1 << (b & 63)) != 0
    }
    fn union(self, other: ByteSet) -> ByteSet {
        ByteSet(std::array::from_fn(|i| self.0[i] | other.0[i]))
    }
    fn intersection(self, other: ByteSet) -> ByteSet {
        ByteSet(std::array::from_fn(|i| self.0[i] & other.0[i]))
    }
}

/// Bytes that occur in every match of `hir` (a subset: classes of more than one byte and
/// optional parts contribute nothing). Case is not folded: callers ask about punctuation.
fn required_bytes(hir: &Hir) -> ByteSet {
    match hir.kind() {
        HirKind::Literal(lit) => {
            let mut set = ByteSet::default();
            for &b in lit.0.iter() {
                set.insert(b);
            }
            set
        }
        HirKind::Class(class) => {
            let mut set = ByteSet::default();
            let single = match class {
                Class::Bytes(c) => match c.ranges() {
                    [r] if r.start() == r.end() => Some(r.start()),
                    _ => None,
                },
                Class::Unicode(c) => match c.ranges() {
                    [r] if r.start() == r.end() => {
                        u8::try_from(u32::from(r.start())).ok().filter(u8::is_ascii)
                    }
                    _ => None,
                },
            };
            if let Some(b) = single {
                set.insert(b);
            }
            set
        }
        HirKind::Capture(cap) => required_bytes(&cap.sub),
        HirKind::Repetition(rep) if rep.min >= 1 => required_bytes(&rep.sub),
        HirKind::Concat(parts) => parts
            .iter()
            .fold(ByteSet::default(), |acc, p| acc.union(required_bytes(p))),
        HirKind::Alternation(alts) => {
            let mut iter = alts.iter().map(required_bytes);
            let first = iter.next().unwrap_or_default();
            iter.fold(first, ByteSet::intersection)
        }
        _ => ByteSet::default(),
    }
}

/// Whether values matched after `pipeline` have no whitespace runs: it ends with
/// `compressWhitespace` (case steps are not kept in pipelines, and no other step may follow,
/// since it could make a run again).
pub fn compresses_whitespace(pipeline: &[Transform]) -> bool {
    pipeline.last() == Some(&Transform::CompressWhitespace)
}

/// Bytes that `compressWhitespace` turns into one space.
fn is_compressed_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r' | 0xa0)
}

/// Whether `class` only matches whitespace that compression turned into `" "` (and does
/// match the space itself).
fn is_space_class(class: &Class) -> bool {
    let mut has_space = false;
    let all_space = match class {
        Class::Bytes(c) => c.iter().all(|r| {
            has_space |= (r.start()..=r.end()).contains(&b' ');
            (r.start()..=r.end()).all(is_compressed_space)
        }),
        Class::Unicode(c) => c.iter().all(|r| {
            has_space |= (r.start()..=r.end()).contains(&' ');
            (r.start()..=r.end())
                .all(|ch| u8::try_from(u32::from(ch)).is_ok_and(is_compressed_space))
        }),
    };
    all_space && has_space
}

/// The whole (small) language of `hir`: every string it can match, when there are at most
/// [`MAX_LITERALS`] (the empty string included, for optional parts and assertions).
fn exact(hir: &Hir, ws: bool) -> Option<Vec<Vec<u8>>> {
    match hir.kind() {
        HirKind::Empty | HirKind::Look(_) => Some(vec![Vec::new()]),
        HirKind::Literal(lit) => Some(normalized(vec![lit.0.to_vec()])),
        HirKind::Class(class) if ws && is_space_class(class) => Some(vec![b" ".to_vec()]),
        HirKind::Class(class) => class_literals(class),
        HirKind::Capture(cap) => exact(&cap.sub, ws),
        HirKind::Repetition(rep) => {
            let space = ws && matches!(rep.sub.kind(), HirKind::Class(c) if is_space_class(c));
            match (rep.min, rep.max) {
                // no two spaces follow each other in a compressed value
                (min, _) if space && min >= 1 => Some(vec![b" ".to_vec()]),
                (0, _) if space => Some(vec![Vec::new(), b" ".to_vec()]),
                (0, Some(1)) => {
                    let mut set = exact(&rep.sub, ws)?;
                    set.push(Vec::new());
                    Some(normalized(set))
                }
                (1, Some(1)) => exact(&rep.sub, ws),
                _ => None,
            }
        }
        HirKind::Alternation(alts) => union(alts, |alt| exact(alt, ws)),
        HirKind::Concat(parts) => {
            let mut out = vec![Vec::new()];
            for part in parts {
                out = cross(&out, &exact(part, ws)?)?;
            }
            Some(out)
        }
    }
}

/// Lowercased, sorted, without duplicates: literals are matched ASCII case-insensitively.
fn normalized(set: Vec<Vec<u8>>) -> Vec<Vec<u8>> {
    let mut set: Vec<Vec<u8>> = set.into_iter().map(|l| l.to_ascii_lowercase()).collect();
    set.sort();
    set.dedup();
    set
}

/// Without members that contain another member: any occurrence of those contains an
/// occurrence of the shorter one, so a requirement set loses nothing.
fn minimized(set: Vec<Vec<u8>>) -> Vec<Vec<u8>> {
    let keep: Vec<bool> = set
        .iter()
        .map(|l| {
            !set.iter().any(|m| {
                m.len() < l.len() && !m.is_empty() && l.windows(m.len()).any(|w| w == &m[..])
            })
        })
        .collect();
    set.into_iter()
        .zip(keep)
        .filter_map(|(l, k)| k.then_some(l))
        .collect()
}

/// Rough chance that a byte of ordinary request text is `b` (lowercased): letters and
/// spaces are everywhere, the punctuation attacks need is rare.
fn byte_rate(b: u8) -> f64 {
    match b {
        b'j' | b'q' | b'x' | b'z' => 0.01,
        b'a'..=b'z' => 0.1,
        b'0'..=b'9' => 0.05,
        b' ' => 0.15,
        b'.' | b',' | b'-' | b'_' | b'/' | b':' | b'@' => 0.02,
        b'\'' | b'"' => 0.005,
        0x21..=0x7e => 0.002,
        0x80..=0xff => 0.001,
        _ => 0.0005,
    }
}

/// Estimated hit rate of a set of literals: the lower, the fewer values it sends to the
/// regexes behind it.
fn rate(set: &[Vec<u8>]) -> f64 {
    set.iter()
        .map(|l| l.iter().map(|&b| byte_rate(b)).product::<f64>())
        .sum()
}

/// Whether a set filters anything: not empty, not too many members, and either rare as a
/// whole, or not common and made of members with [`MIN_LITERAL`] bytes besides spaces.
/// A set that fails goes to the always-run DFA, which costs nothing per hit; a common
/// needle (`or `, `and `) would send most prose to the regexes behind it.
fn usable(set: &[Vec<u8>]) -> bool {
    if set.is_empty() || set.len() > MAX_LITERALS || set.iter().any(Vec::is_empty) {
        return false;
    }
    let rate = rate(set);
    let words = || {
        set.iter()
            .all(|l| l.iter().filter(|&&b| b != b' ').count() >= MIN_LITERAL)
    };
    rate <= RARE_ENOUGH || (rate <= COMMON && words())
}

/// The bytes of a small class, as one-byte literals.
fn class_literals(class: &Class) -> Option<Vec<Vec<u8>>> {
    // at most one more than allowed, so a huge range is not walked
    let bytes: Vec<Option<u8>> = match class {
        Class::Bytes(c) => c
            .iter()
            .flat_map(|r| r.start()..=r.end())
            .map(Some)
            .take(MAX_CLASS_BYTES + 1)
            .collect(),
        Class::Unicode(c) => c
            .iter()
            .flat_map(|r| r.start()..=r.end())
            .map(|ch| u8::try_from(u32::from(ch)).ok().filter(u8::is_ascii))
            .take(MAX_CLASS_BYTES + 1)
            .collect(),
    };
    if bytes.len() > MAX_CLASS_BYTES {
        return None;
    }
    let literals: Option<Vec<Vec<u8>>> = bytes.into_iter().map(|b| b.map(|b| vec![b])).collect();
    literals.map(normalized)
}

/// Every string of each alternative's set, when every alternative has one and there are
/// few enough.
fn union(alts: &[Hir], set_of: impl Fn(&Hir) -> Option<Vec<Vec<u8>>>) -> Option<Vec<Vec<u8>>> {
    let mut out = Vec::new();
    for alt in alts {
        out.extend(set_of(alt)?);
        if out.len() > MAX_LITERALS {
            return None;
        }
    }
    Some(normalized(out))
}

/// Every string of `a` followed by every string of `b`, when there are few enough.
fn cross(a: &[Vec<u8>], b: &[Vec<u8>]) -> Option<Vec<Vec<u8>>> {
    if a.len() * b.len() > MAX_LITERALS {
        return None;
    }
    let mut out = Vec::with_capacity(a.len() * b.len());
    for x in a {
        for y in b {
            let mut l = x.clone();
            l.extend_from_slice(y);
            out.push(l);
        }
    }
    Some(normalized(out))
}

fn required(hir: &Hir, ws: bool) -> Option<Vec<Vec<u8>>> {
    match hir.kind() {
        HirKind::Literal(lit) => Some(normalized(vec![lit.0.to_vec()])),
        HirKind::Class(class) if ws && is_space_class(class) => Some(vec![b" ".to_vec()]),
        HirKind::Class(class) => class_literals(class),
        HirKind::Capture(cap) => required(&cap.sub, ws),
        HirKind::Repetition(rep) if rep.min >= 1 => required(&rep.sub, ws),
        HirKind::Alternation(alts) => union(alts, |alt| required(alt, ws)),
        HirKind::Concat(parts) => {
            // Candidates: each run of adjacent parts with a small exact language joined
            // (`[$#]\{` gives `${` and `#{`; `(?:order|group)\s+by` on compressed values
            // gives `order by` and `group by`), and each other part's own set. The usable
            // candidate with the lowest estimated hit rate wins; when none is usable, the
            // rarest.
            let mut best: Option<(bool, f64, Vec<Vec<u8>>)> = None;
            let mut consider = |set: Vec<Vec<u8>>| {
                let set = minimized(set);
                let key = (usable(&set), rate(&set));
                let better = match &best {
                    None => true,
                    Some((ok, r, _)) => (key.0 && !ok) || (key.0 == *ok && key.1 < *r),
                };
                if better {
                    best = Some((key.0, key.1, set));
                }
            };
            // The run so far: every string the parts since its start can match.
            let mut run: Vec<Vec<u8>> = vec![Vec::new()];
            let is_empty_run = |run: &[Vec<u8>]| run.iter().all(Vec::is_empty);
            for part in parts {
                if let Some(piece) = exact(part, ws) {
                    run = match cross(&run, &piece) {
                        Some(joined) => joined,
                        None => {
                            consider(std::mem::replace(&mut run, vec![Vec::new()]));
                            piece
                        }
                    };
                    continue;
                }
                if !is_empty_run(&run) {
                    consider(std::mem::replace(&mut run, vec![Vec::new()]));
                }
                if let Some(set) = required(part, ws) {
                    consider(set);
                }
            }
            if !is_empty_run(&run) {
                consider(run);
            }
            best.map(|(_, _, set)| set)
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn required_rare_bytes() {
        let rare = b"<>(=%/";
        for (pattern, want) in [
            (r"<%@?\s*(?:page\s+x)?eval\s*\(?\s*request", Some(b'<')),
            (r"\beval\s*\(", Some(b'(')),
            (r"(?:a=b|c=d)", Some(b'=')),
            (r"(?:a=b|c/d)", None),
            (r"union\s+select", None),
            (r"x(?:=)?y", None),
            (r"x[=/]y", None),
            (r"x[=]+y", Some(b'=')),
            (r"(?:%|=)\s*(?:<|x)%", Some(b'%')),
        ] {
            assert_eq!(required_rare_byte(pattern, rare), want, "{pattern}");
        }
    }

    fn lits(p: &str) -> Option<Vec<String>> {
        required_literals(p).map(|v| {
            v.into_iter()
                .map(|l| String::from_utf8_lossy(&l).into_owned())
                .collect()
        })
    }

    #[test]
    fn extracts_the_most_selective_required_literals() {
        assert_eq!(
            lits(r"\bunion\s+(?:all\s+)?select\b"),
            Some(vec!["select".into()])
        );
        assert_eq!(lits(r"<script[\s>/]"), Some(vec!["<script".into()]));
        assert_eq!(
            lits(r"(?:sleep|benchmark)\s*\("),
            Some(vec!["benchmark".into(), "sleep".into()])
        );
        assert_eq!(lits(r"\$\{jndi:"), Some(vec!["${jndi:".into()]));
        assert_eq!(lits(r"WAITFOR\s+DELAY"), Some(vec!["waitfor".into()]));
    }

    #[test]
    fn small_classes_and_rare_short_literals_are_used() {
        // a small class joins the literal after it
        assert_eq!(lits(r"[$#]\{\s*t\("), Some(vec!["#{".into(), "${".into()]));
        // two rare bytes where there was no literal at all
        assert_eq!(
            lits(r"\$\{[^}]{0,30}j[^}]{0,30}n[^}]{0,30}d"),
            Some(vec!["${".into()])
        );
        // and over common words
        assert_eq!(
            lits(r"\b(?:user|email|code)\s*(?:\[\s*|\.)\$ne\b"),
            Some(vec!["$ne".into()])
        );
        // but a short common word or a single punctuation byte alone is not usable
        assert_eq!(lits(r"\b(?:or|and)\s+\d"), None);
        assert_eq!(lits(r"'\s*--"), None);
    }

    #[test]
    fn compressed_whitespace_joins_words_around_it() {
        let with = |p: &str| {
            required_literals_with(p, true).map(|v| {
                v.into_iter()
                    .map(|l| String::from_utf8_lossy(&l).into_owned())
                    .collect::<Vec<_>>()
            })
        };
        assert_eq!(
            with(r"^\s*(?:order|group)\s+by\s+\d+"),
            Some(vec!["group by ".into(), "order by ".into()])
        );
        assert_eq!(
            with(r"\bunion\s*select\b"),
            Some(vec!["union select".into(), "unionselect".into()])
        );
        // without compression, only the words
        assert_eq!(
            lits(r"^\s*(?:order|group)\s+by\s+\d+"),
            Some(vec!["group".into(), "order".into()])
        );
        // a class that excludes the space matches nothing after compression: no literal
        assert_eq!(with(r"a[\r\n]+b"), None);
    }

    #[test]
    fn gives_up_when_a_branch_or_optional_part_has_none() {
        assert_eq!(lits(r"(?:abc|\d+)x"), None);
        assert_eq!(lits(r"(?:select)?\s+from"), Some(vec!["from".into()]));
        assert_eq!(lits(r"[a-z]+=[0-9]"), None);
        assert_eq!(lits(r"on\w+="), None); // "on" is too short to filter anything
        assert_eq!(lits(r"(unclosed"), None);
    }

    #[test]
    fn every_match_contains_a_literal() {
        // property check on a few patterns and inputs: whenever the regex matches, one of
        // the literals occurs (case-insensitively) in the input
        let patterns = [
            r"\bunion\s+(?:all\s+)?select\b",
            r"(?:sleep|benchmark)\s*\(",
            r"<(?:script|iframe|svg)[^>]*>",
            r"\.\./(?:etc|proc)/",
        ];
        let inputs = [
            "1 UNION ALL SELECT 2",
            "x' AND SLEEP(5)",
            "<SvG onload=x>",
            "../../etc/passwd",
            "benchmark (",
            "nothing",
        ];
        for p in patterns {
            let re = regex::bytes::RegexBuilder::new(p)
                .case_insensitive(true)
                .build()
                .expect("valid");
            let set = required_literals(p).expect("has literals");
            for i in inputs {
                if re.is_match(i.as_bytes()) {
                    let lower = i.to_ascii_lowercase();
                    assert!(
                        set.iter()
                            .any(|l| lower.as_bytes().windows(l.len()).any(|w| w == &l[..])),
                        "{p} matched {i} without any of its literals"
                    );
                }
            }
        }
    }
}
