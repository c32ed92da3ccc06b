//! The env API (layer 1 of 3: API, physics in `sim`, tasks in `envs`): a Gymnasium-shaped
//! reinforcement-learning environment interface with no physics engine in it.
//!
//! - [`Env`]: `reset(seed)` and `step(action)`, with [`Space`]s for observations and actions.
//! - [`Info`]: named `f64` values an env reports beside its observation (reward components,
//!   `is_success`, episode statistics).
//! - [`Wrapper`]: an env around another env that writes only what it changes, as Gymnasium's
//!   `Wrapper`; [`wrappers`] holds time limits, action clipping and episode statistics.
//! - [`VecEnv`]: N envs stepped across worker threads with automatic reset.
//! - [`PointMass`]: a tiny pure-Rust env for fast tests.

mod env;
mod point_mass;
mod space;
mod vec_env;
pub mod wrappers;

pub use env::{Env, Info, Step, Wrapper, seeded_rng, standard_normal};
pub use point_mass::PointMass;
pub use space::Space;
pub use vec_env::{VecEnv, VecStep, WORKER_STACK_BYTES};
