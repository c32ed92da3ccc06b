use crate::budget::Exhausted;
use crate::sandbox;
use rhai::{Dynamic, EvalAltResult, ParseError, ParseErrorType, Position};
use serde::Serialize;
use std::fmt;

/// What kind of problem a reward program has.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    /// The source does not parse, or uses a disabled feature (`eval`, `import`, `print`).
    Syntax,
    /// The source is not UTF-8 or is longer than the limit.
    Source,
    /// The script reads a state field the env does not have.
    UnknownField,
    /// The script crossed a sandbox limit (operations, call depth, sizes, variables).
    Limit,
    /// Any other error raised while the script ran.
    Runtime,
    /// The script returned something other than `[total, #{components}]` or
    /// `#{total, components}`.
    ReturnShape,
    /// The total or a component is NaN or infinite.
    NonFinite,
}

impl ErrorKind {
    fn label(self) -> &'static str {
        match self {
            ErrorKind::Syntax => "syntax error",
            ErrorKind::Source => "bad source",
            ErrorKind::UnknownField => "unknown state field",
            ErrorKind::Limit => "sandbox limit",
            ErrorKind::Runtime => "runtime error",
            ErrorKind::ReturnShape => "wrong return value",
            ErrorKind::NonFinite => "non-finite reward",
        }
    }
}

/// A problem with a reward program, located in its source where possible, worded so that a
/// person or a language model can fix the script from it alone.
#[derive(Debug, Clone, PartialEq, Serialize, thiserror::Error)]
pub struct RewardError {
    pub kind: ErrorKind,
    pub message: String,
    /// The file name or label of the program.
    pub file: String,
    /// 1-based line, when the error has a place in the source.
    pub line: Option<u32>,
    /// 1-based column.
    pub column: Option<u32>,
    /// The offending source line.
    pub source_line: Option<String>,
    /// The dry-run or episode step at which it happened.
    pub step: Option<u32>,
    /// Where under `source_line` the caret goes (1-based): the column, unless a long line
    /// was cut to a window around it.
    #[serde(skip)]
    caret: Option<u32>,
}

impl RewardError {
    /// An error at `position` in `source` (or at no place, for `Position::NONE`).
    pub(crate) fn at(
        kind: ErrorKind,
        message: String,
        file: &str,
        source: &str,
        position: Position,
    ) -> Self {
        let (line, column) = (position.line(), position.position());
        let column = column.or(line.map(|_| 1));
        let window = line
            .and_then(|l| source.lines().nth(l - 1))
            .map(|text| source_window(text, column.unwrap_or(1)));
        Self {
            kind,
            message: cut(&message, MAX_MESSAGE_CHARS),
            file: file.to_string(),
            line: line.map(|l| l as u32),
            column: column.map(|c| c as u32),
            caret: window.as_ref().map(|(_, caret)| *caret as u32),
            source_line: window.map(|(text, _)| text),
            step: None,
        }
    }

    pub(crate) fn from_parse(
        error: &ParseError,
        file: &str,
        source: &str,
        limits: &crate::Limits,
    ) -> Self {
        let message = error.err_type().to_string();
        let message = if matches!(error.err_type(), ParseErrorType::ExprTooDeep) {
            format!(
                "expressions or blocks are nested too deeply (more than {} levels); flatten them \
                 with intermediate variables",
                limits.max_expr_depth
            )
        } else if message.contains("reserved") || message.contains("disabled") {
            format!(
                "{message}: reward programs cannot use eval, import, print, debug or any other \
                 access outside the state they are given"
            )
        } else {
            message
        };
        Self::at(ErrorKind::Syntax, message, file, source, error.position())
    }

    pub(crate) fn from_eval(
        error: &EvalAltResult,
        file: &str,
        source: &str,
        limits: &crate::Limits,
    ) -> Self {
        // Errors inside script functions wrap the inner error: report the innermost place.
        let mut inner = error;
        while let EvalAltResult::ErrorInFunctionCall(_, _, cause, _) = inner {
            inner = cause;
        }
        let position = if inner.position().is_none() {
            error.position()
        } else {
            inner.position()
        };
        let (kind, message) = match inner {
            EvalAltResult::ErrorTooManyOperations(_) => operations(limits),
            EvalAltResult::ErrorTerminated(token, _) => match sandbox::exhausted(token) {
                Some(Exhausted::Operations) => operations(limits),
                Some(Exhausted::Time) => (
                    ErrorKind::Limit,
                    format!(
                        "the script ran for more than {} ms in one evaluation; a \
                         reward should take microseconds",
                        limits.max_eval_millis
                    ),
                ),
                Some(Exhausted::Memory) => (
                    ErrorKind::Limit,
                    format!(
                        "the script held more than {} bytes of memory in one evaluation; look \
                         for arrays, maps or strings that keep growing",
                        limits.max_memory_bytes
                    ),
                ),
                None => (ErrorKind::Runtime, "the script was stopped".into()),
            },
            EvalAltResult::ErrorStackOverflow(_) => (
                ErrorKind::Limit,
                format!(
                    "function calls nested deeper than {}; look for endless recursion",
                    limits.max_call_depth
                ),
            ),
            EvalAltResult::ErrorDataTooLarge(what, _) => (
                ErrorKind::Limit,
                format!(
                    "{what} grew past the sandbox limit (strings {} chars, arrays {} items, maps {} \
                     entries)",
                    limits.max_string_size, limits.max_array_size, limits.max_map_size
                ),
            ),
            EvalAltResult::ErrorTooManyVariables(_) => (
                ErrorKind::Limit,
                format!("more than {} variables alive at once", limits.max_variables),
            ),
            EvalAltResult::ErrorRuntime(value, _) => match value.clone().try_cast::<UnknownField>()
            {
                Some(UnknownField(message)) => (ErrorKind::UnknownField, message),
                None => (ErrorKind::Runtime, preview(value)),
            },
            EvalAltResult::ErrorFunctionNotFound(..) => (
                ErrorKind::Runtime,
                format!(
                    "{}; reward programs have Rhai's arithmetic, math, array, map and string \
                     functions plus the reward helpers (norm, dist, dot, cross, clamp, tolerance, ...)",
                    without_position(&inner.to_string())
                ),
            ),
            other => (
                ErrorKind::Runtime,
                abbreviate(&without_position(&other.to_string())),
            ),
        };
        Self::at(kind, message, file, source, position)
    }

