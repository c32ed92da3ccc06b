use mujoco_rs::mujoco_c::{mj_deleteModel, mj_loadXML};
use mujoco_rs::prelude::{MjModel, MjtObjBase};
use mujoco_rs::wrappers::mj_auxiliary::MjVfs;
use std::ffi::{CStr, CString};
use std::path::Path;
use std::sync::Arc;

/// What went wrong loading or querying a model.
#[derive(Debug, thiserror::Error)]
pub enum SimError {
    /// MuJoCo could not compile the model; `message` is MuJoCo's own.
    #[error("{source_name}: MuJoCo could not load the model: {message}")]
    Load {
        source_name: String,
        message: String,
    },
    /// A named object does not exist.
    #[error("{model}: no {kind} named '{name}'; the {kind}s are: {available}")]
    UnknownName {
        model: String,
        kind: ObjectKind,
        name: String,
        available: String,
    },
}

/// The kinds of named MuJoCo objects that can be looked up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ObjectKind {
    Body,
    Site,
    Joint,
    Geom,
    Actuator,
    Sensor,
    Camera,
    Keyframe,
}

impl ObjectKind {
    fn raw(self) -> MjtObjBase {
        match self {
            ObjectKind::Body => MjtObjBase::mjOBJ_BODY,
            ObjectKind::Site => MjtObjBase::mjOBJ_SITE,
            ObjectKind::Joint => MjtObjBase::mjOBJ_JOINT,
            ObjectKind::Geom => MjtObjBase::mjOBJ_GEOM,
            ObjectKind::Actuator => MjtObjBase::mjOBJ_ACTUATOR,
            ObjectKind::Sensor => MjtObjBase::mjOBJ_SENSOR,
            ObjectKind::Camera => MjtObjBase::mjOBJ_CAMERA,
            ObjectKind::Keyframe => MjtObjBase::mjOBJ_KEY,
        }
    }
}

impl std::fmt::Display for ObjectKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            ObjectKind::Body => "body",
            ObjectKind::Site => "site",
            ObjectKind::Joint => "joint",
            ObjectKind::Geom => "geom",
            ObjectKind::Actuator => "actuator",
            ObjectKind::Sensor => "sensor",
            ObjectKind::Camera => "camera",
            ObjectKind::Keyframe => "keyframe",
        })
    }
}

/// The kinds of MuJoCo joints: how many `qpos` and `qvel` elements each has.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JointKind {
    /// 7 `qpos` (position, quaternion), 6 `qvel`.
    Free,
    /// 4 `qpos` (quaternion), 3 `qvel`.
    Ball,
    /// 1 and 1, in metres.
    Slide,
    /// 1 and 1, in radians.
    Hinge,
}

impl JointKind {
    /// Elements in `qpos`.
    pub fn qpos_len(self) -> usize {
        match self {
            Self::Free => 7,
            Self::Ball => 4,
            Self::Slide | Self::Hinge => 1,
        }
    }

    /// Elements in `qvel`.
    pub fn qvel_len(self) -> usize {
        match self {
            Self::Free => 6,
            Self::Ball => 3,
            Self::Slide | Self::Hinge => 1,
        }
    }
}

/// A compiled MuJoCo model, cheap to clone and share between threads.
#[derive(Debug, Clone)]
pub struct Model {
    raw: Arc<MjModel>,
    source_name: String,
}

impl Model {
    /// Loads and compiles an MJCF file. Meshes and includes resolve relative to its folder.
    /// The file must be a regular file of at most [`user_files::Kind::MJCF`]'s size (a FIFO or
    /// a device is refused before MuJoCo opens it).
    pub fn from_file(path: &Path) -> Result<Self, SimError> {
        let source_name = path.display().to_string();
        check_model_file(path)?;
        let raw = MjModel::from_xml(path).map_err(|e| SimError::Load {
            source_name: source_name.clone(),
            message: load_message(e),
        })?;
        Ok(Self {
            raw: Arc::new(raw),
            source_name,
        })
    }

    /// Compiles MJCF text. `source_name` names it in error messages.
    pub fn from_xml_str(xml: &str, source_name: &str) -> Result<Self, SimError> {
        let raw = MjModel::from_xml_string(xml).map_err(|e| SimError::Load {
            source_name: source_name.to_string(),
            message: load_message(e),
        })?;
        Ok(Self {
            raw: Arc::new(raw),
            source_name: source_name.to_string(),
        })
    }

