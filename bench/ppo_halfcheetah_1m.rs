//! PPO on HalfCheetah-v5 for 1M steps with 3 seeds, CleanRL's setup (1 env × 2048 steps,
//! 32 minibatches, 10 epochs): prints each seed's final mean episodic return (the last 10
//! episodes), the median and range, and the wall-clock minutes. CleanRL publishes 1442 ± 46
//! at 1M steps (`ppo_continuous_action.py`, HalfCheetah-v4, openrlbenchmark).
//!
//! Run: `scripts/bench ppo_halfcheetah_1m` (it fetches Gymnasium's half_cheetah.xml into
//! `.testdata/`). `PPO_STEPS` and `PPO_SEEDS` change the budget and the number of seeds.

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
    let model = Path::new(env!("CARGO_MANIFEST_DIR")).join(".testdata/gymnasium/half_cheetah.xml");
    assert!(
        model.exists(),
        "{} is missing: run scripts/fetch-testdata.sh",
        model.display()
    );
    let root = std::env::temp_dir().join(format!("rewardgen-cheetah-{}", std::process::id()));
    println!("ppo_halfcheetah_1m: {steps} steps × {seeds} seeds, CleanRL's hyperparameters");
    let mut finals = Vec::new();
    let start = Instant::now();
    for seed in 1..=seeds {
        let setup = RunSetup {
            env: envs::HALF_CHEETAH.into(),
            env_options: EnvOptions {
                model: Some(model.clone()),
                ..EnvOptions::default()
            },
            reward_source: None,
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
        trainer::train(&run, &AtomicBool::new(false), &mut |row| {
            if let Some(r) = row.get("charts/episodic_return") {
                returns.push(*r);
            }
        })
        .expect("training runs");
        let tail = &returns[returns.len().saturating_sub(10)..];
        let last = tail.iter().sum::<f64>() / tail.len().max(1) as f64;
        println!(
            "  seed {seed}: final return {last:.0} in {:.1} min",
            seed_start.elapsed().as_secs_f64() / 60.0
        );
        finals.push(last);
    }
    finals.sort_by(f64::total_cmp);
    let median = finals[finals.len() / 2];
    let mean = finals.iter().sum::<f64>() / finals.len() as f64;
    println!(
        "  mean {mean:.0}, median {median:.0}, range [{:.0}, {:.0}] (target ≥ 1400; CleanRL 1442 ± 46); {:.1} min in all",
        finals[0],
        finals[finals.len() - 1],
        start.elapsed().as_secs_f64() / 60.0
    );
    let _ = std::fs::remove_dir_all(&root);
}
