//! One request (and its response) going through a [`RuleSet`]: the variables a rule sees,
//! the TX collection, chains, flow control (`skip`, `skipAfter`, `allow`), `ctl` changes
//! for this transaction only, and the list of rules that matched.
//!
//! Phases run in order: 1 (request headers), 2 (request body), 3 (response headers),
//! 4 (response body), 5 (logging). The request body is parsed between phases 1 and 2 so
//! that a phase-1 `ctl:requestBodyProcessor` takes effect, as in ModSecurity.

use std::borrow::Cow;
use std::sync::Arc;
use std::time::Instant;

use palisade_http::{parse_body, Arg, BodyKind, RequestModel, Transform};

use crate::actions::{Ctl, Disruptive, EngineMode, IdRange, SetVarOp, TagSelector};
use crate::fxhash::FxHashMap;
use crate::macros::Resolve;
use crate::operators::{atoi, Captures, Op};
use crate::prefilter::{Candidates, ValueTest};
use crate::ruleset::{Entry, PhaseGroup, Rule, RuleSet};
use crate::variables::{CollectionId, Selector, Target};

/// A TX or ENV variable's name and value. Inline when short (nearly all of CRS's: names
/// like `blocking_inbound_anomaly_score`, values like `0` or `5`): CRS's set-up rules write
/// ~50 variables on every request, and a `String` and a `Vec` apiece were allocations.
type VarName = palisade_http::small::SmallStr<46>;
type VarValue = palisade_http::small::SmallBytes<30>;
/// TX or ENV: lower-case names to values.
pub(crate) type VarMap = FxHashMap<VarName, VarValue>;

pub(crate) mod fold;
mod head_memo;

/// What a response phase sees: borrowed from the proxy's response model (its headers and
/// buffered body are not copied per response), or owned (the regression suite's).
#[derive(Debug, Clone, Default)]
pub struct Response<'r> {
    pub status: u16,
    pub protocol: Cow<'r, str>,
    pub headers: Cow<'r, [(String, Vec<u8>)]>,
    pub body: Cow<'r, [u8]>,
}

/// A rule that matched (the whole chain), as logged.
#[derive(Debug, Clone)]
pub struct RuleMatch {
    pub id: u64,
    pub phase: u8,
    /// `msg`, `logdata`, `tags`, `target` and `value` are empty when the rule does not log
    /// (`logged` false): such a match is never reported, and CRS's bookkeeping rules make
    /// ~60 of them per request, whose copies of the matched variable were allocations.
    pub msg: String,
    pub logdata: String,
    pub tags: Vec<String>,
    /// ModSecurity severity number (0 emergency … 7 debug), if the rule has one.
    pub severity: Option<u8>,
    pub paranoia: Option<u8>,
    /// `ARGS:q`, `REQUEST_HEADERS:User-Agent`, ... of the last matched variable.
    pub target: String,
    /// The matched value (after transformations).
    pub value: Vec<u8>,
    /// Whether the rule logs (`nolog` rules match silently).
    pub logged: bool,
    pub disruptive: Disruptive,
}

/// A disruptive action that was carried out (engine `On` only).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Interruption {
    pub rule_id: u64,
    pub status: u16,
    pub action: Disruptive,
}

/// Targets a `ctl` removes (shared with the rule set's `ctl`).
type Targets = Arc<[Target]>;

/// Per-transaction changes made by `ctl`.
#[derive(Default)]
struct Overrides {
    removed_ids: Vec<IdRange>,
    removed_tags: Vec<Arc<TagSelector>>,
    removed_targets_by_id: Vec<(Arc<[IdRange]>, Targets)>,
    removed_targets_by_tag: Vec<(Arc<TagSelector>, Targets)>,
}

/// What the response phases need of a request's transaction after its phases 1–2 (see
/// [`Transaction::save_for_response`]): ModSecurity runs all phases in one transaction, so
/// phases 3–4 see the request's TX and ENV, its `ctl` exclusions and an `allow`.
pub struct SavedRequest {
    tx: VarMap,
    /// Which watched TX keys phases 1-2 wrote (see `Transaction::dirty`).
    dirty: u64,
    env: VarMap,
    overrides: Overrides,
    engine: EngineMode,
    allowed_through: u8,
    interrupted: bool,
    /// The folds phases 1–2 ran with (None once a live match ended folding).
    folds: Option<u8>,
    /// The last phase run before saving (folds hold for phase 3 only after phase 2).
    phases_done: u8,
    /// The request body settings the request phases left (`ctl:requestBodyAccess`,
    /// `ctl:requestBodyProcessor`, `ctl:forceRequestBodyVariable`).
    body_access: bool,
    body_processor: Option<String>,
    force_body_variable: bool,
    /// The transaction's `UNIQUE_ID` and start (`DURATION`): one transaction in
    /// ModSecurity's terms, whose phases 3-4 run in a new `Transaction`.
    unique_id: String,
    started: Instant,
}

/// The request body as the rules see it.
struct BodyView<'a> {
    processed: bool,
    processor: &'static str,
    args: Cow<'a, [Arg]>,
    files: Cow<'a, [palisade_http::FilePart]>,
    errors: Cow<'a, [String]>,
    xml: Cow<'a, [Arg]>,
}

impl Default for BodyView<'_> {
    fn default() -> Self {
        BodyView {
            processed: false,
            processor: "",
            args: Cow::Borrowed(&[]),
            files: Cow::Borrowed(&[]),
            errors: Cow::Borrowed(&[]),
            xml: Cow::Borrowed(&[]),
        }
    }
}

/// One value a rule inspects: where it comes from (its name is built only on a match).
struct Selected<'s> {
    collection: &'s str,
    key: Cow<'s, str>,
    /// `key` is already the full variable name (MATCHED_VARS entries, counts).
    whole_name: bool,
    value: Cow<'s, [u8]>,
    /// Borrowed from storage that does not change during the transaction (the request,
    /// the parsed body, the response), so its transformations may be cached by address.
    stable: bool,
    /// Whether `value` is plain (see [`palisade_http::transform::is_plain`]), once asked.
    plain: std::cell::Cell<Option<bool>>,
}

impl Selected<'_> {
    fn is_plain(&self) -> bool {
        match self.plain.get() {
            Some(p) => p,
            None => {
                let p = palisade_http::transform::is_plain(&self.value);
                self.plain.set(Some(p));
                p
            }
        }
    }

    fn name(&self, current_matched_name: &str) -> String {
        if self.collection == "MATCHED_VAR" {
            // a chained check of the previous match keeps reporting its origin
            return current_matched_name.to_string();
        }
        if self.whole_name {
            return self.key.to_string();
        }
        if self.key.is_empty() {
            self.collection.to_string()
        } else {
            // (not format!: this runs for every match, CRS's bookkeeping included)
            let mut name = String::with_capacity(self.collection.len() + 1 + self.key.len());
            name.push_str(self.collection);
            name.push(':');
            name.push_str(&self.key);
            name
        }
    }
}

/// A match found while scanning, applied to the transaction afterwards.
struct Hit {
    name: String,
    value: Vec<u8>,
    caps: Captures,
}

type Val<'s> = (Cow<'s, str>, Cow<'s, [u8]>);

/// Transformed values by (address, length, pipeline); None: unchanged.
type TransformCache = FxHashMap<(usize, usize, u32), Option<std::rc::Rc<[u8]>>>;

/// Operator verdicts by value (the captures of a match), one table per operator kind.
type Verdicts = [FxHashMap<Box<[u8]>, Option<Captures>>; 4];
/// The `Verdicts` table of `@detectSQLi` and of `@detectXSS` (the next one holds each's
/// negated form).
const SQLI_MEMO: usize = 0;
const XSS_MEMO: usize = 2;

const DIGITS: [&str; 10] = ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"];

/// A prefilter run over one phase's data.
struct Scan<'a> {
    candidates: Candidates,
    /// The prefilter that ran (None: none for this level, every rule may match anywhere).
    prefilter: Option<&'a crate::prefilter::Prefilter>,
    values: ScannedValues,
}

/// The distinct values a scan saw (value id `k` is entry `k` of `raw`), to find a
/// value's id again when a rule is evaluated.
#[derive(Default)]
struct ScannedValues {
    raw: crate::prefilter::Hay,
    index: ValueIndex,
    /// Per collection of the prefilter, the id of each of its items in the order
    /// `Transaction::collection` gives them (a repeated argument name: its first's), so
    /// that `select` finds an item's id by position, checking the bytes, instead of by
    /// hashing it (rules credited for a few values of a 1,400-value body walk them all).
    /// Every collection's ids in one table, collection `c`'s from `starts[c]` to
    /// `starts[c + 1]` (a vector per collection was ~25 allocations per scan).
    positions: Positions,
}

/// Lists of value ids, one per collection, in one table (see [`ScannedValues::positions`]).
#[derive(Default)]
struct Positions {
    ids: Vec<u32>,
    starts: Vec<u32>,
}

impl Positions {
    fn with_capacity(collections: usize, ids: usize) -> Positions {
        let mut starts = Vec::with_capacity(collections + 1);
        starts.push(0);
        Positions {
            ids: Vec::with_capacity(ids),
            starts,
        }
    }

    /// Ends the current collection's list (the ids pushed since the last end).
    fn end_list(&mut self) {
        self.starts.push(self.ids.len() as u32);
    }

    /// Collection `c`'s list (empty for one there is none of).
    fn list(&self, c: usize) -> &[u32] {
        let (Some(&from), Some(&to)) = (self.starts.get(c), self.starts.get(c.wrapping_add(1)))
        else {
            return &[];
        };
        self.ids.get(from as usize..to as usize).unwrap_or(&[])
    }
}

impl ScannedValues {
    /// The id and collections of `value`, item `position` of collection `collection`
    /// of the prefilter: by position when the scan saw these bytes there, else by content.
    fn find_at(&self, collection: usize, position: usize, value: &[u8]) -> Option<(u32, u64)> {
        let guess = self.positions.list(collection).get(position);
        match guess.copied() {
            Some(id) if (id as usize) < self.raw.len() && self.raw.get(id as usize) == value => {
                Some((id, self.raw.mask(id as usize)))
            }
            _ => self.find(value),
        }
    }

    /// The id of `value` and the collections (mask) the scan saw it in.
    fn find(&self, value: &[u8]) -> Option<(u32, u64)> {
        let id = self
            .index
            .find_hashed(ValueIndex::hash(value), value, |id| {
                self.raw.get(id as usize)
            })?;
        Some((id, self.raw.mask(id as usize)))
    }
}

/// Value ids by content: a hash table of first ids with a chain of ids per hash, so that
/// the contents can live elsewhere (borrowed while scanning, in the raw hay afterwards).
#[derive(Default)]
struct ValueIndex {
    first: FxHashMap<u64, u32>,
    next: Vec<u32>,
}

impl ValueIndex {
    const NONE: u32 = u32::MAX;

    fn hash(value: &[u8]) -> u64 {
        crate::fxhash::hash_bytes(value)
    }

    /// The id of the value equal to `value` among those inserted (`content` gives an id's
    /// bytes), given `value`'s hash.
    fn find_hashed<'c>(
        &self,
        h: u64,
        value: &[u8],
        content: impl Fn(u32) -> &'c [u8],
    ) -> Option<u32> {
        let mut id = *self.first.get(&h)?;
        while id != Self::NONE {
            if content(id) == value {
                return Some(id);
            }
            id = self.next[id as usize];
        }
        None
    }

    fn with_capacity(values: usize) -> ValueIndex {
        ValueIndex {
            first: FxHashMap::with_capacity_and_hasher(values, Default::default()),
            next: Vec::with_capacity(values),
        }
    }

    /// Adds id `id` (the next one: ids are 0, 1, 2, ...) with hash `h`.
    fn insert(&mut self, h: u64, id: u32) {
        let prev = self.first.insert(h, id).unwrap_or(Self::NONE);
        self.next.push(prev);
    }
}

/// A transformed value: the input itself, or a shared transformed copy.
enum Transformed<'v> {
    Same(&'v [u8]),
    Shared(std::rc::Rc<[u8]>),
}

impl std::ops::Deref for Transformed<'_> {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        match self {
            Transformed::Same(v) => v,
            Transformed::Shared(v) => v,
        }
    }
}

/// The rule of entry `index` (None for a marker).
fn rule_at(entries: &[Entry], index: usize) -> Option<&Rule> {
    match entries.get(index)? {
        Entry::Rule(r) => Some(r),
        Entry::Marker(_) => None,
    }
}

/// This process's id, asked of the kernel once: `std::process::id()` is a system call
/// each time (glibc does not cache it), and it was one per transaction.
fn process_id() -> u32 {
    static PID: std::sync::OnceLock<u32> = std::sync::OnceLock::new();
    *PID.get_or_init(std::process::id)
}

/// `UNIQUE_ID`: the process id in hex, then the transaction counter in hex, at least eight
/// digits (written by hand: `format!` cost more than the rest of starting a transaction).
fn unique_id(pid: u32, n: u64) -> String {
    fn push_hex(id: &mut String, v: u64, min_digits: u32) {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        let digits = (64 - v.leading_zeros()).div_ceil(4).max(min_digits);
        for shift in (0..digits).rev() {
            id.push(char::from(HEX[(v >> (shift * 4) & 0xf) as usize]));
        }
    }
    let mut id = String::with_capacity(24);
    push_hex(&mut id, u64::from(pid), 1);
    push_hex(&mut id, n, 8);
    id
}

