//! `rewardgen`: the command-line front end. It parses arguments and wires the crates
//! together; the work itself lives in the library crates.

mod doctor;
mod evolve;
mod train;
mod watch;

use anyhow::{Context, Result, bail};
use clap::{Parser, Subcommand, ValueEnum};
use envs::{EnvOptions, REGISTRY, RolloutPolicy, TaskEnv};
use reward_dsl::{CheckReport, Limits, RewardProgram};
use std::path::{Path, PathBuf};

#[derive(Parser)]
#[command(
    name = "rewardgen",
    version,
    about = "Reward design workbench: reward programs for robots, trained and scored in MuJoCo"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// List the environments: observation and action sizes, control rate, episode length.
    Envs,
    /// Show an environment's state schema and task text, as a language model is shown them.
    Describe {
        #[command(flatten)]
        env: EnvArgs,
        /// Print the whole task spec as JSON, including the success metric.
        #[arg(long)]
        json: bool,
    },
    /// Print every registered env's state schema as Markdown tables (for the docs).
    #[command(hide = true)]
    SchemaDocs,
    /// Run a fixed policy and report mean return, success rate and env steps per second.
    Rollout {
        #[command(flatten)]
        env: EnvArgs,
        /// Which actions to take.
        #[arg(long, value_enum, default_value_t = PolicyArg::Random)]
        policy: PolicyArg,
        /// Number of episodes; episode i is reset with seed S + i.
        #[arg(long, default_value_t = 10)]
        episodes: usize,
        #[arg(long, default_value_t = 0)]
        seed: u64,
        /// Print one JSON object instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Train a policy with PPO or GRPO, with a reward program or the env's own reward.
    Train(train::TrainArgs),
    /// Evaluate a run's trained policy: success rate, return, length, reward components.
    Eval(train::EvalArgs),
    /// Evolve reward programs: generate, check, train, score, reflect, repeat; then compare
    /// the best with the hand-written rewards.
    Evolve(Box<evolve::EvolveArgs>),
    /// Render a rollout (or a run's policy, recording an episode first) to GIF, MP4 or WebM
    /// with MuJoCo's offscreen renderer.
    Render(watch::RenderArgs),
    /// Check what rewardgen needs and uses (MuJoCo, offscreen rendering, ffmpeg, a display,
    /// the language model endpoint, disk space, cores), with the fix for each problem.
    Doctor(doctor::DoctorArgs),
    /// Replay recorded episodes in MuJoCo's viewer window, with the reward on screen.
    Replay(watch::ReplayArgs),
    /// Serve the web workbench of an evolve run on 127.0.0.1: generations, candidates with
    /// code, curves and videos, and the final comparison.
    View(watch::ViewArgs),
    /// Write the workbench's pages as static files that open without a server.
    Export(watch::ExportArgs),
    /// List the evolve runs in a folder.
    Runs {
        #[arg(default_value = "runs")]
        dir: PathBuf,
    },
    /// Print an evolve run's generation table and its elite's code.
    Show {
        /// The evolve run directory.
        run: PathBuf,
    },
    /// Compile a reward program and dry-run it on states from random rollouts of the env.
    Check {
        #[command(flatten)]
        env: EnvArgs,
        /// The reward program (.rhai).
        file: PathBuf,
        /// A TOML file of sandbox limits (see docs/reward-language.md); defaults otherwise.
        #[arg(long)]
        limits: Option<PathBuf>,
        /// Print one JSON object: the report, or the error with its line and column.
        #[arg(long)]
        json: bool,
    },
}

/// `--env`: the name, with a `task:` or `mjcf:` path made absolute so that the runs made
/// with it resume from any directory.
fn env_name(name: &str) -> Result<String, String> {
    Ok(task_file::absolute_env_name(name))
}

#[derive(clap::Args)]
struct EnvArgs {
    /// Environment name (see `rewardgen envs`), mjcf:<path> for any MJCF model with actuators,
    /// or task:<path> for a task file (docs/tasks.md).
    #[arg(long, value_parser = env_name)]
    env: String,
    /// Physics steps per action; sets the control rate (default: the env's own).
    #[arg(long)]
    frame_skip: Option<usize>,
    /// Model file for envs that load one (half-cheetah: Gymnasium's half_cheetah.xml).
    #[arg(long)]
    model: Option<PathBuf>,
    /// Physics preset of the Franka tasks: fast (the default) or reference (2 ms steps).
    #[arg(long)]
    physics: Option<String>,
}

