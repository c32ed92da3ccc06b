//! The Slurm executor: each batch of trainings (a rung of a generation, or the final
//! evaluation) is one job array, `sbatch --array=0-N%K`, whose task i runs
//! `rewardgen train --resume DIR [--until STEPS]` for the batch's i-th run directory.
//!
//! The loop holds no connection: it polls `squeue` for the tasks still queued or running, and
//! asks `scontrol` (then `sacct`, where accounting is on) how the others ended. The job ids
//! are in the run store before the loop waits on them, so a loop killed with SIGKILL leaves
//! its jobs running and `evolve --resume` adopts them instead of submitting them again.
//! Ctrl-C cancels them (`scancel`); they checkpoint, and `--resume` submits them anew.

use crate::EvolveError;
use crate::jobs::{
    Executor, JOB_LOG, Job, JobEvent, JobExit, OnEvent, TAIL_BYTES, last_lines, read_tail,
};
use crate::store::Store;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};
use trainer::run_dir::CONFIG_FILE;

/// The Slurm executor's settings (`--slurm-*` flags, or the `[slurm]` table of an evolve
/// config file). Each is written into the job script as an `#SBATCH` line.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SlurmOptions {
    /// `--partition`.
    pub partition: Option<String>,
    /// `--account`.
    pub account: Option<String>,
    /// `--time`, the time limit of each training (`HH:MM:SS`, `D-HH:MM`, minutes, ...).
    pub time: Option<String>,
    /// `--cpus-per-task`.
    pub cpus_per_task: u32,
    /// `--mem`, per node (`4G`, `4000M`).
    pub mem: Option<String>,
    /// The array's `%K`: tasks of one array running at once (none: as many as Slurm allows).
    pub max_running: Option<u32>,
    /// Further `sbatch` options, each one `--key=value` token (`--qos=high`).
    pub args: Vec<String>,
    /// The rewardgen binary the nodes run (default: the running one); the path must be the
    /// same on every node.
    pub binary: Option<PathBuf>,
    /// Seconds between two looks at the queue.
    pub poll_seconds: u64,
}

impl Default for SlurmOptions {
    fn default() -> Self {
        Self {
            partition: None,
            account: None,
            time: None,
            cpus_per_task: 1,
            mem: None,
            max_running: None,
            args: Vec::new(),
            binary: None,
            poll_seconds: 10,
        }
    }
}

impl SlurmOptions {
    /// Checks each setting; the message names it. Values go into `#SBATCH` lines, so none
    /// may hold a line break, and the free-form ones must be single options.
    pub fn validate(&self) -> Result<(), String> {
        let words = [
            ("--slurm-partition", &self.partition),
            ("--slurm-account", &self.account),
            ("--slurm-time", &self.time),
            ("--slurm-mem", &self.mem),
        ];
        for (flag, value) in words {
            if let Some(value) = value
                && (value.is_empty() || value.chars().any(|c| c.is_whitespace() || c == '\''))
            {
                return Err(format!(
                    "{flag} {value:?}: must be one word, with no spaces or quotes"
                ));
            }
        }
        if !(1..=1024).contains(&self.cpus_per_task) {
            return Err(format!(
                "--slurm-cpus-per-task must be between 1 and 1024, not {}",
                self.cpus_per_task
            ));
        }
        if self.max_running == Some(0) {
            return Err("--slurm-max-running must be at least 1".into());
        }
        if !(1..=3600).contains(&self.poll_seconds) {
            return Err(format!(
                "--slurm-poll must be between 1 and 3600 seconds, not {}",
                self.poll_seconds
            ));
        }
        for arg in &self.args {
            if !arg.starts_with('-') || arg.chars().any(|c| c.is_control()) || arg.contains(' ') {
                return Err(format!(
                    "--slurm-arg {arg:?}: must be one sbatch option such as --qos=high, with \
                     no spaces"
                ));
            }
        }
        if let Some(binary) = &self.binary
            && !binary.is_absolute()
        {
            return Err(format!(
                "slurm binary {}: must be an absolute path, the same on every node",
                binary.display()
            ));
        }
        Ok(())
    }
}

