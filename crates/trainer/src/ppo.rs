//! One PPO update, in the order of CleanRL's `ppo_continuous_action.py`: anneal the learning
//! rate, step every env `num_steps` times, compute GAE, run the epochs of minibatch updates
//! of the clipped surrogate, value and entropy losses, log.

use crate::advantage::{compute_gae, normalize_minibatch};
use crate::agent::vector;
use crate::losses::{Losses, Samples, explained_variance, value_loss};
use crate::metrics::MetricsRow;
use crate::policy::Policy;
use crate::trainer::{EpisodeTally, Trainer};
use rl_env::{VecEnv, VecStep};

/// A PPO rollout, flattened step-major (`index = t * num_envs + env`).
struct Rollout {
    /// What the policy acted on and did; the advantages are GAE's, once computed.
    samples: Samples,
    /// The critic's value of each step's observation.
    values: Vec<f64>,
    /// Each step's reward, scaled, truncations bootstrapped.
    rewards: Vec<f64>,
    /// Whether each step ended its episode.
    dones: Vec<bool>,
    /// The critic's value of each env's observation after the last step.
    next_values: Vec<f64>,
}

/// One PPO update; returns its metrics row.
pub(crate) fn update(trainer: &mut Trainer, venv: &mut VecEnv) -> MetricsRow {
    let mut clock = trainer.begin_update();
    let (mut rollout, tally) = collect_rollout(trainer, venv);
    let (advantages, returns) = compute_gae(
        &rollout.rewards,
        &rollout.values,
        &rollout.dones,
        &rollout.next_values,
        trainer.config.gamma,
        trainer.config.gae_lambda,
    );
    rollout.samples.advantages = advantages;
    clock.collected();
    let mut row = trainer.update_epochs(rollout.samples.len(), |trainer, indices| {
        minibatch_step(trainer, &rollout, &returns, indices, clock.lr)
    });
    row.insert(
        "losses/explained_variance".into(),
        explained_variance(&rollout.values, &returns),
    );
    trainer.finish_update(row, &clock, rollout.samples.len(), &tally)
}

/// Steps every env `num_steps` times with the current policy, carrying on the episodes the
/// last update left running.
fn collect_rollout(trainer: &mut Trainer, venv: &mut VecEnv) -> (Rollout, EpisodeTally) {
    let policy = trainer.policy();
    let mut observations = match trainer.observations.take() {
        Some(obs) => obs,
        None => venv.reset(Some(trainer.config.seed)),
    };
    trainer.obs_norm.update(&observations);
    let mut samples = Samples::default();
    let (mut values, mut rewards, mut dones) = (Vec::new(), Vec::new(), Vec::new());
    let mut tally = EpisodeTally::default();
    for _ in 0..trainer.config.num_steps {
        let decision = policy.decide(&trainer.obs_norm, &observations, &mut trainer.rng, false);
        let steps = venv.step(decision.actions.clone());
        let step_rewards: Vec<f64> = steps.iter().map(|s| s.reward).collect();
        let step_dones: Vec<bool> = steps.iter().map(|s| s.terminated || s.truncated).collect();
        let mut scaled = trainer.reward_scaler.scale(&step_rewards, &step_dones);
        bootstrap_truncated(trainer, &policy, &steps, &mut scaled);
        steps.iter().for_each(|s| tally.record(s));
        samples.inputs.extend(decision.inputs);
        samples
            .actions
            .extend(decision.actions.iter().flatten().map(|a| *a as f32));
        samples
            .log_probs
            .extend(decision.log_probs.iter().map(|l| *l as f32));
        values.extend(decision.values);
        rewards.extend(scaled);
        dones.extend(step_dones);
        observations = steps.into_iter().map(|s| s.obs).collect();
        trainer.obs_norm.update(&observations);
    }
    let next_values = policy.values(policy.inputs(&trainer.obs_norm, &observations));
    trainer.observations = Some(observations);
    let rollout = Rollout {
        samples,
        values,
        rewards,
        dones,
        next_values,
    };
    (rollout, tally)
}

/// A truncated episode did not end in the task, so its last reward gets the discounted
/// value of the observation it was cut at (as Stable-Baselines3 does).
fn bootstrap_truncated(trainer: &Trainer, policy: &Policy, steps: &[VecStep], rewards: &mut [f64]) {
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
    let values = policy.values(policy.inputs(&trainer.obs_norm, &finals));
    for ((i, _), value) in cut.iter().zip(values) {
        rewards[*i] += trainer.config.gamma * value;
    }
}

/// One gradient step on the samples at `indices`: the clipped surrogate loss on advantages
/// normalized within the minibatch (`norm_adv`), less the entropy bonus, plus `vf_coef`
/// times the (optionally clipped) value loss towards GAE's `returns`.
fn minibatch_step(
    trainer: &mut Trainer,
    rollout: &Rollout,
    returns: &[f64],
    indices: &[usize],
    lr: f64,
) -> Losses {
    let mut advantages: Vec<f64> = indices
        .iter()
        .map(|i| rollout.samples.advantages[*i])
        .collect();
    if trainer.config.norm_adv {
        normalize_minibatch(&mut advantages);
    }
    let policy = trainer.policy_loss(&rollout.samples, indices, &advantages);
    let device = &trainer.device;
    let returns = vector(indices.iter().map(|i| returns[*i] as f32).collect(), device);
    let old_values = vector(
        indices.iter().map(|i| rollout.values[*i] as f32).collect(),
        device,
    );
    let new_values = trainer.agent.value(policy.obs);
    let value_clip = trainer
        .config
        .clip_vloss
        .then_some(trainer.config.clip_coef as f32);
    let value_loss = value_loss(new_values, old_values, returns, value_clip);
    let value = f64::from(value_loss.clone().into_scalar::<f32>());
    let loss = policy.loss + value_loss.mul_scalar(trainer.config.vf_coef as f32);
    Losses {
        value,
        grad_norm: trainer.gradient_step(loss, lr),
        ..policy.terms
    }
}
