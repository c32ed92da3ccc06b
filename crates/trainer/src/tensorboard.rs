//! TensorBoard event files, written beside `metrics.jsonl` with the same metric names, so
//! that `tensorboard --logdir runs/` shows every training run and evolve candidate.
//!
//! The format is TensorFlow's record file: each record is its length (u64, little-endian),
//! the masked CRC-32C of those 8 bytes, the data, and the masked CRC-32C of the data. Each
//! datum is an `Event` protocol buffer: the first holds `file_version`, the others one
//! scalar `Summary` per metric at the row's `global_step`. The few fields needed are encoded
//! by hand here (see TensorFlow's `event.proto` and `summary.proto`).

use std::collections::BTreeMap;
use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

/// CRC-32C (Castagnoli), reflected, as TensorFlow's record checksums use.
fn crc32c(bytes: &[u8]) -> u32 {
    const POLY: u32 = 0x82f6_3b78;
    let mut crc = !0u32;
    for &byte in bytes {
        crc ^= u32::from(byte);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ POLY
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

/// TensorFlow's masked CRC: rotated right by 15 bits plus a constant.
fn masked_crc(bytes: &[u8]) -> u32 {
    crc32c(bytes).rotate_right(15).wrapping_add(0xa282_ead8)
}

fn varint(out: &mut Vec<u8>, mut value: u64) {
    while value >= 0x80 {
        out.push((value as u8) | 0x80);
        value >>= 7;
    }
    out.push(value as u8);
}

/// A length-delimited field (wire type 2).
fn bytes_field(out: &mut Vec<u8>, field: u32, bytes: &[u8]) {
    varint(out, u64::from(field << 3 | 2));
    varint(out, bytes.len() as u64);
    out.extend_from_slice(bytes);
}

/// An `Event` with its wall time, and `step` and `summary` when given.
fn event(wall_time: f64, step: Option<i64>, body: impl FnOnce(&mut Vec<u8>)) -> Vec<u8> {
    let mut out = Vec::new();
    out.push(1 << 3 | 1); // wall_time: double
    out.extend_from_slice(&wall_time.to_le_bytes());
    if let Some(step) = step {
        out.push(2 << 3); // step: int64
        varint(&mut out, step as u64);
    }
    body(&mut out);
    out
}

/// `Summary { value: [Value { tag, simple_value }] }` for each metric.
fn summary(metrics: &[(&str, f64)]) -> Vec<u8> {
    let mut out = Vec::new();
    for (tag, value) in metrics {
        let mut entry = Vec::new();
        bytes_field(&mut entry, 1, tag.as_bytes());
        entry.push(2 << 3 | 5); // simple_value: float
        entry.extend_from_slice(&(*value as f32).to_le_bytes());
        bytes_field(&mut out, 1, &entry);
    }
    out
}

fn now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

/// One event file in a run directory.
pub struct EventFile {
    path: PathBuf,
    file: File,
}

impl EventFile {
    /// Starts `dir/events.out.tfevents.<seconds>.rewardgen`. A resumed run starts another;
    /// TensorBoard reads every event file in a directory.
    pub fn create(dir: &Path) -> std::io::Result<Self> {
        let wall_time = now();
        let mut name = format!("events.out.tfevents.{}.rewardgen", wall_time as u64);
        let mut n = 1;
        while dir.join(&name).exists() {
            name = format!("events.out.tfevents.{}.rewardgen.{n}", wall_time as u64);
            n += 1;
        }
        let path = dir.join(name);
        let mut events = Self {
            file: File::create_new(&path)?,
            path,
        };
        events.record(&event(wall_time, None, |out| {
            bytes_field(out, 3, b"brain.Event:2"); // file_version
        }))?;
        Ok(events)
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Writes every metric of `row` (a metrics row) but `global_step`, at that step, and
    /// flushes.
    pub fn write(&mut self, row: &BTreeMap<String, f64>) -> std::io::Result<()> {
        let step = row.get("global_step").copied().unwrap_or(0.0) as i64;
        let metrics: Vec<(&str, f64)> = row
            .iter()
            .filter(|(key, _)| *key != "global_step")
            .map(|(key, value)| (key.as_str(), *value))
            .collect();
        let data = summary(&metrics);
        self.record(&event(now(), Some(step), |out| bytes_field(out, 5, &data)))?;
        self.file.flush()
    }

    fn record(&mut self, data: &[u8]) -> std::io::Result<()> {
        let length = (data.len() as u64).to_le_bytes();
        let mut record = Vec::with_capacity(data.len() + 16);
        record.extend_from_slice(&length);
        record.extend_from_slice(&masked_crc(&length).to_le_bytes());
        record.extend_from_slice(data);
        record.extend_from_slice(&masked_crc(data).to_le_bytes());
        self.file.write_all(&record)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc32c_matches_the_standard_check_values() {
        // RFC 3720's check value for "123456789", and 32 zero bytes.
        assert_eq!(crc32c(b"123456789"), 0xe306_9283);
        assert_eq!(crc32c(&[0u8; 32]), 0x8a91_36aa);
    }

    #[test]
    fn varints_encode_as_protocol_buffers_do() {
        let mut out = Vec::new();
        varint(&mut out, 300);
        assert_eq!(out, [0xac, 0x02]);
    }
}
