use envs::{
    EnvOptions, QuadrupedConfig, QuadrupedEnv, QuadrupedStand, QuadrupedWalk, RolloutPolicy,
    TaskEnv, make, rollout,
};
use rl_env::{Env, Step};
use std::path::Path;

const ENVS: [&str; 3] = ["quadruped-walk", "quadruped-turn", "quadruped-stand"];

fn env(name: &str) -> Box<dyn TaskEnv> {
    make(name, &EnvOptions::default()).unwrap()
}

fn field(env: &dyn TaskEnv, name: &str) -> Vec<f64> {
    env.state()[env.spec().field_range(name).unwrap()].to_vec()
}

/// Places the torso at `height` with orientation `quat` and recomputes the state.
fn place_torso<T>(env: &mut QuadrupedEnv<T>, height: f64, quat: [f64; 4]) {
    let model = env.sim().model().clone();
    let root = model.joint_qpos_address(model.joint("root").unwrap());
    let qpos = env.sim_mut().qpos_mut();
    qpos[root + 2] = height;
    qpos[root + 3..root + 7].copy_from_slice(&quat);
    env.sim_mut().forward();
}

#[test]
fn model_compiles_without_warnings() {
    let assets = Path::new(env!("CARGO_MANIFEST_DIR")).join("../assets/quadruped");
    for file in ["go1.xml", "scene.xml"] {
        let warnings = sim::compiler_warnings(&assets.join(file)).unwrap();
        assert_eq!(warnings, None, "{file}");
    }
}

#[test]
fn holding_the_standing_pose_keeps_the_torso_at_a_steady_height_for_10_seconds() {
    let mut env = env("quadruped-walk");
    env.reset(Some(0));
    assert_eq!(env.spec().control_hz(), 50.0);
    let (mut low, mut high) = (f64::INFINITY, f64::NEG_INFINITY);
    let mut last: Option<Step> = None;
    for t in 0..500 {
        let step = env.step(&[0.0; 12]);
        assert!(!step.terminated, "fell at step {t}");
        assert_eq!(step.truncated, t == 499, "truncated at step {t}");
        // After 1 s of settling from the randomized joint angles.
        if t >= 50 {
            let height = field(env.as_ref(), "torso_height")[0];
            low = low.min(height);
            high = high.max(height);
        }
        last = Some(step);
    }
    assert!(
        (0.25..0.30).contains(&low) && high - low < 0.002,
        "torso height in [{low}, {high}]"
    );
    assert_eq!(field(env.as_ref(), "foot_contact"), [1.0; 4]);
    let roll_pitch = &field(env.as_ref(), "torso_rpy")[..2];
    assert!(roll_pitch.iter().all(|a| a.abs() < 0.05), "{roll_pitch:?}");
    assert_eq!(last.unwrap().info.get("fell"), Some(0.0));
}

#[test]
fn same_seed_gives_the_same_trajectory_bit_for_bit() {
    let run = |seed| {
        let mut env = env("quadruped-walk");
        let mut trace = env.reset(Some(seed)).0;
        for t in 0..100 {
            let a: Vec<f64> = (0..12).map(|j| (0.3 * t as f64 + j as f64).sin()).collect();
            let step = env.step(&a);
            trace.extend(step.obs);
            trace.push(step.reward);
            trace.extend(env.state());
        }
        trace
    };
    let (a, b) = (run(7), run(7));
    assert_eq!(a.len(), b.len());
    assert!(a.iter().zip(&b).all(|(x, y)| x.to_bits() == y.to_bits()));
    assert_ne!(run(8), a, "another seed gives another episode");
}

#[test]
fn commands_are_sampled_within_the_documented_ranges() {
    let mut walk = env("quadruped-walk");
    let mut turn = env("quadruped-turn");
    let (mut left, mut right) = (0, 0);
    for seed in 0..200 {
        walk.reset(Some(seed));
        let speed = field(walk.as_ref(), "command")[0];
        assert!((0.3..=1.0).contains(&speed), "walk command {speed}");
        turn.reset(Some(seed));
        let rate = field(turn.as_ref(), "command")[0];
        assert!((0.5..=1.5).contains(&rate.abs()), "turn command {rate}");
        if rate > 0.0 {
            left += 1;
        } else {
            right += 1;
        }
    }
    assert!(left > 60 && right > 60, "turns left {left}, right {right}");
    assert!(
        env("quadruped-stand")
            .spec()
            .field_range("command")
            .is_none()
    );
}

