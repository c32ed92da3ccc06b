//! `franka-push`: push a 4 cm box to a goal on the table, as panda_mujoco_gym's FrankaPush.

use super::{Arm, FrankaConfig, FrankaTask, SUCCESS_DISTANCE, control_text};
use crate::math::{distance, quat_to_euler};
use crate::{EnvError, Fitness, StateField, TaskSpec};
use rand::RngExt;
use rand_chacha::ChaCha8Rng;
use rl_env::Space;
use sim::{Model, Sim};

/// Object and goal x range, m (panda_mujoco_gym).
pub const XY_LOW: [f64; 2] = [0.45, -0.15];
/// Object and goal y range, m (panda_mujoco_gym).
pub const XY_HIGH: [f64; 2] = [0.75, 0.15];
/// Height of the box centre resting on the table.
pub const BOX_HALF_SIZE: f64 = 0.02;
/// Goals are resampled until they lie at least this far from the box, so that no episode
/// starts solved.
pub const MIN_START_DISTANCE: f64 = 0.1;

/// The push task's objects.
pub struct Push {
    object_body: usize,
    object_qpos: usize,
    object_dof: usize,
    goal_body: usize,
    gripper_bodies: [usize; 3],
    goal: [f64; 3],
}

fn sample_xy(rng: &mut ChaCha8Rng) -> [f64; 3] {
    [
        rng.random_range(XY_LOW[0]..=XY_HIGH[0]),
        rng.random_range(XY_LOW[1]..=XY_HIGH[1]),
        BOX_HALF_SIZE,
    ]
}

impl FrankaTask for Push {
    const SCENE: &'static str = "push.xml";
    const OBSERVATION: &'static [(&'static str, bool)] = &[
        ("ee_pos", false),
        ("ee_vel", true),
        ("object_pos", false),
        ("object_euler", false),
        ("object_linvel", true),
        ("object_angvel", true),
        ("goal_pos", false),
    ];
    const SUCCESS_FIELDS: [&'static str; 2] = ["object_pos", "goal_pos"];

    fn new(model: &Model) -> Result<Self, EnvError> {
        let object_joint = model.joint("object")?;
        Ok(Self {
            object_body: model.body("object")?,
            object_qpos: model.joint_qpos_address(object_joint),
            object_dof: model.joint_dof_address(object_joint),
            goal_body: model.body("goal")?,
            gripper_bodies: [
                model.body("hand")?,
                model.body("left_finger")?,
                model.body("right_finger")?,
            ],
            goal: [0.6, 0.1, BOX_HALF_SIZE],
        })
    }

    fn spec(config: &FrankaConfig, physics_dt: f64) -> TaskSpec {
        let vec3 = [3];
        TaskSpec {
            name: "franka-push".into(),
            model: "assets/franka/push.xml: Franka Panda (7 joints, 2 fingers) on a table, a 4 cm \
                    box of 1 kg with friction 1, a goal marker"
                .into(),
            control: control_text(config, physics_dt),
            frame_skip: config.frame_skip,
            physics_dt,
            observation_space: Space::uniform_box(&[21], f64::NEG_INFINITY, f64::INFINITY),
            observation_layout: "fingertip pos (3), fingertip vel*dt (3), box pos (3), box \
                                 roll/pitch/yaw (3), box linvel*dt (3), box angvel*dt (3), goal \
                                 pos (3): panda_mujoco_gym's 18-D observation, then its goal"
                .into(),
            action_space: Space::uniform_box(&[3], -1.0, 1.0),
            reset_randomization: format!(
                "arm at its home pose with the fingertips at (0.4, 0, 0.1); box centre x in \
                 [{}, {}], y in [{}, {}], upright; goal x and y in the same ranges, on the table, \
                 at least {MIN_START_DISTANCE} m from the box",
                XY_LOW[0], XY_HIGH[0], XY_LOW[1], XY_HIGH[1]
            ),
            episode_steps: config.episode_steps,
            state_schema: vec![
                StateField::new(
                    "ee_pos",
                    &vec3,
                    "m",
                    "world",
                    "Fingertip position: the point between the closed fingertips.",
                ),
                StateField::new(
                    "ee_vel",
                    &vec3,
                    "m/s",
                    "world",
                    "Fingertip linear velocity.",
                ),
                StateField::new(
                    "object_pos",
                    &vec3,
                    "m",
                    "world",
                    "Centre of the 4 cm box; z is 0.02 when it rests on the table.",
                ),
                StateField::new(
                    "object_quat",
                    &[4],
                    "unit quaternion [w, x, y, z]",
                    "world",
                    "Box orientation.",
                ),
                StateField::new(
                    "object_euler",
                    &vec3,
                    "rad",
                    "world",
                    "Box roll, pitch and yaw.",
                ),
                StateField::new(
                    "object_linvel",
                    &vec3,
                    "m/s",
                    "world",
                    "Box linear velocity.",
                ),
                StateField::new(
                    "object_angvel",
                    &vec3,
                    "rad/s",
                    "world",
                    "Box angular velocity.",
                ),
                StateField::new(
                    "goal_pos",
                    &vec3,
                    "m",
                    "world",
                    "Where the box centre must be brought; on the table, z = 0.02.",
                ),
                StateField::new(
                    "ee_touching_object",
                    &[],
                    "0 or 1",
                    "-",
                    "1 while the hand or a finger touches the box.",
                ),
            ],
            task_text: "Push the box across the table so that it ends at the goal position. The \
                        gripper stays closed, so the box cannot be grasped: the arm must move \
                        behind the box and push it. The table top is the plane z = 0 and the \
                        robot base stands at the origin."
                .into(),
            success_metric: format!(
                "success when |object_pos - goal_pos| < {SUCCESS_DISTANCE} m; the episode ends on \
                 success"
            ),
            fitness: Fitness::success_rate(Some("goal_distance")),
        }
    }

    fn reset(&mut self, sim: &mut Sim, rng: &mut ChaCha8Rng) {
        let object = sample_xy(rng);
        let mut goal = sample_xy(rng);
        while distance(goal, object) < MIN_START_DISTANCE {
            goal = sample_xy(rng);
        }
        self.goal = goal;
        let q = self.object_qpos;
        sim.qpos_mut()[q..q + 3].copy_from_slice(&object);
        sim.qpos_mut()[q + 3..q + 7].copy_from_slice(&[1.0, 0.0, 0.0, 0.0]);
        sim.qvel_mut()[self.object_dof..self.object_dof + 6].fill(0.0);
        sim.set_mocap_pose(self.goal_body, goal, [1.0, 0.0, 0.0, 0.0]);
    }

    fn state(&self, arm: &Arm) -> Vec<f64> {
        let sim = &arm.sim;
        let quat = sim.body_quat(self.object_body);
        let velocity = sim.body_velocity(self.object_body);
        let touching = self
            .gripper_bodies
            .iter()
            .any(|b| sim.bodies_touch(*b, self.object_body));
        let mut state = Vec::with_capacity(26);
        state.extend(arm.ee_pos());
        state.extend(arm.ee_vel());
        state.extend(sim.body_pos(self.object_body));
        state.extend(quat);
        state.extend(quat_to_euler(quat));
        state.extend(velocity.linear);
        state.extend(velocity.angular);
        state.extend(self.goal);
        state.push(f64::from(touching));
        state
    }

    fn scripted_action(&self, arm: &Arm) -> Vec<f64> {
        arm.action_toward(scripted_push_target(
            arm.ee_pos(),
            arm.sim.body_pos(self.object_body),
            self.goal,
        ))
    }
}

