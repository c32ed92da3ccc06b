//! PPO on HalfCheetah-v5 for 1M steps with 3 seeds, CleanRL's setup (1 env × 2048 steps,
//! 32 minibatches, 10 epochs): prints each seed's final mean episodic return (the last 10
//! episodes), the median and range, and the wall-clock minutes. CleanRL publishes 1442 ± 46
//! at 1M steps (`ppo_continuous_action.py`, HalfCheetah-v4, openrlbenchmark).
//!
//! Run: `scripts/bench ppo_halfcheetah_1m` (it fetches Gymnasium's half_cheetah.xml into
//! `.testdata/`). `PPO_STEPS` and `PPO_SEEDS` change the budget and the number of seeds.

#[path = "common/cleanrl_seeds.rs"]
mod cleanrl_seeds;

use envs::EnvOptions;
use std::path::Path;
use trainer::RunSetup;

fn main() {
    let model = Path::new(env!("CARGO_MANIFEST_DIR")).join(".testdata/gymnasium/half_cheetah.xml");
    assert!(
        model.exists(),
        "{} is missing: run scripts/fetch-testdata.sh",
        model.display()
    );
    let setup = RunSetup {
        env: envs::HALF_CHEETAH.into(),
        env_options: EnvOptions {
            model: Some(model),
            ..EnvOptions::default()
        },
        reward_source: None,
    };
    let scratch = std::env::temp_dir().join(format!("rewardgen-cheetah-{}", std::process::id()));
    cleanrl_seeds::run_seeds(
        "ppo_halfcheetah_1m",
        "",
        &setup,
        &scratch,
        "target ≥ 1400; CleanRL 1442 ± 46",
    );
}
