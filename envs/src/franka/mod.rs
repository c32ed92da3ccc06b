//! What every Franka Panda task shares: the embedded model, end-effector control through a
//! mocap weld, and the settings in [`FrankaConfig`]. Each task is one file beside this one.

mod push;
mod reach;

pub use push::Push;
pub use reach::Reach;

use crate::assets::{cached_model, once_per_scene};
use crate::robot::{Family, Robot, RobotEnv, unit_action};
use crate::{EnvError, EnvOptions, TaskSpec, check_frame_skip};
use rand_chacha::ChaCha8Rng;
use rl_env::{Info, Step};
use sim::{Model, Sim};
use std::ops::Range;
use std::sync::Mutex;

/// `franka-push`: push a box to a goal on the table.
pub type FrankaPush = FrankaEnv<Push>;
/// `franka-reach`: bring the fingertips to a target.
pub type FrankaReach = FrankaEnv<Reach>;

/// The Franka model files, embedded so that the binary needs no asset folder. `physics.xml`
/// is added by [`FrankaPhysics::file`].
const ASSETS: [(&str, &str); 4] = [
    (
        "panda.xml",
        include_str!("../../../assets/franka/panda.xml"),
    ),
    (
        "table.xml",
        include_str!("../../../assets/franka/table.xml"),
    ),
    (
        "reach.xml",
        include_str!("../../../assets/franka/reach.xml"),
    ),
    ("push.xml", include_str!("../../../assets/franka/push.xml")),
];

/// How finely the Franka scenes are integrated: the `<option>` that `table.xml` includes as
/// `physics.xml`. docs/environments.md gives each setting's reason and measurements.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FrankaPhysics {
    /// 8 ms steps, 5 per action (`assets/franka/physics.xml`): the default.
    Fast,
    /// 2 ms steps, 20 per action (`assets/franka/physics-reference.xml`): the physics before
    /// 2026-12-01, kept so that old and new run side by side.
    Reference,
}

impl FrankaPhysics {
    /// Every preset.
    pub const ALL: [Self; 2] = [Self::Fast, Self::Reference];

    /// The preset an env option names; `None` is the default.
    pub fn parse(name: Option<&str>) -> Result<Self, EnvError> {
        let Some(name) = name else {
            return Ok(Self::Fast);
        };
        Self::ALL
            .into_iter()
            .find(|preset| preset.name() == name)
            .ok_or_else(|| {
                EnvError::InvalidOption(format!(
                    "physics (--physics) must be one of {}, not '{name}'",
                    Self::ALL.map(Self::name).join(", ")
                ))
            })
    }

    /// The preset's name, as the env option spells it.
    pub fn name(self) -> &'static str {
        match self {
            Self::Fast => "fast",
            Self::Reference => "reference",
        }
    }

    /// Physics steps per action that keep an action at 40 ms (25 Hz).
    pub fn frame_skip(self) -> usize {
        match self {
            Self::Fast => 5,
            Self::Reference => 20,
        }
    }

    /// The file `table.xml` includes as `physics.xml`.
    fn file(self) -> (&'static str, &'static str) {
        let text = match self {
            Self::Fast => include_str!("../../../assets/franka/physics.xml"),
            Self::Reference => include_str!("../../../assets/franka/physics-reference.xml"),
        };
        ("physics.xml", text)
    }
}

/// Settings shared by the Franka tasks.
#[derive(Debug, Clone, PartialEq)]
pub struct FrankaConfig {
    /// The physics preset.
    pub physics: FrankaPhysics,
    /// Physics steps per action. panda_mujoco_gym acts at 2 Hz; the default, the preset's
    /// [`FrankaPhysics::frame_skip`], acts at 25 Hz (40 ms), which keeps an episode of 50
    /// actions affordable for PPO on 2 CPU cores and still leaves the welded hand time to
    /// follow a 5 cm target move.
    pub frame_skip: usize,
    /// Actions per episode before truncation (panda_mujoco_gym: 50).
    pub episode_steps: usize,
    /// Metres of fingertip displacement for an action of ±1 (panda_mujoco_gym: 0.05).
    pub action_scale: f64,
}

