//! Remembering, across requests, what a live rule did on a request head seen before.
//!
//! CRS's protocol rules (920160-920660, 911100, 901340) run on every request: they read the
//! method, the protocol, `REQBODY_PROCESSOR`, the header names or a named header, and
//! settings in TX, and most are negated or counting operators that no prefilter can rule
//! out. Clients send the same heads again and again, so a GET spent about a fifth of its
//! CRS cost finding again that they do not match (920450 alone, which captures every
//! header name into TX and compares them with the restricted list, a tenth).
//!
//! The folding plan (see [`super::fold`]) marks the live rules whose outcome is a function
//! of such request-head inputs and of TX keys no live rule can have written: their inputs
//! ([`HeadInput`]). When such a rule does not match, what it did (the TX writes of chain
//! links that hit before a later one failed, and MATCHED_VARS) is kept per worker thread,
//! keyed by the exact bytes of its inputs (a table of two places per hash, bounded), and
//! a later request with the same inputs replays it. A match is never kept (it is rare, and its
//! effects may read tainted TX such as the anomaly scores): it is evaluated. The plan holds
//! only while the transaction follows it, and a `ctl` that removes one of the rule's
//! targets changes what it reads: the table is not used then (see
//! `Transaction::eval_chain_remembered`).

use crate::pair_table::PairTable;

/// One request-head input of a remembered rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum HeadInput {
    Method,
    Protocol,
    /// `REQBODY_PROCESSOR` (set from the content type, or by a `ctl`).
    BodyProcessor,
    /// Every header's name, in order (`REQUEST_HEADERS_NAMES`).
    HeaderNames,
    /// The headers of one name (lower-case), names and values in order
    /// (`REQUEST_HEADERS:Content-Length`, `&REQUEST_HEADERS:Host`). Never a credential
    /// header: those values are secrets, and differ per user.
    Header(String),
}

/// What a rule that did not match did: its TX writes in order (None: a removal) and the
/// MATCHED_VARS it left (its links that hit; the last is MATCHED_VAR).
#[derive(Debug, Default)]
pub(crate) struct Outcome {
    pub writes: Vec<(String, Option<Vec<u8>>)>,
    pub matched_vars: Vec<(String, Vec<u8>)>,
}

impl Outcome {
    /// The outcome of TX writes `log` (in order) and MATCHED_VARS `matched_vars`, with only
    /// the last write of each key kept: replaying it leaves the same TX (920450 writes
    /// TX:0-9 once per header; the last header's are what remains).
    pub fn new(log: Vec<(String, Option<Vec<u8>>)>, matched_vars: Vec<(String, Vec<u8>)>) -> Self {
        let mut seen = std::collections::HashSet::new();
        let mut writes: Vec<_> = log
            .into_iter()
            .rev()
            .filter(|(k, _)| seen.insert(k.clone()))
            .collect();
        writes.reverse();
        Outcome {
            writes,
            matched_vars,
        }
    }
}

/// Inputs longer than this (many or long headers) are not remembered.
pub(crate) const MAX_KEY_LEN: usize = 1024;

/// Places per thread (a power of two), two per hash ([`PairTable`]): a new outcome
/// replaces the older of its pair, so inputs that never repeat (a POST's
/// `Content-Length`, an attacker's made-up headers) evict a few others instead of filling
/// the table, and its memory stays bounded (keys ≤ 1 KB, outcomes of the same order); two
/// rules whose keys met are both kept (with one place per hash they put each other out on
/// every request, and both were evaluated every time).
const ENTRIES: usize = 1024;

struct Entry {
    key: Box<[u8]>,
    outcome: Outcome,
}

type Table = PairTable<Entry, ENTRIES>;

/// One thread's table, keyed by (phase, entry index, input bytes).
#[derive(Default)]
pub(crate) struct HeadMemo {
    entries: Table,
}

impl HeadMemo {
    pub fn get(&self, key: &[u8]) -> Option<&Outcome> {
        let h = crate::fxhash::hash_bytes(key);
        self.entries.find(h, |e| *e.key == *key).map(|e| &e.outcome)
    }

