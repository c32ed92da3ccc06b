//! The workbench's pages, rendered from the run store with minijinja templates built into
//! the binary. The same pages are served live or written out as static files; only their
//! links differ ([`Mode`]).

use crate::WorkbenchError;
use evolve::report::Report;
use evolve::{Candidate, DATABASE_FILE, Store};
use minijinja::{Environment, context};
use serde::Serialize;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use trainer::RunDir;

/// Static files the pages load, by name.
pub const ASSETS: [(&str, &str); 2] = [
    ("style.css", include_str!("../assets/style.css")),
    ("workbench.js", include_str!("../assets/workbench.js")),
];

const TEMPLATES: [(&str, &str); 5] = [
    ("base.html", include_str!("../assets/base.html")),
    ("overview.html", include_str!("../assets/overview.html")),
    ("candidate.html", include_str!("../assets/candidate.html")),
    ("final.html", include_str!("../assets/final.html")),
    ("error.html", include_str!("../assets/error.html")),
];

/// Served by the live server, or written as files that open without one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Live,
    Static,
}

/// The pages of one evolve run.
pub struct Site {
    dir: PathBuf,
    mode: Mode,
    templates: Environment<'static>,
    spec: envs::TaskSpec,
    /// `webm` where ffmpeg can encode it (a real `<video>`), `gif` otherwise.
    video_format: &'static str,
    /// One video renders at a time, so two requests never write the same file.
    rendering: Mutex<()>,
}

/// The links of one mode.
#[derive(Serialize)]
struct Links {
    overview: &'static str,
    final_page: &'static str,
    assets: &'static str,
    candidate_prefix: &'static str,
    candidate_suffix: &'static str,
}

impl Mode {
    fn links(self) -> Links {
        match self {
            Mode::Live => Links {
                overview: "/",
                final_page: "/final",
                assets: "/assets/",
                candidate_prefix: "/candidate/",
                candidate_suffix: "",
            },
            Mode::Static => Links {
                overview: "index.html",
                final_page: "final.html",
                assets: "assets/",
                candidate_prefix: "candidate-",
                candidate_suffix: ".html",
            },
        }
    }
}

/// A candidate's row in the generation table.
#[derive(Serialize)]
struct Row<'a> {
    #[serde(flatten)]
    candidate: &'a Candidate,
    status_text: String,
    operators_text: String,
    error_line: Option<String>,
    elite: bool,
}

/// `stopped at rung 0`, `trained to the top rung`, `crashed at rung 1`, ...
fn status_text(c: &Candidate) -> String {
    let at = |what: &str| match c.rung {
        Some(rung) => format!("{what} at rung {rung}"),
        None => what.to_string(),
    };
    match c.status {
        evolve::Status::NoCode => "no code".into(),
        evolve::Status::FailedCheck => "failed check".into(),
        evolve::Status::Pending => match c.rung {
            Some(rung) => format!("promoted from rung {rung}, training"),
            None => "pending".into(),
        },
        evolve::Status::Trained => "trained to the top rung".into(),
        evolve::Status::Stopped => at("stopped"),
        evolve::Status::Crashed => at("crashed"),
    }
}

/// `(role, content)` of each chat message, when the prompt is a chat transcript.
fn chat_messages(prompt: &str) -> Option<Vec<(String, String)>> {
    let messages: Vec<Value> = serde_json::from_str(prompt).ok()?;
    messages
        .iter()
        .map(|m| {
            Some((
                m["role"].as_str()?.to_string(),
                m["content"].as_str()?.to_string(),
            ))
        })
        .collect()
}

/// A line diff of `old` against `new`: `[tag, line]` with tag `+`, `-` or a space.
fn line_diff(old: &str, new: &str) -> Vec<(char, String)> {
    similar::TextDiff::from_lines(old, new)
        .iter_all_changes()
        .map(|change| {
            let tag = match change.tag() {
                similar::ChangeTag::Delete => '-',
                similar::ChangeTag::Insert => '+',
                similar::ChangeTag::Equal => ' ',
            };
            (tag, change.value().trim_end_matches('\n').to_string())
        })
        .collect()
}

