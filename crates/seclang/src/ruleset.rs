//! A loaded rule set: directives turned into rules per phase, markers, engine settings,
//! and the configuration-time removals and updates (`SecRuleRemoveById`,
//! `SecRuleUpdateTargetById`, ...). Immutable once built; share it behind an `Arc` and swap
//! it whole on reload.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use palisade_http::Transform;

use crate::actions::{Actions, Ctl, Disruptive, EngineMode, IdRange};
use crate::operators::Operator;
use crate::parse::{directives, Directive, LoadError, Origin};
use crate::variables::{parse_targets, Selector, Target};

#[derive(Debug)]
pub struct Rule {
    /// 0 for chained (inner) rules, which have no id of their own.
    pub id: u64,
    pub phase: u8,
    pub targets: Vec<Target>,
    pub operator: Operator,
    pub actions: Actions,
    /// Effective transformations (defaults of the phase unless the rule starts with t:none).
    pub transforms: Vec<Transform>,
    /// Index of `transforms` in [`RuleSet::pipelines`].
    pub pipeline: u32,
    /// For `multiMatch`: the index of each non-empty prefix of `transforms` (shortest
    /// first), whose results are the intermediate values the rule also tests.
    pub prefix_pipelines: Vec<u32>,
    pub chained: Option<Box<Rule>>,
    pub origin: Origin,
    /// `paranoia-level/N` tag, if any.
    pub paranoia: Option<u8>,
    /// Disruptive action after defaults.
    pub disruptive: Disruptive,
    /// Whether a match is logged (the `log`/`nolog` actions, else the phase default).
    pub log: bool,
    /// SecAction: no targets, always matches.
    pub unconditional: bool,
    /// Slot in the rule set's [`Prefilter`](crate::prefilter::Prefilter) when the rule can
    /// be skipped for requests that lack all of its required literals.
    pub slot: Option<u32>,
}

impl Rule {
    /// The rule and the links chained after it, in order.
    pub fn links(&self) -> impl Iterator<Item = &Rule> {
        std::iter::successors(Some(self), |r| r.chained.as_deref())
    }

    pub fn has_tag(&self, re: &regex::Regex) -> bool {
        self.actions.tags.iter().any(|t| re.is_match(t))
    }

    pub fn msg_text(&self) -> String {
        self.actions
            .msg
            .as_ref()
            .and_then(|m| m.constant())
            .unwrap_or_default()
    }
}

// A rule set holds a few hundred entries, built once; boxing rules would only add a hop.
#[allow(clippy::large_enum_variant)]
#[derive(Debug)]
pub enum Entry {
    Rule(Rule),
    Marker(String),
}

/// Where a transaction goes on after a rule matched: the entry it resumes at (the next
/// one, or the entry after the marker its skipAfter names) and how many rules its `skip`
/// passes over. Read from a small table, so that the ~50 matches of a request's folded
/// rules do not reach for their rules' [`Entry`] (two cold cache lines each).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AfterMatch {
    pub resume: u32,
    pub skip: u32,
}

/// An entry as a transaction first sees it: a marker, a rule without a prefilter slot, or
/// the slot of a rule's head. A phase's loop reads these from one small array and reaches
/// for the [`Entry`] (eight cache lines) only of the rules it evaluates: most of a
/// request's few hundred rules are stepped over by their slot, and with the caches cold
/// (as between two requests in the proxy) touching each of them cost about a fifth of a
/// GET's inspection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Step(u32);

impl Step {
    const MARKER: Step = Step(u32::MAX);
    const UNSLOTTED: Step = Step(u32::MAX - 1);

    fn of(entry: &Entry) -> Step {
        match entry {
            Entry::Marker(_) => Step::MARKER,
            // (slots are counted in u32 and never reach these two values)
            Entry::Rule(r) => r.slot.map_or(Step::UNSLOTTED, Step),
        }
    }

    pub fn is_marker(self) -> bool {
        self == Step::MARKER
    }

    /// The prefilter slot of the rule's head, if it has one.
    pub fn slot(self) -> Option<u32> {
        (self.0 < u32::MAX - 1).then_some(self.0)
    }
}

/// The tables behind [`RuleSet::after_unlikely`], for a set whose slots increase with
/// the entries (phase by phase, head before links), as `build_prefilter` gives them.
#[derive(Debug, Clone, Default)]
struct Jumps {
    /// Per phase and entry: the first entry at or after it that is a rule without a slot
    /// (its length at the end, one past the last entry included).
    next_unslotted: [Vec<u32>; 6],
    /// Per slot: the entry holding it (as head or link) in its phase, NONE for none.
    slot_entry: Vec<u32>,
    /// Per phase: one past its largest slot (0 when it has none).
    slot_end: [u32; 6],
}

impl Jumps {
    const NONE: u32 = u32::MAX;

