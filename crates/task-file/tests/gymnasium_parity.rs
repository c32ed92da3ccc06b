//! Gymnasium parity: the task files `assets/tasks/gymnasium/hopper-v5.toml` and `ant-v5.toml`
//! with their `human.rhai` reward, stepped side by side with Gymnasium 1.2.1's own Hopper-v5
//! and Ant-v5 (`scripts/gymnasium-trajectory.py`, run with `.test-venv/bin/python`). Each case
//! resets both, copies Gymnasium's initial state into the task file's env (`set_state`: the
//! two draw their reset noise from different generators), steps the same actions, and checks
//! every step: `qpos` and `qvel` within 1e-9, the observation within 1e-9, the reward within
//! 1e-6, and the episode terminating (or being truncated) at the same step.
//!
//! Needs `.test-venv` (scripts/test-venv.sh) and Gymnasium's models in `.testdata/`
//! (scripts/fetch-testdata.sh); `scripts/test` installs both, and without them the test skips
//! visibly.
//!
//! Both sides run the same libmujoco 3.17.0, so the states agree bit for bit (the largest
//! errors seen are 0 for qpos, qvel and observations, and under 1e-15 for rewards, whose sums
//! run in another order). That needs serde_json's `float_roundtrip`: its default float
//! parser can be one ulp off, and a one-ulp difference in the initial state grew past 1e-9
//! within 80 Ant steps.

use envs::{EnvOptions, TaskEnv};
use reward_dsl::{Limits, RewardEnv, RewardProgram};
use rl_env::{Env, Wrapper};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;
use task_file::TaskFileEnv;

const STATE_TOLERANCE: f64 = 1e-9;
const REWARD_TOLERANCE: f64 = 1e-6;

/// One side-by-side run.
struct Case {
    /// Gymnasium's id.
    gym_id: &'static str,
    /// The task file's name in `assets/tasks/gymnasium/`, also its rewards folder.
    task: &'static str,
    xml: &'static str,
    seed: u64,
    steps: usize,
    /// Actions are uniform in the action space times this; above 1 some fall outside it.
    action_scale: f64,
    /// How the Gymnasium episode is known to end, so that a reference that stopped
    /// terminating (other actions, another Gymnasium) is noticed rather than testing less.
    ends: End,
}

/// Counts the steps of a reference where the observation's clip changed a value, so that
/// each test knows its clipping was exercised.
type ClipCount = fn(&Value) -> usize;

#[derive(Debug, Clone, Copy, PartialEq)]
enum End {
    Terminated,
    Truncated,
}

/// Gymnasium's `info` keys for the reward terms, and the components `human.rhai` names them.
const COMPONENTS: [(&str, &str); 4] = [
    ("reward_forward", "reward/forward"),
    ("reward_survive", "reward/healthy"),
    ("reward_ctrl", "reward/ctrl_cost"),
    ("reward_contact", "reward/contact_cost"),
];

fn repo() -> PathBuf {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    std::fs::canonicalize(&repo).unwrap_or(repo)
}

