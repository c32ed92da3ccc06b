//! The batch of envs a run trains on.

use crate::TrainError;
use envs::{EnvOptions, TaskEnv, TaskSpec};
use reward_dsl::{RewardEnv, RewardErrorSlot, RewardProgram};
use rl_env::wrappers::{ClipAction, RecordEpisodeStatistics};
use rl_env::{Env, VecEnv};

/// The envs of a run, with the slots their reward programs report failures into.
pub struct TrainEnvs {
    pub venv: VecEnv,
    pub spec: TaskSpec,
    pub reward_errors: Vec<RewardErrorSlot>,
}

/// One env as training sees it.
pub struct TrainEnv {
    pub env: Box<dyn Env>,
    pub spec: TaskSpec,
    /// Where its reward program, and a task file's termination and success programs, report
    /// a failure.
    pub reward_errors: Vec<RewardErrorSlot>,
}

/// `env` with `reward` as its reward, if there is one, and the slot where the program reports
/// a failure.
pub(crate) fn with_reward(
    env: Box<dyn TaskEnv>,
    reward: Option<&RewardProgram>,
) -> (Box<dyn TaskEnv>, Option<RewardErrorSlot>) {
    match reward {
        Some(program) => {
            let env = RewardEnv::new(env, program.clone());
            let slot = env.errors();
            (Box::new(env), Some(slot))
        }
        None => (env, None),
    }
}

/// One env as training sees it: the task, its reward program if any, episode statistics of
/// the (program's) reward, and actions clipped into the action space.
pub fn make_env(
    name: &str,
    options: &EnvOptions,
    reward: Option<&RewardProgram>,
) -> Result<TrainEnv, TrainError> {
    let (task, task_errors) = task_file::make_reporting(name, options)?;
    let spec = task.spec().clone();
    let (env, reward_errors) = with_reward(task, reward);
    let reward_errors = reward_errors.into_iter().chain(task_errors).collect();
    Ok(TrainEnv {
        env: Box::new(ClipAction::new(RecordEpisodeStatistics::new(env))),
        spec,
        reward_errors,
    })
}

/// `num_envs` envs stepped on `threads` worker threads (0: one per core).
pub fn make_envs(
    name: &str,
    options: &EnvOptions,
    reward: Option<&RewardProgram>,
    num_envs: usize,
    threads: usize,
) -> Result<TrainEnvs, TrainError> {
    let mut envs = Vec::with_capacity(num_envs);
    let mut reward_errors = Vec::new();
    let mut spec = None;
    for _ in 0..num_envs {
        let made = make_env(name, options, reward)?;
        envs.push(made.env);
        reward_errors.extend(made.reward_errors);
        spec = Some(made.spec);
    }
    let threads = if threads == 0 {
        std::thread::available_parallelism().map_or(1, |n| n.get())
    } else {
        threads
    };
    Ok(TrainEnvs {
        venv: VecEnv::new(envs, threads),
        spec: spec.ok_or_else(|| TrainError::Config("num_envs must be at least 1".into()))?,
        reward_errors,
    })
}

impl TrainEnvs {
    /// The first reward-program failure in any env, if one happened.
    pub fn reward_error(&self) -> Option<TrainError> {
        self.reward_errors
            .iter()
            .find_map(RewardErrorSlot::get)
            .map(|e| TrainError::Reward(Box::new(e)))
    }
}
