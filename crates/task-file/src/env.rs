//! [`TaskFileEnv`]: the env a task file describes.

use crate::control::Control;
use crate::fields::{self, Field};
use crate::programs;
use crate::raw::{self, Clip, Observed, Scale, Source};
use crate::reset::Reset;
use envs::{EnvError, EnvOptions, Fitness, TaskEnv, TaskSpec, check_frame_skip};
use rand_chacha::ChaCha8Rng;
use reward_dsl::{ProgramValue, RewardError, RewardErrorSlot, RewardProgram, StateInput};
use rl_env::{Env, Info, Space, Step, seeded_rng};
use sim::{Model, Sim};
use std::ops::Range;
use std::path::Path;

/// Physics steps per action when the task file does not say (Gymnasium's MuJoCo envs use 5).
pub const DEFAULT_FRAME_SKIP: usize = 5;
/// Actions per episode when the task file does not say (Gymnasium's MuJoCo envs use 1000).
pub const DEFAULT_EPISODE_STEPS: usize = 1000;
/// The most actions per episode a task file may ask for.
pub const MAX_EPISODE_STEPS: i64 = 100_000;
/// The info key a task's success measure is reported under unless `success.name` says.
pub const DEFAULT_SUCCESS_KEY: &str = "is_success";
/// The info key of the success tiebreak's measure.
pub const TIEBREAK_KEY: &str = "success_tiebreak";
/// The info key set to 1 on a step where a termination or success program failed.
pub const TASK_ERROR_KEY: &str = "task_program_error";
/// Names a program reads from `state` besides the fields.
const RESERVED: [&str; 4] = ["action", "prev_action", "dt", "step"];

/// How an episode's per-step values become its measure.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Over {
    Last,
    Mean,
    Max,
    Min,
}

impl Over {
    fn parse(word: &str) -> Option<Self> {
        Some(match word {
            "last" => Self::Last,
            "mean" => Self::Mean,
            "max" => Self::Max,
            "min" => Self::Min,
            _ => return None,
        })
    }

    /// The measure after `count` values whose running measure was `so_far`, with `value` next.
    fn fold(self, so_far: f64, value: f64, count: usize) -> f64 {
        if count == 0 {
            return value;
        }
        match self {
            Self::Last => value,
            Self::Mean => so_far + (value - so_far) / (count + 1) as f64,
            Self::Max => so_far.max(value),
            Self::Min => so_far.min(value),
        }
    }
}

/// Whether a termination program ends the episode: it must return a bool.
fn ends_episode(program: &RewardProgram, input: &StateInput) -> Result<bool, RewardError> {
    match program.evaluate_value(input)? {
        ProgramValue::Bool(ends) => Ok(ends),
        ProgramValue::Number(n) => Err(program.value_error(format!(
            "the termination program must return a bool (true ends the episode), but it \
             returned the number {n}"
        ))),
    }
}

/// One observation entry: a field's range in the state, its scale and its clip.
#[derive(Debug, Clone)]
struct Observation {
    range: Range<usize>,
    scale: f64,
    clip: [f64; 2],
}

/// The success measure: its program, how an episode folds it, and its tiebreak.
#[derive(Clone)]
struct Success {
    program: RewardProgram,
    over: Over,
    key: String,
    ends_episode: bool,
    tiebreak: Option<RewardProgram>,
}

/// An env made from a task file: the model, its control scheme and reset, the named state
/// fields, the observation, and the termination and success programs. Its own reward is 0: a
/// reward program supplies one.
pub struct TaskFileEnv {
    sim: Sim,
    spec: TaskSpec,
    fields: Vec<Field>,
    observation: Vec<Observation>,
    control: Control,
    reset: Reset,
    termination: Option<RewardProgram>,
    success: Success,
    needs_contact_wrenches: bool,
    rng: ChaCha8Rng,
    steps: usize,
    /// Each field's source values at the last state, for derivative fields.
    raw: Vec<f64>,
    state: Vec<f64>,
    action: Vec<f64>,
    prev_action: Vec<f64>,
    start_ctrl: Vec<f64>,
    start_quat: [f64; 4],
    measure: f64,
    tiebreak: f64,
    errors: RewardErrorSlot,
}

