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

    /// Checks that sampling and clamping are defined on every element of a box: no bound is
    /// NaN, `low <= high`, neither bound is infinite on the wrong side (`low = +inf` or
    /// `high = -inf`), and two finite bounds are at most `f64::MAX` apart. Returns the first
    /// bad element's index with the problem in words. A `Discrete` space needs `n >= 1`.
    pub fn check_bounds(&self) -> Result<(), (usize, String)> {
        match self {
            Space::Box { low, high, .. } => {
                for (i, (lo, hi)) in low.iter().zip(high).enumerate() {
                    let problem = if lo.is_nan() || hi.is_nan() {
                        Some(format!("a bound is NaN ([{lo:?}, {hi:?}])"))
                    } else if lo > hi {
                        Some(format!("low {lo:?} is above high {hi:?}"))
                    } else if *lo == f64::INFINITY || *hi == f64::NEG_INFINITY {
                        Some(format!("the range [{lo:?}, {hi:?}] holds no number"))
                    } else if lo.is_finite() && hi.is_finite() && !(hi - lo).is_finite() {
                        Some(format!(
                            "the range [{lo:?}, {hi:?}] is wider than an f64 can represent"
                        ))
                    } else {
                        None
                    };
                    if let Some(problem) = problem {
                        return Err((i, problem));
                    }
                }
                Ok(())
            }
            Space::Discrete(0) => Err((0, "a discrete space needs at least one value".into())),
            Space::Discrete(_) => Ok(()),
        }
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
    fn bounds_that_cannot_be_sampled_are_named() {
        let ok = Space::bounded(vec![-1.0, f64::NEG_INFINITY], vec![1.0, f64::INFINITY]);
        assert_eq!(ok.check_bounds(), Ok(()));
        let err = |low: f64, high: f64| {
            Space::bounded(vec![0.0, low], vec![1.0, high])
                .check_bounds()
                .unwrap_err()
        };
        assert_eq!(err(f64::NAN, 1.0).0, 1);
        assert!(err(f64::NAN, 1.0).1.contains("NaN"));
        assert!(err(2.0, 1.0).1.contains("low 2.0 is above high 1.0"));
        assert!(
            err(f64::INFINITY, f64::INFINITY)
                .1
                .contains("holds no number")
        );
        assert!(err(-1e308, 1e308).1.contains("wider than an f64"));
        assert!(Space::Discrete(0).check_bounds().is_err());
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
