//! State fields: each names one source in the model (a body's position, a joint's velocity,
//! a sensor, a contact, a slice of `qpos`, ...) and reads it from the simulation.

use crate::raw::{self, Source};
use envs::StateField;
use envs::math::{mat_to_quat, quat_conj, quat_mul, quat_to_euler, rotate_into, sub};
use sim::{JointKind, Model, ObjectKind, Sim};
use std::ops::Range;

/// A field ready to read: its schema entry and where its values come from.
#[derive(Debug, Clone)]
pub struct Field {
    pub schema: StateField,
    source: Reading,
    /// The finite difference of the source over the last action, rather than its value.
    pub derivative: bool,
}

/// What an object field reads.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Quantity {
    Pos,
    Quat,
    Euler,
    LinVel,
    AngVel,
    ContactWrench,
}

impl Quantity {
    fn parse(word: &str) -> Option<Self> {
        Some(match word {
            "pos" => Self::Pos,
            "quat" => Self::Quat,
            "euler" => Self::Euler,
            "linvel" => Self::LinVel,
            "angvel" => Self::AngVel,
            "contact_wrench" => Self::ContactWrench,
            _ => return None,
        })
    }

    fn len(self) -> usize {
        match self {
            Self::Quat => 4,
            Self::ContactWrench => 6,
            _ => 3,
        }
    }

    fn unit(self) -> &'static str {
        match self {
            Self::Pos => "m",
            Self::Quat => "unit quaternion [w, x, y, z]",
            Self::Euler => "rad",
            Self::LinVel => "m/s",
            Self::AngVel => "rad/s",
            Self::ContactWrench => "N·m (torque), N (force)",
        }
    }

    fn words(self) -> &'static str {
        match self {
            Self::Pos => "position",
            Self::Quat => "orientation quaternion",
            Self::Euler => "orientation as roll, pitch, yaw about the fixed x, y, z axes",
            Self::LinVel => "linear velocity",
            Self::AngVel => "angular velocity",
            Self::ContactWrench => "external contact wrench (cfrc_ext: torque, then force)",
        }
    }
}

/// The frame an object quantity is expressed in.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Frame {
    World,
    /// The object's own frame (velocities).
    Local,
    /// Relative to a body: positions and orientations relative to it, velocities in its axes.
    Body(usize),
}

/// One of two sides of a contact field.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Side {
    Body(usize),
    Geom(usize),
}

#[derive(Debug, Clone)]
enum Reading {
    Object {
        kind: ObjectKind,
        ids: Vec<usize>,
        quantity: Quantity,
        frame: Frame,
    },
    Qpos(Range<usize>),
    Qvel(Range<usize>),
    Sensor(Range<usize>),
    ActuatorForce(usize),
    Contact {
        sides: [Side; 2],
        force: bool,
    },
}

impl Field {
    /// Reads the field's source (before any derivative) onto `out`.
    pub fn read(&self, sim: &Sim, out: &mut Vec<f64>) {
        match &self.source {
            Reading::Object {
                kind,
                ids,
                quantity,
                frame,
            } => {
                for id in ids {
                    read_object(sim, *kind, *id, *quantity, *frame, out);
                }
            }
            Reading::Qpos(range) => out.extend_from_slice(&sim.qpos()[range.clone()]),
            Reading::Qvel(range) => out.extend_from_slice(&sim.qvel()[range.clone()]),
            Reading::Sensor(range) => out.extend_from_slice(&sim.sensor_data()[range.clone()]),
            Reading::ActuatorForce(id) => out.push(sim.actuator_force(*id)),
            Reading::Contact { sides, force } => {
                let model = sim.model();
                let on = |side: Side, geom: usize| match side {
                    Side::Geom(g) => g == geom,
                    Side::Body(b) => model.geom_body(geom) == b,
                };
                let mut touching = false;
                let mut total = 0.0;
                for (g1, g2, normal) in sim.contacts() {
                    let [a, b] = *sides;
                    if (on(a, g1) && on(b, g2)) || (on(a, g2) && on(b, g1)) {
                        touching = true;
                        total += normal;
                    }
                }
                out.push(if *force {
                    total
                } else {
                    f64::from(u8::from(touching))
                });
            }
        }
    }

    /// Whether reading the field needs `cfrc_ext` computed.
    pub fn needs_contact_wrenches(&self) -> bool {
        matches!(
            self.source,
            Reading::Object {
                quantity: Quantity::ContactWrench,
                ..
            }
        )
    }
}

