//! The two-link arm example (assets/two-link-arm): a Menagerie-style model (scene.xml
//! includes arm.xml, whose meshes scripts/make-arm-meshes.py writes) and its reach task.
//! Training it is tested with the CLI, in the workspace's tests/two_link_arm.rs.

use envs::{EnvOptions, TaskEnv};
use rl_env::Env;
use sim::ObjectKind;
use std::path::{Path, PathBuf};
use task_file::TaskFileEnv;

/// Shoulder to elbow, and elbow to fingertip, m (arm.xml).
const UPPER: f64 = 0.1;
const FORE: f64 = 0.11;
/// The "home" keyframe: shoulder, elbow, rad (arm.xml; checked against the model below).
const HOME: [f64; 2] = [-0.85, 1.47];

fn example() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../assets/two-link-arm")
}

fn open(task: &Path) -> TaskFileEnv {
    TaskFileEnv::open(task, &EnvOptions::default())
        .unwrap_or_else(|e| panic!("{}: {e}", task.display()))
}

fn field(env: &TaskFileEnv, name: &str) -> Vec<f64> {
    let range = env.spec().field_range(name).unwrap();
    env.state()[range].to_vec()
}

/// Mass of a link mesh at MuJoCo's default density (1000 kg/m³): the generator's stadium of
/// 0.1 m between centres, ends of radius 12 mm as 20-gon halves, 8 mm thick.
fn link_mesh_mass() -> f64 {
    let (r, n) = (0.012, 20.0);
    let area = 0.1 * 2.0 * r + n / 2.0 * r * r * (2.0 * std::f64::consts::PI / n).sin();
    area * 0.008 * 1000.0
}

#[test]
fn the_example_loads_its_included_robot_file_and_its_meshes() {
    for file in ["arm.xml", "scene.xml"] {
        let warnings = sim::compiler_warnings(&example().join(file)).unwrap();
        assert_eq!(warnings, None, "{file}");
    }
    let env = open(&example().join("reach.toml"));
    let model = env.sim().unwrap().model();
    // The keyframe, the links and the actuators are in arm.xml, which scene.xml includes.
    assert_eq!(model.names(ObjectKind::Keyframe), ["home"]);
    assert_eq!(model.names(ObjectKind::Actuator), ["shoulder", "elbow"]);
    // Each link's mass is its mesh's volume: link.stl was read (from meshdir="assets").
    for body in ["upper_arm", "forearm"] {
        let mass = model.body_mass(model.body(body).unwrap());
        // The forearm also carries the fingertip, a ball of radius 10 mm.
        let ball = 4.0 / 3.0 * std::f64::consts::PI * 0.01f64.powi(3) * 1000.0;
        let expected = link_mesh_mass() + if body == "forearm" { ball } else { 0.0 };
        assert!(
            (mass - expected).abs() < 1e-6,
            "{body}: mass {mass}, expected {expected} from link.stl"
        );
    }
    let spec = env.spec();
    assert_eq!(spec.name, "two-link-arm-reach");
    assert_eq!(
        spec.action_space,
        rl_env::Space::uniform_box(&[2], -1.0, 1.0)
    );
    assert_eq!(spec.episode_steps, 50);
    assert!((spec.control_dt() - 0.02).abs() < 1e-12);
    let names: Vec<&str> = spec.state_schema.iter().map(|f| f.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "fingertip_pos",
            "target_pos",
            "fingertip_offset",
            "elbow_pos",
            "fingertip_vel",
            "shoulder_angle",
            "elbow_angle",
            "shoulder_vel",
            "elbow_vel"
        ]
    );
}

/// Copies the example into a fresh folder, without the file `remove` (relative to it).
fn copy_without(remove: &str) -> PathBuf {
    fn copy(from: &Path, to: &Path) {
        std::fs::create_dir_all(to).unwrap();
        for entry in std::fs::read_dir(from).unwrap() {
            let entry = entry.unwrap();
            let target = to.join(entry.file_name());
            if entry.file_type().unwrap().is_dir() {
                copy(&entry.path(), &target);
            } else {
                std::fs::copy(entry.path(), target).unwrap();
            }
        }
    }
    let dir = std::env::temp_dir().join(format!(
        "two-link-arm-{}-{}",
        std::process::id(),
        remove.replace('/', "-")
    ));
    let _ = std::fs::remove_dir_all(&dir);
    copy(&example(), &dir);
    std::fs::remove_file(dir.join(remove)).unwrap();
    dir
}