impl FrankaConfig {
    /// The defaults, with their reasons in the field docs.
    pub fn default_config() -> Self {
        Self::with_physics(FrankaPhysics::Fast)
    }

    /// The defaults under a physics preset.
    pub fn with_physics(physics: FrankaPhysics) -> Self {
        Self {
            physics,
            frame_skip: physics.frame_skip(),
            episode_steps: 50,
            action_scale: 0.05,
        }
    }

    /// The defaults with the generic env options applied.
    pub fn from_options(options: &EnvOptions) -> Result<Self, EnvError> {
        let mut config = Self::with_physics(FrankaPhysics::parse(options.physics.as_deref())?);
        if let Some(frame_skip) = options.frame_skip {
            config.frame_skip = frame_skip;
        }
        Ok(config)
    }
}

/// Where the fingertips may be sent: above the table and within the arm's comfortable reach.
const WORKSPACE_LOW: [f64; 3] = [0.2, -0.45, 0.01];
const WORKSPACE_HIGH: [f64; 3] = [0.9, 0.45, 0.4];
/// Fingertip position at the start of every episode.
const HOME_EE: [f64; 3] = [0.4, 0.0, 0.1];
/// Tool pointing straight down: a half turn about x.
const TOOL_DOWN: [f64; 4] = [0.0, 1.0, 0.0, 0.0];
/// Franka's "ready" joint configuration, the start of the settling that finds the home pose.
const READY_JOINTS: [f64; 7] = [0.0, -0.785, 0.0, -2.356, 0.0, 1.571, 0.785];
/// Physics steps for the weld to pull the arm from the ready pose to the home pose: 3 s of
/// simulated time under the reference physics, 12 s under the default; it has settled by then.
const SETTLE_STEPS: usize = 1500;

/// The Panda on its table, controlled by moving the fingertip target, with where its task's
/// observation and success fields lie in the state.
pub struct Arm {
    sim: Sim,
    ee_site: usize,
    ee_target: usize,
    home_qpos: Vec<f64>,
    config: FrankaConfig,
    /// [`FrankaTask::OBSERVATION`] as state ranges.
    observation: Vec<(Range<usize>, bool)>,
    /// [`FrankaTask::SUCCESS_FIELDS`] as state ranges.
    success_fields: [Range<usize>; 2],
}

/// The home joint configuration of a scene's model: the weld pulls the arm from Franka's
/// ready pose to [`HOME_EE`] for [`SETTLE_STEPS`]. It depends on the model alone, so it is
/// found once per process for each scene and physics, and every later env of that scene
/// starts from the same numbers.
fn home_qpos(
    model: &Model,
    ee_target: usize,
    scene: &str,
    physics: FrankaPhysics,
) -> Result<Vec<f64>, EnvError> {
    static HOMES: Mutex<Vec<(String, Vec<f64>)>> = Mutex::new(Vec::new());
    once_per_scene(&HOMES, scene, physics.name(), || {
        let mut sim = Sim::new(model);
        for (i, angle) in READY_JOINTS.iter().enumerate() {
            let joint = model.joint(&format!("joint{}", i + 1))?;
            sim.qpos_mut()[model.joint_qpos_address(joint)] = *angle;
        }
        sim.set_mocap_pose(ee_target, HOME_EE, TOOL_DOWN);
        sim.forward();
        sim.step(SETTLE_STEPS);
        Ok(sim.qpos().to_vec())
    })
}