fn read_object(
    sim: &Sim,
    kind: ObjectKind,
    id: usize,
    quantity: Quantity,
    frame: Frame,
    out: &mut Vec<f64>,
) {
    let (pos, mat) = match kind {
        ObjectKind::Site => (sim.site_pos(id), sim.site_frame(id)),
        ObjectKind::Geom => (sim.geom_pos(id), sim.geom_frame(id)),
        _ => (sim.body_pos(id), sim.body_frame(id)),
    };
    let quat = || match kind {
        ObjectKind::Body => sim.body_quat(id),
        _ => mat_to_quat(&mat),
    };
    let relative_quat = |q: [f64; 4]| match frame {
        Frame::Body(b) => quat_mul(quat_conj(sim.body_quat(b)), q),
        _ => q,
    };
    let into_frame = |v: [f64; 3]| match frame {
        Frame::Body(b) => rotate_into(&sim.body_frame(b), v),
        _ => v,
    };
    match quantity {
        Quantity::Pos => out.extend(match frame {
            Frame::Body(b) => rotate_into(&sim.body_frame(b), sub(pos, sim.body_pos(b))),
            _ => pos,
        }),
        Quantity::Quat => out.extend(relative_quat(quat())),
        Quantity::Euler => out.extend(quat_to_euler(relative_quat(quat()))),
        Quantity::LinVel | Quantity::AngVel => {
            let velocity = sim.object_velocity(kind, id, frame == Frame::Local);
            let v = if quantity == Quantity::LinVel {
                velocity.linear
            } else {
                velocity.angular
            };
            out.extend(into_frame(v));
        }
        Quantity::ContactWrench => out.extend(sim.body_contact_wrench(id)),
    }
}

/// The source keys a field may have; exactly one is given.
const SOURCE_KEYS: [&str; 9] = [
    "body", "site", "geom", "joint", "sensor", "actuator", "contact", "qpos", "qvel",
];

