//! `report.md` and `report.json`: the generations, the final comparison against the
//! hand-written rewards, the multi-fidelity schedule and what it saved, the generator's
//! operators, tokens and time, with the evolution and learning curves as PNG. `rewardgen show`
//! prints the same generation table.

use crate::config::{EvolveConfig, read_config};
use crate::finals::FINAL_LABELS;
use crate::fitness::{self, MeanCi, human_normalized, mean_ci};
use crate::offline::OPERATORS;
use crate::schedule::{self, Savings, Schedule};
use crate::store::unix_time;
use crate::store::{Candidate, FinalRun, Status, Store};
use crate::text::{format_count, format_opt, plural};
use crate::verdict::{self, Outcome, Verdict};
use crate::{DATABASE_FILE, EvolveError};
use envs::TaskSpec;
use serde::Serialize;
use std::fmt::Write;
use std::path::Path;
use trainer::{Panel, Series, Style, draw_panels, series, smooth, smoothing_window, window_text};

/// One reward's final-evaluation result.
#[derive(Debug, Serialize)]
pub struct FinalScore {
    pub label: String,
    /// The task measure (success rate, tracking error) of each seed's run.
    pub per_seed: Vec<f64>,
    pub measure: Option<MeanCi>,
    /// Runs that crashed.
    pub failed: usize,
}

/// Everything in `report.json`.
#[derive(Debug, Serialize)]
pub struct Report {
    pub env: String,
    pub generator: String,
    pub config: EvolveConfig,
    /// The task measure scored, and whether higher is better.
    pub measure: String,
    pub higher_is_better: bool,
    pub candidates: Vec<Candidate>,
    /// Each finished generation with its elite, in order.
    pub generations: Vec<(u32, Option<i64>)>,
    pub elite: Option<i64>,
    pub finals: Vec<FinalScore>,
    /// (best − sparse) / |human − sparse| on the task measure's means.
    pub human_normalized: Option<f64>,
    /// A 95% bootstrap interval of the human-normalized score over the seeds.
    pub human_normalized_interval: Option<(f64, f64)>,
    /// Welch's test of best against human over the final seeds.
    pub verdict: Option<Verdict>,
    /// The multi-fidelity schedule: its rungs and what it saved.
    pub schedule: ScheduleReport,
    /// Each generator operator that made a candidate, with how those candidates did.
    pub operators: Vec<OperatorReport>,
    /// The whole budget in env steps, as planned ([`EvolveConfig::total_steps`]).
    pub budget_steps: u64,
    pub prompt_tokens: u64,
    pub completion_tokens: u64,
    /// Estimated from the configured price table, when there is one.
    pub cost_usd: Option<f64>,
    pub wall_seconds: u64,
    /// Whether the run has written its report (it may still be running, or stopped).
    pub finished: bool,
}

/// One rung of the schedule over the whole run.
#[derive(Debug, Serialize)]
pub struct RungReport {
    pub rung: usize,
    pub steps: u64,
    /// Candidates the schedule plans at this rung over all generations.
    pub planned: u64,
    /// Candidates trained to it (with a result there).
    pub trained: usize,
}

/// The schedule in the report.
#[derive(Debug, Serialize)]
pub struct ScheduleReport {
    pub eta: u32,
    pub rungs: Vec<RungReport>,
    /// Against training every candidate that trained to the top rung; `None` before any did.
    pub savings: Option<Savings>,
    /// Spearman's rank correlation of rung-0 and top-rung fitness over the candidates that
    /// reached the top rung; `None` with fewer than 3 of them, or a single rung.
    pub rank_correlation: Option<f64>,
    /// How many candidates the correlation is over.
    pub correlated: usize,
}

/// What one generator operator made.
#[derive(Debug, Serialize)]
pub struct OperatorReport {
    pub name: String,
    /// Candidates whose program it edited.
    pub candidates: usize,
    /// Of those, how many were trained to the top rung.
    pub top_rung: usize,
    /// Of those, how many became a new elite (a generation's elite other than the previous
    /// generation's).
    pub new_elites: usize,
}

