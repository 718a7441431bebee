//! Request bodies sent with a `Content-Encoding`: decoded for inspection only.
//!
//! Browsers never compress request bodies, but SDKs and API clients do, and common
//! application stacks inflate them before parsing (Express's `body-parser` does by default
//! for gzip, deflate and br). A WAF that inspects the compressed bytes sees nothing of an
//! attack the application will read. So the inspected body is the decoded one, bounded in
//! size (a few KB of gzip can expand to gigabytes), while the proxy forwards the bytes the
//! client sent, unchanged. A body that cannot be decoded cannot be inspected: the caller
//! reports it ([`EncodingError`]).

use std::io::Read;

use flate2::read::{DeflateDecoder, MultiGzDecoder, ZlibDecoder};

/// The decoded body (at most the limit asked for).
#[derive(Debug, PartialEq, Eq)]
pub struct Decoded {
    pub bytes: Vec<u8>,
    /// True when decoding stopped at the limit, or the encoded input was itself only a
    /// prefix of the body (its end then is missing, not corrupt).
    pub truncated: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EncodingError {
    /// A coding Palisade cannot decode (`compress`, `zstd`, a made-up name).
    Unsupported(String),
    /// The bytes are not valid in the coding the request declares.
    Corrupt { coding: String, detail: String },
    /// More codings stacked than [`MAX_CODINGS`].
    TooManyCodings(usize),
}

/// Codings undone at most: clients send one. Each inner layer may expand to several times
/// the limit, so a long stack of small bombs would cost CPU for nothing.
pub const MAX_CODINGS: usize = 3;

impl std::fmt::Display for EncodingError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            EncodingError::Unsupported(c) => {
                write!(
                    f,
                    "content-encoding {c:?} is not supported: body not inspectable"
                )
            }
            EncodingError::Corrupt { coding, detail } => {
                write!(
                    f,
                    "content-encoding {coding}: body does not decode ({detail})"
                )
            }
            EncodingError::TooManyCodings(n) => {
                write!(
                    f,
                    "{n} content codings stacked (at most {MAX_CODINGS} are decoded)"
                )
            }
        }
    }
}

impl std::error::Error for EncodingError {}

/// The codings of a `Content-Encoding` value that change the bytes, in the order they were
/// applied (`identity`, empty list members and `utf-8` left out), lowercased. `utf-8` is a
/// charset sent in the wrong header by some clients, no coding: a server that honours
/// codings refuses it (Express answers 415), the others read the bytes as they are, which
/// is what is then inspected.
pub fn codings(header: &str) -> Vec<String> {
    header
        .split(',')
        .map(|c| c.trim().to_ascii_lowercase())
        .filter(|c| !c.is_empty() && !matches!(c.as_str(), "identity" | "utf-8" | "utf8"))
        .collect()
}

/// Decodes `raw`, encoded with `codings` in that order (so decoded in reverse), keeping at
/// most `limit` bytes of the result. `input_truncated`: `raw` is only the first bytes of
/// the body, so running out of input is expected and not an error.
pub fn decode(
    codings: &[String],
    raw: &[u8],
    limit: usize,
    input_truncated: bool,
) -> Result<Decoded, EncodingError> {
    if codings.len() > MAX_CODINGS {
        return Err(EncodingError::TooManyCodings(codings.len()));
    }
    // the client's bytes are read in place: only decoded layers are owned
    let mut current: Option<Decoded> = None;
    for (i, coding) in codings.iter().enumerate().rev() {
        // inner layers are decoded whole (up to a bound) so the outer ones see their input;
        // only the last step is held to `limit`
        let step_limit = if i == 0 {
            limit
        } else {
            limit.saturating_mul(4).max(limit)
        };
        let (input, truncated) = match &current {
            Some(d) => (&d.bytes[..], d.truncated),
            None => (raw, input_truncated),
        };
        current = Some(decode_one(coding, input, step_limit, truncated)?);
    }
    Ok(current.unwrap_or_else(|| Decoded {
        bytes: raw.to_vec(),
        truncated: input_truncated,
    }))
}

