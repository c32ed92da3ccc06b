use serde::Serialize;

/// The set of valid observations or actions, as Gymnasium's `Box` and `Discrete`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub enum Space {
    /// A box in R^n: every element `i` lies in `[low[i], high[i]]` (either may be infinite).
    Box {
        low: Vec<f64>,
        high: Vec<f64>,
        shape: Vec<usize>,
    },
    /// The integers `0..n`.
    Discrete(usize),
}

impl Space {
    /// A box of the given shape whose every element shares one range.
    pub fn uniform_box(shape: &[usize], low: f64, high: f64) -> Self {
        let n = shape.iter().product();
        Space::Box {
            low: vec![low; n],
            high: vec![high; n],
            shape: shape.to_vec(),
        }
    }

    /// A box with per-element bounds and a flat shape.
    pub fn bounded(low: Vec<f64>, high: Vec<f64>) -> Self {
        assert_eq!(low.len(), high.len(), "box bounds differ in length");
        let shape = vec![low.len()];
        Space::Box { low, high, shape }
    }

    /// Number of scalar elements in one sample (1 for `Discrete`).
    pub fn flat_dim(&self) -> usize {
        match self {
            Space::Box { low, .. } => low.len(),
            Space::Discrete(_) => 1,
        }
    }

    /// Whether `x` is a member of the space.
    pub fn contains(&self, x: &[f64]) -> bool {
        match self {
            Space::Box { low, high, .. } => {
                x.len() == low.len()
                    && x.iter()
                        .zip(low.iter().zip(high))
                        .all(|(v, (lo, hi))| *v >= *lo && *v <= *hi)
            }
            Space::Discrete(n) => {
                x.len() == 1 && x[0] >= 0.0 && x[0].fract() == 0.0 && (x[0] as usize) < *n
            }
        }
    }

    /// A uniform sample; infinite box bounds are replaced by a standard normal-ish range of ±1.
    pub fn sample(&self, rng: &mut impl rand::RngExt) -> Vec<f64> {
        match self {
            Space::Box { low, high, .. } => low
                .iter()
                .zip(high)
                .map(|(lo, hi)| {
                    let lo = if lo.is_finite() { *lo } else { -1.0 };
                    let hi = if hi.is_finite() { *hi } else { 1.0 };
                    if hi > lo {
                        rng.random_range(lo..=hi)
                    } else {
                        lo
                    }
                })
                .collect(),
            Space::Discrete(n) => vec![rng.random_range(0..*n) as f64],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::seeded_rng;

    #[test]
    fn box_samples_stay_inside_their_bounds() {
        let space = Space::bounded(vec![-1.0, 0.0], vec![1.0, 5.0]);
        let mut rng = seeded_rng(3);
        for _ in 0..1000 {
            assert!(space.contains(&space.sample(&mut rng)));
        }
        assert!(!space.contains(&[2.0, 1.0]));
        assert!(!space.contains(&[0.0]));
    }

    #[test]
    fn discrete_contains_only_integers_below_n() {
        let space = Space::Discrete(3);
        assert!(space.contains(&[2.0]));
        assert!(!space.contains(&[3.0]));
        assert!(!space.contains(&[0.5]));
        assert_eq!(space.flat_dim(), 1);
    }
}