impl ScheduleReport {
    fn build(config: &EvolveConfig, candidates: &[Candidate]) -> Self {
        let schedule: Schedule = config.schedule();
        let planned = schedule.planned(u64::from(config.samples));
        let rungs = schedule
            .rung_steps
            .iter()
            .enumerate()
            .map(|(rung, steps)| RungReport {
                rung,
                steps: *steps,
                planned: planned[rung] * u64::from(config.generations),
                trained: candidates
                    .iter()
                    .filter(|c| c.rung_results.len() > rung)
                    .count(),
            })
            .collect();
        let pairs = schedule::first_and_top(candidates, &schedule);
        Self {
            eta: schedule.eta,
            rungs,
            savings: schedule::savings(candidates, schedule.top_steps()),
            rank_correlation: if schedule.top() == 0 {
                None
            } else {
                schedule::spearman(&pairs)
            },
            correlated: pairs.len(),
        }
    }
}

/// The operators that made the candidates, in [`OPERATORS`] order and then any others (from a
/// replayed run), each with how its candidates did.
fn operator_reports(
    candidates: &[Candidate],
    generations: &[(u32, Option<i64>)],
) -> Vec<OperatorReport> {
    let mut new_elites = Vec::new();
    let mut previous = None;
    for (_, elite) in generations {
        if elite.is_some() && *elite != previous {
            new_elites.extend(*elite);
        }
        previous = *elite;
    }
    let mut names: Vec<&str> = OPERATORS.to_vec();
    for c in candidates {
        for name in &c.operators {
            if !names.contains(&name.as_str()) {
                names.push(name);
            }
        }
    }
    names
        .into_iter()
        .filter_map(|name| {
            let made: Vec<&Candidate> = candidates
                .iter()
                .filter(|c| c.operators.iter().any(|o| o == name))
                .collect();
            (!made.is_empty()).then(|| OperatorReport {
                name: name.to_string(),
                candidates: made.len(),
                top_rung: made.iter().filter(|c| c.status == Status::Trained).count(),
                new_elites: made.iter().filter(|c| new_elites.contains(&c.id)).count(),
            })
        })
        .collect()
}

impl Report {
    /// The summary of the run in `dir`, finished or not: what the CLI, the workbench and
    /// `report.md` read.
    pub fn open(dir: &Path) -> Result<Self, EvolveError> {
        let config = read_config(dir)?;
        let store = Store::open(&dir.join(DATABASE_FILE))?;
        let env = task_file::make(&config.env, &envs::EnvOptions::default())?;
        Self::build(&store, env.spec())
    }

