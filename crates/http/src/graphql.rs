//! The string arguments of a GraphQL document (`application/graphql` bodies).
//!
//! This module owns reading the literal values a client wrote into a query:
//! `{ user(id: "1' OR '1'='1") { name } }` gives the argument `user.id` with the value
//! `1' OR '1'='1`. A resolver hands such values to a database or a shell exactly as a form
//! field's, so detectors see them as arguments, named `field.argument` (and `.key` for input
//! object fields: `createUser.input.email`). Only string literals are values here: numbers,
//! enums and booleans cannot carry a payload the parser would accept.
//!
//! It is a tokenizer, not a validator: a document that is no valid GraphQL (an attacker's
//! text sent under this type) still gives every quoted string it holds, an unterminated
//! string ends with its line, and bytes that start no token are skipped. Nesting deeper
//! than [`MAX_DEPTH`] is reported as an error but read on (strings inside it keep the
//! deepest name); more than `max` values stop the reading with an error.

use crate::model::Arg;

/// Deepest nesting of selections, arguments, objects and lists that is followed.
pub const MAX_DEPTH: usize = 64;
/// The name of a string outside any arguments (a schema description, or stray text).
pub const OUTSIDE_ARGUMENTS: &str = "graphql";
/// Longest argument name built (longer paths are cut; the value is still reported).
const MAX_NAME_LEN: usize = 256;

/// Why reading stopped early (whatever was extracted before is kept).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GraphqlError {
    TooDeep,
    TooManyValues,
}

impl std::fmt::Display for GraphqlError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            GraphqlError::TooDeep => write!(f, "nesting deeper than {MAX_DEPTH}"),
            GraphqlError::TooManyValues => write!(f, "too many values"),
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum FrameKind {
    /// `{ ... }` of fields.
    Selection,
    /// `( ... )` of a field, directive or operation's variable definitions.
    Arguments,
    /// `{ ... }` in a value position: an input object.
    Object,
    /// `[ ... ]` in a value position.
    List,
}

struct Frame {
    kind: FrameKind,
    /// The name values in this frame are reported under (before their own key).
    path: String,
}

/// `path.key`, cut to [`MAX_NAME_LEN`] bytes (both parts are already that short).
fn joined(path: &str, key: &str) -> String {
    let mut name = String::with_capacity(MAX_NAME_LEN.min(path.len() + 1 + key.len()));
    name.push_str(path);
    if !path.is_empty() && !key.is_empty() {
        name.push('.');
    }
    name.push_str(key);
    cut_to_limit(&mut name);
    name
}

fn cut_to_limit(name: &mut String) {
    if name.len() > MAX_NAME_LEN {
        let mut cut = MAX_NAME_LEN;
        while !name.is_char_boundary(cut) {
            cut -= 1;
        }
        name.truncate(cut);
        name.shrink_to_fit();
    }
}

/// Where the `#` comment at `at` ends: at the line break after it, or the end of `doc`.
fn comment_end(doc: &[u8], at: usize) -> usize {
    memchr::memchr2(b'\n', b'\r', &doc[at..]).map_or(doc.len(), |n| at + n)
}

/// The string (plain or block) whose opening quote is at `at`: its value and where it ends.
fn string_at(doc: &[u8], at: usize) -> (Vec<u8>, usize) {
    if doc[at..].starts_with(b"\"\"\"") {
        block_string(doc, at + 3)
    } else {
        quoted_string(doc, at + 1)
    }
}

