//! `metrics.jsonl`: one JSON object per update, with stable grouped names as CleanRL logs
//! them (`charts/...`, `losses/...`, `reward/...`).

use crate::TrainError;
use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

/// One update's metrics by name.
pub type MetricsRow = BTreeMap<String, f64>;

/// Appends rows to a run's `metrics.jsonl`.
pub struct MetricsLog {
    path: PathBuf,
    file: File,
}

impl MetricsLog {
    /// Opens `path` for appending, creating it when missing.
    pub fn open(path: &Path) -> Result<Self, TrainError> {
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .map_err(|e| TrainError::file(path, e))?;
        Ok(Self {
            path: path.to_path_buf(),
            file,
        })
    }

    /// Writes one row as a line and flushes it, so a killed run keeps every finished update.
    pub fn write(&mut self, row: &MetricsRow) -> Result<(), TrainError> {
        let mut line = serde_json::to_string(row).map_err(|e| TrainError::file(&self.path, e))?;
        line.push('\n');
        self.file
            .write_all(line.as_bytes())
            .and_then(|()| self.file.flush())
            .map_err(|e| TrainError::file(&self.path, e))
    }
}

/// Reads every row of a `metrics.jsonl`; a malformed line is an error naming its number. A
/// last line cut short (no newline, not JSON) is a write a kill interrupted, and is skipped.
pub fn read_metrics(path: &Path) -> Result<Vec<MetricsRow>, TrainError> {
    let text = std::fs::read_to_string(path).map_err(|e| TrainError::file(path, e))?;
    let torn_tail = !text.is_empty() && !text.ends_with('\n');
    let lines: Vec<&str> = text.lines().collect();
    let mut rows = Vec::with_capacity(lines.len());
    for (i, line) in lines.iter().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        match serde_json::from_str(line) {
            Ok(row) => rows.push(row),
            Err(_) if torn_tail && i + 1 == lines.len() => {}
            Err(e) => return Err(TrainError::file(path, format!("line {}: {e}", i + 1))),
        }
    }
    Ok(rows)
}

/// The mean of `key` over the last `fraction` (0 to 1] of the rows that have it, at least one
/// row; `None` when no row has it. Fitness and racing read training this way, so that one
/// lucky update does not decide.
pub fn window_mean(rows: &[MetricsRow], key: &str, fraction: f64) -> Option<f64> {
    let values: Vec<f64> = rows
        .iter()
        .filter_map(|row| row.get(key).copied())
        .collect();
    if values.is_empty() {
        return None;
    }
    let take = ((values.len() as f64 * fraction).ceil() as usize).clamp(1, values.len());
    let tail = &values[values.len() - take..];
    Some(tail.iter().sum::<f64>() / tail.len() as f64)
}
