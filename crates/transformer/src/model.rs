//! Loading a Hugging Face sequence classifier and running it.
//!
//! A model directory holds `config.json` (architecture, sizes, `id2label`),
//! `tokenizer.json` (a fast tokenizer, e.g. WordPiece for BERT) and `model.safetensors`
//! (or shards listed in `model.safetensors.index.json`). Only JSON and safetensors are read:
//! pickle checkpoints (`pytorch_model.bin`, `*.pt`, ...) can execute code when loaded and
//! are refused. Every error names the file it is about.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use candle_core::{DType, Device, Module, Tensor};
use candle_nn::{Linear, VarBuilder};
use candle_transformers::models::{bert, distilbert};
use serde_json::Value;
use tokenizers::{Tokenizer, TruncationParams};

/// A model directory that cannot be used; `path` is the file (or directory) at fault.
#[derive(Debug, thiserror::Error)]
#[error("{}: {message}", path.display())]
pub struct LoadError {
    pub path: PathBuf,
    pub message: String,
}

impl LoadError {
    fn new(path: &Path, message: impl Into<String>) -> LoadError {
        LoadError {
            path: path.to_path_buf(),
            message: message.into(),
        }
    }
}

/// Label names that mark the benign class when `benign_label` is not set (compared without
/// case). See [`pick_benign`].
pub const BENIGN_NAMES: &[&str] = &[
    "benign",
    "normal",
    "safe",
    "clean",
    "legitimate",
    "legit",
    "good",
    "valid",
    "negative",
];

/// How a model directory is loaded.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelOptions {
    /// The benign class: a label name (any case) or a class id. Unset: see [`pick_benign`].
    pub benign_label: Option<String>,
    /// Tokens per text, `[CLS]` and `[SEP]` included; longer texts are truncated.
    pub max_tokens: usize,
}

impl Default for ModelOptions {
    fn default() -> Self {
        ModelOptions {
            benign_label: None,
            max_tokens: 256,
        }
    }
}

/// The supported encoder families.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Architecture {
    /// `BertForSequenceClassification`: encoder, tanh pooler on `[CLS]`, linear classifier.
    Bert,
    /// `DistilBertForSequenceClassification`: encoder, `pre_classifier` + ReLU on `[CLS]`,
    /// linear classifier.
    DistilBert,
}

impl Architecture {
    pub fn name(self) -> &'static str {
        match self {
            Architecture::Bert => "bert",
            Architecture::DistilBert => "distilbert",
        }
    }
}

enum Net {
    Bert {
        encoder: bert::BertModel,
        pooler: Linear,
        classifier: Linear,
    },
    DistilBert {
        encoder: distilbert::DistilBertModel,
        pre_classifier: Linear,
        classifier: Linear,
    },
}

/// A loaded sequence classifier: tokenizer, encoder and head.
pub struct Classifier {
    net: Net,
    tokenizer: Tokenizer,
    labels: Vec<String>,
    benign: usize,
    multi_label: bool,
    max_tokens: usize,
    pad_id: u32,
    device: Device,
    architecture: Architecture,
    parameters: usize,
}

impl std::fmt::Debug for Classifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Classifier")
            .field("architecture", &self.architecture)
            .field("labels", &self.labels)
            .field("benign", &self.benign)
            .field("max_tokens", &self.max_tokens)
            .field("parameters", &self.parameters)
            .finish()
    }
}

/// Which label is benign: `configured` (a label name in any case, or a class id) when set;
/// otherwise the one label named like [`BENIGN_NAMES`] (`benign`, `normal`, `safe`, …);
/// otherwise class 0 when the labels are Hugging Face's unnamed defaults (`LABEL_0` or `0`).
/// Anything else is an error asking for `benign_label`.
pub fn pick_benign(labels: &[String], configured: Option<&str>) -> Result<usize, String> {
    if let Some(want) = configured {
        let want = want.trim();
        if let Some(i) = labels.iter().position(|l| l.eq_ignore_ascii_case(want)) {
            return Ok(i);
        }
        if let Ok(i) = want.parse::<usize>() {
            if i < labels.len() {
                return Ok(i);
            }
        }
        return Err(format!(
            "benign_label {want:?} is neither a label of the model {labels:?} nor a class id below {}",
            labels.len()
        ));
    }
    let named: Vec<usize> = (0..labels.len())
        .filter(|&i| {
            BENIGN_NAMES
                .iter()
                .any(|n| labels[i].trim().eq_ignore_ascii_case(n))
        })
        .collect();
    match named.as_slice() {
        [i] => Ok(*i),
        [] if labels
            .first()
            .is_some_and(|l| l.eq_ignore_ascii_case("LABEL_0") || l.trim() == "0") =>
        {
            Ok(0)
        }
        [] => Err(format!(
            "cannot tell which of the labels {labels:?} is benign (none is named {}, and class 0 is \
             not LABEL_0): set benign_label",
            BENIGN_NAMES.join("/")
        )),
        _ => Err(format!(
            "several labels look benign ({:?}): set benign_label",
            named.iter().map(|&i| &labels[i]).collect::<Vec<_>>()
        )),
    }
}

