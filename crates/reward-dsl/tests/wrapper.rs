//! A reward program as an env's reward.

use envs::{EnvOptions, TaskEnv, make};
use reward_dsl::{Limits, REWARD_ERROR_KEY, RewardEnv, RewardProgram};
use rl_env::Env;
use std::path::Path;

fn program_for(env: &dyn TaskEnv, source: &str) -> RewardProgram {
    RewardProgram::compile(
        source,
        "test.rhai",
        &env.spec().state_schema,
        &Limits::default(),
    )
    .unwrap()
}

#[test]
fn program_total_becomes_the_reward_and_components_go_to_info() {
    let inner = make("franka-push", &EnvOptions::default()).unwrap();
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../rewards/franka-push/human.rhai");
    let source = std::fs::read_to_string(path).unwrap();
    let program = program_for(inner.as_ref(), &source);
    let mut env = RewardEnv::new(inner, program);
    env.reset(Some(1));
    let step = env.step(&[0.5, 0.0, -0.5]);
    let parts: f64 = ["approach", "progress", "arrival", "effort"]
        .iter()
        .map(|name| step.info.get(&format!("reward/{name}")).unwrap())
        .sum();
    assert!(
        (step.reward - parts).abs() < 1e-12,
        "{} vs {parts}",
        step.reward
    );
    assert!(step.info.get("task_reward").unwrap() < 0.0);
    assert_eq!(
        step.info.get("is_success"),
        Some(0.0),
        "success stays the task's own"
    );
}

#[test]
fn success_flag_is_the_tasks_even_when_the_reward_ignores_it() {
    let inner = make("franka-reach", &EnvOptions::default()).unwrap();
    let program = program_for(inner.as_ref(), "[0.0, #{nothing: 0.0}]");
    let mut env = RewardEnv::new(inner, program);
    env.reset(Some(0));
    let mut last = None;
    for _ in 0..50 {
        let action = env.scripted_action().unwrap();
        let step = env.step(&action);
        assert_eq!(step.reward, 0.0);
        if step.terminated || step.truncated {
            last = Some(step);
            break;
        }
    }
    assert!(last.unwrap().info.is_success());
}

#[test]
fn a_failing_program_stops_the_episode_and_reports_its_error() {
    let inner = make("franka-push", &EnvOptions::default()).unwrap();
    let program = program_for(
        inner.as_ref(),
        "if state.step == 3 { [0.0 / 0.0, #{}] } else { [1.0, #{}] }",
    );
    let mut env = RewardEnv::new(inner, program);
    let errors = env.errors();
    env.reset(Some(0));
    for _ in 0..3 {
        let step = env.step(&[0.0, 0.0, 0.0]);
        assert_eq!(step.reward, 1.0);
        assert!(!step.terminated);
    }
    let step = env.step(&[0.0, 0.0, 0.0]);
    assert!(step.terminated);
    assert_eq!(step.reward, 0.0, "never a NaN reward");
    assert_eq!(step.info.get(REWARD_ERROR_KEY), Some(1.0));
    let error = errors.get().expect("the error is kept for the trainer");
    assert_eq!(error.step, Some(3));
    assert!(error.message.contains("NaN"));
}

#[test]
fn prev_action_is_the_action_of_the_step_before() {
    let inner = make("franka-reach", &EnvOptions::default()).unwrap();
    let program = program_for(inner.as_ref(), "[state.prev_action[0], #{}]");
    let mut env = RewardEnv::new(inner, program);
    env.reset(Some(0));
    assert_eq!(env.step(&[0.25, 0.0, 0.0]).reward, 0.0);
    assert_eq!(env.step(&[-0.5, 0.0, 0.0]).reward, 0.25);
    env.reset(Some(0));
    assert_eq!(env.step(&[0.1, 0.0, 0.0]).reward, 0.0, "reset clears it");
}