/// A names collection from a key/value one (`ARGS` → `ARGS_NAMES`).
fn names(it: Vec<Val<'_>>) -> Vec<Val<'_>> {
    it.into_iter()
        .map(|(k, _)| {
            let v = match &k {
                Cow::Borrowed(s) => Cow::Borrowed(s.as_bytes()),
                Cow::Owned(s) => Cow::Owned(s.as_bytes().to_vec()),
            };
            (k, v)
        })
        .collect()
}

/// Collections whose values do not change while rules run.
fn stable_collection(name: &str) -> bool {
    !matches!(
        name,
        "TX" | "ENV" | "MATCHED_VAR" | "MATCHED_VARS" | "MATCHED_VAR_NAME" | "MATCHED_VARS_NAMES"
    )
}

pub struct Transaction<'a> {
    rules: &'a RuleSet,
    req: &'a RequestModel,
    raw_body: &'a [u8],
    response: Option<&'a Response<'a>>,
    // Fx-hashed like the engine's other per-transaction tables (see `fxhash`): CRS reads
    // and writes TX a few hundred times per request
    tx: VarMap,
    /// Bit `d` set when TX may hold the key `d` (a capture's `TX:0`-`TX:9`): a capture
    /// removes the numbers it did not capture, and most are not there (920450 captures
    /// once per request header, one group each time).
    tx_digits: u16,
    /// Bits of the folding plan's watched TX keys (`fold::Folds::watched`) that a rule
    /// evaluated in this transaction wrote: the quiet folded rules reading them are
    /// evaluated.
    dirty: u64,
    env: VarMap,
    engine: EngineMode,
    body_access: bool,
    force_body_variable: bool,
    body_processor: Option<String>,
    body: BodyView<'a>,
    /// Prefilter result: which skippable rules may match the current data, and in which
    /// values (None: not computed for the current phase's data yet).
    candidates: Option<Scan<'a>>,
    /// Evaluate every rule on every value, without the prefilter (the slow path that
    /// differential tests compare the shortcuts against).
    exhaustive: bool,
    /// The rule set's folded request-independent rules for this transaction's starting TX
    /// (see [`fold`]); None when not used, or no longer (a live rule changed the flow).
    folds: Option<(u8, &'a fold::Folds)>,
    /// REQUEST_FILENAME: the path, percent-decoded.
    filename: Vec<u8>,
    transform_cache: std::cell::RefCell<TransformCache>,
    overrides: Overrides,
    /// Verdicts of value-only operators per distinct value: `@detectSQLi`, negated, then
    /// `@detectXSS`, negated (see [`Transaction::eval_operator`]).
    verdicts: std::cell::RefCell<Verdicts>,
    matched_var: Vec<u8>,
    matched_var_name: String,
    matched_vars: Vec<(String, Vec<u8>)>,
    /// The chain head being evaluated (for `%{RULE.id}` / `%{RULE.msg}`).
    current_rule: Option<&'a Rule>,
    /// While a rule is evaluated for the head memo (see `eval_chain_remembered`): its TX
    /// writes in order, None for a removal.
    tx_log: Option<Vec<(String, Option<Vec<u8>>)>>,
    highest_severity: Option<u8>,
    started: Instant,
    unique_id: String,
    /// Rules left to skip (`skip:N`).
    skip: u32,
    /// `allow` ended rule processing: 0 none, else the last phase it covers.
    allowed_through: u8,
    /// The matches so far: every one, or the logged ones alone (see
    /// [`Transaction::set_silent_matches_kept`]).
    pub matches: Vec<RuleMatch>,
    /// Whether `matches` keeps the matches of `nolog` rules.
    silent_matches_kept: bool,
    pub interruption: Option<Interruption>,
    phases_done: u8,
}

impl<'a> Transaction<'a> {
    pub fn new(rules: &'a RuleSet, req: &'a RequestModel, raw_body: &'a [u8]) -> Transaction<'a> {
        static COUNTER: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
        let n = COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        Transaction {
            rules,
            req,
            raw_body,
            response: None,
            // CRS sets ~70 TX variables per request: room for them up front, not four
            // regrowths of the table
            tx: FxHashMap::with_capacity_and_hasher(96, Default::default()),
            tx_digits: 0,
            dirty: 0,
            env: Default::default(),
            engine: rules.settings.engine,
            body_access: rules.settings.request_body_access,
            force_body_variable: false,
            body_processor: None,
            body: BodyView::default(),
            candidates: None,
            exhaustive: false,
            folds: None,
            filename: request_filename(req),
            transform_cache: Default::default(),
            overrides: Overrides::default(),
            verdicts: Default::default(),
            matched_var: Vec::new(),
            matched_var_name: String::new(),
            matched_vars: Vec::new(),
            current_rule: None,
            tx_log: None,
            highest_severity: None,
            started: Instant::now(),
            unique_id: unique_id(process_id(), n),
            skip: 0,
            allowed_through: 0,
            // CRS records ~40 (mostly bookkeeping) matches per request
            matches: Vec::with_capacity(64),
            silent_matches_kept: true,
            interruption: None,
            phases_done: 0,
        }
    }

    /// Sets a TX variable before the rules run (e.g. the paranoia level).
    pub fn set_tx(&mut self, key: &str, value: &str) {
        if self.phases_done > 0 {
            // the folds were planned for the TX phase 1 started with
            self.folds = None;
        }
        self.note_tx_key(key);
        self.tx
            .insert(key.to_ascii_lowercase().into(), value.as_bytes().into());
    }

    /// Records a write of TX key `key` for [`Transaction::tx_digits`] and
    /// [`Transaction::dirty`].
    fn note_tx_key(&mut self, key: &str) {
        self.tx_digits |= tx_digit_bit(key);
        self.note_dirty(key);
    }

    /// Marks TX key `key` as written by an evaluated rule, when quiet folded rules read it.
    fn note_dirty(&mut self, key: &str) {
        if let Some(bit) = self.folds.and_then(|(_, f)| f.watched.get(key)) {
            self.dirty |= bit;
        }
    }

    pub fn tx(&self, key: &str) -> Option<&[u8]> {
        self.tx
            .get(key.to_ascii_lowercase().as_str())
            .map(|v| v.as_slice())
    }

    /// Whether [`Transaction::matches`] keeps the matches of `nolog` rules (the default):
    /// nothing reports them, and CRS's bookkeeping rules make ~40 per request, each a
    /// record copied in and dropped again. A detector that reports logged matches alone
    /// turns this off; the differential tests keep them, to compare every rule's outcome.
    pub fn set_silent_matches_kept(&mut self, kept: bool) {
        self.silent_matches_kept = kept;
    }

    /// Turns the prefilter off: every rule is evaluated, on every value it selects. Results
    /// are the same (which the differential tests check); only slower.
    pub fn set_exhaustive(&mut self, on: bool) {
        self.exhaustive = on;
        self.candidates = None;
        if on {
            self.folds = None;
        }
    }

    /// Ends the transaction after its request phases, keeping what its response phases
    /// need (for a transaction resumed with [`Transaction::resume_for_response`]).
    pub fn save_for_response(self) -> SavedRequest {
        SavedRequest {
            tx: self.tx,
            dirty: self.dirty,
            env: self.env,
            overrides: self.overrides,
            engine: self.engine,
            allowed_through: self.allowed_through,
            interrupted: self.interruption.is_some(),
            folds: self.folds.map(|(i, _)| i),
            phases_done: self.phases_done,
            body_access: self.body_access,
            body_processor: self.body_processor,
            force_body_variable: self.force_body_variable,
            unique_id: self.unique_id,
            started: self.started,
        }
    }

    /// A transaction for the response of a request whose phases 1–2 ran in the transaction
    /// `saved` came from (on the same rule set): its next phase is 3.
    pub fn resume_for_response(
        rules: &'a RuleSet,
        req: &'a RequestModel,
        saved: SavedRequest,
    ) -> Transaction<'a> {
        // The request body's collections (ARGS_POST, FILES, REQUEST_BODY, ...) stay readable
        // in the response phases, as in ModSecurity: the same bytes, under the settings the
        // request phases left, taken apart again on first use (or taken from the model).
        let raw: &'a [u8] = req.body.as_ref().map_or(&[], |b| &b.raw[..]);
        let mut tx = Transaction::new(rules, req, raw);
        tx.body_access = saved.body_access;
        tx.body_processor = saved.body_processor;
        tx.force_body_variable = saved.force_body_variable;
        tx.tx = saved.tx;
        tx.dirty = saved.dirty;
        // (which numbers the request's captures left is not kept: any may be there)
        tx.tx_digits = 0x3ff;
        tx.env = saved.env;
        tx.overrides = saved.overrides;
        tx.engine = saved.engine;
        tx.allowed_through = saved.allowed_through;
        tx.unique_id = saved.unique_id;
        tx.started = saved.started;
        // the folds were planned for phases run in order: phase 3 must follow phase 2
        tx.folds = (saved.folds)
            .filter(|_| saved.phases_done == 2)
            .and_then(|i| Some((i, rules.folds.get(i)?)));
        tx.phases_done = 2;
        if saved.interrupted {
            // an interrupted request has no response phases
            tx.phases_done = 5;
        } else {
            tx.prepare_body();
        }
        tx
    }

    /// Plans the rule set's folded rules for this transaction's starting TX now (they are
    /// otherwise planned when phase 1 first starts from it).
    pub fn plan_folds(&self) {
        let _ = fold::folds_for(self.rules, &self.tx);
    }

    /// Every TX variable, sorted by name (for comparing transactions).
    pub fn tx_vars(&self) -> Vec<(&str, &[u8])> {
        let mut v: Vec<(&str, &[u8])> = self
            .tx
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_slice()))
            .collect();
        v.sort();
        v
    }

    pub fn set_response(&mut self, response: &'a Response<'a>) {
        self.response = Some(response);
    }

    /// Runs phases 1 and 2 (headers, then body).
    pub fn process_request(&mut self) {
        self.run_phase(1);
        self.prepare_body();
        self.run_phase(2);
    }

    /// Runs phases 3 and 4 on a response set with [`Transaction::set_response`].
    pub fn process_response(&mut self) {
        self.run_phase(3);
        self.run_phase(4);
    }

    pub fn process_logging(&mut self) {
        self.run_phase(5);
    }

    pub fn run_phase(&mut self, phase: u8) {
        if self.engine == EngineMode::Off || self.phases_done >= phase {
            return;
        }
        if self.phases_done + 1 != phase {
            // the folds were planned for phases run in order (a response checked after
            // phase 1 alone has not had phase 2's writes)
            self.folds = None;
        }
        self.phases_done = phase;
        if self.interruption.is_some() && phase < 5 {
            return;
        }
        if self.allowed_through >= phase && phase < 5 {
            return;
        }
        let rules = self.rules;
        let entries = &rules.phases[phase as usize];
        self.skip = 0;
        if phase == 1 && !self.exhaustive {
            self.folds = fold::folds_for(rules, &self.tx);
        }
        let mut folds = self.folds.map(|(_, f)| f);
        // the data rules see changes before phases 1 (headers), 2 (body) and 3 (response)
        if phase == 1 || phase == 3 || (phase == 2 && !self.raw_body.is_empty()) {
            self.candidates = None;
        }
        let mut i = 0;
        if phase == 1 {
            if let Some(f) = folds.as_ref() {
                i = self.apply_prefix(&f.prefix);
            }
        }
        let removals =
            |t: &Self| !t.overrides.removed_ids.is_empty() || !t.overrides.removed_tags.is_empty();
        while i < entries.len() {
            if self.skip == 0 {
                if let Some(f) = folds {
                    i = f.past_idle(phase, i);
                    if i >= entries.len() {
                        break;
                    }
                }
            }
            // (the entry itself is read only for rules that get past their slot)
            let step = rules.step(phase, i);
            if step.is_marker() {
                i += 1;
                continue;
            }
            if self.skip > 0 {
                self.skip -= 1;
                i += 1;
                continue;
            }
            if removals(self) && rule_at(entries, i).is_none_or(|r| self.is_removed(r)) {
                i += 1;
                continue;
            }
            // A quiet rule's planned outcome holds while no key it reads was written;
            // evaluated instead, the keys the plan had it write may hold something else now
            // (it may not match), for the quiet rules after it.
            let planned = folds.as_ref().and_then(|f| f.get(phase, i));
            let dirty = self.dirty;
            let folded = planned
                .filter(|f| !matches!(f, fold::Folded::Quiet { watch, .. } if dirty & watch != 0));
            if folded.is_none() {
                if let Some(fold::Folded::Quiet {
                    matched: Some(m), ..
                }) = planned
                {
                    for (k, _) in &m.writes {
                        self.note_dirty(k);
                    }
                }
            }
            let matched = match folded {
                Some(fold::Folded::NoMatch | fold::Folded::Quiet { matched: None, .. }) => false,
                Some(
                    fold::Folded::Match(m)
                    | fold::Folded::Quiet {
                        matched: Some(m), ..
                    },
                ) => {
                    self.apply_folded(m);
                    true
                }
                None => {
                    if let Some(slot) = step.slot() {
                        if !self.may_match(slot) {
                            // (no skip is pending here, and a rule with a slot is never
                            // folded: the rules up to the next that may are passed over)
                            let next = match &self.candidates {
                                Some(c) => rules.after_unlikely(phase, i, slot, &c.candidates.hit),
                                None => i + 1,
                            };
                            debug_assert!(
                                (i..next).all(|k| folds
                                    .as_ref()
                                    .is_none_or(|f| f.get(phase, k).is_none())),
                                "rules passed over have no planned outcome"
                            );
                            i = next;
                            continue;
                        }
                    }
                    let Some(rule) = rule_at(entries, i) else {
                        i += 1;
                        continue;
                    };
                    let remembered = folds.and_then(|f| Some((f, f.memo_inputs(phase, i)?)));
                    let matched = match remembered {
                        Some((f, inputs)) => self.eval_chain_remembered(rule, f, phase, i, inputs),
                        None => self.eval_chain(rule),
                    };
                    if matched {
                        if folds.as_ref().is_some_and(|f| f.broken_by(rule, phase, i)) {
                            folds = None;
                            self.folds = None;
                        }
                        self.after_match(rule);
                    }
                    matched
                }
            };
            if matched {
                // (from the set's table: a folded rule's entry is not read at all)
                let after = rules.after_match(phase, i);
                if after.resume as usize != i + 1 {
                    i = after.resume as usize;
                    if self.stop_phase(phase) {
                        return;
                    }
                    continue;
                }
                if after.skip > 0 {
                    self.skip = after.skip;
                }
                if self.stop_phase(phase) {
                    return;
                }
            }
            i += 1;
        }
    }

    /// Phase 1's leading folded rules applied at once, when nothing can make them differ
    /// from their plan (no rule ran yet, so no `ctl` removed one and no `skip` is pending,
    /// and the scan rules out every live rule among them): the index of the first entry
    /// after them, else 0.
    fn apply_prefix(&mut self, p: &fold::Prefix) -> usize {
        let untouched = self.skip == 0
            && self.overrides.removed_ids.is_empty()
            && self.overrides.removed_tags.is_empty();
        if p.end == 0 || !untouched {
            return 0;
        }
        // (the scan takes the paranoia level from the TX as the transaction started, not
        // as the folded rules leave it: sound at any level, whose scan leaves the slots it
        // does not cover as candidates)
        if p.passed.iter().any(|&slot| self.may_match(slot)) {
            return 0;
        }
        // (the folds were planned for the TX this transaction starts with: the table is
        // that TX with the run's writes applied)
        // (into the table the transaction made: hashbrown copies in place when the sizes
        // agree, instead of allocating a second table and freeing the first)
        self.tx.clone_from(&p.tx);
        self.tx_digits |= p.tx_digits;
        self.note_severity(p.severity);
        let kept = self.silent_matches_kept;
        self.matches
            .extend(p.records.iter().filter(|r| kept || r.logged).cloned());
        if let Some((name, value)) = &p.matched {
            self.matched_var.clear();
            self.matched_var.extend_from_slice(value);
            self.matched_var_name.clear();
            self.matched_var_name.push_str(name);
            self.matched_vars.clear();
        }
        p.end
    }

    /// A folded rule's match: its TX writes and its record, as `after_match` would leave
    /// them (folded rules have no `ctl` and pass/block only).
    fn apply_folded(&mut self, m: &fold::FoldedMatch) {
        m.apply_writes(&mut self.tx, &mut self.tx_digits);
        let r = &m.record;
        self.note_severity(r.severity);
        self.matched_var.clear();
        self.matched_var.extend_from_slice(&m.matched_var);
        self.matched_var_name.clear();
        self.matched_var_name.push_str(&m.matched_var_name);
        self.matched_vars.clear();
        if self.silent_matches_kept || r.logged {
            self.matches.push(r.clone());
        }
    }

    /// Keeps the most severe (lowest) severity of the matches so far.
    fn note_severity(&mut self, severity: Option<u8>) {
        self.highest_severity = most_severe(self.highest_severity, severity);
    }

    fn may_match(&mut self, slot: u32) -> bool {
        if self.exhaustive {
            return true;
        }
        if self.candidates.is_none() {
            self.candidates = Some(self.compute_candidates());
        }
        self.candidates
            .as_ref()
            .is_some_and(|c| c.candidates.may_match(slot as usize))
    }

    /// Runs the prefilter of the transaction's paranoia level over the current data (see
    /// `prefilter`): which rules may match.
    #[inline(never)]
    fn compute_candidates(&self) -> Scan<'a> {
        let level = self
            .tx("detection_paranoia_level")
            .or_else(|| self.tx("blocking_paranoia_level"))
            .map(atoi)
            .unwrap_or(4)
            .clamp(1, 4) as usize;
        // Phases 3-5 scan for their own rules (the request's were scanned in phases 1-2);
        // phase 1 of a request with a body for phase 1's, as phase 2 scans everything
        // again with the body (see `run_phase`); otherwise phase 1 scans for both.
        let group = match self.phases_done {
            3.. => PhaseGroup::Response,
            1 if !self.raw_body.is_empty() => PhaseGroup::RequestHead,
            _ => PhaseGroup::Request,
        };
        let Some(pf) = self.rules.phase_prefilter(level, group) else {
            return Scan {
                candidates: Candidates::all(self.rules.prefilter_slots),
                prefilter: None,
                values: Default::default(),
            };
        };
        let mut candidates = Candidates::new(&pf.covered);
        // every value of the scanned collections once, with the collections that hold it;
        // a value's id is its index here
        // Argument names that repeat an earlier one but for array index digits are left out:
        // `select` judges them by the first one's credit (a 140-item JSON order has 700).
        let lists: Vec<Vec<Val<'_>>> =
            pf.collection_selectors
                .iter()
                .map(|&(id, ref selector)| match (id, selector) {
                    (CollectionId::ArgsNames | CollectionId::ArgsPostNames, Selector::All) => {
                        let first_names = self
                            .body
                            .args
                            .iter()
                            .filter(|a| a.name_repeats.is_none())
                            .map(|a| (Cow::Borrowed(a.name.as_str()), Cow::Borrowed(&a.value[..])));
                        if id == CollectionId::ArgsNames {
                            let get = self.req.args_get.iter().map(|a| {
                                (Cow::Borrowed(a.name.as_str()), Cow::Borrowed(&a.value[..]))
                            });
                            names(get.chain(first_names).collect())
                        } else {
                            names(first_names.collect())
                        }
                    }
                    // (a keyed one, `REQUEST_HEADERS:host`, split at load)
                    _ => self.collection_by_id(id, selector),
                })
                .collect();
        // (Tables here are sized up front: a GET grew about fifty of them by doubling,
        // each growth a reallocation.)
        let listed: usize = lists.iter().map(Vec::len).sum();
        let mut index = ValueIndex::with_capacity(listed);
        // (value, collections, plain)
        let mut values: Vec<(&[u8], u64, bool)> = Vec::with_capacity(listed);
        let mut hashes: Vec<u64> = Vec::with_capacity(listed);
        let mut positions = Positions::with_capacity(lists.len(), listed);
        for (i, list) in lists.iter().enumerate() {
            let bit = crate::prefilter::collection_bit(i);
            let first = positions.ids.len();
            for (_, v) in list {
                let v: &[u8] = v;
                let h = ValueIndex::hash(v);
                let id = match index.find_hashed(h, v, |id| values[id as usize].0) {
                    Some(id) => {
                        values[id as usize].1 |= bit;
                        id
                    }
                    None => {
                        let id = values.len() as u32;
                        index.insert(h, id);
                        let plain = palisade_http::transform::is_plain(v);
                        values.push((v, bit, plain));
                        hashes.push(h);
                        id
                    }
                };
                positions.ids.push(id);
            }
            let repeated_from = match pf.collection_selectors.get(i) {
                Some((CollectionId::ArgsNames, Selector::All)) => Some(self.req.args_get.len()),
                Some((CollectionId::ArgsPostNames, Selector::All)) => Some(0),
                _ => None,
            };
            if let Some(get) = repeated_from {
                let all = self.with_repeated_names(&positions.ids[first..], get);
                positions.ids.truncate(first);
                positions.ids.extend_from_slice(&all);
            }
            positions.end_list();
        }
        // Values that clients repeat (header values and names) get the slots a scan credited
        // them for on an earlier request, from this thread's memo, and are left out of the
        // scan below; the others of them are remembered after it.
        // Credential headers' values (Authorization, Cookie, tokens) are secrets and differ
        // per user: never remembered.
        let mut memo = pf.memo.get();
        // A response's are its `Set-Cookie` (credential) values and its redirect targets
        // (`Location` of an OAuth callback carries the authorization code).
        let response_headers = self.response.map_or(&[][..], |r| &r.headers[..]);
        let secrets: Vec<&[u8]> = self
            .req
            .headers
            .iter()
            .filter(|(name, _)| palisade_http::is_credential_header(name))
            .map(|(_, v)| v)
            .chain(
                response_headers
                    .iter()
                    .filter(|(name, _)| is_secret_response_header(name))
                    .map(|(_, v)| &v[..]),
            )
            .collect();
        let mut remembered = vec![false; values.len()];
        let mut to_remember: Vec<u32> = Vec::with_capacity(values.len());
        for (id, (v, mask, _)) in values.iter().enumerate() {
            if mask & !pf.repeated_mask != 0
                || v.len() > crate::scan_memo::MAX_VALUE_LEN
                || secrets.contains(v)
            {
                continue;
            }
            match memo.get(hashes[id], *mask, v) {
                Some(slots) => {
                    for &slot in slots {
                        candidates.credit(slot as usize, id as u32);
                    }
                    remembered[id] = true;
                }
                None => to_remember.push(id as u32),
            }
        }
        // as they are, for every pipeline's literals and regexes...
        let value_bytes: usize = values.iter().map(|(v, _, _)| v.len()).sum();
        let mut raw = crate::prefilter::Hay::with_capacity(values.len(), value_bytes);
        for (id, (v, mask, _)) in values.iter().enumerate() {
            raw.push(v, *mask, id as u32);
        }
        // (`raw` holds every value, by id, for `select`; the scan reads the others)
        let unremembered;
        let scanned: &crate::prefilter::Hay = if remembered.contains(&true) {
            let mut h = crate::prefilter::Hay::with_capacity(values.len(), value_bytes);
            for (id, (v, mask, _)) in values.iter().enumerate() {
                if !remembered[id] {
                    h.push(v, *mask, id as u32);
                }
            }
            unremembered = h;
            &unremembered
        } else {
            &raw
        };
        pf.scan(scanned, &mut candidates);
        if let Some(dfa) = &pf.raw_dfa {
            pf.scan_dfa(dfa, scanned, &mut candidates);
        } else {
            for plan in &pf.plans {
                if let Some(dfa) = &plan.dfa {
                    pf.scan_dfa(dfa, scanned, &mut candidates);
                }
            }
        }
        let mut holds = |test: &ValueTest, v: &[u8]| self.test_holds(test, v);
        pf.scan_tests(&pf.raw_tests, scanned, &mut candidates, &mut holds);
        for &slot in &pf.nonempty_slots {
            let wanted = pf
                .slot_masks
                .get(slot as usize)
                .copied()
                .unwrap_or(u64::MAX);
            for (id, (v, mask, _)) in values.iter().enumerate() {
                if !v.is_empty() && mask & wanted != 0 && !remembered[id] {
                    candidates.credit(slot as usize, id as u32);
                }
            }
        }
        let mut hay = crate::prefilter::Hay::with_capacity(values.len(), value_bytes);
        // ...then per pipeline, the values it changes. A pipeline whose every step leaves a
        // value as it is leaves it as it is (each step sees the value itself), and which
        // steps do is worked out once per (value, step), not once per pipeline.
        // (by the plain value's traits: `lowercase`, `removeWhitespace` and `cmdLine` leave
        // most of a request's words, numbers and ids as they are)
        let on_plain = &pf.steps_on_plain;
        // per value: its plain traits' index, NOT_PLAIN for a value that is not plain
        const NOT_PLAIN: usize = 8;
        let traits_of: Vec<usize> = values
            .iter()
            .map(|(v, _, plain)| match plain {
                true => palisade_http::transform::PlainTraits::of(v).index(),
                false => NOT_PLAIN,
            })
            .collect();
        let mut known: Vec<u64> = traits_of
            .iter()
            .map(|&t| on_plain.get(t).copied().unwrap_or(0))
            .collect();
        let mut same = known.clone();
        // a plan's results are kept for the plans that extend it by one step: per value,
        // NOT_DONE, SAME (the value itself) or the index of the result in the plan's hay
        const NOT_DONE: u32 = u32::MAX;
        const SAME: u32 = u32::MAX - 1;
        // (or SHORT: the result is shorter than `Plan::skip_below`, left out here and in
        // every plan extending this one)
        const SHORT: u32 = u32::MAX - 2;
        // (or LOWERED: the result is the value lowercased, not computed; see
        // `Plan::lowers_plain`)
        const LOWERED: u32 = u32::MAX - 3;
        // Each parent plan's results are a row of one table (allocated once, not a vector
        // per plan and request): `Plan::result_row`.
        let mut results: Vec<u32> = vec![NOT_DONE; pf.result_rows * values.len()];
        let mut hays: Vec<crate::prefilter::Hay> = Vec::new();
        hays.resize_with(pf.plans.len(), Default::default);
        // Per kept plan hay entry: whether its bytes were scanned for literals already (in
        // this plan or, for an entry its last step left as the parent's, an ancestor's).
        // The literal automaton is the same for every plan and a copy carries the same
        // value id and collections, so scanning the copy again credits nothing new: a
        // chain such as 934100's urlDecodeUni,jsDecode,base64Decode,urlDecodeUni,jsDecode,
        // replaceComments scans each decoded value once instead of four times. The same
        // holds for a result that differs from what it was computed from in ASCII case
        // alone (the automaton ignores case): `cmdLine` lowercases every value with a
        // capital letter, and most values are otherwise left as they are.
        let mut literal_scanned: Vec<Vec<bool>> = vec![Vec::new(); pf.plans.len()];
        let mut scanned_here: Vec<bool> = Vec::with_capacity(values.len());
        // (room for what most plans copy, so that it does not regrow plan after plan)
        let mut fresh = crate::prefilter::Hay::with_capacity(values.len(), value_bytes.min(8192));
        // per entry of `hay`: whether it is its value lowercased (see Plan::lowered_in_raw)
        let mut lowered: Vec<bool> = Vec::with_capacity(values.len());
        // A step's result on a value itself, for the plans that end with that step after
        // steps leaving the value as it is (`removeWhitespace` ends four CRS pipelines whose
        // decoders leave a form's prose as it is): computed once, and its bytes scanned for
        // literals once. Keyed by (value, step); with whether they were scanned.
        let mut step_results: Vec<(Cow<'_, [u8]>, bool)> = Vec::with_capacity(values.len());
        // their bytes, bounded between plans: a large body's are dropped (and computed again
        // by each plan that needs them) rather than all kept to the end
        let mut step_bytes = 0;
        // (unit tests: 600 bytes, which the sharing tests' long values pass)
        #[cfg(not(test))]
        const MAX_STEP_BYTES: usize = 1 << 20;
        #[cfg(test)]
        const MAX_STEP_BYTES: usize = 600;
        let mut step_result_of = StepResultIndex::new(values.len(), pf.steps.len());
        // per entry of `hay`: the step result it is, if it is one
        let mut from_step: Vec<Option<usize>> = Vec::with_capacity(values.len());
        // the plans' regex scans of long results (see DeferredDfaScans)
        let mut deferred = pf
            .raw_dfa
            .is_some()
            .then(|| DeferredDfaScans::new(values.len()));
        // the values the plans read (a remembered one has its credits from the memo), and
        // the collections holding them: a plan reading none of those has nothing to do
        let mut unremembered: Vec<usize> = Vec::with_capacity(values.len());
        unremembered.extend((0..values.len()).filter(|&i| !remembered[i]));
        let unremembered_mask = unremembered.iter().fold(0u64, |m, &i| m | values[i].1);
        // The same as sets of value indexes (bit i % 64 of word i / 64): per collection
        // bit, the unremembered values it holds; per plain-traits index, the values with
        // those traits. A plan's values whose traits make every step of it leave them as
        // they are (`steps_on_plain`) are settled without a look each: a 20 KB JSON
        // order's 1,400 values met ~30 plans one by one, a third of its inspection.
        let words = values.len().div_ceil(64);
        let mut in_collection = vec![0u64; 64 * words];
        let mut with_traits = vec![0u64; on_plain.len() * words];
        for &i in &unremembered {
            let (word, bit) = (i / 64, 1u64 << (i % 64));
            let mut m = values[i].1;
            while m != 0 {
                in_collection[m.trailing_zeros() as usize * words + word] |= bit;
                m &= m - 1;
            }
            if let Some(w) = with_traits.get_mut(traits_of[i] * words + word) {
                *w |= bit;
            }
        }
        // a plan's plain values it at most lowercases, lowercased, for its value tests
        let mut lowered_values = crate::prefilter::Hay::default();
        let mut in_plan = vec![0u64; words];
        let mut settled = vec![0u64; words];
        // Per plan: every value it read came out SHORT. A plan extending such a one and
        // reading no other collection would find each of its values SHORT in the parent's
        // row (CRS 934100's six plans after a base64 step whose short binary results hold
        // no literal run): it is passed over whole, its row left undone (a plan extending
        // it that reads more computes those values from scratch).
        let mut all_short = vec![false; pf.plans.len()];
        let mut plan_values = vec![0u64; words];
        for &p in &pf.order {
            let plan = &pf.plans[p];
            if plan.mask & unremembered_mask == 0 {
                continue;
            }
            if let Some(q) = plan.parent {
                let parent_mask = pf.plans.get(q).map_or(0, |q| q.mask);
                if all_short.get(q) == Some(&true)
                    && plan.mask & unremembered_mask & !parent_mask == 0
                {
                    all_short[p] = true;
                    continue;
                }
            }
            hay.clear();
            scanned_here.clear();
            from_step.clear();
            if step_bytes > MAX_STEP_BYTES {
                step_results.clear();
                step_result_of.clear();
                step_bytes = 0;
            }
            // the step this plan ends with
            let last_step = plan.steps.last().copied();
            // (a binary plan whose tree asks nothing but literals: see `Prefilter::run_floors`)
            let compaction = pf.compaction(p);
            let floor = pf.run_floor(p);
            // the plan's steps as a mask of `pf.steps` bits (none when there are too many)
            let plan_steps = plan.steps_mask;
            // where this plan's results go in `results`, when some plan extends it
            let res_at = plan.result_row.map(|row| row * values.len());
            // where its parent's results are (every parent has a row)
            let parent_at = plan.parent.map(|q| {
                let row = pf.plans[q].result_row.unwrap_or(usize::MAX);
                (q, row.wrapping_mul(values.len()))
            });
            // (word by word, each OR-ed up in a register)
            let plan_mask = plan.mask & unremembered_mask;
            let settling: u16 = plan.settles;
            for w in 0..words {
                let mut word = 0;
                let mut m = plan_mask;
                while m != 0 {
                    word |= in_collection[m.trailing_zeros() as usize * words + w];
                    m &= m - 1;
                }
                in_plan[w] = word;
                let mut kept = 0;
                let mut t = settling;
                while t != 0 {
                    kept |= with_traits[t.trailing_zeros() as usize * words + w];
                    t &= t - 1;
                }
                settled[w] = kept & word;
            }
            // Settled values: the value itself is the result, or it is SHORT (as the look
            // below would find); only a plan that others extend keeps that.
            if let Some(base) = res_at {
                let short_below = plan.skip_values_below.max(plan.skip_below);
                for i in set_bits(&settled) {
                    let parent_short = parent_at
                        .is_some_and(|(_, at)| results.get(at.wrapping_add(i)) == Some(&SHORT));
                    let short = parent_short || values[i].0.len() < short_below;
                    if let Some(r) = results.get_mut(base + i) {
                        *r = if short { SHORT } else { SAME };
                    }
                }
            }
            plan_values.copy_from_slice(&in_plan);
            in_plan.iter_mut().zip(&settled).for_each(|(w, s)| *w &= !s);
            for i in set_bits(&in_plan) {
                let (v, mask, _) = &values[i];
                // a result too short for this plan's parent's subtree is too short here
                let parent_short = parent_at
                    .is_some_and(|(_, at)| results.get(at.wrapping_add(i)) == Some(&SHORT));
                if parent_short || v.len() < plan.skip_values_below {
                    if let Some(r) = res_at.and_then(|base| results.get_mut(base + i)) {
                        *r = SHORT;
                    }
                    continue;
                }
                // whether each step leaves the value as it is, worked out for the steps not
                // asked about yet, stopping at the first that changes it (as `all` did)
                let mut unchanged = plan_steps != 0;
                // The step found changing the value here (its position in the plan) and its
                // result, kept: the plan's result below would otherwise apply that step to
                // the value a second time. The steps before it leave the value as it is, so
                // the plan's result is the rest of the plan applied to this one.
                let mut changed_by: Option<(usize, usize)> = None;
                if unchanged && plan_steps & !same[i] != 0 {
                    // A plain value this plan at most lowercases: the raw pass read it already,
                    // but for the plan's value tests (`@streq` tells case apart), asked about
                    // the lowercased value below.
                    if plan.lowers_plain >> traits_of[i] & 1 != 0 {
                        if let Some(r) = res_at.and_then(|base| results.get_mut(base + i)) {
                            *r = if v.len() < plan.skip_below {
                                SHORT
                            } else {
                                LOWERED
                            };
                        }
                        if !plan.tests.is_empty() && v.iter().any(u8::is_ascii_uppercase) {
                            lowered_values.push(&v.to_ascii_lowercase(), *mask, i as u32);
                        }
                        continue;
                    }
                    for (j, &k) in plan.steps.iter().enumerate() {
                        let bit = 1u64 << k;
                        if known[i] & bit == 0 {
                            known[i] |= bit;
                            let t = pf.steps[k].apply(v);
                            if matches!(t, Cow::Borrowed(b) if b.len() == v.len()) {
                                same[i] |= bit;
                            } else {
                                step_result_of.insert(i, k, step_results.len());
                                changed_by = Some((j, step_results.len()));
                                step_bytes += t.len();
                                step_results.push((t, false));
                            }
                        }
                        if same[i] & bit == 0 {
                            unchanged = false;
                            break;
                        }
                    }
                }
                let at = if unchanged {
                    SAME
                } else {
                    let from_parent = parent_at.and_then(|(q, at)| {
                        let r = *results.get(at.wrapping_add(i))?;
                        (r != NOT_DONE).then_some((q, r))
                    });
                    match (from_parent, plan.transforms.last()) {
                        (Some((q, r)), Some(last)) => {
                            let lowered_value: Vec<u8>;
                            let base: &[u8] = match r {
                                SAME => v,
                                LOWERED => {
                                    lowered_value = v.to_ascii_lowercase();
                                    &lowered_value
                                }
                                r => hays[q].get(r as usize),
                            };
                            // (the raw value was scanned for literals in the raw pass, which
                            // ignores case)
                            let base_scanned = r == SAME
                                || r == LOWERED
                                || literal_scanned[q].get(r as usize).copied().unwrap_or(false);
                            // (the last step on the value itself: its result, when some plan
                            // computed it)
                            let kept = last_step
                                .filter(|_| r == SAME)
                                .and_then(|k| step_result_of.get(i, k));
                            let applied = match kept {
                                Some(at) => Cow::Borrowed(&step_results[at].0[..]),
                                None => last.apply(base),
                            };
                            match applied {
                                Cow::Borrowed(b) if b.len() == base.len() && kept.is_none() => {
                                    if r == SAME {
                                        SAME
                                    } else {
                                        hay.push(base, *mask, i as u32);
                                        scanned_here.push(base_scanned);
                                        from_step.push(None);
                                        (hay.len() - 1) as u32
                                    }
                                }
                                t => {
                                    hay.push(&t, *mask, i as u32);
                                    let scanned = kept.is_some_and(|at| step_results[at].1);
                                    scanned_here.push(
                                        scanned || (base_scanned && t.eq_ignore_ascii_case(base)),
                                    );
                                    from_step.push(kept);
                                    (hay.len() - 1) as u32
                                }
                            }
                        }
                        _ => {
                            // a one-step plan's result is that step's on the value
                            let kept = last_step
                                .filter(|_| plan.steps.len() == 1)
                                .and_then(|k| step_result_of.get(i, k));
                            let result = match (kept, changed_by) {
                                (Some(at), _) => Cow::Borrowed(&step_results[at].0[..]),
                                (None, Some((j, at)))
                                    if plan.steps.len() == plan.transforms.len() =>
                                {
                                    let first = Cow::Borrowed(&step_results[at].0[..]);
                                    Cow::Owned(apply_rest(&plan.transforms[j + 1..], first))
                                }
                                _ => apply_all(&plan.transforms, v),
                            };
                            match result {
                                Cow::Borrowed(b) if b.len() == v.len() && kept.is_none() => SAME,
                                t => {
                                    hay.push(&t, *mask, i as u32);
                                    let scanned = kept.is_some_and(|at| step_results[at].1);
                                    scanned_here.push(scanned || t.eq_ignore_ascii_case(v));
                                    from_step.push(kept);
                                    (hay.len() - 1) as u32
                                }
                            }
                        }
                    }
                };
                // A result too short for any pattern of this plan or of those extending it is
                // taken back (they read no further than `SHORT`), and so is a binary result
                // in which none of their literals can be (`RunCompaction::holds_run`).
                let at = match at {
                    SAME if v.len() < plan.skip_below => SHORT,
                    SAME => SAME,
                    k if hay.get(k as usize).len() < plan.skip_below
                        || floor.is_some_and(|f| !f.holds_run(hay.get(k as usize))) =>
                    {
                        hay.pop();
                        scanned_here.pop();
                        from_step.pop();
                        SHORT
                    }
                    k => k,
                };
                if let Some(r) = res_at.and_then(|base| results.get_mut(base + i)) {
                    *r = at;
                }
            }
            // (a plan's hay without binary results, as a GET's or a JSON order's, is scanned
            // as before, without the copy)
            let mut binary_runs = plan.binary_runs.as_ref().filter(|_| {
                plan.has_literals
                    && (0..hay.len()).any(|k| {
                        !scanned_here[k]
                            && crate::prefilter::LiteralRuns::is_long_binary(hay.get(k))
                    })
            });
            // Long binary results cut down to what can hold a literal of this plan or of
            // those extending it (`Prefilter::compaction`): the cut value is scanned whole, kept
            // and decoded further in place of the whole result.
            if let (Some(_), Some(compaction)) = (binary_runs, compaction) {
                compact_long_binary(
                    compaction,
                    &mut hay,
                    &mut fresh,
                    &scanned_here,
                    &mut from_step,
                );
                binary_runs = None;
            }
            if let Some(runs) = binary_runs {
                // An entry scanned by its runs was searched for this plan's literals only:
                // it stays unscanned for the plans extending this one.
                fresh.clear();
                for k in 0..hay.len() {
                    if !scanned_here[k]
                        && runs.push_runs(hay.get(k), hay.mask(k), hay.id(k), &mut fresh)
                    {
                        scanned_here[k] = true;
                        if let Some(at) = from_step[k] {
                            step_results[at].1 = true;
                        }
                    }
                }
                pf.scan(&fresh, &mut candidates);
            } else if plan.has_literals {
                if scanned_here.iter().any(|s| *s) {
                    fresh.clear();
                    for (k, _) in scanned_here.iter().enumerate().filter(|(_, s)| !**s) {
                        fresh.push(hay.get(k), hay.mask(k), hay.id(k));
                    }
                    pf.scan(&fresh, &mut candidates);
                } else {
                    pf.scan(&hay, &mut candidates);
                }
                scanned_here.iter_mut().for_each(|s| *s = true);
                for &at in from_step.iter().flatten() {
                    step_results[at].1 = true;
                }
            }
            if let Some(dfa) = plan.dfa.as_ref() {
                // (a result that is its value lowercased was scanned with the value, when
                // `raw_dfa` holds this plan's regexes lowered)
                lowered.clear();
                if plan.lowered_in_raw {
                    lowered.extend(
                        (0..hay.len())
                            .map(|k| is_lowercased(hay.get(k), values[hay.id(k) as usize].0)),
                    );
                }
                let to_scan = if lowered.contains(&true) {
                    fresh.clear();
                    for k in (0..hay.len()).filter(|&k| !lowered[k]) {
                        fresh.push(hay.get(k), hay.mask(k), hay.id(k));
                    }
                    &fresh
                } else {
                    &hay
                };
                match deferred.as_mut() {
                    Some(d) => d.add(pf, p, dfa, to_scan, &mut candidates),
                    None => pf.scan_dfa(dfa, to_scan, &mut candidates),
                }
            }
            pf.scan_tests(&plan.tests, &hay, &mut candidates, &mut holds);
            if !lowered_values.is_empty() {
                pf.scan_tests(&plan.tests, &lowered_values, &mut candidates, &mut holds);
                lowered_values.clear();
            }
            if let Some(base) = res_at {
                all_short[p] =
                    set_bits(&plan_values).all(|i| results.get(base + i) == Some(&SHORT));
            }
            // A parent's results are kept for the plans extending it; an empty hay (the
            // plan changed no value, as for most of a GET's) is left where it is rather than
            // replaced by a new allocation.
            if plan.result_row.is_some() && !hay.is_empty() {
                // (most pipelines change few values: room for all of a large body each would
                // reserve megabytes per request)
                hays[p] = std::mem::replace(
                    &mut hay,
                    crate::prefilter::Hay::with_capacity(values.len(), value_bytes.min(8192)),
                );
                std::mem::swap(&mut literal_scanned[p], &mut scanned_here);
                scanned_here.reserve(values.len());
            }
        }
        if let Some(d) = deferred.as_mut() {
            d.scan(pf, &mut candidates);
        }
        if !to_remember.is_empty() && !candidates.gave_up {
            // each value's slots, from the slots' values
            let mut credited: Vec<(u32, u32)> = Vec::new();
            let mut wanted = vec![false; values.len()];
            for &id in &to_remember {
                wanted[id as usize] = true;
            }
            for (slot, id) in candidates.credits() {
                if wanted[id as usize] {
                    credited.push((id, slot));
                }
            }
            credited.sort_unstable();
            credited.dedup();
            for &id in &to_remember {
                let from = credited.partition_point(|&(i, _)| i < id);
                let to = credited.partition_point(|&(i, _)| i <= id);
                let slots: Vec<u32> = credited[from..to].iter().map(|&(_, s)| s).collect();
                let (v, mask, _) = values[id as usize];
                memo.put(hashes[id as usize], mask, v, &slots);
            }
        }
        drop(memo);
        candidates.finish();
        Scan {
            candidates,
            prefilter: Some(pf),
            values: ScannedValues {
                raw,
                index,
                positions,
            },
        }
    }

    /// Ids of the argument names `ARGS_NAMES` (`get` query arguments first) or
    /// `ARGS_POST_NAMES` (`get` = 0) gives, from `firsts`, the ids of the names the scan
    /// read: the query's, then each body name that repeats no earlier one; a repeated name
    /// gets its first's id (`Arg::name_repeats`).
    fn with_repeated_names(&self, firsts: &[u32], get: usize) -> Vec<u32> {
        let mut ids = Vec::with_capacity(get + self.body.args.len());
        ids.extend(firsts.iter().take(get));
        let mut next = firsts.iter().skip(get);
        let mut body_ids: Vec<u32> = Vec::with_capacity(self.body.args.len());
        for arg in self.body.args.iter() {
            let id = match arg.name_repeats {
                Some(first) => body_ids.get(first as usize).copied(),
                None => next.next().copied(),
            };
            // (an id the scan did not see: `find_at` then looks the bytes up)
            let id = id.unwrap_or(u32::MAX);
            body_ids.push(id);
            ids.push(id);
        }
        ids
    }

    /// For a candidate rule with prefilter slot `slot`: the scan and the ids of the values
    /// it credited the slot for (None: evaluate the rule on every value it selects).
    fn credited(
        &self,
        slot: Option<u32>,
    ) -> Option<(&Scan<'a>, &crate::prefilter::Prefilter, &[u32])> {
        if self.exhaustive {
            return None;
        }
        let scan = self.candidates.as_ref()?;
        let ids = scan.candidates.values_of(slot? as usize)?;
        Some((scan, scan.prefilter?, ids))
    }

    fn stop_phase(&self, phase: u8) -> bool {
        phase < 5 && (self.interruption.is_some() || self.allowed_through >= phase)
    }

    fn is_removed(&self, rule: &Rule) -> bool {
        self.overrides
            .removed_ids
            .iter()
            .any(|r| r.contains(rule.id))
            || (self.overrides.removed_tags.iter()).any(|t| t.names(rule.id, &rule.actions.tags))
    }

    /// Evaluates a rule and its chain; true when every link matched.
    #[inline(never)]
    fn eval_chain(&mut self, rule: &'a Rule) -> bool {
        // MATCHED_VARS holds what this rule (and its chain so far) matched, nothing older.
        self.matched_vars.clear();
        let mut link = Some(rule);
        let head_id = rule.id;
        let head_tags = &rule.actions.tags;
        self.current_rule = Some(rule);
        // Each link may have a prefilter slot (the head's was asked by `run_phase`): a link
        // the scan found no value for fails the chain unevaluated.
        while let Some(r) = link {
            if let Some(slot) = r.slot.filter(|_| !std::ptr::eq(r, rule)) {
                if !self.may_match(slot) {
                    return false;
                }
            }
            if !self.eval_link(r, head_id, head_tags, r.slot) {
                return false;
            }
            link = r.chained.as_deref();
        }
        true
    }

    /// [`Transaction::eval_chain`] for a rule whose no-match outcome is a function of the
    /// request-head `inputs` (see [`head_memo`]): replayed from this thread's table when
    /// the same inputs were seen, else evaluated (and kept when it did not match). Not with
    /// a `ctl` exclusion of one of its targets, which changes what it reads.
    fn eval_chain_remembered(
        &mut self,
        rule: &'a Rule,
        folds: &fold::Folds,
        phase: u8,
        index: usize,
        inputs: &[head_memo::HeadInput],
    ) -> bool {
        if self.targets_removed(rule) {
            return self.eval_chain(rule);
        }
        let Some(key) = self.head_key(phase, index, inputs) else {
            return self.eval_chain(rule);
        };
        if let Some(o) = folds.memo.get().get(&key) {
            self.current_rule = Some(rule);
            for (k, _) in &o.writes {
                self.note_dirty(k);
            }
            fold::apply_writes(&o.writes, &mut self.tx, &mut self.tx_digits);
            self.matched_vars.clone_from(&o.matched_vars);
            if let Some((name, value)) = o.matched_vars.last() {
                self.matched_var_name.clone_from(name);
                self.matched_var.clone_from(value);
            }
            return false;
        }
        self.tx_log = Some(Vec::new());
        let matched = self.eval_chain(rule);
        let writes = self.tx_log.take().unwrap_or_default();
        if !matched {
            let outcome = head_memo::Outcome::new(writes, self.matched_vars.clone());
            folds.memo.get().put(key, outcome);
        }
        matched
    }

    /// Whether a `ctl` of this transaction removed targets from `rule`.
    fn targets_removed(&self, rule: &Rule) -> bool {
        let o = &self.overrides;
        o.removed_targets_by_id
            .iter()
            .any(|(ids, _)| ids.iter().any(|i| i.contains(rule.id)))
            || o.removed_targets_by_tag
                .iter()
                .any(|(tag, _)| tag.names(rule.id, &rule.actions.tags))
    }

    /// The head memo's key for the rule at `index` of `phase`: its inputs' bytes (None
    /// when they are too long to keep).
    fn head_key(
        &self,
        phase: u8,
        index: usize,
        inputs: &[head_memo::HeadInput],
    ) -> Option<Vec<u8>> {
        use head_memo::{push_field, HeadInput};
        let req = self.req;
        let mut key = Vec::with_capacity(128);
        key.push(phase);
        key.extend_from_slice(&(index as u32).to_le_bytes());
        for input in inputs {
            match input {
                HeadInput::Method => push_field(&mut key, req.method.as_bytes()),
                HeadInput::Protocol => push_field(&mut key, req.protocol.as_bytes()),
                HeadInput::BodyProcessor => push_field(&mut key, self.processor_name().as_bytes()),
                HeadInput::HeaderNames => {
                    key.extend_from_slice(&(req.headers.iter().count() as u32).to_le_bytes());
                    for (name, _) in req.headers.iter() {
                        push_field(&mut key, name.as_bytes());
                    }
                }
                HeadInput::Header(wanted) => {
                    let of_name = || {
                        req.headers
                            .iter()
                            .filter(|(name, _)| name.eq_ignore_ascii_case(wanted))
                    };
                    key.extend_from_slice(&(of_name().count() as u32).to_le_bytes());
                    for (name, value) in of_name() {
                        push_field(&mut key, name.as_bytes());
                        push_field(&mut key, value);
                    }
                }
            }
            if key.len() > head_memo::MAX_KEY_LEN {
                return None;
            }
        }
        Some(key)
    }

    /// Whether the first link of `rule` hits, the transaction left as it was (for the
    /// folding plan: a first link that hits has its setvars undone).
    fn first_link_hits(&mut self, rule: &'a Rule) -> bool {
        let before = self.tx.clone();
        let digits = self.tx_digits;
        let matched = (self.matched_var.clone(), self.matched_var_name.clone());
        let current = self.current_rule.replace(rule);
        self.matched_vars.clear();
        let hit = self.eval_link(rule, rule.id, &rule.actions.tags, rule.slot);
        self.matched_vars.clear();
        self.tx = before;
        self.tx_digits = digits;
        (self.matched_var, self.matched_var_name) = matched;
        self.current_rule = current;
        hit
    }

    /// One link: every selected value, transformed, through the operator. Per-match actions
    /// (`capture`, `setvar`, `setenv`) run for each matching value, in order, as in
    /// ModSecurity (they are applied after the scan, which only reads the transaction).
    fn eval_link(
        &mut self,
        r: &'a Rule,
        head_id: u64,
        head_tags: &[String],
        slot: Option<u32>,
    ) -> bool {
        let hits: Vec<Hit> = {
            let this = &*self;
            let values: Vec<Selected<'_>> = if r.unconditional {
                vec![Selected {
                    collection: "",
                    key: Cow::Borrowed(""),
                    whole_name: false,
                    value: Cow::Borrowed(&[][..]),
                    stable: false,
                    plain: Default::default(),
                }]
            } else {
                this.select(r, head_id, head_tags, slot)
            };
            let mut hits = Vec::new();
            let mut caps: Captures = Vec::new();
            // Within one link the operator's verdict is a function of the value (its operand
            // macros read TX, which the link's setvars change only after the loop), so a
            // value repeated in a long selection (a JSON array's 140 identical notes) that
            // did not match once is not transformed and tested again. Only misses are
            // remembered: every match is a hit of its own, with its own variable name.
            let mut misses: std::collections::HashSet<&[u8], crate::fxhash::FxBuild> =
                Default::default();
            let remember = values.len() > 8 && !r.actions.multi_match;
            // For the same reason the operator's argument expands to the same bytes for
            // every value: expanded once (TX values are copied out at each expansion).
            let operand: Option<Cow<'_, [u8]>> = r
                .operator
                .template()
                .filter(|t| !t.is_constant() && values.len() > 1)
                .map(|t| t.expand_cow(this));
            let operand = operand.as_deref();
            for sel in &values {
                if remember && misses.contains(&sel.value[..]) {
                    continue;
                }
                if r.actions.multi_match {
                    // the value, then each intermediate result that differs from the one
                    // before it; the first that matches is the hit
                    let mut prev = Transformed::Same(&sel.value[..]);
                    let mut matched = this.eval_operator(r, &prev, operand, &mut caps);
                    if !matched {
                        for &pid in &r.prefix_pipelines {
                            let cur = this.transformed(sel, pid);
                            if *cur == *prev {
                                continue;
                            }
                            prev = cur;
                            if this.eval_operator(r, &prev, operand, &mut caps) {
                                matched = true;
                                break;
                            }
                        }
                    }
                    if matched {
                        hits.push(Hit {
                            name: sel.name(&this.matched_var_name),
                            value: prev.to_vec(),
                            caps: std::mem::take(&mut caps),
                        });
                    }
                } else {
                    let transformed = this.transformed(sel, r.pipeline);
                    if this.eval_operator(r, &transformed, operand, &mut caps) {
                        hits.push(Hit {
                            name: sel.name(&this.matched_var_name),
                            value: transformed.to_vec(),
                            caps: std::mem::take(&mut caps),
                        });
                    } else if remember {
                        misses.insert(&sel.value[..]);
                    }
                }
            }
            hits
        };
        let any = !hits.is_empty();
        for hit in hits {
            if r.actions.capture {
                // TX:0-9, written in place (920450 captures every request header's name)
                for (i, digit) in DIGITS.iter().enumerate() {
                    let bit = 1u16 << i;
                    if let Some(log) = &mut self.tx_log {
                        // (every number: one not captured is removed, whether or not this
                        // transaction held it)
                        log.push((digit.to_string(), hit.caps.get(i).map(|c| c.to_vec())));
                    }
                    match hit.caps.get(i) {
                        Some(c) => {
                            self.tx_digits |= bit;
                            write_in_place(&mut self.tx, digit, c)
                        }
                        None if self.tx_digits & bit != 0 => {
                            self.tx_digits &= !bit;
                            self.tx.remove(*digit);
                        }
                        None => {}
                    }
                }
            }
            self.matched_vars
                .push((hit.name.clone(), hit.value.clone()));
            self.matched_var = hit.value;
            self.matched_var_name = hit.name;
            self.run_setvars(r);
        }
        any
    }

    /// A prefilter value test on one (transformed) value. The injection detectors' verdicts
    /// are remembered as `eval_operator` remembers them, so a rule the scan credited for a
    /// value does not run the detector on it again.
    fn test_holds(&self, test: &ValueTest, value: &[u8]) -> bool {
        type Detect = fn(&[u8], &mut Captures) -> bool;
        let (memo, detect): (usize, Detect) = match test {
            ValueTest::ByteRange(set) => return set.holds(value),
            ValueTest::Utf8 => return std::str::from_utf8(value).is_err(),
            ValueTest::Str(test) => return test.holds(value),
            ValueTest::Sqli if !sqli_worth_remembering(value) => return false,
            ValueTest::Xss if crate::injection::xss_is_trivial(value) => return false,
            ValueTest::Sqli => (SQLI_MEMO, crate::operators::detect_sqli_capturing),
            ValueTest::Xss => (XSS_MEMO, crate::operators::detect_xss_capturing),
        };
        self.remembered(memo, value, &mut Vec::new(), |caps| detect(value, caps))
    }

    /// `eval` on `value` (appending its captures to `caps`), or the verdict and captures
    /// kept from the last time in verdict table `memo`.
    fn remembered(
        &self,
        memo: usize,
        value: &[u8],
        caps: &mut Captures,
        eval: impl FnOnce(&mut Captures) -> bool,
    ) -> bool {
        if let Some(known) = self.verdicts.borrow()[memo].get(value) {
            caps.clear();
            return match known {
                Some(c) => {
                    caps.extend(c.iter().cloned());
                    true
                }
                None => false,
            };
        }
        let matched = eval(caps);
        self.verdicts.borrow_mut()[memo].insert(value.into(), matched.then(|| caps.clone()));
        matched
    }

    /// The rule's operator on one transformed value. `@detectSQLi` and `@detectXSS` depend
    /// on the value alone and cost microseconds, so their verdicts are kept per distinct
    /// value for the transaction (a JSON array repeats the same values many times).
    /// `operand`: the argument's expansion, when the caller made it.
    fn eval_operator(
        &self,
        r: &Rule,
        value: &[u8],
        operand: Option<&[u8]>,
        caps: &mut Captures,
    ) -> bool {
        let memo = match r.operator.op {
            Op::DetectSqli if sqli_worth_remembering(value) => SQLI_MEMO,
            Op::DetectXss if !crate::injection::xss_is_trivial(value) => XSS_MEMO,
            // (captures are read only by `capture`: see eval_link)
            Op::Rx(_) if !r.actions.capture => {
                caps.clear();
                return r.operator.matches(value, operand, self);
            }
            _ => return r.operator.eval_with(value, operand, self, caps),
        } + usize::from(r.operator.negated);
        self.remembered(memo, value, caps, |caps| r.operator.eval(value, self, caps))
    }

    /// A selected value through a pipeline, cached per (value, pipeline) for the
    /// transaction: CRS runs the same few pipelines over the same values in many rules. A
    /// pipeline's result is computed from its parent's (the pipeline without its last step,
    /// itself cached), so pipelines that share a prefix share its work.
    fn transformed<'v>(&self, sel: &'v Selected<'_>, pipeline: u32) -> Transformed<'v> {
        // most values are plain words that most pipelines leave as they are: no lookup
        if self
            .rules
            .pipeline_plain_identity
            .get(pipeline as usize)
            .copied()
            .unwrap_or(false)
            && sel.is_plain()
        {
            return Transformed::Same(&sel.value);
        }
        self.transformed_value(&sel.value, sel.stable, pipeline)
    }

    /// [`Transaction::transformed`] for a value; `stable`: borrowed from storage that lives
    /// and does not change for the whole transaction (so its address identifies it).
    fn transformed_value<'v>(
        &self,
        value: &'v [u8],
        stable: bool,
        pipeline: u32,
    ) -> Transformed<'v> {
        let transforms = &self.rules.pipelines[pipeline as usize];
        if transforms.is_empty() {
            return Transformed::Same(value);
        }
        if !stable {
            return match apply_all(transforms, value) {
                Cow::Borrowed(b) if b.len() == value.len() => Transformed::Same(value),
                other => Transformed::Shared(std::rc::Rc::from(&other[..])),
            };
        }
        let key = (value.as_ptr() as usize, value.len(), pipeline);
        if let Some(hit) = self.transform_cache.borrow().get(&key) {
            return match hit {
                None => Transformed::Same(value),
                Some(v) => Transformed::Shared(v.clone()),
            };
        }
        let parent = self
            .rules
            .pipeline_parents
            .get(pipeline as usize)
            .copied()
            .flatten();
        let stored = match (parent, transforms.last()) {
            (Some(parent), Some(last))
                if !(palisade_http::transform::is_plain(value)
                    && transforms.iter().all(|t| t.identity_on_plain())) =>
            {
                let base = self.transformed_value(value, stable, parent);
                match last.apply(&base) {
                    Cow::Borrowed(b) if b.len() == base.len() => match base {
                        Transformed::Same(_) => None,
                        Transformed::Shared(v) => Some(v),
                    },
                    other => Some(std::rc::Rc::<[u8]>::from(&other[..])),
                }
            }
            _ => match apply_all(transforms, value) {
                Cow::Borrowed(b) if b.len() == value.len() => None,
                other => Some(std::rc::Rc::<[u8]>::from(&other[..])),
            },
        };
        self.transform_cache
            .borrow_mut()
            .insert(key, stored.clone());
        match stored {
            None => Transformed::Same(value),
            Some(v) => Transformed::Shared(v),
        }
    }

    fn run_setvars(&mut self, r: &Rule) {
        for sv in &r.actions.setvars {
            // IP/GLOBAL/SESSION collections are not persisted; writes to them are ignored.
            let is_tx = match sv.collection.as_str() {
                "TX" => true,
                "ENV" => false,
                _ => continue,
            };
            // CRS's keys are lower-case literals (`tx.inbound_anomaly_score_pl1`): used as they
            // are, without building a string per setvar
            let key: Cow<'_, str> = match sv.key.literal() {
                Some(k) if !k.bytes().any(|b| b.is_ascii_uppercase()) => Cow::Borrowed(k),
                // (lowercased in place: ASCII case folding leaves any invalid UTF-8 as it is,
                // so the lossy conversion replaces the same bytes either way)
                _ => {
                    let mut k = sv.key.expand(self);
                    k.make_ascii_lowercase();
                    Cow::Owned(
                        String::from_utf8(k)
                            .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned()),
                    )
                }
            };
            if is_tx {
                self.note_tx_key(&key);
            }
            match &sv.op {
                SetVarOp::Delete => {
                    if let Some(log) = self.tx_log.as_mut().filter(|_| is_tx) {
                        log.push((key.to_string(), None));
                    }
                    self.map_mut(is_tx).remove(&*key);
                }
                SetVarOp::Set(t) => {
                    let v = match t.literal() {
                        Some(l) => l.as_bytes().to_vec(),
                        None => t.expand(self),
                    };
                    if let Some(log) = self.tx_log.as_mut().filter(|_| is_tx) {
                        log.push((key.to_string(), Some(v.clone())));
                    }
                    let map = self.map_mut(is_tx);
                    match map.get_mut(&*key) {
                        Some(old) => old.set(&v),
                        None => {
                            map.insert(key.into(), v.into());
                        }
                    }
                }
                SetVarOp::Add(t) | SetVarOp::Sub(t) => {
                    let delta = match t.literal() {
                        Some(l) => atoi(l.as_bytes()),
                        None => atoi(&t.expand_cow(self)),
                    };
                    let map = self.map_mut(is_tx);
                    let cur = map.get(&*key).map(|v| atoi(v)).unwrap_or(0);
                    let new = if matches!(sv.op, SetVarOp::Add(_)) {
                        cur.saturating_add(delta)
                    } else {
                        cur.saturating_sub(delta)
                    };
                    // the number written on the stack, without a String (an i64 has at
                    // most 20 characters)
                    let mut digits = [0u8; 24];
                    let mut cursor = std::io::Cursor::new(&mut digits[..]);
                    let _ = std::io::Write::write_fmt(&mut cursor, format_args!("{new}"));
                    let len = usize::try_from(cursor.position()).unwrap_or(0);
                    let text = &digits[..len];
                    if let Some(log) = self.tx_log.as_mut().filter(|_| is_tx) {
                        log.push((key.to_string(), Some(text.to_vec())));
                    }
                    let map = self.map_mut(is_tx);
                    match map.get_mut(&*key) {
                        Some(old) => old.set(text),
                        None => {
                            map.insert(key.into(), text.into());
                        }
                    }
                }
            }
        }
        for (k, t) in &r.actions.setenvs {
            let v = t.expand(self);
            self.env.insert(k.to_ascii_lowercase().into(), v.into());
        }
    }

    fn map_mut(&mut self, tx: bool) -> &mut VarMap {
        if tx {
            &mut self.tx
        } else {
            &mut self.env
        }
    }

    /// Actions after a full match: ctl, logging, disruptive.
    fn after_match(&mut self, rule: &'a Rule) {
        let mut link = Some(rule);
        while let Some(r) = link {
            for c in &r.actions.ctls {
                self.apply_ctl(c);
            }
            link = r.chained.as_deref();
        }
        self.note_severity(rule.actions.severity);
        // a `nolog` match is never logged or reported (CRS's bookkeeping rules: ~60 of them
        // match on every request), so its text is not built
        let text = |t: &Option<crate::macros::Template>| match t {
            Some(t) if rule.log => String::from_utf8_lossy(&t.expand(self)).into_owned(),
            _ => String::new(),
        };
        let msg = text(&rule.actions.msg);
        let logdata = text(&rule.actions.logdata);
        if self.silent_matches_kept || rule.log {
            self.matches.push(RuleMatch {
                id: rule.id,
                phase: rule.phase,
                msg,
                logdata,
                tags: if rule.log {
                    rule.actions.tags.clone()
                } else {
                    Vec::new()
                },
                severity: rule.actions.severity,
                paranoia: rule.paranoia,
                target: if rule.log {
                    self.matched_var_name.clone()
                } else {
                    String::new()
                },
                value: if rule.log {
                    self.matched_var.clone()
                } else {
                    Vec::new()
                },
                logged: rule.log,
                disruptive: rule.disruptive,
            });
        }
        self.matched_vars.clear();
        match rule.disruptive {
            Disruptive::Allow => {
                if self.engine == EngineMode::On {
                    self.allowed_through = 4;
                }
            }
            Disruptive::AllowRequest => {
                if self.engine == EngineMode::On {
                    self.allowed_through = 2;
                }
            }
            Disruptive::AllowPhase => {
                if self.engine == EngineMode::On {
                    self.allowed_through = rule.phase;
                }
            }
            Disruptive::Deny | Disruptive::Drop | Disruptive::Redirect => {
                if self.engine == EngineMode::On && self.interruption.is_none() {
                    self.interruption = Some(Interruption {
                        rule_id: rule.id,
                        status: rule.actions.status.unwrap_or(403),
                        action: rule.disruptive,
                    });
                }
            }
            Disruptive::Pass | Disruptive::Block => {}
        }
    }

    fn apply_ctl(&mut self, c: &Ctl) {
        match c {
            Ctl::RuleRemoveById(ids) => self.overrides.removed_ids.extend(ids.iter().copied()),
            Ctl::RuleRemoveByTag(t) => self.overrides.removed_tags.push(t.clone()),
            Ctl::RuleRemoveTargetById(ids, targets) => self
                .overrides
                .removed_targets_by_id
                .push((ids.clone(), targets.clone())),
            Ctl::RuleRemoveTargetByTag(tag, targets) => self
                .overrides
                .removed_targets_by_tag
                .push((tag.clone(), targets.clone())),
            Ctl::RuleEngine(m) => self.engine = *m,
            Ctl::RequestBodyProcessor(p) => self.body_processor = Some(p.clone()),
            Ctl::RequestBodyAccess(on) => self.body_access = *on,
            Ctl::ForceRequestBodyVariable(on) => self.force_body_variable = *on,
            Ctl::ResponseBodyAccess(_) | Ctl::Ignored => {}
        }
    }

    /// The body processor: set by `ctl:requestBodyProcessor`, else chosen by content type
    /// (what ModSecurity's recommended configuration does for XML and JSON).
    fn body_kind(&self) -> BodyKind {
        match self.body_processor.as_deref() {
            Some("URLENCODED") => BodyKind::UrlEncoded,
            Some("JSON") => BodyKind::Json,
            Some("XML") => BodyKind::Xml,
            Some("MULTIPART") => BodyKind::Multipart,
            _ => palisade_http::body::kind_of(&self.req.mime_type().unwrap_or_default()),
        }
    }

    fn processor_name(&self) -> &'static str {
        match self.body_kind() {
            BodyKind::UrlEncoded => "URLENCODED",
            BodyKind::Json => "JSON",
            BodyKind::Xml => "XML",
            BodyKind::Multipart => "MULTIPART",
            _ => "",
        }
    }

    fn prepare_body(&mut self) {
        if !self.body_access {
            return;
        }
        let ct_header = self.req.headers.get_str("content-type");
        let kind = self.body_kind();
        let forced_ct = match kind {
            BodyKind::UrlEncoded => "application/x-www-form-urlencoded".to_string(),
            BodyKind::Json => "application/json".to_string(),
            BodyKind::Xml => "application/xml".to_string(),
            BodyKind::Multipart => ct_header.clone().unwrap_or_default(),
            _ => String::new(),
        };
        self.body.processor = match kind {
            BodyKind::UrlEncoded => "URLENCODED",
            BodyKind::Json => "JSON",
            BodyKind::Xml => "XML",
            BodyKind::Multipart => "MULTIPART",
            _ => "",
        };
        // No processor for this type (text/plain, none): no ARGS_POST, as in ModSecurity, even
        // when the proxy's model took a JSON-looking body apart (BodyKind::UndeclaredJson).
        if self.body.processor.is_empty() || self.raw_body.is_empty() {
            self.body.processed = true;
            return;
        }
        let req: &'a RequestModel = self.req;
        match &req.body {
            // the proxy parsed the same bytes by the same content type already
            Some(model) if model.kind == kind && std::ptr::eq(&model.raw[..], self.raw_body) => {
                self.body.errors = Cow::Borrowed(&model.errors);
                self.body.files = Cow::Borrowed(&model.files);
                if kind == BodyKind::Xml {
                    self.body.xml = Cow::Borrowed(&model.args);
                } else {
                    self.body.args = Cow::Borrowed(&model.args);
                }
            }
            _ => {
                let parsed = parse_body(Some(&forced_ct), self.raw_body, false);
                self.body.errors = Cow::Owned(parsed.errors);
                self.body.files = Cow::Owned(parsed.files);
                if kind == BodyKind::Xml {
                    self.body.xml = Cow::Owned(parsed.args);
                } else {
                    self.body.args = Cow::Owned(parsed.args);
                }
            }
        }
        self.body.processed = true;
    }

    /// The values a rule link inspects, with exclusions applied: `(name, value)` pairs
    /// borrowed from the request where possible (names are built only for matches).
    #[inline(never)]
    /// `slot`: the link's prefilter slot, which limits the values to those the prefilter
    /// credited it for (see [`Transaction::credited`]).
    fn select(
        &self,
        r: &'a Rule,
        head_id: u64,
        head_tags: &[String],
        slot: Option<u32>,
    ) -> Vec<Selected<'_>> {
        // (room for a GET's arguments or headers: grown value by value, a selection was
        // reallocated two or three times)
        let mut out = Vec::with_capacity(8);
        let credited = self.credited(slot);
        let has_overrides = !self.overrides.removed_targets_by_id.is_empty()
            || !self.overrides.removed_targets_by_tag.is_empty();
        let removed: Vec<&Target> = if has_overrides {
            self.overrides
                .removed_targets_by_id
                .iter()
                .filter(|(ids, _)| ids.iter().any(|i| i.contains(head_id)))
                .flat_map(|(_, t)| t.iter())
                .chain(
                    self.overrides
                        .removed_targets_by_tag
                        .iter()
                        .filter(|(tag, _)| tag.names(head_id, head_tags))
                        .flat_map(|(_, t)| t.iter()),
                )
                .collect()
        } else {
            Vec::new()
        };
        let has_exclusions = r.targets.iter().any(|t| t.exclude);
        for target in r.targets.iter().filter(|t| !t.exclude) {
            if removed
                .iter()
                .any(|e| e.collection == target.collection && matches!(e.selector, Selector::All))
            {
                continue;
            }
            let excluded = |key: &str| {
                (has_exclusions || !removed.is_empty())
                    && r.targets
                        .iter()
                        .filter(|t| t.exclude)
                        .chain(removed.iter().copied())
                        .any(|e| {
                            e.collection == target.collection
                                && (matches!(e.selector, Selector::All) || e.selector.matches(key))
                        })
            };
            let items = self.collection_by_id(target.id, &target.selector);
            let keep = |k: &str| k.is_empty() || (target.selector.matches(k) && !excluded(k));
            let stable = stable_collection(&target.collection);
            if target.count {
                let n = items.iter().filter(|(k, _)| keep(k)).count();
                let name = match &target.selector {
                    Selector::All => target.collection.clone(),
                    Selector::Key(k) => {
                        let mut name = String::with_capacity(target.collection.len() + 1 + k.len());
                        name.push_str(&target.collection);
                        name.push(':');
                        name.push_str(k);
                        name
                    }
                    s => format!("{}:{}", target.collection, s.text()),
                };
                out.push(Selected {
                    collection: &target.collection,
                    key: Cow::Owned(name),
                    whole_name: true,
                    value: Cow::Owned(n.to_string().into_bytes()),
                    stable: false,
                    plain: Default::default(),
                });
                continue;
            }
            let whole_name = target.collection == "MATCHED_VARS";
            // Sized for every item only when every item is kept: a rule the scan credited
            // for a few values of a 1,400-value body would reserve (and move) ~100 KB.
            if credited.is_none() {
                out.reserve(items.len());
            }
            // a value the scan saw in this collection and did not credit the rule for cannot
            // match; one it did not see there (data changed since) is evaluated
            // (a keyed target of a value-tested rule was scanned on its own)
            let keyed = credited.and_then(|(_, pf, _)| match &target.selector {
                Selector::Key(key) => pf.collections.iter().position(|c| {
                    crate::prefilter::is_keyed_collection(c, &target.collection, key)
                }),
                _ => None,
            });
            let scanned_as = keyed.or_else(|| {
                let (_, pf, _) = credited?;
                pf.collections.iter().position(|c| *c == target.collection)
            });
            let bit = credited.map(|_| scanned_as.map_or(0, crate::prefilter::collection_bit));
            // The scan's items are in `select`'s order when it read the same selection.
            let aligned = keyed.is_some() || matches!(target.selector, Selector::All);
            let position_in = scanned_as.filter(|_| aligned).unwrap_or(usize::MAX);
            // For argument names: the body arguments' offset in the collection, to find a
            // repeated name's first (the scan saw only that one).
            let body_names_from = match target.collection.as_str() {
                "ARGS_NAMES" => Some(self.req.args_get.len()),
                "ARGS_POST_NAMES" => Some(0),
                _ => None,
            };
            for (j, (k, v)) in items.into_iter().enumerate() {
                if !keep(&k) {
                    continue;
                }
                if let (Some((scan, _, ids)), Some(bit)) = (credited, bit) {
                    let first_name = body_names_from
                        .and_then(|from| self.body.args.get(j.checked_sub(from)?))
                        .and_then(|a| self.body.args.get(a.name_repeats? as usize))
                        .map(|first| first.name.as_bytes());
                    let seen = scan
                        .values
                        .find_at(position_in, j, first_name.unwrap_or(&v));
                    if let Some((id, mask)) = seen {
                        if mask & bit != 0 && ids.binary_search(&id).is_err() {
                            continue;
                        }
                    }
                }
                out.push(Selected {
                    collection: &target.collection,
                    whole_name,
                    stable: stable && matches!(v, Cow::Borrowed(_)),
                    key: k,
                    value: v,
                    plain: Default::default(),
                });
            }
        }
        out
    }

    /// `(key, value)` pairs of a collection; scalars give one pair with an empty key.
    /// `selector` lets keyed lookups (TX, headers) avoid walking whole collections.
    #[inline(never)]
    fn collection(&self, name: &str, selector: &Selector) -> Vec<Val<'_>> {
        self.collection_by_id(CollectionId::of(name), selector)
    }

    /// The values of collection `id` that `selector` asks for (a key or all; a regex
    /// selector is applied by the caller).
    fn collection_by_id(&self, id: CollectionId, selector: &Selector) -> Vec<Val<'_>> {
        use CollectionId as C;
        let req: &'a RequestModel = self.req;
        let b = |v: &'a [u8]| Cow::Borrowed(v);
        let owned = |v: Vec<u8>| vec![(Cow::Borrowed(""), Cow::Owned(v))];
        let args_get = || {
            req.args_get
                .iter()
                .map(|a| (Cow::Borrowed(a.name.as_str()), Cow::Borrowed(&a.value[..])))
        };
        let args_post = || {
            self.body
                .args
                .iter()
                .map(|a| (Cow::Borrowed(a.name.as_str()), Cow::Borrowed(&a.value[..])))
        };
        match id {
            C::Args => args_get().chain(args_post()).collect(),
            C::ArgsGet => args_get().collect(),
            C::ArgsPost => args_post().collect(),
            C::ArgsNames => names(args_get().chain(args_post()).collect()),
            C::ArgsGetNames => names(args_get().collect()),
            C::ArgsPostNames => names(args_post().collect()),
            C::ArgsCombinedSize => {
                let n: usize = args_get()
                    .chain(args_post())
                    .map(|(k, v)| k.len() + v.len())
                    .sum();
                owned(n.to_string().into_bytes())
            }
            C::RequestHeaders => req
                .headers
                .iter()
                .filter(|(k, _)| match selector {
                    Selector::Key(sel) => k.eq_ignore_ascii_case(sel),
                    _ => true,
                })
                .map(|(k, v)| (Cow::Borrowed(k), b(v)))
                .collect(),
            C::RequestHeadersNames => req
                .headers
                .iter()
                .map(|(k, _)| (Cow::Borrowed(k), b(k.as_bytes())))
                .collect(),
            C::RequestCookies => req
                .cookies
                .iter()
                .map(|a| (Cow::Borrowed(a.name.as_str()), b(&a.value)))
                .collect(),
            C::RequestCookiesNames => req
                .cookies
                .iter()
                .map(|a| (Cow::Borrowed(a.name.as_str()), b(a.name.as_bytes())))
                .collect(),
            C::RequestFilename => vec![(Cow::Borrowed(""), Cow::Borrowed(&self.filename[..]))],
            C::RequestBasename => {
                let f = &self.filename[..];
                let base = match f.iter().rposition(|&c| c == b'/') {
                    Some(i) => &f[i + 1..],
                    None => f,
                };
                vec![(Cow::Borrowed(""), Cow::Borrowed(base))]
            }
            C::RequestUri => {
                vec![(Cow::Borrowed(""), b(req.uri_raw.as_bytes()))]
            }
            C::RequestLine => {
                // (joined by hand: `format!` costs more than the copies, twice per request)
                let parts = [
                    req.method.as_bytes(),
                    req.uri_raw.as_bytes(),
                    req.protocol.as_bytes(),
                ];
                let mut line = Vec::with_capacity(parts.iter().map(|p| p.len() + 1).sum());
                for (i, part) in parts.iter().enumerate() {
                    if i > 0 {
                        line.push(b' ');
                    }
                    line.extend_from_slice(part);
                }
                owned(line)
            }
            C::RequestMethod => vec![(Cow::Borrowed(""), b(req.method.as_bytes()))],
            C::RequestProtocol => vec![(Cow::Borrowed(""), b(req.protocol.as_bytes()))],
            C::QueryString => vec![(Cow::Borrowed(""), b(req.query_raw.as_bytes()))],
            C::RequestBody => {
                // ModSecurity and Coraza fill it for URL-encoded and JSON bodies (CRS rules
                // look for JSON keys in it), or when a rule forces it; not for XML/multipart.
                if self.body.processed
                    && (matches!(self.body.processor, "URLENCODED" | "JSON")
                        || self.force_body_variable)
                {
                    vec![(Cow::Borrowed(""), Cow::Borrowed(self.raw_body))]
                } else {
                    Vec::new()
                }
            }
            C::RequestBodyLength => owned(self.raw_body.len().to_string().into_bytes()),
            C::Files => self
                .body
                .files
                .iter()
                .map(|f| {
                    (
                        Cow::Borrowed(f.field.as_str()),
                        Cow::Borrowed(f.filename.as_bytes()),
                    )
                })
                .collect(),
            C::FilesNames => self
                .body
                .files
                .iter()
                .map(|f| {
                    (
                        Cow::Borrowed(f.field.as_str()),
                        Cow::Borrowed(f.field.as_bytes()),
                    )
                })
                .collect(),
            C::FilesSizes => self
                .body
                .files
                .iter()
                .map(|f| {
                    (
                        Cow::Borrowed(f.field.as_str()),
                        Cow::Owned(f.size.to_string().into_bytes()),
                    )
                })
                .collect(),
            C::FilesCombinedSize => owned(
                self.body
                    .files
                    .iter()
                    .map(|f| f.size)
                    .sum::<usize>()
                    .to_string()
                    .into_bytes(),
            ),
            C::ReqbodyError => owned(if self.body.errors.is_empty() {
                b"0".to_vec()
            } else {
                b"1".to_vec()
            }),
            C::ReqbodyErrorMsg => owned(self.body.errors.join("; ").into_bytes()),
            C::ReqbodyProcessor => owned(self.processor_name().as_bytes().to_vec()),
            C::Xml => self
                .body
                .xml
                .iter()
                .map(|a| (Cow::Borrowed(""), Cow::Borrowed(&a.value[..])))
                .collect(),
            C::Tx => match selector {
                Selector::Key(k) => self
                    .tx
                    .get_key_value(k.as_str())
                    .map(|(k, v)| vec![(Cow::Borrowed(k.as_str()), Cow::Borrowed(&v[..]))])
                    .unwrap_or_default(),
                _ => {
                    // in name order: a hash map's order differs between transactions, and
                    // the last of several matches is what MATCHED_VAR and the log show
                    let mut all: Vec<Val<'_>> = self
                        .tx
                        .iter()
                        .filter(|(k, _)| selector.matches(k))
                        .map(|(k, v)| (Cow::Borrowed(k.as_str()), Cow::Borrowed(&v[..])))
                        .collect();
                    all.sort_unstable_by(|a, b| a.0.cmp(&b.0));
                    all
                }
            },
            C::Env => self
                .env
                .iter()
                .map(|(k, v)| (Cow::Borrowed(k.as_str()), Cow::Borrowed(&v[..])))
                .collect(),
            C::UniqueId => vec![(Cow::Borrowed(""), Cow::Borrowed(self.unique_id.as_bytes()))],
            C::RemoteAddr => owned(
                req.client_ip
                    .map(|ip| ip.to_string())
                    .unwrap_or_else(|| "127.0.0.1".into())
                    .into_bytes(),
            ),
            C::ServerName => vec![(Cow::Borrowed(""), b(req.host.as_bytes()))],
            C::MatchedVar => vec![(Cow::Borrowed(""), Cow::Borrowed(&self.matched_var[..]))],
            C::MatchedVarName => vec![(
                Cow::Borrowed(""),
                Cow::Borrowed(self.matched_var_name.as_bytes()),
            )],
            C::MatchedVars => self
                .matched_vars
                .iter()
                .map(|(k, v)| (Cow::Borrowed(k.as_str()), Cow::Borrowed(&v[..])))
                .collect(),
            C::MatchedVarsNames => self
                .matched_vars
                .iter()
                .map(|(k, _)| (Cow::Borrowed(k.as_str()), Cow::Borrowed(k.as_bytes())))
                .collect(),
            C::Duration => owned(self.started.elapsed().as_micros().to_string().into_bytes()),
            C::HighestSeverity => owned(
                self.highest_severity
                    .map_or(255, u32::from)
                    .to_string()
                    .into_bytes(),
            ),
            C::TimeEpoch => owned(
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map(|d| d.as_secs())
                    .unwrap_or(0)
                    .to_string()
                    .into_bytes(),
            ),
            C::ResponseStatus => self
                .response
                .map(|r| owned(r.status.to_string().into_bytes()))
                .unwrap_or_default(),
            C::ResponseProtocol => self
                .response
                .map(|r| vec![(Cow::Borrowed(""), Cow::Borrowed(r.protocol.as_bytes()))])
                .unwrap_or_default(),
            C::ResponseHeaders => self
                .response
                .map(|r| {
                    r.headers
                        .iter()
                        .map(|(k, v)| (Cow::Borrowed(k.as_str()), Cow::Borrowed(&v[..])))
                        .collect()
                })
                .unwrap_or_default(),
            C::ResponseHeadersNames => self
                .response
                .map(|r| {
                    r.headers
                        .iter()
                        .map(|(k, _)| (Cow::Borrowed(k.as_str()), Cow::Borrowed(k.as_bytes())))
                        .collect()
                })
                .unwrap_or_default(),
            C::ResponseBody => self
                .response
                .filter(|_| self.rules.settings.response_body_access)
                .map(|r| vec![(Cow::Borrowed(""), Cow::Borrowed(&r.body[..]))])
                .unwrap_or_default(),
            C::ResponseContentType => self
                .response
                .and_then(|r| {
                    r.headers
                        .iter()
                        .find(|(k, _)| k.eq_ignore_ascii_case("content-type"))
                })
                .map(|(_, v)| vec![(Cow::Borrowed(""), Cow::Borrowed(&v[..]))])
                .unwrap_or_default(),
            C::ResponseContentLength => self
                .response
                .map(|r| owned(r.body.len().to_string().into_bytes()))
                .unwrap_or_default(),
            C::MultipartPartHeaders => {
                if self.body.processed && self.body.processor == "MULTIPART" {
                    let ct = self.req.headers.get_str("content-type").unwrap_or_default();
                    multipart_part_headers(&ct, self.raw_body)
                        .into_iter()
                        .map(|(k, v)| (Cow::Owned(k), Cow::Owned(v)))
                        .collect()
                } else {
                    Vec::new()
                }
            }
            C::MultipartFlag => owned(b"0".to_vec()),
            // Collections Palisade does not fill (persistent storage, GEO, ...): empty.
            C::Unfilled => Vec::new(),
        }
    }
}

