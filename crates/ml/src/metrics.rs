//! Binary classification metrics at a threshold, and ROC-AUC over all thresholds.

use serde::Serialize;

#[derive(Debug, Clone, Copy, Default, Serialize, PartialEq)]
pub struct Metrics {
    pub samples: usize,
    pub attacks: usize,
    pub threshold: f32,
    pub tp: usize,
    pub fp: usize,
    pub tn: usize,
    pub fn_: usize,
    pub precision: f64,
    pub recall: f64,
    pub f1: f64,
    pub fpr: f64,
    pub roc_auc: f64,
}

fn ratio(a: usize, b: usize) -> f64 {
    if b == 0 {
        0.0
    } else {
        a as f64 / b as f64
    }
}

/// `scored`: (probability, is_attack).
pub fn compute(scored: &[(f32, bool)], threshold: f32) -> Metrics {
    let (mut tp, mut fp, mut tn, mut fn_) = (0, 0, 0, 0);
    for &(p, attack) in scored {
        match (attack, p >= threshold) {
            (true, true) => tp += 1,
            (true, false) => fn_ += 1,
            (false, true) => fp += 1,
            (false, false) => tn += 1,
        }
    }
    let precision = ratio(tp, tp + fp);
    let recall = ratio(tp, tp + fn_);
    let f1 = if precision + recall > 0.0 {
        2.0 * precision * recall / (precision + recall)
    } else {
        0.0
    };
    Metrics {
        samples: scored.len(),
        attacks: tp + fn_,
        threshold,
        tp,
        fp,
        tn,
        fn_,
        precision,
        recall,
        f1,
        fpr: ratio(fp, fp + tn),
        roc_auc: roc_auc(scored),
    }
}

/// Area under the ROC curve (probability that a random attack outscores a random benign
/// sample; ties count one half).
pub fn roc_auc(scored: &[(f32, bool)]) -> f64 {
    let mut v: Vec<(f32, bool)> = scored.to_vec();
    v.sort_by(|a, b| a.0.total_cmp(&b.0));
    let pos = v.iter().filter(|x| x.1).count() as f64;
    let neg = v.len() as f64 - pos;
    if pos == 0.0 || neg == 0.0 {
        return 0.0;
    }
    // Sum of ranks of positives, with average ranks for ties.
    let mut rank_sum = 0.0f64;
    let mut i = 0;
    while i < v.len() {
        let mut j = i;
        while j < v.len() && v[j].0 == v[i].0 {
            j += 1;
        }
        let avg = (i + 1 + j) as f64 / 2.0;
        rank_sum += v[i..j].iter().filter(|x| x.1).count() as f64 * avg;
        i = j;
    }
    (rank_sum - pos * (pos + 1.0) / 2.0) / (pos * neg)
}

impl std::fmt::Display for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "n={} (attacks {}) threshold={:.3} precision={:.4} recall={:.4} F1={:.4} ROC-AUC={:.4} FPR={:.5} (tp {} fp {} tn {} fn {})",
            self.samples, self.attacks, self.threshold, self.precision, self.recall, self.f1,
            self.roc_auc, self.fpr, self.tp, self.fp, self.tn, self.fn_
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_and_auc() {
        let s = [(0.9, true), (0.8, false), (0.7, true), (0.1, false)];
        let m = compute(&s, 0.75);
        assert_eq!((m.tp, m.fp, m.tn, m.fn_), (1, 1, 1, 1));
        assert!((m.precision - 0.5).abs() < 1e-9);
        assert!((roc_auc(&s) - 0.75).abs() < 1e-9);
        assert!((roc_auc(&[(0.5, true), (0.5, false)]) - 0.5).abs() < 1e-9);
    }
}
