//! The layout of a training run's directory: the one place its file and folder names are
//! spelled. The trainer writes them, and evolve, the workbench and the CLI find them here.

use std::path::{Path, PathBuf};

/// The run's settings (`[run]` and `[train]`).
pub const CONFIG_FILE: &str = "config.toml";
/// The run's own copy of its reward program.
pub const REWARD_FILE: &str = "reward.rhai";
/// One metrics row per update, as JSON lines.
pub const METRICS_FILE: &str = "metrics.jsonl";
/// How the last `train` call ended.
pub const OUTCOME_FILE: &str = "outcome.json";
/// The learning curves drawn from the metrics.
pub const CURVES_FILE: &str = "curves.png";
/// The folder of checkpoints.
pub const CHECKPOINTS_DIR: &str = "checkpoints";
/// The folder of recorded evaluation episodes (docs/rollout-format.md).
pub const ROLLOUTS_DIR: &str = "rollouts";
/// The extension of a rollout file.
pub const ROLLOUT_EXTENSION: &str = "jsonl";

/// Where each file of the training run in one directory lies.
#[derive(Debug, Clone, Copy)]
pub struct RunDir<'a> {
    root: &'a Path,
}

impl<'a> RunDir<'a> {
    /// The layout of the run in `root`.
    pub fn new(root: &'a Path) -> Self {
        Self { root }
    }

    /// `config.toml`: whether a directory holds a run at all.
    pub fn config(&self) -> PathBuf {
        self.root.join(CONFIG_FILE)
    }

    /// `reward.rhai`.
    pub fn reward(&self) -> PathBuf {
        self.root.join(REWARD_FILE)
    }

    /// `metrics.jsonl`.
    pub fn metrics(&self) -> PathBuf {
        self.root.join(METRICS_FILE)
    }

    /// `outcome.json`.
    pub fn outcome(&self) -> PathBuf {
        self.root.join(OUTCOME_FILE)
    }

    /// `curves.png`.
    pub fn curves(&self) -> PathBuf {
        self.root.join(CURVES_FILE)
    }

    /// `checkpoints/`.
    pub fn checkpoints(&self) -> PathBuf {
        self.root.join(CHECKPOINTS_DIR)
    }

    /// `checkpoints/latest/`: the last complete checkpoint.
    pub fn latest_checkpoint(&self) -> PathBuf {
        self.checkpoints().join("latest")
    }

    /// `checkpoints/latest.new/`: a checkpoint being written.
    pub fn new_checkpoint(&self) -> PathBuf {
        self.checkpoints().join("latest.new")
    }

    /// `checkpoints/latest.old/`: the checkpoint being replaced, whole until the swap ends.
    pub fn old_checkpoint(&self) -> PathBuf {
        self.checkpoints().join("latest.old")
    }

    /// `rollouts/`.
    pub fn rollouts(&self) -> PathBuf {
        self.root.join(ROLLOUTS_DIR)
    }

    /// `rollouts/episode-NNNN.jsonl`: the recording of evaluation episode `episode`.
    pub fn rollout(&self, episode: usize) -> PathBuf {
        self.rollouts()
            .join(format!("episode-{episode:04}.{ROLLOUT_EXTENSION}"))
    }
}
