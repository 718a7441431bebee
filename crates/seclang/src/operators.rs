//! Operators (`@rx`, `@pm`, `@within`, `@detectSQLi`, ...): parsed and compiled once at load
//! time; evaluated on one transformed value at a time.
//!
//! An operator nobody implemented is a load error, never a silent no-match. Regexes are
//! compiled for the `regex` crate (linear time, no backtracking), with ModSecurity's PCRE
//! flags (`.` matches newline, `$` only at the end) and byte semantics; each regex carries a
//! required-literal prefilter so that most values are rejected by one Aho-Corasick scan.

use std::borrow::Cow;
use std::net::IpAddr;
use std::path::Path;

use aho_corasick::AhoCorasick;
use ipnet::IpNet;

use crate::macros::{Resolve, Template};
use crate::parse::{LoadError, Origin};

/// Outcome of a match: the data the `capture` action stores in `TX:0`–`TX:9`.
pub type Captures = Vec<Vec<u8>>;

/// A numeric operator's operand: a literal read in place (CRS's paranoia-level checks
/// run on every request), else the expansion.
fn number(t: &Template, ctx: &dyn Resolve) -> i64 {
    match t.literal() {
        Some(l) => atoi(l.as_bytes()),
        None => atoi(&t.expand_cow(ctx)),
    }
}

#[derive(Debug)]
pub enum Op {
    Rx(Box<Rx>),
    Pm(Box<Pm>),
    Contains(Template),
    ContainsWord(Template),
    BeginsWith(Template),
    EndsWith(Template),
    Streq(Template),
    Strmatch(Vec<u8>),
    Within(Template),
    Eq(Template),
    Ge(Template),
    Gt(Template),
    Le(Template),
    Lt(Template),
    ValidateByteRange(Box<[bool; 256]>),
    ValidateUrlEncoding,
    ValidateUtf8Encoding,
    IpMatch(Vec<IpNet>),
    UnconditionalMatch,
    NoMatch,
    DetectSqli,
    DetectXss,
}

#[derive(Debug)]
pub struct Rx {
    pub regex: regex::bytes::Regex,
    /// Required literals: a value containing none of them cannot match.
    prefilter: Option<AhoCorasick>,
    /// The same literals, lowercased (for the rule set's shared prefilter).
    literals: Option<Vec<Vec<u8>>>,
    /// The pattern as compiled (byte escapes applied), for multi-pattern prefilters.
    pub source: String,
}

impl Rx {
    /// Whether the required literals let `value` through (no prefilter: always).
    fn may_match(&self, value: &[u8]) -> bool {
        self.prefilter.as_ref().is_none_or(|pf| pf.is_match(value))
    }
}

#[derive(Debug)]
pub struct Pm {
    ac: AhoCorasick,
    /// The phrases, lowercased.
    phrases: Vec<Vec<u8>>,
}

#[derive(Debug)]
pub struct Operator {
    pub op: Op,
    pub negated: bool,
    /// Name as written, without `@` (for logs).
    pub name: String,
    /// The argument as written.
    pub param: String,
}

