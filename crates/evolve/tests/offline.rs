//! The offline mutation engine against the real library, the real sandbox and the real
//! state schemas.

use envs::{EnvOptions, StateField};
use evolve::offline::{Genome, Proposal, propose};
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use reward_dsl::{Limits, RecordedState, RewardOutput, RewardProgram, StateInput};
use std::cell::Cell;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

const REWARDS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../rewards");

/// An env's schema, a few recorded states and its control dt.
struct Fixture {
    schema: Vec<StateField>,
    states: Vec<RecordedState>,
    dt: f64,
}

fn fixture(env_name: &str) -> Fixture {
    let mut env = task_file::make(env_name, &EnvOptions::default()).unwrap();
    let states = reward_dsl::record_states(env.as_mut(), 3, 20);
    Fixture {
        schema: env.spec().state_schema.clone(),
        dt: env.spec().control_dt(),
        states,
    }
}

impl Fixture {
    fn compile(&self, source: &str) -> Result<RewardProgram, String> {
        RewardProgram::compile(source, "test.rhai", &self.schema, &Limits::default())
            .map_err(|e| e.to_string())
    }

    fn evaluate(&self, program: &RewardProgram) -> Vec<RewardOutput> {
        self.states
            .iter()
            .map(|s| {
                let input = StateInput {
                    values: &s.values,
                    action: &s.action,
                    prev_action: &s.prev_action,
                    dt: self.dt,
                    step: s.step,
                };
                program
                    .evaluate(&input)
                    .unwrap_or_else(|e| panic!("{}: {e}", program.file()))
            })
            .collect()
    }
}

/// (env name, [(file name, source)]) for every folder of the library, sorted.
fn library() -> Vec<(String, Vec<(String, String)>)> {
    let mut envs: Vec<_> = std::fs::read_dir(REWARDS)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .collect();
    envs.sort();
    envs.iter()
        .map(|dir| {
            let mut files: Vec<_> = std::fs::read_dir(dir)
                .unwrap()
                .map(|e| e.unwrap().path())
                .filter(|p| p.extension().is_some_and(|x| x == "rhai"))
                .collect();
            files.sort();
            let programs = files
                .iter()
                .map(|f| {
                    let name = f.file_name().unwrap().to_string_lossy().into_owned();
                    (name, std::fs::read_to_string(f).unwrap())
                })
                .collect();
            (file_name(dir), programs)
        })
        .collect()
}

fn file_name(path: &Path) -> String {
    path.file_name().unwrap().to_string_lossy().into_owned()
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-12 * (1.0 + a.abs().max(b.abs()))
}

/// The source without its header comment.
fn body(source: &str) -> &str {
    source.split_once('\n').map_or(source, |(first, rest)| {
        if first.starts_with("//") {
            rest
        } else {
            source
        }
    })
}

/// Integer literals in a source: digit runs that are not part of a float or identifier.
fn integer_literals(source: &str) -> Vec<String> {
    let chars: Vec<char> = source.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let starts = chars[i].is_ascii_digit()
            && (i == 0 || !(chars[i - 1].is_alphanumeric() || matches!(chars[i - 1], '_' | '.')));
        if !starts {
            i += 1;
            continue;
        }
        let start = i;
        while i < chars.len() && (chars[i].is_alphanumeric() || matches!(chars[i], '_' | '.')) {
            i += 1;
            if matches!(chars[i - 1], 'e' | 'E') && matches!(chars.get(i), Some('-' | '+')) {
                i += 1;
            }
        }
        let literal: String = chars[start..i].iter().collect();
        if literal.chars().all(|c| c.is_ascii_digit()) {
            out.push(literal);
        }
    }
    out
}

