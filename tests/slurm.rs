//! `evolve --executor slurm` against a real Slurm: a single-node cluster on 127.0.0.1 from
//! Debian's packages (`scripts/slurm-local.sh`; `scripts/test` installs them). Each test
//! brings up its own cluster on its own ports. Where the Slurm programs are missing the
//! tests say so and skip; where they are installed, a cluster that does not come up fails.

mod common;

use common::{TINY, scratch_dir};
use evolve::{Candidate, Status, Store};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

/// A running single-node cluster, stopped (its jobs cancelled) when dropped; its test's
/// scratch folder goes with it unless the test failed.
struct Cluster {
    /// The test's scratch folder.
    root: PathBuf,
    /// The cluster's own folder inside it.
    dir: PathBuf,
    conf: PathBuf,
}

const SCRIPT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/slurm-local.sh");

impl Cluster {
    /// Starts a cluster on ports from `port`, or `None` (said on stderr) without Slurm.
    fn start(test: &str, port: u16) -> Option<Self> {
        let missing = ["munged", "slurmctld", "slurmd", "sbatch"]
            .into_iter()
            .find(|p| {
                !Command::new("sh")
                    .args(["-c", &format!("command -v {p}")])
                    .stdout(Stdio::null())
                    .status()
                    .unwrap()
                    .success()
            });
        if let Some(program) = missing {
            test_skip::skip(
                &format!("slurm {test}"),
                program,
                "Debian: slurmctld slurmd slurm-client munge; scripts/test installs them where it can",
            );
            return None;
        }
        let root = scratch_dir(&format!("slurm-{test}"));
        let dir = root.join("cluster");
        let output = Command::new(SCRIPT)
            .args(["start", dir.to_str().unwrap()])
            .env("SLURM_LOCAL_PORT", port.to_string())
            .output()
            .unwrap();
        if !output.status.success() {
            let _ = Command::new(SCRIPT)
                .args(["stop", dir.to_str().unwrap()])
                .status();
            panic!(
                "the local Slurm cluster did not start: {}",
                String::from_utf8_lossy(&output.stderr)
            );
        }
        let conf = dir.join("slurm.conf");
        Some(Self { root, dir, conf })
    }

    /// A Slurm client command against this cluster; its stdout.
    fn client(&self, program: &str, args: &[&str]) -> String {
        let output = Command::new(program)
            .args(args)
            .env("SLURM_CONF", &self.conf)
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "{program} {args:?}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8_lossy(&output.stdout).into_owned()
    }

    /// Whether the cluster keeps job accounting (slurmdbd), so that `sacct` works.
    fn accounting(&self) -> bool {
        std::fs::read_to_string(&self.conf)
            .unwrap()
            .contains("accounting_storage/slurmdbd")
    }

    /// The array tasks in the queue, as `JOB_TASK STATE` lines.
    fn queue(&self) -> Vec<String> {
        self.client("squeue", &["--noheader", "--array", "--format=%F_%K %T"])
            .lines()
            .map(str::to_string)
            .collect()
    }

    /// `rewardgen ARGS` with this cluster's config.
    fn rewardgen(&self, args: &[&str]) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_rewardgen"));
        command.args(args).env("SLURM_CONF", &self.conf);
        command
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let _ = Command::new(SCRIPT)
            .args(["stop", self.dir.to_str().unwrap()])
            .status();
        if !std::thread::panicking() {
            let _ = std::fs::remove_dir_all(&self.root);
        }
    }
}

/// `evolve` arguments for a tiny franka-reach run into `run`: 2 samples, 1 generation.
fn evolve_args(run: &Path, steps: &'static str) -> Vec<String> {
    let mut args: Vec<String> = [
        "evolve",
        "--env",
        "franka-reach",
        "--samples",
        "2",
        "--generations",
        "1",
        "--out",
        run.to_str().unwrap(),
    ]
    .map(String::from)
    .to_vec();
    args.extend(TINY.map(String::from));
    // TINY's top rung, or a longer one to catch a job while it runs.
    let at = args.iter().position(|a| a == "--steps").unwrap();
    args[at + 1] = steps.to_string();
    args
}