impl Operator {
    /// Parses `"[!]@name param"` (or a bare regex). `dir` resolves `@pmFromFile` paths.
    pub fn parse(text: &str, dir: &Path, origin: &Origin) -> Result<Operator, LoadError> {
        let mut s = text.trim_start();
        let mut negated = false;
        if let Some(rest) = s.strip_prefix('!') {
            negated = true;
            s = rest.trim_start();
        }
        let (name, param) = if let Some(rest) = s.strip_prefix('@') {
            match rest.find(char::is_whitespace) {
                Some(sp) => (rest[..sp].to_string(), rest[sp..].trim_start().to_string()),
                None => (rest.to_string(), String::new()),
            }
        } else {
            ("rx".to_string(), s.to_string())
        };
        let lname = name.to_ascii_lowercase();
        let op = match lname.as_str() {
            "rx" => Op::Rx(Box::new(compile_rx(&param, origin)?)),
            "pm" => Op::Pm(build_pm(
                param.split_whitespace().map(str::to_string).collect(),
                origin,
            )?),
            "pmfromfile" | "pmf" => {
                let mut phrases = Vec::new();
                for file in param.split_whitespace() {
                    let path = dir.join(file);
                    let text = std::fs::read_to_string(&path).map_err(|e| {
                        LoadError::new(
                            origin,
                            format!("@{name}: cannot read {}: {e}", path.display()),
                        )
                    })?;
                    for line in text.lines() {
                        let l = line.trim();
                        if l.is_empty() || l.starts_with('#') {
                            continue;
                        }
                        phrases.push(l.to_string());
                    }
                }
                Op::Pm(build_pm(phrases, origin)?)
            }
            "contains" => Op::Contains(Template::parse(&param)),
            "containsword" => Op::ContainsWord(Template::parse(&param)),
            "beginswith" => Op::BeginsWith(Template::parse(&param)),
            "endswith" => Op::EndsWith(Template::parse(&param)),
            "streq" => Op::Streq(Template::parse(&param)),
            "strmatch" => Op::Strmatch(param.as_bytes().to_vec()),
            "within" => Op::Within(Template::parse(&param)),
            "eq" => Op::Eq(Template::parse(&param)),
            "ge" => Op::Ge(Template::parse(&param)),
            "gt" => Op::Gt(Template::parse(&param)),
            "le" => Op::Le(Template::parse(&param)),
            "lt" => Op::Lt(Template::parse(&param)),
            "validatebyterange" => Op::ValidateByteRange(byte_ranges(&param, origin)?),
            "validateurlencoding" => Op::ValidateUrlEncoding,
            "validateutf8encoding" => Op::ValidateUtf8Encoding,
            "ipmatch" => Op::IpMatch(ip_list(param.split(',').map(str::to_string), origin)?),
            "ipmatchfromfile" | "ipmatchf" => {
                let path = dir.join(param.trim());
                let text = std::fs::read_to_string(&path).map_err(|e| {
                    LoadError::new(
                        origin,
                        format!("@{name}: cannot read {}: {e}", path.display()),
                    )
                })?;
                Op::IpMatch(ip_list(
                    text.lines()
                        .map(str::trim)
                        .filter(|l| !l.is_empty() && !l.starts_with('#'))
                        .map(str::to_string),
                    origin,
                )?)
            }
            "unconditionalmatch" => Op::UnconditionalMatch,
            "nomatch" => Op::NoMatch,
            "detectsqli" => Op::DetectSqli,
            "detectxss" => Op::DetectXss,
            _ => {
                return Err(LoadError::new(
                    origin,
                    format!("unsupported operator @{name}"),
                ))
            }
        };
        Ok(Operator {
            op,
            negated,
            name,
            param,
        })
    }

    /// Literals (lowercase, compared ignoring ASCII case) of which every value this operator
    /// matches contains at least one; None when no such set is known.
    pub fn required_literals(&self) -> Option<&[Vec<u8>]> {
        if self.negated {
            return None;
        }
        match &self.op {
            Op::Rx(rx) => rx.literals.as_deref(),
            Op::Pm(pm) => Some(&pm.phrases),
            _ => None,
        }
    }