#[test]
fn every_library_program_parses_and_renders_to_the_same_rewards() {
    let (mut checked, mut gated) = (0, BTreeSet::new());
    for (env_name, programs) in library() {
        let fixture = fixture(&env_name);
        for (file, source) in programs {
            let genome =
                Genome::parse(&source).unwrap_or_else(|e| panic!("{env_name}/{file}: {e}"));
            let rendered = genome.render("round trip");
            assert!(rendered.starts_with("// round trip\n"), "{rendered}");
            let original = fixture.compile(&source).unwrap();
            let copy = fixture.compile(&rendered).unwrap_or_else(|e| {
                panic!("{env_name}/{file} renders to invalid Rhai: {e}\n{rendered}")
            });
            assert_eq!(
                Genome::parse(&rendered).unwrap(),
                genome,
                "{env_name}/{file}: parse(render(g)) != g"
            );
            let before = fixture.evaluate(&original);
            let after = fixture.evaluate(&copy);
            let mut names = genome.component_names();
            names.sort();
            for (a, b) in before.iter().zip(&after) {
                let original_names: Vec<&String> = a.components.iter().map(|(n, _)| n).collect();
                assert_eq!(original_names, names.iter().collect::<Vec<_>>());
                assert_eq!(a.components.len(), b.components.len());
                for ((name, x), (other, y)) in a.components.iter().zip(&b.components) {
                    assert_eq!(name, other);
                    assert!(close(*x, *y), "{env_name}/{file}: {name} {x} != {y}");
                }
                // A rendered total is the sum of the components: the same as the original's
                // wherever the original's total is that sum.
                let sum: f64 = b.components.iter().map(|(_, v)| v).sum();
                assert!(
                    close(b.total, sum),
                    "{env_name}/{file}: rendered total is not the sum"
                );
                if close(a.total, sum) {
                    assert!(close(a.total, b.total), "{env_name}/{file}");
                } else {
                    gated.insert(format!("{env_name}/{file}"));
                }
            }
            checked += 1;
        }
    }
    assert!(checked >= 11, "only {checked} library programs found");
    println!("{checked} programs; totals that are not the sum of the components: {gated:?}");
}

/// Rhai nests block comments: the sandbox and the genome reader agree on where one ends, so
/// the component hidden in the comment is in neither.
#[test]
fn nested_block_comments_end_in_the_same_place_for_the_sandbox_and_the_genome() {
    let fixture = fixture("franka-reach");
    let source = "/* a /* b */ let hidden = state.nope; */\n\
                  let d = -state.dt;\n\
                  [d, #{d: d /* x /* y */ #{hidden: 1.0} */}]";
    let genome = Genome::parse(source).unwrap();
    assert_eq!(genome.component_names(), ["d"]);
    let rendered = genome.render("");
    assert!(!rendered.contains("hidden"), "{rendered}");
    let from_source = fixture.evaluate(&fixture.compile(source).unwrap());
    let from_genome = fixture.evaluate(&fixture.compile(&rendered).unwrap());
    for (a, b) in from_source.iter().zip(&from_genome) {
        assert_eq!(a.components, b.components);
    }
}

/// Proposals in one env: from the library and from earlier proposals as parents.
struct Run {
    proposals: usize,
    attempts: usize,
    invalid: usize,
    operators: BTreeMap<String, usize>,
    first_invalid: Option<String>,
}

