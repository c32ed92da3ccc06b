//! The Go1-sized quadruped: its model, sensors and joints, joint-position control around its
//! standing pose, and the state every quadruped task reports.

use super::QuadrupedConfig;
use super::constants::{ASSETS, CONTACT_FORCE, JOINT_NOISE, LEG_JOINTS, LEGS, NUM_JOINTS, SCENE};
use crate::assets::cached_model;
use crate::math::quat_to_euler;
use crate::robot::{Robot, unit_action};
use crate::{EnvError, StateField};
use rand::RngExt;
use rand_chacha::ChaCha8Rng;
use sim::Sim;

/// Sensor addresses of the torso IMU.
struct Imu {
    quat: usize,
    gyro: usize,
    velocimeter: usize,
}

/// The Go1-sized robot on its floor, controlled by joint-position targets around the standing
/// pose.
pub struct Go1 {
    pub(super) sim: Sim,
    pub(super) config: QuadrupedConfig,
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

impl Go1 {
    pub(super) fn new(config: QuadrupedConfig) -> Result<Self, EnvError> {
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
    pub(super) fn reset(&mut self, rng: &mut ChaCha8Rng) {
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
    pub(super) fn state(&self, out: &mut Vec<f64>) {
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
pub(super) fn robot_fields() -> Vec<StateField> {
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

impl Robot for Go1 {
    fn sim(&self) -> &Sim {
        &self.sim
    }

    /// Applies an action and runs `frame_skip` physics steps. Elements are clipped to
    /// [-1, 1]; non-finite or missing ones count as 0.
    fn act(&mut self, action: &[f64]) {
        let action: [f64; NUM_JOINTS] = unit_action(action);
        self.set_targets(&action);
        self.sim.step(self.config.frame_skip);
        self.prev_action = action;
    }

    fn sim_mut(&mut self) -> &mut Sim {
        &mut self.sim
    }
}
