use crate::{Env, Info, Space, Step, seeded_rng};
use rand::RngExt;
use rand_chacha::ChaCha8Rng;

const DT: f64 = 0.05;
const SUCCESS_RADIUS: f64 = 0.05;

/// A point mass on a plane that must reach the origin: a pure-Rust env for fast tests.
///
/// Observation: position (2) and velocity (2). Action: a force in `[-1, 1]²`.
/// Reward: minus the distance to the origin. It never ends by itself: wrap it in a
/// `TimeLimit`. `is_success` is 1 while the point is within 5 cm of the origin.
pub struct PointMass {
    pos: [f64; 2],
    vel: [f64; 2],
    rng: ChaCha8Rng,
    observation_space: Space,
    action_space: Space,
}

impl Default for PointMass {
    fn default() -> Self {
        Self::new()
    }
}

impl PointMass {
    pub fn new() -> Self {
        Self {
            pos: [0.0; 2],
            vel: [0.0; 2],
            rng: seeded_rng(0),
            observation_space: Space::uniform_box(&[4], f64::NEG_INFINITY, f64::INFINITY),
            action_space: Space::uniform_box(&[2], -1.0, 1.0),
        }
    }

    fn obs(&self) -> Vec<f64> {
        vec![self.pos[0], self.pos[1], self.vel[0], self.vel[1]]
    }

    fn distance(&self) -> f64 {
        self.pos[0].hypot(self.pos[1])
    }
}

impl Env for PointMass {
    fn observation_space(&self) -> &Space {
        &self.observation_space
    }

    fn action_space(&self) -> &Space {
        &self.action_space
    }

    fn reset(&mut self, seed: Option<u64>) -> (Vec<f64>, Info) {
        if let Some(seed) = seed {
            self.rng = seeded_rng(seed);
        }
        self.pos = [
            self.rng.random_range(-1.0..=1.0),
            self.rng.random_range(-1.0..=1.0),
        ];
        self.vel = [0.0; 2];
        (self.obs(), Info::default())
    }

    fn step(&mut self, action: &[f64]) -> Step {
        for i in 0..2 {
            let force = action.get(i).copied().unwrap_or(0.0).clamp(-1.0, 1.0);
            self.vel[i] = 0.9 * self.vel[i] + force * DT;
            self.pos[i] += self.vel[i] * DT;
        }
        let distance = self.distance();
        let mut info = Info::default();
        info.set("is_success", f64::from(distance < SUCCESS_RADIUS));
        Step {
            obs: self.obs(),
            reward: -distance,
            terminated: false,
            truncated: false,
            info,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pushing_toward_the_origin_reduces_distance() {
        let mut env = PointMass::new();
        let (obs, _) = env.reset(Some(1));
        let start = obs[0].hypot(obs[1]);
        let mut last = env.step(&[0.0, 0.0]);
        for _ in 0..40 {
            let a = [-last.obs[0].signum(), -last.obs[1].signum()];
            last = env.step(&a);
        }
        assert!(last.obs[0].hypot(last.obs[1]) < start);
    }

    #[test]
    fn same_seed_gives_same_start() {
        let mut a = PointMass::new();
        let mut b = PointMass::new();
        assert_eq!(a.reset(Some(9)).0, b.reset(Some(9)).0);
        assert_ne!(a.reset(Some(9)).0, a.reset(None).0);
    }
}
