//! Rule targets: `ARGS|REQUEST_HEADERS:User-Agent|!REQUEST_COOKIES:/^__utm/|&TX:score`.
//!
//! A [`Target`] names a collection, optionally one key or a key regex, and may count (`&`)
//! or exclude (`!`). Which collections exist, and what they hold for a request, is decided
//! by `transaction`; this module only parses and validates the syntax and names.

use crate::parse::{LoadError, Origin};

/// Every collection or scalar variable the engine knows.
pub const KNOWN: &[&str] = &[
    "ARGS",
    "ARGS_GET",
    "ARGS_POST",
    "ARGS_NAMES",
    "ARGS_GET_NAMES",
    "ARGS_POST_NAMES",
    "ARGS_COMBINED_SIZE",
    "REQUEST_HEADERS",
    "REQUEST_HEADERS_NAMES",
    "REQUEST_COOKIES",
    "REQUEST_COOKIES_NAMES",
    "REQUEST_FILENAME",
    "REQUEST_BASENAME",
    "REQUEST_URI",
    "REQUEST_URI_RAW",
    "REQUEST_LINE",
    "REQUEST_METHOD",
    "REQUEST_PROTOCOL",
    "QUERY_STRING",
    "REQUEST_BODY",
    "REQUEST_BODY_LENGTH",
    "FULL_REQUEST",
    "FULL_REQUEST_LENGTH",
    "FILES",
    "FILES_NAMES",
    "FILES_SIZES",
    "FILES_COMBINED_SIZE",
    "FILES_TMPNAMES",
    "FILES_TMP_CONTENT",
    "MULTIPART_PART_HEADERS",
    "MULTIPART_FILENAME",
    "MULTIPART_NAME",
    "MULTIPART_STRICT_ERROR",
    "MULTIPART_UNMATCHED_BOUNDARY",
    "MULTIPART_BOUNDARY_QUOTED",
    "MULTIPART_BOUNDARY_WHITESPACE",
    "MULTIPART_DATA_BEFORE",
    "MULTIPART_DATA_AFTER",
    "MULTIPART_HEADER_FOLDING",
    "MULTIPART_LF_LINE",
    "MULTIPART_MISSING_SEMICOLON",
    "MULTIPART_INVALID_QUOTING",
    "MULTIPART_INVALID_PART",
    "MULTIPART_INVALID_HEADER_FOLDING",
    "MULTIPART_FILE_LIMIT_EXCEEDED",
    "MULTIPART_CRLF_LF_LINES",
    "REQBODY_ERROR",
    "REQBODY_ERROR_MSG",
    "REQBODY_PROCESSOR",
    "REQBODY_PROCESSOR_ERROR",
    "INBOUND_DATA_ERROR",
    "OUTBOUND_DATA_ERROR",
    "XML",
    "RESPONSE_STATUS",
    "RESPONSE_PROTOCOL",
    "RESPONSE_HEADERS",
    "RESPONSE_HEADERS_NAMES",
    "RESPONSE_BODY",
    "RESPONSE_CONTENT_TYPE",
    "RESPONSE_CONTENT_LENGTH",
    "STATUS_LINE",
    "TX",
    "ENV",
    "IP",
    "GLOBAL",
    "SESSION",
    "USER",
    "RESOURCE",
    "GEO",
    "RULE",
    "UNIQUE_ID",
    "REMOTE_ADDR",
    "REMOTE_HOST",
    "REMOTE_PORT",
    "REMOTE_USER",
    "SERVER_ADDR",
    "SERVER_NAME",
    "SERVER_PORT",
    "AUTH_TYPE",
    "PATH_INFO",
    "TIME",
    "TIME_DAY",
    "TIME_EPOCH",
    "TIME_HOUR",
    "TIME_MIN",
    "TIME_MON",
    "TIME_SEC",
    "TIME_WDAY",
    "TIME_YEAR",
    "DURATION",
    "HIGHEST_SEVERITY",
    "MATCHED_VAR",
    "MATCHED_VARS",
    "MATCHED_VAR_NAME",
    "MATCHED_VARS_NAMES",
    "WEBSERVER_ERROR_LOG",
    "URLENCODED_ERROR",
    "STATUS",
    "USERID",
    "SESSIONID",
    "WEBAPPID",
];

/// Which keys of a collection a target takes.
#[derive(Debug, Clone)]
pub enum Selector {
    /// All keys.
    All,
    /// One key, compared ASCII case-insensitively (stored lowercased).
    Key(String),
    /// Keys matching a regex (case-insensitive).
    Regex(KeyRegex),
}

