//! The sandbox escapes an attacker-style review found, one test per class: work hidden in
//! callbacks, memory the size limits do not see, panics from numbers and positions, field
//! reads the compile-time check missed, names and sizes that flow downstream, and limits
//! that switch the sandbox off. Each hostile program must be refused with a clear error; a
//! harmless one must keep working.

mod common;
use common::{compile, input, run};
use reward_dsl::{ErrorKind, Limits, RewardError, RewardProgram};

fn stopped(source: &str, kind: ErrorKind, phrase: &str) {
    match run(source) {
        Ok(output) => panic!("not stopped: {source}\ngave {output:?}"),
        Err(error) => {
            assert_eq!(error.kind, kind, "{source}\n{error}");
            assert!(error.message.contains(phrase), "{source}\n{error}");
            assert!(!error.message.contains("interpreter failed"), "{error}");
        }
    }
}

fn compile_error(source: &str) -> RewardError {
    compile(source).expect_err(source)
}

/// A loop of `n` operations as an expression.
const SPIN: &str = "{ let s = 0; for i in 0..40000 { s += i; } s }";

#[test]
fn work_inside_callbacks_counts_against_one_budget() {
    for source in [
        format!("let a = [0];\na.pad(200, 0);\nlet b = a.map(|x| {SPIN});\n[0.0, #{{}}]"),
        format!(
            "let a = [0];\na.pad(200, 0);\nlet b = a.filter(|x| {{ let v = {SPIN}; v > 0 }});\n[0.0, #{{}}]"
        ),
        format!(
            "let a = [0];\na.pad(200, 0);\nlet b = a.reduce(|acc, x| {SPIN}, 0);\n[0.0, #{{}}]"
        ),
        format!(
            "let a = [0];\na.pad(200, 0);\nlet b = a.all(|x| {{ let v = {SPIN}; v > 0 }});\n[0.0, #{{}}]"
        ),
        format!(
            "let a = [0];\na.pad(200, 0);\nlet b = a.some(|x| {{ let v = {SPIN}; v < 0 }});\n[0.0, #{{}}]"
        ),
        format!(
            "let a = [0];\na.pad(200, 0);\nlet b = a.index_of(|x| {{ let v = {SPIN}; v < 0 }});\n[0.0, #{{}}]"
        ),
        format!(
            "let a = [0];\na.pad(200, 0);\na.retain(|x| {{ let v = {SPIN}; v > 0 }});\n[0.0, #{{}}]"
        ),
        format!(
            "let a = [0];\na.pad(200, 0);\na.sort(|x, y| {{ let s = {SPIN}; 0 }});\n[0.0, #{{}}]"
        ),
        format!(
            "fn f() {{ {SPIN} }}\nlet p = Fn(\"f\");\nlet t = 0;\nfor i in 0..200 {{ t += p.call(); }}\n[0.0, #{{}}]"
        ),
        format!("let b = [0, 0, 0].map(|x| [0, 0, 0].map(|y| {SPIN}));\n[0.0, #{{}}]"),
    ] {
        stopped(&source, ErrorKind::Limit, "operations");
    }
}

#[test]
fn the_operations_limit_is_the_total_over_callbacks() {
    let tight = Limits {
        max_operations: 2_000,
        ..Limits::default()
    };
    let compile =
        |source: &str| RewardProgram::compile(source, "t.rhai", &common::schema(), &tight).unwrap();
    let one =
        compile("let b = [1].map(|x| { let s = 0; for i in 0..300 { s += i; } s });\n[b[0], #{}]");
    assert_eq!(one.evaluate(&input()).unwrap().total, 44850.0);
    let ten = compile(
        "let a = [1];\na.pad(10, 1);\nlet b = a.map(|x| { let s = 0; for i in 0..300 { s += i; } s });\n[b[0], #{}]",
    );
    let error = ten.evaluate(&input()).unwrap_err();
    assert!(
        error.message.contains("more than 2000 operations"),
        "{error}"
    );
}

