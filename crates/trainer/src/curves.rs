//! `curves.png`: episodic return, success rate and reward components against env steps, each
//! smoothed by a moving average over a stated number of updates; and the plot primitives the
//! evolve report draws with (lines, 95% bands, points, a legend outside the data).

use crate::TrainError;
use crate::metrics::MetricsRow;
use plotters::prelude::*;
use std::path::Path;

/// Width of a chart's data area, and height of each panel.
const WIDTH: u32 = 820;
const PANEL_HEIGHT: u32 = 320;
/// The column right of the data area that holds the legend.
const LEGEND_WIDTH: u32 = 230;
const FONT: &str = "sans-serif";

/// The `(step, value)` points of one metric, skipping rows without it.
pub fn series(rows: &[MetricsRow], key: &str) -> Vec<(f64, f64)> {
    rows.iter()
        .filter_map(|row| Some((*row.get("global_step")?, *row.get(key)?)))
        .filter(|(_, v)| v.is_finite())
        .collect()
}

/// The moving-average window, in updates (metrics rows), for a curve of `n` points: a tenth
/// of the curve, at least 1 (no smoothing) and at most 20.
pub fn smoothing_window(n: usize) -> usize {
    (n / 10).clamp(1, 20)
}

/// How a window is stated on an axis: "moving average over K updates", or "unsmoothed".
pub fn window_text(window: usize) -> String {
    if window <= 1 {
        "unsmoothed".into()
    } else {
        format!("moving average over {window} updates")
    }
}

/// The centred moving average of `points` over `window` points (updates): each point's value
/// becomes the mean of the `window` points around it, fewer at the ends; x is unchanged.
pub fn smooth(points: &[(f64, f64)], window: usize) -> Vec<(f64, f64)> {
    let window = window.max(1);
    let (before, after) = ((window - 1) / 2, window / 2);
    (0..points.len())
        .map(|i| {
            let lo = i.saturating_sub(before);
            let hi = (i + after).min(points.len() - 1);
            let sum: f64 = points[lo..=hi].iter().map(|p| p.1).sum();
            (points[i].0, sum / (hi - lo + 1) as f64)
        })
        .collect()
}

/// `n` evenly spaced x values from the smallest to the largest x of any curve; empty when
/// the curves have no points.
pub fn common_grid(curves: &[Vec<(f64, f64)>], n: usize) -> Vec<f64> {
    let xs = curves.iter().flatten().map(|p| p.0);
    let (x0, x1) = xs.fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), x| {
        (a.min(x), b.max(x))
    });
    if !x0.is_finite() || n == 0 {
        return Vec::new();
    }
    if n == 1 || x1 <= x0 {
        return vec![x0];
    }
    (0..n)
        .map(|i| x0 + (x1 - x0) * i as f64 / (n - 1) as f64)
        .collect()
}

/// `points` (sorted by x) linearly interpolated at each x of `grid`; `None` outside the
/// points' x range, so a seed contributes only where it has data.
pub fn resample(points: &[(f64, f64)], grid: &[f64]) -> Vec<Option<f64>> {
    grid.iter()
        .map(|&x| {
            let first = points.first()?;
            let last = points.last()?;
            if x < first.0 || x > last.0 {
                return None;
            }
            let i = points.partition_point(|p| p.0 < x);
            let b = points[i.min(points.len() - 1)];
            if b.0 == x || i == 0 {
                return Some(b.1);
            }
            let a = points[i - 1];
            Some(a.1 + (b.1 - a.1) * (x - a.0) / (b.0 - a.0))
        })
        .collect()
}

/// An axis tick: 1.5M, 20k, 512, 0.25.
fn tick_label(x: f64) -> String {
    // Rounded to drop floating-point fuzz (0.30000000000000004), and never "-0".
    let short = |v: f64, scale: f64| format!("{}", (v * scale).round() / scale + 0.0);
    if x.abs() >= 1e6 {
        format!("{}M", short(x / 1e6, 1e2))
    } else if x.abs() >= 1e3 {
        format!("{}k", short(x / 1e3, 1e2))
    } else {
        short(x, 1e6)
    }
}

