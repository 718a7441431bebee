//! The first pass of a group's literal scan: which values (segments of the joined haystack)
//! hold the start of a needle, found by walking a DFA of the needles over three parts of
//! the haystack at once.
//!
//! Why several walks in one loop: a DFA step is a table load whose address depends on the
//! previous step's result, so one walk waits on that load at every byte (~2 ns per byte
//! here, whatever the table's size). Independent walks interleaved keep several loads in
//! flight, and the processor overlaps them: on the built-in `args` automaton (3,625
//! needles) three walks scan a 5 KB haystack 2.5–2.9 times as fast as one, two walks 2.0
//! times, four 1.3 times (their state no longer fits in registers).
//!
//! Why a table of our own ([`WalkTable`]) rather than the Aho-Corasick crate's DFA, which
//! it is built from and then dropped: a step through that DFA's API is a byte-class
//! lookup, a bounds-checked transition load and a special-state test; here a step is two
//! loads and an add, and one comparison per round tells whether any of the three walks
//! needs a look. The second pass (every needle in the segments named) is the crate's
//! contiguous NFA, a tenth of the DFA's memory.

use aho_corasick::automaton::{Automaton, StateID};
use aho_corasick::dfa::DFA;
use aho_corasick::{AhoCorasick, AhoCorasickKind, Anchored};
use std::collections::HashMap;

/// Haystacks shorter than this are walked in one piece: splitting costs more than it saves.
const MIN_SPLIT_LEN: usize = 128;

/// How many walks run together.
const WALKS: usize = 3;

/// A group's literal automata: the walk table (the first pass) and an Aho-Corasick NFA
/// for finding every needle in the segments the first pass names.
pub(crate) struct LiteralAutomaton {
    /// For the second pass, which runs on the few segments the first names: a contiguous
    /// NFA, a tenth of the DFA's memory (the built-in `args` needles: ~20 MB as a DFA).
    pub(crate) nfa: AhoCorasick,
    walk: WalkTable,
}

impl LiteralAutomaton {
    /// Builds both automata over `needles`, ASCII case ignored. The DFA the table is made
    /// from has no prefilter: with one it would mark its start state special.
    pub(crate) fn build(needles: &[Vec<u8>]) -> Result<Self, aho_corasick::BuildError> {
        let walk = {
            let dfa = DFA::builder()
                .ascii_case_insensitive(true)
                .prefilter(false)
                .build(needles)?;
            WalkTable::new(&dfa, needles)
        };
        let nfa = AhoCorasick::builder()
            .kind(Some(AhoCorasickKind::ContiguousNFA))
            .ascii_case_insensitive(true)
            .build(needles)?;
        Ok(LiteralAutomaton { nfa, walk })
    }
}

/// The unanchored Aho-Corasick DFA as a flat transition table. A state the walk goes on
/// from is [`LIVE`] plus its row's offset in `trans` (its index times the number of byte
/// classes; a transition is `trans[state - LIVE + class[byte]]`); a state it must stop at
/// (a match, the dead state) is its index times that number, with no row: a walk never
/// steps from one. So whether any of three walks must stop is one test of the bits the
/// three states share, `a & b & c & LIVE == 0`.
struct WalkTable {
    /// Byte classes: every byte no needle holds (in either ASCII case) is class 0; the
    /// others get a class per byte, the two cases of a letter sharing one. Bytes of one
    /// class move every state alike: an Aho-Corasick automaton leaves for its start state
    /// on a byte in no needle, whatever state it is in, and an ASCII-case-insensitive one
    /// moves alike on both cases of a letter.
    class: [u8; 256],
    stride: usize,
    /// The rows of the states a walk goes on from.
    trans: Vec<u32>,
    start: u32,
    /// For each special state (by index, `state / stride`): the length of the needle its
    /// first match is, or 0 for the dead state.
    needle_len: Vec<u32>,
    max_needle_len: usize,
}

