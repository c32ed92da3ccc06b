//! One update of the configured algorithm: [`crate::ppo`] or [`crate::grpo`], each collecting
//! and learning over the shared [`Trainer`] state.

use crate::metrics::MetricsRow;
use crate::trainer::Trainer;
use crate::{Algorithm, grpo, ppo};
use rl_env::VecEnv;

impl Trainer {
    /// One update of the configured algorithm; returns its metrics row.
    pub fn update(&mut self, venv: &mut VecEnv) -> MetricsRow {
        match self.config.algo {
            Algorithm::Ppo => ppo::update(self, venv),
            Algorithm::Grpo => grpo::update(self, venv),
        }
    }
}
