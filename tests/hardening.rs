//! Bad input, as an attacker would give it, to the real binary: settings out of range, files
//! that are FIFOs, devices, huge or damaged, MJCF models that cannot be acted in, rewards that
//! overflow. Each is exit code 1 with one line on stderr naming the problem and where, never
//! a panic, a hang or a run that cannot be read again.

mod common;

use common::{rewardgen, scratch_dir, stdout};
use std::path::{Path, PathBuf};
use std::process::Output;

/// Asserts exit code 1, a single line on stderr holding every needle, and no panic. MuJoCo's
/// own warnings (`WARNING: XML contains a 'NaN'`), which it prints itself, are not counted.
fn fails_with(output: &Output, needles: &[&str]) -> String {
    let all = String::from_utf8_lossy(&output.stderr).into_owned();
    assert_eq!(output.status.code(), Some(1), "exit code; stderr: {all}");
    assert!(!all.contains("panicked"), "{all}");
    let ours: Vec<&str> = all
        .lines()
        .filter(|l| !l.starts_with("WARNING: ") && !l.trim().is_empty())
        .collect();
    assert_eq!(ours.len(), 1, "one line: {all}");
    let err = ours[0].to_string();
    assert!(err.starts_with("error: "), "{err}");
    for needle in needles {
        assert!(err.contains(needle), "no '{needle}' in: {err}");
    }
    err
}

/// `rewardgen ARGS` run in `dir`, where MuJoCo writes its `MUJOCO_LOG.TXT`.
fn rewardgen_in(dir: &Path, args: &[&str]) -> Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_rewardgen"))
        .args(args)
        .current_dir(dir)
        .env_remove("LD_LIBRARY_PATH")
        .output()
        .expect("the rewardgen binary runs")
}

fn train(args: &[&str], out: &Path) -> Output {
    let mut all = vec!["train", "--env", "franka-reach", "--threads", "1"];
    all.extend_from_slice(args);
    all.extend(["--out", out.to_str().unwrap()]);
    rewardgen(&all)
}

fn mkfifo(path: &Path) {
    let status = std::process::Command::new("mkfifo")
        .arg(path)
        .status()
        .expect("mkfifo runs");
    assert!(status.success(), "mkfifo {}", path.display());
}

/// A 5 GiB file that takes no disk space.
fn sparse_file(path: &Path) {
    let file = std::fs::File::create(path).unwrap();
    file.set_len(5 << 30).unwrap();
}

const SMALL: [&str; 8] = [
    "--set",
    "num_envs=2",
    "--set",
    "num_steps=128",
    "--set",
    "num_minibatches=4",
    "--set",
    "update_epochs=1",
];