impl EnvArgs {
    fn make(&self) -> Result<Box<dyn TaskEnv>> {
        let options = EnvOptions {
            frame_skip: self.frame_skip,
            model: self.model.clone(),
            physics: self.physics.clone(),
        };
        task_file::make(&self.env, &options)
            .with_context(|| format!("cannot build env '{}'", self.env))
    }
}

#[derive(Clone, Copy, ValueEnum)]
enum PolicyArg {
    /// Uniform random actions.
    Random,
    /// The env's own scripted controller.
    Scripted,
}

fn main() {
    // Exit quietly when the reader of stdout goes away (`rewardgen ... | head`), as command-line
    // tools do, instead of panicking on the failed write.
    // SAFETY: restoring the default disposition of one signal before any thread starts.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    if let Err(error) = run(parse_arguments()) {
        match error.downcast_ref::<reward_dsl::RewardError>() {
            Some(reward_error) => eprintln!("{reward_error}"),
            None => eprintln!("error: {error:#}"),
        }
        std::process::exit(1);
    }
}

/// The command line, or exit: help and version print as clap prints them; a usage error is
/// one line naming the argument, with exit code 2.
fn parse_arguments() -> Cli {
    Cli::try_parse().unwrap_or_else(|error| {
        use clap::error::ErrorKind;
        if matches!(
            error.kind(),
            ErrorKind::DisplayHelp
                | ErrorKind::DisplayVersion
                | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
        ) {
            error.exit();
        }
        let text = error.to_string();
        let first = text
            .lines()
            .find(|l| !l.trim().is_empty())
            .unwrap_or("error");
        eprintln!("{first} (see --help)");
        std::process::exit(2);
    })
}

fn read_limits(path: Option<&Path>) -> Result<Limits> {
    let Some(path) = path else {
        return Ok(Limits::default());
    };
    let limits: Limits = user_files::read_toml(path, user_files::Kind::CONFIG)
        .map_err(|e| anyhow::anyhow!("{}: invalid limits: {}", path.display(), e.message))?;
    limits
        .validate()
        .map_err(|e| anyhow::anyhow!("invalid limits file {}: {e}", path.display()))?;
    Ok(limits)
}

/// Reads a reward program a user named: a regular file of at most 1 MiB.
fn read_reward(path: &Path) -> Result<Vec<u8>> {
    user_files::read(path, user_files::Kind::REWARD).map_err(|e| {
        anyhow::anyhow!(
            "cannot read reward program {}: {}",
            path.display(),
            e.message
        )
    })
}

/// Compiles `file` for `env` and dry-runs it.
fn check_program(env: &mut dyn TaskEnv, file: &Path, limits: &Limits) -> Result<CheckReport> {
    let bytes = read_reward(file)?;
    let program = RewardProgram::compile_bytes(
        &bytes,
        &file.display().to_string(),
        &env.spec().state_schema,
        limits,
    )?;
    let states =
        reward_dsl::record_states(env, reward_dsl::DRY_RUN_SEEDS, reward_dsl::DRY_RUN_STEPS);
    Ok(reward_dsl::check(
        &program,
        &env.spec().name,
        &states,
        env.spec().control_dt(),
    )?)
}

fn print_check_report(report: &CheckReport) {
    println!(
        "ok: {} on {}: {} dry-run states",
        report.file, report.env, report.states
    );
    println!(
        "  {:<16} {:>10} {:>10} {:>10} {:>7}",
        "component", "min", "max", "mean", "|share|"
    );
    let total = &report.total;
    println!(
        "  {:<16} {:>10.4} {:>10.4} {:>10.4}",
        total.name, total.min, total.max, total.mean
    );
    for range in &report.components {
        println!(
            "  {:<16} {:>10.4} {:>10.4} {:>10.4} {:>6.0}%",
            range.name,
            range.min,
            range.max,
            range.mean,
            range.share_of_abs * 100.0
        );
    }
    for warning in &report.warnings {
        println!("warning: {warning}");
    }
}

fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Envs => {
            println!(
                "{:<16} {:>4} {:>4} {:>8} {:>8}",
                "env", "obs", "act", "rate_hz", "episode"
            );
            for registration in REGISTRY {
                if let Some(model) = registration.needs_model {
                    println!("{:<16} {model}", registration.name);
                    continue;
                }
                let env = (registration.make)(&EnvOptions::default())?;
                let spec = env.spec();
                println!(
                    "{:<16} {:>4} {:>4} {:>8.1} {:>8}",
                    spec.name,
                    spec.observation_space.flat_dim(),
                    spec.action_space.flat_dim(),
                    spec.control_hz(),
                    spec.episode_steps
                );
            }
            println!("{:<16} {}", "mjcf:<path>", envs::MJCF_SUMMARY);
            println!("{:<16} {}", "task:<path>", task_file::TASK_SUMMARY);
        }
        Command::Train(args) => train::train(&args)?,
        Command::Eval(args) => train::eval(&args)?,
        Command::Evolve(args) => evolve::evolve(&args)?,
        Command::Runs { dir } => evolve::runs(&dir)?,
        Command::Render(args) => watch::render(&args)?,
        Command::Doctor(args) => doctor::run(&args)?,
        Command::Replay(args) => watch::replay(&args)?,
        Command::View(args) => watch::view(&args)?,
        Command::Export(args) => watch::export(&args)?,
        Command::Show { run } => evolve::show(&run)?,
        Command::SchemaDocs => {
            for registration in REGISTRY.iter().filter(|r| r.needs_model.is_none()) {
                let env = (registration.make)(&EnvOptions::default())?;
                println!(
                    "### `{}`\n\n{}",
                    registration.name,
                    env.spec().schema_markdown()
                );
            }
        }
        Command::Describe { env, json } => {
            let env = env.make()?;
            if json {
                println!("{}", serde_json::to_string_pretty(env.spec())?);
            } else {
                print!("{}", env.spec().describe_for_llm());
            }
        }
        Command::Rollout {
            env,
            policy,
            episodes,
            seed,
            json,
        } => {
            let mut env = env.make()?;
            let policy = match policy {
                PolicyArg::Random => RolloutPolicy::Random,
                PolicyArg::Scripted => RolloutPolicy::Scripted,
            };
            let own_measure = env.spec().fitness.own_measure().map(str::to_string);
            let stats = envs::rollout(env.as_mut(), policy, episodes, seed)?;
            let measure = match own_measure.and_then(|key| Some((stats.final_info.get(&key)?, key)))
            {
                Some((mean, key)) => format!("mean {key} {mean:.3}"),
                None => format!("success rate {:.2}", stats.success_rate),
            };
            if json {
                println!("{}", serde_json::to_string(&stats)?);
            } else {
                println!(
                    "{} / {} policy: {} episodes, mean return {:.3}, mean length {:.1}, {measure}, {:.0} env steps/s",
                    stats.env,
                    stats.policy,
                    stats.episodes,
                    stats.mean_return,
                    stats.mean_length,
                    stats.steps_per_second
                );
            }
        }
        Command::Check {
            env,
            file,
            limits,
            json,
        } => {
            let limits = read_limits(limits.as_deref())?;
            let mut env = env.make()?;
            let result = check_program(env.as_mut(), &file, &limits);
            match (result, json) {
                (Ok(report), false) => print_check_report(&report),
                (Ok(report), true) => {
                    println!("{}", serde_json::json!({"ok": true, "report": report}));
                }
                (Err(error), true) => {
                    let error = match error.downcast::<reward_dsl::RewardError>() {
                        Ok(reward_error) => serde_json::to_value(reward_error)?,
                        Err(other) => {
                            serde_json::json!({"kind": "input", "message": format!("{other:#}")})
                        }
                    };
                    println!("{}", serde_json::json!({"ok": false, "error": error}));
                    bail!("the check failed");
                }
                (Err(error), false) => return Err(error),
            }
        }
    }
    Ok(())
}
