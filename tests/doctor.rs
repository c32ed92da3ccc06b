//! `rewardgen doctor` on a machine that lacks the optional tools, against a language model
//! endpoint on 127.0.0.1.

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::process::Output;
use std::sync::mpsc;

/// Serves one request with `status` and `body`, and sends back the request's head.
fn one_reply(status: &'static str, body: &'static str) -> (String, mpsc::Receiver<String>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/v1", listener.local_addr().unwrap());
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let (stream, _) = listener.accept().unwrap();
        let mut reader = BufReader::new(&stream);
        let mut head = String::new();
        loop {
            let mut line = String::new();
            if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                break;
            }
            head.push_str(&line);
        }
        let reply = format!(
            "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        );
        (&stream).write_all(reply.as_bytes()).unwrap();
        tx.send(head).unwrap();
    });
    (url, rx)
}

fn doctor(base_url: &str) -> Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_rewardgen"))
        .arg("doctor")
        .env_remove("LD_LIBRARY_PATH")
        .env_remove("DISPLAY")
        .env_remove("WAYLAND_DISPLAY")
        .env("PATH", "/nonexistent")
        .env("REWARDGEN_LLM_BASE_URL", base_url)
        .env("OPENAI_API_KEY", "sk-test-secret")
        .output()
        .unwrap()
}

fn row<'a>(out: &'a str, name: &str) -> &'a str {
    out.lines()
        .find(|l| l.starts_with(name))
        .unwrap_or_else(|| panic!("no row '{name}' in:\n{out}"))
}

#[test]
fn doctor_explains_what_is_missing_and_checks_the_endpoint_with_the_key() {
    let (url, head) = one_reply(
        "200 OK",
        r#"{"object":"list","data":[{"id":"a"},{"id":"b"}]}"#,
    );
    let output = doctor(&url);
    let out = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{out}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let head = head.recv().unwrap();
    assert!(head.starts_with("GET /v1/models HTTP/1.1"), "{head}");
    assert!(head.contains("Bearer sk-test-secret"), "{head}");
    assert!(
        !out.contains("sk-test-secret"),
        "the key is never printed:\n{out}"
    );
    assert!(row(&out, "MuJoCo").contains("3.17.0"), "{out}");
    assert!(
        row(&out, "language model").contains("lists 2 models"),
        "{out}"
    );
    assert!(row(&out, "ffmpeg").contains("missing"), "{out}");
    assert!(row(&out, "display").contains("missing"), "{out}");
    assert!(out.contains("fix: install ffmpeg"), "{out}");
    assert!(out.contains("xvfb-run"), "{out}");
    assert!(row(&out, "disk space").contains("GiB free"), "{out}");
    assert!(row(&out, "cores").contains("--jobs"), "{out}");
}

#[test]
fn a_refused_key_fails_the_check_without_printing_it() {
    let (url, _head) = one_reply(
        "401 Unauthorized",
        r#"{"error":{"message":"Incorrect API key provided: sk-test-secret"}}"#,
    );
    let output = doctor(&url);
    let out = String::from_utf8_lossy(&output.stdout);
    let err = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{out}{err}");
    let line = row(&out, "language model");
    assert!(line.contains("FAILED") && line.contains("401"), "{out}");
    assert!(
        !out.contains("sk-test-secret") && !err.contains("sk-test-secret"),
        "{out}{err}"
    );
    assert!(err.contains("language model"), "{err}");
}
