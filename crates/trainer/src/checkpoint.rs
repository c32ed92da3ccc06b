//! A learner's checkpoint: a folder with the weights (`model.bpk`), Adam's state
//! (`optimizer.bpk`) and the rest of the learner (`state.json`). [`Trainer::save`] writes
//! one and [`Trainer::load`] restores it, checking every file against the run first.

use crate::agent::param_shapes;
use crate::normalize::{ObsNormalizer, RewardScaler};
use crate::trainer::{new_agent, new_optimizer};
use crate::{TrainConfig, TrainError, Trainer};
use burn::module::Module;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use std::path::Path;
use user_files::Kind;

/// The weights.
const MODEL_FILE: &str = "model.bpk";
/// The optimizer's state.
const OPTIMIZER_FILE: &str = "optimizer.bpk";
/// [`CheckpointState`], as JSON.
const STATE_FILE: &str = "state.json";

/// Learner state beside the weights: written as `state.json`.
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

impl Trainer {
    /// Writes the learner's state into the folder `dir`, creating it. A whole checkpoint
    /// restores the learner exactly, so training on from it gives the metrics of a run that
    /// never stopped.
    pub fn save(&self, dir: &Path) -> Result<(), TrainError> {
        std::fs::create_dir_all(dir).map_err(|e| TrainError::file(dir, e))?;
        self.agent
            .clone()
            .save_file(dir.join(MODEL_FILE))
            .map_err(|e| TrainError::file(dir, e))?;
        self.optimizer
            .save(dir.join(OPTIMIZER_FILE))
            .map_err(|e| TrainError::file(dir, e))?;
        let state = CheckpointState {
            global_step: self.global_step,
            update: self.update,
            obs_norm: self.obs_norm.clone(),
            reward_scaler: self.reward_scaler.clone(),
            rng_seed: self.rng.get_seed(),
            rng_stream: self.rng.get_stream(),
            rng_word_pos: self.rng.get_word_pos(),
            obs_dim: self.obs_dim,
            act_dim: self.act_dim,
        };
        let state_path = dir.join(STATE_FILE);
        let text =
            serde_json::to_string_pretty(&state).map_err(|e| TrainError::file(&state_path, e))?;
        std::fs::write(&state_path, text).map_err(|e| TrainError::file(&state_path, e))
    }

    /// Restores the learner saved in the folder `dir` for a run with `config` on `env`, whose
    /// observations and actions have `obs_dim` and `act_dim` elements. The checkpoint is
    /// checked first: its sizes, normalizer lengths, and every tensor's name and shape in
    /// `model.bpk` and `optimizer.bpk`; a mismatch or a damaged file is an error naming the
    /// file and what differs.
    pub fn load(
        config: TrainConfig,
        dir: &Path,
        obs_dim: usize,
        act_dim: usize,
        env: &str,
    ) -> Result<Self, TrainError> {
        let state_path = dir.join(STATE_FILE);
        let text = user_files::read_to_string(&state_path, Kind::CHECKPOINT_STATE)
            .map_err(|e| TrainError::checkpoint(&state_path, e.message))?;
        let state: CheckpointState =
            serde_json::from_str(&text).map_err(|e| TrainError::checkpoint(&state_path, e))?;
        state
            .check(obs_dim, act_dim, env)
            .map_err(|e| TrainError::checkpoint(&state_path, e))?;
        let device = config.device.burn_device().autodiff();
        // The network the weights load into; its own initial weights are replaced.
        let agent = new_agent(&config, obs_dim, act_dim, &device);
        let model_path = dir.join(MODEL_FILE);
        let (model_bytes, model_tensors) = read_pack(&model_path)?;
        check_model_tensors(&model_tensors, &param_shapes(&agent), config.hidden)
            .map_err(|e| TrainError::checkpoint(&model_path, e))?;
        let record = burn::store::ModuleRecord::from_bytes(model_bytes)
            .map_err(|e| TrainError::checkpoint(&model_path, one_line(e)))?;
        let agent = agent
            .try_load_record(record)
            .map_err(|e| TrainError::checkpoint(&model_path, one_line(e)))?;
        let optimizer_path = dir.join(OPTIMIZER_FILE);
        let (optimizer_bytes, optimizer_tensors) = read_pack(&optimizer_path)?;
        check_optimizer_tensors(&optimizer_tensors, &model_tensors)
            .map_err(|e| TrainError::checkpoint(&optimizer_path, e))?;
        let optimizer = new_optimizer(&config)
            .from_bytes(optimizer_bytes)
            .map_err(|e| TrainError::checkpoint(&optimizer_path, one_line(e)))?;
        let mut rng = ChaCha8Rng::from_seed(state.rng_seed);
        rng.set_stream(state.rng_stream);
        rng.set_word_pos(state.rng_word_pos);
        Ok(Self {
            config,
            device,
            agent,
            optimizer,
            obs_norm: state.obs_norm,
            reward_scaler: state.reward_scaler,
            rng,
            global_step: state.global_step,
            update: state.update,
            obs_dim,
            act_dim,
            observations: None,
        })
    }
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
