//! Training the built-in classifier: data assembly, SGD logistic regression (seeded,
//! single-threaded, stable order: the same inputs and seed give bit-identical weights),
//! Platt calibration, threshold choice, metrics and the model card.
//!
//! Two passes: the first model is trained without fwaf's bad queries; it then picks, for
//! each bad query, the location (path, argument value or name) that carries the attack —
//! fwaf labels whole URLs, while Palisade scores locations one by one. The second pass
//! trains on everything.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::Instant;

use indicatif::{ProgressBar, ProgressStyle};
use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use crate::data::{self, build_samples, split_of, DataFile, Sample, Source, Split, Value};
use crate::features::{for_each_feature, normalize};
use crate::metrics::{compute, Metrics};
use crate::model::{sigmoid, Model};

#[derive(Debug, Clone)]
pub struct TrainConfig {
    /// Directory holding `fwaf/`, `PayloadsAllTheThings/`, `csic2010/`.
    pub data_root: PathBuf,
    pub seed: u64,
    /// Weight table of 2^bits entries.
    pub bits: u32,
    pub epochs: u32,
    /// At most this many records per source (an even spread), for quick runs and tests.
    pub limit: Option<usize>,
    /// How many benign values to generate.
    pub generated: usize,
    /// How many attack values of missing families to generate.
    pub crafted: usize,
    /// The threshold is the lowest probability whose calibration-split FPR is at most this.
    pub max_fpr: f64,
    pub progress: bool,
}

impl Default for TrainConfig {
    fn default() -> Self {
        TrainConfig {
            data_root: PathBuf::from("../shared/data"),
            seed: 20100,
            bits: 18,
            epochs: 6,
            limit: None,
            generated: 120_000,
            crafted: 3_000,
            max_fpr: 0.001,
            progress: false,
        }
    }
}

#[derive(Debug, Clone, Default)]
pub struct SourceCount {
    pub train: usize,
    pub validation: usize,
}

pub struct TrainReport {
    pub model: Model,
    /// Metrics on the test half of the validation split (never used for fitting).
    pub test: Metrics,
    /// Metrics on the calibration half (used for calibration and the threshold).
    pub calibration: Metrics,
    /// FPR and recall on the test half at the default block probability 0.99.
    pub test_at_block: Metrics,
    pub files: Vec<DataFile>,
    pub counts: Vec<(Source, SourceCount)>,
    pub fwaf_good_dropped: usize,
    pub conflicts: usize,
    pub seconds: f64,
    pub config: TrainConfig,
    /// The test half of the validation split: (normalized text, is attack, source).
    pub test_samples: Vec<(Vec<u8>, bool, Source)>,
}

