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
    /// Checked after each whole epoch against the mean of that epoch's per-minibatch
    /// approximate KL (`losses/approx_kl`): every minibatch of the epoch is still stepped,
    /// and the next epoch is skipped. CleanRL checks after each epoch too, but against the KL
    /// of the epoch's last minibatch alone, so it may stop on a different epoch.
    pub target_kl: Option<f64>,
    /// Width of both hidden layers of the actor and of the critic.
    pub hidden: usize,
    /// The actor's log standard deviation at the start, the same for every action element
    /// (CleanRL: 0, a standard deviation of 1; Stable-Baselines3 calls it `log_std_init`).
    pub init_log_std: f64,
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
            init_log_std: 0.0,
            normalize_obs: true,
            normalize_reward: true,
            checkpoint_every: 1,
            group_size: 8,
            kl_coef: 0.0,
            reward_to_go: false,
        }
    }
}

/// The largest settings [`TrainConfig::validate`] accepts, each far past any run this
/// project makes, so that a typo (`num_envs = 1e9`) is an error rather than a hang or an
/// allocation that aborts.
pub mod limits {
    /// Envs stepped together: each is a MuJoCo model and data (a few MiB).
    pub const MAX_NUM_ENVS: usize = 1024;
    /// Steps per env per rollout.
    pub const MAX_NUM_STEPS: usize = 1 << 20;
    /// Width of the hidden layers (CleanRL: 64).
    pub const MAX_HIDDEN: usize = 2048;
    /// Epochs over each rollout, and minibatches per epoch.
    pub const MAX_UPDATE_EPOCHS: usize = 1000;
    pub const MAX_NUM_MINIBATCHES: usize = 1 << 20;
    /// Worker threads stepping the envs.
    pub const MAX_THREADS: usize = 1024;
    /// Env steps of a run: a trillion, years on a CPU.
    pub const MAX_TOTAL_STEPS: u64 = 1_000_000_000_000;
    /// Updates of a run: each writes a metrics row (0.5 to 1 KiB) that a resume reads back
    /// whole, so 200k rows stay under the metrics reader's 256 MiB cap
    /// (`user_files::Kind::METRICS`) and a few hundred MiB in memory.
    pub const MAX_UPDATES: u64 = 200_000;
    /// Parameters of the actor and critic together: 100 MB of model and 200 MB of Adam
    /// moments in a checkpoint, under the checkpoint reader's 256 MiB cap per file
    /// (`user_files::Kind::CHECKPOINT`; measured: 4.2 and 8.6 bytes per parameter with the
    /// files' headers, on the default franka-reach network).
    pub const MAX_PARAMETERS: u64 = 25_000_000;
    /// What the rollout buffer and the networks (with gradients, Adam's moments and a
    /// minibatch's activations) may take, by [`super::TrainConfig::memory_estimate`]. Half of
    /// the 4 GiB a training process is meant to stay under; the envs take the rest.
    pub const MEMORY_BUDGET: u64 = 2 << 30;
}

/// What one run's rollout buffer and networks take, by [`TrainConfig::memory_estimate`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MemoryEstimate {
    /// Samples in one rollout (`num_envs × num_steps` for PPO, `num_envs × episode steps` for
    /// GRPO).
    pub rollout_steps: f64,
    /// Parameters of the actor and critic together.
    pub parameters: f64,
    /// Bytes of everything together.
    pub bytes: f64,
}

impl TrainConfig {
    /// Steps in one rollout (saturating: [`validate`](Self::validate) keeps it small).
    pub fn batch_size(&self) -> usize {
        self.num_envs.saturating_mul(self.num_steps)
    }

    /// Env steps the learning rate anneals over: the run's whole PPO rollouts, so that PPO
    /// anneals exactly as CleanRL does, once per rollout of `batch_size` steps.
    pub fn anneal_steps(&self) -> u64 {
        let batch = self.batch_size().max(1) as u64;
        (self.total_steps / batch).max(1).saturating_mul(batch)
    }