/// Whether `doc` is lexically a GraphQL document with balanced selection sets: outside
/// strings and `#` comments only GraphQL's name, number, punctuator and blank bytes
/// (no `<`, `/`, `;`, `'`, `%`, `*`…), braces that never close more than opened and end
/// balanced, and at least one. Not a full parse: enough to tell a document from text that
/// only starts like one (`{` then a line break and a command or header).
pub fn is_well_formed(doc: &[u8]) -> bool {
    let doc = doc.strip_prefix(b"\xef\xbb\xbf").unwrap_or(doc);
    let (mut depth, mut opened) = (0usize, false);
    let mut i = 0;
    while let Some(&b) = doc.get(i) {
        match b {
            b'#' => {
                i = comment_end(doc, i);
                continue;
            }
            b'"' => {
                // (an unterminated string runs to the end: the braces decide then)
                i = string_at(doc, i).1.max(i + 1);
                continue;
            }
            b'{' => {
                depth += 1;
                opened = true;
            }
            b'}' => match depth.checked_sub(1) {
                Some(d) => depth = d,
                None => return false,
            },
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'_' => {}
            b' ' | b'\t' | b'\n' | b'\r' | b',' => {}
            b'!' | b'$' | b'&' | b'(' | b')' | b'.' | b':' | b'=' | b'@' | b'[' | b']' | b'|' => {}
            b'-' | b'+' => {}
            _ => return false,
        }
        i += 1;
    }
    opened && depth == 0
}

/// Appends the string literals of `doc` to `out`, each named by where it stands.
pub fn string_arguments(doc: &[u8], max: usize, out: &mut Vec<Arg>) -> Result<(), GraphqlError> {
    let mut stack: Vec<Frame> = Vec::new();
    // openers past MAX_DEPTH are counted, not pushed: the strings inside them are still
    // read (under the deepest frame's name), so nesting cannot hide what follows it
    let mut overflow = 0usize;
    let mut too_deep = false;
    // the last field (or operation) name read: what a `(` gives arguments to
    let mut field = String::new();
    // the last `key:` read inside arguments or an input object
    let mut key = String::new();
    let mut i = 0;
    while let Some(&b) = doc.get(i) {
        match b {
            b'#' => {
                i = comment_end(doc, i);
                continue;
            }
            b'"' => {
                let (value, end) = string_at(doc, i);
                i = end;
                if out.len() >= max {
                    return Err(GraphqlError::TooManyValues);
                }
                let name = match stack.last() {
                    Some(f) if f.kind == FrameKind::List => f.path.clone(),
                    Some(f) if f.kind != FrameKind::Selection => joined(&f.path, &key),
                    // a description in a schema document, or stray text
                    _ => OUTSIDE_ARGUMENTS.to_string(),
                };
                out.push(Arg {
                    name: name.into(),
                    value: value.into(),
                    name_repeats: None,
                });
                continue;
            }
            b'_' | b'a'..=b'z' | b'A'..=b'Z' => {
                let start = i;
                while doc
                    .get(i)
                    .is_some_and(|c| c.is_ascii_alphanumeric() || *c == b'_')
                {
                    i += 1;
                }
                // names longer than any name reported are cut as they are read: a megabyte
                // name copied per `(` or string would cost seconds
                let name = String::from_utf8_lossy(&doc[start..i.min(start + MAX_NAME_LEN)]);
                let in_value = stack.last().is_some_and(|f| f.kind != FrameKind::Selection);
                if in_value && next_token(doc, i) == Some(b':') {
                    key = name.into_owned();
                } else if !in_value {
                    field = name.into_owned();
                }
                continue;
            }
            b'(' | b'{' | b'[' => {
                if stack.len() >= MAX_DEPTH {
                    overflow += 1;
                    too_deep = true;
                    i += 1;
                    continue;
                }
                let in_value = stack.last().is_some_and(|f| f.kind != FrameKind::Selection);
                let frame = match b {
                    b'(' => Frame {
                        kind: FrameKind::Arguments,
                        path: field.clone(),
                    },
                    b'{' if !in_value => Frame {
                        kind: FrameKind::Selection,
                        path: String::new(),
                    },
                    _ => {
                        let path = match stack.last() {
                            Some(f) if f.kind == FrameKind::List => f.path.clone(),
                            Some(f) => joined(&f.path, &key),
                            None => String::new(),
                        };
                        let kind = if b == b'{' {
                            FrameKind::Object
                        } else {
                            FrameKind::List
                        };
                        Frame { kind, path }
                    }
                };
                stack.push(frame);
                key.clear();
            }
            b')' | b'}' | b']' if overflow > 0 => overflow -= 1,
            b')' | b'}' | b']' => {
                let want = match b {
                    b')' => FrameKind::Arguments,
                    b']' => FrameKind::List,
                    _ => FrameKind::Object,
                };
                // a `}` closes a selection as well as an object; an unmatched closer closes
                // nothing (lenient: stray text)
                if let Some(at) = stack
                    .iter()
                    .rposition(|f| f.kind == want || (b == b'}' && f.kind == FrameKind::Selection))
                {
                    stack.truncate(at);
                }
                key.clear();
            }
            _ => {}
        }
        i += 1;
    }
    if too_deep {
        return Err(GraphqlError::TooDeep);
    }
    Ok(())
}

