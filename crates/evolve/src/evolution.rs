//! The loop: sample programs, check them, train them in parallel rung by rung (successive
//! halving, [`crate::schedule`]), score them by the task's own measure, reflect, select, repeat; then retrain the best, human and sparse rewards with
//! several seeds and write the report. Every step is in the run store, so a run stopped at any
//! point (even by `kill -9`) resumes without losing or retraining a finished candidate.

use crate::config::EvolveConfig;
use crate::config::ExecutorKind;
use crate::extract::extract_code;
use crate::fitness;
use crate::generator::{Generator, SampleRequest};
use crate::jobs::{Executor, Job, JobEvent, JobExit, Local};
use crate::progress::{self, RunProgress};
use crate::prompts::Prompts;
use crate::reflection::Reflection;
use crate::schedule::{self, Schedule};
use crate::slurm::Slurm;
use crate::store::{
    Candidate, FinalRun, LlmCall, NewCandidate, RunLock, RungResult, Status, Store, TrainingResult,
    unix_time,
};
use crate::{DATABASE_FILE, EvolveError, report};
use envs::{EnvOptions, TaskSpec};
use llm::Message;
use reward_dsl::{Limits, RecordedState, RewardProgram};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use trainer::{Run, RunDir, RunEnd, RunSetup};

/// The error a reply with no code block is answered with.
pub const NO_CODE_ERROR: &str = "The reply has no code block. Put the whole program in one \
                                 fenced block that starts with ```rhai and ends with ```.";