    /// The test the prefilter can evaluate itself, when this operator's verdict depends on
    /// the value alone and it has no literal to look for (not negated).
    pub fn value_test(&self) -> Option<crate::prefilter::ValueTest> {
        use crate::prefilter::ValueTest;
        if self.negated {
            return None;
        }
        match &self.op {
            Op::DetectSqli => Some(ValueTest::Sqli),
            Op::DetectXss => Some(ValueTest::Xss),
            // The scan judges an argument name that repeats an earlier one but for array
            // index digits by that one (`Arg::name_repeats`): sound for a range that allows
            // all digits or none (CRS's), not for one that tells digits apart.
            Op::ValidateByteRange(allowed)
                if allowed[usize::from(b'0')..=usize::from(b'9')]
                    .iter()
                    .all(|&a| a == allowed[usize::from(b'0')]) =>
            {
                Some(ValueTest::ByteRange(crate::prefilter::ByteRangeTest::new(
                    allowed,
                )))
            }
            Op::ValidateUtf8Encoding => Some(ValueTest::Utf8),
            // A string operator with a constant argument: an exclusion rule such as
            // `REQUEST_FILENAME "@streq /login"` with a `ctl`, or CRS 920610's `#` in the raw
            // URI, is then passed over by the scan instead of evaluated on every request.
            // (an argument with a macro can be anything per transaction; an empty one
            // matches every value or the empty ones, which the scan does not test)
            Op::Contains(_)
            | Op::ContainsWord(_)
            | Op::BeginsWith(_)
            | Op::EndsWith(_)
            | Op::Streq(_) => {
                let (kind, t) = self.string_comparison()?;
                let arg = t.constant().filter(|c| !c.is_empty())?.into_bytes();
                Some(ValueTest::Str(StrTest::new(kind, arg)))
            }
            Op::Strmatch(p) if !p.is_empty() => {
                Some(ValueTest::Str(StrTest::new(StrKind::Contains, p.clone())))
            }
            _ => None,
        }
    }

    /// The comparison a string operator with an argument (`@contains`, `@containsWord`,
    /// `@beginsWith`, `@endsWith`, `@streq`) makes, and that argument.
    fn string_comparison(&self) -> Option<(StrKind, &Template)> {
        match &self.op {
            Op::Contains(t) => Some((StrKind::Contains, t)),
            Op::ContainsWord(t) => Some((StrKind::ContainsWord, t)),
            Op::BeginsWith(t) => Some((StrKind::BeginsWith, t)),
            Op::EndsWith(t) => Some((StrKind::EndsWith, t)),
            Op::Streq(t) => Some((StrKind::Equals, t)),
            _ => None,
        }
    }

    /// The regex source when this is a plain (not negated) `@rx`.
    pub fn regex_source(&self) -> Option<&str> {
        match &self.op {
            Op::Rx(rx) if !self.negated => Some(&rx.source),
            _ => None,
        }
    }

    /// The argument when it may hold macros (`@eq %{tx.limit}`): what the operator reads
    /// besides the value.
    pub fn template(&self) -> Option<&Template> {
        match &self.op {
            Op::Contains(t)
            | Op::ContainsWord(t)
            | Op::BeginsWith(t)
            | Op::EndsWith(t)
            | Op::Streq(t)
            | Op::Within(t)
            | Op::Eq(t)
            | Op::Ge(t)
            | Op::Gt(t)
            | Op::Le(t)
            | Op::Lt(t) => Some(t),
            _ => None,
        }
    }

    /// Evaluates the operator (negation included). On a match, `captures` receives what
    /// `capture` would store (the whole match first).
    pub fn eval(&self, value: &[u8], ctx: &dyn Resolve, captures: &mut Captures) -> bool {
        self.eval_with(value, None, ctx, captures)
    }

    /// Whether the operator matches (negation included), when what it would capture is not
    /// wanted (a rule without `capture`): a regex then only answers whether it matches,
    /// which its DFA does without tracking groups or even the match's bounds.
    pub fn matches(&self, value: &[u8], operand: Option<&[u8]>, ctx: &dyn Resolve) -> bool {
        match &self.op {
            Op::Rx(rx) => {
                let matched = rx.may_match(value) && rx.regex.is_match(value);
                matched != self.negated
            }
            _ => self.eval_with(value, operand, ctx, &mut Vec::new()),
        }
    }

    /// [`Operator::eval`] with the argument's expansion given (`operand`), when the caller
    /// tests many values against one expansion: a link's values are tested before any of
    /// its actions runs, so its argument (`@within %{tx.restricted_headers_basic}`, once per
    /// header name in CRS 920450) expands to the same bytes for each of them.
    pub fn eval_with(
        &self,
        value: &[u8],
        operand: Option<&[u8]>,
        ctx: &dyn Resolve,
        captures: &mut Captures,
    ) -> bool {
        captures.clear();
        let matched = self.eval_plain(value, operand, ctx, captures);
        if self.negated {
            captures.clear();
            if matched {
                return false;
            }
            captures.push(value.to_vec());
            return true;
        }
        matched
    }

