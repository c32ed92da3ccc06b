//! The offline generator's mutation engine: a seeded evolutionary search over reward
//! programs, with no language model.
//!
//! A reward program is read as a [`Genome`]: its top-level `let` bindings in order, plus
//! named, weighted components taken from the map it returns. [`propose`] draws one to three
//! operators with a seeded ChaCha8 generator (constant mutation, weight rescaling, dropping a
//! component, a tanh-shaped copy of a component, crossover with a second parent, material
//! from the hand-written library) and renders the result back to Rhai. Expressions are
//! handled as token sequences from a small tokenizer, never with regular expressions.

use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

/// Candidates drawn per proposal before [`propose`] gives up.
const MAX_TRIES: usize = 64;
/// Mutation and crossover never grow a program beyond this many components.
const MAX_COMPONENTS: usize = 10;
/// Standard deviation of the log of a constant's mutation factor.
const CONSTANT_SIGMA: f64 = 0.35;
/// Range of a weight's log-uniform rescaling factor.
const WEIGHT_FACTOR: (f64, f64) = (0.33, 3.0);
/// Range of the log-uniform scale `s` in a reshaped copy `tanh(x / s)`.
const TANH_SCALE: (f64, f64) = (0.02, 1.0);

/// Rhai keywords and reserved words: never variables, never component names.
const KEYWORDS: &[&str] = &[
    "as",
    "async",
    "await",
    "break",
    "call",
    "case",
    "catch",
    "const",
    "continue",
    "curry",
    "debug",
    "default",
    "do",
    "else",
    "eval",
    "exit",
    "export",
    "false",
    "fn",
    "for",
    "Fn",
    "global",
    "goto",
    "if",
    "import",
    "in",
    "is",
    "is_def_fn",
    "is_def_var",
    "is_shared",
    "let",
    "loop",
    "match",
    "module",
    "new",
    "nil",
    "null",
    "package",
    "print",
    "private",
    "protected",
    "public",
    "return",
    "shared",
    "spawn",
    "static",
    "super",
    "switch",
    "sync",
    "this",
    "thread",
    "throw",
    "true",
    "try",
    "type_of",
    "until",
    "use",
    "var",
    "void",
    "while",
    "with",
    "yield",
];

/// Names that crossover never renames: the state and its built-in fields, and the helpers.
const RESERVED: &[&str] = &[
    "state",
    "action",
    "prev_action",
    "dt",
    "step",
    "norm",
    "dist",
    "dot",
    "cross",
    "add",
    "sub",
    "scale",
    "normalize",
    "angle_between",
    "quat_to_euler",
    "quat_rotate",
    "clamp",
    "exp",
    "tanh",
    "sqrt",
    "abs",
    "min",
    "max",
    "tolerance",
    "vec3",
    "to_array",
    "sin",
    "cos",
    "tan",
    "asin",
    "acos",
    "atan",
    "sinh",
    "cosh",
    "floor",
    "ceiling",
    "round",
    "PI",
    "E",
    "ln",
    "log",
    "len",
    "map",
    "reduce",
    "filter",
    "sum",
];

// ---------------------------------------------------------------------------------------
// Tokenizer

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Ident,
    Int,
    Float,
    Str,
    Punct,
}

#[derive(Debug, Clone)]
struct Token {
    kind: Kind,
    text: String,
    /// Whitespace or a comment came before it.
    spaced: bool,
    line: usize,
}

impl Token {
    fn is(&self, punct: &str) -> bool {
        self.kind == Kind::Punct && self.text == punct
    }
}

/// Splits source into tokens, dropping comments (`//`, nested `/* */`) and whitespace.
fn tokenize(source: &str) -> Result<Vec<Token>, String> {
    let chars: Vec<char> = source.chars().collect();
    let mut tokens = Vec::new();
    let (mut i, mut line, mut spaced) = (0, 1, false);
    while i < chars.len() {
        let (c, next) = (chars[i], chars.get(i + 1).copied());
        let (start, start_line) = (i, line);
        if c.is_whitespace() {
            line += usize::from(c == '\n');
            i += 1;
            spaced = true;
            continue;
        }
        if c == '/' && next == Some('/') {
            while i < chars.len() && chars[i] != '\n' {
                i += 1;
            }
            spaced = true;
            continue;
        }
        if c == '/' && next == Some('*') {
            let mut depth = 0usize;
            loop {
                match (chars.get(i), chars.get(i + 1)) {
                    (Some('/'), Some('*')) => {
                        depth += 1;
                        i += 2;
                    }
                    (Some('*'), Some('/')) => {
                        depth -= 1;
                        i += 2;
                        if depth == 0 {
                            break;
                        }
                    }
                    (Some(ch), _) => {
                        line += usize::from(*ch == '\n');
                        i += 1;
                    }
                    (None, _) => {
                        return Err(format!("line {start_line}: unterminated block comment"));
                    }
                }
            }
            spaced = true;
            continue;
        }
        let kind = if matches!(c, '"' | '`' | '\'') {
            i += 1;
            loop {
                match chars.get(i) {
                    None => return Err(format!("line {start_line}: unterminated string literal")),
                    Some('\\') => {
                        line += usize::from(chars.get(i + 1) == Some(&'\n'));
                        i += 2;
                    }
                    Some(ch) if *ch == c => {
                        i += 1;
                        break;
                    }
                    Some(ch) => {
                        line += usize::from(*ch == '\n');
                        i += 1;
                    }
                }
            }
            Kind::Str
        } else if c.is_ascii_digit() {
            let (end, float) = scan_number(&chars, i);
            i = end;
            if float { Kind::Float } else { Kind::Int }
        } else if c.is_alphabetic() || c == '_' {
            while i < chars.len() && (chars[i].is_alphanumeric() || chars[i] == '_') {
                i += 1;
            }
            Kind::Ident
        } else {
            i += if c == '#' && next == Some('{') { 2 } else { 1 };
            Kind::Punct
        };
        tokens.push(Token {
            kind,
            text: chars[start..i].iter().collect(),
            spaced,
            line: start_line,
        });
        spaced = false;
    }
    Ok(tokens)
}