/// How long one Slurm command may take before the loop gives up on that look.
const COMMAND_TIMEOUT: Duration = Duration::from_secs(60);
/// How long the queue may be unreadable before the loop stops (its jobs keep running, and
/// `--resume` adopts them).
const QUEUE_OUTAGE: Duration = Duration::from_secs(600);
/// How long Ctrl-C waits for cancelled jobs to leave the queue.
const CANCEL_WAIT: Duration = Duration::from_secs(120);

/// One submitted job array, as the run store keeps it (meta key `slurm/<batch>`).
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Submission {
    job_id: String,
    /// Array task i trains `tasks[i]`.
    tasks: Vec<Task>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Task {
    /// The run directory, relative to the evolve run.
    dir: String,
    until: Option<u64>,
    /// This is the one resubmission of a preempted or timed-out task.
    #[serde(default)]
    retry: bool,
}

fn store_key(batch: &str) -> String {
    format!("slurm/{batch}")
}

/// A job array's task as the loop follows it.
struct Tracked {
    /// Index into the batch's jobs.
    index: usize,
    job_id: String,
    task: usize,
    retry: bool,
    done: bool,
    /// When the loop first found it neither queued nor with a record of how it ended.
    unaccounted_since: Option<Instant>,
}

/// How long a task may be out of the queue with no record of its end (accounting can lag
/// the queue) before the loop records it as crashed.
const RECORD_GRACE: Duration = Duration::from_secs(60);

/// How an array task ended, from Slurm's records or the task's own exit file.
#[derive(Debug, PartialEq)]
struct TaskEnd {
    state: String,
    exit_code: String,
}

impl TaskEnd {
    /// Whether the state is one a job ends in (accounting may still say `RUNNING` for a
    /// task that has left the queue).
    fn ended(&self) -> bool {
        matches!(
            self.state.as_str(),
            "COMPLETED"
                | "FAILED"
                | "CANCELLED"
                | "TIMEOUT"
                | "PREEMPTED"
                | "NODE_FAIL"
                | "BOOT_FAIL"
                | "OUT_OF_MEMORY"
                | "DEADLINE"
                | "REVOKED"
        )
    }

    fn succeeded(&self) -> bool {
        self.state == "COMPLETED" && self.exit_code == "0:0"
    }

    /// States after which the task may be submitted once more, to resume from its
    /// checkpoint.
    fn resubmittable(&self) -> bool {
        matches!(
            self.state.as_str(),
            "PREEMPTED" | "TIMEOUT" | "NODE_FAIL" | "BOOT_FAIL"
        )
    }
}

/// The file each array task writes when its training process ends: `JOB TASK EXIT`.
pub const EXIT_FILE: &str = "slurm-exit";

/// Job arrays on a Slurm cluster, for one evolve run.
pub(crate) struct Slurm<'a> {
    pub options: &'a SlurmOptions,
    /// The evolve run's directory, as the jobs' directories start.
    pub run_dir: &'a Path,
    pub store: &'a Store,
    /// The binary the nodes run.
    pub exe: PathBuf,
}

