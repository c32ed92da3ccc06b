//! Using a reward program as an env's reward.

use crate::{RewardError, RewardProgram, StateInput};
use envs::TaskEnv;
use rl_env::{Info, Step, Wrapper};
use std::sync::{Arc, Mutex};

/// The `info` key set to 1 on a step whose reward program failed.
pub const REWARD_ERROR_KEY: &str = "reward_error";

/// Where a [`RewardEnv`] leaves the error that stopped it, for the trainer to report.
#[derive(Debug, Clone, Default)]
pub struct RewardErrorSlot(Arc<Mutex<Option<RewardError>>>);

impl RewardErrorSlot {
    /// The first error, if any, leaving it in place.
    pub fn get(&self) -> Option<RewardError> {
        self.lock().clone()
    }

    /// Keeps `error` unless an earlier one is there.
    pub fn set_first(&self, error: RewardError) {
        self.lock().get_or_insert(error);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Option<RewardError>> {
        self.0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// Replaces a task env's reward with a program's total. Each component goes into `info` as
/// `reward/<name>`, the env's own reward as `task_reward`; `is_success` stays the task's.
///
/// If the program fails, the step's reward is 0, the episode terminates, `info` gets
/// [`REWARD_ERROR_KEY`] = 1, and the error goes to the [`RewardErrorSlot`]: a trainer stops
/// the run there, so it never trains on a failed or non-finite reward.
pub struct RewardEnv<E> {
    env: E,
    program: RewardProgram,
    prev_action: Vec<f64>,
    step: usize,
    errors: RewardErrorSlot,
}

impl<E: TaskEnv> RewardEnv<E> {
    pub fn new(env: E, program: RewardProgram) -> Self {
        let actions = env.action_space().flat_dim();
        Self {
            env,
            program,
            prev_action: vec![0.0; actions],
            step: 0,
            errors: RewardErrorSlot::default(),
        }
    }

    /// The slot this env reports a failed program into.
    pub fn errors(&self) -> RewardErrorSlot {
        self.errors.clone()
    }
}

impl<E: TaskEnv> Wrapper for RewardEnv<E> {
    type Inner = E;

    fn inner(&self) -> &E {
        &self.env
    }

    fn inner_mut(&mut self) -> &mut E {
        &mut self.env
    }

    fn reset(&mut self, seed: Option<u64>) -> (Vec<f64>, Info) {
        self.prev_action.fill(0.0);
        self.step = 0;
        self.env.reset(seed)
    }

    fn step(&mut self, action: &[f64]) -> Step {
        let mut step = self.env.step(action);
        let values = self.env.state();
        let input = StateInput {
            values: &values,
            action,
            prev_action: &self.prev_action,
            dt: self.env.spec().control_dt(),
            step: self.step,
        };
        step.info.set("task_reward", step.reward);
        match self.program.evaluate(&input) {
            Ok(output) => {
                step.reward = output.total;
                for (name, value) in &output.components {
                    step.info.set(&format!("reward/{name}"), *value);
                }
            }
            Err(error) => {
                self.errors.set_first(error.with_step(self.step));
                step.reward = 0.0;
                step.terminated = true;
                step.info.set(REWARD_ERROR_KEY, 1.0);
            }
        }
        self.prev_action.clear();
        self.prev_action.extend_from_slice(action);
        self.step += 1;
        step
    }
}
