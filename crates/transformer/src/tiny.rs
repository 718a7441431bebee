//! Small model directories written on the spot, in exactly the format `save_pretrained`
//! writes (`config.json`, `tokenizer.json` with a WordPiece vocabulary, `model.safetensors`
//! with the tensor names of `BertForSequenceClassification` /
//! `DistilBertForSequenceClassification`) — for tests and benchmarks, since no real model
//! can be downloaded here.
//!
//! [`Weights::Trigger`] builds an encoder whose output provably follows the input: token
//! embeddings are random except along dimension 0, which only the [`TRIGGER_WORDS`] use;
//! queries and keys are zero (uniform attention over the real tokens, so padding must be
//! masked for results to match), values and output projections are the identity and the
//! feed-forward blocks are zero. The `[CLS]` state along dimension 0 is then zero unless a
//! trigger word is present, and the head turns that one feature into the chosen class.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use candle_core::{Device, Tensor};
use serde_json::json;

use crate::model::Architecture;

/// Words that drive [`Weights::Trigger`] models to their `triggered` class.
pub const TRIGGER_WORDS: &[&str] = &["union", "select", "script", "alert", "passwd", "sleep"];

const OTHER_WORDS: &[&str] = &[
    "the", "and", "shoes", "trail", "running", "hello", "world", "search", "from", "users",
    "where", "or", "name", "page", "login", "password", "mozilla", "http", "www", "com",
];

/// How the weights are set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Weights {
    /// Every weight random (layer norms neutral): a model with arbitrary but fixed output.
    Random,
    /// Texts with a trigger word go to class `triggered`, all others to `otherwise`.
    Trigger { triggered: usize, otherwise: usize },
}

/// The shape of the model to write.
#[derive(Debug, Clone, PartialEq)]
pub struct TinySpec {
    pub architecture: Architecture,
    pub hidden: usize,
    pub intermediate: usize,
    pub layers: usize,
    pub heads: usize,
    pub max_positions: usize,
    /// `id2label`, in class order.
    pub labels: Vec<String>,
    pub weights: Weights,
    pub seed: u64,
}

impl TinySpec {
    /// A 2-layer BERT, hidden size 32, 2 heads; labels `benign`, `attack`; trigger words
    /// are attacks.
    pub fn bert() -> TinySpec {
        TinySpec {
            architecture: Architecture::Bert,
            hidden: 32,
            intermediate: 64,
            layers: 2,
            heads: 2,
            max_positions: 512,
            labels: vec!["benign".into(), "attack".into()],
            weights: Weights::Trigger {
                triggered: 1,
                otherwise: 0,
            },
            seed: 7,
        }
    }

    /// The same shape as [`bert`](Self::bert), as a DistilBERT.
    pub fn distilbert() -> TinySpec {
        TinySpec {
            architecture: Architecture::DistilBert,
            ..TinySpec::bert()
        }
    }
}

/// splitmix64: a fixed, dependency-free pseudo-random sequence.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in [-scale, scale).
    fn uniform(&mut self, scale: f32) -> f32 {
        ((self.next() >> 40) as f32 / (1u64 << 24) as f32 * 2.0 - 1.0) * scale
    }

    fn fill(&mut self, n: usize, scale: f32) -> Vec<f32> {
        (0..n).map(|_| self.uniform(scale)).collect()
    }
}

/// The WordPiece vocabulary: special tokens, words, single characters and `##` pieces.
pub fn vocabulary() -> Vec<String> {
    let mut v: Vec<String> = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    v.extend(TRIGGER_WORDS.iter().map(|s| s.to_string()));
    v.extend(OTHER_WORDS.iter().map(|s| s.to_string()));
    let chars: Vec<char> = ('a'..='z')
        .chain('0'..='9')
        .chain(
            (33u8..127)
                .map(char::from)
                .filter(|c| c.is_ascii_punctuation()),
        )
        .collect();
    for c in &chars {
        if !v.contains(&c.to_string()) {
            v.push(c.to_string());
        }
    }
    for c in chars.iter().filter(|c| c.is_ascii_alphanumeric()) {
        v.push(format!("##{c}"));
    }
    v
}

