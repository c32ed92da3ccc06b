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

#[path = "common/cleanrl_seeds.rs"]
mod cleanrl_seeds;

use envs::EnvOptions;
use std::path::Path;
use trainer::RunSetup;

fn main() {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    let model = repo.join(".testdata/gymnasium/hopper.xml");
    assert!(
        model.exists(),
        "{} is missing: run scripts/fetch-testdata.sh",
        model.display()
    );
    let task = repo.join("assets/tasks/gymnasium/hopper-v5.toml");
    let reward = repo.join("assets/tasks/gymnasium/hopper-v5/human.rhai");
    let setup = RunSetup {
        env: format!("task:{}", task.display()),
        env_options: EnvOptions::default(),
        reward_source: Some(reward.clone()),
    };
    let scratch = std::env::temp_dir().join(format!("rewardgen-hopper-{}", std::process::id()));
    cleanrl_seeds::run_seeds(
        "ppo_hopper_1m",
        &format!(", Gymnasium's reward ({})", reward.display()),
        &setup,
        &scratch,
        "target ≥ 1500; CleanRL about 1500–2500",
    );
}
