//! `application/x-www-form-urlencoded` and query-string parsing on raw bytes.
//!
//! Values stay bytes: `%ff` is not valid UTF-8 but is still something a detector must see.

use crate::model::Arg;

/// Decodes `%XX` escapes and `+` (as space). Invalid escapes are kept literally, as
/// ModSecurity does, so `%zz` stays `%zz` rather than being dropped.
pub fn percent_decode(input: &[u8], plus_as_space: bool) -> Vec<u8> {
    let mut out = Vec::with_capacity(input.len());
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
        if b == b'+' && plus_as_space {
            out.push(b' ');
        } else {
            out.push(b);
        }
        i += 1;
    }
    out
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

/// Splits `a=1&b=2&a=3` into arguments, keeping repeated keys and their order.
/// A key without `=` gets an empty value. Empty segments (`a=1&&b=2`) are skipped.
pub fn parse_pairs(input: &[u8]) -> Vec<Arg> {
    let mut args = Vec::new();
    for segment in input.split(|&b| b == b'&') {
        if segment.is_empty() {
            continue;
        }
        let (name, value) = match segment.iter().position(|&b| b == b'=') {
            Some(eq) => (&segment[..eq], &segment[eq + 1..]),
            None => (segment, &b""[..]),
        };
        let name = percent_decode(name, true);
        args.push(Arg {
            name: String::from_utf8_lossy(&name).into_owned(),
            value: percent_decode(value, true),
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
