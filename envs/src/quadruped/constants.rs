//! The quadruped's constants: its model files, the names and order of its legs and joints,
//! and the thresholds and defaults its tasks share.

/// The quadruped model files, embedded so that the binary needs no asset folder.
pub(super) const ASSETS: [(&str, &str); 2] = [
    ("go1.xml", include_str!("../../../assets/quadruped/go1.xml")),
    (
        "scene.xml",
        include_str!("../../../assets/quadruped/scene.xml"),
    ),
];
/// The scene file, which includes `go1.xml`.
pub(super) const SCENE: &str = "scene.xml";

/// Legs in the order of every per-leg field.
pub const LEGS: [&str; 4] = ["FL", "FR", "RL", "RR"];
/// Joints of one leg, in the order of every per-joint field.
pub const LEG_JOINTS: [&str; 3] = ["hip", "thigh", "calf"];
/// Actuated joints: 4 legs × 3.
pub const NUM_JOINTS: usize = 12;

/// Physics steps per action: at the model's 4 ms timestep, 50 Hz control, the rate of most legged-robot RL work.
pub const DEFAULT_FRAME_SKIP: usize = 5;
/// Actions per episode before truncation: 10 s at 50 Hz, short enough for PPO on a CPU.
pub const EPISODE_STEPS: usize = 500;
/// Reset noise: each joint starts up to this many radians from the standing pose.
pub const JOINT_NOISE: f64 = 0.1;
/// The robot has fallen when the torso centre is lower than this (m); it stands at about
/// 0.26 m.
pub const FALL_HEIGHT: f64 = 0.15;
/// A walking or turning robot has fallen when the torso's up axis is tilted further than this
/// from the vertical (rad); a rearing one when it rolls or pitches nose down further.
pub const FALL_TILT: f64 = 1.0;
/// A foot is in contact when its touch sensor reads more than this normal force (N).
pub const CONTACT_FORCE: f64 = 1.0;
