use envs::{EnvOptions, FrankaConfig, FrankaPhysics, FrankaPush, FrankaReach, TaskEnv, make};
use rl_env::Env;

/// Runs the env's scripted controller for `episodes` seeds; returns the success rate.
fn scripted_success_rate(env: &mut dyn TaskEnv, episodes: u64) -> f64 {
    let mut successes = 0;
    for seed in 0..episodes {
        env.reset(Some(seed));
        loop {
            let action = env
                .scripted_action()
                .expect("franka envs have a scripted controller");
            let step = env.step(&action);
            if step.terminated || step.truncated {
                successes += usize::from(step.info.is_success());
                break;
            }
        }
    }
    successes as f64 / episodes as f64
}

fn field<'a>(env: &dyn TaskEnv, state: &'a [f64], name: &str) -> &'a [f64] {
    &state[env.spec().field_range(name).unwrap()]
}

#[test]
fn scripted_pusher_solves_at_least_95_percent_of_seeds_under_either_physics() {
    for physics in [FrankaPhysics::Fast, FrankaPhysics::Reference] {
        let mut env = FrankaPush::new(FrankaConfig::with_physics(physics)).unwrap();
        let rate = scripted_success_rate(&mut env, 40);
        println!("{physics:?}: scripted push success {rate}");
        assert!(
            rate >= 0.95,
            "{physics:?}: scripted push success rate {rate}"
        );
    }
}

/// Box displacement, m, after a fixed scripted push: the box at (0.6, 0), the fingertips
/// lined up 6 cm behind it, 20 actions of +0.3 in x (1.5 cm each), then 15 actions at rest.
fn fixed_push_distance(physics: FrankaPhysics) -> f64 {
    let mut env = FrankaPush::new(FrankaConfig::with_physics(physics)).unwrap();
    env.reset(Some(0));
    let object = env.sim().model().joint("object").unwrap();
    let q = env.sim().model().joint_qpos_address(object);
    let dof = env.sim().model().joint_dof_address(object);
    let sim = env.sim_mut();
    sim.qpos_mut()[q..q + 7].copy_from_slice(&[0.6, 0.0, 0.02, 1.0, 0.0, 0.0, 0.0]);
    sim.qvel_mut()[dof..dof + 6].fill(0.0);
    sim.forward();
    let ee_pos = |env: &FrankaPush| -> Vec<f64> {
        let state = env.state();
        state[env.spec().field_range("ee_pos").unwrap()].to_vec()
    };
    for _ in 0..12 {
        let ee = ee_pos(&env);
        let target = [0.54, 0.0, 0.02];
        let action: Vec<f64> = (0..3)
            .map(|i| ((target[i] - ee[i]) / 0.05).clamp(-1.0, 1.0))
            .collect();
        env.apply_action(&action);
    }
    let start = env.sim().qpos()[q..q + 3].to_vec();
    for _ in 0..20 {
        env.apply_action(&[0.3, 0.0, 0.0]);
    }
    for _ in 0..15 {
        env.apply_action(&[0.0, 0.0, 0.0]);
    }
    let end = &env.sim().qpos()[q..q + 3];
    start
        .iter()
        .zip(end)
        .map(|(a, b)| (a - b).powi(2))
        .sum::<f64>()
        .sqrt()
}

#[test]
fn a_fixed_push_moves_the_box_as_far_under_the_fast_physics_as_under_the_reference() {
    let fast = fixed_push_distance(FrankaPhysics::Fast);
    let reference = fixed_push_distance(FrankaPhysics::Reference);
    println!("fixed push: fast {fast:.4} m, reference {reference:.4} m");
    assert!(reference > 0.15, "the push moves the box: {reference} m");
    assert!(
        (fast - reference).abs() < 0.005,
        "fast {fast:.4} m, reference {reference:.4} m"
    );
}