/// The end of the number starting at `i`, and whether Rhai reads it as a float: digits with
/// a decimal point or an exponent (`1.5`, `2.`, `1e-3`), as Rhai's own lexer decides.
fn scan_number(chars: &[char], mut i: usize) -> (usize, bool) {
    let digits = |i: &mut usize| {
        while chars
            .get(*i)
            .is_some_and(|c| c.is_ascii_digit() || *c == '_')
        {
            *i += 1;
        }
    };
    if chars[i] == '0' && matches!(chars.get(i + 1), Some('x' | 'X' | 'o' | 'O' | 'b' | 'B')) {
        i += 2;
        while chars
            .get(i)
            .is_some_and(|c| c.is_ascii_hexdigit() || *c == '_')
        {
            i += 1;
        }
        return (i, false);
    }
    digits(&mut i);
    let mut float = false;
    if chars.get(i) == Some(&'.') {
        match chars.get(i + 1) {
            Some(c) if c.is_ascii_digit() => {
                i += 1;
                digits(&mut i);
                float = true;
            }
            // `2.` before a symbol is a float; `1..n`, `1._` and `v.x` are not.
            Some(c) if !matches!(c, '.' | '_') && !c.is_alphabetic() => {
                i += 1;
                float = true;
            }
            _ => {}
        }
    }
    if matches!(chars.get(i), Some('e' | 'E')) {
        let digit_at = i + 1 + usize::from(matches!(chars.get(i + 1), Some('+' | '-')));
        if chars.get(digit_at).is_some_and(char::is_ascii_digit) {
            i = digit_at;
            digits(&mut i);
            float = true;
        }
    }
    (i, float)
}

/// The value of a float literal's text.
fn literal_value(text: &str) -> Option<f64> {
    let mut clean: String = text.chars().filter(|c| *c != '_').collect();
    if clean.ends_with('.') {
        clean.push('0');
    }
    clean.parse().ok().filter(|v: &f64| v.is_finite())
}

/// Tokens of an expression stored in a genome. Every stored expression was itself produced
/// by [`join`] from tokens, so it always tokenizes; an empty list stands for a failure.
fn lex(expr: &str) -> Vec<Token> {
    tokenize(expr).unwrap_or_default()
}

/// Tokens back to source: one space wherever the original had whitespace or a comment.
fn join(tokens: &[Token]) -> String {
    let mut out = String::new();
    for (k, token) in tokens.iter().enumerate() {
        if k > 0 && token.spaced {
            out.push(' ');
        }
        out.push_str(&token.text);
    }
    out
}

/// A short quote of some tokens, for error messages.
fn snippet(tokens: &[Token]) -> String {
    let text = join(tokens);
    if text.chars().count() > 60 {
        format!("{}...", text.chars().take(60).collect::<String>())
    } else {
        text
    }
}

fn closing(open: &str) -> Option<&'static str> {
    match open {
        "(" => Some(")"),
        "[" => Some("]"),
        "{" | "#{" => Some("}"),
        _ => None,
    }
}

/// Splits tokens at `sep` outside every bracket, checking that brackets balance.
fn split_top<'a>(tokens: &'a [Token], sep: &str) -> Result<Vec<&'a [Token]>, String> {
    let mut open: Vec<(&str, usize)> = Vec::new();
    let (mut parts, mut start) = (Vec::new(), 0);
    for (k, token) in tokens.iter().enumerate() {
        if token.kind != Kind::Punct {
            continue;
        }
        if let Some(close) = closing(&token.text) {
            open.push((close, token.line));
        } else if matches!(token.text.as_str(), ")" | "]" | "}") {
            if open.pop().map(|(close, _)| close) != Some(token.text.as_str()) {
                return Err(format!("line {}: unbalanced `{}`", token.line, token.text));
            }
        } else if token.text == sep && open.is_empty() {
            parts.push(&tokens[start..k]);
            start = k + 1;
        }
    }
    if let Some((close, line)) = open.pop() {
        return Err(format!(
            "line {line}: a bracket is never closed (missing `{close}`)"
        ));
    }
    parts.push(&tokens[start..]);
    Ok(parts)
}

