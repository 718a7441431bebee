//! A small, fast, non-cryptographic hasher for the engine's per-request tables (keys are
//! addresses, lengths, state ids and short values chosen by the rule set or the request;
//! the tables are per transaction, so hash flooding costs only that request its time).
//! It is the multiply-rotate scheme of rustc's `FxHasher`.

use std::hash::{BuildHasherDefault, Hasher};

#[derive(Default, Clone, Copy)]
pub struct FxHasher {
    hash: u64,
}

const SEED: u64 = 0x51_7c_c1_b7_27_22_0a_95;

impl FxHasher {
    #[inline]
    fn add(&mut self, word: u64) {
        self.hash = (self.hash.rotate_left(5) ^ word).wrapping_mul(SEED);
    }
}

impl Hasher for FxHasher {
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            let mut w = [0u8; 8];
            w.copy_from_slice(c);
            self.add(u64::from_le_bytes(w));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            // (read as a word from registers: see `le_word`)
            self.add(palisade_http::small::le_word(rest) ^ ((rest.len() as u64) << 59));
        }
    }

    #[inline]
    fn write_u8(&mut self, i: u8) {
        self.add(u64::from(i));
    }

    #[inline]
    fn write_u32(&mut self, i: u32) {
        self.add(u64::from(i));
    }

    #[inline]
    fn write_u64(&mut self, i: u64) {
        self.add(i);
    }

    #[inline]
    fn write_usize(&mut self, i: usize) {
        self.add(i as u64);
    }

    #[inline]
    fn finish(&self) -> u64 {
        self.hash
    }
}

pub type FxBuild = BuildHasherDefault<FxHasher>;
pub type FxHashMap<K, V> = std::collections::HashMap<K, V, FxBuild>;
pub type FxHashSet<K> = std::collections::HashSet<K, FxBuild>;

/// The place of a key with Fx hash `hash` in a direct-mapped table of `places` places (a
/// power of two): the hash's top bits. The hash ends with a multiplication, so its low
/// bits (`hash % places`) depend on the low bits of the key's last word alone: in the
/// per-thread memos, `Host` and two argument names of the form scenario fell in other
/// values' places on every request and were scanned again (~7k instructions each).
#[inline]
pub fn place(hash: u64, places: usize) -> usize {
    debug_assert!(places.is_power_of_two() && places > 1);
    (hash >> (64 - places.trailing_zeros())) as usize
}

/// A hash of a byte string for the per-request value index and the per-thread memos (not
/// the one an [`FxHashMap`] keyed by the bytes computes). Up to 32 bytes it is the Fx hash;
/// a longer string is read 32 bytes at a time into four independent Fx lanes, folded
/// together at the end: one lane's multiply-rotate chain read ~1.6 bytes a cycle, and
/// hashing a 2 KB form's body, message and their copies was a fifth of the prefilter scan's
/// own samples (perf, `compute_candidates`).
#[inline]
pub fn hash_bytes(bytes: &[u8]) -> u64 {
    if bytes.len() <= 32 {
        return std::hash::BuildHasher::hash_one(&FxBuild::default(), bytes);
    }
    let mut lanes = [FxHasher::default(); 4];
    let mut blocks = bytes.chunks_exact(32);
    for block in &mut blocks {
        // (eight bytes each: `write` adds them as one word)
        for (lane, word) in lanes.iter_mut().zip(block.chunks_exact(8)) {
            lane.write(word);
        }
    }
    let mut h = FxHasher::default();
    h.add(bytes.len() as u64);
    for lane in lanes {
        h.add(lane.hash);
    }
    h.write(blocks.remainder());
    h.hash
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::hash::{BuildHasher, Hash};

    fn h<T: Hash>(v: T) -> u64 {
        FxBuild::default().hash_one(v)
    }

    /// Long strings go through the four lanes: every byte and the length still count,
    /// and a word moved to another lane or block changes the hash.
    #[test]
    fn long_strings_hash_every_byte_and_position() {
        let base: Vec<u8> = (0..100u8).collect();
        let h0 = hash_bytes(&base);
        assert_eq!(h0, hash_bytes(&base.clone()));
        for i in [0, 7, 8, 31, 32, 63, 64, 95, 96, 99] {
            let mut v = base.clone();
            v[i] ^= 1;
            assert_ne!(hash_bytes(&v), h0, "byte {i}");
        }
        // the same words in another order (lanes swapped, blocks swapped)
        let mut swapped = base.clone();
        swapped[0..8].copy_from_slice(&base[8..16]);
        swapped[8..16].copy_from_slice(&base[0..8]);
        assert_ne!(hash_bytes(&swapped), h0);
        let mut blocks = base.clone();
        blocks[0..32].copy_from_slice(&base[32..64]);
        blocks[32..64].copy_from_slice(&base[0..32]);
        assert_ne!(hash_bytes(&blocks), h0);
        // a trailing zero byte, and lengths on either side of the lanes' threshold
        let mut longer = base.clone();
        longer.push(0);
        assert_ne!(hash_bytes(&longer), h0);
        let distinct: std::collections::HashSet<u64> =
            (30..40).map(|n| hash_bytes(&vec![0u8; n])).collect();
        assert_eq!(distinct.len(), 10);
    }

    #[test]
    fn distinguishes_lengths_and_contents() {
        assert_ne!(h(&b"a"[..]), h(&b"a\0"[..]));
        assert_ne!(h(&b"abcdefgh"[..]), h(&b"abcdefgi"[..]));
        assert_ne!(h((1usize, 2usize)), h((2usize, 1usize)));
        let mut m: FxHashMap<Vec<u8>, u32> = Default::default();
        for i in 0..1000u32 {
            m.insert(i.to_string().into_bytes(), i);
        }
        assert_eq!(m.len(), 1000);
        assert_eq!(m.get(&b"517"[..]), Some(&517));
    }
}