#[test]
fn a_missing_mesh_or_included_file_is_an_error_that_names_it() {
    for (remove, named) in [("assets/link.stl", "link.stl"), ("arm.xml", "arm.xml")] {
        let dir = copy_without(remove);
        let task = dir.join("reach.toml");
        let result = TaskFileEnv::open(&task, &EnvOptions::default());
        std::fs::remove_dir_all(&dir).ok();
        let error = match result {
            Ok(_) => panic!("the example loaded without {remove}"),
            Err(e) => e.to_string(),
        };
        for part in [task.display().to_string().as_str(), "`model`", named] {
            assert!(
                error.contains(part),
                "without {remove}: {part:?} is not in: {error}"
            );
        }
    }
}

/// The shoulder and elbow angles that put the fingertip at `(x, y)`, elbow bent positively.
fn inverse_kinematics(x: f64, y: f64) -> [f64; 2] {
    let c = (x * x + y * y - UPPER * UPPER - FORE * FORE) / (2.0 * UPPER * FORE);
    assert!(c.abs() <= 1.0, "({x}, {y}) is out of reach");
    let elbow = c.acos();
    let shoulder = y.atan2(x) - (FORE * elbow.sin()).atan2(UPPER + FORE * elbow.cos());
    [shoulder, elbow]
}

#[test]
fn every_target_the_task_places_is_reached_within_the_action_range() {
    let task = example().join("reach.toml");
    let file: toml::Table = toml::from_str(&std::fs::read_to_string(&task).unwrap()).unwrap();
    let scale = file["control"]["scale"].as_float().unwrap();
    let place = &file["reset"]["place"][0];
    let corner = |key: &str| -> Vec<f64> {
        place[key]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_float().unwrap())
            .collect()
    };
    let (low, high) = (corner("low"), corner("high"));
    let mut env = open(&task);
    let target = env.sim().unwrap().model().body("target").unwrap();

    // No action holds the arm at home: the position control's origin is the keyframe.
    env.reset(Some(0));
    for _ in 0..50 {
        env.step(&[0.0, 0.0]);
    }
    let angles = [
        field(&env, "shoulder_angle")[0],
        field(&env, "elbow_angle")[0],
    ];
    assert!(
        angles.iter().zip(HOME).all(|(a, h)| (a - h).abs() < 1e-3),
        "at rest {angles:?}, home {HOME:?}"
    );

    // A 5 × 5 grid over the placement box, corners included: each point's joint angles are
    // within `scale` of home, and holding them from a reset ends the episode a success.
    for i in 0..5u64 {
        for j in 0..5u64 {
            let x = low[0] + (high[0] - low[0]) * i as f64 / 4.0;
            let y = low[1] + (high[1] - low[1]) * j as f64 / 4.0;
            let angles = inverse_kinematics(x, y);
            let action: Vec<f64> = angles
                .iter()
                .zip(HOME)
                .map(|(q, h)| (q - h) / scale)
                .collect();
            assert!(
                action.iter().all(|a| a.abs() <= 1.0),
                "({x:.3}, {y:.3}) needs the action {action:?}"
            );
            env.reset(Some(i * 5 + j));
            env.sim_mut()
                .set_mocap_pose(target, [x, y, low[2]], [1.0, 0.0, 0.0, 0.0]);
            let mut last = None;
            for _ in 0..50 {
                last = Some(env.step(&action));
            }
            let last = last.unwrap();
            let distance = last.info.get(task_file::TIEBREAK_KEY).unwrap();
            assert!(last.truncated && !last.terminated);
            assert!(
                last.info.is_success() && distance < 1e-3,
                "({x:.3}, {y:.3}): the fingertip ends {distance} m away"
            );
            assert_eq!(field(&env, "target_pos"), [x, y, low[2]]);
        }
    }
}
