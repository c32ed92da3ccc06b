//! The quadruped env glue: the settings in [`QuadrupedConfig`], the task trait with its fall
//! rule, and the env that runs a task on the Go1-sized robot ([`robot`], its constants in
//! [`constants`]). Each task is one file beside this one.

mod constants;
mod robot;
mod stand;
mod turn;
mod walk;

pub use stand::Stand;
pub use turn::Turn;
pub use walk::Walk;

use crate::robot::{Family, RobotEnv};
use crate::{EnvError, EnvOptions, Fitness, StateField, TaskSpec, check_frame_skip};
use constants::{
    DEFAULT_FRAME_SKIP, EPISODE_STEPS, FALL_HEIGHT, FALL_TILT, JOINT_NOISE, NUM_JOINTS,
};
use rand_chacha::ChaCha8Rng;
use rl_env::{Info, Space, Step};
use robot::{Go1, robot_fields};

/// `quadruped-walk`: trot forward at a commanded speed.
pub type QuadrupedWalk = QuadrupedEnv<Walk>;
/// `quadruped-turn`: turn in place at a commanded yaw rate.
pub type QuadrupedTurn = QuadrupedEnv<Turn>;
/// `quadruped-stand`: rear up and balance on the hind legs.
pub type QuadrupedStand = QuadrupedEnv<Stand>;

/// Settings shared by the quadruped tasks.
#[derive(Debug, Clone, PartialEq)]
pub struct QuadrupedConfig {
    /// Physics steps per action (default [`DEFAULT_FRAME_SKIP`], 50 Hz).
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
    fn reset(&mut self, robot: &Go1, rng: &mut ChaCha8Rng);

    /// Updates the episode metrics after a step and returns the built-in reward.
    fn record(&mut self, robot: &Go1) -> f64;

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
    fn scripted_action(&self, _robot: &Go1, _time: f64) -> Option<Vec<f64>> {
        None
    }
}

/// Observation elements before the command.
const ROBOT_OBSERVATION: usize = 3 + 3 + 3 + 3 * NUM_JOINTS;

/// A quadruped env: the robot plus one task. Episodes end on a fall and are truncated after
/// `episode_steps` actions.
pub type QuadrupedEnv<T> = RobotEnv<Go1, T>;

impl<T: QuadrupedTask> QuadrupedEnv<T> {
    pub fn new(config: QuadrupedConfig) -> Result<Self, EnvError> {
        let robot = Go1::new(config)?;
        let spec = spec::<T>(&robot);
        Ok(Self::from_parts(robot, T::new(), spec))
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

fn spec<T: QuadrupedTask>(robot: &Go1) -> TaskSpec {
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

impl<T: QuadrupedTask> Family<T> for Go1 {
    fn start(env: &mut QuadrupedEnv<T>) -> (Vec<f64>, Info) {
        env.robot.reset(&mut env.rng);
        env.task.reset(&env.robot, &mut env.rng);
        (env.observe(), env.info(false))
    }

    fn outcome(env: &mut QuadrupedEnv<T>) -> Step {
        let fell = env.fallen();
        let reward = env.task.record(&env.robot);
        Step {
            obs: env.observe(),
            reward: if reward.is_finite() { reward } else { 0.0 },
            terminated: fell,
            truncated: env.truncates(fell),
            info: env.info(fell),
        }
    }

    fn state(env: &QuadrupedEnv<T>) -> Vec<f64> {
        let mut state = Vec::with_capacity(env.spec.state_len());
        env.robot.state(&mut state);
        state.extend(env.task.command());
        state
    }

    fn scripted_action(env: &QuadrupedEnv<T>) -> Option<Vec<f64>> {
        let time = env.steps as f64 * env.robot.control_dt();
        env.task.scripted_action(&env.robot, time)
    }
}