const SLURM: [&str; 4] = ["--executor", "slurm", "--slurm-poll", "1"];

fn run_to_end(mut command: Command) -> Output {
    let output = command.output().unwrap();
    assert!(
        output.status.success(),
        "evolve failed: {}\n{}",
        String::from_utf8_lossy(&output.stderr),
        String::from_utf8_lossy(&output.stdout)
    );
    output
}

fn refs(args: &[String]) -> Vec<&str> {
    args.iter().map(String::as_str).collect()
}

/// A candidate as the report compares runs: code, status, rung, fitness.
type Summary = (Option<String>, Status, Option<u32>, Option<f64>);

fn candidates(run: &Path) -> Vec<Summary> {
    Store::open(&run.join("evolve.db"))
        .unwrap()
        .candidates()
        .unwrap()
        .into_iter()
        .map(|c| (c.code, c.status, c.rung, c.fitness))
        .collect()
}

/// The job arrays the loop recorded for `batch`, as (job id, its run directories).
fn submissions(run: &Path, batch: &str) -> Vec<(String, Vec<String>)> {
    // Never create the store before the loop does.
    let db = run.join("evolve.db");
    if !db.exists() {
        return Vec::new();
    }
    let store = Store::open(&db).unwrap();
    let Some(text) = store.meta(&format!("slurm/{batch}")).unwrap() else {
        return Vec::new();
    };
    let value: serde_json::Value = serde_json::from_str(&text).unwrap();
    value
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            let dirs = s["tasks"]
                .as_array()
                .unwrap()
                .iter()
                .map(|t| t["dir"].as_str().unwrap().to_string())
                .collect();
            (s["job_id"].as_str().unwrap().to_string(), dirs)
        })
        .collect()
}