    /// The summary from a run's store, scored by `spec`'s measure.
    pub fn build(store: &Store, spec: &TaskSpec) -> Result<Self, EvolveError> {
        let config = EvolveConfig::from_store(store)?;
        let candidates = store.candidates()?;
        let generations = store.finished_generations()?;
        let elite = generations.last().and_then(|(_, elite)| *elite);
        let finals = final_scores(&store.final_runs()?);
        let mean_of = |label: &str| {
            finals
                .iter()
                .find(|f| f.label == label)
                .and_then(|f| f.measure)
                .map(|m| m.mean)
        };
        let sign = if spec.fitness.higher_is_better {
            1.0
        } else {
            -1.0
        };
        let human_normalized = match (mean_of("best"), mean_of("human"), mean_of("sparse")) {
            (Some(b), Some(h), Some(s)) => human_normalized(sign * b, sign * h, sign * s),
            _ => None,
        };
        let per_seed = |label: &str| {
            finals
                .iter()
                .find(|f| f.label == label)
                .map_or(&[][..], |f| f.per_seed.as_slice())
        };
        let verdict = verdict::compare(per_seed("best"), per_seed("human"), sign);
        let human_normalized_interval = verdict::human_normalized_interval(
            per_seed("best"),
            per_seed("human"),
            per_seed("sparse"),
            sign,
        );
        let schedule = ScheduleReport::build(&config, &candidates);
        let operators = operator_reports(&candidates, &generations);
        let started: u64 = store
            .meta("started")?
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        let ended: u64 = store
            .meta("finished")?
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(unix_time);
        let usage = llm::Usage {
            prompt_tokens: candidates.iter().map(|c| c.prompt_tokens).sum(),
            completion_tokens: candidates.iter().map(|c| c.completion_tokens).sum(),
        };
        let cost_usd = match store.meta("price")? {
            Some(text) => {
                let price: llm::Price = serde_json::from_str(&text)
                    .map_err(|e| EvolveError::Store(format!("price: {e}")))?;
                Some(usage.cost(&price))
            }
            None => None,
        };
        Ok(Self {
            env: config.env.clone(),
            generator: store.meta("generator")?.unwrap_or_default(),
            measure: spec.fitness.info_key.clone(),
            higher_is_better: spec.fitness.higher_is_better,
            generations,
            elite,
            finals,
            human_normalized,
            human_normalized_interval,
            verdict,
            schedule,
            operators,
            budget_steps: config.total_steps(),
            prompt_tokens: usage.prompt_tokens,
            completion_tokens: usage.completion_tokens,
            cost_usd,
            wall_seconds: ended.saturating_sub(started),
            finished: store.meta("finished")?.is_some(),
            candidates,
            config,
        })
    }
}

fn final_scores(runs: &[FinalRun]) -> Vec<FinalScore> {
    FINAL_LABELS
        .iter()
        .filter(|label| runs.iter().any(|r| r.label == **label))
        .map(|label| {
            let mine: Vec<&FinalRun> = runs.iter().filter(|r| r.label == *label).collect();
            let per_seed: Vec<f64> = mine.iter().filter_map(|r| r.task_measure).collect();
            FinalScore {
                label: label.to_string(),
                measure: mean_ci(&per_seed),
                failed: mine.iter().filter(|r| r.status == Status::Crashed).count(),
                per_seed,
            }
        })
        .collect()
}

fn one_line(text: &str, max: usize) -> String {
    let line = text
        .lines()
        .find(|l| l.starts_with("error") || !l.trim().is_empty())
        .unwrap_or("")
        .replace('|', "\\|");
    if line.chars().count() > max {
        format!("{}…", line.chars().take(max).collect::<String>())
    } else {
        line
    }
}

/// A candidate's operators, each once in the order first applied, or `-`.
pub fn operators_text(c: &Candidate) -> String {
    let mut names: Vec<&str> = Vec::new();
    for name in &c.operators {
        if !names.contains(&name.as_str()) {
            names.push(name);
        }
    }
    if names.is_empty() {
        "-".into()
    } else {
        names.join(", ")
    }
}

/// The generation table, as Markdown: `rung` is the rung of the candidate's last training
/// (trained to it, or crashed in it), fitness and the measure are at that rung.
pub fn generation_table(candidates: &[Candidate], measure: &str) -> String {
    let mut out = format!(
        "| gen | sample | try | id | parents | status | rung | fitness | {measure} | steps | \
         operators | note |\n|---|---|---|---|---|---|---|---|---|---|---|---|\n"
    );
    for c in candidates {
        let parents: Vec<String> = c.parents.iter().map(|p| p.to_string()).collect();
        let note = c
            .error
            .as_deref()
            .map_or(String::new(), |e| one_line(e, 90));
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            c.generation,
            c.sample,
            c.attempt,
            c.id,
            parents.join(" "),
            c.status.as_str(),
            c.rung.map_or("-".into(), |r| r.to_string()),
            format_opt(c.fitness),
            format_opt(c.task_measure),
            c.steps,
            operators_text(c),
            note
        );
    }
    out
}