    pub fn put(&mut self, key: Vec<u8>, outcome: Outcome) {
        if key.len() > MAX_KEY_LEN {
            return;
        }
        let h = crate::fxhash::hash_bytes(&key);
        let entry = Entry {
            key: key.into_boxed_slice(),
            outcome,
        };
        // (a key of the same hash is taken for the same key: it replaces the first place)
        self.entries.put(h, entry, |_| true);
    }

    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.entries.entries().count()
    }
}

/// The tables of one folding plan, one per thread that runs transactions with it.
pub(crate) type HeadMemos = crate::per_thread::PerThread<HeadMemo>;

/// Appends `bytes` to a key with its length first, so that two inputs never run together.
pub(crate) fn push_field(key: &mut Vec<u8>, bytes: &[u8]) {
    key.extend_from_slice(&(bytes.len() as u32).to_le_bytes());
    key.extend_from_slice(bytes);
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Two keys of one pair of places are both kept (the rules loaded before CRS moved two
    /// of its protocol rules' keys into one place: each put the other out, and both were
    /// evaluated on every request); a third evicts the older.
    #[test]
    fn keys_sharing_a_place_are_both_kept() {
        let key = |n: u32| n.to_le_bytes().to_vec();
        let pair = |n: u32| Table::pair_of(crate::fxhash::hash_bytes(&key(n)));
        let sharing: Vec<u32> = (1..).filter(|&n| pair(n) == pair(0)).take(2).collect();
        let (a, b, c) = (key(0), key(sharing[0]), key(sharing[1]));
        let outcome = |k: &str| Outcome::new(vec![(k.to_string(), None)], Vec::new());
        let mut memo = HeadMemo::default();
        memo.put(a.clone(), outcome("a"));
        memo.put(b.clone(), outcome("b"));
        let written = |o: Option<&Outcome>| o.map(|o| o.writes[0].0.clone());
        assert_eq!(written(memo.get(&a)).as_deref(), Some("a"));
        assert_eq!(written(memo.get(&b)).as_deref(), Some("b"));
        memo.put(c.clone(), outcome("c"));
        assert!(memo.get(&a).is_none(), "the oldest goes");
        assert_eq!(written(memo.get(&b)).as_deref(), Some("b"));
        assert_eq!(written(memo.get(&c)).as_deref(), Some("c"));
        assert_eq!(memo.len(), 2);
    }

    #[test]
    fn fields_are_delimited_by_their_lengths() {
        let (mut a, mut b) = (Vec::new(), Vec::new());
        push_field(&mut a, b"ab");
        push_field(&mut a, b"c");
        push_field(&mut b, b"a");
        push_field(&mut b, b"bc");
        assert_ne!(a, b);
    }

    #[test]
    fn only_the_last_write_of_a_key_is_kept_in_order() {
        let w = |k: &str, v: Option<&str>| (k.to_string(), v.map(|v| v.as_bytes().to_vec()));
        let o = Outcome::new(
            vec![
                w("0", Some("host")),
                w("a", Some("1")),
                w("0", Some("accept")),
                w("1", None),
            ],
            Vec::new(),
        );
        assert_eq!(
            o.writes,
            [w("a", Some("1")), w("0", Some("accept")), w("1", None)]
        );
    }

    #[test]
    fn the_table_stays_bounded_keeps_recent_keys_and_drops_long_ones() {
        let mut m = HeadMemo::default();
        for i in 0..(4 * ENTRIES) as u32 {
            m.put(i.to_le_bytes().to_vec(), Outcome::default());
        }
        assert!(m.len() <= ENTRIES);
        // the last key put is found; a key never put is not
        assert!(m.get(&(4 * ENTRIES as u32 - 1).to_le_bytes()).is_some());
        assert!(m.get(b"never").is_none());
        m.put(vec![0; MAX_KEY_LEN + 1], Outcome::default());
        assert!(m.get(&vec![0; MAX_KEY_LEN + 1]).is_none());
    }
}
