//! Field sources, control schemes and reset options read what MuJoCo says they should.

use envs::{EnvOptions, TaskEnv};
use rl_env::Env;

const MODEL: &str = r#"<mujoco>
  <option timestep="0.002"/>
  <worldbody>
    <geom name="floor" type="plane" size="5 5 0.1"/>
    <body name="box" pos="0 0 0.1">
      <freejoint name="box_free"/>
      <geom name="box_geom" type="box" size="0.1 0.1 0.1" mass="2"/>
      <site name="corner" pos="0.1 0.1 0.1"/>
    </body>
    <body name="arm" pos="1 0 0.5" euler="0 0 90">
      <joint name="shoulder" type="hinge" axis="0 0 1"/>
      <geom type="capsule" fromto="0 0 0 0.3 0 0" size="0.02" mass="0.5" contype="0" conaffinity="0"/>
      <site name="tip" pos="0.3 0 0"/>
    </body>
    <body name="target" mocap="true" pos="0 1 0.5"/>
  </worldbody>
  <actuator><position name="servo" joint="shoulder" kp="20" ctrlrange="-2 2"/></actuator>
  <sensor><framepos name="corner_pos" objtype="site" objname="corner"/></sensor>
  <keyframe><key name="bent" qpos="0 0 0.1 1 0 0 0 0.5" ctrl="0.5" mpos="0 1 0.5"/></keyframe>
</mujoco>
"#;

fn open(extra: &str) -> task_file::TaskFileEnv {
    static OPENED: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = OPENED.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let dir = std::env::temp_dir().join(format!("task-file-fields-{}-{n}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("m.xml"), MODEL).unwrap();
    let task = format!(
        r#"model = "m.xml"
text = "test"
observation = ["box_pos"]
{extra}

[[field]]
name = "box_pos"
body = "box"
quantity = "pos"

[[field]]
name = "corner_world"
site = "corner"
quantity = "pos"

[[field]]
name = "corner_sensor"
sensor = "corner_pos"

[[field]]
name = "corner_in_box"
site = "corner"
quantity = "pos"
frame = "box"

[[field]]
name = "on_floor"
contact = ["box", "world"]
quantity = "flag"

[[field]]
name = "floor_force"
contact = ["box_geom", "floor"]
between = "geoms"
quantity = "force"

[[field]]
name = "tip_vel_local"
site = "tip"
quantity = "linvel"
frame = "local"

[[field]]
name = "tip_vel_world"
site = "tip"
quantity = "linvel"

[[field]]
name = "arm_euler"
body = "arm"
quantity = "euler"

[[field]]
name = "servo_force"
actuator = "servo"
quantity = "force"

[[field]]
name = "shoulder"
joint = "shoulder"
quantity = "pos"

[[field]]
name = "shoulder_vel"
joint = "shoulder"
quantity = "vel"

[[field]]
name = "box_qpos"
joint = "box_free"
quantity = "pos"

[[field]]
name = "wrenches"
body = "*"
quantity = "contact_wrench"

[[field]]
name = "box_z_rate"
qpos = 2
derivative = true

[success]
program = "state.on_floor"
"#
    );
    std::fs::write(dir.join("t.toml"), task).unwrap();
    let env = task_file::TaskFileEnv::open(&dir.join("t.toml"), &EnvOptions::default()).unwrap();
    std::fs::remove_dir_all(&dir).ok();
    env
}

fn field<'a>(env: &task_file::TaskFileEnv, state: &'a [f64], name: &str) -> &'a [f64] {
    &state[env.spec().field_range(name).unwrap()]
}

fn close(a: &[f64], b: &[f64], tolerance: f64) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| (x - y).abs() <= tolerance)
}

#[test]
fn object_sensor_contact_and_joint_fields_agree_with_mujoco() {
    let mut env = open("");
    env.reset(Some(0));
    for _ in 0..200 {
        env.step(&[1.0]);
    }
    let s = env.state();
    let f = |name| field(&env, &s, name);
    assert!(
        close(f("corner_world"), f("corner_sensor"), 1e-12),
        "the site and its framepos sensor"
    );
    let box_pos = f("box_pos");
    assert!(
        (box_pos[2] - 0.1).abs() < 0.01,
        "the box rests on the floor: {box_pos:?}"
    );
    assert!(
        close(f("corner_in_box"), &[0.1, 0.1, 0.1], 1e-6),
        "{:?}",
        f("corner_in_box")
    );
    assert_eq!(f("on_floor"), [1.0]);
    let weight = 2.0 * 9.81;
    assert!(
        (f("floor_force")[0] - weight).abs() < 0.05 * weight,
        "normal force ≈ mg: {:?}",
        f("floor_force")
    );
    // (xpos is from the last substep's kinematics, qpos from after its integration.)
    assert!(
        close(&f("box_qpos")[..3], box_pos, 1e-6),
        "the free joint's position is the body's"
    );
    // The arm turns about z at its base; its tip's velocity in the tip's own frame is along y.
    let local = f("tip_vel_local");
    assert!(local[0].abs() < 1e-9 && local[2].abs() < 1e-9, "{local:?}");
    let world = f("tip_vel_world");
    assert!(((world[0].powi(2) + world[1].powi(2)).sqrt() - local[1].abs()).abs() < 1e-9);
    let yaw = f("arm_euler")[2];
    // The body's orientation is from the last substep's kinematics: the angle one
    // semi-implicit Euler step (2 ms) before the joint's.
    let shoulder = f("shoulder")[0] - 0.002 * f("shoulder_vel")[0];
    let expected = std::f64::consts::FRAC_PI_2 + shoulder;
    let wrapped = (yaw - expected + std::f64::consts::PI).rem_euclid(std::f64::consts::TAU)
        - std::f64::consts::PI;
    assert!(
        wrapped.abs() < 1e-9,
        "yaw {yaw} is 90° plus the shoulder angle {shoulder}"
    );
    assert!(f("servo_force")[0].abs() > 0.0);
    // cfrc_ext: the box (body 1) carries the floor's push, the arm and target nothing.
    let wrenches = f("wrenches");
    assert_eq!(wrenches.len(), 3 * 6);
    assert!(
        (wrenches[5] - weight).abs() < 0.05 * weight,
        "the box's vertical contact force: {wrenches:?}"
    );
    assert!(wrenches[6..].iter().all(|w| w.abs() < 1e-9), "{wrenches:?}");
    assert!(
        f("box_z_rate")[0].abs() < 0.05,
        "the box is at rest: {:?}",
        f("box_z_rate")
    );
    assert_eq!(env.spec().state_schema[4].unit, "1 if touching, else 0");
}

