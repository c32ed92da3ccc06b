//! `rewardgen train` and `rewardgen eval`, as a user runs them.

mod common;

use common::{rewardgen, scratch_dir, stderr_of_failure, stdout};
use std::path::Path;

const SMALL: [&str; 10] = [
    "--set",
    "num_envs=2",
    "--set",
    "num_steps=64",
    "--set",
    "num_minibatches=4",
    "--set",
    "update_epochs=1",
    "--threads",
    "1",
];

fn reward(env: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join(format!("rewards/{env}/human.rhai"))
        .display()
        .to_string()
}

#[test]
fn train_then_resume_then_eval() {
    let dir = scratch_dir("train").join("run");
    let out = dir.to_str().unwrap();
    let reward = reward("franka-reach");
    let mut args = vec![
        "train",
        "--env",
        "franka-reach",
        "--reward",
        &reward,
        "--steps",
        "256",
        "--out",
        out,
    ];
    args.extend(SMALL);
    assert!(stdout(&rewardgen(&args)).contains("finished"));
    for file in [
        "config.toml",
        "reward.rhai",
        "metrics.jsonl",
        "curves.png",
        "checkpoints/latest/model.bpk",
    ] {
        assert!(dir.join(file).exists(), "{file}");
    }
    let config = std::fs::read_to_string(dir.join("config.toml")).unwrap();
    assert!(
        config.contains("num_envs = 2") && config.contains("total_steps = 256"),
        "{config}"
    );

    assert!(stdout(&rewardgen(&["train", "--resume", out, "--steps", "384"])).contains("finished"));
    let metrics = std::fs::read_to_string(dir.join("metrics.jsonl")).unwrap();
    assert_eq!(metrics.lines().count(), 3);
    let last: serde_json::Value = serde_json::from_str(metrics.lines().last().unwrap()).unwrap();
    assert_eq!(last["global_step"], 384.0);
    assert!(
        last["reward/precision"].is_number(),
        "component means are logged"
    );

    let report: serde_json::Value = serde_json::from_str(&stdout(&rewardgen(&[
        "eval",
        "--run",
        out,
        "--episodes",
        "2",
        "--json",
    ])))
    .unwrap();
    assert_eq!(report["episodes"], 2);
    assert_eq!(report["trained_steps"], 384);
    // A fraction of 2 episodes.
    let success = report["success_rate"].as_f64().unwrap();
    assert!([0.0, 0.5, 1.0].contains(&success), "success_rate {success}");
    assert!(dir.join("rollouts/episode-0001.jsonl").exists());
}

#[test]
fn a_bad_reward_program_fails_before_any_run_directory_is_made() {
    let dir = scratch_dir("train-bad").join("run");
    let file = scratch_dir("train-bad").join("bad.rhai");
    std::fs::write(
        &file,
        "let d = dist(state.ee_pos, state.target);\n[-d, #{}]",
    )
    .unwrap();
    let err = stderr_of_failure(&rewardgen(&[
        "train",
        "--env",
        "franka-reach",
        "--reward",
        file.to_str().unwrap(),
        "--out",
        dir.to_str().unwrap(),
    ]));
    assert!(
        err.contains("state has no field 'target'") && err.contains("bad.rhai:1:34"),
        "{err}"
    );
    assert!(!dir.exists());
}

#[test]
fn bad_settings_are_named() {
    let dir = scratch_dir("train-set").join("run");
    let err = stderr_of_failure(&rewardgen(&[
        "train",
        "--env",
        "franka-reach",
        "--set",
        "learning_rat=1e-3",
        "--out",
        dir.to_str().unwrap(),
    ]));
    assert!(
        err.contains("unknown setting 'learning_rat'") && err.contains("learning_rate"),
        "{err}"
    );
    let err = stderr_of_failure(&rewardgen(&[
        "train",
        "--env",
        "franka-reach",
        "--set",
        "num_minibatches=0",
        "--out",
        dir.to_str().unwrap(),
    ]));
    assert!(err.contains("num_minibatches must be at least 1"), "{err}");
    let err = stderr_of_failure(&rewardgen(&["eval", "--run", "/no/such/run"]));
    assert!(
        err.contains("/no/such/run") && err.contains("no run here"),
        "{err}"
    );
}