/// A key selector's regex (`TX:/^header_name_920450_/`), case-insensitive.
#[derive(Debug, Clone)]
pub struct KeyRegex {
    regex: regex::Regex,
    /// For `^` followed by letters, digits, `_` and `-` alone: that text, lowercased. An
    /// ASCII key matches exactly when it starts with it, ignoring ASCII case, which is
    /// cheaper than running the regex (CRS 920450 tests every TX key per header).
    prefix: Option<String>,
    /// For a pattern without `^` made of letters, digits, `_` and `-`, then nothing, `.*`,
    /// or a `*` or `?` on its last character: the text (lowercased, without that last
    /// character) an ASCII key matches exactly when it contains, ignoring ASCII case.
    /// (CRS 922110's `TX:/MULTIPART_HEADERS_CONTENT_TYPES_*/` ran its regex on every TX key
    /// of every request.)
    contained: Option<String>,
}

impl KeyRegex {
    /// Compiles `pattern` case-insensitively.
    pub fn new(pattern: &str) -> Result<KeyRegex, regex::Error> {
        let regex = regex::RegexBuilder::new(pattern)
            .case_insensitive(true)
            .build()?;
        let prefix = pattern
            .strip_prefix('^')
            .filter(|p| {
                !p.is_empty()
                    && p.bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
            })
            .map(str::to_ascii_lowercase);
        let contained = contained_literal(pattern);
        Ok(KeyRegex {
            regex,
            prefix,
            contained,
        })
    }

    pub fn is_match(&self, key: &str) -> bool {
        match &self.prefix {
            Some(p) => {
                // Most keys differ from the prefix at their first byte (CRS 920450 asks
                // this of every TX key per header): an ASCII byte there that is not the
                // prefix's first in either case cannot match (ASCII letters fold only to each
                // other or to non-ASCII letters).
                if let (Some(&k0), Some(&p0)) = (key.as_bytes().first(), p.as_bytes().first()) {
                    if k0.is_ascii() && !k0.eq_ignore_ascii_case(&p0) {
                        return false;
                    }
                }
                // Unicode case folding could match a non-ASCII key (`ſ` for `s`): regex then
                if key.is_ascii() {
                    key.len() >= p.len()
                        && key.as_bytes()[..p.len()].eq_ignore_ascii_case(p.as_bytes())
                } else {
                    self.regex.is_match(key)
                }
            }
            None => match &self.contained {
                // (no key shorter than the text matches: a non-ASCII letter folding to an
                // ASCII one takes more bytes than it, so the length goes first)
                Some(text) if key.len() < text.len() => false,
                Some(text) if key.is_ascii() => key
                    .as_bytes()
                    .windows(text.len())
                    .any(|w| w.eq_ignore_ascii_case(text.as_bytes())),
                _ => self.regex.is_match(key),
            },
        }
    }

    /// The lower-case text every key it matches starts with (ignoring ASCII case), when the
    /// pattern is `^` and such text alone.
    pub fn literal_prefix(&self) -> Option<&str> {
        self.prefix.as_deref()
    }

    /// The pattern as written.
    pub fn as_str(&self) -> &str {
        self.regex.as_str()
    }
}