/// File names of pickle checkpoints (never loaded: unpickling can run code).
fn is_pickle(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    [".bin", ".pt", ".pth", ".ckpt", ".pkl", ".pickle"]
        .iter()
        .any(|ext| lower.ends_with(ext))
}

fn read_json(path: &Path, what: &str) -> Result<Value, LoadError> {
    let text = std::fs::read_to_string(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => LoadError::new(path, format!("missing ({what})")),
        _ => LoadError::new(path, format!("cannot read: {e}")),
    })?;
    serde_json::from_str(&text).map_err(|e| LoadError::new(path, format!("not valid JSON: {e}")))
}

struct ParsedConfig {
    architecture: Architecture,
    labels: Vec<String>,
    multi_label: bool,
    vocab_size: usize,
    hidden: usize,
    max_positions: usize,
    pad_id: u32,
    bert: Option<bert::Config>,
    distilbert: Option<distilbert::Config>,
}

fn usize_field(config: &Value, name: &str) -> Option<usize> {
    config
        .get(name)
        .and_then(Value::as_u64)
        .and_then(|v| usize::try_from(v).ok())
}

fn parse_config(path: &Path, mut config: Value) -> Result<ParsedConfig, LoadError> {
    let err = |m: String| LoadError::new(path, m);
    if !config.is_object() {
        return Err(err("expected a JSON object".into()));
    }
    let architectures: Vec<String> = config
        .get("architectures")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    let model_type = config
        .get("model_type")
        .and_then(Value::as_str)
        .map(str::to_ascii_lowercase);
    let architecture = match model_type.as_deref() {
        Some("bert") => Architecture::Bert,
        Some("distilbert") => Architecture::DistilBert,
        Some(other) => {
            return Err(err(format!(
                "model_type {other:?} is not supported (bert or distilbert sequence classifiers)"
            )))
        }
        None => match architectures.first().map(String::as_str) {
            Some(a) if a.starts_with("DistilBert") => Architecture::DistilBert,
            Some(a) if a.starts_with("Bert") => Architecture::Bert,
            _ => {
                return Err(err(
                    "no model_type (bert or distilbert) and no known architectures entry".into(),
                ))
            }
        },
    };
    if let Some(a) = architectures
        .iter()
        .find(|a| !a.ends_with("ForSequenceClassification"))
    {
        return Err(err(format!(
            "architecture {a:?} is not a sequence classifier (expected \
             BertForSequenceClassification or DistilBertForSequenceClassification)"
        )));
    }
    // Labels: id2label {"0": "benign", "1": "attack"}; ids must be 0..n.
    let labels = match config.get("id2label") {
        Some(Value::Object(map)) => {
            let mut pairs = Vec::new();
            for (k, v) in map {
                let id: usize = k
                    .trim()
                    .parse()
                    .map_err(|_| err(format!("id2label: key {k:?} is not a class id")))?;
                let name = v
                    .as_str()
                    .ok_or_else(|| err(format!("id2label: label of {k} is not a string")))?;
                pairs.push((id, name.to_string()));
            }
            pairs.sort();
            if pairs.iter().enumerate().any(|(i, (id, _))| i != *id) {
                return Err(err(format!(
                    "id2label: class ids must be 0..{} without gaps",
                    pairs.len()
                )));
            }
            pairs.into_iter().map(|(_, n)| n).collect::<Vec<_>>()
        }
        Some(_) => return Err(err("id2label is not an object".into())),
        None => {
            let n = usize_field(&config, "num_labels").unwrap_or(2);
            (0..n).map(|i| format!("LABEL_{i}")).collect()
        }
    };
    if labels.len() < 2 {
        return Err(err(format!(
            "a classifier needs at least 2 labels, id2label has {}",
            labels.len()
        )));
    }
    let multi_label = match config.get("problem_type").and_then(Value::as_str) {
        None | Some("single_label_classification") => false,
        Some("multi_label_classification") => true,
        Some(other) => {
            return Err(err(format!(
                "problem_type {other:?} is not supported (single_label_classification or \
                 multi_label_classification)"
            )))
        }
    };
    let pad_id = usize_field(&config, "pad_token_id").unwrap_or(0);
    let heads_field = match architecture {
        Architecture::Bert => "num_attention_heads",
        Architecture::DistilBert => "n_heads",
    };
    let (bert, distilbert, vocab_size, hidden, max_positions) = match architecture {
        Architecture::Bert => {
            // transformers' tanh-approximated GELU names map to candle's.
            if let Some(act) = config.get_mut("hidden_act") {
                if matches!(
                    act.as_str(),
                    Some("gelu_new" | "gelu_pytorch_tanh" | "gelu_fast")
                ) {
                    *act = Value::from("gelu_approximate");
                }
            }
            let c: bert::Config = serde_json::from_value(config.clone())
                .map_err(|e| err(format!("not a BERT configuration: {e}")))?;
            let (v, h, p) = (c.vocab_size, c.hidden_size, c.max_position_embeddings);
            (Some(c), None, v, h, p)
        }
        Architecture::DistilBert => {
            let c: distilbert::Config = serde_json::from_value(config.clone())
                .map_err(|e| err(format!("not a DistilBERT configuration: {e}")))?;
            let p = usize_field(&config, "max_position_embeddings").unwrap_or(0);
            let (v, h) = (c.vocab_size, c.dim);
            (None, Some(c), v, h, p)
        }
    };
    let heads = usize_field(&config, heads_field).unwrap_or(0);
    if heads == 0 || hidden == 0 || hidden % heads != 0 {
        return Err(err(format!(
            "hidden size {hidden} is not a multiple of {heads_field} {heads}"
        )));
    }
    if pad_id >= vocab_size {
        return Err(err(format!(
            "pad_token_id {pad_id} is outside the vocabulary ({vocab_size})"
        )));
    }
    Ok(ParsedConfig {
        architecture,
        labels,
        multi_label,
        vocab_size,
        hidden,
        max_positions,
        pad_id: pad_id as u32,
        bert,
        distilbert,
    })
}

