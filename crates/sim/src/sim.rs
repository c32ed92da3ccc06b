use crate::{Model, ObjectKind};
use mujoco_rs::prelude::{MjData, MjModel, MjtObjBase};
use std::sync::Arc;

/// Linear and angular velocity of a frame, in world coordinates.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Velocity {
    /// m/s
    pub linear: [f64; 3],
    /// rad/s
    pub angular: [f64; 3],
}

/// Everything needed to put a simulation back where it was: time, `qpos`, `qvel`, the mocap
/// poses and the constraint solver's warm start. Setting it and calling `mj_forward`
/// reproduces every position, frame and contact of the moment it was taken, and stepping on
/// from it with the same controls reproduces the same trajectory.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct PhysicsState {
    pub time: f64,
    pub qpos: Vec<f64>,
    pub qvel: Vec<f64>,
    pub mocap_pos: Vec<[f64; 3]>,
    pub mocap_quat: Vec<[f64; 4]>,
    /// The solver's warm start (`qacc_warmstart`); empty means none.
    #[serde(default)]
    pub qacc_warmstart: Vec<f64>,
}

/// A simulation: a [`Model`] and its state.
pub struct Sim {
    model: Model,
    data: MjData<Arc<MjModel>>,
}

impl Sim {
    /// A fresh state at the model's reference configuration, with kinematics computed.
    pub fn new(model: &Model) -> Self {
        let mut data = MjData::new(model.raw().clone());
        data.forward();
        Self {
            model: model.clone(),
            data,
        }
    }

    pub fn model(&self) -> &Model {
        &self.model
    }

    /// Back to the reference configuration (`qpos0`, zero velocity, time 0), kinematics computed.
    pub fn reset(&mut self) {
        self.data.reset();
        self.data.forward();
    }

    /// To a keyframe (`mj_resetDataKeyframe`: its time, `qpos`, `qvel`, activations, controls
    /// and mocap poses), kinematics computed. `key` comes from [`Model::id`].
    pub fn reset_to_keyframe(&mut self, key: usize) {
        self.data
            .reset_keyframe(key)
            .expect("reset_to_keyframe needs a keyframe id from Model::id");
        self.data.forward();
    }

    /// Advances the physics by `n` timesteps.
    pub fn step(&mut self, n: usize) {
        for _ in 0..n {
            self.data.step();
        }
    }

    /// Recomputes positions, velocities and contacts from `qpos`, `qvel` and mocap poses
    /// without advancing time (`mj_forward`).
    pub fn forward(&mut self) {
        self.data.forward();
    }

    /// Simulated time in seconds.
    pub fn time(&self) -> f64 {
        self.data.ffi().time
    }

    pub fn qpos(&self) -> &[f64] {
        self.data.qpos()
    }
    pub fn qpos_mut(&mut self) -> &mut [f64] {
        self.data.qpos_mut()
    }
    pub fn qvel(&self) -> &[f64] {
        self.data.qvel()
    }
    pub fn qvel_mut(&mut self) -> &mut [f64] {
        self.data.qvel_mut()
    }
    pub fn ctrl(&self) -> &[f64] {
        self.data.ctrl()
    }
    pub fn ctrl_mut(&mut self) -> &mut [f64] {
        self.data.ctrl_mut()
    }

    /// World position of a site.
    pub fn site_pos(&self, site: usize) -> [f64; 3] {
        self.data.site_xpos()[site]
    }

    /// World orientation of a site, as a row-major 3×3 rotation matrix.
    pub fn site_frame(&self, site: usize) -> [f64; 9] {
        self.data.site_xmat()[site]
    }

    /// World position of a body's frame.
    pub fn body_pos(&self, body: usize) -> [f64; 3] {
        self.data.xpos()[body]
    }

    /// World orientation of a body's frame, as a unit quaternion `[w, x, y, z]`.
    pub fn body_quat(&self, body: usize) -> [f64; 4] {
        self.data.xquat()[body]
    }

    /// World position of a geom.
    pub fn geom_pos(&self, geom: usize) -> [f64; 3] {
        self.data.geom_xpos()[geom]
    }

    /// World orientation of a geom, as a row-major 3×3 rotation matrix.
    pub fn geom_frame(&self, geom: usize) -> [f64; 9] {
        self.data.geom_xmat()[geom]
    }

    /// World orientation of a body's frame, as a row-major 3×3 rotation matrix.
    pub fn body_frame(&self, body: usize) -> [f64; 9] {
        self.data.xmat()[body]
    }

    /// Velocity of an object (body, site or geom) at its frame's origin: in world coordinates,
    /// or in the object's own frame when `local` (`mj_objectVelocity`).
    pub fn object_velocity(&self, kind: ObjectKind, id: usize, local: bool) -> Velocity {
        let raw = match kind {
            ObjectKind::Site => MjtObjBase::mjOBJ_SITE,
            ObjectKind::Geom => MjtObjBase::mjOBJ_GEOM,
            _ => MjtObjBase::mjOBJ_BODY,
        };
        let v = self.data.object_velocity(raw, id, local);
        Velocity {
            angular: [v[0], v[1], v[2]],
            linear: [v[3], v[4], v[5]],
        }
    }

    /// Every sensor's readings (`sensordata`); [`Model::sensor_range`] finds one sensor's.
    pub fn sensor_data(&self) -> &[f64] {
        self.data.sensordata()
    }

    /// The force each actuator applies, in actuation space.
    pub fn actuator_force(&self, actuator: usize) -> f64 {
        self.data.actuator_force()[actuator]
    }