#[derive(Debug, thiserror::Error)]
pub enum TrainError {
    #[error("reading training data: {0}")]
    Io(#[from] std::io::Error),
    #[error("no {0} samples in the training split (is the data directory right?)")]
    Empty(&'static str),
}

fn bar(progress: bool, len: u64, msg: &str) -> ProgressBar {
    if !progress {
        return ProgressBar::hidden();
    }
    let pb = ProgressBar::new(len);
    if let Ok(style) =
        ProgressStyle::with_template("{msg:>18} [{bar:40}] {pos}/{len} samples ({eta})")
    {
        pb.set_style(style.progress_chars("=> "));
    }
    pb.set_message(msg.to_string());
    pb
}

/// SGD on logistic loss with class-balanced weights and a linearly decaying step.
fn fit(samples: &[&Sample], cfg: &TrainConfig, phase: &str) -> Result<Model, TrainError> {
    let pos = samples.iter().filter(|s| s.attack).count();
    let neg = samples.len() - pos;
    if pos == 0 {
        return Err(TrainError::Empty("attack"));
    }
    if neg == 0 {
        return Err(TrainError::Empty("benign"));
    }
    let total = samples.len() as f32;
    let w_pos = total / (2.0 * pos as f32);
    let w_neg = total / (2.0 * neg as f32);
    let mut model = Model::zeros(cfg.bits);
    let mut order: Vec<usize> = (0..samples.len()).collect();
    let steps = (cfg.epochs as u64) * samples.len() as u64;
    let pb = bar(cfg.progress, steps, phase);
    let mut feats: Vec<u32> = Vec::with_capacity(4096);
    let mut step = 0u64;
    for epoch in 0..cfg.epochs {
        let mut rng =
            ChaCha8Rng::seed_from_u64(cfg.seed ^ (epoch as u64 + 1).wrapping_mul(0x9e37_79b9));
        order.shuffle(&mut rng);
        for &i in &order {
            let s = samples[i];
            feats.clear();
            let n = for_each_feature(&s.text, cfg.bits, |f| feats.push(f));
            let scale = 1.0 / (n.max(1) as f32).sqrt();
            let mut z = model.bias;
            for &f in &feats {
                z += model.weights[f as usize] * scale;
            }
            let y = if s.attack { 1.0 } else { 0.0 };
            let cw = if s.attack { w_pos } else { w_neg };
            let lr = 0.5 * (1.0 - step as f32 / steps as f32) + 0.01;
            let g = (sigmoid(z) - y) * cw * lr;
            for &f in &feats {
                model.weights[f as usize] -= g * scale;
            }
            model.bias -= g * 0.05;
            step += 1;
            if step.is_multiple_of(4096) {
                pb.set_position(step);
            }
        }
    }
    pb.finish_and_clear();
    Ok(model)
}

/// Fits `p = sigmoid(a * margin + b)` by damped Newton steps on log loss with Platt's
/// smoothed targets.
pub fn platt(scored: &[(f32, bool)]) -> (f32, f32) {
    let pos = scored.iter().filter(|s| s.1).count() as f64;
    let neg = scored.len() as f64 - pos;
    let t_pos = (pos + 1.0) / (pos + 2.0);
    let t_neg = 1.0 / (neg + 2.0);
    let loss = |a: f64, b: f64| -> f64 {
        scored
            .iter()
            .map(|&(z, y)| {
                let t = if y { t_pos } else { t_neg };
                let x = a * z as f64 + b;
                // log(1 + e^x) - t x, computed stably
                let softplus = if x > 0.0 {
                    x + (-x).exp().ln_1p()
                } else {
                    x.exp().ln_1p()
                };
                softplus - t * x
            })
            .sum()
    };
    let (mut a, mut b) = (1.0f64, 0.0f64);
    let mut current = loss(a, b);
    for _ in 0..100 {
        let (mut ga, mut gb, mut haa, mut hab, mut hbb) = (0.0, 0.0, 1e-9, 0.0, 1e-9);
        for &(z, y) in scored {
            let z = z as f64;
            let t = if y { t_pos } else { t_neg };
            let p = 1.0 / (1.0 + (-(a * z + b)).exp());
            let d = p - t;
            let w = p * (1.0 - p);
            ga += d * z;
            gb += d;
            haa += w * z * z;
            hab += w * z;
            hbb += w;
        }
        let det = haa * hbb - hab * hab;
        if det.abs() < 1e-12 {
            break;
        }
        let da = (hbb * ga - hab * gb) / det;
        let db = (haa * gb - hab * ga) / det;
        let mut step = 1.0;
        let mut improved = false;
        while step > 1e-6 {
            let (na, nb) = (a - step * da, b - step * db);
            let l = loss(na, nb);
            if l < current {
                a = na;
                b = nb;
                improved = current - l > 1e-9 * current.abs().max(1.0);
                current = l;
                break;
            }
            step /= 2.0;
        }
        if !improved {
            break;
        }
    }
    (a as f32, b as f32)
}

/// The lowest probability (0.5 at least) whose FPR on `scored` is at most `max_fpr`.
pub fn choose_threshold(scored: &[(f32, bool)], max_fpr: f64) -> f32 {
    let mut t = 0.5f32;
    while t < 0.999 {
        if compute(scored, t).fpr <= max_fpr {
            return t;
        }
        t += 0.005;
    }
    0.999
}

fn margins(model: &Model, samples: &[&Sample]) -> Vec<(f32, bool)> {
    samples
        .iter()
        .map(|s| (model.window_margin(&s.text), s.attack))
        .collect()
}

pub fn train(cfg: &TrainConfig) -> Result<TrainReport, TrainError> {
    let started = Instant::now();
    let root = &cfg.data_root;
    let (good, good_file, fwaf_good_dropped) = data::fwaf_good(root, cfg.limit)?;
    let (bad_lines, bad_file) = data::fwaf_bad(root, cfg.limit)?;
    let (payloads, payload_files) = data::payloads(root, cfg.limit)?;
    let (csic, csic_file) = data::csic(root, cfg.limit)?;
    let generated: Vec<Value> = crate::generate::benign_values(cfg.seed, cfg.generated)
        .into_iter()
        .map(|v| Value {
            source: Source::Generated,
            bytes: v.into_bytes(),
        })
        .collect();

    let crafted = crate::generate::attack_values(cfg.seed, cfg.crafted)
        .into_iter()
        .map(|v| Value {
            source: Source::Crafted,
            bytes: v.into_bytes(),
        });
    let mut values: Vec<Value> = Vec::new();
    values.extend(crafted);
    values.extend(good);
    values.extend(csic);
    values.extend(generated);
    values.extend(payloads);

    // Pass 1: without fwaf's bad queries, to locate the attack inside each of them.
    let (samples, _) = build_samples(&values);
    let train1: Vec<&Sample> = samples
        .iter()
        .filter(|s| split_of(&s.text, cfg.seed) == Split::Train)
        .collect();
    let first = fit(&train1, cfg, "pass 1 (locate)")?;
    for locs in &bad_lines {
        let best = locs
            .iter()
            .map(|l| (first.normalized_margin(&normalize(l)), l))
            .fold(None::<(f32, &Vec<u8>)>, |acc, (m, l)| match acc {
                Some((am, _)) if am >= m => acc,
                _ => Some((m, l)),
            });
        if let Some((_, l)) = best {
            values.push(Value {
                source: Source::FwafBad,
                bytes: l.clone(),
            });
        }
    }

    // Pass 2: everything.
    let (samples, conflicts) = build_samples(&values);
    let mut counts: Vec<(Source, SourceCount)> = [
        Source::FwafGood,
        Source::Csic,
        Source::Generated,
        Source::Payloads,
        Source::FwafBad,
        Source::Crafted,
    ]
    .into_iter()
    .map(|s| (s, SourceCount::default()))
    .collect();
    let (mut train_set, mut calib_set, mut test_set) = (Vec::new(), Vec::new(), Vec::new());
    for s in &samples {
        let split = split_of(&s.text, cfg.seed);
        if let Some((_, c)) = counts.iter_mut().find(|(src, _)| *src == s.source) {
            if split == Split::Train {
                c.train += 1;
            } else {
                c.validation += 1;
            }
        }
        match split {
            Split::Train => train_set.push(s),
            Split::Calibrate => calib_set.push(s),
            Split::Test => test_set.push(s),
        }
    }
    let mut model = fit(&train_set, cfg, "pass 2 (train)")?;
    let calib_margins = margins(&model, &calib_set);
    let (a, b) = platt(&calib_margins);
    model.platt_a = a;
    model.platt_b = b;
    let calib_probs: Vec<(f32, bool)> = calib_margins
        .iter()
        .map(|&(z, y)| (model.calibrate(z), y))
        .collect();
    model.threshold = choose_threshold(&calib_probs, cfg.max_fpr);
    let test_probs: Vec<(f32, bool)> = margins(&model, &test_set)
        .into_iter()
        .map(|(z, y)| (model.calibrate(z), y))
        .collect();
    let mut files = vec![bad_file, good_file, csic_file];
    files.extend(payload_files);
    Ok(TrainReport {
        test: compute(&test_probs, model.threshold),
        calibration: compute(&calib_probs, model.threshold),
        test_at_block: compute(&test_probs, 0.99),
        model,
        files,
        counts,
        fwaf_good_dropped,
        conflicts,
        seconds: started.elapsed().as_secs_f64(),
        config: cfg.clone(),
        test_samples: test_set
            .iter()
            .map(|s| (s.text.clone(), s.attack, s.source))
            .collect(),
    })
}

impl TrainReport {
    /// The model card, in Markdown.
    pub fn card(&self, command: &str) -> String {
        let c = &self.config;
        let m = &self.model;
        let mut s = String::new();
        let _ = writeln!(s, "# Palisade built-in classifier — model card\n");
        let _ = writeln!(s, "Reproduce: `{command}`\n");
        let _ = writeln!(s, "## Model\n");
        let _ = writeln!(
            s,
            "Logistic regression over hashed features (2^{} = {} f32 weights): byte 1–4-grams, \
collapsed character-shape 2–5-grams, word unigrams and bigrams, length and punctuation-share \
buckets, of each decoded request location (double URL-decoding, HTML entities, lowercase, \
whitespace runs, every digit as 0), scored in windows of {} bytes (stride {}), worst window wins. \
Platt-calibrated: p = sigmoid({:.5} × margin + {:.5}). Feature version {}.\n",
            m.bits,
            1u32 << m.bits,
            crate::features::WINDOW,
            crate::features::STRIDE,
            m.platt_a,
            m.platt_b,
            crate::features::FEATURE_VERSION
        );
        let _ = writeln!(s, "- `probability_catch` (default threshold): **{:.3}** — the lowest probability with FPR ≤ {} on the calibration split", m.threshold, c.max_fpr);
        let _ = writeln!(s, "- `probability_block` (config default): 0.99");
        let _ = writeln!(
            s,
            "- seed {}, {} epochs, record limit per source: {}",
            c.seed,
            c.epochs,
            c.limit.map_or("none".to_string(), |l| l.to_string())
        );
        let _ = writeln!(
            s,
            "- `model.bin` sha256: `{}`\n",
            data::sha256_hex(&m.to_bytes())
        );
        let _ = writeln!(
            s,
            "## Validation (held-out test half; per location sample)\n"
        );
        let _ = writeln!(
            s,
            "| split | n | attacks | threshold | precision | recall | F1 | ROC-AUC | FPR |"
        );
        let _ = writeln!(s, "|---|---|---|---|---|---|---|---|---|");
        for (name, x) in [
            ("test", &self.test),
            ("test @ block 0.99", &self.test_at_block),
            ("calibration", &self.calibration),
        ] {
            let _ = writeln!(
                s,
                "| {name} | {} | {} | {:.3} | {:.4} | {:.4} | {:.4} | {:.4} | {:.5} |",
                x.samples, x.attacks, x.threshold, x.precision, x.recall, x.f1, x.roc_auc, x.fpr
            );
        }
        let _ = writeln!(s, "\n## Data\n");
        let _ = writeln!(s, "Samples are normalized location windows, deduplicated; {} texts seen with both labels were dropped; {} fwaf good lines with attack markers were dropped (noisy labels). Split by a hash of the text: 84% train, 8% calibration, 8% test.\n", self.conflicts, self.fwaf_good_dropped);
        let _ = writeln!(s, "| source | label | train | validation |");
        let _ = writeln!(s, "|---|---|---|---|");
        for (src, n) in &self.counts {
            let _ = writeln!(
                s,
                "| {} | {} | {} | {} |",
                src.name(),
                if src.is_attack() { "attack" } else { "benign" },
                n.train,
                n.validation
            );
        }
        let _ = writeln!(
            s,
            "\nGenerated benign values: {} from seed {} (`palisade_ml::generate`).\n",
            c.generated, c.seed
        );
        let _ = writeln!(s, "| file (under the data root) | records | sha256 |");
        let _ = writeln!(s, "|---|---|---|");
        for f in &self.files {
            let shown = f.path.strip_prefix(&c.data_root).unwrap_or(&f.path);
            let _ = writeln!(
                s,
                "| {} | {} | `{}` |",
                shown.display(),
                f.records,
                f.sha256
            );
        }
        let _ = writeln!(s, "\nTraining took {:.1} s.", self.seconds);
        s
    }

    /// The test half as a JSONL request corpus (`palisade eval` input): each value is the
    /// `q` field of a form POST, labelled, with its source as the category. Lets the model
    /// and the signatures be compared on attacks neither was built from.
    pub fn test_corpus(&self) -> String {
        let mut out = String::new();
        for (text, attack, source) in &self.test_samples {
            let mut body = String::from("q=");
            for &b in text {
                if b.is_ascii_alphanumeric() {
                    body.push(b as char);
                } else {
                    let _ = write!(body, "%{b:02X}");
                }
            }
            let line = serde_json::json!({
                "method": "POST",
                "path": "/submit",
                "headers": {"Content-Type": "application/x-www-form-urlencoded"},
                "body": body,
                "label": if *attack { "attack" } else { "benign" },
                "category": source.name(),
            });
            out.push_str(&line.to_string());
            out.push('\n');
        }
        out
    }

    /// Writes `model.bin` and `MODEL_CARD.md` into `dir`.
    pub fn write(&self, dir: &Path, command: &str) -> std::io::Result<()> {
        self.model.save(dir)?;
        std::fs::write(dir.join("MODEL_CARD.md"), self.card(command))
    }
}
