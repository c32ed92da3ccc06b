//! Reward reflection: what training with a reward did, as text for the next prompt. More than
//! Eureka gives: each component at about ten checkpoints with its max, mean and min, its share
//! of |total|, flags for constant or dominant components, and the episode length, success rate
//! and task measure at the same checkpoints.

use envs::Fitness;
use reward_dsl::DOMINANT_SHARE;
use serde::Serialize;
use std::fmt::Write;
use trainer::metrics::MetricsRow;

/// Checkpoints sampled for the series.
pub const REFLECTION_POINTS: usize = 10;

/// One series sampled at the reflection's checkpoints.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Series {
    pub name: String,
    pub values: Vec<f64>,
    pub max: f64,
    pub mean: f64,
    pub min: f64,
}

impl Series {
    fn new(name: &str, values: Vec<f64>) -> Option<Self> {
        if values.is_empty() {
            return None;
        }
        let max = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let min = values.iter().copied().fold(f64::INFINITY, f64::min);
        let mean = values.iter().sum::<f64>() / values.len() as f64;
        Some(Self {
            name: name.to_string(),
            values,
            max,
            mean,
            min,
        })
    }

    fn is_constant(&self) -> bool {
        (self.max - self.min).abs() <= 1e-9 * self.max.abs().max(self.min.abs()).max(1.0)
    }
}

/// A reward component's series, share of the summed mean |component| and flags.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ComponentReflection {
    pub series: Series,
    pub share: f64,
    pub constant: bool,
    pub dominant: bool,
}

/// Training statistics of one candidate.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Reflection {
    /// Env steps at the sampled checkpoints.
    pub steps: Vec<u64>,
    pub components: Vec<ComponentReflection>,
    pub episode_length: Option<Series>,
    pub success_rate: Option<Series>,
    /// The task's own measure when it is not the success rate (tracking error, ...).
    pub task_measure: Option<Series>,
}

/// Indices of about `points` rows spread evenly over `len`, always including the last.
fn sample_indices(len: usize, points: usize) -> Vec<usize> {
    if len <= points {
        return (0..len).collect();
    }
    (1..=points).map(|k| k * len / points - 1).collect()
}

impl Reflection {
    /// Builds the reflection from a run's metrics rows.
    pub fn from_metrics(rows: &[MetricsRow], fitness: &Fitness) -> Self {
        let picks = sample_indices(rows.len(), REFLECTION_POINTS);
        let sampled: Vec<&MetricsRow> = picks.iter().map(|&i| &rows[i]).collect();
        let series = |key: &str, name: &str| {
            Series::new(
                name,
                sampled.iter().filter_map(|r| r.get(key).copied()).collect(),
            )
        };
        let names: std::collections::BTreeSet<&str> = rows
            .iter()
            .flat_map(|r| r.keys())
            .filter_map(|k| k.strip_prefix("reward/"))
            .collect();
        let mut components: Vec<ComponentReflection> = names
            .iter()
            .filter_map(|name| series(&format!("reward/{name}"), name))
            .map(|series| ComponentReflection {
                constant: series.is_constant(),
                series,
                share: 0.0,
                dominant: false,
            })
            .collect();
        let magnitude = |c: &ComponentReflection| {
            c.series.values.iter().map(|v| v.abs()).sum::<f64>() / c.series.values.len() as f64
        };
        let sum: f64 = components.iter().map(magnitude).sum();
        let several = components.len() > 1;
        if sum > 0.0 {
            for c in &mut components {
                c.share = magnitude(c) / sum;
                c.dominant = several && c.share > DOMINANT_SHARE;
            }
        }
        let task_measure = fitness
            .own_measure()
            .and_then(|key| series(&crate::fitness::metric_key(fitness), key));
        Self {
            steps: sampled
                .iter()
                .filter_map(|r| r.get("global_step").map(|s| *s as u64))
                .collect(),
            components,
            episode_length: series("charts/episodic_length", "episode_length"),
            success_rate: series("charts/success_rate", "success_rate"),
            task_measure,
        }
    }

