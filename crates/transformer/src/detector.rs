//! The transformer classifier as an engine detector.
//!
//! **What is scored.** The same decoded locations as the built-in classifier
//! ([`palisade_ml::locations`]), grouped so that the cost stays bounded:
//!
//! 1. the path and query string, each percent-decoded once, as **one** text
//!    (`/search?q=1' union select …`, target `REQUEST_URI`) — the form URL data sets and
//!    fine-tuned URL classifiers use;
//! 2. each body field value (form, JSON leaf, XML, multipart text; `ARGS:name`) and each
//!    unusual field name (`ARGS_NAMES:name`), text upload names and contents, or the raw
//!    body when it has no parsed fields (`REQUEST_BODY`);
//! 3. cookie values and names, free-form header values (`User-Agent`, `Referer`, …).
//!
//! Values no injection can be written in (only letters, digits and `_-.,@`) are skipped,
//! as by the built-in model, so a plain `GET /products/42` costs no inference at all.
//! Identical texts are scored once. At most `max_texts` texts per request: beyond that, the
//! remaining ones are joined (one per line) into the last text, reported at the first of
//! them. Each text is truncated to `max_tokens` tokens. All texts of a request go to the
//! inference worker as one job, so they share forward passes with each other and with
//! concurrent requests.
//!
//! **Decision.** Per text, the highest probability of a non-benign class; the worst text
//! of the request becomes one finding `transformer:<label>` when it reaches `probability`
//! (`points` anomaly points), critical (blocks alone) at `probability_block`. The benign
//! class never produces a finding. A password-like field (`pass`, `pwd`, `secret`) never
//! blocks alone, as with the built-in model.

use palisade_engine::{Detector, Finding, Severity};
use palisade_http::{BodyKind, RequestModel};
use palisade_ml::detector::is_secret_place;
use palisade_ml::locations::{
    is_trivial, is_trivial_name, is_trivial_path, looks_like_text, Place,
};

use crate::batcher::Batcher;

/// How the classifier's output becomes a finding.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DetectorOptions {
    /// At or above: a finding worth `points` anomaly points.
    pub probability: f32,
    /// At or above: a critical finding (blocks alone at the default threshold); above 1:
    /// never alone.
    pub probability_block: f32,
    /// Points of a finding between `probability` and `probability_block`.
    pub points: u32,
    /// Report findings with zero points (logged, never decisive).
    pub log_only: bool,
    /// Most texts scored per request (the rest are joined into the last one).
    pub max_texts: usize,
}

impl Default for DetectorOptions {
    fn default() -> Self {
        DetectorOptions {
            probability: 0.9,
            probability_block: 0.99,
            points: 3,
            log_only: false,
            max_texts: 8,
        }
    }
}

/// One text to score and where it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Text {
    /// ModSecurity-style target (`REQUEST_URI`, `ARGS:q`, …).
    pub target: String,
    pub text: String,
    /// A password-like field: a finding there never blocks alone.
    pub secret: bool,
}

fn lossy(v: &[u8]) -> String {
    String::from_utf8_lossy(v).into_owned()
}

