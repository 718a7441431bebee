//! Rule actions: metadata (`id`, `msg`, `tag`, `severity`), flow (`chain`, `skip`,
//! `skipAfter`), disruptive actions, `setvar`, `ctl`, `capture` and transformations.
//!
//! Parsed once into [`Actions`]; unknown action names are load errors.

use std::sync::{Arc, OnceLock};

use palisade_http::Transform;

use crate::fxhash::FxHashSet;
use crate::macros::Template;
use crate::parse::{split_actions, LoadError, Origin};
use crate::variables::{parse_targets, Target};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Disruptive {
    Pass,
    Block,
    Deny,
    Drop,
    /// `allow`: stop evaluating rules (whole transaction).
    Allow,
    /// `allow:phase`: stop the current phase only.
    AllowPhase,
    /// `allow:request`: skip the rest of the request phases.
    AllowRequest,
    Redirect,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EngineMode {
    On,
    Off,
    DetectionOnly,
}

impl EngineMode {
    pub fn parse(s: &str) -> Option<EngineMode> {
        match s.trim().to_ascii_lowercase().as_str() {
            "on" => Some(EngineMode::On),
            "off" => Some(EngineMode::Off),
            "detectiononly" => Some(EngineMode::DetectionOnly),
            _ => None,
        }
    }
}

/// An inclusive range of rule ids (`942100` or `942100-942199`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IdRange(pub u64, pub u64);

impl IdRange {
    pub fn contains(&self, id: u64) -> bool {
        self.0 <= id && id <= self.1
    }

    pub fn parse_list(text: &str) -> Option<Vec<IdRange>> {
        let mut out = Vec::new();
        for part in text
            .split([' ', ','])
            .map(str::trim)
            .filter(|p| !p.is_empty())
        {
            let r = match part.split_once('-') {
                Some((a, b)) => IdRange(a.trim().parse().ok()?, b.trim().parse().ok()?),
                None => {
                    let n = part.parse().ok()?;
                    IdRange(n, n)
                }
            };
            out.push(r);
        }
        Some(out)
    }
}

#[derive(Debug, Clone)]
pub enum Ctl {
    RuleRemoveById(Vec<IdRange>),
    // (shared: a transaction keeps what its `ctl`s name until its response is inspected,
    // and CRS 941010 names a tag on every request)
    RuleRemoveByTag(Arc<TagSelector>),
    RuleRemoveTargetById(Arc<[IdRange]>, Arc<[Target]>),
    RuleRemoveTargetByTag(Arc<TagSelector>, Arc<[Target]>),
    RuleEngine(EngineMode),
    RequestBodyProcessor(String),
    RequestBodyAccess(bool),
    ResponseBodyAccess(bool),
    ForceRequestBodyVariable(bool),
    /// Audit-log and debug-log controls: accepted, no effect on detection.
    Ignored,
}

#[derive(Debug, Clone)]
pub enum SetVarOp {
    Set(Template),
    Add(Template),
    Sub(Template),
    Delete,
}

#[derive(Debug, Clone)]
pub struct SetVar {
    /// Upper-case collection (`TX`, `IP`, ...).
    pub collection: String,
    pub key: Template,
    pub op: SetVarOp,
}

#[derive(Debug, Clone, Default)]
pub struct Actions {
    pub id: Option<u64>,
    pub phase: Option<u8>,
    pub chain: bool,
    /// `t:` names in order; `t:none` is kept as [`Transform::None`] so that the rule can
    /// drop inherited defaults.
    pub transforms: Vec<Transform>,
    pub disruptive: Option<Disruptive>,
    pub status: Option<u16>,
    pub capture: bool,
    pub multi_match: bool,
    pub setvars: Vec<SetVar>,
    pub setenvs: Vec<(String, Template)>,
    pub msg: Option<Template>,
    pub logdata: Option<Template>,
    pub tags: Vec<String>,
    pub severity: Option<u8>,
    pub ver: Option<String>,
    pub ctls: Vec<Ctl>,
    pub skip: Option<u32>,
    pub skip_after: Option<String>,
    /// `log` (Some(true)) / `nolog` (Some(false)).
    pub log: Option<bool>,
}

fn severity_of(s: &str) -> Option<u8> {
    match s.trim().to_ascii_uppercase().as_str() {
        "EMERGENCY" | "0" => Some(0),
        "ALERT" | "1" => Some(1),
        "CRITICAL" | "2" => Some(2),
        "ERROR" | "3" => Some(3),
        "WARNING" | "4" => Some(4),
        "NOTICE" | "5" => Some(5),
        "INFO" | "6" => Some(6),
        "DEBUG" | "7" => Some(7),
        _ => None,
    }
}

impl Actions {
    pub fn parse(text: &str, origin: &Origin) -> Result<Actions, LoadError> {
        let mut a = Actions::default();
        for (name, arg) in split_actions(text, origin)? {
            let need = |what: &str| {
                arg.clone().ok_or_else(|| {
                    LoadError::new(origin, format!("action {what} needs an argument"))
                })
            };
            match name.to_ascii_lowercase().as_str() {
                "id" => {
                    let v = need("id")?;
                    a.id = Some(
                        v.trim()
                            .parse()
                            .map_err(|_| LoadError::new(origin, format!("bad rule id {v:?}")))?,
                    );
                }
                "phase" => {
                    let v = need("phase")?;
                    a.phase = Some(match v.trim().to_ascii_lowercase().as_str() {
                        "request" => 2,
                        "response" => 4,
                        "logging" => 5,
                        n => match n.parse::<u8>() {
                            Ok(p @ 1..=5) => p,
                            _ => return Err(LoadError::new(origin, format!("bad phase {v:?}"))),
                        },
                    });
                }
                "chain" => a.chain = true,
                "t" => {
                    let v = need("t")?;
                    let t = Transform::from_name(&v).ok_or_else(|| {
                        LoadError::new(origin, format!("unknown transformation t:{v}"))
                    })?;
                    a.transforms.push(t);
                }
                "pass" => a.disruptive = Some(Disruptive::Pass),
                "block" => a.disruptive = Some(Disruptive::Block),
                "deny" => a.disruptive = Some(Disruptive::Deny),
                "drop" => a.disruptive = Some(Disruptive::Drop),
                "redirect" => a.disruptive = Some(Disruptive::Redirect),
                "allow" => {
                    a.disruptive = Some(
                        match arg.as_deref().map(str::to_ascii_lowercase).as_deref() {
                            None | Some("") => Disruptive::Allow,
                            Some("phase") => Disruptive::AllowPhase,
                            Some("request") => Disruptive::AllowRequest,
                            Some(other) => {
                                return Err(LoadError::new(origin, format!("bad allow:{other}")))
                            }
                        },
                    )
                }
                "status" => {
                    let v = need("status")?;
                    a.status = Some(
                        v.trim()
                            .parse()
                            .map_err(|_| LoadError::new(origin, format!("bad status {v:?}")))?,
                    );
                }
                "capture" => a.capture = true,
                "multimatch" => a.multi_match = true,
                "setvar" => a.setvars.push(parse_setvar(&need("setvar")?, origin)?),
                "setenv" => {
                    let v = need("setenv")?;
                    let (k, val) = v.split_once('=').unwrap_or((v.as_str(), "1"));
                    a.setenvs.push((k.trim().to_string(), Template::parse(val)));
                }
                "msg" => a.msg = Some(Template::parse(&need("msg")?)),
                "logdata" => a.logdata = Some(Template::parse(&need("logdata")?)),
                "tag" => a.tags.push(need("tag")?),
                "severity" => {
                    let v = need("severity")?;
                    a.severity =
                        Some(severity_of(&v).ok_or_else(|| {
                            LoadError::new(origin, format!("bad severity {v:?}"))
                        })?);
                }
                "ver" => a.ver = Some(need("ver")?),
                "rev" | "maturity" | "accuracy" => {}
                "ctl" => a.ctls.push(parse_ctl(&need("ctl")?, origin)?),
                "skip" => {
                    let v = need("skip")?;
                    a.skip = Some(
                        v.trim()
                            .parse()
                            .map_err(|_| LoadError::new(origin, format!("bad skip {v:?}")))?,
                    );
                }
                "skipafter" => a.skip_after = Some(need("skipAfter")?.trim().to_string()),
                "log" => a.log = Some(true),
                "nolog" => a.log = Some(false),
                "auditlog"
                | "noauditlog"
                | "sanitisematched"
                | "sanitizematched"
                | "sanitisearg"
                | "sanitizearg"
                | "sanitisematchedbytes"
                | "sanitizematchedbytes"
                | "sanitiserequestheader"
                | "sanitizerequestheader" => {}
                // Persistent collections are not kept between requests (CRS 4 does not
                // need them); initcol/expirevar/deprecatevar are accepted and do nothing.
                "initcol" | "expirevar" | "deprecatevar" | "setsid" | "setuid" | "setrsc" => {}
                other => {
                    return Err(LoadError::new(
                        origin,
                        format!("unsupported action {other}"),
                    ))
                }
            }
        }
        Ok(a)
    }
}

fn parse_setvar(text: &str, origin: &Origin) -> Result<SetVar, LoadError> {
    let text = text.trim();
    let (delete, text) = match text.strip_prefix('!') {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    let (name, value) = match text.split_once('=') {
        Some((n, v)) => (n.trim(), Some(v)),
        None => (text, None),
    };
    let (collection, key) = name.split_once('.').ok_or_else(|| {
        LoadError::new(origin, format!("setvar {text:?}: expected collection.name"))
    })?;
    let op = if delete {
        SetVarOp::Delete
    } else {
        match value {
            None => SetVarOp::Set(Template::parse("1")),
            Some(v) => {
                if let Some(rest) = v.strip_prefix('+') {
                    SetVarOp::Add(Template::parse(rest))
                } else if let Some(rest) = v.strip_prefix('-') {
                    SetVarOp::Sub(Template::parse(rest))
                } else {
                    SetVarOp::Set(Template::parse(v))
                }
            }
        }
    };
    Ok(SetVar {
        collection: collection.trim().to_ascii_uppercase(),
        key: Template::parse(key.trim()),
        op,
    })
}

/// The rules a `ctl:ruleRemove…ByTag` names: those with a tag its pattern matches
/// (ModSecurity matches tags as regexes; an exact tag is by far the common use).
#[derive(Debug)]
pub struct TagSelector {
    pub regex: regex::Regex,
    /// The ids of the rules it names, worked out once the rule set is complete (see
    /// [`TagSelector::settle`]): a transaction asks for each rule it evaluates after the
    /// `ctl`, which is every request's case with CRS 941010.
    named: OnceLock<FxHashSet<u64>>,
}

impl TagSelector {
    /// Whether the rule with id `id` and tags `tags` is named.
    pub fn names(&self, id: u64, tags: &[String]) -> bool {
        match self.named.get() {
            // (ids are unique in a rule set; 0 is a chain's inner link, which has none)
            Some(ids) if id != 0 => ids.contains(&id),
            _ => tags.iter().any(|t| self.regex.is_match(t)),
        }
    }

    /// Records which of `rules` (id and tags) are named; later calls change nothing.
    pub fn settle<'r>(&self, rules: impl Iterator<Item = (u64, &'r [String])>) {
        self.named.get_or_init(|| {
            rules
                .filter(|&(id, tags)| id != 0 && tags.iter().any(|t| self.regex.is_match(t)))
                .map(|(id, _)| id)
                .collect()
        });
    }
}

