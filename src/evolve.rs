//! `rewardgen evolve`, `runs` and `show`: argument handling and the progress display around the
//! evolve crate.

use anyhow::{Context, Result, bail};
use evolve::{
    Budget, Event, Evolution, EvolveConfig, EvolveFile, ExecutorKind, Generator, GeneratorKind,
    LlmGenerator, Observer, OfflineGenerator, Outcome, ReplayGenerator, RunProgress, Status, Store,
    report::Report,
};
use indicatif::{ProgressBar, ProgressStyle};
use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

/// Arguments of `rewardgen evolve`.
#[derive(clap::Args)]
pub struct EvolveArgs {
    /// Environment name (see `rewardgen envs`), mjcf:<path> or task:<path> (docs/tasks.md).
    #[arg(long, required_unless_present = "resume", value_parser = crate::env_name)]
    env: Option<String>,
    /// Preset sizes; the flags below override any part of it.
    #[arg(long, value_enum, default_value_t = Budget::Default)]
    budget: Budget,
    /// Where programs come from: offline (default, no language model), openai (any
    /// OpenAI-compatible endpoint) or replay (a stored run's replies, with --replay RUN).
    #[arg(long = "llm", value_enum)]
    generator: Option<GeneratorKind>,
    /// The run whose replies `--llm replay` plays back.
    #[arg(long, value_name = "RUN")]
    replay: Option<PathBuf>,
    /// Language model name (overrides REWARDGEN_LLM_MODEL and the config file).
    #[arg(long)]
    model: Option<String>,
    /// Sampling temperature of the language model.
    #[arg(long)]
    temperature: Option<f64>,
    /// TOML file with the language-model settings (base_url, model, api_key, price, ...).
    #[arg(long, value_name = "FILE")]
    llm_config: Option<PathBuf>,
    /// Samples (candidates) per generation.
    #[arg(long)]
    samples: Option<u32>,
    #[arg(long)]
    generations: Option<u32>,
    /// Env steps of the top rung: what the candidates promoted all the way and the final
    /// runs train for.
    #[arg(long)]
    steps: Option<u64>,
    /// Successive halving: one in ETA of each rung's candidates (rounded up) is promoted to
    /// the next.
    #[arg(long)]
    eta: Option<u32>,
    /// Rungs of the schedule; rung k trains to steps / eta^(rungs - 1 - k) env steps (1: every
    /// candidate to --steps).
    #[arg(long)]
    rungs: Option<u32>,
    /// Seeds per reward in the final evaluation.
    #[arg(long)]
    seeds: Option<u32>,
    /// Retries of a sample whose program fails its check.
    #[arg(long)]
    retries: Option<u32>,
    /// Candidates trained at once (default: one per core).
    #[arg(long)]
    jobs: Option<usize>,
    /// Only mutate the elite; do not recombine it with the runner-up.
    #[arg(long)]
    no_crossover: bool,
    #[arg(long)]
    seed: Option<u64>,
    /// Override a training setting of every candidate, KEY=VALUE (repeatable).
    #[arg(long = "set", value_name = "KEY=VALUE")]
    overrides: Vec<String>,
    /// Folder of hand-written programs, `<DIR>/<env>/*.rhai`, used instead of the built-in
    /// ones (default: the built-in ones, each replaced by ./rewards/<env>/ where it exists).
    #[arg(long, value_name = "DIR")]
    rewards: Option<PathBuf>,
    /// Folder of prompt templates replacing the built-in ones by file name.
    #[arg(long, value_name = "DIR")]
    templates: Option<PathBuf>,
    /// A note for the next generation's prompt.
    #[arg(long)]
    feedback: Option<String>,
    /// Pause after each generation, show the elite and read a line of feedback.
    #[arg(long)]
    interactive: bool,
    /// Where the trainings run: local (processes of this machine, --jobs at a time) or slurm
    /// (one job array per rung of a generation, and one for the final evaluation; see
    /// docs/cluster.md).
    #[arg(long, value_enum)]
    executor: Option<ExecutorKind>,
    /// TOML file of evolve settings: `executor`, and a `[slurm]` table with the keys of the
    /// --slurm-* flags (partition, account, time, cpus_per_task, mem, max_running, args,
    /// binary, poll_seconds). Flags override it.
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Slurm partition (sbatch --partition).
    #[arg(long, value_name = "NAME")]
    slurm_partition: Option<String>,
    /// Slurm account to charge (sbatch --account).
    #[arg(long, value_name = "NAME")]
    slurm_account: Option<String>,
    /// Time limit of each training (sbatch --time: MINUTES, HH:MM:SS, D-HH:MM).
    #[arg(long, value_name = "LIMIT")]
    slurm_time: Option<String>,
    /// CPUs of each training (sbatch --cpus-per-task; default 1).
    #[arg(long, value_name = "N")]
    slurm_cpus_per_task: Option<u32>,
    /// Memory of each training (sbatch --mem: 4G, 4000M).
    #[arg(long, value_name = "SIZE")]
    slurm_mem: Option<String>,
    /// Array tasks running at once (the K of sbatch --array=0-N%K; default: no limit).
    #[arg(long, value_name = "K")]
    slurm_max_running: Option<u32>,
    /// Any other sbatch option, as one --key=value word (repeatable): --slurm-arg=--qos=high.
    #[arg(long = "slurm-arg", value_name = "OPTION", allow_hyphen_values = true)]
    slurm_args: Vec<String>,
    /// The rewardgen binary the nodes run, the same path on each (default: this one).
    #[arg(long, value_name = "PATH")]
    slurm_binary: Option<PathBuf>,
    /// Seconds between two looks at the Slurm queue (default 10).
    #[arg(long, value_name = "SECONDS")]
    slurm_poll: Option<u64>,
    /// Run directory to create (default: runs/evolve-<env>-<time>).
    #[arg(long, conflicts_with = "resume")]
    out: Option<PathBuf>,
    /// Continue a stopped run with its own settings.
    #[arg(long, value_name = "RUN")]
    resume: Option<PathBuf>,
}

