//! PPO and GRPO for continuous actions on burn, CPU (`flex`) by default.
//!
//! - [`TrainConfig`]: every hyperparameter, with CleanRL's defaults.
//! - [`Trainer`]: one update at a time: collect a rollout, estimate advantages (GAE for PPO,
//!   group-relative returns for GRPO), run the minibatch epochs with global-norm clipping.
//! - [`Run`], [`train`] and [`train_until`]: a run directory with `config.toml`,
//!   `metrics.jsonl` and checkpoints, resumable after a stop, a kill or a pause.
//! - [`evaluate`]: a trained policy's success rate, return and reward components.

pub mod advantage;
mod agent;
mod config;
mod curves;
mod envs;
mod error;
mod eval;
pub mod metrics;
pub mod normalize;
mod policy;
mod run;
pub mod tensorboard;
mod trainer;

pub use agent::{Agent, clip_grad_norm, global_grad_norm};
pub use config::{Algorithm, ComputeDevice, MemoryEstimate, TrainConfig, limits};
pub use curves::{
    Panel, Series, Style, common_grid, draw_curves, draw_panels, resample, series, smooth,
    smoothing_window, window_text,
};
pub use envs::{TrainEnv, TrainEnvs, make_env, make_envs};
pub use error::TrainError;
pub use eval::{EvalReport, MAX_EVAL_EPISODES, ROLLOUT_FORMAT, evaluate};
pub use policy::{Decision, Policy};
pub use run::{Outcome, Run, RunConfig, RunEnd, RunSetup, train, train_until};
pub use trainer::Trainer;
