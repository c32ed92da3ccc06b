//! The losses PPO and GRPO minimize, what they learn from, and the loss terms they log.

use crate::metrics::MetricsRow;
use burn::tensor::Tensor;

/// What an update learns from, one entry per env step taken, flattened sample-major: the
/// normalized observation the policy acted on, its action, the action's log-probability
/// then, and the step's advantage.
#[derive(Default)]
pub(crate) struct Samples {
    pub inputs: Vec<f32>,
    pub actions: Vec<f32>,
    pub log_probs: Vec<f32>,
    pub advantages: Vec<f64>,
}

impl Samples {
    /// The number of samples.
    pub fn len(&self) -> usize {
        self.log_probs.len()
    }
}

/// The policy's part of one minibatch's loss, shared by PPO and GRPO.
pub(crate) struct PolicyLoss {
    /// The minibatch's normalized observations, `[m, obs_dim]`.
    pub obs: Tensor<2>,
    /// ln(current prob / rollout prob) of each action.
    pub log_ratio: Tensor<1>,
    /// The clipped surrogate loss less `ent_coef` times the entropy.
    pub loss: Tensor<1>,
    /// The terms logged so far (no value loss or gradient norm yet).
    pub terms: Losses,
}

/// PPO's clipped surrogate objective, negated into a loss:
/// `-mean(min(r A, clip(r, 1 - c, 1 + c) A))`.
pub(crate) fn clipped_surrogate_loss(
    ratio: Tensor<1>,
    advantages: Tensor<1>,
    clip: f32,
) -> Tensor<1> {
    (ratio.clone() * advantages.clone())
        .min_pair(ratio.clamp(1.0 - clip, 1.0 + clip) * advantages)
        .mean()
        .neg()
}

/// Half the mean squared error of the values; with `clip`, the larger of the plain and the
/// clipped error, the clipped value staying within `clip` of the rollout's value.
pub(crate) fn value_loss(
    new: Tensor<1>,
    old: Tensor<1>,
    returns: Tensor<1>,
    clip: Option<f32>,
) -> Tensor<1> {
    let unclipped = (new.clone() - returns.clone()).square();
    let error = match clip {
        Some(c) => {
            let clipped = old.clone() + (new - old).clamp(-c, c);
            unclipped.max_pair((clipped - returns).square())
        }
        None => unclipped,
    };
    error.mean().mul_scalar(0.5)
}

/// The k3 estimator of KL(rollout policy || current policy), GRPO's penalty:
/// `mean(r - 1 - ln r)` with `r = rollout prob / current prob`.
pub(crate) fn k3_kl(log_ratio: Tensor<1>) -> Tensor<1> {
    let neg = log_ratio.neg();
    (neg.clone().exp() - neg - 1.0).mean()
}

/// 1 − Var[returns − values] / Var[returns]: how much of the return the critic explains.
pub(crate) fn explained_variance(values: &[f64], returns: &[f64]) -> f64 {
    let var = |v: &[f64]| {
        let mean = v.iter().sum::<f64>() / v.len().max(1) as f64;
        v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / v.len().max(1) as f64
    };
    let residual: Vec<f64> = returns.iter().zip(values).map(|(r, v)| r - v).collect();
    let total = var(returns);
    if total == 0.0 {
        0.0
    } else {
        1.0 - var(&residual) / total
    }
}

/// Loss terms of one minibatch step.
#[derive(Default, Clone, Copy)]
pub(crate) struct Losses {
    pub policy: f64,
    pub value: f64,
    pub entropy: f64,
    pub approx_kl: f64,
    pub clip_fraction: f64,
    pub grad_norm: f64,
}

/// Loss terms of every minibatch step of an epoch.
#[derive(Default)]
pub(crate) struct LossSums {
    all: Vec<Losses>,
}

impl LossSums {
    /// Adds one minibatch step's terms.
    pub fn add(&mut self, losses: &Losses) {
        self.all.push(*losses);
    }

    /// The mean of one term over the epoch's minibatches.
    pub fn mean(&self, f: impl Fn(&Losses) -> f64) -> f64 {
        self.all.iter().map(f).sum::<f64>() / self.all.len().max(1) as f64
    }

    /// Writes the epoch means as `losses/...`.
    pub fn write(&self, row: &mut MetricsRow) {
        row.insert("losses/policy_loss".into(), self.mean(|l| l.policy));
        row.insert("losses/value_loss".into(), self.mean(|l| l.value));
        row.insert("losses/entropy".into(), self.mean(|l| l.entropy));
        row.insert("losses/approx_kl".into(), self.mean(|l| l.approx_kl));
        row.insert("losses/clipfrac".into(), self.mean(|l| l.clip_fraction));
        row.insert("losses/grad_norm".into(), self.mean(|l| l.grad_norm));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::agent::vector;
    use burn::tensor::Device;

    fn t(values: &[f32]) -> Tensor<1> {
        vector(values.to_vec(), &Device::flex())
    }

    fn scalar(t: Tensor<1>) -> f32 {
        t.into_scalar::<f32>()
    }

    #[test]
    fn clipped_surrogate_matches_a_worked_example() {
        // ratios 0.5, 1.0, 1.5 with advantages 1, -2, 2 and clip 0.2:
        // min(0.5, 0.8) = 0.5; min(-2, -2) = -2; min(3.0, 2.4) = 2.4 -> mean 0.3 -> loss -0.3.
        let loss = clipped_surrogate_loss(t(&[0.5, 1.0, 1.5]), t(&[1.0, -2.0, 2.0]), 0.2);
        assert!((scalar(loss) + 0.3).abs() < 1e-6);
        // A negative advantage with a small ratio is clipped from below: min(-0.5, -0.8) = -0.8.
        let loss = clipped_surrogate_loss(t(&[0.5]), t(&[-1.0]), 0.2);
        assert!((scalar(loss) - 0.8).abs() < 1e-6);
    }

    #[test]
    fn value_loss_clips_around_the_rollout_value() {
        // new 2, old 0, return 3, clip 0.5: plain (2-3)^2 = 1, clipped (0.5-3)^2 = 6.25.
        let clipped = value_loss(t(&[2.0]), t(&[0.0]), t(&[3.0]), Some(0.5));
        assert!((scalar(clipped) - 3.125).abs() < 1e-6);
        let plain = value_loss(t(&[2.0]), t(&[0.0]), t(&[3.0]), None);
        assert!((scalar(plain) - 0.5).abs() < 1e-6);
    }

    #[test]
    fn explained_variance_is_one_for_a_perfect_critic() {
        assert_eq!(explained_variance(&[1.0, 2.0, 3.0], &[1.0, 2.0, 3.0]), 1.0);
        assert_eq!(explained_variance(&[0.0, 0.0], &[1.0, 3.0]), 0.0);
    }
}
