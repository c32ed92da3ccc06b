//! `rewardgen`: the command-line front end. It parses arguments and wires the crates
//! together; the work itself lives in the library crates.

use anyhow::{Context, Result};
use clap::{Parser, Subcommand, ValueEnum};
use envs::{EnvOptions, REGISTRY, RolloutPolicy, TaskEnv};

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
}

#[derive(clap::Args)]
struct EnvArgs {
    /// Environment name (see `rewardgen envs`), or mjcf:<path> for any MJCF model with actuators.
    #[arg(long)]
    env: String,
    /// Physics steps per action; sets the control rate (default: the env's own).
    #[arg(long)]
    frame_skip: Option<usize>,
}

impl EnvArgs {
    fn make(&self) -> Result<Box<dyn TaskEnv>> {
        let options = EnvOptions {
            frame_skip: self.frame_skip,
        };
        envs::make(&self.env, &options).with_context(|| format!("cannot build env '{}'", self.env))
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
    if let Err(error) = run(Cli::parse()) {
        eprintln!("error: {error:#}");
        std::process::exit(1);
    }
}

fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Envs => {
            println!(
                "{:<14} {:>4} {:>4} {:>8} {:>8}",
                "env", "obs", "act", "rate_hz", "episode"
            );
            for registration in REGISTRY {
                let env = (registration.make)(&EnvOptions::default())?;
                let spec = env.spec();
                println!(
                    "{:<14} {:>4} {:>4} {:>8.1} {:>8}",
                    spec.name,
                    spec.observation_space.flat_dim(),
                    spec.action_space.flat_dim(),
                    spec.control_hz(),
                    spec.episode_steps
                );
            }
            println!(
                "mjcf:<path>    any MJCF model with actuators: qpos+qvel observation, ctrl action"
            );
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
            let stats = envs::rollout(env.as_mut(), policy, episodes, seed)?;
            if json {
                println!("{}", serde_json::to_string(&stats)?);
            } else {
                println!(
                    "{} / {} policy: {} episodes, mean return {:.3}, mean length {:.1}, success rate {:.2}, {:.0} env steps/s",
                    stats.env,
                    stats.policy,
                    stats.episodes,
                    stats.mean_return,
                    stats.mean_length,
                    stats.success_rate,
                    stats.steps_per_second
                );
            }
        }
    }
    Ok(())
}
