//! `franka-reach`: bring the fingertips to a random target above the table.

use super::{Arm, FrankaConfig, FrankaTask, SUCCESS_DISTANCE, control_text};
use crate::{EnvError, Fitness, StateField, TaskSpec};
use rand::RngExt;
use rand_chacha::ChaCha8Rng;
use rl_env::Space;
use sim::{Model, Sim};

/// Target range, m: `[x, y, z]` low and high corners.
pub const TARGET_LOW: [f64; 3] = [0.3, -0.25, 0.02];
pub const TARGET_HIGH: [f64; 3] = [0.7, 0.25, 0.3];

/// The reach task's target marker.
pub struct Reach {
    goal_body: usize,
    goal: [f64; 3],
}

impl FrankaTask for Reach {
    const SCENE: &'static str = "reach.xml";
    const OBSERVATION: &'static [(&'static str, bool)] =
        &[("ee_pos", false), ("ee_vel", true), ("goal_pos", false)];
    const SUCCESS_FIELDS: [&'static str; 2] = ["ee_pos", "goal_pos"];

    fn new(model: &Model) -> Result<Self, EnvError> {
        Ok(Self {
            goal_body: model.body("goal")?,
            goal: [0.5, 0.0, 0.2],
        })
    }

    fn spec(config: &FrankaConfig, physics_dt: f64) -> TaskSpec {
        TaskSpec {
            name: "franka-reach".into(),
            model: "assets/franka/reach.xml: Franka Panda (7 joints, 2 fingers) on a table, a \
                    target marker"
                .into(),
            control: control_text(config, physics_dt),
            frame_skip: config.frame_skip,
            physics_dt,
            observation_space: Space::uniform_box(&[9], f64::NEG_INFINITY, f64::INFINITY),
            observation_layout: "fingertip pos (3), fingertip vel*dt (3), target pos (3)".into(),
            action_space: Space::uniform_box(&[3], -1.0, 1.0),
            reset_randomization: format!(
                "arm at its home pose with the fingertips at (0.4, 0, 0.1); target uniform in the \
                 box from {TARGET_LOW:?} to {TARGET_HIGH:?}"
            ),
            episode_steps: config.episode_steps,
            state_schema: vec![
                StateField::new(
                    "ee_pos",
                    &[3],
                    "m",
                    "world",
                    "Fingertip position: the point between the closed fingertips.",
                ),
                StateField::new("ee_vel", &[3], "m/s", "world", "Fingertip linear velocity."),
                StateField::new(
                    "goal_pos",
                    &[3],
                    "m",
                    "world",
                    "The target the fingertips must reach.",
                ),
            ],
            task_text: "Move the robot's fingertips to the target position. The table top is the \
                        plane z = 0 and the robot base stands at the origin."
                .into(),
            success_metric: format!(
                "success when |ee_pos - goal_pos| < {SUCCESS_DISTANCE} m; the episode ends on success"
            ),
            fitness: Fitness::success_rate(Some("goal_distance")),
        }
    }

    fn reset(&mut self, sim: &mut Sim, rng: &mut ChaCha8Rng) {
        let goal: [f64; 3] =
            std::array::from_fn(|i| rng.random_range(TARGET_LOW[i]..=TARGET_HIGH[i]));
        self.goal = goal;
        sim.set_mocap_pose(self.goal_body, goal, [1.0, 0.0, 0.0, 0.0]);
    }

    fn state(&self, arm: &Arm) -> Vec<f64> {
        let mut state = Vec::with_capacity(9);
        state.extend(arm.ee_pos());
        state.extend(arm.ee_vel());
        state.extend(self.goal);
        state
    }

    fn scripted_action(&self, arm: &Arm) -> Vec<f64> {
        arm.action_toward(self.goal)
    }
}
