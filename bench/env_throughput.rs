//! Env throughput: franka-push env steps per second against the raw MuJoCo physics under
//! them, measured side by side in one run.
//!
//! Run: `scripts/bench` (or `cargo bench --bench env_throughput`).
//!
//! - raw: the env's physics alone (`FrankaPush::apply_action`: move the fingertip target,
//!   run `frame_skip` `mj_step`s), with no state, observation or reward;
//! - env: `FrankaPush::step` on one thread, resets included;
//! - VecEnv: 8 franka-push envs stepped together, on 1 and on 2 worker threads.
//!
//! These machines are shared and noisy, so the four are interleaved episode by episode, each
//! replaying the same random actions, and every figure is a total over all rounds.

use envs::{FrankaConfig, FrankaPush};
use rl_env::{Env, VecEnv, seeded_rng};
use std::time::Instant;

const ROUNDS: u64 = 40;
const VEC_ENVS: usize = 8;

/// Accumulated steps and seconds of one contestant.
#[derive(Default)]
struct Tally {
    steps: usize,
    seconds: f64,
}

impl Tally {
    fn time(&mut self, steps: usize, work: impl FnOnce()) {
        let start = Instant::now();
        work();
        self.seconds += start.elapsed().as_secs_f64();
        self.steps += steps;
    }

    fn rate(&self) -> f64 {
        self.steps as f64 / self.seconds
    }
}

fn episode_actions(env: &FrankaPush, round: u64, n: usize) -> Vec<Vec<f64>> {
    let mut rng = seeded_rng(round);
    (0..n)
        .map(|_| env.action_space().sample(&mut rng))
        .collect()
}

fn franka_push(config: &FrankaConfig) -> FrankaPush {
    FrankaPush::new(config.clone()).expect("franka-push builds")
}

fn vec_env(config: &FrankaConfig, threads: usize) -> VecEnv {
    let envs = (0..VEC_ENVS)
        .map(|_| Box::new(franka_push(config)) as Box<dyn Env>)
        .collect();
    VecEnv::new(envs, threads)
}

fn main() {
    let config = FrankaConfig::default_config();
    let steps = config.episode_steps;
    let mut raw_env = franka_push(&config);
    let mut env = franka_push(&config);
    let mut vec1 = vec_env(&config, 1);
    let mut vec2 = vec_env(&config, 2);
    let (mut raw, mut single, mut one_thread, mut two_threads) = (
        Tally::default(),
        Tally::default(),
        Tally::default(),
        Tally::default(),
    );
    for round in 0..ROUNDS {
        let actions = episode_actions(&env, round, steps);
        raw_env.reset(Some(round));
        raw.time(steps, || {
            actions.iter().for_each(|a| raw_env.apply_action(a))
        });
        single.time(steps, || {
            env.reset(Some(round));
            for a in &actions {
                env.step(a);
            }
        });
        let batch = |a: &Vec<f64>| vec![a.clone(); VEC_ENVS];
        for (venv, tally) in [(&mut vec1, &mut one_thread), (&mut vec2, &mut two_threads)] {
            venv.reset(Some(round));
            tally.time(steps * VEC_ENVS, || {
                actions.iter().for_each(|a| drop(venv.step(batch(a))))
            });
        }
    }
    println!(
        "env_throughput: franka-push, {} physics steps per action, {ROUNDS} interleaved rounds",
        config.frame_skip
    );
    println!(
        "  raw physics:           {:>8.0} mj_step/s = {:>6.0} actions/s",
        raw.rate() * config.frame_skip as f64,
        raw.rate()
    );
    println!(
        "  env, 1 thread:         {:>8.0} env steps/s",
        single.rate()
    );
    println!(
        "  VecEnv x{VEC_ENVS}, 1 thread:   {:>8.0} env steps/s",
        one_thread.rate()
    );
    println!(
        "  VecEnv x{VEC_ENVS}, 2 threads:  {:>8.0} env steps/s",
        two_threads.rate()
    );
    println!(
        "  ratio env / raw physics: {:.3} (env layer costs {:+.1}% over raw physics; target at most +15%)",
        single.rate() / raw.rate(),
        (raw.rate() / single.rate() - 1.0) * 100.0
    );
    println!(
        "  ratio VecEnv 2 threads / 1 thread: {:.2}",
        two_threads.rate() / one_thread.rate()
    );
}