    /// The text a language model reads: one line per series, then the flags.
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        let steps: Vec<String> = self.steps.iter().map(|s| s.to_string()).collect();
        let _ = writeln!(
            out,
            "Values at {} checkpoints of training (env steps {}):",
            self.steps.len(),
            steps.join(", ")
        );
        let line = |out: &mut String, s: &Series, extra: &str| {
            let values: Vec<String> = s.values.iter().map(|v| format_value(*v)).collect();
            let _ = writeln!(
                out,
                "{}: [{}], Max: {}, Mean: {}, Min: {}{extra}",
                s.name,
                values.join(", "),
                format_value(s.max),
                format_value(s.mean),
                format_value(s.min)
            );
        };
        for c in &self.components {
            let extra = format!(", share of |total|: {:.0}%", 100.0 * c.share);
            line(&mut out, &c.series, &extra);
        }
        for s in [&self.success_rate, &self.task_measure, &self.episode_length]
            .into_iter()
            .flatten()
        {
            line(&mut out, s, "");
        }
        let mut flags = Vec::new();
        for c in &self.components {
            if c.constant {
                flags.push(format!(
                    "- {} is constant during training: it gives the policy no signal; rewrite or drop it.",
                    c.series.name
                ));
            }
            if c.dominant {
                flags.push(format!(
                    "- {} makes up {:.0}% of |total|: the other components barely matter; rescale it.",
                    c.series.name,
                    100.0 * c.share
                ));
            }
        }
        if !flags.is_empty() {
            let _ = writeln!(out, "Flags:");
            for flag in flags {
                let _ = writeln!(out, "{flag}");
            }
        }
        out
    }
}

/// Four significant digits, without trailing noise.
fn format_value(v: f64) -> String {
    if v == 0.0 {
        return "0".into();
    }
    let magnitude = v.abs().log10().floor() as i32;
    if !(-3..5).contains(&magnitude) {
        return format!("{v:.3e}");
    }
    let decimals = (3 - magnitude).max(0) as usize;
    let text = format!("{v:.decimals$}");
    if text.contains('.') {
        text.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(step: u64, approach: f64, effort: f64, success: f64, length: f64) -> MetricsRow {
        let mut r = MetricsRow::new();
        r.insert("global_step".into(), step as f64);
        r.insert("reward/approach".into(), approach);
        r.insert("reward/effort".into(), effort);
        r.insert("charts/success_rate".into(), success);
        r.insert("charts/episodic_length".into(), length);
        r.insert("final/is_success".into(), success);
        r
    }

    #[test]
    fn samples_ten_checkpoints_including_the_last() {
        let rows: Vec<MetricsRow> = (1..=35)
            .map(|i| row(i * 100, -(i as f64), -0.01, i as f64 / 35.0, 50.0))
            .collect();
        let r = Reflection::from_metrics(&rows, &Fitness::success_rate(None));
        assert_eq!(r.steps.len(), REFLECTION_POINTS);
        assert_eq!(*r.steps.last().unwrap(), 3500);
        let approach = &r.components[0];
        assert_eq!(approach.series.name, "approach");
        assert_eq!(approach.series.min, -35.0);
        // approach dwarfs a constant effort: dominant, and effort is flagged constant.
        assert!(approach.dominant && !approach.constant);
        assert!(r.components[1].constant);
        let text = r.to_text();
        assert!(text.contains("approach: ["), "{text}");
        assert!(text.contains("Max: -3, "), "{text}");
        assert!(text.contains("effort is constant"), "{text}");
        assert!(text.contains("approach makes up"), "{text}");
        assert!(text.contains("episode_length: [50"), "{text}");
        assert!(text.contains("success_rate: ["), "{text}");
    }

    #[test]
    fn the_task_error_appears_for_error_measured_tasks() {
        let mut rows: Vec<MetricsRow> = (1..=4).map(|i| row(i, 1.0, 1.0, 0.0, 500.0)).collect();
        for (i, r) in rows.iter_mut().enumerate() {
            r.insert("final/tracking_error".into(), 1.0 - 0.2 * i as f64);
        }
        let r = Reflection::from_metrics(&rows, &Fitness::error("tracking_error"));
        let text = r.to_text();
        assert!(
            text.contains("tracking_error: [1, 0.8, 0.6, 0.4]"),
            "{text}"
        );
        // Equal shares: neither is dominant.
        assert!(
            r.components
                .iter()
                .all(|c| !c.dominant && (c.share - 0.5).abs() < 1e-9)
        );
    }

    #[test]
    fn values_print_with_four_significant_digits() {
        assert_eq!(format_value(0.123456), "0.1235");
        assert_eq!(format_value(-12.5), "-12.5");
        assert_eq!(format_value(1.0e-6), "1.000e-6");
        assert_eq!(format_value(0.0), "0");
    }
}
