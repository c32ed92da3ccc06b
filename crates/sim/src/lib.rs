//! The physics layer (layer 2 of 3: API in `rl-env`, physics, tasks in `envs`): a thin, safe
//! layer over mujoco-rs, shaped for RL environments.
//!
//! - [`Model`]: a compiled MJCF model (from a file or a string) with named lookups that fail
//!   with the list of names that do exist.
//! - [`Sim`]: the simulation state: stepping, positions, frames and velocities of sites and
//!   bodies, contacts between named geoms or bodies, and mocap poses.
//! - [`compiler_warnings`]: what MuJoCo's compiler says about a model that does load.

mod model;
mod sim;

pub use model::{JointKind, Model, ObjectKind, SimError, compiler_warnings};
pub use sim::{PhysicsState, Sim, Velocity};

/// The version of the MuJoCo library loaded, as MuJoCo states it (`3.17.0`).
pub fn mujoco_version() -> String {
    // SAFETY: mj_versionString returns a pointer to a static NUL-terminated string.
    unsafe { std::ffi::CStr::from_ptr(mujoco_rs::mujoco_c::mj_versionString()) }
        .to_string_lossy()
        .into_owned()
}
