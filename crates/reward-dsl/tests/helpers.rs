//! Every helper against values computed by hand.

mod common;
use common::value;

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() < 1e-12
}

#[test]
fn vector_helpers_match_hand_computed_values() {
    assert!(close(value("norm(state.ee_pos)"), 3.0));
    assert!(close(
        value("dist(state.ee_pos, state.goal_pos)"),
        8.0f64.sqrt()
    ));
    assert!(close(value("dot(state.ee_pos, state.goal_pos)"), 1.0));
    assert!(close(value("cross(vec3(1, 0, 0), vec3(0, 1, 0)).z"), 1.0));
    assert!(close(value("cross(state.ee_pos, state.goal_pos).y"), 2.0));
    assert!(close(value("sub(state.ee_pos, state.goal_pos).y"), 2.0));
    assert!(close(value("add(state.ee_pos, state.goal_pos).x"), 2.0));
    assert!(close(value("scale(state.ee_pos, 0.5).z"), 1.0));
    assert!(close(value("normalize(state.ee_pos).y"), 2.0 / 3.0));
    assert!(close(
        value("angle_between(vec3(1, 0, 0), vec3(0, 0, 2))"),
        std::f64::consts::FRAC_PI_2
    ));
}

#[test]
fn vec3_operators_fields_and_indexing() {
    assert!(close(value("(state.ee_pos - state.goal_pos).z"), 2.0));
    assert!(close(value("(state.ee_pos + state.goal_pos)[0]"), 2.0));
    assert!(close(value("(state.ee_pos * 2.0).y"), 4.0));
    assert!(close(value("(2 * state.ee_pos).y"), 4.0));
    assert!(close(value("(state.ee_pos / 2).x"), 0.5));
    assert!(close(value("(-state.ee_pos).x"), -1.0));
    assert!(close(value("state.ee_pos.norm()"), 3.0));
}

#[test]
fn array_helpers_work_on_actions_and_quaternions() {
    assert!(close(value("norm(state.action)"), 1.5f64.sqrt()));
    assert!(close(value("dot(state.action, state.action)"), 1.5));
    assert!(close(
        value("dist(state.action, state.prev_action)"),
        1.5f64.sqrt()
    ));
    assert!(close(value("sub(state.action, [1.0, 1.0, 1.0])[1]"), -1.5));
    assert!(close(value("add(state.action, [1, 1, 1])[2]"), 2.0));
    assert!(close(value("scale(state.action, 2)[0]"), 1.0));
    assert!(close(
        value("state.object_quat[0]"),
        std::f64::consts::FRAC_1_SQRT_2
    ));
}

#[test]
fn rotation_helpers_match_a_quarter_turn_about_z() {
    assert!(close(
        value("quat_to_euler(state.object_quat).z"),
        std::f64::consts::FRAC_PI_2
    ));
    assert!(close(value("quat_to_euler(state.object_quat).x"), 0.0));
    let rotated_x = value("quat_rotate(state.object_quat, vec3(1, 0, 0)).x");
    let rotated_y = value("quat_rotate(state.object_quat, vec3(1, 0, 0)).y");
    assert!(rotated_x.abs() < 1e-12 && close(rotated_y, 1.0));
}

#[test]
fn scalar_helpers_accept_integers_and_floats() {
    assert!(close(value("clamp(5, 0, 1.5)"), 1.5));
    assert!(close(value("clamp(-0.25, -1, 1)"), -0.25));
    assert!(close(value("exp(0)"), 1.0));
    assert!(close(value("exp(1.0)"), std::f64::consts::E));
    assert!(close(value("tanh(0.5)"), 0.5f64.tanh()));
    assert!(close(value("sqrt(16)"), 4.0));
    assert!(close(value("abs(-2.5)"), 2.5));
    assert!(close(value("min(3, 2.5)"), 2.5));
    assert!(close(value("max(-1, -2)"), -1.0));
}

#[test]
fn tolerance_is_one_inside_the_bounds_and_a_tenth_at_the_margin() {
    assert!(close(value("tolerance(0.5, 0.0, 1.0, 0.2)"), 1.0));
    assert!(close(value("tolerance(1.2, 0.0, 1.0, 0.2)"), 0.1));
    assert!(close(value("tolerance(-0.2, 0.0, 1.0, 0.2)"), 0.1));
    let half = value("tolerance(1.1, 0.0, 1.0, 0.2)");
    assert!(close(half, (0.1f64.ln() / 4.0).exp()), "{half}");
    assert!(close(value("tolerance(1.01, 0.0, 1.0, 0)"), 0.0));
}

#[test]
fn state_exposes_dt_step_and_scalars() {
    assert!(close(value("state.dt"), 0.04));
    assert!(close(value("state.step * 1.0"), 7.0));
    assert!(close(value("state.touching"), 1.0));
    assert!(close(value("state.prev_action[2]"), 0.0));
}