/// How a series is drawn.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Style {
    /// A solid line.
    Line,
    /// A thin, faint line (the raw values under a smoothed one).
    Faint,
    /// A dot per point, no line.
    Points,
}

/// One series of a chart, with an optional band `(x, low, high)` shaded under it.
#[derive(Debug, Clone)]
pub struct Series {
    pub label: String,
    pub points: Vec<(f64, f64)>,
    pub band: Vec<(f64, f64, f64)>,
    pub style: Style,
    /// Index into the palette, so related series share a colour.
    pub color: usize,
}

impl Series {
    pub fn line(label: impl Into<String>, points: Vec<(f64, f64)>, color: usize) -> Self {
        Self {
            label: label.into(),
            points,
            band: Vec::new(),
            style: Style::Line,
            color,
        }
    }
}

/// One chart: its series, and the legend to the right of the data area.
pub struct Panel {
    pub title: String,
    pub x_desc: String,
    pub y_desc: String,
    pub lines: Vec<Series>,
    /// Label the x axis with whole numbers only (generations).
    pub integer_x: bool,
    /// Extra lines printed under the legend entries (what the band means, the window).
    pub notes: Vec<String>,
}

fn color(i: usize) -> RGBColor {
    // Colour-blind-safe (Okabe–Ito) first, then plotters' palette.
    const OKABE_ITO: [RGBColor; 7] = [
        RGBColor(0, 114, 178),
        RGBColor(213, 94, 0),
        RGBColor(0, 158, 115),
        RGBColor(204, 121, 167),
        RGBColor(230, 159, 0),
        RGBColor(86, 180, 233),
        RGBColor(120, 120, 120),
    ];
    OKABE_ITO.get(i).copied().unwrap_or_else(|| {
        let (r, g, b) = Palette99::pick(i).rgb();
        RGBColor(r, g, b)
    })
}

fn bounds(lines: &[Series]) -> Option<((f64, f64), (f64, f64))> {
    let (mut x0, mut x1, mut y0, mut y1) = (
        f64::INFINITY,
        f64::NEG_INFINITY,
        f64::INFINITY,
        f64::NEG_INFINITY,
    );
    for s in lines {
        let band = s.band.iter().flat_map(|&(x, lo, hi)| [(x, lo), (x, hi)]);
        for (x, y) in s.points.iter().copied().chain(band) {
            if x.is_finite() && y.is_finite() {
                x0 = x0.min(x);
                x1 = x1.max(x);
                y0 = y0.min(y);
                y1 = y1.max(y);
            }
        }
    }
    if !x0.is_finite() {
        return None;
    }
    let pad = ((y1 - y0) * 0.05).max(1e-3);
    Some(((x0, x1.max(x0 + 1.0)), (y0 - pad, y1 + pad)))
}

/// Draws `panels` stacked in one PNG.
pub fn draw_panels(path: &Path, panels: &[Panel]) -> Result<(), String> {
    let draw = || -> Result<(), Box<dyn std::error::Error>> {
        let root = BitMapBackend::new(
            path,
            (
                WIDTH + LEGEND_WIDTH,
                PANEL_HEIGHT * panels.len().max(1) as u32,
            ),
        )
        .into_drawing_area();
        root.fill(&WHITE)?;
        for (area, p) in root
            .split_evenly((panels.len().max(1), 1))
            .iter()
            .zip(panels)
        {
            panel(area, p)?;
        }
        root.present()?;
        Ok(())
    };
    draw().map_err(|e| format!("{}: {e}", path.display()))
}

type Area<'a> = DrawingArea<BitMapBackend<'a>, plotters::coord::Shift>;

