//! A literal automaton's DFA in a layout made for scanning benign text.
//!
//! The Aho-Corasick crate's DFA is correct and general, but its table is large for what the
//! prefilter walks: CRS's 1,453 plain literals made 5.6 MB of transitions, more than the
//! L2 cache, and a request's other work evicts it between scans, so prose paid a cache
//! miss every few bytes (~4 cycles a byte in place against ~1.3 with the table cached).
//! This is the same automaton, copied into a denser table:
//!
//! - byte classes from the literals themselves: the bytes no literal holds are one class,
//!   each other byte (ASCII case folded) one class, so a row is as wide as the literals'
//!   alphabet (CRS plain literals: 44 classes);
//! - states in breadth-first order, so the shallow states benign text stays in are
//!   adjacent, with the match states after all others (a match is one comparison);
//! - transitions as premultiplied row offsets: a step is one load and one add.
//!
//! CRS at PL1: plain literals 5.6 → 1.9 MB, the prefix DFA of all 3,301 literals 2.4 →
//! 1.2 MB, the request body's 0.51 → 0.16 MB.

use aho_corasick::automaton::Automaton;
use aho_corasick::Anchored;

use crate::prefilter::StartBytes;

/// See the module documentation.
#[derive(Debug)]
pub struct DenseDfa {
    /// `[row + class]`: the row offset (state index × `stride`) of the next state.
    trans: Box<[u32]>,
    /// Each byte's class.
    classes: [u8; 256],
    stride: usize,
    /// The start state's row offset.
    start: u32,
    /// Rows at or past this offset are match states.
    first_match: u32,
    /// Per match state, in row order: its range of `patterns`.
    matches: Box<[(u32, u32)]>,
    /// The patterns of every match state, end to end.
    patterns: Box<[u32]>,
    max_pattern_len: usize,
    /// The bytes that leave the start state, when there are at most three (see
    /// [`DenseDfa::walk`]).
    start_bytes: StartBytes,
}

/// Values at least this long are walked in [`LANES`] pieces side by side.
pub const LANES_FROM: usize = 128;
/// How many pieces a long value is walked in.
const LANES: usize = 4;

impl DenseDfa {
    /// The DFA of `literals`, ASCII case ignored, reporting every occurrence. None when a
    /// literal is empty (it would match before every byte) or the set is empty.
    pub fn build<L: AsRef<[u8]>>(literals: &[L]) -> Option<DenseDfa> {
        if literals.is_empty() || literals.iter().any(|l| l.as_ref().is_empty()) {
            return None;
        }
        let mut classes = [0u8; 256];
        let mut representative = vec![0u8];
        for l in literals {
            for &b in l.as_ref() {
                let b = b.to_ascii_lowercase();
                if classes[usize::from(b)] == 0 {
                    let class = u8::try_from(representative.len()).ok()?;
                    classes[usize::from(b)] = class;
                    classes[usize::from(b.to_ascii_uppercase())] = class;
                    representative.push(b);
                }
            }
        }
        // (class 0, the bytes of no literal: its representative must be such a byte)
        representative[0] = (0..=255u8).find(|&b| classes[usize::from(b)] == 0)?;
        let stride = representative.len();
        let ac = aho_corasick::dfa::Builder::new()
            .ascii_case_insensitive(true)
            .prefilter(false)
            .build(literals)
            .ok()?;
        let ac_start = ac.start_state(Anchored::No).ok()?;
        // breadth-first from the start state; `row_of`, by the crate's state id: the
        // state's place in `order`, then its row offset (NONE: not reached yet)
        const NONE: u32 = u32::MAX;
        let mut row_of: Vec<u32> = Vec::new();
        let place = |row_of: &mut Vec<u32>, sid: aho_corasick::automaton::StateID, at| {
            if row_of.len() <= sid.as_usize() {
                row_of.resize(sid.as_usize() + 1, NONE);
            }
            let fresh = row_of[sid.as_usize()] == NONE;
            if fresh {
                row_of[sid.as_usize()] = at;
            }
            fresh
        };
        let mut order = vec![ac_start];
        place(&mut row_of, ac_start, 0);
        let mut next = 0;
        while next < order.len() {
            let sid = order[next];
            next += 1;
            for &b in &representative {
                let to = ac.next_state(Anchored::No, sid, b);
                if place(&mut row_of, to, u32::try_from(order.len()).ok()?) {
                    order.push(to);
                }
            }
        }
        if order.iter().any(|&sid| ac.is_dead(sid)) {
            return None;
        }
        // non-match states first, then match states, each in breadth-first order
        let (mut rows, matching): (Vec<_>, Vec<_>) =
            order.iter().copied().partition(|&sid| !ac.is_match(sid));
        let first_match = u32::try_from(rows.len() * stride).ok()?;
        rows.extend(matching);
        for (i, &sid) in rows.iter().enumerate() {
            row_of[sid.as_usize()] = u32::try_from(i * stride).ok()?;
        }
        let mut trans = vec![0u32; rows.len() * stride];
        let (mut matches, mut patterns) = (Vec::new(), Vec::new());
        for (i, &sid) in rows.iter().enumerate() {
            for (class, &b) in representative.iter().enumerate() {
                trans[i * stride + class] = row_of[ac.next_state(Anchored::No, sid, b).as_usize()];
            }
            if ac.is_match(sid) {
                let from = u32::try_from(patterns.len()).ok()?;
                for k in 0..ac.match_len(sid) {
                    patterns.push(ac.match_pattern(sid, k).as_u32());
                }
                matches.push((from, u32::try_from(patterns.len()).ok()?));
            }
        }
        let start = row_of[ac_start.as_usize()];
        let start_bytes =
            StartBytes::leaving((0..=255u8).filter(|&b| {
                trans[start as usize + usize::from(classes[usize::from(b)])] != start
            }));
        Some(DenseDfa {
            trans: trans.into(),
            classes,
            stride,
            start,
            first_match,
            matches: matches.into(),
            patterns: patterns.into(),
            max_pattern_len: ac.max_pattern_len(),
            start_bytes,
        })
    }

