//! Skipping rules that cannot match, per transaction, with one literal scan.
//!
//! Most CRS rules are a regex or phrase list with literals that every match must contain
//! (`union`, `<script`, `/etc/`). At load time those literals of all eligible rules go into
//! one Aho-Corasick automaton. Per request, the distinct values those rules may inspect are
//! joined and scanned once as they are, and once more per transformation pipeline the
//! rules use, but then only the values that pipeline changes (most values are plain words
//! that no decoder changes). A literal found inside a value counts only for rules that
//! read a collection holding that value (a URL in the `Referer` header does not make a rule
//! on `ARGS` a candidate); a rule none of whose literals counted is skipped without looking
//! at its values. The result is an over-approximation: a rule may be evaluated needlessly,
//! never skipped wrongly.
//!
//! Regexes without a useful literal are compiled together into multi-pattern lazy DFAs
//! (`MatchKind::All`): one of every such regex for the untransformed values, one per
//! pipeline for the values it changes. They run over each of the joined values on its own
//! (text start and end at its edges), so a match is credited to the value it is in, and a
//! rule whose pattern matched in no value of its collections is skipped too. For this
//! question (a match or not) a repetition ending a pattern is cut to its minimum, which
//! leaves fewer match ends to look up. A literal that ordinary prose contains (`select`,
//! `like`, `from`: see [`literals_occur_in_prose`]) is no useful one: such a rule goes to the DFAs too, which
//! credit it only where its regex matches. The DFA of untransformed values holds the
//! regexes of lowercasing pipelines lowered ([`lowered_preimage`]), so it also answers for
//! their results that are a value lowercased. A rule reading one request header
//! (`REQUEST_HEADERS:Content-Type`) is scanned for in a collection of that header alone.
//!
//! Two kinds of pipeline result are not computed at all: one shorter than anything the
//! pipeline's literals and regexes, and those of the pipelines extending it, can match
//! when the steps after it never lengthen a value ([`Plan::skip_below`]: CRS's Base64
//! decoders make a few bytes of most values), and a plain value's that is the value
//! lowercased when the untransformed scans already answer for it
//! ([`Plan::lowers_plain`]).
//!
//! Operators whose verdict depends on the value alone and that have no literal to look for
//! (`@detectSQLi`, `@detectXSS`, `@validateByteRange`, `@validateUtf8Encoding`:
//! [`ValueTest`]) are answered by the scan itself, once per distinct value and pipeline
//! result, so the rule (or chain link) runs only on the values where it holds (CRS 942100
//! read each of a 20 KB JSON body's 1,400 values and names through `select`, a pipeline
//! lookup and a verdict lookup; most hold no test).

use aho_corasick::automaton::Automaton;
use aho_corasick::Anchored;

use crate::dense_dfa::DenseDfa;
use palisade_http::transform::PlainTraits;
use palisade_http::Transform;
use regex_automata::hybrid::dfa::{Cache, DFA};
use regex_automata::hybrid::LazyStateID;
use regex_automata::{Input, MatchKind};

/// Several regexes compiled into lazy DFAs (`MatchKind::All`, unanchored), run once over a
/// haystack to learn which of them match somewhere.
///
/// Patterns that match ordinary text (`^.*$` over header names, `^[^;\s]+` over a
/// content type: see `ORDINARY_TEXT`) are a DFA part of their own: in a part with the
/// others they put a match state, and its bookkeeping, into the pass over every value of
/// every collection, although their rules read one or two collections. On their own, their
/// part's mask skips the values outside those.
///
/// A collection that few of the patterns' rules read (`REQUEST_LINE`: 2 of the 59
/// patterns of CRS's untransformed values; `REQUEST_URI`: 4; the header names: 1) has a
/// part of those patterns alone, and a value held only by such collections is walked by
/// their parts instead: a small automaton whose few states stay cached, where the full
/// one's states are spread over a megabyte (a GET's request line and URI, raw and
/// decoded, were two thirds of the bytes its regex DFA walked).
pub struct MultiDfa {
    parts: Vec<DfaPart>,
    /// The collections the patterns' rules read (a value in none of them is not scanned).
    pub mask: u64,
    /// The parts of the narrow collections, each of one collection (its mask one bit).
    narrow: Vec<DfaPart>,
    /// Their bits.
    narrow_mask: u64,
    /// The patterns, until the narrow parts are made (once the slots' collections are
    /// known, in [`MultiDfa::set_masks`]); then dropped.
    patterns: Vec<(String, u32, bool)>,
}

/// One lazy DFA of a [`MultiDfa`].
struct DfaPart {
    dfa: std::sync::Arc<DFA>,
    /// The rule slot of each pattern.
    slots: Vec<u32>,
    /// The collections this part's patterns' rules read.
    mask: u64,
    caches: crate::per_thread::PerThread<Cache>,
    /// The same patterns in small parts of at most [`SPLIT_PATTERNS`] each, walked instead
    /// of this part when its lazy DFA gives up (empty for a part that small).
    ///
    /// A lazy DFA of many patterns pays off when traffic repeats: its states are made once
    /// and every later value walks them at one table load per byte. On varied traffic its
    /// states are the combinations of the patterns' own states that the values meet, and
    /// new values keep meeting new combinations: CRS's 59 patterns for untransformed
    /// values made 33 MB of states from the 379 KB of values of 714 benign requests (the
    /// hand-written corpus), clearing the 16 MB cache again and again, and making states
    /// took three quarters of those requests' inspection (~580 µs each). Parts of eight
    /// patterns each make few combinations, soon all made: the same values, after the
    /// caches had seen two thirds of them, took 12.5 ms against 130 ms. So this part
    /// gives up ([`GIVE_UP_BYTES_PER_STATE`]) when it makes states faster than walking
    /// the small parts costs, and the values are walked by those.
    split: Vec<DfaPart>,
    /// How many scans this part gave up (then walked by `split`).
    gave_up: std::sync::atomic::AtomicUsize,
    /// How many scans from now go to `split` straight away, without trying this part (a
    /// part that gave up gives up again on most values for a while: its try cost a tenth
    /// of the benign corpus' inspection).
    resting: std::sync::atomic::AtomicUsize,
}

/// Scans left to the small parts after a part gives up, before it is tried again.
const REST_AFTER_GIVING_UP: usize = 256;

/// Most patterns in one part of [`DfaPart::split`].
const SPLIT_PATTERNS: usize = 8;

/// A lazy DFA with small parts gives up, after two clears of its cache, when it walked
/// fewer bytes than this per state it holds: making a state costs about what walking a
/// thousand bytes through the small parts costs (~13 µs against ~14 ns a byte for CRS's
/// 59 patterns in 8 parts). A DFA on repeated traffic is never cleared, so never asks.
const GIVE_UP_BYTES_PER_STATE: usize = 1000;

/// The cache of a lazy DFA that may give up: room for what repeated traffic needs (the
/// anchor scenarios ran as fast as with 16 MB), while one that gave up keeps no more than
/// this of stale states per worker thread (the benign corpus replayed, three runs of each
/// alternating: RSS 86 → 74 MB, median 103 → 97 µs per request). Unit tests give it the
/// least the DFA can work with (cleared every few states), so that it gives up on their
/// small inputs.
#[cfg(not(test))]
const GIVING_UP_CACHE_BYTES: usize = 4 << 20;
#[cfg(test)]
const GIVING_UP_CACHE_BYTES: usize = 0;

/// Most parts [`Prefilter::try_scan_lockstep`] walks at once.
const LOCKSTEP_PARTS: usize = 16;

/// Credits the rule slots of the match states a walk meets, once per (state, value).
struct MatchRecorder {
    /// (state, value) pairs already read, direct-mapped by hash: a collision only means
    /// reading a pair twice (harmless), while a stale state id after a cache clear could
    /// hide the state that now has that id, so the table is emptied on every clear.
    /// (allocated at the first match state: most passes over a request meet none)
    seen: Vec<Option<(LazyStateID, usize)>>,
    clears: usize,
    last: Option<(LazyStateID, usize)>,
}

impl MatchRecorder {
    const SEEN: usize = 512;

    fn new(cache: &Cache) -> MatchRecorder {
        MatchRecorder {
            seen: Vec::new(),
            clears: cache.clear_count(),
            last: None,
        }
    }

    /// Credits the slots of match state `sid` of `part` (reading its cache) for value `k`.
    #[allow(clippy::too_many_arguments)]
    fn record(
        &mut self,
        prefilter: &Prefilter,
        part: &DfaPart,
        cache: &mut Cache,
        sid: LazyStateID,
        hay: &Hay,
        k: usize,
        candidates: &mut Candidates,
    ) {
        if cache.clear_count() != self.clears {
            self.clears = cache.clear_count();
            self.seen.iter_mut().for_each(|s| *s = None);
            self.last = None;
        }
        if self.last == Some((sid, k)) {
            return;
        }
        self.last = Some((sid, k));
        let hasher = crate::fxhash::FxBuild::default();
        let h = (std::hash::BuildHasher::hash_one(&hasher, (sid, k)) >> 40) as usize % Self::SEEN;
        if self.seen.is_empty() {
            self.seen.resize(Self::SEEN, None);
        }
        if self.seen[h] == Some((sid, k)) {
            return;
        }
        self.seen[h] = Some((sid, k));
        let (mask, id) = (hay.mask(k), hay.id(k));
        for i in 0..part.dfa.match_len(cache, sid) {
            let pid = part.dfa.match_pattern(cache, sid, i);
            let slot = part.slots[pid.as_usize()] as usize;
            if prefilter.reads(slot, mask) {
                candidates.credit(slot, id);
            }
        }
    }
}

impl MultiDfa {
    /// How many scans a part of many patterns gave up and left to its small parts (see
    /// [`DfaPart::split`]).
    pub fn scans_given_up(&self) -> usize {
        (self.parts.iter())
            .map(|p| p.gave_up.load(std::sync::atomic::Ordering::Relaxed))
            .sum()
    }

    /// The rule slots of the patterns, part by part.
    fn slots(&self) -> impl Iterator<Item = u32> + '_ {
        self.parts.iter().flat_map(|p| p.slots.iter().copied())
    }

    /// Sets each part's mask (and the union) from the collections of its slots' rules, and
    /// makes the parts of the collections few patterns read.
    fn set_masks(&mut self, slot_masks: &[u64]) {
        let mask_of = |slot: u32| slot_masks.get(slot as usize).copied().unwrap_or(u64::MAX);
        for part in &mut self.parts {
            part.mask = part.slots.iter().fold(0, |m, &s| m | mask_of(s));
            for small in &mut part.split {
                small.mask = small.slots.iter().fold(0, |m, &s| m | mask_of(s));
            }
        }
        self.mask = self.parts.iter().fold(0, |m, p| m | p.mask);
        let patterns = std::mem::take(&mut self.patterns);
        for bit in (0..64).map(|b| 1u64 << b).filter(|b| self.mask & b != 0) {
            let readers: Vec<DfaPattern<'_>> = patterns
                .iter()
                .filter(|(_, slot, _)| mask_of(*slot) & bit != 0)
                .map(|(regex, slot, lowered)| DfaPattern {
                    regex,
                    slot: *slot,
                    lowered: *lowered,
                })
                .collect();
            if readers.len() > NARROW_DFA_PATTERNS || readers.len() * 4 > patterns.len() {
                continue;
            }
            if let Some(mut part) = compile_part(&readers) {
                part.mask = bit;
                self.narrow.push(part);
                self.narrow_mask |= bit;
            }
        }
    }
}