#[test]
fn out_of_range_training_settings_are_refused_before_a_run_is_made() {
    let dir = scratch_dir("hard-settings");
    let out = dir.join("run");
    let cases: &[(&[&str], &[&str])] = &[
        (
            &["--set", "target_kl=nan"],
            &["target_kl must be a finite number", "NaN"],
        ),
        (
            &["--set", "target_kl=-0.5"],
            &["target_kl must be a finite number"],
        ),
        (
            &["--set", "target_kl=inf"],
            &["target_kl must be a finite number"],
        ),
        (
            &["--set", "num_envs=9223372036854775807"],
            &["num_envs must be at most 1024, not 9223372036854775807"],
        ),
        (
            &["--set", "num_steps=1000000000"],
            &["num_steps must be at most"],
        ),
        (
            &["--set", "hidden=1000000"],
            &["hidden must be at most 2048"],
        ),
        (&["--set", "num_envs=1e9"], &["num_envs=1e9: invalid type"]),
        (
            &["--set", "num_envs=1024", "--set", "num_steps=1048576"],
            &["GiB for the rollout buffer", "at most 2 GiB fits"],
        ),
        (
            &["--set", "learning_rate=inf"],
            &["learning_rate must be a finite number"],
        ),
        (
            &["--set", "adam_eps=0"],
            &["adam_eps must be a finite number in (0, 1]"],
        ),
        (
            &["--frame-skip", "100000000"],
            &[
                "frame_skip (--frame-skip) must be between 1 and 1000",
                "100000000",
            ],
        ),
    ];
    for (args, needles) in cases {
        fails_with(&train(args, &out), needles);
        assert!(!out.exists(), "{args:?}: a refused run writes nothing");
    }
    fails_with(
        &rewardgen(&[
            "train",
            "--env",
            "franka-reach",
            "--threads",
            "100000000",
            "--out",
            out.to_str().unwrap(),
        ]),
        &["threads must be at most 1024"],
    );
    // A config file: a bad value, and a bad type with its line and column on one line.
    let file = dir.join("bad.toml");
    std::fs::write(&file, "seed = 3\ntarget_kl = nan\n").unwrap();
    fails_with(
        &train(&["--config", file.to_str().unwrap()], &out),
        &["target_kl must be a finite number"],
    );
    std::fs::write(&file, "seed = 3\nhidden = \"wide\"\n").unwrap();
    fails_with(
        &train(&["--config", file.to_str().unwrap()], &out),
        &[
            "bad.toml: line 2, column 10: invalid type",
            "hidden = \"wide\"",
        ],
    );
    // The other env commands bound the frame skip too.
    fails_with(
        &rewardgen(&[
            "rollout",
            "--env",
            "franka-push",
            "--frame-skip",
            "100000000",
        ]),
        &["frame_skip", "1000"],
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn out_of_range_evolve_settings_are_refused() {
    let dir = scratch_dir("hard-evolve");
    let out = dir.join("run");
    let rewards = concat!(env!("CARGO_MANIFEST_DIR"), "/rewards");
    let cases: &[(&[&str], &[&str])] = &[
        (
            &["--samples", "4000000000"],
            &["--samples must be at most 1000"],
        ),
        (
            &["--generations", "100000"],
            &["--generations must be at most"],
        ),
        (&["--eta", "1"], &["--eta must be at least 2"]),
        (
            &["--steps", "4096", "--rungs", "3"],
            &["the lowest rung", "less than one rollout", "fewer --rungs"],
        ),
        (
            &["--set", "target_kl=nan"],
            &["target_kl must be a finite number"],
        ),
        (
            &["--set", "num_envs=1024", "--set", "num_steps=1048576"],
            &["GiB for the rollout buffer"],
        ),
    ];
    for (args, needles) in cases {
        let mut all = vec!["evolve", "--env", "franka-reach", "--rewards", rewards];
        all.extend_from_slice(args);
        all.extend(["--out", out.to_str().unwrap()]);
        fails_with(&rewardgen(&all), needles);
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn fifos_devices_directories_and_huge_files_are_refused_as_inputs() {
    let dir = scratch_dir("hard-files");
    let fifo = dir.join("pipe");
    mkfifo(&fifo);
    let huge = dir.join("huge.rhai");
    sparse_file(&huge);
    let out = dir.join("run");
    let (fifo, huge, dir_s) = (
        fifo.to_str().unwrap(),
        huge.to_str().unwrap(),
        dir.to_str().unwrap(),
    );
    // Reward programs, to check and to train.
    for (file, what) in [
        (
            fifo,
            "is a FIFO (named pipe); a reward program must be a regular file",
        ),
        (
            "/dev/zero",
            "is a character device; a reward program must be a regular file",
        ),
        (huge, "is 5 GiB; a reward program may be at most 1 MiB"),
        (
            dir_s,
            "is a directory; a reward program must be a regular file",
        ),
    ] {
        let err = fails_with(
            &rewardgen(&["check", "--env", "franka-reach", file]),
            &[what],
        );
        assert!(err.contains(file), "{err}");
        fails_with(&train(&["--reward", file], &out), &[file, what]);
        assert!(!out.exists());
    }
    // Settings files: --config, --limits, --llm-config.
    for file in [fifo, "/dev/zero"] {
        fails_with(
            &train(&["--config", file], &out),
            &[file, "a settings file must be a regular file"],
        );
        let reward = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/rewards/franka-reach/sparse.rhai"
        );
        fails_with(
            &rewardgen(&["check", "--env", "franka-reach", reward, "--limits", file]),
            &[file, "a settings file must be a regular file"],
        );
        fails_with(
            &rewardgen(&[
                "evolve",
                "--env",
                "franka-reach",
                "--llm",
                "openai",
                "--llm-config",
                file,
                "--out",
                out.to_str().unwrap(),
            ]),
            &[file, "a settings file must be a regular file"],
        );
    }
    // Models: an MJCF path, a half-cheetah --model, and rollout files to render.
    for file in [fifo, "/dev/zero", huge] {
        fails_with(
            &rewardgen(&["rollout", "--env", &format!("mjcf:{file}")]),
            &[file, "an MJCF model"],
        );
        fails_with(
            &rewardgen(&["describe", "--env", "half-cheetah", "--model", file]),
            &[file, "an MJCF model"],
        );
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

fn mjcf_with_ctrlrange(dir: &Path, name: &str, range: &str) -> String {
    let path = dir.join(name);
    std::fs::write(
        &path,
        format!(
            "<mujoco><worldbody><body><joint name='hinge' type='hinge'/>\
             <geom size='0.1' mass='1'/></body></worldbody>\
             <actuator><motor name='{name}' joint='hinge' ctrlrange='{range}' \
             ctrllimited='true'/></actuator></mujoco>"
        ),
    )
    .unwrap();
    format!("mjcf:{}", path.display())
}

#[test]
fn mjcf_models_that_cannot_be_acted_in_name_the_actuator_or_the_lack() {
    let dir = scratch_dir("hard-mjcf");
    let out = dir.join("run");
    for (name, range, needle) in [
        ("nan", "nan 1", "is not a pair of finite numbers"),
        ("inf", "-inf inf", "is not a pair of finite numbers"),
        ("wide", "-1e308 1e308", "wider than an f64 can represent"),
        // MuJoCo refuses these itself, naming the element and line; on one line too.
        (
            "overflow",
            "-1 1e309",
            "number is too large in attribute 'ctrlrange'",
        ),
        (
            "reversed",
            "2 1",
            "invalid control range for actuator; Element name 'reversed'",
        ),
    ] {
        let env = mjcf_with_ctrlrange(&dir, name, range);
        let err = fails_with(
            &rewardgen_in(&dir, &["rollout", "--env", &env]),
            &[needle, name],
        );
        if !err.contains("MuJoCo could not load") {
            assert!(
                err.contains(&format!("actuator '{name}'")),
                "names the actuator: {err}"
            );
        }
        fails_with(
            &rewardgen_in(
                &dir,
                &["train", "--env", &env, "--out", out.to_str().unwrap()],
            ),
            &[needle],
        );
        assert!(!out.exists());
    }
    let no_joints = dir.join("no_joints.xml");
    std::fs::write(
        &no_joints,
        "<mujoco><worldbody><body><site name='s'/><geom size='0.1' mass='1'/></body>\
         </worldbody><actuator><general name='push' site='s' gear='1 0 0 0 0 0' \
         ctrlrange='-1 1'/></actuator></mujoco>",
    )
    .unwrap();
    let env = format!("mjcf:{}", no_joints.display());
    fails_with(
        &rewardgen(&["train", "--env", &env, "--out", out.to_str().unwrap()]),
        &["no_joints.xml", "the model has no joints"],
    );
    let no_actuators = dir.join("no_actuators.xml");
    std::fs::write(
        &no_actuators,
        "<mujoco><worldbody><body><joint type='hinge'/><geom size='0.1'/></body>\
         </worldbody></mujoco>",
    )
    .unwrap();
    let env = format!("mjcf:{}", no_actuators.display());
    fails_with(
        &rewardgen(&["train", "--env", &env, "--out", out.to_str().unwrap()]),
        &["no_actuators.xml", "has no actuators"],
    );
    assert!(!out.exists());
    std::fs::remove_dir_all(&dir).unwrap();
}

/// A trained franka-reach run of 256 steps into `dir/run`.
fn small_run(dir: &Path, extra: &[&str]) -> PathBuf {
    let run = dir.join("run");
    let mut args = vec!["--steps", "256"];
    args.extend_from_slice(&SMALL);
    args.extend_from_slice(extra);
    assert!(stdout(&train(&args, &run)).contains("finished"));
    run
}

#[test]
fn a_huge_reward_leaves_a_run_that_reads_redraws_resumes_and_evaluates() {
    let dir = scratch_dir("hard-huge");
    let reward = dir.join("huge.rhai");
    std::fs::write(&reward, "[1e307, #{big: 1e307}]").unwrap();
    let run = small_run(&dir, &["--reward", reward.to_str().unwrap()]);
    let metrics = std::fs::read_to_string(run.join("metrics.jsonl")).unwrap();
    assert!(!metrics.contains("null"), "{metrics}");
    assert!(
        metrics.contains(r#""charts/episodic_return":"inf""#),
        "{metrics}"
    );
    let resumed = rewardgen(&["train", "--resume", run.to_str().unwrap(), "--steps", "512"]);
    assert!(stdout(&resumed).contains("finished"));
    let metrics = std::fs::read_to_string(run.join("metrics.jsonl")).unwrap();
    assert_eq!(metrics.lines().count(), 2, "{metrics}");
    assert!(run.join("curves.png").is_file());
    let report: serde_json::Value = serde_json::from_str(&stdout(&rewardgen(&[
        "eval",
        "--run",
        run.to_str().unwrap(),
        "--episodes",
        "1",
        "--json",
    ])))
    .unwrap();
    assert_eq!(report["mean_return"], "inf", "{report}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_damaged_run_is_a_one_line_error_on_resume_and_eval() {
    let dir = scratch_dir("hard-damaged");
    let run = small_run(&dir, &[]);
    let run_s = run.to_str().unwrap();
    let state = run.join("checkpoints/latest/state.json");
    let original = std::fs::read_to_string(&state).unwrap();
    let resume = || rewardgen(&["train", "--resume", run_s, "--steps", "512"]);
    let eval = || rewardgen(&["eval", "--run", run_s, "--episodes", "1"]);

    std::fs::write(
        &state,
        original.replace("\"obs_dim\": 9", "\"obs_dim\": 12"),
    )
    .unwrap();
    for output in [resume(), eval()] {
        fails_with(
            &output,
            &["state.json: not a usable checkpoint: obs_dim is 12, but franka-reach observes 9"],
        );
    }
    std::fs::write(&state, &original[..original.len() / 2]).unwrap();
    fails_with(&resume(), &["state.json: not a usable checkpoint"]);
    std::fs::write(&state, &original).unwrap();

    let model = run.join("checkpoints/latest/model.bpk");
    let bytes = std::fs::read(&model).unwrap();
    std::fs::write(&model, &bytes[..bytes.len() / 3]).unwrap();
    fails_with(
        &resume(),
        &["model.bpk: not a usable checkpoint: the file is damaged"],
    );
    std::fs::remove_file(&model).unwrap();
    mkfifo(&model);
    fails_with(&eval(), &["model.bpk: not a usable checkpoint: is a FIFO"]);
    std::fs::remove_file(&model).unwrap();
    std::fs::write(&model, &bytes).unwrap();

    let config = run.join("config.toml");
    let text = std::fs::read_to_string(&config).unwrap();
    std::fs::write(&config, text.replace("hidden = 64", "hidden = 128")).unwrap();
    fails_with(&resume(), &["model.bpk", "hidden = 128 need"]);
    std::fs::write(&config, "[train\nhidden = 64\n").unwrap();
    fails_with(&resume(), &["config.toml: line 1"]);
    std::fs::remove_file(&config).unwrap();
    fails_with(&eval(), &["no run here (config.toml is missing)"]);
    std::fs::write(&config, &text).unwrap();
    // Repaired, the run resumes: nothing stored was lost.
    assert!(stdout(&resume()).contains("finished"));
    std::fs::remove_dir_all(&dir).unwrap();
}
