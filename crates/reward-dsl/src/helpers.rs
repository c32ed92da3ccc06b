//! The helper functions and the `vec3` type that reward programs get, registered as Rust.
//!
//! 3-vectors (`state.ee_pos`, ...) are a small copyable `vec3` type with operators (`a - b`,
//! `v * 2.0`, `-v`), fields `.x .y .z` and indexing `v[0]`: no heap allocation, so vector
//! math costs tens of nanoseconds. Other vectors (`state.action`, quaternions) are Rhai
//! arrays of floats; `norm`, `dot`, `dist`, `add`, `sub` and `scale` accept them too.

use rhai::{Array, Dynamic, Engine, EvalAltResult, FLOAT, INT, RhaiNativeFunc, Variant};

type Result<T> = std::result::Result<T, Box<EvalAltResult>>;
type Unary = fn(f64) -> f64;
type Binary = fn(f64, f64) -> f64;

/// A 3-vector in a reward program.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Vec3 {
    pub x: f64,
    pub y: f64,
    pub z: f64,
}

impl Vec3 {
    pub fn new(v: [f64; 3]) -> Self {
        Self {
            x: v[0],
            y: v[1],
            z: v[2],
        }
    }
    fn array(self) -> [f64; 3] {
        [self.x, self.y, self.z]
    }
    fn map2(self, other: Vec3, f: impl Fn(f64, f64) -> f64) -> Vec3 {
        Vec3 {
            x: f(self.x, other.x),
            y: f(self.y, other.y),
            z: f(self.z, other.z),
        }
    }
    fn scale(self, s: f64) -> Vec3 {
        Vec3::new(self.array().map(|c| c * s))
    }
    fn dot(self, other: Vec3) -> f64 {
        self.x * other.x + self.y * other.y + self.z * other.z
    }
    fn norm(self) -> f64 {
        self.dot(self).sqrt()
    }
    fn cross(self, o: Vec3) -> Vec3 {
        Vec3 {
            x: self.y * o.z - self.z * o.y,
            y: self.z * o.x - self.x * o.z,
            z: self.x * o.y - self.y * o.x,
        }
    }
}

/// A number argument, integer or float, or an error naming the function and argument.
fn number(value: &Dynamic, function: &str, argument: &str) -> Result<f64> {
    if let Some(f) = value.clone().try_cast::<FLOAT>() {
        Ok(f)
    } else if let Some(i) = value.clone().try_cast::<INT>() {
        Ok(i as f64)
    } else {
        Err(format!(
            "{function}: argument '{argument}' must be a number, not {}",
            value.type_name()
        )
        .into())
    }
}

/// An array argument of numbers, as floats.
fn numbers(array: &Array, function: &str) -> Result<Vec<f64>> {
    array
        .iter()
        .map(|v| number(v, function, "array element"))
        .collect()
}

fn same_length(a: &[f64], b: &[f64], function: &str) -> Result<()> {
    if a.len() == b.len() {
        Ok(())
    } else {
        Err(format!(
            "{function}: arrays differ in length ({} and {})",
            a.len(),
            b.len()
        )
        .into())
    }
}

fn to_array(values: impl IntoIterator<Item = f64>) -> Array {
    values.into_iter().map(Dynamic::from_float).collect()
}

fn quaternion(q: &Array, function: &str) -> Result<[f64; 4]> {
    let q = numbers(q, function)?;
    <[f64; 4]>::try_from(q.as_slice()).map_err(|_| {
        format!(
            "{function}: a quaternion is an array of 4 numbers [w, x, y, z], got {}",
            q.len()
        )
        .into()
    })
}

/// dm_control's `tolerance` with a Gaussian sigmoid: 1 inside `[lower, upper]`, falling to
/// 0.1 at `margin` outside it (0 outside when `margin` is 0).
pub fn tolerance(x: f64, lower: f64, upper: f64, margin: f64) -> f64 {
    if (lower..=upper).contains(&x) {
        return 1.0;
    }
    if margin <= 0.0 {
        return 0.0;
    }
    let d = if x < lower { lower - x } else { x - upper } / margin;
    let scale = (-2.0 * 0.1f64.ln()).sqrt();
    (-0.5 * (d * scale).powi(2)).exp()
}

