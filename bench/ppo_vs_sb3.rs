//! rewardgen PPO against Stable-Baselines3 PPO, side by side in one run: the same
//! half_cheetah.xml (Gymnasium's HalfCheetah-v5), the same PPO hyperparameters (1 env,
//! n_steps 2048, batch 64, 10 epochs, lr 3e-4, gamma 0.99, GAE 0.95, clip 0.2, vf 0.5, global
//! grad-norm 0.5, 64×64 tanh networks) and the same number of steps, each on one thread.
//! Prints each one's env steps per second and the ratio (target: rewardgen ≥ 5×).
//!
//! What differs: rewardgen runs its CleanRL defaults, which this SB3 script leaves off, so
//! rewardgen does the extra work. It normalizes observations and rewards by running
//! statistics, clipped to ±10 (SB3 would need `VecNormalize`), clips the value loss with the
//! surrogate's 0.2 (SB3: `clip_range_vf=None`), and anneals the learning rate linearly to 0
//! (SB3: constant).
//!
//! Run: `scripts/bench ppo_vs_sb3`. SB3, PyTorch and Gymnasium are installed by
//! `scripts/sb3-venv.sh` into `.bench-venv/` (git-ignored; a large download). `PPO_STEPS`
//! sets the steps (default 20480, ten rollouts).

use envs::EnvOptions;
use std::path::Path;
use std::process::Command;
use std::sync::atomic::AtomicBool;
use std::time::Instant;
use trainer::{Run, RunSetup, TrainConfig};

const SB3_SCRIPT: &str = r#"
import sys, time, torch, gymnasium as gym
from stable_baselines3 import PPO
torch.set_num_threads(1)
steps, model = int(sys.argv[1]), sys.argv[2]
env = gym.make("HalfCheetah-v5", xml_file=model)
agent = PPO("MlpPolicy", env, n_steps=2048, batch_size=64, n_epochs=10, learning_rate=3e-4,
            gamma=0.99, gae_lambda=0.95, clip_range=0.2, ent_coef=0.0, vf_coef=0.5,
            max_grad_norm=0.5, seed=1, device="cpu",
            policy_kwargs=dict(net_arch=dict(pi=[64, 64], vf=[64, 64]), activation_fn=torch.nn.Tanh))
start = time.perf_counter()
agent.learn(total_timesteps=steps)
print(steps / (time.perf_counter() - start))
"#;

fn main() {
    let steps: u64 = std::env::var("PPO_STEPS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(20_480);
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let model = root.join(".testdata/gymnasium/half_cheetah.xml");
    let python = root.join(".bench-venv/bin/python");
    assert!(
        model.exists(),
        "{} is missing: run scripts/fetch-testdata.sh",
        model.display()
    );
    assert!(
        python.exists(),
        "{} is missing: run scripts/sb3-venv.sh",
        python.display()
    );

    let dir = std::env::temp_dir().join(format!("rewardgen-vs-sb3-{}", std::process::id()));
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
        num_envs: 1,
        num_steps: 2048,
        num_minibatches: 32,
        threads: 1,
        ..TrainConfig::default()
    };
    let run = Run::create(&dir, setup, config).expect("the run directory can be made");
    let start = Instant::now();
    trainer::train(&run, &AtomicBool::new(false), &mut |_| {}).expect("training runs");
    let ours = steps as f64 / start.elapsed().as_secs_f64();
    let _ = std::fs::remove_dir_all(&dir);

    let output = Command::new(&python)
        .args([
            "-c",
            SB3_SCRIPT,
            &steps.to_string(),
            &model.display().to_string(),
        ])
        .env("OMP_NUM_THREADS", "1")
        .output()
        .expect("the bench venv's python runs");
    assert!(
        output.status.success(),
        "Stable-Baselines3 failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let sb3: f64 = String::from_utf8_lossy(&output.stdout)
        .lines()
        .last()
        .and_then(|l| l.trim().parse().ok())
        .expect("the SB3 script prints its steps per second");
    println!("ppo_vs_sb3: {steps} steps of PPO on HalfCheetah-v5, one thread each");
    println!("  rewardgen {ours:>8.0} steps/s");
    println!("  SB3       {sb3:>8.0} steps/s");
    println!("  ratio     {:>8.2}× (target ≥ 5×)", ours / sb3);
}