fn decode_one(
    coding: &str,
    input: &[u8],
    limit: usize,
    input_truncated: bool,
) -> Result<Decoded, EncodingError> {
    let corrupt = |detail: String| EncodingError::Corrupt {
        coding: coding.to_string(),
        detail,
    };
    // Bytes the decoder skips (gzip's file name and comment, data after the end of a
    // deflate stream) would be inspected by nobody, while an application that does not
    // inflate request bodies reads them: such bodies are refused as corrupt.
    let whole = |d: &Decoded| !d.truncated && !input_truncated;
    match coding {
        "gzip" | "x-gzip" => {
            let mut r = MultiGzDecoder::new(input);
            let d =
                read_bounded(&mut r, limit, input_truncated).map_err(|e| corrupt(e.to_string()))?;
            let hidden = r.header().is_some_and(|h| {
                h.filename().is_some() || h.comment().is_some() || h.extra().is_some()
            });
            if hidden {
                return Err(corrupt(
                    "gzip header carries a file name, comment or extra field".into(),
                ));
            }
            Ok(d)
        }
        // RFC 9110's "deflate" is the zlib format; some clients send raw deflate data
        // (as browsers accept in responses): a zlib header decides
        "deflate" => {
            let (d, used) = if has_zlib_header(input) {
                let mut r = ZlibDecoder::new(input);
                let d = read_bounded(&mut r, limit, input_truncated);
                (d, r.total_in())
            } else {
                let mut r = DeflateDecoder::new(input);
                let d = read_bounded(&mut r, limit, input_truncated);
                (d, r.total_in())
            };
            let d = d.map_err(|e| corrupt(e.to_string()))?;
            if whole(&d) && (used as usize) < input.len() {
                return Err(corrupt("bytes after the end of the deflate stream".into()));
            }
            Ok(d)
        }
        "br" => read_bounded(
            &mut brotli_decompressor::Decompressor::new(input, 4096),
            limit,
            input_truncated,
        )
        .map_err(|e| corrupt(e.to_string())),
        other => Err(EncodingError::Unsupported(other.to_string())),
    }
}

/// A zlib stream starts with CMF (deflate, window ≤ 32 KB) and FLG such that the pair is
/// a multiple of 31 (RFC 1950).
fn has_zlib_header(input: &[u8]) -> bool {
    match input {
        [cmf, flg, ..] => {
            cmf & 0x0f == 8 && cmf >> 4 <= 7 && (u16::from(*cmf) << 8 | u16::from(*flg)) % 31 == 0
        }
        _ => false,
    }
}

/// Reads at most `limit` bytes from `reader`; an unexpected end of input is an error only
/// when the input was whole.
fn read_bounded<R: Read>(
    reader: &mut R,
    limit: usize,
    input_truncated: bool,
) -> std::io::Result<Decoded> {
    let mut bytes = Vec::new();
    // one byte past the limit tells "exactly at the limit" from "more to come"
    let mut bounded = reader.by_ref().take(limit as u64 + 1);
    match bounded.read_to_end(&mut bytes) {
        Ok(_) => {}
        Err(e) if input_truncated && is_end_of_input(&e) => {
            return Ok(Decoded {
                bytes: cut(bytes, limit),
                truncated: true,
            });
        }
        Err(e) => return Err(e),
    }
    let over = bytes.len() > limit;
    Ok(Decoded {
        bytes: cut(bytes, limit),
        truncated: over || input_truncated,
    })
}

fn is_end_of_input(e: &std::io::Error) -> bool {
    // flate2 says UnexpectedEof for a stream that ends early (brotli-decompressor says
    // InvalidData, so a cut brotli body reads as corrupt: noted, not handled)
    e.kind() == std::io::ErrorKind::UnexpectedEof
}

