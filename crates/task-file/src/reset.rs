//! How an episode starts: a keyframe (or the reference configuration), optionally settled
//! once at load, then noise on `qpos` and `qvel` and named bodies placed in boxes.

use crate::raw::{self, Source};
use rand::RngExt;
use rand_chacha::ChaCha8Rng;
use sim::{JointKind, Model, Sim};

/// The most physics steps `settle_steps` accepts: 10 s at a 1 ms timestep.
pub const MAX_SETTLE_STEPS: i64 = 10_000;

/// The largest noise accepted (a half-width or a standard deviation): far past any joint's
/// range, and small enough that sampling its range cannot overflow.
pub const MAX_NOISE: f64 = 1e6;

/// Noise added to every element of `qpos` or `qvel` at a reset.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Noise {
    None,
    /// Uniform in ±half_width.
    Uniform(f64),
    /// Gaussian with this standard deviation.
    Gaussian(f64),
}

impl Noise {
    fn resolve(
        noise: Option<&toml::Spanned<raw::Noise>>,
        key: &str,
        source: &Source,
    ) -> Result<Self, String> {
        let Some(noise) = noise else {
            return Ok(Self::None);
        };
        let error = |message: &str| source.error(noise.span().start, key, message);
        let n = noise.get_ref();
        let (value, noise) = match (n.uniform, n.gaussian) {
            (Some(width), None) => (width, Self::Uniform(width)),
            (None, Some(sigma)) => (sigma, Self::Gaussian(sigma)),
            _ => {
                return Err(error(
                    "give exactly one of `uniform` (half-width) and `gaussian` (standard deviation)",
                ));
            }
        };
        if (0.0..=MAX_NOISE).contains(&value) {
            Ok(noise)
        } else {
            Err(error(&format!(
                "the noise must be a number from 0 to {MAX_NOISE}"
            )))
        }
    }

    fn sample(self, rng: &mut ChaCha8Rng) -> Option<f64> {
        match self {
            Self::None => None,
            Self::Uniform(width) => Some(rng.random_range(-width..=width)),
            Self::Gaussian(sigma) => Some(sigma * standard_normal(rng)),
        }
    }

    /// In words, for the task spec.
    fn describe(self) -> String {
        match self {
            Self::None => "none".into(),
            Self::Uniform(width) => format!("uniform ±{width}"),
            Self::Gaussian(sigma) => format!("Gaussian with standard deviation {sigma}"),
        }
    }
}

