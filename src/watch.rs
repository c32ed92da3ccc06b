//! Watching what a reward taught: `rewardgen render` (video), `replay` (MuJoCo's viewer),
//! `view` (the web workbench) and `export` (the workbench as static pages).

use anyhow::{Context, Result, bail};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use trainer::RunDir;
use viewer::{RenderOptions, ReplayOptions, Rollout};

/// Which recorded episode to show: a rollout file, a training run, or an evolve run's
/// candidate.
#[derive(clap::Args)]
pub struct Source {
    /// A rollout file, a training run, or an evolve run (its best policy, or --candidate).
    path: PathBuf,
    /// In an evolve run: the candidate whose policy to show.
    #[arg(long)]
    candidate: Option<i64>,
    /// Which recorded episode of the run.
    #[arg(long, default_value_t = 0)]
    episode: usize,
}

impl Source {
    /// The training run PATH stands for.
    fn training_run(&self) -> Result<PathBuf> {
        let path = &self.path;
        if !path.join(evolve::DATABASE_FILE).exists() {
            if self.candidate.is_some() {
                bail!(
                    "--candidate needs an evolve run; {} is not one",
                    path.display()
                );
            }
            if !RunDir::new(path).config().exists() {
                bail!(
                    "{}: not a rollout file, a training run or an evolve run",
                    path.display()
                );
            }
            return Ok(path.to_path_buf());
        }
        let dir = match self.candidate {
            Some(id) => path.join(format!("candidates/c{id:04}")),
            None if path.join("best-policy").exists() => path.join("best-policy"),
            None => bail!(
                "{} has no best policy yet (the run is not finished); choose one with --candidate ID (see `rewardgen show`)",
                path.display()
            ),
        };
        if !RunDir::new(&dir).config().exists() {
            bail!("{}: no trained policy there", dir.display());
        }
        Ok(dir)
    }

    /// The rollout files to show, recording episodes first when the run has too few; the
    /// index of the chosen episode among them.
    fn rollout_files(&self) -> Result<(Vec<PathBuf>, usize)> {
        if self.path.is_file() {
            return Ok((vec![self.path.clone()], 0));
        }
        if !self.path.is_dir() {
            bail!("{}: no such file or run directory", self.path.display());
        }
        let dir = self.training_run()?;
        let had = viewer::rollout_files(&dir).len();
        viewer::recorded_rollout(&dir, self.episode)
            .with_context(|| format!("cannot record a rollout of {}", dir.display()))?;
        let files = viewer::rollout_files(&dir);
        if files.len() > had {
            eprintln!(
                "recorded {} episode(s) into {}",
                files.len() - had,
                RunDir::new(&dir).rollouts().display()
            );
        }
        Ok((files, self.episode))
    }
}

/// Arguments of `rewardgen render`.
#[derive(clap::Args)]
pub struct RenderArgs {
    #[command(flatten)]
    source: Source,
    /// The video to write: .gif, or .mp4 / .webm (these need ffmpeg).
    #[arg(long)]
    out: PathBuf,
    #[arg(long, default_value_t = 640)]
    width: u32,
    #[arg(long, default_value_t = 480)]
    height: u32,
    /// A camera named in the model (default: the model's first camera, which frames the task
    /// in every built-in env; a free camera framing the whole model when it has none).
    #[arg(long)]
    camera: Option<String>,
}

pub fn render(args: &RenderArgs) -> Result<()> {
    let (files, episode) = args.source.rollout_files()?;
    let file = &files[episode];
    let rollout = Rollout::read(file)?;
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

/// Arguments of `rewardgen replay`.
#[derive(clap::Args)]
pub struct ReplayArgs {
    #[command(flatten)]
    source: Source,
    /// Playback speed relative to real time.
    #[arg(long, default_value_t = 1.0)]
    speed: f64,
}

pub fn replay(args: &ReplayArgs) -> Result<()> {
    if !(args.speed > 0.0 && args.speed <= 64.0) {
        bail!("--speed must be above 0 and at most 64, not {}", args.speed);
    }
    viewer::check_display()?;
    let (files, first) = args.source.rollout_files()?;
    let rollouts = files
        .iter()
        .map(|f| Rollout::read(f))
        .collect::<Result<Vec<_>, _>>()?;
    if let Some(other) = rollouts
        .iter()
        .find(|r| r.header.env != rollouts[first].header.env)
    {
        bail!("{}: a rollout of another env", other.path.display());
    }
    println!(
        "replaying {} episode(s); {}",
        rollouts.len(),
        viewer::REPLAY_KEYS
    );
    viewer::replay(
        &rollouts,
        &ReplayOptions {
            speed: args.speed,
            first,
        },
    )?;
    Ok(())
}

/// Arguments of `rewardgen view`.
#[derive(clap::Args)]
pub struct ViewArgs {
    /// The evolve run directory.
    run: PathBuf,
    /// The port to listen on (0 picks a free one).
    #[arg(long, default_value_t = 8080)]
    port: u16,
    /// Listen on this address instead of 127.0.0.1, for example 0.0.0.0 to be reachable from
    /// other machines (anyone who can reach it can read the run).
    #[arg(long)]
    bind: Option<IpAddr>,
    /// Also answer requests for this host name (repeatable), for example the name other
    /// machines reach this one by. Loopback names and the address a client connected to are
    /// always answered; other names are refused, so web pages cannot read the run through
    /// DNS rebinding.
    #[arg(long = "allow-host", value_name = "NAME")]
    allow_host: Vec<String>,
}

pub fn view(args: &ViewArgs) -> Result<()> {
    let ip = args.bind.unwrap_or(IpAddr::V4(Ipv4Addr::LOCALHOST));
    workbench::serve(&args.run, SocketAddr::new(ip, args.port), &args.allow_host)?;
    Ok(())
}

/// Arguments of `rewardgen export`.
#[derive(clap::Args)]
pub struct ExportArgs {
    /// The evolve run directory.
    run: PathBuf,
    /// The folder to write the pages into.
    #[arg(long)]
    out: PathBuf,
}

pub fn export(args: &ExportArgs) -> Result<()> {
    let pages = workbench::export(&args.run, &args.out, &mut |line: &str| eprintln!("{line}"))?;
    println!(
        "{pages} pages in {}; open {}",
        args.out.display(),
        args.out.join("index.html").display()
    );
    Ok(())
}
