//! `half-cheetah`: a port of Gymnasium's HalfCheetah-v5 (gymnasium/envs/mujoco/half_cheetah_v5.py
//! in gymnasium 1.2.1), our bridge to published results. It loads Gymnasium's own
//! `half_cheetah.xml`, which the user brings with `--model PATH`.

use crate::mjcf::reset_with_noise;
use crate::{EnvError, EnvOptions, Fitness, StateField, TaskEnv, TaskSpec, check_frame_skip};
use rand_chacha::ChaCha8Rng;
use rl_env::{Env, Info, Space, Step, seeded_rng, standard_normal};
use sim::{Model, Sim};

/// Physics steps per action (HalfCheetah-v5: 5, with the model's 0.01 s timestep).
pub const FRAME_SKIP: usize = 5;
/// Weight of the forward-velocity reward (v5 default 1.0).
pub const FORWARD_REWARD_WEIGHT: f64 = 1.0;
/// Weight of the control cost, the sum of squared actions (v5 default 0.1).
pub const CTRL_COST_WEIGHT: f64 = 0.1;
/// Reset noise: uniform on `qpos`, Gaussian with this standard deviation on `qvel` (v5: 0.1).
pub const RESET_NOISE_SCALE: f64 = 0.1;
/// Gymnasium registers HalfCheetah-v5 with a 1000-step time limit.
pub const EPISODE_STEPS: usize = 1000;

/// HalfCheetah-v5: run forward as fast as possible. Observation: `qpos` without the root's x
/// position (8) then `qvel` (9); action: the 6 joint torques in [-1, 1]; reward: forward
/// velocity minus 0.1 × the sum of squared actions. Episodes never terminate.
pub struct HalfCheetah {
    sim: Sim,
    rng: ChaCha8Rng,
    steps: usize,
    spec: TaskSpec,
}

impl HalfCheetah {
    pub fn new(options: &EnvOptions) -> Result<Self, EnvError> {
        let path =
            options.model.as_deref().ok_or_else(|| {
                EnvError::MissingModel {
            env: "half-cheetah".into(),
            hint: "the path to Gymnasium's half_cheetah.xml (scripts/fetch-testdata.sh puts it in \
                   .testdata/gymnasium/)"
                .into(),
        }
            })?;
        let model = Model::from_file(path)?;
        if model.nq() != 9 || model.nv() != 9 || model.nu() != 6 {
            return Err(EnvError::InvalidOption(format!(
                "{}: not Gymnasium's half_cheetah.xml (expected 9 qpos, 9 dofs, 6 actuators; found \
                 {}, {}, {})",
                path.display(),
                model.nq(),
                model.nv(),
                model.nu()
            )));
        }
        let frame_skip = check_frame_skip(options.frame_skip.unwrap_or(FRAME_SKIP))?;
        let action_space = crate::mjcf::action_space(&model, path)?;
        let spec = TaskSpec {
            name: "half-cheetah".into(),
            model: format!("{} (Gymnasium's HalfCheetah model)", path.display()),
            control: format!(
                "6 joint torques in [-1, 1]; {frame_skip} physics steps of {} s per action",
                model.timestep()
            ),
            frame_skip,
            physics_dt: model.timestep(),
            observation_space: Space::uniform_box(&[17], f64::NEG_INFINITY, f64::INFINITY),
            observation_layout: "qpos without the root x position (8), qvel (9)".into(),
            action_space,
            reset_randomization: format!(
                "qpos + uniform noise of ±{RESET_NOISE_SCALE}, qvel + Gaussian noise of std {RESET_NOISE_SCALE}"
            ),
            episode_steps: EPISODE_STEPS,
            state_schema: vec![
                StateField::new(
                    "x_position",
                    &[],
                    "m",
                    "world",
                    "Forward position of the torso.",
                ),
                StateField::new(
                    "x_velocity",
                    &[],
                    "m/s",
                    "world",
                    "Forward velocity of the torso over the last step.",
                ),
                StateField::new(
                    "qpos",
                    &[9],
                    "m or rad",
                    "joint space",
                    "Generalized positions: root x, z, pitch, then the 6 joints.",
                ),
                StateField::new(
                    "qvel",
                    &[9],
                    "m/s or rad/s",
                    "joint space",
                    "Generalized velocities, in the order of qpos.",
                ),
            ],
            task_text: "Make the two-legged planar cheetah run forward (+x) as fast as possible \
                        while using little control effort."
                .into(),
            success_metric: "none: the published measure is the episode return (forward velocity \
                             minus 0.1 × squared actions, summed over 1000 steps)"
                .into(),
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
        let mut obs = self.sim.qpos()[1..].to_vec();
        obs.extend_from_slice(self.sim.qvel());
        obs
    }

    fn x_velocity(&self) -> f64 {
        self.sim.qvel()[0]
    }
}

impl Env for HalfCheetah {
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
        reset_with_noise(&mut self.sim, &mut self.rng, RESET_NOISE_SCALE, |rng| {
            RESET_NOISE_SCALE * standard_normal(rng)
        });
        self.steps = 0;
        (self.observation(), Info::default())
    }

    fn step(&mut self, action: &[f64]) -> Step {
        let x_before = self.sim.qpos()[0];
        let mut ctrl_cost = 0.0;
        for (ctrl, a) in self.sim.ctrl_mut().iter_mut().zip(action) {
            let a = if a.is_finite() {
                a.clamp(-1.0, 1.0)
            } else {
                0.0
            };
            *ctrl = a;
            ctrl_cost += a * a;
        }
        self.sim.step(self.spec.frame_skip);
        self.steps += 1;
        let x_after = self.sim.qpos()[0];
        let x_velocity = (x_after - x_before) / self.spec.control_dt();
        let forward = FORWARD_REWARD_WEIGHT * x_velocity;
        let ctrl = CTRL_COST_WEIGHT * ctrl_cost;
        let mut info = Info::default();
        info.set("x_position", x_after);
        info.set("x_velocity", x_velocity);
        info.set("reward_forward", forward);
        info.set("reward_ctrl", -ctrl);
        Step {
            obs: self.observation(),
            reward: forward - ctrl,
            terminated: false,
            truncated: self.steps >= self.spec.episode_steps,
            info,
        }
    }
}

impl TaskEnv for HalfCheetah {
    fn spec(&self) -> &TaskSpec {
        &self.spec
    }

    fn state(&self) -> Vec<f64> {
        let mut state = vec![self.sim.qpos()[0], self.x_velocity()];
        state.extend_from_slice(self.sim.qpos());
        state.extend_from_slice(self.sim.qvel());
        state
    }

    fn sim(&self) -> Option<&Sim> {
        Some(&self.sim)
    }
}
