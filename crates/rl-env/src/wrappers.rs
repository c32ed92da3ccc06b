//! Behaviour that composes around any [`Env`], as Gymnasium's wrappers do.

use crate::{Env, Info, Space, Step};
use serde::{Deserialize, Serialize};

/// Ends an episode with `truncated = true` after `max_steps` steps.
pub struct TimeLimit<E> {
    env: E,
    max_steps: usize,
    elapsed: usize,
}

impl<E: Env> TimeLimit<E> {
    pub fn new(env: E, max_steps: usize) -> Self {
        Self {
            env,
            max_steps,
            elapsed: 0,
        }
    }
}

impl<E: Env> Env for TimeLimit<E> {
    fn observation_space(&self) -> &Space {
        self.env.observation_space()
    }
    fn action_space(&self) -> &Space {
        self.env.action_space()
    }
    fn reset(&mut self, seed: Option<u64>) -> (Vec<f64>, Info) {
        self.elapsed = 0;
        self.env.reset(seed)
    }
    fn step(&mut self, action: &[f64]) -> Step {
        let mut step = self.env.step(action);
        self.elapsed += 1;
        if self.elapsed >= self.max_steps && !step.terminated {
            step.truncated = true;
        }
        step
    }
}

/// Clips every action into the bounds of a `Space::Box` action space before the env sees it.
pub struct ClipAction<E> {
    env: E,
    clipped: Vec<f64>,
}

impl<E: Env> ClipAction<E> {
    pub fn new(env: E) -> Self {
        Self {
            env,
            clipped: Vec::new(),
        }
    }

    /// The wrapped env.
    pub fn inner(&self) -> &E {
        &self.env
    }
}

impl<E: Env> Env for ClipAction<E> {
    fn observation_space(&self) -> &Space {
        self.env.observation_space()
    }
    fn action_space(&self) -> &Space {
        self.env.action_space()
    }
    fn reset(&mut self, seed: Option<u64>) -> (Vec<f64>, Info) {
        self.env.reset(seed)
    }
    fn step(&mut self, action: &[f64]) -> Step {
        self.clipped.clear();
        match self.env.action_space() {
            Space::Box { low, high, .. } => self.clipped.extend(
                action
                    .iter()
                    .zip(low.iter().zip(high))
                    .map(|(a, (lo, hi))| a.clamp(*lo, *hi)),
            ),
            Space::Discrete(_) => self.clipped.extend_from_slice(action),
        }
        let clipped = std::mem::take(&mut self.clipped);
        let step = self.env.step(&clipped);
        self.clipped = clipped;
        step
    }
}

/// Running mean and variance of a stream of vectors (Chan et al.'s parallel update), kept
/// for checkpoints so that a resumed or evaluated policy sees the same normalization.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunningMeanStd {
    pub mean: Vec<f64>,
    pub var: Vec<f64>,
    pub count: f64,
}

impl RunningMeanStd {
    pub fn new(dim: usize) -> Self {
        Self {
            mean: vec![0.0; dim],
            var: vec![1.0; dim],
            count: 1e-4,
        }
    }

    /// Folds one sample into the statistics.
    pub fn update(&mut self, x: &[f64]) {
        let total = self.count + 1.0;
        for ((m, v), xi) in self.mean.iter_mut().zip(&mut self.var).zip(x) {
            let delta = xi - *m;
            let new_mean = *m + delta / total;
            let m2 = *v * self.count + delta * delta * self.count / total;
            *m = new_mean;
            *v = m2 / total;
        }
        self.count = total;
    }
}

const NORM_EPSILON: f64 = 1e-8;

/// Normalizes observations by a running mean and variance, then clips them to `±clip`.
pub struct NormalizeObservation<E> {
    env: E,
    /// The statistics; public so a checkpoint can save and restore them.
    pub stats: RunningMeanStd,
    /// Whether new observations update the statistics (turn off for evaluation).
    pub update: bool,
    clip: f64,
}

impl<E: Env> NormalizeObservation<E> {
    pub fn new(env: E, clip: f64) -> Self {
        let dim = env.observation_space().flat_dim();
        Self {
            env,
            stats: RunningMeanStd::new(dim),
            update: true,
            clip,
        }
    }

    fn normalize(&mut self, mut obs: Vec<f64>) -> Vec<f64> {
        if self.update {
            self.stats.update(&obs);
        }
        for ((o, m), v) in obs.iter_mut().zip(&self.stats.mean).zip(&self.stats.var) {
            *o = ((*o - m) / (v + NORM_EPSILON).sqrt()).clamp(-self.clip, self.clip);
        }
        obs
    }
}

