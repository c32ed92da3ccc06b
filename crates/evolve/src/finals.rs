//! The final evaluation: the best reward found and the hand-written human and sparse ones,
//! each trained from scratch with every final seed at the top rung's steps, through the run's
//! executor; then the best final run of the best reward is kept as `best-policy/`.

use crate::evolution::Event;
use crate::evolution::Evolution;
use crate::fitness;
use crate::jobs::Job;
use crate::library;
use crate::store::{FinalRun, Status};
use crate::{EvolveError, Observer};
use std::path::Path;
use std::sync::atomic::AtomicBool;

/// The final evaluation's rewards: the best found and the two hand-written baselines.
pub const FINAL_LABELS: [&str; 3] = ["best", "human", "sparse"];

impl Evolution {
    /// Trains the best, human and sparse rewards with each final seed; `Ok(false)` when
    /// stopped.
    pub(crate) fn final_evaluation(
        &mut self,
        observer: &mut dyn Observer,
        stop: &AtomicBool,
    ) -> Result<bool, EvolveError> {
        let best = self.ranked()?.into_iter().next();
        if let Some(best) = &best {
            let code = best.code.as_deref().unwrap_or_default();
            let path = self.dir.join("best.rhai");
            std::fs::write(&path, code).map_err(|e| EvolveError::io(&path, e))?;
        }
        let programs = self.config.library()?;
        let program = |label: &str| -> Option<String> {
            match label {
                "best" => best.as_ref().and_then(|b| b.code.clone()),
                _ => library::baseline(&programs, &self.config.env, &format!("{label}.rhai"))
                    .map(|(code, _)| code),
            }
        };
        let done: Vec<(String, u64)> = self
            .store
            .final_runs()?
            .into_iter()
            .filter(|r| r.status != Status::Pending)
            .map(|r| (r.label, r.seed))
            .collect();
        let mut jobs = Vec::new();
        let mut runs = Vec::new();
        for label in FINAL_LABELS {
            let Some(code) = program(label) else { continue };
            for k in 1..=u64::from(self.config.seeds) {
                let seed = self.config.seed.wrapping_add(k);
                if done.contains(&(label.to_string(), seed)) {
                    continue;
                }
                let rel = format!("final/{label}-seed{seed}");
                let dir = self.dir.join(&rel);
                std::fs::create_dir_all(self.dir.join("final"))
                    .map_err(|e| EvolveError::io(&dir, e))?;
                self.prepare_run(&dir, &code, seed)?;
                jobs.push(Job { dir, until: None });
                runs.push((label, seed, rel));
            }
        }
        let store = &self.store;
        let finished = self.train_jobs(
            "final",
            "final evaluation",
            &jobs,
            observer,
            stop,
            &mut |index, outcome, observer| {
                let (label, seed, rel) = &runs[index];
                let run = FinalRun {
                    label: label.to_string(),
                    seed: *seed,
                    status: outcome.status,
                    error: outcome.error,
                    fitness: outcome.fitness,
                    task_measure: outcome.task_measure,
                    run_dir: rel.clone(),
                };
                store.upsert_final_run(&run)?;
                observer.event(Event::FinalRun(&run));
                Ok(())
            },
        )?;
        if finished {
            self.keep_best_policy()?;
        }
        Ok(finished)
    }

    /// Copies the best final run of the best reward to `best-policy/`, a run directory that
    /// `rewardgen eval --run` reads.
    fn keep_best_policy(&self) -> Result<(), EvolveError> {
        let mut runs: Vec<FinalRun> = self
            .store
            .final_runs()?
            .into_iter()
            .filter(|r| r.label == "best" && r.status == Status::Trained)
            .collect();
        runs.sort_by(|a, b| fitness::rank((a.fitness, None), (b.fitness, None)));
        let Some(best) = runs.first() else {
            return Ok(());
        };
        let target = self.dir.join("best-policy");
        let _ = std::fs::remove_dir_all(&target);
        copy_dir(&self.dir.join(&best.run_dir), &target)
    }
}

fn copy_dir(from: &Path, to: &Path) -> Result<(), EvolveError> {
    std::fs::create_dir_all(to).map_err(|e| EvolveError::io(to, e))?;
    for entry in std::fs::read_dir(from).map_err(|e| EvolveError::io(from, e))? {
        let entry = entry.map_err(|e| EvolveError::io(from, e))?;
        let target = to.join(entry.file_name());
        // The entry itself, not what a link points to: only folders and regular files are
        // copied (a FIFO planted in a run would block the copy).
        let kind = entry.file_type().map_err(|e| EvolveError::io(from, e))?;
        if kind.is_dir() {
            copy_dir(&entry.path(), &target)?;
        } else if kind.is_file() {
            std::fs::copy(entry.path(), &target).map_err(|e| EvolveError::io(&target, e))?;
        }
    }
    Ok(())
}
