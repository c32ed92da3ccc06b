//! The tasks (layer 3 of 3: API in `rl-env`, physics in `sim`, tasks): rewardgen's
//! environments and their task specs, each an `rl-env` env over a `sim` model.
//!
//! Every environment is a [`TaskEnv`]: an [`rl_env::Env`] that also carries its [`TaskSpec`]
//! (model, control scheme, spaces, reset randomization, episode length, the state schema that
//! reward programs read, the task text and the success metric), reports its state in schema
//! order, and may have a scripted controller.
//!
//! [`make`] builds one by name: the envs in [`REGISTRY`] (`franka-reach`, `franka-push`,
//! `quadruped-walk`, `quadruped-turn`, `quadruped-stand`, and `half-cheetah`, Gymnasium's
//! HalfCheetah-v5 on the model given by `--model`), or `mjcf:<path>` for any MJCF file with
//! actuators. Adding a task means adding one module and one entry to [`REGISTRY`].
//!
//! The Franka and quadruped envs are [`RobotEnv`]s: one core (robot, task, spec, seeded
//! generator, step count, sim access) that each family plugs into through [`Family`].

mod assets;
mod franka;
mod half_cheetah;
pub mod math;
mod mjcf;
mod quadruped;
mod robot;
mod rollout;
mod spec;

pub use franka::{FrankaConfig, FrankaEnv, FrankaPhysics, FrankaPush, FrankaReach, FrankaTask};
pub use half_cheetah::HalfCheetah;
pub use mjcf::{MjcfEnv, action_space};
pub use quadruped::{QuadrupedConfig, QuadrupedEnv, QuadrupedStand, QuadrupedTurn, QuadrupedWalk};
pub use robot::{Family, Robot, RobotEnv};
pub use rollout::{MAX_ROLLOUT_EPISODES, RolloutPolicy, RolloutStats, rollout};
pub use spec::{
    EnvError, EnvOptions, Fitness, MAX_FRAME_SKIP, StateField, TaskEnv, TaskSpec, check_frame_skip,
    field_range,
};

/// A registered environment: its name and constructor.
pub struct Registration {
    pub name: &'static str,
    /// For an env that loads a model the user gives (`--model`): what it is, since the env
    /// cannot be built without one.
    pub needs_model: Option<&'static str>,
    pub make: fn(&EnvOptions) -> Result<Box<dyn TaskEnv>, EnvError>,
}

/// Every named environment, in the order `rewardgen envs` lists them.
pub const REGISTRY: &[Registration] = &[
    Registration {
        name: "franka-reach",
        needs_model: None,
        make: |options| {
            Ok(Box::new(FrankaReach::new(FrankaConfig::from_options(
                options,
            )?)?))
        },
    },
    Registration {
        name: "franka-push",
        needs_model: None,
        make: |options| {
            Ok(Box::new(FrankaPush::new(FrankaConfig::from_options(
                options,
            )?)?))
        },
    },
    Registration {
        name: "quadruped-walk",
        needs_model: None,
        make: |options| Ok(Box::new(QuadrupedWalk::from_options(options)?)),
    },
    Registration {
        name: "quadruped-turn",
        needs_model: None,
        make: |options| Ok(Box::new(QuadrupedTurn::from_options(options)?)),
    },
    Registration {
        name: "quadruped-stand",
        needs_model: None,
        make: |options| Ok(Box::new(QuadrupedStand::from_options(options)?)),
    },
    Registration {
        name: HALF_CHEETAH,
        needs_model: Some("Gymnasium's HalfCheetah-v5 on the model given with --model PATH"),
        make: |options| Ok(Box::new(HalfCheetah::new(options)?)),
    },
];

/// The prefix that selects the generic MJCF environment: `mjcf:<path>`.
pub const MJCF_PREFIX: &str = "mjcf:";

/// What `mjcf:<path>` builds, in one line.
pub const MJCF_SUMMARY: &str = "any MJCF model with actuators: qpos+qvel observation, ctrl action";

/// The Gymnasium HalfCheetah-v5 port, which loads the model given by `EnvOptions::model`.
pub const HALF_CHEETAH: &str = "half-cheetah";

/// The envs whose `physics` option picks a preset ([`FrankaPhysics`]).
pub const PHYSICS_PRESET_ENVS: [&str; 2] = ["franka-reach", "franka-push"];

/// Builds an environment by name.
pub fn make(name: &str, options: &EnvOptions) -> Result<Box<dyn TaskEnv>, EnvError> {
    if let Some(physics) = &options.physics
        && !PHYSICS_PRESET_ENVS.contains(&name)
    {
        return Err(EnvError::InvalidOption(format!(
            "physics '{physics}' (--physics): only {} have physics presets",
            PHYSICS_PRESET_ENVS.join(" and ")
        )));
    }
    if let Some(path) = name.strip_prefix(MJCF_PREFIX) {
        return Ok(Box::new(MjcfEnv::new(std::path::Path::new(path), options)?));
    }
    let registration =
        REGISTRY
            .iter()
            .find(|r| r.name == name)
            .ok_or_else(|| EnvError::UnknownEnv {
                name: name.to_string(),
                known: REGISTRY
                    .iter()
                    .map(|r| r.name)
                    .collect::<Vec<_>>()
                    .join(", "),
            })?;
    (registration.make)(options)
}
