//! N envs stepped together, split across persistent worker threads.
//!
//! Autoreset convention: **same-step** (as Stable-Baselines3 and Gymnasium's `SAME_STEP`).
//! When a sub-env's episode ends inside [`VecEnv::step`], it is reset in that same call:
//! `obs` is the first observation of the new episode, `final_obs` holds the last observation
//! of the episode that ended (for bootstrapping a truncated value), and `info` is the info of
//! the ending step. The reset's own info is dropped.

use crate::{Env, Info, Space};
use std::sync::mpsc::{Receiver, Sender, channel};
use std::thread::JoinHandle;

/// One sub-env's result from [`VecEnv::step`].
#[derive(Debug, Clone, PartialEq)]
pub struct VecStep {
    pub obs: Vec<f64>,
    pub reward: f64,
    pub terminated: bool,
    pub truncated: bool,
    pub info: Info,
    /// The last observation of an episode that ended on this step.
    pub final_obs: Option<Vec<f64>>,
}

enum Command {
    Reset(Vec<Option<u64>>),
    Step(Vec<Vec<f64>>),
}

enum Reply {
    Reset(Vec<Vec<f64>>),
    Step(Vec<VecStep>),
}

/// A contiguous slice of the sub-envs, owned by one thread.
struct Chunk {
    envs: Vec<Box<dyn Env>>,
}

impl Chunk {
    fn run(&mut self, command: Command) -> Reply {
        match command {
            Command::Reset(seeds) => Reply::Reset(
                self.envs
                    .iter_mut()
                    .zip(seeds)
                    .map(|(env, seed)| env.reset(seed).0)
                    .collect(),
            ),
            Command::Step(actions) => Reply::Step(
                self.envs
                    .iter_mut()
                    .zip(actions)
                    .map(|(env, action)| {
                        let step = env.step(&action);
                        let done = step.terminated || step.truncated;
                        let (obs, final_obs) = if done {
                            (env.reset(None).0, Some(step.obs))
                        } else {
                            (step.obs, None)
                        };
                        VecStep {
                            obs,
                            reward: step.reward,
                            terminated: step.terminated,
                            truncated: step.truncated,
                            info: step.info,
                            final_obs,
                        }
                    })
                    .collect(),
            ),
        }
    }
}

struct Worker {
    commands: Sender<Command>,
    replies: Receiver<Reply>,
    len: usize,
    handle: Option<JoinHandle<()>>,
}

/// The stack of each worker thread. Reward programs evaluate recursively, and the sandbox's
/// largest limits need up to 64 MiB (`reward_dsl::Limits::stack_bytes`); a smaller stack still
/// works, with each evaluation moved to a helper thread, much more slowly. The memory is
/// only reserved: pages are committed as they are touched.
pub const WORKER_STACK_BYTES: usize = 64 << 20;

/// A batch of envs that reset and step together.
pub struct VecEnv {
    /// The first chunk, run on the caller's thread while the workers run the others.
    local: Chunk,
    workers: Vec<Worker>,
    num_envs: usize,
    observation_space: Space,
    action_space: Space,
}

impl VecEnv {
    /// Splits `envs` into `threads` contiguous chunks: the caller's thread runs the first and
    /// `threads - 1` worker threads run the rest. Results never depend on the thread count.
    ///
    /// # Panics
    /// If `envs` is empty.
    pub fn new(envs: Vec<Box<dyn Env>>, threads: usize) -> Self {
        assert!(!envs.is_empty(), "a VecEnv needs at least one env");
        let num_envs = envs.len();
        let observation_space = envs[0].observation_space().clone();
        let action_space = envs[0].action_space().clone();
        let threads = threads.clamp(1, num_envs);
        let chunk_len = |t: usize| num_envs / threads + usize::from(t < num_envs % threads);
        let mut remaining = envs.into_iter();
        let local = Chunk {
            envs: remaining.by_ref().take(chunk_len(0)).collect(),
        };
        let workers = (1..threads)
            .map(|t| {
                let len = chunk_len(t);
                let mut chunk = Chunk {
                    envs: remaining.by_ref().take(len).collect(),
                };
                let (commands, command_rx) = channel();
                let (reply_tx, replies) = channel();
                let handle = std::thread::Builder::new()
                    .name(format!("vec-env-{t}"))
                    .stack_size(WORKER_STACK_BYTES)
                    .spawn(move || {
                        for command in command_rx {
                            if reply_tx.send(chunk.run(command)).is_err() {
                                break;
                            }
                        }
                    })
                    .expect("spawning a VecEnv worker thread");
                Worker {
                    commands,
                    replies,
                    len,
                    handle: Some(handle),
                }
            })
            .collect();
        Self {
            local,
            workers,
            num_envs,
            observation_space,
            action_space,
        }
    }

    pub fn num_envs(&self) -> usize {
        self.num_envs
    }

    /// The observation space of one sub-env.
    pub fn observation_space(&self) -> &Space {
        &self.observation_space
    }

    /// The action space of one sub-env.
    pub fn action_space(&self) -> &Space {
        &self.action_space
    }