#[test]
fn physics_presets_set_the_timestep_and_keep_40_ms_actions() {
    for (name, dt) in [
        (None, 0.008),
        (Some("fast"), 0.008),
        (Some("reference"), 0.002),
    ] {
        let options = EnvOptions {
            physics: name.map(str::to_string),
            ..EnvOptions::default()
        };
        for env_name in ["franka-push", "franka-reach"] {
            let env = make(env_name, &options).unwrap();
            assert_eq!(env.sim().unwrap().model().timestep(), dt, "{name:?}");
            assert_eq!(env.spec().physics_dt, dt);
            assert!((env.spec().control_dt() - 0.04).abs() < 1e-12);
        }
    }
    let bad = EnvOptions {
        physics: Some("slow".into()),
        ..EnvOptions::default()
    };
    let message = make("franka-push", &bad).err().unwrap().to_string();
    assert!(
        message.contains("fast, reference") && message.contains("'slow'"),
        "{message}"
    );
    let message = make("quadruped-walk", &bad).err().unwrap().to_string();
    assert!(
        message.contains("only franka-reach and franka-push"),
        "{message}"
    );
}

#[test]
fn scripted_reacher_solves_every_seed() {
    let mut env = FrankaReach::new(FrankaConfig::default_config()).unwrap();
    let rate = scripted_success_rate(&mut env, 20);
    assert_eq!(rate, 1.0);
}

#[test]
fn arm_starts_at_home_with_fingertips_at_the_documented_point() {
    let mut env = make("franka-push", &EnvOptions::default()).unwrap();
    env.reset(Some(0));
    let state = env.state();
    let ee = field(env.as_ref(), &state, "ee_pos");
    let home = [0.4, 0.0, 0.1];
    let err: f64 = ee
        .iter()
        .zip(home)
        .map(|(a, b)| (a - b).powi(2))
        .sum::<f64>()
        .sqrt();
    assert!(err < 0.01, "fingertips at {ee:?}");
    assert!(
        field(env.as_ref(), &state, "ee_vel")
            .iter()
            .all(|v| v.abs() < 0.05)
    );
}

#[test]
fn same_seed_gives_the_same_trajectory_bit_for_bit() {
    let run = || {
        let mut env = make("franka-push", &EnvOptions::default()).unwrap();
        let mut trace = env.reset(Some(42)).0;
        for t in 0..30 {
            let a = [(t as f64 * 0.3).sin(), (t as f64 * 0.2).cos(), -0.3];
            let step = env.step(&a);
            trace.extend(step.obs);
            trace.push(step.reward);
        }
        trace
    };
    let (a, b) = (run(), run());
    assert_eq!(a.len(), b.len());
    assert!(a.iter().zip(&b).all(|(x, y)| x.to_bits() == y.to_bits()));
}

#[test]
fn push_reset_samples_stay_inside_the_documented_ranges() {
    let mut env = make("franka-push", &EnvOptions::default()).unwrap();
    for seed in 0..200 {
        env.reset(Some(seed));
        let state = env.state();
        let object = field(env.as_ref(), &state, "object_pos").to_vec();
        let goal = field(env.as_ref(), &state, "goal_pos").to_vec();
        for p in [&object, &goal] {
            assert!((0.45..=0.75).contains(&p[0]), "x {p:?}");
            assert!((-0.15..=0.15).contains(&p[1]), "y {p:?}");
        }
        assert!(
            (object[2] - 0.02).abs() < 1e-3,
            "box rests on the table: {object:?}"
        );
        assert_eq!(goal[2], 0.02);
        let d = ((object[0] - goal[0]).powi(2) + (object[1] - goal[1]).powi(2)).sqrt();
        assert!(d >= 0.1, "no episode starts solved: {d}");
    }
}

#[test]
fn reach_reset_samples_stay_inside_the_documented_ranges() {
    let mut env = make("franka-reach", &EnvOptions::default()).unwrap();
    for seed in 0..200 {
        env.reset(Some(seed));
        let state = env.state();
        let goal = field(env.as_ref(), &state, "goal_pos");
        assert!((0.3..=0.7).contains(&goal[0]) && (-0.25..=0.25).contains(&goal[1]));
        assert!((0.02..=0.3).contains(&goal[2]));
    }
}