/// See [`KeyRegex::contained`].
fn contained_literal(pattern: &str) -> Option<String> {
    let run = pattern
        .bytes()
        .take_while(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-'))
        .count();
    let (run, rest) = pattern.split_at(run);
    let text = match rest {
        "" | ".*" => run,
        // (the quantifier is on the run's last character, which may then be absent)
        "*" | "?" => &run[..run.len().checked_sub(1)?],
        _ => return None,
    };
    (!text.is_empty()).then(|| text.to_ascii_lowercase())
}

impl Selector {
    pub fn matches(&self, key: &str) -> bool {
        match self {
            Selector::All => true,
            Selector::Key(k) => key.eq_ignore_ascii_case(k),
            Selector::Regex(r) => r.is_match(key),
        }
    }

    /// The selector as written (for `SecRuleUpdateTarget` comparisons and logs).
    pub fn text(&self) -> String {
        match self {
            Selector::All => String::new(),
            Selector::Key(k) => k.clone(),
            Selector::Regex(r) => format!("/{}/", r.as_str().trim_start_matches("(?i)")),
        }
    }
}

/// A collection the transaction fills, resolved from its name when a rule is loaded: a
/// request's ~60 collection reads each matched the name against ~50 others.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CollectionId {
    Args,
    ArgsGet,
    ArgsPost,
    ArgsNames,
    ArgsGetNames,
    ArgsPostNames,
    ArgsCombinedSize,
    RequestHeaders,
    RequestHeadersNames,
    RequestCookies,
    RequestCookiesNames,
    RequestFilename,
    RequestBasename,
    /// `REQUEST_URI` and `REQUEST_URI_RAW`.
    RequestUri,
    RequestLine,
    RequestMethod,
    RequestProtocol,
    QueryString,
    RequestBody,
    /// `REQUEST_BODY_LENGTH` and `FULL_REQUEST_LENGTH`.
    RequestBodyLength,
    Files,
    FilesNames,
    FilesSizes,
    FilesCombinedSize,
    /// `REQBODY_ERROR` and `REQBODY_PROCESSOR_ERROR`.
    ReqbodyError,
    ReqbodyErrorMsg,
    ReqbodyProcessor,
    Xml,
    Tx,
    Env,
    UniqueId,
    RemoteAddr,
    ServerName,
    MatchedVar,
    MatchedVarName,
    MatchedVars,
    MatchedVarsNames,
    Duration,
    HighestSeverity,
    TimeEpoch,
    ResponseStatus,
    ResponseProtocol,
    ResponseHeaders,
    ResponseHeadersNames,
    ResponseBody,
    ResponseContentType,
    ResponseContentLength,
    MultipartPartHeaders,
    /// The other `MULTIPART_*` flags but `MULTIPART_FILENAME` and `MULTIPART_NAME`: `0`.
    MultipartFlag,
    /// Collections Palisade does not fill (persistent storage, GEO, ...): empty.
    Unfilled,
}

impl CollectionId {
    /// The collection named `name` (upper case, no key).
    pub fn of(name: &str) -> CollectionId {
        use CollectionId::*;
        match name {
            "ARGS" => Args,
            "ARGS_GET" => ArgsGet,
            "ARGS_POST" => ArgsPost,
            "ARGS_NAMES" => ArgsNames,
            "ARGS_GET_NAMES" => ArgsGetNames,
            "ARGS_POST_NAMES" => ArgsPostNames,
            "ARGS_COMBINED_SIZE" => ArgsCombinedSize,
            "REQUEST_HEADERS" => RequestHeaders,
            "REQUEST_HEADERS_NAMES" => RequestHeadersNames,
            "REQUEST_COOKIES" => RequestCookies,
            "REQUEST_COOKIES_NAMES" => RequestCookiesNames,
            "REQUEST_FILENAME" => RequestFilename,
            "REQUEST_BASENAME" => RequestBasename,
            "REQUEST_URI" | "REQUEST_URI_RAW" => RequestUri,
            "REQUEST_LINE" => RequestLine,
            "REQUEST_METHOD" => RequestMethod,
            "REQUEST_PROTOCOL" => RequestProtocol,
            "QUERY_STRING" => QueryString,
            "REQUEST_BODY" => RequestBody,
            "REQUEST_BODY_LENGTH" | "FULL_REQUEST_LENGTH" => RequestBodyLength,
            "FILES" => Files,
            "FILES_NAMES" => FilesNames,
            "FILES_SIZES" => FilesSizes,
            "FILES_COMBINED_SIZE" => FilesCombinedSize,
            "REQBODY_ERROR" | "REQBODY_PROCESSOR_ERROR" => ReqbodyError,
            "REQBODY_ERROR_MSG" => ReqbodyErrorMsg,
            "REQBODY_PROCESSOR" => ReqbodyProcessor,
            "XML" => Xml,
            "TX" => Tx,
            "ENV" => Env,
            "UNIQUE_ID" => UniqueId,
            "REMOTE_ADDR" => RemoteAddr,
            "SERVER_NAME" => ServerName,
            "MATCHED_VAR" => MatchedVar,
            "MATCHED_VAR_NAME" => MatchedVarName,
            "MATCHED_VARS" => MatchedVars,
            "MATCHED_VARS_NAMES" => MatchedVarsNames,
            "DURATION" => Duration,
            "HIGHEST_SEVERITY" => HighestSeverity,
            "TIME_EPOCH" => TimeEpoch,
            "RESPONSE_STATUS" => ResponseStatus,
            "RESPONSE_PROTOCOL" => ResponseProtocol,
            "RESPONSE_HEADERS" => ResponseHeaders,
            "RESPONSE_HEADERS_NAMES" => ResponseHeadersNames,
            "RESPONSE_BODY" => ResponseBody,
            "RESPONSE_CONTENT_TYPE" => ResponseContentType,
            "RESPONSE_CONTENT_LENGTH" => ResponseContentLength,
            "MULTIPART_PART_HEADERS" => MultipartPartHeaders,
            n if n.starts_with("MULTIPART_")
                && n != "MULTIPART_FILENAME"
                && n != "MULTIPART_NAME" =>
            {
                MultipartFlag
            }
            _ => Unfilled,
        }
    }
}

