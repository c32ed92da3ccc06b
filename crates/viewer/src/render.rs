//! Rendering a rollout to video with MuJoCo's own renderer, offscreen (EGL: Mesa's software
//! driver on a machine without a GPU). Each recorded state is set exactly (`qpos`, `qvel`,
//! mocap, then `mj_forward`), drawn, and overlaid with the step, reward and success flag.
//! GIFs are encoded with the `gif` crate; MP4 goes through `ffmpeg` where it is installed.

use crate::ViewerError;
use crate::rollout::Rollout;
use mujoco_rs::prelude::MjvCamera;
use mujoco_rs::renderer::MjRenderer;
use plotters::prelude::*;
use sim::Sim;
use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

/// Frame size and camera.
#[derive(Debug, Clone)]
pub struct RenderOptions {
    pub width: u32,
    pub height: u32,
    /// A camera named in the model; by default the model's first camera (each built-in env
    /// puts one that frames its task first), or MuJoCo's free camera framing the whole model
    /// when it has none.
    pub camera: Option<String>,
}

impl Default for RenderOptions {
    fn default() -> Self {
        Self {
            width: 640,
            height: 480,
            camera: None,
        }
    }
}

/// The most memory a video's frames may take together (1000 steps at 640×480 take 0.9 GiB).
const MAX_FRAME_BYTES: u64 = 2 << 30;

/// One rendered frame: RGB bytes, row-major from the top.
pub struct Frame {
    pub rgb: Vec<u8>,
}

/// Renders every step of `rollout`, with its overlay.
pub fn render_frames(
    rollout: &Rollout,
    options: &RenderOptions,
) -> Result<Vec<Frame>, ViewerError> {
    if options.width < 16 || options.height < 16 || options.width > 4096 || options.height > 4096 {
        return Err(ViewerError::Render(format!(
            "frame size {}×{} is outside 16 to 4096 pixels per side",
            options.width, options.height
        )));
    }
    // Every frame is held until the video is written: refuse what cannot fit.
    let bytes =
        rollout.steps.len() as f64 * f64::from(options.width) * f64::from(options.height) * 3.0;
    if bytes > MAX_FRAME_BYTES as f64 {
        return Err(ViewerError::Render(format!(
            "{} frames of {}×{} take {:.1} GiB; at most {} GiB fits: lower --width and --height",
            rollout.steps.len(),
            options.width,
            options.height,
            bytes / (1u64 << 30) as f64,
            MAX_FRAME_BYTES >> 30
        )));
    }
    let model = rollout.model()?;
    let mut sim = Sim::new(&model);
    let camera = match &options.camera {
        Some(name) => MjvCamera::new_fixed(
            model
                .id(sim::ObjectKind::Camera, name)
                .map_err(|e| ViewerError::Render(e.to_string()))?,
        ),
        None if model.raw().ffi().ncam > 0 => MjvCamera::new_fixed(0),
        None => MjvCamera::new_free(model.raw()),
    };
    let mut renderer = MjRenderer::builder()
        .width(options.width)
        .height(options.height)
        .camera(camera)
        .build(model.raw())
        .map_err(|e| {
            ViewerError::Render(format!(
                "cannot start MuJoCo's offscreen renderer ({e}); it needs EGL (libegl1 and \
                 libegl-mesa0 on Debian)"
            ))
        })?;
    let mut frames = Vec::with_capacity(rollout.steps.len());
    let mut total = 0.0;
    for step in &rollout.steps {
        sim.set_physics_state(&step.physics)
            .map_err(|e| ViewerError::file(&rollout.path, format!("step {}: {e}", step.step)))?;
        let mut rgb = draw(&mut renderer, &mut sim)?;
        total += step.reward.unwrap_or(0.0);
        let text = format!(
            "step {}  reward {:+.3}  total {:+.2}{}",
            step.step,
            step.reward.unwrap_or(0.0),
            total,
            if step.success { "  success" } else { "" }
        );
        overlay(&mut rgb, options, &text)?;
        frames.push(Frame { rgb });
    }
    Ok(frames)
}

/// Renders one small frame of an empty scene: whether MuJoCo's offscreen renderer (EGL)
/// works on this machine.
pub fn offscreen_available() -> Result<(), ViewerError> {
    let model = sim::Model::from_xml_str("<mujoco><worldbody/></mujoco>", "empty scene")
        .map_err(|e| ViewerError::Render(e.to_string()))?;
    let mut sim = Sim::new(&model);
    let mut renderer = MjRenderer::builder()
        .width(32)
        .height(32)
        .build(model.raw())
        .map_err(|e| ViewerError::Render(format!("cannot start the offscreen renderer ({e})")))?;
    draw(&mut renderer, &mut sim).map(|_| ())
}

