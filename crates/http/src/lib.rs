//! Palisade's request model: what a detector sees of an HTTP request.
//!
//! This crate owns the first step of the pipeline (bytes → request model): splitting the
//! request target into path and query arguments, parsing cookies, parsing bodies by content
//! type ([`body`]), and the value transformations ([`transform`]) that detectors apply before
//! matching. It knows nothing about rules, decisions or the network.

#[doc(hidden)]
pub mod bench_scenarios;
pub mod body;
#[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
pub mod byte_classes;
pub mod charset;
pub mod encoding;
pub mod graphql;
pub mod json;
pub mod model;
pub mod raw;
pub mod small;
pub mod transform;
pub mod urlencoded;

/// A seeded xorshift64 generator for the crate's differential tests (same inputs on every
/// run, no dependency).
#[cfg(test)]
pub(crate) struct TestRng(pub u64);

#[cfg(test)]
impl TestRng {
    pub(crate) fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    /// Fewer than `max_len` bytes drawn from `alphabet`.
    pub(crate) fn bytes_from(&mut self, alphabet: &[u8], max_len: u64) -> Vec<u8> {
        let len = self.next() % max_len;
        (0..len)
            .map(|_| alphabet[(self.next() % alphabet.len() as u64) as usize])
            .collect()
    }
}

pub use body::{parse_body, BodyKind, FilePart, ParsedBody};
pub use model::{
    is_binary_media_type, is_credential_header, is_structural_header, Arg, BodyModel, Headers,
    RequestModel, Stash,
};
pub use small::{ArgName, ArgValue, SmallBytes, SmallStr};
pub use transform::{Pipeline, Transform};
