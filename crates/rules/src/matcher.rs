//! Compiling pattern specs into multi-pattern groups and running them over a request.

use std::borrow::Cow;
use std::collections::HashMap;
use std::path::{Path, PathBuf};

use aho_corasick::AhoCorasick;
use palisade_engine::{Detector, Finding, ResponseModel};
use palisade_http::transform::apply_all;
use palisade_http::{RequestModel, Transform};
use regex_automata::{meta, MatchKind, PatternSet};

use crate::format::{
    parse_source, read_dir, FileKind, LoadError, PatternSpec, SignatureSource, Target,
};

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
}

/// All patterns of one (target, pipeline).
struct Group {
    target: Target,
    pipeline: usize,
    literals: Option<AhoCorasick>,
    literal_info: Vec<PatternInfo>,
    regexes: Option<meta::Regex>,
    regex_info: Vec<PatternInfo>,
}

/// Counts for the startup log line.
#[derive(Debug, Clone, Default)]
pub struct SignatureStats {
    pub files: usize,
    pub literals: usize,
    pub regexes: usize,
    pub groups: usize,
}

/// A compiled, immutable set of signature lists.
pub struct SignatureSet {
    pipelines: Vec<Vec<Transform>>,
    groups: Vec<Group>,
    /// Bit set of targets that have at least one group.
    targets: u8,
    stats: SignatureStats,
}

