//! `mjcf:<path>`: any MJCF model with actuators as an env, for models users bring.

use crate::{EnvError, EnvOptions, Fitness, StateField, TaskEnv, TaskSpec};
use rand::RngExt;
use rand_chacha::ChaCha8Rng;
use rl_env::{Env, Info, Space, Step, seeded_rng};
use sim::{Model, Sim};
use std::path::Path;

/// Physics steps per action when no option says otherwise (Gymnasium's MuJoCo envs use 5).
pub const DEFAULT_FRAME_SKIP: usize = 5;
/// Actions per episode (Gymnasium's MuJoCo envs use 1000).
pub const EPISODE_STEPS: usize = 1000;
/// Reset noise: each `qpos` and `qvel` element moves by up to this much from the model's
/// reference configuration.
pub const RESET_NOISE: f64 = 0.01;

/// A generic env over an MJCF file: the observation is `qpos` then `qvel`, the action is
/// `ctrl` within each actuator's `ctrlrange`. It has no task of its own, so its reward is 0:
/// a reward program supplies one.
pub struct MjcfEnv {
    sim: Sim,
    rng: ChaCha8Rng,
    steps: usize,
    spec: TaskSpec,
}

impl MjcfEnv {
    pub fn new(path: &Path, options: &EnvOptions) -> Result<Self, EnvError> {
        let model = Model::from_file(path)?;
        if model.nu() == 0 {
            return Err(EnvError::NoActuators {
                path: path.display().to_string(),
            });
        }
        let frame_skip = options.frame_skip.unwrap_or(DEFAULT_FRAME_SKIP);
        if frame_skip == 0 {
            return Err(EnvError::InvalidOption(
                "frame_skip must be at least 1".into(),
            ));
        }
        let (low, high) = model
            .ctrl_ranges()
            .into_iter()
            .map(|[lo, hi]| (lo, hi))
            .unzip();
        let (nq, nv, nu) = (model.nq(), model.nv(), model.nu());
        let physics_dt = model.timestep();
        let spec = TaskSpec {
            name: format!("mjcf:{}", path.display()),
            model: format!("{} ({nq} qpos, {nv} dofs, {nu} actuators)", path.display()),
            control: format!(
                "actuator controls within each ctrlrange; {frame_skip} physics steps of {physics_dt} s \
                 per action"
            ),
            frame_skip,
            physics_dt,
            observation_space: Space::uniform_box(&[nq + nv], f64::NEG_INFINITY, f64::INFINITY),
            observation_layout: format!("qpos ({nq}), qvel ({nv})"),
            action_space: Space::bounded(low, high),
            reset_randomization: format!(
                "qpos and qvel of the reference configuration plus uniform noise of ±{RESET_NOISE}"
            ),
            episode_steps: EPISODE_STEPS,
            state_schema: vec![
                StateField::new(
                    "qpos",
                    &[nq],
                    "m or rad",
                    "joint space",
                    "Generalized positions.",
                ),
                StateField::new(
                    "qvel",
                    &[nv],
                    "m/s or rad/s",
                    "joint space",
                    "Generalized velocities.",
                ),
                StateField::new(
                    "ctrl",
                    &[nu],
                    "actuator units",
                    "actuator space",
                    "Controls applied this step.",
                ),
            ],
            task_text: format!(
                "A model loaded from {}; it defines no task.",
                path.display()
            ),
            success_metric: "none: a generic model has no success metric".into(),
            fitness: Fitness::success_rate(None),
        };
        Ok(Self {
            sim: Sim::new(&model),
            rng: seeded_rng(0),
            steps: 0,
            spec,
        })
    }

    fn observation(&self) -> Vec<f64> {
        let mut obs = self.sim.qpos().to_vec();
        obs.extend_from_slice(self.sim.qvel());
        obs
    }
}

/// Puts `sim` back at its reference configuration with each `qpos` element moved uniformly
/// within ±`qpos_noise` and each `qvel` element by `qvel_noise(rng)`, then runs `mj_forward`.
pub(crate) fn reset_with_noise(
    sim: &mut Sim,
    rng: &mut ChaCha8Rng,
    qpos_noise: f64,
    mut qvel_noise: impl FnMut(&mut ChaCha8Rng) -> f64,
) {
    sim.reset();
    for q in sim.qpos_mut() {
        *q += rng.random_range(-qpos_noise..=qpos_noise);
    }
    for v in sim.qvel_mut() {
        *v += qvel_noise(rng);
    }
    sim.forward();
}

impl Env for MjcfEnv {
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
        reset_with_noise(&mut self.sim, &mut self.rng, RESET_NOISE, |rng| {
            rng.random_range(-RESET_NOISE..=RESET_NOISE)
        });
        self.steps = 0;
        (self.observation(), Info::default())
    }

    fn step(&mut self, action: &[f64]) -> Step {
        let ranges = match &self.spec.action_space {
            Space::Box { low, high, .. } => low.iter().zip(high),
            Space::Discrete(_) => unreachable!("an MJCF env's actions are a box"),
        };
        for ((ctrl, a), (lo, hi)) in self.sim.ctrl_mut().iter_mut().zip(action).zip(ranges) {
            *ctrl = if a.is_finite() {
                a.clamp(*lo, *hi)
            } else {
                0.0
            };
        }
        self.sim.step(self.spec.frame_skip);
        self.steps += 1;
        let obs = self.observation();
        let diverged = obs.iter().any(|v| !v.is_finite());
        let mut info = Info::default();
        if diverged {
            info.set("diverged", 1.0);
        }
        Step {
            obs,
            reward: 0.0,
            terminated: diverged,
            truncated: !diverged && self.steps >= self.spec.episode_steps,
            info,
        }
    }
}

impl TaskEnv for MjcfEnv {
    fn spec(&self) -> &TaskSpec {
        &self.spec
    }

    fn state(&self) -> Vec<f64> {
        let mut state = self.observation();
        state.extend_from_slice(self.sim.ctrl());
        state
    }

    fn sim(&self) -> Option<&Sim> {
        Some(&self.sim)
    }
}
