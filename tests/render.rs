//! `rewardgen render`, as a user runs it: a trained run's policy to a GIF.

mod common;

use common::{rewardgen, scratch_dir, stderr_of_failure, tiny_training_run};

#[test]
fn a_trained_policy_renders_to_a_gif_with_one_non_blank_frame_per_step() {
    let dir = scratch_dir("render");
    let run = tiny_training_run(&dir);
    let gif_path = dir.join("reach.gif");
    let output = rewardgen(&[
        "render",
        run.to_str().unwrap(),
        "--out",
        gif_path.to_str().unwrap(),
        "--width",
        "160",
        "--height",
        "120",
    ]);
    if !output.status.success() {
        let err = String::from_utf8_lossy(&output.stderr);
        if err.contains("needs EGL") {
            test_skip::skip(
                "render",
                "libEGL.so.1",
                &format!("no EGL on this machine: {err}"),
            );
            return;
        }
        panic!("render failed: {err}");
    }
    // The run had no rollout: render recorded one episode first.
    let rollout = run.join("rollouts/episode-0000.jsonl");
    let steps = std::fs::read_to_string(&rollout).unwrap().lines().count() - 1;

    let file = std::fs::File::open(&gif_path).unwrap();
    let mut options = gif::DecodeOptions::new();
    options.set_color_output(gif::ColorOutput::RGBA);
    let mut decoder = options.read_info(file).unwrap();
    assert_eq!((decoder.width(), decoder.height()), (160, 120));
    let mut frames = 0;
    let mut variances = Vec::new();
    while let Some(frame) = decoder.read_next_frame().unwrap() {
        frames += 1;
        let gray: Vec<f64> = frame
            .buffer
            .chunks(4)
            .map(|p| (p[0] as f64 + p[1] as f64 + p[2] as f64) / 3.0)
            .collect();
        let mean = gray.iter().sum::<f64>() / gray.len() as f64;
        variances.push(gray.iter().map(|g| (g - mean).powi(2)).sum::<f64>() / gray.len() as f64);
    }
    assert_eq!(frames, steps, "one frame per recorded step");
    assert!(
        variances.iter().all(|v| *v > 50.0),
        "blank frames: pixel variances {variances:?}"
    );

    // Bad input is a clear error.
    let err = stderr_of_failure(&rewardgen(&[
        "render",
        run.to_str().unwrap(),
        "--out",
        dir.join("x.avi").to_str().unwrap(),
    ]));
    assert!(err.contains(".gif, .mp4 or .webm"), "{err}");
    let err = stderr_of_failure(&rewardgen(&["render", "/no/such/run", "--out", "x.gif"]));
    assert!(err.contains("no such file or run directory"), "{err}");
    std::fs::remove_dir_all(&dir).unwrap();
}
