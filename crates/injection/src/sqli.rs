//! Our SQL injection engine: libinjection's algorithm (tokenize as SQL, fold the tokens into
//! a fingerprint of at most five token types, look the fingerprint up, apply the
//! false-positive heuristics), written for speed and checked against the `libinjectionrs`
//! port, whose verdicts matched the C library on ~1.1 million inputs.
//!
//! Why our own: the port spends most of a short value's ~2 µs in keyword lookups (an
//! upper-cased `String` and a binary search over ~9,600 entries per word, a `format!` per
//! pair of words the folder tries to merge) and in zeroing and cloning tokens. Here a lookup
//! is a shape test, then a hash of the word upper-cased on the stack; tokens are plain
//! `Copy` values. The data (character classes, keyword and fingerprint tables) still comes
//! from the port, so the two cannot drift apart there; `tests/sqli_differential.rs` and the
//! fuzz target `injection` compare the verdicts and fingerprints.
//!
//! Where the port differs from the C library (and this engine follows the port, to keep the
//! differential test exact): variables keep their `@` signs in their value, a `$tag` with no
//! closing `$` is a bareword `$`, `sp_password` is searched case-insensitively in UTF-8 input
//! only, and `INTO` after a keyword is compared case-sensitively. None of them showed in the
//! differential run against C.

use std::collections::HashMap;
use std::sync::OnceLock;

use libinjectionrs::sqli::sqli_data::{get_char_type, lookup_word, CharType, SQL_KEYWORDS};
use libinjectionrs::sqli::TokenType;

use crate::{KeywordHash, Shapes};

/// Most tokens a fingerprint has.
const MAX_TOKENS: usize = 5;
/// Bytes a token's value keeps (the rest is cut, as in C); one more is the terminator.
const TOKEN_SIZE: usize = 32;

// Token types, as the fingerprint characters libinjection uses.
const NONE: u8 = 0;
const KEYWORD: u8 = b'k';
const UNION: u8 = b'U';
const GROUP: u8 = b'B';
const EXPRESSION: u8 = b'E';
const SQLTYPE: u8 = b't';
const FUNCTION: u8 = b'f';
const BAREWORD: u8 = b'n';
const NUMBER: u8 = b'1';
const VARIABLE: u8 = b'v';
const STRING: u8 = b's';
const OPERATOR: u8 = b'o';
const LOGIC_OPERATOR: u8 = b'&';
const COMMENT: u8 = b'c';
const COLLATE: u8 = b'A';
const LEFT_PARENS: u8 = b'(';
const RIGHT_PARENS: u8 = b')';
const LEFT_BRACE: u8 = b'{';
const RIGHT_BRACE: u8 = b'}';
const DOT: u8 = b'.';
const COMMA: u8 = b',';
const COLON: u8 = b':';
const TSQL: u8 = b'T';
const UNKNOWN: u8 = b'?';
const EVIL: u8 = b'X';
const FINGERPRINT: u8 = b'F';
const BACKSLASH: u8 = b'\\';

/// One SQL token: its type, its value (cut to 31 bytes) and, for strings, the quotes that
/// opened and closed it (0 for none).
#[derive(Clone, Copy)]
struct Token {
    kind: u8,
    len: u8,
    str_open: u8,
    str_close: u8,
    val: [u8; TOKEN_SIZE],
}

impl Token {
    const EMPTY: Token = Token {
        kind: NONE,
        len: 0,
        str_open: 0,
        str_close: 0,
        val: [0; TOKEN_SIZE],
    };

    fn value(&self) -> &[u8] {
        &self.val[..usize::from(self.len)]
    }

    /// Sets type and value, keeping the quote marks (as C's `st_assign`).
    fn assign(&mut self, kind: u8, value: &[u8]) {
        let n = value.len().min(TOKEN_SIZE - 1);
        self.kind = kind;
        self.len = n as u8;
        self.val[..n].copy_from_slice(&value[..n]);
        // readers look at `val[0]` of empty values
        self.val[n] = 0;
    }

    fn is(&self, kind: u8) -> bool {
        self.kind == kind
    }

    fn is_unary_op(&self) -> bool {
        self.kind == OPERATOR
            && match self.value() {
                [b'+' | b'-' | b'!' | b'~'] | b"!!" => true,
                v => v.eq_ignore_ascii_case(b"NOT"),
            }
    }

    fn is_arithmetic_op(&self) -> bool {
        self.kind == OPERATOR && matches!(self.value(), [b'*' | b'/' | b'-' | b'+' | b'%'])
    }

    fn value_is_any(&self, words: &[&[u8]]) -> bool {
        words.iter().any(|w| self.value().eq_ignore_ascii_case(w))
    }
}

/// How a byte starts a token (libinjection's character map, taken from the port).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Start {
    White,
    Bang,
    String,
    Hash,
    Money,
    Op1,
    Op2,
    Char,
    Dash,
    Number,
    Slash,
    Variable,
    Word,
    BString,
    EString,
    NQString,
    QString,
    UString,
    XString,
    BWord,
    Backslash,
    Tick,
    Other,
}

/// The engine's tables, built once from the port's data.
struct Tables {
    start: [Start; 256],
    /// Bytes that end a word (`parse_word`'s set) and a variable name (`parse_var`'s).
    ends_word: [bool; 256],
    ends_variable: [bool; 256],
    /// Upper-case table entry → type, for every entry the port's lookup finds (so the two
    /// lookups are the same function), bareword entries left out.
    types: HashMap<Key, u8, KeywordHash>,
    shapes: Shapes,
    longest: usize,
}

