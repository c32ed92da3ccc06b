//! A training run on disk: `config.toml`, the reward program, `metrics.jsonl` and
//! `checkpoints/`. Runs resume from their last checkpoint.

use crate::envs::{TrainEnvs, make_envs};
use crate::metrics::{MetricsLog, MetricsRow, read_metrics};
use crate::run_dir::{CONFIG_FILE, RunDir};
use crate::{TrainConfig, TrainError, Trainer};
use envs::EnvOptions;
use reward_dsl::{Limits, RewardProgram};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use user_files::Kind;

/// What a run trains on, as written in its `config.toml`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunSetup {
    /// The env name.
    pub env: String,
    /// Env options (frame skip, model file).
    #[serde(default)]
    pub env_options: EnvOptions,
    /// Where the reward program came from; the run keeps its own copy as `reward.rhai`.
    pub reward_source: Option<PathBuf>,
}

/// How a run's last `train` call ended, written as `outcome.json` for whoever launched it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Outcome {
    pub end: RunEnd,
    pub global_step: u64,
}

/// The whole `config.toml` of a run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunConfig {
    pub run: RunSetup,
    pub train: TrainConfig,
}

/// Updates between redraws of `curves.png` (it is also drawn when a run ends or stops).
const CURVES_EVERY: u64 = 10;

/// How a call to [`train`] ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RunEnd {
    /// Every configured step was taken.
    Finished,
    /// The stop flag was raised; the last update is checkpointed and the run can resume.
    Stopped,
    /// The run reached the step it was asked to train until (`--until`), short of its
    /// `total_steps`; it is checkpointed and resumes from there with the same learning-rate
    /// schedule.
    Paused,
}

/// A run directory.
pub struct Run {
    pub dir: PathBuf,
    pub config: RunConfig,
}

impl Run {
    /// Starts a new run in `dir`, which must not hold a run already.
    /// The settings are checked against the env (its observation and action sizes and the
    /// memory a rollout takes) before anything is written.
    pub fn create(dir: &Path, setup: RunSetup, train: TrainConfig) -> Result<Self, TrainError> {
        train.validate().map_err(TrainError::Config)?;
        let probe = task_file::make(&setup.env, &setup.env_options)?;
        check_against_env(&train, probe.spec())?;
        let layout = RunDir::new(dir);
        if layout.config().exists() {
            return Err(TrainError::file(
                dir,
                "already holds a run; resume it with --resume, or choose another --out",
            ));
        }
        // Read through the capped reader (never `fs::copy`, which would follow a FIFO or
        // copy /dev/zero until the disk fills).
        let reward = match &setup.reward_source {
            Some(source) => Some(user_files::read(source, Kind::REWARD)?),
            None => None,
        };
        std::fs::create_dir_all(layout.checkpoints()).map_err(|e| TrainError::file(dir, e))?;
        if let Some(bytes) = reward {
            let path = layout.reward();
            std::fs::write(&path, bytes).map_err(|e| TrainError::file(&path, e))?;
        }
        let config = RunConfig { run: setup, train };
        let text = toml::to_string_pretty(&config).map_err(|e| TrainError::file(dir, e))?;
        let path = layout.config();
        std::fs::write(&path, text).map_err(|e| TrainError::file(&path, e))?;
        Ok(Self {
            dir: dir.to_path_buf(),
            config,
        })
    }

    /// Opens an existing run.
    pub fn open(dir: &Path) -> Result<Self, TrainError> {
        let path = RunDir::new(dir).config();
        if !path.exists() && !path.is_symlink() {
            let what = if dir.is_dir() {
                format!("no run here ({CONFIG_FILE} is missing)")
            } else {
                "no run here (no such directory)".to_string()
            };
            return Err(TrainError::file(dir, what));
        }
        let text = user_files::read_to_string(&path, Kind::CONFIG)?;
        let config = parse_config(&text).map_err(|e| TrainError::file(&path, e))?;
        config
            .train
            .validate()
            .map_err(|e| TrainError::file(&path, e))?;
        Ok(Self {
            dir: dir.to_path_buf(),
            config,
        })
    }

    /// The run's reward program, compiled for its env, if it has one.
    pub fn reward_program(
        &self,
        schema: &[envs::StateField],
    ) -> Result<Option<RewardProgram>, TrainError> {
        if self.config.run.reward_source.is_none() {
            return Ok(None);
        }
        let path = self.layout().reward();
        let bytes = user_files::read(&path, Kind::REWARD)?;
        RewardProgram::compile_bytes(
            &bytes,
            &path.display().to_string(),
            schema,
            &Limits::default(),
        )
        .map(Some)
        .map_err(|e| TrainError::Reward(Box::new(e)))
    }

