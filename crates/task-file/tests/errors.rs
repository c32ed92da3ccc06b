//! Bad task files: each error names the file, the line and the key.

use envs::EnvOptions;
use std::path::{Path, PathBuf};

const MODEL: &str = r#"<mujoco>
  <worldbody>
    <geom name="floor" type="plane" size="5 5 0.1"/>
    <body name="pole" pos="0 0 1">
      <joint name="hinge" type="hinge" axis="0 1 0"/>
      <geom name="rod" type="capsule" fromto="0 0 0 0 0 0.5" size="0.05" mass="1"/>
    </body>
  </worldbody>
  <actuator><motor name="torque" joint="hinge" ctrlrange="-1 1"/></actuator>
</mujoco>
"#;

const GOOD: &str = r#"model = "pole.xml"
text = "Keep the pole up."
observation = ["angle", "spin"]

[[field]]
name = "angle"
joint = "hinge"
quantity = "pos"

[[field]]
name = "spin"
joint = "hinge"
quantity = "vel"

[termination]
program = """
let a = state.angle;
abs(a) > 1.0
"""

[success]
program = "abs(state.angle) < 0.2"
"#;

/// A folder with the model and `task.toml` holding `text`.
fn task(text: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "task-file-errors-{}-{}",
        std::process::id(),
        text.len() ^ text.bytes().map(usize::from).sum::<usize>() << 8
    ));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("pole.xml"), MODEL).unwrap();
    let path = dir.join("task.toml");
    std::fs::write(&path, text).unwrap();
    path
}

fn error(text: &str) -> String {
    let path = task(text);
    let result = task_file::TaskFileEnv::open(&path, &EnvOptions::default());
    std::fs::remove_dir_all(path.parent().unwrap()).ok();
    match result {
        Ok(_) => panic!("the task file loaded:\n{text}"),
        Err(e) => e.to_string(),
    }
}

fn assert_names(err: &str, parts: &[&str]) {
    for part in parts {
        assert!(err.contains(part), "{part:?} is not in: {err}");
    }
}

#[test]
fn a_good_task_file_loads_and_terminates_when_its_program_says() {
    use rl_env::Env;
    let path = task(GOOD);
    let mut env = task_file::TaskFileEnv::open(&path, &EnvOptions::default()).unwrap();
    env.reset(Some(1));
    let mut steps = 0;
    loop {
        let step = env.step(&[1.0]);
        steps += 1;
        if step.terminated || step.truncated {
            assert!(step.terminated, "full torque tips the pole past 1 rad");
            assert_eq!(step.info.get("is_success"), Some(0.0));
            break;
        }
    }
    assert!(steps < 1000, "{steps}");
    std::fs::remove_dir_all(path.parent().unwrap()).ok();
}

#[test]
fn an_unknown_body_names_the_line_the_key_and_the_bodies() {
    let text = GOOD.replace(
        "joint = \"hinge\"\nquantity = \"vel\"",
        "body = \"polee\"\nquantity = \"pos\"",
    );
    let err = error(&text);
    assert_names(
        &err,
        &[
            "task.toml:12:",
            "key `body`",
            "field 'spin'",
            "no body named 'polee'",
            "pole",
        ],
    );
}

#[test]
fn an_unknown_key_and_a_wrong_type_name_their_line() {
    let err = error(&GOOD.replace("quantity = \"pos\"", "quantity = \"pos\"\nquantitty = 1"));
    assert_names(&err, &["task.toml:9:", "unknown field `quantitty`"]);
    let err = error(&GOOD.replace("observation = [\"angle\", \"spin\"]", "observation = 3"));
    assert_names(
        &err,
        &["task.toml:3:", "key `observation`", "expected a sequence"],
    );
}

#[test]
fn a_field_of_the_wrong_shape_or_source_is_named() {
    let err = error(&GOOD.replace("joint = \"hinge\"\nquantity = \"vel\"", "qvel = [0, 4]"));
    assert_names(
        &err,
        &[
            "task.toml:12:",
            "key `qvel`",
            "field 'spin'",
            "not a slice of the model's 1 qvel",
        ],
    );
    let err = error(&GOOD.replace(
        "joint = \"hinge\"\nquantity = \"vel\"",
        "joint = \"hinge\"\nsite = \"x\"",
    ));
    assert_names(
        &err,
        &["key `field`", "exactly one source key", "site and joint"],
    );
    let err = error(&GOOD.replace("quantity = \"vel\"", "quantity = \"speed\""));
    assert_names(&err, &["key `quantity`", "\"pos\" or \"vel\", not 'speed'"]);
    let err = error(&GOOD.replace("[\"angle\", \"spin\"]", "[\"angle\", \"omega\"]"));
    assert_names(
        &err,
        &[
            "task.toml:3:",
            "key `observation`",
            "no field named 'omega'",
            "angle, spin",
        ],
    );
}