/// The compute-saved sentence: `Compute saved: 72.2% (…)`.
pub fn savings_line(report: &Report) -> String {
    let top = report.schedule.rungs.last().map_or(0, |r| r.steps);
    match report.schedule.savings {
        Some(s) => format!(
            "Compute saved: {:.1}% ({} env steps trained by {} candidates, against {} had each \
             trained to the top rung's {})",
            100.0 * s.saved,
            format_count(s.trained_steps),
            s.candidates,
            format_count(s.full_steps),
            format_count(top)
        ),
        None => "Compute saved: n/a (no candidate has trained yet)".into(),
    }
}

/// The schedule section of `report.md`.
fn schedule_markdown(md: &mut String, report: &Report) {
    let s = &report.schedule;
    let _ = writeln!(md, "## Schedule\n");
    if s.rungs.len() == 1 {
        let _ = writeln!(
            md,
            "One rung: every candidate trains for {} env steps.\n",
            format_count(s.rungs[0].steps)
        );
    } else {
        let _ = writeln!(
            md,
            "Successive halving with eta {}: each generation trains its candidates to rung 0; \
             the best 1/{} of each rung (rounded up, by fitness at that rung) resume from their \
             checkpoints to the next, and the rest stop there.\n",
            s.eta, s.eta
        );
    }
    let _ = writeln!(
        md,
        "| rung | env steps | candidates planned | trained to it |\n|---|---|---|---|"
    );
    for r in &s.rungs {
        let _ = writeln!(
            md,
            "| {} | {} | {} | {} |",
            r.rung,
            format_count(r.steps),
            r.planned,
            r.trained
        );
    }
    let _ = writeln!(md, "\n{}.\n", savings_line(report));
    let rho = match s.rank_correlation {
        _ if s.rungs.len() == 1 => "n/a (one rung)".to_string(),
        Some(rho) => format!("{rho:.2}, over {} candidates", s.correlated),
        None if s.correlated >= 3 => format!(
            "n/a (over {} candidates, the rung-0 or the top-rung fitness is the same for all)",
            s.correlated
        ),
        None => format!(
            "n/a ({} reached the top rung; it needs 3)",
            plural(s.correlated as u64, "candidate")
        ),
    };
    let _ = writeln!(
        md,
        "Rank correlation (Spearman) of rung-0 and top-rung fitness, over the candidates that \
         reached the top rung: {rho}\n"
    );
}

/// The operators section of `report.md`.
fn operators_markdown(md: &mut String, report: &Report) {
    let _ = writeln!(md, "## Generator operators\n");
    if report.operators.is_empty() {
        let _ = writeln!(
            md,
            "The generator recorded no operators (a language model writes whole programs).\n"
        );
        return;
    }
    let _ = writeln!(
        md,
        "What the offline generator's edits made. A new elite is a generation's elite other than \
         the previous generation's; a candidate with several operators counts for each.\n"
    );
    let _ = writeln!(
        md,
        "| operator | candidates | trained to the top rung | new elites |\n|---|---|---|---|"
    );
    for o in &report.operators {
        let _ = writeln!(
            md,
            "| {} | {} | {} | {} |",
            o.name, o.candidates, o.top_rung, o.new_elites
        );
    }
    md.push('\n');
}

/// Writes `report.md`, `report.json`, `evolution.png` and `final-curves.png` into `dir`.
pub fn write(dir: &Path, store: &Store, spec: &TaskSpec) -> Result<Report, EvolveError> {
    let report = Report::build(store, spec)?;
    draw_evolution(dir, &report)?;
    draw_final_curves(dir, store, spec)?;
    let json = serde_json::to_string_pretty(&report).expect("the report serializes");
    let path = dir.join("report.json");
    std::fs::write(&path, json).map_err(|e| EvolveError::io(&path, e))?;
    let path = dir.join("report.md");
    std::fs::write(&path, markdown(dir, &report)).map_err(|e| EvolveError::io(&path, e))?;
    Ok(report)
}

