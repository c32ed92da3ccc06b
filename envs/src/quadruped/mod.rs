//! What every quadruped task shares: the embedded Go1-sized robot, joint-position control
//! around its standing pose, the state every task reports, fall detection and the settings in
//! [`QuadrupedConfig`]. Each task is one file beside this one.

mod stand;
mod turn;
mod walk;

pub use stand::Stand;
pub use turn::Turn;
pub use walk::Walk;

use crate::assets::cached_model;
use crate::math::quat_to_euler;
use crate::{EnvError, EnvOptions, Fitness, StateField, TaskEnv, TaskSpec, check_frame_skip};
use rand::RngExt;
use rand_chacha::ChaCha8Rng;
use rl_env::{Env, Info, Space, Step, seeded_rng};
use sim::Sim;

/// `quadruped-walk`: trot forward at a commanded speed.
pub type QuadrupedWalk = QuadrupedEnv<Walk>;
/// `quadruped-turn`: turn in place at a commanded yaw rate.
pub type QuadrupedTurn = QuadrupedEnv<Turn>;
/// `quadruped-stand`: rear up and balance on the hind legs.
pub type QuadrupedStand = QuadrupedEnv<Stand>;

/// The quadruped model files, embedded so that the binary needs no asset folder.
const ASSETS: [(&str, &str); 2] = [
    ("go1.xml", include_str!("../../../assets/quadruped/go1.xml")),
    (
        "scene.xml",
        include_str!("../../../assets/quadruped/scene.xml"),
    ),
];
const SCENE: &str = "scene.xml";

/// Legs in the order of every per-leg field.
pub const LEGS: [&str; 4] = ["FL", "FR", "RL", "RR"];
/// Joints of one leg, in the order of every per-joint field.
pub const LEG_JOINTS: [&str; 3] = ["hip", "thigh", "calf"];
/// Actuated joints: 4 legs × 3.
pub const NUM_JOINTS: usize = 12;

/// Physics steps of 4 ms per action: 50 Hz control, the rate of most legged-robot RL work.
pub const DEFAULT_FRAME_SKIP: usize = 5;
/// Actions per episode before truncation: 10 s at 50 Hz, short enough for PPO on a CPU.
pub const EPISODE_STEPS: usize = 500;
/// Reset noise: each joint starts up to this many radians from the standing pose.
pub const JOINT_NOISE: f64 = 0.1;
/// The robot has fallen when the torso centre is lower than this (m); it stands at about
/// 0.26 m.
pub const FALL_HEIGHT: f64 = 0.15;
/// A walking or turning robot has fallen when the torso's up axis is tilted further than this
/// from the vertical (rad); a rearing one when it rolls or pitches nose down further.
pub const FALL_TILT: f64 = 1.0;
/// A foot is in contact when its touch sensor reads more than this normal force (N).
pub const CONTACT_FORCE: f64 = 1.0;

/// Settings shared by the quadruped tasks.
#[derive(Debug, Clone, PartialEq)]
pub struct QuadrupedConfig {
    /// Physics steps of 4 ms per action (default [`DEFAULT_FRAME_SKIP`], 50 Hz).
    pub frame_skip: usize,
    /// Actions per episode before truncation (default [`EPISODE_STEPS`]).
    pub episode_steps: usize,
    /// Radians of joint-target offset from the standing pose for an action of ±1; each task
    /// has its own default ([`QuadrupedTask::ACTION_SCALE`]).
    pub action_scale: f64,
}

impl QuadrupedConfig {
    /// The defaults for task `T`, with their reasons in the field docs.
    pub fn default_for<T: QuadrupedTask>() -> Self {
        Self {
            frame_skip: DEFAULT_FRAME_SKIP,
            episode_steps: EPISODE_STEPS,
            action_scale: T::ACTION_SCALE,
        }
    }

    /// The defaults for task `T` with the generic env options applied.
    pub fn from_options<T: QuadrupedTask>(options: &EnvOptions) -> Self {
        let mut config = Self::default_for::<T>();
        if let Some(frame_skip) = options.frame_skip {
            config.frame_skip = frame_skip;
        }
        config
    }

    fn validate(&self) -> Result<(), EnvError> {
        check_frame_skip(self.frame_skip)?;
        if self.episode_steps == 0 {
            return Err(EnvError::InvalidOption(
                "episode_steps must be at least 1".into(),
            ));
        }
        if !(self.action_scale.is_finite() && self.action_scale > 0.0) {
            return Err(EnvError::InvalidOption(format!(
                "action_scale must be a positive number of radians, not {}",
                self.action_scale
            )));
        }
        Ok(())
    }
}