    pub fn memory_usage(&self) -> usize {
        self.trans.len() * 4 + self.matches.len() * 8 + self.patterns.len() * 4 + 256
    }

    #[inline(always)]
    fn step(&self, row: u32, byte: u8) -> u32 {
        step(&self.trans, &self.classes, row, byte)
    }

    /// Calls `on_match(pattern, end)` for every occurrence of a pattern in `bytes`, `end`
    /// the position after its last byte. Occurrences come in order of their ends, except
    /// in a long value, walked in pieces side by side.
    #[inline]
    pub fn walk(&self, bytes: &[u8], mut on_match: impl FnMut(usize, usize)) {
        let mut report = |row: u32, end: usize| {
            let m = ((row - self.first_match) as usize) / self.stride;
            if let Some(&(from, to)) = self.matches.get(m) {
                for &p in &self.patterns[from as usize..to as usize] {
                    on_match(p as usize, end);
                }
            }
        };
        if self.start_bytes.skips() {
            // in the start state, skip to the next byte that leaves it
            let (mut row, mut at) = (self.start, 0);
            while at < bytes.len() {
                if row == self.start {
                    match self.start_bytes.next_in(&bytes[at..]) {
                        Some(k) => at += k,
                        None => return,
                    }
                }
                row = self.step(row, bytes[at]);
                at += 1;
                if row >= self.first_match {
                    report(row, at);
                }
            }
            return;
        }
        if bytes.len() >= LANES_FROM {
            return self.walk_lanes(bytes, report);
        }
        let mut row = self.start;
        for (at, &b) in bytes.iter().enumerate() {
            row = self.step(row, b);
            if row >= self.first_match {
                report(row, at + 1);
            }
        }
    }