impl Arm {
    /// Loads task `T`'s scene, finds the home joint configuration by letting the weld pull the
    /// arm from Franka's ready pose to [`HOME_EE`], and returns the arm with the task's spec.
    fn new<T: FrankaTask>(config: FrankaConfig) -> Result<(Self, TaskSpec), EnvError> {
        check_frame_skip(config.frame_skip)?;
        let mut files = ASSETS.to_vec();
        files.push(config.physics.file());
        let model = cached_model(&files, T::SCENE, config.physics.name())?;
        let sim = Sim::new(&model);
        let ee_site = model.site("ee")?;
        let ee_target = model.body("ee_target")?;
        let home_qpos = home_qpos(&model, ee_target, T::SCENE, config.physics)?;
        let spec = T::spec(&config, model.timestep());
        let range = |name: &str| {
            spec.field_range(name)
                .unwrap_or_else(|| panic!("{}: '{name}' is not in the state schema", spec.name))
        };
        let observation = T::OBSERVATION
            .iter()
            .map(|(name, scaled)| (range(name), *scaled))
            .collect();
        let success_fields = T::SUCCESS_FIELDS.map(range);
        let arm = Self {
            sim,
            ee_site,
            ee_target,
            home_qpos,
            config,
            observation,
            success_fields,
        };
        Ok((arm, spec))
    }

    /// Puts the arm at home, at rest, with the target on the fingertips.
    fn reset(&mut self) {
        self.sim.reset();
        self.sim.qpos_mut().copy_from_slice(&self.home_qpos);
        self.sim.set_mocap_pose(self.ee_target, HOME_EE, TOOL_DOWN);
        self.sim.forward();
    }

    /// World position of the fingertips (the `ee` site).
    pub fn ee_pos(&self) -> [f64; 3] {
        self.sim.site_pos(self.ee_site)
    }

    /// World velocity of the fingertips.
    pub fn ee_vel(&self) -> [f64; 3] {
        self.sim.site_velocity(self.ee_site).linear
    }

    /// Seconds per action.
    pub fn control_dt(&self) -> f64 {
        self.config.frame_skip as f64 * self.sim.model().timestep()
    }

    /// The success metric's distance in a state laid out as the schema says.
    fn goal_distance(&self, state: &[f64]) -> f64 {
        let [a, b] = &self.success_fields;
        let (a, b) = (&state[a.clone()], &state[b.clone()]);
        a.iter()
            .zip(b)
            .map(|(x, y)| (x - y).powi(2))
            .sum::<f64>()
            .sqrt()
    }

    /// The action that moves the fingertips toward `target`, saturating at ±1.
    pub fn action_toward(&self, target: [f64; 3]) -> Vec<f64> {
        let ee = self.ee_pos();
        (0..3)
            .map(|i| ((target[i] - ee[i]) / self.config.action_scale).clamp(-1.0, 1.0))
            .collect()
    }
}

/// Success threshold shared by reach and push (panda_mujoco_gym: 0.05 m).
pub const SUCCESS_DISTANCE: f64 = 0.05;

/// The part of a Franka env beyond the arm: its scene, goal, state and scripted controller.
pub trait FrankaTask: Send + Sized {
    /// The embedded scene file.
    const SCENE: &'static str;

    /// The observation, as state fields in order; `true` marks velocities that are scaled by
    /// the control period, as panda_mujoco_gym does.
    const OBSERVATION: &'static [(&'static str, bool)];

    /// The two state fields whose distance is the success metric: success is a distance below
    /// [`SUCCESS_DISTANCE`], and the env's own reward is minus that distance.
    const SUCCESS_FIELDS: [&'static str; 2];

    /// Finds the task's objects in the loaded model.
    fn new(model: &Model) -> Result<Self, EnvError>;

    /// The task's spec under these settings and the model's physics timestep (s).
    fn spec(config: &FrankaConfig, physics_dt: f64) -> TaskSpec;

    /// Samples the task's randomized parts into the simulation; the arm is already at home.
    fn reset(&mut self, sim: &mut Sim, rng: &mut ChaCha8Rng);

    /// State fields in schema order.
    fn state(&self, arm: &Arm) -> Vec<f64>;

    fn scripted_action(&self, arm: &Arm) -> Vec<f64>;
}

/// A Franka env: the arm plus one task. Episodes end on success and are truncated after
/// `episode_steps` actions.
pub type FrankaEnv<T> = RobotEnv<Arm, T>;

