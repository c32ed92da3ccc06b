//! Visible test skips. A test that cannot run on this machine (no browser, no EGL, no Slurm)
//! calls [`skip`]: the line goes straight to the terminal, past the capture that `cargo test`
//! puts on `eprintln!`, and into the file `REWARDGEN_SKIP_LOG` names, where `.ci/run` fails
//! the build if the tool a skip needed is installed after all.

use std::io::Write;

/// The environment variable naming the file skips are appended to.
pub const LOG_VAR: &str = "REWARDGEN_SKIP_LOG";

/// Reports that `test` skips because it needs `needs` (a program, a library file such as
/// `libEGL.so.1`, or a condition in words), with the reason.
pub fn skip(test: &str, needs: &str, reason: &str) {
    let line = format!("SKIPPED {test}: needs {needs}: {reason}\n");
    // A direct write to the stderr handle is not captured by the test harness.
    let _ = std::io::stderr().write_all(line.as_bytes());
    if let Some(path) = std::env::var_os(LOG_VAR) {
        let appended = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .and_then(|mut file| file.write_all(line.as_bytes()));
        if let Err(e) = appended {
            let _ = writeln!(std::io::stderr(), "cannot record the skip in {path:?}: {e}");
        }
    }
}