    /// The run's envs, each with the reward program. The run's settings are checked against
    /// the env first (before `num_envs` envs are made).
    pub fn envs(&self, num_envs: usize, threads: usize) -> Result<TrainEnvs, TrainError> {
        let setup = &self.config.run;
        let probe = task_file::make(&setup.env, &setup.env_options)?;
        check_against_env(&self.config.train, probe.spec())?;
        let program = self.reward_program(&probe.spec().state_schema)?;
        make_envs(
            &setup.env,
            &setup.env_options,
            program.as_ref(),
            num_envs,
            threads,
        )
    }

    /// The metrics written so far.
    pub fn metrics(&self) -> Result<Vec<MetricsRow>, TrainError> {
        let path = self.layout().metrics();
        if path.exists() {
            read_metrics(&path)
        } else {
            Ok(Vec::new())
        }
    }

    /// The outcome of the last `train` call, if one has ended.
    pub fn outcome(&self) -> Result<Option<Outcome>, TrainError> {
        let path = self.layout().outcome();
        if !path.exists() {
            return Ok(None);
        }
        let text = user_files::read_to_string(&path, Kind::CONFIG)?;
        serde_json::from_str(&text)
            .map(Some)
            .map_err(|e| TrainError::file(&path, e))
    }

    fn write_outcome(&self, outcome: &Outcome) -> Result<(), TrainError> {
        let path = self.layout().outcome();
        let text = serde_json::to_string_pretty(outcome).map_err(|e| TrainError::file(&path, e))?;
        write_atomically(&path, &text)
    }

    /// Where the run's files lie.
    pub fn layout(&self) -> RunDir<'_> {
        RunDir::new(&self.dir)
    }

    /// The latest checkpoint's folder (`model.bpk`, `optimizer.bpk`, `state.json`).
    pub fn checkpoint_dir(&self) -> PathBuf {
        self.layout().latest_checkpoint()
    }

    /// Whether the run has a checkpoint to resume from (the latest, or the one being
    /// replaced when a kill interrupted the swap).
    fn has_checkpoint(&self) -> bool {
        self.checkpoint_dir().exists() || self.layout().old_checkpoint().exists()
    }

    /// Redraws `curves.png` from `metrics.jsonl`.
    pub fn draw_curves(&self) -> Result<(), TrainError> {
        crate::draw_curves(&self.metrics()?, &self.layout().curves())
    }

    /// Keeps only the metrics rows of updates up to `update` (a resumed run redoes the rest),
    /// rewriting the file whole, which also drops a line a kill cut short.
    fn keep_metrics_through(&self, update: u64) -> Result<(), TrainError> {
        let path = self.layout().metrics();
        if !path.exists() {
            return Ok(());
        }
        let kept: String = self
            .metrics()?
            .iter()
            .filter(|row| row.get("update").is_some_and(|u| *u <= update as f64))
            .map(|row| crate::metrics::encode_row(row) + "\n")
            .collect();
        write_atomically(&path, &kept)
    }

    /// Checkpoints the learner ([`Trainer::save`]), replacing the previous checkpoint only
    /// once the new one is complete, so a kill at any moment leaves one whole checkpoint.
    pub fn save_checkpoint(&self, trainer: &Trainer) -> Result<(), TrainError> {
        let layout = self.layout();
        let (fresh, old, latest) = (
            layout.new_checkpoint(),
            layout.old_checkpoint(),
            layout.latest_checkpoint(),
        );
        let _ = std::fs::remove_dir_all(&fresh);
        trainer.save(&fresh)?;
        let _ = std::fs::remove_dir_all(&old);
        if latest.exists() {
            std::fs::rename(&latest, &old).map_err(|e| TrainError::file(&latest, e))?;
        }
        std::fs::rename(&fresh, &latest).map_err(|e| TrainError::file(&fresh, e))?;
        let _ = std::fs::remove_dir_all(&old);
        Ok(())
    }

    /// Restores a learner from the last checkpoint (or the one being replaced when a kill
    /// interrupted the swap) with [`Trainer::load`], after checking the run's settings
    /// against its env.
    pub fn load_checkpoint(&self) -> Result<Trainer, TrainError> {
        let mut dir = self.checkpoint_dir();
        if !dir.exists() {
            dir = self.layout().old_checkpoint();
        }
        let setup = &self.config.run;
        let env = task_file::make(&setup.env, &setup.env_options)?;
        let spec = env.spec();
        check_against_env(&self.config.train, spec)?;
        Trainer::load(
            self.config.train.clone(),
            &dir,
            spec.observation_space.flat_dim(),
            spec.action_space.flat_dim(),
            &setup.env,
        )
    }
}

