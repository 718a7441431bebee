//! Byte classes over sixteen bytes at a time (SSE2, every x86-64): the comparisons the
//! vectorized "is this value plain" checks share (here and in the classifier's prose
//! check). Each returns a vector of 0xff where the byte is in the class, 0 elsewhere.
//! [`nibbles`]: the same checks' classes 32 bytes at a time, by table lookups (AVX2).

use std::arch::x86_64::{
    __m128i, _mm_and_si128, _mm_cmpeq_epi8, _mm_cmpgt_epi8, _mm_or_si128, _mm_set1_epi8,
};

/// `b` in every lane.
///
/// # Safety
/// Needs SSE2, which every x86-64 processor has (callers are SSE2 functions).
#[inline]
#[target_feature(enable = "sse2")]
pub fn splat(b: u8) -> __m128i {
    _mm_set1_epi8(b as i8)
}

/// The bytes of `v` equal to `b`.
///
/// # Safety
/// Needs SSE2, which every x86-64 processor has (callers are SSE2 functions).
#[inline]
#[target_feature(enable = "sse2")]
pub fn equal(v: __m128i, b: u8) -> __m128i {
    _mm_cmpeq_epi8(v, splat(b))
}

/// The bytes of `v` in `lo..=hi`, for ASCII bounds (`0 < lo`, `hi < 0x7f`): comparisons
/// are signed, so bytes from 0x80 up are negative, below every such bound.
///
/// # Safety
/// Needs SSE2, which every x86-64 processor has (callers are SSE2 functions).
#[inline]
#[target_feature(enable = "sse2")]
pub fn within(v: __m128i, lo: u8, hi: u8) -> __m128i {
    _mm_and_si128(
        _mm_cmpgt_epi8(v, splat(lo - 1)),
        _mm_cmpgt_epi8(splat(hi + 1), v),
    )
}

/// The ASCII letters of `v`, either case.
///
/// # Safety
/// Needs SSE2, which every x86-64 processor has (callers are SSE2 functions).
#[inline]
#[target_feature(enable = "sse2")]
pub fn letter(v: __m128i) -> __m128i {
    within(_mm_or_si128(v, splat(0x20)), b'a', b'z')
}

/// Byte classes over 32 bytes at a time (AVX2, where the processor has it), each byte
/// classed by two table lookups (`vpshufb` on its low and its high four bits): the plain
/// check here and the classifier's prose check.
///
/// A class is a *rectangle*: a set of high halves times a set of low halves (`a-o` is high
/// 6 × low 1..=0xf). A byte's class bits are `LOW[b & 15] & HIGH[b >> 4]`, one bit per
/// rectangle; a set of bytes that is no rectangle takes several bits.
pub mod nibbles {
    use std::arch::x86_64::{
        __m256i, _mm256_and_si256, _mm256_broadcastsi128_si256, _mm256_loadu_si256,
        _mm256_set1_epi8, _mm256_shuffle_epi8, _mm256_srli_epi16, _mm_loadu_si128,
    };

    /// Nibbles `from..=to` as a set (bit n for nibble n).
    pub const fn span(from: u8, to: u8) -> u16 {
        (u16::MAX >> (15 - (to - from))) << from
    }

    /// The nibble `n` alone as a set.
    pub const fn one(n: u8) -> u16 {
        1 << n
    }

    /// The low and high tables for `classes`: each `(bit, high halves, low halves)` sets
    /// `bit` in the bytes of its rectangle. High halves 8..=0xf (bytes from 0x80 up) are
    /// in a class only if a rectangle names them.
    pub const fn tables(classes: &[(u8, u16, u16)]) -> ([u8; 16], [u8; 16]) {
        let (mut low, mut high) = ([0u8; 16], [0u8; 16]);
        let mut i = 0;
        while i < classes.len() {
            let (bit, highs, lows) = classes[i];
            let mut n = 0;
            while n < 16 {
                if highs & (1 << n) != 0 {
                    high[n] |= bit;
                }
                if lows & (1 << n) != 0 {
                    low[n] |= bit;
                }
                n += 1;
            }
            i += 1;
        }
        (low, high)
    }

    /// The two tables in vector registers, ready for [`Classifier::classes`].
    #[derive(Clone, Copy)]
    pub struct Classifier {
        low: __m256i,
        high: __m256i,
        nibble: __m256i,
    }

    impl Classifier {
        /// The classifier of `tables` (made by [`tables`]).
        ///
        /// # Safety
        /// Needs AVX2 (callers are AVX2 functions, reached once the processor has it).
        #[target_feature(enable = "avx2")]
        pub fn new((low, high): &([u8; 16], [u8; 16])) -> Classifier {
            // SAFETY: unaligned loads of exactly the sixteen bytes of each table.
            let (low, high) = unsafe {
                (
                    _mm_loadu_si128(low.as_ptr().cast()),
                    _mm_loadu_si128(high.as_ptr().cast()),
                )
            };
            Classifier {
                low: _mm256_broadcastsi128_si256(low),
                high: _mm256_broadcastsi128_si256(high),
                nibble: _mm256_set1_epi8(0x0f),
            }
        }

        /// The class bits of each byte of `v`.
        ///
        /// # Safety
        /// Needs AVX2 (callers are AVX2 functions, reached once the processor has it).
        #[inline]
        #[target_feature(enable = "avx2")]
        pub fn classes(&self, v: __m256i) -> __m256i {
            _mm256_and_si256(
                _mm256_shuffle_epi8(self.low, _mm256_and_si256(v, self.nibble)),
                _mm256_shuffle_epi8(
                    self.high,
                    _mm256_and_si256(_mm256_srli_epi16::<4>(v), self.nibble),
                ),
            )
        }
    }

    /// The 32 bytes as a vector.
    ///
    /// # Safety
    /// Needs AVX2 (callers are AVX2 functions, reached once the processor has it).
    #[inline]
    #[target_feature(enable = "avx2")]
    pub fn load(bytes: &[u8; 32]) -> __m256i {
        // SAFETY: an unaligned load of exactly the 32 bytes of the array.
        unsafe { _mm256_loadu_si256(bytes.as_ptr().cast()) }
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn tables_class_exactly_the_bytes_of_their_rectangles() {
            let classes = [
                (1, one(6), span(1, 0xf)),
                (2, one(3) | one(5), span(0, 0xa)),
                (4, span(0, 0xf), one(0)),
            ];
            let (low, high) = tables(&classes);
            for b in 0..=255u8 {
                let want = (if (0x61..=0x6f).contains(&b) { 1 } else { 0 })
                    | (if (0x30..=0x3a).contains(&b) || (0x50..=0x5a).contains(&b) {
                        2
                    } else {
                        0
                    })
                    | (if b & 0x0f == 0 { 4 } else { 0 });
                assert_eq!(
                    low[usize::from(b & 15)] & high[usize::from(b >> 4)],
                    want,
                    "{b:#x}"
                );
            }
            assert_eq!(span(0, 0xf), u16::MAX);
            assert_eq!(span(3, 3), one(3));
        }
    }
}