/// The one-line answer to "is the best reward better than the human one?".
pub fn verdict_line(report: &Report) -> String {
    let Some(v) = report.verdict else {
        return "**Verdict:** none: it needs the best and human rewards evaluated with at least \
                2 seeds each."
            .into();
    };
    let said = match v.outcome {
        Outcome::Better => "the best reward is **better** than human.rhai",
        Outcome::NotDistinguishable => "the best reward is **not distinguishable** from human.rhai",
        Outcome::Worse => "the best reward is **worse** than human.rhai",
    };
    let seeds = |label: &str| {
        report
            .finals
            .iter()
            .find(|f| f.label == label)
            .map_or(0, |f| f.per_seed.len())
    };
    format!(
        "**Verdict:** {said}: {} {:+.3} (95% Welch interval {:+.3} to {:+.3}, {} vs {} seeds{}).",
        report.measure,
        v.difference,
        v.low,
        v.high,
        seeds("best"),
        seeds("human"),
        if report.higher_is_better {
            ""
        } else {
            "; positive means lower, which is better"
        }
    )
}

/// The final comparison as `report.md` has it (and `rewardgen evolve` prints at its end): the
/// table of each reward's seeds, what was not evaluated and why, the verdict and the
/// human-normalized score.
pub fn final_comparison(report: &Report) -> String {
    let c = &report.config;
    let mut md = String::new();
    let _ = writeln!(md, "## Final comparison\n");
    let _ = writeln!(
        md,
        "Each reward trained from scratch with {} for the top rung's {} env steps. `{}`: mean ± 95% CI (Student's t) over seeds.\n",
        plural(u64::from(c.seeds), "seed"),
        format_count(c.steps),
        report.measure
    );
    let _ = writeln!(
        md,
        "| reward | {} | per seed | crashed |\n|---|---|---|---|",
        report.measure
    );
    for f in &report.finals {
        let per: Vec<String> = f.per_seed.iter().map(|v| format!("{v:.3}")).collect();
        let measure = f.measure.map_or("-".into(), |m| {
            format!("{:.3} ± {:.3}", m.mean, m.half_width)
        });
        let name = match f.label.as_str() {
            "best" => "best found (best.rhai)",
            "human" => "human (human.rhai)",
            _ => "sparse (sparse.rhai)",
        };
        let _ = writeln!(
            md,
            "| {name} | {measure} | {} | {} |",
            per.join(", "),
            f.failed
        );
    }
    let missing: Vec<&str> = FINAL_LABELS
        .iter()
        .filter(|label| !report.finals.iter().any(|f| f.label == **label))
        .copied()
        .collect();
    for label in missing {
        let why = match label {
            "best" => "no candidate was trained".to_string(),
            _ => format!(
                "there is no {label}.rhai for {} among the run's programs or built in",
                c.env
            ),
        };
        let _ = writeln!(md, "\nNot evaluated: {label}, because {why}.");
    }
    let _ = writeln!(md, "\n{}\n", verdict_line(report));
    let evaluated = |label: &str| report.finals.iter().any(|f| f.label == label);
    let score = match (report.human_normalized, report.human_normalized_interval) {
        (Some(h), Some((lo, hi))) => format!("{h:.2} (95% bootstrap interval {lo:.2} to {hi:.2})"),
        (Some(h), None) => format!("{h:.2}"),
        (None, _) if !(evaluated("best") && evaluated("human") && evaluated("sparse")) => {
            "n/a (best, human and sparse were not all evaluated)".into()
        }
        (None, _) => "n/a (human and sparse score the same)".into(),
    };
    let _ = writeln!(
        md,
        "Human-normalized score (Eureka's (best − sparse) / |human − sparse|): {score}\n"
    );
    md
}