#[test]
fn reset_starts_upright_with_the_lowest_foot_on_the_floor() {
    let mut env = env("quadruped-walk");
    for seed in 0..20 {
        env.reset(Some(seed));
        let feet = field(env.as_ref(), "foot_height");
        let lowest = feet.iter().copied().fold(f64::INFINITY, f64::min);
        assert!(lowest.abs() < 1e-9, "feet {feet:?}");
        let height = field(env.as_ref(), "torso_height")[0];
        assert!((0.25..0.32).contains(&height), "height {height}");
        assert_eq!(field(env.as_ref(), "projected_gravity"), [0.0, 0.0, -1.0]);
    }
}

#[test]
fn fall_detector_fires_on_crafted_fallen_states() {
    let has_fallen = QuadrupedWalk::has_fallen;
    let level = [0.0, 0.0, -1.0];
    assert!(!has_fallen(0.28, level));
    assert!(has_fallen(0.1, level), "torso too low");
    assert!(has_fallen(f64::NAN, level));
    let rolled = |angle: f64| [0.0, -angle.sin(), -angle.cos()];
    assert!(!has_fallen(0.28, rolled(0.9)));
    assert!(has_fallen(0.28, rolled(1.1)), "torso tilted past 1 rad");
    let pitched_up = |angle: f64| [-angle.sin(), 0.0, -angle.cos()];
    assert!(has_fallen(0.35, pitched_up(1.2)));
    assert!(!QuadrupedStand::has_fallen(0.35, pitched_up(1.2)));
    assert!(QuadrupedStand::has_fallen(0.28, rolled(1.1)));
    assert!(QuadrupedStand::has_fallen(f64::NAN, pitched_up(1.2)));

    let h = std::f64::consts::FRAC_1_SQRT_2;
    let on_its_side = [h, h, 0.0, 0.0];
    let mut walk = QuadrupedWalk::from_options(&EnvOptions::default()).unwrap();
    walk.reset(Some(0));
    assert!(!walk.fallen());
    place_torso(&mut walk, 0.1, on_its_side);
    assert!(walk.fallen());
    let step = walk.step(&[0.0; 12]);
    assert!(step.terminated && !step.truncated);
    assert_eq!(step.info.get("fell"), Some(1.0));
    assert_eq!(step.info.get("is_success"), Some(0.0));

    // Rearing up ends a walk but not a stand; lying on the side ends both.
    let nose_up = |angle: f64| [(angle / 2.0).cos(), 0.0, -(angle / 2.0).sin(), 0.0];
    walk.reset(Some(0));
    place_torso(&mut walk, 0.35, nose_up(1.2));
    assert!(walk.fallen());
    let mut stand = QuadrupedStand::from_options(&EnvOptions::default()).unwrap();
    stand.reset(Some(0));
    place_torso(&mut stand, 0.35, nose_up(1.2));
    assert!(!stand.fallen());
    place_torso(&mut stand, 0.35, nose_up(2.5));
    assert!(stand.fallen(), "gone over backwards");
    place_torso(&mut stand, 0.35, nose_up(-1.2));
    assert!(stand.fallen(), "nose down");
    place_torso(&mut stand, 0.1, on_its_side);
    assert!(stand.fallen());
}

#[test]
fn scripted_trot_walks_forward_without_falling_on_most_seeds() {
    let mut env = env("quadruped-walk");
    let (mut upright, mut speed, mut successes) = (0, 0.0, 0);
    for seed in 0..10 {
        env.reset(Some(seed));
        let start = field(env.as_ref(), "torso_pos");
        let last = loop {
            let action = env.scripted_action().expect("walk has a scripted trot");
            let step = env.step(&action);
            if step.terminated || step.truncated {
                break step;
            }
        };
        let end = field(env.as_ref(), "torso_pos");
        if !last.terminated {
            upright += 1;
            assert!(
                end[0] - start[0] > 1.0,
                "seed {seed}: moved {start:?} to {end:?}"
            );
        }
        speed += last.info.get("mean_forward_velocity").unwrap() / 10.0;
        successes += usize::from(last.info.is_success());
    }
    assert!(upright >= 8, "{upright}/10 episodes without a fall");
    assert!(speed > 0.1, "mean forward velocity {speed}");
    assert!(successes >= 8, "{successes}/10 episodes track the command");
}

