//! `application/x-www-form-urlencoded` and query-string parsing on raw bytes.
//!
//! Values stay bytes: `%ff` is not valid UTF-8 but is still something a detector must see.

use crate::model::Arg;
use crate::small::{ArgName, ArgValue, VALUE_INLINE};

/// Decodes `%XX` escapes and `+` (as space). Invalid escapes are kept literally, as
/// ModSecurity does, so `%zz` stays `%zz` rather than being dropped.
pub fn percent_decode(input: &[u8], plus_as_space: bool) -> Vec<u8> {
    let mut out = Vec::with_capacity(input.len());
    percent_decode_into(input, plus_as_space, &mut out);
    out
}

/// [`percent_decode`], appending to `out`.
pub fn percent_decode_into(input: &[u8], plus_as_space: bool, out: &mut Vec<u8>) {
    // Every query and form value goes through here: the runs between `%`s are found with
    // memchr and copied whole (the `+` mapping over a run compiles to vector code), rather
    // than pushed byte by byte.
    out.reserve(input.len());
    let mut rest = input;
    loop {
        let run_len = memchr::memchr(b'%', rest).unwrap_or(rest.len());
        let (run, after) = rest.split_at(run_len);
        if plus_as_space {
            out.extend(run.iter().map(|&b| if b == b'+' { b' ' } else { b }));
        } else {
            out.extend_from_slice(run);
        }
        // `after` is empty or starts with `%`.
        let [_, escape @ ..] = after else {
            return;
        };
        if let [h, l, tail @ ..] = escape {
            if let (Some(h), Some(l)) = (hex_val(*h), hex_val(*l)) {
                out.push(h << 4 | l);
                rest = tail;
                continue;
            }
        }
        out.push(b'%');
        rest = escape;
    }
}

/// True when `percent_decode` would change the input; lets callers skip an allocation.
pub fn needs_decoding(input: &[u8], plus_as_space: bool) -> bool {
    input
        .iter()
        .any(|&b| b == b'%' || (plus_as_space && b == b'+'))
}