impl TaskFileEnv {
    /// Loads a task file and its model.
    pub fn open(path: &Path, options: &EnvOptions) -> Result<Self, EnvError> {
        if let Some(physics) = &options.physics {
            return Err(EnvError::InvalidOption(format!(
                "physics '{physics}' (--physics): a task file's physics is its model's <option>"
            )));
        }
        if let Some(model) = &options.model {
            return Err(EnvError::InvalidOption(format!(
                "--model {}: a task file names its model with its `model` key",
                model.display()
            )));
        }
        let (source, task) = raw::read(path).map_err(EnvError::TaskFile)?;
        Self::build(&source, &task, options).map_err(EnvError::TaskFile)
    }

    fn build(source: &Source, task: &raw::Task, options: &EnvOptions) -> Result<Self, String> {
        let model_path = source.dir().join(task.model.get_ref());
        let model = Model::from_file(&model_path)
            .map_err(|e| source.error(task.model.span().start, "model", e))?;
        let count =
            |value: &Option<toml::Spanned<i64>>, key: &str, default: usize, max: i64| match value {
                None => Ok(default),
                Some(v) if (1..=max).contains(v.get_ref()) => Ok(*v.get_ref() as usize),
                Some(v) => Err(source.error(
                    v.span().start,
                    key,
                    format!("{} is not between 1 and {max}", v.get_ref()),
                )),
            };
        let frame_skip = match options.frame_skip {
            Some(frame_skip) => frame_skip,
            None => count(
                &task.frame_skip,
                "frame_skip",
                DEFAULT_FRAME_SKIP,
                envs::MAX_FRAME_SKIP as i64,
            )?,
        };
        let frame_skip = check_frame_skip(frame_skip).map_err(|e| e.to_string())?;
        let episode_steps = count(
            &task.episode_steps,
            "episode_steps",
            DEFAULT_EPISODE_STEPS,
            MAX_EPISODE_STEPS,
        )?;
        if model.nu() == 0 {
            return Err(source.error(
                task.model.span().start,
                "model",
                format!(
                    "{}: the model has no actuators, so an agent has nothing to control",
                    model_path.display()
                ),
            ));
        }
        let reset = Reset::resolve(&task.reset, &model, source)?;
        let control = Control::resolve(
            task.control.as_ref(),
            &model,
            &reset.start_qpos(&model),
            source,
        )?;

        let mut fields: Vec<Field> = Vec::new();
        for field in &task.field {
            let resolved = fields::resolve(field, &model, source)?;
            let name = resolved.schema.name.clone();
            let at = field.get_ref().name.span().start;
            if RESERVED.contains(&name.as_str()) {
                return Err(source.error(
                    at,
                    "field.name",
                    format!("'{name}' is reserved: programs read state.{name} already"),
                ));
            }
            if fields.iter().any(|f| f.schema.name == name) {
                return Err(source.error(
                    at,
                    "field.name",
                    format!("a field named '{name}' is already defined"),
                ));
            }
            fields.push(resolved);
        }
        if fields.is_empty() {
            return Err(format!(
                "{}: the task file has no [[field]]; give at least one",
                source.path.display()
            ));
        }
        let schema: Vec<_> = fields.iter().map(|f| f.schema.clone()).collect();
        let control_dt = frame_skip as f64 * model.timestep();
        let mut observation = Vec::new();
        let mut layout = Vec::new();
        for entry in task.observation.get_ref() {
            let at = entry.span().start;
            let (name, scale, clip) = match entry.get_ref() {
                Observed::Name(name) => (name.as_str(), None, None),
                Observed::Entry(e) => (e.field.as_str(), e.scale.clone(), e.clip),
            };
            let range = envs::field_range(&schema, name).ok_or_else(|| {
                source.error(
                    at,
                    "observation",
                    format!(
                        "no field named '{name}'; the fields are: {}",
                        schema
                            .iter()
                            .map(|f| f.name.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                )
            })?;
            let (scale, scale_text) = match scale {
                None => (1.0, String::new()),
                Some(Scale::Number(x)) if x.is_finite() => (x, format!(" × {x}")),
                Some(Scale::Word(word)) if word == "dt" => (control_dt, " × dt".to_string()),
                Some(_) => {
                    return Err(source.error(
                        at,
                        "observation.scale",
                        "`scale` is a finite number or \"dt\"",
                    ));
                }
            };
            let clip = match clip {
                None => [f64::NEG_INFINITY, f64::INFINITY],
                Some(Clip::Symmetric(c)) if c > 0.0 => [-c, c],
                Some(Clip::Range([lo, hi])) if lo < hi => [lo, hi],
                Some(_) => {
                    return Err(source.error(
                        at,
                        "observation.clip",
                        "`clip` is a number > 0 (±) or [low, high] with low < high",
                    ));
                }
            };
            let clip_text = if clip[0].is_finite() || clip[1].is_finite() {
                format!(", clipped to [{}, {}]", clip[0], clip[1])
            } else {
                String::new()
            };
            layout.push(format!("{name}{scale_text} ({}){clip_text}", range.len()));
            observation.push(Observation { range, scale, clip });
        }
        if observation.is_empty() {
            return Err(source.error(
                task.observation.span().start,
                "observation",
                "the observation lists no field",
            ));
        }
        let observation_len = observation.iter().map(|o| o.range.len()).sum();

        let termination = task
            .termination
            .as_ref()
            .map(|t| {
                let table = t.get_ref();
                programs::compile(
                    table.program.as_ref(),
                    table.file.as_ref(),
                    "termination",
                    t.span().start,
                    &schema,
                    source,
                )
            })
            .transpose()?;
        let s = task.success.get_ref();
        let success_at = task.success.span().start;
        let over = match &s.over {
            None => Over::Last,
            Some(word) => Over::parse(word.get_ref()).ok_or_else(|| {
                source.error(
                    word.span().start,
                    "success.over",
                    format!("'{}' is not one of last, mean, max and min", word.get_ref()),
                )
            })?,
        };
        let success = Success {
            program: programs::compile(
                s.program.as_ref(),
                s.file.as_ref(),
                "success",
                success_at,
                &schema,
                source,
            )?,
            over,
            key: s
                .name
                .as_ref()
                .map_or(DEFAULT_SUCCESS_KEY.to_string(), |n| n.get_ref().clone()),
            ends_episode: s.ends_episode,
            tiebreak: s
                .tiebreak
                .as_ref()
                .map(|t| programs::compile_inline(t, "success.tiebreak", &schema, source))
                .transpose()?,
        };
        let higher_is_better = s.higher_is_better.unwrap_or(true);
        let name = task.name(source);
        let physics_dt = model.timestep();
        let action_space = control.action_space(&model);
        let (nq, nv, nu) = (model.nq(), model.nv(), model.nu());
        let spec = TaskSpec {
            name,
            model: format!(
                "{} ({nq} qpos, {nv} dofs, {nu} actuators)",
                model_path.display()
            ),
            control: format!(
                "{}; {frame_skip} physics steps of {physics_dt} s per action ({:.0} Hz)",
                control.describe(&model),
                1.0 / control_dt
            ),
            frame_skip,
            physics_dt,
            observation_space: Space::uniform_box(
                &[observation_len],
                f64::NEG_INFINITY,
                f64::INFINITY,
            ),
            observation_layout: layout.join(", "),
            action_space,
            reset_randomization: reset.describe().to_string(),
            episode_steps,
            state_schema: schema,
            task_text: task.text.get_ref().trim().to_string(),
            success_metric: format!(
                "the success program's value, {} over each episode ({} is better){}{}: {}",
                match over {
                    Over::Last => "its last",
                    Over::Mean => "its mean",
                    Over::Max => "its maximum",
                    Over::Min => "its minimum",
                },
                if higher_is_better { "higher" } else { "lower" },
                if success.ends_episode {
                    "; a true value ends the episode"
                } else {
                    ""
                },
                if success.tiebreak.is_some() {
                    "; ties broken by the tiebreak program (lower is better)"
                } else {
                    ""
                },
                s.program.as_ref().map_or_else(
                    || s.file
                        .as_ref()
                        .map_or(String::new(), |f| f.get_ref().clone()),
                    |p| p.get_ref().trim().to_string()
                )
            ),
            fitness: Fitness {
                info_key: success.key.clone(),
                higher_is_better,
                tiebreak: success.tiebreak.as_ref().map(|_| TIEBREAK_KEY.to_string()),
            },
        };
        let actions = spec.action_space.flat_dim();
        let mut env = Self {
            needs_contact_wrenches: fields.iter().any(Field::needs_contact_wrenches),
            sim: Sim::new(&model),
            spec,
            fields,
            observation,
            control,
            reset,
            termination,
            success,
            rng: seeded_rng(0),
            steps: 0,
            raw: Vec::new(),
            state: Vec::new(),
            action: vec![0.0; actions],
            prev_action: vec![0.0; actions],
            start_ctrl: Vec::new(),
            start_quat: [1.0, 0.0, 0.0, 0.0],
            measure: 0.0,
            tiebreak: 0.0,
            errors: RewardErrorSlot::default(),
        };
        // A dry run of the programs on a start state, so that a program that cannot run on
        // this task's state fails here, with its message, rather than in training.
        env.reset(Some(0));
        let input = env.input();
        if let Some(termination) = &env.termination {
            ends_episode(termination, &input).map_err(|e| e.to_string())?;
        }
        for program in std::iter::once(&env.success.program).chain(&env.success.tiebreak) {
            program.evaluate_value(&input).map_err(|e| e.to_string())?;
        }
        Ok(env)
    }

    /// The slot a failed termination or success program reports into.
    pub fn errors(&self) -> RewardErrorSlot {
        self.errors.clone()
    }

    /// Sets `qpos` and `qvel` (after a reset), runs `mj_forward`, and restarts derivative
    /// fields as a reset does: for tests that start from another simulator's state. Returns
    /// the observation of that state, as [`Env::reset`] does.
    ///
    /// # Panics
    /// If `qpos` or `qvel` has another length than the model's.
    pub fn set_state(&mut self, qpos: &[f64], qvel: &[f64]) -> Vec<f64> {
        self.sim.qpos_mut().copy_from_slice(qpos);
        self.sim.qvel_mut().copy_from_slice(qvel);
        self.sim.forward();
        self.read_state(true);
        self.observe()
    }

    /// The simulation, for tests that craft a state.
    pub fn sim_mut(&mut self) -> &mut Sim {
        &mut self.sim
    }

    fn control_dt(&self) -> f64 {
        self.spec.control_dt()
    }

    /// Reads every field; derivatives are 0 at an episode's start.
    fn read_state(&mut self, start: bool) {
        if self.needs_contact_wrenches {
            self.sim.compute_contact_wrenches();
        }
        let mut raw = Vec::with_capacity(self.raw.len());
        for field in &self.fields {
            field.read(&self.sim, &mut raw);
        }
        let dt = self.control_dt();
        self.state.clear();
        let mut offset = 0;
        for field in &self.fields {
            let range = offset..offset + field.schema.len();
            offset = range.end;
            if !field.derivative {
                self.state.extend_from_slice(&raw[range]);
            } else if start {
                self.state.extend(std::iter::repeat_n(0.0, range.len()));
            } else {
                let before = &self.raw[range.clone()];
                self.state.extend(
                    raw[range]
                        .iter()
                        .zip(before)
                        .map(|(now, then)| (now - then) / dt),
                );
            }
        }
        self.raw = raw;
    }

    fn observe(&self) -> Vec<f64> {
        let mut obs = Vec::with_capacity(self.spec.observation_space.flat_dim());
        for part in &self.observation {
            obs.extend(
                self.state[part.range.clone()]
                    .iter()
                    .map(|v| (v * part.scale).clamp(part.clip[0], part.clip[1])),
            );
        }
        obs
    }

    fn input(&self) -> StateInput<'_> {
        StateInput {
            values: &self.state,
            action: &self.action,
            prev_action: &self.prev_action,
            dt: self.control_dt(),
            step: self.steps.saturating_sub(1),
        }
    }

    /// Records a failed program; returns `true`, the step's `failed`, which ends the episode.
    fn report(&self, error: RewardError) -> bool {
        self.errors
            .set_first(error.with_step(self.steps.saturating_sub(1)));
        true
    }
}

impl Env for TaskFileEnv {
    fn observation_space(&self) -> &Space {
        &self.spec.observation_space
    }

