//! `rewardgen evolve`, `runs` and `show`, as a user runs them: the language-model path against
//! an OpenAI-compatible server on 127.0.0.1, replay, and kill-and-resume.

mod common;

use common::{TINY, rewardgen, scratch_dir, stdout};
use evolve::{Status, Store};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const API_KEY: &str = "sk-test-NEVER-STORE-THIS-7731";

/// One scripted HTTP answer.
struct Answer {
    status: u16,
    headers: &'static str,
    body: String,
}

fn chat_reply(text: &str) -> Answer {
    let body = serde_json::json!({
        "id": "test",
        "object": "chat.completion",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 100, "completion_tokens": 20, "total_tokens": 120}
    });
    Answer {
        status: 200,
        headers: "",
        body: body.to_string(),
    }
}

/// An OpenAI-compatible server on 127.0.0.1 that answers from a script and records every
/// request (authorization header and body).
struct FakeLlm {
    url: String,
    requests: Arc<Mutex<Vec<(String, String)>>>,
}

impl FakeLlm {
    fn start(script: Vec<Answer>) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/v1", listener.local_addr().unwrap());
        let requests = Arc::new(Mutex::new(Vec::new()));
        let seen = requests.clone();
        std::thread::spawn(move || {
            let mut script = script.into_iter();
            for stream in listener.incoming() {
                let Ok(stream) = stream else { continue };
                let (auth, body) = read_request(&stream);
                seen.lock().unwrap().push((auth, body));
                let answer = script.next().unwrap_or(Answer {
                    status: 400,
                    headers: "",
                    body: r#"{"error":{"message":"the test script ran out of replies"}}"#.into(),
                });
                let reason = match answer.status {
                    200 => "OK",
                    429 => "Too Many Requests",
                    500 => "Internal Server Error",
                    _ => "Bad Request",
                };
                let mut stream = stream;
                let _ = write!(
                    stream,
                    "HTTP/1.1 {} {reason}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n{}Connection: close\r\n\r\n{}",
                    answer.status,
                    answer.body.len(),
                    answer.headers,
                    answer.body
                );
            }
        });
        Self { url, requests }
    }

    fn bodies(&self) -> Vec<String> {
        self.requests
            .lock()
            .unwrap()
            .iter()
            .map(|(_, b)| b.clone())
            .collect()
    }
}

fn read_request(stream: &TcpStream) -> (String, String) {
    let mut reader = BufReader::new(stream);
    let mut length = 0;
    let mut auth = String::new();
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
            break;
        }
        let lower = line.to_ascii_lowercase();
        if let Some(v) = lower.strip_prefix("content-length:") {
            length = v.trim().parse().unwrap_or(0);
        }
        if lower.starts_with("authorization:") {
            auth = line.trim().to_string();
        }
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body).unwrap();
    (auth, String::from_utf8(body).unwrap())
}

fn program(text: &str) -> String {
    format!("Here is my reward.\n\n```rhai\n{text}\n```\n")
}

const VALID: &str = "let d = dist(state.ee_pos, state.goal_pos);\n\
                     let distance = -d;\n\
                     let effort = -0.01 * dot(state.action, state.action);\n\
                     [distance + effort, #{distance: distance, effort: effort}]";

/// Every file under `dir`, recursively.
fn files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(files(&path));
        } else {
            out.push(path);
        }
    }
    out
}

