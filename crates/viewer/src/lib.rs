//! Watching what a reward taught. [`Rollout`] reads the episodes `rewardgen eval` records;
//! [`render_frames`] draws each recorded state with MuJoCo's offscreen renderer (EGL, so it
//! works headless) with an overlay of step, reward and success; [`write_video`] encodes GIF
//! or MP4.

mod render;
mod rollout;

pub use render::{Frame, RenderOptions, render_frames, write_video};
pub use rollout::{ROLLOUT_FORMAT, Rollout, RolloutHeader, RolloutStep, rollout_files};

use std::path::Path;

/// What can go wrong reading or rendering a rollout, naming the file where there is one.
#[derive(Debug, thiserror::Error)]
pub enum ViewerError {
    #[error("{path}: {message}")]
    File { path: String, message: String },
    #[error(transparent)]
    Env(#[from] envs::EnvError),
    #[error("render: {0}")]
    Render(String),
}

impl ViewerError {
    pub(crate) fn file(path: &Path, error: impl std::fmt::Display) -> Self {
        ViewerError::File {
            path: path.display().to_string(),
            message: error.to_string(),
        }
    }
}
