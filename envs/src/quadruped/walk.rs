//! `quadruped-walk`: walk forward at a commanded speed.

use super::{Go1, NUM_JOINTS, QuadrupedTask, RunningMean};
use crate::{Fitness, StateField};
use rand::RngExt;
use rand_chacha::ChaCha8Rng;
use rl_env::Info;
use std::f64::consts::{PI, TAU};

/// Range of the commanded forward speed, m/s, sampled uniformly per episode.
pub const WALK_SPEED_RANGE: [f64; 2] = [0.3, 1.0];
/// Success: the episode's mean |forward speed - command| below this, m/s, without a fall.
pub const WALK_TOLERANCE: f64 = 0.25;
/// Width of the built-in reward's bell: exp(-(v_x - command)^2 / this).
const REWARD_WIDTH: f64 = 0.25;

/// Trot frequency of the scripted controller, Hz.
const TROT_FREQUENCY: f64 = 3.0;
/// Extra calf bend at mid-swing, rad, which lifts the swinging foot.
const TROT_LIFT: f64 = 0.4;
/// Thigh swing amplitude of the scripted trot, rad (the foot sweeps back and forth by twice
/// this about the standing pose), for a commanded speed `v`: `(v + OFFSET) / GAIN`, a line
/// fitted to the speeds this trot reaches on this model (0.24 m/s at 0.15 rad, 0.97 m/s at
/// 0.4 rad), within `TROT_STRIDE_RANGE`.
const TROT_STRIDE_GAIN: f64 = 2.6;
const TROT_STRIDE_OFFSET: f64 = 0.15;
const TROT_STRIDE_RANGE: [f64; 2] = [0.1, 0.4];

/// The walk task's command and episode metrics.
pub struct Walk {
    command: [f64; 1],
    tracking_error: RunningMean,
    forward_velocity: RunningMean,
}

impl QuadrupedTask for Walk {
    const NAME: &'static str = "quadruped-walk";
    const ACTION_SCALE: f64 = 0.4;

    fn new() -> Self {
        Self {
            command: [WALK_SPEED_RANGE[0]],
            tracking_error: RunningMean::default(),
            forward_velocity: RunningMean::default(),
        }
    }

    fn command_field() -> Option<StateField> {
        Some(StateField::new(
            "command",
            &[],
            "m/s",
            "torso",
            "Commanded forward speed: the target for torso_linvel x, fixed for the episode.",
        ))
    }

    fn command(&self) -> &[f64] {
        &self.command
    }

    fn reset_text() -> String {
        format!(
            "commanded forward speed uniform in [{}, {}] m/s",
            WALK_SPEED_RANGE[0], WALK_SPEED_RANGE[1]
        )
    }

    fn task_text() -> String {
        "Walk forward, in the direction the torso faces (its x axis), at the commanded speed \
         `command` in m/s, without falling. The robot is a 12-joint quadruped standing on a flat \
         floor. The episode ends early if the torso centre drops below 0.15 m or the torso tilts \
         more than 1 rad from upright."
            .into()
    }

    fn fitness() -> Fitness {
        Fitness::error("tracking_error")
    }

    fn success_metric() -> String {
        format!(
            "fitness: tracking_error = mean over the episode's steps of |torso_linvel x - \
             command| in m/s, lower is better; success when tracking_error < {WALK_TOLERANCE} \
             m/s and the robot has not fallen"
        )
    }

    fn reset(&mut self, _robot: &Go1, rng: &mut ChaCha8Rng) {
        self.command = [rng.random_range(WALK_SPEED_RANGE[0]..=WALK_SPEED_RANGE[1])];
        self.tracking_error = RunningMean::default();
        self.forward_velocity = RunningMean::default();
    }

    fn record(&mut self, robot: &Go1) -> f64 {
        let error = robot.torso_linvel()[0] - self.command[0];
        self.tracking_error.push(error.abs());
        self.forward_velocity.push(robot.torso_linvel()[0]);
        (-error * error / REWARD_WIDTH).exp()
    }

    fn report(&self, fell: bool, info: &mut Info) {
        let error = self.tracking_error.mean();
        let success = !fell && !self.tracking_error.is_empty() && error < WALK_TOLERANCE;
        info.set("is_success", f64::from(success));
        info.set("mean_forward_velocity", self.forward_velocity.mean());
        info.set("tracking_error", error);
    }

    fn scripted_action(&self, robot: &Go1, time: f64) -> Option<Vec<f64>> {
        Some(robot.action_for_offsets(&trot_offsets(time, self.command[0])))
    }
}

/// The scripted open-loop trot for a commanded forward speed: joint offsets from the standing
/// pose at `time` seconds. Diagonal legs (FL with RR, FR with RL) move together, half a cycle apart from the other
/// pair. Over a cycle each thigh sweeps the foot forward while the calf bends to lift it (the
/// swing), then back with the foot on the floor (the stance), which pushes the body forward.
pub fn trot_offsets(time: f64, speed: f64) -> [f64; NUM_JOINTS] {
    let stride = ((speed + TROT_STRIDE_OFFSET) / TROT_STRIDE_GAIN)
        .clamp(TROT_STRIDE_RANGE[0], TROT_STRIDE_RANGE[1]);
    let mut offsets = [0.0; NUM_JOINTS];
    // Legs FL, FR, RL, RR: the phase of each within the cycle.
    for (leg, shift) in [0.0, PI, PI, 0.0].into_iter().enumerate() {
        let phase = TAU * TROT_FREQUENCY * time + shift;
        offsets[3 * leg + 1] = stride * phase.cos();
        offsets[3 * leg + 2] = -TROT_LIFT * phase.sin().max(0.0);
    }
    offsets
}
