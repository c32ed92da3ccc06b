//! Reading the rollout files `rewardgen eval` records (docs/rollout-format.md).

use crate::ViewerError;
use std::path::{Path, PathBuf};
use trainer::rollout_format::{ROLLOUT_FORMAT, RolloutHeader, RolloutStep};
use trainer::run_dir::{ROLLOUT_EXTENSION, RunDir};

/// A whole recorded episode.
#[derive(Debug, Clone, PartialEq)]
pub struct Rollout {
    pub path: PathBuf,
    pub header: RolloutHeader,
    pub steps: Vec<RolloutStep>,
}

impl Rollout {
    /// Reads a rollout file; a bad line is an error naming the file and line.
    pub fn read(path: &Path) -> Result<Self, ViewerError> {
        let text = user_files::read_to_string(path, user_files::Kind::ROLLOUT)
            .map_err(|e| ViewerError::file(path, e.message))?;
        let mut lines = text
            .lines()
            .enumerate()
            .filter(|(_, l)| !l.trim().is_empty());
        let (_, first) = lines
            .next()
            .ok_or_else(|| ViewerError::file(path, "empty file: not a rollout"))?;
        let header: RolloutHeader = serde_json::from_str(first)
            .map_err(|e| ViewerError::file(path, format!("line 1: not a rollout header: {e}")))?;
        if header.format != ROLLOUT_FORMAT {
            return Err(ViewerError::file(
                path,
                format!(
                    "format '{}' is not '{ROLLOUT_FORMAT}', the one this build reads",
                    header.format
                ),
            ));
        }
        let steps = lines
            .map(|(i, line)| {
                serde_json::from_str(line)
                    .map_err(|e| ViewerError::file(path, format!("line {}: {e}", i + 1)))
            })
            .collect::<Result<Vec<RolloutStep>, _>>()?;
        if steps.is_empty() {
            return Err(ViewerError::file(path, "the rollout has no steps"));
        }
        Ok(Self {
            path: path.to_path_buf(),
            header,
            steps,
        })
    }

    /// The MuJoCo model of the rollout's env, to set its states into.
    pub fn model(&self) -> Result<sim::Model, ViewerError> {
        let env = task_file::make(
            &self.header.env,
            &envs::EnvOptions {
                frame_skip: Some(self.header.frame_skip),
                ..self.header.env_options.clone()
            },
        )?;
        Ok(env
            .sim()
            .ok_or_else(|| ViewerError::Render(format!("{} has no MuJoCo model", self.header.env)))?
            .model()
            .clone())
    }

    /// Seconds of simulated time per recorded step.
    pub fn step_seconds(&self) -> f64 {
        self.header.frame_skip as f64 * self.header.physics_dt
    }
}

/// The rollout files under a training run (`RUN/rollouts/episode-*.jsonl`), in order.
pub fn rollout_files(run_dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(RunDir::new(run_dir).rollouts())
        .map(|entries| {
            entries
                .flatten()
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|e| e == ROLLOUT_EXTENSION))
                .collect()
        })
        .unwrap_or_default();
    files.sort();
    files
}