impl EvolveArgs {
    fn config(&self, env: &str) -> Result<EvolveConfig> {
        let mut config = EvolveConfig::new(env, self.budget);
        config.generator = self.generator.unwrap_or(GeneratorKind::Offline);
        config.replay_from = self.replay.clone();
        macro_rules! set {
            ($($field:ident),*) => {$(
                if let Some(value) = self.$field.clone() {
                    config.$field = value;
                }
            )*};
        }
        set!(
            samples,
            generations,
            steps,
            eta,
            rungs,
            seeds,
            retries,
            jobs,
            seed
        );
        config.crossover = !self.no_crossover;
        config.train = config
            .train
            .with_overrides(&self.overrides)
            .map_err(|e| anyhow::anyhow!("--set: {e}"))?;
        (config.rewards, config.rewards_replace) = match &self.rewards {
            Some(dir) if !dir.is_dir() => bail!("--rewards {}: not a directory", dir.display()),
            Some(dir) => (Some(std::path::absolute(dir)?), true),
            None => {
                let here = Path::new("rewards");
                (
                    here.is_dir()
                        .then(|| std::path::absolute(here))
                        .transpose()?,
                    false,
                )
            }
        };
        config.templates = self.templates.clone();
        self.set_executor(&mut config)?;
        Ok(config)
    }