fn run_env(env_name: &str, library: &[(String, String)], env_index: u64) -> Run {
    let fixture = fixture(env_name);
    let attempts = Cell::new(0usize);
    let invalid = Cell::new(0usize);
    let first_invalid: Cell<Option<String>> = Cell::new(None);
    let is_valid = |source: &str| {
        attempts.set(attempts.get() + 1);
        match fixture.compile(source) {
            Ok(_) => true,
            Err(e) => {
                invalid.set(invalid.get() + 1);
                let seen = first_invalid.take();
                first_invalid.set(seen.or(Some(format!("{e}\n{source}"))));
                false
            }
        }
    };
    let library_ints: BTreeSet<String> = library
        .iter()
        .flat_map(|(_, s)| integer_literals(s))
        .collect();
    let mut pool: Vec<String> = Vec::new();
    let mut operators: BTreeMap<String, usize> = BTreeMap::new();
    for i in 0..200usize {
        let parents: Vec<String> = if pool.is_empty() || i % 5 == 0 {
            Vec::new()
        } else {
            let elite = pool[(i * 7919) % pool.len()].clone();
            let other = pool[(i * 31 + 3) % pool.len()].clone();
            if i % 3 == 0 {
                vec![elite]
            } else {
                vec![elite, other]
            }
        };
        let seed = env_index * 1_000_000 + i as u64;
        let proposal = propose(&parents, library, seed, &is_valid)
            .unwrap_or_else(|e| panic!("{env_name} seed {seed}: {e}"));
        let program = fixture.compile(&proposal.source).unwrap();
        for output in fixture.evaluate(&program) {
            assert!(output.total.is_finite());
        }
        assert!(!proposal.edits.is_empty());
        // Each edit is recorded with its operator's name, in order.
        let edits: Vec<&String> = proposal
            .edits
            .iter()
            .filter(|e| !e.starts_with("started from"))
            .collect();
        assert_eq!(
            proposal.operators.len(),
            edits.len(),
            "{:?}",
            proposal.edits
        );
        for (edit, operator) in edits.iter().zip(&proposal.operators) {
            let expected = if edit.starts_with("mutated") {
                "scale constant"
            } else if edit.starts_with("scaled weight") {
                "rescale weight"
            } else if edit.starts_with("dropped") {
                "drop component"
            } else if edit.starts_with("added tanh-shaped copy") {
                "add tanh copy"
            } else if edit.contains(" from library ") {
                "take from library"
            } else {
                "take from runner-up"
            };
            assert_eq!(*operator, expected, "{edit}");
            assert!(evolve::offline::OPERATORS.contains(operator));
        }
        for literal in integer_literals(body(&proposal.source)) {
            assert!(library_ints.contains(&literal), "new integer {literal}");
        }
        let genome = Genome::parse(&proposal.source).unwrap();
        let header = proposal.source.lines().next().unwrap();
        assert!(header.starts_with("// offline proposal: "), "{header}");
        assert_eq!(
            genome.render(header),
            proposal.source,
            "render(parse(p)) != p"
        );
        for parent in &parents {
            assert_ne!(&proposal.source, parent);
        }
        if let Some(elite) = parents.first() {
            assert_ne!(
                genome,
                Genome::parse(elite).unwrap(),
                "no change from the elite"
            );
        }
        let names = genome.component_names();
        assert_eq!(names.iter().collect::<BTreeSet<_>>().len(), names.len());
        for line in body(&proposal.source)
            .lines()
            .filter(|l| l.starts_with("let r_"))
        {
            let weight = line
                .split(" = ")
                .nth(1)
                .unwrap()
                .split(" * (")
                .next()
                .unwrap();
            assert!(
                weight.contains('.'),
                "weight without a decimal point: {line}"
            );
            let mantissa = weight.split(['e', 'E']).next().unwrap();
            let digits = mantissa
                .trim_start_matches(['-', '0', '.'])
                .replace('.', "");
            assert!(digits.len() <= 4, "more than 4 significant digits: {line}");
        }
        for edit in &proposal.edits {
            let operator = [
                "started from",
                "mutated",
                "scaled weight",
                "dropped",
                "added tanh-shaped copy",
            ]
            .into_iter()
            .find(|p| edit.starts_with(p))
            .map(str::to_string)
            .or_else(|| {
                edit.starts_with("took ").then(|| {
                    let library = edit.contains(" from library ");
                    (if library {
                        "took (library)"
                    } else {
                        "took (parent)"
                    })
                    .to_string()
                })
            })
            .unwrap_or_else(|| panic!("unknown edit: {edit}"));
            *operators.entry(operator).or_default() += 1;
        }
        pool.push(proposal.source);
    }
    Run {
        proposals: pool.len(),
        attempts: attempts.get(),
        invalid: invalid.get(),
        operators,
        first_invalid: first_invalid.take(),
    }
}

#[test]
fn proposals_compile_in_every_env_and_differ_from_their_parents() {
    let (mut attempts, mut invalid) = (0, 0);
    for (index, (env_name, programs)) in library().into_iter().enumerate() {
        let run = run_env(&env_name, &programs, index as u64);
        println!(
            "{env_name}: {} proposals, {} candidates checked, {} invalid ({:.2}%); edits {:?}",
            run.proposals,
            run.attempts,
            run.invalid,
            100.0 * run.invalid as f64 / run.attempts as f64,
            run.operators
        );
        if let Some(first) = &run.first_invalid {
            println!("first invalid candidate: {first}");
        }
        for operator in [
            "mutated",
            "scaled weight",
            "dropped",
            "added tanh-shaped copy",
        ] {
            assert!(
                run.operators.get(operator).is_some_and(|n| *n > 0),
                "{operator} never ran"
            );
        }
        assert!(run.operators.get("took (parent)").is_some_and(|n| *n > 0));
        assert!(run.operators.get("took (library)").is_some_and(|n| *n > 0));
        attempts += run.attempts;
        invalid += run.invalid;
    }
    println!(
        "all envs: {attempts} candidates, {invalid} invalid ({:.2}%)",
        100.0 * invalid as f64 / attempts as f64
    );
    assert!(
        invalid * 100 <= attempts,
        "more than 1% of candidates were invalid"
    );
}

fn franka_push_library() -> Vec<(String, String)> {
    library()
        .into_iter()
        .find(|(env, _)| env == "franka-push")
        .unwrap()
        .1
}