/// A standard normal sample (Box–Muller).
fn standard_normal(rng: &mut ChaCha8Rng) -> f64 {
    let u: f64 = 1.0 - rng.random::<f64>();
    let v: f64 = rng.random();
    (-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos()
}

/// Where a placed body goes.
#[derive(Debug, Clone, Copy)]
enum Placed {
    Mocap(usize),
    /// The `qpos` address of the body's free joint.
    FreeJoint(usize),
}

#[derive(Debug, Clone)]
struct Placement {
    placed: Placed,
    low: [f64; 3],
    high: [f64; 3],
}

/// The reset, resolved against the model.
#[derive(Debug, Clone)]
pub struct Reset {
    keyframe: Option<usize>,
    /// The settled `qpos` every episode starts from, when `settle_steps` > 0.
    settled_qpos: Option<Vec<f64>>,
    qpos_noise: Noise,
    qvel_noise: Noise,
    places: Vec<Placement>,
    text: String,
}

impl Reset {
    pub fn resolve(reset: &raw::Reset, model: &Model, source: &Source) -> Result<Self, String> {
        let keyframe = reset
            .keyframe
            .as_ref()
            .map(|key| {
                model
                    .id(sim::ObjectKind::Keyframe, key.get_ref())
                    .map_err(|e| source.error(key.span().start, "reset.keyframe", e))
            })
            .transpose()?;
        let settle_steps = match &reset.settle_steps {
            None => 0,
            Some(steps) if (0..=MAX_SETTLE_STEPS).contains(steps.get_ref()) => {
                *steps.get_ref() as usize
            }
            Some(steps) => {
                return Err(source.error(
                    steps.span().start,
                    "reset.settle_steps",
                    format!(
                        "{} is not between 0 and {MAX_SETTLE_STEPS} physics steps",
                        steps.get_ref()
                    ),
                ));
            }
        };
        let qpos_noise = Noise::resolve(reset.qpos_noise.as_ref(), "reset.qpos_noise", source)?;
        let qvel_noise = Noise::resolve(reset.qvel_noise.as_ref(), "reset.qvel_noise", source)?;
        let mut places = Vec::new();
        for place in &reset.place {
            let at = place.span().start;
            let p = place.get_ref();
            let body = model
                .body(p.body.get_ref())
                .map_err(|e| source.error(p.body.span().start, "reset.place.body", e))?;
            let placed = match model.mocap_index(body) {
                Some(_) => Placed::Mocap(body),
                None => {
                    let free = model
                        .body_joints(body)
                        .find(|j| model.joint_kind(*j) == JointKind::Free)
                        .ok_or_else(|| {
                            source.error(
                                p.body.span().start,
                                "reset.place.body",
                                format!("body '{}' is neither a mocap body nor a body with a free joint, so it cannot be placed", p.body.get_ref()),
                            )
                        })?;
                    Placed::FreeJoint(model.joint_qpos_address(free))
                }
            };
            if let Some(axis) =
                (0..3).find(|&i| !((p.high[i] - p.low[i]).is_finite() && p.low[i] <= p.high[i]))
            {
                return Err(source.error(
                    at,
                    "reset.place",
                    format!("axis {axis}: low and high must be finite, with low ≤ high and high − low finite"),
                ));
            }
            places.push(Placement {
                placed,
                low: p.low,
                high: p.high,
            });
        }
        let mut text = match &reset.keyframe {
            Some(key) => format!("keyframe '{}'", key.get_ref()),
            None => "the model's reference configuration".to_string(),
        };
        let mut resolved = Self {
            keyframe,
            settled_qpos: None,
            qpos_noise,
            qvel_noise,
            places,
            text: String::new(),
        };
        if settle_steps > 0 {
            let mut sim = Sim::new(model);
            resolved.start(&mut sim);
            sim.step(settle_steps);
            resolved.settled_qpos = Some(sim.qpos().to_vec());
            text.push_str(&format!(
                ", settled for {settle_steps} physics steps at load"
            ));
        }
        text.push_str(&format!(
            "; qpos noise {}, qvel noise {}",
            qpos_noise.describe(),
            qvel_noise.describe()
        ));
        for (place, raw) in resolved.places.iter().zip(&reset.place) {
            text.push_str(&format!(
                "; body '{}' uniform in the box {:?} to {:?}",
                raw.get_ref().body.get_ref(),
                place.low,
                place.high
            ));
        }
        resolved.text = text;
        Ok(resolved)
    }

    /// Puts `sim` at the start before noise: the keyframe (or the reference configuration),
    /// then the settled `qpos`.
    pub fn start(&self, sim: &mut Sim) {
        match self.keyframe {
            Some(key) => sim.reset_to_keyframe(key),
            None => sim.reset(),
        }
        if let Some(qpos) = &self.settled_qpos {
            sim.qpos_mut().copy_from_slice(qpos);
            sim.forward();
        }
    }

    /// Starts an episode: [`Reset::start`], noise, placements, `mj_forward`.
    pub fn apply(&self, sim: &mut Sim, rng: &mut ChaCha8Rng) {
        self.start(sim);
        if self.qpos_noise != Noise::None {
            for q in sim.qpos_mut() {
                *q += self.qpos_noise.sample(rng).unwrap_or(0.0);
            }
        }
        if self.qvel_noise != Noise::None {
            for v in sim.qvel_mut() {
                *v += self.qvel_noise.sample(rng).unwrap_or(0.0);
            }
        }
        for place in &self.places {
            let pos: [f64; 3] =
                std::array::from_fn(|i| rng.random_range(place.low[i]..=place.high[i]));
            match place.placed {
                Placed::Mocap(body) => {
                    let quat = sim.mocap_pose(body).1;
                    sim.set_mocap_pose(body, pos, quat);
                }
                Placed::FreeJoint(address) => {
                    sim.qpos_mut()[address..address + 3].copy_from_slice(&pos)
                }
            }
        }
        sim.forward();
    }

    /// The `qpos` episodes start from, before noise.
    pub fn start_qpos(&self, model: &Model) -> Vec<f64> {
        let mut sim = Sim::new(model);
        self.start(&mut sim);
        sim.qpos().to_vec()
    }

    /// What a reset does, in words.
    pub fn describe(&self) -> &str {
        &self.text
    }
}
