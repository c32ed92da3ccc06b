//! A training run's TensorBoard event file, read back with the `tensorboard` package's own
//! event reader, holds the same metrics as its metrics.jsonl.

mod common;

use common::{scratch_dir, tiny_training_run};
use std::collections::BTreeMap;
use std::path::Path;

const READER: &str = r#"
import json, sys
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
acc = EventAccumulator(sys.argv[1], size_guidance={"scalars": 0})
acc.Reload()
print(json.dumps({tag: [[e.step, e.value] for e in acc.Scalars(tag)] for tag in acc.Tags()["scalars"]}))
"#;

#[test]
fn tensorboard_reads_the_same_metrics_as_metrics_jsonl() {
    let python = Path::new(env!("CARGO_MANIFEST_DIR")).join(".test-venv/bin/python");
    if !python.exists() {
        test_skip::skip(
            "tensorboard_reads_the_same_metrics_as_metrics_jsonl",
            &python.display().to_string(),
            "scripts/test-venv.sh installs it",
        );
        return;
    }
    let run = tiny_training_run(&scratch_dir("tensorboard"));
    let events: Vec<_> = std::fs::read_dir(&run)
        .unwrap()
        .flatten()
        .filter(|e| {
            e.file_name()
                .to_string_lossy()
                .starts_with("events.out.tfevents.")
        })
        .collect();
    assert_eq!(events.len(), 1, "one event file in {}", run.display());
    let output = std::process::Command::new(&python)
        .args(["-c", READER, run.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let read: BTreeMap<String, Vec<(i64, f64)>> =
        serde_json::from_slice(&output.stdout).expect("the reader prints JSON");
    let rows: Vec<BTreeMap<String, serde_json::Value>> =
        std::fs::read_to_string(run.join("metrics.jsonl"))
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
    assert!(!rows.is_empty());
    let tags: Vec<&String> = rows[0].keys().filter(|k| *k != "global_step").collect();
    assert_eq!(
        read.keys().collect::<Vec<_>>(),
        tags,
        "the same metric names"
    );
    for tag in tags {
        let expected: Vec<(i64, f64)> = rows
            .iter()
            .filter_map(|row| {
                let step = row["global_step"].as_f64()? as i64;
                row.get(tag)?.as_f64().map(|v| (step, v))
            })
            .collect();
        let got = &read[tag];
        assert_eq!(got.len(), expected.len(), "{tag}");
        for ((s1, v1), (s2, v2)) in got.iter().zip(&expected) {
            assert_eq!(s1, s2, "{tag}");
            assert!(
                (v1 - v2).abs() <= 1e-6 * v2.abs().max(1.0),
                "{tag} at {s1}: {v1} vs {v2} (stored as 32-bit floats)"
            );
        }
    }
}
