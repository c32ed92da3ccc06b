//! Hyperparameters. Defaults follow CleanRL's `ppo_continuous_action.py`
//! (github.com/vwxyzjn/cleanrl, `Args`), except where a field says otherwise.

use serde::{Deserialize, Serialize};

/// Which algorithm trains the policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Algorithm {
    /// Proximal Policy Optimization with a learned critic and GAE.
    Ppo,
    /// Group Relative Policy Optimization: critic-free, advantages from returns within groups
    /// of episodes that share an initial state.
    Grpo,
}

/// Where the networks run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum ComputeDevice {
    /// burn's `flex` CPU backend.
    #[default]
    Flex,
    /// burn's `wgpu` backend: Vulkan, Metal or DX12 (lavapipe runs it on a CPU). Needs a
    /// binary built with `--features gpu`.
    Wgpu,
}

impl ComputeDevice {
    /// The burn device, without autodiff. Call only on a validated config.
    pub fn burn_device(self) -> burn::tensor::Device {
        match self {
            ComputeDevice::Flex => burn::tensor::Device::flex(),
            ComputeDevice::Wgpu => wgpu_device(),
        }
    }
}

#[cfg(feature = "gpu")]
fn wgpu_device() -> burn::tensor::Device {
    burn::tensor::Device::wgpu(burn::tensor::DeviceKind::DefaultDevice)
}

#[cfg(not(feature = "gpu"))]
fn wgpu_device() -> burn::tensor::Device {
    unreachable!("validate() rejects the wgpu device in a build without the gpu feature")
}

/// Every setting of a training run. Written into the run as `config.toml`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TrainConfig {
    /// The algorithm.
    pub algo: Algorithm,
    /// Where the networks run.
    pub device: ComputeDevice,
    /// Environment steps to train for, over all envs.
    pub total_steps: u64,
    /// Seed of the policy initialization, action sampling and env resets.
    pub seed: u64,
    /// Envs stepped together. CleanRL uses 1 env × 2048 steps; 8 × 256 keeps the 2048-step
    /// rollout and lets worker threads share the stepping.
    pub num_envs: usize,
    /// Steps per env per rollout (rollout size = `num_envs * num_steps`).
    pub num_steps: usize,
    /// Worker threads stepping the envs; 0 means one per CPU core.
    pub threads: usize,
    /// Adam learning rate.
    pub learning_rate: f64,
    /// Adam epsilon (CleanRL: 1e-5).
    pub adam_eps: f64,
    /// Anneal the learning rate linearly to 0 over the run.
    pub anneal_lr: bool,
    /// Discount factor.
    pub gamma: f64,
    /// GAE lambda.
    pub gae_lambda: f64,
    /// Minibatches per epoch.
    pub num_minibatches: usize,
    /// Epochs over each rollout.
    pub update_epochs: usize,
    /// Normalize advantages within each minibatch.
    pub norm_adv: bool,
    /// Surrogate clipping coefficient.
    pub clip_coef: f64,
    /// Clip the value loss as the surrogate is clipped.
    pub clip_vloss: bool,
    /// Entropy bonus coefficient.
    pub ent_coef: f64,
    /// Value loss coefficient.
    pub vf_coef: f64,
    /// Global gradient-norm clipping threshold, over all parameters together.
    pub max_grad_norm: f64,
    /// Stop an update's epochs early when the approximate KL passes this (off when `None`).
    pub target_kl: Option<f64>,
    /// Width of both hidden layers of the actor and of the critic.
    pub hidden: usize,
    /// Normalize observations by running mean and variance (clipped to ±10).
    pub normalize_obs: bool,
    /// Scale rewards by the running std of the discounted return (clipped to ±10).
    pub normalize_reward: bool,
    /// Updates between checkpoints.
    pub checkpoint_every: usize,
    /// GRPO: episodes per group, all reset with the same seed.
    pub group_size: usize,
    /// GRPO: weight of the KL penalty to the rollout policy (0 disables it).
    pub kl_coef: f64,
    /// GRPO: give each step its reward-to-go normalized within the group instead of the
    /// whole episode's normalized return.
    pub reward_to_go: bool,
}

impl Default for TrainConfig {
    fn default() -> Self {
        Self {
            algo: Algorithm::Ppo,
            device: ComputeDevice::Flex,
            total_steps: 1_000_000,
            seed: 1,
            num_envs: 8,
            num_steps: 256,
            threads: 0,
            learning_rate: 3e-4,
            adam_eps: 1e-5,
            anneal_lr: true,
            gamma: 0.99,
            gae_lambda: 0.95,
            num_minibatches: 32,
            update_epochs: 10,
            norm_adv: true,
            clip_coef: 0.2,
            clip_vloss: true,
            ent_coef: 0.0,
            vf_coef: 0.5,
            max_grad_norm: 0.5,
            target_kl: None,
            hidden: 64,
            normalize_obs: true,
            normalize_reward: true,
            checkpoint_every: 1,
            group_size: 8,
            kl_coef: 0.0,
            reward_to_go: false,
        }
    }
}

