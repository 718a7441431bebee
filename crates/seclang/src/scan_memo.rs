//! Remembering, across requests, which rules the prefilter scan credited a value for.
//!
//! What the scan credits to one value (the rules whose literal, literal-less regex or value
//! test it holds, under every pipeline) depends on the value's bytes and the collections
//! holding it alone: each value is scanned on its own, whatever else the request carries.
//! Browsers send the same `User-Agent`, `Accept`, `Accept-Language` and `Accept-Encoding`
//! on every request, and the same header names, so a GET spent much of its scan (about
//! half the CRS cost of a request) finding again what the last request's found. A bounded
//! table per prefilter and worker thread keeps the verdicts of such values: exact bytes
//! and collections as the key, so a hit is the scan's own answer and a miss costs one
//! lookup. Only values that clients repeat are kept (see [`REPEATED`]): argument and
//! cookie values, paths with their queries and bodies differ per user and would only
//! churn the table (and a benchmark that repeats one request would measure the table
//! instead of the scan).

use crate::pair_table::PairTable;

/// Collections whose values are the same across clients and requests: header values and
/// names (a response's too: the application sends the same `Server`, `Content-Type` and
/// `Cache-Control` with every page), argument and cookie names, the method and protocol.
/// A value held by any other collection is scanned every time.
pub const REPEATED: &[&str] = &[
    "REQUEST_HEADERS",
    "REQUEST_HEADERS_NAMES",
    "RESPONSE_HEADERS",
    "RESPONSE_HEADERS_NAMES",
    "ARGS_NAMES",
    "ARGS_GET_NAMES",
    "ARGS_POST_NAMES",
    "REQUEST_COOKIES_NAMES",
    "REQUEST_METHOD",
    "REQUEST_PROTOCOL",
];

/// Whether collection `name` of a prefilter (a keyed one such as
/// `REQUEST_HEADERS:User-Agent` included) holds values that clients repeat.
pub fn is_repeated(name: &str) -> bool {
    let base = name.split_once(':').map_or(name, |(c, _)| c);
    REPEATED.contains(&base)
}

/// Values longer than this are not kept (a long value rarely repeats byte for byte, and
/// its copy would crowd the table).
pub const MAX_VALUE_LEN: usize = 512;

/// Table size (a power of two): a browser GET has about 20 distinct values. Two places
/// per hash ([`PairTable`]): the anchor GET's argument names `page` and `size` shared one
/// place of a direct-mapped table and put each other out on every request.
const ENTRIES: usize = 1024;

struct Entry {
    mask: u64,
    value: Box<[u8]>,
    slots: Box<[u32]>,
}

type Table = PairTable<Entry, ENTRIES>;

/// One thread's table, keyed by the value's hash, bytes and collections.
#[derive(Default)]
pub struct ScanMemo {
    entries: Table,
}

impl ScanMemo {
    /// The slots credited to `value` held by the collections of `mask`, if remembered
    /// (`hash` is the value's hash).
    pub fn get(&self, hash: u64, mask: u64, value: &[u8]) -> Option<&[u32]> {
        self.entries
            .find(hash, |e| e.mask == mask && *e.value == *value)
            .map(|e| &*e.slots)
    }

    /// Whether `value` is remembered under any collections (for tests).
    #[cfg(test)]
    pub fn contains_value(&self, value: &[u8]) -> bool {
        self.entries.entries().any(|e| *e.value == *value)
    }

    /// Remembers that the scan credited `slots` to `value` held by the collections of
    /// `mask` (a value put again, under other collections, replaces itself).
    pub fn put(&mut self, hash: u64, mask: u64, value: &[u8], slots: &[u32]) {
        if value.len() > MAX_VALUE_LEN {
            return;
        }
        let entry = Entry {
            mask,
            value: value.into(),
            slots: slots.into(),
        };
        self.entries.put(hash, entry, |e| *e.value == *value);
    }
}