    /// The executor and its Slurm settings: the config file's, then the flags.
    fn set_executor(&self, config: &mut EvolveConfig) -> Result<()> {
        if let Some(path) = &self.config {
            let text = user_files::read_to_string(path, user_files::Kind::CONFIG)?;
            let file =
                EvolveFile::parse(&text).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
            if let Some(executor) = file.executor {
                config.executor = executor;
            }
            if let Some(slurm) = file.slurm {
                config.slurm = slurm;
            }
        }
        if let Some(executor) = self.executor {
            config.executor = executor;
        }
        let slurm = &mut config.slurm;
        macro_rules! set_some {
            ($($flag:ident => $field:ident),*) => {$(
                if let Some(value) = self.$flag.clone() {
                    slurm.$field = Some(value);
                }
            )*};
        }
        set_some!(
            slurm_partition => partition,
            slurm_account => account,
            slurm_time => time,
            slurm_mem => mem,
            slurm_max_running => max_running
        );
        if let Some(cpus) = self.slurm_cpus_per_task {
            slurm.cpus_per_task = cpus;
        }
        if let Some(seconds) = self.slurm_poll {
            slurm.poll_seconds = seconds;
        }
        slurm.args.extend(self.slurm_args.iter().cloned());
        if let Some(binary) = &self.slurm_binary {
            slurm.binary = Some(std::path::absolute(binary)?);
        }
        let slurm_given = self.slurm_flags_given();
        if config.executor != ExecutorKind::Slurm && !slurm_given.is_empty() {
            bail!("{} need --executor slurm", slurm_given.join(", "));
        }
        Ok(())
    }

    fn slurm_flags_given(&self) -> Vec<&'static str> {
        [
            ("--slurm-partition", self.slurm_partition.is_some()),
            ("--slurm-account", self.slurm_account.is_some()),
            ("--slurm-time", self.slurm_time.is_some()),
            ("--slurm-cpus-per-task", self.slurm_cpus_per_task.is_some()),
            ("--slurm-mem", self.slurm_mem.is_some()),
            ("--slurm-max-running", self.slurm_max_running.is_some()),
            ("--slurm-arg", !self.slurm_args.is_empty()),
            ("--slurm-binary", self.slurm_binary.is_some()),
            ("--slurm-poll", self.slurm_poll.is_some()),
        ]
        .into_iter()
        .filter_map(|(flag, set)| set.then_some(flag))
        .collect()
    }

    /// Flags that set what a run is, which `--resume` takes from the run instead.
    fn run_settings_given(&self) -> Vec<&'static str> {
        let given = [
            ("--env", self.env.is_some()),
            ("--out", self.out.is_some()),
            ("--llm", self.generator.is_some()),
            ("--replay", self.replay.is_some()),
            ("--samples", self.samples.is_some()),
            ("--generations", self.generations.is_some()),
            ("--steps", self.steps.is_some()),
            ("--eta", self.eta.is_some()),
            ("--rungs", self.rungs.is_some()),
            ("--seeds", self.seeds.is_some()),
            ("--retries", self.retries.is_some()),
            ("--no-crossover", self.no_crossover),
            ("--seed", self.seed.is_some()),
            ("--set", !self.overrides.is_empty()),
            ("--templates", self.templates.is_some()),
            ("--rewards", self.rewards.is_some()),
            ("--model", self.model.is_some()),
            ("--temperature", self.temperature.is_some()),
            ("--executor", self.executor.is_some()),
            ("--config", self.config.is_some()),
        ];
        given
            .into_iter()
            .filter_map(|(flag, set)| set.then_some(flag))
            .chain(self.slurm_flags_given())
            .collect()
    }

    fn llm_given(&self) -> bool {
        self.model.is_some() || self.temperature.is_some() || self.llm_config.is_some()
    }
}

fn make_generator(config: &mut EvolveConfig, args: &EvolveArgs) -> Result<Box<dyn Generator>> {
    Ok(match config.generator {
        GeneratorKind::Offline => {
            if args.llm_given() {
                bail!("--model, --temperature and --llm-config need --llm openai");
            }
            let env = task_file::make(&config.env, &envs::EnvOptions::default())?;
            Box::new(OfflineGenerator::new(
                config.seed,
                config.library()?,
                env.spec().state_schema.clone(),
            )?)
        }
        GeneratorKind::Openai => {
            let mut llm = llm::LlmConfig::resolve(args.llm_config.as_deref())?;
            // A resumed run keeps the model and endpoint it started with.
            if let Some(model) = &config.llm_model {
                llm.model = model.clone();
            }
            if let Some(url) = &config.llm_base_url {
                llm.base_url = url.clone();
            }
            if let Some(model) = &args.model {
                llm.model = model.clone();
            }
            if let Some(t) = args.temperature {
                llm.temperature = t;
            }
            config.llm_model = Some(llm.model.clone());
            config.llm_base_url = Some(llm.base_url.clone());
            Box::new(LlmGenerator {
                client: llm::ChatClient::new(llm)?,
            })
        }
        GeneratorKind::Replay => {
            let Some(from) = &config.replay_from else {
                bail!("--llm replay needs --replay RUN, the run whose replies to play back");
            };
            Box::new(ReplayGenerator::open(from)?)
        }
    })
}