/// Sensor addresses of the torso IMU.
struct Imu {
    quat: usize,
    gyro: usize,
    velocimeter: usize,
}

/// The Go1-sized robot on its floor, controlled by joint-position targets around the standing
/// pose.
pub struct Robot {
    sim: Sim,
    config: QuadrupedConfig,
    torso: usize,
    /// `qpos` address of the torso's free joint.
    root: usize,
    imu: Imu,
    qpos: [usize; NUM_JOINTS],
    dofs: [usize; NUM_JOINTS],
    actuators: [usize; NUM_JOINTS],
    ctrl_ranges: [[f64; 2]; NUM_JOINTS],
    feet: [usize; 4],
    touch: [usize; 4],
    floor: usize,
    hind_foot_geoms: [usize; 2],
    foot_radius: f64,
    /// The "home" keyframe's qpos: the standing pose.
    home_qpos: Vec<f64>,
    home_joints: [f64; NUM_JOINTS],
    prev_action: [f64; NUM_JOINTS],
}

/// `"FL_hip"`, `"FL_thigh"`, ..., in field order.
fn joint_names() -> impl Iterator<Item = String> {
    LEGS.iter()
        .flat_map(|leg| LEG_JOINTS.iter().map(move |joint| format!("{leg}_{joint}")))
}

fn lookup<const N: usize>(
    names: impl Iterator<Item = String>,
    mut find: impl FnMut(&str) -> Result<usize, sim::SimError>,
) -> Result<[usize; N], EnvError> {
    let mut ids = [0; N];
    for (id, name) in ids.iter_mut().zip(names) {
        *id = find(&name)?;
    }
    Ok(ids)
}

impl Robot {
    fn new(config: QuadrupedConfig) -> Result<Self, EnvError> {
        config.validate()?;
        let model = cached_model(&ASSETS, SCENE, "")?;
        let raw = model.raw();
        let sensor = |name: &str| -> Result<usize, EnvError> {
            Ok(raw.sensor_adr()[model.sensor(name)?] as usize)
        };
        let joints: [usize; NUM_JOINTS] = lookup(joint_names(), |n| model.joint(n))?;
        let actuators: [usize; NUM_JOINTS] = lookup(joint_names(), |n| model.actuator(n))?;
        let feet: [usize; 4] = lookup(LEGS.iter().map(|l| format!("{l}_foot")), |n| model.site(n))?;
        let touch = lookup(LEGS.iter().map(|l| format!("{l}_touch")), |n| {
            model.sensor(n)
        })?
        .map(|id| raw.sensor_adr()[id] as usize);
        let foot_radius = raw.geom_size()[model.geom("FL_foot")?][0];
        let floor = model.geom("floor")?;
        let hind_foot_geoms = [model.geom("RL_foot")?, model.geom("RR_foot")?];
        let nq = model.nq();
        let home_qpos = raw
            .key_qpos()
            .get(..nq)
            .ok_or_else(|| sim::SimError::Load {
                source_name: SCENE.into(),
                message: "the model has no keyframe with the standing pose".into(),
            })?
            .to_vec();
        let qpos = joints.map(|j| model.joint_qpos_address(j));
        let all_ranges = model.ctrl_ranges();
        Ok(Self {
            config,
            torso: model.body("torso")?,
            root: model.joint_qpos_address(model.joint("root")?),
            imu: Imu {
                quat: sensor("torso_quat")?,
                gyro: sensor("torso_gyro")?,
                velocimeter: sensor("torso_velocimeter")?,
            },
            qpos,
            dofs: joints.map(|j| model.joint_dof_address(j)),
            actuators,
            ctrl_ranges: actuators.map(|a| all_ranges[a]),
            feet,
            touch,
            floor,
            hind_foot_geoms,
            foot_radius,
            home_joints: qpos.map(|a| home_qpos[a]),
            home_qpos,
            prev_action: [0.0; NUM_JOINTS],
            sim: Sim::new(&model),
        })
    }

