//! The learner: one update collects a rollout, estimates advantages and runs the epochs of
//! minibatch updates. PPO follows CleanRL's `ppo_continuous_action.py`; GRPO follows
//! DeepSeekMath's group-relative policy optimization, without a critic.

use crate::advantage::{compute_gae, group_advantages, group_step_advantages};
use crate::agent::{Agent, clip_grad_norm, matrix, values, vector};
use crate::metrics::MetricsRow;
use crate::normalize::{ObsNormalizer, RewardScaler};
use crate::policy::Policy;
use crate::{Algorithm, TrainConfig};
use burn::optim::{AdamConfig, GradientsParams, ModuleOptimizer};
use burn::tensor::{Device, Tensor};
use rand::prelude::SliceRandom;
use rand_chacha::ChaCha8Rng;
use rl_env::{Info, VecEnv, VecStep, seeded_rng};
use std::collections::BTreeMap;

/// Samples gathered for one update, flattened step-major (`index = t * num_envs + env`).
#[derive(Default)]
struct Rollout {
    inputs: Vec<f32>,
    actions: Vec<f32>,
    log_probs: Vec<f32>,
    values: Vec<f64>,
    rewards: Vec<f64>,
    dones: Vec<bool>,
    advantages: Vec<f64>,
    returns: Vec<f64>,
}

impl Rollout {
    fn len(&self) -> usize {
        self.log_probs.len()
    }
}

/// Episode statistics and reward components seen during one rollout.
#[derive(Default)]
struct EpisodeTally {
    returns: Vec<f64>,
    lengths: Vec<f64>,
    successes: Vec<f64>,
    components: BTreeMap<String, (f64, usize)>,
    /// Sums and counts of the other values episodes end with (`goal_distance`, ...).
    finals: BTreeMap<String, (f64, usize)>,
}

