//! The sandbox is a security boundary: hostile scripts are stopped with a clear error, in
//! bounded time, and the host carries on.

mod common;
use common::{compile, input, run};
use reward_dsl::{ErrorKind, Limits, RewardProgram};

fn long_source(bytes: usize) -> String {
    let mut source = String::from("let a = 0.0;\n");
    while source.len() < bytes {
        source.push_str("a = a + 1.0;\n");
    }
    source + "[a, #{}]"
}

fn nested(open: &str, close: &str, depth: usize, inner: &str) -> String {
    format!(
        "let v = {}{inner}{};\n[0.0, #{{}}]",
        open.repeat(depth),
        close.repeat(depth)
    )
}

fn many_variables(n: usize) -> String {
    (0..n)
        .map(|i| format!("let v{i} = {i};\n"))
        .collect::<String>()
        + "[0.0, #{}]"
}

fn many_functions(n: usize) -> String {
    (0..n)
        .map(|i| format!("fn f{i}() {{ {i} }}\n"))
        .collect::<String>()
        + "[0.0, #{}]"
}

/// (what it tries, script, the error kind that must stop it, a phrase the message must have)
fn hostile_scripts() -> Vec<(&'static str, String, ErrorKind, &'static str)> {
    use ErrorKind::*;
    vec![
        (
            "endless loop",
            "loop { }\n[0.0, #{}]".into(),
            Limit,
            "operations",
        ),
        (
            "endless while",
            "while true { let x = 1; }\n[0.0, #{}]".into(),
            Limit,
            "operations",
        ),
        (
            "long for loop",
            "let s = 0;\nfor i in 0..1000000000 { s += i; }\n[0.0, #{}]".into(),
            Limit,
            "operations",
        ),
        (
            "endless recursion",
            "fn f(x) { f(x + 1) }\nf(0);\n[0.0, #{}]".into(),
            Limit,
            "recursion",
        ),
        (
            "mutual recursion",
            "fn a(x) { b(x) }\nfn b(x) { a(x) }\na(1);\n[0.0, #{}]".into(),
            Limit,
            "recursion",
        ),
        (
            "string doubling",
            "let s = \"xx\";\nloop { s += s; }\n[0.0, #{}]".into(),
            Limit,
            "grew past the sandbox limit",
        ),
        (
            "string append",
            "let s = \"\";\nloop { s += \"abcdefgh\"; }\n[0.0, #{}]".into(),
            Limit,
            "sandbox limit",
        ),
        (
            "array push",
            "let a = [];\nloop { a.push(1.0); }\n[0.0, #{}]".into(),
            Limit,
            "sandbox limit",
        ),
        (
            "array doubling",
            "let a = [1, 2];\nloop { a += a; }\n[0.0, #{}]".into(),
            Limit,
            "grew past the sandbox limit",
        ),
        (
            "array pad",
            "let a = [];\na.pad(100000000, 0);\n[0.0, #{}]".into(),
            Limit,
            "grew past the sandbox limit",
        ),
        (
            "map growth",
            "let m = #{};\nlet i = 0;\nloop { m[`k${i}`] = i; i += 1; }\n[0.0, #{}]".into(),
            Limit,
            "",
        ),
        (
            "nested arrays",
            "let a = [];\nloop { a = [a, a]; }\n[0.0, #{}]".into(),
            Limit,
            "limit",
        ),
        (
            "deep parentheses",
            nested("(", ")", 5000, "1"),
            Syntax,
            "nested too deeply",
        ),
        (
            "deep arrays",
            nested("[", "]", 5000, "1"),
            Syntax,
            "nested too deeply",
        ),
        (
            "deep blocks",
            nested("{", "}", 5000, "1"),
            Syntax,
            "nested too deeply",
        ),
        (
            "eval",
            "let v = eval(\"1 + 1\");\n[v, #{}]".into(),
            Syntax,
            "cannot use eval",
        ),
        (
            "import",
            "import \"os\" as os;\n[0.0, #{}]".into(),
            Syntax,
            "",
        ),
        (
            "print",
            "print(\"hello\");\n[0.0, #{}]".into(),
            Syntax,
            "cannot use eval, import, print",
        ),
        (
            "debug",
            "debug(state);\n[0.0, #{}]".into(),
            Syntax,
            "cannot use eval, import, print",
        ),
        (
            "sleep",
            "sleep(100);\n[0.0, #{}]".into(),
            Runtime,
            "Function not found: sleep",
        ),
        (
            "very long source",
            long_source(200_000),
            Source,
            "more than the limit",
        ),
        (
            "too many variables",
            many_variables(1000),
            Limit,
            "variables",
        ),
        ("too many functions", many_functions(1000), Syntax, ""),
        (
            "NaN total",
            "let x = 0.0 / 0.0;\n[x, #{}]".into(),
            NonFinite,
            "NaN",
        ),
        (
            "Inf component",
            "[0.0, #{boom: 1e308 * 10.0}]".into(),
            NonFinite,
            "component 'boom' is inf",
        ),
        (
            "unit return",
            "let x = 1;".into(),
            ReturnShape,
            "must end with",
        ),
        (
            "boolean return",
            "true".into(),
            ReturnShape,
            "must end with",
        ),
        ("exit", "exit(3);\n[0.0, #{}]".into(), Runtime, "exit"),
        (
            "calling a missing function pointer",
            "let f = Fn(\"nowhere\");\nf.call(1);\n[0.0, #{}]".into(),
            Runtime,
            "",
        ),
        (
            "shadowed helper that never returns",
            "fn norm(v) { loop { } }\nlet n = norm(state.ee_pos);\n[n, #{}]".into(),
            Limit,
            "operations",
        ),
    ]
}

