//! The first pass of a group's literal scan: which values (segments of the joined haystack)
//! hold the start of a needle, found by walking the Aho-Corasick DFA over three parts of
//! the haystack at once.
//!
//! Why several walks in one loop: a DFA step is a table load whose address depends on the
//! previous step's result, so one walk waits on that load at every byte (~2 ns per byte
//! here, whatever the table's size). Independent walks interleaved keep several loads in
//! flight, and the processor overlaps them: on the built-in `args` automaton (3,625
//! needles) three walks scan a 5 KB haystack 2.5–2.9 times as fast as one, two walks 2.0
//! times, four 1.3 times (their state no longer fits in registers).

use aho_corasick::automaton::Automaton;
use aho_corasick::dfa::DFA;
use aho_corasick::Anchored;

/// Haystacks shorter than this are walked in one piece: splitting costs more than it saves.
const MIN_SPLIT_LEN: usize = 128;

/// How many walks run together.
const WALKS: usize = 3;

/// One walk over `hay[at..end]`.
struct Walk {
    at: usize,
    end: usize,
    sid: aho_corasick::automaton::StateID,
}

/// Fills `out`, sorted and without repeats, with the index of every segment in which a
/// needle of `dfa` starts (a needle may run past its segment's end: the caller looks
/// inside the segment again), and possibly segments in which none does. `starts[k].0` is
/// where segment k begins (strictly increasing, 0 for the first); it ends where the next
/// one begins, or at `hay.len()`. Once a needle is found in a segment, the walk goes on
/// from the next segment: a segment is reported once, and finding all its needles is the
/// caller's second pass. Every segment holding a needle entirely is reported: that is what
/// the caller relies on.
pub(crate) fn segments_with_needles(
    dfa: &DFA,
    hay: &[u8],
    starts: &[(usize, usize)],
    out: &mut Vec<usize>,
) {
    out.clear();
    let Ok(start) = dfa.start_state(Anchored::No) else {
        // (an unanchored DFA always has an unanchored start state) every segment, to be safe
        out.extend(0..starts.len());
        return;
    };
    let segment_of = |pos: usize| starts.partition_point(|&(s, _)| s <= pos).saturating_sub(1);
    let segment_end = |k: usize| starts.get(k + 1).map_or(hay.len(), |&(s, _)| s);
    // Walk i starts at the i-th of WALKS equal parts, and all but the last go on past the
    // next part's start for as many bytes as the longest needle less one: a needle starting
    // in a part is found by that part's walk.
    let overlap = dfa.max_pattern_len().saturating_sub(1);
    let parts = if hay.len() < MIN_SPLIT_LEN || hay.len() / WALKS <= overlap {
        1
    } else {
        WALKS
    };
    // (walks past `parts` get the empty range at the end)
    let part_start = |i: usize| hay.len() * i.min(parts) / parts;
    let mut walks: [Walk; WALKS] = std::array::from_fn(|i| Walk {
        at: part_start(i),
        end: if i + 1 < parts {
            part_start(i + 1) + overlap
        } else {
            part_start(i + 1)
        },
        sid: start,
    });
    // A step of one walk that entered a special state: a match (report its segment, go on
    // at the next segment) or the dead state (not reachable in an unanchored search; start
    // again at the next byte, which can only find more).
    let special = |w: &mut Walk, out: &mut Vec<usize>| {
        if dfa.is_match(w.sid) {
            let needle_len = dfa.pattern_len(dfa.match_pattern(w.sid, 0));
            let k = segment_of((w.at + 1).saturating_sub(needle_len));
            out.push(k);
            w.at = segment_end(k);
        } else {
            w.at += 1;
        }
        w.sid = start;
    };
    // All walks in lockstep while they all have bytes left (the steps of one round depend
    // on nothing of each other), then each to its end.
    while walks.iter().all(|w| w.at < w.end) {
        for w in walks.iter_mut() {
            w.sid = dfa.next_state(Anchored::No, w.sid, hay[w.at]);
        }
        for w in walks.iter_mut() {
            if dfa.is_special(w.sid) {
                special(w, out);
            } else {
                w.at += 1;
            }
        }
    }
    for w in walks.iter_mut() {
        while w.at < w.end {
            w.sid = dfa.next_state(Anchored::No, w.sid, hay[w.at]);
            if dfa.is_special(w.sid) {
                special(w, out);
            } else {
                w.at += 1;
            }
        }
    }
    out.sort_unstable();
    out.dedup();
}

