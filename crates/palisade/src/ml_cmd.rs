//! Machine-learned detection in Palisade: `[ml]` settings, flags, the detectors, and the
//! `train`, `eval` and `learn` commands.
//!
//! The built-in classifier ([`palisade_ml::MlDetector`]) is on by default with the model
//! compiled into the binary (`models/default/model.bin`); a learned endpoint profile
//! ([`palisade_ml::profile`]) is enforced when `[ml] profile` or `--profile` names one; a
//! Hugging Face BERT/DistilBERT sequence classifier ([`palisade_transformer`]) runs when
//! `[ml.transformer] model_dir` or `--model-dir` names one.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{anyhow, bail, Context, Result};
use clap::Args;
use palisade_engine::Detector;
use palisade_ml::profile::{self, Profile, ProfileDetector, ProfileOptions};
use palisade_ml::train::{train as run_training, TrainConfig};
use palisade_ml::{MlDetector, MlOptions, Model};
use serde::Deserialize;

use crate::config::Config;

/// `[ml]`: the built-in classifier and learning-mode profiles.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MlSettings {
    /// Run the classifier on every request.
    pub enabled: bool,
    /// Model directory (with `model.bin`) or file; unset: the model built into the binary.
    pub model: Option<PathBuf>,
    /// Probability at or above which the worst location becomes a finding worth
    /// `catch_points`; unset: the threshold tuned on validation data (in the model file).
    pub probability_catch: Option<f32>,
    /// Probability at or above which the finding is critical (blocks alone at the default
    /// inbound threshold). Above 1: the model never blocks alone.
    pub probability_block: f32,
    /// Anomaly points of a finding between the two probabilities.
    pub catch_points: u32,
    /// Report model findings with zero points (log only).
    pub log_only: bool,
    /// Learned endpoint profile to enforce (JSON written by `palisade learn`).
    pub profile: Option<PathBuf>,
    /// Report profile deviations with zero points (log only).
    pub profile_log_only: bool,
    /// `[ml.transformer]`: a bring-your-own Hugging Face sequence classifier.
    pub transformer: TransformerSettings,
}

/// `[ml.transformer]`: a BERT or DistilBERT sequence classifier directory (`config.json`,
/// `tokenizer.json`, `model.safetensors`) run with candle. Independent of `[ml] enabled`.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TransformerSettings {
    /// The model directory; unset: no transformer.
    pub model_dir: Option<PathBuf>,
    /// The benign class (label name or class id); unset: the label named benign, normal,
    /// safe, clean, legitimate, legit, good, valid or negative, else class 0 when the labels
    /// are `LABEL_0`, `LABEL_1`, …
    pub benign_label: Option<String>,
    /// Tokens per text (longer texts are truncated).
    pub max_tokens: usize,
    /// Highest non-benign class probability at or above which a finding worth `points`
    /// is reported.
    pub probability: f32,
    /// At or above: the finding is critical (blocks alone); above 1: never alone.
    pub probability_block: f32,
    /// Anomaly points of a finding between `probability` and `probability_block`.
    pub points: u32,
    /// Report findings with 0 points.
    pub log_only: bool,
    /// Most texts scored per request (the rest are joined into the last one).
    pub max_texts: usize,
    /// Most texts in one forward pass (across concurrent requests).
    pub max_batch: usize,
    /// How long the inference worker waits for more requests to batch, in microseconds.
    pub batch_wait_us: u64,
}

impl Default for TransformerSettings {
    fn default() -> Self {
        let m = palisade_transformer::ModelOptions::default();
        let d = palisade_transformer::DetectorOptions::default();
        let b = palisade_transformer::BatchOptions::default();
        TransformerSettings {
            model_dir: None,
            benign_label: m.benign_label,
            max_tokens: m.max_tokens,
            probability: d.probability,
            probability_block: d.probability_block,
            points: d.points,
            log_only: d.log_only,
            max_texts: d.max_texts,
            max_batch: b.max_batch,
            batch_wait_us: b.max_wait.as_micros() as u64,
        }
    }
}

