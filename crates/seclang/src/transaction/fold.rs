//! Folding of request-independent rules: the outcome of every rule whose result cannot
//! depend on the request or its response, worked out once per rule set and starting TX.
//!
//! About half the rules CRS evaluates on a request read nothing but settings in TX: the
//! 901 initialization (`&TX:foo "@eq 0"` → a default), the paranoia-level gates of each
//! file (`TX:DETECTION_PARANOIA_LEVEL "@lt 2"` → skipAfter). They cost as much as any rule
//! (value selection, operator, setvar) and give the same answer on every request; the
//! response phases open with such gates too (56 rules per response, most of them read
//! TX alone). A planning pass walks phases 1 to 5 in order with the starting TX, tracking
//! which TX keys a request-dependent ("live") rule may have written by then (tainted),
//! responses being request data here like any other. A rule is folded
//! when everything it reads — targets, operator argument, setvar and message macros — is
//! an untainted TX key or the rule's own match, and it has no `ctl`, `setenv` or disruptive
//! action other than pass/block: the pass evaluates it for real and records whether it
//! matched and which TX keys it set, so a request applies that record instead.
//!
//! A rule that reads TX keys live rules may write, and nothing else (CRS's blocking
//! evaluation, 949052-959160, sums the anomaly scores), is folded as quiet
//! ([`Folded::Quiet`]): its outcome with the values the plan has, applied while no rule
//! evaluated in the transaction wrote one of those keys, and evaluated once one did. Live
//! rules that the plan cannot fold may still be remembered by the request head they read
//! (see [`super::head_memo`]).
//!
//! The plan assumes live rules change TX only through their setvars (and captures): a live
//! rule that matches with a disruptive action, with flow control (`skip`, `skipAfter`) that
//! passes over a folded match, or with a `ctl` that removes a folded rule, removes TX
//! targets or changes the engine mode ends the folding for the transaction, whose remaining
//! rules are then all evaluated (a skip over live rules and folded no-matches alone, and a
//! removal of live rules alone, leave the plan valid). `Transaction::set_exhaustive` turns it
//! off, which is what `tests/shortcuts.rs` compares it against on the CRS suite.

use std::collections::HashSet;

use palisade_http::{Headers, RequestModel};

use super::head_memo::{HeadInput, HeadMemos};
use super::{Entry, RuleMatch, Transaction, VarMap};
use crate::actions::{Ctl, Disruptive, SetVar, SetVarOp};
use crate::macros::Template;
use crate::ruleset::{Rule, RuleSet};
use crate::variables::{KeyRegex, Selector};

/// A rule's outcome on every request (for one starting TX).
#[derive(Debug)]
pub(crate) enum Folded {
    NoMatch,
    Match(Box<FoldedMatch>),
    /// A rule that reads TX keys a live rule may write, and nothing else of the request
    /// (CRS's blocking evaluation: `TX:BLOCKING_PARANOIA_LEVEL "@ge 1"`, then
    /// `=+%{tx.inbound_anomaly_score_pl1}`): its outcome with the values the plan has,
    /// which hold while no rule evaluated in the transaction wrote one of those keys (bits
    /// `watch` of [`Folds::watched`]; `Transaction::dirty` says which were). A benign
    /// request leaves the anomaly scores as they start; an attack's match writes them and
    /// the rule is evaluated.
    Quiet {
        watch: u64,
        matched: Option<Box<FoldedMatch>>,
    },
}

#[derive(Debug)]
pub(crate) struct FoldedMatch {
    /// TX keys the rule sets (Some) or deletes (None), with their resulting values.
    pub(super) writes: Vec<(String, Option<Vec<u8>>)>,
    /// What the match adds to the transaction's matches.
    pub(super) record: RuleMatch,
    /// MATCHED_VAR_NAME and MATCHED_VAR after the match (the record has them only when
    /// the rule logs).
    pub(super) matched_var_name: String,
    pub(super) matched_var: Vec<u8>,
}

impl FoldedMatch {
    /// The match's TX writes applied to `tx` (see [`apply_writes`]).
    pub(super) fn apply_writes(&self, tx: &mut VarMap, tx_digits: &mut u16) {
        apply_writes(&self.writes, tx, tx_digits);
    }
}

/// TX writes recorded in order (None: a removal) applied to `tx`, new values in place where
/// the key exists, the digits they write or remove noted in `tx_digits` (see
/// `Transaction::tx_digits`).
pub(super) fn apply_writes(
    writes: &[(String, Option<Vec<u8>>)],
    tx: &mut VarMap,
    tx_digits: &mut u16,
) {
    for (k, v) in writes {
        let bit = super::tx_digit_bit(k);
        match v {
            Some(v) => {
                *tx_digits |= bit;
                super::write_in_place(tx, k, v);
            }
            None => {
                *tx_digits &= !bit;
                tx.remove(k.as_str());
            }
        }
    }
}

/// The folded rules of phases 1 to 5 for one starting TX. They hold for a transaction that
/// runs its phases in order from phase 1 (`Transaction::run_phase` drops them otherwise).
#[derive(Debug, Default)]
pub(crate) struct Folds {
    /// Per phase (1 to 5), per entry index.
    phases: [Vec<Option<Folded>>; 6],
    /// Per phase (1 to 5), per entry index: the first entry at or after it that is neither
    /// a marker nor a folded no-match (see [`Folds::past_idle`]).
    idle_until: [Vec<u32>; 6],
    /// Live rules whose `ctl:ruleRemoveById/ByTag` removes no folded rule (920539 removes
    /// 920540 from JSON requests): their match leaves the plan valid.
    harmless_removals: HashSet<u64>,
    /// Live rules (phase, entry index) whose `skip`/`skipAfter` passes over no folded rule
    /// that matches: skipping leaves the plan valid (the rules skipped are live ones, whose
    /// writes the plan treats as unknown anyway, and folded no-matches, which do nothing).
    /// CRS 951100 (no SQL error in the response: skip the SQL error rules) is one.
    harmless_skips: HashSet<(u8, usize)>,
    /// Phase 1's leading run of folded rules, applied at once (see [`Prefix`]).
    pub(super) prefix: Prefix,
    /// Per phase (1 to 5), per entry index: the request-head inputs of a live rule whose
    /// outcome is a function of them (see [`super::head_memo`]).
    memo_inputs: [Vec<Option<Box<[HeadInput]>>>; 6],
    /// Those rules' no-match outcomes, per thread.
    pub(super) memo: HeadMemos,
    /// The TX keys that [`Folded::Quiet`] rules read and live rules may write, each with its
    /// bit.
    pub(super) watched: crate::fxhash::FxHashMap<String, u64>,
}

/// What phase 1's leading folded rules leave (CRS's set-up: ~40 rules, ~45 TX writes, before
/// the first rule that reads the request): the TX they start from is the one the folds were
/// planned for, so their result is one table, copied into a transaction instead of written
/// key by key. The run may pass over live rules with a prefilter slot (a deployment's
/// exclusion rules, loaded before CRS: `REQUEST_FILENAME "@streq /api/login"` with a
/// `ctl`): it holds for a request whose scan rules them all out, as `run_phase` would pass
/// them over unevaluated.
#[derive(Debug, Default)]
pub(crate) struct Prefix {
    /// Entries of phase 1 covered: the transaction resumes at this index.
    pub(super) end: usize,
    /// TX after them, and the digits (`TX:0`-`TX:9`) it may hold.
    pub(super) tx: VarMap,
    pub(super) tx_digits: u16,
    /// The matches they record, in order, and the most severe severity among them.
    pub(super) records: Vec<RuleMatch>,
    pub(super) severity: Option<u8>,
    /// MATCHED_VAR_NAME and MATCHED_VAR after the last match (None: no match).
    pub(super) matched: Option<(String, Vec<u8>)>,
    /// The slots of the live rules passed over.
    pub(super) passed: Vec<u32>,
}

