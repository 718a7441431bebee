//! The built-in classifier: a hashed-feature logistic model with Platt calibration, its
//! binary file format, and per-value scoring.
//!
//! File format (`model.bin`, all integers and floats little-endian):
//!
//! | bytes | field |
//! |---|---|
//! | 8 | magic `PALISML\0` |
//! | 4 | format version (1) |
//! | 4 | feature version ([`FEATURE_VERSION`]) |
//! | 4 | `bits`: the weight table has `2^bits` entries (10..=24) |
//! | 4 × 4 | bias, Platt `a`, Platt `b`, default threshold (`probability_catch`) |
//! | 4 × 2^bits | weights (f32) |
//! | 8 | FNV-1a 64 checksum of everything before it |
//!
//! Loading is plain parsing with bounds and checksum checks: no code, no pickles.

use std::path::Path;

use crate::features::{
    anchored_features, for_each_feature, is_special, normalize, stat_slots, windows,
    FEATURE_VERSION, WINDOW,
};

const MAGIC: &[u8; 8] = b"PALISML\0";
const FORMAT_VERSION: u32 = 1;
const HEADER_LEN: usize = 8 + 4 * 3 + 4 * 4;
/// Table size of the shipped model (`palisade train --bits 18`).
const SHIPPED_BITS: u32 = 18;
const SHIPPED_TABLE: usize = 1 << SHIPPED_BITS;

/// Why a model file could not be used.
#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    #[error("{path}: cannot read the model file: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("{path}: not a Palisade model file ({reason})")]
    Malformed { path: String, reason: String },
}

/// A trained model. Immutable and cheap to share.
#[derive(Clone)]
pub struct Model {
    pub bits: u32,
    pub weights: Vec<f32>,
    pub bias: f32,
    /// Calibration: `p = sigmoid(platt_a * margin + platt_b)`.
    pub platt_a: f32,
    pub platt_b: f32,
    /// The probability threshold chosen on validation data.
    pub threshold: f32,
}

impl std::fmt::Debug for Model {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Model")
            .field("bits", &self.bits)
            .field("bias", &self.bias)
            .field("platt_a", &self.platt_a)
            .field("platt_b", &self.platt_b)
            .field("threshold", &self.threshold)
            .finish_non_exhaustive()
    }
}

pub fn sigmoid(x: f32) -> f32 {
    1.0 / (1.0 + (-x).exp())
}

impl Model {
    pub fn zeros(bits: u32) -> Model {
        Model {
            bits,
            weights: vec![0.0; 1 << bits],
            bias: 0.0,
            platt_a: 1.0,
            platt_b: 0.0,
            threshold: 0.5,
        }
    }

    /// The weight table as an array when it has the shipped model's size: scoring compiled
    /// for it knows the table's length and the hash shift, so no lookup is bounds-checked
    /// (about a fifth of the scorer's instructions).
    fn shipped_size_table(&self) -> Option<&[f32; SHIPPED_TABLE]> {
        if self.bits == SHIPPED_BITS {
            self.weights.as_slice().try_into().ok()
        } else {
            None
        }
    }

    /// Raw (uncalibrated) margin of one normalized window.
    pub fn window_margin(&self, window: &[u8]) -> f32 {
        let mut sum = 0.0f32;
        let n = if let Some(table) = self.shipped_size_table() {
            for_each_feature(window, SHIPPED_BITS, |slot| {
                sum += table[slot as usize & (SHIPPED_TABLE - 1)];
            })
        } else if self.bits <= 32 && self.weights.len() == 1usize << self.bits {
            // `slot` < 2^bits = the table's length by construction, so the mask changes
            // nothing; the hot loop reads one local slice instead of going through `self`.
            let weights = self.weights.as_slice();
            let mask = weights.len() - 1;
            for_each_feature(window, self.bits, |slot| {
                sum += weights.get(slot as usize & mask).copied().unwrap_or(0.0);
            })
        } else {
            // A table whose length does not match `bits` (built by hand): `get` keeps it
            // from panicking, missing weights count as zero.
            for_each_feature(window, self.bits, |slot| {
                sum += self.weights.get(slot as usize).copied().unwrap_or(0.0);
            })
        };
        sum / (n.max(1) as f32).sqrt() + self.bias
    }

