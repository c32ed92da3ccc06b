//! The learner both algorithms share: its state (what a checkpoint saves), the learning-rate
//! schedule, the epochs of minibatch steps and the gradient step. One PPO update is in
//! `ppo.rs` (CleanRL's `ppo_continuous_action.py`); one GRPO update, DeepSeekMath's
//! group-relative policy optimization without a critic, is in `grpo.rs`.

use crate::TrainConfig;
use crate::adam::HostAdam;
use crate::agent::{Agent, clip_grad_norm, matrix, values, vector};
use crate::losses::{LossSums, Losses, PolicyLoss, Samples, clipped_surrogate_loss};
use crate::metrics::MetricsRow;
use crate::normalize::{ObsNormalizer, RewardScaler};
use crate::policy::Policy;
use burn::optim::{GradientsParams, ModuleOptimizer};
use burn::tensor::{Device, Tensor};
use rand::prelude::SliceRandom;
use rand_chacha::ChaCha8Rng;
use rl_env::{Info, VecStep, seeded_rng};
use std::collections::BTreeMap;
use std::time::Instant;

/// Episode statistics and reward components seen during one rollout.
#[derive(Default)]
pub(crate) struct EpisodeTally {
    returns: Vec<f64>,
    lengths: Vec<f64>,
    successes: Vec<f64>,
    components: BTreeMap<String, (f64, usize)>,
    /// Sums and counts of the other values episodes end with (`goal_distance`, ...).
    finals: BTreeMap<String, (f64, usize)>,
}

impl EpisodeTally {
    /// Adds one env step: its reward components, and its episode when it ends there.
    pub fn record(&mut self, step: &VecStep) {
        for (key, value) in step.info.iter() {
            if let Some(name) = key.strip_prefix("reward/") {
                let entry = self.components.entry(name.to_string()).or_default();
                entry.0 += value;
                entry.1 += 1;
            }
        }
        if step.terminated || step.truncated {
            self.finish(&step.info);
        }
    }

    /// Adds an episode that ended with `info`.
    fn finish(&mut self, info: &Info) {
        if let Some(r) = info.get("episode_return") {
            self.returns.push(r);
        }
        if let Some(l) = info.get("episode_length") {
            self.lengths.push(l);
        }
        self.successes.push(f64::from(info.is_success()));
        for (key, value) in info.iter() {
            if !key.starts_with("reward/") && !key.starts_with("episode_") {
                let entry = self.finals.entry(key.to_string()).or_default();
                entry.0 += value;
                entry.1 += 1;
            }
        }
    }

    /// Writes the means as `charts/...`, `reward/...` and `final/...`.
    pub fn write(&self, row: &mut MetricsRow) {
        let mean = |v: &[f64]| (!v.is_empty()).then(|| v.iter().sum::<f64>() / v.len() as f64);
        if let Some(r) = mean(&self.returns) {
            row.insert("charts/episodic_return".into(), r);
        }
        if let Some(l) = mean(&self.lengths) {
            row.insert("charts/episodic_length".into(), l);
        }
        if let Some(s) = mean(&self.successes) {
            row.insert("charts/success_rate".into(), s);
        }
        row.insert("charts/episodes".into(), self.returns.len() as f64);
        for (name, (sum, count)) in &self.components {
            row.insert(format!("reward/{name}"), sum / *count as f64);
        }
        for (key, (sum, count)) in &self.finals {
            row.insert(format!("final/{key}"), sum / *count as f64);
        }
    }
}

/// The clock and the learning rate of one update in progress.
pub(crate) struct UpdateClock {
    start: Instant,
    /// Seconds the update took to collect its rollout, once it has.
    collect_seconds: f64,
    /// The update's learning rate.
    pub lr: f64,
}

impl UpdateClock {
    /// Marks the end of the rollout's collection.
    pub fn collected(&mut self) {
        self.collect_seconds = self.start.elapsed().as_secs_f64();
    }
}

/// Everything that changes as a run learns; what a checkpoint saves.
pub struct Trainer {
    pub config: TrainConfig,
    pub(crate) device: Device,
    pub(crate) agent: Agent,
    pub(crate) optimizer: ModuleOptimizer,
    pub(crate) obs_norm: ObsNormalizer,
    pub(crate) reward_scaler: RewardScaler,
    pub(crate) rng: ChaCha8Rng,
    /// Env steps taken so far.
    pub global_step: u64,
    /// Updates done so far.
    pub update: u64,
    pub(crate) obs_dim: usize,
    pub(crate) act_dim: usize,
    /// The current raw observation of each env (PPO carries episodes across updates).
    pub(crate) observations: Option<Vec<Vec<f64>>>,
}