fn panel(area: &Area, p: &Panel) -> Result<(), Box<dyn std::error::Error>> {
    let (plot, legend_area) = area.split_horizontally(WIDTH);
    let Some(((x0, x1), (y0, y1))) = bounds(&p.lines) else {
        plot.titled(&format!("{}: no data yet", p.title), (FONT, 20))?;
        return Ok(());
    };
    let (x0, x1) = if p.integer_x {
        (x0 - 0.3, x1 + 0.3)
    } else {
        (x0, x1)
    };
    let mut chart = ChartBuilder::on(&plot)
        .caption(p.title.as_str(), (FONT, 20))
        .margin(10)
        .margin_right(20)
        .x_label_area_size(45)
        .y_label_area_size(70)
        .build_cartesian_2d(x0..x1, y0..y1)?;
    let integer_x = p.integer_x;
    let x_format = move |x: &f64| {
        if integer_x {
            if (x - x.round()).abs() < 1e-9 {
                format!("{}", x.round() as i64)
            } else {
                String::new()
            }
        } else {
            tick_label(*x)
        }
    };
    chart
        .configure_mesh()
        .x_desc(p.x_desc.as_str())
        .y_desc(p.y_desc.as_str())
        .axis_desc_style((FONT, 16))
        .label_style((FONT, 14))
        .x_labels(if integer_x {
            ((x1 - x0).round() as usize + 2).min(30)
        } else {
            8
        })
        .x_label_formatter(&x_format)
        .y_label_formatter(&|y: &f64| tick_label(*y))
        .light_line_style(WHITE.mix(0.0))
        .bold_line_style(BLACK.mix(0.08))
        .draw()?;
    for s in &p.lines {
        if s.band.len() > 1 {
            let c = color(s.color);
            let mut outline: Vec<(f64, f64)> = s.band.iter().map(|&(x, _, hi)| (x, hi)).collect();
            outline.extend(s.band.iter().rev().map(|&(x, lo, _)| (x, lo)));
            chart.draw_series(std::iter::once(Polygon::new(outline, c.mix(0.2).filled())))?;
        }
    }
    for s in &p.lines {
        let c = color(s.color);
        match s.style {
            Style::Line => {
                chart.draw_series(LineSeries::new(s.points.iter().copied(), c.stroke_width(2)))?;
            }
            Style::Faint => {
                chart.draw_series(LineSeries::new(
                    s.points.iter().copied(),
                    c.mix(0.35).stroke_width(1),
                ))?;
            }
            Style::Points => {
                chart.draw_series(
                    s.points
                        .iter()
                        .map(|&p| Circle::new(p, 4, c.mix(0.7).filled())),
                )?;
            }
        }
    }
    legend(&legend_area, p)
}

/// The legend, in the column right of the data area: a swatch and label per series, then the
/// panel's notes.
fn legend(area: &Area, p: &Panel) -> Result<(), Box<dyn std::error::Error>> {
    let text = (FONT, 15).into_font().color(&BLACK);
    let note = (FONT, 13).into_font().color(&BLACK.mix(0.7));
    let mut y = 40;
    if p.lines.len() > 1 || !p.notes.is_empty() {
        for s in &p.lines {
            let c = color(s.color);
            let mid = y + 8;
            if !s.band.is_empty() {
                area.draw(&Rectangle::new([(4, y), (28, y + 16)], c.mix(0.2).filled()))?;
            }
            match s.style {
                Style::Line => area.draw(&PathElement::new(
                    vec![(4, mid), (28, mid)],
                    c.stroke_width(3),
                ))?,
                Style::Faint => area.draw(&PathElement::new(
                    vec![(4, mid), (28, mid)],
                    c.mix(0.35).stroke_width(1),
                ))?,
                Style::Points => area.draw(&Circle::new((16, mid), 4, c.mix(0.7).filled()))?,
            }
            area.draw(&Text::new(s.label.clone(), (34, y), text.clone()))?;
            y += 24;
        }
        y += 6;
        for line in &p.notes {
            area.draw(&Text::new(line.clone(), (4, y), note.clone()))?;
            y += 18;
        }
    }
    Ok(())
}

/// A smoothed line over the faint raw values of one metric.
fn smoothed_with_raw(label: &str, raw: Vec<(f64, f64)>, window: usize) -> Vec<Series> {
    let smoothed = smooth(&raw, window);
    vec![
        Series {
            label: "per update".into(),
            points: raw,
            band: Vec::new(),
            style: Style::Faint,
            color: 0,
        },
        Series::line(label, smoothed, 0),
    ]
}

