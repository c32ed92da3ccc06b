//! A training run on disk: `config.toml`, the reward program, `metrics.jsonl` and
//! `checkpoints/`. Runs resume from their last checkpoint.

use crate::agent::param_shapes;
use crate::envs::{TrainEnvs, make_envs};
use crate::metrics::{MetricsLog, MetricsRow, read_metrics};
use crate::normalize::{ObsNormalizer, RewardScaler};
use crate::{TrainConfig, TrainError, Trainer};
use burn::module::Module;
use envs::EnvOptions;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
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

/// Learner state beside the weights: written as `checkpoints/latest/state.json`.
#[derive(Serialize, Deserialize)]
struct CheckpointState {
    global_step: u64,
    update: u64,
    obs_norm: ObsNormalizer,
    reward_scaler: RewardScaler,
    rng_seed: [u8; 32],
    rng_stream: u64,
    rng_word_pos: u128,
    obs_dim: usize,
    act_dim: usize,
}

const CONFIG_FILE: &str = "config.toml";
const REWARD_FILE: &str = "reward.rhai";
const METRICS_FILE: &str = "metrics.jsonl";
const CHECKPOINTS: &str = "checkpoints";
const OUTCOME_FILE: &str = "outcome.json";
const CURVES_FILE: &str = "curves.png";
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
        let probe = envs::make(&setup.env, &setup.env_options)?;
        check_against_env(&train, probe.spec())?;
        if dir.join(CONFIG_FILE).exists() {
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
        std::fs::create_dir_all(dir.join(CHECKPOINTS)).map_err(|e| TrainError::file(dir, e))?;
        if let Some(bytes) = reward {
            let path = dir.join(REWARD_FILE);
            std::fs::write(&path, bytes).map_err(|e| TrainError::file(&path, e))?;
        }
        let config = RunConfig { run: setup, train };
        let text = toml::to_string_pretty(&config).map_err(|e| TrainError::file(dir, e))?;
        let path = dir.join(CONFIG_FILE);
        std::fs::write(&path, text).map_err(|e| TrainError::file(&path, e))?;
        Ok(Self {
            dir: dir.to_path_buf(),
            config,
        })
    }

    /// Opens an existing run.
    pub fn open(dir: &Path) -> Result<Self, TrainError> {
        let path = dir.join(CONFIG_FILE);
        if !path.exists() && !path.is_symlink() {
            let what = if dir.is_dir() {
                "no run here (config.toml is missing)"
            } else {
                "no run here (no such directory)"
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
        let path = self.dir.join(REWARD_FILE);
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
        let probe = envs::make(&setup.env, &setup.env_options)?;
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
        let path = self.dir.join(METRICS_FILE);
        if path.exists() {
            read_metrics(&path)
        } else {
            Ok(Vec::new())
        }
    }

    /// The outcome of the last `train` call, if one has ended.
    pub fn outcome(&self) -> Result<Option<Outcome>, TrainError> {
        let path = self.dir.join(OUTCOME_FILE);
        if !path.exists() {
            return Ok(None);
        }
        let text = user_files::read_to_string(&path, Kind::CONFIG)?;
        serde_json::from_str(&text)
            .map(Some)
            .map_err(|e| TrainError::file(&path, e))
    }

    fn write_outcome(&self, outcome: &Outcome) -> Result<(), TrainError> {
        let path = self.dir.join(OUTCOME_FILE);
        let text = serde_json::to_string_pretty(outcome).map_err(|e| TrainError::file(&path, e))?;
        write_atomically(&path, &text)
    }

    /// The latest checkpoint's folder (`model.bpk`, `optimizer.bpk`, `state.json`).
    pub fn checkpoint_dir(&self) -> PathBuf {
        self.dir.join(CHECKPOINTS).join("latest")
    }

    /// Redraws `curves.png` from `metrics.jsonl`.
    pub fn draw_curves(&self) -> Result<(), TrainError> {
        crate::draw_curves(&self.metrics()?, &self.dir.join(CURVES_FILE))
    }

    /// Keeps only the metrics rows of updates up to `update` (a resumed run redoes the rest),
    /// rewriting the file whole, which also drops a line a kill cut short.
    fn keep_metrics_through(&self, update: u64) -> Result<(), TrainError> {
        let path = self.dir.join(METRICS_FILE);
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

    /// Writes the learner's state, replacing the previous checkpoint only once the new one is
    /// complete, so a kill at any moment leaves one whole checkpoint.
    pub fn save_checkpoint(&self, trainer: &Trainer) -> Result<(), TrainError> {
        let root = self.dir.join(CHECKPOINTS);
        let fresh = root.join("latest.new");
        let old = root.join("latest.old");
        let latest = self.checkpoint_dir();
        let _ = std::fs::remove_dir_all(&fresh);
        std::fs::create_dir_all(&fresh).map_err(|e| TrainError::file(&fresh, e))?;
        trainer
            .agent
            .clone()
            .save_file(fresh.join("model.bpk"))
            .map_err(|e| TrainError::file(&fresh, e))?;
        trainer
            .optimizer
            .save(fresh.join("optimizer.bpk"))
            .map_err(|e| TrainError::file(&fresh, e))?;
        let state = CheckpointState {
            global_step: trainer.global_step,
            update: trainer.update,
            obs_norm: trainer.obs_norm.clone(),
            reward_scaler: trainer.reward_scaler.clone(),
            rng_seed: trainer.rng.get_seed(),
            rng_stream: trainer.rng.get_stream(),
            rng_word_pos: trainer.rng.get_word_pos(),
            obs_dim: trainer.obs_dim(),
            act_dim: trainer.act_dim(),
        };
        let state_path = fresh.join("state.json");
        let text =
            serde_json::to_string_pretty(&state).map_err(|e| TrainError::file(&state_path, e))?;
        std::fs::write(&state_path, text).map_err(|e| TrainError::file(&state_path, e))?;
        let _ = std::fs::remove_dir_all(&old);
        if latest.exists() {
            std::fs::rename(&latest, &old).map_err(|e| TrainError::file(&latest, e))?;
        }
        std::fs::rename(&fresh, &latest).map_err(|e| TrainError::file(&fresh, e))?;
        let _ = std::fs::remove_dir_all(&old);
        Ok(())
    }

    /// Restores a learner from the last checkpoint (or the one being replaced when a kill
    /// interrupted the swap). The checkpoint is checked against the run's config and env
    /// first: observation and action sizes, normalizer lengths, and every tensor's name and
    /// shape in `model.bpk` and `optimizer.bpk`; a mismatch or a damaged file is an error
    /// naming the file and what differs.
    pub fn load_checkpoint(&self) -> Result<Trainer, TrainError> {
        let mut dir = self.checkpoint_dir();
        if !dir.exists() {
            dir = self.dir.join(CHECKPOINTS).join("latest.old");
        }
        let state_path = dir.join("state.json");
        let text = user_files::read_to_string(&state_path, Kind::CHECKPOINT_STATE)
            .map_err(|e| TrainError::checkpoint(&state_path, e.message))?;
        let state: CheckpointState =
            serde_json::from_str(&text).map_err(|e| TrainError::checkpoint(&state_path, e))?;
        let setup = &self.config.run;
        let env = envs::make(&setup.env, &setup.env_options)?;
        let spec = env.spec();
        let (obs_dim, act_dim) = (
            spec.observation_space.flat_dim(),
            spec.action_space.flat_dim(),
        );
        let config = &self.config.train;
        check_against_env(config, spec)?;
        state
            .check(obs_dim, act_dim, &setup.env)
            .map_err(|e| TrainError::checkpoint(&state_path, e))?;
        let mut trainer = Trainer::new(config.clone(), obs_dim, act_dim);
        let expected = param_shapes(&trainer.agent);
        let model_path = dir.join("model.bpk");
        let (model_bytes, model_tensors) = read_pack(&model_path)?;
        check_model_tensors(&model_tensors, &expected, config.hidden)
            .map_err(|e| TrainError::checkpoint(&model_path, e))?;
        let record = burn::store::ModuleRecord::from_bytes(model_bytes)
            .map_err(|e| TrainError::checkpoint(&model_path, one_line(e)))?;
        trainer.agent = trainer
            .agent
            .clone()
            .try_load_record(record)
            .map_err(|e| TrainError::checkpoint(&model_path, one_line(e)))?;
        let optimizer_path = dir.join("optimizer.bpk");
        let (optimizer_bytes, optimizer_tensors) = read_pack(&optimizer_path)?;
        check_optimizer_tensors(&optimizer_tensors, &model_tensors)
            .map_err(|e| TrainError::checkpoint(&optimizer_path, e))?;
        trainer.optimizer = std::mem::replace(
            &mut trainer.optimizer,
            crate::trainer::new_optimizer(config),
        )
        .from_bytes(optimizer_bytes)
        .map_err(|e| TrainError::checkpoint(&optimizer_path, one_line(e)))?;
        trainer.global_step = state.global_step;
        trainer.update = state.update;
        trainer.obs_norm = state.obs_norm;
        trainer.reward_scaler = state.reward_scaler;
        let mut rng = ChaCha8Rng::from_seed(state.rng_seed);
        rng.set_stream(state.rng_stream);
        rng.set_word_pos(state.rng_word_pos);
        trainer.rng = rng;
        Ok(trainer)
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

impl CheckpointState {
    /// The sizes this state was saved with against the env's, and the normalizers' lengths
    /// against those sizes.
    fn check(&self, obs_dim: usize, act_dim: usize, env: &str) -> Result<(), String> {
        if self.obs_dim != obs_dim {
            return Err(format!(
                "obs_dim is {}, but {env} observes {obs_dim} elements",
                self.obs_dim
            ));
        }
        if self.act_dim != act_dim {
            return Err(format!(
                "act_dim is {}, but {env} takes {act_dim} action elements",
                self.act_dim
            ));
        }
        let lengths = [
            (
                "obs_norm.stats.mean",
                self.obs_norm.stats.mean.len(),
                obs_dim,
            ),
            ("obs_norm.stats.var", self.obs_norm.stats.var.len(), obs_dim),
            (
                "reward_scaler.stats.mean",
                self.reward_scaler.stats.mean.len(),
                1,
            ),
            (
                "reward_scaler.stats.var",
                self.reward_scaler.stats.var.len(),
                1,
            ),
        ];
        for (name, len, want) in lengths {
            if len != want {
                return Err(format!("{name} has {len} elements, not {want}"));
            }
        }
        Ok(())
    }
}

/// One tensor as a checkpoint file lists it.
struct PackedTensor {
    name: String,
    shape: Vec<usize>,
    param_id: Option<u64>,
    is_f32: bool,
}

/// Reads a burnpack checkpoint file (capped, regular files only) and lists its tensors; a
/// file that is cut short, or is not a burnpack file, is an error naming it.
fn read_pack(path: &Path) -> Result<(burn_pack::Bytes, Vec<PackedTensor>), TrainError> {
    let bytes = user_files::read(path, Kind::CHECKPOINT)
        .map_err(|e| TrainError::checkpoint(path, e.message))?;
    let damaged = |e: burn_pack::Error| {
        TrainError::checkpoint(
            path,
            format!(
                "the file is damaged or not a burn checkpoint ({})",
                one_line(e)
            ),
        )
    };
    let reader = burn_pack::Reader::from_bytes(burn_pack::Bytes::from_bytes_vec(bytes.clone()))
        .map_err(damaged)?;
    let tensors = reader
        .into_tensors()
        .map_err(damaged)?
        .into_iter()
        .map(|t| PackedTensor {
            is_f32: t.dtype == burn_pack::DType::F32,
            shape: t.shape.to_vec(),
            param_id: t.param_id,
            name: t.name,
        })
        .collect();
    Ok((burn_pack::Bytes::from_bytes_vec(bytes), tensors))
}

/// The model file's tensors against the network the run's config and env give: the same
/// names, each f32 with the expected shape.
fn check_model_tensors(
    tensors: &[PackedTensor],
    expected: &[(String, Vec<usize>)],
    hidden: usize,
) -> Result<(), String> {
    for (name, shape) in expected {
        let Some(tensor) = tensors.iter().find(|t| &t.name == name) else {
            return Err(format!("it has no tensor {name}"));
        };
        if !tensor.is_f32 {
            return Err(format!("tensor {name} is not f32"));
        }
        if &tensor.shape != shape {
            return Err(format!(
                "tensor {name} has shape {:?}, but the run's env and hidden = {hidden} need {:?}",
                tensor.shape, shape
            ));
        }
        if tensor.param_id.is_none() {
            return Err(format!("tensor {name} has no parameter id"));
        }
    }
    if let Some(extra) = tensors
        .iter()
        .find(|t| !expected.iter().any(|(name, _)| *name == t.name))
    {
        return Err(format!(
            "it has a tensor {} that the run's network does not",
            extra.name
        ));
    }
    Ok(())
}

/// The optimizer file's state against the model's parameters: every tensor belongs to one of
/// them (by parameter id) and has its shape (Adam's moments do).
fn check_optimizer_tensors(tensors: &[PackedTensor], model: &[PackedTensor]) -> Result<(), String> {
    for tensor in tensors {
        let Some(id) = tensor.param_id else {
            return Err(format!("tensor {} has no parameter id", tensor.name));
        };
        let Some(param) = model.iter().find(|p| p.param_id == Some(id)) else {
            return Err(format!(
                "tensor {} is the state of a parameter the model does not have (it is from \
                 another run)",
                tensor.name
            ));
        };
        if !tensor.name.starts_with(&format!("{id}.")) {
            return Err(format!(
                "tensor {} is not optimizer state (it is named for parameter {id}'s state as \
                 \"{id}.<field>\"); is this a model file?",
                tensor.name
            ));
        }
        if !tensor.is_f32 || tensor.shape != param.shape {
            return Err(format!(
                "tensor {} has shape {:?}, but its parameter {} has {:?}",
                tensor.name, tensor.shape, param.name, param.shape
            ));
        }
    }
    Ok(())
}

/// An error's text on one line.
fn one_line(error: impl std::fmt::Display) -> String {
    user_files::one_line(&error.to_string())
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
    let has_checkpoint =
        run.checkpoint_dir().exists() || run.dir.join(CHECKPOINTS).join("latest.old").exists();
    let mut trainer = if has_checkpoint {
        run.load_checkpoint()?
    } else {
        let obs_dim = envs.venv.observation_space().flat_dim();
        let act_dim = envs.venv.action_space().flat_dim();
        Trainer::new(config.clone(), obs_dim, act_dim)
    };
    run.keep_metrics_through(trainer.update)?;
    let _ = std::fs::remove_file(run.dir.join(OUTCOME_FILE));
    let mut log = MetricsLog::open(&run.dir.join(METRICS_FILE))?;
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
