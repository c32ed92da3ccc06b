use rhai::{EvalAltResult, ParseError, ParseErrorType, Position};
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
        let source_line = line
            .and_then(|l| source.lines().nth(l - 1))
            .map(str::to_string);
        let line = line.map(|l| l as u32);
        Self {
            kind,
            message,
            file: file.to_string(),
            line,
            column: column.map(|c| c as u32).or(line.map(|_| 1)),
            source_line,
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
            EvalAltResult::ErrorTooManyOperations(_) => (
                ErrorKind::Limit,
                format!(
                    "the script ran more than {} operations in one evaluation; look for an \
                     endless or very long loop",
                    limits.max_operations
                ),
            ),
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
            EvalAltResult::ErrorRuntime(value, _) => {
                let text = without_position(&value.to_string());
                match text.strip_prefix(UNKNOWN_FIELD_TAG) {
                    Some(rest) => (ErrorKind::UnknownField, rest.to_string()),
                    None => (ErrorKind::Runtime, text),
                }
            }
            EvalAltResult::ErrorFunctionNotFound(..) => (
                ErrorKind::Runtime,
                format!(
                    "{}; reward programs have Rhai's arithmetic, math, array, map and string \
                     functions plus the reward helpers (norm, dist, dot, cross, clamp, tolerance, ...)",
                    without_position(&inner.to_string())
                ),
            ),
            other => (ErrorKind::Runtime, without_position(&other.to_string())),
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

/// Marks runtime errors raised for unknown state fields, so they can be told apart.
pub(crate) const UNKNOWN_FIELD_TAG: &str = "\u{1}unknown-field\u{1}";

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
                    write!(
                        f,
                        "\n{gutter} |\n{line} | {text}\n{gutter} | {}^",
                        " ".repeat(column.saturating_sub(1) as usize)
                    )?;
                }
                Ok(())
            }
            _ => write!(f, "\n --> {}", self.file),
        }
    }
}