/// The first byte of the next token after `i` (skipping whitespace, commas and comments).
fn next_token(doc: &[u8], mut i: usize) -> Option<u8> {
    while let Some(&b) = doc.get(i) {
        match b {
            b' ' | b'\t' | b'\n' | b'\r' | b',' => i += 1,
            b'#' => i = comment_end(doc, i),
            _ => return Some(b),
        }
    }
    None
}

/// A `"..."` string starting after its quote: its value (escapes resolved) and the index
/// after its closing quote (or the end of the line or document, when it has none).
fn quoted_string(doc: &[u8], start: usize) -> (Vec<u8>, usize) {
    let mut value = Vec::new();
    let mut i = start;
    while let Some(&b) = doc.get(i) {
        match b {
            b'"' => return (value, i + 1),
            b'\n' | b'\r' => return (value, i),
            b'\\' => {
                let (bytes, used) = escape(&doc[i + 1..]);
                value.extend_from_slice(&bytes);
                i += 1 + used;
            }
            _ => {
                value.push(b);
                i += 1;
            }
        }
    }
    (value, i)
}

/// One escape after a backslash: its bytes and how many input bytes it used.
fn escape(rest: &[u8]) -> (Vec<u8>, usize) {
    let Some(&c) = rest.first() else {
        return (b"\\".to_vec(), 0);
    };
    let simple = match c {
        b'"' => Some(b'"'),
        b'\\' => Some(b'\\'),
        b'/' => Some(b'/'),
        b'b' => Some(0x08),
        b'f' => Some(0x0c),
        b'n' => Some(b'\n'),
        b'r' => Some(b'\r'),
        b't' => Some(b'\t'),
        _ => None,
    };
    if let Some(s) = simple {
        return (vec![s], 1);
    }
    if c == b'u' {
        // \uXXXX, a surrogate pair of two, or \u{X...}
        if rest.get(1) == Some(&b'{') {
            // up to eight digits, leading zeros included (graphql-js takes `\u{00000027}`)
            if let Some(close) = rest.iter().take(12).position(|&b| b == b'}') {
                if let Some(ch) = hex_value(&rest[2..close]).and_then(char::from_u32) {
                    return (char_bytes(ch), close + 1);
                }
            }
        } else if let Some(unit) = rest.get(1..5).and_then(hex_value) {
            if (0xd800..0xdc00).contains(&unit) && rest.get(5..7) == Some(b"\\u") {
                if let Some(low) = rest.get(7..11).and_then(hex_value) {
                    if (0xdc00..0xe000).contains(&low) {
                        let code = 0x10000 + ((unit - 0xd800) << 10) + (low - 0xdc00);
                        if let Some(ch) = char::from_u32(code) {
                            return (char_bytes(ch), 11);
                        }
                    }
                }
            }
            if let Some(ch) = char::from_u32(unit) {
                return (char_bytes(ch), 5);
            }
        }
    }
    // not an escape GraphQL knows: kept as written
    (vec![b'\\', c], 1)
}