pub(crate) fn hex_val(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// Whether `raw` holds a `%` escape or a `+` (a space), which form decoding changes.
fn holds_escape(raw: &[u8]) -> bool {
    // (memchr's vector search costs more than it saves on the short names and values
    // that most arguments are)
    if raw.len() <= 16 {
        raw.iter().any(|&b| b == b'%' || b == b'+')
    } else {
        memchr::memchr2(b'%', b'+', raw).is_some()
    }
}

/// `raw` form-decoded: itself when it holds nothing to decode, else its decoding in
/// `scratch`.
fn decoded<'a>(raw: &'a [u8], scratch: &'a mut Vec<u8>) -> &'a [u8] {
    if !holds_escape(raw) {
        return raw;
    }
    scratch.clear();
    percent_decode_into(raw, true, scratch);
    scratch
}

/// Splits `a=1&b=2&a=3` into arguments, keeping repeated keys and their order.
/// A key without `=` gets an empty value. Empty segments (`a=1&&b=2`) are skipped.
pub fn parse_pairs(input: &[u8]) -> Vec<Arg> {
    let mut args = Vec::with_capacity(memchr::memchr_iter(b'&', input).count() + 1);
    // (the separators are found with memchr: a 2 KB message is one segment, which a
    // byte-by-byte split would walk twice)
    let mut scratch = Vec::new();
    let mut start = 0;
    for end in memchr::memchr_iter(b'&', input).chain([input.len()]) {
        let segment = &input[start..end];
        start = end + 1;
        if segment.is_empty() {
            continue;
        }
        let (name, value) = match memchr::memchr(b'=', segment) {
            Some(eq) => (&segment[..eq], &segment[eq + 1..]),
            None => (segment, &b""[..]),
        };
        // A name or value without `%` or `+` (most of them) is its own decoding: copied as
        // it is. A short one with escapes (decoding never lengthens one) is decoded into one
        // scratch buffer and copied inline into the argument, with no allocation of its
        // own; a long one is decoded into the block it keeps.
        let name = decoded(name, &mut scratch);
        let name = match std::str::from_utf8(name) {
            Ok(text) => ArgName::from(text),
            Err(_) => ArgName::from(String::from_utf8_lossy(name)),
        };
        let value = if value.len() <= VALUE_INLINE || !holds_escape(value) {
            ArgValue::from_slice(decoded(value, &mut scratch))
        } else {
            ArgValue::from(percent_decode(value, true))
        };
        args.push(Arg {
            name,
            value,
            name_repeats: None,
        });
    }
    args
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_escapes_plus_and_keeps_invalid_escapes() {
        assert_eq!(percent_decode(b"a%20b+c", true), b"a b c");
        assert_eq!(percent_decode(b"a+c", false), b"a+c");
        assert_eq!(percent_decode(b"%zz%4", true), b"%zz%4");
        assert_eq!(percent_decode(b"%ff", true), vec![0xff]);
        assert_eq!(percent_decode(b"100%", true), b"100%");
    }

    /// The decoder as first written (byte by byte), to compare against.
    fn reference_percent_decode(input: &[u8], plus_as_space: bool) -> Vec<u8> {
        let mut out = Vec::new();
        let mut i = 0;
        while i < input.len() {
            let b = input[i];
            if b == b'%' && i + 2 < input.len() {
                if let (Some(h), Some(l)) = (hex_val(input[i + 1]), hex_val(input[i + 2])) {
                    out.push(h << 4 | l);
                    i += 3;
                    continue;
                }
            }
            out.push(if b == b'+' && plus_as_space { b' ' } else { b });
            i += 1;
        }
        out
    }

    #[test]
    fn pairs_match_a_split_reference_on_random_inputs() {
        const ALPHABET: &[u8] = b"&&==ab%2+";
        let mut rng = crate::TestRng(0x9e37_79b9_7f4a_7c15);
        for _ in 0..20_000 {
            let input = rng.bytes_from(ALPHABET, 10);
            let want: Vec<(Vec<u8>, Vec<u8>)> = input
                .split(|&b| b == b'&')
                .filter(|s| !s.is_empty())
                .map(|s| match s.iter().position(|&b| b == b'=') {
                    Some(eq) => (s[..eq].to_vec(), s[eq + 1..].to_vec()),
                    None => (s.to_vec(), Vec::new()),
                })
                .map(|(n, v)| {
                    // names are text: an invalid byte becomes U+FFFD
                    let name = String::from_utf8_lossy(&percent_decode(&n, true)).into_owned();
                    (name.into_bytes(), percent_decode(&v, true))
                })
                .collect();
            let got: Vec<(Vec<u8>, Vec<u8>)> = parse_pairs(&input)
                .into_iter()
                .map(|a| (a.name.as_bytes().to_vec(), a.value.into_vec()))
                .collect();
            assert_eq!(got, want, "{:?}", String::from_utf8_lossy(&input));
        }
    }

    #[test]
    fn decoding_matches_the_byte_by_byte_reference_on_random_inputs() {
        const ALPHABET: &[u8] = b"%%%++aAfFgz09 &=\xff";
        let mut rng = crate::TestRng(0x2545_f491_4f6c_dd1d);
        for _ in 0..20_000 {
            let input = rng.bytes_from(ALPHABET, 12);
            for plus in [true, false] {
                assert_eq!(
                    percent_decode(&input, plus),
                    reference_percent_decode(&input, plus),
                    "{:?} plus={plus}",
                    String::from_utf8_lossy(&input)
                );
            }
        }
    }

    #[test]
    fn names_that_decode_to_invalid_utf8_are_replaced_not_lost() {
        let args = parse_pairs(b"a%ffb=1&ok=2");
        assert_eq!(args[0].name, "a\u{fffd}b");
        assert_eq!(args[0].value, b"1");
        assert_eq!(args[1].name, "ok");
    }

    #[test]
    fn keeps_repeated_keys_in_order() {
        let args = parse_pairs(b"a=1&b=&a=3&&flag&x%5B%5D=%27");
        let got: Vec<(&str, &[u8])> = args
            .iter()
            .map(|a| (a.name.as_str(), a.value.as_slice()))
            .collect();
        assert_eq!(
            got,
            vec![
                ("a", &b"1"[..]),
                ("b", &b""[..]),
                ("a", &b"3"[..]),
                ("flag", &b""[..]),
                ("x[]", &b"'"[..])
            ]
        );
    }
}
