//! Fixtures shared by the reward-dsl tests: a tiny schema and state built in the test.

// Each test file is its own crate and uses a different part of these fixtures.
#![allow(dead_code)]

use envs::StateField;
use reward_dsl::{Limits, RewardError, RewardOutput, RewardProgram, StateInput};

pub fn schema() -> Vec<StateField> {
    vec![
        StateField::new("ee_pos", &[3], "m", "world", "fingertips"),
        StateField::new("goal_pos", &[3], "m", "world", "goal"),
        StateField::new(
            "object_quat",
            &[4],
            "quaternion",
            "world",
            "box orientation",
        ),
        StateField::new("touching", &[], "0 or 1", "-", "contact flag"),
    ]
}

/// ee_pos (1, 2, 2), goal_pos (1, 0, 0), a quarter turn about z, touching 1.
pub const VALUES: [f64; 11] = [
    1.0,
    2.0,
    2.0,
    1.0,
    0.0,
    0.0,
    std::f64::consts::FRAC_1_SQRT_2,
    0.0,
    0.0,
    std::f64::consts::FRAC_1_SQRT_2,
    1.0,
];

pub fn input() -> StateInput<'static> {
    StateInput {
        values: &VALUES,
        action: &[0.5, -0.5, 1.0],
        prev_action: &[0.0, 0.0, 0.0],
        dt: 0.04,
        step: 7,
    }
}

pub fn compile(source: &str) -> Result<RewardProgram, RewardError> {
    RewardProgram::compile(source, "test.rhai", &schema(), &Limits::default())
}

pub fn run(source: &str) -> Result<RewardOutput, RewardError> {
    compile(source)?.evaluate(&input())
}

/// The total of a script that returns a single number as total.
pub fn value(expression: &str) -> f64 {
    let source = format!("let v = {expression};\n[v, #{{}}]");
    run(&source)
        .unwrap_or_else(|e| panic!("{expression}: {e}"))
        .total
}
