use rl_env::{Env, Space, Wrapper};
use serde::Serialize;

/// What went wrong building an environment.
#[derive(Debug, thiserror::Error)]
pub enum EnvError {
    #[error(
        "unknown env '{name}'; the envs are: {known}, mjcf:<path to an MJCF file> or \
         task:<path to a task file>"
    )]
    UnknownEnv { name: String, known: String },
    #[error(transparent)]
    Sim(#[from] sim::SimError),
    #[error("{path}: the model has no actuators, so an agent has nothing to control")]
    NoActuators { path: String },
    #[error(
        "{path}: the model has no joints (qpos and qvel are empty), so an agent observes nothing"
    )]
    NoJoints { path: String },
    #[error("{path}: actuator {actuator}: {problem}")]
    BadCtrlRange {
        path: String,
        actuator: String,
        problem: String,
    },
    #[error("invalid env option: {0}")]
    InvalidOption(String),
    /// A task file that cannot be made a task; the message names the file, line and key.
    #[error("{0}")]
    TaskFile(String),
    #[error("{env} needs --model PATH: {hint}")]
    MissingModel { env: String, hint: String },
}

/// The most physics steps per action any env accepts: 4× panda_mujoco_gym's 250, and 2 s of
/// simulated time per action at a 2 ms timestep (8 s at 8 ms). More makes one env step take
/// seconds.
pub const MAX_FRAME_SKIP: usize = 1000;

/// Checks a frame skip (physics steps per action) against `1..=MAX_FRAME_SKIP`.
pub fn check_frame_skip(frame_skip: usize) -> Result<usize, EnvError> {
    if (1..=MAX_FRAME_SKIP).contains(&frame_skip) {
        Ok(frame_skip)
    } else {
        Err(EnvError::InvalidOption(format!(
            "frame_skip (--frame-skip) must be between 1 and {MAX_FRAME_SKIP} physics steps per \
             action, not {frame_skip}"
        )))
    }
}

/// Options that apply to every env; `None` keeps the env's default.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct EnvOptions {
    /// Physics steps per action (the control rate is `1 / (frame_skip * timestep)`).
    pub frame_skip: Option<usize>,
    /// The model file, for envs that load a model the user brings (`half-cheetah`).
    pub model: Option<std::path::PathBuf>,
    /// The physics preset, for the envs that have them (the Franka tasks: `fast`, the
    /// default, or `reference`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub physics: Option<String>,
}

/// One field of the state a reward program can read.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StateField {
    pub name: String,
    /// `[]` for a scalar, `[3]` for a vector.
    pub shape: Vec<usize>,
    pub unit: String,
    /// The frame the values are expressed in (`world`, `joint space`, ...).
    pub frame: String,
    pub description: String,
}

impl StateField {
    pub fn new(name: &str, shape: &[usize], unit: &str, frame: &str, description: &str) -> Self {
        Self {
            name: name.into(),
            shape: shape.to_vec(),
            unit: unit.into(),
            frame: frame.into(),
            description: description.into(),
        }
    }

    /// Number of scalars in the field.
    pub fn len(&self) -> usize {
        self.shape.iter().product()
    }

    /// `true` for a field with a zero-sized dimension.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Everything that defines a task, as the loop and the language model see it.
#[derive(Debug, Clone, Serialize)]
pub struct TaskSpec {
    pub name: String,
    /// The model and what is in it.
    pub model: String,
    /// How actions become motion, including the control rate and why it was chosen.
    pub control: String,
    /// Physics steps per action.
    pub frame_skip: usize,
    /// Physics timestep in seconds.
    pub physics_dt: f64,
    pub observation_space: Space,
    /// What each observation element is.
    pub observation_layout: String,
    pub action_space: Space,
    /// What `reset` samples, with ranges.
    pub reset_randomization: String,
    /// Steps before an episode is truncated.
    pub episode_steps: usize,
    /// The fields a reward program reads, in the order [`TaskEnv::state`] reports them.
    pub state_schema: Vec<StateField>,
    /// The task in plain words, for people and language models.
    pub task_text: String,
    /// How success is judged. Fitness comes from it; it is never shown to a language model.
    pub success_metric: String,
    /// The per-episode measure that scores a trained policy.
    pub fitness: Fitness,
}

/// The per-episode measure evolve scores a policy by: an info key reported when an episode
/// ends, averaged over episodes.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Fitness {
    /// The info key, e.g. `is_success` or `tracking_error`.
    pub info_key: String,
    /// Whether larger values are better (success rates) or smaller (errors).
    pub higher_is_better: bool,
    /// A per-episode error (smaller is better) that ranks policies with equal measures, e.g.
    /// two that never succeed, by how close they came.
    pub tiebreak: Option<String>,
}