/// Reads `config.toml`. A `[run.race]` table, which evolve wrote before its multi-fidelity
/// schedule replaced racing, is dropped: such a run trains on like any other.
fn parse_config(text: &str) -> Result<RunConfig, String> {
    let error = match toml::from_str::<RunConfig>(text) {
        Ok(config) => return Ok(config),
        Err(e) => user_files::toml_message(text, &e),
    };
    let Ok(mut table) = toml::from_str::<toml::Table>(text) else {
        return Err(error);
    };
    let raced = table
        .get_mut("run")
        .and_then(toml::Value::as_table_mut)
        .and_then(|run| run.remove("race"))
        .is_some();
    if !raced {
        return Err(error);
    }
    toml::Value::Table(table)
        .try_into()
        .map_err(|e: toml::de::Error| e.to_string())
}

/// A run's settings against its env: what [`TrainConfig::validate_for_env`] checks.
fn check_against_env(config: &TrainConfig, spec: &envs::TaskSpec) -> Result<(), TrainError> {
    config
        .validate_for_env(
            spec.observation_space.flat_dim(),
            spec.action_space.flat_dim(),
            spec.episode_steps,
        )
        .map_err(|e| TrainError::Config(format!("{} on {}", e, spec.name)))
}

/// Trains until the run has taken `total_steps` env steps or `stop` is raised. A new run
/// starts from scratch; a run with a checkpoint continues from it. After every update the
/// learner is checkpointed (every `checkpoint_every` updates) and a metrics row appended;
/// `on_update` sees each row.
pub fn train(
    run: &Run,
    stop: &AtomicBool,
    on_update: &mut dyn FnMut(&MetricsRow),
) -> Result<RunEnd, TrainError> {
    train_until(run, None, stop, on_update)
}

/// [`train`], pausing once the run has taken `until` env steps (at the end of the update that
/// reaches it) with a checkpoint there: [`RunEnd::Paused`]. The learning rate still anneals
/// over `total_steps`, so the metrics up to the pause are those of a run trained straight
/// through, and a later call with a larger `until` (or none) continues from the checkpoint.
/// A run already at or past `until` pauses at once without training.
pub fn train_until(
    run: &Run,
    until: Option<u64>,
    stop: &AtomicBool,
    on_update: &mut dyn FnMut(&MetricsRow),
) -> Result<RunEnd, TrainError> {
    let config = &run.config.train;
    let mut envs = run.envs(config.num_envs, config.threads)?;
    let has_checkpoint = run.has_checkpoint();
    let mut trainer = if has_checkpoint {
        run.load_checkpoint()?
    } else {
        let obs_dim = envs.venv.observation_space().flat_dim();
        let act_dim = envs.venv.action_space().flat_dim();
        Trainer::new(config.clone(), obs_dim, act_dim)
    };
    run.keep_metrics_through(trainer.update)?;
    let _ = std::fs::remove_file(run.layout().outcome());
    let mut log = MetricsLog::open(&run.layout().metrics())?;
    // The update the checkpoint on disk holds, when it holds the learner's current state.
    let mut saved = has_checkpoint.then_some(trainer.update);
    let end = |end: RunEnd, step: u64| -> Result<RunEnd, TrainError> {
        run.draw_curves()?;
        run.write_outcome(&Outcome {
            end,
            global_step: step,
        })?;
        Ok(end)
    };
    loop {
        if trainer.global_step >= config.total_steps {
            return end(RunEnd::Finished, trainer.global_step);
        }
        let pause = until.is_some_and(|until| trainer.global_step >= until);
        if pause || stop.load(Ordering::Relaxed) {
            if saved != Some(trainer.update) {
                run.save_checkpoint(&trainer)?;
            }
            let how = if pause {
                RunEnd::Paused
            } else {
                RunEnd::Stopped
            };
            return end(how, trainer.global_step);
        }
        let row = trainer.update(&mut envs.venv);
        if let Some(error) = envs.reward_error() {
            return Err(error);
        }
        let last = trainer.global_step >= config.total_steps;
        // The row first: a kill between the two leaves a row past the checkpoint, which a
        // resumed run drops, rather than a checkpoint whose row is lost.
        log.write(&row)?;
        if last || trainer.update % config.checkpoint_every as u64 == 0 {
            run.save_checkpoint(&trainer)?;
            saved = Some(trainer.update);
        }
        on_update(&row);
        if trainer.update % CURVES_EVERY == 0 {
            run.draw_curves()?;
        }
    }
}

/// Writes `path` through a temporary file and a rename, so readers see the old or the new
/// text, never a part.
fn write_atomically(path: &Path, text: &str) -> Result<(), TrainError> {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, text).map_err(|e| TrainError::file(&tmp, e))?;
    std::fs::rename(&tmp, path).map_err(|e| TrainError::file(path, e))
}
