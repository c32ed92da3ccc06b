//! A run whose files were edited, cut short or replaced: every resume and evaluation is an
//! error naming the file and what is wrong, never a panic inside burn, and a run whose
//! metrics overflowed still reads, redraws its curves and resumes.

use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use trainer::{Run, RunEnd, RunSetup, TrainConfig, TrainError};

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("trainer-damaged-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

fn reach_config(total_steps: u64) -> TrainConfig {
    TrainConfig {
        total_steps,
        num_envs: 2,
        num_steps: 64,
        num_minibatches: 4,
        update_epochs: 1,
        threads: 1,
        ..TrainConfig::default()
    }
}

fn reach_setup(reward: Option<PathBuf>) -> RunSetup {
    RunSetup {
        env: "franka-reach".into(),
        env_options: Default::default(),
        reward_source: reward,
    }
}

/// A finished franka-reach run of one update.
fn trained_run(dir: &Path) -> Run {
    let run = Run::create(dir, reach_setup(None), reach_config(128)).unwrap();
    let stop = AtomicBool::new(false);
    assert_eq!(
        trainer::train(&run, &stop, &mut |_| {}).unwrap(),
        RunEnd::Finished
    );
    run
}

fn latest(dir: &Path) -> PathBuf {
    dir.join("checkpoints/latest")
}

/// The checkpoint error of loading `dir`'s run, as text.
fn load_error(dir: &Path) -> String {
    let run = Run::open(dir).unwrap();
    match run.load_checkpoint() {
        Ok(_) => panic!("the damaged checkpoint in {} loaded", dir.display()),
        Err(e) => e.to_string(),
    }
}

fn edit_state(dir: &Path, edit: impl FnOnce(&mut serde_json::Value)) {
    let path = latest(dir).join("state.json");
    let mut state: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    edit(&mut state);
    std::fs::write(&path, serde_json::to_string(&state).unwrap()).unwrap();
}

#[test]
fn an_edited_state_json_is_named_with_the_mismatch() {
    let dir = scratch("state");
    trained_run(&dir);
    let original = std::fs::read(latest(&dir).join("state.json")).unwrap();
    let restore = || std::fs::write(latest(&dir).join("state.json"), &original).unwrap();

    edit_state(&dir, |s| s["obs_dim"] = 12.into());
    let err = load_error(&dir);
    assert!(
        err.contains(
            "state.json: not a usable checkpoint: obs_dim is 12, but franka-reach observes 9"
        ),
        "{err}"
    );
    restore();
    edit_state(&dir, |s| s["act_dim"] = 7.into());
    assert!(load_error(&dir).contains("act_dim is 7"));
    restore();
    edit_state(&dir, |s| {
        s["obs_norm"]["stats"]["mean"].as_array_mut().unwrap().pop();
    });
    let err = load_error(&dir);
    assert!(
        err.contains("obs_norm.stats.mean has 8 elements, not 9"),
        "{err}"
    );
    restore();
    edit_state(&dir, |s| {
        s["reward_scaler"]["stats"]["var"] = serde_json::json!([1.0, 2.0]);
    });
    assert!(load_error(&dir).contains("reward_scaler.stats.var has 2 elements, not 1"));
    restore();
    std::fs::write(latest(&dir).join("state.json"), "{\"global_step\": ").unwrap();
    let err = load_error(&dir);
    assert!(
        err.contains("state.json: not a usable checkpoint: EOF"),
        "{err}"
    );
    restore();
    assert!(Run::open(&dir).unwrap().load_checkpoint().is_ok());
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_config_whose_network_differs_from_the_checkpoint_is_named() {
    let dir = scratch("hidden");
    trained_run(&dir);
    let config = dir.join("config.toml");
    let text = std::fs::read_to_string(&config).unwrap();
    std::fs::write(&config, text.replace("hidden = 64", "hidden = 32")).unwrap();
    let err = load_error(&dir);
    assert!(
        err.contains("model.bpk: not a usable checkpoint: tensor actor.hidden1.weight has shape [9, 64], but the run's env and hidden = 32 need [9, 32]"),
        "{err}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn cut_garbage_swapped_or_missing_checkpoint_files_are_named() {
    let dir = scratch("files");
    trained_run(&dir);
    let model = latest(&dir).join("model.bpk");
    let optimizer = latest(&dir).join("optimizer.bpk");
    let (model_bytes, optimizer_bytes) = (
        std::fs::read(&model).unwrap(),
        std::fs::read(&optimizer).unwrap(),
    );

    std::fs::write(&model, &model_bytes[..model_bytes.len() / 2]).unwrap();
    let err = load_error(&dir);
    assert!(
        err.contains("model.bpk: not a usable checkpoint: the file is damaged")
            && err.contains("truncated"),
        "{err}"
    );
    std::fs::write(&model, vec![0x5a; 4096]).unwrap();
    assert!(load_error(&dir).contains("model.bpk: not a usable checkpoint: the file is damaged"));
    std::fs::write(&model, &model_bytes).unwrap();

    std::fs::write(&optimizer, &model_bytes).unwrap();
    let err = load_error(&dir);
    assert!(
        err.contains("optimizer.bpk: not a usable checkpoint: tensor")
            && err.contains("is not optimizer state"),
        "{err}"
    );
    std::fs::write(&optimizer, &optimizer_bytes[..100]).unwrap();
    assert!(load_error(&dir).contains("optimizer.bpk: not a usable checkpoint"));
    std::fs::remove_file(&optimizer).unwrap();
    let err = load_error(&dir);
    assert!(
        err.contains("optimizer.bpk: not a usable checkpoint: no such file"),
        "{err}"
    );
    std::fs::write(&optimizer, &optimizer_bytes).unwrap();
    assert!(Run::open(&dir).unwrap().load_checkpoint().is_ok());
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_fifo_or_a_device_as_a_checkpoint_file_is_refused_without_blocking() {
    let dir = scratch("fifo");
    trained_run(&dir);
    let model = latest(&dir).join("model.bpk");
    std::fs::remove_file(&model).unwrap();
    let status = std::process::Command::new("mkfifo")
        .arg(&model)
        .status()
        .unwrap();
    assert!(status.success());
    let err = load_error(&dir);
    assert!(
        err.contains("model.bpk: not a usable checkpoint: is a FIFO"),
        "{err}"
    );
    let state = latest(&dir).join("state.json");
    std::fs::remove_file(&state).unwrap();
    std::os::unix::fs::symlink("/dev/zero", &state).unwrap();
    let err = load_error(&dir);
    assert!(
        err.contains("state.json: not a usable checkpoint: is a character device"),
        "{err}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_config_toml_that_does_not_parse_or_is_missing_is_one_line_naming_it() {
    let dir = scratch("config");
    trained_run(&dir);
    let config = dir.join("config.toml");
    std::fs::write(
        &config,
        "[run]\nenv = \"franka-reach\"\n[train]\nhidden = \"wide\"\n",
    )
    .unwrap();
    let err = Run::open(&dir).err().unwrap().to_string();
    assert!(
        err.contains("config.toml: line 4, column 10: invalid type") && !err.contains('\n'),
        "{err}"
    );
    std::fs::write(
        &config,
        "[train]\ntarget_kl = nan\n[run]\nenv = \"franka-reach\"\n",
    )
    .unwrap();
    let err = Run::open(&dir).err().unwrap().to_string();
    assert!(
        err.contains("config.toml: target_kl must be a finite number"),
        "{err}"
    );
    std::fs::remove_file(&config).unwrap();
    let err = Run::open(&dir).err().unwrap().to_string();
    assert!(
        err.contains("no run here (config.toml is missing)"),
        "{err}"
    );
    let err = Run::open(&dir.join("nope")).err().unwrap().to_string();
    assert!(err.contains("no run here (no such directory)"), "{err}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_huge_reward_overflows_the_metrics_but_the_run_reads_redraws_and_resumes() {
    let dir = scratch("huge");
    std::fs::create_dir_all(&dir).unwrap();
    let reward = dir.join("huge.rhai");
    std::fs::write(&reward, "[1e307, #{big: 1e307}]").unwrap();
    let run_dir = dir.join("run");
    let run = Run::create(&run_dir, reach_setup(Some(reward)), reach_config(256)).unwrap();
    let stop = AtomicBool::new(false);
    assert_eq!(
        trainer::train(&run, &stop, &mut |_| {}).unwrap(),
        RunEnd::Finished
    );
    let text = std::fs::read_to_string(run_dir.join("metrics.jsonl")).unwrap();
    assert!(!text.contains("null"), "{text}");
    assert!(text.contains(r#""charts/episodic_return":"inf""#), "{text}");
    let rows = run.metrics().unwrap();
    assert_eq!(rows.len(), 2);
    assert!(rows[1]["charts/episodic_return"].is_infinite());
    run.draw_curves().unwrap();
    // The checkpoint's overflowed reward statistics read back, and the run continues.
    let mut resumed = Run::open(&run_dir).unwrap();
    resumed.config.train.total_steps = 512;
    assert_eq!(
        trainer::train(&resumed, &stop, &mut |_| {}).unwrap(),
        RunEnd::Finished
    );
    assert_eq!(resumed.metrics().unwrap().len(), 4);
    let report = trainer::evaluate(&resumed, 1, true, 0).unwrap();
    assert!(report.mean_return.is_infinite());
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn settings_that_cannot_fit_the_env_are_refused_before_the_run_is_made() {
    let dir = scratch("settings");
    let config = TrainConfig {
        hidden: 2048,
        num_envs: 1024,
        num_steps: 1 << 20,
        ..reach_config(128)
    };
    let err = match Run::create(&dir, reach_setup(None), config) {
        Ok(_) => panic!("created"),
        Err(e) => e,
    };
    assert!(matches!(err, TrainError::Config(_)), "{err}");
    assert!(err.to_string().contains("GiB"), "{err}");
    assert!(!dir.exists(), "nothing is written for refused settings");
}

#[test]
fn a_run_with_the_race_table_evolve_wrote_before_its_schedule_still_opens() {
    let dir = scratch("legacy-race");
    trained_run(&dir);
    let path = dir.join("config.toml");
    let text = std::fs::read_to_string(&path).unwrap();
    let with_race = text.replacen(
        "[train]",
        "[run.race]\nat_step = 64\nmetric = \"final/is_success\"\nhigher_is_better = true\n\
         threshold = 0.5\nwindow = 0.2\n\n[train]",
        1,
    );
    assert_ne!(with_race, text);
    std::fs::write(&path, &with_race).unwrap();
    let run = Run::open(&dir).unwrap();
    assert_eq!(run.config.train.total_steps, 128);
    // Any other unknown key is still an error naming it.
    std::fs::write(
        &path,
        with_race.replacen("[train]", "[train]\ncolour = 1", 1),
    )
    .unwrap();
    let err = Run::open(&dir).err().unwrap().to_string();
    assert!(
        err.contains("config.toml") && err.contains("colour"),
        "{err}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}
