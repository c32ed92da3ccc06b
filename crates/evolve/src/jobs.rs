//! Training jobs. Each candidate trains in its own process, a plain
//! `rewardgen train --resume DIR` over a run directory the loop prepared, so a crash stays in
//! that process and an external scheduler could run the same command elsewhere.

use crate::EvolveError;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// One training process to run.
#[derive(Debug, Clone)]
pub struct Job {
    /// The prepared run directory (`config.toml`, `reward.rhai`).
    pub dir: PathBuf,
    /// Steps it trains for, for the progress display.
    pub steps: u64,
}

/// How a job's process ended.
#[derive(Debug)]
pub struct JobExit {
    pub success: bool,
    /// The end of its log, for a crashed job's error.
    pub log_tail: String,
}

/// The command that trains a prepared run directory.
pub fn train_command(exe: &Path, dir: &Path) -> Command {
    let mut command = Command::new(exe);
    command.arg("train").arg("--resume").arg(dir);
    command
}

/// The log file a job writes.
pub const JOB_LOG: &str = "train.log";

fn spawn(exe: &Path, job: &Job) -> Result<Child, EvolveError> {
    let log_path = job.dir.join(JOB_LOG);
    let log = File::create(&log_path).map_err(|e| EvolveError::io(&log_path, e))?;
    let err_log = log.try_clone().map_err(|e| EvolveError::io(&log_path, e))?;
    let mut command = train_command(exe, &job.dir);
    command
        .stdin(Stdio::null())
        .stdout(log)
        .stderr(err_log)
        .env("RAYON_NUM_THREADS", "1");
    die_with_parent(&mut command);
    command
        .spawn()
        .map_err(|e| EvolveError::io(exe, format!("cannot start the training process: {e}")))
}

/// A job must not outlive the loop: if the loop is killed (even with SIGKILL), the job gets
/// SIGKILL too, and `--resume` restarts it from its last checkpoint.
#[cfg(target_os = "linux")]
fn die_with_parent(command: &mut Command) {
    use std::os::unix::process::CommandExt;
    // SAFETY: prctl is async-signal-safe and touches no memory of the parent.
    unsafe {
        command.pre_exec(|| {
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
}

#[cfg(not(target_os = "linux"))]
fn die_with_parent(_command: &mut Command) {}

/// Steps a job has logged so far, read from the last line of its `metrics.jsonl`.
fn steps_done(dir: &Path) -> u64 {
    let Ok(text) = std::fs::read_to_string(dir.join("metrics.jsonl")) else {
        return 0;
    };
    text.lines()
        .rev()
        .find_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .and_then(|row| row.get("global_step").and_then(|s| s.as_f64()))
        .map_or(0, |s| s as u64)
}

fn log_tail(dir: &Path) -> String {
    let text = std::fs::read_to_string(dir.join(JOB_LOG)).unwrap_or_default();
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    lines[lines.len().saturating_sub(8)..].join("\n")
}

fn describe_exit(status: ExitStatus) -> String {
    use std::os::unix::process::ExitStatusExt;
    match (status.code(), status.signal()) {
        (Some(code), _) => format!("exit code {code}"),
        (None, Some(signal)) => format!("killed by signal {signal}"),
        _ => "unknown exit".into(),
    }
}

/// Runs `jobs`, `parallel` at a time. `on_progress(steps done, steps total)` is called about
/// once a second; `on_done` as each job ends. Raising `stop` stops starting jobs, waits for the
/// running ones (a Ctrl-C reaches them too, and they checkpoint) and returns `Ok(false)`.
pub fn run_jobs(
    exe: &Path,
    jobs: &[Job],
    parallel: usize,
    stop: &AtomicBool,
    on_progress: &mut dyn FnMut(u64, u64),
    on_done: &mut dyn FnMut(&Job, JobExit) -> Result<(), EvolveError>,
) -> Result<bool, EvolveError> {
    let total: u64 = jobs.iter().map(|j| j.steps).sum();
    let mut queue = jobs.iter();
    let mut running: Vec<(&Job, Child)> = Vec::new();
    let mut finished_steps = 0;
    loop {
        while running.len() < parallel.max(1) && !stop.load(Ordering::Relaxed) {
            let Some(job) = queue.next() else { break };
            running.push((job, spawn(exe, job)?));
        }
        if running.is_empty() {
            return Ok(!stop.load(Ordering::Relaxed));
        }
        let mut i = 0;
        while i < running.len() {
            let status = running[i]
                .1
                .try_wait()
                .map_err(|e| EvolveError::io(&running[i].0.dir, e))?;
            match status {
                Some(status) => {
                    let (job, _) = running.remove(i);
                    finished_steps += job.steps;
                    let success = status.success();
                    let mut tail = log_tail(&job.dir);
                    if !success {
                        tail = format!(
                            "training process failed ({})\n{tail}",
                            describe_exit(status)
                        );
                    }
                    on_done(
                        job,
                        JobExit {
                            success,
                            log_tail: tail,
                        },
                    )?;
                }
                None => i += 1,
            }
        }
        let live: u64 = running.iter().map(|(job, _)| steps_done(&job.dir)).sum();
        on_progress(finished_steps + live, total);
        std::thread::sleep(Duration::from_millis(500));
    }
}
