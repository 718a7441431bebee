//! Raw HTTP/1.x request parsing, for `palisade check` and tests (no network).

use std::fmt;

use crate::model::{Headers, RequestModel};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawError(pub String);

impl fmt::Display for RawError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for RawError {}

/// Parses one request: request line, headers, and a body framed by `Content-Length`,
/// `Transfer-Encoding: chunked`, or (for hand-written files) whatever follows the head.
/// Bare `\n` line endings are accepted.
pub fn parse_request(input: &[u8]) -> Result<(RequestModel, Vec<u8>), RawError> {
    let normalized;
    let input = if input.windows(2).any(|w| w == b"\r\n") {
        input
    } else {
        // Files written by hand often use LF only; httparse needs CRLF in the head.
        let head_end = find(input, b"\n\n").map_or(input.len(), |i| i + 2);
        let mut v = Vec::with_capacity(input.len() + 64);
        for &b in &input[..head_end] {
            if b == b'\n' {
                v.push(b'\r');
            }
            v.push(b);
        }
        v.extend_from_slice(&input[head_end..]);
        normalized = v;
        &normalized[..]
    };
    let mut storage = [httparse::EMPTY_HEADER; 256];
    let mut req = httparse::Request::new(&mut storage);
    let head_len = match req.parse(input) {
        Ok(httparse::Status::Complete(n)) => n,
        Ok(httparse::Status::Partial) => {
            return Err(RawError(
                "incomplete request head (missing blank line after the headers?)".into(),
            ))
        }
        Err(e) => return Err(RawError(format!("malformed request: {e}"))),
    };
    let method = req.method.unwrap_or("GET");
    let target = req.path.unwrap_or("/");
    let protocol = match req.version {
        Some(0) => "HTTP/1.0",
        _ => "HTTP/1.1",
    };
    let mut headers = Headers::default();
    for h in req.headers.iter() {
        headers.push(h.name, h.value.to_vec());
    }
    let rest = &input[head_len..];
    let chunked = headers.get_all("transfer-encoding").any(|v| {
        String::from_utf8_lossy(v)
            .to_ascii_lowercase()
            .contains("chunked")
    });
    let body = if chunked {
        decode_chunked(rest)?
    } else if let Some(cl) = headers.get_str("content-length") {
        let n: usize = cl
            .trim()
            .parse()
            .map_err(|_| RawError(format!("invalid Content-Length {cl:?}")))?;
        if rest.len() < n {
            return Err(RawError(format!(
                "body shorter than Content-Length ({} < {n})",
                rest.len()
            )));
        }
        rest[..n].to_vec()
    } else {
        rest.to_vec()
    };
    let model = RequestModel::from_head(method, target, protocol, headers);
    Ok((model, body))
}

fn find(h: &[u8], needle: &[u8]) -> Option<usize> {
    h.windows(needle.len()).position(|w| w == needle)
}

fn decode_chunked(mut input: &[u8]) -> Result<Vec<u8>, RawError> {
    let mut out = Vec::new();
    loop {
        let line_end = find(input, b"\r\n")
            .ok_or_else(|| RawError("chunked body: missing chunk size line".into()))?;
        let size_text = String::from_utf8_lossy(&input[..line_end]);
        let size_hex = size_text.split(';').next().unwrap_or("").trim();
        let size = usize::from_str_radix(size_hex, 16)
            .map_err(|_| RawError(format!("chunked body: invalid chunk size {size_hex:?}")))?;
        input = &input[line_end + 2..];
        if size == 0 {
            return Ok(out);
        }
        if input.len() < size {
            return Err(RawError("chunked body: truncated chunk".into()));
        }
        out.extend_from_slice(&input[..size]);
        input = &input[size..];
        input = input.strip_prefix(b"\r\n").unwrap_or(input);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_lf_only_files_and_content_length() {
        let (m, body) =
            parse_request(b"POST /a?x=1 HTTP/1.1\nHost: h\nContent-Length: 3\n\nabcdef").unwrap();
        assert_eq!(m.method, "POST");
        assert_eq!(m.host, "h");
        assert_eq!(body, b"abc");
    }

    #[test]
    fn decodes_chunked() {
        let raw = b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2;x=y\r\nde\r\n0\r\n\r\n";
        let (_, body) = parse_request(raw).unwrap();
        assert_eq!(body, b"abcde");
    }

    #[test]
    fn errors_are_clear() {
        assert!(parse_request(b"GET / HTTP/1.1\r\nHost: h\r\n")
            .unwrap_err()
            .0
            .contains("incomplete"));
        assert!(
            parse_request(b"GET / HTTP/1.1\r\nContent-Length: x\r\n\r\n")
                .unwrap_err()
                .0
                .contains("Content-Length")
        );
        assert!(parse_request(b"\x00\x01 / HTTP/1.1\r\n\r\n").is_err());
    }
}
