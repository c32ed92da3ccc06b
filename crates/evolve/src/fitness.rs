//! Fitness: how well a reward taught, read from the task's own per-episode measure during
//! training, never from the reward itself.

use envs::Fitness;
use serde::Serialize;
use trainer::metrics::{MetricsRow, window_mean};

/// Fitness averages the last fifth of a run's checkpoints, not a single lucky one.
pub const FITNESS_WINDOW: f64 = 0.2;

/// The metrics key the task's measure is logged under (`final/<info key>`).
pub fn metric_key(fitness: &Fitness) -> String {
    format!("final/{}", fitness.info_key)
}

/// The task's measure (success rate, tracking error, ...) over the last [`FITNESS_WINDOW`]
/// of `rows`, in its own units.
pub fn task_measure(rows: &[MetricsRow], fitness: &Fitness) -> Option<f64> {
    window_mean(rows, &metric_key(fitness), FITNESS_WINDOW)
}

/// Fitness, higher is better: the task measure, negated when smaller is better.
pub fn fitness(rows: &[MetricsRow], spec: &Fitness) -> Option<f64> {
    task_measure(rows, spec).map(|m| signed(m, spec))
}

/// The tiebreak error over the same checkpoints, when the task has one.
pub fn tiebreak(rows: &[MetricsRow], spec: &Fitness) -> Option<f64> {
    let key = spec.tiebreak.as_ref()?;
    window_mean(rows, &format!("final/{key}"), FITNESS_WINDOW)
}

/// Orders two (fitness, tiebreak) results, best first: higher fitness, then smaller
/// tiebreak error; a missing value ranks last.
pub fn rank(a: (Option<f64>, Option<f64>), b: (Option<f64>, Option<f64>)) -> std::cmp::Ordering {
    let key = |v: Option<f64>, flip: bool| {
        v.filter(|x| x.is_finite())
            .map_or(f64::NEG_INFINITY, |x| if flip { -x } else { x })
    };
    key(b.0, false)
        .total_cmp(&key(a.0, false))
        .then(key(b.1, true).total_cmp(&key(a.1, true)))
}

fn signed(measure: f64, spec: &Fitness) -> f64 {
    if spec.higher_is_better {
        measure
    } else {
        -measure
    }
}

/// The rows of a run as it stood at `step`: up to the first one that reaches it, where a run
/// trained until `step` pauses. A rung's fitness is read from these.
pub fn rows_through(rows: &[MetricsRow], step: u64) -> &[MetricsRow] {
    let reached = rows
        .iter()
        .position(|row| row.get("global_step").is_some_and(|s| *s >= step as f64))
        .map_or(rows.len(), |i| i + 1);
    &rows[..reached]
}

/// Mean and 95% confidence half-width (Student's t) of a sample.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct MeanCi {
    pub mean: f64,
    /// Half-width of the 95% interval; 0 for a single value.
    pub half_width: f64,
    pub n: usize,
}

/// Two-sided 97.5% quantiles of Student's t for 1..=30 degrees of freedom.
pub(crate) const T_975: [f64; 30] = [
    12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.160,
    2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064, 2.060, 2.056,
    2.052, 2.048, 2.045, 2.042,
];

/// Mean ± 95% CI of `values`; `None` when empty.
pub fn mean_ci(values: &[f64]) -> Option<MeanCi> {
    let n = values.len();
    if n == 0 {
        return None;
    }
    let mean = values.iter().sum::<f64>() / n as f64;
    let half_width = if n < 2 {
        0.0
    } else {
        let var = values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1) as f64;
        let t = T_975.get(n - 2).copied().unwrap_or(1.96);
        t * (var / n as f64).sqrt()
    };
    Some(MeanCi {
        mean,
        half_width,
        n,
    })
}

/// The seeds' `curves` (each sorted by step) on a common grid of `n` steps spanning all of
/// them, each interpolated linearly, with the mean ± 95% CI over the seeds that cover each
/// step: `(step, mean_ci)`. Steps no seed covers are left out.
pub fn band_over_seeds(curves: &[Vec<(f64, f64)>], n: usize) -> Vec<(f64, MeanCi)> {
    let grid = trainer::common_grid(curves, n);
    let resampled: Vec<Vec<Option<f64>>> =
        curves.iter().map(|c| trainer::resample(c, &grid)).collect();
    grid.iter()
        .enumerate()
        .filter_map(|(i, &x)| {
            let values: Vec<f64> = resampled.iter().filter_map(|r| r[i]).collect();
            Some((x, mean_ci(&values)?))
        })
        .collect()
}

