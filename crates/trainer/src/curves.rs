//! `curves.png`: episodic return, success rate and reward components against env steps.

use crate::TrainError;
use crate::metrics::MetricsRow;
use plotters::prelude::*;
use std::path::Path;

/// Width of a chart, and height of each panel.
const WIDTH: u32 = 900;
const PANEL_HEIGHT: u32 = 300;

/// The `(step, value)` points of one metric, skipping rows without it.
pub fn series(rows: &[MetricsRow], key: &str) -> Vec<(f64, f64)> {
    rows.iter()
        .filter_map(|row| Some((*row.get("global_step")?, *row.get(key)?)))
        .filter(|(_, v)| v.is_finite())
        .collect()
}

fn bounds(lines: &[Vec<(f64, f64)>]) -> Option<((f64, f64), (f64, f64))> {
    let points = lines.iter().flatten();
    let (mut x0, mut x1, mut y0, mut y1) = (
        f64::INFINITY,
        f64::NEG_INFINITY,
        f64::INFINITY,
        f64::NEG_INFINITY,
    );
    for (x, y) in points {
        x0 = x0.min(*x);
        x1 = x1.max(*x);
        y0 = y0.min(*y);
        y1 = y1.max(*y);
    }
    if !x0.is_finite() {
        return None;
    }
    let pad = ((y1 - y0) * 0.05).max(1e-3);
    Some(((x0, x1.max(x0 + 1.0)), (y0 - pad, y1 + pad)))
}

/// One chart: a line per `(label, points)`.
pub struct Panel {
    pub title: String,
    pub x_desc: String,
    pub lines: Vec<(String, Vec<(f64, f64)>)>,
}

/// Draws `panels` stacked in one PNG.
pub fn draw_panels(path: &Path, panels: &[Panel]) -> Result<(), String> {
    let draw = || -> Result<(), Box<dyn std::error::Error>> {
        let root = BitMapBackend::new(path, (WIDTH, PANEL_HEIGHT * panels.len().max(1) as u32))
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

fn panel(
    area: &DrawingArea<BitMapBackend, plotters::coord::Shift>,
    p: &Panel,
) -> Result<(), Box<dyn std::error::Error>> {
    let (title, lines) = (p.title.as_str(), &p.lines);
    let points: Vec<Vec<(f64, f64)>> = lines.iter().map(|(_, p)| p.clone()).collect();
    let Some(((x0, x1), (y0, y1))) = bounds(&points) else {
        area.titled(&format!("{title}: no data yet"), ("sans-serif", 18))?;
        return Ok(());
    };
    let mut chart = ChartBuilder::on(area)
        .caption(title, ("sans-serif", 18))
        .margin(10)
        .x_label_area_size(30)
        .y_label_area_size(60)
        .build_cartesian_2d(x0..x1, y0..y1)?;
    chart
        .configure_mesh()
        .x_desc(p.x_desc.as_str())
        .light_line_style(WHITE.mix(0.0))
        .draw()?;
    for (i, (label, points)) in lines.iter().enumerate() {
        let color = Palette99::pick(i).to_rgba();
        chart
            .draw_series(LineSeries::new(
                points.iter().copied(),
                color.stroke_width(2),
            ))?
            .label(label.as_str())
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 16, y)], color.stroke_width(2))
            });
    }
    if lines.len() > 1 {
        chart
            .configure_series_labels()
            .background_style(WHITE.mix(0.8))
            .border_style(BLACK)
            .draw()?;
    }
    Ok(())
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
    let components: Vec<(String, Vec<(f64, f64)>)> = names
        .into_iter()
        .map(|k| (k.trim_start_matches("reward/").to_string(), series(rows, k)))
        .collect();
    let panel = |title: &str, lines| Panel {
        title: title.into(),
        x_desc: "env steps".into(),
        lines,
    };
    draw_panels(
        path,
        &[
            panel(
                "episodic return",
                vec![("return".into(), series(rows, "charts/episodic_return"))],
            ),
            panel(
                "success rate",
                vec![("success".into(), series(rows, "charts/success_rate"))],
            ),
            panel("reward components (mean per step)", components),
        ],
    )
    .map_err(|e| TrainError::file(path, e))
}