fn tables() -> &'static Tables {
    static TABLES: OnceLock<Tables> = OnceLock::new();
    TABLES.get_or_init(|| {
        let mut start = [Start::Other; 256];
        for (b, s) in start.iter_mut().enumerate() {
            *s = match get_char_type(b as u8) {
                CharType::White => Start::White,
                CharType::Bang => Start::Bang,
                CharType::String => Start::String,
                CharType::Hash => Start::Hash,
                CharType::Money => Start::Money,
                CharType::Op1 | CharType::Unary => Start::Op1,
                CharType::Op2 => Start::Op2,
                CharType::LeftParens
                | CharType::RightParens
                | CharType::Comma
                | CharType::Semicolon
                | CharType::LeftBrace
                | CharType::RightBrace => Start::Char,
                CharType::Dash => Start::Dash,
                CharType::Number => Start::Number,
                CharType::Slash => Start::Slash,
                CharType::Variable => Start::Variable,
                CharType::Word => Start::Word,
                CharType::BString => Start::BString,
                CharType::EString => Start::EString,
                CharType::NQString => Start::NQString,
                CharType::QString => Start::QString,
                CharType::UString => Start::UString,
                CharType::XString => Start::XString,
                CharType::BWord => Start::BWord,
                CharType::Backslash => Start::Backslash,
                CharType::Tick => Start::Tick,
                CharType::Other => Start::Other,
            };
        }
        let mut ends_word = [false; 256];
        for &b in b" []{}<>:\\?=@!#~+-*/&|^%(),';\t\n\x0B\x0C\r\"\xA0\x00" {
            ends_word[usize::from(b)] = true;
        }
        let mut ends_variable = [false; 256];
        for &b in b" <>:\\?=@!#~+-*/&|^%(),;'\t\n\x0B\x0C\r`\"" {
            ends_variable[usize::from(b)] = true;
        }
        let words: Vec<(&'static [u8], u8)> = SQL_KEYWORDS
            .iter()
            .filter_map(|k| {
                let kind = match lookup_word(k.word) {
                    TokenType::Keyword => KEYWORD,
                    TokenType::Function => FUNCTION,
                    TokenType::Union => UNION,
                    TokenType::Expression => EXPRESSION,
                    TokenType::Tsql => TSQL,
                    TokenType::SqlType => SQLTYPE,
                    TokenType::Operator => OPERATOR,
                    TokenType::LogicOperator => LOGIC_OPERATOR,
                    TokenType::Variable => VARIABLE,
                    TokenType::Number => NUMBER,
                    TokenType::Collate => COLLATE,
                    TokenType::Group => GROUP,
                    TokenType::Fingerprint => FINGERPRINT,
                    _ => return None,
                };
                Some((k.word.as_bytes(), kind))
            })
            // (no entry is longer than a token's value or holds a NUL: see `key`)
            .filter(|(w, _)| w.len() < TOKEN_SIZE && !w.contains(&0))
            .collect();
        let longest = words.iter().map(|(w, _)| w.len()).max().unwrap_or(0);
        let shapes = Shapes::of(words.iter().map(|(w, _)| *w));
        let types = words
            .iter()
            .filter_map(|&(w, kind)| Some((key(w)?, kind)))
            .collect();
        Tables {
            start,
            ends_word,
            ends_variable,
            types,
            shapes,
            longest,
        }
    })
}

/// A word upper-cased and zero-padded to 32 bytes, as four machine words: hashed and
/// compared without a call (`&[u8]` keys cost a `memcmp` call per lookup; this made the
/// engine ~1.2-1.4x faster). Words with a NUL byte (which the padding could not tell
/// apart from a shorter word) or longer than 31 bytes have no key: no table entry does.
type Key = [u64; 4];

fn key(word: &[u8]) -> Option<Key> {
    if word.len() >= TOKEN_SIZE || word.contains(&0) {
        return None;
    }
    let mut bytes = [0u8; TOKEN_SIZE];
    bytes[..word.len()].copy_from_slice(word);
    bytes.make_ascii_uppercase();
    let mut key = [0u64; 4];
    for (k, chunk) in key.iter_mut().zip(bytes.chunks_exact(8)) {
        let mut w = [0u8; 8];
        w.copy_from_slice(chunk);
        *k = u64::from_le_bytes(w);
    }
    Some(key)
}

impl Tables {
    /// The type of `word` in the keyword table (case ignored), if any but bareword.
    fn lookup(&self, word: &[u8]) -> Option<u8> {
        if word.is_empty() || word.len() > self.longest || !self.shapes.may_hold(word) {
            return None;
        }
        self.types.get(&key(word)?).copied()
    }
}

/// The quote the input is read as following, and the comment dialect.
#[derive(Clone, Copy)]
struct Context {
    quote: u8,
    mysql: bool,
}

fn is_white(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | 0x0B | 0x0C | b'\r' | 0xA0 | 0x00)
}

fn find_pair(hay: &[u8], a: u8, b: u8) -> Option<usize> {
    hay.windows(2).position(|w| w[0] == a && w[1] == b)
}

/// Splits input into SQL tokens (libinjection's `libinjection_sqli_tokenize`).
struct Tokenizer<'a> {
    t: &'static Tables,
    s: &'a [u8],
    pos: usize,
    context: Context,
    /// `--x` comments (ANSI only) and `#` seen: the input is read again as MySQL.
    comment_ddx: u32,
    comment_hash: u32,
    /// Tokens produced so far, comments included.
    produced: u32,
}

impl<'a> Tokenizer<'a> {
    fn new(t: &'static Tables, s: &'a [u8], context: Context) -> Self {
        Tokenizer {
            t,
            s,
            pos: 0,
            context,
            comment_ddx: 0,
            comment_hash: 0,
            produced: 0,
        }
    }

