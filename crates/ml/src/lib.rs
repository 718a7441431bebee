//! Palisade's machine-learned detection.
//!
//! * [`features`] and [`model`]: the built-in classifier — hashed character, shape and word
//!   n-grams into a logistic model with Platt calibration, scored per decoded request
//!   location ([`locations`]), in a small checksummed binary format.
//! * [`detector`]: the classifier as an engine [`Detector`](palisade_engine::Detector).
//! * [`data`], [`generate`], [`train`], [`metrics`]: reproducible training from the shared
//!   data sets plus generated modern benign traffic, validation metrics and the model card.
//! * [`csic`] and [`profile`]: learning mode — per-endpoint profiles of normal traffic and
//!   the detector that enforces them.

pub mod csic;
pub mod data;
pub mod detector;
pub mod features;
pub mod generate;
pub mod locations;
pub mod metrics;
pub mod model;
pub mod profile;
pub mod train;

pub use detector::{MlDetector, MlOptions};
pub use model::{Model, ModelError};

/// The shipped default model (`models/default/model.bin`, reproduced by `palisade train`;
/// see `models/default/MODEL_CARD.md`), compiled into the binary so `serve` needs no setup.
pub const DEFAULT_MODEL: &[u8] = include_bytes!("../../../models/default/model.bin");

/// Parses [`DEFAULT_MODEL`].
pub fn default_model() -> Result<Model, ModelError> {
    Model::from_bytes(DEFAULT_MODEL, "<built-in model>")
}
