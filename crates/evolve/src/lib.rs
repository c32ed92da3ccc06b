//! The reward-evolution loop, after Eureka: a [`Generator`] writes reward programs, each is
//! checked in the sandbox and trained in its own `rewardgen train` process, scored by the task's
//! own measure ([`fitness`]) under a multi-fidelity [`Schedule`] (successive halving), and
//! described back to the generator ([`Reflection`]); the global elite seeds the next
//! generation. Everything lives in a [`Store`] so runs resume after any
//! stop, and [`report`] compares the best reward with the hand-written ones.

mod config;
mod evolution;
mod extract;
mod finals;
pub mod fitness;
mod generator;
mod jobs;
pub mod library;
pub mod offline;
pub mod progress;
mod prompts;
mod reflection;
pub mod report;
pub mod schedule;
pub mod slurm;
mod store;
pub mod text;
mod verdict;

pub use config::{
    Budget, BudgetSizes, EvolveConfig, EvolveFile, ExecutorKind, GeneratorKind, SlurmOptions,
    read_config,
};
pub use evolution::{Event, Evolution, NO_CODE_ERROR, Observer, Outcome};
pub use extract::extract_code;
pub use finals::FINAL_LABELS;
pub use generator::{
    CallRecord, Generator, LlmGenerator, OFFLINE_NAME, OfflineGenerator, ReplayGenerator, Reply,
    SampleRequest,
};
pub use jobs::{JOB_LOG, train_command};
pub use progress::RunProgress;
pub use prompts::Prompts;
pub use reflection::{REFLECTION_POINTS, Reflection};
pub use schedule::Schedule;
pub use store::{Attempt, Candidate, FinalRun, LlmCall, RungResult, Status, Store, unix_time};

use std::path::Path;

/// The run store's file inside a run directory.
pub const DATABASE_FILE: &str = "evolve.db";

/// Everything that can stop an evolve run, each naming what and where.
#[derive(Debug, thiserror::Error)]
pub enum EvolveError {
    #[error("{0}")]
    Config(String),
    #[error("run store: {0}")]
    Store(String),
    #[error("generator: {0}")]
    Generator(String),
    #[error(transparent)]
    Llm(#[from] llm::LlmError),
    #[error(transparent)]
    Env(#[from] envs::EnvError),
    #[error(transparent)]
    Train(#[from] trainer::TrainError),
    #[error("report: {0}")]
    Report(String),
    #[error("schedule: {0}")]
    Schedule(String),
    #[error("{path}: {message}")]
    Io { path: String, message: String },
}

impl EvolveError {
    pub(crate) fn io(path: &Path, error: impl std::fmt::Display) -> Self {
        EvolveError::Io {
            path: path.display().to_string(),
            message: error.to_string(),
        }
    }
}