impl Executor for Slurm<'_> {
    fn run(
        &self,
        batch: &str,
        jobs: &[Job],
        stop: &AtomicBool,
        on_event: &mut OnEvent,
    ) -> Result<bool, EvolveError> {
        let mut submissions = self.submissions(batch)?;
        let mut tracked = Vec::new();
        let mut new_tasks = Vec::new();
        for (index, job) in jobs.iter().enumerate() {
            let task = self.task(job, false)?;
            // The latest submission of this training, when a stopped loop left one.
            let adopted = submissions.iter().rev().find_map(|s| {
                s.tasks
                    .iter()
                    .position(|t| t.dir == task.dir && t.until == task.until)
                    .map(|i| (s.job_id.clone(), i, s.tasks[i].retry))
            });
            match adopted {
                Some((job_id, task, retry)) => tracked.push(Tracked {
                    index,
                    job_id,
                    task,
                    retry,
                    done: false,
                    unaccounted_since: None,
                }),
                None => new_tasks.push((index, task)),
            }
        }
        if stop.load(Ordering::Relaxed) {
            return Ok(false);
        }
        if !new_tasks.is_empty() {
            self.submit(batch, &mut submissions, new_tasks, &mut tracked)?;
        }
        let mut cancelled_at: Option<Instant> = None;
        let mut last_read = Instant::now();
        loop {
            let stopping = stop.load(Ordering::Relaxed);
            if stopping && cancelled_at.is_none() {
                self.cancel(&tracked);
                cancelled_at = Some(Instant::now());
            }
            let queued = match queued_tasks() {
                Ok(queued) => {
                    last_read = Instant::now();
                    queued
                }
                Err(e) if last_read.elapsed() < QUEUE_OUTAGE => {
                    eprintln!("warning: cannot read the Slurm queue, trying again: {e}");
                    std::thread::sleep(self.poll());
                    continue;
                }
                Err(e) => {
                    return Err(EvolveError::Schedule(format!(
                        "the Slurm queue was unreadable for {} s ({e}); the jobs go on, and \
                         `evolve --resume` adopts them",
                        QUEUE_OUTAGE.as_secs()
                    )));
                }
            };
            let mut resubmit = Vec::new();
            let mut states: HashMap<String, HashMap<usize, TaskEnd>> = HashMap::new();
            for t in tracked.iter_mut().filter(|t| !t.done) {
                if queued.contains(&(t.job_id.clone(), t.task)) {
                    continue;
                }
                let job = &jobs[t.index];
                let ends = states
                    .entry(t.job_id.clone())
                    .or_insert_with(|| ended_tasks(&t.job_id));
                let end = ends
                    .remove(&t.task)
                    .filter(TaskEnd::ended)
                    .or_else(|| exit_file(&job.dir, &t.job_id, t.task));
                if end.is_none() && !stopping {
                    let since = *t.unaccounted_since.get_or_insert_with(Instant::now);
                    if since.elapsed() < RECORD_GRACE {
                        continue;
                    }
                }
                if let Some(end) = &end
                    && end.resubmittable()
                    && !t.retry
                    && !stopping
                {
                    t.done = true;
                    resubmit.push((t.index, self.task(job, true)?));
                    eprintln!(
                        "Slurm job {}_{} ended {}; submitting it once more to resume from its \
                         checkpoint",
                        t.job_id, t.task, end.state
                    );
                    continue;
                }
                t.done = true;
                let exit = self.exit(job, &t.job_id, t.task, end.as_ref());
                on_event(JobEvent::Done {
                    index: t.index,
                    exit,
                })?;
            }
            if !resubmit.is_empty() {
                self.submit(batch, &mut submissions, resubmit, &mut tracked)?;
            }
            if tracked.iter().all(|t| t.done) {
                if stopping {
                    // Cancelled: `--resume` submits these trainings anew.
                    self.store.set_meta(&store_key(batch), "[]")?;
                }
                return Ok(!stopping);
            }
            if let Some(at) = cancelled_at
                && at.elapsed() > CANCEL_WAIT
            {
                return Err(EvolveError::Schedule(format!(
                    "cancelled jobs of batch {batch} are still in the Slurm queue after {} s",
                    CANCEL_WAIT.as_secs()
                )));
            }
            on_event(JobEvent::Progress)?;
            std::thread::sleep(if stopping {
                Duration::from_millis(500)
            } else {
                self.poll()
            });
        }
    }
}

