//! An evolve run's settings, written into its database so that `--resume` continues with the
//! same ones.

use serde::{Deserialize, Serialize};
use std::path::PathBuf;
use trainer::TrainConfig;

/// Where programs come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum GeneratorKind {
    /// Evolutionary search over programs, no language model.
    Offline,
    /// Any OpenAI-compatible chat-completions endpoint.
    Openai,
    /// The replies of a stored run (`--replay RUN`).
    Replay,
}

/// Preset sizes of a run; flags override any part.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Budget {
    /// 3 samples × 2 generations × 60k steps, 2 final seeds: a first look in minutes.
    Quick,
    /// 4 samples × 3 generations × 150k steps, 3 final seeds: about 30 minutes on 2 cores.
    Default,
    /// 8 samples × 5 generations × 1M steps, 5 final seeds, as Eureka's scale allows on a
    /// workstation.
    Full,
}

/// The sizes a budget sets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BudgetSizes {
    pub samples: u32,
    pub generations: u32,
    pub steps: u64,
    pub seeds: u32,
}

impl Budget {
    pub fn sizes(self) -> BudgetSizes {
        let (samples, generations, steps, seeds) = match self {
            Budget::Quick => (3, 2, 60_000, 2),
            Budget::Default => (4, 3, 150_000, 3),
            Budget::Full => (8, 5, 1_000_000, 5),
        };
        BudgetSizes {
            samples,
            generations,
            steps,
            seeds,
        }
    }
}

/// Candidates per generation at most.
pub const MAX_SAMPLES: u64 = 1000;
/// Generations at most.
pub const MAX_GENERATIONS: u64 = 1000;
/// Final-evaluation seeds per reward at most.
pub const MAX_SEEDS: u64 = 100;
/// Retries of a sample whose program fails its check, at most.
pub const MAX_RETRIES: u64 = 100;
/// Training processes at once, at most.
pub const MAX_JOBS: u64 = 1024;

/// Every setting of an evolve run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EvolveConfig {
    pub env: String,
    pub generator: GeneratorKind,
    /// The run whose replies `replay` plays back.
    pub replay_from: Option<PathBuf>,
    /// Samples (candidates) per generation.
    pub samples: u32,
    pub generations: u32,
    /// Env steps each candidate trains for.
    pub steps: u64,
    /// Seeds of the final evaluation, per reward.
    pub seeds: u32,
    /// Retries of a sample whose reply fails its check; they do not use up a generation.
    pub retries: u32,
    /// Candidates trained at once (default: one per core).
    pub jobs: usize,
    /// Stop candidates clearly behind the elite at half their budget.
    pub racing: bool,
    /// How far behind the elite's halfway fitness a candidate may be before it is raced out.
    pub race_margin: f64,
    /// Recombine the top two programs as well as mutating the elite.
    pub crossover: bool,
    /// Seed of the generator and of every training run.
    pub seed: u64,
    /// Training settings of every candidate (`total_steps` is set from `steps`).
    pub train: TrainConfig,
    /// A folder of hand-written programs, `<rewards>/<env>/*.rhai`, besides the built-in
    /// ones (see [`crate::library`]).
    pub rewards: Option<PathBuf>,
    /// Whether `rewards` replaces the built-in programs (`--rewards DIR`) rather than adding
    /// to them (a `rewards/` folder in the working directory).
    #[serde(default)]
    pub rewards_replace: bool,
    /// Templates replacing the built-in prompts.
    pub templates: Option<PathBuf>,
    /// The language model, for the record (never the key).
    pub llm_model: Option<String>,
    pub llm_base_url: Option<String>,
}

impl EvolveConfig {
    /// The hand-written programs this run starts from, as (file name, source).
    pub fn library(&self) -> Result<Vec<(String, String)>, crate::EvolveError> {
        crate::library::library(self.rewards.as_deref(), self.rewards_replace, &self.env)
    }