#[test]
fn same_seed_same_proposal_and_different_seeds_differ() {
    let library = franka_push_library();
    let always = |_: &str| true;
    let first = propose(&[], &library, 7, &always).unwrap();
    let second = propose(&[], &library, 7, &always).unwrap();
    assert_eq!(first, second);
    let parents = vec![first.source.clone(), library[1].1.clone()];
    let a: Proposal = propose(&parents, &library, 99, &always).unwrap();
    assert_eq!(a, propose(&parents, &library, 99, &always).unwrap());

    // A rejected candidate is discarded and another drawn.
    let seen: std::cell::RefCell<Vec<String>> = Default::default();
    let second_only = |source: &str| {
        seen.borrow_mut().push(source.to_string());
        seen.borrow().len() == 2
    };
    let retried = propose(&parents, &library, 99, &second_only).unwrap();
    assert_eq!(seen.borrow().len(), 2);
    assert_eq!(retried.source, seen.borrow()[1]);
    assert_ne!(seen.borrow()[0], seen.borrow()[1]);

    let mut bodies = BTreeSet::new();
    for seed in 0..40 {
        let p = propose(&parents, &library, seed, &always).unwrap();
        bodies.insert(body(&p.source).to_string());
    }
    assert!(
        bodies.len() >= 36,
        "only {} distinct programs from 40 seeds",
        bodies.len()
    );
}

/// The first single-edit proposal whose edit starts with `prefix`, over seeds 0..3000.
fn single_edit(parents: &[String], prefix: &str) -> Proposal {
    let always = |_: &str| true;
    (0..3000)
        .map(|seed| propose(parents, &[], seed, &always).unwrap())
        .find(|p| p.edits.len() == 1 && p.edits[0].starts_with(prefix))
        .unwrap_or_else(|| panic!("no seed gave a lone `{prefix}` edit"))
}

fn component(output: &RewardOutput, name: &str) -> f64 {
    output.components.iter().find(|(n, _)| n == name).unwrap().1
}

#[test]
fn crossover_renames_clashing_bindings_and_every_read_of_them() {
    let fixture = fixture("franka-push");
    let near = "// near\nlet d = dist(state.ee_pos, state.goal_pos);\nlet near = -d;\n\
                [near, #{near: near}]";
    let far = "let d = dist(state.object_pos, state.goal_pos); // a different d\n\
               let m = #{d: d, e: 2.0};\nlet far = -m.d * m.e;\n[far, #{far: far}]";
    let parents = vec![near.to_string(), far.to_string()];
    let p = single_edit(&parents, "took far");
    assert_eq!(p.edits, ["took far from parent 2 (renamed d -> d_2)"]);
    let body = body(&p.source);
    assert!(
        body.contains("let d = dist(state.ee_pos, state.goal_pos);\n"),
        "{body}"
    );
    assert!(body.contains("let near = -d;\n"), "{body}");
    assert!(
        body.contains("let d_2 = dist(state.object_pos, state.goal_pos);\n"),
        "{body}"
    );
    // The map key `d` and the field `.d` keep their names; the variable is renamed.
    assert!(body.contains("let m = #{d: d_2, e: 2.0};\n"), "{body}");
    assert!(body.contains("let far = -m.d * m.e;\n"), "{body}");
    let merged = fixture.evaluate(&fixture.compile(&p.source).unwrap());
    let near_values = fixture.evaluate(&fixture.compile(near).unwrap());
    let far_values = fixture.evaluate(&fixture.compile(far).unwrap());
    for ((m, n), f) in merged.iter().zip(&near_values).zip(&far_values) {
        assert!(close(component(m, "near"), n.total));
        assert!(close(component(m, "far"), f.total));
        assert!(close(m.total, n.total + f.total));
        assert!(component(m, "near") != component(m, "far"));
    }

    // The same `d` in both parents is shared, not copied.
    let same =
        "let d = dist(state.ee_pos, state.goal_pos);\nlet far = -2.0 * d;\n[far, #{far: far}]";
    let p = single_edit(&[near.to_string(), same.to_string()], "took far");
    assert_eq!(p.edits, ["took far from parent 2"]);
    assert_eq!(p.source.matches("let d = ").count(), 1, "{}", p.source);
    assert!(!p.source.contains("d_2"));

    // A fresh name also avoids the names the recipient already uses.
    let taken = "let d = dist(state.ee_pos, state.goal_pos);\nlet d_2 = 0.5;\nlet near = -d * d_2;\n\
                 [near, #{near: near}]";
    let p = single_edit(&[taken.to_string(), far.to_string()], "took far");
    assert_eq!(p.edits, ["took far from parent 2 (renamed d -> d_3)"]);
    assert!(
        p.source
            .contains("let d_3 = dist(state.object_pos, state.goal_pos);\n")
    );
    assert!(p.source.contains("let m = #{d: d_3, e: 2.0};\n"));
    fixture.compile(&p.source).unwrap();
}