/// Draws the current state of `sim`: RGB bytes, row-major from the top.
fn draw(renderer: &mut MjRenderer, sim: &mut Sim) -> Result<Vec<u8>, ViewerError> {
    renderer
        .sync_data(sim.raw_mut())
        .map_err(|e| ViewerError::Render(e.to_string()))?;
    renderer
        .render()
        .map_err(|e| ViewerError::Render(e.to_string()))?;
    renderer
        .rgb_flat()
        .map(<[u8]>::to_vec)
        .ok_or_else(|| ViewerError::Render("the renderer gave no image".into()))
}

/// Draws `text` in a dark band along the top of the frame.
fn overlay(rgb: &mut [u8], options: &RenderOptions, text: &str) -> Result<(), ViewerError> {
    let size = (options.width, options.height);
    let mut draw = || -> Result<(), Box<dyn std::error::Error>> {
        let root = BitMapBackend::with_buffer(rgb, size).into_drawing_area();
        let band = (size.1 / 12).max(14) as i32;
        root.draw(&Rectangle::new(
            [(0, 0), (size.0 as i32, band)],
            BLACK.mix(0.6).filled(),
        ))?;
        let font = ("sans-serif", (band - 4) as f64).into_font().color(&WHITE);
        root.draw_text(text, &font, (4, 2))?;
        root.present()?;
        Ok(())
    };
    draw().map_err(|e| ViewerError::Render(format!("overlay: {e}")))
}

/// Writes `frames` to `out`: `.gif` with the gif crate, `.mp4` (H.264) and `.webm` (VP8)
/// through ffmpeg.
pub fn write_video(
    frames: &[Frame],
    options: &RenderOptions,
    seconds_per_frame: f64,
    out: &Path,
) -> Result<(), ViewerError> {
    let extension = out
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase);
    match extension.as_deref() {
        Some("gif") => write_gif(frames, options, seconds_per_frame, out),
        Some("mp4") => write_with_ffmpeg(frames, options, seconds_per_frame, out, &MP4_CODEC),
        Some("webm") => write_with_ffmpeg(frames, options, seconds_per_frame, out, &WEBM_CODEC),
        _ => Err(ViewerError::file(
            out,
            "the output must end in .gif, .mp4 or .webm",
        )),
    }
}

fn write_gif(
    frames: &[Frame],
    options: &RenderOptions,
    seconds_per_frame: f64,
    out: &Path,
) -> Result<(), ViewerError> {
    let file = std::fs::File::create(out).map_err(|e| ViewerError::file(out, e))?;
    let (w, h) = (options.width as u16, options.height as u16);
    let mut encoder = gif::Encoder::new(std::io::BufWriter::new(file), w, h, &[])
        .map_err(|e| ViewerError::file(out, e))?;
    encoder
        .set_repeat(gif::Repeat::Infinite)
        .map_err(|e| ViewerError::file(out, e))?;
    // GIF delays are in hundredths of a second.
    let delay = (seconds_per_frame * 100.0).round().clamp(2.0, 65535.0) as u16;
    for frame in frames {
        let mut gif_frame = gif::Frame::from_rgb_speed(w, h, &frame.rgb, 10);
        gif_frame.delay = delay;
        encoder
            .write_frame(&gif_frame)
            .map_err(|e| ViewerError::file(out, e))?;
    }
    Ok(())
}

/// ffmpeg output arguments for H.264 in MP4, playable everywhere.
const MP4_CODEC: [&str; 4] = ["-pix_fmt", "yuv420p", "-movflags", "+faststart"];
/// ffmpeg output arguments for VP8 in WebM, which every browser plays.
const WEBM_CODEC: [&str; 6] = ["-c:v", "libvpx", "-b:v", "1M", "-pix_fmt", "yuv420p"];

fn write_with_ffmpeg(
    frames: &[Frame],
    options: &RenderOptions,
    seconds_per_frame: f64,
    out: &Path,
    codec: &[&str],
) -> Result<(), ViewerError> {
    let fps = format!("{:.3}", 1.0 / seconds_per_frame.max(1e-3));
    let size = format!("{}x{}", options.width, options.height);
    let mut child = Command::new("ffmpeg")
        .args([
            "-y",
            "-loglevel",
            "error",
            "-f",
            "rawvideo",
            "-pix_fmt",
            "rgb24",
        ])
        .args(["-s", &size, "-r", &fps, "-i", "-"])
        .args(["-vf", "pad=ceil(iw/2)*2:ceil(ih/2)*2"])
        .args(codec)
        .arg(out)
        .stdin(Stdio::piped())
        .spawn()
        .map_err(|e| {
            ViewerError::Render(format!(
                "{} needs ffmpeg ({e}); install it, or write a .gif instead",
                out.display()
            ))
        })?;
    let mut stdin = child.stdin.take().expect("stdin is piped");
    for frame in frames {
        stdin
            .write_all(&frame.rgb)
            .map_err(|e| ViewerError::Render(format!("ffmpeg: {e}")))?;
    }
    drop(stdin);
    let status = child
        .wait()
        .map_err(|e| ViewerError::Render(format!("ffmpeg: {e}")))?;
    if !status.success() {
        return Err(ViewerError::Render(format!("ffmpeg failed ({status})")));
    }
    Ok(())
}
