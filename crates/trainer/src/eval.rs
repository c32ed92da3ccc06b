//! Evaluating a run's trained policy.

use crate::envs::make_env;
use crate::{Run, TrainError};
use rl_env::seeded_rng;
use serde::Serialize;
use std::collections::BTreeMap;

/// What an evaluation measured.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EvalReport {
    pub env: String,
    pub episodes: usize,
    /// Actions were the policy's means rather than samples.
    pub deterministic: bool,
    /// Fraction of episodes whose last step reported the task's `is_success`.
    pub success_rate: f64,
    /// Mean episode return of the run's reward (its program's, or the env's own).
    pub mean_return: f64,
    pub mean_length: f64,
    /// Mean of each reward component over all steps.
    pub component_means: BTreeMap<String, f64>,
    /// Env steps the policy was trained for.
    pub trained_steps: u64,
}

/// Runs `episodes` episodes of the run's last checkpoint; episode `i` is reset with seed
/// `seed + i`.
pub fn evaluate(
    run: &Run,
    episodes: usize,
    deterministic: bool,
    seed: u64,
) -> Result<EvalReport, TrainError> {
    let trainer = run.load_checkpoint()?;
    let policy = trainer.policy();
    let setup = &run.config.run;
    let probe = envs::make(&setup.env, &setup.env_options)?;
    let program = run.reward_program(&probe.spec().state_schema)?;
    let made = make_env(&setup.env, &setup.env_options, program.as_ref())?;
    let (mut env, errors) = (made.env, made.reward_errors);
    let mut rng = seeded_rng(seed);
    let (mut total_return, mut total_length, mut successes) = (0.0, 0usize, 0usize);
    let mut components: BTreeMap<String, (f64, usize)> = BTreeMap::new();
    for episode in 0..episodes {
        let (mut obs, _) = env.reset(Some(seed.wrapping_add(episode as u64)));
        loop {
            let decision = policy.decide(
                trainer.obs_normalizer(),
                std::slice::from_ref(&obs),
                &mut rng,
                deterministic,
            );
            let step = env.step(&decision.actions[0]);
            if let Some(error) = errors.as_ref().and_then(|slot| slot.get()) {
                return Err(TrainError::Reward(Box::new(error)));
            }
            total_return += step.reward;
            total_length += 1;
            for (key, value) in step.info.iter() {
                if let Some(name) = key.strip_prefix("reward/") {
                    let entry = components.entry(name.to_string()).or_default();
                    entry.0 += value;
                    entry.1 += 1;
                }
            }
            if step.terminated || step.truncated {
                successes += usize::from(step.info.is_success());
                break;
            }
            obs = step.obs;
        }
    }
    let n = episodes.max(1) as f64;
    Ok(EvalReport {
        env: setup.env.clone(),
        episodes,
        deterministic,
        success_rate: successes as f64 / n,
        mean_return: total_return / n,
        mean_length: total_length as f64 / n,
        component_means: components
            .into_iter()
            .map(|(k, (sum, count))| (k, sum / count as f64))
            .collect(),
        trained_steps: trainer.global_step,
    })
}