/// Where a value was found; turned into a target name only when reporting.
#[derive(Clone, Copy)]
enum Place<'r> {
    Uri,
    ArgValue(&'r str),
    ArgName(&'r str),
    CookieValue(&'r str),
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
            Place::ArgValue(n) => format!("ARGS:{n}"),
            Place::ArgName(n) => format!("ARGS_NAMES:{n}"),
            Place::CookieValue(n) => format!("REQUEST_COOKIES:{n}"),
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
}

/// A pattern is reported for at most this many locations per request: enough to show where
/// an attack is and to score it, and it bounds the work a request full of matches can cause.
const MAX_LOCATIONS_PER_PATTERN: usize = 8;

/// Headers that carry protocol structure rather than user data; `args` patterns skip them
/// (`headers` patterns still see them).
const STRUCTURAL_HEADERS: &[&str] = &[
    "host",
    "connection",
    "content-length",
    "content-type",
    "content-encoding",
    "accept",
    "accept-encoding",
    "accept-language",
    "accept-charset",
    "authorization",
    "proxy-authorization",
    "cookie",
    "cache-control",
    "pragma",
    "if-match",
    "if-none-match",
    "if-modified-since",
    "if-unmodified-since",
    "if-range",
    "range",
    "te",
    "transfer-encoding",
    "upgrade",
    "keep-alive",
    "expect",
    "dnt",
    "upgrade-insecure-requests",
    "priority",
    "origin",
    "x-requested-with",
];

fn is_structural_header(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    lower.starts_with("sec-") || STRUCTURAL_HEADERS.contains(&lower.as_str())
}

fn is_binary_type(mime: &str) -> bool {
    palisade_http::is_binary_media_type(&mime.trim().to_ascii_lowercase())
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

    pub fn stats(&self) -> &SignatureStats {
        &self.stats
    }

    /// Runs every group against the request and appends findings.
    pub fn match_request(&self, request: &RequestModel, paranoia: u8, out: &mut Vec<Finding>) {
        let uri = if request.query_raw.is_empty() {
            Cow::Borrowed(request.path_raw.as_bytes())
        } else {
            let mut u = Vec::with_capacity(request.path_raw.len() + request.query_raw.len() + 1);
            u.extend_from_slice(request.path_raw.as_bytes());
            u.push(b'?');
            u.extend_from_slice(request.query_raw.as_bytes());
            Cow::Owned(u)
        };
        let locations = self.request_locations(request, &uri);
        self.run(&locations, paranoia, out);
    }

    /// Runs the `response` groups against a buffered response body.
    pub fn match_response(&self, response: &ResponseModel, paranoia: u8, out: &mut Vec<Finding>) {
        if self.targets & Target::Response.bit() == 0 || response.body.is_empty() {
            return;
        }
        let locations = [Location {
            place: Place::Response,
            value: &response.body,
            targets: Target::Response.bit(),
        }];
        self.run(&locations, paranoia, out);
    }

    fn request_locations<'r>(&self, request: &'r RequestModel, uri: &'r [u8]) -> Vec<Location<'r>> {
        let args = Target::Args.bit();
        let mut locs = Vec::with_capacity(
            8 + 2 * request.args_get.len()
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
        });
        for (_, arg) in request.args() {
            locs.push(Location {
                place: Place::ArgValue(&arg.name),
                value: &arg.value,
                targets: args,
            });
            if !arg.name.is_empty() {
                locs.push(Location {
                    place: Place::ArgName(&arg.name),
                    value: arg.name.as_bytes(),
                    targets: args,
                });
            }
        }
        for cookie in &request.cookies {
            locs.push(Location {
                place: Place::CookieValue(&cookie.name),
                value: &cookie.value,
                targets: args,
            });
            locs.push(Location {
                place: Place::CookieName(&cookie.name),
                value: cookie.name.as_bytes(),
                targets: args,
            });
        }
        for (name, value) in request.headers.iter() {
            if name.eq_ignore_ascii_case("cookie") {
                continue;
            }
            let mut targets = Target::Headers.bit();
            if !is_structural_header(name) {
                targets |= args;
            }
            if name.eq_ignore_ascii_case("user-agent") {
                targets |= Target::Agents.bit();
            }
            locs.push(Location {
                place: Place::Header(name),
                value,
                targets,
            });
        }
        if let Some(body) = &request.body {
            for file in &body.files {
                locs.push(Location {
                    place: Place::FileName(&file.field),
                    value: file.filename.as_bytes(),
                    targets: args,
                });
                let text_part = file
                    .content_type
                    .as_deref()
                    .map_or(true, |ct| !is_binary_type(ct));
                if text_part && !file.content.is_empty() {
                    locs.push(Location {
                        place: Place::FileContent(&file.field),
                        value: &file.content,
                        targets: Target::Body.bit(),
                    });
                }
            }
            let mime = request.mime_type().unwrap_or_default();
            let multipart = mime.starts_with("multipart/");
            if !body.raw.is_empty() && !multipart && !is_binary_type(&mime) {
                locs.push(Location {
                    place: Place::Body,
                    value: &body.raw,
                    targets: Target::Body.bit(),
                });
            }
        }
        locs
    }

    fn run(&self, locations: &[Location<'_>], paranoia: u8, out: &mut Vec<Finding>) {
        let present: u8 = locations.iter().fold(0, |acc, l| acc | l.targets);
        let mut haystack: Vec<u8> = Vec::new();
        let mut starts: Vec<(usize, usize)> = Vec::new();
        for (pipeline_index, pipeline) in self.pipelines.iter().enumerate() {
            let groups: Vec<&Group> = self
                .groups
                .iter()
                .filter(|g| g.pipeline == pipeline_index && present & g.target.bit() != 0)
                .collect();
            if groups.is_empty() {
                continue;
            }
            let wanted: u8 = groups.iter().fold(0, |acc, g| acc | g.target.bit());
            // Each value is transformed once per pipeline, shared by every group using it.
            let transformed: Vec<Option<Cow<'_, [u8]>>> = locations
                .iter()
                .map(|l| (l.targets & wanted != 0).then(|| apply_all(pipeline, l.value)))
                .collect();
            for group in groups {
                let bit = group.target.bit();
                let members: Vec<usize> = (0..locations.len())
                    .filter(|&i| locations[i].targets & bit != 0)
                    .collect();
                let single = members.len() == 1;
                let hay: &[u8] = if single {
                    transformed[members[0]].as_deref().unwrap_or(b"")
                } else {
                    haystack.clear();
                    starts.clear();
                    for &i in &members {
                        starts.push((haystack.len(), i));
                        haystack.extend_from_slice(transformed[i].as_deref().unwrap_or(b""));
                        haystack.push(b'\n');
                    }
                    &haystack
                };
                if let Some(ac) = &group.literals {
                    let mut seen: Vec<(usize, usize)> = Vec::new();
                    for m in ac.find_overlapping_iter(hay) {
                        let info = &group.literal_info[m.pattern().as_usize()];
                        if info.paranoia > paranoia {
                            continue;
                        }
                        let (loc, offset) = if single {
                            (members[0], 0)
                        } else {
                            let k = starts.partition_point(|&(s, _)| s <= m.start()) - 1;
                            (starts[k].1, starts[k].0)
                        };
                        let key = (m.pattern().as_usize(), loc);
                        if seen.contains(&key)
                            || seen.iter().filter(|(p, _)| *p == key.0).count()
                                >= MAX_LOCATIONS_PER_PATTERN
                        {
                            continue;
                        }
                        seen.push(key);
                        let value = transformed[loc].as_deref().unwrap_or(b"");
                        let span = &value[(m.start() - offset).min(value.len())
                            ..(m.end() - offset).min(value.len())];
                        out.push(finding(info, &locations[loc].place, span));
                    }
                }
                if let Some(re) = &group.regexes {
                    let mut hits = PatternSet::new(re.pattern_len());
                    re.which_overlapping_matches(&regex_automata::Input::new(hay), &mut hits);
                    for pid in hits.iter() {
                        let info = &group.regex_info[pid.as_usize()];
                        if info.paranoia > paranoia {
                            continue;
                        }
                        let (Some(confirm), Some(scan)) = (&info.confirm, &info.scan) else {
                            continue;
                        };
                        if single {
                            let loc = members[0];
                            let value = transformed[loc].as_deref().unwrap_or(b"");
                            if let Some(m) = confirm.find(value) {
                                out.push(finding(info, &locations[loc].place, m.as_bytes()));
                            }
                            continue;
                        }
                        // One linear scan of the joined values per hit pattern; each value
                        // where a candidate starts is confirmed on its own (so `^`, `$` and
                        // spans never cross values), then the scan resumes at the next value.
                        let mut pos = 0;
                        let mut reported = 0;
                        while pos < hay.len() && reported < MAX_LOCATIONS_PER_PATTERN {
                            let Some(m) = scan.find_at(hay, pos) else {
                                break;
                            };
                            let k = starts.partition_point(|&(s, _)| s <= m.start()) - 1;
                            let loc = starts[k].1;
                            let value = transformed[loc].as_deref().unwrap_or(b"");
                            if let Some(found) = confirm.find(value) {
                                out.push(finding(info, &locations[loc].place, found.as_bytes()));
                                reported += 1;
                            }
                            pos = starts.get(k + 1).map_or(hay.len(), |&(s, _)| s);
                        }
                    }
                }
            }
        }
    }
}

fn finding(info: &PatternInfo, place: &Place<'_>, matched: &[u8]) -> Finding {
    Finding::new(
        &info.id,
        "signatures",
        &info.message,
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

fn compile(specs: Vec<PatternSpec>) -> Result<SignatureSet, LoadError> {
    let mut pipelines: Vec<Vec<Transform>> = Vec::new();
    // (target, pipeline index) → (literals, regexes)
    let mut buckets: HashMap<(Target, usize), (Vec<PatternSpec>, Vec<PatternSpec>)> =
        HashMap::new();
    let mut stats = SignatureStats::default();
    for spec in specs {
        let p = match pipelines.iter().position(|p| *p == spec.pipeline) {
            Some(p) => p,
            None => {
                pipelines.push(spec.pipeline.clone());
                pipelines.len() - 1
            }
        };
        let bucket = buckets.entry((spec.target, p)).or_default();
        if spec.literal.is_some() {
            stats.literals += 1;
            bucket.0.push(spec);
        } else {
            stats.regexes += 1;
            bucket.1.push(spec);
        }
    }
    let mut keys: Vec<(Target, usize)> = buckets.keys().copied().collect();
    keys.sort();
    let mut groups = Vec::new();
    let mut targets = 0u8;
    for key in keys {
        let Some((lits, res)) = buckets.remove(&key) else {
            continue;
        };
        targets |= key.0.bit();
        let literals = if lits.is_empty() {
            None
        } else {
            let needles: Vec<&str> = lits.iter().filter_map(|s| s.literal.as_deref()).collect();
            Some(
                AhoCorasick::builder()
                    .ascii_case_insensitive(true)
                    .build(&needles)
                    .map_err(|e| spec_error(&lits[0], &e.to_string()))?,
            )
        };
        let mut regex_info = Vec::with_capacity(res.len());
        for spec in &res {
            let build = |multi_line: bool| {
                regex::bytes::RegexBuilder::new(&spec.regex)
                    .case_insensitive(true)
                    .unicode(false)
                    .multi_line(multi_line)
                    .size_limit(4 << 20)
                    .build()
                    .map_err(|e| spec_error(spec, &first_line(&e.to_string())))
            };
            regex_info.push(info(spec, Some(build(false)?), Some(build(true)?)));
        }
        let regexes = if res.is_empty() {
            None
        } else {
            let patterns: Vec<&str> = res.iter().map(|s| s.regex.as_str()).collect();
            Some(
                meta::Regex::builder()
                    .syntax(
                        regex_automata::util::syntax::Config::new()
                            .case_insensitive(true)
                            .unicode(false)
                            .utf8(false)
                            .multi_line(true),
                    )
                    .configure(
                        meta::Config::new()
                            .match_kind(MatchKind::All)
                            .utf8_empty(false)
                            .hybrid_cache_capacity(16 << 20)
                            .nfa_size_limit(Some(64 << 20)),
                    )
                    .build_many(&patterns)
                    .map_err(|e| spec_error(&res[0], &format!("group compile failed: {e}")))?,
            )
        };
        groups.push(Group {
            target: key.0,
            pipeline: key.1,
            literal_info: lits.iter().map(|s| info(s, None, None)).collect(),
            literals,
            regexes,
            regex_info,
        });
    }
    stats.groups = groups.len();
    Ok(SignatureSet {
        pipelines,
        groups,
        targets,
        stats,
    })
}

fn info(
    spec: &PatternSpec,
    confirm: Option<regex::bytes::Regex>,
    scan: Option<regex::bytes::Regex>,
) -> PatternInfo {
    PatternInfo {
        id: spec.id.clone(),
        category: spec.category.clone(),
        message: spec.message.clone(),
        severity: spec.severity,
        paranoia: spec.paranoia,
        confirm,
        scan,
    }
}

fn first_line(s: &str) -> String {
    s.lines()
        .filter(|l| !l.trim().is_empty())
        .last()
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