/// Roll, pitch and yaw of a unit quaternion `[w, x, y, z]`.
pub fn quat_to_euler(q: [f64; 4]) -> [f64; 3] {
    let [w, x, y, z] = q;
    [
        (2.0 * (w * x + y * z)).atan2(1.0 - 2.0 * (x * x + y * y)),
        (2.0 * (w * y - z * x)).clamp(-1.0, 1.0).asin(),
        (2.0 * (w * z + x * y)).atan2(1.0 - 2.0 * (y * y + z * z)),
    ]
}

/// `v` rotated by the unit quaternion `q = [w, x, y, z]`.
pub fn quat_rotate(q: [f64; 4], v: Vec3) -> Vec3 {
    let u = Vec3::new([q[1], q[2], q[3]]);
    let t = u.cross(v).scale(2.0);
    Vec3 {
        x: v.x + q[0] * t.x,
        y: v.y + q[0] * t.y,
        z: v.z + q[0] * t.z,
    }
    .map2(u.cross(t), |a, b| a + b)
}

/// An engine being given helpers, keeping each helper's name.
struct Registry<'a> {
    engine: &'a mut Engine,
    names: Vec<&'static str>,
}

impl Registry<'_> {
    /// Registers `function` as (an overload of) the helper `name`.
    fn helper<A: 'static, const N: usize, const X: bool, R: Variant + Clone, const F: bool>(
        &mut self,
        name: &'static str,
        function: impl RhaiNativeFunc<A, N, X, R, F> + Send + Sync + 'static,
    ) -> &mut Self {
        self.engine.register_fn(name, function);
        if !self.names.contains(&name) {
            self.names.push(name);
        }
        self
    }
}

