//! The built-in classifier as an engine detector: scores every location, reports the worst
//! one, and turns its calibrated probability into anomaly points by the configured policy.

use std::collections::hash_map::Entry;
use std::collections::HashMap;
use std::sync::Arc;

use palisade_engine::value_cache::ValueCache;
use palisade_engine::{Detector, Finding, Severity};
use palisade_http::RequestModel;

use crate::features::{normalize_in, normalizes_by_case_and_digits};
use crate::locations::{for_each_location_in, is_long_prose, BodyArgValue, Place};
use crate::model::Model;

/// How the classifier's probability becomes a finding.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MlOptions {
    /// At or above: a finding worth `catch_points` anomaly points (adds to rule findings).
    pub probability_catch: f32,
    /// At or above: a critical finding (5 points: blocks alone at the default threshold).
    /// Above 1 disables blocking on the model alone.
    pub probability_block: f32,
    /// Points of a finding between `probability_catch` and `probability_block`.
    pub catch_points: u32,
    /// Report findings with zero points: logged, never decisive.
    pub log_only: bool,
}

impl MlOptions {
    pub fn for_model(model: &Model) -> MlOptions {
        MlOptions {
            probability_catch: model.threshold,
            probability_block: 0.99,
            catch_points: 3,
            log_only: false,
        }
    }
}

/// The worst location of a request.
#[derive(Debug, Clone)]
pub struct Worst {
    pub target: String,
    pub probability: f32,
    pub value: Vec<u8>,
}

pub struct MlDetector {
    model: Arc<Model>,
    options: MlOptions,
    /// Margins of values seen on earlier requests.
    memory: Memory,
}

/// Margins remembered across requests: a margin depends only on the model and the bytes,
/// and each detector (one model) owns its memory, so a reload starts empty.
#[derive(Default)]
pub struct Memory {
    /// By header value: browsers repeat the same lines on every request.
    headers: ValueCache<f32>,
    /// By normalized value, for short values at places that hold no credential: clients
    /// send the same product names, statuses and search words again and again, and the
    /// model scores each distinct one for ~4.5k instructions (a 140-item order scores 7).
    /// Secrets (password, token, key or session fields, cookies) are never kept, not even
    /// normalized.
    normalized: ValueCache<f32>,
}

/// Normalized values longer than this are not remembered across requests: they are
/// rarely sent again byte for byte.
const MAX_REMEMBERED_NORMALIZED: usize = 128;

/// Whether a value at `place` may be kept in [`Memory::normalized`].
fn may_remember(place: &Place<'_>) -> bool {
    match place {
        Place::ArgValue(name) => {
            !is_secret_place(place) && !palisade_http::is_credential_header(name)
        }
        Place::CookieValue(_) => false,
        Place::Header(name) => !palisade_http::is_credential_header(name),
        _ => true,
    }
}

impl MlDetector {
    pub fn new(model: Arc<Model>, options: MlOptions) -> MlDetector {
        MlDetector {
            model,
            options,
            memory: Memory::default(),
        }
    }

    pub fn model(&self) -> &Model {
        &self.model
    }

    /// The location with the highest attack probability (None when nothing was scored).
    pub fn worst(&self, request: &RequestModel) -> Option<Worst> {
        worst_location(&self.model, request)
    }
}

/// Password fields hold arbitrary symbols by design (`x' or 'y` is a valid password), so a
/// model finding there never blocks alone: it can only add `catch_points`.
pub fn is_secret_place(place: &Place<'_>) -> bool {
    let name = match place {
        Place::ArgValue(n) | Place::CookieValue(n) => n,
        _ => return false,
    };
    // One pass, looking further only at a `p` or an `s` (this runs for most scored values).
    let name = name.as_bytes();
    let at = |i: usize, word: &[u8]| {
        name.get(i..i + word.len())
            .is_some_and(|w| w.eq_ignore_ascii_case(word))
    };
    (0..name.len()).any(|i| match name[i] | 0x20 {
        b'p' => at(i, b"pass") || at(i, b"pwd"),
        b's' => at(i, b"secret"),
        _ => false,
    })
}

/// Margin recorded for a value that is not scored ([`is_long_prose`]): such a value is
/// no location's worst.
const NOT_SCORED: f32 = f32::NEG_INFINITY;

