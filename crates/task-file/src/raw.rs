//! The task file as TOML spells it, before names are looked up in the model, and the errors
//! that point at a line and key of it.

use serde::Deserialize;
use std::path::{Path, PathBuf};
use toml::Spanned;

/// The task file's text, for errors that name a line and column.
pub struct Source {
    pub path: PathBuf,
    pub text: String,
}

impl Source {
    /// `path:line:column: key `key`: message`, at the byte offset `at`.
    pub fn error(&self, at: usize, key: &str, message: impl std::fmt::Display) -> String {
        let (line, column) = self.line_column(at);
        format!(
            "{}:{line}:{column}: key `{key}`: {message}",
            self.path.display()
        )
    }

    /// The 1-based line and column (in characters) of a byte offset.
    pub fn line_column(&self, at: usize) -> (usize, usize) {
        let at = at.min(self.text.len());
        let before = &self.text[..at];
        let line = before.matches('\n').count() + 1;
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        (line, before[line_start..].chars().count() + 1)
    }

    /// The key of the `key = value` line whose value holds byte offset `at`, if any.
    fn key_at(&self, at: usize) -> Option<String> {
        let at = at.min(self.text.len());
        let line_start = self.text[..at].rfind('\n').map_or(0, |i| i + 1);
        let (key, _) = self.text[line_start..at].split_once('=')?;
        let key = key.trim().trim_matches('"');
        (!key.is_empty() && !key.contains(['[', '#'])).then(|| key.to_string())
    }

    /// The folder that the task file's paths are relative to.
    pub fn dir(&self) -> &Path {
        self.path.parent().unwrap_or(Path::new("."))
    }
}

/// A string value and where it is.
pub type Name = Spanned<String>;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Task {
    pub name: Option<Name>,
    pub model: Name,
    pub text: Name,
    pub frame_skip: Option<Spanned<i64>>,
    pub episode_steps: Option<Spanned<i64>>,
    pub rewards: Option<Name>,
    pub control: Option<Spanned<Control>>,
    #[serde(default)]
    pub reset: Reset,
    pub field: Vec<Spanned<Field>>,
    pub observation: Spanned<Vec<Spanned<Observed>>>,
    pub termination: Option<Spanned<Program>>,
    pub success: Spanned<Success>,
}

impl Task {
    /// The task's name: its `name` key, else the file name without `.toml`.
    pub fn name(&self, source: &Source) -> String {
        match &self.name {
            Some(name) => name.get_ref().clone(),
            None => source
                .path
                .file_stem()
                .unwrap_or_default()
                .to_string_lossy()
                .into_owned(),
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Control {
    pub scheme: Name,
    pub scale: Option<Spanned<f64>>,
    pub body: Option<Name>,
    pub from_site: Option<Name>,
    pub low: Option<Spanned<[f64; 3]>>,
    pub high: Option<Spanned<[f64; 3]>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Reset {
    pub keyframe: Option<Name>,
    pub settle_steps: Option<Spanned<i64>>,
    pub qpos_noise: Option<Spanned<Noise>>,
    pub qvel_noise: Option<Spanned<Noise>>,
    #[serde(default)]
    pub place: Vec<Spanned<Place>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Noise {
    pub uniform: Option<f64>,
    pub gaussian: Option<f64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Place {
    pub body: Name,
    pub low: [f64; 3],
    pub high: [f64; 3],
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Field {
    pub name: Name,
    pub body: Option<Name>,
    pub site: Option<Name>,
    pub geom: Option<Name>,
    pub joint: Option<Name>,
    pub sensor: Option<Name>,
    pub actuator: Option<Name>,
    pub contact: Option<Spanned<[String; 2]>>,
    pub between: Option<Name>,
    pub qpos: Option<Spanned<Slice>>,
    pub qvel: Option<Spanned<Slice>>,
    pub quantity: Option<Name>,
    pub frame: Option<Name>,
    #[serde(default)]
    pub derivative: bool,
    pub unit: Option<String>,
    pub frame_label: Option<String>,
    pub description: Option<String>,
}

/// `qpos = 3` (one element) or `qpos = [1, 6]` (elements 1 to 5).
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(untagged)]
pub enum Slice {
    One(i64),
    Range([i64; 2]),
}

/// An observation entry: a field's name, or a table that also scales or clips it.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum Observed {
    Name(String),
    Entry(ObservedEntry),
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ObservedEntry {
    pub field: String,
    pub scale: Option<Scale>,
    pub clip: Option<Clip>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum Scale {
    Number(f64),
    /// Only `"dt"`: the seconds per action.
    Word(String),
}

#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(untagged)]
pub enum Clip {
    Symmetric(f64),
    Range([f64; 2]),
}

/// A program given inline (`program = "..."`) or in a file (`file = "x.rhai"`).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Program {
    pub program: Option<Name>,
    pub file: Option<Name>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Success {
    pub program: Option<Name>,
    pub file: Option<Name>,
    pub over: Option<Name>,
    pub higher_is_better: Option<bool>,
    #[serde(default)]
    pub ends_episode: bool,
    pub tiebreak: Option<Name>,
    pub name: Option<Name>,
}

/// The task file's top-level keys.
const TOP_LEVEL: [&str; 8] = [
    "name",
    "model",
    "text",
    "frame_skip",
    "episode_steps",
    "rewards",
    "observation",
    "field",
];

/// Reads and parses a task file; a TOML error names the line, column and key.
pub fn read(path: &Path) -> Result<(Source, Task), String> {
    let text =
        user_files::read_to_string(path, user_files::Kind::TASK_FILE).map_err(|e| e.to_string())?;
    let source = Source {
        path: path.to_path_buf(),
        text,
    };
    match toml::from_str::<Task>(&source.text) {
        Ok(task) => Ok((source, task)),
        Err(error) => {
            let mut message = error.message().trim().to_string();
            if TOP_LEVEL
                .iter()
                .any(|key| message.starts_with(&format!("unknown field `{key}`")))
            {
                message.push_str(
                    "; top-level keys go before the first [table] or [[field]]: after a header, \
                     a key belongs to that table",
                );
            }
            Err(match error.span() {
                Some(span) => match source.key_at(span.start) {
                    Some(key) => source.error(span.start, &key, message),
                    None => {
                        let (line, column) = source.line_column(span.start);
                        format!("{}:{line}:{column}: {message}", path.display())
                    }
                },
                None => format!("{}: {message}", path.display()),
            })
        }
    }
}
