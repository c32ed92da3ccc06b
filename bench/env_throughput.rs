//! Env throughput: env steps per second of franka-push and the quadruped tasks against the
//! raw MuJoCo physics under them, measured side by side in one run.
//!
//! Run: `scripts/bench env_throughput` (or `cargo bench --bench env_throughput`).
//!
//! For each env:
//! - raw: the env's physics alone (`apply_action`: set the targets, run `frame_skip`
//!   `mj_step`s), with no state, observation, reward or termination check;
//! - env: `step` on one thread, resets included.
//!
//! For franka-push also a VecEnv of 8 envs on 1 and on 2 worker threads.
//!
//! These machines are shared and noisy, so the contestants are interleaved episode by
//! episode, each replaying the same random actions, and every figure is a total over all
//! rounds.

use envs::{
    EnvOptions, FrankaConfig, FrankaPush, QuadrupedStand, QuadrupedTurn, QuadrupedWalk, TaskEnv,
};
use rl_env::{Env, VecEnv, seeded_rng};
use std::time::Instant;

const ROUNDS: u64 = 30;
const VEC_ENVS: usize = 8;
/// Actions per round for the quadrupeds, whose random episodes end early on a fall.
const QUADRUPED_ACTIONS: usize = 100;

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

/// An env whose physics can be driven without the env layer.
trait RawPhysics: TaskEnv {
    fn physics_only(&mut self, action: &[f64]);
}

macro_rules! raw_physics {
    ($($env:ty),*) => {$(
        impl RawPhysics for $env {
            fn physics_only(&mut self, action: &[f64]) {
                self.apply_action(action);
            }
        }
    )*};
}
raw_physics!(FrankaPush, QuadrupedWalk, QuadrupedTurn, QuadrupedStand);

fn random_actions(env: &dyn TaskEnv, round: u64, n: usize) -> Vec<Vec<f64>> {
    let mut rng = seeded_rng(round);
    (0..n)
        .map(|_| env.action_space().sample(&mut rng))
        .collect()
}

/// Raw physics and env steps of one env, interleaved; returns their rates.
fn raw_and_env(make: impl Fn() -> Box<dyn RawPhysicsEnv>, actions_per_round: usize) -> (f64, f64) {
    let (mut raw_env, mut env) = (make(), make());
    let (mut raw, mut stepped) = (Tally::default(), Tally::default());
    for round in 0..ROUNDS {
        let actions = random_actions(env.task_env(), round, actions_per_round);
        raw_env.reset(Some(round));
        raw.time(actions.len(), || {
            actions.iter().for_each(|a| raw_env.physics_only(a))
        });
        stepped.time(actions.len(), || {
            env.reset(Some(round));
            for a in &actions {
                let step = env.step(a);
                if step.terminated || step.truncated {
                    env.reset(None);
                }
            }
        });
    }
    (raw.rate(), stepped.rate())
}

type MakeRaw = fn(&EnvOptions) -> Box<dyn RawPhysicsEnv>;

/// `RawPhysics` as a trait object that can also be seen as a `TaskEnv`.
trait RawPhysicsEnv: RawPhysics {
    fn task_env(&self) -> &dyn TaskEnv;
}

impl<E: RawPhysics> RawPhysicsEnv for E {
    fn task_env(&self) -> &dyn TaskEnv {
        self
    }
}

fn report(name: &str, frame_skip: usize, raw: f64, env: f64) {
    println!(
        "  {name:<16} raw {:>8.0} mj_step/s = {raw:>6.0} actions/s | env {env:>6.0} steps/s | ratio env/raw {:.3} (env layer {:+.1}%, target at most +15%)",
        raw * frame_skip as f64,
        env / raw,
        (raw / env - 1.0) * 100.0
    );
}

fn vec_env(config: &FrankaConfig, threads: usize) -> VecEnv {
    let envs = (0..VEC_ENVS)
        .map(|_| {
            Box::new(FrankaPush::new(config.clone()).expect("franka-push builds")) as Box<dyn Env>
        })
        .collect();
    VecEnv::new(envs, threads)
}

fn main() {
    let config = FrankaConfig::default_config();
    let options = EnvOptions::default();
    println!("env_throughput: {ROUNDS} interleaved rounds per env");
    let (raw, env) = raw_and_env(
        || Box::new(FrankaPush::new(config.clone()).expect("franka-push builds")),
        config.episode_steps,
    );
    report("franka-push", config.frame_skip, raw, env);
    let quadruped_frame_skip = task_file::make("quadruped-walk", &options)
        .expect("quadruped-walk builds")
        .spec()
        .frame_skip;
    let quadrupeds: [(&str, MakeRaw); 3] = [
        ("quadruped-walk", |o| {
            Box::new(QuadrupedWalk::from_options(o).expect("builds"))
        }),
        ("quadruped-turn", |o| {
            Box::new(QuadrupedTurn::from_options(o).expect("builds"))
        }),
        ("quadruped-stand", |o| {
            Box::new(QuadrupedStand::from_options(o).expect("builds"))
        }),
    ];
    for (name, make) in quadrupeds {
        let (raw, env) = raw_and_env(|| make(&options), QUADRUPED_ACTIONS);
        report(name, quadruped_frame_skip, raw, env);
    }

    let (mut vec1, mut vec2) = (vec_env(&config, 1), vec_env(&config, 2));
    let (mut one_thread, mut two_threads) = (Tally::default(), Tally::default());
    let probe = FrankaPush::new(config.clone()).expect("franka-push builds");
    for round in 0..ROUNDS {
        let actions = random_actions(&probe, round, config.episode_steps);
        for (venv, tally) in [(&mut vec1, &mut one_thread), (&mut vec2, &mut two_threads)] {
            venv.reset(Some(round));
            tally.time(actions.len() * VEC_ENVS, || {
                actions
                    .iter()
                    .for_each(|a| drop(venv.step(vec![a.clone(); VEC_ENVS])))
            });
        }
    }
    println!(
        "  franka-push VecEnv x{VEC_ENVS}: 1 thread {:.0} steps/s, 2 threads {:.0} steps/s, ratio 2/1 threads {:.2}",
        one_thread.rate(),
        two_threads.rate(),
        two_threads.rate() / one_thread.rate()
    );
}