impl Folds {
    pub(super) fn get(&self, phase: u8, index: usize) -> Option<&Folded> {
        self.phases.get(usize::from(phase))?.get(index)?.as_ref()
    }

    /// From entry `index` of `phase`, the first entry that does something: markers and
    /// folded no-matches in between are passed over in one move (a GET's phases step over
    /// ~190 of them one by one, reading each one's step and plan). Such entries change
    /// nothing whether or not a `ctl` removed them; only a pending `skip`, which counts
    /// rules, must not pass over them this way.
    #[inline]
    pub(super) fn past_idle(&self, phase: u8, index: usize) -> usize {
        match self
            .idle_until
            .get(usize::from(phase))
            .and_then(|p| p.get(index))
        {
            Some(&end) => end as usize,
            None => index,
        }
    }

    /// The request-head inputs of the live rule at `index` of `phase`, when its outcome is
    /// remembered by them.
    pub(super) fn memo_inputs(&self, phase: u8, index: usize) -> Option<&[HeadInput]> {
        self.memo_inputs
            .get(usize::from(phase))?
            .get(index)?
            .as_deref()
    }
}

/// Starting TX states a rule set keeps folds for: a deployment uses a few paranoia levels.
const MAX_FOLDS: usize = 16;

/// A starting TX state, as the key of its folds.
type StartingTx = Vec<(String, Vec<u8>)>;

/// The folds a rule set keeps: one per starting TX state seen, up to [`MAX_FOLDS`], each
/// entry filled once and never changed. Every transaction looks its state up here, so
/// reading takes no lock and touches no shared counter (a read lock and the `Arc` clones
/// of each phase were atomic writes to lines that both proxy workers write per request).
pub(crate) struct FoldTable {
    entries: [std::sync::OnceLock<(StartingTx, Folds)>; MAX_FOLDS],
    /// Held while an entry is being filled.
    adding: std::sync::Mutex<()>,
}

impl Default for FoldTable {
    fn default() -> Self {
        FoldTable {
            entries: std::array::from_fn(|_| std::sync::OnceLock::new()),
            adding: std::sync::Mutex::new(()),
        }
    }
}

impl std::fmt::Debug for FoldTable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let filled = self.entries.iter().filter(|e| e.get().is_some()).count();
        write!(f, "FoldTable({filled} states)")
    }
}

impl FoldTable {
    /// The folds of entry `index`, if filled.
    pub(crate) fn get(&self, index: u8) -> Option<&Folds> {
        self.entries.get(usize::from(index))?.get().map(|(_, f)| f)
    }

    /// The filled entry for the state that `same` recognises, with its index.
    fn find(
        &self,
        same: impl Fn(&[(String, Vec<u8>)]) -> bool,
    ) -> Result<(u8, &Folds), Option<usize>> {
        for (i, e) in self.entries.iter().enumerate() {
            match e.get() {
                Some((key, folds)) if same(key) => return Ok((i as u8, folds)),
                Some(_) => {}
                // (entries are filled in order: the first empty one ends the filled)
                None => return Err(Some(i)),
            }
        }
        Err(None)
    }
}

/// The folds for a transaction starting with `tx` (and their index in the rule set's
/// table), planned the first time that state is seen (None once `MAX_FOLDS` states are
/// kept: such transactions evaluate every rule).
pub(crate) fn folds_for<'r>(rules: &'r RuleSet, tx: &VarMap) -> Option<(u8, &'r Folds)> {
    let same = |key: &[(String, Vec<u8>)]| {
        key.len() == tx.len()
            && key
                .iter()
                .all(|(k, v)| tx.get(k.as_str()).map(|x| x.as_slice()) == Some(&v[..]))
    };
    let table = &rules.folds;
    match table.find(same) {
        Ok(found) => return Some(found),
        Err(None) => return None,
        Err(Some(_)) => {}
    }
    let key: StartingTx = tx
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_vec()))
        .collect();
    let planned = plan(rules, &key);
    let _adding = table.adding.lock().ok()?;
    // (another thread may have added this state, or others, meanwhile)
    let free = match table.find(same) {
        Ok(found) => return Some(found),
        Err(free) => free?,
    };
    let entry = &table.entries[free];
    let _ = entry.set((key, planned));
    entry.get().map(|(_, f)| (free as u8, f))
}

impl Folds {
    /// Whether a live rule that matched invalidates the plan for the rest of the transaction:
    /// it changes the flow, stops it, or changes which folded rules or TX targets are evaluated.
    /// `phase` and `index` say where the rule is (entry index in its phase).
    pub(super) fn broken_by(&self, rule: &Rule, phase: u8, index: usize) -> bool {
        let flow = rule.actions.skip.is_some() || rule.actions.skip_after.is_some();
        if (flow && !self.harmless_skips.contains(&(phase, index)))
            || !matches!(rule.disruptive, Disruptive::Pass | Disruptive::Block)
        {
            return true;
        }
        rule.links().any(|r| {
            r.actions.ctls.iter().any(|c| match c {
                // folded rules read TX alone: removing other targets leaves them as planned
                Ctl::RuleRemoveTargetById(_, targets) | Ctl::RuleRemoveTargetByTag(_, targets) => {
                    targets.iter().any(|t| t.collection == "TX")
                }
                Ctl::RuleRemoveById(_) | Ctl::RuleRemoveByTag(_) => {
                    !self.harmless_removals.contains(&rule.id)
                }
                Ctl::RuleEngine(_) => true,
                Ctl::RequestBodyProcessor(_)
                | Ctl::RequestBodyAccess(_)
                | Ctl::ResponseBodyAccess(_)
                | Ctl::ForceRequestBodyVariable(_)
                | Ctl::Ignored => false,
            })
        })
    }
}

/// TX keys that a live rule may have written at a point of the rule list.
#[derive(Default)]
struct Taint {
    keys: HashSet<String>,
    /// Keys built with a macro after a literal start (`tx.header_name_920450_%{tx.0}`).
    prefixes: Vec<String>,
    /// A key built from a macro alone: any key.
    all: bool,
}

impl Taint {
    fn has(&self, key: &str) -> bool {
        let key = key.to_ascii_lowercase();
        self.all || self.keys.contains(&key) || self.prefixes.iter().any(|p| key.starts_with(p))
    }

    fn add_writes_of(&mut self, rule: &Rule) {
        for r in rule.links() {
            for sv in r.actions.setvars.iter().filter(|sv| sv.collection == "TX") {
                match sv.key.literal() {
                    Some(k) => {
                        self.keys.insert(k.to_ascii_lowercase());
                    }
                    None => match sv.key.literal_prefix() {
                        "" => self.all = true,
                        p => self.prefixes.push(p.to_ascii_lowercase()),
                    },
                }
            }
            if r.actions.capture {
                self.keys.extend((0..10).map(|d| d.to_string()));
            }
        }
    }

    /// Whether a `TX:/regex/` selector may select a key that a live rule wrote.
    fn regex_may_select_taint(&self, re: &KeyRegex) -> bool {
        if self.all {
            return true;
        }
        match re.literal_prefix() {
            // (a non-ASCII key is matched with Unicode case folding: any may)
            Some(p) => {
                self.keys.iter().any(|k| !k.is_ascii() || k.starts_with(p))
                    || self
                        .prefixes
                        .iter()
                        .any(|t| !t.is_ascii() || t.starts_with(p) || p.starts_with(t.as_str()))
            }
            None => !self.keys.is_empty() || !self.prefixes.is_empty(),
        }
    }

