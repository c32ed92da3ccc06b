//! `rewardgen doctor`: checks what rewardgen needs and what its optional features use, and
//! prints a table with the fix for each problem.

use anyhow::Result;
use clap::Args;
use std::path::{Path, PathBuf};
use std::time::Duration;

#[derive(Args)]
pub struct DoctorArgs {
    /// The language model settings file evolve would use (see `evolve --llm-config`).
    #[arg(long, value_name = "FILE")]
    llm_config: Option<PathBuf>,
    /// Where runs are written, for the free-space check.
    #[arg(long, value_name = "DIR", default_value = "runs")]
    runs: PathBuf,
}

#[derive(Clone, Copy, PartialEq)]
enum Status {
    Ok,
    /// Optional, and not here: what needs it does not work.
    Missing,
    /// Needed, or configured, and not working.
    Failed,
    /// Not configured: nothing to check.
    Skipped,
}

impl Status {
    fn label(self) -> &'static str {
        match self {
            Status::Ok => "ok",
            Status::Missing => "missing",
            Status::Failed => "FAILED",
            Status::Skipped => "skipped",
        }
    }
}

struct Check {
    name: &'static str,
    status: Status,
    detail: String,
    fix: &'static str,
}

/// LLM endpoints get this long to answer.
const LLM_TIMEOUT: Duration = Duration::from_secs(10);
/// Less free space than this where runs go fails the check (an evolve run takes about 1 GB).
const MIN_FREE_BYTES: u64 = 2 << 30;

pub fn run(args: &DoctorArgs) -> Result<()> {
    let checks = [
        mujoco(),
        offscreen(),
        ffmpeg(),
        display(),
        language_model(args.llm_config.as_deref()),
        disk(&args.runs),
        cores(),
    ];
    let width = checks.iter().map(|c| c.name.len()).max().unwrap_or(0);
    for check in &checks {
        println!(
            "{:<width$}  {:<7}  {}",
            check.name,
            check.status.label(),
            check.detail
        );
        if !matches!(check.status, Status::Ok | Status::Skipped) {
            println!("{:<width$}  {:<7}  fix: {}", "", "", check.fix);
        }
    }
    let failed: Vec<&str> = checks
        .iter()
        .filter(|c| c.status == Status::Failed)
        .map(|c| c.name)
        .collect();
    if !failed.is_empty() {
        anyhow::bail!("doctor: {} failed", failed.join(", "));
    }
    Ok(())
}

fn mujoco() -> Check {
    let library = std::fs::read_to_string("/proc/self/maps")
        .ok()
        .and_then(|maps| {
            maps.lines()
                .find(|l| l.contains("libmujoco"))
                .and_then(|l| l.split_whitespace().last().map(str::to_string))
        })
        .unwrap_or_else(|| "loaded".into());
    Check {
        name: "MuJoCo",
        status: Status::Ok,
        detail: format!("{} ({library})", sim::mujoco_version()),
        fix: "scripts/setup-mujoco.sh installs it",
    }
}

fn offscreen() -> Check {
    let (status, detail) = match viewer::offscreen_available() {
        Ok(()) => (
            Status::Ok,
            "EGL renders (render, workbench videos)".to_string(),
        ),
        Err(e) => (
            Status::Missing,
            format!("{e}; render and workbench videos will fail"),
        ),
    };
    Check {
        name: "offscreen rendering",
        status,
        detail,
        fix: "install EGL (Debian: apt-get install libegl1 libegl-mesa0 libgl1-mesa-dri)",
    }
}

fn ffmpeg() -> Check {
    let (status, detail) = match viewer::ffmpeg_version() {
        Some(line) => (Status::Ok, line),
        None => (
            Status::Missing,
            "not on PATH: render writes .gif only, not .mp4 or .webm".into(),
        ),
    };
    Check {
        name: "ffmpeg",
        status,
        detail,
        fix: "install ffmpeg (Debian: apt-get install ffmpeg)",
    }
}