#[test]
fn push_success_metric_on_crafted_states() {
    let env = FrankaPush::new(FrankaConfig::default_config()).unwrap();
    let spec = env.spec();
    let mut state = vec![0.0; spec.state_len()];
    let mut place = |object: [f64; 3], goal: [f64; 3]| {
        state[spec.field_range("object_pos").unwrap()].copy_from_slice(&object);
        state[spec.field_range("goal_pos").unwrap()].copy_from_slice(&goal);
        state[spec.field_range("ee_pos").unwrap()].copy_from_slice(&goal);
        env.is_success(&state)
    };
    assert!(place([0.6, 0.0, 0.02], [0.6, 0.049, 0.02]));
    assert!(place([0.6, 0.0, 0.02], [0.63, 0.03, 0.02]));
    assert!(!place([0.6, 0.0, 0.02], [0.6, 0.0501, 0.02]));
    assert!(
        !place([0.6, 0.0, 0.08], [0.6, 0.0, 0.02]),
        "a box lifted 6 cm is not at the goal"
    );
}

#[test]
fn reach_success_metric_on_crafted_states() {
    let env = FrankaReach::new(FrankaConfig::default_config()).unwrap();
    let spec = env.spec();
    let mut state = vec![0.0; spec.state_len()];
    state[spec.field_range("goal_pos").unwrap()].copy_from_slice(&[0.5, 0.0, 0.2]);
    state[spec.field_range("ee_pos").unwrap()].copy_from_slice(&[0.5, 0.0, 0.249]);
    assert!(env.is_success(&state));
    state[spec.field_range("ee_pos").unwrap()].copy_from_slice(&[0.5, 0.0, 0.251]);
    assert!(!env.is_success(&state));
}

#[test]
fn push_episode_ends_on_success_and_truncates_at_50_steps() {
    let mut env = make("franka-push", &EnvOptions::default()).unwrap();
    env.reset(Some(3));
    let mut steps = 0;
    loop {
        let step = env.step(&[0.0, 0.0, 0.0]);
        steps += 1;
        if step.terminated || step.truncated {
            assert!(
                step.truncated && !step.terminated,
                "standing still cannot push the box"
            );
            break;
        }
    }
    assert_eq!(steps, 50);
}

#[test]
fn observation_matches_the_documented_layout() {
    let mut env = make("franka-push", &EnvOptions::default()).unwrap();
    let (obs, _) = env.reset(Some(1));
    assert_eq!(obs.len(), 21);
    assert!(env.observation_space().contains(&obs));
    let state = env.state();
    assert_eq!(&obs[0..3], field(env.as_ref(), &state, "ee_pos"));
    assert_eq!(&obs[6..9], field(env.as_ref(), &state, "object_pos"));
    assert_eq!(&obs[18..21], field(env.as_ref(), &state, "goal_pos"));
    let step = env.step(&[1.0, 0.0, 0.0]);
    let ee_vel_dt = step.obs[3];
    let state = env.state();
    let ee_vel = field(env.as_ref(), &state, "ee_vel")[0];
    assert!((ee_vel_dt - ee_vel * 0.04).abs() < 1e-12);
    assert!(
        ee_vel > 0.1,
        "an action of +1 in x moves the fingertips in +x: {ee_vel}"
    );
}

#[test]
fn frame_skip_sets_the_control_rate() {
    let env = make(
        "franka-push",
        &EnvOptions {
            frame_skip: Some(25),
            ..EnvOptions::default()
        },
    )
    .unwrap();
    assert!((env.spec().control_hz() - 5.0).abs() < 1e-9);
    assert_eq!(
        make("franka-push", &EnvOptions::default())
            .unwrap()
            .spec()
            .control_hz(),
        25.0
    );
    let err = make(
        "franka-push",
        &EnvOptions {
            frame_skip: Some(0),
            ..EnvOptions::default()
        },
    )
    .err()
    .unwrap();
    assert!(err.to_string().contains("frame_skip"));
}

#[test]
fn unknown_env_name_lists_the_known_envs() {
    let message = make("franka-pish", &EnvOptions::default())
        .err()
        .unwrap()
        .to_string();
    assert!(message.contains("unknown env 'franka-pish'"), "{message}");
    assert!(message.contains("franka-reach, franka-push"), "{message}");
}

#[test]
fn llm_description_shows_schema_and_task_but_not_the_success_metric() {
    let env = make("franka-push", &EnvOptions::default()).unwrap();
    let text = env.spec().describe_for_llm();
    for field in &env.spec().state_schema {
        assert!(
            text.contains(&format!("- {} (", field.name)),
            "{}",
            field.name
        );
    }
    assert!(text.contains("Push the box"));
    assert!(!text.contains(&env.spec().success_metric));
    assert!(!text.to_lowercase().contains("success"));
}
