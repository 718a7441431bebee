//! The rule set as a Palisade detector: each request runs through phases 1–2 (and text
//! responses through 3–4); every CRS attack rule that matches becomes a [`Finding`] with
//! the rule's id, message, severity (hence anomaly score), target and paranoia level. The
//! policy then sums the scores, so CRS's anomaly-scoring model decides as it does in
//! ModSecurity, with Palisade's exclusions and modes on top.

use std::borrow::Cow;
use std::sync::Arc;

use palisade_engine::{Detector, Finding, ResponseModel, Severity};
use palisade_http::RequestModel;

use crate::ruleset::PhaseGroup;
use crate::transaction::{Response, RuleMatch, SavedRequest, Transaction};

/// A request's transaction after phases 1–2, kept on the request (its `stash`) for the
/// response phases: they then start where the request left off instead of running
/// phase 1 again.
struct ForResponse {
    /// The rule set it ran on ([`RuleSet::serial`]): after a reload, the response runs
    /// phase 1 afresh.
    rules: u64,
    paranoia: u8,
    saved: SavedRequest,
}

const STASH_KEY: &str = "crs";
use crate::RuleSet;

pub struct CrsDetector {
    rules: Arc<RuleSet>,
    /// Rules above the blocking level but at or below this one are reported with score 0
    /// (CRS's "detection paranoia level"); 0 = same as the blocking level.
    detection_paranoia: u8,
    inspect_responses: bool,
}

impl CrsDetector {
    pub fn new(
        rules: Arc<RuleSet>,
        detection_paranoia: u8,
        inspect_responses: bool,
    ) -> CrsDetector {
        // Build the prefilter that requests at the default blocking level (1) use now,
        // not in the first request; other levels are built when a route first needs one.
        let level = usize::from(detection_paranoia.clamp(1, 4));
        let _ = rules.prefilter(level);
        let _ = rules.phase_prefilter(level, PhaseGroup::RequestHead);
        if inspect_responses {
            let _ = rules.phase_prefilter(level, PhaseGroup::Response);
        }
        let detector = CrsDetector {
            rules,
            detection_paranoia,
            inspect_responses,
        };
        // likewise the folded request-independent rules (see `transaction::fold`)
        let request = RequestModel::from_head("GET", "/", "HTTP/1.1", Default::default());
        let mut tx = Transaction::new(&detector.rules, &request, &[]);
        detector.prepare(&mut tx, 1);
        tx.plan_folds();
        detector
    }

    fn prepare<'a>(&self, tx: &mut Transaction<'a>, paranoia: u8) {
        let blocking = paranoia.clamp(1, 4);
        let detection = self.detection_paranoia.max(blocking).min(4);
        tx.set_tx("blocking_paranoia_level", &blocking.to_string());
        tx.set_tx("detection_paranoia_level", &detection.to_string());
        // (findings come from logged matches alone: see `report`)
        tx.set_silent_matches_kept(false);
    }

    fn report(&self, matches: &[RuleMatch], blocking: u8, out: &mut Vec<Finding>) {
        for m in matches {
            let Some(finding) = finding_of(m, blocking) else {
                continue;
            };
            out.push(finding);
        }
    }
}

/// CRS rules that only evaluate or report scores (blocking evaluation, correlation) are not
/// findings of their own.
fn is_bookkeeping(id: u64) -> bool {
    matches!(id / 1000, 949 | 959 | 980) || (900_000..=901_999).contains(&id)
}

fn finding_of(m: &RuleMatch, blocking: u8) -> Option<Finding> {
    if !m.logged || is_bookkeeping(m.id) {
        return None;
    }
    let severity = match m.severity? {
        0..=2 => Severity::Critical,
        3 => Severity::Error,
        4 => Severity::Warning,
        5 => Severity::Notice,
        _ => return None,
    };
    let category = m
        .tags
        .iter()
        .find_map(|t| t.strip_prefix("attack-"))
        .unwrap_or("protocol")
        .to_string();
    let paranoia = m.paranoia.unwrap_or(1);
    let mut f = Finding::new(
        &m.id.to_string(),
        "crs",
        &m.msg,
        &category,
        severity,
        &m.target,
        &m.value,
        paranoia,
    );
    if paranoia > blocking {
        // detection-only paranoia level: logged, not scored
        f.score = 0;
    }
    Some(f)
}

impl Detector for CrsDetector {
    fn name(&self) -> &str {
        "crs"
    }

    fn inspect_request(&self, request: &RequestModel, paranoia: u8, out: &mut Vec<Finding>) {
        let raw_body: &[u8] = request.body.as_ref().map_or(&[], |b| &b.raw[..]);
        let mut tx = Transaction::new(&self.rules, request, raw_body);
        self.prepare(&mut tx, paranoia);
        tx.process_request();
        self.report(&tx.matches, paranoia, out);
        // An interrupted transaction has no response phases; with the engine `On` in a
        // user's file the proxy may still forward (detect mode), and the response is then
        // inspected from a fresh phase 1 as before.
        if self.inspect_responses && tx.interruption.is_none() {
            let saved = tx.save_for_response();
            request.stash.put(
                STASH_KEY,
                Box::new(ForResponse {
                    rules: self.rules.serial,
                    paranoia,
                    saved,
                }),
            );
        }
    }

