//! `metrics.jsonl`: one JSON object per update, with stable grouped names as CleanRL logs
//! them (`charts/...`, `losses/...`, `reward/...`).

use crate::TrainError;
use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Write};
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
        let line = serde_json::to_string(row).map_err(|e| TrainError::file(&self.path, e))?;
        writeln!(self.file, "{line}").map_err(|e| TrainError::file(&self.path, e))?;
        self.file
            .flush()
            .map_err(|e| TrainError::file(&self.path, e))
    }
}

/// Reads every row of a `metrics.jsonl`; a malformed line is an error naming its number.
pub fn read_metrics(path: &Path) -> Result<Vec<MetricsRow>, TrainError> {
    let file = File::open(path).map_err(|e| TrainError::file(path, e))?;
    BufReader::new(file)
        .lines()
        .enumerate()
        .filter(|(_, line)| line.as_ref().map_or(true, |l| !l.trim().is_empty()))
        .map(|(i, line)| {
            let line = line.map_err(|e| TrainError::file(path, e))?;
            serde_json::from_str(&line)
                .map_err(|e| TrainError::file(path, format!("line {}: {e}", i + 1)))
        })
        .collect()
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