    /// Computes the contact wrenches on every body (`cfrc_ext`, by `mj_rnePostConstraint`),
    /// which stepping leaves stale; call after [`Sim::step`] or [`Sim::forward`].
    pub fn compute_contact_wrenches(&mut self) {
        self.data.rne_post_constraint();
    }

    /// The external (contact) wrench on a body about its centre of mass, torque then force in
    /// world axes, as of the last [`Sim::compute_contact_wrenches`].
    pub fn body_contact_wrench(&self, body: usize) -> [f64; 6] {
        self.data.cfrc_ext()[body]
    }

    /// Each current contact: its two geoms and its normal force (N).
    pub fn contacts(&self) -> impl Iterator<Item = (usize, usize, f64)> + '_ {
        self.data.contact().iter().enumerate().map(|(i, c)| {
            (
                c.geom[0] as usize,
                c.geom[1] as usize,
                self.data.contact_force(i)[0],
            )
        })
    }

    /// Velocity of a site, in world coordinates.
    pub fn site_velocity(&self, site: usize) -> Velocity {
        self.object_velocity(ObjectKind::Site, site, false)
    }

    /// Velocity of a body's frame, in world coordinates.
    pub fn body_velocity(&self, body: usize) -> Velocity {
        self.object_velocity(ObjectKind::Body, body, false)
    }

    /// Whether the two geoms touch in the current contact list.
    pub fn geoms_touch(&self, geom_a: usize, geom_b: usize) -> bool {
        self.contact_pairs()
            .any(|(a, b)| (a, b) == (geom_a, geom_b) || (a, b) == (geom_b, geom_a))
    }

    /// Whether any geom of one body touches any geom of the other.
    pub fn bodies_touch(&self, body_a: usize, body_b: usize) -> bool {
        self.contact_pairs().any(|(a, b)| {
            let (a, b) = (self.model.geom_body(a), self.model.geom_body(b));
            (a, b) == (body_a, body_b) || (a, b) == (body_b, body_a)
        })
    }

    /// The geoms in contact with `geom`, once per contact point.
    pub fn touching(&self, geom: usize) -> impl Iterator<Item = usize> + '_ {
        self.contact_pairs()
            .filter_map(move |(a, b)| match (a == geom, b == geom) {
                (true, _) => Some(b),
                (_, true) => Some(a),
                _ => None,
            })
    }

    fn contact_pairs(&self) -> impl Iterator<Item = (usize, usize)> + '_ {
        self.data
            .contact()
            .iter()
            .map(|c| (c.geom[0] as usize, c.geom[1] as usize))
    }

    /// Places a mocap body. Takes effect in the next `step` or `forward`.
    ///
    /// # Panics
    /// If `body` is not a mocap body: callers look the body up once and check it with
    /// [`Model::mocap_index`].
    pub fn set_mocap_pose(&mut self, body: usize, pos: [f64; 3], quat: [f64; 4]) {
        let index = self
            .model
            .mocap_index(body)
            .expect("set_mocap_pose needs a mocap body");
        self.data.mocap_pos_mut()[index] = pos;
        self.data.mocap_quat_mut()[index] = quat;
    }

    /// The pose of a mocap body, `(pos, quat)`.
    pub fn mocap_pose(&self, body: usize) -> ([f64; 3], [f64; 4]) {
        let index = self
            .model
            .mocap_index(body)
            .expect("mocap_pose needs a mocap body");
        (self.data.mocap_pos()[index], self.data.mocap_quat()[index])
    }

    /// A snapshot of the state.
    pub fn physics_state(&self) -> PhysicsState {
        PhysicsState {
            time: self.time(),
            qpos: self.qpos().to_vec(),
            qvel: self.qvel().to_vec(),
            mocap_pos: self.data.mocap_pos().to_vec(),
            mocap_quat: self.data.mocap_quat().to_vec(),
            qacc_warmstart: self.data.qacc_warmstart().to_vec(),
        }
    }

    /// Restores a snapshot and recomputes kinematics and contacts (`mj_forward`). Fails when
    /// the snapshot's sizes do not fit this model.
    pub fn set_physics_state(&mut self, state: &PhysicsState) -> Result<(), String> {
        let sizes = (
            self.qpos().len(),
            self.qvel().len(),
            self.data.mocap_pos().len(),
        );
        let given = (state.qpos.len(), state.qvel.len(), state.mocap_pos.len());
        if sizes != given || state.mocap_quat.len() != sizes.2 {
            return Err(format!(
                "the state has {given:?} (qpos, qvel, mocap) values but the model needs {sizes:?}"
            ));
        }
        // SAFETY: only the time field of mjData is written.
        unsafe { self.data.ffi_mut().time = state.time };
        self.data.qpos_mut().copy_from_slice(&state.qpos);
        self.data.qvel_mut().copy_from_slice(&state.qvel);
        self.data.mocap_pos_mut().copy_from_slice(&state.mocap_pos);
        self.data
            .mocap_quat_mut()
            .copy_from_slice(&state.mocap_quat);
        if state.qacc_warmstart.len() == sizes.1 {
            self.data
                .qacc_warmstart_mut()
                .copy_from_slice(&state.qacc_warmstart);
        }
        self.data.forward();
        Ok(())
    }

    /// The underlying mujoco-rs data, for what this layer does not cover.
    pub fn raw(&self) -> &MjData<Arc<MjModel>> {
        &self.data
    }

    /// The underlying mujoco-rs data, mutably (a renderer syncs its scene from it).
    pub fn raw_mut(&mut self) -> &mut MjData<Arc<MjModel>> {
        &mut self.data
    }
}