    /// A run of `env` with a budget's sizes and everything else at its default.
    pub fn new(env: &str, budget: Budget) -> Self {
        let sizes = budget.sizes();
        Self {
            env: env.to_string(),
            generator: GeneratorKind::Offline,
            replay_from: None,
            samples: sizes.samples,
            generations: sizes.generations,
            steps: sizes.steps,
            seeds: sizes.seeds,
            retries: 2,
            jobs: std::thread::available_parallelism().map_or(1, |n| n.get()),
            racing: true,
            race_margin: 0.25,
            crossover: true,
            seed: 1,
            train: TrainConfig::default(),
            rewards: None,
            rewards_replace: false,
            templates: None,
            llm_model: None,
            llm_base_url: None,
        }
    }

    /// Checks every setting, the training settings included; the message names the setting
    /// and what it may be. The bounds are far past any run a machine finishes, so that a
    /// typo (`--samples 4000000000`) is an error rather than a run that never ends.
    pub fn validate(&self) -> Result<(), String> {
        let counts = [
            ("--samples", u64::from(self.samples), 1, MAX_SAMPLES),
            (
                "--generations",
                u64::from(self.generations),
                1,
                MAX_GENERATIONS,
            ),
            ("--seeds", u64::from(self.seeds), 1, MAX_SEEDS),
            ("--retries", u64::from(self.retries), 0, MAX_RETRIES),
            ("--jobs", self.jobs as u64, 1, MAX_JOBS),
            ("--steps", self.steps, 1, trainer::limits::MAX_TOTAL_STEPS),
        ];
        for (flag, value, min, max) in counts {
            if value < min {
                return Err(format!("{flag} must be at least {min}"));
            }
            if value > max {
                return Err(format!("{flag} must be at most {max}, not {value}"));
            }
        }
        if !(self.race_margin.is_finite() && (0.0..=1e6).contains(&self.race_margin)) {
            return Err(format!(
                "--race-margin must be a finite number in [0, 1000000], not {}",
                self.race_margin
            ));
        }
        // The training settings first: the rollout size below is only meaningful for valid
        // ones (and cannot overflow then).
        self.train.validate()?;
        if self.steps < self.train.batch_size() as u64 {
            return Err(format!(
                "--steps {} is less than one rollout ({} = num_envs × num_steps)",
                self.steps,
                self.train.batch_size()
            ));
        }
        Ok(())
    }

    /// The training settings of one run with `seed`.
    pub fn train_config(&self, seed: u64) -> TrainConfig {
        TrainConfig {
            total_steps: self.steps,
            seed,
            threads: 1,
            ..self.train.clone()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_setting_is_bounded_and_named() {
        let base = EvolveConfig::new("franka-reach", Budget::Quick);
        assert_eq!(base.validate(), Ok(()));
        let err = |edit: fn(&mut EvolveConfig)| {
            let mut config = base.clone();
            edit(&mut config);
            config.validate().unwrap_err()
        };
        assert_eq!(
            err(|c| c.samples = 4_000_000_000),
            "--samples must be at most 1000, not 4000000000"
        );
        assert_eq!(
            err(|c| c.generations = 0),
            "--generations must be at least 1"
        );
        assert!(err(|c| c.seeds = 1000).starts_with("--seeds must be at most 100"));
        assert!(err(|c| c.jobs = usize::MAX).starts_with("--jobs must be at most"));
        assert!(err(|c| c.steps = u64::MAX).starts_with("--steps must be at most"));
        assert!(err(|c| c.race_margin = f64::NAN).starts_with("--race-margin must be a finite"));
        assert!(err(|c| c.train.target_kl = Some(f64::NAN)).starts_with("target_kl"));
        // A rollout that overflows is the training settings' error, not a panic here.
        let e = err(|c| {
            c.train.num_envs = usize::MAX;
            c.train.num_steps = usize::MAX;
        });
        assert!(e.starts_with("num_envs must be at most"), "{e}");
    }
}
