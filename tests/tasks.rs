//! Task files (`--env task:<path>`) through the CLI, as a user runs them: from the task's own
//! folder with a relative path, and from elsewhere once a run exists.

mod common;

use common::{TINY, rewardgen_in, scratch_dir, stderr_of_failure, stdout};
use std::path::Path;

const MODEL: &str = r#"<mujoco>
  <option timestep="0.01"/>
  <worldbody>
    <body name="cart">
      <joint name="slider" type="slide" axis="1 0 0" range="-1 1" limited="true"/>
      <geom type="box" size="0.1 0.05 0.05" mass="1"/>
      <body name="pole">
        <joint name="hinge" type="hinge" axis="0 1 0"/>
        <geom type="capsule" fromto="0 0 0 0 0 0.6" size="0.03" mass="0.2"/>
      </body>
    </body>
  </worldbody>
  <actuator><motor name="push" joint="slider" gear="20" ctrlrange="-1 1"/></actuator>
</mujoco>
"#;

const TASK: &str = r#"model = "cartpole.xml"
text = "Balance the pole upright on the cart."
frame_skip = 2
episode_steps = 200
rewards = "rewards"
observation = ["cart_x", "pole_angle", "cart_v", "pole_w"]

[reset]
qpos_noise = { uniform = 0.02 }

[[field]]
name = "cart_x"
joint = "slider"
quantity = "pos"

[[field]]
name = "pole_angle"
joint = "hinge"
quantity = "pos"
description = "Pole angle from upright, positive leaning forward."

[[field]]
name = "cart_v"
joint = "slider"
quantity = "vel"

[[field]]
name = "pole_w"
joint = "hinge"
quantity = "vel"

[termination]
program = "abs(state.pole_angle) > 0.3"

[success]
program = "state.step + 1"
name = "balanced_steps"
"#;

/// A folder with the model, the task file and its reward programs.
fn task_folder(test: &str) -> std::path::PathBuf {
    let dir = scratch_dir(test);
    std::fs::write(dir.join("cartpole.xml"), MODEL).unwrap();
    std::fs::write(dir.join("cartpole.toml"), TASK).unwrap();
    std::fs::create_dir_all(dir.join("rewards")).unwrap();
    std::fs::write(
        dir.join("rewards/human.rhai"),
        "let upright = 1.0 - abs(state.pole_angle) / 0.3;\n[upright, #{upright: upright}]\n",
    )
    .unwrap();
    std::fs::write(dir.join("rewards/sparse.rhai"), "[1.0, #{alive: 1.0}]\n").unwrap();
    dir
}

#[test]
fn a_task_file_runs_describe_check_train_eval_and_resume_from_any_directory() {
    let dir = task_folder("task-cli");
    let described = stdout(&rewardgen_in(
        &dir,
        &["describe", "--env", "task:cartpole.toml"],
    ));
    assert!(
        described.contains("Task: Balance the pole upright"),
        "{described}"
    );
    assert!(
        described
            .contains("- pole_angle (scalar, rad, joint space frame): Pole angle from upright"),
        "{described}"
    );
    assert!(
        !described.contains("state.step + 1"),
        "the success program is hidden: {described}"
    );
    let checked = stdout(&rewardgen_in(
        &dir,
        &["check", "--env", "task:cartpole.toml", "rewards/human.rhai"],
    ));
    assert!(checked.starts_with("ok: "), "{checked}");
    let train = |args: &[&str]| {
        let mut all = vec![
            "train",
            "--threads",
            "1",
            "--set",
            "num_envs=2",
            "--set",
            "num_steps=128",
        ];
        all.extend_from_slice(args);
        stdout(&rewardgen_in(&dir, &all))
    };
    train(&[
        "--env",
        "task:cartpole.toml",
        "--reward",
        "rewards/human.rhai",
        "--steps",
        "512",
        "--out",
        "run",
    ]);
    let config = std::fs::read_to_string(dir.join("run/config.toml")).unwrap();
    let absolute = format!(
        "task:{}",
        dir.canonicalize().unwrap().join("cartpole.toml").display()
    );
    assert!(
        config.contains(&absolute),
        "the run names the task file by its absolute path: {config}"
    );
    // From another directory: resume and evaluate.
    let run = dir.join("run");
    stdout(&rewardgen_in(
        Path::new("/"),
        &[
            "train",
            "--resume",
            run.to_str().unwrap(),
            "--steps",
            "1024",
        ],
    ));
    let eval = stdout(&rewardgen_in(
        Path::new("/"),
        &[
            "eval",
            "--run",
            run.to_str().unwrap(),
            "--episodes",
            "3",
            "--json",
        ],
    ));
    let report: serde_json::Value = serde_json::from_str(&eval).unwrap();
    let measure = &report["task_measure"];
    assert_eq!(measure[0], "balanced_steps", "{report}");
    let mean_length = report["mean_length"].as_f64().unwrap();
    assert_eq!(
        measure[1].as_f64().unwrap(),
        mean_length,
        "the measure is the episode length"
    );
    assert!(
        mean_length < 200.0,
        "an untrained policy drops the pole: {report}"
    );
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn a_quick_evolve_on_a_task_file_starts_from_its_rewards_folder() {
    let dir = task_folder("task-evolve");
    // TINY without its --rewards (the task's own folder is the library).
    let mut args = vec![
        "evolve",
        "--env",
        "task:cartpole.toml",
        "--out",
        "evo",
        "--samples",
        "2",
        "--generations",
        "1",
    ];
    args.extend_from_slice(&TINY[..TINY.len() - 2]);
    let out = stdout(&rewardgen_in(&dir, &args));
    assert!(
        out.contains("balanced_steps"),
        "the report names the task's measure: {out}"
    );
    let report = std::fs::read_to_string(dir.join("evo/report.md")).unwrap();
    assert!(report.contains("human"), "{report}");
    // A task without reward programs cannot seed the offline generator, and says so.
    std::fs::remove_dir_all(dir.join("rewards")).unwrap();
    let err = stderr_of_failure(&rewardgen_in(
        &dir,
        &["evolve", "--env", "task:cartpole.toml", "--out", "evo2"],
    ));
    assert!(err.contains("hand-written programs"), "{err}");
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn a_bad_task_file_is_one_clear_error() {
    let dir = task_folder("task-bad");
    std::fs::write(
        dir.join("bad.toml"),
        TASK.replace("joint = \"hinge\"", "joint = \"hinje\""),
    )
    .unwrap();
    let err = stderr_of_failure(&rewardgen_in(&dir, &["describe", "--env", "task:bad.toml"]));
    assert!(
        err.contains("bad.toml:18:") && err.contains("no joint named 'hinje'"),
        "{err}"
    );
    std::fs::remove_dir_all(&dir).ok();
}