impl<E: Env> Env for NormalizeObservation<E> {
    fn observation_space(&self) -> &Space {
        self.env.observation_space()
    }
    fn action_space(&self) -> &Space {
        self.env.action_space()
    }
    fn reset(&mut self, seed: Option<u64>) -> (Vec<f64>, Info) {
        let (obs, info) = self.env.reset(seed);
        (self.normalize(obs), info)
    }
    fn step(&mut self, action: &[f64]) -> Step {
        let mut step = self.env.step(action);
        step.obs = self.normalize(std::mem::take(&mut step.obs));
        step
    }
}

/// Scales rewards by the running standard deviation of the discounted return, then clips
/// them to `±clip`, as Gymnasium's `NormalizeReward`. The raw reward stays in `info` under
/// `raw_reward`.
pub struct NormalizeReward<E> {
    env: E,
    /// Statistics of the discounted return; public for checkpoints.
    pub stats: RunningMeanStd,
    /// Whether new returns update the statistics.
    pub update: bool,
    gamma: f64,
    clip: f64,
    discounted_return: f64,
}

impl<E: Env> NormalizeReward<E> {
    pub fn new(env: E, gamma: f64, clip: f64) -> Self {
        Self {
            env,
            stats: RunningMeanStd::new(1),
            update: true,
            gamma,
            clip,
            discounted_return: 0.0,
        }
    }
}

impl<E: Env> Env for NormalizeReward<E> {
    fn observation_space(&self) -> &Space {
        self.env.observation_space()
    }
    fn action_space(&self) -> &Space {
        self.env.action_space()
    }
    fn reset(&mut self, seed: Option<u64>) -> (Vec<f64>, Info) {
        self.discounted_return = 0.0;
        self.env.reset(seed)
    }
    fn step(&mut self, action: &[f64]) -> Step {
        let mut step = self.env.step(action);
        self.discounted_return = self.discounted_return * self.gamma + step.reward;
        if self.update {
            self.stats.update(&[self.discounted_return]);
        }
        step.info.set("raw_reward", step.reward);
        step.reward =
            (step.reward / (self.stats.var[0] + NORM_EPSILON).sqrt()).clamp(-self.clip, self.clip);
        if step.terminated || step.truncated {
            self.discounted_return = 0.0;
        }
        step
    }
}

/// Adds `episode_return` and `episode_length` to `info` on the step that ends an episode.
/// Put it inside `NormalizeReward` so that the return is the env's own.
pub struct RecordEpisodeStatistics<E> {
    env: E,
    episode_return: f64,
    episode_length: usize,
}

impl<E: Env> RecordEpisodeStatistics<E> {
    pub fn new(env: E) -> Self {
        Self {
            env,
            episode_return: 0.0,
            episode_length: 0,
        }
    }
}

