//! Solve: PPO and GRPO with `rewards/<env>/human.rhai` on franka-reach and franka-push, each
//! trained from scratch; prints the env steps and wall-clock minutes to reach the target
//! training success rate (0.9 for reach, 0.8 for push), or the best rate within the budget.
//!
//! The success rate is the mean over the last `WINDOW` updates (about 800 episodes on push),
//! so one lucky update does not count. A run stops as soon as it reaches its target.
//!
//! Run: `scripts/bench solve [FILTER...]` (long: the budgets below are whole training runs).
//! A FILTER keeps the runs whose "env algo" contains it, e.g. `scripts/bench solve push ppo`.
//! `SOLVE_SEEDS=1,2,3` trains each on several seeds (default: seed 1). `SOLVE_STEPS=N`
//! changes every budget. `SOLVE_SET="learning_rate=1e-3 update_epochs=5"` changes training
//! settings, as `--set` does.

use std::collections::VecDeque;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;
use trainer::{Algorithm, Run, RunSetup, TrainConfig};

/// (env, target success, default budget in env steps)
const TASKS: [(&str, f64, u64); 2] = [
    ("franka-reach", 0.9, 200_000),
    ("franka-push", 0.8, 1_500_000),
];

/// Updates the success rate is averaged over.
const WINDOW: usize = 5;

/// How one seed's run went.
struct Outcome {
    /// (env steps, minutes) when the smoothed success first reached the target.
    reached: Option<(f64, f64)>,
    best: f64,
    minutes: f64,
}

fn main() {
    let budget_override: Option<u64> = std::env::var("SOLVE_STEPS")
        .ok()
        .map(|s| parse_or_exit("SOLVE_STEPS", &s));
    let seeds: Vec<u64> = std::env::var("SOLVE_SEEDS")
        .unwrap_or_else(|_| "1".into())
        .split(',')
        .map(|s| parse_or_exit("SOLVE_SEEDS", s))
        .collect();
    let overrides: Vec<String> = std::env::var("SOLVE_SET")
        .unwrap_or_default()
        .split_whitespace()
        .map(str::to_string)
        .collect();
    let filters: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    let root = std::env::temp_dir().join(format!("rewardgen-solve-{}", std::process::id()));
    println!(
        "solve: steps and minutes to the target training success rate (mean of the last {WINDOW} updates), seeds {seeds:?}, settings {overrides:?}"
    );
    let mut matched = false;
    for (env, target, budget) in TASKS {
        for algo in [Algorithm::Ppo, Algorithm::Grpo] {
            let name = format!("{env} {}", format!("{algo:?}").to_lowercase());
            if !filters.iter().all(|f| name.contains(f.as_str())) {
                continue;
            }
            matched = true;
            let total_steps = budget_override.unwrap_or(budget);
            let mut solved = 0;
            for &seed in &seeds {
                let mut config = TrainConfig {
                    algo,
                    total_steps,
                    seed,
                    ..TrainConfig::for_env(env)
                }
                .with_overrides(&overrides)
                .unwrap_or_else(|e| {
                    eprintln!("solve: SOLVE_SET: {e}");
                    std::process::exit(2)
                });
                if algo == Algorithm::Grpo {
                    config.num_envs = 16;
                }
                let dir = root.join(format!("{env}-{algo:?}-{seed}"));
                let outcome = solve(env, target, config, &dir);
                let label = format!("{env:<13} {algo:?} seed {seed}");
                match outcome.reached {
                    Some((steps, at)) => {
                        solved += 1;
                        println!("  {label}: reached {target} at {steps:.0} steps, {at:.1} min");
                    }
                    None => println!(
                        "  {label}: best {:.2} within {total_steps} steps, {:.1} min",
                        outcome.best, outcome.minutes
                    ),
                }
            }
            println!(
                "  {name}: {solved} of {} seeds reached {target} within {total_steps} steps",
                seeds.len()
            );
        }
    }
    if !matched {
        eprintln!(
            "solve: no run matches {filters:?}; the runs are \"franka-reach|franka-push ppo|grpo\""
        );
        std::process::exit(2);
    }
}

/// Parses one value of the environment variable `name`, or exits naming it.
fn parse_or_exit(name: &str, text: &str) -> u64 {
    text.trim().parse().unwrap_or_else(|_| {
        eprintln!("solve: {name}: {text:?} is not a whole number");
        std::process::exit(2);
    })
}

/// Trains one run until it reaches `target` or spends its budget.
fn solve(env: &str, target: f64, config: TrainConfig, dir: &Path) -> Outcome {
    let reward = Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("rewards/{env}/human.rhai"));
    let setup = RunSetup {
        env: env.to_string(),
        env_options: Default::default(),
        reward_source: Some(reward),
    };
    let run = Run::create(dir, setup, config).expect("the run directory can be made");
    let stop = AtomicBool::new(false);
    let start = Instant::now();
    let mut recent = VecDeque::with_capacity(WINDOW);
    let (mut reached, mut best) = (None, 0.0f64);
    let mut on_update = |row: &trainer::metrics::MetricsRow| {
        if recent.len() == WINDOW {
            recent.pop_front();
        }
        recent.push_back(row.get("charts/success_rate").copied().unwrap_or(0.0));
        if recent.len() < WINDOW {
            return;
        }
        let success = recent.iter().sum::<f64>() / WINDOW as f64;
        best = best.max(success);
        if reached.is_none() && success >= target {
            reached = Some((row["global_step"], start.elapsed().as_secs_f64() / 60.0));
            stop.store(true, Ordering::Relaxed);
        }
    };
    trainer::train(&run, &stop, &mut on_update).expect("training runs");
    Outcome {
        reached,
        best,
        minutes: start.elapsed().as_secs_f64() / 60.0,
    }
}