    /// [`DenseDfa::walk`] over a long value, in [`LANES`] pieces walked side by side: one
    /// walk waits on each transition's load, four keep four loads in flight. A piece's walk
    /// starts from the start state the longest pattern's length less one before the
    /// piece, so that it is in the right state at the piece's first byte (a state stands
    /// for the text's last bytes, as many as the longest pattern), and reports only the
    /// matches ending inside its piece.
    #[inline(always)]
    fn walk_lanes(&self, bytes: &[u8], mut report: impl FnMut(u32, usize)) {
        let n = bytes.len();
        let overlap = self.max_pattern_len.saturating_sub(1);
        let piece = n.div_ceil(LANES);
        // per lane: where its walk begins, the first end it reports, the end of its piece
        let begin: [usize; LANES] =
            std::array::from_fn(|l| (l * piece).min(n).saturating_sub(overlap));
        let reports_from: [usize; LANES] = std::array::from_fn(|l| (l * piece).min(n) + 1);
        let end: [usize; LANES] = std::array::from_fn(|l| ((l + 1) * piece).min(n));
        let together = (0..LANES).map(|l| end[l] - begin[l]).min().unwrap_or(0);
        // (slices of one length: no bounds check per byte)
        let lane_bytes: [&[u8]; LANES] =
            std::array::from_fn(|l| &bytes[begin[l]..begin[l] + together]);
        let mut row = [self.start; LANES];
        // (the loop's constants in locals: through `self` they were reloaded from the
        // stack at every step)
        let (trans, classes, first_match) = (&*self.trans, &self.classes, self.first_match);
        for i in 0..together {
            for (lane, piece) in lane_bytes.iter().enumerate() {
                row[lane] = step(trans, classes, row[lane], piece[i]);
                if row[lane] >= first_match {
                    let at = begin[lane] + i + 1;
                    if at >= reports_from[lane] {
                        report(row[lane], at);
                    }
                }
            }
        }
        // (the pieces' rests: the first and last pieces are shorter than the others by the
        // overlap and the division's remainder)
        for lane in 0..LANES {
            let mut r = row[lane];
            for (k, &b) in bytes
                .iter()
                .enumerate()
                .take(end[lane])
                .skip(begin[lane] + together)
            {
                r = self.step(r, b);
                if r >= self.first_match && k + 1 >= reports_from[lane] {
                    report(r, k + 1);
                }
            }
        }
    }
}

/// One transition: the next state's row offset.
#[inline(always)]
fn step(trans: &[u32], classes: &[u8; 256], row: u32, byte: u8) -> u32 {
    let at = row as usize + usize::from(classes[usize::from(byte)]);
    debug_assert!(at < trans.len());
    // SAFETY: `row` is a row offset taken from `trans` or the start row, each a multiple
    // of the stride below `trans.len()` (`DenseDfa::build` stores nothing else), and every
    // class is below the stride, so `at` is inside the table.
    unsafe { *trans.get_unchecked(at) }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every occurrence, case ignored, with bytes of no literal around (class 0) and
    /// overlapping literals; and a table a fraction of the Aho-Corasick DFA's size.
    #[test]
    fn finds_what_the_literals_spell_in_a_narrow_table() {
        let literals: Vec<String> = (0..400)
            .map(|i| format!("w{}rd{}", i % 7, i * 7919 % 1000))
            .chain(["ab".into(), "bab".into(), "\u{e9}t\u{e9}".into()])
            .collect();
        let dfa = DenseDfa::build(&literals).expect("non-empty literals");
        let text = format!(
            "xx{} babab \u{c9}T\u{e9}\u{e9}t\u{e9} {}{} \u{ff}w0rd0",
            literals[17].to_uppercase(),
            literals[250],
            literals[3].to_uppercase()
        )
        .repeat(9);
        let mut found = vec![0usize; literals.len()];
        dfa.walk(text.as_bytes(), |p, end| {
            assert!(text.as_bytes()[..end].len() >= literals[p].len());
            found[p] += 1;
        });
        for (p, l) in literals.iter().enumerate() {
            let expected = text
                .as_bytes()
                .windows(l.len())
                .filter(|w| w.eq_ignore_ascii_case(l.as_bytes()))
                .count();
            assert_eq!(found[p], expected, "{l:?}");
        }
        assert!(found[17] == 9 && found[3] == 9 && found[250] == 9);
        let ac = aho_corasick::dfa::Builder::new()
            .ascii_case_insensitive(true)
            .prefilter(false)
            .build(&literals)
            .expect("small set");
        assert!(dfa.memory_usage() * 2 < ac.memory_usage());
        assert!(DenseDfa::build(&["a", ""]).is_none());
    }
}
