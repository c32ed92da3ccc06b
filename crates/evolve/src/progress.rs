//! How far a run is: candidates done out of samples × generations, and env steps done out of
//! the whole budget ([`EvolveConfig::total_steps`]: every generation's schedule plus the final
//! evaluation's 3 rewards × seeds × top-rung steps), with the time left estimated from the
//! measured throughput. `rewardgen evolve`'s progress bar and `rewardgen show` print the same
//! figures.

use crate::EvolveError;
use crate::config::EvolveConfig;
use crate::finals::FINAL_LABELS;
use crate::jobs::steps_done;
use crate::schedule::Schedule;
use crate::store::unix_time;
use crate::store::{Attempt, Status, Store};
use crate::text::{format_count, format_duration};
use std::path::Path;

/// A run's progress. Steps count what the budget has used up, rung by rung: a candidate that
/// finished a rung (or crashed in it) counts that rung's steps, one training now counts the
/// steps in its `metrics.jsonl`, and a slot of the schedule that will not be used (a sample
/// whose every try failed its check, a rung with fewer candidates to promote than planned)
/// counts once that is known. A final reward with no program counts as its whole budget.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RunProgress {
    /// Samples (over all generations) that have their result at the lowest rung.
    pub candidates_done: u64,
    /// samples × generations.
    pub candidates_total: u64,
    /// Final-evaluation runs ended.
    pub final_done: u64,
    /// 3 rewards × seeds.
    pub final_total: u64,
    pub steps_done: u64,
    pub steps_budget: u64,
    /// Whether the run has written its report.
    pub finished: bool,
}

/// Seconds left to reach `budget` steps, at the throughput measured so far (`done` steps in
/// `elapsed_secs` seconds); `None` while nothing is measured yet.
///
/// 1 000 of 4 000 steps in 10 s is 100 steps/s, so the other 3 000 take 30 s.
pub fn eta_secs(done: u64, budget: u64, elapsed_secs: f64) -> Option<f64> {
    if done >= budget {
        return Some(0.0);
    }
    if done == 0 || !elapsed_secs.is_finite() || elapsed_secs <= 0.0 {
        return None;
    }
    // Steps left ÷ (done ÷ elapsed), in the order that loses the least precision.
    Some((budget - done) as f64 * elapsed_secs / done as f64)
}

/// Env steps per second, `None` while nothing is measured yet.
pub fn throughput(done: u64, elapsed_secs: f64) -> Option<f64> {
    (done > 0 && elapsed_secs.is_finite() && elapsed_secs > 0.0).then(|| done as f64 / elapsed_secs)
}

impl RunProgress {
    /// `candidates 3/12, final runs 0/9`.
    pub fn candidates_line(&self) -> String {
        format!(
            "candidates {}/{}, final runs {}/{}",
            self.candidates_done, self.candidates_total, self.final_done, self.final_total
        )
    }

    /// `steps 61,440/2,250,000 (3%)`.
    pub fn steps_line(&self) -> String {
        let percent = self
            .steps_done
            .saturating_mul(100)
            .checked_div(self.steps_budget)
            .unwrap_or(100);
        format!(
            "steps {}/{} ({percent}%)",
            format_count(self.steps_done),
            format_count(self.steps_budget)
        )
    }

    /// `finished`, or the throughput and time left when `steps` steps took `elapsed_secs`.
    pub fn eta_line(&self, steps: u64, left: u64, elapsed_secs: f64) -> String {
        if self.finished {
            return "finished".into();
        }
        match (
            throughput(steps, elapsed_secs),
            eta_secs(steps, steps.saturating_add(left), elapsed_secs),
        ) {
            (Some(rate), Some(eta)) => format!(
                "{} steps/s, eta {}",
                format_count(rate.round() as u64),
                format_duration(eta)
            ),
            _ => "eta unknown (no steps measured yet)".into(),
        }
    }
}