/// The tokens between `open` and its matching close, when those enclose all of `tokens`.
fn enclosed<'a>(tokens: &'a [Token], open: &str) -> Option<&'a [Token]> {
    let (first, last) = (tokens.first()?, tokens.last()?);
    if !first.is(open) || tokens.len() < 2 || !last.is(closing(open)?) {
        return None;
    }
    let mut depth = 0usize;
    for token in &tokens[..tokens.len() - 1] {
        if token.kind == Kind::Punct && closing(&token.text).is_some() {
            depth += 1;
        } else if token.kind == Kind::Punct && matches!(token.text.as_str(), ")" | "]" | "}") {
            depth = depth.checked_sub(1)?;
            if depth == 0 {
                return None;
            }
        }
    }
    Some(&tokens[1..tokens.len() - 1])
}

/// Positions of identifiers that name variables: not a `.field` or `.method`, not a
/// function call, not a map key, not a keyword and not `state`.
fn variable_positions(tokens: &[Token]) -> Vec<usize> {
    let mut in_map: Vec<bool> = Vec::new();
    let mut positions = Vec::new();
    for (k, token) in tokens.iter().enumerate() {
        match token.kind {
            Kind::Punct if token.text == "#{" => in_map.push(true),
            Kind::Punct if closing(&token.text).is_some() => in_map.push(false),
            Kind::Punct if matches!(token.text.as_str(), ")" | "]" | "}") => {
                in_map.pop();
            }
            Kind::Ident => {
                let next = tokens.get(k + 1);
                let after_dot = k > 0 && tokens[k - 1].is(".");
                let call = next.is_some_and(|n| n.is("("));
                let key = in_map.last() == Some(&true) && next.is_some_and(|n| n.is(":"));
                let word = KEYWORDS.contains(&token.text.as_str()) || token.text == "state";
                if !after_dot && !call && !key && !word {
                    positions.push(k);
                }
            }
            _ => {}
        }
    }
    positions
}

fn is_identifier(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
        && !KEYWORDS.contains(&name)
}

/// The variables an expression reads (a superset: locals of closures and blocks count too).
fn variables(expr: &str) -> BTreeSet<String> {
    let tokens = lex(expr);
    variable_positions(&tokens)
        .into_iter()
        .map(|k| tokens[k].text.clone())
        .collect()
}

/// Renames variables in an expression; fields, calls and map keys keep their names.
fn rename(expr: &str, renames: &BTreeMap<String, String>) -> String {
    if renames.is_empty() {
        return expr.to_string();
    }
    let mut tokens = lex(expr);
    for k in variable_positions(&tokens) {
        if let Some(new) = renames.get(&tokens[k].text) {
            tokens[k].text.clone_from(new);
        }
    }
    join(&tokens)
}

// ---------------------------------------------------------------------------------------
// Numbers

/// `x` rounded to 4 significant digits.
fn round4(x: f64) -> f64 {
    if x == 0.0 || !x.is_finite() {
        return x;
    }
    format!("{x:.3e}").parse().unwrap_or(x)
}

/// A float literal with up to 4 significant digits and always a decimal point.
fn format_number(x: f64) -> String {
    let x = round4(x);
    let magnitude = x.abs();
    let mut text = if magnitude == 0.0 || (1e-4..1e6).contains(&magnitude) {
        format!("{x}")
    } else {
        format!("{x:e}")
    };
    if !text.contains('.') {
        let at = text.find('e').unwrap_or(text.len());
        text.insert_str(at, ".0");
    }
    text
}