    /// The standing pose with each joint moved by up to [`JOINT_NOISE`], at rest, lowered until
    /// the lowest foot touches the floor; the servos hold the standing pose.
    fn reset(&mut self, rng: &mut ChaCha8Rng) {
        self.sim.reset();
        self.sim.qpos_mut().copy_from_slice(&self.home_qpos);
        for (i, &address) in self.qpos.iter().enumerate() {
            let [low, high] = self.ctrl_ranges[i];
            let angle = self.home_joints[i] + rng.random_range(-JOINT_NOISE..=JOINT_NOISE);
            self.sim.qpos_mut()[address] = angle.clamp(low, high);
        }
        self.sim.forward();
        let lowest = self.foot_height().into_iter().fold(f64::INFINITY, f64::min);
        self.sim.qpos_mut()[self.root + 2] -= lowest;
        self.prev_action = [0.0; NUM_JOINTS];
        self.set_targets(&[0.0; NUM_JOINTS]);
        self.sim.forward();
    }

    /// Sets every servo target to the standing pose plus `action * action_scale`, within the
    /// joint ranges.
    fn set_targets(&mut self, action: &[f64; NUM_JOINTS]) {
        for (i, a) in action.iter().enumerate() {
            let [low, high] = self.ctrl_ranges[i];
            let target = self.home_joints[i] + a * self.config.action_scale;
            self.sim.ctrl_mut()[self.actuators[i]] = target.clamp(low, high);
        }
    }

    /// Applies an action and runs `frame_skip` physics steps. Elements are clipped to
    /// [-1, 1]; non-finite or missing ones count as 0.
    fn act(&mut self, action: &[f64]) {
        let action: [f64; NUM_JOINTS] = std::array::from_fn(|i| {
            action
                .get(i)
                .copied()
                .filter(|a| a.is_finite())
                .unwrap_or(0.0)
                .clamp(-1.0, 1.0)
        });
        self.set_targets(&action);
        self.sim.step(self.config.frame_skip);
        self.prev_action = action;
    }

    /// The action whose targets are the standing pose plus `offsets` (rad), saturating at ±1.
    pub fn action_for_offsets(&self, offsets: &[f64; NUM_JOINTS]) -> Vec<f64> {
        offsets
            .iter()
            .map(|o| (o / self.config.action_scale).clamp(-1.0, 1.0))
            .collect()
    }

    fn sensor<const N: usize>(&self, address: usize) -> [f64; N] {
        std::array::from_fn(|i| self.sim.raw().sensordata()[address + i])
    }

    /// Seconds per action.
    pub fn control_dt(&self) -> f64 {
        self.config.frame_skip as f64 * self.sim.model().timestep()
    }

    /// World position of the torso centre.
    pub fn torso_pos(&self) -> [f64; 3] {
        self.sim.body_pos(self.torso)
    }

    /// Torso orientation `[w, x, y, z]` from the IMU.
    pub fn torso_quat(&self) -> [f64; 4] {
        self.sensor(self.imu.quat)
    }

    /// Torso linear velocity in the torso frame.
    pub fn torso_linvel(&self) -> [f64; 3] {
        self.sensor(self.imu.velocimeter)
    }

    /// Torso angular velocity in the torso frame.
    pub fn torso_angvel(&self) -> [f64; 3] {
        self.sensor(self.imu.gyro)
    }

    /// The unit gravity direction in the torso frame: `[0, 0, -1]` when level.
    pub fn projected_gravity(&self) -> [f64; 3] {
        let [w, x, y, z] = self.torso_quat();
        [
            -2.0 * (x * z - w * y),
            -2.0 * (y * z + w * x),
            -(1.0 - 2.0 * (x * x + y * y)),
        ]
    }

    /// Joint angles in field order.
    pub fn joint_pos(&self) -> [f64; NUM_JOINTS] {
        self.qpos.map(|a| self.sim.qpos()[a])
    }

    /// Joint velocities in field order.
    pub fn joint_vel(&self) -> [f64; NUM_JOINTS] {
        self.dofs.map(|a| self.sim.qvel()[a])
    }

    /// Servo torques in field order.
    pub fn joint_torque(&self) -> [f64; NUM_JOINTS] {
        self.actuators.map(|a| self.sim.raw().actuator_force()[a])
    }

    /// 1 for each foot pressing on the floor with more than [`CONTACT_FORCE`].
    pub fn foot_contact(&self) -> [f64; 4] {
        self.touch
            .map(|a| f64::from(self.sim.raw().sensordata()[a] > CONTACT_FORCE))
    }

    /// Whether the hind feet are the only parts of the robot touching the floor, and at least
    /// one of them does.
    pub fn only_hind_feet_on_floor(&self) -> bool {
        let mut any = false;
        for geom in self.sim.touching(self.floor) {
            if !self.hind_foot_geoms.contains(&geom) {
                return false;
            }
            any = true;
        }
        any
    }