impl Slurm<'_> {
    fn poll(&self) -> Duration {
        Duration::from_secs(self.options.poll_seconds)
    }

    fn submissions(&self, batch: &str) -> Result<Vec<Submission>, EvolveError> {
        match self.store.meta(&store_key(batch))? {
            None => Ok(Vec::new()),
            Some(text) => serde_json::from_str(&text)
                .map_err(|e| EvolveError::Store(format!("the Slurm jobs of batch {batch}: {e}"))),
        }
    }

    fn task(&self, job: &Job, retry: bool) -> Result<Task, EvolveError> {
        let dir = job.dir.strip_prefix(self.run_dir).map_err(|_| {
            EvolveError::Schedule(format!(
                "{} is not inside the run directory {}",
                job.dir.display(),
                self.run_dir.display()
            ))
        })?;
        Ok(Task {
            dir: dir.to_string_lossy().into_owned(),
            until: job.until,
            retry,
        })
    }

    /// Submits `tasks` (job index, task) as one job array and records it in the store
    /// before following it.
    fn submit(
        &self,
        batch: &str,
        submissions: &mut Vec<Submission>,
        tasks: Vec<(usize, Task)>,
        tracked: &mut Vec<Tracked>,
    ) -> Result<(), EvolveError> {
        let (indices, tasks): (Vec<usize>, Vec<Task>) = tasks.into_iter().unzip();
        let folder = self.run_dir.join("slurm");
        std::fs::create_dir_all(&folder).map_err(|e| EvolveError::io(&folder, e))?;
        let name = format!("{batch}-{}", submissions.len());
        let script_path = folder.join(format!("{name}.sbatch"));
        let run_dir =
            std::path::absolute(self.run_dir).map_err(|e| EvolveError::io(self.run_dir, e))?;
        let script = job_script(&self.exe, &run_dir, &name, &tasks, self.options);
        std::fs::write(&script_path, script).map_err(|e| EvolveError::io(&script_path, e))?;
        let out = slurm_command("sbatch", &["--parsable", &script_path.to_string_lossy()])
            .map_err(|e| EvolveError::Schedule(format!("sbatch {}: {e}", script_path.display())))?;
        // `--parsable` prints `JOBID` or `JOBID;CLUSTER`.
        let job_id = out.trim().split(';').next().unwrap_or_default().to_string();
        if job_id.is_empty() || !job_id.bytes().all(|b| b.is_ascii_digit()) {
            return Err(EvolveError::Schedule(format!(
                "sbatch {}: no job id in its answer {out:?}",
                script_path.display()
            )));
        }
        for (task, index) in indices.into_iter().enumerate() {
            tracked.push(Tracked {
                index,
                job_id: job_id.clone(),
                task,
                retry: tasks[task].retry,
                done: false,
                unaccounted_since: None,
            });
        }
        submissions.push(Submission { job_id, tasks });
        let text = serde_json::to_string(submissions).expect("submissions serialize");
        self.store.set_meta(&store_key(batch), &text)
    }

    /// Cancels the job arrays of the tasks still followed; they checkpoint on SIGTERM.
    fn cancel(&self, tracked: &[Tracked]) {
        let mut ids: Vec<&str> = tracked
            .iter()
            .filter(|t| !t.done)
            .map(|t| t.job_id.as_str())
            .collect();
        ids.sort_unstable();
        ids.dedup();
        if ids.is_empty() {
            return;
        }
        if let Err(e) = slurm_command("scancel", &ids) {
            eprintln!("warning: scancel {}: {e}", ids.join(" "));
        }
    }

    /// The exit the loop reads a finished task's training from.
    fn exit(&self, job: &Job, job_id: &str, task: usize, end: Option<&TaskEnd>) -> JobExit {
        let log = crate::jobs::log_tail(&job.dir);
        match end {
            Some(end) if end.succeeded() => JobExit {
                success: true,
                log_tail: log,
            },
            _ => {
                let what = match end {
                    Some(end) => format!(
                        "Slurm job {job_id}_{task} ended {} (exit code {})",
                        end.state, end.exit_code
                    ),
                    None => format!(
                        "Slurm job {job_id}_{task} left the queue, and neither Slurm nor the \
                         task has a record of how it ended"
                    ),
                };
                let output = self
                    .run_dir
                    .join("slurm")
                    .join(format!("{job_id}_{task}.out"));
                let output = last_lines(&read_tail(&output, TAIL_BYTES), 4);
                let mut note = what;
                for part in [output, log] {
                    if !part.is_empty() {
                        note = format!("{note}\n{part}");
                    }
                }
                JobExit {
                    success: false,
                    log_tail: note,
                }
            }
        }
    }
}