    /// The next token into `out`; false at the end of the input.
    fn next(&mut self, out: &mut Token) -> bool {
        if self.pos >= self.s.len() {
            return false;
        }
        *out = Token::EMPTY;
        if self.pos == 0 && self.context.quote != 0 {
            self.pos = self.first_in_quote(out);
            self.produced += 1;
            return true;
        }
        while self.pos < self.s.len() {
            self.pos = self.token_at(self.pos, out);
            if out.kind != NONE {
                self.produced += 1;
                return true;
            }
        }
        false
    }

    /// The input's start as the rest of a string its context opened.
    fn first_in_quote(&mut self, out: &mut Token) -> usize {
        // a string whose opening quote is before the input: none opened it here
        let end = self.string(0, self.context.quote, 0, out);
        out.str_open = 0;
        end
    }

    /// Reads what starts at `pos` (whitespace sets no token); returns where it ends.
    fn token_at(&mut self, pos: usize, out: &mut Token) -> usize {
        let c = self.s[pos];
        match self.t.start[usize::from(c)] {
            Start::White => pos + 1,
            Start::Bang | Start::Op2 => self.operator2(pos, out),
            Start::String => self.string(pos, c, 1, out),
            Start::Hash => {
                self.comment_hash += 1;
                if self.context.mysql {
                    self.comment_hash += 1; // C counts it twice here; kept
                    self.eol_comment(pos, out)
                } else {
                    out.assign(OPERATOR, b"#");
                    pos + 1
                }
            }
            Start::Money => self.money(pos, out),
            Start::Op1 => {
                out.assign(OPERATOR, &[c]);
                pos + 1
            }
            Start::Char => {
                out.assign(c, &[c]);
                pos + 1
            }
            Start::Dash => self.dash(pos, out),
            Start::Number => self.number(pos, out),
            Start::Slash => {
                if self.s.get(pos + 1) != Some(&b'*') {
                    out.assign(OPERATOR, b"/");
                    pos + 1
                } else {
                    self.c_comment(pos, out)
                }
            }
            Start::Variable => self.variable(pos, out),
            Start::Word => self.word(pos, out),
            Start::BString => self.digit_string(pos, |b| b == b'0' || b == b'1', out),
            Start::XString => self.digit_string(pos, |b| b.is_ascii_hexdigit(), out),
            Start::EString => self.estring(pos, out),
            Start::NQString => {
                if pos + 2 < self.s.len() && self.s[pos + 1] == b'\'' {
                    self.estring(pos, out)
                } else {
                    self.qstring(pos, 1, out)
                }
            }
            Start::QString => self.qstring(pos, 0, out),
            Start::UString => {
                let s = self.s;
                if pos + 2 < s.len() && s[pos + 1] == b'&' && s[pos + 2] == b'\'' {
                    let end = self.string(pos + 2, b'\'', 1, out);
                    out.str_open = b'u';
                    if out.str_close == b'\'' {
                        out.str_close = b'u';
                    }
                    end
                } else {
                    self.word(pos, out)
                }
            }
            Start::BWord => {
                let s = self.s;
                let end = memchr::memchr(b']', &s[pos..]).map_or(s.len(), |i| pos + i + 1);
                out.assign(BAREWORD, &s[pos..end]);
                end
            }
            Start::Backslash => {
                if self.s.get(pos + 1) == Some(&b'N') {
                    // MySQL's `\N`, NULL
                    out.assign(NUMBER, b"\\N");
                    pos + 2
                } else {
                    out.assign(BACKSLASH, b"\\");
                    pos + 1
                }
            }
            Start::Tick => self.tick(pos, out),
            Start::Other => {
                out.assign(UNKNOWN, &[c]);
                pos + 1
            }
        }
    }

    fn operator2(&mut self, pos: usize, out: &mut Token) -> usize {
        let s = self.s;
        let c = s[pos];
        if pos + 1 >= s.len() {
            out.assign(OPERATOR, &[c]);
            return pos + 1;
        }
        if s[pos..].starts_with(b"<=>") {
            out.assign(OPERATOR, b"<=>");
            return pos + 3;
        }
        let pair = &s[pos..pos + 2];
        if let Some(kind) = self.t.lookup(pair).filter(|&k| k != BAREWORD) {
            let kind = if kind == LOGIC_OPERATOR {
                LOGIC_OPERATOR
            } else {
                OPERATOR
            };
            out.assign(kind, pair);
            return pos + 2;
        }
        out.assign(if c == b':' { COLON } else { OPERATOR }, &[c]);
        pos + 1
    }

    fn dash(&mut self, pos: usize, out: &mut Token) -> usize {
        let s = self.s;
        if s.get(pos + 1) == Some(&b'-') {
            if pos + 2 >= s.len() || is_white(s[pos + 2]) {
                return self.eol_comment(pos, out);
            }
            self.comment_ddx += 1;
            if !self.context.mysql {
                return self.eol_comment(pos, out);
            }
        }
        out.assign(OPERATOR, b"-");
        pos + 1
    }

    fn eol_comment(&mut self, pos: usize, out: &mut Token) -> usize {
        let s = self.s;
        match memchr::memchr(b'\n', &s[pos..]) {
            Some(i) => {
                out.assign(COMMENT, &s[pos..pos + i]);
                pos + i + 1
            }
            None => {
                out.assign(COMMENT, &s[pos..]);
                s.len()
            }
        }
    }