/// `tokenizer.json` for [`vocabulary`], as `tokenizer.save_pretrained` writes a BERT
/// tokenizer (BertNormalizer with lowercasing, BertPreTokenizer, WordPiece,
/// `[CLS] … [SEP]` template).
pub fn tokenizer_json(vocab: &[String]) -> serde_json::Value {
    let map: BTreeMap<&str, usize> = vocab
        .iter()
        .enumerate()
        .map(|(i, t)| (t.as_str(), i))
        .collect();
    let added: Vec<serde_json::Value> = vocab[..5]
        .iter()
        .enumerate()
        .map(|(i, t)| {
            json!({"id": i, "content": t, "single_word": false, "lstrip": false,
                   "rstrip": false, "normalized": false, "special": true})
        })
        .collect();
    json!({
        "version": "1.0",
        "truncation": null,
        "padding": null,
        "added_tokens": added,
        "normalizer": {"type": "BertNormalizer", "clean_text": true,
                       "handle_chinese_chars": true, "strip_accents": null, "lowercase": true},
        "pre_tokenizer": {"type": "BertPreTokenizer"},
        "post_processor": {
            "type": "TemplateProcessing",
            "single": [{"SpecialToken": {"id": "[CLS]", "type_id": 0}},
                       {"Sequence": {"id": "A", "type_id": 0}},
                       {"SpecialToken": {"id": "[SEP]", "type_id": 0}}],
            "pair": [{"SpecialToken": {"id": "[CLS]", "type_id": 0}},
                     {"Sequence": {"id": "A", "type_id": 0}},
                     {"SpecialToken": {"id": "[SEP]", "type_id": 0}},
                     {"Sequence": {"id": "B", "type_id": 1}},
                     {"SpecialToken": {"id": "[SEP]", "type_id": 1}}],
            "special_tokens": {
                "[CLS]": {"id": "[CLS]", "ids": [2], "tokens": ["[CLS]"]},
                "[SEP]": {"id": "[SEP]", "ids": [3], "tokens": ["[SEP]"]}
            }
        },
        "decoder": {"type": "WordPiece", "prefix": "##", "cleanup": true},
        "model": {"type": "WordPiece", "unk_token": "[UNK]", "continuing_subword_prefix": "##",
                  "max_input_chars_per_word": 100, "vocab": map}
    })
}

/// `config.json` for `spec`, with the keys `save_pretrained` writes.
pub fn config_json(spec: &TinySpec, vocab_size: usize) -> serde_json::Value {
    let id2label: BTreeMap<String, &str> = spec
        .labels
        .iter()
        .enumerate()
        .map(|(i, l)| (i.to_string(), l.as_str()))
        .collect();
    let label2id: BTreeMap<&str, usize> = spec
        .labels
        .iter()
        .enumerate()
        .map(|(i, l)| (l.as_str(), i))
        .collect();
    match spec.architecture {
        Architecture::Bert => json!({
            "architectures": ["BertForSequenceClassification"],
            "model_type": "bert",
            "attention_probs_dropout_prob": 0.1,
            "classifier_dropout": null,
            "hidden_act": "gelu",
            "hidden_dropout_prob": 0.1,
            "hidden_size": spec.hidden,
            "id2label": id2label,
            "label2id": label2id,
            "initializer_range": 0.02,
            "intermediate_size": spec.intermediate,
            "layer_norm_eps": 1e-12,
            "max_position_embeddings": spec.max_positions,
            "num_attention_heads": spec.heads,
            "num_hidden_layers": spec.layers,
            "pad_token_id": 0,
            "position_embedding_type": "absolute",
            "problem_type": "single_label_classification",
            "torch_dtype": "float32",
            "transformers_version": "4.46.0",
            "type_vocab_size": 2,
            "use_cache": true,
            "vocab_size": vocab_size
        }),
        Architecture::DistilBert => json!({
            "architectures": ["DistilBertForSequenceClassification"],
            "model_type": "distilbert",
            "activation": "gelu",
            "attention_dropout": 0.1,
            "dim": spec.hidden,
            "dropout": 0.1,
            "hidden_dim": spec.intermediate,
            "id2label": id2label,
            "label2id": label2id,
            "initializer_range": 0.02,
            "max_position_embeddings": spec.max_positions,
            "n_heads": spec.heads,
            "n_layers": spec.layers,
            "pad_token_id": 0,
            "problem_type": "single_label_classification",
            "qa_dropout": 0.1,
            "seq_classif_dropout": 0.2,
            "sinusoidal_pos_embds": false,
            "tie_weights_": true,
            "torch_dtype": "float32",
            "transformers_version": "4.46.0",
            "vocab_size": vocab_size
        }),
    }
}