/// `text` as one single-quoted shell word.
fn shell_quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', r"'\''"))
}

/// The job script of one array: `#SBATCH` lines from the options, then task i trains
/// `tasks[i]`. It checks that the run directory is visible on the node, and leaves the
/// training's exit code in `DIR/slurm-exit`.
fn job_script(
    exe: &Path,
    run_dir: &Path,
    name: &str,
    tasks: &[Task],
    options: &SlurmOptions,
) -> String {
    let mut array = format!("0-{}", tasks.len() - 1);
    if let Some(k) = options.max_running {
        array.push_str(&format!("%{k}"));
    }
    let mut lines = vec![
        "#!/bin/bash".to_string(),
        format!(
            "# Written by rewardgen evolve: batch {name} of {}, one array task per training.",
            run_dir.display()
        ),
        format!("#SBATCH --job-name=rewardgen-{name}"),
        format!("#SBATCH --array={array}"),
        format!(
            "#SBATCH --output={}",
            run_dir.join("slurm").join("%A_%a.out").display()
        ),
        format!("#SBATCH --cpus-per-task={}", options.cpus_per_task),
    ];
    let optional = [
        ("partition", &options.partition),
        ("account", &options.account),
        ("time", &options.time),
        ("mem", &options.mem),
    ];
    for (key, value) in optional {
        if let Some(value) = value {
            lines.push(format!("#SBATCH --{key}={value}"));
        }
    }
    lines.extend(options.args.iter().map(|arg| format!("#SBATCH {arg}")));
    lines.push(String::new());
    lines.push(format!("exe={}", shell_quote(&exe.to_string_lossy())));
    lines.push(format!("run={}", shell_quote(&run_dir.to_string_lossy())));
    lines.push("case \"$SLURM_ARRAY_TASK_ID\" in".into());
    for (i, task) in tasks.iter().enumerate() {
        let until = task
            .until
            .map_or(String::new(), |steps| format!("--until {steps}"));
        lines.push(format!(
            "{i}) dir={}; until=({until}) ;;",
            shell_quote(&task.dir)
        ));
    }
    lines.push(
        "*) echo \"rewardgen: no training for array task $SLURM_ARRAY_TASK_ID\" >&2; exit 2 ;;"
            .into(),
    );
    lines.push("esac".into());
    lines.push(
        r#"if [ ! -f "$run/$dir/"#
            .to_string()
            + CONFIG_FILE
            + r#"" ]; then
    echo "rewardgen: $run/$dir is not visible on $(hostname): the run directory must be on a file system every node sees (docs/cluster.md)" >&2
    exit 3
fi
export RAYON_NUM_THREADS=1
"$exe" train --resume "$run/$dir" "${until[@]}" >"$run/$dir/"#
            + JOB_LOG
            + r#"" 2>&1
code=$?
echo "$SLURM_ARRAY_JOB_ID $SLURM_ARRAY_TASK_ID $code" >"$run/$dir/"#
            + EXIT_FILE
            + "\"\nexit $code\n",
    );
    lines.join("\n")
}