    fn eval_plain(
        &self,
        value: &[u8],
        operand: Option<&[u8]>,
        ctx: &dyn Resolve,
        captures: &mut Captures,
    ) -> bool {
        // the argument, expanded here unless given
        let arg = |t: &Template| -> Cow<'_, [u8]> {
            match operand {
                Some(o) => Cow::Borrowed(o),
                None => t.expand_cow(ctx),
            }
        };
        let num = |t: &Template| match operand {
            Some(o) => atoi(o),
            None => number(t, ctx),
        };
        match &self.op {
            Op::Rx(rx) => {
                if !rx.may_match(value) {
                    return false;
                }
                // the whole match alone when the pattern has no group: a search for its
                // bounds costs less than one tracking groups
                if rx.regex.captures_len() == 1 {
                    return match rx.regex.find(value) {
                        Some(m) => {
                            captures.push(m.as_bytes().to_vec());
                            true
                        }
                        None => false,
                    };
                }
                match rx.regex.captures(value) {
                    Some(caps) => {
                        for i in 0..caps.len().min(10) {
                            captures.push(
                                caps.get(i)
                                    .map(|m| m.as_bytes().to_vec())
                                    .unwrap_or_default(),
                            );
                        }
                        true
                    }
                    None => false,
                }
            }
            Op::Pm(pm) => match pm.ac.find(value) {
                Some(m) => {
                    captures.push(value[m.start()..m.end()].to_vec());
                    true
                }
                None => false,
            },
            Op::Contains(_)
            | Op::ContainsWord(_)
            | Op::BeginsWith(_)
            | Op::EndsWith(_)
            | Op::Streq(_) => match self.string_comparison() {
                Some((kind, t)) => {
                    let p = arg(t);
                    kind.compare(value, &p) && {
                        captures.push(p.into_owned());
                        true
                    }
                }
                None => false,
            },
            Op::Strmatch(p) => {
                StrKind::Contains.compare(value, p) && {
                    captures.push(p.clone());
                    true
                }
            }
            Op::Within(t) => {
                let p = arg(t);
                // ModSecurity: an empty value is not "within" anything.
                !value.is_empty() && found(&p, value).is_some() && {
                    captures.push(value.to_vec());
                    true
                }
            }
            Op::Eq(t) => atoi(value) == num(t),
            Op::Ge(t) => atoi(value) >= num(t),
            Op::Gt(t) => atoi(value) > num(t),
            Op::Le(t) => atoi(value) <= num(t),
            Op::Lt(t) => atoi(value) < num(t),
            Op::ValidateByteRange(allowed) => match value.iter().find(|&&b| !allowed[b as usize]) {
                Some(&b) => {
                    captures.push(vec![b]);
                    true
                }
                None => false,
            },
            Op::ValidateUrlEncoding => invalid_url_encoding(value),
            Op::ValidateUtf8Encoding => std::str::from_utf8(value).is_err(),
            Op::IpMatch(nets) => {
                let text = String::from_utf8_lossy(value);
                match text.trim().parse::<IpAddr>() {
                    Ok(ip) => nets.iter().any(|n| n.contains(&ip)),
                    Err(_) => false,
                }
            }
            Op::UnconditionalMatch => true,
            Op::NoMatch => false,
            Op::DetectSqli => detect_sqli_capturing(value, captures),
            Op::DetectXss => detect_xss_capturing(value, captures),
        }
    }
}

/// `@detectSQLi` on one value; a match captures the fingerprint.
pub(crate) fn detect_sqli_capturing(value: &[u8], captures: &mut Captures) -> bool {
    match crate::injection::detect_sqli(value) {
        Some(fp) => {
            captures.push(fp.into_bytes());
            true
        }
        None => false,
    }
}

/// `@detectXSS` on one value; a match captures the value.
pub(crate) fn detect_xss_capturing(value: &[u8], captures: &mut Captures) -> bool {
    let matched = crate::injection::detect_xss(value);
    if matched {
        captures.push(value.to_vec());
    }
    matched
}