/// Waits until an array task of `batch` runs, and returns it as `JOB_TASK`.
fn wait_for_running_task(cluster: &Cluster, run: &Path, batch: &str, loop_: &mut Child) -> String {
    let deadline = Instant::now() + Duration::from_secs(300);
    loop {
        assert!(Instant::now() < deadline, "no task of {batch} ever ran");
        assert!(
            loop_.try_wait().unwrap().is_none(),
            "evolve ended before a task of {batch} ran"
        );
        if let Some((job, _)) = submissions(run, batch).first()
            && let Some(line) = cluster
                .queue()
                .into_iter()
                .find(|l| l.starts_with(&format!("{job}_")) && l.ends_with(" RUNNING"))
        {
            return line.split(' ').next().unwrap().to_string();
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Starts `evolve` through the cluster's Slurm into `run` with a top rung of `steps` (and
/// `rungs` rungs, when given), its output piped.
fn start_loop(cluster: &Cluster, run: &Path, steps: &'static str, rungs: Option<&str>) -> Child {
    let mut args = evolve_args(run, steps);
    if let Some(rungs) = rungs {
        let at = args.iter().position(|a| a == "--rungs").unwrap();
        args[at + 1] = rungs.into();
    }
    args.extend(SLURM.map(String::from));
    cluster
        .rewardgen(&refs(&args))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// Every candidate has its result, and trained each update once (a resumed training went
/// on from its checkpoint, and nothing was trained twice).
fn assert_each_candidate_trained_once(run: &Path) {
    let store = Store::open(&run.join("evolve.db")).unwrap();
    for candidate in store.candidates().unwrap() {
        assert!(candidate.status.has_fitness(), "{candidate:?}");
        let steps = logged_steps(&run.join(candidate.run_dir.as_deref().unwrap()));
        let expected: Vec<u64> = (1..=steps.len() as u64).map(|k| k * 512).collect();
        assert_eq!(steps, expected, "candidate {}", candidate.id);
    }
    assert!(run.join("report.md").exists());
}

/// The env steps of each row of a run directory's `metrics.jsonl`.
fn logged_steps(dir: &Path) -> Vec<u64> {
    std::fs::read_to_string(dir.join("metrics.jsonl"))
        .unwrap_or_default()
        .lines()
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l).unwrap()["global_step"]
                .as_f64()
                .unwrap() as u64
        })
        .collect()
}

#[test]
fn a_slurm_run_trains_each_rung_as_a_job_array_and_matches_a_local_run() {
    let Some(cluster) = Cluster::start("same", 6910) else {
        return;
    };
    let dir = cluster.root.clone();
    let local = dir.join("local");
    run_to_end(cluster.rewardgen(&refs(&evolve_args(&local, "2048"))));
    let slurm = dir.join("slurm");
    let mut args = evolve_args(&slurm, "2048");
    args.extend(SLURM.map(String::from));
    let output = run_to_end(cluster.rewardgen(&refs(&args)));
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(text.contains("as Slurm job arrays"), "{text}");
    // The same candidates, statuses, rungs and fitness as the local executor's.
    assert_eq!(candidates(&slurm), candidates(&local));
    let finals = |run: &Path| -> Vec<(String, u64, Status, Option<f64>)> {
        Store::open(&run.join("evolve.db"))
            .unwrap()
            .final_runs()
            .unwrap()
            .into_iter()
            .map(|r| (r.label, r.seed, r.status, r.fitness))
            .collect()
    };
    assert_eq!(finals(&slurm), finals(&local));
    assert_eq!(finals(&slurm).len(), 3);
    // One array per batch: both candidates at rung 0, the promoted one at rung 1, the three
    // final runs; each array task trained one run directory.
    let batches = [("g0-r0", 2), ("g0-r1", 1), ("final", 3)];
    for (batch, tasks) in batches {
        let arrays = submissions(&slurm, batch);
        assert_eq!(arrays.len(), 1, "{batch}: {arrays:?}");
        let (job, dirs) = &arrays[0];
        assert_eq!(dirs.len(), tasks, "{batch}");
        let script =
            std::fs::read_to_string(slurm.join(format!("slurm/{batch}-0.sbatch"))).unwrap();
        assert!(
            script.contains(&format!("#SBATCH --array=0-{}\n", tasks - 1)),
            "{script}"
        );
        // Slurm's own record: every task of the array completed.
        let shown = cluster.client("scontrol", &["--oneliner", "show", "job", job]);
        let states: Vec<&str> = shown
            .lines()
            .filter_map(|l| {
                l.split_whitespace()
                    .find_map(|w| w.strip_prefix("JobState="))
            })
            .collect();
        assert_eq!(states, vec!["COMPLETED"; tasks], "{batch}: {shown}");
        if cluster.accounting() {
            // Accounting lags the queue a little.
            let expected: Vec<String> =
                (0..tasks).map(|t| format!("{job}_{t}|COMPLETED")).collect();
            let deadline = Instant::now() + Duration::from_secs(30);
            loop {
                let listed = cluster.client(
                    "sacct",
                    &[
                        "--noheader",
                        "--parsable2",
                        "--allocations",
                        "--jobs",
                        job,
                        "--format=JobID,State",
                    ],
                );
                let mut rows: Vec<String> = listed.lines().map(str::to_string).collect();
                rows.sort();
                if rows == expected {
                    break;
                }
                assert!(Instant::now() < deadline, "sacct for {batch}: {listed}");
                std::thread::sleep(Duration::from_millis(500));
            }
        }
        for (task, dir) in dirs.iter().enumerate() {
            let exit = std::fs::read_to_string(slurm.join(dir).join("slurm-exit")).unwrap();
            let expected = format!("{job} {task} 0");
            // The candidate promoted past rung 0 was trained on by a later array.
            if batch != "g0-r0" {
                assert_eq!(exit.trim(), expected, "{dir}");
            }
        }
    }
    let report = std::fs::read_to_string(slurm.join("report.md")).unwrap();
    assert!(report.contains("Compute saved: 37.5%"), "{report}");
    assert!(cluster.queue().is_empty());
}

#[test]
fn a_cancelled_job_is_recorded_as_crashed_with_slurms_state_and_the_run_goes_on() {
    let Some(cluster) = Cluster::start("cancel", 6920) else {
        return;
    };
    let run = cluster.root.join("run");
    let mut loop_ = start_loop(&cluster, &run, "20480", None);
    let task = wait_for_running_task(&cluster, &run, "g0-r0", &mut loop_);
    cluster.client("scancel", &[&task]);
    let output = loop_.wait_with_output().unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let store = Store::open(&run.join("evolve.db")).unwrap();
    let all: Vec<Candidate> = store.candidates().unwrap();
    let index: usize = task.split('_').nth(1).unwrap().parse().unwrap();
    let (_, dirs) = &submissions(&run, "g0-r0")[0];
    let cancelled = all
        .iter()
        .find(|c| c.run_dir.as_deref() == Some(dirs[index].as_str()))
        .unwrap();
    assert_eq!(cancelled.status, Status::Crashed);
    let note = cancelled.error.as_deref().unwrap_or_default();
    assert!(
        note.contains(&format!("Slurm job {task} ended CANCELLED (exit code")),
        "{note}"
    );
    // The other candidate went on to the top rung, and the report is written.
    assert!(all.iter().any(|c| c.status == Status::Trained));
    assert!(run.join("report.md").exists());
    assert!(cluster.queue().is_empty());
}

#[test]
fn a_loop_killed_with_sigkill_leaves_its_jobs_running_and_resume_adopts_them() {
    let Some(cluster) = Cluster::start("kill", 6930) else {
        return;
    };
    let run = cluster.root.join("run");
    let mut loop_ = start_loop(&cluster, &run, "20480", None);
    let task = wait_for_running_task(&cluster, &run, "g0-r0", &mut loop_);
    loop_.kill().unwrap();
    loop_.wait().unwrap();
    // The jobs outlive the loop.
    let queued = cluster.queue();
    assert!(
        queued.iter().any(|l| l.starts_with(&format!("{task} "))),
        "{queued:?}"
    );
    let before = submissions(&run, "g0-r0");
    assert_eq!(before.len(), 1);

    let resume = run_to_end(cluster.rewardgen(&["evolve", "--resume", run.to_str().unwrap()]));
    let text = String::from_utf8_lossy(&resume.stdout);
    assert!(text.contains("finished"), "{text}");
    // Adopted, not submitted again: still the one array for rung 0.
    assert_eq!(submissions(&run, "g0-r0"), before);
    let scripts = std::fs::read_dir(run.join("slurm"))
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .file_name()
                .to_string_lossy()
                .starts_with("g0-r0-")
        })
        .count();
    assert_eq!(scripts, 1);
    // Nothing trained twice: each candidate logged each update once.
    assert_each_candidate_trained_once(&run);
}