/// Runs a Slurm client command, with a time limit; its stdout, or what went wrong.
fn slurm_command(program: &str, args: &[&str]) -> Result<String, String> {
    let mut child = Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot run {program}: {e} (is Slurm's client installed?)"))?;
    let mut stdout = child.stdout.take().expect("piped");
    let mut stderr = child.stderr.take().expect("piped");
    let out = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = stdout.read_to_string(&mut text);
        text
    });
    let err = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = stderr.read_to_string(&mut text);
        text
    });
    let started = Instant::now();
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if started.elapsed() > COMMAND_TIMEOUT => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!(
                    "{program} did not answer within {} s",
                    COMMAND_TIMEOUT.as_secs()
                ));
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(20)),
            Err(e) => return Err(format!("{program}: {e}")),
        }
    };
    let out = out.join().unwrap_or_default();
    let err = err.join().unwrap_or_default();
    if status.success() {
        Ok(out)
    } else {
        Err(format!("{program} failed ({status}): {}", err.trim()))
    }
}

/// This user's array tasks in the queue (pending, running, completing ...), as (array job
/// id, task id).
fn queued_tasks() -> Result<Vec<(String, usize)>, String> {
    let out = slurm_command(
        "squeue",
        &["--noheader", "--array", "--me", "--format=%F|%K"],
    )?;
    Ok(out
        .lines()
        .filter_map(|line| {
            let (job, task) = line.trim().split_once('|')?;
            Some((job.to_string(), task.parse().ok()?))
        })
        .collect())
}

/// How the ended tasks of array job `job_id` ended: from the controller's memory
/// (`scontrol`, which keeps ended jobs for MinJobAge), and for those it has dropped, from
/// accounting (`sacct`) where the cluster keeps it.
fn ended_tasks(job_id: &str) -> HashMap<usize, TaskEnd> {
    let mut ends = HashMap::new();
    if let Ok(out) = slurm_command("scontrol", &["--oneliner", "show", "job", job_id]) {
        for line in out.lines() {
            let field = |key: &str| {
                line.split_whitespace()
                    .find_map(|word| word.strip_prefix(key)?.strip_prefix('='))
            };
            if field("ArrayJobId") != Some(job_id) {
                continue;
            }
            if let (Some(task), Some(state), Some(exit_code)) = (
                field("ArrayTaskId").and_then(|t| t.parse().ok()),
                field("JobState"),
                field("ExitCode"),
            ) {
                ends.insert(
                    task,
                    TaskEnd {
                        state: state.to_string(),
                        exit_code: exit_code.to_string(),
                    },
                );
            }
        }
    }
    let args = [
        "--noheader",
        "--parsable2",
        "--allocations",
        "--jobs",
        job_id,
        "--format=JobID,State,ExitCode",
    ];
    if let Ok(out) = slurm_command("sacct", &args) {
        for line in out.lines() {
            let mut parts = line.split('|');
            let (Some(id), Some(state), Some(exit_code)) =
                (parts.next(), parts.next(), parts.next())
            else {
                continue;
            };
            let Some(task) = id
                .strip_prefix(job_id)
                .and_then(|t| t.strip_prefix('_'))
                .and_then(|t| t.parse().ok())
            else {
                continue;
            };
            // `CANCELLED by 0`: the state is the first word.
            let state = state.split_whitespace().next().unwrap_or_default();
            ends.entry(task).or_insert_with(|| TaskEnd {
                state: state.to_string(),
                exit_code: exit_code.to_string(),
            });
        }
    }
    ends
}

/// The exit a task left in its run directory, when it is this job's.
fn exit_file(dir: &Path, job_id: &str, task: usize) -> Option<TaskEnd> {
    let text = read_tail(&dir.join(EXIT_FILE), 256);
    let mut words = text.split_whitespace();
    if words.next()? != job_id || words.next()?.parse::<usize>().ok()? != task {
        return None;
    }
    let code: i32 = words.next()?.parse().ok()?;
    Some(TaskEnd {
        state: if code == 0 { "COMPLETED" } else { "FAILED" }.into(),
        exit_code: format!("{code}:0"),
    })
}

