use reward_dsl::RewardError;
use std::path::PathBuf;

/// What stopped a training or evaluation run.
#[derive(Debug, thiserror::Error)]
pub enum TrainError {
    #[error(transparent)]
    Env(#[from] envs::EnvError),
    #[error("invalid training config: {0}")]
    Config(String),
    #[error("the reward program failed during training; the run stopped cleanly\n{0}")]
    Reward(Box<RewardError>),
    #[error("{path}: {message}")]
    File { path: PathBuf, message: String },
    #[error("{path}: not a usable checkpoint: {message}")]
    Checkpoint { path: PathBuf, message: String },
    #[error(transparent)]
    UserFile(#[from] user_files::FileError),
}

impl TrainError {
    pub(crate) fn file(path: &std::path::Path, error: impl std::fmt::Display) -> Self {
        TrainError::File {
            path: path.to_path_buf(),
            message: error.to_string(),
        }
    }

    pub(crate) fn checkpoint(path: &std::path::Path, error: impl std::fmt::Display) -> Self {
        TrainError::Checkpoint {
            path: path.to_path_buf(),
            message: error.to_string(),
        }
    }
}
