//! `mjcf:<path>`: any MJCF model with actuators as an env, for models users bring.

use crate::{EnvError, EnvOptions, Fitness, StateField, TaskEnv, TaskSpec, check_frame_skip};
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
        let frame_skip = check_frame_skip(options.frame_skip.unwrap_or(DEFAULT_FRAME_SKIP))?;
        let (nq, nv, nu) = (model.nq(), model.nv(), model.nu());
        if nq + nv == 0 {
            return Err(EnvError::NoJoints {
                path: path.display().to_string(),
            });
        }
        let action_space = action_space(&model, path)?;
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
            action_space,
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

/// The action space of a model's actuators: each control-limited actuator's `ctrlrange`,
/// ±∞ for the others. A `ctrlrange` that is NaN, infinite (`1e309` overflows to one), wider
/// than an f64 spans, or whose low is above its high is an error naming the actuator: it
/// would make sampling and clamping actions panic.
pub fn action_space(model: &Model, path: &Path) -> Result<Space, EnvError> {
    let bad = |id: usize, problem: String| EnvError::BadCtrlRange {
        path: path.display().to_string(),
        actuator: match model.name_of(sim::ObjectKind::Actuator, id) {
            Some(name) => format!("'{name}'"),
            None => format!("#{id} (unnamed)"),
        },
        problem,
    };
    let (mut low, mut high) = (Vec::new(), Vec::new());
    for (id, limit) in model.ctrl_limits().into_iter().enumerate() {
        let [lo, hi] = limit.unwrap_or([f64::NEG_INFINITY, f64::INFINITY]);
        if limit.is_some() {
            if !(lo.is_finite() && hi.is_finite()) {
                return Err(bad(
                    id,
                    format!(
                        "ctrlrange \"{lo:?} {hi:?}\" is not a pair of finite numbers (NaN, or \
                         too large for an f64, such as 1e309)"
                    ),
                ));
            }
            if lo > hi {
                return Err(bad(
                    id,
                    format!("ctrlrange \"{lo:?} {hi:?}\": the low is above the high"),
                ));
            }
        }
        low.push(lo);
        high.push(hi);
    }
    let space = Space::bounded(low, high);
    space
        .check_bounds()
        .map_err(|(id, problem)| bad(id, format!("ctrlrange: {problem}")))?;
    Ok(space)
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

#[cfg(test)]
mod tests {
    use super::*;

    fn model(ctrl: &str) -> Model {
        let xml = format!(
            "<mujoco><worldbody><body><joint name='j' type='hinge'/><geom size='0.1' \
             mass='1'/></body></worldbody><actuator><motor joint='j' {ctrl}/>\
             <motor name='second' joint='j' ctrlrange='-2 2'/></actuator></mujoco>"
        );
        Model::from_xml_str(&xml, "test.xml").unwrap()
    }

    #[test]
    fn ctrl_ranges_become_the_action_space() {
        let space = action_space(&model("ctrlrange='-1 1'"), Path::new("test.xml")).unwrap();
        assert_eq!(space, Space::bounded(vec![-1.0, -2.0], vec![1.0, 2.0]));
        let space = action_space(&model("ctrllimited='false'"), Path::new("test.xml")).unwrap();
        assert_eq!(space.flat_dim(), 2);
        assert_eq!(space.check_bounds(), Ok(()));
    }

    #[test]
    fn a_ctrl_range_that_cannot_be_sampled_names_its_actuator() {
        let err = |ctrl: &str| {
            action_space(&model(ctrl), Path::new("test.xml"))
                .unwrap_err()
                .to_string()
        };
        // (NaN is the CLI tests' case: MuJoCo logs a warning for it into the working folder.)
        let inf = err("ctrlrange='-inf 1' ctrllimited='true'");
        assert!(
            inf.starts_with(
                "test.xml: actuator #0 (unnamed): ctrlrange \"-inf 1.0\" is not a pair"
            ),
            "{inf}"
        );
        let wide = err("ctrlrange='-1e308 1e308'");
        assert!(wide.contains("wider than an f64 can represent"), "{wide}");
    }

    #[test]
    fn frame_skips_past_the_bound_are_refused() {
        assert_eq!(crate::check_frame_skip(5).unwrap(), 5);
        for bad in [0, crate::MAX_FRAME_SKIP + 1, 100_000_000] {
            let err = crate::check_frame_skip(bad).unwrap_err().to_string();
            assert!(err.contains("must be between 1 and 1000"), "{err}");
        }
        let options = EnvOptions {
            frame_skip: Some(100_000_000),
            ..EnvOptions::default()
        };
        for name in ["franka-reach", "franka-push", "quadruped-walk"] {
            let err = crate::make(name, &options).err().unwrap().to_string();
            assert!(err.contains("frame_skip"), "{name}: {err}");
        }
    }
}