#[test]
fn the_language_model_path_end_to_end_then_replay() {
    let broken = "let d = dist(state.ee_pos, state.goal_pos;\n[-d, #{d: -d}]";
    let server = FakeLlm::start(vec![
        // Generation 0: a syntax error, then (after a 500) a valid program.
        chat_reply(&program(broken)),
        Answer {
            status: 500,
            headers: "",
            body: r#"{"error":{"message":"overloaded"}}"#.into(),
        },
        chat_reply(&program(VALID)),
        // Generation 1: (after a 429) a reply with no code, then a valid program.
        Answer {
            status: 429,
            headers: "Retry-After: 0\r\n",
            body: r#"{"error":{"message":"slow down"}}"#.into(),
        },
        chat_reply("I believe the current reward is already good."),
        chat_reply(&program(&VALID.replace("-0.01", "-0.02"))),
    ]);
    let dir = scratch_dir("evolve-llm");
    let config = dir.join("llm.toml");
    std::fs::write(
        &config,
        "retry_base_secs = 0.01\ntimeout_secs = 30\n\n[price]\ninput_per_million = 2.0\noutput_per_million = 10.0\n",
    )
    .unwrap();
    let run = dir.join("run");
    let mut args = vec![
        "evolve",
        "--env",
        "franka-reach",
        "--llm",
        "openai",
        "--model",
        "test-model",
        "--llm-config",
        config.to_str().unwrap(),
        "--samples",
        "1",
        "--generations",
        "2",
        "--out",
        run.to_str().unwrap(),
    ];
    args.extend(TINY);
    let output = Command::new(env!("CARGO_BIN_EXE_rewardgen"))
        .args(&args)
        .env("REWARDGEN_LLM_BASE_URL", &server.url)
        .env("OPENAI_API_KEY", API_KEY)
        .env_remove("REWARDGEN_LLM_MODEL")
        .output()
        .unwrap();
    let text = stdout(&output);
    assert!(text.contains("language model test-model"), "{text}");

    let bodies = server.bodies();
    assert_eq!(bodies.len(), 6, "3 samples, one 500 and one 429 retried");
    assert!(
        server
            .requests
            .lock()
            .unwrap()
            .iter()
            .all(|(auth, _)| auth.ends_with(API_KEY))
    );
    // The 500 was retried with the same request.
    assert_eq!(bodies[1], bodies[2]);
    // The retry after the syntax error carries the error with its line and column.
    let error_at = bodies[1]
        .find("g0-s0-a0.rhai:")
        .expect("the error names the file");
    let position: String = bodies[1][error_at + "g0-s0-a0.rhai:".len()..]
        .chars()
        .take_while(|c| c.is_ascii_digit() || *c == ':')
        .collect();
    let parts: Vec<&str> = position.split(':').collect();
    assert!(
        parts.len() >= 2 && parts[0] == "1" && parts[1].parse::<u32>().unwrap() > 0,
        "line and column: {position}"
    );
    assert!(bodies[1].contains("syntax"), "{}", bodies[1]);
    assert!(bodies[1].contains("let d = dist(state.ee_pos, state.goal_pos;"));
    assert!(!bodies[0].contains("g0-s0-a0.rhai"));
    // Generation 1's prompt carries the trained program and its reflection.
    assert_eq!(bodies[3], bodies[4]);
    for needle in [
        "Values at",
        "distance: [",
        "Max:",
        "success_rate: [",
        "episode_length: [",
    ] {
        assert!(bodies[3].contains(needle), "no '{needle}' in {}", bodies[3]);
    }
    assert!(bodies[3].contains("let effort = -0.01 * dot(state.action, state.action);"));
    // The reply with no code was answered, and the next sample passed.
    assert!(bodies[5].contains("has no code block"), "{}", bodies[5]);

    let store = Store::open(&run.join("evolve.db")).unwrap();
    let statuses: Vec<Status> = store
        .candidates()
        .unwrap()
        .iter()
        .map(|c| c.status)
        .collect();
    assert_eq!(statuses.len(), 4);
    assert_eq!(statuses[0], Status::FailedCheck);
    assert!(statuses[1].has_fitness());
    assert_eq!(statuses[2], Status::NoCode);
    assert!(statuses[3].has_fitness());
    let calls = store.llm_calls().unwrap();
    assert_eq!(calls.len(), 4);
    assert_eq!(calls[1].attempts, 2);
    assert!(calls.iter().all(|c| c.prompt_tokens == 100));

    let report = std::fs::read_to_string(run.join("report.md")).unwrap();
    for needle in [
        "best found (best.rhai)",
        "human (human.rhai)",
        "sparse (sparse.rhai)",
        "Human-normalized score",
        "**Verdict:**",
        "Tokens: 400 prompt + 80 completion = 480",
        // 400 × $2 + 80 × $10 per million tokens.
        "Estimated cost: $0.0016",
        "failed_check",
        "no_code",
        // One sample a generation: it is promoted to the top rung, ceil(1 / 4) = 1.
        "| 0 | 512 | 2 | 2 |",
        "| 1 | 2,048 | 2 | 2 |",
        "Compute saved: 0.0% (4,096 env steps trained by 2 candidates",
        "The generator recorded no operators",
    ] {
        assert!(
            report.contains(needle),
            "no '{needle}' in report.md:\n{report}"
        );
    }
    assert!(run.join("best.rhai").exists());
    assert!(
        run.join("best-policy/checkpoints/latest/model.bpk")
            .exists()
    );
    for png in ["evolution.png", "final-curves.png"] {
        assert!(
            std::fs::read(run.join(png))
                .unwrap()
                .starts_with(b"\x89PNG")
        );
    }
    // The API key is written nowhere in the run.
    for file in files(&run) {
        let bytes = std::fs::read(&file).unwrap();
        assert!(
            !bytes
                .windows(API_KEY.len())
                .any(|w| w == API_KEY.as_bytes()),
            "the API key is in {}",
            file.display()
        );
    }

    // `runs` and `show` read it back.
    let listed = stdout(&rewardgen(&["runs", dir.to_str().unwrap()]));
    assert!(
        listed.contains("franka-reach") && listed.contains("finished"),
        "{listed}"
    );
    let shown = stdout(&rewardgen(&["show", run.to_str().unwrap()]));
    assert!(
        shown.contains("| failed_check |") && shown.contains("elite: candidate"),
        "{shown}"
    );

    // Replay reproduces the run's programs without the language model.
    let replayed = dir.join("replayed");
    let mut args = vec![
        "evolve",
        "--env",
        "franka-reach",
        "--llm",
        "replay",
        "--replay",
        run.to_str().unwrap(),
        "--samples",
        "1",
        "--generations",
        "2",
        "--out",
        replayed.to_str().unwrap(),
    ];
    args.extend(TINY);
    stdout(&rewardgen(&args));
    let again = Store::open(&replayed.join("evolve.db")).unwrap();
    let codes = |s: &Store| -> Vec<(Option<String>, Status)> {
        s.candidates()
            .unwrap()
            .into_iter()
            .map(|c| (c.code, c.status))
            .collect()
    };
    assert_eq!(codes(&store), codes(&again));
    std::fs::remove_dir_all(&dir).unwrap();
}