fn tag_selector(text: &str, origin: &Origin) -> Result<Arc<TagSelector>, LoadError> {
    let regex = regex::Regex::new(&format!("^(?:{text})$"))
        .map_err(|e| LoadError::new(origin, format!("bad tag pattern {text:?}: {e}")))?;
    Ok(Arc::new(TagSelector {
        regex,
        named: OnceLock::new(),
    }))
}

pub fn parse_ctl(text: &str, origin: &Origin) -> Result<Ctl, LoadError> {
    let (name, value) = text
        .split_once('=')
        .ok_or_else(|| LoadError::new(origin, format!("ctl:{text}: expected name=value")))?;
    let value = value.trim();
    let on = |v: &str| matches!(v.to_ascii_lowercase().as_str(), "on" | "true" | "1");
    let by_target = |v: &str| -> Result<(String, Vec<Target>), LoadError> {
        let (what, targets) = v
            .split_once(';')
            .ok_or_else(|| LoadError::new(origin, format!("ctl:{text}: expected id;TARGET")))?;
        Ok((what.to_string(), parse_targets(targets, origin)?))
    };
    Ok(match name.trim().to_ascii_lowercase().as_str() {
        "ruleremovebyid" => Ctl::RuleRemoveById(
            IdRange::parse_list(value)
                .ok_or_else(|| LoadError::new(origin, format!("ctl:{text}: bad id list")))?,
        ),
        "ruleremovebytag" => Ctl::RuleRemoveByTag(tag_selector(value, origin)?),
        "ruleremovetargetbyid" => {
            let (ids, targets) = by_target(value)?;
            Ctl::RuleRemoveTargetById(
                IdRange::parse_list(&ids)
                    .ok_or_else(|| LoadError::new(origin, format!("ctl:{text}: bad id list")))?
                    .into(),
                targets.into(),
            )
        }
        "ruleremovetargetbytag" => {
            let (tag, targets) = by_target(value)?;
            Ctl::RuleRemoveTargetByTag(tag_selector(&tag, origin)?, targets.into())
        }
        "ruleengine" => Ctl::RuleEngine(
            EngineMode::parse(value)
                .ok_or_else(|| LoadError::new(origin, format!("ctl:{text}: bad engine mode")))?,
        ),
        "requestbodyprocessor" => Ctl::RequestBodyProcessor(value.to_ascii_uppercase()),
        "requestbodyaccess" => Ctl::RequestBodyAccess(on(value)),
        "responsebodyaccess" => Ctl::ResponseBodyAccess(on(value)),
        "forcerequestbodyvariable" => Ctl::ForceRequestBodyVariable(on(value)),
        "auditengine" | "auditlogparts" | "debugloglevel" | "requestbodylimit" | "hashengine"
        | "hashenforcement" | "parsexmlintoargs" => Ctl::Ignored,
        other => return Err(LoadError::new(origin, format!("unsupported ctl:{other}"))),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    fn o() -> Origin {
        Origin {
            file: PathBuf::from("t.conf"),
            line: 3,
        }
    }

    #[test]
    fn parses_a_crs_rule_action_list() {
        let a = Actions::parse(
            "id:942100,phase:2,block,capture,t:none,t:utf8toUnicode,t:urlDecodeUni,msg:'SQL Injection Attack Detected via libinjection',logdata:'Matched Data: %{TX.0} found within %{MATCHED_VAR_NAME}: %{MATCHED_VAR}',tag:'paranoia-level/1',ver:'OWASP_CRS/4.28.0',severity:'CRITICAL',setvar:'tx.sql_injection_score=+%{tx.critical_anomaly_score}',setvar:'tx.inbound_anomaly_score_pl1=+%{tx.critical_anomaly_score}',ctl:ruleRemoveTargetById=942100;ARGS:foo",
            &o(),
        )
        .unwrap();
        assert_eq!(a.id, Some(942100));
        assert_eq!(a.phase, Some(2));
        assert_eq!(a.disruptive, Some(Disruptive::Block));
        assert!(a.capture);
        assert_eq!(
            a.transforms,
            vec![
                Transform::None,
                Transform::Utf8ToUnicode,
                Transform::UrlDecodeUni
            ]
        );
        assert_eq!(a.severity, Some(2));
        assert_eq!(a.tags, vec!["paranoia-level/1"]);
        assert_eq!(a.setvars.len(), 2);
        assert!(matches!(a.setvars[0].op, SetVarOp::Add(_)));
        assert!(
            matches!(&a.ctls[0], Ctl::RuleRemoveTargetById(ids, t) if ids[0] == IdRange(942100, 942100) && t[0].describe() == "ARGS:foo")
        );
    }

    #[test]
    fn errors_name_the_problem() {
        assert_eq!(
            Actions::parse("id:1,t:rot13", &o())
                .unwrap_err()
                .to_string(),
            "t.conf:3: unknown transformation t:rot13"
        );
        assert_eq!(
            Actions::parse("id:1,explode", &o())
                .unwrap_err()
                .to_string(),
            "t.conf:3: unsupported action explode"
        );
    }
}
