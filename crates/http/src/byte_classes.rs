//! Byte classes over sixteen bytes at a time (SSE2, every x86-64): the comparisons the
//! vectorized "is this value plain" checks share (here and in the classifier's prose
//! check). Each returns a vector of 0xff where the byte is in the class, 0 elsewhere.

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