    fn build(phases: &[Vec<Entry>; 6], slots: usize) -> Option<Jumps> {
        let mut j = Jumps {
            slot_entry: vec![Jumps::NONE; slots],
            ..Default::default()
        };
        // the last slot seen, to check that slots only grow
        let mut last: Option<u32> = None;
        for (p, entries) in phases.iter().enumerate() {
            let mut next = vec![entries.len() as u32; entries.len() + 1];
            for (i, e) in entries.iter().enumerate().rev() {
                let slotted = matches!(e, Entry::Rule(r) if r.slot.is_some());
                next[i] = match (e, slotted) {
                    (Entry::Rule(_), false) => i as u32,
                    _ => next[i + 1],
                };
            }
            j.next_unslotted[p] = next;
            for (i, e) in entries.iter().enumerate() {
                let Entry::Rule(r) = e else { continue };
                for s in r.links().filter_map(|l| l.slot) {
                    if last.is_some_and(|t| s <= t) {
                        return None;
                    }
                    last = Some(s);
                    *j.slot_entry.get_mut(s as usize)? = i as u32;
                    j.slot_end[p] = s + 1;
                }
            }
        }
        Some(j)
    }
}

/// Engine-wide settings from the configuration.
#[derive(Debug, Clone)]
pub struct Settings {
    pub engine: EngineMode,
    pub request_body_access: bool,
    pub response_body_access: bool,
    pub component_signatures: Vec<String>,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            engine: EngineMode::On,
            request_body_access: true,
            response_body_access: false,
            component_signatures: Vec::new(),
        }
    }
}

/// Where configuration comes from.
#[derive(Debug, Clone)]
pub enum Source {
    File(PathBuf),
    /// Inline text and the name it has in error messages (relative paths resolve from its
    /// directory).
    Text(String, PathBuf),
}

#[derive(Debug, Default)]
pub struct RuleSet {
    /// Entries of phases 1–5 (index 0 unused).
    pub phases: [Vec<Entry>; 6],
    pub settings: Settings,
    /// Per phase and entry: where a transaction goes on after the rule matched (see
    /// [`AfterMatch`]), worked out once rather than by marker name on each of ~50 matches
    /// per request.
    after_match: [Vec<AfterMatch>; 6],
    /// Per phase and entry: what a transaction reads of it before deciding to evaluate it
    /// (see [`Step`]), packed so that stepping over the rules a request cannot match touches
    /// four bytes of each instead of its 512-byte [`Entry`].
    steps: [Vec<Step>; 6],
    /// How `run_phase` passes over a run of rules the request cannot match in one move
    /// instead of entry by entry (see [`RuleSet::after_unlikely`]); None when the slots are
    /// not in entry order (then entries are stepped one by one).
    jumps: Option<Jumps>,
    /// Every distinct transformation pipeline (rules refer to them by index), and every
    /// non-empty prefix of one.
    pub pipelines: Vec<Vec<Transform>>,
    /// For each pipeline, the index of the pipeline without its last step (None for a
    /// single step): a value transformed by a pipeline is its parent's result, transformed
    /// by the last step, so pipelines sharing a prefix share that work.
    pub pipeline_parents: Vec<Option<u32>>,
    /// For each pipeline, whether every step leaves a plain value (see
    /// [`palisade_http::transform::is_plain`]) unchanged, so the pipeline does too.
    pub pipeline_plain_identity: Vec<bool>,
    /// Prefilters per [`PhaseGroup`] (4 each) and paranoia level 1–4 (index 0 = level 1
    /// of the request phases), each built on first use from `prefilter_entries`: a
    /// deployment runs at one or two levels, and each prefilter holds multi-pattern automata
    /// over hundreds of rules. Phase 1 of a request with a body, and the response phases,
    /// scan for their own rules only (the next phase scans again anyway).
    pub(crate) prefilters: [std::sync::OnceLock<crate::prefilter::Prefilter>; 12],
    /// Every prefilter entry with its rule's paranoia level and phase.
    prefilter_entries: Vec<(u8, u8, crate::prefilter::Entry)>,
    /// Number of prefilter slots.
    pub prefilter_slots: usize,
    /// Folded request-independent rules per starting TX state (see
    /// `transaction::fold`), planned when a state is first seen.
    pub(crate) folds: crate::transaction::fold::FoldTable,
    /// This set's number among the sets the process built (a response resumes its
    /// request's transaction only on the set that ran it).
    pub(crate) serial: u64,
}

impl RuleSet {
    /// The prefilter of the request phases' rules at paranoia `level` (1–4: rules of that
    /// level and below), built the first time it is asked for; None for a level outside 1–4.
    pub fn prefilter(&self, level: usize) -> Option<&crate::prefilter::Prefilter> {
        self.phase_prefilter(level, PhaseGroup::Request)
    }