/// Eureka's human-normalized score, (best − sparse) / |human − sparse|; `None` when the human
/// and sparse rewards score the same.
pub fn human_normalized(best: f64, human: f64, sparse: f64) -> Option<f64> {
    let span = (human - sparse).abs();
    (span > 1e-12).then(|| (best - sparse) / span)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows(values: &[f64]) -> Vec<MetricsRow> {
        values
            .iter()
            .enumerate()
            .map(|(i, v)| {
                let mut row = MetricsRow::new();
                row.insert("global_step".into(), ((i + 1) * 100) as f64);
                row.insert("final/is_success".into(), *v);
                row.insert("final/tracking_error".into(), *v);
                row
            })
            .collect()
    }

    #[test]
    fn fitness_is_the_mean_of_the_last_fifth_not_the_best_checkpoint() {
        // One lucky checkpoint early on does not count; the last 2 of 10 do.
        let r = rows(&[0.0, 1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.4, 0.6]);
        let f = fitness(&r, &Fitness::success_rate(None)).unwrap();
        assert!((f - 0.5).abs() < 1e-12, "{f}");
    }

    #[test]
    fn errors_are_negated_so_higher_is_better() {
        let r = rows(&[0.9, 0.3]);
        let f = fitness(&r, &Fitness::error("tracking_error")).unwrap();
        assert!((f + 0.3).abs() < 1e-12, "{f}");
        assert_eq!(
            task_measure(&r, &Fitness::error("tracking_error")),
            Some(0.3)
        );
    }

    #[test]
    fn fitness_at_a_step_ignores_later_rows() {
        let r = rows(&[0.1, 0.2, 0.3, 0.4, 0.9, 0.9, 0.9, 0.9, 0.9, 0.9]);
        let at = |step| fitness(rows_through(&r, step), &Fitness::success_rate(None));
        // Up to step 500: rows 0.1..0.9 (5 rows), last fifth is the last row.
        assert_eq!(at(500), Some(0.9));
        // 350 is first reached by the row at 400, where a run trained until 350 pauses.
        assert_eq!(at(350), Some(0.4));
        assert_eq!(at(50), Some(0.1));
        assert_eq!(rows_through(&r, 5000).len(), 10);
        assert!(rows_through(&[], 50).is_empty());
    }

    #[test]
    fn ranking_breaks_ties_by_the_smaller_error() {
        use std::cmp::Ordering::*;
        assert_eq!(rank((Some(0.5), None), (Some(0.2), None)), Less);
        assert_eq!(
            rank((Some(0.0), Some(0.3)), (Some(0.0), Some(0.1))),
            Greater
        );
        assert_eq!(rank((Some(0.0), Some(0.1)), (None, Some(0.0))), Less);
    }

    #[test]
    fn ci_uses_students_t() {
        let ci = mean_ci(&[0.5, 0.7, 0.9]).unwrap();
        assert!((ci.mean - 0.7).abs() < 1e-12);
        // s = 0.2, t(2) = 4.303, half = 4.303 * 0.2 / sqrt(3)
        assert!((ci.half_width - 4.303 * 0.2 / 3f64.sqrt()).abs() < 1e-9);
        assert_eq!(mean_ci(&[0.4]).unwrap().half_width, 0.0);
        assert!(mean_ci(&[]).is_none());
    }

    #[test]
    fn seeds_are_averaged_on_a_common_grid_with_a_students_t_band() {
        // Three seeds logged at different steps; the third starts late.
        let curves = vec![
            vec![(0.0, 0.0), (100.0, 1.0)],
            vec![(0.0, 2.0), (50.0, 2.0), (100.0, 4.0)],
            vec![(50.0, 1.0), (100.0, 1.0)],
        ];
        let band = band_over_seeds(&curves, 3);
        let steps: Vec<f64> = band.iter().map(|b| b.0).collect();
        assert_eq!(steps, vec![0.0, 50.0, 100.0]);
        // Step 0: seeds 1 and 2 only, 0 and 2: mean 1, sd √2, t(1) = 12.706.
        assert_eq!(band[0].1.n, 2);
        assert!((band[0].1.mean - 1.0).abs() < 1e-12);
        assert!((band[0].1.half_width - 12.706).abs() < 1e-9);
        // Step 50: 0.5 (interpolated), 2 and 1: mean 7/6, t(2) = 4.303.
        let m: f64 = 3.5 / 3.0;
        let sd = (((0.5 - m).powi(2) + (2.0 - m).powi(2) + (1.0 - m).powi(2)) / 2.0).sqrt();
        assert_eq!(band[1].1.n, 3);
        assert!((band[1].1.mean - m).abs() < 1e-12);
        assert!((band[1].1.half_width - 4.303 * sd / 3f64.sqrt()).abs() < 1e-9);
        // Step 100: 1, 4, 1: mean 2.
        assert!((band[2].1.mean - 2.0).abs() < 1e-12);
        assert!(band_over_seeds(&[], 10).is_empty());
    }

    #[test]
    fn human_normalized_score_follows_eureka() {
        assert!((human_normalized(0.8, 0.6, 0.2).unwrap() - 1.5).abs() < 1e-12);
        assert_eq!(human_normalized(0.2, 0.6, 0.2), Some(0.0));
        assert_eq!(human_normalized(0.5, 0.3, 0.3), None);
    }
}