/// A standard normal draw (Box-Muller).
fn normal(rng: &mut ChaCha8Rng) -> f64 {
    let u1 = 1.0 - rng.random::<f64>();
    let u2 = rng.random::<f64>();
    (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
}

fn log_uniform(rng: &mut ChaCha8Rng, (low, high): (f64, f64)) -> f64 {
    rng.random_range(low.ln()..high.ln()).exp()
}

// ---------------------------------------------------------------------------------------
// Genome

#[derive(Debug, Clone, PartialEq)]
struct Component {
    name: String,
    /// Source of the component's value, usually a binding's name.
    expr: String,
    weight: f64,
}

/// A reward program as an ordered list of `let` bindings plus named, weighted components.
#[derive(Debug, Clone, PartialEq)]
pub struct Genome {
    /// Name and expression source of each top-level `let`, in order.
    bindings: Vec<(String, String)>,
    components: Vec<Component>,
}

impl Genome {
    /// Parses a program of the shape the library uses: top-level `let NAME = EXPR;`
    /// statements, then `[TOTAL, #{name: expr, ...}]` or `#{total: ..., components: #{...}}`.
    /// The total is discarded: a rendered genome's total is the sum of its weighted
    /// components. A component that names a binding of the form `W * (EXPR)` used nowhere
    /// else (what [`Genome::render`] writes) is read back as weight `W` on `EXPR`.
    pub fn parse(source: &str) -> Result<Genome, String> {
        let tokens = tokenize(source)?;
        let statements = split_top(&tokens, ";")?;
        let Some(last) = statements.iter().rposition(|s| !s.is_empty()) else {
            return Err("the program is empty".into());
        };
        let mut bindings: Vec<(String, String)> = Vec::new();
        for statement in statements[..last].iter().filter(|s| !s.is_empty()) {
            let (name, expr) = parse_let(statement)?;
            if bindings.iter().any(|(n, _)| *n == name) {
                return Err(format!(
                    "line {}: `{name}` is bound twice; shadowed bindings are not understood",
                    statement[0].line
                ));
            }
            bindings.push((name, expr));
        }
        let returned = statements[last];
        if returned[0].text == "let" || returned[0].text == "const" {
            return Err(format!(
                "line {}: the program ends without a return value; it must end with \
                 `[total, #{{name: value, ...}}]`",
                returned[0].line
            ));
        }
        let mut components = parse_return(returned)?;
        fold_weights(&mut bindings, &mut components);
        Ok(Genome {
            bindings,
            components,
        })
    }

    /// Renders valid Rhai: `// header` (when not empty), the bindings in order, then
    /// `let r_<name> = <weight> * (<expr>);` per component and
    /// `[r_a + r_b + ..., #{a: r_a, b: r_b}]`.
    pub fn render(&self, header: &str) -> String {
        let mut out = String::new();
        let header = header.trim().replace(['\n', '\r'], " ");
        if !header.is_empty() {
            let slashes = if header.starts_with("//") { "" } else { "// " };
            let _ = writeln!(out, "{slashes}{header}");
        }
        for (name, expr) in &self.bindings {
            let _ = writeln!(out, "let {name} = {expr};");
        }
        let mut taken: BTreeSet<String> = self.bindings.iter().map(|(n, _)| n.clone()).collect();
        let mut locals = Vec::new();
        for component in &self.components {
            let mut local = format!("r_{}", component.name);
            while taken.contains(&local) {
                local.push('_');
            }
            taken.insert(local.clone());
            let weight = format_number(component.weight);
            let _ = writeln!(out, "let {local} = {weight} * ({});", component.expr);
            locals.push(local);
        }
        let entries: Vec<String> = self
            .components
            .iter()
            .zip(&locals)
            .map(|(c, local)| format!("{}: {local}", c.name))
            .collect();
        let _ = write!(out, "[{}, #{{{}}}]", locals.join(" + "), entries.join(", "));
        out
    }

    /// The components' names, in order.
    pub fn component_names(&self) -> Vec<String> {
        self.components.iter().map(|c| c.name.clone()).collect()
    }

    /// Removes bindings that no component needs, directly or through other bindings.
    fn prune(&mut self) {
        let mut needed: BTreeSet<String> = BTreeSet::new();
        for component in &self.components {
            needed.extend(variables(&component.expr));
        }
        let mut keep = vec![false; self.bindings.len()];
        for (k, (name, expr)) in self.bindings.iter().enumerate().rev() {
            if needed.contains(name) {
                keep[k] = true;
                needed.extend(variables(expr));
            }
        }
        let mut keep = keep.into_iter();
        self.bindings.retain(|_| keep.next().unwrap_or(true));
    }

    /// Indices of the bindings an expression needs, directly or transitively, in order.
    fn needed_by(&self, expr: &str) -> Vec<usize> {
        let mut needed = variables(expr);
        let mut indices = Vec::new();
        for (k, (name, expr)) in self.bindings.iter().enumerate().rev() {
            if needed.contains(name) {
                indices.push(k);
                needed.extend(variables(expr));
            }
        }
        indices.reverse();
        indices
    }

    /// Every identifier in the genome, bound or read.
    fn identifiers(&self) -> BTreeSet<String> {
        let exprs = self.bindings.iter().map(|(_, e)| e);
        let exprs = exprs.chain(self.components.iter().map(|c| &c.expr));
        let mut names: BTreeSet<String> = exprs
            .flat_map(|e| lex(e))
            .filter(|t| t.kind == Kind::Ident)
            .map(|t| t.text)
            .collect();
        names.extend(self.bindings.iter().map(|(n, _)| n.clone()));
        names
    }

    fn unique_component_name(&self, base: &str) -> String {
        let taken = |name: &str| self.components.iter().any(|c| c.name == name);
        if !taken(base) {
            return base.to_string();
        }
        (2..)
            .map(|k| format!("{base}{k}"))
            .find(|name| !taken(name))
            .unwrap_or_default()
    }
}

/// `let NAME = EXPR` (or `const`), without its `;`.
fn parse_let(statement: &[Token]) -> Result<(String, String), String> {
    let line = statement[0].line;
    let keyword = &statement[0].text;
    if statement[0].kind != Kind::Ident || (keyword != "let" && keyword != "const") {
        return Err(format!(
            "line {line}: expected `let NAME = EXPR;` before the return value, found `{}`",
            snippet(statement)
        ));
    }
    match statement {
        [_, name, eq, expr @ ..] if name.kind == Kind::Ident && eq.is("=") && !expr.is_empty() => {
            if !is_identifier(&name.text) || name.text == "state" {
                return Err(format!("line {line}: `{}` cannot be bound", name.text));
            }
            Ok((name.text.clone(), join(expr)))
        }
        _ => Err(format!(
            "line {line}: expected `let NAME = EXPR;`, found `{}`",
            snippet(statement)
        )),
    }
}

/// The components of the program's return value.
fn parse_return(tokens: &[Token]) -> Result<Vec<Component>, String> {
    let line = tokens[0].line;
    let shape_error = || {
        format!(
            "line {line}: the return value must be `[total, #{{name: value, ...}}]` or \
             `#{{total: ..., components: #{{...}}}}`, found `{}`",
            snippet(tokens)
        )
    };
    let map = if let Some(inner) = enclosed(tokens, "[") {
        let mut parts = split_top(inner, ",")?;
        if parts.last().is_some_and(|p| p.is_empty()) {
            parts.pop();
        }
        match parts.as_slice() {
            [total, map] if !total.is_empty() => enclosed(map, "#{").ok_or_else(shape_error)?,
            _ => return Err(shape_error()),
        }
    } else if let Some(inner) = enclosed(tokens, "#{") {
        let entries = map_entries(inner)?;
        let keys: BTreeSet<&str> = entries.iter().map(|(k, _, _)| k.as_str()).collect();
        let components = entries.iter().find(|(k, _, _)| k == "components");
        match components {
            Some((_, value, _)) if keys == BTreeSet::from(["components", "total"]) => {
                enclosed(value, "#{").ok_or_else(shape_error)?
            }
            _ => return Err(shape_error()),
        }
    } else {
        return Err(shape_error());
    };
    let mut components: Vec<Component> = Vec::new();
    for (name, value, line) in map_entries(map)? {
        if !is_identifier(&name) {
            return Err(format!(
                "line {line}: component name `{name}` is not an identifier"
            ));
        }
        if components.iter().any(|c| c.name == name) {
            return Err(format!("line {line}: component `{name}` appears twice"));
        }
        components.push(Component {
            name,
            expr: join(value),
            weight: 1.0,
        });
    }
    if components.is_empty() {
        return Err(format!(
            "line {line}: the program has no components: its return map is empty"
        ));
    }
    Ok(components)
}

/// A map entry: key, value tokens and the key's line.
type Entry<'a> = (String, &'a [Token], usize);