/// Writes `path` from a run's metrics rows.
pub fn draw_curves(rows: &[MetricsRow], path: &Path) -> Result<(), TrainError> {
    let mut names: Vec<&String> = rows
        .iter()
        .flat_map(|r| r.keys())
        .filter(|k| k.starts_with("reward/"))
        .collect();
    names.sort();
    names.dedup();
    let window = smoothing_window(rows.len());
    let stated = window_text(window);
    let components: Vec<Series> = names
        .into_iter()
        .enumerate()
        .map(|(i, k)| {
            Series::line(
                k.trim_start_matches("reward/"),
                smooth(&series(rows, k), window),
                i,
            )
        })
        .collect();
    let x_desc = format!("env steps ({stated})");
    let smoothed_label = if window > 1 {
        format!("mean of {window} updates")
    } else {
        "per update".into()
    };
    let single = |title: &str, y_desc: &str, key: &str| Panel {
        title: title.into(),
        x_desc: x_desc.clone(),
        y_desc: y_desc.into(),
        lines: if window > 1 {
            smoothed_with_raw(&smoothed_label, series(rows, key), window)
        } else {
            vec![Series::line(&smoothed_label, series(rows, key), 0)]
        },
        integer_x: false,
        notes: Vec::new(),
    };
    draw_panels(
        path,
        &[
            single(
                "episodic return",
                "return (reward per episode)",
                "charts/episodic_return",
            ),
            single(
                "success rate",
                "success rate (fraction of episodes)",
                "charts/success_rate",
            ),
            Panel {
                title: "reward components".into(),
                x_desc,
                y_desc: "mean reward per step".into(),
                lines: components,
                integer_x: false,
                notes: Vec::new(),
            },
        ],
    )
    .map_err(|e| TrainError::file(path, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn smoothing_is_a_centred_moving_average_that_shrinks_at_the_ends() {
        let points = [(0.0, 0.0), (1.0, 3.0), (2.0, 6.0), (3.0, 0.0), (4.0, 3.0)];
        let smoothed = smooth(&points, 3);
        let ys: Vec<f64> = smoothed.iter().map(|p| p.1).collect();
        assert_eq!(ys, vec![1.5, 3.0, 3.0, 3.0, 1.5]);
        assert_eq!(
            smoothed.iter().map(|p| p.0).collect::<Vec<_>>(),
            vec![0.0, 1.0, 2.0, 3.0, 4.0]
        );
        assert_eq!(smooth(&points, 1), points.to_vec());
        assert!(smooth(&[], 5).is_empty());
        assert_eq!(smoothing_window(8), 1);
        assert_eq!(smoothing_window(64), 6);
        assert_eq!(smoothing_window(5000), 20);
        assert_eq!(window_text(1), "unsmoothed");
        assert_eq!(window_text(6), "moving average over 6 updates");
        assert_eq!(tick_label(-0.0), "0");
        assert_eq!(tick_label(0.1 + 0.2), "0.3");
        assert_eq!(tick_label(25_000.0), "25k");
        assert_eq!(tick_label(1_500_000.0), "1.5M");
    }

    #[test]
    fn seeds_resample_onto_a_common_grid_by_linear_interpolation() {
        // Two seeds logged at different steps.
        let a = vec![(0.0, 0.0), (100.0, 10.0)];
        let b = vec![(50.0, 4.0), (150.0, 8.0), (200.0, 0.0)];
        let grid = common_grid(&[a.clone(), b.clone()], 5);
        assert_eq!(grid, vec![0.0, 50.0, 100.0, 150.0, 200.0]);
        assert_eq!(
            resample(&a, &grid),
            vec![Some(0.0), Some(5.0), Some(10.0), None, None]
        );
        assert_eq!(
            resample(&b, &grid),
            vec![None, Some(4.0), Some(6.0), Some(8.0), Some(0.0)]
        );
        assert_eq!(resample(&b, &[75.0]), vec![Some(5.0)]);
        assert!(common_grid(&[vec![]], 5).is_empty());
        assert_eq!(common_grid(&[vec![(3.0, 1.0)]], 5), vec![3.0]);
    }
}
