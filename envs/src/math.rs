//! Small vector and rotation helpers shared by the envs.

pub fn sub(a: [f64; 3], b: [f64; 3]) -> [f64; 3] {
    [a[0] - b[0], a[1] - b[1], a[2] - b[2]]
}

pub fn norm(v: [f64; 3]) -> f64 {
    (v[0] * v[0] + v[1] * v[1] + v[2] * v[2]).sqrt()
}

pub fn distance(a: [f64; 3], b: [f64; 3]) -> f64 {
    norm(sub(a, b))
}

/// Roll, pitch and yaw (rotations about x, then y, then z of the fixed frame) of a unit
/// quaternion `[w, x, y, z]`.
pub fn quat_to_euler(q: [f64; 4]) -> [f64; 3] {
    let [w, x, y, z] = q;
    let roll = (2.0 * (w * x + y * z)).atan2(1.0 - 2.0 * (x * x + y * y));
    let pitch = (2.0 * (w * y - z * x)).clamp(-1.0, 1.0).asin();
    let yaw = (2.0 * (w * z + x * y)).atan2(1.0 - 2.0 * (y * y + z * z));
    [roll, pitch, yaw]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn euler_of_a_quarter_turn_about_each_axis() {
        let h = std::f64::consts::FRAC_1_SQRT_2;
        let quarter = std::f64::consts::FRAC_PI_2;
        let close = |a: [f64; 3], b: [f64; 3]| distance(a, b) < 1e-9;
        assert!(close(quat_to_euler([h, h, 0.0, 0.0]), [quarter, 0.0, 0.0]));
        assert!(close(quat_to_euler([h, 0.0, 0.0, h]), [0.0, 0.0, quarter]));
        assert!(close(quat_to_euler([1.0, 0.0, 0.0, 0.0]), [0.0; 3]));
        let pitch = quat_to_euler([(0.3f64).cos(), 0.0, (0.3f64).sin(), 0.0]);
        assert!(close(pitch, [0.0, 0.6, 0.0]));
    }
}