#[test]
fn a_derivative_field_is_the_finite_difference_over_one_action() {
    let mut env = open("");
    env.reset(Some(0));
    let box_z = env.state()[2];
    assert_eq!(
        field(&env, &env.state(), "box_z_rate"),
        [0.0],
        "0 at the start"
    );
    // The box starts 0.1 m up with noise-free qpos and falls onto the floor; follow the fall.
    let dt = env.spec().control_dt();
    let step = env.step(&[0.0]);
    let s = env.state();
    let z = field(&env, &s, "box_qpos")[2];
    let rate = field(&env, &s, "box_z_rate")[0];
    assert!(
        (rate - (z - box_z) / dt).abs() < 1e-12,
        "{rate} vs {}",
        (z - box_z) / dt
    );
    assert_eq!(step.obs, field(&env, &s, "box_pos"));
}

#[test]
fn position_control_offsets_the_keyframe_and_mocap_control_moves_the_target() {
    let mut env =
        open("[control]\nscheme = \"position\"\nscale = 0.5\n\n[reset]\nkeyframe = \"bent\"");
    assert_eq!(env.action_space().flat_dim(), 1);
    env.reset(Some(0));
    assert_eq!(env.sim().unwrap().ctrl(), [0.5], "the keyframe's control");
    env.step(&[1.0]);
    assert_eq!(
        env.sim().unwrap().ctrl(),
        [1.0],
        "the keyframe's 0.5 rad plus 0.5 × 1"
    );
    env.step(&[-4.0]);
    assert_eq!(
        env.sim().unwrap().ctrl(),
        [0.0],
        "the action is clipped to [-1, 1]"
    );

    let mut env = open(
        "[control]\nscheme = \"mocap\"\nbody = \"target\"\nscale = 0.1\nhigh = [9, 1.15, 9]\n\n[reset]\nkeyframe = \"bent\"",
    );
    assert_eq!(env.action_space().flat_dim(), 3);
    env.reset(Some(0));
    env.step(&[1.0, 1.0, -0.5]);
    let target = env.sim().unwrap().raw().mocap_pos()[0];
    assert!(close(&target, &[0.1, 1.1, 0.45], 1e-12), "{target:?}");
    env.step(&[0.0, 1.0, 0.0]);
    let target = env.sim().unwrap().raw().mocap_pos()[0];
    assert!(
        close(&target, &[0.1, 1.15, 0.45], 1e-12),
        "clipped to the box: {target:?}"
    );
    assert_eq!(
        env.sim().unwrap().ctrl(),
        [0.5],
        "the other controls stay as at the start"
    );
}

#[test]
fn reset_noise_and_placement_are_seeded_and_within_their_ranges() {
    let extra = "[reset]\nqvel_noise = { gaussian = 0.1 }\n\n[[reset.place]]\nbody = \"box\"\nlow = [-1, -1, 0.5]\nhigh = [1, 1, 0.5]";
    let mut env = open(extra);
    let mut velocities = Vec::new();
    for seed in 0..50 {
        env.reset(Some(seed));
        let sim = env.sim().unwrap();
        let pos = &sim.qpos()[..3];
        assert!(
            pos[0].abs() <= 1.0 && pos[1].abs() <= 1.0 && pos[2] == 0.5,
            "{pos:?}"
        );
        velocities.extend_from_slice(sim.qvel());
    }
    let n = velocities.len() as f64;
    let mean = velocities.iter().sum::<f64>() / n;
    let sd = (velocities.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / n).sqrt();
    assert!(
        mean.abs() < 0.02 && (sd - 0.1).abs() < 0.02,
        "mean {mean}, sd {sd}"
    );
    env.reset(Some(3));
    let first = env.sim().unwrap().qpos().to_vec();
    env.reset(Some(3));
    assert_eq!(
        env.sim().unwrap().qpos(),
        first,
        "the same seed, the same start"
    );
}