/// The `key: value` entries of a map literal's inside.
fn map_entries(inner: &[Token]) -> Result<Vec<Entry<'_>>, String> {
    let mut parts = split_top(inner, ",")?;
    if parts.last().is_some_and(|p| p.is_empty()) {
        parts.pop();
    }
    parts
        .into_iter()
        .map(|part| match part {
            [key, colon, value @ ..] if colon.is(":") && !value.is_empty() => {
                let name = match key.kind {
                    Kind::Ident => key.text.clone(),
                    Kind::Str if key.text.starts_with('"') => {
                        key.text.trim_matches('"').to_string()
                    }
                    _ => {
                        return Err(format!(
                            "line {}: `{}` is not a map key",
                            key.line, key.text
                        ));
                    }
                };
                Ok((name, value, key.line))
            }
            _ => Err(format!(
                "line {}: expected `name: value` in the map, found `{}`",
                part.first().map_or(0, |t| t.line),
                snippet(part)
            )),
        })
        .collect()
}

/// `[-]W * (EXPR)` with a float `W`: the weight and `EXPR`.
fn weighted(expr: &str) -> Option<(f64, String)> {
    let tokens = lex(expr);
    let (sign, rest) = match tokens.split_first() {
        Some((minus, rest)) if minus.is("-") => (-1.0, rest),
        _ => (1.0, tokens.as_slice()),
    };
    match rest {
        [number, times, paren @ ..] if number.kind == Kind::Float && times.is("*") => {
            let inner = enclosed(paren, "(")?;
            Some((sign * literal_value(&number.text)?, join(inner)))
        }
        _ => None,
    }
}

/// Reads `let r = W * (EXPR); ... #{name: r}` as component `name` with weight `W` on `EXPR`,
/// when nothing else reads `r`.
fn fold_weights(bindings: &mut Vec<(String, String)>, components: &mut [Component]) {
    for k in 0..components.len() {
        let name = components[k].expr.clone();
        let Some(index) = bindings.iter().position(|(n, _)| *n == name) else {
            continue;
        };
        let Some((weight, inner)) = weighted(&bindings[index].1) else {
            continue;
        };
        let reads = |expr: &String| variables(expr).contains(&name);
        let read_elsewhere = bindings.iter().any(|(_, e)| reads(e))
            || components
                .iter()
                .enumerate()
                .any(|(j, c)| j != k && reads(&c.expr));
        if !read_elsewhere {
            bindings.remove(index);
            components[k].expr = inner;
            components[k].weight = weight;
        }
    }
}

// ---------------------------------------------------------------------------------------
// Operators