struct Builder {
    tensors: HashMap<String, Tensor>,
    rng: Rng,
    random: bool,
}

impl Builder {
    fn put(&mut self, name: &str, shape: &[usize], data: Vec<f32>) -> candle_core::Result<()> {
        let t = Tensor::from_vec(data, shape, &Device::Cpu)?;
        self.tensors.insert(name.to_string(), t);
        Ok(())
    }

    /// A matrix: random, or `structured` (`identity` or zero) for trigger models.
    fn matrix(
        &mut self,
        name: &str,
        rows: usize,
        cols: usize,
        identity: bool,
    ) -> candle_core::Result<()> {
        let data = if self.random {
            let scale = (1.0 / cols as f32).sqrt();
            self.rng.fill(rows * cols, scale)
        } else {
            let mut d = vec![0.0; rows * cols];
            if identity {
                for i in 0..rows.min(cols) {
                    d[i * cols + i] = 1.0;
                }
            }
            d
        };
        self.put(name, &[rows, cols], data)
    }

    fn bias(&mut self, name: &str, n: usize) -> candle_core::Result<()> {
        let data = if self.random {
            self.rng.fill(n, 0.02)
        } else {
            vec![0.0; n]
        };
        self.put(name, &[n], data)
    }

    fn linear(
        &mut self,
        name: &str,
        outputs: usize,
        inputs: usize,
        identity: bool,
    ) -> candle_core::Result<()> {
        self.matrix(&format!("{name}.weight"), outputs, inputs, identity)?;
        self.bias(&format!("{name}.bias"), outputs)
    }

    fn layer_norm(&mut self, name: &str, n: usize) -> candle_core::Result<()> {
        self.put(&format!("{name}.weight"), &[n], vec![1.0; n])?;
        self.put(&format!("{name}.bias"), &[n], vec![0.0; n])
    }
}

/// Word embeddings: trigger words are `[1, 0, …, 0]`; every other token is random with
/// 0 along dimension 0 and mean 0 (so layer normalisation keeps that 0 exactly).
fn word_embeddings(rng: &mut Rng, vocab: &[String], hidden: usize, random: bool) -> Vec<f32> {
    let mut data = Vec::with_capacity(vocab.len() * hidden);
    for token in vocab {
        if random {
            data.extend(rng.fill(hidden, 1.0));
        } else if TRIGGER_WORDS.contains(&token.as_str()) {
            data.push(1.0);
            data.extend(std::iter::repeat_n(0.0, hidden - 1));
        } else {
            let mut row = rng.fill(hidden - 1, 1.0);
            let mean = row.iter().sum::<f32>() / row.len() as f32;
            row.iter_mut().for_each(|x| *x -= mean);
            data.push(0.0);
            data.extend(row);
        }
    }
    data
}

/// Writes a model directory for `spec` into `dir` (created if needed).
pub fn write(dir: &Path, spec: &TinySpec) -> Result<(), String> {
    let e = |m: String| m;
    std::fs::create_dir_all(dir).map_err(|x| e(format!("{}: {x}", dir.display())))?;
    let vocab = vocabulary();
    let vocab_size = vocab.len();
    let config = config_json(spec, vocab_size);
    let tokenizer = tokenizer_json(&vocab);
    for (name, value) in [("config.json", &config), ("tokenizer.json", &tokenizer)] {
        let text = serde_json::to_string_pretty(value).map_err(|x| x.to_string())?;
        std::fs::write(dir.join(name), text).map_err(|x| format!("{name}: {x}"))?;
    }
    let tensors = weights(spec, &vocab).map_err(|x| x.to_string())?;
    candle_core::safetensors::save(&tensors, dir.join("model.safetensors"))
        .map_err(|x| format!("model.safetensors: {x}"))
}