impl Trainer {
    /// A fresh learner; the seed fixes the initial weights and every random draw after.
    /// The sizes and settings must have passed [`TrainConfig::validate_for_env`] (burn's
    /// initializer panics on an empty observation or action); [`crate::train`] checks them.
    pub fn new(config: TrainConfig, obs_dim: usize, act_dim: usize) -> Self {
        let device = config.device.burn_device().autodiff();
        let agent = new_agent(&config, obs_dim, act_dim, &device);
        Self {
            optimizer: new_optimizer(&config),
            obs_norm: ObsNormalizer::new(obs_dim, config.normalize_obs),
            reward_scaler: RewardScaler::new(
                config.num_envs,
                config.gamma,
                config.normalize_reward,
            ),
            rng: seeded_rng(config.seed),
            device,
            agent,
            global_step: 0,
            update: 0,
            obs_dim,
            act_dim,
            observations: None,
            config,
        }
    }

    /// Size of an observation.
    pub fn obs_dim(&self) -> usize {
        self.obs_dim
    }

    /// Size of an action.
    pub fn act_dim(&self) -> usize {
        self.act_dim
    }

    /// The observation statistics the policy acts under.
    pub fn obs_normalizer(&self) -> &ObsNormalizer {
        &self.obs_norm
    }

    /// The current policy, for acting.
    pub fn policy(&self) -> Policy {
        Policy::new(&self.agent, self.obs_dim)
    }

    /// The learning rate of the next update: linearly annealed to 0 over the run's env steps
    /// when configured. Counting steps, not updates, matters for GRPO, whose updates take
    /// whole episodes rather than `num_steps` per env.
    fn learning_rate(&self) -> f64 {
        if self.config.anneal_lr {
            let frac = 1.0 - self.global_step as f64 / self.config.anneal_steps() as f64;
            self.config.learning_rate * frac.max(0.0)
        } else {
            self.config.learning_rate
        }
    }

    /// Runs `update_epochs` epochs over `samples` samples (update_epoch): each shuffles them
    /// and takes one `minibatch_step` per `num_minibatches`-th of them. Returns the epoch
    /// means of the loss terms of the last epoch run.
    ///
    /// With `target_kl`, the epochs stop early once an epoch's mean approximate KL exceeds
    /// it, checked after each whole epoch (CleanRL checks its last minibatch's; see
    /// [`TrainConfig::target_kl`]).
    pub(crate) fn update_epochs(
        &mut self,
        samples: usize,
        mut minibatch_step: impl FnMut(&mut Self, &[usize]) -> Losses,
    ) -> MetricsRow {
        let minibatch = (samples / self.config.num_minibatches).max(1);
        let mut order: Vec<usize> = (0..samples).collect();
        let mut row = MetricsRow::new();
        for _ in 0..self.config.update_epochs {
            order.shuffle(&mut self.rng);
            let mut sums = LossSums::default();
            for indices in order.chunks(minibatch) {
                sums.add(&minibatch_step(self, indices));
            }
            sums.write(&mut row);
            if let Some(target) = self.config.target_kl
                && sums.mean(|l| l.approx_kl) > target
            {
                break;
            }
        }
        row
    }

    /// The clipped surrogate loss and the entropy bonus of the samples at `indices`, whose
    /// advantages (as the algorithm normalizes them) are `advantages`.
    pub(crate) fn policy_loss(
        &self,
        samples: &Samples,
        indices: &[usize],
        advantages: &[f64],
    ) -> PolicyLoss {
        let m = indices.len();
        let gather = |data: &[f32], width: usize| -> Vec<f32> {
            indices
                .iter()
                .flat_map(|i| data[i * width..(i + 1) * width].iter().copied())
                .collect()
        };
        let device = &self.device;
        let obs = matrix(
            gather(&samples.inputs, self.obs_dim),
            m,
            self.obs_dim,
            device,
        );
        let actions = matrix(
            gather(&samples.actions, self.act_dim),
            m,
            self.act_dim,
            device,
        );
        let old_log_probs = vector(gather(&samples.log_probs, 1), device);
        let advantages = vector(advantages.iter().map(|a| *a as f32).collect(), device);

        let (log_probs, entropy) = self.agent.log_prob_entropy(obs.clone(), actions);
        let log_ratio = log_probs - old_log_probs;
        let ratio = log_ratio.clone().exp();
        let clip = self.config.clip_coef as f32;
        let policy_loss = clipped_surrogate_loss(ratio.clone(), advantages, clip);

        let ratios = values(ratio);
        let log_ratios = values(log_ratio.clone());
        let approx_kl = ratios
            .iter()
            .zip(&log_ratios)
            .map(|(r, l)| f64::from((r - 1.0) - l))
            .sum::<f64>()
            / m as f64;
        let clip_fraction =
            ratios.iter().filter(|r| (*r - 1.0).abs() > clip).count() as f64 / m as f64;
        let loss = policy_loss.clone() - entropy.clone().mul_scalar(self.config.ent_coef as f32);
        PolicyLoss {
            obs,
            log_ratio,
            loss,
            terms: Losses {
                policy: f64::from(policy_loss.into_scalar::<f32>()),
                entropy: f64::from(entropy.into_scalar::<f32>()),
                approx_kl,
                clip_fraction,
                ..Losses::default()
            },
        }
    }

