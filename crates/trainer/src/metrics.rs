//! `metrics.jsonl`: one JSON object per update, with stable grouped names as CleanRL logs
//! them (`charts/...`, `losses/...`, `reward/...`).
//!
//! JSON has no infinity or NaN, and serde_json writes them as `null`, which does not read
//! back as a number. A metric that overflowed (a reward of 1e307 summed over an episode is
//! `inf`) is written as the string `"inf"`, `"-inf"` or `"nan"` instead, and read back as that
//! value; `null`, from files written before, reads back as NaN. [`JsonF64`] is that encoding,
//! for any stored f64.

use crate::TrainError;
use crate::tensorboard::EventFile;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

/// One update's metrics by name.
pub type MetricsRow = BTreeMap<String, f64>;

/// An f64 that survives JSON: a number when finite, else `"inf"`, `"-inf"` or `"nan"`.
/// Reading accepts numbers, those strings (and `"+inf"`, `"infinity"`, `"-infinity"`, any
/// case), and `null` as NaN.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct JsonF64(pub f64);

impl Serialize for JsonF64 {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let v = self.0;
        if v.is_finite() {
            serializer.serialize_f64(v)
        } else if v.is_nan() {
            serializer.serialize_str("nan")
        } else if v > 0.0 {
            serializer.serialize_str("inf")
        } else {
            serializer.serialize_str("-inf")
        }
    }
}

impl<'de> Deserialize<'de> for JsonF64 {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl serde::de::Visitor<'_> for Visitor {
            type Value = JsonF64;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a number, \"inf\", \"-inf\" or \"nan\"")
            }
            fn visit_f64<E>(self, v: f64) -> Result<JsonF64, E> {
                Ok(JsonF64(v))
            }
            fn visit_i64<E>(self, v: i64) -> Result<JsonF64, E> {
                Ok(JsonF64(v as f64))
            }
            fn visit_u64<E>(self, v: u64) -> Result<JsonF64, E> {
                Ok(JsonF64(v as f64))
            }
            fn visit_unit<E>(self) -> Result<JsonF64, E> {
                Ok(JsonF64(f64::NAN))
            }
            fn visit_none<E>(self) -> Result<JsonF64, E> {
                Ok(JsonF64(f64::NAN))
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<JsonF64, E> {
                match v.to_ascii_lowercase().as_str() {
                    "inf" | "+inf" | "infinity" | "+infinity" => Ok(JsonF64(f64::INFINITY)),
                    "-inf" | "-infinity" => Ok(JsonF64(f64::NEG_INFINITY)),
                    "nan" => Ok(JsonF64(f64::NAN)),
                    _ => Err(E::invalid_value(serde::de::Unexpected::Str(v), &self)),
                }
            }
        }
        deserializer.deserialize_any(Visitor)
    }
}

/// `#[serde(with = "json_f64")]` for an f64 field stored as [`JsonF64`].
pub mod json_f64 {
    use super::JsonF64;
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    pub fn serialize<S: Serializer>(v: &f64, serializer: S) -> Result<S::Ok, S::Error> {
        JsonF64(*v).serialize(serializer)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<f64, D::Error> {
        Ok(JsonF64::deserialize(deserializer)?.0)
    }
}

/// `#[serde(with = "json_f64_opt")]` for an `Option<f64>` field: `null` is `None`, a value is
/// a [`JsonF64`] (so `-inf` stays `-inf` instead of turning into `None`).
pub mod json_f64_opt {
    use super::JsonF64;
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    pub fn serialize<S: Serializer>(v: &Option<f64>, serializer: S) -> Result<S::Ok, S::Error> {
        v.map(JsonF64).serialize(serializer)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Option<f64>, D::Error> {
        Ok(Option::<JsonF64>::deserialize(deserializer)?.map(|v| v.0))
    }
}

/// `#[serde(with = "json_f64_vec")]` for a `Vec<f64>` field stored as [`JsonF64`]s.
pub mod json_f64_vec {
    use super::JsonF64;
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    pub fn serialize<S: Serializer>(v: &[f64], serializer: S) -> Result<S::Ok, S::Error> {
        let values: Vec<JsonF64> = v.iter().copied().map(JsonF64).collect();
        values.serialize(serializer)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<f64>, D::Error> {
        let values = Vec::<JsonF64>::deserialize(deserializer)?;
        Ok(values.into_iter().map(|v| v.0).collect())
    }
}

/// `#[serde(with = "json_f64_map")]` for a `BTreeMap<String, f64>` field stored as
/// [`JsonF64`]s.
pub mod json_f64_map {
    use super::JsonF64;
    use serde::{Deserialize, Deserializer, Serialize, Serializer};
    use std::collections::BTreeMap;

