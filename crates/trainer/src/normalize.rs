//! Observation and reward normalization across a batch of envs, by running statistics
//! ([`RunningMeanStd`]). The trainer keeps one set for all envs, as Stable-Baselines3's
//! `VecNormalize` does, so a checkpoint holds exactly the statistics the policy was trained
//! under.

use serde::{Deserialize, Serialize};

const EPSILON: f64 = 1e-8;
/// Normalized observations and rewards are clipped to ±this (CleanRL and Gymnasium: 10).
pub const CLIP: f64 = 10.0;

/// Running mean and variance of a stream of vectors (Chan et al.'s parallel update), kept
/// for checkpoints so that a resumed or evaluated policy sees the same normalization.
#[derive(Debug, Clone, PartialEq)]
pub struct RunningMeanStd {
    pub mean: Vec<f64>,
    pub var: Vec<f64>,
    pub count: f64,
}

impl RunningMeanStd {
    pub fn new(dim: usize) -> Self {
        Self {
            mean: vec![0.0; dim],
            var: vec![1.0; dim],
            count: 1e-4,
        }
    }

    /// Folds one sample into the statistics.
    pub fn update(&mut self, x: &[f64]) {
        let total = self.count + 1.0;
        for ((m, v), xi) in self.mean.iter_mut().zip(&mut self.var).zip(x) {
            let delta = xi - *m;
            let new_mean = *m + delta / total;
            let m2 = *v * self.count + delta * delta * self.count / total;
            *m = new_mean;
            *v = m2 / total;
        }
        self.count = total;
    }
}

/// Running observation statistics.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ObsNormalizer {
    #[serde(with = "stats_json")]
    pub stats: RunningMeanStd,
    pub enabled: bool,
}

impl ObsNormalizer {
    pub fn new(dim: usize, enabled: bool) -> Self {
        Self {
            stats: RunningMeanStd::new(dim),
            enabled,
        }
    }

    /// Folds a batch of observations into the statistics.
    pub fn update(&mut self, batch: &[Vec<f64>]) {
        if self.enabled {
            batch.iter().for_each(|obs| self.stats.update(obs));
        }
    }

    /// One observation, normalized and clipped, as the policy's input.
    pub fn normalize(&self, obs: &[f64]) -> Vec<f32> {
        if !self.enabled {
            return obs.iter().map(|v| *v as f32).collect();
        }
        obs.iter()
            .zip(self.stats.mean.iter().zip(&self.stats.var))
            .map(|(v, (m, var))| ((v - m) / (var + EPSILON).sqrt()).clamp(-CLIP, CLIP) as f32)
            .collect()
    }
}

/// Scales rewards by the running standard deviation of each env's discounted return.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RewardScaler {
    #[serde(with = "stats_json")]
    pub stats: RunningMeanStd,
    pub enabled: bool,
    #[serde(with = "crate::metrics::json_f64")]
    gamma: f64,
    #[serde(skip)]
    returns: Vec<f64>,
}

impl RewardScaler {
    pub fn new(num_envs: usize, gamma: f64, enabled: bool) -> Self {
        Self {
            stats: RunningMeanStd::new(1),
            enabled,
            gamma,
            returns: vec![0.0; num_envs],
        }
    }

    /// Scales one step's rewards of all envs; `dones` reset the discounted returns after use.
    pub fn scale(&mut self, rewards: &[f64], dones: &[bool]) -> Vec<f64> {
        if !self.enabled {
            return rewards.to_vec();
        }
        self.returns.resize(rewards.len(), 0.0);
        for (ret, r) in self.returns.iter_mut().zip(rewards) {
            *ret = *ret * self.gamma + r;
            self.stats.update(&[*ret]);
        }
        let std = (self.stats.var[0] + EPSILON).sqrt();
        for (ret, done) in self.returns.iter_mut().zip(dones) {
            if *done {
                *ret = 0.0;
            }
        }
        rewards
            .iter()
            .map(|r| (r / std).clamp(-CLIP, CLIP))
            .collect()
    }
}