impl std::fmt::Debug for MultiDfa {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MultiDfa")
            .field("slots", &self.slots().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

/// A collection read by at most this many of a [`MultiDfa`]'s patterns (and at most a
/// quarter of them) gets a part of its own.
const NARROW_DFA_PATTERNS: usize = 8;

/// Values of the kinds every request carries (words, numbers, a path, a browser's header
/// lines): a pattern matching one of them reaches a match state in most values.
const ORDINARY_TEXT: &[&[u8]] = &[
    b"hello world",
    b"12345",
    b"John Smith",
    b"user@example.com",
    b"/index.html",
    b"Mozilla/5.0 (Windows NT 10.0; Win64; x64)",
    b"en-GB,en;q=0.8",
    b"text/plain; charset=utf-8",
    b"id=7&page=3",
];

/// Ordinary prose, the kind of text a message, a review or a product description holds.
const PROSE: &[u8] = b"Hello team, I would like to change the delivery address for my last order. \
Please select the blue one if it is still in stock, and update my account when you can. \
Thanks for the great service! The file was attached to the message; let me know what else \
you need from me. We are open Monday to Friday, and delivery takes two or three days. Sort \
by price, then by name. Our new model is lighter, faster and comes with a free case.";

/// Whether some of `literals` (lowercase) occurs in ordinary prose (`PROSE`): a rule
/// with such a literal is a candidate for nearly every message or comment, and its regex
/// then runs over the whole text; through the regex DFA it is one only where the regex
/// matches.
pub fn literals_occur_in_prose(literals: &[Vec<u8>]) -> bool {
    let prose = PROSE.to_ascii_lowercase();
    literals
        .iter()
        .any(|l| !l.is_empty() && memchr::memmem::find(&prose, l).is_some())
}

/// Whether the prefilter's regex DFA can take `pattern` (it parses as bytes, and has no
/// text-edge assertion the per-value scan would misplace).
pub fn regex_fits_dfa(pattern: &str) -> bool {
    !asserts_text_edges(pattern) && parse_prefilter_regex(pattern).is_some()
}

/// Whether `pattern` has `\A`, `\z` or `\Z`: the edges of the whole text, which the scan's
/// multi-line parse (`^`/`$` at every line) and per-value passes do not model.
pub fn asserts_text_edges(pattern: &str) -> bool {
    pattern.contains("\\z") || pattern.contains("\\Z") || pattern.contains("\\A")
}

/// Collections whose values are scanned (request data and response data). Rules that
/// read anything else (TX, counts, MATCHED_VARS, ...) are never skipped.
pub const SCANNED: &[&str] = &[
    "ARGS",
    "ARGS_GET",
    "ARGS_POST",
    "ARGS_NAMES",
    "ARGS_GET_NAMES",
    "ARGS_POST_NAMES",
    "REQUEST_HEADERS",
    "REQUEST_HEADERS_NAMES",
    "REQUEST_COOKIES",
    "REQUEST_COOKIES_NAMES",
    "REQUEST_FILENAME",
    "REQUEST_BASENAME",
    "REQUEST_URI",
    "REQUEST_URI_RAW",
    "REQUEST_LINE",
    "REQUEST_METHOD",
    "REQUEST_PROTOCOL",
    "QUERY_STRING",
    "REQUEST_BODY",
    "XML",
    "FILES",
    "FILES_NAMES",
    "MULTIPART_PART_HEADERS",
    "RESPONSE_BODY",
    "RESPONSE_HEADERS",
];

/// One transformation pipeline used by skippable rules, and what it is applied to.
#[derive(Debug)]
pub struct Plan {
    /// The pipeline as the rules apply it (see [`without_case_changes`] for literal rules).
    pub transforms: Vec<Transform>,
    /// Collections read by the rules that use this pipeline.
    pub collections: Vec<String>,
    /// The same as a mask of [`Prefilter::collections`] indexes.
    pub mask: u64,
    /// The steps of `transforms`, as indexes into [`Prefilter::steps`].
    pub steps: Vec<usize>,
    /// Some rule with required literals uses this pipeline (else its values need no
    /// literal scan).
    pub has_literals: bool,
    /// Regexes of this pipeline's rules without literals, and the slot of each pattern.
    pub dfa: Option<MultiDfa>,
    /// Value tests of this pipeline's rules.
    pub tests: Vec<SlotTest>,
    /// The plan whose pipeline is this one without its last step, if there is one: a
    /// value's result here is that plan's result through the last step (computed once).
    pub parent: Option<usize>,
    /// `raw_dfa` holds this plan's regexes lowered ([`lowered_preimage`]): its result on a
    /// value that is the value lowercased was scanned with the value, and a result with
    /// capitals (from a decoder after the lowercasing) needs the plan's own DFA.
    pub lowered_in_raw: bool,
    /// A result shorter than this can credit no rule of this plan nor of any plan extending
    /// it (0: none is too short): their literals and regexes need that many bytes, and the
    /// steps that extend this plan never lengthen a value ([`Transform::never_lengthens`]).
    /// CRS 934100/934160 base64-decode every argument, which stops at the first byte
    /// outside the alphabet: most values decode to a few bytes of no interest.
    pub skip_below: usize,
    /// [`Plan::skip_below`] for the request's values themselves, when this plan's own steps
    /// never lengthen a value either (else 0): such a value is left out before any step.
    pub skip_values_below: usize,
    /// Bit `t` for each [`PlainTraits`] index `t` for which every step at most lowercases
    /// a plain value ([`Transform::at_most_lowercases_plain_with`]), when the raw pass finds
    /// all this plan would in a value's lowercased bytes (its literals are found ignoring
    /// case and its regexes are in `raw_dfa` lowered or it has none; its value tests, which
    /// may tell case apart, are asked about the lowercased value on its own); else 0. A
    /// plain value with such traits needs no result here (`cmdLine` and
    /// `lowercase` pipelines otherwise copy every value with a capital).
    pub lowers_plain: u16,
    /// For a pipeline that decodes base64 or hex, whose results are then mostly binary:
    /// the bytes of its rules' literals and the shortest one's length (see
    /// [`LiteralRuns`]). CRS 934100 base64-decodes every argument without its whitespace,
    /// and a form's message becomes ~1.2 KB of binary, scanned in four plans (a third of a
    /// form's literal scanning) where its literals' bytes make no run long enough to hold
    /// one.
    pub binary_runs: Option<LiteralRuns>,
    /// `steps` as a mask of [`Prefilter::steps`] bits (0 when the plans have too many
    /// steps to say).
    pub steps_mask: u64,
    /// Bit `t` for each [`PlainTraits`] index `t` whose plain values every step leaves as
    /// they are (by [`Prefilter::steps_on_plain`]): such values are settled without a
    /// look. (Worked out at build: per scan, it was ~1k instructions of a GET.)
    pub settles: u16,
    /// This plan's row in a scan's table of results, when another plan extends it (its
    /// results are kept for that one); see [`Prefilter::result_rows`].
    pub result_row: Option<usize>,
}

/// Where in a value a set of literals can be: runs of their bytes (either case, as
/// literals are found ignoring ASCII case) at least as long as the shortest one.
#[derive(Debug, Clone)]
pub struct LiteralRuns {
    bytes: [bool; 256],
    shortest: usize,
}

impl LiteralRuns {
    /// None for no literals, or an empty one (found anywhere).
    pub fn of<'l>(literals: impl Iterator<Item = &'l Vec<u8>>) -> Option<LiteralRuns> {
        let mut runs = LiteralRuns {
            bytes: [false; 256],
            shortest: usize::MAX,
        };
        for l in literals {
            runs.shortest = runs.shortest.min(l.len());
            for &b in l {
                runs.bytes[usize::from(b.to_ascii_lowercase())] = true;
                runs.bytes[usize::from(b.to_ascii_uppercase())] = true;
            }
        }
        (runs.shortest != usize::MAX && runs.shortest > 0).then_some(runs)
    }

    /// Whether `value` is worth scanning by its runs: long enough (a short one costs little
    /// to scan whole; a JSON order's ids base64-decode into a few bytes each) and mostly
    /// binary, a quarter of its bytes or more not ASCII.
    pub fn is_long_binary(value: &[u8]) -> bool {
        value.len() >= 64 && non_ascii(value) * 4 >= value.len()
    }

    /// Appends to `out` what of `value` needs scanning for the literals, with `mask` and
    /// `id`: a long, mostly binary value by its runs that can hold one, anything else whole
    /// (true then: scanned for every literal).
    ///
    /// The runs are found by [`each_run`], which reads a fraction of the value's bytes
    /// (splitting by reading every byte cost more than scanning them).
    pub fn push_runs(&self, value: &[u8], mask: u64, id: u32, out: &mut Hay) -> bool {
        if !LiteralRuns::is_long_binary(value) {
            out.push(value, mask, id);
            return true;
        }
        each_run(value, &self.bytes, self.shortest, |start, end| {
            out.push(&value[start..end], mask, id);
        });
        false
    }
}

/// Calls `f(start, end)` for each maximal run of `value`'s bytes in `set` at least
/// `shortest` (> 0) long, in order. A run that long holds one of every `shortest`
/// consecutive positions, so only those positions are looked at first, and only a byte of
/// `set` there is followed both ways to its run's ends: a fraction of a binary value's
/// bytes are read.
fn each_run(value: &[u8], set: &[bool; 256], shortest: usize, mut f: impl FnMut(usize, usize)) {
    let (len, step) = (value.len(), shortest.max(1));
    let holds = |i: usize| set[usize::from(value[i])];
    // bytes before `from` are settled: the next run starts at or after it
    let mut from = 0;
    let mut at = step - 1;
    while at < len {
        if !holds(at) {
            at += step;
            continue;
        }
        let mut start = at;
        while start > from && holds(start - 1) {
            start -= 1;
        }
        let mut end = at + 1;
        while end < len && holds(end) {
            end += 1;
        }
        if end - start >= step {
            f(start, end);
        }
        // (`end` is outside the set, or the value's end)
        from = end + 1;
        at = end + step;
    }
}

/// How many bytes of `value` are not ASCII (eight at a time).
fn non_ascii(value: &[u8]) -> usize {
    let mut words = value.chunks_exact(8);
    let mut n = 0;
    for w in &mut words {
        let w = u64::from_ne_bytes(w.try_into().unwrap_or([0; 8]));
        n += (w & 0x8080_8080_8080_8080).count_ones() as usize;
    }
    n + words.remainder().iter().filter(|&&b| b >= 0x80).count()
}

/// A long binary result cut down to the parts that can hold a literal, for a plan and
/// the plans extending it (CRS 934100 base64-decodes every argument without its
/// whitespace, so a form's prose message becomes ~1.2 KB of binary, which three more
/// decoders then copied and scanned whole).
///
/// `keep` holds the bytes of every literal of those plans (either case) and every byte
/// their later steps treat specially (`%`, `+`, `\`, letters and digits, whitespace,
/// NUL). Those steps are local: a byte outside `keep` comes out of each of them as it
/// is (after a `\`, as that escape's result), ends any escape before it, and joins no
/// two runs, so each literal in a later result lies within the result of one maximal run
/// of `keep` bytes; none of the steps lengthens, so a run shorter than the shortest
/// literal gives none. The runs at least that long, each followed by `separator` (a byte
/// outside `keep`, which the steps treat as they treat the bytes it stands for) unless it
/// ends the value, are a value in which each of the plans finds every literal that it
/// finds in the whole result.
#[derive(Debug)]
pub struct RunCompaction {
    keep: [bool; 256],
    shortest: usize,
    separator: u8,
}

impl RunCompaction {
    /// The bytes `step` treats specially, when it is a local step that never lengthens
    /// (None otherwise: its results cannot be taken run by run).
    fn special_bytes(step: Transform) -> Option<&'static [u8]> {
        const WHITESPACE: &[u8] = b"\t\n\x0b\x0c\r \xa0";
        match step {
            // with the letters and digits, added for every step: `%41`, `%u0041`, `\x41`,
            // `\101`, `\n` are made of them
            Transform::UrlDecode | Transform::UrlDecodeUni => Some(b"%+"),
            Transform::JsDecode => Some(b"\\"),
            Transform::RemoveWhitespace | Transform::CompressWhitespace => Some(WHITESPACE),
            Transform::RemoveNulls => Some(b"\0"),
            Transform::Lowercase | Transform::Uppercase => Some(b""),
            _ => None,
        }
    }

    /// For results of a plan whose rules' literals are `literals`, extended by plans whose
    /// further steps are `later_steps` and whose rules' literals are among `literals` too;
    /// None when a step is not local, a literal is empty, or no byte is left for the
    /// separator.
    pub fn new<'l>(
        literals: impl Iterator<Item = &'l Vec<u8>>,
        later_steps: impl Iterator<Item = Transform>,
    ) -> Option<RunCompaction> {
        let mut keep = [false; 256];
        for b in (b'0'..=b'9').chain(b'a'..=b'z').chain(b'A'..=b'Z') {
            keep[usize::from(b)] = true;
        }
        for step in later_steps {
            for &b in RunCompaction::special_bytes(step)? {
                keep[usize::from(b)] = true;
            }
        }
        let mut shortest = usize::MAX;
        for l in literals {
            shortest = shortest.min(l.len());
            for &b in l {
                keep[usize::from(b.to_ascii_lowercase())] = true;
                keep[usize::from(b.to_ascii_uppercase())] = true;
            }
        }
        if shortest == 0 || shortest == usize::MAX {
            return None;
        }
        let separator = (1..=255u8).find(|&b| !keep[usize::from(b)])?;
        Some(RunCompaction {
            keep,
            shortest,
            separator,
        })
    }

    /// Whether `value` has a run of `keep` bytes at least `shortest` long. Without one, its
    /// compaction is empty: no plan of the tree finds a literal in it, nor in what the later
    /// steps make of it (a short base64-decoded argument is a few bytes of binary, which
    /// six more plans of CRS 934100 decoded and scanned again).
    pub fn holds_run(&self, value: &[u8]) -> bool {
        if value.len() < 64 {
            // (short: byte by byte, stopping at the first run long enough)
            let mut run = 0;
            for &b in value {
                run = if self.keep[usize::from(b)] {
                    run + 1
                } else {
                    0
                };
                if run >= self.shortest {
                    return true;
                }
            }
            return false;
        }
        let mut found = false;
        each_run(value, &self.keep, self.shortest, |_, _| found = true);
        found
    }

    /// Appends to `out` the runs of `keep` bytes of `value` at least `shortest` long
    /// ([`each_run`]), each followed by the separator but one that ends the value.
    pub fn compact_into(&self, value: &[u8], out: &mut Vec<u8>) {
        each_run(value, &self.keep, self.shortest, |start, end| {
            out.extend_from_slice(&value[start..end]);
            // (not after a run that ends the value: there the separator would stand for
            // the value's end, which a step may treat differently from a byte — jsDecode
            // keeps a trailing `\` but drops one before any byte)
            if end < value.len() {
                out.push(self.separator);
            }
        });
    }
}

/// A rule the prefilter can decide about.
#[derive(Debug, Clone)]
pub struct Entry {
    /// The rule's slot (shared by the prefilters of every paranoia level).
    pub slot: u32,
    /// Required literals (lowercase), or else...
    pub literals: Option<Vec<Vec<u8>>>,
    /// ...the regex, for the multi-pattern DFA, or else...
    pub regex: Option<String>,
    /// ...an operator the scan evaluates on each value.
    pub test: Option<ValueTest>,
    pub transforms: Vec<Transform>,
    pub collections: Vec<String>,
}

/// A value test of a rule: the test (an index into [`Prefilter::tests`]), the rule's slot,
/// and the collections (a mask) whose values it is asked about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SlotTest {
    pub test: usize,
    pub slot: u32,
    /// (every collection until the masks are known: [`Prefilter::slot_masks`])
    pub reads: u64,
}

/// An operator whose verdict depends on the (transformed) value alone, cheap enough to be
/// evaluated on every distinct value during the scan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ValueTest {
    /// `@validateByteRange`: holds when a byte is outside the allowed set.
    ByteRange(ByteRangeTest),
    /// `@detectSQLi`.
    Sqli,
    /// `@detectXSS`.
    Xss,
    /// `@validateUtf8Encoding`: holds when the value is not valid UTF-8.
    Utf8,
    /// `@contains`, `@containsWord`, `@beginsWith`, `@endsWith`, `@streq` or `@strmatch`
    /// with a constant argument.
    Str(crate::operators::StrTest),
}

/// A `@validateByteRange` set as the scan tests it: every value of the collections its
/// rule reads goes through it (CRS 920270 reads every argument, header and the URI, so a
/// form's 2 KB message), where a lookup and a branch per byte cost ~2 cycles a byte.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ByteRangeTest {
    allowed: Box<[bool; 256]>,
    /// The bytes outside the set, when there are at most three (920270 at PL1 allows
    /// 1-255): found with a vector search.
    few_outside: Option<Vec<u8>>,
}

impl ByteRangeTest {
    pub fn new(allowed: &[bool; 256]) -> ByteRangeTest {
        let outside: Vec<u8> = (0..=255u8).filter(|&b| !allowed[usize::from(b)]).collect();
        ByteRangeTest {
            allowed: Box::new(*allowed),
            few_outside: (outside.len() <= 3).then_some(outside),
        }
    }

    /// Whether a byte of `value` is outside the set.
    pub fn holds(&self, value: &[u8]) -> bool {
        match self.few_outside.as_deref() {
            Some([]) => false,
            Some(&[a]) => memchr::memchr(a, value).is_some(),
            Some(&[a, b]) => memchr::memchr2(a, b, value).is_some(),
            Some(&[a, b, c]) => memchr::memchr3(a, b, c, value).is_some(),
            _ => {
                // (64 lookups OR-ed together, then one branch: no branch per byte)
                let outside = |bytes: &[u8]| {
                    bytes
                        .iter()
                        .fold(false, |any, &b| any | !self.allowed[usize::from(b)])
                };
                let mut blocks = value.chunks_exact(64);
                blocks.any(outside) || outside(blocks.remainder())
            }
        }
    }
}

/// The literals of the rules reading one collection that few rules read (the request
/// body, headers, the method), in an automaton of their own: values held only by such
/// collections are scanned with it instead of with every literal (CRS: 97 of 3,587 for
/// `REQUEST_BODY`, whose 20 KB JSON was three quarters of the bytes scanned).
#[derive(Debug)]
pub struct NarrowLiterals {
    /// The collection's mask bit.
    pub bit: u64,
    /// None when no literal rule reads the collection.
    pub ac: Option<LiteralScanner>,
    /// Index in the full literal list of each of `ac`'s patterns.
    pub literals: Vec<usize>,
}

/// See [`Prefilter::plain`].
#[derive(Debug)]
pub struct PlainLiterals {
    pub ac: LiteralScanner,
    /// Index in the full literal list of each of `ac`'s patterns.
    pub literals: Vec<usize>,
}

/// The length a value needs for `transforms`, none of which lengthens a value, to leave
/// one of at least `len` bytes (0 when one of them may lengthen it): the shortest with a
/// long enough bound ([`Transform::max_output_len`]). A base64-decoding pipeline needs four
/// bytes for every three it must leave (CRS 934100's patterns need 4 or 5: a value of 5
/// bytes or fewer is too short before it is decoded).
fn shortest_value_reaching(transforms: &[Transform], len: usize) -> usize {
    let bound = |n: usize| {
        transforms
            .iter()
            .try_fold(n, |at_most, t| t.max_output_len(at_most))
    };
    if len == 0 || bound(len).is_none() {
        return 0;
    }
    // (the bound grows with the length; searched a little way, else no shorter than `len`)
    (len..=len.saturating_mul(4))
        .find(|&n| bound(n).is_some_and(|b| b >= len))
        .unwrap_or(len)
}

/// Whether `b` can be a byte of a plain value.
fn is_plain_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'_' | b'@' | b':' | b',' | b'.' | b'-' | b' ')
}

/// Plain literal sets up to this size get their DFA.
const PLAIN_LITERAL_SET: usize = 4096;
/// ...unless the DFA is larger than this (CRS 4.28 at PL1: 1.9 MB for the request
/// phases' 1,453 plain literals; 5.4 MB for the response's, left without one).
const PLAIN_DFA_BYTES: usize = 4 << 20;

#[derive(Debug, Default)]
pub struct Prefilter {
    pub ac: Option<LiteralScanner>,
    /// Automata for collections read by few literal rules, and their bits as a mask.
    pub narrow: Vec<NarrowLiterals>,
    pub narrow_mask: u64,
    /// The literals that can occur in a plain value ([`palisade_http::transform::is_plain`]:
    /// letters, digits, `_ @ : , . -` and spaces), as a DFA, for plain values: prose and
    /// identifiers, most of a form or JSON body. The full automaton is an NFA (a DFA of
    /// every literal took 83 MB), and on prose its failure links cost ~55 instructions per
    /// byte; this one costs a table lookup.
    pub plain: Option<PlainLiterals>,
    /// For each literal of `ac`, the slots of the rules it belongs to.
    pub literal_slots: Vec<Vec<u32>>,
    pub plans: Vec<Plan>,
    /// Per plan, the bytes and length that a run of its results must have for the plan or
    /// a plan extending it to find a literal there ([`RunCompaction::holds_run`]): a
    /// result without such a run is left out of them all. A binary plan (base64 or hex
    /// decoding) has one when neither it nor any plan extending it asks more of a value
    /// than its literals and their later steps are local, and then its long results are
    /// also cut down to those runs ([`RunFloor::compacts`]) before they are scanned and
    /// handed on; or when `replaceComments` ends a chain of the tree (CRS 934100's
    /// `…,base64Decode,urlDecodeUni,jsDecode,replaceComments`), which joins no two runs
    /// into one literal when no literal holds the space a comment becomes (no cutting
    /// then: a comment spans any bytes). See [`Prefilter::compaction`] and
    /// [`Prefilter::run_floor`].
    pub run_floors: Vec<Option<Box<RunFloor>>>,
    /// Slots this prefilter decides; the others always count as candidates.
    pub covered: Vec<bool>,
    /// Collections read by any covered rule; a value's collections are a mask of indexes
    /// into this list (see [`collection_bit`]).
    pub collections: Vec<String>,
    /// Each of `collections` as a collection and a selector: `REQUEST_HEADERS:host` is
    /// `REQUEST_HEADERS` with the key `host` (split and resolved once here, not per
    /// request).
    pub collection_selectors: Vec<(crate::variables::CollectionId, crate::variables::Selector)>,
    /// For each slot, the collections its rule reads (a mask, as above).
    pub slot_masks: Vec<u64>,
    /// Every distinct step of the plans (at most 64; with more, `Plan::steps` stay empty).
    pub steps: Vec<Transform>,
    /// Per [`PlainTraits`] index, the `steps` (a mask) that leave a plain value with those
    /// traits as it is ([`Transform::identity_on_plain_with`]).
    pub steps_on_plain: [u64; 8],
    /// The regexes of every plan in one DFA, for the untransformed values (a value that a
    /// pipeline leaves unchanged is the same under it).
    pub raw_dfa: Option<MultiDfa>,
    /// Plan indexes, every parent before its children (shorter pipelines first).
    pub order: Vec<usize>,
    /// How many plans others extend (the rows of a scan's table of results).
    pub result_rows: usize,
    /// Slots of untransformed regexes that match any byte (`.`): candidates when a value
    /// of their collections is not empty.
    pub nonempty_slots: Vec<u32>,
    /// The distinct value tests of the plans.
    pub tests: Vec<ValueTest>,
    /// Every plan's value tests, for the untransformed values (a value that a pipeline
    /// leaves unchanged is the same under it).
    pub raw_tests: Vec<SlotTest>,
    /// The collections (a mask) whose values clients repeat: a value held by these alone
    /// has its scan verdict remembered across requests.
    pub repeated_mask: u64,
    /// Per thread, the verdicts remembered ([`crate::scan_memo`]).
    pub memo: crate::scan_memo::ScanMemos,
}