impl WalkTable {
    fn new(dfa: &DFA, needles: &[Vec<u8>]) -> WalkTable {
        // (folded: lower case)
        let mut in_needle = [false; 256];
        for &b in needles.iter().flatten() {
            in_needle[usize::from(b.to_ascii_lowercase())] = true;
        }
        let free = (0..=255u8).find(|b| !in_needle[usize::from(b.to_ascii_lowercase())]);
        let mut class = [0u8; 256];
        let representative: Vec<u8> = match free {
            Some(free) => {
                let mut representative = vec![free];
                for b in (0..=255u8).filter(|&b| in_needle[usize::from(b)]) {
                    // (at most 231 folded bytes and class 0: a class fits in a byte)
                    let c = representative.len() as u8;
                    class[usize::from(b)] = c;
                    class[usize::from(b.to_ascii_uppercase())] = c;
                    representative.push(b);
                }
                representative
            }
            // no byte is in no needle: a class per byte
            None => {
                for b in 0..=255u8 {
                    class[usize::from(b)] = b;
                }
                (0..=255u8).collect()
            }
        };
        let stride = representative.len();
        // Every state reachable from the unanchored start, in breadth-first order.
        let Ok(start) = dfa.start_state(Anchored::No) else {
            // (an unanchored DFA always has one) a table that reports every byte
            return WalkTable::reporting_everything();
        };
        let mut states: Vec<StateID> = vec![start];
        // (built once per load; the args automaton has ~20k states of ~100 classes: a
        // fast hash, and `next` as u32 (the table is u32 anyway), keep the build short)
        let mut index: HashMap<StateID, u32, foldhash::fast::FixedState> = HashMap::default();
        index.insert(start, 0);
        let mut next: Vec<u32> = Vec::new();
        let mut i = 0;
        while i < states.len() {
            let sid = states[i];
            for &b in &representative {
                let to = dfa.next_state(Anchored::No, sid, b);
                let k = *index.entry(to).or_insert_with(|| {
                    states.push(to);
                    (states.len() - 1) as u32
                });
                next.push(k);
            }
            i += 1;
        }
        // Renumber: special states first (ids from 0), then the others (ids from LIVE).
        let special = |sid: StateID| dfa.is_match(sid) || dfa.is_dead(sid);
        let mut order: Vec<usize> = (0..states.len()).filter(|&k| special(states[k])).collect();
        let special_count = order.len();
        order.extend((0..states.len()).filter(|&k| !special(states[k])));
        let live_count = states.len() - special_count;
        if special(start)
            || live_count.saturating_mul(stride) >= LIVE as usize
            || special_count.saturating_mul(stride) >= LIVE as usize
        {
            // A walk must start from a state it goes on from (the start is special only
            // with an empty needle), and ids must fit below and above LIVE (no needle list
            // Palisade loads comes near): otherwise report every segment, which is always
            // correct, only slower.
            return WalkTable::reporting_everything();
        }
        let mut new_index = vec![0u32; states.len()];
        for (new, &old) in order.iter().enumerate() {
            new_index[old] = match new.checked_sub(special_count) {
                None => (new * stride) as u32,
                Some(live) => LIVE + (live * stride) as u32,
            };
        }
        let mut trans = vec![0u32; live_count * stride];
        for (live, &old) in order[special_count..].iter().enumerate() {
            for c in 0..stride {
                trans[live * stride + c] = new_index[next[old * stride + c] as usize];
            }
        }
        let needle_len = order[..special_count]
            .iter()
            .map(|&old| {
                let sid = states[old];
                if dfa.is_match(sid) {
                    dfa.pattern_len(dfa.match_pattern(sid, 0)) as u32
                } else {
                    0
                }
            })
            .collect();
        WalkTable {
            class,
            stride,
            trans,
            start: new_index[0],
            needle_len,
            max_needle_len: dfa.max_pattern_len(),
        }
    }

    /// A start state that every byte leaves for a special state with a needle of length
    /// 1: every byte is reported as a match in its segment.
    fn reporting_everything() -> WalkTable {
        WalkTable {
            class: [0; 256],
            stride: 1,
            trans: vec![0],
            start: LIVE,
            needle_len: vec![1],
            max_needle_len: 1,
        }
    }

