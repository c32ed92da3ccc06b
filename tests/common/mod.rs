//! Running the real `rewardgen` binary, as a user runs it.

// Each test file is its own crate and uses a different part of these helpers.
#![allow(dead_code)]

use std::path::PathBuf;
use std::process::{Command, Output};

/// Runs `rewardgen ARGS` without `LD_LIBRARY_PATH`.
pub fn rewardgen(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_rewardgen"))
        .args(args)
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