    /// The prefilter of paranoia `level` for the rules of a group of phases.
    pub fn phase_prefilter(
        &self,
        level: usize,
        group: PhaseGroup,
    ) -> Option<&crate::prefilter::Prefilter> {
        let index = level.checked_sub(1).filter(|i| *i < 4)? + 4 * group as usize;
        let cell = self.prefilters.get(index)?;
        Some(cell.get_or_init(|| {
            let subset: Vec<&crate::prefilter::Entry> = self
                .prefilter_entries
                .iter()
                .filter(|(pl, phase, _)| usize::from(*pl) <= level && group.has(*phase))
                .map(|(_, _, e)| e)
                .collect();
            crate::prefilter::Prefilter::build(&subset, self.prefilter_slots)
        }))
    }
}

/// Which rules a prefilter decides about, by phase.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PhaseGroup {
    /// Phases 1 and 2 (a request without a body scans once, in phase 1, for both).
    Request = 0,
    /// Phase 1 alone: a request with a body scans again in phase 2, with the body.
    RequestHead = 1,
    /// Phases 3–5.
    Response = 2,
}

impl PhaseGroup {
    fn has(self, phase: u8) -> bool {
        match self {
            PhaseGroup::Request => phase <= 2,
            PhaseGroup::RequestHead => phase <= 1,
            PhaseGroup::Response => phase >= 3,
        }
    }
}

#[derive(Clone)]
struct Defaults {
    transforms: Vec<Transform>,
    disruptive: Disruptive,
    log: bool,
}

impl Default for Defaults {
    fn default() -> Self {
        Defaults {
            transforms: Vec::new(),
            disruptive: Disruptive::Pass,
            log: true,
        }
    }
}

/// Changes applied after all files are read, so that an exclusion file may come before or
/// after the rules it changes.
enum Update {
    RemoveById(Vec<IdRange>),
    RemoveByTag(regex::Regex),
    RemoveByMsg(regex::Regex),
    TargetById(Vec<IdRange>, Vec<Target>, Option<Vec<Target>>),
    TargetByTag(regex::Regex, Vec<Target>, Option<Vec<Target>>),
    ActionById(u64, Actions),
}

#[derive(Default)]
struct Builder {
    set: RuleSet,
    defaults: [Defaults; 6],
    pending_chain: Option<(u8, Vec<Rule>)>,
    updates: Vec<Update>,
    ids: HashMap<u64, Origin>,
    include_depth: usize,
}

impl RuleSet {
    /// Loads files in order (each may `Include` others).
    pub fn load_files(files: &[PathBuf]) -> Result<RuleSet, LoadError> {
        let mut b = Builder::default();
        for f in files {
            b.load_file(f)?;
        }
        b.finish()
    }

    /// Parses configuration text (`file` names it in errors and resolves relative paths).
    pub fn from_text(text: &str, file: &Path) -> Result<RuleSet, LoadError> {
        let mut b = Builder::default();
        b.load_text(text, file)?;
        b.finish()
    }

    /// Loads a sequence of files and inline texts, in order.
    pub fn load(sources: &[Source]) -> Result<RuleSet, LoadError> {
        let mut b = Builder::default();
        for s in sources {
            match s {
                Source::File(f) => b.load_file(f)?,
                Source::Text(text, name) => b.load_text(text, name)?,
            }
        }
        b.finish()
    }

    pub fn rule_count(&self) -> usize {
        self.phases
            .iter()
            .flat_map(|p| p.iter())
            .filter(|e| matches!(e, Entry::Rule(_)))
            .count()
    }

    /// Where phase `phase` resumes after entry `index`'s rule matched and skipped to its
    /// `skipAfter` marker: the entry after the marker, or the phase's end when the marker
    /// is missing or not after the rule.
    pub fn skip_after_resume(&self, phase: u8, index: usize) -> usize {
        self.after_match(phase, index).resume as usize
    }

    /// Where a transaction goes on after entry `index` of `phase` matched (see
    /// [`AfterMatch`]).
    #[inline]
    pub fn after_match(&self, phase: u8, index: usize) -> AfterMatch {
        let phase = usize::from(phase);
        // (the table covers every entry of a built set; past it, the phase ends)
        match self.after_match[phase].get(index) {
            Some(&a) => a,
            None => AfterMatch {
                resume: self.phases[phase].len() as u32,
                skip: 0,
            },
        }
    }

    /// What entry `index` of `phase` is, short of its rule (see [`Step`]).
    #[inline]
    pub fn step(&self, phase: u8, index: usize) -> Step {
        let phase = usize::from(phase);
        // (the table covers every entry of a built set)
        match self.steps[phase].get(index) {
            Some(&s) => s,
            None => self.phases[phase].get(index).map_or(Step::MARKER, Step::of),
        }
    }

