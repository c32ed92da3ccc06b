//! Training jobs. Each candidate trains in its own process, a plain
//! `rewardgen train --resume DIR [--until STEPS]` over a run directory the loop prepared, so a
//! crash stays in that process. An [`Executor`] runs a batch of them: [`Local`] as processes
//! of this machine, the Slurm executor (module `slurm`) as a Slurm job array.

use crate::EvolveError;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use trainer::RunDir;

/// One training process to run.
#[derive(Debug, Clone)]
pub struct Job {
    /// The prepared run directory (`config.toml`, `reward.rhai`).
    pub dir: PathBuf,
    /// The rung's env steps to pause at; `None` trains to the run's end.
    pub until: Option<u64>,
}

/// How a job's process ended.
#[derive(Debug)]
pub struct JobExit {
    pub success: bool,
    /// The end of its log, for a crashed job's error.
    pub log_tail: String,
}

/// The command that trains a prepared run directory, until `until` env steps when given.
pub fn train_command(exe: &Path, dir: &Path, until: Option<u64>) -> Command {
    let mut command = Command::new(exe);
    command.arg("train").arg("--resume").arg(dir);
    if let Some(until) = until {
        command.arg("--until").arg(until.to_string());
    }
    command
}

/// The log file a job writes.
pub const JOB_LOG: &str = "train.log";

fn spawn(exe: &Path, job: &Job) -> Result<Child, EvolveError> {
    let log_path = job.dir.join(JOB_LOG);
    let log = File::create(&log_path).map_err(|e| EvolveError::io(&log_path, e))?;
    let err_log = log.try_clone().map_err(|e| EvolveError::io(&log_path, e))?;
    let mut command = train_command(exe, &job.dir, job.until);
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

/// Steps a job has logged so far, read from the last whole row of its `metrics.jsonl`
/// (rows with non-finite values, written as "inf" or "nan", read as any other).
pub(crate) fn steps_done(dir: &Path) -> u64 {
    let tail = read_tail(&RunDir::new(dir).metrics(), TAIL_BYTES);
    tail.lines()
        .rev()
        .find_map(|line| trainer::metrics::decode_row(line).ok())
        .and_then(|row| row.get("global_step").copied())
        .filter(|s| s.is_finite() && *s >= 0.0)
        .map_or(0, |s| s as u64)
}

/// The last lines of a job's log.
pub(crate) fn log_tail(dir: &Path) -> String {
    last_lines(&read_tail(&dir.join(JOB_LOG), TAIL_BYTES), 8)
}

/// The last `n` lines of `text` that are not blank.
pub(crate) fn last_lines(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

/// How much of the end of a job's files the loop reads: a metrics row or a few log lines fit
/// many times over, and the files can grow without bound.
pub(crate) const TAIL_BYTES: u64 = 64 * 1024;

/// The last `max` bytes of a file the loop's own job wrote, as text (a cut first line is
/// dropped by the callers, which read lines from the end); empty when it cannot be read or
/// is not a regular file.
pub(crate) fn read_tail(path: &Path, max: u64) -> String {
    use std::io::{Read, Seek, SeekFrom};
    let Ok((mut file, len)) = user_files::open(path, user_files::Kind::LOG) else {
        return String::new();
    };
    let start = len.saturating_sub(max);
    if file.seek(SeekFrom::Start(start)).is_err() {
        return String::new();
    }
    let mut bytes = Vec::new();
    let _ = file.take(max).read_to_end(&mut bytes);
    let text = String::from_utf8_lossy(&bytes).into_owned();
    if start > 0 {
        // The first line may be cut; keep only whole lines.
        text.split_once('\n')
            .map_or(String::new(), |(_, rest)| rest.to_string())
    } else {
        text
    }
}

fn describe_exit(status: ExitStatus) -> String {
    use std::os::unix::process::ExitStatusExt;
    match (status.code(), status.signal()) {
        (Some(code), _) => format!("exit code {code}"),
        (None, Some(signal)) => format!("killed by signal {signal}"),
        _ => "unknown exit".into(),
    }
}

/// What [`run_jobs`] reports.
pub enum JobEvent {
    /// About twice a second while jobs run: time to read their progress
    /// (the progress module reads the steps in each running job's `metrics.jsonl`).
    Progress,
    /// Job `index` ended.
    Done { index: usize, exit: JobExit },
}

/// What an executor reports to.
pub(crate) type OnEvent<'a> = dyn FnMut(JobEvent) -> Result<(), EvolveError> + 'a;

/// Runs a batch of training jobs, reporting each as it ends.
pub(crate) trait Executor {
    /// Runs `jobs`, the batch named `batch` (`g0-r1`: generation 0, rung 1; `final`),
    /// reporting through `on_event`. Raising `stop` stops the jobs (they checkpoint) and
    /// returns `Ok(false)` once they have ended.
    fn run(
        &self,
        batch: &str,
        jobs: &[Job],
        stop: &AtomicBool,
        on_event: &mut OnEvent,
    ) -> Result<bool, EvolveError>;
}

/// Processes of this machine, `parallel` at a time ([`run_jobs`]).
pub(crate) struct Local<'a> {
    pub exe: &'a Path,
    pub parallel: usize,
}

impl Executor for Local<'_> {
    fn run(
        &self,
        _batch: &str,
        jobs: &[Job],
        stop: &AtomicBool,
        on_event: &mut OnEvent,
    ) -> Result<bool, EvolveError> {
        run_jobs(self.exe, jobs, self.parallel, stop, on_event)
    }
}

