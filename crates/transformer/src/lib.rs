//! Palisade's bring-your-own transformer classifier.
//!
//! A Hugging Face directory of a BERT or DistilBERT *sequence classifier* (`config.json`,
//! `tokenizer.json`, `model.safetensors`) becomes an engine
//! [`Detector`](palisade_engine::Detector):
//!
//! * [`model`]: loading (JSON and safetensors only — pickle checkpoints are refused, so
//!   nothing in a model directory can execute code), the label rule and the batched forward
//!   pass with [candle](https://github.com/huggingface/candle) on the CPU (or a GPU with the
//!   `cuda` feature).
//! * [`batcher`]: one inference worker thread that gathers the texts of concurrent
//!   requests into batches and answers each request through its own channel.
//! * [`detector`]: what of a request is scored (decoded path and query as one text, body
//!   fields or the raw body, cookies, free-form headers, text uploads; at most `max_texts`)
//!   and how a probability becomes a finding.
//! * [`tiny`]: writes small randomly initialised model directories (tests, benchmarks).

pub mod batcher;
pub mod detector;
pub mod model;
pub mod tiny;

pub use batcher::{BatchOptions, Batcher, Stats};
pub use detector::{DetectorOptions, TransformerDetector};
pub use model::{Architecture, Classifier, LoadError, ModelOptions};

/// Loads `dir` and starts its inference worker: the detector `palisade serve --model-dir`
/// runs.
pub fn load_detector(
    dir: &std::path::Path,
    model: &ModelOptions,
    batch: BatchOptions,
    detector: DetectorOptions,
) -> Result<TransformerDetector, LoadError> {
    let classifier = Classifier::load(dir, model)?;
    Ok(TransformerDetector::new(
        Batcher::start(std::sync::Arc::new(classifier), batch),
        detector,
    ))
}