#[test]
fn franka_push_starts_from_its_own_rollout_size_and_a_config_file_applies_over_it() {
    let scratch = scratch_dir("train-push");
    let file = scratch.join("small.toml");
    std::fs::write(
        &file,
        "num_envs = 2\nnum_minibatches = 4\nupdate_epochs = 1\nlearning_rate = 1e-3\n",
    )
    .unwrap();
    let dir = scratch.join("run");
    let output = rewardgen(&[
        "train",
        "--env",
        "franka-push",
        "--config",
        file.to_str().unwrap(),
        "--steps",
        "2048",
        "--threads",
        "1",
        "--out",
        dir.to_str().unwrap(),
    ]);
    assert!(stdout(&output).contains("finished"));
    let config = std::fs::read_to_string(dir.join("config.toml")).unwrap();
    for line in ["num_steps = 1024", "num_envs = 2", "learning_rate = 0.001"] {
        assert!(config.contains(line), "no '{line}' in:\n{config}");
    }

    std::fs::write(&file, "seed = 2\nnum_envs = \"two\"\n").unwrap();
    let err = stderr_of_failure(&rewardgen(&[
        "train",
        "--env",
        "franka-push",
        "--config",
        file.to_str().unwrap(),
        "--out",
        scratch.join("bad").to_str().unwrap(),
    ]));
    assert!(
        err.contains("small.toml") && err.contains("line 2") && err.contains("num_envs"),
        "{err}"
    );
}

#[test]
fn until_pauses_a_run_that_resume_continues_and_resume_refuses_what_it_would_ignore() {
    let dir = scratch_dir("train-until").join("run");
    let out = dir.to_str().unwrap();
    let mut args = vec![
        "train",
        "--env",
        "franka-reach",
        "--steps",
        "512",
        "--until",
        "200",
        "--out",
        out,
    ];
    args.extend(SMALL);
    // 200 is reached by the second update of 2 × 64 steps.
    assert!(stdout(&rewardgen(&args)).contains("paused and checkpointed at 256 steps"));
    let outcome: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("outcome.json")).unwrap()).unwrap();
    assert_eq!(outcome["end"], "paused");
    assert_eq!(outcome["global_step"], 256);
    let metrics = || std::fs::read_to_string(dir.join("metrics.jsonl")).unwrap();
    assert_eq!(metrics().lines().count(), 2);
    // The learning rate anneals over the run's 512 steps, not the 200 it paused at.
    let first: serde_json::Value = serde_json::from_str(metrics().lines().nth(1).unwrap()).unwrap();
    let lr = first["charts/learning_rate"].as_f64().unwrap();
    assert!((lr - 3e-4 * (1.0 - 128.0 / 512.0)).abs() < 1e-12, "{lr}");

    for (flag, value) in [
        ("--seed", "7"),
        ("--frame-skip", "5"),
        ("--set", "learning_rate=1e-3"),
        ("--env", "franka-push"),
    ] {
        let err = stderr_of_failure(&rewardgen(&["train", "--resume", out, flag, value]));
        assert!(
            err.contains(&format!("drop {flag}")) && err.contains("own config.toml"),
            "{flag}: {err}"
        );
    }
    assert_eq!(
        metrics().lines().count(),
        2,
        "a refused resume trains nothing"
    );
    assert!(stdout(&rewardgen(&["train", "--resume", out, "--threads", "1"])).contains("finished"));
    let steps: Vec<f64> = metrics()
        .lines()
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l).unwrap()["global_step"]
                .as_f64()
                .unwrap()
        })
        .collect();
    assert_eq!(steps, vec![128.0, 256.0, 384.0, 512.0]);
}

#[test]
fn sigterm_checkpoints_and_exits_as_ctrl_c_does_so_a_scheduler_can_stop_and_resume_a_run() {
    // Slurm sends SIGTERM at a job's time limit, at preemption and on scancel.
    let dir = scratch_dir("train-sigterm").join("run");
    let out = dir.to_str().unwrap();
    let mut args = vec![
        "train",
        "--env",
        "franka-reach",
        "--steps",
        "1000000",
        "--out",
        out,
    ];
    args.extend(SMALL);
    let child = std::process::Command::new(env!("CARGO_BIN_EXE_rewardgen"))
        .args(&args)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
    while std::fs::read_to_string(dir.join("metrics.jsonl")).map_or(0, |m| m.lines().count()) < 2 {
        assert!(std::time::Instant::now() < deadline, "no update logged");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    // SAFETY: signals the child this test started.
    unsafe {
        libc::kill(child.id() as libc::pid_t, libc::SIGTERM);
    }
    let output = child.wait_with_output().unwrap();
    assert!(output.status.success(), "{:?}", output.status);
    assert!(String::from_utf8_lossy(&output.stdout).contains("stopped and checkpointed"));
    let outcome: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("outcome.json")).unwrap()).unwrap();
    assert_eq!(outcome["end"], "stopped");
    let step = outcome["global_step"].as_u64().unwrap();
    assert!((128..1_000_000).contains(&step), "{step}");
    std::fs::remove_dir_all(dir.parent().unwrap()).unwrap();
}