impl EpisodeTally {
    fn record(&mut self, step: &VecStep) {
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

    fn write(&self, row: &mut MetricsRow) {
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
    obs_dim: usize,
    act_dim: usize,
    /// The current raw observation of each env (PPO carries episodes across updates).
    observations: Option<Vec<Vec<f64>>>,
}

impl Trainer {
    /// A fresh learner; the seed fixes the initial weights and every random draw after.
    /// The sizes and settings must have passed [`TrainConfig::validate_for_env`] (burn's
    /// initializer panics on an empty observation or action); [`crate::train`] checks them.
    pub fn new(config: TrainConfig, obs_dim: usize, act_dim: usize) -> Self {
        let device = config.device.burn_device().autodiff();
        let agent = Agent::new(
            config.seed,
            obs_dim,
            act_dim,
            config.hidden,
            config.init_log_std,
            &device,
        );
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

    /// One update of the configured algorithm; returns its metrics row.
    pub fn update(&mut self, venv: &mut VecEnv) -> MetricsRow {
        let start = std::time::Instant::now();
        let lr = self.learning_rate();
        let (rollout, tally) = match self.config.algo {
            Algorithm::Ppo => self.collect_ppo(venv),
            Algorithm::Grpo => self.collect_grpo(venv),
        };
        let steps = rollout.len();
        let collected = start.elapsed().as_secs_f64();
        let mut row = self.learn(&rollout, lr);
        row.insert("perf/collect_seconds".into(), collected);
        row.insert(
            "perf/learn_seconds".into(),
            start.elapsed().as_secs_f64() - collected,
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

    /// Steps every env `num_steps` times with the current policy (collect_rollout), then
    /// computes GAE.
    fn collect_ppo(&mut self, venv: &mut VecEnv) -> (Rollout, EpisodeTally) {
        let policy = self.policy();
        let mut observations = match self.observations.take() {
            Some(obs) => obs,
            None => venv.reset(Some(self.config.seed)),
        };
        self.obs_norm.update(&observations);
        let (mut rollout, mut tally) = (Rollout::default(), EpisodeTally::default());
        for _ in 0..self.config.num_steps {
            let decision = policy.decide(&self.obs_norm, &observations, &mut self.rng, false);
            let steps = venv.step(decision.actions.clone());
            let rewards: Vec<f64> = steps.iter().map(|s| s.reward).collect();
            let dones: Vec<bool> = steps.iter().map(|s| s.terminated || s.truncated).collect();
            let mut scaled = self.reward_scaler.scale(&rewards, &dones);
            self.bootstrap_truncated(&policy, &steps, &mut scaled);
            steps.iter().for_each(|s| tally.record(s));
            rollout.inputs.extend(decision.inputs);
            rollout
                .actions
                .extend(decision.actions.iter().flatten().map(|a| *a as f32));
            rollout
                .log_probs
                .extend(decision.log_probs.iter().map(|l| *l as f32));
            rollout.values.extend(decision.values);
            rollout.rewards.extend(scaled);
            rollout.dones.extend(dones);
            observations = steps.into_iter().map(|s| s.obs).collect();
            self.obs_norm.update(&observations);
        }
        let next_values = policy.values(policy.inputs(&self.obs_norm, &observations));
        let (advantages, returns) = compute_gae(
            &rollout.rewards,
            &rollout.values,
            &rollout.dones,
            &next_values,
            self.config.gamma,
            self.config.gae_lambda,
        );
        rollout.advantages = advantages;
        rollout.returns = returns;
        self.observations = Some(observations);
        (rollout, tally)
    }

    /// A truncated episode did not end in the task, so its last reward gets the discounted
    /// value of the observation it was cut at (as Stable-Baselines3 does).
    fn bootstrap_truncated(&self, policy: &Policy, steps: &[VecStep], rewards: &mut [f64]) {
        let cut: Vec<(usize, &Vec<f64>)> = steps
            .iter()
            .enumerate()
            .filter(|(_, s)| s.truncated && !s.terminated)
            .filter_map(|(i, s)| s.final_obs.as_ref().map(|o| (i, o)))
            .collect();
        if cut.is_empty() {
            return;
        }
        let finals: Vec<Vec<f64>> = cut.iter().map(|(_, o)| (*o).clone()).collect();
        let values = policy.values(policy.inputs(&self.obs_norm, &finals));
        for ((i, _), value) in cut.iter().zip(values) {
            rewards[*i] += self.config.gamma * value;
        }
    }

    /// GRPO rollout: `num_envs / group_size` groups; every env of a group starts from the
    /// same reset seed, runs one whole episode, and each step gets its episode's return (or
    /// its reward-to-go) normalized within the group.
    fn collect_grpo(&mut self, venv: &mut VecEnv) -> (Rollout, EpisodeTally) {
        let policy = self.policy();
        let n = venv.num_envs();
        let group = self.config.group_size;
        let base_seed = self
            .config
            .seed
            .wrapping_mul(1_000_003)
            .wrapping_add(self.update.wrapping_mul(n as u64));
        // Wrapping: any u64 seed is a valid setting, and these only need to differ.
        let seeds: Vec<u64> = (0..n)
            .map(|i| base_seed.wrapping_add((i / group) as u64))
            .collect();
        let mut observations = venv.reset_each(&seeds);
        self.obs_norm.update(&observations);
        let mut episodes: Vec<Rollout> = (0..n).map(|_| Rollout::default()).collect();
        let mut running = vec![true; n];
        let mut tally = EpisodeTally::default();
        while running.iter().any(|r| *r) {
            let decision = policy.decide(&self.obs_norm, &observations, &mut self.rng, false);
            let steps = venv.step(decision.actions.clone());
            for (i, step) in steps.iter().enumerate() {
                if !running[i] {
                    continue;
                }
                let episode = &mut episodes[i];
                episode
                    .inputs
                    .extend(&decision.inputs[i * self.obs_dim..(i + 1) * self.obs_dim]);
                episode
                    .actions
                    .extend(decision.actions[i].iter().map(|a| *a as f32));
                episode.log_probs.push(decision.log_probs[i] as f32);
                episode.rewards.push(step.reward);
                tally.record(step);
                if step.terminated || step.truncated {
                    running[i] = false;
                }
            }
            observations = steps.into_iter().map(|s| s.obs).collect();
            self.obs_norm.update(&observations);
        }
        let mut rollout = Rollout::default();
        for members in episodes.chunks(group) {
            let advantages: Vec<Vec<f64>> = if self.config.reward_to_go {
                group_step_advantages(
                    &members
                        .iter()
                        .map(|e| e.rewards.clone())
                        .collect::<Vec<_>>(),
                )
            } else {
                let returns: Vec<f64> = members.iter().map(|e| e.rewards.iter().sum()).collect();
                group_advantages(&returns)
                    .into_iter()
                    .zip(members)
                    .map(|(a, e)| vec![a; e.len()])
                    .collect()
            };
            for (episode, advantage) in members.iter().zip(advantages) {
                rollout.inputs.extend(&episode.inputs);
                rollout.actions.extend(&episode.actions);
                rollout.log_probs.extend(&episode.log_probs);
                rollout.advantages.extend(advantage);
            }
        }
        // The next PPO-style update must not continue these episodes.
        self.observations = None;
        (rollout, tally)
    }

    /// Runs `update_epochs` epochs of shuffled minibatch updates (update_epoch) and returns
    /// the losses of the last epoch.
    fn learn(&mut self, rollout: &Rollout, lr: f64) -> MetricsRow {
        let n = rollout.len();
        let minibatch = (n / self.config.num_minibatches).max(1);
        let mut order: Vec<usize> = (0..n).collect();
        let mut row = MetricsRow::new();
        'epochs: for _ in 0..self.config.update_epochs {
            order.shuffle(&mut self.rng);
            let mut sums = LossSums::default();
            for indices in order.chunks(minibatch) {
                let losses = self.update_minibatch(rollout, indices, lr);
                sums.add(&losses);
            }
            sums.write(&mut row);
            if let Some(target) = self.config.target_kl
                && sums.mean(|l| l.approx_kl) > target
            {
                break 'epochs;
            }
        }
        if self.config.algo == Algorithm::Ppo {
            row.insert(
                "losses/explained_variance".into(),
                explained_variance(&rollout.values, &rollout.returns),
            );
        }
        row
    }

    /// One gradient step on the samples at `indices`.
    fn update_minibatch(&mut self, rollout: &Rollout, indices: &[usize], lr: f64) -> Losses {
        let m = indices.len();
        let gather = |data: &[f32], width: usize| -> Vec<f32> {
            indices
                .iter()
                .flat_map(|i| data[i * width..(i + 1) * width].iter().copied())
                .collect()
        };
        let device = &self.device;
        let obs = matrix(
            gather(&rollout.inputs, self.obs_dim),
            m,
            self.obs_dim,
            device,
        );
        let actions = matrix(
            gather(&rollout.actions, self.act_dim),
            m,
            self.act_dim,
            device,
        );
        let old_log_probs = vector(gather(&rollout.log_probs, 1), device);
        let mut advantages: Vec<f64> = indices.iter().map(|i| rollout.advantages[*i]).collect();
        if self.config.norm_adv && self.config.algo == Algorithm::Ppo && m > 1 {
            let mean = advantages.iter().sum::<f64>() / m as f64;
            let std = (advantages.iter().map(|a| (a - mean).powi(2)).sum::<f64>() / (m - 1) as f64)
                .sqrt();
            advantages
                .iter_mut()
                .for_each(|a| *a = (*a - mean) / (std + 1e-8));
        }
        let advantages = vector(advantages.iter().map(|a| *a as f32).collect(), device);

        let (log_probs, entropy) = self.agent.log_prob_entropy(obs.clone(), actions);
        let log_ratio = log_probs - old_log_probs;
        let ratio = log_ratio.clone().exp();
        let clip = self.config.clip_coef as f32;
        let policy_loss = clipped_surrogate_loss(ratio.clone(), advantages, clip);

        let ratios = values(ratio.clone());
        let log_ratios = values(log_ratio.clone());
        let approx_kl = ratios
            .iter()
            .zip(&log_ratios)
            .map(|(r, l)| f64::from((r - 1.0) - l))
            .sum::<f64>()
            / m as f64;
        let clip_fraction =
            ratios.iter().filter(|r| (*r - 1.0).abs() > clip).count() as f64 / m as f64;

        let mut loss =
            policy_loss.clone() - entropy.clone().mul_scalar(self.config.ent_coef as f32);
        let mut value_loss_value = 0.0;
        match self.config.algo {
            Algorithm::Ppo => {
                let returns = vector(
                    indices.iter().map(|i| rollout.returns[*i] as f32).collect(),
                    device,
                );
                let old_values = vector(
                    indices.iter().map(|i| rollout.values[*i] as f32).collect(),
                    device,
                );
                let new_values = self.agent.value(obs);
                let value_clip = self.config.clip_vloss.then_some(clip);
                let value_loss = value_loss(new_values, old_values, returns, value_clip);
                value_loss_value = f64::from(value_loss.clone().into_scalar::<f32>());
                loss = loss + value_loss.mul_scalar(self.config.vf_coef as f32);
            }
            Algorithm::Grpo if self.config.kl_coef > 0.0 => {
                // k3 estimator of KL(rollout policy || current policy): r - 1 - ln r with
                // r = rollout prob / current prob.
                let neg = log_ratio.neg();
                let kl = (neg.clone().exp() - neg - 1.0).mean();
                loss = loss + kl.mul_scalar(self.config.kl_coef as f32);
            }
            Algorithm::Grpo => {}
        }
        let policy_loss_value = f64::from(policy_loss.into_scalar::<f32>());
        let entropy_value = f64::from(entropy.into_scalar::<f32>());
        let mut grads = GradientsParams::from_grads(loss.backward(), &self.agent);
        let grad_norm = clip_grad_norm(&self.agent, &mut grads, self.config.max_grad_norm as f32);
        self.agent = self.optimizer.step(lr, self.agent.clone(), grads);
        Losses {
            policy: policy_loss_value,
            value: value_loss_value,
            entropy: entropy_value,
            approx_kl,
            clip_fraction,
            grad_norm: f64::from(grad_norm),
        }
    }
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

/// Adam with the configured epsilon (CleanRL: 1e-5); the learning rate is given per step.
pub(crate) fn new_optimizer(config: &TrainConfig) -> ModuleOptimizer {
    AdamConfig::new()
        .with_epsilon(config.adam_eps as f32)
        .init()
}

/// Loss terms of one minibatch step.
#[derive(Default, Clone, Copy)]
struct Losses {
    policy: f64,
    value: f64,
    entropy: f64,
    approx_kl: f64,
    clip_fraction: f64,
    grad_norm: f64,
}

/// Loss terms summed over an epoch's minibatches.
#[derive(Default)]
struct LossSums {
    all: Vec<Losses>,
}

impl LossSums {
    fn add(&mut self, losses: &Losses) {
        self.all.push(*losses);
    }

    fn mean(&self, f: impl Fn(&Losses) -> f64) -> f64 {
        self.all.iter().map(f).sum::<f64>() / self.all.len().max(1) as f64
    }

    fn write(&self, row: &mut MetricsRow) {
        row.insert("losses/policy_loss".into(), self.mean(|l| l.policy));
        row.insert("losses/value_loss".into(), self.mean(|l| l.value));
        row.insert("losses/entropy".into(), self.mean(|l| l.entropy));
        row.insert("losses/approx_kl".into(), self.mean(|l| l.approx_kl));
        row.insert("losses/clipfrac".into(), self.mean(|l| l.clip_fraction));
        row.insert("losses/grad_norm".into(), self.mean(|l| l.grad_norm));
    }
}

/// 1 − Var[returns − values] / Var[returns]: how much of the return the critic explains.
fn explained_variance(values: &[f64], returns: &[f64]) -> f64 {
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

#[cfg(test)]
mod tests {
    use super::*;

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

    /// One PPO update from the same weights on flex and on wgpu gives the same losses. Runs
    /// where a wgpu adapter exists (lavapipe, from `mesa-vulkan-drivers`, is enough).
    #[cfg(feature = "gpu")]
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
