//! `rewardgen replay`, as a user runs it: MuJoCo's viewer window under Xvfb shows the robot,
//! and without a display the command says where to go instead.

mod common;

use common::{Killed, rewardgen, scratch_dir, stderr_of_failure, tiny_training_run};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn installed(program: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {program}")])
        .output()
        .is_ok_and(|o| o.status.success())
}

/// The pixels of an X window dump (`xwd`, ZPixmap, 24 or 32 bits per pixel) as gray levels.
fn xwd_gray(bytes: &[u8]) -> (usize, usize, Vec<f64>) {
    let field = |i: usize| u32::from_be_bytes(bytes[4 * i..4 * i + 4].try_into().unwrap()) as usize;
    let (header, width, height) = (field(0), field(4), field(5));
    let (bits_per_pixel, bytes_per_line, colors) = (field(11), field(12), field(19));
    assert!(
        matches!(bits_per_pixel, 24 | 32),
        "a true-color screen: {bits_per_pixel} bits"
    );
    let pixel = bits_per_pixel / 8;
    let data = &bytes[header + 12 * colors..];
    let mut gray = Vec::with_capacity(width * height);
    for y in 0..height {
        for x in 0..width {
            let p = &data[y * bytes_per_line + pixel * x..][..3];
            gray.push((p[0] as f64 + p[1] as f64 + p[2] as f64) / 3.0);
        }
    }
    (width, height, gray)
}

/// The gray levels of the middle of the screen, where the viewer draws the scene.
fn center(dump: &[u8]) -> Vec<f64> {
    let (width, height, gray) = xwd_gray(dump);
    let mut middle = Vec::new();
    for y in height / 4..height / 2 {
        middle.extend_from_slice(&gray[y * width + width / 4..y * width + width / 2]);
    }
    middle
}

fn variance(values: &[f64]) -> f64 {
    let mean = values.iter().sum::<f64>() / values.len() as f64;
    values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / values.len() as f64
}

#[test]
fn replay_shows_the_robot_in_a_window_under_xvfb() {
    for program in ["Xvfb", "xwd"] {
        if !installed(program) {
            test_skip::skip(
                "replay_shows_the_robot_in_a_window_under_xvfb",
                program,
                "Debian: xvfb, x11-apps; scripts/test installs them where it can",
            );
            return;
        }
    }
    let dir = scratch_dir("replay");
    let run = tiny_training_run(&dir);
    let display = format!(":{}", 100 + std::process::id() % 400);
    let _xvfb = Killed(
        Command::new("Xvfb")
            .args([&display, "-screen", "0", "1280x800x24", "-nolisten", "tcp"])
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let screen = |display: &str| {
        let dump = Command::new("xwd")
            .args(["-root", "-silent", "-display", display])
            .output()
            .unwrap();
        (dump.status.success() && dump.stdout.len() > 100).then_some(dump.stdout)
    };
    // The empty screen first, to compare against.
    let start = Instant::now();
    let empty = loop {
        if let Some(dump) = screen(&display) {
            break variance(&center(&dump));
        }
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "Xvfb did not start"
        );
        std::thread::sleep(Duration::from_millis(200));
    };
    let mut replay = Killed(
        Command::new(env!("CARGO_BIN_EXE_rewardgen"))
            .args(["replay", run.to_str().unwrap()])
            .env("DISPLAY", &display)
            .env_remove("WAYLAND_DISPLAY")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    // Wait for the window to draw the scene: a screen with real structure, not one flat color.
    let start = Instant::now();
    let mut last = empty;
    loop {
        if let Some(status) = replay.0.try_wait().unwrap() {
            let mut err = String::new();
            std::io::Read::read_to_string(replay.0.stderr.as_mut().unwrap(), &mut err).unwrap();
            panic!("replay exited ({status}): {err}");
        }
        if let Some(dump) = screen(&display) {
            last = variance(&center(&dump));
            if last > empty + 100.0 {
                // A moment more for the panel, then the screenshot to keep.
                std::thread::sleep(Duration::from_secs(1));
                let dump = screen(&display).unwrap_or(dump);
                last = variance(&center(&dump));
                assert!(last > empty + 100.0, "the scene went blank again");
                std::fs::write(dir.join("replay.xwd"), &dump).unwrap();
                eprintln!(
                    "screenshot: {} (pixel variance {last:.0})",
                    dir.join("replay.xwd").display()
                );
                break;
            }
        }
        assert!(
            start.elapsed() < Duration::from_secs(120),
            "the window stayed blank (pixel variance {last:.1}, empty screen {empty:.1})"
        );
        std::thread::sleep(Duration::from_millis(500));
    }
    assert!(
        run.join("rollouts/episode-0000.jsonl").is_file(),
        "replay recorded an episode"
    );
}

#[test]
fn replay_without_a_display_points_to_render_and_view() {
    let dir = scratch_dir("replay-headless");
    let run = tiny_training_run(&dir);
    let output = Command::new(env!("CARGO_BIN_EXE_rewardgen"))
        .args(["replay", run.to_str().unwrap()])
        .env_remove("DISPLAY")
        .env_remove("WAYLAND_DISPLAY")
        .output()
        .unwrap();
    let err = stderr_of_failure(&output);
    assert_eq!(err.trim().lines().count(), 1, "one line: {err}");
    assert!(
        err.contains("rewardgen render") && err.contains("rewardgen view"),
        "{err}"
    );
    let err = stderr_of_failure(&rewardgen(&[
        "replay",
        run.to_str().unwrap(),
        "--speed",
        "0",
    ]));
    assert!(err.contains("--speed"), "{err}");
}