/// What one proposal did, for the run's records and for the report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Proposal {
    /// The new program's Rhai source.
    pub source: String,
    /// Human-readable edits, in the order they were applied.
    pub edits: Vec<String>,
    /// The operator of each edit (one of [`OPERATORS`]), in the same order.
    pub operators: Vec<&'static str>,
}

/// A genome that crossover can take components from, with a label for the edit records.
struct Donor {
    label: String,
    genome: Genome,
}

#[derive(Debug, Clone, Copy)]
enum Operator {
    Constant,
    Weight,
    Drop,
    Duplicate,
    Crossover,
    Library,
}

/// The operators' names, as the run store records them and the report counts them.
pub const OPERATORS: [&str; 6] = [
    "scale constant",
    "rescale weight",
    "drop component",
    "add tanh copy",
    "take from runner-up",
    "take from library",
];

impl Operator {
    fn name(self) -> &'static str {
        OPERATORS[self as usize]
    }
}

/// Proposes one new program. `parents[0]` is the elite (the slice, or that string, may be
/// empty at the first generation); `library` holds (file name, source) of hand-written
/// programs for the env. Deterministic for a given seed and inputs. Each candidate is
/// passed to `is_valid` (the caller compiles it in the sandbox); an invalid one is discarded
/// and another drawn, up to a fixed number of tries. Without an elite, a library program
/// chosen by the rng is the starting point. Further parents and library programs that do not
/// parse are skipped as donors; an elite that does not parse is an error.
pub fn propose(
    parents: &[String],
    library: &[(String, String)],
    seed: u64,
    is_valid: &dyn Fn(&str) -> bool,
) -> Result<Proposal, String> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let library: Vec<Donor> = library
        .iter()
        .filter_map(|(name, source)| {
            let genome = Genome::parse(source).ok()?;
            Some(Donor {
                label: format!("library {name}"),
                genome,
            })
        })
        .collect();
    let others: Vec<Donor> = parents
        .iter()
        .enumerate()
        .skip(1)
        .filter_map(|(k, source)| {
            let genome = Genome::parse(source).ok()?;
            Some(Donor {
                label: format!("parent {}", k + 1),
                genome,
            })
        })
        .collect();
    let (mut base, start) = match parents.first().filter(|p| !p.trim().is_empty()) {
        Some(elite) => (
            Genome::parse(elite).map_err(|e| format!("parent 1 does not parse: {e}"))?,
            None,
        ),
        None if library.is_empty() => {
            return Err("no elite to mutate and no library program that parses".into());
        }
        None => {
            let donor = &library[rng.random_range(0..library.len())];
            (
                donor.genome.clone(),
                Some(format!("started from {}", donor.label)),
            )
        }
    };
    base.prune();
    let base_body = base.render("");
    for _ in 0..MAX_TRIES {
        let mut genome = base.clone();
        let mut edits: Vec<String> = start.iter().cloned().collect();
        let mut operators = Vec::new();
        let wanted = rng.random_range(1..=3usize);
        let mut applied = 0;
        for _ in 0..wanted * 8 {
            if applied == wanted {
                break;
            }
            let operator = draw_operator(&genome, &others, &library, &mut rng);
            let edit = match operator {
                Operator::Constant => mutate_constant(&mut genome, &mut rng),
                Operator::Weight => rescale_weight(&mut genome, &mut rng),
                Operator::Drop => drop_component(&mut genome, &mut rng),
                Operator::Duplicate => duplicate_component(&mut genome, &mut rng),
                Operator::Crossover => transplant(&mut genome, &others, &mut rng),
                Operator::Library => transplant(&mut genome, &library, &mut rng),
            };
            if let Some(edit) = edit {
                edits.push(edit);
                operators.push(operator.name());
                applied += 1;
            }
        }
        if applied == 0 || genome.render("") == base_body {
            continue;
        }
        let source = genome.render(&format!("offline proposal: {}", edits.join("; ")));
        if parents.contains(&source) || !is_valid(&source) {
            continue;
        }
        return Ok(Proposal {
            source,
            edits,
            operators,
        });
    }
    Err(format!(
        "no valid proposal in {MAX_TRIES} tries: every candidate was unchanged or rejected"
    ))
}

/// Draws an operator, weighted, among those that can apply to `genome`.
fn draw_operator(
    genome: &Genome,
    others: &[Donor],
    library: &[Donor],
    rng: &mut ChaCha8Rng,
) -> Operator {
    let count = genome.components.len();
    let choices = [
        (Operator::Constant, 3, true),
        (Operator::Weight, 3, true),
        (Operator::Drop, 1, count > 1),
        (Operator::Duplicate, 1, count < MAX_COMPONENTS),
        (Operator::Crossover, 2, !others.is_empty()),
        (Operator::Library, 1, !library.is_empty()),
    ];
    let total: u32 = choices.iter().filter(|c| c.2).map(|c| c.1).sum();
    let mut pick = rng.random_range(0..total);
    for (operator, weight, possible) in choices {
        if !possible {
            continue;
        }
        if pick < weight {
            return operator;
        }
        pick -= weight;
    }
    Operator::Weight
}

