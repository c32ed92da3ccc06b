//! Reward evaluation cost: nanoseconds per evaluation of `rewards/franka-push/human.rhai` and
//! its share of one franka-push env step, measured side by side in one run.
//!
//! Run: `scripts/bench reward_eval`. Each round steps the env through one episode of random
//! actions (timed), then evaluates the program on every state that episode produced
//! (timed), so machine noise hits both alike. Target: under 10% of the env step.

use envs::{EnvOptions, TaskEnv, make};
use reward_dsl::{Limits, RewardProgram, StateInput};
use rl_env::seeded_rng;
use std::time::Instant;

const ROUNDS: u64 = 40;
const EVALS_PER_STATE: usize = 20;

fn main() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/rewards/franka-push/human.rhai"
    );
    let source = std::fs::read_to_string(path).expect("the shipped reward program exists");
    let mut env = make("franka-push", &EnvOptions::default()).expect("franka-push builds");
    let program =
        RewardProgram::compile(&source, path, &env.spec().state_schema, &Limits::default())
            .expect("human.rhai compiles");
    let dt = env.spec().control_dt();
    let (mut step_seconds, mut steps) = (0.0, 0usize);
    let (mut eval_seconds, mut evals) = (0.0, 0usize);
    for round in 0..ROUNDS {
        let mut rng = seeded_rng(round);
        let mut recorded = Vec::new();
        env.reset(Some(round));
        for _ in 0..env.spec().episode_steps {
            let action = env.action_space().sample(&mut rng);
            let start = Instant::now();
            let step = env.step(&action);
            step_seconds += start.elapsed().as_secs_f64();
            steps += 1;
            recorded.push((env.state(), action));
            if step.terminated || step.truncated {
                break;
            }
        }
        let zeros = vec![0.0; 3];
        let start = Instant::now();
        for _ in 0..EVALS_PER_STATE {
            for (i, (values, action)) in recorded.iter().enumerate() {
                let input = StateInput {
                    values,
                    action,
                    prev_action: if i > 0 { &recorded[i - 1].1 } else { &zeros },
                    dt,
                    step: i,
                };
                std::hint::black_box(program.evaluate(&input).expect("human.rhai evaluates"));
            }
        }
        eval_seconds += start.elapsed().as_secs_f64();
        evals += recorded.len() * EVALS_PER_STATE;
    }
    let eval_ns = eval_seconds / evals as f64 * 1e9;
    let step_ns = step_seconds / steps as f64 * 1e9;
    println!("reward_eval: rewards/franka-push/human.rhai, {ROUNDS} interleaved rounds");
    println!("  evaluation:          {eval_ns:>10.0} ns");
    println!("  franka-push step:    {step_ns:>10.0} ns");
    println!(
        "  share of an env step: {:.2}% (target under 10%)",
        eval_ns / step_ns * 100.0
    );
}
