//! Task files (above `envs` and `reward-dsl`): a TOML file that makes any MJCF model a full
//! task, selected with `--env task:<path>`, and [`make`], the one place that builds any env
//! by name.
//!
//! A task file gives the model, a control scheme (`ctrl`, joint-position offsets or a mocap
//! target), the reset (keyframe, settling, noise, placed bodies), named state fields (bodies,
//! sites, geoms, joints, sensors, actuator forces, contacts, slices of `qpos` and `qvel`,
//! with units and frames), the observation, termination and success programs in the reward
//! language's sandbox, and the task text. docs/tasks.md describes every key.

mod control;
mod env;
mod fields;
mod programs;
mod raw;
mod reset;

pub use env::{
    DEFAULT_EPISODE_STEPS, DEFAULT_FRAME_SKIP, DEFAULT_SUCCESS_KEY, TASK_ERROR_KEY, TIEBREAK_KEY,
    TaskFileEnv,
};

use envs::{EnvError, EnvOptions, TaskEnv};
use reward_dsl::RewardErrorSlot;
use std::path::{Path, PathBuf};

/// The prefix that selects a task file: `task:<path>`.
pub const TASK_PREFIX: &str = "task:";

/// What `task:<path>` builds, in one line.
pub const TASK_SUMMARY: &str =
    "a task file: an MJCF model with named state fields, termination and success (docs/tasks.md)";

/// Builds an env by name: `task:<path>` here, every other name through [`envs::make`].
pub fn make(name: &str, options: &EnvOptions) -> Result<Box<dyn TaskEnv>, EnvError> {
    make_reporting(name, options).map(|(env, _)| env)
}

/// [`make`], with the slot a task file's termination and success programs report a failure
/// into (`None` for envs without programs).
pub fn make_reporting(
    name: &str,
    options: &EnvOptions,
) -> Result<(Box<dyn TaskEnv>, Option<RewardErrorSlot>), EnvError> {
    match name.strip_prefix(TASK_PREFIX) {
        Some(path) => {
            let env = TaskFileEnv::open(Path::new(path), options)?;
            let errors = env.errors();
            Ok((Box::new(env), Some(errors)))
        }
        None => Ok((envs::make(name, options)?, None)),
    }
}

/// An env name with the path of a `task:` or `mjcf:` env made absolute, so that a run made
/// in one folder resumes from any other. Other names, and paths that do not exist (their
/// error comes when the env is built), are returned as given.
pub fn absolute_env_name(name: &str) -> String {
    for prefix in [TASK_PREFIX, envs::MJCF_PREFIX] {
        if let Some(path) = name.strip_prefix(prefix)
            && let Ok(absolute) = std::fs::canonicalize(path)
        {
            return format!("{prefix}{}", absolute.display());
        }
    }
    name.to_string()
}

/// For a `task:` env: the task's name and the folder of reward programs that come with it
/// (its `rewards` key, relative to the task file), if it has one. `None` for other envs.
pub fn reward_folder(env: &str) -> Result<Option<(String, Option<PathBuf>)>, EnvError> {
    let Some(path) = env.strip_prefix(TASK_PREFIX) else {
        return Ok(None);
    };
    let (source, task) = raw::read(Path::new(path)).map_err(EnvError::TaskFile)?;
    let name = task.name.as_ref().map_or_else(
        || {
            source
                .path
                .file_stem()
                .unwrap_or_default()
                .to_string_lossy()
                .into_owned()
        },
        |n| n.get_ref().clone(),
    );
    let folder = task
        .rewards
        .as_ref()
        .map(|r| source.dir().join(r.get_ref()));
    Ok(Some((name, folder)))
}