/// Registers the `vec3` type, its operators and every helper; returns the helpers' names.
pub fn register(engine: &mut Engine) -> Vec<&'static str> {
    engine
        .register_type_with_name::<Vec3>("vec3")
        .register_get("x", |v: &mut Vec3| v.x)
        .register_get("y", |v: &mut Vec3| v.y)
        .register_get("z", |v: &mut Vec3| v.z)
        .register_indexer_get(|v: &mut Vec3, i: INT| -> Result<f64> {
            match i {
                0 => Ok(v.x),
                1 => Ok(v.y),
                2 => Ok(v.z),
                _ => Err(format!("vec3 index {i} is out of range 0..=2").into()),
            }
        })
        .register_fn("to_string", |v: &mut Vec3| {
            format!("vec3({}, {}, {})", v.x, v.y, v.z)
        })
        .register_fn("to_debug", |v: &mut Vec3| {
            format!("vec3({}, {}, {})", v.x, v.y, v.z)
        })
        .register_fn("+", |a: Vec3, b: Vec3| a.map2(b, |x, y| x + y))
        .register_fn("-", |a: Vec3, b: Vec3| a.map2(b, |x, y| x - y))
        .register_fn("-", |a: Vec3| a.scale(-1.0))
        .register_fn("*", |a: Vec3, s: FLOAT| a.scale(s))
        .register_fn("*", |s: FLOAT, a: Vec3| a.scale(s))
        .register_fn("*", |a: Vec3, s: INT| a.scale(s as f64))
        .register_fn("*", |s: INT, a: Vec3| a.scale(s as f64))
        .register_fn("/", |a: Vec3, s: FLOAT| a.scale(1.0 / s))
        .register_fn("/", |a: Vec3, s: INT| a.scale(1.0 / s as f64))
        .register_fn("==", |a: Vec3, b: Vec3| a == b);
    let mut registry = Registry {
        engine,
        names: Vec::new(),
    };
    registry
        .helper("to_array", |v: Vec3| to_array(v.array()))
        .helper(
            "vec3",
            |x: Dynamic, y: Dynamic, z: Dynamic| -> Result<Vec3> {
                Ok(Vec3::new([
                    number(&x, "vec3", "x")?,
                    number(&y, "vec3", "y")?,
                    number(&z, "vec3", "z")?,
                ]))
            },
        )
        .helper("add", |a: Vec3, b: Vec3| a.map2(b, |x, y| x + y))
        .helper("sub", |a: Vec3, b: Vec3| a.map2(b, |x, y| x - y))
        .helper("scale", |a: Vec3, s: Dynamic| -> Result<Vec3> {
            Ok(a.scale(number(&s, "scale", "factor")?))
        })
        .helper("norm", |a: Vec3| a.norm())
        .helper("dist", |a: Vec3, b: Vec3| a.map2(b, |x, y| x - y).norm())
        .helper("dot", |a: Vec3, b: Vec3| a.dot(b))
        .helper("cross", |a: Vec3, b: Vec3| a.cross(b))
        .helper("normalize", |a: Vec3| {
            let n = a.norm();
            if n > 0.0 { a.scale(1.0 / n) } else { a }
        })
        .helper("angle_between", |a: Vec3, b: Vec3| {
            let n = a.norm() * b.norm();
            if n > 0.0 {
                (a.dot(b) / n).clamp(-1.0, 1.0).acos()
            } else {
                0.0
            }
        })
        .helper("quat_to_euler", |q: Array| -> Result<Vec3> {
            Ok(Vec3::new(quat_to_euler(quaternion(&q, "quat_to_euler")?)))
        })
        .helper("quat_rotate", |q: Array, v: Vec3| -> Result<Vec3> {
            Ok(quat_rotate(quaternion(&q, "quat_rotate")?, v))
        });

    // Arrays of numbers (actions, quaternions, joint vectors).
    registry
        .helper("norm", |a: Array| -> Result<f64> {
            Ok(numbers(&a, "norm")?
                .iter()
                .map(|x| x * x)
                .sum::<f64>()
                .sqrt())
        })
        .helper("dot", |a: Array, b: Array| -> Result<f64> {
            let (a, b) = (numbers(&a, "dot")?, numbers(&b, "dot")?);
            same_length(&a, &b, "dot")?;
            Ok(a.iter().zip(&b).map(|(x, y)| x * y).sum())
        })
        .helper("dist", |a: Array, b: Array| -> Result<f64> {
            let (a, b) = (numbers(&a, "dist")?, numbers(&b, "dist")?);
            same_length(&a, &b, "dist")?;
            Ok(a.iter()
                .zip(&b)
                .map(|(x, y)| (x - y).powi(2))
                .sum::<f64>()
                .sqrt())
        })
        .helper("add", |a: Array, b: Array| -> Result<Array> {
            let (a, b) = (numbers(&a, "add")?, numbers(&b, "add")?);
            same_length(&a, &b, "add")?;
            Ok(to_array(a.iter().zip(&b).map(|(x, y)| x + y)))
        })
        .helper("sub", |a: Array, b: Array| -> Result<Array> {
            let (a, b) = (numbers(&a, "sub")?, numbers(&b, "sub")?);
            same_length(&a, &b, "sub")?;
            Ok(to_array(a.iter().zip(&b).map(|(x, y)| x - y)))
        })
        .helper("scale", |a: Array, s: Dynamic| -> Result<Array> {
            let s = number(&s, "scale", "factor")?;
            Ok(to_array(numbers(&a, "scale")?.into_iter().map(|x| x * s)))
        });

    // Scalars, accepting integers and floats alike.
    let unary: [(&str, Unary); 4] = [
        ("exp", f64::exp),
        ("tanh", f64::tanh),
        ("sqrt", f64::sqrt),
        ("abs", f64::abs),
    ];
    for (name, f) in unary {
        registry.helper(name, move |x: Dynamic| -> Result<f64> {
            Ok(f(number(&x, name, "x")?))
        });
    }
    let binary: [(&str, Binary); 2] = [("min", f64::min), ("max", f64::max)];
    for (name, f) in binary {
        registry.helper(name, move |a: Dynamic, b: Dynamic| -> Result<f64> {
            Ok(f(number(&a, name, "a")?, number(&b, name, "b")?))
        });
    }
    registry
        .helper(
            "clamp",
            |x: Dynamic, lo: Dynamic, hi: Dynamic| -> Result<f64> {
                let (x, lo, hi) = (
                    number(&x, "clamp", "x")?,
                    number(&lo, "clamp", "lo")?,
                    number(&hi, "clamp", "hi")?,
                );
                if lo.is_nan() || hi.is_nan() {
                    return Err(format!(
                        "clamp: the bounds must be numbers, got lo {lo} and hi {hi}"
                    )
                    .into());
                }
                if lo > hi {
                    return Err(format!("clamp: lo ({lo}) is greater than hi ({hi})").into());
                }
                Ok(x.clamp(lo, hi))
            },
        )
        .helper(
            "tolerance",
            |x: Dynamic, lower: Dynamic, upper: Dynamic, margin: Dynamic| -> Result<f64> {
                let f = "tolerance";
                Ok(tolerance(
                    number(&x, f, "x")?,
                    number(&lower, f, "lower")?,
                    number(&upper, f, "upper")?,
                    number(&margin, f, "margin")?,
                ))
            },
        );
    registry.names
}