/// The texts the detector scores for `request`, in order (see the module documentation).
pub fn texts(request: &RequestModel, max_texts: usize) -> Vec<Text> {
    let mut out: Vec<Text> = Vec::new();
    let mut push = |place: Place<'_>, value: &[u8]| {
        out.push(Text {
            target: place.target_name(),
            text: lossy(value),
            secret: is_secret_place(&place),
        });
    };

    // 1. Path and query, decoded, as one text.
    let path = request.path_raw.as_bytes();
    let path_trivial = is_trivial_path(path);
    let query_trivial = request
        .args_get
        .iter()
        .all(|a| is_trivial_name(&a.name) && is_trivial(&a.value));
    let mut uri: Option<Text> = None;
    if !path_trivial
        || !query_trivial
        || (request.args_get.is_empty()
            && !request.query_raw.is_empty()
            && !is_trivial(request.query_raw.as_bytes()))
    {
        let mut text = palisade_http::urlencoded::percent_decode(path, false);
        if !request.query_raw.is_empty() {
            text.push(b'?');
            text.extend(palisade_http::urlencoded::percent_decode(
                request.query_raw.as_bytes(),
                true,
            ));
        }
        uri = Some(Text {
            target: "REQUEST_URI".to_string(),
            text: lossy(&text),
            secret: false,
        });
    }

    // 2. The body, and GraphQL documents' literals (query string or body).
    let body_args = request.body.as_ref().map_or(&[][..], |b| &b.args[..]);
    for a in body_args.iter().chain(&request.graphql_args) {
        if !is_trivial_name(&a.name) {
            push(Place::ArgName(&a.name), a.name.as_bytes());
        }
        if !is_trivial(&a.value) {
            push(Place::ArgValue(&a.name), &a.value);
        }
    }
    if let Some(body) = &request.body {
        for f in &body.files {
            if !is_trivial(f.filename.as_bytes()) {
                push(Place::FileName(&f.field), f.filename.as_bytes());
            }
            if looks_like_text(&f.content) && !is_trivial(&f.content) {
                push(Place::FileContent(&f.field), &f.content);
            }
        }
        let binary = request
            .mime_type()
            .is_some_and(|m| palisade_http::is_binary_media_type(&m));
        let raw_needed = matches!(body.kind, BodyKind::Raw | BodyKind::Xml | BodyKind::GraphQl)
            || !body.errors.is_empty();
        if raw_needed && !binary && !body.raw.is_empty() && !is_trivial(&body.raw) {
            push(Place::Body, &body.raw);
        }
    }

    // 3. Cookies and free-form headers.
    for c in &request.cookies {
        if !is_trivial_name(&c.name) {
            push(Place::CookieName(&c.name), c.name.as_bytes());
        }
        if !is_trivial(&c.value) {
            push(Place::CookieValue(&c.name), &c.value);
        }
    }
    for (name, value) in request.headers.iter() {
        if !palisade_http::is_structural_header(name) && !is_trivial(value) {
            push(Place::Header(name), value);
        }
    }

    let mut all: Vec<Text> = uri.into_iter().chain(out).collect();
    // Identical texts are scored once (the first place reports).
    let mut seen = std::collections::HashSet::new();
    all.retain(|t| seen.insert(t.text.clone()));
    let max = max_texts.max(1);
    if all.len() > max {
        let rest = all.split_off(max - 1);
        let secret = rest.iter().all(|t| t.secret);
        let target = rest[0].target.clone();
        let text = rest
            .into_iter()
            .map(|t| t.text)
            .collect::<Vec<_>>()
            .join("\n");
        all.push(Text {
            target,
            text,
            secret,
        });
    }
    all
}

/// The worst non-benign class of one text: (class, probability).
fn worst_class(probs: &[f32], benign: usize) -> Option<(usize, f32)> {
    probs
        .iter()
        .copied()
        .enumerate()
        .filter(|&(i, p)| i != benign && !p.is_nan())
        .max_by(|a, b| a.1.total_cmp(&b.1))
}

/// The transformer classifier as a [`Detector`]; it blocks on the inference worker.
pub struct TransformerDetector {
    batcher: Batcher,
    options: DetectorOptions,
}

impl TransformerDetector {
    pub fn new(batcher: Batcher, options: DetectorOptions) -> TransformerDetector {
        TransformerDetector { batcher, options }
    }

    pub fn batcher(&self) -> &Batcher {
        &self.batcher
    }

    pub fn options(&self) -> &DetectorOptions {
        &self.options
    }
}

struct Scored {
    index: usize,
    class: usize,
    probability: f32,
}

impl Detector for TransformerDetector {
    fn name(&self) -> &str {
        "transformer"
    }

    fn blocks(&self) -> bool {
        true
    }