/// Fingertip height while travelling above the box.
const TRAVEL_HEIGHT: f64 = 0.08;
/// Fingertip height while pushing: the box's mid-height.
const PUSH_HEIGHT: f64 = 0.02;
/// How far behind the box centre the fingertips line up before pushing.
const STANDOFF: f64 = 0.055;
/// Centre-to-centre distance of box and fingertips while in contact.
const CONTACT_OFFSET: f64 = 0.03;

/// Where the scripted pusher sends the fingertips: rise clear of the box, travel to a point
/// behind it on the line through the goal, descend, then push along that line, correcting
/// sideways drift as the box turns.
pub fn scripted_push_target(ee: [f64; 3], object: [f64; 3], goal: [f64; 3]) -> [f64; 3] {
    let to_goal = [goal[0] - object[0], goal[1] - object[1]];
    let remaining = to_goal[0].hypot(to_goal[1]);
    let d = if remaining > 1e-9 {
        [to_goal[0] / remaining, to_goal[1] / remaining]
    } else {
        [1.0, 0.0]
    };
    let rel = [ee[0] - object[0], ee[1] - object[1]];
    let along = rel[0] * d[0] + rel[1] * d[1];
    let lateral = (rel[0] - along * d[0]).hypot(rel[1] - along * d[1]);
    let behind = [object[0] - d[0] * STANDOFF, object[1] - d[1] * STANDOFF];
    let lined_up = (-0.09..-0.02).contains(&along) && lateral < 0.012;
    if lined_up && ee[2] < PUSH_HEIGHT + 0.015 {
        let push = CONTACT_OFFSET - remaining.min(0.04);
        return [
            object[0] - d[0] * push,
            object[1] - d[1] * push,
            PUSH_HEIGHT,
        ];
    }
    let to_behind = (ee[0] - behind[0]).hypot(ee[1] - behind[1]);
    if to_behind < 0.012 {
        return [behind[0], behind[1], PUSH_HEIGHT];
    }
    let near_box = rel[0].hypot(rel[1]) < 0.08;
    if near_box && ee[2] < TRAVEL_HEIGHT - 0.02 {
        return [ee[0], ee[1], TRAVEL_HEIGHT];
    }
    [behind[0], behind[1], TRAVEL_HEIGHT]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scripted_pusher_rises_before_travelling_past_the_box() {
        let target = scripted_push_target([0.6, 0.04, 0.02], [0.6, 0.0, 0.02], [0.7, 0.0, 0.02]);
        assert_eq!(target[2], TRAVEL_HEIGHT);
        assert_eq!(&target[..2], &[0.6, 0.04]);
    }

    #[test]
    fn scripted_pusher_pushes_along_the_goal_direction_once_lined_up() {
        let target = scripted_push_target([0.545, 0.0, 0.02], [0.6, 0.0, 0.02], [0.7, 0.0, 0.02]);
        assert!(target[0] > 0.57, "{target:?}");
        assert!(target[1].abs() < 1e-9 && target[2] == PUSH_HEIGHT);
    }
}
