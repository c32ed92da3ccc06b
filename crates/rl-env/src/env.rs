use crate::Space;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

/// Named `f64` values that an env reports beside its observation, in insertion order.
///
/// Conventional keys: `is_success` (1.0 or 0.0), reward components by name, and the
/// `episode_return` / `episode_length` pair written by `RecordEpisodeStatistics`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Info {
    entries: Vec<(String, f64)>,
}

impl Info {
    /// Sets `key` to `value`, replacing an earlier value of the same key.
    pub fn set(&mut self, key: &str, value: f64) {
        match self.entries.iter_mut().find(|(k, _)| k == key) {
            Some(entry) => entry.1 = value,
            None => self.entries.push((key.to_string(), value)),
        }
    }

    /// The value stored under `key`.
    pub fn get(&self, key: &str) -> Option<f64> {
        self.entries.iter().find(|(k, _)| k == key).map(|(_, v)| *v)
    }

    /// All entries in insertion order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, f64)> {
        self.entries.iter().map(|(k, v)| (k.as_str(), *v))
    }

    /// `true` when `is_success` is present and non-zero.
    pub fn is_success(&self) -> bool {
        self.get("is_success").is_some_and(|v| v != 0.0)
    }
}

/// What one call to [`Env::step`] returns, as Gymnasium's five-tuple.
#[derive(Debug, Clone, PartialEq)]
pub struct Step {
    pub obs: Vec<f64>,
    pub reward: f64,
    /// The episode reached a terminal state of the task (success, a fall).
    pub terminated: bool,
    /// The episode was cut short for a reason outside the task (a time limit).
    pub truncated: bool,
    pub info: Info,
}

/// A reinforcement-learning environment with Gymnasium's semantics.
pub trait Env: Send {
    /// The space every observation lies in.
    fn observation_space(&self) -> &Space;

    /// The space of valid actions.
    fn action_space(&self) -> &Space;

    /// Starts a new episode. `Some(seed)` reseeds the env's random generator first; `None`
    /// continues its stream, so a sequence of resets after one seed is reproducible.
    fn reset(&mut self, seed: Option<u64>) -> (Vec<f64>, Info);

    /// Applies one action and advances the env by one control step.
    fn step(&mut self, action: &[f64]) -> Step;
}

/// An env around another env, as Gymnasium's `gymnasium.Wrapper`: every method forwards to
/// [`Wrapper::inner`] unless the wrapper overrides it, and each wrapper is an [`Env`]. Call a
/// wrapper's methods through `Env` (with both traits imported they are ambiguous).
pub trait Wrapper: Send {
    /// The wrapped env.
    type Inner: Env + ?Sized;

    fn inner(&self) -> &Self::Inner;

    fn inner_mut(&mut self) -> &mut Self::Inner;

    fn observation_space(&self) -> &Space {
        self.inner().observation_space()
    }

    fn action_space(&self) -> &Space {
        self.inner().action_space()
    }

    fn reset(&mut self, seed: Option<u64>) -> (Vec<f64>, Info) {
        self.inner_mut().reset(seed)
    }

    fn step(&mut self, action: &[f64]) -> Step {
        self.inner_mut().step(action)
    }
}

impl<W: Wrapper> Env for W {
    fn observation_space(&self) -> &Space {
        Wrapper::observation_space(self)
    }
    fn action_space(&self) -> &Space {
        Wrapper::action_space(self)
    }
    fn reset(&mut self, seed: Option<u64>) -> (Vec<f64>, Info) {
        Wrapper::reset(self, seed)
    }
    fn step(&mut self, action: &[f64]) -> Step {
        Wrapper::step(self, action)
    }
}

/// A boxed env is the env it holds.
impl<E: Env + ?Sized> Wrapper for Box<E> {
    type Inner = E;
    fn inner(&self) -> &E {
        self
    }
    fn inner_mut(&mut self) -> &mut E {
        self
    }
}

/// A standard normal sample (Box-Muller) from the given generator.
pub fn standard_normal(rng: &mut ChaCha8Rng) -> f64 {
    use rand::RngExt;
    let u1: f64 = rng.random_range(f64::EPSILON..1.0);
    let u2: f64 = rng.random_range(0.0..1.0);
    (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
}

/// The random generator every env and wrapper in rewardgen uses: ChaCha8, which gives the same
/// stream for the same seed on every platform and version of this crate.
pub fn seeded_rng(seed: u64) -> ChaCha8Rng {
    ChaCha8Rng::seed_from_u64(seed)
}