/// Whether the nodes can see `dir`: `None` when they can (a network file system, or a
/// cluster of only this machine), otherwise what evolve should tell the user.
pub fn shared_file_system_note(dir: &Path) -> Option<String> {
    let kind = file_system(dir)?;
    if NETWORK_FILE_SYSTEMS.contains(&kind) {
        return None;
    }
    let name = LOCAL_FILE_SYSTEMS
        .iter()
        .find(|(magic, _)| *magic == kind)
        .map(|(_, name)| *name);
    if only_this_machine() {
        return None;
    }
    Some(match name {
        Some(name) => format!(
            "warning: the run directory {} is on a local file system ({name}); Slurm nodes \
             other than this machine cannot see it, and their trainings will fail. Put the \
             run on a shared file system (NFS, Lustre; docs/cluster.md).",
            dir.display()
        ),
        None => format!(
            "note: cannot tell whether every Slurm node sees the run directory {} (file system \
             type {kind:#x}); a training on a node that cannot is recorded as crashed with the \
             reason.",
            dir.display()
        ),
    })
}

/// statfs magic numbers of file systems every node of a cluster may mount.
const NETWORK_FILE_SYSTEMS: [i64; 8] = [
    0x6969,      // NFS
    0x0BD0_0BD0, // Lustre
    0x4750_4653, // GPFS
    0xFF53_4D42, // CIFS
    0xFE53_4D42, // SMB2
    0x00C3_6400, // CephFS
    0x1983_0326, // BeeGFS
    0x0102_1997, // 9p
];

/// statfs magic numbers of file systems only this machine sees.
const LOCAL_FILE_SYSTEMS: [(i64, &str); 7] = [
    (0xEF53, "ext4"),
    (0x5846_5342, "xfs"),
    (0x9123_683E, "btrfs"),
    (0x0102_1994, "tmpfs"),
    (0x794C_7630, "overlayfs"),
    (0x2FC1_2FC1, "zfs"),
    (0x4d44, "vfat"),
];

fn file_system(dir: &Path) -> Option<i64> {
    use std::os::unix::ffi::OsStrExt;
    let path = std::ffi::CString::new(dir.as_os_str().as_bytes()).ok()?;
    let mut info: libc::statfs = unsafe { std::mem::zeroed() };
    // SAFETY: `path` is a NUL-terminated string and `info` a statfs the call fills.
    if unsafe { libc::statfs(path.as_ptr(), &mut info) } != 0 {
        return None;
    }
    Some(info.f_type as i64)
}

/// Whether every node of the cluster is this machine (its host name, or loopback).
fn only_this_machine() -> bool {
    let Ok(out) = slurm_command("scontrol", &["--oneliner", "show", "nodes"]) else {
        return false;
    };
    let here = host_name();
    let hosts: Vec<&str> = out
        .lines()
        .filter_map(|line| {
            line.split_whitespace()
                .find_map(|word| word.strip_prefix("NodeHostName="))
        })
        .collect();
    !hosts.is_empty()
        && hosts
            .iter()
            .all(|h| Some(*h) == here.as_deref() || *h == "localhost")
}