fn hex_value(digits: &[u8]) -> Option<u32> {
    if digits.is_empty() || digits.len() > 8 {
        return None;
    }
    digits.iter().try_fold(0u32, |n, &d| {
        let v = (d as char).to_digit(16)?;
        Some(n << 4 | v)
    })
}

fn char_bytes(ch: char) -> Vec<u8> {
    let mut buf = [0u8; 4];
    ch.encode_utf8(&mut buf).as_bytes().to_vec()
}

/// A `"""..."""` block string starting after its opening quotes: its raw text (`\"""`
/// read as `"""`; indentation left as sent) and the index after its closing quotes.
fn block_string(doc: &[u8], start: usize) -> (Vec<u8>, usize) {
    let mut value = Vec::new();
    let mut i = start;
    while i < doc.len() {
        if doc[i..].starts_with(b"\"\"\"") {
            return (value, i + 3);
        }
        if doc[i..].starts_with(b"\\\"\"\"") {
            value.extend_from_slice(b"\"\"\"");
            i += 4;
            continue;
        }
        value.push(doc[i]);
        i += 1;
    }
    (value, i)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(doc: &str) -> Vec<(String, String)> {
        let mut out = Vec::new();
        string_arguments(doc.as_bytes(), 100, &mut out).expect("reads");
        out.into_iter()
            .map(|a| {
                (
                    a.name.into(),
                    String::from_utf8_lossy(&a.value).into_owned(),
                )
            })
            .collect()
    }

    fn pairs(v: &[(&str, &str)]) -> Vec<(String, String)> {
        v.iter()
            .map(|(n, v)| (n.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn string_arguments_are_named_by_field_and_argument() {
        assert_eq!(
            args(r#"{ user(id: "1' OR '1'='1") { name posts(first: 5, tag: "rust") { title } } }"#),
            pairs(&[("user.id", "1' OR '1'='1"), ("posts.tag", "rust")])
        );
        // aliases, operation names, variables with defaults, directives, fragments
        assert_eq!(
            args(
                "query Search($q: String = \"shoes\") {\n  hits: search(q: $q, sort: PRICE) \
                 @include(if: true) { ...Item }\n}\nfragment Item on Hit { id label(lang: \"en\") }"
            ),
            pairs(&[("Search.q", "shoes"), ("label.lang", "en")])
        );
    }

    #[test]
    fn input_objects_and_lists_extend_the_name() {
        assert_eq!(
            args(
                r#"mutation { createUser(input: {email: "a@b.c", tags: ["x", "y"], address: {city: "Oslo"}}, note: "hi") { id } }"#
            ),
            pairs(&[
                ("createUser.input.email", "a@b.c"),
                ("createUser.input.tags", "x"),
                ("createUser.input.tags", "y"),
                ("createUser.input.address.city", "Oslo"),
                ("createUser.note", "hi"),
            ])
        );
    }

    #[test]
    fn escapes_block_strings_and_comments() {
        assert_eq!(
            args(
                r#"{ a(s: "\u003cscript\u003e \"q\" \\ \ud83d\ude00 \u{1F600} \u{00000027} \x") }"#
            ),
            pairs(&[("a.s", "<script> \"q\" \\ \u{1F600} \u{1F600} ' \\x")])
        );
        assert_eq!(
            args("{ a(s: \"\"\"line one\n  \\\"\"\" \"two\" \"\"\") # b(s: \"commented\")\n }"),
            pairs(&[("a.s", "line one\n  \"\"\" \"two\" ")])
        );
    }

    #[test]
    fn text_that_is_no_graphql_still_gives_its_strings() {
        // unterminated, unbalanced, stray bytes: never an error, never a panic
        assert_eq!(
            args(r#"} ) ] x(y: "a" ) "unterminated"#),
            pairs(&[("x.y", "a"), ("graphql", "unterminated")])
        );
        assert_eq!(
            args("q(a: \"no end\n b: \"c\")"),
            pairs(&[("q.a", "no end"), ("q.b", "c")])
        );
        for doc in [
            "\"",
            "\\",
            "\"\\",
            "\"\\u",
            "\"\\u{",
            "\"\"\"",
            "(((",
            "#",
            "\"\\ud800\\u",
        ] {
            let mut out = Vec::new();
            assert!(
                string_arguments(doc.as_bytes(), 10, &mut out).is_ok(),
                "{doc}"
            );
        }
    }

    #[test]
    fn random_documents_never_panic_and_values_come_from_the_input() {
        // GraphQL's punctuation, quotes, escapes and multi-byte text in random order
        let alphabet: &[&[u8]] = &[
            b"{",
            b"}",
            b"(",
            b")",
            b"[",
            b"]",
            b":",
            b",",
            b" ",
            b"\n",
            b"#",
            b"\"",
            b"\"\"\"",
            b"\\",
            b"\\u",
            b"\\u{",
            b"d83d",
            b"1F600",
            b"a",
            b"id",
            b"$",
            b"@",
            b"...",
            "é".as_bytes(),
            b"\xff",
        ];
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        for _ in 0..20_000 {
            let mut doc = Vec::new();
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            for _ in 0..(seed % 40) {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                doc.extend_from_slice(alphabet[(seed >> 32) as usize % alphabet.len()]);
            }
            let mut out = Vec::new();
            let _ = string_arguments(&doc, 1000, &mut out);
            // escapes only shrink or keep a value: nothing longer than the document
            assert!(out.iter().all(|a| a.value.len() <= doc.len()), "{doc:?}");
        }
    }

    #[test]
    fn depth_and_count_are_bounded() {
        // too deep is reported, and what follows the nesting is still read
        let deep = format!(
            "{{ me(v: \"x\") {}{} user(id: \"1' OR '1'='1\") {{ id }} }}",
            "{ f ".repeat(MAX_DEPTH + 5),
            "} ".repeat(MAX_DEPTH + 5)
        );
        let mut out = Vec::new();
        assert_eq!(
            string_arguments(deep.as_bytes(), 10, &mut out),
            Err(GraphqlError::TooDeep)
        );
        let got: Vec<_> = out.iter().map(|a| a.name.as_str()).collect();
        assert_eq!(got, ["me.v", "user.id"]);
        // huge names are cut when read: no name past the limit, and quick
        let huge = format!(
            "{{ {}(k: \"v\") {} }}",
            "f".repeat(1 << 20),
            "(\"\")".repeat(2000)
        );
        let mut out = Vec::new();
        assert!(string_arguments(huge.as_bytes(), 10_000, &mut out).is_ok());
        assert!(out.iter().all(|a| a.name.len() <= MAX_NAME_LEN) && out.len() == 2001);
        let many = "{ a(s: \"1\") }".repeat(5);
        let mut out = Vec::new();
        assert_eq!(
            string_arguments(many.as_bytes(), 3, &mut out),
            Err(GraphqlError::TooManyValues)
        );
        assert_eq!(out.len(), 3);
    }

    #[test]
    fn well_formed_documents_are_told_from_text_that_starts_like_one() {
        for doc in [
            "{\n  viewer {\n    id\n    login\n  }\n}",
            "query Q($id: ID!, $n: Int = -1) {\n  node(id: $id) { ... on User { name } }\n}",
            "mutation {\n  add(input: {title: \"a } b { ' < ;\", tags: [\"x\"]}) { id }\n}",
            "# comment with ; and <\n{ a @include(if: true) }",
            "\u{feff}{ a(s: \"\"\"block } \"\"\") }",
        ] {
            assert!(is_well_formed(doc.as_bytes()), "{doc:?}");
        }
        for text in [
            "{\nid",
            "query\nwhoami",
            "query\r\nSet-Cookie: sid=attacker",
            "{\r\nLocation: https://evil.example/",
            "{\r\nRCPT TO:<v@x>",
            "{ a }\n}",
            "{ a; }",
            "{ a \"unterminated }",
        ] {
            assert!(!is_well_formed(text.as_bytes()), "{text:?}");
        }
    }
}