    /// Where a transaction goes on after entry `index` of `phase`, a rule with head slot
    /// `slot` that cannot match (`hit`: per slot, whether it may): the first entry after it
    /// that is not such a rule, i.e. a rule without a slot, or one whose head or chain
    /// link slot is hit (the caller checks its head again), or the phase's end. Markers
    /// between do nothing and are passed over too. CRS has 310 rules with a slot, of which
    /// a request may match a few dozen; stepping over the others one by one read a step, a
    /// fold and a skip count each (~1,000 entries per request with its response).
    pub fn after_unlikely(&self, phase: u8, index: usize, slot: u32, hit: &[bool]) -> usize {
        let next = index + 1;
        let Some(j) = &self.jumps else {
            return next;
        };
        let p = usize::from(phase);
        let Some(&stop) = j.next_unslotted[p].get(next) else {
            return next;
        };
        let stop = stop as usize;
        // the hit slots after this rule's, in this phase's range, in entry order
        let (from, end) = (slot as usize + 1, j.slot_end[p] as usize);
        let mut s = from;
        while s < end {
            // (past the table: may match, as `Candidates::may_match` says)
            let Some(rest) = hit.get(s..end) else {
                return next;
            };
            let Some(k) = rest.iter().position(|&h| h) else {
                break;
            };
            s += k;
            match j.slot_entry.get(s) {
                // a link of this very rule (or a slot of no entry): look further
                Some(&e) if (e as usize) <= index || e == Jumps::NONE => s += 1,
                Some(&e) => return stop.min(e as usize),
                None => return next,
            }
        }
        stop
    }

    pub fn rules(&self) -> impl Iterator<Item = &Rule> {
        self.phases
            .iter()
            .flat_map(|p| p.iter())
            .filter_map(|e| match e {
                Entry::Rule(r) => Some(r),
                Entry::Marker(_) => None,
            })
    }
}

impl Builder {
    fn load_file(&mut self, path: &Path) -> Result<(), LoadError> {
        let text = std::fs::read_to_string(path).map_err(|e| LoadError {
            origin: Origin {
                file: path.to_path_buf(),
                line: 0,
            },
            message: format!("cannot read: {e}"),
        })?;
        self.load_text(&text, path)
    }

    fn load_text(&mut self, text: &str, file: &Path) -> Result<(), LoadError> {
        for d in directives(text, file)? {
            self.directive(d)?;
        }
        Ok(())
    }

