//! Watching what a reward taught. [`Rollout`] reads the episodes `rewardgen eval` records;
//! [`render_frames`] draws each recorded state with MuJoCo's offscreen renderer (EGL, so it
//! works headless) with an overlay of step, reward and success; [`write_video`] encodes GIF,
//! MP4 or WebM; [`render_run`] does both for a training run's policy; [`replay`] plays a
//! rollout in MuJoCo's interactive viewer.

mod recording;
mod render;
mod replay;
mod rollout;

pub use recording::{ffmpeg_available, ffmpeg_version, recorded_rollout, render_run};
pub use render::{Frame, RenderOptions, offscreen_available, render_frames, write_video};
pub use replay::{REPLAY_KEYS, ReplayOptions, check_display, replay};
pub use rollout::{Rollout, rollout_files};
pub use trainer::rollout_format::{RolloutHeader, RolloutStep};

use std::path::Path;

/// What can go wrong reading or rendering a rollout, naming the file where there is one.
#[derive(Debug, thiserror::Error)]
pub enum ViewerError {
    #[error("{path}: {message}")]
    File { path: String, message: String },
    #[error(transparent)]
    Env(#[from] envs::EnvError),
    #[error(transparent)]
    Train(#[from] trainer::TrainError),
    #[error("render: {0}")]
    Render(String),
    /// There is no display to open a window on.
    #[error("{0}")]
    NoDisplay(String),
}

impl ViewerError {
    pub(crate) fn file(path: &Path, error: impl std::fmt::Display) -> Self {
        ViewerError::File {
            path: path.display().to_string(),
            message: error.to_string(),
        }
    }
}
