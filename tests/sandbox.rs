//! Hostile reward programs through the real binary: `check` refuses each with its file, line
//! and column (or its limit), and `train` stops a run whose program fails only later, on a
//! worker thread, with a clear error instead of a crash.

mod common;

use common::{rewardgen, scratch_dir};
use std::process::Output;

fn write(dir: &std::path::Path, name: &str, source: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, source).unwrap();
    path.display().to_string()
}

/// The run failed with exit code 1 and one clear error, not a panic or a signal.
fn clean_failure(output: &Output) -> String {
    let err = String::from_utf8_lossy(&output.stderr).into_owned();
    assert_eq!(
        output.status.code(),
        Some(1),
        "exit status {:?}: {err}",
        output.status
    );
    assert!(!err.contains("panicked"), "{err}");
    assert!(!err.contains("overflow"), "{err}");
    assert!(err.contains("error"), "{err}");
    err
}

#[test]
fn check_refuses_each_hostile_program_with_its_place() {
    let dir = scratch_dir("sandbox-check");
    let spin = "{ let s = 0; for i in 0..40000 { s += i; } s }";
    let programs = [
        ("callbacks.rhai", format!("let b = [0, 0, 0].map(|x| [0, 0, 0].map(|y| {spin}));\n[0.0, #{{}}]"), "operations"),
        ("curry.rhai", "let f = Fn(\"abs\");\nlet g = f.curry(1);\n[0.0, #{}]".to_string(), "curry.rhai:2:"),
        ("growth.rhai", "let a = [0.5];\na.pad(1000, 0.5);\nlet m = #{};\nfor i in 0..20000 { m[`k${i}`] = a; }\n[0.0, #{}]".to_string(), "growth.rhai:"),
        ("clamp.rhai", "let x = clamp(0.5, sqrt(-1.0), 1.0);\n[x, #{}]".to_string(), "clamp.rhai:1:"),
        ("hidden.rhai", "let x = if state.step > 100000 {\n  state\n    .box_pos.x\n} else { 0.0 };\n[x, #{}]".to_string(), "hidden.rhai:3:"),
        ("alias.rhai", "let s = state;\n[0.0, #{}]".to_string(), "alias.rhai:1:"),
        ("names.rhai", "let m = #{};\nfor i in 0..100 { m[`c${i}`] = 1.0; }\n[1.0, m]".to_string(), "100 components"),
    ];
    for (name, source, phrase) in programs {
        let file = write(&dir, name, &source);
        let err = clean_failure(&rewardgen(&["check", "--env", "franka-reach", &file]));
        assert!(err.contains(phrase), "{name}: {err}");
    }
    let lines = write(&dir, "lines.rhai", &"\n".repeat(65_536));
    let err = clean_failure(&rewardgen(&["check", "--env", "franka-reach", &lines]));
    assert!(err.contains("lines"), "{err}");
}

#[test]
fn limits_files_that_switch_the_sandbox_off_are_refused() {
    let dir = scratch_dir("sandbox-limits");
    let program = write(&dir, "ok.rhai", "[1.0, #{}]");
    for (text, key) in [
        ("max_operations = 0\n", "max_operations = 0"),
        ("max_call_depth = 0\n", "max_call_depth = 0"),
        ("max_expr_depth = 1000000\n", "max_expr_depth = 1000000"),
    ] {
        let limits = write(&dir, "limits.toml", text);
        let err = clean_failure(&rewardgen(&[
            "check",
            "--env",
            "franka-reach",
            &program,
            "--limits",
            &limits,
        ]));
        assert!(err.contains(key) && err.contains("limits.toml"), "{err}");
    }
}

#[test]
fn a_program_that_fails_only_in_training_stops_the_run_with_a_clear_error() {
    let dir = scratch_dir("sandbox-train");
    // Past the dry run's 100 steps of an episode, each evaluation builds and prints a value
    // nested 1000 deep (a stack overflow on a 2 MiB worker thread before), then clamps with a
    // NaN bound (a panic in the standard library before).
    let file = write(
        &dir,
        "late.rhai",
        "let x = 0.0;\nif state.step > 30 {\n  let a = [];\n  for i in 0..1000 { a = [a]; }\n  let s = a.to_debug();\n  x = clamp(0.5, sqrt(-1.0), 1.0);\n}\n[x, #{}]",
    );
    let out = dir.join("run");
    let output = rewardgen(&[
        "train",
        "--env",
        "franka-reach",
        "--reward",
        &file,
        "--steps",
        "512",
        "--set",
        "num_envs=4",
        "--set",
        "num_steps=64",
        "--threads",
        "2",
        "--out",
        out.to_str().unwrap(),
    ]);
    let err = clean_failure(&output);
    assert!(
        err.contains("reward.rhai:") && err.contains("at step"),
        "{err}"
    );
    assert!(
        err.contains("clamp") || err.contains("ms in one evaluation"),
        "stopped by the NaN bound or the time limit, either way cleanly: {err}"
    );
}