    /// Height of the bottom of each foot above the floor.
    pub fn foot_height(&self) -> [f64; 4] {
        self.feet
            .map(|site| self.sim.site_pos(site)[2] - self.foot_radius)
    }

    /// The previous action, as applied (clipped).
    pub fn prev_action(&self) -> &[f64; NUM_JOINTS] {
        &self.prev_action
    }

    /// The standing pose's joint angles.
    pub fn home_joints(&self) -> &[f64; NUM_JOINTS] {
        &self.home_joints
    }

    /// The robot's part of the state, in the order of [`robot_fields`].
    fn state(&self, out: &mut Vec<f64>) {
        let pos = self.torso_pos();
        let quat = self.torso_quat();
        out.extend(pos);
        out.push(pos[2]);
        out.extend(quat);
        out.extend(quat_to_euler(quat));
        out.extend(self.torso_linvel());
        out.extend(self.torso_angvel());
        out.extend(self.projected_gravity());
        out.extend(self.joint_pos());
        out.extend(self.joint_vel());
        out.extend(self.joint_torque());
        out.extend(self.foot_contact());
        out.extend(self.foot_height());
    }
}

/// The state fields every quadruped task reports, in order.
fn robot_fields() -> Vec<StateField> {
    let joints = [NUM_JOINTS];
    let legs = [4];
    let joint_order = "Joint order: legs FL, FR, RL, RR (front/rear, left/right), each hip \
                       abduction, thigh, calf.";
    vec![
        StateField::new(
            "torso_pos",
            &[3],
            "m",
            "world",
            "Torso centre position; the floor is z = 0 and the robot starts at the origin facing +x.",
        ),
        StateField::new(
            "torso_height",
            &[],
            "m",
            "world",
            "Torso centre height above the floor (torso_pos z); about 0.26 when standing.",
        ),
        StateField::new(
            "torso_quat",
            &[4],
            "unit quaternion [w, x, y, z]",
            "world",
            "Torso orientation.",
        ),
        StateField::new(
            "torso_rpy",
            &[3],
            "rad",
            "world",
            "Torso roll, pitch and yaw; positive pitch is nose down.",
        ),
        StateField::new(
            "torso_linvel",
            &[3],
            "m/s",
            "torso",
            "Torso linear velocity: x forward, y left, z up of the torso.",
        ),
        StateField::new(
            "torso_angvel",
            &[3],
            "rad/s",
            "torso",
            "Torso angular velocity: x roll rate, y pitch rate, z yaw rate (positive turns left).",
        ),
        StateField::new(
            "projected_gravity",
            &[3],
            "unit vector",
            "torso",
            "Direction of gravity seen from the torso: [0, 0, -1] when level; x < 0 when the \
             nose points up.",
        ),
        StateField::new(
            "joint_pos",
            &joints,
            "rad",
            "joint space",
            &format!(
                "Joint angles; the standing pose is hip 0, thigh 0.9, calf -1.8 on every leg. \
                 A larger thigh angle swings the foot backwards. {joint_order}"
            ),
        ),
        StateField::new(
            "joint_vel",
            &joints,
            "rad/s",
            "joint space",
            &format!("Joint angular velocities. {joint_order}"),
        ),
        StateField::new(
            "joint_torque",
            &joints,
            "N m",
            "joint space",
            &format!("Motor torques; limits 23.7 (hip, thigh) and 35.55 (calf). {joint_order}"),
        ),
        StateField::new(
            "foot_contact",
            &legs,
            "0 or 1",
            "-",
            "1 for each foot (FL, FR, RL, RR) pressing on the floor.",
        ),
        StateField::new(
            "foot_height",
            &legs,
            "m",
            "world",
            "Height of the bottom of each foot (FL, FR, RL, RR) above the floor; 0 on the floor.",
        ),
    ]
}

/// Mean of the values pushed so far; 0 before the first.
#[derive(Debug, Clone, Copy, Default)]
pub struct RunningMean {
    sum: f64,
    count: usize,
}

impl RunningMean {
    pub fn push(&mut self, value: f64) {
        self.sum += value;
        self.count += 1;
    }

    pub fn mean(&self) -> f64 {
        if self.count == 0 {
            0.0
        } else {
            self.sum / self.count as f64
        }
    }

    pub fn is_empty(&self) -> bool {
        self.count == 0
    }
}