    /// Whether a walk in `state` must stop (a match or the dead state).
    fn is_special(state: u32) -> bool {
        state & LIVE == 0
    }

    /// Three walks in lockstep over `ha`, `hb` and `hc` (equally long) from the states
    /// given, until all bytes are read or a round leaves any walk in a special state;
    /// returns how many rounds ran, the states updated.
    ///
    /// Written over raw pointers, one cursor and two offsets, with the table's arrays and
    /// the states in locals, and not inlined: inside its caller, the iterator version
    /// ran out of registers and reloaded the table's pointers from the stack every round
    /// (34 instructions per round of three bytes; 23 here, 12 of them loads).
    #[inline(never)]
    fn lockstep(
        &self,
        ha: &[u8],
        hb: &[u8],
        hc: &[u8],
        sa: &mut u32,
        sb: &mut u32,
        sc: &mut u32,
    ) -> usize {
        let rounds = ha.len().min(hb.len()).min(hc.len());
        let class: &[u8; 256] = &self.class;
        // (the rows as a state addresses them: LIVE before the first)
        let trans: *const u32 = self.trans.as_ptr().wrapping_sub(LIVE as usize);
        // (states as usize: no zero-extension before each step's index)
        let live = LIVE as usize;
        let (mut a, mut b, mut c) = (*sa as usize, *sb as usize, *sc as usize);
        let start = ha.as_ptr();
        // (offsets between the slices: they lie in one haystack, in any order)
        let to_b = (hb.as_ptr() as isize).wrapping_sub(start as isize);
        let to_c = (hc.as_ptr() as isize).wrapping_sub(start as isize);
        let mut at = start;
        // SAFETY: `at` runs over `ha[..rounds]`, and `at + to_b`, `at + to_c` over
        // `hb[..rounds]`, `hc[..rounds]`: every read is in bounds of its slice. Every
        // `trans` read is in bounds: every state with LIVE set that the table holds
        // (`start`, and entries of `trans`) is LIVE plus a row index times `stride`, the row
        // within `trans`, built so in `new` (and in `reporting_everything`); every class is
        // below `stride`; the walks step only from states with LIVE set (they come in so,
        // and the loop stops once one is not); and the pointer, moved back by LIVE with
        // wrapping arithmetic, is moved forward as far.
        unsafe {
            let end = start.add(rounds);
            while at < end {
                let (x, y, z) = (*at, *at.wrapping_offset(to_b), *at.wrapping_offset(to_c));
                a = *trans.wrapping_add(a + usize::from(class[usize::from(x)])) as usize;
                b = *trans.wrapping_add(b + usize::from(class[usize::from(y)])) as usize;
                c = *trans.wrapping_add(c + usize::from(class[usize::from(z)])) as usize;
                at = at.add(1);
                // (LIVE is missing from the three's common bits when any walk must stop)
                if a & b & c & live == 0 {
                    break;
                }
            }
            // (the states came in as u32, and `trans` holds u32: no truncation)
            (*sa, *sb, *sc) = (a as u32, b as u32, c as u32);
            at.offset_from(start) as usize
        }
    }

    /// One walk over `hay` from `state` until all bytes are read or it enters a special
    /// state; returns how many bytes it read, the state updated. Written and kept out of
    /// line as [`WalkTable::lockstep`] is, for the same reason (the byte-at-a-time loop
    /// in the caller kept the walk in memory: ~10 instructions per byte, 6 here).
    #[inline(never)]
    fn alone(&self, hay: &[u8], state: &mut u32) -> usize {
        let class: &[u8; 256] = &self.class;
        let trans: *const u32 = self.trans.as_ptr().wrapping_sub(LIVE as usize);
        let live = LIVE as usize;
        let mut s = *state as usize;
        let mut read = 0;
        for &x in hay {
            // SAFETY: in bounds as in `lockstep` (the walk comes in, and goes on, only in
            // states with LIVE set).
            s = unsafe { *trans.wrapping_add(s + usize::from(class[usize::from(x)])) } as usize;
            read += 1;
            if s & live == 0 {
                break;
            }
        }
        // (the state came in as u32, and `trans` holds u32: no truncation)
        *state = s as u32;
        read
    }

