//! Behaviour that composes around any [`Env`], as Gymnasium's wrappers do. Each is a
//! [`Wrapper`], so it writes only what it changes.

use crate::{Env, Info, Space, Step, Wrapper};

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

impl<E: Env> Wrapper for TimeLimit<E> {
    type Inner = E;
    fn inner(&self) -> &E {
        &self.env
    }
    fn inner_mut(&mut self) -> &mut E {
        &mut self.env
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
}

impl<E: Env> Wrapper for ClipAction<E> {
    type Inner = E;
    fn inner(&self) -> &E {
        &self.env
    }
    fn inner_mut(&mut self) -> &mut E {
        &mut self.env
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

/// Adds `episode_return` and `episode_length` to `info` on the step that ends an episode.
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

impl<E: Env> Wrapper for RecordEpisodeStatistics<E> {
    type Inner = E;
    fn inner(&self) -> &E {
        &self.env
    }
    fn inner_mut(&mut self) -> &mut E {
        &mut self.env
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
    use super::{ClipAction, RecordEpisodeStatistics, TimeLimit};
    use crate::{Env, Info, Space, Step};

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
}