/// The tables of one prefilter, one per thread that scans with it.
pub type ScanMemos = crate::per_thread::PerThread<ScanMemo>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_value_is_found_only_with_its_bytes_and_collections() {
        let mut m = ScanMemo::default();
        assert!(m.get(7, 1, b"gzip").is_none());
        m.put(7, 1, b"gzip", &[3, 9]);
        assert_eq!(m.get(7, 1, b"gzip"), Some(&[3u32, 9][..]));
        // another collection set, other bytes under the same hash: not this entry
        assert!(m.get(7, 2, b"gzip").is_none());
        assert!(m.get(7, 1, b"gzi").is_none());
    }

    /// Hashes whose values share a pair of places with the value of hash 7.
    fn sharing_pair_with_7() -> (u64, u64) {
        let mut same = (8u64..).filter(|&h| Table::pair_of(h) == Table::pair_of(7));
        (same.next().unwrap(), same.next().unwrap())
    }

    #[test]
    fn two_values_sharing_a_pair_are_both_kept_and_a_third_puts_out_the_older() {
        let (h2, h3) = sharing_pair_with_7();
        let mut m = ScanMemo::default();
        m.put(7, 1, b"page", &[1]);
        m.put(h2, 1, b"size", &[2]);
        assert_eq!(m.get(7, 1, b"page"), Some(&[1u32][..]));
        assert_eq!(m.get(h2, 1, b"size"), Some(&[2u32][..]));
        // a value put again under other collections replaces itself, keeping the other
        m.put(h2, 3, b"size", &[4]);
        assert_eq!(m.get(h2, 3, b"size"), Some(&[4u32][..]));
        assert!(m.get(h2, 1, b"size").is_none());
        assert_eq!(m.get(7, 1, b"page"), Some(&[1u32][..]));
        // a third value of the pair puts out the older of the two
        m.put(7, 1, b"page", &[1]);
        m.put(h3, 1, b"sort", &[5]);
        assert_eq!(m.get(h3, 1, b"sort"), Some(&[5u32][..]));
        assert_eq!(m.get(7, 1, b"page"), Some(&[1u32][..]));
        assert!(m.get(h2, 3, b"size").is_none());
    }

    /// The repeated values of the anchor scenarios' requests are all kept once put (with
    /// one place per hash, `page` and `size` of the GET took each other's place, and
    /// earlier, by the low bits of the hashes, `Host`, `first_name` and `subject`).
    #[test]
    fn the_anchor_requests_repeated_values_are_all_kept() {
        let values: &[&[u8]] = &[
            b"Host",
            b"User-Agent",
            b"Accept",
            b"Accept-Language",
            b"Accept-Encoding",
            b"Cookie",
            b"Referer",
            b"Content-Type",
            b"first_name",
            b"last_name",
            b"email",
            b"phone",
            b"subject",
            b"order",
            b"message",
            b"q",
            b"category",
            b"size",
            b"color",
            b"sort",
            b"page",
            b"utm_source",
            b"utm_medium",
            b"session",
            b"theme",
            b"cart_id",
            b"shop.example.com",
            b"gzip, deflate",
            b"en-US,en;q=0.9",
            b"GET",
            b"POST",
            b"HTTP/1.1",
        ];
        let mut m = ScanMemo::default();
        for (i, v) in values.iter().enumerate() {
            m.put(crate::fxhash::hash_bytes(v), 1, v, &[i as u32]);
        }
        for (i, v) in values.iter().enumerate() {
            let got = m.get(crate::fxhash::hash_bytes(v), 1, v);
            assert_eq!(got, Some(&[i as u32][..]), "{}", String::from_utf8_lossy(v));
        }
    }

    #[test]
    fn long_values_are_not_kept() {
        let mut m = ScanMemo::default();
        let long = vec![b'a'; MAX_VALUE_LEN + 1];
        m.put(1, 1, &long, &[1]);
        assert!(m.get(1, 1, &long).is_none());
    }

    #[test]
    fn keyed_header_collections_count_as_repeated() {
        assert!(is_repeated("REQUEST_HEADERS:User-Agent"));
        assert!(is_repeated("ARGS_NAMES"));
        assert!(!is_repeated("ARGS"));
        assert!(!is_repeated("REQUEST_COOKIES"));
        assert!(!is_repeated("REQUEST_URI"));
        assert!(is_repeated("RESPONSE_HEADERS"));
        assert!(!is_repeated("RESPONSE_BODY"));
    }
}
