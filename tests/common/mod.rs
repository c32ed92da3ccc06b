//! Running the real `rewardgen` binary, as a user runs it.

// Each test file is its own crate and uses a different part of these helpers.
#![allow(dead_code)]

use std::path::Path;
use std::path::PathBuf;
use std::process::{Child, Command, Output};

/// Runs `rewardgen ARGS` without `LD_LIBRARY_PATH`.
pub fn rewardgen(args: &[&str]) -> Output {
    rewardgen_in(Path::new("."), args)
}

/// Runs `rewardgen ARGS` in the directory `dir`, without `LD_LIBRARY_PATH`.
pub fn rewardgen_in(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_rewardgen"))
        .args(args)
        .current_dir(dir)
        .env_remove("LD_LIBRARY_PATH")
        .output()
        .expect("the rewardgen binary runs")
}

/// Stdout of a run that must succeed.
pub fn stdout(output: &Output) -> String {
    assert!(
        output.status.success(),
        "rewardgen failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// Stderr of a run that must fail.
pub fn stderr_of_failure(output: &Output) -> String {
    assert!(!output.status.success(), "expected a failure");
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// A fresh scratch folder for one test.
pub fn scratch_dir(test: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("rewardgen-{test}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A tiny evolve budget in rollouts of 4 × 128: rungs of 512 and 2048 steps (the best
/// quarter of each generation's candidates, rounded up, resumed to the top), one seed. The
/// last two are `--rewards DIR`.
pub const TINY: [&str; 18] = [
    "--steps",
    "2048",
    "--rungs",
    "2",
    "--eta",
    "4",
    "--seeds",
    "1",
    "--set",
    "num_envs=4",
    "--set",
    "num_steps=128",
    "--set",
    "num_minibatches=4",
    "--set",
    "update_epochs=2",
    "--rewards",
    concat!(env!("CARGO_MANIFEST_DIR"), "/rewards"),
];

/// A franka-reach policy trained for 256 steps into `dir/run`.
pub fn tiny_training_run(dir: &Path) -> PathBuf {
    let run = dir.join("run");
    stdout(&rewardgen(&[
        "train",
        "--env",
        "franka-reach",
        "--steps",
        "256",
        "--set",
        "num_envs=2",
        "--set",
        "num_steps=128",
        "--threads",
        "1",
        "--out",
        run.to_str().unwrap(),
    ]));
    run
}

/// A child process killed when the test ends, passing or not.
pub struct Killed(pub Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}