#[test]
fn a_slow_evaluation_is_stopped_by_its_deadline() {
    // Each operation sorts a 1024-element array: few operations, much work. The operations
    // limit is raised so that only the deadline can stop it, in a release build too (where
    // the 40,000 iterations run past the default 50,000 operations before 20 ms).
    let limits = Limits {
        max_eval_millis: 20,
        max_operations: 1_000_000,
        ..Limits::default()
    };
    let source = "let a = [];\nfor i in 0..1024 { a.push(1024 - i); }\nfor i in 0..40000 { a.sort(); a.reverse(); }\n[0.0, #{}]";
    let program = RewardProgram::compile(source, "t.rhai", &common::schema(), &limits).unwrap();
    let error = program.evaluate(&input()).unwrap_err();
    assert_eq!(error.kind, ErrorKind::Limit);
    assert!(
        error.message.contains("more than 20 ms in one evaluation"),
        "{error}"
    );
}

#[test]
fn curry_is_refused_wherever_it_appears() {
    for source in [
        "let f = Fn(\"abs\");\nlet g = f.curry(1);\n[0.0, #{}]",
        "let f = Fn(\"abs\");\nlet g = curry(f, 1);\n[0.0, #{}]",
        "fn h(f) { f.curry([0, 1]) }\nlet g = h(Fn(\"abs\"));\n[0.0, #{}]",
    ] {
        let e = compile_error(source);
        assert_eq!(e.kind, ErrorKind::Syntax, "{e}");
        assert!(e.message.contains("curry"), "{e}");
        assert!(e.line.is_some(), "{e}");
    }
    let e = run("let f = Fn(\"curry\");\n[0.0, #{}]").unwrap_err();
    assert!(
        matches!(e.kind, ErrorKind::Runtime | ErrorKind::Syntax),
        "{e}"
    );
}

#[test]
fn containers_grown_by_index_assignment_hit_the_memory_limit() {
    for source in [
        // A map grown key by key, each value a full array.
        "let a = [0.5];\na.pad(1000, 0.5);\nlet m = #{};\nfor i in 0..20000 { m[`k${i}`] = a; }\n[0.0, #{}]",
        // An array whose elements are replaced by full arrays.
        "let a = [0.5];\na.pad(1000, 0.5);\nlet b = [0];\nb.pad(1000, 0);\nfor r in 0..10 { for i in 0..1000 { b[i] = a; } let c = b; a = c; }\n[0.0, #{}]",
        // A map that holds maps of arrays.
        "let a = [0.5];\na.pad(1000, 0.5);\nlet m = #{};\nfor i in 0..200 { let n = #{}; for j in 0..200 { n[`k${j}`] = a; } m[`k${i}`] = n; }\n[0.0, #{}]",
    ] {
        match run(source) {
            Err(e) => {
                assert_eq!(e.kind, ErrorKind::Limit, "{source}\n{e}");
                assert!(
                    e.message.contains("bytes of memory")
                        || e.message.contains("operations")
                        || e.message.contains("ms in one evaluation")
                        || e.message.contains("grew past"),
                    "{e}"
                );
            }
            Ok(_) => panic!("not stopped: {source}"),
        }
    }
    // With time to spare, the memory limit is what stops it.
    let roomy = Limits {
        max_eval_millis: 10_000,
        max_memory_bytes: 8 << 20,
        ..Limits::default()
    };
    let source = "let a = [0.5];\na.pad(1000, 0.5);\nlet m = #{};\nfor i in 0..20000 { m[`k${i}`] = a; }\n[0.0, #{}]";
    let program = RewardProgram::compile(source, "t.rhai", &common::schema(), &roomy).unwrap();
    let e = program.evaluate(&input()).unwrap_err();
    assert!(
        e.message.contains("more than 8388608 bytes of memory"),
        "{e}"
    );
}