    /// One step, as [`WalkTable::alone`] and [`WalkTable::lockstep`] take it (unchecked
    /// there): the tests walk the table with it.
    #[cfg(test)]
    fn step(&self, state: u32, byte: u8) -> u32 {
        assert!(
            !WalkTable::is_special(state),
            "a walk never steps from a special state"
        );
        self.trans[(state - LIVE) as usize + usize::from(self.class[usize::from(byte)])]
    }
}

/// The bit of a state id that says a walk goes on from it (see [`WalkTable`]).
const LIVE: u32 = 1 << 31;

/// One walk over `hay[at..end]`.
struct Walk {
    at: usize,
    end: usize,
    state: u32,
}

/// Fills `out`, sorted and without repeats, with the index of every segment in which a
/// needle of `literals` starts (a needle may run past its segment's end: the caller looks
/// inside the segment again), and possibly segments in which none does. `starts[k].0` is
/// where segment k begins (strictly increasing, 0 for the first); it ends where the next
/// one begins, or at `hay.len()`. Once a needle is found in a segment, the walk goes on
/// from the next segment: a segment is reported once, and finding all its needles is the
/// caller's second pass. Every segment holding a needle entirely is reported: that is what
/// the caller relies on.
pub(crate) fn segments_with_needles(
    literals: &LiteralAutomaton,
    hay: &[u8],
    starts: &[(usize, usize)],
    out: &mut Vec<usize>,
) {
    out.clear();
    let table = &literals.walk;
    let segment_of = |pos: usize| starts.partition_point(|&(s, _)| s <= pos).saturating_sub(1);
    let segment_end = |k: usize| starts.get(k + 1).map_or(hay.len(), |&(s, _)| s);
    // Walk i starts at the i-th of WALKS equal parts, and all but the last go on past the
    // next part's start for as many bytes as the longest needle less one: a needle starting
    // in a part is found by that part's walk.
    let overlap = table.max_needle_len.saturating_sub(1);
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
        state: table.start,
    });
    // A walk that entered a special state on the byte before `at`: a match (report its
    // segment, go on at the next segment) or the dead state (not reachable in an
    // unanchored search; go on at the next byte, which can only find more).
    let special = |w: &mut Walk, out: &mut Vec<usize>| {
        let len = table.needle_len[w.state as usize / table.stride] as usize;
        if len > 0 {
            let k = segment_of(w.at.saturating_sub(len));
            out.push(k);
            w.at = segment_end(k);
        }
        w.state = table.start;
    };
    // All walks in lockstep for as many rounds as each has bytes left (the steps of one
    // round depend on nothing of each other); a round in which any walk enters a special
    // state ends the run of rounds, and the next run is counted again. (Written out for
    // three walks: the destructuring below stops compiling if WALKS changes.)
    loop {
        let rounds = walks
            .iter()
            .map(|w| w.end.saturating_sub(w.at))
            .min()
            .unwrap_or(0);
        if rounds == 0 {
            break;
        }
        let [a, b, c] = &mut walks;
        let (mut sa, mut sb, mut sc) = (a.state, b.state, c.state);
        let (ha, hb, hc) = (
            &hay[a.at..a.at + rounds],
            &hay[b.at..b.at + rounds],
            &hay[c.at..c.at + rounds],
        );
        let r = table.lockstep(ha, hb, hc, &mut sa, &mut sb, &mut sc);
        (a.state, b.state, c.state) = (sa, sb, sc);
        a.at += r;
        b.at += r;
        c.at += r;
        for w in walks.iter_mut() {
            if WalkTable::is_special(w.state) {
                special(w, out);
            }
        }
    }
    // What is left of each walk (all of a short haystack's, and the overlaps), one walk
    // at a time.
    for w in walks.iter_mut() {
        while w.at < w.end {
            w.at += table.alone(&hay[w.at..w.end], &mut w.state);
            if WalkTable::is_special(w.state) {
                special(w, out);
            }
        }
    }
    out.sort_unstable();
    out.dedup();
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
            let dfa = LiteralAutomaton::build(&needles).expect("small needle sets build");
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

    /// The walk table moves as the Aho-Corasick DFA it was built from: after every byte of
    /// random text (needle bytes in both cases, and bytes in no needle), the table's state
    /// is special exactly when the DFA's is, and a match names a needle of the same length.
    #[test]
    fn walk_table_steps_as_the_dfa() {
        let mut rng = Rng(0x2545_f491_4f6c_dd1d);
        for round in 0..300 {
            let alphabet: &[u8] = if round % 3 == 0 {
                b"aBc\x00\xff<'"
            } else {
                b"abcXYZ-_ 1"
            };
            let needles: Vec<Vec<u8>> = (0..1 + rng.below(20))
                .map(|_| {
                    (0..1 + rng.below(6))
                        .map(|_| alphabet[rng.below(alphabet.len())])
                        .collect()
                })
                .collect();
            let dfa = DFA::builder()
                .ascii_case_insensitive(true)
                .prefilter(false)
                .build(&needles)
                .expect("builds");
            let Ok(start_sid) = dfa.start_state(Anchored::No) else {
                panic!("an unanchored start state");
            };
            let mut sid = start_sid;
            let table = &WalkTable::new(&dfa, &needles);
            let mut state = table.start;
            for _ in 0..2000 {
                let byte = match rng.below(4) {
                    0 => rng.below(256) as u8,
                    1 => alphabet[rng.below(alphabet.len())].to_ascii_uppercase(),
                    _ => alphabet[rng.below(alphabet.len())],
                };
                sid = dfa.next_state(Anchored::No, sid, byte);
                state = table.step(state, byte);
                let dfa_special = dfa.is_match(sid) || dfa.is_dead(sid);
                assert_eq!(WalkTable::is_special(state), dfa_special, "round {round}");
                if dfa.is_match(sid) {
                    let want = dfa.pattern_len(dfa.match_pattern(sid, 0));
                    let got = table.needle_len[state as usize / table.stride] as usize;
                    assert_eq!(got, want, "round {round}");
                }
                // a walk stops at a special state and starts again, as the scan does
                if dfa_special {
                    (sid, state) = (start_sid, table.start);
                }
            }
        }
        // every byte in some needle: a class per byte, still the same steps
        let all: Vec<Vec<u8>> = (0..=255u8).map(|b| vec![b, b]).collect();
        let lit = LiteralAutomaton::build(&all).expect("builds");
        assert_eq!(lit.walk.stride, 256);
        let (hay, starts) = joined(&[b"xyz".to_vec(), b"q\xfe\xfe".to_vec()]);
        let mut found = Vec::new();
        segments_with_needles(&lit, &hay, &starts, &mut found);
        assert_eq!(found, vec![1]);
    }

    /// The fallback table (ids that would not fit) reports every segment, long or short.
    #[test]
    fn the_fallback_table_reports_every_segment() {
        let mut lit = LiteralAutomaton::build(&[b"zzz".to_vec()]).expect("builds");
        lit.walk = WalkTable::reporting_everything();
        let values: Vec<Vec<u8>> = (0..40).map(|i| vec![b'a'; i * 7]).collect();
        let (hay, starts) = joined(&values);
        let mut found = Vec::new();
        segments_with_needles(&lit, &hay, &starts, &mut found);
        assert_eq!(found, (0..values.len()).collect::<Vec<_>>());
    }

    #[test]
    fn a_needle_across_a_part_boundary_is_found() {
        // One long value holding one needle as long as the longest of a set, at every
        // offset around the boundaries between the walks' parts; the set's other needle
        // (a single byte that does not occur) only sets the overlap.
        let needle: Vec<u8> = (0..45).map(|i| b"<script>alert(1)"[i % 16]).collect();
        let needles = vec![needle.clone(), b"#".to_vec()];
        let dfa = LiteralAutomaton::build(&needles).expect("builds");
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