#[test]
fn program_errors_point_at_the_task_files_own_line_and_column() {
    let err = error(&GOOD.replace("abs(a) > 1.0", "abs(a) > state.tilt"));
    assert_names(
        &err,
        &["task.toml (termination.program):18:16", "no field 'tilt'"],
    );
    let err = error(&GOOD.replace("abs(state.angle) < 0.2", "abs(state.angle) <"));
    assert_names(&err, &["task.toml (success.program):22:"]);
    let err = error(&GOOD.replace("abs(a) > 1.0", "a"));
    assert_names(&err, &["termination program must return a bool"]);
    let err = error(&GOOD.replace("program = \"abs(state.angle) < 0.2\"", ""));
    assert_names(&err, &["[success] needs exactly one of `program`"]);
}

#[test]
fn a_missing_model_names_the_key_and_the_file() {
    let err = error(&GOOD.replace("pole.xml", "missing.xml"));
    assert_names(&err, &["task.toml:1:", "key `model`", "missing.xml"]);
}

#[test]
fn bad_control_and_reset_keys_are_named() {
    let err = error(&format!(
        "{GOOD}\n[control]\nscheme = \"mocap\"\nscale = 0.1\n"
    ));
    assert_names(&err, &["key `control.body`", "needs `body`"]);
    let err = error(&format!("{GOOD}\n[control]\nscheme = \"joystick\"\n"));
    assert_names(
        &err,
        &["key `control.scheme`", "'joystick' is not a control scheme"],
    );
    let err = error(&format!("{GOOD}\n[reset]\nkeyframe = \"home\"\n"));
    assert_names(&err, &["key `reset.keyframe`", "no keyframe named 'home'"]);
    let err = error(&format!(
        "{GOOD}\n[reset]\nqpos_noise = {{ uniform = 0.1, gaussian = 0.1 }}\n"
    ));
    assert_names(
        &err,
        &["key `reset.qpos_noise`", "exactly one of `uniform`"],
    );
    let err = error(&format!(
        "{GOOD}\n[[reset.place]]\nbody = \"pole\"\nlow = [0, 0, 0]\nhigh = [1, 1, 1]\n"
    ));
    assert_names(
        &err,
        &[
            "key `reset.place.body`",
            "neither a mocap body nor a body with a free joint",
        ],
    );
}

#[test]
fn values_that_would_overflow_sampling_or_indexing_are_refused() {
    let err = error(&format!(
        "{GOOD}\n[reset]\nqpos_noise = {{ uniform = 1e308 }}\n"
    ));
    assert_names(&err, &["key `reset.qpos_noise`", "from 0 to"]);
    let model = MODEL.replace(
        "</worldbody>",
        "<body name=\"goal\" mocap=\"true\"/></worldbody>",
    );
    let path = task(&format!(
        "{GOOD}\n[[reset.place]]\nbody = \"goal\"\nlow = [-1e308, 0, 0]\nhigh = [1e308, 0, 0]\n"
    ));
    std::fs::write(path.with_file_name("pole.xml"), model).unwrap();
    let err = task_file::TaskFileEnv::open(&path, &EnvOptions::default())
        .err()
        .unwrap()
        .to_string();
    std::fs::remove_dir_all(path.parent().unwrap()).ok();
    assert_names(&err, &["key `reset.place`", "high − low finite"]);
    let err = error(&GOOD.replace(
        "joint = \"hinge\"\nquantity = \"vel\"",
        "qvel = 9223372036854775807",
    ));
    assert_names(&err, &["key `qvel`", "not a slice"]);
}

#[test]
fn a_task_file_that_is_not_a_file_is_refused() {
    let err = task_file::TaskFileEnv::open(Path::new("/dev/zero"), &EnvOptions::default())
        .err()
        .unwrap()
        .to_string();
    assert_names(&err, &["/dev/zero", "task file"]);
}
