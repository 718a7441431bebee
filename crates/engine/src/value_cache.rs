//! A bounded, shared memory of per-value detector results across requests.
//!
//! Browsers send the same `User-Agent`, `Accept`, `Accept-Language` and `Accept-Encoding`
//! lines on every request, and transforming, scanning and scoring them is a large part of
//! the work for a small GET. A detector whose result for a value depends only on the value's
//! bytes (and on settings it puts in the key) can remember it here. Each detector owns its
//! cache, so a reload (a new detector) starts empty.
//!
//! Keys are compared by their full bytes (the hash only picks a shard and a bucket) and
//! hashed once per lookup with a per-process random seed (foldhash), so request data can
//! neither collide entries on purpose nor grow a bucket beyond the shard's bound.
//! Memory is bounded: each shard holds at most `SHARD_CAPACITY` keys of at most
//! [`MAX_KEY_LEN`] bytes and is emptied when full.

use std::hash::BuildHasher;
use std::sync::{Mutex, MutexGuard};

use hashbrown::HashTable;

/// Longer keys are rarely repeated byte for byte and cost more memory than they save.
pub const MAX_KEY_LEN: usize = 520;
const SHARDS: usize = 16;
const SHARD_CAPACITY: usize = 512;

/// One lock's worth of remembered results, with each key's hash.
type Shard<V> = HashTable<(u64, Box<[u8]>, V)>;

pub struct ValueCache<V> {
    hasher: foldhash::fast::RandomState,
    shards: Vec<Mutex<Shard<V>>>,
}

impl<V: Copy> Default for ValueCache<V> {
    fn default() -> Self {
        ValueCache {
            shards: (0..SHARDS).map(|_| Mutex::new(HashTable::new())).collect(),
            hasher: foldhash::fast::RandomState::default(),
        }
    }
}

impl<V: Copy> ValueCache<V> {
    /// The key's hash and its shard (picked by the high bits; the table uses the low ones).
    fn shard(&self, key: &[u8]) -> (u64, MutexGuard<'_, Shard<V>>) {
        let h = self.hasher.hash_one(key);
        // A poisoned lock only means another thread panicked mid-insert; the table is still
        // a valid table of remembered results.
        let shard = self.shards[(h >> 60) as usize % SHARDS]
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        (h, shard)
    }

    /// The remembered result for `key`.
    pub fn get(&self, key: &[u8]) -> Option<V> {
        if key.len() > MAX_KEY_LEN {
            return None;
        }
        let (h, shard) = self.shard(key);
        shard
            .find(h, |(eh, k, _)| *eh == h && **k == *key)
            .map(|(_, _, v)| *v)
    }

    /// Remembers `value` for `key` (keys longer than [`MAX_KEY_LEN`] are not kept).
    pub fn insert(&self, key: &[u8], value: V) {
        if key.len() > MAX_KEY_LEN {
            return;
        }
        let (h, mut shard) = self.shard(key);
        if let Some(entry) = shard.find_mut(h, |(eh, k, _)| *eh == h && **k == *key) {
            entry.2 = value;
            return;
        }
        if shard.len() >= SHARD_CAPACITY {
            shard.clear();
        }
        shard.insert_unique(h, (h, Box::from(key), value), |(eh, _, _)| *eh);
    }

    /// Number of remembered keys (for tests and stats).
    pub fn len(&self) -> usize {
        self.shards
            .iter()
            .map(|s| s.lock().map_or(0, |s| s.len()))
            .sum()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remembers_by_full_bytes() {
        let cache = ValueCache::<f32>::default();
        cache.insert(b"Mozilla/5.0", 0.25);
        assert_eq!(cache.get(b"Mozilla/5.0"), Some(0.25));
        assert_eq!(cache.get(b"Mozilla/5.1"), None);
        assert_eq!(cache.get(b"Mozilla/5.0 "), None);
        let long = vec![b'a'; MAX_KEY_LEN + 1];
        cache.insert(&long, 1.0);
        assert_eq!(cache.get(&long), None);
    }

    #[test]
    fn stays_bounded() {
        let cache = ValueCache::<u8>::default();
        let n = SHARDS * SHARD_CAPACITY * 4;
        for i in 0..n {
            cache.insert(format!("value-{i}").as_bytes(), 1);
        }
        assert!(cache.len() <= SHARDS * SHARD_CAPACITY);
        let last = format!("value-{}", n - 1);
        assert_eq!(cache.get(last.as_bytes()), Some(1));
    }
}
