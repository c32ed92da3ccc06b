//! Property test, standing in for a fuzzer: for seeded random token soups and random byte
//! mutations of the shipped reward programs, compile plus evaluate never panics and every
//! error is well formed. The case counts bound its time.

mod common;
use common::{input, schema};
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use reward_dsl::{Limits, RewardError, RewardProgram};
use std::path::Path;

const TOKENS: &[&str] = &[
    "let",
    "x",
    "y",
    "=",
    ";",
    "state",
    ".",
    "ee_pos",
    "goal_pos",
    "object_quat",
    "action",
    "dt",
    "step",
    "norm(",
    "dist(",
    "dot(",
    "clamp(",
    "tolerance(",
    "vec3(",
    "quat_to_euler(",
    ")",
    "(",
    ",",
    "[",
    "]",
    "#{",
    "}",
    "{",
    "a:",
    "total:",
    "components:",
    "+",
    "-",
    "*",
    "/",
    "%",
    "**",
    "<",
    ">",
    "==",
    "&&",
    "||",
    "!",
    "if",
    "else",
    "while",
    "loop",
    "for",
    "in",
    "0..3",
    "fn",
    "f",
    "return",
    "break",
    "1",
    "0.5",
    "-1e308",
    "1e308",
    "0.0",
    "\"s\"",
    "`t${x}`",
    "true",
    "()",
    "\n",
    "//",
    "/*",
    "*/",
    "x.len()",
    "push(",
];

fn well_formed(error: &RewardError, source_lines: usize) {
    if let Some(line) = error.line {
        assert!(
            line >= 1 && line as usize <= source_lines + 1,
            "line {line} of {source_lines}: {error}"
        );
        assert!(error.column.is_some_and(|c| c >= 1), "{error}");
    }
    assert!(!error.message.is_empty());
    assert!(!error.to_string().is_empty());
}

fn compile_and_run(bytes: &[u8]) {
    let lines = bytes.split(|b| *b == b'\n').count();
    match RewardProgram::compile_bytes(bytes, "fuzz.rhai", &schema(), &Limits::default()) {
        Ok(program) => {
            if let Err(error) = program.evaluate(&input()) {
                well_formed(&error, lines);
            }
        }
        Err(error) => well_formed(&error, lines),
    }
}

#[test]
fn random_token_soups_never_panic_and_errors_are_well_formed() {
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    for _ in 0..3000 {
        let n = rng.random_range(1..40);
        let source: Vec<&str> = (0..n)
            .map(|_| TOKENS[rng.random_range(0..TOKENS.len())])
            .collect();
        compile_and_run(source.join(" ").as_bytes());
    }
}

#[test]
fn byte_mutations_of_shipped_rewards_never_panic() {
    let rewards =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../rewards/franka-push/human.rhai");
    let original = std::fs::read(&rewards).unwrap();
    let mut rng = ChaCha8Rng::seed_from_u64(11);
    for _ in 0..1500 {
        let mut bytes = original.clone();
        for _ in 0..rng.random_range(1..6) {
            let at = rng.random_range(0..bytes.len());
            match rng.random_range(0..3) {
                0 => {
                    bytes.remove(at);
                }
                1 => bytes.insert(at, rng.random()),
                _ => bytes[at] = rng.random(),
            }
        }
        compile_and_run(&bytes);
    }
}
