//! The mutation and crossover operators: each edits a [`Genome`] with a seeded generator and
//! describes its edit, or declines when it cannot apply.

use super::expr::{join, lex, rename};
use super::genome::{Component, Genome, format_number, round4};
use rand::RngExt;
use rand_chacha::ChaCha8Rng;
use reward_dsl::syntax::{TokenKind, float_literal_value, is_predefined};
use std::collections::BTreeMap;
use std::fmt::Write as _;

/// Mutation and crossover never grow a program beyond this many components.
const MAX_COMPONENTS: usize = 10;
/// Standard deviation of the log of a constant's mutation factor.
const CONSTANT_SIGMA: f64 = 0.35;
/// Range of a weight's log-uniform rescaling factor.
const WEIGHT_FACTOR: (f64, f64) = (0.33, 3.0);
/// Range of the log-uniform scale `s` in a reshaped copy `tanh(x / s)`.
const TANH_SCALE: (f64, f64) = (0.02, 1.0);

/// A standard normal draw (Box-Muller).
fn normal(rng: &mut ChaCha8Rng) -> f64 {
    let u1 = 1.0 - rng.random::<f64>();
    let u2 = rng.random::<f64>();
    (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
}

/// A log-uniform draw in `[low, high)`.
fn log_uniform(rng: &mut ChaCha8Rng, (low, high): (f64, f64)) -> f64 {
    rng.random_range(low.ln()..high.ln()).exp()
}

/// A genome that crossover can take components from, with a label for the edit records.
pub(super) struct Donor {
    pub(super) label: String,
    pub(super) genome: Genome,
}

/// One kind of edit; its name is its entry in [`OPERATORS`].
#[derive(Debug, Clone, Copy)]
pub(super) enum Operator {
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
    pub(super) fn name(self) -> &'static str {
        OPERATORS[self as usize]
    }

    /// Applies the operator to `genome`, taking crossover material from `others` (the other
    /// parents) or `library`; the edit's description, or `None` when it did not apply.
    pub(super) fn apply(
        self,
        genome: &mut Genome,
        others: &[Donor],
        library: &[Donor],
        rng: &mut ChaCha8Rng,
    ) -> Option<String> {
        match self {
            Operator::Constant => mutate_constant(genome, rng),
            Operator::Weight => rescale_weight(genome, rng),
            Operator::Drop => drop_component(genome, rng),
            Operator::Duplicate => duplicate_component(genome, rng),
            Operator::Crossover => transplant(genome, others, rng),
            Operator::Library => transplant(genome, library, rng),
        }
    }
}

/// Draws an operator, weighted, among those that can apply to `genome`.
pub(super) fn draw_operator(
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
            if token.kind == TokenKind::Float
                && let Some(value) = float_literal_value(&token.text).filter(|v| *v != 0.0)
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
        (next.is_finite() && round4(next) != 0.0 && float_literal_value(&text) != Some(value))
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
            Some(_) if is_predefined(name) => return None,
            Some(_) => {
                let fresh = (2..)
                    .map(|k| format!("{name}_{k}"))
                    .find(|n| !avoid.contains(n) && !is_predefined(n))?;
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
