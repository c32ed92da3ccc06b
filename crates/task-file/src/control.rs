//! The three control schemes: actions as `ctrl`, as joint-position offsets from the start
//! pose, or as displacements of a mocap target.

use crate::raw::{self, Source};
use rl_env::Space;
use sim::{Model, ObjectKind, Sim};

/// How an action drives the model.
#[derive(Debug, Clone)]
pub enum Control {
    /// The action is `ctrl`, within each actuator's `ctrlrange`.
    Ctrl { space: Space },
    /// `ctrl = base + scale × action` with the action in [-1, 1], clipped to `ctrlrange`.
    Position {
        base: Vec<f64>,
        scale: f64,
        ranges: Vec<[f64; 2]>,
    },
    /// The mocap body moves `scale × action` from `from_site` (or from where it is), inside
    /// `low`..`high`, keeping the start's orientation; every `ctrl` stays the start's.
    Mocap {
        body: usize,
        from_site: Option<usize>,
        scale: f64,
        low: [f64; 3],
        high: [f64; 3],
    },
}

impl Control {
    /// Resolves `[control]` against the model; `start_qpos` is where episodes start.
    pub fn resolve(
        control: Option<&toml::Spanned<raw::Control>>,
        model: &Model,
        start_qpos: &[f64],
        source: &Source,
    ) -> Result<Self, String> {
        let ctrl_space = || envs::action_space(model, &source.path).map_err(|e| e.to_string());
        let Some(control) = control else {
            return Ok(Self::Ctrl {
                space: ctrl_space()?,
            });
        };
        let at = control.span().start;
        let c = control.get_ref();
        let scheme = c.scheme.get_ref().as_str();
        let error = |key: &str, message: String| source.error(at, key, message);
        let allowed: &[&str] = match scheme {
            "ctrl" => &[],
            "position" => &["scale"],
            "mocap" => &["scale", "body", "from_site", "low", "high"],
            other => {
                return Err(source.error(
                    c.scheme.span().start,
                    "control.scheme",
                    format!("'{other}' is not a control scheme; the schemes are ctrl, position and mocap"),
                ));
            }
        };
        for (key, given) in [
            ("scale", c.scale.is_some()),
            ("body", c.body.is_some()),
            ("from_site", c.from_site.is_some()),
            ("low", c.low.is_some()),
            ("high", c.high.is_some()),
        ] {
            if given && !allowed.contains(&key) {
                return Err(error(
                    &format!("control.{key}"),
                    format!("`{key}` does not apply to the {scheme} scheme"),
                ));
            }
        }
        let scale = |what: &str| -> Result<f64, String> {
            let scale = c.scale.as_ref().ok_or_else(|| {
                error(
                    "control.scale",
                    format!("the {scheme} scheme needs `scale` ({what} for an action of ±1)"),
                )
            })?;
            let value = *scale.get_ref();
            if value.is_finite() && value > 0.0 {
                Ok(value)
            } else {
                Err(source.error(
                    scale.span().start,
                    "control.scale",
                    format!("{value} is not a positive number"),
                ))
            }
        };
        match scheme {
            "ctrl" => Ok(Self::Ctrl {
                space: ctrl_space()?,
            }),
            "position" => {
                let scale = scale("target offset, in the joint's units")?;
                let mut base = Vec::with_capacity(model.nu());
                for actuator in 0..model.nu() {
                    let joint = model.actuator_joint(actuator).filter(|j| {
                        matches!(
                            model.joint_kind(*j),
                            sim::JointKind::Hinge | sim::JointKind::Slide
                        )
                    });
                    let Some(joint) = joint else {
                        let name = model
                            .name_of(ObjectKind::Actuator, actuator)
                            .map_or(format!("#{actuator}"), |n| format!("'{n}'"));
                        return Err(error(
                            "control.scheme",
                            format!(
                                "the position scheme needs every actuator to drive a hinge or slide joint, and actuator {name} does not"
                            ),
                        ));
                    };
                    base.push(start_qpos[model.joint_qpos_address(joint)]);
                }
                // The targets are clipped to each ctrlrange: refuse ranges that cannot be.
                ctrl_space()?;
                Ok(Self::Position {
                    base,
                    scale,
                    ranges: model.ctrl_ranges(),
                })
            }
            _ => {
                let body_name = c.body.as_ref().ok_or_else(|| {
                    error(
                        "control.body",
                        "the mocap scheme needs `body`, the mocap body it moves".into(),
                    )
                })?;
                let body = model
                    .body(body_name.get_ref())
                    .map_err(|e| source.error(body_name.span().start, "control.body", e))?;
                if model.mocap_index(body).is_none() {
                    return Err(source.error(
                        body_name.span().start,
                        "control.body",
                        format!(
                            "body '{}' is not a mocap body (give it mocap=\"true\" in the model)",
                            body_name.get_ref()
                        ),
                    ));
                }
                let from_site = c
                    .from_site
                    .as_ref()
                    .map(|site| {
                        model
                            .site(site.get_ref())
                            .map_err(|e| source.error(site.span().start, "control.from_site", e))
                    })
                    .transpose()?;
                let bound = |value: &Option<toml::Spanned<[f64; 3]>>,
                             key: &str,
                             default: f64|
                 -> Result<[f64; 3], String> {
                    match value {
                        None => Ok([default; 3]),
                        Some(v) if v.get_ref().iter().all(|x| !x.is_nan()) => Ok(*v.get_ref()),
                        Some(v) => Err(source.error(v.span().start, key, "NaN is not a bound")),
                    }
                };
                let low = bound(&c.low, "control.low", f64::NEG_INFINITY)?;
                let high = bound(&c.high, "control.high", f64::INFINITY)?;
                if let Some(axis) = (0..3).find(|&i| low[i] > high[i]) {
                    return Err(error(
                        "control.low",
                        format!("low is above high on axis {axis}"),
                    ));
                }
                Ok(Self::Mocap {
                    body,
                    from_site,
                    scale: scale("metres of target displacement per axis")?,
                    low,
                    high,
                })
            }
        }
    }

