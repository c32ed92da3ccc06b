//! End-to-end tests of the `rewardgen` binary, run as a user runs it.

mod common;

use common::{rewardgen, scratch_dir, stderr_of_failure, stdout};
use std::path::{Path, PathBuf};
use std::process::Command;

fn rollout_json(args: &[&str]) -> serde_json::Value {
    let mut all = vec!["rollout", "--json"];
    all.extend_from_slice(args);
    serde_json::from_str(&stdout(&rewardgen(&all))).expect("rollout --json prints one JSON object")
}

fn half_cheetah() -> PathBuf {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(".testdata/gymnasium/half_cheetah.xml");
    assert!(
        path.is_file(),
        "{} is missing: scripts/test downloads it from the gymnasium==1.2.1 wheel",
        path.display()
    );
    path
}

#[test]
fn envs_lists_reach_and_push_with_their_sizes() {
    let out = stdout(&rewardgen(&["envs"]));
    let push = out
        .lines()
        .find(|l| l.starts_with("franka-push"))
        .expect("franka-push listed");
    let columns: Vec<&str> = push.split_whitespace().collect();
    assert_eq!(columns, ["franka-push", "21", "3", "25.0", "50"]);
    assert!(out.lines().any(|l| l.starts_with("franka-reach")));
}

#[test]
fn scripted_push_rollout_succeeds_on_at_least_80_percent() {
    let stats = rollout_json(&[
        "--env",
        "franka-push",
        "--policy",
        "scripted",
        "--episodes",
        "50",
    ]);
    assert_eq!(stats["episodes"], 50);
    let rate = stats["success_rate"].as_f64().unwrap();
    assert!(rate >= 0.8, "success rate {rate}");
    assert!(stats["steps_per_second"].as_f64().unwrap() > 0.0);
    assert!(stats["mean_return"].as_f64().unwrap() < 0.0);
}

#[test]
fn random_push_rollout_succeeds_about_as_often_as_chance() {
    let stats = rollout_json(&["--env", "franka-push", "--episodes", "20", "--seed", "3"]);
    let rate = stats["success_rate"].as_f64().unwrap();
    assert!(
        rate <= 0.2,
        "random actions rarely push the box 10+ cm onto the goal: {rate}"
    );
    assert!(
        stats["mean_length"].as_f64().unwrap() > 45.0,
        "episodes run to the time limit"
    );
}

#[test]
fn rollouts_are_reproducible_from_the_seed() {
    let a = rollout_json(&["--env", "franka-reach", "--episodes", "3", "--seed", "9"]);
    let b = rollout_json(&["--env", "franka-reach", "--episodes", "3", "--seed", "9"]);
    assert_eq!(a["mean_return"], b["mean_return"]);
    let c = rollout_json(&["--env", "franka-reach", "--episodes", "3", "--seed", "10"]);
    assert_ne!(a["mean_return"], c["mean_return"]);
}

#[test]
fn gymnasium_half_cheetah_runs_as_an_mjcf_env() {
    let env = format!("mjcf:{}", half_cheetah().display());
    let stats = rollout_json(&["--env", &env, "--episodes", "1"]);
    assert_eq!(stats["mean_length"].as_f64().unwrap(), 1000.0);
    let out = stdout(&rewardgen(&["describe", "--env", &env]));
    assert!(out.contains("qpos ([9]"), "{out}");
    assert!(out.contains("ctrl ([6]"), "{out}");
}

#[test]
fn unknown_env_name_is_a_clear_error() {
    let err = stderr_of_failure(&rewardgen(&["rollout", "--env", "franka-pull"]));
    assert!(err.contains("unknown env 'franka-pull'"), "{err}");
    assert!(err.contains("franka-reach, franka-push"), "{err}");
    assert_eq!(err.lines().count(), 1, "one line: {err}");
}

#[test]
fn missing_mjcf_file_names_the_path() {
    let err = stderr_of_failure(&rewardgen(&["rollout", "--env", "mjcf:/no/such/model.xml"]));
    assert!(
        err.contains("/no/such/model.xml") && err.contains("no such file"),
        "{err}"
    );
}

