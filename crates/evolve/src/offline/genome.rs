//! A reward program as a [`Genome`]: its top-level `let` bindings plus named, weighted
//! components, read from Rhai source and rendered back to it.

use super::expr::{enclosed, join, lex, snippet, split_top, variables};
use reward_dsl::syntax::{STATE, Token, TokenKind, float_literal_value, is_identifier, tokenize};
use std::collections::BTreeSet;
use std::fmt::Write as _;

/// `x` rounded to 4 significant digits.
pub(super) fn round4(x: f64) -> f64 {
    if x == 0.0 || !x.is_finite() {
        return x;
    }
    format!("{x:.3e}").parse().unwrap_or(x)
}

/// A float literal with up to 4 significant digits and always a decimal point.
pub(super) fn format_number(x: f64) -> String {
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

/// A named reward component: `weight * (expr)`.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Component {
    pub(super) name: String,
    /// Source of the component's value, usually a binding's name.
    pub(super) expr: String,
    pub(super) weight: f64,
}

/// A reward program as an ordered list of `let` bindings plus named, weighted components.
#[derive(Debug, Clone, PartialEq)]
pub struct Genome {
    /// Name and expression source of each top-level `let`, in order.
    pub(super) bindings: Vec<(String, String)>,
    pub(super) components: Vec<Component>,
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
    pub(super) fn prune(&mut self) {
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
    pub(super) fn needed_by(&self, expr: &str) -> Vec<usize> {
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
    pub(super) fn identifiers(&self) -> BTreeSet<String> {
        let exprs = self.bindings.iter().map(|(_, e)| e);
        let exprs = exprs.chain(self.components.iter().map(|c| &c.expr));
        let mut names: BTreeSet<String> = exprs
            .flat_map(|e| lex(e))
            .filter(|t| t.kind == TokenKind::Ident)
            .map(|t| t.text)
            .collect();
        names.extend(self.bindings.iter().map(|(n, _)| n.clone()));
        names
    }

    pub(super) fn unique_component_name(&self, base: &str) -> String {
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
    if statement[0].kind != TokenKind::Ident || (keyword != "let" && keyword != "const") {
        return Err(format!(
            "line {line}: expected `let NAME = EXPR;` before the return value, found `{}`",
            snippet(statement)
        ));
    }
    match statement {
        [_, name, eq, expr @ ..]
            if name.kind == TokenKind::Ident && eq.is("=") && !expr.is_empty() =>
        {
            if !is_identifier(&name.text) || name.text == STATE {
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
                    TokenKind::Ident => key.text.clone(),
                    TokenKind::Str if key.text.starts_with('"') => {
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
        [number, times, paren @ ..] if number.kind == TokenKind::Float && times.is("*") => {
            let inner = enclosed(paren, "(")?;
            Some((sign * float_literal_value(&number.text)?, join(inner)))
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

#[cfg(test)]
mod tests {
    use super::*;

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