/// The env steps of each row of a candidate's `metrics.jsonl`.
fn logged_steps(run: &Path, id: i64) -> Vec<f64> {
    std::fs::read_to_string(run.join(format!("candidates/c{id:04}/metrics.jsonl")))
        .unwrap_or_default()
        .lines()
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l).unwrap()["global_step"]
                .as_f64()
                .unwrap()
        })
        .collect()
}

#[test]
fn a_killed_run_resumes_mid_rung_without_retraining_and_reports_its_schedule() {
    let dir = scratch_dir("evolve-kill");
    let run = dir.join("run");
    let mut args = vec![
        "evolve",
        "--env",
        "franka-reach",
        "--samples",
        "2",
        "--generations",
        "2",
        "--out",
        run.to_str().unwrap(),
    ];
    args.extend(TINY);
    args.extend(["--jobs", "1"]);
    let mut child = Command::new(env!("CARGO_BIN_EXE_rewardgen"))
        .args(&args)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // Kill it once both candidates of generation 0 have finished rung 0 (one update of 512
    // steps) and the promoted one is training on to rung 1.
    let deadline = Instant::now() + Duration::from_secs(300);
    let both_at_rung_0 = || {
        Store::open(&run.join("evolve.db"))
            .and_then(|s| s.generation_candidates(0))
            .is_ok_and(|c| c.len() == 2 && c.iter().all(|c| c.rung == Some(0)))
    };
    loop {
        assert!(Instant::now() < deadline, "the run never got going");
        assert!(
            child.try_wait().unwrap().is_none(),
            "the run ended before the kill"
        );
        let resumed = [1, 2].iter().any(|id| logged_steps(&run, *id).len() >= 2);
        if resumed && both_at_rung_0() {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    // SIGKILL: no cleanup at all.
    child.kill().unwrap();
    child.wait().unwrap();
    let store = Store::open(&run.join("evolve.db")).unwrap();
    let at_kill = store.generation_candidates(0).unwrap();
    let promoted = at_kill
        .iter()
        .find(|c| c.status == Status::Pending)
        .expect("the promoted candidate was training")
        .id;
    let stopped = at_kill
        .iter()
        .find(|c| c.status == Status::Stopped)
        .expect("the other stopped at rung 0");
    assert_eq!((stopped.rung, stopped.steps), (Some(0), 512));
    assert_eq!(stopped.rung_results.len(), 1);
    let stopped_metrics = run.join(format!("candidates/c{:04}/metrics.jsonl", stopped.id));
    let before = std::fs::read_to_string(&stopped_metrics).unwrap();
    let modified = std::fs::metadata(&stopped_metrics)
        .unwrap()
        .modified()
        .unwrap();
    // `show` tells how far the killed run got: both candidates of generation 0 have their
    // rung-0 result, no final run, part of the 2 × (2 × 512 + 1 × 1536) + 3 × 1 × 2048 steps.
    let shown = stdout(&rewardgen(&["show", run.to_str().unwrap()]));
    assert!(
        shown.contains("candidates 2/4, final runs 0/3") && shown.contains("/11,264 ("),
        "{shown}"
    );
    assert!(shown.contains("not finished"), "{shown}");

    let output = rewardgen(&["evolve", "--resume", run.to_str().unwrap()]);
    let text = stdout(&output);
    assert!(text.contains("finished"), "{text}");
    assert!(text.contains("Compute saved: 37.5%"), "{text}");
    let candidates = store.candidates().unwrap();
    assert_eq!(
        candidates.len(),
        4,
        "2 samples × 2 generations, none lost or doubled"
    );
    // Each generation: one candidate trained to the top rung, the other stopped at rung 0.
    for generation in [0, 1] {
        let mut statuses: Vec<(Status, Option<u32>)> = candidates
            .iter()
            .filter(|c| c.generation == generation)
            .map(|c| (c.status, c.rung))
            .collect();
        statuses.sort_by_key(|(s, _)| s.as_str());
        assert_eq!(
            statuses,
            vec![(Status::Stopped, Some(0)), (Status::Trained, Some(1))],
            "generation {generation}"
        );
    }
    let top = candidates.iter().find(|c| c.id == promoted).unwrap();
    assert_eq!(top.status, Status::Trained);
    assert_eq!(
        top.rung_results.iter().map(|r| r.steps).collect::<Vec<_>>(),
        vec![512, 2048]
    );
    // The stopped candidate was not trained again.
    assert_eq!(std::fs::read_to_string(&stopped_metrics).unwrap(), before);
    assert_eq!(
        std::fs::metadata(&stopped_metrics)
            .unwrap()
            .modified()
            .unwrap(),
        modified
    );
    // The promoted one continued from its checkpoint to the top rung, each update once.
    assert_eq!(
        logged_steps(&run, promoted),
        vec![512.0, 1024.0, 1536.0, 2048.0]
    );
    // The elite of generation 1 is a top-rung candidate, ranked above any stopped one.
    let elite = store.finished_generations().unwrap()[1].1.unwrap();
    assert_eq!(store.candidate(elite).unwrap().status, Status::Trained);
    // The report's schedule: 4 candidates at 512, 2 resumed to 2048; 2 × 512 + 2 × 2048 of
    // 4 × 2048 candidate steps trained.
    let report = std::fs::read_to_string(run.join("report.md")).unwrap();
    for needle in [
        "## Schedule",
        "Successive halving with eta 4",
        "| 0 | 512 | 4 | 4 |",
        "| 1 | 2,048 | 2 | 2 |",
        "Compute saved: 37.5% (5,120 env steps trained by 4 candidates, against 8,192 had each \
         trained to the top rung's 2,048)",
        "over the candidates that reached the top rung: n/a (2 candidates reached the top rung; \
         it needs 3)",
        "rungs of 512 / 2,048 env steps (eta 4)",
        "| stopped | 0 |",
        "| trained | 1 |",
        "## Generator operators",
        "| operator | candidates | trained to the top rung | new elites |",
    ] {
        assert!(
            report.contains(needle),
            "no '{needle}' in report.md:\n{report}"
        );
    }
    // Every offline candidate records the operators that made it, and the report counts
    // each new elite's.
    assert!(candidates.iter().all(|c| !c.operators.is_empty()));
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(run.join("report.json")).unwrap()).unwrap();
    let credited: u64 = json["operators"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["new_elites"].as_u64().unwrap())
        .sum();
    assert!(credited >= 1, "{}", json["operators"]);
    assert_eq!(json["schedule"]["savings"]["trained_steps"], 5120);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn show_prints_the_candidates_and_the_step_budget_of_a_finished_run() {
    let dir = scratch_dir("evolve-show");
    let run = dir.join("run");
    let mut args = vec![
        "evolve",
        "--env",
        "franka-reach",
        "--samples",
        "1",
        "--generations",
        "1",
        "--out",
        run.to_str().unwrap(),
    ];
    args.extend(TINY);
    stdout(&rewardgen(&args));
    let shown = stdout(&rewardgen(&["show", run.to_str().unwrap()]));
    // 1 candidate and 3 rewards × 1 seed final runs, 2048 steps each.
    for needle in [
        "candidates 1/1, final runs 3/3 (1 sample × 1 generation; 3 rewards × 1 seed)",
        "steps 8,192/8,192 (100%) (rungs of 512 / 2,048 env steps (eta 4), final evaluation \
         included)",
        "finished, took ",
    ] {
        assert!(shown.contains(needle), "no '{needle}' in:\n{shown}");
    }
    assert!(!shown.contains("not finished"), "{shown}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn bad_evolve_arguments_are_clear_errors() {
    let dir = scratch_dir("evolve-bad");
    let out = dir.join("run");
    let cases: [(&[&str], &str); 4] = [
        (&["evolve", "--env", "no-such-env"], "no-such-env"),
        (
            &["evolve", "--env", "franka-reach", "--llm", "replay"],
            "--replay RUN",
        ),
        (
            &["evolve", "--resume", "/nonexistent/run"],
            "not an evolve run",
        ),
        (
            &["evolve", "--env", "franka-reach", "--samples", "0"],
            "--samples must be at least 1",
        ),
    ];
    for (args, needle) in cases {
        let mut args = args.to_vec();
        args.extend(["--out", out.to_str().unwrap()]);
        if args.contains(&"--resume") {
            args.truncate(3);
        }
        let output = rewardgen(&args);
        let err = common::stderr_of_failure(&output);
        assert!(err.contains(needle), "{args:?}: {err}");
        assert!(!err.contains("panicked"), "{err}");
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn feedback_reaches_the_next_generations_prompt() {
    let dir = scratch_dir("evolve-feedback");
    let run = dir.join("run");
    let mut args = vec![
        "evolve",
        "--env",
        "franka-reach",
        "--samples",
        "1",
        "--generations",
        "2",
        "--feedback",
        "mind the effort",
        "--interactive",
        "--out",
        run.to_str().unwrap(),
    ];
    args.extend(TINY);
    let mut child = Command::new(env!("CARGO_BIN_EXE_rewardgen"))
        .args(&args)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"reach faster please\n")
        .unwrap();
    let output = child.wait_with_output().unwrap();
    let text = stdout(&output);
    assert!(text.contains("feedback for the next generation"), "{text}");
    assert!(text.contains("Elite: candidate 1"), "{text}");
    // Each generation's elite is rendered, where the machine can render (EGL).
    assert!(
        run.join("videos/generation-0.gif").exists() || text.contains("no elite video"),
        "{text}"
    );
    let store = Store::open(&run.join("evolve.db")).unwrap();
    let candidates = store.candidates().unwrap();
    let prompt = |g: u32| {
        candidates
            .iter()
            .find(|c| c.generation == g)
            .map(|c| c.prompt.clone())
            .unwrap()
    };
    assert!(prompt(0).contains("mind the effort") && !prompt(0).contains("reach faster"));
    assert!(prompt(1).contains("reach faster please") && !prompt(1).contains("mind the effort"));
    // The offline generator is named as such in the run and its report.
    let report = std::fs::read_to_string(run.join("report.md")).unwrap();
    assert!(
        report.contains("offline generator (no language model)"),
        "{report}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn the_offline_main_job_runs_from_a_directory_outside_the_checkout_with_both_baselines() {
    // A folder with no rewards/ in it: the binary brings its own hand-written programs.
    let here = std::env::temp_dir().join(format!("rewardgen-elsewhere-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&here);
    std::fs::create_dir_all(&here).unwrap();
    assert!(!here.join("rewards").exists());
    let mut args = vec![
        "evolve",
        "--env",
        "franka-reach",
        "--samples",
        "2",
        "--generations",
        "1",
    ];
    args.extend_from_slice(&TINY[..TINY.len() - 2]);
    args.extend_from_slice(&["--out", "run"]);
    stdout(&common::rewardgen_in(&here, &args));
    let report = std::fs::read_to_string(here.join("run/report.md")).unwrap();
    for needle in ["human (human.rhai)", "sparse (sparse.rhai)", "**Verdict:**"] {
        assert!(
            report.contains(needle),
            "no '{needle}' in report.md:\n{report}"
        );
    }
    assert!(!report.contains("Not evaluated"), "{report}");
    // An explicit folder without the env's programs is a seed library of nothing.
    let empty = here.join("empty");
    std::fs::create_dir_all(&empty).unwrap();
    let output = common::rewardgen_in(
        &here,
        &[
            "evolve",
            "--env",
            "franka-reach",
            "--rewards",
            "empty",
            "--out",
            "run2",
        ],
    );
    let err = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{err}");
    assert!(err.contains("--rewards DIR"), "{err}");
}
