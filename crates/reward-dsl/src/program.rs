use crate::Limits;
use crate::budget::{replay_until, with_budget};
use crate::contain::contained;
use crate::error::{ErrorKind, RewardError, UnknownField, abbreviate, position, preview};
use crate::fields::{self, FieldShape, FieldTable};
use crate::helpers::Vec3;
use crate::sandbox;
use crate::stack::with_stack;
use crate::syntax::STATE;
use envs::StateField;
use rhai::{AST, Array, Dynamic, Engine, EvalAltResult, FLOAT, INT, Map, Position, Scope};
use std::sync::Arc;

/// Replays that look for the source position of a limit reached where Rhai gives none: one
/// per indexing step of the chain it was reached in (`a[i][j]`), so deeper chains than this
/// may still be reported without one.
const MAX_REPLAYS: u64 = 16;

/// What a reward program reads on one step.
#[derive(Debug, Clone, Copy)]
pub struct StateInput<'a> {
    /// The env's state, laid out as its schema says.
    pub values: &'a [f64],
    /// The action just taken.
    pub action: &'a [f64],
    /// The action before it (zeros on the first step).
    pub prev_action: &'a [f64],
    /// Seconds per env step.
    pub dt: f64,
    /// Steps since the episode began, starting at 0.
    pub step: usize,
}

/// A program's result on one step.
#[derive(Debug, Clone, PartialEq)]
pub struct RewardOutput {
    /// The total the script returned.
    pub total: f64,
    /// Named components, sorted by name.
    pub components: Vec<(String, f64)>,
}

/// What a program that returns one value returned.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ProgramValue {
    Bool(bool),
    Number(f64),
}

impl ProgramValue {
    /// The value as a number: a bool is 1 or 0.
    pub fn as_f64(self) -> f64 {
        match self {
            Self::Bool(flag) => f64::from(u8::from(flag)),
            Self::Number(number) => number,
        }
    }
}

/// The `state` value a script sees: each property read builds its value on demand.
#[derive(Debug, Clone)]
struct ScriptState {
    table: Arc<FieldTable>,
    values: Vec<f64>,
    action: Vec<f64>,
    prev_action: Vec<f64>,
    dt: f64,
    step: INT,
}

fn float_array(values: &[f64]) -> Array {
    values.iter().map(|v| Dynamic::from_float(*v)).collect()
}

impl ScriptState {
    fn empty(table: Arc<FieldTable>) -> Self {
        Self {
            table,
            values: Vec::new(),
            action: Vec::new(),
            prev_action: Vec::new(),
            dt: 0.0,
            step: 0,
        }
    }

    fn get(&mut self, name: &str) -> Result<Dynamic, Box<rhai::EvalAltResult>> {
        match name {
            "action" => return Ok(float_array(&self.action).into()),
            "prev_action" => return Ok(float_array(&self.prev_action).into()),
            "dt" => return Ok(Dynamic::from_float(self.dt)),
            "step" => return Ok(Dynamic::from_int(self.step)),
            _ => {}
        }
        let Some((range, shape)) = self.table.get(name) else {
            return Err(rhai::EvalAltResult::ErrorRuntime(
                Dynamic::from(UnknownField(format!(
                    "state has no field '{name}'; the fields are: {}",
                    self.table.names()
                ))),
                Position::NONE,
            )
            .into());
        };
        let values = &self.values[range.clone()];
        Ok(match shape {
            FieldShape::Scalar => Dynamic::from_float(values[0]),
            FieldShape::Vec3 => Dynamic::from(Vec3::new([values[0], values[1], values[2]])),
            FieldShape::Array => float_array(values).into(),
        })
    }
}

/// A compiled reward program, ready to evaluate on every env step. Cheap to clone; safe to
/// share between threads.
#[derive(Clone)]
pub struct RewardProgram {
    engine: Arc<Engine>,
    ast: Arc<AST>,
    table: Arc<FieldTable>,
    source: Arc<str>,
    file: Arc<str>,
    limits: Limits,
    /// Where the script's last statement, its result, starts: the place of errors about
    /// what the script returned.
    result_at: Position,
}

impl std::fmt::Debug for RewardProgram {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RewardProgram")
            .field("file", &self.file)
            .finish_non_exhaustive()
    }
}

impl RewardProgram {
    /// Compiles source bytes: they must be UTF-8.
    pub fn compile_bytes(
        bytes: &[u8],
        file: &str,
        schema: &[StateField],
        limits: &Limits,
    ) -> Result<Self, RewardError> {
        match std::str::from_utf8(bytes) {
            Ok(source) => Self::compile(source, file, schema, limits),
            Err(error) => {
                let valid = &bytes[..error.valid_up_to()];
                let line = valid.iter().filter(|b| **b == b'\n').count() + 1;
                let line_start = valid.iter().rposition(|b| *b == b'\n').map_or(0, |i| i + 1);
                let column = String::from_utf8_lossy(&valid[line_start..])
                    .chars()
                    .count()
                    + 1;
                let lossy = String::from_utf8_lossy(bytes);
                Err(RewardError::at(
                    ErrorKind::Source,
                    "the source is not valid UTF-8 text".into(),
                    file,
                    &lossy,
                    position(line, column),
                ))
            }
        }
    }

