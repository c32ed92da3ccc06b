//! `report.md` and `report.json`: the generations, the final comparison against the
//! hand-written rewards, racing savings, tokens and time, with the evolution and learning
//! curves as PNG. `rewardgen show` prints the same generation table.

use crate::EvolveError;
use crate::config::EvolveConfig;
use crate::evolution::{FINAL_LABELS, unix_time};
use crate::fitness::{self, MeanCi, human_normalized, mean_ci};
use crate::store::{Candidate, FinalRun, Status, Store};
use crate::verdict::{self, Outcome, Verdict};
use envs::TaskSpec;
use serde::Serialize;
use std::fmt::Write;
use std::path::Path;
use trainer::{Panel, Series, Style, draw_panels, series, smooth, smoothing_window, window_text};

/// A number to three decimals, or `-`.
pub fn format_opt(value: Option<f64>) -> String {
    value.map_or("-".into(), |v| format!("{v:.3}"))
}

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
    pub raced: usize,
    /// Env steps racing did not spend, and what the trained candidates would have taken.
    pub steps_saved: u64,
    pub steps_budgeted: u64,
    pub prompt_tokens: u64,
    pub completion_tokens: u64,
    /// Estimated from the configured price table, when there is one.
    pub cost_usd: Option<f64>,
    pub wall_seconds: u64,
}

impl Report {
    pub fn build(store: &Store, spec: &TaskSpec) -> Result<Self, EvolveError> {
        let config: EvolveConfig = serde_json::from_str(
            &store
                .meta("config")?
                .ok_or_else(|| EvolveError::Store("the run has no config".into()))?,
        )
        .map_err(|e| EvolveError::Store(format!("config: {e}")))?;
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
        let trained: Vec<&Candidate> = candidates
            .iter()
            .filter(|c| c.status.has_fitness())
            .collect();
        let raced: Vec<&&Candidate> = trained
            .iter()
            .filter(|c| c.status == Status::Raced)
            .collect();
        let steps_budgeted = trained.len() as u64 * config.steps;
        let steps_saved = raced
            .iter()
            .map(|c| config.steps.saturating_sub(c.steps))
            .sum();
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
            raced: raced.len(),
            steps_saved,
            steps_budgeted,
            prompt_tokens: usage.prompt_tokens,
            completion_tokens: usage.completion_tokens,
            cost_usd,
            wall_seconds: ended.saturating_sub(started),
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

/// The generation table, as Markdown.
pub fn generation_table(candidates: &[Candidate], measure: &str) -> String {
    let mut out = format!(
        "| gen | sample | try | id | parents | status | fitness | {measure} | steps | note |\n\
         |---|---|---|---|---|---|---|---|---|---|\n"
    );
    for c in candidates {
        let parents: Vec<String> = c.parents.iter().map(|p| p.to_string()).collect();
        let note = c
            .error
            .as_deref()
            .map_or(String::new(), |e| one_line(e, 90));
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            c.generation,
            c.sample,
            c.attempt,
            c.id,
            parents.join(" "),
            c.status.as_str(),
            format_opt(c.fitness),
            format_opt(c.task_measure),
            c.steps,
            note
        );
    }
    out
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

fn markdown(dir: &Path, report: &Report) -> String {
    let c = &report.config;
    let elites = &report.generations;
    let mut md = String::new();
    let _ = writeln!(md, "# rewardgen evolve: {}\n", report.env);
    let _ = writeln!(md, "- Generator: **{}**", report.generator);
    let _ = writeln!(
        md,
        "- Budget: {} samples × {} generations, {} env steps per candidate ({}, {} parallel jobs); final evaluation: {} seeds per reward",
        c.samples,
        c.generations,
        c.steps,
        format!("{:?}", c.train.algo).to_uppercase(),
        c.jobs,
        c.seeds
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
    if c.racing {
        let _ = writeln!(
            md,
            "- Racing: {} of {} trained candidates stopped at half budget (margin {}), saving {} of {} candidate steps ({:.0}%)",
            report.raced,
            report
                .candidates
                .iter()
                .filter(|c| c.status.has_fitness())
                .count(),
            c.race_margin,
            report.steps_saved,
            report.steps_budgeted,
            100.0 * report.steps_saved as f64 / report.steps_budgeted.max(1) as f64
        );
    } else {
        let _ = writeln!(md, "- Racing: off");
    }
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

    let _ = writeln!(md, "## Final comparison\n");
    let _ = writeln!(
        md,
        "Each reward trained from scratch with {} seeds under the same budget. `{}`: mean ± 95% CI (Student's t) over seeds.\n",
        c.seeds, report.measure
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
    let _ = writeln!(md, "![final learning curves](final-curves.png)\n");

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

fn draw_evolution(dir: &Path, report: &Report) -> Result<(), EvolveError> {
    let generations = report.config.generations;
    let mut candidates = Vec::new();
    let mut elite = Vec::new();
    let mut running = f64::NEG_INFINITY;
    for g in 0..generations {
        let fits: Vec<f64> = report
            .candidates
            .iter()
            .filter(|c| c.generation == g)
            .filter_map(|c| c.fitness)
            .filter(|f| f.is_finite())
            .collect();
        candidates.extend(fits.iter().map(|&f| (f64::from(g), f)));
        if let Some(max) = fits.iter().copied().reduce(f64::max) {
            running = running.max(max);
        }
        if running.is_finite() {
            elite.push((f64::from(g), running));
        }
    }
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
            lines: vec![
                Series {
                    label: "candidate".into(),
                    points: candidates,
                    band: Vec::new(),
                    style: Style::Points,
                    color: 0,
                },
                Series::line("best so far", elite, 1),
            ],
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