    /// `/* ... */`: evil when nested or MySQL's `/*!` (code that only MySQL runs).
    fn c_comment(&mut self, pos: usize, out: &mut Token) -> usize {
        let s = self.s;
        let inner = s.get(pos + 2..).unwrap_or(&[]);
        let close = find_pair(inner, b'*', b'/');
        let len = close.map_or(s.len() - pos, |c| c + 4);
        let mut kind = COMMENT;
        if let Some(c) = close {
            // C looks one byte further than the comment's inside; kept
            if find_pair(&inner[..(c + 1).min(inner.len())], b'/', b'*').is_some() {
                kind = EVIL;
            }
        }
        if s.get(pos + 2) == Some(&b'!') {
            kind = EVIL;
        }
        out.assign(kind, &s[pos..pos + len]);
        pos + len
    }

    fn backslash_escaped(&self, at: usize) -> bool {
        let run = self.s[..=at]
            .iter()
            .rev()
            .take_while(|&&b| b == b'\\')
            .count();
        run % 2 == 1
    }

    /// A string closed by `delim` whose content starts at `pos + offset` (opened by the
    /// `delim` before it, or by the reading's context when `offset` is 0).
    fn string(&mut self, pos: usize, delim: u8, offset: usize, out: &mut Token) -> usize {
        let s = self.s;
        let start = pos + offset;
        let mut from = start;
        while from < s.len() {
            let Some(q) = s[from..].iter().position(|&b| b == delim).map(|i| from + i) else {
                break;
            };
            if q > 0 && self.backslash_escaped(q - 1) {
                from = q + 1;
            } else if q + 1 < s.len() && s[q + 1] == delim {
                from = q + 2;
            } else {
                out.assign(STRING, &s[start..q]);
                out.str_open = delim;
                out.str_close = delim;
                return q + 1;
            }
        }
        out.assign(STRING, s.get(start..).unwrap_or(&[]));
        out.str_open = delim;
        out.str_close = 0;
        s.len()
    }

    /// `E'...'` (and `N'...'`).
    fn estring(&mut self, pos: usize, out: &mut Token) -> usize {
        if pos + 2 >= self.s.len() || self.s[pos + 1] != b'\'' {
            return self.word(pos, out);
        }
        self.string(pos, b'\'', 2, out)
    }

    /// Oracle's `q'<...>'`, at `pos + offset`.
    fn qstring(&mut self, pos: usize, offset: usize, out: &mut Token) -> usize {
        let s = self.s;
        let p = pos + offset;
        if p + 2 >= s.len() || !matches!(s[p], b'q' | b'Q') || s[p + 1] != b'\'' {
            return self.word(pos, out);
        }
        let open = s[p + 2];
        // C compares a signed char: bytes ≥ 0x80 count as below 33
        if (open as i8) < 33 {
            return self.word(pos, out);
        }
        let close = match open {
            b'(' => b')',
            b'[' => b']',
            b'{' => b'}',
            b'<' => b'>',
            c => c,
        };
        let content = p + 3;
        out.str_open = b'q';
        match find_pair(&s[content..], close, b'\'') {
            Some(i) => {
                out.assign(STRING, &s[content..content + i]);
                out.str_close = b'q';
                content + i + 2
            }
            None => {
                out.assign(STRING, &s[content..]);
                s.len()
            }
        }
    }

    /// `B'0101'` / `X'beef'`: a number when well formed, else a word.
    fn digit_string(&mut self, pos: usize, digit: fn(u8) -> bool, out: &mut Token) -> usize {
        let s = self.s;
        if pos + 2 >= s.len() || s[pos + 1] != b'\'' {
            return self.word(pos, out);
        }
        let end = pos + 2 + s[pos + 2..].iter().take_while(|&&b| digit(b)).count();
        if s.get(end) != Some(&b'\'') {
            return self.word(pos, out);
        }
        out.assign(NUMBER, &s[pos..=end]);
        end + 1
    }

    fn word(&mut self, pos: usize, out: &mut Token) -> usize {
        let s = self.s;
        let t = self.t;
        let len = s[pos..]
            .iter()
            .position(|&b| t.ends_word[usize::from(b)])
            .unwrap_or(s.len() - pos);
        let word = &s[pos..pos + len];
        // `table.column` or a backtick: a keyword before it is a token of its own
        for (i, &b) in word.iter().enumerate() {
            if b == b'.' || b == b'`' {
                if let Some(kind) = t.lookup(&word[..i]).filter(|&k| k != BAREWORD) {
                    out.assign(kind, &word[..i]);
                    return pos + i;
                }
            }
        }
        out.assign(BAREWORD, word);
        if len < TOKEN_SIZE {
            if let Some(kind) = t.lookup(word) {
                out.kind = kind;
            }
        }
        pos + len
    }

    /// MySQL's `` `name` ``: a function if the name is one, else a bareword.
    fn tick(&mut self, pos: usize, out: &mut Token) -> usize {
        let end = self.string(pos, b'`', 1, out);
        out.kind = if self.t.lookup(out.value()) == Some(FUNCTION) {
            FUNCTION
        } else {
            BAREWORD
        };
        end
    }

    /// `@name`, `@@name`, `` @`name` ``, `@'name'`.
    fn variable(&mut self, pos: usize, out: &mut Token) -> usize {
        let s = self.s;
        let mut name = pos + 1;
        if s.get(name) == Some(&b'@') {
            name += 1;
        }
        match s.get(name) {
            Some(b'`') => {
                let end = self.tick(name, out);
                out.kind = VARIABLE;
                return end;
            }
            Some(&q @ (b'\'' | b'"')) => {
                let end = self.string(name, q, 1, out);
                out.kind = VARIABLE;
                return end;
            }
            _ => {}
        }
        let t = self.t;
        let end = name
            + s[name..]
                .iter()
                .position(|&b| t.ends_variable[usize::from(b)])
                .unwrap_or(s.len() - name);
        out.assign(VARIABLE, &s[pos..end]);
        end
    }