    /// Compiles a program for an env with the given state schema.
    pub fn compile(
        source: &str,
        file: &str,
        schema: &[StateField],
        limits: &Limits,
    ) -> Result<Self, RewardError> {
        let source_error = |message: String| {
            RewardError::at(ErrorKind::Source, message, file, source, Position::NONE)
        };
        limits
            .validate()
            .map_err(|e| source_error(format!("the sandbox limits are invalid: {e}")))?;
        if source.len() as u64 > limits.max_source_bytes {
            return Err(source_error(format!(
                "the source is {} bytes, more than the limit of {}",
                source.len(),
                limits.max_source_bytes
            )));
        }
        let lines = source.lines().count();
        if lines > MAX_SOURCE_LINES {
            return Err(source_error(format!(
                "the source has {lines} lines, more than the limit of {MAX_SOURCE_LINES}"
            )));
        }
        let mut engine = sandbox::engine(limits);
        engine
            .register_type_with_name::<ScriptState>("state")
            .register_indexer_get(|s: &mut ScriptState, name: &str| s.get(name));
        let table = Arc::new(FieldTable::new(schema));
        // Strict variables: the one variable a script starts with is `state`.
        let mut scope = Scope::new();
        scope.push(STATE, ScriptState::empty(table.clone()));
        let ast = contained(|| engine.compile_with_scope(&scope, source))
            .map_err(|panic| {
                RewardError::at(
                    ErrorKind::Syntax,
                    format!("the parser failed on this source ({panic})"),
                    file,
                    source,
                    Position::NONE,
                )
            })?
            .map_err(|e| RewardError::from_parse(&e, file, source, limits))?;
        fields::check(&ast, &table).map_err(|(kind, message, position)| {
            RewardError::at(kind, message, file, source, position)
        })?;
        let result_at = ast
            .statements()
            .last()
            .map_or(Position::NONE, |s| s.position());
        Ok(Self {
            engine: Arc::new(engine),
            ast: Arc::new(ast),
            table,
            source: source.into(),
            file: file.into(),
            limits: limits.clone(),
            result_at,
        })
    }

    /// The file name or label the program was compiled from.
    pub fn file(&self) -> &str {
        &self.file
    }

    /// Runs the program on one state, under a fresh budget of operations, time and
    /// memory (see [`Limits`]). A panic inside the interpreter fails this evaluation only.
    pub fn evaluate(&self, input: &StateInput) -> Result<RewardOutput, RewardError> {
        self.output(self.run(input)?)
    }

    /// Runs a program that returns one value rather than a reward: a bool or a finite
    /// number. Task files' termination and success programs are such programs.
    pub fn evaluate_value(&self, input: &StateInput) -> Result<ProgramValue, RewardError> {
        let value = self.run(input)?;
        match value.as_bool() {
            Ok(flag) => Ok(ProgramValue::Bool(flag)),
            Err(_) => self
                .finite("the result (a bool or a number)", &value)
                .map(ProgramValue::Number),
        }
    }

    /// The error for a program whose value has the wrong type, placed at its last statement.
    pub fn value_error(&self, message: String) -> RewardError {
        self.result_error(ErrorKind::ReturnShape, message)
    }

    /// Runs the script on one state, in the sandbox, and returns what it returned.
    fn run(&self, input: &StateInput) -> Result<Dynamic, RewardError> {
        if input.values.len() != self.table.len() {
            return Err(self.error(
                ErrorKind::Runtime,
                format!(
                    "the state has {} values, but the env's schema has {}",
                    input.values.len(),
                    self.table.len()
                ),
            ));
        }
        let run = || {
            let state = ScriptState {
                table: self.table.clone(),
                values: input.values.to_vec(),
                action: input.action.to_vec(),
                prev_action: input.prev_action.to_vec(),
                dt: input.dt,
                step: INT::try_from(input.step).unwrap_or(INT::MAX),
            };
            let mut scope = Scope::new();
            scope.push(STATE, state);
            self.engine
                .eval_ast_with_scope::<Dynamic>(&mut scope, &self.ast)
        };
        let bytes = self.limits.stack_bytes();
        let failed = |panic: String| {
            self.error(
                ErrorKind::Runtime,
                format!(
                    "the interpreter failed on this program ({panic}); the program is stopped, \
                     and this is a rewardgen bug worth reporting with the program"
                ),
            )
        };
        let (result, charged) = with_stack(bytes, || with_budget(&self.limits, || contained(run)));
        let mut error = match result {
            Ok(Ok(value)) => return Ok(value),
            Ok(Err(error)) => error,
            Err(panic) => return Err(failed(panic)),
        };
        let stopped_by_budget = matches!(
            *error,
            EvalAltResult::ErrorTerminated(..) | EvalAltResult::ErrorTooManyOperations(..)
        );
        if stopped_by_budget && error.position().is_none() {
            // Rhai gives indexing steps no position: find the last operation before this one
            // that has one, each try a replay of this same evaluation.
            for back in 1..=MAX_REPLAYS.min(charged.saturating_sub(1)) {
                let replay = || replay_until(&self.limits, charged - back, || contained(run));
                if let Ok(Err(stopped)) = with_stack(bytes, replay)
                    && !stopped.position().is_none()
                {
                    error.set_position(stopped.position());
                    break;
                }
            }
        }
        Err(RewardError::from_eval(
            &error,
            &self.file,
            &self.source,
            &self.limits,
        ))
    }

