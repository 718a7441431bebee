//! Request body parsers, chosen by content type.
//!
//! This module owns turning the inspected body bytes into named arguments and uploaded
//! files: URL-encoded forms (via [`crate::urlencoded`]), `multipart/form-data`, JSON
//! (flattened to dotted leaf names) and XML (element paths, attributes, CDATA). Parsers never
//! fail: anomalies and syntax errors are recorded in [`ParsedBody::errors`] (prefixed with
//! the parser name, e.g. `"multipart: ..."`), and whatever was extracted before an error is
//! kept. A `truncated` body (only a prefix was inspected) does not report the errors that the
//! truncation itself causes. XML entities and DTDs are never resolved (XXE safety).

use std::borrow::Cow;

use memchr::memmem;
use quick_xml::events::{BytesStart, Event};
use quick_xml::Reader;

use crate::model::Arg;

/// Most arguments (plus files) one body may produce; beyond it parsing stops with an error.
pub const MAX_BODY_ARGS: usize = 10_000;

/// Which parser handled the body.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum BodyKind {
    /// No body (empty).
    #[default]
    None,
    UrlEncoded,
    Multipart,
    Json,
    Xml,
    /// A body of any other (or no) content type: inspected only as raw bytes.
    Raw,
    /// `application/graphql`: a GraphQL document, whose string literals are the arguments
    /// ([`crate::graphql`]). ModSecurity-compatible consumers treat it as [`Raw`] (no body
    /// processor runs for it there).
    ///
    /// [`Raw`]: BodyKind::Raw
    GraphQl,
    /// A body of another (or no) content type that is JSON nonetheless: one document, or
    /// newline-delimited documents. `navigator.sendBeacon` sends strings as `text/plain`,
    /// and error reporters send envelopes of JSON lines so; the leaves are arguments as a
    /// declared JSON body's are. ModSecurity-compatible consumers treat it as [`Raw`]
    /// (no body processor runs for such a type there).
    ///
    /// [`Raw`]: BodyKind::Raw
    UndeclaredJson,
}

/// One uploaded file of a multipart body.
#[derive(Debug, Clone, Default)]
pub struct FilePart {
    /// The form field name (`name=`).
    pub field: String,
    /// The file name as sent (`filename*=` decoded when present, else `filename=`).
    pub filename: String,
    /// The part's `Content-Type`, if it had one.
    pub content_type: Option<String>,
    /// Length of `content` in bytes.
    pub size: usize,
    pub content: Vec<u8>,
}

/// The result of [`parse_body`].
#[derive(Debug, Clone, Default)]
pub struct ParsedBody {
    pub kind: BodyKind,
    pub args: Vec<Arg>,
    pub files: Vec<FilePart>,
    pub errors: Vec<String>,
    /// Where a JSON body stopped parsing (byte offset into the body), when it did.
    pub json_stopped_at: Option<usize>,
    /// String literals of GraphQL documents inside a JSON body (see
    /// [`RequestModel::graphql_args`](crate::RequestModel::graphql_args)).
    pub graphql_args: Vec<Arg>,
    /// How many of `args` are GraphQL documents ([`is_graphql_document`]).
    pub graphql_documents: usize,
    /// Charsets of multipart text fields that byte matching cannot read
    /// ([`crate::charset::CharsetKind::Unreadable`]; ASP.NET decodes a part declared
    /// `text/plain; charset=ibm037`).
    pub part_charsets: Vec<String>,
}

/// Parses `raw` according to `content_type` (the full header value; parameters other than
/// the multipart `boundary` are ignored). `truncated` says `raw` is only a prefix of the body.
pub fn parse_body(content_type: Option<&str>, raw: &[u8], truncated: bool) -> ParsedBody {
    let mut out = ParsedBody::default();
    if raw.is_empty() {
        return out;
    }
    let ct = content_type.unwrap_or("");
    let mt = ct
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    out.kind = kind_of(&mt);
    match out.kind {
        BodyKind::UrlEncoded => out.args = crate::urlencoded::parse_pairs(raw),
        BodyKind::Multipart => parse_multipart(ct, raw, truncated, &mut out),
        BodyKind::Json => parse_json(raw, truncated, &mut out),
        BodyKind::Xml => parse_xml(raw, truncated, &mut out),
        BodyKind::GraphQl => {
            if let Err(e) = crate::graphql::string_arguments(raw, MAX_BODY_ARGS, &mut out.args) {
                out.errors.push(format!("graphql: {e}"));
            }
        }
        BodyKind::Raw if !truncated => sniff_json(raw, &mut out),
        BodyKind::None | BodyKind::Raw | BodyKind::UndeclaredJson => {}
    }
    // a GraphQL document posted as a field `query` (JSON, or a form as express-graphql
    // takes it); an application/graphql body's literals are its arguments already
    if out.kind != BodyKind::GraphQl {
        out.graphql_documents = graphql_in_args(&out.args, MAX_BODY_ARGS, &mut out.graphql_args);
    }
    out
}

/// Takes a body of no JSON type apart as JSON when it is exactly that: one document, or
/// documents one per line. Anything else stays [`BodyKind::Raw`] with no arguments (the
/// detectors see it whole), never with a syntax error: the client did not claim JSON.
fn sniff_json(raw: &[u8], out: &mut ParsedBody) {
    let starts_json = |b: &[u8]| matches!(trim_ws(b).first(), Some(b'{' | b'['));
    if !starts_json(raw) {
        return;
    }
    let mut args = Vec::new();
    let parsed = match crate::json::flatten(raw, MAX_BODY_ARGS, &mut args) {
        Ok(()) => true,
        Err(crate::json::JsonError::TooManyLeaves) => false,
        Err(crate::json::JsonError::Syntax { .. }) => {
            args.clear();
            raw.split(|&b| b == b'\n')
                .filter(|line| !trim_ws(line).is_empty())
                .all(|line| {
                    starts_json(line)
                        && crate::json::flatten(line, MAX_BODY_ARGS, &mut args).is_ok()
                })
        }
    };
    if parsed {
        out.kind = BodyKind::UndeclaredJson;
        out.args = args;
    }
}

/// Maps a lowercased media type (no parameters) to the parser that handles it.
pub fn kind_of(media_type: &str) -> BodyKind {
    let (top, sub) = media_type.split_once('/').unwrap_or((media_type, ""));
    match (top, sub) {
        ("application", "x-www-form-urlencoded") => BodyKind::UrlEncoded,
        ("multipart", "form-data") => BodyKind::Multipart,
        ("application", "json") | ("text", "json") => BodyKind::Json,
        ("application", s) if s.ends_with("+json") => BodyKind::Json,
        ("application", "graphql") => BodyKind::GraphQl,
        ("application", "xml") | ("text", "xml") => BodyKind::Xml,
        ("application", s) if s.ends_with("+xml") => BodyKind::Xml,
        _ => BodyKind::Raw,
    }
}