impl Default for MlSettings {
    fn default() -> Self {
        MlSettings {
            enabled: true,
            model: None,
            probability_catch: None,
            probability_block: 0.99,
            catch_points: 3,
            log_only: false,
            profile: None,
            profile_log_only: false,
            transformer: TransformerSettings::default(),
        }
    }
}

/// Flags of `serve` and `check` that override `[ml]`.
#[derive(Args, Clone, Debug, Default)]
pub struct MlArgs {
    /// Do not run the built-in classifier.
    #[arg(long)]
    no_ml: bool,
    /// Classifier model directory (trained by `palisade train`) instead of the built-in one.
    #[arg(long, value_name = "DIR")]
    ml_model: Option<PathBuf>,
    /// Probability at which the classifier adds anomaly points.
    #[arg(long, value_name = "P")]
    ml_probability_catch: Option<f32>,
    /// Probability at which the classifier blocks alone (above 1: never alone).
    #[arg(long, value_name = "P")]
    ml_probability_block: Option<f32>,
    /// Log classifier findings without scoring them.
    #[arg(long)]
    ml_log_only: bool,
    /// Enforce a learned endpoint profile (from `palisade learn`).
    #[arg(long, value_name = "FILE")]
    profile: Option<PathBuf>,
    /// Also run a Hugging Face BERT/DistilBERT sequence classifier from DIR (config.json,
    /// tokenizer.json, model.safetensors).
    #[arg(long, value_name = "DIR")]
    model_dir: Option<PathBuf>,
    /// The transformer's benign label (name or class id).
    #[arg(long, value_name = "LABEL")]
    benign_label: Option<String>,
    /// Tokens per text scored by the transformer.
    #[arg(long, value_name = "N")]
    max_tokens: Option<usize>,
    /// Non-benign probability at which the transformer adds anomaly points.
    #[arg(long, value_name = "P")]
    transformer_probability: Option<f32>,
    /// Non-benign probability at which the transformer blocks alone (above 1: never alone).
    #[arg(long, value_name = "P")]
    transformer_probability_block: Option<f32>,
    /// Log transformer findings without scoring them.
    #[arg(long)]
    transformer_log_only: bool,
}

impl MlArgs {
    pub fn apply(&self, config: &mut Config) -> Result<()> {
        let ml = &mut config.ml;
        if self.no_ml {
            ml.enabled = false;
        }
        if self.ml_model.is_some() {
            ml.model = self.ml_model.clone();
        }
        if let Some(p) = self.ml_probability_catch {
            ml.probability_catch = Some(p);
        }
        if let Some(p) = self.ml_probability_block {
            ml.probability_block = p;
        }
        if self.ml_log_only {
            ml.log_only = true;
        }
        if self.profile.is_some() {
            ml.profile = self.profile.clone();
        }
        let t = &mut ml.transformer;
        if self.model_dir.is_some() {
            t.model_dir = self.model_dir.clone();
        }
        if self.benign_label.is_some() {
            t.benign_label = self.benign_label.clone();
        }
        if let Some(n) = self.max_tokens {
            t.max_tokens = n;
        }
        if let Some(p) = self.transformer_probability {
            t.probability = p;
        }
        if let Some(p) = self.transformer_probability_block {
            t.probability_block = p;
        }
        if self.transformer_log_only {
            t.log_only = true;
        }
        Ok(())
    }
}

fn check_probability(name: &str, p: f32, max: f32) -> Result<()> {
    if !(0.0..=max).contains(&p) || p.is_nan() {
        bail!("[ml] {name} must be between 0 and {max}, not {p}");
    }
    Ok(())
}

/// The configured classifier model (the built-in one unless `[ml] model` names a file).
pub fn load_model(settings: &MlSettings) -> Result<Model> {
    match &settings.model {
        Some(path) => Ok(Model::load(path)?),
        None => Ok(palisade_ml::default_model()?),
    }
}