impl Fitness {
    /// Success rate: the fraction of episodes that end with `is_success`, ties broken by the
    /// error `tiebreak` when given.
    pub fn success_rate(tiebreak: Option<&str>) -> Self {
        Self {
            info_key: "is_success".into(),
            higher_is_better: true,
            tiebreak: tiebreak.map(str::to_string),
        }
    }

    /// A per-episode error, smaller is better.
    pub fn error(info_key: &str) -> Self {
        Self {
            info_key: info_key.into(),
            higher_is_better: false,
            tiebreak: None,
        }
    }

    /// The info key of the task's own measure when it is not the success rate
    /// (`is_success`), which tools report beside it.
    pub fn own_measure(&self) -> Option<&str> {
        (self.info_key != "is_success").then_some(self.info_key.as_str())
    }
}

/// The `[start, end)` range of field `name` in a state laid out as `schema` says.
pub fn field_range(schema: &[StateField], name: &str) -> Option<std::ops::Range<usize>> {
    let mut start = 0;
    for field in schema {
        if field.name == name {
            return Some(start..start + field.len());
        }
        start += field.len();
    }
    None
}

impl TaskSpec {
    /// Seconds per action.
    pub fn control_dt(&self) -> f64 {
        self.frame_skip as f64 * self.physics_dt
    }

    /// Actions per second.
    pub fn control_hz(&self) -> f64 {
        1.0 / self.control_dt()
    }

    /// The state schema and the task text, as a language model is shown them. The success
    /// metric is deliberately left out.
    pub fn describe_for_llm(&self) -> String {
        let mut text = format!("Environment: {}\n\nTask: {}\n\n", self.name, self.task_text);
        text.push_str(&format!(
            "Control: {}\nEpisode: at most {} steps of {:.3} s.\n\n",
            self.control,
            self.episode_steps,
            self.control_dt()
        ));
        text.push_str("State fields a reward program reads as `state.<name>`:\n");
        for field in &self.state_schema {
            let shape = if field.shape.is_empty() {
                "scalar".to_string()
            } else {
                format!("{:?}", field.shape)
            };
            text.push_str(&format!(
                "- {} ({shape}, {}, {} frame): {}\n",
                field.name, field.unit, field.frame, field.description
            ));
        }
        text
    }

    /// The state schema as a Markdown table, for the reward language reference.
    pub fn schema_markdown(&self) -> String {
        let mut table =
            String::from("| field | shape | unit | frame | description |\n|---|---|---|---|---|\n");
        for field in &self.state_schema {
            let shape = if field.shape.is_empty() {
                "scalar".to_string()
            } else {
                format!("{:?}", field.shape)
            };
            table.push_str(&format!(
                "| `{}` | {shape} | {} | {} | {} |\n",
                field.name, field.unit, field.frame, field.description
            ));
        }
        table
    }

    /// The `[start, end)` range of a field in the flat state vector.
    pub fn field_range(&self, name: &str) -> Option<std::ops::Range<usize>> {
        field_range(&self.state_schema, name)
    }

    /// Total number of scalars in the state.
    pub fn state_len(&self) -> usize {
        self.state_schema.iter().map(StateField::len).sum()
    }
}

/// An environment that knows its task.
pub trait TaskEnv: Env {
    fn spec(&self) -> &TaskSpec;

    /// The current state: every schema field's values, flattened in schema order.
    fn state(&self) -> Vec<f64>;

    /// The env's own scripted controller's action for the current state, if it has one.
    fn scripted_action(&self) -> Option<Vec<f64>> {
        None
    }

    /// The MuJoCo simulation under the env, for recording and replaying rollouts.
    fn sim(&self) -> Option<&sim::Sim> {
        None
    }
}

/// A wrapper around a task env (a box among them) is that task env.
impl<W> TaskEnv for W
where
    W: Wrapper,
    W::Inner: TaskEnv,
{
    fn spec(&self) -> &TaskSpec {
        self.inner().spec()
    }

    fn state(&self) -> Vec<f64> {
        self.inner().state()
    }

    fn scripted_action(&self) -> Option<Vec<f64>> {
        self.inner().scripted_action()
    }

    fn sim(&self) -> Option<&sim::Sim> {
        self.inner().sim()
    }
}
