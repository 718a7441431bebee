//! The built-in classifier as an engine detector: scores every location, reports the worst
//! one, and turns its calibrated probability into anomaly points by the configured policy.

use std::sync::Arc;

use palisade_engine::{Detector, Finding, Severity};
use palisade_http::RequestModel;

use crate::features::normalize;
use crate::locations::{for_each_location, Place};
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
}

impl MlDetector {
    pub fn new(model: Arc<Model>, options: MlOptions) -> MlDetector {
        MlDetector { model, options }
    }

    pub fn model(&self) -> &Model {
        &self.model
    }

    /// The location with the highest attack probability (None when nothing was scored).
    pub fn worst(&self, request: &RequestModel) -> Option<Worst> {
        worst_location(&self.model, request)
    }
}

/// Scores each location of `request` separately and returns the worst one.
pub fn worst_location(model: &Model, request: &RequestModel) -> Option<Worst> {
    let mut best: Option<(f32, Place<'_>, &[u8])> = None;
    for_each_location(request, |place, value| {
        let margin = model.normalized_margin(&normalize(value));
        if best.map_or(true, |(m, _, _)| margin > m) {
            best = Some((margin, place, value));
        }
    });
    best.map(|(margin, place, value)| Worst {
        target: place.target_name(),
        probability: model.calibrate(margin),
        value: value.to_vec(),
    })
}

impl Detector for MlDetector {
    fn name(&self) -> &str {
        "ml"
    }

    fn inspect_request(&self, request: &RequestModel, _paranoia: u8, out: &mut Vec<Finding>) {
        let Some(worst) = self.worst(request) else {
            return;
        };
        let o = &self.options;
        if worst.probability < o.probability_catch {
            return;
        }
        // The benign class never produces a finding: only the attack probability is compared.
        let (severity, score) = if o.log_only {
            (Severity::Notice, 0)
        } else if worst.probability >= o.probability_block {
            (Severity::Critical, Severity::Critical.score())
        } else {
            (Severity::Warning, o.catch_points)
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