fn cut(mut bytes: Vec<u8>, limit: usize) -> Vec<u8> {
    bytes.truncate(limit);
    bytes
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn gzip(data: &[u8]) -> Vec<u8> {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        e.write_all(data).expect("gzip");
        e.finish().expect("gzip")
    }

    fn zlib(data: &[u8]) -> Vec<u8> {
        let mut e = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
        e.write_all(data).expect("zlib");
        e.finish().expect("zlib")
    }

    fn raw_deflate(data: &[u8]) -> Vec<u8> {
        let mut e = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::default());
        e.write_all(data).expect("deflate");
        e.finish().expect("deflate")
    }

    fn one(c: &str) -> Vec<String> {
        codings(c)
    }

    const TEXT: &[u8] = b"q=1%27+union+select+password+from+users--&note=hello";

    #[test]
    fn gzip_deflate_and_zlib_decode_to_the_original() {
        for (c, enc) in [
            ("gzip", gzip(TEXT)),
            ("x-gzip", gzip(TEXT)),
            ("deflate", zlib(TEXT)),
            ("deflate", raw_deflate(TEXT)),
            ("Deflate", zlib(TEXT)),
        ] {
            let d = decode(&one(c), &enc, 1 << 20, false).expect(c);
            assert_eq!(d.bytes, TEXT, "{c}");
            assert!(!d.truncated, "{c}");
        }
    }

    fn brotli(data: &[u8]) -> Vec<u8> {
        let mut w = brotli::CompressorWriter::new(Vec::new(), 4096, 5, 22);
        w.write_all(data).expect("brotli");
        w.into_inner()
    }

    #[test]
    fn brotli_decodes() {
        let d = decode(&one("br"), &brotli(TEXT), 1 << 20, false).expect("br");
        assert_eq!(d.bytes, TEXT);
        assert!(!d.truncated);
        let big = vec![b'z'; 300_000];
        let d = decode(&one("br"), &brotli(&big), 1000, false).expect("br bounded");
        assert_eq!(d.bytes.len(), 1000);
        assert!(d.truncated);
    }

    #[test]
    fn stacked_codings_are_undone_in_reverse_order() {
        // Content-Encoding: deflate, gzip means deflate was applied first
        let enc = gzip(&zlib(TEXT));
        let d = decode(&one("deflate, gzip"), &enc, 1 << 20, false).expect("stack");
        assert_eq!(d.bytes, TEXT);
        assert!(decode(&one("gzip, deflate"), &enc, 1 << 20, false).is_err());
        assert!(codings("identity").is_empty());
        let deep = "gzip, ".repeat(MAX_CODINGS) + "gzip";
        assert_eq!(
            decode(&codings(&deep), &enc, 1 << 20, false),
            Err(EncodingError::TooManyCodings(MAX_CODINGS + 1))
        );
        assert_eq!(codings(" gzip , identity,"), vec!["gzip"]);
        assert!(codings("UTF-8").is_empty());
        assert_eq!(codings("utf-8, br"), vec!["br"]);
    }

    #[test]
    fn output_is_bounded_against_decompression_bombs() {
        let bomb = gzip(&vec![b'a'; 50 << 20]);
        assert!(bomb.len() < 100 << 10, "{}", bomb.len());
        let d = decode(&one("gzip"), &bomb, 64 << 10, false).expect("bomb");
        assert_eq!(d.bytes.len(), 64 << 10);
        assert!(d.truncated);
        // exactly at the limit is whole
        let d = decode(&one("gzip"), &gzip(&[b'b'; 1000]), 1000, false).expect("exact");
        assert_eq!(d.bytes.len(), 1000);
        assert!(!d.truncated);
    }

    #[test]
    fn a_prefix_of_a_larger_body_decodes_as_far_as_it_goes() {
        let big: Vec<u8> = (0..200_000u32).flat_map(|i| i.to_le_bytes()).collect();
        let enc = gzip(&big);
        let prefix = &enc[..enc.len() / 2];
        let d = decode(&one("gzip"), prefix, 10 << 20, true).expect("prefix");
        assert!(d.truncated);
        assert!(!d.bytes.is_empty() && big.starts_with(&d.bytes));
        // the same bytes claimed whole are a corrupt body
        assert!(matches!(
            decode(&one("gzip"), prefix, 10 << 20, false),
            Err(EncodingError::Corrupt { .. })
        ));
    }

    #[test]
    fn bytes_the_decoder_would_skip_make_a_body_corrupt() {
        let mut trailing = zlib(TEXT);
        trailing.extend_from_slice(b"&q=1' union select 1--");
        assert!(decode(&one("deflate"), &trailing, 1 << 20, false).is_err());
        let mut raw_trailing = raw_deflate(TEXT);
        raw_trailing.extend_from_slice(b"<script>");
        assert!(decode(&one("deflate"), &raw_trailing, 1 << 20, false).is_err());
        let mut e = flate2::GzBuilder::new()
            .comment("' union select password from users--")
            .write(Vec::new(), flate2::Compression::default());
        e.write_all(TEXT).expect("gzip");
        let commented = e.finish().expect("gzip");
        assert!(decode(&one("gzip"), &commented, 1 << 20, false).is_err());
        let mut e = flate2::GzBuilder::new()
            .filename("<script>")
            .write(Vec::new(), flate2::Compression::default());
        e.write_all(TEXT).expect("gzip");
        assert!(decode(&one("gzip"), &e.finish().expect("gzip"), 1 << 20, false).is_err());
    }

    #[test]
    fn unknown_and_corrupt_bodies_are_errors() {
        assert_eq!(
            decode(&one("zstd"), b"abc", 100, false),
            Err(EncodingError::Unsupported("zstd".to_string()))
        );
        assert!(matches!(
            decode(&one("gzip"), TEXT, 100, false),
            Err(EncodingError::Corrupt { .. })
        ));
        assert!(decode(&one("br"), TEXT, 100, false).is_err());
        let msg = decode(&one("compress"), b"x", 10, false)
            .unwrap_err()
            .to_string();
        assert!(
            msg.contains("compress") && msg.contains("not inspectable"),
            "{msg}"
        );
    }
}
