//! Small vector and rotation helpers shared by the envs and task files.

pub fn sub(a: [f64; 3], b: [f64; 3]) -> [f64; 3] {
    [a[0] - b[0], a[1] - b[1], a[2] - b[2]]
}

pub fn norm(v: [f64; 3]) -> f64 {
    (v[0] * v[0] + v[1] * v[1] + v[2] * v[2]).sqrt()
}

pub fn distance(a: [f64; 3], b: [f64; 3]) -> f64 {
    norm(sub(a, b))
}

/// `Rᵀ v` for a row-major 3×3 rotation `r`: a world vector in the rotated frame's axes.
pub fn rotate_into(r: &[f64; 9], v: [f64; 3]) -> [f64; 3] {
    std::array::from_fn(|j| r[j] * v[0] + r[3 + j] * v[1] + r[6 + j] * v[2])
}

/// The unit quaternion `[w, x, y, z]` of a row-major 3×3 rotation (Shepperd's method), with
/// `w ≥ 0`.
pub fn mat_to_quat(r: &[f64; 9]) -> [f64; 4] {
    let trace = r[0] + r[4] + r[8];
    let q = if trace > 0.0 {
        let s = 2.0 * (trace + 1.0).sqrt();
        [
            0.25 * s,
            (r[7] - r[5]) / s,
            (r[2] - r[6]) / s,
            (r[3] - r[1]) / s,
        ]
    } else if r[0] > r[4] && r[0] > r[8] {
        let s = 2.0 * (1.0 + r[0] - r[4] - r[8]).sqrt();
        [
            (r[7] - r[5]) / s,
            0.25 * s,
            (r[1] + r[3]) / s,
            (r[2] + r[6]) / s,
        ]
    } else if r[4] > r[8] {
        let s = 2.0 * (1.0 + r[4] - r[0] - r[8]).sqrt();
        [
            (r[2] - r[6]) / s,
            (r[1] + r[3]) / s,
            0.25 * s,
            (r[5] + r[7]) / s,
        ]
    } else {
        let s = 2.0 * (1.0 + r[8] - r[0] - r[4]).sqrt();
        [
            (r[3] - r[1]) / s,
            (r[2] + r[6]) / s,
            (r[5] + r[7]) / s,
            0.25 * s,
        ]
    };
    if q[0] < 0.0 { q.map(|c| -c) } else { q }
}

/// The Hamilton product `a ⊗ b` of quaternions `[w, x, y, z]`.
pub fn quat_mul(a: [f64; 4], b: [f64; 4]) -> [f64; 4] {
    [
        a[0] * b[0] - a[1] * b[1] - a[2] * b[2] - a[3] * b[3],
        a[0] * b[1] + a[1] * b[0] + a[2] * b[3] - a[3] * b[2],
        a[0] * b[2] - a[1] * b[3] + a[2] * b[0] + a[3] * b[1],
        a[0] * b[3] + a[1] * b[2] - a[2] * b[1] + a[3] * b[0],
    ]
}

/// The inverse of a unit quaternion.
pub fn quat_conj(q: [f64; 4]) -> [f64; 4] {
    [q[0], -q[1], -q[2], -q[3]]
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

    #[test]
    fn a_rotation_matrix_and_its_quaternion_agree() {
        // A quarter turn about z: x goes to y.
        let r = [0.0, -1.0, 0.0, 1.0, 0.0, 0.0, 0.0, 0.0, 1.0];
        let h = std::f64::consts::FRAC_1_SQRT_2;
        let q = mat_to_quat(&r);
        assert!(
            (q[0] - h).abs() < 1e-12 && (q[3] - h).abs() < 1e-12,
            "{q:?}"
        );
        assert!(distance(rotate_into(&r, [0.0, 1.0, 0.0]), [1.0, 0.0, 0.0]) < 1e-12);
        let back = quat_mul(quat_conj(q), q);
        assert!((back[0] - 1.0).abs() < 1e-12, "{back:?}");
        // Half turn about x (trace -1): the branch on the largest diagonal element.
        let q = mat_to_quat(&[1.0, 0.0, 0.0, 0.0, -1.0, 0.0, 0.0, 0.0, -1.0]);
        assert!((q[1].abs() - 1.0).abs() < 1e-12, "{q:?}");
    }
}