/// Whether a response header's value is a secret the scan memo must not keep: a
/// credential header's (`Set-Cookie`, tokens) or a redirect target's (`Location`,
/// `Content-Location`, `Refresh`: an OAuth callback's carries its authorization code).
fn is_secret_response_header(name: &str) -> bool {
    palisade_http::is_credential_header(name)
        || ["location", "content-location", "refresh"]
            .iter()
            .any(|h| name.eq_ignore_ascii_case(h))
}

/// Every header line of every multipart part, keyed by the part's name (from its
/// `Content-Disposition`), as ModSecurity's MULTIPART_PART_HEADERS.
fn multipart_part_headers(content_type: &str, body: &[u8]) -> Vec<(String, Vec<u8>)> {
    let Some(boundary) = content_type.split(';').find_map(|p| {
        let (k, v) = p.split_once('=')?;
        k.trim()
            .eq_ignore_ascii_case("boundary")
            .then(|| v.trim().trim_matches('"').to_string())
    }) else {
        return Vec::new();
    };
    if boundary.is_empty() {
        return Vec::new();
    }
    let delimiter = format!("--{boundary}").into_bytes();
    let mut positions = Vec::new();
    let mut from = 0;
    while let Some(i) = memchr::memmem::find(&body[from..], &delimiter) {
        positions.push(from + i);
        from += i + delimiter.len();
    }
    let mut out = Vec::new();
    for w in positions.windows(2) {
        let part = &body[w[0] + delimiter.len()..w[1]];
        if part.starts_with(b"--") {
            break;
        }
        // the line end after the delimiter, then header lines up to a blank line
        let mut rest = part
            .strip_prefix(b"\r\n")
            .or_else(|| part.strip_prefix(b"\n"))
            .unwrap_or(part);
        let mut lines = Vec::new();
        loop {
            let end = rest.iter().position(|&b| b == b'\n').unwrap_or(rest.len());
            let line = &rest[..end];
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            if line.is_empty() {
                break;
            }
            lines.push(line.to_vec());
            if end >= rest.len() {
                break;
            }
            rest = &rest[end + 1..];
        }
        let name = lines.iter().find_map(|l| part_name(l)).unwrap_or_default();
        out.extend(lines.into_iter().map(|l| (name.clone(), l)));
    }
    out
}

