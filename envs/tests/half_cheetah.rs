use envs::{EnvOptions, TaskEnv, make};
use rl_env::Env;
use std::path::Path;

fn half_cheetah() -> Box<dyn TaskEnv> {
    let model =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../.testdata/gymnasium/half_cheetah.xml");
    assert!(
        model.is_file(),
        "{} is missing: scripts/test downloads it",
        model.display()
    );
    let options = EnvOptions {
        model: Some(model),
        ..EnvOptions::default()
    };
    make("half-cheetah", &options).unwrap()
}

#[test]
fn observation_leaves_out_the_x_position() {
    let mut env = half_cheetah();
    let (obs, _) = env.reset(Some(0));
    assert_eq!(obs.len(), 17);
    let state = env.state();
    let qpos = &state[env.spec().field_range("qpos").unwrap()];
    assert_eq!(&obs[..8], &qpos[1..]);
}

#[test]
fn reward_is_forward_velocity_minus_a_tenth_of_the_squared_action() {
    let mut env = half_cheetah();
    env.reset(Some(3));
    for action in [
        [0.5, -0.5, 1.0, 0.0, 0.2, -1.0],
        [2.0, 0.0, 0.0, 0.0, 0.0, 0.0],
    ] {
        let step = env.step(&action);
        let clipped: f64 = action.iter().map(|a| a.clamp(-1.0, 1.0).powi(2)).sum();
        let x_velocity = step.info.get("x_velocity").unwrap();
        assert!((step.reward - (x_velocity - 0.1 * clipped)).abs() < 1e-12);
    }
}

#[test]
fn reset_noise_is_small_and_seeded() {
    let mut env = half_cheetah();
    let (a, _) = env.reset(Some(5));
    let (b, _) = env.reset(Some(5));
    assert_eq!(a, b);
    assert!(
        a[..8].iter().all(|q| q.abs() <= 0.1 + 1e-12),
        "qpos noise is uniform ±0.1"
    );
    assert!(a[8..].iter().any(|v| *v != 0.0));
}

#[test]
fn episodes_are_truncated_at_1000_steps_and_never_terminate() {
    let mut env = half_cheetah();
    env.reset(Some(0));
    for t in 1..=1000 {
        let step = env.step(&[0.0; 6]);
        assert!(!step.terminated);
        assert_eq!(step.truncated, t == 1000);
    }
}

#[test]
fn missing_model_is_a_clear_error() {
    let message = make("half-cheetah", &EnvOptions::default())
        .err()
        .unwrap()
        .to_string();
    assert!(
        message.contains("half-cheetah needs --model PATH"),
        "{message}"
    );
}