/// The part of a quadruped env beyond the robot: its command, episode metrics, reward and
/// scripted controller.
pub trait QuadrupedTask: Send + Sized {
    /// The registered env name.
    const NAME: &'static str;
    /// Default radians of joint-target offset for an action of ±1.
    const ACTION_SCALE: f64;

    /// A task at its first episode's defaults.
    fn new() -> Self;

    /// The command's state field (always named `command`), or `None` for a task without one.
    /// The observation ends with it.
    fn command_field() -> Option<StateField>;

    /// The episode's command, as many values as [`Self::command_field`] has.
    fn command(&self) -> &[f64];

    /// What `reset` samples beyond the robot's pose, with ranges.
    fn reset_text() -> String;

    fn task_text() -> String;

    fn success_metric() -> String;

    /// The per-episode measure a trained policy is scored by.
    fn fitness() -> Fitness;

    /// Starts an episode: samples the command and clears the episode metrics. The robot is
    /// already at its start pose.
    fn reset(&mut self, robot: &Robot, rng: &mut ChaCha8Rng);

    /// Updates the episode metrics after a step and returns the built-in reward.
    fn record(&mut self, robot: &Robot) -> f64;

    /// Writes `is_success` and the task's episode metrics, judged on the episode so far.
    fn report(&self, fell: bool, info: &mut Info);

    /// Whether the robot has fallen, which ends the episode, from the torso centre's height
    /// (m) and the unit gravity direction in the torso frame (`[0, 0, -1]` when level). The
    /// gait tasks' rule: the torso centre below [`FALL_HEIGHT`] or its up axis tilted more than
    /// [`FALL_TILT`] from the vertical. Non-finite values count as a fall.
    fn has_fallen(torso_height: f64, projected_gravity: [f64; 3]) -> bool {
        !(FALL_HEIGHT..f64::INFINITY).contains(&torso_height)
            || !(FALL_TILT.cos()..).contains(&-projected_gravity[2])
    }

    /// The scripted controller's action at `time` seconds into the episode, if the task has one.
    fn scripted_action(&self, _robot: &Robot, _time: f64) -> Option<Vec<f64>> {
        None
    }
}

/// Observation elements before the command.
const ROBOT_OBSERVATION: usize = 3 + 3 + 3 + 3 * NUM_JOINTS;

/// A quadruped env: the robot plus one task. Episodes end on a fall and are truncated after
/// `episode_steps` actions.
pub struct QuadrupedEnv<T> {
    robot: Robot,
    task: T,
    rng: ChaCha8Rng,
    steps: usize,
    spec: TaskSpec,
}

impl<T: QuadrupedTask> QuadrupedEnv<T> {
    pub fn new(config: QuadrupedConfig) -> Result<Self, EnvError> {
        let robot = Robot::new(config)?;
        let spec = spec::<T>(&robot);
        Ok(Self {
            robot,
            task: T::new(),
            rng: seeded_rng(0),
            steps: 0,
            spec,
        })
    }

    /// The env with its defaults and the generic options applied.
    pub fn from_options(options: &EnvOptions) -> Result<Self, EnvError> {
        Self::new(QuadrupedConfig::from_options::<T>(options))
    }

    /// The task's fall rule on a torso height (m) and the unit gravity direction in the torso
    /// frame (`[0, 0, -1]` when level).
    pub fn has_fallen(torso_height: f64, projected_gravity: [f64; 3]) -> bool {
        T::has_fallen(torso_height, projected_gravity)
    }

    /// Whether the robot has fallen in the current state, which ends the episode.
    pub fn fallen(&self) -> bool {
        T::has_fallen(self.robot.torso_pos()[2], self.robot.projected_gravity())
    }

    fn observe(&self) -> Vec<f64> {
        let robot = &self.robot;
        let mut obs = Vec::with_capacity(self.spec.observation_space.flat_dim());
        obs.extend(robot.torso_linvel());
        obs.extend(robot.torso_angvel());
        obs.extend(robot.projected_gravity());
        let home = robot.home_joints();
        obs.extend(robot.joint_pos().iter().zip(home).map(|(q, h)| q - h));
        obs.extend(robot.joint_vel());
        obs.extend(robot.prev_action());
        obs.extend(self.task.command());
        obs
    }

    fn info(&self, fell: bool) -> Info {
        let mut info = Info::default();
        self.task.report(fell, &mut info);
        info.set("fell", f64::from(fell));
        info
    }
}