    /// Margin of an already-normalized value: the worst window.
    pub fn normalized_margin(&self, norm: &[u8]) -> f32 {
        if norm.len() <= WINDOW {
            self.window_margin(norm)
        } else if let Some(table) = self.shipped_size_table() {
            self.long_margin(norm, SHIPPED_BITS, |slot| {
                table[slot as usize & (SHIPPED_TABLE - 1)]
            })
        } else {
            let weights = self.weights.as_slice();
            self.long_margin(norm, self.bits, |slot| {
                weights.get(slot as usize).copied().unwrap_or(0.0)
            })
        }
    }

    /// The worst window of a value longer than one window, scored in context: each byte's
    /// features are computed once over the whole value ([`anchored_features`]) and a window
    /// adds up its bytes' sums, where scoring each window on its own extracted the features
    /// of the overlaps twice (a 2 KB text cost 1.35x its length).
    fn long_margin(&self, norm: &[u8], bits: u32, weight: impl Fn(u32) -> f32 + Copy) -> f32 {
        let (mut acc, mut cnt) = (Vec::new(), Vec::new());
        anchored_features(norm, bits, weight, &mut acc, &mut cnt);
        windows(norm.len())
            .map(|(s, e)| {
                // Plain sums over the window, in eight lanes so they run as vector
                // additions (a running prefix sum waits on each addition in turn).
                let mut lanes = [0f32; 8];
                let chunks = acc[s..e].chunks_exact(8);
                let tail: f32 = chunks.remainder().iter().sum();
                for c in chunks {
                    for (l, x) in lanes.iter_mut().zip(c) {
                        *l += x;
                    }
                }
                let sum = lanes.iter().sum::<f32>() + tail;
                let n: u32 = cnt[s..e].iter().map(|&c| u32::from(c)).sum::<u32>() + 2;
                let special = norm[s..e].iter().filter(|&&b| is_special(b)).count();
                let [a, b] = stat_slots(e - s, special, bits);
                (sum + weight(a) + weight(b)) / (n as f32).sqrt() + self.bias
            })
            .fold(f32::NEG_INFINITY, f32::max)
    }

    pub fn calibrate(&self, margin: f32) -> f32 {
        sigmoid(self.platt_a * margin + self.platt_b)
    }