#[test]
fn numbers_that_used_to_panic_are_errors_or_harmless() {
    stopped(
        "let x = clamp(0.5, sqrt(-1.0), 1.0);\n[x, #{}]",
        ErrorKind::Runtime,
        "clamp",
    );
    stopped(
        "let x = clamp(0.5, 0.0, sqrt(-1.0));\n[x, #{}]",
        ErrorKind::Runtime,
        "clamp",
    );
    // Sorting floats with NaN among them: NaN goes last, nothing panics.
    let sorted = run(
        "let a = [];\nfor i in 0..200 { a.push(if i % 3 == 0 { sqrt(-1.0) } else { (i * 7919 % 101).to_float() }); }\na.sort();\nlet d = a;\nd.sort_desc();\n[a[0] + d[199], #{last: if a[199] == a[199] { 1.0 } else { 0.0 }}]",
    )
    .unwrap();
    assert_eq!(
        sorted.total,
        0.0 + 0.0,
        "the smallest ascending and descending is 0"
    );
    assert_eq!(
        sorted.components,
        vec![("last".to_string(), 0.0)],
        "NaN sorts last"
    );
    // A comparator that is not a total order.
    let inconsistent = run(
        "let a = [];\nfor i in 0..300 { a.push(i * 31 % 97); }\na.sort(|x, y| if (x + y) % 3 == 0 { 1 } else { -1 });\n[a.len(), #{}]",
    );
    match inconsistent {
        Ok(out) => assert_eq!(out.total, 300.0),
        Err(e) => assert!(!e.message.contains("interpreter failed"), "{e}"),
    }
}

#[test]
fn sources_past_rhais_position_range_are_refused() {
    let limits = Limits {
        max_source_bytes: 128 << 10,
        ..Limits::default()
    };
    let source = "\n".repeat(70_000) + "[0.0, #{}]";
    let e = RewardProgram::compile(&source, "long.rhai", &common::schema(), &limits).unwrap_err();
    assert_eq!(e.kind, ErrorKind::Source);
    assert!(e.message.contains("70001 lines"), "{e}");
    // At the default size limit, a file of newlines only.
    let e = compile_error(&"\n".repeat(65_536));
    assert_eq!(e.kind, ErrorKind::Source, "{e}");
    // A very long line: the column saturates, the error still renders.
    let long_line = format!("let a = {};\n[a, #{{}}]", "1 + ".repeat(15_000) + "1");
    let e = compile(&long_line).err();
    if let Some(e) = e {
        assert!(e.to_string().len() < 2_000, "{e}");
    }
}

fn deep_value(depth: usize, then: &str) -> String {
    format!("let a = [];\nfor i in 0..{depth} {{ a = [a]; }}\n{then}\n[0.0, #{{}}]")
}

#[test]
fn deep_recursion_and_deep_values_never_overflow_a_small_thread_stack() {
    let recursion = format!(
        "fn f(n) {{ if n <= 0 {{ return 0.0; }} {}f(n - 1){} }}\nlet v = f(100);\n[v, #{{}}]",
        "(1.0 + ".repeat(28),
        ")".repeat(28)
    );
    let sources = [
        recursion,
        deep_value(1020, "let s = a.to_debug();"),
        deep_value(1020, "let s = `${a}`;"),
        deep_value(1020, "let b = a; let same = a == b;"),
        deep_value(1020, "let c = [a, a, a];"),
        "let a = [0];\nfor i in 0..1020 { a[0] = a; }\nlet s = a.to_string();\n[0.0, #{}]".into(),
        deep_value(1020, "a"),
    ];
    for source in sources {
        // A thread as small as a training worker's used to be, and smaller.
        let result = std::thread::Builder::new()
            .stack_size(256 << 10)
            .spawn(move || {
                let program = compile(&source).map_err(|e| e.to_string())?;
                program
                    .evaluate(&input())
                    .map(|_| ())
                    .map_err(|e| e.to_string())
            })
            .unwrap()
            .join()
            .expect("the thread did not overflow or panic");
        if let Err(message) = result {
            assert!(!message.contains("interpreter failed"), "{message}");
        }
    }
}

