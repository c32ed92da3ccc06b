//! The rollout format (docs/rollout-format.md): the lines `rewardgen eval` writes for each
//! recorded episode and the viewer reads back, and the version tag they carry.

use serde::{Deserialize, Serialize};
use sim::PhysicsState;
use std::collections::BTreeMap;

/// The version tag of the rollout format, in every file's header.
pub const ROLLOUT_FORMAT: &str = "rewardgen-rollout-1";

/// A rollout file's first line.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RolloutHeader {
    /// [`ROLLOUT_FORMAT`] when written by this build.
    pub format: String,
    pub env: String,
    pub episode: usize,
    /// The seed the episode was reset with.
    pub seed: u64,
    pub frame_skip: usize,
    pub physics_dt: f64,
    /// The options the env was built with (`--model`, `--physics`, `--frame-skip`); files
    /// written before they were recorded have none, which rebuilds the env with its defaults.
    #[serde(default)]
    pub env_options: envs::EnvOptions,
}

/// One recorded env step, one line each after the header; step 0 is the state after reset.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RolloutStep {
    pub step: usize,
    #[serde(flatten)]
    pub physics: PhysicsState,
    /// The action that led here, before clipping (absent at step 0).
    pub action: Option<Vec<f64>>,
    /// The run's reward for that step (absent at step 0).
    pub reward: Option<f64>,
    /// The reward program's components for that step.
    #[serde(default)]
    pub components: BTreeMap<String, f64>,
    /// The task's success flag.
    pub success: bool,
}