    // (the response phases resume the request's transaction, whose ARGS and FILES read
    // the parsed body)
    fn reads_request_body_with_response(&self) -> bool {
        self.inspect_responses
    }

    fn inspect_response(
        &self,
        request: &RequestModel,
        response: &ResponseModel,
        paranoia: u8,
        out: &mut Vec<Finding>,
    ) {
        if !self.inspect_responses {
            return;
        }
        let resp = Response {
            status: response.status,
            protocol: "HTTP/1.1".into(),
            headers: Cow::Borrowed(&response.headers.0),
            body: Cow::Borrowed(&response.body),
        };
        let kept = request
            .stash
            .take(STASH_KEY)
            .and_then(|b| b.downcast::<ForResponse>().ok())
            .filter(|k| k.rules == self.rules.serial && k.rules != 0 && k.paranoia == paranoia);
        let mut tx = match kept {
            Some(k) => {
                let mut tx = Transaction::resume_for_response(&self.rules, request, k.saved);
                tx.set_silent_matches_kept(false);
                tx
            }
            None => {
                // A request not inspected by this rule set: phase 1 sets up CRS's TX
                // settings (its findings are the request's, not reported here).
                let mut tx = Transaction::new(&self.rules, request, &[]);
                self.prepare(&mut tx, paranoia);
                tx.run_phase(1);
                tx
            }
        };
        let before = tx.matches.len();
        tx.set_response(&resp);
        tx.process_response();
        self.report(&tx.matches[before..], paranoia, out);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn detector(inspect_responses: bool) -> CrsDetector {
        // a response-phase rule that reads the request's body arguments
        let rules = RuleSet::from_text(
            "SecRequestBodyAccess On\n\
             SecRule ARGS_POST:token \"@streq leak\" \"id:7,phase:3,deny,severity:CRITICAL,msg:'x'\"\n",
            std::path::Path::new("response-args.conf"),
        )
        .expect("rules load");
        CrsDetector::new(Arc::new(rules), 0, inspect_responses)
    }

    #[test]
    fn response_phases_read_the_request_body_as_in_modsecurity_so_it_is_kept() {
        let with_responses = detector(true);
        assert!(with_responses.reads_request_body_with_response());
        assert!(!detector(false).reads_request_body_with_response());
        // the rule fires only if the body's arguments are still there with the response
        let mut headers = palisade_http::Headers::default();
        headers.push(
            "Content-Type",
            b"application/x-www-form-urlencoded".to_vec(),
        );
        let mut request = RequestModel::from_head("POST", "/p", "HTTP/1.1", headers);
        request.attach_body(b"token=leak".to_vec(), false);
        let response = ResponseModel {
            status: 200,
            headers: Default::default(),
            content_type: "text/plain".into(),
            body: b"ok".to_vec(),
        };
        let ids = |request: &RequestModel| {
            let mut out = Vec::new();
            with_responses.inspect_request(request, 1, &mut out);
            with_responses.inspect_response(request, &response, 1, &mut out);
            out.into_iter().map(|f| f.id).collect::<Vec<_>>()
        };
        assert_eq!(ids(&request), vec!["7".to_string()]);
        request.release_parsed_body();
        assert_eq!(ids(&request), Vec::<String>::new());
    }

    /// The response phases resume the request's transaction only on the rule set that ran
    /// it: after a reload (another set, even of the same text) they start from phase 1,
    /// without what the old set's phase 2 wrote.
    #[test]
    fn responses_resume_only_on_the_rule_set_that_ran_the_request() {
        let load = || {
            let rules = RuleSet::from_text(
                "SecAction \"id:1,phase:2,pass,nolog,setvar:tx.seen_in_phase_2=1\"\n\
                 SecRule TX:seen_in_phase_2 \"@eq 1\" \"id:9,phase:3,pass,severity:CRITICAL,msg:'resumed'\"\n",
                std::path::Path::new("resume.conf"),
            )
            .expect("rules load");
            CrsDetector::new(Arc::new(rules), 0, true)
        };
        let (before, after) = (load(), load());
        let response = ResponseModel {
            status: 200,
            headers: Default::default(),
            content_type: "text/plain".into(),
            body: b"ok".to_vec(),
        };
        let ids = |requested: &CrsDetector, responded: &CrsDetector| {
            let request = RequestModel::from_head("GET", "/", "HTTP/1.1", Default::default());
            let mut out = Vec::new();
            requested.inspect_request(&request, 1, &mut out);
            out.clear();
            responded.inspect_response(&request, &response, 1, &mut out);
            out.into_iter().map(|f| f.id).collect::<Vec<_>>()
        };
        assert_eq!(ids(&before, &before), ["9"]);
        assert_eq!(ids(&before, &after), Vec::<String>::new());
        assert_eq!(ids(&after, &after), ["9"]);
    }
}
