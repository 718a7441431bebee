//! The request model: method, target, headers, cookies, arguments and parsed body.
//!
//! Built once per request from the head (and later the inspected body prefix), then read by
//! every detector. Names are strings (lossy UTF-8); values stay bytes.

use std::net::IpAddr;

use crate::body::{parse_body, BodyKind, FilePart, ParsedBody};
use crate::small::{ArgName, ArgValue};
use crate::transform::{normalize_path, Transform};
use crate::urlencoded::{parse_pairs, percent_decode};

/// Decoded size kept of a body sent with a `Content-Encoding` by
/// [`RequestModel::attach_body`] (the proxy passes its `inspect_body_bytes` instead).
pub const DECODED_BODY_LIMIT: usize = 1 << 20;

/// One named value: a query or body argument, a cookie, a JSON leaf, a multipart field.
/// Name and value read as `&str` and `&[u8]`; short ones are held inline (see
/// [`crate::small`]), so that a request's hundreds of arguments are not as many allocations.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Arg {
    pub name: ArgName,
    pub value: ArgValue,
    /// For a JSON leaf whose name is an earlier leaf's but for the index of one enclosing
    /// array (`items.7.sku` after `items.0.sku`): that leaf's index in the same list (the
    /// first of the chain). A detector may scan such a name once: the index digits are no
    /// text the client sent (it chose only how many elements the array has), and every other
    /// byte of the two names is the same.
    pub name_repeats: Option<u32>,
}

/// Request headers in arrival order. Lookups ignore case; repeated headers are all kept.
#[derive(Debug, Clone, Default)]
pub struct Headers(pub Vec<(String, Vec<u8>)>);

impl Headers {
    pub fn push(&mut self, name: impl Into<String>, value: impl Into<Vec<u8>>) {
        self.0.push((name.into(), value.into()));
    }

