use crate::Limits;
use crate::error::{ErrorKind, RewardError, UNKNOWN_FIELD_TAG};
use crate::helpers::{self, Vec3};
use envs::StateField;
use rhai::packages::{
    ArithmeticPackage, BasicArrayPackage, BasicIteratorPackage, BasicMapPackage, BasicMathPackage,
    BasicStringPackage, LogicPackage, Package,
};
use rhai::{AST, Array, Dynamic, Engine, FLOAT, INT, Map, Position, Scope};
use std::ops::Range;
use std::sync::Arc;

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

/// How a state field appears in a script.
#[derive(Debug, Clone, Copy, PartialEq)]
enum FieldShape {
    Scalar,
    Vec3,
    Array,
}

#[derive(Debug)]
struct FieldTable {
    fields: Vec<(String, Range<usize>, FieldShape)>,
}

impl FieldTable {
    fn new(schema: &[StateField]) -> Self {
        let mut start = 0;
        let fields = schema
            .iter()
            .map(|field| {
                let range = start..start + field.len();
                start = range.end;
                let shape = match field.shape.as_slice() {
                    [] => FieldShape::Scalar,
                    [3] => FieldShape::Vec3,
                    _ => FieldShape::Array,
                };
                (field.name.clone(), range, shape)
            })
            .collect();
        Self { fields }
    }

    fn names(&self) -> String {
        let mut names: Vec<&str> = self.fields.iter().map(|(n, _, _)| n.as_str()).collect();
        names.extend(BUILTIN_FIELDS);
        names.join(", ")
    }

    fn has(&self, name: &str) -> bool {
        BUILTIN_FIELDS.contains(&name) || self.fields.iter().any(|(n, _, _)| n == name)
    }
}

/// Fields every state has besides the env's schema.
const BUILTIN_FIELDS: [&str; 4] = ["action", "prev_action", "dt", "step"];

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
        let Some((_, range, shape)) = self.table.fields.iter().find(|(n, _, _)| n == name) else {
            return Err(format!(
                "{UNKNOWN_FIELD_TAG}state has no field '{name}'; the fields are: {}",
                self.table.names()
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
}

impl std::fmt::Debug for RewardProgram {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RewardProgram")
            .field("file", &self.file)
            .finish_non_exhaustive()
    }
}

/// The sandboxed engine: no file, network, module, eval, print or time access; only the
/// packages and helpers a reward needs, under `limits`.
fn sandbox(limits: &Limits) -> Engine {
    let mut engine = Engine::new_raw();
    for package in [
        ArithmeticPackage::new().as_shared_module(),
        LogicPackage::new().as_shared_module(),
        BasicMathPackage::new().as_shared_module(),
        BasicArrayPackage::new().as_shared_module(),
        BasicMapPackage::new().as_shared_module(),
        BasicStringPackage::new().as_shared_module(),
        BasicIteratorPackage::new().as_shared_module(),
    ] {
        engine.register_global_module(package);
    }
    for symbol in ["eval", "print", "debug", "import", "export", "sleep"] {
        engine.disable_symbol(symbol);
    }
    engine
        .set_strict_variables(true)
        .set_max_operations(limits.max_operations)
        .set_max_call_levels(limits.max_call_depth)
        .set_max_expr_depths(limits.max_expr_depth, limits.max_expr_depth)
        .set_max_string_size(limits.max_string_size)
        .set_max_array_size(limits.max_array_size)
        .set_max_map_size(limits.max_map_size)
        .set_max_variables(limits.max_variables)
        .set_max_functions(limits.max_functions);
    helpers::register(&mut engine);
    engine
        .register_type_with_name::<ScriptState>("state")
        .register_indexer_get(|s: &mut ScriptState, name: &str| s.get(name));
    engine
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
                    Position::new(line as u16, column as u16),
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
        if source.len() > limits.max_source_bytes {
            return Err(RewardError::at(
                ErrorKind::Source,
                format!(
                    "the source is {} bytes, more than the limit of {}",
                    source.len(),
                    limits.max_source_bytes
                ),
                file,
                source,
                Position::NONE,
            ));
        }
        let engine = sandbox(limits);
        let table = Arc::new(FieldTable::new(schema));
        // Strict variables: the one variable a script starts with is `state`.
        let mut scope = Scope::new();
        scope.push("state", ScriptState::empty(table.clone()));
        let ast = engine
            .compile_with_scope(&scope, source)
            .map_err(|e| RewardError::from_parse(&e, file, source, limits))?;
        if let Some((name, line, column)) = state_field_reads(source)
            .into_iter()
            .find(|(name, _, _)| !table.has(name))
        {
            return Err(RewardError::at(
                ErrorKind::UnknownField,
                format!(
                    "state has no field '{name}'; the fields are: {}",
                    table.names()
                ),
                file,
                source,
                Position::new(line as u16, column as u16),
            ));
        }
        Ok(Self {
            engine: Arc::new(engine),
            ast: Arc::new(ast),
            table,
            source: source.into(),
            file: file.into(),
            limits: limits.clone(),
        })
    }

    /// The file name or label the program was compiled from.
    pub fn file(&self) -> &str {
        &self.file
    }

    /// Runs the program on one state.
    pub fn evaluate(&self, input: &StateInput) -> Result<RewardOutput, RewardError> {
        let state = ScriptState {
            table: self.table.clone(),
            values: input.values.to_vec(),
            action: input.action.to_vec(),
            prev_action: input.prev_action.to_vec(),
            dt: input.dt,
            step: input.step as INT,
        };
        let mut scope = Scope::new();
        scope.push("state", state);
        let value = self
            .engine
            .eval_ast_with_scope::<Dynamic>(&mut scope, &self.ast)
            .map_err(|e| RewardError::from_eval(&e, &self.file, &self.source, &self.limits))?;
        self.output(value)
    }

    fn error(&self, kind: ErrorKind, message: String) -> RewardError {
        RewardError::at(kind, message, &self.file, &self.source, Position::NONE)
    }

    fn output(&self, value: Dynamic) -> Result<RewardOutput, RewardError> {
        let shape_error = |got: &str| {
            self.error(
                ErrorKind::ReturnShape,
                format!(
                    "the script must end with `[total, #{{name: value, ...}}]` (or \
                     `#{{total: ..., components: #{{...}}}}`), but it returned {got}"
                ),
            )
        };
        let describe = |v: &Dynamic| format!("{} `{}`", v.type_name(), abbreviate(&v.to_string()));
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
            return Err(self.error(
                ErrorKind::ReturnShape,
                format!(
                    "{what} must be a number, but it is {} `{}`",
                    value.type_name(),
                    abbreviate(&value.to_string())
                ),
            ));
        };
        if number.is_finite() {
            Ok(number)
        } else {
            Err(self.error(
                ErrorKind::NonFinite,
                format!(
                    "{what} is {number}; guard divisions and logs so that every value stays finite"
                ),
            ))
        }
    }
}