impl<E: Env> Env for RecordEpisodeStatistics<E> {
    fn observation_space(&self) -> &Space {
        self.env.observation_space()
    }
    fn action_space(&self) -> &Space {
        self.env.action_space()
    }
    fn reset(&mut self, seed: Option<u64>) -> (Vec<f64>, Info) {
        self.episode_return = 0.0;
        self.episode_length = 0;
        self.env.reset(seed)
    }
    fn step(&mut self, action: &[f64]) -> Step {
        let mut step = self.env.step(action);
        self.episode_return += step.reward;
        self.episode_length += 1;
        if step.terminated || step.truncated {
            step.info.set("episode_return", self.episode_return);
            step.info.set("episode_length", self.episode_length as f64);
            self.episode_return = 0.0;
            self.episode_length = 0;
        }
        step
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An env whose observation and reward are the step count, to make wrappers visible.
    struct Counter {
        t: f64,
        space: Space,
        last_action: Vec<f64>,
    }

    impl Counter {
        fn new() -> Self {
            Self {
                t: 0.0,
                space: Space::uniform_box(&[1], -1.0, 1.0),
                last_action: vec![],
            }
        }
    }

    impl Env for Counter {
        fn observation_space(&self) -> &Space {
            &self.space
        }
        fn action_space(&self) -> &Space {
            &self.space
        }
        fn reset(&mut self, _seed: Option<u64>) -> (Vec<f64>, Info) {
            self.t = 0.0;
            (vec![0.0], Info::default())
        }
        fn step(&mut self, action: &[f64]) -> Step {
            self.t += 1.0;
            self.last_action = action.to_vec();
            Step {
                obs: vec![self.t],
                reward: self.t,
                terminated: false,
                truncated: false,
                info: Info::default(),
            }
        }
    }

    #[test]
    fn time_limit_truncates_after_max_steps() {
        let mut env = TimeLimit::new(Counter::new(), 3);
        env.reset(None);
        assert!(!env.step(&[0.0]).truncated);
        assert!(!env.step(&[0.0]).truncated);
        assert!(env.step(&[0.0]).truncated);
        env.reset(None);
        assert!(!env.step(&[0.0]).truncated, "reset restarts the count");
    }

    #[test]
    fn clip_action_keeps_actions_inside_the_box() {
        let mut env = ClipAction::new(Counter::new());
        env.reset(None);
        env.step(&[5.0]);
        assert_eq!(env.env.last_action, vec![1.0]);
        env.step(&[-0.25]);
        assert_eq!(env.env.last_action, vec![-0.25]);
    }

    /// An env whose observations are i.i.d. uniform on [2, 8] (mean 5, variance 3).
    struct UniformNoise {
        rng: rand_chacha::ChaCha8Rng,
        space: Space,
    }

    impl Env for UniformNoise {
        fn observation_space(&self) -> &Space {
            &self.space
        }
        fn action_space(&self) -> &Space {
            &self.space
        }
        fn reset(&mut self, _seed: Option<u64>) -> (Vec<f64>, Info) {
            (vec![0.0], Info::default())
        }
        fn step(&mut self, _action: &[f64]) -> Step {
            use rand::RngExt;
            Step {
                obs: vec![self.rng.random_range(2.0..8.0)],
                reward: 0.0,
                terminated: false,
                truncated: false,
                info: Info::default(),
            }
        }
    }

    #[test]
    fn normalize_observation_centres_and_scales_a_stream() {
        let noise = UniformNoise {
            rng: crate::seeded_rng(5),
            space: Space::uniform_box(&[1], 2.0, 8.0),
        };
        let mut env = NormalizeObservation::new(noise, 10.0);
        let seen: Vec<f64> = (0..4000).map(|_| env.step(&[0.0]).obs[0]).collect();
        let tail = &seen[2000..];
        let mean = tail.iter().sum::<f64>() / tail.len() as f64;
        let var = tail.iter().map(|o| (o - mean).powi(2)).sum::<f64>() / tail.len() as f64;
        assert!(mean.abs() < 0.1, "mean {mean}");
        assert!((var - 1.0).abs() < 0.1, "variance {var}");
        assert!((env.stats.mean[0] - 5.0).abs() < 0.1);
        assert!((env.stats.var[0] - 3.0).abs() < 0.2);
    }

    #[test]
    fn normalize_observation_clips_outliers() {
        let mut env = NormalizeObservation::new(Counter::new(), 2.0);
        env.stats = RunningMeanStd {
            mean: vec![0.0],
            var: vec![0.01],
            count: 1e6,
        };
        env.update = false;
        env.reset(None);
        assert_eq!(env.step(&[0.0]).obs, vec![2.0]);
    }

    #[test]
    fn normalize_reward_divides_by_return_std_and_keeps_raw_reward() {
        let mut env = NormalizeReward::new(Counter::new(), 0.9, 100.0);
        env.reset(None);
        let mut last = env.step(&[0.0]);
        for _ in 0..200 {
            last = env.step(&[0.0]);
        }
        let raw = last.info.get("raw_reward").unwrap();
        assert_eq!(raw, 202.0 - 1.0);
        let expected = raw / (env.stats.var[0] + NORM_EPSILON).sqrt();
        assert!((last.reward - expected).abs() < 1e-9);
        assert!(last.reward < raw);
    }

    #[test]
    fn record_episode_statistics_reports_return_and_length_at_episode_end() {
        let mut env = RecordEpisodeStatistics::new(TimeLimit::new(Counter::new(), 4));
        env.reset(None);
        for _ in 0..3 {
            assert_eq!(env.step(&[0.0]).info.get("episode_return"), None);
        }
        let last = env.step(&[0.0]);
        assert_eq!(last.info.get("episode_return"), Some(1.0 + 2.0 + 3.0 + 4.0));
        assert_eq!(last.info.get("episode_length"), Some(4.0));
    }

    #[test]
    fn running_mean_std_matches_batch_statistics() {
        let xs = [1.0, 2.0, 4.0, 7.0, 11.0];
        let mut stats = RunningMeanStd::new(1);
        for x in xs {
            stats.update(&[x]);
        }
        let mean = xs.iter().sum::<f64>() / 5.0;
        let var = xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / 5.0;
        assert!((stats.mean[0] - mean).abs() < 1e-3);
        assert!((stats.var[0] - var).abs() < 1e-2);
    }
}
