//! The core the Franka and quadruped envs share: a robot in its simulation, one task, the
//! task's spec, the random generator that a seeded reset restarts and the count of actions in
//! the episode. Each family says how its robot starts, steps and reports a task ([`Family`]).

use crate::{TaskEnv, TaskSpec};
use rand_chacha::ChaCha8Rng;
use rl_env::{Env, Info, Space, Step, seeded_rng};
use sim::Sim;

/// A simulated robot that an env drives one action at a time.
pub trait Robot: Send {
    fn sim(&self) -> &Sim;

    fn sim_mut(&mut self) -> &mut Sim;

    /// Applies an action and runs the physics steps of one control period.
    fn act(&mut self, action: &[f64]);
}

/// The first `N` elements of an action, each clipped to [-1, 1]; a missing or non-finite
/// element counts as 0.
pub(crate) fn unit_action<const N: usize>(action: &[f64]) -> [f64; N] {
    std::array::from_fn(|i| {
        action
            .get(i)
            .copied()
            .filter(|a| a.is_finite())
            .unwrap_or(0.0)
            .clamp(-1.0, 1.0)
    })
}

/// How one family's robot runs its task `T`: what the shared env leaves to the family.
pub trait Family<T>: Robot + Sized {
    /// Puts the robot and the task at the start of an episode, sampling from `env.rng`, and
    /// returns the first observation and info.
    fn start(env: &mut RobotEnv<Self, T>) -> (Vec<f64>, Info);

    /// The outcome of the action just applied and counted.
    fn outcome(env: &mut RobotEnv<Self, T>) -> Step;

    /// The task's state fields in schema order.
    fn state(env: &RobotEnv<Self, T>) -> Vec<f64>;

    fn scripted_action(env: &RobotEnv<Self, T>) -> Option<Vec<f64>>;
}

/// A robot env: robot `R` running task `T`.
pub struct RobotEnv<R, T> {
    pub(crate) robot: R,
    pub(crate) task: T,
    pub(crate) spec: TaskSpec,
    pub(crate) rng: ChaCha8Rng,
    /// Actions taken this episode.
    pub(crate) steps: usize,
}

impl<R: Robot, T> RobotEnv<R, T> {
    /// The env before its first reset, its generator seeded with 0.
    pub(crate) fn from_parts(robot: R, task: T, spec: TaskSpec) -> Self {
        Self {
            robot,
            task,
            spec,
            rng: seeded_rng(0),
            steps: 0,
        }
    }

    /// Whether a step that did not terminate the episode truncates it: the episode is over its
    /// length.
    pub(crate) fn truncates(&self, terminated: bool) -> bool {
        !terminated && self.steps >= self.spec.episode_steps
    }

    /// Applies an action to the physics alone, without state, observation, reward or
    /// termination: what `step` costs below the env layer, for benchmarks.
    pub fn apply_action(&mut self, action: &[f64]) {
        self.robot.act(action);
    }

    /// The simulation, for tests and viewers.
    pub fn sim(&self) -> &Sim {
        self.robot.sim()
    }

    /// The simulation, for tests that craft or replay a state; call [`Sim::forward`] after
    /// editing it.
    pub fn sim_mut(&mut self) -> &mut Sim {
        self.robot.sim_mut()
    }
}

impl<R: Family<T>, T: Send> Env for RobotEnv<R, T> {
    fn observation_space(&self) -> &Space {
        &self.spec.observation_space
    }

    fn action_space(&self) -> &Space {
        &self.spec.action_space
    }

    fn reset(&mut self, seed: Option<u64>) -> (Vec<f64>, Info) {
        if let Some(seed) = seed {
            self.rng = seeded_rng(seed);
        }
        self.steps = 0;
        R::start(self)
    }

    fn step(&mut self, action: &[f64]) -> Step {
        self.robot.act(action);
        self.steps += 1;
        R::outcome(self)
    }
}

impl<R: Family<T>, T: Send> TaskEnv for RobotEnv<R, T> {
    fn spec(&self) -> &TaskSpec {
        &self.spec
    }

    fn state(&self) -> Vec<f64> {
        R::state(self)
    }

    fn scripted_action(&self) -> Option<Vec<f64>> {
        R::scripted_action(self)
    }

    fn sim(&self) -> Option<&Sim> {
        Some(self.robot.sim())
    }
}
