//! The task-file version of franka-reach (assets/tasks/franka-reach.toml) against the
//! built-in env: the same states, observations and success, step for step.

use envs::{EnvOptions, TaskEnv};
use rand::{RngExt, SeedableRng};
use rl_env::Env;
use std::path::Path;

fn task_file() -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../assets/tasks/franka-reach.toml");
    format!("task:{}", path.display())
}

#[test]
fn the_task_file_version_of_franka_reach_matches_the_built_in_env() {
    let options = EnvOptions::default();
    let mut built_in = task_file::make("franka-reach", &options).unwrap();
    let mut from_file = task_file::make(&task_file(), &options).unwrap();
    assert_eq!(built_in.spec().state_schema, from_file.spec().state_schema);
    assert_eq!(built_in.action_space(), from_file.action_space());
    assert_eq!(
        built_in.spec().episode_steps,
        from_file.spec().episode_steps
    );
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
    let (mut successes, mut episodes) = (0, 0);
    for seed in 0..6u64 {
        let (a, _) = built_in.reset(Some(seed));
        let (b, _) = from_file.reset(Some(seed));
        assert_eq!(a, b, "seed {seed}: first observations differ");
        assert_eq!(
            built_in.state(),
            from_file.state(),
            "seed {seed}: first states differ"
        );
        for step in 0..50 {
            // Half the episodes follow the scripted controller (they succeed), half act at random.
            let action: Vec<f64> = if seed % 2 == 0 {
                built_in.scripted_action().unwrap()
            } else {
                (0..3).map(|_| rng.random_range(-1.0..=1.0)).collect()
            };
            let x = built_in.step(&action);
            let y = from_file.step(&action);
            let at = format!("seed {seed}, step {step}");
            let close = |p: &[f64], q: &[f64]| p.iter().zip(q).all(|(u, v)| (u - v).abs() <= 1e-12);
            assert!(
                close(&x.obs, &y.obs),
                "{at}: observations {:?} and {:?}",
                x.obs,
                y.obs
            );
            assert!(
                close(&built_in.state(), &from_file.state()),
                "{at}: states differ"
            );
            assert_eq!(
                x.info.get("is_success"),
                y.info.get("is_success"),
                "{at}: success"
            );
            let tiebreak = y.info.get(task_file::TIEBREAK_KEY).unwrap();
            assert!(
                (x.info.get("goal_distance").unwrap() - tiebreak).abs() < 1e-12,
                "{at}"
            );
            assert_eq!(
                (x.terminated, x.truncated),
                (y.terminated, y.truncated),
                "{at}"
            );
            if x.terminated || x.truncated {
                episodes += 1;
                successes += usize::from(x.info.is_success());
                break;
            }
        }
    }
    assert_eq!(episodes, 6);
    assert!(
        successes >= 3,
        "the scripted episodes succeed in both: {successes}"
    );
}
