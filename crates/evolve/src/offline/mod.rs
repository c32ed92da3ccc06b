//! The offline generator's mutation engine: a seeded evolutionary search over reward
//! programs, with no language model.
//!
//! A reward program is read as a [`Genome`]: its top-level `let` bindings in order, plus
//! named, weighted components taken from the map it returns. [`propose`] draws one to three
//! operators with a seeded ChaCha8 generator (constant mutation, weight rescaling, dropping a
//! component, a tanh-shaped copy of a component, crossover with a second parent, material
//! from the hand-written library) and renders the result back to Rhai. Expressions are
//! handled as token sequences from [`reward_dsl::syntax`]'s lexer, never with regular
//! expressions: `expr` works on those sequences, [`Genome`] reads and renders programs,
//! `operators` edits genomes, and [`propose`] here draws operators until a candidate passes
//! the caller's check.

mod expr;
mod genome;
mod operators;

pub use genome::Genome;
pub use operators::OPERATORS;

use operators::{Donor, draw_operator};
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// Candidates drawn per proposal before [`propose`] gives up.
const MAX_TRIES: usize = 64;

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
            if let Some(edit) = operator.apply(&mut genome, &others, &library, &mut rng) {
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