/// The progress display: a line per event and one bar over the whole run (candidates, final
/// runs and env steps out of the whole budget, with the time left at the measured throughput).
struct Display {
    bar: Option<ProgressBar>,
    /// When this process saw training progress first, and the steps done then: a resumed run's
    /// earlier steps do not count toward the throughput.
    since: Option<(Instant, u64)>,
    interactive: bool,
}

impl Display {
    fn say(&mut self, line: String) {
        match &self.bar {
            Some(bar) if !bar.is_hidden() => bar.println(line),
            _ => println!("{line}"),
        }
    }

    fn progress(&mut self, what: &str, progress: &RunProgress) {
        let (started, base) = *self
            .since
            .get_or_insert((Instant::now(), progress.steps_done));
        let bar = self.bar.get_or_insert_with(|| {
            let bar = ProgressBar::new(progress.steps_budget);
            bar.set_style(
                ProgressStyle::with_template("  {bar:30} {msg}")
                    .expect("the progress template is valid"),
            );
            bar
        });
        bar.set_length(progress.steps_budget);
        bar.set_position(progress.steps_done);
        bar.set_message(bar_message(
            what,
            progress,
            started.elapsed().as_secs_f64(),
            base,
        ));
    }

    /// Clears the bar at the end of the run.
    fn finish(&mut self) {
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
    }
}

/// The bar's text: `generation 1: candidates 5/12, final runs 0/9, steps 750,000/3,150,000
/// (23%), 1,480 steps/s, eta 27m 00s`, the throughput over the `elapsed` seconds since `base`
/// steps were done.
fn bar_message(what: &str, p: &RunProgress, elapsed: f64, base: u64) -> String {
    format!(
        "{what}: {}, {}, {}",
        p.candidates_line(),
        p.steps_line(),
        p.eta_line(
            p.steps_done.saturating_sub(base),
            p.steps_budget.saturating_sub(p.steps_done),
            elapsed
        )
    )
}

impl Observer for Display {
    fn event(&mut self, event: Event) {
        match event {
            Event::Generation { generation } => self.say(format!("generation {generation}")),
            Event::Sampled(c) => self.say(format!(
                "  sample {} try {}: {}{}",
                c.sample,
                c.attempt,
                c.status.as_str(),
                c.error
                    .as_deref()
                    .and_then(|e| e.lines().next())
                    .map_or(String::new(), |e| format!(": {e}"))
            )),
            Event::Training { what, progress } => self.progress(what, progress),
            Event::Rung {
                generation,
                rung,
                candidates,
                of,
                steps,
            } => {
                let ids: Vec<String> = candidates.iter().map(|id| id.to_string()).collect();
                let promoted = if rung == 0 {
                    String::new()
                } else {
                    format!(", the best {} of {of} at rung {}", ids.len(), rung - 1)
                };
                self.say(format!(
                    "  generation {generation}, rung {rung}: candidates {} to {} steps{promoted}",
                    ids.join(", "),
                    evolve::text::format_count(steps)
                ));
            }
            Event::Trained(c) => {
                let ended = match (c.status, c.rung) {
                    (Status::Stopped, Some(rung)) => format!("rung {rung} done"),
                    (Status::Trained, _) => "trained to the top rung".into(),
                    (Status::Crashed, Some(rung)) => format!("crashed in rung {rung}"),
                    (status, _) => status.as_str().into(),
                };
                self.say(format!(
                    "  candidate {} (sample {}): {ended}, fitness {}, {} steps{}",
                    c.id,
                    c.sample,
                    evolve::text::format_opt(c.fitness),
                    evolve::text::format_count(c.steps),
                    if c.status == Status::Crashed {
                        format!("\n{}", c.error.as_deref().unwrap_or_default())
                    } else {
                        String::new()
                    }
                ));
            }
            Event::GenerationDone {
                generation,
                elite,
                video,
            } => {
                self.say(format!(
                    "generation {generation} done; elite: {}",
                    elite.map_or("none yet".into(), |e| format!(
                        "candidate {} with fitness {}",
                        e.id,
                        evolve::text::format_opt(e.fitness)
                    ))
                ));
                match video {
                    Ok(Some(path)) => self.say(format!("  elite video: {}", path.display())),
                    Ok(None) => {}
                    Err(why) => self.say(format!("  no elite video: {why}")),
                }
            }
            Event::FinalRun(run) => self.say(format!(
                "  final {} seed {}: {}, measure {}",
                run.label,
                run.seed,
                run.status.as_str(),
                evolve::text::format_opt(run.task_measure)
            )),
        }
    }