#[test]
fn malformed_mjcf_gives_mujocos_message_with_the_file_name() {
    let dir = scratch_dir("cli");
    let path = dir.join("bad_model.xml");
    std::fs::write(
        &path,
        "<mujoco><worldbody><body><geom type='box'/></worldbody></mujoco>",
    )
    .unwrap();
    let err = stderr_of_failure(&rewardgen(&[
        "rollout",
        "--env",
        &format!("mjcf:{}", path.display()),
    ]));
    assert!(err.contains("bad_model.xml"), "{err}");
    assert!(err.contains("MuJoCo could not load the model"), "{err}");
    let passive = dir.join("passive.xml");
    std::fs::write(
        &passive,
        "<mujoco><worldbody><body><freejoint/><geom size='0.1'/></body></worldbody></mujoco>",
    )
    .unwrap();
    let err = stderr_of_failure(&rewardgen(&[
        "rollout",
        "--env",
        &format!("mjcf:{}", passive.display()),
    ]));
    assert!(err.contains("no actuators"), "{err}");
}

#[test]
fn scripted_policy_on_an_env_without_one_is_a_clear_error() {
    let env = format!("mjcf:{}", half_cheetah().display());
    let err = stderr_of_failure(&rewardgen(&[
        "rollout", "--env", &env, "--policy", "scripted",
    ]));
    assert!(err.contains("has no scripted controller"), "{err}");
}

#[test]
fn bad_arguments_are_reported_by_the_parser() {
    let out = rewardgen(&["rollout", "--env", "franka-push", "--episodes", "many"]);
    let err = stderr_of_failure(&out);
    assert!(err.contains("--episodes") && err.contains("many"), "{err}");
    let out = rewardgen(&["rollout", "--env", "franka-push", "--policy", "clever"]);
    assert!(stderr_of_failure(&out).contains("clever"));
}

#[test]
fn describe_shows_the_schema_without_the_success_metric() {
    let out = stdout(&rewardgen(&["describe", "--env", "franka-push"]));
    assert!(out.contains("object_pos ([3], m, world frame)"), "{out}");
    assert!(!out.to_lowercase().contains("success"));
    let json: serde_json::Value = serde_json::from_str(&stdout(&rewardgen(&[
        "describe",
        "--env",
        "franka-push",
        "--json",
    ])))
    .unwrap();
    assert!(json["success_metric"].as_str().unwrap().contains("0.05"));
    assert_eq!(json["state_schema"].as_array().unwrap().len(), 9);
}

#[test]
fn every_command_has_help() {
    for command in ["envs", "describe", "rollout", "check"] {
        let out = stdout(&rewardgen(&[command, "--help"]));
        assert!(out.contains("Usage: rewardgen"), "{command}: {out}");
    }
}

#[test]
fn binary_runs_from_any_directory_without_ld_library_path() {
    let output = Command::new(env!("CARGO_BIN_EXE_rewardgen"))
        .arg("envs")
        .current_dir(std::env::temp_dir())
        .env_remove("LD_LIBRARY_PATH")
        .output()
        .unwrap();
    assert!(stdout(&output).contains("franka-push"));
}

#[test]
fn envs_lists_the_quadruped_tasks() {
    let out = stdout(&rewardgen(&["envs"]));
    for name in ["quadruped-walk", "quadruped-turn", "quadruped-stand"] {
        let line = out
            .lines()
            .find(|l| l.starts_with(name))
            .unwrap_or_else(|| panic!("{name} listed"));
        assert_eq!(line.split_whitespace().nth(4), Some("500"), "{line}");
    }
}

#[test]
fn scripted_trot_moves_forward_and_rarely_falls() {
    let stats = rollout_json(&[
        "--env",
        "quadruped-walk",
        "--policy",
        "scripted",
        "--episodes",
        "10",
    ]);
    let info = &stats["final_info"];
    let velocity = info["mean_forward_velocity"].as_f64().unwrap();
    let fall_rate = info["fell"].as_f64().unwrap();
    assert!(velocity > 0.2, "mean forward velocity {velocity}");
    assert!(fall_rate <= 0.2, "fall rate {fall_rate}");
}

#[test]
fn random_actions_run_on_every_quadruped_task() {
    for env in ["quadruped-walk", "quadruped-turn", "quadruped-stand"] {
        let stats = rollout_json(&["--env", env, "--episodes", "2"]);
        assert_eq!(stats["episodes"], 2, "{env}");
        assert!(
            stats["final_info"]["fell"].as_f64().is_some(),
            "{env} reports falls"
        );
    }
}

#[test]
fn a_usage_error_is_one_line_naming_the_argument() {
    let output = rewardgen(&["rollout", "--env", "franka-reach", "--frame-skip", "1e8"]);
    assert_eq!(output.status.code(), Some(2));
    let err = String::from_utf8_lossy(&output.stderr);
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    assert!(err.contains("--frame-skip") && err.contains("1e8"), "{err}");
    let help = rewardgen(&["rollout", "--help"]);
    assert!(help.status.success(), "help still prints in full");
}