impl<T: FrankaTask> FrankaEnv<T> {
    pub fn new(config: FrankaConfig) -> Result<Self, EnvError> {
        let (arm, spec) = Arm::new::<T>(config)?;
        let task = T::new(arm.sim.model())?;
        Ok(Self::from_parts(arm, task, spec))
    }

    /// The success metric's distance in a state laid out as the schema says.
    pub fn goal_distance(&self, state: &[f64]) -> f64 {
        self.robot.goal_distance(state)
    }

    /// The success metric on a state laid out as the schema says.
    pub fn is_success(&self, state: &[f64]) -> bool {
        self.goal_distance(state) < SUCCESS_DISTANCE
    }

    /// Observation and info of the current state.
    fn observe(&self) -> (Vec<f64>, Info) {
        let arm = &self.robot;
        let state = self.task.state(arm);
        let dt = arm.control_dt();
        let mut obs = Vec::with_capacity(self.spec.observation_space.flat_dim());
        for (range, scaled) in &arm.observation {
            let factor = if *scaled { dt } else { 1.0 };
            obs.extend(state[range.clone()].iter().map(|v| v * factor));
        }
        let distance = arm.goal_distance(&state);
        let mut info = Info::default();
        info.set("is_success", f64::from(distance < SUCCESS_DISTANCE));
        info.set("goal_distance", distance);
        (obs, info)
    }
}

impl Robot for Arm {
    fn sim(&self) -> &Sim {
        &self.sim
    }

    /// Moves the fingertip target by `action * action_scale` from where the fingertips are,
    /// inside the workspace, holds the gripper closed, and runs `frame_skip` physics steps.
    /// Elements are clipped to [-1, 1]; non-finite or missing ones count as 0.
    fn act(&mut self, action: &[f64]) {
        let action: [f64; 3] = unit_action(action);
        let ee = self.ee_pos();
        let target: [f64; 3] = std::array::from_fn(|i| {
            (ee[i] + action[i] * self.config.action_scale)
                .clamp(WORKSPACE_LOW[i], WORKSPACE_HIGH[i])
        });
        self.sim.set_mocap_pose(self.ee_target, target, TOOL_DOWN);
        self.sim.ctrl_mut().fill(0.0);
        self.sim.step(self.config.frame_skip);
    }

    fn sim_mut(&mut self) -> &mut Sim {
        &mut self.sim
    }
}

impl<T: FrankaTask> Family<T> for Arm {
    fn start(env: &mut FrankaEnv<T>) -> (Vec<f64>, Info) {
        env.robot.reset();
        env.task.reset(&mut env.robot.sim, &mut env.rng);
        env.robot.sim.forward();
        env.observe()
    }

    fn outcome(env: &mut FrankaEnv<T>) -> Step {
        let (obs, info) = env.observe();
        let success = info.is_success();
        Step {
            obs,
            reward: -info.get("goal_distance").unwrap_or(0.0),
            terminated: success,
            truncated: env.truncates(success),
            info,
        }
    }

    fn state(env: &FrankaEnv<T>) -> Vec<f64> {
        env.task.state(&env.robot)
    }

    fn scripted_action(env: &FrankaEnv<T>) -> Option<Vec<f64>> {
        Some(env.task.scripted_action(&env.robot))
    }
}

fn control_text(config: &FrankaConfig, physics_dt: f64) -> String {
    format!(
        "3-D fingertip displacement: an action in [-1, 1]^3 moves the fingertip target by up to \
         {} m per axis per step through a mocap weld on the hand; the gripper is held closed. \
         {} physics steps of {} ms per action ({:.0} Hz). panda_mujoco_gym runs at 2 Hz; the \
         faster default keeps on-policy training affordable on a CPU.",
        config.action_scale,
        config.frame_skip,
        physics_dt * 1000.0,
        1.0 / (config.frame_skip as f64 * physics_dt)
    )
}
