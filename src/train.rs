//! `rewardgen train` and `rewardgen eval`: argument handling and progress display around the
//! trainer crate.

use anyhow::{Context, Result, bail};
use envs::EnvOptions;
use indicatif::{ProgressBar, ProgressStyle};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use trainer::{Algorithm, ComputeDevice, Run, RunEnd, RunSetup, TrainConfig};

/// Arguments of `rewardgen train`.
#[derive(clap::Args)]
pub struct TrainArgs {
    /// Environment name (see `rewardgen envs`), mjcf:<path> or task:<path> (docs/tasks.md).
    #[arg(long, required_unless_present = "resume", value_parser = crate::env_name)]
    env: Option<String>,
    /// Reward program (.rhai) to train with; without it the env's own reward is used.
    #[arg(long)]
    reward: Option<PathBuf>,
    /// Algorithm.
    #[arg(long, value_enum)]
    algo: Option<Algorithm>,
    /// Where the networks run; wgpu needs a build with `--features gpu`.
    #[arg(long, value_enum)]
    device: Option<ComputeDevice>,
    /// Env steps to train for.
    #[arg(long)]
    steps: Option<u64>,
    #[arg(long)]
    seed: Option<u64>,
    /// Worker threads stepping the envs (default: one per core).
    #[arg(long)]
    threads: Option<usize>,
    /// Run directory to create.
    #[arg(long, conflicts_with = "resume")]
    out: Option<PathBuf>,
    /// TOML file of training settings (any subset of the keys in `config.toml`'s [train]).
    #[arg(long, conflicts_with = "resume")]
    config: Option<PathBuf>,
    /// Override one setting, KEY=VALUE (repeatable), e.g. --set learning_rate=1e-3.
    #[arg(long = "set", value_name = "KEY=VALUE")]
    overrides: Vec<String>,
    /// Physics steps per action.
    #[arg(long)]
    frame_skip: Option<usize>,
    /// Model file for envs that load one (half-cheetah).
    #[arg(long)]
    model: Option<PathBuf>,
    /// Physics preset of the Franka tasks: fast (the default) or reference (2 ms steps).
    #[arg(long)]
    physics: Option<String>,
    /// Continue a stopped or paused run from its last checkpoint.
    #[arg(long)]
    resume: Option<PathBuf>,
    /// Pause (with a checkpoint) once the run has taken this many env steps in all; the
    /// learning rate still anneals over the whole run, and `--resume` continues it.
    #[arg(long, value_name = "STEPS")]
    until: Option<u64>,
}

impl TrainArgs {
    /// The run's settings: `env`'s defaults, then `--config`, `--set` and the flags.
    fn config(&self, env: &str) -> Result<TrainConfig> {
        let mut config = TrainConfig::for_env(env);
        if let Some(path) = &self.config {
            let text = user_files::read_to_string(path, user_files::Kind::CONFIG)?;
            config = config
                .with_toml(&text)
                .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
        }
        config = config
            .with_overrides(&self.overrides)
            .map_err(|e| anyhow::anyhow!("--set: {e}"))?;
        if let Some(algo) = self.algo {
            config.algo = algo;
        }
        if let Some(device) = self.device {
            config.device = device;
        }
        if let Some(steps) = self.steps {
            config.total_steps = steps;
        }
        if let Some(seed) = self.seed {
            config.seed = seed;
        }
        if let Some(threads) = self.threads {
            config.threads = threads;
        }
        Ok(config)
    }

    fn open_run(&self) -> Result<Run> {
        if let Some(dir) = &self.resume {
            let given = self.run_settings_given();
            if !given.is_empty() {
                bail!(
                    "--resume continues a run with its own config.toml; drop {} (only \
                     --steps, --until and --threads apply to a resumed run)",
                    given.join(", ")
                );
            }
            let mut run = Run::open(dir)?;
            if let Some(steps) = self.steps {
                run.config.train.total_steps = steps;
            }
            if let Some(threads) = self.threads {
                run.config.train.threads = threads;
            }
            run.config
                .train
                .validate()
                .map_err(|e| anyhow::anyhow!("--steps or --threads: {e}"))?;
            return Ok(run);
        }
        let env = self
            .env
            .clone()
            .expect("clap requires --env without --resume");
        let config = self.config(&env)?;
        let out = self.out.clone().unwrap_or_else(|| {
            PathBuf::from(format!(
                "runs/{env}-{}-seed{}",
                format!("{:?}", config.algo).to_lowercase(),
                config.seed
            ))
        });
        if let Some(reward) = &self.reward {
            // Fail early, with line and column, before any run directory is made.
            let probe = task_file::make(&env, &self.env_options())?;
            let bytes = crate::read_reward(reward)?;
            reward_dsl::RewardProgram::compile_bytes(
                &bytes,
                &reward.display().to_string(),
                &probe.spec().state_schema,
                &reward_dsl::Limits::default(),
            )?;
        }
        let setup = RunSetup {
            env,
            env_options: self.env_options(),
            reward_source: self.reward.clone(),
        };
        Ok(Run::create(&out, setup, config)?)
    }