    /// `$1,000.00`, PostgreSQL's `$$...$$` and `$tag$...$tag$`, or a bare `$`.
    fn money(&mut self, pos: usize, out: &mut Token) -> usize {
        let s = self.s;
        if pos + 1 == s.len() {
            out.assign(BAREWORD, b"$");
            return s.len();
        }
        let digits = s[pos + 1..]
            .iter()
            .take_while(|b| b.is_ascii_digit() || **b == b'.' || **b == b',')
            .count();
        if digits > 0 {
            if digits == 1 && s[pos + 1] == b'.' {
                return self.word(pos, out);
            }
            out.assign(NUMBER, &s[pos..pos + 1 + digits]);
            return pos + 1 + digits;
        }
        out.str_open = b'$';
        if s[pos + 1] == b'$' {
            let content = pos + 2;
            return match find_pair(&s[content..], b'$', b'$') {
                Some(i) => {
                    out.assign(STRING, &s[content..content + i]);
                    out.str_close = b'$';
                    content + i + 2
                }
                None => {
                    out.assign(STRING, &s[content..]);
                    s.len()
                }
            };
        }
        let tag_end = pos
            + 1
            + s[pos + 1..]
                .iter()
                .take_while(|b| b.is_ascii_alphabetic())
                .count();
        if tag_end == pos + 1 || s.get(tag_end) != Some(&b'$') {
            out.str_open = 0;
            out.assign(BAREWORD, b"$");
            return pos + 1;
        }
        let tag = &s[pos..=tag_end];
        let content = tag_end + 1;
        match memchr::memmem::find(&s[content..], tag) {
            Some(i) => {
                out.assign(STRING, &s[content..content + i]);
                out.str_close = b'$';
                content + i + tag.len()
            }
            None => {
                out.assign(STRING, &s[content..]);
                s.len()
            }
        }
    }

    fn number(&mut self, pos: usize, out: &mut Token) -> usize {
        let s = self.s;
        let digits_from = |i: usize, digit: fn(&u8) -> bool| {
            i + s
                .get(i..)
                .unwrap_or(&[])
                .iter()
                .take_while(|b| digit(b))
                .count()
        };
        if s[pos] == b'0' && pos + 1 < s.len() {
            let prefixed: Option<fn(&u8) -> bool> = match s[pos + 1] {
                b'x' | b'X' => Some(u8::is_ascii_hexdigit),
                b'b' | b'B' => Some(|b| *b == b'0' || *b == b'1'),
                _ => None,
            };
            if let Some(digit) = prefixed {
                let end = digits_from(pos + 2, digit);
                let kind = if end == pos + 2 { BAREWORD } else { NUMBER };
                out.assign(kind, &s[pos..end]);
                return end;
            }
        }
        let mut end = digits_from(pos, u8::is_ascii_digit);
        if s.get(end) == Some(&b'.') {
            end = digits_from(end + 1, u8::is_ascii_digit);
            if end - pos == 1 {
                out.assign(DOT, b".");
                return end;
            }
        }
        let (mut have_e, mut have_exp) = (false, false);
        if matches!(s.get(end), Some(b'e' | b'E')) {
            have_e = true;
            end += 1;
            if matches!(s.get(end), Some(b'+' | b'-')) {
                end += 1;
            }
            let after = digits_from(end, u8::is_ascii_digit);
            have_exp = after > end;
            end = after;
        }
        // Oracle's `1.5f` / `2d`, and `1fUNION`
        if matches!(s.get(end), Some(b'd' | b'D' | b'f' | b'F')) {
            match s.get(end + 1) {
                None => end += 1,
                Some(&n) if is_white(n) || n == b';' || n == b'u' || n == b'U' => end += 1,
                _ => {}
            }
        }
        let kind = if have_e && !have_exp {
            BAREWORD
        } else {
            NUMBER
        };
        out.assign(kind, &s[pos..end]);
        end
    }
}

/// One reading of the input (a context): its folded tokens and the numbers the
/// false-positive heuristics look at.
struct Reading {
    tokens: [Token; MAX_TOKENS],
    count: usize,
    fingerprint: [u8; MAX_TOKENS],
    /// Tokens the tokenizer produced, comments included.
    stats_tokens: u32,
    comment_ddx: u32,
    comment_hash: u32,
}

impl Reading {
    fn fingerprint(&self) -> &[u8] {
        &self.fingerprint[..self.count]
    }

    /// Whether the input, read in `context`, should be re-read as MySQL.
    fn wants_mysql(&self) -> bool {
        self.comment_ddx != 0 || self.comment_hash != 0
    }
}