fn abbreviate(text: &str) -> String {
    if text.chars().count() > 80 {
        format!("{}...", text.chars().take(80).collect::<String>())
    } else {
        text.to_string()
    }
}

/// Every `state.<name>` read in the source, with its 1-based line and column, skipping
/// comments and string literals.
fn state_field_reads(source: &str) -> Vec<(String, usize, usize)> {
    let chars: Vec<char> = source.chars().collect();
    let (mut i, mut line, mut column) = (0, 1, 1);
    let mut reads = Vec::new();
    let advance = |i: &mut usize, line: &mut usize, column: &mut usize| {
        if chars[*i] == '\n' {
            *line += 1;
            *column = 1;
        } else {
            *column += 1;
        }
        *i += 1;
    };
    let is_ident = |c: char| c.is_alphanumeric() || c == '_';
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        if c == '/' && next == Some('/') {
            while i < chars.len() && chars[i] != '\n' {
                advance(&mut i, &mut line, &mut column);
            }
        } else if c == '/' && next == Some('*') {
            while i < chars.len() && !(chars[i] == '*' && chars.get(i + 1) == Some(&'/')) {
                advance(&mut i, &mut line, &mut column);
            }
            for _ in 0..2 {
                if i < chars.len() {
                    advance(&mut i, &mut line, &mut column);
                }
            }
        } else if c == '"' || c == '`' || c == '\'' {
            advance(&mut i, &mut line, &mut column);
            while i < chars.len() && chars[i] != c {
                if chars[i] == '\\' {
                    advance(&mut i, &mut line, &mut column);
                }
                if i < chars.len() {
                    advance(&mut i, &mut line, &mut column);
                }
            }
            if i < chars.len() {
                advance(&mut i, &mut line, &mut column);
            }
        } else if is_ident(c) {
            let start = i;
            while i < chars.len() && is_ident(chars[i]) {
                advance(&mut i, &mut line, &mut column);
            }
            let word: String = chars[start..i].iter().collect();
            let preceded_by_dot = start > 0 && chars[start - 1] == '.';
            if word == "state" && !preceded_by_dot {
                let mut j = i;
                while j < chars.len() && chars[j].is_whitespace() && chars[j] != '\n' {
                    j += 1;
                }
                if chars.get(j) == Some(&'.') {
                    let mut k = j + 1;
                    while k < chars.len() && chars[k] == ' ' {
                        k += 1;
                    }
                    let name_start = k;
                    while k < chars.len() && is_ident(chars[k]) {
                        k += 1;
                    }
                    if k > name_start {
                        let name: String = chars[name_start..k].iter().collect();
                        reads.push((name, line, column + (name_start - i)));
                    }
                }
            }
        } else {
            advance(&mut i, &mut line, &mut column);
        }
    }
    reads
}

#[cfg(test)]
mod tests {
    use super::state_field_reads;

    #[test]
    fn field_reads_skip_comments_and_strings() {
        let source = "// state.hidden\nlet a = state.ee_pos; /* state.nope */ let s = \"state.str\";\n  let b = state . goal_pos;";
        let reads = state_field_reads(source);
        assert_eq!(
            reads,
            vec![
                ("ee_pos".to_string(), 2, 15),
                ("goal_pos".to_string(), 3, 19)
            ]
        );
    }
}