#[test]
fn only_walk_has_a_scripted_controller_and_random_actions_run_everywhere() {
    for name in ENVS {
        let mut env = env(name);
        env.reset(Some(0));
        assert_eq!(env.scripted_action().is_some(), name == "quadruped-walk");
        let stats = rollout(env.as_mut(), RolloutPolicy::Random, 1, 0).unwrap();
        assert!(stats.mean_length >= 1.0 && stats.mean_return.is_finite());
        assert!(stats.final_info.contains_key("fell"), "{name}");
    }
}

#[test]
fn every_step_reports_the_episode_metrics() {
    let keys: [(&str, &[&str]); 3] = [
        (
            "quadruped-walk",
            &["mean_forward_velocity", "tracking_error"],
        ),
        ("quadruped-turn", &["tracking_error", "drift"]),
        ("quadruped-stand", &["upright_fraction"]),
    ];
    for (name, task_keys) in keys {
        let mut env = env(name);
        let (_, mut info) = env.reset(Some(3));
        for t in 0..20 {
            for key in ["is_success", "fell"].iter().chain(task_keys) {
                assert!(info.get(key).is_some(), "{name} step {t}: no {key}");
            }
            info = env.step(&[0.1; 12]).info;
        }
    }
}

#[test]
fn observation_matches_the_documented_layout() {
    for (name, len) in [
        ("quadruped-walk", 46),
        ("quadruped-turn", 46),
        ("quadruped-stand", 45),
    ] {
        let mut env = env(name);
        env.reset(Some(1));
        let action: Vec<f64> = (0..12).map(|j| 0.1 * j as f64 - 0.5).collect();
        let obs = env.step(&action).obs;
        assert_eq!(obs.len(), len, "{name}");
        assert!(env.observation_space().contains(&obs));
        assert_eq!(&obs[0..3], field(env.as_ref(), "torso_linvel"));
        assert_eq!(&obs[3..6], field(env.as_ref(), "torso_angvel"));
        assert_eq!(&obs[6..9], field(env.as_ref(), "projected_gravity"));
        let standing = [0.0, 0.9, -1.8].repeat(4);
        let joints = field(env.as_ref(), "joint_pos");
        for j in 0..12 {
            assert!((obs[9 + j] - (joints[j] - standing[j])).abs() < 1e-12);
        }
        assert_eq!(&obs[21..33], field(env.as_ref(), "joint_vel"));
        assert_eq!(&obs[33..45], &action[..]);
        if len == 46 {
            assert_eq!(obs[45], field(env.as_ref(), "command")[0]);
        }
        assert_eq!(env.state().len(), env.spec().state_len());
    }
}

#[test]
fn frame_skip_sets_the_control_rate() {
    let options = EnvOptions {
        frame_skip: Some(10),
        ..EnvOptions::default()
    };
    for name in ENVS {
        assert_eq!(make(name, &options).unwrap().spec().control_hz(), 25.0);
        let err = make(
            name,
            &EnvOptions {
                frame_skip: Some(0),
                ..EnvOptions::default()
            },
        )
        .err()
        .unwrap();
        assert!(err.to_string().contains("frame_skip"), "{err}");
    }
    let config = QuadrupedConfig {
        frame_skip: 5,
        episode_steps: 500,
        action_scale: f64::NAN,
    };
    let err = QuadrupedWalk::new(config).err().unwrap();
    assert!(err.to_string().contains("action_scale"), "{err}");
}

#[test]
fn llm_description_shows_schema_and_task_but_not_the_success_metric() {
    for name in ENVS {
        let env = env(name);
        let spec = env.spec();
        let text = spec.describe_for_llm();
        for field in &spec.state_schema {
            assert!(
                text.contains(&format!("- {} (", field.name)),
                "{name}: {}",
                field.name
            );
        }
        assert!(text.contains(&spec.task_text));
        assert!(!text.contains(&spec.success_metric));
        assert!(!text.to_lowercase().contains("success"), "{name}");
    }
}