    fn feedback(&mut self, summary: &str) -> Option<String> {
        if !self.interactive {
            return None;
        }
        let ask = || {
            println!("\n{summary}");
            print!("feedback for the next generation (empty line: none) > ");
            std::io::stdout().flush().ok()?;
            let mut line = String::new();
            std::io::stdin().lock().read_line(&mut line).ok()?;
            Some(line)
        };
        match &self.bar {
            Some(bar) => bar.suspend(ask),
            None => ask(),
        }
    }
}

/// Runs `rewardgen evolve`.
pub fn evolve(args: &EvolveArgs) -> Result<()> {
    let (dir, mut config, resume) = match &args.resume {
        Some(dir) => {
            let given = args.run_settings_given();
            if !given.is_empty() {
                bail!(
                    "--resume continues a run with its own settings; drop {}",
                    given.join(", ")
                );
            }
            let mut config = evolve::read_config(dir)?;
            if let Some(jobs) = args.jobs {
                config.jobs = jobs;
            }
            (dir.clone(), config, true)
        }
        None => {
            let env = args
                .env
                .clone()
                .expect("clap requires --env without --resume");
            let config = args.config(&env)?;
            let dir = args.out.clone().unwrap_or_else(|| {
                PathBuf::from(format!("runs/evolve-{env}-{}", evolve_time_stamp()))
            });
            (dir, config, false)
        }
    };
    let generator = make_generator(&mut config, args)?;
    println!("rewardgen evolve {}: {}", config.env, generator.name());
    let plural = evolve::text::plural;
    println!(
        "  {} × {}, rungs of {}, {} per reward in the final evaluation, {}; {} env steps in \
         all; run: {}",
        plural(config.samples.into(), "sample"),
        plural(config.generations.into(), "generation"),
        config.schedule().describe(),
        plural(config.seeds.into(), "seed"),
        match config.executor {
            ExecutorKind::Local => plural(config.jobs as u64, "job"),
            ExecutorKind::Slurm => "as Slurm job arrays".to_string(),
        },
        evolve::text::format_count(config.total_steps()),
        dir.display()
    );
    if config.executor == ExecutorKind::Slurm {
        std::fs::create_dir_all(&dir)
            .with_context(|| format!("cannot create {}", dir.display()))?;
        if let Some(note) = evolve::slurm::shared_file_system_note(&dir) {
            eprintln!("{note}");
        }
    }
    let exe = std::env::current_exe().context("cannot find the rewardgen executable")?;
    let mut evolution = Evolution::open(&dir, config, generator, exe, resume)?;
    if let Some(feedback) = &args.feedback {
        evolution.add_feedback(feedback)?;
    }
    let stop = Arc::new(AtomicBool::new(false));
    let flag = stop.clone();
    ctrlc::set_handler(move || flag.store(true, Ordering::Relaxed))
        .context("cannot install the Ctrl-C handler")?;
    let mut display = Display {
        bar: None,
        since: None,
        interactive: args.interactive,
    };
    let outcome = evolution.run(&mut display, &stop);
    display.finish();
    match outcome? {
        Outcome::Finished => {
            println!("finished: {}", dir.join("report.md").display());
            print_final(&dir)?;
        }
        Outcome::Stopped => println!(
            "stopped; continue with `rewardgen evolve --resume {}`",
            dir.display()
        ),
    }
    Ok(())
}