/// The worst location among all, and among those that may block alone (not secrets).
pub fn worst_locations(model: &Model, request: &RequestModel) -> (Option<Worst>, Option<Worst>) {
    worst_locations_remembering(model, request, None)
}

/// [`worst_locations`], taking margins from (and adding them to) `memory` when given: a
/// margin depends only on the model and the bytes.
pub fn worst_locations_remembering(
    model: &Model,
    request: &RequestModel,
    memory: Option<&Memory>,
) -> (Option<Worst>, Option<Worst>) {
    let headers = memory.map(|m| &m.headers);
    let mut all: Option<(f32, Place<'_>, &[u8])> = None;
    let mut open: Option<(f32, Place<'_>, &[u8])> = None;
    // Repeated values (JSON arrays of similar items, repeated headers) are scored once; the
    // map hashes with a random key, so crafted values cannot collide into one bucket.
    // Sized for every argument up front: growing it rehashes every value seen so far.
    let values = request.args_get.len() + request.body.as_ref().map_or(0, |b| b.args.len());
    let mut seen: HashMap<&[u8], f32, foldhash::fast::RandomState> =
        HashMap::with_capacity_and_hasher(values.min(1024), Default::default());
    // Then by normalized value: values differing only in case or digits (`model 17`,
    // `model 42`: digits are all `0` once normalized) are one normalized value.
    let mut seen_normalized: HashMap<Box<[u8]>, f32, foldhash::fast::RandomState> =
        HashMap::default();
    // the normalized value, when it differs from the value
    let mut scratch = Vec::new();
    // Body arguments named alike (`items.0.name`, `items.1.name`: one chain per name, see
    // `Arg::name_repeats`) mostly hold the same value, or values differing in digits
    // (`model 17`, `model 18`), which normalize alike: each is compared with the last
    // scored value of its chain instead of hashed, normalized and hashed again (a 140-item
    // order: ~50k instructions).
    let body_args = request.body.as_ref().map_or(&[][..], |b| &b.args[..]);
    let mut scored: Vec<ArgScore> = Vec::new();
    for_each_location_in(request, |place, value, arg| {
        let mut margin = UNKNOWN;
        if let Some(BodyArgValue { index, first }) = arg {
            if scored.is_empty() {
                scored = vec![ArgScore::default(); body_args.len()];
            }
            let last = first
                .and_then(|f| scored.get(f))
                .map_or(NO_ARG, |s| s.chain_last) as usize;
            if let Some(prev) = body_args.get(last) {
                let alike = match differs_only_in_digits(value, &prev.value) {
                    Some(false) => true,
                    // (the same byte classes: one answer for the whole chain)
                    Some(true) => *scored[last]
                        .simple
                        .get_or_insert_with(|| normalizes_by_case_and_digits(&prev.value)),
                    None => false,
                };
                if alike {
                    margin = scored[last].margin;
                    scored[index].simple = scored[last].simple;
                }
            }
        }
        if margin.is_nan() {
            margin = match seen.entry(value) {
                Entry::Occupied(e) => *e.get(),
                Entry::Vacant(e) => {
                    let cache = headers.filter(|_| matches!(place, Place::Header(_)));
                    let m = match cache.and_then(|c| c.get(value)) {
                        Some(m) => m,
                        // (prose is recognized without normalizing it when it can be)
                        None if is_long_prose(value) => {
                            if let Some(c) = cache {
                                c.insert(value, NOT_SCORED);
                            }
                            NOT_SCORED
                        }
                        None => {
                            let norm = normalize_in(value, &mut scratch);
                            let m = match seen_normalized.get(norm) {
                                Some(&m) => m,
                                None if is_long_prose(norm) => NOT_SCORED,
                                None => {
                                    let shared = memory
                                        .map(|m| &m.normalized)
                                        .filter(|_| norm.len() <= MAX_REMEMBERED_NORMALIZED)
                                        .filter(|_| may_remember(&place));
                                    let m = match shared.and_then(|c| c.get(norm)) {
                                        Some(m) => m,
                                        None => {
                                            let m = model.normalized_margin(norm);
                                            if let Some(c) = shared {
                                                c.insert(norm, m);
                                            }
                                            m
                                        }
                                    };
                                    seen_normalized.insert(norm.into(), m);
                                    m
                                }
                            };
                            if let Some(c) = cache {
                                c.insert(value, m);
                            }
                            m
                        }
                    };
                    e.insert(m);
                    m
                }
            };
        }
        if let Some(BodyArgValue { index, first }) = arg {
            scored[index].margin = margin;
            // (a chain's first argument names no earlier one: it heads its own chain)
            if let Some(head) = scored.get_mut(first.unwrap_or(index)) {
                head.chain_last = index as u32;
            }
        }
        if margin == NOT_SCORED {
            return;
        }
        if all.is_none_or(|(m, _, _)| margin > m) {
            all = Some((margin, place, value));
        }
        if open.is_none_or(|(m, _, _)| margin > m) && !is_secret_place(&place) {
            open = Some((margin, place, value));
        }
    });
    let worst = |w: Option<(f32, Place<'_>, &[u8])>| {
        w.map(|(margin, place, value)| Worst {
            target: place.target_name(),
            probability: model.calibrate(margin),
            value: value.to_vec(),
        })
    };
    (worst(all), worst(open))
}

/// A body argument's margin not known yet.
const UNKNOWN: f32 = f32::NAN;
/// No argument scored yet in a chain.
const NO_ARG: u32 = u32::MAX;

/// What [`worst_locations_remembering`] keeps per body argument.
#[derive(Clone, Copy)]
struct ArgScore {
    /// Its value's margin, once scored.
    margin: f32,
    /// Whether normalizing its value is lowercasing and digits as `0` at most, once known.
    simple: Option<bool>,
    /// For a chain's first argument: the last argument of the chain that was scored.
    chain_last: u32,
}

impl Default for ArgScore {
    fn default() -> Self {
        ArgScore {
            margin: UNKNOWN,
            simple: None,
            chain_last: NO_ARG,
        }
    }
}

/// How `value` differs from `prev`: None when in length or in a byte that is not a digit
/// in both, `Some(false)` when not at all, `Some(true)` when only in digits. The model
/// scores values alike in the last two cases when normalizing them is lowercasing and
/// writing digits as `0` (then both normalize to the same bytes, and [`is_long_prose`],
/// which reads byte classes, says the same of both; digits in an escape, `%41` or
/// `&#60;`, are not digits after decoding). Eight bytes at a time: the values compared are
/// mostly the same but for a digit or two.
fn differs_only_in_digits(value: &[u8], prev: &[u8]) -> Option<bool> {
    if value.len() != prev.len() {
        return None;
    }
    // Sixteen bytes at a time where SSE2 is there (every x86-64): ~280 comparisons per
    // 140-item order, ~100 instructions each eight bytes at a time.
    #[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
    // SAFETY: the build targets SSE2 (checked by the cfg above).
    return unsafe { digits_sse2::differs_only_in_digits(value, prev) };
    #[cfg(not(all(target_arch = "x86_64", target_feature = "sse2")))]
    differs_only_in_digits_scalar(value, prev)
}

/// [`differs_only_in_digits`] on values of one length, eight bytes at a time.
#[cfg_attr(all(target_arch = "x86_64", target_feature = "sse2"), allow(dead_code))]
fn differs_only_in_digits_scalar(value: &[u8], prev: &[u8]) -> Option<bool> {
    let word = |c: &[u8]| u64::from_ne_bytes(c.try_into().unwrap_or([0; 8]));
    let bytes_alike = |a: &[u8], b: &[u8]| {
        a.iter()
            .zip(b)
            .all(|(&x, &y)| x == y || (x.is_ascii_digit() && y.is_ascii_digit()))
    };
    let mut differ = false;
    let (chunks, rest) = (value.chunks_exact(8), prev.chunks_exact(8));
    let (value_rest, prev_rest) = (chunks.remainder(), rest.remainder());
    for (a, b) in chunks.zip(rest) {
        if word(a) != word(b) {
            if !bytes_alike(a, b) {
                return None;
            }
            differ = true;
        }
    }
    if value_rest != prev_rest {
        if !bytes_alike(value_rest, prev_rest) {
            return None;
        }
        differ = true;
    }
    Some(differ)
}

#[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
mod digits_sse2 {
    use std::arch::x86_64::{
        __m128i, _mm_and_si128, _mm_cmpeq_epi8, _mm_loadu_si128, _mm_movemask_epi8, _mm_or_si128,
    };

    use palisade_http::byte_classes::within;

    /// [`super::differs_only_in_digits`] on values of one length: blocks of sixteen bytes,
    /// the last one overlapping the one before when the length is no multiple of 16
    /// (comparing a pair twice changes nothing); values shorter than 16 bytes are copied
    /// into zeroed blocks, whose padding is equal in both.
    #[target_feature(enable = "sse2")]
    pub(super) fn differs_only_in_digits(value: &[u8], prev: &[u8]) -> Option<bool> {
        let n = value.len();
        if n < 16 {
            let (mut a, mut b) = ([0u8; 16], [0u8; 16]);
            a[..n].copy_from_slice(value);
            b[..n].copy_from_slice(&prev[..n]);
            return compare(&a, &b);
        }
        let mut differ = false;
        let mut at = 0;
        loop {
            let (a, b) = (value.get(at..at + 16)?, prev.get(at..at + 16)?);
            differ |= compare(a.try_into().ok()?, b.try_into().ok()?)?;
            if at + 16 == n {
                return Some(differ);
            }
            at = (at + 16).min(n - 16);
        }
    }

    /// One block: None when a pair differs and is not two digits, else whether any differs.
    #[inline]
    #[target_feature(enable = "sse2")]
    fn compare(a: &[u8; 16], b: &[u8; 16]) -> Option<bool> {
        // SAFETY: unaligned loads of exactly the 16 bytes of each array.
        let (va, vb): (__m128i, __m128i) = unsafe {
            (
                _mm_loadu_si128(a.as_ptr().cast()),
                _mm_loadu_si128(b.as_ptr().cast()),
            )
        };
        let same = _mm_cmpeq_epi8(va, vb);
        if _mm_movemask_epi8(same) == 0xffff {
            return Some(false);
        }
        let digits = _mm_and_si128(within(va, b'0', b'9'), within(vb, b'0', b'9'));
        (_mm_movemask_epi8(_mm_or_si128(same, digits)) == 0xffff).then_some(true)
    }
}

/// Scores each location of `request` separately and returns the worst one.
pub fn worst_location(model: &Model, request: &RequestModel) -> Option<Worst> {
    worst_locations(model, request).0
}

impl Detector for MlDetector {
    fn name(&self) -> &str {
        "ml"
    }

    fn inspect_request(&self, request: &RequestModel, _paranoia: u8, out: &mut Vec<Finding>) {
        let o = &self.options;
        let (all, open) = worst_locations_remembering(&self.model, request, Some(&self.memory));
        // The benign class never produces a finding: only the attack probability is compared.
        let (worst, severity, score) = match (all, open) {
            (_, Some(w)) if w.probability >= o.probability_block && !o.log_only => {
                (w, Severity::Critical, Severity::Critical.score())
            }
            (Some(w), _) if w.probability >= o.probability_catch => {
                if o.log_only {
                    (w, Severity::Notice, 0)
                } else {
                    (w, Severity::Warning, o.catch_points)
                }
            }
            _ => return,
        };
        let mut f = Finding::new(
            "ml:builtin",
            "ml",
            &format!(
                "classifier: attack probability {:.3} at {}",
                worst.probability, worst.target
            ),
            "ml",
            severity,
            &worst.target,
            &worst.value,
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

    /// The straightforward definition [`differs_only_in_digits`] implements.
    fn differs_only_in_digits_reference(value: &[u8], prev: &[u8]) -> Option<bool> {
        if value.len() != prev.len() {
            return None;
        }
        let mut differ = false;
        for (&x, &y) in value.iter().zip(prev) {
            if x != y {
                if !(x.is_ascii_digit() && y.is_ascii_digit()) {
                    return None;
                }
                differ = true;
            }
        }
        Some(differ)
    }

    #[test]
    fn digit_only_differences_agree_with_the_definition() {
        // Values from a small alphabet around the digit range's edges (`/`, `:`), bytes
        // from 0x80 up (negative to signed comparisons), lengths across the block sizes;
        // the second value is the first with a few bytes changed, often into digits.
        let alphabet = b"0123456789/:aZ -\x80\xff\x00";
        let mut seed: u64 = 0x2545_f491_4f6c_dd1d;
        let mut next = |n: usize| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            (seed % n as u64) as usize
        };
        let (mut alike, mut digits) = (0, 0);
        for _ in 0..100_000 {
            let len = next(70);
            let value: Vec<u8> = (0..len).map(|_| alphabet[next(alphabet.len())]).collect();
            let mut prev = value.clone();
            for _ in 0..next(4) {
                if len > 0 {
                    let at = next(len);
                    prev[at] = if next(3) == 0 {
                        alphabet[next(alphabet.len())]
                    } else {
                        b'0' + next(10) as u8
                    };
                }
            }
            if next(50) == 0 {
                prev.push(b'1');
            }
            let want = differs_only_in_digits_reference(&value, &prev);
            assert_eq!(
                super::differs_only_in_digits(&value, &prev),
                want,
                "{value:?} / {prev:?}"
            );
            assert_eq!(
                super::differs_only_in_digits_scalar(&value, &prev[..len.min(prev.len())]),
                differs_only_in_digits_reference(&value, &prev[..len.min(prev.len())])
            );
            alike += usize::from(want == Some(false));
            digits += usize::from(want == Some(true));
        }
        // every outcome was exercised
        assert!(alike > 1_000 && digits > 1_000, "{alike} {digits}");
    }

    #[test]
    fn secret_places_are_argument_or_cookie_names_with_a_secret_word_in_any_case() {
        assert!(is_secret_place(&Place::ArgValue("user.Password")));
        assert!(is_secret_place(&Place::ArgValue("new_PWD")));
        assert!(is_secret_place(&Place::CookieValue("client_secret")));
        assert!(!is_secret_place(&Place::ArgValue("comment")));
        assert!(!is_secret_place(&Place::ArgValue("pas")));
        assert!(is_secret_place(&Place::ArgValue("PASS")));
        assert!(is_secret_place(&Place::ArgValue("x.sEcReT")));
        assert!(is_secret_place(&Place::CookieValue("pwd")));
        assert!(!is_secret_place(&Place::ArgValue("secre")));
        assert!(!is_secret_place(&Place::ArgValue("spw.d")));
        assert!(!is_secret_place(&Place::ArgName("password")));
    }

    fn form(body: &str) -> RequestModel {
        let mut h = Headers::default();
        h.push(
            "Content-Type",
            b"application/x-www-form-urlencoded".to_vec(),
        );
        let mut r = RequestModel::from_head("POST", "/login", "HTTP/1.1", h);
        r.attach_body(body.as_bytes().to_vec(), false);
        r
    }

    fn json(body: &str) -> RequestModel {
        let mut h = Headers::default();
        h.push("Content-Type", b"application/json".to_vec());
        let mut r = RequestModel::from_head("POST", "/api/orders", "HTTP/1.1", h);
        r.attach_body(body.as_bytes().to_vec(), false);
        r
    }

    /// A worst location as (target, probability, value).
    type Scored = Option<(String, f32, Vec<u8>)>;

    /// The worst locations with every location scored on its own, nothing remembered.
    fn worst_scored_one_by_one(model: &Model, request: &RequestModel) -> (Scored, Scored) {
        let mut all: Option<(f32, String, Vec<u8>)> = None;
        let mut open: Option<(f32, String, Vec<u8>)> = None;
        crate::locations::for_each_location(request, |place, value| {
            let norm = crate::features::normalize(value);
            let margin = if is_long_prose(value) || is_long_prose(&norm) {
                return;
            } else {
                model.normalized_margin(&norm)
            };
            if all.as_ref().is_none_or(|(m, _, _)| margin > *m) {
                all = Some((margin, place.target_name(), value.to_vec()));
            }
            if open.as_ref().is_none_or(|(m, _, _)| margin > *m) && !is_secret_place(&place) {
                open = Some((margin, place.target_name(), value.to_vec()));
            }
        });
        let out = |w: Option<(f32, String, Vec<u8>)>| {
            w.map(|(m, target, value)| (target, model.calibrate(m), value))
        };
        (out(all), out(open))
    }

    #[test]
    fn values_named_alike_are_scored_as_if_each_were_scored_alone() {
        let model = crate::default_model().expect("built-in model");
        // Items whose values repeat, differ in digits (also in length), differ in digits
        // inside escapes (`%3C` is `<`, `%4C` an `L`: not alike once decoded), and an
        // attack among look-alikes, in either order.
        let fields = [
            ["Trail running shoe model 7", "Trail running shoe model 8"],
            ["Trail running shoe model 9", "Trail running shoe model 10"],
            [
                "x%4Cscript%4Ealert(1)%4C/script%4E",
                "x%3Cscript%3Ealert(1)%3C/script%3E",
            ],
            [
                "x%3Cscript%3Ealert(1)%3C/script%3E",
                "x%4Cscript%4Ealert(1)%4C/script%4E",
            ],
            ["select 1 from users", "select 2 from users"],
            ["1 union select 2", "1 union select 3"],
            ["&#65;bc 12", "&#60;bc 12"],
            ["Please ring twice", "Please ring twice"],
            ["1 or 1=1 -- x", "1 or a=1 -- x"],
        ];
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        let mut next = |n: u64| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed % n
        };
        for round in 0..120 {
            // all fields, or one (then the worst is among its values: a margin taken over
            // from the wrong value shows in which value is the worst)
            let one = (round % 2 == 1).then(|| next(fields.len() as u64) as usize);
            let mut items = Vec::new();
            for _ in 0..(2 + next(6)) {
                let mut item = Vec::new();
                for (k, pair) in fields.iter().enumerate() {
                    if one.is_some_and(|one| one != k) || (one.is_none() && next(3) == 0) {
                        continue;
                    }
                    let v = pair[next(2) as usize];
                    let name = if k % 2 == 0 { "name" } else { "note" };
                    item.push(format!("\"{name}{k}\":{}", serde_json::json!(v)));
                }
                items.push(format!("{{{}}}", item.join(",")));
            }
            let body = format!("{{\"items\":[{}]}}", items.join(","));
            let request = json(&body);
            let (all, open) = worst_locations(&model, &request);
            let got = |w: Option<Worst>| w.map(|w| (w.target, w.probability, w.value));
            assert_eq!(
                (got(all), got(open)),
                worst_scored_one_by_one(&model, &request),
                "{body}"
            );
        }
    }

    fn findings(d: &MlDetector, r: &RequestModel) -> Vec<Finding> {
        let mut out = Vec::new();
        d.inspect_request(r, 1, &mut out);
        out
    }

    #[test]
    fn reports_the_worst_location_and_never_blocks_alone_on_a_password() {
        let model = Arc::new(crate::default_model().expect("built-in model"));
        let d = MlDetector::new(model.clone(), MlOptions::for_model(&model));
        let payload = "1%27+AND+1%3D0+UNION+SELECT+username%2C+password+FROM+users--";
        let f = findings(&d, &form(&format!("user=anna&q={payload}")));
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].target, "ARGS:q");
        assert_eq!(f[0].severity, Severity::Critical);
        let f = findings(&d, &form(&format!("user=anna&password={payload}")));
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].target, "ARGS:password");
        assert_eq!(f[0].score, 3);
        assert!(findings(&d, &form("user=anna&q=trail+running+shoes")).is_empty());
    }

    #[test]
    fn long_plain_prose_is_not_scored_and_anything_more_is() {
        let model = crate::default_model().expect("built-in model");
        let sentence =
            "Hello+team%2C+I+would+like+to+change+the+delivery+address+for+my+last+order.+";
        let prose = sentence.repeat(20);
        assert!(worst_location(&model, &form(&format!("message={prose}"))).is_none());
        // the same paragraph with a short value beside it: that value is the worst
        let w = worst_location(
            &model,
            &form(&format!("message={prose}&subject=New+address")),
        );
        assert_eq!(w.map(|w| w.target).as_deref(), Some("ARGS:subject"));
        // any byte outside plain prose (an apostrophe, markup, a quote) makes it scored
        for extra in ["I%27d", "%3Cb%3E", "%22"] {
            let body = format!("message={prose}{extra}");
            let w = worst_location(&model, &form(&body));
            assert_eq!(
                w.map(|w| w.target).as_deref(),
                Some("ARGS:message"),
                "{extra}"
            );
        }
        // and so is a long token of prose bytes (an encrypted cookie, unpadded base64;
        // shorter ones are trivial values, never scored)
        let token = "jx4i".repeat(40);
        let w = worst_location(
            &model,
            &form(&format!("message={prose}&rememberMe={token}")),
        );
        assert_eq!(w.map(|w| w.target).as_deref(), Some("ARGS:rememberMe"));
        // and so is short prose: keyword-only SQL is short
        let w = worst_location(&model, &form("q=1+union+all+select+1%2C2%2C3"));
        assert_eq!(w.map(|w| w.target).as_deref(), Some("ARGS:q"));
        // the same value in a header is skipped too, also when remembered
        let d = MlDetector::new(Arc::new(model.clone()), MlOptions::for_model(&model));
        let mut h = Headers::default();
        let note = sentence.repeat(3).replace('+', " ").replace("%2C", ",");
        h.push("X-Note", note.into_bytes());
        let req = RequestModel::from_head("GET", "/", "HTTP/1.1", h);
        for _ in 0..2 {
            let (all, _) = worst_locations_remembering(&model, &req, Some(&d.memory));
            assert!(all.is_none());
        }
        assert_eq!(d.memory.headers.len(), 1);
    }

    #[test]
    fn remembered_header_scores_are_the_scores() {
        let model = Arc::new(crate::default_model().expect("built-in model"));
        let d = MlDetector::new(model.clone(), MlOptions::for_model(&model));
        let req = |ua: &str| {
            let mut h = Headers::default();
            h.push("User-Agent", ua.as_bytes().to_vec());
            RequestModel::from_head("GET", "/", "HTTP/1.1", h)
        };
        let attack = "() { :; }; /bin/bash -c 'cat /etc/passwd'";
        let benign = "Mozilla/5.0 (X11; Linux x86_64) Firefox/120.0";
        let first = findings(&d, &req(attack));
        assert_eq!(first.len(), 1, "the model should flag {attack:?}");
        for _ in 0..3 {
            assert!(findings(&d, &req(benign)).is_empty());
            let again = findings(&d, &req(attack));
            assert_eq!(again.len(), 1);
            assert_eq!(again[0].message, first[0].message);
        }
        assert_eq!(d.memory.headers.len(), 2);
    }

    /// Margins remembered by normalized value across requests are the margins computed
    /// afresh, for attacks and benign values alike; credential fields and cookies are
    /// never remembered.
    #[test]
    fn remembered_value_margins_are_the_margins_and_keep_no_secret() {
        let model = crate::default_model().expect("built-in model");
        let memory = Memory::default();
        let bodies = [
            "q=trail+running+shoes&color=blue",
            "q=1%27+union+select+password+from+users--&color=red",
            "name=%3Cscript%3Ealert(1)%3C%2Fscript%3E&color=blue",
            "q=Trail+Running+Shoes+42&color=Blue",
        ];
        for _ in 0..3 {
            for body in bodies {
                let fresh = worst_locations(&model, &form(body));
                let remembered = worst_locations_remembering(&model, &form(body), Some(&memory));
                for (a, b) in [(fresh.0, remembered.0), (fresh.1, remembered.1)] {
                    let (a, b) = (a.expect("scored"), b.expect("scored"));
                    assert_eq!(a.target, b.target, "{body}");
                    assert_eq!(a.probability.to_bits(), b.probability.to_bits(), "{body}");
                }
            }
        }
        // (digits normalize to `0` and case folds: the last body's values are the first's)
        let kept = memory.normalized.len();
        assert!(kept >= 3, "{kept} values remembered");
        let mut h = Headers::default();
        h.push("Cookie", b"session_theme=midnight+blue+sky".to_vec());
        h.push(
            "Content-Type",
            b"application/x-www-form-urlencoded".to_vec(),
        );
        let mut r = RequestModel::from_head("POST", "/login", "HTTP/1.1", h);
        r.attach_body(
            b"password=correct+horse+battery&api_token=zz9+plural+z+alpha&user_pwd=hunter2+x"
                .to_vec(),
            false,
        );
        worst_locations_remembering(&model, &r, Some(&memory));
        assert_eq!(memory.normalized.len(), kept, "a secret was remembered");
    }
}