/// The progress of the run in `dir` from its store and its running candidates' metrics.
pub fn measure(
    dir: &Path,
    store: &Store,
    config: &EvolveConfig,
) -> Result<RunProgress, EvolveError> {
    let schedule = config.schedule();
    let steps = schedule.top_steps();
    let finished = store.meta("finished")?.is_some();
    let finished_generations: Vec<u32> = store
        .finished_generations()?
        .into_iter()
        .map(|(g, _)| g)
        .collect();
    let attempts = store.attempts()?;
    let mut progress = RunProgress {
        candidates_total: u64::from(config.samples) * u64::from(config.generations),
        final_total: FINAL_LABELS.len() as u64 * u64::from(config.seeds),
        steps_budget: config.total_steps(),
        finished,
        ..RunProgress::default()
    };
    let live = |rel: &str| steps_done(&dir.join(rel)).min(steps);
    for generation in 0..config.generations {
        let mine: Vec<&Attempt> = attempts
            .iter()
            .filter(|a| a.generation == generation)
            .collect();
        if finished || finished_generations.contains(&generation) {
            progress.candidates_done += u64::from(config.samples);
            progress.steps_done += schedule.generation_steps(u64::from(config.samples));
            continue;
        }
        let (done, steps_done) = generation_progress(&mine, config, &schedule, &live);
        progress.candidates_done += done;
        progress.steps_done += steps_done;
    }
    let final_runs = store.final_runs()?;
    // The final evaluation prepares every run directory before training any, so once it has
    // begun a reward with neither a directory nor a result has no program and is skipped.
    let started = !final_runs.is_empty()
        || std::fs::read_dir(dir.join("final")).is_ok_and(|mut d| d.next().is_some());
    for label in FINAL_LABELS {
        let mut any = false;
        let mut label_progress = (0, 0);
        for k in 1..=u64::from(config.seeds) {
            let seed = config.seed.wrapping_add(k);
            let rel = format!("final/{label}-seed{seed}");
            if final_runs
                .iter()
                .any(|r| r.label == label && r.seed == seed && r.status != Status::Pending)
            {
                any = true;
                label_progress.0 += 1;
                label_progress.1 += steps;
            } else if dir.join(&rel).is_dir() {
                any = true;
                label_progress.1 += live(&rel);
            }
        }
        if finished || (started && !any) {
            progress.final_done += u64::from(config.seeds);
            progress.steps_done += u64::from(config.seeds) * steps;
        } else {
            progress.final_done += label_progress.0;
            progress.steps_done += label_progress.1;
        }
    }
    progress.steps_done = progress.steps_done.min(progress.steps_budget);
    Ok(progress)
}

/// Samples done at the lowest rung and env steps used up in one unfinished generation; `live`
/// reads the steps a running candidate's directory holds.
fn generation_progress(
    attempts: &[&Attempt],
    config: &EvolveConfig,
    schedule: &Schedule,
    live: &dyn Fn(&str) -> u64,
) -> (u64, u64) {
    let mut below = 0;
    let increments: Vec<u64> = schedule
        .rung_steps
        .iter()
        .map(|s| {
            let increment = s - below;
            below = *s;
            increment
        })
        .collect();
    let planned = schedule.planned(u64::from(config.samples));
    let mut checked = Vec::new();
    let mut failed_out = 0;
    let mut decided = 0;
    for sample in 0..config.samples {
        let tries: Vec<&&Attempt> = attempts.iter().filter(|a| a.sample == sample).collect();
        if let Some(entrant) = tries.iter().find(|a| a.status.checked()) {
            checked.push(**entrant);
            decided += 1;
        } else if tries.len() as u64 > u64::from(config.retries) {
            failed_out += 1;
            decided += 1;
        }
    }
    let at_least = |k: usize| {
        checked
            .iter()
            .filter(|a| a.rung.is_some_and(|r| r as usize >= k))
            .count() as u64
    };
    let done = at_least(0) + failed_out;
    let mut steps = failed_out * increments[0];
    // Entrants of the rung, once known: every checked sample's candidate at rung 0, then as
    // many as the rung below promotes.
    let mut entrants = (decided == u64::from(config.samples)).then_some(checked.len() as u64);
    for (k, increment) in increments.iter().enumerate() {
        steps += at_least(k) * increment;
        for a in &checked {
            let next = a.rung.map_or(0, |r| r as usize + 1);
            if next == k
                && a.status == Status::Pending
                && let Some(rel) = a.run_dir.as_deref()
            {
                let before = schedule.rung_steps[k] - increment;
                steps += live(rel).saturating_sub(before).min(*increment);
            }
        }
        let Some(count) = entrants else { break };
        if k > 0 {
            steps += planned[k].saturating_sub(count) * increment;
        }
        if at_least(k) < count {
            break;
        }
        let crashed = checked
            .iter()
            .filter(|a| a.status == Status::Crashed && a.rung == Some(k as u32))
            .count() as u64;
        entrants = Some((schedule.promoted(count as usize) as u64).min(count - crashed));
    }
    (done, steps)
}