    /// Compiles a model made of several files held in memory (for assets embedded in a
    /// binary): `files` are `(name, text)` pairs that `<include file="name"/>` can reach, and
    /// `main` names the one to compile.
    pub fn from_embedded(files: &[(&str, &str)], main: &str) -> Result<Self, SimError> {
        let load_error = |message: String| SimError::Load {
            source_name: main.to_string(),
            message,
        };
        let mut vfs = MjVfs::new();
        for (name, text) in files {
            vfs.add_from_buffer(name, text.as_bytes())
                .map_err(|e| load_error(format!("{name}: {e}")))?;
        }
        let raw = MjModel::from_xml_vfs(main, &vfs).map_err(|e| load_error(load_message(e)))?;
        Ok(Self {
            raw: Arc::new(raw),
            source_name: main.to_string(),
        })
    }

    /// The file name or label the model was loaded from.
    pub fn source_name(&self) -> &str {
        &self.source_name
    }

    /// The id of the named object, or an error listing the names of that kind.
    pub fn id(&self, kind: ObjectKind, name: &str) -> Result<usize, SimError> {
        self.raw
            .name_to_id(kind.raw(), name)
            .ok_or_else(|| SimError::UnknownName {
                model: self.source_name.clone(),
                kind,
                name: name.to_string(),
                available: self.names(kind).join(", "),
            })
    }

    /// Every named object of a kind, in id order.
    pub fn names(&self, kind: ObjectKind) -> Vec<String> {
        let count = match kind {
            ObjectKind::Body => self.raw.ffi().nbody,
            ObjectKind::Site => self.raw.ffi().nsite,
            ObjectKind::Joint => self.raw.ffi().njnt,
            ObjectKind::Geom => self.raw.ffi().ngeom,
            ObjectKind::Actuator => self.raw.ffi().nu,
            ObjectKind::Sensor => self.raw.ffi().nsensor,
            ObjectKind::Camera => self.raw.ffi().ncam,
            ObjectKind::Keyframe => self.raw.ffi().nkey,
        } as usize;
        (0..count)
            .filter_map(|id| self.raw.id_to_name(kind.raw(), id))
            .filter(|name| !name.is_empty())
            .map(str::to_string)
            .collect()
    }

    pub fn body(&self, name: &str) -> Result<usize, SimError> {
        self.id(ObjectKind::Body, name)
    }
    pub fn site(&self, name: &str) -> Result<usize, SimError> {
        self.id(ObjectKind::Site, name)
    }
    pub fn joint(&self, name: &str) -> Result<usize, SimError> {
        self.id(ObjectKind::Joint, name)
    }
    pub fn geom(&self, name: &str) -> Result<usize, SimError> {
        self.id(ObjectKind::Geom, name)
    }
    pub fn actuator(&self, name: &str) -> Result<usize, SimError> {
        self.id(ObjectKind::Actuator, name)
    }
    pub fn sensor(&self, name: &str) -> Result<usize, SimError> {
        self.id(ObjectKind::Sensor, name)
    }

    /// Number of generalized coordinates (`qpos`).
    pub fn nq(&self) -> usize {
        self.raw.ffi().nq as usize
    }
    /// Number of degrees of freedom (`qvel`).
    pub fn nv(&self) -> usize {
        self.raw.ffi().nv as usize
    }
    /// Number of controls (`ctrl`).
    pub fn nu(&self) -> usize {
        self.raw.ffi().nu as usize
    }
    /// The physics timestep in seconds.
    pub fn timestep(&self) -> f64 {
        self.raw.ffi().opt.timestep
    }

    /// The `[low, high]` control range of each actuator; unlimited actuators get ±∞.
    pub fn ctrl_ranges(&self) -> Vec<[f64; 2]> {
        self.ctrl_limits()
            .into_iter()
            .map(|limit| limit.unwrap_or([f64::NEG_INFINITY, f64::INFINITY]))
            .collect()
    }

    /// Each actuator's `ctrlrange` as the model gives it when the actuator is control-limited,
    /// `None` when it is not. The values are MuJoCo's, unchecked: a file may give NaN, an
    /// infinity (`1e309` overflows to one) or a low above the high.
    pub fn ctrl_limits(&self) -> Vec<Option<[f64; 2]>> {
        let limited = self.raw.actuator_ctrllimited();
        self.raw
            .actuator_ctrlrange()
            .iter()
            .zip(limited)
            .map(|(range, limited)| limited.then_some(*range))
            .collect()
    }

    /// The name of object `id` of a kind, `None` when it has none.
    pub fn name_of(&self, kind: ObjectKind, id: usize) -> Option<String> {
        self.raw
            .id_to_name(kind.raw(), id)
            .filter(|name| !name.is_empty())
            .map(str::to_string)
    }

    /// The `qpos` address of a joint.
    pub fn joint_qpos_address(&self, joint: usize) -> usize {
        self.raw.jnt_qposadr()[joint] as usize
    }

    /// The `qvel` address of a joint.
    pub fn joint_dof_address(&self, joint: usize) -> usize {
        self.raw.jnt_dofadr()[joint] as usize
    }