/// `@containsWord`: `word` occurs in `value` with no word character (letter, digit, `_`)
/// right before or after it (an empty word never does).
fn contains_word(value: &[u8], word: &[u8]) -> bool {
    if word.is_empty() {
        return false;
    }
    let in_word = |b: u8| b.is_ascii_alphanumeric() || b == b'_';
    let mut from = 0;
    while let Some(i) = found(&value[from..], word) {
        let s = from + i;
        let e = s + word.len();
        let left_ok = s == 0 || !in_word(value[s - 1]);
        let right_ok = e == value.len() || !in_word(value[e]);
        if left_ok && right_ok {
            return true;
        }
        from = s + 1;
    }
    false
}

/// Which string comparison a [`StrTest`] makes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StrKind {
    /// `@contains` and `@strmatch`.
    Contains,
    ContainsWord,
    BeginsWith,
    EndsWith,
    /// `@streq`.
    Equals,
}

/// A string operator with a constant argument, as the prefilter scan tests it: the
/// operator's own verdict (case-sensitive, as the operator compares).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StrTest {
    kind: StrKind,
    arg: Box<[u8]>,
}

impl StrTest {
    pub fn new(kind: StrKind, arg: Vec<u8>) -> StrTest {
        StrTest {
            kind,
            arg: arg.into_boxed_slice(),
        }
    }

    /// Whether the operator matches `value`.
    pub fn holds(&self, value: &[u8]) -> bool {
        self.kind.compare(value, &self.arg)
    }
}

impl StrKind {
    /// The comparison of `value` with the operator's argument `arg`: what the operator
    /// evaluates and the scan's [`StrTest`] answers alike.
    fn compare(self, value: &[u8], arg: &[u8]) -> bool {
        match self {
            StrKind::Contains => found(value, arg).is_some(),
            StrKind::ContainsWord => contains_word(value, arg),
            StrKind::BeginsWith => value.starts_with(arg),
            StrKind::EndsWith => value.ends_with(arg),
            StrKind::Equals => value == arg,
        }
    }
}

/// The first position of `needle` in `hay`.
fn found(hay: &[u8], needle: &[u8]) -> Option<usize> {
    if needle.is_empty() {
        return Some(0);
    }
    if needle.len() > hay.len() {
        return None;
    }
    if hay.len() > SHORT_HAYSTACK {
        return memchr::memmem::find(hay, needle);
    }
    // A short haystack (920450's `@within` list of restricted headers, tested once per
    // request header): building memmem's searcher costs more than the search, so each
    // place holding one byte of the needle is compared instead (at most SHORT_HAYSTACK
    // places, each one comparison of at most that many bytes). The byte is the needle's
    // first letter or digit: delimiters such as the list's `/` are everywhere in it.
    let anchor = needle
        .iter()
        .position(u8::is_ascii_alphanumeric)
        .unwrap_or(0);
    let last_start = hay.len() - needle.len();
    // (a position in the slice from `anchor` on is where a match holding it there starts)
    memchr::memchr_iter(needle[anchor], &hay[anchor..=last_start + anchor])
        .find(|&start| hay[start..start + needle.len()] == *needle)
}

/// Haystacks up to this long are searched without building a memmem searcher.
const SHORT_HAYSTACK: usize = 256;

/// C `atoi`-like: optional leading whitespace and sign, then digits; anything else gives 0
/// (a number too large for `i64` saturates). Reads the bytes directly: TX comparisons run
/// hundreds of times per request.
pub(crate) fn atoi(v: &[u8]) -> i64 {
    let start = v
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(v.len());
    let v = &v[start..];
    let (neg, digits) = match v.first() {
        Some(b'-') => (true, &v[1..]),
        Some(b'+') => (false, &v[1..]),
        _ => (false, v),
    };
    let mut n: i64 = 0;
    for &b in digits.iter().take_while(|b| b.is_ascii_digit()) {
        n = n.saturating_mul(10).saturating_add(i64::from(b - b'0'));
    }
    if neg {
        -n
    } else {
        n
    }
}

