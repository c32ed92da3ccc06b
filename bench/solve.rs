//! Solve: PPO and GRPO with `rewards/<env>/human.rhai` on franka-reach and franka-push, each
//! trained from scratch; prints the env steps and wall-clock minutes to reach the target
//! training success rate (0.9 for reach, 0.8 for push), or the best rate within the budget.
//!
//! Run: `scripts/bench solve` (long: the budgets below are whole training runs). Set
//! `SOLVE_STEPS` to change every budget, e.g. `SOLVE_STEPS=100000 scripts/bench solve`.

use std::path::Path;
use std::sync::atomic::AtomicBool;
use std::time::Instant;
use trainer::{Algorithm, Run, RunSetup, TrainConfig};

/// (env, target success, default budget in env steps)
const TASKS: [(&str, f64, u64); 2] = [
    ("franka-reach", 0.9, 200_000),
    ("franka-push", 0.8, 2_000_000),
];

fn main() {
    let budget_override: Option<u64> = std::env::var("SOLVE_STEPS")
        .ok()
        .and_then(|s| s.parse().ok());
    let root = std::env::temp_dir().join(format!("rewardgen-solve-{}", std::process::id()));
    println!("solve: steps and minutes to the target training success rate");
    for (env, target, budget) in TASKS {
        for algo in [Algorithm::Ppo, Algorithm::Grpo] {
            let mut config = TrainConfig {
                algo,
                total_steps: budget_override.unwrap_or(budget),
                ..TrainConfig::default()
            };
            if algo == Algorithm::Grpo {
                config.num_envs = 16;
            }
            let reward =
                Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("rewards/{env}/human.rhai"));
            let setup = RunSetup {
                env: env.to_string(),
                env_options: Default::default(),
                reward_source: Some(reward),
                race: None,
            };
            let dir = root.join(format!("{env}-{algo:?}"));
            let run = Run::create(&dir, setup, config).expect("the run directory can be made");
            let start = Instant::now();
            let (mut reached, mut best) = (None, 0.0f64);
            let mut on_update = |row: &trainer::metrics::MetricsRow| {
                let success = row.get("charts/success_rate").copied().unwrap_or(0.0);
                best = best.max(success);
                if reached.is_none() && success >= target {
                    reached = Some((row["global_step"], start.elapsed().as_secs_f64() / 60.0));
                }
            };
            trainer::train(&run, &AtomicBool::new(false), &mut on_update).expect("training runs");
            let minutes = start.elapsed().as_secs_f64() / 60.0;
            match reached {
                Some((steps, at)) => println!(
                    "  {env:<13} {algo:?}: reached {target} success at {steps:.0} steps, {at:.1} min (run took {minutes:.1} min)"
                ),
                None => println!(
                    "  {env:<13} {algo:?}: best success {best:.2} within {} steps, {minutes:.1} min",
                    run.config.train.total_steps
                ),
            }
        }
    }
}