    /// The error for a dry run that ran out of time after `done` of `total` states.
    pub(crate) fn slow_dry_run(&self, done: usize, total: usize, seconds: f64) -> RewardError {
        self.error(
            ErrorKind::Limit,
            format!(
                "the dry run took {seconds:.1} s for {done} of {total} states ({:.1} ms per \
                 evaluation); a reward should take microseconds, so training with it would crawl",
                seconds * 1e3 / done as f64
            ),
        )
    }

    fn error(&self, kind: ErrorKind, message: String) -> RewardError {
        RewardError::at(kind, message, &self.file, &self.source, Position::NONE)
    }

    /// An error about what the script returned, placed at its last statement.
    fn result_error(&self, kind: ErrorKind, message: String) -> RewardError {
        RewardError::at(kind, message, &self.file, &self.source, self.result_at)
    }

    fn output(&self, value: Dynamic) -> Result<RewardOutput, RewardError> {
        let shape_error = |got: &str| {
            self.result_error(
                ErrorKind::ReturnShape,
                format!(
                    "the script must end with `[total, #{{name: value, ...}}]` (or \
                     `#{{total: ..., components: #{{...}}}}`), but it returned {got}"
                ),
            )
        };
        let describe = |v: &Dynamic| format!("{} `{}`", v.type_name(), preview(v));
        let (total, components) = if value.is_array() {
            let array = value.clone().cast::<Array>();
            match <[Dynamic; 2]>::try_from(array) {
                Ok([total, components]) if components.is_map() => (total, components.cast::<Map>()),
                _ => return Err(shape_error(&describe(&value))),
            }
        } else if value.is_map() {
            let mut map = value.clone().cast::<Map>();
            match (map.remove("total"), map.remove("components")) {
                (Some(total), Some(components)) if components.is_map() && map.is_empty() => {
                    (total, components.cast::<Map>())
                }
                _ => return Err(shape_error(&describe(&value))),
            }
        } else {
            return Err(shape_error(&describe(&value)));
        };
        let total = self.finite("the total", &total)?;
        if components.len() as u64 > self.limits.max_components {
            return Err(self.result_error(
                ErrorKind::Limit,
                format!(
                    "the program returned {} components, more than the limit of {}; merge some",
                    components.len(),
                    self.limits.max_components
                ),
            ));
        }
        if let Some(name) = components
            .keys()
            .find(|name| name.chars().count() as u64 > self.limits.max_component_name)
        {
            return Err(self.result_error(
                ErrorKind::Limit,
                format!(
                    "the component name '{}' is longer than the limit of {} characters",
                    abbreviate(name),
                    self.limits.max_component_name
                ),
            ));
        }
        let components = components
            .into_iter()
            .map(|(name, v)| {
                Ok((
                    name.to_string(),
                    self.finite(&format!("component '{name}'"), &v)?,
                ))
            })
            .collect::<Result<Vec<_>, RewardError>>()?;
        Ok(RewardOutput { total, components })
    }

    fn finite(&self, what: &str, value: &Dynamic) -> Result<f64, RewardError> {
        let number = if let Some(f) = value.clone().try_cast::<FLOAT>() {
            f
        } else if let Some(i) = value.clone().try_cast::<INT>() {
            i as f64
        } else {
            return Err(self.result_error(
                ErrorKind::ReturnShape,
                format!(
                    "{what} must be a number, but it is {} `{}`",
                    value.type_name(),
                    preview(value)
                ),
            ));
        };
        if number.is_finite() {
            Ok(number)
        } else {
            Err(self.result_error(
                ErrorKind::NonFinite,
                format!(
                    "{what} is {number}; guard divisions and logs so that every value stays finite"
                ),
            ))
        }
    }
}

/// Lines a source may have: Rhai counts positions in `u16`.
const MAX_SOURCE_LINES: usize = u16::MAX as usize;
