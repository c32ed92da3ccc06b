//! One GRPO update (DeepSeekMath's group-relative policy optimization, Shao et al. 2024),
//! without a critic: run one whole episode per env, in groups that share a reset seed, give
//! each step its episode's return (or its reward-to-go) normalized within the group, run the
//! epochs of minibatch updates of the clipped surrogate and entropy losses (plus a KL
//! penalty), log.

use crate::advantage::{group_advantages, group_step_advantages};
use crate::losses::{Losses, Samples, k3_kl};
use crate::metrics::MetricsRow;
use crate::trainer::{EpisodeTally, Trainer};
use rl_env::VecEnv;

/// One env's episode of a GRPO rollout.
#[derive(Default)]
struct Episode {
    inputs: Vec<f32>,
    actions: Vec<f32>,
    log_probs: Vec<f32>,
    rewards: Vec<f64>,
}

/// One GRPO update; returns its metrics row.
pub(crate) fn update(trainer: &mut Trainer, venv: &mut VecEnv) -> MetricsRow {
    let mut clock = trainer.begin_update();
    let (samples, tally) = collect_rollout(trainer, venv);
    clock.collected();
    let row = trainer.update_epochs(samples.len(), |trainer, indices| {
        minibatch_step(trainer, &samples, indices, clock.lr)
    });
    trainer.finish_update(row, &clock, samples.len(), &tally)
}

/// `num_envs / group_size` groups; every env of a group starts from the same reset seed and
/// runs one whole episode; then each group's advantages.
fn collect_rollout(trainer: &mut Trainer, venv: &mut VecEnv) -> (Samples, EpisodeTally) {
    let policy = trainer.policy();
    let n = venv.num_envs();
    let group = trainer.config.group_size;
    let base_seed = trainer
        .config
        .seed
        .wrapping_mul(1_000_003)
        .wrapping_add(trainer.update.wrapping_mul(n as u64));
    // Wrapping: any u64 seed is a valid setting, and these only need to differ.
    let seeds: Vec<u64> = (0..n)
        .map(|i| base_seed.wrapping_add((i / group) as u64))
        .collect();
    let mut observations = venv.reset_each(&seeds);
    trainer.obs_norm.update(&observations);
    let mut episodes: Vec<Episode> = (0..n).map(|_| Episode::default()).collect();
    let mut running = vec![true; n];
    let mut tally = EpisodeTally::default();
    let obs_dim = trainer.obs_dim;
    while running.iter().any(|r| *r) {
        let decision = policy.decide(&trainer.obs_norm, &observations, &mut trainer.rng, false);
        let steps = venv.step(decision.actions.clone());
        for (i, step) in steps.iter().enumerate() {
            if !running[i] {
                continue;
            }
            let episode = &mut episodes[i];
            episode
                .inputs
                .extend(&decision.inputs[i * obs_dim..(i + 1) * obs_dim]);
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
        trainer.obs_norm.update(&observations);
    }
    let mut samples = Samples::default();
    for members in episodes.chunks(group) {
        let advantages: Vec<Vec<f64>> = if trainer.config.reward_to_go {
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
                .map(|(a, e)| vec![a; e.rewards.len()])
                .collect()
        };
        for (episode, advantage) in members.iter().zip(advantages) {
            samples.inputs.extend(&episode.inputs);
            samples.actions.extend(&episode.actions);
            samples.log_probs.extend(&episode.log_probs);
            samples.advantages.extend(advantage);
        }
    }
    // The next PPO-style update must not continue these episodes.
    trainer.observations = None;
    (samples, tally)
}

/// One gradient step on the samples at `indices`: the clipped surrogate loss on the group
/// advantages as they are, less the entropy bonus, plus `kl_coef` times the k3 estimate of
/// the KL divergence from the rollout's policy.
fn minibatch_step(trainer: &mut Trainer, samples: &Samples, indices: &[usize], lr: f64) -> Losses {
    let advantages: Vec<f64> = indices.iter().map(|i| samples.advantages[*i]).collect();
    let policy = trainer.policy_loss(samples, indices, &advantages);
    let mut loss = policy.loss;
    if trainer.config.kl_coef > 0.0 {
        loss = loss + k3_kl(policy.log_ratio).mul_scalar(trainer.config.kl_coef as f32);
    }
    Losses {
        grad_norm: trainer.gradient_step(loss, lr),
        ..policy.terms
    }
}