/// `name` of a `Content-Disposition: form-data; name="x"; filename="y"` line.
fn part_name(line: &[u8]) -> Option<String> {
    let text = String::from_utf8_lossy(line);
    let lower = text.to_ascii_lowercase();
    if !lower.starts_with("content-disposition") {
        return None;
    }
    // `filename=` contains `name=`: take the one not preceded by a letter
    let bytes = lower.as_bytes();
    let mut search = 0;
    let idx = loop {
        let k = search + lower[search..].find("name=")?;
        if k == 0 || !bytes[k - 1].is_ascii_alphabetic() {
            break k;
        }
        search = k + 5;
    };
    let v = text[idx + 5..].trim_start();
    Some(match v.strip_prefix('"') {
        Some(q) => q.split('"').next().unwrap_or("").to_string(),
        None => v.split(';').next().unwrap_or("").trim().to_string(),
    })
}

fn request_filename(req: &RequestModel) -> Vec<u8> {
    palisade_http::urlencoded::percent_decode(req.path_raw.as_bytes(), false)
}

/// The bit of [`Transaction::tx_digits`] that a write of TX key `key` sets: `TX:0`-`TX:9`
/// have one, other keys none.
pub(crate) fn tx_digit_bit(key: &str) -> u16 {
    match key.as_bytes() {
        [d @ b'0'..=b'9'] => 1 << (d - b'0'),
        _ => 0,
    }
}

