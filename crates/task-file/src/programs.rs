//! Termination and success programs: reward-language programs in the task file (inline) or
//! beside it (`file = ...`), compiled in the same sandbox as reward programs.

use crate::raw::{Name, Source};
use envs::StateField;
use reward_dsl::{Limits, RewardProgram};

/// Compiles the program a table gives inline (`program`) or by file (`file`); `table` names
/// the table in errors (`termination`, `success`).
pub fn compile(
    inline: Option<&Name>,
    file: Option<&Name>,
    table: &str,
    at: usize,
    schema: &[StateField],
    source: &Source,
) -> Result<RewardProgram, String> {
    match (inline, file) {
        (Some(program), None) => compile_inline(program, &format!("{table}.program"), schema, source),
        (None, Some(file)) => {
            let path = source.dir().join(file.get_ref());
            let bytes = user_files::read(&path, user_files::Kind::REWARD).map_err(|e| {
                source.error(file.span().start, &format!("{table}.file"), e)
            })?;
            RewardProgram::compile_bytes(&bytes, &path.display().to_string(), schema, &Limits::default())
                .map_err(|e| e.to_string())
        }
        _ => Err(source.error(
            at,
            table,
            format!("[{table}] needs exactly one of `program` (the program inline) and `file` (a .rhai file beside the task file)"),
        )),
    }
}

/// Compiles a program written in the task file, so that its errors give the task file's own
/// lines and columns: the source is padded to start where the string's text starts.
pub fn compile_inline(
    program: &Name,
    key: &str,
    schema: &[StateField],
    source: &Source,
) -> Result<RewardProgram, String> {
    let start = program.span().start;
    let raw = &source.text[start..];
    let (skip, multi_line) = if raw.starts_with("\"\"\"") || raw.starts_with("'''") {
        (3, true)
    } else {
        (1, false)
    };
    let (mut line, mut column) = source.line_column(start + skip);
    if multi_line && (raw[skip..].starts_with('\n') || raw[skip..].starts_with("\r\n")) {
        // TOML drops the newline right after the opening quotes.
        line += 1;
        column = 1;
    }
    let padded = format!(
        "{}{}{}",
        "\n".repeat(line - 1),
        " ".repeat(column - 1),
        program.get_ref()
    );
    let label = format!("{} ({key})", source.path.display());
    RewardProgram::compile(&padded, &label, schema, &Limits::default()).map_err(|e| e.to_string())
}
