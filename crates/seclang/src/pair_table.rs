//! A bounded table of two places per hash: what the engine's memos across requests (the
//! scan memo, the head memo) keep their entries in.

/// Two places per hash (a pair: the even place and the one after it), the newer entry
/// first. A new entry replaces the older of its pair, so entries that never repeat evict a
/// few others instead of filling the table, and two entries whose hashes meet are both kept
/// (with one place per hash, two header lines or two rules' inputs of every request put
/// each other out each time). `PLACES` is a power of two; the table is allocated with its
/// first entry.
pub(crate) struct PairTable<E, const PLACES: usize> {
    entries: Vec<Option<(u64, E)>>,
}

impl<E, const PLACES: usize> Default for PairTable<E, PLACES> {
    fn default() -> Self {
        PairTable {
            entries: Vec::new(),
        }
    }
}

impl<E, const PLACES: usize> PairTable<E, PLACES> {
    /// The first place of the pair of `hash` (see [`crate::fxhash::place`]).
    pub fn pair_of(hash: u64) -> usize {
        crate::fxhash::place(hash, PLACES) & !1
    }

    /// The entry kept under `hash` that `is` accepts, if any.
    pub fn find(&self, hash: u64, is: impl Fn(&E) -> bool) -> Option<&E> {
        let at = Self::pair_of(hash);
        [at, at + 1]
            .into_iter()
            .find_map(|p| match self.entries.get(p)? {
                Some((h, e)) if *h == hash && is(e) => Some(e),
                _ => None,
            })
    }

    /// Keeps `entry` under `hash`, first in its pair: it replaces the first place when that
    /// is empty or holds an entry of `hash` that `same` accepts; otherwise the first moves
    /// second, over the older.
    pub fn put(&mut self, hash: u64, entry: E, same: impl Fn(&E) -> bool) {
        if self.entries.is_empty() {
            self.entries.resize_with(PLACES, || None);
        }
        let at = Self::pair_of(hash);
        let replaces_first = self
            .entries
            .get(at)
            .is_some_and(|e| e.as_ref().is_none_or(|(h, e)| *h == hash && same(e)));
        if !replaces_first && at + 1 < self.entries.len() {
            self.entries.swap(at, at + 1);
        }
        if let Some(place) = self.entries.get_mut(at) {
            *place = Some((hash, entry));
        }
    }

    /// The entries kept (for tests).
    #[cfg(test)]
    pub fn entries(&self) -> impl Iterator<Item = &E> {
        self.entries.iter().flatten().map(|(_, e)| e)
    }
}
