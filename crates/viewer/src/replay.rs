//! `rewardgen replay`: recorded episodes in MuJoCo's interactive viewer, at real-time speed.
//! Each shown state is set exactly (`qpos`, `qvel`, mocap, then `mj_forward`); a panel shows
//! the step, the reward and its components, and the success flag.

use crate::ViewerError;
use crate::rollout::Rollout;
use mujoco_rs::viewer::{MjViewer, egui};
use sim::Sim;
use std::cell::RefCell;
use std::rc::Rc;
use std::time::{Duration, Instant};

/// How to play.
#[derive(Debug, Clone)]
pub struct ReplayOptions {
    /// Playback speed relative to real time.
    pub speed: f64,
    /// The episode to start with.
    pub first: usize,
}

/// The keys `replay` adds to MuJoCo's own (shown in its panel).
pub const REPLAY_KEYS: &str =
    "Space pause · Left/Right step back/forward · Up/Down faster/slower · N next episode";

/// What the panel shows, and the key presses it collected for the playback loop.
#[derive(Default)]
struct Panel {
    text: String,
    components: Vec<(String, f64)>,
    commands: Vec<Command>,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Command {
    TogglePause,
    Step(i64),
    Speed(f64),
    NextEpisode,
}

/// The message for a machine without a display, naming the headless alternatives.
fn no_display(reason: &str) -> ViewerError {
    ViewerError::NoDisplay(format!(
        "replay needs a display ({reason}); without one, use `rewardgen render PATH --out video.gif` \
         or `rewardgen view RUN` and open it in a browser"
    ))
}

/// Whether there is a display to open the replay window on; the error names the alternatives.
pub fn check_display() -> Result<(), ViewerError> {
    let has = |var: &str| std::env::var_os(var).is_some_and(|v| !v.is_empty());
    if !has("DISPLAY") && !has("WAYLAND_DISPLAY") {
        return Err(no_display("DISPLAY and WAYLAND_DISPLAY are not set"));
    }
    Ok(())
}

/// Plays `rollouts` (all of the same env) until the window is closed.
pub fn replay(rollouts: &[Rollout], options: &ReplayOptions) -> Result<(), ViewerError> {
    check_display()?;
    let Some(first) = rollouts.get(options.first) else {
        return Err(ViewerError::Render(format!(
            "no episode {}: {} recorded",
            options.first,
            rollouts.len()
        )));
    };
    let model = first.model()?;
    let mut sim = Sim::new(&model);
    let mut viewer = MjViewer::builder()
        .window_name(format!("rewardgen replay: {}", first.header.env))
        .build_passive(model.raw())
        .map_err(|e| no_display(&format!("cannot open a window: {e}")))?;
    let panel = Rc::new(RefCell::new(Panel::default()));
    let shared = panel.clone();
    viewer.add_ui_callback(move |ui, _| {
        let mut panel = shared.borrow_mut();
        let keys = [
            (egui::Key::Space, Command::TogglePause),
            (egui::Key::ArrowRight, Command::Step(1)),
            (egui::Key::ArrowLeft, Command::Step(-1)),
            (egui::Key::ArrowUp, Command::Speed(2.0)),
            (egui::Key::ArrowDown, Command::Speed(0.5)),
            (egui::Key::N, Command::NextEpisode),
        ];
        for (key, command) in keys {
            if ui.input(|i| i.key_pressed(key)) {
                panel.commands.push(command);
            }
        }
        egui::Window::new("rollout")
            .anchor(egui::Align2::RIGHT_TOP, [-10.0, 10.0])
            .show(ui.ctx(), |ui| {
                ui.label(&panel.text);
                egui::Grid::new("components").show(ui, |ui| {
                    for (name, value) in &panel.components {
                        ui.label(name);
                        ui.label(format!("{value:+.4}"));
                        ui.end_row();
                    }
                });
                ui.small(REPLAY_KEYS);
            });
    });

    let mut player = Player::new(rollouts.len(), options);
    let mut last = Instant::now();
    while viewer.running() {
        let now = Instant::now();
        let commands = std::mem::take(&mut panel.borrow_mut().commands);
        let rollout = &rollouts[player.episode];
        player.advance(
            now - last,
            &commands,
            rollout.step_seconds(),
            rollout.steps.len(),
        );
        last = now;
        let rollout = &rollouts[player.episode];
        let step = &rollout.steps[player.step];
        sim.set_physics_state(&step.physics)
            .map_err(|e| ViewerError::file(&rollout.path, format!("step {}: {e}", step.step)))?;
        {
            let mut panel = panel.borrow_mut();
            let total: f64 = rollout.steps[..=player.step]
                .iter()
                .filter_map(|s| s.reward)
                .sum();
            panel.text = format!(
                "episode {}  step {}/{}\nreward {:+.4}  total {:+.3}\nsuccess {}\nspeed {}×{}",
                player.episode,
                step.step,
                rollout.steps.len() - 1,
                step.reward.unwrap_or(0.0),
                total,
                if step.success { "yes" } else { "no" },
                player.speed,
                if player.paused { " (paused)" } else { "" }
            );
            panel.components = step
                .components
                .iter()
                .map(|(name, value)| (name.clone(), *value))
                .collect();
        }
        viewer.sync_data(sim.raw_mut());
        viewer
            .render()
            .map_err(|e| ViewerError::Render(e.to_string()))?;
        std::thread::sleep(Duration::from_millis(15));
    }
    Ok(())
}

/// The playback position: which episode and step, paused or at what speed.
#[derive(Debug)]
struct Player {
    episodes: usize,
    episode: usize,
    step: usize,
    /// Simulated seconds into the current step.
    into_step: f64,
    speed: f64,
    paused: bool,
}

impl Player {
    fn new(episodes: usize, options: &ReplayOptions) -> Self {
        Self {
            episodes,
            episode: options.first,
            step: 0,
            into_step: 0.0,
            speed: options.speed,
            paused: false,
        }
    }

