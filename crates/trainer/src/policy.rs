//! Acting with a trained agent: batched inference without autodiff.

use crate::agent::{Agent, matrix, values};
use crate::normalize::ObsNormalizer;
use burn::module::Module;
use burn::tensor::Device;
use rand_chacha::ChaCha8Rng;
use rl_env::standard_normal;

/// What the policy decided for a batch of observations.
pub struct Decision {
    /// Actions as sampled (before any clipping by the env).
    pub actions: Vec<Vec<f64>>,
    /// Log-probability of each action under the policy.
    pub log_probs: Vec<f64>,
    /// The critic's value of each observation.
    pub values: Vec<f64>,
    /// The normalized observations the decision was made on, row-major.
    pub inputs: Vec<f32>,
}

/// An agent on the plain (non-autodiff) device, with the observation statistics it was
/// trained under.
pub struct Policy {
    agent: Agent,
    device: Device,
    log_std: Vec<f64>,
    obs_dim: usize,
}

impl Policy {
    /// Snapshots an autodiff agent for acting.
    pub fn new(agent: &Agent, obs_dim: usize) -> Self {
        let agent = agent.valid();
        let device = agent.log_std().device();
        let log_std = values(agent.log_std()).into_iter().map(f64::from).collect();
        Self {
            agent,
            device,
            log_std,
            obs_dim,
        }
    }

    /// Normalizes a batch of raw observations.
    pub fn inputs(&self, normalizer: &ObsNormalizer, observations: &[Vec<f64>]) -> Vec<f32> {
        observations
            .iter()
            .flat_map(|o| normalizer.normalize(o))
            .collect()
    }

    /// The critic's values of normalized observations.
    pub fn values(&self, inputs: Vec<f32>) -> Vec<f64> {
        let rows = inputs.len() / self.obs_dim;
        let obs = matrix(inputs, rows, self.obs_dim, &self.device);
        values(self.agent.value(obs))
            .into_iter()
            .map(f64::from)
            .collect()
    }

    /// Samples an action for each observation (the mean when `deterministic`), with its
    /// log-probability and the critic's value.
    pub fn decide(
        &self,
        normalizer: &ObsNormalizer,
        observations: &[Vec<f64>],
        rng: &mut ChaCha8Rng,
        deterministic: bool,
    ) -> Decision {
        let inputs = self.inputs(normalizer, observations);
        let rows = observations.len();
        let obs = matrix(inputs.clone(), rows, self.obs_dim, &self.device);
        let means = values(self.agent.action_mean(obs.clone()));
        let values_out = values(self.agent.value(obs))
            .into_iter()
            .map(f64::from)
            .collect();
        let act_dim = self.log_std.len();
        let mut actions = Vec::with_capacity(rows);
        let mut log_probs = Vec::with_capacity(rows);
        let half_ln_2pi = 0.5 * (2.0 * std::f64::consts::PI).ln();
        for row in means.chunks(act_dim) {
            let mut action = Vec::with_capacity(act_dim);
            let mut log_prob = 0.0;
            for (mean, log_std) in row.iter().zip(&self.log_std) {
                let z = if deterministic {
                    0.0
                } else {
                    standard_normal(rng)
                };
                action.push(f64::from(*mean) + log_std.exp() * z);
                log_prob += -0.5 * z * z - log_std - half_ln_2pi;
            }
            actions.push(action);
            log_probs.push(log_prob);
        }
        Decision {
            actions,
            log_probs,
            values: values_out,
            inputs,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::agent::matrix;
    use rand::SeedableRng;

    /// The log-probabilities recorded while acting ([`Policy::decide`], in f64 on the host)
    /// and those the loss recomputes ([`Agent::log_prob_entropy`], in tensors) are the same
    /// density, so PPO's first ratio, before any update, is 1.
    #[test]
    fn acting_and_the_loss_agree_on_log_probabilities_so_the_first_ratio_is_one() {
        let device = Device::flex().autodiff();
        let (obs_dim, act_dim, rows) = (3, 2, 16);
        let agent = Agent::new(5, obs_dim, act_dim, 8, -0.7, &device);
        let policy = Policy::new(&agent, obs_dim);
        let mut normalizer = ObsNormalizer::new(obs_dim, true);
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        let observations: Vec<Vec<f64>> = (0..rows)
            .map(|i| {
                (0..obs_dim)
                    .map(|j| (i * obs_dim + j) as f64 * 0.37 - 4.0)
                    .collect()
            })
            .collect();
        normalizer.update(&observations);
        let decision = policy.decide(&normalizer, &observations, &mut rng, false);
        let obs = matrix(decision.inputs.clone(), rows, obs_dim, &device);
        let actions: Vec<f32> = decision
            .actions
            .iter()
            .flatten()
            .map(|a| *a as f32)
            .collect();
        let actions = matrix(actions, rows, act_dim, &device);
        let (log_probs, entropy) = agent.log_prob_entropy(obs, actions);
        for (new, old) in values(log_probs).into_iter().zip(&decision.log_probs) {
            let ratio = (f64::from(new) - old).exp();
            assert!((ratio - 1.0).abs() < 1e-5, "ratio {ratio}: {new} vs {old}");
        }
        // The entropy of a diagonal Gaussian: Σ (log σ + ½ ln 2πe).
        let expected = act_dim as f64 * (-0.7 + 0.5 * (1.0 + (2.0 * std::f64::consts::PI).ln()));
        assert!((f64::from(values(entropy)[0]) - expected).abs() < 1e-5);
    }
}
