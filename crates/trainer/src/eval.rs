//! Evaluating a run's trained policy, recording its rollouts for the viewer.

use crate::envs::with_reward;
use crate::rollout_format::{ROLLOUT_FORMAT, RolloutHeader, RolloutStep};
use crate::run_dir::RunDir;
use crate::{Run, TrainError};
use envs::TaskEnv;
use rl_env::seeded_rng;
use rl_env::wrappers::ClipAction;
use serde::Serialize;
use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;

/// What an evaluation measured.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EvalReport {
    pub env: String,
    pub episodes: usize,
    /// Actions were the policy's means rather than samples.
    pub deterministic: bool,
    /// Fraction of episodes whose last step reported the task's `is_success`.
    pub success_rate: f64,
    /// The mean over episodes of the task's own per-episode measure (its fitness info key,
    /// e.g. a task file's success measure), when it is not `is_success`.
    pub task_measure: Option<(String, f64)>,
    /// Mean episode return of the run's reward (its program's, or the env's own); in JSON,
    /// "inf", "-inf" or "nan" when it overflowed, as in `metrics.jsonl`.
    #[serde(with = "crate::metrics::json_f64")]
    pub mean_return: f64,
    pub mean_length: f64,
    /// Mean of each reward component over all steps (non-finite ones as strings in JSON).
    #[serde(with = "crate::metrics::json_f64_map")]
    pub component_means: BTreeMap<String, f64>,
    /// Env steps the policy was trained for.
    pub trained_steps: u64,
    /// Where the rollouts were written (`DIR/rollouts/`).
    pub rollouts: String,
}

fn write_line(
    file: &mut impl Write,
    path: &Path,
    value: &impl Serialize,
) -> Result<(), TrainError> {
    let line = serde_json::to_string(value).map_err(|e| TrainError::file(path, e))?;
    writeln!(file, "{line}").map_err(|e| TrainError::file(path, e))
}

/// The most episodes one evaluation records: each is a rollout file of its own.
pub const MAX_EVAL_EPISODES: usize = 10_000;

/// Runs `episodes` episodes (at most [`MAX_EVAL_EPISODES`]) of the run's last checkpoint,
/// episode `i` reset with seed `seed + i`, and writes each to
/// `DIR/rollouts/episode-NNNN.jsonl`.
pub fn evaluate(
    run: &Run,
    episodes: usize,
    deterministic: bool,
    seed: u64,
) -> Result<EvalReport, TrainError> {
    if episodes == 0 || episodes > MAX_EVAL_EPISODES {
        return Err(TrainError::Config(format!(
            "an evaluation records 1 to {MAX_EVAL_EPISODES} episodes, not {episodes} \
             (--episodes, or --episode N of a run with fewer recorded)"
        )));
    }
    let trainer = run.load_checkpoint()?;
    let policy = trainer.policy();
    let setup = &run.config.run;
    let (task, task_errors) = task_file::make_reporting(&setup.env, &setup.env_options)?;
    let program = run.reward_program(&task.spec().state_schema)?;
    let (env, reward_errors) = with_reward(task, program.as_ref());
    let errors: Vec<_> = reward_errors.into_iter().chain(task_errors).collect();
    let mut env: Box<dyn TaskEnv> = Box::new(ClipAction::new(env));
    let layout = RunDir::new(&run.dir);
    let rollouts = layout.rollouts();
    std::fs::create_dir_all(&rollouts).map_err(|e| TrainError::file(&rollouts, e))?;
    let mut rng = seeded_rng(seed);
    let (mut total_return, mut total_length, mut successes) = (0.0, 0usize, 0usize);
    let measure_key = env.spec().fitness.own_measure().map(str::to_string);
    let mut measure_sum = 0.0;
    let mut components: BTreeMap<String, (f64, usize)> = BTreeMap::new();
    for episode in 0..episodes {
        let path = layout.rollout(episode);
        let file = std::fs::File::create(&path).map_err(|e| TrainError::file(&path, e))?;
        let mut file = std::io::BufWriter::new(file);
        let episode_seed = seed.wrapping_add(episode as u64);
        let (mut obs, info) = env.reset(Some(episode_seed));
        let spec = env.spec();
        let header = RolloutHeader {
            format: ROLLOUT_FORMAT.to_string(),
            env: setup.env.clone(),
            episode,
            seed: episode_seed,
            frame_skip: spec.frame_skip,
            physics_dt: spec.physics_dt,
            env_options: setup.env_options.clone(),
        };
        write_line(&mut file, &path, &header)?;
        let physics = |env: &dyn TaskEnv| env.sim().map(sim::Sim::physics_state);
        if let Some(state) = physics(env.as_ref()) {
            let first = RolloutStep {
                step: 0,
                physics: state,
                action: None,
                reward: None,
                components: BTreeMap::new(),
                success: info.is_success(),
            };
            write_line(&mut file, &path, &first)?;
        }
        for t in 1.. {
            let decision = policy.decide(
                trainer.obs_normalizer(),
                std::slice::from_ref(&obs),
                &mut rng,
                deterministic,
            );
            let action = &decision.actions[0];
            let step = env.step(action);
            if let Some(error) = errors.iter().find_map(|slot| slot.get()) {
                return Err(TrainError::Reward(Box::new(error)));
            }
            total_return += step.reward;
            total_length += 1;
            let step_components: BTreeMap<String, f64> = step
                .info
                .iter()
                .filter_map(|(k, v)| Some((k.strip_prefix("reward/")?.to_string(), v)))
                .collect();
            for (name, value) in &step_components {
                let entry = components.entry(name.clone()).or_default();
                entry.0 += value;
                entry.1 += 1;
            }
            if let Some(state) = physics(env.as_ref()) {
                let line = RolloutStep {
                    step: t,
                    physics: state,
                    action: Some(action.clone()),
                    reward: Some(step.reward),
                    components: step_components,
                    success: step.info.is_success(),
                };
                write_line(&mut file, &path, &line)?;
            }
            if step.terminated || step.truncated {
                successes += usize::from(step.info.is_success());
                if let Some(key) = &measure_key {
                    measure_sum += step.info.get(key).unwrap_or(0.0);
                }
                break;
            }
            obs = step.obs;
        }
        file.flush().map_err(|e| TrainError::file(&path, e))?;
    }
    let n = episodes.max(1) as f64;
    Ok(EvalReport {
        env: setup.env.clone(),
        episodes,
        deterministic,
        success_rate: successes as f64 / n,
        task_measure: measure_key.map(|key| (key, measure_sum / n)),
        mean_return: total_return / n,
        mean_length: total_length as f64 / n,
        component_means: components
            .into_iter()
            .map(|(k, (sum, count))| (k, sum / count as f64))
            .collect(),
        trained_steps: trainer.global_step,
        rollouts: rollouts.display().to_string(),
    })
}