fn markdown(dir: &Path, report: &Report) -> String {
    let c = &report.config;
    let elites = &report.generations;
    let mut md = String::new();
    let _ = writeln!(md, "# rewardgen evolve: {}\n", report.env);
    let _ = writeln!(md, "- Generator: **{}**", report.generator);
    let _ = writeln!(
        md,
        "- Budget: {} × {}; rungs of {}; final evaluation: {} per reward at {} steps; {} env steps in all ({}, {})",
        plural(u64::from(c.samples), "sample"),
        plural(u64::from(c.generations), "generation"),
        c.schedule().describe(),
        plural(u64::from(c.seeds), "seed"),
        format_count(c.steps),
        format_count(report.budget_steps),
        format!("{:?}", c.train.algo).to_uppercase(),
        match c.executor {
            crate::config::ExecutorKind::Local => format!("{} parallel jobs", c.jobs),
            crate::config::ExecutorKind::Slurm => "Slurm job arrays".to_string(),
        }
    );
    let _ = writeln!(
        md,
        "- Fitness: the task's `{}` ({}), averaged over the last {:.0}% of training checkpoints",
        report.measure,
        if report.higher_is_better {
            "higher is better"
        } else {
            "lower is better; fitness is its negative"
        },
        100.0 * fitness::FITNESS_WINDOW
    );
    let _ = writeln!(
        md,
        "- Tokens: {} prompt + {} completion = {}",
        report.prompt_tokens,
        report.completion_tokens,
        report.prompt_tokens + report.completion_tokens
    );
    if let Some(cost) = report.cost_usd {
        let _ = writeln!(
            md,
            "- Estimated cost: ${cost:.4} (from the configured price table)"
        );
    }
    let _ = writeln!(
        md,
        "- Wall-clock: {:.1} min\n",
        report.wall_seconds as f64 / 60.0
    );

    md.push_str(&final_comparison(report));
    let _ = writeln!(md, "![final learning curves](final-curves.png)\n");
    schedule_markdown(&mut md, report);
    operators_markdown(&mut md, report);

    let _ = writeln!(md, "## Generations\n");
    let _ = writeln!(md, "![fitness over generations](evolution.png)\n");
    for (g, _) in elites {
        let video = format!("videos/generation-{g}.gif");
        if dir.join(&video).exists() {
            let _ = writeln!(
                md,
                "Elite after generation {g}: ![elite after generation {g}]({video})\n"
            );
        }
    }
    md.push_str(&generation_table(&report.candidates, &report.measure));
    let _ = writeln!(md, "\nElite after each generation: {}\n", {
        let list: Vec<String> = elites
            .iter()
            .map(|(g, e)| format!("{g}: {}", e.map_or("-".into(), |e| e.to_string())))
            .collect();
        list.join(", ")
    });
    if let Some(elite) = report
        .elite
        .and_then(|id| report.candidates.iter().find(|c| c.id == id))
    {
        let _ = writeln!(
            md,
            "## Best reward (candidate {}, generation {})\n\n```rhai\n{}\n```\n",
            elite.id,
            elite.generation,
            elite.code.as_deref().unwrap_or_default().trim_end()
        );
        if let Some(reflection) = &elite.reflection {
            let _ = writeln!(md, "Its training:\n\n```\n{}```", reflection);
        }
    }
    md
}