/// Builds the literal DFA a group scans with: ASCII case ignored, and no prefilter (the
/// walk above never consults one, and with one the DFA would mark its start state special,
/// stopping the walk at every return to it).
pub(crate) fn build_dfa(needles: &[Vec<u8>]) -> Result<DFA, aho_corasick::BuildError> {
    DFA::builder()
        .ascii_case_insensitive(true)
        .prefilter(false)
        .build(needles)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Segments holding a needle entirely, by brute force.
    fn segments_holding_needles(needles: &[Vec<u8>], values: &[Vec<u8>]) -> Vec<usize> {
        values
            .iter()
            .enumerate()
            .filter(|(_, v)| {
                needles.iter().any(|n| {
                    v.windows(n.len().max(1))
                        .any(|w| !n.is_empty() && w.eq_ignore_ascii_case(n))
                })
            })
            .map(|(k, _)| k)
            .collect()
    }

    fn joined(values: &[Vec<u8>]) -> (Vec<u8>, Vec<(usize, usize)>) {
        let mut hay = Vec::new();
        let mut starts = Vec::new();
        for v in values {
            starts.push((hay.len(), starts.len()));
            hay.extend_from_slice(v);
            hay.push(b'\n');
        }
        (hay, starts)
    }

    /// A small deterministic generator (xorshift), so failures reproduce.
    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }
        fn below(&mut self, n: usize) -> usize {
            (self.next() % n as u64) as usize
        }
    }

    #[test]
    fn every_segment_holding_a_needle_is_reported_once_in_order() {
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
        let alphabet = b"abcdeXYZ .;'<";
        for round in 0..400 {
            let needles: Vec<Vec<u8>> = (0..1 + rng.below(12))
                .map(|_| {
                    (0..1 + rng.below(if round % 5 == 0 { 40 } else { 5 }))
                        .map(|_| alphabet[rng.below(alphabet.len())])
                        .collect()
                })
                .collect();
            // few long values (one split inside a value) or many short ones
            let values: Vec<Vec<u8>> = (0..1 + rng.below(if round % 2 == 0 { 3 } else { 200 }))
                .map(|_| {
                    let len = if round % 2 == 0 {
                        rng.below(2000)
                    } else {
                        rng.below(30)
                    };
                    (0..len)
                        .map(|_| alphabet[rng.below(alphabet.len())])
                        .collect()
                })
                .collect();
            let dfa = build_dfa(&needles).expect("small needle sets build");
            let (hay, starts) = joined(&values);
            let mut found = Vec::new();
            segments_with_needles(&dfa, &hay, &starts, &mut found);
            let want = segments_holding_needles(&needles, &values);
            for k in &want {
                assert!(
                    found.contains(k),
                    "round {round}: segment {k} holds a needle but was not reported"
                );
            }
            assert!(found.windows(2).all(|w| w[0] < w[1]), "sorted, no repeats");
            assert!(found.iter().all(|&k| k < values.len()));
        }
    }

    #[test]
    fn a_needle_across_a_part_boundary_is_found() {
        // One long value holding one needle as long as the longest of a set, at every
        // offset around the boundaries between the walks' parts; the set's other needle
        // (a single byte that does not occur) only sets the overlap.
        let needle: Vec<u8> = (0..45).map(|i| b"<script>alert(1)"[i % 16]).collect();
        let needles = vec![needle.clone(), b"#".to_vec()];
        let dfa = build_dfa(&needles).expect("builds");
        let len = 1000;
        for boundary in 1..WALKS {
            let at_boundary = (len + 1) * boundary / WALKS;
            for start in at_boundary - needle.len()..=at_boundary {
                let mut value = vec![b'a'; len];
                value[start..start + needle.len()].copy_from_slice(&needle);
                // (the haystack is the value and its separator: `len + 1` bytes)
                let (hay, starts) = joined(std::slice::from_ref(&value));
                let mut found = Vec::new();
                segments_with_needles(&dfa, &hay, &starts, &mut found);
                assert_eq!(
                    found,
                    vec![0],
                    "needle at {start}, boundary at {at_boundary}"
                );
            }
        }
        // and nothing is reported without it
        let clean = vec![vec![b'a'; 1000], vec![b'b'; 10]];
        let (hay, starts) = joined(&clean);
        let mut found = Vec::new();
        segments_with_needles(&dfa, &hay, &starts, &mut found);
        assert!(found.is_empty());
    }
}
