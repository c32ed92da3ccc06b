//! Evolve recovery: does the search search? `rewardgen evolve --env franka-push` with the
//! offline generator starts from a seed library (`--rewards DIR`) that holds only a
//! deliberately weakened push reward: `human.rhai` with term weights cut (`RECOVERY_WEAKEN`:
//! `progress`, the default, 3 → 0.1; `approach`, 1 → 0.1, a term push cannot learn without;
//! `both`, the two at once). The bench prints how much of `human.rhai`'s final success the
//! best reward found recovers (target: at least 70%), from the run's final evaluation, where
//! best, human and sparse each train from scratch on the final seeds at the top rung's
//! budget.
//!
//! Run: `scripts/bench evolve_recovery` (long: a whole evolve run of the default budget).
//! `RECOVERY_BUDGET=quick` runs the quick budget instead, `RECOVERY_SEED=N` sets the seed
//! (default 1), `RECOVERY_WEAKEN` picks the weakening, and `RECOVERY_KEEP=1` keeps the
//! run directory and prints where it is.

use std::path::Path;
use std::process::Command;

/// human.rhai's progress line, and the line weakened to a thirtieth.
const PROGRESS: (&str, &str) = (
    "let progress = -3.0 * goal_dist;",
    "let progress = -0.1 * goal_dist;",
);
/// human.rhai's approach line, and the line weakened to a tenth.
const APPROACH: (&str, &str) = (
    "let approach = -((1.0 - w) * dist(state.ee_pos, contact) + w * around);",
    "let approach = -0.1 * ((1.0 - w) * dist(state.ee_pos, contact) + w * around);",
);

/// Each weakening: its name and the lines of human.rhai it changes.
const WEAKENINGS: [(&str, &[(&str, &str)]); 3] = [
    ("progress", &[PROGRESS]),
    ("approach", &[APPROACH]),
    ("both", &[PROGRESS, APPROACH]),
];

fn main() {
    let budget = std::env::var("RECOVERY_BUDGET").unwrap_or_else(|_| "default".into());
    let seed = std::env::var("RECOVERY_SEED").unwrap_or_else(|_| "1".into());
    let keep = std::env::var_os("RECOVERY_KEEP").is_some();
    let weaken = std::env::var("RECOVERY_WEAKEN").unwrap_or_else(|_| "progress".into());
    let Some(&(_, changes)) = WEAKENINGS.iter().find(|(name, _)| *name == weaken) else {
        eprintln!(
            "evolve_recovery: RECOVERY_WEAKEN must be one of {}, not {weaken:?}",
            WEAKENINGS.map(|(name, _)| name).join(", ")
        );
        std::process::exit(2)
    };
    let root = std::env::temp_dir().join(format!("rewardgen-recovery-{}", std::process::id()));
    let library = root.join("seeds/franka-push");
    std::fs::create_dir_all(&library).expect("the seed library folder can be made");
    let human = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("rewards/franka-push/human.rhai"),
    )
    .expect("rewards/franka-push/human.rhai is readable");
    let mut weakened = human;
    for (line, replacement) in changes {
        assert!(
            weakened.contains(line),
            "human.rhai no longer has the line `{line}` that the weakened reward changes"
        );
        weakened = weakened.replace(line, replacement);
    }
    std::fs::write(library.join("weakened.rhai"), &weakened)
        .expect("the weakened reward can be written");
    let changed: Vec<String> = changes.iter().map(|(_, r)| format!("`{r}`")).collect();
    let run = root.join("run");
    println!(
        "evolve_recovery: franka-push, offline generator, --budget {budget}, seed {seed}, seed library: human.rhai with {}",
        changed.join(" and ")
    );
    let status = Command::new(env!("CARGO_BIN_EXE_rewardgen"))
        .args([
            "evolve",
            "--env",
            "franka-push",
            "--budget",
            &budget,
            "--seed",
            &seed,
        ])
        .arg("--rewards")
        .arg(root.join("seeds"))
        .arg("--out")
        .arg(&run)
        .status()
        .expect("rewardgen runs");
    assert!(status.success(), "rewardgen evolve failed: {status}");
    let store =
        evolve::Store::open(&run.join(evolve::DATABASE_FILE)).expect("the run's store opens");
    let finals = store.final_runs().expect("the final runs read back");
    let mean = |label: &str| -> Option<f64> {
        let values: Vec<f64> = finals
            .iter()
            .filter(|f| f.label == label)
            .filter_map(|f| f.fitness)
            .collect();
        (!values.is_empty()).then(|| values.iter().sum::<f64>() / values.len() as f64)
    };
    let (Some(best), Some(human)) = (mean("best"), mean("human")) else {
        panic!("the final evaluation has no fitness for best or human: {finals:?}");
    };
    println!("  best found: final success {best:.3} (mean over the final seeds)");
    println!("  human.rhai: final success {human:.3}");
    if human > 0.0 {
        println!(
            "  recovered: {:.0}% of human.rhai's final success (target at least 70%)",
            100.0 * best / human
        );
    } else {
        println!("  recovered: undefined, human.rhai's final success is 0");
    }
    if keep {
        println!("  run kept in {}", run.display());
    } else {
        std::fs::remove_dir_all(&root).ok();
    }
}