fn evolve_time_stamp() -> String {
    format!("{}", evolve::unix_time())
}

/// Prints the run's final comparison and what the schedule saved, from its summary.
fn print_final(dir: &Path) -> Result<()> {
    let report = Report::open(dir)?;
    println!("{}", evolve::report::final_comparison(&report).trim_end());
    println!("\n{}.", evolve::report::savings_line(&report));
    Ok(())
}

/// Lists the evolve runs under `dir`.
pub fn runs(dir: &Path) -> Result<()> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        bail!("{}: no runs folder here", dir.display());
    };
    let mut rows = Vec::new();
    for entry in entries.flatten() {
        let path = entry.path();
        if !path.join(evolve::DATABASE_FILE).exists() {
            continue;
        }
        let report = match Report::open(&path) {
            Ok(report) => report,
            Err(e) => {
                rows.push(format!("{:<40} unreadable: {e}", path.display()));
                continue;
            }
        };
        let best = evolve::schedule::ranked(&report.candidates)
            .first()
            .and_then(|c| c.fitness);
        let state = if report.finished {
            "finished"
        } else {
            "stopped or running"
        };
        rows.push(format!(
            "{:<40} {:<16} {:>4}/{:<4} gens {:>4} candidates  best {:>7}  {}",
            path.display(),
            report.env,
            report.generations.len(),
            report.config.generations,
            report.candidates.len(),
            evolve::text::format_opt(best),
            state
        ));
    }
    rows.sort();
    if rows.is_empty() {
        println!("no evolve runs in {}", dir.display());
    }
    for row in rows {
        println!("{row}");
    }
    Ok(())
}

/// Prints how far a run is: candidates and final runs done, env steps done out of the whole
/// budget, and the time it took or, while it is not finished, the time left at its throughput
/// since it started.
fn print_progress(dir: &Path, store: &Store, config: &EvolveConfig) -> Result<()> {
    let p = evolve::progress::measure(dir, store, config)?;
    let elapsed = evolve::progress::elapsed_secs(store)?;
    let plural = |n: u32, word: &str| format!("{n} {word}{}", if n == 1 { "" } else { "s" });
    println!(
        "{} ({} × {}; {} rewards × {})",
        p.candidates_line(),
        plural(config.samples, "sample"),
        plural(config.generations, "generation"),
        evolve::FINAL_LABELS.len(),
        plural(config.seeds, "seed"),
    );
    println!(
        "{} (rungs of {}, final evaluation included)",
        p.steps_line(),
        config.schedule().describe()
    );
    let took = evolve::text::format_duration(elapsed);
    if p.finished {
        println!("finished, took {took}");
    } else {
        println!(
            "not finished: {took} since the start, {}",
            p.eta_line(p.steps_done, p.steps_budget - p.steps_done, elapsed)
        );
    }
    Ok(())
}

/// Prints a run's progress, its generation table and its elite's code.
pub fn show(dir: &Path) -> Result<()> {
    let report = Report::open(dir)?;
    let store = Store::open(&dir.join(evolve::DATABASE_FILE))?;
    println!("{}: {} on {}", dir.display(), report.generator, report.env);
    print_progress(dir, &store, &report.config)?;
    println!();
    print!(
        "{}",
        evolve::report::generation_table(&report.candidates, &report.measure)
    );
    if let Some(c) = report
        .elite
        .and_then(|id| report.candidates.iter().find(|c| c.id == id))
    {
        println!(
            "\nelite: candidate {} (generation {}), fitness {}\n{}",
            c.id,
            c.generation,
            evolve::text::format_opt(c.fitness),
            c.code.as_deref().unwrap_or_default()
        );
    }
    if dir.join("report.md").exists() {
        println!("report: {}", dir.join("report.md").display());
    }
    Ok(())
}
