//! Which parts of a request the classifier scores, one decoded value at a time: the path,
//! argument values and unusual argument names (query and body), cookies, free-form header
//! values, upload file names, and the raw body when it has no parsed fields.

use palisade_http::{BodyKind, RequestModel};

/// Where a value was found; turned into a ModSecurity-style target name only when reported.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Place<'r> {
    Path,
    ArgValue(&'r str),
    ArgName(&'r str),
    CookieValue(&'r str),
    CookieName(&'r str),
    Header(&'r str),
    FileName(&'r str),
    FileContent(&'r str),
    Body,
}

impl Place<'_> {
    pub fn target_name(&self) -> String {
        match self {
            Place::Path => "REQUEST_FILENAME".to_string(),
            Place::ArgValue(n) => format!("ARGS:{n}"),
            Place::ArgName(n) => format!("ARGS_NAMES:{n}"),
            Place::CookieValue(n) => format!("REQUEST_COOKIES:{n}"),
            Place::CookieName(n) => format!("REQUEST_COOKIES_NAMES:{n}"),
            Place::Header(n) => format!("REQUEST_HEADERS:{n}"),
            Place::FileName(n) => format!("FILES:{n}"),
            Place::FileContent(n) => format!("FILES_CONTENT:{n}"),
            Place::Body => "REQUEST_BODY".to_string(),
        }
    }
}

/// True for values no injection can be written in: only ASCII letters, digits and `_ - . , @`
/// (numbers, ids, slugs, plain words). They are not scored at all, which is both the
/// common case on the wire and a source of zero false positives.
pub fn is_trivial(value: &[u8]) -> bool {
    value.len() <= 128
        && value
            .iter()
            .all(|&b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.' | b',' | b'@'))
        && !value.windows(2).any(|w| w == b"..")
}

/// Calls `visit` for every location the classifier scores, in a fixed order.
pub fn for_each_location<'r>(
    request: &'r RequestModel,
    mut visit: impl FnMut(Place<'r>, &'r [u8]),
) {
    let path = request.path_raw.as_bytes();
    if !is_trivial_path(path) {
        visit(Place::Path, path);
    }
    for (_, arg) in request.args() {
        if !is_trivial_name(&arg.name) {
            visit(Place::ArgName(&arg.name), arg.name.as_bytes());
        }
        if !is_trivial(&arg.value) {
            visit(Place::ArgValue(&arg.name), &arg.value);
        }
    }
    for c in &request.cookies {
        if !is_trivial_name(&c.name) {
            visit(Place::CookieName(&c.name), c.name.as_bytes());
        }
        if !is_trivial(&c.value) {
            visit(Place::CookieValue(&c.name), &c.value);
        }
    }
    for (name, value) in request.headers.iter() {
        if !palisade_http::is_structural_header(name) && !is_trivial(value) {
            visit(Place::Header(name), value);
        }
    }
    // A Cookie header that does not split into `name=value` pairs is not a cookie jar
    // (Shellshock's `() { :; };` splits into meaningless fragments): score it whole.
    if request
        .cookies
        .iter()
        .any(|c| c.value.is_empty() && !is_trivial_name(&c.name))
    {
        for value in request.headers.get_all("cookie") {
            visit(Place::Header("Cookie"), value);
        }
    }
    if let Some(body) = &request.body {
        for f in &body.files {
            if !is_trivial(f.filename.as_bytes()) {
                visit(Place::FileName(&f.field), f.filename.as_bytes());
            }
            // Uploaded text (scripts, templates, config files) is where web shells travel;
            // binary uploads are skipped.
            let binary_part = f
                .content_type
                .as_deref()
                .is_some_and(|m| palisade_http::is_binary_media_type(&m.to_ascii_lowercase()))
                && !looks_like_text(&f.content);
            if !binary_part && looks_like_text(&f.content) && !is_trivial(&f.content) {
                visit(Place::FileContent(&f.field), &f.content);
            }
        }
        let binary = request
            .mime_type()
            .is_some_and(|m| palisade_http::is_binary_media_type(&m));
        // Parsed bodies are scored field by field (above); the raw bytes are scored when
        // there are no fields, when parsing failed, or for XML (a DOCTYPE is no field).
        let raw_needed =
            matches!(body.kind, BodyKind::Raw | BodyKind::Xml) || !body.errors.is_empty();
        if raw_needed && !binary && !body.raw.is_empty() && !is_trivial(&body.raw) {
            visit(Place::Body, &body.raw);
        }
    }
}

/// No NUL bytes and at most 5% control bytes (other than whitespace) in the first 1 KB.
pub fn looks_like_text(v: &[u8]) -> bool {
    let head = &v[..v.len().min(1024)];
    let controls = head
        .iter()
        .filter(|&&b| b == 0 || (b < 0x20 && !matches!(b, b'\t' | b'\n' | b'\r')) || b == 0x7f)
        .count();
    !head.contains(&0) && controls * 20 <= head.len()
}

/// Argument names like `user[first_name]` or `items.0.sku` (form arrays, JSON leaf paths).
pub fn is_trivial_name(name: &str) -> bool {
    name.len() <= 128
        && name.bytes().all(|b| {
            b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.' | b'[' | b']' | b'$')
        })
}

/// Paths made of trivial segments separated by `/` (the vast majority) are not scored.
pub fn is_trivial_path(path: &[u8]) -> bool {
    path.split(|&b| b == b'/').all(is_trivial)
}

#[cfg(test)]
mod tests {
    use super::*;
    use palisade_http::Headers;

    #[test]
    fn visits_decoded_arguments_cookies_and_free_headers_only() {
        let mut h = Headers::default();
        h.push("Host", b"x".to_vec());
        h.push("User-Agent", b"Mozilla/5.0 (X11)".to_vec());
        h.push("Cookie", b"sid=abc123; pref=%7B%22a%22%3A1%7D".to_vec());
        h.push(
            "Content-Type",
            b"application/x-www-form-urlencoded".to_vec(),
        );
        let mut r = RequestModel::from_head("POST", "/a/b.php?id=1&q=x%27+or+1%3D1", "HTTP/1.1", h);
        r.attach_body(b"comment=hi+there%21".to_vec(), false);
        let mut seen = Vec::new();
        for_each_location(&r, |p, v| {
            seen.push((p.target_name(), String::from_utf8_lossy(v).into_owned()))
        });
        assert_eq!(
            seen,
            vec![
                ("ARGS:q".to_string(), "x' or 1=1".to_string()),
                ("ARGS:comment".to_string(), "hi there!".to_string()),
                (
                    "REQUEST_COOKIES:pref".to_string(),
                    "%7B%22a%22%3A1%7D".to_string()
                ),
                (
                    "REQUEST_HEADERS:User-Agent".to_string(),
                    "Mozilla/5.0 (X11)".to_string()
                ),
            ]
        );
    }
}