    fn action_space(&self) -> &Space {
        &self.spec.action_space
    }

    fn reset(&mut self, seed: Option<u64>) -> (Vec<f64>, Info) {
        if let Some(seed) = seed {
            self.rng = seeded_rng(seed);
        }
        self.reset.apply(&mut self.sim, &mut self.rng);
        self.start_ctrl = self.sim.ctrl().to_vec();
        if let Some(body) = self.control.mocap_body() {
            self.start_quat = self.sim.mocap_pose(body).1;
        }
        self.steps = 0;
        self.action.fill(0.0);
        self.prev_action.fill(0.0);
        self.measure = 0.0;
        self.tiebreak = 0.0;
        self.read_state(true);
        (self.observe(), Info::default())
    }

    fn step(&mut self, action: &[f64]) -> Step {
        std::mem::swap(&mut self.action, &mut self.prev_action);
        self.action.clear();
        self.action.extend_from_slice(action);
        self.action.resize(self.prev_action.len(), 0.0);
        self.control
            .apply(&mut self.sim, action, &self.start_ctrl, self.start_quat);
        self.sim.step(self.spec.frame_skip);
        self.read_state(false);
        self.steps += 1;
        let obs = self.observe();
        let mut info = Info::default();
        if self.state.iter().chain(&obs).any(|v| !v.is_finite()) {
            info.set("diverged", 1.0);
            return Step {
                obs,
                reward: 0.0,
                terminated: true,
                truncated: false,
                info,
            };
        }
        let input = self.input();
        let termination = self.termination.as_ref().map(|t| ends_episode(t, &input));
        let success = self.success.program.evaluate_value(&input);
        let tiebreak = self
            .success
            .tiebreak
            .as_ref()
            .map(|t| t.evaluate_value(&input));
        let mut failed = false;
        let mut terminated = false;
        match termination {
            Some(Ok(ends)) => terminated = ends,
            Some(Err(error)) => failed = self.report(error),
            None => {}
        }
        let count = self.steps - 1;
        match success {
            Ok(value) => {
                let value = value.as_f64();
                self.measure = self.success.over.fold(self.measure, value, count);
                terminated |= self.success.ends_episode && value != 0.0;
            }
            Err(error) => failed |= self.report(error),
        }
        match tiebreak {
            Some(Ok(value)) => {
                self.tiebreak = self.success.over.fold(self.tiebreak, value.as_f64(), count);
                info.set(TIEBREAK_KEY, self.tiebreak);
            }
            Some(Err(error)) => failed |= self.report(error),
            None => {}
        }
        info.set(&self.success.key, self.measure);
        if failed {
            info.set(TASK_ERROR_KEY, 1.0);
        }
        let terminated = terminated || failed;
        Step {
            obs,
            reward: 0.0,
            terminated,
            truncated: !terminated && self.steps >= self.spec.episode_steps,
            info,
        }
    }
}

impl TaskEnv for TaskFileEnv {
    fn spec(&self) -> &TaskSpec {
        &self.spec
    }

    fn state(&self) -> Vec<f64> {
        self.state.clone()
    }

    fn sim(&self) -> Option<&Sim> {
        Some(&self.sim)
    }
}
