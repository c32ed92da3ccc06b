//! Train throughput: one-thread `train` steps per second on franka-push under the previous
//! and the new defaults, measured side by side in one run.
//!
//! Run: `scripts/bench train_throughput` (or `cargo bench --bench train_throughput`).
//! `THROUGHPUT_ROUNDS=N` sets the rounds (default 5).
//!
//! The contestants, each training `human.rhai` from scratch for `STEPS` env steps a round:
//! - previous train defaults: the reference physics (2 ms × 20 per action) and the settings
//!   `rewardgen train --env franka-push` used before 2026-12-01 (8 envs × 1024 steps, 32
//!   minibatches, 10 epochs);
//! - previous evolve candidates: the reference physics and CleanRL's settings (8 envs × 256
//!   steps), which evolve's candidates trained with before;
//! - new defaults: the default physics and `TrainConfig::for_env("franka-push")`.
//!
//! These machines are shared and noisy, so the contestants are interleaved round by round and
//! every figure is a total over all rounds.

use envs::{EnvOptions, FrankaPhysics};
use std::path::Path;
use std::sync::atomic::AtomicBool;
use std::time::Instant;
use trainer::{Run, RunSetup, TrainConfig};

/// Env steps each contestant trains per round: two updates of the previous push settings.
const STEPS: u64 = 16_384;

struct Contestant {
    name: &'static str,
    physics: FrankaPhysics,
    config: TrainConfig,
    steps: u64,
    seconds: f64,
}

impl Contestant {
    /// One thread, `STEPS` a round, nothing measured yet.
    fn new(name: &'static str, physics: FrankaPhysics, config: TrainConfig) -> Self {
        Self {
            name,
            physics,
            config: TrainConfig {
                threads: 1,
                total_steps: STEPS,
                ..config
            },
            steps: 0,
            seconds: 0.0,
        }
    }
}

fn main() {
    let rounds: usize = std::env::var("THROUGHPUT_ROUNDS")
        .ok()
        .map(|s| {
            s.trim().parse().unwrap_or_else(|_| {
                eprintln!("train_throughput: THROUGHPUT_ROUNDS: {s:?} is not a whole number");
                std::process::exit(2)
            })
        })
        .unwrap_or(5);
    let mut contestants = [
        Contestant::new(
            "previous train defaults",
            FrankaPhysics::Reference,
            TrainConfig {
                num_steps: 1024,
                ..TrainConfig::default()
            },
        ),
        Contestant::new(
            "previous evolve candidates",
            FrankaPhysics::Reference,
            TrainConfig::default(),
        ),
        Contestant::new(
            "new defaults",
            FrankaPhysics::Fast,
            TrainConfig::for_env("franka-push"),
        ),
    ];
    let root = std::env::temp_dir().join(format!("rewardgen-throughput-{}", std::process::id()));
    println!(
        "train_throughput: franka-push, human.rhai, one thread, {rounds} rounds of {STEPS} steps each"
    );
    for round in 0..rounds {
        for (i, contestant) in contestants.iter_mut().enumerate() {
            let dir = root.join(format!("r{round}-c{i}"));
            let start = Instant::now();
            contestant.steps += train(contestant.physics, &contestant.config, &dir);
            contestant.seconds += start.elapsed().as_secs_f64();
            std::fs::remove_dir_all(&dir).ok();
        }
    }
    let new = &contestants[2];
    let new_rate = new.steps as f64 / new.seconds;
    for contestant in &contestants {
        let rate = contestant.steps as f64 / contestant.seconds;
        println!(
            "  {:<27} {:>7.0} steps/s  ({} physics, {} envs x {} steps, {} minibatches, {} epochs)",
            contestant.name,
            rate,
            contestant.physics.name(),
            contestant.config.num_envs,
            contestant.config.num_steps,
            contestant.config.num_minibatches,
            contestant.config.update_epochs,
        );
    }
    for previous in &contestants[..2] {
        println!(
            "  new defaults / {}: {:.2}x",
            previous.name,
            new_rate / (previous.steps as f64 / previous.seconds)
        );
    }
    std::fs::remove_dir_all(&root).ok();
}

/// Trains a fresh run of human.rhai; returns the env steps it took.
fn train(physics: FrankaPhysics, config: &TrainConfig, dir: &Path) -> u64 {
    let reward = Path::new(env!("CARGO_MANIFEST_DIR")).join("rewards/franka-push/human.rhai");
    let setup = RunSetup {
        env: "franka-push".into(),
        env_options: EnvOptions {
            physics: Some(physics.name().into()),
            ..EnvOptions::default()
        },
        reward_source: Some(reward),
    };
    let run = Run::create(dir, setup, config.clone()).expect("the run directory can be made");
    let mut last_step = 0;
    trainer::train(&run, &AtomicBool::new(false), &mut |row| {
        last_step = row["global_step"] as u64;
    })
    .expect("training runs");
    last_step
}