/// The tensors of `model.safetensors` (or of the shards its index lists).
fn load_weights(dir: &Path, device: &Device) -> Result<HashMap<String, Tensor>, LoadError> {
    let single = dir.join("model.safetensors");
    let index = dir.join("model.safetensors.index.json");
    let files: Vec<PathBuf> = if single.is_file() {
        vec![single]
    } else if index.is_file() {
        let v = read_json(&index, "the shard index")?;
        let map = v
            .get("weight_map")
            .and_then(Value::as_object)
            .ok_or_else(|| LoadError::new(&index, "no weight_map object"))?;
        let mut names: Vec<&str> = map.values().filter_map(Value::as_str).collect();
        names.sort_unstable();
        names.dedup();
        if names.is_empty() {
            return Err(LoadError::new(&index, "weight_map lists no files"));
        }
        let mut files = Vec::new();
        for n in names {
            if n.contains('/')
                || n.contains('\\')
                || n.starts_with('.')
                || !n.ends_with(".safetensors")
            {
                return Err(LoadError::new(
                    &index,
                    format!("shard {n:?} is not a .safetensors file in the model directory"),
                ));
            }
            files.push(dir.join(n));
        }
        files
    } else {
        let pickles: Vec<String> = std::fs::read_dir(dir)
            .map(|rd| {
                rd.filter_map(|e| e.ok())
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .filter(|n| is_pickle(n))
                    .collect()
            })
            .unwrap_or_default();
        let message = if pickles.is_empty() {
            "missing (the weights must be in safetensors format)".to_string()
        } else {
            format!(
                "missing; the directory only has {} — a pickle checkpoint, which Palisade never \
                 loads because unpickling can execute code. Re-save the model with \
                 save_pretrained(dir, safe_serialization=True)",
                pickles.join(", ")
            )
        };
        return Err(LoadError::new(&single, message));
    };
    let mut tensors = HashMap::new();
    for file in files {
        let bytes = std::fs::read(&file).map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => LoadError::new(&file, "missing"),
            _ => LoadError::new(&file, format!("cannot read: {e}")),
        })?;
        let part = candle_core::safetensors::load_buffer(&bytes, device).map_err(|e| {
            LoadError::new(
                &file,
                format!("not a valid safetensors file: {}", candle_message(e)),
            )
        })?;
        tensors.extend(part);
    }
    Ok(tensors)
}

