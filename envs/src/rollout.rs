//! Rolling out a fixed policy: random actions or the env's scripted controller.

use crate::{EnvError, TaskEnv};
use rl_env::seeded_rng;
use serde::Serialize;
use std::collections::BTreeMap;
use std::time::Instant;

/// Which actions a rollout takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RolloutPolicy {
    /// Uniform samples from the action space.
    Random,
    /// The env's own scripted controller.
    Scripted,
}

/// What a rollout measured.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RolloutStats {
    pub env: String,
    pub policy: String,
    pub episodes: usize,
    pub mean_return: f64,
    pub mean_length: f64,
    /// Fraction of episodes whose last step reported `is_success`.
    pub success_rate: f64,
    pub env_steps: usize,
    /// Env steps per second, resets included.
    pub steps_per_second: f64,
    /// Each `info` value on the last step of an episode, averaged over episodes: the env's
    /// own episode metrics (`is_success`, `goal_distance`, ...). A key missing from an
    /// episode counts as 0 there.
    pub final_info: BTreeMap<String, f64>,
}

/// The most episodes one [`rollout`] call runs (hours of stepping on a CPU already).
pub const MAX_ROLLOUT_EPISODES: usize = 100_000;

/// Runs `episodes` episodes (at most [`MAX_ROLLOUT_EPISODES`]); episode `i` is reset with
/// seed `seed + i`.
pub fn rollout(
    env: &mut dyn TaskEnv,
    policy: RolloutPolicy,
    episodes: usize,
    seed: u64,
) -> Result<RolloutStats, EnvError> {
    if episodes > MAX_ROLLOUT_EPISODES {
        return Err(EnvError::InvalidOption(format!(
            "--episodes must be at most {MAX_ROLLOUT_EPISODES}, not {episodes}"
        )));
    }
    if policy == RolloutPolicy::Scripted && env.scripted_action().is_none() {
        return Err(EnvError::InvalidOption(format!(
            "{} has no scripted controller; use --policy random",
            env.spec().name
        )));
    }
    let mut rng = seeded_rng(seed);
    let (mut total_return, mut total_length, mut successes) = (0.0, 0usize, 0usize);
    let mut final_info = BTreeMap::<String, f64>::new();
    let start = Instant::now();
    for episode in 0..episodes {
        env.reset(Some(seed.wrapping_add(episode as u64)));
        loop {
            let action = match policy {
                RolloutPolicy::Random => env.action_space().sample(&mut rng),
                RolloutPolicy::Scripted => env.scripted_action().unwrap_or_default(),
            };
            let step = env.step(&action);
            total_return += step.reward;
            total_length += 1;
            if step.terminated || step.truncated {
                successes += usize::from(step.info.is_success());
                for (key, value) in step.info.iter() {
                    *final_info.entry(key.to_string()).or_default() += value;
                }
                break;
            }
        }
    }
    let elapsed = start.elapsed().as_secs_f64();
    let n = episodes.max(1) as f64;
    final_info.values_mut().for_each(|v| *v /= n);
    Ok(RolloutStats {
        env: env.spec().name.clone(),
        policy: match policy {
            RolloutPolicy::Random => "random",
            RolloutPolicy::Scripted => "scripted",
        }
        .into(),
        episodes,
        mean_return: total_return / n,
        mean_length: total_length as f64 / n,
        success_rate: successes as f64 / n,
        env_steps: total_length,
        steps_per_second: total_length as f64 / elapsed.max(1e-9),
        final_info,
    })
}