fn ml_options(settings: &MlSettings, model: &Model) -> Result<MlOptions> {
    let mut o = MlOptions::for_model(model);
    if let Some(p) = settings.probability_catch {
        check_probability("probability_catch", p, 1.0)?;
        o.probability_catch = p;
    }
    check_probability("probability_block", settings.probability_block, f32::MAX)?;
    o.probability_block = settings.probability_block;
    o.catch_points = settings.catch_points;
    o.log_only = settings.log_only;
    Ok(o)
}

/// The `[ml.transformer]` detector, when a model directory is configured.
fn transformer_detector(settings: &TransformerSettings) -> Result<Option<Arc<dyn Detector>>> {
    let Some(dir) = &settings.model_dir else {
        return Ok(None);
    };
    check_probability("transformer.probability", settings.probability, 1.0)?;
    check_probability(
        "transformer.probability_block",
        settings.probability_block,
        f32::MAX,
    )?;
    if settings.max_texts == 0 || settings.max_batch == 0 {
        bail!("[ml.transformer] max_texts and max_batch must be at least 1");
    }
    let model = palisade_transformer::ModelOptions {
        benign_label: settings.benign_label.clone(),
        max_tokens: settings.max_tokens,
    };
    let batch = palisade_transformer::BatchOptions {
        max_batch: settings.max_batch,
        max_wait: Duration::from_micros(settings.batch_wait_us),
    };
    let options = palisade_transformer::DetectorOptions {
        probability: settings.probability,
        probability_block: settings.probability_block,
        points: settings.points,
        log_only: settings.log_only,
        max_texts: settings.max_texts,
    };
    let detector = palisade_transformer::load_detector(dir, &model, batch, options)
        .map_err(|e| anyhow!("transformer model: {e}"))?;
    let c = detector.batcher().classifier();
    tracing::info!(
        dir = %dir.display(),
        architecture = c.architecture().name(),
        parameters = c.parameters(),
        labels = ?c.labels(),
        benign = %c.labels()[c.benign()],
        max_tokens = c.max_tokens(),
        device = c.device_name(),
        probability = options.probability,
        probability_block = options.probability_block,
        "transformer classifier loaded"
    );
    Ok(Some(Arc::new(detector)))
}

pub fn detectors(config: &Config) -> Result<Vec<Arc<dyn Detector>>> {
    let settings = &config.ml;
    let mut out: Vec<Arc<dyn Detector>> = Vec::new();
    if settings.enabled {
        let model = load_model(settings)?;
        let options = ml_options(settings, &model)?;
        tracing::info!(
            probability_catch = options.probability_catch,
            probability_block = options.probability_block,
            log_only = options.log_only,
            "built-in classifier loaded"
        );
        out.push(Arc::new(MlDetector::new(Arc::new(model), options)));
    }
    if let Some(path) = &settings.profile {
        let profile = Profile::load(path)?;
        tracing::info!(
            endpoints = profile.endpoints.len(),
            "endpoint profile loaded"
        );
        let options = ProfileOptions {
            log_only: settings.profile_log_only,
            ..ProfileOptions::default()
        };
        out.push(Arc::new(ProfileDetector::new(profile, options)));
    }
    out.extend(transformer_detector(&settings.transformer)?);
    Ok(out)
}

/// Arguments of `palisade train`.
#[derive(Args, Debug)]
pub struct TrainArgs {
    /// Data root holding fwaf/, PayloadsAllTheThings/ and csic2010/.
    #[arg(long, value_name = "DIR", default_value = "../shared/data")]
    data: PathBuf,
    /// Output directory for model.bin and MODEL_CARD.md.
    #[arg(long, value_name = "DIR", default_value = "models/default")]
    out: PathBuf,
    #[arg(long, default_value_t = TrainConfig::default().seed)]
    seed: u64,
    #[arg(long, default_value_t = TrainConfig::default().epochs)]
    epochs: u32,
    /// Weight table size is 2^BITS.
    #[arg(long, default_value_t = TrainConfig::default().bits)]
    bits: u32,
    /// Use at most N records per data source (an even spread): a quick, documented subset.
    #[arg(long, value_name = "N")]
    limit: Option<usize>,
    /// Number of generated modern benign values.
    #[arg(long, default_value_t = TrainConfig::default().generated)]
    generated: usize,
    /// Number of generated attacks of families the data sets lack (Log4Shell, SSTI, ...).
    #[arg(long, default_value_t = TrainConfig::default().crafted)]
    crafted: usize,
    /// Choose the threshold as the lowest probability with at most this validation FPR.
    #[arg(long, default_value_t = TrainConfig::default().max_fpr)]
    max_fpr: f64,
    /// Also write the held-out test split as a JSONL request corpus (for `palisade eval`).
    #[arg(long, value_name = "FILE")]
    export_test: Option<PathBuf>,
    /// No progress bar.
    #[arg(long)]
    quiet: bool,
}

