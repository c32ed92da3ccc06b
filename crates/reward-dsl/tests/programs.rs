//! Return conventions, determinism and every error class with its line and column.

mod common;
use common::{compile, input, run};
use reward_dsl::{ErrorKind, Limits, RewardProgram};

#[test]
fn both_return_conventions_give_the_scripts_own_total() {
    let array = run("let r = 0.5; [r + 1.0, #{a: r, b: 2}]").unwrap();
    assert_eq!(
        array.total, 1.5,
        "the total is what the script returned, not a sum"
    );
    assert_eq!(
        array.components,
        vec![("a".to_string(), 0.5), ("b".to_string(), 2.0)]
    );
    let map = run("#{total: 3, components: #{c: -1.0}}").unwrap();
    assert_eq!(map.total, 3.0);
    assert_eq!(map.components, vec![("c".to_string(), -1.0)]);
}

#[test]
fn same_script_and_state_always_give_the_same_result() {
    let program =
        compile("let d = dist(state.ee_pos, state.goal_pos); [-d * state.dt, #{d: d}]").unwrap();
    let first = program.evaluate(&input()).unwrap();
    for _ in 0..100 {
        assert_eq!(program.evaluate(&input()).unwrap(), first);
    }
}

fn error_of(source: &str) -> reward_dsl::RewardError {
    run(source).expect_err("the script must fail")
}

#[test]
fn syntax_error_has_line_column_and_the_source_line() {
    let e = error_of("let a = 1.0;\nlet b = (a + ;\n[b, #{}]");
    assert_eq!(e.kind, ErrorKind::Syntax);
    assert_eq!(e.line, Some(2));
    assert!(e.column.is_some());
    assert_eq!(e.source_line.as_deref(), Some("let b = (a + ;"));
    let text = e.to_string();
    assert!(text.contains("--> test.rhai:2:"), "{text}");
    assert!(text.contains("2 | let b = (a + ;"), "{text}");
}

#[test]
fn unknown_field_is_found_at_compile_time_with_the_real_fields_listed() {
    let e = error_of("let a = 1;\n  let d = norm(state.obj_pos);\n[d, #{}]");
    assert_eq!(e.kind, ErrorKind::UnknownField);
    assert_eq!((e.line, e.column), (Some(2), Some(22)));
    assert!(e.message.contains("'obj_pos'"), "{}", e.message);
    assert!(
        e.message
            .contains("ee_pos, goal_pos, object_quat, touching, action, prev_action, dt, step"),
        "{}",
        e.message
    );
}

#[test]
fn a_computed_field_name_is_refused_at_compile_time_with_its_place() {
    let e = error_of("let name = \"obj\" + \"_pos\";\nlet v = state[name];\n[0.0, #{}]");
    assert_eq!(e.kind, ErrorKind::Syntax);
    assert_eq!(e.line, Some(2));
    assert!(e.message.contains("literal field name"), "{}", e.message);
}

#[test]
fn undefined_variable_is_a_compile_error_at_its_place() {
    let e = error_of("let a = 1.0;\nlet b = a + c;\n[b, #{}]");
    assert_eq!(e.kind, ErrorKind::Syntax);
    assert_eq!((e.line, e.column), (Some(2), Some(13)));
    assert!(e.message.contains("c"), "{}", e.message);
}

#[test]
fn runtime_error_inside_a_function_points_into_the_function() {
    let e = error_of("fn f(x) {\n    x.no_such_method()\n}\nlet v = f(1.0);\n[v, #{}]");
    assert_eq!(e.kind, ErrorKind::Runtime);
    assert_eq!(e.line, Some(2), "{e}");
    assert!(e.message.contains("no_such_method"), "{}", e.message);
}

#[test]
fn wrong_helper_argument_names_the_function_and_argument() {
    let e = error_of("let v = clamp(\"high\", 0, 1);\n[v, #{}]");
    assert_eq!(e.kind, ErrorKind::Runtime);
    assert!(
        e.message.contains("clamp: argument 'x' must be a number"),
        "{}",
        e.message
    );
    assert_eq!(e.line, Some(1));
}

#[test]
fn wrong_return_shapes_explain_the_convention() {
    for source in [
        "1.0",
        "[1.0]",
        "[1.0, 2.0]",
        "#{total: 1.0}",
        "#{total: 1, components: #{}, extra: 2}",
        "\"done\"",
    ] {
        let e = error_of(source);
        assert_eq!(e.kind, ErrorKind::ReturnShape, "{source}");
        assert!(
            e.message.contains("[total, #{name: value, ...}]"),
            "{source}: {}",
            e.message
        );
    }
    let e = error_of("[1.0, #{a: \"x\"}]");
    assert_eq!(e.kind, ErrorKind::ReturnShape);
    assert!(
        e.message.contains("component 'a' must be a number"),
        "{}",
        e.message
    );
}

#[test]
fn nan_and_inf_name_the_component() {
    let e = error_of("let z = 0.0;\n[1.0, #{ratio: z / z}]");
    assert_eq!(e.kind, ErrorKind::NonFinite);
    assert!(
        e.message.contains("component 'ratio' is NaN"),
        "{}",
        e.message
    );
    let e = error_of("[1.0 / 0.0, #{}]");
    assert_eq!(e.kind, ErrorKind::NonFinite);
    assert!(e.message.contains("the total is inf"), "{}", e.message);
}

#[test]
fn limit_errors_name_the_limit() {
    let e = error_of("let i = 0;\nloop { i += 1; }\n[0.0, #{}]");
    assert_eq!(e.kind, ErrorKind::Limit);
    assert!(
        e.message.contains("more than 50000 operations"),
        "{}",
        e.message
    );
    assert_eq!(e.line, Some(2));
}

#[test]
fn non_utf8_source_is_located() {
    let bytes = b"let a = 1.0;\nlet b = \xff;\n[a, #{}]";
    let e =
        RewardProgram::compile_bytes(bytes, "bytes.rhai", &common::schema(), &Limits::default())
            .unwrap_err();
    assert_eq!(e.kind, ErrorKind::Source);
    assert_eq!((e.line, e.column), (Some(2), Some(9)));
    assert!(e.message.contains("UTF-8"));
}

#[test]
fn json_form_of_an_error_carries_kind_line_and_column() {
    let e = error_of("let x = ;\n[x, #{}]");
    let json = serde_json::to_value(&e).unwrap();
    assert_eq!(json["kind"], "syntax");
    assert_eq!(json["line"], 1);
    assert_eq!(json["file"], "test.rhai");
}

#[test]
fn errors_about_the_result_point_at_the_last_statement() {
    let e = error_of("let d = 1.0;\nlet x = 0.0 / 0.0;\n  [x, #{a: 1.0}]");
    assert_eq!(e.kind, ErrorKind::NonFinite);
    assert_eq!((e.line, e.column), (Some(3), Some(3)), "{e}");
    let e = error_of("let d = 1.0;\n5");
    assert_eq!(e.kind, ErrorKind::ReturnShape);
    assert_eq!(e.line, Some(2), "{e}");
}