/// Each metric's points, `(global step, value)`, by name, for the learning-curve plots.
fn curves(rows: &[trainer::metrics::MetricsRow]) -> Value {
    let mut by_name: BTreeMap<String, Vec<[f64; 2]>> = BTreeMap::new();
    for row in rows {
        let Some(step) = row.get("global_step") else {
            continue;
        };
        for (name, value) in row {
            let wanted = name.starts_with("reward/")
                || name == "charts/episodic_return"
                || name == "charts/success_rate";
            if wanted && value.is_finite() {
                by_name
                    .entry(name.clone())
                    .or_default()
                    .push([*step, *value]);
            }
        }
    }
    json!(by_name)
}

/// A rollout's per-step reward, components and success, for the plot under the video.
fn rollout_series(rollout: &viewer::Rollout) -> Value {
    let mut components: BTreeMap<&str, Vec<f64>> = BTreeMap::new();
    for step in &rollout.steps {
        for (name, value) in &step.components {
            components.entry(name).or_default().push(*value);
        }
    }
    json!({
        "step_seconds": rollout.step_seconds(),
        "reward": rollout.steps.iter().map(|s| s.reward.unwrap_or(0.0)).collect::<Vec<_>>(),
        "success": rollout.steps.iter().map(|s| s.success).collect::<Vec<_>>(),
        "components": components,
    })
}

impl Site {
    /// The site of the evolve run in `dir`; a path that is not one is a clear error.
    pub fn open(dir: &Path, mode: Mode) -> Result<Self, WorkbenchError> {
        if !dir.is_dir() {
            return Err(WorkbenchError::run(dir, "no such run directory"));
        }
        if !dir.join(DATABASE_FILE).is_file() {
            return Err(WorkbenchError::run(
                dir,
                format!(
                    "not an evolve run ({DATABASE_FILE} is missing); start one with `rewardgen evolve`"
                ),
            ));
        }
        let config = evolve::read_config(dir)?;
        let spec = task_file::make(&config.env, &envs::EnvOptions::default())
            .map_err(evolve::EvolveError::from)?
            .spec()
            .clone();
        let mut templates = Environment::new();
        for (name, source) in TEMPLATES {
            templates.add_template(name, source)?;
        }
        Ok(Self {
            dir: dir.to_path_buf(),
            mode,
            templates,
            spec,
            video_format: if viewer::ffmpeg_available() {
                "webm"
            } else {
                "gif"
            },
            rendering: Mutex::new(()),
        })
    }

    fn store(&self) -> Result<Store, WorkbenchError> {
        Ok(Store::open(&self.dir.join(DATABASE_FILE))?)
    }

    /// Changes whenever the run store does, so live pages know to refresh.
    pub fn version(&self) -> String {
        ["evolve.db", "evolve.db-wal"]
            .iter()
            .map(|name| match std::fs::metadata(self.dir.join(name)) {
                Ok(m) => format!("{}.{:?}", m.len(), m.modified().ok()),
                Err(_) => "-".into(),
            })
            .collect::<Vec<_>>()
            .join("/")
    }