/// Tokenizes and folds `s` read in `context` (libinjection's `libinjection_sqli_fold`,
/// then the fingerprint).
fn read(t: &'static Tables, s: &[u8], context: Context) -> Reading {
    let mut tk = Tokenizer::new(t, s, context);
    let mut tv = [Token::EMPTY; MAX_TOKENS + 3];
    let mut last_comment = Token::EMPTY;

    // Skip leading comments, `(`, SQL types and unary operators.
    let mut more = true;
    loop {
        let mut tok = Token::EMPTY;
        if !tk.next(&mut tok) {
            more = false;
            break;
        }
        tv[0] = tok;
        if !(tok.is(COMMENT) || tok.is(LEFT_PARENS) || tok.is(SQLTYPE) || tok.is_unary_op()) {
            break;
        }
    }
    let finish = |tv: &[Token], left: usize, tk: &Tokenizer, stats: bool| {
        let mut r = Reading {
            tokens: [Token::EMPTY; MAX_TOKENS],
            count: 0,
            fingerprint: [0; MAX_TOKENS],
            stats_tokens: tk.produced,
            comment_ddx: if stats { tk.comment_ddx } else { 0 },
            comment_hash: if stats { tk.comment_hash } else { 0 },
        };
        for tok in tv.iter().take(left).filter(|t| t.kind != NONE) {
            if r.count == MAX_TOKENS {
                break;
            }
            r.tokens[r.count] = *tok;
            r.fingerprint[r.count] = tok.kind;
            r.count += 1;
        }
        r
    };
    if !more {
        return finish(&[], 0, &tk, true);
    }

    let mut pos = 1usize;
    let mut left = 0usize;
    loop {
        if pos >= MAX_TOKENS {
            let k = |i: usize| tv[i].kind;
            let special = (k(0) == NUMBER
                && (k(1) == OPERATOR || k(1) == COMMA)
                && k(2) == LEFT_PARENS
                && k(3) == NUMBER
                && k(4) == RIGHT_PARENS)
                || (k(0) == BAREWORD
                    && k(1) == OPERATOR
                    && k(2) == LEFT_PARENS
                    && (k(3) == BAREWORD || k(3) == NUMBER)
                    && k(4) == RIGHT_PARENS)
                || (k(0) == NUMBER
                    && k(1) == RIGHT_PARENS
                    && k(2) == COMMA
                    && k(3) == LEFT_PARENS
                    && k(4) == NUMBER)
                || (k(0) == BAREWORD
                    && k(1) == RIGHT_PARENS
                    && k(2) == OPERATOR
                    && k(3) == LEFT_PARENS
                    && k(4) == BAREWORD);
            if special {
                if pos > MAX_TOKENS {
                    tv[1] = tv[MAX_TOKENS];
                    pos = 2;
                } else {
                    pos = 1;
                }
                left = 0;
            }
        }
        if !more || left >= MAX_TOKENS {
            left = pos;
            break;
        }

        // two tokens
        fetch(
            &mut tk,
            &mut tv,
            &mut pos,
            left + 2,
            &mut more,
            &mut last_comment,
        );
        if pos - left < 2 {
            left = pos;
            continue;
        }
        let (a, b) = (tv[left], tv[left + 1]);
        if (a.is(STRING) && b.is(STRING)) || (a.is(b';') && b.is(b';')) {
            // `'foo' 'bar'` is one string to SQL; `;;` one separator
            pos -= 1;
            continue;
        } else if (a.is(OPERATOR) || a.is(LOGIC_OPERATOR)) && (b.is_unary_op() || b.is(SQLTYPE)) {
            pos -= 1;
            left = 0;
            continue;
        } else if a.is(LEFT_PARENS) && b.is_unary_op() {
            pos -= 1;
            left = left.saturating_sub(1);
            continue;
        } else if let Some(merged) = merge_words(t, &a, &b) {
            tv[left] = merged;
            pos -= 1;
            left = left.saturating_sub(1);
            continue;
        } else if a.is(b';')
            && b.is(FUNCTION)
            && b.len >= 2
            && b.val[..2].eq_ignore_ascii_case(b"IF")
        {
            // T-SQL's `; IF 1=1 ...`
            tv[left + 1].kind = TSQL;
            continue;
        } else if (a.is(BAREWORD) || a.is(VARIABLE))
            && b.is(LEFT_PARENS)
            && a.value_is_any(&[
                b"USER_ID",
                b"USER_NAME",
                b"DATABASE",
                b"PASSWORD",
                b"USER",
                b"CURRENT_USER",
                b"CURRENT_DATE",
                b"CURRENT_TIME",
                b"CURRENT_TIMESTAMP",
                b"LOCALTIME",
                b"LOCALTIMESTAMP",
            ])
        {
            tv[left].kind = FUNCTION;
            continue;
        } else if a.is(KEYWORD) && a.value_is_any(&[b"IN", b"NOT IN"]) {
            tv[left].kind = if b.is(LEFT_PARENS) {
                OPERATOR
            } else {
                BAREWORD
            };
            continue;
        } else if a.is(OPERATOR) && a.value_is_any(&[b"LIKE", b"NOT LIKE"]) {
            if b.is(LEFT_PARENS) {
                tv[left].kind = FUNCTION;
            }
            // no `continue`: on to three tokens, as in C
        } else if a.is(SQLTYPE)
            && matches!(
                b.kind,
                BAREWORD | NUMBER | SQLTYPE | LEFT_PARENS | FUNCTION | VARIABLE | STRING
            )
        {
            tv[left] = b;
            pos -= 1;
            left = 0;
            continue;
        } else if a.is(COLLATE) && b.is(BAREWORD) {
            // many collation names: one with `_` is taken as a type
            if std::str::from_utf8(b.value()).is_ok() && b.value().contains(&b'_') {
                tv[left + 1].kind = SQLTYPE;
                left = 0;
            }
        } else if a.is(BACKSLASH) {
            if b.is_arithmetic_op() {
                // T-SQL reads `\%1` as `0 % 1`
                tv[left].kind = NUMBER;
            } else {
                tv[left] = b;
                pos -= 1;
            }
            left = 0;
            continue;
        } else if (a.is(LEFT_PARENS) && b.is(LEFT_PARENS))
            || (a.is(RIGHT_PARENS) && b.is(RIGHT_PARENS))
        {
            pos -= 1;
            left = 0;
            continue;
        } else if a.is(LEFT_BRACE) && b.is(BAREWORD) {
            if b.len == 0 {
                // MySQL's `{``.``.id}`: blacklisted outright
                // (the evil token may be a sixth: C fingerprints up to eight tokens on
                // this path, and any `X` makes the fingerprint `X`)
                tv[left + 1].kind = EVIL;
                return with_evil(finish(&tv[left + 1..], 1, &tk, false));
            }
            // ODBC's `{foo expr}`: keep the expression
            left = 0;
            pos -= 2;
            continue;
        } else if b.is(RIGHT_BRACE) {
            pos -= 1;
            left = 0;
            continue;
        }

        // three tokens
        fetch(
            &mut tk,
            &mut tv,
            &mut pos,
            left + 3,
            &mut more,
            &mut last_comment,
        );
        if pos - left < 3 {
            left = pos;
            continue;
        }
        let (a, b, c) = (tv[left], tv[left + 1], tv[left + 2]);
        let value_like = |k: u8| matches!(k, NUMBER | BAREWORD | STRING | VARIABLE);
        if folds_to_first(&a, &b, &c) {
            pos -= 2;
            left = 0;
            continue;
        } else if matches!(a.kind, EXPRESSION | GROUP | COMMA)
            && b.is_unary_op()
            && c.is(LEFT_PARENS)
        {
            // `SELECT + (`, `LIMIT + (`
            tv[left + 1] = c;
            pos -= 1;
            left = 0;
            continue;
        } else if matches!(a.kind, KEYWORD | EXPRESSION | GROUP)
            && b.is_unary_op()
            && (value_like(c.kind) || c.is(FUNCTION))
        {
            // `select - 1`
            tv[left + 1] = c;
            pos -= 1;
            left = 0;
            continue;
        } else if a.is(COMMA) && b.is_unary_op() && value_like(c.kind) {
            // `1,-1` → `1`: drop the sign and back up to fold again
            tv[left + 1] = c;
            left = 0;
            pos = pos.saturating_sub(3);
            continue;
        } else if a.is(COMMA) && b.is_unary_op() && c.is(FUNCTION) {
            // `1,-sin(1)` → `1,sin(1)`
            tv[left + 1] = c;
            pos -= 1;
            left = 0;
            continue;
        } else if a.is(BAREWORD) && b.is(DOT) && c.is(BAREWORD) {
            // `database.table`
            pos -= 2;
            left = 0;
            continue;
        } else if a.is(EXPRESSION) && b.is(DOT) && c.is(BAREWORD) {
            // `select . `foo``
            tv[left + 1] = c;
            pos -= 1;
            left = 0;
            continue;
        } else if a.is(FUNCTION) && b.is(LEFT_PARENS) && !c.is(RIGHT_PARENS) {
            // `USER()` takes no arguments: `user(x)` is a column
            if a.value().eq_ignore_ascii_case(b"USER") {
                tv[left].kind = BAREWORD;
            }
        }
        left += 1;
    }

    let left = left.min(MAX_TOKENS);
    // PHP's magic backquote comment: an unclosed, empty backtick word at the end
    if left > 2 {
        let last = &mut tv[left - 1];
        if last.is(BAREWORD) && last.str_open == b'`' && last.len == 0 && last.str_close == 0 {
            last.kind = COMMENT;
        }
    }
    let mut r = finish(&tv, left, &tk, true);
    if left < MAX_TOKENS && last_comment.is(COMMENT) && r.count < MAX_TOKENS {
        r.tokens[r.count] = last_comment;
        r.fingerprint[r.count] = COMMENT;
        r.count += 1;
    }
    with_evil(r)
}

