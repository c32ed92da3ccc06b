//! Whether the best reward really beats the human one: Welch's t-test over the final seeds,
//! and a bootstrap interval for Eureka's human-normalized score.

use crate::fitness::{T_975, human_normalized};
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::Serialize;

/// How the best reward compares with the human one on the task's measure.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Better,
    NotDistinguishable,
    Worse,
}

/// Welch's two-sample comparison of best against human, signed so that a positive
/// difference is better.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Verdict {
    pub outcome: Outcome,
    /// Mean of best minus mean of human, in the measure's units, positive when best is better.
    pub difference: f64,
    /// 95% Welch interval of the difference.
    pub low: f64,
    pub high: f64,
    /// Welch–Satterthwaite degrees of freedom.
    pub degrees_of_freedom: f64,
}

fn mean_var(values: &[f64]) -> (f64, f64) {
    let n = values.len() as f64;
    let mean = values.iter().sum::<f64>() / n;
    let var = values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1.0);
    (mean, var)
}

/// Welch's t-test at 95% between per-seed results; `None` with fewer than 2 seeds on a side.
/// `sign` is 1 when higher is better, -1 when lower is.
pub fn compare(best: &[f64], human: &[f64], sign: f64) -> Option<Verdict> {
    if best.len() < 2 || human.len() < 2 {
        return None;
    }
    let (mb, vb) = mean_var(best);
    let (mh, vh) = mean_var(human);
    let (sb, sh) = (vb / best.len() as f64, vh / human.len() as f64);
    let difference = sign * (mb - mh);
    let se = (sb + sh).sqrt();
    let df = if se > 0.0 {
        (sb + sh).powi(2)
            / (sb.powi(2) / (best.len() - 1) as f64 + sh.powi(2) / (human.len() - 1) as f64)
    } else {
        (best.len() + human.len() - 2) as f64
    };
    // Fractional degrees of freedom round down: the interval errs wide.
    let t = T_975
        .get((df.floor() as usize).saturating_sub(1))
        .copied()
        .unwrap_or(1.96);
    let (low, high) = (difference - t * se, difference + t * se);
    let outcome = if low > 0.0 {
        Outcome::Better
    } else if high < 0.0 {
        Outcome::Worse
    } else {
        Outcome::NotDistinguishable
    };
    Some(Verdict {
        outcome,
        difference,
        low,
        high,
        degrees_of_freedom: df,
    })
}

/// Resamples drawn for [`human_normalized_interval`].
pub const BOOTSTRAP_RESAMPLES: usize = 10_000;

/// A 95% percentile-bootstrap interval for the human-normalized score, resampling each
/// reward's seeds with replacement (seeded, so the report is reproducible). `None` when a
/// side has no seeds or human and sparse tie in most resamples.
pub fn human_normalized_interval(
    best: &[f64],
    human: &[f64],
    sparse: &[f64],
    sign: f64,
) -> Option<(f64, f64)> {
    if best.is_empty() || human.is_empty() || sparse.is_empty() {
        return None;
    }
    let mut rng = ChaCha8Rng::seed_from_u64(0);
    let mut resample = |values: &[f64]| {
        (0..values.len())
            .map(|_| values[rng.random_range(0..values.len())])
            .sum::<f64>()
            / values.len() as f64
    };
    let mut scores: Vec<f64> = (0..BOOTSTRAP_RESAMPLES)
        .filter_map(|_| {
            let (b, h, s) = (resample(best), resample(human), resample(sparse));
            human_normalized(sign * b, sign * h, sign * s)
        })
        .collect();
    if scores.len() < BOOTSTRAP_RESAMPLES / 2 {
        return None;
    }
    scores.sort_by(f64::total_cmp);
    let at = |q: f64| scores[((scores.len() - 1) as f64 * q).round() as usize];
    Some((at(0.025), at(0.975)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn welch_finds_a_clear_gap_and_refuses_to_call_an_overlap() {
        let v = compare(&[0.9, 0.85, 0.95], &[0.5, 0.55, 0.45], 1.0).unwrap();
        assert_eq!(v.outcome, Outcome::Better);
        assert!((v.difference - 0.4).abs() < 1e-12);
        // Equal variances and sizes: df = 4, t = 2.776, se = sqrt(2 * 0.0025 / 3).
        let se = (2.0 * 0.0025f64 / 3.0).sqrt();
        assert!((v.low - (0.4 - 2.776 * se)).abs() < 1e-9, "{v:?}");
        assert!((v.degrees_of_freedom - 4.0).abs() < 1e-9);
        let overlap = compare(&[0.1, 0.5, 0.3], &[0.2, 0.4, 0.35], 1.0).unwrap();
        assert_eq!(overlap.outcome, Outcome::NotDistinguishable);
        let worse = compare(&[0.1, 0.12, 0.11], &[0.5, 0.55, 0.45], 1.0).unwrap();
        assert_eq!(worse.outcome, Outcome::Worse);
        assert!(
            compare(&[0.9], &[0.5, 0.4], 1.0).is_none(),
            "one seed says nothing"
        );
    }

    #[test]
    fn lower_is_better_flips_the_sign() {
        let v = compare(&[0.1, 0.12, 0.11], &[0.5, 0.55, 0.45], -1.0).unwrap();
        assert_eq!(v.outcome, Outcome::Better);
        assert!(v.difference > 0.0);
    }

    #[test]
    fn the_bootstrap_interval_holds_the_point_score_and_is_reproducible() {
        let (best, human, sparse) = ([0.8, 0.9, 0.7], [0.5, 0.6, 0.4], [0.0, 0.1, 0.0]);
        let (lo, hi) = human_normalized_interval(&best, &human, &sparse, 1.0).unwrap();
        let point = human_normalized(0.8, 0.5, 1.0 / 30.0).unwrap();
        assert!(lo < point && point < hi, "{lo} {point} {hi}");
        assert_eq!(
            human_normalized_interval(&best, &human, &sparse, 1.0),
            Some((lo, hi))
        );
        assert_eq!(
            human_normalized_interval(&best, &[0.0, 0.0], &[0.0, 0.0], 1.0),
            None,
            "human and sparse always tie"
        );
    }
}