impl TrainConfig {
    /// Steps in one rollout.
    pub fn batch_size(&self) -> usize {
        self.num_envs * self.num_steps
    }

    /// Samples in one minibatch.
    pub fn minibatch_size(&self) -> usize {
        (self.batch_size() / self.num_minibatches).max(1)
    }

    /// Env steps the learning rate anneals over: the run's whole PPO rollouts, so that PPO
    /// anneals exactly as CleanRL does, once per rollout of `batch_size` steps.
    pub fn anneal_steps(&self) -> u64 {
        (self.total_steps / self.batch_size() as u64).max(1) * self.batch_size() as u64
    }

    /// Checks the settings, naming the first bad one.
    pub fn validate(&self) -> Result<(), String> {
        let positive = [
            ("num_envs", self.num_envs),
            ("num_steps", self.num_steps),
            ("num_minibatches", self.num_minibatches),
            ("update_epochs", self.update_epochs),
            ("hidden", self.hidden),
            ("checkpoint_every", self.checkpoint_every),
            ("group_size", self.group_size),
        ];
        if let Some((name, _)) = positive.iter().find(|(_, v)| *v == 0) {
            return Err(format!("{name} must be at least 1"));
        }
        let unit = [("gamma", self.gamma), ("gae_lambda", self.gae_lambda)];
        if let Some((name, v)) = unit.iter().find(|(_, v)| !(0.0..=1.0).contains(v)) {
            return Err(format!("{name} must be in [0, 1], not {v}"));
        }
        let non_negative = [
            ("learning_rate", self.learning_rate),
            ("adam_eps", self.adam_eps),
            ("clip_coef", self.clip_coef),
            ("ent_coef", self.ent_coef),
            ("vf_coef", self.vf_coef),
            ("max_grad_norm", self.max_grad_norm),
            ("kl_coef", self.kl_coef),
        ];
        if let Some((name, v)) = non_negative
            .iter()
            .find(|(_, v)| !(v.is_finite() && *v >= 0.0))
        {
            return Err(format!("{name} must be a finite number >= 0, not {v}"));
        }
        if self.device == ComputeDevice::Wgpu && !cfg!(feature = "gpu") {
            return Err(
                "device = \"wgpu\" needs a binary built with the gpu feature \
                 (cargo build --release --features gpu)"
                    .into(),
            );
        }
        if self.algo == Algorithm::Grpo && !self.num_envs.is_multiple_of(self.group_size) {
            return Err(format!(
                "GRPO runs whole groups: num_envs ({}) must be a multiple of group_size ({})",
                self.num_envs, self.group_size
            ));
        }
        if self.batch_size() < self.num_minibatches {
            return Err(format!(
                "num_envs * num_steps ({}) is smaller than num_minibatches ({})",
                self.batch_size(),
                self.num_minibatches
            ));
        }
        Ok(())
    }
}

impl TrainConfig {
    /// The starting settings for training on `env`: CleanRL's defaults, except where a task
    /// measurably needs otherwise.
    ///
    /// franka-push: PPO rollouts of 8 × 1024 steps (4× CleanRL's 2048). With 2048-step
    /// rollouts the policy's standard deviation collapsed (entropy 4.2 → −5.9) before it had
    /// learned to push in every direction, and 2 of 5 seeds stalled near 0.47 success; with
    /// 8192 all 5 reached 0.8 within 3M steps (docs/training.md has the runs).
    pub fn for_env(env: &str) -> Self {
        let mut config = Self::default();
        if env == "franka-push" {
            config.num_steps = 1024;
        }
        config
    }

    /// Applies a TOML file of settings over these: keys it leaves out keep their values
    /// here. A bad key or value is an error with its line and column.
    pub fn with_toml(&self, text: &str) -> Result<Self, String> {
        // Parsing the file on its own first gives errors their position in the file.
        toml::from_str::<Self>(text).map_err(|e| e.to_string())?;
        let file: toml::Table = toml::from_str(text).map_err(|e| e.to_string())?;
        let mut table = self.to_table()?;
        table.extend(file);
        Self::from_table(table)
    }