    fn directive(&mut self, d: Directive) -> Result<(), LoadError> {
        let o = &d.origin;
        let arg = |i: usize| -> Result<&str, LoadError> {
            d.args
                .get(i)
                .map(String::as_str)
                .ok_or_else(|| LoadError::new(o, format!("{} needs more arguments", d.name)))
        };
        let name = d.name.to_ascii_lowercase();
        if self.pending_chain.is_some() && name != "secrule" {
            return Err(LoadError::new(
                o,
                format!("{} where a chained SecRule was expected", d.name),
            ));
        }
        match name.as_str() {
            "secrule" => {
                if d.args.len() < 2 || d.args.len() > 3 {
                    return Err(LoadError::new(
                        o,
                        "SecRule needs VARIABLES \"OPERATOR\" [\"ACTIONS\"]",
                    ));
                }
                let targets = parse_targets(arg(0)?, o)?;
                let dir = o.file.parent().unwrap_or(Path::new(".")).to_path_buf();
                let operator = Operator::parse(arg(1)?, &dir, o)?;
                let actions = match d.args.get(2) {
                    Some(a) => Actions::parse(a, o)?,
                    None => Actions::default(),
                };
                self.add_rule(targets, operator, actions, o, false)?;
            }
            "secaction" => {
                let actions = Actions::parse(arg(0)?, o)?;
                let dir = o.file.parent().unwrap_or(Path::new(".")).to_path_buf();
                let operator = Operator::parse("@unconditionalMatch", &dir, o)?;
                self.add_rule(Vec::new(), operator, actions, o, true)?;
            }
            "secmarker" => {
                let m = arg(0)?.to_string();
                for phase in 1..=5 {
                    self.set.phases[phase].push(Entry::Marker(m.clone()));
                }
            }
            "secdefaultaction" => {
                let a = Actions::parse(arg(0)?, o)?;
                let phase = a
                    .phase
                    .ok_or_else(|| LoadError::new(o, "SecDefaultAction needs a phase"))?;
                let mut def = Defaults {
                    transforms: effective_transforms(&[], &a.transforms),
                    ..Defaults::default()
                };
                if let Some(dis) = a.disruptive {
                    def.disruptive = dis;
                }
                if let Some(log) = a.log {
                    def.log = log;
                }
                self.defaults[phase as usize] = def;
            }
            "secruleengine" => {
                self.set.settings.engine = EngineMode::parse(arg(0)?).ok_or_else(|| {
                    LoadError::new(o, "SecRuleEngine must be On, Off or DetectionOnly")
                })?;
            }
            "secrequestbodyaccess" => self.set.settings.request_body_access = on_off(arg(0)?, o)?,
            "secresponsebodyaccess" => self.set.settings.response_body_access = on_off(arg(0)?, o)?,
            "seccomponentsignature" => self
                .set
                .settings
                .component_signatures
                .push(arg(0)?.to_string()),
            "secruleremovebyid" => {
                let ids = IdRange::parse_list(&d.args.join(" "))
                    .ok_or_else(|| LoadError::new(o, "SecRuleRemoveById: bad id or range"))?;
                self.updates.push(Update::RemoveById(ids));
            }
            "secruleremovebytag" => self
                .updates
                .push(Update::RemoveByTag(regex_arg(arg(0)?, o)?)),
            "secruleremovebymsg" => self
                .updates
                .push(Update::RemoveByMsg(regex_arg(arg(0)?, o)?)),
            "secruleupdatetargetbyid" => {
                let ids = IdRange::parse_list(arg(0)?)
                    .ok_or_else(|| LoadError::new(o, "SecRuleUpdateTargetById: bad id"))?;
                let targets = parse_targets(arg(1)?, o)?;
                let replaced = d.args.get(2).map(|r| parse_targets(r, o)).transpose()?;
                self.updates
                    .push(Update::TargetById(ids, targets, replaced));
            }
            "secruleupdatetargetbytag" => {
                let tag = regex_arg(arg(0)?, o)?;
                let targets = parse_targets(arg(1)?, o)?;
                let replaced = d.args.get(2).map(|r| parse_targets(r, o)).transpose()?;
                self.updates
                    .push(Update::TargetByTag(tag, targets, replaced));
            }
            "secruleupdateactionbyid" => {
                let id: u64 = arg(0)?
                    .split(':')
                    .next()
                    .unwrap_or("")
                    .parse()
                    .map_err(|_| LoadError::new(o, "SecRuleUpdateActionById: bad id"))?;
                let actions = Actions::parse(arg(1)?, o)?;
                self.updates.push(Update::ActionById(id, actions));
            }
            "include" => {
                let pattern = arg(0)?;
                let base = o.file.parent().unwrap_or(Path::new("."));
                let full = if Path::new(pattern).is_absolute() {
                    PathBuf::from(pattern)
                } else {
                    base.join(pattern)
                };
                let files = glob_files(&full).map_err(|m| LoadError::new(o, m))?;
                if self.include_depth > 16 {
                    return Err(LoadError::new(o, "Include nested too deeply"));
                }
                self.include_depth += 1;
                for f in files {
                    self.load_file(&f)?;
                }
                self.include_depth -= 1;
            }
            // Settings of ModSecurity's own body handling, audit log and limits: they do not
            // change what rules match here (Palisade's proxy has its own limits).
            "secrequestbodylimit"
            | "secrequestbodynofileslimit"
            | "secrequestbodyinmemorylimit"
            | "secrequestbodylimitaction"
            | "secresponsebodylimit"
            | "secresponsebodylimitaction"
            | "secresponsebodymimetype"
            | "secresponsebodymimetypesclear"
            | "secpcrematchlimit"
            | "secpcrematchlimitrecursion"
            | "secauditengine"
            | "secauditlog"
            | "secauditlogparts"
            | "secauditlogtype"
            | "secauditlogformat"
            | "secauditlogstoragedir"
            | "secauditlogrelevantstatus"
            | "secauditlogdirmode"
            | "secauditlogfilemode"
            | "secdebuglog"
            | "secdebugloglevel"
            | "sectmpdir"
            | "secdatadir"
            | "secuploaddir"
            | "secuploadkeepfiles"
            | "secuploadfilemode"
            | "secuploadfilelimit"
            | "secargumentseparator"
            | "seccookieformat"
            | "secunicodemapfile"
            | "secstatusengine"
            | "seccollectiontimeout"
            | "secargumentslimit"
            | "sectmpsaveuploadedfiles"
            | "secxmlexternalentity"
            | "secrequestbodyjsondepthlimit"
            | "secservertokens"
            | "secserversignature"
            | "secwebappid"
            | "secsensorid"
            | "secgeolookupdb" => {}
            _ => {
                return Err(LoadError::new(
                    o,
                    format!("unsupported directive {}", d.name),
                ))
            }
        }
        Ok(())
    }

    fn add_rule(
        &mut self,
        targets: Vec<Target>,
        operator: Operator,
        actions: Actions,
        o: &Origin,
        unconditional: bool,
    ) -> Result<(), LoadError> {
        let in_chain = self.pending_chain.is_some();
        let phase = match &self.pending_chain {
            Some((p, _)) => *p,
            None => actions.phase.unwrap_or(2),
        };
        let id = if in_chain {
            if actions.id.is_some() {
                return Err(LoadError::new(o, "a chained rule cannot have an id"));
            }
            0
        } else {
            let id = actions
                .id
                .ok_or_else(|| LoadError::new(o, "rule has no id"))?;
            if let Some(prev) = self.ids.insert(id, o.clone()) {
                return Err(LoadError::new(
                    o,
                    format!("duplicate rule id {id} (first at {prev})"),
                ));
            }
            id
        };
        let defaults = self.defaults[phase as usize].clone();
        let paranoia = actions.tags.iter().find_map(|t| {
            t.strip_prefix("paranoia-level/")
                .and_then(|n| n.parse::<u8>().ok())
        });
        let transforms = effective_transforms(&defaults.transforms, &actions.transforms);
        let pipeline = self.intern(&transforms);
        let rule = Rule {
            id,
            phase,
            targets,
            pipeline,
            prefix_pipelines: Vec::new(),
            transforms,
            disruptive: actions.disruptive.unwrap_or(defaults.disruptive),
            log: actions.log.unwrap_or(defaults.log),
            chained: None,
            origin: o.clone(),
            paranoia,
            unconditional,
            slot: None,
            operator,
            actions,
        };
        let chain_continues = rule.actions.chain;
        match self.pending_chain.take() {
            None if chain_continues => self.pending_chain = Some((phase, vec![rule])),
            None => self.set.phases[phase as usize].push(Entry::Rule(rule)),
            Some((p, mut links)) => {
                links.push(rule);
                if chain_continues {
                    self.pending_chain = Some((p, links));
                } else {
                    // fold the links into head -> ... -> last
                    let mut tail: Option<Box<Rule>> = None;
                    while let Some(mut r) = links.pop() {
                        r.chained = tail;
                        tail = Some(Box::new(r));
                    }
                    if let Some(head) = tail {
                        self.set.phases[p as usize].push(Entry::Rule(*head));
                    }
                }
            }
        }
        Ok(())
    }