    fn render(&self, template: &str, page: Value, live: bool) -> Result<String, WorkbenchError> {
        let run_name = self
            .dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| self.dir.display().to_string());
        Ok(self.templates.get_template(template)?.render(context! {
            page => minijinja::Value::from(minijinja::value::Serde(&page)),
            run_name,
            links => minijinja::Value::from(minijinja::value::Serde(self.mode.links())),
            live => live && self.mode == Mode::Live,
            version => self.version(),
        })?)
    }

    /// A page saying what went wrong.
    pub fn error_page(&self, message: &str) -> String {
        self.render("error.html", json!({ "message": message }), false)
            .unwrap_or_else(|e| format!("{message} (and the error page failed: {e})"))
    }

    /// The ids of every candidate, in order.
    pub fn candidate_ids(&self) -> Result<Vec<i64>, WorkbenchError> {
        Ok(self.store()?.candidates()?.iter().map(|c| c.id).collect())
    }

    /// The run overview: summary, fitness over generations, and the generation table.
    pub fn overview(&self) -> Result<String, WorkbenchError> {
        let store = self.store()?;
        let report = Report::build(&store, &self.spec)?;
        let elites: BTreeMap<u32, i64> = report
            .generations
            .iter()
            .filter_map(|(g, e)| e.map(|e| (*g, e)))
            .collect();
        let rows: Vec<Row> = report
            .candidates
            .iter()
            .map(|c| Row {
                candidate: c,
                status_text: status_text(c),
                operators_text: evolve::report::operators_text(c),
                error_line: c.error.as_deref().map(|e| {
                    e.lines()
                        .next()
                        .unwrap_or_default()
                        .chars()
                        .take(160)
                        .collect()
                }),
                elite: elites.values().any(|e| *e == c.id),
            })
            .collect();
        let points: Vec<Value> = report
            .candidates
            .iter()
            .filter_map(|c| Some(json!([c.generation, c.fitness?, c.id])))
            .collect();
        let elite_line: Vec<Value> = elites
            .iter()
            .filter_map(|(g, id)| {
                let c = report.candidates.iter().find(|c| c.id == *id)?;
                Some(json!([g, c.fitness?]))
            })
            .collect();
        let state = if report.finished {
            "finished"
        } else {
            "running or stopped"
        };
        let page = json!({
            "env": report.env,
            "generator": report.generator,
            "measure": report.measure,
            "higher_is_better": report.higher_is_better,
            "state": state,
            "generations_done": report.generations.len(),
            "config": report.config,
            "elite": report.elite,
            "schedule": report.schedule,
            "rung_steps": report.config.schedule().describe(),
            "savings": evolve::report::savings_line(&report),
            "budget_steps": evolve::text::format_count(report.budget_steps),
            "operators": report.operators,
            "prompt_tokens": report.prompt_tokens,
            "completion_tokens": report.completion_tokens,
            "cost_usd": report.cost_usd,
            "wall_minutes": report.wall_seconds as f64 / 60.0,
            "rows": rows,
            "fitness_plot": { "points": points, "elite": elite_line },
            "has_finals": !report.finals.iter().all(|f| f.per_seed.is_empty()),
        });
        self.render("overview.html", page, true)
    }

    /// One candidate: code and diff, prompt and reply, reflection, curves, video.
    pub fn candidate(&self, id: i64) -> Result<String, WorkbenchError> {
        let store = self.store()?;
        let candidates = store.candidates()?;
        let c = candidates
            .iter()
            .find(|c| c.id == id)
            .ok_or(WorkbenchError::NoCandidate(id))?;
        let parent = c
            .parents
            .first()
            .and_then(|p| candidates.iter().find(|x| x.id == *p));
        let diff = match (parent.and_then(|p| p.code.as_deref()), c.code.as_deref()) {
            (Some(old), Some(new)) => Some(line_diff(old, new)),
            _ => None,
        };
        let (video, rollout, video_error) = match self.video_and_rollout(c) {
            Ok(Some((video, rollout))) => (Some(video), Some(rollout), None),
            Ok(None) => (None, None, None),
            Err(e) => (None, None, Some(e.to_string())),
        };
        let page = json!({
            "c": c,
            "status_text": status_text(c),
            "parents": c.parents,
            "diff": diff,
            "messages": chat_messages(&c.prompt),
            "curves": curves(&store.metrics(id)?),
            "video": video,
            "video_tag": if self.video_format == "webm" { "video" } else { "img" },
            "rollout": rollout,
            "video_error": video_error,
            "measure": self.spec.fitness.info_key,
        });
        let live = c.status == evolve::Status::Pending;
        self.render("candidate.html", page, live)
    }

    /// The final comparison: best against the human and sparse rewards, with intervals.
    pub fn final_comparison(&self) -> Result<String, WorkbenchError> {
        let store = self.store()?;
        let report = Report::build(&store, &self.spec)?;
        let page = json!({
            "measure": report.measure,
            "higher_is_better": report.higher_is_better,
            "finals": report.finals,
            "human_normalized": report.human_normalized,
            "elite": report.elite,
            "seeds": report.config.seeds,
        });
        self.render("final.html", page, true)
    }

    /// The link to a candidate's video and its rollout's series, for candidates with a
    /// trained policy.
    fn video_and_rollout(&self, c: &Candidate) -> Result<Option<(String, Value)>, WorkbenchError> {
        let Some(run_dir) = self.policy_dir(c) else {
            return Ok(None);
        };
        let rollout = viewer::Rollout::read(&viewer::recorded_rollout(&run_dir, 0)?)?;
        let link = match self.mode {
            Mode::Live => format!("/video/{}", c.id),
            Mode::Static => {
                let name = self.video_name(c.id);
                let file = self.dir.join("videos").join(&name);
                if !file.is_file() {
                    return Err(WorkbenchError::run(
                        &file,
                        "the video could not be rendered",
                    ));
                }
                format!("videos/{name}")
            }
        };
        Ok(Some((link, rollout_series(&rollout))))
    }

    fn policy_dir(&self, c: &Candidate) -> Option<PathBuf> {
        let dir = self.dir.join(c.run_dir.as_deref()?);
        (c.status.has_fitness() && RunDir::new(&dir).config().is_file()).then_some(dir)
    }

    fn video_name(&self, id: i64) -> String {
        format!("c{id:04}.{}", self.video_format)
    }

    /// The candidate's video file, rendering it into `RUN/videos/` first when missing; `None`
    /// for a candidate without a trained policy.
    pub fn video(&self, id: i64) -> Result<Option<PathBuf>, WorkbenchError> {
        let store = self.store()?;
        let c = store
            .candidate(id)
            .map_err(|_| WorkbenchError::NoCandidate(id))?;
        let Some(run_dir) = self.policy_dir(&c) else {
            return Ok(None);
        };
        let out = self.dir.join("videos").join(self.video_name(id));
        if out.is_file() {
            return Ok(Some(out));
        }
        // Only a missing video waits for the lock; it may have been rendered meanwhile.
        let _one_at_a_time = self.rendering.lock().unwrap_or_else(|e| e.into_inner());
        if !out.is_file() {
            let partial = out.with_extension(format!("partial.{}", self.video_format));
            viewer::render_run(&run_dir, 0, &viewer::RenderOptions::default(), &partial)?;
            std::fs::rename(&partial, &out).map_err(|e| WorkbenchError::run(&out, e))?;
        }
        Ok(Some(out))
    }

    /// The candidate's video file if it has been rendered already; never renders or waits.
    pub(crate) fn rendered_video(&self, id: i64) -> Option<PathBuf> {
        let out = self.dir.join("videos").join(self.video_name(id));
        out.is_file().then_some(out)
    }

    /// The MIME type of the videos this site makes.
    pub fn video_mime(&self) -> &'static str {
        if self.video_format == "webm" {
            "video/webm"
        } else {
            "image/gif"
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_diff_marks_removed_added_and_kept_lines() {
        let diff = line_diff("a\nb\nc\n", "a\nc\nd\n");
        assert_eq!(
            diff,
            vec![
                (' ', "a".to_string()),
                ('-', "b".to_string()),
                (' ', "c".to_string()),
                ('+', "d".to_string()),
            ]
        );
    }

    #[test]
    fn chat_prompts_split_into_messages_and_other_prompts_do_not() {
        let prompt =
            r#"[{"role":"system","content":"be brief"},{"role":"user","content":"write"}]"#;
        assert_eq!(
            chat_messages(prompt),
            Some(vec![
                ("system".into(), "be brief".into()),
                ("user".into(), "write".into())
            ])
        );
        assert_eq!(chat_messages("offline: mutate constants of c3"), None);
    }

    #[test]
    fn curves_keep_return_success_and_components_by_step() {
        let rows: Vec<trainer::metrics::MetricsRow> = vec![
            [
                ("global_step", 100.0),
                ("charts/episodic_return", 1.0),
                ("reward/dist", -0.5),
                ("losses/value_loss", 3.0),
            ]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect(),
            [
                ("global_step", 200.0),
                ("charts/episodic_return", 2.0),
                ("reward/dist", f64::NAN),
            ]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect(),
        ];
        let c = curves(&rows);
        assert_eq!(
            c["charts/episodic_return"],
            json!([[100.0, 1.0], [200.0, 2.0]])
        );
        assert_eq!(
            c["reward/dist"],
            json!([[100.0, -0.5]]),
            "non-finite points are dropped"
        );
        assert!(c.get("losses/value_loss").is_none());
    }
}