    /// Applies `KEY=VALUE` overrides, each VALUE read as a TOML value (`3e-4`, `true`, `"ppo"`;
    /// a bare word counts as a string). An unknown key or a wrong type is an error naming it.
    pub fn with_overrides(&self, overrides: &[String]) -> Result<Self, String> {
        let mut table = self.to_table()?;
        for entry in overrides {
            let (key, value) = entry
                .split_once('=')
                .ok_or_else(|| format!("'{entry}' is not KEY=VALUE"))?;
            let key = key.trim();
            if !table.contains_key(key) && !Self::OPTIONAL_KEYS.contains(&key) {
                return Err(format!(
                    "unknown setting '{key}'; the settings are: {}",
                    table
                        .keys()
                        .map(String::as_str)
                        .chain(Self::OPTIONAL_KEYS.iter().copied())
                        .collect::<Vec<_>>()
                        .join(", ")
                ));
            }
            let value = value.trim();
            let parsed = toml::from_str::<toml::Table>(&format!("v = {value}"))
                .ok()
                .and_then(|mut t| t.remove("v"))
                .unwrap_or_else(|| toml::Value::String(value.to_string()));
            table.insert(key.to_string(), parsed);
        }
        Self::from_table(table)
    }

    /// These settings as a TOML table, the form that `with_toml` and `with_overrides` change.
    fn to_table(&self) -> Result<toml::Table, String> {
        toml::Table::try_from(self).map_err(|e| e.to_string())
    }

    /// Settings read back from a table that `to_table` gave and a caller changed.
    fn from_table(table: toml::Table) -> Result<Self, String> {
        toml::Value::Table(table)
            .try_into()
            .map_err(|e: toml::de::Error| e.to_string())
    }

    /// Settings that are absent from the TOML form while unset.
    const OPTIONAL_KEYS: [&'static str; 1] = ["target_kl"];
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_cleanrls() {
        let c = TrainConfig::default();
        assert_eq!(
            (c.batch_size(), c.num_minibatches, c.update_epochs),
            (2048, 32, 10)
        );
        assert_eq!(
            (c.learning_rate, c.adam_eps, c.gamma, c.gae_lambda),
            (3e-4, 1e-5, 0.99, 0.95)
        );
        assert_eq!(
            (c.clip_coef, c.ent_coef, c.vf_coef, c.max_grad_norm),
            (0.2, 0.0, 0.5, 0.5)
        );
        assert!(c.anneal_lr && c.norm_adv && c.clip_vloss);
    }

    #[test]
    fn overrides_parse_toml_values_and_name_unknown_keys() {
        let c = TrainConfig::default()
            .with_overrides(&[
                "learning_rate=1e-3".into(),
                "anneal_lr = false".into(),
                "algo=grpo".into(),
                "target_kl=0.02".into(),
            ])
            .unwrap();
        assert_eq!(c.learning_rate, 1e-3);
        assert!(!c.anneal_lr);
        assert_eq!(c.algo, Algorithm::Grpo);
        assert_eq!(c.target_kl, Some(0.02));
        let err = TrainConfig::default()
            .with_overrides(&["learnin_rate=1".into()])
            .unwrap_err();
        assert!(
            err.contains("unknown setting 'learnin_rate'") && err.contains("learning_rate"),
            "{err}"
        );
        let err = TrainConfig::default()
            .with_overrides(&["num_envs=many".into()])
            .unwrap_err();
        assert!(
            err.contains("num_envs") || err.contains("invalid type"),
            "{err}"
        );
    }

    #[test]
    fn a_toml_file_applies_over_the_env_defaults_and_names_a_bad_line() {
        let push = TrainConfig::for_env("franka-push");
        assert_eq!(push.batch_size(), 8192);
        assert_eq!(TrainConfig::for_env("franka-reach"), TrainConfig::default());
        let c = push.with_toml("learning_rate = 1e-3\nseed = 7\n").unwrap();
        assert_eq!((c.learning_rate, c.seed, c.num_steps), (1e-3, 7, 1024));
        let c = push.with_toml("num_steps = 256").unwrap();
        assert_eq!(c.batch_size(), 2048);
        let err = push
            .with_toml("seed = 3\nnum_envs = \"many\"\n")
            .unwrap_err();
        assert!(err.contains("line 2") && err.contains("num_envs"), "{err}");
        let err = push.with_toml("learnin_rate = 1").unwrap_err();
        assert!(err.contains("learnin_rate"), "{err}");
    }

    #[test]
    fn validation_names_the_bad_setting() {
        let c = TrainConfig {
            num_minibatches: 0,
            ..TrainConfig::default()
        };
        assert_eq!(
            c.validate().unwrap_err(),
            "num_minibatches must be at least 1"
        );
        let c = TrainConfig {
            gamma: 1.5,
            ..TrainConfig::default()
        };
        assert!(c.validate().unwrap_err().contains("gamma"));
        let c = TrainConfig {
            algo: Algorithm::Grpo,
            num_envs: 6,
            group_size: 4,
            ..TrainConfig::default()
        };
        assert!(c.validate().unwrap_err().contains("group_size"));
    }
}