/// The indexes of the set bits of `words` (bit `i % 64` of word `i / 64` is index `i`), in
/// increasing order.
fn set_bits(words: &[u64]) -> impl Iterator<Item = usize> + '_ {
    words.iter().enumerate().flat_map(|(w, &word)| {
        let mut rest = word;
        std::iter::from_fn(move || {
            (rest != 0).then(|| {
                let bit = rest.trailing_zeros() as usize;
                rest &= rest - 1;
                w * 64 + bit
            })
        })
    })
}

/// Where in `Transaction::compute_candidates`' kept step results the result of step k on
/// value i is: one table, made when a step first changes a value, instead of a hash map
/// probed for every value a plan changes (~2% of a JSON order's inspection). A request
/// with so many values that the table would pass [`Self::MAX_TABLE`] entries uses the map.
struct StepResultIndex {
    values: usize,
    steps: usize,
    /// Whether the table is used (else the map).
    tabled: bool,
    /// `[step * values + value]`: the index, or NONE (empty until the first insert).
    table: Vec<u32>,
    map: crate::fxhash::FxHashMap<(u32, usize), usize>,
}

impl StepResultIndex {
    const NONE: u32 = u32::MAX;
    /// 1 MB of table.
    const MAX_TABLE: usize = 1 << 18;

    fn new(values: usize, steps: usize) -> StepResultIndex {
        StepResultIndex {
            values,
            steps,
            tabled: steps * values <= Self::MAX_TABLE,
            table: Vec::new(),
            map: Default::default(),
        }
    }

    #[inline]
    fn get(&self, value: usize, step: usize) -> Option<usize> {
        if !self.tabled {
            return self.map.get(&(value as u32, step)).copied();
        }
        let at = *self.table.get(step * self.values + value)?;
        (at != Self::NONE).then_some(at as usize)
    }

    fn insert(&mut self, value: usize, step: usize, at: usize) {
        if !self.tabled {
            self.map.insert((value as u32, step), at);
            return;
        }
        if self.table.is_empty() {
            self.table.resize(self.steps * self.values, Self::NONE);
        }
        if let Some(slot) = self.table.get_mut(step * self.values + value) {
            *slot = u32::try_from(at).unwrap_or(Self::NONE);
        }
    }

    fn clear(&mut self) {
        self.table.clear();
        self.map.clear();
    }
}

/// Whether `result` is `value` with its ASCII capitals lowercased.
fn is_lowercased(result: &[u8], value: &[u8]) -> bool {
    // (no early exit: the loop is vectorized)
    result.len() == value.len()
        && result
            .iter()
            .zip(value)
            .fold(true, |all, (r, v)| all & (*r == v.to_ascii_lowercase()))
}

/// The more severe (lower) of two severities, either maybe absent.
pub(crate) fn most_severe(a: Option<u8>, b: Option<u8>) -> Option<u8> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

/// Sets `key` to `value`, in place when the key exists (no key built then).
fn write_in_place(map: &mut VarMap, key: &str, value: &[u8]) {
    match map.get_mut(key) {
        Some(old) => old.set(value),
        None => {
            map.insert(key.into(), value.into());
        }
    }
}

/// `hay`'s long binary entries not scanned yet, cut down by `compaction` (the others as
/// they are; `fresh` is scratch space). A cut entry is no longer the shared step result
/// it was (`from_step`).
#[inline(never)]
fn compact_long_binary(
    compaction: &crate::prefilter::RunCompaction,
    hay: &mut crate::prefilter::Hay,
    fresh: &mut crate::prefilter::Hay,
    scanned: &[bool],
    from_step: &mut [Option<usize>],
) {
    let long_binary = |hay: &crate::prefilter::Hay, k: usize| {
        !scanned.get(k).copied().unwrap_or(true)
            && crate::prefilter::LiteralRuns::is_long_binary(hay.get(k))
    };
    fresh.clear();
    for k in 0..hay.len() {
        if long_binary(hay, k) {
            fresh.push_compacted(hay.get(k), hay.mask(k), hay.id(k), compaction);
            if let Some(f) = from_step.get_mut(k) {
                *f = None;
            }
        } else {
            fresh.push(hay.get(k), hay.mask(k), hay.id(k));
        }
    }
    std::mem::swap(hay, fresh);
}

/// The plans' regex scans of long results, deferred to the end of
/// `Transaction::compute_candidates`' plan loop: a result that several plans produce for one
/// value (removeWhitespace of prose under two pipelines; cmdLine and a lowercasing
/// pipeline on a value that only changes case) is scanned once, with the DFA of every
/// plan's regexes (`raw_dfa`, which may only credit more), instead of once per plan.
/// `work` holds each distinct (value, result) once, `plan` the plan that produced it
/// ([`Self::SHARED`]: more than one), and `next` links a value's results from `head`.
struct DeferredDfaScans {
    work: crate::prefilter::Hay,
    plan: Vec<usize>,
    next: Vec<u32>,
    head: Vec<u32>,
}

impl DeferredDfaScans {
    /// Only results this long are deferred: on short ones (a JSON order's 700 leaves) the
    /// larger DFA's matches cost more than the scans saved (crs_bench: 256 bytes -> 64
    /// bytes took a GET from 450k to 446k instructions and JSON from 7.02M to 6.98M; 48
    /// bytes did less on both).
    const MIN_LEN: usize = 64;
    /// Past this many bytes kept, those pending are scanned and sharing starts over (a large
    /// body's results are not all held at once). Unit tests flush at 600 bytes, so that a
    /// test's long values reach the bound.
    #[cfg(not(test))]
    const MAX_BYTES: usize = 256 << 10;
    #[cfg(test)]
    const MAX_BYTES: usize = 600;
    const NONE: u32 = u32::MAX;
    const SHARED: usize = usize::MAX;

    fn new(values: usize) -> DeferredDfaScans {
        DeferredDfaScans {
            work: crate::prefilter::Hay::default(),
            plan: Vec::new(),
            next: Vec::new(),
            head: vec![Self::NONE; values],
        }
    }

    /// Plan `p`'s results in `hay` for its DFA `dfa`: the short ones scanned now, the long
    /// ones kept (once per value and bytes) for [`Self::scan`].
    fn add(
        &mut self,
        pf: &crate::prefilter::Prefilter,
        p: usize,
        dfa: &crate::prefilter::MultiDfa,
        hay: &crate::prefilter::Hay,
        candidates: &mut Candidates,
    ) {
        // A long result with capitals from a plan whose regexes `raw_dfa` holds lowered is
        // scanned now, with the plan's own DFA: `raw_dfa` would look for them in the
        // result lowercased.
        let mut now = crate::prefilter::Hay::default();
        for k in 0..hay.len() {
            let (bytes, mask, id) = (hay.get(k), hay.mask(k), hay.id(k));
            if mask & dfa.mask == 0 || bytes.len() < Self::MIN_LEN {
                continue;
            }
            if pf.plans[p].lowered_in_raw && bytes.iter().any(u8::is_ascii_uppercase) {
                now.push(bytes, mask, id);
                continue;
            }
            let mut at = self.head[id as usize];
            while at != Self::NONE && self.work.get(at as usize) != bytes {
                at = self.next[at as usize];
            }
            if at == Self::NONE && self.work.bytes.len() + bytes.len() > Self::MAX_BYTES {
                self.scan(pf, candidates);
            }
            if at == Self::NONE {
                self.next.push(self.head[id as usize]);
                self.head[id as usize] = self.work.len() as u32;
                self.work.push(bytes, mask, id);
                self.plan.push(p);
            } else if self.plan[at as usize] != p {
                self.plan[at as usize] = Self::SHARED;
            }
        }
        pf.scan_dfa_shorter_than(dfa, hay, Self::MIN_LEN, candidates);
        pf.scan_dfa(dfa, &now, candidates);
    }