/// What the loop tells its display.
pub enum Event<'a> {
    /// A generation begins.
    Generation { generation: u32 },
    /// A sample's attempt was generated and checked.
    Sampled(&'a Candidate),
    /// About once a second while candidates or final runs train: what is training, and the
    /// whole run's progress (candidates, final runs, env steps out of the whole budget).
    Training {
        what: &'a str,
        progress: &'a RunProgress,
    },
    /// A rung of a generation begins: the `candidates` (ids) that entered it train to `steps`
    /// env steps (past the lowest rung, resuming from their checkpoints); `of` is how many
    /// entered the rung below.
    Rung {
        generation: u32,
        rung: usize,
        candidates: &'a [i64],
        of: usize,
        steps: u64,
    },
    /// A candidate's training to a rung ended (trained to it, or crashed).
    Trained(&'a Candidate),
    /// A generation ended with this elite, and the video of its policy (or why there is
    /// none).
    GenerationDone {
        generation: u32,
        elite: Option<&'a Candidate>,
        video: Result<&'a Option<PathBuf>, &'a str>,
    },
    /// A final-evaluation run ended.
    FinalRun(&'a FinalRun),
}

/// Watches the loop and, when interactive, answers with feedback.
pub trait Observer {
    fn event(&mut self, event: Event);
    /// Called after each generation with the elite's summary; a returned text is fed to the
    /// next generation.
    fn feedback(&mut self, _summary: &str) -> Option<String> {
        None
    }
}

/// How [`Evolution::run`] ended.
#[derive(Debug, PartialEq, Eq)]
pub enum Outcome {
    /// The report is written.
    Finished,
    /// The stop flag was raised; `--resume` continues.
    Stopped,
}

/// An evolve run.
pub struct Evolution {
    pub dir: PathBuf,
    pub config: EvolveConfig,
    pub(crate) store: Store,
    prompts: Prompts,
    spec: TaskSpec,
    states: Vec<RecordedState>,
    generator: Box<dyn Generator>,
    trainer_exe: PathBuf,
    /// Held for as long as the loop runs.
    _lock: RunLock,
}

impl Evolution {
    /// Starts a new run in `dir`, or continues the one there when `resume`.
    pub fn open(
        dir: &Path,
        config: EvolveConfig,
        generator: Box<dyn Generator>,
        trainer_exe: PathBuf,
        resume: bool,
    ) -> Result<Self, EvolveError> {
        config.validate().map_err(EvolveError::Config)?;
        std::fs::create_dir_all(dir).map_err(|e| EvolveError::io(dir, e))?;
        let lock = RunLock::acquire(dir)?;
        let db = dir.join(DATABASE_FILE);
        if !resume && db.exists() {
            return Err(EvolveError::Config(format!(
                "{} already holds an evolve run; continue it with --resume {0}, or choose another --out",
                dir.display()
            )));
        }
        std::fs::create_dir_all(dir.join("candidates")).map_err(|e| EvolveError::io(dir, e))?;
        let store = Store::open(&db)?;
        if !resume {
            let text = serde_json::to_string_pretty(&config).expect("the config serializes");
            store.set_meta("config", &text)?;
            store.set_meta("generator", &generator.name())?;
            store.set_meta("started", &unix_time().to_string())?;
        }
        if let Some(price) = generator.price() {
            let text = serde_json::to_string(&price).expect("prices serialize");
            store.set_meta("price", &text)?;
        }
        let prompts = Prompts::load(config.templates.as_deref())?;
        let mut env = task_file::make(&config.env, &EnvOptions::default())?;
        let states = reward_dsl::record_states(
            &mut *env,
            reward_dsl::DRY_RUN_SEEDS,
            reward_dsl::DRY_RUN_STEPS,
        );
        let spec = env.spec().clone();
        Ok(Self {
            dir: dir.to_path_buf(),
            config,
            store,
            prompts,
            spec,
            states,
            generator,
            trainer_exe,
            _lock: lock,
        })
    }

    /// The run store.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// Adds feedback for the next generation to be sampled.
    pub fn add_feedback(&self, text: &str) -> Result<(), EvolveError> {
        let next = self.store.finished_generations()?.len() as u32;
        let key = format!("feedback/{next}");
        let joined = match self.store.meta(&key)? {
            Some(old) => format!("{old}\n{text}"),
            None => text.to_string(),
        };
        self.store.set_meta(&key, &joined)
    }

    /// Runs (or continues) the loop to the end, or until `stop` is raised.
    pub fn run(
        &mut self,
        observer: &mut dyn Observer,
        stop: &AtomicBool,
    ) -> Result<Outcome, EvolveError> {
        let done: Vec<u32> = self
            .store
            .finished_generations()?
            .iter()
            .map(|(g, _)| *g)
            .collect();
        for generation in 0..self.config.generations {
            if done.contains(&generation) {
                continue;
            }
            observer.event(Event::Generation { generation });
            if !self.sample_generation(generation, observer, stop)?
                || !self.train_generation(generation, observer, stop)?
            {
                return Ok(Outcome::Stopped);
            }
            let elite = self.ranked()?.into_iter().next();
            let video = match &elite {
                Some(elite) => self.render_elite(generation, elite),
                None => Ok(None),
            };
            self.store
                .finish_generation(generation, elite.as_ref().map(|c| c.id))?;
            observer.event(Event::GenerationDone {
                generation,
                elite: elite.as_ref(),
                video: video.as_ref().map_err(String::as_str),
            });
            if let Some(elite) = &elite
                && generation + 1 < self.config.generations
                && let Some(text) = observer.feedback(&self.summary(elite))
                && !text.trim().is_empty()
            {
                self.add_feedback(text.trim())?;
            }
        }
        if !self.final_evaluation(observer, stop)? {
            return Ok(Outcome::Stopped);
        }
        self.store.set_meta("finished", &unix_time().to_string())?;
        report::write(&self.dir, &self.store, &self.spec)?;
        Ok(Outcome::Finished)
    }

    /// Records one deterministic episode of the elite's policy and renders it to
    /// `videos/generation-G.gif`, for the report and for people giving feedback. A machine that
    /// cannot render (no EGL) gets the reason instead; the run goes on.
    fn render_elite(&self, generation: u32, elite: &Candidate) -> Result<Option<PathBuf>, String> {
        let Some(rel) = &elite.run_dir else {
            return Ok(None);
        };
        let out = self.dir.join(format!("videos/generation-{generation}.gif"));
        viewer::render_run(
            &self.dir.join(rel),
            0,
            &viewer::RenderOptions::default(),
            &out,
        )
        .map_err(|e| e.to_string())?;
        Ok(Some(out))
    }

    /// Candidates with a fitness, best first ([`schedule::ranked`]).
    pub(crate) fn ranked(&self) -> Result<Vec<Candidate>, EvolveError> {
        let candidates = self.store.candidates()?;
        Ok(schedule::ranked(&candidates).into_iter().cloned().collect())
    }

    /// The elite, and the runner-up with different code when crossover is on.
    fn parents(&self) -> Result<Vec<Candidate>, EvolveError> {
        let ranked = self.ranked()?;
        let mut parents: Vec<Candidate> = ranked.iter().take(1).cloned().collect();
        if self.config.crossover
            && let Some(elite) = ranked.first()
            && let Some(second) = ranked.iter().find(|c| c.code != elite.code)
        {
            parents.push(second.clone());
        }
        Ok(parents)
    }

    fn summary(&self, elite: &Candidate) -> String {
        format!(
            "Elite: candidate {} (generation {}, sample {}), fitness {}\n```rhai\n{}\n```\n{}",
            elite.id,
            elite.generation,
            elite.sample,
            crate::text::format_opt(elite.fitness),
            elite.code.as_deref().unwrap_or_default().trim_end(),
            elite.reflection.as_deref().unwrap_or_default()
        )
    }

    /// The conversation every sample of `generation` starts from.
    fn base_messages(
        &self,
        generation: u32,
        parents: &[Candidate],
    ) -> Result<Vec<Message>, EvolveError> {
        let mut messages = vec![
            self.prompts.system()?,
            self.prompts.environment(&self.spec.describe_for_llm())?,
        ];
        if let Some(elite) = parents.first() {
            messages.push(Message::assistant(elite.reply.clone()));
            let score = elite.fitness.map(|f| self.describe_fitness(f));
            messages.push(self.prompts.reflection(
                elite.code.as_deref().unwrap_or_default(),
                elite.reflection.as_deref().unwrap_or_default(),
                score.as_deref(),
            )?);
        }
        if let Some(feedback) = self.store.meta(&format!("feedback/{generation}"))? {
            let note = self.prompts.feedback(&feedback)?;
            let last = messages.last_mut().expect("there is a user message");
            last.content = format!("{}\n\n{}", last.content, note.content);
        }
        Ok(messages)
    }

    fn describe_fitness(&self, fitness: f64) -> String {
        let f = &self.spec.fitness;
        if f.higher_is_better {
            format!("{} = {fitness:.3}", f.info_key)
        } else {
            format!("{} = {:.3} (lower is better)", f.info_key, -fitness)
        }
    }

    /// Compiles and dry-runs a program; the error text carries line, column and the line.
    fn check(&self, code: &str, file: &str) -> Result<(), String> {
        let program =
            RewardProgram::compile(code, file, &self.spec.state_schema, &Limits::default())
                .map_err(|e| e.to_string())?;
        reward_dsl::check(
            &program,
            &self.spec.name,
            &self.states,
            self.spec.control_dt(),
        )
        .map(|_| ())
        .map_err(|e| e.to_string())
    }

    /// Makes sure every sample of `generation` has a checked program or has used up its tries;
    /// `Ok(false)` when stopped.
    fn sample_generation(
        &mut self,
        generation: u32,
        observer: &mut dyn Observer,
        stop: &AtomicBool,
    ) -> Result<bool, EvolveError> {
        let existing = self.store.generation_candidates(generation)?;
        let parents = self.parents()?;
        let parent_ids: Vec<i64> = parents.iter().map(|c| c.id).collect();
        let parent_code: Vec<String> = parents.iter().filter_map(|c| c.code.clone()).collect();
        let base = self.base_messages(generation, &parents)?;
        for sample in 0..self.config.samples {
            let tries: Vec<&Candidate> = existing.iter().filter(|c| c.sample == sample).collect();
            if tries
                .iter()
                .any(|c| !matches!(c.status, Status::NoCode | Status::FailedCheck))
            {
                continue;
            }
            let mut messages = base.clone();
            for failed in &tries {
                messages.push(Message::assistant(failed.reply.clone()));
                messages.push(
                    self.prompts
                        .execution_error(failed.error.as_deref().unwrap_or_default())?,
                );
            }
            for attempt in tries.len() as u32..=self.config.retries {
                if stop.load(Ordering::Relaxed) {
                    return Ok(false);
                }
                let reply = self.generator.reply(&SampleRequest {
                    generation,
                    sample,
                    attempt,
                    messages: &messages,
                    parents: &parent_code,
                })?;
                if let Some(call) = &reply.call {
                    self.store.insert_llm_call(&LlmCall {
                        generation,
                        sample,
                        attempt,
                        request: call.request.clone(),
                        response: call.response.clone(),
                        prompt_tokens: reply.usage.prompt_tokens,
                        completion_tokens: reply.usage.completion_tokens,
                        attempts: call.attempts,
                        seconds: call.seconds,
                    })?;
                }
                let code = extract_code(&reply.text);
                let file = format!("g{generation}-s{sample}-a{attempt}.rhai");
                let (status, error) = match &code {
                    None => (Status::NoCode, Some(NO_CODE_ERROR.to_string())),
                    Some(code) => match self.check(code, &file) {
                        Ok(()) => (Status::Pending, None),
                        Err(e) => (Status::FailedCheck, Some(e)),
                    },
                };
                let prompt = serde_json::to_string(&messages).expect("messages serialize");
                let id = self.store.insert_candidate(&NewCandidate {
                    generation,
                    sample,
                    attempt,
                    parents: &parent_ids,
                    code: code.as_deref(),
                    prompt: &prompt,
                    reply: &reply.text,
                    prompt_tokens: reply.usage.prompt_tokens,
                    completion_tokens: reply.usage.completion_tokens,
                    status,
                    error: error.as_deref(),
                    operators: &reply.operators,
                })?;
                observer.event(Event::Sampled(&self.store.candidate(id)?));
                let Some(error) = error else { break };
                messages.push(Message::assistant(reply.text));
                messages.push(self.prompts.execution_error(&error)?);
            }
        }
        Ok(true)
    }

    /// Prepares a training run directory (once; a resumed run reuses it).
    pub(crate) fn prepare_run(&self, dir: &Path, code: &str, seed: u64) -> Result<(), EvolveError> {
        if RunDir::new(dir).config().exists() {
            return Ok(());
        }
        let source = dir.with_extension("rhai");
        std::fs::write(&source, code).map_err(|e| EvolveError::io(&source, e))?;
        let setup = RunSetup {
            env: self.config.env.clone(),
            env_options: EnvOptions::default(),
            reward_source: Some(source),
        };
        Run::create(dir, setup, self.config.train_config(seed))?;
        Ok(())
    }

    /// What a finished training process gave, scored at `rung_steps` (its rung's steps). A
    /// run that paused at its rung is `stopped` there until promoted; unreadable results make
    /// it `crashed`; a process that ended because the loop is stopping stays `pending`, to
    /// resume.
    pub(crate) fn read_training(
        &self,
        dir: &Path,
        exit: &JobExit,
        stopping: bool,
        rung_steps: u64,
    ) -> TrainingOutcome {
        let read =
            || -> Result<(Vec<trainer::metrics::MetricsRow>, Option<RunEnd>), EvolveError> {
                let run = Run::open(dir)?;
                let end = if exit.success {
                    run.outcome()?.map(|o| o.end)
                } else {
                    None
                };
                Ok((run.metrics()?, end))
            };
        let (rows, end, error) = match read() {
            Ok((rows, end)) => (rows, end, exit.log_tail.clone()),
            Err(e) => (Vec::new(), None, e.to_string()),
        };
        let status = match end {
            Some(RunEnd::Finished) => Status::Trained,
            Some(RunEnd::Paused) => Status::Stopped,
            Some(RunEnd::Stopped) => Status::Pending,
            None if stopping => Status::Pending,
            None => Status::Crashed,
        };
        let steps = rows
            .last()
            .and_then(|r| r.get("global_step"))
            .map_or(0, |s| *s as u64);
        if !status.has_fitness() {
            return TrainingOutcome {
                status,
                error: (status == Status::Crashed).then_some(error),
                fitness: None,
                task_measure: None,
                tiebreak: None,
                steps,
                reflection: None,
                rows,
            };
        }
        // All the rows, as the run paused at its rung (or ended at the top).
        let spec = &self.spec.fitness;
        let scored = fitness::rows_through(&rows, rung_steps);
        TrainingOutcome {
            status,
            error: None,
            fitness: fitness::fitness(scored, spec),
            task_measure: fitness::task_measure(scored, spec),
            tiebreak: fitness::tiebreak(scored, spec),
            steps,
            reflection: Some(Reflection::from_metrics(&rows, spec).to_text()),
            rows,
        }
    }

    /// Trains `jobs`, the batch named `batch`, through the run's executor, handing each
    /// ended one to `record` at once; `Ok(false)` when stopped.
    pub(crate) fn train_jobs(
        &self,
        batch: &str,
        what: &str,
        jobs: &[Job],
        observer: &mut dyn Observer,
        stop: &AtomicBool,
        record: &mut RecordOutcome,
    ) -> Result<bool, EvolveError> {
        let local;
        let slurm;
        let executor: &dyn Executor = match self.config.executor {
            ExecutorKind::Local => {
                local = Local {
                    exe: &self.trainer_exe,
                    parallel: self.config.jobs,
                };
                &local
            }
            ExecutorKind::Slurm => {
                slurm = Slurm {
                    options: &self.config.slurm,
                    run_dir: &self.dir,
                    store: &self.store,
                    exe: self
                        .config
                        .slurm
                        .binary
                        .clone()
                        .unwrap_or_else(|| self.trainer_exe.clone()),
                };
                &slurm
            }
        };
        executor.run(batch, jobs, stop, &mut |event| match event {
            JobEvent::Progress => {
                let progress = progress::measure(&self.dir, &self.store, &self.config)?;
                observer.event(Event::Training {
                    what,
                    progress: &progress,
                });
                Ok(())
            }
            JobEvent::Done { index, exit } => {
                let stopping = stop.load(Ordering::Relaxed);
                let job = &jobs[index];
                let rung_steps = job.until.unwrap_or(self.config.steps);
                let outcome = self.read_training(&job.dir, &exit, stopping, rung_steps);
                record(index, outcome, observer)
            }
        })
    }

    /// Trains the generation's checked candidates rung by rung, recording each as it ends:
    /// every one to the lowest rung, then the promoted ones of each rung on from their
    /// checkpoints to the next ([`schedule::rung_members`]). Candidates that finished a rung
    /// before a stop are not trained again. `Ok(false)` when stopped.
    fn train_generation(
        &mut self,
        generation: u32,
        observer: &mut dyn Observer,
        stop: &AtomicBool,
    ) -> Result<bool, EvolveError> {
        let schedule = self.config.schedule();
        for rung in 0..schedule.rung_steps.len() {
            let candidates = self.store.generation_candidates(generation)?;
            let rungs = schedule::rung_members(&candidates, &schedule);
            let Some(entrants) = rungs.get(rung) else {
                return Err(EvolveError::Schedule(format!(
                    "generation {generation}: rung {rung} is not decided although rung {} \
                     has ended",
                    rung.saturating_sub(1)
                )));
            };
            let todo: Vec<Candidate> = entrants
                .iter()
                .filter(|c| !c.finished_rung(rung))
                .map(|c| (*c).clone())
                .collect();
            if todo.is_empty() {
                continue;
            }
            let ids: Vec<i64> = entrants.iter().map(|c| c.id).collect();
            observer.event(Event::Rung {
                generation,
                rung,
                candidates: &ids,
                of: rung
                    .checked_sub(1)
                    .map_or(ids.len(), |below| rungs[below].len()),
                steps: schedule.rung_steps[rung],
            });
            if !self.train_rung(generation, rung, &schedule, &todo, observer, stop)? {
                return Ok(false);
            }
            // A training process interrupted from outside the loop ends without a result.
            let mut unfinished = Vec::new();
            for candidate in &todo {
                if !self.store.candidate(candidate.id)?.finished_rung(rung) {
                    unfinished.push(candidate.id.to_string());
                }
            }
            if !unfinished.is_empty() {
                return Err(EvolveError::Schedule(format!(
                    "generation {generation}, rung {rung}: the training of candidate {} was \
                     stopped from outside the loop and has no result; continue with --resume",
                    unfinished.join(", ")
                )));
            }
        }
        Ok(true)
    }

    /// Trains `todo`, candidates of one rung, to that rung; `Ok(false)` when stopped.
    fn train_rung(
        &self,
        generation: u32,
        rung: usize,
        schedule: &Schedule,
        todo: &[Candidate],
        observer: &mut dyn Observer,
        stop: &AtomicBool,
    ) -> Result<bool, EvolveError> {
        let mut jobs = Vec::new();
        for candidate in todo {
            let rel = format!("candidates/c{:04}", candidate.id);
            let dir = self.dir.join(&rel);
            let code = candidate.code.as_deref().unwrap_or_default();
            self.prepare_run(&dir, code, self.config.seed)?;
            self.store.set_run_dir(candidate.id, &rel)?;
            if candidate.status != Status::Pending {
                self.store.set_status(candidate.id, Status::Pending)?;
            }
            jobs.push(Job {
                dir,
                until: schedule.until(rung),
            });
        }
        let store = &self.store;
        self.train_jobs(
            &format!("g{generation}-r{rung}"),
            &format!("generation {generation}, rung {rung}"),
            &jobs,
            observer,
            stop,
            &mut |index, outcome, observer| {
                let candidate = &todo[index];
                record_rung(store, candidate, rung, &outcome)?;
                observer.event(Event::Trained(&store.candidate(candidate.id)?));
                Ok(())
            },
        )
    }
}

/// Stores one ended job's outcome (by job index) and tells the observer.
type RecordOutcome<'a> =
    dyn FnMut(usize, TrainingOutcome, &mut dyn Observer) -> Result<(), EvolveError> + 'a;

/// Stores what a candidate's training to `rung` gave: a result at the rung (trained or
/// stopped there), a crash in it, or, when the loop is stopping, only the steps and metrics
/// so far (the candidate stays at its last rung, pending).
fn record_rung(
    store: &Store,
    candidate: &Candidate,
    rung: usize,
    outcome: &TrainingOutcome,
) -> Result<(), EvolveError> {
    let mut rung_results = candidate.rung_results.clone();
    let ended = outcome.status != Status::Pending;
    if ended {
        rung_results.truncate(rung);
    }
    if outcome.status.has_fitness() {
        rung_results.push(RungResult {
            steps: outcome.steps,
            fitness: outcome.fitness,
            tiebreak: outcome.tiebreak,
        });
    }
    let (now_at, fitness, task_measure, tiebreak, reflection) = if ended {
        (
            Some(rung as u32),
            outcome.fitness,
            outcome.task_measure,
            outcome.tiebreak,
            outcome.reflection.as_deref(),
        )
    } else {
        (
            candidate.rung,
            candidate.fitness,
            candidate.task_measure,
            candidate.tiebreak,
            candidate.reflection.as_deref(),
        )
    };
    store.set_training_result(
        candidate.id,
        &TrainingResult {
            status: outcome.status,
            error: outcome.error.as_deref(),
            rung: now_at,
            rung_results: &rung_results,
            fitness,
            task_measure,
            tiebreak,
            steps: outcome.steps,
            reflection,
        },
        &outcome.rows,
    )
}

/// What reading a finished training run gave.
pub(crate) struct TrainingOutcome {
    pub(crate) status: Status,
    pub(crate) error: Option<String>,
    pub(crate) fitness: Option<f64>,
    pub(crate) task_measure: Option<f64>,
    tiebreak: Option<f64>,
    steps: u64,
    reflection: Option<String>,
    rows: Vec<trainer::metrics::MetricsRow>,
}