/// Reads tokens into `tv` from `pos` on until it reaches `until` (or the fold's room ends, or
/// the input: then `more` turns false). Comments are set aside, the last one in
/// `last_comment` (cleared by any later token), as the fold appends it at the end.
fn fetch(
    tk: &mut Tokenizer,
    tv: &mut [Token],
    pos: &mut usize,
    until: usize,
    more: &mut bool,
    last_comment: &mut Token,
) {
    while *more && *pos <= MAX_TOKENS && *pos < until {
        let mut tok = Token::EMPTY;
        if !tk.next(&mut tok) {
            *more = false;
        } else if tok.is(COMMENT) {
            *last_comment = tok;
        } else {
            last_comment.kind = NONE;
            tv[*pos] = tok;
            *pos += 1;
        }
    }
}

/// Three tokens that fold into the first: arithmetic and comparisons (`1+1`, `x=1`,
/// `@a:=1`), logic chains (`1 and x and`), PostgreSQL's cast (`x::int`) and lists (`1,2`).
fn folds_to_first(a: &Token, b: &Token, c: &Token) -> bool {
    let value_like = |k: u8| matches!(k, NUMBER | BAREWORD | STRING | VARIABLE);
    (a.is(NUMBER) && b.is(OPERATOR) && c.is(NUMBER))
        || (a.is(OPERATOR) && !b.is(LEFT_PARENS) && c.is(OPERATOR))
        || (a.is(LOGIC_OPERATOR) && c.is(LOGIC_OPERATOR))
        || (a.is(VARIABLE) && b.is(OPERATOR) && matches!(c.kind, VARIABLE | NUMBER | BAREWORD))
        || (matches!(a.kind, BAREWORD | NUMBER)
            && b.is(OPERATOR)
            && matches!(c.kind, NUMBER | BAREWORD))
        || (value_like(a.kind) && b.is(OPERATOR) && b.value() == b"::" && c.is(SQLTYPE))
        || (value_like(a.kind) && b.is(COMMA) && value_like(c.kind))
}