impl Classifier {
    /// Loads the sequence classifier in `dir`.
    pub fn load(dir: &Path, options: &ModelOptions) -> Result<Classifier, LoadError> {
        let meta = std::fs::metadata(dir).map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => LoadError::new(dir, "no such model directory"),
            _ => LoadError::new(dir, format!("cannot read the model directory: {e}")),
        })?;
        if !meta.is_dir() {
            return Err(LoadError::new(
                dir,
                "not a directory (expected a Hugging Face model directory with config.json, \
                 tokenizer.json and model.safetensors)",
            ));
        }
        let config_path = dir.join("config.json");
        let config = read_json(&config_path, "the model configuration")?;
        let parsed = parse_config(&config_path, config)?;
        let benign = pick_benign(&parsed.labels, options.benign_label.as_deref())
            .map_err(|m| LoadError::new(&config_path, m))?;
        if options.max_tokens < 2 {
            return Err(LoadError::new(
                dir,
                format!("max_tokens must be at least 2, not {}", options.max_tokens),
            ));
        }
        if parsed.max_positions > 0 && options.max_tokens > parsed.max_positions {
            return Err(LoadError::new(
                &config_path,
                format!(
                    "max_tokens {} exceeds the model's max_position_embeddings {}",
                    options.max_tokens, parsed.max_positions
                ),
            ));
        }

        let tokenizer_path = dir.join("tokenizer.json");
        if !tokenizer_path.is_file() {
            return Err(LoadError::new(
                &tokenizer_path,
                "missing (save the fast tokenizer with tokenizer.save_pretrained(dir))",
            ));
        }
        let mut tokenizer = Tokenizer::from_file(&tokenizer_path)
            .map_err(|e| LoadError::new(&tokenizer_path, format!("not a valid tokenizer: {e}")))?;
        tokenizer
            .with_truncation(Some(TruncationParams {
                max_length: options.max_tokens,
                ..TruncationParams::default()
            }))
            .map_err(|e| LoadError::new(&tokenizer_path, format!("truncation: {e}")))?;
        tokenizer.with_padding(None);
        // The heads read the first position, which must be the tokenizer's [CLS].
        match tokenizer.encode_fast("palisade", true) {
            Ok(e) if e.get_special_tokens_mask().first() == Some(&1) => {}
            Ok(_) => tracing::warn!(
                "{}: the tokenizer adds no special token ([CLS]) first; the classifier head \
                 will read the first word instead",
                tokenizer_path.display()
            ),
            Err(e) => {
                return Err(LoadError::new(
                    &tokenizer_path,
                    format!("cannot tokenize: {e}"),
                ))
            }
        }
        let tokens = tokenizer.get_vocab_size(true);
        if tokens > parsed.vocab_size {
            return Err(LoadError::new(
                &tokenizer_path,
                format!(
                    "{tokens} tokens, but config.json has vocab_size {}: the tokenizer does not \
                     belong to this model",
                    parsed.vocab_size
                ),
            ));
        }

        let device = Device::cuda_if_available(0).unwrap_or(Device::Cpu);
        let weights = load_weights(dir, &device)?;
        let st_path = dir.join("model.safetensors");
        let parameters = weights.values().map(Tensor::elem_count).sum();
        let family = parsed.architecture.name();
        let prefixed = format!("{family}.embeddings.word_embeddings.weight");
        let prefix = if weights.contains_key(&prefixed) {
            family
        } else if weights.contains_key("embeddings.word_embeddings.weight") {
            ""
        } else {
            return Err(LoadError::new(
                &st_path,
                format!("no {family} encoder weights ({prefixed})"),
            ));
        };
        if !weights.contains_key("classifier.weight") {
            return Err(LoadError::new(
                &st_path,
                format!(
                    "no classifier head (classifier.weight): save a sequence classifier \
                     ({}ForSequenceClassification), not a base model",
                    match parsed.architecture {
                        Architecture::Bert => "Bert",
                        Architecture::DistilBert => "DistilBert",
                    }
                ),
            ));
        }
        let vb = VarBuilder::from_tensors(weights, DType::F32, &device);
        let base = if prefix.is_empty() {
            vb.clone()
        } else {
            vb.pp(prefix)
        };
        let labels = parsed.labels.len();
        let bad = |e: candle_core::Error| {
            let mut m = candle_message(e);
            if m.contains("classifier.weight") {
                m.push_str(&format!(" (config.json id2label has {labels} labels)"));
            }
            LoadError::new(&st_path, m)
        };
        let (h, n) = (parsed.hidden, parsed.labels.len());
        let net = match (&parsed.bert, &parsed.distilbert) {
            (Some(c), _) => Net::Bert {
                encoder: bert::BertModel::load(base.clone(), c).map_err(bad)?,
                pooler: candle_nn::linear(h, h, base.pp("pooler").pp("dense")).map_err(bad)?,
                classifier: candle_nn::linear(h, n, vb.pp("classifier")).map_err(bad)?,
            },
            (None, Some(c)) => Net::DistilBert {
                encoder: distilbert::DistilBertModel::load(base.clone(), c).map_err(bad)?,
                pre_classifier: candle_nn::linear(h, h, vb.pp("pre_classifier")).map_err(bad)?,
                classifier: candle_nn::linear(h, n, vb.pp("classifier")).map_err(bad)?,
            },
            (None, None) => return Err(LoadError::new(&config_path, "no configuration")),
        };
        let classifier = Classifier {
            net,
            tokenizer,
            labels: parsed.labels,
            benign,
            multi_label: parsed.multi_label,
            max_tokens: options.max_tokens,
            pad_id: parsed.pad_id,
            device,
            architecture: parsed.architecture,
            parameters,
        };
        // One forward pass now, so shape problems the weights' names did not reveal are a
        // load error rather than a failure on the first request.
        classifier
            .probabilities(&["palisade"])
            .map_err(|e| LoadError::new(dir, format!("test inference failed: {e}")))?;
        Ok(classifier)
    }

    pub fn labels(&self) -> &[String] {
        &self.labels
    }

    /// Index of the benign class in [`labels`](Self::labels).
    pub fn benign(&self) -> usize {
        self.benign
    }

    pub fn architecture(&self) -> Architecture {
        self.architecture
    }

    /// Number of weights in the safetensors file(s).
    pub fn parameters(&self) -> usize {
        self.parameters
    }

    pub fn max_tokens(&self) -> usize {
        self.max_tokens
    }

    pub fn device_name(&self) -> &'static str {
        if self.device.is_cuda() {
            "cuda"
        } else {
            "cpu"
        }
    }

    /// Texts are cut to this many bytes before tokenizing, so a huge value costs no more
    /// than the `max_tokens` that are kept (no WordPiece token is shorter than one byte;
    /// 16 bytes a token leaves room for long words and whitespace).
    fn byte_budget(&self) -> usize {
        self.max_tokens.saturating_mul(16)
    }

    /// Class probabilities of each text (softmax; per-class sigmoid for multi-label
    /// models), in one forward pass padded to the longest text.
    pub fn probabilities(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>, String> {
        if texts.is_empty() {
            return Ok(Vec::new());
        }
        let budget = self.byte_budget();
        let mut encoded: Vec<Vec<u32>> = Vec::with_capacity(texts.len());
        for t in texts {
            let cut = floor_char_boundary(t, budget);
            let e = self
                .tokenizer
                .encode_fast(&t[..cut], true)
                .map_err(|e| format!("tokenizing: {e}"))?;
            let mut ids = e.get_ids().to_vec();
            ids.truncate(self.max_tokens);
            if ids.is_empty() {
                ids.push(self.pad_id);
            }
            encoded.push(ids);
        }
        let len = encoded.iter().map(Vec::len).max().unwrap_or(1);
        let n = encoded.len();
        let mut ids = vec![self.pad_id; n * len];
        let mut mask = vec![0u32; n * len];
        for (row, e) in encoded.iter().enumerate() {
            ids[row * len..row * len + e.len()].copy_from_slice(e);
            mask[row * len..row * len + e.len()].fill(1);
        }
        self.forward(ids, mask, n, len)
            .map_err(|e| format!("inference: {}", candle_message(e)))
    }

    fn forward(
        &self,
        ids: Vec<u32>,
        mask: Vec<u32>,
        n: usize,
        len: usize,
    ) -> candle_core::Result<Vec<Vec<f32>>> {
        let ids = Tensor::from_vec(ids, (n, len), &self.device)?;
        let logits = match &self.net {
            Net::Bert {
                encoder,
                pooler,
                classifier,
            } => {
                let mask = Tensor::from_vec(mask, (n, len), &self.device)?;
                let types = ids.zeros_like()?;
                let hidden = encoder.forward(&ids, &types, Some(&mask))?;
                let cls = hidden.narrow(1, 0, 1)?.squeeze(1)?;
                classifier.forward(&pooler.forward(&cls)?.tanh()?)?
            }
            Net::DistilBert {
                encoder,
                pre_classifier,
                classifier,
            } => {
                // candle's DistilBERT masks where the mask is 1: mark the padding.
                let pad: Vec<u8> = mask.iter().map(|&m| u8::from(m == 0)).collect();
                let pad = Tensor::from_vec(pad, (n, 1, 1, len), &self.device)?;
                let hidden = encoder.forward(&ids, &pad)?;
                let cls = hidden.narrow(1, 0, 1)?.squeeze(1)?;
                classifier.forward(&pre_classifier.forward(&cls)?.relu()?)?
            }
        };
        let probs = if self.multi_label {
            candle_nn::ops::sigmoid(&logits)?
        } else {
            candle_nn::ops::softmax_last_dim(&logits)?
        };
        probs.to_dtype(DType::F32)?.to_vec2::<f32>()
    }
}