fn display() -> Check {
    let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
    let (status, detail) = match (var("WAYLAND_DISPLAY"), var("DISPLAY")) {
        (Some(wayland), _) => (Status::Ok, format!("WAYLAND_DISPLAY={wayland}")),
        (None, Some(x)) => {
            let number = x
                .rsplit(':')
                .next()
                .unwrap_or("")
                .split('.')
                .next()
                .unwrap_or("");
            let socket = Path::new("/tmp/.X11-unix").join(format!("X{number}"));
            if x.starts_with(':') && !socket.exists() {
                (
                    Status::Missing,
                    format!(
                        "DISPLAY={x}, but no X server listens at {}",
                        socket.display()
                    ),
                )
            } else {
                (Status::Ok, format!("DISPLAY={x}"))
            }
        }
        (None, None) => (
            Status::Missing,
            "DISPLAY and WAYLAND_DISPLAY are not set: replay needs a window".into(),
        ),
    };
    Check {
        name: "display",
        status,
        detail,
        fix: "run replay in a desktop session or under xvfb-run; without one use render or view",
    }
}

fn language_model(file: Option<&Path>) -> Check {
    let fix = "check base_url and the key (OPENAI_API_KEY, REWARDGEN_LLM_BASE_URL or \
               --llm-config; see the README's Using a language model)";
    let configured =
        file.is_some() || std::env::var_os(llm::ENV_BASE_URL).is_some_and(|v| !v.is_empty());
    let check = |status, detail| Check {
        name: "language model",
        status,
        detail,
        fix,
    };
    if !configured {
        return check(
            Status::Skipped,
            format!(
                "not configured (the offline generator needs none; set {} or pass --llm-config)",
                llm::ENV_BASE_URL
            ),
        );
    }
    let config = match llm::LlmConfig::resolve(file) {
        Ok(config) => config,
        Err(e) => return check(Status::Failed, e.to_string()),
    };
    let key = if config.api_key.is_some() {
        "with a key"
    } else {
        "without a key"
    };
    match llm::probe_models(&config, LLM_TIMEOUT) {
        Ok(n) => check(
            Status::Ok,
            format!("{} lists {n} models ({key})", config.base_url),
        ),
        Err(e) => check(Status::Failed, format!("{e} ({key})")),
    }
}

/// Free bytes on the file system holding `dir` (or the nearest folder above it that exists).
fn free_bytes(dir: &Path) -> Option<u64> {
    let absolute = std::path::absolute(dir).ok()?;
    let existing = absolute.ancestors().find(|p| p.exists())?;
    let path = std::ffi::CString::new(existing.as_os_str().as_encoded_bytes()).ok()?;
    // SAFETY: `path` is NUL-terminated and `stats` a valid out-pointer.
    let mut stats: libc::statvfs = unsafe { std::mem::zeroed() };
    if unsafe { libc::statvfs(path.as_ptr(), &mut stats) } != 0 {
        return None;
    }
    Some(stats.f_bavail as u64 * stats.f_frsize as u64)
}

fn disk(runs: &Path) -> Check {
    let gib = |b: u64| b as f64 / (1u64 << 30) as f64;
    let (status, detail) = match free_bytes(runs) {
        Some(free) if free < MIN_FREE_BYTES => (
            Status::Failed,
            format!(
                "{:.1} GiB free for {}; an evolve run takes about 1 GiB",
                gib(free),
                runs.display()
            ),
        ),
        Some(free) => (
            Status::Ok,
            format!("{:.1} GiB free for {}", gib(free), runs.display()),
        ),
        None => (
            Status::Failed,
            format!("cannot read the free space for {}", runs.display()),
        ),
    };
    Check {
        name: "disk space",
        status,
        detail,
        fix: "free some space, or write runs elsewhere with --out",
    }
}

fn cores() -> Check {
    let n = std::thread::available_parallelism().map_or(1, |n| n.get());
    Check {
        name: "cores",
        status: Status::Ok,
        detail: format!("{n}: evolve trains {n} candidates at once (--jobs)"),
        fix: "",
    }
}