/// An evil token makes the whole fingerprint `X`.
fn with_evil(mut r: Reading) -> Reading {
    if r.fingerprint().contains(&EVIL) {
        let mut evil = Token::EMPTY;
        evil.assign(EVIL, b"X");
        r.tokens[0] = evil;
        r.fingerprint = [EVIL, 0, 0, 0, 0];
        r.count = 1;
    }
    r
}

/// Two words that form a table entry together (`UNION ALL`, `NOT IN`, `IS NOT`) become one
/// token of the entry's type, keeping the words' case.
fn merge_words(t: &Tables, a: &Token, b: &Token) -> Option<Token> {
    const MERGES: &[u8] = &[
        KEYWORD, BAREWORD, OPERATOR, UNION, FUNCTION, EXPRESSION, TSQL, SQLTYPE,
    ];
    if !MERGES.contains(&a.kind) || !(MERGES.contains(&b.kind) || b.is(LOGIC_OPERATOR)) {
        return None;
    }
    let (n1, n2) = (usize::from(a.len), usize::from(b.len));
    let n = n1 + n2 + 1;
    // the port compares the values as text: a value that is not UTF-8 never merges
    if n >= TOKEN_SIZE
        || std::str::from_utf8(a.value()).is_err()
        || std::str::from_utf8(b.value()).is_err()
    {
        return None;
    }
    let mut merged = *a;
    merged.val[n1] = b' ';
    merged.val[n1 + 1..n].copy_from_slice(b.value());
    let kind = t.lookup(&merged.val[..n])?;
    merged.kind = kind;
    merged.len = n as u8;
    merged.val[n] = 0;
    Some(merged)
}

/// Whether libinjection's fingerprint table lists `fingerprint`.
fn blacklisted(t: &Tables, fingerprint: &[u8]) -> bool {
    if fingerprint.is_empty() {
        return false;
    }
    let mut key = [b'0'; MAX_TOKENS + 1];
    key[1..=fingerprint.len()].copy_from_slice(fingerprint);
    t.lookup(&key[..=fingerprint.len()]) == Some(FINGERPRINT)
}

/// libinjection's false-positive heuristics for short fingerprints: true when a
/// blacklisted reading is SQLi after all.
fn not_whitelisted(s: &[u8], r: &Reading) -> bool {
    let fp = r.fingerprint();
    let tok = &r.tokens[..r.count];
    if fp.len() > 1 && fp[fp.len() - 1] == COMMENT {
        // MS SQL's audit log leaves out anything with `sp_password` in it
        if let Ok(text) = std::str::from_utf8(s) {
            if memchr::memmem::find(text.to_ascii_lowercase().as_bytes(), b"sp_password").is_some()
            {
                return true;
            }
        }
    }
    match fp.len() {
        2 => {
            if fp[1] == UNION {
                // `1union` alone is a word, not an attack
                return r.stats_tokens != 2;
            }
            if tok[1].val[0] == b'#' {
                return false;
            }
            if tok[0].is(BAREWORD) && tok[1].is(COMMENT) && tok[1].val[0] != b'/' {
                return false;
            }
            if tok[0].is(NUMBER) && tok[1].is(COMMENT) {
                if tok[1].val[0] == b'/' || r.stats_tokens > 2 {
                    return true;
                }
                // C reads the byte after the first token's length, not its end; kept
                let after = usize::from(tok[0].len);
                return match s.get(after) {
                    Some(&c) if (c as i8) <= 32 => true,
                    Some(b'/') => s.get(after + 1) == Some(&b'*'),
                    Some(b'-') => s.get(after + 1) == Some(&b'-'),
                    _ => false,
                };
            }
            // `1-- foo` is text; a bare trailing `--` is a scan
            !(tok[1].len > 2 && tok[1].val[0] == b'-')
        }
        3 => {
            if fp == b"sos" || fp == b"s&s" {
                // `...foo' + 'bar...`: concatenation of the string the input sits in
                return tok[0].str_open == 0
                    && tok[2].str_close == 0
                    && tok[0].str_close == tok[2].str_open;
            }
            if [&b"s&n"[..], b"n&1", b"1&1", b"1&v", b"1&s"].contains(&fp) && r.stats_tokens == 3 {
                // 'sexy and 17'
                return false;
            }
            if tok[1].is(KEYWORD) && (tok[1].len < 5 || !tok[1].val.starts_with(b"INTO")) {
                // only `INTO OUTFILE` / `INTO DUMPFILE` count
                return false;
            }
            true
        }
        _ => true,
    }
}

/// The fingerprint when `s` is SQL injection in any of libinjection's readings: as-is, as
/// if it followed a single quote, as if it followed a double quote (ANSI comments, then
/// MySQL's when the input has `#` or `--x`).
pub(crate) fn detect(s: &[u8]) -> Option<[u8; MAX_TOKENS]> {
    if s.is_empty() {
        return None;
    }
    let t = tables();
    let try_context = |quote: u8, mysql: bool| {
        let r = read(t, s, Context { quote, mysql });
        let hit = blacklisted(t, r.fingerprint()) && not_whitelisted(s, &r);
        (hit.then_some(r.fingerprint), r.wants_mysql())
    };
    let (hit, again) = try_context(0, false);
    if hit.is_some() {
        return hit;
    }
    if again {
        if let (Some(fp), _) = try_context(0, true) {
            return Some(fp);
        }
    }
    if memchr::memchr(b'\'', s).is_some() {
        let (hit, again) = try_context(b'\'', false);
        if hit.is_some() {
            return hit;
        }
        if again {
            if let (Some(fp), _) = try_context(b'\'', true) {
                return Some(fp);
            }
        }
    }
    if memchr::memchr(b'"', s).is_some() {
        if let (Some(fp), _) = try_context(b'"', true) {
            return Some(fp);
        }
    }
    None
}