#[test]
fn ctrl_c_cancels_the_jobs_and_resume_submits_them_again_from_their_checkpoints() {
    let Some(cluster) = Cluster::start("interrupt", 6940) else {
        return;
    };
    let run = cluster.root.join("run");
    let mut loop_ = start_loop(&cluster, &run, "20480", None);
    wait_for_running_task(&cluster, &run, "g0-r0", &mut loop_);
    // SAFETY: signals the child this test started.
    unsafe {
        libc::kill(loop_.id() as libc::pid_t, libc::SIGINT);
    }
    let output = loop_.wait_with_output().unwrap();
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{text}");
    assert!(text.contains("stopped; continue with"), "{text}");
    assert_eq!(cluster.queue(), Vec::<String>::new());
    // Both candidates wait to train on; neither is lost or crashed.
    let store = Store::open(&run.join("evolve.db")).unwrap();
    let at_stop = store.candidates().unwrap();
    assert!(
        at_stop.iter().all(|c| c.status == Status::Pending),
        "{at_stop:?}"
    );

    let resume = run_to_end(cluster.rewardgen(&["evolve", "--resume", run.to_str().unwrap()]));
    assert!(String::from_utf8_lossy(&resume.stdout).contains("finished"));
    // Submitted anew, and each training continued from its checkpoint: every update once.
    assert_eq!(submissions(&run, "g0-r0").len(), 1);
    assert_each_candidate_trained_once(&run);
}