    fn intern(&mut self, transforms: &[Transform]) -> u32 {
        intern_into(&mut self.set.pipelines, transforms)
    }

    fn finish(mut self) -> Result<RuleSet, LoadError> {
        if let Some((_, links)) = &self.pending_chain {
            let o = links.last().map(|r| r.origin.clone()).unwrap_or(Origin {
                file: PathBuf::new(),
                line: 0,
            });
            return Err(LoadError::new(
                &o,
                "the last rule has `chain` but no rule follows",
            ));
        }
        for update in std::mem::take(&mut self.updates) {
            self.apply(update);
        }
        self.build_prefilter();
        self.link_pipelines();
        self.settle_tag_selectors();
        // where each skipAfter resumes, from the markers' final positions (after removals;
        // a marker named twice counts where it is last)
        for phase in 1..=5 {
            let entries = &self.set.phases[phase];
            let markers: crate::fxhash::FxHashMap<&str, usize> = entries
                .iter()
                .enumerate()
                .filter_map(|(i, e)| match e {
                    Entry::Marker(m) => Some((m.as_str(), i)),
                    Entry::Rule(_) => None,
                })
                .collect();
            self.set.after_match[phase] = entries
                .iter()
                .enumerate()
                .map(|(i, e)| {
                    // (a skipAfter passes over any skip of the same rule)
                    let (resume, skip) = match e {
                        Entry::Rule(r) => match r.actions.skip_after.as_ref() {
                            Some(marker) => match markers.get(marker.as_str()) {
                                Some(&m) if m > i => (m + 1, 0),
                                _ => (entries.len(), 0),
                            },
                            None => (i + 1, r.actions.skip.unwrap_or(0)),
                        },
                        Entry::Marker(_) => (i + 1, 0),
                    };
                    AfterMatch {
                        resume: u32::try_from(resume).unwrap_or(u32::MAX),
                        skip,
                    }
                })
                .collect();
            self.set.steps[phase] = entries.iter().map(Step::of).collect();
        }
        self.set.jumps = Jumps::build(&self.set.phases, self.set.prefilter_slots);
        static SERIAL: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
        self.set.serial = SERIAL.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        Ok(self.set)
    }

    /// Tells every `ctl:…ByTag` of the complete set which rules it names (see
    /// [`TagSelector::settle`](crate::actions::TagSelector::settle)).
    fn settle_tag_selectors(&self) {
        let rules = || self.set.rules().map(|r| (r.id, r.actions.tags.as_slice()));
        for r in self.set.rules().flat_map(Rule::links) {
            for c in &r.actions.ctls {
                if let Ctl::RuleRemoveByTag(t) | Ctl::RuleRemoveTargetByTag(t, _) = c {
                    t.settle(rules());
                }
            }
        }
    }

    /// Interns every prefix of every pipeline, records each pipeline's parent, and gives
    /// multiMatch rules (chained links included) the indexes of their prefixes.
    fn link_pipelines(&mut self) {
        let pipelines = &mut self.set.pipelines;
        for rule in rules_mut(&mut self.set.phases) {
            let mut link = Some(rule);
            while let Some(r) = link {
                r.prefix_pipelines = if r.actions.multi_match {
                    (1..=r.transforms.len())
                        .map(|k| intern_into(pipelines, &r.transforms[..k]))
                        .collect()
                } else {
                    Vec::new()
                };
                link = r.chained.as_deref_mut();
            }
        }
        let mut i = 0;
        while i < pipelines.len() {
            let p = pipelines[i].clone();
            for k in 1..p.len() {
                intern_into(pipelines, &p[..k]);
            }
            i += 1;
        }
        self.set.pipeline_parents = pipelines
            .iter()
            .map(|p| match p.len() {
                0 | 1 => None,
                n => pipelines
                    .iter()
                    .position(|q| q[..] == p[..n - 1])
                    .map(|i| i as u32),
            })
            .collect();
        self.set.pipeline_plain_identity = pipelines
            .iter()
            .map(|p| p.iter().all(|t| t.identity_on_plain()))
            .collect();
    }