/// Each of these hides a read of a field that does not exist in a branch the dry run never
/// takes; each must be an error at compile time, at the field's line.
#[test]
fn hidden_reads_of_unknown_fields_are_found_at_compile_time() {
    let hidden = [
        ("newline", "state\n    .nope"),
        ("comment", "state /* c */ .nope"),
        ("line comment", "state // c\n.nope"),
        ("carriage return", "state\r.nope"),
        ("elvis", "state?.nope"),
        ("interpolation", "{ let s = `x${state.nope}`; 0.0 }"),
        ("raw string", "{ let r = #\"a\\\"#; state.nope }"),
        ("literal index", "state[\"nope\"]"),
        ("nested block comment", "{ /* a /* b */ c */ state.nope }"),
        ("method on the field", "state.nope.abs()"),
        ("index then field", "state[\"nope\"].x"),
    ];
    for (what, read) in hidden {
        let source =
            format!("let x = if state.step > 1000000 {{\n{read}\n}} else {{ 0.0 }};\n[x, #{{}}]");
        let e = compile(&source).expect_err(what);
        assert_eq!(e.kind, ErrorKind::UnknownField, "{what}: {e}");
        assert!(e.message.contains("'nope'"), "{what}: {e}");
        assert!(e.line.is_some_and(|l| l >= 2), "{what}: {e}");
    }
}

#[test]
fn valid_programs_the_old_scanner_refused_compile_and_run() {
    for source in [
        "/* outer /* inner */ still a comment state.nope */\n[state.ee_pos.x, #{}]",
        "let n = state.ee_pos.norm();\n[n, #{}]",
        "let k = state.action.len();\n[k, #{}]",
        "let v = state[\"ee_pos\"].x + state?.goal_pos.x;\n[v, #{}]",
        "let s = #\"state.nope\"#;\n[state.touching, #{}]",
        "let s = `${state.touching}`;\n[1.0, #{}]",
        "let q = state.object_quat[0];\n[q, #{}]",
    ] {
        let out = run(source);
        assert!(out.is_ok(), "{source}\n{}", out.unwrap_err());
    }
}

#[test]
fn state_can_only_be_read_a_field_at_a_time() {
    for (source, phrase) in [
        (
            "let name = \"ee_\" + \"pos\";\nlet v = state[name];\n[0.0, #{}]",
            "literal field name",
        ),
        ("let s = state;\n[0.0, #{}]", "one field at a time"),
        (
            "fn f(s) { s.nope }\nlet v = f(state);\n[v, #{}]",
            "one field at a time",
        ),
        ("let v = [state, state];\n[0.0, #{}]", "one field at a time"),
        ("let t = state.type_of();\n[0.0, #{}]", "no methods"),
        ("state = #{};\n[0.0, #{}]", "read-only"),
        ("state.ee_pos = vec3(0, 0, 0);\n[0.0, #{}]", "read-only"),
        ("let state = #{ee_pos: 1.0};\n[0.0, #{}]", "another name"),
        ("for state in 0..3 { }\n[0.0, #{}]", "another name"),
        (
            "try { throw 1; } catch (state) { }\n[0.0, #{}]",
            "another name",
        ),
        (
            "fn f() { state.nope }\nlet v = if state.step > 100000 { f() } else { 0.0 };\n[v, #{}]",
            "functions cannot see",
        ),
        (
            "fn f() { state.ee_pos.x }\n[f(), #{}]",
            "functions cannot see",
        ),
        (
            "let f = |x| state.ee_pos.x + x;\n[f.call(1.0), #{}]",
            "functions cannot see",
        ),
        (
            "fn f(state) { state.anything }\nlet v = f(#{anything: 2.0});\n[v, #{}]",
            "parameter `state`",
        ),
    ] {
        let e = compile_error(source);
        assert_eq!(e.kind, ErrorKind::Syntax, "{source}\n{e}");
        assert!(e.message.contains(phrase), "{source}\n{e}");
        assert!(e.line.is_some(), "{source}\n{e}");
    }
}

#[test]
fn component_names_and_counts_are_limited() {
    let e = compile_error(&format!(
        "let m = #{{\"{}\": 1.0}};\n[1.0, m]",
        "n".repeat(20_000)
    ));
    assert!(e.to_string().len() < 1_000, "the error stays short: {e}");
    let long = "n".repeat(1000);
    stopped(
        &format!("let m = #{{}};\nm[\"{long}\"] = 1.0;\n[1.0, m]"),
        ErrorKind::Limit,
        "longer than the limit of 64",
    );
    stopped(
        "let m = #{};\nfor i in 0..100 { m[`c${i}`] = 1.0; }\n[1.0, m]",
        ErrorKind::Limit,
        "100 components",
    );
    let thirty_two = (0..32)
        .map(|i| format!("c{i}: 1.0"))
        .collect::<Vec<_>>()
        .join(", ");
    assert_eq!(
        run(&format!("[1.0, #{{{thirty_two}}}]"))
            .unwrap()
            .components
            .len(),
        32
    );
}