/// Resolves a `[[field]]` table against the model.
pub fn resolve(
    field: &toml::Spanned<raw::Field>,
    model: &Model,
    source: &Source,
) -> Result<Field, String> {
    let at = field.span().start;
    let f = field.get_ref();
    let name = f.name.get_ref().as_str();
    let error =
        |key: &str, message: String| source.error(at, key, format!("field '{name}': {message}"));
    if !is_identifier(name) {
        return Err(source.error(
            f.name.span().start,
            "name",
            format!(
                "'{name}' is not a valid field name: use letters, digits and _, starting with a \
                 letter, as `state.{name}` must parse"
            ),
        ));
    }
    let given: Vec<&str> = [
        f.body.is_some(),
        f.site.is_some(),
        f.geom.is_some(),
        f.joint.is_some(),
        f.sensor.is_some(),
        f.actuator.is_some(),
        f.contact.is_some(),
        f.qpos.is_some(),
        f.qvel.is_some(),
    ]
    .iter()
    .zip(SOURCE_KEYS)
    .filter_map(|(given, key)| given.then_some(key))
    .collect();
    let [key] = given[..] else {
        return Err(error(
            "field",
            format!(
                "give exactly one source key of {}; this field has {}",
                SOURCE_KEYS.join(", "),
                if given.is_empty() {
                    "none".to_string()
                } else {
                    given.join(" and ")
                }
            ),
        ));
    };
    let lookup = |kind: ObjectKind, value: &raw::Name| {
        model
            .id(kind, value.get_ref())
            .map_err(|e| source.error(value.span().start, key, format!("field '{name}': {e}")))
    };
    let quantity_word = f.quantity.as_ref().map(|q| q.get_ref().as_str());
    let refuse_unused = |unused: &[(&str, bool)]| -> Result<(), String> {
        match unused.iter().find(|(_, given)| *given) {
            Some((other, _)) => Err(error(
                other,
                format!("`{other}` does not apply to a `{key}` field"),
            )),
            None => Ok(()),
        }
    };
    let (reading, shape, unit, frame_label, description) = match key {
        "body" | "site" | "geom" => {
            let kind = match key {
                "body" => ObjectKind::Body,
                "site" => ObjectKind::Site,
                _ => ObjectKind::Geom,
            };
            refuse_unused(&[("between", f.between.is_some())])?;
            let object = f
                .body
                .as_ref()
                .or(f.site.as_ref())
                .or(f.geom.as_ref())
                .expect("given");
            let word = quantity_word.ok_or_else(|| {
                error(
                    "quantity",
                    format!("a `{key}` field needs `quantity`: pos, quat, euler, linvel, angvel or (bodies) contact_wrench"),
                )
            })?;
            let quantity = Quantity::parse(word).ok_or_else(|| {
                error(
                    "quantity",
                    format!("'{word}' is not a quantity; the quantities are pos, quat, euler, linvel, angvel and (bodies) contact_wrench"),
                )
            })?;
            if quantity == Quantity::ContactWrench && kind != ObjectKind::Body {
                return Err(error(
                    "quantity",
                    "contact_wrench is a body quantity".into(),
                ));
            }
            let ids: Vec<usize> = if kind == ObjectKind::Body && object.get_ref() == "*" {
                (1..model.nbody()).collect()
            } else {
                vec![lookup(kind, object)?]
            };
            let frame = match f.frame.as_ref().map(|f| f.get_ref().as_str()) {
                None | Some("world") => Frame::World,
                Some("local") => {
                    if !matches!(quantity, Quantity::LinVel | Quantity::AngVel) {
                        return Err(error(
                            "frame",
                            "frame \"local\" applies to velocities (linvel, angvel); give a body's name for positions and orientations relative to it".into(),
                        ));
                    }
                    Frame::Local
                }
                Some(_) => Frame::Body(lookup(ObjectKind::Body, f.frame.as_ref().expect("given"))?),
            };
            if quantity == Quantity::ContactWrench && frame != Frame::World {
                return Err(error(
                    "frame",
                    "contact_wrench is only given in world axes".into(),
                ));
            }
            let what = if ids.len() == 1 {
                format!("{key} '{}'", object.get_ref())
            } else {
                format!(
                    "every body but the world ({} bodies, in model order)",
                    ids.len()
                )
            };
            let frame_label = match frame {
                Frame::World => "world".to_string(),
                Frame::Local => format!("{key} '{}' frame", object.get_ref()),
                Frame::Body(b) => format!(
                    "body '{}' frame",
                    model.name_of(ObjectKind::Body, b).unwrap_or_default()
                ),
            };
            let len = quantity.len() * ids.len();
            (
                Reading::Object {
                    kind,
                    ids,
                    quantity,
                    frame,
                },
                vec![len],
                quantity.unit().to_string(),
                frame_label.clone(),
                format!(
                    "The {} of {what}, in the {frame_label} frame.",
                    quantity.words()
                ),
            )
        }
        "joint" => {
            refuse_unused(&[
                ("frame", f.frame.is_some()),
                ("between", f.between.is_some()),
            ])?;
            let joint_name = f.joint.as_ref().expect("given");
            let joint = lookup(ObjectKind::Joint, joint_name)?;
            let joint_kind = model.joint_kind(joint);
            let velocity = one_of(quantity_word, "joint", ["pos", "vel"])
                .map_err(|message| error("quantity", message))?;
            let (range, len) = if velocity {
                let start = model.joint_dof_address(joint);
                (start..start + joint_kind.qvel_len(), joint_kind.qvel_len())
            } else {
                let start = model.joint_qpos_address(joint);
                (start..start + joint_kind.qpos_len(), joint_kind.qpos_len())
            };
            let unit = match (joint_kind, velocity) {
                (JointKind::Hinge, false) => "rad",
                (JointKind::Hinge, true) => "rad/s",
                (JointKind::Slide, false) => "m",
                (JointKind::Slide, true) => "m/s",
                (JointKind::Ball, false) => "unit quaternion",
                (JointKind::Ball, true) => "rad/s",
                (JointKind::Free, false) => "m (position), unit quaternion",
                (JointKind::Free, true) => "m/s (linear), rad/s (angular)",
            };
            (
                if velocity {
                    Reading::Qvel(range)
                } else {
                    Reading::Qpos(range)
                },
                if len == 1 { vec![] } else { vec![len] },
                unit.to_string(),
                "joint space".to_string(),
                format!(
                    "The {} of joint '{}'.",
                    if velocity { "velocity" } else { "position" },
                    joint_name.get_ref()
                ),
            )
        }
        "sensor" => {
            refuse_unused(&[
                ("quantity", f.quantity.is_some()),
                ("frame", f.frame.is_some()),
                ("between", f.between.is_some()),
            ])?;
            let sensor_name = f.sensor.as_ref().expect("given");
            let range = model.sensor_range(lookup(ObjectKind::Sensor, sensor_name)?);
            let len = range.len();
            (
                Reading::Sensor(range),
                if len == 1 { vec![] } else { vec![len] },
                "the sensor's units".to_string(),
                "the sensor's frame".to_string(),
                format!("The reading of sensor '{}'.", sensor_name.get_ref()),
            )
        }
        "actuator" => {
            refuse_unused(&[
                ("frame", f.frame.is_some()),
                ("between", f.between.is_some()),
            ])?;
            if quantity_word != Some("force") {
                return Err(error(
                    "quantity",
                    "an actuator field's quantity is \"force\"".into(),
                ));
            }
            let actuator_name = f.actuator.as_ref().expect("given");
            (
                Reading::ActuatorForce(lookup(ObjectKind::Actuator, actuator_name)?),
                vec![],
                "N or N·m".to_string(),
                "actuator space".to_string(),
                format!("The force of actuator '{}'.", actuator_name.get_ref()),
            )
        }
        "contact" => {
            refuse_unused(&[("frame", f.frame.is_some())])?;
            let pair = f.contact.as_ref().expect("given");
            let geoms = match f.between.as_ref().map(|b| b.get_ref().as_str()) {
                None | Some("bodies") => false,
                Some("geoms") => true,
                Some(other) => {
                    return Err(error(
                        "between",
                        format!("`between` is \"bodies\" or \"geoms\", not '{other}'"),
                    ));
                }
            };
            let force = one_of(quantity_word, "contact", ["flag", "force"])
                .map_err(|message| error("quantity", message))?;
            let kind = if geoms {
                ObjectKind::Geom
            } else {
                ObjectKind::Body
            };
            let side = |object: &String| {
                model
                    .id(kind, object)
                    .map(|id| {
                        if geoms {
                            Side::Geom(id)
                        } else {
                            Side::Body(id)
                        }
                    })
                    .map_err(|e| {
                        source.error(pair.span().start, "contact", format!("field '{name}': {e}"))
                    })
            };
            let [a, b] = pair.get_ref();
            let sides = [side(a)?, side(b)?];
            let what = if geoms { "geoms" } else { "bodies" };
            (
                Reading::Contact { sides, force },
                vec![],
                if force { "N" } else { "1 if touching, else 0" }.to_string(),
                "-".to_string(),
                if force {
                    format!(
                        "The summed normal force of the contacts between {what} '{a}' and '{b}'."
                    )
                } else {
                    format!("Whether {what} '{a}' and '{b}' touch.")
                },
            )
        }
        _ => {
            refuse_unused(&[
                ("quantity", f.quantity.is_some()),
                ("frame", f.frame.is_some()),
                ("between", f.between.is_some()),
            ])?;
            let (slice, size, velocity) = match (&f.qpos, &f.qvel) {
                (Some(slice), _) => (slice, model.nq(), false),
                (_, Some(slice)) => (slice, model.nv(), true),
                _ => unreachable!("one of qpos and qvel is given"),
            };
            let (start, end, one) = match *slice.get_ref() {
                raw::Slice::One(i) => (i, i.saturating_add(1), true),
                raw::Slice::Range([a, b]) => (a, b, false),
            };
            if start < 0 || end as usize > size || start >= end {
                return Err(source.error(
                    slice.span().start,
                    key,
                    format!(
                        "field '{name}': {key} [{start}, {end}) is not a slice of the model's {size} {key} elements (give [start, end) with 0 ≤ start < end ≤ {size}, or one index)"
                    ),
                ));
            }
            let range = start as usize..end as usize;
            let len = range.len();
            let words = if one {
                format!("Element {start} of {key}.")
            } else {
                format!("Elements {start} to {} of {key}.", end - 1)
            };
            (
                if velocity {
                    Reading::Qvel(range)
                } else {
                    Reading::Qpos(range)
                },
                if one { vec![] } else { vec![len] },
                if velocity { "m/s or rad/s" } else { "m or rad" }.to_string(),
                "joint space".to_string(),
                words,
            )
        }
    };
    let (unit, description) = if f.derivative {
        (
            format!("({unit})/s"),
            format!("The change over the last action, per second, of: {description}"),
        )
    } else {
        (unit, description)
    };
    if f.derivative && matches!(reading, Reading::Contact { force: false, .. }) {
        return Err(error(
            "derivative",
            "a contact flag has no derivative".into(),
        ));
    }
    Ok(Field {
        schema: StateField {
            name: name.to_string(),
            shape,
            unit: f.unit.clone().unwrap_or(unit),
            frame: f.frame_label.clone().unwrap_or(frame_label),
            description: f.description.clone().unwrap_or(description),
        },
        source: reading,
        derivative: f.derivative,
    })
}

/// Which of a field kind's two quantities `word` names: `false` for the first, `true` for
/// the second, or the message for anything else.
fn one_of(word: Option<&str>, kind: &str, [first, second]: [&str; 2]) -> Result<bool, String> {
    match word {
        Some(w) if w == first => Ok(false),
        Some(w) if w == second => Ok(true),
        other => Err(format!(
            "a {kind} field's quantity is \"{first}\" or \"{second}\", not {}",
            other.map_or("missing".into(), |w| format!("'{w}'"))
        )),
    }
}

/// Whether `name` can follow `state.` in a program.
fn is_identifier(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}