/// `evolution.png`: each candidate's fitness at its last rung as a point at its generation,
/// one colour per rung, and the elite's after each generation as a line.
fn draw_evolution(dir: &Path, report: &Report) -> Result<(), EvolveError> {
    let top = report.schedule.rungs.len().saturating_sub(1);
    let mut lines: Vec<Series> = (0..=top)
        .map(|rung| Series {
            label: if rung == top {
                format!("top rung ({rung})")
            } else {
                format!("stopped at rung {rung}")
            },
            points: report
                .candidates
                .iter()
                .filter(|c| c.status.has_fitness() && c.rung == Some(rung as u32))
                .filter_map(|c| Some((f64::from(c.generation), c.fitness?)))
                .filter(|(_, f)| f.is_finite())
                .collect(),
            band: Vec::new(),
            style: Style::Points,
            color: rung,
        })
        .filter(|s| !s.points.is_empty())
        .collect();
    let elite: Vec<(f64, f64)> = report
        .generations
        .iter()
        .filter_map(|(g, id)| {
            let c = report.candidates.iter().find(|c| Some(c.id) == *id)?;
            Some((f64::from(*g), c.fitness.filter(|f| f.is_finite())?))
        })
        .collect();
    lines.push(Series::line("elite", elite, top + 1));
    let fitness_is = if report.higher_is_better {
        report.measure.clone()
    } else {
        format!("−{}", report.measure)
    };
    let path = dir.join("evolution.png");
    draw_panels(
        &path,
        &[Panel {
            title: "fitness over generations".into(),
            x_desc: "generation".into(),
            y_desc: format!("fitness ({fitness_is})"),
            lines,
            integer_x: true,
            notes: vec![
                format!("fitness: mean {} over the", report.measure),
                format!(
                    "last {:.0}% of training checkpoints",
                    100.0 * fitness::FITNESS_WINDOW
                ),
            ],
        }],
    )
    .map_err(EvolveError::Report)
}

/// Points on the common step grid the final runs' seeds are averaged on.
const FINAL_GRID: usize = 100;

fn draw_final_curves(dir: &Path, store: &Store, spec: &TaskSpec) -> Result<(), EvolveError> {
    let key = fitness::metric_key(&spec.fitness);
    type Curve = Vec<(f64, f64)>;
    let mut by_label: Vec<(&str, Vec<Curve>)> =
        FINAL_LABELS.iter().map(|l| (*l, Vec::new())).collect();
    let runs = store.final_runs()?;
    let mut raw = Vec::new();
    for run in &runs {
        let Ok(train_run) = trainer::Run::open(&dir.join(&run.run_dir)) else {
            continue;
        };
        let rows = train_run.metrics()?;
        raw.push((run.label.clone(), series(&rows, &key)));
    }
    // One window for every curve, from the longest, so the rewards are smoothed alike.
    let window = smoothing_window(raw.iter().map(|(_, c)| c.len()).max().unwrap_or(0));
    for (label, curve) in raw {
        if let Some((_, seeds)) = by_label.iter_mut().find(|(l, _)| *l == label) {
            seeds.push(smooth(&curve, window));
        }
    }
    let mut lines = Vec::new();
    for (i, (label, seeds)) in by_label.iter().enumerate() {
        let seeds: Vec<Curve> = seeds.iter().filter(|c| !c.is_empty()).cloned().collect();
        if seeds.is_empty() {
            continue;
        }
        let band = fitness::band_over_seeds(&seeds, FINAL_GRID);
        lines.push(Series {
            label: format!(
                "{label} ({} seed{})",
                seeds.len(),
                if seeds.len() == 1 { "" } else { "s" }
            ),
            points: band.iter().map(|(x, m)| (*x, m.mean)).collect(),
            band: band
                .iter()
                .map(|(x, m)| (*x, m.mean - m.half_width, m.mean + m.half_width))
                .collect(),
            style: Style::Line,
            color: i,
        });
    }
    let path = dir.join("final-curves.png");
    draw_panels(
        &path,
        &[Panel {
            title: format!(
                "final evaluation: {} during training",
                spec.fitness.info_key
            ),
            x_desc: format!("env steps (each seed: {})", window_text(window)),
            y_desc: format!(
                "{} ({} is better)",
                spec.fitness.info_key,
                if spec.fitness.higher_is_better {
                    "higher"
                } else {
                    "lower"
                }
            ),
            lines,
            integer_x: false,
            notes: vec![
                "line: mean over seeds".into(),
                "band: 95% CI (Student's t)".into(),
                "seeds interpolated onto".into(),
                format!("a common grid of {FINAL_GRID} steps"),
            ],
        }],
    )
    .map_err(EvolveError::Report)
}
