//! Skipping rules that cannot match, per transaction, with one literal scan.
//!
//! Most CRS rules are a regex or phrase list with literals that every match must contain
//! (`union`, `<script`, `/etc/`). At load time those literals of all eligible rules go into
//! one Aho-Corasick automaton. Per request, the values those rules may inspect are
//! transformed by each pipeline the rules use, joined and scanned once; a rule none of whose
//! literals occurred is skipped without looking at its values. Values made only of
//! letters, digits and a few separators are left unchanged by most transformations, so
//! they are scanned once for all such pipelines. The result is an over-approximation:
//! a rule may be evaluated needlessly, never skipped wrongly.
//!
//! Regexes without a useful literal are compiled together, per pipeline, into one
//! multi-pattern lazy DFA (`MatchKind::All`) that runs over the same joined values in
//! multi-line mode (so `^` and `$` hold at every value boundary); a rule whose pattern
//! matched nowhere is skipped too.

use aho_corasick::AhoCorasick;
use palisade_http::Transform;
use regex_automata::meta;
use regex_automata::{Input, MatchKind, PatternSet};

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
    /// The pipeline without case changes (the scan ignores case).
    pub transforms: Vec<Transform>,
    /// Every step leaves "plain" values unchanged, so they need no transformation.
    pub plain_stable: bool,
    /// Collections read by the rules that use this pipeline.
    pub collections: Vec<String>,
    /// Regexes of this pipeline's rules without literals, and the slot of each pattern.
    pub dfa: Option<(meta::Regex, Vec<u32>)>,
}

/// A rule the prefilter can decide about.
#[derive(Debug, Clone)]
pub struct Entry {
    /// The rule's slot (shared by the prefilters of every paranoia level).
    pub slot: u32,
    /// Required literals (lowercase), or else...
    pub literals: Option<Vec<Vec<u8>>>,
    /// ...the regex, for the multi-pattern DFA.
    pub regex: Option<String>,
    pub transforms: Vec<Transform>,
    pub collections: Vec<String>,
}

#[derive(Debug, Default)]
pub struct Prefilter {
    pub ac: Option<AhoCorasick>,
    /// For each literal of `ac`, the slots of the rules it belongs to.
    pub literal_slots: Vec<Vec<u32>>,
    pub plans: Vec<Plan>,
    /// Slots this prefilter decides; the others always count as candidates.
    pub covered: Vec<bool>,
    /// Collections read by any covered rule (plain values of these are scanned once).
    pub collections: Vec<String>,
    /// The regexes of every plain-stable plan in one DFA: plain values are the same under
    /// all those pipelines, so they are scanned once rather than once per plan.
    pub plain_dfa: Option<(meta::Regex, Vec<u32>)>,
}

impl Prefilter {
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
            let transforms: Vec<Transform> = e
                .transforms
                .iter()
                .copied()
                .filter(|t| !matches!(t, Transform::Lowercase | Transform::Uppercase))
                .collect();
            let plan = match pf.plans.iter().position(|p| p.transforms == transforms) {
                Some(i) => i,
                None => {
                    let plain_stable = transforms.iter().all(|t| t.identity_on_plain());
                    pf.plans.push(Plan {
                        transforms,
                        plain_stable,
                        collections: Vec::new(),
                        dfa: None,
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
                members[plan].push(e);
            } else if let Some(re) = &e.regex {
                regexes[plan].push((re.as_str(), e.slot));
            }
        }
        for (i, plan) in pf.plans.iter_mut().enumerate() {
            if let Some(dfa) = Prefilter::compile_dfa(&regexes[i]) {
                plan.dfa = Some(dfa);
                for (_, slot) in &regexes[i] {
                    pf.covered[*slot as usize] = true;
                    if let Some(e) = entries.iter().find(|e| e.slot == *slot) {
                        members[i].push(e);
                    }
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
        let plain_regexes: Vec<(&str, u32)> = pf
            .plans
            .iter()
            .enumerate()
            .filter(|(i, p)| p.plain_stable && p.dfa.is_some() && !regexes[*i].is_empty())
            .flat_map(|(i, _)| regexes[i].iter().copied())
            .collect();
        pf.plain_dfa = Prefilter::compile_dfa(&plain_regexes);
        pf.ac = if literals.is_empty() {
            None
        } else {
            AhoCorasick::builder()
                .ascii_case_insensitive(true)
                .kind(Some(aho_corasick::AhoCorasickKind::DFA))
                .build(&literals)
                .or_else(|_| {
                    AhoCorasick::builder()
                        .ascii_case_insensitive(true)
                        .build(&literals)
                })
                .ok()
        };
        if pf.ac.is_none() {
            // without the literal automaton, literal entries cannot be decided
            for e in entries.iter().filter(|e| e.literals.is_some()) {
                pf.covered[e.slot as usize] = false;
            }
        }
        pf
    }

    /// Compiles `patterns` (with their slots) into one multi-pattern DFA; None when the
    /// set is empty or too large to compile.
    pub fn compile_dfa(patterns: &[(&str, u32)]) -> Option<(meta::Regex, Vec<u32>)> {
        if patterns.is_empty() {
            return None;
        }
        let sources: Vec<&str> = patterns.iter().map(|(p, _)| *p).collect();
        let re = meta::Regex::builder()
            .syntax(
                regex_automata::util::syntax::Config::new()
                    .unicode(false)
                    .utf8(false)
                    .multi_line(true)
                    .dot_matches_new_line(true),
            )
            .configure(
                meta::Config::new()
                    .match_kind(MatchKind::All)
                    .utf8_empty(false)
                    .hybrid_cache_capacity(16 << 20)
                    .nfa_size_limit(Some(256 << 20)),
            )
            .build_many(&sources)
            .ok()?;
        Some((re, patterns.iter().map(|(_, s)| *s).collect()))
    }

    /// Marks the slots of the DFA's patterns that match somewhere in `haystack`.
    pub fn scan_dfa(dfa: &(meta::Regex, Vec<u32>), haystack: &[u8], candidates: &mut [bool]) {
        let (re, slots) = dfa;
        let mut hits = PatternSet::new(re.pattern_len());
        re.which_overlapping_matches(&Input::new(haystack), &mut hits);
        for pid in hits.iter() {
            candidates[slots[pid.as_usize()] as usize] = true;
        }
    }

    /// Marks in `candidates` the slots whose literals occur in `haystack`.
    pub fn scan(&self, haystack: &[u8], candidates: &mut [bool]) {
        let Some(ac) = &self.ac else { return };
        for m in ac.find_overlapping_iter(haystack) {
            for &slot in &self.literal_slots[m.pattern().as_usize()] {
                candidates[slot as usize] = true;
            }
        }
    }
}