fn weights(spec: &TinySpec, vocab: &[String]) -> candle_core::Result<HashMap<String, Tensor>> {
    let (h, i, n) = (spec.hidden, spec.intermediate, spec.labels.len());
    let random = spec.weights == Weights::Random;
    let mut b = Builder {
        tensors: HashMap::new(),
        rng: Rng(spec.seed),
        random,
    };
    let words = word_embeddings(&mut b.rng, vocab, h, random);
    let positions = if random {
        b.rng.fill(spec.max_positions * h, 0.1)
    } else {
        vec![0.0; spec.max_positions * h]
    };
    let p = match spec.architecture {
        Architecture::Bert => "bert",
        Architecture::DistilBert => "distilbert",
    };
    b.put(
        &format!("{p}.embeddings.word_embeddings.weight"),
        &[vocab.len(), h],
        words,
    )?;
    b.put(
        &format!("{p}.embeddings.position_embeddings.weight"),
        &[spec.max_positions, h],
        positions,
    )?;
    b.layer_norm(&format!("{p}.embeddings.LayerNorm"), h)?;
    match spec.architecture {
        Architecture::Bert => {
            let types = if random {
                b.rng.fill(2 * h, 0.1)
            } else {
                vec![0.0; 2 * h]
            };
            b.put(
                "bert.embeddings.token_type_embeddings.weight",
                &[2, h],
                types,
            )?;
            for l in 0..spec.layers {
                let x = format!("bert.encoder.layer.{l}");
                b.linear(&format!("{x}.attention.self.query"), h, h, false)?;
                b.linear(&format!("{x}.attention.self.key"), h, h, false)?;
                b.linear(&format!("{x}.attention.self.value"), h, h, true)?;
                b.linear(&format!("{x}.attention.output.dense"), h, h, true)?;
                b.layer_norm(&format!("{x}.attention.output.LayerNorm"), h)?;
                b.linear(&format!("{x}.intermediate.dense"), i, h, false)?;
                b.linear(&format!("{x}.output.dense"), h, i, false)?;
                b.layer_norm(&format!("{x}.output.LayerNorm"), h)?;
            }
            b.linear("bert.pooler.dense", h, h, true)?;
        }
        Architecture::DistilBert => {
            for l in 0..spec.layers {
                let x = format!("distilbert.transformer.layer.{l}");
                b.linear(&format!("{x}.attention.q_lin"), h, h, false)?;
                b.linear(&format!("{x}.attention.k_lin"), h, h, false)?;
                b.linear(&format!("{x}.attention.v_lin"), h, h, true)?;
                b.linear(&format!("{x}.attention.out_lin"), h, h, true)?;
                b.layer_norm(&format!("{x}.sa_layer_norm"), h)?;
                b.linear(&format!("{x}.ffn.lin1"), i, h, false)?;
                b.linear(&format!("{x}.ffn.lin2"), h, i, false)?;
                b.layer_norm(&format!("{x}.output_layer_norm"), h)?;
            }
            b.linear("pre_classifier", h, h, true)?;
        }
    }
    match spec.weights {
        Weights::Random => b.linear("classifier", n, h, false)?,
        Weights::Trigger {
            triggered,
            otherwise,
        } => {
            // Logits: `otherwise` 0; `triggered` 100·f − 6 (f: the [CLS] feature, 0 without
            // a trigger word, > 0.1 with one in a short text); every other class −20.
            let mut w = vec![0.0; n * h];
            let mut bias = vec![-20.0; n];
            bias[otherwise] = 0.0;
            if triggered != otherwise {
                w[triggered * h] = 100.0;
                bias[triggered] = -6.0;
            }
            b.put("classifier.weight", &[n, h], w)?;
            b.put("classifier.bias", &[n], bias)?;
        }
    }
    Ok(b.tensors)
}