    /// One Adam step down `loss` at learning rate `lr`, the gradients clipped to
    /// `max_grad_norm` together; returns their norm before clipping.
    pub(crate) fn gradient_step(&mut self, loss: Tensor<1>, lr: f64) -> f64 {
        let mut grads = GradientsParams::from_grads(loss.backward(), &self.agent);
        let grad_norm = clip_grad_norm(&self.agent, &mut grads, self.config.max_grad_norm as f32);
        self.agent = self.optimizer.step(lr, self.agent.clone(), grads);
        f64::from(grad_norm)
    }

    /// Starts an update: its clock and learning rate.
    pub(crate) fn begin_update(&self) -> UpdateClock {
        UpdateClock {
            start: Instant::now(),
            collect_seconds: 0.0,
            lr: self.learning_rate(),
        }
    }

    /// Ends the update `clock` timed, which collected `steps` samples and learned `row`:
    /// counts it, and adds the episode statistics, the counters, the learning rate and the
    /// timings to the row.
    pub(crate) fn finish_update(
        &mut self,
        mut row: MetricsRow,
        clock: &UpdateClock,
        steps: usize,
        tally: &EpisodeTally,
    ) -> MetricsRow {
        let (start, lr) = (clock.start, clock.lr);
        row.insert("perf/collect_seconds".into(), clock.collect_seconds);
        row.insert(
            "perf/learn_seconds".into(),
            start.elapsed().as_secs_f64() - clock.collect_seconds,
        );
        self.update += 1;
        self.global_step += steps as u64;
        tally.write(&mut row);
        row.insert("global_step".into(), self.global_step as f64);
        row.insert("update".into(), self.update as f64);
        row.insert("charts/learning_rate".into(), lr);
        row.insert(
            "charts/sps".into(),
            steps as f64 / start.elapsed().as_secs_f64().max(1e-9),
        );
        row
    }
}

/// The configured network with the initial weights `seed` draws.
pub(crate) fn new_agent(
    config: &TrainConfig,
    obs_dim: usize,
    act_dim: usize,
    device: &Device,
) -> Agent {
    Agent::new(
        config.seed,
        obs_dim,
        act_dim,
        config.hidden,
        config.init_log_std,
        device,
    )
}

/// Adam with the configured epsilon (CleanRL: 1e-5); the learning rate is given per step.
pub(crate) fn new_optimizer(config: &TrainConfig) -> ModuleOptimizer {
    HostAdam::module_optimizer(config.adam_eps as f32)
}

#[cfg(all(test, feature = "gpu"))]
mod tests {
    use super::*;

    fn scalar(t: Tensor<1>) -> f32 {
        t.into_scalar::<f32>()
    }

    /// One PPO update from the same weights on flex and on wgpu gives the same losses. Runs
    /// where a wgpu adapter exists (lavapipe, from `mesa-vulkan-drivers`, is enough).
    #[test]
    fn one_ppo_update_gives_the_same_losses_on_flex_and_wgpu() {
        use crate::ComputeDevice;
        use burn::module::Module;
        use rl_env::wrappers::TimeLimit;
        use rl_env::{Env, PointMass};
        let probe = std::panic::catch_unwind(|| {
            let device = ComputeDevice::Wgpu.burn_device();
            scalar(vector(vec![1.0, 2.0], &device).sum())
        });
        if probe.map_or(true, |sum| sum != 3.0) {
            test_skip::skip(
                "one_ppo_update_gives_the_same_losses_on_flex_and_wgpu",
                "a wgpu adapter",
                "install mesa-vulkan-drivers for lavapipe",
            );
            return;
        }
        let config = |device| TrainConfig {
            device,
            num_envs: 2,
            num_steps: 64,
            num_minibatches: 2,
            update_epochs: 2,
            threads: 1,
            ..TrainConfig::default()
        };
        let envs = || {
            let envs = (0..2)
                .map(|_| Box::new(TimeLimit::new(PointMass::new(), 50)) as Box<dyn Env>)
                .collect();
            VecEnv::new(envs, 1)
        };
        let mut flex = Trainer::new(config(ComputeDevice::Flex), 4, 2);
        let mut wgpu = Trainer::new(config(ComputeDevice::Wgpu), 4, 2);
        // The same weights, through a file as a checkpoint carries them: fresh tensors made
        // on the wgpu device, with no autodiff history from the flex side.
        let file = std::env::temp_dir().join(format!("flex-agent-{}.bpk", std::process::id()));
        flex.agent.clone().save_file(&file).unwrap();
        wgpu.agent = wgpu.agent.clone().try_load_file(&file).unwrap();
        // burn reads the file lazily, so it stays until the update has run.
        let (a, b) = (flex.update(&mut envs()), wgpu.update(&mut envs()));
        let _ = std::fs::remove_file(&file);
        for key in ["losses/policy_loss", "losses/value_loss", "losses/entropy"] {
            let (x, y) = (a[key], b[key]);
            assert!(
                (x - y).abs() <= 1e-3 * (1.0 + x.abs()),
                "{key}: flex {x} vs wgpu {y}"
            );
        }
    }
}