    /// Scans the results kept, and forgets them: each plan's own through its DFA (a plan's
    /// are consecutive: plans add theirs in turn), the shared ones through `raw_dfa`.
    fn scan(&mut self, pf: &crate::prefilter::Prefilter, candidates: &mut Candidates) {
        if self.work.is_empty() {
            return;
        }
        let mut group = crate::prefilter::Hay::default();
        let mut shared = crate::prefilter::Hay::default();
        let mut k = 0;
        while k < self.work.len() {
            let p = self.plan[k];
            group.clear();
            while k < self.work.len() && (self.plan[k] == p || self.plan[k] == Self::SHARED) {
                let hay = if self.plan[k] == Self::SHARED {
                    &mut shared
                } else {
                    &mut group
                };
                hay.push(self.work.get(k), self.work.mask(k), self.work.id(k));
                k += 1;
            }
            if let Some(dfa) = pf.plans.get(p).and_then(|plan| plan.dfa.as_ref()) {
                pf.scan_dfa(dfa, &group, candidates);
            }
        }
        if let Some(dfa) = &pf.raw_dfa {
            pf.scan_dfa(dfa, &shared, candidates);
        }
        self.work.clear();
        self.plan.clear();
        self.next.clear();
        self.head.iter_mut().for_each(|h| *h = Self::NONE);
    }
}

/// Whether `@detectSQLi`'s verdict on `value` goes through the transaction's memo: not for
/// trivial input, nor for a short value the engine would not run on (a plain phrase), whose
/// verdict costs less to work out again than a hash, a copy of the value and a lookup
/// (~1,500 of them for a 700-leaf JSON order). A long value is looked up first: telling a
/// plain phrase costs a pass over it, and one that is not goes to the engine.
fn sqli_worth_remembering(value: &[u8]) -> bool {
    const SHORT: usize = 128;
    !crate::injection::sqli_is_trivial(value)
        && (value.len() > SHORT || crate::injection::sqli_runs_engine(value))
}

/// `pipeline` applied to `changed`, the result of the steps before it: the last result.
fn apply_rest(pipeline: &[Transform], changed: Cow<'_, [u8]>) -> Vec<u8> {
    let rest = apply_all(pipeline, &changed);
    if matches!(&rest, Cow::Borrowed(b) if b.len() == changed.len()) {
        drop(rest);
        changed.into_owned()
    } else {
        rest.into_owned()
    }
}

fn apply_all<'v>(pipeline: &[Transform], value: &'v [u8]) -> Cow<'v, [u8]> {
    palisade_http::transform::apply_all(pipeline, value)
}

