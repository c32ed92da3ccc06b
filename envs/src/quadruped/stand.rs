//! `quadruped-stand`: rear up and balance on the hind legs, as Language to Rewards' quadruped
//! "stand up on two feet" task.

use super::{FALL_HEIGHT, FALL_TILT, Go1, QuadrupedTask, RunningMean};
use crate::{Fitness, StateField};
use rand_chacha::ChaCha8Rng;
use rl_env::Info;

/// A step counts as upright when the torso's nose-up angle is at least this (rad, about 46°)
/// and the hind feet are the only parts of the robot on the floor.
pub const STAND_NOSE_UP: f64 = 0.8;
/// Success: upright for at least this fraction of the episode's steps, without a fall.
pub const STAND_UPRIGHT_FRACTION: f64 = 0.5;
/// Rearing past this nose-up angle (rad, about 115°) means the robot has gone over backwards.
pub const STAND_FLIPPED: f64 = 2.0;

/// How far the torso's nose (its x axis) points above the horizontal, rad, from the gravity
/// direction in the torso frame: 0 when level, π/2 pointing straight up, negative nose down.
/// Unlike Euler pitch it stays well defined past the vertical, up to ±π.
pub fn nose_up_angle(projected_gravity: [f64; 3]) -> f64 {
    (-projected_gravity[0]).atan2(-projected_gravity[2])
}

/// The stand task's episode metric.
pub struct Stand {
    upright: RunningMean,
}

impl QuadrupedTask for Stand {
    const NAME: &'static str = "quadruped-stand";
    /// Rearing needs large joint moves (the hind thighs turn by about the torso's pitch), so
    /// actions reach further than in the gait tasks.
    const ACTION_SCALE: f64 = 1.0;

    fn new() -> Self {
        Self {
            upright: RunningMean::default(),
        }
    }

    fn command_field() -> Option<StateField> {
        None
    }

    fn command(&self) -> &[f64] {
        &[]
    }

    fn reset_text() -> String {
        "no command".into()
    }

    fn task_text() -> String {
        "Rear up and balance on the hind feet alone: lift the front feet off the floor, keep \
         everything but the hind feet off it, and hold the \
         torso pitched nose-up, like a dog standing on two feet, for as long as possible. The \
         robot is a 12-joint quadruped that starts standing on all four feet on a flat floor. \
         The episode ends early if the torso centre drops below 0.15 m, the torso rolls more \
         than 1 rad onto its side, pitches more than 1 rad nose-down, or goes over backwards."
            .into()
    }

    fn fitness() -> Fitness {
        Fitness {
            info_key: "upright_fraction".into(),
            higher_is_better: true,
            tiebreak: None,
        }
    }

    fn success_metric() -> String {
        format!(
            "a step is upright when the torso's nose points at least {STAND_NOSE_UP} rad above \
             the horizontal (atan2(-projected_gravity x, -projected_gravity z)) and the hind \
             feet are the only parts of the robot touching the floor (no front foot, knee, \
             thigh or torso); fitness: upright_fraction = upright steps / steps, higher \
             is better; success when upright_fraction >= {STAND_UPRIGHT_FRACTION} and the robot \
             has not fallen"
        )
    }

    fn reset(&mut self, _robot: &Go1, _rng: &mut ChaCha8Rng) {
        self.upright = RunningMean::default();
    }

    fn record(&mut self, robot: &Go1) -> f64 {
        let nose_up = nose_up_angle(robot.projected_gravity());
        let upright = nose_up >= STAND_NOSE_UP && robot.only_hind_feet_on_floor();
        self.upright.push(f64::from(upright));
        (nose_up / STAND_NOSE_UP).clamp(-1.0, 1.0)
    }

    fn report(&self, fell: bool, info: &mut Info) {
        let fraction = self.upright.mean();
        let success = !fell && !self.upright.is_empty() && fraction >= STAND_UPRIGHT_FRACTION;
        info.set("is_success", f64::from(success));
        info.set("upright_fraction", fraction);
    }

    /// Rearing up is no fall: the robot has fallen when the torso centre is below
    /// [`FALL_HEIGHT`], the torso has rolled more than [`FALL_TILT`] about its long axis,
    /// pitched more than [`FALL_TILT`] nose down, or gone over backwards past
    /// [`STAND_FLIPPED`]. Non-finite values count as a fall.
    fn has_fallen(torso_height: f64, projected_gravity: [f64; 3]) -> bool {
        let nose_up = nose_up_angle(projected_gravity);
        !(FALL_HEIGHT..f64::INFINITY).contains(&torso_height)
            || projected_gravity[1].abs() > FALL_TILT.sin()
            || !(-FALL_TILT..=STAND_FLIPPED).contains(&nose_up)
    }
}