    /// The action space.
    pub fn action_space(&self, model: &Model) -> Space {
        match self {
            Self::Ctrl { space } => space.clone(),
            Self::Position { .. } => Space::uniform_box(&[model.nu()], -1.0, 1.0),
            Self::Mocap { .. } => Space::uniform_box(&[3], -1.0, 1.0),
        }
    }

    /// What the scheme does, in words, for the task spec.
    pub fn describe(&self, model: &Model) -> String {
        match self {
            Self::Ctrl { .. } => "actuator controls within each actuator's ctrlrange".into(),
            Self::Position { scale, .. } => format!(
                "each of the {} actuators' targets is its joint's start position plus {scale} × the action in [-1, 1], clipped to its ctrlrange",
                model.nu()
            ),
            Self::Mocap {
                body,
                scale,
                from_site,
                ..
            } => format!(
                "an action in [-1, 1]^3 moves the mocap target '{}' by up to {scale} m per axis per step{}, inside its workspace box; its orientation and the other controls stay as at the start",
                model.name_of(ObjectKind::Body, *body).unwrap_or_default(),
                from_site
                    .map(|s| format!(
                        " from site '{}'",
                        model.name_of(ObjectKind::Site, s).unwrap_or_default()
                    ))
                    .unwrap_or_default()
            ),
        }
    }

    /// Applies an action; `start_ctrl` and `start_quat` are the episode's starting controls and
    /// target orientation. A non-finite element counts as 0.
    pub fn apply(&self, sim: &mut Sim, action: &[f64], start_ctrl: &[f64], start_quat: [f64; 4]) {
        let element = |i: usize| {
            action
                .get(i)
                .copied()
                .filter(|a| a.is_finite())
                .unwrap_or(0.0)
        };
        match self {
            Self::Ctrl { space } => {
                let Space::Box { low, high, .. } = space else {
                    unreachable!("a ctrl action space is a box")
                };
                for (i, ctrl) in sim.ctrl_mut().iter_mut().enumerate() {
                    *ctrl = element(i).clamp(low[i], high[i]);
                }
            }
            Self::Position {
                base,
                scale,
                ranges,
            } => {
                for (i, ctrl) in sim.ctrl_mut().iter_mut().enumerate() {
                    let [lo, hi] = ranges[i];
                    *ctrl = (base[i] + scale * element(i).clamp(-1.0, 1.0)).clamp(lo, hi);
                }
            }
            Self::Mocap {
                body,
                from_site,
                scale,
                low,
                high,
            } => {
                let from = match from_site {
                    Some(site) => sim.site_pos(*site),
                    None => sim.mocap_pose(*body).0,
                };
                let target: [f64; 3] = std::array::from_fn(|i| {
                    (from[i] + element(i).clamp(-1.0, 1.0) * scale).clamp(low[i], high[i])
                });
                sim.set_mocap_pose(*body, target, start_quat);
                sim.ctrl_mut().copy_from_slice(start_ctrl);
            }
        }
    }

    /// The mocap body the scheme moves, if any.
    pub fn mocap_body(&self) -> Option<usize> {
        match self {
            Self::Mocap { body, .. } => Some(*body),
            _ => None,
        }
    }
}
