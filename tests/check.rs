//! `rewardgen check`: compile and dry-run reward programs, as a user runs it.

mod common;

use common::{rewardgen, scratch_dir, stderr_of_failure, stdout};
use std::path::Path;

fn write(name: &str, source: &str) -> String {
    let path = scratch_dir("check").join(name);
    std::fs::write(&path, source).unwrap();
    path.display().to_string()
}

#[test]
fn every_shipped_reward_program_passes_the_check() {
    let rewards = Path::new(env!("CARGO_MANIFEST_DIR")).join("rewards");
    let mut checked = 0;
    for env_dir in std::fs::read_dir(&rewards).unwrap() {
        let env_dir = env_dir.unwrap().path();
        let env = env_dir.file_name().unwrap().to_str().unwrap().to_string();
        for file in std::fs::read_dir(&env_dir).unwrap() {
            let file = file.unwrap().path();
            let out = stdout(&rewardgen(&[
                "check",
                "--env",
                &env,
                file.to_str().unwrap(),
            ]));
            assert!(out.starts_with("ok: "), "{}: {out}", file.display());
            checked += 1;
        }
    }
    assert!(
        checked >= 5,
        "human and sparse for each franka env, distance for push"
    );
}

#[test]
fn syntax_error_is_reported_with_line_and_column() {
    let file = write(
        "syntax.rhai",
        "let d = dist(state.ee_pos, state.goal_pos);\nlet r = -d +;\n[r, #{}]",
    );
    let err = stderr_of_failure(&rewardgen(&["check", "--env", "franka-reach", &file]));
    assert!(err.contains("error[syntax error]"), "{err}");
    assert!(err.contains("syntax.rhai:2:"), "{err}");
    assert!(err.contains("2 | let r = -d +;"), "{err}");
}

#[test]
fn unknown_field_is_named_with_the_real_fields() {
    let file = write(
        "field.rhai",
        "let d = dist(state.box_pos, state.goal_pos);\n[-d, #{d: d}]",
    );
    let err = stderr_of_failure(&rewardgen(&["check", "--env", "franka-push", &file]));
    assert!(err.contains("state has no field 'box_pos'"), "{err}");
    assert!(err.contains("object_pos"), "{err}");
    assert!(err.contains("field.rhai:1:20"), "{err}");
}

#[test]
fn infinite_loop_is_stopped_with_its_place() {
    let file = write(
        "loop.rhai",
        "let x = 0;\nwhile x >= 0 {\n  x += 1;\n}\n[0.0, #{}]",
    );
    let err = stderr_of_failure(&rewardgen(&["check", "--env", "franka-reach", &file]));
    assert!(err.contains("operations"), "{err}");
    assert!(err.contains("loop.rhai:"), "{err}");
}

#[test]
fn nan_names_the_component_and_the_dry_run_step() {
    let file = write(
        "nan.rhai",
        "let d = dist(state.ee_pos, state.goal_pos);\nlet bad = if state.step > 2 { 0.0 / 0.0 } else { 0.0 };\n[-d, #{bad: bad}]",
    );
    let err = stderr_of_failure(&rewardgen(&["check", "--env", "franka-reach", &file]));
    assert!(err.contains("component 'bad' is NaN"), "{err}");
    assert!(err.contains("(at step 3)"), "{err}");
}

#[test]
fn json_output_reports_ranges_and_warnings_or_the_error() {
    let rewards = Path::new(env!("CARGO_MANIFEST_DIR")).join("rewards/franka-push/sparse.rhai");
    let out = stdout(&rewardgen(&[
        "check",
        "--env",
        "franka-push",
        rewards.to_str().unwrap(),
        "--json",
    ]));
    let json: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(json["ok"], true);
    assert_eq!(json["report"]["states"], 400);
    assert!(
        json["report"]["warnings"][0]
            .as_str()
            .unwrap()
            .contains("constant")
    );
    let file = write("bad.rhai", "let = 1;");
    let output = rewardgen(&["check", "--env", "franka-push", &file, "--json"]);
    assert!(!output.status.success());
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(json["ok"], false);
    assert_eq!(json["error"]["kind"], "syntax");
    assert_eq!(json["error"]["line"], 1);
}

#[test]
fn dominant_component_draws_a_warning() {
    let file = write(
        "dominant.rhai",
        "let d = dist(state.ee_pos, state.goal_pos);\nlet big = -100.0 * d;\nlet small = -0.01 * d;\n[big + small, #{big: big, small: small}]",
    );
    let out = stdout(&rewardgen(&["check", "--env", "franka-reach", &file]));
    assert!(out.contains("warning: component 'big' makes up"), "{out}");
}

#[test]
fn missing_program_file_and_bad_limits_are_clear_errors() {
    let err = stderr_of_failure(&rewardgen(&[
        "check",
        "--env",
        "franka-push",
        "/no/such/reward.rhai",
    ]));
    assert!(
        err.contains("cannot read reward program /no/such/reward.rhai"),
        "{err}"
    );
    let limits = write("limits.toml", "max_operation = 5\n");
    let rewards = Path::new(env!("CARGO_MANIFEST_DIR")).join("rewards/franka-push/sparse.rhai");
    let err = stderr_of_failure(&rewardgen(&[
        "check",
        "--env",
        "franka-push",
        rewards.to_str().unwrap(),
        "--limits",
        &limits,
    ]));
    assert!(err.contains("limits.toml: invalid limits"), "{err}");
    assert!(err.contains("max_operation"), "{err}");
}

#[test]
fn tighter_limits_from_a_file_apply() {
    let limits = write("tight.toml", "max_operations = 3\n");
    let rewards = Path::new(env!("CARGO_MANIFEST_DIR")).join("rewards/franka-push/human.rhai");
    let err = stderr_of_failure(&rewardgen(&[
        "check",
        "--env",
        "franka-push",
        rewards.to_str().unwrap(),
        "--limits",
        &limits,
    ]));
    assert!(err.contains("more than 3 operations"), "{err}");
}
