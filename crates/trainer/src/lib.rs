//! PPO and GRPO for continuous actions on burn, CPU (`flex`) by default.
//!
//! - [`TrainConfig`]: every hyperparameter, with CleanRL's defaults.
//! - [`Trainer`]: one update at a time, PPO's (`ppo.rs`, as CleanRL's
//!   `ppo_continuous_action.py`) or GRPO's (`grpo.rs`): collect a rollout, estimate advantages
//!   ([`advantage`]), run the minibatch epochs of the losses (`losses.rs`) with global-norm
//!   clipping; [`Trainer::save`] and [`Trainer::load`] checkpoint it.
//! - [`Run`], [`train`] and [`train_until`]: a run directory with `config.toml`,
//!   `metrics.jsonl` and checkpoints, resumable after a stop, a kill or a pause; [`run_dir`]
//!   names its files.
//! - [`evaluate`]: a trained policy's success rate, return and reward components, with its
//!   episodes recorded in the [`rollout_format`].

mod adam;
pub mod advantage;
mod agent;
mod checkpoint;
mod config;
mod curves;
mod envs;
mod error;
mod eval;
mod grpo;
mod losses;
pub mod metrics;
pub mod normalize;
mod policy;
mod ppo;
pub mod rollout_format;
mod run;
pub mod run_dir;
pub mod tensorboard;
mod trainer;
mod update;

pub use agent::{Agent, clip_grad_norm, global_grad_norm};
pub use config::{Algorithm, ComputeDevice, MemoryEstimate, TrainConfig, limits};
pub use curves::{
    Panel, Series, Style, common_grid, draw_curves, draw_panels, resample, series, smooth,
    smoothing_window, window_text,
};
pub use envs::{TrainEnv, TrainEnvs, make_env, make_envs};
pub use error::TrainError;
pub use eval::{EvalReport, MAX_EVAL_EPISODES, evaluate};
pub use policy::{Decision, Policy};
pub use rollout_format::ROLLOUT_FORMAT;
pub use run::{Outcome, Run, RunConfig, RunEnd, RunSetup, train, train_until};
pub use run_dir::RunDir;
pub use trainer::Trainer;
