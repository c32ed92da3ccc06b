//! The reward language: reward programs are Rhai scripts run in a sandbox.
//!
//! - [`RewardProgram`]: compiled once, evaluated on every env step against a [`StateInput`]
//!   (the env's state schema plus `action`, `prev_action`, `dt` and `step`). It returns the
//!   total reward and named components.
//! - [`Limits`]: the sandbox's bounds on operations, call depth, nesting, sizes and variables.
//! - [`check`]: compile, then dry-run on states recorded from random rollouts of the env, with
//!   each component's range and warnings for constant or dominant components.
//! - [`RewardEnv`]: a wrapper that makes a task env use a program as its reward.
//! - [`syntax`]: Rhai's tokens, keywords and predefined names, for tools that edit programs.
//!
//! Every failure is a [`RewardError`] with the line, column and offending source line.

mod budget;
mod check;
mod contain;
mod error;
mod fields;
mod helpers;
mod limits;
mod program;
mod sandbox;
mod stack;
pub mod syntax;
mod wrapper;

pub use check::{
    CheckReport, ComponentRange, DOMINANT_SHARE, DRY_RUN_SECONDS, DRY_RUN_SEEDS, DRY_RUN_STEPS,
    RecordedState, check, record_states,
};
pub use error::{ErrorKind, RewardError};
pub use limits::Limits;
pub use program::{ProgramValue, RewardOutput, RewardProgram, StateInput};
pub use wrapper::{REWARD_ERROR_KEY, RewardEnv, RewardErrorSlot};