    /// Checks every setting on its own and together, naming the first bad one and what it
    /// may be. Env-dependent checks (observation and action sizes, the memory a rollout
    /// takes with them) are [`validate_for_env`](Self::validate_for_env)'s.
    pub fn validate(&self) -> Result<(), String> {
        use limits::*;
        let counts = [
            ("num_envs", self.num_envs, 1, MAX_NUM_ENVS),
            ("num_steps", self.num_steps, 1, MAX_NUM_STEPS),
            (
                "num_minibatches",
                self.num_minibatches,
                1,
                MAX_NUM_MINIBATCHES,
            ),
            ("update_epochs", self.update_epochs, 1, MAX_UPDATE_EPOCHS),
            ("hidden", self.hidden, 1, MAX_HIDDEN),
            ("checkpoint_every", self.checkpoint_every, 1, usize::MAX),
            ("group_size", self.group_size, 1, MAX_NUM_ENVS),
            ("threads", self.threads, 0, MAX_THREADS),
        ];
        for (name, value, min, max) in counts {
            if value < min {
                return Err(format!("{name} must be at least {min}"));
            }
            if value > max {
                return Err(format!("{name} must be at most {max}, not {value}"));
            }
        }
        if self.total_steps == 0 || self.total_steps > MAX_TOTAL_STEPS {
            return Err(format!(
                "total_steps (--steps) must be between 1 and {MAX_TOTAL_STEPS}, not {}",
                self.total_steps
            ));
        }
        // (name, value, low, high, whether low itself is allowed). The coefficients reach
        // burn as f32, so every bound is far inside f32's range.
        let ranges = [
            ("gamma", self.gamma, 0.0, 1.0, true),
            ("gae_lambda", self.gae_lambda, 0.0, 1.0, true),
            ("learning_rate", self.learning_rate, 0.0, 1.0, true),
            ("adam_eps", self.adam_eps, 0.0, 1.0, false),
            ("clip_coef", self.clip_coef, 0.0, 100.0, true),
            ("ent_coef", self.ent_coef, 0.0, 1e6, true),
            ("vf_coef", self.vf_coef, 0.0, 1e6, true),
            ("max_grad_norm", self.max_grad_norm, 0.0, 1e12, true),
            ("kl_coef", self.kl_coef, 0.0, 1e6, true),
            ("init_log_std", self.init_log_std, -10.0, 2.0, true),
        ];
        for (name, value, low, high, low_allowed) in ranges {
            let above_low = if low_allowed {
                value >= low
            } else {
                value > low
            };
            if !(value.is_finite() && above_low && value <= high) {
                let open = if low_allowed { "[" } else { "(" };
                return Err(format!(
                    "{name} must be a finite number in {open}{low}, {high}], not {value:?}"
                ));
            }
        }
        if let Some(target) = self.target_kl
            && !(target.is_finite() && target > 0.0 && target <= 1e6)
        {
            return Err(format!(
                "target_kl must be a finite number in (0, 1000000], or left out to never stop \
                 early, not {target:?}"
            ));
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
        if self.algo == Algorithm::Ppo {
            self.check_updates(self.batch_size() as u64, "num_envs × num_steps")?;
        }
        // The smallest env (one observation and action element, one-step episodes) bounds
        // the memory from below: sizes that cannot fit any env fail here already.
        self.check_memory(None)
    }

    /// [`validate`](Self::validate), then the checks that need the env: an observation and
    /// an action of at least one element (the networks need inputs and outputs), and the
    /// memory estimate within [`limits::MEMORY_BUDGET`].
    pub fn validate_for_env(
        &self,
        obs_dim: usize,
        act_dim: usize,
        episode_steps: usize,
    ) -> Result<(), String> {
        self.validate()?;
        if obs_dim == 0 {
            return Err(
                "the env's observation is empty (0 elements): there is nothing to train on".into(),
            );
        }
        if act_dim == 0 {
            return Err(
                "the env's action is empty (0 elements): the policy would control nothing".into(),
            );
        }
        if self.algo == Algorithm::Grpo {
            // A GRPO update is one episode per env; episodes that end early make more.
            let steps = (self.num_envs as u64).saturating_mul(episode_steps.max(1) as u64);
            self.check_updates(steps, "num_envs × episode steps")?;
        }
        self.check_memory(Some((obs_dim, act_dim, episode_steps)))
    }

    /// The run's updates (`total_steps` over the env steps of one) within
    /// [`limits::MAX_UPDATES`].
    fn check_updates(&self, steps_per_update: u64, what: &str) -> Result<(), String> {
        let updates = self.total_steps.div_ceil(steps_per_update.max(1));
        if updates > limits::MAX_UPDATES {
            return Err(format!(
                "total_steps = {} is {updates} updates of {what} = {steps_per_update} steps; at \
                 most {} fit a run's metrics log: lower total_steps or raise num_steps",
                self.total_steps,
                limits::MAX_UPDATES
            ));
        }
        Ok(())
    }

    /// An estimate, from above, of the bytes a run's rollout buffer and networks take: every
    /// sample of a rollout (inputs, actions, log-probabilities, values, rewards, advantages,
    /// returns, and the copy GRPO's episodes make), the actor's and critic's parameters
    /// with their gradients, Adam's two moments and the copies a step and a checkpoint make
    /// (8 × 4 bytes each), and one minibatch's activations forward and backward.
    pub fn memory_estimate(
        &self,
        obs_dim: usize,
        act_dim: usize,
        episode_steps: usize,
    ) -> MemoryEstimate {
        let (obs, act, h) = (obs_dim as f64, act_dim as f64, self.hidden as f64);
        let steps_per_env = match self.algo {
            Algorithm::Ppo => self.num_steps,
            Algorithm::Grpo => episode_steps.max(1),
        };
        let rollout_steps = self.num_envs as f64 * steps_per_env as f64;
        let per_step = 2.0 * (4.0 * (obs + act + 1.0) + 8.0 * 4.0 + 1.0) + 8.0;
        let mlp = |outputs: f64| obs * h + h + h * h + h + h * outputs + outputs;
        let parameters = mlp(act) + mlp(1.0) + act;
        let minibatch = (rollout_steps / self.num_minibatches.max(1) as f64).max(1.0);
        let activations = minibatch * (obs + act + 32.0 * h) * 4.0 * 2.0;
        MemoryEstimate {
            rollout_steps,
            parameters,
            bytes: rollout_steps * per_step + parameters * 32.0 + activations,
        }
    }

    /// The parameter and memory bounds for an env of `(obs_dim, act_dim, episode_steps)`, or,
    /// without one, for the smallest env there could be (one element each, one-step
    /// episodes), which bounds every env's from below.
    fn check_memory(&self, env: Option<(usize, usize, usize)>) -> Result<(), String> {
        let (obs_dim, act_dim, episode_steps) = env.unwrap_or((1, 1, 1));
        let estimate = self.memory_estimate(obs_dim, act_dim, episode_steps);
        let observation = match env {
            Some(_) => format!("{obs_dim} observation elements"),
            None => "even a 1-element observation".to_string(),
        };
        if estimate.parameters > limits::MAX_PARAMETERS as f64 {
            return Err(format!(
                "the networks would have {:.0} parameters (hidden = {} over {observation}); \
                 at most {} fit a checkpoint: lower hidden",
                estimate.parameters,
                self.hidden,
                limits::MAX_PARAMETERS
            ));
        }
        let budget = limits::MEMORY_BUDGET as f64;
        if estimate.bytes <= budget {
            return Ok(());
        }
        let gib = |b: f64| b / (1u64 << 30) as f64;
        let rollout = match self.algo {
            Algorithm::Ppo => format!(
                "num_envs × num_steps = {} × {}",
                self.num_envs, self.num_steps
            ),
            Algorithm::Grpo => format!(
                "num_envs × episode steps = {} × {}",
                self.num_envs,
                episode_steps.max(1)
            ),
        };
        Err(format!(
            "these settings need {} {:.1} GiB for the rollout buffer and networks (a rollout \
             of {rollout} = {:.0} steps of {observation}; networks of hidden = {} with {:.0} \
             parameters); at most {:.0} GiB fits: lower num_envs, num_steps or hidden",
            if env.is_some() { "about" } else { "at least" },
            gib(estimate.bytes),
            estimate.rollout_steps,
            self.hidden,
            estimate.parameters,
            gib(budget)
        ))
    }
}

impl TrainConfig {
    /// The starting settings for training on `env`: CleanRL's defaults, except where a task
    /// measurably needs otherwise.
    ///
    /// franka-push: PPO rollouts of 8 × 1024 steps (4× CleanRL's 2048). With 2048-step
    /// rollouts the policy's standard deviation collapsed (entropy 4.2 → −5.9) before it had
    /// learned to push in every direction, and 2 of 5 seeds stalled near 0.47 success; with
    /// 8192 all 5 reached 0.8 within 3M steps. And a discount of 0.9 (CleanRL: 0.99): the
    /// episodes are 50 steps and the reward is shaped, and 0.99 → 0.95 → 0.9 took seed 1
    /// from 1.12M steps to 0.8 success to 860k and 688k. And a learning rate of 6e-4 over 64
    /// minibatches of 128 (CleanRL: 3e-4 over 32): the median over 5 seeds went from 877k
    /// steps to 0.8 success to 631k, every seed within 688k, and 598k (541k–680k), 631k
    /// (614k–770k) and 590k (565k–688k) when re-measured after changes of float rounding
    /// (docs/training.md has the runs); 32 minibatches make a step about 9% cheaper but need
    /// more steps than that.
    pub fn for_env(env: &str) -> Self {
        let mut config = Self::default();
        if env == "franka-push" {
            config.num_steps = 1024;
            config.gamma = 0.9;
            config.learning_rate = 6e-4;
            config.num_minibatches = 64;
        }
        config
    }