    /// Whether a template reads only untainted TX keys, the rule itself, and what the rule
    /// matched (`own_match`) or captured (`own_digits`: `TX:0`-`TX:9`).
    fn template_is_pure(&self, t: &Template, own_match: bool, own_digits: bool) -> bool {
        t.vars().all(|(collection, key)| match collection {
            "TX" => !self.has(key) || (own_digits && super::tx_digit_bit(key) != 0),
            "RULE" => true,
            "MATCHED_VAR" | "MATCHED_VAR_NAME" | "MATCHED_VARS" | "MATCHED_VARS_NAMES" => own_match,
            _ => false,
        })
    }

    /// The request-head inputs of a live rule whose outcome, when it does not match, is a
    /// function of them alone (see [`super::head_memo`]): every link reads nothing but the
    /// method, protocol, body processor, header names or a named non-credential header,
    /// untainted TX keys, and what earlier links of the chain matched or captured; and the
    /// links before the last (whose hits act even when the chain fails) write TX alone,
    /// from the same. None for any other rule.
    fn head_inputs(&self, rule: &Rule) -> Option<Box<[HeadInput]>> {
        let n = rule.links().count();
        let mut inputs: Vec<HeadInput> = Vec::new();
        // whether an earlier link captured: TX:0-9 are then this rule's
        let mut captured = false;
        for (k, r) in rule.links().enumerate() {
            let own_match = k > 0;
            for t in r.targets.iter().filter(|t| !t.exclude) {
                let input = match (t.collection.as_str(), &t.selector) {
                    ("REQUEST_METHOD", _) => HeadInput::Method,
                    ("REQUEST_PROTOCOL", _) => HeadInput::Protocol,
                    ("REQBODY_PROCESSOR", _) => HeadInput::BodyProcessor,
                    ("REQUEST_HEADERS_NAMES", _) => HeadInput::HeaderNames,
                    ("REQUEST_HEADERS", Selector::Key(h))
                        if !palisade_http::is_credential_header(h) =>
                    {
                        HeadInput::Header(h.to_ascii_lowercase())
                    }
                    ("TX", Selector::Key(key))
                        if !self.has(key) || (captured && super::tx_digit_bit(key) != 0) =>
                    {
                        continue
                    }
                    ("TX", Selector::Regex(re)) if !self.regex_may_select_taint(re) => continue,
                    (
                        "MATCHED_VAR" | "MATCHED_VAR_NAME" | "MATCHED_VARS" | "MATCHED_VARS_NAMES",
                        _,
                    ) if own_match => continue,
                    _ => return None,
                };
                if !inputs.contains(&input) {
                    inputs.push(input);
                }
            }
            if !r
                .operator
                .template()
                .is_none_or(|t| self.template_is_pure(t, own_match, captured))
            {
                return None;
            }
            captured |= r.actions.capture;
            if k + 1 < n {
                let a = &r.actions;
                if !a.setenvs.is_empty() {
                    return None;
                }
                // (the TX key a setvar writes is logged as written: it may be named after
                // the match)
                if !a
                    .setvars
                    .iter()
                    .all(|sv| self.setvar_is_pure(sv, true, captured))
                {
                    return None;
                }
            }
        }
        Some(inputs.into_boxed_slice())
    }

    /// For a rule that reads nothing of the transaction but TX keys named literally (not
    /// TX:0-9, which every capture writes), the rule itself and, in its actions, its own
    /// match, and that acts on nothing but TX (no `ctl`, `setenv`, `skip`, `skipAfter`):
    /// the bits of the tainted keys among them, assigned in `watched` (see
    /// [`Folded::Quiet`]). None for any other rule, for one that reads no tainted key (it
    /// is pure), and once 64 keys are watched.
    fn quiet_watch(
        &self,
        rule: &Rule,
        watched: &mut crate::fxhash::FxHashMap<String, u64>,
    ) -> Option<u64> {
        if rule.actions.skip.is_some() || rule.actions.skip_after.is_some() {
            return None;
        }
        let mut keys: Vec<String> = Vec::new();
        // one read: whether a quiet rule may make it (TX keys noted in `keys`)
        fn read(keys: &mut Vec<String>, collection: &str, key: &str, own_match: bool) -> bool {
            match collection {
                "TX" if super::tx_digit_bit(key) == 0 => {
                    keys.push(key.to_ascii_lowercase());
                    true
                }
                "RULE" => true,
                "MATCHED_VAR" | "MATCHED_VAR_NAME" | "MATCHED_VARS" | "MATCHED_VARS_NAMES" => {
                    own_match
                }
                _ => false,
            }
        }
        let reads = |keys: &mut Vec<String>, t: &Template, own_match: bool| {
            t.vars().all(|(c, k)| read(keys, c, k, own_match))
        };
        for r in rule.links() {
            for t in r.targets.iter().filter(|t| !t.exclude) {
                let Selector::Key(k) = &t.selector else {
                    return None;
                };
                if t.collection != "TX" || !read(&mut keys, "TX", k, false) {
                    return None;
                }
            }
            if !r
                .operator
                .template()
                .is_none_or(|t| reads(&mut keys, t, false))
            {
                return None;
            }
            let a = &r.actions;
            if !a.ctls.is_empty() || !a.setenvs.is_empty() {
                return None;
            }
            for sv in &a.setvars {
                match sv.collection.as_str() {
                    "TX" => {
                        let value = match &sv.op {
                            SetVarOp::Add(v) | SetVarOp::Sub(v) => {
                                // `=+n` reads the key it writes
                                let k = sv.key.literal()?;
                                if !read(&mut keys, "TX", k, true) {
                                    return None;
                                }
                                Some(v)
                            }
                            SetVarOp::Set(v) => Some(v),
                            SetVarOp::Delete => None,
                        };
                        if !reads(&mut keys, &sv.key, true)
                            || !value.is_none_or(|v| reads(&mut keys, v, true))
                        {
                            return None;
                        }
                    }
                    "ENV" => return None,
                    // not persisted: no effect
                    _ => {}
                }
            }
            for t in [&a.msg, &a.logdata].into_iter().flatten() {
                if !reads(&mut keys, t, true) {
                    return None;
                }
            }
        }
        let mut mask = 0u64;
        for k in keys.into_iter().filter(|k| self.has(k)) {
            let bit = match watched.get(&k) {
                Some(&bit) => bit,
                None if watched.len() < 64 => {
                    let bit = 1u64 << watched.len();
                    watched.insert(k, bit);
                    bit
                }
                None => return None,
            };
            mask |= bit;
        }
        (mask != 0).then_some(mask)
    }

    /// Whether whether the rule matches depends on nothing but untainted TX keys.
    fn condition_is_pure(&self, rule: &Rule) -> bool {
        rule.links().all(|r| self.link_condition_is_pure(r))
    }

    /// [`Taint::condition_is_pure`] for one link of a chain alone.
    fn link_condition_is_pure(&self, r: &Rule) -> bool {
        let targets = r.targets.iter().all(|t| {
            t.collection == "TX"
                && !t.exclude
                && matches!(&t.selector, Selector::Key(k) if !self.has(k))
        });
        targets
            && r.operator
                .template()
                .is_none_or(|t| self.template_is_pure(t, false, false))
    }

    /// Whether what the rule does when it matches depends on nothing but untainted TX keys
    /// and the match itself, and changes nothing but TX.
    fn effects_are_pure(&self, rule: &Rule) -> bool {
        if !matches!(rule.disruptive, Disruptive::Pass | Disruptive::Block) {
            return false;
        }
        rule.links().all(|r| {
            let a = &r.actions;
            // (a key named after the match differs per matched value: not one recorded write)
            let setvars = a
                .setvars
                .iter()
                .all(|sv| self.setvar_is_pure(sv, false, false));
            let messages = [&a.msg, &a.logdata]
                .into_iter()
                .flatten()
                .all(|t| self.template_is_pure(t, true, false));
            setvars && messages && a.ctls.is_empty() && a.setenvs.is_empty()
        })
    }

