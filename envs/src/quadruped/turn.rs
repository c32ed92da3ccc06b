//! `quadruped-turn`: turn on the spot at a commanded yaw rate.

use super::{Go1, QuadrupedTask, RunningMean};
use crate::{Fitness, StateField};
use rand::RngExt;
use rand_chacha::ChaCha8Rng;
use rl_env::Info;

/// Range of the commanded yaw rate's magnitude, rad/s; its sign is left or right with equal
/// probability, sampled per episode.
pub const TURN_RATE_RANGE: [f64; 2] = [0.5, 1.5];
/// Success: the episode's mean |yaw rate - command| below this, rad/s...
pub const TURN_TOLERANCE: f64 = 0.3;
/// ...and the torso centre no further than this from where it started, m, without a fall.
pub const TURN_MAX_DRIFT: f64 = 0.5;
/// Width of the built-in reward's bells, in (rad/s)^2 and (m/s)^2.
const REWARD_WIDTH: f64 = 0.25;

/// The turn task's command and episode metrics.
pub struct Turn {
    command: [f64; 1],
    start: [f64; 2],
    tracking_error: RunningMean,
    drift: f64,
}

impl QuadrupedTask for Turn {
    const NAME: &'static str = "quadruped-turn";
    const ACTION_SCALE: f64 = 0.4;

    fn new() -> Self {
        Self {
            command: [TURN_RATE_RANGE[0]],
            start: [0.0; 2],
            tracking_error: RunningMean::default(),
            drift: 0.0,
        }
    }

    fn command_field() -> Option<StateField> {
        Some(StateField::new(
            "command",
            &[],
            "rad/s",
            "torso",
            "Commanded yaw rate: the target for torso_angvel z (positive turns left), fixed for \
             the episode.",
        ))
    }

    fn command(&self) -> &[f64] {
        &self.command
    }

    fn reset_text() -> String {
        format!(
            "commanded yaw rate of magnitude uniform in [{}, {}] rad/s, turning left or right \
             with equal probability",
            TURN_RATE_RANGE[0], TURN_RATE_RANGE[1]
        )
    }

    fn task_text() -> String {
        "Turn on the spot at the commanded yaw rate `command` in rad/s (positive turns left), \
         staying close to where the episode started and without falling. The robot is a \
         12-joint quadruped standing on a flat floor at the origin. The episode ends early if \
         the torso centre drops below 0.15 m or the torso tilts more than 1 rad from upright."
            .into()
    }

    fn fitness() -> Fitness {
        Fitness::error("tracking_error")
    }

    fn success_metric() -> String {
        format!(
            "fitness: tracking_error + drift, lower is better, where tracking_error = mean over \
             the episode's steps of |torso_angvel z - command| in rad/s and drift = horizontal \
             distance in m of the torso centre from its start; success when tracking_error < \
             {TURN_TOLERANCE} rad/s, drift < {TURN_MAX_DRIFT} m and the robot has not fallen"
        )
    }

    fn reset(&mut self, robot: &Go1, rng: &mut ChaCha8Rng) {
        let rate = rng.random_range(TURN_RATE_RANGE[0]..=TURN_RATE_RANGE[1]);
        self.command = [if rng.random_bool(0.5) { rate } else { -rate }];
        let [x, y, _] = robot.torso_pos();
        self.start = [x, y];
        self.tracking_error = RunningMean::default();
        self.drift = 0.0;
    }

    fn record(&mut self, robot: &Go1) -> f64 {
        let error = robot.torso_angvel()[2] - self.command[0];
        self.tracking_error.push(error.abs());
        let [x, y, _] = robot.torso_pos();
        self.drift = (x - self.start[0]).hypot(y - self.start[1]);
        let [vx, vy, _] = robot.torso_linvel();
        (-(error * error + vx * vx + vy * vy) / REWARD_WIDTH).exp()
    }

    fn report(&self, fell: bool, info: &mut Info) {
        let error = self.tracking_error.mean();
        let success = !fell
            && !self.tracking_error.is_empty()
            && error < TURN_TOLERANCE
            && self.drift < TURN_MAX_DRIFT;
        info.set("is_success", f64::from(success));
        info.set("tracking_error", error);
        info.set("drift", self.drift);
    }
}