/// A candle error without the backtrace candle attaches when `RUST_BACKTRACE` is set.
fn candle_message(e: candle_core::Error) -> String {
    match e {
        candle_core::Error::WithBacktrace { inner, .. } => inner.to_string(),
        e => e.to_string(),
    }
}

/// The largest index `<= max` that is a char boundary of `s`.
fn floor_char_boundary(s: &str, max: usize) -> usize {
    if max >= s.len() {
        return s.len();
    }
    let mut i = max;
    while !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(names: &[&str]) -> Vec<String> {
        names.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn benign_label_rule() {
        assert_eq!(pick_benign(&labels(&["attack", "Benign"]), None), Ok(1));
        assert_eq!(
            pick_benign(&labels(&["NORMAL", "sqli", "xss"]), None),
            Ok(0)
        );
        assert_eq!(pick_benign(&labels(&["LABEL_0", "LABEL_1"]), None), Ok(0));
        assert_eq!(pick_benign(&labels(&["0", "1"]), None), Ok(0));
        assert!(pick_benign(&labels(&["sqli", "xss"]), None)
            .unwrap_err()
            .contains("benign_label"));
        assert!(pick_benign(&labels(&["safe", "normal", "xss"]), None)
            .unwrap_err()
            .contains("several"));
        assert_eq!(
            pick_benign(&labels(&["LABEL_0", "LABEL_1"]), Some("label_1")),
            Ok(1)
        );
        assert_eq!(pick_benign(&labels(&["attack", "ok"]), Some("1")), Ok(1));
        assert!(pick_benign(&labels(&["attack", "ok"]), Some("fine")).is_err());
        assert!(pick_benign(&labels(&["attack", "ok"]), Some("2")).is_err());
    }

    #[test]
    fn pickle_names() {
        assert!(is_pickle("pytorch_model.bin"));
        assert!(is_pickle("model.PT"));
        assert!(!is_pickle("model.safetensors"));
    }

    #[test]
    fn char_boundary() {
        assert_eq!(floor_char_boundary("aé", 2), 1);
        assert_eq!(floor_char_boundary("abc", 10), 3);
    }
}