/// Multiplies one non-zero float literal by a log-normal factor. Integer literals (indices)
/// are never touched.
fn mutate_constant(genome: &mut Genome, rng: &mut ChaCha8Rng) -> Option<String> {
    // (binding index, or component index past the bindings; token index; value)
    let mut sites: Vec<(usize, usize, f64)> = Vec::new();
    let exprs: Vec<&String> = genome
        .bindings
        .iter()
        .map(|(_, e)| e)
        .chain(genome.components.iter().map(|c| &c.expr))
        .collect();
    for (slot, expr) in exprs.iter().enumerate() {
        for (k, token) in lex(expr).iter().enumerate() {
            if token.kind == Kind::Float
                && let Some(value) = literal_value(&token.text).filter(|v| *v != 0.0)
            {
                sites.push((slot, k, value));
            }
        }
    }
    if sites.is_empty() {
        return None;
    }
    let (slot, k, value) = sites[rng.random_range(0..sites.len())];
    let mut tokens = lex(exprs[slot]);
    let old = tokens[k].text.clone();
    let new = (0..8).find_map(|_| {
        let next = value * (CONSTANT_SIGMA * normal(rng)).exp();
        let text = format_number(next);
        (next.is_finite() && round4(next) != 0.0 && literal_value(&text) != Some(value))
            .then_some(text)
    })?;
    tokens[k].text.clone_from(&new);
    let expr = join(&tokens);
    let place = if slot < genome.bindings.len() {
        genome.bindings[slot].1 = expr;
        genome.bindings[slot].0.clone()
    } else {
        let component = &mut genome.components[slot - genome.bindings.len()];
        component.expr = expr;
        format!("component {}", component.name)
    };
    Some(format!("mutated {old} -> {new} in {place}"))
}

/// Multiplies one component's weight by a log-uniform factor in [0.33, 3].
fn rescale_weight(genome: &mut Genome, rng: &mut ChaCha8Rng) -> Option<String> {
    let index = rng.random_range(0..genome.components.len());
    let component = &mut genome.components[index];
    let old = component.weight;
    let (factor, new) = (0..8).find_map(|_| {
        let factor = log_uniform(rng, WEIGHT_FACTOR);
        let new = round4(old * factor);
        (new.is_finite() && new != 0.0 && new != old).then_some((factor, new))
    })?;
    component.weight = new;
    Some(format!(
        "scaled weight of {} by {} ({} -> {})",
        component.name,
        format_number(factor),
        format_number(old),
        format_number(new)
    ))
}

/// Removes one component (never the last) and the bindings only it used.
fn drop_component(genome: &mut Genome, rng: &mut ChaCha8Rng) -> Option<String> {
    if genome.components.len() < 2 {
        return None;
    }
    let dropped = genome
        .components
        .remove(rng.random_range(0..genome.components.len()));
    genome.prune();
    Some(format!("dropped {}", dropped.name))
}

/// Adds `<name>_b = tanh((<expr>) / s)`, a saturating copy of one component that is not
/// itself such a copy.
fn duplicate_component(genome: &mut Genome, rng: &mut ChaCha8Rng) -> Option<String> {
    let originals: Vec<&Component> = genome
        .components
        .iter()
        .filter(|c| !c.expr.starts_with("tanh(("))
        .collect();
    if originals.is_empty() || genome.components.len() >= MAX_COMPONENTS {
        return None;
    }
    let source = originals[rng.random_range(0..originals.len())].clone();
    let scale = round4(log_uniform(rng, TANH_SCALE));
    let weight = round4(source.weight * log_uniform(rng, WEIGHT_FACTOR));
    let name = genome.unique_component_name(&format!("{}_b", source.name));
    let (scale, weight_text) = (format_number(scale), format_number(weight));
    genome.components.push(Component {
        name: name.clone(),
        expr: format!("tanh(({}) / {scale})", source.expr),
        weight,
    });
    Some(format!(
        "added tanh-shaped copy {name} of {} (scale {scale}, weight {weight_text})",
        source.name
    ))
}