fn push_arg(out: &mut ParsedBody, name: String, value: Vec<u8>) {
    out.args.push(Arg {
        name: name.into(),
        value: value.into(),
        name_repeats: None,
    });
}

fn lossy(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn trim_ws(mut s: &[u8]) -> &[u8] {
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

// ---------------------------------------------------------------------------------------
// Header parameters (`type; a=1; b="x y"`)
// ---------------------------------------------------------------------------------------

/// One `name=value` parameter of a structured header. Names are lowercased.
#[derive(Debug)]
struct Param {
    name: String,
    value: Vec<u8>,
}

/// Splits a structured header value into its leading token (lowercased) and parameters.
/// Quoted values may contain `;` and the escapes `\"` and `\\` (other backslashes are kept,
/// as browsers send Windows paths unescaped). Anomalies go to `errors` with `prefix`.
fn parse_params(value: &[u8], prefix: &str, errors: &mut Vec<String>) -> (String, Vec<Param>) {
    let head_end = value.iter().position(|&b| b == b';').unwrap_or(value.len());
    let head = lossy(trim_ws(&value[..head_end])).to_ascii_lowercase();
    let mut params = Vec::new();
    let mut i = head_end;
    let n = value.len();
    while i < n {
        // Skip separators.
        while i < n && (value[i] == b';' || value[i].is_ascii_whitespace()) {
            i += 1;
        }
        if i >= n {
            break;
        }
        let name_start = i;
        while i < n && value[i] != b'=' && value[i] != b';' {
            i += 1;
        }
        let name = lossy(trim_ws(&value[name_start..i])).to_ascii_lowercase();
        if i >= n || value[i] == b';' {
            // A bare token without a value.
            params.push(Param {
                name,
                value: Vec::new(),
            });
            continue;
        }
        i += 1; // '='
        while i < n && (value[i] == b' ' || value[i] == b'\t') {
            i += 1;
        }
        let mut v = Vec::new();
        if i < n && value[i] == b'"' {
            i += 1;
            let mut closed = false;
            while i < n {
                match value[i] {
                    b'"' => {
                        closed = true;
                        i += 1;
                        break;
                    }
                    b'\\' if matches!(value.get(i + 1), Some(b'"' | b'\\')) => {
                        v.push(value[i + 1]);
                        i += 2;
                    }
                    b => {
                        v.push(b);
                        i += 1;
                    }
                }
            }
            if !closed {
                errors.push(format!("{prefix}: unterminated quoted parameter value"));
            }
            // Anything between the closing quote and the next ';' is ignored.
            while i < n && value[i] != b';' {
                i += 1;
            }
        } else {
            let start = i;
            while i < n && value[i] != b';' {
                i += 1;
            }
            v.extend_from_slice(trim_ws(&value[start..i]));
        }
        params.push(Param { name, value: v });
    }
    (head, params)
}

// ---------------------------------------------------------------------------------------
// multipart/form-data
// ---------------------------------------------------------------------------------------

fn parse_multipart(ct: &str, raw: &[u8], truncated: bool, out: &mut ParsedBody) {
    let (_, params) = parse_params(ct.as_bytes(), "multipart", &mut out.errors);
    let mut boundaries = params.into_iter().filter(|p| p.name == "boundary");
    let boundary = match boundaries.next() {
        Some(p) if !p.value.is_empty() => p.value,
        _ => {
            out.errors
                .push("multipart: missing boundary parameter".into());
            return;
        }
    };
    if boundaries.next().is_some() {
        out.errors
            .push("multipart: duplicate boundary parameter".into());
    }
    let mut delim = b"--".to_vec();
    delim.extend_from_slice(&boundary);
    let mut nl_delim = vec![b'\n'];
    nl_delim.extend_from_slice(&delim);
    let finder = memmem::Finder::new(&nl_delim);

    // The first delimiter: at the very start, or at the start of a line.
    let mut pos = if raw.starts_with(&delim) {
        0
    } else {
        match finder.find(raw) {
            Some(f) => {
                if raw[..f].iter().any(|b| !b.is_ascii_whitespace()) {
                    out.errors
                        .push("multipart: data before first boundary".into());
                }
                f + 1
            }
            None => {
                out.errors.push("multipart: boundary not found".into());
                return;
            }
        }
    };
    pos += delim.len();
    let missing_final = |out: &mut ParsedBody| {
        if !truncated {
            out.errors.push("multipart: missing final boundary".into());
        }
    };

    loop {
        // `pos` is just after a delimiter.
        let rest = &raw[pos..];
        if rest.starts_with(b"--") {
            if rest[2..].iter().any(|b| !b.is_ascii_whitespace()) {
                out.errors
                    .push("multipart: data after final boundary".into());
            }
            return;
        }
        let mut p = pos;
        while p < raw.len() && (raw[p] == b' ' || raw[p] == b'\t') {
            p += 1;
        }
        match raw.get(p) {
            None => return missing_final(out),
            Some(b'\n') => pos = p + 1,
            Some(b'\r') if raw.get(p + 1) == Some(&b'\n') => pos = p + 2,
            Some(b'\r') if p + 1 == raw.len() => return missing_final(out),
            Some(_) => {
                out.errors.push("multipart: invalid boundary line".into());
                match memchr::memchr(b'\n', &raw[p..]) {
                    Some(nl) => pos = p + nl + 1,
                    None => return missing_final(out),
                }
            }
        }

        // Part headers, up to an empty line.
        let mut headers: Vec<(Vec<u8>, Vec<u8>)> = Vec::new();
        let content_start = loop {
            let Some(nl) = memchr::memchr(b'\n', &raw[pos..]) else {
                if !truncated {
                    out.errors.push("multipart: incomplete part headers".into());
                }
                return missing_final(out);
            };
            let mut line = &raw[pos..pos + nl];
            if let [rest @ .., b'\r'] = line {
                line = rest;
            }
            pos += nl + 1;
            match line.first() {
                None => break pos,
                Some(b' ' | b'\t') => match headers.last_mut() {
                    // Folded continuation of the previous header.
                    Some((_, value)) => {
                        value.push(b' ');
                        value.extend_from_slice(trim_ws(line));
                    }
                    None => out.errors.push("multipart: invalid part header".into()),
                },
                Some(_) => match line.iter().position(|&b| b == b':') {
                    Some(c) => headers.push((
                        trim_ws(&line[..c]).to_vec(),
                        trim_ws(&line[c + 1..]).to_vec(),
                    )),
                    None => out.errors.push("multipart: invalid part header".into()),
                },
            }
        };

        // Content, up to the next "\n--boundary" (searching from the LF that ended the
        // headers, so a delimiter right after them means empty content).
        let search_from = content_start - 1;
        let (content, next) = match finder.find(&raw[search_from..]) {
            Some(f) => {
                let f = search_from + f;
                let mut end = f.max(content_start);
                if end > content_start && raw[end - 1] == b'\r' {
                    end -= 1;
                }
                (&raw[content_start..end], Some(f + 1 + delim.len()))
            }
            None => (&raw[content_start..], None),
        };
        if out.args.len() + out.files.len() >= MAX_BODY_ARGS {
            out.errors
                .push(format!("multipart: too many parts (limit {MAX_BODY_ARGS})"));
            return;
        }
        emit_part(&headers, content, out);
        match next {
            Some(n) => pos = n,
            None => return missing_final(out),
        }
    }
}

fn emit_part(headers: &[(Vec<u8>, Vec<u8>)], content: &[u8], out: &mut ParsedBody) {
    let header = |name: &'static str| {
        headers
            .iter()
            .filter(move |(n, _)| n.eq_ignore_ascii_case(name.as_bytes()))
            .map(|(_, v)| v.as_slice())
    };
    let mut dispositions = header("content-disposition");
    let Some(disposition) = dispositions.next() else {
        out.errors
            .push("multipart: part without Content-Disposition".into());
        push_arg(out, String::new(), content.to_vec());
        return;
    };
    if dispositions.next().is_some() {
        out.errors
            .push("multipart: duplicate Content-Disposition header".into());
    }
    let (kind, params) = parse_params(disposition, "multipart", &mut out.errors);
    if kind != "form-data" {
        out.errors
            .push("multipart: invalid Content-Disposition type".into());
    }
    let mut name: Option<Vec<u8>> = None;
    let mut filename: Option<Vec<u8>> = None;
    let mut filename_ext: Option<Vec<u8>> = None;
    let mut duplicate = false;
    for p in params {
        let slot = match p.name.as_str() {
            "name" => &mut name,
            "filename" => &mut filename,
            "filename*" => &mut filename_ext,
            _ => continue,
        };
        if slot.is_some() {
            duplicate = true;
        } else {
            *slot = Some(p.value);
        }
    }
    if duplicate {
        out.errors
            .push("multipart: duplicate Content-Disposition parameter".into());
    }
    let field = lossy(name.as_deref().unwrap_or(b""));
    let filename = match (filename_ext, filename) {
        (Some(ext), plain) => {
            let decoded = decode_ext_value(&ext);
            if plain.as_ref().is_some_and(|p| *p != decoded) {
                out.errors
                    .push("multipart: filename and filename* differ".into());
            }
            Some(decoded)
        }
        (None, plain) => plain,
    };
    match filename {
        Some(filename) => out.files.push(FilePart {
            field,
            filename: lossy(&filename),
            content_type: header("content-type").next().map(lossy),
            size: content.len(),
            content: content.to_vec(),
        }),
        None => {
            let unreadable = header("content-type")
                .flat_map(|ct| crate::charset::charset_params(&lossy(ct)))
                .filter(|c| crate::charset::kind(c) == crate::charset::CharsetKind::Unreadable);
            out.part_charsets.extend(unreadable);
            // UTF-16/32 values stay as sent: decoding bytes that are not UTF-16 would hide
            // them from inspection while an application ignoring the charset reads them
            // (signature pipelines remove the NULs of UTF-16 ASCII)
            push_arg(out, field, content.to_vec())
        }
    }
}

/// RFC 5987 `charset'language'percent-encoded` → the percent-decoded bytes (the charset is
/// not converted). A value not in that form is only percent-decoded.
fn decode_ext_value(v: &[u8]) -> Vec<u8> {
    let mut quotes = v.iter().enumerate().filter(|(_, &b)| b == b'\'');
    let encoded = match (quotes.next(), quotes.next()) {
        (Some(_), Some((second, _))) => &v[second + 1..],
        _ => v,
    };
    crate::urlencoded::percent_decode(encoded, false)
}

// ---------------------------------------------------------------------------------------
// JSON
// ---------------------------------------------------------------------------------------

fn parse_json(raw: &[u8], truncated: bool, out: &mut ParsedBody) {
    match crate::json::flatten(raw, MAX_BODY_ARGS, &mut out.args) {
        Ok(()) => {}
        Err(crate::json::JsonError::TooManyLeaves) => out
            .errors
            .push(format!("json: too many arguments (limit {MAX_BODY_ARGS})")),
        Err(_) if truncated => out.args = lenient_json_strings(raw),
        // The leaves read before the error are kept.
        Err(crate::json::JsonError::Syntax { message, at }) => {
            out.errors.push(format!("json: {message} at byte {at}"));
            out.json_stopped_at = Some(at);
        }
    }
}

/// Appends the string literals of GraphQL documents carried by arguments named `query`
/// (or ending in `.query`: a batch's `0.query`, a nested one), as `application/graphql`
/// bodies give theirs, while `out` holds fewer than `cap` (a budget of their own: padding
/// the JSON with leaves must not crowd them out). A GraphQL-over-HTTP request
/// sends the document as one value (`?query={…}`, `{"query": "…", "variables": {…}}`), so
/// without this a list anchored at a value's start (`^\s*\d+\s+or\s+true`) never saw
/// `product(id: "1 or true")`; variables are arguments already.
pub(crate) fn graphql_in_args(args: &[Arg], cap: usize, out: &mut Vec<Arg>) -> usize {
    let mut documents = 0;
    // Chain heads (`Arg::name_repeats`) with a document's name, in order. A name that is
    // its chain head's but for array index digits is a document's name when the head's
    // is: `query` holds no index, and the last six bytes of `a.7.query` are the rest after
    // the index, those of `a.7.b` or `a.7` hold a digit or a short rest (a 700-leaf order
    // asked each name: ~15k instructions).
    let mut named_heads: Vec<u32> = Vec::new();
    for (i, arg) in args.iter().enumerate() {
        let named = match arg.name_repeats {
            Some(head) => named_heads.binary_search(&head).is_ok(),
            None => {
                let named = is_graphql_document_name(&arg.name);
                if named {
                    named_heads.push(i as u32);
                }
                named
            }
        };
        if !named || !looks_like_graphql(&arg.value) {
            continue;
        }
        documents += 1;
        // only documents with a string literal have anything to give
        if !arg.value.contains(&b'"') {
            continue;
        }
        if out.len() >= cap {
            break;
        }
        // a too deep or too long document still gives the literals read before the stop
        let _ = crate::graphql::string_arguments(&arg.value, cap, out);
        // strings outside any arguments are not a document's values: `query "a b"` typed
        // into a search box named query is prose (earlier documents' are gone already)
        out.retain(|a| a.name != crate::graphql::OUTSIDE_ARGUMENTS);
    }
    documents
}

/// Whether an argument is a GraphQL document sent over HTTP: named `query` (a query string
/// parameter, or a JSON body field such as `query` or `0.query` in a batch) and starting as
/// an executable document does.
pub fn is_graphql_document(name: &str, value: &[u8]) -> bool {
    is_graphql_document_name(name) && looks_like_graphql(value)
}

fn is_graphql_document_name(name: &str) -> bool {
    name == "query" || name.ends_with(".query")
}

/// Whether `value` starts as a GraphQL executable document does, after what GraphQL
/// ignores (blanks, commas, a byte order mark, `#` comments): a selection set, or an
/// operation or fragment keyword.
fn looks_like_graphql(value: &[u8]) -> bool {
    let mut v = value;
    loop {
        match v.first() {
            Some(b' ' | b'\t' | b'\n' | b'\r' | b',') => v = &v[1..],
            Some(b'#') => {
                v = memchr::memchr2(b'\n', b'\r', v).map_or(&[][..], |n| &v[n..]);
            }
            _ if v.starts_with("\u{feff}".as_bytes()) => v = &v[3..],
            _ => break,
        }
    }
    let keyword = |k: &[u8]| {
        v.starts_with(k)
            && v.get(k.len())
                .is_none_or(|&b| !(b.is_ascii_alphanumeric() || b == b'_'))
    };
    v.first() == Some(&b'{')
        || keyword(b"query")
        || keyword(b"mutation")
        || keyword(b"subscription")
        || keyword(b"fragment")
}

/// Fallback for a truncated JSON body that does not parse: every string literal seen
/// (keys included, the last one possibly cut short), unescaped, as an argument `json`.
fn lenient_json_strings(raw: &[u8]) -> Vec<Arg> {
    let mut args = Vec::new();
    let mut i = 0;
    while let Some(off) = memchr::memchr(b'"', &raw[i..]) {
        i += off + 1;
        let mut value = Vec::new();
        while let Some(&b) = raw.get(i) {
            i += 1;
            match b {
                b'"' => break,
                b'\\' => i = json_escape(raw, i, &mut value),
                _ => value.push(b),
            }
        }
        if !value.is_empty() {
            if args.len() >= MAX_BODY_ARGS {
                break;
            }
            args.push(Arg {
                name: "json".into(),
                value: value.into(),
                name_repeats: None,
            });
        }
    }
    args
}

/// Decodes the escape whose character (after `\`) is at `i`; returns the index after it.
fn json_escape(raw: &[u8], i: usize, out: &mut Vec<u8>) -> usize {
    let Some(&c) = raw.get(i) else { return i };
    let simple = match c {
        b'n' => Some(b'\n'),
        b't' => Some(b'\t'),
        b'r' => Some(b'\r'),
        b'b' => Some(0x08),
        b'f' => Some(0x0c),
        b'u' => None,
        other => Some(other),
    };
    if let Some(b) = simple {
        out.push(b);
        return i + 1;
    }
    let hex4 = |at: usize| -> Option<u32> {
        let s = std::str::from_utf8(raw.get(at..at + 4)?).ok()?;
        u32::from_str_radix(s, 16).ok()
    };
    let Some(hi) = hex4(i + 1) else {
        out.push(b'u');
        return i + 1;
    };
    let mut next = i + 5;
    let mut code = hi;
    if (0xd800..0xdc00).contains(&hi) && raw.get(next..next + 2) == Some(b"\\u") {
        if let Some(lo) = hex4(next + 2).filter(|lo| (0xdc00..0xe000).contains(lo)) {
            code = 0x10000 + ((hi - 0xd800) << 10) + (lo - 0xdc00);
            next += 6;
        }
    }
    let ch = char::from_u32(code).unwrap_or(char::REPLACEMENT_CHARACTER);
    let mut buf = [0u8; 4];
    out.extend_from_slice(ch.encode_utf8(&mut buf).as_bytes());
    next
}

// ---------------------------------------------------------------------------------------
// XML
// ---------------------------------------------------------------------------------------

fn parse_xml(raw: &[u8], truncated: bool, out: &mut ParsedBody) {
    let mut reader = Reader::from_reader(raw);
    {
        let config = reader.config_mut();
        config.check_end_names = true;
        config.expand_empty_elements = false;
        config.trim_text(false);
    }
    // Element path as "a.b.c", with the length before each element to pop back to.
    let mut path = String::new();
    let mut marks: Vec<usize> = Vec::new();
    let mut text: Vec<u8> = Vec::new();
    loop {
        if out.args.len() >= MAX_BODY_ARGS {
            out.args.truncate(MAX_BODY_ARGS);
            out.errors
                .push(format!("xml: too many arguments (limit {MAX_BODY_ARGS})"));
            return;
        }
        match reader.read_event() {
            Ok(Event::Start(e)) => {
                flush_xml_text(&path, &mut text, out);
                marks.push(path.len());
                push_element(&mut path, &e);
                xml_attributes(&e, &path, out);
            }
            Ok(Event::Empty(e)) => {
                flush_xml_text(&path, &mut text, out);
                let mark = path.len();
                push_element(&mut path, &e);
                xml_attributes(&e, &path, out);
                path.truncate(mark);
            }
            Ok(Event::End(_)) => {
                flush_xml_text(&path, &mut text, out);
                if let Some(mark) = marks.pop() {
                    path.truncate(mark);
                }
            }
            Ok(Event::Text(t)) => text.extend_from_slice(&xml_unescape(&t)),
            Ok(Event::CData(c)) => text.extend_from_slice(&c),
            // Comments, processing instructions, the declaration and the DTD carry no
            // values; the DTD is deliberately never interpreted.
            Ok(Event::Comment(_) | Event::PI(_) | Event::Decl(_) | Event::DocType(_)) => {}
            Ok(Event::Eof) => {
                flush_xml_text(&path, &mut text, out);
                if !marks.is_empty() && !truncated {
                    out.errors
                        .push(format!("xml: unclosed element <{path}> at end of body"));
                }
                return;
            }
            Err(e) => {
                flush_xml_text(&path, &mut text, out);
                let cut_short = matches!(e, quick_xml::Error::Syntax(_));
                if !(truncated && cut_short) {
                    out.errors
                        .push(format!("xml: {e} (at byte {})", reader.error_position()));
                }
                return;
            }
        }
    }
}

fn push_element(path: &mut String, e: &BytesStart<'_>) {
    if !path.is_empty() {
        path.push('.');
    }
    path.push_str(&String::from_utf8_lossy(e.local_name().as_ref()));
}

fn xml_attributes(e: &BytesStart<'_>, path: &str, out: &mut ParsedBody) {
    for attr in e.attributes() {
        match attr {
            Ok(a) => {
                let name = format!(
                    "{path}.@{}",
                    String::from_utf8_lossy(a.key.local_name().as_ref())
                );
                let value = xml_unescape(&a.value).into_owned();
                push_arg(out, name, value);
            }
            Err(err) => {
                out.errors.push(format!("xml: {err}"));
                break;
            }
        }
    }
}

/// Emits the text collected for the current element (text and CDATA pieces joined, so a
/// value split by a comment or CDATA section is seen whole). Whitespace-only text is skipped.
fn flush_xml_text(path: &str, text: &mut Vec<u8>, out: &mut ParsedBody) {
    if text.iter().all(u8::is_ascii_whitespace) {
        text.clear();
        return;
    }
    let name = if path.is_empty() { "xml" } else { path };
    push_arg(out, name.to_string(), std::mem::take(text));
}

/// Resolves the five predefined XML entities and character references. Any other `&name;`
/// (DTD-declared entities, e.g. an XXE attempt) stays literal.
fn xml_unescape(raw: &[u8]) -> Cow<'_, [u8]> {
    if !raw.contains(&b'&') {
        return Cow::Borrowed(raw);
    }
    let mut out = Vec::with_capacity(raw.len());
    let mut i = 0;
    while let Some(&b) = raw.get(i) {
        if b == b'&' {
            let semi = raw[i + 1..]
                .iter()
                .take(12)
                .position(|&c| c == b';')
                .map(|p| i + 1 + p);
            if let Some(semi) = semi {
                if let Some(ch) = xml_reference(&raw[i + 1..semi]) {
                    let mut buf = [0u8; 4];
                    out.extend_from_slice(ch.encode_utf8(&mut buf).as_bytes());
                    i = semi + 1;
                    continue;
                }
            }
        }
        out.push(b);
        i += 1;
    }
    Cow::Owned(out)
}