    pub fn serialize<S: Serializer>(
        map: &BTreeMap<String, f64>,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        let values: BTreeMap<&str, JsonF64> =
            map.iter().map(|(k, v)| (k.as_str(), JsonF64(*v))).collect();
        values.serialize(serializer)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<BTreeMap<String, f64>, D::Error> {
        let values = BTreeMap::<String, JsonF64>::deserialize(deserializer)?;
        Ok(values.into_iter().map(|(k, v)| (k, v.0)).collect())
    }
}

/// One row as a line of JSON (no newline), non-finite values as strings.
pub fn encode_row(row: &MetricsRow) -> String {
    let mut out = Vec::new();
    let mut serializer = serde_json::Serializer::new(&mut out);
    json_f64_map::serialize(row, &mut serializer).expect("a map of strings to numbers serializes");
    String::from_utf8(out).expect("serde_json writes UTF-8")
}

/// One row read back from [`encode_row`]'s form (or an older one with `null`s).
pub fn decode_row(line: &str) -> Result<MetricsRow, serde_json::Error> {
    let mut deserializer = serde_json::Deserializer::from_str(line);
    let row = json_f64_map::deserialize(&mut deserializer)?;
    deserializer.end()?;
    Ok(row)
}

/// Appends rows to a run's `metrics.jsonl`, and the same metrics to a TensorBoard event
/// file beside it.
pub struct MetricsLog {
    path: PathBuf,
    file: File,
    events: EventFile,
}

impl MetricsLog {
    /// Opens `path` for appending, creating it when missing.
    pub fn open(path: &Path) -> Result<Self, TrainError> {
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .map_err(|e| TrainError::file(path, e))?;
        let dir = path.parent().unwrap_or(Path::new("."));
        let events = EventFile::create(dir).map_err(|e| TrainError::file(dir, e))?;
        Ok(Self {
            path: path.to_path_buf(),
            file,
            events,
        })
    }

    /// Writes one row as a line and flushes it, so a killed run keeps every finished update.
    pub fn write(&mut self, row: &MetricsRow) -> Result<(), TrainError> {
        let mut line = encode_row(row);
        line.push('\n');
        self.file
            .write_all(line.as_bytes())
            .and_then(|()| self.file.flush())
            .map_err(|e| TrainError::file(&self.path, e))?;
        self.events
            .write(row)
            .map_err(|e| TrainError::file(self.events.path(), e))
    }
}

/// Reads every row of a `metrics.jsonl`; a malformed line is an error naming its number. A
/// last line cut short (no newline, not JSON) is a write a kill interrupted, and is skipped.
pub fn read_metrics(path: &Path) -> Result<Vec<MetricsRow>, TrainError> {
    let text = user_files::read_to_string(path, user_files::Kind::METRICS)?;
    let torn_tail = !text.is_empty() && !text.ends_with('\n');
    let lines: Vec<&str> = text.lines().collect();
    let mut rows = Vec::with_capacity(lines.len());
    for (i, line) in lines.iter().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        match decode_row(line) {
            Ok(row) => rows.push(row),
            Err(_) if torn_tail && i + 1 == lines.len() => {}
            Err(e) => return Err(TrainError::file(path, format!("line {}: {e}", i + 1))),
        }
    }
    Ok(rows)
}

/// The mean of `key` over the last `fraction` (0 to 1] of the rows that have it, at least one
/// row; `None` when no row has it. Evolve's fitness reads training this way, so that one
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

#[cfg(test)]
mod tests {
    use super::*;

    fn row(pairs: &[(&str, f64)]) -> MetricsRow {
        pairs.iter().map(|(k, v)| (k.to_string(), *v)).collect()
    }

    #[test]
    fn non_finite_values_are_written_as_strings_and_read_back() {
        let r = row(&[
            ("charts/episodic_return", f64::INFINITY),
            ("losses/value_loss", f64::NEG_INFINITY),
            ("losses/policy_loss", f64::NAN),
            ("global_step", 128.0),
        ]);
        let line = encode_row(&r);
        assert_eq!(
            line,
            r#"{"charts/episodic_return":"inf","global_step":128.0,"losses/policy_loss":"nan","losses/value_loss":"-inf"}"#
        );
        let back = decode_row(&line).unwrap();
        assert_eq!(back["charts/episodic_return"], f64::INFINITY);
        assert_eq!(back["losses/value_loss"], f64::NEG_INFINITY);
        assert!(back["losses/policy_loss"].is_nan());
        assert_eq!(back["global_step"], 128.0);
        // Rows written before this encoding, with serde_json's null, read as NaN.
        let old = decode_row(r#"{"charts/episodic_return":null,"update":1}"#).unwrap();
        assert!(old["charts/episodic_return"].is_nan());
        assert!(decode_row(r#"{"a":"many"}"#).is_err());
    }

    #[test]
    fn optional_values_keep_their_infinities() {
        #[derive(serde::Serialize, serde::Deserialize)]
        struct S {
            #[serde(with = "json_f64_opt")]
            v: Option<f64>,
        }
        let text = serde_json::to_string(&S {
            v: Some(f64::NEG_INFINITY),
        })
        .unwrap();
        assert_eq!(text, r#"{"v":"-inf"}"#);
        let back: S = serde_json::from_str(&text).unwrap();
        assert_eq!(back.v, Some(f64::NEG_INFINITY));
        let none: S = serde_json::from_str(r#"{"v":null}"#).unwrap();
        assert_eq!(none.v, None);
    }

    #[test]
    fn a_log_with_overflowed_values_reads_back_whole() {
        let dir = std::env::temp_dir().join(format!("metrics-inf-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(crate::run_dir::METRICS_FILE);
        let _ = std::fs::remove_file(&path);
        let mut log = MetricsLog::open(&path).unwrap();
        log.write(&row(&[
            ("update", 1.0),
            ("charts/episodic_return", 1e307 * 50.0),
        ]))
        .unwrap();
        log.write(&row(&[("update", 2.0), ("charts/episodic_return", 1.0)]))
            .unwrap();
        let rows = read_metrics(&path).unwrap();
        assert_eq!(rows.len(), 2);
        assert!(rows[0]["charts/episodic_return"].is_infinite());
        assert_eq!(window_mean(&rows, "update", 1.0), Some(1.5));
        let _ = std::fs::remove_dir_all(&dir);
    }
}