    /// The `[low, high]` range of a joint.
    pub fn joint_range(&self, joint: usize) -> [f64; 2] {
        self.raw.jnt_range()[joint]
    }

    /// The body a geom belongs to.
    pub fn geom_body(&self, geom: usize) -> usize {
        self.raw.geom_bodyid()[geom] as usize
    }

    /// The mocap index of a body, if it is a mocap body.
    pub fn mocap_index(&self, body: usize) -> Option<usize> {
        usize::try_from(self.raw.body_mocapid()[body]).ok()
    }

    /// Number of bodies, the world (body 0) included.
    pub fn nbody(&self) -> usize {
        self.raw.ffi().nbody as usize
    }

    /// The kind of a joint.
    pub fn joint_kind(&self, joint: usize) -> JointKind {
        use mujoco_rs::prelude::MjtJoint;
        match self.raw.jnt_type()[joint] {
            MjtJoint::mjJNT_FREE => JointKind::Free,
            MjtJoint::mjJNT_BALL => JointKind::Ball,
            MjtJoint::mjJNT_SLIDE => JointKind::Slide,
            _ => JointKind::Hinge,
        }
    }

    /// The joints of a body, in id order.
    pub fn body_joints(&self, body: usize) -> std::ops::Range<usize> {
        let start = self.raw.body_jntadr()[body].max(0) as usize;
        start..start + self.raw.body_jntnum()[body].max(0) as usize
    }

    /// The range of a sensor's values in `sensordata`.
    pub fn sensor_range(&self, sensor: usize) -> std::ops::Range<usize> {
        let start = self.raw.sensor_adr()[sensor] as usize;
        start..start + self.raw.sensor_dim()[sensor] as usize
    }

    /// The joint an actuator drives, when its transmission is a joint.
    pub fn actuator_joint(&self, actuator: usize) -> Option<usize> {
        use mujoco_rs::prelude::MjtTrn;
        match self.raw.actuator_trntype()[actuator] {
            MjtTrn::mjTRN_JOINT | MjtTrn::mjTRN_JOINTINPARENT => {
                usize::try_from(self.raw.actuator_trnid()[actuator][0]).ok()
            }
            _ => None,
        }
    }

    /// A keyframe's `qpos`.
    pub fn keyframe_qpos(&self, key: usize) -> &[f64] {
        let nq = self.nq();
        &self.raw.key_qpos()[key * nq..(key + 1) * nq]
    }

    /// The body's mass in kg.
    pub fn body_mass(&self, body: usize) -> f64 {
        self.raw.body_mass()[body]
    }

    /// The underlying mujoco-rs model, for what this layer does not cover.
    pub fn raw(&self) -> &Arc<MjModel> {
        &self.raw
    }
}

/// A user's MJCF file must be a regular file within the size cap, and UTF-8 text (MuJoCo's
/// names are read back as UTF-8), before MuJoCo reads it.
fn check_model_file(path: &Path) -> Result<(), SimError> {
    user_files::read_to_string(path, user_files::Kind::MJCF)
        .map(|_| ())
        .map_err(|e| SimError::Load {
            source_name: path.display().to_string(),
            message: e.message,
        })
}

fn load_message(error: mujoco_rs::error::MjModelError) -> String {
    match error {
        // MuJoCo's message puts the element on a second line; errors here are one line.
        mujoco_rs::error::MjModelError::LoadFailed(message) => user_files::one_line(&message),
        other => user_files::one_line(&other.to_string()),
    }
}

/// Compiles an MJCF file and returns MuJoCo's warning text, or `None` when it compiles
/// cleanly. A model that fails to compile is an error.
pub fn compiler_warnings(path: &Path) -> Result<Option<String>, SimError> {
    let source_name = path.display().to_string();
    check_model_file(path)?;
    let c_path = CString::new(source_name.clone()).map_err(|_| SimError::Load {
        source_name: source_name.clone(),
        message: "path contains a NUL byte".into(),
    })?;
    let mut buffer = vec![0 as std::ffi::c_char; 1000];
    // SAFETY: the path is NUL-terminated, the buffer's length is passed, and the model that
    // mj_loadXML returns is freed right here.
    let message = unsafe {
        let model = mj_loadXML(
            c_path.as_ptr(),
            std::ptr::null(),
            buffer.as_mut_ptr(),
            buffer.len() as i32,
        );
        let message = user_files::one_line(&CStr::from_ptr(buffer.as_ptr()).to_string_lossy());
        if model.is_null() {
            return Err(SimError::Load {
                source_name,
                message,
            });
        }
        mj_deleteModel(model);
        message
    };
    Ok((!message.is_empty()).then_some(message))
}
