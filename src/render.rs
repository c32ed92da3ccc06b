//! `rewardgen render`: a rollout, a training run or an evolve run's candidate to GIF or MP4.

use anyhow::{Context, Result, bail};
use std::path::{Path, PathBuf};
use viewer::{RenderOptions, Rollout};

/// Arguments of `rewardgen render`.
#[derive(clap::Args)]
pub struct RenderArgs {
    /// A rollout file, a training run, or an evolve run (its best policy, or --candidate).
    path: PathBuf,
    /// In an evolve run: the candidate whose policy to show.
    #[arg(long)]
    candidate: Option<i64>,
    /// Which recorded episode of the run.
    #[arg(long, default_value_t = 0)]
    episode: usize,
    /// The video to write: .gif, or .mp4 (needs ffmpeg).
    #[arg(long)]
    out: PathBuf,
    #[arg(long, default_value_t = 320)]
    width: u32,
    #[arg(long, default_value_t = 240)]
    height: u32,
    /// A camera named in the model (default: a free camera framing the whole model).
    #[arg(long)]
    camera: Option<String>,
}

/// The training run PATH stands for.
fn training_run(path: &Path, candidate: Option<i64>) -> Result<PathBuf> {
    if !path.join(evolve::DATABASE_FILE).exists() {
        if candidate.is_some() {
            bail!(
                "--candidate needs an evolve run; {} is not one",
                path.display()
            );
        }
        return Ok(path.to_path_buf());
    }
    let dir = match candidate {
        Some(id) => path.join(format!("candidates/c{id:04}")),
        None if path.join("best-policy").exists() => path.join("best-policy"),
        None => bail!(
            "{} has no best policy yet (the run is not finished); choose one with --candidate ID (see `rewardgen show`)",
            path.display()
        ),
    };
    if !dir.join("config.toml").exists() {
        bail!("{}: no trained policy there", dir.display());
    }
    Ok(dir)
}

/// The rollout file to render, recording one episode first when the run has none.
fn rollout_file(args: &RenderArgs) -> Result<PathBuf> {
    if args.path.is_file() {
        return Ok(args.path.clone());
    }
    if !args.path.is_dir() {
        bail!("{}: no such file or run directory", args.path.display());
    }
    let dir = training_run(&args.path, args.candidate)?;
    let mut files = viewer::rollout_files(&dir);
    if files.len() <= args.episode {
        let run = trainer::Run::open(&dir)?;
        let report = trainer::evaluate(&run, args.episode + 1, true, 1_000_000)
            .with_context(|| format!("cannot record a rollout of {}", dir.display()))?;
        eprintln!(
            "recorded {} episode(s) into {}",
            report.episodes, report.rollouts
        );
        files = viewer::rollout_files(&dir);
    }
    files
        .get(args.episode)
        .cloned()
        .with_context(|| format!("{}: no episode {}", dir.display(), args.episode))
}

pub fn render(args: &RenderArgs) -> Result<()> {
    let file = rollout_file(args)?;
    let rollout = Rollout::read(&file)?;
    let options = RenderOptions {
        width: args.width,
        height: args.height,
        camera: args.camera.clone(),
    };
    let frames = viewer::render_frames(&rollout, &options)?;
    viewer::write_video(&frames, &options, rollout.step_seconds(), &args.out)?;
    println!(
        "{}: {} frames of {} from {}",
        args.out.display(),
        frames.len(),
        rollout.header.env,
        file.display()
    );
    Ok(())
}