pub fn train(args: TrainArgs) -> Result<ExitCode> {
    if !(10..=24).contains(&args.bits) {
        bail!("--bits must be 10..=24");
    }
    let cfg = TrainConfig {
        data_root: args.data.clone(),
        seed: args.seed,
        bits: args.bits,
        epochs: args.epochs,
        limit: args.limit,
        generated: args.generated,
        crafted: args.crafted,
        max_fpr: args.max_fpr,
        progress: !args.quiet,
    };
    let report = run_training(&cfg)?;
    let mut command = format!(
        "palisade train --data {} --out {} --seed {} --epochs {} --bits {} --generated {} --crafted {} --max-fpr {}",
        args.data.display(),
        args.out.display(),
        args.seed,
        args.epochs,
        args.bits,
        args.generated,
        args.crafted,
        args.max_fpr
    );
    if let Some(l) = args.limit {
        command.push_str(&format!(" --limit {l}"));
    }
    report
        .write(&args.out, &command)
        .with_context(|| format!("writing the model to {}", args.out.display()))?;
    if let Some(path) = &args.export_test {
        std::fs::write(path, report.test_corpus())
            .with_context(|| format!("writing {}", path.display()))?;
        println!("wrote the test split to {}", path.display());
    }
    println!(
        "trained in {:.1} s; wrote {}/model.bin and MODEL_CARD.md",
        report.seconds,
        args.out.display()
    );
    for (src, n) in &report.counts {
        println!(
            "  {:<22} train {:>7}  validation {:>6}",
            src.name(),
            n.train,
            n.validation
        );
    }
    println!("validation (test half):  {}", report.test);
    println!("at probability 0.99:     {}", report.test_at_block);
    println!("calibration half:        {}", report.calibration);
    Ok(ExitCode::SUCCESS)
}

/// Arguments of `palisade eval`.
#[derive(Args, Debug)]
pub struct EvalArgs {
    /// Labelled data: `.jsonl` request corpora (`label` per line), or text files with one
    /// `LABEL<TAB>TEXT` per line (LABEL: attack/1/malicious or benign/0/normal), or plain
    /// lines with `--label`.
    #[arg(required = true)]
    files: Vec<PathBuf>,
    /// Model directory; default: the built-in model.
    #[arg(long, value_name = "DIR")]
    model: Option<PathBuf>,
    /// Label for every line of plain text files.
    #[arg(long)]
    label: Option<String>,
    /// Threshold; default: the model's probability_catch.
    #[arg(long, value_name = "P")]
    threshold: Option<f32>,
    /// Configuration for the signature comparison on JSONL corpora.
    #[arg(long, short = 'c')]
    config: Option<PathBuf>,
    /// List misclassified items (`fp`, `fn`, or `fp,fn`).
    #[arg(long, default_value = "")]
    show: String,
}

fn parse_label(s: &str) -> Option<bool> {
    match s.trim().to_ascii_lowercase().as_str() {
        "attack" | "malicious" | "bad" | "1" | "anomalous" => Some(true),
        "benign" | "normal" | "good" | "0" => Some(false),
        _ => None,
    }
}