/// Asks a job to stop as Ctrl-C would: it checkpoints and exits.
fn interrupt(child: &Child) {
    // SAFETY: sends a signal to a child process this function's caller owns.
    unsafe {
        libc::kill(child.id() as libc::pid_t, libc::SIGINT);
    }
}

/// Runs `jobs`, `parallel` at a time, reporting through `on_event`. Raising `stop` stops
/// starting jobs and interrupts the running ones (they checkpoint), waits for them, and
/// returns `Ok(false)`. If `on_event` fails, the running jobs are killed and reaped first.
pub fn run_jobs(
    exe: &Path,
    jobs: &[Job],
    parallel: usize,
    stop: &AtomicBool,
    on_event: &mut OnEvent,
) -> Result<bool, EvolveError> {
    let mut queue = jobs.iter().enumerate();
    let mut running: Vec<(usize, Child)> = Vec::new();
    let mut interrupted = false;
    let result = loop {
        let stopping = stop.load(Ordering::Relaxed);
        if stopping && !interrupted {
            running.iter().for_each(|(_, child)| interrupt(child));
            interrupted = true;
        }
        let mut spawn_error = None;
        while running.len() < parallel.max(1) && !stopping {
            let Some((index, job)) = queue.next() else {
                break;
            };
            match spawn(exe, job) {
                Ok(child) => running.push((index, child)),
                Err(e) => {
                    spawn_error = Some(e);
                    break;
                }
            }
        }
        if let Some(e) = spawn_error {
            break Err(e);
        }
        if running.is_empty() {
            break Ok(!stopping);
        }
        let mut failed = None;
        let mut i = 0;
        while i < running.len() {
            match running[i].1.try_wait() {
                Ok(Some(status)) => {
                    let (index, _) = running.remove(i);
                    let job = &jobs[index];
                    let mut log_tail = log_tail(&job.dir);
                    if !status.success() {
                        log_tail = format!(
                            "training process failed ({})\n{log_tail}",
                            describe_exit(status)
                        );
                    }
                    let exit = JobExit {
                        success: status.success(),
                        log_tail,
                    };
                    if let Err(e) = on_event(JobEvent::Done { index, exit }) {
                        failed = Some(e);
                        break;
                    }
                }
                Ok(None) => i += 1,
                Err(e) => {
                    failed = Some(EvolveError::io(&jobs[running[i].0].dir, e));
                    break;
                }
            }
        }
        if let Some(e) = failed {
            break Err(e);
        }
        if let Err(e) = on_event(JobEvent::Progress) {
            break Err(e);
        }
        std::thread::sleep(Duration::from_millis(500));
    };
    for (_, mut child) in running {
        let _ = child.kill();
        let _ = child.wait();
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn progress_reads_the_last_row_even_when_it_overflowed_and_never_blocks() {
        let dir = std::env::temp_dir().join(format!("evolve-jobs-tail-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let rows = (1..=3000)
            .map(|i| {
                format!(
                    "{{\"global_step\":{}.0,\"charts/episodic_return\":\"inf\",\
                     \"losses/value_loss\":\"nan\",\"losses/policy_loss\":0.0123456789}}\n",
                    i * 128
                )
            })
            .collect::<String>();
        std::fs::write(RunDir::new(&dir).metrics(), rows + "{\"global_st").unwrap();
        assert_eq!(steps_done(&dir), 3000 * 128);
        // A FIFO where the log should be reads as empty instead of blocking.
        assert!(
            std::process::Command::new("mkfifo")
                .arg(dir.join(JOB_LOG))
                .status()
                .unwrap()
                .success()
        );
        assert_eq!(log_tail(&dir), "");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
