//! An evolve run's settings, written into its database so that `--resume` continues with the
//! same ones.

use crate::finals::FINAL_LABELS;
use crate::schedule::Schedule;
pub use crate::slurm::SlurmOptions;
use crate::store::Store;
use crate::{DATABASE_FILE, EvolveError};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
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

/// Where the trainings run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum ExecutorKind {
    /// Processes on this machine, `jobs` at a time.
    #[default]
    Local,
    /// Slurm job arrays, one per rung of a generation and one for the final evaluation
    /// ([`crate::slurm`]).
    Slurm,
}

/// Reads the config of the run in `dir`.
pub fn read_config(dir: &Path) -> Result<EvolveConfig, EvolveError> {
    let db = dir.join(DATABASE_FILE);
    if !db.exists() {
        return Err(EvolveError::Config(format!(
            "{}: not an evolve run ({DATABASE_FILE} is missing)",
            dir.display()
        )));
    }
    EvolveConfig::from_store(&Store::open(&db)?).map_err(|e| match e {
        EvolveError::Store(message) => EvolveError::Store(format!("{}: {message}", db.display())),
        e => e,
    })
}

/// An evolve config file (`evolve --config FILE.toml`): the executor and, in a `[slurm]`
/// table, the Slurm settings under the names of their `--slurm-*` flags (`cpus_per_task`
/// for `--slurm-cpus-per-task`, `args` for the repeated `--slurm-arg`). Flags override it.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EvolveFile {
    pub executor: Option<ExecutorKind>,
    pub slurm: Option<SlurmOptions>,
}

impl EvolveFile {
    /// Parses a config file's text; the error names the line and the key.
    pub fn parse(text: &str) -> Result<Self, String> {
        toml::from_str(text).map_err(|e| e.to_string())
    }
}

/// Preset sizes of a run; flags override any part. [`Budget::sizes`] holds the numbers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Budget {
    /// A first look in minutes.
    Quick,
    /// The default.
    Default,
    /// As Eureka's scale allows on a workstation.
    Full,
}

/// The sizes a budget sets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BudgetSizes {
    pub samples: u32,
    pub generations: u32,
    /// Env steps of the top rung (what the final evaluation trains for).
    pub steps: u64,
    pub eta: u32,
    pub rungs: u32,
    pub seeds: u32,
}