    /// Whether a setvar writes nothing but TX (or a collection not persisted), from
    /// untainted TX keys, the rule itself, its match and (`own_digits`) its captures; its
    /// key may be named after the match when `key_from_match`.
    fn setvar_is_pure(&self, sv: &SetVar, key_from_match: bool, own_digits: bool) -> bool {
        match sv.collection.as_str() {
            "TX" => {
                self.template_is_pure(&sv.key, key_from_match, own_digits)
                    && match &sv.op {
                        // `=+n` reads the key it writes
                        SetVarOp::Add(v) | SetVarOp::Sub(v) => {
                            sv.key.literal().is_some_and(|k| !self.has(k))
                                && self.template_is_pure(v, true, own_digits)
                        }
                        SetVarOp::Set(v) => self.template_is_pure(v, true, own_digits),
                        SetVarOp::Delete => true,
                    }
            }
            "ENV" => false,
            // not persisted: no effect
            _ => true,
        }
    }
}

/// The planning pass: phases 1 to 5 in order from the starting TX `initial`, live rules
/// assumed not to match (a live match that would change the flow ends folding at run time).
fn plan(rules: &RuleSet, initial: &[(String, Vec<u8>)]) -> Folds {
    let request = RequestModel::from_head("GET", "/", "HTTP/1.1", Headers::default());
    let mut tx = Transaction::new(rules, &request, &[]);
    tx.exhaustive = true;
    for (k, v) in initial {
        tx.tx.insert(k.as_str().into(), v.as_slice().into());
    }
    let mut taint = Taint::default();
    let mut folds = Folds::default();
    for phase in 1..=5u8 {
        let entries = &rules.phases[usize::from(phase)];
        let mut out: Vec<Option<Folded>> = Vec::new();
        out.resize_with(entries.len(), || None);
        let mut memo: Vec<Option<Box<[HeadInput]>>> = vec![None; entries.len()];
        let mut skip = 0u32;
        let mut i = 0;
        while i < entries.len() {
            let Entry::Rule(rule) = &entries[i] else {
                i += 1;
                continue;
            };
            if skip > 0 {
                skip -= 1;
                i += 1;
                continue;
            }
            // A rule whose condition is pure but whose effects are not (949052: `@ge 1`,
            // then `=+%{tx.inbound_anomaly_score_pl1}`) folds when it does not match;
            // a chain's links may act before a later link fails, so only a lone rule.
            let condition_pure = taint.condition_is_pure(rule);
            let pure = condition_pure && taint.effects_are_pure(rule);
            // (or it reads tainted TX keys alone: its outcome while they are untouched)
            let quiet = if pure {
                None
            } else {
                taint.quiet_watch(rule, &mut folds.watched)
            };
            if quiet.is_none() && (!condition_pure || (!pure && rule.chained.is_some())) {
                // A chain whose first link reads settings alone and does not hit them
                // never matches, whatever its later links read (920370's `&TX:ARG_LENGTH
                // "@eq 1"` before its ARGS link, with no argument length limit set).
                if rule.chained.is_some()
                    && taint.link_condition_is_pure(rule)
                    && !tx.first_link_hits(rule)
                {
                    out[i] = Some(Folded::NoMatch);
                    i += 1;
                    continue;
                }
                memo[i] = taint.head_inputs(rule);
                taint.add_writes_of(rule);
                i += 1;
                continue;
            }
            let before = tx.tx.clone();
            let matched = tx.eval_chain(rule);
            // No link hit: nothing ran. A chain whose first link hit and a later one failed
            // ran the first link's setvars, which may write a tainted key (a delete of a key
            // absent here); it stays live.
            if !matched && tx.matched_vars.is_empty() && tx.tx == before {
                out[i] = Some(match quiet {
                    Some(watch) if !condition_pure => {
                        // evaluated when a key it reads was written: it may write then
                        taint.add_writes_of(rule);
                        Folded::Quiet {
                            watch,
                            matched: None,
                        }
                    }
                    _ => Folded::NoMatch,
                });
                i += 1;
                continue;
            }
            let quiet_match =
                quiet.filter(|_| matches!(rule.disruptive, Disruptive::Pass | Disruptive::Block));
            if !matched || !(pure || quiet_match.is_some()) {
                // live: evaluated on every request (what it wrote here is tainted, and
                // taken back: a quiet rule after it reads the plan's values)
                tx.tx = before;
                memo[i] = taint.head_inputs(rule);
                taint.add_writes_of(rule);
                i += 1;
                continue;
            }
            tx.after_match(rule);
            let Some(record) = tx.matches.pop() else {
                // after_match records every match; without one, leave the rule live
                i += 1;
                continue;
            };
            // Every key the rule writes, changed here or not: a tainted key may hold
            // something else at run time (949059 resets a score that is 0 here).
            let mut keys: HashSet<String> = HashSet::new();
            for r in rule.links() {
                for sv in r.actions.setvars.iter().filter(|sv| sv.collection == "TX") {
                    keys.insert(String::from_utf8_lossy(&sv.key.expand(&tx)).to_ascii_lowercase());
                }
                if r.actions.capture {
                    keys.extend((0..10).map(|d| d.to_string()));
                }
            }
            keys.extend(
                tx.tx
                    .iter()
                    .filter(|(k, v)| before.get(k.as_str()) != Some(*v))
                    .map(|(k, _)| k.to_string()),
            );
            keys.extend(
                before
                    .keys()
                    .filter(|k| !tx.tx.contains_key(k.as_str()))
                    .map(|k| k.to_string()),
            );
            let mut writes: Vec<(String, Option<Vec<u8>>)> = keys
                .into_iter()
                .map(|k| {
                    let v = tx.tx.get(k.as_str()).map(|v| v.to_vec());
                    (k, v)
                })
                .collect();
            writes.sort();
            let folded = Box::new(FoldedMatch {
                writes,
                record,
                matched_var_name: tx.matched_var_name.clone(),
                matched_var: tx.matched_var.clone(),
            });
            out[i] = Some(match quiet_match {
                Some(watch) if !pure => {
                    // its writes are the plan's only while the rule is not evaluated
                    taint.add_writes_of(rule);
                    Folded::Quiet {
                        watch,
                        matched: Some(folded),
                    }
                }
                _ => Folded::Match(folded),
            });
            if rule.actions.skip_after.is_some() {
                i = rules.skip_after_resume(phase, i);
                continue;
            }
            if let Some(n) = rule.actions.skip {
                skip = n;
            }
            i += 1;
        }
        let mut idle_until = vec![0u32; entries.len()];
        let mut end = entries.len() as u32;
        for j in (0..entries.len()).rev() {
            let idle = match &entries[j] {
                Entry::Marker(_) => true,
                Entry::Rule(_) => matches!(out[j], Some(Folded::NoMatch)),
            };
            if !idle {
                end = j as u32;
            }
            idle_until[j] = end;
        }
        folds.idle_until[usize::from(phase)] = idle_until;
        folds.phases[usize::from(phase)] = out;
        folds.memo_inputs[usize::from(phase)] = memo;
    }
    // live rules whose rule removals cannot touch a folded rule
    let entries = |phase: usize| {
        rules.phases[phase]
            .iter()
            .enumerate()
            .map(move |(i, e)| (phase, i, e))
    };
    let mut folded: Vec<&Rule> = Vec::new();
    let mut live: Vec<&Rule> = Vec::new();
    for (phase, i, e) in (1..=5).flat_map(entries) {
        if let Entry::Rule(r) = e {
            if folds.get(phase as u8, i).is_some() {
                folded.push(r);
            } else {
                live.push(r);
            }
        }
    }
    for rule in live {
        let mut removals = rule
            .links()
            .flat_map(|r| &r.actions.ctls)
            .filter(|c| matches!(c, Ctl::RuleRemoveById(_) | Ctl::RuleRemoveByTag(_)))
            .peekable();
        if removals.peek().is_none() {
            continue;
        }
        let touches_folded = removals.any(|c| match c {
            Ctl::RuleRemoveById(ids) => folded.iter().any(|f| ids.iter().any(|r| r.contains(f.id))),
            Ctl::RuleRemoveByTag(tag) => folded.iter().any(|f| tag.names(f.id, &f.actions.tags)),
            _ => false,
        });
        if !touches_folded {
            folds.harmless_removals.insert(rule.id);
        }
    }
    for phase in 1..=5u8 {
        let entries = &rules.phases[usize::from(phase)];
        for (i, e) in entries.iter().enumerate() {
            let Entry::Rule(rule) = e else { continue };
            if folds.get(phase, i).is_some() {
                continue;
            }
            // the entries the rule's match passes over, as `Transaction::run_phase` skips
            // (a skipAfter's range ends with its marker, which folds nothing)
            let skipped: Vec<usize> = if rule.actions.skip_after.is_some() {
                (i + 1..rules.skip_after_resume(phase, i)).collect()
            } else if let Some(n) = rule.actions.skip {
                (i + 1..entries.len())
                    .filter(|&j| matches!(entries[j], Entry::Rule(_)))
                    .take(n as usize)
                    .collect()
            } else {
                continue;
            };
            if !skipped.iter().any(|&j| {
                matches!(
                    folds.get(phase, j),
                    Some(
                        Folded::Match(_)
                            | Folded::Quiet {
                                matched: Some(_),
                                ..
                            }
                    )
                )
            }) {
                folds.harmless_skips.insert((phase, i));
            }
        }
    }
    folds.prefix = prefix(rules, &folds, initial);
    folds
}