    /// The same error, marked with the step it happened at.
    pub fn with_step(mut self, step: usize) -> Self {
        self.step = Some(u32::try_from(step).unwrap_or(u32::MAX));
        self
    }
}

/// Rhai's message without the " (line L, position C)" it appends: the place is reported apart.
fn without_position(text: &str) -> String {
    match text.rfind(" (line ") {
        Some(i) if text.ends_with(')') => text[..i].to_string(),
        _ => text.to_string(),
    }
}

/// The error value raised for a read of a state field that does not exist: a Rust type, so a
/// script's `throw` cannot pass for it.
#[derive(Debug, Clone)]
pub(crate) struct UnknownField(pub String);

fn operations(limits: &crate::Limits) -> (ErrorKind, String) {
    (
        ErrorKind::Limit,
        format!(
            "the script ran more than {} operations in one evaluation (callbacks included); look \
             for an endless or very long loop",
            limits.max_operations
        ),
    )
}

/// Characters of the offending source line kept in an error, around the column.
const MAX_SOURCE_LINE_CHARS: usize = 160;
/// Characters of an error message kept (the list of a big env's fields fits).
const MAX_MESSAGE_CHARS: usize = 2000;

/// Up to [`MAX_SOURCE_LINE_CHARS`] of `line` around the 1-based `column`, and the column's
/// place in what is kept.
fn source_window(line: &str, column: usize) -> (String, usize) {
    let chars: Vec<char> = line.chars().collect();
    if chars.len() <= MAX_SOURCE_LINE_CHARS {
        return (line.to_string(), column);
    }
    let start = column
        .saturating_sub(MAX_SOURCE_LINE_CHARS / 2)
        .min(chars.len() - MAX_SOURCE_LINE_CHARS);
    let kept: String = chars[start..start + MAX_SOURCE_LINE_CHARS].iter().collect();
    if start == 0 {
        (format!("{kept}..."), column)
    } else {
        (format!("...{kept}..."), column - start + 3)
    }
}

/// Characters of a value or message kept in an error.
const MAX_PREVIEW_CHARS: usize = 200;

/// `text`, cut to `max` characters, with "..." where it was cut.
fn cut(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((end, _)) => format!("{}...", &text[..end]),
        None => text.to_string(),
    }
}

/// `text`, cut to [`MAX_PREVIEW_CHARS`] characters.
pub(crate) fn abbreviate(text: &str) -> String {
    cut(text, MAX_PREVIEW_CHARS)
}

/// A short description of a script value for an error message, never rendering more than a
/// small part of a large array, map or string.
pub(crate) fn preview(value: &Dynamic) -> String {
    abbreviate(&preview_nested(value, 2))
}

fn preview_nested(value: &Dynamic, depth: usize) -> String {
    if let Some(array) = value.read_lock::<rhai::Array>() {
        if depth == 0 {
            return format!("[...] ({} elements)", array.len());
        }
        let first: Vec<String> = array
            .iter()
            .take(4)
            .map(|v| preview_nested(v, depth - 1))
            .collect();
        let more = if array.len() > 4 { ", ..." } else { "" };
        return format!("[{}{more}] ({} elements)", first.join(", "), array.len());
    }
    if let Some(map) = value.read_lock::<rhai::Map>() {
        let keys: Vec<String> = map.keys().take(8).map(|k| abbreviate(k)).collect();
        let more = if map.len() > 8 { ", ..." } else { "" };
        return format!("#{{{}{more}}} ({} entries)", keys.join(", "), map.len());
    }
    if let Some(text) = value.read_lock::<rhai::ImmutableString>() {
        return abbreviate(&text);
    }
    value.to_string()
}

/// A Rhai position for a 1-based line and column, saturating at Rhai's `u16` range.
pub(crate) fn position(line: usize, column: usize) -> Position {
    let clamp = |n: usize| u16::try_from(n.max(1)).unwrap_or(u16::MAX);
    Position::new(clamp(line), clamp(column))
}

impl fmt::Display for RewardError {
    /// Rendered the way rustc renders a diagnostic.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "error[{}]: {}", self.kind.label(), self.message)?;
        if let Some(step) = self.step {
            write!(f, " (at step {step})")?;
        }
        match (self.line, self.column) {
            (Some(line), Some(column)) => {
                write!(f, "\n --> {}:{line}:{column}", self.file)?;
                if let Some(text) = &self.source_line {
                    let gutter = " ".repeat(line.to_string().len());
                    let caret = self
                        .caret
                        .unwrap_or(column)
                        .min(MAX_SOURCE_LINE_CHARS as u32 + 4);
                    write!(
                        f,
                        "\n{gutter} |\n{line} | {text}\n{gutter} | {}^",
                        " ".repeat(caret.saturating_sub(1) as usize)
                    )?;
                }
                Ok(())
            }
            _ => write!(f, "\n --> {}", self.file),
        }
    }
}