#[test]
fn at_least_twenty_hostile_scripts_are_each_stopped_with_a_clear_error() {
    let scripts = hostile_scripts();
    assert!(scripts.len() >= 20);
    let mut wrong = Vec::new();
    for (what, source, kind, phrase) in scripts {
        match run(&source) {
            Ok(_) => wrong.push(format!("{what}: the script was not stopped")),
            Err(error)
                if error.kind != kind
                    || !error.message.contains(phrase)
                    || error.message.is_empty() =>
            {
                wrong.push(format!("{what}: {:?} {}", error.kind, error.message))
            }
            Err(_) => {}
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn the_host_carries_on_after_hostile_scripts() {
    for (_, source, _, _) in hostile_scripts() {
        let _ = run(&source);
    }
    let program = compile("[dist(state.ee_pos, state.goal_pos), #{}]").unwrap();
    assert_eq!(program.evaluate(&input()).unwrap().total, 8.0f64.sqrt());
}

#[test]
fn a_stopped_evaluation_does_not_poison_the_program() {
    let program = compile("if state.step > 5 { loop { } }\n[1.0, #{}]").unwrap();
    assert_eq!(
        program.evaluate(&input()).unwrap_err().kind,
        ErrorKind::Limit
    );
    let early = reward_dsl::StateInput { step: 0, ..input() };
    assert_eq!(program.evaluate(&early).unwrap().total, 1.0);
}

#[test]
fn limits_are_configurable() {
    let tight = Limits {
        max_operations: 50,
        ..Limits::default()
    };
    let source = "let s = 0;\nfor i in 0..100 { s += i; }\n[s, #{}]";
    let program = RewardProgram::compile(source, "t.rhai", &common::schema(), &tight).unwrap();
    let error = program.evaluate(&input()).unwrap_err();
    assert!(
        error.message.contains("more than 50 operations"),
        "{}",
        error.message
    );
    assert_eq!(
        run(source).unwrap().total,
        4950.0,
        "the default limit allows it"
    );
}

#[test]
fn a_limit_reached_anywhere_is_reported_with_its_line_and_column() {
    // Rhai gives indexing steps no source position; a limit can run out on any operation,
    // the steps of `a[0][0][0]` and `m.x.y[k]` included.
    let sources = [
        "let a = [[[0.5]]];\nlet s = 0.0;\nfor i in 0..100000 { s += a[0][0][0]; }\n[s, #{}]",
        "let m = #{x: #{y: #{}}};\nlet n = 0;\nfor i in 0..100000 { m.x.y[`k${i % 5}`] = [i]; }\n[0.0, #{}]",
    ];
    for source in sources {
        for max_operations in 1000..1040 {
            let limits = Limits {
                max_operations,
                ..Limits::default()
            };
            let program =
                RewardProgram::compile(source, "t.rhai", &common::schema(), &limits).unwrap();
            let error = program.evaluate(&input()).unwrap_err();
            assert!(error.message.contains("operations"), "{}", error.message);
            assert_eq!(
                error.line,
                Some(3),
                "{max_operations} operations: {error:?}"
            );
            assert!(
                error.column.is_some(),
                "{max_operations} operations: {error:?}"
            );
        }
    }
}

#[test]
fn scripts_cannot_modify_the_state_they_are_given() {
    let e = run("state.ee_pos = vec3(0, 0, 0);\n[0.0, #{}]").unwrap_err();
    assert!(
        matches!(e.kind, ErrorKind::Runtime | ErrorKind::Syntax),
        "{e}"
    );
}
