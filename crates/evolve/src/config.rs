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
    /// Where the hand-written programs are: `<rewards>/<env>/*.rhai`.
    pub rewards: PathBuf,
    /// Templates replacing the built-in prompts.
    pub templates: Option<PathBuf>,
    /// The language model, for the record (never the key).
    pub llm_model: Option<String>,
    pub llm_base_url: Option<String>,
}

impl EvolveConfig {
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
            rewards: PathBuf::from("rewards"),
            templates: None,
            llm_model: None,
            llm_base_url: None,
        }
    }

    /// Checks the sizes; the message names the setting.
    pub fn validate(&self) -> Result<(), String> {
        if self.samples == 0 {
            return Err("--samples must be at least 1".into());
        }
        if self.generations == 0 {
            return Err("--generations must be at least 1".into());
        }
        if self.seeds == 0 {
            return Err("--seeds must be at least 1".into());
        }
        if self.jobs == 0 {
            return Err("--jobs must be at least 1".into());
        }
        if !(self.race_margin.is_finite() && self.race_margin >= 0.0) {
            return Err("--race-margin must be a number ≥ 0".into());
        }
        if self.steps < self.train.batch_size() as u64 {
            return Err(format!(
                "--steps {} is less than one rollout ({} = num_envs × num_steps)",
                self.steps,
                self.train.batch_size()
            ));
        }
        self.train.validate()
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