/// Seconds the run in `dir` has taken: from its start to its end, or to now while it is not
/// finished (a stopped run's pause counts).
pub fn elapsed_secs(store: &Store) -> Result<f64, EvolveError> {
    let read = |key: &str| -> Result<Option<u64>, EvolveError> {
        Ok(store.meta(key)?.and_then(|v| v.trim().parse().ok()))
    };
    let Some(started) = read("started")? else {
        return Ok(0.0);
    };
    let end = read("finished")?.unwrap_or_else(unix_time);
    Ok(end.saturating_sub(started) as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_eta_is_the_steps_left_at_the_measured_throughput() {
        // 1 000 of 4 000 steps in 10 s: 100 steps/s, 3 000 steps left, 30 s.
        assert_eq!(eta_secs(1_000, 4_000, 10.0), Some(30.0));
        assert_eq!(throughput(1_000, 10.0), Some(100.0));
        // Halfway after 2 minutes: 2 more minutes.
        assert_eq!(eta_secs(500, 1_000, 120.0), Some(120.0));
        // Nothing measured yet: no estimate, rather than infinity or NaN.
        assert_eq!(eta_secs(0, 4_000, 10.0), None);
        assert_eq!(eta_secs(1_000, 4_000, 0.0), None);
        assert_eq!(eta_secs(1_000, 4_000, f64::NAN), None);
        // Done (or past the budget): nothing left.
        assert_eq!(eta_secs(4_000, 4_000, 10.0), Some(0.0));
        assert_eq!(eta_secs(5_000, 4_000, 10.0), Some(0.0));
    }

    #[test]
    fn lines_read_as_a_person_reads_them() {
        let progress = RunProgress {
            candidates_done: 3,
            candidates_total: 12,
            final_done: 0,
            final_total: 9,
            steps_done: 450_000,
            steps_budget: 3_150_000,
            finished: false,
        };
        assert_eq!(
            progress.candidates_line(),
            "candidates 3/12, final runs 0/9"
        );
        assert_eq!(progress.steps_line(), "steps 450,000/3,150,000 (14%)");
        assert_eq!(
            progress.eta_line(450_000, 2_700_000, 300.0),
            "1,500 steps/s, eta 30m 00s"
        );
        assert_eq!(
            progress.eta_line(0, 3_150_000, 300.0),
            "eta unknown (no steps measured yet)"
        );
        let done = RunProgress {
            finished: true,
            ..progress
        };
        assert_eq!(done.eta_line(0, 0, 0.0), "finished");
    }

    #[test]
    fn a_generation_counts_each_rung_and_the_slots_it_will_not_use() {
        let mut config = EvolveConfig::new("franka-reach", crate::Budget::Quick);
        (config.samples, config.retries, config.steps, config.rungs) = (4, 0, 900, 3);
        let schedule = config.schedule();
        assert_eq!(schedule.rung_steps, vec![100, 300, 900]);
        let attempt = |sample, status, rung, run_dir: Option<&str>| Attempt {
            generation: 0,
            sample,
            status,
            rung,
            run_dir: run_dir.map(str::to_string),
        };
        let attempts = [
            attempt(0, Status::Stopped, Some(0), Some("a")),
            // Promoted, and 200 steps into rung 1.
            attempt(1, Status::Pending, Some(0), Some("b")),
            attempt(2, Status::Crashed, Some(0), Some("c")),
            attempt(3, Status::FailedCheck, None, None),
        ];
        let refs: Vec<&Attempt> = attempts.iter().collect();
        let live = |rel: &str| match rel {
            "b" => 200,
            "d" => 50,
            _ => 100,
        };
        // Rung 0: 3 candidates and the failed sample's slot, 4 × 100. Rung 1: ceil(3 / 3) = 1
        // of the 2 planned is promoted, so one slot of 200 goes unused, and the promoted one
        // has done 100 of its 200.
        assert_eq!(
            generation_progress(&refs, &config, &schedule, &live),
            (4, 400 + 200 + 100)
        );
        // While samples are still being generated, only rung 0 counts: one candidate done
        // and one 50 steps in.
        let sampling = [
            attempt(0, Status::Pending, None, Some("d")),
            attempt(1, Status::Stopped, Some(0), Some("a")),
        ];
        let refs: Vec<&Attempt> = sampling.iter().collect();
        assert_eq!(
            generation_progress(&refs, &config, &schedule, &live),
            (1, 100 + 50)
        );
    }
}