    /// Gives a prefilter slot to every rule whose head can be skipped: an operator with
    /// required literals, a plain regex or a value test the scan evaluates itself
    /// (`@detectSQLi`, `@detectXSS`, `@validateByteRange`, `@validateUtf8Encoding`), only scanned collections, no
    /// counting. A multiMatch rule also tests every intermediate value of its pipeline, so
    /// it gets one prefilter entry per pipeline prefix (the untransformed value included).
    /// One prefilter per paranoia level, holding the rules of that level and below (CRS
    /// skips the others), is built when a transaction first needs it.
    fn build_prefilter(&mut self) {
        let mut entries: Vec<(u8, u8, crate::prefilter::Entry)> = Vec::new();
        let mut slots = 0u32;
        for rule in rules_mut(&mut self.set.phases) {
            let (paranoia, phase) = (rule.paranoia.unwrap_or(1), rule.phase);
            rule.slot = prefilter_entries(rule, paranoia, phase, true, &mut slots, &mut entries);
            // The links of a chain with a value test too: one whose test holds for no value
            // fails the chain without being evaluated (920250's `@validateUtf8Encoding` on
            // every argument, after a TX head that holds whenever the check is enabled).
            // Literals and regexes of later links would only add to every request's scan.
            let mut link = rule.chained.as_deref_mut();
            while let Some(r) = link {
                r.slot = prefilter_entries(r, paranoia, phase, false, &mut slots, &mut entries);
                link = r.chained.as_deref_mut();
            }
        }
        self.set.prefilter_slots = slots as usize;
        self.set.prefilter_entries = entries;
        // built per level on first use (see `RuleSet::prefilter`)
        self.set.prefilters = Default::default();
    }

    fn apply(&mut self, update: Update) {
        let set = &mut self.set;
        let phases = &mut set.phases;
        let pipelines = &mut set.pipelines;
        let retain = |phases: &mut [Vec<Entry>; 6], keep: &dyn Fn(&Rule) -> bool| {
            for p in phases.iter_mut() {
                p.retain(|e| match e {
                    Entry::Rule(r) => keep(r),
                    Entry::Marker(_) => true,
                });
            }
        };
        match update {
            Update::RemoveById(ids) => retain(phases, &|r| !ids.iter().any(|i| i.contains(r.id))),
            Update::RemoveByTag(re) => retain(phases, &|r| !r.has_tag(&re)),
            Update::RemoveByMsg(re) => retain(phases, &|r| !re.is_match(&r.msg_text())),
            Update::TargetById(ids, targets, replaced) => {
                for r in rules_mut(phases) {
                    if ids.iter().any(|i| i.contains(r.id)) {
                        update_targets(r, &targets, replaced.as_deref());
                    }
                }
            }
            Update::TargetByTag(re, targets, replaced) => {
                for r in rules_mut(phases) {
                    if r.has_tag(&re) {
                        update_targets(r, &targets, replaced.as_deref());
                    }
                }
            }
            Update::ActionById(id, actions) => {
                for r in rules_mut(phases) {
                    if r.id == id {
                        if let Some(d) = actions.disruptive {
                            r.disruptive = d;
                        }
                        if let Some(l) = actions.log {
                            r.log = l;
                        }
                        if !actions.transforms.is_empty() {
                            r.transforms = effective_transforms(&r.transforms, &actions.transforms);
                            r.pipeline = intern_into(pipelines, &r.transforms);
                        }
                        if actions.msg.is_some() {
                            r.actions.msg = actions.msg.clone();
                        }
                        if actions.logdata.is_some() {
                            r.actions.logdata = actions.logdata.clone();
                        }
                        if actions.severity.is_some() {
                            r.actions.severity = actions.severity;
                        }
                        if !actions.tags.is_empty() {
                            r.actions.tags.extend(actions.tags.iter().cloned());
                        }
                        if !actions.setvars.is_empty() {
                            r.actions.setvars = actions.setvars.clone();
                        }
                    }
                }
            }
        }
    }
}

fn intern_into(pipelines: &mut Vec<Vec<Transform>>, transforms: &[Transform]) -> u32 {
    match pipelines.iter().position(|p| p == transforms) {
        Some(i) => i as u32,
        None => {
            pipelines.push(transforms.to_vec());
            (pipelines.len() - 1) as u32
        }
    }
}

fn rules_mut(phases: &mut [Vec<Entry>; 6]) -> impl Iterator<Item = &mut Rule> {
    phases
        .iter_mut()
        .flat_map(|p| p.iter_mut())
        .filter_map(|e| match e {
            Entry::Rule(r) => Some(r),
            Entry::Marker(_) => None,
        })
}