/// Phase 1's leading run of folded rules and what applying them to `initial` leaves: the
/// run stops at the first live rule without a prefilter slot (one with a slot is passed
/// over, see [`Prefix`]) and at a folded match that skips (its flow is left to
/// `Transaction::run_phase`).
fn prefix(rules: &RuleSet, folds: &Folds, initial: &[(String, Vec<u8>)]) -> Prefix {
    let mut p = Prefix::default();
    for (k, v) in initial {
        p.tx.insert(k.as_str().into(), v.as_slice().into());
    }
    let entries = &rules.phases[1];
    let mut end = 0;
    while let Some(entry) = entries.get(end) {
        if let Entry::Rule(rule) = entry {
            match folds.get(1, end) {
                Some(Folded::NoMatch) => {}
                Some(Folded::Match(m))
                    if rule.actions.skip.is_none() && rule.actions.skip_after.is_none() =>
                {
                    m.apply_writes(&mut p.tx, &mut p.tx_digits);
                    p.severity = super::most_severe(p.severity, m.record.severity);
                    p.records.push(m.record.clone());
                    p.matched = Some((m.matched_var_name.clone(), m.matched_var.clone()));
                }
                None if rule.slot.is_some() => p.passed.extend(rule.slot),
                _ => break,
            }
        }
        end += 1;
    }
    p.end = end;
    p
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn rules(text: &str) -> RuleSet {
        RuleSet::from_text(text, Path::new("fold-test.conf")).expect("rules load")
    }

    type Outcome = (Vec<u64>, Vec<(String, Vec<u8>)>);

    /// The transaction with folding (the default) and without (exhaustive).
    fn both(set: &RuleSet, target: &str) -> (Outcome, Outcome) {
        let req = RequestModel::from_head("GET", target, "HTTP/1.1", Headers::default());
        let run = |exhaustive: bool| {
            let mut tx = Transaction::new(set, &req, &[]);
            tx.set_exhaustive(exhaustive);
            tx.set_tx("detection_paranoia_level", "1");
            tx.process_request();
            let ids = tx.matches.iter().map(|m| m.id).collect();
            let vars = tx
                .tx_vars()
                .into_iter()
                .map(|(k, v)| (k.to_string(), v.to_vec()))
                .collect();
            (ids, vars)
        };
        (run(false), run(true))
    }

    fn tx_value<'o>(o: &'o Outcome, key: &str) -> Option<&'o [u8]> {
        o.1.iter().find(|(k, _)| k == key).map(|(_, v)| &v[..])
    }

    /// The ids of the rules of `phase` folded for every request (not quiet ones).
    fn folded_ids(set: &RuleSet, folds: &Folds, phase: u8) -> Vec<u64> {
        ids_where(set, phase, |i| {
            matches!(
                folds.get(phase, i),
                Some(Folded::NoMatch | Folded::Match(_))
            )
        })
    }

    /// The ids of the rules of `phase` folded as quiet rules.
    fn quiet_ids(set: &RuleSet, folds: &Folds, phase: u8) -> Vec<u64> {
        ids_where(set, phase, |i| {
            matches!(folds.get(phase, i), Some(Folded::Quiet { .. }))
        })
    }

    fn ids_where(set: &RuleSet, phase: u8, keep: impl Fn(usize) -> bool) -> Vec<u64> {
        set.phases[usize::from(phase)]
            .iter()
            .enumerate()
            .filter_map(|(i, e)| match e {
                Entry::Rule(r) if keep(i) => Some(r.id),
                _ => None,
            })
            .collect()
    }

    fn folds_of(set: &RuleSet) -> &Folds {
        let mut tx = VarMap::default();
        tx.insert("detection_paranoia_level".into(), b"1".into());
        folds_for(set, &tx).expect("folds planned").1
    }

    /// Settings rules fold; rules reading the request, or TX keys such a rule may have
    /// written, stay live; a rule whose condition reads settings alone folds when it does
    /// not match; and a folded write applies even when planning saw no change (a reset of
    /// a score that is 0 without an attack).
    #[test]
    fn folds_settings_rules_and_keeps_request_dependent_ones_live() {
        let set = rules(
            "SecAction \"id:1,phase:1,pass,nolog,setvar:tx.limit=3,setvar:tx.score=0\"\n\
             SecRule TX:LIMIT \"@lt 2\" \"id:2,phase:1,pass,nolog,skipAfter:END\"\n\
             SecRule ARGS \"@rx attack\" \"id:3,phase:1,pass,setvar:tx.score=+%{tx.limit}\"\n\
             SecRule TX:LIMIT \"@ge 1\" \"id:4,phase:1,pass,nolog,setvar:tx.total=+%{tx.score}\"\n\
             SecRule TX:LIMIT \"@ge 5\" \"id:5,phase:1,pass,nolog,setvar:tx.total=+%{tx.score}\"\n\
             SecRule TX:SCORE \"@gt 0\" \"id:6,phase:1,pass,nolog,setvar:tx.flagged=1\"\n\
             SecMarker END\n\
             SecAction \"id:7,phase:2,pass,nolog,setvar:tx.score=0\"\n\
             SecRule TX:SCORE \"@eq 0\" \"id:8,phase:2,pass,nolog,setvar:tx.reset=1\"\n",
        );
        let folds = folds_of(&set);
        assert_eq!(folded_ids(&set, folds, 1), vec![1, 2, 5]);
        assert_eq!(folded_ids(&set, folds, 2), vec![7]);
        // (4, 6 and 8 read the score, which 3 may write: quiet)
        assert_eq!(quiet_ids(&set, folds, 1), vec![4, 6]);
        assert_eq!(quiet_ids(&set, folds, 2), vec![8]);
        for target in ["/?q=attack", "/?q=fine"] {
            let (fast, slow) = both(&set, target);
            assert_eq!(fast, slow, "{target}");
        }
        let (attack, _) = both(&set, "/?q=attack");
        assert_eq!(tx_value(&attack, "total"), Some(&b"3"[..]));
        assert_eq!(tx_value(&attack, "flagged"), Some(&b"1"[..]));
        assert_eq!(tx_value(&attack, "score"), Some(&b"0"[..]));
        assert_eq!(tx_value(&attack, "reset"), Some(&b"1"[..]));
        assert_eq!(attack.0, vec![1, 3, 4, 6, 7, 8]);
    }

    /// A folded match leaves MATCHED_VAR and MATCHED_VAR_NAME as evaluating it does, for a
    /// live rule reading them next, though its record (a `nolog` rule's) keeps neither.
    #[test]
    fn a_folded_match_leaves_the_matched_variable_for_the_next_rule() {
        let set = rules(
            "SecAction \"id:1,phase:1,pass,nolog,setvar:tx.limit=3\"\n\
             SecRule TX:LIMIT \"@eq 3\" \"id:2,phase:1,pass,nolog,setvar:tx.seen=1\"\n\
             SecRule MATCHED_VAR \"@streq 3\" \"id:3,phase:1,pass,nolog,setvar:tx.after=%{MATCHED_VAR_NAME}\"\n",
        );
        assert_eq!(folded_ids(&set, folds_of(&set), 1), vec![1, 2]);
        let (fast, slow) = both(&set, "/");
        assert_eq!(fast, slow);
        assert_eq!(tx_value(&fast, "after"), Some(&b"TX:limit"[..]));
    }

    /// Exclusion rules loaded before the set-up are passed over by the leading run: it
    /// applies at once to a request the scan rules them out for, and gives way to rule by
    /// rule evaluation for one it does not (the exclusion's `ctl` then takes effect).
    #[test]
    fn the_leading_run_passes_over_exclusions_the_scan_rules_out() {
        let set = rules(
            "SecRule REQUEST_FILENAME \"@streq /api/login\" \"id:10,phase:1,pass,nolog,t:none,ctl:ruleRemoveById=3,setvar:tx.excluded=1\"\n\
             SecAction \"id:1,phase:1,pass,nolog,setvar:tx.a=1\"\n\
             SecRule TX:A \"@eq 1\" \"id:2,phase:1,pass,nolog,setvar:tx.b=2\"\n\
             SecRule &ARGS \"@gt 100\" \"id:4,phase:1,pass,nolog,setvar:tx.many=1\"\n\
             SecAction \"id:5,phase:1,pass,nolog,setvar:tx.c=3\"\n\
             SecRule ARGS \"@rx attack\" \"id:3,phase:1,pass,nolog,setvar:tx.hit=%{tx.b}\"\n",
        );
        let folds = folds_of(&set);
        assert_eq!(folded_ids(&set, folds, 1), vec![1, 2, 5]);
        assert_eq!(folds.prefix.end, 3, "up to the live rule without a slot");
        assert_eq!(folds.prefix.passed.len(), 1);
        let (other, slow) = both(&set, "/x?q=attack");
        assert_eq!(other, slow);
        assert_eq!(other.0, vec![1, 2, 5, 3]);
        assert_eq!(tx_value(&other, "hit"), Some(&b"2"[..]));
        assert_eq!(tx_value(&other, "excluded"), None);
        let (login, slow) = both(&set, "/api/login?q=attack");
        assert_eq!(login, slow);
        assert_eq!(login.0, vec![10, 1, 2, 5]);
        assert_eq!(tx_value(&login, "excluded"), Some(&b"1"[..]));
        assert_eq!(tx_value(&login, "hit"), None, "3 removed by the exclusion");
    }

    /// Phase 1's leading folded rules are applied as one table: up to the first live rule
    /// (here 4, which reads the matched variable they leave) or a folded match that skips;
    /// the transaction ends as evaluating every rule leaves it.
    #[test]
    fn leading_folded_rules_apply_at_once_up_to_a_live_rule_or_a_skip() {
        let set = rules(
            "SecAction \"id:1,phase:1,pass,nolog,setvar:tx.a=1,setvar:tx.b=2,setvar:tx.gone=1\"\n\
             SecRule TX:A \"@eq 1\" \"id:2,phase:1,pass,log,msg:'a is one',severity:NOTICE,setvar:tx.c=%{tx.b},setvar:!tx.gone\"\n\
             SecRule TX:A \"@eq 5\" \"id:3,phase:1,pass,nolog,setvar:tx.never=1\"\n\
             SecRule MATCHED_VAR \"@streq 1\" \"id:4,phase:1,pass,nolog,setvar:tx.after=%{MATCHED_VAR_NAME}\"\n\
             SecAction \"id:5,phase:1,pass,nolog,setvar:tx.d=%{tx.c}\"\n",
        );
        let folds = folds_of(&set);
        assert_eq!(folded_ids(&set, folds, 1), vec![1, 2, 3, 5]);
        assert_eq!(folds.prefix.end, 3);
        let ids: Vec<u64> = folds.prefix.records.iter().map(|m| m.id).collect();
        assert_eq!(ids, vec![1, 2]);
        assert_eq!(folds.prefix.severity, Some(5));
        let (fast, slow) = both(&set, "/");
        assert_eq!(fast, slow);
        assert_eq!(fast.0, vec![1, 2, 4, 5]);
        assert_eq!(tx_value(&fast, "c"), Some(&b"2"[..]));
        assert_eq!(tx_value(&fast, "gone"), None);
        assert_eq!(tx_value(&fast, "after"), Some(&b"TX:a"[..]));
        assert_eq!(tx_value(&fast, "d"), Some(&b"2"[..]));

        let skipping = rules(
            "SecAction \"id:1,phase:1,pass,nolog,setvar:tx.a=1\"\n\
             SecAction \"id:2,phase:1,pass,nolog,skipAfter:END\"\n\
             SecAction \"id:3,phase:1,pass,nolog,setvar:tx.skipped=1\"\n\
             SecMarker END\n\
             SecAction \"id:4,phase:1,pass,nolog,setvar:tx.z=1\"\n",
        );
        assert_eq!(folds_of(&skipping).prefix.end, 1);
        let (fast, slow) = both(&skipping, "/");
        assert_eq!(fast, slow);
        assert_eq!(tx_value(&fast, "skipped"), None);
        assert_eq!(tx_value(&fast, "z"), Some(&b"1"[..]));
    }

    /// A chain whose first link matches and acts (here deleting a key a live rule may have
    /// set) while a later link fails is not a no-match: it stays live.
    #[test]
    fn a_chain_that_acts_before_failing_stays_live() {
        let set = rules(
            "SecAction \"id:1,phase:1,pass,nolog,setvar:tx.a=1\"\n\
             SecRule ARGS:x \"@streq y\" \"id:2,phase:1,pass,nolog,setvar:tx.flag=1\"\n\
             SecRule TX:A \"@eq 1\" \"id:3,phase:1,pass,nolog,chain,setvar:!tx.flag\"\n\
             SecRule TX:A \"@eq 2\" \"t:none\"\n",
        );
        assert_eq!(folded_ids(&set, folds_of(&set), 1), vec![1]);
        let (fast, slow) = both(&set, "/?x=y");
        assert_eq!(fast, slow);
        assert_eq!(tx_value(&fast, "flag"), None, "3's first link deleted it");
    }

    /// A chain whose first link reads a setting that is not there never matches: it folds
    /// as a no-match whatever its later links read. With the setting it stays live, and
    /// matches on a request that its later link matches; a first link that hits in the
    /// plan leaves the plan's TX as it was.
    #[test]
    fn a_chain_whose_first_link_fails_on_settings_folds_as_no_match() {
        let chain =
            "SecRule &TX:ARG_LENGTH \"@eq 1\" \"id:1,phase:1,pass,nolog,chain,setvar:tx.head=1\"\n\
                     SecRule ARGS \"@gt 3\" \"t:none,t:length,setvar:tx.long=1\"\n\
                     SecRule &TX:HEAD \"@eq 0\" \"id:2,phase:1,pass,nolog,setvar:tx.z=1\"\n";
        let set = rules(chain);
        assert_eq!(folded_ids(&set, folds_of(&set), 1), vec![1, 2]);
        let (fast, slow) = both(&set, "/?a=abcdef");
        assert_eq!(fast, slow);
        assert_eq!(tx_value(&fast, "long"), None);

        let with = rules(&format!(
            "SecAction \"id:3,phase:1,pass,nolog,setvar:tx.arg_length=100\"\n{chain}"
        ));
        let folded = folded_ids(&with, folds_of(&with), 1);
        assert!(folded.contains(&3) && !folded.contains(&1), "{folded:?}");
        for (target, long) in [("/?a=abcdef", Some(&b"1"[..])), ("/?a=ab", None)] {
            let (fast, slow) = both(&with, target);
            assert_eq!(fast, slow, "{target}");
            assert_eq!(tx_value(&fast, "long"), long, "{target}");
        }
    }

    /// TX set by the caller between phases ends folding (the plan was for phase 1's TX).
    #[test]
    fn tx_set_between_phases_ends_folding() {
        let set = rules(
            "SecAction \"id:1,phase:1,pass,nolog,setvar:tx.x=1\"\n\
             SecRule TX:MODE \"@eq 1\" \"id:2,phase:2,pass,nolog,setvar:tx.y=1\"\n",
        );
        let req = RequestModel::from_head("GET", "/", "HTTP/1.1", Headers::default());
        let mut tx = Transaction::new(&set, &req, &[]);
        tx.run_phase(1);
        tx.set_tx("mode", "1");
        tx.run_phase(2);
        assert_eq!(tx.tx("y"), Some(&b"1"[..]));
    }

    /// A live rule that skips or removes rules ends folding for the transaction: the
    /// folded rules after it were planned with the skipped or removed rule's writes.
    #[test]
    fn a_live_rule_that_skips_or_removes_rules_ends_folding() {
        let set = rules(
            "SecAction \"id:1,phase:1,pass,nolog,setvar:tx.a=1\"\n\
             SecRule ARGS:skip \"@streq yes\" \"id:2,phase:1,pass,nolog,skipAfter:M\"\n\
             SecRule ARGS:remove \"@streq yes\" \"id:3,phase:1,pass,nolog,ctl:ruleRemoveById=4\"\n\
             SecRule ARGS:other \"@streq yes\" \"id:9,phase:1,pass,nolog,ctl:ruleRemoveById=99\"\n\
             SecRule TX:A \"@eq 1\" \"id:4,phase:1,pass,nolog,setvar:tx.b=1\"\n\
             SecMarker M\n\
             SecRule TX:B \"@eq 1\" \"id:5,phase:1,pass,nolog,setvar:tx.c=1\"\n\
             SecRule ARGS:late \"@streq yes\" \"id:99,phase:2,pass,nolog,setvar:tx.late=1\"\n",
        );
        let folds = folds_of(&set);
        assert_eq!(folded_ids(&set, folds, 1), vec![1, 4, 5]);
        // removing 99 (live) leaves the plan valid; removing 4 (folded) does not
        assert!(folds.harmless_removals.contains(&9));
        assert!(!folds.harmless_removals.contains(&3));
        for (target, c) in [
            ("/?x=1", Some(&b"1"[..])),
            ("/?skip=yes", None),
            ("/?remove=yes", None),
            ("/?other=yes&late=yes", Some(&b"1"[..])),
        ] {
            let (fast, slow) = both(&set, target);
            assert_eq!(fast, slow, "{target}");
            assert_eq!(tx_value(&fast, "c"), c, "{target}");
        }
        let (other, _) = both(&set, "/?other=yes&late=yes");
        assert_eq!(tx_value(&other, "late"), None, "99 removed");
    }

    /// The response phases fold too, and the plan carries through a transaction saved after
    /// phase 2 and resumed for the response; a transaction that comes to the response phases
    /// without phase 2 (a response checked after phase 1 alone) evaluates them in full.
    #[test]
    fn response_phases_fold_in_a_transaction_that_ran_every_phase_before() {
        let set = rules(
            "SecAction \"id:1,phase:1,pass,nolog,setvar:tx.level=1\"\n\
             SecAction \"id:2,phase:2,pass,nolog,setvar:tx.body_seen=1\"\n\
             SecRule TX:LEVEL \"@lt 2\" \"id:10,phase:3,pass,nolog,skipAfter:END-3\"\n\
             SecRule RESPONSE_HEADERS:X-Leak \"@rx secret\" \"id:11,phase:3,pass,setvar:tx.out=+5\"\n\
             SecMarker END-3\n\
             SecRule TX:BODY_SEEN \"@eq 1\" \"id:12,phase:3,pass,nolog,setvar:tx.after_body=1\"\n\
             SecRule RESPONSE_STATUS \"@streq 500\" \"id:13,phase:4,pass,setvar:tx.out=+1\"\n\
             SecRule TX:LEVEL \"@eq 1\" \"id:14,phase:4,pass,nolog,setvar:tx.total=+%{tx.out}\"\n",
        );
        let folds = folds_of(&set);
        assert_eq!(folded_ids(&set, folds, 3), vec![10, 12]);
        assert_eq!(
            folded_ids(&set, folds, 4),
            Vec::<u64>::new(),
            "14 reads a live score"
        );
        assert_eq!(quiet_ids(&set, folds, 4), vec![14]);
        let req = RequestModel::from_head("GET", "/", "HTTP/1.1", Headers::default());
        for status in [200u16, 500] {
            let resp = crate::transaction::Response {
                status,
                protocol: "HTTP/1.1".into(),
                headers: vec![("X-Leak".into(), b"secret".to_vec())].into(),
                body: Vec::new().into(),
            };
            let run = |exhaustive: bool, resume: bool, with_phase_2: bool| {
                let mut tx = Transaction::new(&set, &req, &[]);
                tx.set_exhaustive(exhaustive);
                tx.set_tx("detection_paranoia_level", "1");
                tx.run_phase(1);
                if with_phase_2 {
                    tx.run_phase(2);
                }
                if resume {
                    tx = Transaction::resume_for_response(&set, &req, tx.save_for_response());
                }
                // the response's matches (a resumed transaction starts with none)
                let before = tx.matches.len();
                tx.set_response(&resp);
                tx.process_response();
                let ids: Vec<u64> = tx.matches[before..].iter().map(|m| m.id).collect();
                (
                    ids,
                    tx.tx("after_body").map(<[u8]>::to_vec),
                    tx.tx("total").map(<[u8]>::to_vec),
                )
            };
            let slow = run(true, false, true);
            assert_eq!(run(false, false, true), slow, "status {status}");
            assert_eq!(run(false, true, true), slow, "status {status}, resumed");
            assert_eq!(slow.1.as_deref(), Some(&b"1"[..]));
            assert_eq!(
                slow.2.as_deref(),
                Some(if status == 500 { &b"1"[..] } else { b"0" })
            );
            // without phase 2, 12's folded match (planned after 2 set body_seen) must not apply
            let skipped = run(false, false, false);
            assert_eq!(
                skipped,
                run(true, false, false),
                "status {status}, no phase 2"
            );
            assert_eq!(skipped.1, None);
            // nor in a transaction saved after phase 1 alone and resumed
            assert_eq!(run(false, true, false), skipped, "status {status}, resumed");
        }
    }

    /// Quiet rules (reading TX keys that live rules may write) apply their planned outcome
    /// until an evaluated rule writes such a key, in the request phases and, the written
    /// keys carried through a saved and resumed transaction, in the response phases; one
    /// evaluated because of such a write marks what it writes in turn (3's total, read by 4),
    /// and what a live rule wrote while planning is not the plan's (20's k, read by 21), nor
    /// what a quiet rule evaluated instead of applied would have written (22's calm, which
    /// an attack's score leaves unset, read by 23).
    #[test]
    fn quiet_rules_apply_their_plan_until_a_key_they_read_is_written() {
        let set = rules(
            "SecAction \"id:1,phase:1,pass,nolog,setvar:tx.score=0,setvar:tx.level=1\"\n\
             SecRule ARGS \"@rx attack\" \"id:2,phase:1,pass,setvar:tx.score=+5\"\n\
             SecRule TX:SCORE \"@eq 0\" \"id:20,phase:1,pass,nolog,setvar:tx.k=1,chain\"\n\
               SecRule TX:NEVER \"@eq 1\" \"t:none\"\n\
             SecRule TX:K \"@eq 1\" \"id:21,phase:1,pass,log,msg:'k'\"\n\
             SecRule TX:SCORE \"@eq 0\" \"id:22,phase:1,pass,nolog,setvar:tx.calm=1\"\n\
             SecRule TX:CALM \"@eq 1\" \"id:23,phase:1,pass,log,msg:'calm'\"\n\
             SecRule TX:LEVEL \"@ge 1\" \"id:3,phase:1,pass,nolog,setvar:tx.total=+%{tx.score}\"\n\
             SecRule TX:TOTAL \"@ge 5\" \"id:4,phase:2,pass,log,msg:'over'\"\n\
             SecRule TX:LEVEL \"@ge 1\" \"id:5,phase:4,pass,nolog,setvar:tx.out_total=+%{tx.score}\"\n\
             SecRule TX:OUT_TOTAL \"@ge 5\" \"id:6,phase:4,pass,log,msg:'out over'\"\n",
        );
        let folds = folds_of(&set);
        // (20's first link writes k in the plan, and its chain fails: live, and its write
        // taken back from the plan that 21 reads)
        assert_eq!(quiet_ids(&set, folds, 1), vec![21, 22, 23, 3]);
        assert_eq!(quiet_ids(&set, folds, 2), vec![4]);
        assert_eq!(quiet_ids(&set, folds, 4), vec![5, 6]);
        let resp = crate::transaction::Response {
            status: 200,
            protocol: "HTTP/1.1".into(),
            headers: Vec::new().into(),
            body: Vec::new().into(),
        };
        for (target, ids) in [("/?q=fine", vec![21, 23]), ("/?q=attack", vec![2, 4, 6])] {
            let req = RequestModel::from_head("GET", target, "HTTP/1.1", Headers::default());
            let run = |exhaustive: bool| {
                let mut tx = Transaction::new(&set, &req, &[]);
                tx.set_exhaustive(exhaustive);
                tx.set_tx("detection_paranoia_level", "1");
                tx.process_request();
                let mut logged: Vec<u64> = tx.matches.iter().map(|m| m.id).collect();
                let mut tx = Transaction::resume_for_response(&set, &req, tx.save_for_response());
                tx.set_response(&resp);
                tx.process_response();
                logged.extend(tx.matches.iter().map(|m| m.id));
                logged.retain(|id| [2, 4, 6, 21, 23].contains(id));
                let value = |k: &str| tx.tx(k).map(<[u8]>::to_vec);
                (logged, value("total"), value("out_total"))
            };
            let fast = run(false);
            assert_eq!(fast, run(true), "{target}");
            assert_eq!(fast.0, ids, "{target}");
        }
    }

    /// Markers and folded no-matches are passed over in one move, but not while a `skip`
    /// is pending: the skip counts the no-matches (rules, unlike markers), so the folded
    /// match after them still runs.
    #[test]
    fn idle_entries_are_passed_over_but_still_counted_by_a_skip() {
        let set = rules(
            "SecAction \"id:1,phase:1,pass,nolog,setvar:tx.a=1\"\n\
             SecRule ARGS:jump \"@streq yes\" \"id:2,phase:1,pass,nolog,skip:2\"\n\
             SecRule TX:A \"@eq 5\" \"id:3,phase:1,pass,nolog,setvar:tx.x=1\"\n\
             SecMarker IDLE\n\
             SecRule TX:A \"@eq 6\" \"id:4,phase:1,pass,nolog,setvar:tx.y=1\"\n\
             SecAction \"id:5,phase:1,pass,nolog,setvar:tx.b=1\"\n\
             SecAction \"id:6,phase:1,pass,nolog,setvar:tx.c=1\"\n",
        );
        let folds = folds_of(&set);
        assert_eq!(folded_ids(&set, folds, 1), vec![1, 3, 4, 5, 6]);
        // (entries: 1, 2, 3, the marker, 4, 5, 6)
        assert_eq!(folds.past_idle(1, 1), 1, "a live rule is not idle");
        assert_eq!(folds.past_idle(1, 2), 5, "3, the marker and 4 are idle");
        assert_eq!(folds.past_idle(1, 5), 5, "a folded match is not idle");
        for target in ["/?jump=yes", "/"] {
            let (fast, slow) = both(&set, target);
            assert_eq!(fast, slow, "{target}");
            assert_eq!(tx_value(&fast, "b"), Some(&b"1"[..]), "{target}: 5 runs");
            assert_eq!(tx_value(&fast, "c"), Some(&b"1"[..]), "{target}: 6 runs");
        }
    }

    /// A live rule that skips over live rules and folded no-matches alone leaves the plan
    /// valid (CRS 951100 skips the SQL error rules when the response has none); one that
    /// skips a folded match does not.
    #[test]
    fn a_skip_over_no_folded_match_keeps_folding() {
        let set = rules(
            "SecAction \"id:1,phase:1,pass,nolog,setvar:tx.a=1\"\n\
             SecRule ARGS:clean \"@streq yes\" \"id:2,phase:1,pass,nolog,skipAfter:M\"\n\
             SecRule ARGS \"@rx bad\" \"id:3,phase:1,pass,setvar:tx.score=+5\"\n\
             SecRule TX:A \"@eq 2\" \"id:4,phase:1,pass,nolog,setvar:tx.never=1\"\n\
             SecMarker M\n\
             SecRule ARGS:jump \"@streq yes\" \"id:5,phase:1,pass,nolog,skip:1\"\n\
             SecRule TX:A \"@eq 1\" \"id:6,phase:1,pass,nolog,setvar:tx.b=1\"\n\
             SecRule TX:A \"@eq 1\" \"id:7,phase:1,pass,nolog,setvar:tx.c=%{tx.score}\"\n\
             SecRule TX:B \"@eq 1\" \"id:8,phase:1,pass,nolog,setvar:tx.d=1\"\n",
        );
        let folds = folds_of(&set);
        assert_eq!(folded_ids(&set, folds, 1), vec![1, 4, 6, 8]);
        assert!(
            folds.harmless_skips.contains(&(1, 1)),
            "2 passes over 3 (live) and 4 (no match)"
        );
        assert!(
            !folds.harmless_skips.contains(&(1, 5)),
            "5 passes over 6 (folded match)"
        );
        for target in [
            "/?clean=yes&x=bad",
            "/?x=bad",
            "/?jump=yes&x=bad",
            "/?clean=yes&jump=yes",
        ] {
            let (fast, slow) = both(&set, target);
            assert_eq!(fast, slow, "{target}");
        }
        let (clean, _) = both(&set, "/?clean=yes&x=bad");
        assert_eq!(tx_value(&clean, "b"), Some(&b"1"[..]));
        assert_eq!(tx_value(&clean, "score"), None, "3 skipped");
        let (jump, _) = both(&set, "/?jump=yes");
        assert_eq!(tx_value(&jump, "b"), None, "6 skipped");
        assert_eq!(
            tx_value(&jump, "d"),
            None,
            "8 planned after 6 set b: evaluated"
        );
    }
}