/// Runs the Python reference for `case`; `None` (after a visible skip) when it cannot run here.
fn reference(test: &str, case: &Case, out: &Path) -> Option<Value> {
    let repo = repo();
    let python = repo.join(".test-venv/bin/python");
    let xml = repo.join(".testdata/gymnasium").join(case.xml);
    if !xml.is_file() {
        test_skip::skip(
            test,
            &xml.display().to_string(),
            "scripts/fetch-testdata.sh downloads Gymnasium's models",
        );
        return None;
    }
    if !python.exists() {
        test_skip::skip(
            test,
            &python.display().to_string(),
            "scripts/test-venv.sh installs it with gymnasium and mujoco",
        );
        return None;
    }
    let has_gymnasium = Command::new(&python)
        .args(["-c", "import gymnasium.envs.mujoco"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !has_gymnasium {
        // Named by the interpreter, which is there: scripts/check-skips fails this skip in CI.
        test_skip::skip(
            test,
            &python.display().to_string(),
            "it has no gymnasium[mujoco]; scripts/test-venv.sh installs it",
        );
        return None;
    }
    let output = Command::new(&python)
        .arg(repo.join("scripts/gymnasium-trajectory.py"))
        .args(["--env", case.gym_id, "--xml"])
        .arg(&xml)
        .args(["--seed", &case.seed.to_string()])
        .args(["--steps", &case.steps.to_string()])
        .args(["--action-scale", &case.action_scale.to_string()])
        .arg("--out")
        .arg(out)
        .output()
        .expect("the venv's python runs");
    assert!(
        output.status.success(),
        "scripts/gymnasium-trajectory.py failed for {} seed {}:\n{}",
        case.gym_id,
        case.seed,
        String::from_utf8_lossy(&output.stderr)
    );
    let text = std::fs::read_to_string(out).expect("the script writes its JSON");
    Some(serde_json::from_str(&text).expect("the script writes valid JSON"))
}

fn floats(value: &Value, what: &str) -> Vec<f64> {
    value
        .as_array()
        .unwrap_or_else(|| panic!("{what} is an array"))
        .iter()
        .map(|x| {
            x.as_f64()
                .unwrap_or_else(|| panic!("{what} holds numbers, not {x}"))
        })
        .collect()
}

/// The largest errors seen over a run, for the report.
#[derive(Default, Debug)]
struct MaxErrors {
    qpos: f64,
    qvel: f64,
    obs: f64,
    reward: f64,
}

/// Fails with the step, the element and both values when `ours` and `gym` differ by more than
/// `tolerance` anywhere; returns the largest difference.
fn compare(case: &Case, step: usize, what: &str, ours: &[f64], gym: &[f64], tolerance: f64) -> f64 {
    assert_eq!(
        ours.len(),
        gym.len(),
        "{} seed {} step {step}: {what} has {} elements here, {} in Gymnasium",
        case.gym_id,
        case.seed,
        ours.len(),
        gym.len()
    );
    let mut max = 0.0_f64;
    for (i, (a, b)) in ours.iter().zip(gym).enumerate() {
        let error = (a - b).abs();
        assert!(
            error <= tolerance,
            "{} seed {} step {step}: {what}[{i}] is {a:e} here but {b:e} in Gymnasium (off by \
             {error:e}, tolerance {tolerance:e})",
            case.gym_id,
            case.seed
        );
        max = max.max(error);
    }
    max
}

/// Checks one case; returns its largest errors and the reference's steps with a clipped value.
fn run_case(test: &str, case: &Case, clipped: ClipCount) -> Option<(MaxErrors, usize)> {
    let scratch = std::env::temp_dir().join(format!(
        "rewardgen-gym-parity-{}-{}-{}.json",
        std::process::id(),
        case.task,
        case.seed
    ));
    let reference = reference(test, case, &scratch);
    let _ = std::fs::remove_file(&scratch);
    let reference = reference?;

    let tasks = repo().join("assets/tasks/gymnasium");
    let env = TaskFileEnv::open(
        &tasks.join(format!("{}.toml", case.task)),
        &EnvOptions::default(),
    )
    .unwrap_or_else(|e| panic!("{}.toml opens: {e}", case.task));
    let reward_file = tasks.join(case.task).join("human.rhai");
    let source = std::fs::read_to_string(&reward_file).unwrap();
    let program = RewardProgram::compile(
        &source,
        &reward_file.display().to_string(),
        &env.spec().state_schema,
        &Limits::default(),
    )
    .unwrap_or_else(|e| panic!("{} compiles: {e}", reward_file.display()));
    let mut env = RewardEnv::new(env, program);

    let name = format!("{} seed {}", case.gym_id, case.seed);
    let initial = &reference["initial"];
    Env::reset(&mut env, Some(case.seed));
    let first_obs = env.inner_mut().set_state(
        &floats(&initial["qpos"], "initial qpos"),
        &floats(&initial["qvel"], "initial qvel"),
    );
    let mut max = MaxErrors {
        obs: compare(
            case,
            0,
            "observation after reset",
            &first_obs,
            &floats(&initial["obs"], "initial obs"),
            STATE_TOLERANCE,
        ),
        ..MaxErrors::default()
    };

    let steps = reference["steps"].as_array().expect("steps is an array");
    assert!(!steps.is_empty(), "{name}: the reference took no step");
    for (t, expected) in steps.iter().enumerate() {
        let t = t + 1;
        let action = floats(&expected["action"], "action");
        let step = Env::step(&mut env, &action);
        let sim = env.inner().sim().unwrap();
        max.qpos = max.qpos.max(compare(
            case,
            t,
            "qpos",
            sim.qpos(),
            &floats(&expected["qpos"], "qpos"),
            STATE_TOLERANCE,
        ));
        max.qvel = max.qvel.max(compare(
            case,
            t,
            "qvel",
            sim.qvel(),
            &floats(&expected["qvel"], "qvel"),
            STATE_TOLERANCE,
        ));
        max.obs = max.obs.max(compare(
            case,
            t,
            "observation",
            &step.obs,
            &floats(&expected["obs"], "obs"),
            STATE_TOLERANCE,
        ));
        // Each reward term first, so that a wrong total names the term that is off.
        let info = &expected["info"];
        for (gym_key, our_key) in COMPONENTS {
            if let Some(gym) = info.get(gym_key).and_then(Value::as_f64) {
                let ours = step.info.get(our_key).unwrap_or_else(|| {
                    panic!("{name} step {t}: the reward program reports no {our_key}")
                });
                compare(
                    case,
                    t,
                    &format!("{our_key} (Gymnasium's {gym_key})"),
                    &[ours],
                    &[gym],
                    REWARD_TOLERANCE,
                );
            }
        }
        let gym_reward = expected["reward"].as_f64().expect("reward is a number");
        max.reward = max.reward.max(compare(
            case,
            t,
            "reward",
            &[step.reward],
            &[gym_reward],
            REWARD_TOLERANCE,
        ));
        let gym_terminated = expected["terminated"].as_bool().unwrap();
        let gym_truncated = expected["truncated"].as_bool().unwrap();
        assert_eq!(
            (step.terminated, step.truncated),
            (gym_terminated, gym_truncated),
            "{name} step {t}: (terminated, truncated) is {:?} here but {:?} in Gymnasium",
            (step.terminated, step.truncated),
            (gym_terminated, gym_truncated),
        );
    }
    let last = steps.last().unwrap();
    let ended = match case.ends {
        End::Terminated => last["terminated"].as_bool(),
        End::Truncated => last["truncated"].as_bool(),
    };
    assert_eq!(
        ended,
        Some(true),
        "{name}: Gymnasium's episode was expected to end {:?} after {} steps (asked {}); pick \
         another seed or action scale",
        case.ends,
        steps.len(),
        case.steps
    );
    let clipped_steps = steps.iter().filter(|s| clipped(s) > 0).count();
    eprintln!(
        "{name} (action scale {}): {} steps, {:?}, {clipped_steps} with a clipped observation; \
         max errors {max:?}",
        case.action_scale,
        steps.len(),
        case.ends
    );
    Some((max, clipped_steps))
}

/// Runs every case (stopping at a skip) and checks that the observation's clip was exercised.
fn run_cases(test: &str, cases: &[Case], clipped: ClipCount) {
    let mut clipped_steps = 0;
    for case in cases {
        match run_case(test, case, clipped) {
            Some((_, n)) => clipped_steps += n,
            None => return,
        }
    }
    assert!(
        clipped_steps > 0,
        "no reference step had a clipped observation value: the clip went untested"
    );
}

/// Hopper-v5 clips `qvel` to ±10: the steps where Gymnasium's raw `qvel` went past it.
fn hopper_clipped(step: &Value) -> usize {
    floats(&step["qvel"], "qvel")
        .iter()
        .filter(|v| v.abs() > 10.0)
        .count()
}

/// Ant-v5 clips `cfrc_ext` (observation elements 27..105) to ±1: values at exactly ±1.
fn ant_clipped(step: &Value) -> usize {
    floats(&step["obs"], "obs")[27..]
        .iter()
        .filter(|v| v.abs() == 1.0)
        .count()
}

#[test]
fn hopper_v5_matches_gymnasium_step_by_step() {
    let case = |seed, steps, action_scale| Case {
        gym_id: "Hopper-v5",
        task: "hopper-v5",
        xml: "hopper.xml",
        seed,
        steps,
        action_scale,
        ends: End::Terminated,
    };
    run_cases(
        "hopper_v5_matches_gymnasium_step_by_step",
        &[
            // Small actions: it stands for a while, then falls (340 steps).
            case(0, 1000, 0.1),
            case(3, 1000, 0.3),
            // Full-range actions fall within a few dozen steps; 2 × the range is clamped by
            // MuJoCo while the control cost squares the raw action.
            case(1, 1000, 1.0),
            case(2, 1000, 2.0),
            // Saturated (bang-bang) actions: joint speeds pass the observation's ±10 clip on 3
            // of its 12 steps.
            case(21, 1000, 100.0),
        ],
        hopper_clipped,
    );
}

#[test]
fn ant_v5_matches_gymnasium_step_by_step() {
    let case = |seed, steps, action_scale, ends| Case {
        gym_id: "Ant-v5",
        task: "ant-v5",
        xml: "ant.xml",
        seed,
        steps,
        action_scale,
        ends,
    };
    run_cases(
        "ant_v5_matches_gymnasium_step_by_step",
        &[
            // Full-range random actions: it jumps above 1 m and terminates.
            case(0, 1000, 1.0, End::Terminated),
            case(2, 1000, 1.0, End::Terminated),
            // Runs the full 1000 steps, in contact with the floor, to the time limit.
            case(4, 1000, 1.0, End::Truncated),
            // Outside the action space: clamped by MuJoCo, squared raw by the control cost.
            case(3, 1000, 2.0, End::Terminated),
        ],
        ant_clipped,
    );
}