/// Scores one text line: URL-like lines (`/path?query`) location by location, the worst
/// one counting, as the detector does; anything else as one value.
fn score_line(model: &Model, line: &[u8]) -> f32 {
    if line.first() == Some(&b'/') {
        let locs = palisade_ml::data::url_locations(line);
        if locs.is_empty() {
            return 0.0;
        }
        return locs
            .iter()
            .map(|l| model.probability(l))
            .fold(0.0, f32::max);
    }
    model.probability(line)
}

pub fn eval(args: EvalArgs) -> Result<ExitCode> {
    let model = match &args.model {
        Some(p) => Model::load(p)?,
        None => palisade_ml::default_model()?,
    };
    let threshold = args.threshold.unwrap_or(model.threshold);
    check_probability("--threshold", threshold, 1.0)?;
    let fixed = match &args.label {
        Some(l) => Some(parse_label(l).ok_or_else(|| anyhow!("--label: unknown label {l:?}"))?),
        None => None,
    };
    let mut all: Vec<(f32, bool)> = Vec::new();
    for file in &args.files {
        let scored = if file.extension().is_some_and(|e| e == "jsonl") {
            eval_corpus(&model, file, threshold, &args)?
        } else {
            let bytes =
                std::fs::read(file).with_context(|| format!("reading {}", file.display()))?;
            let mut scored = Vec::new();
            for (i, raw) in bytes.split(|&b| b == b'\n').enumerate() {
                let line = raw.strip_suffix(b"\r").unwrap_or(raw);
                if line.iter().all(u8::is_ascii_whitespace) {
                    continue;
                }
                let (label, text) = match fixed {
                    Some(l) => (l, line),
                    None => {
                        let tab = line.iter().position(|&b| b == b'\t').ok_or_else(|| {
                            anyhow!(
                                "{}:{}: expected LABEL<TAB>TEXT (or pass --label)",
                                file.display(),
                                i + 1
                            )
                        })?;
                        let l = parse_label(&String::from_utf8_lossy(&line[..tab])).ok_or_else(
                            || anyhow!("{}:{}: unknown label", file.display(), i + 1),
                        )?;
                        (l, &line[tab + 1..])
                    }
                };
                let p = score_line(&model, text);
                show_miss(
                    &args.show,
                    label,
                    p >= threshold,
                    p,
                    &String::from_utf8_lossy(text),
                );
                scored.push((p, label));
            }
            let m = palisade_ml::metrics::compute(&scored, threshold);
            println!("{}: model: {m}", file.display());
            scored
        };
        all.extend(scored);
    }
    if args.files.len() > 1 {
        println!(
            "all files: model: {}",
            palisade_ml::metrics::compute(&all, threshold)
        );
    }
    Ok(ExitCode::SUCCESS)
}

fn show_miss(show: &str, attack: bool, flagged: bool, p: f32, what: &str) {
    let kind = match (attack, flagged) {
        (true, false) => "fn",
        (false, true) => "fp",
        _ => return,
    };
    if show.contains(kind) {
        println!(
            "{} p={p:.3} {}",
            kind.to_uppercase(),
            what.chars().take(160).collect::<String>()
        );
    }
}