fn host_name() -> Option<String> {
    let mut buffer = [0u8; 256];
    // SAFETY: gethostname writes at most the buffer's length.
    if unsafe { libc::gethostname(buffer.as_mut_ptr().cast(), buffer.len()) } != 0 {
        return None;
    }
    let end = buffer.iter().position(|b| *b == 0).unwrap_or(buffer.len());
    Some(String::from_utf8_lossy(&buffer[..end]).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tasks() -> Vec<Task> {
        vec![
            Task {
                dir: "candidates/c0001".into(),
                until: Some(512),
                retry: false,
            },
            Task {
                dir: "final/it's".into(),
                until: None,
                retry: false,
            },
        ]
    }

    #[test]
    fn the_job_script_maps_array_tasks_to_run_directories() {
        let options = SlurmOptions {
            partition: Some("gpu".into()),
            mem: Some("4G".into()),
            max_running: Some(8),
            args: vec!["--qos=high".into()],
            ..SlurmOptions::default()
        };
        let script = job_script(
            Path::new("/opt/rewardgen"),
            Path::new("/shared/run"),
            "g0-r1-0",
            &tasks(),
            &options,
        );
        for line in [
            "#SBATCH --job-name=rewardgen-g0-r1-0",
            "#SBATCH --array=0-1%8",
            "#SBATCH --output=/shared/run/slurm/%A_%a.out",
            "#SBATCH --cpus-per-task=1",
            "#SBATCH --partition=gpu",
            "#SBATCH --mem=4G",
            "#SBATCH --qos=high",
            "exe='/opt/rewardgen'",
            "0) dir='candidates/c0001'; until=(--until 512) ;;",
            r"1) dir='final/it'\''s'; until=() ;;",
        ] {
            assert!(
                script.lines().any(|l| l == line),
                "no {line:?} in\n{script}"
            );
        }
        assert!(!script.contains("--account"), "{script}");
        // Every task's command is the local executor's.
        assert!(
            script.contains(
                r#""$exe" train --resume "$run/$dir" "${until[@]}" >"$run/$dir/train.log" 2>&1"#
            ),
            "{script}"
        );
        // A script that bash cannot parse would fail every task.
        let path = std::env::temp_dir().join(format!("slurm-script-{}.sh", std::process::id()));
        std::fs::write(&path, &script).unwrap();
        let checked = Command::new("bash").arg("-n").arg(&path).status().unwrap();
        std::fs::remove_file(&path).unwrap();
        assert!(checked.success());
    }

    #[test]
    fn options_that_would_break_the_script_are_named() {
        let bad = |edit: fn(&mut SlurmOptions)| {
            let mut options = SlurmOptions::default();
            edit(&mut options);
            options.validate().unwrap_err()
        };
        assert!(bad(|o| o.partition = Some("a b".into())).starts_with("--slurm-partition"));
        assert!(bad(|o| o.time = Some("1:00\n#SBATCH --x".into())).starts_with("--slurm-time"));
        assert!(bad(|o| o.args = vec!["qos=high".into()]).starts_with("--slurm-arg"));
        assert!(bad(|o| o.cpus_per_task = 0).starts_with("--slurm-cpus-per-task"));
        assert!(bad(|o| o.max_running = Some(0)).starts_with("--slurm-max-running"));
        assert!(bad(|o| o.poll_seconds = 0).starts_with("--slurm-poll"));
        assert!(bad(|o| o.binary = Some("rewardgen".into())).contains("absolute"));
        assert_eq!(SlurmOptions::default().validate(), Ok(()));
    }

    #[test]
    fn task_ends_read_from_the_exit_file_only_for_their_own_job() {
        let dir = std::env::temp_dir().join(format!("slurm-exit-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join(EXIT_FILE), "41 3 0\n").unwrap();
        assert_eq!(
            exit_file(&dir, "41", 3),
            Some(TaskEnd {
                state: "COMPLETED".into(),
                exit_code: "0:0".into()
            })
        );
        // A file an earlier job left says nothing about this one.
        assert_eq!(exit_file(&dir, "42", 3), None);
        std::fs::write(dir.join(EXIT_FILE), "42 3 1\n").unwrap();
        assert!(!exit_file(&dir, "42", 3).unwrap().succeeded());
        std::fs::remove_dir_all(&dir).unwrap();
        assert!(
            TaskEnd {
                state: "TIMEOUT".into(),
                exit_code: "0:15".into()
            }
            .resubmittable()
        );
    }
}