    /// Flags that set what a run is, which a resumed run takes from its `config.toml`.
    fn run_settings_given(&self) -> Vec<&'static str> {
        [
            ("--env", self.env.is_some()),
            ("--reward", self.reward.is_some()),
            ("--algo", self.algo.is_some()),
            ("--device", self.device.is_some()),
            ("--seed", self.seed.is_some()),
            ("--set", !self.overrides.is_empty()),
            ("--frame-skip", self.frame_skip.is_some()),
            ("--model", self.model.is_some()),
            ("--physics", self.physics.is_some()),
        ]
        .into_iter()
        .filter_map(|(flag, given)| given.then_some(flag))
        .collect()
    }

    fn env_options(&self) -> EnvOptions {
        EnvOptions {
            frame_skip: self.frame_skip,
            model: self.model.clone(),
            physics: self.physics.clone(),
        }
    }
}

/// Trains, showing a progress bar; Ctrl-C saves a checkpoint and exits.
pub fn train(args: &TrainArgs) -> Result<()> {
    let run = args.open_run()?;
    let stop = Arc::new(AtomicBool::new(false));
    let flag = stop.clone();
    ctrlc::set_handler(move || flag.store(true, Ordering::Relaxed))
        .context("cannot install the Ctrl-C handler")?;
    let total = run.config.train.total_steps;
    let total = args.until.map_or(total, |until| until.min(total));
    let bar = ProgressBar::new(total);
    bar.set_style(
        ProgressStyle::with_template("{bar:30} {pos}/{len} steps {per_sec} | {msg}")
            .expect("the progress template is valid"),
    );
    let done = run
        .metrics()?
        .last()
        .and_then(|row| row.get("global_step").copied())
        .unwrap_or(0.0);
    bar.set_position(done as u64);
    let mut on_update = |row: &trainer::metrics::MetricsRow| {
        bar.set_position(row.get("global_step").copied().unwrap_or(0.0) as u64);
        let get = |k: &str| row.get(k).map_or("-".to_string(), |v| format!("{v:.3}"));
        bar.set_message(format!(
            "return {} success {} sps {}",
            get("charts/episodic_return"),
            get("charts/success_rate"),
            row.get("charts/sps")
                .map_or("-".into(), |v| format!("{v:.0}"))
        ));
    };
    let end = trainer::train_until(&run, args.until, &stop, &mut on_update)?;
    bar.finish();
    match end {
        RunEnd::Finished => println!("finished: {}", run.dir.display()),
        RunEnd::Stopped => println!(
            "stopped and checkpointed: resume with `rewardgen train --resume {}`",
            run.dir.display()
        ),
        RunEnd::Paused => println!(
            "paused and checkpointed at {} steps: continue with `rewardgen train --resume {}`",
            run.outcome()?.map_or(0, |o| o.global_step),
            run.dir.display()
        ),
    }
    Ok(())
}

/// Arguments of `rewardgen eval`.
#[derive(clap::Args)]
pub struct EvalArgs {
    /// The run directory.
    #[arg(long)]
    run: PathBuf,
    #[arg(long, default_value_t = 20)]
    episodes: usize,
    /// Act with the policy's mean action instead of sampling.
    #[arg(long)]
    deterministic: bool,
    /// Episode i is reset with seed S + i.
    #[arg(long, default_value_t = 1_000_000)]
    seed: u64,
    /// Print one JSON object.
    #[arg(long)]
    json: bool,
}

pub fn eval(args: &EvalArgs) -> Result<()> {
    let run = Run::open(&args.run)?;
    let report = trainer::evaluate(&run, args.episodes, args.deterministic, args.seed)?;
    if args.json {
        println!("{}", serde_json::to_string(&report)?);
    } else {
        println!(
            "{} after {} steps: {} episodes{}, {}, mean return {:.3}, mean length {:.1}",
            report.env,
            report.trained_steps,
            report.episodes,
            if report.deterministic {
                " (deterministic)"
            } else {
                ""
            },
            match &report.task_measure {
                Some((key, mean)) => format!("mean {key} {mean:.3}"),
                None => format!("success rate {:.2}", report.success_rate),
            },
            report.mean_return,
            report.mean_length
        );
        for (name, mean) in &report.component_means {
            println!("  {name:<16} {mean:>10.4}");
        }
        println!("rollouts: {}", report.rollouts);
    }
    Ok(())
}
