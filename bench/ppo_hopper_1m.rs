//! PPO on Hopper-v5 for 1M steps with 3 seeds, CleanRL's setup (1 env × 2048 steps, 32
//! minibatches, 10 epochs), through the task file `assets/tasks/gymnasium/hopper-v5.toml` with
//! Gymnasium's own reward as a reward program (`hopper-v5/human.rhai`): prints each seed's
//! final mean episodic return (the last 10 updates' means) of that reward, which is
//! Gymnasium's return (crates/task-file/tests/gymnasium_parity.rs checks them equal), the
//! mean, median and range, and the wall-clock minutes. Target: a mean of at least 1500;
//! CleanRL's published Hopper agents (`ppo_continuous_action.py`, openrlbenchmark) score
//! about 1500–2500 at 1M steps.
//!
//! Run: `scripts/bench ppo_hopper_1m` (it fetches Gymnasium's hopper.xml into `.testdata/`).
//! `PPO_STEPS` and `PPO_SEEDS` change the budget and the number of seeds.

use envs::EnvOptions;
use std::path::Path;
use std::sync::atomic::AtomicBool;
use std::time::Instant;
use trainer::{Run, RunSetup, TrainConfig};

fn env_number(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(default)
}

fn main() {
    let steps = env_number("PPO_STEPS", 1_000_000);
    let seeds = env_number("PPO_SEEDS", 3);
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    let model = repo.join(".testdata/gymnasium/hopper.xml");
    assert!(
        model.exists(),
        "{} is missing: run scripts/fetch-testdata.sh",
        model.display()
    );
    let task = repo.join("assets/tasks/gymnasium/hopper-v5.toml");
    let reward = repo.join("assets/tasks/gymnasium/hopper-v5/human.rhai");
    let root = std::env::temp_dir().join(format!("rewardgen-hopper-{}", std::process::id()));
    println!(
        "ppo_hopper_1m: {steps} steps × {seeds} seeds, CleanRL's hyperparameters, Gymnasium's \
         reward ({})",
        reward.display()
    );
    let mut finals = Vec::new();
    let start = Instant::now();
    for seed in 1..=seeds {
        let setup = RunSetup {
            env: format!("task:{}", task.display()),
            env_options: EnvOptions::default(),
            reward_source: Some(reward.clone()),
        };
        let config = TrainConfig {
            total_steps: steps,
            seed,
            num_envs: 1,
            num_steps: 2048,
            threads: 1,
            ..TrainConfig::default()
        };
        let run = Run::create(&root.join(format!("seed{seed}")), setup, config)
            .expect("the run directory can be made");
        let seed_start = Instant::now();
        let mut returns = Vec::new();
        let mut lengths = Vec::new();
        trainer::train(&run, &AtomicBool::new(false), &mut |row| {
            if let Some(r) = row.get("charts/episodic_return") {
                returns.push(*r);
            }
            if let Some(l) = row.get("charts/episodic_length") {
                lengths.push(*l);
            }
        })
        .expect("training runs");
        let mean_tail = |v: &[f64]| {
            let tail = &v[v.len().saturating_sub(10)..];
            tail.iter().sum::<f64>() / tail.len().max(1) as f64
        };
        let last = mean_tail(&returns);
        println!(
            "  seed {seed}: final return {last:.0} (episodes of {:.0} steps) in {:.1} min",
            mean_tail(&lengths),
            seed_start.elapsed().as_secs_f64() / 60.0
        );
        finals.push(last);
    }
    finals.sort_by(f64::total_cmp);
    let median = finals[finals.len() / 2];
    let mean = finals.iter().sum::<f64>() / finals.len() as f64;
    println!(
        "  mean {mean:.0}, median {median:.0}, range [{:.0}, {:.0}] (target ≥ 1500; CleanRL about 1500–2500); {:.1} min in all",
        finals[0],
        finals[finals.len() - 1],
        start.elapsed().as_secs_f64() / 60.0
    );
    let _ = std::fs::remove_dir_all(&root);
}