/// The prefilter entries of one rule or chain link (tagged with the chain's paranoia level
/// and phase) and the slot they decide, when its operator and targets allow one (a link
/// after the head: a value test only).
fn prefilter_entries(
    rule: &Rule,
    paranoia: u8,
    phase: u8,
    head: bool,
    slots: &mut u32,
    entries: &mut Vec<(u8, u8, crate::prefilter::Entry)>,
) -> Option<u32> {
    if rule.unconditional {
        return None;
    }
    let eligible = rule.targets.iter().all(|t| {
        t.exclude || (!t.count && crate::prefilter::SCANNED.contains(&t.collection.as_str()))
    });
    if !eligible {
        return None;
    }
    let source = rule.operator.regex_source().filter(|_| head);
    let literals = rule
        .operator
        .required_literals()
        .filter(|l| !l.is_empty() && head)
        // (literals of ordinary prose: the regex itself, when the DFA can take it)
        .filter(|l| {
            !(crate::prefilter::literals_occur_in_prose(l)
                && source.is_some_and(crate::prefilter::regex_fits_dfa))
        })
        .map(<[Vec<u8>]>::to_vec);
    let regex = match (&literals, source) {
        (None, Some(src)) if !crate::prefilter::asserts_text_edges(src) => Some(src.to_string()),
        _ => None,
    };
    let test = match (&literals, &regex) {
        (None, None) => rule.operator.value_test(),
        _ => None,
    };
    if literals.is_none() && regex.is_none() && test.is_none() {
        return None;
    }
    let slot = *slots;
    *slots += 1;
    let pipelines: Vec<&[palisade_http::Transform]> = if rule.actions.multi_match {
        (0..=rule.transforms.len())
            .map(|k| &rule.transforms[..k])
            .collect()
    } else {
        vec![&rule.transforms[..]]
    };
    for transforms in pipelines {
        entries.push((
            paranoia,
            phase,
            crate::prefilter::Entry {
                slot,
                literals: literals.clone(),
                regex: regex.clone(),
                test: test.clone(),
                transforms: transforms.to_vec(),
                collections: rule
                    .targets
                    .iter()
                    .filter(|t| !t.exclude)
                    .map(|t| match (&test, &t.selector) {
                        // A test costs per value evaluated: one header is scanned on its
                        // own (942100 reads User-Agent and Referer, not every header), in
                        // a collection of its own. So is one header for literals and
                        // regexes: a match in another header does not make the rule a
                        // candidate (920420's `^[^;\s]+` on Content-Type matched every
                        // header value; 941130's `xml` the Accept header).
                        (test, Selector::Key(key))
                            if test.is_some() || t.collection == "REQUEST_HEADERS" =>
                        {
                            crate::prefilter::keyed_collection(&t.collection, key)
                        }
                        _ => t.collection.clone(),
                    })
                    .collect(),
            },
        ));
    }
    Some(slot)
}

fn update_targets(rule: &mut Rule, targets: &[Target], replaced: Option<&[Target]>) {
    if let Some(old) = replaced {
        rule.targets.retain(|t| {
            !old.iter()
                .any(|o| o.describe().eq_ignore_ascii_case(&t.describe()))
        });
    }
    rule.targets.extend(targets.iter().cloned());
}

/// `t:none` anywhere drops everything before it (including the defaults).
pub fn effective_transforms(defaults: &[Transform], own: &[Transform]) -> Vec<Transform> {
    let mut out: Vec<Transform> = defaults.to_vec();
    for t in own {
        if *t == Transform::None {
            out.clear();
        } else {
            out.push(*t);
        }
    }
    out
}

fn on_off(v: &str, o: &Origin) -> Result<bool, LoadError> {
    match v.to_ascii_lowercase().as_str() {
        "on" => Ok(true),
        "off" => Ok(false),
        _ => Err(LoadError::new(o, format!("expected On or Off, not {v:?}"))),
    }
}

fn regex_arg(v: &str, o: &Origin) -> Result<regex::Regex, LoadError> {
    regex::Regex::new(v).map_err(|e| LoadError::new(o, format!("bad pattern {v:?}: {e}")))
}

/// Expands a path whose last component may contain `*` (what `Include` needs).
fn glob_files(path: &Path) -> Result<Vec<PathBuf>, String> {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    if !name.contains('*') && !name.contains('?') {
        if path.is_file() {
            return Ok(vec![path.to_path_buf()]);
        }
        return Err(format!("Include: no such file {}", path.display()));
    }
    let dir = path.parent().unwrap_or(Path::new("."));
    let pattern = format!(
        "^{}$",
        regex::escape(&name)
            .replace("\\*", ".*")
            .replace("\\?", ".")
    );
    let re = regex::Regex::new(&pattern).map_err(|e| e.to_string())?;
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| format!("Include: cannot list {}: {e}", dir.display()))?
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| p.is_file())
        .filter(|p| {
            p.file_name()
                .is_some_and(|n| re.is_match(&n.to_string_lossy()))
        })
        .collect();
    files.sort();
    Ok(files)
}