    /// Applies key presses, then moves on by `elapsed` of wall-clock time. The last step
    /// is held for a second before the episode starts over.
    fn advance(
        &mut self,
        elapsed: Duration,
        commands: &[Command],
        step_seconds: f64,
        steps: usize,
    ) {
        for command in commands {
            match *command {
                Command::TogglePause => self.paused = !self.paused,
                Command::Step(by) => {
                    self.paused = true;
                    self.into_step = 0.0;
                    self.step = (self.step as i64 + by).clamp(0, steps as i64 - 1) as usize;
                }
                Command::Speed(factor) => {
                    self.speed = (self.speed * factor).clamp(1.0 / 64.0, 64.0)
                }
                Command::NextEpisode => {
                    self.episode = (self.episode + 1) % self.episodes;
                    self.step = 0;
                    self.into_step = 0.0;
                    return;
                }
            }
        }
        if self.paused {
            return;
        }
        self.into_step += elapsed.as_secs_f64() * self.speed;
        while self.into_step >= step_seconds {
            self.into_step -= step_seconds;
            if self.step + 1 < steps {
                self.step += 1;
            } else if self.into_step >= 1.0 {
                self.step = 0;
                self.into_step = 0.0;
            } else {
                break;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn player() -> Player {
        Player::new(
            2,
            &ReplayOptions {
                speed: 1.0,
                first: 0,
            },
        )
    }

    #[test]
    fn playback_follows_real_time_and_the_keys() {
        let mut p = player();
        // 0.1 s at 0.04 s per step: two whole steps.
        p.advance(Duration::from_millis(100), &[], 0.04, 10);
        assert_eq!(p.step, 2);
        p.advance(Duration::ZERO, &[Command::Speed(2.0)], 0.04, 10);
        p.advance(Duration::from_millis(100), &[], 0.04, 10);
        assert_eq!(p.step, 7, "twice as fast: five more steps");
        p.advance(Duration::ZERO, &[Command::TogglePause], 0.04, 10);
        p.advance(Duration::from_secs(5), &[], 0.04, 10);
        assert_eq!(p.step, 7, "paused");
        p.advance(
            Duration::ZERO,
            &[Command::Step(-1), Command::Step(-1)],
            0.04,
            10,
        );
        assert_eq!(p.step, 5);
        p.advance(Duration::ZERO, &[Command::Step(100)], 0.04, 10);
        assert_eq!(p.step, 9, "stepping stops at the last step");
        p.advance(Duration::ZERO, &[Command::NextEpisode], 0.04, 10);
        assert_eq!((p.episode, p.step), (1, 0));
        p.advance(Duration::ZERO, &[Command::NextEpisode], 0.04, 10);
        assert_eq!(p.episode, 0, "wraps around");
    }

    #[test]
    fn the_last_step_is_held_then_the_episode_starts_over() {
        let mut p = player();
        p.advance(Duration::from_millis(400), &[], 0.04, 5);
        assert_eq!(p.step, 4, "held at the end");
        p.advance(Duration::from_millis(1100), &[], 0.04, 5);
        assert_eq!(p.step, 0, "starts over after a second");
    }

    #[test]
    fn without_a_display_the_error_points_to_render_and_view() {
        if std::env::var_os("DISPLAY").is_some() || std::env::var_os("WAYLAND_DISPLAY").is_some() {
            test_skip::skip(
                "without_a_display_the_error_points_to_render_and_view",
                "a process without a display",
                "DISPLAY or WAYLAND_DISPLAY is set",
            );
            return;
        }
        let err = replay(
            &[],
            &ReplayOptions {
                speed: 1.0,
                first: 0,
            },
        )
        .unwrap_err();
        let text = err.to_string();
        assert!(
            text.contains("rewardgen render") && text.contains("rewardgen view"),
            "{text}"
        );
        assert!(!text.contains('\n'), "one line: {text}");
    }
}