#[test]
fn slurm_settings_are_checked_and_need_the_slurm_executor() {
    let dir = scratch_dir("slurm-flags");
    let run = dir.join("run");
    let mut args = evolve_args(&run, "2048");
    args.extend(["--slurm-partition".into(), "gpu".into()]);
    let output = common::rewardgen(&refs(&args));
    let err = common::stderr_of_failure(&output);
    assert!(
        err.contains("--slurm-partition need --executor slurm"),
        "{err}"
    );
    let mut args = evolve_args(&run, "2048");
    args.extend(SLURM.map(String::from));
    args.extend(["--slurm-arg".into(), "qos high".into()]);
    let err = common::stderr_of_failure(&common::rewardgen(&refs(&args)));
    assert!(err.contains("--slurm-arg \"qos high\""), "{err}");
    // The config file's keys, with the line of a bad one.
    let file = dir.join("evolve.toml");
    std::fs::write(
        &file,
        "executor = \"slurm\"\n[slurm]\npartition = \"a\"\ncpus = 4\n",
    )
    .unwrap();
    let mut args = evolve_args(&run, "2048");
    args.extend(["--config".into(), file.to_str().unwrap().into()]);
    let err = common::stderr_of_failure(&common::rewardgen(&refs(&args)));
    assert!(
        err.contains("evolve.toml") && err.contains("line 4") && err.contains("cpus"),
        "{err}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn preempted_tasks_are_submitted_once_more_and_resume_from_their_checkpoints() {
    let Some(cluster) = Cluster::start("preempt", 6950) else {
        return;
    };
    let run = cluster.root.join("run");
    // One rung, long enough for the preemption to catch both candidates training.
    let mut loop_ = start_loop(&cluster, &run, "40960", Some("1"));
    wait_for_running_task(&cluster, &run, "g0-r0", &mut loop_);
    // A job in the higher-priority partition that needs every CPU preempts (cancels) the
    // running tasks; slurm-local.sh's cluster preempts by partition.
    let cpus = std::thread::available_parallelism()
        .unwrap()
        .get()
        .to_string();
    let output = cluster.root.join("urgent.out");
    cluster.client(
        "sbatch",
        &[
            "--partition=urgent",
            "--cpus-per-task",
            &cpus,
            "--output",
            output.to_str().unwrap(),
            "--wrap",
            "sleep 2",
        ],
    );
    let output = loop_.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    assert!(
        stderr.contains("ended PREEMPTED; submitting it once more"),
        "{stderr}"
    );
    // The first array, then the preempted tasks (in one array, or two when the loop saw
    // them end in different looks at the queue), each once.
    let arrays = submissions(&run, "g0-r0");
    let mut again: Vec<&String> = arrays[1..].iter().flat_map(|(_, dirs)| dirs).collect();
    assert!(!again.is_empty(), "{arrays:?}");
    again.sort();
    let resubmitted = again.len();
    again.dedup();
    assert_eq!(again.len(), resubmitted, "{arrays:?}");
    assert!(again.iter().all(|d| arrays[0].1.contains(d)), "{arrays:?}");
    assert_each_candidate_trained_once(&run);
}
