//! Checks before training: compile (done by [`RewardProgram::compile`]), then a dry run on
//! states recorded from random-policy rollouts of the env.

use crate::{RewardError, RewardProgram, StateInput};
use envs::TaskEnv;
use rl_env::seeded_rng;
use serde::Serialize;
use std::collections::BTreeMap;

/// One recorded step: the state after an action, that action and the one before it.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordedState {
    pub values: Vec<f64>,
    pub action: Vec<f64>,
    pub prev_action: Vec<f64>,
    /// Step index within its episode, from 0.
    pub step: usize,
}

/// Random-policy episodes `check` dry-runs on (reset seeds 0..DRY_RUN_SEEDS).
pub const DRY_RUN_SEEDS: u64 = 8;
/// Steps per dry-run episode, at most.
pub const DRY_RUN_STEPS: usize = 100;

/// Records up to `steps` states from each of `seeds` random-policy episodes (seeds 0, 1, ...).
pub fn record_states(env: &mut dyn TaskEnv, seeds: u64, steps: usize) -> Vec<RecordedState> {
    let mut rng = seeded_rng(seeds);
    let mut states = Vec::new();
    for seed in 0..seeds {
        env.reset(Some(seed));
        let mut prev_action = vec![0.0; env.action_space().flat_dim()];
        for step in 0..steps {
            let action = env.action_space().sample(&mut rng);
            let result = env.step(&action);
            states.push(RecordedState {
                values: env.state(),
                action: action.clone(),
                prev_action: std::mem::replace(&mut prev_action, action),
                step,
            });
            if result.terminated || result.truncated {
                break;
            }
        }
    }
    states
}

/// The range of one component (or of the total) over a dry run.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ComponentRange {
    pub name: String,
    pub min: f64,
    pub max: f64,
    pub mean: f64,
    /// Mean |value| over the sum of every component's mean |value|.
    pub share_of_abs: f64,
}

/// What a successful check found.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CheckReport {
    pub file: String,
    pub env: String,
    /// Number of dry-run states evaluated.
    pub states: usize,
    pub total: ComponentRange,
    pub components: Vec<ComponentRange>,
    /// Components that never change, or that dominate |total|.
    pub warnings: Vec<String>,
}

/// Wall-clock seconds a whole dry run may take: a program slower than this over a few
/// hundred states would slow training to a crawl.
pub const DRY_RUN_SECONDS: f64 = 3.0;

/// A component is dominant when its share of the summed mean |component| is above this.
pub const DOMINANT_SHARE: f64 = 0.95;

/// Evaluates `program` on every recorded state. The first error fails the check, marked with
/// the dry-run step it happened at; so does a dry run longer than [`DRY_RUN_SECONDS`].
pub fn check(
    program: &RewardProgram,
    env_name: &str,
    states: &[RecordedState],
    dt: f64,
) -> Result<CheckReport, RewardError> {
    let started = std::time::Instant::now();
    let mut totals = Vec::with_capacity(states.len());
    let mut components: BTreeMap<String, Vec<f64>> = BTreeMap::new();
    for (i, state) in states.iter().enumerate() {
        let input = StateInput {
            values: &state.values,
            action: &state.action,
            prev_action: &state.prev_action,
            dt,
            step: state.step,
        };
        let output = program.evaluate(&input).map_err(|e| e.with_step(i))?;
        let seconds = started.elapsed().as_secs_f64();
        if seconds > DRY_RUN_SECONDS {
            return Err(program.slow_dry_run(i + 1, states.len(), seconds));
        }
        totals.push(output.total);
        for (name, value) in output.components {
            components.entry(name).or_default().push(value);
        }
    }
    let mean_abs = |v: &[f64]| v.iter().map(|x| x.abs()).sum::<f64>() / v.len().max(1) as f64;
    let abs_sum: f64 = components.values().map(|v| mean_abs(v)).sum();
    let range = |name: &str, values: &[f64]| ComponentRange {
        name: name.to_string(),
        min: values.iter().copied().fold(f64::INFINITY, f64::min),
        max: values.iter().copied().fold(f64::NEG_INFINITY, f64::max),
        mean: values.iter().sum::<f64>() / values.len().max(1) as f64,
        share_of_abs: if abs_sum > 0.0 {
            mean_abs(values) / abs_sum
        } else {
            0.0
        },
    };
    let ranges: Vec<ComponentRange> = components
        .iter()
        .map(|(name, values)| range(name, values))
        .collect();
    let mut warnings = Vec::new();
    for r in &ranges {
        if r.max - r.min <= 1e-12 * r.max.abs().max(1.0) {
            warnings.push(format!(
                "component '{}' is constant ({}) over {} dry-run states: it gives the policy no signal",
                r.name,
                r.min,
                states.len()
            ));
        }
        if ranges.len() > 1 && r.share_of_abs > DOMINANT_SHARE {
            warnings.push(format!(
                "component '{}' makes up {:.0}% of the summed |components|: the others barely matter; rescale them",
                r.name,
                r.share_of_abs * 100.0
            ));
        }
    }
    Ok(CheckReport {
        file: program.file().to_string(),
        env: env_name.to_string(),
        states: states.len(),
        total: range("total", &totals),
        components: ranges,
        warnings,
    })
}