    /// Resets every sub-env. With `Some(seed)`, sub-env `i` is seeded with `seed + i`.
    pub fn reset(&mut self, seed: Option<u64>) -> Vec<Vec<f64>> {
        let seeds: Vec<Option<u64>> = (0..self.num_envs)
            .map(|i| seed.map(|s| s.wrapping_add(i as u64)))
            .collect();
        self.reset_with(seeds)
    }

    /// Resets sub-env `i` with `seeds[i]`, for runs whose envs must share initial states.
    ///
    /// # Panics
    /// If `seeds.len()` differs from the number of sub-envs.
    pub fn reset_each(&mut self, seeds: &[u64]) -> Vec<Vec<f64>> {
        assert_eq!(seeds.len(), self.num_envs, "one seed per sub-env");
        self.reset_with(seeds.iter().map(|s| Some(*s)).collect())
    }

    fn reset_with(&mut self, seeds: Vec<Option<u64>>) -> Vec<Vec<f64>> {
        self.dispatch(seeds, Command::Reset)
            .into_iter()
            .flat_map(|reply| match reply {
                Reply::Reset(obs) => obs,
                Reply::Step(_) => unreachable!("a reset is answered with observations"),
            })
            .collect()
    }

    /// Steps sub-env `i` with `actions[i]`, resetting those whose episode ends.
    ///
    /// # Panics
    /// If `actions.len()` differs from the number of sub-envs.
    pub fn step(&mut self, actions: Vec<Vec<f64>>) -> Vec<VecStep> {
        assert_eq!(actions.len(), self.num_envs, "one action per sub-env");
        self.dispatch(actions, Command::Step)
            .into_iter()
            .flat_map(|reply| match reply {
                Reply::Step(steps) => steps,
                Reply::Reset(_) => unreachable!("a step is answered with steps"),
            })
            .collect()
    }

    /// Sends each worker its share of `items`, wrapped by `make`, runs the first share on
    /// this thread, and collects the replies in order.
    fn dispatch<T>(&mut self, items: Vec<T>, make: fn(Vec<T>) -> Command) -> Vec<Reply> {
        let mut items = items.into_iter();
        let local_share: Vec<T> = items.by_ref().take(self.local.envs.len()).collect();
        for worker in &self.workers {
            let share = items.by_ref().take(worker.len).collect();
            worker
                .commands
                .send(make(share))
                .expect("a VecEnv worker thread stopped (an env panicked)");
        }
        let mut replies = vec![self.local.run(make(local_share))];
        replies.extend(self.workers.iter().map(|worker| {
            worker
                .replies
                .recv()
                .expect("a VecEnv worker thread stopped (an env panicked)")
        }));
        replies
    }
}

impl Drop for VecEnv {
    fn drop(&mut self) {
        for worker in &mut self.workers {
            // Closing the command channel ends the worker's loop.
            let (closed, _) = channel();
            worker.commands = closed;
            if let Some(handle) = worker.handle.take() {
                let _ = handle.join();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::PointMass;
    use crate::wrappers::TimeLimit;

    fn point_masses(n: usize, limit: usize) -> Vec<Box<dyn Env>> {
        (0..n)
            .map(|_| Box::new(TimeLimit::new(PointMass::new(), limit)) as Box<dyn Env>)
            .collect()
    }

    fn run(threads: usize) -> Vec<Vec<VecStep>> {
        let mut venv = VecEnv::new(point_masses(5, 7), threads);
        venv.reset(Some(11));
        (0..20)
            .map(|t| {
                venv.step(
                    (0..5)
                        .map(|i| vec![0.1 * i as f64, -0.05 * t as f64])
                        .collect(),
                )
            })
            .collect()
    }

    #[test]
    fn results_do_not_depend_on_thread_count() {
        assert_eq!(run(1), run(2));
        assert_eq!(run(1), run(3));
    }

    #[test]
    fn ended_episodes_reset_in_the_same_step_and_keep_the_final_observation() {
        let mut venv = VecEnv::new(point_masses(2, 3), 2);
        let start = venv.reset(Some(0));
        let mut last = Vec::new();
        for _ in 0..3 {
            last = venv.step(vec![vec![1.0, 1.0]; 2]);
        }
        for (i, step) in last.iter().enumerate() {
            assert!(step.truncated);
            let final_obs = step.final_obs.as_ref().expect("final observation kept");
            assert_ne!(final_obs, &step.obs);
            // The new episode starts at rest, the old one ended moving.
            assert_eq!(&step.obs[2..], &[0.0, 0.0]);
            assert_ne!(step.obs, start[i]);
        }
        let next = venv.step(vec![vec![0.0, 0.0]; 2]);
        assert!(next.iter().all(|s| s.final_obs.is_none() && !s.truncated));
    }

    #[test]
    fn sub_envs_get_distinct_seeds() {
        let mut venv = VecEnv::new(point_masses(3, 5), 1);
        let obs = venv.reset(Some(4));
        assert_ne!(obs[0], obs[1]);
        let mut single = PointMass::new();
        assert_eq!(single.reset(Some(5)).0, obs[1]);
    }
}