impl Budget {
    /// The presets, in one place.
    pub fn sizes(self) -> BudgetSizes {
        let (samples, generations, steps, eta, rungs, seeds) = match self {
            Budget::Quick => (4, 1, 60_000, 3, 2, 2),
            Budget::Default => (8, 3, 1_000_000, 3, 3, 3),
            Budget::Full => (16, 5, 3_000_000, 3, 4, 5),
        };
        BudgetSizes {
            samples,
            generations,
            steps,
            eta,
            rungs,
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
/// The schedule's promotion ratio at most.
pub const MAX_ETA: u64 = 100;
/// Rungs of the schedule at most.
pub const MAX_RUNGS: u64 = 10;

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
    /// Env steps of the top rung: what a candidate promoted all the way, and each final
    /// run, trains for.
    pub steps: u64,
    /// Successive halving: one in `eta` of a rung's candidates (rounded up) is promoted.
    pub eta: u32,
    /// Rungs of the schedule; rung k trains to `steps / eta^(rungs - 1 - k)` env steps.
    pub rungs: u32,
    /// Seeds of the final evaluation, per reward.
    pub seeds: u32,
    /// Retries of a sample whose reply fails its check; they do not use up a generation.
    pub retries: u32,
    /// Candidates trained at once (default: one per core) by the local executor.
    pub jobs: usize,
    /// Where the trainings run.
    #[serde(default)]
    pub executor: ExecutorKind,
    /// The Slurm executor's settings.
    #[serde(default)]
    pub slurm: SlurmOptions,
    /// Recombine the top two programs as well as mutating the elite.
    pub crossover: bool,
    /// Seed of the generator and of every training run.
    pub seed: u64,
    /// Training settings of every candidate and final run (`total_steps` is set from
    /// `steps`).
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
    pub fn library(&self) -> Result<Vec<(String, String)>, EvolveError> {
        crate::library::library(self.rewards.as_deref(), self.rewards_replace, &self.env)
    }

    /// Reads a config as the run store holds it. A run from before the multi-fidelity
    /// schedule (its config has `racing` and `race_margin`) trained every candidate to
    /// `steps`, so it reads as a schedule of one rung.
    pub fn from_json(text: &str) -> Result<Self, String> {
        let mut value: serde_json::Value = serde_json::from_str(text).map_err(|e| e.to_string())?;
        if let Some(map) = value.as_object_mut()
            && map.contains_key("racing")
            && !map.contains_key("rungs")
        {
            map.remove("racing");
            map.remove("race_margin");
            map.insert("eta".into(), Budget::Default.sizes().eta.into());
            map.insert("rungs".into(), 1.into());
        }
        serde_json::from_value(value).map_err(|e| e.to_string())
    }

    /// The config a run store holds (written when the run started).
    pub fn from_store(store: &Store) -> Result<Self, EvolveError> {
        let text = store
            .meta("config")?
            .ok_or_else(|| EvolveError::Store("the run has no config".into()))?;
        Self::from_json(&text).map_err(|e| EvolveError::Store(format!("config: {e}")))
    }

    /// The run's multi-fidelity schedule.
    pub fn schedule(&self) -> Schedule {
        Schedule::new(self.steps, self.eta, self.rungs)
    }

    /// The whole budget in env steps: each generation's candidates as the schedule plans
    /// them (every sample passing its check), and 3 rewards × seeds final runs at the top
    /// rung.
    pub fn total_steps(&self) -> u64 {
        let schedule = self.schedule();
        let candidates = schedule
            .generation_steps(u64::from(self.samples))
            .saturating_mul(u64::from(self.generations));
        let finals = (FINAL_LABELS.len() as u64 * u64::from(self.seeds))
            .saturating_mul(schedule.top_steps());
        candidates.saturating_add(finals)
    }

    /// A run of `env` with a budget's sizes, `env`'s training defaults
    /// ([`TrainConfig::for_env`]) and everything else at its default.
    pub fn new(env: &str, budget: Budget) -> Self {
        let sizes = budget.sizes();
        Self {
            env: env.to_string(),
            generator: GeneratorKind::Offline,
            replay_from: None,
            samples: sizes.samples,
            generations: sizes.generations,
            steps: sizes.steps,
            eta: sizes.eta,
            rungs: sizes.rungs,
            seeds: sizes.seeds,
            retries: 2,
            jobs: std::thread::available_parallelism().map_or(1, |n| n.get()),
            executor: ExecutorKind::Local,
            slurm: SlurmOptions::default(),
            crossover: true,
            seed: 1,
            train: TrainConfig::for_env(env),
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
            ("--eta", u64::from(self.eta), 2, MAX_ETA),
            ("--rungs", u64::from(self.rungs), 1, MAX_RUNGS),
        ];
        for (flag, value, min, max) in counts {
            if value < min {
                return Err(format!("{flag} must be at least {min}"));
            }
            if value > max {
                return Err(format!("{flag} must be at most {max}, not {value}"));
            }
        }
        self.slurm.validate()?;
        // The training settings first: the rollout size below is only meaningful for valid
        // ones (and cannot overflow then).
        self.train.validate()?;
        let rollout = self.train.batch_size() as u64;
        if self.steps < rollout {
            return Err(format!(
                "--steps {} is less than one rollout ({rollout} = num_envs × num_steps)",
                self.steps
            ));
        }
        let lowest = self.schedule().rung_steps[0];
        if lowest < rollout {
            return Err(format!(
                "the lowest rung, --steps / eta^(rungs - 1) = {} / {}^{} = {lowest} env steps, \
                 is less than one rollout ({rollout} = num_envs × num_steps); give fewer \
                 --rungs, a smaller --eta or more --steps",
                self.steps,
                self.eta,
                self.rungs - 1
            ));
        }
        Ok(())
    }

    /// The training settings of one run with `seed`: `total_steps` is the top rung's, so a
    /// candidate paused at a lower rung has trained exactly as the start of a top-rung run.
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
        assert_eq!(err(|c| c.eta = 1), "--eta must be at least 2");
        assert_eq!(err(|c| c.rungs = 0), "--rungs must be at least 1");
        assert!(err(|c| c.rungs = 11).starts_with("--rungs must be at most 10"));
        // 2048 / 3^2 = 227 steps is less than one rollout of 8 × 256.
        let e = err(|c| {
            c.steps = 2048;
            c.rungs = 3;
        });
        assert!(
            e.starts_with("the lowest rung, --steps / eta^(rungs - 1) = 2048 / 3^2 = 227"),
            "{e}"
        );
        assert!(e.contains("give fewer --rungs"), "{e}");
        assert!(err(|c| c.train.target_kl = Some(f64::NAN)).starts_with("target_kl"));
        // A rollout that overflows is the training settings' error, not a panic here.
        let e = err(|c| {
            c.train.num_envs = usize::MAX;
            c.train.num_steps = usize::MAX;
        });
        assert!(e.starts_with("num_envs must be at most"), "{e}");
    }

    #[test]
    fn budgets_add_up_the_schedule_and_the_final_runs() {
        let config = EvolveConfig::new("franka-reach", Budget::Default);
        assert_eq!(
            config.schedule().rung_steps,
            vec![111_111, 333_333, 1_000_000]
        );
        // 8 at 111,111, 3 of them resumed to 333,333 and 1 of those to 1,000,000, each
        // resumed run counted once: 8 × 111,111 + 3 × 222,222 + 1 × 666,667 per generation.
        let generation = 8 * 111_111 + 3 * 222_222 + 666_667;
        assert_eq!(config.total_steps(), 3 * generation + 3 * 3 * 1_000_000);
        let quick = EvolveConfig::new("franka-reach", Budget::Quick);
        assert_eq!(quick.schedule().rung_steps, vec![20_000, 60_000]);
        assert_eq!(
            quick.total_steps(),
            4 * 20_000 + 2 * 40_000 + 3 * 2 * 60_000
        );
        // The default budget evaluates at least 16 candidates at the lowest rung.
        let sizes = Budget::Default.sizes();
        assert!(sizes.samples * sizes.generations >= 16);
        for budget in [Budget::Quick, Budget::Default, Budget::Full] {
            let config = EvolveConfig::new("franka-push", budget);
            assert_eq!(config.validate(), Ok(()), "{budget:?}");
            assert_eq!(config.train, TrainConfig::for_env("franka-push"));
        }
    }

    /// docs/evolve.md's budget table, as the presets compute it.
    fn budget_rows() -> Vec<String> {
        use crate::text::format_count;
        [Budget::Quick, Budget::Default, Budget::Full]
            .into_iter()
            .map(|budget| {
                let config = EvolveConfig::new("franka-reach", budget);
                let schedule = config.schedule();
                let rungs: Vec<String> = schedule
                    .rung_steps
                    .iter()
                    .map(|s| format_count(*s))
                    .collect();
                let name = format!("{budget:?}").to_lowercase();
                format!(
                    "| `{name}` | {} × {} | {} (eta {}) | {} | {} |",
                    config.samples,
                    config.generations,
                    rungs.join(" / "),
                    config.eta,
                    config.seeds,
                    format_count(config.total_steps())
                )
            })
            .collect()
    }

    #[test]
    fn the_documented_budgets_are_the_presets() {
        let doc = include_str!("../../../docs/evolve.md");
        let rows = budget_rows();
        let missing: Vec<&String> = rows.iter().filter(|r| !doc.contains(r.as_str())).collect();
        assert!(
            missing.is_empty(),
            "docs/evolve.md's Budgets table is out of date; its rows are:\n{}",
            rows.join("\n")
        );
    }

    #[test]
    fn a_config_from_before_the_schedule_reads_as_one_rung() {
        let mut old =
            serde_json::to_value(EvolveConfig::new("franka-reach", Budget::Quick)).unwrap();
        let map = old.as_object_mut().unwrap();
        map.remove("eta");
        map.remove("rungs");
        map.insert("racing".into(), true.into());
        map.insert("race_margin".into(), 0.25.into());
        let config = EvolveConfig::from_json(&old.to_string()).unwrap();
        assert_eq!(config.rungs, 1);
        assert_eq!(config.schedule().rung_steps, vec![config.steps]);
        // Any other unknown setting is still an error naming it.
        old["colour"] = "blue".into();
        let err = EvolveConfig::from_json(&old.to_string()).unwrap_err();
        assert!(err.contains("colour"), "{err}");
    }
}
