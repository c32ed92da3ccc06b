//! A training run's policy on video: record a deterministic episode when the run has none,
//! then render it.

use crate::ViewerError;
use crate::render::{RenderOptions, render_frames, write_video};
use crate::rollout::{Rollout, rollout_files};
use std::path::{Path, PathBuf};

/// The seed `rewardgen eval` uses when the viewer records episodes itself.
const RECORDING_SEED: u64 = 1_000_000;

/// The rollout file of `episode` in the training run `run_dir`, recording episodes
/// `0..=episode` with the deterministic policy first when they are missing.
pub fn recorded_rollout(run_dir: &Path, episode: usize) -> Result<PathBuf, ViewerError> {
    let mut files = rollout_files(run_dir);
    if files.len() <= episode {
        let run = trainer::Run::open(run_dir)?;
        trainer::evaluate(&run, episode.saturating_add(1), true, RECORDING_SEED)?;
        files = rollout_files(run_dir);
    }
    files
        .get(episode)
        .cloned()
        .ok_or_else(|| ViewerError::file(run_dir, format!("no episode {episode} was recorded")))
}

/// Renders `episode` of the training run `run_dir` to the video `out`; returns the rollout shown.
pub fn render_run(
    run_dir: &Path,
    episode: usize,
    options: &RenderOptions,
    out: &Path,
) -> Result<Rollout, ViewerError> {
    let rollout = Rollout::read(&recorded_rollout(run_dir, episode)?)?;
    let frames = render_frames(&rollout, options)?;
    if let Some(dir) = out.parent() {
        std::fs::create_dir_all(dir).map_err(|e| ViewerError::file(dir, e))?;
    }
    write_video(&frames, options, rollout.step_seconds(), out)?;
    Ok(rollout)
}

/// Whether `ffmpeg` runs here, so MP4 and WebM can be written.
pub fn ffmpeg_available() -> bool {
    ffmpeg_version().is_some()
}

/// The first line of `ffmpeg -version`, when ffmpeg runs here.
pub fn ffmpeg_version() -> Option<String> {
    std::process::Command::new("ffmpeg")
        .arg("-version")
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| {
            String::from_utf8_lossy(&o.stdout)
                .lines()
                .next()
                .unwrap_or("ffmpeg")
                .to_string()
        })
}