/// Scores a JSONL request corpus with the model alone, and compares the engine's blocking
/// decisions with signatures alone against signatures plus the model.
fn eval_corpus(
    model: &Model,
    file: &Path,
    threshold: f32,
    args: &EvalArgs,
) -> Result<Vec<(f32, bool)>> {
    let entries = crate::corpus::load(file)?;
    let mut config = Config::load(args.config.as_deref())?;
    config.ml.profile = None;
    config.ml.enabled = false;
    let signatures = crate::detectors::build_engine(&config)?;
    config.ml.enabled = true;
    if let Some(m) = &args.model {
        config.ml.model = Some(m.clone());
    }
    let combined = crate::detectors::build_engine(&config)?;
    let mut scored = Vec::new();
    let (mut sig, mut comb) = ([0usize; 2], [0usize; 2]); // blocked [benign, attack]
    let mut n = [0usize; 2];
    for (i, e) in entries.iter().enumerate() {
        let req = e
            .to_model()
            .with_context(|| format!("{}: entry {}", file.display(), i + 1))?;
        let attack = e.is_attack();
        let worst = palisade_ml::detector::worst_location(model, &req);
        let p = worst.as_ref().map_or(0.0, |w| w.probability);
        if let Some(w) = &worst {
            show_miss(
                &args.show,
                attack,
                p >= threshold,
                p,
                &format!("{} {} {} @ {}", e.category, e.method, e.path, w.target),
            );
        } else {
            show_miss(
                &args.show,
                attack,
                false,
                p,
                &format!("{} {} {}", e.category, e.method, e.path),
            );
        }
        scored.push((p, attack));
        let k = usize::from(attack);
        n[k] += 1;
        sig[k] += usize::from(signatures.inspect_request(&req).over_threshold);
        comb[k] += usize::from(combined.inspect_request(&req).over_threshold);
    }
    let rate = |a: usize, b: usize| if b == 0 { 0.0 } else { a as f64 / b as f64 };
    println!(
        "{}: model alone: {}",
        file.display(),
        palisade_ml::metrics::compute(&scored, threshold)
    );
    println!(
        "{}: signatures alone:  TPR {:.4} ({}/{})  FPR {:.4} ({}/{})",
        file.display(),
        rate(sig[1], n[1]),
        sig[1],
        n[1],
        rate(sig[0], n[0]),
        sig[0],
        n[0]
    );
    println!(
        "{}: signatures+model:  TPR {:.4} ({}/{})  FPR {:.4} ({}/{})",
        file.display(),
        rate(comb[1], n[1]),
        comb[1],
        n[1],
        rate(comb[0], n[0]),
        comb[0],
        n[0]
    );
    Ok(scored)
}

/// Arguments of `palisade learn`.
#[derive(Args, Debug)]
pub struct LearnArgs {
    /// Normal traffic: raw HTTP logs in the CSIC 2010 format, or `.jsonl` requests.
    #[arg(required = true)]
    inputs: Vec<PathBuf>,
    /// Where to write the profile (JSON).
    #[arg(long, value_name = "FILE")]
    out: PathBuf,
    /// Hold out this share of the requests (chosen by a hash of their position): learn on the rest, then report the
    /// false-positive rate on the held-out normal requests and the detection rate on attacks
    /// crafted against the learned parameters.
    #[arg(long, value_name = "FRACTION")]
    holdout: Option<f64>,
}

pub fn learn(args: LearnArgs) -> Result<ExitCode> {
    let mut requests = Vec::new();
    for input in &args.inputs {
        requests.extend(load_requests(input)?);
    }
    if requests.is_empty() {
        bail!("no requests in {:?}", args.inputs);
    }
    let (learn_set, held) = match args.holdout {
        Some(f) if f > 0.0 && f < 1.0 => profile::split_holdout(requests, f),
        Some(f) => bail!("--holdout must be between 0 and 1, not {f}"),
        None => (requests, Vec::new()),
    };
    let prof = Profile::learn(&learn_set);
    prof.save(&args.out)
        .with_context(|| format!("writing {}", args.out.display()))?;
    println!(
        "learned {} endpoints from {} requests; wrote {}",
        prof.endpoints.len(),
        learn_set.len(),
        args.out.display()
    );
    if !held.is_empty() {
        let report = profile::measure(&prof, &held, &ProfileOptions::default());
        println!("{report}");
    }
    Ok(ExitCode::SUCCESS)
}

/// Requests from a CSIC-format raw log or a JSONL corpus.
fn load_requests(path: &Path) -> Result<Vec<palisade_http::RequestModel>> {
    if path.extension().is_some_and(|e| e == "jsonl") {
        crate::corpus::load(path)?
            .iter()
            .enumerate()
            .map(|(i, e)| {
                e.to_model()
                    .with_context(|| format!("{}: entry {}", path.display(), i + 1))
            })
            .collect()
    } else {
        let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
        let (reqs, skipped) = palisade_ml::csic::parse(&String::from_utf8_lossy(&bytes));
        if skipped > 0 {
            tracing::warn!(
                skipped,
                "{}: malformed header lines skipped",
                path.display()
            );
        }
        Ok(reqs)
    }
}