/// Statistics in a checkpoint's `state.json`, each number a [`crate::metrics::JsonF64`]: a
/// statistic that overflowed (a huge reward makes the return's variance infinite) writes as
/// `"inf"` and reads back, where serde_json's `null` would make the checkpoint unreadable.
mod stats_json {
    use super::RunningMeanStd;
    use crate::metrics::{json_f64, json_f64_vec};
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    #[derive(Serialize, Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Stats {
        #[serde(with = "json_f64_vec")]
        mean: Vec<f64>,
        #[serde(with = "json_f64_vec")]
        var: Vec<f64>,
        #[serde(with = "json_f64")]
        count: f64,
    }

    pub fn serialize<S: Serializer>(s: &RunningMeanStd, serializer: S) -> Result<S::Ok, S::Error> {
        Stats {
            mean: s.mean.clone(),
            var: s.var.clone(),
            count: s.count,
        }
        .serialize(serializer)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<RunningMeanStd, D::Error> {
        let Stats { mean, var, count } = Stats::deserialize(deserializer)?;
        Ok(RunningMeanStd { mean, var, count })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn running_mean_std_matches_batch_statistics() {
        let xs = [1.0, 2.0, 4.0, 7.0, 11.0];
        let mut stats = RunningMeanStd::new(1);
        for x in xs {
            stats.update(&[x]);
        }
        let mean = xs.iter().sum::<f64>() / 5.0;
        let var = xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / 5.0;
        assert!((stats.mean[0] - mean).abs() < 1e-3);
        assert!((stats.var[0] - var).abs() < 1e-2);
    }

    #[test]
    fn observations_are_centred_and_clipped() {
        let mut norm = ObsNormalizer::new(1, true);
        norm.update(&[vec![1.0], vec![3.0]]);
        let centred = norm.normalize(&[2.0]);
        assert!(centred[0].abs() < 1e-3, "{centred:?}");
        assert_eq!(norm.normalize(&[1e9])[0] as f64, CLIP);
        let off = ObsNormalizer::new(1, false);
        assert_eq!(off.normalize(&[7.5]), vec![7.5f32]);
    }

    #[test]
    fn overflowed_statistics_survive_a_checkpoint() {
        let mut scaler = RewardScaler::new(1, 0.99, true);
        scaler.scale(&[1e307], &[false]);
        scaler.scale(&[1e307], &[false]);
        scaler.stats.mean[0] = f64::NAN;
        assert!(scaler.stats.var[0].is_infinite(), "{:?}", scaler.stats);
        let text = serde_json::to_string(&scaler).unwrap();
        assert!(!text.contains("null"), "{text}");
        let back: RewardScaler = serde_json::from_str(&text).unwrap();
        assert!(back.stats.var[0].is_infinite() && back.stats.mean[0].is_nan());
        assert!((back.stats.count - scaler.stats.count).abs() < 1e-9);
        // A state.json written before, with serde_json's nulls, reads too.
        let old = r#"{"stats":{"mean":[null],"var":[1.0],"count":2.0},"enabled":true}"#;
        let obs: ObsNormalizer = serde_json::from_str(old).unwrap();
        assert!(obs.stats.mean[0].is_nan());
    }

    #[test]
    fn rewards_are_divided_by_the_return_std() {
        let mut scaler = RewardScaler::new(2, 0.9, true);
        let mut last = Vec::new();
        for _ in 0..200 {
            last = scaler.scale(&[1.0, 2.0], &[false, false]);
        }
        let std = (scaler.stats.var[0] + EPSILON).sqrt();
        assert!((last[0] - 1.0 / std).abs() < 1e-12 && (last[1] - 2.0 / std).abs() < 1e-12);
        assert_eq!(
            RewardScaler::new(1, 0.9, false).scale(&[3.0], &[true]),
            vec![3.0]
        );
    }
}