    /// Applies a TOML file of settings over these: keys it leaves out keep their values
    /// here. A bad key or value is an error with its line and column.
    pub fn with_toml(&self, text: &str) -> Result<Self, String> {
        // Parsing the file on its own first gives errors their position in the file.
        toml::from_str::<Self>(text).map_err(|e| user_files::toml_message(text, &e))?;
        let file: toml::Table =
            toml::from_str(text).map_err(|e| user_files::toml_message(text, &e))?;
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
            // Converting after each one names the override a wrong type came from.
            Self::from_table(table.clone()).map_err(|e| format!("{key}={value}: {e}"))?;
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
            .map_err(|e: toml::de::Error| user_files::one_line(e.message()))
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

    #[test]
    fn target_kl_must_be_a_finite_positive_number() {
        for value in ["nan", "-0.01", "inf", "-inf", "0"] {
            let c = TrainConfig::default()
                .with_overrides(&[format!("target_kl={value}")])
                .unwrap();
            let err = c.validate().unwrap_err();
            assert!(
                err.starts_with("target_kl must be a finite number"),
                "{value}: {err}"
            );
        }
        let c = TrainConfig::default()
            .with_overrides(&["target_kl=0.02".into()])
            .unwrap();
        assert_eq!(c.validate(), Ok(()));
    }

    #[test]
    fn every_float_setting_must_be_finite_and_in_range() {
        for key in [
            "gamma",
            "gae_lambda",
            "learning_rate",
            "adam_eps",
            "clip_coef",
            "ent_coef",
            "vf_coef",
            "max_grad_norm",
            "kl_coef",
        ] {
            for value in ["nan", "inf", "-1.0", "1e300"] {
                let c = TrainConfig::default()
                    .with_overrides(&[format!("{key}={value}")])
                    .unwrap();
                let err = c.validate().unwrap_err();
                assert!(
                    err.starts_with(&format!("{key} must be")),
                    "{key}={value}: {err}"
                );
            }
        }
    }

    #[test]
    fn sizes_past_their_bounds_are_named_before_anything_is_allocated() {
        let err = |overrides: &[&str]| {
            let overrides: Vec<String> = overrides.iter().map(|s| s.to_string()).collect();
            TrainConfig::default()
                .with_overrides(&overrides)
                .and_then(|c| c.validate())
                .unwrap_err()
        };
        let e = err(&["num_envs=9223372036854775807"]);
        assert_eq!(e, "num_envs must be at most 1024, not 9223372036854775807");
        let e = err(&["num_steps=1000000000"]);
        assert!(e.starts_with("num_steps must be at most"), "{e}");
        let e = err(&["hidden=1000000"]);
        assert!(e.starts_with("hidden must be at most 2048"), "{e}");
        let e = err(&["threads=100000000"]);
        assert!(e.starts_with("threads must be at most"), "{e}");
        let e = err(&["total_steps=9223372036854775807"]);
        assert!(
            e.starts_with("total_steps (--steps) must be between 1 and"),
            "{e}"
        );
        // Each at its bound, the product is too big for memory: named with what fits.
        let e = err(&["num_envs=1024", "num_steps=1048576"]);
        assert!(
            e.contains("GiB for the rollout buffer") && e.contains("1024 × 1048576"),
            "{e}"
        );
        assert!(e.contains("at most 2 GiB fits"), "{e}");
        // A float where a count goes names the override.
        let e = err(&["num_envs=1e9"]);
        assert!(e.starts_with("num_envs=1e9: invalid type"), "{e}");
    }

    #[test]
    fn a_run_of_more_updates_than_its_metrics_log_holds_is_refused() {
        let c = TrainConfig {
            total_steps: 1_000_000_000,
            ..TrainConfig::default()
        };
        let err = c.validate().unwrap_err();
        assert!(
            err.starts_with("total_steps = 1000000000 is 488282 updates of num_envs × num_steps"),
            "{err}"
        );
        let c = TrainConfig {
            total_steps: 400_000_000,
            ..TrainConfig::default()
        };
        assert_eq!(c.validate(), Ok(()));
        let grpo = TrainConfig {
            algo: Algorithm::Grpo,
            total_steps: 1_000_000_000,
            ..TrainConfig::default()
        };
        assert_eq!(grpo.validate(), Ok(()));
        assert!(
            grpo.validate_for_env(18, 3, 50)
                .unwrap_err()
                .contains("episode steps")
        );
    }

    #[test]
    fn a_product_that_overflows_saturates_instead_of_panicking() {
        let c = TrainConfig {
            num_envs: usize::MAX,
            num_steps: usize::MAX,
            ..TrainConfig::default()
        };
        assert_eq!(c.batch_size(), usize::MAX);
        assert!(c.anneal_steps() >= 1);
        assert!(
            c.validate()
                .unwrap_err()
                .starts_with("num_envs must be at most")
        );
    }

    #[test]
    fn the_env_must_have_an_observation_and_an_action_and_fit_in_memory() {
        let c = TrainConfig::default();
        assert_eq!(c.validate_for_env(18, 3, 50), Ok(()));
        assert!(
            c.validate_for_env(0, 3, 50)
                .unwrap_err()
                .contains("observation is empty")
        );
        assert!(
            c.validate_for_env(18, 0, 50)
                .unwrap_err()
                .contains("action is empty")
        );
        let wide = TrainConfig {
            hidden: 2048,
            ..TrainConfig::default()
        };
        assert_eq!(wide.validate_for_env(1000, 20, 1000), Ok(()));
        let err = wide.validate_for_env(100_000, 20, 1000).unwrap_err();
        assert!(err.contains("100000 observation elements"), "{err}");
        assert!(err.contains("at most 25000000 fit a checkpoint"), "{err}");
        // GRPO's rollout is whole episodes, however long the env's are.
        let grpo = TrainConfig {
            algo: Algorithm::Grpo,
            num_envs: 1024,
            group_size: 8,
            ..TrainConfig::default()
        };
        assert_eq!(grpo.validate_for_env(18, 3, 50), Ok(()));
        let err = grpo.validate_for_env(18, 3, 10_000_000).unwrap_err();
        assert!(err.contains("num_envs × episode steps"), "{err}");
    }

    #[test]
    fn the_toml_file_error_is_one_line_with_its_position() {
        let err = TrainConfig::default()
            .with_toml("seed = 3\nnum_envs = \"many\"\n")
            .unwrap_err();
        assert!(!err.contains('\n'), "{err}");
        assert!(err.starts_with("line 2, column 12: invalid type"), "{err}");
    }
}