impl<T> QuadrupedEnv<T> {
    /// Applies an action to the physics alone, without state, observation, reward or fall
    /// check: what `step` costs below the env layer, for benchmarks.
    pub fn apply_action(&mut self, action: &[f64]) {
        self.robot.act(action);
    }

    /// The simulation, for tests and viewers.
    pub fn sim(&self) -> &Sim {
        &self.robot.sim
    }

    /// The simulation, for tests that craft a state; call [`Sim::forward`] after editing it.
    pub fn sim_mut(&mut self) -> &mut Sim {
        &mut self.robot.sim
    }
}

fn spec<T: QuadrupedTask>(robot: &Robot) -> TaskSpec {
    let config = &robot.config;
    let physics_dt = robot.sim.model().timestep();
    let mut state_schema = robot_fields();
    let mut observation_layout = "torso linear velocity (3, m/s, torso frame), torso angular \
                                  velocity (3, rad/s, torso frame), projected gravity (3), joint \
                                  angles minus the standing pose (12, rad), joint velocities (12, \
                                  rad/s), previous action (12)"
        .to_string();
    let mut observation_len = ROBOT_OBSERVATION;
    if let Some(command) = T::command_field() {
        observation_len += command.len();
        observation_layout.push_str(&format!(", command ({})", command.description));
        state_schema.push(command);
    }
    TaskSpec {
        name: T::NAME.into(),
        model: "assets/quadruped/scene.xml: a Unitree Go1-sized quadruped (13.1 kg, torso 0.376 x \
                0.094 x 0.114 m, thigh and calf 0.213 m, 12 position-servoed joints) on a flat \
                floor with friction 1"
            .into(),
        control: format!(
            "12 joint-position targets: an action in [-1, 1]^12 sets each servo's target to the \
             standing pose (hip 0, thigh 0.9, calf -1.8 rad) plus action x {} rad, within the \
             joint range; servos kp 60 N m/rad, kv 1.5 N m s/rad, torque limits 23.7 N m (hip, \
             thigh) and 35.55 N m (calf). Joint order FL, FR, RL, RR legs, each hip abduction, \
             thigh, calf. {} physics steps of {} s per action ({:.0} Hz). Non-finite action \
             elements count as 0.",
            config.action_scale,
            config.frame_skip,
            physics_dt,
            1.0 / (config.frame_skip as f64 * physics_dt)
        ),
        frame_skip: config.frame_skip,
        physics_dt,
        observation_space: Space::uniform_box(&[observation_len], f64::NEG_INFINITY, f64::INFINITY),
        observation_layout,
        action_space: Space::uniform_box(&[NUM_JOINTS], -1.0, 1.0),
        reset_randomization: format!(
            "robot at the origin facing +x in the standing pose, each joint moved by uniform \
             noise of up to {JOINT_NOISE} rad, lowered until the lowest foot touches the floor, \
             at rest; {}",
            T::reset_text()
        ),
        episode_steps: config.episode_steps,
        state_schema,
        task_text: T::task_text(),
        success_metric: T::success_metric(),
        fitness: T::fitness(),
    }
}

impl<T: QuadrupedTask> Env for QuadrupedEnv<T> {
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
        self.robot.reset(&mut self.rng);
        self.task.reset(&self.robot, &mut self.rng);
        self.steps = 0;
        (self.observe(), self.info(false))
    }

    fn step(&mut self, action: &[f64]) -> Step {
        self.robot.act(action);
        self.steps += 1;
        let fell = self.fallen();
        let reward = self.task.record(&self.robot);
        Step {
            obs: self.observe(),
            reward: if reward.is_finite() { reward } else { 0.0 },
            terminated: fell,
            truncated: !fell && self.steps >= self.spec.episode_steps,
            info: self.info(fell),
        }
    }
}

impl<T: QuadrupedTask> TaskEnv for QuadrupedEnv<T> {
    fn spec(&self) -> &TaskSpec {
        &self.spec
    }

    fn state(&self) -> Vec<f64> {
        let mut state = Vec::with_capacity(self.spec.state_len());
        self.robot.state(&mut state);
        state.extend(self.task.command());
        state
    }

    fn scripted_action(&self) -> Option<Vec<f64>> {
        let time = self.steps as f64 * self.robot.control_dt();
        self.task.scripted_action(&self.robot, time)
    }

    fn sim(&self) -> Option<&Sim> {
        Some(&self.robot.sim)
    }
}