    /// Calibrated probability that `value` (raw, as found in the request) is an attack.
    pub fn probability(&self, value: &[u8]) -> f32 {
        self.calibrate(self.normalized_margin(&normalize(value)))
    }

    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(HEADER_LEN + self.weights.len() * 4 + 8);
        out.extend_from_slice(MAGIC);
        for v in [FORMAT_VERSION, FEATURE_VERSION, self.bits] {
            out.extend_from_slice(&v.to_le_bytes());
        }
        for v in [self.bias, self.platt_a, self.platt_b, self.threshold] {
            out.extend_from_slice(&v.to_le_bytes());
        }
        for w in &self.weights {
            out.extend_from_slice(&w.to_le_bytes());
        }
        let sum = fnv64(&out);
        out.extend_from_slice(&sum.to_le_bytes());
        out
    }

    /// Parses a model file's bytes; `origin` names it in errors.
    pub fn from_bytes(bytes: &[u8], origin: &str) -> Result<Model, ModelError> {
        let bad = |reason: String| ModelError::Malformed {
            path: origin.to_string(),
            reason,
        };
        if bytes.len() < HEADER_LEN + 8 || &bytes[..8] != MAGIC {
            return Err(bad("missing PALISML header".into()));
        }
        let u32_at =
            |i: usize| u32::from_le_bytes([bytes[i], bytes[i + 1], bytes[i + 2], bytes[i + 3]]);
        let f32_at = |i: usize| f32::from_bits(u32_at(i));
        let (format, features, bits) = (u32_at(8), u32_at(12), u32_at(16));
        if format != FORMAT_VERSION {
            return Err(bad(format!(
                "format version {format}, expected {FORMAT_VERSION}"
            )));
        }
        if features != FEATURE_VERSION {
            return Err(bad(format!(
                "trained for feature version {features}, this build extracts version {FEATURE_VERSION}; retrain with `palisade train`"
            )));
        }
        if !(10..=24).contains(&bits) {
            return Err(bad(format!("weight table size 2^{bits} out of range")));
        }
        let n = 1usize << bits;
        let expected = HEADER_LEN + 4 * n + 8;
        if bytes.len() != expected {
            return Err(bad(format!(
                "{} bytes, expected {expected} (truncated?)",
                bytes.len()
            )));
        }
        let body = &bytes[..expected - 8];
        let mut sum = [0u8; 8];
        sum.copy_from_slice(&bytes[expected - 8..]);
        if fnv64(body) != u64::from_le_bytes(sum) {
            return Err(bad("checksum mismatch (corrupted file)".into()));
        }
        let weights: Vec<f32> = (0..n).map(|i| f32_at(HEADER_LEN + 4 * i)).collect();
        let model = Model {
            bits,
            bias: f32_at(20),
            platt_a: f32_at(24),
            platt_b: f32_at(28),
            threshold: f32_at(32),
            weights,
        };
        if !(model.bias.is_finite()
            && model.platt_a.is_finite()
            && model.platt_b.is_finite()
            && (0.0..=1.0).contains(&model.threshold)
            && model.weights.iter().all(|w| w.is_finite()))
        {
            return Err(bad("non-finite parameters or threshold outside 0..1".into()));
        }
        Ok(model)
    }

    /// Loads `model.bin` from a model directory (or the file itself).
    pub fn load(path: &Path) -> Result<Model, ModelError> {
        let file = if path.is_dir() {
            path.join("model.bin")
        } else {
            path.to_path_buf()
        };
        let shown = file.display().to_string();
        let bytes = std::fs::read(&file).map_err(|source| ModelError::Io {
            path: shown.clone(),
            source,
        })?;
        Model::from_bytes(&bytes, &shown)
    }

    pub fn save(&self, dir: &Path) -> std::io::Result<()> {
        std::fs::create_dir_all(dir)?;
        std::fs::write(dir.join("model.bin"), self.to_bytes())
    }
}

pub fn fnv64(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in bytes {
        h = (h ^ b as u64).wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    fn small() -> Model {
        let mut m = Model::zeros(10);
        for (i, w) in m.weights.iter_mut().enumerate() {
            *w = (i as f32 * 0.37).sin();
        }
        m.bias = -0.5;
        m.platt_a = 1.5;
        m.platt_b = -0.25;
        m.threshold = 0.8;
        m
    }

    #[test]
    fn round_trips_through_bytes() {
        let m = small();
        let back = Model::from_bytes(&m.to_bytes(), "t").expect("parses");
        assert_eq!(back.weights, m.weights);
        assert_eq!(back.threshold, 0.8);
        assert_eq!(
            back.probability(b"' or 1=1--"),
            m.probability(b"' or 1=1--")
        );
    }

    #[test]
    fn malformed_files_are_clear_errors() {
        let bytes = small().to_bytes();
        let err = |b: &[u8]| Model::from_bytes(b, "x/model.bin").unwrap_err().to_string();
        assert!(err(b"{\"pickle\": 1}").contains("missing PALISML header"));
        assert!(err(&bytes[..bytes.len() - 100]).contains("truncated"));
        let mut flipped = bytes.clone();
        flipped[HEADER_LEN + 3] ^= 0x40;
        assert!(err(&flipped).contains("checksum"));
        let mut version = bytes.clone();
        version[12] = 99;
        assert!(err(&version).contains("feature version"));
        assert!(err(b"").contains("x/model.bin"));
        let missing = Model::load(Path::new("/nonexistent/model-dir")).unwrap_err();
        assert!(missing.to_string().contains("cannot read"), "{missing}");
    }

    #[test]
    fn long_values_take_the_worst_window() {
        let m = small();
        let norm: Vec<u8> = b"x".repeat(2000);
        let whole = m.normalized_margin(&norm);
        let first = m.window_margin(&norm[..crate::features::WINDOW]);
        assert!(whole >= first);
    }
}