#[derive(Debug, Clone)]
pub struct Target {
    /// Upper-case collection name (`ARGS`, `REQUEST_HEADERS`, `TX`).
    pub collection: String,
    /// The same, resolved.
    pub id: CollectionId,
    pub selector: Selector,
    /// `&`: the number of values instead of the values.
    pub count: bool,
    /// `!`: removes matching keys from the other targets of the same collection.
    pub exclude: bool,
}

impl Target {
    /// `ARGS:foo`-style text, as used in ctl and update directives.
    pub fn describe(&self) -> String {
        let sel = self.selector.text();
        if sel.is_empty() {
            self.collection.clone()
        } else {
            format!("{}:{}", self.collection, sel)
        }
    }
}

/// Parses a `|`-separated target list.
pub fn parse_targets(text: &str, origin: &Origin) -> Result<Vec<Target>, LoadError> {
    let mut out = Vec::new();
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        // one element
        let mut count = false;
        let mut exclude = false;
        while i < bytes.len() && (bytes[i] == b'&' || bytes[i] == b'!' || bytes[i] == b' ') {
            match bytes[i] {
                b'&' => count = true,
                b'!' => exclude = true,
                _ => {}
            }
            i += 1;
        }
        let start = i;
        while i < bytes.len() && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'_') {
            i += 1;
        }
        let name = text[start..i].to_ascii_uppercase();
        if name.is_empty() {
            return Err(LoadError::new(
                origin,
                format!("empty variable name in {text:?}"),
            ));
        }
        if !KNOWN.contains(&name.as_str()) {
            return Err(LoadError::new(origin, format!("unknown variable {name}")));
        }
        let mut selector = Selector::All;
        if i < bytes.len() && (bytes[i] == b':' || bytes[i] == b'.') {
            i += 1;
            if i < bytes.len() && bytes[i] == b'/' && !name.eq("XML") {
                // a regex up to the `/` that ends the element
                let re_start = i + 1;
                let mut j = re_start;
                let mut end = None;
                while j < bytes.len() {
                    if bytes[j] == b'\\' {
                        j += 2;
                        continue;
                    }
                    if bytes[j] == b'/' && (j + 1 == bytes.len() || bytes[j + 1] == b'|') {
                        end = Some(j);
                        break;
                    }
                    j += 1;
                }
                let end = end.ok_or_else(|| {
                    LoadError::new(origin, format!("unterminated key regex in {text:?}"))
                })?;
                let pattern = &text[re_start..end];
                let re = KeyRegex::new(pattern).map_err(|e| {
                    LoadError::new(origin, format!("bad key regex /{pattern}/: {e}"))
                })?;
                selector = Selector::Regex(re);
                i = end + 1;
            } else {
                let key_start = i;
                while i < bytes.len() && bytes[i] != b'|' {
                    i += 1;
                }
                let key = text[key_start..i].trim().trim_matches('\'');
                selector = Selector::Key(key.to_ascii_lowercase());
            }
        }
        out.push(Target {
            id: CollectionId::of(&name),
            collection: name,
            selector,
            count,
            exclude,
        });
        while i < bytes.len() && bytes[i] == b' ' {
            i += 1;
        }
        if i < bytes.len() {
            if bytes[i] != b'|' {
                return Err(LoadError::new(
                    origin,
                    format!("unexpected {:?} in variables {text:?}", bytes[i] as char),
                ));
            }
            i += 1;
        }
    }
    if out.is_empty() {
        return Err(LoadError::new(origin, "no variables"));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    /// Names resolve to the collection the transaction fills for them, aliases included;
    /// `MULTIPART_*` flags other than the part's file and field names read `0`, and names
    /// of collections Palisade does not fill read nothing.
    #[test]
    fn collection_names_resolve_with_their_aliases() {
        use CollectionId::*;
        for (name, id) in [
            ("ARGS", Args),
            ("ARGS_POST_NAMES", ArgsPostNames),
            ("REQUEST_URI_RAW", RequestUri),
            ("REQUEST_URI", RequestUri),
            ("FULL_REQUEST_LENGTH", RequestBodyLength),
            ("REQBODY_PROCESSOR_ERROR", ReqbodyError),
            ("REQBODY_PROCESSOR", ReqbodyProcessor),
            ("MULTIPART_PART_HEADERS", MultipartPartHeaders),
            ("MULTIPART_STRICT_ERROR", MultipartFlag),
            ("MULTIPART_FILENAME", Unfilled),
            ("MULTIPART_NAME", Unfilled),
            ("GEO", Unfilled),
            ("args", Unfilled),
        ] {
            assert_eq!(CollectionId::of(name), id, "{name}");
        }
        let targets = parse_targets("REQUEST_HEADERS:Host|!ARGS:x|&TX:a", &o()).expect("parses");
        let ids: Vec<CollectionId> = targets.iter().map(|t| t.id).collect();
        assert_eq!(ids, [RequestHeaders, Args, Tx]);
    }

    fn o() -> Origin {
        Origin {
            file: PathBuf::from("t.conf"),
            line: 7,
        }
    }

    #[test]
    fn parses_keys_regexes_counts_and_exclusions() {
        let t = parse_targets(
            "REQUEST_COOKIES|!REQUEST_COOKIES:/__utm|_ga/|&ARGS|REQUEST_HEADERS:User-Agent|XML:/*",
            &o(),
        )
        .unwrap();
        assert_eq!(t.len(), 5);
        assert!(t[1].exclude);
        assert!(t[1].selector.matches("__UTMZ"));
        assert!(t[1].selector.matches("x_ga"));
        assert!(!t[1].selector.matches("session"));
        assert!(t[2].count);
        assert!(t[3].selector.matches("user-agent"));
        assert_eq!(t[4].collection, "XML");
        assert_eq!(t[4].selector.text(), "/*");
    }

    /// A `^literal` key regex is decided by a prefix comparison; it must agree with the
    /// case-insensitive regex on every key, non-ASCII ones included.
    #[test]
    fn literal_prefix_key_regexes_agree_with_the_regex() {
        let keys = [
            "header_name_920450_x-forwarded-host",
            "HEADER_NAME_920450_proxy",
            "header_name_920450_",
            "header_name_92045",
            "xheader_name_920450_a",
            "header_name_9204ſ0_a",
            "",
            "ſession",
            "session_id",
            "Session",
            "seſſion_x",
            "session_ſ",
            "\u{212A}ey",
            "key",
            "é",
            "multipart_headers_content_types",
            "MULTIPART_HEADERS_CONTENT_TYPES_x",
            "tx_multipart_headers_content_typ",
            "a_multipart_headers_content_types__",
            "multipart_headers_content_tyſ",
            "paramcounter_",
            "x_PARAMCOUNTER_y",
            "paramcounter",
            "rfi_parameter_ſ",
            "ses",
            "sess",
        ];
        for pattern in [
            "^header_name_920450_",
            "^session",
            "^s",
            "session",
            "^sess.*n$",
            "^key",
            "MULTIPART_HEADERS_CONTENT_TYPES_*",
            "paramcounter_.*",
            "rfi_parameter_.*",
            "sess?",
            "s?",
            "ses.+",
        ] {
            let fast = KeyRegex::new(pattern).unwrap();
            let slow = regex::RegexBuilder::new(pattern)
                .case_insensitive(true)
                .build()
                .unwrap();
            for key in keys {
                assert_eq!(
                    fast.is_match(key),
                    slow.is_match(key),
                    "/{pattern}/ on {key:?}"
                );
            }
        }
        assert!(KeyRegex::new("^session").unwrap().prefix.is_some());
        assert!(KeyRegex::new("^sess.*n$").unwrap().prefix.is_none());
        for pattern in [
            "MULTIPART_HEADERS_CONTENT_TYPES_*",
            "paramcounter_.*",
            "sess?",
        ] {
            assert!(
                KeyRegex::new(pattern).unwrap().contained.is_some(),
                "{pattern}"
            );
        }
        for pattern in ["ses.+", "s?", "^sess", "a|b"] {
            assert!(
                KeyRegex::new(pattern).unwrap().contained.is_none(),
                "{pattern}"
            );
        }
        assert!(
            KeyRegex::new("^s").unwrap().is_match("ſession"),
            "Unicode case folding kept"
        );
    }

    #[test]
    fn unknown_variable_is_an_error() {
        let e = parse_targets("ARGS|NOPE", &o()).unwrap_err();
        assert_eq!(e.to_string(), "t.conf:7: unknown variable NOPE");
    }
}
