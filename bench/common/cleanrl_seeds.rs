//! What the 1M-step PPO benches share: CleanRL's `ppo_continuous_action.py` setup (1 env ×
//! 2048 steps, 32 minibatches, 10 epochs, one thread), seeds 1..=N one after the other, each
//! seed's final mean episodic return (the last 10 updates' means), then the mean, median and
//! range against the published target.

use std::path::Path;
use std::sync::atomic::AtomicBool;
use std::time::Instant;
use trainer::{Run, RunSetup, TrainConfig};

/// A number from the environment, or `default`.
pub fn env_number(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(default)
}

/// Trains `setup` with CleanRL's settings for `PPO_STEPS` (default 1M) steps on `PPO_SEEDS`
/// seeds (default 3) under `scratch`, printing each seed's final return and the summary
/// line ending in `target` (e.g. "target ≥ 1500; CleanRL about 1500–2500").
pub fn run_seeds(bench: &str, what: &str, setup: &RunSetup, scratch: &Path, target: &str) {
    let steps = env_number("PPO_STEPS", 1_000_000);
    let seeds = env_number("PPO_SEEDS", 3);
    println!("{bench}: {steps} steps × {seeds} seeds, CleanRL's hyperparameters{what}");
    let mut finals = Vec::new();
    let start = Instant::now();
    for seed in 1..=seeds {
        let config = TrainConfig {
            total_steps: steps,
            seed,
            num_envs: 1,
            num_steps: 2048,
            threads: 1,
            ..TrainConfig::default()
        };
        let run = Run::create(&scratch.join(format!("seed{seed}")), setup.clone(), config)
            .expect("the run directory can be made");
        let seed_start = Instant::now();
        let (mut returns, mut lengths) = (Vec::new(), Vec::new());
        trainer::train(&run, &AtomicBool::new(false), &mut |row| {
            returns.extend(row.get("charts/episodic_return").copied());
            lengths.extend(row.get("charts/episodic_length").copied());
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
        "  mean {mean:.0}, median {median:.0}, range [{:.0}, {:.0}] ({target}); {:.1} min in all",
        finals[0],
        finals[finals.len() - 1],
        start.elapsed().as_secs_f64() / 60.0
    );
    let _ = std::fs::remove_dir_all(scratch);
}