/// A regex for a [`MultiDfa`], with its rule's slot.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct DfaPattern<'a> {
    pub regex: &'a str,
    pub slot: u32,
    /// Compiled to match where the regex matches in the value lowercased
    /// ([`lowered_preimage`]), for a pipeline whose results hold no capitals.
    pub lowered: bool,
}

/// The fewest bytes a value must have for `entry` to credit its rule: its shortest
/// required literal, or the shortest match of its regex; 0 for a value test (a detector
/// may say yes to anything).
fn shortest_credited(entry: &Entry) -> usize {
    if let Some(literals) = &entry.literals {
        return literals.iter().map(Vec::len).min().unwrap_or(0);
    }
    if let Some(regex) = &entry.regex {
        return parse_prefilter_regex(regex)
            .map_or(0, |h| h.properties().minimum_len().unwrap_or(usize::MAX));
    }
    0
}

/// One lazy DFA of `patterns`, its mask to be set.
fn compile_part(patterns: &[DfaPattern<'_>]) -> Option<DfaPart> {
    compile_part_as(patterns, false)
}

/// [`compile_part`], and with [`DfaPart::split`] when it has more than [`SPLIT_PATTERNS`]
/// patterns.
fn compile_splitting_part(patterns: &[DfaPattern<'_>]) -> Option<DfaPart> {
    if patterns.len() <= SPLIT_PATTERNS {
        return compile_part(patterns);
    }
    let split = patterns
        .chunks(SPLIT_PATTERNS)
        .map(compile_part)
        .collect::<Option<Vec<_>>>()?;
    Some(DfaPart {
        split,
        ..compile_part_as(patterns, true)?
    })
}

/// A part of `patterns`; one that may give up ([`GIVE_UP_BYTES_PER_STATE`]) when
/// `may_give_up`.
fn compile_part_as(patterns: &[DfaPattern<'_>], may_give_up: bool) -> Option<DfaPart> {
    if patterns.is_empty() {
        return None;
    }
    let hirs: Vec<regex_syntax::hir::Hir> = patterns
        .iter()
        .map(|p| {
            let hir = parse_prefilter_regex(p.regex)?;
            let hir = if p.lowered {
                lowered_preimage(&hir)?
            } else {
                hir
            };
            Some(trim_trailing_repetition(&hir))
        })
        .collect::<Option<_>>()?;
    let nfa = regex_automata::nfa::thompson::Compiler::new()
        .configure(
            regex_automata::nfa::thompson::Config::new()
                .utf8(false)
                .which_captures(regex_automata::nfa::thompson::WhichCaptures::None)
                .nfa_size_limit(Some(256 << 20)),
        )
        .build_many_from_hir(&hirs)
        .ok()?;
    let dfa = DFA::builder()
        .configure(
            DFA::config()
                .match_kind(MatchKind::All)
                .cache_capacity(if may_give_up {
                    GIVING_UP_CACHE_BYTES
                } else {
                    16 << 20
                })
                .skip_cache_capacity_check(may_give_up)
                .minimum_cache_clear_count(may_give_up.then_some(2))
                .minimum_bytes_per_state(may_give_up.then_some(GIVE_UP_BYTES_PER_STATE)),
        )
        .build_from_nfa(nfa)
        .ok()?;
    let dfa = std::sync::Arc::new(dfa);
    let for_pool = dfa.clone();
    let new_cache = Box::new(move || for_pool.create_cache());
    Some(DfaPart {
        dfa,
        slots: patterns.iter().map(|p| p.slot).collect(),
        mask: u64::MAX,
        caches: crate::per_thread::PerThread::new(new_cache),
        split: Vec::new(),
        gave_up: Default::default(),
        resting: Default::default(),
    })
}

/// `pattern` as the prefilter compiles it: bytes (no Unicode), `^`/`$` at every line
/// boundary, `.` matching any byte.
fn parse_prefilter_regex(pattern: &str) -> Option<regex_syntax::hir::Hir> {
    regex_syntax::ParserBuilder::new()
        .unicode(false)
        .utf8(false)
        .multi_line(true)
        .dot_matches_new_line(true)
        .build()
        .parse(pattern)
        .ok()
}

/// A regex (of `parse_prefilter_regex`'s bytes) that matches in a value exactly where
/// `hir` matches in the value with its ASCII capitals lowercased: every byte test `b in C`
/// becomes `lowercase(b) in C` (a capital in a literal or class then matches nothing, a
/// small letter matches either case). Looks are unchanged: line ends and word bytes are
/// the same in both cases. None for a class with non-ASCII characters (the prefilter
/// parses bytes; such a class would be one of UTF-8 sequences).
///
/// The regex DFA of raw values holds the patterns of lowercasing pipelines in this form
/// (exact on the values such a pipeline leaves as they are: they hold no capitals), so
/// that a result that is its raw value lowercased (most of a request's mixed-case text
/// under those pipelines) was scanned with the raw value and needs no scan of its own.
pub fn lowered_preimage(hir: &regex_syntax::hir::Hir) -> Option<regex_syntax::hir::Hir> {
    use regex_syntax::hir::{Class, ClassBytes, ClassBytesRange, Hir, HirKind, Repetition};
    // the bytes whose lowercase is in `allowed`
    let class = |allowed: &dyn Fn(u8) -> bool| {
        let mut ranges: Vec<ClassBytesRange> = Vec::new();
        for b in 0..=255u8 {
            if allowed(b.to_ascii_lowercase()) {
                ranges.push(ClassBytesRange::new(b, b));
            }
        }
        Hir::class(Class::Bytes(ClassBytes::new(ranges)))
    };
    Some(match hir.kind() {
        HirKind::Empty | HirKind::Look(_) => hir.clone(),
        HirKind::Literal(lit) => Hir::concat(
            lit.0
                .iter()
                .map(|&c| match c {
                    b'a'..=b'z' | b'A'..=b'Z' => class(&|b| b == c),
                    _ => Hir::literal([c]),
                })
                .collect(),
        ),
        HirKind::Class(Class::Bytes(c)) => class(&|b| {
            c.ranges()
                .iter()
                .any(|r| (r.start()..=r.end()).contains(&b))
        }),
        // (an ASCII class can be a Unicode one in the HIR; others are left alone)
        HirKind::Class(Class::Unicode(c)) if c.ranges().iter().all(|r| r.end().is_ascii()) => {
            class(&|b| {
                c.ranges()
                    .iter()
                    .any(|r| (r.start()..=r.end()).contains(&char::from(b)))
            })
        }
        HirKind::Class(Class::Unicode(_)) => return None,
        HirKind::Repetition(r) => Hir::repetition(Repetition {
            sub: Box::new(lowered_preimage(&r.sub)?),
            ..r.clone()
        }),
        HirKind::Capture(c) => lowered_preimage(&c.sub)?,
        HirKind::Concat(subs) => {
            Hir::concat(subs.iter().map(lowered_preimage).collect::<Option<_>>()?)
        }
        HirKind::Alternation(subs) => {
            Hir::alternation(subs.iter().map(lowered_preimage).collect::<Option<_>>()?)
        }
    })
}

/// Whether `pipeline` lowercases (`lowercase`, `cmdLine`): a value it leaves as it is then
/// holds no capitals.
pub fn pipeline_lowercases(pipeline: &[Transform]) -> bool {
    pipeline
        .iter()
        .any(|t| matches!(t, Transform::Lowercase | Transform::CmdLine))
}

/// Whether `pattern` is a single any-byte class (`.`, as the prefilter compiles it), so it
/// matches exactly the non-empty values.
fn matches_any_byte(pattern: &str) -> bool {
    use regex_syntax::hir::{Class, HirKind};
    let Some(hir) = parse_prefilter_regex(pattern) else {
        return false;
    };
    match hir.kind() {
        HirKind::Class(Class::Bytes(b)) => {
            b.ranges().len() == 1 && b.ranges()[0].start() == 0 && b.ranges()[0].end() == 255
        }
        _ => false,
    }
}

/// A regex that matches somewhere in a value exactly when `hir` does, with fewer places
/// where a match ends: a repetition at the end is cut to its minimum (`^[^;\s]+` becomes
/// `^[^;\s]`, `ab*` becomes `a`), since every match of the long form begins with a match
/// of the short one and the short one extends to a match of the long one. The prefilter
/// only asks whether a pattern matches in a value, and each end of a match costs it a
/// lookup: CRS 920420's `^[^;\s]+` ended a match at every byte of a 2 KB form body.
/// Captures are dropped (the DFA reports no groups).
fn trim_trailing_repetition(hir: &regex_syntax::hir::Hir) -> regex_syntax::hir::Hir {
    use regex_syntax::hir::{Hir, HirKind, Repetition};
    match hir.kind() {
        HirKind::Concat(subs) => {
            let mut subs = subs.clone();
            while let Some(last) = subs.pop() {
                let trimmed = trim_trailing_repetition(&last);
                // an empty end (`c*` cut to nothing) lets the part before it be cut too
                if !matches!(trimmed.kind(), HirKind::Empty) {
                    subs.push(trimmed);
                    break;
                }
            }
            Hir::concat(subs)
        }
        HirKind::Alternation(subs) => {
            Hir::alternation(subs.iter().map(trim_trailing_repetition).collect())
        }
        HirKind::Capture(c) => trim_trailing_repetition(&c.sub),
        HirKind::Repetition(r) => match r.min {
            0 => Hir::empty(),
            1 => trim_trailing_repetition(&r.sub),
            min => Hir::repetition(Repetition {
                min,
                max: Some(min),
                greedy: r.greedy,
                sub: r.sub.clone(),
            }),
        },
        _ => hir.clone(),
    }
}

/// The name under which a prefilter holds the values `collection:key` selects (for value
/// tests, see [`ValueTest`]: one header of `REQUEST_HEADERS`; collections without keyed
/// lookups give all their values); collection names hold no `:` otherwise.
pub fn keyed_collection(collection: &str, key: &str) -> String {
    format!("{collection}:{key}")
}

/// Whether `name` is [`keyed_collection`]`(collection, key)`.
pub fn is_keyed_collection(name: &str, collection: &str, key: &str) -> bool {
    // (asked for every collection of the prefilter by each keyed rule target: lengths
    // first, no search for the `:`)
    name.len() == collection.len() + 1 + key.len()
        && name.as_bytes()[collection.len()] == b':'
        && name.starts_with(collection)
        && name.ends_with(key)
}

/// The literal automaton: ASCII case ignored. A contiguous NFA, not a DFA: for CRS's
/// ~5,900 literals the DFA took 83 MB (two thirds of the process) against 5 MB, and
/// scanned the same requests in about the same time (more instructions, fewer cache
/// misses). Dense transitions for the first bytes of a literal, where scanning spends its
/// time.
fn literal_automaton<L: AsRef<[u8]>>(literals: &[L]) -> Option<LiteralScanner> {
    if literals.is_empty() {
        return None;
    }
    if let Some(prefixed) = PrefixedLiterals::build(literals) {
        return Some(LiteralScanner::Prefixed(prefixed));
    }
    match aho_corasick::nfa::contiguous::Builder::new()
        .ascii_case_insensitive(true)
        .prefilter(false)
        .dense_depth(6)
        .build(literals)
    {
        Ok(nfa) => {
            let sb = StartBytes::of(&nfa);
            Some(LiteralScanner::Nfa(nfa, sb))
        }
        // (too many states for the contiguous layout)
        Err(_) => aho_corasick::nfa::noncontiguous::Builder::new()
            .ascii_case_insensitive(true)
            .prefilter(false)
            .build(literals)
            .ok()
            .map(|nfa| {
                let sb = StartBytes::of(&nfa);
                LiteralScanner::WideNfa(nfa, sb)
            }),
    }
}

/// A literal automaton (ASCII case ignored, every match reported), walked by
/// [`LiteralScanner::walk`]'s own loop rather than through the Aho-Corasick crate's
/// overlapping search: a step there goes through the search's resumable state and a
/// return per match (~20 instructions per byte on prose, where CRS's short literals match
/// every few bytes); here it is a transition, a range test and, at a match, a call per
/// pattern.
#[derive(Debug)]
pub enum LiteralScanner {
    Dense(DenseDfa),
    Nfa(aho_corasick::nfa::contiguous::NFA, StartBytes),
    WideNfa(aho_corasick::nfa::noncontiguous::NFA, StartBytes),
    Prefixed(PrefixedLiterals),
}

/// Literals longer than this are found by their first `PREFIX_LEN` bytes, then checked.
const PREFIX_LEN: usize = 6;
/// The prefixes' DFA is used up to this size (CRS 4.28 at PL1: 1.2 MB for the request
/// phases' 3,301 literals, 0.9 MB for the response's).
const PREFIX_DFA_BYTES: usize = 8 << 20;

/// A large literal set as a DFA of the literals' first `PREFIX_LEN` bytes, each match of
/// a prefix then checked against the literals it begins. The DFA of every whole literal
/// took 83 MB for CRS; the NFA that replaced it follows failure links at nearly every
/// byte of a value that is not plain (~25 instructions per byte, ~55 on prose), where a
/// DFA step is one table load. Prefixes are few (CRS: ~1,900 for ~3,600 literals) and
/// seldom met in benign bytes, so the checks cost little.
#[derive(Debug)]
pub struct PrefixedLiterals {
    dfa: DenseDfa,
    /// Per prefix (the DFA's pattern): the range of `begun` holding the literals it begins.
    prefixes: Vec<std::ops::Range<usize>>,
    /// (literal index, the literal's bytes after the prefix), grouped by prefix.
    begun: Vec<(usize, Box<[u8]>)>,
}

impl PrefixedLiterals {
    /// None when some literal is empty (a match before every byte, which prefixes cannot
    /// express) or when the DFA would exceed [`PREFIX_DFA_BYTES`].
    fn build<L: AsRef<[u8]>>(literals: &[L]) -> Option<PrefixedLiterals> {
        if literals.iter().any(|l| l.as_ref().is_empty()) {
            return None;
        }
        // (lowercased: the DFA ignores ASCII case, so prefixes differing in it are one)
        let mut by_prefix: Vec<(Vec<u8>, usize)> = literals
            .iter()
            .enumerate()
            .map(|(i, l)| {
                let l = l.as_ref();
                (l[..l.len().min(PREFIX_LEN)].to_ascii_lowercase(), i)
            })
            .collect();
        by_prefix.sort();
        let mut patterns: Vec<Vec<u8>> = Vec::new();
        let mut prefixes = Vec::new();
        let mut begun = Vec::with_capacity(literals.len());
        for (prefix, i) in by_prefix {
            if patterns.last() != Some(&prefix) {
                prefixes.push(begun.len()..begun.len());
                patterns.push(prefix);
            }
            let rest = literals[i].as_ref()[patterns.last()?.len()..].into();
            begun.push((i, rest));
            prefixes.last_mut()?.end = begun.len();
        }
        let dfa = DenseDfa::build(&patterns).filter(|d| d.memory_usage() <= PREFIX_DFA_BYTES)?;
        Some(PrefixedLiterals {
            dfa,
            prefixes,
            begun,
        })
    }

    fn memory_usage(&self) -> usize {
        self.dfa.memory_usage()
            + self.begun.iter().map(|(_, r)| r.len() + 24).sum::<usize>()
            + self.prefixes.len() * 24
    }

    /// [`LiteralScanner::walk`]: every literal that occurs in `bytes`, at each occurrence,
    /// in order of the ends of their prefixes.
    fn walk(&self, bytes: &[u8], mut on_match: impl FnMut(usize)) {
        self.dfa.walk(bytes, |prefix, at| {
            // the prefix ends at `at`: the literal's rest must follow it
            let after = &bytes[at..];
            for (literal, rest) in &self.begun[self.prefixes[prefix].clone()] {
                if after.len() >= rest.len() && after[..rest.len()].eq_ignore_ascii_case(rest) {
                    on_match(*literal);
                }
            }
        });
    }
}

/// The bytes on which an automaton leaves its start state, when there are at most three
/// (a narrow collection's literals may all begin with `<` or `%`): while in the start
/// state, a walk skips to the next of them with a vector search.
#[derive(Debug, Clone, Default)]
pub struct StartBytes(Vec<u8>);

impl StartBytes {
    fn of<A: Automaton>(aut: &A) -> StartBytes {
        let Ok(start) = aut.start_state(Anchored::No) else {
            return StartBytes::default();
        };
        StartBytes::leaving(
            (0..=255u8).filter(|&b| aut.next_state(Anchored::No, start, b) != start),
        )
    }

    /// The bytes `leaving` the start state, kept when there are at most three.
    pub(crate) fn leaving(leaving: impl Iterator<Item = u8>) -> StartBytes {
        let leaving: Vec<u8> = leaving.take(4).collect();
        if leaving.len() <= 3 {
            StartBytes(leaving)
        } else {
            StartBytes::default()
        }
    }

    /// The offset in `hay` of the first start byte; None when there is none.
    #[inline]
    pub(crate) fn next_in(&self, hay: &[u8]) -> Option<usize> {
        match *self.0.as_slice() {
            [a] => memchr::memchr(a, hay),
            [a, b] => memchr::memchr2(a, b, hay),
            [a, b, c] => memchr::memchr3(a, b, c, hay),
            _ => Some(0),
        }
    }

    pub(crate) fn skips(&self) -> bool {
        !self.0.is_empty()
    }
}

impl LiteralScanner {
    pub fn memory_usage(&self) -> usize {
        match self {
            LiteralScanner::Dense(a) => a.memory_usage(),
            LiteralScanner::Nfa(a, _) => a.memory_usage(),
            LiteralScanner::WideNfa(a, _) => a.memory_usage(),
            LiteralScanner::Prefixed(p) => p.memory_usage(),
        }
    }

    /// Calls `on_match` with the pattern of every match in `bytes` (overlapping ones
    /// included), in order of their ends.
    #[inline]
    pub fn walk(&self, bytes: &[u8], on_match: impl FnMut(usize)) {
        match self {
            LiteralScanner::Dense(a) => {
                let mut on_match = on_match;
                a.walk(bytes, |pattern, _| on_match(pattern));
            }
            LiteralScanner::Nfa(a, sb) => walk(a, sb, bytes, on_match),
            LiteralScanner::WideNfa(a, sb) => walk(a, sb, bytes, on_match),
            LiteralScanner::Prefixed(p) => p.walk(bytes, on_match),
        }
    }
}

/// [`LiteralScanner::walk`] over one of the Aho-Corasick crate's NFAs. Built without a
/// prefilter, an unanchored automaton's special states are its match states (and a dead
/// state it never reaches), and every pattern ending at a position is a match of the state
/// reached there (the automaton copies the matches of a state's failure chain into it).
#[inline(always)]
fn walk<A: Automaton>(
    aut: &A,
    start_bytes: &StartBytes,
    bytes: &[u8],
    mut on_match: impl FnMut(usize),
) {
    let Ok(start) = aut.start_state(Anchored::No) else {
        return;
    };
    let mut on_special = |sid, _| report(aut, sid, &mut on_match);
    // (an empty literal matches before the first byte, also in an empty value)
    if aut.is_special(start) && !on_special(start, 0) {
        return;
    }
    if start_bytes.skips() {
        return walk_skipping(aut, start, start_bytes, bytes, on_special);
    }
    let mut sid = start;
    for (at, &b) in bytes.iter().enumerate() {
        sid = aut.next_state(Anchored::No, sid, b);
        if aut.is_special(sid) && !on_special(sid, at + 1) {
            return;
        }
    }
}

/// [`walk`] for an automaton with [`StartBytes`]: in the start state, it goes on
/// from the next start byte.
#[inline(always)]
fn walk_skipping<A: Automaton>(
    aut: &A,
    start: aho_corasick::automaton::StateID,
    start_bytes: &StartBytes,
    bytes: &[u8],
    mut on_special: impl FnMut(aho_corasick::automaton::StateID, usize) -> bool,
) {
    let mut sid = start;
    let mut at = 0;
    while at < bytes.len() {
        if sid == start {
            match start_bytes.next_in(&bytes[at..]) {
                Some(k) => at += k,
                None => return,
            }
        }
        sid = aut.next_state(Anchored::No, sid, bytes[at]);
        at += 1;
        if aut.is_special(sid) && !on_special(sid, at) {
            return;
        }
    }
}

/// Reports the patterns of special state `sid`; false at the dead state (nothing more
/// can match).
#[inline(always)]
fn report<A: Automaton>(
    aut: &A,
    sid: aho_corasick::automaton::StateID,
    on_match: &mut impl FnMut(usize),
) -> bool {
    if aut.is_dead(sid) {
        return false;
    }
    for k in 0..aut.match_len(sid) {
        on_match(aut.match_pattern(sid, k).as_usize());
    }
    true
}

/// Literal sets up to this size get a DFA (see [`small_literal_automaton`]).
const SMALL_LITERAL_SET: usize = 256;

/// A DFA over a small literal set (a narrow collection's, such as the ~100 literals of the
/// rules that read the raw `REQUEST_BODY`): a few hundred KB at most, and each byte of a
/// 20 KB body costs a table lookup instead of the NFA's transition search. None for larger
/// sets.
fn small_literal_automaton<L: AsRef<[u8]>>(literals: &[L]) -> Option<LiteralScanner> {
    if literals.is_empty() || literals.len() > SMALL_LITERAL_SET {
        return None;
    }
    literal_dfa(literals)
}

/// A DFA of `literals`, ASCII case ignored.
fn literal_dfa<L: AsRef<[u8]>>(literals: &[L]) -> Option<LiteralScanner> {
    DenseDfa::build(literals).map(LiteralScanner::Dense)
}

/// The mask bit of the collection at `index` in [`Prefilter::collections`]; past 64
/// collections, every bit (which only makes the prefilter less selective).
pub fn collection_bit(index: usize) -> u64 {
    if index < 64 {
        1 << index
    } else {
        u64::MAX
    }
}

/// The pipeline without the case changes that cannot change whether a value contains a
/// literal (compared ignoring ASCII case): those followed only by steps that treat upper
/// and lower case alike. A case change before a decoder stays (`t:lowercase` turns `&LT;`
/// into `&lt;`, which `htmlEntityDecode` then decodes).
pub fn without_case_changes(pipeline: &[Transform]) -> Vec<Transform> {
    let case_blind = |t: &Transform| {
        matches!(
            t,
            Transform::Lowercase
                | Transform::Uppercase
                | Transform::RemoveWhitespace
                | Transform::CompressWhitespace
                | Transform::RemoveNulls
        )
    };
    pipeline
        .iter()
        .enumerate()
        .filter(|(i, t)| {
            !matches!(t, Transform::Lowercase | Transform::Uppercase)
                || !pipeline[i + 1..].iter().all(case_blind)
        })
        .map(|(_, t)| *t)
        .collect()
}

/// Values for one scan, one after the other in `bytes` (each is scanned on its own), with
/// where each is, the collections (mask) that hold it and the distinct request value it is
/// (or is a transformation of).
#[derive(Debug, Default)]
pub struct Hay {
    pub bytes: Vec<u8>,
    /// One per value (a single vector: a large JSON body pushes ~6,000 per request).
    entries: Vec<HayEntry>,
}

#[derive(Debug, Clone, Copy)]
struct HayEntry {
    start: usize,
    end: usize,
    mask: u64,
    id: u32,
}

/// What a scan found: which slots may match, and in which values.
///
/// A rule whose literal (or literal-less regex) occurs only in some values can match only
/// in those values, so it is evaluated on them alone (CRS 941130 or 942151 became
/// candidates through one value of a 1,400-value JSON body and then ran on all of them).
#[derive(Debug, Default)]
pub struct Candidates {
    /// Slots that may match somewhere.
    pub hit: Vec<bool>,
    /// Slots that may match in any value (not decided by a scan, or a scan that gave up).
    pub everywhere: Vec<bool>,
    /// Per slot, its index in `lists`, or [`Candidates::NO_LIST`]: a request credits a few
    /// of ~300 slots.
    list_of: Vec<u32>,
    /// The slots that got a first value id, in that order, with their lists.
    lists: Vec<SlotList>,
    /// Every credit made, as (index in `lists`, value id), in the order made; then, by
    /// [`Candidates::finish`], the ids of each list gathered in `ids`. (Flat tables: a
    /// vector per credited slot, grown value by value and dropped after the request, was
    /// ~30 allocations and regrowths per scan.)
    credits: Vec<(u32, u32)>,
    /// After `finish`: each list's value ids, ascending, at `SlotList::start`.
    ids: Vec<u32>,
    /// Whether a scan gave up (a lazy DFA out of cache) and credited its slots everywhere:
    /// the values it was scanning then have no verdict of their own.
    pub gave_up: bool,
}

/// One credited slot's value ids in [`Candidates`].
#[derive(Debug, Clone, Copy)]
struct SlotList {
    slot: u32,
    /// The last id credited (a value's several scans credit it in a row).
    last: u32,
    /// Credits counted, then (after `finish`) the distinct ids kept.
    len: u32,
    /// Where its ids start in `Candidates::ids` (after `finish`).
    start: u32,
}

impl Candidates {
    const NO_LIST: u32 = u32::MAX;

    /// Nothing found yet: the slots `covered` leaves undecided may match anywhere.
    pub fn new(covered: &[bool]) -> Candidates {
        Candidates {
            hit: covered.iter().map(|c| !c).collect(),
            everywhere: covered.iter().map(|c| !c).collect(),
            list_of: vec![Self::NO_LIST; covered.len()],
            lists: Vec::with_capacity(32),
            credits: Vec::with_capacity(64),
            ids: Vec::new(),
            gave_up: false,
        }
    }

    /// Every slot may match anywhere (no prefilter).
    pub fn all(slots: usize) -> Candidates {
        Candidates::new(&vec![false; slots])
    }

    /// Slot `slot` may match in value `id`.
    #[inline]
    pub fn credit(&mut self, slot: usize, id: u32) {
        let Some(hit) = self.hit.get_mut(slot) else {
            return;
        };
        *hit = true;
        if self.everywhere[slot] {
            return;
        }
        let list = self.list_of[slot];
        match self.lists.get_mut(list as usize) {
            Some(l) if l.last == id => return,
            Some(l) => {
                l.last = id;
                l.len += 1;
            }
            None => {
                self.list_of[slot] = self.lists.len() as u32;
                self.lists.push(SlotList {
                    slot: slot as u32,
                    last: id,
                    len: 1,
                    start: 0,
                });
            }
        }
        self.credits.push((self.list_of[slot], id));
    }

    /// Slot `slot` may match in any value.
    pub fn credit_everywhere(&mut self, slot: usize) {
        self.gave_up = true;
        if let Some(hit) = self.hit.get_mut(slot) {
            *hit = true;
            self.everywhere[slot] = true;
        }
    }

    /// Gathers each slot's value ids, ascending (scans of several hays credit out of
    /// order).
    pub fn finish(&mut self) {
        let mut at = 0u32;
        for l in &mut self.lists {
            l.start = at;
            at += l.len;
            l.len = 0;
        }
        self.ids.clear();
        self.ids.resize(at as usize, 0);
        for &(list, id) in &self.credits {
            if let Some(l) = self.lists.get_mut(list as usize) {
                if let Some(slot) = self.ids.get_mut((l.start + l.len) as usize) {
                    *slot = id;
                }
                l.len += 1;
            }
        }
        for l in &mut self.lists {
            let range = l.start as usize..(l.start + l.len) as usize;
            if let Some(ids) = self.ids.get_mut(range) {
                if !ids.is_sorted() {
                    ids.sort_unstable();
                    let mut kept = 1;
                    for k in 1..ids.len() {
                        if ids[k] != ids[kept - 1] {
                            ids[kept] = ids[k];
                            kept += 1;
                        }
                    }
                    l.len = kept.min(ids.len()) as u32;
                }
            }
        }
        self.credits.clear();
    }

    pub fn may_match(&self, slot: usize) -> bool {
        self.hit.get(slot).copied().unwrap_or(true)
    }

    /// The values slot `slot` may match in (ascending ids), or None for any value (after
    /// [`Candidates::finish`]).
    pub fn values_of(&self, slot: usize) -> Option<&[u32]> {
        match self.everywhere.get(slot) {
            Some(false) => Some(
                self.lists
                    .get(self.list_of[slot] as usize)
                    .and_then(|l| self.ids.get(l.start as usize..(l.start + l.len) as usize))
                    .unwrap_or(&[]),
            ),
            _ => None,
        }
    }

    /// Each credit so far, as (slot, value id), for slots not credited everywhere (before
    /// [`Candidates::finish`]; a value's may repeat).
    pub fn credits(&self) -> impl Iterator<Item = (u32, u32)> + '_ {
        self.credits.iter().filter_map(|&(list, id)| {
            let slot = self.lists.get(list as usize)?.slot;
            (!self.everywhere[slot as usize]).then_some((slot, id))
        })
    }
}

impl Hay {
    /// Room for `values` values of `bytes` bytes in all, so that filling it does not regrow
    /// its vectors from nothing.
    pub fn with_capacity(values: usize, bytes: usize) -> Hay {
        Hay {
            bytes: Vec::with_capacity(bytes),
            entries: Vec::with_capacity(values),
        }
    }

    pub fn clear(&mut self) {
        self.bytes.clear();
        self.entries.clear();
    }

    /// The distinct request value that entry `k` is (or was transformed from).
    #[inline]
    pub fn id(&self, k: usize) -> u32 {
        self.entries[k].id
    }

    /// The collections (mask) holding entry `k`.
    #[inline]
    pub fn mask(&self, k: usize) -> u64 {
        self.entries[k].mask
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Removes the last value pushed.
    pub fn pop(&mut self) {
        if let Some(e) = self.entries.pop() {
            self.bytes.truncate(e.start);
        }
    }

    /// Number of values.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Value `k`.
    #[inline]
    pub fn get(&self, k: usize) -> &[u8] {
        let e = &self.entries[k];
        &self.bytes[e.start..e.end]
    }

    /// Appends `value` cut down by `compaction`, held by the collections of `mask`, as the
    /// value `id` ([`RunCompaction::compact_into`]).
    pub fn push_compacted(&mut self, value: &[u8], mask: u64, id: u32, by: &RunCompaction) {
        let start = self.bytes.len();
        by.compact_into(value, &mut self.bytes);
        self.entries.push(HayEntry {
            start,
            end: self.bytes.len(),
            mask,
            id,
        });
    }

    /// Appends `value`, held by the collections of `mask`; `id` names the distinct request
    /// value it is or was transformed from.
    #[inline]
    pub fn push(&mut self, value: &[u8], mask: u64, id: u32) {
        let start = self.bytes.len();
        self.bytes.extend_from_slice(value);
        self.entries.push(HayEntry {
            start,
            end: self.bytes.len(),
            mask,
            id,
        });
    }
}

/// A plan's run floor ([`Prefilter::run_floors`]): the runs a result must hold for the
/// plan's tree to find a literal in it, and whether its long results are also cut down to
/// those runs.
#[derive(Debug)]
pub struct RunFloor {
    pub runs: RunCompaction,
    /// Whether the plan's long binary results are cut down to their runs
    /// ([`Prefilter::compaction`]); false for a floor that only judges emptiness.
    pub compacts: bool,
}

impl Prefilter {
    /// The compaction of plan `p`'s long binary results, if it has one
    /// ([`Prefilter::run_floors`]).
    pub fn compaction(&self, p: usize) -> Option<&RunCompaction> {
        let floor = self.run_floors.get(p)?.as_deref()?;
        floor.compacts.then_some(&floor.runs)
    }

    /// The run floor of plan `p`'s results, if it has one ([`Prefilter::run_floors`]).
    pub fn run_floor(&self, p: usize) -> Option<&RunCompaction> {
        Some(&self.run_floors.get(p)?.as_deref()?.runs)
    }

    /// Builds a prefilter for `entries`, out of `slots` slots in all. Entries whose regexes
    /// cannot be compiled together are left uncovered (always evaluated).
    pub fn build(entries: &[&Entry], slots: usize) -> Prefilter {
        let mut pf = Prefilter {
            covered: vec![false; slots],
            ..Prefilter::default()
        };
        let mut literals: Vec<Vec<u8>> = Vec::new();
        let mut index: std::collections::HashMap<Vec<u8>, usize> = Default::default();
        let mut regexes: Vec<Vec<(&str, u32)>> = Vec::new();
        let mut members: Vec<Vec<&Entry>> = Vec::new();
        for e in entries {
            // literals are compared ignoring case; a regex sees exactly what the rule sees
            let transforms: Vec<Transform> = if e.literals.is_some() {
                without_case_changes(&e.transforms)
            } else {
                e.transforms.clone()
            };
            let plan = match pf.plans.iter().position(|p| p.transforms == transforms) {
                Some(i) => i,
                None => {
                    pf.plans.push(Plan {
                        steps: Vec::new(),
                        has_literals: false,
                        transforms,
                        collections: Vec::new(),
                        mask: 0,
                        dfa: None,
                        tests: Vec::new(),
                        parent: None,
                        lowered_in_raw: false,
                        skip_below: 0,
                        skip_values_below: 0,
                        lowers_plain: 0,
                        binary_runs: None,
                        steps_mask: 0,
                        settles: 0,
                        result_row: None,
                    });
                    regexes.push(Vec::new());
                    members.push(Vec::new());
                    pf.plans.len() - 1
                }
            };
            if let Some(lits) = &e.literals {
                for l in lits {
                    let i = *index.entry(l.clone()).or_insert_with(|| {
                        literals.push(l.clone());
                        pf.literal_slots.push(Vec::new());
                        literals.len() - 1
                    });
                    pf.literal_slots[i].push(e.slot);
                }
                pf.covered[e.slot as usize] = true;
                pf.plans[plan].has_literals = true;
                members[plan].push(e);
            } else if let Some(re) = &e.regex {
                if e.transforms.is_empty() && matches_any_byte(re) {
                    // `.`: matches every non-empty value; no DFA needed (it would be in a
                    // match state at every byte)
                    pf.nonempty_slots.push(e.slot);
                    pf.covered[e.slot as usize] = true;
                    members[plan].push(e);
                } else {
                    regexes[plan].push((re.as_str(), e.slot));
                }
            } else if let Some(test) = &e.test {
                let t = match pf.tests.iter().position(|x| x == test) {
                    Some(t) => t,
                    None => {
                        pf.tests.push(test.clone());
                        pf.tests.len() - 1
                    }
                };
                let test = SlotTest {
                    test: t,
                    slot: e.slot,
                    reads: u64::MAX,
                };
                pf.plans[plan].tests.push(test);
                pf.raw_tests.push(test);
                pf.covered[e.slot as usize] = true;
                members[plan].push(e);
            }
        }
        // a slot with several entries (one per pipeline) is decided only if all of them are
        let mut undecided = vec![false; slots];
        for (i, plan) in pf.plans.iter_mut().enumerate() {
            if let Some(dfa) = Prefilter::compile_dfa(&regexes[i]) {
                plan.dfa = Some(dfa);
                for (_, slot) in &regexes[i] {
                    pf.covered[*slot as usize] = true;
                    if let Some(e) = entries.iter().find(|e| e.slot == *slot) {
                        members[i].push(e);
                    }
                }
            } else {
                for (_, slot) in &regexes[i] {
                    undecided[*slot as usize] = true;
                }
            }
            for e in &members[i] {
                for c in &e.collections {
                    if !plan.collections.contains(c) {
                        plan.collections.push(c.clone());
                    }
                    if !pf.collections.contains(c) {
                        pf.collections.push(c.clone());
                    }
                }
            }
        }
        let mask_of = |collections: &[String], all: &[String]| {
            collections
                .iter()
                .filter_map(|c| all.iter().position(|x| x == c))
                .fold(0u64, |m, i| m | collection_bit(i))
        };
        for plan in &mut pf.plans {
            plan.mask = mask_of(&plan.collections, &pf.collections);
        }
        for t in pf.plans.iter().flat_map(|p| p.transforms.iter()) {
            if !pf.steps.contains(t) {
                pf.steps.push(*t);
            }
        }
        let parents: Vec<Option<usize>> = pf
            .plans
            .iter()
            .map(|p| {
                let (_, init) = p.transforms.split_last()?;
                pf.plans.iter().position(|q| q.transforms == init)
            })
            .collect();
        for (plan, parent) in pf.plans.iter_mut().zip(parents) {
            plan.parent = parent;
        }
        pf.order = (0..pf.plans.len()).collect();
        pf.order.sort_by_key(|&i| pf.plans[i].transforms.len());
        pf.set_skip_below(&members);
        for (plan, members) in pf.plans.iter_mut().zip(&members) {
            let binary = plan.transforms.iter().any(|t| {
                matches!(
                    t,
                    Transform::Base64Decode | Transform::Base64DecodeExt | Transform::HexDecode
                )
            });
            if binary && plan.has_literals {
                let literals = members.iter().filter_map(|e| e.literals.as_ref()).flatten();
                plan.binary_runs = LiteralRuns::of(literals);
            }
        }
        // A binary plan's results are compacted when it and every plan extending it ask
        // nothing but literals of a value (no regex, no value test) and their further
        // steps are local; its run floor is the same runs (see `Prefilter::run_floors`).
        let run_floors: Vec<Option<Box<RunFloor>>> = (0..pf.plans.len())
            .map(|p| {
                let plan = &pf.plans[p];
                let binary = plan.transforms.iter().any(|t| {
                    matches!(
                        t,
                        Transform::Base64Decode | Transform::Base64DecodeExt | Transform::HexDecode
                    )
                });
                if !binary {
                    return None;
                }
                let n = plan.transforms.len();
                let tree: Vec<usize> = (0..pf.plans.len())
                    .filter(|&q| pf.plans[q].transforms.starts_with(&plan.transforms))
                    .collect();
                let literal_only = |q: usize| {
                    let plan = &pf.plans[q];
                    plan.dfa.is_none()
                        && plan.tests.is_empty()
                        && regexes[q].is_empty()
                        && !members[q].is_empty()
                        && members[q].iter().all(|e| e.literals.is_some())
                };
                if !tree.iter().all(|&q| literal_only(q)) {
                    return None;
                }
                let literals = || {
                    tree.iter()
                        .flat_map(|&q| members[q].iter().filter_map(|e| e.literals.as_ref()))
                        .flatten()
                };
                let later_steps = tree
                    .iter()
                    .flat_map(|&q| pf.plans[q].transforms[n..].iter().copied());
                if let Some(runs) = RunCompaction::new(literals(), later_steps) {
                    return Some(Box::new(RunFloor {
                        runs,
                        compacts: true,
                    }));
                }
                // (for the floor alone: `replaceComments` as the last step of a chain)
                let ends_with_comments = |q: usize| {
                    let t = &pf.plans[q].transforms[n..];
                    match t.split_last() {
                        Some((Transform::ReplaceComments, before)) => before,
                        _ => t,
                    }
                };
                if literals().any(|l| l.contains(&b' ')) {
                    return None;
                }
                let local_steps = tree
                    .iter()
                    .flat_map(|&q| ends_with_comments(q).iter().copied());
                RunCompaction::new(literals(), local_steps).map(|runs| {
                    Box::new(RunFloor {
                        runs,
                        compacts: false,
                    })
                })
            })
            .collect();
        pf.run_floors = run_floors;
        if pf.steps.len() <= 64 {
            for plan in &mut pf.plans {
                plan.steps = plan
                    .transforms
                    .iter()
                    .filter_map(|t| pf.steps.iter().position(|s| s == t))
                    .collect();
                plan.steps_mask = plan.steps.iter().fold(0u64, |m, &k| m | 1 << k);
            }
        } else {
            pf.steps.clear();
        }
        let steps_where = |holds: fn(Transform, PlainTraits) -> bool, traits: usize| {
            let traits = PlainTraits::from_index(traits);
            (pf.steps.iter().enumerate())
                .filter(|(_, t)| holds(**t, traits))
                .fold(0u64, |m, (k, _)| m | 1 << k)
        };
        pf.steps_on_plain =
            std::array::from_fn(|t| steps_where(Transform::identity_on_plain_with, t));
        let steps_lowering_on_plain: [u64; 8] =
            std::array::from_fn(|t| steps_where(Transform::at_most_lowercases_plain_with, t));
        pf.slot_masks = vec![0; slots];
        for e in entries {
            pf.slot_masks[e.slot as usize] = mask_of(&e.collections, &pf.collections);
        }
        // (a lowercasing pipeline: its patterns lowered, when all can be)
        let lowered: Vec<bool> = pf
            .plans
            .iter()
            .enumerate()
            .map(|(i, p)| {
                p.dfa.is_some()
                    && pipeline_lowercases(&p.transforms)
                    && regexes[i].iter().all(|(re, _)| {
                        parse_prefilter_regex(re).is_some_and(|h| lowered_preimage(&h).is_some())
                    })
            })
            .collect();
        let mut all_regexes: Vec<DfaPattern<'_>> = pf
            .plans
            .iter()
            .enumerate()
            .filter(|(_, p)| p.dfa.is_some())
            .flat_map(|(i, _)| {
                let lowered = lowered[i];
                regexes[i].iter().map(move |&(regex, slot)| DfaPattern {
                    regex,
                    slot,
                    lowered,
                })
            })
            .collect();
        all_regexes.sort_unstable();
        all_regexes.dedup();
        pf.raw_dfa = Prefilter::compile_dfa_of(&all_regexes);
        if pf.raw_dfa.is_some() {
            for (plan, lowered) in pf.plans.iter_mut().zip(lowered) {
                plan.lowered_in_raw = lowered;
            }
        }
        for plan in &mut pf.plans {
            // the raw pass covers what this plan would find in a lowercased value
            let raw_covers = plan.dfa.is_none() || plan.lowered_in_raw;
            if raw_covers && plan.steps_mask != 0 {
                plan.lowers_plain = (0..8)
                    .filter(|&t| plan.steps_mask & !steps_lowering_on_plain[t] == 0)
                    .fold(0, |m, t| m | 1 << t);
            }
        }
        let slot_masks = &pf.slot_masks;
        for test in (pf.raw_tests.iter_mut()).chain(pf.plans.iter_mut().flat_map(|p| &mut p.tests))
        {
            test.reads = slot_masks
                .get(test.slot as usize)
                .copied()
                .unwrap_or(u64::MAX);
        }
        for multi in pf
            .plans
            .iter_mut()
            .filter_map(|p| p.dfa.as_mut())
            .chain(pf.raw_dfa.as_mut())
        {
            multi.set_masks(slot_masks);
        }
        pf.ac = literal_automaton(&literals);
        if pf.ac.is_some() {
            let mine: Vec<usize> = (0..literals.len())
                .filter(|&i| literals[i].iter().all(|&b| is_plain_byte(b)))
                .collect();
            if mine.len() <= PLAIN_LITERAL_SET {
                let own: Vec<&Vec<u8>> = mine.iter().map(|&i| &literals[i]).collect();
                let ac = literal_dfa(&own);
                // (the response phases' literals, long error messages, made a 5.4 MB DFA
                // for response bodies, which are seldom plain: not worth it)
                if let Some(ac) = ac.filter(|ac| ac.memory_usage() <= PLAIN_DFA_BYTES) {
                    pf.plain = Some(PlainLiterals { ac, literals: mine });
                }
            }
        }
        if pf.ac.is_some() {
            for ci in 0..pf.collections.len().min(64) {
                let bit = collection_bit(ci);
                let mine: Vec<usize> = (0..literals.len())
                    .filter(|&i| {
                        pf.literal_slots[i]
                            .iter()
                            .any(|&s| pf.reads(s as usize, bit))
                    })
                    .collect();
                // (a quarter: past that, the full automaton is about as fast)
                if mine.len() * 4 > literals.len() {
                    continue;
                }
                let own: Vec<&Vec<u8>> = mine.iter().map(|&i| &literals[i]).collect();
                let ac = if own.is_empty() {
                    None
                } else {
                    match small_literal_automaton(&own).or_else(|| literal_automaton(&own)) {
                        Some(ac) => Some(ac),
                        None => continue,
                    }
                };
                pf.narrow.push(NarrowLiterals {
                    bit,
                    ac,
                    literals: mine,
                });
                pf.narrow_mask |= bit;
            }
        }
        if pf.ac.is_none() {
            // without the literal automaton, literal entries cannot be decided
            for e in entries.iter().filter(|e| e.literals.is_some()) {
                pf.covered[e.slot as usize] = false;
            }
        }
        for (slot, u) in undecided.iter().enumerate() {
            if *u {
                pf.covered[slot] = false;
            }
        }
        pf.collection_selectors = pf
            .collections
            .iter()
            .map(|c| match c.split_once(':') {
                // one key of a collection, for value tests (`keyed_collection`)
                Some((coll, key)) => (
                    crate::variables::CollectionId::of(coll),
                    crate::variables::Selector::Key(key.into()),
                ),
                None => (
                    crate::variables::CollectionId::of(c),
                    crate::variables::Selector::All,
                ),
            })
            .collect();
        pf.repeated_mask = pf
            .collections
            .iter()
            .enumerate()
            .filter(|(i, c)| *i < 64 && crate::scan_memo::is_repeated(c))
            .fold(0, |m, (i, _)| m | collection_bit(i));
        pf.set_plan_constants();
        pf
    }

    /// What a scan asks of each plan that depends on the prefilter alone (besides its
    /// steps' mask, set with its steps): the plain traits that settle its values, and its
    /// row of results.
    fn set_plan_constants(&mut self) {
        let on_plain = self.steps_on_plain;
        for plan in &mut self.plans {
            plan.settles = if plan.steps_mask == 0 {
                0
            } else {
                (on_plain.iter().enumerate())
                    .filter(|(_, &kept)| plan.steps_mask & !kept == 0)
                    .fold(0, |m, (t, _)| m | 1 << t)
            };
            plan.result_row = None;
        }
        let mut rows = 0;
        for p in 0..self.plans.len() {
            if let Some(q) = self.plans[p].parent {
                if self.plans[q].result_row.is_none() {
                    self.plans[q].result_row = Some(rows);
                    rows += 1;
                }
            }
        }
        self.result_rows = rows;
    }

    /// Sets each plan's [`Plan::skip_below`] from the entries it credits (`members`, per
    /// plan), once parents and `order` are known.
    fn set_skip_below(&mut self, members: &[Vec<&Entry>]) {
        // the fewest bytes a value needs for this plan's own entries to credit it
        let own: Vec<usize> = members
            .iter()
            .map(|entries| {
                entries
                    .iter()
                    .map(|e| shortest_credited(e))
                    .min()
                    .unwrap_or(usize::MAX)
            })
            .collect();
        let mut reach = own;
        let mut tail_never_lengthens = vec![true; self.plans.len()];
        // children before parents: each plan's subtree is complete when it is folded in
        for &p in self.order.iter().rev() {
            let Some(q) = self.plans[p].parent else {
                continue;
            };
            reach[q] = reach[q].min(reach[p]);
            let last_keeps = self.plans[p]
                .transforms
                .last()
                .is_some_and(|t| t.never_lengthens());
            tail_never_lengthens[q] &= last_keeps && tail_never_lengthens[p];
        }
        for (p, plan) in self.plans.iter_mut().enumerate() {
            plan.skip_below = if tail_never_lengthens[p] { reach[p] } else { 0 };
            plan.skip_values_below = shortest_value_reaching(&plan.transforms, plan.skip_below);
        }
    }

    /// Whether the rule of `slot` reads a collection of `mask` (a slot without a mask reads
    /// them all).
    #[inline]
    fn reads(&self, slot: usize, mask: u64) -> bool {
        self.slot_masks.get(slot).is_none_or(|m| m & mask != 0)
    }

    /// Compiles `patterns` (with their slots) into a multi-pattern lazy DFA, those matching
    /// `ORDINARY_TEXT` into a part of their own; None when the set is empty or too large
    /// to compile.
    pub fn compile_dfa(patterns: &[(&str, u32)]) -> Option<MultiDfa> {
        let patterns: Vec<DfaPattern<'_>> = patterns
            .iter()
            .map(|&(regex, slot)| DfaPattern {
                regex,
                slot,
                lowered: false,
            })
            .collect();
        Prefilter::compile_dfa_of(&patterns)
    }

    /// [`Prefilter::compile_dfa`] of patterns some of which may be lowered.
    pub fn compile_dfa_of(patterns: &[DfaPattern<'_>]) -> Option<MultiDfa> {
        let all = compile_part(patterns)?;
        // which patterns match ordinary text: the part's own scan over it
        let mut probe = Hay::default();
        for (id, text) in ORDINARY_TEXT.iter().enumerate() {
            probe.push(text, u64::MAX, id as u32);
        }
        let mut found = Candidates::new(&vec![true; 1 + all.slots.iter().max().copied()? as usize]);
        // (a prefilter without slot masks: every slot reads every probe)
        let everything = Prefilter::default();
        let owned: Vec<(String, u32, bool)> = patterns
            .iter()
            .map(|p| (p.regex.to_string(), p.slot, p.lowered))
            .collect();
        let single = MultiDfa {
            parts: vec![all],
            mask: u64::MAX,
            narrow: Vec::new(),
            narrow_mask: 0,
            patterns: owned,
        };
        everything.scan_dfa(&single, &probe, &mut found);
        let (ordinary, rest): (Vec<_>, Vec<_>) = patterns
            .iter()
            .partition(|p| found.may_match(p.slot as usize));
        if ordinary.is_empty() || rest.is_empty() {
            if patterns.len() <= SPLIT_PATTERNS {
                return Some(single);
            }
            return Some(MultiDfa {
                parts: vec![compile_splitting_part(patterns)?],
                ..single
            });
        }
        Some(MultiDfa {
            parts: vec![
                compile_splitting_part(&rest)?,
                compile_splitting_part(&ordinary)?,
            ],
            ..single
        })
    }

    /// Marks the slots of the DFA's patterns that match inside a value of `hay` held by a
    /// collection their rule reads.
    ///
    /// One pass of the lazy DFA per value: with `MatchKind::All` every state the unanchored
    /// search reaches (the end-of-input transition included) holds exactly the patterns with
    /// a match ending where it is reached (one byte later, as regex-automata reports), so the
    /// union over the states visited is every pattern matching in the value. Each (state,
    /// value) pair is read once (a pattern such as `a.*` puts every later position in a match
    /// state). If a part's lazy DFA gives up, its small parts walk the values instead
    /// ([`DfaPart::split`]); if one of those gives up too, or the part has none, every
    /// pattern of it counts as matching.
    pub fn scan_dfa(&self, multi: &MultiDfa, hay: &Hay, candidates: &mut Candidates) {
        self.scan_dfa_shorter_than(multi, hay, usize::MAX, candidates);
    }

    /// [`Prefilter::scan_dfa`] over the values of `hay` shorter than `max_len` bytes.
    pub fn scan_dfa_shorter_than(
        &self,
        multi: &MultiDfa,
        hay: &Hay,
        max_len: usize,
        candidates: &mut Candidates,
    ) {
        use std::sync::atomic::Ordering::Relaxed;
        if hay.is_empty() {
            return;
        }
        // (a value held only by narrow collections walks their parts, any other the full
        // ones)
        let narrow = multi.narrow_mask;
        let wide = |m: u64| m & !narrow != 0;
        for (part, narrow_part) in
            (multi.parts.iter().map(|p| (p, false))).chain(multi.narrow.iter().map(|p| (p, true)))
        {
            // one part's walk over the values it wants; false when its lazy DFA gave up
            let walk = |p: &DfaPart, candidates: &mut Candidates| {
                let wanted = |m: u64| m & p.mask != 0 && wide(m) != narrow_part;
                let mut cache = p.caches.get();
                self.try_scan_dfa(p, &mut cache, hay, max_len, wanted, candidates)
                    .is_some()
            };
            // (threads share the counters: a lost update only rests a part one scan more
            // or less)
            let resting = part.resting.load(Relaxed);
            if resting > 0 {
                part.resting.store(resting - 1, Relaxed);
            } else if walk(part, candidates) {
                continue;
            } else {
                part.gave_up.fetch_add(1, Relaxed);
                if !part.split.is_empty() {
                    part.resting.store(REST_AFTER_GIVING_UP, Relaxed);
                }
            }
            // given up: the small parts walk the values again (what the part credited
            // before it gave up stays credited, which may only over-approximate); a part
            // without small parts, or a small part that gives up too, counts as matching
            // everywhere
            let credit_everywhere = |p: &DfaPart, candidates: &mut Candidates| {
                p.slots
                    .iter()
                    .for_each(|&s| candidates.credit_everywhere(s as usize));
            };
            if part.split.is_empty() {
                credit_everywhere(part, candidates);
            }
            for parts in part.split.chunks(LOCKSTEP_PARTS) {
                let wanted = |p: &DfaPart, m: u64| m & p.mask != 0 && wide(m) != narrow_part;
                let failed = self.try_scan_lockstep(parts, hay, max_len, wanted, candidates);
                for (i, small) in parts.iter().enumerate() {
                    if failed & 1 << i != 0 {
                        credit_everywhere(small, candidates);
                    }
                }
            }
        }
    }

    fn try_scan_dfa(
        &self,
        multi: &DfaPart,
        cache: &mut Cache,
        hay: &Hay,
        max_len: usize,
        wanted: impl Fn(u64) -> bool,
        candidates: &mut Candidates,
    ) -> Option<()> {
        let dfa = &*multi.dfa;
        let mut recorder = MatchRecorder::new(cache);
        let mut record = |cache: &mut Cache, sid: LazyStateID, k: usize| {
            recorder.record(self, multi, cache, sid, hay, k, candidates);
        };
        'values: for k in 0..hay.len() {
            // Each value on its own, as its rule sees it: text start and end at its edges
            // (`^`, `\A`, `$`, `\z`, `\b` hold there), nothing carried over from the value
            // before. Scanning the joined bytes straight through credited every value after
            // the first to `[\n\r]` (the separator matched) and carried partial matches
            // across values.
            if !wanted(hay.mask(k)) {
                // no pattern here is for a collection holding this value (or the value is
                // another part's)
                continue;
            }
            let value = hay.get(k);
            if value.len() >= max_len {
                continue;
            }
            let mut sid = dfa.start_state_forward(cache, &Input::new(value)).ok()?;
            // (the bytes walked, for the give-up rule: see `GIVE_UP_BYTES_PER_STATE`)
            cache.search_start(0);
            for (at, &b) in value.iter().enumerate() {
                // From an untagged state the step is one table load; only a tagged result
                // (a match, the dead state, or a transition not computed yet) takes the
                // checked step, which computes it.
                if !sid.is_tagged() {
                    let next = dfa.next_state_untagged(cache, sid, b);
                    if !next.is_tagged() {
                        sid = next;
                        continue;
                    }
                }
                cache.search_update(at);
                sid = dfa.next_state(cache, sid, b).ok()?;
                if sid.is_tagged() {
                    if sid.is_match() {
                        record(cache, sid, k);
                    } else if sid.is_dead() {
                        cache.search_finish(at);
                        continue 'values;
                    } else if sid.is_quit() || sid.is_unknown() {
                        return None;
                    }
                }
            }
            cache.search_finish(value.len());
            sid = dfa.next_eoi_state(cache, sid).ok()?;
            if sid.is_match() {
                record(cache, sid, k);
            } else if sid.is_quit() || sid.is_unknown() {
                return None;
            }
        }
        Some(())
    }

    /// Walks the values of `hay` through all of `parts` at once, byte by byte: the parts'
    /// table loads are independent, so the processor overlaps them, where one part after
    /// another waits on each load in turn (walking parts one after another was a fifth of
    /// varied traffic's inspection, two thirds of its samples on the load feeding the next
    /// step; in lockstep the benign corpus' replay took 4-9% less time). `wanted` says which
    /// values each part walks. Returns the parts whose lazy DFA gave up, as bits (their
    /// slots are then the caller's to credit everywhere); at most [`LOCKSTEP_PARTS`].
    fn try_scan_lockstep(
        &self,
        parts: &[DfaPart],
        hay: &Hay,
        max_len: usize,
        wanted: impl Fn(&DfaPart, u64) -> bool,
        candidates: &mut Candidates,
    ) -> u64 {
        debug_assert!(parts.len() <= LOCKSTEP_PARTS);
        let mut guards: Vec<_> = parts.iter().map(|p| p.caches.get()).collect();
        let mut caches: Vec<&mut Cache> = guards.iter_mut().map(|g| &mut **g).collect();
        let mut recorders: Vec<MatchRecorder> =
            caches.iter().map(|c| MatchRecorder::new(c)).collect();
        let mut failed = 0u64;
        let mut sids = [LazyStateID::default(); LOCKSTEP_PARTS];
        // the parts still walking the current value
        let mut alive = [0u8; LOCKSTEP_PARTS];
        for k in 0..hay.len() {
            let (mask, value) = (hay.mask(k), hay.get(k));
            if value.len() >= max_len {
                continue;
            }
            let mut n = 0;
            for (i, part) in parts.iter().enumerate() {
                if failed & 1 << i != 0 || !wanted(part, mask) {
                    continue;
                }
                match part.dfa.start_state_forward(caches[i], &Input::new(value)) {
                    Ok(sid) => {
                        sids[i] = sid;
                        caches[i].search_start(0);
                        alive[n] = i as u8;
                        n += 1;
                    }
                    Err(_) => failed |= 1 << i,
                }
            }
            for (at, &b) in value.iter().enumerate() {
                if n == 0 {
                    break;
                }
                let mut j = 0;
                while j < n {
                    let i = usize::from(alive[j]);
                    let (dfa, cache, sid) = (&*parts[i].dfa, &mut *caches[i], sids[i]);
                    if !sid.is_tagged() {
                        let next = dfa.next_state_untagged(cache, sid, b);
                        if !next.is_tagged() {
                            sids[i] = next;
                            j += 1;
                            continue;
                        }
                    }
                    cache.search_update(at);
                    let next = dfa.next_state(cache, sid, b);
                    let stop = match next {
                        Ok(next) if next.is_match() => {
                            sids[i] = next;
                            recorders[i].record(self, &parts[i], cache, next, hay, k, candidates);
                            false
                        }
                        Ok(next) if next.is_dead() => {
                            cache.search_finish(at);
                            true
                        }
                        Ok(next) if !next.is_quit() && !next.is_unknown() => {
                            sids[i] = next;
                            false
                        }
                        _ => {
                            failed |= 1 << i;
                            true
                        }
                    };
                    if stop {
                        n -= 1;
                        alive[j] = alive[n];
                    } else {
                        j += 1;
                    }
                }
            }
            for &i in &alive[..n] {
                let i = usize::from(i);
                let (dfa, cache) = (&*parts[i].dfa, &mut *caches[i]);
                cache.search_finish(value.len());
                match dfa.next_eoi_state(cache, sids[i]) {
                    Ok(sid) if sid.is_match() => {
                        recorders[i].record(self, &parts[i], cache, sid, hay, k, candidates)
                    }
                    Ok(sid) if !sid.is_quit() && !sid.is_unknown() => {}
                    _ => failed |= 1 << i,
                }
            }
        }
        failed
    }

    /// Credits the slots of `tests` for the values of `hay` their test holds for, in the
    /// slot's collections. `holds` answers a test on a value; it is asked at most once per
    /// (test, value) here.
    pub fn scan_tests(
        &self,
        tests: &[SlotTest],
        hay: &Hay,
        candidates: &mut Candidates,
        holds: &mut dyn FnMut(&ValueTest, &[u8]) -> bool,
    ) {
        if tests.is_empty() {
            return;
        }
        // Per test: the hay entry it was last asked about and its verdict there. (A test
        // is asked only about the values of the collections its rule reads: an exclusion
        // rule's `@streq` on the file name costs the request's other values a mask test
        // each.)
        let mut verdicts = vec![(usize::MAX, false); self.tests.len()];
        for k in 0..hay.len() {
            let mask = hay.mask(k);
            for t in tests.iter().filter(|t| t.reads & mask != 0) {
                let (asked, holds_here) = &mut verdicts[t.test];
                if *asked != k {
                    *asked = k;
                    *holds_here = holds(&self.tests[t.test], hay.get(k));
                }
                if *holds_here {
                    candidates.credit(t.slot as usize, hay.id(k));
                }
            }
        }
    }

    /// Marks in `candidates` the slots whose literals occur inside a value of `hay` held by
    /// a collection their rule reads.
    pub fn scan(&self, hay: &Hay, candidates: &mut Candidates) {
        let Some(ac) = &self.ac else { return };
        // Value by value, so that a match is inside the value it is credited to (no match
        // runs across two) and the value is known without looking it up per match.
        for k in 0..hay.len() {
            let value = hay.get(k);
            let (mask, id) = (hay.mask(k), hay.id(k));
            // (a literal repeated in a value, such as a word of prose, is credited once
            // in a row)
            let mut last = usize::MAX;
            let mut credit = |literal: usize| {
                if literal == last {
                    return;
                }
                last = literal;
                for &slot in &self.literal_slots[literal] {
                    let slot = slot as usize;
                    if self.reads(slot, mask) {
                        candidates.credit(slot, id);
                    }
                }
            };
            if mask & !self.narrow_mask != 0 {
                // a value in some widely read collection: plain values through the plain
                // literals' DFA, the others through the full automaton
                match &self.plain {
                    Some(p) if palisade_http::transform::is_plain(value) => {
                        p.ac.walk(value, |pid| credit(p.literals[pid]));
                    }
                    _ => ac.walk(value, credit),
                }
            } else {
                // a value held only by narrow collections, through theirs
                for narrow in self.narrow.iter().filter(|n| mask & n.bit != 0) {
                    if let Some(nac) = &narrow.ac {
                        nac.walk(value, |pid| credit(narrow.literals[pid]));
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A value shorter than a plan's patterns need, once the plan's base64 decoding has
    /// shrunk it, is left out before any step; a pipeline that may lengthen leaves none out.
    #[test]
    fn values_too_short_after_decoding_are_left_out() {
        use Transform::*;
        assert_eq!(shortest_value_reaching(&[UrlDecodeUni, Lowercase], 4), 4);
        assert_eq!(shortest_value_reaching(&[Base64Decode], 4), 6);
        assert_eq!(
            shortest_value_reaching(&[UrlDecodeUni, JsDecode, Base64Decode], 5),
            7
        );
        assert_eq!(
            shortest_value_reaching(&[Base64Decode, Base64DecodeExt], 3),
            6
        );
        assert_eq!(shortest_value_reaching(&[Base64Encode, Base64Decode], 4), 0);
        assert_eq!(shortest_value_reaching(&[Base64Decode], 0), 0);
        // (what the bound says of base64, its decoder does: 6 symbols are 4 bytes, 5 are 3)
        assert_eq!(Base64Decode.apply(b"c3Bvcn").len(), 4);
        assert_eq!(Base64Decode.apply(b"sport").len(), 3);
    }

    fn entry(slot: u32, literals: Option<&[&str]>, regex: Option<&str>, coll: &str) -> Entry {
        Entry {
            slot,
            literals: literals.map(|l| l.iter().map(|x| x.as_bytes().to_vec()).collect()),
            regex: regex.map(str::to_string),
            test: None,
            transforms: Vec::new(),
            collections: vec![coll.to_string()],
        }
    }

    fn mask(pf: &Prefilter, coll: &str) -> u64 {
        collection_bit(pf.collections.iter().position(|c| c == coll).unwrap())
    }

    /// xorshift64: deterministic test inputs.
    fn rng(mut seed: u64) -> impl FnMut() -> u64 {
        move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        }
    }

    /// A value scanned by its runs keeps every place a literal is (ignoring case) inside
    /// one run pushed whole, for binary values with literals planted at random places
    /// (the start, the end, side by side) and text values (pushed whole).
    #[test]
    fn literal_runs_keep_every_literal_of_a_binary_value() {
        let literals: Vec<Vec<u8>> = ["eval(", "require", "_$$nd_func$$_", "x=1"]
            .iter()
            .map(|l| l.as_bytes().to_vec())
            .collect();
        let runs = LiteralRuns::of(literals.iter()).expect("literals");
        assert_eq!(runs.shortest, 3);
        let mut next = rng(0x5eed_1234);
        let mut split = 0;
        for round in 0..3000 {
            let len = (next() % 400) as usize;
            let mut value: Vec<u8> = (0..len)
                .map(|_| match round % 3 {
                    // binary, as a base64 decoding of text is
                    0 | 1 => next() as u8,
                    // text
                    _ => b"abcdefghij klmnopqrstuvwxyz_$()=1"[(next() % 33) as usize],
                })
                .collect();
            for _ in 0..(next() % 4) {
                let l = &literals[(next() % 4) as usize];
                let at = (next() as usize) % (value.len() + 1);
                let planted: Vec<u8> = l
                    .iter()
                    .map(|b| {
                        if next().is_multiple_of(2) {
                            b.to_ascii_uppercase()
                        } else {
                            *b
                        }
                    })
                    .collect();
                value.splice(at..at, planted);
            }
            let mut out = Hay::default();
            let whole = runs.push_runs(&value, 7, 9, &mut out);
            let pushed: Vec<&[u8]> = (0..out.len()).map(|k| out.get(k)).collect();
            assert!((0..out.len()).all(|k| out.mask(k) == 7 && out.id(k) == 9));
            if whole {
                assert!(pushed.is_empty() || pushed == [&value[..]], "round {round}");
                continue;
            }
            split += 1;
            assert!(LiteralRuns::is_long_binary(&value), "round {round}");
            // runs are disjoint parts of the value and no literal spans a byte outside them:
            // each occurrence is in exactly one run
            let count = |hay: &[u8], l: &[u8]| {
                hay.windows(l.len())
                    .filter(|w| w.eq_ignore_ascii_case(l))
                    .count()
            };
            for l in &literals {
                let in_runs: usize = pushed.iter().map(|p| count(p, l)).sum();
                assert_eq!(
                    in_runs,
                    count(&value, l),
                    "round {round}: {:?} lost",
                    String::from_utf8_lossy(l)
                );
            }
            // what was pushed is far less than the value (else the runs are not worth it)
            assert!(
                pushed.iter().map(|p| p.len()).sum::<usize>() < value.len(),
                "round {round}"
            );
        }
        assert!(split > 1000, "binary values were split: {split}");
    }

    /// The literals, later steps and escapes of the compaction property tests.
    struct CompactionCase {
        literals: Vec<Vec<u8>>,
        chains: [&'static [Transform]; 5],
        compaction: RunCompaction,
    }

    fn compaction_case() -> CompactionCase {
        use Transform::*;
        let literals: Vec<Vec<u8>> = [
            "eval(",
            "env[",
            "require.",
            "_$$nd_func$$_",
            "cmd\\",
            "%2f.",
        ]
        .iter()
        .map(|l| l.as_bytes().to_vec())
        .collect();
        let chains: [&[Transform]; 5] = [
            &[],
            &[UrlDecodeUni],
            &[UrlDecodeUni, JsDecode],
            &[UrlDecodeUni, JsDecode, RemoveWhitespace],
            &[JsDecode, RemoveNulls, CompressWhitespace, UrlDecode],
        ];
        let later = chains.iter().flat_map(|c| c.iter().copied());
        let compaction = RunCompaction::new(literals.iter(), later).expect("local steps");
        assert_eq!(compaction.shortest, 4);
        CompactionCase {
            literals,
            chains,
            compaction,
        }
    }

    /// `len` random bytes with up to five pieces planted at random places (a quarter of
    /// them at the very end): escapes (`%65`, `\x65`, `%u0065`, `\145`, `+`, whitespace,
    /// NUL), or literals in either case with escapes, whitespace or NULs inside.
    fn planted_value(next: &mut impl FnMut() -> u64, literals: &[Vec<u8>], len: usize) -> Vec<u8> {
        let escapes: [&[u8]; 14] = [
            b"%", b"%6", b"%65", b"%u0065", b"\\", b"\\x6", b"\\x65", b"\\145", b"+", b" ", b"\0",
            b"\\u0065", b"/*", b"*/",
        ];
        let mut value: Vec<u8> = (0..len).map(|_| next() as u8).collect();
        for _ in 0..(next() % 6) {
            let piece: Vec<u8> = match next() % 3 {
                0 => escapes[(next() % escapes.len() as u64) as usize].to_vec(),
                _ => {
                    let l = &literals[(next() % literals.len() as u64) as usize];
                    let mut p = Vec::new();
                    for &b in l {
                        match next() % 7 {
                            0 => p.extend_from_slice(format!("%{b:02x}").as_bytes()),
                            1 => p.extend_from_slice(format!("\\x{b:02x}").as_bytes()),
                            2 => p.push(b' '),
                            3 => p.push(0),
                            _ => {}
                        }
                        p.push(if next().is_multiple_of(2) {
                            b.to_ascii_uppercase()
                        } else {
                            b
                        });
                    }
                    p
                }
            };
            let at = match next() % 4 {
                0 => value.len(),
                _ => (next() as usize) % (value.len() + 1),
            };
            value.splice(at..at, piece);
        }
        value
    }

    /// A binary result cut down to its runs gives, through any chain of the later steps
    /// allowed, every literal the whole result gives through that chain: for binary values
    /// with escapes and literals (some holding `\` or `%`), whole or split by escapes and
    /// whitespace, planted at random places and often at the very end (a trailing `\` is
    /// kept by jsDecode, where one before a separator is not).
    #[test]
    fn compacted_binary_keeps_every_literal_through_later_steps() {
        let CompactionCase {
            literals,
            chains,
            compaction,
        } = compaction_case();
        let mut next = rng(0xc0ff_ee11);
        let (mut found, mut shrunk) = (0, 0);
        for round in 0..4000 {
            let len = 64 + (next() % 600) as usize;
            let value = planted_value(&mut next, &literals, len);
            let mut cut = Vec::new();
            compaction.compact_into(&value, &mut cut);
            assert!(!cut.contains(&0) || compaction.separator != 0);
            if cut.len() * 2 < value.len() {
                shrunk += 1;
            }
            for chain in chains {
                let whole = apply_all_for_test(chain, &value);
                let part = apply_all_for_test(chain, &cut);
                for l in &literals {
                    let holds = |h: &[u8]| h.windows(l.len()).any(|w| w.eq_ignore_ascii_case(l));
                    if holds(&whole) {
                        found += 1;
                        assert!(
                            holds(&part),
                            "round {round}, {chain:?}: {:?} lost",
                            String::from_utf8_lossy(l)
                        );
                    }
                }
            }
        }
        assert!(found > 2000, "literals found in whole results: {found}");
        assert!(shrunk > 3000, "values cut to less than half: {shrunk}");
    }

    /// A result without a run long enough (`holds_run`: what lets a short binary result
    /// end its plan's subtree) is one whose compaction is empty, and none of the later
    /// chains finds a literal in it, those ending with `replaceComments` too (no literal
    /// holds a space); short values (byte by byte) and long ones (by `each_run`) alike.
    #[test]
    fn a_result_without_a_run_holds_no_literal_through_later_steps() {
        let CompactionCase {
            literals,
            chains,
            compaction,
        } = compaction_case();
        let mut next = rng(0x05ee_db64);
        let (mut without, mut with) = (0, 0);
        for round in 0..6000 {
            let len = (next() % 70) as usize;
            let value = planted_value(&mut next, &literals, len);
            let mut cut = Vec::new();
            compaction.compact_into(&value, &mut cut);
            let holds_run = compaction.holds_run(&value);
            assert_eq!(holds_run, !cut.is_empty(), "round {round}: {value:?}");
            if holds_run {
                with += 1;
                continue;
            }
            without += 1;
            let ending_with_comments: [&[Transform]; 2] = [
                &[Transform::ReplaceComments],
                &[
                    Transform::UrlDecodeUni,
                    Transform::JsDecode,
                    Transform::ReplaceComments,
                ],
            ];
            for chain in chains.iter().chain(&ending_with_comments) {
                let result = apply_all_for_test(chain, &value);
                for l in &literals {
                    assert!(
                        !result.windows(l.len()).any(|w| w.eq_ignore_ascii_case(l)),
                        "round {round}, {chain:?}: {:?} in {value:?}",
                        String::from_utf8_lossy(l)
                    );
                }
            }
        }
        // a run exactly as long as the shortest literal counts; one byte shorter does not
        assert!(compaction.holds_run(b"\xff\xfeenv[\xff"));
        assert!(!compaction.holds_run(b"\xff\xfeen[\xff\xfeenv"));
        assert!(
            without > 1000 && with > 1000,
            "{without} without, {with} with"
        );
    }

    fn apply_all_for_test(chain: &[Transform], value: &[u8]) -> Vec<u8> {
        chain
            .iter()
            .fold(value.to_vec(), |v, t| t.apply(&v).into_owned())
    }

    /// Steps whose results cannot be taken run by run (a comment or an entity spans any
    /// bytes; base64 decodes by position from the start) leave a plan uncompacted.
    #[test]
    fn only_local_steps_allow_compaction() {
        use Transform::*;
        let literals = [b"eval(".to_vec()];
        for step in [
            UrlDecodeUni,
            UrlDecode,
            JsDecode,
            RemoveWhitespace,
            RemoveNulls,
        ] {
            assert!(RunCompaction::new(literals.iter(), [step].into_iter()).is_some());
        }
        for step in [
            ReplaceComments,
            HtmlEntityDecode,
            Base64Decode,
            CmdLine,
            CssDecode,
        ] {
            assert!(
                RunCompaction::new(literals.iter(), [UrlDecodeUni, step].into_iter()).is_none(),
                "{step:?}"
            );
        }
        assert!(RunCompaction::new([b"".to_vec()].iter(), [].into_iter()).is_none());
    }

    /// Every rule whose regex or literal matches a value of one of its collections must be
    /// a candidate (the scan may only over-approximate), whatever the values around it.
    #[test]
    fn scans_never_miss_a_match_inside_a_value() {
        let regexes = [
            r"^ab",
            r"b$",
            r"\bcd\b",
            r"a.*c",
            r"[\n\r]+x",
            r"^$",
            r"(?i)d[^a]b",
            r"c{2,}",
            r"\Bb\B",
            r"^a\s*:",
            // text edges hold at every value's edges, not only at the ends of the joined bytes
            r"\Aab",
            r"cd\z",
            r"(?-m)^b",
            // trailing repetitions (cut for the scan)
            r"ab+",
            r"a(bc)*",
            r"x|d+:",
            r"[\n\r]",
        ];
        let colls = ["ARGS", "ARGS_NAMES", "REQUEST_HEADERS"];
        let mut entries = Vec::new();
        for (i, re) in regexes.iter().enumerate() {
            entries.push(entry(i as u32, None, Some(re), colls[i % 3]));
        }
        let lits = [["ab"], ["c\nx"], ["dd"]];
        for (j, l) in lits.iter().enumerate() {
            let slot = (regexes.len() + j) as u32;
            entries.push(entry(slot, Some(&l[..]), None, colls[j % 3]));
        }
        let refs: Vec<&Entry> = entries.iter().collect();
        let pf = Prefilter::build(&refs, entries.len());
        assert!(pf.covered.iter().all(|c| *c));
        let dfa = pf.raw_dfa.as_ref().expect("union DFA");
        let compiled: Vec<regex::bytes::Regex> = regexes
            .iter()
            .map(|r| {
                regex::bytes::RegexBuilder::new(r)
                    .unicode(false)
                    .dot_matches_new_line(true)
                    .build()
                    .unwrap()
            })
            .collect();
        let alphabet = b"abcdABCD \n\r:x";
        let mut next = rng(0x5EED_0FC0_FFEE);
        let mut hay = Hay::default();
        for _ in 0..3000 {
            hay.clear();
            let mut values = Vec::new();
            for id in 0..1 + next() % 4 {
                let len = (next() % 7) as usize;
                let v: Vec<u8> = (0..len)
                    .map(|_| alphabet[(next() % alphabet.len() as u64) as usize])
                    .collect();
                let m = mask(&pf, colls[(next() % 3) as usize]);
                hay.push(&v, m, id as u32);
                values.push((v, m));
            }
            let mut cand = Candidates::new(&vec![true; entries.len()]);
            pf.scan(&hay, &mut cand);
            pf.scan_dfa(dfa, &hay, &mut cand);
            cand.finish();
            // a rule is a candidate, and credited for the very value it matches in
            let credited = |slot: usize, id: usize| {
                cand.may_match(slot)
                    && cand
                        .values_of(slot)
                        .is_none_or(|ids| ids.binary_search(&(id as u32)).is_ok())
            };
            for (id, (v, m)) in values.iter().enumerate() {
                for (i, re) in compiled.iter().enumerate() {
                    if re.is_match(v) && pf.slot_masks[i] & m != 0 {
                        assert!(
                            credited(i, id),
                            "{:?} missed in {:?}",
                            regexes[i],
                            hay.bytes
                        );
                    }
                }
                for (j, l) in lits.iter().enumerate() {
                    let slot = regexes.len() + j;
                    let lower = v.to_ascii_lowercase();
                    let found = memchr::memmem::find(&lower, l[0].as_bytes()).is_some();
                    if found && pf.slot_masks[slot] & m != 0 {
                        assert!(credited(slot, id), "{:?} missed in {:?}", l, hay.bytes);
                    }
                }
            }
        }
    }

    /// A collection few regexes read gets a DFA part of its own: a value held only by it
    /// is walked by that part, and finds every regex its rules match, as a value held by
    /// it and a wide collection finds them through the full parts.
    #[test]
    fn narrow_collections_walk_their_own_dfa_part() {
        let mut entries: Vec<Entry> = (0..12)
            .map(|i| {
                let re = format!("x{i}y");
                entry(i, None, Some(&re), "ARGS")
            })
            .collect();
        entries.push(entry(12, None, Some(r"^get\s+/admin"), "REQUEST_LINE"));
        entries.push(entry(13, None, Some(r"\.\./"), "REQUEST_LINE"));
        let refs: Vec<&Entry> = entries.iter().collect();
        let pf = Prefilter::build(&refs, entries.len());
        let (args, line) = (mask(&pf, "ARGS"), mask(&pf, "REQUEST_LINE"));
        let dfa = pf.raw_dfa.as_ref().expect("union DFA");
        assert_eq!(dfa.narrow_mask, line, "REQUEST_LINE is narrow, ARGS is not");
        let mut hay = Hay::default();
        for (id, (v, m)) in [
            (&b"get /admin HTTP/1.1"[..], line),
            (b"GET /a/../b", line),
            (b"x3y ../", args),
            (b"x1y /../", args | line),
            (b"get /admin", args),
        ]
        .iter()
        .enumerate()
        {
            hay.push(v, *m, id as u32);
        }
        let mut cand = Candidates::new(&pf.covered);
        pf.scan_dfa(dfa, &hay, &mut cand);
        cand.finish();
        assert_eq!(cand.values_of(12), Some(&[0][..]));
        assert_eq!(cand.values_of(13), Some(&[1, 3][..]));
        assert_eq!(cand.values_of(3), Some(&[2][..]));
        assert_eq!(cand.values_of(1), Some(&[3][..]));
        assert!(!cand.may_match(5));
    }

    /// A part of many patterns whose lazy DFA gives up (making states faster than its
    /// walks use them: a cache of the least size here) leaves the values to its small
    /// parts, which find exactly what it would have: every regex where it matches, none
    /// where it does not.
    /// 1 to `most` values of fewer than `longest` bytes from `letters`, pushed into `hay`
    /// (cleared first) in the collections `mask`, ids in order.
    fn random_values(
        next: &mut impl FnMut() -> u64,
        letters: &[u8],
        most: u64,
        longest: u64,
        hay: &mut Hay,
        mask: u64,
    ) -> Vec<Vec<u8>> {
        hay.clear();
        let values: Vec<Vec<u8>> = (0..1 + next() % most)
            .map(|_| {
                (0..next() % longest)
                    .map(|_| letters[(next() % letters.len() as u64) as usize])
                    .collect()
            })
            .collect();
        for (id, v) in values.iter().enumerate() {
            hay.push(v, mask, id as u32);
        }
        values
    }

    /// Every pattern (slot `i` is `compiled[i]`) is credited in exactly the values it
    /// matches.
    fn assert_credits_are_matches(
        cand: &Candidates,
        compiled: &[regex::bytes::Regex],
        values: &[Vec<u8>],
    ) {
        for (slot, re) in compiled.iter().enumerate() {
            let in_values: Vec<u32> = (values.iter().enumerate())
                .filter(|(_, v)| re.is_match(v))
                .map(|(id, _)| id as u32)
                .collect();
            if in_values.is_empty() {
                assert!(!cand.may_match(slot), "{re} credited in {values:?}");
            } else {
                assert_eq!(
                    cand.values_of(slot),
                    Some(&in_values[..]),
                    "{re} in {values:?}"
                );
            }
        }
    }

    #[test]
    fn a_dfa_that_gives_up_scans_through_its_small_parts() {
        // bounded gaps between two letters: each pattern alone has few states, the union
        // of twenty the combinations of their positions
        let letters = b"abcdefgh";
        let regexes: Vec<String> = (0..20)
            .map(|i| {
                let (x, y) = (letters[i % 8] as char, letters[(i * 3 + 1) % 8] as char);
                let z = letters[(i / 8 + 2) % 8] as char;
                format!("{x}[^{z}]{{0,5}}{y}{y}")
            })
            .collect();
        let entries: Vec<Entry> = (0..20)
            .map(|i| entry(i as u32, None, Some(&regexes[i]), "ARGS"))
            .collect();
        let refs: Vec<&Entry> = entries.iter().collect();
        let pf = Prefilter::build(&refs, entries.len());
        let args = mask(&pf, "ARGS");
        let dfa = pf.raw_dfa.as_ref().expect("union DFA");
        let compiled: Vec<regex::bytes::Regex> = regexes
            .iter()
            .map(|r| regex::bytes::Regex::new(r).unwrap())
            .collect();
        let mut next = rng(0xD1FF_5EED);
        let mut hay = Hay::default();
        for _ in 0..400 {
            let values = random_values(&mut next, letters, 4, 40, &mut hay, args);
            let mut cand = Candidates::new(&pf.covered);
            pf.scan_dfa(dfa, &hay, &mut cand);
            cand.finish();
            assert_credits_are_matches(&cand, &compiled, &values);
        }
        assert!(dfa.scans_given_up() > 0, "the union never gave up");
    }

    /// Walking parts in lockstep credits what walking each alone credits: parts of
    /// anchored, unanchored and end-anchored patterns (matched at the value's end) side by
    /// side, each part's matches credited to its own slots.
    #[test]
    fn parts_walked_in_lockstep_credit_what_each_matches() {
        let letters = b"abcdefgh";
        let groups: [&[&str]; 5] = [
            &["^ab", "^ba", "^c"],
            &["^[a-h]{3}c", "^d[a-h]e"],
            &["c[a-h]{0,3}d", "hh"],
            &["^[a-h]g", "^e"],
            &["f[^a]{2}f", "ga$", "^h[a-h]*h$"],
        ];
        let regexes: Vec<&str> = groups.iter().flat_map(|g| g.iter().copied()).collect();
        let entries: Vec<Entry> = (0..regexes.len())
            .map(|i| entry(i as u32, None, Some(regexes[i]), "ARGS"))
            .collect();
        let refs: Vec<&Entry> = entries.iter().collect();
        let pf = Prefilter::build(&refs, entries.len());
        let args = mask(&pf, "ARGS");
        let mut slot = 0u32;
        let parts: Vec<DfaPart> = groups
            .iter()
            .map(|g| {
                let patterns: Vec<DfaPattern> = g
                    .iter()
                    .map(|&regex| {
                        slot += 1;
                        DfaPattern {
                            regex,
                            slot: slot - 1,
                            lowered: false,
                        }
                    })
                    .collect();
                let mut part = compile_part(&patterns).expect("part");
                part.mask = args;
                part
            })
            .collect();
        let compiled: Vec<regex::bytes::Regex> = regexes
            .iter()
            .map(|r| regex::bytes::Regex::new(r).unwrap())
            .collect();
        let mut next = rng(0x10C5_7E90);
        let mut hay = Hay::default();
        for _ in 0..300 {
            let values = random_values(&mut next, letters, 5, 12, &mut hay, args);
            let mut cand = Candidates::new(&pf.covered);
            let wanted = |p: &DfaPart, m: u64| m & p.mask != 0;
            let failed = pf.try_scan_lockstep(&parts, &hay, usize::MAX, wanted, &mut cand);
            assert_eq!(failed, 0);
            cand.finish();
            assert_credits_are_matches(&cand, &compiled, &values);
        }
    }

    /// A value is credited only for what matches inside it: the separator that joins values
    /// for the scan is no `\n` of any value, and no match carries over from one value to the
    /// next.
    #[test]
    fn scans_credit_a_regex_only_to_the_values_it_matches_in() {
        let entries = [
            entry(0, None, Some(r"[\n\r]"), "ARGS"),
            entry(1, None, Some(r"ab.*cd"), "ARGS"),
            entry(2, None, Some(r"^[^;\s]+"), "ARGS"),
        ];
        let refs: Vec<&Entry> = entries.iter().collect();
        let pf = Prefilter::build(&refs, entries.len());
        let m = mask(&pf, "ARGS");
        let mut hay = Hay::default();
        for (id, v) in [&b"ab"[..], b"x\ny", b"cd", b";", b"plain"]
            .iter()
            .enumerate()
        {
            hay.push(v, m, id as u32);
        }
        let mut cand = Candidates::new(&pf.covered);
        pf.scan_dfa(pf.raw_dfa.as_ref().expect("DFA"), &hay, &mut cand);
        cand.finish();
        assert_eq!(
            cand.values_of(0),
            Some(&[1][..]),
            "only the value holding a newline"
        );
        assert!(!cand.may_match(1), "`ab` and `cd` are in different values");
        assert_eq!(cand.values_of(2), Some(&[0, 1, 2, 4][..]));
    }

    /// Cutting a trailing repetition keeps whether a pattern matches a value, for every
    /// value; and it does cut (`+` to one, `*` to none, nested and in alternations).
    #[test]
    fn trimmed_patterns_match_the_same_values() {
        let patterns = [
            r"^[^;\s]+",
            r"ab*",
            r"a(bc)+",
            r"(?:x|yz*)+",
            r"a{2,5}",
            r"ab{2,}c*",
            r"(a|b+)$",
            r"a+?",
            r"[ab]*",
            r"\ba\w*\b",
        ];
        let alphabet = b"abcxyz; \n";
        let mut next = rng(0x7121_4D00);
        for p in patterns {
            let hir = parse_prefilter_regex(p).expect("parses");
            let trimmed = trim_trailing_repetition(&hir);
            let build = |re: &str| {
                regex::bytes::RegexBuilder::new(re)
                    .unicode(false)
                    .multi_line(true)
                    .dot_matches_new_line(true)
                    .build()
                    .expect("builds")
            };
            let (long, short) = (build(&hir.to_string()), build(&trimmed.to_string()));
            for _ in 0..3000 {
                let len = (next() % 9) as usize;
                let v: Vec<u8> = (0..len)
                    .map(|_| alphabet[(next() % alphabet.len() as u64) as usize])
                    .collect();
                assert_eq!(long.is_match(&v), short.is_match(&v), "{p} on {v:?}");
            }
        }
        let shown = |p: &str| {
            trim_trailing_repetition(&parse_prefilter_regex(p).expect("parses")).to_string()
        };
        assert_eq!(shown(r"^[^;\s]+"), shown(r"^[^;\s]"));
        assert_eq!(shown(r"ab*c*"), shown(r"a"));
        assert_eq!(shown(r"a(b+|c{3,})"), shown(r"a(?:b|c{3})"));
        assert_eq!(
            shown(r"ab+$"),
            parse_prefilter_regex(r"ab+$").expect("parses").to_string(),
            "an assertion after it: nothing cut"
        );
    }

    /// A lowered pattern matches a value exactly where the pattern matches the value
    /// lowercased: random patterns of letters in both cases, classes (negated ones, `\w`,
    /// case-insensitive ones), word boundaries, anchors, repetitions and alternations, on
    /// random mixed-case values.
    #[test]
    fn lowered_patterns_match_where_the_pattern_matches_the_lowercased_value() {
        let atoms = [
            "a",
            "B",
            "ab",
            "Ab",
            "x-",
            "[a-c]",
            "[^a]",
            "[^B]",
            "[A-Z]",
            "[^a-z]",
            r"\w",
            r"\W",
            r"\b",
            r"\B",
            "^",
            "$",
            ".",
            "(?i)a",
            "(?i)[b-d]",
            "(?i:bA)",
            r"\d",
            "[[:upper:]]",
            "[[:lower:]]",
            "[^[:upper:]]",
        ];
        let alphabet = b"aAbBcCdxX-_1 \n";
        let mut next = rng(0x51ED_2701);
        let build = |hir: &regex_syntax::hir::Hir| {
            regex::bytes::RegexBuilder::new(&hir.to_string())
                .unicode(false)
                .multi_line(true)
                .dot_matches_new_line(true)
                .build()
                .expect("builds")
        };
        let mut differs = 0;
        for _ in 0..400 {
            let mut pattern = String::new();
            for _ in 0..1 + next() % 4 {
                pattern.push_str(atoms[(next() % atoms.len() as u64) as usize]);
                match next() % 6 {
                    0 => pattern.push('*'),
                    1 => pattern.push('+'),
                    2 => pattern.push_str("{2}"),
                    3 => pattern.push('|'),
                    _ => {}
                }
            }
            let pattern = pattern.trim_end_matches('|');
            let Some(hir) = parse_prefilter_regex(pattern) else {
                continue;
            };
            let lowered = lowered_preimage(&hir).expect("bytes only");
            let (plain, low) = (build(&hir), build(&lowered));
            for _ in 0..100 {
                let len = (next() % 7) as usize;
                let v: Vec<u8> = (0..len)
                    .map(|_| alphabet[(next() % alphabet.len() as u64) as usize])
                    .collect();
                let expected = plain.is_match(&v.to_ascii_lowercase());
                assert_eq!(low.is_match(&v), expected, "{pattern} on {v:?}");
                differs += usize::from(plain.is_match(&v) != expected);
            }
        }
        assert!(
            differs > 100,
            "the values' case mattered to the patterns ({differs})"
        );
    }

    /// A pattern matching ordinary text (such as 920450's `^.*$` over header names) is a
    /// DFA part of its own, masked to its rule's collections, so that values of other
    /// collections are not walked through it; the scan's verdicts stay those of the regexes.
    #[test]
    fn patterns_matching_ordinary_text_get_a_part_of_their_own() {
        let entries = [
            entry(0, None, Some(r"^.*$"), "REQUEST_HEADERS_NAMES"),
            entry(1, None, Some(r"<script\b"), "ARGS"),
            entry(2, None, Some(r"union\s+select"), "ARGS"),
        ];
        let refs: Vec<&Entry> = entries.iter().collect();
        let pf = Prefilter::build(&refs, 3);
        let (args, names) = (mask(&pf, "ARGS"), mask(&pf, "REQUEST_HEADERS_NAMES"));
        let dfa = pf.raw_dfa.as_ref().expect("DFA");
        let parts: Vec<(Vec<u32>, u64)> = dfa
            .parts
            .iter()
            .map(|p| {
                let mut slots = p.slots.clone();
                slots.sort_unstable();
                (slots, p.mask)
            })
            .collect();
        assert_eq!(parts, [(vec![1, 2], args), (vec![0], names)]);
        assert_eq!(dfa.mask, args | names);
        let mut hay = Hay::default();
        hay.push(b"hello world", args, 0);
        hay.push(b"Accept", names, 1);
        hay.push(b"a <script>", args, 2);
        let mut cand = Candidates::new(&[true; 3]);
        pf.scan_dfa(dfa, &hay, &mut cand);
        cand.finish();
        assert_eq!(cand.values_of(0), Some(&[1][..]));
        assert_eq!(cand.values_of(1), Some(&[2][..]));
        assert!(!cand.may_match(2));
    }

    /// A match in a value of a collection the rule does not read, or across two values,
    /// does not make the rule a candidate.
    #[test]
    fn matches_count_only_inside_values_of_the_rule_collections() {
        let entries = [
            entry(0, Some(&["://"]), None, "ARGS"),
            entry(1, None, Some("x:y"), "ARGS"),
            entry(2, Some(&["zz"]), None, "REQUEST_HEADERS"),
        ];
        let refs: Vec<&Entry> = entries.iter().collect();
        let pf = Prefilter::build(&refs, 3);
        let (args, headers) = (mask(&pf, "ARGS"), mask(&pf, "REQUEST_HEADERS"));
        let mut hay = Hay::default();
        hay.push(b"https://example.com/x:y", headers, 0);
        hay.push(b"a:", args, 1);
        hay.push(b"/z", args, 2);
        hay.push(b"z", args, 3);
        let mut cand = Candidates::new(&[true; 3]);
        pf.scan(&hay, &mut cand);
        pf.scan_dfa(pf.raw_dfa.as_ref().unwrap(), &hay, &mut cand);
        assert_eq!(cand.hit, [false, false, false]);
        hay.push(b"x:y", args | headers, 4);
        hay.push(b"x:y and more", args, 5);
        pf.scan(&hay, &mut cand);
        pf.scan_dfa(pf.raw_dfa.as_ref().unwrap(), &hay, &mut cand);
        cand.finish();
        assert_eq!(cand.hit, [false, true, false]);
        assert_eq!(
            cand.values_of(1),
            Some(&[4, 5][..]),
            "only the values it is in"
        );
    }

    /// Values held only by collections few literal rules read are scanned with those
    /// rules' literals alone, and still credit every rule that may match there.
    #[test]
    fn narrow_collections_are_scanned_with_their_own_literals() {
        let mut entries: Vec<Entry> = (0..8)
            .map(|i| entry(i, Some(&[&format!("word{i}")]), None, "ARGS"))
            .collect();
        entries.push(entry(8, Some(&["%uff"]), None, "REQUEST_BODY"));
        let mut both = entry(9, Some(&["java.lang"]), None, "ARGS");
        both.collections.push("REQUEST_BODY".to_string());
        entries.push(both);
        let refs: Vec<&Entry> = entries.iter().collect();
        let pf = Prefilter::build(&refs, 10);
        let (args, body) = (mask(&pf, "ARGS"), mask(&pf, "REQUEST_BODY"));
        assert_eq!(pf.narrow_mask, body, "the body alone is narrow");
        let mut hay = Hay::default();
        hay.push(b"{\"a\":\"word1 %UFF java.lang\"}", body, 0);
        hay.push(b"word2", args, 1);
        hay.push(b"x %uff word3", args | body, 2);
        hay.push(b"JAVA.LANG", body, 3);
        let mut cand = Candidates::new(&[true; 10]);
        pf.scan(&hay, &mut cand);
        cand.finish();
        let hit: Vec<usize> = (0..10).filter(|&s| cand.may_match(s)).collect();
        assert_eq!(hit, [2, 3, 8, 9]);
        assert_eq!(cand.values_of(8), Some(&[0, 2][..]));
        assert_eq!(cand.values_of(9), Some(&[0, 3][..]));
        assert_eq!(
            cand.values_of(2),
            Some(&[1][..]),
            "not for the body's word1"
        );
    }

    /// A `.` rule is a candidate exactly when a value of its collections is not empty.
    #[test]
    fn any_byte_regexes_need_a_non_empty_value() {
        assert!(matches_any_byte("."));
        assert!(matches_any_byte("(?s:.)"));
        assert!(!matches_any_byte(".."));
        assert!(!matches_any_byte("[^a]"));
        assert!(!matches_any_byte("a|."));
        let entries = [
            entry(0, None, Some("."), "ARGS_NAMES"),
            entry(1, Some(&["xyz"]), None, "ARGS"),
        ];
        let refs: Vec<&Entry> = entries.iter().collect();
        let pf = Prefilter::build(&refs, 2);
        assert_eq!(pf.nonempty_slots, [0]);
        assert!(pf.covered[0] && pf.raw_dfa.is_none());
        assert_ne!(mask(&pf, "ARGS_NAMES"), 0);
    }

    #[test]
    fn case_changes_stay_before_decoders() {
        use Transform::*;
        assert_eq!(
            without_case_changes(&[UrlDecodeUni, Lowercase]),
            [UrlDecodeUni]
        );
        assert_eq!(
            without_case_changes(&[Lowercase, RemoveWhitespace]),
            [RemoveWhitespace]
        );
        assert_eq!(
            without_case_changes(&[Lowercase, HtmlEntityDecode]),
            [Lowercase, HtmlEntityDecode]
        );
    }

    /// Credits made out of order and repeated, across slots, come out of `finish` as each
    /// slot's distinct ids, ascending; a slot credited everywhere has no list.
    #[test]
    fn candidates_gather_each_slots_ids_in_order() {
        let mut cand = Candidates::new(&[true; 10]);
        for (slot, id) in [
            (5, 3),
            (7, 0),
            (5, 1),
            (7, 0),
            (5, 3),
            (9, 2),
            (5, 2),
            (7, 4),
        ] {
            cand.credit(slot, id);
        }
        cand.credit(5, 3);
        cand.credit_everywhere(9);
        let mut before: Vec<(u32, u32)> = cand.credits().collect();
        before.sort_unstable();
        before.dedup();
        assert_eq!(before, [(5, 1), (5, 2), (5, 3), (7, 0), (7, 4)]);
        cand.finish();
        assert_eq!(cand.values_of(5), Some(&[1, 2, 3][..]));
        assert_eq!(cand.values_of(7), Some(&[0, 4][..]));
        assert_eq!(cand.values_of(9), None, "credited everywhere");
        assert_eq!(cand.values_of(1), Some(&[][..]), "covered, never credited");
        assert!(cand.may_match(5) && cand.may_match(9) && !cand.may_match(1));
    }

    /// A byte-range test holds exactly when some byte is outside the set, whether the set
    /// leaves out a few bytes (a vector search) or many (blocks of lookups), at any place
    /// of values around the block size.
    #[test]
    fn byte_range_tests_find_any_byte_outside() {
        let sets: [&[std::ops::RangeInclusive<u8>]; 4] = [
            &[1..=255],
            &[0..=8, 11..=255],
            &[9..=10, 13..=13, 32..=126, 128..=255],
            &[0..=255],
        ];
        for ranges in sets {
            let mut allowed = [false; 256];
            for r in ranges {
                for b in r.clone() {
                    allowed[usize::from(b)] = true;
                }
            }
            let test = ByteRangeTest::new(&allowed);
            let inside = (0..=255u8).find(|&b| allowed[usize::from(b)]).unwrap();
            for b in 0..=255u8 {
                for len in [1usize, 63, 64, 65, 130] {
                    for at in [0, len / 2, len - 1] {
                        let mut value = vec![inside; len];
                        value[at] = b;
                        assert_eq!(
                            test.holds(&value),
                            !allowed[usize::from(b)],
                            "{b:#x} at {at} of {len} in {ranges:?}"
                        );
                    }
                }
            }
            assert!(!test.holds(b""));
        }
    }

    /// The prefix automaton and the literal DFA report every occurrence of every literal
    /// (overlapping ones, ASCII case ignored) once, as a naive search finds them: literals
    /// sharing a prefix, longer and shorter than the prefix, one the prefix of another, cut
    /// off at the end of the bytes, bytes outside ASCII, and values long enough to be
    /// walked in pieces (`DenseDfa::walk_lanes`), with occurrences across the pieces' edges.
    #[test]
    fn literal_scanners_find_every_occurrence() {
        let mut next = rng(0x5eed_1234);
        let alphabet = b"abcAB<>/ \xe9";
        for round in 0..200 {
            let count = 1 + (next() % 12) as usize;
            let mut literals: Vec<Vec<u8>> = Vec::new();
            for _ in 0..count {
                let len = 1 + (next() % 11) as usize;
                literals.push(
                    (0..len)
                        .map(|_| alphabet[(next() % alphabet.len() as u64) as usize])
                        .collect(),
                );
            }
            // one literal extending another, past the prefix length
            let mut longer = literals[0].clone();
            longer.extend_from_slice(b"abcabcab");
            literals.push(longer);
            let prefixed = PrefixedLiterals::build(&literals).expect("small set");
            let dfa = literal_dfa(&literals).expect("small set");
            for _ in 0..20 {
                let len = match next() % 3 {
                    0 => (next() % 64) as usize,
                    _ => crate::dense_dfa::LANES_FROM - 16 + (next() % 600) as usize,
                };
                let mut hay: Vec<u8> = (0..len)
                    .map(|_| alphabet[(next() % alphabet.len() as u64) as usize])
                    .collect();
                // plant a literal, in upper case, sometimes at the very end
                let planted = &literals[(next() % literals.len() as u64) as usize];
                let at = if next().is_multiple_of(2) {
                    hay.len()
                } else {
                    hay.len() / 2
                };
                hay.splice(at..at, planted.to_ascii_uppercase());
                let mut found = vec![0usize; literals.len()];
                prefixed.walk(&hay, |i| found[i] += 1);
                let mut found_by_dfa = vec![0usize; literals.len()];
                dfa.walk(&hay, |i| found_by_dfa[i] += 1);
                let expected: Vec<usize> = literals
                    .iter()
                    .map(|l| {
                        hay.windows(l.len())
                            .filter(|w| w.eq_ignore_ascii_case(l))
                            .count()
                    })
                    .collect();
                assert_eq!(found, expected, "round {round}: {literals:?} in {hay:?}");
                assert_eq!(
                    found_by_dfa, expected,
                    "round {round}: {literals:?} in {hay:?}"
                );
            }
        }
        assert!(PrefixedLiterals::build(&[b"".to_vec(), b"ab".to_vec()]).is_none());
    }
}