    fn inspect_request(&self, request: &RequestModel, _paranoia: u8, out: &mut Vec<Finding>) {
        let mut texts = texts(request, self.options.max_texts);
        if texts.is_empty() {
            return;
        }
        let strings: Vec<String> = texts
            .iter_mut()
            .map(|t| std::mem::take(&mut t.text))
            .collect();
        let probs = match self.batcher.classify(strings.clone()) {
            Ok(p) => p,
            Err(e) => {
                tracing::error!("transformer classifier: {e}; request not scored by it");
                return;
            }
        };
        let benign = self.batcher.classifier().benign();
        let (mut all, mut open): (Option<Scored>, Option<Scored>) = (None, None);
        for (index, p) in probs.iter().enumerate() {
            let Some((class, probability)) = worst_class(p, benign) else {
                continue;
            };
            let s = || Scored {
                index,
                class,
                probability,
            };
            if all.as_ref().is_none_or(|w| probability > w.probability) {
                all = Some(s());
            }
            if !texts[index].secret && open.as_ref().is_none_or(|w| probability > w.probability) {
                open = Some(s());
            }
        }
        let o = &self.options;
        let (worst, severity, score) = match (all, open) {
            (_, Some(w)) if w.probability >= o.probability_block && !o.log_only => {
                (w, Severity::Critical, Severity::Critical.score())
            }
            (Some(w), _) if w.probability >= o.probability => {
                if o.log_only {
                    (w, Severity::Notice, 0)
                } else {
                    (w, Severity::Warning, o.points)
                }
            }
            _ => return,
        };
        let labels = self.batcher.classifier().labels();
        let label = labels.get(worst.class).map_or("?", String::as_str);
        let target = &texts[worst.index].target;
        let mut f = Finding::new(
            &format!("transformer:{label}"),
            "transformer",
            &format!(
                "transformer: {label} probability {:.3} at {target}",
                worst.probability
            ),
            "ml",
            severity,
            target,
            strings[worst.index].as_bytes(),
            1,
        );
        f.score = score;
        out.push(f);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use palisade_http::Headers;

    fn get(target: &str) -> RequestModel {
        let mut h = Headers::default();
        h.push("Host", b"shop.example".to_vec());
        RequestModel::from_head("GET", target, "HTTP/1.1", h)
    }

    #[test]
    fn trivial_requests_are_not_scored() {
        assert!(texts(&get("/products/42?page=2&sort=price"), 8).is_empty());
    }

    #[test]
    fn path_and_query_are_one_decoded_text() {
        let t = texts(&get("/search?q=1%27+union+select+password&page=2"), 8);
        assert_eq!(t.len(), 1);
        assert_eq!(t[0].target, "REQUEST_URI");
        assert_eq!(t[0].text, "/search?q=1' union select password&page=2");
    }

    #[test]
    fn body_fields_cookies_and_headers_are_separate_texts_capped_at_max_texts() {
        let mut h = Headers::default();
        h.push("Host", b"x".to_vec());
        h.push("User-Agent", b"Mozilla/5.0 (X11)".to_vec());
        h.push("Cookie", b"sid=abc123; pref=%7B%22a%22%3A1%7D".to_vec());
        h.push(
            "Content-Type",
            b"application/x-www-form-urlencoded".to_vec(),
        );
        let mut r = RequestModel::from_head("POST", "/login", "HTTP/1.1", h);
        r.attach_body(
            b"user=anna&password=x%27+or+%271&comment=hi+there%21&note=hi+there%21".to_vec(),
            false,
        );
        let t = texts(&r, 8);
        let got: Vec<(&str, &str, bool)> = t
            .iter()
            .map(|t| (t.target.as_str(), t.text.as_str(), t.secret))
            .collect();
        assert_eq!(
            got,
            vec![
                ("ARGS:password", "x' or '1", true),
                ("ARGS:comment", "hi there!", false),
                ("REQUEST_COOKIES:pref", "%7B%22a%22%3A1%7D", false),
                ("REQUEST_HEADERS:User-Agent", "Mozilla/5.0 (X11)", false),
            ]
        );
        let capped = texts(&r, 2);
        assert_eq!(capped.len(), 2);
        assert_eq!(capped[1].target, "ARGS:comment");
        assert_eq!(
            capped[1].text,
            "hi there!\n%7B%22a%22%3A1%7D\nMozilla/5.0 (X11)"
        );
        assert!(!capped[1].secret);
    }

    #[test]
    fn worst_class_skips_the_benign_class() {
        assert_eq!(worst_class(&[0.9, 0.06, 0.04], 0), Some((1, 0.06)));
        assert_eq!(worst_class(&[0.1, 0.9], 1), Some((0, 0.1)));
    }
}