impl Resolve for Transaction<'_> {
    fn resolve(&self, collection: &str, key: &str) -> Option<Vec<u8>> {
        match collection {
            "RULE" => {
                let rule = self.current_rule?;
                return match key.to_ascii_lowercase().as_str() {
                    "id" => Some(rule.id.to_string().into_bytes()),
                    "msg" => Some(rule.msg_text().into_bytes()),
                    _ => None,
                };
            }
            // keys are stored lower-case, as CRS writes them in macros
            "TX" if !key.bytes().any(|b| b.is_ascii_uppercase()) => {
                return self.tx.get(key).map(|v| v.to_vec())
            }
            "TX" => {
                return self
                    .tx
                    .get(key.to_ascii_lowercase().as_str())
                    .map(|v| v.to_vec())
            }
            _ => {}
        }
        let selector = if key.is_empty() {
            Selector::All
        } else {
            Selector::Key(key.to_ascii_lowercase())
        };
        self.collection(collection, &selector)
            .into_iter()
            .find(|(k, _)| key.is_empty() || k.is_empty() || k.eq_ignore_ascii_case(key))
            .map(|(_, v)| v.into_owned())
    }

    fn resolve_ref(&self, collection: &str, key: &str) -> Option<&[u8]> {
        // (CRS's macros are nearly all TX, with lower-case keys as the map's)
        if collection == "TX" && !key.bytes().any(|b| b.is_ascii_uppercase()) {
            return self.tx.get(key).map(|v| &v[..]);
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use palisade_http::Headers;
    use std::path::Path;

    fn rules(text: &str) -> RuleSet {
        RuleSet::from_text(text, Path::new("t.conf")).expect("rules load")
    }

    /// A transaction of `req` through its request phases at detection paranoia level 1.
    fn request_phases_at_pl1<'a>(set: &'a RuleSet, req: &'a RequestModel) -> Transaction<'a> {
        let mut tx = Transaction::new(set, req, &[]);
        tx.set_tx("detection_paranoia_level", "1");
        tx.process_request();
        tx
    }

    fn get(target: &str) -> RequestModel {
        RequestModel::from_head("GET", target, "HTTP/1.1", Headers::default())
    }

    /// A GET of `/?query` with `headers`.
    fn get_with_headers(query: &str, headers: &[(&str, &[u8])]) -> RequestModel {
        let mut h = Headers::default();
        for (n, v) in headers {
            h.push(*n, *v);
        }
        RequestModel::from_head("GET", &format!("/?{query}"), "HTTP/1.1", h)
    }

    /// The prefilter slot of rule `id` (a chain head).
    fn slot_of(set: &RuleSet, id: u64) -> u32 {
        set.phases
            .iter()
            .flatten()
            .find_map(|e| match e {
                Entry::Rule(r) if r.id == id => r.slot,
                _ => None,
            })
            .expect("the rule has a prefilter slot")
    }

    /// Stepping over rules the prefilter rules out goes to the next rule that may match (by
    /// its head or a chain link's slot) or has no slot, passing markers, and no further.
    #[test]
    fn unlikely_rules_are_passed_over_up_to_the_next_that_may_match() {
        let set = rules(
            "SecRule ARGS \"@pm aaa\" \"id:1,phase:2,pass\"\n\
             SecMarker M\n\
             SecRule ARGS \"@pm bbb\" \"id:2,phase:2,pass,chain\"\n\
             SecRule ARGS \"@validateByteRange 32-126\" \"\"\n\
             SecRule ARGS \"@pm ccc\" \"id:3,phase:2,pass\"\n\
             SecRule TX:x \"@eq 1\" \"id:4,phase:2,pass\"\n\
             SecRule ARGS \"@pm ddd\" \"id:5,phase:2,pass\"\n\
             SecRule ARGS \"@pm eee\" \"id:6,phase:3,pass\"\n",
        );
        let link = set.phases[2]
            .iter()
            .find_map(|e| match e {
                Entry::Rule(r) if r.id == 2 => r.chained.as_ref()?.slot,
                _ => None,
            })
            .expect("the chained value test has a slot");
        let slots: Vec<u32> = [1, 2, 3, 5, 6]
            .iter()
            .map(|&id| slot_of(&set, id))
            .collect();
        let (s1, s2, s3, s5, s6) = (slots[0], slots[1], slots[2], slots[3], slots[4]);
        // entries of phase 2: 0 rule 1, 1 marker, 2 rule 2 (+ link), 3 rule 3, 4 rule 4,
        // 5 rule 5
        let hits = |on: &[u32]| {
            let mut hit = vec![false; set.prefilter_slots];
            for &s in on {
                hit[s as usize] = true;
            }
            hit
        };
        let none = hits(&[]);
        // nothing may match: on to rule 4, which has no slot; past rule 5, the phase's end
        assert_eq!(set.after_unlikely(2, 0, s1, &none), 4);
        assert_eq!(set.after_unlikely(2, 5, s5, &none), 6);
        // a later rule that may match is where it stops, whatever comes after
        assert_eq!(set.after_unlikely(2, 0, s1, &hits(&[s3, s5])), 3);
        assert_eq!(set.after_unlikely(2, 0, s1, &hits(&[s2])), 2);
        // a chain link's slot stops at its rule; from that rule itself, it is passed
        assert_eq!(set.after_unlikely(2, 0, s1, &hits(&[link])), 2);
        assert_eq!(set.after_unlikely(2, 2, s2, &hits(&[link])), 4);
        // another phase's slots do not stop this one (phase 3: 0 marker M, 1 rule 6)
        assert_eq!(set.after_unlikely(2, 5, s5, &hits(&[s6])), 6);
        assert_eq!(set.after_unlikely(3, 1, s6, &hits(&[s1, s2, s3])), 2);
    }

    /// Without the silent matches kept, a transaction records its logged matches alone,
    /// whether evaluated, folded or replayed as phase 1's folded prefix, and its TX is the
    /// same as with them.
    #[test]
    fn silent_matches_can_be_left_out_of_the_record() {
        let rules = RuleSet::from_text(
            "SecAction \"id:1,phase:1,pass,nolog,setvar:tx.a=1\"\n\
             SecAction \"id:2,phase:1,pass,log,msg:'setup',setvar:tx.b=2\"\n\
             SecRule REQUEST_HEADERS:User-Agent \"@contains curl\" \"id:3,phase:1,pass,nolog,setvar:tx.c=3\"\n\
             SecRule TX:a \"@eq 1\" \"id:4,phase:1,pass,nolog,setvar:tx.d=4\"\n\
             SecRule TX:a \"@eq 1\" \"id:5,phase:1,pass,log,msg:'folded',setvar:tx.e=5\"\n\
             SecRule REQUEST_HEADERS:User-Agent \"@contains curl\" \"id:6,phase:2,pass,log,msg:'curl'\"\n",
            std::path::Path::new("silent.conf"),
        )
        .expect("rules load");
        let mut headers = Headers::default();
        headers.push("User-Agent", b"curl/8.0".to_vec());
        let req = RequestModel::from_head("GET", "/", "HTTP/1.1", headers);
        let run = |kept: bool| {
            let mut tx = Transaction::new(&rules, &req, &[]);
            tx.set_silent_matches_kept(kept);
            tx.process_request();
            let ids: Vec<u64> = tx.matches.iter().map(|m| m.id).collect();
            let vars: Vec<(String, Vec<u8>)> = (tx.tx_vars().into_iter())
                .map(|(k, v)| (k.to_string(), v.to_vec()))
                .collect();
            (ids, vars)
        };
        // (twice each: the first run plans the folds the second applies)
        for _ in 0..2 {
            let (all, all_vars) = run(true);
            let (logged, logged_vars) = run(false);
            assert_eq!(all, [1, 2, 3, 4, 5, 6]);
            assert_eq!(logged, [2, 5, 6]);
            assert_eq!(logged_vars, all_vars);
        }
    }

    /// The response phases run in a transaction resumed from the request's, which keeps the
    /// request's UNIQUE_ID (one transaction in ModSecurity's terms).
    #[test]
    fn response_phases_keep_the_request_s_unique_id() {
        let rules = RuleSet::from_text(
            "SecAction \"id:1,phase:1,pass,nolog,setvar:tx.id=%{UNIQUE_ID}\"\n\
             SecRule UNIQUE_ID \"!@streq %{tx.id}\" \"id:2,phase:3,pass,log\"\n\
             SecRule UNIQUE_ID \"@streq %{tx.id}\" \"id:3,phase:3,pass,log\"\n",
            std::path::Path::new("unique.conf"),
        )
        .expect("rules load");
        let req = RequestModel::from_head("GET", "/", "HTTP/1.1", Headers::default());
        let mut tx = Transaction::new(&rules, &req, &[]);
        tx.process_request();
        let saved = tx.save_for_response();
        let mut tx = Transaction::resume_for_response(&rules, &req, saved);
        let resp = Response {
            status: 200,
            protocol: "HTTP/1.1".into(),
            headers: Cow::Owned(Vec::new()),
            body: Cow::Borrowed(&b"ok"[..]),
        };
        tx.set_response(&resp);
        tx.process_response();
        let ids: Vec<u64> = tx.matches.iter().map(|m| m.id).collect();
        // (the resumed transaction records the response phases' matches)
        assert_eq!(ids, [3], "the same id in both halves");
    }

    /// UNIQUE_ID, written by hand, is what `format!("{pid:x}{n:08x}")` made.
    #[test]
    fn unique_ids_are_the_pid_and_counter_in_hex() {
        for (pid, n) in [
            (0u32, 0u64),
            (1, 2),
            (0x1f, 0xabc),
            (123_456, u64::from(u32::MAX)),
            (u32::MAX, 7),
            (42, 0x1_2345_6789),
            (7, u64::MAX),
        ] {
            assert_eq!(unique_id(pid, n), format!("{pid:x}{n:08x}"));
        }
    }

    /// `ctl:ruleRemoveByTag` and `ctl:ruleRemoveTargetByTag` name the rules whose tags
    /// their pattern matches, whole (the ids are worked out at load): a pattern, an exact
    /// tag, a tag that is only a part of another, and a rule without the tag.
    #[test]
    fn tag_ctls_name_the_rules_whose_tags_match() {
        let set = rules(
            "SecRule ARGS:off \"@streq 1\" \"id:1,phase:1,pass,nolog,ctl:ruleRemoveByTag=app/.*\"\n\
             SecRule ARGS:notext \"@streq 1\" \"id:2,phase:1,pass,nolog,ctl:ruleRemoveTargetByTag=text-rule;ARGS:text\"\n\
             SecRule ARGS \"@contains bad\" \"id:10,phase:2,pass,tag:'app/a'\"\n\
             SecRule ARGS \"@contains bad\" \"id:11,phase:2,pass,tag:'x',tag:'app/b'\"\n\
             SecRule ARGS \"@contains bad\" \"id:12,phase:2,pass,tag:'myapp/c'\"\n\
             SecRule ARGS \"@contains bad\" \"id:13,phase:2,pass,tag:'text-rule'\"\n\
             SecRule ARGS \"@contains bad\" \"id:14,phase:2,pass,tag:'text-rule-2'\"\n\
             SecRule ARGS \"@contains bad\" \"id:15,phase:2,pass,tag:'text-rule',chain\"\n\
                 SecRule ARGS \"@contains bad\" \"t:none\"\n",
        );
        for (target, expected) in [
            ("/?text=bad", &[10, 11, 12, 13, 14, 15][..]),
            ("/?text=bad&off=1", &[12, 13, 14, 15]),
            ("/?text=bad&notext=1", &[10, 11, 12, 14]),
            ("/?text=bad&other=bad&notext=1", &[10, 11, 12, 13, 14, 15]),
        ] {
            let req = get(target);
            for exhaustive in [false, true] {
                let mut tx = Transaction::new(&set, &req, &[]);
                tx.set_exhaustive(exhaustive);
                tx.process_request();
                let mut ids: Vec<u64> = tx.matches.iter().map(|m| m.id).collect();
                ids.retain(|&id| id >= 10);
                ids.dedup();
                assert_eq!(ids, expected, "{target}");
            }
        }
    }

    /// A matched skipAfter resumes after its marker; a marker before the rule, or one that
    /// is not there, ends the phase (as in ModSecurity).
    #[test]
    fn skip_after_resumes_after_its_marker_or_ends_the_phase() {
        let set = rules(
            "SecMarker BACK\n\
             SecAction \"id:1,phase:1,pass,nolog,skipAfter:AHEAD\"\n\
             SecAction \"id:2,phase:1,pass,nolog,setvar:tx.skipped=1\"\n\
             SecMarker AHEAD\n\
             SecAction \"id:3,phase:1,pass,nolog,setvar:tx.ahead=1\"\n\
             SecRule ARGS:back \"@streq 1\" \"id:4,phase:1,pass,nolog,skipAfter:BACK\"\n\
             SecRule ARGS:missing \"@streq 1\" \"id:5,phase:1,pass,nolog,skipAfter:NOWHERE\"\n\
             SecAction \"id:6,phase:1,pass,nolog,setvar:tx.end=1\"\n",
        );
        for (target, end) in [
            ("/", Some(&b"1"[..])),
            ("/?back=1", None),
            ("/?missing=1", None),
        ] {
            let req = get(target);
            for exhaustive in [false, true] {
                let mut tx = Transaction::new(&set, &req, &[]);
                tx.set_exhaustive(exhaustive);
                tx.process_request();
                assert_eq!(tx.tx("skipped"), None, "{target}");
                assert_eq!(tx.tx("ahead"), Some(&b"1"[..]), "{target}");
                assert_eq!(tx.tx("end"), end, "{target}");
            }
        }
    }

    /// A matched rule's `skip:N` passes over the next N rules; with a skipAfter as well,
    /// the skipAfter decides where the phase goes on.
    #[test]
    fn skip_passes_over_the_next_rules_and_skip_after_overrides_it() {
        let set = rules(
            "SecRule ARGS:jump \"@streq 1\" \"id:1,phase:1,pass,nolog,skip:2\"\n\
             SecAction \"id:2,phase:1,pass,nolog,setvar:tx.a=1\"\n\
             SecAction \"id:3,phase:1,pass,nolog,setvar:tx.b=1\"\n\
             SecAction \"id:4,phase:1,pass,nolog,setvar:tx.c=1\"\n\
             SecRule ARGS:both \"@streq 1\" \"id:5,phase:1,pass,nolog,skip:1,skipAfter:END\"\n\
             SecAction \"id:6,phase:1,pass,nolog,setvar:tx.d=1\"\n\
             SecAction \"id:7,phase:1,pass,nolog,setvar:tx.e=1\"\n\
             SecMarker END\n\
             SecAction \"id:8,phase:1,pass,nolog,setvar:tx.f=1\"\n",
        );
        let one = Some(&b"1"[..]);
        for (target, want) in [
            ("/", [one, one, one, one, one, one]),
            ("/?jump=1", [None, None, one, one, one, one]),
            ("/?both=1", [one, one, one, None, None, one]),
        ] {
            let req = get(target);
            for exhaustive in [false, true] {
                let mut tx = Transaction::new(&set, &req, &[]);
                tx.set_exhaustive(exhaustive);
                tx.process_request();
                let got = ["a", "b", "c", "d", "e", "f"].map(|k| tx.tx(k));
                assert_eq!(got, want, "{target} exhaustive={exhaustive}");
            }
        }
    }

    /// Pipelines computed from their parent's cached result give what applying the whole
    /// pipeline gives.
    #[test]
    fn shared_prefixes_transform_like_the_whole_pipeline() {
        let set = rules(
            "SecRule ARGS \"@rx zz\" \"id:1,phase:2,pass,t:none,t:urlDecodeUni,t:lowercase,t:removeWhitespace\"\n\
             SecRule ARGS \"@rx zz\" \"id:2,phase:2,pass,t:none,t:urlDecodeUni,t:htmlEntityDecode,t:trim\"\n\
             SecRule ARGS \"@rx zz\" \"id:3,phase:2,pass,t:none,t:urlDecodeUni,t:lowercase,t:compressWhitespace,t:base64Decode\"\n",
        );
        assert!(set.pipelines.len() >= 6, "prefixes are interned");
        let req = get("/?a=%2541%20B%26lt%3B%20c&b=plain&c=%20%20x%20%20&d=SGVsbG8%3D&e=");
        let tx = Transaction::new(&set, &req, &[]);
        for arg in &req.args_get {
            for (id, pipeline) in set.pipelines.iter().enumerate() {
                let got = tx.transformed_value(&arg.value, true, id as u32);
                let want = apply_all(pipeline, &arg.value);
                assert_eq!(&got[..], &want[..], "{pipeline:?} on {:?}", arg.value);
                // and again, from the cache
                let again = tx.transformed_value(&arg.value, true, id as u32);
                assert_eq!(&again[..], &want[..]);
            }
        }
    }

    /// Remembered `@detectSQLi` / `@detectXSS` verdicts give the same matches (and
    /// captures) for every copy of a value, negated or not.
    #[test]
    fn remembered_verdicts_match_every_copy() {
        let set = rules(
            "SecRule ARGS \"@detectSQLi\" \"id:1,phase:1,pass,capture,setvar:tx.sqli=+1,setvar:tx.fp=%{tx.0}\"\n\
             SecRule ARGS \"!@detectXSS\" \"id:2,phase:1,pass,setvar:tx.clean=+1\"\n\
             SecRule ARGS \"@detectXSS\" \"id:3,phase:1,pass,setvar:tx.xss=+1\"\n",
        );
        let q = "a=1%27%20or%20%271%27%3D%271&b=1%27%20or%20%271%27%3D%271&c=hello&d=%3Cscript%3Ex&e=%3Cscript%3Ex&f=x%3Dy";
        let req = get(&format!("/?{q}"));
        let mut tx = Transaction::new(&set, &req, &[]);
        tx.process_request();
        assert_eq!(tx.tx("sqli"), Some(&b"2"[..]));
        assert_eq!(tx.tx("fp"), Some(&b"s&sos"[..]));
        assert_eq!(tx.tx("xss"), Some(&b"2"[..]));
        assert_eq!(tx.tx("clean"), Some(&b"4"[..]));
    }

    /// A setvar name built from request data is lowercased, and bytes that are not UTF-8
    /// become replacement characters (the name is a string).
    #[test]
    fn setvar_names_from_request_data_are_lowercase_strings() {
        let set = rules(
            "SecRule ARGS:a \"@rx ^\" \"id:1,phase:1,pass,nolog,setvar:'tx.Seen_%{MATCHED_VAR}=1'\"\n",
        );
        let req = get("/?a=AbC%FFd%C3%89");
        let tx = request_phases_at_pl1(&set, &req);
        assert_eq!(
            tx.tx("seen_abc\u{fffd}d\u{c9}"),
            Some(&b"1"[..]),
            "{:?}",
            tx.tx_vars()
        );
    }

    /// A capture sets TX:0-9 to its groups and removes the numbers it did not capture,
    /// whether an earlier capture or a (live) rule's setvar wrote them; numbers nothing
    /// wrote stay unset.
    #[test]
    fn captures_replace_every_number() {
        let set = rules(
            "SecRule ARGS:a \"@rx x\" \"id:1,phase:1,pass,nolog,setvar:tx.7=seven\"\n\
             SecRule ARGS:a \"@rx (x)(y)(z)\" \"id:2,phase:1,pass,capture,setvar:tx.after2=%{tx.0}%{tx.3}%{tx.7}\"\n\
             SecRule ARGS:b \"@rx ^.*$\" \"id:3,phase:1,pass,capture,setvar:tx.after3=%{tx.0}|%{tx.1}|%{tx.3}\"\n\
             SecRule ARGS:b \"@rx e\" \"id:4,phase:1,pass,nolog,setvar:tx.5=five\"\n\
             SecRule ARGS:b \"@rx ^(h)\" \"id:5,phase:1,pass,capture,setvar:tx.after5=%{tx.0}%{tx.1}%{tx.5}\"\n\
             SecRule ARGS:a \"@rx y+z\" \"id:6,phase:1,pass,capture,setvar:tx.after6=%{tx.0}\"\n\
             SecRule ARGS:b \"@rx (l+)\" \"id:7,phase:1,pass,nolog,setvar:tx.after7=%{tx.0}%{tx.1}\"\n\
             SecRule ARGS:b \"!@rx l{3}\" \"id:8,phase:1,pass,nolog,setvar:tx.after8=%{tx.0}\"\n\
             SecRule ARGS:b \"!@rx el+o\" \"id:9,phase:1,pass,nolog,setvar:tx.after9=1\"\n",
        );
        let req = get("/?a=xyz&b=hello");
        let mut tx = Transaction::new(&set, &req, &[]);
        tx.process_request();
        assert_eq!(
            tx.tx("after2"),
            Some(&b"xyzz"[..]),
            "TX:7 is removed by a capture"
        );
        assert_eq!(tx.tx("after3"), Some(&b"hello||"[..]));
        assert_eq!(
            tx.tx("after5"),
            Some(&b"hh"[..]),
            "TX:5 (a setvar's) is removed"
        );
        assert_eq!(
            tx.tx("after6"),
            Some(&b"yz"[..]),
            "a group-less match's bounds"
        );
        // rules without `capture` (matching, negated or not) leave TX:0-9 as they were
        assert_eq!(
            tx.tx("after7"),
            Some(&b"yz"[..]),
            "TX:0 from 6, TX:1 from 5 (gone)"
        );
        assert_eq!(tx.tx("after8"), Some(&b"yz"[..]));
        assert_eq!(tx.tx("after9"), None, "a negated regex that matches");
        for gone in ["1", "2", "3", "5", "7", "9"] {
            assert_eq!(tx.tx(gone), None, "TX:{gone}");
        }
    }

    /// An item's id by position holds only for the same bytes; a position that holds other
    /// bytes (or none) falls back to looking the bytes up.
    #[test]
    fn positions_are_checked_against_the_bytes() {
        let mut values = ScannedValues::default();
        for (id, v) in [&b"alpha"[..], b"beta"].into_iter().enumerate() {
            values.raw.push(v, 1 << id, id as u32);
            values.index.insert(ValueIndex::hash(v), id as u32);
        }
        values.positions.ids = vec![0, 1];
        values.positions.starts = vec![0, 2];
        assert_eq!(values.find_at(0, 1, b"beta"), Some((1, 2)));
        assert_eq!(values.find_at(0, 0, b"beta"), Some((1, 2)), "wrong guess");
        assert_eq!(
            values.find_at(0, 7, b"alpha"),
            Some((0, 1)),
            "no such position"
        );
        assert_eq!(values.find_at(usize::MAX, 0, b"alpha"), Some((0, 1)));
        assert_eq!(values.find_at(0, 0, b"gamma"), None);
    }

    /// String operators with a constant argument are value tests of the scan: an
    /// exclusion rule on another path is passed over unevaluated, and the operator's
    /// verdict (case-sensitive) holds as evaluating it would give, after the rule's
    /// lowercasing too.
    #[test]
    fn string_operators_are_decided_by_the_scan() {
        let set = rules(
            "SecRule REQUEST_FILENAME \"@streq /api/login\" \"id:1,phase:1,pass,t:none,setvar:tx.login=1\"\n\
             SecRule REQUEST_FILENAME \"@beginsWith /api/\" \"id:2,phase:1,pass,t:none,setvar:tx.api=1\"\n\
             SecRule REQUEST_URI_RAW \"@contains #\" \"id:3,phase:1,pass,t:none,setvar:tx.fragment=1\"\n\
             SecRule ARGS:user \"@streq admin\" \"id:4,phase:1,pass,t:none,t:lowercase,setvar:tx.admin=1\"\n\
             SecRule ARGS \"@containsWord drop\" \"id:5,phase:1,pass,t:none,setvar:tx.word=1\"\n\
             SecRule REQUEST_FILENAME \"@endsWith .php\" \"id:6,phase:1,pass,t:none,setvar:tx.php=1\"\n\
             SecRule REQUEST_FILENAME \"@streq %{tx.path}\" \"id:7,phase:1,pass,t:none,setvar:tx.macro=1\"\n",
        );
        let slot = |id: u64| slot_of(&set, id);
        let has_slot = |id: u64| {
            set.phases
                .iter()
                .flatten()
                .any(|e| matches!(e, Entry::Rule(r) if r.id == id && r.slot.is_some()))
        };
        assert!(
            !has_slot(7),
            "an argument with a macro is evaluated every time"
        );
        let run = |target: &str| {
            let req = get(target);
            let mut tx = Transaction::new(&set, &req, &[]);
            tx.process_request();
            let keys = ["login", "api", "fragment", "admin", "word", "php"];
            let set_keys: Vec<&str> = keys.into_iter().filter(|k| tx.tx(k).is_some()).collect();
            let may: Vec<u64> = (1..=6)
                .filter(|&id| {
                    let scan = tx.candidates.as_ref().expect("scanned");
                    scan.candidates.may_match(slot(id) as usize)
                })
                .collect();
            (set_keys, may)
        };
        assert_eq!(run("/api/login"), (vec!["login", "api"], vec![1, 2]));
        assert_eq!(run("/other/page"), (vec![], vec![]));
        assert_eq!(run("/API/LOGIN"), (vec![], vec![]), "case counts");
        assert_eq!(run("/x.php?user=ADMIN"), (vec!["admin", "php"], vec![4, 6]));
        assert_eq!(run("/x.phpx?user=admins"), (vec![], vec![]));
        assert_eq!(run("/a?q=drop+table"), (vec!["word"], vec![5]));
        assert_eq!(
            run("/a?q=dropped"),
            (vec![], vec![]),
            "a word, not a part of one"
        );
        assert_eq!(run("/a#b"), (vec!["fragment"], vec![3]));
        assert_eq!(run("/a%23b"), (vec![], vec![]), "an encoded # is not one");
    }

    /// `@detectSQLi`, `@detectXSS`, `@validateByteRange` and `@validateUtf8Encoding` (in a
    /// chain link too) are decided by the scan: a rule is a candidate only for the values its
    /// test holds for, after its own pipeline, and a keyed header target is tested on that
    /// header alone.
    #[test]
    fn value_tests_are_decided_by_the_scan() {
        let set = rules(
            "SecRule ARGS \"@detectSQLi\" \"id:1,phase:1,pass,t:none,t:urlDecodeUni,capture,setvar:tx.fp=%{tx.0}\"\n\
             SecRule REQUEST_HEADERS:User-Agent \"@validateByteRange 32-126\" \"id:2,phase:1,pass,t:none,setvar:tx.ua=+1\"\n\
             SecRule ARGS_NAMES|ARGS \"@detectXSS\" \"id:3,phase:1,pass,t:none,t:urlDecodeUni,setvar:tx.xss=+1\"\n\
             SecAction \"id:4,phase:1,pass,nolog,setvar:tx.check=1\"\n\
             SecRule TX:check \"@eq 1\" \"id:5,phase:1,pass,chain\"\n\
             SecRule ARGS \"@validateUtf8Encoding\" \"setvar:tx.utf8=+1\"\n",
        );
        let utf8_link = set
            .phases
            .iter()
            .flatten()
            .find_map(|e| match e {
                Entry::Rule(r) if r.id == 5 => r.chained.as_ref()?.slot,
                _ => None,
            })
            .expect("the chained value test has a slot");
        let slot = |id: u64| slot_of(&set, id);
        // SQL injection only after the rule's own decoding (the query is decoded once by
        // the parser, `%2527` twice by the rule); a tab in a header the rule does not read
        let req = get_with_headers(
            "a=hello&b=1%2527%2520or%2520%25271%2527%253D%25271&c=plain+words",
            &[("User-Agent", b"curl/8.0"), ("Accept", b"a\tb")],
        );
        let mut tx = Transaction::new(&set, &req, &[]);
        tx.process_request();
        assert_eq!(tx.tx("fp"), Some(&b"s&sos"[..]));
        assert_eq!(tx.tx("ua"), None);
        assert_eq!(tx.tx("xss"), None);
        let scan = tx.candidates.as_ref().expect("scanned");
        assert_eq!(
            scan.candidates
                .values_of(slot(1) as usize)
                .map(<[u32]>::len),
            Some(1),
            "credited for the injected value alone"
        );
        assert!(
            !scan.candidates.may_match(slot(2) as usize),
            "Accept is not read"
        );
        assert!(!scan.candidates.may_match(slot(3) as usize));
        assert!(!scan.candidates.may_match(utf8_link as usize));
        assert_eq!(tx.tx("utf8"), None);

        let req = get_with_headers(
            "q=%253Cscript%253Ealert(1)%253C/script%253E&r=%FFx",
            &[("user-agent", b"x\x01y")],
        );
        let mut tx = Transaction::new(&set, &req, &[]);
        tx.process_request();
        assert_eq!(tx.tx("utf8"), Some(&b"1"[..]));
        assert_eq!(tx.tx("ua"), Some(&b"1"[..]));
        assert_eq!(tx.tx("xss"), Some(&b"1"[..]));
        assert_eq!(tx.tx("fp"), None);
    }

    /// A byte range that tells digits apart is not a scan test: the scan judges a repeated
    /// JSON name (`a.1.b` after `a.0.b`) by its first, which such a range would not allow.
    #[test]
    fn digit_sensitive_ranges_see_every_repeated_name() {
        let set = rules(
            "SecRule ARGS_NAMES \"@validateByteRange 46,48,97-122\" \"id:1,phase:2,pass,t:none,setvar:tx.bad=+1\"\n\
             SecRule ARGS_NAMES \"@validateByteRange 46,48-57,97-122\" \"id:2,phase:2,pass,t:none,setvar:tx.any=+1\"\n",
        );
        let body = br#"{"a":[{"b":1},{"b":2}]}"#;
        let mut h = Headers::default();
        h.push("Content-Type", &b"application/json"[..]);
        let mut req = RequestModel::from_head("POST", "/", "HTTP/1.1", h);
        req.attach_body(body.to_vec(), false);
        let mut tx = Transaction::new(&set, &req, body);
        tx.process_request();
        assert_eq!(tx.tx("bad"), Some(&b"1"[..]), "a.1.b holds a 1");
        assert_eq!(tx.tx("any"), None);
    }

    /// A JSON document sent as text/plain has no ARGS_POST (no body processor runs for that
    /// type in ModSecurity), although the proxy's own model takes it apart; as JSON, it has.
    #[test]
    fn undeclared_json_has_no_body_arguments() {
        let set =
            rules("SecRule ARGS_POST \"@rx x\" \"id:1,phase:2,pass,t:none,setvar:tx.n=+1\"\n");
        let body = br#"{"a":"x"}"#;
        for (ct, expected) in [("text/plain", None), ("application/json", Some(&b"1"[..]))] {
            let mut h = Headers::default();
            h.push("Content-Type", ct.as_bytes());
            let mut req = RequestModel::from_head("POST", "/", "HTTP/1.1", h);
            req.attach_body(body.to_vec(), false);
            let mut tx = Transaction::new(&set, &req, body);
            tx.process_request();
            assert_eq!(tx.tx("n"), expected, "{ct}");
        }
    }

    /// Header values clients repeat keep matching when their scan verdict comes from the
    /// memo of an earlier request, and credential headers' values are never remembered.
    #[test]
    fn remembered_header_values_still_match_and_secrets_are_not_kept() {
        let set = rules(
            "SecRule REQUEST_HEADERS \"@rx evil\" \"id:1,phase:1,pass,t:none,t:lowercase,setvar:tx.n=+1\"\n\
             SecRule REQUEST_HEADERS_NAMES \"@rx ^x-evil\" \"id:2,phase:1,pass,t:none,t:lowercase,setvar:tx.names=+1\"\n",
        );
        let mut h = Headers::default();
        h.push("User-Agent", b"EvilBot/1.0".to_vec());
        h.push("Accept", b"text/html".to_vec());
        h.push("X-Evil-Name", b"x".to_vec());
        h.push("Authorization", b"Bearer evil-secret".to_vec());
        let req = RequestModel::from_head("GET", "/", "HTTP/1.1", h);
        for round in 0..3 {
            let mut tx = Transaction::new(&set, &req, &[]);
            tx.process_request();
            assert_eq!(tx.tx("n"), Some(&b"2"[..]), "round {round}");
            assert_eq!(tx.tx("names"), Some(&b"1"[..]), "round {round}");
        }
        let pf = set
            .phase_prefilter(4, crate::ruleset::PhaseGroup::Request)
            .expect("a prefilter");
        let memo = pf.memo.get();
        assert!(memo.contains_value(b"EvilBot/1.0"));
        assert!(memo.contains_value(b"X-Evil-Name"));
        assert!(memo.contains_value(b"text/html"));
        assert!(!memo.contains_value(b"Bearer evil-secret"));
    }

    /// A response's header values come from the memo too and keep matching, while its
    /// `Set-Cookie` and `Location` values (a session, an OAuth code) are never remembered.
    #[test]
    fn remembered_response_headers_still_match_and_secrets_are_not_kept() {
        let set = rules(
            "SecRule RESPONSE_HEADERS \"@rx evil\" \"id:1,phase:3,pass,t:none,t:lowercase,setvar:tx.n=+1\"\n",
        );
        let req = RequestModel::from_head("GET", "/", "HTTP/1.1", Headers::default());
        let headers: Vec<(String, Vec<u8>)> = [
            ("Server", &b"EvilServer/1.0"[..]),
            ("Content-Type", b"text/html"),
            ("Set-Cookie", b"sid=evil-session"),
            ("Location", b"https://app.example/cb?code=evil-code"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_vec()))
        .collect();
        let resp = Response {
            status: 302,
            protocol: "HTTP/1.1".into(),
            headers: Cow::Owned(headers),
            body: Cow::Borrowed(&b""[..]),
        };
        for round in 0..3 {
            let mut tx = Transaction::new(&set, &req, &[]);
            tx.process_request();
            let saved = tx.save_for_response();
            let mut tx = Transaction::resume_for_response(&set, &req, saved);
            tx.set_response(&resp);
            tx.process_response();
            assert_eq!(tx.tx("n"), Some(&b"3"[..]), "round {round}");
        }
        let pf = set
            .phase_prefilter(4, crate::ruleset::PhaseGroup::Response)
            .expect("a prefilter");
        let memo = pf.memo.get();
        assert!(memo.contains_value(b"EvilServer/1.0"));
        assert!(memo.contains_value(b"text/html"));
        assert!(!memo.contains_value(b"sid=evil-session"));
        assert!(!memo.contains_value(b"https://app.example/cb?code=evil-code"));
    }

    /// A long selection with repeated values counts every matching copy (only misses are
    /// remembered within a link).
    #[test]
    fn repeated_values_match_at_every_copy() {
        let set = rules(
            "SecRule ARGS \"@rx ^x\" \"id:1,phase:1,pass,t:none,t:lowercase,setvar:tx.n=+1\"\n",
        );
        let q: Vec<String> = (0..30)
            .map(|i| format!("a{i}={}", ["X", "y", "x"][i % 3]))
            .collect();
        let req = get(&format!("/?{}", q.join("&")));
        let mut tx = Transaction::new(&set, &req, &[]);
        tx.process_request();
        assert_eq!(tx.tx("n"), Some(&b"20"[..]));
    }

    /// A multiMatch rule tests the value and each intermediate result.
    #[test]
    fn multi_match_tests_intermediate_values() {
        let set = rules(
            "SecRule ARGS \"@rx ^%41$\" \"id:1,phase:1,pass,multiMatch,t:none,t:urlDecode,t:lowercase,setvar:tx.raw=+1\"\n\
             SecRule ARGS \"@rx ^A$\" \"id:2,phase:1,pass,multiMatch,t:none,t:urlDecode,t:lowercase,setvar:tx.mid=+1\"\n\
             SecRule ARGS \"@rx ^a$\" \"id:3,phase:1,pass,multiMatch,t:none,t:urlDecode,t:lowercase,setvar:tx.last=+1\"\n\
             SecRule ARGS \"@rx ^A$\" \"id:4,phase:1,pass,t:none,t:urlDecode,t:lowercase,setvar:tx.plain=+1\"\n",
        );
        let req = get("/?x=%2541&y=b");
        let mut tx = Transaction::new(&set, &req, &[]);
        tx.process_request();
        assert_eq!(tx.tx("raw"), Some(&b"1"[..]));
        assert_eq!(tx.tx("mid"), Some(&b"1"[..]));
        assert_eq!(tx.tx("last"), Some(&b"1"[..]));
        assert_eq!(tx.tx("plain"), None);
    }

    /// Each paranoia level's prefilter is built when first asked for, holds the rules of
    /// its level and below, and is the same object afterwards.
    #[test]
    fn prefilters_are_built_per_level_on_first_use() {
        let set = rules(
            "SecRule ARGS \"@rx evil1\" \"id:1,phase:1,pass,t:none\"\n\
             SecRule ARGS \"@rx evil3\" \"id:3,phase:1,pass,t:none,tag:'paranoia-level/3'\"\n",
        );
        assert!(
            set.prefilters.iter().all(|p| p.get().is_none()),
            "nothing built at load"
        );
        let covered = |level: usize| {
            set.prefilter(level)
                .expect("levels 1-4")
                .covered
                .iter()
                .filter(|c| **c)
                .count()
        };
        let level3 = covered(3);
        assert!(
            set.prefilters[0].get().is_none(),
            "only the level asked for"
        );
        assert!(level3 > covered(1), "level 3 holds more rules than level 1");
        let first = set.prefilter(3).map(|p| p as *const _);
        assert_eq!(first, set.prefilter(3).map(|p| p as *const _));
        assert!(set.prefilter(0).is_none() && set.prefilter(5).is_none());
    }

    /// A pipeline whose result the prefilter computes from its parent plan's (the pipeline
    /// one step shorter) keeps its rule a candidate, whether the parent changed the value
    /// or not, and whether the last step changes it or not.
    #[test]
    fn prefilter_chains_plans_like_whole_pipelines() {
        let set = rules(
            "SecRule ARGS \"@rx ^zzz$\" \"id:1,phase:1,pass,t:none,t:urlDecodeUni\"\n\
             SecRule ARGS \"@rx <script\" \"id:2,phase:1,pass,t:none,t:urlDecodeUni,t:base64Decode,setvar:tx.b64=+1\"\n\
             SecRule ARGS \"@rx ^<[a-z]+>$\" \"id:3,phase:1,pass,t:none,t:urlDecodeUni,t:lowercase,setvar:tx.tag=+1\"\n\
             SecRule ARGS \"@rx ^zzz$\" \"id:4,phase:1,pass,t:none,t:base64Decode\"\n\
             SecRule ARGS \"@rx onerror\" \"id:5,phase:1,pass,t:none,t:base64Decode,t:urlDecodeUni,setvar:tx.chain=+1\"\n",
        );
        assert!(set.rules().all(|r| r.slot.is_some()), "all prefiltered");
        let pf = set.prefilter(1).expect("level 1 prefilter");
        assert!(pf.plans.iter().filter(|p| p.parent.is_some()).count() >= 3);
        // b64: "<script>" (unchanged by urlDecodeUni, then decoded); tag: "%3Cb%3E" (decoded,
        // then unchanged by lowercase) and "%3CI%3E" (decoded, then lowercased); chain:
        // base64 of "%6Fnerror" (decoded, then URL-decoded)
        for (query, key) in [
            ("a=PHNjcmlwdD4=", "b64"),
            ("a=%253Cb%253E", "tag"),
            ("a=%253CI%253E", "tag"),
            ("a=JTZGbmVycm9y", "chain"),
        ] {
            let req = get(&format!("/?{query}&b=other"));
            let tx = request_phases_at_pl1(&set, &req);
            assert_eq!(tx.tx(key), Some(&b"1"[..]), "{query}");
        }
    }

    /// A long binary result cut down to its literal runs still credits the rules of its
    /// plan and of the plans decoding it further, and a plan that shares the whole result
    /// (the same last step, earlier steps leaving the value as it is) but is not cut down
    /// still scans all of it: here for a literal in the bytes cut away.
    #[test]
    fn compacted_binary_results_credit_every_plan() {
        let set = rules(
            "SecRule ARGS \"@rx eval\\(\" \"id:1,phase:1,pass,t:none,t:urlDecodeUni,t:jsDecode,t:removeWhitespace,t:base64Decode,setvar:tx.p=+1\"\n\
             SecRule ARGS \"@rx env\\[\" \"id:2,phase:1,pass,t:none,t:urlDecodeUni,t:jsDecode,t:removeWhitespace,t:base64Decode,t:urlDecodeUni,setvar:tx.child=+1\"\n\
             SecRule ARGS \"@rx !!!!\" \"id:3,phase:1,pass,t:none,t:urlDecodeUni,t:jsDecode,t:htmlEntityDecode,t:base64Decode,setvar:tx.r=+1\"\n\
             SecRule ARGS \"@rx zzzz\" \"id:4,phase:1,pass,t:none,t:urlDecodeUni,t:jsDecode,t:htmlEntityDecode,t:base64Decode,t:replaceComments\"\n\
             SecRule ARGS \"@rx zzzz\" \"id:5,phase:1,pass,t:none,t:urlDecodeUni,t:jsDecode,t:removeWhitespace\"\n\
             SecRule ARGS \"@rx zzzz\" \"id:6,phase:1,pass,t:none,t:urlDecodeUni,t:jsDecode,t:htmlEntityDecode\"\n",
        );
        assert!(set.rules().all(|r| r.slot.is_some()), "all prefiltered");
        let pf = set.prefilter(1).expect("level 1 prefilter");
        let plan_of = |n: usize, last: Transform| {
            (pf.plans.iter())
                .position(|p| p.transforms.len() == n && p.transforms.last() == Some(&last))
                .expect("plan")
        };
        let (p, r) = (
            plan_of(4, Transform::Base64Decode),
            plan_of(3, Transform::HtmlEntityDecode),
        );
        let r = (pf.plans.iter())
            .position(|q| q.parent == Some(r) && q.transforms.len() == 4)
            .expect("the htmlEntityDecode,base64Decode plan");
        assert!(
            pf.compaction(p).is_some(),
            "the removeWhitespace,base64Decode plan is cut"
        );
        assert!(
            pf.compaction(r).is_none(),
            "replaceComments follows the other"
        );
        // binary (non-ASCII bytes no literal holds) around the three literals, base64-encoded
        // without `+` (which urlDecodeUni would turn into a space): the binary's groups of
        // three bytes encode without one, each literal is padded to a group with a byte
        // chosen so that it does not either
        let encoded = (0x80u8..=0xff)
            .find_map(|pad| {
                let binary = |groups: usize| b"\xa5\x96\xc3".repeat(groups);
                let padded = |l: &[u8]| {
                    let mut l = l.to_vec();
                    l.resize(l.len().div_ceil(3) * 3, pad);
                    l
                };
                // (short enough for the unit tests' bound on kept step results, 600 bytes)
                let decoded: Vec<u8> = [
                    binary(30),
                    padded(b"eval("),
                    binary(30),
                    padded(b"!!!!"),
                    binary(30),
                    padded(b"%65nv["),
                    binary(10),
                ]
                .concat();
                let e = Transform::Base64Encode.apply(&decoded).into_owned();
                (!e.contains(&b'+')).then_some(e)
            })
            .expect("an encoding without +");
        let req = get(&format!(
            "/?a={}&b=other",
            String::from_utf8_lossy(&encoded)
        ));
        let tx = request_phases_at_pl1(&set, &req);
        for key in ["p", "child", "r"] {
            assert_eq!(tx.tx(key), Some(&b"1"[..]), "{key}");
        }
    }

    /// Short base64-decoded arguments (a few bytes of binary each) are left out of their
    /// plan and of the plans decoding them further when they hold no run of bytes that
    /// could become a literal, and credited as before when they do: a run exactly as long
    /// as the shortest literal (`env[`, through the child's urlDecodeUni) and a longer one.
    #[test]
    fn short_binary_results_credit_their_literals() {
        let set = rules(
            "SecRule ARGS \"@rx eval\\(\" \"id:1,phase:1,pass,t:none,t:urlDecodeUni,t:jsDecode,t:removeWhitespace,t:base64Decode,setvar:tx.p=+1\"\n\
             SecRule ARGS \"@rx env\\[\" \"id:2,phase:1,pass,t:none,t:urlDecodeUni,t:jsDecode,t:removeWhitespace,t:base64Decode,t:urlDecodeUni,setvar:tx.child=+1\"\n",
        );
        assert!(set.rules().all(|r| r.slot.is_some()), "all prefiltered");
        let pf = set.prefilter(1).expect("level 1 prefilter");
        assert!(
            (0..pf.plans.len()).any(|p| pf.compaction(p).is_some()),
            "a compacted plan"
        );
        let encode = |decoded: &[u8]| {
            let e = Transform::Base64Encode.apply(decoded).into_owned();
            assert!(!e.contains(&b'+') && !e.contains(&b'/'), "{decoded:?}");
            String::from_utf8(e).expect("base64")
        };
        let (parent, child, neither) = (
            encode(b"\xa5\x96eval("),
            encode(b"\xa5%65nv["),
            encode(b"\xa5\x96\xc3\xa5\x96\xc3"),
        );
        for (query, p, c) in [
            (format!("a={parent}&b={neither}"), Some(&b"1"[..]), None),
            (format!("a={neither}&b={child}"), None, Some(&b"1"[..])),
            (format!("a={neither}"), None, None),
        ] {
            let req = get(&format!("/?{query}"));
            let tx = request_phases_at_pl1(&set, &req);
            assert_eq!(tx.tx("p"), p, "{query}");
            assert_eq!(tx.tx("child"), c, "{query}");
        }
    }

    /// A base64 plan whose tree ends a chain with `replaceComments` has no compaction (a
    /// comment spans any bytes) but a run floor: its short binary results without a run are
    /// left out, and those with one credited. Not when `replaceComments` is followed by a
    /// step (removing the space a comment becomes joins `ev/**/al(` into `eval(`), nor when
    /// a literal holds a space (`ev/**/al(` becomes `ev al(`): there the runs of the
    /// decoded value are too short for the floor, and the rules must match.
    #[test]
    fn a_chain_ending_with_replace_comments_keeps_a_run_floor() {
        let encode = |decoded: &[u8]| {
            let e = Transform::Base64Encode.apply(decoded).into_owned();
            assert!(!e.contains(&b'+'), "{decoded:?}");
            String::from_utf8(e).expect("base64")
        };
        let b64 = "t:none,t:urlDecodeUni,t:jsDecode,t:base64Decode";
        let floored = rules(&format!(
            "SecRule ARGS \"@rx eval\\(\" \"id:1,phase:1,pass,{b64},setvar:tx.p=+1\"\n\
             SecRule ARGS \"@rx env\\[\" \"id:2,phase:1,pass,{b64},t:urlDecodeUni,t:replaceComments,setvar:tx.child=+1\"\n"
        ));
        let pf = floored.prefilter(1).expect("level 1 prefilter");
        let base64_plan = (pf.plans.iter())
            .position(|p| p.transforms.last() == Some(&Transform::Base64Decode))
            .expect("the base64 plan");
        assert!(pf.compaction(base64_plan).is_none(), "no compaction");
        assert!(pf.run_floor(base64_plan).is_some(), "a run floor");
        let neither = encode(b"\xa5\x96\xc3\xa5\x96\xc3");
        for (query, p, c) in [
            (
                format!("a={}", encode(b"\xa5\x96eval(")),
                Some(&b"1"[..]),
                None,
            ),
            (
                format!("a={}", encode(b"\xa5%65nv[")),
                None,
                Some(&b"1"[..]),
            ),
            (format!("a={neither}"), None, None),
        ] {
            let req = get(&format!("/?{query}"));
            let tx = request_phases_at_pl1(&floored, &req);
            assert_eq!(tx.tx("p"), p, "{query}");
            assert_eq!(tx.tx("child"), c, "{query}");
        }
        // a comment between two runs too short for the floor, which a later step or a
        // literal's space makes into a match
        let split = format!("a={}", encode(b"\xa5ev/*\xff*/al("));
        // (rules on the base64 step's results and on replaceComments' make each a plan of
        // its own, the first the parent of the second: results are judged by the floor of
        // their plan's tree, and one left out is left out of the plans extending it)
        let parent = format!("SecRule ARGS \"@rx zzzz\" \"id:5,phase:1,pass,{b64}\"\n");
        let comments =
            format!("SecRule ARGS \"@rx zzzz\" \"id:6,phase:1,pass,{b64},t:replaceComments\"\n");
        for (set, why) in [
            (
                format!("{parent}{comments}SecRule ARGS \"@rx eval\\(\" \"id:3,phase:1,pass,{b64},t:replaceComments,t:removeWhitespace,setvar:tx.hit=+1\"\n"),
                "removeWhitespace after replaceComments",
            ),
            (
                format!("{parent}SecRule ARGS \"@rx ev al\\(\" \"id:4,phase:1,pass,{b64},t:replaceComments,setvar:tx.hit=+1\"\n"),
                "a literal with a space",
            ),
        ] {
            let set = rules(&set);
            assert!(set.rules().all(|r| r.slot.is_some()), "{why}: prefiltered");
            let pf = set.prefilter(1).expect("level 1 prefilter");
            assert!(
                pf.plans.iter().any(|p| p.transforms.last() == Some(&Transform::Base64Decode)),
                "{why}: the base64 plan"
            );
            let req = get(&format!("/?{split}"));
            let tx = request_phases_at_pl1(&set, &req);
            assert_eq!(tx.tx("hit"), Some(&b"1"[..]), "{why}");
        }
    }

    /// A plan whose parent's values all came out SHORT is passed over only when it reads
    /// no collection its parent does not: here the parent's base64 plan reads ARGS (each
    /// argument short binary without a run), its child a header too, whose value decodes
    /// to the child's literal.
    #[test]
    fn a_plan_reading_more_than_its_short_parent_still_scans() {
        let b64 = "t:none,t:urlDecodeUni,t:jsDecode,t:base64Decode";
        let set = rules(&format!(
            "SecRule ARGS \"@rx eval\\(\" \"id:1,phase:1,pass,{b64},setvar:tx.p=+1\"\n\
             SecRule ARGS|REQUEST_HEADERS:X-Data \"@rx env\\[\" \"id:2,phase:1,pass,{b64},t:urlDecodeUni,setvar:tx.child=+1\"\n"
        ));
        let pf = set.prefilter(1).expect("level 1 prefilter");
        let child = (pf.plans.iter())
            .position(|p| p.transforms.len() == 4)
            .expect("the child plan");
        let parent = pf.plans[child].parent.expect("a parent plan");
        assert_ne!(
            pf.plans[child].mask & !pf.plans[parent].mask,
            0,
            "reads more"
        );
        let encode = |decoded: &[u8]| {
            String::from_utf8(Transform::Base64Encode.apply(decoded).into_owned()).expect("b64")
        };
        let binary = encode(b"\xa5\x96\xc3\xa5\x96\xc3");
        for (header, credited) in [(binary.clone(), false), (encode(b"\xa5%65nv["), true)] {
            let req = get_with_headers(&format!("a={binary}"), &[("X-Data", header.as_bytes())]);
            let mut tx = Transaction::new(&set, &req, &[]);
            tx.process_request();
            let scan = tx.candidates.as_ref().expect("scanned");
            assert_eq!(
                scan.candidates.may_match(slot_of(&set, 2) as usize),
                credited,
                "{header}"
            );
            assert_eq!(tx.tx("child"), credited.then_some(&b"1"[..]), "{header}");
            assert_eq!(tx.tx("p"), None);
        }
    }

    /// A step's result on a value is shared by the plans ending with that step whose
    /// earlier steps leave the value as it is (`removeWhitespace` after decoders that leave
    /// prose alone): each such plan still sees it (for its regexes and its literals), and a
    /// plan whose earlier steps change the value does not.
    #[test]
    fn prefilter_shares_a_last_step_result_between_plans() {
        // Plans run shortest first: the one-step removeWhitespace plan (a regex without
        // literals: no literal scan) computes the step's results; the two-step plans after
        // it take them, the first of those scanning them for literals. The one-step decoder
        // rules make the decoders plans of their own (the two-step plans' parents).
        let set = rules(
            "SecRule ARGS \"@rx ^[a-z]{11}$\" \"id:1,phase:1,pass,t:none,t:removeWhitespace,setvar:tx.dfa=+1\"\n\
             SecRule ARGS \"@rx unionselect\" \"id:2,phase:1,pass,t:none,t:jsDecode,t:removeWhitespace,setvar:tx.js=+1\"\n\
             SecRule ARGS \"@rx onselect\" \"id:3,phase:1,pass,t:none,t:htmlEntityDecode,t:removeWhitespace,setvar:tx.html=+1\"\n\
             SecRule ARGS \"@rx ^AB$\" \"id:4,phase:1,pass,t:none,t:urlDecodeUni,t:removeWhitespace,setvar:tx.decoded=+1\"\n\
             SecRule ARGS \"@rx zzz\" \"id:5,phase:1,pass,t:none,t:jsDecode\"\n\
             SecRule ARGS \"@rx zzz\" \"id:6,phase:1,pass,t:none,t:htmlEntityDecode\"\n\
             SecRule ARGS \"@rx zzz\" \"id:7,phase:1,pass,t:none,t:urlDecodeUni\"\n",
        );
        assert!(set.rules().all(|r| r.slot.is_some()), "all prefiltered");
        let pf = set.prefilter(1).expect("level 1 prefilter");
        assert_eq!(pf.plans.iter().filter(|p| p.parent.is_some()).count(), 3);
        // x: prose that every decoder leaves as it is; z: `%41 B`, whose removeWhitespace
        // result `%41B` is shared, but which urlDecodeUni changes (to `A B`, then `AB`)
        let req = get("/?x=un+ion+sel+ect&z=%2541+B&q=other");
        let tx = request_phases_at_pl1(&set, &req);
        for key in ["dfa", "js", "html", "decoded"] {
            assert_eq!(tx.tx(key), Some(&b"1"[..]), "{key}");
        }
    }

    /// A long result that two plans produce for a value is scanned once for the regexes of
    /// both (with the DFA of every plan's regexes); a long result one plan alone produces,
    /// and short ones, with that plan's own. With 300 repeats the pending results pass the
    /// bound unit tests set (600 bytes) and are scanned before more are taken, and the
    /// kept step results pass theirs (600 bytes) and are dropped before the last plan,
    /// which takes the value's removeWhitespace result after its parent left it alone.
    #[test]
    fn prefilter_scans_a_result_of_several_plans_for_all_their_regexes() {
        let set = rules(
            "SecRule ARGS \"@rx ^[ab]+$\" \"id:1,phase:1,pass,t:none,t:urlDecodeUni,t:removeWhitespace,setvar:tx.url=+1\"\n\
             SecRule ARGS \"@rx ^[ba]{2,}$\" \"id:2,phase:1,pass,t:none,t:jsDecode,t:removeWhitespace,setvar:tx.js=+1\"\n\
             SecRule ARGS \"@rx ^[<>]{3,}$\" \"id:3,phase:1,pass,t:none,t:htmlEntityDecode,t:removeWhitespace,setvar:tx.html=+1\"\n\
             SecRule ARGS \"@rx zzz\" \"id:4,phase:1,pass,t:none,t:cssDecode\"\n\
             SecRule ARGS \"@rx ^[ab][ab]+$\" \"id:5,phase:1,pass,t:none,t:cssDecode,t:removeWhitespace,setvar:tx.css=+1\"\n",
        );
        assert!(set.rules().all(|r| r.slot.is_some()), "all prefiltered");
        let pf = set.prefilter(1).expect("level 1 prefilter");
        assert!(pf.plans.iter().filter(|p| p.dfa.is_some()).count() >= 3);
        for (x, y) in [(300, 300), (3, 3)] {
            // x: `ab ab ...`, the same result under both decoders; y: `&lt; &lt; ...`, which
            // only htmlEntityDecode turns into `< < ...`
            let query = format!("/?x={}&y={}", "ab+".repeat(x), "%26lt%3B+".repeat(y));
            let req = get(&query);
            let tx = request_phases_at_pl1(&set, &req);
            for key in ["url", "js", "html", "css"] {
                assert_eq!(tx.tx(key), Some(&b"1"[..]), "{key} with {x} repeats");
            }
        }
    }

    /// A regex whose literals occur in ordinary prose (`select`, `from`) is decided by the
    /// regex DFA, not by its literals: a message that uses the words is no candidate for
    /// it, an injection still is (and matches).
    #[test]
    fn rules_with_prose_literals_are_decided_by_their_regex() {
        let set = rules(
            "SecRule ARGS \"@rx (?i)select\\s+\\*\\s+from\" \"id:1,phase:1,pass,t:none,setvar:tx.sql=+1\"\n\
             SecRule ARGS \"@rx (?i)xp_cmdshell\" \"id:2,phase:1,pass,t:none,setvar:tx.xp=+1\"\n",
        );
        let slot = |id: u64| slot_of(&set, id);
        let pf = set.prefilter(1).expect("level 1 prefilter");
        assert!(
            pf.literal_slots.iter().flatten().all(|&s| s != slot(1)),
            "no literal of rule 1 is scanned for"
        );
        assert!(pf.literal_slots.iter().flatten().any(|&s| s == slot(2)));
        let req = get("/?m=Please+select+the+blue+one+from+the+list&x=XP_CMDSHELL");
        let mut tx = Transaction::new(&set, &req, &[]);
        tx.process_request();
        let scan = tx.candidates.as_ref().expect("scanned");
        assert!(!scan.candidates.may_match(slot(1) as usize), "prose");
        assert!(scan.candidates.may_match(slot(2) as usize));
        assert_eq!(tx.tx("sql"), None);
        let req = get("/?q=1+union+SELECT+*+FROM+users");
        let tx = request_phases_at_pl1(&set, &req);
        assert_eq!(tx.tx("sql"), Some(&b"1"[..]));
    }

    /// A rule on one header is a candidate only for that header's value: a match in
    /// another header (every header value matches 920420's `^[^;\\s]+`; `xml` is in the
    /// Accept header) does not make it one. Its own header still does, and it matches.
    #[test]
    fn rules_on_one_header_are_candidates_for_that_header_alone() {
        let set = rules(
            "SecRule REQUEST_HEADERS:Content-Type \"@rx ^[^;\\s]+\" \"id:1,phase:1,pass,t:none,setvar:tx.ct=+1\"\n\
             SecRule REQUEST_HEADERS:Referer|ARGS \"@rx (?i)<xml\" \"id:2,phase:1,pass,t:none,setvar:tx.xml=+1\"\n",
        );
        let slot = |id: u64| slot_of(&set, id);
        let req = get_with_headers(
            "q=plain",
            &[
                ("Accept", b"application/xhtml+xml,<xml>"),
                ("Referer", b"https://example.com/"),
            ],
        );
        let mut tx = Transaction::new(&set, &req, &[]);
        tx.process_request();
        let scan = tx.candidates.as_ref().expect("scanned");
        assert!(
            !scan.candidates.may_match(slot(1) as usize),
            "no Content-Type"
        );
        assert!(
            !scan.candidates.may_match(slot(2) as usize),
            "Accept is not read"
        );
        let req = get_with_headers(
            "q=%3Cxml%3E",
            &[("Content-Type", b"text/plain"), ("Referer", b"x <XML> y")],
        );
        let mut tx = Transaction::new(&set, &req, &[]);
        tx.process_request();
        assert_eq!(tx.tx("ct"), Some(&b"1"[..]));
        assert_eq!(
            tx.tx("xml"),
            Some(&b"2"[..]),
            "the Referer and the argument"
        );
    }

    /// Step results are found where they were put, in the table and (a request with too
    /// many values for it) in the map alike, and forgotten on clear.
    #[test]
    fn step_result_index_finds_what_was_inserted() {
        for (values, steps) in [(40, 30), (StepResultIndex::MAX_TABLE, 2)] {
            let mut index = StepResultIndex::new(values, steps);
            assert_eq!(index.tabled, values == 40);
            assert_eq!(index.get(3, 1), None);
            index.insert(3, 1, 7);
            index.insert(values - 1, steps - 1, 0);
            assert_eq!(index.get(3, 1), Some(7));
            assert_eq!(index.get(values - 1, steps - 1), Some(0));
            assert_eq!(index.get(1, 3), None, "value and step are not swapped");
            assert_eq!(index.get(3, 0), None);
            index.clear();
            assert_eq!(index.get(3, 1), None);
            index.insert(3, 1, 2);
            assert_eq!(index.get(3, 1), Some(2));
        }
    }

    /// A lowercasing plan's result that is its value lowercased is not scanned again: the
    /// raw scan looked for the plan's regexes in the value lowercased. A result with
    /// capitals (a decoder after `lowercase`) is still scanned for them as they are, also
    /// when it is long and another plan has the same result.
    #[test]
    fn prefilter_finds_regexes_in_lowercased_values_with_the_raw_scan() {
        let set = rules(
            "SecRule ARGS \"@rx ^[a-z]+ [a-z]+$\" \"id:1,phase:1,pass,t:none,t:lowercase,setvar:tx.name=+1\"\n\
             SecRule ARGS \"@rx ^[A-Z]{3}$\" \"id:2,phase:1,pass,t:none,t:lowercase,t:urlDecodeUni,setvar:tx.short=+1\"\n\
             SecRule ARGS \"@rx ^[A-Z]{70}$\" \"id:3,phase:1,pass,t:none,t:lowercase,t:urlDecodeUni,setvar:tx.long=+1\"\n\
             SecRule ARGS \"@rx ^[yz]{3}$\" \"id:4,phase:1,pass,t:none,t:urlDecodeUni\"\n\
             SecRule ARGS \"@rx ^[yz]{3}$\" \"id:5,phase:1,pass,t:none,t:lowercase\"\n",
        );
        assert!(set.rules().all(|r| r.slot.is_some()), "all prefiltered");
        let pf = set.prefilter(1).expect("level 1 prefilter");
        assert!(pf.plans.iter().any(|p| p.lowered_in_raw));
        // `%41` x 70: urlDecodeUni alone and after lowercase both make 70 capitals
        let query = format!(
            "/?n=Jane+Doe&s=%2541%2542%2543&l={}&q=other",
            "%2541".repeat(70)
        );
        let req = get(&query);
        let tx = request_phases_at_pl1(&set, &req);
        for key in ["name", "short", "long"] {
            assert_eq!(tx.tx(key), Some(&b"1"[..]), "{key}");
        }
        let req = get("/?n=JaneDoe&s=ABC&q=other");
        let tx = request_phases_at_pl1(&set, &req);
        for key in ["name", "short"] {
            assert_eq!(tx.tx(key), None, "{key}");
        }
    }

    /// Rules the prefilter may skip still match where their pipeline turns a value into a
    /// match: decoders, case changes before a regex, whitespace removal on plain values.
    #[test]
    fn prefilter_keeps_rules_whose_transformed_values_match() {
        let set = rules(
            "SecRule ARGS \"@rx union\\s+select\" \"id:1,phase:1,pass,t:none,t:base64Decode,setvar:tx.b64=+1\"\n\
             SecRule ARGS \"@rx ^abc$\" \"id:2,phase:1,pass,t:none,t:lowercase,setvar:tx.lower=+1\"\n\
             SecRule ARGS \"@rx ^ab$\" \"id:3,phase:1,pass,t:none,t:removeWhitespace,setvar:tx.nows=+1\"\n\
             SecRule ARGS_NAMES \"@rx ^ab$\" \"id:4,phase:1,pass,t:none,t:removeWhitespace,setvar:tx.names=+1\"\n\
             SecRule ARGS \"@pm onerror\" \"id:5,phase:1,pass,t:none,t:urlDecodeUni,t:lowercase,setvar:tx.pm=+1\"\n",
        );
        assert!(set.rules().all(|r| r.slot.is_some()), "all prefiltered");
        let req = get("/?x=dW5pb24gc2VsZWN0&y=ABC&z=a%20b&w=%254FNERROR&q=other");
        let tx = request_phases_at_pl1(&set, &req);
        for key in ["b64", "lower", "nows", "pm"] {
            assert_eq!(tx.tx(key), Some(&b"1"[..]), "{key}");
        }
        assert_eq!(
            tx.tx("names"),
            None,
            "values of other collections do not count"
        );
    }
}