fn invalid_url_encoding(v: &[u8]) -> bool {
    let mut i = 0;
    while i < v.len() {
        if v[i] == b'%' {
            if i + 2 >= v.len() {
                return true;
            }
            let ok = v.get(i + 1).is_some_and(u8::is_ascii_hexdigit)
                && v.get(i + 2).is_some_and(u8::is_ascii_hexdigit);
            if !ok {
                return true;
            }
            i += 3;
        } else {
            i += 1;
        }
    }
    false
}

/// PCRE without UTF mode (as ModSecurity compiles rules) reads a pattern as bytes: a
/// non-ASCII character is its UTF-8 bytes, one by one, also inside a character class.
/// Spelling them as `\xHH` gives the `regex` crate (Unicode off) the same meaning.
///
/// PCRE's `\x{e2}` is also a byte there, while the `regex` crate reads it as the code
/// point U+00E2 (two bytes in UTF-8), so two-digit braced escapes become `\xHH`.
fn bytes_escaped(pattern: &str) -> Cow<'_, str> {
    if pattern.is_ascii() && !pattern.contains("\\x{") {
        return Cow::Borrowed(pattern);
    }
    let mut out = String::with_capacity(pattern.len() * 2);
    let mut chars = pattern.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        if c == '\\' {
            out.push(c);
            if let Some((_, next)) = chars.next() {
                out.push(next);
                if next == 'x' && pattern[i + 2..].starts_with('{') {
                    let rest = &pattern[i + 3..];
                    if let Some(close) = rest.find('}') {
                        let hex = &rest[..close];
                        if (1..=2).contains(&hex.len())
                            && hex.chars().all(|h| h.is_ascii_hexdigit())
                        {
                            out.push_str(&format!("{:0>2}", hex));
                            for _ in 0..close + 2 {
                                chars.next();
                            }
                        }
                    }
                }
            }
            continue;
        }
        if c.is_ascii() {
            out.push(c);
        } else {
            let mut buf = [0u8; 4];
            for b in c.encode_utf8(&mut buf).bytes() {
                out.push_str(&format!("\\x{b:02X}"));
            }
        }
    }
    Cow::Owned(out)
}

fn compile_rx(pattern: &str, origin: &Origin) -> Result<Rx, LoadError> {
    let escaped = bytes_escaped(pattern);
    let pattern: &str = &escaped;
    let build = |unicode: bool| {
        regex::bytes::RegexBuilder::new(pattern)
            .dot_matches_new_line(true)
            .unicode(unicode)
            .size_limit(64 << 20)
            .dfa_size_limit(8 << 20)
            .build()
    };
    let regex = build(false)
        .or_else(|_| build(true))
        .map_err(|e| LoadError::new(origin, format!("@rx: {e}")))?;
    let literals = crate::literals::required(pattern);
    let prefilter = literals.as_ref().and_then(|lits| {
        AhoCorasick::builder()
            .ascii_case_insensitive(true)
            .build(lits)
            .ok()
    });
    Ok(Rx {
        regex,
        prefilter,
        literals,
        source: pattern.to_string(),
    })
}

fn build_pm(phrases: Vec<String>, origin: &Origin) -> Result<Box<Pm>, LoadError> {
    if phrases.is_empty() {
        return Err(LoadError::new(origin, "@pm needs at least one phrase"));
    }
    let ac = AhoCorasick::builder()
        .ascii_case_insensitive(true)
        .build(&phrases)
        .map_err(|e| LoadError::new(origin, format!("@pm: {e}")))?;
    let phrases = phrases
        .iter()
        .map(|p| p.as_bytes().to_ascii_lowercase())
        .collect();
    Ok(Box::new(Pm { ac, phrases }))
}

fn byte_ranges(spec: &str, origin: &Origin) -> Result<Box<[bool; 256]>, LoadError> {
    let mut allowed = Box::new([false; 256]);
    for part in spec.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (lo, hi) = match part.split_once('-') {
            Some((a, b)) => (a.trim(), b.trim()),
            None => (part, part),
        };
        let parse = |s: &str| {
            s.parse::<u8>().map_err(|_| {
                LoadError::new(origin, format!("@validateByteRange: bad range {part:?}"))
            })
        };
        let (lo, hi) = (parse(lo)?, parse(hi)?);
        if lo > hi {
            return Err(LoadError::new(
                origin,
                format!("@validateByteRange: bad range {part:?}"),
            ));
        }
        for b in lo..=hi {
            allowed[b as usize] = true;
        }
    }
    Ok(allowed)
}