    /// All values of `name`, in order.
    pub fn get_all<'a>(&'a self, name: &str) -> impl Iterator<Item = &'a [u8]> + 'a {
        let name = name.to_string();
        self.0
            .iter()
            .filter(move |(n, _)| n.eq_ignore_ascii_case(&name))
            .map(|(_, v)| v.as_slice())
    }

    /// The first value of `name`, if any.
    pub fn get(&self, name: &str) -> Option<&[u8]> {
        self.get_all(name).next()
    }

    /// The first value of `name` as text (lossy), if any.
    pub fn get_str(&self, name: &str) -> Option<String> {
        self.get(name)
            .map(|v| String::from_utf8_lossy(v).into_owned())
    }

    pub fn iter(&self) -> impl Iterator<Item = (&str, &[u8])> {
        self.0.iter().map(|(n, v)| (n.as_str(), v.as_slice()))
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// The parsed (possibly truncated) request body.
#[derive(Debug, Clone, Default)]
pub struct BodyModel {
    /// The bytes that were inspected: the whole body, or its first `inspect_limit` bytes.
    /// Shared (`Bytes`), so that the proxy attaches a view of the buffer it forwards
    /// instead of a copy of it.
    pub raw: bytes::Bytes,
    /// True when `raw` is only a prefix of the body.
    pub truncated: bool,
    /// Why a body sent with a `Content-Encoding` could not be decoded (then `raw` is the
    /// encoded bytes, parsed for what they are worth). Decoded bodies are in `raw`.
    pub encoding_error: Option<crate::encoding::EncodingError>,
    pub kind: BodyKind,
    /// Form fields, JSON leaves (`items.0.sku`), XML values, multipart text fields.
    pub args: Vec<Arg>,
    pub files: Vec<FilePart>,
    /// Parse errors; the engine reports them as findings.
    pub errors: Vec<String>,
    /// Where a JSON body stopped parsing (byte offset into `raw`), when it did: the text
    /// from there on is what the parser did not take apart.
    pub json_stopped_at: Option<usize>,
    /// How many of [`RequestModel::graphql_args`] came from this body (the last ones).
    pub graphql_count: usize,
    /// How many of `args` are GraphQL documents ([`crate::body::is_graphql_document`]).
    pub graphql_documents: usize,
    /// Unreadable charsets declared by multipart text fields (see
    /// [`crate::body::ParsedBody::part_charsets`]).
    pub part_charsets: Vec<String>,
}

/// Everything a detector may look at in a request.
#[derive(Debug, Clone, Default)]
pub struct RequestModel {
    pub method: String,
    /// The request target exactly as received (`/a%20b?x=1`).
    pub uri_raw: String,
    /// The path part of the target, still percent-encoded.
    pub path_raw: String,
    /// The path percent-decoded and normalized (`/a/../b` → `/b`, `\` → `/`).
    pub path: String,
    /// The query string without `?`, still percent-encoded.
    pub query_raw: String,
    /// `HTTP/1.1`, `HTTP/2.0`, ...
    pub protocol: String,
    pub headers: Headers,
    pub host: String,
    /// Query arguments, percent-decoded once, repeated keys kept.
    pub args_get: Vec<Arg>,
    pub cookies: Vec<Arg>,
    /// The string literals of GraphQL documents carried as an argument named `query`: in
    /// the query string (`GET /graphql?query={…}`) or a JSON body (`{"query": "…"}`, batches
    /// and nested `*.query` too). Named as an `application/graphql` body's arguments are
    /// (`product.id`). Kept apart from the arguments they come from: ModSecurity-compatible
    /// consumers (CRS) see the document as the one value `query`.
    pub graphql_args: Vec<Arg>,
    /// How many of `args_get` are GraphQL documents ([`crate::body::is_graphql_document`]).
    pub graphql_documents_get: usize,
    pub body: Option<BodyModel>,
    pub client_ip: Option<IpAddr>,
    /// What a detector leaves on the request for its response-phase call.
    pub stash: Stash,
}

/// Per-request values a detector keeps between its request and response calls (the CRS
/// engine keeps the request's transaction variables for its response phases, as
/// ModSecurity runs all phases in one transaction). Keyed by the detector's name; a clone
/// of the model starts empty.
#[derive(Default)]
pub struct Stash(std::sync::Mutex<Vec<(&'static str, Box<dyn std::any::Any + Send>)>>);

impl Stash {
    /// Keeps `value` under `key`, replacing an earlier one.
    pub fn put(&self, key: &'static str, value: Box<dyn std::any::Any + Send>) {
        if let Ok(mut items) = self.0.lock() {
            items.retain(|(k, _)| *k != key);
            items.push((key, value));
        }
    }

    /// Takes the value kept under `key`, if any.
    pub fn take(&self, key: &'static str) -> Option<Box<dyn std::any::Any + Send>> {
        let mut items = self.0.lock().ok()?;
        let at = items.iter().position(|(k, _)| *k == key)?;
        Some(items.swap_remove(at).1)
    }
}

impl Clone for Stash {
    fn clone(&self) -> Self {
        Stash::default()
    }
}

impl std::fmt::Debug for Stash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let n = self.0.lock().map_or(0, |items| items.len());
        write!(f, "Stash({n} values)")
    }
}

impl RequestModel {
    /// Builds the model from a request head. `target` is the request target as sent
    /// (origin form `/p?q` or absolute form `http://h/p?q`).
    pub fn from_head(method: &str, target: &str, protocol: &str, headers: Headers) -> Self {
        let origin = origin_form(target);
        let (path_raw, query_raw) = match origin.find('?') {
            Some(q) => (&origin[..q], &origin[q + 1..]),
            None => (origin, ""),
        };
        // Strip a fragment if a client sent one.
        let query_raw = query_raw.split('#').next().unwrap_or("");
        let decoded_path = percent_decode(path_raw.as_bytes(), false);
        let path = normalize_path(&decoded_path, true);
        let host = headers
            .get_str("host")
            .or_else(|| authority_of(target).map(str::to_string))
            .unwrap_or_default();
        let cookies = headers
            .get_all("cookie")
            .flat_map(parse_cookie_header)
            .collect();
        let args_get = parse_pairs(query_raw.as_bytes());
        let mut graphql_args = Vec::new();
        let graphql_documents_get =
            crate::body::graphql_in_args(&args_get, crate::body::MAX_BODY_ARGS, &mut graphql_args);
        RequestModel {
            method: method.to_string(),
            uri_raw: target.to_string(),
            path_raw: path_raw.to_string(),
            path: String::from_utf8_lossy(&path).into_owned(),
            query_raw: query_raw.to_string(),
            protocol: protocol.to_string(),
            args_get,
            cookies,
            graphql_args,
            graphql_documents_get,
            host,
            headers,
            body: None,
            client_ip: None,
            stash: Stash::default(),
        }
    }

    /// Frees the body's arguments and files once nothing will read them again (the request
    /// is inspected and nothing reads it with the response): a JSON order's ~700 arguments
    /// are freed while they are still in the processor's caches, not after the upstream's
    /// answer. The raw bytes, the body kind and its errors stay.
    pub fn release_parsed_body(&mut self) {
        if let Some(body) = &mut self.body {
            body.args = Vec::new();
            body.files = Vec::new();
        }
    }

    /// The `Content-Type` header without parameters, lowercased (`application/json`).
    pub fn mime_type(&self) -> Option<String> {
        self.headers.get_str("content-type").map(|ct| {
            ct.split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase()
        })
    }

    /// Parses `raw` by the request's content type and attaches it as the body. A body with
    /// a `Content-Encoding` is decoded first (at most [`DECODED_BODY_LIMIT`] bytes, or
    /// `raw`'s length when larger; see [`RequestModel::attach_body_limited`]).
    pub fn attach_body(&mut self, raw: impl Into<bytes::Bytes>, truncated: bool) {
        let raw = raw.into();
        let limit = raw.len().max(DECODED_BODY_LIMIT);
        self.attach_body_limited(raw, truncated, limit);
    }

    /// [`RequestModel::attach_body`], keeping at most `decoded_limit` bytes of a body
    /// decoded from its `Content-Encoding` (a small compressed body can expand a
    /// thousandfold): past it the body counts as truncated. A body that does not decode
    /// is attached as it came, with the error in `encoding_error`.
    pub fn attach_body_limited(
        &mut self,
        raw: impl Into<bytes::Bytes>,
        truncated: bool,
        decoded_limit: usize,
    ) {
        let raw: bytes::Bytes = raw.into();
        let codings = self
            .headers
            .get_str("content-encoding")
            .map(|h| crate::encoding::codings(&h))
            .unwrap_or_default();
        let (raw, truncated, encoding_error) = if codings.is_empty() {
            (raw, truncated, None)
        } else {
            match crate::encoding::decode(&codings, &raw, decoded_limit, truncated) {
                Ok(d) => (bytes::Bytes::from(d.bytes), d.truncated, None),
                Err(e) => (raw, truncated, Some(e)),
            }
        };
        let content_type = self.headers.get_str("content-type");
        let ParsedBody {
            kind,
            args,
            files,
            errors,
            json_stopped_at,
            graphql_args,
            graphql_documents,
            part_charsets,
        } = parse_body(content_type.as_deref(), &raw, truncated);
        // the query string's documents first, then the body's (a body attached again
        // replaces the earlier body's)
        let from_query = self
            .graphql_args
            .len()
            .saturating_sub(self.body.as_ref().map_or(0, |b| b.graphql_count));
        self.graphql_args.truncate(from_query);
        let graphql_count = graphql_args.len();
        self.graphql_args.extend(graphql_args);
        self.body = Some(BodyModel {
            raw,
            truncated,
            encoding_error,
            kind,
            args,
            files,
            errors,
            json_stopped_at,
            graphql_count,
            graphql_documents,
            part_charsets,
        });
    }

    /// All arguments: query first, then body (ModSecurity's ARGS).
    pub fn args(&self) -> impl Iterator<Item = (&'static str, &Arg)> {
        self.args_get.iter().map(|a| ("ARGS_GET", a)).chain(
            self.body
                .iter()
                .flat_map(|b| b.args.iter().map(|a| ("ARGS_POST", a))),
        )
    }

    /// Applies a transformation pipeline to the raw path (helper for detectors).
    pub fn path_with(&self, pipeline: &[Transform]) -> Vec<u8> {
        crate::transform::apply_all(pipeline, self.path_raw.as_bytes()).into_owned()
    }
}

/// Media types whose bodies are not text: raw-body signatures skip them and the proxy
/// streams them without buffering. `mime` is lowercase without parameters.
pub fn is_binary_media_type(mime: &str) -> bool {
    let m = mime.trim();
    (["image/", "audio/", "video/", "font/"]
        .iter()
        .any(|p| m.starts_with(p))
        && !m.starts_with("image/svg"))
        || matches!(
            m,
            "application/octet-stream"
                | "application/zip"
                | "application/gzip"
                | "application/x-gzip"
                | "application/pdf"
                | "application/x-protobuf"
                | "application/protobuf"
                | "application/grpc"
                | "application/x-tar"
                | "application/wasm"
                | "application/vnd.ms-excel"
                | "application/msword"
        )
}

/// `http://host/p?q` → `/p?q`; origin-form targets pass through. `*` stays `*`.
fn origin_form(target: &str) -> &str {
    // Compare bytes: slicing the str could split a multi-byte character.
    let lower_starts = |p: &str| {
        target.len() >= p.len() && target.as_bytes()[..p.len()].eq_ignore_ascii_case(p.as_bytes())
    };
    for scheme in ["http://", "https://", "ws://", "wss://"] {
        if lower_starts(scheme) {
            let rest = &target[scheme.len()..];
            return match rest.find(['/', '?']) {
                Some(i) => &rest[i..],
                None => "/",
            };
        }
    }
    target
}

fn authority_of(target: &str) -> Option<&str> {
    let rest = target.split_once("://")?.1;
    Some(rest.split(['/', '?']).next().unwrap_or(rest))
}

/// Parses one `Cookie` header: `a=1; b=2`. Values are not percent-decoded (cookies are
/// opaque by RFC 6265); detectors decode as part of their pipelines.
pub fn parse_cookie_header(value: &[u8]) -> Vec<Arg> {
    value
        .split(|&b| b == b';')
        .filter_map(|part| {
            let part = trim_ascii(part);
            if part.is_empty() {
                return None;
            }
            let (name, value) = match part.iter().position(|&b| b == b'=') {
                Some(eq) => (trim_ascii(&part[..eq]), trim_ascii(&part[eq + 1..])),
                None => (part, &b""[..]),
            };
            Some(Arg {
                name: String::from_utf8_lossy(name).into(),
                value: value.into(),
                name_repeats: None,
            })
        })
        .collect()
}

fn trim_ascii(mut s: &[u8]) -> &[u8] {
    while let [first, rest @ ..] = s {
        if first.is_ascii_whitespace() {
            s = rest;
        } else {
            break;
        }
    }
    while let [rest @ .., last] = s {
        if last.is_ascii_whitespace() {
            s = rest;
        } else {
            break;
        }
    }
    s
}

/// Whether a header (any case) carries credentials or session state: `Authorization`,
/// `Cookie`, API keys and tokens. Caches that outlive a request (the detectors' memos of
/// header values seen before) leave such values out: they are secrets, and they differ per
/// user, so remembering them would only keep secrets in memory and churn the cache.
pub fn is_credential_header(name: &str) -> bool {
    // Runs for every header of every request, several times: the headers every browser
    // sends are answered by their lowercased name (a length switch and a compare) instead
    // of the scan below (~300 instructions a name).
    let mut buf = [0u8; 16];
    if let Some(lower) = crate::transform::ascii_lowercase_in(name.as_bytes(), &mut buf) {
        match lower {
            b"host" | b"user-agent" | b"accept" | b"accept-language" | b"accept-encoding"
            | b"referer" | b"origin" | b"content-type" | b"content-length" | b"connection"
            | b"cache-control" | b"pragma" | b"dnt" | b"te" => return false,
            b"cookie" | b"authorization" => return true,
            _ => {}
        }
    }
    names_a_credential_word(name.as_bytes())
}

/// Whether `name` holds `auth`, `cookie`, `token`, `secret`, `session`, `key` or `pass`
/// (any case): one pass, comparing words only where a byte could start one (as
/// `palisade_ml::detector::is_secret_place` does), not a window search per word.
fn names_a_credential_word(name: &[u8]) -> bool {
    let at = |i: usize, word: &[u8]| {
        name.get(i..i + word.len())
            .is_some_and(|w| w.eq_ignore_ascii_case(word))
    };
    (0..name.len()).any(|i| match name[i] | 0x20 {
        b'a' => at(i, b"auth"),
        b'c' => at(i, b"cookie"),
        b't' => at(i, b"token"),
        b's' => at(i, b"secret") || at(i, b"session"),
        b'k' => at(i, b"key"),
        b'p' => at(i, b"pass"),
        _ => false,
    })
}

/// Whether a header (any case) carries protocol structure (or is parsed elsewhere: cookies)
/// rather than free-form client data, or is a `Sec-*` fetch header. Detectors that look for
/// attacks in user input skip these.
pub fn is_structural_header(name: &str) -> bool {
    // Runs for every header of every request, by several detectors: one length check and a
    // compiled `match` over the lowercased name instead of a scan of a list.
    let mut buf = [0u8; "upgrade-insecure-requests".len()];
    let Some(lower) = crate::transform::ascii_lowercase_in(name.as_bytes(), &mut buf) else {
        return false;
    };
    lower.starts_with(b"sec-")
        || matches!(
            lower,
            b"host"
                | b"connection"
                | b"content-length"
                | b"content-type"
                | b"content-encoding"
                | b"accept"
                | b"accept-encoding"
                | b"accept-language"
                | b"accept-charset"
                | b"authorization"
                | b"proxy-authorization"
                | b"cookie"
                | b"cache-control"
                | b"pragma"
                | b"if-match"
                | b"if-none-match"
                | b"if-modified-since"
                | b"if-unmodified-since"
                | b"if-range"
                | b"range"
                | b"te"
                | b"transfer-encoding"
                | b"upgrade"
                | b"keep-alive"
                | b"expect"
                | b"dnt"
                | b"upgrade-insecure-requests"
                | b"priority"
                | b"origin"
                | b"x-requested-with"
        )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credential_headers_are_recognized_in_any_case() {
        for name in [
            "Authorization",
            "proxy-authorization",
            "Cookie",
            "X-Api-Key",
            "X-Auth-Token",
            "X-CSRF-Token",
            "X-Session-Id",
            "Sec-WebSocket-Key",
            "X-Client-Secret",
        ] {
            assert!(is_credential_header(name), "{name}");
        }
        for name in [
            "User-Agent",
            "Accept",
            "Accept-Language",
            "Referer",
            "Host",
            "X-Requested-With",
            "accept-encoding",
            "Content-Type",
            "CONTENT-LENGTH",
            "Connection",
            "Origin",
            "Cache-Control",
        ] {
            assert!(!is_credential_header(name), "{name}");
        }
        // (the names answered without the scan, and the scan, agree)
        for name in [
            "Cookie",
            "AUTHORIZATION",
            "Host",
            "Accept-Encoding",
            "Pragma",
            "TE",
        ] {
            let scan = names_a_credential_word(name.as_bytes());
            assert_eq!(is_credential_header(name), scan, "{name}");
        }
    }

    #[test]
    fn structural_headers_are_recognized_in_any_case_and_others_are_not() {
        for name in [
            "Host",
            "ACCEPT-LANGUAGE",
            "content-type",
            "Sec-Fetch-Mode",
            "sec-ch-ua",
            "Upgrade-Insecure-Requests",
            "TE",
            "X-Requested-With",
        ] {
            assert!(is_structural_header(name), "{name}");
        }
        let long = "x".repeat(100);
        for name in [
            "User-Agent",
            "Referer",
            "X-Forwarded-For",
            "hostx",
            "hos",
            "",
            "sec",
            "content-type-x",
            "Upgrade-Insecure-Requestsx",
            long.as_str(),
        ] {
            assert!(!is_structural_header(name), "{name}");
        }
    }

    fn headers(pairs: &[(&str, &str)]) -> Headers {
        let mut h = Headers::default();
        for (n, v) in pairs {
            h.push(*n, v.as_bytes().to_vec());
        }
        h
    }

    #[test]
    fn splits_target_and_normalizes_path() {
        let m = RequestModel::from_head(
            "GET",
            "/a/b/../c%2f..%2f%2e%2e/etc?x=1&x=2#frag",
            "HTTP/1.1",
            headers(&[("Host", "shop.example.com")]),
        );
        assert_eq!(m.path_raw, "/a/b/../c%2f..%2f%2e%2e/etc");
        assert_eq!(m.query_raw, "x=1&x=2");
        assert_eq!(m.args_get.len(), 2);
        assert_eq!(m.host, "shop.example.com");
        // decoded then normalized: /a/c/../../etc → /etc
        assert_eq!(m.path, "/etc");
    }

    #[test]
    fn graphql_documents_in_the_query_string_and_body_give_their_literals() {
        let literals = |m: &RequestModel| -> Vec<(String, Vec<u8>)> {
            m.graphql_args
                .iter()
                .map(|a| (a.name.to_string(), a.value.to_vec()))
                .collect()
        };
        let mut headers = Headers::default();
        headers.push("Content-Type", b"application/json".to_vec());
        let mut m = RequestModel::from_head(
            "POST",
            "/graphql?query=%7B%20a(q%3A%20%22x%22)%20%7B%20id%20%7D%20%7D&q=%7B%20b(q%3A%20%22y%22)%20%7D",
            "HTTP/1.1",
            headers,
        );
        // only the argument named query is a document
        assert_eq!(literals(&m), vec![("a.q".to_string(), b"x".to_vec())]);
        m.attach_body(br#"{"query": "{ c(q: \"z\") { id } }"}"#.to_vec(), false);
        let both = vec![
            ("a.q".to_string(), b"x".to_vec()),
            ("c.q".to_string(), b"z".to_vec()),
        ];
        assert_eq!(literals(&m), both);
        // a body attached again replaces the earlier body's, not the query string's
        m.attach_body(br#"{"query": "{ d(q: \"w\") { id } }"}"#.to_vec(), false);
        assert_eq!(
            literals(&m),
            vec![
                ("a.q".to_string(), b"x".to_vec()),
                ("d.q".to_string(), b"w".to_vec())
            ]
        );
    }

    #[test]
    fn absolute_form_target_and_cookies() {
        let m = RequestModel::from_head(
            "GET",
            "http://example.com/x?y=1",
            "HTTP/1.1",
            headers(&[("Cookie", "a=1; b = two ;c"), ("cookie", "d=4")]),
        );
        assert_eq!(m.path_raw, "/x");
        assert_eq!(m.host, "example.com");
        let names: Vec<&str> = m.cookies.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, vec!["a", "b", "c", "d"]);
        assert_eq!(m.cookies[1].value, b"two");
    }

    #[test]
    fn non_ascii_targets_do_not_panic() {
        // found by the raw_request fuzz target: a multi-byte character where a scheme
        // prefix would end
        let m = RequestModel::from_head("GET", "/aaaaű/x?q=é", "HTTP/1.1", Headers::default());
        assert_eq!(m.query_raw, "q=é");
        let m = RequestModel::from_head("GET", "httű://x", "HTTP/1.1", Headers::default());
        assert_eq!(m.path_raw, "httű://x");
    }

    #[test]
    fn header_lookup_ignores_case_and_keeps_repeats() {
        let h = headers(&[("X-A", "1"), ("x-a", "2")]);
        assert_eq!(h.get_all("X-a").count(), 2);
        assert_eq!(h.get("X-A"), Some(&b"1"[..]));
    }
}