#[test]
fn integer_literals_are_never_changed() {
    let fixture = fixture("quadruped-walk");
    let program = "let idx = state.foot_contact[2] + state.foot_contact[3];\n\
                   let lift = 0.5 * idx + 3;\nlet tilt = state.torso_rpy[1] * 1.5;\n\
                   [lift + tilt, #{lift: lift, tilt: tilt}]";
    let library = vec![("ints.rhai".to_string(), program.to_string())];
    let is_valid = |source: &str| fixture.compile(source).is_ok();
    let mut elite = program.to_string();
    let mut mutated = 0;
    for seed in 0..300 {
        let parents = if seed % 50 == 0 {
            vec![program.to_string()]
        } else {
            vec![elite]
        };
        let p = propose(&parents, &library, seed, &is_valid).unwrap();
        mutated += p.edits.iter().filter(|e| e.starts_with("mutated")).count();
        let ints = integer_literals(body(&p.source));
        assert!(
            ints.iter().all(|i| ["1", "2", "3"].contains(&i.as_str())),
            "{}",
            p.source
        );
        if p.source.contains("let idx") {
            assert!(
                p.source
                    .contains("state.foot_contact[2] + state.foot_contact[3]")
            );
            assert!(p.source.contains(" * idx + 3;"), "{}", p.source);
        }
        if p.source.contains("let tilt") {
            assert!(p.source.contains("state.torso_rpy[1] * "), "{}", p.source);
        }
        elite = p.source;
    }
    assert!(
        mutated > 50,
        "float literals were mutated only {mutated} times"
    );
}

#[test]
fn bad_programs_are_errors_not_panics() {
    let cases = [
        ("", "empty"),
        ("// only a comment\n", "empty"),
        ("let a = 1.0;\n[a, #{}]", "no components"),
        ("let a = 1.0;\na", "return value must be"),
        ("let a = 1.0;\n[a, a]", "return value must be"),
        ("let a = 1.0;", "without a return value"),
        ("[1.0, #{a: 1.0}", "never closed"),
        ("let a = (1.0));\n[a, #{a: a}]", "unbalanced"),
        ("let s = \"abc;\n[1.0, #{a: 1.0}]", "unterminated string"),
        ("/* open\n[1.0, #{a: 1.0}]", "unterminated block comment"),
        ("let = 5;\n[1.0, #{a: 1.0}]", "expected `let NAME = EXPR;`"),
        ("fn f(x) { x }\n[1.0, #{a: f(1.0)}]", "`fn f(x)"),
        ("let x = 1.0;\nx += 1.0;\n[x, #{x: x}]", "found `x += 1.0`"),
        ("let x = 1.0;\nlet x = 2.0;\n[x, #{x: x}]", "bound twice"),
        ("[1.0, #{\"a b\": 1.0}]", "not an identifier"),
        ("[1.0, #{a: 1.0, a: 2.0}]", "appears twice"),
        ("[1.0, #{a 1.0}]", "expected `name: value`"),
        ("#{total: 1.0}", "return value must be"),
        ("#{total: 1.0, components: 2.0}", "return value must be"),
    ];
    for (source, expected) in cases {
        let error = Genome::parse(source).expect_err(source);
        assert!(error.contains(expected), "{source:?}: {error}");
    }
    let map_form = Genome::parse("#{total: a, components: #{\"a\": state.dt * 2.0, b: 1}}");
    assert_eq!(map_form.unwrap().component_names(), ["a", "b"]);

    // Every prefix of a real program and random noise: an answer, never a panic.
    let human = &franka_push_library()[1].1;
    for (k, _) in human.char_indices() {
        let _ = Genome::parse(&human[..k]);
    }
    let alphabet: Vec<char> = "let=;[]{}()#:,.\"'`/*-+ 0123456789.eabcxyz_\n"
        .chars()
        .collect();
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    for _ in 0..5000 {
        let length = rng.random_range(0..60);
        let noise: String = (0..length)
            .map(|_| alphabet[rng.random_range(0..alphabet.len())])
            .collect();
        if let Ok(genome) = Genome::parse(&noise) {
            assert!(!genome.component_names().is_empty());
        }
    }

    let library = franka_push_library();
    let always = |_: &str| true;
    let error = propose(&["garbage (".to_string()], &library, 1, &always).unwrap_err();
    assert!(error.starts_with("parent 1 does not parse"), "{error}");
    assert!(propose(&[], &[], 1, &always).is_err());
    let junk = vec![("junk.rhai".to_string(), "not a program".to_string())];
    assert!(propose(&[], &junk, 1, &always).is_err());
    let never = |_: &str| false;
    assert!(
        propose(&[], &library, 1, &never)
            .unwrap_err()
            .contains("no valid proposal")
    );
}