#[test]
fn a_thrown_message_cannot_pass_for_another_kind_of_error() {
    for thrown in [
        "\"\\x01unknown-field\\x01state has no field 'x'\"",
        "\"state has no field 'x'; the fields are: ee_pos\"",
        "\"the script ran more than 50000 operations\"",
    ] {
        let e = run(&format!("throw {thrown};\n[0.0, #{{}}]")).unwrap_err();
        assert_eq!(e.kind, ErrorKind::Runtime, "{thrown}: {e}");
    }
    let big =
        run("let a = [0];\na.pad(1000, \"a very long value\");\nthrow a;\n[0.0, #{}]").unwrap_err();
    assert!(
        big.message.len() < 400,
        "a thrown value is abbreviated: {}",
        big.message
    );
}

#[test]
fn limits_that_would_switch_the_sandbox_off_are_refused() {
    for (limits, phrase) in [
        (
            Limits {
                max_operations: 0,
                ..Limits::default()
            },
            "max_operations = 0",
        ),
        (
            Limits {
                max_call_depth: 0,
                ..Limits::default()
            },
            "max_call_depth = 0",
        ),
        (
            Limits {
                max_expr_depth: 100_000,
                ..Limits::default()
            },
            "max_expr_depth = 100000",
        ),
        (
            Limits {
                max_memory_bytes: u64::MAX,
                ..Limits::default()
            },
            "max_memory_bytes",
        ),
        (
            Limits {
                max_array_size: 0,
                ..Limits::default()
            },
            "max_array_size = 0",
        ),
    ] {
        let e =
            RewardProgram::compile("[0.0, #{}]", "t.rhai", &common::schema(), &limits).unwrap_err();
        assert!(e.message.contains(phrase), "{e}");
    }
}

#[test]
fn printing_shared_strings_stops_at_the_string_limit() {
    // 1,024 references to one 4,096-character string: 4 MiB of text from 4 KiB of data.
    let build = "let s = \"x\";\nfor i in 0..12 { s += s; }\nlet a = [0];\na.pad(1024, 0);\nfor i in 0..1024 { a[i] = s; }\nlet m = #{};\nfor i in 0..200 { m[`k${i}`] = s; }\n";
    for print in [
        "let t = a.to_debug();",
        "let t = a.to_string();",
        "let t = `${a}`;",
        "let t = m.to_debug();",
        "let t = `${m}`;",
        "let t = [a].to_debug();",
    ] {
        let source = format!("{build}{print}\n[0.0, #{{}}]");
        stopped(&source, ErrorKind::Limit, "grew past the sandbox limit");
    }
    // Small values print as Rhai prints them.
    let small = run(
        "let t = `${[1, 2.5, \"a\", [true]]} ${#{k: 1}}`;\n[if t == \"[1, 2.5, \\\"a\\\", [true]] #{\\\"k\\\": 1}\" { 1.0 } else { 0.0 }, #{}]",
    );
    assert_eq!(small.map(|o| o.total), Ok(1.0));
    let e = run("let m = #{a: 1};\nlet j = m.to_json();\n[0.0, #{}]").unwrap_err();
    assert!(e.message.contains("to_json"), "{e}");
}

#[test]
fn errors_stay_short_whatever_the_source() {
    let long_name = "a".repeat(60_000);
    for source in [
        format!("let x = {long_name};\n[x, #{{}}]"),
        format!("let x = 1;\nx.{long_name}();\n[x, #{{}}]"),
        format!("let x = 1;\n{}\n[x, #{{}}]", "x;".repeat(20_000) + " nope"),
    ] {
        let e = run(&source).unwrap_err();
        let text = e.to_string();
        assert!(text.len() < 3_000, "{} bytes: {}", text.len(), &text[..300]);
        assert!(e.line.is_some(), "{}", &text[..300]);
    }
}