fn xml_reference(name: &[u8]) -> Option<char> {
    match name {
        b"lt" => Some('<'),
        b"gt" => Some('>'),
        b"amp" => Some('&'),
        b"quot" => Some('"'),
        b"apos" => Some('\''),
        [b'#', b'x' | b'X', hex @ ..] => {
            let s = std::str::from_utf8(hex).ok()?;
            char::from_u32(u32::from_str_radix(s, 16).ok()?)
        }
        [b'#', dec @ ..] => {
            let s = std::str::from_utf8(dec).ok()?;
            char::from_u32(s.parse().ok()?)
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(p: &ParsedBody) -> Vec<(&str, &[u8])> {
        p.args
            .iter()
            .map(|a| (a.name.as_str(), a.value.as_slice()))
            .collect()
    }

    #[test]
    fn empty_body_and_dispatch() {
        let p = parse_body(Some("application/json"), b"", false);
        assert_eq!(p.kind, BodyKind::None);
        assert!(p.args.is_empty() && p.errors.is_empty());
        assert_eq!(parse_body(None, b"x", false).kind, BodyKind::Raw);
        assert_eq!(
            parse_body(Some("text/plain"), b"a=1", false).kind,
            BodyKind::Raw
        );
        assert_eq!(kind_of("application/problem+json"), BodyKind::Json);
        assert_eq!(kind_of("application/graphql-response+json"), BodyKind::Json);
        assert_eq!(kind_of("text/json"), BodyKind::Json);
        assert_eq!(kind_of("application/soap+xml"), BodyKind::Xml);
        assert_eq!(kind_of("text/xml"), BodyKind::Xml);
        assert_eq!(kind_of("multipart/mixed"), BodyKind::Raw);
        assert_eq!(kind_of("application/octet-stream"), BodyKind::Raw);
    }

    #[test]
    fn documents_in_arrays_are_found_by_their_chain_heads_as_by_their_own_names() {
        // the reference: every argument asked on its own
        fn one_by_one(args: &[Arg]) -> (usize, Vec<(String, Vec<u8>)>) {
            let mut out = Vec::new();
            let mut documents = 0;
            for arg in args
                .iter()
                .filter(|a| is_graphql_document(&a.name, &a.value))
            {
                documents += 1;
                if arg.value.contains(&b'"') {
                    let _ = crate::graphql::string_arguments(&arg.value, MAX_BODY_ARGS, &mut out);
                    out.retain(|a| a.name != crate::graphql::OUTSIDE_ARGUMENTS);
                }
            }
            (
                documents,
                out.iter()
                    .map(|a| (a.name.to_string(), a.value.to_vec()))
                    .collect(),
            )
        }
        let mut rng = crate::TestRng(0x6a09_e667_f3bc_c908);
        let keys = ["query", "querx", "xquery", "q", "a.query", "query0", "1"];
        let values = [
            r#""{ a(q: \"x\") { id } }""#,
            r#""query { b(s: \"y\") }""#,
            r#""plain words""#,
            "7",
        ];
        let mut documents_seen = 0;
        for _ in 0..400 {
            let mut items = Vec::new();
            for _ in 0..(1 + rng.next() % 12) {
                let value = values[(rng.next() % values.len() as u64) as usize];
                let item = match rng.next() % 4 {
                    0 => value.to_string(),
                    1 => format!("[{value},{value}]"),
                    _ => {
                        let key = keys[(rng.next() % keys.len() as u64) as usize];
                        format!("{{\"{key}\":{value},\"query\":{value}}}")
                    }
                };
                items.push(item);
            }
            let outer = ["", "query", "x", "data.query"][(rng.next() % 4) as usize];
            let doc = if outer.is_empty() {
                format!("[{}]", items.join(","))
            } else {
                format!("{{\"{outer}\":[{}]}}", items.join(","))
            };
            let p = parse_body(Some("application/json"), doc.as_bytes(), false);
            assert!(p.errors.is_empty(), "{doc}");
            let got: Vec<(String, Vec<u8>)> = p
                .graphql_args
                .iter()
                .map(|a| (a.name.to_string(), a.value.to_vec()))
                .collect();
            assert_eq!((p.graphql_documents, got), one_by_one(&p.args), "{doc}");
            documents_seen += p.graphql_documents;
        }
        assert!(documents_seen > 200, "{documents_seen}");
    }

    #[test]
    fn graphql_documents_inside_json_give_their_string_literals() {
        let gql = |p: &ParsedBody| -> Vec<(String, Vec<u8>)> {
            p.graphql_args
                .iter()
                .map(|a| (a.name.to_string(), a.value.to_vec()))
                .collect()
        };
        let one = br#"{"query": "query P { product(id: \"1 or true\") { name } }", "variables": {"x": 2}}"#;
        let p = parse_body(Some("application/json"), one, false);
        assert_eq!(
            gql(&p),
            vec![("product.id".to_string(), b"1 or true".to_vec())]
        );
        // the JSON leaves are as before: the document stays one value named `query`
        assert_eq!(
            args(&p),
            vec![
                (
                    "query",
                    &b"query P { product(id: \"1 or true\") { name } }"[..]
                ),
                ("variables.x", b"2")
            ]
        );
        // batches; `{` and `mutation` documents
        let batch = br#"[{"query": "{ a(q: \"x\") { id } }"}, {"query": "mutation { b(s: \"y\") { id } }"}]"#;
        let p = parse_body(Some("application/json"), batch, false);
        assert_eq!(
            gql(&p),
            vec![
                ("a.q".to_string(), b"x".to_vec()),
                ("b.s".to_string(), b"y".to_vec())
            ]
        );
        // prose in a field named query, another name, a document without literals: nothing
        for doc in [
            &br#"{"query": "querying \"shoes\" is slow"}"#[..],
            br#"{"search": {"q": "{ a(q: \"x\") { id } }"}}"#,
            br#"{"query": "{ products { id } }"}"#,
        ] {
            let p = parse_body(Some("application/json"), doc, false);
            assert!(gql(&p).is_empty(), "{}", String::from_utf8_lossy(doc));
        }
        // `search.query` is a query too
        let nested = br#"{"search": {"query": "query { a(q: \"z\") { id } }"}}"#;
        let p = parse_body(Some("application/json"), nested, false);
        assert_eq!(gql(&p), vec![("a.q".to_string(), b"z".to_vec())]);
        // what GraphQL ignores before the document: a comment, commas, a byte order mark
        let z = vec![("a.q".to_string(), b"z".to_vec())];
        for doc in [
            &br##"{"query": "# cached\n{ a(q: \"z\") { id } }"}"##[..],
            br#"{"query": "\ufeff , { a(q: \"z\") { id } }"}"#,
        ] {
            let p = parse_body(Some("application/json"), doc, false);
            assert_eq!(gql(&p), z, "{}", String::from_utf8_lossy(doc));
        }
        // a form field, as express-graphql takes it
        let form = b"query=%7B+a%28q%3A+%22z%22%29+%7B+id+%7D+%7D";
        let p = parse_body(Some("application/x-www-form-urlencoded"), form, false);
        assert_eq!(gql(&p), z);
        // leaves padding the document to the body's argument limit do not crowd it out
        let mut padded = br#"{"query": "{ a(q: \"z\") { id } }", "variables": ["#.to_vec();
        for i in 0..MAX_BODY_ARGS {
            padded.extend_from_slice(if i == 0 { b"0" } else { b",0" });
        }
        padded.extend_from_slice(b"]}");
        let p = parse_body(Some("application/json"), &padded, false);
        assert_eq!(p.args.len(), MAX_BODY_ARGS);
        assert_eq!(gql(&p), z);
        // strings outside any arguments are not taken: prose typed into a box named query
        let prose = br#"{"query": "query \"1 or true\" docs"}"#;
        assert!(gql(&parse_body(Some("application/json"), prose, false)).is_empty());
    }

    #[test]
    fn json_under_another_type_is_taken_apart() {
        // sendBeacon's text/plain, one document
        let p = parse_body(
            Some("text/plain;charset=UTF-8"),
            br#" {"a": {"b": "x"}} "#,
            false,
        );
        assert_eq!(p.kind, BodyKind::UndeclaredJson);
        assert_eq!(p.args.len(), 1);
        assert_eq!(p.args[0].name, "a.b");
        // newline-delimited documents (error-reporter envelopes, bulk APIs), blank lines too
        let p = parse_body(None, b"{\"a\": 1}\n\n[\"y\"]\r\n", false);
        assert_eq!(p.kind, BodyKind::UndeclaredJson);
        let names: Vec<_> = p.args.iter().map(|a| a.name.as_str()).collect();
        assert_eq!(names, ["a", "0"]);
        assert!(p.errors.is_empty());
        // anything else stays raw, with no arguments and no error: JSON was not claimed
        for body in [
            &b"{\"a\": 1} and more"[..],
            b"{\"a\": 1}\nq=1",
            b"q=1&r=2",
            b"[1, 2",
        ] {
            let p = parse_body(Some("text/plain"), body, false);
            assert_eq!(p.kind, BodyKind::Raw, "{body:?}");
            assert!(p.args.is_empty() && p.errors.is_empty(), "{body:?}");
        }
        // a truncated body is not guessed at
        let p = parse_body(Some("text/plain"), br#"{"a": "x"}"#, true);
        assert_eq!(p.kind, BodyKind::Raw);
    }

    #[test]
    fn urlencoded() {
        let p = parse_body(
            Some("Application/X-WWW-Form-URLEncoded; charset=UTF-8"),
            b"a=1&b=%27+x",
            false,
        );
        assert_eq!(p.kind, BodyKind::UrlEncoded);
        assert_eq!(args(&p), vec![("a", &b"1"[..]), ("b", &b"' x"[..])]);
    }

    const MP: &str = "multipart/form-data; boundary=XyZ";

    #[test]
    fn multipart_fields_and_files() {
        let body = b"--XyZ\r\n\
Content-Disposition: form-data; name=\"user\"\r\n\
\r\n\
admin' OR 1=1\r\n\
--XyZ\r\n\
Content-Disposition: form-data; name=\"up\"; filename=\"shell.php\"\r\n\
Content-Type: application/x-php\r\n\
\r\n\
<?php system($_GET[1]); ?>\r\n\
--XyZ\r\n\
Content-Disposition: form-data; name=empty\r\n\
\r\n\
\r\n\
--XyZ--\r\n";
        let p = parse_body(Some(MP), body, false);
        assert_eq!(p.kind, BodyKind::Multipart);
        assert!(p.errors.is_empty(), "{:?}", p.errors);
        assert_eq!(
            args(&p),
            vec![("user", &b"admin' OR 1=1"[..]), ("empty", &b""[..])]
        );
        assert_eq!(p.files.len(), 1);
        let f = &p.files[0];
        assert_eq!(f.field, "up");
        assert_eq!(f.filename, "shell.php");
        assert_eq!(f.content_type.as_deref(), Some("application/x-php"));
        assert_eq!(f.content, b"<?php system($_GET[1]); ?>");
        assert_eq!(f.size, f.content.len());
    }

    #[test]
    fn multipart_field_charsets_are_decoded_or_reported() {
        let mut body = b"--XyZ\r\nContent-Disposition: form-data; name=\"a\"\r\n\
Content-Type: text/plain; charset=utf-16le\r\n\r\n"
            .to_vec();
        body.extend("o'brien".encode_utf16().flat_map(u16::to_le_bytes));
        body.extend_from_slice(
            b"\r\n--XyZ\r\nContent-Disposition: form-data; name=\"b\"\r\n\
Content-Type: text/plain; charset=IBM037\r\n\r\n\x96}\r\n\
--XyZ\r\nContent-Disposition: form-data; name=\"c\"\r\n\
Content-Type: text/plain; charset=Shift_JIS\r\n\r\nplain\r\n--XyZ--\r\n",
        );
        let p = parse_body(Some(MP), &body, false);
        assert!(p.errors.is_empty(), "{:?}", p.errors);
        assert_eq!(
            args(&p),
            vec![
                (
                    "a",
                    &"o'brien"
                        .encode_utf16()
                        .flat_map(u16::to_le_bytes)
                        .collect::<Vec<u8>>()[..]
                ),
                ("b", &b"\x96}"[..]),
                ("c", &b"plain"[..])
            ]
        );
        assert_eq!(p.part_charsets, vec!["ibm037".to_string()]);
    }

    #[test]
    fn multipart_lf_quoted_boundary_continuation_and_ext_filename() {
        let body = b"preamble is ignored\n--a b\n\
content-disposition: form-data;\n\
\tname=\"f\"; filename*=UTF-8''%E2%82%AC%20x.txt\n\
\n\
line1\nline2\n\
--a b\n\
Content-Disposition: form-data; name=\"q\\\"x\"; filename=\"C:\\dir\\a.jsp\"\n\
\n\
data\n\
--a b--";
        let p = parse_body(
            Some("multipart/form-data; charset=utf-8; BOUNDARY=\"a b\""),
            body,
            false,
        );
        assert_eq!(p.errors, vec!["multipart: data before first boundary"]);
        assert_eq!(p.files.len(), 2);
        assert_eq!(p.files[0].field, "f");
        assert_eq!(p.files[0].filename, "\u{20ac} x.txt");
        assert_eq!(p.files[0].content, b"line1\nline2");
        assert_eq!(p.files[1].field, "q\"x");
        assert_eq!(p.files[1].filename, "C:\\dir\\a.jsp");
        assert!(p.args.is_empty());
    }

    #[test]
    fn multipart_anomalies() {
        // Missing boundary parameter.
        let p = parse_body(Some("multipart/form-data"), b"--x\r\n", false);
        assert_eq!(p.errors, vec!["multipart: missing boundary parameter"]);
        // Unterminated: no final boundary.
        let body = b"--B\r\nContent-Disposition: form-data; name=a\r\n\r\nvalue";
        let p = parse_body(Some("multipart/form-data; boundary=B"), body, false);
        assert_eq!(args(&p), vec![("a", &b"value"[..])]);
        assert_eq!(p.errors, vec!["multipart: missing final boundary"]);
        // ... which is expected when the body was truncated.
        let p = parse_body(Some("multipart/form-data; boundary=B"), body, true);
        assert_eq!(args(&p), vec![("a", &b"value"[..])]);
        assert!(p.errors.is_empty());
        // Truncated inside the headers.
        let p = parse_body(
            Some("multipart/form-data; boundary=B"),
            b"--B\r\nContent-Disp",
            true,
        );
        assert!(p.errors.is_empty() && p.args.is_empty());
        let p = parse_body(
            Some("multipart/form-data; boundary=B"),
            b"--B\r\nContent-Disp",
            false,
        );
        assert!(p
            .errors
            .contains(&"multipart: missing final boundary".to_string()));
        // Boundary never appears.
        let p = parse_body(Some("multipart/form-data; boundary=B"), b"hello", false);
        assert_eq!(p.errors, vec!["multipart: boundary not found"]);
        // No Content-Disposition, duplicate params, header without colon, data after end.
        let body = b"--B\r\nX-Foo: 1\r\n\r\nv1\r\n--B\r\n\
Content-Disposition: form-data; name=a; name=b\r\nbroken header\r\n\r\nv2\r\n--B--\r\ntrailing";
        let p = parse_body(Some("multipart/form-data; boundary=B"), body, false);
        assert_eq!(args(&p), vec![("", &b"v1"[..]), ("a", &b"v2"[..])]);
        for e in [
            "multipart: part without Content-Disposition",
            "multipart: duplicate Content-Disposition parameter",
            "multipart: invalid part header",
            "multipart: data after final boundary",
        ] {
            assert!(p.errors.iter().any(|x| x == e), "{e} in {:?}", p.errors);
        }
        // Garbage after a boundary on its line.
        let body = b"--B junk\r\nContent-Disposition: form-data; name=a\r\n\r\nv\r\n--B--";
        let p = parse_body(Some("multipart/form-data; boundary=B"), body, false);
        assert_eq!(args(&p), vec![("a", &b"v"[..])]);
        assert_eq!(p.errors, vec!["multipart: invalid boundary line"]);
        // Delimiter directly after the headers: empty content.
        let body = b"--B\r\nContent-Disposition: form-data; name=a\r\n\r\n--B--";
        let p = parse_body(Some("multipart/form-data; boundary=B"), body, false);
        assert_eq!(args(&p), vec![("a", &b""[..])]);
        assert!(p.errors.is_empty());
    }

    #[test]
    fn json_flattening() {
        let body = br#"{"user":{"name":"a\u0027b","address":{"city":"X"}},
            "items":[{"sku":"1"},{"sku":2.5}],"ok":true,"none":null,"n":-3,"e":{},"a":[],
            "user":"dup"}"#;
        let p = parse_body(Some("application/json; charset=utf-8"), body, false);
        assert_eq!(p.kind, BodyKind::Json);
        assert!(p.errors.is_empty(), "{:?}", p.errors);
        assert_eq!(
            args(&p),
            vec![
                ("user.name", &b"a'b"[..]),
                ("user.address.city", &b"X"[..]),
                ("items.0.sku", &b"1"[..]),
                ("items.1.sku", &b"2.5"[..]),
                ("ok", &b"true"[..]),
                ("none", &b""[..]),
                ("n", &b"-3"[..]),
                ("user", &b"dup"[..]),
            ]
        );
        let p = parse_body(Some("application/json"), br#""<script>""#, false);
        assert_eq!(args(&p), vec![("json", &b"<script>"[..])]);
        let p = parse_body(Some("text/json"), b"[1,[2]]", false);
        assert_eq!(args(&p), vec![("0", &b"1"[..]), ("1.0", &b"2"[..])]);
    }

    #[test]
    fn json_errors() {
        let p = parse_body(Some("application/json"), br#"{"a":"x", bad}"#, false);
        assert_eq!(args(&p), vec![("a", &b"x"[..])]);
        assert_eq!(p.errors.len(), 1);
        assert!(p.errors[0].starts_with("json: "), "{:?}", p.errors);
        let p = parse_body(Some("application/json"), b"{} trailing", false);
        assert_eq!(p.errors.len(), 1);
        let p = parse_body(Some("application/json"), b"\xff\xfe\x00garbage", false);
        assert_eq!(p.errors.len(), 1);
        // Depth beyond the limit (128) is an error, not a stack overflow.
        let deep = "[".repeat(5000);
        let p = parse_body(Some("application/json"), deep.as_bytes(), false);
        assert_eq!(p.errors.len(), 1);
        // Too many leaves.
        let many = format!("[{}0]", "0,".repeat(MAX_BODY_ARGS + 5));
        let p = parse_body(Some("application/json"), many.as_bytes(), false);
        assert_eq!(p.args.len(), MAX_BODY_ARGS);
        assert_eq!(
            p.errors,
            vec![format!("json: too many arguments (limit {MAX_BODY_ARGS})")]
        );
    }

    #[test]
    fn json_truncated_falls_back_to_strings() {
        let body = br#"{"q":"1' UNION SELECT \"x\"\u0041","next":"<scr"#;
        let p = parse_body(Some("application/json"), body, true);
        assert!(p.errors.is_empty());
        assert_eq!(
            args(&p),
            vec![
                ("json", &b"q"[..]),
                ("json", &b"1' UNION SELECT \"x\"A"[..]),
                ("json", &b"next"[..]),
                ("json", &b"<scr"[..]),
            ]
        );
        // A complete document is parsed normally even when flagged truncated.
        let p = parse_body(Some("application/json"), br#"{"a":1}"#, true);
        assert_eq!(args(&p), vec![("a", &b"1"[..])]);
        // Escapes cut short do not panic.
        for cut in [&br#"["\"#[..], br#"["\u12"#, br#"["\ud83d\ude"#] {
            let _ = parse_body(Some("application/json"), cut, true);
        }
        let p = parse_body(Some("application/json"), br#"["\ud83d\ude00"#, true);
        assert_eq!(args(&p), vec![("json", "\u{1f600}".as_bytes())]);
    }

    #[test]
    fn xml_values_attributes_cdata() {
        let body = br#"<?xml version="1.0"?>
<!DOCTYPE order [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<ns:order xmlns:ns="urn:x" id="7">
  <item sku="A&amp;B"><name>&lt;b&gt; &xxe; &#65;</name><empty/><flag on="1"/></item>
  <note><![CDATA[<script>]]>alert<!-- c -->(1)</note>
</ns:order>"#;
        let p = parse_body(Some("application/xml"), body, false);
        assert_eq!(p.kind, BodyKind::Xml);
        assert!(p.errors.is_empty(), "{:?}", p.errors);
        assert_eq!(
            args(&p),
            vec![
                ("order.@ns", &b"urn:x"[..]),
                ("order.@id", &b"7"[..]),
                ("order.item.@sku", &b"A&B"[..]),
                ("order.item.name", &b"<b> &xxe; A"[..]),
                ("order.item.flag.@on", &b"1"[..]),
                ("order.note", &b"<script>alert(1)"[..]),
            ]
        );
    }

    #[test]
    fn xml_errors() {
        let p = parse_body(Some("text/xml"), b"<a><b>x</c></a>", false);
        assert_eq!(p.errors.len(), 1, "{:?}", p.errors);
        assert!(p.errors[0].starts_with("xml: "));
        let p = parse_body(Some("text/xml"), b"<a><b>kept</b><c>", false);
        assert_eq!(args(&p), vec![("a.b", &b"kept"[..])]);
        assert_eq!(p.errors.len(), 1, "{:?}", p.errors);
        // Truncated: the cut is not an error, the text before it is kept.
        let p = parse_body(Some("text/xml"), b"<a><b>kept</b><c>par", true);
        assert!(p.errors.is_empty(), "{:?}", p.errors);
        assert_eq!(args(&p), vec![("a.b", &b"kept"[..]), ("a.c", &b"par"[..])]);
        let p = parse_body(Some("text/xml"), b"<a><b x='1", true);
        assert!(p.errors.is_empty(), "{:?}", p.errors);
        let p = parse_body(Some("text/xml"), b"<a><b x='1", false);
        assert_eq!(p.errors.len(), 1);
        // Duplicate attribute.
        let p = parse_body(Some("text/xml"), b"<a x='1' x='2'/>", false);
        assert!(!p.errors.is_empty());
        // Garbage.
        let p = parse_body(Some("application/xml"), b"\x00\xff<<<>>>&&;", false);
        let _ = p;
    }

    /// xorshift64*: small deterministic PRNG.
    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
        }
    }

    #[test]
    fn parsers_are_total_on_random_input() {
        let seeds: [&[u8]; 4] = [
            b"--B\r\nContent-Disposition: form-data; name=\"a\"; filename=\"x\"\r\n\r\nv\r\n--B--",
            br#"{"a":[1,{"b":"c\u0041"}],"d":null}"#,
            b"<a x='1'><b><![CDATA[c]]></b>&lt;</a>",
            b"a=1&b=%41",
        ];
        let types = [
            "multipart/form-data; boundary=B",
            "application/json",
            "application/xml",
            "application/x-www-form-urlencoded",
        ];
        let mut rng = Rng(0x1234_5678_9abc_def1);
        for _ in 0..2000 {
            let which = (rng.next() % 4) as usize;
            let mut input = seeds[which].to_vec();
            for _ in 0..(rng.next() % 6) {
                let r = rng.next();
                let at = (r >> 16) as usize % (input.len() + 1);
                match r % 3 {
                    0 if at < input.len() => {
                        input.remove(at);
                    }
                    1 => input.insert(at, (r >> 40) as u8),
                    _ => input.truncate(at),
                }
            }
            for truncated in [false, true] {
                let _ = parse_body(Some(types[which]), &input, truncated);
                let _ = parse_body(Some(types[(which + 1) % 4]), &input, truncated);
            }
        }
    }
}