fn ip_list(items: impl Iterator<Item = String>, origin: &Origin) -> Result<Vec<IpNet>, LoadError> {
    let mut out = Vec::new();
    for item in items {
        let item = item.trim();
        if item.is_empty() {
            continue;
        }
        let net = if item.contains('/') {
            item.parse::<IpNet>()
                .map_err(|e| LoadError::new(origin, format!("@ipMatch {item:?}: {e}")))?
        } else {
            let ip: IpAddr = item
                .parse()
                .map_err(|e| LoadError::new(origin, format!("@ipMatch {item:?}: {e}")))?;
            IpNet::from(ip)
        };
        out.push(net);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    struct NoVars;
    impl Resolve for NoVars {
        fn resolve(&self, collection: &str, key: &str) -> Option<Vec<u8>> {
            (collection == "TX" && key == "methods").then(|| b"GET HEAD POST".to_vec())
        }
    }

    fn op(text: &str) -> Operator {
        let o = Origin {
            file: PathBuf::from("t.conf"),
            line: 1,
        };
        Operator::parse(text, Path::new("."), &o).unwrap()
    }

    fn m(text: &str, value: &str) -> bool {
        op(text).eval(value.as_bytes(), &NoVars, &mut Vec::new())
    }

    /// The short-haystack search finds what memmem finds: the first match, anchored on a
    /// letter or digit of the needle wherever that is, or on its first byte.
    #[test]
    fn short_haystack_search_is_memmem() {
        let hays: [&[u8]; 5] = [
            b"/content-encoding/ /proxy/ /lock-token/ /content-range/ /if/ /x-http-method/",
            b"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaab",
            b"-- //a /b/ ab/ /ab/ //ab//",
            b"",
            b"x",
        ];
        let needles: [&[u8]; 12] = [
            b"/if/",
            b"/proxy/",
            b"/host/",
            b"/x-http-method/",
            b"aab",
            b"ab",
            b"//ab",
            b"/ab/",
            b"--",
            b"x",
            b"",
            b"/content-encoding/ /proxy/ /lock-token/ /content-range/ /if/ /x-http-method/!",
        ];
        let long = b"/a/".repeat(200);
        for hay in hays.iter().copied().chain([&long[..]]) {
            for needle in needles.iter().copied().chain([&b"/a/"[..], b"a/ /a"]) {
                let want = if needle.is_empty() {
                    Some(0)
                } else {
                    memchr::memmem::find(hay, needle)
                };
                assert_eq!(found(hay, needle), want, "{:?} in {:?}", needle, hay);
            }
        }
    }

    /// An operator given its argument's expansion decides and captures exactly as one that
    /// expands it itself.
    #[test]
    fn a_given_expansion_evaluates_like_expanding() {
        let ops = [
            "@within %{tx.methods}",
            "@contains %{tx.methods}",
            "@containsWord %{tx.methods}",
            "@beginsWith %{tx.methods}",
            "@endsWith %{tx.methods}",
            "@streq %{tx.methods}",
            "!@within %{tx.methods}",
            "@eq %{tx.methods}",
            "@lt %{tx.methods}",
        ];
        let values = [
            "GET",
            "PUT",
            "",
            "GET HEAD POST",
            "x GET HEAD POST y",
            "-1",
            "0",
        ];
        for text in ops {
            let o = op(text);
            let expansion = o.template().expect("a template").expand(&NoVars);
            for v in values {
                let (mut a, mut b) = (Vec::new(), Vec::new());
                let expanding = o.eval(v.as_bytes(), &NoVars, &mut a);
                let given = o.eval_with(v.as_bytes(), Some(&expansion), &NoVars, &mut b);
                assert_eq!((expanding, &a), (given, &b), "{text} on {v:?}");
            }
        }
        // (the expansion is what decides: another one gives another verdict)
        assert!(!op("@within %{tx.methods}").eval_with(
            b"GET",
            Some(b"PUT"),
            &NoVars,
            &mut Vec::new()
        ));
    }

    #[test]
    fn regex_semantics_follow_modsecurity() {
        assert!(m("@rx a.b", "a\nb"), "dot matches newline");
        assert!(!m("@rx ^a$", "a\n"), "dollar only at the end");
        assert!(m("(?i)select", "SeLeCt"));
        assert!(m("!@rx ^[0-9]+$", "12a"));
        let o = op("@rx (\\d+)-(\\d+)");
        let mut caps = Vec::new();
        assert!(o.eval(b"x 10-20 y", &NoVars, &mut caps));
        assert_eq!(
            caps,
            vec![b"10-20".to_vec(), b"10".to_vec(), b"20".to_vec()]
        );
    }

    #[test]
    fn string_and_number_operators() {
        assert!(m("@pm foo bar", "xxBARxx"));
        assert!(!m("@pm foo bar", "baz"));
        assert!(m("@within %{tx.methods}", "POST"));
        assert!(!m("@within %{tx.methods}", "PUT"));
        assert!(!m("@within %{tx.methods}", ""));
        assert!(m("@containsWord select", "a select b"));
        assert!(!m("@containsWord select", "selection"));
        assert!(m("@ge 5", "7"));
        assert!(m("@lt 1", "0"));
        assert!(m("@eq 0", "abc"), "non-numbers are 0");
        assert!(m("@lt 0", " -5x") && m("@ge 7", "+7"));
        assert!(
            m("@eq 9223372036854775807", "99999999999999999999"),
            "saturates"
        );
        assert!(m("@beginsWith ab", "abc") && m("@endsWith bc", "abc") && m("@streq abc", "abc"));
    }

    #[test]
    fn validation_operators() {
        assert!(m("@validateByteRange 32-126", "tab\there"));
        assert!(!m("@validateByteRange 32-126", "fine"));
        assert!(m("@validateUrlEncoding", "%zz"));
        assert!(m("@validateUrlEncoding", "abc%4"));
        assert!(!m("@validateUrlEncoding", "a%41b"));
        assert!(op("@validateUtf8Encoding").eval(b"\xc0\xaf", &NoVars, &mut Vec::new()));
        assert!(m("@ipMatch 10.0.0.0/8,::1", "10.2.3.4"));
        assert!(!m("@ipMatch 10.0.0.0/8,::1", "11.2.3.4"));
    }

    #[test]
    fn unsupported_operator_is_a_load_error() {
        let o = Origin {
            file: PathBuf::from("r.conf"),
            line: 9,
        };
        let e = Operator::parse("@rbl sbl.example", Path::new("."), &o).unwrap_err();
        assert_eq!(e.to_string(), "r.conf:9: unsupported operator @rbl");
    }
}

#[cfg(test)]
mod byte_semantics {
    use super::*;
    use std::path::PathBuf;

    struct NoVars;
    impl Resolve for NoVars {
        fn resolve(&self, _: &str, _: &str) -> Option<Vec<u8>> {
            None
        }
    }

    #[test]
    fn code_point_escapes_are_bytes_as_in_pcre() {
        // CRS 942420 counts U+2019 (E2 80 99) as one special character via byte escapes.
        let o = Origin {
            file: PathBuf::from("t.conf"),
            line: 1,
        };
        let op = Operator::parse(
            r"@rx ((?:(?:[!-\+\-:->@\[\]\^`\{-~]|\x{c2}\x{b4}|\x{e2}\x80[\x98\x99])[^!-\+\-:->@\[\]\^`\{-~]*?){8})",
            Path::new("."),
            &o,
        )
        .unwrap();
        let v = "’ OR ’1’=’x’--##".as_bytes();
        assert!(op.eval(v, &NoVars, &mut Vec::new()));
        assert!(!op.eval("’ OR ’1".as_bytes(), &NoVars, &mut Vec::new()));
    }
}