/// Takes one component, with the bindings it needs, from a donor drawn from `donors`. A
/// component of the same name is replaced; a needed binding that clashes with a different
/// binding of the same name is renamed, with every read of it.
fn transplant(genome: &mut Genome, donors: &[Donor], rng: &mut ChaCha8Rng) -> Option<String> {
    let donor = &donors[rng.random_range(0..donors.len())];
    let taken = &donor.genome.components[rng.random_range(0..donor.genome.components.len())];
    let existing = genome.components.iter().position(|c| c.name == taken.name);
    if existing.is_none() && genome.components.len() >= MAX_COMPONENTS {
        return None;
    }
    let mut avoid = genome.identifiers();
    avoid.extend(donor.genome.identifiers());
    let mut renames: BTreeMap<String, String> = BTreeMap::new();
    let mut candidate = genome.clone();
    for index in donor.genome.needed_by(&taken.expr) {
        let (name, expr) = &donor.genome.bindings[index];
        let expr = rename(expr, &renames);
        match genome.bindings.iter().find(|(n, _)| n == name) {
            Some((_, mine)) if *mine == expr => {}
            Some(_) if RESERVED.contains(&name.as_str()) => return None,
            Some(_) => {
                let fresh = (2..)
                    .map(|k| format!("{name}_{k}"))
                    .find(|n| !avoid.contains(n) && !RESERVED.contains(&n.as_str()))?;
                avoid.insert(fresh.clone());
                renames.insert(name.clone(), fresh.clone());
                candidate.bindings.push((fresh, expr));
            }
            None => candidate.bindings.push((name.clone(), expr)),
        }
    }
    let component = Component {
        name: taken.name.clone(),
        expr: rename(&taken.expr, &renames),
        weight: taken.weight,
    };
    match existing {
        Some(k) => candidate.components[k] = component,
        None => candidate.components.push(component),
    }
    candidate.prune();
    if candidate == *genome {
        return None;
    }
    *genome = candidate;
    let mut edit = format!("took {} from {}", taken.name, donor.label);
    if existing.is_some() {
        edit.push_str(" (replacing its own)");
    }
    if !renames.is_empty() {
        let pairs: Vec<String> = renames.iter().map(|(a, b)| format!("{a} -> {b}")).collect();
        let _ = write!(edit, " (renamed {})", pairs.join(", "));
    }
    Some(edit)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(source: &str) -> Vec<(Kind, String)> {
        tokenize(source)
            .unwrap()
            .into_iter()
            .map(|t| (t.kind, t.text))
            .collect()
    }

    #[test]
    fn numbers_are_read_as_rhai_reads_them() {
        let float = |s: &str| (Kind::Float, s.to_string());
        let int = |s: &str| (Kind::Int, s.to_string());
        assert_eq!(
            kinds("1.5e-3 2. 1_000.5 0x1F 7")[..4],
            [float("1.5e-3"), float("2."), float("1_000.5"), int("0x1F")]
        );
        // A range, a method on an integer and an index are not floats.
        assert_eq!(kinds("0..n")[0], int("0"));
        assert_eq!(kinds("1.max(2)")[0], int("1"));
        assert_eq!(kinds("v[2]")[2], int("2"));
        assert_eq!(kinds("3e5")[0], float("3e5"));
        assert_eq!(literal_value("2."), Some(2.0));
        assert_eq!(literal_value("1_000.5"), Some(1000.5));
    }

    #[test]
    fn comments_and_strings_are_single_tokens_or_nothing() {
        let tokens = kinds("a /* x /* nested */ y */ + // c\n \"s;//\" `t`");
        let texts: Vec<&str> = tokens.iter().map(|(_, t)| t.as_str()).collect();
        assert_eq!(texts, ["a", "+", "\"s;//\"", "`t`"]);
        assert_eq!(
            join(&tokenize("f(a,/*x*/b)  *\n-2.").unwrap()),
            "f(a, b) * -2."
        );
    }

    #[test]
    fn numbers_print_with_four_digits_and_a_point() {
        assert_eq!(format_number(1.0), "1.0");
        assert_eq!(format_number(-2.0), "-2.0");
        assert_eq!(format_number(0.041237), "0.04124");
        assert_eq!(format_number(1234.56), "1235.0");
        assert_eq!(format_number(0.0000123456), "1.235e-5");
        assert_eq!(format_number(1e-5), "1.0e-5");
        assert_eq!(format_number(2.5e7), "2.5e7");
        assert_eq!(format_number(0.0), "0.0");
    }

    #[test]
    fn renaming_skips_fields_calls_keys_and_reserved_names() {
        let renames = BTreeMap::from([("d".to_string(), "d_2".to_string())]);
        let expr = "d(d) + m.d + #{d: d, e: [d]}.d + state.d + { let x = d; x }";
        assert_eq!(
            rename(expr, &renames),
            "d(d_2) + m.d + #{d: d_2, e: [d_2]}.d + state.d + { let x = d_2; x }"
        );
        assert_eq!(
            variables("dist(state.ee_pos, g) + v.x * clamp(k, 0.0, 1.0)"),
            BTreeSet::from(["g".to_string(), "k".to_string(), "v".to_string()])
        );
    }

    #[test]
    fn rendered_weights_are_read_back_as_weights() {
        let genome = Genome::parse(
            "let a = state.dt;\nlet r_a = -0.5 * (a + 1.0);\n[r_a, #{a: r_a, b: 2.0 * a}]",
        )
        .unwrap();
        assert_eq!(genome.bindings, [("a".to_string(), "state.dt".to_string())]);
        assert_eq!(genome.components[0].weight, -0.5);
        assert_eq!(genome.components[0].expr, "a + 1.0");
        assert_eq!(genome.components[1].weight, 1.0);
        assert_eq!(genome.components[1].expr, "2.0 * a");
        let text = genome.render("h");
        assert!(text.contains("let r_a = -0.5 * (a + 1.0);\n"), "{text}");
        assert!(text.ends_with("[r_a + r_b, #{a: r_a, b: r_b}]"), "{text}");
        assert_eq!(Genome::parse(&text).unwrap(), genome);
    }
}
